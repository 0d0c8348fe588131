"""A BERT-style encoder and the masked-language-model objective, in PyTorch.

GPT reads left to right; BERT (Devlin et al., 2018) reads the whole sequence at once: every
position attends to every other real position (**no causal mask**), and it learns by filling
in blanks. About 15 % of the tokens are chosen, most of them are replaced by a ``[MASK]`` token,
and the model is trained to predict the original token at exactly those positions.

This module is the original BERT, scaled down: the sum of token, learned position and segment
embeddings, then a LayerNorm; **post-norm** encoder layers (the LayerNorm comes *after* each
residual sum); a masked-language-model head whose output layer shares its weight with the token
embedding. Module and parameter names are pinned: the grader loads its own weights into your
model with ``model.load_state_dict(...)`` and compares the logits with a reference.

Shapes: ``B`` is the batch size, ``T`` the sequence length (``1 <= T <= max_len``),
``C = n_embd``, ``h = n_head``, ``d = C // h`` (the head size) and ``V = vocab_size``.

::

    Bert
    ├── embed (nn.ModuleDict)
    │   ├── tok   nn.Embedding(V, C)                 token embedding
    │   ├── pos   nn.Embedding(max_len, C)           learned position embedding
    │   ├── seg   nn.Embedding(n_segments, C)        segment (token-type) embedding
    │   ├── ln    nn.LayerNorm(C, eps=1e-12)
    │   └── drop  nn.Dropout(dropout)
    ├── layers (nn.ModuleList of n_layer EncoderLayer)
    │     EncoderLayer
    │     ├── attn    SelfAttention
    │     │           ├── qkv   nn.Linear(C, 3 * C)
    │     │           ├── proj  nn.Linear(C, C)
    │     │           └── drop  nn.Dropout(dropout)  on the attention probabilities
    │     ├── ln_1    nn.LayerNorm(C, eps=1e-12)
    │     ├── ff_in   nn.Linear(C, 4 * C)
    │     ├── ff_out  nn.Linear(4 * C, C)
    │     ├── ln_2    nn.LayerNorm(C, eps=1e-12)
    │     └── drop    nn.Dropout(dropout)            on each sub-layer's output
    └── head (nn.ModuleDict)
        ├── dense    nn.Linear(C, C)
        ├── ln       nn.LayerNorm(C, eps=1e-12)
        └── decoder  nn.Linear(C, V): its weight IS embed.tok.weight (tied), its bias its own

Every ``nn.Linear`` has a bias. Every LayerNorm has ``eps=1e-12`` (BERT's value, not PyTorch's
default ``1e-5``), with a weight and a bias. GELU is the exact erf form, ``F.gelu(x)`` or
``nn.GELU()``, never the tanh approximation. Use exactly these names; extra *buffers* are fine,
extra *parameters* are not. (Real BERT also has a pooler and a next-sentence head: not here.)

Token ids used by the masking and the training below are the caller's: nothing in this module
assumes which id is ``[PAD]`` or ``[MASK]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class BertConfig:
    """Hyper-parameters of a :class:`Bert`.

    Attributes
    ----------
    vocab_size : int
        Number of distinct tokens ``V`` (special tokens included); token ids are ``0 .. V - 1``.
    max_len : int
        The longest sequence the model accepts (the size of the position embedding).
    n_segments : int
        Number of segment ids (token types): 2 in BERT, sentence A = 0 and sentence B = 1.
    n_layer : int
        Number of encoder layers.
    n_head : int
        Number of attention heads; ``n_embd`` must be a multiple of it.
    n_embd : int
        Width ``C`` of every hidden state; the feed-forward layer inside is ``4 * C`` wide.
    dropout : float
        Dropout probability, used by every ``nn.Dropout`` in the model (0.0 turns it off).
    """

    vocab_size: int = 70
    max_len: int = 64
    n_segments: int = 2
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    dropout: float = 0.0


class SelfAttention(nn.Module):
    """Multi-head bidirectional self-attention with a key padding mask.

    ``forward(x, attention_mask)`` with ``x`` of shape ``(B, T, C)`` and ``attention_mask`` a
    ``(B, T)`` tensor of 1 (a real token) and 0 (padding):

    1. ``q, k, v = self.qkv(x).split(C, dim=2)``: the first ``C`` outputs of ``qkv`` are the
       queries, the next ``C`` the keys, the last ``C`` the values.
    2. Each is split into heads with ``.view(B, T, h, d).transpose(1, 2)``, giving ``(B, h, T, d)``:
       head ``i`` owns features ``i * d .. (i + 1) * d - 1``.
    3. Per head, ``att = q @ k.transpose(-2, -1) / sqrt(d)``, of shape ``(B, h, T, T)``. Every
       score whose **key** is padding (``attention_mask[b, j] == 0``, whatever the query) is set
       to ``-inf`` before the softmax: with ``pad = attention_mask == 0`` of shape ``(B, T)``,
       ``att.masked_fill(pad[:, None, None, :], float("-inf"))``;
       a large negative number such as ``torch.finfo(att.dtype).min`` gives the same result.
       There is **no causal mask**: a query sees every real key, before and after it. Then
       ``att = drop(softmax(att, dim=-1))`` and ``y = att @ v``. (Padding *queries* are computed
       like the others; their outputs are meaningless and ignored.)
    4. The heads are put back in order, ``y.transpose(1, 2).contiguous().view(B, T, C)``, and the
       result is ``proj(y)``, of shape ``(B, T, C)``.

    ``F.scaled_dot_product_attention(q, k, v, attn_mask=keep)`` with ``keep`` the boolean
    ``(B, 1, 1, T)`` mask of real keys computes step 3 (without dropout) and may be used.

    Raises
    ------
    ValueError
        From ``__init__``, if ``config.n_embd`` is not a multiple of ``config.n_head``.
    """

    def __init__(self, config: BertConfig) -> None:
        # BEGIN SOLUTION
        super().__init__()
        if config.n_embd % config.n_head != 0:
            raise ValueError(f"n_embd={config.n_embd} is not a multiple of n_head={config.n_head}")
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.proj = nn.Linear(config.n_embd, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        # END SOLUTION

    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``(B, T, C), (B, T) -> (B, T, C)``, as described in the class docstring."""
        # BEGIN SOLUTION
        B, T, C = x.shape
        d = C // self.n_head
        q, k, v = self.qkv(x).split(self.n_embd, dim=2)
        q = q.view(B, T, self.n_head, d).transpose(1, 2)  # (B, h, T, d)
        k = k.view(B, T, self.n_head, d).transpose(1, 2)
        v = v.view(B, T, self.n_head, d).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d)  # (B, h, T, T): queries x keys
        pad = attention_mask == 0  # (B, T), True on padding keys
        att = att.masked_fill(pad[:, None, None, :], float("-inf"))
        att = self.drop(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)  # heads back side by side
        return self.proj(y)
        # END SOLUTION


class EncoderLayer(nn.Module):
    """A **post-norm** encoder layer, ``(B, T, C), (B, T) -> (B, T, C)``, as in the original BERT::

        x = ln_1(x + drop(attn(x, attention_mask)))
        x = ln_2(x + drop(ff_out(gelu(ff_in(x)))))

    The LayerNorm is applied to the residual *sum* (not to the sub-layer's input, as GPT-2's
    pre-norm blocks do). GELU is the exact erf form.
    """

    def __init__(self, config: BertConfig) -> None:
        # BEGIN SOLUTION
        super().__init__()
        C = config.n_embd
        self.attn = SelfAttention(config)
        self.ln_1 = nn.LayerNorm(C, eps=1e-12)
        self.ff_in = nn.Linear(C, 4 * C)
        self.ff_out = nn.Linear(4 * C, C)
        self.ln_2 = nn.LayerNorm(C, eps=1e-12)
        self.drop = nn.Dropout(config.dropout)
        # END SOLUTION

    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``(B, T, C), (B, T) -> (B, T, C)``."""
        # BEGIN SOLUTION
        x = self.ln_1(x + self.drop(self.attn(x, attention_mask)))
        return self.ln_2(x + self.drop(self.ff_out(F.gelu(self.ff_in(x)))))
        # END SOLUTION


class Bert(nn.Module):
    """A BERT encoder with its masked-language-model head (see the module docstring for its layout).

    Parameters
    ----------
    config : BertConfig
        Its sizes. ``Bert(config)`` keeps it as ``self.config``.

    Initialisation (BERT's): every ``nn.Linear`` and ``nn.Embedding`` weight is drawn from
    ``N(0, 0.02**2)`` (``nn.init.normal_(w, mean=0.0, std=0.02)``) from torch's global generator,
    every ``nn.Linear`` bias is 0 (``head.decoder``'s too), and every LayerNorm has weight 1 and
    bias 0. Tie the decoder to the token embedding *after* initialising, with
    ``self.head.decoder.weight = self.embed.tok.weight``, so that both names are one parameter.

    Raises
    ------
    ValueError
        If ``config.n_embd`` is not a multiple of ``config.n_head``.
    """

    def __init__(self, config: BertConfig) -> None:
        # BEGIN SOLUTION
        super().__init__()
        if config.n_embd % config.n_head != 0:
            raise ValueError(f"n_embd={config.n_embd} is not a multiple of n_head={config.n_head}")
        self.config = config
        C = config.n_embd
        self.embed = nn.ModuleDict(
            {
                "tok": nn.Embedding(config.vocab_size, C),
                "pos": nn.Embedding(config.max_len, C),
                "seg": nn.Embedding(config.n_segments, C),
                "ln": nn.LayerNorm(C, eps=1e-12),
                "drop": nn.Dropout(config.dropout),
            }
        )
        self.layers = nn.ModuleList([EncoderLayer(config) for _ in range(config.n_layer)])
        self.head = nn.ModuleDict(
            {
                "dense": nn.Linear(C, C),
                "ln": nn.LayerNorm(C, eps=1e-12),
                "decoder": nn.Linear(C, config.vocab_size),
            }
        )
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)
        self.head.decoder.weight = self.embed.tok.weight  # weight tying
        # END SOLUTION

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Masked-language-model logits for every position, and the loss if ``labels`` are given.

        Parameters
        ----------
        input_ids : LongTensor of shape (B, T)
            Token ids in ``[0, vocab_size)``, with ``1 <= T <= max_len``, on the model's device.
        token_type_ids : LongTensor of shape (B, T), optional
            Segment ids in ``[0, n_segments)``; ``None`` means all zeros.
        attention_mask : tensor of shape (B, T), optional
            1 for a real token, 0 for padding (any integer, bool or float dtype); ``None`` means
            all ones. Every sequence has at least one real token. Only padding *keys* are
            masked (see :class:`SelfAttention`), so the outputs at the real positions never
            depend on the padding's ids or segments, and padding appended at the end of a
            sequence leaves them exactly as they are without it.
        labels : LongTensor of shape (B, T), optional
            The original token at each position the loss should score, and ``-100`` at every
            other position (what :func:`mask_tokens` returns).

        Returns
        -------
        logits : FloatTensor of shape (B, T, vocab_size)
            The embedding is ``embed.ln(tok(input_ids) + pos(arange(T)) + seg(token_type_ids))``
            followed by ``embed.drop``; then every encoder layer in order (each given the
            attention mask); then the head:
            ``decoder(head.ln(gelu(head.dense(x))))``, GELU in its exact erf form. Every position
            gets logits, padding included.
        loss : scalar tensor or None
            ``None`` when ``labels`` is None; otherwise the **mean** cross-entropy (in nats) over
            the positions whose label is not ``-100``:
            ``F.cross_entropy(logits.view(-1, V), labels.view(-1), ignore_index=-100)``.

        Raises
        ------
        ValueError
            If ``T > config.max_len``.
        """
        # BEGIN SOLUTION
        T = input_ids.shape[1]
        if T > self.config.max_len:
            raise ValueError(f"sequence length {T} exceeds max_len={self.config.max_len}")
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        pos = torch.arange(T, device=input_ids.device)
        e = self.embed
        x = e.drop(e.ln(e.tok(input_ids) + e.pos(pos) + e.seg(token_type_ids)))  # (B, T, C)
        for layer in self.layers:
            x = layer(x, attention_mask)
        h = self.head
        logits = h.decoder(h.ln(F.gelu(h.dense(x))))  # (B, T, V)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100)
        return logits, loss
        # END SOLUTION


def mask_tokens(
    input_ids: torch.Tensor,
    mask_token_id: int,
    vocab_size: int,
    special_ids: Sequence[int] = (),
    mask_prob: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: choose about ``mask_prob`` of the tokens and corrupt them by the 80/10/10 rule.

    Parameters
    ----------
    input_ids : LongTensor of any shape (typically (B, T))
        The clean token ids, on any device. Never modified.
    mask_token_id : int
        The id of ``[MASK]``.
    vocab_size : int
        Random replacements are drawn from ``0 .. vocab_size - 1`` (special ids included, as BERT does).
    special_ids : sequence of int
        Ids that are never chosen (padding, ``[CLS]``, ``[SEP]``, ``[MASK]`` itself...): wherever
        ``input_ids`` holds one of them, the input is kept and the label is ``-100``.
    mask_prob : float
        The probability that each non-special token is chosen.
    generator : torch.Generator or None
        A **CPU** generator, the only source of randomness (``None``: torch's global CPU
        generator). Exactly three draws are made from it, each of the full shape
        ``S = input_ids.shape``, in this order, on the CPU whatever the device of
        ``input_ids`` (then moved to that device):

        1. ``chosen_u = torch.rand(S, generator=generator)``
        2. ``action_u = torch.rand(S, generator=generator)``
        3. ``random_ids = torch.randint(0, vocab_size, S, generator=generator)``

        A position is **chosen** when ``chosen_u < mask_prob`` and its id is not special. A
        chosen position becomes ``mask_token_id`` when ``action_u < 0.8``, becomes
        ``random_ids`` at that position when ``0.8 <= action_u < 0.9``, and keeps its token when
        ``action_u >= 0.9``. Positions that are not chosen keep their token. All three draws
        are made even where they end up unused (so the generator's state after the call does
        not depend on the data).

    Returns
    -------
    inputs : LongTensor, same shape and device as input_ids
        The corrupted ids (a new tensor).
    labels : LongTensor, same shape and device
        The original id at every chosen position, ``-100`` everywhere else.
    """
    # BEGIN SOLUTION
    shape = input_ids.shape
    device = input_ids.device
    chosen_u = torch.rand(shape, generator=generator).to(device)
    action_u = torch.rand(shape, generator=generator).to(device)
    random_ids = torch.randint(0, vocab_size, shape, generator=generator).to(device)
    special = torch.isin(input_ids, torch.tensor(list(special_ids), dtype=input_ids.dtype, device=device))
    chosen = (chosen_u < mask_prob) & ~special
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    inputs = input_ids.clone()
    inputs[chosen & (action_u < 0.8)] = mask_token_id
    replace = chosen & (action_u >= 0.8) & (action_u < 0.9)
    inputs[replace] = random_ids[replace]
    return inputs, labels
    # END SOLUTION


def train_mlm(
    model: Bert,
    data: torch.Tensor,
    steps: int,
    batch_size: int,
    seq_len: int,
    lr: float,
    mask_token_id: int,
    special_ids: Sequence[int] = (),
    seed: int = 0,
) -> list[float]:
    """Train ``model`` on the masked-language-model objective over a long token sequence.

    Parameters
    ----------
    model : Bert
        Trained in place: put in ``train()`` mode for the run and left in ``eval()`` mode at the end.
    data : LongTensor of shape (N,)
        Token ids of the training text, on the model's device.
    steps, batch_size, seq_len : int
        ``steps`` optimiser steps, each on a batch of ``batch_size`` windows of ``seq_len`` tokens.
    lr : float
        Learning rate of ``torch.optim.AdamW(model.parameters(), lr=lr)`` (its other settings
        left at their defaults).
    mask_token_id, special_ids
        Passed to :func:`mask_tokens` (with ``vocab_size = model.config.vocab_size`` and the
        default ``mask_prob = 0.15``).
    seed : int
        Seeds ``g = torch.Generator().manual_seed(seed)`` (on the CPU), the only source of
        randomness. Each step, in this order:

        1. ``starts = torch.randint(0, N - seq_len + 1, (batch_size,), generator=g)``; window
           ``i`` is ``data[i : i + seq_len]``, stacked into ``x`` of shape (batch_size, seq_len);
        2. ``inputs, labels = mask_tokens(x, mask_token_id, vocab_size, special_ids, 0.15, generator=g)``;
        3. ``loss = model(inputs, labels=labels)[1]`` (segments all 0, no padding);
        4. ``zero_grad``, ``loss.backward()``, ``step``.

    Returns
    -------
    losses : list of float
        The training loss of each step, ``steps`` long.
    """
    # BEGIN SOLUTION
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    vocab_size = model.config.vocab_size
    model.train()
    losses = []
    for _ in range(steps):
        starts = torch.randint(0, len(data) - seq_len + 1, (batch_size,), generator=g)
        x = torch.stack([data[i : i + seq_len] for i in starts])
        inputs, labels = mask_tokens(x, mask_token_id, vocab_size, special_ids, 0.15, generator=g)
        loss = model(inputs, labels=labels)[1]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    return losses
    # END SOLUTION
