"""The project's own JSON schema for a GradeReport (documented in docs/report-schema.md)."""

from __future__ import annotations

import json
from typing import Any

from grader.engine.data import ExerciseResult, GradeReport, TestOutcome

SCHEMA_VERSION = 1


def _test(t: TestOutcome) -> dict[str, Any]:
    return {
        "name": t.name,
        "status": t.status.value,
        "points": t.points,
        "max_points": t.max_points,
        "message": t.message,
        "location": t.location,
        "line": t.line,
        "seed": t.seed,
        "duration": t.duration,
    }


def _exercise(e: ExerciseResult) -> dict[str, Any]:
    return {
        "id": e.key,
        "stage": e.stage,
        "file": f"{e.stage}/{e.file}",
        "kind": e.kind.value,
        "status": e.status.value,
        "points": e.points,
        "max_points": e.max_points,
        **({"pending_points": e.pending_points} if e.pending_points else {}),
        "load_message": e.load_message,
        "duration": e.duration,
        "tests": [_test(t) for t in e.tests],
    }


def to_dict(report: GradeReport) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "submission": report.submission,
        "started_at": report.started_at,
        "duration": report.duration,
        "isolation": report.isolation,
        "versions": report.versions,
        "points": report.points,
        "max_points": report.max_points,
        **({"pending_points": report.pending_points} if report.pending_points else {}),
        "percent": round(report.percent, 2),
        "leaderboard": report.leaderboard,
        "exercises": [_exercise(e) for e in report.exercises],
    }


def render(report: GradeReport) -> str:
    return json.dumps(to_dict(report), indent=2, sort_keys=False) + "\n"
