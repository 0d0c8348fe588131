"""Hidden suite for deep-learning/mlp_numpy: `TwoLayerNet` (affine - ReLU - affine - softmax), backprop by hand.

The suite sets the parameters itself (``net.params.update(...)`` in the kernel), then compares
scores, loss and gradients with the same network in torch float64 (autograd), and runs a
centred-difference gradient check (h = 1e-5) of the learner's own loss on every parameter.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.helpers import fail, grad_check, relative_error

KEYS = ("W1", "b1", "W2", "b2")
TOL = 1e-9  # learner's analytic values against torch's
GRAD_CHECK_TOL = 1e-7  # learner's analytic gradient against centred differences of the learner's loss

_SET_PARAMS = "lambda net, params: net.params.update(params)"
_GET_PARAMS = "lambda net: {k: net.params[k].copy() for k in ('W1', 'b1', 'W2', 'b2')}"

# Sets one parameter and returns the loss: one call per function evaluation of the gradient check.
_LOSS_AT = """
def probe(net, key, value, X, y, reg):
    net.params[key] = value
    return float(net.loss(X, y, reg)[0])
"""

_FORWARD = "scores = relu(X @ W1 + b1) @ W2 + b2"
_LOSS = (
    "loss = mean over the N samples of the softmax cross-entropy (subtract each row's max before exp) "
    "+ 0.5 * reg * (sum(W1**2) + sum(W2**2)); the biases are not regularised."
)


def _probe(sub: Any, source: str) -> Any:
    """A function defined by ``source`` (it must define ``probe``), built inside the learner's kernel."""
    return sub.eval(f"(lambda ns: (exec({source!r}, ns), ns['probe'])[1])({{}})")


def _problem(
    rng: np.random.Generator, n: int = 7, d: int = 4, h: int = 6, c: int = 3
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Data and parameters with every hidden pre-activation away from ReLU's kink."""
    while True:
        X = rng.normal(size=(n, d))
        params = {
            "W1": rng.normal(scale=0.7, size=(d, h)),
            "b1": rng.normal(scale=0.3, size=h),
            "W2": rng.normal(scale=0.7, size=(h, c)),
            "b2": rng.normal(scale=0.3, size=c),
        }
        if np.abs(X @ params["W1"] + params["b1"]).min() > 0.05:
            return X, rng.integers(0, c, size=n), params


def _reference(
    X: np.ndarray, y: np.ndarray | None, params: dict[str, np.ndarray], reg: float
) -> tuple[np.ndarray, float, dict[str, np.ndarray]]:
    """Scores, loss and gradients from torch float64 autograd."""
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    scores = torch.relu(torch.from_numpy(X) @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    if y is None:
        return scores.detach().numpy(), float("nan"), {}
    loss = F.cross_entropy(scores, torch.from_numpy(y)) + 0.5 * reg * ((p["W1"] ** 2).sum() + (p["W2"] ** 2).sum())
    loss.backward()
    return scores.detach().numpy(), loss.item(), {k: v.grad.numpy() for k, v in p.items() if v.grad is not None}


def _net(sub: Any, X: np.ndarray, params: dict[str, np.ndarray]) -> Any:
    d, h = params["W1"].shape
    net = sub.TwoLayerNet(d, h, params["W2"].shape[1])
    sub.eval(_SET_PARAMS)(net, params)
    return net


def _loss_and_grads(net: Any, X: np.ndarray, y: np.ndarray, reg: float) -> tuple[float, dict[str, np.ndarray]]:
    __tracebackhide__ = True
    out = net.loss(X, y, reg)
    if not isinstance(out, tuple | list) or len(out) != 2:
        fail("`loss(X, y, reg)` should return a pair (loss, grads).", hint="return loss, grads")
    loss, grads = out
    if isinstance(loss, bool) or not isinstance(loss, float | int | np.floating):
        shape = f" of shape {loss.shape}" if isinstance(loss, np.ndarray) else ""
        fail(
            f"The loss should be a float, but it is a {type(loss).__name__}{shape}.",
            hint="Return the loss as a Python float: float(...).",
        )
    if not isinstance(grads, dict) or set(grads) != set(KEYS):
        got = sorted(map(str, grads)) if isinstance(grads, dict) else type(grads).__name__
        fail(f"grads should be a dict with keys {list(KEYS)}, got {got}.", hint="One gradient per parameter.")
    return float(loss), grads


def _check_grads(
    grads: dict[str, Any],
    expected: dict[str, np.ndarray],
    params: dict[str, np.ndarray],
    n: int,
    reg: float,
    what: str,
    tol: float,
) -> None:
    """Compare gradients, naming the likely mistake for each parameter."""
    __tracebackhide__ = True
    for key in KEYS:
        got, exp = grads[key], expected[key]
        if not isinstance(got, np.ndarray):
            fail(f"grads[{key!r}] is a {type(got).__name__}, expected an ndarray of shape {exp.shape}.")
        if got.shape != exp.shape:
            hint = f"grads[{key!r}] must have the shape of params[{key!r}]."
            if key.startswith("b") and got.shape[:1] == (n,):
                hint = f"Sum the upstream gradient over the batch axis: grads[{key!r}] = d_out.sum(axis=0)."
            fail(f"grads[{key!r}] has shape {got.shape}, expected {exp.shape}.", hint=hint)
    bad = {k: relative_error(grads[k], expected[k]) for k in KEYS}
    bad = {k: e for k, e in bad.items() if e > tol}
    if not bad:
        return
    key = next(iter(bad))
    got, exp = np.asarray(grads[key], dtype=np.float64), expected[key]
    msg = f"{what}: grads[{key!r}] is off (relative error {bad[key]:.3g} > {tol:g})."
    if key.startswith("W") and reg and relative_error(got, exp - reg * params[key]) < tol:
        hint = f"The regularisation is missing from the gradient: add reg * {key} to grads[{key!r}]."
    elif key.startswith("b") and relative_error(got * n, exp) < tol:
        hint = (
            f"grads[{key!r}] is N times too small: sum the upstream gradient over the batch (it already carries "
            "the 1/N of the mean), do not average it again."
        )
    elif set(bad) <= {"W1", "b1"}:
        hint = (
            "grads for W2 and b2 are right but W1/b1 are not: check the ReLU backward. Multiply dh by the 0/1 mask "
            "(z1 > 0) of the pre-activation z1 = X @ W1 + b1, not by the ReLU output h itself."
        )
    else:
        hint = (
            "Backprop: dscores = (softmax(scores) - onehot(y)) / N; dW2 = h.T @ dscores + reg * W2; "
            "db2 = dscores.sum(axis=0); dh = dscores @ W2.T; dz1 = dh * (z1 > 0); dW1 = X.T @ dz1 + reg * W1; "
            "db1 = dz1.sum(axis=0)."
        )
    fail(msg, hint=hint)


def _consequence(
    net: Any, X: np.ndarray, y: np.ndarray | None, params: dict[str, np.ndarray], reg: float, grads: bool = True
) -> str:
    """Empty if the learner's scores, loss and gradients on this problem are right; else which is wrong."""
    expected_scores, expected_loss, expected_grads = _reference(X, y, params, reg)
    scores = net.loss(X)
    if not isinstance(scores, np.ndarray) or scores.shape != expected_scores.shape:
        return "the scores of `loss(X)` (see test_scores_match_torch above)"
    if relative_error(scores, expected_scores) > TOL:
        return "the scores of `loss(X)` (see test_scores_match_torch above)"
    if y is None:
        return ""
    out = net.loss(X, y, reg)
    if not isinstance(out, tuple | list) or len(out) != 2 or not isinstance(out[1], dict):
        return "what `loss(X, y, reg)` returns (see test_loss_matches_torch above)"
    loss, grads = out
    if isinstance(loss, bool) or not isinstance(loss, float | int | np.floating):
        return "the loss (see test_loss_matches_torch above)"
    if relative_error(float(loss), expected_loss) > TOL:
        return "the loss (see test_loss_matches_torch above)"
    if not grads:
        return ""
    for key in KEYS:
        got = grads.get(key)
        if not isinstance(got, np.ndarray) or got.shape != expected_grads[key].shape:
            return "the gradients (see test_gradients_match_torch_autograd above)"
        if relative_error(got, expected_grads[key]) > TOL:
            return "the gradients (see test_gradients_match_torch_autograd above)"
    return ""


@pytest.mark.public
@pytest.mark.points(1)
def test_initial_parameters(sub: Any) -> None:
    net = sub.TwoLayerNet(6, 50, 4, weight_scale=0.1, seed=3)
    params = net.params
    if not isinstance(params, dict) or set(params) != set(KEYS):
        got = sorted(map(str, params)) if isinstance(params, dict) else type(params).__name__
        fail(f"`params` should be a dict with keys {list(KEYS)}, got {got}.")
    shapes = {"W1": (6, 50), "b1": (50,), "W2": (50, 4), "b2": (4,)}
    for key, shape in shapes.items():
        value = params[key]
        if not isinstance(value, np.ndarray) or value.shape != shape or value.dtype != np.float64:
            what = f"shape {value.shape}, dtype {value.dtype}" if isinstance(value, np.ndarray) else type(value)
            fail(f"params[{key!r}] should be a float64 array of shape {shape}, got {what}.")
    for key in ("b1", "b2"):
        if np.any(params[key] != 0):
            fail(f"params[{key!r}] should start at zero.", hint="Initialise the biases with np.zeros.")
    for key in ("W1", "W2"):
        std = float(params[key].std())
        if not 0.08 < std < 0.12 or abs(float(params[key].mean())) > 0.03:
            fail(
                f"params[{key!r}] with weight_scale=0.1 has mean {params[key].mean():.3g} and standard deviation "
                f"{std:.3g}; expected about 0 and 0.1.",
                hint="W = weight_scale * rng.standard_normal(shape), with rng = np.random.default_rng(seed).",
            )
    again = sub.TwoLayerNet(6, 50, 4, weight_scale=0.1, seed=3).params
    other = sub.TwoLayerNet(6, 50, 4, weight_scale=0.1, seed=4).params
    hint = "Draw the weights from rng = np.random.default_rng(seed), created in __init__."
    if not all(np.array_equal(again[k], params[k]) for k in KEYS):
        fail("Two networks built with seed=3 have different weights.", hint=hint)
    if np.array_equal(other["W1"], params["W1"]):
        fail("Networks built with seed=3 and seed=4 have the same W1.", hint=hint)
    replay = np.random.default_rng(3)
    expected_w1 = 0.1 * replay.standard_normal((6, 50))
    expected_w2 = 0.1 * replay.standard_normal((50, 4))
    for key, want in (("W1", expected_w1), ("W2", expected_w2)):
        if not np.allclose(params[key], want, rtol=1e-12, atol=0):
            fail(
                f"params[{key!r}] with seed=3 is not the draw the docstring pins.",
                hint="With rng = np.random.default_rng(seed), draw W1 = weight_scale * rng.standard_normal((D, H)) "
                "first, then W2 = weight_scale * rng.standard_normal((H, C)).",
            )


@pytest.mark.points(1)
def test_scores_match_torch(sub: Any, rng: np.random.Generator) -> None:
    X, _, params = _problem(rng, n=9, d=5, h=8, c=4)
    got = _net(sub, X, params).loss(X)
    expected = _reference(X, None, params, 0.0)[0]
    if not isinstance(got, np.ndarray) or got.shape != expected.shape:
        what = f"shape {got.shape}" if isinstance(got, np.ndarray) else f"a {type(got).__name__}"
        fail(f"`loss(X)` without y should return the scores, shape {expected.shape}; got {what}.", hint=_FORWARD)
    err = relative_error(got, expected)
    if err > TOL:
        d, h = params["W1"].shape
        c = params["W2"].shape[1]
        init = np.random.default_rng(0)
        first = {"W1": 1e-3 * init.standard_normal((d, h)), "b1": np.zeros(h)}
        first |= {"W2": 1e-3 * init.standard_normal((h, c)), "b2": np.zeros(c)}
        if relative_error(got, _reference(X, None, first, 0.0)[0]) < 1e-6:
            fail(
                "`loss(X)` computed the scores with the network's initial weights, not with the parameters that "
                "were put into `net.params` afterwards.",
                hint="Read W1, b1, W2, b2 from self.params each time loss runs: a caller may replace them.",
            )
        fail(f"`loss(X)` scores differ from torch (float64): relative error {err:.3g}.", hint=_FORWARD)


@pytest.mark.points(2)
def test_loss_matches_torch(sub: Any, rng: np.random.Generator) -> None:
    X, y, params = _problem(rng)
    net = _net(sub, X, params)
    if premise := _consequence(net, X, None, params, 0.0):
        fail(f"The loss cannot be right: this follows from {premise}.")
    for reg in (0.0, 0.3):
        loss, _ = _loss_and_grads(net, X, y, reg)
        expected = _reference(X, y, params, reg)[1]
        if reg and abs(loss - expected) > 1e-9:
            no_half = expected + 0.5 * reg * sum(float((params[k] ** 2).sum()) for k in ("W1", "W2"))
            if abs(loss - no_half) < 1e-9:
                fail(
                    f"With reg={reg} the loss is {loss:.10g}, expected {expected:.10g}: your penalty is twice too big.",
                    hint="The penalty is 0.5 * reg * (sum(W1**2) + sum(W2**2)).",
                )
        err = relative_error(loss, expected)
        if err > TOL:
            fail(f"With reg={reg}, `loss` returned {loss:.10g}, torch gives {expected:.10g}.", hint=_LOSS)
    # large scores: the softmax must be shifted
    big = {k: v * (40.0 if k.startswith("W") else 1.0) for k, v in params.items()}
    sub.eval(_SET_PARAMS)(net, big)
    loss, _ = _loss_and_grads(net, X, y, 0.0)
    expected = _reference(X, y, big, 0.0)[1]
    if not np.isfinite(loss) or relative_error(loss, expected) > TOL:
        fail(
            f"With large scores (around 1e3) the loss is {loss}, expected {expected:.10g}.",
            hint="Subtract each row's maximum score before exponentiating.",
        )


@pytest.mark.points(2)
def test_gradients_match_torch_autograd(sub: Any, rng: np.random.Generator) -> None:
    X, y, params = _problem(rng)
    net = _net(sub, X, params)
    for reg in (0.0, 0.7):
        loss, grads = _loss_and_grads(net, X, y, reg)
        _, expected_loss, expected = _reference(X, y, params, reg)
        grads_off = any(
            not isinstance(grads[k], np.ndarray)
            or grads[k].shape != expected[k].shape
            or relative_error(grads[k], expected[k]) > TOL
            for k in KEYS
        )
        if grads_off and relative_error(loss, expected_loss) > TOL:
            fail(
                f"With reg={reg} the gradients are off, and so is the loss: this follows from the loss problem "
                "reported by test_loss_matches_torch above; fix that first."
            )
        _check_grads(grads, expected, params, len(X), reg, f"With reg={reg}, against torch autograd", TOL)
    after = sub.eval(_GET_PARAMS)(net)
    if not all(np.array_equal(after[k], params[k]) for k in KEYS):
        fail("`loss` changed the parameters.", hint="loss only computes; train_step updates the parameters.")
    # ReLU's derivative at exactly 0 is 0: a zero input row and zero biases put z1 on the kink.
    kink = {k: v.copy() for k, v in params.items()}
    kink["b1"][:3] = 0.0
    Xk = X.copy()
    Xk[0] = 0.0
    sub.eval(_SET_PARAMS)(net, kink)
    loss, grads = _loss_and_grads(net, Xk, y, 0.0)
    if relative_error(loss, _reference(Xk, y, kink, 0.0)[1]) > TOL:
        fail(
            "With z1 == 0 exactly the gradients cannot be checked: this follows from the loss problem reported by "
            "test_loss_matches_torch above."
        )
    _check_grads(grads, _reference(Xk, y, kink, 0.0)[2], kink, len(X), 0.0, "With z1 == 0 exactly (ReLU's kink)", TOL)


@pytest.mark.points(2)
def test_numerical_gradient_check_on_every_parameter(sub: Any) -> None:
    # A fixed problem (no kinks near the points probed, no vanishing entries): the check of a correct
    # network stays ~100x below the tolerance.
    X, y, params = _problem(np.random.default_rng(4))
    net = _net(sub, X, params)
    loss_at = _probe(sub, _LOSS_AT)
    reg = 0.7
    if premise := _consequence(net, X, y, params, reg, grads=False):
        fail(f"The gradient check of your own loss cannot be trusted: this follows from {premise}.")
    after = sub.eval(_GET_PARAMS)(net)
    if not all(np.array_equal(after[k], params[k]) for k in KEYS):
        fail(
            "The gradient check of your own loss cannot be trusted: loss changes the parameters, as reported by "
            "test_gradients_match_torch_autograd above."
        )
    _, grads = _loss_and_grads(net, X, y, reg)
    numeric = {}
    for key in KEYS:
        numeric[key] = grad_check(lambda v, key=key: loss_at(net, key, v, X, y, reg), params[key])
        loss_at(net, key, params[key], X, y, reg)  # put the parameter back
    expected = _reference(X, y, params, reg)[2]
    grads_right = all(
        isinstance(grads[k], np.ndarray)
        and grads[k].shape == expected[k].shape
        and relative_error(grads[k], expected[k]) < TOL
        for k in KEYS
    )
    if grads_right and any(relative_error(grads[k], numeric[k]) > GRAD_CHECK_TOL for k in KEYS):
        fail(
            "Your gradients match torch's, but not the centred differences of your own loss: this follows from "
            "the loss problem reported by test_loss_matches_torch above."
        )
    _check_grads(
        grads,
        numeric,
        params,
        len(X),
        reg,
        f"Gradient check (centred differences of your own loss, h=1e-5) with reg={reg}",
        GRAD_CHECK_TOL,
    )


@pytest.mark.points(2)
def test_train_step_updates_and_learns(sub: Any, rng: np.random.Generator) -> None:
    X, y, params = _problem(rng)
    lr, reg = 0.3, 0.05
    premise = _consequence(_net(sub, X, params), X, y, params, reg)
    if premise:
        fail(f"`train_step` cannot be checked: this follows from {premise}.")
    net = _net(sub, X, params)
    loss = net.train_step(X, y, lr, reg)
    _, expected_loss, expected_grads = _reference(X, y, params, reg)
    if isinstance(loss, bool) or not isinstance(loss, float | int | np.floating):
        fail(f"`train_step` should return the loss (a float), but it returned a {type(loss).__name__}.")
    if relative_error(loss, expected_loss) > TOL:
        fail(
            f"`train_step` returned {loss:.10g}, expected the loss before the update, {expected_loss:.10g}.",
            hint="Return the loss before the update: compute loss, grads = self.loss(X, y, reg), update, then return "
            "that loss.",
        )
    after = sub.eval(_GET_PARAMS)(net)
    for key in KEYS:
        expected = params[key] - lr * expected_grads[key]
        err = relative_error(after[key], expected)
        if err > TOL:
            if np.allclose(after[key], params[key] + lr * expected_grads[key], rtol=1e-9, atol=1e-12):
                hint = "Step against the gradient: params[k] = params[k] - learning_rate * grads[k]."
            else:
                hint = "Update every parameter once: params[k] = params[k] - learning_rate * grads[k]."
            fail(f"After one train_step, params[{key!r}] is off (relative error {err:.3g}).", hint=hint)
    # a few hundred steps fit a small, separable problem
    data = np.random.default_rng(0)
    Xs = np.vstack([data.normal(loc=m, scale=0.5, size=(20, 2)) for m in ((0, 3), (3, 0), (-3, -3))])
    ys = np.repeat(np.arange(3), 20)
    net = sub.TwoLayerNet(2, 16, 3, weight_scale=0.5, seed=0)
    losses = sub.eval("lambda net, X, y: [net.train_step(X, y, 0.2, 1e-4) for _ in range(200)]")(net, Xs, ys)
    if not losses[-1] < 0.1 * losses[0]:
        fail(
            f"200 train_steps on three well-separated blobs took the loss only from {losses[0]:.4g} to "
            f"{losses[-1]:.4g}; expected it to fall below a tenth.",
            hint="Check the update direction and that every parameter is updated.",
        )
