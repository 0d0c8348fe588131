"""Pending points (a class release's hidden tests) in every report, and the GitHub Classroom result."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.engine import data
from grader.engine.curriculum import Hidden
from grader.engine.data import ExerciseResult, GradeReport, Kind, Status
from grader.engine.runner import pending
from grader.report import RENDERERS, classroom, github, gradescope, json_report, junit, text


def report() -> GradeReport:
    """Two exercises of a release: one with its public test passed, one not attempted, plus a grader error."""
    km = ExerciseResult(
        "ml-basics/kmeans",
        "ml-basics",
        "kmeans.py",
        Kind.MODULE,
        10.0,
        [data.TestOutcome("test_inertia_never_increases", Status.PASSED, 1.0, 1.0), pending(Hidden(8, 9.0))],
    )
    lr = ExerciseResult(
        "ml-basics/linear_regression",
        "ml-basics",
        "linear_regression.py",
        Kind.MODULE,
        10.0,
        [
            data.TestOutcome("test_fit", Status.NOT_ATTEMPTED, 0.0, 1.0, "Not attempted yet.", "x.py:3", 3),
            data.TestOutcome("test_broken", Status.GRADER_ERROR, 0.0, 1.0, "Traceback ..."),
            pending(Hidden(6, 8.0)),
        ],
    )
    return GradeReport("<submission>", [km, lr], "rlimits", "now", 1.0)


def test_pending_points_are_neither_won_nor_lost() -> None:
    r = report()
    km, lr = r.exercises
    assert (km.points, km.pending_points, km.graded_max_points, km.status) == (1.0, 9.0, 1.0, Status.PASSED)
    assert lr.status is Status.GRADER_ERROR
    assert (r.points, r.max_points, r.pending_points, r.percent) == (1.0, 20.0, 17.0, 100 / 3)


def test_every_report_says_pending_and_never_scores_the_hidden_tests_0() -> None:
    r = report()
    shown = text.render(r)
    assert "1 / 1 + 9 pending" in shown and "1 / 3 + 17 pending" in shown and "17 points are pending" in shown
    assert "0 / 9" not in shown and "0 / 8" not in shown
    data = json.loads(json_report.render(r))
    assert data["pending_points"] == 17.0 and data["exercises"][0]["pending_points"] == 9.0
    assert data["exercises"][0]["tests"][1]["status"] == "pending"
    assert "9 pending" in RENDERERS["html"](r) and "graded in CI" in RENDERERS["html"](r)
    assert "⏳" in github.summary(r) and "pending" not in github.annotation_lines(r)
    assert 'message="pending: graded by the instructor"' in junit.render(r)
    scored = [t for t in gradescope.to_dict(r)["tests"] if "score" in t]
    assert not [t for t in scored if t["name"].endswith("hidden tests")]


def test_the_classroom_result_is_what_the_reporter_reads() -> None:
    r = report()
    result = classroom.to_dict(r)
    assert result["version"] == 1 and result["status"] == "error"
    # The reporter posts "Points <sum of the tests' score>/<max_score>": pending and broken points count for nothing.
    assert sum(t["score"] for t in result["tests"]) == r.points == 1.0
    assert result["max_score"] == 1.0 + 1.0  # a public point each: the grader error and pending points are out
    km, lr = result["tests"]
    assert km["status"] == "pass" and km["filename"] == "exercises/ml-basics/kmeans.py"
    assert "9 points pending" in km["message"] and km["test_code"] == ""
    assert lr["status"] == "error" and lr["line_no"] == 3
    decoded = json.loads(base64.b64decode(base64.b64encode(classroom.render(r).encode())).decode())
    assert decoded == result
    assert set(km) == {"name", "status", "message", "test_code", "filename", "line_no", "duration", "score"}


@pytest.mark.slow
def test_a_failed_assert_shows_its_message_and_never_the_values_it_compared(tmp_path: Path) -> None:
    manifest = tmp_path / "curriculum.toml"
    (tmp_path / "suites" / "toy").mkdir(parents=True)
    manifest.write_text(
        '[[stage]]\nid = "toy"\n\n[[exercise]]\nid = "f"\nstage = "toy"\nfile = "f.py"\nkind = "module"\npoints = 2\n'
    )
    (tmp_path / "suites" / "toy" / "test_f.py").write_text(
        "import pytest\n\n\n@pytest.mark.points(1)\ndef test_told(sub):\n    secret = 4242\n"
        '    assert sub.f() == secret, "f() should give the answer"\n\n\n'
        "@pytest.mark.points(1)\ndef test_bare(sub):\n    assert sub.f() == 4343\n"
    )
    (tmp_path / "sub" / "toy").mkdir(parents=True)
    (tmp_path / "sub" / "toy" / "f.py").write_text("def f():\n    return 41\n")
    env = {**os.environ, "GRADER_CURRICULUM": str(manifest), "GRADER_CACHE": str(tmp_path / "cache")}
    res = subprocess.run(
        [sys.executable, "-m", "grader", "grade", "--submission", str(tmp_path / "sub"), "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    tests = {t["name"]: t["message"] for t in json.loads(res.stdout)["exercises"][0]["tests"]}
    assert tests == {"test_told": "f() should give the answer", "test_bare": "A check failed."}
