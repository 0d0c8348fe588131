"""Hidden suite for mlops/drift: PSI with quantile bins, the two-sample KS test, an alert rule.

Every reference value is computed here, in the grader's process: the bin edges and PSI from the
docstring's recipe in NumPy, the KS statistic with ``scipy.stats.ks_2samp`` and its asymptotic
p-value with ``scipy.stats.kstwobign``. A wrong value is diagnosed by recomputing the common
mistakes (bins from the current window, bins closed on the right, no clipping of empty bins,
log base 10 or 2, a KS gap taken at one sample's values only, a one-sided p-value) and naming
the one that reproduces the learner's number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import stats

from grader.helpers import assert_close, assert_equal, fail

EPS = 1e-4

_H_REFERENCE = (
    "Compute the bin edges from the reference window only (its quantiles), and count the current window in "
    "those same bins."
)
_H_LEFT = (
    "Bins are closed on the left: a value equal to an edge belongs to the bin that starts at it, "
    "np.searchsorted(edges, x, side='right') - 1."
)
_H_EMPTY = (
    "An empty bin gives log(0) or a division by zero: clip both shares from below first, "
    "p = np.maximum(p, eps) and q = np.maximum(q, eps)."
)
_H_LN = "Use the natural logarithm, np.log, in psi = sum((q - p) * ln(q / p))."
_H_EDGES = (
    "edges = [-inf, *np.unique(np.quantile(reference, np.linspace(0, 1, n_bins + 1)[1:-1])), +inf]: the inner "
    "quantiles only, tied quantiles merged by np.unique, and open outer bins."
)
_H_BOTH_SAMPLES = (
    "Take the gap |F_a(x) - F_b(x)| at every value of BOTH samples: the largest gap can sit at a value of b."
)
_H_ABS = "D is the largest ABSOLUTE gap, np.max(np.abs(F_a - F_b)): the gap can go either way."
_H_TWO_SIDED = (
    "The p-value is two-sided: scipy.stats.kstwobign.sf(D * sqrt(n * m / (n + m))), with nothing halved or "
    "doubled and the effective size n * m / (n + m)."
)
_H_BOTH_TESTS = (
    "A feature has drifted only when both tests agree: psi >= psi_threshold AND ks_pvalue < alpha, not when "
    "either one fires."
)
_H_GREATER = "Alert when the number of drifted features is greater than max_drifted (strictly), not >=."


# ---------------------------------------------------------------- references (grader side)


def _edges(reference: np.ndarray, n_bins: int) -> np.ndarray:
    q = np.quantile(reference, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.concatenate([[-np.inf], np.unique(q), [np.inf]])


def _shares(values: np.ndarray, edges: np.ndarray, side: str = "right") -> np.ndarray:
    if side == "right":
        idx = np.searchsorted(edges, values, side="right") - 1
    else:  # closed on the right: edges[i] < x <= edges[i + 1]
        idx = np.clip(np.searchsorted(edges, values, side="left") - 1, 0, len(edges) - 2)
    return np.bincount(idx, minlength=len(edges) - 1) / len(values)


def _psi(
    reference: np.ndarray,
    current: np.ndarray,
    n_bins: int,
    *,
    edges_from: str = "reference",
    side: str = "right",
    clip: bool = True,
    log: Callable[[Any], Any] = np.log,
) -> float:
    edges = _edges(current if edges_from == "current" else reference, n_bins)
    p, q = _shares(reference, edges, side), _shares(current, edges, side)
    if clip:
        p, q = np.maximum(p, EPS), np.maximum(q, EPS)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum((q - p) * log(q / p)))


def _ks(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    d = float(stats.ks_2samp(a, b).statistic)
    n, m = len(a), len(b)
    return d, float(stats.kstwobign.sf(d * np.sqrt(n * m / (n + m))))


def _ks_variants(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    sa, sb = np.sort(a), np.sort(b)

    def gap(points: np.ndarray, side: str) -> float:
        fa = np.searchsorted(sa, points, side=side) / len(sa)  # type: ignore[call-overload]
        fb = np.searchsorted(sb, points, side=side) / len(sb)  # type: ignore[call-overload]
        return float(np.max(np.abs(fa - fb)))

    pooled = np.concatenate([sa, sb])
    signed = np.searchsorted(sa, pooled, side="right") / len(sa) - np.searchsorted(sb, pooled, side="right") / len(sb)
    return {"one_sample": gap(sa, "right"), "signed": float(np.max(signed)), "signed_neg": float(np.max(-signed))}


def _diagnose_psi(actual: float, reference: np.ndarray, current: np.ndarray, n_bins: int) -> str | None:
    """The hint for the mistake that reproduces ``actual``, or None when none does."""
    if not np.isfinite(actual):
        return _H_EMPTY
    candidates = [
        (_H_REFERENCE, _psi(reference, current, n_bins, edges_from="current")),
        (_H_LEFT, _psi(reference, current, n_bins, side="left")),
        (_H_LN, _psi(reference, current, n_bins, log=np.log10)),
        (_H_LN, _psi(reference, current, n_bins, log=np.log2)),
    ]
    matches = {hint for hint, value in candidates if np.isfinite(value) and np.isclose(actual, value, rtol=1e-6)}
    return matches.pop() if len(matches) == 1 else None  # two mistakes giving one number: name neither


def _check_psi(sub: Any, reference: np.ndarray, current: np.ndarray, n_bins: int, what: str) -> None:
    __tracebackhide__ = True
    actual = sub.psi(reference, current, n_bins=n_bins)
    if not isinstance(actual, float | int | np.floating):
        fail(f"`psi` should return a float, but you returned a {type(actual).__name__}.")
    expected = _psi(reference, current, n_bins)
    if not np.isclose(float(actual), expected, rtol=1e-6, atol=1e-12):
        hint = _diagnose_psi(float(actual), reference, current, n_bins)
        fail(f"`psi` on {what} (n_bins={n_bins}) returned {float(actual):.8g}, expected {expected:.8g}.", hint)


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(1.5)
def test_bin_edges_are_reference_quantiles(sub: Any, rng: np.random.Generator) -> None:
    reference = rng.normal(5.0, 2.0, size=501)
    for n_bins in (10, 4):
        edges = sub.bin_edges(reference, n_bins=n_bins)
        assert_close(
            edges, _edges(reference, n_bins), rtol=1e-12, name=f"bin_edges(reference, n_bins={n_bins})", hint=_H_EDGES
        )
    # Few distinct values: tied quantiles must merge into one edge.
    counts = rng.integers(0, 3, size=200).astype(np.float64)
    edges = sub.bin_edges(counts, n_bins=10)
    expected = _edges(counts, 10)
    if not isinstance(edges, np.ndarray) or edges.shape != expected.shape:
        got = edges.shape if isinstance(edges, np.ndarray) else type(edges).__name__
        fail(
            f"On a feature with only the values 0, 1 and 2, `bin_edges(..., n_bins=10)` returned {got}; expected "
            f"{len(expected)} edges {expected.tolist()}: repeated quantiles must collapse into one edge.",
            _H_EDGES,
        )
    assert_close(edges, expected, name="bin_edges on a feature with ties", hint=_H_EDGES)


@pytest.mark.public
@pytest.mark.points(2)
def test_psi_hand_computed_with_an_empty_bin(sub: Any) -> None:
    # Reference 0..9 with n_bins=2: one inner edge at 4.5, p = [0.5, 0.5]. Every current value is
    # below 4.5, so the upper bin is empty: q = [1, 0] -> [1, eps] after clipping.
    reference = np.arange(10.0)
    current = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 0.5, 1.5, 2.5])
    expected = 0.5 * np.log(1.0 / 0.5) + (EPS - 0.5) * np.log(EPS / 0.5)
    actual = sub.psi(reference, current, n_bins=2)
    if not isinstance(actual, float | int | np.floating) or not np.isfinite(actual):
        fail(
            f"With an empty bin in the current window `psi` returned {actual!r}; expected {expected:.8g} "
            "(q = [1, 0] clipped to [1, 1e-4]).",
            _H_EMPTY,
        )
    if not np.isclose(float(actual), expected, rtol=1e-9):
        fail(
            f"`psi(arange(10), current, n_bins=2)` with every current value below the edge 4.5 returned "
            f"{float(actual):.8g}, expected 0.5*ln(2) + (1e-4 - 0.5)*ln(1e-4/0.5) = {expected:.8g}.",
            _diagnose_psi(float(actual), reference, current, 2),
        )
    # Identical windows are perfectly stable.
    same = sub.psi(reference, reference.copy(), n_bins=4)
    assert_close(same, 0.0, atol=1e-12, name="psi of a window against itself")


@pytest.mark.points(1.5)
def test_psi_matches_the_recipe_on_shifted_windows(sub: Any, rng: np.random.Generator) -> None:
    reference = rng.normal(0.0, 1.0, size=800)
    _check_psi(sub, reference, rng.normal(0.6, 1.3, size=500), 10, "a shifted, wider current window")
    _check_psi(sub, reference, rng.normal(0.0, 1.0, size=300), 5, "a current window from the same distribution")
    # Integer-valued data: many values sit exactly on an edge, so the closed side matters.
    ref_int = rng.integers(0, 10, size=400).astype(np.float64)
    cur_int = rng.choice(10, size=300, p=np.linspace(1.0, 3.0, 10) / 20.0).astype(np.float64)
    _check_psi(sub, ref_int, cur_int, 4, "integer-valued windows (values sit on the edges)")


@pytest.mark.public
@pytest.mark.points(1.5)
def test_ks_statistic_matches_scipy(sub: Any, rng: np.random.Generator) -> None:
    cases = [
        ("two normal samples of different sizes", rng.normal(0, 1, 300), rng.normal(0.3, 1.2, 170)),
        ("samples whose largest gap sits at a value of b", np.array([5.0, 6.0]), np.array([1.0, 2.0, 3.0])),
        (
            "integer samples with many ties",
            rng.integers(0, 6, 200).astype(float),
            rng.integers(1, 7, 150).astype(float),
        ),
    ]
    for what, a, b in cases:
        result = sub.ks_2samp(a, b)
        if not isinstance(result, tuple | list) or len(result) != 2:
            fail(f"`ks_2samp` should return a tuple (statistic, pvalue), but you returned {result!r:.80}.")
        d = result[0]
        expected = float(stats.ks_2samp(a, b).statistic)
        if not isinstance(d, float | int | np.floating) or not np.isclose(float(d), expected, rtol=1e-12, atol=1e-12):
            variants = _ks_variants(a, b)
            hint = None
            if isinstance(d, float | int | np.floating):
                if np.isclose(float(d), variants["one_sample"], atol=1e-12):
                    hint = _H_BOTH_SAMPLES
                elif np.isclose(float(d), variants["signed"], atol=1e-12) or np.isclose(
                    float(d), variants["signed_neg"], atol=1e-12
                ):
                    hint = _H_ABS
            fail(f"The KS statistic on {what} is {d!r}, expected {expected:.8g} (scipy.stats.ks_2samp).", hint)


@pytest.mark.points(1)
def test_ks_pvalue_is_two_sided_and_asymptotic(sub: Any, rng: np.random.Generator) -> None:
    for a, b in ((rng.normal(0, 1, 400), rng.normal(0.15, 1, 250)), (rng.normal(0, 1, 60), rng.normal(0, 1, 90))):
        result = sub.ks_2samp(a, b)
        if not isinstance(result, tuple | list) or len(result) != 2:
            fail(f"`ks_2samp` should return a tuple (statistic, pvalue), but you returned {result!r:.80}.")
        expected_d, expected_p = _ks(a, b)
        if not np.isclose(float(result[0]), expected_d, atol=1e-12):
            fail(
                "The p-value is checked on the statistic, which is wrong: this follows from the statistic "
                "problem reported by test_ks_statistic_matches_scipy."
            )
        assert_close(
            float(result[1]),
            expected_p,
            rtol=1e-6,
            atol=1e-12,
            name=f"ks_2samp p-value (n={len(a)}, m={len(b)})",
            hint=_H_TWO_SIDED,
        )


def _report_data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list[str]]:
    n_ref, n_cur = 4000, 3000
    reference = np.column_stack([rng.normal(0, 1, n_ref), rng.normal(0, 1, n_ref), rng.normal(10, 2, n_ref)])
    current = np.column_stack(
        [
            rng.normal(0, 1, n_cur),  # stable
            rng.normal(1.0, 1, n_cur),  # a big shift: both tests fire
            rng.normal(10.3, 2, n_cur),  # a small shift on a large window: KS fires, PSI does not
        ]
    )
    return reference, current, ["stable", "shifted", "small_shift"]


@pytest.mark.public
@pytest.mark.points(1.5)
def test_drift_report_flags_features_when_both_tests_agree(sub: Any, rng: np.random.Generator) -> None:
    reference, current, names = _report_data(rng)
    report = sub.drift_report(reference, current, names, n_bins=10, psi_threshold=0.2, alpha=0.01)
    if not isinstance(report, dict):
        fail(f"`drift_report` should return a dict keyed by feature name, but you returned a {type(report).__name__}.")
    assert_equal(list(report), names, name="drift_report's keys (in the given order)")
    flags_or: dict[str, bool] = {}
    for j, name in enumerate(names):
        entry = report[name]
        if not isinstance(entry, dict) or set(entry) != {"psi", "ks_statistic", "ks_pvalue", "drift"}:
            got = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            fail(f"report[{name!r}] should be a dict with keys psi, ks_statistic, ks_pvalue, drift; got {got}.")
        ref_col, cur_col = reference[:, j], current[:, j]
        exp_psi = _psi(ref_col, cur_col, 10)
        if not np.isclose(float(entry["psi"]), exp_psi, rtol=1e-6, atol=1e-12):
            fail(
                f"report[{name!r}]['psi'] is {entry['psi']!r}, expected {exp_psi:.8g}.",
                _diagnose_psi(float(entry["psi"]), ref_col, cur_col, 10),
            )
        exp_d, exp_p = _ks(ref_col, cur_col)
        assert_close(float(entry["ks_statistic"]), exp_d, rtol=1e-9, name=f"report[{name!r}]['ks_statistic']")
        assert_close(float(entry["ks_pvalue"]), exp_p, rtol=1e-6, atol=1e-12, name=f"report[{name!r}]['ks_pvalue']")
        if not isinstance(entry["drift"], bool):
            fail(f"report[{name!r}]['drift'] should be a bool, got a {type(entry['drift']).__name__}.")
        flags_or[name] = bool(exp_psi >= 0.2 or exp_p < 0.01)
        expected_flag = bool(exp_psi >= 0.2 and exp_p < 0.01)
        if entry["drift"] != expected_flag:
            hint = _H_BOTH_TESTS if entry["drift"] == flags_or[name] else None
            fail(
                f"report[{name!r}]['drift'] is {entry['drift']}, expected {expected_flag} (psi = {exp_psi:.4g}, "
                f"ks_pvalue = {exp_p:.3g}, psi_threshold = 0.2, alpha = 0.01).",
                hint,
            )


@pytest.mark.public
@pytest.mark.points(1)
def test_should_alert_counts_drifted_features(sub: Any) -> None:
    def report(flags: list[bool]) -> dict[str, dict[str, Any]]:
        return {
            f"f{i}": {"psi": 0.3 if f else 0.01, "ks_statistic": 0.1, "ks_pvalue": 0.001 if f else 0.5, "drift": f}
            for i, f in enumerate(flags)
        }

    cases = [
        ([False, False, False], 0, False),
        ([False, True, False], 0, True),
        ([True, True, False], 2, False),
        ([True, True, True], 2, True),
        ([True, False], 1, False),
    ]
    for flags, max_drifted, expected in cases:
        got = sub.should_alert(report(flags), max_drifted=max_drifted)
        if not isinstance(got, bool):
            fail(f"`should_alert` should return a bool, got a {type(got).__name__}.")
        if got != expected:
            n = sum(flags)
            fail(
                f"`should_alert` with {n} drifted feature(s) and max_drifted={max_drifted} returned {got}, "
                f"expected {expected}.",
                _H_GREATER if n == max_drifted else None,
            )
