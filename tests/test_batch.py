"""Batch grading of a class: one report per learner, a gradebook, resumable, shards that merge exactly."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.engine import curriculum
from grader.engine.data import Kind
from grader.instructor import batch
from tests.conftest import EXERCISES, ROOT, SOLUTIONS
from tests.mutants import apply, load_mutants

EX = next(e for s in curriculum.load() for e in s.exercises if e.kind is Kind.MODULE and load_mutants(e))


def make_class(root: Path) -> Path:
    """Four learners: a solution, an untouched stub, a mutant, and a fork checkout with the solution."""
    subs = root / "class"
    for name in ("ada", "bo", "cy"):
        (subs / name / EX.stage).mkdir(parents=True)
    shutil.copy(SOLUTIONS / EX.relpath, subs / "ada" / EX.relpath)
    shutil.copy(EXERCISES / EX.relpath, subs / "bo" / EX.relpath)
    (subs / "cy" / EX.relpath).write_text(apply(load_mutants(EX)[0], SOLUTIONS / EX.relpath), encoding="utf-8")
    fork = subs / "dee" / "exercises" / EX.stage
    fork.mkdir(parents=True)
    shutil.copy(SOLUTIONS / EX.relpath, fork / EX.file)
    (subs / "dee" / "README.md").write_text("a fork checkout\n")
    return subs


def run_batch(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "grader", "batch", *args, "--stage", EX.stage, "--exercise", EX.id]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)


def rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="") as f:
        return {r["learner"]: r for r in csv.DictReader(f)}


@pytest.mark.slow
def test_batch_shards_merge_and_resume(tmp_path: Path) -> None:
    subs = make_class(tmp_path)
    full = tmp_path / "full"
    res = run_batch(str(subs), "--output", str(full), "--jobs", "2")
    assert res.returncode == 0, res.stderr
    book = rows(full)
    assert sorted(book) == ["ada", "bo", "cy", "dee"]
    assert book["ada"][EX.key] == book["dee"][EX.key] == str(EX.points)
    assert book["bo"][EX.key] == "0"
    assert 0 < float(book["cy"][EX.key]) < EX.points
    assert book["ada"]["percent"] == "100.00"

    # Shards: every learner lands in exactly one, and merging gives the unsharded files exactly.
    parts = []
    for i in (1, 2, 3):
        out = tmp_path / f"shard{i}"
        assert run_batch(str(subs), "--output", str(out), "--shard", f"{i}/3").returncode == 0
        parts.append(out)
    owned = [sorted(p.stem for p in (out / "reports").glob("*.json")) for out in parts]
    assert sorted(n for names in owned for n in names) == ["ada", "bo", "cy", "dee"]
    merged = tmp_path / "merged"
    res = subprocess.run(
        [sys.executable, "-m", "grader", "merge", *map(str, parts), "--output", str(merged)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    for name in ("gradebook.csv", "merged.json"):
        assert (merged / name).read_text() == (full / name).read_text(), name

    # Resume: a finished report is never redone; a missing one is.
    kept = {p.name: p.stat().st_mtime_ns for p in (full / "reports").glob("*.json")}
    (full / "reports" / "cy.json").unlink()
    assert run_batch(str(subs), "--output", str(full), "--jobs", "2").returncode == 0
    after = {p.name: p.stat().st_mtime_ns for p in (full / "reports").glob("*.json")}
    assert sorted(after) == sorted(kept)
    assert all(after[n] == kept[n] for n in kept if n != "cy.json")
    assert rows(full) == book


@pytest.mark.slow
def test_a_killed_batch_resumes_without_losing_finished_reports(tmp_path: Path) -> None:
    subs = make_class(tmp_path)
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "grader",
        "batch",
        str(subs),
        "--output",
        str(out),
        "--jobs",
        "1",
        "--stage",
        EX.stage,
        "--exercise",
        EX.id,
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list((out / "reports").glob("*.json")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = {p.name: p.stat().st_mtime_ns for p in (out / "reports").glob("*.json")}
    assert 1 <= len(done) < 4
    assert run_batch(str(subs), "--output", str(out), "--jobs", "2").returncode == 0
    after = {p.name: p.stat().st_mtime_ns for p in (out / "reports").glob("*.json")}
    assert len(after) == 4
    assert all(after[n] == done[n] for n in done)
    assert not list((out / "reports").glob(".*")), "no half-written report may be left behind"


def test_shards_are_stable_and_cover_everyone() -> None:
    names = [f"learner{i}" for i in range(50)]
    shards = [batch.Shard(i, 4) for i in range(1, 5)]
    owners = [[s.owns(n) for s in shards].count(True) for n in names]
    assert owners == [1] * 50
    assert batch.Shard.parse("2/4") == batch.Shard(2, 4)
    for bad in ("0/4", "5/4", "x", "1-2"):
        with pytest.raises(batch.BatchError):
            batch.Shard.parse(bad)


def test_an_output_folder_of_another_batch_is_refused(tmp_path: Path) -> None:
    (tmp_path / "class" / "ada").mkdir(parents=True)
    out = tmp_path / "out"
    batch.run_batch(tmp_path / "class", out, [EX], 1, None, ["--stage", EX.stage])
    with pytest.raises(batch.BatchError, match="other options"):
        batch.run_batch(tmp_path / "class", out, [EX], 1, None, ["--stage", "other"])


def test_leaderboard_ranks_by_the_public_score_and_hides_private_ones(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "reports").mkdir(parents=True)
    (out / batch.STATE).write_text("{}")
    boards = {
        "ann": {"public AUC": 0.81, "private AUC": 0.79},
        "ben": {"public AUC": 0.90, "private AUC": 0.70},
        "cat": {"public AUC": 0.81, "private AUC": 0.95},
        "dan": {},
    }
    for name, board in boards.items():
        report = {"exercises": [], "leaderboard": board, "points": 0, "max_points": 0, "percent": 0}
        (out / "reports" / f"{name}.json").write_text(json.dumps(report))
    columns, rows = batch.leaderboard(out)
    assert columns == ["rank", "learner", "public AUC"]
    assert [r[1] for r in rows] == ["ben", "ann", "cat", "dan"]  # ties by name; no score last
    columns, rows = batch.leaderboard(out, private=True)
    assert columns == ["rank", "learner", "public AUC", "private AUC"]
    assert rows[0] == [1, "ben", 0.90, 0.70]
    with pytest.raises(batch.BatchError, match="no leaderboard score named"):
        batch.leaderboard(out, metric="accuracy")
