"""Colab: the setup cell every notebook stub begins with, run with google.colab simulated, and the README's links."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import types
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.engine.data import Exercise, Status
from grader.engine.runner import grade
from grader.instructor import colab
from tests.conftest import EXERCISES, ROOT, SOLUTIONS, result_of

NOTEBOOKS = colab.notebooks()
STAGE = "ml-basics"
CLONE = "/content/" + colab.slug().split("/")[1]


class Recorder:
    """Stands in for subprocess.run and os.chdir: no command runs, nothing moves."""

    def __init__(self, have_clone: bool, have_grader: bool) -> None:
        self.calls: list[list[str]] = []
        self.chdir: list[str] = []
        self.have_clone = have_clone
        self.have_grader = have_grader

    def run(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert kwargs.get("check") is True, "a failed install must stop the cell, not pass silently"
        self.calls.append(list(argv))
        return subprocess.CompletedProcess(argv, 0)

    def isdir(self, path: str) -> bool:
        return self.have_clone if path == CLONE else os.path.isdir(path)

    def find_spec(self, name: str, package: str | None = None) -> ModuleSpec | None:
        return ModuleSpec(name, None) if name == "grader" and self.have_grader else None


def run_setup_cell(monkeypatch: pytest.MonkeyPatch, in_colab: bool, recorder: Recorder) -> dict[str, Any]:
    monkeypatch.setattr(subprocess, "run", recorder.run)
    monkeypatch.setattr(os, "chdir", recorder.chdir.append)
    monkeypatch.setattr(os.path, "isdir", recorder.isdir)
    monkeypatch.setattr(importlib.util, "find_spec", recorder.find_spec)
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    namespace: dict[str, Any] = {}
    exec(compile(colab.setup_cell_source(STAGE), "<setup cell>", "exec"), namespace)  # noqa: S102 - our own cell
    return namespace


def test_in_a_fresh_colab_it_clones_installs_and_moves_into_the_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder(have_clone=False, have_grader=False)
    run_setup_cell(monkeypatch, in_colab=True, recorder=rec)
    assert rec.calls == [
        ["git", "clone", "--depth", "1", colab.repository(), CLONE],
        [sys.executable, "-m", "pip", "install", "--quiet", CLONE],
    ]
    assert rec.chdir == [f"{CLONE}/exercises/{STAGE}"]
    # the notebooks read ../../datasets/..., which from there is the clone's datasets/
    assert os.path.normpath(os.path.join(rec.chdir[0], "../../datasets")) == f"{CLONE}/datasets"


def test_run_again_in_colab_it_only_moves_into_the_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder(have_clone=True, have_grader=True)
    run_setup_cell(monkeypatch, in_colab=True, recorder=rec)
    assert rec.calls == []
    assert rec.chdir == [f"{CLONE}/exercises/{STAGE}"]


def test_outside_colab_it_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder(have_clone=False, have_grader=False)
    namespace = run_setup_cell(monkeypatch, in_colab=False, recorder=rec)
    assert rec.calls == [] and rec.chdir == []
    assert set(namespace) == {"__builtins__", "sys"}


@pytest.mark.parametrize("ex", NOTEBOOKS, ids=lambda e: e.key)
def test_every_notebook_stub_begins_with_its_stages_setup_cell(ex: Exercise) -> None:
    stub = nbformat.read(EXERCISES / ex.relpath, as_version=4)
    first = stub.cells[0]
    assert first.cell_type == "code" and first.source == colab.setup_cell_source(ex.stage)
    assert sum(colab.SETUP_CELL_ID in c.get("metadata", {}).get("tags", []) for c in stub.cells) == 1
    solution = nbformat.read(SOLUTIONS / ex.relpath, as_version=4)
    assert all(colab.SETUP_CELL_ID not in c.get("metadata", {}).get("tags", []) for c in solution.cells)


def test_the_setup_cell_comes_from_the_repository_setting(tmp_path: Path) -> None:
    setting = re.search(r'^repository = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert setting is not None and colab.repository() == setting[1].removesuffix(".git").rstrip("/")
    assert colab.repository() in colab.setup_cell_source(STAGE)
    bad = tmp_path / "pyproject.toml"
    bad.write_text('[tool.mle-course]\nrepository = "https://gitlab.com/a/b"\n', encoding="utf-8")
    with pytest.raises(colab.SettingError, match=re.escape("https://github.com/OWNER/NAME")):
        colab.repository(bad)


def _readme_links() -> tuple[str, list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [ln.strip() for ln in text.splitlines()]
    assert colab.README_BEGIN in lines and colab.README_END in lines, "the README lost its Colab links block"
    block = "\n".join(lines[lines.index(colab.README_BEGIN) : lines.index(colab.README_END) + 1])
    return block, re.findall(r"https://colab\.research\.google\.com/github/[^)\s]+", text)


def test_readme_colab_links_match_the_setting_and_the_manifest() -> None:
    block, links = _readme_links()
    assert block == colab.readme_block(), (
        "README's Colab links are stale; paste grader.instructor.colab.readme_block():\n" + (colab.readme_block())
    )
    assert links == [colab.colab_url(e.relpath) for e in NOTEBOOKS]
    for e in NOTEBOOKS:
        assert (ROOT / "exercises" / e.relpath).is_file(), f"the link to {e.relpath} points at no notebook"


@pytest.mark.slow
def test_under_the_grader_the_setup_cell_changes_no_grade(tmp_path: Path) -> None:
    """Stubs (which begin with the cell) score 0, all not attempted; a solution with the cell still scores 100%."""
    ex = next(e for e in NOTEBOOKS if e.stage == STAGE)
    stub = result_of(grade([ex], EXERCISES), ex)
    assert stub.points == 0 and {t.status for t in stub.tests} == {Status.NOT_ATTEMPTED}
    nb = nbformat.read(SOLUTIONS / ex.relpath, as_version=4)
    colab.insert_setup_cell(nb, ex.stage)
    (tmp_path / ex.stage).mkdir()
    nbformat.write(nb, tmp_path / ex.relpath)
    solved = result_of(grade([ex], tmp_path), ex)
    assert solved.points == solved.max_points, [t.message for t in solved.tests if t.status is not Status.PASSED]
