"""Hidden suite for deep-learning/rnn: a vanilla RNN, BPTT and global-norm clipping, against torch.

Forward passes are compared with ``torch.nn.RNN`` (weight_ih = Wx.T, weight_hh = Wh.T, bias_ih = b,
bias_hh = 0), gradients with torch autograd, and once with centred differences (h = 1e-5), all in
float64 with the CS231n relative error. Clipping is compared with ``torch.nn.utils.clip_grad_norm_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from grader.helpers import fail, grad_check, relative_error

TOL = 1e-8
GRAD_NAMES = ("dx", "dh0", "dWx", "dWh", "db")

# Runs in the learner's kernel: copies of the gradients before the call, the call, and the
# gradients as they are after it (to prove they were not modified in place).
_CLIP_PROBE = """
lambda f, grads, max_norm: (lambda before: (lambda out: (before, grads, out))(f(grads, max_norm)))(
    [g.copy() for g in grads]
)
""".strip()

_RECURRENCE = "h_t = tanh(x[:, t] @ Wx + h_{t-1} @ Wh + b), starting from h_{-1} = h0."
_BPTT = (
    "Go backwards from t = T-1 to 0: the gradient reaching h_t is dh[:, t] plus the gradient flowing back "
    "from h_{t+1}; multiply by 1 - h_t**2 (tanh'), then dx[:, t] = da @ Wx.T, dWx += x[:, t].T @ da, "
    "dWh += h_{t-1}.T @ da, db += da.sum(0), and pass da @ Wh.T back to h_{t-1} (dh0 at the end)."
)
_GRAD_HINTS = {
    "dx": "dx[:, t] = da_t @ Wx.T, with da_t the gradient at the input of tanh at step t.",
    "dh0": "dh0 is what flows back from step 0: da_0 @ Wh.T.",
    "dWx": "dWx sums x[:, t].T @ da_t over all time steps.",
    "dWh": "dWh sums h_{t-1}.T @ da_t over all time steps, with h_{-1} = h0.",
    "db": "db sums da_t over the batch and all time steps.",
}


# ---------------------------------------------------------------- references (grader side)


def _params(rng: np.random.Generator, n: int, t: int, d: int, h: int) -> dict[str, np.ndarray]:
    return {
        "x": rng.normal(size=(n, t, d)),
        "h0": rng.normal(scale=0.5, size=(n, h)),
        "Wx": rng.normal(scale=0.5, size=(d, h)),
        "Wh": rng.normal(scale=0.4, size=(h, h)),
        "b": rng.normal(scale=0.2, size=h),
    }


def _torch_rnn(p: dict[str, np.ndarray], dh: np.ndarray | None, device: str) -> dict[str, np.ndarray]:
    """torch.nn.RNN's hidden states and, given dh, the autograd gradients of sum(h * dh)."""
    d, h = p["Wx"].shape
    rnn = torch.nn.RNN(d, h, nonlinearity="tanh", batch_first=True, dtype=torch.float64, device=device)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.as_tensor(p["Wx"].T))
        rnn.weight_hh_l0.copy_(torch.as_tensor(p["Wh"].T))
        rnn.bias_ih_l0.copy_(torch.as_tensor(p["b"]))
        rnn.bias_hh_l0.zero_()
    x = torch.tensor(p["x"], dtype=torch.float64, device=device, requires_grad=True)
    h0 = torch.tensor(p["h0"][None], dtype=torch.float64, device=device, requires_grad=True)
    out, _ = rnn(x, h0)
    ref = {"h": out.detach().cpu().numpy()}
    if dh is not None:
        (out * torch.as_tensor(dh, device=device)).sum().backward()

        def g(t: torch.Tensor) -> np.ndarray:
            assert t.grad is not None
            return t.grad.detach().cpu().numpy()

        ref.update(
            dx=g(x),
            dh0=g(h0)[0],
            dWx=g(rnn.weight_ih_l0).T,
            dWh=g(rnn.weight_hh_l0).T,
            db=g(rnn.bias_ih_l0),
        )
    return ref


def _np_forward(p: dict[str, np.ndarray]) -> np.ndarray:
    h, out = p["h0"], []
    for t in range(p["x"].shape[1]):
        h = np.tanh(p["x"][:, t] @ p["Wx"] + h @ p["Wh"] + p["b"])
        out.append(h)
    return np.stack(out, axis=1)


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
            f"`{name}` differs from the reference (relative error {err:.2e} > {tol:g}). At index {idx} you have "
            f"{got[idx]:.10g}, expected {expected[idx]:.10g}.",
            hint=hint,
        )


def _close(a: Any, b: np.ndarray) -> bool:
    return isinstance(a, np.ndarray) and a.shape == b.shape and relative_error(a, b) <= 1e-6


def _grads(got: Any, what: str) -> dict[str, Any]:
    __tracebackhide__ = True
    if not isinstance(got, tuple | list) or len(got) != 5:
        fail(
            f"{what} should return a tuple (dx, dh0, dWx, dWh, db), but it returned {type(got).__name__}"
            f"{f' of length {len(got)}' if isinstance(got, tuple | list) else ''}.",
            hint="End with `return dx, dh0, dWx, dWh, db`.",
        )
    return dict(zip(GRAD_NAMES, got, strict=True))


def _forward_premise(sub: Any, p: dict[str, np.ndarray], got: dict[str, Any], ref: dict[str, np.ndarray]) -> None:
    """If the gradients are off and so is the learner's forward pass, say that the one follows from the other."""
    __tracebackhide__ = True
    if all(_close(got[name], ref[name]) for name in GRAD_NAMES):
        return
    if not _close(sub.rnn_forward(p["x"], p["h0"], p["Wx"], p["Wh"], p["b"]), ref["h"]):
        fail(
            "The gradients are off, and so are the hidden states of your rnn_forward: this follows from the "
            "rnn_forward problem reported by test_rnn_forward_matches_torch above; fix that first."
        )


def _check_backward(sub: Any, p: dict[str, np.ndarray], dh: np.ndarray, device: str, what: str) -> None:
    __tracebackhide__ = True
    ref = _torch_rnn(p, dh, device)
    got = _grads(sub.rnn_backward(dh, p["x"], p["h0"], p["Wx"], p["Wh"], p["b"]), what)
    _forward_premise(sub, p, got, ref)
    # Cut BPTT (no gradient flowing back from h_{t+1}): recognisable by dx at the last step being right
    # while the earlier steps are not.
    last_only = isinstance(got["dx"], np.ndarray) and got["dx"].shape == ref["dx"].shape
    for name in GRAD_NAMES:
        hint = _GRAD_HINTS[name] + " " + _BPTT
        if (
            last_only
            and name == "dx"
            and _close(got["dx"][:, -1], ref["dx"][:, -1])
            and not _close(got["dx"][:, :-1], ref["dx"][:, :-1])
        ):
            hint = (
                "The last step is right but earlier ones are not: backpropagate through time. The gradient "
                "reaching h_t is dh[:, t] plus what flows back from h_{t+1} (da_{t+1} @ Wh.T); carry it from one "
                "step to the one before."
            )
        _check(got[name], ref[name], f"{name} from {what}", hint)


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(1)
def test_rnn_step_matches_torch(sub: Any, rng: np.random.Generator, device: str) -> None:
    p = _params(rng, 4, 1, 3, 5)
    x, h_prev = p["x"][:, 0], p["h0"]
    expected = _torch_rnn(p, None, device)["h"][:, 0]
    got = sub.rnn_step(x, h_prev, p["Wx"], p["Wh"], p["b"])
    hint = "h_next = tanh(x @ Wx + h_prev @ Wh + b): x (N, D) times Wx (D, H), h_prev (N, H) times Wh (H, H)."
    if _close(got, np.tanh(x @ p["Wx"] + h_prev @ p["Wh"].T + p["b"])):
        hint = "You multiplied by Wh.T; the pinned layout is h_prev @ Wh (Wh has shape (H, H), rows index h_prev)."
    _check(got, expected, "rnn_step output", hint)


@pytest.mark.public
@pytest.mark.points(2)
def test_rnn_forward_matches_torch(sub: Any, rng: np.random.Generator, device: str) -> None:
    for n, t, d, h in ((3, 5, 4, 6), (1, 7, 2, 3)):
        p = _params(rng, n, t, d, h)
        expected = _torch_rnn(p, None, device)["h"]
        got = sub.rnn_forward(p["x"], p["h0"], p["Wx"], p["Wh"], p["b"])
        what = f"rnn_forward output (N={n}, T={t}, D={d}, H={h})"
        hint = _RECURRENCE + " Return every hidden state, shape (N, T, H)."
        if isinstance(got, np.ndarray) and got.shape == (t, n, h) and _close(got.transpose(1, 0, 2), expected):
            hint = "Your states are time-major (T, N, H); the pinned layout is batch first: h[:, t] = h_t."
        elif _close(got, np.tanh(p["x"] @ p["Wx"] + (p["h0"] @ p["Wh"])[:, None] + p["b"])):
            hint = (
                "Every step starts from h0: carry the hidden state. Step t must start from h_{t-1}, the state the "
                "previous step produced. " + _RECURRENCE
            )
        elif _close(got, np.tanh(p["x"] @ p["Wx"] + p["b"])):
            hint = "The recurrent term h_{t-1} @ Wh is missing: carry the hidden state. " + _RECURRENCE
        elif not _close(got, expected):
            x0, h0 = p["x"][:, 0], p["h0"]
            step = sub.rnn_step(x0, h0, p["Wx"], p["Wh"], p["b"])
            if not _close(step, np.tanh(x0 @ p["Wx"] + h0 @ p["Wh"] + p["b"])):
                fail(
                    f"{what} is off, and so is one rnn_step: this follows from the rnn_step problem reported by "
                    "test_rnn_step_matches_torch above."
                )
        _check(got, expected, what, hint)


@pytest.mark.public
@pytest.mark.points(2)
def test_rnn_backward_matches_autograd(sub: Any, rng: np.random.Generator, device: str) -> None:
    p = _params(rng, 3, 5, 4, 6)
    dh = rng.normal(size=(3, 5, 6))
    _check_backward(sub, p, dh, device, "rnn_backward (a loss on every step)")


@pytest.mark.points(1)
def test_rnn_backward_from_the_last_step_only(sub: Any, rng: np.random.Generator, device: str) -> None:
    p = _params(rng, 2, 6, 3, 4)
    dh = np.zeros((2, 6, 4))
    dh[:, -1] = rng.normal(size=(2, 4))  # a loss on the last hidden state only, as in sequence classification
    _check_backward(sub, p, dh, device, "rnn_backward (a loss on the last step only)")


@pytest.mark.points(1)
def test_rnn_backward_passes_a_gradient_check(sub: Any, rng: np.random.Generator) -> None:
    p = _params(rng, 2, 3, 3, 4)
    dh = rng.normal(size=(2, 3, 4))
    got = _grads(sub.rnn_backward(dh, p["x"], p["h0"], p["Wx"], p["Wh"], p["b"]), "rnn_backward")
    _forward_premise(sub, p, got, _torch_rnn(p, dh, "cpu"))
    for key, name in zip(("x", "h0", "Wx", "Wh", "b"), GRAD_NAMES, strict=True):

        def loss(value: np.ndarray, key: str = key) -> float:
            return float(np.sum(_np_forward({**p, key: value}) * dh))

        numeric = grad_check(loss, p[key], h=1e-5)
        _check(
            got[name],
            numeric,
            f"{name} from rnn_backward, against centred differences (h=1e-5) of sum(rnn_forward(...) * dh)",
            _GRAD_HINTS[name] + " " + _BPTT,
            tol=1e-6,  # centred differences are accurate to about 1e-8 here; a wrong gradient is off by far more
        )


def _clip_reference(grads: list[np.ndarray], max_norm: float, device: str) -> tuple[list[np.ndarray], float]:
    params = []
    for g in grads:
        t = torch.zeros(g.shape, dtype=torch.float64, device=device, requires_grad=True)
        t.grad = torch.tensor(g, dtype=torch.float64, device=device)
        params.append(t)
    total = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
    return [t.grad.detach().cpu().numpy() for t in params if t.grad is not None], total


def _clip_result(out: Any, n: int) -> tuple[list[Any], float]:
    __tracebackhide__ = True
    if not isinstance(out, tuple | list) or len(out) != 2 or not isinstance(out[0], list | tuple):
        fail(
            "`clip_grad_norm` should return a pair (clipped, total_norm): a list of arrays and a float.",
            hint="End with `return clipped, total_norm`.",
        )
    clipped, total = out
    if len(clipped) != n:
        fail(f"`clip_grad_norm` returned {len(clipped)} arrays for {n} gradients.", hint="One array per gradient.")
    if isinstance(total, bool) or not isinstance(total, int | float | np.floating | np.integer):
        fail(
            f"`total_norm` should be a float, but it is a {type(total).__name__}.",
            hint="Return the norm as float(...).",
        )
    return list(clipped), float(total)


@pytest.mark.points(2)
def test_clip_grad_norm_matches_torch(sub: Any, rng: np.random.Generator, device: str) -> None:
    grads = [rng.normal(size=(4, 6)), rng.normal(scale=3.0, size=(6,)), rng.normal(size=(2, 3, 2))]
    global_norm = float(np.sqrt(sum((g**2).sum() for g in grads)))
    max_norm = 0.3 * global_norm
    expected, expected_total = _clip_reference(grads, max_norm, device)
    clipped, total = _clip_result(sub.clip_grad_norm(grads, max_norm), len(grads))
    if not np.isclose(total, expected_total, rtol=1e-10):
        per_array = [float(np.linalg.norm(g)) for g in grads]
        hint = (
            "total_norm is the norm before clipping, over every entry of every array together: "
            "sqrt(sum of sum(g**2) over all arrays)."
        )
        if any(np.isclose(total, v, rtol=1e-10) for v in per_array) or np.isclose(total, sum(per_array)):
            hint = "That is not the global norm. " + hint
        fail(f"`total_norm` is {total:.10g}, torch gives {expected_total:.10g}.", hint=hint)
    hint = (
        "Scale every array by the same coef = max_norm / (total_norm + 1e-6) when coef < 1: clip by the global "
        "norm, so that the direction of the whole gradient is kept."
    )
    if all(_close(c, np.clip(g, -max_norm, max_norm)) for c, g in zip(clipped, grads, strict=True)):
        hint = "You clipped each entry separately (clipping per element). " + hint
    elif all(
        _close(c, g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6))) for c, g in zip(clipped, grads, strict=True)
    ):
        hint = "You clipped each array by its own norm; use one global norm over all arrays. " + hint
    for i, (c, e) in enumerate(zip(clipped, expected, strict=True)):
        _check(c, e, f"clipped[{i}] (global norm {global_norm:.4g}, max_norm {max_norm:.4g})", hint, tol=1e-10)

    # one big entry among small ones: per-element clipping changes only it, the global norm scales all
    grads = [np.full((3, 3), 0.01), np.array([5.0, -0.02])]
    expected, _ = _clip_reference(grads, 1.0, device)
    clipped, _ = _clip_result(sub.clip_grad_norm(grads, 1.0), 2)
    for i, (c, e) in enumerate(zip(clipped, expected, strict=True)):
        _check(c, e, f"clipped[{i}] (one large entry of 5.0, max_norm 1.0)", hint, tol=1e-10)


@pytest.mark.public
@pytest.mark.points(1)
def test_clip_grad_norm_below_the_limit_and_inputs_untouched(sub: Any, rng: np.random.Generator) -> None:
    grads = [rng.normal(size=(3, 2)), rng.normal(size=(5,))]
    norm = float(np.sqrt(sum((g**2).sum() for g in grads)))
    clipped, total = _clip_result(sub.clip_grad_norm(grads, 2 * norm), 2)
    if not np.isclose(total, norm, rtol=1e-10):
        fail(f"`total_norm` is {total:.10g}, expected {norm:.10g}.", hint="sqrt(sum of sum(g**2) over all arrays).")
    for i, (c, g) in enumerate(zip(clipped, grads, strict=True)):
        _check(c, g, f"clipped[{i}] with max_norm = twice the global norm", "Below max_norm nothing changes.")

    probe = sub.eval(_CLIP_PROBE)
    before, after, _ = probe(sub.clip_grad_norm, grads, 0.1 * norm)
    for i, (b, a) in enumerate(zip(before, after, strict=True)):
        if not np.array_equal(a, b):
            fail(
                f"`clip_grad_norm` modified grads[{i}] in place.",
                hint="Return new arrays (g * coef) and leave the caller's gradients as they were; torch's "
                "clip_grad_norm_ (with the underscore) works in place, this function does not.",
            )
