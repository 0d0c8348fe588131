"""Hidden suite for llm/gpt: a decoder-only transformer, ``GPTConfig`` and ``GPT``.

The layout and the parameter names are pinned (GPT-2's, as in nanoGPT), so the suite loads its
own weights into the learner's model and compares the logits with the grader-only reference in
``_gpt_reference.py``, in float64. When they differ, it tries the reference with one known
mistake at a time and names the one that matches. Every model is built in the learner's kernel
and moved to the ``device`` fixture; every loss is recomputed here from the returned logits.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.engine.remote import RemoteRef
from grader.helpers import assert_close, expect_raises, fail

# ---------------------------------------------------------------- the reference (grader side)


@functools.cache
def _ref() -> ModuleType:
    path = Path(__file__).with_name("_gpt_reference.py")
    spec = importlib.util.spec_from_file_location("llm_gpt_reference", path)
    assert spec is not None and spec.loader is not None, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reference_logits(cfg: dict[str, Any], sd: dict[str, torch.Tensor], idx: torch.Tensor, variant: str = "ok"):
    ref = _ref()
    with ref.one_thread(), torch.no_grad():
        return ref.build({**cfg, "variant": variant}, sd, dtype=torch.float64)(idx)[0]


def _ref_kwargs(cfg: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cfg.items() if k != "dropout"}


# ---------------------------------------------------------------- calls into the kernel

# Seeds torch's global generator, then builds GPT(GPTConfig(**kw)) on the device.
_BUILD = (
    "lambda GPT, GPTConfig, kw, seed, dev: (__import__('torch').manual_seed(seed), GPT(GPTConfig(**kw)).to(dev))[1]"
)
# model(idx) or model(idx, targets) in eval mode without gradients; inputs moved to the device.
_FORWARD = """
lambda m, idx, dev, targets=None: __import__('torch').no_grad()(
    lambda: m.eval()(idx.to(dev)) if targets is None else m.eval()(idx.to(dev), targets.to(dev))
)()
""".strip()
# load_state_dict(strict=False): (missing keys, unexpected keys).
_LOAD = (
    "lambda m, sd: (lambda r: (sorted(r.missing_keys), sorted(r.unexpected_keys)))(m.load_state_dict(sd, strict=False))"
)
# Every parameter (tied ones under each name): (name, shape, dtype).
_PARAMS = "lambda m: [(n, tuple(p.shape), str(p.dtype)) for n, p in m.named_parameters(remove_duplicate=False)]"
_TIED = """
lambda m: (lambda d: d.get('lm_head.weight') is not None and d.get('lm_head.weight') is d.get('transformer.wte.weight'))(
    dict(m.named_parameters(remove_duplicate=False))
)
""".strip()  # noqa: E501

# The rate of every nn.Dropout in the model.
_DROPOUT_RATES = "lambda m: [float(x.p) for x in m.modules() if isinstance(x, __import__('torch').nn.Dropout)]"

_LAYOUT_HINT = (
    "Use exactly the names of the module docstring: transformer.wte, transformer.wpe, transformer.h[i].ln_1, "
    ".attn.c_attn, .attn.c_proj, .ln_2, .mlp.c_fc, .mlp.c_proj, transformer.ln_f and lm_head (bias=False)."
)

# A small model with h > 1 heads, and T != d, T != C, T < block_size in the forward tests.
_CFG = {"vocab_size": 11, "block_size": 16, "n_layer": 2, "n_head": 4, "n_embd": 32, "dropout": 0.0, "bias": True}
_CFG_NO_BIAS = {
    "vocab_size": 13,
    "block_size": 10,
    "n_layer": 1,
    "n_head": 2,
    "n_embd": 16,
    "dropout": 0.0,
    "bias": False,
}


def _build(sub: Any, cfg: dict[str, Any], device: str, seed: int = 0) -> RemoteRef:
    __tracebackhide__ = True
    model = sub.eval(_BUILD)(sub.GPT, sub.GPTConfig, cfg, seed, device)
    if not isinstance(model, RemoteRef) or "torch.nn.modules.module.Module" not in model.type_mro:
        fail(
            f"`GPT(config)` should build an nn.Module, but it gave {type(model).__name__}.",
            hint="class GPT(nn.Module) and call super().__init__() first in __init__.",
        )
    return model


def _forward(
    sub: Any, model: RemoteRef, idx: torch.Tensor, device: str, vocab: int, targets: torch.Tensor | None = None
) -> tuple[torch.Tensor, Any]:
    """(logits as float64 on the CPU, loss as it came back), checked for type and shape."""
    __tracebackhide__ = True
    out = sub.eval(_FORWARD)(model, idx, device, targets)
    if not isinstance(out, tuple | list) or len(out) != 2:
        fail(
            f"`model(idx)` should return a tuple (logits, loss), but it returned {type(out).__name__}.",
            hint="End forward with `return logits, loss` (loss is None when no targets are given).",
        )
    logits, loss = out
    B, T = idx.shape
    if not isinstance(logits, torch.Tensor):
        fail(f"The logits should be a tensor, but `model(idx)[0]` is a {type(logits).__name__}.")
    V = vocab
    if tuple(logits.shape) != (B, T, V):
        fail(
            f"For idx of shape ({B}, {T}) the logits have shape {tuple(logits.shape)}, expected ({B}, {T}, {V}): "
            "one row of vocab_size scores per position.",
            hint="Return all positions' logits, lm_head(ln_f(x)) of shape (B, T, vocab_size); do not keep only the "
            "last position, and do not flatten them.",
        )
    if logits.dtype != torch.float32:
        fail(f"The logits have dtype {logits.dtype}, expected torch.float32 (the parameters' dtype).")
    return logits.to(torch.float64), loss


def _load(sub: Any, model: RemoteRef, sd: dict[str, torch.Tensor]) -> None:
    """Load the suite's weights into the learner's model; every pinned parameter must be there."""
    __tracebackhide__ = True
    missing, unexpected = sub.eval(_LOAD)(model, sd)
    if unexpected:
        fail(
            f"Your model has no parameter named {unexpected[0]!r} (of {len(unexpected)} pinned names it lacks): "
            "this follows from the layout problem reported by test_parameter_names_shapes_and_weight_tying above."
        )
    params = {name for name, _, _ in sub.eval(_PARAMS)(model)}
    extra = [k for k in missing if k in params]
    if extra:
        fail(
            f"Your model has a parameter {extra[0]!r} that the pinned GPT-2 layout does not have: this follows "
            "from the layout problem reported by test_parameter_names_shapes_and_weight_tying above."
        )


def _tokens(rng: np.random.Generator, vocab: int, *shape: int) -> torch.Tensor:
    return torch.from_numpy(rng.integers(0, vocab, size=shape)).to(torch.int64)


_DIAGNOSES = {
    "no_scale": (
        "Your logits match a model whose attention scores are not scaled: q @ k^T without the 1/sqrt(d).",
        "Divide the scores by sqrt(d), d = n_embd // n_head (the head size, not n_embd): "
        "att = q @ k.transpose(-2, -1) / math.sqrt(d).",
    ),
    "scale_n_embd": (
        "Your logits match a model that divides the attention scores by sqrt(n_embd).",
        "The scale is 1/sqrt(d) with d = n_embd // n_head, the head size: each head's dot products have d terms.",
    ),
    "post_ln": (
        "Your logits match a post-LayerNorm block, x = ln(x + sublayer(x)).",
        "GPT-2 blocks are pre-LayerNorm: x = x + attn(ln_1(x)), then x = x + mlp(ln_2(x)).",
    ),
    "no_pos": (
        "Your logits match a model without the position embedding: the model cannot tell positions apart.",
        "Add the learned position embedding: x = wte(idx) + wpe(pos) with pos = torch.arange(T).",
    ),
    "bad_head_split": (
        "Your logits match a model that splits the heads with view(B, h, T, d): that mixes positions between heads.",
        "Split with q.view(B, T, h, d).transpose(1, 2), so that head i gets features i*d .. (i+1)*d - 1 of every "
        "position.",
    ),
    "bad_head_merge": (
        "Your logits match a model that merges the heads with view(B, T, C) straight from (B, h, T, d).",
        "Put the heads back with y.transpose(1, 2).contiguous().view(B, T, C).",
    ),
    "tanh_gelu": (
        "Your logits match a model with the tanh approximation of GELU.",
        "Use the exact GELU, nn.GELU() (approximate='none').",
    ),
    "no_ln_f": (
        "Your logits match a model without the final LayerNorm.",
        "Apply transformer.ln_f to the output of the last block, before lm_head.",
    ),
    "not_causal": (
        "Your logits match a model without the causal mask: every position sees the future.",
        "Set the scores of future positions (j > t) to -inf before the softmax.",
    ),
    "mask_after_softmax": (
        "Your logits match a model that applies the causal mask after the softmax: the weights no longer sum to 1.",
        "Mask with -inf before the softmax, so that the softmax renormalises over the allowed positions.",
    ),
}


# ---------------------------------------------------------------- tests


@pytest.mark.points(1)
def test_parameter_names_shapes_and_weight_tying(sub: Any, device: str) -> None:
    ref = _ref()
    for cfg in (_CFG, _CFG_NO_BIAS):
        model = _build(sub, cfg, device)
        got = {name: (tuple(shape), dtype) for name, shape, dtype in sub.eval(_PARAMS)(model)}
        expected = ref.parameter_shapes(ref.Config(**_ref_kwargs(cfg)))
        where = f"(config with bias={cfg['bias']})"
        for name, shape in expected.items():
            if name not in got:
                fail(f"Your model has no parameter named {name!r} {where}.", hint=_LAYOUT_HINT)
            if got[name][0] != tuple(shape):
                fail(
                    f"Parameter {name!r} has shape {got[name][0]}, expected {tuple(shape)} {where}.",
                    hint="nn.Linear(in, out) stores its weight as (out, in); c_attn maps C to 3*C and c_fc C to 4*C.",
                )
            if got[name][1] != "torch.float32":
                fail(f"Parameter {name!r} has dtype {got[name][1]}, expected torch.float32.")
        extra = sorted(set(got) - set(expected))
        if extra:
            hint = _LAYOUT_HINT
            if any(name.endswith(".bias") for name in extra) and not cfg["bias"]:
                hint = "With bias=False, pass bias=config.bias to every nn.Linear and nn.LayerNorm (lm_head has none)."
            elif "lm_head.bias" in extra:
                hint = "lm_head has no bias: nn.Linear(n_embd, vocab_size, bias=False)."
            fail(f"Your model has a parameter {extra[0]!r} that the pinned layout does not have {where}.", hint=hint)
        rates = sub.eval(_DROPOUT_RATES)(_build(sub, {**cfg, "dropout": 0.3}, device))
        if any(abs(float(p) - 0.3) > 1e-12 for p in rates):
            fail(
                f"With config.dropout=0.3 your model's nn.Dropout layers have p = {sorted(set(rates))}.",
                hint="Every nn.Dropout in the model uses config.dropout: nn.Dropout(config.dropout).",
            )
        if not sub.eval(_TIED)(model):
            fail(
                "`lm_head.weight` is not the same Parameter as `transformer.wte.weight`: the weights are not tied.",
                hint="Tie them after initialising: self.lm_head.weight = self.transformer.wte.weight.",
            )


@pytest.mark.points(2)
def test_forward_shapes_and_mean_cross_entropy(sub: Any, device: str, rng: np.random.Generator) -> None:
    ref = _ref()
    model = _build(sub, _CFG, device)
    _load(sub, model, ref.random_state_dict(ref.Config(**_ref_kwargs(_CFG)), torch.Generator().manual_seed(1)))
    V = _CFG["vocab_size"]
    idx, targets = _tokens(rng, V, 3, 10), _tokens(rng, V, 3, 10)
    logits, loss = _forward(sub, model, idx, device, V)
    if loss is not None:
        fail(
            f"`model(idx)` without targets returned a loss of {loss!r}, expected None.",
            hint="Compute the loss only when targets is given; otherwise return (logits, None).",
        )
    logits2, loss = _forward(sub, model, idx, device, V, targets)
    assert_close(
        logits2, logits, rtol=1e-6, atol=1e-6, name="logits with targets", hint="targets must not change the logits."
    )
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        fail(
            f"With targets, the loss should be a scalar tensor, but it is {type(loss).__name__}"
            + (f" of shape {tuple(loss.shape)}" if isinstance(loss, torch.Tensor) else "")
            + ".",
            hint="loss = F.cross_entropy(logits.view(-1, V), targets.view(-1)), the mean over all B*T positions.",
        )
    expected = F.cross_entropy(logits.view(-1, V), targets.view(-1)).item()
    got = float(loss.reshape(()).item())
    hint = (
        "The loss is the mean cross-entropy over all B*T positions: F.cross_entropy(logits.view(-1, V), "
        "targets.view(-1)), with the default reduction='mean' (not a sum, not the last position only)."
    )
    if abs(got - expected * idx.numel()) <= 1e-4 * abs(expected * idx.numel()):
        fail(
            f"The loss is {got:.6g}, the sum over the {idx.numel()} positions; expected their mean {expected:.6g}.",
            hint,
        )
    shifted = F.cross_entropy(logits[:, :-1].reshape(-1, V), targets[:, 1:].reshape(-1)).item()
    if abs(got - shifted) <= 1e-5 * abs(shifted):
        fail(
            f"The loss is {got:.6g}, the loss of logits[:, :-1] against targets[:, 1:]; expected {expected:.6g}.",
            hint="Do not shift inside forward: targets[b, t] is already the token after idx[b, t], so compare "
            "logits[:, t] with targets[:, t] at every position.",
        )
    assert_close(got, expected, rtol=1e-5, atol=1e-6, name="loss", hint=hint)


@pytest.mark.points(2)
def test_logits_match_the_reference_with_the_same_weights(sub: Any, device: str, rng: np.random.Generator) -> None:
    ref = _ref()
    for cfg, seq_len, seed in ((_CFG, 12, 2), (_CFG_NO_BIAS, _CFG_NO_BIAS["block_size"], 3)):
        kw = _ref_kwargs(cfg)
        sd = ref.random_state_dict(ref.Config(**kw), torch.Generator().manual_seed(seed))
        model = _build(sub, cfg, device)
        _load(sub, model, sd)
        idx = _tokens(rng, cfg["vocab_size"], 2, seq_len)
        got, _ = _forward(sub, model, idx, device, cfg["vocab_size"])
        expected = _reference_logits(kw, sd, idx)
        if torch.allclose(got, expected, rtol=1e-4, atol=1e-4):
            continue
        for variant, (message, hint) in _DIAGNOSES.items():
            if torch.allclose(got, _reference_logits(kw, sd, idx, variant), rtol=1e-4, atol=1e-4):
                fail(message, hint=hint)
        assert_close(
            got,
            expected,
            rtol=1e-4,
            atol=1e-4,
            name=f"logits (n_head={cfg['n_head']}, n_embd={cfg['n_embd']}, T={seq_len}, bias={cfg['bias']})",
            hint="With the same weights your model should compute exactly GPT-2's function. Check, in order: "
            "wte(idx) + wpe(arange(T)); pre-LayerNorm blocks x = x + attn(ln_1(x)), x = x + mlp(ln_2(x)); "
            "q, k, v = c_attn(x).split(C, dim=2) in that order; heads via view(B, T, h, d).transpose(1, 2); "
            "scores / sqrt(d) with the causal mask before the softmax; c_proj; MLP c_proj(GELU(c_fc(x))); "
            "ln_f, then lm_head.",
        )


@pytest.mark.points(2)
def test_a_future_token_never_changes_earlier_logits(sub: Any, device: str, rng: np.random.Generator) -> None:
    ref = _ref()
    model = _build(sub, _CFG, device)
    sd = ref.random_state_dict(ref.Config(**_ref_kwargs(_CFG)), torch.Generator().manual_seed(4))
    _load(sub, model, sd)
    V, T = _CFG["vocab_size"], 12
    idx = _tokens(rng, V, 2, T)
    base, _ = _forward(sub, model, idx, device, V)
    if not torch.allclose(base, _reference_logits(_ref_kwargs(_CFG), sd, idx), rtol=1e-4, atol=1e-4):
        fail(
            "Your logits differ from the reference with the same weights, so this test cannot tell what leaks: "
            "this follows from the problem reported by test_logits_match_the_reference_with_the_same_weights."
        )
    for t in (3, 8, T - 1):
        changed = idx.clone()
        changed[:, t] = (changed[:, t] + 1 + torch.arange(2)) % V
        logits, _ = _forward(sub, model, changed, device, V)
        leak = (logits[:, :t] - base[:, :t]).abs().max().item()
        if leak > 1e-5:
            fail(
                f"Changing the token at position {t} changed the logits at earlier positions (by up to {leak:.3g}): "
                "your model looks at future tokens, so it would cheat in training and fail at generation.",
                hint="Mask the attention scores of future positions (j > t) with -inf before the softmax "
                "(torch.tril gives the positions that may attend).",
            )
        if (logits[:, t] - base[:, t]).abs().max().item() == 0.0:
            fail(
                f"Changing the token at position {t} did not change the logits at position {t}: each position "
                "must see its own token.",
                hint="The causal mask keeps the diagonal: position t attends to positions 0 .. t, t included.",
            )


@pytest.mark.public
@pytest.mark.points(1)
def test_initial_loss_is_about_ln_vocab_and_init_is_seeded(sub: Any, device: str, rng: np.random.Generator) -> None:
    cfg = {"vocab_size": 67, "block_size": 32, "n_layer": 2, "n_head": 4, "n_embd": 64, "dropout": 0.0, "bias": True}
    V = cfg["vocab_size"]
    idx, targets = _tokens(rng, V, 4, 32), _tokens(rng, V, 4, 32)
    model = _build(sub, cfg, device, seed=0)
    logits, _ = _forward(sub, model, idx, device, V, targets)
    loss = F.cross_entropy(logits.view(-1, V), targets.view(-1)).item()
    if abs(loss - math.log(V)) > 0.1:
        fail(
            f"A freshly initialised model has a loss of {loss:.3f} on random tokens; expected about "
            f"ln(vocab_size) = {math.log(V):.3f}, the loss of a uniform guess.",
            hint="Initialise every nn.Linear and nn.Embedding weight from N(0, 0.02) (nn.init.normal_(w, 0.0, 0.02)) "
            "and every Linear bias to 0, then tie lm_head.weight to transformer.wte.weight. PyTorch's default "
            "nn.Embedding init, N(0, 1), makes the first logits huge.",
        )
    again, _ = _forward(sub, _build(sub, cfg, device, seed=0), idx, device, V)
    other, _ = _forward(sub, _build(sub, cfg, device, seed=1), idx, device, V)
    if not torch.equal(again, logits):
        fail(
            "Two models built after torch.manual_seed(0) give different logits.",
            hint="Draw the initial weights from torch's global generator (nn.init.normal_), not from a fresh or "
            "separately seeded one.",
        )
    if torch.equal(other, logits):
        fail(
            "Models built after torch.manual_seed(0) and torch.manual_seed(1) are identical.",
            hint="Draw the initial weights from torch's global generator; do not re-seed inside GPT.__init__.",
        )


@pytest.mark.points(1)
def test_rejects_sequences_longer_than_block_size_and_bad_head_counts(
    sub: Any, device: str, rng: np.random.Generator
) -> None:
    model = _build(sub, _CFG, device)
    V, block = _CFG["vocab_size"], _CFG["block_size"]
    _forward(sub, model, _tokens(rng, V, 1, block), device, V)  # exactly block_size tokens is fine
    with expect_raises(
        "ValueError",
        name=f"model(idx) with T = block_size + 1 = {block + 1}",
        hint="Check T <= config.block_size at the start of forward and raise ValueError: the position embedding "
        "has only block_size rows.",
    ):
        sub.eval(_FORWARD)(model, _tokens(rng, V, 1, block + 1), device)
    with expect_raises(
        "ValueError",
        name="GPT(GPTConfig(n_embd=30, n_head=4))",
        hint="n_embd must split evenly into n_head heads: raise ValueError when n_embd % n_head != 0.",
    ):
        _build(sub, {**_CFG, "n_embd": 30, "n_head": 4}, device)


_STATE = "lambda m: {k: v.detach().to('cpu', dtype=__import__('torch').float64) for k, v in m.state_dict().items()}"


@pytest.mark.points(1)
def test_initial_weights_follow_the_pinned_distribution(sub: Any, device: str) -> None:
    cfg = {"vocab_size": 67, "block_size": 32, "n_layer": 2, "n_head": 4, "n_embd": 64, "dropout": 0.0, "bias": True}
    state = sub.eval(_STATE)(_build(sub, cfg, device, seed=0))
    weights_hint = (
        "Initialise every nn.Linear and nn.Embedding weight from N(0, 0.02) (nn.init.normal_(w, 0.0, 0.02)); "
        "only the c_proj weights may use 0.02 / sqrt(2 * n_layer) instead."
    )
    rest_hint = "Start every nn.Linear bias at 0 (nn.init.zeros_), and keep the LayerNorms at weight 1 and bias 0."
    for name, value in sorted(state.items()):
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            continue
        layernorm = ".ln_" in f".{name}"
        if name.endswith(".bias") or layernorm:
            want = 1.0 if layernorm and name.endswith(".weight") else 0.0
            if not torch.all(value == want):
                fail(f"The initial `{name}` is not all {want:g}.", hint=rest_hint)
            continue
        if value.numel() < 1000:
            continue
        std, mean = value.std().item(), value.mean().item()
        allowed = [0.02, 0.02 / math.sqrt(2 * cfg["n_layer"])] if name.endswith("c_proj.weight") else [0.02]
        if not any(abs(std - a) <= 0.1 * a for a in allowed) or abs(mean) > 0.15 * allowed[0]:
            fail(
                f"The initial `{name}` has mean {mean:.4f} and standard deviation {std:.4f}; expected about 0 and "
                f"{' or '.join(f'{a:.4f}' for a in allowed)}.",
                hint=weights_hint,
            )
