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
        raise NotImplementedError

    def _joint_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        """``jll`` of the class docstring: ndarray of shape (n_samples, n_classes)."""
        raise NotImplementedError

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
        raise NotImplementedError

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
        raise NotImplementedError

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
        raise NotImplementedError
