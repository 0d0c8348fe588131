"""The same submission graded 20 times (with the same salt) gets the same score, statuses, messages and seeds;
the salt changes the seeds, and is recorded so that a rerun reproduces them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.engine import curriculum
from grader.engine.data import Kind
from grader.engine.plugin import SALT_ENV, salted_seed
from grader.helpers import seed_for
from tests.conftest import ROOT, SOLUTIONS
from tests.mutants import apply, load_mutants

# The slice of ml-basics that the engine issue built, graded 20 times.
SLICE = [
    curriculum.exercise(k) for k in ("ml-basics/linear_regression", "ml-basics/kmeans", "ml-basics/classification")
]
COPIES = 20


def mixed_submission(root: Path) -> None:
    """Each module exercise with its first known mistake (so there are messages to compare), notebooks solved."""
    for ex in SLICE:
        target = root / ex.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        mutants = load_mutants(ex)
        if ex.kind is Kind.MODULE and mutants:
            target.write_text(apply(mutants[0], SOLUTIONS / ex.relpath), encoding="utf-8")
        else:
            shutil.copy(SOLUTIONS / ex.relpath, target)


@pytest.mark.slow
def test_twenty_gradings_agree(tmp_path: Path) -> None:
    first = tmp_path / "class" / "copy00"
    mixed_submission(first)
    for i in range(1, COPIES):
        shutil.copytree(first, tmp_path / "class" / f"copy{i:02d}")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "grader", "batch", str(tmp_path / "class"), "--stage", SLICE[0].stage]
    cmd += ["--output", str(out), "--jobs", "2", "--salt", "lecture-7"]
    for ex in SLICE:
        cmd += ["--exercise", ex.id]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=3000)
    assert res.returncode == 0, res.stderr
    merged = json.loads((out / "merged.json").read_text())
    assert merged["salt"] == json.loads((out / "batch.json").read_text())["salt"] == "lecture-7"
    learners = merged["learners"]
    assert len(learners) == COPIES
    reference = learners["copy00"]
    assert 0 < reference["points"] < reference["max_points"]
    assert all(t["seed"] is not None for e in reference["exercises"] for t in e["tests"])
    for name, report in learners.items():
        assert report == reference, f"{name} differs from copy00"


def test_the_salt_changes_every_seed_and_only_the_salt_does(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [f"ml-basics/test_kmeans.py::test_{i}" for i in range(50)]
    monkeypatch.delenv(SALT_ENV, raising=False)
    assert [salted_seed(i) for i in ids] == [seed_for(i) for i in ids]  # no salt: the seeds a learner sees locally
    monkeypatch.setenv(SALT_ENV, "lecture-7")
    salted = [salted_seed(i) for i in ids]
    assert salted == [salted_seed(i) for i in ids]
    assert all(a != b for a, b in zip(salted, (seed_for(i) for i in ids), strict=True))
    monkeypatch.setenv(SALT_ENV, "lecture-8")
    assert all(a != b for a, b in zip(salted, (salted_seed(i) for i in ids), strict=True))
