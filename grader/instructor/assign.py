"""Single source: generate the learner's ``exercises/`` from ``solutions/``.

In a ``.py`` file every block from ``# BEGIN SOLUTION`` to ``# END SOLUTION``
(both lines included) becomes ``raise NotImplementedError`` at the indentation
of the BEGIN line. In a notebook's code cell the block becomes ``...``, and
outputs and execution counts are cleared, a check cell follows each task
(grader/instructor/check_cells.py), and the notebook begins with the Colab setup
cell of its stage (grader/instructor/colab.py). Other files are copied as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.instructor import check_cells, colab

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION\s*$")
END = re.compile(r"^[ \t]*# END SOLUTION\s*$")
SKIP = {"__pycache__", ".ipynb_checkpoints"}


class AssignError(ValueError):
    """A solution file has unbalanced solution markers."""


def strip_solution(source: str, stub: str, where: str) -> str:
    """Replace each solution block of ``source`` by ``stub`` at the block's indentation."""
    out: list[str] = []
    inside: int | None = None
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        begin = BEGIN.match(line)
        if begin:
            if inside is not None:
                raise AssignError(f"{where}:{number}: BEGIN SOLUTION inside the block opened at line {inside}")
            inside = number
            out.append(f"{begin['indent']}{stub}\n")
        elif END.match(line):
            if inside is None:
                raise AssignError(f"{where}:{number}: END SOLUTION without a BEGIN SOLUTION")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise AssignError(f"{where}:{inside}: BEGIN SOLUTION is never closed")
    return "".join(out)


def notebook_stub(text: str, where: str, stage: str | None = None, key: str | None = None) -> str:
    """The learner's notebook; with ``stage``, it begins with that stage's Colab setup cell; with
    ``key`` (the exercise, "stage/id"), a check cell follows each task (grader/instructor/check_cells.py)."""
    nb = nbformat.reads(text, as_version=4)
    has_task = []
    for cell in nb.cells:
        task = False
        if cell.cell_type == "code":
            stub = strip_solution(cell.source, "...", where)
            task = stub != cell.source
            cell.source = stub
            cell.outputs = []
            cell.execution_count = None
        has_task.append(task)
    if key is not None:
        check_cells.insert(nb, key, has_task)
    if stage is not None:
        colab.insert_setup_cell(nb, stage)
    out: str = nbformat.writes(nb)
    return out + "\n"


def render(path: Path, where: str) -> bytes:
    """The learner's version of one solution file."""
    if path.suffix == ".py":
        return strip_solution(path.read_text(encoding="utf-8"), "raise NotImplementedError", where).encode()
    if path.suffix == ".ipynb":
        stage = path.parent.name
        key = next((e.key for e in colab.notebooks() if e.stage == stage and e.file == path.name), None)
        return notebook_stub(path.read_text(encoding="utf-8"), where, stage=stage, key=key).encode()
    return path.read_bytes()


@dataclass(frozen=True)
class Plan:
    """What ``exercises/`` should contain: relative path -> bytes."""

    files: dict[str, bytes]


def plan(solutions: Path) -> Plan:
    files = {}
    for path in sorted(solutions.rglob("*")):
        if path.is_file() and not SKIP.intersection(path.parts):
            rel = path.relative_to(solutions).as_posix()
            files[rel] = render(path, f"solutions/{rel}")
    return Plan(files)


def differences(p: Plan, exercises: Path) -> list[str]:
    """Files of ``exercises/`` that are missing, stale, or have no solution."""
    problems = []
    for rel, content in p.files.items():
        target = exercises / rel
        if not target.is_file():
            problems.append(f"missing: exercises/{rel}")
        elif target.read_bytes() != content:
            problems.append(f"out of date: exercises/{rel}")
    for path in sorted(exercises.rglob("*")):
        if path.is_file() and not SKIP.intersection(path.parts):
            rel = path.relative_to(exercises).as_posix()
            if rel not in p.files:
                problems.append(f"no solution for: exercises/{rel}")
    return problems


def write(p: Plan, exercises: Path) -> list[str]:
    written = []
    for rel, content in p.files.items():
        target = exercises / rel
        if not target.is_file() or target.read_bytes() != content:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            written.append(f"exercises/{rel}")
    return written
