"""Multi-head self-attention as a PyTorch ``nn.Module``."""

from __future__ import annotations

import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    """Multi-head self-attention, as in "Attention Is All You Need".

    Parameters
    ----------
    d_model : int
        Size of each token's vector, the last dimension of the input.
    n_heads : int
        Number of heads ``h``. ``d_model`` must be divisible by ``n_heads``,
        otherwise the constructor raises ``ValueError``. Each head works on
        ``d_head = d_model // n_heads`` features.
    bias : bool, default=True
        Whether the four linear layers have a bias.

    Attributes
    ----------
    q_proj, k_proj, v_proj, out_proj : nn.Linear
        Four ``nn.Linear(d_model, d_model, bias=bias)`` layers, created in this
        order in ``__init__`` with PyTorch's default initialisation. These are
        the module's only parameters.
    n_heads, d_head : int

    Notes
    -----
    ``forward`` computes, for an input ``x`` of shape ``(B, T, d_model)``:

    1. ``q = q_proj(x)``, ``k = k_proj(x)``, ``v = v_proj(x)``, each ``(B, T, d_model)``.
    2. Split the heads: ``q.view(B, T, n_heads, d_head).transpose(1, 2)`` gives
       ``(B, n_heads, T, d_head)``; head ``i`` owns features
       ``i * d_head : (i + 1) * d_head`` of the projection. (``view(B, n_heads, T, d_head)``
       directly is wrong: it mixes tokens and heads.)
    3. Per head, scaled dot-product attention with the scale ``1 / sqrt(d_head)``
       (the head size, not ``d_model``), the mask applied to the scores before
       the softmax, and a query row with every key masked giving zeros (never NaN).
    4. Merge the heads back in order: ``transpose(1, 2)`` then ``reshape(B, T, d_model)``,
       so that head ``i``'s output fills features ``i * d_head : (i + 1) * d_head``.
    5. ``out_proj`` of that.

    This is exactly what ``nn.MultiheadAttention(d_model, n_heads, bias=bias,
    batch_first=True)`` computes with ``in_proj_weight = cat([q_proj.weight,
    k_proj.weight, v_proj.weight])``, except that its boolean ``attn_mask``
    means the opposite (True there is "masked out"). Write the attention
    yourself (no ``nn.MultiheadAttention``, no ``F.scaled_dot_product_attention``).
    """

    def __init__(self, d_model: int, n_heads: int, bias: bool = True) -> None:
        super().__init__()
        # BEGIN SOLUTION
        if n_heads < 1 or d_model % n_heads != 0:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        # END SOLUTION

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Self-attention over the sequence.

        Parameters
        ----------
        x : torch.Tensor of shape (B, T, d_model)
        mask : torch.Tensor of dtype torch.bool, optional
            Broadcastable to ``(B, n_heads, T, T)``, e.g. a ``(T, T)`` causal mask
            or a ``(B, 1, T, T)`` mask per sequence. ``mask[..., i, j]`` True
            means query ``i`` may attend to key ``j``. ``None``: no masking.

        Returns
        -------
        out : torch.Tensor of shape (B, T, d_model)
            Same dtype and device as ``x`` (and the module's parameters).
        """
        # BEGIN SOLUTION
        B, T, d_model = x.shape
        h, dh = self.n_heads, self.d_head

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(B, T, h, dh).transpose(1, 2)  # (B, h, T, dh)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        scores = q @ k.transpose(-2, -1) / math.sqrt(dh)  # (B, h, T, T)
        if mask is not None:
            mask = mask.to(device=scores.device, dtype=torch.bool)
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        if mask is not None:
            weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)
        out = weights @ v  # (B, h, T, dh)
        out = out.transpose(1, 2).reshape(B, T, d_model)  # heads back in order
        return self.out_proj(out)
        # END SOLUTION
