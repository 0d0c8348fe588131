"""``grader reset``: put an exercise's stub back, keeping the learner's version in ``.grader/``.

The stub is what ``grader assign`` makes from the solution, byte for byte, so after a reset
``grader progress`` shows the exercise as untouched again. The learner's file is copied to
``.grader/backups/<stage>/<time>-<file>`` first; nothing is ever deleted.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from grader.engine.data import Exercise, Submission
from grader.instructor import assign
from grader.learner.progress import SOLUTIONS, cache_dir


class ResetError(ValueError):
    """The stub cannot be made (no solution to make it from)."""


@dataclass(frozen=True)
class Reset:
    target: Path  # the learner's file, now the stub
    backup: Path | None  # where the learner's version went; None when there was nothing to keep


def stub_of(ex: Exercise, solutions: Path = SOLUTIONS) -> bytes:
    solution = solutions / ex.relpath
    if not solution.is_file():
        raise ResetError(f"cannot rebuild the stub of {ex.key}: {solution} is missing")
    return assign.render(solution, f"solutions/{ex.relpath}")


def is_stub(ex: Exercise, submission: Path, solutions: Path = SOLUTIONS) -> bool:
    path = Submission(submission).path_of(ex)
    return path.is_file() and path.read_bytes() == stub_of(ex, solutions)


def reset(ex: Exercise, submission: Path, solutions: Path = SOLUTIONS) -> Reset:
    """Back up the learner's file (when there is one) and write the stub in its place."""
    target = Submission(submission).path_of(ex)
    stub = stub_of(ex, solutions)
    backup = None
    if target.is_file() and target.read_bytes() != stub:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = cache_dir() / "backups" / ex.stage / f"{stamp}-{ex.file}"
        n = 1
        while backup.exists():
            n += 1
            backup = backup.with_name(f"{stamp}-{n}-{ex.file}")
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target, backup)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.reset-{os.getpid()}")
    tmp.write_bytes(stub)
    os.replace(tmp, target)  # atomic: an editor or `grader watch` never sees half a file
    return Reset(target, backup)


def shown_path(path: Path) -> str:
    """``path`` as a learner types it: relative to where the command runs, when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def root_path(submission: Path, ex: Exercise) -> str:
    return shown_path(Submission(submission).path_of(ex))
