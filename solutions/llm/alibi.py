"""ALiBi: Attention with Linear Biases (Press, Smith and Lewis, 2022, "Train Short, Test Long").

ALiBi adds no position embedding at all. Instead, every attention score of head ``h`` gets a
penalty proportional to how far back the key is: ``score[i, j] += -m_h * (i - j)``. Each head has
its own slope ``m_h``, so some heads look far back and others mostly at the last few tokens.

Conventions used throughout (they are pinned: the grader checks each one):

- Heads are numbered ``0 .. n_heads - 1``; ``slopes[h]`` belongs to head ``h``.
- Positions are ``0, 1, 2, ...``; query position ``i``, key position ``j``.
- Causal: a query never sees a later key; such scores are ``-inf`` (their softmax weight is 0).
- Slopes are computed in float64 and cast to the requested ``dtype`` at the end.
"""

from __future__ import annotations

import math

import torch


def alibi_slopes(
    n_heads: int, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """The paper's head slopes ``m_0, ..., m_{n_heads - 1}``.

    When ``n_heads`` is a power of two, the slopes are the geometric sequence that starts at
    ``2 ** (-8 / n_heads)`` and has that same ratio::

        slopes[h] = 2 ** (-8 * (h + 1) / n_heads)      for h = 0 .. n_heads - 1

    (8 heads: ``1/2, 1/4, ..., 1/256``; 16 heads: ``2**-0.5, 2**-1, ..., 2**-8``.)

    When ``n_heads`` is **not** a power of two, the paper's rule applies: take ``p``, the
    closest power of two *below* ``n_heads`` (``p = 2 ** floor(log2(n_heads))``), and use the
    ``p`` slopes above; then append the remaining ``n_heads - p`` slopes taken from the slopes
    of ``2 * p`` heads, every other one starting with the first (indices ``0, 2, 4, ...``).
    Those are exactly the slopes that fall *between* the first ``p`` ones. Example, 6 heads:
    ``p = 4`` gives ``[2**-2, 2**-4, 2**-6, 2**-8]``; 8 heads would give ``2**-1 .. 2**-8``,
    of which ``[2**-1, 2**-3, 2**-5, 2**-7][:2]`` are appended::

        alibi_slopes(6) == [2**-2, 2**-4, 2**-6, 2**-8, 2**-1, 2**-3]

    Parameters
    ----------
    n_heads : int
        Number of heads, at least 1 (otherwise ``ValueError``).
    device, dtype
        Device and floating dtype of the result.

    Returns
    -------
    slopes : torch.Tensor of shape (n_heads,)
    """
    # BEGIN SOLUTION
    if n_heads < 1:
        raise ValueError(f"n_heads must be at least 1, got {n_heads}")

    def power_of_two(n: int) -> list[float]:
        return [2.0 ** (-8.0 * (h + 1) / n) for h in range(n)]

    p = 2 ** math.floor(math.log2(n_heads))
    slopes = power_of_two(p)
    if p != n_heads:
        slopes += power_of_two(2 * p)[0::2][: n_heads - p]
    return torch.tensor(slopes, dtype=torch.float64, device=device).to(dtype)
    # END SOLUTION


def alibi_bias(
    n_heads: int,
    T_q: int,
    T_k: int | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The ALiBi bias to add to the attention scores, causal mask included.

    The ``T_q`` queries are the **last** ``T_q`` of the ``T_k`` positions (as when a model
    generates with a key/value cache): query ``i`` sits at position ``p_i = T_k - T_q + i``.
    With ``m = alibi_slopes(n_heads)``::

        bias[h, i, j] = -m[h] * (p_i - j)     if j <= p_i     (0 on the diagonal, more negative
                                                               the further back the key is)
        bias[h, i, j] = -inf                  if j >  p_i     (a future key: masked)

    The matrix is pinned exactly: do not replace it by ``m[h] * j`` (BLOOM's shortcut, which
    differs from it by a constant per row and so gives the same softmax, but not this bias).
    It depends only on ``p_i - j``, so shifting every position by the same amount changes
    nothing (translation invariance): ``alibi_bias(n, T)[:, s:, s:] == alibi_bias(n, T - s)``.

    Parameters
    ----------
    n_heads : int
        Number of heads (at least 1).
    T_q : int
        Number of queries, at least 1.
    T_k : int, optional
        Number of keys; defaults to ``T_q``. ``T_q > T_k`` raises ``ValueError``.
    device, dtype
        Device and floating dtype of the result (slopes in float64, cast at the end).

    Returns
    -------
    bias : torch.Tensor of shape (n_heads, T_q, T_k)
    """
    # BEGIN SOLUTION
    T_k = T_q if T_k is None else T_k
    if T_q > T_k:
        raise ValueError(f"T_q={T_q} queries cannot be more than T_k={T_k} keys")
    slopes = alibi_slopes(n_heads, device=device, dtype=torch.float64)  # (h,)
    q_pos = torch.arange(T_k - T_q, T_k, device=device, dtype=torch.float64)[:, None]  # (T_q, 1)
    k_pos = torch.arange(T_k, device=device, dtype=torch.float64)[None, :]  # (1, T_k)
    distance = q_pos - k_pos  # (T_q, T_k), negative for future keys
    bias = -slopes[:, None, None] * distance  # (h, T_q, T_k)
    bias = bias.masked_fill(distance < 0, float("-inf"))
    return bias.to(dtype)
    # END SOLUTION


def alibi_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal multi-head attention with ALiBi (no position embedding anywhere).

    Parameters
    ----------
    q : torch.Tensor of shape (B, h, T_q, d)
        Queries; they are the last ``T_q`` positions of the sequence (see :func:`alibi_bias`).
    k, v : torch.Tensor of shape (B, h, T_k, d)
        Keys and values of positions ``0 .. T_k - 1``, with ``T_q <= T_k``.

    Returns
    -------
    out : torch.Tensor of shape (B, h, T_q, d)
        ``softmax(q @ k^T / sqrt(d) + alibi_bias(h, T_q, T_k), dim=-1) @ v``, per head,
        with the bias built on ``q``'s device and dtype. The scaling by ``1 / sqrt(d)`` is
        applied to ``q @ k^T`` only, not to the bias. The inputs are not modified.
    """
    # BEGIN SOLUTION
    h, T_q, d = q.shape[1], q.shape[2], q.shape[3]
    T_k = k.shape[2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (B, h, T_q, T_k)
    scores = scores + alibi_bias(h, T_q, T_k, device=q.device, dtype=q.dtype)
    return torch.softmax(scores, dim=-1) @ v
    # END SOLUTION
