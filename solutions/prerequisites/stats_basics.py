"""Statistics in code: a t confidence interval, Welch's t-test, the bootstrap, an A/B test.

This module is called ``stats_basics.py``, not ``statistics.py``: a file named
``statistics.py`` in your folder would shadow Python's standard-library
``statistics`` module for everything run from that folder (any library that does
``import statistics`` would import your file instead).

Conventions used throughout:

- Inputs ``x``, ``a``, ``b`` are 1-D array-likes of numbers (lists are fine); convert
  them with ``np.asarray(x, dtype=np.float64)``. Never modify them in place.
- Every number returned is a Python ``float`` (use ``float(...)``), and every pair is
  a ``tuple`` of two floats.
- Distributions come from ``scipy.stats`` (``stats.t``, ``stats.norm``): use
  ``ppf`` for quantiles and ``sf`` (``1 - cdf``, but accurate in the tail) for
  tail probabilities.
- Invalid input raises ``ValueError``, as each function describes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats


def mean_confidence_interval(x: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """A t-based confidence interval for the mean of ``x``.

    With ``n = len(x)``, the sample mean ``m``, the sample standard deviation ``s``
    with ``ddof=1`` (divide by ``n - 1``) and the standard error ``se = s / sqrt(n)``,
    the interval is ``m -/+ t * se``, where ``t`` is the ``(1 + confidence) / 2``
    quantile of Student's t distribution with ``n - 1`` degrees of freedom
    (``stats.t.ppf((1 + confidence) / 2, n - 1)``), not the normal quantile 1.96:
    with few observations the t quantile is larger, and the normal one gives an
    interval that covers the true mean less often than promised.

    Parameters
    ----------
    x : array_like of shape (n,)
        The observations, ``n >= 2``.
    confidence : float, default=0.95
        The confidence level, strictly between 0 and 1.

    Returns
    -------
    (low, high) : tuple of two floats
        The interval's ends, ``low <= high``.

    Raises
    ------
    ValueError
        If ``x`` is not 1-D or has fewer than 2 values, or if ``confidence`` is not
        strictly between 0 and 1.
    """
    # BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or len(x) < 2:
        raise ValueError(f"x must be 1-D with at least 2 values, got shape {x.shape}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    n = len(x)
    mean = x.mean()
    se = x.std(ddof=1) / np.sqrt(n)
    t = stats.t.ppf((1 + confidence) / 2, df=n - 1)
    return float(mean - t * se), float(mean + t * se)
    # END SOLUTION


def welch_t_test(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Welch's two-sample t-test (unequal variances), two-sided.

    With the sample means ``ma``, ``mb``, the sample variances ``va``, ``vb``
    (``ddof=1``) and the sizes ``na``, ``nb``::

        se = sqrt(va / na + vb / nb)
        t  = (ma - mb) / se                   # positive when a's mean is larger
        df = (va / na + vb / nb) ** 2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
        p  = 2 * stats.t.sf(abs(t), df)       # two-sided: both tails

    The variances are *not* pooled (that would be Student's t-test, which assumes
    equal variances), and ``df`` is the Welch–Satterthwaite value, generally not an
    integer. This is ``scipy.stats.ttest_ind(a, b, equal_var=False)``.

    Parameters
    ----------
    a, b : array_like of shape (na,) and (nb,)
        The two samples, each 1-D with at least 2 values, not both constant.

    Returns
    -------
    (t, p) : tuple of two floats
        The t statistic and the two-sided p-value, ``0 <= p <= 1``.

    Raises
    ------
    ValueError
        If ``a`` or ``b`` is not 1-D or has fewer than 2 values.
    """
    # BEGIN SOLUTION
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    for name, arr in (("a", a), ("b", b)):
        if arr.ndim != 1 or len(arr) < 2:
            raise ValueError(f"{name} must be 1-D with at least 2 values, got shape {arr.shape}")
    va = a.var(ddof=1) / len(a)  # squared standard error of each mean
    vb = b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    p = 2 * stats.t.sf(abs(t), df)
    return float(t), float(p)
    # END SOLUTION


def bootstrap_ci(
    x: np.ndarray,
    statistic: Callable[[np.ndarray], float],
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """A percentile-bootstrap confidence interval for ``statistic(x)``.

    Follow this recipe exactly, so that the same ``seed`` gives the same interval
    as the grader's::

        rng = np.random.default_rng(seed)
        idx = rng.integers(0, n, size=(n_resamples, n))   # ONE call: all resamples at once
        boot = [statistic(x[idx[i]]) for i in range(n_resamples)]   # resample i is row i
        alpha = 1 - confidence
        low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])  # default (linear) method

    Each resample draws ``n = len(x)`` values from ``x`` *with replacement*. The
    percentile method uses the quantiles of the resampled statistics as they are
    (not the "basic" interval ``2 * statistic(x) - quantiles``).

    Parameters
    ----------
    x : array_like of shape (n,)
        The observations (1-D, ``n >= 2``), converted to float64.
    statistic : callable
        Takes a 1-D float64 array and returns a number, e.g. ``np.mean`` or
        ``np.median``. Call it once per resample, on that resample alone.
    n_resamples : int, default=10_000
        Number of bootstrap resamples, at least 1.
    confidence : float, default=0.95
        The confidence level, strictly between 0 and 1.
    seed : int, default=0
        Seed for ``np.random.default_rng``; the only source of randomness (never
        ``np.random.seed`` or the global ``np.random`` functions).

    Returns
    -------
    (low, high) : tuple of two floats

    Raises
    ------
    ValueError
        If ``x`` is not 1-D or has fewer than 2 values, ``n_resamples < 1``, or
        ``confidence`` is not strictly between 0 and 1.
    """
    # BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or len(x) < 2:
        raise ValueError(f"x must be 1-D with at least 2 values, got shape {x.shape}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    n = len(x)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_resamples, n))  # (n_resamples, n): row i is resample i
    boot = np.array([statistic(x[row]) for row in idx], dtype=np.float64)
    alpha = 1 - confidence
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)
    # END SOLUTION


def ab_test_proportions(conv_a: int, n_a: int, conv_b: int, n_b: int) -> tuple[float, float]:
    """A pooled two-proportion z-test of "B converts at a different rate than A", two-sided.

    With ``p_a = conv_a / n_a``, ``p_b = conv_b / n_b`` and, under the null
    hypothesis that both share one rate, the *pooled* rate
    ``p = (conv_a + conv_b) / (n_a + n_b)``::

        se = sqrt(p * (1 - p) * (1 / n_a + 1 / n_b))   # pooled standard error
        z  = (p_b - p_a) / se                           # positive when B converts more
        p_value = 2 * stats.norm.sf(abs(z))             # two-sided

    Use the pooled ``p`` in ``se``, not ``p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b``
    (the unpooled error belongs to a confidence interval for ``p_b - p_a``, not to
    this test). ``z ** 2`` equals the chi-squared statistic of the 2x2 table without
    continuity correction, and ``p_value`` its p-value.

    Parameters
    ----------
    conv_a, n_a : int
        Conversions and visitors in group A, ``0 <= conv_a <= n_a`` and ``n_a >= 1``.
    conv_b, n_b : int
        The same for group B.

    Returns
    -------
    (z, p_value) : tuple of two floats

    Raises
    ------
    ValueError
        If a count is negative, a group has no visitors, conversions exceed
        visitors, or the pooled rate is 0 or 1 (no conversions at all, or only
        conversions: ``se`` would be 0).
    """
    # BEGIN SOLUTION
    if n_a < 1 or n_b < 1 or not 0 <= conv_a <= n_a or not 0 <= conv_b <= n_b:
        raise ValueError(f"need 0 <= conv <= n and n >= 1, got ({conv_a}, {n_a}) and ({conv_b}, {n_b})")
    pooled = (conv_a + conv_b) / (n_a + n_b)
    if pooled in (0.0, 1.0):
        raise ValueError("the pooled conversion rate is 0 or 1: the test is undefined")
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z = (conv_b / n_b - conv_a / n_a) / se
    return float(z), float(2 * stats.norm.sf(abs(z)))
    # END SOLUTION
