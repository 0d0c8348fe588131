"""hint(): tiered hints for every exercise, one more per call, in a notebook, in Python and on the command line."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from grader.cli import main
from grader.engine import curriculum
from grader.engine.data import Exercise, Kind
from grader.learner import hints
from tests.conftest import EXERCISES

EVERY = [e for s in curriculum.load() for e in s.exercises]
MODULE = next(e for e in EVERY if e.kind is Kind.MODULE)


@pytest.mark.parametrize("ex", EVERY, ids=lambda e: e.key)
def test_every_exercise_has_two_to_four_hints(ex: Exercise) -> None:
    found = hints.hints_for(ex)
    assert 2 <= len(found) <= 4, f"{hints.hints_path(ex.stage)} needs [{ex.id}] with 2 to 4 hints, has {len(found)}"
    assert len(set(found)) == len(found), "two hints of one exercise are the same"
    for h in found:
        assert len(h) >= 40, f"too short to help: {h!r}"


def test_no_hints_for_exercises_that_do_not_exist() -> None:
    for st in curriculum.load():
        unknown = set(hints.load(st.id)) - {e.id for e in st.exercises}
        assert not unknown, f"{hints.hints_path(st.id)} has hints for {sorted(unknown)}, which the manifest lacks"


def test_one_more_hint_per_call_then_all_of_them() -> None:
    tiers = hints.Tiers()
    every = hints.hints_for(MODULE)
    for call in range(1, len(every) + 1):
        shown = hints.next_hints(MODULE.key, tiers)
        assert shown.hints == every[:call] and not shown.exhausted
        text = shown.text()
        assert f"Hint {call}/{len(every)}: {every[call - 1]}" in text
        assert f"Hint {call + 1}/" not in text
    assert "That was the last hint." in shown.text()
    again = hints.next_hints(MODULE.key, tiers)
    assert again.hints == every and again.exhausted
    assert f"There are no more hints for {MODULE.key}: these are all {len(every)}." in again.text()


def test_hint_prints_text_outside_jupyter(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import grader

    monkeypatch.setattr(hints, "_SESSION", hints.Tiers())
    grader.hint(MODULE.key)
    grader.hint(MODULE.key)
    out = capsys.readouterr().out
    assert out.count("Hint 1/") == 2 and out.count("Hint 2/") == 1


def test_the_command_line_remembers_the_tier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path))
    assert main(["hint", MODULE.key]) == 0
    first = capsys.readouterr().out
    assert main(["hint", MODULE.key]) == 0
    second = capsys.readouterr().out
    assert "Hint 1/" in first and "Hint 2/" not in first
    assert "Hint 1/" in second and "Hint 2/" in second
    with pytest.raises(SystemExit) as exc:
        main(["hint", "ml-basics/no-such-exercise"])
    assert exc.value.code == 2


def test_a_malformed_hints_file_is_our_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = tmp_path / "curriculum.toml"
    manifest.write_text('[[stage]]\nid = "toy"\n', encoding="utf-8")
    (tmp_path / "suites" / "toy").mkdir(parents=True)
    (tmp_path / "suites" / "toy" / "hints.toml").write_text('[echo]\nhints = "one string"\n', encoding="utf-8")
    monkeypatch.setenv(curriculum.ENV_VAR, str(manifest))
    with pytest.raises(hints.HintError, match=r"\[echo\] needs `hints = \[...\]`"):
        hints.load("toy")


def _html(cell: nbformat.NotebookNode) -> str:
    htmls = [o["data"]["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]
    assert len(htmls) == 1, cell.outputs
    return str(htmls[0])


@pytest.mark.slow
def test_check_and_hint_in_a_notebook(tmp_path: Path) -> None:
    """A learner's notebook: check() shows the table, then hint() twice shows tier 1, then tiers 1 and 2."""
    stub = EXERCISES / MODULE.relpath
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f"from grader import check, hint\ncheck({MODULE.key!r}, path={str(stub)!r})"),
        nbformat.v4.new_code_cell(f"hint({MODULE.key!r})"),
        nbformat.v4.new_code_cell(f"hint({MODULE.key!r})"),
    ]
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    out = client.execute()
    assert f"<b>{MODULE.key}</b>: 0 / {MODULE.points:g} points" in _html(out.cells[0])
    total = len(hints.hints_for(MODULE))
    first, second = _html(out.cells[1]), _html(out.cells[2])
    assert f"Hint 1/{total}." in first and f"Hint 2/{total}." not in first
    assert f"Hint 1/{total}." in second and f"Hint 2/{total}." in second and f"Hint 3/{total}." not in second
    assert "Call hint() again for the next one." in first
