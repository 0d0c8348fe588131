"""grader watch, used the way a person uses it: in a pseudo-terminal, typing keys and saving files.

The loop itself is also driven with scripted keys and a stand-in grader, to cover every key cheaply.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest

from grader.engine import curriculum, data
from grader.engine.data import Exercise, ExerciseResult, GradeReport, Kind, Status
from grader.learner import hints, progress
from grader.learner.watch import Watch
from tests.conftest import EXERCISES, ROOT, SOLUTIONS

STAGE = curriculum.stage("ml-basics")
MODULES = [e for e in STAGE.exercises if e.kind is Kind.MODULE]
FIRST, SECOND = STAGE.exercises[0], STAGE.exercises[1]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A learner's copy of exercises/, and a private results cache."""
    shutil.copytree(EXERCISES, tmp_path / "exercises", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv(progress.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path


def fake_report(ex: Exercise, submission: Path) -> GradeReport:
    """All points when the file holds the solution, else one failing test: no kernel needed."""
    solved = (submission / ex.relpath).read_bytes() == (SOLUTIONS / ex.relpath).read_bytes()
    test = data.TestOutcome(
        "test_it", Status.PASSED if solved else Status.FAILED, 10.0 if solved else 0.0, 10.0, "wrong"
    )
    result = ExerciseResult(ex.key, ex.stage, ex.file, ex.kind, 10.0, [test])
    return GradeReport(str(submission), [result], "none", "now", 0.0)


def scripted(steps: list[str | Callable[[], None]]) -> Callable[[float], str]:
    """Keys as a person types them: a string is keys typed, a callable is done (e.g. a file saved)."""
    queue = list(steps)

    def keys(timeout: float) -> str:
        step = queue.pop(0) if queue else "q"
        if callable(step):
            step()
            return ""
        return step

    return keys


def solve(root: Path, ex: Exercise) -> Callable[[], None]:
    return lambda: shutil.copy(SOLUTIONS / ex.relpath, root / "exercises" / ex.relpath)


def test_keys_and_saves_drive_the_loop(workspace: Path) -> None:
    out = io.StringIO()
    graded: list[str] = []

    def grade(ex: Exercise) -> GradeReport:
        graded.append(ex.id)
        return fake_report(ex, workspace / "exercises")

    watch = Watch(MODULES, workspace / "exercises", grade, out=out, tiers=hints.Tiers())
    code = watch.run(scripted(["h", "n", "", solve(workspace, MODULES[1]), "h", "q"]))
    text = out.getvalue()
    assert code == 0 and text.rstrip().endswith("Bye.")
    first, second, third = (e.id for e in MODULES[:3])
    # starts on the first exercise; n moves to the second; saving its solution passes it and moves on
    assert graded == [first, second, second, third]
    assert f"Hint 2/{len(hints.hints_for(MODULES[0]))}" in text
    assert f"✓ {MODULES[1].key} is done. Next: {MODULES[2].key}" in text
    assert progress.state_of(MODULES[1], workspace / "exercises") is progress.State.DONE


def test_when_everything_is_done_it_says_so_and_ends(workspace: Path) -> None:
    last = MODULES[-1]
    out = io.StringIO()
    for ex in MODULES[:-1]:
        solve(workspace, ex)()
        progress.record(
            fake_report(ex, workspace / "exercises"), progress.fingerprints([ex], workspace / "exercises"), [ex]
        )
    watch = Watch(MODULES, workspace / "exercises", lambda e: fake_report(e, workspace / "exercises"), out=out)
    code = watch.run(scripted([solve(workspace, last)]))
    assert code == 0
    assert out.getvalue().rstrip().endswith("Every exercise here is done. Well done!")


def test_watch_refuses_to_run_without_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    from grader.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["watch", "--stage", STAGE.id])  # pytest's stdin is not a terminal
    assert exc.value.code == 2
    assert "reads single keys from a terminal" in capsys.readouterr().err


def screen(child: pexpect.spawn) -> str:
    return ANSI.sub("", child.before or "")


@pytest.mark.slow
def test_watch_in_a_pseudo_terminal(workspace: Path) -> None:
    """Start it, read the failing exercise, press h, save the solution, see it pass and move on, press q."""
    submission = workspace / "exercises"
    before = {p: p.read_bytes() for p in submission.rglob("*") if p.is_file()}
    # bash prints the terminal's settings after grader watch exits: they must be restored (icanon, echo)
    script = f'"$0" -m grader watch --stage {STAGE.id} --submission "$1"; code=$?; stty -a; exit $code'
    child = pexpect.spawn(
        "bash",
        ["-c", script, sys.executable, str(submission)],
        cwd=str(ROOT),
        env={**os.environ, "NO_COLOR": "1", "TERM": "xterm"},
        encoding="utf-8",
        dimensions=(50, 140),
        timeout=120,
    )
    try:
        child.expect("h: a hint")
        first = screen(child)
        assert f"grader watch · {FIRST.key}" in first and "not attempted" in first
        assert f"Hint 1/{len(hints.hints_for(FIRST))}:" in first

        child.send("h")
        child.expect(f"Hint 2/{len(hints.hints_for(FIRST))}: ")

        shutil.copy(SOLUTIONS / FIRST.relpath, submission / FIRST.relpath)  # the learner saves a right answer
        child.expect(f"✓ {FIRST.key} is done. Next: {SECOND.key}")
        child.expect("h: a hint")
        assert f"grader watch · {SECOND.key}" in screen(child)

        child.send("q")
        child.expect("Bye.")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    settings = child.before or ""
    assert re.search(r"(?<!-)\bicanon\b", settings) and re.search(r"(?<!-)\becho\b", settings), settings
    after = {p: p.read_bytes() for p in submission.rglob("*") if p.is_file()}
    assert set(after) == set(before), "watch created or deleted files in the learner's folder"
    assert [p for p in after if after[p] != before[p]] == [submission / FIRST.relpath]
    assert progress.state_of(FIRST, submission) is progress.State.DONE
