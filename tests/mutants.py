"""Known wrong implementations ("mutants"), described as replacements on a solution file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.engine.data import Exercise

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "tests" / "mutants"
SOLUTIONS = ROOT / "solutions"


@dataclass(frozen=True)
class Mutant:
    exercise: Exercise
    name: str
    description: str
    hint: str
    replacements: tuple[tuple[str, str], ...]

    @property
    def id(self) -> str:
        return f"{self.exercise.key}::{self.name}"


def load_mutants(exercise: Exercise) -> list[Mutant]:
    path = MUTANTS / exercise.stage / f"{exercise.id}.toml"
    if not path.is_file():
        return []
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return [
        Mutant(
            exercise=exercise,
            name=m["name"],
            description=m.get("description", ""),
            hint=m["hint"],
            replacements=tuple((r["old"], r["new"]) for r in m["replace"]),
        )
        for m in raw.get("mutant", [])
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
