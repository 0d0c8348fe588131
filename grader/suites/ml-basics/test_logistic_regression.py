"""Hidden suite for ml-basics/logistic_regression: stable sigmoid, cross-entropy, gradient, GD, sklearn."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.metrics import log_loss

from grader.helpers import assert_close, assert_equal, expect_raises, fail, grad_check

# Runs in the learner's kernel: calls f(*args) with NumPy overflow, invalid and divide warnings on
# and recorded, and returns (value, list of warning texts).
_WARN_PROBE_SRC = """
def probe(f, *args):
    import warnings
    import numpy as np
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):
            value = f(*args)
    return value, [f"{w.category.__name__}: {w.message}" for w in caught]
"""
_WARN_PROBE = f"(lambda ns: (exec({_WARN_PROBE_SRC!r}, ns), ns['probe'])[1])({{}})"

# Runs in the learner's kernel: fits copies of X and y and reports them before and after, plus
# whether fit returned the estimator itself.
_FIT_PROBE = """
lambda model, X, y: (lambda X, y: (lambda X_before, y_before, fitted: (
    X_before, y_before, X, y, fitted is model
))(X.copy(), y.copy(), model.fit(X, y)))(X.copy(), y.copy())
""".strip()

_STABLE = (
    "Never take exp of a large positive number: use e = exp(-|z|), then 1 / (1 + e) where z >= 0 and "
    "e / (1 + e) where z < 0 (np.where picks per element)."
)
_CLIP = "Clip p to [eps, 1 - eps] with np.clip(p, eps, 1 - eps) before taking logs, so log never sees 0."
_GRADIENT = (
    "With p = sigmoid(X @ w + b): grad_w = X.T @ (p - y) / n_samples + 2 * alpha * w and grad_b = mean(p - y); "
    "the loss is the mean cross-entropy plus alpha * ||w||^2 (the intercept is not penalised)."
)
_GD = (
    "Start from w = 0, b = 0.0 and repeat n_iters times: take both gradients at the current (w, b), then "
    "w -= learning_rate * grad_w and b -= learning_rate * grad_b. Use the raw X and labels 0 and 1."
)


# ---------------------------------------------------------------- references (grader side)


def _ref_loss(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray, alpha: float) -> float:
    p = np.clip(expit(X @ w + b), 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + alpha * w @ w)


def _ref_grad(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    r = expit(X @ w + b) - y
    return X.T @ r / len(y) + 2 * alpha * w, float(r.mean())


def _ref_gd(X: np.ndarray, y: np.ndarray, lr: float, n_iters: int, alpha: float) -> tuple[np.ndarray, float]:
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(n_iters):
        gw, gb = _ref_grad(w, b, X, y, alpha)
        w, b = w - lr * gw, b - lr * gb
    return w, b


def _data(rng: np.random.Generator, n: int, p: int, noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping classes (never separable), standardised-scale features, a non-zero intercept."""
    X = rng.normal(size=(n, p))
    y = (X @ rng.uniform(-2, 2, size=p) + 0.7 + noise * rng.logistic(size=n) > 0).astype(np.int64)
    return X, y


def _sklearn(X: np.ndarray, y: np.ndarray, alpha: float) -> SkLogisticRegression:
    C = np.inf if alpha == 0 else 1.0 / (2.0 * alpha * len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SkLogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)


# ---------------------------------------------------------------- reading the learner's model


def _fitted(model: Any, n_features: int) -> tuple[np.ndarray, float]:
    __tracebackhide__ = True
    coef, intercept = model.coef_, model.intercept_
    if not isinstance(coef, np.ndarray) or coef.shape != (n_features,):
        got = f"shape {coef.shape}" if isinstance(coef, np.ndarray) else f"a {type(coef).__name__}"
        fail(
            f"`coef_` should be an ndarray of shape ({n_features},), got {got}.",
            hint="coef_ is 1-D, one weight per feature (not scikit-learn's (1, n_features)).",
        )
    if isinstance(intercept, np.ndarray) and intercept.ndim > 0:
        fail(f"`intercept_` should be a float, not an array of shape {intercept.shape}.", hint="Use float(...).")
    if isinstance(intercept, bool) or not isinstance(intercept, int | float | np.integer | np.floating):
        fail(f"`intercept_` should be a float, but it is a {type(intercept).__name__}.")
    return coef, float(intercept)


def _proba(model: Any, X: np.ndarray, what: str) -> np.ndarray:
    __tracebackhide__ = True
    proba = model.predict_proba(X)
    if not isinstance(proba, np.ndarray) or proba.shape != (len(X), 2):
        got = f"shape {proba.shape}" if isinstance(proba, np.ndarray) else f"a {type(proba).__name__}"
        fail(
            f"`predict_proba` ({what}) should return an ndarray of shape ({len(X)}, 2), got {got}.",
            hint="Stack the two columns: np.column_stack([1 - p, p]) with p = P(y = 1).",
        )
    return proba


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(2)
def test_sigmoid_is_accurate_and_never_overflows(sub: Any, rng: np.random.Generator) -> None:
    z = np.concatenate([np.linspace(-40, 40, 81), rng.normal(0, 5, size=19)]).reshape(4, 25)
    got = sub.sigmoid(z)
    if isinstance(got, np.ndarray) and got.shape == z.shape and np.isnan(got).any():
        fail("`sigmoid` returned NaN for moderate inputs (|z| <= 40).", hint=_STABLE)
    assert_close(
        got,
        expit(z),
        rtol=1e-9,
        atol=1e-300,
        name="sigmoid(z) for z in [-40, 40], shape (4, 25)",
        hint="sigmoid must keep its relative accuracy in the tails: sigmoid(-40) is about 4.25e-18, not 0, so "
        "0.5 * (1 + tanh(z / 2)) is not accurate enough. " + _STABLE,
    )
    extremes = np.array([-1000.0, -745.0, -710.0, -1.0, 0.0, 1.0, 710.0, 745.0, 1000.0])
    value, caught = sub.eval(_WARN_PROBE)(sub.sigmoid, extremes)
    value = np.asarray(value, dtype=np.float64)
    if value.shape == extremes.shape and np.isnan(value).any():
        bad = extremes[np.isnan(value)]
        fail(f"`sigmoid` returned NaN at z = {bad.tolist()}: exp(z) overflowed to inf, and inf / inf is NaN.", _STABLE)
    if caught:
        fail(f"`sigmoid` of {extremes.tolist()} emitted a warning: {caught[0]}.", hint="exp overflow. " + _STABLE)
    hint = "sigmoid(1000) must be exactly 1.0 and sigmoid(-1000) exactly 0.0: do not clip z. " + _STABLE
    assert_close(value, expit(extremes), rtol=1e-12, atol=1e-300, name="sigmoid at the extremes", hint=hint)
    assert_equal(value[[0, -1]], np.array([0.0, 1.0]), name="sigmoid([-1000.0, 1000.0])", hint=hint)


@pytest.mark.public
@pytest.mark.points(1)
def test_binary_cross_entropy_is_finite_at_0_and_1(sub: Any, rng: np.random.Generator) -> None:
    y = rng.integers(0, 2, size=30)
    y[:2] = [0, 1]
    p = rng.uniform(0.02, 0.98, size=30)
    got = sub.binary_cross_entropy(y, p)
    if isinstance(got, bool) or not isinstance(got, float | np.floating):
        fail(
            f"`binary_cross_entropy` should return a float, but it returned a {type(got).__name__}.",
            hint="Return the mean over samples as a Python float: float(-np.mean(...)).",
        )
    expected = log_loss(y, p)
    if np.isclose(got, expected * len(y), rtol=1e-9):
        fail(f"`binary_cross_entropy` is {got:.6g}, the sum over samples; expected the mean {expected:.6g}.")
    assert_close(
        got, expected, rtol=1e-9, name="binary_cross_entropy(y, p)", hint="BCE = -mean(y log p + (1-y) log(1-p))."
    )

    y_ext = np.array([1, 1, 0, 0, 1, 0])
    p_ext = np.array([0.0, 1.0, 0.0, 1.0, 0.5, 0.25])
    value, caught = sub.eval(_WARN_PROBE)(sub.binary_cross_entropy, y_ext, p_ext)
    clipped = np.clip(p_ext, 1e-15, 1 - 1e-15)
    expected = float(-np.mean(y_ext * np.log(clipped) + (1 - y_ext) * np.log(1 - clipped)))
    if not isinstance(value, float | np.floating) or not np.isfinite(value):
        fail(
            f"`binary_cross_entropy` with probabilities exactly 0 and 1 returned {value!r} ({caught[:1]}): "
            "log(0) is -inf, and 0 * log(0) is NaN.",
            hint=_CLIP,
        )
    assert_close(
        value,
        expected,
        rtol=1e-9,
        name="binary_cross_entropy with p in {0, 1}",
        hint="Clip with eps=1e-15, so a confident wrong prediction costs -log(1e-15) ~= 34.5. " + _CLIP,
    )
    with expect_raises(
        "ValueError",
        name="binary_cross_entropy(y of shape (6,), p of shape (6, 1))",
        hint="Check y.shape == p.shape: a column p broadcasts against y to a (6, 6) matrix and gives a wrong mean.",
    ):
        sub.binary_cross_entropy(y_ext, p_ext[:, None])


@pytest.mark.public
@pytest.mark.points(2)
def test_loss_and_gradient_pass_a_gradient_check(sub: Any, rng: np.random.Generator) -> None:
    X, y = _data(rng, 40, 4)
    for alpha in (0.0, 0.3):
        w, b = rng.normal(0, 0.7, size=4), 0.8
        got = sub.loss_and_gradient(w, b, X, y, alpha)
        if not isinstance(got, tuple | list) or len(got) != 3:
            fail("`loss_and_gradient` should return a tuple (loss, grad_w, grad_b).")
        loss, grad_w, grad_b = got
        what = f"alpha={alpha}, b={b}"
        ref_w, ref_b = _ref_grad(w, b, X, y, alpha)
        if alpha > 0 and np.isclose(grad_b, ref_b + 2 * alpha * b, rtol=1e-9, atol=1e-12):
            fail(
                f"`grad_b` ({what}) is {grad_b:.6g}: it includes 2 * alpha * b, so your model penalises the intercept.",
                hint="The penalty alpha * ||w||^2 covers the weights only, never the intercept: grad_b = mean(p - y).",
            )
        assert_close(loss, _ref_loss(w, b, X, y, alpha), rtol=1e-9, name=f"loss ({what})", hint=_GRADIENT)

        def loss_of(v: np.ndarray, a: float = alpha) -> float:
            return _ref_loss(v[:-1], float(v[-1]), X, y, a)

        numeric = grad_check(loss_of, np.append(w, b))
        if not (isinstance(grad_w, np.ndarray) and grad_w.shape == (4,)):
            fail(f"`grad_w` should be an ndarray of shape (4,), got {grad_w!r}.", hint="One entry per weight.")
        assert_close(
            np.append(grad_w, float(grad_b)),
            numeric,
            rtol=1e-5,
            atol=1e-8,
            name=f"[grad_w, grad_b] against centred finite differences ({what})",
            hint=_GRADIENT,
        )
        assert_close(grad_w, ref_w, rtol=1e-9, atol=1e-12, name=f"grad_w ({what})", hint=_GRADIENT)
        assert_close(grad_b, ref_b, rtol=1e-9, atol=1e-12, name=f"grad_b ({what})", hint=_GRADIENT)


@pytest.mark.points(1)
def test_gradient_descent_follows_the_pinned_update(sub: Any, rng: np.random.Generator) -> None:
    X, y = _data(rng, 30, 3)
    for n_iters, alpha, lr in ((1, 0.0, 0.5), (6, 0.2, 0.3)):
        model = sub.LogisticRegression(learning_rate=lr, n_iters=n_iters, alpha=alpha).fit(X, y)
        coef, intercept = _fitted(model, 3)
        what = f"n_iters={n_iters}, alpha={alpha}, learning_rate={lr}"
        exp_w, exp_b = _ref_gd(X, y, lr, n_iters, alpha)
        pm_w, pm_b = _ref_gd(X, 2 * y - 1, lr, n_iters, alpha)
        if np.allclose(coef, pm_w, rtol=1e-9) and np.isclose(intercept, pm_b, rtol=1e-9):
            fail(
                f"After fit ({what}) your weights are those of GD with labels -1/+1.",
                hint="Labels are 0 and 1: the gradient X.T @ (p - y) / n compares a probability with y in {0, 1}. "
                "Do not convert y to -1/+1.",
            )
        if alpha > 0:  # the same GD with 2 * alpha * b added to grad_b
            pen_b = 0.0
            w = np.zeros(3)
            for _ in range(n_iters):
                gw, gb = _ref_grad(w, pen_b, X, y, alpha)
                w, pen_b = w - lr * gw, pen_b - lr * (gb + 2 * alpha * pen_b)
            if np.isclose(intercept, pen_b, rtol=1e-9) and not np.isclose(intercept, exp_b, rtol=1e-9):
                fail(
                    f"After fit ({what}) your intercept_ is that of GD with a penalised intercept.",
                    hint="alpha penalises coef_ only: grad_b = mean(p - y), with no 2 * alpha * b term.",
                )
        if not (np.allclose(coef, exp_w, rtol=1e-9, atol=1e-12) and np.isclose(intercept, exp_b, rtol=1e-9)):
            _gradient_follows(sub, X, y, alpha, f"After fit ({what}) your weights are not those of the pinned GD")
        assert_close(coef, exp_w, rtol=1e-9, atol=1e-12, name=f"coef_ ({what})", hint=_GD)
        assert_close(intercept, exp_b, rtol=1e-9, atol=1e-12, name=f"intercept_ ({what})", hint=_GD)


def _gradient_follows(sub: Any, X: np.ndarray, y: np.ndarray, alpha: float, what: str) -> None:
    """`what` is wrong: if loss_and_gradient is already wrong on this data, say that it follows from it."""
    __tracebackhide__ = True
    w, b = np.linspace(-0.5, 0.5, X.shape[1]), 0.5
    got = sub.loss_and_gradient(w, b, X, y, alpha)
    ref_w, ref_b = _ref_grad(w, b, X, y, alpha)
    if (
        not isinstance(got, tuple | list)
        or len(got) != 3
        or not np.allclose(np.asarray(got[1], dtype=float), ref_w, rtol=1e-9, atol=1e-12)
        or not np.isclose(float(got[2]), ref_b, rtol=1e-9, atol=1e-12)
    ):
        fail(f"{what}; this follows from `loss_and_gradient`, whose gradient is wrong (see its test above).")


def _gd_follows(sub: Any, X: np.ndarray, y: np.ndarray, alpha: float, lr: float, what: str) -> None:
    """`what` is wrong: if a few steps of fit already leave the pinned GD, say that it follows from that."""
    __tracebackhide__ = True
    coef, intercept = _fitted(sub.LogisticRegression(learning_rate=lr, n_iters=3, alpha=alpha).fit(X, y), X.shape[1])
    exp_w, exp_b = _ref_gd(X, y, lr, 3, alpha)
    if not (np.allclose(coef, exp_w, rtol=1e-9, atol=1e-12) and np.isclose(intercept, exp_b, rtol=1e-9, atol=1e-12)):
        fail(f"{what}; this follows from `fit`, which does not follow the pinned GD update (see the test above).")


@pytest.mark.public
@pytest.mark.points(2)
def test_probabilities_match_sklearn(sub: Any, rng: np.random.Generator) -> None:
    for alpha, n in ((0.02, 200), (0.0, 150)):
        X, y = _data(rng, n, 3)
        reference = _sklearn(X, y, alpha)
        model = sub.LogisticRegression(learning_rate=1.0, n_iters=1000, alpha=alpha).fit(X, y)
        coef, intercept = _fitted(model, 3)
        if not (np.isfinite(coef).all() and np.isfinite(intercept)):
            fail(f"With alpha={alpha}, coef_ or intercept_ is NaN or inf after fit.", hint=_GD)
        X_new = rng.normal(size=(50, 3))
        proba = _proba(model, X_new, f"alpha={alpha}")
        sk = reference.predict_proba(X_new)
        if np.allclose(proba[:, ::-1], sk, atol=1e-3) and not np.allclose(proba, sk, atol=1e-3):
            fail(
                "Your predict_proba has its two columns swapped.",
                hint="Column 0 is P(y = 0) = 1 - p and column 1 is P(y = 1) = p, in the order of the labels.",
            )
        if not np.allclose(proba, sk, rtol=0, atol=1e-3):
            _gd_follows(sub, X, y, alpha, 1.0, f"predict_proba with alpha={alpha} differs from sklearn's")
        penalty = "C=np.inf (no penalty)" if alpha == 0 else f"C=1/(2 * alpha * n_samples) = {1 / (2 * alpha * n):.4g}"
        assert_close(
            proba,
            sk,
            rtol=0,
            atol=1e-3,
            name=f"predict_proba with alpha={alpha}, against sklearn's LogisticRegression({penalty})",
            hint="After 1000 steps GD should be at the minimiser of mean BCE + alpha * ||w||^2 (intercept not "
            "penalised), which is sklearn's with C = 1 / (2 * alpha * n_samples). " + _GRADIENT,
        )
        assert_close(proba.sum(axis=1), np.ones(len(X_new)), rtol=0, atol=1e-12, name="row sums of predict_proba")


@pytest.mark.points(1)
def test_fit_returns_self_and_predict_gives_0_1_labels(sub: Any, rng: np.random.Generator) -> None:
    X, y = _data(rng, 40, 2)
    model = sub.LogisticRegression(n_iters=200)
    X_before, y_before, X_after, y_after, is_self = sub.eval(_FIT_PROBE)(model, X, y)
    if not is_self:
        fail("`fit` did not return the estimator itself.", hint="End fit with `return self`.")
    hint = "Never modify the caller's arrays in fit: work on converted copies."
    assert_equal(X_after, X_before, name="X after fit", hint=hint)
    assert_equal(y_after, y_before, name="y after fit", hint=hint)
    coef, intercept = _fitted(model, 2)
    X_new = rng.normal(0, 2, size=(60, 2))
    scores = X_new @ coef + intercept
    assert_close(
        model.decision_function(X_new),
        scores,
        rtol=1e-9,
        atol=1e-12,
        name="decision_function(X)",
        hint="decision_function(X) is X @ coef_ + intercept_.",
    )
    pred = model.predict(X_new)
    if not isinstance(pred, np.ndarray) or pred.shape != (60,):
        fail(f"`predict` should return an ndarray of shape (60,), got {pred!r}.")
    if set(np.unique(pred).tolist()) - {0, 1}:
        fail(
            f"`predict` returned the labels {sorted(set(np.unique(pred).tolist()))}: labels are 0 and 1.",
            hint="predict returns 1 where X @ coef_ + intercept_ > 0, else 0 (not -1).",
        )
    if pred.dtype != np.int64:
        fail(f"`predict` returned dtype {pred.dtype}, expected int64.", hint="Use (scores > 0).astype(np.int64).")
    assert_equal(
        pred,
        (scores > 0).astype(np.int64),
        name="predict(X)",
        hint="1 where X @ coef_ + intercept_ > 0 (P(y = 1) > 0.5), else 0.",
    )
    # n_iters=0 leaves w = 0, b = 0: every score is exactly 0, every probability 0.5, every label 0
    untrained = sub.LogisticRegression(n_iters=0).fit(X, y)
    assert_close(_proba(untrained, X_new[:5], "n_iters=0"), np.full((5, 2), 0.5), name="predict_proba with n_iters=0")
    assert_equal(
        untrained.predict(X_new[:5]),
        np.zeros(5, dtype=np.int64),
        name="predict with n_iters=0 (every score exactly 0)",
        hint="A score of exactly 0 is class 0: predict 1 only where the score is > 0 (strictly).",
    )


@pytest.mark.points(1)
def test_input_validation(sub: Any, rng: np.random.Generator) -> None:
    X, y = _data(rng, 20, 2)
    sub.LogisticRegression(n_iters=5).fit(X, y)
    with expect_raises(
        "RuntimeError",
        name="predict before fit",
        hint="Check for coef_ and raise RuntimeError if fit has not run yet.",
    ):
        sub.LogisticRegression().predict(X)
    with expect_raises("RuntimeError", name="predict_proba before fit", hint="Raise RuntimeError before fit."):
        sub.LogisticRegression().predict_proba(X)
    with expect_raises(
        "ValueError",
        name="fit with labels -1 and +1",
        hint="Labels must be 0 and 1: raise ValueError for any other value.",
    ):
        sub.LogisticRegression(n_iters=5).fit(X, 2 * y - 1)
    with expect_raises("ValueError", name="fit with a 1-D X", hint="X must be 2-D: raise ValueError when X.ndim != 2."):
        sub.LogisticRegression(n_iters=5).fit(X[:, 0], y)
