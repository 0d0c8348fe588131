"""The suite helpers: learner-facing messages that name the worst index and both values."""

from __future__ import annotations

import numpy as np
import pytest

from grader import helpers
from grader.engine.remote import LearnerError

Failed = pytest.fail.Exception


def message_of(fn, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(Failed) as err:
        fn(*args, **kwargs)
    assert err.value.pytrace is False  # no grader traceback for the learner
    return str(err.value.msg)


def test_assert_close_names_the_worst_index_and_both_values() -> None:
    expected = np.zeros((2, 3))
    actual = expected.copy()
    actual[1, 2] = 0.5
    actual[0, 0] = 0.1
    msg = message_of(helpers.assert_close, actual, expected, atol=1e-3, name="W", hint="check the bias")
    assert "`W` is off at index (1, 2): you returned 0.5, expected 0" in msg
    assert "2 of 6 entries" in msg
    assert msg.endswith("Hint: check the bias")


def test_assert_close_checks_shape_dtype_nan_and_type() -> None:
    assert "has shape (3,), expected shape (3, 1)" in message_of(
        helpers.assert_close, np.zeros(3), np.zeros((3, 1)), name="x"
    )
    assert "dtype float32, expected dtype float64" in message_of(
        helpers.assert_close, np.zeros(2, np.float32), np.zeros(2), name="x", check_dtype=True
    )
    assert "contains NaN (first at index (1,))" in message_of(
        helpers.assert_close, np.array([0.0, np.nan]), np.zeros(2), name="x"
    )
    assert "should be numeric, but you returned a str" in message_of(helpers.assert_close, "1", 1.0, name="x")
    helpers.assert_close(np.array([np.nan, 1.0]), np.array([np.nan, 1.0 + 1e-12]))
    helpers.assert_close(np.inf, np.inf)


def test_assert_equal_on_labels_and_scalars() -> None:
    assert "differs at index (2,): you returned 1, expected 0" in message_of(
        helpers.assert_equal, np.array([0, 1, 1]), np.array([0, 1, 0]), name="labels_"
    )
    assert "`k` is 3, expected 4" in message_of(helpers.assert_equal, 3, 4, name="k")
    helpers.assert_equal(np.int64(4), 4)


def test_grad_check_matches_an_analytic_gradient_and_leaves_x_alone() -> None:
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    before = x.copy()
    grad = helpers.grad_check(lambda v: float(np.sum(np.sin(v) * v**2)), x)
    analytic = np.cos(x) * x**2 + 2 * x * np.sin(x)
    assert helpers.relative_error(grad, analytic) < 1e-8
    np.testing.assert_array_equal(x, before)


def test_seeds_are_stable_per_node_id() -> None:
    assert helpers.seed_for("ml-basics/test_kmeans.py::test_a") == helpers.seed_for("ml-basics/test_kmeans.py::test_a")
    assert helpers.seed_for("a::b") != helpers.seed_for("a::c")
    assert helpers.seed_for("a::b") == 221770033  # crc32: the same on every machine and Python version


def _learner_error(exc_type: str, mro: list[str], not_implemented: bool = False) -> LearnerError:
    return LearnerError({"type": exc_type, "mro": mro, "message": "m", "not_implemented": not_implemented}, "f()")


def test_expect_raises() -> None:
    with helpers.expect_raises("ValueError", name="f"):
        raise _learner_error("ValueError", ["ValueError", "Exception"])
    assert "raised TypeError, expected ValueError" in message_of(
        lambda: _raise_inside(_learner_error("TypeError", ["TypeError", "Exception"]))
    )
    assert "should raise ValueError here, but it returned normally" in message_of(lambda: _raise_inside(None))
    with pytest.raises(LearnerError):  # a stub stays "not attempted", even though it is a RuntimeError
        _raise_inside(
            _learner_error("NotImplementedError", ["NotImplementedError", "RuntimeError"], True),
            expected="RuntimeError",
        )


def _raise_inside(err: LearnerError | None, expected: str = "ValueError") -> None:
    with helpers.expect_raises(expected, name="f"):
        if err is not None:
            raise err
