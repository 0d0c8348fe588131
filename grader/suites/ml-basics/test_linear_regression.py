"""Hidden suite for ml-basics/linear_regression: `LinearRegression` (closed form, ridge, GD)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from grader.helpers import assert_close, assert_equal, expect_raises, fail

# Runs in the learner's kernel: copies X and y there (the codec may hand over read-only
# arrays), fits, and reports X and y before and after, plus whether fit returned self.
_FIT_PROBE = """
lambda model, X, y: (lambda X, y: (lambda X_before, y_before, fitted: (
    X_before, y_before, X, y, fitted is model
))(X.copy(), y.copy(), model.fit(X, y)))(X.copy(), y.copy())
""".strip()

_INTERCEPT_HINT = (
    "Did you forget the intercept? Centre X and y by their column means, solve for coef_ on the "
    "centred data, then intercept_ = mean(y) - mean(X, axis=0) @ coef_."
)
_LSTSQ_HINT = (
    "Solve the centred least-squares problem with np.linalg.lstsq(Xc, yc, rcond=None): it is stable "
    "and returns the minimum-norm coef_ when features are collinear. Inverting X.T @ X is not: that "
    "matrix is singular here."
)
_GD_UPDATE = (
    "Start from w = 0, b = 0 and repeat n_iters times: r = X @ w + b - y; "
    "grad_w = (2/n) * X.T @ r + 2 * alpha * w; grad_b = (2/n) * sum(r); then update w and b together "
    "(both gradients taken at the old point). Use the raw X: no centring or scaling inside GD."
)
_DIVERGED = (
    "your GD diverged (NaN/inf): average the gradient over samples (multiply X.T @ r by 2/n_samples); "
    "a summed gradient makes each step n_samples times too large."
)


# ---------------------------------------------------------------- references (grader side)


def _closed_form(X: np.ndarray, y: np.ndarray, alpha: float = 0.0) -> tuple[np.ndarray, float]:
    """Minimiser of mean((Xw + b - y)^2) + alpha * ||w||^2; minimum-norm w when rank-deficient."""
    x_mean, y_mean = X.mean(axis=0), y.mean()
    Xc, yc = X - x_mean, y - y_mean
    if alpha > 0:
        coef = Ridge(alpha=len(y) * alpha, fit_intercept=False, solver="svd").fit(Xc, yc).coef_
    else:
        coef = np.linalg.lstsq(Xc, yc, rcond=None)[0]
    return coef, float(y_mean - x_mean @ coef)


def _gd(X: np.ndarray, y: np.ndarray, lr: float, n_iters: int, alpha: float) -> tuple[np.ndarray, float]:
    n = len(y)
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(n_iters):
        r = X @ w + b - y
        w, b = w - lr * (2 / n * X.T @ r + 2 * alpha * w), b - lr * 2 / n * r.sum()
    return w, float(b)


def _regression_data(rng: np.random.Generator, n: int, p: int, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Features with non-zero means and a large intercept, so a missing intercept shows."""
    X = rng.normal(loc=rng.uniform(-3, 3, size=p), scale=rng.uniform(0.5, 2.0, size=p), size=(n, p))
    y = X @ rng.uniform(-2, 2, size=p) + 5.0 + noise * rng.normal(size=n)
    return X, y


# ---------------------------------------------------------------- reading the learner's model


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def _fitted(model: Any, n_features: int) -> tuple[np.ndarray, float]:
    """Read coef_ and intercept_, checking their types and shapes."""
    __tracebackhide__ = True
    coef = model.coef_
    if not isinstance(coef, np.ndarray):
        fail(f"`coef_` should be an ndarray of shape ({n_features},), but it is a {type(coef).__name__}.")
    if coef.shape != (n_features,):
        fail(
            f"`coef_` has shape {coef.shape}, expected ({n_features},).",
            hint="coef_ is 1-D, one weight per feature; the intercept lives in intercept_, not in coef_.",
        )
    intercept = model.intercept_
    if isinstance(intercept, np.ndarray) and intercept.ndim > 0:
        fail(
            f"`intercept_` should be a float, but it is an array of shape {intercept.shape}.",
            hint="Convert it with float(...).",
        )
    if isinstance(intercept, bool) or not isinstance(intercept, int | float | np.integer | np.floating):
        fail(f"`intercept_` should be a float, but it is a {type(intercept).__name__}.")
    return coef, float(intercept)


def _check_fit(
    model: Any,
    X: np.ndarray,
    expected: tuple[np.ndarray, float],
    *,
    what: str,
    hint: str,
    rtol: float = 1e-8,
    atol: float = 1e-9,
) -> None:
    __tracebackhide__ = True
    coef, intercept = _fitted(model, X.shape[1])
    if not (np.isfinite(coef).all() and np.isfinite(intercept)):
        fail(f"{what}: `coef_` or `intercept_` contains NaN or inf.", hint=hint)
    if intercept == 0.0 and abs(expected[1]) > 1e-6:
        fail(f"{what}: `intercept_` is 0, expected {expected[1]:.6g}.", hint=_INTERCEPT_HINT)
    assert_close(coef, expected[0], rtol=rtol, atol=atol, name=f"coef_ ({what})", hint=hint)
    assert_close(intercept, expected[1], rtol=rtol, atol=atol, name=f"intercept_ ({what})", hint=hint)


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(1)
def test_fit_returns_self_sets_attributes_and_leaves_inputs_alone(sub: Any, rng: np.random.Generator) -> None:
    X, y = _regression_data(rng, 30, 3)
    probe = sub.eval(_FIT_PROBE)
    for method in ("normal", "gd"):
        model = sub.LinearRegression(method=method, n_iters=50)
        X_before, y_before, X_after, y_after, is_self = probe(model, X, y)
        if not is_self:
            fail(
                f"`fit` (method={method!r}) did not return the estimator itself.",
                hint="End fit with `return self`, so that model.fit(X, y).predict(X) works.",
            )
        mutated = "Never modify the caller's arrays: `X -= X.mean(axis=0)` changes them in place; write "
        assert_equal(
            X_after,
            X_before,
            name=f"X after fit (method={method!r})",
            hint=mutated + "`Xc = X - X.mean(axis=0)` instead.",
        )
        assert_equal(
            y_after,
            y_before,
            name=f"y after fit (method={method!r})",
            hint=mutated + "`yc = y - y.mean()` instead.",
        )
        coef, _ = _fitted(model, 3)
        if coef.dtype != np.float64:
            fail(f"`coef_` has dtype {coef.dtype}, expected float64.", hint="Work in np.float64.")
        pred = model.predict(X[:7])
        if not isinstance(pred, np.ndarray) or pred.shape != (7,) or pred.dtype != np.float64:
            fail(
                f"`predict` on 7 rows returned {_describe(pred)}; expected a float64 array of shape (7,).",
                hint="predict returns X @ coef_ + intercept_: one value per row of X, 1-D.",
            )


@pytest.mark.points(2)
def test_normal_equations_match_least_squares(sub: Any, rng: np.random.Generator) -> None:
    X, y = _regression_data(rng, 60, 4)
    expected = _closed_form(X, y)
    model = sub.LinearRegression().fit(X, y)
    _, intercept = _fitted(model, 4)
    if intercept == 0.0:
        fail(f"`intercept_` is 0, but the least-squares intercept is {expected[1]:.6g}.", hint=_INTERCEPT_HINT)
    _check_fit(model, X, expected, what="method='normal', alpha=0", hint=_INTERCEPT_HINT)
    X_new = rng.normal(size=(10, 4))
    assert_close(
        model.predict(X_new),
        X_new @ expected[0] + expected[1],
        rtol=1e-8,
        atol=1e-9,
        name="predict(X_new)",
        hint="predict(X) is X @ coef_ + intercept_.",
    )


@pytest.mark.points(1)
def test_collinear_features_give_the_minimum_norm_solution(sub: Any, rng: np.random.Generator) -> None:
    x1, x2 = rng.normal(size=(2, 40))
    # column 2 is an exact linear combination of columns 0 and 1; column 3 repeats column 0
    X = np.column_stack([x1, x2, x1 + 2.0 * x2, x1])
    y = 1.5 * x1 - 0.5 * x2 + 2.0 + 0.1 * rng.normal(size=40)
    model = sub.LinearRegression().fit(X, y)
    _check_fit(
        model,
        X,
        _closed_form(X, y),
        what="collinear features, alpha=0",
        hint=_LSTSQ_HINT,
        rtol=1e-6,
        atol=1e-8,
    )


@pytest.mark.points(2)
def test_ridge_matches_sklearn_ridge_with_alpha_times_n(sub: Any, rng: np.random.Generator) -> None:
    for alpha, n in ((0.05, 40), (1.5, 25)):
        X, y = _regression_data(rng, n, 5, noise=0.5)
        ridge = Ridge(alpha=n * alpha, solver="svd").fit(X, y)
        expected = (ridge.coef_, float(ridge.intercept_))
        model = sub.LinearRegression(alpha=alpha).fit(X, y)
        coef, intercept = _fitted(model, 5)
        if np.allclose(coef, expected[0], rtol=1e-7, atol=1e-9) and np.isclose(intercept, expected[1]):
            continue
        # Recognise the two classic slips and say so.
        sum_loss = Ridge(alpha=alpha, solver="svd").fit(X, y)
        if np.allclose(coef, sum_loss.coef_, rtol=1e-6, atol=1e-9):
            fail(
                f"With alpha={alpha}, your coef_ equals sklearn's Ridge(alpha={alpha}), the penalty for "
                "the *sum* of squared errors.",
                hint="Here the loss is the mean squared error plus alpha * ||w||^2, which equals Ridge("
                "alpha=n_samples * alpha): solve (Xc.T @ Xc + n_samples * alpha * I) w = Xc.T @ yc.",
            )
        A = np.column_stack([np.ones(n), X])
        both = np.linalg.solve(A.T @ A + n * alpha * np.eye(6), A.T @ y)
        if np.allclose(coef, both[1:], rtol=1e-6, atol=1e-9):
            fail(
                f"With alpha={alpha}, your model penalises the intercept too.",
                hint="alpha penalises coef_ only, never intercept_: centre X and y, solve ridge for coef_ "
                "on the centred data, then intercept_ = mean(y) - mean(X, axis=0) @ coef_.",
            )
        _check_fit(
            model,
            X,
            expected,
            what=f"alpha={alpha}",
            rtol=1e-7,
            hint="Expected sklearn's Ridge(alpha=n_samples * alpha) (mean squared error loss), with an "
            "unpenalised intercept.",
        )


@pytest.mark.points(1)
def test_edge_cases(sub: Any, rng: np.random.Generator, plot: Any) -> None:
    # one feature
    x = rng.normal(2.0, 1.0, size=(20, 1))
    y = 3.0 * x[:, 0] - 1.0 + 0.1 * rng.normal(size=20)
    slope, icpt = np.polyfit(x[:, 0], y, 1)
    single = sub.LinearRegression().fit(x, y)
    yours = single.predict(x)
    if isinstance(yours, np.ndarray) and yours.shape == (20,):
        plot(
            "fit",
            "Your line and the least-squares line on one feature",
            x=x[:, 0],
            y=y,
            learner=yours,
            reference=slope * x[:, 0] + icpt,
        )
    _check_fit(
        single,
        x,
        (np.array([slope]), float(icpt)),
        what="a single feature",
        hint="X of shape (n_samples, 1) is an ordinary 2-D input.",
    )

    # a constant feature carries no information: minimum-norm gives it weight 0
    X, y = _regression_data(rng, 30, 2)
    Xk = np.column_stack([X[:, 0], np.full(30, 3.0), X[:, 1]])
    model = sub.LinearRegression().fit(Xk, y)
    _check_fit(
        model,
        Xk,
        _closed_form(Xk, y),
        what="with a constant feature",
        rtol=1e-6,
        atol=1e-8,
        hint="A constant column becomes all zeros after centring. " + _LSTSQ_HINT,
    )

    # a single sample: nothing to fit but the intercept
    model = sub.LinearRegression().fit(np.array([[1.0, 2.0, 3.0]]), np.array([5.0]))
    _check_fit(
        model,
        np.zeros((1, 3)),
        (np.zeros(3), 5.0),
        what="one training sample",
        hint="With one sample the centred data are all zeros: the minimum-norm coef_ is 0 and "
        "intercept_ = y[0]. " + _LSTSQ_HINT,
    )

    # integer inputs are converted to float64
    Xi = rng.integers(-5, 6, size=(15, 2))
    yi = Xi @ np.array([2, -1]) + 3
    model = sub.LinearRegression().fit(Xi, yi)
    coef, _ = _fitted(model, 2)
    if coef.dtype != np.float64:
        fail(
            f"With integer X and y, `coef_` has dtype {coef.dtype}, expected float64.",
            hint="Convert inputs with np.asarray(X, dtype=np.float64).",
        )
    _check_fit(
        model,
        Xi.astype(float),
        (np.array([2.0, -1.0]), 3.0),
        what="integer X and y",
        hint="Convert inputs with np.asarray(X, dtype=np.float64).",
        rtol=1e-8,
        atol=1e-9,
    )


@pytest.mark.points(1)
def test_input_validation(sub: Any, rng: np.random.Generator) -> None:
    X, y = _regression_data(rng, 12, 2)
    sub.LinearRegression().fit(X, y)
    with expect_raises(
        "RuntimeError",
        name="predict before fit",
        hint="Check for coef_ in predict and raise RuntimeError if fit has not run.",
    ):
        sub.LinearRegression().predict(X)
    with expect_raises("ValueError", name="fit with a 1-D X", hint="X must be 2-D; raise ValueError when X.ndim != 2."):
        sub.LinearRegression().fit(X[:, 0], y)
    with expect_raises(
        "ValueError",
        name="fit with y of shape (n_samples, 1)",
        hint="y must be 1-D: a column y silently broadcasts X @ w - y to (n, n).",
    ):
        sub.LinearRegression().fit(X, y[:, None])
    with expect_raises(
        "ValueError",
        name="fit with method='sgd'",
        hint="Raise ValueError for a method other than 'normal' or 'gd'.",
    ):
        sub.LinearRegression(method="sgd").fit(X, y)
    with expect_raises("ValueError", name="fit with alpha=-1", hint="Raise ValueError for a negative alpha."):
        sub.LinearRegression(alpha=-1.0).fit(X, y)


@pytest.mark.points(1)
def test_gd_first_steps_follow_the_pinned_update(sub: Any, rng: np.random.Generator) -> None:
    X, y = _regression_data(rng, 25, 3)
    for n_iters, alpha in ((1, 0.0), (4, 0.3)):
        model = sub.LinearRegression(method="gd", learning_rate=0.02, n_iters=n_iters, alpha=alpha).fit(X, y)
        expected = _gd(X, y, 0.02, n_iters, alpha)
        if n_iters == 1:  # one step from zero is -learning_rate * gradient: a wrong scale shows as a ratio
            coef, _ = _fitted(model, 3)
            if np.allclose(coef, len(y) * expected[0], rtol=1e-6):
                fail("Your first GD step is n_samples times the pinned one, so " + _DIVERGED)
            if np.allclose(coef, 0.5 * expected[0], rtol=1e-6):
                fail(
                    "Your first GD step is half the pinned one.",
                    hint="The loss is (1/n) * sum(r**2) + alpha * ||w||^2, so its gradient is "
                    "(2/n) * X.T @ r + 2 * alpha * w: keep the factor 2.",
                )
        _check_fit(
            model,
            X,
            expected,
            what=f"GD after n_iters={n_iters} steps, alpha={alpha}",
            rtol=1e-9,
            atol=1e-12,
            hint=_GD_UPDATE,
        )


@pytest.mark.points(1)
def test_gd_converges_to_the_closed_form(sub: Any, rng: np.random.Generator) -> None:
    X, y = _regression_data(rng, 200, 3)
    X = (X - X.mean(axis=0)) / X.std(axis=0)  # standardised: GD converges fast with learning_rate=0.1
    for alpha in (0.0, 0.5):
        model = sub.LinearRegression(method="gd", learning_rate=0.1, n_iters=1000, alpha=alpha).fit(X, y)
        coef, intercept = _fitted(model, 3)
        if not (np.isfinite(coef).all() and np.isfinite(intercept)):
            fail(f"With learning_rate=0.1 on standardised data, {_DIVERGED}")
        _check_fit(
            model,
            X,
            _closed_form(X, y, alpha),
            what=f"GD with alpha={alpha}",
            rtol=1e-6,
            atol=1e-8,
            hint="After 1000 steps GD should have reached the closed-form minimiser. " + _GD_UPDATE,
        )
