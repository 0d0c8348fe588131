"""Hidden suite for deep-learning/functional: softmax, log_softmax, cross_entropy, relu, relu_backward.

Every value is compared with torch in float64 by the CS231n relative error
``max|a - b| / max(1e-8, |a| + |b|)``; ReLU's gradient comes from torch autograd.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.helpers import fail, relative_error

TOL = 1e-9

_SHIFT = (
    "Subtract the maximum along the axis before exponentiating: z = x - x.max(axis=axis, keepdims=True). "
    "np.exp(1000) overflows to inf, and inf / inf is NaN."
)
_AXIS = (
    "Reduce along the `axis` argument (default -1, the last axis) with keepdims=True, both for the max and for "
    "the sum, so that the result broadcasts back against x."
)


def _probe(sub: Any, source: str) -> Any:
    """A function defined by ``source`` (it must define ``probe``), built inside the learner's kernel."""
    return sub.eval(f"(lambda ns: (exec({source!r}, ns), ns['probe'])[1])({{}})")


# Calls f on a kernel-side array and reports whether the call changed it.
_UNTOUCHED_PROBE = """
def probe(f, x, *args):
    before = x.copy()
    out = f(x, *args)
    return out, bool((x == before).all())
"""


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(x, dtype=np.float64))


def _as_float_array(got: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    __tracebackhide__ = True
    if isinstance(got, torch.Tensor):
        fail(f"`{name}` returned a torch tensor; expected a NumPy array.", hint="Use NumPy only in this exercise.")
    if not isinstance(got, np.ndarray) or got.dtype.kind not in "fiu":
        fail(f"`{name}` should return a float ndarray, but it returned a {type(got).__name__}.")
    if got.shape != shape:
        fail(f"`{name}` returned shape {got.shape}, expected {shape} (the same shape as the input).", hint=_AXIS)
    return got


def _compare(got: np.ndarray, expected: np.ndarray, name: str, hint: str) -> None:
    __tracebackhide__ = True
    if not np.isfinite(got).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
        fail(f"`{name}` contains {got[bad]} at index {bad}; expected {expected[bad]:.8g}.", hint=hint)
    err = relative_error(got, expected)
    if err > TOL:
        worst = np.unravel_index(
            np.argmax(np.abs(got - expected) / np.maximum(1e-8, np.abs(got) + np.abs(expected))), got.shape
        )
        idx = tuple(int(i) for i in worst)
        fail(
            f"`{name}` differs from torch (float64): relative error {err:.3g} > {TOL:g}; at index {idx} you "
            f"returned {got[idx]:.10g}, expected {expected[idx]:.10g}.",
            hint=hint,
        )


@pytest.mark.public
@pytest.mark.points(2)
def test_softmax_matches_torch(sub: Any, rng: np.random.Generator) -> None:
    x = rng.normal(scale=3.0, size=(6, 9))
    got, untouched = _probe(sub, _UNTOUCHED_PROBE)(sub.softmax, x)
    got = _as_float_array(got, "softmax(x)", x.shape)
    sums = got.sum(axis=-1)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-12) and np.allclose(got.sum(axis=0), 1.0, rtol=0, atol=1e-12):
        fail(
            "`softmax(x)` on a (6, 9) array sums to 1 down each column (axis 0), not along each row.",
            hint="By default (axis=-1) the classes are on the last axis. " + _AXIS,
        )
    _compare(got, F.softmax(_t(x), dim=-1).numpy(), "softmax(x)", _AXIS)
    if not untouched:
        fail(
            "`softmax` changed its input array.",
            hint="Never modify x in place (x -= x.max(...) does): compute z = x - x.max(axis=axis, keepdims=True).",
        )


@pytest.mark.points(1)
def test_softmax_along_any_axis(sub: Any, rng: np.random.Generator) -> None:
    x = rng.normal(scale=2.0, size=(3, 4, 5))
    for axis in (0, 1, -1, -2):
        got = _as_float_array(sub.softmax(x, axis), f"softmax(x, axis={axis})", x.shape)
        _compare(got, F.softmax(_t(x), dim=axis).numpy(), f"softmax(x, axis={axis}) of a (3, 4, 5) array", _AXIS)


@pytest.mark.points(1)
def test_softmax_is_stable_for_large_logits(sub: Any) -> None:
    small = np.array([[0.1, -0.3, 0.5], [1.0, 2.0, 0.0], [0.0, 0.0, 0.0], [-1.0, 0.5, 0.2]])
    got = sub.softmax(small)
    if (
        not isinstance(got, np.ndarray)
        or got.shape != small.shape
        or relative_error(got, F.softmax(_t(small), -1).numpy()) > TOL
    ):
        fail(
            "softmax is already off for small logits (a (4, 3) array of values near 0): this follows from the "
            "problem reported by test_softmax_matches_torch above."
        )
    x = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0], [1e4, -1e4, 0.0], [0.0, 0.0, 0.0]])
    got = _as_float_array(sub.softmax(x), "softmax(x)", x.shape)
    _compare(got, F.softmax(_t(x), dim=-1).numpy(), "softmax of logits near +-1000 and 1e4", _SHIFT)


@pytest.mark.public
@pytest.mark.points(2)
def test_log_softmax_matches_torch_and_is_stable(sub: Any, rng: np.random.Generator) -> None:
    x = rng.normal(scale=3.0, size=(5, 8))
    got = _as_float_array(sub.log_softmax(x), "log_softmax(x)", x.shape)
    _compare(
        got,
        F.log_softmax(_t(x), dim=-1).numpy(),
        "log_softmax(x)",
        "log_softmax(x) = z - log(sum(exp(z), axis, keepdims=True)) with z = x - max(x, axis). " + _AXIS,
    )
    y = rng.normal(size=(4, 3, 2))
    got = _as_float_array(sub.log_softmax(y, 1), "log_softmax(x, axis=1)", y.shape)
    _compare(got, F.log_softmax(_t(y), dim=1).numpy(), "log_softmax(x, axis=1) of a (4, 3, 2) array", _AXIS)
    big = np.array([[0.0, -1000.0], [1000.0, 0.0], [1e4, 1e4 - 5.0], [-1e4, 1e4]])
    got = _as_float_array(sub.log_softmax(big), "log_softmax(x)", big.shape)
    _compare(
        got,
        F.log_softmax(_t(big), dim=-1).numpy(),
        "log_softmax of logits like [0, -1000]",
        "Do not compute np.log(softmax(x)): a probability that underflows to 0 gives -inf, but log_softmax([0, "
        "-1000]) is [0, -1000]. Use z - log(sum(exp(z))) with z = x - max(x). " + _SHIFT,
    )


@pytest.mark.public
@pytest.mark.points(2)
def test_cross_entropy_matches_torch(sub: Any, rng: np.random.Generator) -> None:
    n, c = 12, 5
    logits = rng.normal(scale=2.0, size=(n, c))
    y = rng.integers(0, c, size=n)
    got = sub.cross_entropy(logits, y)
    if not isinstance(got, float | np.floating) or isinstance(got, bool):
        shape = f" of shape {got.shape}" if isinstance(got, np.ndarray) else ""
        fail(
            f"`cross_entropy` should return a float, but it returned a {type(got).__name__}{shape}.",
            hint="Average the per-sample losses to one number and return float(...).",
        )
    expected = F.cross_entropy(_t(logits), torch.from_numpy(y)).item()
    if np.isclose(got, n * expected, rtol=1e-9):
        fail(
            f"`cross_entropy` returned {got:.8g}, which is {n} times the expected {expected:.8g}: you summed over "
            "the samples.",
            hint="The loss is averaged over the batch: -mean(log_softmax(logits)[range(N), y]), as torch does.",
        )
    err = relative_error(got, expected)
    if err > TOL:
        fail(
            f"`cross_entropy` returned {got:.10g}, torch gives {expected:.10g} (relative error {err:.3g}).",
            hint="loss = -mean(log_softmax(logits, axis=1)[np.arange(N), y]); y holds class indices, not one-hot.",
        )
    big = np.array([[1e4, 0.0, -1e4], [0.0, 1000.0, 0.0], [-500.0, -500.0, 500.0]])
    yb = np.array([1, 1, 0])
    got = sub.cross_entropy(big, yb)
    expected = F.cross_entropy(_t(big), torch.from_numpy(yb)).item()
    if not np.isfinite(got):
        fail(
            f"`cross_entropy` of logits as large as 1e4 returned {got}; expected {expected:.8g}.",
            hint="Build the loss on log_softmax, not on np.log(softmax(x)): a probability that underflows to 0 "
            "gives log(0) = -inf. " + _SHIFT,
        )
    err = relative_error(got, expected)
    if err > TOL:
        fail(
            f"`cross_entropy` of logits as large as 1e4 returned {got:.10g}, torch gives {expected:.10g}.",
            hint="Build the loss on log_softmax, not on np.log(softmax(x)). " + _SHIFT,
        )


@pytest.mark.public
@pytest.mark.points(1)
def test_relu_and_its_backward_match_torch(sub: Any, rng: np.random.Generator) -> None:
    x = rng.normal(size=(4, 7))
    x[0, :3] = 0.0  # the kink: torch's gradient there is 0
    x[1, 1] = -0.0
    dout = rng.normal(size=x.shape)
    xt = _t(x).requires_grad_(True)
    out = torch.relu(xt)
    (out * _t(dout)).sum().backward()  # the same gradient as out.backward(dout), without its slow first call
    assert xt.grad is not None
    got, untouched = _probe(sub, _UNTOUCHED_PROBE)(sub.relu, x)
    got = _as_float_array(got, "relu(x)", x.shape)
    _compare(got, out.detach().numpy(), "relu(x)", "relu(x) = np.maximum(x, 0), elementwise.")
    if not untouched:
        fail("`relu` changed its input array.", hint="Return a new array: np.maximum(x, 0).")
    dx = _as_float_array(sub.relu_backward(dout, x), "relu_backward(dout, x)", x.shape)
    at_zero = x == 0
    if np.any(dx[at_zero] != 0) and np.allclose(dx[~at_zero], xt.grad.numpy()[~at_zero]):
        fail(
            "`relu_backward` passes the gradient through where x == 0 exactly.",
            hint="Use the mask x > 0 (strictly): at x == 0 the gradient is 0, as in PyTorch.",
        )
    _compare(
        dx,
        xt.grad.numpy(),
        "relu_backward(dout, x)",
        "dx = dout * (x > 0): pass dout through where the input was positive, 0 elsewhere (a 0/1 mask, not "
        "dout * relu(x)).",
    )


@pytest.mark.points(1)
def test_dtypes_are_kept(sub: Any, rng: np.random.Generator) -> None:
    hint = (
        "Floating-point inputs keep their dtype (float32 in, float32 out); convert integer inputs to float64 "
        "first (np.asarray(x).astype(np.float64) when not np.issubdtype(x.dtype, np.floating))."
    )
    x32 = rng.normal(size=(3, 4)).astype(np.float32)
    xint = rng.integers(-3, 4, size=(3, 4))
    cases = [
        ("softmax", (x32,), np.float32),
        ("log_softmax", (x32,), np.float32),
        ("relu", (x32,), np.float32),
        ("relu_backward", (x32, x32), np.float32),
        ("softmax", (xint,), np.float64),
        ("log_softmax", (xint,), np.float64),
        ("relu", (xint,), np.float64),
        ("relu_backward", (xint, xint), np.float64),
    ]
    for name, args, want in cases:
        got = getattr(sub, name)(*args)
        kind = "float32" if args[0].dtype == np.float32 else "integer"
        if not isinstance(got, np.ndarray) or got.dtype != want:
            shown = got.dtype if isinstance(got, np.ndarray) else type(got).__name__
            fail(f"`{name}` of a {kind} array returned {shown}, expected {np.dtype(want)}.", hint=hint)
