"""Fast generation with a key/value cache, for the course's GPT.

Generating ``N`` tokens with a plain GPT runs the whole sequence through the model at every
step, although the keys and values of the earlier positions never change (the attention is
causal). A **KV cache** keeps them: the model then processes only the *new* token at each
step and attends over the cached keys and values plus its own.

This module is the ``llm/gpt`` model again (start from your solution there: the layout, the
names and the maths are exactly the same, and the grader loads its own weights into it with
``load_state_dict``), with a cache threaded through ``forward``::

    GPT
    ├── transformer: wte, wpe, drop, h (n_layer Blocks: ln_1, attn (c_attn, c_proj), ln_2,
    │                mlp (c_fc, gelu, c_proj)), ln_f
    └── lm_head (no bias, tied to transformer.wte.weight)

**The cache** is a plain ``list`` with one entry per block, in order; entry ``l`` is a tuple
``(k, v)`` of that block's keys and values for every position seen so far, each of shape
``(B, n_head, T_past, d)`` with ``d = n_embd // n_head``: exactly the ``k`` and ``v`` of
``CausalSelfAttention`` *after* the split into heads (``.view(B, T, h, d).transpose(1, 2)``).
``past=None`` means an empty cache (``T_past = 0``). A cache is never modified in place:
``forward`` returns a new list, whose tensors are the old ones with the new positions
appended along dimension 2 (``torch.cat([k_past, k_new], dim=2)``).

Initialisation is yours to choose (the grader always loads its weights). Dropout is kept as in
``llm/gpt`` but the grader only runs the model in ``eval()`` mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

Cache = list[tuple[torch.Tensor, torch.Tensor]]


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
    """Multi-head causal self-attention with a key/value cache.

    ``forward(x, past)`` with ``x`` of shape ``(B, T, C)``, the **new** positions only, and
    ``past`` either ``None`` or this layer's ``(k_past, v_past)``, each ``(B, h, T_past, d)``:

    1. ``q, k, v = self.c_attn(x).split(C, dim=2)``, each split into heads with
       ``.view(B, T, h, d).transpose(1, 2)``.
    2. ``k = cat([k_past, k], dim=2)`` and ``v = cat([v_past, v], dim=2)``: ``(B, h, T_past + T, d)``.
    3. ``att = q @ k.transpose(-2, -1) / sqrt(d)``; the new position ``T_past + i`` (query
       ``i``) may attend to key positions ``0 .. T_past + i`` only (``-inf`` before the
       softmax for the others); ``y = attn_dropout(softmax(att)) @ v``.
    4. ``y`` back to ``(B, T, C)`` and ``resid_dropout(c_proj(y))``.

    Returns ``(y, (k, v))``: the output for the new positions, and the layer's cache with them
    appended.
    """

    def __init__(self, config: GPTConfig) -> None:
        # BEGIN SOLUTION
        super().__init__()
        if config.n_embd % config.n_head != 0:
            raise ValueError(f"n_embd={config.n_embd} is not a multiple of n_head={config.n_head}")
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        # END SOLUTION

    def forward(
        self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``(B, T, C)`` and this layer's cache -> ``((B, T, C), (k, v))``."""
        # BEGIN SOLUTION
        B, T, C = x.shape
        d = C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, self.n_head, d).transpose(1, 2)  # (B, h, T, d)
        k = k.view(B, T, self.n_head, d).transpose(1, 2)
        v = v.view(B, T, self.n_head, d).transpose(1, 2)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)  # (B, h, T_past + T, d)
            v = torch.cat([past[1], v], dim=2)
        T_all = k.shape[2]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d)  # (B, h, T, T_all)
        # query i sits at position T_all - T + i and sees keys 0 .. T_all - T + i
        keep = torch.ones(T, T_all, dtype=torch.bool, device=x.device).tril(diagonal=T_all - T)
        att = att.masked_fill(~keep, float("-inf"))
        att = self.attn_dropout(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y)), (k, v)
        # END SOLUTION


class MLP(nn.Module):
    """``dropout(c_proj(gelu(c_fc(x))))`` with the exact (erf) GELU, ``(B, T, C) -> (B, T, C)``."""

    def __init__(self, config: GPTConfig) -> None:
        # BEGIN SOLUTION
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)
        # END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, C) -> (B, T, C)``."""
        # BEGIN SOLUTION
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))
        # END SOLUTION


class Block(nn.Module):
    """A pre-LayerNorm block with a cache: ``a, kv = attn(ln_1(x), past)``, ``x = x + a``,
    ``x = x + mlp(ln_2(x))``; returns ``(x, kv)``."""

    def __init__(self, config: GPTConfig) -> None:
        # BEGIN SOLUTION
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)
        # END SOLUTION

    def forward(
        self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``(B, T, C)`` and this layer's cache -> ``((B, T, C), (k, v))``."""
        # BEGIN SOLUTION
        a, kv = self.attn(self.ln_1(x), past)
        x = x + a
        return x + self.mlp(self.ln_2(x)), kv
        # END SOLUTION


class GPT(nn.Module):
    """The ``llm/gpt`` model whose ``forward`` takes and returns a key/value cache.

    Parameters
    ----------
    config : GPTConfig
        Its sizes, kept as ``self.config``. ``ValueError`` if ``n_embd % n_head != 0``.
    """

    def __init__(self, config: GPTConfig) -> None:
        # BEGIN SOLUTION
        super().__init__()
        if config.n_embd % config.n_head != 0:
            raise ValueError(f"n_embd={config.n_embd} is not a multiple of n_head={config.n_head}")
        self.config = config
        self.transformer = nn.ModuleDict(
            {
                "wte": nn.Embedding(config.vocab_size, config.n_embd),
                "wpe": nn.Embedding(config.block_size, config.n_embd),
                "drop": nn.Dropout(config.dropout),
                "h": nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                "ln_f": nn.LayerNorm(config.n_embd, bias=config.bias),
            }
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        self.lm_head.weight = self.transformer.wte.weight  # weight tying
        # END SOLUTION

    def forward(self, idx: torch.Tensor, past: Cache | None = None) -> tuple[torch.Tensor, Cache]:
        """Logits for the new tokens ``idx``, and the cache extended by them.

        Parameters
        ----------
        idx : LongTensor of shape (B, T)
            The **new** tokens only, at positions ``T_past .. T_past + T - 1``, where
            ``T_past`` is the cache's length (0 when ``past`` is None).
        past : list of n_layer tuples (k, v), or None
            The cache returned by the previous call (see the module docstring).

        Returns
        -------
        logits : FloatTensor of shape (B, T, vocab_size)
            Exactly the logits of the last ``T`` positions that the model would compute on
            the whole sequence (past and new tokens) without a cache. The position embedding
            of the new tokens is ``wpe(arange(T_past, T_past + T))``.
        present : list of n_layer tuples (k, v)
            The cache of all ``T_past + T`` positions, each tensor ``(B, n_head, T_past + T, d)``.

        Raises
        ------
        ValueError
            If ``T_past + T > config.block_size``, or ``past`` does not have one entry per block.
        """
        # BEGIN SOLUTION
        T = idx.shape[1]
        if past is not None and len(past) != len(self.transformer.h):
            raise ValueError(f"past has {len(past)} entries, expected one per block ({len(self.transformer.h)})")
        T_past = 0 if past is None else past[0][0].shape[2]
        if T_past + T > self.config.block_size:
            raise ValueError(f"{T_past} cached + {T} new positions exceed block_size={self.config.block_size}")
        pos = torch.arange(T_past, T_past + T, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        present = []
        for i, block in enumerate(self.transformer.h):
            x, kv = block(x, None if past is None else past[i])
            present.append(kv)
        return self.lm_head(self.transformer.ln_f(x)), present
        # END SOLUTION


@torch.no_grad()
def generate(model: GPT, idx: torch.Tensor, max_new_tokens: int, use_cache: bool = True) -> torch.Tensor:
    """Greedy generation, with or without the cache.

    Parameters
    ----------
    model : GPT
        In ``eval()`` mode; ``generate`` does not change its mode.
    idx : LongTensor of shape (B, T0)
        The prompt, ``T0 >= 1``, on the model's device.
    max_new_tokens : int
        How many tokens to append; ``T0 + max_new_tokens <= block_size`` (``ValueError``
        otherwise: this model has no sliding window).
    use_cache : bool, default=True
        ``True``: one call on the whole prompt (filling the cache), then one call per new
        token with only that token and the cache. ``False``: at every step, one call on the
        whole sequence so far with no cache (``past=None``), the slow way.

    Returns
    -------
    LongTensor of shape (B, T0 + max_new_tokens)
        The prompt followed by the new tokens; each new token is the ``argmax`` of the logits
        at the last position (ties: the smallest token id, as ``torch.argmax`` does). Both
        settings of ``use_cache`` return the same tokens.
    """
    # BEGIN SOLUTION
    if idx.shape[1] + max_new_tokens > model.config.block_size:
        raise ValueError(
            f"{idx.shape[1]} prompt + {max_new_tokens} new tokens exceed block_size={model.config.block_size}"
        )
    seq = idx
    past = None
    step_input = idx
    for _ in range(max_new_tokens):
        if use_cache:
            logits, past = model(step_input, past)
        else:
            logits, _ = model(seq)
        nxt = logits[:, -1, :].argmax(dim=-1, keepdim=True)  # (B, 1)
        seq = torch.cat([seq, nxt], dim=1)
        step_input = nxt
    return seq
    # END SOLUTION
