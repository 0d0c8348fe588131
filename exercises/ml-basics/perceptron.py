"""Rosenblatt's perceptron from scratch: the mistake-driven learning rule for two classes."""

from __future__ import annotations

import numpy as np


class Perceptron:
    """A linear classifier trained by the perceptron rule, one sample at a time.

    Labels are 0 and 1 outside: ``fit`` takes them and ``predict`` returns them. Inside, the
    rule works with the signed target ``t = 2 * y - 1``, which is -1 or +1.

    Parameters
    ----------
    learning_rate : float, default=1.0
        Size of each update (``> 0``).
    n_epochs : int, default=100
        Maximum number of passes over the training set (``>= 1``).
    shuffle : bool, default=False
        Whether to visit the samples in a new random order in each epoch.
    random_state : int or None, default=None
        Seed for ``np.random.default_rng``; used only when ``shuffle=True``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Learned weights ``w``, dtype float64.
    intercept_ : float
        Learned bias ``b``, a Python ``float``.
    n_iter_ : int
        Number of epochs run, counting the last one (with no mistake, if it converged).
    n_updates_ : int
        Total number of updates (mistakes) over all epochs.

    Notes
    -----
    ``fit`` runs exactly this rule::

        w = np.zeros(n_features); b = 0.0
        rng = np.random.default_rng(random_state)       # created afresh in every fit call
        for epoch in range(n_epochs):
            order = rng.permutation(n_samples) if shuffle else np.arange(n_samples)
            mistakes = 0
            for i in order:
                t = 2 * y[i] - 1                          # -1 or +1
                if t * (X[i] @ w + b) <= 0:               # a mistake; a score of exactly 0 is one too
                    w = w + learning_rate * t * X[i]
                    b = b + learning_rate * t
                    mistakes += 1
            if mistakes == 0:                             # converged: every sample is right
                break

    The check uses the current ``w`` and ``b``, updated after every mistake (online), not the
    values at the start of the epoch. Only mistakes cause an update. If the classes are
    linearly separable, the rule stops after a finite number of updates (Novikoff's theorem);
    with ``shuffle=False`` and no regularisation it is exactly scikit-learn's
    ``Perceptron(eta0=learning_rate, shuffle=False, tol=None, max_iter=n_epochs)``.

    ``X`` must be 2-D and ``y`` 1-D with ``n_samples`` entries, all 0 or 1; otherwise ``fit``
    raises ``ValueError``. ``fit`` never modifies ``X`` or ``y``. ``predict`` before ``fit``
    raises ``RuntimeError``.
    """

    coef_: np.ndarray
    intercept_: float
    n_iter_: int
    n_updates_: int

    def __init__(
        self,
        learning_rate: float = 1.0,
        n_epochs: int = 100,
        shuffle: bool = False,
        random_state: int | None = None,
    ) -> None:
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.shuffle = shuffle
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> Perceptron:
        """Train with the perceptron rule.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Labels, each 0 or 1.

        Returns
        -------
        self : Perceptron
            The fitted estimator itself.
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
            1 where ``X @ coef_ + intercept_ > 0``, else 0 (a score of exactly 0 gives 0).

        Raises
        ------
        RuntimeError
            If the model has not been fitted yet.
        """
        raise NotImplementedError
