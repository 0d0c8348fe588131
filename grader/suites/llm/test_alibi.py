"""Hidden suite for llm/alibi: `alibi_slopes`, `alibi_bias` and `alibi_attention`.

Slopes and bias matrices are checked against values written out by hand (powers of two), and
against a float64 reference in the grader's process for other sizes. A test that builds on the
slopes first checks the learner's own slopes, so one mistake is reported once, where it is made.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from grader.helpers import assert_close, expect_raises, fail

# Runs in the learner's kernel: calls `fn` with tensor arguments moved to `device` and a dtype
# given by name made a torch.dtype; returns (result, its device type, whether an input changed).
_PROBE = """
import torch

def on_device(fn, device):
    def call(*args, **kwargs):
        args = [a.to(device) if isinstance(a, torch.Tensor) else a for a in args]
        if isinstance(kwargs.get("dtype"), str):  # a torch.dtype cannot cross the codec: its name does
            kwargs["dtype"] = getattr(torch, kwargs["dtype"])
        before = [a.clone() for a in args if isinstance(a, torch.Tensor)]
        out = fn(*args, **kwargs)
        after = [a for a in args if isinstance(a, torch.Tensor)]
        changed = any(not torch.equal(a, b) for a, b in zip(after, before))
        where = out.device.type if isinstance(out, torch.Tensor) else None
        return out, where, changed
    return call
"""
_TOL = 1e-6

_SLOPES_POW2 = (
    "For n heads (a power of two) the slopes are the geometric sequence starting at 2^(-8/n) with ratio 2^(-8/n): "
    "slopes[h] = 2 ** (-8 * (h + 1) / n), so 8 heads give 1/2, 1/4, ..., 1/256."
)
_SLOPES_OTHER = (
    "When n is not a power of two, take the closest power of two below it, p = 2 ** floor(log2(n)), use its p "
    "slopes, then append the first n - p of the slopes of 2p heads taken every other one "
    "(alibi_slopes(2 * p)[0::2]); 6 heads give [2^-2, 2^-4, 2^-6, 2^-8, 2^-1, 2^-3]."
)
_BIAS = (
    "bias[h, i, j] = -m[h] * (i - j) for keys j <= i: 0 on the diagonal and more negative the further back the "
    "key is (a penalty, never a bonus); -inf for future keys j > i."
)
_OFFSET = (
    "The T_q queries are the LAST T_q of the T_k positions: query i sits at position T_k - T_q + i, so "
    "alibi_bias(n, T_q, T_k) equals alibi_bias(n, T_k)[:, -T_q:, :]."
)


def _call(sub: Any, on: str, name: str, *args: Any, **kwargs: Any) -> torch.Tensor:
    """Call the learner's `name` on `device`; check the type and device of the result and that inputs are kept."""
    __tracebackhide__ = True
    wrapped = sub.define(_PROBE)["on_device"](getattr(sub, name), on)
    wrapped._label = name
    out, where, changed = wrapped(*args, **kwargs)
    if changed:
        fail(f"`{name}` modified one of its input tensors.", hint="Never change q, k or v in place.")
    if not isinstance(out, torch.Tensor):
        fail(f"`{name}` should return a torch.Tensor, but it returned a {type(out).__name__}.")
    if where != torch.device(on).type:
        fail(
            f"`{name}` returned a tensor on {where}, expected {on}.",
            hint="Create every new tensor on the requested device (device=device, or q.device in alibi_attention).",
        )
    return out


# ---------------------------------------------------------------- references (grader side)


def _slopes(n: int) -> list[float]:
    """The paper's rule, written independently of the solution: exponents of 2."""
    p = 1 << (n.bit_length() - 1)  # the largest power of two <= n
    exps = [-8 * (h + 1) / p for h in range(p)]
    exps += [-8 * (h + 1) / (2 * p) for h in range(0, 2 * p, 2)][: n - p]
    return [2.0**e for e in exps]


def _bias(slopes: list[float], T_q: int, T_k: int, kind: str = "ok") -> torch.Tensor:
    m = torch.tensor(slopes, dtype=torch.float64)[:, None, None]
    first = 0 if kind == "no_offset" else T_k - T_q
    dist = torch.arange(first, first + T_q, dtype=torch.float64)[:, None] - torch.arange(T_k, dtype=torch.float64)
    bias = -m * dist
    if kind == "sign":
        bias = -bias
    if kind == "per_key":
        bias = m * torch.arange(T_k, dtype=torch.float64)
    if kind == "symmetric":
        return -m * dist.abs()
    return bias.masked_fill(dist < 0, float("-inf"))


def _attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor, kind: str = "ok") -> torch.Tensor:
    q, k, v, bias = q.double(), k.double(), v.double(), bias.double()
    scores = q @ k.transpose(-2, -1)
    if kind != "no_scale":
        scores = scores / math.sqrt(q.shape[-1])
    if kind == "bias_scaled":
        bias = bias / math.sqrt(q.shape[-1])
    if kind != "no_bias":
        scores = scores + bias
    return torch.softmax(scores, dim=-1) @ v


def _check_own_slopes(sub: Any, device: str, n: int) -> list[float]:
    """The learner's slopes for n heads; a wrong one ends the test as a consequence (no hint)."""
    __tracebackhide__ = True
    got = _call(sub, device, "alibi_slopes", n, dtype="float64", device=device)
    want = torch.tensor(_slopes(n), dtype=torch.float64)
    if got.shape != want.shape or not torch.allclose(got.double().cpu(), want, rtol=1e-9, atol=0.0):
        fail(
            f"This follows from the problem with `alibi_slopes({n})` above: your slopes are "
            f"{[round(float(x), 6) for x in got.flatten()]}, and everything else builds on them."
        )
    return _slopes(n)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(2)
def test_slopes_for_powers_of_two(sub: Any, device: str) -> None:
    by_hand = {
        1: [2**-8],
        2: [2**-4, 2**-8],
        4: [2**-2, 2**-4, 2**-6, 2**-8],
        8: [2**-1, 2**-2, 2**-3, 2**-4, 2**-5, 2**-6, 2**-7, 2**-8],
        16: [2 ** (-0.5 * (h + 1)) for h in range(16)],
    }
    for n, want in by_hand.items():
        got = _call(sub, device, "alibi_slopes", n, dtype="float64", device=device)
        assert_close(
            got, torch.tensor(want, dtype=torch.float64), rtol=1e-12, name=f"alibi_slopes({n})", hint=_SLOPES_POW2
        )
    got = _call(sub, device, "alibi_slopes", 8, device=device)
    if got.dtype != torch.float32:
        fail(f"`alibi_slopes(8)` has dtype {got.dtype}; the default is torch.float32.")
    with expect_raises("ValueError", name="alibi_slopes(0)", hint="n_heads must be at least 1: raise ValueError."):
        sub.alibi_slopes(0)


@pytest.mark.points(2)
def test_slopes_for_other_head_counts_follow_the_papers_rule(sub: Any, device: str) -> None:
    by_hand = {
        3: [2**-4, 2**-8, 2**-2],
        6: [2**-2, 2**-4, 2**-6, 2**-8, 2**-1, 2**-3],
        12: [2.0**-e for e in (1, 2, 3, 4, 5, 6, 7, 8, 0.5, 1.5, 2.5, 3.5)],
    }
    for n in (5, 20):
        by_hand[n] = _slopes(n)
    for p in (2, 4, 8, 16):  # the closest powers of two below these counts: checked by the test above
        _check_own_slopes(sub, device, p)
    for n, want in by_hand.items():
        got = _call(sub, device, "alibi_slopes", n, dtype="float64", device=device)
        if got.shape == (n,) and torch.allclose(
            got.double().cpu(), torch.tensor(sorted(want, reverse=True), dtype=torch.float64)
        ):
            fail(
                f"`alibi_slopes({n})` has the right values in the wrong order: {[round(float(x), 5) for x in got]}.",
                hint="Keep the p slopes of the closest power of two first, in their order, and APPEND the extra ones "
                "(do not sort). " + _SLOPES_OTHER,
            )
        assert_close(
            got, torch.tensor(want, dtype=torch.float64), rtol=1e-12, name=f"alibi_slopes({n})", hint=_SLOPES_OTHER
        )


@pytest.mark.public
@pytest.mark.points(2)
def test_bias_matches_hand_computed_matrices(sub: Any, device: str) -> None:
    _check_own_slopes(sub, device, 2)
    inf = float("-inf")
    a, b = 2**-4, 2**-8  # the slopes of 2 heads
    want = torch.tensor(
        [
            [[0, inf, inf, inf], [-a, 0, inf, inf], [-2 * a, -a, 0, inf], [-3 * a, -2 * a, -a, 0]],
            [[0, inf, inf, inf], [-b, 0, inf, inf], [-2 * b, -b, 0, inf], [-3 * b, -2 * b, -b, 0]],
        ],
        dtype=torch.float64,
    )
    got = _call(sub, device, "alibi_bias", 2, 4, dtype="float64", device=device)
    if got.shape == want.shape and torch.equal(got.cpu().isinf(), want.isinf()):
        for kind, why in (
            ("sign", "Your bias is a bonus for distant keys (+m * (i - j)): it must be a penalty, -m * (i - j)."),
            (
                "per_key",
                "Your bias is m * j per key (BLOOM's shortcut): it gives the same softmax, but the pinned "
                "matrix is -m * (i - j), 0 on the diagonal.",
            ),
        ):
            if torch.allclose(got.double().cpu(), _bias([a, b], 4, 4, kind), rtol=1e-9, atol=1e-12):
                fail(f"`alibi_bias(2, 4)` is off. {why}", hint=_BIAS)
    if got.shape == want.shape and not got.cpu().isinf().any():
        fail(
            "`alibi_bias(2, 4)` has no -inf: a query can see future keys.",
            hint="The bias includes the causal mask: bias[h, i, j] = -inf for j > i.",
        )
    assert_close(got, want, rtol=1e-12, atol=0.0, name="alibi_bias(2, 4)", hint=_BIAS)
    slopes = _check_own_slopes(sub, device, 6)
    got = _call(sub, device, "alibi_bias", 6, 9, device=device)
    if got.dtype != torch.float32:
        fail(f"`alibi_bias(6, 9)` has dtype {got.dtype}; the default is torch.float32.")
    assert_close(got, _bias(slopes, 9, 9), rtol=1e-6, atol=1e-6, name="alibi_bias(6, 9)", hint=_BIAS)


@pytest.mark.points(1.5)
def test_bias_is_translation_invariant_and_places_queries_last(sub: Any, device: str) -> None:
    _check_own_slopes(sub, device, 4)
    full = _call(sub, device, "alibi_bias", 4, 10, dtype="float64", device=device).cpu()
    for shift in (1, 4):
        part = _call(sub, device, "alibi_bias", 4, 10 - shift, dtype="float64", device=device).cpu()
        if full.shape != (4, 10, 10) or part.shape != (4, 10 - shift, 10 - shift):
            fail(f"`alibi_bias(4, T)` should have shape (4, T, T); got {tuple(full.shape)} for T = 10.")
        assert_close(
            full[:, shift:, shift:],
            part,
            rtol=1e-12,
            name=f"alibi_bias(4, 10)[:, {shift}:, {shift}:] against alibi_bias(4, {10 - shift})",
            hint="ALiBi is translation invariant: the bias depends only on the distance i - j, not on where the "
            "pair sits in the sequence. " + _BIAS,
        )
    for T_q in (1, 3):
        got = _call(sub, device, "alibi_bias", 4, T_q, 10, dtype="float64", device=device).cpu()
        if torch.allclose(got, _bias(_slopes(4), T_q, 10, "no_offset"), rtol=1e-9) and T_q < 10:
            fail(f"`alibi_bias(4, {T_q}, 10)` treats the queries as positions 0 .. {T_q - 1}.", hint=_OFFSET)
        assert_close(got, full[:, -T_q:, :], rtol=1e-12, name=f"alibi_bias(4, {T_q}, 10)", hint=_OFFSET)
    with expect_raises("ValueError", name="alibi_bias(4, 5, 3)", hint="T_q > T_k is impossible: raise ValueError."):
        sub.alibi_bias(4, 5, 3)


@pytest.mark.points(2.5)
def test_attention_matches_the_reference(sub: Any, device: str, seed: int) -> None:
    g = _gen(seed)
    for B, h, T_q, T_k, d in ((2, 4, 7, 7, 8), (1, 6, 3, 11, 16), (2, 3, 1, 5, 4)):
        q, k, v = (torch.randn(B, h, t, d, generator=g) for t in (T_q, T_k, T_k))
        q = q * 3  # sharp scores, so a missing 1/sqrt(d) or bias shows
        got = _call(sub, device, "alibi_attention", q, k, v)
        own_bias = _call(sub, device, "alibi_bias", h, T_q, T_k, dtype="float64", device=device).cpu()
        if own_bias.shape != (h, T_q, T_k):
            fail(
                f"This follows from `alibi_bias({h}, {T_q}, {T_k})` having shape {tuple(own_bias.shape)}, "
                f"expected ({h}, {T_q}, {T_k}); see the bias tests above."
            )
        # built on the learner's own bias, so a bias mistake is reported by the bias tests only
        want = _attention(q, k, v, own_bias)
        what = f"alibi_attention with B={B}, h={h}, T_q={T_q}, T_k={T_k}, d={d}"
        if got.shape != want.shape:
            fail(f"`{what}` returned shape {tuple(got.shape)}, expected {tuple(want.shape)}.")
        if torch.allclose(got.double().cpu(), want, rtol=1e-4, atol=1e-5):
            continue
        for kind, why in (
            ("no_scale", "Divide q @ k^T by sqrt(d) before adding the bias."),
            ("bias_scaled", "Scale q @ k^T by 1 / sqrt(d), but add the bias as it is (do not divide it too)."),
            ("no_bias", "Add alibi_bias(h, T_q, T_k) to the scores before the softmax."),
        ):
            if torch.allclose(got.double().cpu(), _attention(q, k, v, own_bias, kind), rtol=1e-4, atol=1e-5):
                fail(f"`{what}` is off. {why}", hint="softmax(q @ k^T / sqrt(d) + alibi_bias(h, T_q, T_k)) @ v.")
        assert_close(
            got,
            want,
            rtol=1e-4,
            atol=1e-5,
            name=what,
            hint="softmax(q @ k^T / sqrt(d) + alibi_bias(h, T_q, T_k), dim=-1) @ v, with the bias of q's dtype.",
        )
