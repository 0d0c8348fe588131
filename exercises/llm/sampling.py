"""Decoding from a language model: temperature, top-k, top-p (nucleus) sampling, and beam search."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def sample_next(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw one token id per row of ``logits``.

    Parameters
    ----------
    logits : torch.Tensor of shape (B, V) or (V,)
        Unnormalised scores over a vocabulary of ``V`` tokens, float.
    temperature : float, default=1.0
        ``temperature == 0`` means greedy decoding: return ``argmax`` (the
        lowest index on ties) and draw nothing. Otherwise it must be positive
        (a negative one raises ``ValueError``): the logits are divided by it
        **before** the softmax, so a small temperature sharpens the
        distribution and a large one flattens it.
    top_k : int, optional
        Keep only the ``top_k`` highest logits of each row (``top_k >= 1``;
        ``top_k >= V`` keeps everything). Which of several tokens tied at the
        boundary survive is up to you.
    top_p : float, optional
        Nucleus sampling, ``0 < top_p <= 1``: sort the probabilities (after
        temperature and top-k) in descending order and keep the **smallest**
        prefix whose total probability reaches ``top_p``, i.e. keep a token if
        the probability of the tokens before it is ``< top_p``. The token that
        crosses the threshold is kept, so at least one token always survives.
    generator : torch.Generator, optional
        The only source of randomness: pass it to ``torch.multinomial``. The
        same seed gives the same tokens.

    Returns
    -------
    ids : torch.Tensor of dtype torch.int64
        Shape ``(B,)`` for ``(B, V)`` logits, a 0-d tensor for ``(V,)`` logits;
        on the logits' device.

    Notes
    -----
    Order: divide by the temperature, apply top-k, apply top-p, then draw from
    the softmax of the kept logits (removed ones set to ``-inf``) with
    ``torch.multinomial(probs, 1, generator=generator)``. Every row is
    filtered and sampled independently.
    """
    raise NotImplementedError


@torch.no_grad()
def generate(
    model: Callable[[torch.Tensor], torch.Tensor | tuple[torch.Tensor, ...]],
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
    block_size: int | None = None,
) -> torch.Tensor:
    """Extend each sequence of ``idx`` by ``max_new_tokens`` sampled tokens.

    Parameters
    ----------
    model : callable
        ``model(idx)`` takes int64 token ids of shape ``(B, T)`` and returns
        logits of shape ``(B, T, V)``, or a tuple whose first element is those
        logits (as ``GPT.forward`` returns ``(logits, loss)``).
    idx : torch.Tensor of shape (B, T), dtype torch.int64
        The prompts, ``T >= 1``. Not modified.
    max_new_tokens : int
        How many tokens to add (0 returns a copy of ``idx``).
    temperature, top_k, top_p, generator
        As in :func:`sample_next`, which picks every new token from the logits
        at the **last** position.
    block_size : int, optional
        The model's context length: when given, the model only ever sees the
        last ``block_size`` tokens, ``model(seq[:, -block_size:])``.

    Returns
    -------
    out : torch.Tensor of shape (B, T + max_new_tokens), dtype torch.int64
        ``idx`` followed by the new tokens, on ``idx``'s device.

    Notes
    -----
    One call of ``model`` per new token, under ``torch.no_grad()``; the model's
    train/eval mode is left as it is.
    """
    raise NotImplementedError


def beam_search(
    step_logprobs: Callable[[list[int]], torch.Tensor],
    bos: int,
    beam_width: int,
    max_len: int,
    eos: int,
) -> tuple[list[int], float]:
    """The most likely sequence found by beam search (no length normalisation).

    Parameters
    ----------
    step_logprobs : callable
        ``step_logprobs(seq)`` takes a sequence as a list of ints (starting with
        ``bos``) and returns a 1-D tensor of length ``V``: the log-probability
        of every next token.
    bos : int
        The token every sequence starts with (it has no score).
    beam_width : int
        How many unfinished hypotheses are kept after each step (``>= 1``).
    max_len : int
        The most tokens added after ``bos``.
    eos : int
        The end token: a hypothesis that ends with it is finished.

    Returns
    -------
    tokens : list of int
        The best sequence, ``bos`` first (and ``eos`` last if it finished).
    score : float
        Its log-probability: the sum of the log-probabilities of the tokens
        after ``bos``.

    Notes
    -----
    Start with one hypothesis ``[bos]`` of score 0. For each of ``max_len`` steps:

    1. Expand every unfinished hypothesis by every token:
       ``score + step_logprobs(seq)[token]`` (one call per hypothesis).
    2. Keep the ``beam_width`` best candidates of all of them (highest score;
       ties go to the lexicographically smaller token list).
    3. A kept candidate that ends with ``eos`` moves to the finished list and
       is never expanded again; the others are the next step's hypotheses. Stop
       early when none is left.

    Return the best (same tie rule) of the finished hypotheses and those still
    unfinished after the last step. With ``beam_width == 1`` this is greedy
    decoding.
    """
    raise NotImplementedError
