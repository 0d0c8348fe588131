"""Hidden suite for ml-basics/model_selection: splits, k-fold, stratified k-fold, leak-free cross-validation.

Unshuffled k-fold is compared with scikit-learn's KFold exactly; everything random is checked through
properties (sizes, disjointness, coverage, class balance, reproducibility), so any faithful use of the
generator passes. `cross_val_score` is run with a recording model built in the learner's kernel: it keeps
what each fold's `fit` and `predict` received, so the suite sees the scaling of every fold.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from sklearn.model_selection import KFold

from grader.helpers import assert_close, assert_equal, expect_raises, fail

# Built in the learner's kernel: a namespace whose `make()` returns a fresh 1-nearest-neighbour classifier (NumPy
# only, so nothing new is imported there) that records the arrays given to fit and predict (ns.fits, ns.predicts)
# and counts how many models were made (ns.made).
_RECORDER = """
(lambda types, np: (lambda ns: (
    setattr(ns, "Model", type("RecordingModel", (), {
        "__init__": lambda self: ns.made.append(1),
        "fit": lambda self, X, y: (
            ns.fits.append((np.array(X, dtype=float), np.array(y))),
            setattr(self, "X", np.array(X, dtype=float)),
            setattr(self, "y", np.array(y)),
            self,
        )[3],
        "predict": lambda self, X: (
            ns.predicts.append(np.array(X, dtype=float)),
            self.y[np.argmin(((np.asarray(X, dtype=float)[:, None, :] - self.X[None, :, :]) ** 2).sum(axis=2), axis=1)],
        )[1],
    })),
    setattr(ns, "make", lambda: ns.Model()),
    ns,
)[2])(types.SimpleNamespace(fits=[], predicts=[], made=[])))(__import__("types"), __import__("numpy"))
""".strip()


def _one_nn(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray) -> np.ndarray:
    """The recorder's model, on the grader side."""
    return y_train[np.argmin(((X_test[:, None, :] - X_train[None, :, :]) ** 2).sum(axis=2), axis=1)]


_COVER = (
    "The test folds must cover every index 0..n-1 exactly once: the first n % k folds get n // k + 1 indices, the "
    "others n // k, so no index is dropped when k does not divide n."
)
_LEAK = (
    "Fit the scaling on the training fold only: mu = X[train].mean(axis=0), sd = X[train].std(axis=0), and use "
    "them for both X[train] and X[test]. Statistics of all of X leak the test fold into training."
)
_RARE = (
    "Every class, even a rare class with fewer than k samples, must be spread over the folds: deal the indices "
    "grouped by class round-robin over the folds (index i of the grouped list goes to fold i % k)."
)


# ---------------------------------------------------------------- reading the learner's folds


def _folds(value: Any, n: int, k: int, what: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The learner's folds, checked for type, count, disjointness and coverage."""
    __tracebackhide__ = True
    if not isinstance(value, list | tuple) or len(value) != k:
        got = f"{len(value)} items" if isinstance(value, list | tuple) else f"a {type(value).__name__}"
        fail(f"{what} should return a list of {k} (train_idx, test_idx) pairs, but it returned {got}.")
    out = []
    for j, pair in enumerate(value):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            fail(f"Fold {j} of {what} is not a (train_idx, test_idx) pair.")
        train, test = (np.asarray(a) for a in pair)
        for name, arr in (("train_idx", train), ("test_idx", test)):
            if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
                fail(f"{name} of fold {j} ({what}) should be a 1-D integer array, got dtype {arr.dtype}.")
        out.append((train.astype(np.int64), test.astype(np.int64)))
    seen = np.concatenate([t for _, t in out])
    counts = np.bincount(seen, minlength=n) if seen.size else np.zeros(n, dtype=np.int64)
    if seen.size and (seen.min() < 0 or seen.max() >= n):
        fail(f"The test folds of {what} hold indices outside 0..{n - 1}.")
    if (counts > 1).any():
        fail(f"Index {int(np.argmax(counts > 1))} is in {int(counts.max())} test folds ({what}).", hint=_COVER)
    if (counts == 0).any():
        missing = np.flatnonzero(counts == 0)
        fail(f"Indices {missing[:8].tolist()} are in no test fold ({what}, n={n}, k={k}).", hint=_COVER)
    for j, (train, test) in enumerate(out):
        expected = np.setdiff1d(np.arange(n), test)
        if len(train) != len(expected) or not np.array_equal(np.sort(train), expected):
            fail(
                f"train_idx of fold {j} ({what}) is not the complement of its test_idx.",
                hint="train_idx holds every index that is not in the fold's test_idx, each once.",
            )
    return out


def _sizes_ok(folds: list[tuple[np.ndarray, np.ndarray]], what: str, hint: str) -> None:
    __tracebackhide__ = True
    sizes = [len(t) for _, t in folds]
    if max(sizes) - min(sizes) > 1:
        fail(f"The test folds of {what} have sizes {sizes}; they may differ by at most 1.", hint=hint)


def _split(sub: Any, X: np.ndarray, y: np.ndarray, **kw: Any) -> tuple[np.ndarray, ...]:
    __tracebackhide__ = True
    out = sub.train_test_split(X, y, **kw)
    if not isinstance(out, tuple | list) or len(out) != 4:
        fail("`train_test_split` should return (X_train, X_test, y_train, y_test).")
    return tuple(np.asarray(a) for a in out)


def _ids_of_split(parts: tuple[np.ndarray, ...], n: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Row ids (column 0 of X) of both parts, after checking that X and y stay paired and cover the data."""
    __tracebackhide__ = True
    X_tr, X_te, y_tr, y_te = parts
    ids_tr, ids_te = X_tr[:, 0].astype(np.int64), X_te[:, 0].astype(np.int64)
    if len(X_tr) != len(y_tr) or len(X_te) != len(y_te):
        fail(f"X and y parts have different lengths ({what}).")
    if not (np.array_equal(y_tr, 1000 + ids_tr) and np.array_equal(y_te, 1000 + ids_te)):
        fail(
            f"The rows of X and the entries of y are no longer paired ({what}).",
            hint="Index X and y with the same index arrays: X[train], y[train] and X[test], y[test].",
        )
    both = np.concatenate([ids_tr, ids_te])
    if len(both) != n or not np.array_equal(np.sort(both), np.arange(n)):
        fail(f"The two parts do not hold every sample exactly once ({what}).")
    return ids_tr, ids_te


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(2)
def test_kfold_matches_sklearn_without_shuffle(sub: Any) -> None:
    for n, k in ((10, 5), (23, 5), (7, 3), (12, 12)):
        what = f"kfold_indices({n}, {k})"
        folds = _folds(sub.kfold_indices(n, k), n, k, what)
        for j, ((train, test), (e_train, e_test)) in enumerate(zip(folds, KFold(k).split(np.zeros(n)), strict=True)):
            if len(test) != len(e_test):
                fail(
                    f"Test fold {j} of {what} has {len(test)} indices, expected {len(e_test)}.",
                    hint="The first n % k folds get n // k + 1 indices, the others n // k. " + _COVER,
                )
            assert_equal(
                test,
                e_test,
                name=f"test_idx of fold {j} ({what})",
                hint="Without shuffling, fold j is the next block of consecutive indices, sorted ascending.",
            )
            assert_equal(train, e_train, name=f"train_idx of fold {j} ({what})", hint="Sorted ascending.")
    for k in (1, 8):
        with expect_raises("ValueError", name=f"kfold_indices(7, {k})", hint="k must satisfy 2 <= k <= n."):
            sub.kfold_indices(7, k)


@pytest.mark.points(1)
def test_kfold_shuffle(sub: Any) -> None:
    n, k = 53, 4
    what = f"kfold_indices({n}, {k}, shuffle=True, random_state=...)"
    first = _folds(sub.kfold_indices(n, k, shuffle=True, random_state=5), n, k, what)
    _sizes_ok(first, what, _COVER)
    sizes = [len(t) for _, t in first]
    assert_equal(sizes, [14, 13, 13, 13], name=f"fold sizes ({what})", hint=_COVER)
    again = _folds(sub.kfold_indices(n, k, shuffle=True, random_state=5), n, k, what)
    for (_, a), (_, b) in zip(first, again, strict=True):
        assert_equal(
            np.sort(b),
            np.sort(a),
            name="a test fold of a second call with the same random_state",
            hint="Shuffle with np.random.default_rng(random_state).permutation(n): same seed, same folds.",
        )
    other = _folds(sub.kfold_indices(n, k, shuffle=True, random_state=6), n, k, what)
    plain = np.arange(14)
    if np.array_equal(np.sort(first[0][1]), plain) or all(
        np.array_equal(np.sort(a), np.sort(b)) for (_, a), (_, b) in zip(first, other, strict=True)
    ):
        fail(
            "With shuffle=True the folds are not shuffled (or do not depend on random_state).",
            hint="With shuffle=True, permute the indices with np.random.default_rng(random_state) before cutting "
            "them into folds.",
        )


@pytest.mark.public
@pytest.mark.points(2)
def test_stratified_kfold_keeps_class_proportions(sub: Any, rng: np.random.Generator) -> None:
    k = 5
    # classes of 40, 17, 9, 3 and 1 samples: two rare ones with fewer than k samples; labels are not 0..K-1
    y = rng.permutation(np.repeat(np.array([7, 2, 11, 5, 20]), [40, 17, 9, 3, 1]))
    n = len(y)
    for shuffle in (False, True):
        what = f"stratified_kfold_indices(y, {k}, shuffle={shuffle})"
        raw = sub.stratified_kfold_indices(y, k, shuffle=shuffle, random_state=3)
        try:
            folds = _folds(raw, n, k, what)
        except pytest.fail.Exception as exc:
            counts = np.bincount(np.concatenate([np.asarray(t) for _, t in raw]), minlength=n)
            rare = [int(c) for c in (5, 20) if (counts[y == c] == 0).any()]
            if rare:
                fail(f"{exc.msg.splitlines()[0]} They include samples of the rare classes {rare}.", hint=_RARE)
            raise
        for c in np.unique(y):
            per_fold = [int((y[t] == c).sum()) for _, t in folds]
            n_c = int((y == c).sum())
            if max(per_fold) - min(per_fold) > 1:
                fail(
                    f"Class {c} ({n_c} samples) is spread over the test folds as {per_fold} ({what}); each fold "
                    f"should get {n_c // k} or {math.ceil(n_c / k)}.",
                    hint=_RARE if n_c < k else "Spread each class evenly: its counts per fold may differ by at most 1.",
                )
        _sizes_ok(
            folds,
            what,
            "Keep the fold sizes within 1 of each other too: deal the class-grouped indices round-robin and carry "
            "the position on from one class to the next instead of restarting each class at fold 0.",
        )


@pytest.mark.public
@pytest.mark.points(1)
def test_train_test_split_sizes_and_pairing(sub: Any, rng: np.random.Generator) -> None:
    n = 41
    X = np.column_stack([np.arange(n), rng.normal(size=n)])  # column 0 identifies the row
    y = 1000 + np.arange(n)
    for test_size, n_test in ((0.25, 11), (0.5, 21), (7, 7)):
        what = f"test_size={test_size}, n={n}"
        parts = _split(sub, X, y, test_size=test_size, random_state=0)
        if len(parts[1]) != n_test:
            hint = "An int test_size is the number of test rows." if isinstance(test_size, int) else ""
            fail(
                f"With {what} the test part has {len(parts[1])} rows, expected {n_test}.",
                hint=hint or "n_test = ceil(test_size * n): round up, as scikit-learn does.",
            )
        _ids_of_split(parts, n, what)
    a = _ids_of_split(_split(sub, X, y, test_size=0.3, random_state=4), n, "random_state=4")
    b = _ids_of_split(_split(sub, X, y, test_size=0.3, random_state=4), n, "random_state=4 again")
    c = _ids_of_split(_split(sub, X, y, test_size=0.3, random_state=5), n, "random_state=5")
    hint = "Draw with rng = np.random.default_rng(random_state): the same seed gives the same split."
    assert_equal(np.sort(b[1]), np.sort(a[1]), name="test rows of a second split with random_state=4", hint=hint)
    if np.array_equal(np.sort(a[1]), np.sort(c[1])) or np.array_equal(np.sort(a[1]), np.arange(n - 13, n)):
        fail("The test rows do not change with random_state, or are simply the last rows.", hint=hint)
    for bad in (0.0, 1.0, 0, n):
        with expect_raises("ValueError", name=f"train_test_split with test_size={bad!r}", hint="Reject empty parts."):
            sub.train_test_split(X, y, test_size=bad)


@pytest.mark.points(1)
def test_train_test_split_stratified(sub: Any, rng: np.random.Generator) -> None:
    counts = {"a": 50, "b": 27, "c": 13, "d": 6, "e": 4}
    labels = rng.permutation(np.repeat(np.array(list(counts)), list(counts.values())))
    n = len(labels)
    X = np.column_stack([np.arange(n), rng.normal(size=n)])
    y = 1000 + np.arange(n)
    for test_size in (0.3, 0.15):
        n_test = math.ceil(test_size * n)
        what = f"stratify=labels, test_size={test_size}"
        parts = _split(sub, X, y, test_size=test_size, random_state=1, stratify=labels)
        _, ids_te = _ids_of_split(parts, n, what)
        if len(ids_te) != n_test:
            fail(
                f"With {what} the test part has {len(ids_te)} rows, expected ceil({test_size} * {n}) = {n_test}.",
                hint="Give each class floor(n_test * n_c / n) rows, then hand the remaining slots one each to the "
                "classes with the largest fractional parts, so the total is exactly n_test.",
            )
        for c, n_c in counts.items():
            got = int((labels[ids_te] == c).sum())
            share = n_test * n_c / n
            if got not in (math.floor(share), math.ceil(share)):
                allowed = f"{math.floor(share)} or {math.ceil(share)}" if share % 1 else f"exactly {int(share)}"
                fail(
                    f"With {what}, class {c!r} ({n_c} of {n} rows) has {got} test rows; stratify should give it "
                    f"{allowed}.",
                    hint="With stratify, each class keeps its share of the test part: floor or ceil of "
                    "n_test * n_c / n.",
                )


@pytest.mark.public
@pytest.mark.points(2)
def test_cross_val_score_scales_inside_each_fold(sub: Any, rng: np.random.Generator) -> None:
    n, k = 48, 4  # k divides n: the folds are the same whatever a remainder rule does
    X = np.column_stack(
        [rng.normal(0, 1, n), rng.normal(50, 10, n), np.full(n, 3.0), rng.uniform(0, 1000, n)]
    )  # a constant column: its sd is 0 and must become 1
    X[-6:, 0] += 40.0  # the last fold has outliers: leaking its statistics changes every other fold's scaling
    y = (X[:, 0] + (X[:, 1] - 50) / 10 > 0.3).astype(np.int64)
    ns = sub.eval(_RECORDER)
    scores = sub.cross_val_score(ns.make, X, y, k=k)
    fits, predicts = ns.fits, ns.predicts
    if len(fits) != k or len(predicts) != k:
        fail(f"With k={k}, the models were fit {len(fits)} times and asked to predict {len(predicts)} times.")
    for j, (train, test) in enumerate(KFold(k).split(X)):
        mu, sd = X[train].mean(axis=0), X[train].std(axis=0)
        sd[sd == 0] = 1.0
        fit_X, fit_y = fits[j]
        if np.isnan(fit_X).any():
            fail(f"The training data of fold {j} contain NaN.", hint="Replace a standard deviation of 0 by 1.")
        expected = (X[train] - mu) / sd
        if fit_X.shape != expected.shape:
            fail(f"Fold {j}'s model was fit on {fit_X.shape[0]} rows, expected {len(train)} (the other folds).")
        all_mu, all_sd = X.mean(axis=0), X.std(axis=0)
        all_sd[all_sd == 0] = 1.0
        if np.allclose(fit_X, (X[train] - all_mu) / all_sd, rtol=1e-9, atol=1e-9):
            fail(f"Fold {j}'s training data were scaled with the mean and std of all of X.", hint=_LEAK)
        assert_close(
            fit_X,
            expected,
            rtol=1e-9,
            atol=1e-9,
            name=f"the scaled training data given to fit in fold {j}",
            hint=_LEAK + " Use ddof=0 (np.std's default) and replace sd == 0 by 1.",
        )
        assert_equal(fit_y, y[train], name=f"the labels given to fit in fold {j}", hint="Fit on y[train].")
        pred_X = predicts[j]
        if pred_X.shape == (len(test), X.shape[1]) and not np.allclose(pred_X, (X[test] - mu) / sd, atol=1e-9):
            t_mu, t_sd = X[test].mean(axis=0), X[test].std(axis=0)
            own = np.allclose(pred_X, (X[test] - t_mu) / np.where(t_sd == 0, 1.0, t_sd), atol=1e-9)
            fail(
                f"Fold {j}'s test rows were scaled with " + ("their own statistics." if own else "other statistics."),
                hint="Scale the test fold with the training fold's mean and std: (X[test] - mu) / sd. " + _LEAK,
            )
        assert_close(
            pred_X,
            (X[test] - mu) / sd,
            rtol=1e-9,
            atol=1e-9,
            name=f"the scaled test rows given to predict in fold {j}",
            hint="predict((X[test] - mu) / sd) with the training fold's mu and sd.",
        )
    expected_scores = []
    for train, test in KFold(k).split(X):
        mu, sd = X[train].mean(axis=0), X[train].std(axis=0)
        sd[sd == 0] = 1.0
        pred = _one_nn((X[train] - mu) / sd, y[train], (X[test] - mu) / sd)
        expected_scores.append(np.mean(pred == y[test]))
    if not isinstance(scores, np.ndarray) or scores.shape != (k,):
        fail(f"`cross_val_score` should return an ndarray of shape ({k},), got {scores!r:.80}.")
    assert_close(
        scores,
        np.array(expected_scores),
        rtol=1e-12,
        name="cross_val_score",
        hint="Each score is the accuracy mean(predict(X_test_scaled) == y[test]) of its fold, in fold order.",
    )


@pytest.mark.points(1)
def test_cross_val_score_uses_a_fresh_model_per_fold(sub: Any, rng: np.random.Generator) -> None:
    n, k = 30, 3
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] > 0).astype(np.int64)
    ns = sub.eval(_RECORDER)
    scores = sub.cross_val_score(ns.make, X, y, k=k, shuffle=True, random_state=2)
    made = len(ns.made)
    if made != k:
        fail(
            f"make_model() was called {made} times for k={k} folds.",
            hint="Call make_model() once per fold, inside the loop: a model reused across folds can carry what it "
            "learned on one fold into the next.",
        )
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (k,) or not ((scores >= 0) & (scores <= 1)).all():
        fail(f"`cross_val_score` returned {scores}, expected {k} accuracies in [0, 1].")
    again = np.asarray(sub.cross_val_score(sub.eval(_RECORDER).make, X, y, k=k, shuffle=True, random_state=2))
    assert_close(
        again,
        scores,
        rtol=0,
        name="cross_val_score run twice with shuffle=True, random_state=2",
        hint="Pass shuffle and random_state on to kfold_indices.",
    )
