"""Hidden suite for ml-basics/limitations (notebook): data that breaks four basic algorithms, with numbers.

Every number the learner stores is recomputed from the learner's own data and functions. The data
(and the learner's feature map's output) cross the codec, and every reference model is fitted here, in
the grader's process, single-threaded like the kernel: a scikit-learn patched in the learner's kernel
changes nothing. The learner's clustering model is rebuilt here from its class and its parameters.
The multiple-choice answers live only in this file.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linprog
from sklearn.base import ClusterMixin
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from grader.engine.remote import RemoteRef
from grader.helpers import assert_close, fail


def _single_threaded() -> Any:
    """Fit references with one thread, as the learner's kernel does, so that the numbers agree to the bit."""
    return threadpool_limits(limits=1)


def _kmeans_labels(X: np.ndarray, k: int) -> np.ndarray:
    with _single_threaded():
        labels: np.ndarray = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(X)
    return labels


def _logreg_accuracy(X: np.ndarray, y: np.ndarray, max_iter: int) -> float:
    with _single_threaded():
        return float(LogisticRegression(max_iter=max_iter).fit(X, y).score(X, y))


def _rebuilt(model: RemoteRef) -> Any:
    """A fresh copy of the learner's scikit-learn clusterer, built here from its class and parameters."""
    __tracebackhide__ = True
    module_name, _, qualname = model.type_mro[0].rpartition(".")
    cls = None
    if module_name == "sklearn" or module_name.startswith("sklearn."):
        cls = getattr(importlib.import_module(module_name), qualname, None)
    if not (isinstance(cls, type) and issubclass(cls, ClusterMixin)):
        fail(
            f"`structured_model` is a {model.type_name}; use a clustering estimator from scikit-learn itself "
            "(e.g. DBSCAN or AgglomerativeClustering), so that the grader can rebuild it."
        )
    params = model.get_params(deep=False)
    odd = sorted(k for k, v in params.items() if isinstance(v, RemoteRef))
    if odd:
        fail(
            f"`structured_model` has parameters the grader cannot rebuild ({', '.join(odd)}): keep them to plain "
            "numbers and strings."
        )
    return cls(**params)


_ANSWERS = {  # the correct letter of each question, and what a wrong answer misses
    "answer_kmeans": (
        "c",
        "k-means puts each point in the cell of its nearest centre: its clusters are always convex (Voronoi cells).",
    ),
    "answer_xor": (
        "a",
        "a feature map helps when the classes become linearly separable in the new features: here the sign of "
        "x0 * x1 is the label.",
    ),
    "answer_knn": (
        "d",
        "a ratio near 1 means that the nearest and the farthest point are almost equally far away, so being "
        "'nearest' says little about similarity.",
    ),
    "answer_logreg": (
        "b",
        "on separable data a larger multiple of a separating w always lowers the logistic loss, so no finite w is "
        "optimal until a penalty (or early stopping) is added.",
    ),
}


# ---------------------------------------------------------------- helpers


def _array(value: Any, name: str, ndim: int) -> np.ndarray:
    __tracebackhide__ = True
    if isinstance(value, RemoteRef) or value is None or isinstance(value, str | dict):
        fail(f"`{name}` should be a numeric array, but it is a {type(value).__name__}.")
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf" or arr.ndim != ndim:
        fail(f"`{name}` should be a {ndim}-D numeric array, but it has shape {arr.shape} and dtype {arr.dtype}.")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        fail(f"`{name}` contains NaN or inf.")
    return arr


def _number(value: Any, name: str) -> float:
    __tracebackhide__ = True
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        fail(f"`{name}` should be a number, but it is a {type(value).__name__}.")
    return float(value)


def _matches(stored: float, recomputed: float, name: str, how: str) -> None:
    __tracebackhide__ = True
    if not np.isclose(stored, recomputed, rtol=1e-9, atol=1e-9):
        fail(
            f"`{name}` is {stored:.6g}, but {how} gives {recomputed:.6g} on your data.",
            hint=f"Set {name} from exactly that computation, after building the data.",
        )


def _xor(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-1, 1, size=(n, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.int64)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _norms(X: np.ndarray, y: np.ndarray, n_iters: int, lr: float = 0.5, alpha: float = 0.0) -> np.ndarray:
    w, b, out = np.zeros(X.shape[1]), 0.0, np.empty(n_iters)
    for t in range(n_iters):
        r = _sigmoid(X @ w + b) - y
        w, b = w - lr * (X.T @ r / len(y) + alpha * w), b - lr * r.mean()
        out[t] = np.linalg.norm(w)
    return out


def _separable(X: np.ndarray, y: np.ndarray) -> bool:
    """Is there (w, b) with (2y - 1) * (X @ w + b) >= 1 for every sample? A feasibility LP."""
    s = 2.0 * y - 1.0
    A = -s[:, None] * np.column_stack([X, np.ones(len(X))])
    res = linprog(np.zeros(X.shape[1] + 1), A_ub=A, b_ub=-np.ones(len(X)), bounds=(None, None), method="highs")
    return bool(res.status == 0)


def _answer(sub: Any, name: str) -> None:
    __tracebackhide__ = True
    value = getattr(sub, name)
    correct, why = _ANSWERS[name]
    if not isinstance(value, str) or value.strip().lower() not in ("a", "b", "c", "d"):
        fail(f'`{name}` should be one of the letters "a", "b", "c", "d", but it is {value!r:.40}.')
    if value.strip().lower() != correct:
        fail(f"`{name}` = {value!r} is not the right choice.", hint="Think again: " + why)


# ---------------------------------------------------------------- 1. k-means


def _nonconvex(sub: Any) -> tuple[np.ndarray, np.ndarray]:
    __tracebackhide__ = True
    X = _array(sub.X_nonconvex, "X_nonconvex", 2)
    y = _array(sub.y_nonconvex, "y_nonconvex", 1)
    if X.shape[1] != 2 or not 100 <= len(X) <= 2000 or len(y) != len(X):
        fail(
            f"`X_nonconvex` has shape {X.shape} and `y_nonconvex` {y.shape}; expected (n, 2) and (n,) with "
            "100 <= n <= 2000."
        )
    if y.dtype.kind not in "iu" or not 2 <= len(np.unique(y)) <= 5:
        fail(f"`y_nonconvex` should hold integer labels of 2 to 5 clusters; it has {len(np.unique(y))} values.")
    return X, y


@pytest.mark.points(1)
def test_kmeans_fails_on_nonconvex_clusters(sub: Any) -> None:
    X, y = _nonconvex(sub)
    stored = _number(sub.ari_kmeans, "ari_kmeans")
    k = len(np.unique(y))
    ari = float(adjusted_rand_score(y, _kmeans_labels(X, k)))
    if ari >= 0.5:
        fail(
            f"On your X_nonconvex, k-means with {k} clusters reaches ARI {ari:.3f}: it does not fail (below 0.5 is "
            "required).",
            hint="k-means handles convex blobs well; build non-convex clusters, e.g. make_moons(n_samples=300, "
            "noise=0.05) or concentric make_circles, where no straight boundary between centres can separate them.",
        )
    _matches(stored, ari, "ari_kmeans", f"KMeans(n_clusters={k}, n_init=10, random_state=0)")


@pytest.mark.points(1)
def test_a_structure_aware_method_recovers_them(sub: Any) -> None:
    X, y = _nonconvex(sub)
    model = sub.structured_model
    if not isinstance(model, RemoteRef) or "sklearn.base.ClusterMixin" not in model.type_mro:
        fail(
            "`structured_model` should be a scikit-learn clustering estimator (e.g. DBSCAN or "
            "AgglomerativeClustering), not a label array or another object.",
            hint="structured_model = AgglomerativeClustering(n_clusters=2, linkage='single'), for example.",
        )
    if any(name.rsplit(".", 1)[-1] in ("KMeans", "MiniBatchKMeans", "BisectingKMeans") for name in model.type_mro):
        fail(
            "`structured_model` is a k-means variant: it draws the same convex cells.",
            hint="Use a method that respects the shape of the clusters: DBSCAN or single-linkage clustering.",
        )
    stored = _number(sub.ari_structured, "ari_structured")
    rebuilt = _rebuilt(model)
    with _single_threaded():
        labels = np.asarray(rebuilt.fit_predict(X))
    ari = float(adjusted_rand_score(y, labels))
    if ari <= 0.9:
        fail(
            f"A fresh clone of your structured_model ({model.type_name}) reaches ARI {ari:.3f} on X_nonconvex; "
            "above 0.9 is required.",
            hint="A method that respects the shape of the clusters links points through chains of near "
            "neighbours: DBSCAN with a suitable eps, or AgglomerativeClustering(linkage='single'). Tune it on "
            "your data.",
        )
    _matches(stored, ari, "ari_structured", "structured_model.fit_predict(X_nonconvex)")


# ---------------------------------------------------------------- 2. XOR


def _xor_data(sub: Any) -> tuple[np.ndarray, np.ndarray]:
    __tracebackhide__ = True
    X = _array(sub.X_xor, "X_xor", 2).astype(np.float64)
    y = _array(sub.y_xor, "y_xor", 1)
    if X.shape[1] != 2 or len(X) < 200 or len(y) != len(X):
        fail(f"`X_xor` has shape {X.shape} and `y_xor` {y.shape}; expected (n, 2) and (n,) with n >= 200.")
    truth = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    if not np.array_equal(y, truth):
        fail(
            f"`y_xor` is not the XOR labelling: {int((y != truth).sum())} of {len(y)} labels differ from "
            "(x0 * x1 > 0).",
            hint="Label 1 exactly where x0 * x1 > 0, 0 elsewhere: y_xor = (X_xor[:, 0] * X_xor[:, 1] > 0).astype(int).",
        )
    if not 0.4 <= y.mean() <= 0.6:
        fail(f"Class 1 makes up {y.mean():.0%} of y_xor; keep both classes between 40% and 60%.")
    return X, y


@pytest.mark.points(1)
def test_a_linear_model_is_near_chance_on_xor(sub: Any) -> None:
    X, y = _xor_data(sub)
    stored = _number(sub.acc_linear, "acc_linear")
    acc = _logreg_accuracy(X, y, 100)
    if acc > 0.6:
        fail(
            f"LogisticRegression() reaches training accuracy {acc:.3f} on your XOR data; at most 0.6 is required.",
            hint="On a small or lopsided sample a line can still catch one quadrant. Make the data symmetric: "
            "draw points uniformly from [-1, 1]^2 and add their mirror images -X, which have the same labels.",
        )
    _matches(stored, acc, "acc_linear", "LogisticRegression().fit(X_xor, y_xor).score(X_xor, y_xor)")


@pytest.mark.points(1)
def test_a_feature_map_makes_xor_linear(sub: Any, rng: np.random.Generator) -> None:
    X, y = _xor_data(sub)
    stored = _number(sub.acc_mapped, "acc_mapped")
    phi = sub.feature_map
    features = _array(phi(X), "feature_map(X_xor)", 2)
    if len(features) != len(X):
        fail(f"`feature_map(X_xor)` has {len(features)} rows for {len(X)} points; keep one row per point.")
    acc = _logreg_accuracy(features, y, 1000)
    hint = (
        "Add the product x0 * x1 as a feature: its sign is the XOR label, so a linear model on "
        "[x0, x1, x0 * x1] separates the classes."
    )
    if acc < 0.9:
        fail(
            f"LogisticRegression(max_iter=1000) on feature_map(X_xor) reaches training accuracy {acc:.3f}; at "
            "least 0.9 is required.",
            hint=hint,
        )
    X_new, y_new = _xor(rng, 1000)
    # The learner's feature map runs in the kernel (it is their code); the model is fitted and scored here.
    new_features = _array(phi(X_new), "feature_map(X_new)", 2)
    if new_features.shape[0] != len(X_new) or new_features.shape[1] != features.shape[1]:
        fail(f"`feature_map` gives {new_features.shape} on {len(X_new)} fresh points; one row per point is needed.")
    with _single_threaded():
        held_out = float(LogisticRegression(max_iter=1000).fit(features, y).score(new_features, y_new))
    if held_out < 0.9:
        fail(
            f"Trained on feature_map(X_xor), the model scores only {held_out:.3f} on 1000 fresh XOR points: "
            "your feature map does not generalise.",
            hint="feature_map must compute features from X alone, the same way for any input. " + hint,
        )
    _matches(stored, acc, "acc_mapped", "LogisticRegression(max_iter=1000) on feature_map(X_xor)")


# ---------------------------------------------------------------- 3. distances


@pytest.mark.points(1)
def test_nearest_farthest_ratio(sub: Any, rng: np.random.Generator) -> None:
    hint = "Use Euclidean distances, with the square root: d_i = sqrt(sum((X[i] - q) ** 2)); return min(d) / max(d)."
    for n, d in ((30, 3), (200, 50)):
        X = rng.normal(size=(n, d))
        q = rng.normal(size=d)
        dist = np.linalg.norm(X - q, axis=1)
        got = _number(sub.nearest_farthest_ratio(X, q), "nearest_farthest_ratio(X, q)")
        expected = dist.min() / dist.max()
        if np.isclose(got, expected**2, rtol=1e-9):
            fail(f"nearest_farthest_ratio returned {got:.6g}, the ratio of *squared* distances.", hint=hint)
        assert_close(
            got, expected, rtol=1e-9, name=f"nearest_farthest_ratio on {n} points in {d} dimensions", hint=hint
        )
    X = rng.normal(size=(10, 4))
    got = _number(sub.nearest_farthest_ratio(X, X[3]), "nearest_farthest_ratio(X, X[3])")
    assert_close(got, 0.0, atol=1e-12, name="nearest_farthest_ratio(X, X[3]) (the query is a row of X)", hint=hint)


@pytest.mark.points(1)
def test_distance_ratio_tends_to_one(sub: Any) -> None:
    dims = [2, 10, 100, 1000]
    ratios = _array(sub.distance_ratios, "distance_ratios", 1).astype(np.float64)
    if ratios.shape != (4,):
        fail(f"`distance_ratios` has {ratios.shape[0]} values; expected 4, one per d in {dims}.")
    expected = []
    for d in dims:
        r = np.random.default_rng(0)
        X, queries = r.uniform(size=(500, d)), r.uniform(size=(20, d))
        dist = np.sqrt(((X[None, :, :] - queries[:, None, :]) ** 2).sum(axis=2))
        expected.append(float((dist.min(axis=1) / dist.max(axis=1)).mean()))
    assert_close(
        ratios,
        np.array(expected),
        rtol=1e-9,
        atol=1e-12,
        name="distance_ratios for dims [2, 10, 100, 1000]",
        hint="For each d: rng = np.random.default_rng(0); X = rng.uniform(size=(500, d)); queries = "
        "rng.uniform(size=(20, d)); the mean of nearest_farthest_ratio(X, q) over the 20 queries.",
    )
    if not (np.diff(ratios) > 0).all() or ratios[0] > 0.1 or ratios[-1] < 0.85:
        fail(
            f"distance_ratios {np.round(ratios, 3).tolist()} should rise from near 0 (d=2) to near 1 (d=1000).",
            hint="Uniform points, Euclidean distances, the mean ratio over the queries.",
        )


# ---------------------------------------------------------------- 4. separable logistic regression


@pytest.mark.points(1)
def test_logistic_weight_norms_follow_gradient_descent(sub: Any, rng: np.random.Generator) -> None:
    X = rng.normal(size=(60, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.8 * rng.normal(size=60) > 0).astype(np.int64)
    hint = (
        "Start from w = 0, b = 0; each step: p = sigmoid(X @ w + b), grad_w = X.T @ (p - y) / n + alpha * w, "
        "grad_b = mean(p - y), update both, then record np.linalg.norm(w)."
    )
    for alpha, lr in ((0.0, 0.5), (0.1, 0.3)):
        got = _array(
            sub.logistic_weight_norms(X, y, 150, learning_rate=lr, alpha=alpha),
            "logistic_weight_norms(...)",
            1,
        )
        if got.shape != (150,):
            fail(f"logistic_weight_norms(X, y, 150) returned {got.shape[0]} values, expected 150 (one per step).")
        assert_close(
            got,
            _norms(X, y, 150, lr, alpha),
            rtol=1e-7,
            atol=1e-10,
            name=f"logistic_weight_norms (alpha={alpha}, learning_rate={lr})",
            hint=hint + " Average the gradient over the samples, and do not penalise the bias.",
        )


@pytest.mark.points(1)
def test_weights_diverge_only_without_regularisation(sub: Any) -> None:
    X = _array(sub.X_sep, "X_sep", 2).astype(np.float64)
    y = _array(sub.y_sep, "y_sep", 1)
    if len(y) != len(X) or not 50 <= len(X) <= 1000 or X.shape[1] != 2 or not np.isin(y, [0, 1]).all():
        fail(f"`X_sep` {X.shape} and `y_sep` {y.shape} should be (n, 2) and (n,) labels 0/1 with 50 <= n <= 1000.")
    if np.abs(X).max() > 10:
        fail("Keep every feature of X_sep within [-10, 10], so that learning_rate=0.5 is a stable step.")
    if not _separable(X, y.astype(np.float64)):
        fail(
            "X_sep is not linearly separable: no line puts all the 0s on one side and all the 1s on the other.",
            hint="Use two well-separated blobs, e.g. centred at (-2, -2) and (2, 2) with standard deviation 0.7.",
        )
    free, penalised = _norms(X, y, 2000), _norms(X, y, 2000, alpha=0.01)
    hint = "norms_separable = logistic_weight_norms(X_sep, y_sep, 2000); norms_regularised adds alpha=0.01."
    for name, expected in (("norms_separable", free), ("norms_regularised", penalised)):
        got = _array(getattr(sub, name), name, 1)
        if got.shape != (2000,):
            fail(f"`{name}` has {got.shape[0]} values, expected 2000 (one per step).", hint=hint)
        assert_close(got, expected, rtol=1e-6, atol=1e-9, name=f"{name} (recomputed on X_sep, y_sep)", hint=hint)
    if not free[-1] > 1.1 * free[199] or not (np.diff(free[1000:]) > 0).all():
        fail(
            f"Without regularisation ||w|| only goes from {free[199]:.3f} (step 200) to {free[-1]:.3f} (step 2000).",
            hint="On separable data the norm keeps growing; check that the data are separable.",
        )
    if abs(penalised[-1] - penalised[999]) > 1e-3 * penalised[-1]:
        fail(f"With alpha=0.01 ||w|| still moves from {penalised[999]:.4f} to {penalised[-1]:.4f}.")


# ---------------------------------------------------------------- 5. the questions


@pytest.mark.points(0.5)
def test_answer_kmeans(sub: Any) -> None:
    _answer(sub, "answer_kmeans")


@pytest.mark.points(0.5)
def test_answer_xor(sub: Any) -> None:
    _answer(sub, "answer_xor")


@pytest.mark.points(0.5)
def test_answer_knn(sub: Any) -> None:
    _answer(sub, "answer_knn")


@pytest.mark.points(0.5)
def test_answer_logreg(sub: Any) -> None:
    _answer(sub, "answer_logreg")
