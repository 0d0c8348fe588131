"""The terminal report: a rich table of exercises, then what failed and why."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.engine.data import GradeReport, Status

STYLE = {
    Status.PASSED: "green",
    Status.FAILED: "yellow",
    Status.ERROR: "red",
    Status.TIMEOUT: "red",
    Status.NOT_ATTEMPTED: "dim",
    Status.GRADER_ERROR: "bold magenta",
    Status.PENDING: "cyan",
}
MARK = {
    Status.PASSED: "✓",
    Status.FAILED: "✗",
    Status.ERROR: "!",
    Status.TIMEOUT: "⏱",
    Status.NOT_ATTEMPTED: "·",
    Status.GRADER_ERROR: "?",
    Status.PENDING: "…",
}


def _points(x: float) -> str:
    return f"{x:g}"


def points_cell(points: float, max_points: float, pending: float) -> str:
    """ "3 / 4" or, with hidden tests not run here, "3 / 4 + 6 pending"."""
    cell = f"{_points(points)} / {_points(max_points - pending)}"
    return f"{cell} + {_points(pending)} pending" if pending else cell


def clickable(text: str, relpath: str, root: str | None) -> str:
    """``ml-basics/knn.py:12`` as ``exercises/ml-basics/knn.py:12``: a path an editor's terminal opens.

    ``root`` is the submission folder relative to where the command runs (None leaves paths as they are).
    """
    if not root or root == ".":
        return text
    return re.sub(rf"(?<![\w/.-]){re.escape(relpath)}", f"{root}/{relpath}", text)


def root_of(submission: Path | str) -> str:
    """The submission folder as a path from where the command runs (``exercises``), for ``clickable``."""
    folder = Path(submission).resolve()
    try:
        return os.path.relpath(folder)
    except ValueError:  # Windows: another drive
        return str(folder)


def render_to(console: Console, report: GradeReport, root: str | None = None) -> None:
    table = Table(title=f"Grade for {report.submission}", title_justify="left")
    table.add_column("exercise")
    table.add_column("status")
    table.add_column("points", justify="right")
    table.add_column("tests passed", justify="right")
    for e in report.exercises:
        passed = sum(t.status is Status.PASSED for t in e.tests)
        counted = sum(t.max_points > 0 and t.status is not Status.PENDING for t in e.tests)
        table.add_row(
            e.key,
            Text(f"{MARK[e.status]} {e.status.value}", style=STYLE[e.status]),
            points_cell(e.points, e.max_points, e.pending_points),
            f"{passed} / {counted}",
        )
    table.add_section()
    table.add_row(
        "total",
        "",
        points_cell(report.points, report.max_points, report.pending_points),
        f"{report.percent:.0f}%",
        style="bold",
    )
    console.print(table)
    if report.pending_points:
        console.print(
            Text(
                f"{_points(report.pending_points)} points are pending: the hidden tests are not in your copy of the "
                "course. They are graded in CI on your fork and by your instructor; the percentage above counts "
                "the public tests only.",
                style=STYLE[Status.PENDING],
            )
        )
    for e in report.exercises:
        bad = [t for t in e.tests if t.status not in (Status.PASSED, Status.NOT_ATTEMPTED, Status.PENDING)]
        if not bad:
            continue
        console.print(Text(f"\n{e.key}", style="bold"))
        blocked = [t for t in bad if e.load_message and t.message == e.load_message]
        relpath = f"{e.stage}/{e.file}"
        if e.load_message:
            console.print(Text(clickable(e.load_message, relpath, root), style="red"))
        if blocked:
            console.print(Text(f"  {len(blocked)} test(s) could not run because of this.", style="dim"))
        for t in bad:
            if t in blocked:
                continue
            head = Text(f"  {MARK[t.status]} {t.name}", style=STYLE[t.status])
            head.append(f"  ({t.status.value}, {_points(t.max_points)} pt)", style="dim")
            console.print(head)
            if t.location:
                console.print(Text(f"      at {clickable(t.location, relpath, root)}", style="dim"))
            for line in clickable(t.message, relpath, root).splitlines():
                console.print(Text(f"      {line}"))
    attempted = [e for e in report.exercises if e.status is Status.NOT_ATTEMPTED]
    if attempted:
        names = ", ".join(e.key for e in attempted)
        console.print(Text(f"\nNot attempted yet: {names}", style="dim"))
    if report.grader_errors:
        console.print(
            Text("\nThe grader itself failed on some tests (not your fault); please report this.", style="bold magenta")
        )
    console.print(Text(f"\nIsolation: {report.isolation}. Graded in {report.duration:.1f} s.", style="dim"))


def render(report: GradeReport, width: int | None = 100, color: bool = False, root: str | None = None) -> str:
    buf = io.StringIO()
    console = Console(
        file=buf, width=width, force_terminal=color, color_system="standard" if color else None, highlight=False
    )
    render_to(console, report, root)
    return buf.getvalue()
