"""Hidden suite for ml-basics/classification (notebook).

The learner's notebook defines ``model`` (a fitted Pipeline: scaler first, classifier last),
``cv_scores`` (``cross_val_score(model, X_train, y_train, cv=5)``) and ``test_accuracy``.
The suite reloads the breast-cancer data in the grader's process and recomputes the split
that the notebook pins, so the held-out rows it feeds to ``model.predict`` are exactly the
rows the learner's model was never fitted on.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
import sklearn.preprocessing
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import StratifiedKFold, train_test_split

from grader.engine.remote import LearnerError, RemoteRef
from grader.helpers import fail

PIPELINE = "sklearn.pipeline.Pipeline"
CLASSIFIER = "sklearn.base.ClassifierMixin"
SCALERS = ("StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler")
MIN_ACCURACY = 0.95

# Built in the learner's kernel: an unfitted copy of the learner's own pipeline, fitted on one fold's
# training rows, predicting its held-out rows. The folds and the scoring are the grader's (below), so a
# cross_val_score patched in the kernel decides nothing.
FOLD_SOURCE = (
    "lambda model, X, y, X_held_out: __import__('sklearn.base', fromlist=['clone'])"
    ".clone(model).fit(X, y).predict(X_held_out)"
)

PIPELINE_HINT = (
    "Wrap the preprocessing and the classifier in one object: "
    "model = Pipeline([('scaler', StandardScaler()), ('clf', LogisticRegression(max_iter=1000))])."
)
FIT_HINT = "Fit the whole pipeline on the training split only: model.fit(X_train, y_train)."


@functools.cache
def _data() -> dict[str, np.ndarray]:
    """The data and the exact split pinned in the notebook's given cell."""
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    return {"X": X, "y": y, "X_train": X_train, "X_test": X_test, "y_train": y_train, "y_test": y_test}


def _describe(value: Any) -> str:
    if isinstance(value, RemoteRef):
        return f"a {value.type_name}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__}"


def _raised(err: LearnerError, name: str) -> bool:
    return any(str(cls).rsplit(".", 1)[-1] == name for cls in err.exception_mro)


def _steps(model: Any) -> list[tuple[str, Any]]:
    """The (name, estimator) steps of the learner's Pipeline; fails if ``model`` is not one."""
    __tracebackhide__ = True
    if not isinstance(model, RemoteRef) or PIPELINE not in model.type_mro:
        fail(
            f"`model` should be a sklearn.pipeline.Pipeline (a scaler, then a classifier), but it is "
            f"{_describe(model)}. Only a pipeline keeps the scaling fitted on the training data only.",
            hint=PIPELINE_HINT,
        )
    steps = model.steps
    return [(str(step[0]), step[1]) for step in steps]


def _scaler_class(step: Any) -> type | None:
    """The sklearn.preprocessing scaler class that ``step`` is an instance of, if any."""
    if not isinstance(step, RemoteRef):
        return None
    for qualname in step.type_mro:
        module, _, name = qualname.rpartition(".")
        if module.startswith("sklearn.preprocessing") and name in SCALERS:
            return getattr(sklearn.preprocessing, name)
    return None


def _first_step_scaler(model: Any) -> tuple[RemoteRef, type]:
    __tracebackhide__ = True
    steps = _steps(model)
    name, step = steps[0]
    cls = _scaler_class(step)
    if cls is None:
        fail(
            f"The first step of `model` ('{name}') is {_describe(step)}, not a scaler. The features "
            "must be scaled inside the pipeline, before the classifier sees them.",
            hint=f"Make the first step one of {', '.join(SCALERS)} from sklearn.preprocessing.",
        )
    return step, cls


def _predict(model: Any, X: np.ndarray) -> np.ndarray:
    """``model.predict(X)`` in the learner's kernel, checked for shape."""
    __tracebackhide__ = True
    if not isinstance(model, RemoteRef):
        fail(f"`model` should be a fitted Pipeline, but it is {_describe(model)}.", hint=PIPELINE_HINT)
    try:
        pred = model.predict(X)
    except LearnerError as err:
        if _raised(err, "NotFittedError"):
            fail("`model` is not fitted: `model.predict` raised NotFittedError.", hint=FIT_HINT)
        raise
    if isinstance(pred, RemoteRef) or pred is None:
        fail(f"`model.predict` should return an array of labels, but it returned {_describe(pred)}.")
    pred = np.asarray(pred)
    if pred.shape != (len(X),):
        fail(f"`model.predict` on {len(X)} rows returned shape {pred.shape}, expected ({len(X)},).")
    return pred


def _scores(value: Any) -> np.ndarray:
    __tracebackhide__ = True
    if isinstance(value, RemoteRef) or value is None or isinstance(value, str | dict):
        fail(
            f"`cv_scores` should be a numpy array of 5 accuracies, but it is {_describe(value)}.",
            hint="Use cv_scores = cross_val_score(model, X_train, y_train, cv=5).",
        )
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        fail(f"`cv_scores` should hold numbers, but it has dtype {arr.dtype}.")
    if arr.shape != (5,):
        fail(
            f"`cv_scores` has shape {arr.shape}, expected (5,): one accuracy per fold of a 5-fold cross-validation.",
            hint="Pass cv=5 to cross_val_score: cross_val_score(model, X_train, y_train, cv=5).",
        )
    return arr.astype(np.float64)


def _check_given_split(sub: Any, *names: str) -> None:
    """Fail with a clear message if the notebook's own split differs from the pinned raw one."""
    __tracebackhide__ = True
    data = _data()
    for name in names:
        theirs = getattr(sub, name)
        try:
            arr = np.asarray(theirs, dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
        if arr is None or arr.shape != data[name].shape or not np.allclose(arr, data[name]):
            fail(
                f"`{name}` in your notebook is not the raw split that the given data cell makes, so "
                "your results cannot be checked against the grader's own. Did you scale the data "
                "outside the pipeline, or change the split?",
                hint="Leave the given data cell unchanged and keep all scaling inside the pipeline: "
                "a pipeline takes raw features.",
            )


@pytest.mark.points(1)
def test_model_is_a_pipeline(sub):
    steps = _steps(sub.model)
    if len(steps) < 2:
        fail(
            f"`model` is a Pipeline with {len(steps)} step(s); it needs at least two: a scaler, then a classifier.",
            hint=PIPELINE_HINT,
        )


@pytest.mark.points(1)
def test_pipeline_scales_first_and_classifies_last(sub):
    model = sub.model
    _first_step_scaler(model)
    name, last = _steps(model)[-1]
    if not isinstance(last, RemoteRef) or CLASSIFIER not in last.type_mro:
        fail(
            f"The last step of `model` ('{name}') is {_describe(last)}, not a classifier.",
            hint="End the pipeline with a scikit-learn classifier such as LogisticRegression(max_iter=1000).",
        )


@pytest.mark.points(2)
def test_scaler_is_fitted_on_the_training_split_only(sub):
    data = _data()
    scaler, cls = _first_step_scaler(sub.model)
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in scaler.get_params().items()}
    try:
        actual = scaler.transform(data["X_test"])
    except LearnerError as err:
        if _raised(err, "NotFittedError"):
            fail("The scaler in `model` is not fitted.", hint=FIT_HINT)
        raise
    if isinstance(actual, RemoteRef) or actual is None:
        fail(f"The scaler's `transform` returned {_describe(actual)}, expected an array.")
    actual = np.asarray(actual, dtype=np.float64)

    def matches(fitted_on: np.ndarray) -> bool:
        expected = cls(**params).fit(fitted_on).transform(data["X_test"])
        return actual.shape == expected.shape and np.allclose(actual, expected, rtol=1e-6, atol=1e-9)

    if matches(data["X_train"]):
        return
    if matches(data["X"]):
        fail(
            "Data leakage: the scaler in `model` was fitted on all 569 rows, test split included "
            "(its statistics match the full data set, not X_train). The test rows then influence "
            "the preprocessing, and the test accuracy is optimistic.",
            hint=FIT_HINT,
        )
    fail(
        "The scaler in `model` does not transform raw features the way the same scaler fitted on "
        "X_train does. Did you scale X before the split, or outside the pipeline? Scaling the "
        "whole data set before splitting is data leakage, and a pipeline fitted on pre-scaled "
        "data no longer accepts raw features.",
        hint="Leave the given data cell unchanged, keep all scaling inside the pipeline, and fit it "
        "with model.fit(X_train, y_train).",
    )


@pytest.mark.points(2)
def test_model_predicts_the_held_out_split(sub):
    data = _data()
    pred = _predict(sub.model, data["X_test"])
    if not np.isin(pred, [0, 1]).all():
        fail(
            f"`model.predict` returned labels {np.unique(pred)[:5]}, expected 0 (malignant) "
            "and 1 (benign), the labels of load_breast_cancer."
        )
    accuracy = float(np.mean(pred == data["y_test"]))
    if accuracy < MIN_ACCURACY:
        fail(
            f"On the held-out test split (114 rows, raw features) `model.predict` is right on only "
            f"{accuracy:.3f} of the rows; at least {MIN_ACCURACY} is needed.",
            hint="The grader feeds raw, unscaled features to model.predict: scaling done outside the "
            "pipeline (e.g. on X before the split) is not applied here, so put the scaler inside it. "
            "Otherwise check that the classifier converges, or try another one: "
            "LogisticRegression(max_iter=1000) on standardised features reaches about 0.98.",
        )


@pytest.mark.points(1)
def test_cv_scores_are_five_accuracies(sub):
    scores = _scores(sub.cv_scores)
    if not np.isfinite(scores).all() or (scores < 0).any() or (scores > 1).any():
        fail(
            f"`cv_scores` is {np.round(scores, 4).tolist()}, but accuracies lie in [0, 1].",
            hint="Keep cross_val_score's default scoring (accuracy), and do not turn it into a percentage.",
        )


def _cross_val_accuracy(fit_predict, model, X, y):
    """cross_val_score(model, X, y, cv=5) for a classifier, with the folds and the scores made here.

    Five stratified folds in order, without shuffling, and the accuracy of each fold's predictions.
    """
    scores = []
    for train, held_out in StratifiedKFold(n_splits=5).split(X, y):
        pred = np.asarray(fit_predict(model, X[train], y[train], X[held_out]))
        if pred.shape != y[held_out].shape:
            fail(
                f"Fitted on a fold, your pipeline predicts an array of shape {pred.shape} for "
                f"{len(held_out)} rows; predict must give one label per row."
            )
        scores.append(float(np.mean(pred == y[held_out])))
    return np.asarray(scores, dtype=np.float64)


@pytest.mark.points(1)
def test_cv_scores_match_five_fold_cv_on_the_training_split(sub):
    data = _data()
    scores = _scores(sub.cv_scores)
    model = sub.model
    fit_predict = sub.eval(FOLD_SOURCE)
    expected = _cross_val_accuracy(fit_predict, model, data["X_train"], data["y_train"])
    if np.allclose(scores, expected, rtol=0, atol=1e-9):
        return
    on_all = _cross_val_accuracy(fit_predict, model, data["X"], data["y"])
    if np.allclose(scores, on_all, rtol=0, atol=1e-9):
        fail(
            "`cv_scores` comes from a cross-validation on all 569 rows, test split included. The "
            "test split must stay unseen until the final evaluation, or it is no longer a fair test.",
            hint="Cross-validate on the training split only: cross_val_score(model, X_train, y_train, cv=5).",
        )
    _check_given_split(sub, "X_train", "y_train")
    fail(
        f"`cv_scores` is {np.round(scores, 4).tolist()}, but cross_val_score(model, X_train, y_train, "
        f"cv=5) on your pipeline gives {np.round(expected, 4).tolist()}.",
        hint="Pass `model` itself on the training split with cv=5 and the default scoring; do not shuffle "
        "the folds. If your classifier is randomised, fix its random_state.",
    )


@pytest.mark.points(2)
def test_test_accuracy_is_the_accuracy_on_the_test_split(sub):
    data = _data()
    value = sub.test_accuracy
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bool | np.bool_) or not isinstance(value, float | np.floating):
        fail(
            f"`test_accuracy` should be a float, but it is {_describe(value)}.",
            hint="test_accuracy = float(model.score(X_test, y_test)).",
        )
    value = float(value)
    if not 0.0 <= value <= 1.0:
        fail(
            f"`test_accuracy` is {value}, but an accuracy lies in [0, 1].",
            hint="Give a fraction, not a percentage: model.score(X_test, y_test).",
        )
    model = sub.model
    expected = float(np.mean(_predict(model, data["X_test"]) == data["y_test"]))
    if abs(value - expected) <= 1e-9:
        return
    on_train = float(np.mean(_predict(model, data["X_train"]) == data["y_train"]))
    if abs(value - on_train) <= 1e-9:
        fail(
            f"`test_accuracy` is {value:.4f}, the accuracy on the training split; on the test split "
            f"your model scores {expected:.4f}. A score on the data the model was fitted on is optimistic.",
            hint="Evaluate on the held-out rows: model.score(X_test, y_test).",
        )
    _check_given_split(sub, "X_test", "y_test")
    fail(
        f"`test_accuracy` is {value:.4f}, but your fitted `model` scores {expected:.4f} on the test split.",
        hint="Compute it after fitting, from X_test and y_test: model.score(X_test, y_test).",
    )
