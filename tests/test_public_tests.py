"""Public and hidden suite tests: every exercise gives learners some feedback and keeps a hidden grade."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from grader.engine import curriculum
from grader.engine.data import Exercise
from grader.instructor import suites
from tests.conftest import ROOT

EXERCISES = [e for s in curriculum.load() for e in s.exercises]


def suite_of(ex: Exercise) -> Path:
    return curriculum.suite_path(ex)


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.key)
def test_every_exercise_has_public_and_hidden_tests(ex: Exercise) -> None:
    tests = suites.tests_of(suite_of(ex).read_text(encoding="utf-8"), str(suite_of(ex)))
    public = [t.name for t in tests if t.public]
    assert public, f"{ex.key}: mark at least one test @pytest.mark.public (learners get it in a class release)"
    assert len(public) < len(tests), f"{ex.key}: every test is public; keep at least one hidden test for the grade"


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.key)
def test_every_task_has_a_public_test(ex: Exercise) -> None:
    missing = suites.uncovered(ROOT / "solutions" / ex.relpath, suite_of(ex))
    assert not missing, (
        f"{ex.key}: no public test checks {sorted(missing)}; mark one of the tests that use them "
        "@pytest.mark.public (see grader/instructor/suites.py)"
    )


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.key)
def test_no_public_test_needs_a_grader_only_file(ex: Exercise) -> None:
    path = suite_of(ex)
    source = path.read_text(encoding="utf-8")
    files = suites.grader_only(path.parent)
    leaks = {t.name: suites.needs_grader_only(source, t.name, files) for t in suites.tests_of(source) if t.public}
    assert not {k: v for k, v in leaks.items() if v}, f"{ex.key}: public tests reach grader-only files: {leaks}"


SUITE = '''\
"""Hidden suite: the docstring names test_secret_value and says 42."""

import functools

import pytest

from grader.helpers import fail

EXPECTED = 42  # only the hidden test uses it
SHARED = 3


def _reference(x):
    return x * EXPECTED


@functools.cache
def _shared():
    return SHARED


@pytest.fixture
def table():
    return [SHARED]


@pytest.fixture(autouse=True)
def _always():
    yield


@pytest.mark.public
@pytest.mark.points(1)
def test_shape(sub, table):
    if sub.f(_shared()) is None:
        fail("f returned None")


# The hidden one checks the secret.
@pytest.mark.points(2)
def test_secret_value(sub):
    assert sub.f(1) == _reference(1)


@pytest.mark.points(1)
@pytest.mark.parametrize("x", [1, 2])
def test_other_hidden(sub, x):
    assert sub.f(x) == EXPECTED
'''


def test_tests_are_hidden_unless_marked() -> None:
    tests = suites.tests_of(SUITE)
    assert [(t.name, t.public, t.points) for t in tests] == [
        ("test_shape", True, 1.0),
        ("test_secret_value", False, 2.0),
        ("test_other_hidden", False, 1.0),
    ]


def test_the_public_source_keeps_what_public_tests_use_and_nothing_else() -> None:
    out = suites.public_source(SUITE, "suite", "Public tests.")
    assert out.startswith('"""Public tests."""\n')
    for gone in ("test_secret_value", "test_other_hidden", "_reference", "EXPECTED", "42", "checks the secret"):
        assert gone not in out, gone
    for kept in ("def test_shape", "def _shared", "SHARED = 3", "def table", "def _always", "from grader.helpers"):
        assert kept in out, kept
    compile(out, "public", "exec")
    assert [t.name for t in suites.tests_of(out)] == ["test_shape"]


def test_tasks_of_a_module_are_its_stubbed_public_names(tmp_path: Path) -> None:
    solution = tmp_path / "ex.py"
    solution.write_text(
        textwrap.dedent(
            """\
            import numpy as np

            def _helper(x):
                # BEGIN SOLUTION
                return x
                # END SOLUTION

            def given(x):
                return x

            class Model:
                def fit(self, X):
                    # BEGIN SOLUTION
                    return self
                    # END SOLUTION
            """
        )
    )
    assert suites.tasks(solution) == ["Model"]
