"""Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/).

Gradescope reads: top-level `score`, `execution_time`, `output`, `visibility`, `stdout_visibility`;
per test `score`, `max_score`, `status` ("passed"/"failed"), `name`, `output`, `visibility`.
A test the grader could not run (grader error) is never scored as 0: it appears as a visible
"could not be graded" entry without points, plus a hidden entry carrying the traceback for staff.
An exercise not attempted at all is one entry (its points, "not attempted yet"), not one per test.
"""

from __future__ import annotations

import json
from typing import Any

from grader.engine.data import GradeReport, Status

COULD_NOT_GRADE = (
    "This test could not be run because of a problem in the grader, not in your code. "
    "It does not count against you; your instructor will regrade it."
)


def to_dict(report: GradeReport) -> dict[str, Any]:
    tests: list[dict[str, Any]] = []
    counted = 0.0
    for e in report.exercises:
        if e.status is Status.NOT_ATTEMPTED:
            tests.append(
                {
                    "name": e.key,
                    "score": 0.0,
                    "max_score": e.max_points,
                    "status": "failed",
                    "output": f"Not attempted yet: {len(e.tests)} tests check {e.stage}/{e.file} once you start.",
                    "visibility": "visible",
                }
            )
            continue
        for t in e.tests:
            name = f"{e.key}: {t.name}"
            if t.status is Status.GRADER_ERROR:
                tests.append(
                    {
                        "name": f"{name} (could not be graded)",
                        "status": "failed",
                        "output": COULD_NOT_GRADE,
                        "visibility": "visible",
                    }
                )
                tests.append(
                    {
                        "name": f"{name} (grader traceback)",
                        "status": "failed",
                        "output": t.message,
                        "visibility": "hidden",
                    }
                )
                continue
            if t.status is Status.PENDING:
                tests.append({"name": name, "status": "passed", "output": t.message, "visibility": "visible"})
                continue
            counted += t.points
            output = t.message if t.status is not Status.PASSED else ""
            if t.status not in (Status.PASSED, Status.FAILED):
                output = f"[{t.status.value}] {output}".strip()
            tests.append(
                {
                    "name": name,
                    "score": t.points,
                    "max_score": t.max_points,
                    "status": "passed" if t.status is Status.PASSED else "failed",
                    "output": output,
                    "visibility": "visible",
                }
            )
    errors = len(report.grader_errors)
    summary = f"{report.points:g} / {report.max_points:g} points ({report.percent:.0f}%)."
    if errors:
        summary += f" {errors} test(s) could not be graded and are not counted; they will be regraded."
    out: dict[str, Any] = {
        "score": round(counted, 6),
        "execution_time": round(report.duration),
        "output": summary,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    if report.leaderboard:  # Gradescope's leaderboard: [{"name", "value"}], higher is better by default
        out["leaderboard"] = [{"name": name, "value": value} for name, value in report.leaderboard.items()]
    return out


def render(report: GradeReport) -> str:
    return json.dumps(to_dict(report), indent=2) + "\n"
