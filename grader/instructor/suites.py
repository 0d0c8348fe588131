"""Public and hidden suite tests, read from the suites' source (``ast``), never by importing them.

A test is *public* when it carries ``@pytest.mark.public``; every other test is *hidden*. Hidden
is the default so that a forgotten marker can never leak a test into a class release: the worst
a missing marker does is give learners less feedback. :func:`public_source` rewrites a suite
with only its public tests, and without the helpers, constants and imports that only hidden
tests used (reference implementations, expected values, withheld files).

The *tasks* of an exercise are the names its learner writes: the top-level functions and classes
of a module that hold a ``# BEGIN SOLUTION`` block, or the names a notebook's solution blocks
define. Every task gets at least one public test (tests/test_release.py checks it).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

MARKER = "public"
_KEEP_ALWAYS = {"pytestmark"}
QUIZ_PREFIX = "answer_"
HINTS = "hints.toml"


class SuiteError(ValueError):
    """A suite cannot be read (our fault: a syntax error in a hidden suite)."""


def _is_public_marker(dec: ast.expr) -> bool:
    node = dec.func if isinstance(dec, ast.Call) else dec
    return isinstance(node, ast.Attribute) and node.attr == MARKER and ast.unparse(node.value) == "pytest.mark"


def _is_test(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")


def _points(node: ast.FunctionDef | ast.AsyncFunctionDef) -> float:
    for dec in node.decorator_list:
        if isinstance(dec, ast.Call) and ast.unparse(dec.func) == "pytest.mark.points" and dec.args:
            value = dec.args[0]
            if isinstance(value, ast.Constant) and isinstance(value.value, int | float):
                return float(value.value)
    return 0.0


@dataclass(frozen=True)
class SuiteTest:
    name: str
    public: bool
    points: float


def _parse(source: str, where: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        raise SuiteError(f"{where}: {exc}") from None


def tests_of(source: str, where: str = "<suite>") -> list[SuiteTest]:
    """Every top-level test function of a suite, in file order, public or hidden."""
    return [
        SuiteTest(node.name, any(_is_public_marker(d) for d in node.decorator_list), _points(node))
        for node in _parse(source, where).body
        if _is_test(node) and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


# --- tasks and coverage -----------------------------------------------------------------------

_BLOCK = re.compile(r"^[ \t]*# BEGIN SOLUTION[ \t]*\n(?P<body>.*?)^[ \t]*# END SOLUTION", re.DOTALL | re.MULTILINE)
_DEFINED = re.compile(r"^(?:def|class)\s+(\w+)|^(\w+)\s*(?::[^=\n]*)?=(?!=)", re.MULTILINE)


def _module_tasks(source: str) -> list[str]:
    tree = ast.parse(source)
    lines = source.splitlines()
    out = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = "\n".join(lines[node.lineno - 1 : node.end_lineno])
            if "# BEGIN SOLUTION" in body:
                out.append(node.name)
    return out


def _notebook_tasks(text: str) -> list[str]:
    out: list[str] = []
    for cell in json.loads(text).get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", []))
        for block in _BLOCK.finditer(source):
            for match in _DEFINED.finditer(block["body"]):
                name = match[1] or match[2]
                if name and not name.startswith("_") and name not in out:
                    out.append(name)
    return out


def tasks(solution: Path) -> list[str]:
    """The names the learner writes in this exercise (see the module docstring), private helpers aside."""
    text = solution.read_text(encoding="utf-8")
    names = _notebook_tasks(text) if solution.suffix == ".ipynb" else _module_tasks(text)
    return [n for n in names if not n.startswith("_")]


def is_quiz(name: str) -> bool:
    """A quiz answer (``answer_...``): a public test would give it away by passing, so it stays hidden."""
    return name.startswith(QUIZ_PREFIX)


def _segments(tree: ast.Module, source: str) -> dict[str, str]:
    lines = source.splitlines()
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            out[node.name] = "\n".join(lines[first - 1 : node.end_lineno])
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            for name in _names_bound(node):
                out[name] = "\n".join(lines[node.lineno - 1 : node.end_lineno])
    return out


def reach(source: str, test: str) -> str:
    """The source a test runs: its own, and that of the module-level helpers it calls (transitively)."""
    tree = _parse(source, "<suite>")
    segments = _segments(tree, source)
    seen, todo = {test}, [test]
    while todo:
        text = segments.get(todo.pop(), "")
        for name in set(re.findall(r"\b\w+\b", text)) & segments.keys():
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return "\n".join(segments[n] for n in sorted(seen) if n in segments)


def covered(source: str, test: str, names: list[str]) -> set[str]:
    """The tasks among ``names`` that ``test`` reaches (its source or its helpers name them)."""
    text = reach(source, test)
    return {n for n in names if re.search(rf"\b{re.escape(n)}\b", text)}


def grader_only(suite_dir: Path) -> list[str]:
    """Files beside the suites that only the grader has (withheld labels, a reference model): never released."""
    return sorted(
        p.name
        for p in suite_dir.iterdir()
        if p.is_file() and p.name != HINTS and not (p.name.startswith("test_") and p.suffix == ".py")
    )


def needs_grader_only(source: str, test: str, files: list[str]) -> list[str]:
    """The grader-only files a test reaches: such a test cannot be public."""
    text = reach(source, test)
    return [f for f in files if f in text]


def uncovered(solution: Path, suite: Path) -> set[str]:
    """Tasks that some test of the suite checks but no public test does.

    Exempt: quiz answers, what only tests that need a grader-only file check, and, in a suite where
    covering every task would leave no hidden test, what its one hidden test alone checks.
    """
    source = suite.read_text(encoding="utf-8")
    files = grader_only(suite.parent)
    names = [n for n in tasks(solution) if not is_quiz(n)]
    tests = [t for t in tests_of(source) if t.public or not needs_grader_only(source, t.name, files)]
    cover = {t.name: covered(source, t.name, names) for t in tests}
    checked = set().union(*cover.values()) if cover else set()
    public = set().union(*(cover[t.name] for t in tests if t.public))
    hidden = [t for t in tests if not t.public]
    missing = checked - public
    if len(hidden) == 1 and missing <= cover[hidden[0].name]:
        return set()
    return missing


# --- the public version of a suite ------------------------------------------------------------


def _names_bound(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        return names if all(isinstance(t, ast.Name | ast.Tuple) for t in targets) else []
    if isinstance(node, ast.Import | ast.ImportFrom):
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            return []
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    return []


def _autouse(node: ast.stmt) -> bool:
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    return any(
        isinstance(d, ast.Call) and any(k.arg == "autouse" for k in d.keywords) for d in node.decorator_list
    ) or node.name.startswith("pytest_")


def _span(node: ast.stmt, lines: list[str]) -> tuple[int, int]:
    """0-based [start, end) of a statement with its decorators and the comment lines right above it."""
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno, *(d.lineno for d in decorators)]) - 1
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    return start, node.end_lineno or node.lineno


def _drop(source: str, spans: list[tuple[int, int]]) -> str:
    lines = source.splitlines()
    dropped = {i for a, b in spans for i in range(a, b)}
    kept = [ln for i, ln in enumerate(lines) if i not in dropped]
    return re.sub(r"\n{4,}", "\n\n\n", "\n".join(kept).strip("\n")) + "\n"


def _referenced(tree: ast.Module, skip: ast.stmt) -> set[str]:
    """Identifiers used by every top-level statement but ``skip``: names, attributes' roots, parameters."""
    used: set[str] = set()
    for stmt in tree.body:
        if stmt is skip:
            continue
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, ast.arg):
                used.add(node.arg)  # a fixture is asked for by its parameter name
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
                used.add(node.value)
    return used


def public_source(source: str, where: str, header: str) -> str:
    """The suite with its hidden tests removed, then whatever only they used; ``header`` replaces the docstring."""
    tree = _parse(source, where)
    lines = source.splitlines()
    spans = [
        _span(n, lines)
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        and _is_test(n)
        and not any(map(_is_public_marker, n.decorator_list))
    ]
    if tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant):
        first = tree.body[0]
        spans.append((first.lineno - 1, first.end_lineno or first.lineno))
    source = _drop(source, spans)
    while True:  # drop what nothing else uses any more, until nothing changes
        tree = _parse(source, where)
        lines = source.splitlines()
        unused = []
        for node in tree.body:
            names = _names_bound(node)
            if not names or _is_test(node) or _autouse(node) or _KEEP_ALWAYS.intersection(names):
                continue
            if not set(names) & _referenced(tree, node):
                unused.append(_span(node, lines))
        if not unused:
            break
        source = _drop(source, unused)
    return f'"""{header}"""\n\n' + source
