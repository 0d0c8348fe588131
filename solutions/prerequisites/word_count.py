"""A first program: count the words of a text, and a command-line tool that prints them.

Run it as ``python word_count.py [-k K] [FILE]``; see :func:`main`.
"""

from __future__ import annotations

import argparse
import re
import sys


def word_frequencies(text: str) -> dict[str, int]:
    """Count how often each word occurs in ``text``.

    The rules, in order:

    1. Casefold the whole text with ``str.casefold()`` (stronger than
       ``lower()``: ``"Straße"`` and ``"STRASSE"`` both become ``"strasse"``).
    2. A *letter* is a character ``c`` with ``c.isalpha()`` true: accented and
       non-Latin letters count (``"é"``, ``"ж"``); digits, ``_``, hyphens and all
       other punctuation do not.
    3. A *word* is a maximal run of letters, where an apostrophe ``'`` (the ASCII
       character U+0027 only) that has a letter immediately on **both** sides is
       part of the word: ``"don't"`` and ``"rock'n'roll"`` are single words.
       Every other character separates words, so ``"'quoted'"`` gives
       ``"quoted"``, ``"dogs'"`` gives ``"dogs"``, ``"it''s"`` gives ``"it"`` and
       ``"s"``, ``"well-known"`` gives ``"well"`` and ``"known"``, and
       ``"mp3"`` gives ``"mp"``.

    Parameters
    ----------
    text : str

    Returns
    -------
    counts : dict[str, int]
        A plain ``dict`` (a ``collections.Counter`` is fine too) mapping each
        casefolded word to its number of occurrences (an ``int >= 1``). A text
        without words gives ``{}``. The order of the keys does not matter.
    """
    # BEGIN SOLUTION
    # keep letters and apostrophes, turn every other character into a space
    kept = "".join(c if c.isalpha() or c == "'" else " " for c in text.casefold())
    counts: dict[str, int] = {}
    # a word: a run of letters, possibly joined to more runs by single apostrophes
    for word in re.findall(r"[^\s']+(?:'[^\s']+)*", kept):
        counts[word] = counts.get(word, 0) + 1
    return counts
    # END SOLUTION


def top_k_words(text: str, k: int) -> list[tuple[str, int]]:
    """The ``k`` most frequent words of ``text``, as ``(word, count)`` pairs.

    Words are counted by :func:`word_frequencies`. The pairs are sorted by count,
    highest first; words with the same count are in alphabetical order (plain
    ``str`` comparison of the casefolded words, as ``sorted`` does). So
    ``top_k_words("b a b c a", 2) == [("a", 2), ("b", 2)]``.

    Parameters
    ----------
    text : str
    k : int
        How many pairs to return, ``k >= 0``. When the text has fewer than
        ``k`` different words, all of them are returned.

    Returns
    -------
    pairs : list of (str, int) tuples

    Raises
    ------
    ValueError
        If ``k`` is negative.
    """
    # BEGIN SOLUTION
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    counts = word_frequencies(text)
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    return ranked[:k]
    # END SOLUTION


def main(argv: list[str] | None = None) -> int:
    """The command line: ``python word_count.py [-k K] [FILE]``.

    Reads the text of ``FILE`` (a path, read as UTF-8), or standard input when
    ``FILE`` is missing or is ``-``. Prints the words in :func:`top_k_words`
    order, one per line as ``word<TAB>count`` (a single tab character, ``\\t``,
    between them, nothing else on the line), and nothing else to standard
    output. With ``-k K`` only the ``K`` most frequent words are printed; by
    default, all of them. A text without words prints nothing.

    Parameters
    ----------
    argv : list of str, optional
        The arguments without the program name, as in ``sys.argv[1:]``, which
        is what ``None`` means. For example ``main(["-k", "3", "book.txt"])``.

    Returns
    -------
    status : int
        The exit status: 0 on success. If ``FILE`` cannot be read (it does not
        exist, or it is a folder), print a one-line message that names it to
        standard error and return 1, without a traceback. A bad ``-k`` (not an
        integer, or negative) is a usage error: a message on standard error
        and a non-zero status (``argparse`` exits with 2, which is fine).

    Notes
    -----
    Keep the ``if __name__ == "__main__":`` block at the end of this file: it
    makes ``python word_count.py`` call ``main`` and exit with its status.
    """
    # BEGIN SOLUTION
    parser = argparse.ArgumentParser(prog="word_count.py", description="Count the words of a text.")
    parser.add_argument("-k", type=int, default=None, help="print only the K most frequent words")
    parser.add_argument("file", nargs="?", default="-", help="a UTF-8 text file (default: standard input)")
    args = parser.parse_args(argv)
    if args.k is not None and args.k < 0:
        parser.error(f"-k must be >= 0, got {args.k}")
    if args.file == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(args.file, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            print(f"word_count.py: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return 1
    k = len(word_frequencies(text)) if args.k is None else args.k
    for word, count in top_k_words(text, k):
        print(f"{word}\t{count}")
    return 0
    # END SOLUTION


if __name__ == "__main__":
    sys.exit(main())
