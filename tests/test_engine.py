"""The engine on broken and hostile submissions: the right status, a learner-facing message,
every other exercise still graded, and the learner's files never written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader.engine import curriculum, kernel, sandbox
from grader.engine.data import Kind, Status, Submission
from grader.engine.plugin import classify
from grader.engine.remote import Sub
from grader.engine.runner import KernelPool, grade
from grader.report import github, text
from tests.conftest import SOLUTIONS, SubmissionMaker, digest, result_of
from tests.mutants import apply, load_mutants

# The first stage that has a module exercise with mutants and a notebook exercise.
STAGE = next(
    s
    for s in curriculum.load()
    if any(e.kind is Kind.MODULE and load_mutants(e) for e in s.exercises)
    and any(e.kind is Kind.NOTEBOOK for e in s.exercises)
)
MODULE = next(e for e in STAGE.exercises if e.kind is Kind.MODULE and load_mutants(e))
NOTEBOOK = next(e for e in STAGE.exercises if e.kind is Kind.NOTEBOOK)
# Graded beside the broken exercise, to show that the rest of a run is unharmed.
OTHERS = [NOTEBOOK, next(e for e in STAGE.exercises if e.kind is Kind.MODULE and e is not MODULE)]
SOME = [MODULE, *OTHERS]


def solution_text(ex: curriculum.Exercise) -> str:  # type: ignore[name-defined]
    return (SOLUTIONS / ex.relpath).read_text(encoding="utf-8")


def test_infinite_loop_at_import_times_out_and_the_rest_is_graded(make_submission: SubmissionMaker) -> None:
    root = make_submission({MODULE.relpath: "while True:\n    pass\n"})
    exercises = [*curriculum.with_limits([MODULE], time_limit=3), *OTHERS]
    report = grade(exercises, root)
    res = result_of(report, MODULE)
    assert res.status is Status.TIMEOUT
    assert all(t.status is Status.TIMEOUT for t in res.tests)
    assert "took too long" in res.tests[0].message
    for ex in OTHERS:
        other = result_of(report, ex)
        assert other.points == other.max_points, [t.message for t in other.tests if t.status is not Status.PASSED]


def with_every_callable_replaced(body: str) -> str:
    """The module's solution, then code that swaps every function and method it defines for ``body``."""
    return solution_text(MODULE) + (
        f"\n\ndef _replacement(*args, **kwargs):\n    {body}\n\n"
        "for _name, _obj in list(globals().items()):\n"
        "    if isinstance(_obj, type) and _obj.__module__ == __name__:\n"
        "        for _attr, _val in list(vars(_obj).items()):\n"
        "            if callable(_val) and not _attr.startswith('__'):\n"
        "                setattr(_obj, _attr, _replacement)\n"
        "    elif callable(_obj) and getattr(_obj, '__module__', None) == __name__ and _name != '_replacement':\n"
        "        globals()[_name] = _replacement\n"
    )


def test_infinite_loop_inside_a_call_times_out_that_call(make_submission: SubmissionMaker) -> None:
    # Every function and method of the module loops forever once called; importing still works.
    text = with_every_callable_replaced("while True:\n        pass")
    root = make_submission({MODULE.relpath: text})
    report = grade(curriculum.with_limits([MODULE], call_time_limit=1), root)
    res = result_of(report, MODULE)
    timeouts = [t for t in res.tests if t.status is Status.TIMEOUT]
    assert timeouts, [(t.name, t.status) for t in res.tests]
    assert "ran too long" in timeouts[0].message
    assert not report.grader_errors


def test_syntax_error_is_reported_at_the_learners_line(make_submission: SubmissionMaker) -> None:
    lines = solution_text(MODULE).splitlines()
    lines.append("def broken(:")
    bad_line = len(lines)
    root = make_submission({MODULE.relpath: "\n".join(lines) + "\n"})
    report = grade([MODULE], root)
    res = result_of(report, MODULE)
    assert res.status is Status.ERROR
    t = res.tests[0]
    assert "SyntaxError" in t.message
    assert t.location == f"{MODULE.relpath}:{bad_line}"
    assert "def broken(:" in t.message
    assert res.load_message.startswith(f"Importing {MODULE.relpath} raised SyntaxError")


def test_learner_traceback_shows_only_the_learners_frames(make_submission: SubmissionMaker) -> None:
    text = with_every_callable_replaced("return 1 / 0")
    root = make_submission({MODULE.relpath: text})
    res = result_of(grade([MODULE], root), MODULE)
    errors = [t for t in res.tests if t.status is Status.ERROR]
    assert errors
    msg = errors[0].message
    assert "ZeroDivisionError: division by zero" in msg
    assert re.search(rf"{re.escape(MODULE.relpath)}:\d+, in _replacement", msg) and "return 1 / 0" in msg
    assert msg.endswith(f"Next step: run `grader hint {MODULE.key}` for a hint (one more each time you run it).")
    for leak in ("_pytest", "grader/", "site-packages", "_grader_agent", "<grader-agent>"):
        assert leak not in msg
    assert errors[0].location.startswith(f"{MODULE.relpath}:")


def test_monkeypatching_the_checks_in_the_kernel_changes_nothing(make_submission: SubmissionMaker) -> None:
    mutant = load_mutants(MODULE)[0]
    patches = (
        "import numpy as np, numpy.testing, builtins, pytest\n"
        "np.allclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "np.testing.assert_array_equal = lambda *a, **k: None\n"
        "pytest.fail = lambda *a, **k: None\n"
        "builtins.AssertionError = type('AssertionError', (Exception,), {})\n"
        "print('========== 99 passed in 0.01s ==========')\n"
    )
    honest = result_of(
        grade([MODULE], make_submission({MODULE.relpath: apply(mutant, SOLUTIONS / MODULE.relpath)})), MODULE
    )
    patched_text = apply(mutant, SOLUTIONS / MODULE.relpath) + "\n" + patches
    patched = result_of(grade([MODULE], make_submission({MODULE.relpath: patched_text})), MODULE)
    assert patched.points == honest.points < patched.max_points
    assert [t.status for t in patched.tests] == [t.status for t in honest.tests]


def test_missing_name_is_named_in_the_learners_terms(make_submission: SubmissionMaker) -> None:
    root = make_submission({MODULE.relpath: "# nothing here yet\n"})
    res = result_of(grade([MODULE], root), MODULE)
    assert res.status is Status.FAILED
    assert all(t.status is Status.FAILED for t in res.tests)
    assert any("is not defined in your module" in t.message for t in res.tests)


def test_exit_at_import_is_an_error_and_the_rest_is_graded(make_submission: SubmissionMaker) -> None:
    root = make_submission({MODULE.relpath: "import os\nos._exit(0)\n"})
    report = grade(SOME, root)
    res = result_of(report, MODULE)
    assert res.status is Status.ERROR
    assert "stopped the kernel" in res.tests[0].message
    for ex in OTHERS:
        assert result_of(report, ex).points == ex.points


def test_sys_exit_at_import_is_reported_as_the_learners_error(make_submission: SubmissionMaker) -> None:
    root = make_submission({MODULE.relpath: "import sys\nsys.exit(0)\n"})
    res = result_of(grade([MODULE], root), MODULE)
    assert res.status is Status.ERROR
    assert "SystemExit" in res.tests[0].message


def test_notebook_cell_error_names_the_cell_as_jupyter_shows_it(make_submission: SubmissionMaker) -> None:
    """Code cells counted from 1, markdown not counted, with the cell's first line; the tests that fail
    after it point at that cell, with no hint about something else."""
    import nbformat

    nb = nbformat.read(SOLUTIONS / NOTEBOOK.relpath, as_version=4)
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    index = code_cells[1]
    assert any(c.cell_type == "markdown" for c in nb.cells[:index]), "the test needs markdown before the cell"
    nb.cells[index].source = "raise ValueError('learner bug')\n" + nb.cells[index].source
    root = make_submission({NOTEBOOK.relpath: nbformat.writes(nb)})
    report = grade([NOTEBOOK], root)
    res = result_of(report, NOTEBOOK)
    label = "code cell 2 (`raise ValueError('learner bug')`)"
    assert res.points < res.max_points
    assert res.load_message.startswith(f"Your notebook stopped: C{label[1:]} raised ValueError: learner bug")
    assert f"{NOTEBOOK.relpath} code cell 2, line 1, in <module>" in res.load_message
    assert f"cell {index}" not in res.load_message.replace("code cell 2", "")
    blocked = [t for t in res.tests if t.status is not Status.PASSED]
    assert blocked
    for t in blocked:
        assert t.message == res.load_message, t.message
        assert t.location == f"{NOTEBOOK.relpath} code cell 2"
        assert "Hint:" not in t.message
    shown = text.render(report, width=200, root="exercises")
    assert f"exercises/{NOTEBOOK.relpath} code cell 2, line 1, in <module>" in shown
    assert shown.count("Your notebook stopped") == 1, "said once, not once per test"
    assert f"({t.status.value}) in code cell 2::" in github.annotation_lines(report)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "not valid notebook JSON"),
        ('{"nbformat": 3, "nbformat_minor": 0, "worksheets": []}', "notebook format 3"),
        ("{}", "is not a Jupyter notebook (it has no `nbformat` field)"),
    ],
    ids=["bad-json", "nbformat-3", "empty-object"],
)
def test_invalid_notebook_is_a_clear_error(make_submission: SubmissionMaker, text: str, expected: str) -> None:
    root = make_submission({NOTEBOOK.relpath: text})
    report = grade(SOME, root)
    res = result_of(report, NOTEBOOK)
    assert res.status is Status.ERROR
    assert expected in res.tests[0].message
    for ex in SOME:
        if ex is not NOTEBOOK:
            assert result_of(report, ex).points == ex.points


def test_grading_never_writes_the_learners_files(make_submission: SubmissionMaker) -> None:
    text = solution_text(MODULE) + "\nopen(__file__, 'a').write('# tampered\\n')\nimport os\nos.remove(__file__)\n"
    root = make_submission({MODULE.relpath: text})
    before = digest(root)
    grade(SOME, root)
    assert digest(root) == before


def test_missing_file_is_reported_and_the_rest_is_graded(make_submission: SubmissionMaker) -> None:
    root = make_submission({})
    (root / MODULE.relpath).unlink()
    report = grade(SOME, root)
    res = result_of(report, MODULE)
    assert res.status is Status.ERROR
    assert "missing from your submission" in res.tests[0].message


def test_define_builds_helpers_in_the_kernel(make_submission: SubmissionMaker) -> None:
    """A suite-side probe defined with sub.define runs in the kernel and returns plain values."""
    pool = KernelPool([MODULE], Submission(make_submission({})), 1, sandbox.pick_mode(None))
    try:
        sub = Sub(pool.session(MODULE))
        source = f"import os\n\ndef where():\n    return os.getcwd().endswith({MODULE.stage!r})\n\n_hidden = 1\n"
        defined = sub.define(source)
        assert sorted(defined) == ["os", "where"]
        assert defined["where"]() is True
    finally:
        pool.close()


def test_temporaries_of_a_killed_grader_are_swept(tmp_path: Path) -> None:
    """A grader killed with SIGKILL cannot clean up; the next one removes what it left, and only that."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"{kernel.TMP_PREFIX}{int(dead.stdout)}-abc"
    (stale / "submission").mkdir(parents=True)
    live = tmp_path / f"{kernel.TMP_PREFIX}{os.getpid()}-def"
    live.mkdir()
    other = tmp_path / "grader-test-cache-xyz"
    other.mkdir()
    assert kernel.sweep_stale_temporaries(tmp_path) == [stale]
    assert not stale.exists() and live.is_dir() and other.is_dir()


def test_a_grader_error_keeps_its_traceback_for_the_instructors_log(caplog: pytest.LogCaptureFixture) -> None:
    """The report says only that the grader failed; the traceback, with hidden suite paths, goes to the log."""

    def suite_code() -> None:
        raise RuntimeError("hidden detail in /grader/suites/x/test_y.py")

    try:
        suite_code()
    except RuntimeError as exc:
        with caplog.at_level("ERROR", logger="grader.errors"):
            status, message, _, _ = classify(exc, learner_values=False, where="x/test_y.py::test_z")
    assert status is Status.GRADER_ERROR
    assert "not your fault" in message and "hidden detail" not in message and "Traceback" not in message
    assert "Traceback" in caplog.text and "hidden detail" in caplog.text


def test_a_learner_value_a_check_cannot_use_is_a_failure_not_a_grader_error() -> None:
    status, message, _, _ = classify(TypeError("unsupported operand"), learner_values=True)
    assert status is Status.FAILED and "could not use what your code returned" in message
    status, _, _, _ = classify(TypeError("unsupported operand"), learner_values=False)
    assert status is Status.GRADER_ERROR  # no value from the learner yet: a bug in the suite


# A class whose `fit` a suite chains into `.predict(...)` in the grader: `fit(...).predict(...)`.
CHAINED_FIT = curriculum.exercise("ml-basics/knn")


def test_a_fit_that_returns_none_is_the_learners_failure_named_in_their_terms(make_submission: SubmissionMaker) -> None:
    text = solution_text(CHAINED_FIT)
    assert text.count("        return self\n") == 1, "the solution's fit should end with its only `return self`"
    root = make_submission({CHAINED_FIT.relpath: text.replace("        return self\n", "        pass\n")})
    report = grade([CHAINED_FIT], root)
    res = result_of(report, CHAINED_FIT)
    assert not report.grader_errors, [t.message for t in report.grader_errors]
    chained = [t for t in res.tests if "The check got None from `KNNClassifier(...).fit(...)`" in t.message]
    assert chained, [(t.name, t.status.value, t.message) for t in res.tests]
    for t in chained:
        assert t.status is Status.FAILED
        assert re.search(r"could not use `\.(predict|kneighbors)` on the result\. A `fit` method ends", t.message)
        assert t.message.endswith("A `fit` method ends with `return self`."), t.message
        assert "NoneType" not in t.message and "AttributeError" not in t.message
    assert res.points < res.max_points


def test_an_attribute_error_on_the_suites_own_object_stays_a_grader_error() -> None:
    """Values from the learner's code are data or remote references, never a module: `np.lianlg` is the suite's typo."""
    try:
        np.lianlg  # noqa: B018
    except AttributeError as exc:
        status, message, _, _ = classify(exc, learner_values=True, got_from=None)
    assert status is Status.GRADER_ERROR and "not your fault" in message
    try:
        None.predict  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        status, message, _, _ = classify(exc, learner_values=True, got_from="`Model(...).fit(...)`")
    assert status is Status.FAILED
    assert message.startswith("The check got None from `Model(...).fit(...)`, so it could not use `.predict`")
