"""Hidden suite for ml-basics/kmeans: `KMeans` (Lloyd's algorithm, k-means++ seeding).

Exact values are checked only from an ndarray ``init``; random inits are checked through
properties (reproducibility, distinct seeds, spreading), so any faithful use of the rng passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from grader.helpers import assert_close, assert_equal, expect_raises, fail

# Runs in the learner's kernel: copies X and init there, fits, and reports them before and
# after the fit, plus whether fit returned the estimator itself.
_FIT_PROBE = """
lambda KMeans, X, init: (lambda X, init: (lambda X_before, init_before, model: (
    X_before, init_before, X, init, model.fit(X) is model
))(X.copy(), init.copy(), KMeans(n_clusters=len(init), init=init)))(X.copy(), init.copy())
""".strip()

_LLOYD = (
    "Each iteration: assign every sample to its nearest centre (squared Euclidean distance, lowest index on "
    "ties), move each centre to the mean of its samples, stop once no centre moved more than tol. "
    "Then set labels_ and inertia_ from one more assignment to the final centres."
)
_SQUARED = (
    "inertia_ is the sum of squared distances: sum((X - cluster_centers_[labels_]) ** 2), not their square roots."
)


# ---------------------------------------------------------------- reference (grader side)


def _assign(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d2 = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    labels = np.argmin(d2, axis=1)
    return labels, d2[np.arange(len(X)), labels]


def _lloyd(X: np.ndarray, init: np.ndarray, max_iter: int = 300, tol: float = 1e-4) -> dict[str, Any]:
    centers = init.astype(np.float64).copy()
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        labels, _ = _assign(X, centers)
        new = centers.copy()
        for j in range(len(centers)):
            if (labels == j).any():
                new[j] = X[labels == j].mean(axis=0)
        shift = np.sqrt(((new - centers) ** 2).sum(axis=1)).max()
        centers = new
        if shift <= tol:
            break
    labels, d2 = _assign(X, centers)
    return {"centers": centers, "labels": labels, "inertia": float(d2.sum()), "n_iter": n_iter}


def _blobs(
    rng: np.random.Generator, centres: Sequence[tuple[float, float]], sizes: Sequence[int], std: float
) -> np.ndarray:
    return np.vstack([rng.normal(c, std, size=(n, 2)) for c, n in zip(centres, sizes, strict=True)])


# ---------------------------------------------------------------- reading the learner's model


def _fitted(model: Any, n_samples: int, k: int, n_features: int) -> dict[str, Any]:
    """Read the four fitted attributes, checking types, shapes and dtypes."""
    __tracebackhide__ = True
    centers, labels = model.cluster_centers_, model.labels_
    inertia, n_iter = model.inertia_, model.n_iter_
    if not isinstance(centers, np.ndarray) or centers.shape != (k, n_features):
        got = f"shape {centers.shape}" if isinstance(centers, np.ndarray) else f"a {type(centers).__name__}"
        fail(f"`cluster_centers_` should be an ndarray of shape ({k}, {n_features}), got {got}.")
    if not isinstance(labels, np.ndarray) or labels.shape != (n_samples,):
        got = f"shape {labels.shape}" if isinstance(labels, np.ndarray) else f"a {type(labels).__name__}"
        fail(f"`labels_` should be an ndarray of shape ({n_samples},), got {got}.")
    if labels.dtype != np.int64:
        fail(f"`labels_` has dtype {labels.dtype}, expected int64.", hint="np.argmin gives int64 indices.")
    if isinstance(inertia, bool) or not isinstance(inertia, int | float | np.integer | np.floating):
        fail(f"`inertia_` should be a float, but it is a {type(inertia).__name__}.", hint="Use float(...).")
    if isinstance(n_iter, bool) or not isinstance(n_iter, int | np.integer):
        fail(f"`n_iter_` should be an int, but it is a {type(n_iter).__name__}.")
    return {"centers": centers, "labels": labels, "inertia": float(inertia), "n_iter": int(n_iter)}


def _fit(sub: Any, X: np.ndarray, k: int, **params: Any) -> dict[str, Any]:
    __tracebackhide__ = True
    return _fitted(sub.KMeans(n_clusters=k, **params).fit(X), len(X), k, X.shape[1])


# ---------------------------------------------------------------- tests


@pytest.mark.points(1)
def test_fit_from_given_centres_matches_lloyd(sub: Any, rng: np.random.Generator) -> None:
    X = _blobs(rng, [(0, 0), (4, 0), (2, 3), (6, 4)], [40, 30, 30, 20], std=1.0)
    init = X[rng.choice(len(X), 4, replace=False)] + 0.1  # overlapping clusters: several iterations
    exp = _lloyd(X, init)
    got = _fit(sub, X, 4, init=init)
    if np.isnan(got["centers"]).any():
        fail("`cluster_centers_` contains NaN.", hint="An empty cluster must keep its previous centre.")
    assert_close(got["centers"], exp["centers"], rtol=1e-9, atol=1e-12, name="cluster_centers_", hint=_LLOYD)
    assert_equal(
        got["labels"],
        exp["labels"],
        name="labels_",
        hint="labels_ is the assignment of X to the final cluster_centers_ (the same as predict(X)), "
        "not the assignment made before the last update.",
    )
    if np.isclose(got["inertia"], np.sqrt(((X - exp["centers"][exp["labels"]]) ** 2).sum(axis=1)).sum()):
        fail(
            f"`inertia_` is the sum of distances ({got['inertia']:.6g}), expected {exp['inertia']:.6g}.",
            hint=_SQUARED,
        )
    assert_close(got["inertia"], exp["inertia"], rtol=1e-9, name="inertia_", hint=_SQUARED)


@pytest.mark.points(1)
def test_n_iter_counts_iterations_and_stops_at_tol(sub: Any) -> None:
    # Integer data whose cluster means are exact in floating point, so "moved by 0" is exact.
    offsets = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], dtype=np.float64)
    means = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = np.vstack([m + offsets for m in means])
    for init, tol, max_iter, expected, why in (
        (
            means,
            0.0,
            300,
            1,
            "Started at the cluster means with tol=0, no centre moves in the first iteration, and 0 <= tol "
            "stops it: n_iter_ is 1. The test is `max shift <= tol`, not `<`.",
        ),
        (
            means + 0.5,
            0.0,
            300,
            2,
            "Started 0.5 away from the cluster means with tol=0: iteration 1 moves the centres onto the "
            "means, iteration 2 moves nothing and stops, so n_iter_ is 2. Stop as soon as max shift <= tol.",
        ),
        (
            means + 0.5,
            1.0,
            300,
            1,
            "Started 0.5 away from the cluster means with tol=1.0: the first move is sqrt(0.5) < tol, so it "
            "stops after 1 iteration. tol is an absolute distance in the units of X.",
        ),
    ):
        got = _fit(sub, X, 3, init=init, tol=tol, max_iter=max_iter)
        if got["n_iter"] == max_iter:
            fail(
                f"`n_iter_` is {max_iter} = max_iter, expected {expected}: your loop never stopped early.",
                hint="After each update, stop once no centre moved by more than tol: max_j ||new_j - old_j|| "
                "<= tol (with <=, so tol=0 stops as soon as nothing moves).",
            )
        assert_equal(got["n_iter"], expected, name=f"n_iter_ (tol={tol})", hint=why)
        assert_close(got["centers"], means, rtol=0, atol=1e-12, name=f"cluster_centers_ (tol={tol})", hint=_LLOYD)
    # far from converged, max_iter caps the loop
    Y = _blobs(np.random.default_rng(7), [(0, 0), (3, 0)], [30, 30], std=1.5)
    start = np.array([[-3.0, 0.0], [-2.0, 0.0]])  # needs 7 iterations to converge with tol=0
    exp = _lloyd(Y, start, max_iter=3, tol=0.0)
    got = _fit(sub, Y, 2, init=start, max_iter=3, tol=0.0)
    assert_equal(got["n_iter"], 3, name="n_iter_ (max_iter=3)", hint="Run at most max_iter iterations.")
    assert_close(
        got["centers"],
        exp["centers"],
        rtol=1e-9,
        atol=1e-12,
        name="cluster_centers_ (max_iter=3)",
        hint="With max_iter=3, do exactly 3 assign-and-update iterations. " + _LLOYD,
    )


@pytest.mark.public
@pytest.mark.points(1)
def test_inertia_never_increases(sub: Any, rng: np.random.Generator) -> None:
    X = _blobs(rng, [(0, 0), (2, 1), (1, 3)], [30, 30, 30], std=1.2)
    init = np.array([[-3.0, -3.0], [-2.5, -3.0], [-3.0, -2.5]])  # poor start: many improving steps
    inertias = []
    for max_iter in range(1, 7):
        got = _fit(sub, X, 3, init=init, max_iter=max_iter, tol=0.0)
        assert_equal(
            got["labels"],
            _assign(X, got["centers"])[0],
            name=f"labels_ (max_iter={max_iter}) against your own cluster_centers_",
            hint="labels_ must be the assignment of X to the final cluster_centers_ (one more assignment "
            "after the last update), not the labels used to compute that update.",
        )
        own = float(((X - got["centers"][got["labels"]]) ** 2).sum())
        assert_close(
            got["inertia"],
            own,
            rtol=1e-9,
            name=f"inertia_ (max_iter={max_iter}) against your own centres and labels",
            hint=_SQUARED,
        )
        inertias.append(got["inertia"])
    for i in range(1, len(inertias)):
        if inertias[i] > inertias[i - 1] * (1 + 1e-12):
            fail(
                f"inertia_ went up from {inertias[i - 1]:.6g} (max_iter={i}) to {inertias[i]:.6g} "
                f"(max_iter={i + 1}); Lloyd iterations never increase it.",
                hint=_LLOYD,
            )


@pytest.mark.points(1)
def test_empty_cluster_keeps_its_centre(sub: Any, rng: np.random.Generator) -> None:
    X = _blobs(rng, [(0, 0), (5, 5)], [20, 20], std=0.5)
    init = np.array([[0.0, 0.0], [5.0, 5.0], [50.0, -50.0]])  # the third centre never wins a sample
    got = _fit(sub, X, 3, init=init)
    hint = (
        "A cluster that loses every sample must keep its previous centre: skip the mean for an empty "
        "cluster (0 samples / 0 gives NaN)."
    )
    if np.isnan(got["centers"]).any():
        fail("`cluster_centers_` contains NaN after a cluster became empty.", hint=hint)
    assert_close(got["centers"][2], init[2], rtol=0, atol=0, name="cluster_centers_[2] (an empty cluster)", hint=hint)
    if not np.allclose(got["centers"], _lloyd(X, init)["centers"], rtol=1e-9, atol=1e-12):
        fail(
            "The empty cluster kept its centre, but the other cluster_centers_ are wrong; this follows from the "
            "Lloyd update that the test on given centres reports above."
        )
    if (got["labels"] == 2).any():
        fail("Some samples got label 2, but centre 2 at (50, -50) is nearest to none of them.", hint=_LLOYD)


@pytest.mark.points(1)
def test_ties_go_to_the_lowest_centre_index(sub: Any) -> None:
    # the middle sample is exactly as far from both starting centres
    X = np.array([[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    got = _fit(sub, X, 2, init=np.array([[-1.0, 0.0], [1.0, 0.0]]))
    hint = "On a tie, pick the lowest centre index (np.argmin does); compare squared distances exactly."
    assert_equal(got["labels"], np.array([0, 0, 1]), name="labels_ (sample 1 is equidistant at the start)", hint=hint)
    assert_close(
        got["centers"],
        np.array([[-0.5, 0.0], [1.0, 0.0]]),
        rtol=0,
        atol=1e-15,
        name="cluster_centers_",
        hint=hint,
    )
    model = sub.KMeans(n_clusters=2, init=np.array([[-1.5, 0.0], [1.5, 0.0]]))
    model.fit(np.array([[-2.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [2.0, 0.0]]))
    assert_equal(
        model.predict(np.array([[0.0, 0.0], [0.0, 7.0]])),
        np.array([0, 0]),
        name="predict on points equidistant from centres 0 and 1",
        hint=hint,
    )


@pytest.mark.points(1)
def test_kmeanspp_recovers_separated_blobs(sub: Any, rng: np.random.Generator, plot: Any) -> None:
    # far apart (100) relative to their spread (0.5): D^2 seeding hits every blob with near certainty
    centres = [(0, 0), (100, 0), (0, 100), (100, 100)]
    X = _blobs(rng, centres, [60, 20, 40, 10], std=0.5)
    truth = np.repeat(np.arange(4), [60, 20, 40, 10])
    for random_state in (0, 1, 2):
        model = sub.KMeans(n_clusters=4, init="k-means++", random_state=random_state).fit(X)
        got = _fitted(model, len(X), 4, 2)
        ari = adjusted_rand_score(truth, got["labels"])
        if random_state == 0 or ari != 1.0:
            plot(
                "clusters",
                f"k-means++ on four blobs (random_state={random_state})",
                X=X,
                learner=got["labels"],
                reference=truth,
            )
        if ari != 1.0:
            fail(
                f"On 4 well-separated blobs (k-means++, random_state={random_state}) your clusters do not "
                f"match the blobs (adjusted Rand index {ari:.3f}, expected 1).",
                hint="Check the k-means++ seeding and the Lloyd loop. " + _LLOYD,
            )
        fresh = _blobs(rng, centres, [3, 3, 3, 3], std=0.5)
        mapping = {int(t): int(g) for t, g in zip(truth, got["labels"], strict=True)}
        assert_equal(
            model.predict(fresh),
            np.array([mapping[int(t)] for t in np.repeat(np.arange(4), 3)]),
            name="predict on new points from the same blobs",
            hint="predict assigns each point to its nearest cluster_centers_ row.",
        )


@pytest.mark.points(1)
def test_random_inits_are_reproducible_and_pick_distinct_points(sub: Any, rng: np.random.Generator) -> None:
    X = _blobs(rng, [(0, 0), (3, 0), (0, 3)], [25, 25, 25], std=1.0)
    for init in ("random", "k-means++"):
        first = _fit(sub, X, 3, init=init, random_state=123)
        second = _fit(sub, X, 3, init=init, random_state=123)
        hint = (
            "Make all randomness come from rng = np.random.default_rng(random_state), created at the start "
            "of fit (not np.random.seed, not the global np.random functions)."
        )
        assert_equal(
            second["centers"],
            first["centers"],
            name=f"cluster_centers_ of a second fit with init={init!r}, random_state=123",
            hint=hint,
        )
        assert_equal(
            second["labels"],
            first["labels"],
            name=f"labels_ of a second fit with init={init!r}, random_state=123",
            hint=hint,
        )
    # with as many clusters as (distinct) samples, each sample must become its own centre
    P = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0], [-1.0, 4.0], [5.0, -2.0]])
    for init, why in (
        (
            "random",
            "'random' picks n_clusters distinct rows: rng.choice(n_samples, n_clusters, replace=False).",
        ),
        (
            "k-means++",
            "k-means++ never picks a point that is already a centre: its squared distance, and so "
            "its probability, is 0.",
        ),
    ):
        for random_state in (0, 1, 2):
            got = _fit(sub, P, 6, init=init, random_state=random_state)
            if got["inertia"] != 0.0:
                fail(
                    f"With n_clusters = n_samples = 6 distinct points (init={init!r}, "
                    f"random_state={random_state}), every point should be its own centre and inertia_ 0, "
                    f"but it is {got['inertia']:.6g}.",
                    hint=why,
                )


@pytest.mark.points(1)
def test_kmeanspp_spreads_its_seeds(sub: Any, rng: np.random.Generator) -> None:
    # Three tight blobs far apart, one big and two small. Uniform seeding puts all three seeds in
    # distinct blobs about 1% of the time; D^2 sampling does it essentially always. After one
    # iteration from such seeds, the clusters are exactly the blobs.
    sizes = [100, 5, 5]
    X = _blobs(rng, [(0, 0), (1000, 0), (0, 1000)], sizes, std=0.01)
    truth = np.repeat(np.arange(3), sizes)
    missed = []
    for random_state in range(10):
        model = sub.KMeans(n_clusters=3, init="k-means++", max_iter=1, random_state=random_state)
        labels = model.fit(X).labels_
        if adjusted_rand_score(truth, np.asarray(labels)) != 1.0:
            missed.append(random_state)
    if missed:
        fail(
            f"With init='k-means++', three far-apart blobs (sizes {sizes}) and random_state in {missed}, the "
            "initial centres did not land in three different blobs; k-means++ does that almost surely.",
            hint="k-means++: the first centre is uniform; each next one is drawn with probability "
            "proportional to its squared distance to the nearest centre chosen so far (D^2 sampling), "
            "not uniformly.",
        )


def _pinned_seeds(X: np.ndarray, k: int, init: str, random_state: int) -> np.ndarray:
    """The initial centres the docstring pins, replaying its generator calls in order."""
    rng = np.random.default_rng(random_state)
    n = len(X)
    if init == "random":
        return X[rng.choice(n, k, replace=False)].copy()
    centers = [X[rng.integers(n)]]
    d2 = ((X - centers[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        centers.append(X[rng.choice(n, p=d2 / d2.sum())])
        d2 = np.minimum(d2, ((X - centers[-1]) ** 2).sum(axis=1))
    return np.array(centers)


@pytest.mark.points(1)
def test_seeding_replays_the_pinned_draws(sub: Any, rng: np.random.Generator) -> None:
    # overlapping blobs and one Lloyd iteration: the result shows exactly which rows were drawn as seeds
    X = _blobs(rng, [(0, 0), (3, 0), (0, 3), (3, 3)], [30, 30, 30, 30], std=1.2)
    recipes = {
        "random": "'random': X[rng.choice(n_samples, n_clusters, replace=False)], with "
        "rng = np.random.default_rng(random_state) created at the start of fit.",
        "k-means++": "k-means++: the first centre is X[rng.integers(n_samples)], each next one "
        "X[rng.choice(n_samples, p=d2 / d2.sum())] (d2: squared distance to the nearest centre so far), all from "
        "rng = np.random.default_rng(random_state) created at the start of fit; draw nothing else from it.",
    }
    if not np.allclose(
        _fit(sub, X, 4, init=_pinned_seeds(X, 4, "random", 0))["centers"],
        _lloyd(X, _pinned_seeds(X, 4, "random", 0))["centers"],
        rtol=1e-9,
        atol=1e-12,
    ):
        fail(
            "Started from given centres, your fit already differs from Lloyd's algorithm, so the seeding cannot be "
            "checked; this follows from the problem the test on given centres reports above."
        )
    for init, recipe in recipes.items():
        for random_state in (3, 11):
            expected = _lloyd(X, _pinned_seeds(X, 4, init, random_state), max_iter=1)["centers"]
            model = sub.KMeans(n_clusters=4, init=init, max_iter=1, random_state=random_state)
            got = _fitted(model.fit(X), len(X), 4, 2)
            assert_close(
                got["centers"],
                expected,
                rtol=1e-9,
                atol=1e-12,
                name=f"cluster_centers_ after one iteration from init={init!r}, random_state={random_state}",
                hint=recipe,
            )
            again = _fitted(model.fit(X), len(X), 4, 2)
            assert_close(
                again["centers"],
                expected,
                rtol=1e-9,
                atol=1e-12,
                name=f"cluster_centers_ of a second fit of the same model (init={init!r})",
                hint="Create rng = np.random.default_rng(random_state) afresh at the start of EVERY fit call, so "
                "that fitting twice gives the same result.",
            )


@pytest.mark.points(1)
def test_predict_matches_labels_and_inputs_are_untouched(sub: Any, rng: np.random.Generator) -> None:
    X = _blobs(rng, [(0, 0), (4, 1), (1, 4)], [20, 20, 20], std=1.0)
    init = X[[0, 20, 40]] + 0.25
    X_before, init_before, X_after, init_after, is_self = sub.eval(_FIT_PROBE)(sub.KMeans, X, init)
    if not is_self:
        fail(
            "`fit` did not return the estimator itself.",
            hint="End fit with `return self`, so that KMeans(...).fit(X).labels_ works.",
        )
    hint = "Never modify the caller's arrays: work on copies (e.g. centers = np.array(init, dtype=float))."
    assert_equal(X_after, X_before, name="X after fit", hint=hint)
    assert_equal(init_after, init_before, name="the init array after fit", hint=hint)

    model = sub.KMeans(n_clusters=3, init=init).fit(X)
    got = _fitted(model, len(X), 3, 2)
    pred = model.predict(X)
    if not isinstance(pred, np.ndarray) or pred.dtype != np.int64:
        fail("`predict` should return an int64 ndarray of labels.", hint="np.argmin gives int64 indices.")
    assert_equal(
        pred,
        got["labels"],
        name="predict(X) on the training data",
        hint="labels_ must be the assignment to the final cluster_centers_, i.e. predict(X).",
    )
    X_new = rng.uniform(-3, 7, size=(25, 2))
    assert_equal(
        model.predict(X_new),
        _assign(X_new, got["centers"])[0],
        name="predict(X_new)",
        hint="predict returns the index of the nearest row of cluster_centers_.",
    )
    with expect_raises(
        "RuntimeError",
        name="predict before fit",
        hint="Check for cluster_centers_ in predict and raise RuntimeError if fit has not run.",
    ):
        sub.KMeans(n_clusters=3).predict(X)
    for params, what, why in (
        ({"n_clusters": 61}, "n_clusters=61 for 60 samples", "n_clusters must be between 1 and n_samples."),
        ({"n_clusters": 3, "init": "kmeans++"}, "init='kmeans++' (a misspelt name)", "Any other init string raises."),
        ({"n_clusters": 3, "init": init[:2]}, "an init array of shape (2, 2) for 3 clusters", "init's shape."),
    ):
        with expect_raises("ValueError", name=f"fit with {what}", hint="Raise ValueError: " + why):
            sub.KMeans(**params).fit(X)
