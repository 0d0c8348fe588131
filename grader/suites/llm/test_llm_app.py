"""Hidden suite for llm/llm_app: `chunk_text`, `Retriever`, `build_prompt` and `answer`.

`answer` is driven by scripted LLMs built in the kernel: plain callables `prompt -> text` that
return malformed JSON when the suite wants them to, and record every prompt. Retrieval is scored by
recall@3 on a small labelled QA set kept in this file (`_QA`, grader-only) about the handbook in
`datasets/handbook/handbook.json`.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from grader.engine.remote import LearnerError
from grader.helpers import DATASETS, assert_equal, expect_raises, fail

_DOCS = json.loads((DATASETS / "handbook" / "handbook.json").read_text(encoding="utf-8"))["documents"]

# Hidden QA set (grader-only, CC0, written for this course): questions about datasets/handbook/handbook.json,
# each as (question, id of the document that answers it, an answer span found verbatim in that document).
_QA_ROWS = [
    ("How many days of paid vacation does a full-time employee get each year?", "vacation", "25 days"),
    ("Can I take unused vacation days into next year, and how many?", "vacation", "Up to 5 unused vacation days"),
    ("When do I need a medical certificate if I am sick?", "sick_leave", "from the fourth day on"),
    ("I got ill while on holiday. Do I lose those vacation days?", "sick_leave", "given back to you as vacation days"),
    ("Which app do I use to get reimbursed for a business purchase?", "expenses", "Ledgerly"),
    ("What is the deadline for submitting a receipt?", "expenses", "within 30 days"),
    ("Do I need approval before buying something expensive for work?", "expenses", "above 500 euros"),
    ("How much may a hotel in London cost per night?", "travel", "250 euros"),
    ("Should I take the train or fly for a five hour trip?", "travel", "Train travel is preferred"),
    ("What is the daily meal allowance when travelling?", "travel", "45 euros"),
    ("Which days of the week are anchor days in the office?", "remote_work", "Tuesdays and Thursdays"),
    ("How many days per year can I work from abroad?", "remote_work", "20 working days"),
    ("How big is the budget for a desk and chair at home?", "remote_work", "600 euros"),
    ("What is the minimum password length?", "security", "14 characters"),
    ("Who do I tell when my laptop is stolen?", "security", "security@kestrel.example"),
    ("Where and when should I arrive on my first day?", "onboarding", "9:30"),
    ("When does onboarding end?", "onboarding", "after 90 days"),
    ("Which laptops can engineers choose from?", "equipment", "ThinkPad X1 Carbon"),
    ("How often are laptops replaced?", "equipment", "every three years"),
    ("How many weeks of parental leave does a non-birthing parent get?", "parental_leave", "12 weeks"),
    ("How early must I inform HR about my parental leave?", "parental_leave", "eight weeks"),
    ("How many approvals does a change to the payment service need?", "code_review", "two approvals"),
    ("Who merges a pull request after review?", "code_review", "the author, not the reviewer"),
    ("How quickly must the on-call engineer acknowledge a page?", "on_call", "15 minutes"),
    ("How much is the weekly on-call allowance?", "on_call", "300 euros per week"),
    ("Is Liberation Day a day off?", "holidays", "5 May"),
    ("How many floating holidays do employees get?", "holidays", "two floating holidays"),
    ("When did the Lisbon office open?", "offices", "2021"),
    ("What are the opening hours of the offices?", "offices", "7:00 to 20:00"),
    ("How much money can I spend on courses and conference tickets per year?", "learning", "1500 euros"),
    ("How much of my gym membership does the company pay?", "health", "70 percent"),
    ("How many counselling sessions are free each year?", "health", "eight sessions"),
    ("On which day of the month is salary paid?", "salary", "25th of every month"),
    ("When is the holiday allowance paid out?", "salary", "in May"),
]
_QA = [{"question": q, "doc": d, "answer": a} for q, d, a in _QA_ROWS]
_RECALL_AT_3 = 0.85  # the reference TF-IDF reaches 0.97; BM25 and scikit-learn's TfidfVectorizer 1.0

# Runs in the learner's kernel, exec'd into a fresh namespace.
_KERNEL = r'''
import json
import re

class ScriptedLLM:
    """Replies from a script, in order, and records every prompt. Out of script, it replies junk."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.prompts = []

    def __call__(self, prompt):
        self.prompts.append(prompt)
        return self.replies.pop(0) if self.replies else "(the scripted LLM has nothing more to say)"

class FixedRetriever:
    """A retriever whose search always returns the same chunk indices."""

    def __init__(self, chunks, ids):
        self.chunks = list(chunks)
        self.ids = list(ids)
        self.queries = []

    def search(self, query, k=3):
        self.queries.append([query, k])
        return self.ids[:k]

class OracleLLM:
    """Knows each question's answer, and cites the numbered sources of the prompt that contain it."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = 0

    def __call__(self, prompt):
        self.calls += 1
        question = next((q for q in self.answers if "Question: " + q in prompt), None)
        if question is None:
            return json.dumps({"answer": "I cannot find the question.", "sources": []})
        parts = re.split(r"(?m)^\[(\d+)\] ", prompt.split("\nQuestion: ")[0])
        cited = [int(n) for n, text in zip(parts[1::2], parts[2::2]) if self.answers[question] in text]
        if not cited:
            return json.dumps({"answer": "The sources do not say.", "sources": []})
        return json.dumps({"answer": self.answers[question], "sources": cited})
'''
_EXEC = "lambda src, names: (lambda ns: (exec(src, ns), {n: ns[n] for n in names})[1])({})"

_CHUNKS = (
    "Chunk i is text[i * step : i * step + size] with step = size - overlap, up to and including the first chunk "
    "that reaches the end of the text; consecutive chunks share `overlap` characters."
)
_RETRY = (
    "If the first reply is malformed, retry once with llm(prompt + '\\n\\n' + RETRY_NOTE), and raise "
    "ValueError if the second reply is malformed too; never call the LLM a third time."
)
_CITE = (
    "Return the cited sources as chunk indices: source number n (1-based, as numbered in the prompt) is "
    "ids[n - 1], where ids = retriever.search(question, k); keep the order cited, drop repeats."
)


def _chunk(text: str, size: int, overlap: int) -> list[str]:
    out, start = [], 0
    while start < len(text):
        out.append(text[start : start + size])
        if start + size >= len(text):
            break
        start += size - overlap
    return out


def _kernel(sub: Any) -> dict[str, Any]:
    return sub.eval(_EXEC)(_KERNEL, ["ScriptedLLM", "FixedRetriever", "OracleLLM"])


def _str_list(value: Any, name: str) -> list[str]:
    __tracebackhide__ = True
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fail(f"`{name}` should return a list of str, but returned {value!r:.200}.")
    return value


def _search(retriever: Any, query: str, k: int, n_chunks: int) -> list[int]:
    __tracebackhide__ = True
    got = retriever.search(query, k)
    ok = isinstance(got, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in got)
    if not ok:
        fail(f"`search({query!r}, {k})` should return a list of Python ints, but returned {got!r:.200}.")
    if len(got) != min(k, n_chunks) or len(set(got)) != len(got) or any(not 0 <= i < n_chunks for i in got):
        fail(
            f"`search({query!r}, {k})` returned {got}; expected {min(k, n_chunks)} distinct chunk indices "
            f"between 0 and {n_chunks - 1}."
        )
    return got


def _answer_result(out: Any) -> tuple[str, list[int]]:
    __tracebackhide__ = True
    if not isinstance(out, dict) or set(out) != {"answer", "sources"}:
        fail(f'`answer` should return a dict with exactly the keys "answer" and "sources", but returned {out!r:.300}.')
    if not isinstance(out["answer"], str) or not isinstance(out["sources"], list):
        fail(f'`answer` should return {{"answer": str, "sources": list of int}}, but returned {out!r:.300}.')
    return out["answer"], out["sources"]


def _should_not_raise(run: Any, question: str, what: str, hint: str) -> Any:
    """run(question), turning an exception of the learner's into a failure that names the likely mistake."""
    __tracebackhide__ = True
    try:
        return run(question)
    except LearnerError as err:
        if err.not_implemented:
            raise
        fail(f"{what}, but {err.render()}", hint=hint)


# ---------------------------------------------------------------- chunking


@pytest.mark.public
@pytest.mark.points(1)
def test_chunk_text_examples(sub: Any) -> None:
    for text, size, overlap in (
        ("abcdefghij", 4, 1),
        ("abcdefghijk", 4, 1),
        ("abcdefghij", 5, 0),
        ("abcdefghij", 3, 2),
        ("short", 10, 3),
        ("", 4, 1),
    ):
        got = _str_list(sub.chunk_text(text, size, overlap), f"chunk_text({text!r}, {size}, {overlap})")
        assert_equal(got, _chunk(text, size, overlap), name=f"chunk_text({text!r}, {size}, {overlap})", hint=_CHUNKS)


@pytest.mark.points(1)
def test_chunk_text_overlap_and_errors(sub: Any) -> None:
    text = _DOCS[0]["text"]
    size, overlap = 120, 30
    got = _str_list(sub.chunk_text(text, size, overlap), f"chunk_text(<{len(text)} characters>, 120, 30)")
    for a, b in itertools.pairwise(got):
        if a[-overlap:] != b[:overlap]:
            fail(
                f"Consecutive chunks should share {overlap} characters, but one ends with {a[-overlap:]!r} and the "
                f"next starts with {b[:overlap]!r}.",
                hint="Do not ignore the overlap: step by size - overlap, not by size. " + _CHUNKS,
            )
    rebuilt = got[0] + "".join(c[overlap:] for c in got[1:]) if got else ""
    if rebuilt != text:
        fail("The chunks, with their overlaps removed, do not add up to the original text.", hint=_CHUNKS)
    assert_equal(got, _chunk(text, size, overlap), name="chunk_text(<the vacation document>, 120, 30)", hint=_CHUNKS)
    for size, overlap in ((4, 4), (4, 5), (0, 0), (4, -1)):
        with expect_raises(
            "ValueError",
            name=f"chunk_text(text, {size}, {overlap})",
            hint="Raise ValueError unless size >= 1 and 0 <= overlap < size.",
        ):
            sub.chunk_text("abcdefgh", size, overlap)


# ---------------------------------------------------------------- retrieval


@pytest.mark.public
@pytest.mark.points(2)
def test_retriever_recall_at_3(sub: Any) -> None:
    chunks, labels = [], []
    for doc in _DOCS:
        for c in _chunk(doc["text"], 300, 60):
            chunks.append(c)
            labels.append(doc["id"])
    retriever = sub.Retriever(chunks)
    stored = retriever.chunks
    if stored != chunks:
        fail("`Retriever(chunks).chunks` should be the chunks you were given, unchanged and in order.")
    misses = []
    for qa in _QA:
        top = _search(retriever, qa["question"], 3, len(chunks))
        if not any(labels[i] == qa["doc"] for i in top):
            misses.append(qa["question"])
    recall = 1 - len(misses) / len(_QA)
    if recall < _RECALL_AT_3:
        fail(
            f"recall@3 is {recall:.2f} on {len(_QA)} questions about the handbook ({len(chunks)} chunks); at least "
            f"{_RECALL_AT_3} is needed. For example, no top-3 chunk answered: {misses[:3]}.",
            hint="Score chunks by TF-IDF cosine similarity: lower-case words, weight counts by "
            "idf = ln((1 + N) / (1 + df)) + 1 so that rare words count more than 'the' or 'how', L2-normalise, "
            "and rank by the dot product with the query's vector.",
        )


@pytest.mark.points(1)
def test_retriever_ties_and_k(sub: Any) -> None:
    chunks = [
        "apple pie with cream",
        "banana bread recipe",
        "apple pie with cream",
        "cherry tart and plums",
        "banana bread recipe",
        "apple pie with cream",
    ]
    retriever = sub.Retriever(chunks)
    hint = (
        "Sort by score, best first, and break ties by the lower chunk index, "
        "e.g. sorted(range(n), key=lambda i: (-score[i], i))."
    )
    assert_equal(
        _search(retriever, "apple pie", 3, 6),
        [0, 2, 5],
        name="search('apple pie', 3) over duplicated chunks",
        hint=hint,
    )
    assert_equal(
        _search(retriever, "banana bread", 2, 6),
        [1, 4],
        name="search('banana bread', 2) over duplicated chunks",
        hint=hint,
    )
    got = _search(retriever, "cherry plums", 10, 6)
    if got[0] != 3:
        fail(f"search('cherry plums', 10) ranked chunk {got[0]} first, but only chunk 3 mentions cherries and plums.")
    again = _search(retriever, "cherry plums", 10, 6)
    assert_equal(again, got, name="the same search, twice", hint=hint)


# ---------------------------------------------------------------- prompting


@pytest.mark.public
@pytest.mark.points(1)
def test_build_prompt_numbers_the_sources(sub: Any) -> None:
    contexts = ["Vacation is 25 days.", "Sick leave has no limit.", "Salaries are paid on the 25th."]
    system = "You are a careful assistant for the Kestrel handbook."
    prompt = sub.build_prompt("How many vacation days?", contexts, system)
    if not isinstance(prompt, str):
        fail(f"`build_prompt` should return a str, but returned a {type(prompt).__name__}.")
    if not prompt.startswith(system):
        fail("The prompt should start with the system instructions.", hint="Its first line is {system}.")
    pos = []
    for n, ctx in enumerate(contexts, start=1):
        marker = f"[{n}] {ctx}"
        if marker not in prompt:
            fail(
                f"The prompt does not contain the line {marker!r}.",
                hint="Number the sources from 1, in the order given: '[1] first context', '[2] second context', ...",
            )
        pos.append(prompt.index(marker))
    q = prompt.find("Question: How many vacation days?")
    if q < max(pos):
        fail(
            "The prompt should contain 'Question: How many vacation days?' after the sources.",
            hint="See the layout in the docstring.",
        )
    if "json" not in prompt[q:].lower() or '"sources"' not in prompt[q:]:
        fail(
            'After the question, the prompt should ask for JSON with "answer" and "sources".',
            hint="See the layout in the docstring.",
        )
    expected = (
        f"{system}\n\nSources:\n[1] {contexts[0]}\n[2] {contexts[1]}\n[3] {contexts[2]}\n\n"
        "Question: How many vacation days?\n"
        'Reply with JSON only: {"answer": "<your answer>", "sources": [<the numbers of the sources you used>]}'
    )
    assert_equal(prompt, expected, name="build_prompt(...)", hint="Follow the layout in the docstring exactly.")


# ---------------------------------------------------------------- answer


_CHUNK_TEXTS = [f"chunk number {i}: " + doc["text"][:80] for i, doc in enumerate(_DOCS[:10])]


def _run_answer(sub: Any, replies: list[str], ids: list[int], k: int = 3) -> tuple[Any, Any, Any]:
    """answer() with a fixed retriever and a scripted LLM; returns (llm, retriever, callable)."""
    h = _kernel(sub)
    llm = h["ScriptedLLM"](replies)
    retriever = h["FixedRetriever"](_CHUNK_TEXTS, ids)
    return llm, retriever, lambda question: sub.answer(question, retriever, llm, k=k)


@pytest.mark.points(1)
def test_answer_parses_the_reply_and_cites_chunks(sub: Any) -> None:
    question = "How many vacation days do I get?"
    llm, retriever, run = _run_answer(sub, ['{"answer": "25 days", "sources": [3, 1, 3]}'], [7, 2, 5])
    answer_text, sources = _answer_result(run(question))
    prompts = llm.prompts
    if len(prompts) != 1:
        fail(f"`answer` called the LLM {len(prompts)} times for a well-formed reply; once is enough.", hint=_RETRY)
    queries = retriever.queries
    if not queries or queries[0][0] != question or queries[0][1] != 3:
        fail(f"`answer` should call retriever.search(question, k) once; the retriever saw {queries!r:.200}.")
    contexts = [_CHUNK_TEXTS[i] for i in (7, 2, 5)]
    assert_equal(
        prompts[0],
        sub.build_prompt(question, contexts),
        name="the prompt `answer` sent",
        hint="Use build_prompt(question, contexts, system) with the retrieved chunks, in the order search gave.",
    )
    assert_equal(answer_text, "25 days", name='result["answer"]')
    if sources == [3, 1] or sources == [3, 1, 3]:
        fail(
            f'result["sources"] is {sources}: those are the source numbers of the prompt, not chunk indices.',
            hint=_CITE,
        )
    if not sources:
        fail('result["sources"] is empty, but the reply cited sources [3, 1].', hint=_CITE)
    assert_equal(sources, [5, 7], name='result["sources"] for a reply citing [3, 1, 3] of chunks [7, 2, 5]', hint=_CITE)


@pytest.mark.points(1)
def test_answer_retries_once_on_malformed_json(sub: Any) -> None:
    good = '{"answer": "Ledgerly", "sources": [2]}'
    for bad, why in (
        ('Sure! Here is the answer: {"answer": "Ledgerly", "sources": [2]', "text around truncated JSON"),
        ('{"answer": "Ledgerly"}', 'a reply without "sources"'),
        ('{"answer": "Ledgerly", "sources": [4]}', "a source number out of range (only 3 sources)"),
        ('{"answer": 42, "sources": [1]}', 'an "answer" that is not a string'),
        ('{"answer": "Ledgerly", "sources": [true]}', "a source given as true, not a number"),
    ):
        llm, _, run = _run_answer(sub, [bad, good], [4, 0, 9])
        out = _should_not_raise(
            run,
            "Which app handles expenses?",
            f"After a malformed first reply ({why}) the LLM replied well-formed JSON",
            "Treat the first reply as malformed (it is not the JSON object asked for) and retry once. " + _RETRY,
        )
        answer_text, sources = _answer_result(out)
        prompts = llm.prompts
        if len(prompts) != 2:
            fail(
                f"After a malformed first reply ({why}), `answer` called the LLM {len(prompts)} time(s); expected 2.",
                hint=_RETRY,
            )
        if prompts[1] != prompts[0] + "\n\n" + sub.RETRY_NOTE:
            fail("The retry prompt should be the first prompt followed by '\\n\\n' and RETRY_NOTE.", hint=_RETRY)
        assert_equal(
            [answer_text, sources],
            ["Ledgerly", [0]],
            name=f"the result after a malformed first reply ({why})",
            hint="Parse the second reply. " + _CITE,
        )
    # a fenced JSON object is well formed: no retry
    llm, _, run = _run_answer(sub, ['```json\n{"answer": "Ledgerly", "sources": [1]}\n```'], [4, 0, 9])
    fence = "Strip a first line starting with ``` and a last line ``` before json.loads."
    out = _should_not_raise(
        run, "Which app handles expenses?", "The LLM replied valid JSON inside a Markdown code fence", fence
    )
    answer_text, sources = _answer_result(out)
    if len(llm.prompts) != 1 or [answer_text, sources] != ["Ledgerly", [4]]:
        fail(
            "A reply wrapped in a Markdown code fence (```json ... ```) is valid JSON: `answer` should parse it "
            f"without a retry, but it called the LLM {len(llm.prompts)} times and returned {[answer_text, sources]}.",
            hint=fence,
        )


@pytest.mark.points(1)
def test_answer_gives_up_after_two_malformed_replies(sub: Any) -> None:
    llm, _, run = _run_answer(sub, ['{"answer": "x", "sources": [1]}'], [1, 2])
    _answer_result(run("A well-formed warm-up question?"))
    llm, _, run = _run_answer(sub, ["not JSON at all", "{still not json", '{"answer": "late", "sources": [1]}'], [1, 2])
    with expect_raises("ValueError", name="answer after two malformed replies", hint=_RETRY):
        run("Which question gets no good reply?")
    calls = len(llm.prompts)
    if calls != 2:
        fail(
            f"After two malformed replies `answer` called the LLM {calls} times in all; expected exactly 2.",
            hint=_RETRY,
        )


@pytest.mark.points(1)
def test_end_to_end_with_an_oracle_llm(sub: Any) -> None:
    chunks = [c for doc in _DOCS for c in _chunk(doc["text"], 300, 60)]
    learner_chunks = _str_list(sub.chunk_text(_DOCS[0]["text"], 300, 60), "chunk_text")
    if learner_chunks != _chunk(_DOCS[0]["text"], 300, 60):
        fail(
            "chunk_text(<the vacation document>, 300, 60) is wrong, so the app cannot be checked end to end: this "
            "follows from the chunk_text problem reported above."
        )
    h = _kernel(sub)
    oracle = h["OracleLLM"]({qa["question"]: qa["answer"] for qa in _QA})
    retriever = sub.Retriever(chunks)
    right, wrong = 0, []
    for qa in _QA:
        answer_text, sources = _answer_result(sub.answer(qa["question"], retriever, oracle))
        cited_ok = bool(sources) and all(
            isinstance(i, int) and 0 <= i < len(chunks) and qa["answer"] in chunks[i] for i in sources
        )
        if answer_text == qa["answer"] and cited_ok:
            right += 1
        else:
            wrong.append((qa["question"], answer_text, sources))
    if right / len(_QA) < _RECALL_AT_3 - 0.05:
        answers = {qa["question"]: qa["answer"] for qa in _QA}
        missed = [
            q for q, _, _ in wrong if not any(answers[q] in chunks[i] for i in _search(retriever, q, 3, len(chunks)))
        ]
        if len(missed) > len(_QA) - _RECALL_AT_3 * len(_QA):
            fail(
                f"Only {right} of {len(_QA)} answers were right, and for {len(missed)} of the others your retriever's "
                "top 3 chunks do not hold the answer: this follows from the retrieval problem reported by "
                "test_retriever_recall_at_3 above."
            )
        q, a, s = wrong[0]
        fail(
            f"With an LLM that always answers from the right source when it is in the prompt, only {right} of "
            f"{len(_QA)} answers were right and cited chunks that contain the answer. For {q!r} you returned "
            f"answer {a!r} with sources {s}.",
            hint="Retrieve with retriever.search(question, k=3), number the chunks in the prompt, and map the "
            "cited source numbers back to chunk indices. " + _CITE,
        )
    calls = oracle.calls
    if calls != len(_QA):
        fail(
            f"The oracle LLM was called {calls} times for {len(_QA)} questions, all answered well-formed.", hint=_RETRY
        )
