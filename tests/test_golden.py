"""Golden reports: one folder per case under tests/cases/, one test drives them all.

Run `pytest tests/test_golden.py --update-goldens` to rewrite the expected files after an
intended change, then read the diff.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.engine import curriculum
from grader.engine.data import GradeReport
from grader.engine.runner import grade
from grader.report import classroom, github, gradescope, json_report, junit, text
from tests.conftest import EXERCISES, SOLUTIONS
from tests.mutants import apply, load_mutants

CASES = Path(__file__).parent / "cases"


def build(case: Path, dest: Path) -> list[curriculum.Exercise]:  # type: ignore[name-defined]
    spec = tomllib.loads((case / "case.toml").read_text(encoding="utf-8"))
    by_path = {e.relpath: e for e in curriculum.stage(spec["stage"]).exercises}
    exercises = [by_path[rel] for rel in spec["sources"]]  # only the exercises the case names
    for rel, source in spec["sources"].items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        kind, _, arg = source.partition(":")
        if kind == "solution":
            shutil.copy(SOLUTIONS / rel, target)
        elif kind == "stub":
            shutil.copy(EXERCISES / rel, target)
        elif kind == "mutant":
            mutant = next(m for m in load_mutants(by_path[rel]) if m.name == arg)
            target.write_text(apply(mutant, SOLUTIONS / rel), encoding="utf-8")
        elif kind == "file":
            shutil.copy(case / arg, target)
        else:
            raise ValueError(f"{case.name}: unknown source {source!r}")
    return exercises


def normalise(report: GradeReport) -> GradeReport:
    """Volatile fields (times, paths, versions, the isolation this machine allows) replaced by fixed values."""
    exercises = [
        dataclasses.replace(e, duration=0.0, tests=[dataclasses.replace(t, duration=0.0) for t in e.tests])
        for e in report.exercises
    ]
    return dataclasses.replace(
        report,
        submission="<submission>",
        started_at="<time>",
        duration=0.0,
        versions={},
        isolation="<isolation>",
        exercises=exercises,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", sorted(p for p in CASES.iterdir() if (p / "case.toml").is_file()), ids=lambda p: p.name
)
def test_golden_reports(case: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    exercises = build(case, tmp_path / "sub")
    report = normalise(grade(exercises, tmp_path / "sub"))
    rendered = {
        "expected.txt": text.render(report),
        "expected.json": json_report.render(report),
        "expected.gradescope.json": gradescope.render(report),
        "expected.junit.xml": junit.render(report),
        "expected.summary.md": github.summary(report),
        "expected.annotations.txt": github.annotation_lines(report),
        "expected.classroom.json": classroom.render(report),
    }
    json.loads(rendered["expected.json"])
    json.loads(rendered["expected.gradescope.json"])
    ET.fromstring(rendered["expected.junit.xml"].split("?>", 1)[1])  # noqa: S314 - our own output
    if request.config.getoption("--update-goldens"):
        for name, content in rendered.items():
            (case / name).write_text(content, encoding="utf-8")
    for name, content in rendered.items():
        expected = case / name
        assert expected.is_file(), f"missing {expected}; run with --update-goldens"
        assert content == expected.read_text(encoding="utf-8"), f"{case.name}/{name} differs"
