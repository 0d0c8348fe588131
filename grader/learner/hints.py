"""Tiered hints, one more per call, as Kaggle's learntools gives them.

Each stage's hints live beside its hidden suites, in ``grader/suites/<stage>/hints.toml``:
one table per exercise id with a list ``hints`` of 2 to 4 hints, from a gentle nudge to
nearly the answer. The first ``hint("stage/exercise")`` shows hint 1, the next hints 1-2,
and so on; after the last one it says there are no more and shows them all.
"""

from __future__ import annotations

import html
import json
import os
import textwrap
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from grader.engine import curriculum
from grader.engine.data import Exercise

HINTS_FILE = "hints.toml"


class HintError(curriculum.CurriculumError):
    """A stage's hints.toml is malformed (our fault)."""


def hints_path(stage: str) -> Path:
    return curriculum.suites_root() / stage / HINTS_FILE


def load(stage: str) -> dict[str, list[str]]:
    """Exercise id -> its hints, for one stage (empty when the stage has no hints file)."""
    return _load(hints_path(stage))


@cache
def _load(path: Path) -> dict[str, list[str]]:
    if not path.is_file():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise HintError(f"cannot read {path}: {exc}") from None
    out: dict[str, list[str]] = {}
    for ex_id, table in raw.items():
        hints = table.get("hints") if isinstance(table, dict) else None
        if not isinstance(hints, list) or not all(isinstance(h, str) and h.strip() for h in hints):
            raise HintError(f"{path}: [{ex_id}] needs `hints = [...]`, a list of non-empty strings")
        out[ex_id] = [" ".join(h.split()) for h in hints]
    return out


def hints_for(ex: Exercise) -> list[str]:
    return load(ex.stage).get(ex.id, [])


@dataclass
class Tiers:
    """How many hints of each exercise were shown; kept in memory, or in a JSON file when ``path`` is set."""

    path: Path | None = None
    shown: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.path is not None and self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.shown = {str(k): int(v) for k, v in data.items()}
            except (ValueError, TypeError, AttributeError, OSError):
                self.shown = {}  # a damaged cache only forgets which hints were shown

    def reveal(self, key: str) -> int:
        """Count one more call for ``key``; the number of calls so far."""
        self.shown[key] = self.shown.get(key, 0) + 1
        self._save()
        return self.shown[key]

    def forget(self, key: str) -> int:
        """Start ``key`` again at the first hint; how many hints had been shown."""
        before = self.shown.pop(key, 0)
        self._save()
        return before

    def _save(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            tmp.write_text(json.dumps(self.shown, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)


@dataclass(frozen=True)
class Shown:
    """What one ``hint()`` call shows."""

    key: str
    hints: list[str]  # the hints shown, in order
    total: int
    exhausted: bool  # the call came after the last hint had already been shown
    again: str = "Call hint() again for the next one."  # how to get the next hint, where it is shown

    @property
    def note(self) -> str:
        if not self.total:
            return f"There are no hints for {self.key} yet."
        if self.exhausted:
            return f"There are no more hints for {self.key}: these are all {self.total}."
        if len(self.hints) == self.total:
            return "That was the last hint."
        return self.again

    def text(self, width: int | None = None) -> str:
        """Plain text; with ``width``, each hint wrapped there, its continuation lines under its first word."""
        lines = [f"Hints for {self.key}:"] if self.hints else []
        for i, h in enumerate(self.hints, start=1):
            head = f"  Hint {i}/{self.total}: "
            if width is None:
                lines.append(head + h)
            else:
                wrapped = textwrap.fill(
                    h,
                    max(width, len(head) + 20),
                    initial_indent=head,
                    break_on_hyphens=False,
                    subsequent_indent=" " * len(head),
                    break_long_words=False,
                )
                lines.append(wrapped)
        return "\n".join([*lines, self.note]) + "\n"

    def html(self) -> str:
        items = "".join(
            f"<li><b>Hint {i}/{self.total}.</b> {html.escape(h)}</li>" for i, h in enumerate(self.hints, start=1)
        )
        body = f"<ol style='list-style:none;padding-left:0'>{items}</ol>" if items else ""
        return (
            f"<div class='grader-hint'><p><b>Hints for {html.escape(self.key)}</b></p>{body}"
            f"<p><i>{html.escape(self.note)}</i></p></div>"
        )


def shown_after(ex: Exercise, calls: int, again: str = Shown.again) -> Shown:
    """What the ``calls``-th call of ``hint()`` for ``ex`` shows."""
    hints = hints_for(ex)
    return Shown(ex.key, hints[: min(calls, len(hints))], len(hints), calls > len(hints), again)


def next_hints(exercise: str, tiers: Tiers, again: str = Shown.again) -> Shown:
    """One more call of ``hint(exercise)``: the hints it shows."""
    ex = curriculum.exercise(exercise)
    return shown_after(ex, tiers.reveal(ex.key), again)


_SESSION = Tiers()  # this kernel's count, as learntools keeps it: a new kernel starts again at hint 1


def hint(exercise: str) -> None:
    """Show the next hint for ``exercise`` ("stage/id"): an HTML list in Jupyter, text elsewhere."""
    from grader.learner.inline import html_front_end

    shown = next_hints(exercise, _SESSION)
    if html_front_end():
        from IPython.display import HTML, display

        display(HTML(shown.html()))
    else:
        print(shown.text(), end="")
