"""The command line: exit codes, usage errors in plain sentences, and the report formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.cli import main
from grader.engine import curriculum
from tests.conftest import ROOT, SOLUTIONS

STAGE = next(s for s in curriculum.load() if s.exercises)
FIRST = STAGE.exercises[0]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["grade", "--stage", "no-such-stage"], "there is no stage 'no-such-stage'; the stages are:"),
        (["grade", "--stage", STAGE.id, "--exercise", "nope"], f"stage '{STAGE.id}' has no exercise 'nope'"),
        (["grade", "--exercise", "nope"], "there is no exercise 'nope' (name it as kmeans or ml-basics/kmeans)"),
        (["grade", "--stage", STAGE.id, "--submission", "/no/such/dir"], "pass --submission DIR"),
        (["grade", "--stage", STAGE.id, "--jobs", "0"], "--jobs must be at least 1"),
        (["grade", "--stage", STAGE.id, "--time-limit", "-1"], "--time-limit must be positive"),
        (["grade", "--format", "xml"], "invalid choice: 'xml'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors_exit_2_with_an_actionable_sentence(
    args: list[str], sentence: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    assert sentence in capsys.readouterr().err


def test_list_shows_every_stage_and_exercise_with_points(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for st in curriculum.load():
        assert st.id in out
        for e in st.exercises:
            assert e.id in out and e.relpath in out


@pytest.mark.slow
def test_grade_json_to_file_and_fail_under(tmp_path: Path) -> None:
    report = tmp_path / "out" / "report.json"
    ok = run_cli(
        "grade",
        "-s",
        STAGE.id,
        "-e",
        FIRST.id,
        "--submission",
        str(SOLUTIONS),
        "--format",
        "json",
        "--output",
        str(report),
        "--fail-under",
        "100",
    )
    assert ok.returncode == 0, ok.stderr
    data = json.loads(report.read_text())
    assert data["schema_version"] == 1 and data["percent"] == 100.0
    assert FIRST.key in ok.stdout  # the text table is still shown on the terminal

    stub = run_cli("grade", "-s", STAGE.id, "-e", FIRST.id, "--fail-under", "50")
    assert stub.returncode == 1
    assert "under --fail-under 50%" in stub.stderr
    plain = run_cli("grade", "-s", STAGE.id, "-e", FIRST.id, "--format", "json")
    assert plain.returncode == 0  # a zero score is still a successful grading
    assert json.loads(plain.stdout)["points"] == 0


@pytest.mark.slow
def test_a_grader_fault_exits_3_and_is_never_a_zero(tmp_path: Path) -> None:
    manifest = tmp_path / "curriculum.toml"
    manifest.write_text(
        '[[stage]]\nid = "toy"\n\n[[exercise]]\nid = "echo"\nstage = "toy"\nfile = "echo.py"\n'
        'kind = "module"\npoints = 1\n',
        encoding="utf-8",
    )
    (tmp_path / "suites" / "toy").mkdir(parents=True)
    (tmp_path / "suites" / "toy" / "test_echo.py").write_text(
        "import pytest\n\n@pytest.mark.points(1)\ndef test_echo(sub):\n    return {}['our own bug']\n", encoding="utf-8"
    )
    (tmp_path / "sub" / "toy").mkdir(parents=True)
    (tmp_path / "sub" / "toy" / "echo.py").write_text("def echo(x):\n    return x\n", encoding="utf-8")
    res = run_cli("grade", "-s", "toy", "--submission", str(tmp_path / "sub"), env={"GRADER_CURRICULUM": str(manifest)})
    assert res.returncode == 3
    assert "grader error" in res.stdout
    assert "not your fault" in res.stderr
