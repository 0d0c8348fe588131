"""Hidden suite for competition/publish_model: a model folder ready for the Hugging Face Hub.

Everything that touches files runs in the learner's kernel (its folders are private to its
sandbox): the suite builds a seeded ``TabularMLP`` and fits a ``StandardScaler`` there, calls
``save_for_hub`` into a fresh temporary folder and ``load_from_hub_dir`` on it, and brings back
the files' bytes and the predictions. The grader itself then parses the files: safetensors with
the ``safetensors`` package, the card with ``huggingface_hub.ModelCard`` (offline: only the
text is parsed), JSON with ``json``.

"No pickle anywhere" is checked twice:

- while ``save_for_hub`` and ``load_from_hub_dir`` run, ``pickle``'s and ``_pickle``'s
  dump/dumps/load/loads/Pickler/Unpickler, ``torch.save``/``torch.load`` and, if imported,
  ``joblib``/``cloudpickle``/``dill``'s dump/load are replaced by spies that record the call
  (and still do the work, so the other tests are unaffected); every spy is removed afterwards;
- every file of the folder is scanned: pickle's protocol-2+ header (``\\x80`` then 2-5), a zip
  archive holding a ``.pkl`` member (what ``torch.save`` writes), and the extensions
  ``.pkl .pickle .pt .pth .bin .ckpt .joblib .npy .npz`` are refused.
"""

from __future__ import annotations

import json
import re
import struct
from typing import Any

import numpy as np
import pytest

from grader.engine.remote import LearnerError, RemoteRef, label
from grader.helpers import fail

REQUIRED = ("model.safetensors", "config.json", "preprocessor.json", "README.md")
PICKLE_EXTENSIONS = (".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib", ".npy", ".npz")
TASK = "tabular-classification"
SECTIONS = {
    "intended use": "intended_use",
    "training data": "training_data",
    "evaluation": "evaluation",
    "limitations": "limitations",
}
NO_PICKLE_HINT = (
    "Write the weights with safetensors.torch.save_file and everything else as JSON; read them back with "
    "safetensors.torch.load_file and json.loads. Never torch.save/torch.load, pickle or joblib: loading a pickle "
    "runs whatever code it holds."
)
EVAL_HINT = "Call model.eval() in load_from_hub_dir after loading the weights, so that dropout is off."
SCALER_HINT = (
    "The scaler is part of the model: save its fitted state (mean, scale, var) in preprocessor.json and "
    "rebuild it with scaler_from_state in load_from_hub_dir. Forgetting the scaler changes every prediction."
)
_ROUNDED_HINT = (
    "Your scaler state is close but not exact: never round the floats; json writes a Python float with repr, "
    "which reads back to the same float64."
)
METRICS_HINT = (
    "Put the evaluated metric in the card's metadata: `metrics: [<name>]` and a `model-index` entry whose "
    "results hold {type: <name>, value: <value>}; ModelCardData(..., model_name=..., eval_results=[EvalResult(...)]) "
    "writes both."
)

# ---------------------------------------------------------------- code run in the learner's kernel

_PROBE_SRC = r"""
import json as _json, os as _os, pathlib as _pathlib, shutil as _shutil, sys as _sys, tempfile as _tempfile

def build(TabularMLP, n_features, hidden, dropout, seed, device):
    import torch
    torch.manual_seed(seed)
    model = TabularMLP(n_features, hidden, dropout).to(device)
    model.eval()
    return model

def fit_scaler(X):
    from sklearn.preprocessing import StandardScaler
    return StandardScaler().fit(X)

def transform(scaler, X):
    return scaler.transform(X)

def predict(model, scaler, X, device):
    import torch
    Z = torch.as_tensor(scaler.transform(X), dtype=torch.float32, device=device)
    with torch.no_grad():
        return torch.sigmoid(model(Z)).detach().cpu().numpy()

def state_dict(model):
    return {str(k): v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}

def modes(model):
    training = [name or "(the model itself)" for name, m in model.named_modules() if m.training]
    devices = sorted({str(p.device) for p in model.parameters()})
    return training, devices

def as_json(fn, *args):
    value = fn(*args)
    try:
        return True, _json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as err:
        return False, f"{type(err).__name__}: {err}"

_SPIED = {
    "pickle": ("dump", "dumps", "load", "loads", "Pickler", "Unpickler", "_dump", "_dumps", "_load", "_loads",
               "_Pickler", "_Unpickler"),
    "_pickle": ("dump", "dumps", "load", "loads", "Pickler", "Unpickler"),
    "torch": ("save", "load"),
    "torch.serialization": ("save", "load"),
    "joblib": ("dump", "load"),
    "cloudpickle": ("dump", "dumps"),
    "dill": ("dump", "dumps", "load", "loads"),
}

def _spy(orig, label, calls):
    if isinstance(orig, type):  # a class (Pickler...): a subclass that records, so subclassing it still works
        def __init__(self, *a, **k):
            calls.append(label)
            orig.__init__(self, *a, **k)
        return type(orig.__name__, (orig,), {"__init__": __init__, "__module__": orig.__module__})
    def spy(*a, **k):
        calls.append(label)
        return orig(*a, **k)
    return spy

def guarded(fn, *args, **kwargs):
    calls, patched = [], []
    for modname, names in _SPIED.items():
        mod = _sys.modules.get(modname)
        if mod is None:
            continue
        for name in names:
            orig = getattr(mod, name, None)
            if orig is None:
                continue
            setattr(mod, name, _spy(orig, f"{modname}.{name}", calls))
            patched.append((mod, name, orig))
    try:
        result = fn(*args, **kwargs)
    finally:
        for mod, name, orig in reversed(patched):
            setattr(mod, name, orig)
    return result, sorted(set(calls))

def new_dir():
    return _os.path.join(_tempfile.mkdtemp(prefix="hub-"), "exported", "churn-mlp")

def remove_dir(path):
    _shutil.rmtree(_os.path.dirname(_os.path.dirname(path)), ignore_errors=True)

def listing(out_dir):
    root = _pathlib.Path(out_dir)
    if not root.is_dir():
        return None
    files = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            files[rel] = "symlink"
        elif p.is_file():
            files[rel] = p.read_bytes() if p.stat().st_size <= 16 * 2**20 else "too large"
    return files
"""


class Kernel:
    """The probe functions, defined once per test in the learner's kernel."""

    def __init__(self, sub: Any) -> None:
        self.fns = sub.define(_PROBE_SRC)
        self.made: list[str] = []

    def call(self, name: str, shown_as: str, *args: Any, **kwargs: Any) -> Any:
        """Call probe ``name``; an error in the learner's code is reported as raised by ``shown_as(...)``."""
        __tracebackhide__ = True
        return label(self.fns[name], shown_as)(*args, **kwargs)


@pytest.fixture
def kernel(sub: Any) -> Any:
    k = Kernel(sub)
    yield k
    for path in k.made:
        try:
            k.call("remove_dir", "cleanup", path)
        except Exception:  # noqa: S110 - cleanup of a temporary folder must never change a grade
            pass


# ---------------------------------------------------------------- data made by the suite


def _card(rng: np.random.Generator) -> dict[str, Any]:
    value = float(0.8 + 0.1 * rng.random())
    name = str(rng.choice(["churn-mlp", "tabular-churn", "mle-churn-net"]))
    return {
        "model_name": name,
        "license": str(rng.choice(["mit", "apache-2.0", "cc-by-4.0"])),
        "tags": ["tabular-classification", "churn", f"run-{int(rng.integers(100, 999))}"],
        "datasets": ["mle-course/churn"],
        "metric": {"name": "roc_auc", "value": value, "dataset": "mle-course/churn", "split": "test"},
        "intended_use": "Ranks the customers of a phone and internet provider by their risk of cancelling.",
        "training_data": f"{int(rng.integers(3000, 5000))} labelled customers of the course's churn competition.",
        "evaluation": "ROC AUC on the public half of the held-out test set.",
        "limitations": "Synthetic data; not calibrated; do not use it for decisions about real people.",
    }


def _setup(
    kernel: Any,
    sub: Any,
    rng: np.random.Generator,
    device: str,
    *,
    hidden: tuple[int, ...] = (16, 8),
    n_features: int = 6,
    dropout: float = 0.5,
) -> dict[str, Any]:
    """A seeded model, a scaler fitted on shifted data, rows to predict, and a fresh output folder."""
    X_fit = rng.normal(
        loc=rng.uniform(-40, 40, n_features), scale=rng.uniform(0.5, 20, n_features), size=(64, n_features)
    )
    X_eval = X_fit[:20] + rng.normal(0, 1, size=(20, n_features))
    model = kernel.call(
        "build", "TabularMLP", sub.TabularMLP, n_features, list(hidden), dropout, int(rng.integers(2**31)), device
    )
    scaler = kernel.call("fit_scaler", "StandardScaler().fit", X_fit)
    out = kernel.call("new_dir", "tempfile.mkdtemp")
    kernel.made.append(out)
    return {
        "model": model,
        "scaler": scaler,
        "X": X_eval,
        "out": out,
        "card": _card(rng),
        "n": n_features,
        "hidden": list(hidden),
        "dropout": dropout,
    }


def _save(kernel: Any, sub: Any, s: dict[str, Any]) -> list[str]:
    _, calls = kernel.call("guarded", "save_for_hub", sub.save_for_hub, s["model"], s["scaler"], s["out"], s["card"])
    return list(calls)


def _load(
    kernel: Any, sub: Any, s: dict[str, Any], device: str, *, check_scaler: bool = True
) -> tuple[Any, Any, list[str]]:
    __tracebackhide__ = True
    result, calls = kernel.call("guarded", "load_from_hub_dir", sub.load_from_hub_dir, s["out"], device=device)
    if not isinstance(result, tuple | list) or len(result) != 2:
        fail(f"`load_from_hub_dir` should return a tuple (model, preprocessor), but it returned {_what(result)}.")
    model, scaler = result
    if not isinstance(model, RemoteRef) or "TabularMLP" not in " ".join(model.type_mro):
        fail(f"`load_from_hub_dir` should return a TabularMLP first, but it returned {_what(model)}.")
    if check_scaler and (
        not isinstance(scaler, RemoteRef) or not any(n.endswith("StandardScaler") for n in scaler.type_mro)
    ):
        fail(
            f"`load_from_hub_dir` should return a fitted StandardScaler second, but it returned {_what(scaler)}. "
            "The reloaded model cannot be used without the preprocessing it was trained with.",
            hint=SCALER_HINT,
        )
    return model, scaler, list(calls)


def _files(kernel: Any, out: str) -> dict[str, Any]:
    __tracebackhide__ = True
    files = kernel.call("listing", "listing the folder", out)
    if files is None:
        fail(
            f"`save_for_hub` did not create the folder {out!r}.",
            hint="Create it: Path(out_dir).mkdir(parents=True, exist_ok=True).",
        )
    return dict(files)


def _what(value: Any) -> str:
    if isinstance(value, RemoteRef):
        return f"a {value.type_name}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__} ({value!r:.60})"


def _text(files: dict[str, Any], name: str) -> str:
    __tracebackhide__ = True
    data = files.get(name)
    if not isinstance(data, bytes):
        fail(f"`save_for_hub` did not write {name}.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        fail(f"{name} is not UTF-8 text.", hint="Write it with path.write_text(text, encoding='utf-8').")


def _json(files: dict[str, Any], name: str) -> Any:
    __tracebackhide__ = True
    text = _text(files, name)
    try:
        return json.loads(text)
    except ValueError as err:
        fail(f"{name} is not valid JSON ({err}).", hint="Write it with json.dumps(...) of plain Python values.")


def _parse_card(text: str, where: str) -> Any:
    __tracebackhide__ = True
    from huggingface_hub import ModelCard

    if not text.lstrip().startswith("---"):
        fail(
            f"{where} does not start with YAML front matter (a block between two `---` lines).",
            hint="Start the card with '---\\n' + ModelCardData(...).to_yaml() + '\\n---\\n'.",
        )
    try:
        return ModelCard(text)
    except Exception as err:
        fail(f"huggingface_hub.ModelCard cannot parse {where}: {type(err).__name__}: {err}")


def _check_metric(card: Any, expected: dict[str, Any], where: str) -> None:
    __tracebackhide__ = True
    metric = expected["metric"]
    name, value = metric["name"], metric["value"]
    metrics = card.data.metrics or []
    if name not in list(metrics):
        fail(f"The metadata of {where} has `metrics: {metrics}`; it should list {name!r}.", hint=METRICS_HINT)
    results = card.data.eval_results or []
    found = [r for r in results if getattr(r, "metric_type", None) == name]
    if not found:
        fail(
            f"The metadata of {where} has no evaluation result for {name!r} in its `model-index` "
            f"({len(results)} result(s) found): the Hub shows no score for this model.",
            hint=METRICS_HINT,
        )
    r = found[0]
    if not isinstance(r.metric_value, int | float) or float(r.metric_value) != value:
        fail(
            f"The `model-index` of {where} gives {name} = {r.metric_value!r}, expected {value!r} (the value itself, "
            "not rounded).",
            hint="Write the metric's value itself, metric_value=float(value): not rounded, not formatted.",
        )
    if r.dataset_name != metric["dataset"] or r.dataset_split != metric["split"] or r.task_type != TASK:
        fail(
            f"The `model-index` result for {name} names the task {r.task_type!r}, the dataset {r.dataset_name!r} and "
            f"the split {r.dataset_split!r}; expected {TASK!r}, {metric['dataset']!r} and {metric['split']!r}.",
            hint="EvalResult(task_type='tabular-classification', dataset_type=..., dataset_name=..., "
            "dataset_split=...).",
        )


def _pickle_problems(files: dict[str, Any]) -> list[str]:
    problems = []
    for name, data in files.items():
        lower = name.lower()
        if lower.endswith(PICKLE_EXTENSIONS):
            problems.append(f"{name} (a pickle-based file type)")
        elif isinstance(data, bytes):
            if len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
                problems.append(f"{name} (starts with a pickle header)")
            elif data[:4] == b"PK\x03\x04" and b".pkl" in data:
                problems.append(f"{name} (a zip archive with a pickle inside, as torch.save writes)")
    return problems


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(1)
def test_scaler_state_is_plain_json(sub, kernel, rng):
    X = rng.normal(loc=rng.uniform(-30, 30, 5), scale=rng.uniform(0.1, 9, 5), size=(40, 5))
    scaler = kernel.call("fit_scaler", "StandardScaler().fit", X)
    ok, text = kernel.call("as_json", "scaler_state", sub.scaler_state, scaler)
    if not ok:
        fail(
            f"`scaler_state` returned something that json.dumps rejects ({text}).",
            hint="Convert NumPy values to Python ones: scaler.mean_.tolist(), int(scaler.n_samples_seen_), "
            "bool(scaler.with_mean).",
        )
    state = json.loads(text)
    if not isinstance(state, dict):
        fail(f"`scaler_state` should return a dict, but it returned a {type(state).__name__}.")
    missing = [
        k
        for k in ("type", "with_mean", "with_std", "mean", "scale", "var", "n_features_in", "n_samples_seen")
        if k not in state
    ]
    if missing:
        fail(f"The dict from `scaler_state` lacks the key(s) {missing}.", hint="Use exactly the keys of the docstring.")
    if state["type"] != "StandardScaler" or state["with_mean"] is not True or state["with_std"] is not True:
        fail(
            f"`scaler_state` gives type={state['type']!r}, with_mean={state['with_mean']!r}, "
            f"with_std={state['with_std']!r}; expected 'StandardScaler', True, True for StandardScaler()."
        )
    for key in ("mean", "scale", "var"):
        expected = np.asarray(getattr(scaler, f"{key}_"), dtype=np.float64)
        got = state[key]
        if not isinstance(got, list) or len(got) != len(expected):
            fail(f"`scaler_state(...)[{key!r}]` should be a list of {len(expected)} floats, got {got!r:.80}.")
        arr = np.asarray(got, dtype=np.float64)
        if not np.array_equal(arr, expected):
            i = int(np.argmax(arr != expected))
            fail(
                f"`scaler_state(...)[{key!r}][{i}]` is {arr[i]!r}, but the scaler's {key}_[{i}] is {expected[i]!r}. "
                "The state must hold the float64 values exactly.",
                hint="Do not round the values: json writes a Python float exactly (scaler.mean_.tolist()).",
            )
    if state["n_features_in"] != 5 or state["n_samples_seen"] != 40:
        fail(
            f"`scaler_state` gives n_features_in={state['n_features_in']!r} and n_samples_seen="
            f"{state['n_samples_seen']!r}; the scaler was fitted on 40 rows of 5 features."
        )


@pytest.mark.points(1)
def test_scaler_from_state_transforms_bit_for_bit(sub, kernel, rng):
    X = rng.normal(loc=rng.uniform(-30, 30, 4), scale=rng.uniform(0.1, 9, 4), size=(30, 4))
    scaler = kernel.call("fit_scaler", "StandardScaler().fit", X)
    state = {
        "type": "StandardScaler",
        "with_mean": True,
        "with_std": True,
        "mean": np.asarray(scaler.mean_, dtype=np.float64).tolist(),
        "scale": np.asarray(scaler.scale_, dtype=np.float64).tolist(),
        "var": np.asarray(scaler.var_, dtype=np.float64).tolist(),
        "n_features_in": 4,
        "n_samples_seen": 30,
    }
    rebuilt = sub.scaler_from_state(state)
    if not isinstance(rebuilt, RemoteRef) or not any(n.endswith("StandardScaler") for n in rebuilt.type_mro):
        fail(f"`scaler_from_state` should return a StandardScaler, but it returned {_what(rebuilt)}.")
    X_new = rng.normal(0, 25, size=(12, 4))
    try:
        got = np.asarray(kernel.call("transform", "scaler_from_state(state).transform", rebuilt, X_new))
    except LearnerError as err:
        if "NotFittedError" in err.exception_mro:
            fail(
                "The scaler from `scaler_from_state` is not fitted.",
                hint="Set mean_, scale_, var_, n_features_in_ and n_samples_seen_ on it.",
            )
        raise
    expected = np.asarray(kernel.call("transform", "StandardScaler.transform", scaler, X_new))
    if got.shape != expected.shape or not np.array_equal(got, expected):
        fail(
            "`scaler_from_state(state).transform(X)` differs from the original scaler's transform(X) "
            f"(largest difference {np.max(np.abs(got - expected)) if got.shape == expected.shape else 'shape'}). "
            "It must be the same bit for bit.",
            hint="Set mean_ and scale_ to float64 arrays of the stored lists, and keep with_mean/with_std.",
        )


@pytest.mark.public
@pytest.mark.points(1)
def test_model_card_metadata(sub, rng):
    card = _card(rng)
    text = sub.model_card(card)
    if not isinstance(text, str):
        fail(f"`model_card` should return the text of README.md (a str), but it returned {_what(text)}.")
    parsed = _parse_card(text, "the card")
    data = parsed.data
    if data.license != card["license"]:
        fail(f"The card's `license` is {data.license!r}, expected {card['license']!r} (card['license']).")
    if data.library_name != "pytorch":
        fail(f"The card's `library_name` is {data.library_name!r}, expected 'pytorch'.")
    tags = list(data.tags or [])
    missing = [t for t in card["tags"] if t not in tags]
    if missing:
        fail(f"The card's `tags` {tags} lack {missing} from card['tags'].")
    if list(data.datasets or []) != card["datasets"]:
        fail(f"The card's `datasets` is {data.datasets!r}, expected {card['datasets']!r}.")
    _check_metric(parsed, card, "the card")


def _sections(body: str) -> tuple[list[tuple[int, str]], dict[str, str]]:
    """The headings of a Markdown body as (level, text), and the text under each level-2 heading."""
    headings: list[tuple[int, str]] = []
    sections: dict[str, list[str]] = {}
    current: str | None = None
    fence = False
    for line in body.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
        m = None if fence else re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if m:
            level, text = len(m.group(1)), m.group(2).strip()
            headings.append((level, text))
            current = text.lower() if level == 2 else None
            if current is not None:
                sections.setdefault(current, [])
            continue
        if current is not None:
            sections[current].append(line)
    return headings, {k: " ".join(" ".join(v).split()) for k, v in sections.items()}


@pytest.mark.points(1)
def test_model_card_body(sub, rng):
    card = _card(rng)
    text = sub.model_card(card)
    if not isinstance(text, str):
        fail(f"`model_card` should return the text of README.md (a str), but it returned {_what(text)}.")
    body = _parse_card(text, "the card").text
    headings, sections = _sections(body)
    titles = [f"{'#' * level} {text}" for level, text in headings]
    if not headings or headings[0] != (1, card["model_name"]):
        fail(
            f"The card's body should start with the heading '# {card['model_name']}', but its first heading is "
            f"{titles[0] if titles else None!r}."
        )
    for title, field in SECTIONS.items():
        if title not in sections:
            fail(
                f"The card has no '## {title.capitalize()}' section (its headings: {titles}). A model card says what "
                "the model is for, what it was trained on, how it was evaluated and where it fails.",
                hint="Write the four level-2 sections of the docstring: Intended use, Training data, Evaluation, "
                "Limitations.",
            )
        wanted = " ".join(str(card[field]).split())
        if wanted not in sections[title]:
            fail(f"The '## {title.capitalize()}' section does not contain card[{field!r}] ({wanted!r}).")
    metric = card["metric"]
    shown = f"{metric['value']:.4f}"
    if metric["name"] not in sections["evaluation"] or shown not in sections["evaluation"]:
        fail(
            f"The Evaluation section should state the metric: its name {metric['name']!r} and its value with 4 "
            f"decimals ({shown}).",
            hint='Add a line such as f"- {name} on {dataset} ({split}): {value:.4f}".',
        )


@pytest.mark.public
@pytest.mark.points(1)
def test_folder_layout_and_json_files(sub, kernel, rng, device):
    s = _setup(kernel, sub, rng, device, hidden=(12, 6, 4), n_features=7, dropout=0.25)
    _save(kernel, sub, s)
    files = _files(kernel, s["out"])
    missing = [name for name in REQUIRED if name not in files]
    if missing:
        hint = SCALER_HINT if "preprocessor.json" in missing else None
        if "model.safetensors" in missing:
            hint = NO_PICKLE_HINT
        fail(
            f"The folder written by `save_for_hub` lacks {missing} (it holds {sorted(files)}). The Hub folder needs "
            f"exactly {list(REQUIRED)}.",
            hint=hint,
        )
    config = _json(files, "config.json")
    expected = {
        "model_type": "tabular-mlp",
        "architectures": ["TabularMLP"],
        "n_features": 7,
        "hidden_sizes": [12, 6, 4],
        "dropout": 0.25,
    }
    wrong = {k: config.get(k) for k in expected if not isinstance(config, dict) or config.get(k) != expected[k]}
    if wrong:
        fail(
            f"config.json has {wrong}; expected { ({k: expected[k] for k in wrong}) } for "
            "TabularMLP(7, hidden_sizes=(12, 6, 4), dropout=0.25).",
            hint="Write json.dumps(model_config(model)): the architecture must be rebuilt from config.json alone.",
        )
    state = _json(files, "preprocessor.json")
    mean = np.asarray(s["scaler"].mean_, dtype=np.float64)
    scale = np.asarray(s["scaler"].scale_, dtype=np.float64)
    if (
        not isinstance(state, dict)
        or not np.array_equal(np.asarray(state.get("mean"), dtype=np.float64), mean)
        or not np.array_equal(np.asarray(state.get("scale"), dtype=np.float64), scale)
    ):
        saved = np.asarray(state.get("mean") if isinstance(state, dict) else None, dtype=np.float64)
        close = saved.shape == mean.shape and np.allclose(saved, mean, rtol=1e-5, atol=1e-5)
        fail(
            "preprocessor.json does not hold the scaler's exact `mean` and `scale`.",
            hint=_ROUNDED_HINT if close else SCALER_HINT,
        )
    readme = _parse_card(_text(files, "README.md"), "README.md")
    _check_metric(readme, s["card"], "README.md")


@pytest.mark.points(1)
def test_safetensors_holds_the_state_dict(sub, kernel, rng, device):
    import safetensors.numpy

    s = _setup(kernel, sub, rng, device, hidden=(10, 5), n_features=8, dropout=0.2)
    _save(kernel, sub, s)
    files = _files(kernel, s["out"])
    data = files.get("model.safetensors")
    if not isinstance(data, bytes):
        fail(f"`save_for_hub` did not write model.safetensors (the folder holds {sorted(files)}).", hint=NO_PICKLE_HINT)
    try:
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + n])
        tensors = safetensors.numpy.load(data)
    except Exception as err:
        fail(
            f"model.safetensors is not a safetensors file ({type(err).__name__}: {err}).",
            hint="Write it with safetensors.torch.save_file(tensors, path, metadata={'format': 'pt'}).",
        )
    expected = kernel.call("state_dict", "model.state_dict", s["model"])
    if sorted(tensors) != sorted(expected):
        fail(
            f"model.safetensors holds the tensors {sorted(tensors)}, but model.state_dict() has {sorted(expected)}.",
            hint="Save model.state_dict() itself, under its own keys.",
        )
    for key, want in expected.items():
        got = tensors[key]
        if got.dtype != want.dtype or got.shape != want.shape or not np.array_equal(got, want):
            fail(
                f"The tensor {key!r} in model.safetensors differs from the model's (dtype, shape or values).",
                hint="Save the tensors as they are: no dtype conversion, no rounding.",
            )
    meta = header.get("__metadata__") or {}
    if meta.get("format") != "pt":
        fail(
            f"model.safetensors has the metadata {meta}; the Hub and transformers expect {{'format': 'pt'}}.",
            hint="save_file(tensors, path, metadata={'format': 'pt'}).",
        )


@pytest.mark.points(1)
def test_reload_predicts_bit_for_bit(sub, kernel, rng, device):
    for hidden, n_features, dropout in [((16, 8), 6, 0.5), ((24,), 9, 0.3)]:
        _check_round_trip(sub, kernel, rng, device, hidden, n_features, dropout)


def _check_round_trip(
    sub: Any,
    kernel: Any,
    rng: np.random.Generator,
    device: str,
    hidden: tuple[int, ...],
    n_features: int,
    dropout: float,
) -> None:
    __tracebackhide__ = True
    s = _setup(kernel, sub, rng, device, hidden=hidden, n_features=n_features, dropout=dropout)
    before = np.asarray(kernel.call("predict", "model", s["model"], s["scaler"], s["X"], device))
    _save(kernel, sub, s)
    model, scaler, _ = _load(kernel, sub, s, device)
    try:
        after = np.asarray(kernel.call("predict", "model", model, scaler, s["X"], device))
    except LearnerError as err:
        if "NotFittedError" in err.exception_mro:
            fail("The preprocessor returned by `load_from_hub_dir` is not fitted.", hint=SCALER_HINT)
        raise
    if after.shape == before.shape and np.array_equal(after, before):
        return
    training, _ = kernel.call("modes", "model.named_modules", model)
    if training:
        fail(
            "After reloading, the predictions differ from those before saving, and the loaded model is in training "
            "mode: dropout zeroes random activations, so every call gives different outputs.",
            hint=EVAL_HINT,
        )
    got_mean = np.asarray(scaler.mean_, dtype=np.float64) if scaler.mean_ is not None else None
    if (
        got_mean is None
        or not np.array_equal(got_mean, np.asarray(s["scaler"].mean_))
        or not np.array_equal(np.asarray(scaler.scale_, dtype=np.float64), np.asarray(s["scaler"].scale_))
    ):
        rounded = (
            got_mean is not None
            and got_mean.shape == np.asarray(s["scaler"].mean_).shape
            and np.allclose(got_mean, np.asarray(s["scaler"].mean_), rtol=1e-5, atol=1e-5)
        )
        fail(
            "After reloading, the predictions differ: the loaded scaler's mean_/scale_ are not those of the saved "
            "scaler, so the model sees differently scaled inputs.",
            hint=_ROUNDED_HINT if rounded else SCALER_HINT,
        )
    diff = np.max(np.abs(after - before)) if after.shape == before.shape else None
    fail(
        f"After reloading, the predictions differ from those before saving (largest difference {diff}). They "
        "must be equal bit for bit.",
        hint="Rebuild TabularMLP from config.json, load model.safetensors with load_state_dict(strict=True), "
        "keep float32, and do not round the scaler's state.",
    )


@pytest.mark.points(1)
def test_loaded_model_is_in_eval_mode(sub, kernel, rng, device):
    s = _setup(kernel, sub, rng, device)
    _save(kernel, sub, s)
    model, _, _ = _load(kernel, sub, s, device, check_scaler=False)
    training, devices = kernel.call("modes", "model.named_modules", model)
    if training:
        fail(
            f"The model returned by `load_from_hub_dir` is in training mode (modules in training mode: "
            f"{list(training)[:4]}). Its dropout layers make predictions random.",
            hint=EVAL_HINT,
        )
    if any(d.split(":")[0] != device.split(":")[0] for d in devices):
        fail(
            f"The loaded model's parameters are on {devices}, expected {device!r}.",
            hint="Move it with model.to(device).",
        )


@pytest.mark.points(1)
def test_no_pickle_anywhere(sub, kernel, rng, device):
    s = _setup(kernel, sub, rng, device)
    calls = _save(kernel, sub, s)
    _, load_calls = kernel.call("guarded", "load_from_hub_dir", sub.load_from_hub_dir, s["out"], device=device)
    files = _files(kernel, s["out"])
    load_calls = list(load_calls)
    if calls or load_calls:
        fail(
            f"Pickle was used: `save_for_hub` called {calls or 'nothing pickle-based'} and `load_from_hub_dir` "
            f"called {load_calls or 'nothing pickle-based'}. A pickle can run any code when it is loaded, so the "
            "Hub flags pickled files as unsafe.",
            hint=NO_PICKLE_HINT,
        )
    problems = _pickle_problems(files)
    if problems:
        fail(f"The folder holds pickle-based files: {problems}.", hint=NO_PICKLE_HINT)
    odd = [n for n, d in files.items() if not isinstance(d, bytes)]
    if odd:
        fail(f"The folder holds files the grader cannot check: {odd} (symbolic links or files over 16 MB).")


@pytest.mark.points(1)
def test_save_leaves_the_model_and_the_scaler_as_they_were(sub, kernel, rng, device):
    s = _setup(kernel, sub, rng, device, hidden=(8, 4), n_features=5, dropout=0.2)
    s["model"].train()
    weights = kernel.call("state_dict", "model.state_dict", s["model"])
    mean, scale = np.asarray(s["scaler"].mean_), np.asarray(s["scaler"].scale_)
    _save(kernel, sub, s)
    training, _ = kernel.call("modes", "model.named_modules", s["model"])
    if "(the model itself)" not in training:
        fail(
            "A model handed to `save_for_hub` in training mode came back in evaluation mode.",
            hint="save_for_hub leaves the model as it is: it only reads model.state_dict(); do not call "
            "model.eval() or model.train() in it.",
        )
    after = kernel.call("state_dict", "model.state_dict", s["model"])
    changed = [k for k in weights if k not in after or not np.array_equal(after[k], weights[k])]
    if changed:
        fail(
            f"`save_for_hub` changed the model's `{changed[0]}`.", hint="Save a copy of the weights; never change them."
        )
    if not (np.array_equal(s["scaler"].mean_, mean) and np.array_equal(s["scaler"].scale_, scale)):
        fail("`save_for_hub` changed the fitted scaler.", hint="Read the scaler's state; never refit or change it.")
