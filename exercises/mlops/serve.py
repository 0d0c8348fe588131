"""Serve a model over HTTP with FastAPI: health check, validated batch prediction, a version.

A trained model is only useful once other programs can ask it for predictions. The usual way is
a small web service: a client POSTs JSON, the service validates it, runs the model and answers
with JSON. This exercise builds one with FastAPI (routing, validation with pydantic) and runs it
with uvicorn, an ASGI server.

The model file
    A JSON file written by a training pipeline (the ``pipeline`` exercise writes the same
    ``coef``/``intercept``/``classes`` fields), plus a version and the feature names::

        {"version": "7", "features": ["x0", "x1", "x2"],
         "coef": [[0.8, -1.2, 0.1]], "intercept": [0.3], "classes": [0, 1]}

    It is a binary logistic regression: for a row ``x`` the decision is
    ``z = coef[0] @ x + intercept[0]``, the probability of ``classes[1]`` is ``1 / (1 + exp(-z))``
    and the predicted class is ``classes[1]`` if ``z > 0`` else ``classes[0]`` (exactly what
    scikit-learn's ``LogisticRegression`` does with those attributes).

``load_model(path)``
    Reads the file and returns a :class:`LoadedModel` (given) holding the version (a string), the
    feature names, and the coefficients as float64 arrays (``coef`` of shape ``(n_features,)``,
    ``intercept`` a float).

``create_app(model_path)`` returns a ``FastAPI`` application. The model is loaded **once**,
when the application starts (in ``create_app`` itself or in a lifespan handler), and kept in
memory: requests never read the model file again, so replacing or deleting the file while the
service runs changes nothing until it restarts. The routes:

``GET /health``
    ``200`` with ``{"status": "ok", "model_version": <version>}``.

``POST /predict``
    The body is ``{"instances": [[x0, x1, ...], ...]}``: a batch of rows, each a list of numbers in
    the model's feature order. It is validated by the pydantic model :class:`PredictRequest`
    (``instances`` holds at least 1 and at most ``MAX_BATCH`` rows of floats) and then each row
    must have exactly ``len(features)`` values. Anything else is answered with status **422**
    (Unprocessable Entity) and never reaches the model: a missing ``instances`` field, a value
    that is not a number, an empty batch, a batch over ``MAX_BATCH`` rows, a row of the wrong
    length (raise ``HTTPException(status_code=422, detail=...)`` with a detail that says how many
    features a row needs). FastAPI answers malformed JSON and pydantic failures with 422 by
    itself. A valid batch gets ``200`` with::

        {"model_version": "7", "predictions": [1, 0, ...], "probabilities": [0.93, 0.12, ...]}

    one prediction (an int from ``classes``) and one probability of ``classes[1]`` (a float) per
    row, in the order of the rows.

Run it yourself with ``python serve.py path/to/model.json`` and try
``curl -X POST localhost:8000/predict -H 'content-type: application/json'
-d '{"instances": [[0.1, 0.2, 0.3]]}'``; the interactive documentation is at
``http://localhost:8000/docs``. (The grader starts your app with uvicorn on a free port of its
sandbox's own loopback interface and stops it when the test ends.)
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

MAX_BATCH = 1000


@dataclass(frozen=True)
class LoadedModel:
    """A model file, loaded: see ``load_model``."""

    version: str
    features: list[str]
    coef: np.ndarray  # (n_features,)
    intercept: float
    classes: list[int]


class PredictRequest(BaseModel):
    """The body of ``POST /predict``: 1 to ``MAX_BATCH`` rows of floats."""

    instances: list[list[float]] = Field(min_length=1, max_length=MAX_BATCH)


def load_model(path: str | Path) -> LoadedModel:
    """Read the model file (module docstring) into a :class:`LoadedModel`."""
    raise NotImplementedError


def predict_batch(model: LoadedModel, X: np.ndarray) -> tuple[list[int], list[float]]:
    """Predicted classes and probabilities of ``classes[1]`` for the rows of ``X``."""
    raise NotImplementedError


def create_app(model_path: str | Path) -> FastAPI:
    """The FastAPI application serving the model at ``model_path`` (module docstring)."""
    raise NotImplementedError


if __name__ == "__main__":
    uvicorn.run(create_app(sys.argv[1]), host="127.0.0.1", port=8000)
