"""Hidden suite for prerequisites/word_count: word_frequencies, top_k_words and the command line.

The command line is tested twice: `main(argv)` called in the kernel with its output captured,
and `python word_count.py ...` run as a real subprocess from the kernel's folder (the graded copy).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import pytest

from grader.helpers import expect_raises, fail

# Built in the learner's kernel. Only plain values (str, int, dict, tuples) come back.
_IN_KERNEL = '''
import atexit, contextlib, io, os, shutil, subprocess, sys, tempfile

def frequencies(word_frequencies, text):
    """word_frequencies(text), with a Counter (or any dict) turned into a plain dict."""
    result = word_frequencies(text)
    return dict(result) if isinstance(result, dict) else result

def write_file(text):
    """A UTF-8 file holding text, in a fresh temporary folder; its absolute path."""
    folder = tempfile.mkdtemp(prefix="wc-")
    atexit.register(shutil.rmtree, folder, True)
    path = os.path.join(folder, "input text.txt")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path

def run_main(main, argv):
    """main(argv) with standard output and error captured: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()

def run_cli(args, stdin):
    """python word_count.py *args, in this folder, with stdin given: (stdout, stderr, exit status)."""
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    done = subprocess.run(
        [sys.executable, "word_count.py", *args],
        input=stdin, capture_output=True, encoding="utf-8", errors="replace", timeout=15, env=env,
    )
    return done.stdout, done.stderr, done.returncode
'''
_NAMES = ["frequencies", "write_file", "run_main", "run_cli"]

_RULES = (
    "Casefold the text, keep letters (c.isalpha()) and apostrophes, and treat every other character as a "
    "separator; an apostrophe belongs to a word only with a letter on both sides."
)
_APOSTROPHE = (
    "An apostrophe is part of a word only between two letters (don't, rock'n'roll); at the start or end of a "
    "word (quotes, dogs') or doubled, it separates words like any other non-letter."
)
_CASEFOLD = (
    "Use text.casefold(), not text.lower(): casefold also maps 'ß' to 'ss' and a final 'ς' to 'σ', so "
    "'Straße' and 'STRASSE' are the same word."
)
_ORDER = "Sort by count, highest first, and break ties alphabetically: sorted(items, key=lambda p: (-p[1], p[0]))."
_TAB = "Print each word and its count separated by a single tab: print(f'{word}\\t{count}')."


class K:
    """The kernel-side helpers of one test, as remote references."""

    def __init__(self, sub: Any) -> None:
        refs = sub.eval("lambda src, names: (lambda ns: (exec(src, ns), [ns[n] for n in names])[1])({})")(
            _IN_KERNEL, _NAMES
        )
        self.__dict__.update(zip(_NAMES, refs, strict=True))

    def __getattr__(self, name: str) -> Any:  # every name is set in __init__
        raise AttributeError(name)


# ---------------------------------------------------------------- references (grader side)


def _reference(text: str) -> dict[str, int]:
    kept = "".join(c if c.isalpha() or c == "'" else " " for c in text.casefold())
    return dict(Counter(re.findall(r"[^\s']+(?:'[^\s']+)*", kept)))


def _ranked(text: str) -> list[tuple[str, int]]:
    return sorted(_reference(text).items(), key=lambda p: (-p[1], p[0]))


def _lines(ranked: list[tuple[str, int]]) -> str:
    return "".join(f"{w}\t{c}\n" for w, c in ranked)


def _output_hint(out: str, want: str, full: str) -> str:
    """The likely mistake behind wrong printed output (`full`: the output without -k)."""
    if out.replace(" ", "\t") == want:
        return _TAB
    if want != full and out == full:
        return "With -k K print only the K most frequent words."
    if sorted(out.splitlines()) == sorted(want.splitlines()):
        return "Print the words in top_k_words order. " + _ORDER
    return (
        "Print the pairs of top_k_words(text, K) (all the words without -k), one per line as word<TAB>count, and "
        "nothing else. If word_frequencies or top_k_words fail their own tests, fix those first."
    )


def _diagnose(got: dict[Any, Any], expected: dict[str, int]) -> str:
    """The likely mistake behind a wrong word count."""
    words = [w for w in got if isinstance(w, str)]
    if any(w != w.casefold() for w in words):
        return "Some of your words are not casefolded. " + _CASEFOLD
    if any("ß" in w or "ς" in w for w in words):
        return _CASEFOLD
    if any(not (c.isalpha() or c == "'") for w in words for c in w):
        return "Some of your words contain characters that are not letters: split on every non-letter. " + _RULES
    if any(w.startswith("'") or w.endswith("'") or "''" in w for w in words):
        return _APOSTROPHE
    if any("'" in w for w in expected) and not any("'" in w for w in words):
        return _APOSTROPHE
    return _RULES


def _check_frequencies(got: Any, expected: dict[str, int], what: str) -> None:
    __tracebackhide__ = True
    if not isinstance(got, dict):
        fail(f"`word_frequencies` ({what}) should return a dict, but returned a {type(got).__name__}.")
    bad_count = [w for w, c in got.items() if isinstance(c, bool) or not isinstance(c, int | np.integer)]
    if bad_count:
        fail(f"`word_frequencies` ({what}): the count of {bad_count[0]!r} is not an int.", "Count with ints.")
    if got == expected:
        return
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected), key=str)
    wrong = sorted(w for w in set(got) & set(expected) if got[w] != expected[w])
    parts = []
    if missing:
        parts.append(f"missing words {missing[:5]}")
    if extra:
        parts.append(f"unexpected words {extra[:5]}")
    if wrong:
        parts.append(", ".join(f"{w!r} counted {got[w]} times instead of {expected[w]}" for w in wrong[:3]))
    fail(f"`word_frequencies` ({what}) is wrong: " + "; ".join(parts) + ".", _diagnose(got, expected))


def _follows_from_counting(sub: Any, text: str, what: str, top_k: bool = True) -> None:
    """`what` is wrong: if word_frequencies (or top_k_words) is already wrong on this text, say that it follows."""
    __tracebackhide__ = True
    expected = _reference(text)
    got = K(sub).frequencies(sub.word_frequencies, text)
    if got != expected:
        fail(
            f"{what}; this follows from `word_frequencies`, which counts the words of this text wrongly (see its "
            "tests above). Fix word_frequencies first."
        )
    if top_k:
        pairs = sub.top_k_words(text, len(expected))
        if not isinstance(pairs, list) or [tuple(p) for p in pairs] != _ranked(text):
            fail(
                f"{what}; this follows from `top_k_words`, which ranks the words of this text wrongly (see its "
                "test above). Fix top_k_words first."
            )


# ---------------------------------------------------------------- word_frequencies


@pytest.mark.points(1)
def test_word_frequencies_counts_casefolded_words(sub: Any) -> None:
    k = K(sub)
    text = "The cat saw the dog.\nTHE DOG, the cat -- and a bird!  The end?"
    _check_frequencies(k.frequencies(sub.word_frequencies, text), _reference(text), "a short English text")
    for empty in ("", "   \n\t", "123 -- 4.5 !!! ___ '' '"):
        _check_frequencies(k.frequencies(sub.word_frequencies, empty), {}, f"the text {empty!r} without words")


@pytest.mark.points(1)
def test_word_frequencies_keeps_apostrophes_inside_words(sub: Any) -> None:
    k = K(sub)
    text = "Don't stop: rock'n'roll, o'clock! 'Quoted' words, the dogs' bones, it''s ''odd'' don't"
    expected = {
        "don't": 2,
        "stop": 1,
        "rock'n'roll": 1,
        "o'clock": 1,
        "quoted": 1,
        "words": 1,
        "the": 1,
        "dogs": 1,
        "bones": 1,
        "it": 1,
        "s": 1,
        "odd": 1,
    }
    assert _reference(text) == expected  # the reference itself follows the docstring
    _check_frequencies(k.frequencies(sub.word_frequencies, text), expected, "a text with apostrophes")


@pytest.mark.points(1)
def test_word_frequencies_casefolds_and_splits_on_non_letters(sub: Any) -> None:
    k = K(sub)
    text = "Straße STRASSE strasse; Café CAFÉ café. ΟΔΟΣ οδος. well-known mp3 snake_case x2y e-mail Жук жук"
    expected = {
        "strasse": 3,
        "café": 3,
        "οδοσ": 2,
        "well": 1,
        "known": 1,
        "mp": 1,
        "snake": 1,
        "case": 1,
        "x": 1,
        "y": 1,
        "e": 1,
        "mail": 1,
        "жук": 2,
    }
    assert _reference(text) == expected
    _check_frequencies(
        k.frequencies(sub.word_frequencies, text), expected, "a text with ß, accents, Greek, digits and hyphens"
    )


@pytest.mark.points(1)
def test_word_frequencies_on_random_texts(sub: Any, rng: np.random.Generator) -> None:
    k = K(sub)
    alphabet = [*"aabbcdeeeAB'' ' .,-!?0123_\néÉß\t", "  ", "''", "don't"]
    for n in (200, 600):
        text = "".join(rng.choice(alphabet, size=n))
        _check_frequencies(
            k.frequencies(sub.word_frequencies, text), _reference(text), f"a random text starting {text[:60]!r}"
        )


# ---------------------------------------------------------------- top_k_words


def _as_pairs(value: Any, what: str) -> list[tuple[Any, Any]]:
    __tracebackhide__ = True
    if not isinstance(value, list | tuple):
        fail(f"`top_k_words` ({what}) should return a list of (word, count) tuples, not a {type(value).__name__}.")
    pairs = []
    for item in value:
        if not isinstance(item, list | tuple) or len(item) != 2:
            fail(f"`top_k_words` ({what}) should return (word, count) pairs, but one item is {item!r}.")
        pairs.append((item[0], item[1]))
    return pairs


@pytest.mark.public
@pytest.mark.points(2)
def test_top_k_words_sorts_by_count_then_alphabetically(sub: Any, rng: np.random.Generator) -> None:
    text = "b a b c a d e e e f"  # e:3, a:2, b:2, then c, d, f with 1
    got = _as_pairs(sub.top_k_words(text, 4), "k=4")
    expected = [("e", 3), ("a", 2), ("b", 2), ("c", 1)]
    if got != expected:
        _follows_from_counting(sub, text, f"`top_k_words({text!r}, 4)` returned {got}", top_k=False)
        fail(f"`top_k_words({text!r}, 4)` returned {got}, expected {expected}.", _ORDER)
    got = _as_pairs(sub.top_k_words("b a b c a", 2), "k=2")
    if got != [("a", 2), ("b", 2)]:
        fail(f"`top_k_words('b a b c a', 2)` returned {got}, expected [('a', 2), ('b', 2)].", _ORDER)

    words = [f"w{chr(97 + i)}{chr(97 + j)}" for i in range(6) for j in range(6)]
    counts = rng.integers(1, 5, size=len(words))
    tokens = [w for w, c in zip(words, counts, strict=True) for _ in range(int(c))]
    text = " ".join(rng.permutation(tokens)).replace("w", "W", 7)
    expected = _ranked(text)
    for kk in (10, len(expected), len(expected) + 5):
        got = _as_pairs(sub.top_k_words(text, kk), f"k={kk}")
        if got != expected[:kk]:
            _follows_from_counting(sub, text, f"`top_k_words` with k={kk} returned {got[:6]}...", top_k=False)
            fail(
                f"`top_k_words` with k={kk} on a text of {len(expected)} different words returned "
                f"{got[:6]}..., expected {expected[:6]}...",
                _ORDER + " Return all the words when k is larger than their number.",
            )
    got = _as_pairs(sub.top_k_words(text, 0), "k=0")
    if got != []:
        fail(f"`top_k_words(text, 0)` returned {got[:3]}, expected [].")
    with expect_raises("ValueError", name="top_k_words(text, -1)", hint="Raise ValueError for a negative k."):
        sub.top_k_words(text, -1)


# ---------------------------------------------------------------- main, in the kernel


@pytest.mark.points(1)
def test_main_prints_word_tab_count_lines(sub: Any) -> None:
    k = K(sub)
    text = "It's a test. A TEST of the test: it's\nonly a test!\n"
    path = k.write_file(text)
    status, out, err = k.run_main(sub.main, [path])
    if status not in (0, None):
        fail(f"`main([FILE])` returned {status!r}, expected 0. Standard error said: {err.strip()[:300]!r}")
    expected = _lines(_ranked(text))
    if out != expected:
        _follows_from_counting(sub, text, f"`main([FILE])` printed {out!r}, expected {expected!r}")
        fail(f"`main([FILE])` printed {out!r}, expected {expected!r}.", _output_hint(out, expected, expected))
    _, out, _ = k.run_main(sub.main, ["-k", "2", path])
    top2 = _lines(_ranked(text)[:2])
    if out != top2:
        fail(f"`main(['-k', '2', FILE])` printed {out!r}, expected {top2!r}.", _output_hint(out, top2, expected))


# ---------------------------------------------------------------- the real command line


@pytest.mark.points(2)
def test_command_line_reads_a_file_or_standard_input(sub: Any) -> None:
    k = K(sub)
    text = "one two two three three three\nThree, TWO! don't 'stop'\n"
    path = k.write_file(text)
    k.run_main(sub.main, [path])  # an untouched stub stops here: "not attempted"
    expected = _lines(_ranked(text))
    runs = (
        ([path], "", "python word_count.py FILE"),
        ([], text, "python word_count.py < FILE (standard input)"),
        (["-"], text, "python word_count.py - < FILE"),
        (["-k", "2", path], "", "python word_count.py -k 2 FILE"),
    )
    for args, stdin, what in runs:
        want = expected if "-k" not in args else _lines(_ranked(text)[:2])
        out, err, code = k.run_cli(args, stdin)
        if "Traceback" in err or code != 0:
            fail(
                f"`{what}` exited with status {code}; standard error said:\n{err.strip()[-800:]}",
                "Keep `if __name__ == '__main__': sys.exit(main())` at the end of word_count.py, and read "
                "standard input (sys.stdin.read()) when FILE is missing or '-'.",
            )
        if out != want:
            _follows_from_counting(sub, text, f"`{what}` printed {out[:300]!r}, expected {want[:300]!r}")
            hint = _output_hint(out, want, expected)
            if not out and stdin:
                hint = "Without FILE (or with FILE '-') read the text from standard input: sys.stdin.read()."
            fail(f"`{what}` printed {out[:300]!r}, expected {want[:300]!r}.", hint)


@pytest.mark.public
@pytest.mark.points(1)
def test_command_line_reports_errors_without_a_traceback(sub: Any) -> None:
    k = K(sub)
    path = k.write_file("some words here")
    k.run_main(sub.main, [path])  # an untouched stub stops here: "not attempted"
    missing = path + ".missing"
    out, err, code = k.run_cli([missing], "")
    if code == 0 or "Traceback" in err or not err.strip():
        fail(
            f"`python word_count.py MISSING_FILE` exited with status {code} and printed {err.strip()[-600:]!r} "
            "to standard error.",
            "When FILE cannot be read, catch the OSError, print a one-line message naming the file to "
            "sys.stderr, and return 1: no traceback.",
        )
    if out:
        fail(f"`python word_count.py MISSING_FILE` printed {out[:200]!r} to standard output; expected nothing.")
    for bad in ("-1", "many"):
        out, err, code = k.run_cli(["-k", bad, path], "")
        if code == 0 or "Traceback" in err:
            fail(
                f"`python word_count.py -k {bad} FILE` exited with status {code}; standard error said "
                f"{err.strip()[-600:]!r}.",
                "A negative or non-integer -k is a usage error: print a message to standard error and exit with "
                "a non-zero status (argparse's parser.error does both), without a traceback.",
            )
