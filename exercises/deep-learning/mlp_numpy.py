"""A two-layer fully connected network with backprop written by hand, in NumPy.

    X --affine(W1, b1)--> z1 --ReLU--> h --affine(W2, b2)--> scores --softmax cross-entropy--> loss

Everything is float64 and works on whole minibatches (no Python loop over samples).
"""

from __future__ import annotations

import numpy as np


class TwoLayerNet:
    """``affine - ReLU - affine - softmax`` for ``n_classes``-way classification.

    Parameters
    ----------
    input_dim : int
        D, the number of input features.
    hidden_dim : int
        H, the width of the hidden layer.
    n_classes : int
        C, the number of classes.
    weight_scale : float, default=1e-3
        Standard deviation of the initial weights.
    seed : int or None, default=0
        Seed for the initial weights.

    Attributes
    ----------
    params : dict of str to ndarray
        The four parameters, float64:

        - ``"W1"``, shape (D, H), and ``"W2"``, shape (H, C): drawn from a normal
          distribution with mean 0 and standard deviation ``weight_scale``, from
          ``rng = np.random.default_rng(seed)`` (first W1, then W2, e.g.
          ``weight_scale * rng.standard_normal((D, H))``);
        - ``"b1"``, shape (H,), and ``"b2"``, shape (C,): zeros.

        ``loss`` and ``train_step`` read the parameters from ``self.params`` each time they
        run, so a caller may replace an entry with another array of the same shape.
    """

    def __init__(
        self, input_dim: int, hidden_dim: int, n_classes: int, weight_scale: float = 1e-3, seed: int | None = 0
    ) -> None:
        raise NotImplementedError

    def loss(
        self, X: np.ndarray, y: np.ndarray | None = None, reg: float = 0.0
    ) -> np.ndarray | tuple[float, dict[str, np.ndarray]]:
        """Class scores, or the loss and its gradient for a minibatch.

        Parameters
        ----------
        X : ndarray of shape (N, D)
        y : ndarray of shape (N,) or None
            Integer class indices in ``[0, C)``.
        reg : float, default=0.0
            L2 regularisation strength.

        Returns
        -------
        scores : ndarray of shape (N, C)
            If ``y`` is None: ``relu(X @ W1 + b1) @ W2 + b2`` (no softmax).
        (loss, grads) : tuple of float and dict
            Otherwise:

            - ``loss``: a Python ``float``, the mean softmax cross-entropy over the N samples
              (stable for large scores) plus ``0.5 * reg * (sum(W1**2) + sum(W2**2))``;
              the biases are not regularised.
            - ``grads``: a dict with the same keys as ``params``; ``grads[k]`` is the
              gradient of ``loss`` with respect to ``params[k]``, with the same shape
              (``grads["b1"]`` is (H,), summed over the batch), including the
              regularisation term ``reg * W``. ReLU's derivative at exactly 0 is 0.

        The parameters are not changed.
        """
        raise NotImplementedError

    def train_step(self, X: np.ndarray, y: np.ndarray, learning_rate: float = 1e-1, reg: float = 0.0) -> float:
        """One step of (vanilla) gradient descent on the minibatch ``(X, y)``.

        Computes ``loss, grads = self.loss(X, y, reg)``, then updates every parameter
        ``params[k] = params[k] - learning_rate * grads[k]``.

        Returns
        -------
        loss : float
            The loss *before* the update.
        """
        raise NotImplementedError
