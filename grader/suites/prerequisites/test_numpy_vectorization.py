"""Hidden suite for prerequisites/numpy_vectorization: pairwise_distances, standardize, one_hot, moving_average.

Correctness is checked against scipy, scikit-learn and NumPy here. The vectorisation budget is
measured in the learner's kernel, in the same run: the learner's function and a vectorised
reference get the same large input (built in the kernel, so nothing big crosses the codec), and
their CPU times are compared as a ratio.

Why this is robust on a busy machine (it was tuned with the load average at 10 on 2 cores):

- CPU time of the kernel's main thread (``time.thread_time``), not wall time: other processes taking
  the cores do not count. (Not ``time.process_time``: with RLIMIT_CPU set, Linux reads the process
  CPU clock from a sample updated once per scheduler tick, so it moves in 4 ms steps.)
- The reference's time is the *minimum* of several runs, interleaved with the learner's attempts;
  the learner passes as soon as one of up to 4 attempts is within budget.
- Inputs and results stay at 16 MB or less (glibc serves blocks under 32 MB from its heap after the
  first call, instead of fresh pages from the OS whose page faults made timings of bigger inputs
  jump by 3-7x). So the references take about 3-15 ms here, not 50 ms.
- Budgets sit about 3x away from both sides. Measured ratios to the reference: other vectorised
  ways (broadcasting, a loop over rows or columns, np.eye(k)[y], sliding_window_view) 1-8x; the
  fastest pure-Python loops (over .tolist(), math.dist, a running sum) 18-60x; the usual loops
  with NumPy indexing per element 25-1000x. Budgets: 7x (one_hot), 10x, 15x, 20x (pairwise_distances).
- A loop is not waited for: a CPU timer (SIGPROF) stops each attempt at the budget.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.preprocessing import StandardScaler

from grader.helpers import assert_close, expect_raises, fail

# Built in the learner's kernel: the timer, the references and the large inputs.
_IN_KERNEL = '''
import signal, threading, time
import numpy as np


class _OverBudget(BaseException):
    """Raised in the timed call by the CPU timer (a BaseException: `except Exception` cannot swallow it)."""


def _on_timer(signum, frame):
    raise _OverBudget()


def _cpu_call(fn, args, cap):
    """(CPU seconds of this thread, result) of fn(*args); (None, None) when it ran past `cap` CPU seconds.

    time.thread_time, not time.process_time: under RLIMIT_CPU (or an armed ITIMER_PROF) Linux reads
    the process clock from a sample updated once per scheduler tick (4 ms), the thread clock exactly.
    """
    armed = cap is not None and threading.current_thread() is threading.main_thread()
    old = None
    try:
        try:
            if armed:
                old = signal.signal(signal.SIGPROF, _on_timer)
                signal.setitimer(signal.ITIMER_PROF, cap)
            t0 = time.thread_time()
            out = fn(*args)
            return time.thread_time() - t0, out
        finally:
            if armed:
                signal.setitimer(signal.ITIMER_PROF, 0)
                signal.signal(signal.SIGPROF, old)
    except _OverBudget:
        return None, None


def ref_pairwise_distances(X, Y):
    sq = (X * X).sum(axis=1)[:, None] + (Y * Y).sum(axis=1)[None, :] - 2.0 * (X @ Y.T)
    return np.sqrt(np.maximum(sq, 0.0))


def ref_standardize(X):
    std = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)


def ref_one_hot(y, n_classes):
    out = np.zeros((y.size, n_classes))
    out[np.arange(y.size), y] = 1.0
    return out


def ref_moving_average(x, window):
    c = np.concatenate(([0.0], np.cumsum(x)))
    return (c[window:] - c[:-window]) / window


def make_inputs(name, seed):
    rng = np.random.default_rng(seed)
    if name == "pairwise_distances":
        return rng.normal(size=(1100, 3)), rng.normal(size=(1100, 3)) + 0.5
    if name == "standardize":
        # tiled, here and below: millions of fresh random numbers would cost more than the timing itself
        base = rng.normal(size=(500, 250)) * rng.uniform(0.5, 2.0, size=250) + rng.uniform(-5, 5, size=250)
        return (np.tile(base, (4, 4)),)
    if name == "one_hot":
        return np.tile(rng.integers(0, 3, size=100_000), 7), 3
    if name == "moving_average":
        return np.tile(rng.normal(size=100_000), 20), 5
    raise KeyError(name)


def budget(fn, name, seed, ratio, attempts=4, ref_runs=2):
    """Time fn against the reference on the same input, in this process.

    Returns (passed, best reference seconds, the learner's seconds per attempt (None when stopped
    at the budget), whether the learner's result matched the reference).
    """
    args = make_inputs(name, seed)
    ref = globals()["ref_" + name]
    expected = None
    ref_times = []
    for _ in range(ref_runs):
        t, expected = _cpu_call(ref, args, None)
        ref_times.append(t)
    sample = expected.reshape(-1)[::97]
    tries = []
    correct = None
    for _ in range(attempts):
        cap = max(ratio * min(ref_times), 0.005)  # setitimer(..., 0) would disarm the timer
        t, out = _cpu_call(fn, [a.copy() if isinstance(a, np.ndarray) else a for a in args], cap)
        tries.append(t)
        if t is not None and correct is None:
            correct = bool(  # every 97th entry: the full comparison would cost more than the timing
                isinstance(out, np.ndarray) and out.shape == expected.shape
                and np.allclose(out.reshape(-1)[::97], sample, rtol=1e-6, atol=1e-6)
            )
        if t is not None and t <= cap:
            return True, min(ref_times), tries, correct
        ref_times.append(_cpu_call(ref, args, None)[0])  # the machine may have been busy: measure again
    return False, min(ref_times), tries, correct
'''
_NAMES = ["budget"]


def _kernel(sub: Any) -> Any:
    """The kernel-side `budget` function, as a remote reference."""
    (budget,) = sub.eval("lambda src, names: (lambda ns: (exec(src, ns), [ns[n] for n in names])[1])({})")(
        _IN_KERNEL, _NAMES
    )
    return budget


def _check_array(value: Any, shape: tuple[int, ...], name: str, hint: str | None = None) -> np.ndarray:
    __tracebackhide__ = True
    if not isinstance(value, np.ndarray):
        fail(f"`{name}` should be an ndarray of shape {shape}, but you returned a {type(value).__name__}.", hint)
    if value.shape != shape:
        fail(f"`{name}` has shape {value.shape}, expected {shape}.", hint)
    if value.dtype != np.float64:
        fail(
            f"`{name}` has dtype {value.dtype}, expected float64.", hint="Convert with np.asarray(x, dtype=np.float64)."
        )
    return value


# ---------------------------------------------------------------- correctness


@pytest.mark.public
@pytest.mark.points(1)
def test_pairwise_distances_match_scipy(sub: Any, rng: np.random.Generator) -> None:
    for n, m, d in ((7, 5, 3), (1, 4, 1), (6, 6, 10)):
        X, Y = rng.normal(size=(n, d)), rng.normal(size=(m, d)) * 2.0
        D = _check_array(sub.pairwise_distances(X, Y), (n, m), f"pairwise_distances for X {X.shape}, Y {Y.shape}")
        assert_close(
            D,
            cdist(X, Y),
            rtol=1e-9,
            atol=1e-9,
            name=f"pairwise_distances(X, Y) for X {X.shape}, Y {Y.shape}",
            hint="D[i, j] = sqrt(sum over k of (X[i, k] - Y[j, k]) ** 2): the Euclidean distance, with the square "
            "root. Broadcast X[:, None, :] - Y[None, :, :], or use ||x||^2 + ||y||^2 - 2 X @ Y.T.",
        )
    X = rng.normal(size=(8, 3))
    D = _check_array(sub.pairwise_distances(X, X), (8, 8), "pairwise_distances(X, X)")
    assert_close(D, cdist(X, X), atol=1e-7, name="pairwise_distances(X, X)", hint="The diagonal must be (about) 0.")
    Xi, Yi = rng.integers(-5, 6, size=(4, 2)), rng.integers(-5, 6, size=(3, 2))
    assert_close(
        sub.pairwise_distances(Xi.tolist(), Yi.tolist()),
        cdist(Xi, Yi),
        rtol=1e-9,
        atol=1e-9,
        name="pairwise_distances of integer lists",
        hint="Convert the inputs with np.asarray(..., dtype=np.float64).",
    )


@pytest.mark.points(1)
def test_pairwise_distances_never_negative_or_nan(sub: Any, rng: np.random.Generator) -> None:
    # far from the origin, with exact duplicates and near-duplicates: ||x||^2 + ||y||^2 - 2 x.y cancels
    X = 1e4 + rng.normal(size=(20, 3))
    Y = np.vstack([X[:10], X[10:] + 1e-3 * rng.normal(size=(10, 3)), 1e4 + rng.normal(size=(5, 3))])
    D = _check_array(sub.pairwise_distances(X, Y), (20, 25), "pairwise_distances far from the origin")
    clip = (
        "For (nearly) equal points far from the origin, ||x||^2 + ||y||^2 - 2 x.y cancels and rounding can make it "
        "slightly negative: clip it at 0 (np.maximum(sq, 0.0)) before the square root."
    )
    if np.isnan(D).any():
        i, j = (int(a) for a in np.argwhere(np.isnan(D))[0])
        fail(
            f"`pairwise_distances` returned NaN at index ({i}, {j}), for points at distance {cdist(X, Y)[i, j]:.3g}.",
            clip,
        )
    if (D < 0).any():
        fail(f"`pairwise_distances` returned a negative distance ({D.min():.3g}).", clip)
    if not np.allclose(D, cdist(X, Y), rtol=0, atol=2e-3):
        small = np.array([[0.0, 0.0], [3.0, 4.0]])
        if not np.allclose(np.asarray(sub.pairwise_distances(small, small), dtype=float), cdist(small, small)):
            fail(
                "`pairwise_distances` far from the origin is wrong; this follows from its values on ordinary points, "
                "which are already wrong (see the test above)."
            )
    assert_close(D, cdist(X, Y), atol=2e-3, name="pairwise_distances far from the origin", hint=clip)


@pytest.mark.public
@pytest.mark.points(1)
def test_standardize_matches_standard_scaler(sub: Any, rng: np.random.Generator) -> None:
    X = rng.normal(size=(30, 4)) * np.array([1.0, 10.0, 0.1, 3.0]) + np.array([5.0, -2.0, 100.0, 0.0])
    X[:, 3] = 7.0  # a constant column
    Z, before, after = sub.eval("lambda f, X: (lambda b: (f(X), b, X.copy()))(X.copy())")(sub.standardize, X)
    Z = _check_array(Z, X.shape, "standardize(X)")
    if np.isnan(Z).any() or np.isinf(Z).any():
        fail(
            "`standardize` returned NaN or inf for a constant column.",
            hint="A constant column has std 0: return zeros for it (divide by np.where(std > 0, std, 1.0)).",
        )
    expected = StandardScaler().fit_transform(X)
    ddof1 = (X - X.mean(axis=0)) / np.where(X.std(axis=0, ddof=1) > 0, X.std(axis=0, ddof=1), 1.0)
    if np.allclose(Z, ddof1, rtol=1e-9, atol=1e-12):
        fail(
            "`standardize` divides by the sample standard deviation (ddof=1).",
            hint="Use the population standard deviation, ddof=0 (np.std's default), as StandardScaler does.",
        )
    rows = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    if np.allclose(Z, rows, rtol=1e-9, atol=1e-12):
        fail("`standardize` standardised the rows.", hint="Standardise each column: mean and std with axis=0.")
    assert_close(
        Z,
        expected,
        rtol=1e-9,
        atol=1e-12,
        name="standardize(X)",
        hint="Z = (X - X.mean(axis=0)) / X.std(axis=0), with ddof=0 and zeros for a constant column.",
    )
    assert_close(
        after, before, rtol=0, atol=0, name="your caller's X after standardize", hint="Never modify X in place."
    )
    Zi = _check_array(sub.standardize([[1, 2], [3, 2], [5, 2]]), (3, 2), "standardize of an integer list")
    assert_close(
        Zi,
        StandardScaler().fit_transform(np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 2.0]])),
        rtol=1e-9,
        atol=1e-12,
        name="standardize of an integer list",
        hint="Convert X with np.asarray(X, dtype=np.float64) first.",
    )


@pytest.mark.public
@pytest.mark.points(1)
def test_one_hot_puts_a_one_in_the_label_column(sub: Any, rng: np.random.Generator) -> None:
    y = rng.integers(0, 5, size=12)
    y[0] = 4
    Y = _check_array(sub.one_hot(y, 6), (12, 6), "one_hot(y, 6)")
    assert_close(
        Y,
        np.eye(6)[y],
        name="one_hot(y, 6)",
        hint="Row i is all zeros except a 1.0 in column y[i]; n_classes columns even if some class never occurs.",
    )
    _check_array(sub.one_hot(np.array([], dtype=np.int64), 3), (0, 3), "one_hot of an empty y")
    assert_close(sub.one_hot([2, 0], 3), np.array([[0.0, 0, 1], [1, 0, 0]]), name="one_hot([2, 0], 3)")


@pytest.mark.public
@pytest.mark.points(1)
def test_moving_average_matches_a_valid_convolution(sub: Any, rng: np.random.Generator) -> None:
    x = rng.normal(size=40)
    valid = (
        "out[i] = mean(x[i : i + window]) for i = 0 .. len(x) - window: only full windows, so "
        "len(x) - window + 1 values."
    )
    for window in (1, 3, 7, 40):
        out = sub.moving_average(x, window)
        out = _check_array(out, (41 - window,), f"moving_average(x, {window}) of 40 values", valid)
        assert_close(
            out,
            np.convolve(x, np.ones(window) / window, mode="valid"),
            rtol=1e-9,
            atol=1e-12,
            name=f"moving_average(x, window={window})",
            hint=valid,
        )
    assert_close(sub.moving_average([1, 2, 3, 4], 2), np.array([1.5, 2.5, 3.5]), name="moving_average([1, 2, 3, 4], 2)")


@pytest.mark.points(1)
def test_inputs_are_validated(sub: Any, rng: np.random.Generator) -> None:
    sub.one_hot(np.array([0, 1]), 2)  # an untouched stub stops here: "not attempted"
    cases = (
        (
            "pairwise_distances",
            (rng.normal(size=(3, 2)), rng.normal(size=(4, 3))),
            "X and Y with 2 and 3 columns",
            "Check X.shape[1] == Y.shape[1] (both 2-D).",
        ),
        ("standardize", (rng.normal(size=5),), "a 1-D X", "X must be 2-D."),
        (
            "one_hot",
            (np.array([0, -1, 2]), 3),
            "y with a label -1",
            "Check the labels: NumPy would silently wrap -1 around to the last column.",
        ),
        ("one_hot", (np.array([0, 3]), 3), "y with a label 3 and n_classes=3", "Labels must be below n_classes."),
        ("moving_average", (rng.normal(size=5), 0), "window=0", "window must be between 1 and len(x)."),
        ("moving_average", (rng.normal(size=5), 6), "window=6 for 5 values", "window must be between 1 and len(x)."),
    )
    for name, args, what, hint in cases:
        with expect_raises("ValueError", name=f"{name} with {what}", hint=hint):
            getattr(sub, name)(*args)


# ---------------------------------------------------------------- the vectorisation budget

_BUDGETS = {
    # name: (ratio to the reference, what the input is, how to vectorise)
    "pairwise_distances": (
        20.0,
        "X and Y of shape (1100, 3)",
        "compute all n*m distances at once, by broadcasting (X[:, None, :] - Y[None, :, :]) or with "
        "||x||^2 + ||y||^2 - 2 * X @ Y.T; no loop over pairs of points.",
    ),
    "standardize": (
        15.0,
        "X of shape (2000, 1000)",
        "X.mean(axis=0) and X.std(axis=0) give every column's mean and std at once; (X - mean) / std "
        "broadcasts them over the rows. No loop over the entries.",
    ),
    "one_hot": (
        7.0,
        "700,000 labels and n_classes=3",
        "make out = np.zeros((len(y), n_classes)) and set all the ones in one step with fancy indexing, "
        "out[np.arange(len(y)), y] = 1.0 (or use np.eye(n_classes)[y]); no loop over the samples.",
    ),
    "moving_average": (
        10.0,
        "x of 2,000,000 values and window=5",
        "take c = np.cumsum(x) with a 0 in front; the window sums are c[window:] - c[:-window]. No loop over "
        "the windows.",
    ),
}


def _check_budget(sub: Any, name: str, seed: int) -> None:
    __tracebackhide__ = True
    ratio, what, how = _BUDGETS[name]
    passed, t_ref, tries, correct = _kernel(sub)(getattr(sub, name), name, seed, ratio)
    if correct is False:
        fail(
            f"`{name}` returned a wrong result on the large input ({what}) used to time it; this follows from the "
            f"problem its correctness tests above report: fix `{name}` there first."
        )
    if passed:
        return
    finished = [t for t in tries if t is not None]
    if finished:
        spent = f"took at best {min(finished) * 1e3:.0f} ms of CPU time ({min(finished) / t_ref:.0f}x the reference)"
    else:
        spent = (
            f"was stopped at the budget (about {ratio * t_ref * 1e3:.0f} ms of CPU time) in all {len(tries)} attempts"
        )
    fail(
        f"`{name}` is too slow: on {what} it {spent}, where a vectorised reference needs {t_ref * 1e3:.0f} ms; "
        f"the budget is {ratio:.0f}x the reference. A Python loop over the elements is far too slow for "
        f"NumPy work: vectorise this.",
        hint=f"To vectorise `{name}`, {how}",
    )


@pytest.mark.points(1)
def test_pairwise_distances_is_vectorised(sub: Any, seed: int) -> None:
    _check_budget(sub, "pairwise_distances", seed)


@pytest.mark.points(1)
def test_standardize_is_vectorised(sub: Any, seed: int) -> None:
    _check_budget(sub, "standardize", seed)


@pytest.mark.points(1)
def test_one_hot_is_vectorised(sub: Any, seed: int) -> None:
    _check_budget(sub, "one_hot", seed)


@pytest.mark.points(1)
def test_moving_average_is_vectorised(sub: Any, seed: int) -> None:
    _check_budget(sub, "moving_average", seed)
