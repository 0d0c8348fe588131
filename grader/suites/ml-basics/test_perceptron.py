"""Hidden suite for ml-basics/perceptron: the pinned perceptron rule, convergence and Novikoff's bound.

Exact trajectories are checked on small-integer data, where every score and update is exact in
float64, so "a score of exactly 0" is exact whatever order the learner sums in.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Perceptron as SkPerceptron

from grader.helpers import assert_close, assert_equal, expect_raises, fail

# Runs in the learner's kernel: fits copies of X and y and reports them before and after, plus
# whether fit returned the estimator itself.
_FIT_PROBE = """
lambda model, X, y: (lambda X, y: (lambda X_before, y_before, fitted: (
    X_before, y_before, X, y, fitted is model
))(X.copy(), y.copy(), model.fit(X, y)))(X.copy(), y.copy())
""".strip()

_RULE = (
    "Start from w = 0, b = 0.0. In each epoch visit the samples in order; with t = 2 * y[i] - 1, if "
    "t * (X[i] @ w + b) <= 0 (a mistake; a score of exactly 0 counts) update at once: w += learning_rate * t * X[i] "
    "and b += learning_rate * t. Stop after the first epoch without a mistake."
)


# ---------------------------------------------------------------- references (grader side)


def _ref_fit(
    X: np.ndarray,
    y: np.ndarray,
    lr: float = 1.0,
    n_epochs: int = 100,
    shuffle: bool = False,
    random_state: int | None = None,
    *,
    strict: bool = False,
    targets_01: bool = False,
    frozen: bool = False,
    every: bool = False,
) -> dict[str, Any]:
    """The pinned rule; the keyword-only switches build the classic wrong variants for diagnosis."""
    t = y.astype(np.float64) if targets_01 else 2.0 * y - 1.0
    rng = np.random.default_rng(random_state)
    w, b, n_updates, n_iter = np.zeros(X.shape[1]), 0.0, 0, 0
    while n_iter < n_epochs:
        n_iter += 1
        order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
        w0, b0, mistakes = w, b, 0
        for i in order:
            score = X[i] @ w0 + b0 if frozen else X[i] @ w + b
            if every or ((t[i] * score < 0) if strict else (t[i] * score <= 0)):
                w, b, mistakes = w + lr * t[i] * X[i], b + lr * t[i], mistakes + 1
        n_updates += mistakes
        if mistakes == 0:
            break
    return {"coef": w, "intercept": b, "n_iter": n_iter, "n_updates": n_updates}


def _int_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.integers(-3, 4, size=(n, 2)).astype(np.float64)
    y = (X @ np.array([1.0, -2.0]) + 1.0 + rng.integers(-2, 3, size=n) > 0).astype(np.int64)
    return X, y


def _separable(rng: np.random.Generator, n: int, margin: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Separable data whose separator is far from the origin, and Novikoff's bound (R / gamma)^2."""
    u = np.array([rng.uniform(-2, 2), rng.uniform(-2, 2), 2.5])  # (w1, w2, b): the bias matters
    u /= np.linalg.norm(u)
    rows: list[np.ndarray] = []
    while len(rows) < n:
        x = rng.uniform(-4, 4, size=2)
        if abs(u[:2] @ x + u[2]) >= margin:
            rows.append(x)
    X = np.array(rows)
    y = (X @ u[:2] + u[2] > 0).astype(np.int64)
    aug = np.column_stack([X, np.ones(n)])
    gamma = float(np.min((2 * y - 1) * (aug @ u)))
    R = float(np.linalg.norm(aug, axis=1).max())
    return X, y, (R / gamma) ** 2


def _fitted(model: Any, n_features: int) -> dict[str, Any]:
    __tracebackhide__ = True
    coef, intercept = model.coef_, model.intercept_
    n_iter, n_updates = model.n_iter_, model.n_updates_
    if not isinstance(coef, np.ndarray) or coef.shape != (n_features,):
        got = f"shape {coef.shape}" if isinstance(coef, np.ndarray) else f"a {type(coef).__name__}"
        fail(f"`coef_` should be an ndarray of shape ({n_features},), got {got}.")
    if isinstance(intercept, bool) or not isinstance(intercept, int | float | np.integer | np.floating):
        fail(f"`intercept_` should be a float, but it is a {type(intercept).__name__}.", hint="Use float(b).")
    for name, value in (("n_iter_", n_iter), ("n_updates_", n_updates)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            fail(f"`{name}` should be an int, but it is a {type(value).__name__}.")
    return {"coef": coef, "intercept": float(intercept), "n_iter": int(n_iter), "n_updates": int(n_updates)}


def _diagnose(got: dict[str, Any], X: np.ndarray, y: np.ndarray, what: str, **params: Any) -> None:
    """Name the classic slips before the generic comparison."""
    __tracebackhide__ = True
    if np.array_equal(got["coef"], np.zeros(X.shape[1])) and got["intercept"] == 0.0:
        fail(
            f"After fit ({what}) w and b are still 0: no update ever happened.",
            hint="From w = 0 and b = 0 every score is exactly 0, which must count as a mistake: update when "
            "t * (X[i] @ w + b) <= 0, not < 0.",
        )

    def close(ref: dict[str, Any]) -> bool:
        return bool(np.allclose(got["coef"], ref["coef"]) and np.isclose(got["intercept"], ref["intercept"]))

    if close(_ref_fit(X, y, **params, targets_01=True)):
        fail(
            f"After fit ({what}) your weights are those of the rule with targets t = y in {{0, 1}}: samples of "
            "class 0 never move w.",
            hint="Labels are 0/1 outside but the rule needs signed targets: t = 2 * y - 1, which is -1 or +1.",
        )
    if close(_ref_fit(X, y, **params, every=True)):
        fail(
            f"After fit ({what}) your weights are those of a rule that updates on every sample.",
            hint="Update only on a mistake, when t * (X[i] @ w + b) <= 0; a correctly classified sample changes "
            "nothing.",
        )
    if params.get("n_epochs", 100) > 1 and close(_ref_fit(X, y, **params, frozen=True)):
        fail(
            f"After fit ({what}) your weights are those of a rule that checks every sample of an epoch against "
            "the w and b from the start of the epoch.",
            hint="The perceptron is online: after each mistake, update w and b at once, and check the next "
            "sample with the updated values.",
        )


def _rule_follows(sub: Any, what: str) -> None:
    """`what` is wrong: if fit already breaks the pinned rule on a small fixed data set, say that it follows."""
    __tracebackhide__ = True
    X, y = _int_data(np.random.default_rng(2024), 16)
    got = _fitted(sub.Perceptron(learning_rate=0.5, n_epochs=3).fit(X, y), 2)
    exp = _ref_fit(X, y, 0.5, 3)
    if not (
        np.allclose(got["coef"], exp["coef"], rtol=1e-12, atol=1e-12)
        and np.isclose(got["intercept"], exp["intercept"], rtol=1e-12, atol=1e-12)
        and got["n_updates"] == exp["n_updates"]
    ):
        fail(
            f"{what}; this follows from `fit`, which does not follow the pinned perceptron rule (see the first "
            "test above). Fix that first."
        )


def _predict_follows(model: Any, X: np.ndarray, pred: np.ndarray, what: str) -> None:
    """`what` is wrong: if predict disagrees with the model's own coef_ and intercept_, say that it follows."""
    __tracebackhide__ = True
    own = (X @ np.asarray(model.coef_, dtype=float) + float(model.intercept_) > 0).astype(np.int64)
    if not np.array_equal(pred, own):
        fail(
            f"{what}; this follows from `predict`, which does not return (X @ coef_ + intercept_ > 0) as 0/1 "
            "(see the last test)."
        )


# ---------------------------------------------------------------- tests


@pytest.mark.points(2)
def test_first_epochs_follow_the_pinned_rule(sub: Any, rng: np.random.Generator) -> None:
    X, y = _int_data(rng, 16)  # noisy labels: usually not separable
    for lr, n_epochs in ((0.5, 3), (1.0, 1)):
        what = f"learning_rate={lr}, n_epochs={n_epochs}"
        got = _fitted(sub.Perceptron(learning_rate=lr, n_epochs=n_epochs).fit(X, y), 2)
        _diagnose(got, X, y, what, lr=lr, n_epochs=n_epochs)
        exp = _ref_fit(X, y, lr, n_epochs)
        if got["intercept"] == 0.0 and exp["intercept"] != 0.0 and np.any(got["coef"] != 0):
            fail(
                f"After fit ({what}) intercept_ is 0, expected {exp['intercept']:g}: the bias never moved.",
                hint="Update the bias on every mistake too: b += learning_rate * t.",
            )
        assert_close(got["coef"], exp["coef"], rtol=1e-12, atol=1e-12, name=f"coef_ ({what})", hint=_RULE)
        assert_close(
            got["intercept"], exp["intercept"], rtol=1e-12, atol=1e-12, name=f"intercept_ ({what})", hint=_RULE
        )
        assert_equal(
            got["n_updates"],
            exp["n_updates"],
            name=f"n_updates_ ({what})",
            hint="n_updates_ counts the updates (mistakes) over all epochs. " + _RULE,
        )
        assert_equal(got["n_iter"], exp["n_iter"], name=f"n_iter_ ({what})", hint="n_iter_ counts the epochs run.")


@pytest.mark.public
@pytest.mark.points(1)
def test_matches_sklearn_perceptron(sub: Any, rng: np.random.Generator) -> None:
    X = rng.normal(size=(50, 3))
    y = (X @ rng.normal(size=3) + 0.5 + 0.3 * rng.normal(size=50) > 0).astype(np.int64)
    for lr in (1.0, 0.1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            sk = SkPerceptron(eta0=lr, shuffle=False, tol=None, max_iter=20).fit(X, y)
        got = _fitted(sub.Perceptron(learning_rate=lr, n_epochs=20).fit(X, y), 3)
        if not (
            np.allclose(got["coef"], sk.coef_[0], rtol=1e-9, atol=1e-12)
            and np.isclose(got["intercept"], sk.intercept_[0], rtol=1e-9, atol=1e-12)
        ):
            _rule_follows(sub, f"Your weights (learning_rate={lr}) differ from sklearn's")
        hint = (
            "With shuffle=False the rule is exactly sklearn's Perceptron(eta0=learning_rate, shuffle=False). " + _RULE
        )
        assert_close(got["coef"], sk.coef_[0], rtol=1e-9, atol=1e-12, name=f"coef_ (learning_rate={lr})", hint=hint)
        assert_close(
            got["intercept"],
            sk.intercept_[0],
            rtol=1e-9,
            atol=1e-12,
            name=f"intercept_ (learning_rate={lr})",
            hint=hint,
        )


@pytest.mark.points(2)
def test_zero_training_errors_on_separable_data(sub: Any, rng: np.random.Generator) -> None:
    X, y, _ = _separable(rng, 100, margin=0.3)
    model = sub.Perceptron(n_epochs=500).fit(X, y)
    got = _fitted(model, 2)
    pred = model.predict(X)
    if not isinstance(pred, np.ndarray) or pred.shape != (100,):
        fail(f"`predict` should return an ndarray of shape (100,), got {pred!r}.")
    errors = int((pred != y).sum())
    if errors or got["n_iter"] >= 500:
        _rule_follows(sub, "On separable data your perceptron does not reach 0 training errors and stop")
        _predict_follows(model, X, pred, "On separable data `predict` gets training points wrong")
    if errors:
        hint = _RULE
        if got["intercept"] == 0.0:
            hint = (
                "Your intercept_ is 0, but this data's separating line does not pass through the origin: "
                "update the bias on every mistake too, b += learning_rate * t."
            )
        fail(
            f"On linearly separable data (margin 0.3, 100 points), after fit with n_epochs=500 `predict` gets "
            f"{errors} training points wrong; the perceptron converges to 0 errors.",
            hint=hint,
        )
    if got["n_iter"] >= 500:
        fail(
            "On separable data fit ran all 500 epochs: it should stop after the first epoch without a mistake.",
            hint=_RULE,
        )


@pytest.mark.points(2)
def test_number_of_updates_is_bounded(sub: Any, rng: np.random.Generator) -> None:
    X, y, bound = _separable(rng, 80, margin=0.4)
    got = _fitted(sub.Perceptron(n_epochs=300).fit(X, y), 2)
    exp = _ref_fit(X, y, 1.0, 300)
    if got["n_updates"] != exp["n_updates"]:
        _rule_follows(sub, f"n_updates_ on separable data is {got['n_updates']}, expected {exp['n_updates']}")
    if not 1 <= got["n_updates"] <= bound:
        fail(
            f"On separable data with margin gamma and radius R, the perceptron makes at most (R / gamma)^2 = "
            f"{bound:.0f} updates (Novikoff), but n_updates_ is {got['n_updates']}.",
            hint="Update only on a mistake, when t * (X[i] @ w + b) <= 0, and count only those updates in n_updates_.",
        )
    assert_equal(got["n_updates"], exp["n_updates"], name="n_updates_ on separable data", hint=_RULE)


@pytest.mark.points(1)
def test_stops_after_the_first_epoch_without_a_mistake(sub: Any) -> None:
    # 1-D, exact in integers: epoch 1 makes two updates (w=2, b=0), epoch 2 none, so n_iter_ is 2
    X = np.array([[1.0], [2.0], [-1.0], [-2.0]])
    y = np.array([1, 1, 0, 0])
    got = _fitted(sub.Perceptron(n_epochs=50).fit(X, y), 1)
    if (got["n_iter"], got["n_updates"], float(got["coef"][0]), got["intercept"]) != (2, 2, 2.0, 0.0):
        _rule_follows(sub, "On X = [[1], [2], [-1], [-2]], y = [1, 1, 0, 0] your fit is wrong")
    _diagnose(got, X, y, "X = [[1], [2], [-1], [-2]], y = [1, 1, 0, 0]", n_epochs=50)
    if got["n_iter"] == 50:
        fail(
            "`n_iter_` is 50 = n_epochs: fit never stopped early.",
            hint="Stop after the first epoch in which no sample caused an update, and count that epoch in n_iter_.",
        )
    assert_equal(got["n_iter"], 2, name="n_iter_", hint="Epoch 1 makes 2 updates, epoch 2 none: n_iter_ is 2.")
    assert_equal(got["n_updates"], 2, name="n_updates_", hint=_RULE)
    assert_close(got["coef"], np.array([2.0]), name="coef_", hint=_RULE)
    assert_close(got["intercept"], 0.0, atol=1e-12, name="intercept_", hint=_RULE)


@pytest.mark.points(1)
def test_shuffle_uses_a_fresh_seeded_generator(sub: Any, rng: np.random.Generator) -> None:
    X, y = _int_data(rng, 20)
    hint = (
        "With shuffle=True, create rng = np.random.default_rng(random_state) at the start of fit and visit "
        "the samples in the order rng.permutation(n_samples), drawn afresh at the start of each epoch."
    )
    for seed in (0, 7):
        got = _fitted(sub.Perceptron(n_epochs=4, shuffle=True, random_state=seed).fit(X, y), 2)
        exp = _ref_fit(X, y, 1.0, 4, shuffle=True, random_state=seed)
        if not np.allclose(got["coef"], exp["coef"], rtol=1e-12) or not np.isclose(got["intercept"], exp["intercept"]):
            _rule_follows(sub, f"With shuffle=True, random_state={seed} your weights are wrong")
        again = _fitted(sub.Perceptron(n_epochs=4, shuffle=True, random_state=seed).fit(X, y), 2)
        assert_equal(again["coef"], got["coef"], name=f"coef_ of a second fit with random_state={seed}", hint=hint)
        assert_close(got["coef"], exp["coef"], rtol=1e-12, name=f"coef_ (shuffle=True, random_state={seed})", hint=hint)
        assert_close(got["intercept"], exp["intercept"], rtol=1e-12, atol=1e-12, name="intercept_ (shuffle)", hint=hint)


@pytest.mark.points(1)
def test_fit_contract_predict_and_validation(sub: Any, rng: np.random.Generator) -> None:
    X, y = _int_data(rng, 12)
    model = sub.Perceptron(n_epochs=3)
    X_before, y_before, X_after, y_after, is_self = sub.eval(_FIT_PROBE)(model, X, y)
    if not is_self:
        fail("`fit` did not return the estimator itself.", hint="End fit with `return self`.")
    hint = "Never modify the caller's arrays in fit."
    assert_equal(X_after, X_before, name="X after fit", hint=hint)
    assert_equal(y_after, y_before, name="y after fit", hint=hint)

    # fitted to w = [2], b = 0 (see the test above): x = 0 scores exactly 0 and is class 0
    line = sub.Perceptron().fit(np.array([[1.0], [2.0], [-1.0], [-2.0]]), np.array([1, 1, 0, 0]))
    pred = line.predict(np.array([[-3.0], [-0.5], [0.0], [0.5], [3.0]]))
    fitted = _fitted(line, 1)
    if (float(fitted["coef"][0]), fitted["intercept"]) != (2.0, 0.0) and not (
        isinstance(pred, np.ndarray) and (pred == -1).any()
    ):
        fail(
            "`predict` cannot be checked at a score of exactly 0: fit on x = [1, 2, -1, -2], y = [1, 1, 0, 0] should "
            f"give w = [2], b = 0, but gave w = {fitted['coef'].tolist()}, b = {fitted['intercept']}; this follows "
            "from the fit problem reported above."
        )
    if isinstance(pred, np.ndarray) and (pred == -1).any():
        fail(f"`predict` returned {pred.tolist()}: labels are 0 and 1, not -1 and +1.", hint="Return 0 or 1.")
    if not isinstance(pred, np.ndarray) or pred.dtype != np.int64:
        fail(f"`predict` should return an int64 ndarray, got {pred!r}.", hint="Use (scores > 0).astype(np.int64).")
    assert_equal(
        pred,
        np.array([0, 0, 0, 1, 1]),
        name="predict at x = [-3, -0.5, 0, 0.5, 3] with w = [2], b = 0",
        hint="1 where X @ coef_ + intercept_ > 0 (strictly), else 0.",
    )
    with expect_raises(
        "RuntimeError", name="predict before fit", hint="Check for coef_ and raise RuntimeError if fit has not run."
    ):
        sub.Perceptron().predict(X)
    with expect_raises(
        "ValueError", name="fit with labels -1 and +1", hint="Labels must be 0 and 1: raise ValueError otherwise."
    ):
        sub.Perceptron().fit(X, 2 * y - 1)
