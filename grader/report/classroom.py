"""GitHub Classroom: the result a test runner hands to ``classroom-resources/autograding-grading-reporter``.

The reporter action reads, for each runner id named in its ``runners`` input, the environment
variable ``<RUNNER>_RESULTS``: base64 of a JSON object ``{"version": 1, "status": "pass" | "fail" |
"error", "max_score": N, "tests": [...]}``, each test with ``name``, ``status``, ``score``,
``message``, ``test_code``, ``filename``, ``line_no`` and ``duration``. It adds up the tests'
``score`` and the runners' ``max_score`` and posts "Points X/Y" to the Classroom dashboard; its log
lists each test as passed or failed.

This renders the whole grading as one runner with one test per exercise, so each exercise's points
reach the dashboard and its log reads as the exercise table. The workflow base64-encodes the file
(`base64 -w0`) into the reporter's environment. ``test_code`` stays empty: a hidden test's code is
never shown. Points that could not be graded here (pending hidden tests, or a test the grader
failed on) are left out of ``max_score``, so they count neither for nor against the learner.
"""

from __future__ import annotations

import json
from typing import Any

from grader.engine.data import ExerciseResult, GradeReport, Status

VERSION = 1


def _countable(e: ExerciseResult) -> float:
    """The points of ``e`` this grading could decide: not pending, not lost to a grader error."""
    lost = sum(t.max_points for t in e.tests if t.status is Status.GRADER_ERROR)
    return round(e.graded_max_points - lost, 6)


def _message(e: ExerciseResult) -> str:
    parts = [f"{e.points:g} / {_countable(e):g} points ({e.status.value})"]
    first = next((t for t in e.tests if t.status not in (Status.PASSED, Status.PENDING)), None)
    if e.load_message:
        parts.append(e.load_message.splitlines()[0])
    elif first is not None and first.message:
        parts.append(f"{first.name}: {first.message.splitlines()[0]}")
    if e.pending_points:
        parts.append(f"{e.pending_points:g} points pending (hidden tests, graded by your instructor)")
    return ". ".join(parts)


def _test(e: ExerciseResult) -> dict[str, Any]:
    errors = any(t.status is Status.GRADER_ERROR for t in e.tests)
    passed = e.points >= _countable(e) > 0 or (_countable(e) == 0 and not errors)
    line = next((t.line for t in e.tests if t.line), None)
    return {
        "name": e.key,
        "status": "error" if errors else ("pass" if passed else "fail"),
        "message": _message(e),
        "test_code": "",
        "filename": f"exercises/{e.stage}/{e.file}",
        "line_no": line or 0,
        "duration": round(e.duration * 1000),
        "score": e.points,
    }


def to_dict(report: GradeReport) -> dict[str, Any]:
    tests = [_test(e) for e in report.exercises]
    statuses = {t["status"] for t in tests}
    return {
        "version": VERSION,
        "status": "error" if "error" in statuses else ("fail" if "fail" in statuses else "pass"),
        "max_score": round(sum(_countable(e) for e in report.exercises), 6),
        "tests": tests,
    }


def render(report: GradeReport) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"
