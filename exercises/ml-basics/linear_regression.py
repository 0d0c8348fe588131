"""Linear regression from scratch: closed form (least squares / ridge) and gradient descent."""

from __future__ import annotations

import numpy as np


class LinearRegression:
    """Ordinary least squares or ridge regression, with an unpenalised intercept.

    The model is ``y_hat = X @ coef_ + intercept_``. Both methods minimise the
    same loss, the *mean* squared error plus an L2 penalty on ``coef_`` only::

        L(w, b) = (1 / n_samples) * sum_i (x_i @ w + b - y_i) ** 2 + alpha * ||w||_2 ** 2

    The intercept ``b`` is never penalised.

    Parameters
    ----------
    method : {"normal", "gd"}, default="normal"
        How ``fit`` finds ``coef_`` and ``intercept_``:

        - ``"normal"``: the exact minimiser of ``L``. Centre ``X`` and ``y`` by
          their column means, solve for ``w`` on the centred data, and recover
          ``b = mean(y) - mean(X, axis=0) @ w``. With ``alpha > 0`` the centred
          problem is ``(Xc.T @ Xc + n_samples * alpha * I) w = Xc.T @ yc``.
          With ``alpha == 0`` and rank-deficient ``X`` (collinear features) the
          answer is the **minimum-norm** ``w``, i.e. exactly what
          ``np.linalg.lstsq(Xc, yc, rcond=None)[0]`` returns. Do not invert
          ``X.T @ X``: it is singular for collinear features. Use
          ``np.linalg.lstsq`` (ridge can be written as least squares on the
          stacked system ``[Xc; sqrt(n_samples * alpha) * I] w ~ [yc; 0]``).
        - ``"gd"``: full-batch gradient descent on ``L``, on the raw (not centred,
          not scaled) ``X``. Start from ``w = 0`` (float64 zeros) and ``b = 0.0``,
          then do exactly ``n_iters`` steps of::

              r      = X @ w + b - y                         # residuals, shape (n_samples,)
              grad_w = (2 / n_samples) * X.T @ r + 2 * alpha * w
              grad_b = (2 / n_samples) * sum(r)
              w      = w - learning_rate * grad_w            # both gradients are taken at the
              b      = b - learning_rate * grad_b            # same (old) point

    learning_rate : float, default=0.01
        Step size of gradient descent (``method="gd"`` only).
    n_iters : int, default=1000
        Number of gradient-descent steps (``method="gd"`` only).
    alpha : float, default=0.0
        L2 penalty strength in ``L`` above. Because ``L`` uses the *mean* of the
        squared errors, this model with ``alpha`` equals scikit-learn's
        ``Ridge(alpha=n_samples * alpha)`` (whose loss is the *sum*
        ``||y - Xw - b||^2 + alpha * ||w||^2``).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Learned weights, dtype float64.
    intercept_ : float
        Learned intercept, a Python ``float``.

    Notes
    -----
    - ``X`` must be 2-D with shape ``(n_samples, n_features)``; a 1-D ``X``
      raises ``ValueError`` (use ``X.reshape(-1, 1)`` for a single feature).
      ``y`` must be 1-D with ``n_samples`` entries, otherwise ``ValueError``.
      Both are converted to float64 (integers are fine).
    - ``fit`` never modifies ``X`` or ``y`` in place; it works on copies.
    - ``fit`` raises ``ValueError`` for an unknown ``method`` or a negative ``alpha``.
    - ``predict`` before ``fit`` raises ``RuntimeError``.
    """

    coef_: np.ndarray
    intercept_: float

    def __init__(
        self,
        method: str = "normal",
        learning_rate: float = 0.01,
        n_iters: int = 1000,
        alpha: float = 0.0,
    ) -> None:
        self.method = method
        self.learning_rate = learning_rate
        self.n_iters = n_iters
        self.alpha = alpha

    def fit(self, X: np.ndarray, y: np.ndarray) -> LinearRegression:
        """Fit the model.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Training inputs (2-D; a 1-D array raises ``ValueError``).
        y : ndarray of shape (n_samples,)
            Training targets (1-D).

        Returns
        -------
        self : LinearRegression
            The fitted estimator itself, with ``coef_`` and ``intercept_`` set.
        """
        raise NotImplementedError

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predict targets.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Inputs, 2-D, with as many features as seen in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            ``X @ coef_ + intercept_``, dtype float64.

        Raises
        ------
        RuntimeError
            If the model has not been fitted yet.
        """
        raise NotImplementedError
