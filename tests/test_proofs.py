"""Every suite is sound: the solution scores 100%, the stub 0 (not attempted), every mutant loses points.

Every rule an exercise's docstrings or notebook state is listed in its rule table, names the
tests that check it, and has a mutant that breaks it; each mutant fails a test of its rule, and
no failing test shows a hint that is not true of it.

Nothing here names an exercise: the exercises come from the manifest, the rules and mutants from
tests/mutants/<stage>/<exercise>.toml.
"""

from __future__ import annotations

import pytest

from grader.engine import curriculum
from grader.engine.data import Exercise, GradeReport, Status
from grader.engine.runner import grade
from tests.conftest import SOLUTIONS, SubmissionMaker, result_of
from tests.mutants import Mutant, apply, function_of, load_mutants, load_rules, misleading_hints, suite_tests

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


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.key)
def test_every_rule_is_tested_and_has_a_mutant(ex: Exercise) -> None:
    rules = load_rules(ex)
    assert rules, f"{ex.key} has no rule table: list each rule its docstrings and notebook state as [[rule]]"
    problems = []
    ids = [r.id for r in rules]
    problems += [f"rule id {i!r} is not unique" for i in sorted({i for i in ids if ids.count(i) > 1})]
    defined = suite_tests(ex)
    mutants = load_mutants(ex)
    broken = {m.rule for m in mutants}
    for r in rules:
        if not r.tests:
            problems.append(f"rule {r.id!r} names no test")
        problems += [f"rule {r.id!r} names {t!r}, which the suite does not define" for t in r.tests if t not in defined]
        if r.id not in broken:
            problems.append(f"rule {r.id!r} has no mutant that breaks it")
    problems += [
        f"mutant {m.name!r} names rule {m.rule!r}, which is not in the table" for m in mutants if m.rule not in ids
    ]
    assert not problems, f"{ex.key}:\n" + "\n".join(problems)


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
    rules = {r.id: r for r in load_rules(ex)}
    assert mutant.rule in rules, f"mutant {mutant.name!r} names rule {mutant.rule!r}, which is not in the rule table"
    rule = rules[mutant.rule]
    failed = {function_of(t.name) for t in res.tests if t.status is not Status.PASSED}
    assert failed & set(rule.tests), (
        f"mutant {mutant.name!r} breaks rule {rule.id!r}, but none of its tests {list(rule.tests)} failed "
        f"(failed: {sorted(failed)})"
    )
    misleading = misleading_hints(mutant, res)
    assert not misleading, (
        f"failing tests show hints that are not true of {mutant.name!r} ({mutant.description}):\n"
        + "\n".join(f"{name}: Hint: {hint}" for name, hint in misleading)
    )
