"""A learner's way back and way around: `grader reset` (in a pseudo-terminal), hint resets, short names,
`grader list` with each exercise's state, and the small things a first hour runs into."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pexpect
import pytest

from grader.cli import main
from grader.engine import curriculum
from grader.engine.data import Kind
from grader.learner import hints, progress, reset
from tests.conftest import EXERCISES, ROOT, SOLUTIONS

KMEANS = curriculum.exercise("ml-basics/kmeans")
NOTEBOOK = next(e for s in curriculum.load() for e in s.exercises if e.kind is Kind.NOTEBOOK)


@pytest.fixture
def learner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A learner's copy of exercises/ and a private .grader/ cache."""
    shutil.copytree(EXERCISES, tmp_path / "exercises", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv(progress.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "exercises"


def spawn(args: list[str], cwd: Path) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "grader", *args],
        cwd=str(cwd),
        env={**os.environ, "NO_COLOR": "1", "TERM": "xterm"},
        encoding="utf-8",
        dimensions=(40, 120),
        timeout=60,
    )


def test_reset_asks_then_restores_the_stub_and_keeps_a_backup(learner: Path) -> None:
    mine = learner / KMEANS.relpath
    mine.write_text("# my attempt\n" + mine.read_text())
    edited = mine.read_bytes()

    child = spawn(["reset", "kmeans", "--submission", str(learner)], learner.parent)
    child.expect(r"Replace exercises/ml-basics/kmeans\.py with the untouched stub\? .*\[y/N\] ")
    child.sendline("n")
    child.expect("Nothing changed.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and mine.read_bytes() == edited

    child = spawn(["reset", "ml-basics/kmeans", "--submission", str(learner)], learner.parent)
    child.expect(r"\[y/N\] ")
    child.sendline("y")
    child.expect("exercises/ml-basics/kmeans.py is the untouched stub again.")
    child.expect(r"Your version is in (\S+)\.\r?\n")
    backup = Path(child.match.group(1))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert mine.read_bytes() == (EXERCISES / KMEANS.relpath).read_bytes()
    assert progress.state_of(KMEANS, learner) is progress.State.UNTOUCHED
    backup = backup if backup.is_absolute() else learner.parent / backup
    assert backup.read_bytes() == edited
    assert backup.is_relative_to(progress.cache_dir() / "backups")


def test_reset_without_a_terminal_needs_yes(learner: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = learner / NOTEBOOK.relpath
    mine.write_text("{}")
    with pytest.raises(SystemExit) as exc:
        main(["reset", NOTEBOOK.key, "--submission", str(learner)])  # pytest's stdin is not a terminal
    assert exc.value.code == 2 and "pass --yes" in capsys.readouterr().err
    assert main(["reset", NOTEBOOK.id, "--yes", "--submission", str(learner)]) == 0
    assert mine.read_bytes() == (EXERCISES / NOTEBOOK.relpath).read_bytes()
    assert main(["reset", NOTEBOOK.id, "--yes", "--submission", str(learner)]) == 0
    assert "already the untouched stub" in capsys.readouterr().out
    assert len(list((progress.cache_dir() / "backups").rglob("*"))) == 2  # the stage folder and one backup


def test_short_names_everywhere_an_exercise_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert curriculum.exercise("kmeans") is KMEANS
    assert curriculum.exercise("kmeans.py") is KMEANS
    assert curriculum.select(None, ["kmeans", "ml-basics/kmeans"]) == [KMEANS]
    with pytest.raises(curriculum.CurriculumError, match="did you mean kmeans"):
        curriculum.exercise("kmean")
    with pytest.raises(SystemExit) as exc:
        main(["hint", "kmean"])
    assert exc.value.code == 2 and "did you mean kmeans" in capsys.readouterr().err


def test_hint_takes_a_short_name_and_starts_again_after_reset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(progress.CACHE_ENV, str(tmp_path))
    total = len(hints.hints_for(KMEANS))
    assert main(["hint", "kmeans"]) == 0 and main(["hint", "kmeans"]) == 0
    assert f"Hint 2/{total}" in capsys.readouterr().out
    assert main(["hint", "kmeans", "--reset"]) == 0
    assert "start again from the first one" in capsys.readouterr().out
    assert main(["hint", "kmeans"]) == 0
    out = capsys.readouterr().out
    assert f"Hint 1/{total}" in out and f"Hint 2/{total}" not in out


def test_a_wrapped_hint_keeps_its_indent() -> None:
    shown = hints.shown_after(KMEANS, 2)
    text = shown.text(width=60)
    lines = text.splitlines()[1:-1]
    assert all(len(line) <= 60 for line in lines if " " in line.strip())
    starts = [i for i, line in enumerate(lines) if line.startswith("  Hint ")]
    assert starts[0] == 0 and len(starts) == 2 and len(lines) > 2, text
    indent = " " * len("  Hint 1/4: ")
    assert all(line.startswith(indent) for i, line in enumerate(lines) if i not in starts), text
    assert " ".join(w for line in lines[: starts[1]] for w in line.split()[2:] if w) != ""


def test_list_shows_each_exercises_state(learner: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(SOLUTIONS / KMEANS.relpath, learner / KMEANS.relpath)
    fake = result_of_solved(learner)
    progress.record(fake, progress.fingerprints([KMEANS], learner), [KMEANS])
    edited = curriculum.exercise("ml-basics/knn")
    (learner / edited.relpath).write_text("# started\n")
    assert main(["list", "--stage", "ml-basics", "--submission", str(learner)]) == 0
    lines = {ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("  ")}
    assert " done " in lines["kmeans"]
    assert " attempted " in lines["knn"]
    assert all(" untouched " in ln for name, ln in lines.items() if name not in ("kmeans", "knn"))


def result_of_solved(learner: Path):  # type: ignore[no-untyped-def]
    from grader.engine.data import ExerciseResult, GradeReport, Status, TestOutcome

    test = TestOutcome("test_it", Status.PASSED, KMEANS.points, KMEANS.points)
    res = ExerciseResult(KMEANS.key, KMEANS.stage, KMEANS.file, KMEANS.kind, KMEANS.points, [test])
    return GradeReport(str(learner), [res], "none", "now", 0.0)


def test_leaderboard_says_which_stage_has_one_and_how_to_get_private_scores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from grader.instructor import batch

    out = tmp_path / "out"
    (out / "reports").mkdir(parents=True)
    (out / batch.STATE).write_text(json.dumps({"exercises": [KMEANS.key]}))
    (out / "reports" / "ada.json").write_text(json.dumps({"exercises": [], "leaderboard": {}}))
    with pytest.raises(SystemExit) as exc:
        main(["leaderboard", str(out), "--private"])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert "only these exercises have a leaderboard: competition/competition" in err
    assert "GRADER_PRIVATE_LEADERBOARD=1" in err
    with pytest.raises(SystemExit):
        main(["leaderboard", "--help"])
    assert "GRADER_PRIVATE_LEADERBOARD=1" in capsys.readouterr().out
    readme = (ROOT / "README.md").read_text()
    assert "GRADER_PRIVATE_LEADERBOARD=1" in readme


@pytest.mark.slow
def test_an_error_shows_the_learners_frame_a_next_step_and_a_path_to_click(learner: Path) -> None:
    lines = (SOLUTIONS / KMEANS.relpath).read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("def fit("))
    indent = " " * (len(lines[at]) - len(lines[at].lstrip()) + 4)
    lines.insert(at + 1, f"{indent}scale = 1 / 0")
    (learner / KMEANS.relpath).write_text("\n".join(lines) + "\n")
    res = subprocess.run(
        [sys.executable, "-m", "grader", "grade", "-e", "kmeans", "--submission", "exercises", "--no-record"],
        capture_output=True,
        text=True,
        cwd=learner.parent,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    where = f"exercises/{KMEANS.relpath}:{at + 2}"
    assert f"at {where}" in res.stdout, res.stdout
    assert f"{where}, in fit" in res.stdout and "scale = 1 / 0" in res.stdout
    assert "ZeroDivisionError" in res.stdout
    assert "Next step: run `grader hint ml-basics/kmeans`" in res.stdout
    assert (learner.parent / where.split(":")[0]).is_file(), "the path opens from where the command ran"


def test_an_empty_submission_folder_gets_a_note(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    res = subprocess.run(
        [sys.executable, "-m", "grader", "grade", "-e", "kmeans", "--submission", str(empty), "--no-record"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert "holds none of the files graded here (e.g. ml-basics/kmeans.py)" in res.stderr


def test_hint_and_check_in_a_terminal_ipython_print_text() -> None:
    ipython = Path(sys.executable).with_name("ipython")
    code = f"from grader import check, hint; hint('kmeans'); check('kmeans', path={str(EXERCISES / KMEANS.relpath)!r})"
    res = subprocess.run(
        [str(ipython), "--no-banner", "--colors=NoColor", "-c", code], capture_output=True, text=True, timeout=300
    )
    assert "IPython.core.display.HTML" not in res.stdout, res.stdout
    assert "Hint 1/" in res.stdout and f"{KMEANS.key}" in res.stdout and "not attempted" in res.stdout


def test_readme_and_pyproject_agree_on_the_python_version() -> None:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    version = requires.removeprefix(">=")
    readme = (ROOT / "README.md").read_text()
    assert f"Python {version}+" in readme
    assert "Windows" in readme and "WSL" in readme


def test_reset_module_refuses_an_exercise_without_a_solution(tmp_path: Path) -> None:
    with pytest.raises(reset.ResetError, match="cannot rebuild the stub"):
        reset.reset(KMEANS, tmp_path, solutions=tmp_path / "nowhere")
