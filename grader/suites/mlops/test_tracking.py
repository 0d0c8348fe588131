"""Hidden suite for mlops/tracking: MLflow runs, their metrics, the logged model, the best run.

The learner's tracking store is attacker data. It lives in the learner's sandbox (a folder in
the kernel's working folder), and the grader never opens it there: a probe in the kernel lists
it with ``lstat`` (a symbolic link, device or FIFO is reported, never followed or read) and
sends the plain files back as bytes. The grader refuses a listing with a link or a special file,
or over intake's caps (file count, total size, depth), checks every relative path (no absolute
path, no ``..``), and writes the files into a fresh folder of its own with ``open(..., "xb")``:
only plain files and folders it made itself, so nothing in the copy can point outside it. Only
then does MLflow's own client open the copy (file store, YAML read with a safe loader). The
grader never loads a logged model: the "loads back and predicts the same" check runs in the
kernel (``mlflow.sklearn.load_model`` there), and only the predictions cross back.

The expected values come from the suite's own recomputation: the same split, the same
``DecisionTreeClassifier(**params, random_state=seed)``, the same scikit-learn metrics.
``best_run`` is checked on a store the grader writes itself with MLflow's client (runs with
chosen metrics, start times and statuses), sent into the kernel as files.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pytest
import yaml
from sklearn.datasets import load_wine
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

from grader.engine import intake
from grader.engine.remote import label
from grader.helpers import assert_close, expect_raises, fail

EXPERIMENT = "wine-tree"
TAG_KEY, TAG_VALUE = "dataset", "sklearn-wine"
METRICS = ("accuracy", "f1_macro", "log_loss")
INSTALL = (
    "The tracking exercise needs MLflow, which is not installed in the course's environment. Install it with "
    "`make grade STAGE=mlops` (it installs the `tracking` extra) or `.venv/bin/pip install -e '.[tracking]'`, "
    "then grade again."
)

_H_SPLIT = (
    "Compute the metrics on the TEST part: load_data(seed) gives X_train, X_test, y_train, y_test "
    "(train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)); fit "
    "DecisionTreeClassifier(**params, random_state=seed) on the training part and call evaluate(model, X_test, y_test)."
)
_H_F1 = 'f1_macro is f1_score(y_test, predicted, average="macro"): the unweighted mean of the per-class F1 scores.'
_H_PARAMS = (
    'Log every key of the params dict AND the seed: mlflow.log_params({**params, "seed": seed}); MLflow stores each '
    "value as its str."
)
_H_TAG = f'Tag every run: mlflow.set_tag("{TAG_KEY}", "{TAG_VALUE}") inside the `with mlflow.start_run(...)` block.'
_H_NAMES = (
    'Name the i-th run of the grid f"run-{i}", counting from 0: mlflow.start_run(run_name=f"run-{i}"), and return '
    "the run ids in grid order."
)
_H_EXPERIMENT = (
    "Point MLflow at the folder (mlflow.set_tracking_uri(Path(tracking_dir).resolve().as_uri())), then "
    f'mlflow.set_experiment("{EXPERIMENT}") before starting the runs.'
)
_H_MODEL = (
    'Log each fitted model inside its run: mlflow.sklearn.log_model(model, name="model", '
    "pip_requirements=PIP_REQUIREMENTS, skops_trusted_types=SKOPS_TRUSTED_TYPES)."
)
_H_LOWER = (
    "log_loss is better when it is LOWER (it is in LOWER_IS_BETTER): pick the smallest value for it, the largest for "
    "the other metrics."
)
_H_TIES = (
    "On a tie, the run that started first wins (the smallest run.info.start_time), then the smaller run id. "
    "MLflow's search lists the newest runs first, so do not just take the first row with the best value."
)
_H_FINISHED = (
    "Only runs whose status is FINISHED count: a run that failed (or is still running) never wins, whatever it "
    "logged. Keep to the experiment named EXPERIMENT, and skip runs that never logged the metric."
)

# ---------------------------------------------------------------- code run in the learner's kernel

_PROBE_SRC = r"""
import os as _os, stat as _stat, tempfile as _tempfile

def prepare():
    # MLflow's usage telemetry is off for graded runs (it would try the network); the file store is allowed.
    _os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    _os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    return _tempfile.mkdtemp(prefix="tracking-", dir=_os.getcwd())

def read_store(root, max_files, max_bytes):
    dirs, files, other, total = [], {}, {}, 0
    for here, subdirs, names in _os.walk(root):
        for name in sorted(subdirs) + sorted(names):
            path = _os.path.join(here, name)
            rel = _os.path.relpath(path, root).replace(_os.sep, "/")
            mode = _os.lstat(path).st_mode
            if _stat.S_ISLNK(mode):
                other[rel] = "a symbolic link"
            elif _stat.S_ISDIR(mode):
                dirs.append(rel)
            elif not _stat.S_ISREG(mode):
                other[rel] = "not a plain file"
            elif len(files) >= max_files or total > max_bytes:
                other[rel] = "over the limit"
            else:
                with open(path, "rb") as f:
                    files[rel] = f.read(max_bytes + 1 - total)
                total += len(files[rel])
    return {"dirs": dirs, "files": files, "other": other}

def write_store(root, dirs, files):
    for rel in dirs:
        _os.makedirs(_os.path.join(root, rel), exist_ok=True)
    for rel, data in files.items():
        path = _os.path.join(root, rel)
        _os.makedirs(_os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return root

def predict(run_id, tracking_dir, X):
    import mlflow, mlflow.sklearn, pathlib
    mlflow.set_tracking_uri(pathlib.Path(tracking_dir).resolve().as_uri())
    model = mlflow.sklearn.load_model(f"runs:/{run_id}/model")
    return model.predict(X), model.predict_proba(X)

def remove(root):
    import shutil
    shutil.rmtree(root, ignore_errors=True)

def fit_tree(X, y, params, seed):
    from sklearn.tree import DecisionTreeClassifier
    return DecisionTreeClassifier(**params, random_state=seed).fit(X, y)
"""


@pytest.fixture(scope="module", autouse=True)
def _mlflow_installed() -> None:
    """Before anything else: without MLflow, every test says how to install it (no traceback)."""
    if importlib.util.find_spec("mlflow") is None or importlib.util.find_spec("skops") is None:
        fail(INSTALL)


@contextlib.contextmanager
def _mlflow_env() -> Iterator[Any]:
    """MLflow in the grader's process: telemetry off (before its first import), the file store allowed.

    MLflow's own warnings (the file store's maintenance mode, deprecations) say nothing about the learner's work
    and are silenced here.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    saved = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from mlflow.tracking import MlflowClient

            yield MlflowClient
    finally:
        if saved is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = saved


class Kernel:
    """The probe functions, and a tracking folder inside the kernel's working folder."""

    def __init__(self, sub: Any) -> None:
        self.sub = sub
        self.fns = sub.define(_PROBE_SRC)
        self.root: str = self.fns["prepare"]()

    def folder(self, name: str) -> str:
        return f"{self.root}/{name}"


# ---------------------------------------------------------------- the learner's store, as data


def _safe_rel(rel: Any) -> PurePosixPath:
    __tracebackhide__ = True
    if not isinstance(rel, str) or not rel or "\x00" in rel or "\\" in rel:
        fail(f"The listing of your tracking folder holds a path the grader does not accept: {rel!r}.")
    path = PurePosixPath(rel)
    if path.is_absolute() or any(part in ("", ".", "..") or len(part) > 255 for part in path.parts):
        fail(f"The listing of your tracking folder holds a path outside it: {rel!r}.")
    if len(path.parts) > intake.MAX_DEPTH + 1:
        fail(f"Your tracking folder is more than {intake.MAX_DEPTH} folders deep at `{rel}`.")
    return path


def copy_store(kernel: Kernel, tracking_dir: str, dest: Path) -> Path:
    """The learner's store, copied as plain files into ``dest`` (see the module docstring)."""
    __tracebackhide__ = True
    listing = kernel.fns["read_store"](tracking_dir, intake.MAX_STAGE_FILES, intake.MAX_STAGE_BYTES)
    if not isinstance(listing, dict) or set(listing) != {"dirs", "files", "other"}:
        fail("The grader could not read your tracking folder's listing; does your code replace the grader's probe?")
    dirs, files, other = listing["dirs"], listing["files"], listing["other"]
    if not isinstance(dirs, list) or not isinstance(files, dict) or not isinstance(other, dict):
        fail("The grader could not read your tracking folder's listing; does your code replace the grader's probe?")
    for rel, what in sorted(other.items()):
        if what == "over the limit":
            fail(
                f"Your tracking folder holds more than {intake.MAX_STAGE_FILES} files or "
                f"{intake.MAX_STAGE_BYTES >> 20} MB; the grader reads at most that much. Log a few small runs."
            )
        fail(
            f"`{rel}` in your tracking folder is {what}. MLflow's file store holds plain files and folders only, and "
            "the grader never follows a link: write the runs with MLflow and leave its files as they are."
        )
    if len(dirs) + len(files) > intake.MAX_STAGE_FILES:
        fail(f"Your tracking folder holds more than {intake.MAX_STAGE_FILES} files and folders.")
    total = 0
    try:
        for rel in dirs:
            (dest / _safe_rel(rel)).mkdir(parents=True, exist_ok=True)
        for rel, data in files.items():
            path = dest / _safe_rel(rel)
            if not isinstance(data, bytes):
                fail(f"The grader could not read `{rel}` of your tracking folder.")
            total += len(data)
            if total > intake.MAX_STAGE_BYTES:
                fail(f"Your tracking folder holds more than {intake.MAX_STAGE_BYTES >> 20} MB.")
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "xb") as out:  # "x": a name sent twice, or a file where a folder is, is refused
                out.write(data)
    except OSError as exc:  # only a forged listing gets here (a name both a file and a folder)
        fail(f"The grader could not copy your tracking folder ({type(exc).__name__}): is it MLflow's own store?")
    return dest


@contextlib.contextmanager
def _reading(what: str) -> Iterator[None]:
    """MLflow's client on a learner's store: whatever it raises on bad files is the learner's, said in a sentence.

    Only the exception's type is shown: its text could quote a file that a forged store made MLflow read.
    """
    __tracebackhide__ = True
    try:
        yield
    except Exception as exc:
        fail(
            f"MLflow could not read {what} ({type(exc).__name__}). Write the store with MLflow's own functions, "
            "and leave its files as they are."
        )


@pytest.fixture
def kernel(sub: Any) -> Iterator[Kernel]:
    """The probe, and a tracking folder that is removed after the test (check() runs in the learner's own folder)."""
    k = Kernel(sub)
    yield k
    with contextlib.suppress(Exception):
        k.fns["remove"](k.root)


@pytest.fixture
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="tracking-copy-") as tmp:
        yield Path(tmp)


# ---------------------------------------------------------------- the suite's own recomputation


def _split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_wine(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    return X_train, X_test, y_train, y_test


def _metrics(model: DecisionTreeClassifier, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    predicted = model.predict(X)
    return {
        "accuracy": float(accuracy_score(y, predicted)),
        "f1_macro": float(f1_score(y, predicted, average="macro")),
        "log_loss": float(log_loss(y, model.predict_proba(X), labels=model.classes_)),
    }


def _grid(rng: np.random.Generator, n: int = 3) -> list[dict[str, Any]]:
    """``n`` distinct parameter sets, drawn from a small space."""
    space = [
        {"max_depth": depth, "min_samples_leaf": leaf, "criterion": criterion}
        for depth in (1, 2, 3, None)
        for leaf in (1, 3, 8)
        for criterion in ("gini", "entropy")
    ]
    picks = rng.choice(len(space), size=n, replace=False)
    return [space[int(i)] for i in picks]


def _expected_runs(grid: list[dict[str, Any]], seed: int) -> list[tuple[DecisionTreeClassifier, dict[str, float]]]:
    X_train, X_test, y_train, y_test = _split(seed)
    out = []
    for params in grid:
        model = DecisionTreeClassifier(**params, random_state=seed).fit(X_train, y_train)
        out.append((model, _metrics(model, X_test, y_test)))
    return out


def _train_and_log(kernel: Kernel, rng: np.random.Generator, scratch: Path) -> tuple[list[dict[str, Any]], int, Any]:
    """Run the learner's train_and_log on a fresh folder; check the runs exist and match the ids it returned.

    Returns the grid, the seed, and the runs of the copied store in grid order.
    """
    __tracebackhide__ = True
    grid = _grid(rng)
    seed = int(rng.integers(0, 1000))
    tracking_dir = kernel.folder("mlruns")
    ids = kernel.sub.train_and_log(tracking_dir, grid, seed)
    if not isinstance(ids, list) or len(ids) != len(grid) or not all(isinstance(i, str) for i in ids):
        fail(f"train_and_log should return a list of {len(grid)} run ids (str), one per dict of the grid; got {ids!r}.")
    copy = copy_store(kernel, tracking_dir, scratch / "store")
    with _mlflow_env() as MlflowClient, _reading("your tracking folder"):
        client = MlflowClient(tracking_uri=copy.resolve().as_uri())
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            names = [e.name for e in client.search_experiments()]
            fail(
                f"The tracking folder has no experiment named {EXPERIMENT!r} (it has {names}).",
                _H_EXPERIMENT,
            )
        runs = client.search_runs([experiment.experiment_id], max_results=1000)
        by_id = {r.info.run_id: r for r in runs}
        if sorted(by_id) != sorted(ids):
            fail(
                f"Experiment {EXPERIMENT!r} holds {len(runs)} run(s), but train_and_log was given {len(grid)} "
                f"parameter sets and returned the ids {ids}: every parameter set is one run of this experiment, "
                "and the ids returned are those runs' ids.",
                _H_NAMES if len(runs) == len(grid) else None,
            )
        ordered = [by_id[i] for i in ids]
        logged = {m.source_run_id: m for m in client.search_logged_models(experiment_ids=[experiment.experiment_id])}
    return grid, seed, {"runs": ordered, "models": logged, "copy": copy, "dir": tracking_dir}


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(2)
def test_evaluate_matches_sklearn(sub: Any, kernel: Kernel, rng: np.random.Generator) -> None:
    for trial in range(2):
        # three classes whose test part may miss one: log_loss must be told the model's classes
        X = rng.normal(size=(90, 4))
        y = np.repeat([0, 1, 2], 30)
        X[:, 0] += y * 0.8
        X_test = rng.normal(size=(25, 4))
        y_test = rng.integers(0, 2 if trial else 3, size=25)
        X_test[:, 0] += y_test * 0.8
        params = {"max_depth": int(rng.integers(2, 5)), "min_samples_leaf": int(rng.integers(2, 6))}
        seed = int(rng.integers(0, 1000))
        model = label(kernel.fns["fit_tree"], "DecisionTreeClassifier(...).fit")(X, y, params, seed)
        got = sub.evaluate(model, X_test, y_test)
        ref = DecisionTreeClassifier(**params, random_state=seed).fit(X, y)
        want = _metrics(ref, X_test, y_test)
        if not isinstance(got, dict) or set(got) != set(METRICS):
            keys = sorted(got) if isinstance(got, dict) else type(got).__name__
            fail(f"evaluate should return a dict with exactly the keys {list(METRICS)}; got {keys}.")
        for name in METRICS:
            if not isinstance(got[name], float):
                fail(f"evaluate(...)[{name!r}] should be a Python float; got {type(got[name]).__name__}.")
        assert_close(got["accuracy"], want["accuracy"], rtol=1e-12, name="evaluate(...)['accuracy']")
        assert_close(got["f1_macro"], want["f1_macro"], rtol=1e-12, name="evaluate(...)['f1_macro']", hint=_H_F1)
        assert_close(
            got["log_loss"],
            want["log_loss"],
            rtol=1e-12,
            name="evaluate(...)['log_loss']",
            hint="log_loss(y_test, model.predict_proba(X_test), labels=model.classes_): the probabilities, not the "
            "predicted labels, and the model's classes even when the test part misses one.",
        )


@pytest.mark.public
@pytest.mark.points(2)
def test_runs_params_and_tags(sub: Any, kernel: Kernel, rng: np.random.Generator, scratch: Path) -> None:
    grid, seed, store = _train_and_log(kernel, rng, scratch)
    for i, (params, run) in enumerate(zip(grid, store["runs"], strict=True)):
        if run.info.status != "FINISHED":
            fail(f"Run {i} ended with status {run.info.status}; a run that completed is FINISHED.")
        if run.info.run_name != f"run-{i}":
            fail(
                f"The run for parameter set {i} is named {run.info.run_name!r}; expected 'run-{i}'.",
                _H_NAMES,
            )
        want = {**{k: str(v) for k, v in params.items()}, "seed": str(seed)}
        if run.data.params != want:
            fail(f"Run 'run-{i}' logged the parameters {run.data.params}; expected {want}.", _H_PARAMS)
        if run.data.tags.get(TAG_KEY) != TAG_VALUE:
            fail(
                f"Run 'run-{i}' has the tag {TAG_KEY}={run.data.tags.get(TAG_KEY)!r}; expected {TAG_VALUE!r}.",
                _H_TAG,
            )


@pytest.mark.points(2)
def test_metrics_match_the_recomputation(sub: Any, kernel: Kernel, rng: np.random.Generator, scratch: Path) -> None:
    grid, seed, store = _train_and_log(kernel, rng, scratch)
    expected = _expected_runs(grid, seed)
    for i, (run, (_, want)) in enumerate(zip(store["runs"], expected, strict=True)):
        got = run.data.metrics
        missing = [m for m in METRICS if m not in got]
        if missing:
            fail(f"Run 'run-{i}' did not log the metric(s) {missing}; it logged {sorted(got)}.")
        for name in METRICS:
            assert_close(
                got[name],
                want[name],
                rtol=1e-9,
                name=f"the {name} logged by run 'run-{i}' (params {grid[i]}, seed {seed})",
                hint=_H_F1 if name == "f1_macro" and got["accuracy"] == want["accuracy"] else _H_SPLIT,
            )


@pytest.mark.points(1.5)
def test_the_logged_model_loads_back_and_predicts_the_same(
    sub: Any, kernel: Kernel, rng: np.random.Generator, scratch: Path
) -> None:
    grid, seed, store = _train_and_log(kernel, rng, scratch)
    expected = _expected_runs(grid, seed)
    for i, run in enumerate(store["runs"]):
        model = store["models"].get(run.info.run_id)
        if model is None or model.name != "model":
            fail(f"Run 'run-{i}' has no logged model named 'model'.", _H_MODEL)
        mlmodel = _mlmodel_file(store["copy"], model.experiment_id, model.model_id)
        if mlmodel is None or "sklearn" not in (mlmodel.get("flavors") or {}):
            fail(f"The model logged by run 'run-{i}' is not a scikit-learn model (no 'sklearn' flavor).", _H_MODEL)
    # the best run by accuracy, as the suite's own metrics say (ties: the earlier run)
    best = max(range(len(grid)), key=lambda i: (expected[i][1]["accuracy"], -i))
    X_test = _split(seed)[1]
    X = X_test + rng.normal(scale=0.05, size=X_test.shape) * X_test.std(axis=0)
    run_id = store["runs"][best].info.run_id
    loaded = label(kernel.fns["predict"], f'mlflow.sklearn.load_model("runs:/{run_id}/model").predict')
    predicted, proba = loaded(run_id, store["dir"], X)
    ref = expected[best][0]
    if not np.array_equal(np.asarray(predicted), ref.predict(X)):
        fail(
            f"The model of run 'run-{best}', loaded back with mlflow.sklearn.load_model, predicts differently from "
            f"DecisionTreeClassifier(**{grid[best]}, random_state={seed}) fitted on the training part.",
            _H_SPLIT,
        )
    assert_close(proba, ref.predict_proba(X), rtol=1e-12, name=f"predict_proba of run 'run-{best}'s loaded model")


def _mlmodel_file(copy: Path, experiment_id: Any, model_id: Any) -> dict[str, Any] | None:
    """The logged model's MLmodel file, parsed (safe YAML) from the copy; None when there is none."""
    # Both ids come from the learner's meta.yaml files: a folder name, never a path.
    if not all(isinstance(i, str) and re.fullmatch(r"[A-Za-z0-9][\w-]{0,127}", i) for i in (experiment_id, model_id)):
        return None
    path = copy / experiment_id / "models" / model_id / "artifacts" / "MLmodel"
    try:
        text = intake.read_bytes(path, 2**20, within=copy).decode("utf-8")
        data = yaml.safe_load(text)
    except (OSError, intake.Refused, UnicodeDecodeError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


# ---------------------------------------------------------------- best_run, on stores the grader writes


class Store:
    """A tracking store the grader writes with MLflow's client: runs with chosen metrics, start times, statuses."""

    def __init__(self, client: Any, rng: np.random.Generator) -> None:
        self.client = client
        self.experiment = client.create_experiment(EXPERIMENT)
        self.t0 = 1_700_000_000_000 + int(rng.integers(0, 10**9))
        self.ids: dict[str, str] = {}

    def run(
        self, name: str, start: int, metrics: dict[str, float], status: str = "FINISHED", experiment: str | None = None
    ) -> str:
        client, t = self.client, self.t0 + start
        run_id: str = client.create_run(experiment or self.experiment, start_time=t, run_name=name).info.run_id
        for key, value in metrics.items():
            client.log_metric(run_id, key, value, timestamp=t + 1)
        if status != "RUNNING":
            client.set_terminated(run_id, status=status, end_time=t + 2)
        self.ids[name] = run_id
        return run_id


def _direction_store(root: Path, rng: np.random.Generator) -> dict[str, str]:
    """Finished runs only, every metric logged; returns the expected best run id per metric."""
    with _mlflow_env() as MlflowClient:
        store = Store(MlflowClient(tracking_uri=root.resolve().as_uri()), rng)
        top = float(np.round(rng.uniform(0.85, 0.95), 4))
        low = float(np.round(rng.uniform(0.1, 0.3), 4))
        # accuracy: a tie at the top; the tied run created FIRST started LATER (so neither creation order nor
        # MLflow's newest-first listing gives the answer)
        store.run("late-tie", 5000, {"accuracy": top, "f1_macro": 0.5, "log_loss": low + 0.3})
        store.run("early-tie", 1000, {"accuracy": top, "f1_macro": 0.6, "log_loss": low + 0.2})
        store.run("lowest-loss", 2000, {"accuracy": top - 0.1, "f1_macro": 0.7, "log_loss": low})
        # f1_macro: a tie at the top with the same start time: the smaller run id wins
        a = store.run("same-time-a", 8000, {"accuracy": top - 0.2, "f1_macro": 0.8, "log_loss": low + 0.5})
        b = store.run("same-time-b", 8000, {"accuracy": top - 0.2, "f1_macro": 0.8, "log_loss": low + 0.5})
    return {"accuracy": store.ids["early-tie"], "log_loss": store.ids["lowest-loss"], "f1_macro": min(a, b)}


def _distractor_store(root: Path, rng: np.random.Generator) -> str:
    """One run that may win, and runs that never may (failed, running, deleted, elsewhere, no metrics); its id."""
    with _mlflow_env() as MlflowClient:
        client = MlflowClient(tracking_uri=root.resolve().as_uri())
        store = Store(client, rng)
        other = client.create_experiment("another-experiment")
        only = store.run("the-only-candidate", 2000, {"accuracy": 0.7, "log_loss": 0.5})
        store.run("failed", 3000, {"accuracy": 0.99, "log_loss": 0.01}, status="FAILED")
        store.run("still-running", 3500, {"accuracy": 0.98, "log_loss": 0.02}, status="RUNNING")
        store.run("elsewhere", 4000, {"accuracy": 1.0, "log_loss": 0.001}, experiment=other)
        store.run("no-metrics", 6000, {})
        client.delete_run(store.run("deleted", 7000, {"accuracy": 1.0, "log_loss": 0.0}))
    return only


def _send_store(kernel: Kernel, root: Path, name: str) -> str:
    dirs = [p.relative_to(root).as_posix() for p in sorted(root.rglob("*")) if p.is_dir()]
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    path: str = kernel.fns["write_store"](kernel.folder(name), dirs, files)
    return path


@pytest.mark.public
@pytest.mark.points(1.5)
def test_best_run_direction_and_ties(sub: Any, kernel: Kernel, rng: np.random.Generator, scratch: Path) -> None:
    expected = _direction_store(scratch / "store", rng)
    tracking_dir = _send_store(kernel, scratch / "store", "made-by-the-grader")
    got = sub.best_run(tracking_dir, "log_loss")
    if got != expected["log_loss"]:
        fail(
            f"best_run(tracking_dir, 'log_loss') returned run {got!r}, not the run with the lowest log_loss "
            f"({expected['log_loss']!r}).",
            _H_LOWER,
        )
    got = sub.best_run(tracking_dir, "accuracy")
    if got != expected["accuracy"]:
        fail(
            f"Two runs share the best accuracy; best_run(tracking_dir, 'accuracy') returned {got!r}, not the one that "
            f"started first ({expected['accuracy']!r}).",
            _H_TIES,
        )
    got = sub.best_run(tracking_dir, "f1_macro")
    if got != expected["f1_macro"]:
        fail(
            f"Two runs share the best f1_macro and started at the same time; best_run returned {got!r}, not the one "
            f"with the smaller run id ({expected['f1_macro']!r}).",
            _H_TIES,
        )


@pytest.mark.points(1)
def test_best_run_counts_only_finished_runs_of_the_experiment(
    sub: Any, kernel: Kernel, rng: np.random.Generator, scratch: Path
) -> None:
    only = _distractor_store(scratch / "store", rng)
    tracking_dir = _send_store(kernel, scratch / "store", "made-by-the-grader")
    for metric in ("accuracy", "log_loss"):
        got = sub.best_run(tracking_dir, metric)
        if got != only:
            fail(
                f"best_run(tracking_dir, {metric!r}) returned {got!r}; the store's only finished run of "
                f"{EXPERIMENT!r} is {only!r} (the others failed, are still running, were deleted, never logged a "
                "metric, or belong to another experiment).",
                _H_FINISHED,
            )
    with expect_raises("ValueError", name="best_run(tracking_dir, 'roc_auc')"):
        sub.best_run(tracking_dir, "roc_auc")
