"""GitHub Actions: a Markdown step summary, and `::error` annotations on the learner's file and line.

GitHub reads the summary from the file named by $GITHUB_STEP_SUMMARY, and annotations from
workflow commands printed on stdout (`::error file=PATH,line=N,title=T::MESSAGE`).

Everything a report prints may come from a learner (an exception message, a forged frame),
and GitHub runs any stdout line that looks like a workflow command. So each command's data
and properties are escaped by GitHub's rules (``%``, CR and LF; ``:`` and ``,`` too in a
property), and any other text (the terminal report) is printed between
``::stop-commands::TOKEN`` and ``::TOKEN::`` with a fresh random token, which is GitHub's
way to print untrusted text: nothing inside can start, or end, a command.
"""

from __future__ import annotations

import html
import secrets

from grader.engine.data import GradeReport, Status
from grader.report.text import points_cell

ICON = {
    Status.PASSED: "✅",
    Status.FAILED: "❌",
    Status.ERROR: "💥",
    Status.TIMEOUT: "⏱️",
    Status.NOT_ATTEMPTED: "⬜",
    Status.GRADER_ERROR: "⚠️",
    Status.PENDING: "⏳",
}


def _cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def summary(report: GradeReport) -> str:
    lines = [
        f"## Grade: {points_cell(report.points, report.max_points, report.pending_points)} ({report.percent:.0f}%)",
        "",
        "| exercise | status | points | first problem |",
        "|---|---|---:|---|",
    ]
    for e in report.exercises:
        quiet = (Status.PASSED, Status.NOT_ATTEMPTED, Status.PENDING)
        bad = next((t for t in e.tests if t.status not in quiet), None)
        first = e.load_message or (bad.message if bad else "")
        first = first.splitlines()[0] if first else ""
        points = points_cell(e.points, e.max_points, e.pending_points)
        lines.append(f"| `{e.key}` | {ICON[e.status]} {e.status.value} | {points} | {_cell(first)} |")
    if report.pending_points:
        lines += ["", f"⏳ {report.pending_points:g} points are pending: hidden tests, graded by your instructor."]
    if report.grader_errors:
        lines += ["", "⚠️ The grader failed on some tests. That is not your fault, and they are not counted."]
    lines += ["", f"<sub>Isolation: {report.isolation}.</sub>", ""]
    return "\n".join(lines)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation_lines(report: GradeReport, prefix: str = "exercises") -> str:
    """One annotation per failing test, on the learner's file (and line, or notebook cell)."""
    out = []
    seen: set[tuple[str, int | None, str]] = set()
    for e in report.exercises:
        for t in e.tests:
            if t.status in (Status.PASSED, Status.NOT_ATTEMPTED, Status.PENDING) or (e.key, t.line, t.message) in seen:
                continue  # a file that failed to load fails every test the same way: say it once
            seen.add((e.key, t.line, t.message))
            level = "warning" if t.status is Status.GRADER_ERROR else "error"
            props = [f"file={_escape_property(f'{prefix}/{e.stage}/{e.file}')}"]
            title = f"{e.key}: {t.name} ({t.status.value})"
            if t.location and " cell " in t.location:
                title += f" in {t.location.split(' ', 1)[1]}"  # "code cell 3", as Jupyter counts them
            elif isinstance(t.line, int) and t.line > 0:
                props.append(f"line={t.line:d}")
            props.append(f"title={_escape_property(title)}")
            out.append(f"::{level} {','.join(props)}::{_escape_data(t.message)}")
    return "\n".join(out) + ("\n" if out else "")


def untrusted(text: str, token: str | None = None) -> str:
    """``text`` wrapped so that GitHub runs no workflow command found in it."""
    token = token or secrets.token_hex(16)
    return f"::stop-commands::{token}\n{text}{'' if text.endswith(chr(10)) or not text else chr(10)}::{token}::\n"


def render(report: GradeReport) -> str:
    return summary(report)
