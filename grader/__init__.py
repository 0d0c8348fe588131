"""The course's grader. ``from grader import check, hint`` inside Jupyter or Colab."""

from __future__ import annotations

from typing import Any

__all__ = ["check", "hint"]


def check(exercise: str, **kwargs: Any) -> Any:
    """Run the hidden suite of ``exercise`` ("stage/id") against this notebook and show the result."""
    from grader.learner.inline import check as _check

    return _check(exercise, **kwargs)


def hint(exercise: str) -> None:
    """Show the next hint for ``exercise`` ("stage/id"): one more each call."""
    from grader.learner.hints import hint as _hint

    _hint(exercise)
