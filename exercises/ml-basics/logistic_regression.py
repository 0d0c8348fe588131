"""Logistic regression from scratch: a stable sigmoid, binary cross-entropy, and gradient descent."""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-z))``, elementwise and numerically stable.

    Parameters
    ----------
    z : ndarray of any shape
        Real scores (converted to float64).

    Returns
    -------
    p : ndarray of the same shape as ``z``, dtype float64
        Values in ``[0, 1]``.

    Notes
    -----
    - Never take ``exp`` of a large positive number: ``np.exp(1000.0)`` overflows to
      ``inf`` with a ``RuntimeWarning``, and ``exp(z) / (1 + exp(z))`` then gives NaN.
      Use ``e = exp(-|z|)``, which always lies in ``(0, 1]``:
      ``sigmoid(z) = 1 / (1 + e)`` where ``z >= 0`` and ``e / (1 + e)`` where ``z < 0``.
    - The result must be exact at the extremes, with no warning: ``sigmoid(1000.0) == 1.0``
      and ``sigmoid(-1000.0) == 0.0``. Do not clip ``z``.
    - It must keep full relative accuracy in the tails (about 1e-15, as
      ``scipy.special.expit``): ``sigmoid(-40.0)`` is about ``4.25e-18``, not 0. So
      ``0.5 * (1 + tanh(z / 2))`` is not good enough.
    """
    raise NotImplementedError


def binary_cross_entropy(y: np.ndarray, p: np.ndarray, eps: float = 1e-15) -> float:
    """Mean binary cross-entropy (log loss) of probabilities ``p`` for labels ``y``.

    ``BCE = -mean(y * log(p) + (1 - y) * log(1 - p))``, after clipping ``p`` to
    ``[eps, 1 - eps]`` (``np.clip(p, eps, 1 - eps)``), so that it stays finite when a
    probability is exactly 0 or 1.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        True labels, 0 or 1 (integers or floats).
    p : ndarray of shape (n_samples,)
        Predicted probabilities of class 1.
    eps : float, default=1e-15
        Clipping margin.

    Returns
    -------
    loss : float
        A Python ``float``, finite for every ``p`` in ``[0, 1]``. For example
        ``binary_cross_entropy(np.array([1]), np.array([0.0]))`` is
        ``-log(1e-15) ~= 34.54``, and a perfect prediction gives about ``1e-15``.

    Raises
    ------
    ValueError
        If ``y`` and ``p`` do not have the same shape (a ``p`` of shape
        ``(n, 1)`` against ``y`` of shape ``(n,)`` would silently broadcast to ``(n, n)``).
    """
    raise NotImplementedError


def loss_and_gradient(
    w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray, alpha: float = 0.0
) -> tuple[float, np.ndarray, float]:
    """The regularised training loss of logistic regression and its gradient.

    ``L(w, b) = binary_cross_entropy(y, sigmoid(X @ w + b)) + alpha * ||w||_2 ** 2``

    The intercept ``b`` is never penalised. With ``p = sigmoid(X @ w + b)`` the gradient is::

        grad_w = X.T @ (p - y) / n_samples + 2 * alpha * w
        grad_b = mean(p - y)

    Parameters
    ----------
    w : ndarray of shape (n_features,)
        Weights.
    b : float
        Intercept.
    X : ndarray of shape (n_samples, n_features)
        Inputs.
    y : ndarray of shape (n_samples,)
        Labels, 0 or 1.
    alpha : float, default=0.0
        L2 penalty strength on ``w``.

    Returns
    -------
    loss : float
        ``L(w, b)``, a Python ``float``.
    grad_w : ndarray of shape (n_features,)
        ``dL/dw``, dtype float64.
    grad_b : float
        ``dL/db``, a Python ``float``.
    """
    raise NotImplementedError


class LogisticRegression:
    """Binary logistic regression fitted by full-batch gradient descent.

    The model is ``P(y = 1 | x) = sigmoid(x @ coef_ + intercept_)``. ``fit`` minimises
    ``L(w, b)`` of :func:`loss_and_gradient`: the mean binary cross-entropy plus
    ``alpha * ||w||^2``, with the intercept never penalised. This is scikit-learn's
    ``LogisticRegression(C=1 / (2 * alpha * n_samples))`` (its loss is
    ``C * sum of log losses + ||w||^2 / 2``); ``alpha=0`` is ``C=np.inf``, no penalty.

    Parameters
    ----------
    learning_rate : float, default=0.1
        Gradient-descent step size.
    n_iters : int, default=1000
        Number of gradient-descent steps (``0`` leaves ``w = 0`` and ``b = 0``).
    alpha : float, default=0.0
        L2 penalty strength on ``coef_``; ``alpha < 0`` makes ``fit`` raise ``ValueError``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Learned weights, dtype float64 (1-D, unlike scikit-learn's ``(1, n_features)``).
    intercept_ : float
        Learned intercept, a Python ``float``.

    Notes
    -----
    - Labels are 0 and 1, in ``fit`` and in what ``predict`` returns. Do not convert
      them to -1/+1: the gradient ``X.T @ (p - y) / n`` needs ``y`` in {0, 1}.
    - ``fit`` starts from ``w = np.zeros(n_features)`` and ``b = 0.0`` and makes exactly
      ``n_iters`` steps ``w = w - learning_rate * grad_w``, ``b = b - learning_rate * grad_b``,
      both gradients taken at the same (old) point, on the raw ``X`` (no scaling inside).
    - ``X`` must be 2-D and ``y`` 1-D with ``n_samples`` entries, all 0 or 1; otherwise
      ``fit`` raises ``ValueError``. ``fit`` never modifies ``X`` or ``y``.
    - ``predict_proba`` and ``predict`` before ``fit`` raise ``RuntimeError``.
    """

    coef_: np.ndarray
    intercept_: float

    def __init__(self, learning_rate: float = 0.1, n_iters: int = 1000, alpha: float = 0.0) -> None:
        self.learning_rate = learning_rate
        self.n_iters = n_iters
        self.alpha = alpha

    def fit(self, X: np.ndarray, y: np.ndarray) -> LogisticRegression:
        """Fit by gradient descent.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Training inputs.
        y : ndarray of shape (n_samples,)
            Labels, each 0 or 1.

        Returns
        -------
        self : LogisticRegression
            The fitted estimator itself.
        """
        raise NotImplementedError

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Scores ``X @ coef_ + intercept_``: ndarray of shape (n_samples,), float64.

        Raises ``RuntimeError`` before ``fit``.
        """
        raise NotImplementedError

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, 2), float64
            Column 0 is ``P(y = 0)``, column 1 is ``P(y = 1) = sigmoid(X @ coef_ + intercept_)``;
            each row sums to 1.

        Raises
        ------
        RuntimeError
            If the model has not been fitted yet.
        """
        raise NotImplementedError

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted labels.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int64
            1 where ``X @ coef_ + intercept_ > 0`` (that is, ``P(y = 1) > 0.5``), else 0.
            A score of exactly 0 gives 0, as in scikit-learn.

        Raises
        ------
        RuntimeError
            If the model has not been fitted yet.
        """
        raise NotImplementedError
