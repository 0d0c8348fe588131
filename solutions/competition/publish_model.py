"""Package a trained model the way the Hugging Face Hub expects it, with no pickle anywhere.

A model repository on the Hub is a folder (a git repository) of files. Anyone can download it
and rebuild the model, so two things matter: that the rebuilt model predicts *exactly* what the
original predicted, and that loading it cannot run code hidden in the files. A
``pytorch_model.bin`` or a ``scaler.pkl`` is a pickle, and unpickling a file can execute arbitrary
code: never load one from a stranger, and never publish one. This exercise writes only data
formats that cannot carry code: safetensors for the weights, JSON for the configuration and the
preprocessing state, Markdown with YAML front matter for the model card.

``save_for_hub(model, preprocessor, out_dir, card)`` writes this folder::

    out_dir/
        model.safetensors   # the weights: model.state_dict(), written with safetensors
        config.json         # how to rebuild the architecture (see model_config)
        preprocessor.json   # the fitted StandardScaler's state (see scaler_state)
        README.md           # the model card: YAML front matter + a body (see model_card)

and ``load_from_hub_dir(out_dir)`` rebuilds ``(model, preprocessor)`` from it, in evaluation mode.
The model is a small :class:`TabularMLP` (given) behind a fitted scikit-learn ``StandardScaler``,
for example::

    X, y = sklearn.datasets.load_breast_cancer(return_X_y=True)   # ships with scikit-learn
    scaler = StandardScaler().fit(X)
    model = TabularMLP(X.shape[1])
    ...                                   # train it on scaler.transform(X) with BCEWithLogitsLoss
    model.eval()
    save_for_hub(model, scaler, "cancer-mlp", card)   # card: see model_card
    model2, scaler2 = load_from_hub_dir("cancer-mlp")  # predicts exactly what model did

(The grader builds its own small models with random weights; no training is needed to pass.)

Publishing the folder (the grader never touches the network; this is how you would do it)::

    hf auth login                                  # once: stores a token with write access
    hf upload your-name/churn-mlp ./churn-mlp .    # creates the repo if needed, uploads the folder

or from Python::

    from huggingface_hub import HfApi

    api = HfApi()                                  # uses the stored token, or HF_TOKEN
    api.create_repo("your-name/churn-mlp", repo_type="model", exist_ok=True)
    api.upload_folder(folder_path="churn-mlp", repo_id="your-name/churn-mlp",
                      commit_message="Churn MLP, ROC AUC 0.86 on the public test half")

The Hub renders README.md as the model page and reads its front matter (licence, tags, data
sets, the evaluation results of ``model-index``) into the search filters and the "evaluation
results" widget. Someone else rebuilds the model with::

    from huggingface_hub import snapshot_download

    folder = snapshot_download("your-name/churn-mlp")      # downloads (and caches) the folder
    model, preprocessor = load_from_hub_dir(folder)

Everything here runs offline: ``save_for_hub`` and ``load_from_hub_dir`` only read and write
the local folder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from sklearn.preprocessing import StandardScaler
from torch import nn

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
PREPROCESSOR_FILE = "preprocessor.json"
CARD_FILE = "README.md"
MODEL_TYPE = "tabular-mlp"
LIBRARY_NAME = "pytorch"
TASK = "tabular-classification"
SECTIONS = ("Intended use", "Training data", "Evaluation", "Limitations")
CARD_FIELDS = ("intended_use", "training_data", "evaluation", "limitations")


class TabularMLP(nn.Module):
    """A multi-layer perceptron that scores rows of a table for binary classification (given).

    Layers, in ``self.net`` (an ``nn.Sequential``): for each width ``h`` in ``hidden_sizes``,
    ``Linear(previous, h) -> ReLU -> Dropout(dropout)``; then ``Linear(previous, 1)``. With the
    default ``hidden_sizes=(32, 16)`` the ``state_dict`` keys are ``net.0.weight``, ``net.0.bias``,
    ``net.3.weight``, ``net.3.bias``, ``net.6.weight`` and ``net.6.bias``.

    ``forward(x)`` takes a float32 tensor of shape ``(n, n_features)`` (already standardised) and
    returns the logits, shape ``(n,)``; ``torch.sigmoid`` of them is the probability of class 1.
    Dropout zeroes random activations in training mode, so the output is only deterministic
    after ``model.eval()``.

    The constructor arguments are kept as attributes (``n_features``, ``hidden_sizes`` as a list
    of ints, ``dropout``): they are all that ``config.json`` needs to rebuild the architecture.
    """

    def __init__(self, n_features: int, hidden_sizes: Sequence[int] = (32, 16), dropout: float = 0.1) -> None:
        super().__init__()
        self.n_features = int(n_features)
        self.hidden_sizes = [int(h) for h in hidden_sizes]
        self.dropout = float(dropout)
        layers: list[nn.Module] = []
        width = self.n_features
        for h in self.hidden_sizes:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(self.dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def scaler_state(scaler: StandardScaler) -> dict[str, Any]:
    """The state of a fitted ``StandardScaler`` as plain JSON-ready Python values.

    Returns exactly this dict (only built-in types: ``str``, ``bool``, ``int``, ``float`` and
    lists of ``float``; no NumPy scalars or arrays, which ``json.dumps`` rejects)::

        {
            "type": "StandardScaler",
            "with_mean": scaler.with_mean,            # bool
            "with_std": scaler.with_std,              # bool
            "mean": scaler.mean_.tolist(),            # list of float, length n_features
            "scale": scaler.scale_.tolist(),          # list of float
            "var": scaler.var_.tolist(),              # list of float
            "n_features_in": int(scaler.n_features_in_),
            "n_samples_seen": int(scaler.n_samples_seen_),
        }

    The floats are the scaler's float64 values themselves, never rounded: ``json`` writes a
    Python float with ``repr``, which reads back to the very same float64, so the state survives
    a JSON round trip bit for bit. (The grader always passes a scaler fitted with the defaults,
    ``StandardScaler().fit(X)`` on a dense float64 array without NaN.)
    """
    # BEGIN SOLUTION
    return {
        "type": "StandardScaler",
        "with_mean": bool(scaler.with_mean),
        "with_std": bool(scaler.with_std),
        "mean": [float(v) for v in scaler.mean_],
        "scale": [float(v) for v in scaler.scale_],
        "var": [float(v) for v in scaler.var_],
        "n_features_in": int(scaler.n_features_in_),
        "n_samples_seen": int(scaler.n_samples_seen_),
    }
    # END SOLUTION


def scaler_from_state(state: dict[str, Any]) -> StandardScaler:
    """Rebuild a fitted ``StandardScaler`` from the dict that :func:`scaler_state` returns.

    The result is ``StandardScaler(with_mean=..., with_std=...)`` whose fitted attributes are set
    directly, without calling ``fit``: ``mean_``, ``scale_`` and ``var_`` as float64 arrays,
    ``n_features_in_`` and ``n_samples_seen_`` as ints. Its ``transform`` then gives exactly
    (bit for bit) what the original scaler's ``transform`` gives.
    """
    # BEGIN SOLUTION
    scaler = StandardScaler(with_mean=bool(state["with_mean"]), with_std=bool(state["with_std"]))
    scaler.mean_ = np.asarray(state["mean"], dtype=np.float64)
    scaler.scale_ = np.asarray(state["scale"], dtype=np.float64)
    scaler.var_ = np.asarray(state["var"], dtype=np.float64)
    scaler.n_features_in_ = int(state["n_features_in"])
    scaler.n_samples_seen_ = int(state["n_samples_seen"])
    return scaler
    # END SOLUTION


def model_config(model: TabularMLP) -> dict[str, Any]:
    """What ``config.json`` holds: everything needed to rebuild ``model``'s architecture.

    Returns exactly::

        {
            "model_type": "tabular-mlp",
            "architectures": ["TabularMLP"],
            "n_features": model.n_features,           # int
            "hidden_sizes": model.hidden_sizes,       # list of int
            "dropout": model.dropout,                 # float
        }

    ``TabularMLP(config["n_features"], config["hidden_sizes"], config["dropout"])`` then has the
    same layers, and the same ``state_dict`` keys and shapes, as ``model``.
    """
    # BEGIN SOLUTION
    return {
        "model_type": MODEL_TYPE,
        "architectures": [type(model).__name__],
        "n_features": int(model.n_features),
        "hidden_sizes": [int(h) for h in model.hidden_sizes],
        "dropout": float(model.dropout),
    }
    # END SOLUTION


def model_card(card: dict[str, Any]) -> str:
    """The text of ``README.md``: YAML front matter between ``---`` lines, then a Markdown body.

    ``card`` is a dict with these keys (all given by the caller)::

        {
            "model_name": "churn-mlp",
            "license": "mit",
            "tags": ["tabular-classification", "churn"],
            "datasets": ["mle-course/churn"],
            "metric": {"name": "roc_auc", "value": 0.8630, "dataset": "mle-course/churn", "split": "test"},
            "intended_use": "...", "training_data": "...", "evaluation": "...", "limitations": "...",
        }

    The front matter must parse with ``huggingface_hub.ModelCard`` and hold:

    - ``license``: ``card["license"]``;
    - ``library_name``: ``"pytorch"``;
    - ``tags``: every tag of ``card["tags"]`` (you may add more);
    - ``datasets``: ``card["datasets"]``;
    - ``metrics``: a list holding the metric's name, ``[card["metric"]["name"]]``;
    - ``model-index``: the evaluated metric, as the Hub reads evaluation results: one entry named
      ``card["model_name"]`` whose ``results`` hold a result with ``task: {type:
      tabular-classification}``, ``dataset: {name: <metric dataset>, type: <metric dataset>,
      split: <metric split>}`` and ``metrics: [{type: <metric name>, value: <metric value>}]``,
      the value being the float itself, not rounded. (``ModelCardData(..., model_name=...,
      eval_results=[EvalResult(...)])`` and its ``to_yaml()`` write exactly this.)

    The body starts with ``# <model_name>``, then has these four sections, each a level-2
    heading followed by the caller's text for it:

    - ``## Intended use``: ``card["intended_use"]``;
    - ``## Training data``: ``card["training_data"]``;
    - ``## Evaluation``: ``card["evaluation"]``, then a line with the metric, e.g.
      ``- roc_auc on mle-course/churn (test): 0.8630``: its name and its value with 4 decimals
      (``f"{value:.4f}"``);
    - ``## Limitations``: ``card["limitations"]``.

    Nothing else is required; you may add more sections (how to load the model, for example).
    """
    # BEGIN SOLUTION
    from huggingface_hub import EvalResult, ModelCardData

    metric = card["metric"]
    data = ModelCardData(
        license=card["license"],
        library_name=LIBRARY_NAME,
        tags=list(card["tags"]),
        datasets=list(card["datasets"]),
        metrics=[metric["name"]],
        pipeline_tag=TASK,
        model_name=card["model_name"],
        eval_results=[
            EvalResult(
                task_type=TASK,
                dataset_type=metric["dataset"],
                dataset_name=metric["dataset"],
                dataset_split=metric["split"],
                metric_type=metric["name"],
                metric_value=float(metric["value"]),
            )
        ],
    )
    body = [f"# {card['model_name']}", ""]
    for title, field in zip(SECTIONS, CARD_FIELDS, strict=True):
        body += [f"## {title}", "", str(card[field]).strip(), ""]
        if field == "evaluation":
            body += [f"- {metric['name']} on {metric['dataset']} ({metric['split']}): {float(metric['value']):.4f}", ""]
    body += [
        "## How to load",
        "",
        "```python",
        "from huggingface_hub import snapshot_download",
        "from publish_model import load_from_hub_dir",
        "",
        'model, preprocessor = load_from_hub_dir(snapshot_download("<user>/<repo>"))',
        "```",
        "",
    ]
    return f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(body)
    # END SOLUTION


def save_for_hub(model: TabularMLP, preprocessor: StandardScaler, out_dir: str | Path, card: dict[str, Any]) -> None:
    """Write the Hub folder for ``model`` and its fitted ``preprocessor`` into ``out_dir``.

    ``out_dir`` (a ``str`` or a ``Path``) may not exist yet: create it, parents included; files
    already there are overwritten. Write exactly these four files, in UTF-8:

    - ``model.safetensors``: ``model.state_dict()`` under its own keys (``net.0.weight``, ...),
      written with ``safetensors.torch.save_file`` and ``metadata={"format": "pt"}`` (the Hub
      and ``transformers`` read that tag). safetensors wants contiguous tensors; the weights of
      a ``TabularMLP`` are. The tensors keep their dtype and values exactly.
    - ``config.json``: ``json.dumps(model_config(model))``;
    - ``preprocessor.json``: ``json.dumps(scaler_state(preprocessor))``;
    - ``README.md``: ``model_card(card)``.

    Never pickle: no ``torch.save``, ``pickle``, ``joblib``, ``.bin``/``.pt``/``.pkl`` files.
    ``model`` and ``preprocessor`` are not modified (the model's mode is left as it is).
    """
    # BEGIN SOLUTION
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(out / MODEL_FILE), metadata={"format": "pt"})
    (out / CONFIG_FILE).write_text(json.dumps(model_config(model), indent=2) + "\n", encoding="utf-8")
    (out / PREPROCESSOR_FILE).write_text(json.dumps(scaler_state(preprocessor), indent=2) + "\n", encoding="utf-8")
    (out / CARD_FILE).write_text(model_card(card), encoding="utf-8")
    # END SOLUTION


def load_from_hub_dir(out_dir: str | Path, device: str | torch.device = "cpu") -> tuple[TabularMLP, StandardScaler]:
    """Rebuild ``(model, preprocessor)`` from a folder written by :func:`save_for_hub`.

    - ``model``: a ``TabularMLP`` built from ``config.json`` (never from hard-coded sizes), its
      weights loaded from ``model.safetensors`` with ``safetensors.torch.load_file`` and
      ``load_state_dict(..., strict=True)``, moved to ``device``, and put in **evaluation mode**
      (``model.eval()``: dropout off), so that it predicts deterministically.
    - ``preprocessor``: ``scaler_from_state`` of ``preprocessor.json``.

    Then ``torch.sigmoid(model(torch.as_tensor(preprocessor.transform(X), dtype=torch.float32,
    device=device)))`` equals, bit for bit, the same expression computed with the original model
    (in eval mode, on the same device) and the original scaler. Only JSON and safetensors are
    read: no pickle, no ``torch.load``.
    """
    # BEGIN SOLUTION
    folder = Path(out_dir)
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    model = TabularMLP(config["n_features"], config["hidden_sizes"], config["dropout"])
    model.load_state_dict(load_file(str(folder / MODEL_FILE)), strict=True)
    model.to(device)
    model.eval()
    preprocessor = scaler_from_state(json.loads((folder / PREPROCESSOR_FILE).read_text(encoding="utf-8")))
    return model, preprocessor
    # END SOLUTION
