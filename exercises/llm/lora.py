"""LoRA: fine-tune a pretrained model through low-rank adapters (Hu et al., 2021).

Instead of updating a weight ``W`` of shape ``(out, in)``, LoRA freezes it and learns a
low-rank correction ``B @ A``, with ``A`` of shape ``(r, in)`` and ``B`` of shape ``(out, r)``
for a small rank ``r``. The adapted layer computes::

    y = x @ W.T + bias + (alpha / r) * (x @ A.T) @ B.T

``B`` starts at zero, so the adapted model starts *exactly* equal to the pretrained one, and
only ``r * (in + out)`` numbers per layer are trained. After training, the correction can be
merged into ``W`` (``W += (alpha / r) * B @ A``) so that inference costs nothing extra, and
unmerged again to recover the original weights.

The conventions follow the Hugging Face ``peft`` library's ``LoraConfig(r, lora_alpha)`` with
no dropout, so a learner who moves on to ``peft`` finds the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn


class LoRALinear(nn.Module):
    """An ``nn.Linear`` with a LoRA adapter.

    Parameters
    ----------
    base : nn.Linear
        The pretrained layer. It is kept (not copied) as ``self.base``, and its ``weight`` and
        ``bias`` (if any) are frozen: ``requires_grad = False``.
    r : int
        The rank, at least 1 (``ValueError`` otherwise).
    alpha : float
        The scale numerator: the correction is multiplied by ``self.scaling = alpha / r``.

    Attributes
    ----------
    lora_A : nn.Parameter of shape (r, in_features)
        Initialised like ``nn.Linear``'s own weight, ``nn.init.kaiming_uniform_(A, a=math.sqrt(5))``
        (uniform in ``[-1/sqrt(in_features), 1/sqrt(in_features)]``), from torch's global
        generator, on the base weight's device and dtype.
    lora_B : nn.Parameter of shape (out_features, r)
        Initialised to **zeros**, so the layer starts equal to ``base``.
    scaling : float
        ``alpha / r``.
    merged : bool
        Whether the correction is currently merged into ``base.weight`` (starts ``False``).

    ``lora_A`` and ``lora_B`` are the layer's only trainable parameters.
    """

    def __init__(self, base: nn.Linear, r: int, alpha: float) -> None:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., in_features) -> (..., out_features)``.

        Unmerged: ``base(x) + scaling * (x @ lora_A.T) @ lora_B.T`` (compute ``x @ A.T``
        first: never form the full ``B @ A`` in the forward pass). Merged: just ``base(x)``,
        since the correction is already in ``base.weight``.
        """
        raise NotImplementedError

    @torch.no_grad()
    def merge(self) -> None:
        """Add ``scaling * lora_B @ lora_A`` to ``base.weight`` in place and set ``merged``.

        The outputs do not change (up to rounding). Merging a merged layer does nothing.
        """
        raise NotImplementedError

    @torch.no_grad()
    def unmerge(self) -> None:
        """Subtract ``scaling * lora_B @ lora_A`` from ``base.weight`` in place and clear ``merged``.

        ``base.weight`` is then the pretrained weight again (up to rounding). Unmerging a layer
        that is not merged does nothing.
        """
        raise NotImplementedError


def apply_lora(model: nn.Module, r: int, alpha: float, targets: Iterable[str] = ("c_attn",)) -> nn.Module:
    """Freeze ``model`` and put a :class:`LoRALinear` around each targeted ``nn.Linear``.

    Parameters
    ----------
    model : nn.Module
        Modified in place and returned. First **every** parameter of the model is frozen
        (``requires_grad = False``); then every ``nn.Linear`` submodule whose own attribute
        name (the last part of its dotted name, e.g. ``"c_attn"`` for
        ``transformer.h.0.attn.c_attn``) is in ``targets`` is replaced, on its parent, by
        ``LoRALinear(that_linear, r, alpha)``. The parameters of the result that require a
        gradient are then exactly the adapters' ``lora_A`` and ``lora_B``.
    r, alpha
        As in :class:`LoRALinear`.
    targets : iterable of str, default ("c_attn",)
        Attribute names of the layers to adapt. ``ValueError`` if no ``nn.Linear`` matches.

    Returns
    -------
    model : the same object.
    """
    raise NotImplementedError


def finetune(
    model: nn.Module,
    data: torch.Tensor,
    steps: int,
    batch_size: int,
    block_size: int,
    lr: float,
    seed: int = 0,
) -> list[float]:
    """Train the parameters of ``model`` that require a gradient on next-token prediction.

    Parameters
    ----------
    model : nn.Module
        A language model called as ``model(x)`` that returns ``(logits, ...)`` with logits of
        shape ``(B, T, V)`` (the course's GPT returns ``(logits, loss)``). Put in ``train()``
        mode for the run and left in ``eval()`` mode at the end.
    data : LongTensor of shape (N,)
        Token ids of the training text, on the model's device.
    steps, batch_size, block_size : int
        ``steps`` optimiser steps, each on a batch of ``batch_size`` windows of ``block_size``
        tokens.
    lr : float
        Learning rate of ``torch.optim.AdamW`` (its other settings left at their defaults),
        built over **only** the parameters with ``requires_grad``.
    seed : int
        Seeds ``g = torch.Generator().manual_seed(seed)`` (on the CPU), the only source of
        randomness. Each step draws its window starts with
        ``torch.randint(0, N - block_size, (batch_size,), generator=g)``; window ``i`` is
        ``x = data[i : i + block_size]``, ``y = data[i + 1 : i + block_size + 1]``.

    Returns
    -------
    losses : list of float
        The training loss of each step (mean cross-entropy over the batch, in nats), ``steps`` long.
    """
    raise NotImplementedError
