"""Hidden suite for llm/train_tiny_lm (notebook): a character-level GPT trained on Macbeth.

The notebook defines ``chars`` (the vocabulary, ``sorted(set(text))``), ``model`` (the learner's
trained ``GPT``), ``initial_loss`` and ``val_loss``. The suite reads the corpus itself, rebuilds
the split that the notebook pins (the last 10 % of the characters are held out), and scores the
learner's model on the held-out text through a remote reference: only logits come back, and the
cross-entropy is computed here. Before trusting that score it checks that the model is causal,
since a model that sees the next character would score a low loss by cheating.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.engine.remote import RemoteRef
from grader.helpers import DATASETS, fail

CORPUS = DATASETS / "shakespeare" / "macbeth.txt"
VAL_LOSS_TARGET = 2.2  # nats per character; the notebook states the same number
INITIAL_LOSS_TOLERANCE = 0.1
REPORTED_TOLERANCE = 0.01  # the notebook pins the windows: only float rounding may differ

# The logits of model(idx) in eval mode without gradients, the model and idx on the device.
_LOGITS = """
lambda m, idx, dev: __import__('torch').no_grad()(lambda: m.to(dev).eval()(idx.to(dev))[0])()
""".strip()

_TRAIN_HINT = (
    "Common causes: too few steps or too small a learning rate (train longer: the reference takes 1000 AdamW steps "
    "at lr=3e-3 with batch_size=16 and block_size=32), gradients never reset (call optimizer.zero_grad() every "
    "step), or y not being x shifted by one position."
)


@functools.cache
def _corpus() -> dict[str, Any]:
    text = CORPUS.read_text(encoding="utf-8")
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    split = int(0.9 * len(text))
    val = torch.tensor([stoi[c] for c in text[split:]], dtype=torch.int64)
    return {"text": text, "chars": chars, "val": val}


def _model(sub: Any) -> tuple[RemoteRef, int]:
    """The learner's model and its block_size, checked against the vocabulary."""
    __tracebackhide__ = True
    model = sub.model
    if not isinstance(model, RemoteRef) or "torch.nn.modules.module.Module" not in model.type_mro:
        fail(
            f"`model` should be your trained GPT (an nn.Module), but it is a {type(model).__name__}.",
            hint="model = GPT(config).to(device), then train it.",
        )
    config = model.config
    vocab_size, block_size = int(config.vocab_size), int(config.block_size)
    n_chars = len(_corpus()["chars"])
    if vocab_size != n_chars:
        fail(
            f"`model.config.vocab_size` is {vocab_size}, but the text has {n_chars} distinct characters.",
            hint="Build the config with vocab_size=len(chars), chars = sorted(set(text)).",
        )
    return model, block_size


def _check_vocabulary(sub: Any) -> None:
    """The suite encodes the held-out text with sorted(set(text)): the learner's model must use the same ids."""
    __tracebackhide__ = True
    chars = sub.chars
    if isinstance(chars, str):
        chars = list(chars)
    if not isinstance(chars, list | tuple) or list(chars) != _corpus()["chars"]:
        fail(
            "`chars` is not sorted(set(text)), so the grader cannot feed your model the ids it was trained on.",
            hint="chars = sorted(set(text)), from the whole text; token id i is chars[i].",
        )


def _logits(sub: Any, model: RemoteRef, idx: torch.Tensor, device: str) -> torch.Tensor:
    __tracebackhide__ = True
    logits = sub.eval(_LOGITS)(model, idx, device)
    V = len(_corpus()["chars"])
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (*idx.shape, V):
        got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        fail(
            f"`model(idx)[0]` for idx of shape {tuple(idx.shape)} gave {got}, expected logits of shape "
            f"{(*idx.shape, V)}.",
            hint="Your GPT's forward returns (logits, loss) with logits of shape (B, T, vocab_size).",
        )
    return logits.to(torch.float64)


def _windows(val: torch.Tensor, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Consecutive, non-overlapping windows of the held-out ids, and their targets one position later."""
    starts = range(0, len(val) - block_size, block_size)
    x = torch.stack([val[i : i + block_size] for i in starts])
    y = torch.stack([val[i + 1 : i + block_size + 1] for i in starts])
    return x, y


def _future_leak(sub: Any, model: RemoteRef, block_size: int, device: str) -> tuple[int, float] | None:
    """(position, size) of the first earlier-logit change caused by changing a later token, if any."""
    V = len(_corpus()["chars"])
    x, _ = _windows(_corpus()["val"], block_size)
    idx = x[:2].clone()
    base = _logits(sub, model, idx, device)
    T = idx.shape[1]
    for t in sorted({T - 1, T // 2, 1} - {0}):
        changed = idx.clone()
        changed[:, t] = (changed[:, t] + 1 + torch.arange(2)) % V
        leak = (_logits(sub, model, changed, device)[:, :t] - base[:, :t]).abs().max().item()
        if leak > 1e-4:
            return t, leak
    return None


_CAUSAL_HINT = (
    "In your gpt.py, mask the attention scores of future positions (j > t) with -inf before the softmax, so that "
    "position t only sees positions 0 .. t."
)


def _reported(value: Any, name: str) -> float:
    __tracebackhide__ = True
    if isinstance(value, torch.Tensor | np.ndarray) and value.ndim == 0 and value.dtype not in (torch.bool, np.bool_):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        fail(f"`{name}` should be a float, but it is a {type(value).__name__}.", hint=f"Use {name} = loss.item().")
    value = float(value)
    if not math.isfinite(value):
        fail(f"`{name}` is {value}.", hint="A NaN or infinite loss: check the learning rate and the initialisation.")
    return value


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(1)
def test_vocabulary_is_the_sorted_characters_of_the_text(sub: Any) -> None:
    chars = sub.chars
    expected = _corpus()["chars"]
    if isinstance(chars, str):
        chars = list(chars)
    if not isinstance(chars, list | tuple) or not all(isinstance(c, str) for c in chars):
        fail(
            f"`chars` should be a list of one-character strings, but it is a {type(chars).__name__}.",
            hint="chars = sorted(set(text)).",
        )
    if list(chars) != expected:
        if sorted(chars) == expected:
            fail("`chars` holds the right characters in the wrong order.", hint="Sort them: chars = sorted(set(text)).")
        fail(
            f"`chars` has {len(chars)} characters; the text has {len(expected)} distinct ones. The vocabulary must "
            "come from the whole text, so that every held-out character has an id.",
            hint="chars = sorted(set(text)), from the whole text (not only train_text).",
        )


@pytest.mark.public
@pytest.mark.points(2)
def test_initial_loss_is_about_ln_vocab(sub: Any, device: str) -> None:
    value = _reported(sub.initial_loss, "initial_loss")
    V = len(_corpus()["chars"])
    if abs(value - math.log(V)) <= INITIAL_LOSS_TOLERANCE:
        return
    if value < math.log(V):
        model, block_size = _model(sub)
        x, y = _windows(_corpus()["val"], block_size)
        logits = _logits(sub, model, x, device)
        V_out = logits.shape[-1]
        loss = F.cross_entropy(logits.reshape(-1, V_out), y.reshape(-1)).item()
        if F.cross_entropy(logits.reshape(-1, V_out), x.reshape(-1)).item() < loss - 1.0:
            fail(
                f"`initial_loss` is {value:.3f}, below ln(vocab_size) = {math.log(V):.3f}, and your trained model "
                "predicts the character it is given: with y equal to x, even an untrained model with tied "
                "embeddings scores low. This follows from the targets problem reported by "
                "test_validation_loss_on_held_out_text_is_below_target."
            )
        fail(
            f"`initial_loss` is {value:.3f}, well below ln(vocab_size) = {math.log(V):.3f}: that is the loss of a "
            "model that has already learned something.",
            hint="Measure it on the freshly built model, before the first optimisation step (before the training "
            "loop), and do not overwrite it afterwards.",
        )
    fail(
        f"`initial_loss` is {value:.3f}; an untrained model that guesses nearly uniformly scores about "
        f"ln(vocab_size) = {math.log(V):.3f} (within {INITIAL_LOSS_TOLERANCE}).",
        hint="Check the initialisation in your gpt.py: every nn.Linear and nn.Embedding weight from N(0, 0.02), "
        "biases 0, lm_head tied to wte. Measure the loss before training, on a training batch.",
    )


@pytest.mark.points(2)
def test_trained_model_never_looks_at_future_tokens(sub: Any, device: str) -> None:
    model, block_size = _model(sub)
    leak = _future_leak(sub, model, block_size, device)
    if leak is not None:
        t, size = leak
        fail(
            f"Changing the character at position {t} of a window changed your trained model's logits at earlier "
            f"positions (by up to {size:.3g}): the model looks at future tokens. Its training loss is then "
            "meaningless, and it cannot generate text.",
            hint=_CAUSAL_HINT,
        )


@pytest.mark.public
@pytest.mark.points(4)
def test_validation_loss_on_held_out_text_is_below_target(sub: Any, device: str) -> None:
    model, block_size = _model(sub)
    _check_vocabulary(sub)
    if _future_leak(sub, model, block_size, device) is not None:
        fail(
            "Your model looks at future tokens, so its loss on held-out text says nothing: it can read the answer.",
            hint=_CAUSAL_HINT,
        )
    x, y = _windows(_corpus()["val"], block_size)
    logits = _logits(sub, model, x, device)
    V = logits.shape[-1]
    loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1)).item()
    if loss < VAL_LOSS_TARGET:
        return
    copy_loss = F.cross_entropy(logits.reshape(-1, V), x.reshape(-1)).item()
    if copy_loss < loss - 1.0:
        fail(
            f"On the held-out text your model scores {loss:.3f} nats per character, but it predicts the character "
            f"it is given (loss {copy_loss:.3f} for that) instead of the next one.",
            hint="The targets must be the inputs shifted by one position: x = data[i : i + block_size] and "
            "y = data[i + 1 : i + block_size + 1].",
        )
    fail(
        f"On the held-out text (the last 10 % of the characters, {x.numel()} positions in windows of "
        f"block_size={block_size}) your model scores {loss:.3f} nats per character; the target is below "
        f"{VAL_LOSS_TARGET} (a bigram table scores about 2.45, a uniform guess {math.log(V):.2f}).",
        hint=_TRAIN_HINT,
    )


@pytest.mark.public
@pytest.mark.points(1)
def test_reported_val_loss_matches_the_held_out_loss(sub: Any, device: str) -> None:
    value = _reported(sub.val_loss, "val_loss")
    model, block_size = _model(sub)
    _check_vocabulary(sub)
    x, y = _windows(_corpus()["val"], block_size)
    logits = _logits(sub, model, x, device)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item()
    if abs(value - loss) > REPORTED_TOLERANCE:
        fail(
            f"`val_loss` is {value:.3f}, but your trained model's mean loss on val_data is {loss:.3f}.",
            hint="Measure it after training, on val_data (not train_data), in model.eval() mode under "
            "torch.no_grad(): val_loss = evaluate(val_data).",
        )
