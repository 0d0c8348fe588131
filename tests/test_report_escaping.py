"""Reports escape what they print: a learner's text never becomes a GitHub workflow command or HTML markup.

Every adversarial case checks the same on a real grading (tests/test_adversarial.py); here each
escaping rule is pinned on a report built by hand, with the exact text GitHub would read.
"""

from __future__ import annotations

from grader.engine import data
from grader.engine.data import ExerciseResult, GradeReport, Kind, Status
from grader.report import github, html, text

INJECT = "wrong\n::warning title=Grade::All tests passed, 100%\r\n::stop-commands::pwned\n<script>alert(1)</script>"


def hostile_report(line: object = 3, load_message: str = INJECT) -> GradeReport:
    test = data.TestOutcome(
        name="test_fit: a, b",
        status=Status.ERROR,
        points=0.0,
        max_points=1.0,
        message=INJECT,
        location="ml-basics/kmeans.py:3",
        line=line,  # type: ignore[arg-type]  # what a forged reply would put here, were it not checked
    )
    ex = ExerciseResult(
        key="ml-basics/kmeans",
        stage="ml-basics",
        file="kmeans.py",
        kind=Kind.MODULE,
        max_points=1.0,
        tests=[test],
        load_message=load_message,
    )
    return GradeReport(submission="s", exercises=[ex], isolation="rlimits", started_at="now", duration=0.0)


def test_annotations_escape_data_and_properties_by_githubs_rules() -> None:
    out = github.annotation_lines(hostile_report(), "exercises")
    assert out.count("\n") == 1, "one annotation, on one line"
    assert out == (
        "::error file=exercises/ml-basics/kmeans.py,line=3,"
        "title=ml-basics/kmeans%3A test_fit%3A a%2C b (error)::"
        "wrong%0A::warning title=Grade::All tests passed, 100%25%0D%0A::stop-commands::pwned%0A"
        "<script>alert(1)</script>\n"
    )


def test_a_line_number_that_is_not_a_number_is_left_out() -> None:
    out = github.annotation_lines(hostile_report(line="3\n::stop-commands::pwned"), "exercises")
    assert "line=" not in out and out.count("\n") == 1


def test_free_text_is_printed_between_stop_commands_and_a_random_token() -> None:
    terminal = text.render(hostile_report())
    first, second = github.untrusted(terminal), github.untrusted(terminal)
    lines = first.splitlines()
    token = lines[0].removeprefix("::stop-commands::")
    assert len(token) == 32 and lines[-1] == f"::{token}::"
    assert token not in terminal and first != second, "a fresh token each time, never one the learner wrote"


def test_the_step_summary_and_the_html_page_escape_markup() -> None:
    summary = github.summary(hostile_report(load_message="<img src=x onerror=alert(1)> | a cell\nmore"))
    assert "<img" not in summary and "&lt;img src=x onerror=alert(1)&gt; \\| a cell |" in summary
    page = html.render(hostile_report())
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
