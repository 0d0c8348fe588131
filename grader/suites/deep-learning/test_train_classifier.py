"""Hidden suite for deep-learning/train_classifier (notebook).

The learner's notebook defines ``model`` (a trained ``torch.nn.Module`` in eval mode, taking
``(n, 64)`` float32 pixels divided by 16 and returning ``(n, 10)`` logits), ``history`` (the
training-split cross-entropy before training and after every epoch) and ``test_accuracy``.
The suite reloads the digits in the grader's process and recomputes the split the notebook pins,
so the held-out images it feeds to ``model`` are exactly the ones the model was never trained on.
The logits are computed in the learner's kernel, on the grader's ``device`` (a copy of the model
is moved there if it lives elsewhere); the grader turns them into accuracies and losses itself.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from grader.engine.remote import RemoteRef
from grader.helpers import fail

MODULE = "torch.nn.modules.module.Module"
MIN_ACCURACY = 0.97
LN10 = math.log(10)
INITIAL_TOLERANCE = 0.25

# Runs in the learner's kernel: the model's logits for X (float32 pixels / 16) on `device`, as a
# float64 array, without gradients. With as_left, the model is used in the mode the learner left it
# (copied to `device` only if its parameters live elsewhere); otherwise a copy in eval mode is used,
# so the learner's model itself never changes mode.
_LOGITS = """
lambda model, X, device, as_left: (lambda torch, copy: (lambda p: (lambda m: torch.no_grad()(
    lambda: (lambda out: out.detach().to('cpu', torch.float64).numpy() if isinstance(out, torch.Tensor) else out)(
        m(torch.as_tensor(X, dtype=torch.float32, device=device))
    )
)())(
    model if as_left and (p is None or p.device.type == torch.device(device).type)
    else copy.deepcopy(model).to(device).train(as_left and model.training)
))(next(iter(model.parameters()), None)))(__import__('torch'), __import__('copy'))
""".strip()

# Runs in the learner's kernel: the names of the submodules still in training mode.
_TRAINING_MODULES = "lambda model: [name or '(the model itself)' for name, m in model.named_modules() if m.training]"

MODULE_HINT = (
    "Build model as an nn.Module, e.g. nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 16, 3, padding=1), "
    "...), whose forward maps a float32 tensor of shape (n, 64) to logits of shape (n, 10)."
)
SCALE_HINT = (
    "The grader feeds the pixels divided by 16 (values in [0, 1]), exactly as X_train_t and X_test_t in the "
    "given data cell: train on those tensors, not on the raw 0..16 grey levels."
)


@functools.cache
def _data() -> dict[str, np.ndarray]:
    """The data and the exact split pinned in the notebook's given cell, as the model sees them."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    return {
        "X_train": (X_train / 16.0).astype(np.float32),
        "X_test": (X_test / 16.0).astype(np.float32),
        "y_train": y_train,
        "y_test": y_test,
    }


def _describe(value: Any) -> str:
    if isinstance(value, RemoteRef):
        return f"a {value.type_name}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__}"


def _model(sub: Any) -> RemoteRef:
    __tracebackhide__ = True
    model = sub.model
    if not isinstance(model, RemoteRef) or MODULE not in model.type_mro:
        fail(f"`model` should be a torch.nn.Module, but it is {_describe(model)}.", hint=MODULE_HINT)
    return model


def _logits(sub: Any, X: np.ndarray, device: str, as_left: bool = False) -> np.ndarray:
    """The learner's logits for X (in eval mode, or in the mode the model was left), checked for shape."""
    __tracebackhide__ = True
    model = _model(sub)
    out = sub.eval(_LOGITS)(model, X, device, as_left)
    if not isinstance(out, np.ndarray):
        fail(
            f"`model(X)` should return a tensor of logits, but it returned {_describe(out)}.",
            hint="Return the raw scores of the last nn.Linear layer, one row of 10 per image.",
        )
    if out.shape != (len(X), 10):
        fail(
            f"`model(X)` on {len(X)} images of 64 pixels returned shape {out.shape}, expected ({len(X)}, 10).",
            hint="The input is flat, (n, 64): reshape it inside the model (nn.Unflatten(1, (1, 8, 8))) if your "
            "layers need images, and end with a layer of 10 outputs, one per digit.",
        )
    if not np.isfinite(out).all():
        fail("`model(X)` returned NaN or inf logits.", hint="Did training diverge? Lower the learning rate.")
    return out


def _cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean())


def _history(sub: Any) -> list[float]:
    __tracebackhide__ = True
    value = sub.history
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = value.tolist()
    if not isinstance(value, list | tuple) or any(
        isinstance(v, bool) or not isinstance(v, int | float | np.floating) for v in value
    ):
        fail(
            f"`history` should be a list of Python floats, but it is {_describe(value)}"
            f"{' holding other things' if isinstance(value, list | tuple) else ''}.",
            hint="Append float(loss) values (mean_loss returns a float), not tensors: history.append(mean_loss(...)).",
        )
    hist = [float(v) for v in value]
    if len(hist) < 2:
        fail(
            f"`history` has {len(hist)} entries; it needs the loss before training and one per epoch after it.",
            hint="Start with history = [mean_loss(model, X_train_t, y_train_t)], then append after every epoch.",
        )
    if not all(math.isfinite(v) for v in hist):
        fail(f"`history` contains NaN or inf: {hist}.", hint="Did training diverge? Lower the learning rate.")
    return hist


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(1)
def test_model_maps_pixels_to_ten_logits(sub: Any, device: str) -> None:
    _logits(sub, _data()["X_test"][:5], device)


@pytest.mark.points(1)
def test_model_is_left_in_eval_mode(sub: Any) -> None:
    model = _model(sub)
    training = sub.eval(_TRAINING_MODULES)(model)
    if model.training or training:
        names = ", ".join(str(n) for n in list(training)[:4])
        fail(
            f"`model` is still in training mode (model.training is {model.training}; in training mode: {names}). "
            "Dropout then drops units at random and batch norm uses batch statistics, so its predictions change "
            "from call to call.",
            hint="Call model.eval() after training and before you evaluate, and leave the model in eval mode.",
        )


@pytest.mark.points(3)
def test_model_scores_at_least_097_on_held_out_digits(sub: Any, device: str) -> None:
    data = _data()
    pred = _logits(sub, data["X_test"], device, as_left=True).argmax(axis=1)  # scored as the learner left it
    accuracy = float(np.mean(pred == data["y_test"]))
    if accuracy >= MIN_ACCURACY:
        return
    logits = _logits(sub, data["X_test"][:50], device)
    if np.all(logits >= 0) and np.allclose(logits.sum(axis=1), 1.0, atol=1e-4):
        fail(
            f"On the 360 held-out test images, `model` is right on only {accuracy:.4f} of them, and it returns "
            "probabilities (its rows sum to 1): cross_entropy applied a second softmax during training.",
            hint="Return the logits, the raw scores of the last nn.Linear layer: no softmax at the end of the "
            "model (nn.CrossEntropyLoss and F.cross_entropy apply it).",
        )
    raw = _logits(sub, data["X_test"] * 16.0, device, as_left=True).argmax(axis=1)
    hint = (
        "Train longer or with a better model: a small CNN (two 3x3 convolutions) with Adam(W) reaches about 0.985 "
        "in 15 epochs; a linear model only about 0.965. Also check that the model is in eval mode."
    )
    if float(np.mean(raw == data["y_test"])) >= max(MIN_ACCURACY, accuracy + 0.02):
        hint = "Your model does much better on the raw grey levels 0..16. " + SCALE_HINT
    fail(
        f"On the 360 held-out test images, `model` is right on only {accuracy:.4f} of them; at least "
        f"{MIN_ACCURACY} is needed.",
        hint=hint,
    )


@pytest.mark.public
@pytest.mark.points(2)
def test_history_starts_near_ln10(sub: Any) -> None:
    hist = _history(sub)
    n_epochs = sub.n_epochs
    if isinstance(n_epochs, bool) or not isinstance(n_epochs, int | np.integer) or n_epochs < 1:
        fail(
            f"`n_epochs` should be a positive int, the number of epochs you trained for, but it is {n_epochs!r}.",
            hint="Set n_epochs = 15 (say) and loop for epoch in range(n_epochs).",
        )
    if len(hist) == n_epochs:
        fail(
            f"`history` has {len(hist)} entries for n_epochs = {n_epochs}: the loss before training is missing.",
            hint="Record history[0] before training: history = [mean_loss(model, X_train_t, y_train_t)] before the "
            "first optimizer step, then append once after every epoch.",
        )
    if len(hist) != n_epochs + 1:
        fail(
            f"`history` has {len(hist)} entries, expected n_epochs + 1 = {n_epochs + 1}: the loss before training, "
            "then one after every epoch.",
            hint="Append to history once per epoch, after the epoch's last batch, not once per batch.",
        )
    first = hist[0]
    if abs(first - LN10) <= INITIAL_TOLERANCE:
        return
    if first < LN10 - INITIAL_TOLERANCE:
        fail(
            f"history[0] is {first:.4f}, but the loss of an untrained 10-class model is about ln(10) = {LN10:.4f}. "
            "It looks like a loss after some training.",
            hint="Record history[0] before training: history = [mean_loss(model, X_train_t, y_train_t)] before "
            "the first optimizer step, then append once after every epoch.",
        )
    fail(
        f"history[0], the initial loss before training, is {first:.4f}; an untrained 10-class classifier should "
        f"start near ln(10) = {LN10:.4f} (within {INITIAL_TOLERANCE}). Such a high initial loss means confident, "
        "wrong predictions from the start.",
        hint="Check your initialisation: keep PyTorch's default init (or small weights) so that the initial "
        "logits are close to 0 and the softmax close to uniform; do not scale up the last layer.",
    )


@pytest.mark.public
@pytest.mark.points(2)
def test_history_is_the_training_loss_per_epoch(sub: Any, device: str) -> None:
    data = _data()
    hist = _history(sub)
    if not hist[-1] < 0.5 * hist[0]:
        logits = _logits(sub, data["X_train"][:50], device)
        if np.all(logits >= 0) and np.allclose(logits.sum(axis=1), 1.0, atol=1e-4):
            fail(
                f"The training loss went from {hist[0]:.4f} to {hist[-1]:.4f}: it cannot halve, because your "
                "model returns probabilities (its rows sum to 1), and cross_entropy applies a softmax again.",
                hint="Return the logits, the raw scores of the last nn.Linear layer: no softmax at the end of the "
                "model (nn.CrossEntropyLoss and F.cross_entropy apply it).",
            )
        fail(
            f"The training loss went from {hist[0]:.4f} to {hist[-1]:.4f}: it should at least halve.",
            hint="Train longer (the reference: 15 epochs), and check the training loop: optimizer.zero_grad(), "
            "loss.backward() and optimizer.step() for every batch, and a learning rate around 1e-3 to 1e-2.",
        )
    expected = _cross_entropy(_logits(sub, data["X_train"], device), data["y_train"])
    # float32 logits summed in another order: a few 1e-6 apart. The loss on the test split, or in training
    # mode, or before the last epoch is off by far more than this.
    if abs(hist[-1] - expected) <= 2e-4:
        return
    hint = (
        "Each history entry is mean_loss(model, X_train_t, y_train_t) on the whole training split, in eval mode, "
        "after the epoch, not the average of the batch losses seen during the epoch (those come from a changing "
        "model, with dropout and augmentation on)."
    )
    on_raw = _cross_entropy(_logits(sub, data["X_train"] * 16.0, device), data["y_train"])
    if abs(hist[-1] - on_raw) <= 2e-3:
        hint = "Your history matches the loss on the raw grey levels 0..16. " + SCALE_HINT
    fail(
        f"history[-1] is {hist[-1]:.4f}, but the mean cross-entropy of your final `model` on the whole training "
        f"split (in eval mode, pixels / 16) is {expected:.4f}.",
        hint=hint,
    )


@pytest.mark.public
@pytest.mark.points(1)
def test_test_accuracy_is_the_accuracy_on_the_test_split(sub: Any, device: str) -> None:
    data = _data()
    value = sub.test_accuracy
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bool | np.bool_) or not isinstance(value, float | np.floating):
        fail(
            f"`test_accuracy` should be a Python float, but it is {_describe(value)}.",
            hint="Convert the tensor: test_accuracy = float((predictions == y_test_t).float().mean()).",
        )
    value = float(value)
    if not 0.0 <= value <= 1.0:
        fail(
            f"`test_accuracy` is {value}, but an accuracy lies in [0, 1].",
            hint="Give a fraction, not a percentage: the mean of (predictions == y_test_t).",
        )
    n = len(data["y_test"])
    measured = float(np.mean(_logits(sub, data["X_test"], device).argmax(axis=1) == data["y_test"]))
    if abs(value - measured) <= 1.01 / n:  # one image of slack for a model scored on another device
        return
    hint = "Compute it at the end, from the trained model in eval mode (model.eval()), on X_test_t and y_test_t."
    on_raw = float(np.mean(_logits(sub, data["X_test"] * 16.0, device).argmax(axis=1) == data["y_test"]))
    if abs(value - on_raw) <= 1.01 / n and abs(on_raw - measured) > 1.01 / n:
        hint = "Your test_accuracy matches the accuracy on the raw grey levels 0..16. " + SCALE_HINT
    fail(
        f"`test_accuracy` is {value:.4f}, but your final `model`, in eval mode, scores {measured:.4f} on the test "
        "split.",
        hint=hint,
    )
