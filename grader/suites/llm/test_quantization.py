"""Hidden suite for llm/quantization: int8 absmax and zero-point, per channel, int4 groups, int8 Linears.

Tensor functions are checked through properties (dtype, range, error at most scale/2, exact zeros)
and against the pinned formulas, on tensors built here and moved to the ``device`` fixture in the
learner's kernel. For ``quantize_linear_layers`` the suite trains a small character model made of
standard torch modules here (on the shipped *Macbeth*), builds the same model inside the kernel
from one public line of torch and the trained weights (no hidden source is sent: the suites'
reference GPT stays in the grader), lets the learner quantize it, and scores both models on the
held-out text.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.engine.remote import RemoteRef
from grader.helpers import DATASETS, assert_close, assert_equal, expect_raises, fail

PERPLEXITY_MARGIN = 0.01  # the int8 model's perplexity may exceed the float model's by at most 1 %

# The model the learner's quantize_linear_layers is tried on: a small character language model made of
# standard torch modules only (Linear layers nested one level down, an Embedding and LayerNorms that must
# stay untouched). Its architecture is this line of public torch, and its weights are trained here and sent
# as a state dict: no hidden source ever enters the learner's kernel.
_MODEL_CFG = {"vocab_size": 67, "n_embd": 32, "block_size": 32}
_ARCHITECTURE = (
    "lambda V, E, nn: nn.Sequential(nn.Embedding(V, E), nn.Sequential(nn.LayerNorm(E), nn.Linear(E, 4 * E), "
    "nn.GELU(), nn.Linear(4 * E, E)), nn.LayerNorm(E), nn.Linear(E, V))"
)
# f(*args) in the kernel, with every tensor argument moved to the device first.
_CALL = "lambda f, dev, *args: f(*[a.to(dev) if isinstance(a, __import__('torch').Tensor) else a for a in args])"
# The model, built in the kernel from the public architecture above and the suite's weights.
_BUILD = (
    "lambda V, E, sd, dev: (lambda m: (m.load_state_dict(sd), m.to(dev))[1])"
    f"(({_ARCHITECTURE})(V, E, __import__('torch').nn))"
)
# quantize_linear_layers(model): (whether it returned the model itself, the model).
_QUANTIZE = "lambda f, m: (lambda r: (r is m, m))(f(m))"
# Paths of the modules that are still nn.Linear, and of all modules with their class names.
_LINEARS = "lambda m: [n for n, mod in m.named_modules() if isinstance(mod, __import__('torch').nn.Linear)]"
_BUFFERS = "lambda m: {n: (str(b.dtype), tuple(b.shape)) for n, b in m.named_buffers()}"
_FLOAT_STATE = "lambda m: {n: p.detach().cpu().clone() for n, p in m.named_parameters()}"
_LOGITS = "lambda m, idx, dev: __import__('torch').no_grad()(lambda: m.to(dev).eval()(idx.to(dev)))()"


# ---------------------------------------------------------------- grader-side helpers


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread here: its default of one per core crawls while learner kernels keep the cores busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@functools.cache
def _corpus() -> tuple[torch.Tensor, torch.Tensor]:
    text = (DATASETS / "shakespeare" / "macbeth.txt").read_text(encoding="utf-8")
    stoi = {c: i for i, c in enumerate(sorted(set(text)))}
    ids = torch.tensor([stoi[c] for c in text], dtype=torch.int64)
    split = int(0.9 * len(text))
    return ids[:split], ids[split:]


@functools.cache
def _float_model() -> torch.nn.Module:
    """The character model trained here for 150 steps: deterministic, and far from its random init."""
    train, _ = _corpus()
    V, E, T = _MODEL_CFG["vocab_size"], _MODEL_CFG["n_embd"], _MODEL_CFG["block_size"]
    with _one_thread(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = eval(_ARCHITECTURE)(V, E, torch.nn)  # noqa: S307 - the suite's own constant
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
        gen = torch.Generator().manual_seed(0)
        for _ in range(150):
            starts = torch.randint(0, len(train) - T - 1, (32,), generator=gen)
            x = torch.stack([train[i : i + T] for i in starts])
            y = torch.stack([train[i + 1 : i + T + 1] for i in starts])
            loss = F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


@functools.cache
def _val_windows() -> tuple[torch.Tensor, torch.Tensor]:
    _, val = _corpus()
    T = _MODEL_CFG["block_size"]
    starts = range(0, len(val) - T, 4 * T)  # every 4th window: about 2,600 positions
    return torch.stack([val[i : i + T] for i in starts]), torch.stack([val[i + 1 : i + T + 1] for i in starts])


def _absmax_rows(w: torch.Tensor) -> torch.Tensor:
    """The pinned int8 per-channel absmax round trip of a 2-D weight, in float32."""
    absmax = w.abs().amax(dim=1, keepdim=True)
    scale = torch.where(absmax > 0, absmax / 127, torch.ones_like(absmax))
    return torch.round(w / scale).clamp(-127, 127) * scale


def _simulated_int8_model() -> torch.nn.Module:
    """The float model with every nn.Linear weight replaced by its int8 per-channel round trip."""
    model = copy.deepcopy(_float_model())
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                module.weight = torch.nn.Parameter(_absmax_rows(module.weight.detach().clone()))
    return model.eval()


def _perplexity(logits: torch.Tensor, targets: torch.Tensor) -> float:
    return math.exp(F.cross_entropy(logits.reshape(-1, logits.shape[-1]).double(), targets.reshape(-1)).item())


def _weights(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.from_numpy(scale * rng.standard_normal(shape)).to(torch.float32)


# ---------------------------------------------------------------- reading the learner's results


def _call(sub: Any, name: str, device: str, *args: Any) -> Any:
    __tracebackhide__ = True
    return sub.eval(_CALL)(getattr(sub, name), device, *args)


def _tuple(value: Any, n: int, what: str) -> tuple[Any, ...]:
    __tracebackhide__ = True
    if not isinstance(value, tuple | list) or len(value) != n:
        names = "(q, scale)" if n == 2 else "(q, scale, zero_point)"
        fail(f"`{what}` should return a tuple {names}, but it returned {type(value).__name__}.")
    for item in value:
        if not isinstance(item, torch.Tensor):
            fail(f"`{what}` should return tensors, but one item is a {type(item).__name__}.")
    return tuple(value)


def _check_codes(q: torch.Tensor, shape: tuple[int, ...], what: str, dtype: torch.dtype = torch.int8) -> None:
    __tracebackhide__ = True
    if q.dtype != dtype:
        fail(
            f"`{what}` returned codes of dtype {q.dtype}, expected {dtype}.",
            hint="Round, clamp to the range, then convert: q = torch.round(w / scale).clamp(lo, hi).to(torch.int8).",
        )
    if tuple(q.shape) != shape:
        fail(f"`{what}` returned codes of shape {tuple(q.shape)}, expected {shape} (the input's shape).")


def _check_param(t: torch.Tensor, shape: tuple[int, ...], name: str, what: str, integer: bool = False) -> None:
    __tracebackhide__ = True
    if tuple(t.shape) != shape:
        fail(
            f"`{what}` returned a {name} of shape {tuple(t.shape)}, expected {shape}.",
            hint="Per tensor: a 0-d tensor (shape ()); per channel: shape (out_features, 1), one per row.",
        )
    if integer and t.dtype != torch.int32:
        fail(
            f"`{what}` returned a {name} of dtype {t.dtype}, expected torch.int32.",
            hint="Zero points are torch.int32 tensors: convert with .to(torch.int32).",
        )
    if not integer and t.dtype != torch.float32:
        fail(f"`{what}` returned a {name} of dtype {t.dtype}, expected torch.float32.")
    if not torch.isfinite(t.double()).all():
        fail(
            f"`{what}` returned a {name} containing NaN or inf.",
            hint="For an all-zero input use scale = 1.0: never divide by a zero range.",
        )


def _check_error(w: torch.Tensor, deq: torch.Tensor, scale: torch.Tensor, what: str, hint: str) -> None:
    __tracebackhide__ = True
    err = (deq.double() - w.double()).abs()
    bound = scale.double().expand_as(err) / 2 * (1 + 1e-5) + 1e-7
    if (err > bound).any():
        i = int(torch.argmax((err - bound).flatten()))
        idx = tuple(int(k) for k in np.unravel_index(i, tuple(err.shape)))
        fail(
            f"`{what}`: the value {w[idx].item():.6g} at index {idx} comes back as {deq[idx].item():.6g}, an error of "
            f"{err[idx].item():.3g}, more than scale / 2 = {scale.double().expand_as(err)[idx].item() / 2:.3g}.",
            hint=hint,
        )


_ROUND_HINT = "Divide by the scale first, then round: q = torch.round(w / scale), never torch.round(w) / scale."


# ---------------------------------------------------------------- tests: tensors


@pytest.mark.public
@pytest.mark.points(1)
def test_absmax_int8_is_symmetric_and_within_half_a_step(sub: Any, device: str, rng: np.random.Generator) -> None:
    w = _weights(rng, 6, 33, scale=0.05)
    w[2, 7] = -0.4  # the largest magnitude is negative: it must map to -127
    q, scale = _tuple(_call(sub, "absmax_quantize", device, w), 2, "absmax_quantize")
    _check_codes(q, tuple(w.shape), "absmax_quantize")
    _check_param(scale, (), "scale", "absmax_quantize")
    range_hint = (
        "absmax uses the symmetric range [-127, 127]: scale = max(|w|) / 127, so that the largest |w| maps to ±127 "
        "and -128 is never used."
    )
    if int(q.min()) < -127 or int(q.max()) > 127:
        fail(f"`absmax_quantize` returned codes from {int(q.min())} to {int(q.max())}.", hint=range_hint)
    _check_error(w, q.double() * scale.double(), scale, "absmax_quantize", _ROUND_HINT)
    expected = torch.round(w.double() / scale.double())
    near_tie = ((w.double() / scale.double()).abs() % 1 - 0.5).abs() < 1e-4
    bad = (q.double() != expected) & ~near_tie
    if bad.any():
        fail("`absmax_quantize` codes are not round(w / scale).", hint=_ROUND_HINT)
    assert_close(scale.double(), 0.4 / 127, rtol=1e-6, name="scale", hint=range_hint)
    assert_equal(int(q[2, 7]), -127, name="the code of the largest |w| (-0.4)", hint=range_hint)


@pytest.mark.public
@pytest.mark.points(1)
def test_zeropoint_int8_uses_the_full_range_and_represents_zero(
    sub: Any, device: str, rng: np.random.Generator
) -> None:
    w = _weights(rng, 5, 20, scale=0.1) + 0.05  # skewed: more positive than negative
    w[0, :3] = 0.0
    q, scale, zp = _tuple(_call(sub, "zeropoint_quantize", device, w), 3, "zeropoint_quantize")
    _check_codes(q, tuple(w.shape), "zeropoint_quantize")
    _check_param(scale, (), "scale", "zeropoint_quantize")
    _check_param(zp, (), "zero_point", "zeropoint_quantize", integer=True)
    lo, hi = min(w.min().item(), 0.0), max(w.max().item(), 0.0)
    formula = (
        "scale = (hi - lo) / 255 with lo = min(w.min(), 0) and hi = max(w.max(), 0); zero_point = -128 - round(lo / "
        "scale); q = clamp(round(w / scale) + zero_point, -128, 127)."
    )
    assert_close(scale.double(), (hi - lo) / 255, rtol=1e-6, name="scale", hint=formula)
    assert_equal(int(zp), int(-128 - round(lo / ((hi - lo) / 255))), name="zero_point", hint=formula)
    assert_equal((int(q.min()), int(q.max())), (-128, 127), name="(min code, max code)", hint=formula)
    deq = (q.double() - int(zp)) * scale.double()
    _check_error(w, deq, scale, "zeropoint_quantize", _ROUND_HINT + " " + formula)
    zero_hint = (
        "Widen the range to include 0 (lo = min(w.min(), 0), hi = max(w.max(), 0)), so that 0.0 has an exact code: "
        "the zero point."
    )
    if (deq[0, :3] != 0).any():
        fail("`zeropoint_quantize` does not map 0.0 back to exactly 0.0.", hint=zero_hint)
    # all positive: the range still starts at 0, so 0 is the code -128
    pos = w.abs() + 0.5
    q, scale, zp = _tuple(_call(sub, "zeropoint_quantize", device, pos), 3, "zeropoint_quantize")
    assert_close(
        scale.double(),
        pos.max().item() / 255,
        rtol=1e-6,
        name="scale of an all-positive tensor (min 0.5)",
        hint=zero_hint,
    )
    assert_equal(int(zp), -128, name="zero_point of an all-positive tensor", hint=zero_hint)


@pytest.mark.public
@pytest.mark.points(1)
def test_all_zero_tensors_give_zeros_not_nan(sub: Any, device: str) -> None:
    hint = (
        "An all-zero tensor (or row, or group) has max |w| = 0: use scale = 1.0 there instead of dividing by 0, "
        "so every code is 0 (or the zero point) and dequantizing gives exact zeros."
    )
    zeros = torch.zeros(3, 8)
    q, scale = _tuple(_call(sub, "absmax_quantize", device, zeros), 2, "absmax_quantize")
    _check_param(scale, (), "scale", "absmax_quantize on an all-zero tensor")
    if scale.item() <= 0 or (q != 0).any():
        fail("`absmax_quantize` of an all-zero tensor should give codes 0 and a positive scale.", hint=hint)
    q, scale, zp = _tuple(_call(sub, "zeropoint_quantize", device, zeros), 3, "zeropoint_quantize")
    _check_param(scale, (), "scale", "zeropoint_quantize on an all-zero tensor")
    _check_param(zp, (), "zero_point", "zeropoint_quantize on an all-zero tensor", integer=True)
    if scale.item() <= 0 or not -128 <= int(zp) <= 127 or ((q.double() - zp.double()) * scale.double() != 0).any():
        fail(
            "`zeropoint_quantize` of an all-zero tensor should give a positive scale, a zero point in [-128, 127] "
            "and codes that dequantize to zeros.",
            hint=hint,
        )
    w = torch.tensor([[0.5, -1.0, 0.25, 0.0], [0.0, 0.0, 0.0, 0.0]])
    q, scale = _tuple(_call(sub, "absmax_quantize_per_channel", device, w), 2, "absmax_quantize_per_channel")
    _check_param(scale, (2, 1), "scale", "absmax_quantize_per_channel with an all-zero row")
    if scale[1].item() <= 0 or (q[1] != 0).any():
        fail("`absmax_quantize_per_channel` of an all-zero row should give codes 0 and a positive scale.", hint=hint)
    q, scale, zp = _tuple(_call(sub, "zeropoint_quantize_per_channel", device, w), 3, "zeropoint_quantize_per_channel")
    _check_param(scale, (2, 1), "scale", "zeropoint_quantize_per_channel with an all-zero row")
    if scale[1].item() <= 0 or ((q[1].double() - zp[1].double()) * scale[1].double() != 0).any():
        fail(
            "`zeropoint_quantize_per_channel` of an all-zero row should give a positive scale and codes that "
            "dequantize to zeros.",
            hint=hint,
        )
    q, scale = _tuple(_call(sub, "int4_groupwise", device, w, 2), 2, "int4_groupwise")
    _check_param(scale, (2, 2), "scale", "int4_groupwise with all-zero groups")
    deq = _call(sub, "dequantize_groupwise", device, q, scale)
    if not isinstance(deq, torch.Tensor) or not torch.isfinite(deq).all() or (deq[1] != 0).any():
        fail("`int4_groupwise` then `dequantize_groupwise` does not give zeros for all-zero groups.", hint=hint)


@pytest.mark.points(1)
def test_dequantize_computes_in_float32(sub: Any, device: str, rng: np.random.Generator) -> None:
    q = torch.from_numpy(rng.integers(-128, 128, size=(4, 6))).to(torch.int8)
    q[0, 0], q[0, 1] = 127, -128
    scale = torch.tensor(0.03125)
    zp = torch.tensor(-128, dtype=torch.int32)
    got = _call(sub, "dequantize", device, q, scale, zp)
    expected = (q.double() - (-128)) * 0.03125
    hint = (
        "Convert to float32 before subtracting: (q.float() - zero_point.float()) * scale. In int8, 127 - (-128) "
        "overflows."
    )
    if not isinstance(got, torch.Tensor) or got.dtype != torch.float32:
        fail("`dequantize` should return a float32 tensor.", hint=hint)
    assert_close(got, expected, rtol=1e-6, name="dequantize(q, scale, zero_point)", hint=hint)
    got = _call(sub, "dequantize", device, q, scale)
    assert_close(got, q.double() * 0.03125, rtol=1e-6, name="dequantize(q, scale) without a zero point")
    rows = torch.tensor([[0.5], [0.25], [2.0], [1.0]])
    zps = torch.tensor([[0], [-3], [5], [-128]], dtype=torch.int32)
    got = _call(sub, "dequantize", device, q, rows, zps)
    assert_close(
        got,
        (q.double() - zps.double()) * rows.double(),
        rtol=1e-6,
        name="dequantize with per-channel scale and zero_point of shape (4, 1)",
        hint="Let the (out_features, 1) scale and zero point broadcast over each row. " + hint,
    )


@pytest.mark.points(1)
def test_per_channel_scales_each_row_and_beats_per_tensor_on_an_outlier(
    sub: Any, device: str, rng: np.random.Generator
) -> None:
    w = _weights(rng, 8, 16, scale=0.02)
    w[3, 5] = 2.0  # one outlier: per tensor, it makes the step 100 times too coarse for the other rows
    row_hint = (
        "Per channel means one scale for each row (output channel): scale[i] = max(|w[i]|) / 127, of shape "
        "(out_features, 1), e.g. w.abs().amax(dim=1, keepdim=True) / 127."
    )
    q, scale = _tuple(_call(sub, "absmax_quantize_per_channel", device, w), 2, "absmax_quantize_per_channel")
    _check_codes(q, tuple(w.shape), "absmax_quantize_per_channel")
    _check_param(scale, (8, 1), "scale", "absmax_quantize_per_channel")
    assert_close(
        scale.double(), w.abs().amax(dim=1, keepdim=True).double() / 127, rtol=1e-6, name="scale", hint=row_hint
    )
    deq = q.double() * scale.double()
    _check_error(w, deq, scale, "absmax_quantize_per_channel", _ROUND_HINT)
    qt, st = _tuple(_call(sub, "absmax_quantize", device, w), 2, "absmax_quantize")
    err_channel = ((deq - w.double()) ** 2).mean().item()
    err_tensor = ((qt.double() * st.double() - w.double()) ** 2).mean().item()
    if not err_channel < err_tensor / 10:
        fail(
            f"With one outlier (2.0 among weights of about 0.02), per-channel quantization has a mean squared error of "
            f"{err_channel:.3g}, not much better than per-tensor ({err_tensor:.3g}).",
            hint=row_hint,
        )
    q, scale, zp = _tuple(_call(sub, "zeropoint_quantize_per_channel", device, w), 3, "zeropoint_quantize_per_channel")
    _check_codes(q, tuple(w.shape), "zeropoint_quantize_per_channel")
    _check_param(scale, (8, 1), "scale", "zeropoint_quantize_per_channel")
    _check_param(zp, (8, 1), "zero_point", "zeropoint_quantize_per_channel", integer=True)
    lo = w.amin(dim=1, keepdim=True).clamp(max=0).double()
    hi = w.amax(dim=1, keepdim=True).clamp(min=0).double()
    assert_close(scale.double(), (hi - lo) / 255, rtol=1e-6, name="per-channel zero-point scale", hint=row_hint)
    _check_error(w, (q.double() - zp.double()) * scale.double(), scale, "zeropoint_quantize_per_channel", _ROUND_HINT)
    with expect_raises(
        "ValueError", name="absmax_quantize_per_channel of a 1-D tensor", hint="Per channel needs a 2-D weight."
    ):
        _call(sub, "absmax_quantize_per_channel", device, w[0])


@pytest.mark.points(1)
def test_int4_groupwise_scales_each_group(sub: Any, device: str, rng: np.random.Generator) -> None:
    w = _weights(rng, 3, 32, scale=0.1)
    w[1, 9] = 1.5  # an outlier only affects its own group
    q, scale = _tuple(_call(sub, "int4_groupwise", device, w, 8), 2, "int4_groupwise")
    _check_codes(q, (3, 32), "int4_groupwise")
    _check_param(scale, (3, 4), "scale", "int4_groupwise(w, group_size=8)")
    group_hint = (
        "Cut each row into groups of group_size consecutive weights; each group gets scale = max(|group|) / 7 and "
        "codes round(w / scale) in [-7, 7]: w.reshape(out, in // group_size, group_size)."
    )
    if int(q.min()) < -7 or int(q.max()) > 7:
        fail(f"`int4_groupwise` returned codes from {int(q.min())} to {int(q.max())}.", hint=group_hint)
    expected_scale = w.double().reshape(3, 4, 8).abs().amax(dim=2) / 7
    assert_close(scale.double(), expected_scale, rtol=1e-6, name="scale", hint=group_hint)
    full_scale = scale.double().repeat_interleave(8, dim=1)
    _check_error(w, q.double() * full_scale, full_scale, "int4_groupwise", _ROUND_HINT)
    deq = _call(sub, "dequantize_groupwise", device, q, scale)
    assert_close(
        deq,
        q.double() * full_scale,
        rtol=1e-6,
        name="dequantize_groupwise(q, scale)",
        hint="w[i, j] = q[i, j] * scale[i, j // group_size], as float32.",
    )
    with expect_raises(
        "ValueError",
        name="int4_groupwise with group_size=5 and 32 columns",
        hint="Raise ValueError when in_features is not a multiple of group_size.",
    ):
        _call(sub, "int4_groupwise", device, w, 5)


@pytest.mark.public
@pytest.mark.points(1)
def test_pack_int4_round_trips_with_the_low_nibble_first(sub: Any, device: str, rng: np.random.Generator) -> None:
    codes = torch.arange(-8, 8, dtype=torch.int8).reshape(2, 8)
    packed = _call(sub, "pack_int4", device, codes)
    layout_hint = (
        "Byte j holds element 2j in its low nibble and element 2j + 1 in its high nibble, each as 4-bit two's "
        "complement: (q[..., 0::2] & 0xF) | ((q[..., 1::2] & 0xF) << 4), as uint8."
    )
    if not isinstance(packed, torch.Tensor) or packed.dtype != torch.uint8 or tuple(packed.shape) != (2, 4):
        got = f"{packed.dtype} of shape {tuple(packed.shape)}" if isinstance(packed, torch.Tensor) else "no tensor"
        fail(f"`pack_int4` of int8 codes of shape (2, 8) gave {got}; expected uint8 of shape (2, 4).", hint=layout_hint)
    nib = codes.to(torch.int16) & 0xF
    expected = (nib[:, 0::2] | (nib[:, 1::2] << 4)).to(torch.uint8)
    assert_equal(packed.numpy(), expected.numpy(), name="pack_int4(codes -8 .. 7)", hint=layout_hint)
    unpacked = _call(sub, "unpack_int4", device, expected)
    sign_hint = "Unpack each nibble and sign-extend it: a nibble >= 8 stands for nibble - 16 (two's complement)."
    if not isinstance(unpacked, torch.Tensor) or unpacked.dtype != torch.int8:
        fail("`unpack_int4` should return an int8 tensor.", hint=sign_hint)
    assert_equal(
        unpacked.numpy(), codes.numpy(), name="unpack_int4(pack of -8 .. 7)", hint=sign_hint + " " + layout_hint
    )
    rand = torch.from_numpy(rng.integers(-8, 8, size=(3, 5, 10))).to(torch.int8)
    back = _call(sub, "unpack_int4", device, _call(sub, "pack_int4", device, rand))
    assert_equal(back.numpy(), rand.numpy(), name="unpack_int4(pack_int4(q)) for random q of shape (3, 5, 10)")
    with expect_raises("ValueError", name="pack_int4 of an odd number of codes", hint="Raise ValueError for odd n."):
        _call(sub, "pack_int4", device, codes[:, :7])


# ---------------------------------------------------------------- tests: a quantized GPT


def _quantized_reference(sub: Any, device: str) -> RemoteRef:
    """The suite's model, built in the kernel from its weights, passed through quantize_linear_layers."""
    __tracebackhide__ = True
    sd = {k: v.detach().clone() for k, v in _float_model().state_dict().items()}
    model = sub.eval(_BUILD)(_MODEL_CFG["vocab_size"], _MODEL_CFG["n_embd"], sd, device)
    same, model = sub.eval(_QUANTIZE)(sub.quantize_linear_layers, model)
    if not same:
        fail(
            "`quantize_linear_layers(model)` did not return the model it was given.",
            hint="Replace the Linear layers in place and end with `return model`.",
        )
    return model


def _quantizer_premise(sub: Any) -> None:
    """The quantized GPT is built from absmax_quantize_per_channel and dequantize: if they are already wrong on
    a plain weight, a failure here follows from that, and says so without a guess."""
    __tracebackhide__ = True
    w = torch.randn(5, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float32)
    w[2] = 0.0  # an all-zero row
    absmax = w.abs().amax(dim=1, keepdim=True)
    scale = torch.where(absmax > 0, absmax / 127, torch.ones_like(absmax))
    q = torch.round(w / scale).clamp(-127, 127).to(torch.int8)
    got = sub.absmax_quantize_per_channel(w)
    ok = isinstance(got, tuple | list) and len(got) == 2 and all(isinstance(t, torch.Tensor) for t in got)
    ok = ok and got[0].shape == q.shape and got[1].shape == scale.shape and torch.allclose(got[1], scale, rtol=1e-6)
    # an equivalent float formula may round a tie the other way: one step of slack
    ok = ok and int((got[0].to(torch.int16) - q.to(torch.int16)).abs().max()) <= 1
    if ok:
        back = sub.dequantize(q, scale)
        ok = isinstance(back, torch.Tensor) and torch.allclose(back.double(), (q.double() * scale.double()), rtol=1e-6)
    if not ok:
        fail(
            "absmax_quantize_per_channel or dequantize is already wrong on a plain weight: this follows from the "
            "problem reported by the tests of those functions above; fix that first."
        )


@pytest.mark.public
@pytest.mark.points(1)
def test_quantize_linear_layers_replaces_every_linear_and_nothing_else(sub: Any, device: str) -> None:
    model = _quantized_reference(sub, device)
    left = sub.eval(_LINEARS)(model)
    if left:
        fail(
            f"After quantize_linear_layers, {len(left)} nn.Linear layers are left, e.g. `{left[0]}`.",
            hint="Walk the whole module tree (named_children, recursively, or named_modules) and replace Linear "
            "layers at any depth, including those inside nn.ModuleList and nn.ModuleDict.",
        )
    buffers = sub.eval(_BUFFERS)(model)
    float_model = _float_model()
    for name, module in float_model.named_modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        out_f, in_f = module.weight.shape
        for buf, dtype, shape in (("weight_q", "torch.int8", (out_f, in_f)), ("scale", "torch.float32", (out_f, 1))):
            got = buffers.get(f"{name}.{buf}")
            if got != (dtype, shape):
                fail(
                    f"The module that replaced `{name}` should hold a buffer `{buf}` of dtype {dtype} and shape {shape}"
                    f"; it has {'none' if got is None else got}.",
                    hint="QuantizedLinear.from_linear registers weight_q (int8, per-channel absmax codes) and scale "
                    "(float32, (out_features, 1)) with register_buffer.",
                )
    state = sub.eval(_FLOAT_STATE)(model)
    for name, value in float_model.named_parameters():
        if name.endswith(".weight") and isinstance(float_model.get_submodule(name[: -len(".weight")]), torch.nn.Linear):
            continue
        if name not in state:
            continue  # e.g. a tied weight listed under the other name
        assert_close(
            state[name],
            value.detach(),
            rtol=0,
            atol=0,
            name=f"`{name}` after quantize_linear_layers",
            hint="Only nn.Linear layers are replaced: embeddings, LayerNorms and their parameters stay as they were.",
        )


@pytest.mark.points(1)
def test_quantized_gpt_perplexity_is_within_the_margin(sub: Any, device: str) -> None:
    _quantizer_premise(sub)
    model = _quantized_reference(sub, device)
    if sub.eval(_LINEARS)(model):
        fail(
            "Some nn.Linear layers of the GPT were not replaced: this follows from the problem reported by "
            "test_quantize_linear_layers_replaces_every_linear_and_nothing_else above."
        )
    x, y = _val_windows()
    with torch.no_grad(), _one_thread():
        ppl_float = _perplexity(_float_model()(x), y)
    logits = sub.eval(_LOGITS)(model, x, device)
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (*x.shape, _MODEL_CFG["vocab_size"]):
        fail("The quantized model's forward no longer returns logits of shape (B, T, vocab_size).")
    ppl = _perplexity(logits.double(), y)
    if not math.isfinite(ppl) or ppl > ppl_float * (1 + PERPLEXITY_MARGIN):
        fail(
            f"On held-out Macbeth, the float model's perplexity is {ppl_float:.3f}; after quantize_linear_layers it is "
            f"{ppl:.3f}, more than {100 * PERPLEXITY_MARGIN:g} % worse.",
            hint="QuantizedLinear.forward must compute F.linear(x, dequantize(weight_q, scale), bias): int8 "
            "per-channel absmax codes of the original weight, the scales, and the original bias.",
        )


@pytest.mark.points(1)
def test_quantized_gpt_matches_int8_per_channel_weights(sub: Any, device: str) -> None:
    _quantizer_premise(sub)
    model = _quantized_reference(sub, device)
    if sub.eval(_LINEARS)(model):
        fail(
            "Some nn.Linear layers of the GPT were not replaced: this follows from the problem reported by "
            "test_quantize_linear_layers_replaces_every_linear_and_nothing_else above."
        )
    x, _ = _val_windows()
    x = x[:8]
    got = sub.eval(_LOGITS)(model, x, device)
    with torch.no_grad(), _one_thread():
        expected = _simulated_int8_model()(x)
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        fail("The quantized model's forward no longer returns logits of shape (B, T, vocab_size).")
    # A few codes one step off (a tie rounded the other way by an equivalent float formula) move the logits by
    # about 1e-2 at most and 1e-3 on average; one scale for the whole matrix moves them by 7e-2 and 1e-2.
    diff = (got.double() - expected.double()).abs()
    if not torch.isfinite(diff).all() or diff.max().item() > 0.03 or diff.mean().item() > 2e-3:
        fail(
            f"The logits of your quantized model differ from those of int8 per-channel absmax weights by up to "
            f"{diff.max().item():.3g} ({diff.mean().item():.3g} on average).",
            hint="Each QuantizedLinear uses weight-only int8 absmax quantization per output channel (one scale per "
            "row of the weight, absmax_quantize_per_channel), dequantizes in forward, and keeps the float bias.",
        )
