"""Hidden suite for deep-learning/conv: conv2d and max_pool2d, forward and backward, against torch.

References come from ``torch.nn.functional`` and torch autograd in float64 (on the ``device`` the
grader was asked for); results are compared with the CS231n relative error. Sizes are odd and not
square, and the kernels are not square either, so a swapped axis or an off-by-one shows.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.helpers import fail, relative_error

TOL = 1e-8

# (N, C, H, W), (F, KH, KW), stride, padding: odd, non-square images and kernels.
CONV_CASES = [
    ((2, 3, 7, 10), (4, 3, 2), 1, 0),
    ((2, 3, 9, 7), (4, 3, 3), 2, 1),
    ((1, 2, 11, 8), (3, 4, 3), 3, 2),
    ((3, 1, 5, 6), (2, 5, 1), 1, 2),
]
# (N, C, H, W), kernel, stride (None: = kernel)
POOL_CASES = [
    ((2, 3, 7, 10), 2, None),  # the last row is ignored
    ((2, 3, 9, 7), 3, 2),  # overlapping windows
    ((1, 2, 11, 8), 2, 3),  # gaps between windows
    ((2, 2, 6, 5), 3, 1),  # heavily overlapping
]

_SIZE = "H_out = (H + 2 * padding - KH) // stride + 1 and W_out = (W + 2 * padding - KW) // stride + 1"
_XCORR = (
    "out[n, f, i, j] = b[f] + sum over c, p, q of xp[n, c, i*stride + p, j*stride + q] * w[f, c, p, q], "
    "with xp the zero-padded x: a cross-correlation, the kernel is not flipped."
)

# Runs in the learner's kernel: sends back an array of conv2d's output shape, doing no work. Timing it
# measures what a call costs beyond the work itself (the arguments and the result crossing the codec).
_ECHO = "lambda x, w, b, s, p: __import__('numpy').zeros((x.shape[0], w.shape[0], x.shape[2], x.shape[3]))"
_MAX_TRANSFER = 0.2  # seconds of call overhead the budget allows for, whatever the echo took


def _round_trip(f: Any, *args: Any) -> tuple[float, Any]:
    """Seconds one call took on the grader's clock (learner code cannot patch it), and its result."""
    t0 = time.perf_counter()
    out = f(*args)
    return time.perf_counter() - t0, out


def _reference_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, s: int, p: int) -> np.ndarray:
    """An im2col conv2d (a strided view, then one tensordot), timed in the grader's own process."""
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::s, ::s]
    out: np.ndarray = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    return out + b[None, :, None, None]


# ---------------------------------------------------------------- references (grader side)


def _t(a: np.ndarray, device: str, grad: bool = False) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, device=device, requires_grad=grad)


def _np(t: torch.Tensor | None) -> np.ndarray:
    assert t is not None
    return t.detach().cpu().numpy()


def _conv_ref(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, padding: int, dout: np.ndarray | None, device: str
) -> dict[str, np.ndarray]:
    xt, wt, bt = _t(x, device, True), _t(w, device, True), _t(b, device, True)
    out = F.conv2d(xt, wt, bt, stride=stride, padding=padding)
    ref = {"out": _np(out)}
    if dout is not None:
        out.backward(_t(dout, device))
        ref.update(dx=_np(xt.grad), dw=_np(wt.grad), db=_np(bt.grad))
    return ref


def _pool_ref(x: np.ndarray, k: int, stride: int | None, dout: np.ndarray | None, device: str) -> dict[str, np.ndarray]:
    xt = _t(x, device, True)
    out = F.max_pool2d(xt, k, stride)
    ref = {"out": _np(out)}
    if dout is not None:
        out.backward(_t(dout, device))
        ref["dx"] = _np(xt.grad)
    return ref


def _windows(x: np.ndarray, k: int, stride: int) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]


def _pool_backward_variant(dout: np.ndarray, x: np.ndarray, k: int, stride: int, how: str) -> np.ndarray:
    """Known ways to route the pooling gradient: 'first' (right), 'ties' (to every tied maximum),
    'share' (split among ties), 'all' (to every position of the window), 'assign' (= instead of +=)."""
    n, c = x.shape[:2]
    win = _windows(x, k, stride)
    ho, wo = win.shape[2:4]
    dx = np.zeros_like(x)
    if how in ("first", "assign"):
        arg = win.reshape(n, c, ho, wo, k * k).argmax(axis=4)
        p, q = np.divmod(arg, k)
        idx = (
            np.arange(n)[:, None, None, None],
            np.arange(c)[None, :, None, None],
            np.arange(ho)[None, None, :, None] * stride + p,
            np.arange(wo)[None, None, None, :] * stride + q,
        )
        if how == "first":
            np.add.at(dx, idx, dout)
        else:
            dx[idx] = dout
        return dx
    mask = np.ones_like(win) if how == "all" else (win == win.max(axis=(4, 5), keepdims=True)).astype(float)
    if how == "share":
        mask = mask / mask.sum(axis=(4, 5), keepdims=True)
    contrib = mask * dout[:, :, :, :, None, None]
    for p in range(k):
        for q in range(k):
            dx[:, :, p : p + stride * ho : stride, q : q + stride * wo : stride] += contrib[:, :, :, :, p, q]
    return dx


# ---------------------------------------------------------------- checking


def _check(got: Any, expected: np.ndarray, name: str, hint: str, tol: float = TOL) -> None:
    __tracebackhide__ = True
    if not isinstance(got, np.ndarray):
        fail(f"`{name}` should be a float64 ndarray of shape {expected.shape}, but it is a {type(got).__name__}.")
    if got.shape != expected.shape:
        fail(f"`{name}` has shape {got.shape}, expected {expected.shape}.", hint=hint)
    if got.dtype.kind != "f":
        fail(f"`{name}` has dtype {got.dtype}, expected float64.", hint="Work in float64.")
    if not np.isfinite(got).all():
        fail(f"`{name}` contains NaN or inf.", hint=hint)
    err = relative_error(got, expected)
    if err > tol:
        diff = np.abs(got - expected) / np.maximum(1e-8, np.abs(got) + np.abs(expected))
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), got.shape))
        fail(
            f"`{name}` differs from torch (relative error {err:.2e} > {tol:g}). At index {idx} you have "
            f"{got[idx]:.10g}, torch has {expected[idx]:.10g}.",
            hint=hint,
        )


def _close(a: Any, b: np.ndarray) -> bool:
    return isinstance(a, np.ndarray) and a.shape == b.shape and relative_error(a, b) <= 1e-6


def _conv_inputs(rng: np.random.Generator, case: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    (n, c, h, w), (f, kh, kw), stride, padding = case
    return rng.normal(size=(n, c, h, w)), rng.normal(size=(f, c, kh, kw)), rng.normal(size=f), stride, padding


def _describe(case: tuple) -> str:
    (n, c, h, w), (f, kh, kw), stride, padding = case
    return f"x of shape {(n, c, h, w)}, w of shape {(f, c, kh, kw)}, stride={stride}, padding={padding}"


def _output_shape(case: tuple) -> tuple[int, int, int, int]:
    (n, _, h, w), (f, kh, kw), stride, padding = case
    return n, f, (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1


def _size_hint(got: Any, case: tuple) -> None:
    __tracebackhide__ = True
    expected = _output_shape(case)
    if isinstance(got, np.ndarray) and got.shape != expected:
        off = ""
        if got.ndim == 4 and got.shape[:2] == expected[:2]:
            dh, dw = got.shape[2] - expected[2], got.shape[3] - expected[3]
            if {abs(dh), abs(dw)} <= {0, 1}:
                off = " That is off by one."
        fail(
            f"conv2d with {_describe(case)}: the output has shape {got.shape}, expected {expected}.{off}",
            hint=f"The output size is {_SIZE} (floor division: windows that do not fit are dropped).",
        )


# ---------------------------------------------------------------- tests


@pytest.mark.points(2)
def test_conv2d_matches_torch(sub: Any, rng: np.random.Generator, device: str) -> None:
    for case in CONV_CASES:
        x, w, b, stride, padding = _conv_inputs(rng, case)
        ref = _conv_ref(x, w, b, stride, padding, None, device)["out"]
        got = sub.conv2d(x, w, b, stride=stride, padding=padding)
        _size_hint(got, case)
        if not _close(got, ref):
            flipped = _conv_ref(x, w[:, :, ::-1, ::-1].copy(), b, stride, padding, None, device)["out"]
            if _close(got, flipped):
                fail(
                    f"conv2d with {_describe(case)}: you flipped the kernel. That is the convolution of "
                    "signal processing; deep-learning 'convolution' layers compute a cross-correlation.",
                    hint="Do not flip w: multiply each window by w[f] as it is. " + _XCORR,
                )
            if _close(got, ref - b[None, :, None, None]):
                fail(
                    f"conv2d with {_describe(case)}: the bias is missing.", hint="Add b[f] to every output of filter f."
                )
        _check(got, ref, f"conv2d output ({_describe(case)})", _XCORR)


@pytest.mark.public
@pytest.mark.points(1)
def test_conv2d_output_size(sub: Any, rng: np.random.Generator) -> None:
    cases = [
        ((1, 1, 8, 13), (1, 3, 4), 2, 0),  # (8 - 3) / 2 and (13 - 4) / 2 are not whole: floor
        ((1, 2, 6, 5), (2, 2, 2), 3, 1),
        ((2, 1, 4, 9), (1, 4, 4), 1, 0),  # a kernel as tall as the image: one output row
        ((1, 1, 5, 5), (1, 1, 1), 1, 0),
    ]
    for case in cases:
        x, w, b, stride, padding = _conv_inputs(rng, case)
        got = sub.conv2d(x, w, b, stride=stride, padding=padding)
        if not isinstance(got, np.ndarray):
            fail(f"`conv2d` should return an ndarray, but it returned a {type(got).__name__}.")
        _size_hint(got, case)
    x, w, b, stride, padding = _conv_inputs(rng, cases[0])
    got = sub.conv2d(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32), stride=stride)
    if isinstance(got, np.ndarray) and got.dtype != np.float64:
        fail(
            f"`conv2d` of float32 inputs returned {got.dtype}, expected float64.",
            hint="Work in float64: convert x, w and b with np.asarray(..., dtype=np.float64) first.",
        )


@pytest.mark.public
@pytest.mark.points(2)
def test_conv2d_backward_matches_autograd(sub: Any, rng: np.random.Generator, device: str) -> None:
    for case in CONV_CASES:
        x, w, b, stride, padding = _conv_inputs(rng, case)
        dout = rng.normal(size=_output_shape(case))
        ref = _conv_ref(x, w, b, stride, padding, dout, device)
        got = sub.conv2d_backward(dout, x, w, b, stride=stride, padding=padding)
        if not isinstance(got, tuple | list) or len(got) != 3:
            fail(
                f"`conv2d_backward` should return a tuple (dx, dw, db), but it returned {type(got).__name__}"
                f"{f' of length {len(got)}' if isinstance(got, tuple | list) else ''}.",
                hint="End with `return dx, dw, db`.",
            )
        dx, dw, db = got
        what = f"conv2d_backward ({_describe(case)})"
        _check(db, ref["db"], f"db from {what}", "db[f] is the sum of dout[:, f] over the batch and all positions.")
        _check(
            dw,
            ref["dw"],
            f"dw from {what}",
            "dw[f, c, p, q] = sum over n, i, j of dout[n, f, i, j] * xp[n, c, i*stride + p, j*stride + q] "
            "(the same windows as the forward pass, zero padding included).",
        )
        hint = (
            "Every output pixel sends dout[n, f, i, j] * w[f] back to the window it read; windows overlap, so "
            "add (+=) the contributions, work on the padded input, then cut the padding off."
        )
        if (
            isinstance(dx, np.ndarray)
            and dx.shape == (x.shape[0], x.shape[1], x.shape[2] + 2 * padding, x.shape[3] + 2 * padding)
            and padding
        ):
            hint = "dx must have the shape of the unpadded x: remove the padding, dx = dxp[:, :, p:-p, p:-p]."
        _check(dx, ref["dx"], f"dx from {what}", hint)


@pytest.mark.public
@pytest.mark.points(1)
def test_max_pool2d_matches_torch(sub: Any, rng: np.random.Generator, device: str) -> None:
    for shape, k, stride in POOL_CASES:
        x = rng.normal(size=shape)
        ref = _pool_ref(x, k, stride, None, device)["out"]
        got = sub.max_pool2d(x, k, stride)
        what = f"max_pool2d(x of shape {shape}, kernel={k}, stride={stride})"
        hint = (
            "out[n, c, i, j] is the max of x[n, c, i*stride : i*stride + kernel, j*stride : j*stride + kernel]; "
            "stride=None means stride = kernel, and H_out = (H - kernel) // stride + 1."
        )
        _check(got, ref, what, hint)


@pytest.mark.public
@pytest.mark.points(2)
def test_max_pool2d_backward_matches_autograd(sub: Any, rng: np.random.Generator, device: str) -> None:
    for shape, k, stride in POOL_CASES:
        x = rng.normal(size=shape)  # distinct values: no ties here
        s = k if stride is None else stride
        dout = rng.normal(size=_windows(x, k, s).shape[:4])
        ref = _pool_ref(x, k, stride, dout, device)
        got = sub.max_pool2d_backward(dout, x, k, stride)
        what = f"dx from max_pool2d_backward(x of shape {shape}, kernel={k}, stride={stride})"
        hint = (
            "Each window sends its dout[n, c, i, j] to the position of its maximum, and to no other; "
            "an input pixel that is the maximum of several overlapping windows gets the sum of their gradients."
        )
        if _close(got, _pool_backward_variant(dout, x, k, s, "all")):
            hint = (
                "You routed each window's gradient to every position of the window (that is average pooling's "
                "pattern, without the 1/k^2). Only the position of the maximum gets the gradient: it alone "
                "decided the output."
            )
        elif _close(got, _pool_backward_variant(dout, x, k, s, "assign")):
            hint = (
                "Overlapping windows can share their maximum: that pixel must get the sum of their gradients, "
                "but your assignment keeps only one. Accumulate with np.add.at (fancy-index `+=` also keeps "
                "only one of repeated indices)."
            )
        _check(got, ref["dx"], what, hint)


@pytest.mark.points(1)
def test_max_pool2d_backward_breaks_ties_on_the_first_maximum(sub: Any, rng: np.random.Generator) -> None:
    x = rng.normal(size=(1, 2, 6, 7))  # distinct values: no ties
    dout = rng.normal(size=_windows(x, 2, 1).shape[:4])
    if not _close(sub.max_pool2d_backward(dout, x, 2, 1), _pool_backward_variant(dout, x, 2, 1, "first")):
        fail(
            "max_pool2d_backward is already wrong without ties: this follows from the problem reported by "
            "test_max_pool2d_backward_matches_autograd above."
        )
    for shape, k, stride in (((2, 2, 6, 7), 2, 1), ((1, 3, 6, 6), 3, 3), ((2, 1, 5, 8), 2, None)):
        x = rng.integers(0, 3, size=shape).astype(np.float64)  # few distinct values: many ties
        s = k if stride is None else stride
        dout = rng.normal(size=_windows(x, k, s).shape[:4])
        expected = _pool_backward_variant(dout, x, k, s, "first")
        got = sub.max_pool2d_backward(dout, x, k, stride)
        hint = (
            "When several positions of a window hold the maximum, the gradient goes to the first of them in "
            "row-major order within the window, as np.argmax on the flattened window (and torch) picks it."
        )
        if _close(got, _pool_backward_variant(dout, x, k, s, "ties")):
            hint = "You sent the gradient to every tied maximum (a mask x == max). " + hint
        elif _close(got, _pool_backward_variant(dout, x, k, s, "share")):
            hint = "You split the gradient among the tied maxima. " + hint
        _check(
            got,
            expected,
            f"dx from max_pool2d_backward with ties (x of shape {shape}, kernel={k}, stride={stride})",
            hint,
        )


@pytest.mark.points(1)
def test_conv2d_is_vectorised(sub: Any, rng: np.random.Generator, device: str) -> None:
    x, w, b = rng.normal(size=(8, 3, 32, 32)), rng.normal(size=(16, 3, 3, 3)), rng.normal(size=16)
    conv2d = sub.conv2d
    # Every time is taken by the grader around a whole call: a clock patched in the kernel changes nothing,
    # and the reference runs here, where a patched NumPy in the kernel cannot slow it down.
    took, got = _round_trip(conv2d, x, w, b, 1, 1)
    expected = _conv_ref(x, w, b, 1, 1, None, device)["out"]  # correct first: a fast wrong answer proves nothing
    if not _close(got, expected):
        fail(
            "conv2d's speed cannot be judged while its output is wrong: this follows from the conv2d problem "
            "reported by test_conv2d_matches_torch above."
        )
    ref_time = min(_round_trip(_reference_conv, x, w, b, 1, 1)[0] for _ in range(3))
    echo = sub.eval(_ECHO)
    transfer = min(_MAX_TRANSFER, *(_round_trip(echo, x, w, b, 1, 1)[0] for _ in range(2)))
    budget = max(0.3, 50 * ref_time) + transfer
    if took > budget:
        took = min(took, _round_trip(conv2d, x, w, b, 1, 1)[0])  # one retry: the machine may have been busy
    if took > budget:
        fail(
            f"conv2d on 8 images of 3x32x32 with 16 filters of 3x3 took {took:.2f} s; a vectorised version takes "
            f"about {ref_time * 1000:.1f} ms here (the limit is {budget:.2f} s). Python loops over images, "
            "filters and output pixels are far too slow.",
            hint="Build every window at once with np.lib.stride_tricks.sliding_window_view (or im2col), then "
            "contract with the filters in one np.einsum or np.tensordot; a loop over the KH x KW kernel "
            "offsets is fine.",
        )
