"""Hidden suite for mlops/serve: a FastAPI model server, started with uvicorn and spoken to in HTTP.

The grader writes a model file into a temporary folder of the learner's sandbox; a probe (sent
with ``sub.define``) calls the learner's ``create_app`` on it, serves the app with uvicorn on a
free port of the sandbox's own loopback interface (in a thread of the kernel, so the server can
never outlive the kernel; under bubblewrap the kernel has its own network namespace besides),
sends the grader's requests with httpx as raw bytes, and stops the server in a ``finally``
before it returns. Only status codes and response texts come back; every verdict is computed
here, and the expected predictions come from the grader's own NumPy on the model it wrote.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from grader.helpers import assert_close, fail

_PROBE_SRC = r"""
import pathlib as _pathlib, tempfile as _tempfile

def workspace():
    return _tempfile.mkdtemp(prefix="serve-")

def write(path, text):
    _pathlib.Path(path).write_text(text, encoding="utf-8")
    return path

def serve_and_probe(create_app, model_path, requests, swap=None):
    import socket, threading, time
    import httpx, uvicorn
    app = create_app(model_path)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="auto"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the app did not start: uvicorn stopped during start-up (see your lifespan code)")
            if time.monotonic() > deadline:
                raise TimeoutError("the app did not start within 15 s")
            time.sleep(0.01)
        if swap is not None:
            if swap == "":
                _pathlib.Path(model_path).unlink()
            else:
                _pathlib.Path(model_path).write_text(swap, encoding="utf-8")
        out = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=15.0) as client:
            for method, url, body in requests:
                headers = {"content-type": "application/json"} if body is not None else {}
                r = client.request(method, url, content=body, headers=headers)
                out.append([r.status_code, r.text])
        return out
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
"""

_H_VERSION = "Put the model file's version (a string) in every response: /health and /predict both give model_version."
_H_ONCE = (
    "Load the model once, when the app starts (in create_app or a lifespan handler), and keep it in memory: "
    "a request must never read the model file again."
)
_H_BATCH = "Predict every row of `instances`, in order: one prediction and one probability per row."
_H_PROBA = "`probabilities` holds the probability of classes[1], 1 / (1 + exp(-z)) with z = coef[0] @ x + intercept[0]."
_H_422 = (
    "Reject bad input with status 422 before it reaches the model: declare instances in the pydantic "
    "PredictRequest (list[list[float]], min_length=1, max_length=MAX_BATCH) and raise "
    "HTTPException(status_code=422, ...) for a row of the wrong length."
)


def _model(rng: np.random.Generator, version: str, n_features: int = 4) -> dict[str, Any]:
    return {
        "version": version,
        "features": [f"x{i}" for i in range(n_features)],
        "coef": [np.round(rng.normal(0, 1.5, n_features), 4).tolist()],
        "intercept": [round(float(rng.normal(0, 0.5)), 4)],
        "classes": [0, 1],
    }


def _expected(model: dict[str, Any], X: np.ndarray) -> tuple[list[int], np.ndarray]:
    z = X @ np.asarray(model["coef"][0]) + model["intercept"][0]
    return [model["classes"][1] if v > 0 else model["classes"][0] for v in z], 1.0 / (1.0 + np.exp(-z))


class Server:
    def __init__(self, sub: Any, model: dict[str, Any]) -> None:
        self.sub = sub
        self.p = sub.define(_PROBE_SRC)
        self.path: str = self.p["write"](f"{self.p['workspace']()}/model.json", json.dumps(model))

    def exchange(self, requests: list[tuple[str, str, str | None]], swap: str | None = None) -> list[tuple[int, str]]:
        __tracebackhide__ = True
        out = self.p["serve_and_probe"](self.sub.create_app, self.path, [list(r) for r in requests], swap)
        return [(int(code), str(text)) for code, text in out]


def _json(code: int, text: str, what: str) -> Any:
    __tracebackhide__ = True
    if code != 200:
        fail(f"{what} answered status {code}, expected 200; the body was: {text[:300]}")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        fail(f"{what} did not answer JSON: {text[:300]}")


def _body(X: np.ndarray) -> str:
    return json.dumps({"instances": X.tolist()})


def _check_predictions(payload: Any, model: dict[str, Any], X: np.ndarray, what: str) -> None:
    __tracebackhide__ = True
    if not isinstance(payload, dict) or set(payload) != {"model_version", "predictions", "probabilities"}:
        got = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        fail(f"{what} should answer exactly the keys model_version, predictions, probabilities; got {got}.")
    if payload["model_version"] != model["version"]:
        fail(f"{what} answered model_version {payload['model_version']!r}, expected {model['version']!r}.", _H_VERSION)
    preds, proba = _expected(model, X)
    if not isinstance(payload["predictions"], list) or len(payload["predictions"]) != len(X):
        n = len(payload["predictions"]) if isinstance(payload["predictions"], list) else payload["predictions"]
        fail(f"{what} sent {len(X)} rows and got {n} predictions back.", _H_BATCH)
    if payload["predictions"] != preds:
        fail(f"{what}: predictions {payload['predictions'][:8]}... differ from the model's {preds[:8]}...", _H_BATCH)
    assert_close(
        np.asarray(payload["probabilities"], dtype=float),
        proba,
        rtol=1e-9,
        atol=1e-12,
        name=f"probabilities ({what})",
        hint=_H_PROBA,
    )


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(1.5)
def test_health_reports_the_model_version(sub: Any, rng: np.random.Generator) -> None:
    model = _model(rng, version=f"v{int(rng.integers(100, 999))}")
    ((code, text),) = Server(sub, model).exchange([("GET", "/health", None)])
    payload = _json(code, text, "GET /health")
    if payload != {"status": "ok", "model_version": model["version"]}:
        fail(
            f"GET /health answered {payload}; expected {{'status': 'ok', 'model_version': {model['version']!r}}}.",
            _H_VERSION,
        )


@pytest.mark.points(3)
def test_predict_answers_a_batch_with_the_models_predictions(sub: Any, rng: np.random.Generator) -> None:
    model = _model(rng, version="12")
    X = np.round(rng.normal(0, 1.2, size=(25, 4)), 4)
    one = X[:1]
    answers = Server(sub, model).exchange([("POST", "/predict", _body(X)), ("POST", "/predict", _body(one))])
    _check_predictions(_json(*answers[0], "POST /predict with 25 rows"), model, X, "POST /predict with 25 rows")
    _check_predictions(_json(*answers[1], "POST /predict with 1 row"), model, one, "POST /predict with 1 row")


_BAD = [
    ("a body without `instances`", json.dumps({"rows": [[0.1, 0.2, 0.3, 0.4]]})),
    ("a value that is not a number", json.dumps({"instances": [[0.1, "high", 0.3, 0.4]]})),
    ("an empty batch", json.dumps({"instances": []})),
    ("a row with 3 values for a 4-feature model", json.dumps({"instances": [[0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3]]})),
    ("a row with 5 values for a 4-feature model", json.dumps({"instances": [[0.1, 0.2, 0.3, 0.4, 0.5]]})),
    ("a batch of 1001 rows (over MAX_BATCH)", json.dumps({"instances": [[0.0, 0.0, 0.0, 0.0]] * 1001})),
    ("malformed JSON", '{"instances": [[0.1, 0.2'),
]


@pytest.mark.points(3)
def test_bad_input_is_answered_with_422(sub: Any, rng: np.random.Generator) -> None:
    model = _model(rng, version="3")
    X = np.round(rng.normal(size=(3, 4)), 4)
    requests = [("POST", "/predict", body) for _, body in _BAD] + [("POST", "/predict", _body(X))]
    answers = Server(sub, model).exchange(requests)
    for (what, _), (code, text) in zip(_BAD, answers, strict=False):
        if code != 422:
            fail(f"POST /predict with {what} answered status {code}, expected 422; the body was: {text[:200]}", _H_422)
    for k in (3, 4):
        if "4" not in answers[k][1]:
            fail(
                f"The 422 for {_BAD[k][0]} should say how many features a row needs (4); it said: "
                f"{answers[k][1][:200]}",
                _H_422,
            )
    _check_predictions(
        _json(*answers[-1], "POST /predict after the bad requests"), model, X, "POST /predict after the bad requests"
    )


@pytest.mark.points(2.5)
def test_model_is_loaded_once_at_start_up(sub: Any, rng: np.random.Generator) -> None:
    model = _model(rng, version="1")
    newer = _model(rng, version="2")
    X = np.round(rng.normal(size=(6, 4)), 4)
    server = Server(sub, model)
    swapped = server.exchange([("POST", "/predict", _body(X)), ("GET", "/health", None)], swap=json.dumps(newer))
    for (code, text), what in zip(swapped, ("POST /predict", "GET /health"), strict=True):
        payload = _json(code, text, f"{what} after the model file was replaced")
        if payload.get("model_version") == "2":
            fail(
                f"After the model file was replaced by version 2 while the server ran, {what} answered version "
                f"{payload.get('model_version')!r}; the running server should still serve version 1.",
                _H_ONCE,
            )
        if payload.get("model_version") != "1":
            fail(
                f"{what} answered model_version {payload.get('model_version')!r}, expected '1': this follows from the "
                "model_version problem above, not from reloading."
            )
    _check_predictions(_json(*swapped[0], "POST /predict"), model, X, "POST /predict after the file was replaced")
    deleted = server.exchange([("POST", "/predict", _body(X))], swap="")
    code, text = deleted[0]
    if code != 200:
        fail(
            f"After the model file was deleted while the server ran, POST /predict answered {code}: {text[:200]}",
            _H_ONCE,
        )
