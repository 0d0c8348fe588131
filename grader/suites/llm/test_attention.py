"""Hidden suite for llm/attention: `scaled_dot_product_attention` and `causal_mask`.

The reference is `F.scaled_dot_product_attention` in float64, in the grader's process. Every call
into the learner's code goes through a small wrapper in the kernel that moves the tensors to the
`device` fixture, reports where the result lives, and says whether an input was modified.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.helpers import ON_DEVICE, assert_close, assert_equal, fail

_SCALE = "Divide the scores by sqrt(d), where d = q.shape[-1] (the key/query size): s = q @ k^T / sqrt(d)."
_BEFORE_SOFTMAX = (
    "Apply the mask to the scores before the softmax (masked scores become -inf), not to the weights "
    "after it: zeroing weights after the softmax leaves rows that no longer sum to 1."
)
_TRUE_ATTENDS = (
    "In the mask, True means 'may attend' and False means 'masked out' (as in F.scaled_dot_product_attention)."
)
_KEYS_DIM = "Take the softmax over the keys, the last dimension of the scores (dim=-1)."
_ALL_MASKED = (
    "A query row whose keys are all masked must give weights of 0 and an output row of zeros, never NaN: "
    "softmax over a row of -inf is NaN, so zero those rows (e.g. where mask.any(-1) is False)."
)


def _call(sub: Any, on: str, name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the learner's `name` on `device`; check where the result lives and that inputs are untouched."""
    __tracebackhide__ = True
    wrapped = sub.define(ON_DEVICE)["on_device"](getattr(sub, name), on)
    wrapped._label = name  # learner-facing messages name the learner's function
    out, devices, changed = wrapped(*args, **kwargs)
    if changed:
        fail(f"`{name}` modified one of its input tensors.", hint="Never change q, k, v or mask in place.")
    want = torch.device(on).type
    if devices and devices != [want]:
        fail(
            f"`{name}` returned a tensor on {', '.join(devices)}, but its inputs were on {want}.",
            hint="Create every new tensor on the inputs' device (device=q.device).",
        )
    if not isinstance(out, torch.Tensor):
        fail(f"`{name}` should return a torch.Tensor, but it returned a {type(out).__name__}.")
    return out


def _randn(gen: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=torch.float64) * scale


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _random_mask(gen: torch.Generator, *shape: int) -> torch.Tensor:
    """A random boolean mask in which every query row may attend to at least one key."""
    mask = torch.rand(*shape, generator=gen) < 0.5
    first = torch.randint(shape[-1], shape[:-1], generator=gen)
    return mask | F.one_hot(first, shape[-1]).bool()


def _sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def _variant(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None, kind: str) -> torch.Tensor:
    """Known wrong attentions, to name the learner's mistake."""
    d = q.shape[-1]
    s = q @ k.transpose(-2, -1)
    if kind == "no_scale":
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0)
    if kind == "scale_by_d":
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0 / d)
    s = s / math.sqrt(d)
    if kind == "keys_dim":
        w = torch.softmax(s if mask is None else s.masked_fill(~mask, -math.inf), dim=-2).nan_to_num(0.0)
        return w @ v
    assert mask is not None
    if kind == "after_softmax":
        return (torch.softmax(s, dim=-1) * mask) @ v
    if kind == "inverted":
        return _sdpa(q, k, v, ~mask)
    raise ValueError(kind)


def _diagnose(got: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> str:
    kinds = {"no_scale": _SCALE, "scale_by_d": _SCALE, "keys_dim": _KEYS_DIM}
    if mask is not None:
        kinds |= {"after_softmax": _BEFORE_SOFTMAX, "inverted": _TRUE_ATTENDS}
    for kind, hint in kinds.items():
        alt = _variant(q, k, v, mask, kind)
        if got.shape == alt.shape and torch.allclose(got.double(), alt, rtol=1e-6, atol=1e-9, equal_nan=True):
            return hint
    return "Follow the steps in the docstring: scores q @ k^T / sqrt(d), mask the scores, softmax over the keys, @ v."


def _check(
    got: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None, what: str
) -> None:
    __tracebackhide__ = True
    exp = _sdpa(q, k, v, mask)
    if got.shape != exp.shape:
        fail(
            f"{what}: the output has shape {tuple(got.shape)}, expected {tuple(exp.shape)} (..., T_q, d_v).",
            hint="out = softmax(scores) @ v has the queries' length and the values' last dimension.",
        )
    if got.dtype != q.dtype:
        fail(
            f"{what}: the output has dtype {got.dtype}, but the inputs are {q.dtype}.",
            hint="Compute in the inputs' dtype: do not cast to float32 (or float64).",
        )
    if torch.isnan(got).any():
        fail(f"{what}: the output contains NaN.", hint=_diagnose(got, q, k, v, mask))
    if not torch.allclose(got.double(), exp, rtol=1e-9, atol=1e-12):
        hint = _diagnose(got, q, k, v, mask)
        assert_close(got, exp, rtol=1e-9, atol=1e-12, name=f"output ({what})", hint=hint)


def _premise(sub: Any, device: str) -> None:
    """Fail without a guess when plain attention (float64, no fully masked row) is already wrong."""
    __tracebackhide__ = True
    g = _gen(0)
    q, k, v = _randn(g, 2, 4, 3), _randn(g, 2, 5, 3), _randn(g, 2, 5, 2)
    for mask in (None, _random_mask(g, 2, 4, 5)):
        got = _call(sub, device, "scaled_dot_product_attention", q, k, v, mask)
        exp = _sdpa(q, k, v, mask)
        if got.shape != exp.shape or not torch.allclose(got.double(), exp, rtol=1e-9, atol=1e-12):
            fail(
                "Plain attention (float64, " + ("no mask" if mask is None else "a random mask") + ") is already "
                "wrong: this follows from the problem reported by test_matches_torch_without_mask or "
                "test_matches_torch_with_masks above; fix that first."
            )


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(2)
def test_matches_torch_without_mask(sub: Any, device: str, seed: int) -> None:
    g = _gen(seed)
    # B=2, H=3, T=5, d=4, d_v=6: T > 1, T != d, d_v != d; scores of order 1 (no saturation)
    q, k, v = _randn(g, 2, 3, 5, 4), _randn(g, 2, 3, 5, 4), _randn(g, 2, 3, 5, 6)
    got = _call(sub, device, "scaled_dot_product_attention", q, k, v)
    _check(got, q, k, v, None, "q, k of shape (2, 3, 5, 4), v of shape (2, 3, 5, 6), no mask")
    # a larger head size, where a missing or wrong scale matters even more
    q, k, v = _randn(g, 1, 7, 16, scale=0.5), _randn(g, 1, 7, 16, scale=0.5), _randn(g, 1, 7, 3)
    got = _call(sub, device, "scaled_dot_product_attention", q, k, v)
    _check(got, q, k, v, None, "q, k of shape (1, 7, 16), v of shape (1, 7, 3), no mask")


@pytest.mark.points(2)
def test_matches_torch_with_masks(sub: Any, device: str, seed: int) -> None:
    g = _gen(seed)
    q, k, v = _randn(g, 2, 3, 6, 4), _randn(g, 2, 3, 6, 4), _randn(g, 2, 3, 6, 5)
    causal = torch.ones(6, 6, dtype=torch.bool).tril()
    got = _call(sub, device, "scaled_dot_product_attention", q, k, v, causal)
    _check(got, q, k, v, causal, "a causal (6, 6) mask shared by every batch and head")
    mask = _random_mask(g, 2, 1, 6, 6)  # one mask per batch element, shared by the heads
    got = _call(sub, device, "scaled_dot_product_attention", q, k, v, mask=mask)
    _check(got, q, k, v, mask, "a random mask of shape (2, 1, 6, 6)")


@pytest.mark.points(1)
def test_attention_rows_sum_to_one(sub: Any, device: str, seed: int) -> None:
    _premise(sub, device)
    g = _gen(seed)
    T_q, T_k = 5, 7
    q, k = _randn(g, 3, T_q, 4), _randn(g, 3, T_k, 4)
    eye = torch.eye(T_k, dtype=torch.float64).expand(3, T_k, T_k).contiguous()  # out = weights @ I = weights
    mask = _random_mask(g, 3, T_q, T_k)
    for m, what in ((None, "no mask"), (mask, "a random mask")):
        w = _call(sub, device, "scaled_dot_product_attention", q, k, eye, m).double()
        if w.shape != (3, T_q, T_k):
            fail(f"With v = identity ({what}) the output has shape {tuple(w.shape)}, expected (3, {T_q}, {T_k}).")
        if torch.isnan(w).any():
            fail(f"Attention weights ({what}) contain NaN.", hint=_ALL_MASKED)
        if (w < 0).any():
            fail(f"Some attention weights ({what}) are negative.", hint=_KEYS_DIM)
        sums = w.sum(-1)
        hint = _BEFORE_SOFTMAX if m is not None else _KEYS_DIM
        assert_close(
            sums, torch.ones_like(sums), rtol=0, atol=1e-9, name=f"row sums of the weights ({what})", hint=hint
        )
        if m is not None and (w[~m] != 0).any():
            fail(
                "A masked (False) position got a non-zero attention weight.", hint=_TRUE_ATTENDS + " " + _BEFORE_SOFTMAX
            )


@pytest.mark.points(1)
def test_future_tokens_do_not_change_the_past(sub: Any, device: str, seed: int) -> None:
    _premise(sub, device)
    g = _gen(seed)
    B, H, T, d = 2, 2, 6, 3
    q, k, v = _randn(g, B, H, T, d), _randn(g, B, H, T, d), _randn(g, B, H, T, d)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    base = _call(sub, device, "scaled_dot_product_attention", q, k, v, mask).double()
    for t in (0, 2, 4):
        q2, k2, v2 = q.clone(), k.clone(), v.clone()
        q2[..., t + 1 :, :] += _randn(g, B, H, T - t - 1, d)
        k2[..., t + 1 :, :] += _randn(g, B, H, T - t - 1, d)
        v2[..., t + 1 :, :] += 5.0
        out = _call(sub, device, "scaled_dot_product_attention", q2, k2, v2, mask).double()
        assert_close(
            out[..., : t + 1, :],
            base[..., : t + 1, :],
            rtol=1e-9,
            atol=1e-12,
            name=f"outputs at positions <= {t} after changing the tokens after {t}",
            hint="With a causal mask, a query may only see keys j <= i. " + _TRUE_ATTENDS + " " + _BEFORE_SOFTMAX,
        )


@pytest.mark.public
@pytest.mark.points(1)
def test_causal_mask(sub: Any, device: str) -> None:
    for T in (1, 4, 7):
        got = _call(sub, device, "causal_mask", T, device=device)
        if got.dtype != torch.bool:
            fail(
                f"`causal_mask({T})` has dtype {got.dtype}, expected torch.bool.",
                hint="Build it with dtype=torch.bool.",
            )
        assert_equal(
            got.numpy(),
            np.tril(np.ones((T, T), dtype=bool)),
            name=f"causal_mask({T})",
            hint="mask[i, j] is True when j <= i: the lower triangle, diagonal included (torch.tril).",
        )


@pytest.mark.points(1)
def test_fully_masked_row_gives_zeros(sub: Any, device: str, seed: int) -> None:
    _premise(sub, device)
    g = _gen(seed)
    q, k, v = _randn(g, 2, 5, 4), _randn(g, 2, 6, 4), _randn(g, 2, 6, 3)
    mask = _random_mask(g, 2, 5, 6)
    mask[0, 1] = False  # query 1 of batch 0 may attend to nothing
    mask[1, 4] = False
    got = _call(sub, device, "scaled_dot_product_attention", q, k, v, mask).double()
    if torch.isnan(got).any():
        fail("A query whose keys are all masked gave NaN.", hint=_ALL_MASKED)
    assert_close(got[0, 1], torch.zeros(3), rtol=0, atol=0, name="output of a fully masked query row", hint=_ALL_MASKED)
    assert_close(got[1, 4], torch.zeros(3), rtol=0, atol=0, name="output of a fully masked query row", hint=_ALL_MASKED)
    _check(got, q, k, v, mask, "a mask with fully masked query rows")


@pytest.mark.points(1)
def test_dtype_shapes_and_cross_attention(sub: Any, device: str, seed: int) -> None:
    _premise(sub, device)
    g = _gen(seed)
    # no leading dimensions, T_q != T_k, and a (T_q, T_k) mask
    q, k, v = _randn(g, 3, 4), _randn(g, 5, 4), _randn(g, 5, 2)
    mask = _random_mask(g, 3, 5)
    got = _call(sub, device, "scaled_dot_product_attention", q, k, v, mask)
    _check(got, q, k, v, mask, "2-D q (3, 4), k (5, 4), v (5, 2) and a (3, 5) mask")
    # float32 stays float32
    q, k, v = _randn(g, 2, 4, 8), _randn(g, 2, 4, 8), _randn(g, 2, 4, 8)
    got = _call(sub, device, "scaled_dot_product_attention", q.float(), k.float(), v.float())
    if got.dtype != torch.float32:
        fail(
            f"For float32 inputs the output has dtype {got.dtype}, expected torch.float32.",
            hint="Compute in the inputs' dtype: do not cast to float64 (or build float64 tensors).",
        )
    assert_close(got, _sdpa(q, k, v), rtol=1e-4, atol=1e-5, name="output for float32 inputs", hint=_SCALE)


@pytest.mark.points(1)
def test_large_scores_do_not_overflow(sub: Any, device: str, seed: int) -> None:
    _premise(sub, device)
    g = _gen(seed)
    q, k, v = _randn(g, 2, 5, 4, scale=30.0), _randn(g, 2, 5, 4, scale=30.0), _randn(g, 2, 5, 3)
    mask = torch.ones(5, 5, dtype=torch.bool).tril()
    for dtype, tol in ((torch.float64, 1e-9), (torch.float32, 2e-3)):
        got = _call(sub, device, "scaled_dot_product_attention", q.to(dtype), k.to(dtype), v.to(dtype), mask)
        if not torch.isfinite(got).all():
            fail(
                f"With scores of size ~1000 ({dtype}) the output contains inf or NaN.",
                hint="Use torch.softmax (it subtracts the row maximum), or subtract the row max before exp.",
            )
        assert_close(got, _sdpa(q, k, v, mask), rtol=tol, atol=tol, name=f"output for large scores ({dtype})")
