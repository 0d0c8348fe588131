"""The HTML feedback page: self-contained, and it loads in a real headless Chromium without errors."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.engine import curriculum
from grader.engine.data import Kind
from grader.engine.runner import grade
from grader.report import html
from tests.conftest import SOLUTIONS
from tests.mutants import apply, load_mutants

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
STAGE = next(s for s in curriculum.load() if s.id == "ml-basics")
MODULES = [e for e in STAGE.exercises if e.kind is Kind.MODULE and load_mutants(e)][:2]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real report: one exercise with a known mistake, one solved, rendered to HTML."""
    root = tmp_path_factory.mktemp("html")
    sub = root / "submission"
    shutil.copytree(SOLUTIONS, sub)
    broken = MODULES[0]
    (sub / broken.relpath).write_text(apply(load_mutants(broken)[0], SOLUTIONS / broken.relpath))
    report = grade(MODULES, sub)
    path = root / "report.html"
    path.write_text(html.render(report), encoding="utf-8")
    return path


@pytest.mark.slow
def test_page_is_self_contained_and_shows_results_and_plots(page: Path) -> None:
    text = page.read_text()
    assert "<script" not in text
    assert not re.search(r'(src|href)="(?!data:|#)', text), "everything must be inline (data URIs, in-page links)"
    assert "data:image/png;base64," in text, "the suites' plots are drawn"
    for ex in MODULES:
        assert ex.key in text
    assert "Hint:" in text


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_page_loads_in_headless_chromium_without_console_errors(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,1600",
    ]
    res = subprocess.run(
        [CHROMIUM, *flags, f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert shot.is_file() and shot.stat().st_size > 10_000, res.stderr[-2000:]
    console = [line for line in res.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console
    dom = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    assert "Your grade" in dom and MODULES[0].key in dom
    keep = Path(__file__).parent / "artifacts"
    keep.mkdir(exist_ok=True)
    shutil.copy(shot, keep / "report.png")  # for a person to look at; ignored by git
