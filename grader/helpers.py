"""Checks shared by every hidden suite.

Everything here talks to a learner: a failure names the value, the index
where it is worst, both numbers, and (when given) a hint about the likely
mistake. Grader frames are hidden from the traceback, as pytest-timeout does.
"""

from __future__ import annotations

import contextlib
import sys
import zlib
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import numpy as np
import pytest

from grader.engine.remote import LearnerError, RemoteRef
from grader.paths import DATASETS

"""The shipped data, as the grader sees it. Learner code reads it as ``../../datasets/...``
relative to its exercise folder (the same path works in exercises/ and in a graded copy)."""

__all__ = [
    "DATASETS",
    "ON_DEVICE",
    "assert_close",
    "assert_equal",
    "expect_raises",
    "fail",
    "grad_check",
    "seed_for",
]


def fail(message: str, hint: str | None = None) -> NoReturn:
    """Fail the current test with a learner-facing message and no grader traceback."""
    __tracebackhide__ = True
    text = message if hint is None else f"{message}\nHint: {hint}"
    pytest.fail(text, pytrace=False)


def seed_for(nodeid: str) -> int:
    """A stable seed for one test, derived from its node id (as pytest-randomly does)."""
    return zlib.crc32(nodeid.encode("utf-8"))


def _describe(value: Any) -> str:
    if isinstance(value, RemoteRef):
        return f"a {value.type_name} object"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def _as_array(value: Any, name: str) -> np.ndarray:
    __tracebackhide__ = True
    torch = sys.modules.get("torch")  # a tensor can only have come back if torch is loaded
    if torch is not None and isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, RemoteRef) or value is None or isinstance(value, str | dict):
        fail(f"`{name}` should be numeric, but you returned {_describe(value)}.")
    try:
        arr = np.asarray(value)
    except Exception:
        fail(f"`{name}` could not be read as an array: you returned {_describe(value)}.")
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        fail(f"`{name}` should be numeric, but it has dtype {arr.dtype}.")
    return arr


def assert_close(
    actual: Any,
    expected: Any,
    *,
    rtol: float = 1e-7,
    atol: float = 0.0,
    name: str = "result",
    hint: str | None = None,
    check_dtype: bool = False,
    check_shape: bool = True,
) -> None:
    """Assert that ``actual`` matches ``expected`` elementwise within rtol/atol.

    Shape must match exactly (no silent broadcasting) unless ``check_shape`` is
    False. With ``check_dtype`` the dtypes must be equal too. NaN in ``actual``
    is reported as such; NaN in both places counts as equal.
    """
    __tracebackhide__ = True
    exp = np.asarray(expected)
    act = _as_array(actual, name)
    if check_shape and act.shape != exp.shape:
        fail(f"`{name}` has shape {act.shape}, expected shape {exp.shape}.", hint)
    if check_dtype and act.dtype != exp.dtype:
        fail(f"`{name}` has dtype {act.dtype}, expected dtype {exp.dtype}.", hint)
    try:
        act_b, exp_b = np.broadcast_arrays(act, exp)
    except ValueError:
        fail(f"`{name}` has shape {act.shape}, which does not fit shape {exp.shape}.", hint)
    act_f = act_b.astype(np.complex128 if np.iscomplexobj(act_b) else np.float64)
    exp_f = exp_b.astype(np.complex128 if np.iscomplexobj(exp_b) else np.float64)
    both_nan = np.isnan(act_f) & np.isnan(exp_f)
    bad_nan = np.isnan(act_f) & ~both_nan
    if bad_nan.any():
        idx = _index(np.argmax(bad_nan), act_b.shape)
        fail(f"`{name}` contains NaN (first at index {idx}); expected {_num(exp_b[idx])}.", hint)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: handled just below
        err = np.where(both_nan, 0.0, np.abs(act_f - exp_f))
    err = np.where(np.isinf(exp_f) & (act_f == exp_f), 0.0, err)
    tol = atol + rtol * np.abs(np.where(np.isfinite(exp_f), exp_f, 0.0))
    excess = err - tol
    if excess.size and (excess > 0).any():
        flat = int(np.nanargmax(np.where(np.isnan(excess), np.inf, excess)))
        idx = _index(flat, act_b.shape)
        n_bad = int((excess > 0).sum())
        where = f" at index {idx}" if act_b.ndim else ""
        fail(
            f"`{name}` is off{where}: you returned {_num(act_b[idx])}, expected {_num(exp_b[idx])} "
            f"(|difference| {err[idx]:.3g}; {n_bad} of {excess.size} entries outside "
            f"rtol={rtol:g}, atol={atol:g}).",
            hint,
        )


def _num(x: Any) -> str:
    """A number as a learner reads it: 0.123457, 3, True, nan."""
    x = x.item() if isinstance(x, np.generic) else x
    if isinstance(x, float):
        return f"{x:.8g}"
    if isinstance(x, complex):
        return f"{x.real:.8g}{x.imag:+.8g}j"
    return repr(x)


def _index(flat: int | np.integer, shape: tuple[int, ...]) -> Any:
    if not shape:
        return ()
    return tuple(int(i) for i in np.unravel_index(int(flat), shape))


def assert_equal(actual: Any, expected: Any, *, name: str = "result", hint: str | None = None) -> None:
    """Exact equality for labels, integers, strings and containers of them."""
    __tracebackhide__ = True
    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        act = _as_array(actual, name)
        exp = np.asarray(expected)
        if act.shape != exp.shape:
            fail(f"`{name}` has shape {act.shape}, expected shape {exp.shape}.", hint)
        diff = act != exp
        if diff.any():
            idx = _index(np.argmax(diff), act.shape)
            fail(
                f"`{name}` differs at index {idx}: you returned {_num(act[idx])}, expected "
                f"{_num(exp[idx])} ({int(diff.sum())} of {diff.size} entries differ).",
                hint,
            )
        return
    if type(actual) is not type(expected) and not (
        isinstance(actual, int | float | np.number) and isinstance(expected, int | float | np.number)
    ):
        fail(f"`{name}` should be a {type(expected).__name__}, but you returned {_describe(actual)}.", hint)
    if actual != expected:
        fail(f"`{name}` is {actual!r}, expected {expected!r}.", hint)


@contextlib.contextmanager
def expect_raises(exc_name: str, *, name: str, hint: str | None = None) -> Iterator[None]:
    """Expect the learner's code to raise the exception class called ``exc_name``.

    >>> with expect_raises("ValueError", name="matmul"):
    ...     sub.matmul(A, B_wrong_shape)
    """
    __tracebackhide__ = True
    try:
        yield
    except LearnerError as err:
        if err.not_implemented:
            raise  # an untouched stub is "not attempted", not a wrong exception
        if exc_name not in err.exception_mro:
            fail(f"`{name}` raised {err.exception_type}, expected {exc_name}.", hint)
        return
    fail(f"`{name}` should raise {exc_name} here, but it returned normally.", hint)


def grad_check(f: Callable[[np.ndarray], float], x: np.ndarray, *, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of a scalar function, in float64.

    ``x`` is never modified: each coordinate is perturbed on a private copy.
    """
    x = np.array(x, dtype=np.float64, copy=True)
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    gflat = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = float(f(x))
        flat[i] = old - h
        fm = float(f(x))
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * h)
    return grad


def relative_error(a: Any, b: Any) -> float:
    """CS231n-style relative error: max|a-b| / max(1e-8, |a|+|b|)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


ON_DEVICE = """
import torch

def _move(x, device):
    if isinstance(x, torch.Tensor):
        return x.to(device)
    if isinstance(x, (list, tuple)):
        return type(x)(_move(v, device) for v in x)
    return x

def _devices(x):
    if isinstance(x, torch.Tensor):
        return {x.device.type}
    if isinstance(x, (list, tuple)):
        return set().union(*[_devices(v) for v in x])
    return set()

def on_device(fn, device):
    \"\"\"fn with its tensor arguments moved to device: (result, its device types, an input changed?).\"\"\"
    def call(*args, **kwargs):
        args = [_move(a, device) for a in args]
        kwargs = {k: _move(v, device) for k, v in kwargs.items()}
        if isinstance(kwargs.get("dtype"), str):  # a torch.dtype cannot cross the codec: its name does
            kwargs["dtype"] = getattr(torch, kwargs["dtype"])
        tensors = [a for a in args if isinstance(a, torch.Tensor)] + [
            v for v in kwargs.values() if isinstance(v, torch.Tensor)]
        before = [t.clone() for t in tensors]
        out = fn(*args, **kwargs)
        changed = any(not torch.equal(t, b) for t, b in zip(tensors, before))
        return out, sorted(_devices(out)), changed
    return call
"""
"""Kernel-side source for ``sub.define``: it defines ``on_device(fn, device)``.

``sub.define(ON_DEVICE)["on_device"](sub.f, "cuda")`` is a RemoteRef to ``f`` wrapped so that each
call moves its tensor arguments (also inside lists and tuples) to ``device``, turns a ``dtype``
keyword given by name (``"float64"``) into the ``torch.dtype``, and returns ``(result, sorted
device types of the tensors in result, whether a tensor argument was modified)``. The suite then
fails, in its own words, when the result lives on the wrong device or an input changed. A suite
with more kernel helpers defines them in the same call: ``sub.define(ON_DEVICE + _KERNEL)``.
"""
