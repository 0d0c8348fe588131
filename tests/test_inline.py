"""check() inside a real Jupyter kernel (run through nbclient) gives the same verdicts as a graded run."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from grader.engine import curriculum
from grader.engine.data import GradeReport, Kind, Status
from grader.engine.runner import grade
from tests.conftest import EXERCISES, ROOT, SOLUTIONS, result_of
from tests.mutants import apply, load_mutants

# The first stage that has a module exercise with mutants and a notebook exercise.
STAGE = next(
    s
    for s in curriculum.load()
    if any(e.kind is Kind.MODULE and load_mutants(e) for e in s.exercises)
    and any(e.kind is Kind.NOTEBOOK for e in s.exercises)
)
NOTEBOOK = next(e for e in STAGE.exercises if e.kind is Kind.NOTEBOOK)
MODULE = next(e for e in STAGE.exercises if e.kind is Kind.MODULE and load_mutants(e))


def run_with_check(nb: nbformat.NotebookNode, call: str, workdir: Path) -> nbformat.NotebookNode:
    """Run ``nb`` plus a last cell ``call`` from a folder laid out like exercises/<stage>/ (datasets beside)."""
    stage_dir = workdir / "exercises" / STAGE.id
    stage_dir.mkdir(parents=True, exist_ok=True)
    (workdir / "datasets").symlink_to(ROOT / "datasets", target_is_directory=True)
    nb.cells.append(nbformat.v4.new_code_cell(call))
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(stage_dir)}})
    return client.execute()


def html_of(cell: nbformat.NotebookNode) -> str:
    htmls = [
        o["data"]["text/html"]
        for o in cell.outputs
        if o.get("output_type") == "display_data" and "text/html" in o.get("data", {})
    ]
    assert htmls, f"check() showed no HTML table; outputs: {cell.outputs}"
    return htmls[-1]


def statuses_in(html: str) -> list[tuple[str, str]]:
    return re.findall(r"<tr><td>([^<]+)</td><td[^>]*>([^<]+)</td>", html)


def statuses_of(report: GradeReport, ex: curriculum.Exercise) -> list[tuple[str, str]]:  # type: ignore[name-defined]
    return [(t.name, t.status.value) for t in result_of(report, ex).tests]


@pytest.mark.slow
def test_check_in_a_notebook_agrees_with_grading(tmp_path: Path, solution_reports: dict[str, GradeReport]) -> None:
    nb = nbformat.read(SOLUTIONS / NOTEBOOK.relpath, as_version=4)
    out = run_with_check(nb, f"from grader import check\ncheck({NOTEBOOK.key!r})", tmp_path)
    html = html_of(out.cells[-1])
    assert f"{NOTEBOOK.points:g} / {NOTEBOOK.points:g} points" in html
    assert statuses_in(html) == statuses_of(solution_reports[NOTEBOOK.stage], NOTEBOOK)


@pytest.mark.slow
def test_check_on_the_untouched_stub_says_not_attempted(tmp_path: Path) -> None:
    nb = nbformat.read(EXERCISES / NOTEBOOK.relpath, as_version=4)
    out = run_with_check(nb, f"from grader import check\ncheck({NOTEBOOK.key!r})", tmp_path)
    html = html_of(out.cells[-1])
    assert f"0 / {NOTEBOOK.points:g} points" in html
    assert {status for _, status in statuses_in(html)} == {Status.NOT_ATTEMPTED.value}


@pytest.mark.slow
def test_check_of_a_module_agrees_with_grading(tmp_path: Path) -> None:
    mutant = load_mutants(MODULE)[0]
    path = tmp_path / MODULE.file
    path.write_text(apply(mutant, SOLUTIONS / MODULE.relpath), encoding="utf-8")
    sub = tmp_path / "sub" / MODULE.stage
    sub.mkdir(parents=True)
    (sub / MODULE.file).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    graded = grade([MODULE], tmp_path / "sub")
    out = run_with_check(
        nbformat.v4.new_notebook(), f"from grader import check\ncheck({MODULE.key!r}, path={str(path)!r})", tmp_path
    )
    html = html_of(out.cells[-1])
    assert statuses_in(html) == statuses_of(graded, MODULE)
    assert Status.FAILED.value in {s for _, s in statuses_in(html)}
