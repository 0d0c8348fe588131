"""Scaled dot-product attention and causal masks, in PyTorch."""

from __future__ import annotations

import math

import torch


def causal_mask(T: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The causal (look-back only) attention mask for a sequence of ``T`` tokens.

    Parameters
    ----------
    T : int
        Sequence length, ``T >= 1``.
    device : torch.device or str, optional
        Where to create the mask (``"cpu"``, ``"cuda"``, ...); ``None`` means the CPU.

    Returns
    -------
    mask : torch.Tensor of shape (T, T), dtype torch.bool
        ``mask[i, j]`` is True when query position ``i`` may attend to key
        position ``j``, i.e. when ``j <= i`` (the diagonal is True: a token sees
        itself). True means "may attend", as in ``F.scaled_dot_product_attention``.
    """
    # BEGIN SOLUTION
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()
    # END SOLUTION


def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Scaled dot-product attention, ``softmax(q @ k^T / sqrt(d) + masking) @ v``.

    Parameters
    ----------
    q : torch.Tensor of shape (..., T_q, d)
        Queries. ``...`` is any number of leading (batch, head) dimensions,
        including none; ``q``, ``k`` and ``v`` have the same leading dimensions.
    k : torch.Tensor of shape (..., T_k, d)
        Keys, with the same last dimension ``d`` as the queries.
    v : torch.Tensor of shape (..., T_k, d_v)
        Values; ``d_v`` may differ from ``d``.
    mask : torch.Tensor of dtype torch.bool, optional
        Broadcastable to the scores' shape ``(..., T_q, T_k)``, for example a
        ``(T_q, T_k)`` mask shared by every batch and head. ``mask[..., i, j]``
        True means "query ``i`` may attend to key ``j``"; False means it may not.
        ``None`` lets every query attend to every key.

    Returns
    -------
    out : torch.Tensor of shape (..., T_q, d_v)
        Same dtype and device as ``q``.

    Notes
    -----
    1. Scores: ``s = q @ k.transpose(-2, -1) / sqrt(d)``, with ``d = q.shape[-1]``.
    2. Masking happens on the scores, **before** the softmax: a masked score
       becomes ``-inf``, so its weight is exactly 0 and each row of weights still
       sums to 1 over the keys it may attend to.
    3. Weights: ``softmax(s, dim=-1)`` (over the keys).
    4. A query row whose keys are **all** masked gets weights of 0 everywhere,
       so its output row is all zeros; it is never NaN (a plain softmax of a row
       of ``-inf`` gives NaN: replace those rows).
    5. ``out = weights @ v``.

    Compute in the inputs' dtype (do not cast to float32), never modify the
    inputs, and do not call ``F.scaled_dot_product_attention`` (write it
    yourself; the grader compares with it in float64).
    """
    # BEGIN SOLUTION
    d = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (..., T_q, T_k)
    if mask is not None:
        mask = mask.to(device=scores.device, dtype=torch.bool)
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        # a row of all -inf gives NaN after the softmax: such a query attends to nothing
        weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)
    return weights @ v
    # END SOLUTION
