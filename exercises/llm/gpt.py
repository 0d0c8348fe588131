"""A decoder-only transformer (a GPT), in PyTorch.

The architecture is GPT-2's, as in Andrej Karpathy's nanoGPT, scaled down. Module and
parameter names are pinned (they are GPT-2's, so a real GPT-2 checkpoint's weights would
load into this model): the grader loads its own weights into your model with
``model.load_state_dict(...)`` and compares the logits with a reference implementation.

Shapes: ``B`` is the batch size, ``T`` the sequence length (``1 <= T <= block_size``),
``C = n_embd``, ``h = n_head``, ``d = C // h`` (the head size) and ``V = vocab_size``.

::

    GPT
    ├── transformer (nn.ModuleDict)
    │   ├── wte   nn.Embedding(V, C)             token embedding
    │   ├── wpe   nn.Embedding(block_size, C)    learned position embedding
    │   ├── drop  nn.Dropout(dropout)
    │   ├── h     nn.ModuleList of n_layer Block
    │   │     Block
    │   │     ├── ln_1  nn.LayerNorm(C, bias=bias)
    │   │     ├── attn  CausalSelfAttention
    │   │     │         ├── c_attn  nn.Linear(C, 3 * C, bias=bias)
    │   │     │         ├── c_proj  nn.Linear(C, C, bias=bias)
    │   │     │         ├── attn_dropout, resid_dropout  nn.Dropout(dropout)
    │   │     ├── ln_2  nn.LayerNorm(C, bias=bias)
    │   │     └── mlp   MLP
    │   │               ├── c_fc    nn.Linear(C, 4 * C, bias=bias)
    │   │               ├── gelu    nn.GELU()   (the exact erf form, not the tanh approximation)
    │   │               ├── c_proj  nn.Linear(4 * C, C, bias=bias)
    │   │               └── dropout nn.Dropout(dropout)
    │   └── ln_f  nn.LayerNorm(C, bias=bias)
    └── lm_head  nn.Linear(C, V, bias=False), its weight tied to transformer.wte.weight

Every LayerNorm keeps PyTorch's defaults otherwise (``eps=1e-5``, weight 1, bias 0).
Use exactly these names; extra *buffers* (e.g. a precomputed mask, registered with
``persistent=False``) are fine, extra *parameters* are not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class GPTConfig:
    """Hyper-parameters of a :class:`GPT`.

    Attributes
    ----------
    vocab_size : int
        Number of distinct tokens ``V``; token ids are ``0 .. V - 1``.
    block_size : int
        The longest sequence the model accepts (the size of the position embedding).
    n_layer : int
        Number of transformer blocks.
    n_head : int
        Number of attention heads; ``n_embd`` must be a multiple of it.
    n_embd : int
        Width ``C`` of the residual stream.
    dropout : float
        Dropout probability, used by every ``nn.Dropout`` in the model (0.0 turns it off).
    bias : bool
        Whether the ``nn.Linear`` layers (except ``lm_head``, which never has one) and the
        ``nn.LayerNorm`` layers have a bias.
    """

    vocab_size: int = 65
    block_size: int = 64
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    dropout: float = 0.0
    bias: bool = True


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention.

    ``forward(x)`` with ``x`` of shape ``(B, T, C)``:

    1. ``q, k, v = self.c_attn(x).split(C, dim=2)``: the first ``C`` outputs of ``c_attn``
       are the queries, the next ``C`` the keys, the last ``C`` the values.
    2. Each of them is split into heads with ``.view(B, T, h, d).transpose(1, 2)``, giving
       ``(B, h, T, d)``: head ``i`` owns features ``i * d .. (i + 1) * d - 1``.
    3. Per head, ``att = q @ k.transpose(-2, -1) / sqrt(d)``; position ``t`` may attend to
       positions ``<= t`` only (set the others to ``-inf`` *before* the softmax), then
       ``att = softmax(att, dim=-1)``, ``att = attn_dropout(att)`` and ``y = att @ v``.
    4. The heads are put back in order, ``y.transpose(1, 2).contiguous().view(B, T, C)``,
       and the result is ``resid_dropout(c_proj(y))``, of shape ``(B, T, C)``.

    ``F.scaled_dot_product_attention(q, k, v, is_causal=True, ...)`` computes step 3 and may
    be used.

    Raises
    ------
    ValueError
        From ``__init__``, if ``config.n_embd`` is not a multiple of ``config.n_head``.
    """

    def __init__(self, config: GPTConfig) -> None:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, C) -> (B, T, C)``, as described in the class docstring."""
        raise NotImplementedError


class MLP(nn.Module):
    """The position-wise feed-forward network: ``dropout(c_proj(gelu(c_fc(x))))``, ``(B, T, C) -> (B, T, C)``."""

    def __init__(self, config: GPTConfig) -> None:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, C) -> (B, T, C)``."""
        raise NotImplementedError


class Block(nn.Module):
    """A pre-LayerNorm transformer block, ``(B, T, C) -> (B, T, C)``:

    ``x = x + attn(ln_1(x))``, then ``x = x + mlp(ln_2(x))`` (the residual adds the
    *un-normalised* ``x``; the LayerNorm comes before each sub-layer, not after the sum).
    """

    def __init__(self, config: GPTConfig) -> None:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, C) -> (B, T, C)``."""
        raise NotImplementedError


class GPT(nn.Module):
    """A decoder-only transformer language model (see the module docstring for its layout).

    Parameters
    ----------
    config : GPTConfig
        Its sizes. ``GPT(config)`` keeps it as ``self.config``.

    Initialisation (it makes the untrained model predict a nearly uniform distribution, so
    its first loss is close to ``ln(vocab_size)``): every ``nn.Linear`` and ``nn.Embedding``
    weight is drawn from ``N(0, 0.02**2)`` (``nn.init.normal_(w, mean=0.0, std=0.02)``),
    every ``nn.Linear`` bias is 0, and LayerNorms keep weight 1 and bias 0. The weights come
    from torch's global generator, so ``torch.manual_seed(s)`` before ``GPT(config)`` makes
    the model reproducible. (GPT-2 also shrinks the std of each ``c_proj`` weight to
    ``0.02 / sqrt(2 * n_layer)``; you may do that too.) Tie the output layer to the token
    embedding *after* initialising, with ``self.lm_head.weight = self.transformer.wte.weight``.

    Raises
    ------
    ValueError
        If ``config.n_embd`` is not a multiple of ``config.n_head``.
    """

    def __init__(self, config: GPTConfig) -> None:
        raise NotImplementedError

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Next-token logits, and the loss if ``targets`` are given.

        Parameters
        ----------
        idx : LongTensor of shape (B, T)
            Token ids in ``[0, vocab_size)``, with ``1 <= T <= block_size``, on the model's device.
        targets : LongTensor of shape (B, T), optional
            The token that should follow each position: ``targets[b, t]`` is the token after
            ``idx[b, t]`` (for training text ``s``, ``idx = s[i : i + T]`` and
            ``targets = s[i + 1 : i + T + 1]``). Shifting is the caller's job, not ``forward``'s.

        Returns
        -------
        logits : FloatTensor of shape (B, T, vocab_size)
            Unnormalised scores for the token after each position; ``logits[:, t]`` depends
            on ``idx[:, :t + 1]`` only. The embedding is ``wte(idx) + wpe(pos)`` with
            ``pos = 0 .. T - 1``, then ``drop``, the blocks, ``ln_f`` and ``lm_head``.
        loss : scalar tensor or None
            ``None`` when ``targets`` is None; otherwise the **mean** cross-entropy over all
            ``B * T`` positions, ``F.cross_entropy(logits.view(-1, V), targets.view(-1))``,
            in nats.

        Raises
        ------
        ValueError
            If ``T > config.block_size``.
        """
        raise NotImplementedError
