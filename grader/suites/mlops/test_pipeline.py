"""Hidden suite for mlops/pipeline: a cached, validating retraining pipeline with a registry.

The grader makes every data set here (seeded), writes it as CSV text into a temporary folder of
the learner's sandbox, and computes the expected split, model and accuracy itself with the same
scikit-learn calls the docstring pins. The store's files (registry, models, cache entries) come
back as text and are parsed here.

"Does no work" is observed, not reported: while ``run_pipeline`` runs, ``LogisticRegression.fit``
and ``.predict`` are wrapped (at class level, in the kernel) by spies that count the calls and
still do the work; the counts come back after the call and the spies are removed.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from grader.engine.remote import LearnerError, RemoteRef
from grader.helpers import assert_close, fail

_PROBE_SRC = r"""
import os as _os, pathlib as _pathlib, shutil as _shutil, tempfile as _tempfile

def workspace():
    return _tempfile.mkdtemp(prefix="pipeline-")

def write(path, text):
    p = _pathlib.Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8", newline="")
    return str(p)

def copy(src, dst):
    _shutil.copyfile(src, dst)
    return dst

def touch(path):
    st = _os.stat(path)
    _os.utime(path, ns=(st.st_atime_ns + 10**11, st.st_mtime_ns + 10**11))
    return _os.stat(path).st_mtime_ns != st.st_mtime_ns

def remove_tree(path):
    _shutil.rmtree(path, ignore_errors=True)

def read_store(store):
    root = _pathlib.Path(store)
    if not root.is_dir():
        return {}
    return {str(p.relative_to(root)): p.read_text(errors="replace")[:200000]
            for p in sorted(root.rglob("*")) if p.is_file()}

class Spy:
    def __init__(self):
        from sklearn.linear_model import LogisticRegression
        self.cls = LogisticRegression
        self.orig = (LogisticRegression.fit, LogisticRegression.predict)
        self.n = {"fit": 0, "predict": 0}
        fit, predict, n = self.orig[0], self.orig[1], self.n
        def spy_fit(model, *args, **kwargs):
            n["fit"] += 1
            return fit(model, *args, **kwargs)
        def spy_predict(model, *args, **kwargs):
            n["predict"] += 1
            return predict(model, *args, **kwargs)
        LogisticRegression.fit, LogisticRegression.predict = spy_fit, spy_predict
    def counts(self):
        out = dict(self.n)
        self.n["fit"] = self.n["predict"] = 0
        return out
    def remove(self):
        self.cls.fit, self.cls.predict = self.orig
"""

_H_CONTENT = (
    "Key the cache on the file's CONTENT: data_hash = sha256 of the file's bytes, and step keys built from it "
    "(never from the path or the modification time), so a copy or a touched file is a cache hit."
)
_H_CACHE = (
    "Cache the train AND evaluate steps as JSON files in store/cache/ (train-<key>.json, evaluate-<key>.json) and, "
    "when both entries exist, read them instead of fitting or predicting."
)
_H_STRICT = (
    "Register a candidate only when its accuracy is strictly greater than the current version's; an equal "
    "accuracy (such as an unchanged rerun) registers nothing."
)
_H_BETTER = (
    "Compare the candidate's accuracy with the CURRENT version's (registry['current']) and register it only if it is "
    "better; otherwise leave registry.json's current version as it is."
)
_H_SPLIT = (
    "Follow the docstring's split exactly: train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y), "
    "fit LogisticRegression(max_iter=1000) on the training part, accuracy on the test part."
)
_H_BEFORE = (
    "Validate the data (raise DataValidationError) right after loading it, before any fit: bad data must never "
    "reach training."
)


# ---------------------------------------------------------------- data and references (grader side)


def _dataset(rng: np.random.Generator, n: int = 160, flip: float = 0.1, n_features: int = 3) -> pd.DataFrame:
    X = rng.normal(size=(n, n_features))
    w = np.linspace(1.5, -1.0, n_features)
    y = (X @ w + 0.3 > 0).astype(int)
    flips = rng.random(n) < flip
    y[flips] = 1 - y[flips]
    df = pd.DataFrame(np.round(X, 6), columns=[f"x{i}" for i in range(n_features)])
    df["label"] = y
    return df


def _csv(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, lineterminator="\n")


def _expected(text: str, seed: int) -> dict[str, Any]:
    df = pd.read_csv(io.StringIO(text))
    X = df.drop(columns="label").to_numpy(dtype=np.float64)
    y = df["label"].to_numpy(dtype=int)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    model = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    return {
        "data_hash": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "accuracy": float(accuracy_score(y_test, model.predict(X_test))),
        "coef": model.coef_,
        "intercept": model.intercept_,
    }


# ---------------------------------------------------------------- driving the learner's pipeline


class Bench:
    """A temporary folder in the learner's sandbox, with the probe's helpers."""

    def __init__(self, sub: Any) -> None:
        self.sub = sub
        self.p = sub.define(_PROBE_SRC)
        self.root: str = self.p["workspace"]()

    def write(self, name: str, text: str) -> str:
        path: str = self.p["write"](f"{self.root}/{name}", text)
        return path

    def run(self, data_path: str, store: str, seed: int = 0) -> tuple[dict[str, Any], dict[str, int]]:
        """The learner's result and how many fits and predicts it made."""
        __tracebackhide__ = True
        spy: RemoteRef = self.p["Spy"]()
        try:
            result = self.sub.run_pipeline(data_path, f"{self.root}/{store}", seed=seed)
            counts: dict[str, int] = spy.counts()
        finally:
            spy.remove()
        _check_result_shape(result)
        return result, counts

    def run_expecting_error(self, data_path: str, store: str) -> tuple[LearnerError | None, dict[str, int]]:
        __tracebackhide__ = True
        spy: RemoteRef = self.p["Spy"]()
        try:
            try:
                self.sub.run_pipeline(data_path, f"{self.root}/{store}", seed=0)
                error = None
            except LearnerError as err:
                if err.not_implemented:
                    raise
                error = err
            counts: dict[str, int] = spy.counts()
        finally:
            spy.remove()
        return error, counts

    def store(self, store: str) -> dict[str, str]:
        files: dict[str, str] = self.p["read_store"](f"{self.root}/{store}")
        return files


def _check_result_shape(result: Any) -> None:
    __tracebackhide__ = True
    keys = {"data_hash", "accuracy", "registered", "current_version"}
    if not isinstance(result, dict) or set(result) != keys:
        got = sorted(result) if isinstance(result, dict) else type(result).__name__
        fail(f"`run_pipeline` should return a dict with exactly the keys {sorted(keys)}; got {got}.")
    if not isinstance(result["registered"], bool) or not isinstance(result["current_version"], int):
        fail("In the result, `registered` should be a bool and `current_version` an int.")


def _registry(files: dict[str, str]) -> dict[str, Any]:
    __tracebackhide__ = True
    if "registry.json" not in files:
        fail(f"After a successful run there is no store/registry.json; the store holds {sorted(files)}.")
    try:
        registry = json.loads(files["registry.json"])
    except json.JSONDecodeError as err:
        fail(f"store/registry.json is not valid JSON: {err}.")
    if not isinstance(registry, dict) or not {"current", "versions"} <= set(registry):
        fail('store/registry.json should be {"current": ..., "versions": [...]}.')
    return registry  # type: ignore[no-any-return]


def _fits(counts: dict[str, int], what: str, expected_fit: int, hint: str | None) -> None:
    __tracebackhide__ = True
    if counts["fit"] != expected_fit or (expected_fit == 0 and counts["predict"] != 0):
        fail(
            f"{what}: run_pipeline called LogisticRegression.fit {counts['fit']} time(s) and .predict "
            f"{counts['predict']} time(s); expected {expected_fit} fit(s)"
            + (" and no predict." if expected_fit == 0 else "."),
            hint,
        )


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(2)
def test_first_run_trains_evaluates_and_registers(sub: Any, rng: np.random.Generator) -> None:
    bench = Bench(sub)
    text = _csv(_dataset(rng))
    path = bench.write("data.csv", text)
    exp = _expected(text, seed=3)
    result, counts = bench.run(path, "store", seed=3)
    if result["data_hash"] != exp["data_hash"]:
        fail(
            f"`data_hash` is {result['data_hash']!r}, expected the SHA-256 hex digest of the file's bytes, "
            f"{exp['data_hash']!r}.",
            _H_CONTENT,
        )
    _fits(counts, "On a first run", 1, None)
    assert_close(result["accuracy"], exp["accuracy"], rtol=1e-9, name="accuracy", hint=_H_SPLIT)
    if result["registered"] is not True or result["current_version"] != 1:
        fail(
            f"The first run on an empty store returned registered={result['registered']}, "
            f"current_version={result['current_version']}; expected True and 1 (with no current model, any "
            "candidate is registered)."
        )
    files = bench.store("store")
    registry = _registry(files)
    expected_versions = [{"version": 1, "data_hash": exp["data_hash"], "accuracy": exp["accuracy"]}]
    if registry["current"] != 1 or registry["versions"] != expected_versions:
        fail(f"store/registry.json is {registry}; expected {{'current': 1, 'versions': {expected_versions}}}.")
    if "models/v1.json" not in files:
        fail(f"The registered model should be written to store/models/v1.json; the store holds {sorted(files)}.")
    state = json.loads(files["models/v1.json"])
    assert_close(
        np.asarray(state["coef"]), exp["coef"], rtol=1e-6, atol=1e-9, name="models/v1.json coef", hint=_H_SPLIT
    )
    assert_close(
        np.asarray(state["intercept"]), exp["intercept"], rtol=1e-6, atol=1e-9, name="models/v1.json intercept"
    )
    if state.get("classes") != [0, 1]:
        fail(f"models/v1.json's classes should be [0, 1], got {state.get('classes')!r}.")


@pytest.mark.points(2)
def test_unchanged_rerun_does_no_work(sub: Any, rng: np.random.Generator) -> None:
    bench = Bench(sub)
    text = _csv(_dataset(rng))
    path = bench.write("data.csv", text)
    first, _ = bench.run(path, "store")
    registry_before = _registry(bench.store("store"))

    again, counts = bench.run(path, "store")
    _fits(counts, "Rerun on the same file with the same store", 0, _H_CACHE)
    if again["accuracy"] != first["accuracy"] or again["data_hash"] != first["data_hash"]:
        fail(f"A cached rerun returned {again}, but the first run returned {first}: a cache hit gives the same values.")
    if again["registered"] or again["current_version"] != 1:
        fail(
            f"An unchanged rerun returned registered={again['registered']}, "
            f"current_version={again['current_version']}; "
            "expected False and 1: the same model is not better than itself.",
            _H_STRICT,
        )
    if _registry(bench.store("store")) != registry_before:
        fail("An unchanged rerun changed store/registry.json.", _H_STRICT)

    assert bench.p["touch"](path), "the grader could not change the file's modification time"
    _, counts = bench.run(path, "store")
    _fits(counts, "Rerun after only the file's modification time changed (same bytes)", 0, _H_CONTENT)
    copy = bench.p["copy"](path, f"{bench.root}/copy-of-data.csv")
    _, counts = bench.run(copy, "store")
    _fits(counts, "Run on a copy of the same file under another name", 0, _H_CONTENT)


@pytest.mark.points(1.5)
def test_changed_data_or_an_empty_cache_retrains(sub: Any, rng: np.random.Generator) -> None:
    bench = Bench(sub)
    df = _dataset(rng)
    path = bench.write("data.csv", _csv(df))
    bench.run(path, "store")
    changed = df.copy()
    changed.loc[0, "x0"] = changed.loc[0, "x0"] + 1.0
    changed_text = _csv(changed)
    result, counts = bench.run(bench.write("data.csv", changed_text), "store")
    _fits(counts, "Run after one value of the file changed", 1, None)
    if result["data_hash"] != _expected(changed_text, 0)["data_hash"]:
        fail("After the file changed, `data_hash` is not the SHA-256 of its new bytes.", _H_CONTENT)
    _, counts = bench.run(path, "fresh-store")
    _fits(counts, "Run with a new, empty store folder", 1, "The cache lives in store/cache/: a new store has no cache.")
    bench.p["remove_tree"](f"{bench.root}/fresh-store/cache")
    _, counts = bench.run(path, "fresh-store")
    _fits(counts, "Run after store/cache/ was deleted", 1, "The cache lives in store/cache/ only, never in memory.")


@pytest.mark.points(2)
def test_registers_only_a_strictly_better_model(sub: Any, rng: np.random.Generator) -> None:
    bench = Bench(sub)
    # A middling model, then a worse one (noisier labels), then a better one (clean labels).
    for _ in range(20):
        base, worse, better = _dataset(rng, flip=0.15), _dataset(rng, flip=0.4), _dataset(rng, flip=0.0)
        acc = [_expected(_csv(d), 0)["accuracy"] for d in (base, worse, better)]
        if acc[1] < acc[0] < acc[2]:
            break
    else:  # pragma: no cover - the seeded draws above order themselves at once in practice
        pytest.skip("could not draw data sets with ordered accuracies")
    paths = [
        bench.write(f"{name}.csv", _csv(d))
        for name, d in zip(("base", "worse", "better"), (base, worse, better), strict=True)
    ]

    bench.run(paths[0], "store")
    result, _ = bench.run(paths[1], "store")
    registry = _registry(bench.store("store"))
    if result["registered"] or result["current_version"] != 1 or registry["current"] != 1:
        fail(
            f"A candidate with accuracy {acc[1]:.4f} was registered over the current version's {acc[0]:.4f} "
            f"(result {result}, registry current {registry['current']}).",
            _H_BETTER,
        )
    result, _ = bench.run(paths[2], "store")
    registry = _registry(bench.store("store"))
    if not result["registered"] or result["current_version"] != 2 or registry["current"] != 2:
        fail(
            f"A candidate with accuracy {acc[2]:.4f}, better than the current {acc[0]:.4f}, should become version 2; "
            f"got result {result} and registry current {registry['current']}."
        )
    if [v["version"] for v in registry["versions"]] != [1, 2]:
        fail(f"Versions are numbered 1, 2, ... in registration order; the registry lists {registry['versions']}.")
    result, _ = bench.run(paths[2], "store")
    if result["registered"]:
        fail("Running the current model's data again registered a version 3 with the same accuracy.", _H_STRICT)


_BAD = [
    (
        "labels of 2 in every sixth row",
        lambda df: df.assign(label=np.where(np.arange(len(df)) % 6 == 0, 2, df["label"])),
        "label",
        "Labels must be 0 or 1 (df['label'].isin([0, 1]).all()); raise DataValidationError naming 'label'.",
    ),
    (
        "no label column",
        lambda df: df.rename(columns={"label": "target"}),
        "label",
        "Check first that the data has a 'label' column and raise DataValidationError naming it.",
    ),
    (
        "a text column",
        lambda df: df.assign(x1=["high", *list(df["x1"].astype(str))[1:]]),
        "x1",
        "Every feature column must be numeric (pd.api.types.is_numeric_dtype): raise DataValidationError naming the "
        "column.",
    ),
    (
        "a missing value",
        lambda df: df.assign(x2=[np.nan, *list(df["x2"])[1:]]),
        "x2",
        "Check for missing values (df[column].isna().any()) and raise DataValidationError naming the column.",
    ),
    (
        "only 12 rows",
        lambda df: df.head(12),
        "12",
        "Refuse fewer than MIN_ROWS (20) rows with a DataValidationError that gives the number of rows.",
    ),
]


@pytest.mark.points(2.5)
def test_bad_data_stops_before_training(sub: Any, rng: np.random.Generator) -> None:
    bench = Bench(sub)
    df = _dataset(rng, n=60)
    for i, (what, corrupt, needle, hint) in enumerate(_BAD):
        path = bench.write(f"bad{i}.csv", _csv(corrupt(df)))
        error, counts = bench.run_expecting_error(path, f"store{i}")
        if counts["fit"]:
            fail(f"On data with {what}, run_pipeline called LogisticRegression.fit.", f"{hint} {_H_BEFORE}")
        if error is None:
            fail(f"On data with {what}, run_pipeline returned normally; it should raise DataValidationError.", hint)
        if "DataValidationError" not in error.exception_mro or "ValueError" not in error.exception_mro:
            fail(
                f"On data with {what}, run_pipeline raised {error.exception_type}; expected DataValidationError "
                "(a subclass of ValueError).",
                hint,
            )
        if needle.lower() not in error.message.lower():
            fail(f"On data with {what}, the error message should name {needle!r}; it was: {error.message!r}", hint)
        files = bench.store(f"store{i}")
        written = [f for f in files if f.startswith(("models/", "cache/train-", "cache/evaluate-"))]
        if written or ("registry.json" in files and _registry(files)["versions"]):
            fail(f"On data with {what}, the store was written to: {sorted(files)}.", _H_BEFORE)
