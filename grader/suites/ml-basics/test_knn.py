"""Hidden suite for ml-basics/knn: `KNNClassifier` (vectorised distances, pinned tie-breaking).

Ties are tested on small-integer and half-integer data, where every squared distance is exact in
float64 whichever formula the learner uses, so "equal distance" means exactly equal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from grader.helpers import assert_close, assert_equal, expect_raises, fail

# Runs in the learner's kernel: counts the line and call events that run in the learner's file
# during model.kneighbors(X). Loop-free code runs the same lines whatever the sizes.
_TRACE_PROBE_SRC = """
def probe(model, X):
    import inspect
    import sys
    filename = inspect.getfile(type(model))
    count = [0]
    def local(frame, event, arg):
        if event == "line":
            count[0] += 1
        return local
    def on_call(frame, event, arg):
        if frame.f_code.co_filename == filename:
            count[0] += 1
            return local
        return None
    old = sys.gettrace()
    sys.settrace(on_call)
    try:
        model.kneighbors(X)
    finally:
        sys.settrace(old)
    return count[0]
"""
_TRACE_PROBE = f"(lambda ns: (exec({_TRACE_PROBE_SRC!r}, ns), ns['probe'])[1])({{}})"

# Runs in the learner's kernel: fits copies of X and y and reports them before and after, plus
# whether fit returned the estimator itself.
_FIT_PROBE = """
lambda model, X, y: (lambda X, y: (lambda X_before, y_before, fitted: (
    X_before, y_before, X, y, fitted is model
))(X.copy(), y.copy(), model.fit(X, y)))(X.copy(), y.copy())
""".strip()

_SORT = (
    "For each query (each row of the (n_queries, n_train) distance matrix), sort along axis=1 with "
    'np.argsort(d, axis=1, kind="stable") and keep the first k columns.'
)
_DIST_TIES = (
    "Equal distances must keep the lower training index first: sort each row with a stable sort, "
    'np.argsort(d, axis=1, kind="stable"); argpartition and the default quicksort do not keep that order.'
)
_VOTE = (
    "Count the votes per class in classes_ (sorted ascending) and take np.argmax, which returns the first "
    "maximum: a tie goes to the smaller label. Return the label from classes_, not its position."
)


# ---------------------------------------------------------------- references (grader side)


def _ref_kneighbors(train: np.ndarray, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    d2 = ((X[:, None, :] - train[None, :, :]) ** 2).sum(axis=2)
    order = np.argsort(d2, axis=1, kind="stable")[:, :k]
    return np.sqrt(np.take_along_axis(d2, order, axis=1)), order


def _ref_predict(train: np.ndarray, y: np.ndarray, X: np.ndarray, k: int) -> np.ndarray:
    _, idx = _ref_kneighbors(train, X, k)
    classes = np.unique(y)
    votes = (y[idx][:, :, None] == classes[None, None, :]).sum(axis=1)
    pred: np.ndarray = classes[np.argmax(votes, axis=1)]
    return pred


def _neighbours(model: Any, X: np.ndarray, k: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Call kneighbors and check the types and shapes of its two arrays."""
    __tracebackhide__ = True
    got = model.kneighbors(X)
    if not isinstance(got, tuple | list) or len(got) != 2:
        fail(f"`kneighbors` ({what}) should return a tuple (distances, indices), got a {type(got).__name__}.")
    dist, idx = got
    for name, arr in (("distances", dist), ("indices", idx)):
        if not isinstance(arr, np.ndarray) or arr.shape != (len(X), k):
            shape = f"shape {arr.shape}" if isinstance(arr, np.ndarray) else f"a {type(arr).__name__}"
            fail(
                f"`kneighbors` ({what}): {name} should be an ndarray of shape ({len(X)}, {k}), got {shape}.",
                hint="One row per query, one column per neighbour.",
            )
    if idx.dtype.kind not in "iu":
        fail(f"`kneighbors` ({what}): indices have dtype {idx.dtype}, expected int64.", hint="argsort gives int64.")
    return dist, idx


def _neighbours_follow(model: Any, train: np.ndarray, X: np.ndarray, k: int, what: str, rtol: float = 1e-7) -> None:
    """`what` is wrong: if the model's own kneighbors already disagrees on X, say that it follows from it."""
    __tracebackhide__ = True
    got = model.kneighbors(X)
    ref_d, ref_i = _ref_kneighbors(train, X, k)
    ok = isinstance(got, tuple | list) and len(got) == 2
    if ok:
        d, i = (np.asarray(a) for a in got)
        ok = d.shape == ref_d.shape and i.shape == ref_i.shape
        ok = ok and bool(np.allclose(d, ref_d, rtol=rtol, atol=1e-6)) and bool(np.array_equal(i, ref_i))
    if not ok:
        fail(
            f"{what}; this follows from `kneighbors`, which already returns the wrong neighbours for these "
            "queries (see its tests above). Fix kneighbors first."
        )


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(2)
def test_kneighbors_matches_sklearn(sub: Any, rng: np.random.Generator) -> None:
    train = rng.normal(size=(40, 3))
    y = rng.integers(0, 3, size=40)
    X = rng.normal(size=(15, 3))
    k = 4
    model = sub.KNNClassifier(k=k).fit(train, y)
    dist, idx = _neighbours(model, X, k, "k=4, 15 queries, 40 training samples")
    ref_dist, ref_idx = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(train).kneighbors(X)
    if np.isnan(dist).any():
        fail("`kneighbors` returned NaN distances.", hint="Clip the squared distances at 0 before np.sqrt.")
    if np.allclose(dist, ref_dist**2, rtol=1e-6, atol=1e-9):
        fail(
            "`kneighbors` returned squared distances.",
            hint="distances are Euclidean, not squared: take np.sqrt of the squared distances.",
        )
    if idx.max() < len(X) <= ref_idx.max():
        fail(
            f"`kneighbors` returned indices up to {idx.max()}, below the number of queries ({len(X)}), though "
            "the training set has 40 samples: you sorted the distance matrix along the wrong axis.",
            hint=_SORT,
        )
    assert_equal(idx, ref_idx, name="indices from kneighbors", hint=_SORT)
    assert_close(
        dist,
        ref_dist,
        rtol=1e-6,
        atol=1e-6,
        name="distances from kneighbors",
        hint="Euclidean distances to the neighbours, ascending along each row.",
    )


@pytest.mark.points(1)
def test_distance_ties_go_to_the_lower_training_index(sub: Any, rng: np.random.Generator) -> None:
    train = rng.integers(0, 4, size=(30, 2)).astype(np.float64)  # a 4x4 grid: many duplicates and ties
    X = np.vstack([rng.integers(0, 4, size=(10, 2)), rng.integers(0, 4, size=(10, 2)) + 0.5])
    y = rng.integers(0, 2, size=30)
    for k in (3, 6):
        dist, idx = _neighbours(sub.KNNClassifier(k=k).fit(train, y), X, k, f"k={k}")
        ref_dist, ref_idx = _ref_kneighbors(train, X, k)
        assert_close(dist, ref_dist, rtol=1e-9, atol=1e-7, name=f"distances (k={k}, integer grid)")
        assert_equal(idx, ref_idx, name=f"indices (k={k}, many equal distances)", hint=_DIST_TIES)


@pytest.mark.points(1)
def test_a_training_point_is_its_own_nearest_neighbour(sub: Any, rng: np.random.Generator) -> None:
    # far from the origin, ||a||^2 - 2 a.b + ||b||^2 rounds to small negative numbers when a == b
    train = rng.normal(10.0, 1.0, size=(60, 4))
    model = sub.KNNClassifier(k=2).fit(train, np.arange(60) % 2)
    dist, idx = _neighbours(model, train, 2, "queries = training set")
    if not np.isnan(dist).any() and not (dist < 0).any():
        near = rng.normal(size=(20, 4))
        if not np.allclose(dist[:, 0], 0.0, atol=1e-5) or not np.array_equal(idx[:, 0], np.arange(60)):
            _neighbours_follow(
                sub.KNNClassifier(k=2).fit(near, np.arange(20) % 2),
                near,
                near[:5] + 0.1,
                2,
                "The nearest neighbour of a training point is not itself",
            )
    if np.isnan(dist).any():
        fail(
            f"`kneighbors` returned NaN distances for {int(np.isnan(dist[:, 0]).sum())} of 60 queries that are "
            "training points themselves.",
            hint="The expansion ||a||^2 - 2 a.b + ||b||^2 can round to a tiny negative number when a == b, and "
            "np.sqrt of it is NaN: clip at 0 first, np.maximum(d2, 0.0).",
        )
    if (dist < 0).any():
        fail("`kneighbors` returned negative distances.", hint="Distances are >= 0: clip squared distances at 0.")
    assert_close(
        dist[:, 0],
        np.zeros(60),
        rtol=0,
        atol=1e-5,
        name="distance of each training point to itself",
        hint="Each training point is at distance 0 from itself.",
    )
    assert_equal(idx[:, 0], np.arange(60), name="nearest neighbour of each training point", hint=_SORT)


@pytest.mark.points(2)
def test_kneighbors_has_no_python_loop(sub: Any, rng: np.random.Generator) -> None:
    probe = sub.eval(_TRACE_PROBE)
    counts = []
    for n_train, n_queries in ((8, 4), (120, 60)):
        train = rng.normal(size=(n_train, 3))
        model = sub.KNNClassifier(k=3).fit(train, rng.integers(0, 2, size=n_train))
        counts.append(probe(model, rng.normal(size=(n_queries, 3))))
    if counts[1] - counts[0] > 20:
        fail(
            f"`kneighbors` ran {counts[0]} lines of your code for 4 queries and 8 training samples, but "
            f"{counts[1]} for 60 queries and 120 training samples: it has a Python loop (or comprehension) "
            "over the samples.",
            hint="Compute the whole (n_queries, n_train) distance matrix at once, by broadcasting "
            "((X[:, None, :] - X_[None, :, :]) ** 2).sum(axis=2) or by the expansion "
            "||a||^2 - 2 a.b + ||b||^2 with one matrix product X @ X_.T.",
        )


@pytest.mark.points(2)
def test_predict_matches_sklearn_with_arbitrary_labels(sub: Any, rng: np.random.Generator) -> None:
    labels = np.array([-1, 4, 9])
    centres = rng.normal(0, 1.5, size=(3, 2))
    codes = rng.integers(0, 3, size=60)
    train = centres[codes] + rng.normal(size=(60, 2))
    y = labels[codes]
    X = rng.normal(0, 2, size=(40, 2))
    for k in (1, 5):
        pred = sub.KNNClassifier(k=k).fit(train, y).predict(X)
        if not isinstance(pred, np.ndarray) or pred.shape != (40,):
            fail(f"`predict` should return an ndarray of shape (40,), got {pred!r}.")
        if set(np.unique(pred).tolist()) <= {0, 1, 2} and not set(np.unique(pred).tolist()) <= set(labels.tolist()):
            fail(
                f"With labels {labels.tolist()}, `predict` returned {sorted(set(pred.tolist()))}: positions in "
                "classes_, not labels.",
                hint=_VOTE,
            )
        expected = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(train, y).predict(X)
        if not np.array_equal(pred, expected):
            _neighbours_follow(sub.KNNClassifier(k=k).fit(train, y), train, X, k, f"`predict` (k={k}) is wrong")
        assert_equal(pred, expected, name=f"predict (k={k}, labels {labels.tolist()})", hint=_VOTE)
    own = sub.KNNClassifier(k=1).fit(train, y).predict(train)
    assert_equal(own, y, name="predict(training set) with k=1", hint="With k=1 each training point is its own vote.")


@pytest.mark.points(1)
def test_vote_ties_go_to_the_smaller_label(sub: Any, rng: np.random.Generator) -> None:
    # on a line: label 9 at 0, label 4 at 1, label 7 at 2; with k=2 every query between two of them is a tie
    train = np.array([[0.0], [1.0], [2.0]])
    y = np.array([9, 4, 7])
    X = np.array([[0.25], [0.75], [1.25], [1.75]])
    assert_equal(
        sub.KNNClassifier(k=2).fit(train, y).predict(X),
        np.array([4, 4, 4, 4]),
        name="predict with k=2 (each query has one vote for each of two labels)",
        hint="A tie in votes goes to the smaller label, whichever neighbour is nearer. " + _VOTE,
    )
    # many ties in votes and distances at once
    grid = rng.integers(0, 4, size=(40, 2)).astype(np.float64)
    y = rng.choice(np.array([2, 5, 8]), size=40)
    X = rng.integers(0, 4, size=(30, 2)) + 0.5
    pred = sub.KNNClassifier(k=4).fit(grid, y).predict(X)
    if not np.array_equal(pred, _ref_predict(grid, y, X, 4)):
        _neighbours_follow(sub.KNNClassifier(k=4).fit(grid, y), grid, X, 4, "`predict` with k=4 on a grid is wrong")
    assert_equal(
        pred,
        _ref_predict(grid, y, X, 4),
        name="predict with k=4 on an integer grid (ties in distance and in votes)",
        hint=_VOTE + " " + _DIST_TIES,
    )


@pytest.mark.points(1)
def test_fit_contract_and_input_validation(sub: Any, rng: np.random.Generator) -> None:
    train, y = rng.normal(size=(10, 2)), rng.integers(0, 2, size=10)
    model = sub.KNNClassifier(k=3)
    X_before, y_before, X_after, y_after, is_self = sub.eval(_FIT_PROBE)(model, train, y)
    if not is_self:
        fail("`fit` did not return the estimator itself.", hint="End fit with `return self`.")
    hint = "Never modify the caller's arrays: store copies in X_ and y_."
    assert_equal(X_after, X_before, name="X after fit", hint=hint)
    assert_equal(y_after, y_before, name="y after fit", hint=hint)
    assert_equal(model.classes_, np.array([0, 1]), name="classes_", hint="classes_ is np.unique(y).")
    with expect_raises(
        "RuntimeError", name="predict before fit", hint="Check for X_ and raise RuntimeError if fit has not run."
    ):
        sub.KNNClassifier().predict(train)
    with expect_raises("RuntimeError", name="kneighbors before fit", hint="Raise RuntimeError before fit."):
        sub.KNNClassifier().kneighbors(train)
    with expect_raises(
        "ValueError", name="fit with k=11 > n_samples=10", hint="Raise ValueError unless 1 <= k <= n_samples."
    ):
        sub.KNNClassifier(k=11).fit(train, y)
    with expect_raises("ValueError", name="fit with k=0", hint="Raise ValueError unless 1 <= k <= n_samples."):
        sub.KNNClassifier(k=0).fit(train, y)
    with expect_raises(
        "ValueError",
        name="kneighbors of queries with 3 columns (trained on 2)",
        hint="kneighbors raises ValueError when X does not have the training set's number of columns.",
    ):
        model.kneighbors(rng.normal(size=(4, 3)))
