"""Principal component analysis from scratch, by the SVD of the centred data."""

from __future__ import annotations

import numpy as np


class PCA:
    """Principal component analysis (like ``sklearn.decomposition.PCA(svd_solver="full")``).

    Parameters
    ----------
    n_components : int
        Number of components ``k`` to keep, with
        ``1 <= k <= min(n_samples, n_features)``; anything else makes ``fit``
        raise ``ValueError``.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Column means of the training data.
    components_ : ndarray of shape (n_components, n_features)
        The principal axes, one unit-norm row per component, in order of
        **decreasing** explained variance. Rows are orthonormal.
    explained_variance_ : ndarray of shape (n_components,)
        Variance of the training data along each component, with the unbiased
        ``n_samples - 1`` denominator: ``S[:k] ** 2 / (n_samples - 1)``, where
        ``S`` are the singular values of the centred data. (It equals the
        variance, ``ddof=1``, of each column of ``transform(X_train)``, and the
        eigenvalues of ``np.cov(X, rowvar=False)``.)
    explained_variance_ratio_ : ndarray of shape (n_components,)
        ``explained_variance_`` divided by the **total** variance of the data,
        i.e. the sum of the variances (``ddof=1``) of all the features, not only
        of the kept components. It sums to 1 when ``k = n_features``.
    singular_values_ : ndarray of shape (n_components,)
        The ``k`` largest singular values ``S[:k]`` of the centred data.

    Notes
    -----
    ``fit`` computes:

    1. ``mean_ = X.mean(axis=0)`` and the centred data ``Xc = X - mean_``;
    2. the thin SVD ``Xc = U @ diag(S) @ Vt`` (``np.linalg.svd(Xc,
       full_matrices=False)``; singular values come out in decreasing order);
    3. ``components_ = Vt[:k]``, after fixing the **sign** of every row: a
       singular vector is only defined up to its sign, so each row of
       ``components_`` is multiplied by -1 if needed to make its
       largest-magnitude entry positive (the first such entry,
       ``np.argmax(np.abs(row))``, if several have the same magnitude). This
       matches scikit-learn.

    ``transform(X) = (X - mean_) @ components_.T`` and
    ``inverse_transform(Z) = Z @ components_ + mean_``. All arrays are float64.
    ``X`` must be 2-D with at least 2 samples (``ValueError`` otherwise); ``fit``
    never modifies it. ``transform`` or ``inverse_transform`` before ``fit``
    raises ``RuntimeError``; an input with the wrong number of columns raises
    ``ValueError``.
    """

    mean_: np.ndarray
    components_: np.ndarray
    explained_variance_: np.ndarray
    explained_variance_ratio_: np.ndarray
    singular_values_: np.ndarray

    def __init__(self, n_components: int) -> None:
        self.n_components = n_components

    def fit(self, X: np.ndarray) -> PCA:
        """Learn the mean and the principal axes of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (2-D, at least 2 samples; converted to float64).

        Returns
        -------
        self : PCA
            The fitted estimator.
        """
        # BEGIN SOLUTION
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] < 2:
            raise ValueError(f"X must be 2-D with at least 2 samples, got shape {X.shape}")
        n_samples, n_features = X.shape
        k = self.n_components
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= min(n_samples, n_features):
            raise ValueError(f"n_components must be an int in [1, {min(n_samples, n_features)}], got {k!r}")
        mean = X.mean(axis=0)
        Xc = X - mean  # a new array: the caller's X is untouched
        _, S, Vt = np.linalg.svd(Xc, full_matrices=False)  # S is sorted in decreasing order
        biggest = np.argmax(np.abs(Vt), axis=1)
        signs = np.sign(Vt[np.arange(Vt.shape[0]), biggest])
        Vt = Vt * signs[:, None]  # each row's largest-magnitude entry is now positive
        variances = S**2 / (n_samples - 1)
        self.mean_ = mean
        self.components_ = Vt[:k].copy()
        self.explained_variance_ = variances[:k].copy()
        self.explained_variance_ratio_ = variances[:k] / variances.sum()
        self.singular_values_ = S[:k].copy()
        return self
        # END SOLUTION

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Project ``X`` onto the principal axes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            ``(X - mean_) @ components_.T``.
        """
        # BEGIN SOLUTION
        self._check_fitted()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.mean_.shape[0]:
            raise ValueError(f"X must have shape (n_samples, {self.mean_.shape[0]}), got {X.shape}")
        Z: np.ndarray = (X - self.mean_) @ self.components_.T
        return Z
        # END SOLUTION

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Map component scores back to the original feature space.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components)

        Returns
        -------
        X_hat : ndarray of shape (n_samples, n_features)
            ``Z @ components_ + mean_``: the projection of the original points
            onto the affine subspace spanned by the components.
        """
        # BEGIN SOLUTION
        self._check_fitted()
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.components_.shape[0]:
            raise ValueError(f"Z must have shape (n_samples, {self.components_.shape[0]}), got {Z.shape}")
        X_hat: np.ndarray = Z @ self.components_ + self.mean_
        return X_hat
        # END SOLUTION

    def _check_fitted(self) -> None:
        """Raise ``RuntimeError`` if ``fit`` has not run yet."""
        # BEGIN SOLUTION
        if not hasattr(self, "components_"):
            raise RuntimeError("This PCA instance is not fitted yet; call fit first")
        # END SOLUTION
