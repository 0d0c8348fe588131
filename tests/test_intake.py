"""Intake reads a submission as data: no link followed, no special file opened, sizes capped first.

The adversarial catalogue (tests/adversarial/symlink_*, fifo_*) proves the same through a
whole grading; these tests pin each rule of grader/engine/intake.py on its own.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from grader.engine import curriculum, intake
from grader.engine.data import Kind, Status
from grader.learner import inline, progress
from tests.conftest import SOLUTIONS

STAGE = curriculum.stage("ml-basics")
MODULE = next(e for e in STAGE.exercises if e.kind is Kind.MODULE)
NOTEBOOK = next(e for e in STAGE.exercises if e.kind is Kind.NOTEBOOK)


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    root = tmp_path / "learner"
    shutil.copytree(SOLUTIONS / STAGE.id, root / STAGE.id)
    return root


def link(path: Path, target: str | Path) -> None:
    path.unlink(missing_ok=True)
    path.symlink_to(target)


def test_a_clean_stage_folder_is_accepted_and_copied(submission: Path, tmp_path: Path) -> None:
    (submission / STAGE.id / "__pycache__").mkdir()
    (submission / STAGE.id / "__pycache__" / "x.pyc").write_bytes(b"\0")
    scanned = intake.scan(submission, [MODULE, NOTEBOOK])
    assert scanned.refusal(MODULE) is None and scanned.has(MODULE) and scanned.has(NOTEBOOK)
    copied = intake.copy_stage(submission, STAGE.id, tmp_path / "copy")
    assert sorted(copied.files) == sorted(p.name for p in (SOLUTIONS / STAGE.id).iterdir() if p.is_file())
    assert not (tmp_path / "copy" / "__pycache__").exists()
    assert (tmp_path / "copy" / MODULE.file).read_bytes() == (SOLUTIONS / MODULE.relpath).read_bytes()


def test_the_exercise_file_as_a_link_is_refused_by_name(submission: Path) -> None:
    link(submission / MODULE.relpath, SOLUTIONS / MODULE.relpath)
    scanned = intake.scan(submission, [MODULE, NOTEBOOK])
    assert scanned.refusal(MODULE) == f"`{MODULE.relpath}` is a symbolic link; submit the file itself."
    assert scanned.refusal(NOTEBOOK) is None  # graded from a copy without the link
    assert scanned.notes(NOTEBOOK) == [f"{scanned.refusal(MODULE)} The grader left it out."]


def test_a_link_beside_the_exercise_is_left_out_of_the_copy(submission: Path, tmp_path: Path) -> None:
    (submission / STAGE.id / "data").mkdir()
    link(submission / STAGE.id / "data" / "leak.csv", "/proc/self/environ")
    copied = intake.copy_stage(submission, STAGE.id, tmp_path / "copy")
    assert "data/leak.csv" in copied.left_out
    assert not os.path.lexists(tmp_path / "copy" / "data" / "leak.csv")
    assert (tmp_path / "copy" / "data").is_dir()


def test_a_linked_stage_folder_is_refused(submission: Path, tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    (submission / STAGE.id).rename(real)
    link(submission / STAGE.id, real)
    scanned = intake.scan(submission, [MODULE])
    assert scanned.refusal(MODULE) == f"`{STAGE.id}` is a symbolic link; submit the folder itself."
    with pytest.raises(intake.Refused, match="symbolic link"):
        intake.copy_stage(submission, STAGE.id, tmp_path / "copy")
    with pytest.raises(intake.Refused, match="symbolic link"):  # not even the fingerprint follows it
        intake.read_bytes(submission / MODULE.relpath, 2**20, within=submission)


def test_a_fifo_is_never_opened_for_a_blocking_read(submission: Path) -> None:
    """A FIFO with no writer blocks a plain open() for ever; intake refuses it at once."""
    fifo = submission / MODULE.relpath
    fifo.unlink()
    os.mkfifo(fifo)
    assert "named pipe (FIFO)" in str(intake.scan(submission, [MODULE]).refusal(MODULE))
    with pytest.raises(intake.Refused, match="named pipe"):
        intake.read_bytes(fifo, 100)


def test_a_device_is_refused_without_reading_it(submission: Path) -> None:
    with pytest.raises(intake.Refused, match="device file"):
        intake.read_bytes(Path("/dev/zero"), 100)
    link(submission / MODULE.relpath, "/dev/zero")
    with pytest.raises(intake.Refused, match="symbolic link"):
        intake.read_bytes(submission / MODULE.relpath, 100, within=submission)


def test_a_read_never_returns_more_than_its_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.py"
    big.write_bytes(b"x" * 1001)
    assert intake.read_bytes(big, 1001) == b"x" * 1001
    with pytest.raises(intake.TooLarge, match="larger than the 1000 bytes"):
        intake.read_bytes(big, 1000)


def test_caps_on_size_count_and_depth_come_before_any_copy(
    submission: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "MAX_STAGE_FILES", 3)
    assert "more than 3 files" in str(intake.scan(submission, [MODULE]).refusal(MODULE))
    with pytest.raises(intake.Refused, match="more than 3 files"):
        intake.copy_stage(submission, STAGE.id, tmp_path / "copy")
    assert not (tmp_path / "copy").exists(), "nothing is copied from a refused folder"
    monkeypatch.undo()
    monkeypatch.setattr(intake, "MAX_STAGE_BYTES", 10_000)
    assert "more than 10000 bytes" in str(intake.scan(submission, [MODULE]).refusal(MODULE))
    monkeypatch.undo()
    monkeypatch.setattr(intake, "MAX_DEPTH", 2)
    deep = submission / STAGE.id / "a" / "b" / "c"
    deep.mkdir(parents=True)
    assert "folders deep" in str(intake.scan(submission, [MODULE]).refusal(MODULE))


def test_progress_fingerprints_never_follow_a_link(submission: Path) -> None:
    assert progress.fingerprints([MODULE], submission)[MODULE.key] is not None
    link(submission / MODULE.relpath, SOLUTIONS / MODULE.relpath)
    assert progress.fingerprints([MODULE], submission)[MODULE.key] is None
    assert progress.state_of(MODULE, submission) is progress.State.ATTEMPTED


def test_check_refuses_a_linked_module_like_a_graded_run(submission: Path) -> None:
    path = submission / MODULE.relpath
    link(path, SOLUTIONS / MODULE.relpath)
    report = inline.run_check(MODULE.key, path=path)
    statuses = {t.status for t in report.exercises[0].tests}
    assert statuses == {Status.ERROR}, statuses
    assert "is a symbolic link; submit the file itself" in report.exercises[0].tests[0].message
