"""Report: each reporter renders the one GradeReport. Pick one by name."""

from __future__ import annotations

from collections.abc import Callable

from grader.engine.data import GradeReport
from grader.report import classroom, github, gradescope, html, json_report, junit, text

Renderer = Callable[[GradeReport], str]

RENDERERS: dict[str, Renderer] = {
    "text": text.render,
    "json": json_report.render,
    "gradescope": gradescope.render,
    "junit": junit.render,
    "github": github.render,  # the step summary; annotations go to stdout (see cli)
    "html": html.render,
    "classroom": classroom.render,  # GitHub Classroom's autograding reporter (the workflow base64-encodes it)
}
