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
        # BEGIN SOLUTION
        d2 = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)  # (n_samples, n_clusters)
        labels = np.argmin(d2, axis=1).astype(np.int64)  # argmin returns the first minimum on ties
        return labels, d2[np.arange(len(X)), labels]
        # END SOLUTION

    def _init_centers(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Initial centres as described for ``init``: ndarray of shape (n_clusters, n_features)."""
        # BEGIN SOLUTION
        n_samples, n_features = X.shape
        k = self.n_clusters
        if isinstance(self.init, np.ndarray):
            centers = np.array(self.init, dtype=np.float64)  # a copy: the caller's init is untouched
            if centers.shape != (k, n_features):
                raise ValueError(f"init must have shape ({k}, {n_features}), got {centers.shape}")
            return centers
        if isinstance(self.init, str) and self.init == "random":
            return X[rng.choice(n_samples, k, replace=False)].copy()
        if isinstance(self.init, str) and self.init == "k-means++":
            centers = np.empty((k, n_features))
            centers[0] = X[rng.integers(n_samples)]
            d2 = ((X - centers[0]) ** 2).sum(axis=1)  # (n_samples,) to the nearest chosen centre
            for j in range(1, k):
                centers[j] = X[rng.choice(n_samples, p=d2 / d2.sum())]
                d2 = np.minimum(d2, ((X - centers[j]) ** 2).sum(axis=1))
            return centers
        raise ValueError(f"init must be 'k-means++', 'random' or an ndarray, got {self.init!r}")
        # END SOLUTION

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
        # BEGIN SOLUTION
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
        if not 1 <= self.n_clusters <= X.shape[0]:
            raise ValueError(
                f"n_clusters must be between 1 and n_samples={X.shape[0]}, got {self.n_clusters}"
            )
        if self.max_iter < 1 or self.tol < 0:
            raise ValueError("max_iter must be >= 1 and tol >= 0")
        rng = np.random.default_rng(self.random_state)
        centers = self._init_centers(X, rng)  # (k, n_features)
        k = self.n_clusters

        n_iter = 0
        while n_iter < self.max_iter:
            n_iter += 1
            labels, _ = self._assign(X, centers)
            counts = np.bincount(labels, minlength=k)  # (k,)
            sums = np.zeros_like(centers)
            np.add.at(sums, labels, X)  # sums[j] = sum of the samples in cluster j
            new_centers = centers.copy()  # an empty cluster keeps its previous centre
            filled = counts > 0
            new_centers[filled] = sums[filled] / counts[filled, None]
            shift = float(np.sqrt(((new_centers - centers) ** 2).sum(axis=1)).max())
            centers = new_centers
            if shift <= self.tol:
                break

        labels, sq_dist = self._assign(X, centers)  # labels_ and inertia_ describe the final centres
        self.cluster_centers_ = centers
        self.labels_ = labels
        self.inertia_ = float(sq_dist.sum())
        self.n_iter_ = n_iter
        return self
        # END SOLUTION

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
        # BEGIN SOLUTION
        if not hasattr(self, "cluster_centers_"):
            raise RuntimeError("This KMeans instance is not fitted yet; call fit first")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.cluster_centers_.shape[1]:
            raise ValueError(
                f"X must have shape (n_samples, {self.cluster_centers_.shape[1]}), got {X.shape}"
            )
        return self._assign(X, self.cluster_centers_)[0]
        # END SOLUTION
