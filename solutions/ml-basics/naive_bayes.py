"""Gaussian naive Bayes from scratch, computed in log space."""

from __future__ import annotations

import numpy as np


class GaussianNB:
    """Gaussian naive Bayes: each feature is an independent normal within each class.

    For a sample ``x`` and each class ``c`` the joint log-likelihood is::

        jll[c] = log(class_prior_[c])
                 - 0.5 * sum_j log(2 * pi * var_[c, j])
                 - 0.5 * sum_j (x_j - theta_[c, j]) ** 2 / var_[c, j]

    and ``P(c | x) = exp(jll[c] - logsumexp(jll))``. This is scikit-learn's ``GaussianNB``
    (its ``var_`` and ``epsilon_`` included).

    Parameters
    ----------
    var_smoothing : float, default=1e-9
        Fraction of the largest feature variance added to every variance, for stability.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The distinct labels, sorted ascending (``np.unique(y)``). Labels are integers of any
        value (e.g. -1, 4, 9); ``predict`` returns values from ``classes_``.
    class_count_ : ndarray of shape (n_classes,), float64
        Number of training samples in each class.
    class_prior_ : ndarray of shape (n_classes,), float64
        ``class_count_ / n_samples``: the priors are estimated from ``y``, never uniform.
    theta_ : ndarray of shape (n_classes, n_features), float64
        Mean of each feature within each class.
    var_ : ndarray of shape (n_classes, n_features), float64
        Variance of each feature within each class, the maximum-likelihood one (divide by
        the class count, ``ddof=0``, not by count - 1), plus ``epsilon_``.
    epsilon_ : float
        ``var_smoothing * np.var(X, axis=0).max()``: one number, from the whole training set.

    Notes
    -----
    - Work in log space throughout. For a sample far from every class, each ``jll[c]`` is
      hugely negative (say -1e6): ``exp(jll)`` underflows to 0 for every class and
      normalising gives 0 / 0 = NaN. Subtract the row maximum before exponentiating
      (log-sum-exp); ``scipy.special.logsumexp`` does it for you.
    - ``fit`` raises ``ValueError`` if ``X`` is not 2-D or ``y`` not 1-D of length
      ``n_samples``, and never modifies them. ``predict_log_proba``, ``predict_proba`` and
      ``predict`` before ``fit`` raise ``RuntimeError``.
    """

    classes_: np.ndarray
    class_count_: np.ndarray
    class_prior_: np.ndarray
    theta_: np.ndarray
    var_: np.ndarray
    epsilon_: float

    def __init__(self, var_smoothing: float = 1e-9) -> None:
        self.var_smoothing = var_smoothing

    def fit(self, X: np.ndarray, y: np.ndarray) -> GaussianNB:
        """Estimate the class priors, means and variances.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Integer class labels.

        Returns
        -------
        self : GaussianNB
            The fitted estimator itself.
        """
        # BEGIN SOLUTION
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"y must be 1-D with {X.shape[0]} entries, got shape {y.shape}")
        classes, codes = np.unique(y, return_inverse=True)  # codes[i] = position of y[i] in classes
        groups = [X[codes == c] for c in range(len(classes))]  # one (n_c, n_features) block per class
        counts = np.array([len(g) for g in groups], dtype=np.float64)  # (n_classes,)
        theta = np.stack([g.mean(axis=0) for g in groups])  # (n_classes, n_features)
        var = np.stack([g.var(axis=0) for g in groups])  # ddof=0: the maximum-likelihood variance
        self.epsilon_ = float(self.var_smoothing * np.var(X, axis=0).max())
        self.classes_ = classes
        self.class_count_ = counts
        self.class_prior_ = counts / counts.sum()
        self.theta_ = theta
        self.var_ = var + self.epsilon_
        return self
        # END SOLUTION

    def _joint_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        """``jll`` of the class docstring: ndarray of shape (n_samples, n_classes)."""
        # BEGIN SOLUTION
        if not hasattr(self, "theta_"):
            raise RuntimeError("This GaussianNB instance is not fitted yet; call fit first")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.theta_.shape[1]:
            raise ValueError(f"X must have shape (n_samples, {self.theta_.shape[1]}), got {X.shape}")
        log_norm = -0.5 * np.log(2.0 * np.pi * self.var_).sum(axis=1)  # (n_classes,)
        sq = ((X[:, None, :] - self.theta_[None, :, :]) ** 2 / self.var_[None, :, :]).sum(axis=2)  # (n, n_classes)
        jll: np.ndarray = np.log(self.class_prior_) + log_norm - 0.5 * sq
        return jll
        # END SOLUTION

    def predict_log_proba(self, X: np.ndarray) -> np.ndarray:
        """Log posterior probabilities.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes), float64
            ``jll - logsumexp(jll, axis=1, keepdims=True)``; columns follow ``classes_``.
            Never NaN, even for samples far from every class (entries may then be very
            negative, like -1e5, but stay finite).
        """
        # BEGIN SOLUTION
        jll = self._joint_log_likelihood(X)
        top = jll.max(axis=1, keepdims=True)  # log-sum-exp: shift by the row maximum first
        log_norm = top + np.log(np.exp(jll - top).sum(axis=1, keepdims=True))
        return jll - log_norm
        # END SOLUTION

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Posterior probabilities.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float64
            ``exp(predict_log_proba(X))``; columns follow ``classes_`` and each row sums to 1.
        """
        # BEGIN SOLUTION
        return np.exp(self.predict_log_proba(X))
        # END SOLUTION

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most probable class of each sample.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            ``classes_[argmax(jll, axis=1)]``: a value from ``classes_``, the smaller label on a tie.
        """
        # BEGIN SOLUTION
        jll = self._joint_log_likelihood(X)  # (n_samples, n_classes); raises RuntimeError before fit
        return self.classes_[np.argmax(jll, axis=1)]  # the first maximum: the smaller label on a tie
        # END SOLUTION
