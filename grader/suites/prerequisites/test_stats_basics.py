"""Hidden suite for prerequisites/stats_basics: a t interval, Welch's t-test, the bootstrap, an A/B test.

References come from scipy in float64 (``stats.t.interval``, ``stats.ttest_ind(equal_var=False)``,
``stats.chi2_contingency(correction=False)``, ``stats.bootstrap``). The coverage simulation runs
in the learner's kernel in one call: the grader draws every sample at once, the kernel applies
the learner's function to each row, and the grader counts the hits with NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats

from grader.engine.remote import RemoteRef
from grader.helpers import assert_close, expect_raises, fail

# Runs in the learner's kernel: the learner's interval function on every row of X.
_APPLY_ROWS = "lambda f, X, c: [f(row, c) for row in X]"

_T_HINT = (
    "Use Student's t quantile with n - 1 degrees of freedom, stats.t.ppf((1 + confidence) / 2, n - 1), "
    "not the normal quantile (1.96 for 95%): with few observations z instead of t gives an interval that is too "
    "narrow."
)
_DDOF_HINT = "The standard error is s / sqrt(n) with the sample standard deviation s = np.std(x, ddof=1)."
_TWO_SIDED = (
    "Give the two-sided p-value, 2 * stats.t.sf(abs(t), df): a one-sided p-value counts only one tail and is "
    "half as large."
)
_WELCH = (
    "Welch's test does not pool the variances: se = sqrt(va/na + vb/nb) with ddof=1 variances, and df is the "
    "Welch-Satterthwaite value (va/na + vb/nb)**2 / ((va/na)**2/(na-1) + (vb/nb)**2/(nb-1))."
)
_POOLED = (
    "Use the pooled standard error: p = (conv_a + conv_b) / (n_a + n_b), se = sqrt(p * (1 - p) * (1/n_a + 1/n_b)); "
    "an unpooled standard error belongs to a confidence interval, not to this test."
)
_RECIPE = (
    "Follow the docstring's recipe exactly: rng = np.random.default_rng(seed); ONE call "
    "idx = rng.integers(0, n, size=(n_resamples, n)); statistic(x[idx[i]]) for each row i; then "
    "np.quantile(boot, [alpha / 2, 1 - alpha / 2]) with alpha = 1 - confidence."
)


# ---------------------------------------------------------------- references (grader side)


def _t_interval(x: np.ndarray, confidence: float) -> tuple[float, float]:
    low, high = stats.t.interval(confidence, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    return float(low), float(high)


def _bootstrap(x: np.ndarray, statistic: Any, n_resamples: int, confidence: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_resamples, len(x)))
    boot = statistic(x[idx], axis=1)
    alpha = 1 - confidence
    return np.quantile(boot, [alpha / 2, 1 - alpha / 2])


# ---------------------------------------------------------------- reading the learner's answers


def _pair(value: Any, name: str, what: str) -> np.ndarray:
    """A learner's ``(x, y)`` answer as a float array of shape (2,), after checking its form."""
    __tracebackhide__ = True
    if isinstance(value, RemoteRef) or not isinstance(value, tuple | list) or len(value) != 2:
        got = value.type_name if isinstance(value, RemoteRef) else type(value).__name__
        fail(f"`{name}` should return a tuple {what} of two floats, but it returned a {got}.")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float | np.integer | np.floating):
            fail(
                f"`{name}` should return {what} as two floats, but one of them is a {type(item).__name__}.",
                hint="Convert with float(...) before returning.",
            )
    return np.array([float(v) for v in value])


def _interval(sub: Any, x: np.ndarray, confidence: float) -> np.ndarray:
    __tracebackhide__ = True
    return _pair(sub.mean_confidence_interval(x, confidence), "mean_confidence_interval", "(low, high)")


# ---------------------------------------------------------------- mean_confidence_interval


@pytest.mark.public
@pytest.mark.points(2)
def test_mean_interval_matches_scipy(sub: Any, rng: np.random.Generator) -> None:
    for n, confidence in ((4, 0.95), (12, 0.9), (60, 0.99)):
        x = rng.normal(10.0, 3.0, size=n)
        got = _interval(sub, x, confidence)
        exp = np.array(_t_interval(x, confidence))
        if np.allclose(got, exp, rtol=1e-9, atol=1e-12):
            continue
        mean, half = x.mean(), got[1] - x.mean()
        where = f"For n={n} and confidence={confidence}, your interval is ({got[0]:.6g}, {got[1]:.6g})"
        z = stats.norm.ppf((1 + confidence) / 2)
        t = stats.t.ppf((1 + confidence) / 2, n - 1)
        if np.isclose(half, z * x.std(ddof=1) / np.sqrt(n)) or np.isclose(half, z * x.std() / np.sqrt(n)):
            fail(f"{where}: its half-width uses the normal quantile {z:.4f}, not t = {t:.4f}.", hint=_T_HINT)
        if np.isclose(half, t * x.std() / np.sqrt(n)):
            fail(f"{where}: it uses the standard deviation with ddof=0 (divide by n).", hint=_DDOF_HINT)
        if not np.isclose((got[0] + got[1]) / 2, mean, rtol=1e-9):
            fail(f"{where}, but it should be centred on the sample mean {mean:.6g}.", hint="low, high = m -/+ t * se.")
        assert_close(
            got,
            exp,
            rtol=1e-9,
            atol=1e-12,
            name=f"mean_confidence_interval (n={n}, confidence={confidence})",
            hint="The interval is mean -/+ t * s / sqrt(n). " + _T_HINT + " " + _DDOF_HINT,
        )


@pytest.mark.points(1)
def test_mean_interval_covers_the_true_mean_95_percent_of_the_time(sub: Any) -> None:
    # 1000 samples of n=5 normal values; the grader draws them all at once, one kernel call
    # applies the learner's function to each row. An exact t interval covers 95% (standard error
    # of the simulation 0.7%); with this fixed seed (not the node-id seed, so renaming the test
    # cannot move it) the exact interval covers 95.0%, a z interval 87.4%, ddof=0 93.5%.
    n_sim, n, mu = 1000, 5, 3.0
    X = np.random.default_rng(2).normal(mu, 2.0, size=(n_sim, n))
    answers = sub.eval(_APPLY_ROWS)(sub.mean_confidence_interval, X, 0.95)
    if not isinstance(answers, list) or len(answers) != n_sim:
        fail("`mean_confidence_interval` did not return one (low, high) pair per sample.")
    _pair(answers[0], "mean_confidence_interval", "(low, high)")
    try:
        bounds = np.asarray(answers, dtype=np.float64)
    except (TypeError, ValueError):
        bounds = np.empty(0)
    if bounds.shape != (n_sim, 2):
        fail("`mean_confidence_interval` should return a (low, high) tuple of two floats for every sample.")
    coverage = float(np.mean((bounds[:, 0] <= mu) & (mu <= bounds[:, 1])))
    if not 0.93 <= coverage <= 0.97:
        fail(
            f"In a simulation of {n_sim} normal samples of size {n}, your 95% interval contained the true mean "
            f"{coverage:.1%} of the time; a correct 95% interval does so between 93% and 97% of the time.",
            hint=(_T_HINT + " " + _DDOF_HINT) if coverage < 0.93 else "Is the interval too wide? " + _T_HINT,
        )


# ---------------------------------------------------------------- welch_t_test


@pytest.mark.public
@pytest.mark.points(2)
def test_welch_t_test_matches_scipy(sub: Any, rng: np.random.Generator) -> None:
    cases = [
        (rng.normal(0.0, 1.0, 8), rng.normal(0.8, 3.0, 20)),  # unequal sizes and variances
        (rng.normal(5.0, 2.0, 30), rng.normal(4.0, 0.5, 6)),  # t > 0: a's mean is larger
        (rng.normal(1.0, 1.0, 15), rng.normal(1.1, 1.0, 15)),  # a large p-value
    ]
    for i, (a, b) in enumerate(cases):
        got = _pair(sub.welch_t_test(a, b), "welch_t_test", "(t, p)")
        ref = stats.ttest_ind(a, b, equal_var=False)
        t_exp, p_exp = float(ref.statistic), float(ref.pvalue)
        name = f"welch_t_test on case {i + 1} (sizes {len(a)} and {len(b)})"
        if np.isclose(got[0], -t_exp, rtol=1e-9) and not np.isclose(got[0], t_exp, rtol=1e-9):
            fail(f"{name}: t is {got[0]:.6g}, expected {t_exp:.6g}.", hint="t = (mean(a) - mean(b)) / se: a minus b.")
        assert_close(got[0], t_exp, rtol=1e-9, name=f"t of {name}", hint=_WELCH)
        if np.isclose(got[1], p_exp / 2, rtol=1e-6) or np.isclose(got[1], 1 - p_exp / 2, rtol=1e-6):
            fail(f"{name}: p is {got[1]:.6g}, expected the two-sided {p_exp:.6g}.", hint=_TWO_SIDED)
        student = float(stats.ttest_ind(a, b, equal_var=True).pvalue)
        if np.isclose(got[1], student, rtol=1e-6):
            fail(
                f"{name}: p is {got[1]:.6g}, the p-value of Student's pooled t-test; Welch's is {p_exp:.6g}.",
                hint=_WELCH,
            )
        assert_close(got[1], p_exp, rtol=1e-7, atol=1e-15, name=f"p of {name}", hint=_WELCH + " " + _TWO_SIDED)


# ---------------------------------------------------------------- bootstrap_ci


@pytest.mark.public
@pytest.mark.points(1)
def test_bootstrap_follows_the_pinned_recipe(sub: Any, rng: np.random.Generator) -> None:
    x = rng.exponential(2.0, size=25)
    for fn, statistic, n_resamples, confidence, seed in (
        ("mean", np.mean, 2000, 0.95, 7),
        ("median", np.median, 1000, 0.8, 123),
    ):
        got = _pair(
            sub.bootstrap_ci(x, sub.eval(f"__import__('numpy').{fn}"), n_resamples, confidence, seed),
            "bootstrap_ci",
            "(low, high)",
        )
        exp = _bootstrap(x, statistic, n_resamples, confidence, seed)
        if np.allclose(got, exp, rtol=1e-12, atol=1e-12):
            continue
        hint = _RECIPE
        if np.isclose(got[0], got[1], rtol=1e-12, atol=1e-12):
            hint = (
                "Every resample gave the same statistic: draw each resample's n values from x with replacement "
                "(rng.integers(0, n, ...)), not a permutation of x. " + _RECIPE
            )
        theta = statistic(x)
        if np.allclose(got, (2 * theta - exp)[::-1], rtol=1e-9):
            hint = (
                "You returned the 'basic' bootstrap interval 2 * statistic(x) - quantiles; the percentile method "
                "returns the quantiles of the resampled statistics themselves. " + _RECIPE
            )
        elif np.allclose(got, _bootstrap(x, statistic, n_resamples, 1 - (1 - confidence) * 2, seed), rtol=1e-9):
            hint = "Cut alpha / 2 from each tail (alpha = 1 - confidence), not alpha. " + _RECIPE
        assert_close(
            got,
            exp,
            rtol=1e-12,
            atol=1e-12,
            name=f"bootstrap_ci(x, np.{fn}, n_resamples={n_resamples}, confidence={confidence}, seed={seed})",
            hint=hint,
        )


@pytest.mark.points(1)
def test_bootstrap_is_seeded_and_agrees_with_scipy(sub: Any, rng: np.random.Generator) -> None:
    x = rng.lognormal(0.0, 0.6, size=40)
    mean, median = sub.eval("__import__('numpy').mean"), sub.eval("__import__('numpy').median")
    seed_hint = (
        "Draw every random number from rng = np.random.default_rng(seed), created inside the function "
        "(not np.random.seed, not the global np.random functions)."
    )
    first = _pair(sub.bootstrap_ci(x, mean, 500, 0.9, 1), "bootstrap_ci", "(low, high)")
    again = _pair(sub.bootstrap_ci(x, mean, 500, 0.9, 1), "bootstrap_ci", "(low, high)")
    other = _pair(sub.bootstrap_ci(x, mean, 500, 0.9, 2), "bootstrap_ci", "(low, high)")
    if first[0] == first[1]:
        fail(
            f"Your 90% bootstrap interval for the mean is the single point {first[0]:.6g}: every resample gave "
            "the same mean.",
            hint="Draw each resample's n values from x with replacement (rng.integers(0, n, ...)), not a "
            "permutation of x: a permutation always has the same mean.",
        )
    if not np.array_equal(first, again):
        fail(f"Two calls with seed=1 gave different intervals, {first} and {again}.", hint=seed_hint)
    if np.array_equal(first, other):
        fail(f"seed=1 and seed=2 gave the same interval {first}: the seed is not used.", hint=seed_hint)
    first = _pair(sub.bootstrap_ci(x, median, 2000, 0.9, 1), "bootstrap_ci", "(low, high)")
    if not first[0] <= np.median(x) <= first[1]:
        fail(f"Your 90% bootstrap interval {first} for the median does not contain the sample median.")
    pinned = {c: _bootstrap(x, np.median, 2000, c, 1) for c in (0.9, 0.99)}
    follows = (
        "; this follows from the problem the recipe test above reports (with this seed your interval differs from "
        "the pinned recipe's): fix that first."
    )
    ref = stats.bootstrap((x,), np.median, n_resamples=10_000, confidence_level=0.9, method="percentile", rng=0)
    exp = np.array([ref.confidence_interval.low, ref.confidence_interval.high])
    width = exp[1] - exp[0]
    if np.max(np.abs(first - exp)) > 0.15 * width:
        if not np.allclose(first, pinned[0.9], rtol=1e-12, atol=1e-12):
            fail(
                f"Your 90% percentile-bootstrap interval for the median is ({first[0]:.4g}, {first[1]:.4g}); "
                f"scipy.stats.bootstrap(method='percentile') gives about ({exp[0]:.4g}, {exp[1]:.4g})" + follows
            )
        fail(
            f"Your 90% percentile-bootstrap interval for the median is ({first[0]:.4g}, {first[1]:.4g}); "
            f"scipy.stats.bootstrap(method='percentile') gives about ({exp[0]:.4g}, {exp[1]:.4g}).",
            hint="Resample n values with replacement, compute the statistic on each resample, and take the "
            "alpha/2 and 1 - alpha/2 quantiles of those statistics (alpha = 1 - confidence).",
        )
    wide = _pair(sub.bootstrap_ci(x, median, 2000, 0.99, 1), "bootstrap_ci", "(low, high)")
    if not (wide[0] <= first[0] and first[1] <= wide[1] and wide[1] - wide[0] > width * 1.05):
        if not np.allclose(wide, pinned[0.99], rtol=1e-12, atol=1e-12):
            fail(f"With the same seed, your 99% interval {wide} should contain your 90% interval {first}" + follows)
        fail(
            f"With the same seed, your 99% interval {wide} should contain your 90% interval {first} and be wider.",
            hint="alpha = 1 - confidence: a higher confidence cuts less from each tail.",
        )


# ---------------------------------------------------------------- ab_test_proportions


@pytest.mark.public
@pytest.mark.points(2)
def test_ab_test_matches_the_chi_squared_test(sub: Any) -> None:
    for conv_a, n_a, conv_b, n_b in ((120, 2400, 156, 2500), (45, 300, 30, 310), (3, 40, 9, 35), (50, 1000, 50, 1000)):
        got = _pair(sub.ab_test_proportions(conv_a, n_a, conv_b, n_b), "ab_test_proportions", "(z, p_value)")
        chi2, p_exp, _, _ = stats.chi2_contingency([[conv_a, n_a - conv_a], [conv_b, n_b - conv_b]], correction=False)
        pa, pb = conv_a / n_a, conv_b / n_b
        z_exp = float(np.sign(pb - pa) * np.sqrt(chi2))
        name = f"ab_test_proportions({conv_a}, {n_a}, {conv_b}, {n_b})"
        if z_exp != 0 and np.isclose(got[0], -z_exp, rtol=1e-9):
            fail(f"{name}: z is {got[0]:.6g}, expected {z_exp:.6g}.", hint="z = (p_b - p_a) / se: B minus A.")
        unpooled = (pb - pa) / np.sqrt(pa * (1 - pa) / n_a + pb * (1 - pb) / n_b)
        if z_exp != 0 and np.isclose(got[0], unpooled, rtol=1e-9):
            fail(f"{name}: z is {got[0]:.6g} (unpooled standard error), expected {z_exp:.6g}.", hint=_POOLED)
        assert_close(got[0], z_exp, rtol=1e-9, atol=1e-12, name=f"z of {name}", hint=_POOLED)
        if np.isclose(got[1], p_exp / 2, rtol=1e-6) and z_exp != 0:
            fail(
                f"{name}: p is {got[1]:.6g}, expected the two-sided {p_exp:.6g}.",
                hint="Two-sided: p = 2 * stats.norm.sf(abs(z)).",
            )
        assert_close(got[1], p_exp, rtol=1e-7, atol=1e-15, name=f"p of {name}", hint="p = 2 * stats.norm.sf(abs(z)).")


# ---------------------------------------------------------------- invalid input


@pytest.mark.points(1)
def test_invalid_input_raises_value_error(sub: Any) -> None:
    sub.mean_confidence_interval([1.0, 2.0, 4.0])  # an ordinary call first: a stub stays "not attempted"
    sub.ab_test_proportions(5, 50, 8, 50)
    for args, why in (
        (([3.0], 0.95), "a single value has no sample standard deviation"),
        (([1.0, 2.0, 3.0], 1.5), "confidence must be strictly between 0 and 1"),
        (([1.0, 2.0, 3.0], 0.0), "confidence must be strictly between 0 and 1"),
    ):
        with expect_raises("ValueError", name=f"mean_confidence_interval{args}", hint=why):
            sub.mean_confidence_interval(*args)
    with expect_raises("ValueError", name="welch_t_test([1.0], [1.0, 2.0, 3.0])", hint="Each sample needs 2 values."):
        sub.welch_t_test([1.0], [1.0, 2.0, 3.0])
    with expect_raises(
        "ValueError", name="bootstrap_ci with confidence=1.0", hint="confidence must be strictly between 0 and 1"
    ):
        sub.bootstrap_ci([1.0, 2.0, 3.0], sub.eval("__import__('numpy').mean"), 10, 1.0, 0)
    for args, why in (
        ((60, 50, 8, 50), "conversions cannot exceed visitors"),
        ((5, 0, 8, 50), "a group needs at least one visitor"),
        ((-1, 50, 8, 50), "counts cannot be negative"),
        ((0, 50, 0, 50), "with no conversions at all the pooled rate is 0 and se is 0"),
    ):
        with expect_raises("ValueError", name=f"ab_test_proportions{args}", hint=why):
            sub.ab_test_proportions(*args)
