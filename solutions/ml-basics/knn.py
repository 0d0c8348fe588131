"""k-nearest-neighbour classification from scratch, with all distances computed without loops."""

from __future__ import annotations

import numpy as np


class KNNClassifier:
    """Classify by a majority vote of the ``k`` nearest training samples (Euclidean distance).

    Parameters
    ----------
    k : int, default=5
        Number of neighbours. ``fit`` raises ``ValueError`` unless ``1 <= k <= n_samples``.

    Attributes
    ----------
    X_ : ndarray of shape (n_samples, n_features)
        A float64 copy of the training inputs.
    y_ : ndarray of shape (n_samples,)
        A copy of the training labels.
    classes_ : ndarray of shape (n_classes,)
        The distinct labels, sorted ascending (``np.unique(y)``).

    Notes
    -----
    - Labels are integers of any value (for example -1, 4 and 9): they need not be
      ``0 .. n_classes - 1``, so never use a label as an index or with ``np.bincount``
      directly. ``predict`` returns values taken from ``classes_``.
    - **Ties in distance** go to the lower training index: two training samples at the same
      distance from a query appear in ``kneighbors`` in increasing index order, and if only
      one of them fits among the ``k`` nearest, the lower index is kept. A stable sort of each
      row does exactly that: ``np.argsort(d, axis=1, kind="stable")``.
    - **Ties in votes** go to the smaller label.
    - ``kneighbors`` computes every query-to-training distance at once with array operations:
      no Python loop (nor comprehension, ``np.vectorize`` or ``np.apply_along_axis``) over
      queries or training samples. Either broadcasting or the expansion
      ``||a - b||^2 = ||a||^2 - 2 a.b + ||b||^2`` (one matrix product) will do; the expansion
      can round to tiny negative numbers when ``a == b``, so clip at 0 before the square root.
    - ``fit`` raises ``ValueError`` if ``X`` is not 2-D or ``y`` not 1-D of length
      ``n_samples``; it never modifies ``X`` or ``y``. ``kneighbors`` and ``predict`` before
      ``fit`` raise ``RuntimeError``.
    """

    X_: np.ndarray
    y_: np.ndarray
    classes_: np.ndarray

    def __init__(self, k: int = 5) -> None:
        self.k = k

    def fit(self, X: np.ndarray, y: np.ndarray) -> KNNClassifier:
        """Memorise the training set.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Integer class labels.

        Returns
        -------
        self : KNNClassifier
            The fitted estimator itself.
        """
        # BEGIN SOLUTION
        X = np.array(X, dtype=np.float64)  # np.array copies: the caller's array is never shared
        y = np.array(y)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"y must be 1-D with {X.shape[0]} entries, got shape {y.shape}")
        if not 1 <= self.k <= X.shape[0]:
            raise ValueError(f"k must be between 1 and n_samples={X.shape[0]}, got {self.k}")
        self.X_ = X
        self.y_ = y
        self.classes_ = np.unique(y)
        return self
        # END SOLUTION

    def kneighbors(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest training samples of each query.

        Parameters
        ----------
        X : ndarray of shape (n_queries, n_features)

        Returns
        -------
        distances : ndarray of shape (n_queries, k), float64
            Euclidean distances (not squared), ascending along each row.
        indices : ndarray of shape (n_queries, k), int64
            Row indices into ``X_`` of those neighbours, in the same order; equal distances
            are ordered by increasing index.

        Raises
        ------
        RuntimeError
            If the model has not been fitted yet.
        """
        # BEGIN SOLUTION
        if not hasattr(self, "X_"):
            raise RuntimeError("This KNNClassifier instance is not fitted yet; call fit first")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.X_.shape[1]:
            raise ValueError(f"X must have shape (n_queries, {self.X_.shape[1]}), got {X.shape}")
        sq_q = (X**2).sum(axis=1)[:, None]  # (n_queries, 1)
        sq_t = (self.X_**2).sum(axis=1)[None, :]  # (1, n_train)
        d2 = np.maximum(sq_q - 2.0 * X @ self.X_.T + sq_t, 0.0)  # (n_queries, n_train); rounding can go < 0
        order = np.argsort(d2, axis=1, kind="stable")[:, : self.k]  # (n_queries, k); ties: lower index first
        distances = np.sqrt(np.take_along_axis(d2, order, axis=1))
        return distances, order.astype(np.int64)
        # END SOLUTION

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Majority label among the ``k`` nearest neighbours of each query.

        Parameters
        ----------
        X : ndarray of shape (n_queries, n_features)

        Returns
        -------
        labels : ndarray of shape (n_queries,)
            Same dtype as ``classes_``. A tie in the vote goes to the smaller label.

        Raises
        ------
        RuntimeError
            If the model has not been fitted yet.
        """
        # BEGIN SOLUTION
        _, indices = self.kneighbors(X)  # (n_queries, k)
        codes = np.searchsorted(self.classes_, self.y_[indices])  # label -> position in classes_
        votes = np.zeros((len(indices), len(self.classes_)), dtype=np.int64)  # (n_queries, n_classes)
        np.add.at(votes, (np.arange(len(indices))[:, None], codes), 1)
        return self.classes_[np.argmax(votes, axis=1)]  # argmax takes the first maximum: the smaller label
        # END SOLUTION
