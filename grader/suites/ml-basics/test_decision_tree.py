"""Hidden suite for ml-basics/decision_tree: `gini`, `entropy`, `best_split`, `DecisionTreeClassifier`.

The trees are compared with scikit-learn's on data where the greedy tree is free of ties: the suite
grows its own reference tree first and keeps a data set only if, at every split, the best gain beats
every other candidate by a clear margin (then no tie-breaking rule can change the tree). scikit-learn
works in float32, so every feature value here is float32-representable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy
from sklearn.tree import DecisionTreeClassifier as SkTree

from grader.helpers import assert_close, assert_equal, expect_raises, fail

_FIT_PROBE = """
lambda model, X, y: (lambda X, y: (lambda X_before, y_before, fitted: (
    X_before, y_before, X, y, fitted is model
))(X.copy(), y.copy(), model.fit(X, y)))(X.copy(), y.copy())
""".strip()

_WEIGHTED = (
    "gain = I(y) - (n_left / n) * I(y_left) - (n_right / n) * I(y_right): weight each child's impurity by its "
    "share of the samples, not a plain sum or average."
)
_MIDPOINT = (
    "The threshold is the midpoint (v_i + v_(i+1)) / 2 between two consecutive distinct sorted values of the "
    "feature, and samples with x <= threshold go left."
)
_STOP_RULES = (
    "A node is a leaf when it is pure, has fewer than min_samples_split samples, sits at depth max_depth (the "
    "root has depth 0), or has no candidate split; otherwise split it at best_split, even with gain 0."
)
_MARGIN = 1e-6  # a reference split must beat every other candidate by this much for the data to count as tie-free


# ---------------------------------------------------------------- reference (grader side)


def _impurity(counts: np.ndarray, criterion: str) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    p = counts / np.maximum(counts.sum(axis=-1, keepdims=True), 1.0)
    if criterion == "gini":
        return 1.0 - (p**2).sum(axis=-1)
    safe = np.where(p > 0, p, 1.0)
    return -(p * np.log2(safe)).sum(axis=-1)


def _candidates(X: np.ndarray, y: np.ndarray, criterion: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every candidate split as arrays (feature, threshold, weighted gain), features then thresholds ascending."""
    n = len(y)
    _, codes = np.unique(y, return_inverse=True)
    onehot = np.eye(codes.max() + 1)[codes]
    parent = _impurity(onehot.sum(axis=0), criterion)
    feats, thrs, gains = [], [], []
    for f in range(X.shape[1]):
        order = np.argsort(X[:, f], kind="stable")
        xs = X[order, f]
        left = np.cumsum(onehot[order], axis=0)[:-1]
        right = onehot.sum(axis=0) - left
        nl = np.arange(1, n)
        g = parent - nl / n * _impurity(left, criterion) - (n - nl) / n * _impurity(right, criterion)
        ok = np.flatnonzero(xs[:-1] < xs[1:])
        feats.append(np.full(len(ok), f))
        thrs.append((xs[ok] + xs[ok + 1]) / 2)
        gains.append(g[ok])
    if not feats:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    return np.concatenate(feats), np.concatenate(thrs), np.concatenate(gains)


def _best(cands: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[int | None, float | None, float]:
    """The pinned best split: the first largest gain (smallest feature, then smallest threshold)."""
    feats, thrs, gains = cands
    if len(gains) == 0:
        return None, None, 0.0
    i = int(np.argmax(gains))
    return int(feats[i]), float(thrs[i]), float(gains[i])


def _grow(
    X: np.ndarray, y: np.ndarray, depth: int, max_depth: int | None, mss: int, criterion: str
) -> tuple[dict[str, Any], bool]:
    """Reference tree, and whether every split in it won by a clear margin."""
    labels, counts = np.unique(y, return_counts=True)
    leaf = {"label": labels[np.argmax(counts)]}
    if len(labels) == 1 or len(y) < mss or (max_depth is not None and depth >= max_depth):
        return leaf, True
    cands = _candidates(X, y, criterion)
    f, t, _ = _best(cands)
    if f is None:
        return leaf, True
    top2 = np.sort(cands[2])[-2:]
    clear = len(top2) < 2 or top2[1] - top2[0] > _MARGIN
    mask = X[:, f] <= t
    left, ok_l = _grow(X[mask], y[mask], depth + 1, max_depth, mss, criterion)
    right, ok_r = _grow(X[~mask], y[~mask], depth + 1, max_depth, mss, criterion)
    return {"feature": f, "threshold": t, "left": left, "right": right}, clear and ok_l and ok_r


def _f32(a: np.ndarray) -> np.ndarray:
    """Values that scikit-learn's float32 trees see exactly."""
    return a.astype(np.float32).astype(np.float64)


def _rectangles(rng: np.random.Generator, n: int, n_features: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Labels that are constant on axis-aligned boxes of the first three features (3 classes, labels 2, 5, 9)."""
    X = _f32(rng.uniform(-1, 1, size=(n, n_features)))
    code = ((X[:, 0] > -0.4).astype(int) + (X[:, 0] > 0.5) + 2 * (X[:, 1] > 0.1) + (X[:, 2] > 0.6)) % 3
    return X, np.array([2, 5, 9])[code]


def _tie_free(
    rng: np.random.Generator, n: int, *, max_depth: int | None, mss: int = 2, criteria: tuple[str, ...] = ("gini",)
) -> tuple[np.ndarray, np.ndarray]:
    """A rectangles data set whose reference trees (for every criterion) have no near-tie at any split."""
    for _ in range(50):
        X, y = _rectangles(rng, n)
        if all(_grow(X, y, 0, max_depth, mss, c)[1] for c in criteria):
            return X, y
    raise RuntimeError("the suite found no tie-free data set")  # never happens: ties need small nodes


def _sklearn(X: np.ndarray, y: np.ndarray, **params: Any) -> SkTree:
    return SkTree(random_state=0, **params).fit(X, y)


# ---------------------------------------------------------------- reading the learner's answers


def _as_float(value: Any, name: str, hint: str | None = None) -> float:
    __tracebackhide__ = True
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        fail(f"`{name}` should return a float, but it returned a {type(value).__name__}.", hint or "Use float(...).")
    return float(value)


def _split(sub: Any, X: np.ndarray, y: np.ndarray, criterion: str | None = None) -> tuple[Any, Any, float]:
    __tracebackhide__ = True
    out = sub.best_split(X, y) if criterion is None else sub.best_split(X, y, criterion=criterion)
    if not isinstance(out, tuple | list) or len(out) != 3:
        fail(
            f"`best_split` should return a tuple (feature, threshold, gain), but it returned {out!r:.80}.",
            hint="return feature, threshold, gain",
        )
    feature, threshold, gain = out
    return feature, threshold, _as_float(gain, "best_split(...)[2] (the gain)")


def _check_split(sub: Any, X: np.ndarray, y: np.ndarray, criterion: str | None, what: str) -> tuple[int, float, float]:
    """The learner's best split must be a best candidate, with the right gain."""
    __tracebackhide__ = True
    crit = criterion or "gini"
    cands = _candidates(X, y, crit)
    best = _best(cands)
    feature, threshold, gain = _split(sub, X, y, criterion)
    if feature is None or threshold is None:
        fail(
            f"`best_split` ({what}) returned no split, expected feature {best[0]} at threshold {best[1]:.6g}.",
            hint="Return (None, None, 0.0) only when no feature takes two distinct values.",
        )
    if isinstance(feature, bool) or not isinstance(feature, int | np.integer) or not 0 <= feature < X.shape[1]:
        fail(f"`best_split` ({what}) returned feature {feature!r}; expected a column index 0..{X.shape[1] - 1}.")
    threshold = _as_float(threshold, "best_split(...)[1] (the threshold)")
    feats, thrs, gains = cands
    mine = np.flatnonzero((feats == feature) & (np.abs(thrs - threshold) <= 1e-12 * np.maximum(1.0, np.abs(thrs))))
    if len(mine) == 0:
        column = X[:, feature]
        if np.isclose(column, threshold, rtol=0, atol=1e-12).any():
            fail(
                f"`best_split` ({what}) returned threshold {threshold:.8g} for feature {feature}, which is one "
                f"of the data values; the pinned threshold is a midpoint between two values (here the best "
                f"split is feature {best[0]} at {best[1]:.8g}).",
                hint=_MIDPOINT,
            )
        fail(
            f"`best_split` ({what}) returned threshold {threshold:.8g} for feature {feature}, which is not a "
            f"candidate; the best split is feature {best[0]} at threshold {best[1]:.8g}.",
            hint=_MIDPOINT,
        )
    g_ref = float(gains[mine[0]])
    if crit == "entropy" and (g_ref < best[2] - 1e-12 or not np.isclose(gain, g_ref, rtol=1e-9, atol=1e-12)):
        gini_best = _best(_candidates(X, y, "gini"))
        g_gini = _candidates(X, y, "gini")[2][mine[0]]
        if (feature, threshold) == gini_best[:2] or np.isclose(gain, g_gini, rtol=1e-9, atol=1e-12):
            fail(
                f"`best_split` ({what}) returned feature {feature} at {threshold:.6g} with gain {gain:.8g}: that is "
                f"what Gini gives; with entropy the best split is feature {best[0]} at {best[1]:.8g}, gain "
                f"{best[2]:.8g}.",
                hint="criterion='entropy' scores the splits with entropy (in bits) instead of gini.",
            )
    if g_ref < best[2] - 1e-12:
        # is the learner optimising an unweighted gain?
        fail(
            f"`best_split` ({what}) chose feature {feature} at {threshold:.6g} with a weighted gain of "
            f"{g_ref:.6g}, but feature {best[0]} at {best[1]:.6g} has a larger gain, {best[2]:.6g}.",
            hint=_WEIGHTED,
        )
    if not np.isclose(gain, g_ref, rtol=1e-9, atol=1e-12):
        fail(
            f"`best_split` ({what}) reports gain {gain:.8g} for feature {feature} at {threshold:.6g}; the "
            f"weighted impurity decrease of that split is {g_ref:.8g}.",
            hint=_WEIGHTED,
        )
    return int(feature), threshold, gain


def _fitted_tree(model: Any, X_test: np.ndarray, what: str, labels: np.ndarray) -> tuple[np.ndarray, int, int]:
    """predict(X_test), depth_ and n_leaves_ of a fitted learner tree, type-checked."""
    __tracebackhide__ = True
    pred = model.predict(X_test)
    if not isinstance(pred, np.ndarray) or pred.shape != (len(X_test),):
        fail(f"`predict` ({what}) should return an ndarray of shape ({len(X_test)},), got {pred!r:.80}.")
    if not np.isin(pred, labels).all():
        fail(
            f"`predict` ({what}) returned labels {np.unique(pred).tolist()[:6]}, but the training labels are "
            f"{np.unique(labels).tolist()}.",
            hint="Return labels taken from classes_ (np.unique(y)), not the class indices 0..K-1.",
        )
    depth, leaves = model.depth_, model.n_leaves_
    for name, value in (("depth_", depth), ("n_leaves_", leaves)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            fail(f"`{name}` ({what}) should be an int, but it is a {type(value).__name__}.")
    return pred, int(depth), int(leaves)


def _blame_best_split(
    sub: Any,
    X: np.ndarray,
    y: np.ndarray,
    what: str,
    max_depth: int | None = None,
    min_samples_split: int = 2,
    criterion: str = "gini",
) -> None:
    """The learner's tree is wrong: if its `best_split` already disagrees at a node of the reference tree, say that
    the tree's failure follows from it (without a hint about growing trees, which may be right)."""
    __tracebackhide__ = True
    stack = [(X, y, 0)]
    while stack:
        Xn, yn, depth = stack.pop()
        if len(np.unique(yn)) == 1 or len(yn) < min_samples_split or (max_depth is not None and depth >= max_depth):
            continue
        f, t, _ = _best(_candidates(Xn, yn, criterion))
        if f is None:
            continue
        out = sub.best_split(Xn, yn, criterion=criterion)
        if not isinstance(out, tuple | list) or len(out) != 3 or out[0] != f or not np.isclose(out[1], t, atol=1e-12):
            fail(
                f"Your tree ({what}) differs from scikit-learn's, but this follows from `best_split` above: on the "
                f"{len(yn)} samples of a depth-{depth} node it returns {tuple(out)!r:.80} where the best split is "
                f"feature {f} at threshold {t:.8g}. Fix best_split first."
            )
        mask = Xn[:, f] <= t
        stack += [(Xn[mask], yn[mask], depth + 1), (Xn[~mask], yn[~mask], depth + 1)]


def _compare_with_sklearn(
    sub: Any, X: np.ndarray, y: np.ndarray, X_test: np.ndarray, what: str, hint: str, **params: Any
) -> None:
    __tracebackhide__ = True
    sk = _sklearn(X, y, **params)
    pred, depth, leaves = _fitted_tree(sub.DecisionTreeClassifier(**params).fit(X, y), X_test, what, y)
    if (depth, leaves) != (sk.get_depth(), sk.get_n_leaves()) or not np.array_equal(pred, sk.predict(X_test)):
        _blame_best_split(sub, X, y, what, **params)
    max_depth = params.get("max_depth")
    if max_depth is not None and depth > max_depth:
        fail(
            f"With max_depth={max_depth} ({what}) your tree has depth_ {depth}.",
            hint="Do not split a node whose depth equals max_depth (the root has depth 0). " + _STOP_RULES,
        )
    assert_equal(depth, int(sk.get_depth()), name=f"depth_ ({what}), against sklearn", hint=hint)
    assert_equal(leaves, int(sk.get_n_leaves()), name=f"n_leaves_ ({what}), against sklearn", hint=hint)
    assert_equal(pred, sk.predict(X_test), name=f"predict on new points ({what}), against sklearn", hint=hint)


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(1)
def test_gini_and_entropy(sub: Any, rng: np.random.Generator) -> None:
    cases = [
        np.array([3, 3, 3, 3]),
        np.array([0, 1]),
        np.array([7, 2, 7, 7, 9, 2, 7]),
        rng.integers(0, 5, size=40) * 3 + 1,
    ]
    for y in cases:
        p = np.unique(y, return_counts=True)[1] / len(y)
        g = _as_float(sub.gini(y), "gini")
        assert_close(
            g,
            1.0 - (p**2).sum(),
            rtol=1e-12,
            atol=1e-12,
            name=f"gini({y.tolist()})",
            hint="gini(y) = 1 - sum_k p_k**2 over the distinct labels of y (labels need not be 0..K-1).",
        )
        h = _as_float(sub.entropy(y), "entropy")
        expected = float(scipy_entropy(p, base=2))
        if len(p) > 1 and np.isclose(h, expected * np.log(2), rtol=1e-9):
            fail(
                f"`entropy({y.tolist()})` is {h:.8g}, which is in nats; expected {expected:.8g} bits.",
                hint="Use log base 2: entropy(y) = -sum_k p_k * np.log2(p_k).",
            )
        assert_close(
            h,
            expected,
            rtol=1e-12,
            atol=1e-12,
            name=f"entropy({y.tolist()})",
            hint="entropy(y) = -sum_k p_k * log2(p_k) over the labels that occur (log base 2, in bits).",
        )
    empty = np.array([], dtype=np.int64)
    for fn in ("gini", "entropy"):
        value = _as_float(getattr(sub, fn)(empty), fn)
        if value != 0.0:
            fail(f"`{fn}` of an empty array is {value!r}, expected 0.0.", hint="Return 0.0 for an empty y.")


@pytest.mark.public
@pytest.mark.points(2)
def test_best_split_finds_the_largest_weighted_gain(sub: Any, rng: np.random.Generator) -> None:
    # unbalanced children: a plain sum or average of the child impurities picks other splits
    n = 60
    X = np.column_stack(
        [
            rng.normal(size=n),
            rng.integers(0, 6, size=n).astype(float),  # repeated values: thresholds only between distinct ones
            rng.uniform(-2, 2, size=n),
        ]
    )
    y = np.where(X[:, 0] + 0.5 * X[:, 2] > 1.0, 4, np.where(X[:, 1] > 3, 1, 0))
    y[rng.choice(n, 6, replace=False)] = 1
    for criterion in (None, "entropy"):
        _check_split(sub, X, y, criterion, what="gini by default" if criterion is None else "criterion='entropy'")
    # a tiny pure child against a larger, nearly pure one: only the weighted gain picks the latter
    y2 = np.array([0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0])
    _, t, _ = _check_split(sub, np.arange(12.0)[:, None], y2, None, what=f"x=0..11, y={y2.tolist()}")
    assert_close(t, 3.5, rtol=0, atol=1e-12, name=f"the threshold for x=0..11, y={y2.tolist()}", hint=_WEIGHTED)


@pytest.mark.points(1)
def test_best_split_ties_and_degenerate_inputs(sub: Any, rng: np.random.Generator) -> None:
    tie_hint = (
        "On equal gains keep the smallest feature index, then the smallest threshold: scan features in order and "
        "thresholds increasing, and replace the best only on a strictly larger gain."
    )
    # columns 0 and 2 are identical and both give the best split: the lower index wins
    base = _f32(rng.uniform(size=30))
    X = np.column_stack([base, rng.uniform(size=30), base])
    y = (base > 0.5).astype(int)
    feature, _, _ = _split(sub, X, y)
    assert_equal(feature, 0, name="feature (columns 0 and 2 are identical)", hint=tie_hint)
    # mirrored labels: thresholds 1.5 and 3.5 give the same gain; the smaller one wins
    feature, threshold, gain = _split(sub, np.array([[1.0], [2.0], [3.0], [4.0]]), np.array([0, 1, 1, 0]))
    if threshold not in (1.5, 2.5, 3.5):
        fail(f"`best_split` for x=[1,2,3,4], y=[0,1,1,0] returned threshold {threshold!r}.", hint=_MIDPOINT)
    assert_close(threshold, 1.5, rtol=0, atol=1e-12, name="threshold for x=[1,2,3,4], y=[0,1,1,0]", hint=tie_hint)
    assert_close(gain, 0.5 - 0.75 * (4 / 9), rtol=1e-12, name="gain for x=[1,2,3,4], y=[0,1,1,0]", hint=_WEIGHTED)
    # repeated values: the only candidate is between 1 and 2
    _, threshold, _ = _split(sub, np.array([[1.0], [1.0], [2.0], [2.0], [2.0]]), np.array([0, 1, 0, 1, 1]))
    assert_close(threshold, 1.5, rtol=0, atol=1e-12, name="threshold for x=[1,1,2,2,2]", hint=_MIDPOINT)
    # a pure y still gets its best split, with gain 0
    feature, threshold, gain = _split(sub, np.array([[0.0, 5.0], [1.0, 5.0], [2.0, 5.0]]), np.array([1, 1, 1]))
    if (feature, threshold, gain) != (0, 0.5, 0.0):
        fail(
            f"`best_split` of a pure y returned ({feature!r}, {threshold!r}, {gain!r}), expected (0, 0.5, 0.0).",
            hint="Every candidate has gain 0 here; by the tie rule the first one (feature 0, threshold 0.5) wins.",
        )
    # nothing to split on
    for X_flat, what in ((np.array([[1.0, 2.0]] * 4), "identical rows"), (np.array([[3.0, 1.0]]), "one sample")):
        out = _split(sub, X_flat, np.array([0, 1, 0, 1])[: len(X_flat)])
        if out[0] is not None or out[1] is not None or out[2] != 0.0:
            fail(
                f"`best_split` with {what} returned {out!r}, expected (None, None, 0.0).",
                hint="When no feature takes two distinct values there is no candidate: return (None, None, 0.0).",
            )


@pytest.mark.public
@pytest.mark.points(1)
def test_tree_matches_sklearn(sub: Any, rng: np.random.Generator) -> None:
    X_test = _f32(rng.uniform(-1, 1, size=(400, 4)))
    X, y = _tie_free(rng, 160, max_depth=None, criteria=("gini", "entropy"))
    for criterion in ("gini", "entropy"):
        _compare_with_sklearn(
            sub,
            X,
            y,
            X_test,
            f"criterion={criterion!r}, no depth limit",
            hint="Grow the tree greedily with best_split. " + _STOP_RULES,
            criterion=criterion,
        )


def _predict_ref(node: dict[str, Any], X: np.ndarray) -> np.ndarray:
    if "label" in node:
        return np.full(len(X), node["label"])
    left = X[:, node["feature"]] <= node["threshold"]
    out = np.empty(len(X), dtype=np.asarray(_predict_ref(node["left"], X[:1])).dtype)
    out[left] = _predict_ref(node["left"], X[left])
    out[~left] = _predict_ref(node["right"], X[~left])
    return out


@pytest.mark.points(1)
def test_entropy_criterion_reaches_the_tree(sub: Any, rng: np.random.Generator) -> None:
    # noisy labels on a few points: a data set whose gini and entropy trees (both tie-free) predict differently
    X_test = _f32(rng.uniform(-1, 1, size=(300, 3)))
    for _ in range(200):
        X = _f32(rng.uniform(-1, 1, size=(40, 3)))
        y = np.array([2, 5, 9])[rng.integers(0, 3, size=40)]
        trees = {c: _grow(X, y, 0, 2, 2, c) for c in ("gini", "entropy")}
        if all(ok for _, ok in trees.values()):
            preds = {c: _predict_ref(t, X_test) for c, (t, _) in trees.items()}
            if not np.array_equal(preds["gini"], preds["entropy"]):
                break
    else:
        raise RuntimeError("the suite found no data set where gini and entropy trees differ")
    model = sub.DecisionTreeClassifier(max_depth=2, criterion="entropy").fit(X, y)
    pred, _, _ = _fitted_tree(model, X_test, "criterion='entropy', max_depth=2", y)
    if not np.array_equal(pred, preds["entropy"]):
        _blame_best_split(sub, X, y, "criterion='entropy', max_depth=2", max_depth=2, criterion="entropy")
    if np.array_equal(pred, preds["gini"]):
        fail(
            "With criterion='entropy' your tree predicts exactly what the Gini tree predicts on this data, where "
            "the entropy tree differs.",
            hint="Pass the tree's criterion on to best_split at every node: criterion='entropy' must reach the "
            "split search.",
        )
    assert_equal(
        pred,
        preds["entropy"],
        name="predict of a max_depth=2 tree grown with criterion='entropy'",
        hint="Grow the tree with best_split(X_node, y_node, criterion) at every node. " + _STOP_RULES,
    )


@pytest.mark.points(1)
def test_max_depth_is_respected(sub: Any, rng: np.random.Generator) -> None:
    X_test = _f32(rng.uniform(-1, 1, size=(300, 4)))
    for max_depth in (1, 2, 4):
        X, y = _tie_free(rng, 240, max_depth=max_depth)
        _compare_with_sklearn(
            sub,
            X,
            y,
            X_test,
            f"max_depth={max_depth}",
            hint="Stop at max_depth: the root has depth 0 and a node at depth max_depth is a leaf. "
            "A leaf predicts its most frequent label. " + _STOP_RULES,
            max_depth=max_depth,
        )


@pytest.mark.points(1)
def test_min_samples_split_is_respected(sub: Any, rng: np.random.Generator) -> None:
    X_test = _f32(rng.uniform(-1, 1, size=(300, 4)))
    for mss in (25, 60):
        X, y = _tie_free(rng, 240, max_depth=None, mss=mss)
        _compare_with_sklearn(
            sub,
            X,
            y,
            X_test,
            f"min_samples_split={mss}",
            hint=f"A node with fewer than min_samples_split samples is a leaf; one with exactly {mss} may split. "
            + _STOP_RULES,
            min_samples_split=mss,
        )


@pytest.mark.points(1)
def test_zero_gain_splits_and_leaf_ties(sub: Any) -> None:
    # XOR: every root split has gain 0, yet two levels classify all four points
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    model = sub.DecisionTreeClassifier().fit(X, y)
    pred, depth, _ = _fitted_tree(model, X, "XOR", y)
    if depth == 0 or not np.array_equal(pred, y):
        fail(
            f"On the four XOR points your tree predicts {pred.tolist()} (depth_ {depth}), expected {y.tolist()}.",
            hint="Split an impure node even when the best gain is 0: on XOR the first split gains nothing, "
            "the second one makes the leaves pure. A node with exactly min_samples_split samples (2 by default) "
            "may still split.",
        )
    # a leaf with tied counts predicts the smallest label; labels are arbitrary values
    model = sub.DecisionTreeClassifier(min_samples_split=10).fit(np.arange(4.0)[:, None], np.array([7, 3, 7, 3]))
    pred, depth, leaves = _fitted_tree(
        model, np.array([[0.0], [3.0]]), "one leaf with labels 7, 3, 7, 3", np.array([3, 7])
    )
    assert_equal(
        (depth, leaves),
        (0, 1),
        name="(depth_, n_leaves_) with 4 samples and min_samples_split=10",
        hint="A node with fewer than min_samples_split samples is a leaf.",
    )
    assert_equal(
        pred,
        np.array([3, 3]),
        name="predict of a leaf holding labels [7, 3, 7, 3]",
        hint="A tie in a leaf goes to the smallest label (np.argmax over counts of np.unique's sorted labels).",
    )
    # x <= threshold goes left
    model = sub.DecisionTreeClassifier().fit(np.array([[0.0], [2.0]]), np.array([0, 1]))
    pred = model.predict(np.array([[1.0], [1.0000001]]))
    if not np.array_equal(pred, [0, 1]) and _split(sub, np.array([[0.0], [2.0]]), np.array([0, 1]))[1] != 1.0:
        fail(
            f"Trained on x=[0, 2], y=[0, 1], your tree predicts {pred.tolist()} at x=1.0 and just above, expected "
            "[0, 1]; this follows from the threshold `best_split` returns for these two points (see above)."
        )
    assert_equal(
        pred,
        np.array([0, 1]),
        name="predict at and just above the threshold 1.0 (trained on x=[0, 2], y=[0, 1])",
        hint="A sample with x <= threshold goes left (to the side of the smaller values).",
    )


@pytest.mark.points(1)
def test_estimator_contract(sub: Any, rng: np.random.Generator) -> None:
    X, y = _rectangles(rng, 50)
    X_before, y_before, X_after, y_after, is_self = sub.eval(_FIT_PROBE)(sub.DecisionTreeClassifier(), X, y)
    if not is_self:
        fail("`fit` did not return the estimator itself.", hint="End fit with `return self`.")
    assert_equal(X_after, X_before, name="X after fit", hint="fit must not modify the caller's X.")
    assert_equal(y_after, y_before, name="y after fit", hint="fit must not modify the caller's y.")
    model = sub.DecisionTreeClassifier(max_depth=2).fit(X, y)
    assert_equal(
        np.asarray(model.classes_),
        np.unique(y),
        name="classes_",
        hint="classes_ is np.unique(y): the sorted distinct labels.",
    )
    assert_equal(model.n_features_in_, 4, name="n_features_in_", hint="The number of columns of X seen in fit.")
    with expect_raises(
        "RuntimeError",
        name="predict before fit",
        hint="Raise RuntimeError in predict when fit has not run yet.",
    ):
        sub.DecisionTreeClassifier().predict(X)
    with expect_raises("ValueError", name="fit with max_depth=0", hint="max_depth must be None or an int >= 1."):
        sub.DecisionTreeClassifier(max_depth=0).fit(X, y)
    with expect_raises("ValueError", name="fit with min_samples_split=1", hint="min_samples_split must be >= 2."):
        sub.DecisionTreeClassifier(min_samples_split=1).fit(X, y)
    with expect_raises(
        "ValueError", name="fit with criterion='log_loss'", hint="criterion must be 'gini' or 'entropy'."
    ):
        sub.DecisionTreeClassifier(criterion="log_loss").fit(X, y)
    with expect_raises(
        "ValueError", name="best_split with criterion='log_loss'", hint="criterion must be 'gini' or 'entropy'."
    ):
        sub.best_split(X, y, criterion="log_loss")
    with expect_raises(
        "ValueError",
        name="predict with 5 columns on a tree fitted on 4",
        hint="predict raises ValueError when X does not have n_features_in_ columns.",
    ):
        model.predict(np.hstack([X, X[:, :1]]))
