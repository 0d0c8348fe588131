"""Positional information for transformers: sinusoidal encodings and rotary embeddings (RoPE)."""

from __future__ import annotations

import torch


def sinusoidal_encoding(
    T: int,
    d: int,
    base: float = 10000.0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The fixed sinusoidal position encodings of "Attention Is All You Need".

    Parameters
    ----------
    T : int
        Number of positions ``0, 1, ..., T - 1``.
    d : int
        Encoding size; must be even, otherwise ``ValueError``.
    base : float, default=10000.0
        The base of the wavelengths (10000 in the paper).
    device, dtype
        Device and floating dtype of the result.

    Returns
    -------
    pe : torch.Tensor of shape (T, d)
        For position ``pos`` and ``i = 0, 1, ..., d/2 - 1``, with the angle
        ``a = pos / base ** (2 * i / d)``::

            pe[pos, 2 * i]     = sin(a)      # even features: sin
            pe[pos, 2 * i + 1] = cos(a)      # odd features: cos, same angle

        So ``pe[0]`` is ``[0, 1, 0, 1, ...]``. Compute the angles in float64 and
        cast the result to ``dtype`` at the end, so float32 results are accurate
        to about 1e-7 for ``T`` in the thousands.
    """
    # BEGIN SOLUTION
    if d % 2 != 0:
        raise ValueError(f"d must be even, got {d}")
    pos = torch.arange(T, dtype=torch.float64, device=device)[:, None]  # (T, 1)
    two_i = torch.arange(0, d, 2, dtype=torch.float64, device=device)  # (d/2,)
    angles = pos / base ** (two_i / d)  # (T, d/2)
    pe = torch.empty(T, d, dtype=torch.float64, device=device)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe.to(dtype)
    # END SOLUTION


def apply_rope(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotary position embedding (RoPE), in the **half-split** layout (GPT-NeoX, Llama in Hugging Face).

    Parameters
    ----------
    x : torch.Tensor of shape (..., T, d)
        Queries or keys, e.g. ``(B, n_heads, T, d_head)``. ``d`` must be even,
        otherwise ``ValueError``.
    positions : torch.Tensor of shape (T,)
        The integer position of each of the ``T`` rows (e.g. ``torch.arange(T)``,
        or ``torch.arange(T) + offset`` when decoding with a cache), shared by
        every leading dimension.
    base : float, default=10000.0

    Returns
    -------
    out : torch.Tensor, same shape, dtype and device as ``x``

    Notes
    -----
    Feature ``i`` is paired with feature ``i + d/2`` (not with ``i + 1``: that
    is the interleaved layout of the RoPE paper, a different convention). With
    ``h = d / 2``, ``theta_i = base ** (-2 * i / d)`` for ``i = 0, ..., h - 1`` and
    the angle ``a = pos * theta_i`` of each row::

        out[..., i]     = x[..., i]     * cos(a) - x[..., i + h] * sin(a)
        out[..., i + h] = x[..., i + h] * cos(a) + x[..., i]     * sin(a)

    i.e. ``out = x * cos + rotate_half(x) * sin`` with
    ``rotate_half(x) = cat([-x[..., h:], x[..., :h]], dim=-1)`` and cos/sin
    repeated over both halves. Each pair is rotated by its angle, so norms
    are preserved, position 0 is the identity and ``<rope(q, m), rope(k, n)>``
    depends only on ``m - n``. Compute the angles in float64, then cast cos
    and sin to ``x``'s dtype. Never modify ``x``.
    """
    # BEGIN SOLUTION
    d = x.shape[-1]
    if d % 2 != 0:
        raise ValueError(f"the last dimension must be even, got {d}")
    h = d // 2
    theta = base ** (-torch.arange(0, d, 2, dtype=torch.float64, device=x.device) / d)  # (h,)
    angles = positions.to(device=x.device, dtype=torch.float64)[:, None] * theta  # (T, h)
    cos = torch.cos(angles).repeat(1, 2).to(x.dtype)  # (T, d)
    sin = torch.sin(angles).repeat(1, 2).to(x.dtype)
    rotated = torch.cat([-x[..., h:], x[..., :h]], dim=-1)
    return x * cos + rotated * sin
    # END SOLUTION
