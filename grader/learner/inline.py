"""``check()`` inside Jupyter or Colab: the same suite, against the live namespace.

The suite runs in this process (the learner's kernel), but ``sub`` still goes
through the agent and the codec, so every value is a decoded copy exactly as
in a graded run, and a test behaves the same in both places. This is feedback
for the learner, not the grade: the grade always comes from ``grader grade``,
where learner code cannot reach the suite.
"""

from __future__ import annotations

import html
import json
import sys
import types
from pathlib import Path
from typing import Any

from grader.engine import curriculum, intake, kernel
from grader.engine.data import Exercise, GradeReport, Kind
from grader.engine.remote import LearnerError, LoadFailed, Session
from grader.paths import REPO
from grader.report.html import COLOR  # one palette for check() and the HTML report


def _fresh_agent() -> tuple[types.ModuleType, list[dict[str, Any]]]:
    module = types.ModuleType("_grader_local_agent")
    for name, source in zip(("<grader-codec>", "<grader-agent>"), kernel._BOOT_SOURCES, strict=True):
        exec(compile(source, name, "exec"), module.__dict__)  # noqa: S102 - our own source files
    replies: list[dict[str, Any]] = []
    module._publish = replies.append  # type: ignore[attr-defined]
    return module, replies


def _ipython_ns() -> dict[str, Any] | None:
    ip = sys.modules.get("IPython")
    shell = ip.get_ipython() if ip is not None else None
    return shell.user_ns if shell is not None else None


def html_front_end() -> bool:
    """True in a Jupyter kernel (JupyterLab, Notebook, VS Code, Colab), which draws HTML.

    A terminal IPython has a namespace too, but would print ``<IPython.core.display.HTML object>``.
    """
    ip = sys.modules.get("IPython")
    shell = ip.get_ipython() if ip is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


class LocalTransport:
    """Serves the suite from a namespace in this very process."""

    def __init__(self, exercise: Exercise, namespace: dict[str, Any] | None, module_path: Path | None) -> None:
        self.kind = exercise.kind.value
        self.display = exercise.relpath
        self._agent, self._replies = _fresh_agent()
        self._namespace = namespace
        if module_path is not None:
            try:  # the same intake rules as a graded run: a link or a special file is refused
                intake.refuse_special(module_path, self.display)
            except intake.Refused as exc:
                raise LoadFailed(str(exc)) from None
            self._agent.load_module(str(module_path), f"_checked_{exercise.id}", self.display)
            reply = self._replies.pop()
            if "error" in reply:
                err = LearnerError(reply["error"], f"Importing {self.display}")
                raise LoadFailed(err.render(), err)
        else:
            self._agent._state.update(kind="notebook", namespace=namespace, display=self.display)

    def request(self, req: dict[str, Any]) -> dict[str, Any]:
        reply: dict[str, Any] = self._agent.serve(json.dumps(req, allow_nan=False))
        return reply

    def missing_name_note(self) -> tuple[str, bool, bool]:
        history = (self._namespace or {}).get("In", [])
        if any(kernel._is_placeholder(src) for src in history if isinstance(src, str)):
            return "A cell you ran still holds the `...` placeholder: write your code there.", True, False
        return "Run the cell that defines it first (Run All runs every cell in order).", False, False


class LocalProvider:
    def __init__(self, transport_factory: Any) -> None:
        self._factory = transport_factory
        self.error: LoadFailed | None = None

    def session(self, exercise: Exercise) -> Session:
        return Session(self._factory(exercise))

    def release(self, exercise: Exercise) -> None:
        return None


def _find_module(ex: Exercise, path: str | Path | None) -> Path:
    candidates = (
        [Path(path)]
        if path is not None
        else [
            Path.cwd() / ex.file,
            Path.cwd() / "exercises" / ex.stage / ex.file,
            REPO / "exercises" / ex.stage / ex.file,
        ]
    )
    for c in candidates:
        if c.is_file():
            return c.parent.resolve() / c.name  # the file itself not resolved: intake must see a link
    raise FileNotFoundError(f"cannot find {ex.relpath}; pass check({ex.key!r}, path='.../{ex.file}')")


def run_check(exercise: str, namespace: dict[str, Any] | None = None, path: str | Path | None = None) -> GradeReport:
    """Grade one exercise in process and return the report (no display)."""
    import datetime as dt
    import time

    from grader.engine.runner import assemble, run_suites, versions

    ex = curriculum.exercise(exercise)
    t0 = time.perf_counter()
    if ex.kind is Kind.NOTEBOOK:
        ns = namespace if namespace is not None else (_ipython_ns() or vars(sys.modules["__main__"]))
        provider = LocalProvider(lambda e: LocalTransport(e, ns, None))
    else:
        module = _find_module(ex, path)
        provider = LocalProvider(lambda e: LocalTransport(e, None, module))
    runs = run_suites([ex], provider)
    return GradeReport(
        submission="this notebook" if ex.kind is Kind.NOTEBOOK else str(path or ex.relpath),
        exercises=assemble([ex], runs, {}, {}),
        isolation="none: check() runs in your own kernel (feedback only; the grade comes from `grader grade`)",
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        duration=round(time.perf_counter() - t0, 3),
        versions=versions(),
    )


def to_html(report: GradeReport) -> str:
    rows = []
    for e in report.exercises:
        for t in e.tests:
            color = COLOR[t.status]
            rows.append(
                f"<tr><td>{html.escape(t.name)}</td>"
                f"<td style='color:{color};font-weight:bold'>{html.escape(t.status.value)}</td>"
                f"<td style='text-align:right'>{t.points:g} / {t.max_points:g}</td>"
                f"<td><pre style='white-space:pre-wrap;margin:0'>{html.escape(t.message)}</pre></td></tr>"
            )
    e = report.exercises[0]
    head = (
        f"<b>{html.escape(e.key)}</b>: {e.points:g} / {e.graded_max_points:g} points "
        + (f"(+ {e.pending_points:g} pending: hidden tests, graded by your instructor) " if e.pending_points else "")
        + f"(<span style='color:{COLOR[e.status]}'>{html.escape(e.status.value)}</span>)"
    )
    return (
        f"<div class='grader-check'><p>{head}</p><table><thead><tr><th>test</th><th>status</th>"
        f"<th>points</th><th>message</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def check(
    exercise: str, namespace: dict[str, Any] | None = None, path: str | Path | None = None, quiet: bool = False
) -> GradeReport | None:
    """Run the hidden suite of ``exercise`` against this notebook (or module) and show a table."""
    from grader.report import text

    if "_grader_agent" in sys.modules:  # a graded run's kernel: the grader grades, check() stays out of it
        return None
    report = run_check(exercise, namespace, path)
    if quiet:
        return report
    if html_front_end():
        from IPython.display import HTML, display

        display(HTML(to_html(report)))
    else:
        print(text.render(report))
    return None
