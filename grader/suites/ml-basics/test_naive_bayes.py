"""Hidden suite for ml-basics/naive_bayes: `GaussianNB`, checked against scikit-learn's GaussianNB."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.naive_bayes import GaussianNB as SkGaussianNB

from grader.helpers import assert_close, assert_equal, expect_raises, fail

# Runs in the learner's kernel: fits copies of X and y and reports them before and after, plus
# whether fit returned the estimator itself.
_FIT_PROBE = """
lambda model, X, y: (lambda X, y: (lambda X_before, y_before, fitted: (
    X_before, y_before, X, y, fitted is model
))(X.copy(), y.copy(), model.fit(X, y)))(X.copy(), y.copy())
""".strip()

_LABELS = np.array([-1, 4, 9])
_JLL = (
    "jll[c] = log(class_prior_[c]) - 0.5 * sum(log(2 * pi * var_[c])) - 0.5 * sum((x - theta_[c]) ** 2 / var_[c]), "
    "then log P(c | x) = jll[c] - logsumexp(jll) over the classes."
)
_LOGSUMEXP = (
    "Normalise in log space with log-sum-exp: m = jll.max(axis=1, keepdims=True); "
    "log_norm = m + log(sum(exp(jll - m), axis=1, keepdims=True)). Exponentiating jll directly underflows to "
    "0 / 0 = NaN for samples far from every class."
)
_MLE = (
    "var_ is the maximum-likelihood variance within each class, dividing by the class count (np.var's default "
    "ddof=0), not by count - 1; then add epsilon_ = var_smoothing * np.var(X, axis=0).max()."
)


def _data(rng: np.random.Generator, n: int = 90) -> tuple[np.ndarray, np.ndarray]:
    """Three imbalanced classes (60/30/10 %) with labels -1, 4, 9, features on different scales."""
    codes = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])
    codes[:3] = [0, 1, 2]
    means = rng.normal(0, 2, size=(3, 3))
    X = (means[codes] + rng.normal(size=(n, 3)) * rng.uniform(0.5, 2.0, size=(3, 3))[codes]) * np.array([1, 10, 0.1])
    return X, _LABELS[codes]


def _array(value: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    __tracebackhide__ = True
    if not isinstance(value, np.ndarray) or value.shape != shape:
        got = f"shape {value.shape}" if isinstance(value, np.ndarray) else f"a {type(value).__name__}"
        fail(f"`{name}` should be an ndarray of shape {shape}, got {got}.")
    return value


def _follows(model: Any, sk: Any, what: str, X_ordinary: np.ndarray | None = None) -> None:
    """`what` is wrong: if the fitted attributes, or the probabilities of ordinary samples, are already wrong,
    say that it follows from that."""
    __tracebackhide__ = True
    for name in ("class_prior_", "theta_", "var_"):
        mine, ref = getattr(model, name), getattr(sk, name)
        if not isinstance(mine, np.ndarray) or mine.shape != ref.shape or not np.allclose(mine, ref, rtol=1e-6):
            fail(f"{what}; this follows from `{name}`, which is already wrong (see the tests of the fit above).")
    if X_ordinary is not None:
        proba = model.predict_proba(X_ordinary)
        if not isinstance(proba, np.ndarray) or not np.allclose(proba, sk.predict_proba(X_ordinary), atol=1e-6):
            fail(
                f"{what}; this follows from `predict_proba`, which is already wrong on ordinary samples (see "
                "test_probabilities_match_sklearn)."
            )


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(1)
def test_classes_priors_and_means_match_sklearn(sub: Any, rng: np.random.Generator) -> None:
    X, y = _data(rng)
    sk = SkGaussianNB().fit(X, y)
    model = sub.GaussianNB().fit(X, y)
    assert_equal(model.classes_, sk.classes_, name="classes_", hint="classes_ is np.unique(y), sorted ascending.")
    assert_close(
        _array(model.class_count_, (3,), "class_count_"),
        sk.class_count_,
        name="class_count_",
        hint="Samples per class.",
    )
    assert_close(
        _array(model.class_prior_, (3,), "class_prior_"),
        sk.class_prior_,
        rtol=1e-12,
        name="class_prior_",
        hint="The priors are estimated from y: class_count_ / n_samples (not uniform).",
    )
    assert_close(
        _array(model.theta_, (3, 3), "theta_"),
        sk.theta_,
        rtol=1e-9,
        atol=1e-12,
        name="theta_",
        hint="theta_[c] is the mean of the samples of class classes_[c]: one row per class, one column per feature.",
    )


@pytest.mark.points(2)
def test_variances_are_the_mle_plus_epsilon(sub: Any, rng: np.random.Generator) -> None:
    X, y = _data(rng)
    for smoothing in (1e-9, 1e-2):
        sk = SkGaussianNB(var_smoothing=smoothing).fit(X, y)
        model = sub.GaussianNB(var_smoothing=smoothing).fit(X, y)
        var = _array(model.var_, (3, 3), "var_")
        counts = sk.class_count_[:, None]
        sample_var = (sk.var_ - sk.epsilon_) * counts / (counts - 1) + sk.epsilon_
        if np.allclose(var, sample_var, rtol=1e-9) and not np.allclose(var, sk.var_, rtol=1e-9):
            fail(
                f"With var_smoothing={smoothing}, your var_ is the sample variance (divided by count - 1).",
                hint=_MLE,
            )
        epsilon = model.epsilon_
        if isinstance(epsilon, bool) or not isinstance(epsilon, int | float | np.integer | np.floating):
            fail(f"`epsilon_` should be a float, but it is a {type(epsilon).__name__}.", hint=_MLE)
        assert_close(epsilon, sk.epsilon_, rtol=1e-9, name=f"epsilon_ (var_smoothing={smoothing})", hint=_MLE)
        assert_close(var, sk.var_, rtol=1e-9, name=f"var_ (var_smoothing={smoothing})", hint=_MLE)


@pytest.mark.points(1)
def test_a_constant_feature_is_smoothed(sub: Any, rng: np.random.Generator) -> None:
    X, y = _data(rng, 40)
    X[:, 1] = np.where(y == 4, 3.0, X[:, 1])  # within class 4, feature 1 never varies
    sk = SkGaussianNB().fit(X, y)
    model = sub.GaussianNB().fit(X, y)
    X_new = rng.normal(size=(10, 3))
    X_new[:5, 1] = 3.0
    proba = _array(model.predict_proba(X_new), (10, 3), "predict_proba")
    if not np.isfinite(proba).all():
        fail(
            "A feature that is constant within one class gives NaN or inf probabilities.",
            hint="Its variance is 0: var_ must include epsilon_ = var_smoothing * np.var(X, axis=0).max(), "
            "added to every entry, so no variance is ever 0.",
        )
    if not np.allclose(proba, sk.predict_proba(X_new), rtol=1e-6, atol=1e-9):
        X_plain, y_plain = _data(np.random.default_rng(7), 60)
        _follows(
            model,
            sk,
            "predict_proba with a feature constant within a class is wrong",
        )
        _follows(
            sub.GaussianNB().fit(X_plain, y_plain),
            SkGaussianNB().fit(X_plain, y_plain),
            "predict_proba with a feature constant within a class is wrong",
            X_plain[:10],
        )
    assert_close(
        proba,
        sk.predict_proba(X_new),
        rtol=1e-6,
        atol=1e-9,
        name="predict_proba with a feature constant within a class",
        hint=_MLE,
    )


@pytest.mark.points(2)
def test_probabilities_match_sklearn(sub: Any, rng: np.random.Generator) -> None:
    X, y = _data(rng)
    sk = SkGaussianNB().fit(X, y)
    model = sub.GaussianNB().fit(X, y)
    X_new = X[:25] + rng.normal(size=(25, 3)) * np.array([1, 10, 0.1])
    proba = _array(model.predict_proba(X_new), (25, 3), "predict_proba")
    log_proba = _array(model.predict_log_proba(X_new), (25, 3), "predict_log_proba")
    expected = sk.predict_proba(X_new)
    if not np.allclose(proba, expected, atol=1e-6):
        _follows(model, sk, "predict_proba differs from sklearn's")
        flat = SkGaussianNB(priors=np.full(3, 1 / 3)).fit(X, y).predict_proba(X_new)
        if np.allclose(proba, flat, atol=1e-6):
            fail(
                "Your predict_proba ignores the class priors: it equals naive Bayes with uniform priors.",
                hint="Add log(class_prior_[c]) to each class's log-likelihood; the classes here hold 60%, 30% and "
                "10% of the samples.",
            )
        with np.errstate(all="ignore"):
            normalised = proba / proba.sum(axis=1, keepdims=True)
        if not np.allclose(proba.sum(axis=1), 1.0) and np.allclose(normalised, expected, atol=1e-6):
            fail("The rows of your predict_proba do not sum to 1: they are not normalised.", hint=_LOGSUMEXP)
    assert_close(proba, expected, rtol=1e-6, atol=1e-9, name="predict_proba", hint=_JLL)
    assert_close(log_proba, sk.predict_log_proba(X_new), rtol=1e-7, atol=1e-9, name="predict_log_proba", hint=_JLL)
    assert_close(proba.sum(axis=1), np.ones(25), rtol=0, atol=1e-9, name="row sums of predict_proba")


@pytest.mark.points(2)
def test_far_samples_do_not_underflow(sub: Any, rng: np.random.Generator) -> None:
    X, y = _data(rng)
    sk = SkGaussianNB().fit(X, y)
    model = sub.GaussianNB().fit(X, y)
    # hundreds of standard deviations away: every exp(jll) underflows to 0
    X_far = np.array([[300.0, -3000.0, 30.0], [-500.0, 5000.0, -50.0], [1e3, 1e4, 1e2]])
    proba = _array(model.predict_proba(X_far), (3, 3), "predict_proba on far samples")
    log_far = model.predict_log_proba(X_far)
    if not (
        np.allclose(proba, sk.predict_proba(X_far), rtol=1e-6, atol=1e-9)
        and isinstance(log_far, np.ndarray)
        and np.allclose(log_far, sk.predict_log_proba(X_far), rtol=1e-7)
    ):
        _follows(model, sk, "predict_proba on far samples is wrong", X[:10])
    if np.isnan(proba).any():
        fail("`predict_proba` returned NaN for samples far from every class.", hint=_LOGSUMEXP)
    log_proba = _array(model.predict_log_proba(X_far), (3, 3), "predict_log_proba on far samples")
    if not np.isfinite(log_proba).all():
        fail("`predict_log_proba` returned NaN or inf for samples far from every class.", hint=_LOGSUMEXP)
    assert_close(
        proba, sk.predict_proba(X_far), rtol=1e-6, atol=1e-9, name="predict_proba on far samples", hint=_LOGSUMEXP
    )
    assert_close(
        log_proba, sk.predict_log_proba(X_far), rtol=1e-7, name="predict_log_proba on far samples", hint=_LOGSUMEXP
    )


@pytest.mark.points(1)
def test_predict_returns_labels_and_breaks_ties_to_the_smaller(sub: Any, rng: np.random.Generator) -> None:
    X, y = _data(rng)
    X_new = rng.normal(0, 3, size=(30, 3)) * np.array([1, 10, 0.1])
    model = sub.GaussianNB().fit(X, y)
    pred = model.predict(X_new)
    if isinstance(pred, np.ndarray) and set(pred.tolist()) <= {0, 1, 2}:
        fail(
            f"With labels {_LABELS.tolist()}, `predict` returned {sorted(set(pred.tolist()))}: positions in "
            "classes_, not labels.",
            hint="Return classes_[np.argmax(jll, axis=1)].",
        )
    sk = SkGaussianNB().fit(X, y)
    if not np.array_equal(pred, sk.predict(X_new)):
        _follows(model, sk, "predict differs from sklearn's", X_new)
    assert_equal(pred, sk.predict(X_new), name="predict", hint="The class with the largest jll.")
    # two mirror-image classes with equal priors and variances: x = 0 is exactly halfway
    X_tie = np.array([[-1.0], [-3.0], [1.0], [3.0]])
    y_tie = np.array([7, 7, 3, 3])
    assert_equal(
        sub.GaussianNB().fit(X_tie, y_tie).predict(np.array([[0.0], [-2.0], [2.0]])),
        np.array([3, 7, 3]),
        name="predict at x = [0, -2, 2] for classes 7 (mean -2) and 3 (mean 2)",
        hint="At x = 0 both classes have exactly the same jll: a tie goes to the smaller label (np.argmax over "
        "the sorted classes_ picks the first maximum).",
    )


@pytest.mark.points(1)
def test_fit_contract_and_input_validation(sub: Any, rng: np.random.Generator) -> None:
    X, y = _data(rng, 30)
    model = sub.GaussianNB()
    X_before, y_before, X_after, y_after, is_self = sub.eval(_FIT_PROBE)(model, X, y)
    if not is_self:
        fail("`fit` did not return the estimator itself.", hint="End fit with `return self`.")
    hint = "Never modify the caller's arrays in fit."
    assert_equal(X_after, X_before, name="X after fit", hint=hint)
    assert_equal(y_after, y_before, name="y after fit", hint=hint)
    for method in ("predict", "predict_proba", "predict_log_proba"):
        with expect_raises(
            "RuntimeError",
            name=f"{method} before fit",
            hint="Check that fit has run (e.g. for theta_) and raise RuntimeError otherwise.",
        ):
            getattr(sub.GaussianNB(), method)(X)
    with expect_raises("ValueError", name="fit with a 1-D X", hint="X must be 2-D: raise ValueError when X.ndim != 2."):
        sub.GaussianNB().fit(X[:, 0], y)
