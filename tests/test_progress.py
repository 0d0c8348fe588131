"""grader progress: done / attempted / untouched from the learner's files and the recorded gradings."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from grader.cli import main
from grader.engine import curriculum, data
from grader.engine.data import Exercise, ExerciseResult, GradeReport, Kind, Status
from grader.learner import progress
from tests.conftest import EXERCISES, SOLUTIONS

STAGE = curriculum.stage("ml-basics")
MODULE = next(e for e in STAGE.exercises if e.kind is Kind.MODULE)
NOTEBOOK = next(e for e in STAGE.exercises if e.kind is Kind.NOTEBOOK)


@pytest.fixture
def learner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of exercises/ (every file untouched) and an empty results cache."""
    shutil.copytree(EXERCISES, tmp_path / "exercises", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv(progress.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "exercises"


def report_for(ex: Exercise, points: float, status: Status = Status.FAILED) -> GradeReport:
    test = data.TestOutcome("test_it", status, points, float(ex.points))
    return GradeReport("x", [ExerciseResult(ex.key, ex.stage, ex.file, ex.kind, float(ex.points), [test])], "", "", 0)


def graded(ex: Exercise, submission: Path, points: float, status: Status = Status.FAILED) -> None:
    progress.record(report_for(ex, points, status), progress.fingerprints([ex], submission), [ex])


def test_a_fresh_copy_is_untouched_even_the_notebooks(learner: Path) -> None:
    for ex in STAGE.exercises:
        assert progress.state_of(ex, learner) is progress.State.UNTOUCHED, ex.key


def test_edited_graded_and_edited_again(learner: Path) -> None:
    path = learner / MODULE.relpath
    path.write_text(path.read_text() + "\n# started\n")
    assert progress.state_of(MODULE, learner) is progress.State.ATTEMPTED  # edited, never graded
    graded(MODULE, learner, 4.0)
    assert progress.state_of(MODULE, learner) is progress.State.ATTEMPTED  # graded, not all points
    shutil.copy(SOLUTIONS / MODULE.relpath, path)
    graded(MODULE, learner, MODULE.points, Status.PASSED)
    assert progress.state_of(MODULE, learner) is progress.State.DONE
    path.write_text(path.read_text() + "\n# one more change\n")
    assert progress.state_of(MODULE, learner) is progress.State.ATTEMPTED  # this content was never graded
    shutil.copy(SOLUTIONS / MODULE.relpath, path)
    assert progress.state_of(MODULE, learner) is progress.State.DONE  # the graded content again


def test_a_grader_error_records_nothing_and_the_cache_stays_small(learner: Path) -> None:
    path = learner / MODULE.relpath
    path.write_text("x = 1\n")
    graded(MODULE, learner, 0.0, Status.GRADER_ERROR)
    assert not (progress.cache_dir() / "results").exists()
    for i in range(progress.KEEP + 5):
        path.write_text(f"x = {i}\n")
        graded(MODULE, learner, 1.0)
    cache = progress.cache_dir() / "results" / MODULE.stage / f"{MODULE.id}.json"
    entries = json.loads(cache.read_text())["results"]
    assert len(entries) == progress.KEEP and entries[-1]["points"] == 1.0
    cache.write_text("{not json")  # a damaged cache only forgets
    assert progress.state_of(MODULE, learner) is progress.State.ATTEMPTED


def test_a_missing_file_counts_as_untouched(learner: Path) -> None:
    (learner / NOTEBOOK.relpath).unlink()
    assert progress.state_of(NOTEBOOK, learner) is progress.State.UNTOUCHED


def test_the_command_shows_a_bar_per_stage_and_the_exercises_of_one(
    learner: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(SOLUTIONS / MODULE.relpath, learner / MODULE.relpath)
    graded(MODULE, learner, MODULE.points, Status.PASSED)
    (learner / NOTEBOOK.relpath).write_text((learner / NOTEBOOK.relpath).read_text().replace("...", "x = 1", 1))
    assert main(["progress", "--submission", str(learner)]) == 0
    out = capsys.readouterr().out
    n = len(STAGE.exercises)
    for st in curriculum.load():
        if st.exercises:
            assert st.id in out
    row = next(line for line in out.splitlines() if line.startswith(STAGE.id))
    assert "█" in row and "▓" in row and "░" in row
    assert row.split()[-3:] == [f"1/{n}", "1", str(n - 2)]
    assert main(["progress", "--stage", STAGE.id, "--submission", str(learner)]) == 0
    detail = capsys.readouterr().out
    assert re.search(rf"{MODULE.id}\s+█ done", detail) and re.search(rf"{NOTEBOOK.id}\s+▓ attempted", detail)
    with pytest.raises(SystemExit) as exc:
        main(["progress", "--stage", "nope"])
    assert exc.value.code == 2


@pytest.mark.slow
def test_grade_records_what_it_graded(learner: Path) -> None:
    shutil.copy(SOLUTIONS / MODULE.relpath, learner / MODULE.relpath)
    before = {p: p.read_bytes() for p in learner.rglob("*") if p.is_file()}
    assert main(["grade", "--stage", MODULE.stage, "--exercise", MODULE.id, "--submission", str(learner)]) == 0
    assert progress.state_of(MODULE, learner) is progress.State.DONE
    assert {p: p.read_bytes() for p in learner.rglob("*") if p.is_file()} == before, "grading wrote into the folder"
