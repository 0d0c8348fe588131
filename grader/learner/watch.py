"""``grader watch``: rustlings for this course.

It picks the first exercise that is not done, grades it, and shows what failed and the
next hint. Every time the exercise's file is saved it grades it again; once it has every
point it moves on to the next exercise that is not done. Keys: ``h`` one more hint,
``n`` the next exercise, ``q`` quit.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
import textwrap
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from grader.engine.data import Exercise, GradeReport, Status, Submission
from grader.learner import hints, progress
from grader.report import text

POLL = 0.5  # seconds between looks at the file's modification time
KEYS_HELP = "save the file to check again · h: a hint · n: next exercise · q: quit"
AGAIN = "Press h for the next one."
CLEAR = "\x1b[H\x1b[2J"

Keys = Callable[[float], str]  # waits up to that many seconds; returns the keys typed ('' for none)
Grader = Callable[[Exercise], GradeReport]


@contextlib.contextmanager
def raw_keys(stream: TextIO) -> Iterator[Keys]:
    """Single keypresses from a terminal without Enter (cbreak mode); the terminal is restored on exit."""
    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)

    def read(timeout: float) -> str:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return ""
        data = os.read(fd, 64)
        return data.decode(errors="ignore") if data else "q"  # end of input: quit

    try:
        yield read
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.lstat()  # a link is refused by intake; its target is never looked at
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


@dataclass
class Watch:
    """The watch loop over ``exercises`` of ``submission``; ``grade`` grades one exercise."""

    exercises: list[Exercise]
    submission: Path
    grade: Grader
    out: TextIO = sys.stdout
    tiers: hints.Tiers = field(default_factory=hints.Tiers)
    width: int = 100
    color: bool = False
    clear: bool = False
    current: Exercise | None = None
    notice: str = ""  # shown at the top of the next screen (what happened to the previous exercise)
    _stamp: tuple[int, int] | None = None

    def path(self, ex: Exercise) -> Path:
        return Submission(self.submission).path_of(ex)

    def _say(self, text: str = "") -> None:
        """Write ``text``, each line wrapped at the terminal's width (continuations indented)."""
        lines = []
        for line in text.splitlines() or [""]:
            indent = " " * (len(line) - len(line.lstrip()) + 4)
            lines.append(textwrap.fill(line, self.width, subsequent_indent=indent, break_on_hyphens=False) or line)
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()

    def not_done(self, after: Exercise | None = None) -> Exercise | None:
        """The first exercise that is not done, starting after ``after`` and wrapping around."""
        order = self.exercises
        if after is not None and after in order:
            i = order.index(after) + 1
            order = order[i:] + order[:i]
        return next(
            (e for e in order if progress.state_of(e, self.submission) is not progress.State.DONE and e != after),
            None,
        )

    def check(self) -> bool:
        """Grade the current exercise and show the result; True when it has every point."""
        ex = self.current
        if ex is None:
            return False
        self._stamp = _stamp(self.path(ex))
        if self.clear:
            self.out.write(CLEAR)
        self._say(f"grader watch: checking {ex.key} ({self.path(ex)}) ...")
        hashes = progress.fingerprints([ex], self.submission)
        report = self.grade(ex)
        with contextlib.suppress(OSError):  # an unwritable cache only costs the memory of what is done
            progress.record(report, hashes, [ex])
        result = report.exercises[0]
        if self.clear:
            self.out.write(CLEAR)
        if self.notice:
            self._say(self.notice)
            self.notice = ""
        done = sum(progress.state_of(e, self.submission) is progress.State.DONE for e in self.exercises)
        self._say(f"grader watch · {ex.key} · {ex.title} · {done}/{len(self.exercises)} done")
        self._say(f"Your file: {self.path(ex)}")
        self.out.write(text.render(report, width=self.width, color=self.color, root=text.root_of(self.submission)))
        passed = result.points >= result.graded_max_points > 0  # pending points (a class release) aside
        if passed:
            self._say(f"✓ {ex.key} has all its points ({result.points:g} / {result.max_points:g}).")
            return True
        if result.status is Status.NOT_ATTEMPTED:
            self._say(f"Write your code in {self.path(ex)} and save it: it is checked again at once.")
        if not self.tiers.shown.get(ex.key):
            self.show_hint()  # the first hint comes with the first failure
        else:
            self._say(hints.shown_after(ex, self.tiers.shown[ex.key], AGAIN).text().rstrip("\n"))
        self._say(KEYS_HELP)
        return False

    def show_hint(self) -> None:
        if self.current is not None:
            self._say(hints.next_hints(self.current.key, self.tiers, AGAIN).text().rstrip("\n"))

    def go(self, ex: Exercise | None) -> bool:
        """Move to ``ex`` and check it; False when there is nothing left to do."""
        self.current = ex
        while self.current is not None:
            if not self.check():
                return True
            following = self.not_done(after=self.current)
            if following is None:
                break
            self.notice = f"✓ {self.current.key} is done. Next: {following.key}"
            self.current = following
        self._say("Every exercise here is done. Well done!")
        return False

    def run(self, keys: Keys) -> int:
        if not self.go(self.not_done()):
            return 0
        while True:
            for key in keys(POLL):
                if key in "qQ":
                    self._say("Bye.")
                    return 0
                if key in "hH":
                    self.show_hint()
                elif key in "nN" and self.current is not None:
                    following = self.not_done(after=self.current)
                    if following is None:
                        self._say("This is the only exercise left that is not done.")
                    elif not self.go(following):
                        return 0
            if self.current is not None and _stamp(self.path(self.current)) != self._stamp:
                if not self.go(self.current):
                    return 0
