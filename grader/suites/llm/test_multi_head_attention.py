"""Hidden suite for llm/multi_head_attention: the `MultiHeadAttention` nn.Module.

The suite writes its own weights into the learner's four projections, copies the same weights into
`nn.MultiheadAttention` (float64, in the grader's process) and compares. The shapes have h > 1,
T > 1 and T != d_head != d_model, so a head split that mixes tokens and heads shows.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grader.helpers import ON_DEVICE, assert_close, expect_raises, fail

# Runs in the learner's kernel, exec'd into a fresh namespace.
_KERNEL = '''
import torch

NAMES = ("q_proj", "k_proj", "v_proj", "out_proj")

def prepare(m, weights, device, dtype):
    """Move the module to device/dtype and write the grader's weights into its projections."""
    m = m.to(device=device, dtype=getattr(torch, dtype))
    with torch.no_grad():
        for name, (w, b) in weights.items():
            lin = getattr(m, name)
            lin.weight.copy_(w)
            if b is not None:
                lin.bias.copy_(b)
    return m

def describe(m):
    """Per projection: None if missing, else [is an nn.Linear, its class name, weight shape, bias shape or None];
    and the module's parameter count. One round trip instead of a dozen."""
    layers = {}
    for name in NAMES:
        layer = getattr(m, name, None)
        if layer is None:
            layers[name] = None
            continue
        w, b = getattr(layer, "weight", None), getattr(layer, "bias", None)
        layers[name] = [
            isinstance(layer, torch.nn.Linear),
            type(layer).__name__,
            list(w.shape) if isinstance(w, torch.Tensor) else None,
            list(b.shape) if isinstance(b, torch.Tensor) else None,
        ]
    return layers, sum(p.numel() for p in m.parameters())

def grads(m, x, mask, device):
    """Weight gradients of sum(out ** 2), for each projection."""
    m.zero_grad()
    out = m(x.to(device), None if mask is None else mask.to(device))
    (out ** 2).sum().backward()
    return {name: getattr(m, name).weight.grad for name in NAMES}

def initial_weights(cls, d_model, n_heads, bias, seed):
    """The projections' weights and biases of a module built right after torch.manual_seed(seed)."""
    torch.manual_seed(seed)
    m = cls(d_model, n_heads, bias=bias)
    out = {}
    for name in NAMES:
        b = getattr(getattr(m, name), "bias", None)
        out[name] = [getattr(m, name).weight.detach().clone(), None if b is None else b.detach().clone()]
    return out
'''
_NAMES = ("q_proj", "k_proj", "v_proj", "out_proj")

_SPLIT = (
    "Split the heads with q.view(B, T, n_heads, d_head).transpose(1, 2): head i owns features "
    "i*d_head:(i+1)*d_head of every token. A plain view(B, n_heads, T, d_head) mixes tokens and heads."
)
_MERGE = (
    "Concatenate the heads back in order: out.transpose(1, 2).reshape(B, T, d_model), so head i fills "
    "features i*d_head:(i+1)*d_head (the inverse of the split)."
)
_SCALE = "Scale each head's scores by 1/sqrt(d_head), the head size, not 1/sqrt(d_model)."
_MASK = "mask[..., i, j] True means query i may attend to key j; mask the scores (-inf) before the softmax."
_ALL_MASKED = "A query row whose keys are all masked must output zeros (before out_proj), never NaN."


class _Kernel:
    """The learner's module in the kernel, with the helpers above."""

    def __init__(self, sub: Any, device: str) -> None:
        self.sub = sub
        self.device = device
        self.helpers = sub.define(ON_DEVICE + _KERNEL)

    def build(
        self, d_model: int, n_heads: int, weights: dict[str, Any], bias: bool = True, dtype: str = "float64"
    ) -> Any:
        __tracebackhide__ = True
        m = self.sub.MultiHeadAttention(d_model, n_heads, bias=bias)
        self.check_layers(m, d_model, bias)
        return self.helpers["prepare"](m, weights, self.device, dtype)  # a torch.dtype cannot cross: its name

    def check_layers(self, m: Any, d_model: int, bias: bool) -> int:
        """Check the four projections; return the module's parameter count."""
        __tracebackhide__ = True
        layers, n_params = self.helpers["describe"](m)
        for name in _NAMES:
            if layers[name] is None:
                fail(f"Your MultiHeadAttention has no attribute `{name}`.", hint="Create it in __init__: nn.Linear.")
            is_linear, kind, w, b = layers[name]
            if not is_linear:
                fail(f"`{name}` should be an nn.Linear(d_model, d_model), but it is a {kind}.")
            if w != [d_model, d_model]:
                fail(f"`{name}.weight` has shape {w}, expected [{d_model}, {d_model}].")
            if bias and b != [d_model]:
                fail(f"`{name}.bias` should have shape [{d_model}] when bias=True.", hint="nn.Linear(..., bias=bias)")
            if not bias and b is not None:
                fail(f"`{name}` has a bias although bias=False.", hint="Pass bias=bias to every nn.Linear.")
        return int(n_params)

    def forward(self, m: Any, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        __tracebackhide__ = True
        wrapped = self.helpers["on_device"](m, self.device)
        wrapped._label = "MultiHeadAttention.forward"  # learner-facing messages name the learner's code
        out, devices, changed = wrapped(x) if mask is None else wrapped(x, mask)
        if changed:
            fail("`forward` modified its input x or mask in place.", hint="Never change the inputs in place.")
        if not isinstance(out, torch.Tensor):
            fail(f"`forward` should return a torch.Tensor, but it returned a {type(out).__name__}.")
        want = torch.device(self.device).type
        if devices != [want]:
            fail(
                f"`forward` returned a tensor on {', '.join(devices)}, but the module and x were on {want}.",
                hint="Create every new tensor on x's device.",
            )
        return out


def _weights(gen: torch.Generator, d_model: int, bias: bool = True) -> dict[str, tuple[torch.Tensor, Any]]:
    scale = 1.0 / math.sqrt(d_model)
    return {
        name: (
            torch.randn(d_model, d_model, generator=gen, dtype=torch.float64) * scale,
            torch.randn(d_model, generator=gen, dtype=torch.float64) * 0.5 if bias else None,
        )
        for name in _NAMES
    }


def _torch_mha(weights: dict[str, Any], d_model: int, n_heads: int, bias: bool = True) -> nn.MultiheadAttention:
    mha = nn.MultiheadAttention(d_model, n_heads, bias=bias, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([weights[n][0] for n in ("q_proj", "k_proj", "v_proj")]))
        mha.out_proj.weight.copy_(weights["out_proj"][0])
        if bias:
            mha.in_proj_bias.copy_(torch.cat([weights[n][1] for n in ("q_proj", "k_proj", "v_proj")]))
            mha.out_proj.bias.copy_(weights["out_proj"][1])
    return mha


def _reference(
    weights: dict[str, Any], x: torch.Tensor, n_heads: int, mask: torch.Tensor | None = None, bias: bool = True
) -> torch.Tensor:
    """nn.MultiheadAttention with the same weights (its boolean attn_mask means 'masked out')."""
    B, T, d_model = x.shape
    mha = _torch_mha(weights, d_model, n_heads, bias)
    attn_mask = None
    if mask is not None:
        attn_mask = (~mask).expand(B, n_heads, T, T).reshape(B * n_heads, T, T)
    with torch.no_grad():
        return mha(x, x, x, attn_mask=attn_mask, need_weights=False)[0]


def _variant(
    weights: dict[str, Any],
    x: torch.Tensor,
    n_heads: int,
    mask: torch.Tensor | None,
    split: str,
    merge: str,
    scale: str,
) -> torch.Tensor:
    """A known wrong multi-head attention, to name the learner's mistake."""
    B, T, d = x.shape
    h, dh = n_heads, d // n_heads

    def lin(name: str, t: torch.Tensor) -> torch.Tensor:
        w, b = weights[name]
        return F.linear(t, w, b)

    def heads(t: torch.Tensor) -> torch.Tensor:
        return t.view(B, T, h, dh).transpose(1, 2) if split == "ok" else t.view(B, h, T, dh)

    q, k, v = heads(lin("q_proj", x)), heads(lin("k_proj", x)), heads(lin("v_proj", x))
    s = q @ k.transpose(-2, -1) / math.sqrt(dh if scale == "ok" else d)
    if mask is not None:
        s = s.masked_fill(~mask, -math.inf)
    out = torch.softmax(s, dim=-1).nan_to_num(0.0) @ v  # (B, h, T, dh)
    if merge == "ok":
        out = out.transpose(1, 2).reshape(B, T, d)
    elif merge == "no_transpose":
        out = out.reshape(B, T, d)
    elif merge == "reversed":
        out = out.flip(1).transpose(1, 2).reshape(B, T, d)
    else:  # interleaved: feature j of head i lands at j * h + i
        out = out.permute(0, 2, 3, 1).reshape(B, T, d)
    return lin("out_proj", out)


def _diagnose(got: torch.Tensor, weights: dict[str, Any], x: torch.Tensor, n_heads: int, mask: Any) -> str:
    if mask is not None and torch.allclose(got.double(), _reference(weights, x, n_heads), rtol=1e-6, atol=1e-9):
        return "Your output is that of attention without the mask. " + _MASK
    hints = []
    for split in ("ok", "bad"):
        for merge in ("ok", "no_transpose", "reversed", "interleaved"):
            for scale in ("ok", "d_model"):
                if (split, merge, scale) == ("ok", "ok", "ok"):
                    continue
                alt = _variant(weights, x, n_heads, mask, split, merge, scale)
                if torch.allclose(got.double(), alt, rtol=1e-6, atol=1e-9):
                    hints += [_SPLIT] if split != "ok" else []
                    hints += [_MERGE] if merge != "ok" else []
                    hints += [_SCALE] if scale != "ok" else []
                    return " ".join(hints)
    return (
        "Follow the steps in the docstring: project, split the heads, attend per head with 1/sqrt(d_head), "
        "merge the heads in order, out_proj."
    )


def _compare(
    got: torch.Tensor, exp: torch.Tensor, weights: dict[str, Any], x: torch.Tensor, h: int, mask: Any, what: str
) -> None:
    __tracebackhide__ = True
    if got.shape != exp.shape:
        fail(f"{what}: the output has shape {tuple(got.shape)}, expected {tuple(exp.shape)} (B, T, d_model).")
    if torch.isnan(got).any():
        fail(f"{what}: the output contains NaN.", hint=_ALL_MASKED + " " + _MASK)
    if not torch.allclose(got.double(), exp, rtol=1e-9, atol=1e-12):
        assert_close(got, exp, rtol=1e-9, atol=1e-12, name=f"output ({what})", hint=_diagnose(got, weights, x, h, mask))


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- tests


def _premise(k: _Kernel) -> None:
    """Fail without a guess when the module is already wrong on plain input (float64, h > 1, no mask)."""
    __tracebackhide__ = True
    g = _gen(0)
    weights = _weights(g, 8)
    x = torch.randn(2, 5, 8, generator=g, dtype=torch.float64)
    got = k.forward(k.build(8, 2, weights), x)
    if not torch.allclose(got.double(), _reference(weights, x, 2), rtol=1e-9, atol=1e-12):
        fail(
            "Your MultiHeadAttention is already wrong on plain input (float64, 2 heads, no mask): this follows from "
            "the problem reported by test_matches_torch_multihead_attention above; fix that first."
        )


@pytest.mark.public
@pytest.mark.points(1)
def test_layers_and_parameters(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    for bias in (True, False):
        m = sub.MultiHeadAttention(12, 4, bias=bias)
        n = k.check_layers(m, 12, bias)
        expected = 4 * 12 * 12 + (4 * 12 if bias else 0)
        if n != expected:
            fail(
                f"MultiHeadAttention(12, 4, bias={bias}) has {n} parameters, expected {expected}.",
                hint="The four nn.Linear(d_model, d_model) projections are the only parameters.",
            )
    got = k.forward(k.build(12, 4, _weights(_gen(seed), 12)), torch.zeros(1, 3, 12, dtype=torch.float64))
    if tuple(got.shape) != (1, 3, 12):
        fail(f"`forward` on x of shape (1, 3, 12) returned shape {tuple(got.shape)}, expected (1, 3, 12).")
    with expect_raises(
        "ValueError", name="MultiHeadAttention(10, 4)", hint="10 is not divisible by 4: raise ValueError."
    ):
        sub.MultiHeadAttention(10, 4)


@pytest.mark.points(1)
def test_default_initialisation_in_order(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    s = seed % 2**31
    got = k.helpers["initial_weights"](sub.MultiHeadAttention, 8, 2, True, s)
    with torch.random.fork_rng(devices=[]):  # the grader's own global generator is left as it was
        torch.manual_seed(s)
        expected = {name: torch.nn.Linear(8, 8) for name in _NAMES}
    for name in _NAMES:
        w, b = got[name]
        if not isinstance(w, torch.Tensor) or w.shape != (8, 8):
            fail(f"`{name}.weight` of MultiHeadAttention(8, 2) is not a tensor of shape (8, 8).")
        if not torch.equal(w, expected[name].weight.detach()) or not (
            isinstance(b, torch.Tensor) and torch.equal(b.detach(), expected[name].bias.detach())
        ):
            fail(
                f"After torch.manual_seed({s}), MultiHeadAttention(8, 2) has other initial weights in `{name}` than "
                "four nn.Linear(8, 8) created one after the other.",
                hint="Create q_proj, k_proj, v_proj and out_proj in this order in __init__, as nn.Linear(d_model, "
                "d_model, bias=bias) with PyTorch's default initialisation (no other layers or random draws).",
            )


@pytest.mark.points(2)
def test_matches_torch_multihead_attention(sub: Any, device: str, seed: int) -> None:
    g = _gen(seed)
    k = _Kernel(sub, device)
    for B, T, d_model, h in ((2, 7, 12, 4), (3, 5, 8, 2)):  # h > 1, T > 1, T != d_head, T != d_model
        weights = _weights(g, d_model)
        x = torch.randn(B, T, d_model, generator=g, dtype=torch.float64)
        got = k.forward(k.build(d_model, h, weights), x)
        what = f"B={B}, T={T}, d_model={d_model}, n_heads={h}, no mask"
        _compare(got, _reference(weights, x, h), weights, x, h, None, what)


@pytest.mark.points(2)
def test_matches_torch_with_masks(sub: Any, device: str, seed: int) -> None:
    g = _gen(seed)
    k = _Kernel(sub, device)
    _premise(k)
    B, T, d_model, h = 2, 6, 12, 3
    weights = _weights(g, d_model)
    m = k.build(d_model, h, weights)
    x = torch.randn(B, T, d_model, generator=g, dtype=torch.float64)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    _compare(k.forward(m, x, causal), _reference(weights, x, h, causal), weights, x, h, causal, "a (T, T) causal mask")
    # one padding mask per sequence: the last keys of sequence 1 are padding
    pad = torch.ones(B, 1, T, T, dtype=torch.bool)
    pad[1, :, :, 4:] = False
    both = pad & causal
    _compare(k.forward(m, x, both), _reference(weights, x, h, both), weights, x, h, both, "a (B, 1, T, T) mask")


@pytest.mark.points(1)
def test_no_bias_and_single_head(sub: Any, device: str, seed: int) -> None:
    g = _gen(seed)
    k = _Kernel(sub, device)
    _premise(k)
    x = torch.randn(2, 5, 6, generator=g, dtype=torch.float64)
    weights = _weights(g, 6, bias=False)
    got = k.forward(k.build(6, 3, weights, bias=False), x)
    _compare(got, _reference(weights, x, 3, bias=False), weights, x, 3, None, "bias=False, n_heads=3")
    weights = _weights(g, 6)
    got = k.forward(k.build(6, 1, weights), x)
    _compare(got, _reference(weights, x, 1), weights, x, 1, None, "n_heads=1")


@pytest.mark.points(1)
def test_future_tokens_do_not_change_the_past(sub: Any, device: str, seed: int) -> None:
    g = _gen(seed)
    k = _Kernel(sub, device)
    _premise(k)
    B, T, d_model, h = 2, 6, 8, 4
    m = k.build(d_model, h, _weights(g, d_model))
    x = torch.randn(B, T, d_model, generator=g, dtype=torch.float64)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    base = k.forward(m, x, causal).double()
    for t in (0, 3):
        x2 = x.clone()
        x2[:, t + 1 :] += torch.randn(B, T - t - 1, d_model, generator=g, dtype=torch.float64)
        out = k.forward(m, x2, causal).double()
        assert_close(
            out[:, : t + 1],
            base[:, : t + 1],
            rtol=1e-9,
            atol=1e-12,
            name=f"outputs at positions <= {t} after changing the tokens after {t}",
            hint="With a causal mask, token i may only see tokens j <= i. " + _MASK + " " + _SPLIT,
        )


@pytest.mark.points(1)
def test_fully_masked_row_gives_no_nan(sub: Any, device: str, seed: int) -> None:
    g = _gen(seed)
    k = _Kernel(sub, device)
    _premise(k)
    B, T, d_model, h = 2, 4, 8, 2
    weights = _weights(g, d_model)
    m = k.build(d_model, h, weights)
    x = torch.randn(B, T, d_model, generator=g, dtype=torch.float64)
    mask = torch.ones(B, 1, T, T, dtype=torch.bool)
    mask[0, :, 2, :] = False  # query 2 of sequence 0 may attend to nothing
    got = k.forward(m, x, mask).double()
    if torch.isnan(got).any():
        fail("A query whose keys are all masked gave NaN.", hint=_ALL_MASKED)
    # that row's attention output is zero, so only out_proj's bias is left
    assert_close(
        got[0, 2],
        weights["out_proj"][1],
        rtol=1e-12,
        atol=1e-12,
        name="output of a fully masked query",
        hint=_ALL_MASKED,
    )
    exp = _variant(weights, x, h, mask, "ok", "ok", "ok")
    _compare(got, exp, weights, x, h, mask, "a mask with a fully masked query row")


@pytest.mark.points(1)
def test_float32_and_gradients(sub: Any, device: str, seed: int) -> None:
    g = _gen(seed)
    k = _Kernel(sub, device)
    _premise(k)
    B, T, d_model, h = 2, 5, 12, 4
    weights = _weights(g, d_model)
    x = torch.randn(B, T, d_model, generator=g, dtype=torch.float64)
    m = k.build(d_model, h, weights, dtype="float32")
    got = k.forward(m, x.float())
    if got.dtype != torch.float32:
        fail(f"A float32 module on float32 input returned {got.dtype}.", hint="Do not change the dtype inside forward.")
    assert_close(got, _reference(weights, x, h), rtol=1e-4, atol=1e-5, name="output in float32", hint=_SPLIT)
    # gradients flow to every projection, as nn.MultiheadAttention's do
    m64 = k.build(d_model, h, weights)
    got_grads = k.helpers["grads"](m64, x, None, device)
    mha = _torch_mha(weights, d_model, h)
    (mha(x, x, x, need_weights=False)[0] ** 2).sum().backward()
    assert mha.in_proj_weight.grad is not None and mha.out_proj.weight.grad is not None
    exp_q, exp_k, exp_v = mha.in_proj_weight.grad.chunk(3)
    for name, exp in zip(_NAMES, (exp_q, exp_k, exp_v, mha.out_proj.weight.grad), strict=True):
        grad = got_grads[name]
        if grad is None:
            fail(
                f"After backward, `{name}.weight.grad` is None: no gradient reached it.",
                hint="Do not detach tensors or use torch.no_grad() inside forward.",
            )
        assert_close(grad, exp, rtol=1e-8, atol=1e-10, name=f"{name}.weight.grad", hint=_SPLIT + " " + _MERGE)
