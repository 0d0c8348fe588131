"""Hidden suite for llm/positional_encoding: `sinusoidal_encoding` and `apply_rope` (half-split layout).

References are computed in float64 in the grader's process; RoPE is also checked through its
properties (norms kept, position 0 is the identity, dot products depend only on m - n). Tolerances
(1e-5) accept angles computed in float32 too; every known mistake is off by far more.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from grader.helpers import ON_DEVICE, assert_close, expect_raises, fail

_TOL = 1e-5

_EXPONENT = (
    "The angle of pair i is pos / base ** (2 * i / d), for i = 0 .. d/2 - 1: the exponent is 2i/d "
    "(i.e. torch.arange(0, d, 2) / d), not i/d."
)
_SHARED = (
    "Features 2i (sin) and 2i+1 (cos) share one angle, pos / base ** (2i / d): compute d/2 angles, not one per feature."
)
_SIN_EVEN = "Put sin on the even features (0, 2, 4, ...) and cos on the odd ones (1, 3, 5, ...), as in the paper."
_INTERLEAVE_PE = "Interleave them: pe[:, 0::2] = sin(angles), pe[:, 1::2] = cos(angles), not [all sin | all cos]."
_HALF_SPLIT = (
    "Use the half-split layout: feature i is rotated together with feature i + d/2 "
    "(rotate_half(x) = cat([-x[..., d/2:], x[..., :d/2]], -1)), not with its neighbour i + 1 (interleaved)."
)
_THETA = "theta_i = base ** (-2 * i / d) for i = 0 .. d/2 - 1 (torch.arange(0, d, 2) / d), not base ** (-i / d)."
_DIRECTION = (
    "Rotate in the positive direction: out[..., i] = x[..., i] * cos(a) - x[..., i + d/2] * sin(a) and "
    "out[..., i + d/2] = x[..., i + d/2] * cos(a) + x[..., i] * sin(a)."
)
_POSITIONS = "Rotate row t by positions[t] * theta_i, using the positions you are given (not 0..T-1)."


def _call(sub: Any, on: str, name: str, *args: Any, **kwargs: Any) -> torch.Tensor:
    """Call the learner's `name` on `on`; check where the result lives and that inputs are untouched."""
    __tracebackhide__ = True
    wrapped = sub.define(ON_DEVICE)["on_device"](getattr(sub, name), on)
    wrapped._label = name  # learner-facing messages name the learner's function
    out, devices, changed = wrapped(*args, **kwargs)
    if changed:
        fail(f"`{name}` modified one of its input tensors.", hint="Never change x or positions in place.")
    if not isinstance(out, torch.Tensor):
        fail(f"`{name}` should return a torch.Tensor, but it returned a {type(out).__name__}.")
    want = torch.device(on).type
    if devices != [want]:
        fail(
            f"`{name}` returned a tensor on {', '.join(devices)}, expected {want}.",
            hint="Create every new tensor on the requested device (device=x.device for apply_rope).",
        )
    return out


# ---------------------------------------------------------------- references (grader side)


def _pe(T: int, d: int, base: float = 10000.0, kind: str = "ok") -> torch.Tensor:
    pos = torch.arange(T, dtype=torch.float64)[:, None]
    i = torch.arange(d // 2, dtype=torch.float64)
    if kind == "feature_exponent":
        j = torch.arange(d, dtype=torch.float64)
        a = pos / base ** (j / d)
        out = torch.cos(a)
        out[:, 0::2] = torch.sin(a[:, 0::2])
        return out
    a = pos / base ** ((i if kind == "pair_exponent" else 2 * i) / d)
    sin, cos = (torch.cos(a), torch.sin(a)) if kind == "swapped" else (torch.sin(a), torch.cos(a))
    if kind == "concat":
        return torch.cat([sin, cos], dim=1)
    out = torch.empty(T, d, dtype=torch.float64)
    out[:, 0::2], out[:, 1::2] = sin, cos
    return out


def _rope(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0, kind: str = "ok") -> torch.Tensor:
    d = x.shape[-1]
    h = d // 2
    i = torch.arange(h, dtype=torch.float64)
    theta = base ** (-(i if kind == "theta" else 2 * i) / d)
    pos = torch.arange(len(positions), dtype=torch.float64) if kind == "positions" else positions.double()
    a = pos[:, None] * theta  # (T, h)
    sin = torch.sin(a) * (-1.0 if kind == "direction" else 1.0)
    cos = torch.cos(a)
    if kind == "no_sign":  # rotate_half without its minus sign
        x1, x2 = x[..., :h], x[..., h:]
        return torch.cat([x1 * cos + x2 * sin, x2 * cos + x1 * sin], dim=-1)
    if kind == "interleaved":
        x1, x2 = x[..., 0::2], x[..., 1::2]
        out = torch.empty_like(x)
        out[..., 0::2] = x1 * cos - x2 * sin
        out[..., 1::2] = x2 * cos + x1 * sin
        return out
    x1, x2 = x[..., :h], x[..., h:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a.double(), b, rtol=_TOL, atol=_TOL))


def _check_pe(got: torch.Tensor, T: int, d: int, base: float, what: str) -> None:
    __tracebackhide__ = True
    exp = _pe(T, d, base)
    if tuple(got.shape) != (T, d):
        fail(f"`sinusoidal_encoding({T}, {d})` has shape {tuple(got.shape)}, expected ({T}, {d}).")
    if _close(got, exp):
        return
    hint = "pe[pos, 2i] = sin(pos / base ** (2i / d)) and pe[pos, 2i + 1] = cos(pos / base ** (2i / d))."
    for kind, why in (
        ("pair_exponent", _EXPONENT),
        ("feature_exponent", _SHARED),
        ("swapped", _SIN_EVEN),
        ("concat", _INTERLEAVE_PE),
    ):
        if _close(got, _pe(T, d, base, kind)):
            hint = why
    assert_close(got, exp, rtol=_TOL, atol=_TOL, name=f"sinusoidal_encoding({what})", hint=hint)


def _check_rope(got: torch.Tensor, x: torch.Tensor, positions: torch.Tensor, base: float, what: str) -> None:
    __tracebackhide__ = True
    exp = _rope(x, positions, base)
    if got.shape != exp.shape:
        fail(f"`apply_rope` ({what}) returned shape {tuple(got.shape)}, expected x's shape {tuple(exp.shape)}.")
    if _close(got, exp):
        return
    hint = (
        "With h = d/2 and a = positions[t] * base ** (-2i/d): out[..., i] = x[..., i] * cos(a) - x[..., i + h] * "
        "sin(a) and out[..., i + h] = x[..., i + h] * cos(a) + x[..., i] * sin(a)."
    )
    for kind, why in (
        ("interleaved", _HALF_SPLIT),
        ("theta", _THETA),
        ("direction", _DIRECTION),
        ("positions", _POSITIONS),
        (
            "no_sign",
            "rotate_half negates the second half, cat([-x[..., h:], x[..., :h]], -1): without the minus sign the "
            "pairs are not rotated, and no vector keeps its length.",
        ),
    ):
        if _close(got, _rope(x, positions, base, kind)):
            hint = why
    assert_close(got, exp, rtol=_TOL, atol=_TOL, name=f"apply_rope ({what})", hint=hint)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(2)
def test_sinusoidal_matches_the_paper(sub: Any, device: str) -> None:
    got = _call(sub, device, "sinusoidal_encoding", 50, 16, dtype="float64", device=device)
    _check_pe(got, 50, 16, 10000.0, "50, 16, dtype=torch.float64")
    got = _call(sub, device, "sinusoidal_encoding", 9, 6, base=100.0, device=device)
    _check_pe(got, 9, 6, 100.0, "9, 6, base=100.0")


@pytest.mark.points(1)
def test_sinusoidal_dtype_device_and_position_zero(sub: Any, device: str) -> None:
    got = _call(sub, device, "sinusoidal_encoding", 4, 8, device=device)
    if got.dtype != torch.float32:
        fail(f"`sinusoidal_encoding(4, 8)` has dtype {got.dtype}; the default is torch.float32.")
    _check_pe(got, 4, 8, 10000.0, "4, 8")  # names the mistake when pe[0] is not [0, 1, 0, 1, ...]
    with expect_raises("ValueError", name="sinusoidal_encoding(4, 7)", hint="d must be even: raise ValueError."):
        sub.sinusoidal_encoding(4, 7)


@pytest.mark.points(2)
def test_rope_matches_half_split_reference(sub: Any, device: str, seed: int) -> None:
    g = _gen(seed)
    x = torch.randn(2, 3, 7, 8, generator=g, dtype=torch.float64)  # (B, n_heads, T, d_head)
    positions = torch.arange(7)
    _check_rope(_call(sub, device, "apply_rope", x, positions), x, positions, 10000.0, "x (2, 3, 7, 8), positions 0..6")
    positions = torch.arange(7) + 20  # decoding after 20 cached tokens
    got = _call(sub, device, "apply_rope", x, positions, base=500.0)
    _check_rope(got, x, positions, 500.0, "positions 20..26, base=500")
    x2 = torch.randn(5, 12, generator=g, dtype=torch.float64)  # no leading dimensions
    positions = torch.tensor([0, 3, 1, 8, 2])
    _check_rope(_call(sub, device, "apply_rope", x2, positions), x2, positions, 10000.0, "2-D x (5, 12)")


@pytest.mark.points(1)
def test_rope_preserves_norms(sub: Any, device: str, seed: int) -> None:
    g = _gen(seed)
    x = torch.randn(3, 6, 10, generator=g, dtype=torch.float64)
    positions = torch.tensor([0, 1, 7, 100, 999, 4096])
    got = _call(sub, device, "apply_rope", x, positions).double()
    assert_close(
        got.norm(dim=-1),
        x.norm(dim=-1),
        rtol=_TOL,
        atol=_TOL,
        name="the norm of each rotated vector",
        hint="RoPE only rotates pairs of features (i, i + d/2) by an angle, so each vector keeps its length: "
        "out[i] = x[i] cos - x[i + d/2] sin, out[i + d/2] = x[i + d/2] cos + x[i] sin, with the same angle.",
    )


@pytest.mark.points(1)
def test_rope_dot_products_depend_only_on_offset(sub: Any, device: str, seed: int) -> None:
    g = _gen(seed)
    d = 16
    q, k = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
    m = torch.tensor([5, 12, 40, 300])
    n = torch.tensor([2, 9, 37, 297])  # m - n = 3 for every pair
    rq = _call(sub, device, "apply_rope", q.expand(4, d).contiguous(), m).double()
    rk = _call(sub, device, "apply_rope", k.expand(4, d).contiguous(), n).double()
    # a known wrong layout, direction, theta or position is named first, by the reference itself
    _check_rope(rq, q.expand(4, d), m, 10000.0, "q at positions 5, 12, 40, 300")
    _check_rope(rk, k.expand(4, d), n, 10000.0, "k at positions 2, 9, 37, 297")
    dots = (rq * rk).sum(-1)
    assert_close(
        dots,
        dots[:1].expand(4),
        rtol=_TOL,
        atol=_TOL,
        name="<rope(q, m), rope(k, n)> for (m, n) = (5, 2), (12, 9), (40, 37), (300, 297)",
        hint="The dot product of a query at m and a key at n must depend only on m - n: rotate every pair by "
        "positions[t] * theta_i with the same theta_i = base ** (-2i/d) for q and k.",
    )
    assert_close(
        dots[0],
        (q * _rope(k[None], torch.tensor([-3]))[0]).sum(),
        rtol=_TOL,
        atol=_TOL,
        name="<rope(q, m), rope(k, m - 3)>",
        hint=_HALF_SPLIT,
    )


@pytest.mark.points(1)
def test_rope_position_zero_is_identity(sub: Any, device: str, seed: int) -> None:
    g = _gen(seed)
    x = torch.randn(2, 4, 6, generator=g, dtype=torch.float64)
    got = _call(sub, device, "apply_rope", x, torch.zeros(4, dtype=torch.int64))
    assert_close(
        got,
        x,
        rtol=0,
        atol=1e-12,
        name="apply_rope at position 0",
        hint="At position 0 every angle is 0 (cos 1, sin 0): the output must equal x. " + _POSITIONS,
    )


@pytest.mark.points(1)
def test_rope_float32_stays_float32(sub: Any, device: str, seed: int) -> None:
    g = _gen(seed)
    x = torch.randn(2, 5, 8, generator=g, dtype=torch.float64)
    positions = torch.arange(5) + 100
    got = _call(sub, device, "apply_rope", x.float(), positions)
    if got.dtype != torch.float32:
        fail(
            f"`apply_rope` on float32 x returned {got.dtype}.",
            hint="Compute the angles in float64, then cast cos and sin to x.dtype before using them.",
        )
    _check_rope(got, x, positions, 10000.0, "float32 x, positions 100..104")


@pytest.mark.points(1)
def test_rope_rejects_odd_size(sub: Any, device: str, seed: int) -> None:
    x = torch.randn(3, 4, generator=_gen(seed), dtype=torch.float64)
    _check_rope(_call(sub, device, "apply_rope", x, torch.arange(3)), x, torch.arange(3), 10000.0, "x (3, 4)")
    with expect_raises("ValueError", name="apply_rope on x with d = 5", hint="d must be even: raise ValueError."):
        sub.apply_rope(torch.zeros(3, 5, dtype=torch.float64), torch.arange(3))
