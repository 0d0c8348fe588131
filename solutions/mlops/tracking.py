"""Experiment tracking with MLflow: log every training run, then find the best one.

Ten runs into a project, nobody remembers which hyperparameters gave the model in production,
on which data split, with which score. An experiment tracker records it for you: each *run*
stores its parameters, its metrics, a few tags and the model itself, and you query the store
afterwards instead of your memory. This exercise uses **MLflow**'s file store: a plain folder
on disk, no server, no network.

The data and the model
    The wine data bundled with scikit-learn (178 wines, 13 features, 3 classes; no download)::

        X, y = sklearn.datasets.load_wine(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, random_state=seed, stratify=y)

    ``load_data(seed)`` (given) returns exactly these four arrays.

    The model of a run is ``DecisionTreeClassifier(**params, random_state=seed)`` fitted on the
    training part; ``params`` is one dict of the grid, such as ``{"max_depth": 3,
    "min_samples_leaf": 2}``.

The metrics (``evaluate``), all on the **test** part, as Python floats
    - ``"accuracy"``: ``accuracy_score(y_test, model.predict(X_test))``;
    - ``"f1_macro"``: ``f1_score(y_test, model.predict(X_test), average="macro")``;
    - ``"log_loss"``: ``log_loss(y_test, model.predict_proba(X_test), labels=model.classes_)``.

    Higher is better for ``accuracy`` and ``f1_macro``; **lower** is better for ``log_loss``
    (the names in ``LOWER_IS_BETTER``).

The store
    ``tracking_dir`` is a folder (it may not exist yet); MLflow's file store lives in it and
    nothing is written anywhere else. Point MLflow at it with its ``file:`` URI,
    ``Path(tracking_dir).resolve().as_uri()`` (``mlflow.set_tracking_uri(...)``, or
    ``MlflowClient(tracking_uri=...)``). MLflow 3 keeps the file store in maintenance mode and
    refuses it unless the environment variable ``MLFLOW_ALLOW_FILE_STORE`` is ``"true"``: set
    ``os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"`` before you open the store.

``train_and_log(tracking_dir, params_grid, seed=0)``
    Logs every run in the experiment named ``EXPERIMENT`` (create it if it does not exist;
    ``mlflow.set_experiment(EXPERIMENT)`` does both). For the ``i``-th dict of ``params_grid``,
    in order, one run named ``f"run-{i}"`` (``mlflow.start_run(run_name=...)``) that:

    - logs every key of the dict as a parameter, plus ``"seed"`` (``mlflow.log_params({**params,
      "seed": seed})``; MLflow stores each value as its ``str``, so ``None`` becomes ``"None"``);
    - sets the tag ``TAG_KEY`` to ``TAG_VALUE`` (``mlflow.set_tag``);
    - logs the three metrics of ``evaluate`` on the test part (``mlflow.log_metrics``);
    - logs the fitted model with ``mlflow.sklearn.log_model(model, name="model",
      pip_requirements=PIP_REQUIREMENTS, skops_trusted_types=SKOPS_TRUSTED_TYPES)``, so that
      ``mlflow.sklearn.load_model(f"runs:/{run_id}/model")`` gives it back. MLflow saves it in
      the ``skops`` format, which loads without running arbitrary code, unlike a pickle; skops
      still refuses the types it cannot check, such as a tree's node storage
      (``sklearn.tree._tree.Tree``), until you name them as trusted (you made the model
      yourself). Naming the requirements matters for speed: without them MLflow starts a second
      Python process per model to guess them, seconds each.

    A run ends as ``FINISHED`` (leaving the ``with mlflow.start_run(...)`` block does that).
    Returns the run ids (``run.info.run_id``) as a list of str, in the order of ``params_grid``.
    The data split is made once per call; every run of the call uses the same split and seed.

``best_run(tracking_dir, metric="accuracy")``
    The run id (a str) of the best run in the store's ``EXPERIMENT`` experiment: among its
    runs whose status is ``FINISHED`` and that logged ``metric``, the one with the highest value
    of ``metric``, or the lowest when ``metric`` is in ``LOWER_IS_BETTER``. Ties go to the run
    that started first (smallest ``start_time``), then to the smaller run id. Runs of other
    experiments, deleted runs and runs that failed or are still running never count. Raises
    ``ValueError`` (with the metric's name in the message) when no run qualifies.
    ``mlflow.search_runs(experiment_names=[EXPERIMENT], ...)`` returns a DataFrame with columns
    ``run_id``, ``status``, ``start_time`` and ``metrics.<name>``; ``MlflowClient.search_runs``
    returns ``Run`` objects with ``run.info`` and ``run.data.metrics``. Either will do.

MLflow is imported inside the functions, so the module loads even before MLflow is installed
(``pip install -e '.[tracking]'``; ``make grade STAGE=mlops`` installs it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_wine
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

EXPERIMENT = "wine-tree"
TAG_KEY = "dataset"
TAG_VALUE = "sklearn-wine"
TEST_SIZE = 0.3
LOWER_IS_BETTER = frozenset({"log_loss"})
PIP_REQUIREMENTS = ["scikit-learn", "skops"]  # what loading a logged model needs besides MLflow
SKOPS_TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]  # the one type of a fitted tree that skops asks you to trust


def load_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``X_train, X_test, y_train, y_test``: the wine data split as the module docstring pins it (given)."""
    X, y = load_wine(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=TEST_SIZE, random_state=seed, stratify=y)
    return X_train, X_test, y_train, y_test


def evaluate(model: Any, X_test: np.ndarray, y_test: np.ndarray) -> dict[str, float]:
    """``{"accuracy": ..., "f1_macro": ..., "log_loss": ...}`` of a fitted classifier, as Python floats.

    Parameters
    ----------
    model : a fitted scikit-learn classifier (with ``predict``, ``predict_proba``, ``classes_``)
    X_test : ndarray of shape (n_samples, n_features)
    y_test : ndarray of shape (n_samples,)
    """
    # BEGIN SOLUTION
    predicted = model.predict(X_test)
    return {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1_macro": float(f1_score(y_test, predicted, average="macro")),
        "log_loss": float(log_loss(y_test, model.predict_proba(X_test), labels=model.classes_)),
    }
    # END SOLUTION


def train_and_log(tracking_dir: str | Path, params_grid: list[dict[str, Any]], seed: int = 0) -> list[str]:
    """Train one run per dict of ``params_grid`` and log it to MLflow; the run ids, in grid order."""
    # BEGIN SOLUTION
    import mlflow
    import mlflow.sklearn

    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    mlflow.set_tracking_uri(Path(tracking_dir).resolve().as_uri())
    mlflow.set_experiment(EXPERIMENT)
    X_train, X_test, y_train, y_test = load_data(seed)
    run_ids = []
    for i, params in enumerate(params_grid):
        with mlflow.start_run(run_name=f"run-{i}") as run:
            mlflow.log_params({**params, "seed": seed})
            mlflow.set_tag(TAG_KEY, TAG_VALUE)
            model = DecisionTreeClassifier(**params, random_state=seed).fit(X_train, y_train)
            mlflow.log_metrics(evaluate(model, X_test, y_test))
            mlflow.sklearn.log_model(
                model, name="model", pip_requirements=PIP_REQUIREMENTS, skops_trusted_types=SKOPS_TRUSTED_TYPES
            )
            run_ids.append(run.info.run_id)
    return run_ids
    # END SOLUTION


def best_run(tracking_dir: str | Path, metric: str = "accuracy") -> str:
    """The run id of the best FINISHED run of ``EXPERIMENT`` by ``metric`` (direction and ties: module docstring)."""
    # BEGIN SOLUTION
    from mlflow.tracking import MlflowClient

    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    client = MlflowClient(tracking_uri=Path(tracking_dir).resolve().as_uri())
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        raise ValueError(f"no experiment {EXPERIMENT!r} in {tracking_dir}, so no run has logged {metric!r}")
    runs = client.search_runs([experiment.experiment_id], max_results=50_000)
    sign = 1.0 if metric in LOWER_IS_BETTER else -1.0
    candidates = [
        (sign * run.data.metrics[metric], run.info.start_time, run.info.run_id)
        for run in runs
        if run.info.status == "FINISHED" and metric in run.data.metrics
    ]
    if not candidates:
        raise ValueError(f"no finished run of {EXPERIMENT!r} logged the metric {metric!r}")
    return min(candidates)[2]
    # END SOLUTION
