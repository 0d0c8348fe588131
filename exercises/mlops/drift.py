"""Watch a model in production: has the input data drifted away from what it was trained on?

A model is trained on a *reference* window of data (its training set, or its first weeks in
production). Later, a *current* window arrives. If a feature's distribution has moved, the
model's predictions may quietly get worse long before anyone sees a label. Two numbers per
feature are the everyday tools:

- the **population stability index** (PSI), which compares the share of each window in a few
  bins, and reads "< 0.1: stable, 0.1-0.25: some shift, > 0.25: a big shift";
- the **two-sample Kolmogorov-Smirnov test** (KS), whose statistic is the largest gap between
  the two empirical distribution functions, with a p-value for "both windows come from one
  distribution".

Every convention below is pinned, because two PSI implementations with different bins give
different numbers:

``bin_edges(reference, n_bins=10)``
    Quantile bins of the *reference* window (never of the current one)::

        q = np.quantile(reference, np.linspace(0, 1, n_bins + 1)[1:-1])   # default 'linear' method
        edges = np.concatenate([[-np.inf], np.unique(q), [np.inf]])

    so the outer bins are open (a current value below the reference minimum or above its
    maximum still lands in a bin) and tied quantiles collapse into one edge (a feature with
    few distinct values gives fewer bins). Bin ``i`` holds the values ``x`` with
    ``edges[i] <= x < edges[i + 1]`` (closed on the left), which is what
    ``np.searchsorted(edges, x, side="right") - 1`` computes.

``psi(reference, current, n_bins=10, eps=1e-4)``
    With ``p`` the share of the reference window in each bin and ``q`` the share of the current
    window (each share = count / window size), an **empty bin** would give ``log(0)``; so both
    shares are first clipped from below, ``p = np.maximum(p, eps)``, ``q = np.maximum(q, eps)``
    (no renormalisation afterwards), and then::

        psi = sum((q - p) * ln(q / p))          # natural logarithm

    PSI is 0 for identical windows and symmetric in ``p`` and ``q``.

``ks_2samp(a, b)``
    Returns ``(statistic, pvalue)`` as two floats. The statistic is
    ``D = max over every value x in a or b of |F_a(x) - F_b(x)|``, where ``F_a(x)`` is the
    fraction of ``a`` that is ``<= x`` (compute it with ``np.searchsorted(np.sort(a), x,
    side="right") / len(a)``; it equals ``scipy.stats.ks_2samp(a, b).statistic``). The p-value
    is two-sided and asymptotic: ``scipy.stats.kstwobign.sf(D * sqrt(n * m / (n + m)))`` with
    ``n = len(a)``, ``m = len(b)`` (do not call ``scipy.stats.ks_2samp`` itself).

``drift_report(reference, current, feature_names, n_bins=10, psi_threshold=0.2, alpha=0.01)``
    ``reference`` and ``current`` are arrays of shape ``(n_samples, n_features)`` (the two windows
    may have different lengths). Returns a dict keyed by feature name, in the given order; each
    value is a dict with exactly the keys ``"psi"``, ``"ks_statistic"``, ``"ks_pvalue"`` (floats,
    computed on that column with the functions above) and ``"drift"`` (a bool). A feature has
    drifted when **both** tests agree: ``psi >= psi_threshold`` **and** ``ks_pvalue < alpha``.
    (On large windows KS flags shifts too small to matter and PSI alone is noisy on small ones;
    asking for both keeps the alarm quiet.)

``should_alert(report, max_drifted=0)``
    The alert rule: ``True`` when the number of drifted features in ``report`` is **greater
    than** ``max_drifted``, else ``False`` (a Python bool).

Everything is plain NumPy (and ``scipy.stats.kstwobign`` for the p-value).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats


def bin_edges(reference: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """Quantile bin edges of the reference window, with -inf and +inf as the outer edges.

    Parameters
    ----------
    reference : ndarray of shape (n_samples,)
    n_bins : int, the number of quantile bins before tied quantiles are merged

    Returns
    -------
    edges : ndarray of shape (n_edges,), float64, strictly increasing, ``edges[0] == -inf``
        and ``edges[-1] == inf``; at most ``n_bins + 1`` edges.
    """
    raise NotImplementedError


def bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The share of ``values`` in each bin: bin ``i`` holds ``edges[i] <= x < edges[i + 1]``.

    Returns an ndarray of shape ``(len(edges) - 1,)`` that sums to 1 (no clipping here).
    """
    raise NotImplementedError


def psi(reference: np.ndarray, current: np.ndarray, n_bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index of ``current`` against ``reference`` (module docstring)."""
    raise NotImplementedError


def ks_2samp(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test: ``(statistic, two-sided asymptotic p-value)``."""
    raise NotImplementedError


def drift_report(
    reference: np.ndarray,
    current: np.ndarray,
    feature_names: Sequence[str],
    n_bins: int = 10,
    psi_threshold: float = 0.2,
    alpha: float = 0.01,
) -> dict[str, dict[str, Any]]:
    """Per-feature PSI, KS statistic, KS p-value and drift flag (module docstring)."""
    raise NotImplementedError


def should_alert(report: dict[str, dict[str, Any]], max_drifted: int = 0) -> bool:
    """``True`` when more than ``max_drifted`` features of ``report`` have drifted."""
    raise NotImplementedError
