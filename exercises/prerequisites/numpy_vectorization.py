"""Vectorised NumPy: pairwise distances, standardising, one-hot encoding, moving averages.

Work on whole arrays: no Python loop over rows, samples or elements. The grader times
each function on large inputs against a vectorised reference, in the same run, and a
Python-loop version runs far over budget. (Every function takes array-likes,
converts them to float64 or int as documented, never modifies its inputs, and
returns a new float64 array.)
"""

from __future__ import annotations

import numpy as np


def pairwise_distances(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Euclidean distance between every row of ``X`` and every row of ``Y``.

    Parameters
    ----------
    X : array_like of shape (n, d)
    Y : array_like of shape (m, d)
        Both 2-D with the same number of columns ``d``; converted to float64.

    Returns
    -------
    D : ndarray of shape (n, m), dtype float64
        ``D[i, j] = ||X[i] - Y[j]||``, the Euclidean (L2) distance. Every entry
        is ``>= 0`` and finite, even when the points are far from the origin
        and very close to each other. If you use the fast expansion
        ``||x||^2 + ||y||^2 - 2 x.y``, rounding can make it slightly negative
        for (nearly) equal points: clip it at 0 before the square root, or the
        result holds NaN.

    Raises
    ------
    ValueError
        If ``X`` or ``Y`` is not 2-D, or their numbers of columns differ.
    """
    raise NotImplementedError


def standardize(X: np.ndarray) -> np.ndarray:
    """Standardise every column of ``X`` to mean 0 and standard deviation 1.

    ``Z[:, j] = (X[:, j] - mean_j) / std_j`` with the column's mean and its
    *population* standard deviation (``ddof=0``, NumPy's default, as
    scikit-learn's ``StandardScaler`` uses). A constant column (``std_j == 0``)
    becomes all zeros instead of NaN.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        2-D, converted to float64; the caller's array is never modified.

    Returns
    -------
    Z : ndarray of shape (n_samples, n_features), dtype float64

    Raises
    ------
    ValueError
        If ``X`` is not 2-D.
    """
    raise NotImplementedError


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    """One-hot encoding of integer class labels.

    Parameters
    ----------
    y : array_like of shape (n_samples,)
        Integer labels, each in ``0, 1, ..., n_classes - 1`` (1-D).
    n_classes : int
        The number of classes, ``>= 1``.

    Returns
    -------
    Y : ndarray of shape (n_samples, n_classes), dtype float64
        ``Y[i, y[i]] = 1.0`` and every other entry is ``0.0``. An empty ``y``
        gives shape ``(0, n_classes)``.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D, or if a label is negative or ``>= n_classes``.
        (Check it: NumPy would wrap a label of -1 around to the last class.)
    """
    raise NotImplementedError


def moving_average(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of every window of ``window`` consecutive values ("valid" windows only).

    ``out[i] = mean(x[i : i + window])`` for ``i = 0, 1, ..., len(x) - window``,
    the same as ``np.convolve(x, np.ones(window) / window, mode="valid")``.
    Hint: with ``c = np.cumsum(x)`` (and a 0 in front), every window sum is a
    difference of two entries of ``c``.

    Parameters
    ----------
    x : array_like of shape (n,)
        1-D, converted to float64.
    window : int
        The window length, ``1 <= window <= n``.

    Returns
    -------
    out : ndarray of shape (n - window + 1,), dtype float64

    Raises
    ------
    ValueError
        If ``x`` is not 1-D, or ``window`` is not between 1 and ``len(x)``.
    """
    raise NotImplementedError
