"""Hidden suite for ml-basics/pca: `PCA` by the SVD of the centred data, signs pinned.

The data have well-separated variances along random orthogonal axes and a large mean, so every
component is well defined and a missing centring shows at once. scikit-learn's full-SVD PCA is the
reference, with the sign rule of the docstring applied to it (it already follows that rule).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.stats import ortho_group
from sklearn.decomposition import PCA as SkPCA

from grader.helpers import assert_close, assert_equal, expect_raises, fail

_FIT_PROBE = """
lambda model, X: (lambda X: (lambda X_before, fitted: (X_before, X, fitted is model))(X.copy(), model.fit(X)))(X.copy())
""".strip()

_CENTRE = (
    "Centre the data first: mean_ = X.mean(axis=0), then take the SVD of Xc = X - mean_. Without centring, the "
    "first component points at the mean instead of along the largest variance."
)
_SIGN = (
    "Fix each component's sign so that its largest-magnitude entry is positive: i = np.argmax(np.abs(row)); "
    "multiply the row by np.sign(row[i])."
)
_ORDER = (
    "Components come in order of decreasing variance: np.linalg.svd returns singular values sorted in decreasing "
    "order (np.linalg.eigh returns eigenvalues ascending, so reverse them if you use it)."
)
_DDOF = "explained_variance_ uses the unbiased n_samples - 1 denominator: S[:k] ** 2 / (n_samples - 1), like np.cov."
_TOTAL = (
    "explained_variance_ratio_ divides by the total variance of the data (the sum of the variances of all "
    "features, ddof=1), not by the sum over the kept components only."
)


# ---------------------------------------------------------------- reference (grader side)


def _data(rng: np.random.Generator, n: int = 80, scales: tuple[float, ...] = (6.0, 3.5, 2.0, 1.0, 0.4)) -> np.ndarray:
    """n samples with variances ~scales**2 along random orthogonal axes, around a large mean."""
    p = len(scales)
    Q = ortho_group.rvs(p, random_state=rng)
    return rng.normal(size=(n, p)) * np.array(scales) @ Q + rng.uniform(20, 40, size=p) * rng.choice([-1, 1], size=p)


def _sign_fix(V: np.ndarray) -> np.ndarray:
    i = np.argmax(np.abs(V), axis=1)
    return V * np.sign(V[np.arange(len(V)), i])[:, None]


def _reference(X: np.ndarray, k: int) -> SkPCA:
    sk = SkPCA(n_components=k, svd_solver="full").fit(X)
    sk.components_ = _sign_fix(sk.components_)
    return sk


def _array(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    __tracebackhide__ = True
    if not isinstance(value, np.ndarray):
        fail(f"`{name}` should be an ndarray of shape {shape}, but it is a {type(value).__name__}.")
    if value.shape != shape:
        fail(f"`{name}` has shape {value.shape}, expected {shape}.")
    if value.dtype != np.float64:
        fail(f"`{name}` has dtype {value.dtype}, expected float64.", hint="Work in np.float64.")
    return value


def _same_rows_up_to_sign(A: np.ndarray, B: np.ndarray, tol: float = 1e-6) -> bool:
    return A.shape == B.shape and bool(np.allclose(np.abs(np.sum(A * B, axis=1)), 1.0, atol=tol))


def _fit(sub: Any, X: np.ndarray, k: int) -> Any:
    return sub.PCA(n_components=k).fit(X)


def _components_follow(sub: Any, what: str) -> None:
    """`what` is wrong: if the principal axes of ordinary data are already wrong (sign aside), say it follows."""
    __tracebackhide__ = True
    X = _data(np.random.default_rng(5), n=40)
    comps = _fit(sub, X, 3).components_
    if not isinstance(comps, np.ndarray) or not _same_rows_up_to_sign(comps, _reference(X, 3).components_):
        fail(
            f"{what}; this follows from `components_`, which are already not the principal axes of ordinary data "
            "(see test_components_match_sklearn)."
        )


# ---------------------------------------------------------------- tests


@pytest.mark.points(2)
def test_components_match_sklearn(sub: Any, rng: np.random.Generator) -> None:
    X = _data(rng)
    p = X.shape[1]
    for k in (3, p):
        ref = _reference(X, k)
        comps = _array(_fit(sub, X, k).components_, f"components_ (n_components={k})", (k, p))
        if np.allclose(comps, ref.components_, rtol=1e-7, atol=1e-9):
            continue
        _, _, Vt_raw = np.linalg.svd(X, full_matrices=False)
        if _same_rows_up_to_sign(comps[:1], Vt_raw[:1]):
            fail(f"Your first component is the top singular vector of the *uncentred* X. {_CENTRE}", hint=_CENTRE)
        full = _reference(X, p).components_
        if k < p and _same_rows_up_to_sign(comps, full[::-1][:k]):
            fail(
                f"With n_components={k}, your components_ are the {k} directions of *smallest* variance.",
                hint=_ORDER,
            )
        if _same_rows_up_to_sign(comps, ref.components_):
            bad = [i for i in range(k) if not np.allclose(comps[i], ref.components_[i], atol=1e-6)]
            fail(
                f"components_ rows {bad} (n_components={k}) point the opposite way: the sign of a singular vector "
                "is arbitrary, so the docstring pins it.",
                hint=_SIGN,
            )
        if _same_rows_up_to_sign(np.sort(np.abs(comps), axis=1), np.sort(np.abs(ref.components_), axis=1), tol=1e-4):
            fail(f"components_ (n_components={k}) are not in order of decreasing variance.", hint=_ORDER)
        assert_close(
            comps,
            ref.components_,
            rtol=1e-7,
            atol=1e-9,
            name=f"components_ (n_components={k}), against sklearn",
            hint=_CENTRE + " " + _ORDER,
        )
    gram = comps @ comps.T
    assert_close(gram, np.eye(p), rtol=0, atol=1e-9, name="components_ @ components_.T", hint="Rows are orthonormal.")


@pytest.mark.points(2)
def test_explained_variance_matches_sklearn(sub: Any, rng: np.random.Generator) -> None:
    X = _data(rng, n=40)
    n, p = X.shape
    for k in (2, p):
        ref = _reference(X, k)
        model = _fit(sub, X, k)
        ev = _array(model.explained_variance_, f"explained_variance_ (n_components={k})", (k,))
        if np.allclose(ev, ref.explained_variance_ * (n - 1) / n, rtol=1e-7):
            fail(f"explained_variance_ (n_components={k}) is divided by n_samples = {n}.", hint=_DDOF)
        if k < p and np.allclose(ev, _reference(X, p).explained_variance_[::-1][:k], rtol=1e-7):
            fail(f"explained_variance_ (n_components={k}) is in increasing order.", hint=_ORDER)
        if not np.allclose(ev, ref.explained_variance_, rtol=1e-8):
            _components_follow(sub, f"explained_variance_ (n_components={k}) is wrong")
        assert_close(ev, ref.explained_variance_, rtol=1e-8, name=f"explained_variance_ (n_components={k})", hint=_DDOF)
        ratio = _array(model.explained_variance_ratio_, f"explained_variance_ratio_ (n_components={k})", (k,))
        if k < p and np.isclose(ratio.sum(), 1.0):
            fail(f"explained_variance_ratio_ (n_components={k} of {p}) sums to 1.", hint=_TOTAL)
        assert_close(
            ratio,
            ref.explained_variance_ratio_,
            rtol=1e-8,
            name=f"explained_variance_ratio_ (n_components={k})",
            hint=_TOTAL,
        )
        sv = _array(model.singular_values_, f"singular_values_ (n_components={k})", (k,))
        assert_close(
            sv,
            ref.singular_values_,
            rtol=1e-8,
            name=f"singular_values_ (n_components={k})",
            hint="singular_values_ are the k largest singular values S[:k] of the centred data.",
        )


@pytest.mark.public
@pytest.mark.points(1)
def test_signs_are_pinned(sub: Any, rng: np.random.Generator) -> None:
    X = _data(rng, n=50)
    comps = _array(_fit(sub, X, 4).components_, "components_", (4, 5))
    rows = np.arange(4)
    lead = comps[rows, np.argmax(np.abs(comps), axis=1)]
    if (lead < 0).any():
        fail(
            f"In components_ rows {np.flatnonzero(lead < 0).tolist()}, the largest-magnitude entry is negative.",
            hint=_SIGN,
        )
    # the principal axes of -X and of a row permutation of X are the same lines: same pinned components
    for Y, what in ((-X, "-X"), (X[rng.permutation(len(X))], "X with its rows shuffled")):
        other = _array(_fit(sub, Y, 4).components_, f"components_ of {what}", (4, 5))
        assert_close(other, comps, rtol=1e-7, atol=1e-9, name=f"components_ of {what} vs of X", hint=_SIGN)


@pytest.mark.points(2)
def test_transform_and_inverse_transform(sub: Any, rng: np.random.Generator) -> None:
    X = _data(rng, n=60)
    n, p = X.shape
    X_new = _data(rng, n=15)
    model = _fit(sub, X, 2)
    mean = _array(model.mean_, "mean_", (p,))
    comps = _array(model.components_, "components_", (2, p))
    Z = _array(model.transform(X_new), "transform(X_new)", (15, 2))
    if np.allclose(Z, X_new @ comps.T, rtol=1e-6):
        fail(
            "transform(X_new) projects X_new without subtracting mean_.",
            hint="transform(X) = (X - mean_) @ components_.T",
        )
    assert_close(
        Z,
        (X_new - mean) @ comps.T,
        rtol=1e-7,
        atol=1e-8,
        name="transform(X_new), against your own mean_ and components_",
        hint="transform(X) = (X - mean_) @ components_.T, with the training mean_ (never the mean of X_new).",
    )
    Z_train = np.asarray(model.transform(X))
    X_hat = _array(model.inverse_transform(Z_train), "inverse_transform(transform(X))", (n, p))
    expected = Z_train @ comps + mean
    if np.allclose(X_hat, expected - mean, rtol=1e-6, atol=1e-6):
        fail("inverse_transform forgets to add mean_ back.", hint="inverse_transform(Z) = Z @ components_ + mean_")
    assert_close(
        X_hat,
        expected,
        rtol=1e-7,
        atol=1e-8,
        name="inverse_transform(Z), against your own mean_ and components_",
        hint="inverse_transform(Z) = Z @ components_ + mean_",
    )
    assert_close(
        Z_train.var(axis=0, ddof=1),
        _reference(X, 2).explained_variance_,
        rtol=1e-7,
        name="variance (ddof=1) of each column of transform(X_train)",
        hint="The scores along each component have the component's explained variance. " + _CENTRE + " " + _ORDER,
    )
    # the squared reconstruction error is the variance left out: (n - 1) * sum of the dropped variances
    full = _reference(X, p)
    assert_close(
        float(((X - X_hat) ** 2).sum()),
        (n - 1) * full.explained_variance_[2:].sum(),
        rtol=1e-7,
        name="squared reconstruction error with 2 of 5 components",
        hint="Project onto the top components of the centred data and map back with the same mean_. " + _ORDER,
    )
    everything = _fit(sub, X, p)
    assert_close(
        everything.inverse_transform(everything.transform(X)),
        X,
        rtol=1e-9,
        atol=1e-9,
        name="inverse_transform(transform(X)) with all components",
        hint="With n_components = n_features, the round trip gives X back.",
    )


@pytest.mark.points(1)
def test_mean_and_wide_data(sub: Any, rng: np.random.Generator) -> None:
    X = _data(rng, n=30)
    model = _fit(sub, X, 2)
    assert_close(
        _array(model.mean_, "mean_", (5,)), X.mean(axis=0), rtol=1e-12, name="mean_", hint="mean_ = X.mean(axis=0)."
    )
    # fewer samples than features: the thin SVD still works
    W = rng.normal(size=(6, 10)) * np.linspace(3, 1, 10) + 5.0
    ref = _reference(W, 4)
    model = _fit(sub, W, 4)
    comps = _array(model.components_, "components_ (6 samples, 10 features)", (4, 10))
    if not np.allclose(comps, ref.components_, rtol=1e-6, atol=1e-8):
        if _same_rows_up_to_sign(comps, ref.components_):
            fail("components_ with 6 samples and 10 features have the wrong signs.", hint=_SIGN)
        _components_follow(sub, "components_ with 6 samples and 10 features are wrong")
    assert_close(
        comps,
        ref.components_,
        rtol=1e-6,
        atol=1e-8,
        name="components_ with 6 samples and 10 features",
        hint="Use the thin SVD np.linalg.svd(Xc, full_matrices=False): it works whether n_samples or n_features "
        "is larger. " + _SIGN,
    )
    assert_close(
        model.explained_variance_,
        ref.explained_variance_,
        rtol=1e-8,
        name="explained_variance_ (6 samples, 10 features)",
        hint=_DDOF,
    )


@pytest.mark.points(1)
def test_one_component_of_correlated_data(sub: Any, rng: np.random.Generator) -> None:
    t = rng.normal(size=200)
    X = np.column_stack([3.0 * t, -4.0 * t]) + 0.01 * rng.normal(size=(200, 2)) + np.array([100.0, -50.0])
    model = _fit(sub, X, 1)
    comps = _array(model.components_, "components_", (1, 2))
    if not np.allclose(comps[0], [-0.6, 0.8], rtol=0, atol=1e-3) and not np.allclose(comps[0], [0.6, -0.8], atol=1e-3):
        _components_follow(sub, "The first component of points along a line is wrong")
    assert_close(
        comps[0],
        np.array([-0.6, 0.8]),
        rtol=0,
        atol=1e-3,
        name="the first component of points along the line (3, -4) t + (100, -50)",
        hint="The first axis follows the line; its largest-magnitude entry (-4/5 -> +0.8) is made positive. " + _CENTRE,
    )
    ratio = float(np.asarray(model.explained_variance_ratio_)[0])
    if not 0.999 < ratio <= 1.0:
        fail(
            f"explained_variance_ratio_[0] is {ratio:.6g}, but nearly all the variance lies along the line.",
            hint=_TOTAL,
        )


@pytest.mark.points(1)
def test_estimator_contract(sub: Any, rng: np.random.Generator) -> None:
    X = _data(rng, n=20)
    X_before, X_after, is_self = sub.eval(_FIT_PROBE)(sub.PCA(n_components=2), X)
    if not is_self:
        fail("`fit` did not return the estimator itself.", hint="End fit with `return self`.")
    assert_equal(X_after, X_before, name="X after fit", hint="Centre a copy: Xc = X - mean_, never X -= mean_.")
    with expect_raises("RuntimeError", name="transform before fit", hint="Raise RuntimeError if fit has not run."):
        sub.PCA(n_components=2).transform(X)
    with expect_raises(
        "RuntimeError", name="inverse_transform before fit", hint="Raise RuntimeError if fit has not run."
    ):
        sub.PCA(n_components=2).inverse_transform(np.zeros((3, 2)))
    for k in (0, 6):
        with expect_raises(
            "ValueError",
            name=f"fit with n_components={k} on 5 features",
            hint="n_components must be between 1 and min(n_samples, n_features).",
        ):
            sub.PCA(n_components=k).fit(X)
    with expect_raises(
        "ValueError", name="transform with 4 columns after fitting on 5", hint="Check X.shape[1] in transform."
    ):
        _fit(sub, X, 2).transform(X[:, :4])
