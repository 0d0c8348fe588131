"""The course's grader. ``from grader import check`` inside Jupyter or Colab."""

from __future__ import annotations

from typing import Any

__all__ = ["check"]


def check(exercise: str, **kwargs: Any) -> Any:
    """Run the hidden suite of ``exercise`` ("stage/id") against this notebook and show the result."""
    from grader.inline import check as _check

    return _check(exercise, **kwargs)
