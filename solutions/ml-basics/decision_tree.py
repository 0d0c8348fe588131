"""A decision tree from scratch: Gini impurity, entropy, the best split, and a greedy tree (CART)."""

from __future__ import annotations

from typing import Any

import numpy as np


def gini(y: np.ndarray) -> float:
    """Gini impurity of a set of class labels.

    ``gini(y) = 1 - sum_k p_k ** 2``, where ``p_k`` is the fraction of the
    entries of ``y`` equal to the ``k``-th distinct label. Labels can be any
    values that ``np.unique`` can sort (ints such as ``[3, 7, 7]``, or strings);
    they are *not* assumed to be ``0..K-1``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels (1-D).

    Returns
    -------
    float
        A Python ``float`` in ``[0, 1 - 1/K]``: 0 for a pure set (one label),
        and ``0.0`` for an empty ``y``.
    """
    # BEGIN SOLUTION
    y = np.asarray(y)
    if y.size == 0:
        return 0.0
    _, counts = np.unique(y, return_counts=True)
    p = counts / y.size
    return float(1.0 - np.sum(p**2))
    # END SOLUTION


def entropy(y: np.ndarray) -> float:
    """Shannon entropy of a set of class labels, in **bits** (log base 2).

    ``entropy(y) = -sum_k p_k * log2(p_k)`` over the labels that occur in ``y``
    (a label with ``p_k = 0`` contributes 0, never NaN). Labels are arbitrary, as
    in :func:`gini`.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels (1-D).

    Returns
    -------
    float
        A Python ``float``: 0 for a pure set, ``log2(K)`` for ``K`` equally
        frequent labels, and ``0.0`` for an empty ``y``.
    """
    # BEGIN SOLUTION
    y = np.asarray(y)
    if y.size == 0:
        return 0.0
    _, counts = np.unique(y, return_counts=True)
    p = counts / y.size  # every p > 0: only labels that occur are counted
    return float(-np.sum(p * np.log2(p)))
    # END SOLUTION


def best_split(X: np.ndarray, y: np.ndarray, criterion: str = "gini") -> tuple[int | None, float | None, float]:
    """The axis-aligned split of ``(X, y)`` with the largest impurity decrease.

    A split is a pair ``(feature, threshold)``: the samples with
    ``X[:, feature] <= threshold`` go **left**, the others go right.

    **Candidates.** For each feature ``f``, let ``v_1 < v_2 < ... < v_m`` be the
    *distinct* values of ``X[:, f]``. The candidate thresholds are the midpoints
    ``(v_i + v_(i+1)) / 2`` for ``i = 1 .. m-1``, so both sides of every
    candidate are non-empty. A feature with a single distinct value has no
    candidate.

    **Gain.** With ``I`` the impurity function (:func:`gini` for
    ``criterion="gini"``, :func:`entropy` for ``"entropy"``), ``n`` samples,
    ``n_left`` of them going left::

        gain = I(y) - (n_left / n) * I(y_left) - (n_right / n) * I(y_right)

    i.e. each child's impurity is **weighted by its share of the samples**.

    **Ties.** Among candidates with the same (largest) gain, the one with the
    smallest ``feature`` index wins, then the smallest ``threshold``: scan the
    features in order, thresholds in increasing order, and replace the best so
    far only on a strictly larger gain. The best split is returned even when its
    gain is 0 (e.g. for a pure ``y`` or for XOR-like data).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Numeric features (2-D; converted to float64).
    y : array-like of shape (n_samples,)
        Class labels (arbitrary, as in :func:`gini`).
    criterion : {"gini", "entropy"}, default="gini"
        The impurity function; anything else raises ``ValueError``.

    Returns
    -------
    (feature, threshold, gain) : tuple[int, float, float]
        Python ``int``, ``float``, ``float``. If there is no candidate at all (no
        feature takes two distinct values, e.g. a single sample), returns
        ``(None, None, 0.0)``.
    """
    # BEGIN SOLUTION
    if criterion not in ("gini", "entropy"):
        raise ValueError(f"criterion must be 'gini' or 'entropy', got {criterion!r}")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X must be (n_samples, n_features) and y (n_samples,), got {X.shape} and {y.shape}")
    n = y.shape[0]
    if n < 2:
        return None, None, 0.0
    _, codes = np.unique(y, return_inverse=True)
    onehot = np.eye(codes.max() + 1)[codes]  # (n, n_classes)
    parent = _impurity(onehot.sum(axis=0), criterion)
    best: tuple[int | None, float | None, float] = (None, None, 0.0)
    best_gain = -np.inf
    for f in range(X.shape[1]):
        order = np.argsort(X[:, f], kind="stable")
        xs = X[order, f]
        left = np.cumsum(onehot[order], axis=0)[:-1]  # left[i - 1]: class counts of the first i samples
        right = onehot.sum(axis=0) - left
        valid = xs[:-1] < xs[1:]  # a threshold between two equal values is no split
        if not valid.any():
            continue
        n_left = np.arange(1, n)
        gains = parent - (n_left / n) * _impurity(left, criterion) - ((n - n_left) / n) * _impurity(right, criterion)
        gains = np.where(valid, gains, -np.inf)
        i = int(np.argmax(gains))  # the first maximum: the smallest threshold on ties
        if gains[i] > best_gain:
            best_gain = float(gains[i])
            best = (f, float((xs[i] + xs[i + 1]) / 2), best_gain)
    return best
    # END SOLUTION


def _impurity(counts: np.ndarray, criterion: str) -> np.ndarray:
    """Gini or entropy from class counts along the last axis (an optional helper for ``best_split``).

    ``counts`` has shape ``(..., n_classes)``; the result has shape ``(...)``. You may organise
    ``best_split`` differently and delete this helper.
    """
    # BEGIN SOLUTION
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=-1, keepdims=True)
    p = counts / np.maximum(total, 1.0)
    if criterion == "gini":
        return np.asarray(1.0 - np.sum(p**2, axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return np.asarray(-np.sum(terms, axis=-1))
    # END SOLUTION


class DecisionTreeClassifier:
    """A classification tree grown greedily with :func:`best_split` (like scikit-learn's).

    Parameters
    ----------
    max_depth : int or None, default=None
        The root has depth 0. A node at depth ``d`` may be split only if
        ``max_depth is None`` or ``d < max_depth``, so the fitted tree has depth
        at most ``max_depth``. Must be ``None`` or an int ``>= 1``, otherwise
        ``fit`` raises ``ValueError``.
    min_samples_split : int, default=2
        A node with fewer than ``min_samples_split`` samples is not split. An int
        ``>= 2``, otherwise ``fit`` raises ``ValueError``.
    criterion : {"gini", "entropy"}, default="gini"
        Impurity used by :func:`best_split`; anything else raises ``ValueError``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The distinct labels of ``y``, sorted (``np.unique(y)``).
    n_features_in_ : int
        Number of features seen in ``fit``.
    depth_ : int
        Depth of the fitted tree: the largest depth of any leaf (0 if the root is a leaf).
    n_leaves_ : int
        Number of leaves.
    tree_ : object
        The fitted tree, in a representation of your choice (the grader never reads it).

    Notes
    -----
    ``fit`` grows the tree from the root, recursively. A node becomes a **leaf**
    if any of these holds:

    - all its samples have the same label (it is pure);
    - it has fewer than ``min_samples_split`` samples;
    - its depth equals ``max_depth``;
    - :func:`best_split` finds no candidate (all its rows are identical).

    Otherwise it is split at ``best_split(X_node, y_node, criterion)``, **even if
    the gain is 0** (this is what lets a tree learn XOR). Samples with
    ``x[feature] <= threshold`` go to the left child.

    A leaf predicts the most frequent label among its training samples; a tie
    goes to the **smallest** label. ``predict`` sends each row down the tree
    with the same ``<=`` rule. Labels may be arbitrary (e.g. ``[3, 7, 10]``):
    ``predict`` returns values from ``classes_``. ``fit`` never modifies ``X`` or
    ``y``. ``predict`` before ``fit`` raises ``RuntimeError``.
    """

    classes_: np.ndarray
    n_features_in_: int
    depth_: int
    n_leaves_: int
    tree_: Any

    def __init__(self, max_depth: int | None = None, min_samples_split: int = 2, criterion: str = "gini") -> None:
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.criterion = criterion

    def fit(self, X: np.ndarray, y: np.ndarray) -> DecisionTreeClassifier:
        """Grow the tree.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features (2-D; converted to float64).
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : DecisionTreeClassifier
            The fitted estimator, with ``classes_``, ``n_features_in_``,
            ``depth_`` and ``n_leaves_`` set.
        """
        # BEGIN SOLUTION
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0] or X.shape[0] == 0:
            raise ValueError(f"X must be (n_samples, n_features) and y (n_samples,), got {X.shape} and {y.shape}")
        if self.max_depth is not None and (not isinstance(self.max_depth, int | np.integer) or self.max_depth < 1):
            raise ValueError(f"max_depth must be None or an int >= 1, got {self.max_depth!r}")
        if not isinstance(self.min_samples_split, int | np.integer) or self.min_samples_split < 2:
            raise ValueError(f"min_samples_split must be an int >= 2, got {self.min_samples_split!r}")
        if self.criterion not in ("gini", "entropy"):
            raise ValueError(f"criterion must be 'gini' or 'entropy', got {self.criterion!r}")
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.n_features_in_ = X.shape[1]
        self.tree_ = self._grow(X, codes, depth=0)
        self.depth_, self.n_leaves_ = self._shape(self.tree_)
        return self
        # END SOLUTION

    def _grow(self, X: np.ndarray, codes: np.ndarray, depth: int) -> dict[str, Any]:
        """Grow the subtree of one node (an optional helper for ``fit``).

        ``X`` and ``codes`` are the node's samples, with labels encoded as indices into
        ``classes_``; ``depth`` is the node's depth (0 at the root). The node representation
        is up to you: this solution uses ``{"label": i}`` for a leaf and
        ``{"feature", "threshold", "left", "right"}`` for a split.
        """
        # BEGIN SOLUTION
        counts = np.bincount(codes, minlength=len(self.classes_))
        leaf: dict[str, Any] = {"label": int(np.argmax(counts))}  # the first maximum: the smallest label
        if (
            np.count_nonzero(counts) == 1
            or len(codes) < self.min_samples_split
            or (self.max_depth is not None and depth >= self.max_depth)
        ):
            return leaf
        feature, threshold, _ = best_split(X, codes, self.criterion)
        if feature is None:
            return leaf
        go_left = X[:, feature] <= threshold
        return {
            "feature": feature,
            "threshold": threshold,
            "left": self._grow(X[go_left], codes[go_left], depth + 1),
            "right": self._grow(X[~go_left], codes[~go_left], depth + 1),
        }
        # END SOLUTION

    @staticmethod
    def _shape(node: dict[str, Any]) -> tuple[int, int]:
        """(depth, number of leaves) of a subtree (an optional helper for ``fit``)."""
        # BEGIN SOLUTION
        if "label" in node:
            return 0, 1
        dl, nl = DecisionTreeClassifier._shape(node["left"])
        dr, nr = DecisionTreeClassifier._shape(node["right"])
        return 1 + max(dl, dr), nl + nr
        # END SOLUTION

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted label of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            With ``n_features_in_`` columns, otherwise ``ValueError``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels taken from ``classes_`` (same dtype as ``classes_``).

        Raises
        ------
        RuntimeError
            If the model has not been fitted yet.
        """
        # BEGIN SOLUTION
        if not hasattr(self, "tree_"):
            raise RuntimeError("This DecisionTreeClassifier instance is not fitted yet; call fit first")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have shape (n_samples, {self.n_features_in_}), got {X.shape}")
        out = np.empty(X.shape[0], dtype=np.int64)
        stack = [(self.tree_, np.arange(X.shape[0]))]
        while stack:
            node, rows = stack.pop()
            if "label" in node:
                out[rows] = node["label"]
                continue
            go_left = X[rows, node["feature"]] <= node["threshold"]
            stack.append((node["left"], rows[go_left]))
            stack.append((node["right"], rows[~go_left]))
        return self.classes_[out]
        # END SOLUTION
