"""GitHub Actions: a Markdown step summary, and `::error` annotations on the learner's file and line.

GitHub reads the summary from the file named by $GITHUB_STEP_SUMMARY, and annotations from
workflow commands printed on stdout (`::error file=PATH,line=N,title=T::MESSAGE`).
"""

from __future__ import annotations

from grader.engine.data import GradeReport, Status

ICON = {
    Status.PASSED: "✅",
    Status.FAILED: "❌",
    Status.ERROR: "💥",
    Status.TIMEOUT: "⏱️",
    Status.NOT_ATTEMPTED: "⬜",
    Status.GRADER_ERROR: "⚠️",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def summary(report: GradeReport) -> str:
    lines = [
        f"## Grade: {report.points:g} / {report.max_points:g} ({report.percent:.0f}%)",
        "",
        "| exercise | status | points | first problem |",
        "|---|---|---:|---|",
    ]
    for e in report.exercises:
        bad = next((t for t in e.tests if t.status not in (Status.PASSED, Status.NOT_ATTEMPTED)), None)
        first = e.load_message or (bad.message if bad else "")
        first = first.splitlines()[0] if first else ""
        lines.append(
            f"| `{e.key}` | {ICON[e.status]} {e.status.value} | {e.points:g} / {e.max_points:g} | {_cell(first)} |"
        )
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
            if t.status in (Status.PASSED, Status.NOT_ATTEMPTED) or (e.key, t.line, t.message) in seen:
                continue  # a file that failed to load fails every test the same way: say it once
            seen.add((e.key, t.line, t.message))
            level = "warning" if t.status is Status.GRADER_ERROR else "error"
            props = [f"file={_escape_property(f'{prefix}/{e.stage}/{e.file}')}"]
            title = f"{e.key}: {t.name} ({t.status.value})"
            if t.location and " cell " in t.location:
                title += f" in {t.location.split(' ', 1)[1]}"  # "code cell 3", as Jupyter counts them
            elif t.line:
                props.append(f"line={t.line}")
            props.append(f"title={_escape_property(title)}")
            out.append(f"::{level} {','.join(props)}::{_escape_data(t.message)}")
    return "\n".join(out) + ("\n" if out else "")


def render(report: GradeReport) -> str:
    return summary(report)
