"""A small, reproducible retraining pipeline: load -> validate -> train -> evaluate -> register.

In production a model is retrained whenever new data lands. The pipeline that does it must be
*safe* (bad data never reaches training), *cheap* (a rerun on the same inputs does no work) and
*conservative* (a new model replaces the current one only if it is better). This exercise builds
one with nothing but files, ``hashlib``, pandas and scikit-learn.

The data
    A CSV file with a header. The column ``label`` is the target (0 or 1); every other column is a
    numeric feature, in file order.

``run_pipeline(data_path, store, seed=0)`` runs the steps in this order and returns a dict::

    {"data_hash": str, "accuracy": float, "registered": bool, "current_version": int}

1. **load**: ``data_hash = file_hash(data_path)``, the SHA-256 hex digest of the file's
   *bytes*; the CSV is parsed with ``pandas.read_csv`` (a run whose steps are all cached need
   not parse it).
2. **validate**: ``validate(df)`` raises :class:`DataValidationError` (a ``ValueError``) with a
   message that names the problem, checking in this order:

   - there is a ``label`` column (the message names ``label``);
   - there is at least one other column, and every other column is numeric
     (``pd.api.types.is_numeric_dtype``; the message names the first offending column);
   - no value is missing anywhere (the message names the first column, in file order, with a
     missing value);
   - every label is 0 or 1 (the message names ``label``);
   - at least ``MIN_ROWS`` (20) rows.

   Nothing is trained, cached or registered for data that fails validation.
3. **train**: ``X`` = the feature columns as float64, ``y`` = ``label`` as int;
   ``X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25,
   random_state=seed, stratify=y)``; the model is ``LogisticRegression(max_iter=1000)`` fitted on
   the training part.
4. **evaluate**: ``accuracy = accuracy_score(y_test, model.predict(X_test))`` as a float.
5. **register**: the registry is ``store/registry.json``::

       {"current": 2, "versions": [{"version": 1, "data_hash": "...", "accuracy": 0.81},
                                   {"version": 2, "data_hash": "...", "accuracy": 0.9}]}

   (``{"current": null, "versions": []}`` before the first registration; versions are numbered
   1, 2, 3, ... in registration order). The candidate is registered as a new version, which
   becomes ``current``, only when there is no current version or its accuracy is **strictly
   greater** than the current version's. A registered version's model is written to
   ``store/models/v<N>.json`` as ``{"coef": [[...]], "intercept": [...], "classes": [...]}``
   (``model.coef_``, ``model.intercept_``, ``model.classes_`` as lists). ``registered`` in the
   result says whether this run registered a version; ``current_version`` is the current version
   after the run.

Caching by content hash
    The train and evaluate steps are cached as JSON files in ``store/cache/``. A step's key is
    ``step_key(name, inputs)``: the SHA-256 hex digest of
    ``json.dumps({"step": name, "inputs": inputs}, sort_keys=True)``. The train step's inputs are
    ``{"data_hash": data_hash, "seed": seed}``; the evaluate step's are ``{"train": <train key>}``.
    The train cache entry ``store/cache/train-<key>.json`` holds the fitted model (the same
    ``coef``/``intercept``/``classes`` dict as above); the evaluate entry
    ``store/cache/evaluate-<key>.json`` holds ``{"accuracy": ...}``. A cached step is not run: an
    unchanged rerun reads the CSV for its hash only, and never fits or predicts. The cache depends
    only on the file's *content*, never on its path or modification time, so a copy of the same file
    elsewhere, or the same file touched, is a cache hit; one changed byte is a miss. A run whose
    results come from the cache still goes through the register step (which will not register a
    model equal to the current one, because its accuracy is not strictly greater).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

LABEL = "label"
MIN_ROWS = 20
TEST_SIZE = 0.25


class DataValidationError(ValueError):
    """The input data is unfit for training; the message says why."""


def file_hash(path: str | Path) -> str:
    """SHA-256 hex digest of the file's bytes."""
    # BEGIN SOLUTION
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    # END SOLUTION


def step_key(name: str, inputs: dict[str, Any]) -> str:
    """SHA-256 hex digest of ``json.dumps({"step": name, "inputs": inputs}, sort_keys=True)``."""
    # BEGIN SOLUTION
    text = json.dumps({"step": name, "inputs": inputs}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
    # END SOLUTION


def validate(df: pd.DataFrame) -> None:
    """Raise :class:`DataValidationError` for the first problem found (order: module docstring)."""
    # BEGIN SOLUTION
    if LABEL not in df.columns:
        raise DataValidationError(f"the data has no '{LABEL}' column")
    features = [c for c in df.columns if c != LABEL]
    if not features:
        raise DataValidationError("the data has no feature column besides 'label'")
    for column in features:
        if not pd.api.types.is_numeric_dtype(df[column]):
            raise DataValidationError(f"column '{column}' is not numeric")
    for column in df.columns:
        if df[column].isna().any():
            raise DataValidationError(f"column '{column}' has missing values")
    if not df[LABEL].isin([0, 1]).all():
        raise DataValidationError(f"'{LABEL}' must hold only 0 and 1")
    if len(df) < MIN_ROWS:
        raise DataValidationError(f"only {len(df)} rows; at least {MIN_ROWS} are needed")
    # END SOLUTION


def _split(df: pd.DataFrame, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``X_train, X_test, y_train, y_test`` as the module docstring pins them."""
    # BEGIN SOLUTION
    X = df.drop(columns=LABEL).to_numpy(dtype=np.float64)
    y = df[LABEL].to_numpy(dtype=int)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=TEST_SIZE, random_state=seed, stratify=y)
    return X_train, X_test, y_train, y_test
    # END SOLUTION


def model_to_dict(model: LogisticRegression) -> dict[str, list[Any]]:
    """``{"coef": ..., "intercept": ..., "classes": ...}`` as plain lists."""
    # BEGIN SOLUTION
    return {
        "coef": model.coef_.tolist(),
        "intercept": model.intercept_.tolist(),
        "classes": model.classes_.tolist(),
    }
    # END SOLUTION


def model_from_dict(state: dict[str, list[Any]]) -> LogisticRegression:
    """A ``LogisticRegression`` that predicts with the saved ``coef``/``intercept``/``classes``."""
    # BEGIN SOLUTION
    model = LogisticRegression(max_iter=1000)
    model.coef_ = np.asarray(state["coef"], dtype=np.float64)
    model.intercept_ = np.asarray(state["intercept"], dtype=np.float64)
    model.classes_ = np.asarray(state["classes"])
    return model
    # END SOLUTION


def run_pipeline(data_path: str | Path, store: str | Path, seed: int = 0) -> dict[str, Any]:
    """Load, validate, train, evaluate and maybe register (module docstring)."""
    # BEGIN SOLUTION
    store = Path(store)
    cache = store / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    data_hash = file_hash(data_path)

    train_key = step_key("train", {"data_hash": data_hash, "seed": seed})
    eval_key = step_key("evaluate", {"train": train_key})
    train_file = cache / f"train-{train_key}.json"
    eval_file = cache / f"evaluate-{eval_key}.json"

    df: pd.DataFrame | None = None
    if not (train_file.exists() and eval_file.exists()):
        df = pd.read_csv(data_path)
        validate(df)
    if train_file.exists():
        state = json.loads(train_file.read_text())
    else:
        assert df is not None
        X_train, _, y_train, _ = _split(df, seed)
        state = model_to_dict(LogisticRegression(max_iter=1000).fit(X_train, y_train))
        train_file.write_text(json.dumps(state))
    if eval_file.exists():
        accuracy = float(json.loads(eval_file.read_text())["accuracy"])
    else:
        assert df is not None
        _, X_test, _, y_test = _split(df, seed)
        accuracy = float(accuracy_score(y_test, model_from_dict(state).predict(X_test)))
        eval_file.write_text(json.dumps({"accuracy": accuracy}))

    registry_file = store / "registry.json"
    registry = (
        json.loads(registry_file.read_text()) if registry_file.exists() else {"current": None, "versions": []}
    )
    current = next((v for v in registry["versions"] if v["version"] == registry["current"]), None)
    registered = current is None or accuracy > current["accuracy"]
    if registered:
        version = len(registry["versions"]) + 1
        registry["versions"].append({"version": version, "data_hash": data_hash, "accuracy": accuracy})
        registry["current"] = version
        (store / "models").mkdir(exist_ok=True)
        (store / "models" / f"v{version}.json").write_text(json.dumps(state))
    registry_file.write_text(json.dumps(registry, indent=2))
    return {
        "data_hash": data_hash,
        "accuracy": accuracy,
        "registered": bool(registered),
        "current_version": int(registry["current"]),
    }
    # END SOLUTION
