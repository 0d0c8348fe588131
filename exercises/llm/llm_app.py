"""A small retrieval-augmented (RAG) LLM app: chunk, retrieve, prompt, parse.

The model is any callable ``llm(prompt: str) -> str``: an API client, a local model, or (in the
grader) a scripted fake. Try your code on the handbook in ``../../datasets/handbook/handbook.json``
(a list of documents under ``"documents"``, each with ``"id"``, ``"title"`` and ``"text"``)::

    docs = json.load(open("../../datasets/handbook/handbook.json"))["documents"]
    chunks = [c for d in docs for c in chunk_text(d["text"], 300, 60)]
    retriever = Retriever(chunks)
    print([chunks[i] for i in retriever.search("How many vacation days do I get?", k=3)])
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

DEFAULT_SYSTEM = (
    "You answer questions about the documents below. Use only the numbered sources; if they do not "
    "contain the answer, say so."
)
RETRY_NOTE = "Your previous reply was not valid JSON of the requested form. Reply with the JSON object only."


def chunk_text(text: str, size: int, overlap: int = 0) -> list[str]:
    """Split ``text`` into chunks of ``size`` characters, consecutive chunks sharing ``overlap``.

    Chunk ``i`` is ``text[i * step : i * step + size]`` with ``step = size - overlap``,
    for ``i = 0, 1, ...`` up to and including the first chunk that reaches the end
    of the text (``i * step + size >= len(text)``). So every chunk but the last has
    exactly ``size`` characters, and the last ``overlap`` characters of a chunk are
    the first ``overlap`` characters of the next. An empty text gives ``[]``.

    >>> chunk_text("abcdefghij", 4, 1)
    ['abcd', 'defg', 'ghij']

    Raises ``ValueError`` unless ``size >= 1`` and ``0 <= overlap < size``.
    """
    raise NotImplementedError


def _words(text: str) -> list[str]:
    """Lower-cased words: runs of letters and digits."""
    raise NotImplementedError


class Retriever:
    """Finds the chunks most relevant to a query.

    Parameters
    ----------
    chunks : list of str
        The texts to search; kept, unchanged and in order, as ``self.chunks``.

    Notes
    -----
    The reference scores chunks by TF-IDF cosine similarity:

    - words: ``re.findall(r"[a-z0-9]+", text.lower())``;
    - a chunk's vector has, for each word ``w`` of the vocabulary (the chunks' words),
      ``count(w in chunk) * idf(w)`` with ``idf(w) = ln((1 + N) / (1 + df(w))) + 1``,
      where ``N`` is the number of chunks and ``df(w)`` how many contain ``w``
      (scikit-learn's smoothed idf); vectors are L2-normalised;
    - the query gets a vector the same way (words outside the vocabulary are ignored),
      and a chunk's score is the dot product of the two vectors.

    Any other scoring is fine (BM25, your own embeddings) as long as the grader's
    hidden questions about the handbook find their document among the top 3
    chunks at least 85% of the time.
    """

    def __init__(self, chunks: list[str]) -> None:
        self.chunks = list(chunks)
        raise NotImplementedError

    def _vector(self, counts: Counter[str]) -> dict[str, float]:
        """A sparse L2-normalised TF-IDF vector {word: weight} (words outside the vocabulary dropped)."""
        raise NotImplementedError

    def search(self, query: str, k: int = 3) -> list[int]:
        """Indices of the ``k`` chunks most relevant to ``query``, best first.

        Returns a list of ``min(k, len(chunks))`` distinct Python ints (indices into
        ``self.chunks``). Chunks with equal scores (duplicates, or chunks that share
        no word with the query) are ordered by **lower index first**, so the result
        is deterministic.
        """
        raise NotImplementedError


def build_prompt(question: str, contexts: list[str], system: str = DEFAULT_SYSTEM) -> str:
    """The prompt for the LLM: instructions, numbered sources, the question, the output format.

    Exactly this layout, with the sources numbered from 1 in the order given::

        {system}

        Sources:
        [1] {contexts[0]}
        [2] {contexts[1]}
        ...

        Question: {question}
        Reply with JSON only: {"answer": "<your answer>", "sources": [<the numbers of the sources you used>]}

    (the lines joined with ``"\\n"``; with no contexts, the ``Sources:`` line is
    followed directly by the empty line).
    """
    raise NotImplementedError


class SupportsSearch(Protocol):
    """What ``answer`` needs from a retriever."""

    chunks: list[str]

    def search(self, query: str, k: int = 3) -> list[int]: ...


def parse_reply(reply: str, n_sources: int) -> dict[str, Any] | None:
    """The LLM's reply as ``{"answer": str, "sources": [int, ...]}``, or ``None`` if it is malformed.

    Valid replies are a JSON object, possibly surrounded by whitespace and possibly
    wrapped in a Markdown code fence: a first line that starts with three backticks
    (such as a line "```json") and a last line of just three backticks. The object must have
    ``"answer"``, a string, and ``"sources"``, a list of ints (not bools), each between
    1 and ``n_sources``. Any other reply (not JSON, a missing or mistyped key, a
    source number out of range) gives ``None``. The sources come back as given
    (source numbers, in order, duplicates kept); other keys are ignored.
    """
    raise NotImplementedError


def answer(
    question: str,
    retriever: SupportsSearch,
    llm: Callable[[str], str],
    k: int = 3,
    system: str = DEFAULT_SYSTEM,
) -> dict[str, Any]:
    """Answer ``question`` from the retrieved chunks with one LLM call (two if the first reply is malformed).

    1. ``ids = retriever.search(question, k)``; ``contexts = [retriever.chunks[i] for i in ids]``.
    2. ``prompt = build_prompt(question, contexts, system)``; ``reply = llm(prompt)``.
    3. ``parse_reply(reply, len(contexts))``. If it is ``None``, retry **once**:
       ``llm(prompt + "\\n\\n" + RETRY_NOTE)``, and parse that. If the second reply is
       malformed too, raise ``ValueError`` (never call the LLM a third time).
    4. Return ``{"answer": <the answer string>, "sources": <cited chunks>}`` where the
       cited chunks are **chunk indices** (into ``retriever.chunks``): source number
       ``n`` is ``ids[n - 1]``. Keep the order in which the reply cites them and drop
       repeats. A reply that cites nothing gives ``"sources": []``.
    """
    raise NotImplementedError
