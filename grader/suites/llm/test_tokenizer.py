"""Hidden suite for llm/tokenizer: `CharTokenizer`, `merge`, `train_bpe` and `BPETokenizer`.

The reference BPE (byte level, non-overlapping pair counts, ties to the smallest pair, stop when no
pair occurs twice) runs in the grader's process; known wrong variants name the learner's mistake.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from grader.helpers import assert_equal, expect_raises, fail

_TEXT = (
    "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs on and on.\n"
    "Tokenizers turn text into numbers: these numbers are the tokens that a language model reads. "
    "A byte-pair encoding starts from the bytes of the text and merges the most frequent pair again "
    "and again, so that frequent words such as 'the', 'and' and 'tokens' become single tokens.\n"
    "Naïve café owners say déjà vu — twice: déjà vu! Zürich, Köln and São Paulo are cities. 😀😀\n"
    "aaaa bbbb aaaa bbbb cccccc the end, the end, the end."
)
_UNSEEN = "Ωmega → ∞ and 中文 and emoji 🚀 never seen in training, plus tabs\tand\r\nnew lines."

_NON_OVERLAP = (
    "Count a pair as the number of times merge would replace it: non-overlapping occurrences, left to "
    "right, so 'aaa' holds (97, 97) once, not twice."
)
_TIE = (
    "On a tie in counts, take the smallest pair, comparing pairs as tuples of ints (e.g. min over "
    "(-count, pair)), not the first pair you met."
)
_STOP = "Stop early as soon as the most frequent pair occurs fewer than 2 times."
_ORDER = (
    "Apply the merges in the order they were learned: repeatedly merge the adjacent pair with the lowest "
    "merge index (all its occurrences, left to right) until no known pair is left."
)
_BYTES = (
    "Start from the UTF-8 bytes of the text: list(text.encode('utf-8')). Every character survives, also "
    "one never seen in training; never drop or replace characters."
)

_DECODE = (
    "Join the bytes of all ids first, then decode once with .decode('utf-8', errors='replace'): one "
    "character's bytes may be spread over several tokens."
)


# ---------------------------------------------------------------- reference (grader side)


def _merge(ids: list[int], pair: tuple[int, int], new: int) -> list[int]:
    out, i = [], 0
    while i < len(ids):
        if ids[i : i + 2] == list(pair):
            out.append(new)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def _counts(ids: list[int], overlapping: bool) -> dict[tuple[int, int], int]:
    """Pair counts in first-seen order; non-overlapping unless `overlapping` (a known mistake)."""
    counts: dict[tuple[int, int], int] = {}
    skip_next = False
    for a, b in itertools.pairwise(ids):
        if skip_next:  # this pair overlaps the (a, a) pair just counted
            skip_next = False
            continue
        counts[(a, b)] = counts.get((a, b), 0) + 1
        skip_next = a == b and not overlapping
    return counts


def _train(text: str, vocab_size: int, kind: str = "ok") -> list[tuple[int, int]]:
    ids = list(text.encode("utf-8"))
    merges: list[tuple[int, int]] = []
    for k in range(vocab_size - 256):
        counts = _counts(ids, overlapping=kind == "overlapping")
        if not counts:
            break
        if kind == "first_seen":
            pair = max(counts, key=lambda p: counts[p])  # the first pair met among the ties
        else:
            pair = min(counts, key=lambda p: (-counts[p], p))
        if counts[pair] < 2 and kind != "no_stop":
            break
        ids = _merge(ids, pair, 256 + k)
        merges.append(pair)
    return merges


def _encode(text: str, merges: list[tuple[int, int]]) -> list[int]:
    ids = list(text.encode("utf-8"))
    for k, pair in enumerate(merges):  # in training order, each over the whole sequence
        ids = _merge(ids, pair, 256 + k)
    return ids


def _ints(value: Any, name: str) -> list[int]:
    __tracebackhide__ = True
    if not isinstance(value, list | tuple) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        kind = type(value).__name__
        fail(
            f"`{name}` should be a list of Python ints, but it is a {kind}.",
            hint="Return a plain list, e.g. [3, 7, 1].",
        )
    return list(value)


def _pairs(value: Any, name: str) -> list[tuple[int, int]]:
    __tracebackhide__ = True
    ok = isinstance(value, list) and all(
        isinstance(p, tuple | list) and len(p) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in p)
        for p in value
    )
    if not ok:
        fail(f"`{name}` should be a list of (int, int) tuples, but it is {value!r:.200}.")
    return [(int(a), int(b)) for a, b in value]


def _from_text(sub: Any, text: str) -> Any:
    __tracebackhide__ = True
    from_text = sub.CharTokenizer.from_text  # a bound classmethod comes back labelled "method"
    from_text._label = "CharTokenizer.from_text"
    return from_text(text)


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(1)
def test_char_tokenizer_round_trip(sub: Any) -> None:
    text = "hello world, hello tokens!\nÀ bientôt."
    tok = _from_text(sub, text)
    chars = sorted(set(text))
    assert_equal(
        list(tok.chars),
        chars,
        name="CharTokenizer.from_text(text).chars",
        hint="The vocabulary is sorted(set(text)): every distinct character, sorted by code point.",
    )
    assert_equal(tok.vocab_size, len(chars), name="vocab_size")
    ids = _ints(tok.encode("hello, bientôt!"), "encode('hello, bientôt!')")
    assert_equal(
        ids,
        [chars.index(c) for c in "hello, bientôt!"],
        name="encode('hello, bientôt!')",
        hint="Token id i is chars[i].",
    )
    assert_equal(tok.decode(ids), "hello, bientôt!", name="decode(encode('hello, bientôt!'))")
    assert_equal(tok.decode([]), "", name="decode([])")


@pytest.mark.points(1)
def test_char_tokenizer_unknown_character_raises(sub: Any) -> None:
    tok = _from_text(sub, "abcabc ")
    assert_equal(_ints(tok.encode("cab a"), "encode('cab a')"), [3, 1, 2, 0, 1], name="encode('cab a')")
    with expect_raises(
        "KeyError",
        name="encode('abz') with 'z' not in the vocabulary",
        hint="An unknown character must raise KeyError: it is never dropped or replaced silently.",
    ):
        tok.encode("abz")


@pytest.mark.public
@pytest.mark.points(1)
def test_merge_is_left_to_right_and_non_overlapping(sub: Any) -> None:
    cases = [
        ([97, 97, 97], (97, 97), 256, [256, 97]),
        ([97, 97, 97, 97, 97], (97, 97), 256, [256, 256, 97]),
        ([1, 2, 3, 1, 2, 1], (1, 2), 300, [300, 3, 300, 1]),
        ([5, 6], (6, 5), 257, [5, 6]),
        ([], (1, 2), 258, []),
    ]
    for ids, pair, new_id, expected in cases:
        got = _ints(sub.merge(ids, pair, new_id), f"merge({ids}, {pair}, {new_id})")
        assert_equal(
            got,
            expected,
            name=f"merge({ids}, {pair}, {new_id})",
            hint="Scan left to right; on a match append the new id and skip both tokens, so occurrences "
            "never overlap: merge([a, a, a], (a, a), X) == [X, a].",
        )
    after = sub.eval("lambda f: (lambda ids: (f(ids, (1, 2), 300), ids)[1])([1, 2, 3, 1, 2])")(sub.merge)
    if after != [1, 2, 3, 1, 2]:
        fail(
            f"merge([1, 2, 3, 1, 2], (1, 2), 300) changed the list it was given into {after}.",
            hint="Build and return a new list: ids is not modified.",
        )


def _decoded(ids: list[int], merges: list[tuple[int, int]]) -> bytes | None:
    """The bytes that ids stand for under merges (the grader's own table), or None for an id out of range."""
    table = [bytes([b]) for b in range(256)]
    for a, b in merges:
        table.append(table[a] + table[b])
    if any(not 0 <= i < len(table) for i in ids):
        return None
    return b"".join(table[i] for i in ids)


def _merge_premise(sub: Any, what: str) -> None:
    """encode relies on merge: when merge is wrong, a wrong encoding follows from it, and the test says so."""
    __tracebackhide__ = True
    if sub.merge([97, 97, 97, 97, 97], (97, 97), 256) != [256, 256, 97] or sub.merge(
        [1, 2, 3, 1, 2, 1], (1, 2), 300
    ) != [300, 3, 300, 1]:
        fail(
            f"{what} is wrong, and merge itself is wrong: this follows from the merge problem reported by "
            "test_merge_is_left_to_right_and_non_overlapping above."
        )


def _check_merges(sub: Any, got: list[tuple[int, int]], text: str, vocab_size: int, what: str) -> None:
    __tracebackhide__ = True
    exp = _train(text, vocab_size)
    if got == exp:
        return
    if sub.merge([97, 97, 97, 97, 97], (97, 97), 256) != [256, 256, 97] or sub.merge(
        [1, 2, 3, 1, 2, 1], (1, 2), 300
    ) != [300, 3, 300, 1]:
        fail(
            f"train_bpe({what}) learned other merges, and merge itself is wrong: this follows from the merge "
            "problem reported by test_merge_is_left_to_right_and_non_overlapping above."
        )
    hint = "Follow the steps in the docstring of train_bpe."
    for kind, why in (("overlapping", _NON_OVERLAP), ("first_seen", _TIE), ("no_stop", _STOP)):
        if got == _train(text, vocab_size, kind):
            hint = why
            break
    else:
        if len(got) > len(exp) and got[: len(exp)] == exp:
            hint = _STOP
    first = next((i for i, (a, b) in enumerate(zip(got, exp, strict=False)) if a != b), min(len(got), len(exp)))
    fail(
        f"train_bpe({what}) learned {len(got)} merges, expected {len(exp)}; they first differ at merge {first}: "
        f"you have {got[first] if first < len(got) else 'nothing'}, "
        f"expected {exp[first] if first < len(exp) else 'nothing'}.",
        hint=hint,
    )


@pytest.mark.public
@pytest.mark.points(2)
def test_train_bpe_small_texts(sub: Any) -> None:
    for text, vocab_size in (
        ("aaabdaaabac", 259),  # the classic example: (97, 97) and (97, 98) tie at 2, then (256, 257)
        ("zz yy zz yy", 258),  # a four-way tie at count 2: the smallest pair is (32, 121)
        ("aaa bb aaa bb", 260),  # runs: 'aaa' holds (97, 97) once
        ("abcd abcd ab", 270),  # stops early once no pair occurs twice
    ):
        got = _pairs(sub.train_bpe(text, vocab_size), f"train_bpe({text!r}, {vocab_size})")
        _check_merges(sub, got, text, vocab_size, f"{text!r}, {vocab_size}")
    assert_equal(
        sub.train_bpe("hello", 256), [], name="train_bpe('hello', 256)", hint="vocab_size 256 leaves room for no merge."
    )
    with expect_raises("ValueError", name="train_bpe(text, 100)", hint="vocab_size below 256 raises ValueError."):
        sub.train_bpe("hello", 100)


@pytest.mark.points(2)
def test_train_bpe_on_a_paragraph(sub: Any) -> None:
    got = _pairs(sub.train_bpe(_TEXT, 256 + 60), "train_bpe(text, 316)")
    _check_merges(sub, got, _TEXT, 256 + 60, "a paragraph of 523 bytes, 316")


@pytest.mark.public
@pytest.mark.points(2)
def test_bpe_encode_applies_merges_in_order(sub: Any) -> None:
    merges = _train(_TEXT, 256 + 60)
    tok = sub.BPETokenizer(merges)
    assert_equal(tok.vocab_size, 256 + len(merges), name="BPETokenizer(merges).vocab_size", hint="256 + len(merges)")
    for text, what in (
        (_TEXT, "the training text"),
        ("the fox and the dog, the end. Tokens and numbers.", "a new sentence"),
        ("aaaaaaa bbbbb", "long runs"),
    ):
        got = _ints(tok.encode(text), f"encode({what})")
        exp = _encode(text, merges)
        if got != exp:
            _merge_premise(sub, f"encode({what})")
            fail(
                f"encode({what}) gave {len(got)} tokens, expected {len(exp)}; first tokens {got[:12]}, "
                f"expected {exp[:12]}.",
                hint=_ORDER if _decoded(got, merges) == text.encode("utf-8") else _BYTES,
            )


@pytest.mark.points(1)
def test_bpe_round_trips_any_text(sub: Any) -> None:
    merges = _train(_TEXT, 256 + 60)
    tok = sub.BPETokenizer(merges)
    for text in (_UNSEEN, "", " ", "the the the", "😀", "é" * 5 + "\x00"):
        ids = _ints(tok.encode(text), f"encode({text!r})")
        if any(i < 0 or i >= 256 + len(merges) for i in ids):
            fail(f"encode({text!r}) returned ids outside 0..{255 + len(merges)}: {ids}.")
        if ids != _encode(text, merges):
            _merge_premise(sub, f"encode({text!r})")
            back = tok.decode(ids)
            if back != text:
                fail(f"decode(encode({text!r})) gave {back!r}.", hint=_BYTES)
            assert_equal(ids, _encode(text, merges), name=f"encode({text!r})", hint=_BYTES + " " + _ORDER)
        back = tok.decode(ids)
        if back != text:
            fail(f"decode(encode({text!r})) gave {back!r}, although encode was right.", hint=_DECODE)
    # an id sequence that cuts the two bytes of 'é' (0xC3 0xA9) in half
    assert_equal(
        tok.decode([0xC3, 104, 105]),
        "\ufffdhi",
        name="decode([0xC3, 104, 105])",
        hint=_DECODE,
    )
