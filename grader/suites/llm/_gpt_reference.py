"""Grader-only reference GPT for the llm suites (gpt, train_tiny_lm, quantization).

Not a test file (pytest collects only ``test_*.py``). The suites load it by path with
``load_reference()``; the quantization suite also sends this file's source into the learner's
kernel to build a small model there, so it uses plain classes only (no dataclass, no
``from __future__`` import) and imports nothing but torch and the standard library.

The module and parameter names are those pinned in ``solutions/llm/gpt.py`` (GPT-2's), so a
state dict moves between this model and a learner's ``GPT`` unchanged. ``variant`` switches on
one known mistake at a time; the gpt suite uses that to name what a learner got wrong.
"""

import contextlib
import math

import torch
import torch.nn.functional as F
from torch import nn

VARIANTS = (
    "ok",
    "no_scale",
    "post_ln",
    "no_pos",
    "bad_head_split",
    "bad_head_merge",
    "tanh_gelu",
    "no_ln_f",
    "not_causal",
    "mask_after_softmax",
)


@contextlib.contextmanager
def one_thread():
    """Run torch on one thread: its default of one per core crawls while learner kernels keep the cores busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class Config:
    def __init__(
        self,
        vocab_size=65,
        block_size=64,
        n_layer=2,
        n_head=4,
        n_embd=64,
        bias=True,
        variant="ok",
    ):
        self.vocab_size = vocab_size
        self.block_size = block_size
        self.n_layer = n_layer
        self.n_head = n_head
        self.n_embd = n_embd
        self.bias = bias
        self.variant = variant


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)

    def forward(self, x):
        B, T, C = x.shape
        h = self.cfg.n_head
        d = C // h
        q, k, v = self.c_attn(x).split(C, dim=2)
        if self.cfg.variant == "bad_head_split":
            q, k, v = (t.reshape(B, h, T, d) for t in (q, k, v))
        else:
            q, k, v = (t.view(B, T, h, d).transpose(1, 2) for t in (q, k, v))
        att = q @ k.transpose(-2, -1)
        if self.cfg.variant == "scale_n_embd":
            att = att / math.sqrt(C)
        elif self.cfg.variant != "no_scale":
            att = att / math.sqrt(d)
        keep = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        if self.cfg.variant == "mask_after_softmax":
            att = F.softmax(att, dim=-1).masked_fill(~keep, 0.0)
        elif self.cfg.variant == "not_causal":
            att = F.softmax(att, dim=-1)
        else:
            att = F.softmax(att.masked_fill(~keep, float("-inf")), dim=-1)
        y = att @ v
        if self.cfg.variant == "bad_head_merge":
            y = y.reshape(B, T, C)
        else:
            y = y.transpose(1, 2).reshape(B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)

    def forward(self, x):
        approximate = "tanh" if self.cfg.variant == "tanh_gelu" else "none"
        return self.c_proj(F.gelu(self.c_fc(x), approximate=approximate))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.ln_1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x):
        if self.cfg.variant == "post_ln":
            x = self.ln_1(x + self.attn(x))
            return self.ln_2(x + self.mlp(x))
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class RefGPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.transformer = nn.ModuleDict(
            {
                "wte": nn.Embedding(cfg.vocab_size, cfg.n_embd),
                "wpe": nn.Embedding(cfg.block_size, cfg.n_embd),
                "h": nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)]),
                "ln_f": nn.LayerNorm(cfg.n_embd, bias=cfg.bias),
            }
        )
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        self.lm_head.weight = self.transformer.wte.weight

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        x = self.transformer.wte(idx)
        if self.cfg.variant != "no_pos":
            x = x + self.transformer.wpe(torch.arange(T, device=idx.device))
        for block in self.transformer.h:
            x = block(x)
        if self.cfg.variant != "no_ln_f":
            x = self.transformer.ln_f(x)
        logits = self.lm_head(x)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss


def parameter_shapes(cfg):
    """Every parameter name of the pinned layout (tied weights under both names) and its shape."""
    C, V = cfg.n_embd, cfg.vocab_size
    shapes = {
        "transformer.wte.weight": (V, C),
        "transformer.wpe.weight": (cfg.block_size, C),
        "transformer.ln_f.weight": (C,),
        "lm_head.weight": (V, C),
    }
    if cfg.bias:
        shapes["transformer.ln_f.bias"] = (C,)
    for i in range(cfg.n_layer):
        p = f"transformer.h.{i}."
        layer = {
            "ln_1.weight": (C,),
            "attn.c_attn.weight": (3 * C, C),
            "attn.c_proj.weight": (C, C),
            "ln_2.weight": (C,),
            "mlp.c_fc.weight": (4 * C, C),
            "mlp.c_proj.weight": (C, 4 * C),
        }
        if cfg.bias:
            layer.update(
                {
                    "ln_1.bias": (C,),
                    "attn.c_attn.bias": (3 * C,),
                    "attn.c_proj.bias": (C,),
                    "ln_2.bias": (C,),
                    "mlp.c_fc.bias": (4 * C,),
                    "mlp.c_proj.bias": (C,),
                }
            )
        shapes.update({p + k: v for k, v in layer.items()})
    return shapes


def random_state_dict(cfg, generator, std=0.2):
    """Weights far from the usual initialisation, so that every part of the model shows in the logits."""
    sd = {}
    for name, shape in parameter_shapes(cfg).items():
        if name == "lm_head.weight":
            continue
        if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            value = 1.0 + 0.2 * torch.randn(shape, generator=generator, dtype=torch.float64)
        elif name.endswith("wte.weight"):
            value = torch.randn(shape, generator=generator, dtype=torch.float64)
        else:
            value = std * torch.randn(shape, generator=generator, dtype=torch.float64)
        sd[name] = value.to(torch.float32)
    sd["lm_head.weight"] = sd["transformer.wte.weight"]
    return sd


def build(cfg_kwargs, state_dict=None, device="cpu", dtype=None):
    """A RefGPT from keyword arguments of Config, optionally loaded with ``state_dict``."""
    model = RefGPT(Config(**cfg_kwargs))
    if state_dict is not None:
        model.load_state_dict(state_dict)
    if dtype is not None:
        model = model.to(dtype)
    return model.to(device).eval()


def train_tiny(ids, cfg_kwargs, steps=150, batch_size=16, lr=3e-3, seed=0):
    """Train a RefGPT on the LongTensor ``ids`` with AdamW; deterministic for a given seed."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = RefGPT(Config(**cfg_kwargs))
    T = model.cfg.block_size
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    for _ in range(steps):
        starts = torch.randint(0, len(ids) - T - 1, (batch_size,), generator=gen)
        x = torch.stack([ids[s : s + T] for s in starts])
        y = torch.stack([ids[s + 1 : s + T + 1] for s in starts])
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval()
