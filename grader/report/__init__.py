"""Report: each reporter renders the one GradeReport. Pick one by name."""

from __future__ import annotations

from collections.abc import Callable

from grader.data import GradeReport
from grader.report import json_report, text

Renderer = Callable[[GradeReport], str]

RENDERERS: dict[str, Renderer] = {
    "text": text.render,
    "json": json_report.render,
}
