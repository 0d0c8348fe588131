"""A self-contained HTML feedback page: inline CSS, plots as PNG data URIs, no script, no network.

Feedback first: the page opens with a summary table (exercise, status, points, the first
problem), each row linking to that exercise's details below. An untouched exercise is one row
of the table and nothing more; a passed one folds its tests away; tests not attempted yet
inside a started exercise fold into one line.

Suites record pictures with the ``plot`` fixture; this reporter draws them (matplotlib is
imported only here, so grading without an HTML report never pays for it). Kinds:

- ``fit``: ``x``, ``y`` (the data), ``learner`` and ``reference`` (predictions at ``x``);
- ``clusters``: ``X`` (2-D points), ``learner`` and ``reference`` (labels); the learner's labels
  are matched to the reference's before colouring, so the same cluster has the same colour;
- ``curve``: ``learner`` (values per step), optional ``reference`` (a level or a curve).
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from grader.engine.data import ExerciseResult, GradeReport, Status, TestOutcome

COLOR = {
    Status.PASSED: "#1a7f37",
    Status.FAILED: "#9a6700",
    Status.ERROR: "#cf222e",
    Status.TIMEOUT: "#cf222e",
    Status.NOT_ATTEMPTED: "#6e7781",
    Status.GRADER_ERROR: "#8250df",
    Status.PENDING: "#0969da",
}

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 64rem;
       color: #1f2328; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
.total { font-size: 1.2rem; margin: .3rem 0 1.5rem; }
.bar { height: .6rem; background: #eaeef2; border-radius: .3rem; overflow: hidden; margin: .4rem 0 1rem; }
.bar > div { height: 100%; background: #1a7f37; }
section { border: 1px solid #d0d7de; border-radius: .5rem; padding: .8rem 1.2rem; margin: 1rem 0; }
section h2 { font-size: 1.15rem; margin: .2rem 0; display: flex; justify-content: space-between; }
.status { font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin-top: .5rem; }
td, th { text-align: left; padding: .35rem .5rem; border-top: 1px solid #eaeef2; vertical-align: top; }
td.pts { text-align: right; white-space: nowrap; }
pre { white-space: pre-wrap; margin: .2rem 0; font: 13px/1.4 ui-monospace, monospace; background: #f6f8fa;
      padding: .5rem; border-radius: .3rem; }
.load { color: #cf222e; }
img { max-width: 100%; margin: .4rem 0; }
table.summary td, table.summary th { padding: .25rem .5rem; }
table.summary td:nth-child(-n+3) { white-space: nowrap; }
table.summary td.first { color: #57606a; font-size: .9rem; }
details > summary { cursor: pointer; font-weight: 600; display: flex; justify-content: space-between; }
.muted { color: #6e7781; }
footer { color: #6e7781; font-size: .85rem; margin-top: 2rem; }
"""


def _esc(text: object) -> str:
    return html.escape(str(text))


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def match_labels(learner: Any, reference: Any) -> Any:
    """The learner's cluster labels renamed to the reference's they overlap most (one to one).

    Cluster numbers are arbitrary: a learner's cluster 0 may be the reference's cluster 2. The
    pairing maximises the points both put together (Hungarian method on the contingency table);
    a learner cluster left without a partner gets a number the reference does not use.
    """
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    learner, reference = np.asarray(learner), np.asarray(reference)
    mine, mine_idx = np.unique(learner, return_inverse=True)
    theirs, theirs_idx = np.unique(reference, return_inverse=True)
    overlap = np.zeros((len(mine), len(theirs)), dtype=np.int64)
    np.add.at(overlap, (mine_idx, theirs_idx), 1)
    rows, cols = linear_sum_assignment(-overlap)
    rename = {int(r): theirs[c] for r, c in zip(rows, cols, strict=True)}
    spare = iter(range(int(theirs.max()) + 1 if len(theirs) else 0, 2**31))
    new = np.array([rename[i] if i in rename else next(spare) for i in range(len(mine))], dtype=np.int64)
    return new[mine_idx] if len(mine) else learner


def draw(spec: dict[str, Any]) -> str:
    """One recorded plot as a PNG data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    kind = spec["kind"]
    if kind == "clusters":
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharex=True, sharey=True)
        X = np.asarray(spec["X"])
        reference = np.asarray(spec["reference"])
        mine = match_labels(np.asarray(spec["learner"]), reference)
        # one colour per label, shared by both panels: the same cluster has the same colour
        codes = np.unique(np.concatenate([mine, reference]), return_inverse=True)[1].reshape(2, -1)
        palette = plt.get_cmap("tab10")
        for ax, row, title in ((axes[0], codes[0], "your clusters"), (axes[1], codes[1], "reference")):
            ax.scatter(X[:, 0], X[:, 1], color=palette(row % 10), s=12)
            ax.set_title(title)
    elif kind == "fit":
        fig, ax = plt.subplots(figsize=(6.5, 4))
        x = np.asarray(spec["x"])
        order = np.argsort(x)
        ax.scatter(x, spec["y"], s=10, color="#8c959f", label="data")
        ax.plot(x[order], np.asarray(spec["reference"])[order], color="#1a7f37", lw=2, label="reference")
        ax.plot(x[order], np.asarray(spec["learner"])[order], color="#cf222e", lw=2, ls="--", label="yours")
        ax.legend()
    elif kind == "curve":
        fig, ax = plt.subplots(figsize=(6.5, 4))
        ax.plot(spec["learner"], color="#cf222e", label="yours")
        ref = spec.get("reference")
        if ref is not None and np.ndim(ref) == 0:
            ax.axhline(float(ref), color="#1a7f37", ls=":", label="target")
        elif ref is not None:
            ax.plot(ref, color="#1a7f37", label="reference")
        ax.legend()
    else:
        raise ValueError(f"unknown plot kind {kind!r}")
    fig.suptitle(spec.get("title", ""))
    try:
        return _png(fig)
    finally:
        plt.close(fig)


def _pts(points: float, max_points: float, pending: float) -> str:
    from grader.report.text import points_cell

    return _esc(points_cell(points, max_points, pending))


def _anchor(key: str) -> str:
    return "ex-" + key.replace("/", "-")


def _first_problem(e: ExerciseResult) -> str:
    """One line: what to look at first in this exercise."""
    if e.status is Status.NOT_ATTEMPTED:
        return "not started: the stub is untouched"
    if e.load_message:
        return e.load_message.splitlines()[0]
    bad = next((t for t in e.tests if t.status not in (Status.PASSED, Status.NOT_ATTEMPTED)), None)
    if bad is not None:
        return f"{bad.name}: {bad.message.splitlines()[0] if bad.message else bad.status.value}"
    waiting = sum(t.status is Status.NOT_ATTEMPTED for t in e.tests)
    return f"{waiting} test(s) not attempted yet" if waiting else ""


def _status(e: ExerciseResult | TestOutcome) -> str:
    return f'<span class="status" style="color:{COLOR[e.status]}">{_esc(e.status.value)}</span>'


def _summary(report: GradeReport) -> str:
    rows = []
    for e in report.exercises:
        name = _esc(e.key)
        if e.status is not Status.NOT_ATTEMPTED:
            name = f'<a href="#{_anchor(e.key)}">{name}</a>'
        rows.append(
            f"<tr><td>{name}</td><td>{_status(e)}</td>"
            f'<td class="pts">{_pts(e.points, e.max_points, e.pending_points)}</td>'
            f'<td class="first">{_esc(_first_problem(e))}</td></tr>'
        )
    return (
        '<table class="summary"><thead><tr><th>exercise</th><th>status</th><th>points</th>'
        f"<th>first problem</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _test_row(t: TestOutcome) -> str:
    message = f"<pre>{_esc(t.message)}</pre>" if t.message and t.status is not Status.PASSED else ""
    if t.status is Status.PENDING:
        return (
            f"<tr><td>{_esc(t.name)}{message}</td>"
            f'<td class="status" style="color:{COLOR[t.status]}">pending</td>'
            f'<td class="pts">{t.max_points:g} pending</td></tr>'
        )
    where = f"<div>at <code>{_esc(t.location)}</code></div>" if t.location else ""
    images = "".join(f'<img alt="{_esc(p.get("title", "plot"))}" src="{draw(p)}">' for p in t.plots)
    return (
        f"<tr><td>{_esc(t.name)}{where}{message}{images}</td><td>{_status(t)}</td>"
        f'<td class="pts">{t.points:g} / {t.max_points:g}</td></tr>'
    )


def _tests_table(e: ExerciseResult) -> str:
    blocked = [t for t in e.tests if e.load_message and t.message == e.load_message]
    waiting = [t for t in e.tests if t.status is Status.NOT_ATTEMPTED and t not in blocked]
    shown = [t for t in e.tests if t not in blocked and t not in waiting]
    rows = [_test_row(t) for t in shown]
    for group, what in ((blocked, "could not run because of the problem above"), (waiting, "not attempted yet")):
        if group:
            pts = sum(t.max_points for t in group)
            rows.append(
                f'<tr class="muted"><td>{len(group)} more test(s) {what}</td><td></td>'
                f'<td class="pts">0 / {pts:g}</td></tr>'
            )
    return (
        "<table><thead><tr><th>test</th><th>status</th><th>points</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _details(e: ExerciseResult) -> str:
    head = f"<span>{_esc(e.key)}</span><span>{_status(e)} · {_pts(e.points, e.max_points, e.pending_points)}</span>"
    if e.status is Status.PASSED:
        return f'<section id="{_anchor(e.key)}"><details><summary>{head}</summary>{_tests_table(e)}</details></section>'
    load = f'<pre class="load">{_esc(e.load_message)}</pre>' if e.load_message else ""
    return f'<section id="{_anchor(e.key)}"><h2>{head}</h2>{load}{_tests_table(e)}</section>'


def render(report: GradeReport) -> str:
    sections = [_details(e) for e in report.exercises if e.status is not Status.NOT_ATTEMPTED]
    untouched = sum(e.status is Status.NOT_ATTEMPTED for e in report.exercises)
    later = (
        f'<p class="muted">{untouched} exercise(s) not started yet; '
        "<code>grader watch</code> takes you through them one at a time.</p>"
        if untouched
        else ""
    )
    pct = report.percent
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Grade: {report.points:g} / {report.max_points:g}</title><style>{CSS}</style></head><body>"
        f'<h1>Your grade</h1><div class="total">{_pts(report.points, report.max_points, report.pending_points)} '
        f'points ({pct:.0f}%)</div><div class="bar"><div style="width:{pct:.1f}%"></div></div>'
        + (
            f'<p class="pending">{report.pending_points:g} points are pending: the hidden tests are graded in CI on '
            "your fork and by your instructor, not here.</p>"
            if report.pending_points
            else ""
        )
        + _summary(report)
        + later
        + "".join(sections)
        + f"<footer>Graded {_esc(report.started_at)} in {report.duration:.1f} s. "
        f"Isolation: {_esc(report.isolation)}.</footer></body></html>\n"
    )
