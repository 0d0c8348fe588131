"""Single source: exercises/ is generated from solutions/ and must be up to date."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from grader.instructor import assign
from tests.conftest import EXERCISES, SOLUTIONS


def test_exercises_are_up_to_date_with_solutions() -> None:
    problems = assign.differences(assign.plan(SOLUTIONS), EXERCISES)
    assert not problems, "run `python -m grader assign`:\n" + "\n".join(problems)


def test_solution_blocks_become_not_implemented_at_their_indentation() -> None:
    src = (
        "def f(x):\n"
        '    """Doc stays."""\n'
        "    # BEGIN SOLUTION\n"
        "    y = x + 1\n"
        "    return y\n"
        "    # END SOLUTION\n"
        "\n"
        "Z = 1\n"
    )
    out = assign.strip_solution(src, "raise NotImplementedError", "f.py")
    assert out == 'def f(x):\n    """Doc stays."""\n    raise NotImplementedError\n\nZ = 1\n'


@pytest.mark.parametrize(
    ("src", "error"),
    [
        ("# BEGIN SOLUTION\nx = 1\n", "never closed"),
        ("x = 1\n# END SOLUTION\n", "without a BEGIN"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", "inside the block"),
    ],
)
def test_unbalanced_markers_are_refused_with_the_line(src: str, error: str) -> None:
    with pytest.raises(assign.AssignError, match=error):
        assign.strip_solution(src, "...", "s.py")


def test_notebook_cells_get_an_ellipsis_and_lose_their_outputs() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("import numpy as np\n# BEGIN SOLUTION\nmodel = 1\n# END SOLUTION\n")
    cell.outputs = [nbformat.v4.new_output("stream", text="hi")]
    cell.execution_count = 3
    nb.cells = [nbformat.v4.new_markdown_cell("# BEGIN SOLUTION stays in markdown"), cell]
    out = nbformat.reads(assign.notebook_stub(nbformat.writes(nb), "n.ipynb"), as_version=4)
    assert out.cells[0].source == "# BEGIN SOLUTION stays in markdown"
    assert out.cells[1].source == "import numpy as np\n...\n"
    assert out.cells[1].outputs == [] and out.cells[1].execution_count is None


def test_check_reports_stale_missing_and_orphan_files(tmp_path: Path) -> None:
    sol = tmp_path / "solutions" / "s"
    sol.mkdir(parents=True)
    (sol / "a.py").write_text("def a():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n")
    (sol / "b.py").write_text("B = 2\n")
    ex = tmp_path / "exercises"
    plan = assign.plan(tmp_path / "solutions")
    assert sorted(assign.write(plan, ex)) == ["exercises/s/a.py", "exercises/s/b.py"]
    assert assign.differences(plan, ex) == []
    (ex / "s" / "a.py").write_text("edited\n")
    (ex / "s" / "b.py").unlink()
    (ex / "s" / "c.py").write_text("orphan\n")
    assert assign.differences(plan, ex) == [
        "out of date: exercises/s/a.py",
        "missing: exercises/s/b.py",
        "no solution for: exercises/s/c.py",
    ]
