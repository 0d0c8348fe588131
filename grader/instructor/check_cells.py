"""A check cell after every task of a notebook stub, as Kaggle's learntools puts one after each question.

``grader assign`` inserts, after the last code cell of each section (the cells under one
markdown heading) that holds a solution block, a small code cell that runs ``check()`` for the
notebook's exercise, so a learner sees the public checks where they work. The cells carry the
tag ``grader-check`` and fixed ids: ``grader assign`` writes the same bytes every time, and
the grader's own kernels skip them (a graded run never runs ``check()``).
"""

from __future__ import annotations

import nbformat

TAG = "grader-check"


def source(key: str) -> str:
    return (
        "# Check your work so far: the same checks as the grader (feedback, not the grade).\n"
        "from grader import check\n"
        "\n"
        f'check("{key}")'
    )


def _is_heading(cell: nbformat.NotebookNode) -> bool:
    return bool(cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"))


def insert(nb: nbformat.NotebookNode, key: str, has_task: list[bool]) -> None:
    """Add a check cell at the end of each section of ``nb`` with a task in it.

    ``has_task[i]`` says whether cell ``i`` held a solution block (before it became ``...``).
    Check cells from an earlier run are replaced.
    """
    cells = [(c, t) for c, t in zip(nb.cells, has_task, strict=True) if TAG not in c.metadata.get("tags", [])]
    out: list[nbformat.NotebookNode] = []
    pending = False  # the current section has a task without a check cell yet
    number = 0

    def close_section() -> None:
        nonlocal pending, number
        if pending:
            number += 1
            cell = nbformat.v4.new_code_cell(source(key))
            if (nb.nbformat, nb.nbformat_minor) >= (4, 5):
                cell.id = f"{TAG}-{number}"
            else:
                cell.pop("id", None)
            cell.metadata = {"tags": [TAG]}
            out.append(cell)
        pending = False

    for cell, task in cells:
        if _is_heading(cell):
            close_section()
        out.append(cell)
        pending = pending or task
    close_section()
    nb.cells = out


def is_check_cell(cell: nbformat.NotebookNode) -> bool:
    return TAG in cell.get("metadata", {}).get("tags", [])
