"""Every suite is sound: the solution scores 100%, the stub 0 (not attempted), every mutant loses points.

Nothing here names an exercise: the exercises come from the manifest and the mutants from
tests/mutants/<stage>/<exercise>.toml.
"""

from __future__ import annotations

import pytest

from grader.engine import curriculum
from grader.engine.data import Exercise, GradeReport, Status
from grader.engine.runner import grade
from tests.conftest import SOLUTIONS, SubmissionMaker, result_of
from tests.mutants import Mutant, apply, load_mutants

EXERCISES = [e for s in curriculum.load() for e in s.exercises]
MUTANTS = [m for e in EXERCISES for m in load_mutants(e)]
MIN_MUTANTS = 3


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.key)
def test_solution_scores_full_marks(ex: Exercise, solution_reports: dict[str, GradeReport]) -> None:
    res = result_of(solution_reports[ex.stage], ex)
    bad = [f"{t.name}: {t.status.value}: {t.message}" for t in res.tests if t.status is not Status.PASSED]
    assert not bad, "\n".join(bad)
    assert res.points == res.max_points == ex.points


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.key)
def test_untouched_stub_scores_zero_as_not_attempted(ex: Exercise, stub_reports: dict[str, GradeReport]) -> None:
    res = result_of(stub_reports[ex.stage], ex)
    assert res.tests, "the suite ran no test"
    bad = [f"{t.name}: {t.status.value}: {t.message}" for t in res.tests if t.status is not Status.NOT_ATTEMPTED]
    assert not bad, "\n".join(bad)
    assert res.points == 0
    assert res.status is Status.NOT_ATTEMPTED


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.key)
def test_every_exercise_has_mutants(ex: Exercise) -> None:
    names = [m.name for m in load_mutants(ex)]
    assert len(names) >= MIN_MUTANTS, f"{ex.key} has {len(names)} mutants; at least {MIN_MUTANTS} are required"
    assert len(set(names)) == len(names), "mutant names must be unique"


@pytest.mark.slow
@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_mutant_loses_points_with_a_hint(mutant: Mutant, make_submission: SubmissionMaker) -> None:
    ex = mutant.exercise
    text = apply(mutant, SOLUTIONS / ex.relpath)
    report = grade([ex], make_submission({ex.relpath: text}))
    res = result_of(report, ex)
    assert not report.grader_errors, [t.message for t in report.grader_errors]
    assert res.points < res.max_points, f"mutant {mutant.name!r} ({mutant.description}) scored full marks"
    messages = "\n".join(t.message for t in res.tests if t.status is not Status.PASSED)
    assert mutant.hint.lower() in messages.lower(), (
        f"no failing test names the mistake ({mutant.hint!r}); messages were:\n{messages}"
    )
