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
        raise NotImplementedError

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
        raise NotImplementedError

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
        raise NotImplementedError
