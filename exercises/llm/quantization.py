"""Quantize an LLM: int8 absmax and zero-point, per channel, int4 groups, and int8 Linear layers.

Quantization stores each weight as a small integer ``q`` and keeps a float ``scale`` (and, for
asymmetric schemes, an integer ``zero_point``) to map it back: ``w ≈ (q - zero_point) * scale``.

Conventions used throughout (every function follows them):

- Inputs are float tensors (float32 unless said otherwise); nothing is modified in place.
  Outputs live on the input's device.
- Rounding is ``torch.round`` (round half to even), applied **after** dividing by the scale.
- Integer codes are ``torch.int8`` tensors of the input's shape; scales are ``torch.float32``
  tensors; zero points are ``torch.int32`` tensors.
- A scale is never 0: where every value it covers is 0, the scale is ``1.0`` (so all codes
  are 0 and dequantizing gives exact zeros, never NaN).
- "Per tensor" scales and zero points are 0-d tensors (shape ``()``). "Per channel" ones have
  shape ``(out_features, 1)`` for a 2-D weight of shape ``(out_features, in_features)``: one
  per row (output channel), so they broadcast against the weight.

The grader also quantizes a small GPT of its own with :func:`quantize_linear_layers`: on
held-out text, its perplexity must stay within 1 % of the float model's, and its logits must
be those of int8 per-channel absmax weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def absmax_quantize(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric (absmax) int8 quantization of the whole tensor.

    ``scale = max(|w|) / 127`` and ``q = round(w / scale)``, so codes lie in the symmetric
    range ``[-127, 127]`` (-128 is never used) and the largest ``|w|`` maps to ±127.

    Parameters
    ----------
    w : float tensor of any shape

    Returns
    -------
    q : int8 tensor, same shape as ``w``
    scale : float32 tensor of shape ``()``; ``1.0`` if ``w`` is all zeros.
    """
    raise NotImplementedError


def zeropoint_quantize(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Asymmetric (zero-point) int8 quantization of the whole tensor, onto ``[-128, 127]``.

    The range is widened to include 0, so that 0.0 is exactly representable:
    ``lo = min(w.min(), 0)`` and ``hi = max(w.max(), 0)``. Then

    - ``scale = (hi - lo) / 255`` (``1.0`` if ``hi == lo``, i.e. ``w`` is all zeros),
    - ``zero_point = -128 - round(lo / scale)``, an integer in ``[-128, 127]`` (the code of 0.0),
    - ``q = clamp(round(w / scale) + zero_point, -128, 127)``.

    ``lo`` maps to -128 and ``hi`` to 127, and ``(q - zero_point) * scale`` is within
    ``scale / 2`` of ``w``.

    Returns
    -------
    q : int8 tensor, same shape as ``w``
    scale : float32 tensor of shape ``()``
    zero_point : int32 tensor of shape ``()``
    """
    raise NotImplementedError


def absmax_quantize_per_channel(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`absmax_quantize` applied to each row (output channel) of a 2-D weight separately.

    Parameters
    ----------
    w : float tensor of shape (out_features, in_features)

    Returns
    -------
    q : int8 tensor of shape (out_features, in_features)
    scale : float32 tensor of shape (out_features, 1): ``max(|w[i]|) / 127`` for row ``i``
        (``1.0`` for an all-zero row).

    Raises
    ------
    ValueError
        If ``w`` is not 2-D.
    """
    raise NotImplementedError


def zeropoint_quantize_per_channel(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`zeropoint_quantize` applied to each row (output channel) of a 2-D weight separately.

    Parameters
    ----------
    w : float tensor of shape (out_features, in_features)

    Returns
    -------
    q : int8 tensor of shape (out_features, in_features)
    scale : float32 tensor of shape (out_features, 1)
    zero_point : int32 tensor of shape (out_features, 1)

    Raises
    ------
    ValueError
        If ``w`` is not 2-D.
    """
    raise NotImplementedError


def dequantize(q: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor | None = None) -> torch.Tensor:
    """Map integer codes back to floats: ``(q - zero_point) * scale``, or ``q * scale`` without a zero point.

    ``scale`` and ``zero_point`` broadcast against ``q`` (a 0-d tensor per tensor, shape
    ``(out_features, 1)`` per channel). Compute in float32 (convert ``q`` and ``zero_point``
    to float32 first: int8 arithmetic would overflow).

    Returns
    -------
    float32 tensor of ``q``'s shape
    """
    raise NotImplementedError


def int4_groupwise(w: torch.Tensor, group_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int4 quantization with one scale per group of ``group_size`` consecutive weights of a row.

    Row ``i`` of ``w`` is cut into groups ``w[i, g * group_size : (g + 1) * group_size]``; each
    group gets ``scale[i, g] = max(|group|) / 7`` (``1.0`` for an all-zero group) and codes
    ``round(w / scale)`` in the symmetric range ``[-7, 7]``.

    Parameters
    ----------
    w : float tensor of shape (out_features, in_features)
    group_size : int
        A positive divisor of ``in_features``.

    Returns
    -------
    q : int8 tensor of shape (out_features, in_features), values in ``[-7, 7]`` (one code per
        byte; :func:`pack_int4` stores two per byte)
    scale : float32 tensor of shape (out_features, in_features // group_size)

    Raises
    ------
    ValueError
        If ``w`` is not 2-D, or ``group_size`` is not a positive divisor of ``in_features``.
    """
    raise NotImplementedError


def dequantize_groupwise(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Undo :func:`int4_groupwise`: ``w[i, j] ≈ q[i, j] * scale[i, j // group_size]``.

    ``group_size`` is ``in_features // scale.shape[1]``.

    Parameters
    ----------
    q : int8 tensor of shape (out_features, in_features)
    scale : float32 tensor of shape (out_features, n_groups)

    Returns
    -------
    float32 tensor of shape (out_features, in_features)
    """
    raise NotImplementedError


def pack_int4(q: torch.Tensor) -> torch.Tensor:
    """Pack pairs of signed 4-bit codes into bytes.

    Each code in ``[-8, 7]`` is stored as its 4-bit two's complement (``code & 0xF``). Along
    the last dimension, element ``2j`` goes to the **low** nibble and element ``2j + 1`` to the
    **high** nibble of byte ``j``: ``byte = (q[..., 2j] & 0xF) | ((q[..., 2j + 1] & 0xF) << 4)``.

    Parameters
    ----------
    q : int8 tensor of shape (..., n), values in ``[-8, 7]``, ``n`` even

    Returns
    -------
    uint8 tensor of shape (..., n // 2)

    Raises
    ------
    ValueError
        If the last dimension is odd, or a value lies outside ``[-8, 7]``.
    """
    raise NotImplementedError


def unpack_int4(packed: torch.Tensor) -> torch.Tensor:
    """Undo :func:`pack_int4`: uint8 of shape (..., m) to int8 codes in ``[-8, 7]`` of shape (..., 2 * m).

    The low nibble of byte ``j`` becomes element ``2j`` and the high nibble element ``2j + 1``;
    a nibble ``>= 8`` stands for ``nibble - 16``.
    """
    raise NotImplementedError


class QuantizedLinear(nn.Module):
    """A drop-in replacement for ``nn.Linear`` that stores its weight in int8 (weight-only quantization).

    Build it with :meth:`from_linear`. It holds three **buffers** (not parameters):

    - ``weight_q``: int8, shape (out_features, in_features), from :func:`absmax_quantize_per_channel`;
    - ``scale``: float32, shape (out_features, 1);
    - ``bias``: a float32 copy of the Linear's bias, shape (out_features,), or ``None``.

    and the ints ``in_features`` and ``out_features``. ``forward(x)`` dequantizes the weight
    and computes ``F.linear(x, dequantize(weight_q, scale), bias)``, for ``x`` of shape
    ``(..., in_features)``. It is not a subclass of ``nn.Linear``.
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> QuantizedLinear:
        """A QuantizedLinear with ``linear``'s quantized weight and bias, on ``linear``'s device."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``F.linear(x, dequantize(weight_q, scale), bias)``, shape ``(..., out_features)``."""
        raise NotImplementedError


def quantize_linear_layers(model: nn.Module) -> nn.Module:
    """Replace every ``nn.Linear`` inside ``model``, at any depth, by ``QuantizedLinear.from_linear(...)``.

    The replacement happens in place (``setattr`` on the parent module, or item assignment in
    an ``nn.ModuleList``/``nn.Sequential``), under the same attribute name, so the model keeps
    its structure and its ``forward``. Every other module (embeddings, LayerNorms, ...) and
    every other parameter is left untouched. A Linear whose weight is shared with another
    module (a tied ``lm_head``) is replaced too: its QuantizedLinear holds a quantized copy and
    the other module keeps the float weight. Returns ``model`` itself.
    """
    raise NotImplementedError
