"""k-means clustering from scratch: Lloyd's algorithm with k-means++ seeding."""

from __future__ import annotations

import numpy as np


class KMeans:
    """k-means clustering (Lloyd's algorithm), vectorised with NumPy.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters ``k``; ``1 <= n_clusters <= n_samples``, otherwise
        ``fit`` raises ``ValueError``.
    init : {"k-means++", "random"} or ndarray of shape (n_clusters, n_features), default="k-means++"
        How the initial centres are chosen. All randomness comes from one
        generator, ``rng = np.random.default_rng(random_state)``, created afresh
        at the start of every ``fit`` call:

        - ``"random"``: ``n_clusters`` distinct rows of ``X``, namely
          ``X[rng.choice(n_samples, n_clusters, replace=False)]``.
        - ``"k-means++"``: D² sampling. The first centre is ``X[rng.integers(n_samples)]``
          (uniform). Each next centre is ``X[rng.choice(n_samples, p=d2 / d2.sum())]``,
          where ``d2[i]`` is the squared distance from ``X[i]`` to the nearest
          centre chosen so far: far-away points are much more likely to be picked,
          and points already chosen have probability 0. (This needs at least
          ``n_clusters`` distinct rows in ``X``.)
        - an ndarray: these exact starting centres (copied, never modified);
          any other shape than ``(n_clusters, n_features)`` raises ``ValueError``.

        Any other string raises ``ValueError``.
    max_iter : int, default=300
        Maximum number of Lloyd iterations (at least 1).
    tol : float, default=1e-4
        Convergence threshold on how far the centres move, in the units of ``X``
        (absolute, not relative to the data's variance).
    random_state : int or None, default=None
        Seed for ``np.random.default_rng``. The same int gives the same result
        every time; ``None`` draws fresh entropy.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Final centres, dtype float64.
    labels_ : ndarray of shape (n_samples,)
        Index of the nearest final centre for each training sample, dtype int64.
        It equals ``predict(X)``.
    inertia_ : float
        Sum over samples of the **squared** Euclidean distance to their centre,
        ``sum((X - cluster_centers_[labels_]) ** 2)``, a Python ``float``.
    n_iter_ : int
        Number of Lloyd iterations run (``1 <= n_iter_ <= max_iter``).

    Notes
    -----
    ``fit`` runs, for ``it = 1, 2, ..., max_iter``, one Lloyd iteration:

    1. **Assign**: each sample goes to the centre at the smallest squared
       Euclidean distance; ties go to the **lowest** centre index (as
       ``np.argmin`` does).
    2. **Update**: each centre moves to the mean of the samples assigned to it.
       A centre with no samples (an empty cluster) **keeps its previous
       position**; it never becomes NaN.
    3. **Stop** if no centre moved by more than ``tol``: ``max_j ||new_j - old_j|| <= tol``
       (Euclidean norm, ``<=``, so ``tol=0`` stops as soon as nothing moves).

    ``n_iter_`` is the number of iterations run, counting the one that stopped.
    After the loop, ``labels_`` and ``inertia_`` come from one more assignment
    of ``X`` to the final ``cluster_centers_``, so they always describe the
    returned centres. Work on whole arrays: no Python loop over samples.
    ``fit`` never modifies ``X`` or an ndarray ``init``. ``predict`` before
    ``fit`` raises ``RuntimeError``.
    """

    cluster_centers_: np.ndarray
    labels_: np.ndarray
    inertia_: float
    n_iter_: int

    def __init__(
        self,
        n_clusters: int = 8,
        init: str | np.ndarray = "k-means++",
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    @staticmethod
    def _assign(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest centre of each sample.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        centers : ndarray of shape (n_clusters, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the nearest centre (lowest index on ties), dtype int64.
        sq_dist : ndarray of shape (n_samples,)
            Squared Euclidean distance from each sample to that centre.
        """
        raise NotImplementedError

    def _init_centers(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Initial centres as described for ``init``: ndarray of shape (n_clusters, n_features)."""
        raise NotImplementedError

    def fit(self, X: np.ndarray) -> KMeans:
        """Cluster ``X``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Training data (2-D; converted to float64).

        Returns
        -------
        self : KMeans
            The fitted estimator, with ``cluster_centers_``, ``labels_``,
            ``inertia_`` and ``n_iter_`` set.
        """
        raise NotImplementedError

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Index of the nearest centre for each sample.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index into ``cluster_centers_`` (lowest index on ties), dtype int64.

        Raises
        ------
        RuntimeError
            If the model has not been fitted yet.
        """
        raise NotImplementedError
