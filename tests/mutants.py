"""Known wrong implementations ("mutants"), described as replacements on a solution file,
and the rules they break.

``tests/mutants/<stage>/<exercise_id>.toml`` holds, for one exercise:

- ``[[rule]]``: every rule its docstrings and notebook state (``id``, ``text``, and ``tests``:
  the suite's test functions that check it);
- ``[[mutant]]``: a wrong implementation that breaks ONE rule (``rule``), the substring a failing
  message must contain (``hint``), other hint substrings that are also true of it (``also_true``),
  and its edits on the solution (``[[mutant.replace]]``, ``old`` -> ``new``).
"""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from grader.engine.data import Exercise, ExerciseResult, Status

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "tests" / "mutants"
SOLUTIONS = ROOT / "solutions"
SUITES = ROOT / "grader" / "suites"


@dataclass(frozen=True)
class Rule:
    exercise: Exercise
    id: str
    text: str
    tests: tuple[str, ...]


@dataclass(frozen=True)
class Mutant:
    exercise: Exercise
    name: str
    description: str
    hint: str
    replacements: tuple[tuple[str, str], ...]
    rule: str = ""
    also_true: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.exercise.key}::{self.name}"


def _table(exercise: Exercise) -> dict[str, Any]:
    path = MUTANTS / exercise.stage / f"{exercise.id}.toml"
    if not path.is_file():
        return {}
    return tomllib.loads(path.read_text(encoding="utf-8"))


def load_rules(exercise: Exercise) -> list[Rule]:
    return [
        Rule(exercise=exercise, id=r["id"], text=r.get("text", ""), tests=tuple(r.get("tests", ())))
        for r in _table(exercise).get("rule", [])
    ]


def load_mutants(exercise: Exercise) -> list[Mutant]:
    return [
        Mutant(
            exercise=exercise,
            name=m["name"],
            description=m.get("description", ""),
            hint=m["hint"],
            replacements=tuple((r["old"], r["new"]) for r in m["replace"]),
            rule=m.get("rule", ""),
            also_true=tuple(m.get("also_true", ())),
        )
        for m in _table(exercise).get("mutant", [])
    ]


def suite_path(exercise: Exercise) -> Path:
    return SUITES / exercise.stage / f"test_{exercise.id}.py"


def suite_tests(exercise: Exercise) -> set[str]:
    """The names of the test functions the exercise's suite defines (module level or in a class)."""
    tree = ast.parse(suite_path(exercise).read_text(encoding="utf-8"))
    nodes = list(tree.body) + [n for c in tree.body if isinstance(c, ast.ClassDef) for n in c.body]
    return {
        n.name for n in nodes if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test")
    }


def function_of(outcome_name: str) -> str:
    """``test_x[case]`` -> ``test_x``: the function a reported outcome came from."""
    return outcome_name.split("[", 1)[0]


_HINT_LINE = re.compile(r"^\s*Hint:\s*(.*)$")


def hint_lines(message: str) -> list[str]:
    """The ``Hint: ...`` lines that ``fail(..., hint=...)`` and ``assert_close(..., hint=...)`` append."""
    return [m.group(1) for line in message.splitlines() if (m := _HINT_LINE.match(line))]


def misleading_hints(mutant: Mutant, result: ExerciseResult) -> list[tuple[str, str]]:
    """(test, hint) for every hint a failing test shows that is not true of ``mutant``.

    A hint is true of the mutant when it contains the mutant's ``hint`` or one of its
    ``also_true`` substrings (case-insensitive).
    """
    true = [s.lower() for s in (mutant.hint, *mutant.also_true)]
    return [
        (t.name, h)
        for t in result.tests
        if t.status is not Status.PASSED
        for h in hint_lines(t.message)
        if not any(s in h.lower() for s in true)
    ]


def _replace_once(text: str, old: str, new: str, where: str) -> str:
    count = text.count(old)
    if count != 1:
        raise ValueError(f"{where}: the mutant's `old` text occurs {count} times (needs exactly 1):\n{old}")
    return text.replace(old, new)


def apply(mutant: Mutant, solution: Path) -> str:
    """The mutant's version of ``solution`` as text."""
    where = f"{mutant.id} on {solution.name}"
    if solution.suffix == ".ipynb":
        nb = nbformat.read(solution, as_version=4)
        for old, new in mutant.replacements:
            cells = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
            if len(cells) != 1:
                raise ValueError(f"{where}: `old` text found in {len(cells)} code cells (needs exactly 1):\n{old}")
            cells[0].source = _replace_once(cells[0].source, old, new, where)
        return nbformat.writes(nb)
    text = solution.read_text(encoding="utf-8")
    for old, new in mutant.replacements:
        text = _replace_once(text, old, new, where)
    return text
