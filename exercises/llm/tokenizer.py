"""Tokenizers: characters, and byte-level byte-pair encoding (BPE) as in GPT-2."""

from __future__ import annotations

import itertools
from collections.abc import Iterable


class CharTokenizer:
    """One token per character, with a vocabulary taken from a training text.

    Attributes
    ----------
    chars : list of str
        The vocabulary: every distinct character of the training text, sorted by
        code point (``sorted(set(text))``). Token id ``i`` is ``chars[i]``.
    vocab_size : int
        ``len(chars)``.
    """

    def __init__(self, chars: list[str]) -> None:
        """Build a tokenizer from a vocabulary; most callers use :meth:`from_text`."""
        self.chars = list(chars)
        self.vocab_size = len(self.chars)
        raise NotImplementedError

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """The tokenizer whose vocabulary is ``sorted(set(text))``."""
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        """The list of token ids of ``text``, one per character (a list of Python ints).

        A character that is not in the vocabulary raises ``KeyError``: it is
        never dropped or replaced silently.
        """
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:
        """The text of a list of token ids: ``decode(encode(s)) == s``."""
        raise NotImplementedError


def _pair_counts(ids: list[int]) -> dict[tuple[int, int], int]:
    """How many times ``merge`` would replace each adjacent pair of ``ids``.

    Occurrences are non-overlapping, counted left to right: in ``[a, a, a]`` the
    pair ``(a, a)`` counts once, in ``[a, a, a, a]`` twice.
    """
    raise NotImplementedError


def merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of ``pair`` in ``ids`` by ``new_id``, scanning left to right.

    Occurrences do not overlap: ``merge([a, a, a], (a, a), X)`` is ``[X, a]``.
    Returns a new list; ``ids`` is not modified.
    """
    raise NotImplementedError


def train_bpe(text: str, vocab_size: int) -> list[tuple[int, int]]:
    """Learn byte-level BPE merges from ``text``.

    Parameters
    ----------
    text : str
        Training text. It is encoded as UTF-8 and the bytes (ints 0..255) are
        the starting tokens; the 256 byte values are always in the vocabulary.
        There is no pre-tokenization: the whole text is one sequence, so merges
        may cross spaces and newlines.
    vocab_size : int
        Target vocabulary size, at least 256 (otherwise ``ValueError``). At most
        ``vocab_size - 256`` merges are learned.

    Returns
    -------
    merges : list of (int, int) tuples
        The merged pairs in the order they were learned; the ``k``-th merge
        (0-based) creates token id ``256 + k``.

    Notes
    -----
    Repeat ``vocab_size - 256`` times:

    1. Count each adjacent pair of the current sequence as the number of times
       it would be replaced: **non-overlapping** occurrences, left to right
       (``"aaa"`` holds ``(97, 97)`` once, not twice).
    2. Pick the pair with the highest count; on a tie, the smallest pair,
       comparing pairs as tuples of ints (``(32, 116) < (101, 32) < (101, 115)``).
    3. If that count is below 2, stop early (a merge must save something).
    4. Replace its occurrences, left to right, by the new id ``256 + k``
       (``merge`` above), and record the pair.
    """
    raise NotImplementedError


class BPETokenizer:
    """Byte-level BPE: encodes any text (any Unicode character) and decodes it back exactly.

    Parameters
    ----------
    merges : list of (int, int)
        Merges in the order ``train_bpe`` learned them; the ``k``-th creates
        token id ``256 + k``. Token ids ``0..255`` are the single bytes.

    Attributes
    ----------
    merges : list of (int, int) tuples
    vocab_size : int
        ``256 + len(merges)``.
    """

    def __init__(self, merges: list[tuple[int, int]]) -> None:
        self.merges = [(int(a), int(b)) for a, b in merges]
        self.vocab_size = 256 + len(self.merges)
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (a list of Python ints).

        Start from the UTF-8 bytes of ``text`` (every character survives, also
        one never seen in training: it stays as its bytes). Then apply the
        merges **in the order they were learned**: while some adjacent pair of
        the sequence is a known merge, take the one learned earliest and replace
        all its occurrences, left to right (``merge``). This gives the same
        result as applying every merge in turn, in training order, to the whole
        sequence; so encoding the training text gives the sequence that
        training ended with.
        """
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:
        """The text of token ids: concatenate their bytes and decode UTF-8.

        Byte sequences that are not valid UTF-8 (ids that cut a character in
        half) become U+FFFD: use ``bytes.decode("utf-8", errors="replace")``.
        ``decode(encode(s)) == s`` for every string ``s``.
        """
        raise NotImplementedError
