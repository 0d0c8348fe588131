"""Hidden suite for llm/bert: a post-norm BERT encoder with its MLM head, `mask_tokens` and `train_mlm`.

The layout is pinned, so the suite loads its own weights into the learner's model and compares
the logits with a float64 reference written here in plain torch (``_ref_logits``). When they
differ, it tries the reference with one known mistake at a time and names the one that matches.
The masking is replayed here draw by draw from the pinned order, and checked for its statistics
over some 30,000 tokens. The training run starts from weights the suite chose (N(0, 0.02)), on
*Macbeth* as characters, and is scored on held-out text from the logits that come back.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from grader.engine.remote import RemoteRef
from grader.helpers import DATASETS, ON_DEVICE, assert_close, assert_equal, expect_raises, fail

# The trained model's held-out MLM loss must be under MAX_TRAINED_LOSS nats (typically 2.3 to 2.6; the characters'
# frequencies alone give 3.35, so passing takes the context on both sides) and at least MIN_DROP below the untrained
# one (about ln 69 = 4.24).
MAX_TRAINED_LOSS = 2.9
MIN_DROP = 1.0

# Statistics of mask_tokens over ~30,000 tokens: each tolerance is at least 5 standard deviations.
TOL_CHOSEN = 0.012
TOL_MASK = 0.03
TOL_OTHER = 0.025

_CFG = {"vocab_size": 13, "max_len": 16, "n_segments": 2, "n_layer": 2, "n_head": 4, "n_embd": 32, "dropout": 0.0}
_EPS = 1e-12
PAD, MASK = 0, 1  # the suite's special ids; in the training corpus the characters follow them
_SPECIAL = [0, 1, 2, 3]  # [PAD], [MASK], [CLS], [SEP] in the masking tests
# 16,485 parameters; 400 steps take about 4 s of CPU on one thread
_TRAIN_CFG = {"max_len": 8, "n_segments": 2, "n_layer": 1, "n_head": 4, "n_embd": 32, "dropout": 0.0}
_TRAIN = {"steps": 400, "batch_size": 128, "seq_len": 8, "lr": 5e-3, "seed": 0}

_KERNEL = '''
def _cpu(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu()
    if isinstance(x, (list, tuple)):
        return type(x)(_cpu(v) for v in x)
    return x

def build(Bert, BertConfig, kw, seed, device):
    """Bert(BertConfig(**kw)) right after torch.manual_seed(seed), moved to the device."""
    torch.manual_seed(seed)
    return Bert(BertConfig(**kw)).to(device)

def load(m, sd):
    r = m.load_state_dict(sd, strict=False)
    return sorted(r.missing_keys), sorted(r.unexpected_keys)

def describe(m):
    """(name, shape) of every parameter (tied ones under each name), whether the decoder is tied, the modules."""
    params = dict(m.named_parameters(remove_duplicate=False))
    tied = params.get("head.decoder.weight") is not None and params.get("head.decoder.weight") is params.get(
        "embed.tok.weight")
    shapes = [(n, tuple(p.shape)) for n, p in params.items()]
    eps = [(n, float(x.eps)) for n, x in m.named_modules() if isinstance(x, torch.nn.LayerNorm)]
    drop = [(n, float(x.p)) for n, x in m.named_modules() if isinstance(x, torch.nn.Dropout)]
    return shapes, tied, eps, drop

def weights(m):
    return {n: p.detach().cpu().clone() for n, p in m.named_parameters(remove_duplicate=False)}

def forward(m, ids, seg, mask, labels, device):
    """m(ids, seg, mask, labels) in eval mode without gradients: (logits, loss) on the CPU."""
    move = lambda t: None if t is None else t.to(device)
    with torch.no_grad():
        out = m.eval()(move(ids), move(seg), move(mask), move(labels))
    return _cpu(out)

def masked(f, ids, mask_id, vocab, special, p, seed, device):
    """mask_tokens on the device with a fresh CPU generator seeded with seed: (out, devices, input changed)."""
    g = torch.Generator().manual_seed(seed)
    out, devices, changed = on_device(f, device)(ids, mask_id, vocab, special, p, generator=g)
    return _cpu(out), devices, changed

def train(f, m, data, device, kw):
    losses = f(m, data.to(device), **kw)
    return losses, bool(m.training)
'''


# ---------------------------------------------------------------- the reference (grader side)


def _names(cfg: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Every pinned parameter name and its shape."""
    C, V = cfg["n_embd"], cfg["vocab_size"]
    shapes: dict[str, tuple[int, ...]] = {
        "embed.tok.weight": (V, C),
        "embed.pos.weight": (cfg["max_len"], C),
        "embed.seg.weight": (cfg["n_segments"], C),
        "embed.ln.weight": (C,),
        "embed.ln.bias": (C,),
    }
    for i in range(cfg["n_layer"]):
        p = f"layers.{i}."
        for name, shape in (
            ("attn.qkv", (3 * C, C)),
            ("attn.proj", (C, C)),
            ("ln_1", (C,)),
            ("ff_in", (4 * C, C)),
            ("ff_out", (C, 4 * C)),
            ("ln_2", (C,)),
        ):
            shapes[p + name + ".weight"] = shape
            shapes[p + name + ".bias"] = (shape[0],)
    shapes.update(
        {
            "head.dense.weight": (C, C),
            "head.dense.bias": (C,),
            "head.ln.weight": (C,),
            "head.ln.bias": (C,),
            "head.decoder.weight": (V, C),
            "head.decoder.bias": (V,),
        }
    )
    return shapes


def _state_dict(cfg: dict[str, Any], seed: int) -> dict[str, torch.Tensor]:
    """Weights far from the usual initialisation (every part of the model shows in the logits)."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for name, shape in _names(cfg).items():
        noise = torch.randn(shape, generator=g, dtype=torch.float64)
        if "ln" in name.split(".")[-2]:
            sd[name] = (1.0 + 0.2 * noise if name.endswith("weight") else 0.1 * noise).float()
        elif name.startswith("embed."):
            sd[name] = (0.5 * noise).float()
        else:
            sd[name] = (0.2 * noise).float()
    sd["head.decoder.weight"] = sd["embed.tok.weight"]
    return sd


def _init_state_dict(cfg: dict[str, Any], seed: int) -> dict[str, torch.Tensor]:
    """BERT's initialisation, drawn here: N(0, 0.02) weights, zero biases, LayerNorms at 1 and 0."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for name, shape in _names(cfg).items():
        if "ln" in name.split(".")[-2]:
            sd[name] = torch.ones(shape) if name.endswith("weight") else torch.zeros(shape)
        elif name.endswith("bias"):
            sd[name] = torch.zeros(shape)
        else:
            sd[name] = 0.02 * torch.randn(shape, generator=g)
    sd["head.decoder.weight"] = sd["embed.tok.weight"]
    return sd


VARIANTS = {
    "pre_norm": "The encoder layers are post-norm, as in the original BERT: x = ln_1(x + attn(x)), then "
    "x = ln_2(x + ffn(x)); the LayerNorm is applied to the residual sum, not before each sub-layer.",
    "tanh_gelu": "Use the exact erf GELU (F.gelu(x) or nn.GELU()), not the tanh approximation.",
    "no_scale": "Divide the attention scores by sqrt(d), with d = n_embd // n_head the head size.",
    "no_segment": "The embedding is tok(input_ids) + pos(arange(T)) + seg(token_type_ids): add the segment "
    "embedding too.",
    "no_embed_ln": "Apply embed.ln to the sum of the three embeddings, before the first encoder layer.",
    "causal": "BERT's attention is bidirectional: there is no causal mask, every query sees every real key.",
    "no_head_transform": "The MLM head is decoder(head.ln(gelu(head.dense(x)))), not decoder(x) alone.",
}
_SAME = (
    "embed.ln(tok + pos + seg), then post-norm layers x = ln_1(x + attn(x)), x = ln_2(x + ff_out(gelu(ff_in(x)))) "
    "with q, k, v = qkv(x).split(C, dim=2), heads via .view(B, T, h, d).transpose(1, 2), scores / sqrt(d), padding "
    "keys set to -inf before the softmax; head: decoder(head.ln(gelu(head.dense(x)))) with exact erf GELU and "
    "LayerNorm eps=1e-12."
)
_LAYOUT = (
    "Use exactly the names of the module docstring: embed.tok, embed.pos, embed.seg, embed.ln, layers[i].attn.qkv, "
    ".attn.proj, .ln_1, .ff_in, .ff_out, .ln_2, head.dense, head.ln, head.decoder (tied to embed.tok)."
)


def _ln(x: torch.Tensor, w: dict[str, torch.Tensor], name: str) -> torch.Tensor:
    return F.layer_norm(x, (x.shape[-1],), w[name + ".weight"], w[name + ".bias"], eps=_EPS)


def _ref_logits(
    sd: dict[str, torch.Tensor],
    cfg: dict[str, Any],
    ids: torch.Tensor,
    seg: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    variant: str = "ok",
) -> torch.Tensor:
    """BERT's forward pass in float64; `variant` switches on one known mistake."""
    w = {k: v.double().cpu() for k, v in sd.items()}
    B, T = ids.shape
    C, h = cfg["n_embd"], cfg["n_head"]
    d = C // h
    seg = torch.zeros_like(ids) if seg is None else seg
    mask = torch.ones_like(ids) if mask is None else mask
    gelu = (lambda t: F.gelu(t, approximate="tanh")) if variant == "tanh_gelu" else F.gelu
    x = w["embed.tok.weight"][ids] + w["embed.pos.weight"][torch.arange(T)]
    if variant != "no_segment":
        x = x + w["embed.seg.weight"][seg]
    if variant != "no_embed_ln":
        x = _ln(x, w, "embed.ln")
    keep = (mask != 0)[:, None, None, :].expand(B, 1, T, T)
    if variant == "causal":
        keep = keep & torch.ones(T, T, dtype=torch.bool).tril()
    for i in range(cfg["n_layer"]):
        p = f"layers.{i}."

        def attn(a: torch.Tensor, p: str = p) -> torch.Tensor:
            q, k, v = F.linear(a, w[p + "attn.qkv.weight"], w[p + "attn.qkv.bias"]).split(C, dim=2)
            q, k, v = (t.view(B, T, h, d).transpose(1, 2) for t in (q, k, v))
            att = q @ k.transpose(-2, -1) / (1.0 if variant == "no_scale" else math.sqrt(d))
            att = F.softmax(att.masked_fill(~keep, float("-inf")), dim=-1)
            y = (att @ v).transpose(1, 2).reshape(B, T, C)
            return F.linear(y, w[p + "attn.proj.weight"], w[p + "attn.proj.bias"])

        def ffn(a: torch.Tensor, p: str = p) -> torch.Tensor:
            hidden = gelu(F.linear(a, w[p + "ff_in.weight"], w[p + "ff_in.bias"]))
            return F.linear(hidden, w[p + "ff_out.weight"], w[p + "ff_out.bias"])

        if variant == "pre_norm":
            x = x + attn(_ln(x, w, p + "ln_1"))
            x = x + ffn(_ln(x, w, p + "ln_2"))
        else:
            x = _ln(x + attn(x), w, p + "ln_1")
            x = _ln(x + ffn(x), w, p + "ln_2")
    if variant != "no_head_transform":
        x = _ln(gelu(F.linear(x, w["head.dense.weight"], w["head.dense.bias"])), w, "head.ln")
    return F.linear(x, w["embed.tok.weight"], w["head.decoder.bias"])


def _replay(
    ids: torch.Tensor, mask_id: int, vocab: int, special: list[int], p: float, g: torch.Generator, variant: str = "ok"
) -> tuple[torch.Tensor, torch.Tensor]:
    """mask_tokens' pinned draws from `g`, replayed here; `variant` switches on one known mistake."""
    S = ids.shape
    chosen_u = torch.rand(S, generator=g)
    if variant == "order":  # the random ids drawn before the action
        random_ids = torch.randint(0, vocab, S, generator=g)
        action_u = torch.rand(S, generator=g)
    else:
        action_u = torch.rand(S, generator=g)
        random_ids = torch.randint(0, vocab, S, generator=g)
    is_special = torch.isin(ids, torch.tensor(special, dtype=ids.dtype))
    chosen = chosen_u < (0.15 if variant == "fixed_prob" else p)
    if variant != "specials":
        chosen &= ~is_special
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    inputs = ids.clone()
    to_mask = chosen & (action_u < (0.9 if variant == "no_random" else 0.8))
    inputs[to_mask] = mask_id
    replace = chosen & (action_u >= (0.9 if variant == "no_random" else 0.8)) & (action_u < 0.9)
    inputs[replace] = random_ids[replace]
    return inputs, labels


_DRAWS = (
    "Three draws of the full shape S, in this order, from the generator: chosen_u = torch.rand(S), "
    "action_u = torch.rand(S), random_ids = torch.randint(0, vocab_size, S); chosen = (chosen_u < mask_prob) and "
    "not special; then [MASK] where action_u < 0.8, random_ids where 0.8 <= action_u < 0.9, kept otherwise; labels "
    "are the original id where chosen and -100 elsewhere."
)
_MASK_VARIANTS = {
    "specials": "Special ids (padding, [CLS], [SEP], [MASK]) are never chosen: their label is -100 and they stay.",
    "fixed_prob": "Choose each token with probability mask_prob (the argument), not a fixed 0.15.",
    "order": "Make the three draws in this order: chosen_u = torch.rand(S), action_u = torch.rand(S), then "
    "random_ids = torch.randint(0, vocab_size, S).",
    "no_random": "Of the chosen tokens 80 % become [MASK], 10 % a random id and 10 % stay as they are (80/10/10).",
}


# ---------------------------------------------------------------- the corpus


@functools.cache
def _corpus() -> tuple[torch.Tensor, torch.Tensor, int]:
    """Macbeth as character ids after [PAD] = 0 and [MASK] = 1: 90 % to train on, 10 % held out, and V."""
    text = (DATASETS / "shakespeare" / "macbeth.txt").read_text(encoding="utf-8")
    stoi = {c: i + 2 for i, c in enumerate(sorted(set(text)))}
    ids = torch.tensor([stoi[c] for c in text], dtype=torch.int64)
    split = int(0.9 * len(ids))
    return ids[:split], ids[split:], len(stoi) + 2


def _held_out_batch(T: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Held-out windows with every 6th position (a different phase per row) replaced by [MASK]: (inputs, labels)."""
    _, held, _ = _corpus()
    x = torch.stack([held[i : i + T] for i in range(0, len(held) - T, T)])
    pos = torch.arange(T)[None, :] + torch.arange(len(x))[:, None]
    chosen = pos % 6 == 0
    return torch.where(chosen, MASK, x), torch.where(chosen, x, -100), x


def _mlm_loss(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return F.cross_entropy(logits.double().reshape(-1, logits.shape[-1]), labels.reshape(-1)).item()


# ---------------------------------------------------------------- calls into the kernel


class _Kernel:
    """The learner's module in the kernel, with the helpers above."""

    def __init__(self, sub: Any, device: str) -> None:
        self.sub = sub
        self.device = device
        self.h = sub.define(ON_DEVICE + _KERNEL)

    def build(self, cfg: dict[str, Any], sd: dict[str, torch.Tensor] | None = None, seed: int = 0) -> RemoteRef:
        __tracebackhide__ = True
        model = self.h["build"](self.sub.Bert, self.sub.BertConfig, cfg, seed, self.device)
        if not isinstance(model, RemoteRef) or "torch.nn.modules.module.Module" not in model.type_mro:
            fail(
                f"`Bert(config)` should build an nn.Module, but it gave {type(model).__name__}.",
                hint="class Bert(nn.Module) and call super().__init__() first in __init__.",
            )
        if sd is not None:
            missing, unexpected = self.h["load"](model, sd)
            if missing or unexpected:
                what = f"has no parameter {unexpected[0]!r}" if unexpected else f"has a parameter {missing[0]!r}"
                fail(
                    f"Your model {what} of the pinned layout's names: this follows from the layout problem "
                    "reported by test_layout_tying_and_initialisation above."
                )
        return model

    def forward(
        self,
        model: RemoteRef,
        ids: torch.Tensor,
        seg: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        vocab: int = _CFG["vocab_size"],
    ) -> tuple[torch.Tensor, Any]:
        """(logits as float64 on the CPU, loss as it came back), checked for type and shape."""
        __tracebackhide__ = True
        out = self.h["forward"](model, ids, seg, mask, labels, self.device)
        if not isinstance(out, tuple | list) or len(out) != 2:
            fail(
                f"`model(input_ids, ...)` should return a tuple (logits, loss), but it returned {type(out).__name__}.",
                hint="End forward with `return logits, loss` (loss is None when no labels are given).",
            )
        logits, loss = out
        B, T = ids.shape
        V = vocab
        if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (B, T, V):
            shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
            fail(
                f"For input_ids of shape ({B}, {T}) the logits have shape {shape}, expected ({B}, {T}, {V}): "
                "vocab_size scores at every position.",
                hint="Return the head's output for every position: decoder(...) of shape (B, T, vocab_size).",
            )
        if logits.dtype != torch.float32:
            fail(f"The logits have dtype {logits.dtype}, expected torch.float32 (the parameters' dtype).")
        return logits.double(), loss

    def mask(
        self, ids: torch.Tensor, mask_id: int, vocab: int, special: list[int], p: float, seed: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """mask_tokens with a fresh generator seeded with `seed`; checks what comes back."""
        __tracebackhide__ = True
        call = f"mask_tokens(input_ids of shape {tuple(ids.shape)}, ..., mask_prob={p}, generator=g)"
        out, devices, changed = self.h["masked"](
            self.sub.mask_tokens, ids, mask_id, vocab, special, p, seed, self.device
        )
        if not isinstance(out, tuple | list) or len(out) != 2:
            fail(f"`{call}` should return a tuple (inputs, labels), but it returned {type(out).__name__}.")
        inputs, labels = out
        for name, t in (("inputs", inputs), ("labels", labels)):
            if not isinstance(t, torch.Tensor) or t.shape != ids.shape or t.dtype != torch.int64:
                what = f"{t.dtype} of shape {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__
                fail(f"`{call}` returned {name} as {what}, expected int64 of shape {tuple(ids.shape)}.")
        if changed:
            fail(
                f"`{call}` modified input_ids in place.",
                hint="Corrupt a copy (input_ids.clone()); the caller's tensor is never modified.",
            )
        if devices != [self.device]:
            fail(f"`{call}` returned tensors on {devices}, expected them on input_ids' device ({self.device}).")
        return inputs, labels


def _loss_is_wrong(k: _Kernel, model: RemoteRef, V: int) -> bool:
    """Whether the model's loss differs from the mean cross-entropy of its own logits over the labelled positions."""
    ids = _tokens(3, 2, 8, 2, V)
    labels = torch.full_like(ids, -100)
    labels[:, ::3] = ids[:, ::3]
    logits, loss = k.forward(model, ids, labels=labels, vocab=V)
    want = F.cross_entropy(logits[labels != -100], labels[labels != -100]).item()
    return not isinstance(loss, torch.Tensor) or loss.numel() != 1 or abs(float(loss) - want) > 1e-4 * (1 + abs(want))


def _masking_is_wrong(k: _Kernel, x: torch.Tensor, V: int) -> bool:
    """Whether the learner's mask_tokens departs from the pinned draws on `x` (train_mlm's special ids)."""
    want = _replay(x, MASK, V, [PAD, MASK], 0.15, torch.Generator().manual_seed(12345))
    got = k.mask(x, MASK, V, [PAD, MASK], 0.15, 12345)
    return not (torch.equal(got[0], want[0]) and torch.equal(got[1], want[1]))


def _tokens(seed: int, B: int, T: int, low: int, high: int) -> torch.Tensor:
    return torch.randint(low, high, (B, T), generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(1.5)
def test_layout_tying_and_initialisation(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    model = k.build(_CFG, seed=seed % 2**31)
    shapes, tied, eps, drop = k.h["describe"](model)
    got = dict(shapes)
    want = _names(_CFG)
    for name, shape in want.items():
        if name not in got:
            fail(f"Your model has no parameter {name!r}.", hint=_LAYOUT)
        if got[name] != shape:
            fail(f"{name!r} has shape {got[name]}, expected {shape}.", hint=_LAYOUT)
    extra = sorted(set(got) - set(want))
    if extra:
        fail(f"Your model has a parameter {extra[0]!r} that the pinned layout does not have.", hint=_LAYOUT)
    if not tied:
        fail(
            "head.decoder.weight is not the same parameter as embed.tok.weight: the output layer must be tied to "
            "the token embedding.",
            hint="After initialising, self.head.decoder.weight = self.embed.tok.weight (tied), keeping the decoder's "
            "own bias.",
        )
    wrong_eps = [(n, e) for n, e in eps if e != _EPS]
    if wrong_eps or len(eps) != 2 + 2 * _CFG["n_layer"]:
        name, value = wrong_eps[0] if wrong_eps else ("", 0.0)
        fail(
            f"LayerNorm {name!r} has eps={value:g}." if wrong_eps else f"Your model has {len(eps)} nn.LayerNorm.",
            hint="Every LayerNorm is nn.LayerNorm(C, eps=1e-12), BERT's value (PyTorch's default is 1e-5): embed.ln, "
            "ln_1 and ln_2 of every layer, head.ln.",
        )
    want_drop = sorted(
        ["embed.drop"] + [f"layers.{i}.{n}" for i in range(_CFG["n_layer"]) for n in ("attn.drop", "drop")]
    )
    if sorted(n for n, _ in drop) != want_drop:
        fail(f"The model's nn.Dropout modules are {sorted(n for n, _ in drop)}, expected {want_drop}.", hint=_LAYOUT)
    with expect_raises(
        "ValueError",
        name="Bert(BertConfig(n_embd=30, n_head=4))",
        hint="Raise ValueError in __init__ when n_embd is not a multiple of n_head.",
    ):
        k.build({**_CFG, "n_embd": 30, "n_head": 4})
    w = k.h["weights"](model)
    init = (
        "Initialise every nn.Linear and nn.Embedding weight with nn.init.normal_(w, mean=0.0, std=0.02), every "
        "nn.Linear bias with zeros (the decoder's too); LayerNorms keep weight 1 and bias 0."
    )
    for name in want:
        t = w[name].double()
        if ".ln" in name or "ln_" in name:
            target = 1.0 if name.endswith("weight") else 0.0
            if not torch.all(t == target):
                fail(f"A new model's {name!r} is not all {target:g}.", hint=init)
        elif name.endswith("bias"):
            if not torch.all(t == 0):
                fail(f"A new model's {name!r} is not all zeros.", hint=init)
        elif not 0.01 <= t.std().item() <= 0.03 or abs(t.mean().item()) > 0.015:
            fail(
                f"A new model's {name!r} has mean {t.mean().item():.4f} and std {t.std().item():.4f}; BERT draws it "
                "from N(0, 0.02**2).",
                hint=init,
            )


@pytest.mark.points(2)
def test_logits_match_a_plain_torch_bert(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    V, T = _CFG["vocab_size"], 11
    sd = _state_dict(_CFG, seed % 1000)
    model = k.build(_CFG, sd)
    ids = _tokens(seed, 3, T, 2, V)
    seg = (torch.arange(T)[None, :] >= torch.tensor([[4], [6], [11]])).long()
    mask = (torch.arange(T)[None, :] < torch.tensor([[T], [8], [5]])).long()
    ids = torch.where(mask == 1, ids, PAD)
    got, loss = k.forward(model, ids, seg, mask)
    if loss is not None:
        fail("`model(input_ids, ...)` without labels should return (logits, None).")
    want = _ref_logits(sd, _CFG, ids, seg, mask)
    real = mask.bool()
    if not torch.allclose(got[real], want[real], rtol=1e-4, atol=1e-4):
        for variant, hint in VARIANTS.items():
            wrong = _ref_logits(sd, _CFG, ids, seg, mask, variant)
            if torch.allclose(got[real], wrong[real], rtol=1e-4, atol=1e-4):
                fail("The logits at the real positions differ from BERT's.", hint=hint)
    assert_close(got[real], want[real], rtol=1e-4, atol=1e-4, name="the logits at the real positions", hint=_SAME)
    # without segments and mask: all zeros and all ones
    got, _ = k.forward(model, ids)
    assert_close(
        got,
        _ref_logits(sd, _CFG, ids),
        rtol=1e-4,
        atol=1e-4,
        name="model(input_ids) with token_type_ids=None and attention_mask=None",
        hint="None means all segments 0 and no padding (an attention mask of ones).",
    )
    too_long = _tokens(seed, 1, _CFG["max_len"] + 1, 2, V)
    with expect_raises(
        "ValueError",
        name=f"model(input_ids of length {_CFG['max_len'] + 1}) with max_len={_CFG['max_len']}",
        hint="Raise ValueError when T > max_len: there is no position embedding beyond it.",
    ):
        k.forward(model, too_long)


@pytest.mark.public
@pytest.mark.points(1)
def test_padding_never_changes_the_real_positions(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    V = _CFG["vocab_size"]
    model = k.build(_CFG, _state_dict(_CFG, 7))
    lengths = [10, 7, 4]
    g = torch.Generator().manual_seed(seed)
    rows = [torch.randint(2, V, (n,), generator=g) for n in lengths]
    segs = [(torch.arange(n) >= n // 2).long() for n in lengths]
    T = 15  # longer than every row: at least 5 pads each, with random ids and segments
    ids = torch.randint(0, V, (3, T), generator=g)
    seg = torch.randint(0, 2, (3, T), generator=g)
    mask = torch.zeros(3, T, dtype=torch.int64)
    for b, (r, s) in enumerate(zip(rows, segs, strict=True)):
        ids[b, : len(r)], seg[b, : len(r)], mask[b, : len(r)] = r, s, 1
    padded, _ = k.forward(model, ids, seg, mask)
    for b, (r, s) in enumerate(zip(rows, segs, strict=True)):
        alone, _ = k.forward(model, r[None, :], s[None, :], torch.ones(1, len(r), dtype=torch.int64))
        assert_close(
            padded[b, : len(r)],
            alone[0],
            rtol=1e-4,
            atol=1e-4,
            name=f"the logits of a {len(r)}-token sequence padded to {T} (vs the sequence alone)",
            hint="Mask the padding KEYS: scores where attention_mask[b, j] == 0 are set to -inf before the softmax "
            "(att.masked_fill(pad[:, None, None, :], -inf)), so a real token never attends to padding.",
        )


@pytest.mark.points(0.5)
def test_attention_is_bidirectional(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    V = _CFG["vocab_size"]
    model = k.build(_CFG, _state_dict(_CFG, 8))
    ids = _tokens(seed, 2, 12, 2, V)
    later = ids.clone()
    later[:, 9] = (later[:, 9] - 2 + 1) % (V - 2) + 2  # another ordinary token at position 9
    before, _ = k.forward(model, ids)
    after, _ = k.forward(model, later)
    change = (after[:, :9] - before[:, :9]).abs().amax().item()
    if change < 1e-3:
        fail(
            f"Changing the token at position 9 changes the logits at positions 0..8 by at most {change:.1e}: an "
            "earlier position never sees a later token.",
            hint=VARIANTS["causal"] + " Mask only the padding keys.",
        )


@pytest.mark.points(0.5)
def test_segment_embeddings_change_the_output(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    V = _CFG["vocab_size"]
    model = k.build(_CFG, _state_dict(_CFG, 9))
    ids = _tokens(seed, 2, 12, 2, V)
    zeros, _ = k.forward(model, ids, torch.zeros_like(ids))
    two, _ = k.forward(model, ids, (torch.arange(12) >= 6).long().expand(2, 12).contiguous())
    if (two - zeros).abs().amax().item() < 1e-3:
        fail(
            "Changing token_type_ids from all 0 to 0 0 0 0 0 0 1 1 1 1 1 1 leaves the logits as they are.",
            hint=VARIANTS["no_segment"],
        )


@pytest.mark.points(0.5)
def test_the_loss_is_the_mean_over_the_labelled_positions(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    V = _CFG["vocab_size"]
    model = k.build(_CFG, _state_dict(_CFG, 10))
    ids = _tokens(seed, 3, 10, 2, V)
    g = torch.Generator().manual_seed(seed)
    labelled = torch.rand(3, 10, generator=g) < 0.3
    labelled[0, 0] = True
    labels = torch.where(labelled, torch.randint(0, V, (3, 10), generator=g), -100)
    logits, loss = k.forward(model, ids, labels=labels)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        fail(f"`model(input_ids, labels=labels)` returned the loss as {type(loss).__name__}, expected a scalar tensor.")
    want = F.cross_entropy(logits[labelled], labels[labelled]).item()
    assert_close(
        float(loss),
        want,
        rtol=1e-4,
        atol=1e-4,
        name="the loss (compared with the cross-entropy of your own logits)",
        hint="The loss is the mean cross-entropy over the positions whose label is not -100: "
        "F.cross_entropy(logits.view(-1, V), labels.view(-1), ignore_index=-100).",
    )


@pytest.mark.points(1.5)
def test_mask_tokens_replays_the_pinned_draws(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    V, s = 20, seed % 2**31
    ids = _tokens(seed, 4, 40, 0, V)
    for p in (0.3, 0.15):
        inputs, labels = k.mask(ids, MASK, V, _SPECIAL, p, s)
        want_inputs, want_labels = _replay(ids, MASK, V, _SPECIAL, p, torch.Generator().manual_seed(s))
        if torch.equal(inputs, want_inputs) and torch.equal(labels, want_labels):
            continue
        for variant, hint in _MASK_VARIANTS.items():
            wrong_inputs, wrong_labels = _replay(ids, MASK, V, _SPECIAL, p, torch.Generator().manual_seed(s), variant)
            if torch.equal(inputs, wrong_inputs) and torch.equal(labels, wrong_labels):
                fail(f"mask_tokens(..., mask_prob={p}, generator=g) does not replay the pinned draws.", hint=hint)
        assert_equal(
            labels.numpy(), want_labels.numpy(), name=f"labels of mask_tokens(..., mask_prob={p})", hint=_DRAWS
        )
        assert_equal(
            inputs.numpy(), want_inputs.numpy(), name=f"inputs of mask_tokens(..., mask_prob={p})", hint=_DRAWS
        )


@pytest.mark.public
@pytest.mark.points(1)
def test_mask_tokens_statistics(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    V = 70
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(4, V, (128, 256), generator=g)
    ids[torch.rand(ids.shape, generator=g) < 0.1] = PAD  # padding, [CLS] and [SEP] here and there
    ids[:, 0], ids[:, -1] = 2, 3
    for p in (0.15, 0.4):
        inputs, labels = k.mask(ids, MASK, V, _SPECIAL, p, seed % 2**31)
        call = f"mask_tokens(..., mask_prob={p})"
        chosen = labels != -100
        if not torch.all(labels[chosen] == ids[chosen]):
            fail(
                f"Some labels of {call} are neither -100 nor the original token.",
                hint="labels hold the ORIGINAL id at every chosen position and -100 everywhere else.",
            )
        special = torch.isin(ids, torch.tensor(_SPECIAL))
        if torch.any(chosen & special) or not torch.equal(inputs[special], ids[special]):
            fail(f"{call} chose or changed special tokens (padding, [CLS], [SEP]).", hint=_MASK_VARIANTS["specials"])
        if not torch.equal(inputs[~chosen], ids[~chosen]):
            fail(
                f"{call} changed tokens whose label is -100.",
                hint="Only the chosen positions (those with a label) are corrupted; every other token stays.",
            )
        rate = chosen.sum().item() / (~special).sum().item()
        if abs(rate - p) > TOL_CHOSEN:
            fail(
                f"{call} chose {rate:.3f} of the non-special tokens, expected {p} (tolerance {TOL_CHOSEN}).",
                hint=_MASK_VARIANTS["fixed_prob"] if abs(rate - 0.15) <= TOL_CHOSEN else _DRAWS,
            )
        n = chosen.sum().item()
        got = inputs[chosen]
        as_mask = (got == MASK).sum().item() / n
        kept = (got == ids[chosen]).sum().item() / n
        other = 1.0 - as_mask - kept
        # a random id equals [MASK] or the original 1 time in V each
        for what, value, want, tol in (
            ("[MASK]", as_mask, 0.8 + 0.1 / V, TOL_MASK),
            ("a random token", other, 0.1 * (1 - 2 / V), TOL_OTHER),
            ("unchanged", kept, 0.1 + 0.1 / V, TOL_OTHER),
        ):
            if abs(value - want) > tol:
                fail(
                    f"Of the {n} tokens {call} chose, {value:.3f} became {what}, expected about {want:.3f} "
                    f"(tolerance {tol}).",
                    hint=_MASK_VARIANTS["no_random"],
                )


@pytest.mark.public
@pytest.mark.points(0.5)
def test_train_mlm_returns_one_loss_per_step_and_trains(sub: Any, device: str) -> None:
    k = _Kernel(sub, device)
    train, _, V = _corpus()
    cfg = {**_TRAIN_CFG, "vocab_size": V}
    model = k.build(cfg, _init_state_dict(cfg, 1))
    if _loss_is_wrong(k, model, V):
        fail("This follows from the problem with the loss above: train_mlm trains on it.")
    if _masking_is_wrong(k, train[:256].view(32, 8), V):
        fail("This follows from the mask_tokens problem above: train_mlm masks its batches with it.")
    before = k.h["weights"](model)
    kw = {**_TRAIN, "steps": 3, "batch_size": 4, "seq_len": 8, "mask_token_id": MASK, "special_ids": [PAD, MASK]}
    losses, training = k.h["train"](sub.train_mlm, model, train[:4000], device, kw)
    if not isinstance(losses, list) or len(losses) != 3 or not all(isinstance(v, float) for v in losses):
        fail(f"`train_mlm(..., steps=3, ...)` should return a list of 3 floats, but it returned {losses!r:.200}.")
    if not all(math.isfinite(v) and abs(v - math.log(V)) < 0.5 for v in losses):
        fail(
            f"The first 3 training losses from N(0, 0.02) weights are {losses}; they should be close to "
            f"ln(vocab_size) = {math.log(V):.2f}.",
            hint="The loss is model(inputs, labels=labels)[1] on the masked batch (labels from mask_tokens).",
        )
    after = k.h["weights"](model)
    if all(torch.equal(after[n], before[n]) for n in before):
        fail("train_mlm did not change any weight.", hint="Each step: zero_grad, loss.backward(), opt.step().")
    if training:
        fail("After train_mlm, the model is still in train() mode.", hint="Call model.eval() at the end.")


@pytest.mark.points(1)
def test_train_mlm_lowers_the_held_out_loss(sub: Any, device: str, plot: Any) -> None:
    k = _Kernel(sub, device)
    train, _, V = _corpus()
    cfg = {**_TRAIN_CFG, "vocab_size": V}
    T = _TRAIN["seq_len"]
    inputs, labels, _ = _held_out_batch(T)
    # first a single step from weights far from the initialisation, where every input shows in the loss
    strong = _state_dict(cfg, 11)
    model = k.build(cfg, strong)
    got, _ = k.forward(model, inputs[:4], vocab=V)
    if not torch.allclose(got, _ref_logits(strong, cfg, inputs[:4]), rtol=1e-4, atol=1e-4):
        fail("This follows from the problem with the logits above: the model does not compute BERT's logits.")
    if _loss_is_wrong(k, model, V):
        fail("This follows from the problem with the loss above: train_mlm trains on it.")
    one = {**_TRAIN, "steps": 1, "batch_size": 8, "mask_token_id": MASK, "special_ids": [PAD, MASK]}
    g = torch.Generator().manual_seed(one["seed"])  # train_mlm's first batch: the window starts, then the masking
    starts = torch.randint(0, len(train) - T + 1, (one["batch_size"],), generator=g)
    x = torch.stack([train[i : i + T] for i in starts])
    first_inputs, first_labels = _replay(x, MASK, V, [PAD, MASK], 0.15, g)
    if _masking_is_wrong(k, x, V):
        fail("This follows from the mask_tokens problem above: train_mlm masks its batches with it.")
    losses, _ = k.h["train"](sub.train_mlm, model, train, device, one)
    if not isinstance(losses, list) or len(losses) != 1:
        fail(f"`train_mlm(..., steps=1, ...)` should return a list of 1 loss, but it returned {losses!r:.200}.")
    assert_close(
        float(losses[0]),
        _mlm_loss(_ref_logits(strong, cfg, first_inputs), first_labels),
        rtol=1e-4,
        atol=1e-4,
        name="the loss of train_mlm's first step",
        hint="One generator g = torch.Generator().manual_seed(seed) for everything: each step draws "
        "starts = torch.randint(0, N - seq_len + 1, (batch_size,), generator=g), stacks data[i : i + seq_len] into x, "
        "calls inputs, labels = mask_tokens(x, mask_token_id, vocab_size, special_ids, 0.15, generator=g) with the "
        "SAME g, and the loss is model(inputs, labels=labels)[1]: the corrupted inputs, not x.",
    )
    # then the real run, from BERT's initialisation
    sd = _init_state_dict(cfg, 0)
    untrained = _mlm_loss(_ref_logits(sd, cfg, inputs), labels)
    model = k.build(cfg, sd)
    kw = {**_TRAIN, "mask_token_id": MASK, "special_ids": [PAD, MASK]}
    losses, _ = k.h["train"](sub.train_mlm, model, train, device, kw)
    if not isinstance(losses, list) or len(losses) != _TRAIN["steps"]:
        fail(f"`train_mlm(..., steps={_TRAIN['steps']}, ...)` should return a list of {_TRAIN['steps']} losses.")
    logits, _ = k.forward(model, inputs, vocab=V)
    trained = _mlm_loss(logits, labels)
    plot(
        "curve",
        f"MLM training on Macbeth: loss per step (held-out: {untrained:.3f} -> {trained:.3f})",
        learner=[float(v) for v in losses],
        reference=untrained,
    )
    if trained > MAX_TRAINED_LOSS or trained > untrained - MIN_DROP:
        fail(
            f"After training, the held-out MLM loss is {trained:.3f} nats; untrained it was {untrained:.3f}. It should "
            f"be under {MAX_TRAINED_LOSS} and at least {MIN_DROP} below the untrained loss.",
            hint="AdamW(model.parameters(), lr=lr), and each step zero_grad, loss.backward(), step, on the loss of the "
            "MASKED inputs (mask_tokens' inputs go into the model, its labels into the loss).",
        )
