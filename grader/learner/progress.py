"""Where a learner stands: each exercise done, attempted or untouched.

*Untouched*: the learner's file is byte for byte the stub that ``grader assign`` makes
from the solution. *Done*: the last grading of exactly this file's content gave every
point. Everything else is *attempted*. ``grader grade`` and ``grader watch`` record each
grading in a cache folder, ``.grader/`` at the repository root (or ``$GRADER_CACHE``),
one JSON file per exercise keyed by the graded file's sha256, so an edit after a grading
falls back to "attempted". Nothing is ever written into the learner's files.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.engine import intake
from grader.engine.data import Exercise, GradeReport, Stage, Status, Submission
from grader.instructor import assign
from grader.paths import REPO

SOLUTIONS = REPO / "solutions"
CACHE_ENV = "GRADER_CACHE"
KEEP = 20  # gradings remembered per exercise (one per distinct file content)


class State(enum.StrEnum):
    DONE = "done"
    ATTEMPTED = "attempted"
    UNTOUCHED = "untouched"


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or REPO / ".grader")


def _results_path(ex: Exercise) -> Path:
    return cache_dir() / "results" / ex.stage / f"{ex.id}.json"


def _content(path: Path, within: Path | None) -> bytes | None:
    """A learner's file as intake reads it (no link followed, size capped); None when it cannot be read."""
    try:
        return intake.read_bytes(path, intake.MAX_NOTEBOOK_BYTES, within=within)
    except (OSError, intake.Refused):
        return None


def fingerprint(path: Path, within: Path | None = None) -> str | None:
    """sha256 of a file's bytes; None when it is missing, or is not a plain file intake would read."""
    content = _content(path, within)
    return None if content is None else hashlib.sha256(content).hexdigest()


def fingerprints(exercises: Iterable[Exercise], submission: Path) -> dict[str, str | None]:
    """Each exercise's file fingerprint, taken before grading so a save during grading is not credited."""
    sub = Submission(submission)
    return {ex.key: fingerprint(sub.path_of(ex), within=submission) for ex in exercises}


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        results = data["results"]
        return [r for r in results if isinstance(r, dict) and isinstance(r.get("sha256"), str)]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # no cache yet, or a damaged one: nothing is known


def record(report: GradeReport, hashes: dict[str, str | None], exercises: Iterable[Exercise]) -> None:
    """Remember each graded exercise's points for the file content it was graded on."""
    by_key = {ex.key: ex for ex in exercises}
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    for res in report.exercises:
        sha, ex = hashes.get(res.key), by_key.get(res.key)
        if sha is None or ex is None or any(t.status is Status.GRADER_ERROR for t in res.tests):
            continue  # a missing file, or a grading that says nothing about the learner's work
        path = _results_path(ex)
        entries = [r for r in _read(path) if r["sha256"] != sha]
        entries.append(
            {
                "sha256": sha,
                "points": res.points,
                "max_points": res.max_points,
                "status": res.status.value,
                "graded_at": now,
            }
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"exercise": ex.key, "results": entries[-KEEP:]}, indent=1), encoding="utf-8")
        os.replace(tmp, path)  # atomic: a reader never sees half a file


def last_result(ex: Exercise, sha: str) -> dict[str, Any] | None:
    """The recorded grading of this exact content of the exercise's file, if any."""
    return next((r for r in reversed(_read(_results_path(ex))) if r["sha256"] == sha), None)


def state_of(ex: Exercise, submission: Path, solutions: Path = SOLUTIONS) -> State:
    path = Submission(submission).path_of(ex)
    try:
        content = intake.read_bytes(path, intake.MAX_NOTEBOOK_BYTES, within=submission)
    except intake.Refused:
        return State.ATTEMPTED  # a link or a special file: grading will say why it is refused
    except OSError:
        return State.UNTOUCHED  # nothing written yet
    solution = solutions / ex.relpath
    if solution.is_file() and content == assign.render(solution, f"solutions/{ex.relpath}"):
        return State.UNTOUCHED
    last = last_result(ex, hashlib.sha256(content).hexdigest())
    if last is not None and last["max_points"] > 0 and last["points"] >= last["max_points"]:
        return State.DONE
    return State.ATTEMPTED


@dataclass(frozen=True)
class StageProgress:
    stage: Stage
    states: list[tuple[Exercise, State]]

    def count(self, state: State) -> int:
        return sum(s is state for _, s in self.states)


def stage_progress(stage: Stage, submission: Path, solutions: Path = SOLUTIONS) -> StageProgress:
    return StageProgress(stage, [(ex, state_of(ex, submission, solutions)) for ex in stage.exercises])


_GLYPH = {State.DONE: ("█", "green"), State.ATTEMPTED: ("▓", "yellow"), State.UNTOUCHED: ("░", "bright_black")}


def bar(p: StageProgress, width: int = 24) -> list[tuple[str, str]]:
    """(text, style) segments of a bar: done, then attempted, then untouched, in proportion."""
    total = len(p.states) or 1
    cells = {s: round(width * p.count(s) / total) for s in (State.DONE, State.ATTEMPTED)}
    cells[State.UNTOUCHED] = max(0, width - cells[State.DONE] - cells[State.ATTEMPTED])
    return [(_GLYPH[s][0] * n, _GLYPH[s][1]) for s, n in cells.items() if n]


def render(progress: list[StageProgress], detail: bool, width: int = 100, color: bool = False) -> str:
    """The progress table: one bar per stage; with ``detail``, each exercise's state under it."""
    import io

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buf = io.StringIO()
    console = Console(
        file=buf, width=width, force_terminal=color, color_system="standard" if color else None, highlight=False
    )
    table = Table(box=None, show_header=True, pad_edge=False)
    for name, justify in (("stage", "left"), ("", "left"), ("done", "right"), ("attempted", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("untouched", justify="right")
    for p in progress:
        n = len(p.states)
        table.add_row(
            p.stage.id,
            Text.assemble(*bar(p)),
            f"{p.count(State.DONE)}/{n}",
            str(p.count(State.ATTEMPTED)),
            str(p.count(State.UNTOUCHED)),
        )
        if detail:
            for ex, state in p.states:
                glyph, style = _GLYPH[state]
                table.add_row(Text(f"  {ex.id}", style="dim"), Text(f"{glyph} {state.value}", style=style), "", "", "")
    console.print(table)
    done = sum(p.count(State.DONE) for p in progress)
    total = sum(len(p.states) for p in progress)
    console.print(
        Text(f"{done} of {total} exercises done. `grader watch` picks the next one for you.", style="dim"),
    )
    return buf.getvalue()
