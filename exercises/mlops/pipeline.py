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
    raise NotImplementedError


def step_key(name: str, inputs: dict[str, Any]) -> str:
    """SHA-256 hex digest of ``json.dumps({"step": name, "inputs": inputs}, sort_keys=True)``."""
    raise NotImplementedError


def validate(df: pd.DataFrame) -> None:
    """Raise :class:`DataValidationError` for the first problem found (order: module docstring)."""
    raise NotImplementedError


def _split(df: pd.DataFrame, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``X_train, X_test, y_train, y_test`` as the module docstring pins them."""
    raise NotImplementedError


def model_to_dict(model: LogisticRegression) -> dict[str, list[Any]]:
    """``{"coef": ..., "intercept": ..., "classes": ...}`` as plain lists."""
    raise NotImplementedError


def model_from_dict(state: dict[str, list[Any]]) -> LogisticRegression:
    """A ``LogisticRegression`` that predicts with the saved ``coef``/``intercept``/``classes``."""
    raise NotImplementedError


def run_pipeline(data_path: str | Path, store: str | Path, seed: int = 0) -> dict[str, Any]:
    """Load, validate, train, evaluate and maybe register (module docstring)."""
    raise NotImplementedError
