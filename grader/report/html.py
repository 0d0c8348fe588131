"""A self-contained HTML feedback page: inline CSS, plots as PNG data URIs, no script, no network.

Suites record pictures with the ``plot`` fixture; this reporter draws them (matplotlib is
imported only here, so grading without an HTML report never pays for it). Kinds:

- ``fit``: ``x``, ``y`` (the data), ``learner`` and ``reference`` (predictions at ``x``);
- ``clusters``: ``X`` (2-D points), ``learner`` and ``reference`` (labels);
- ``curve``: ``learner`` (values per step), optional ``reference`` (a level or a curve).
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from grader.engine.data import GradeReport, Status, TestOutcome

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
footer { color: #6e7781; font-size: .85rem; margin-top: 2rem; }
"""


def _esc(text: object) -> str:
    return html.escape(str(text))


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


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
        for ax, key, title in ((axes[0], "learner", "your clusters"), (axes[1], "reference", "reference")):
            ax.scatter(X[:, 0], X[:, 1], c=np.asarray(spec[key]), cmap="tab10", s=12)
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
        f"<tr><td>{_esc(t.name)}{where}{message}{images}</td>"
        f'<td class="status" style="color:{COLOR[t.status]}">{_esc(t.status.value)}</td>'
        f'<td class="pts">{t.points:g} / {t.max_points:g}</td></tr>'
    )


def render(report: GradeReport) -> str:
    sections = []
    for e in report.exercises:
        load = f'<pre class="load">{_esc(e.load_message)}</pre>' if e.load_message else ""
        rows = "".join(_test_row(t) for t in e.tests)
        sections.append(
            f"<section><h2><span>{_esc(e.key)}</span>"
            f'<span class="status" style="color:{COLOR[e.status]}">{_esc(e.status.value)} · '
            f"{_pts(e.points, e.max_points, e.pending_points)}</span></h2>{load}"
            f"<table><thead><tr><th>test</th><th>status</th><th>points</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></section>"
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
        + "".join(sections)
        + f"<footer>Graded {_esc(report.started_at)} in {report.duration:.1f} s. "
        f"Isolation: {_esc(report.isolation)}.</footer></body></html>\n"
    )
