"""Model selection from scratch: train/test split, k-fold and stratified k-fold, leak-free cross-validation."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np


def train_test_split(
    X: np.ndarray,
    y: np.ndarray,
    test_size: float | int = 0.25,
    random_state: int | None = None,
    stratify: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``X`` and ``y`` into a random training part and a random test part.

    **Sizes.** With ``n = len(X)``, the test part has ``n_test`` rows:

    - a float ``0 < test_size < 1`` gives ``n_test = ceil(test_size * n)``
      (rounded **up**, as scikit-learn does);
    - an int ``1 <= test_size <= n - 1`` gives ``n_test = test_size``.

    The training part holds the other ``n - n_test`` rows. Any other
    ``test_size``, or a result with an empty part, raises ``ValueError``.

    **Randomness.** All randomness comes from one generator,
    ``rng = np.random.default_rng(random_state)``: the same int gives the same
    split every time, different ints give different splits, ``None`` draws fresh
    entropy. (Which rows land where is otherwise up to you, e.g.
    ``perm = rng.permutation(n)``, test rows ``perm[:n_test]``.)

    **Stratification.** With ``stratify`` (labels of shape ``(n,)``, usually
    ``y``), each class keeps its share: a class with ``n_c`` rows puts
    ``floor(n_test * n_c / n)`` or ``ceil(n_test * n_c / n)`` of them in the test
    part, the test part still has exactly ``n_test`` rows, and the rows of each
    class are drawn at random. One way: give each class the floor, then hand the
    remaining test slots, one each, to the classes with the largest fractional
    parts ``n_test * n_c / n - floor(...)``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
        Features; rows are samples.
    y : ndarray of shape (n_samples,)
        Targets, one per row of ``X`` (``ValueError`` if the lengths differ).
    test_size : float or int, default=0.25
    random_state : int or None, default=None
    stratify : ndarray of shape (n_samples,) or None, default=None

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarrays
        Rows of ``X`` and ``y``; row ``i`` of ``X_train`` and element ``i`` of
        ``y_train`` come from the same sample (likewise for the test part).
        Every sample is in exactly one part. The order of the rows within each
        part is up to you. ``X`` and ``y`` are not modified.
    """
    raise NotImplementedError


def kfold_indices(
    n: int, k: int, shuffle: bool = False, random_state: int | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Indices of a k-fold cross-validation over ``n`` samples (``sklearn.model_selection.KFold``).

    The ``n`` indices are cut into ``k`` test folds of nearly equal size: the
    first ``n % k`` folds have ``n // k + 1`` indices, the others ``n // k``. So
    the folds are disjoint, together they cover every index ``0 .. n-1``
    exactly once (**no index is dropped**, even when ``k`` does not divide
    ``n``), and their sizes differ by at most 1.

    - ``shuffle=False``: fold ``j`` is the next block of consecutive indices,
      e.g. ``n=7, k=3`` gives test folds ``[0, 1, 2]``, ``[3, 4]``, ``[5, 6]``.
      No randomness is used.
    - ``shuffle=True``: first shuffle the indices with
      ``np.random.default_rng(random_state).permutation(n)``, then cut that
      order into blocks the same way. The same ``random_state`` gives the same
      folds.

    Parameters
    ----------
    n : int
        Number of samples.
    k : int
        Number of folds, ``2 <= k <= n`` (``ValueError`` otherwise).
    shuffle : bool, default=False
    random_state : int or None, default=None
        Used only when ``shuffle=True``.

    Returns
    -------
    folds : list of ``k`` tuples ``(train_idx, test_idx)``
        int64 ndarrays, in fold order. ``train_idx`` holds every index not in
        ``test_idx``. With ``shuffle=False`` both arrays are sorted ascending
        (with ``shuffle=True`` their order is up to you).
    """
    raise NotImplementedError


def stratified_kfold_indices(
    y: np.ndarray, k: int, shuffle: bool = False, random_state: int | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Indices of a stratified k-fold cross-validation: each fold keeps the class proportions.

    With ``n = len(y)``, the ``k`` test folds are disjoint and cover every index
    ``0 .. n-1`` exactly once, and:

    - for every class ``c``, its samples are spread as evenly as possible: the
      number of samples of ``c`` in each test fold is ``floor(n_c / k)`` or
      ``ceil(n_c / k)``. This holds for **rare classes** too: a class with fewer
      than ``k`` samples puts one sample in each of ``n_c`` different folds (and
      none in the others); its samples are never dropped or lumped together;
    - the fold sizes differ by at most 1.

    One way that guarantees both: list the indices grouped by class (e.g.
    ``np.argsort(y, kind="stable")``), and deal them out like cards, the
    ``i``-th index of that list going to fold ``i % k``, continuing the count
    from one class to the next. With ``shuffle=True`` the indices of each class
    are shuffled (by ``np.random.default_rng(random_state)``) before dealing,
    so which samples go together is random while the counts stay the same;
    with ``shuffle=False`` no randomness is used.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels (any sortable values).
    k : int
        Number of folds, ``2 <= k <= n`` (``ValueError`` otherwise).
    shuffle : bool, default=False
    random_state : int or None, default=None

    Returns
    -------
    folds : list of ``k`` tuples ``(train_idx, test_idx)``
        int64 ndarrays; ``train_idx`` holds every index not in ``test_idx``.
        The order of the folds and of the indices within them is up to you.
    """
    raise NotImplementedError


def cross_val_score(
    make_model: Callable[[], Any],
    X: np.ndarray,
    y: np.ndarray,
    k: int = 5,
    shuffle: bool = False,
    random_state: int | None = None,
) -> np.ndarray:
    """k-fold cross-validated accuracy, with the standardisation fit **inside** each fold.

    For each fold ``(train, test)`` of ``kfold_indices(len(X), k, shuffle,
    random_state)``, in order:

    1. learn the scaling from the **training rows only**:
       ``mu = X[train].mean(axis=0)``, ``sd = X[train].std(axis=0)`` (``ddof=0``),
       with ``sd`` replaced by 1 where it is 0 (a constant column);
    2. ``model = make_model()``: a **fresh** model for every fold (``make_model``
       is called exactly ``k`` times, never reused across folds);
    3. ``model.fit((X[train] - mu) / sd, y[train])``;
    4. score ``mean(model.predict((X[test] - mu) / sd) == y[test])``; the test
       rows are scaled with the *training* ``mu`` and ``sd``.

    Scaling with statistics of all of ``X`` would leak the test fold into
    training: its mean and spread shape the features the model is fit on.

    Parameters
    ----------
    make_model : callable with no arguments
        Returns a new, unfitted model with ``fit(X, y)`` and ``predict(X)``.
    X : ndarray of shape (n_samples, n_features)
        Raw (unscaled) features; not modified.
    y : ndarray of shape (n_samples,)
        Labels.
    k, shuffle, random_state
        As in :func:`kfold_indices`.

    Returns
    -------
    scores : ndarray of shape (k,), dtype float64
        The accuracy on each test fold, in fold order.
    """
    raise NotImplementedError
