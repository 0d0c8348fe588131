"""Feedback first: the HTML page's summary, folded exercises, matched cluster colours, its height in a
real headless Chromium, and Gradescope's one entry per untouched exercise."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from grader.engine import curriculum
from grader.engine.data import GradeReport, Status
from grader.engine.runner import grade
from grader.report import gradescope, html
from tests.conftest import EXERCISES, SOLUTIONS, StageReports
from tests.mutants import apply, load_mutants

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
STAGE = curriculum.stage("ml-basics")
SCREEN = (1280, 900)  # a laptop's browser window, in CSS pixels
KMEANS = curriculum.exercise("ml-basics/kmeans")


@pytest.fixture(scope="module")
def half_done(tmp_path_factory: pytest.TempPathFactory) -> GradeReport:
    """ml-basics with its first half solved, one exercise with a known mistake, the rest untouched."""
    sub = tmp_path_factory.mktemp("half") / "exercises"
    shutil.copytree(EXERCISES, sub, ignore=shutil.ignore_patterns("__pycache__"))
    exercises = list(STAGE.exercises)
    for ex in exercises[: len(exercises) // 2]:
        shutil.copy(SOLUTIONS / ex.relpath, sub / ex.relpath)
    (sub / KMEANS.relpath).write_text(apply(load_mutants(KMEANS)[0], SOLUTIONS / KMEANS.relpath))
    return grade(exercises, sub)


def page_height(page: Path, tmp_path: Path) -> int:
    """The page's height in CSS pixels at SCREEN's width: the last row of a tall screenshot that is not blank."""
    from PIL import Image

    assert CHROMIUM is not None
    shot = tmp_path / f"{page.stem}.png"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--window-size={SCREEN[0]},16000",
    ]
    res = subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)
    assert shot.is_file(), res.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("L"))
    inked = np.flatnonzero((pixels < 250).any(axis=1))
    assert inked.size, "the screenshot is blank"
    return int(inked[-1]) + 1


def write(report: GradeReport, path: Path) -> Path:
    path.write_text(html.render(report), encoding="utf-8")
    return path


@pytest.mark.slow
def test_the_page_opens_with_a_summary_linking_to_the_details(half_done: GradeReport) -> None:
    text = html.render(half_done)
    summary = text[text.index('<table class="summary">') : text.index("</table>")]
    assert text.index('<table class="summary">') < text.index("<section"), "the summary comes first"
    for e in half_done.exercises:
        assert e.key in summary
        anchor = f'href="#ex-{e.key.replace("/", "-")}"'
        if e.status is Status.NOT_ATTEMPTED:
            assert anchor not in summary and f'id="ex-{e.key.replace("/", "-")}"' not in text
        else:
            assert anchor in summary and f'id="ex-{e.key.replace("/", "-")}"' in text
    kmeans = next(e for e in half_done.exercises if e.key == KMEANS.key)
    first_bad = next(t for t in kmeans.tests if t.status is Status.FAILED)
    assert first_bad.name in summary, "the summary names the first problem"
    passed = [e for e in half_done.exercises if e.status is Status.PASSED]
    assert passed and all(f'<section id="ex-{e.key.replace("/", "-")}"><details>' in text for e in passed)


@pytest.mark.slow
def test_an_untouched_stage_is_one_line_per_exercise(stub_reports: StageReports) -> None:
    report = stub_reports[STAGE.id]
    text = html.render(report)
    assert "<section" not in text, "an untouched exercise has no details to show"
    rows = re.findall(r"<tr><td>(.*?)</td>", text)
    assert rows == [e.key for e in STAGE.exercises]
    assert "Not attempted yet" not in text  # no test is listed one by one


def test_learner_clusters_get_the_reference_colours() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    reference = np.repeat([0, 1, 2], 20)
    renamed = np.choose(reference, [2, 0, 1])  # the same clusters, numbered differently
    assert np.array_equal(html.match_labels(renamed, reference), reference)
    spec = {"kind": "clusters", "title": "t", "X": X.tolist(), "reference": reference.tolist()}
    same = html.draw({**spec, "learner": reference.tolist()})
    assert html.draw({**spec, "learner": renamed.tolist()}) == same, "a renumbering must not change the picture"
    split = reference.copy()
    split[:5] = 7  # a fourth cluster the reference does not have gets a colour of its own
    matched = html.match_labels(split, reference)
    assert set(matched[5:]) == {0, 1, 2} and len(set(matched[:5]) - {0, 1, 2}) == 1
    assert html.draw({**spec, "learner": split.tolist()}) != same
    png = base64.b64decode(same.split(",", 1)[1])
    assert png.startswith(b"\x89PNG")


@pytest.mark.slow
def test_gradescope_lists_an_untouched_exercise_once(half_done: GradeReport) -> None:
    out = gradescope.to_dict(half_done)
    names = [t["name"] for t in out["tests"]]
    for e in half_done.exercises:
        mine = [n for n in names if n == e.key or n.startswith(f"{e.key}: ")]
        if e.status is Status.NOT_ATTEMPTED:
            assert mine == [e.key]
            entry = out["tests"][names.index(e.key)]
            assert entry["score"] == 0 and entry["max_score"] == e.max_points
        else:
            assert len(mine) == len(e.tests)
    assert sum(t.get("max_score", 0) for t in out["tests"]) == half_done.max_points
    json.dumps(out)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_an_untouched_stage_fits_in_two_screens(stub_reports: StageReports, tmp_path: Path) -> None:
    height = page_height(write(stub_reports[STAGE.id], tmp_path / "untouched.html"), tmp_path)
    assert height <= 2 * SCREEN[1], f"{height} px"
