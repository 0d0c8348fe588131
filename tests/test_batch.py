"""Batch grading of a class: one report per learner, a gradebook, resumable by content, shards that merge
exactly, stopped cleanly by signals, and no silent downgrade of the sandbox."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from grader.engine import curriculum
from grader.engine.data import Kind
from grader.instructor import batch
from grader.instructor.worker import landlock_abi
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


def run_batch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "grader", "batch", *args, "--stage", EX.stage, "--exercise", EX.id]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600, env=env)


def rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="") as f:
        return {r["learner"]: r for r in csv.DictReader(f)}


def mtimes(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (out / "reports").glob("*.json")}


@pytest.mark.slow
def test_batch_shards_merge_and_resume_by_content(tmp_path: Path) -> None:
    subs = make_class(tmp_path)
    full = tmp_path / "full"
    res = run_batch(str(subs), "--output", str(full), "--jobs", "2", "--salt", "s1")
    assert res.returncode == 0, res.stderr
    assert "kept 0, graded 4" in res.stdout
    book = rows(full)
    assert sorted(book) == ["ada", "bo", "cy", "dee"]
    assert book["ada"][EX.key] == book["dee"][EX.key] == str(EX.points)
    assert book["bo"][EX.key] == "0"
    assert 0 < float(book["cy"][EX.key]) < EX.points
    assert book["ada"]["percent"] == "100.00"
    assert {r["isolation"] for r in book.values()} == {"bubblewrap"}
    for name in book:  # each result is printed as it finishes
        assert f"{name}: " in res.stdout

    # Shards (with the same salt): every learner lands in exactly one; merging gives the unsharded files.
    parts = []
    for i in (1, 2, 3):
        out = tmp_path / f"shard{i}"
        assert run_batch(str(subs), "--output", str(out), "--shard", f"{i}/3", "--salt", "s1").returncode == 0
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

    # Resume by content: unchanged submissions are kept; a changed one, or a lost report, is regraded.
    kept = mtimes(full)
    (full / "reports" / "dee.json").unlink()
    shutil.copy(SOLUTIONS / EX.relpath, subs / "cy" / EX.relpath)  # cy fixed the mistake after the first run
    res = run_batch(str(subs), "--output", str(full), "--jobs", "2")  # no --salt: the recorded one is reused
    assert res.returncode == 0, res.stderr
    assert "kept 2, graded 2" in res.stdout
    after = mtimes(full)
    assert sorted(after) == sorted(kept)
    assert after["ada.json"] == kept["ada.json"] and after["bo.json"] == kept["bo.json"]
    assert after["cy.json"] != kept["cy.json"]
    assert rows(full)["cy"][EX.key] == str(EX.points)
    assert rows(full)["dee"] == book["dee"]

    # --regrade forces; another salt for the same output folder is refused.
    res = run_batch(str(subs), "--output", str(full), "--jobs", "2", "--regrade")
    assert res.returncode == 0 and "kept 0, graded 4" in res.stdout, res.stderr
    res = run_batch(str(subs), "--output", str(full), "--salt", "another")
    assert res.returncode == 2 and "--salt s1" in res.stderr


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def slow_class(root: Path, n: int, seconds: float) -> Path:
    """``n`` learners whose module takes ``seconds`` to import (the solution, after a sleep)."""
    subs = root / "class"
    for i in range(n):
        target = subs / f"l{i:02d}" / EX.relpath
        target.parent.mkdir(parents=True)
        target.write_text((SOLUTIONS / EX.relpath).read_text() + f"\nimport time as _time\n_time.sleep({seconds})\n")
    return subs


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_stops_the_batch_and_everything_it_started(tmp_path: Path, signum: int) -> None:
    subs = slow_class(tmp_path, 6, 4)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "grader", "batch", str(subs), "--output", str(out), "--jobs", "1"]
    cmd += ["--stage", EX.stage, "--exercise", EX.id]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list((out / "reports").glob("*.json")):
        time.sleep(0.2)
    started = _children(proc.pid)
    temps = {c.environ().get("TMPDIR") for c in started if "grader.instructor.worker" in " ".join(c.cmdline())} - {None}
    assert temps, "the batch runs its submissions in worker processes"
    assert any("ipykernel" in " ".join(c.cmdline()) for c in started), "a kernel was running when the signal came"
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, stderr
    assert "rerun to grade the rest" in stderr
    done = sorted(p.stem for p in (out / "reports").glob("*.json"))
    assert 1 <= len(done) < 6, "queued learners were cancelled"
    for name in done:
        assert json.loads((out / "reports" / f"{name}.json").read_text())["percent"] == 100.0
    assert not list((out / "reports").glob(".*")), "no half-written report may be left behind"
    assert sorted(rows(out)) == done
    time.sleep(1)
    alive = [c for c in started if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"left running: {[c.cmdline()[:3] for c in alive]}"
    assert not [t for t in temps if Path(str(t)).exists()], "the workers' temporary folders are removed"
    # A rerun grades only what the stopped batch had not finished.
    res = run_batch(str(subs), "--output", str(out), "--jobs", "2")
    assert res.returncode == 0, res.stderr
    assert f"kept {len(done)}, graded {6 - len(done)}" in res.stdout


@pytest.mark.slow
def test_a_killed_batch_resumes_without_losing_finished_reports(tmp_path: Path) -> None:
    subs = make_class(tmp_path)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "grader", "batch", str(subs), "--output", str(out), "--jobs", "1"]
    cmd += ["--stage", EX.stage, "--exercise", EX.id]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list((out / "reports").glob("*.json")):
        time.sleep(0.2)
    workers = _children(proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = mtimes(out)
    assert 1 <= len(done) < 4
    res = run_batch(str(subs), "--output", str(out), "--jobs", "2")
    assert res.returncode == 0, res.stderr
    after = mtimes(out)
    assert len(after) == 4
    assert all(after[n] == done[n] for n in done)
    assert not list((out / "reports").glob(".*")), "no half-written report may be left behind"
    time.sleep(1)  # the workers, told by the kernel that their batch died, have closed their kernels
    assert not [c for c in workers if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.slow
def test_a_submission_over_its_time_costs_only_itself(tmp_path: Path) -> None:
    subs = slow_class(tmp_path, 1, 0)
    slow = subs / "slow" / EX.relpath
    slow.parent.mkdir(parents=True)
    shutil.copy(SOLUTIONS / EX.relpath, slow)
    out = tmp_path / "out"
    assert run_batch(str(subs), "--output", str(out), "--jobs", "1").returncode == 0
    slow.write_text("import time\ntime.sleep(50)\n")  # changed since: its old report is stale
    res = run_batch(str(subs), "--output", str(out), "--jobs", "1", "--timeout", "12")
    assert res.returncode == 3, res.stderr
    assert "slow: NOT GRADED (over the 12 s limit for one submission)" in res.stderr
    assert "kept 1, graded 0, not graded 1" in res.stdout
    book = rows(out)
    assert book["l00"]["percent"] == "100.00"
    assert book["slow"]["total"] == "" and "not graded: over the 12 s limit" in book["slow"]["note"]
    assert not (out / "reports" / "slow.json").exists(), "the stale report of the old files is gone"
    with open(out / "gradebook.csv") as f:
        assert len(f.readlines()) == 3, "one row per learner"


def _kill_a_worker_with_a_kernel(batch_pid: int, spared: set[int], deadline: float) -> int:
    """SIGKILL the first worker of the batch (not in ``spared``) once a kernel runs under it."""
    while time.monotonic() < deadline:
        for c in _children(batch_pid):
            with contextlib.suppress(psutil.Error):
                if c.pid in spared or "grader.instructor.worker" not in " ".join(c.cmdline()):
                    continue
                if any("ipykernel" in " ".join(k.cmdline()) for k in c.children(recursive=True)):
                    c.kill()
                    return c.pid
        time.sleep(0.1)
    raise AssertionError("no worker ran a kernel in time")


@pytest.mark.slow
def test_a_worker_that_dies_costs_only_the_submission_it_held_alone(tmp_path: Path) -> None:
    """Worker 1 dies holding l00 (running) and l01 (queued): both are retried alone. Worker 2 dies
    holding l00 alone: l00 is reported as not graded. l01 is graded by worker 3."""
    subs = slow_class(tmp_path, 2, 5)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "grader", "batch", str(subs), "--output", str(out), "--jobs", "1"]
    cmd += ["--stage", EX.stage, "--exercise", EX.id]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    first = _kill_a_worker_with_a_kernel(proc.pid, set(), deadline)
    _kill_a_worker_with_a_kernel(proc.pid, {first}, deadline)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 3, stderr
    assert "l00: NOT GRADED (the grader crashed on it" in stderr
    assert f"l01: {EX.points:g} / {EX.points:g}" in stdout
    book = rows(out)
    assert book["l01"]["percent"] == "100.00"
    assert "not graded: the grader crashed" in book["l00"]["note"]
    res = run_batch(str(subs), "--output", str(out))  # never lost: the rerun grades it
    assert res.returncode == 0 and "kept 1, graded 1" in res.stdout, res.stderr


def test_a_batch_without_bubblewrap_is_refused_unless_asked_for(tmp_path: Path) -> None:
    (tmp_path / "class" / "ada").mkdir(parents=True)
    bare = tmp_path / "bin"  # a PATH without bwrap
    bare.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "GRADER_SANDBOX"} | {"PATH": str(bare)}
    res = run_batch(str(tmp_path / "class"), "--output", str(tmp_path / "out"), env=env)
    assert res.returncode == 2
    assert "bubblewrap is not available here" in res.stderr and "--sandbox rlimits" in res.stderr
    assert not (tmp_path / "out").exists(), "nothing was graded"


@pytest.mark.slow
@pytest.mark.skipif(landlock_abi() < 1, reason="this kernel has no Landlock")
def test_under_rlimits_kernels_cannot_touch_the_batch(tmp_path: Path) -> None:
    """A learner's module tries to rewrite a classmate's report, add a fake learner, and stop the batch."""
    subs = slow_class(tmp_path, 1, 0)
    out = tmp_path / "out"
    reports = out / "reports"
    attack = f"""
import json, os, pathlib, signal
reports = pathlib.Path({str(reports)!r})
def batch_pid():
    worker = int(open("/proc/self/status").read().split("PPid:")[1].split()[0])
    return int(open(f"/proc/{{worker}}/status").read().split("PPid:")[1].split()[0])
tries = {{
    "rewrite": lambda: (reports / "l00.json").write_text("{{}}"),
    "remove": lambda: (reports / "l00.json").unlink(),
    "create": lambda: (reports / "zz.json").write_text('{{"exercises": [], "points": 1, "max_points": 1}}'),
    "stop the batch": lambda: os.kill(batch_pid(), signal.SIGTERM),
}}
got = {{}}
for name, attempt in tries.items():
    try:
        attempt()
        got[name] = "done"
    except OSError as exc:
        got[name] = type(exc).__name__
raise RuntimeError(json.dumps(got))
"""
    res = run_batch(str(subs), "--output", str(out), "--sandbox", "rlimits")  # l00's report, to attack
    assert res.returncode == 0, res.stderr
    before = (reports / "l00.json").read_bytes()
    target = subs / "mal" / EX.relpath
    target.parent.mkdir(parents=True)
    target.write_text(attack)
    res = run_batch(str(subs), "--output", str(out), "--sandbox", "rlimits")
    assert res.returncode == 0, res.stderr
    assert "kept 1, graded 1" in res.stdout
    assert (reports / "l00.json").read_bytes() == before
    assert "isolation: rlimits+landlock" in res.stdout
    book = rows(out)
    assert sorted(book) == ["l00", "mal"]
    assert book["l00"]["percent"] == "100.00" and book["mal"]["percent"] == "0.00"
    assert {r["isolation"] for r in book.values()} == {"rlimits+landlock"}
    mal = json.loads((reports / "mal.json").read_text())
    assert "Landlock" in mal["isolation"]
    message = mal["exercises"][0]["load_message"]
    got = json.loads(message.split("RuntimeError: ", 1)[1].split("\n", 1)[0])
    assert got == dict.fromkeys(("rewrite", "remove", "create", "stop the batch"), "PermissionError"), message


def test_fingerprints_follow_content_and_never_a_link(tmp_path: Path) -> None:
    ada, bob = tmp_path / "ada" / EX.stage, tmp_path / "bob" / EX.stage
    ada.mkdir(parents=True)
    bob.mkdir(parents=True)
    (bob / EX.file).write_text("print('bob')\n")
    (ada / EX.file).symlink_to(f"../../bob/{EX.stage}/{EX.file}")
    first, found = batch.fingerprint(tmp_path / "ada", [EX])
    assert found == 1, "a link is found (and named in the report), so the folder is not empty"
    (bob / EX.file).write_text("print('bob, changed')\n")
    assert batch.fingerprint(tmp_path / "ada", [EX])[0] == first, "the link was followed"
    (ada / EX.file).unlink()
    (ada / EX.file).write_text("print('ada')\n")
    own, found = batch.fingerprint(tmp_path / "ada", [EX])
    assert found == 1 and own != first
    (tmp_path / "nobody").mkdir()
    assert batch.fingerprint(tmp_path / "nobody", [EX])[1] == 0
    (ada / "helper.py").write_text("x = 1\n")  # a file beside the exercise is copied into its kernel: it counts
    assert batch.fingerprint(tmp_path / "ada", [EX])[0] != own
    # A learner "folder" that is a link, or a fork's exercises/ that is one, is not followed either.
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "eve").symlink_to(tmp_path / "bob", target_is_directory=True)
    (tmp_path / "class" / "fay").mkdir()
    (tmp_path / "class" / "fay" / "exercises").symlink_to(tmp_path / "bob", target_is_directory=True)
    assert batch.learners(tmp_path / "class") == {"fay": tmp_path / "class" / "fay"}


def test_shards_with_different_salts_are_not_merged(tmp_path: Path) -> None:
    for i, salt in enumerate(("a", "b")):
        (tmp_path / f"s{i}" / "reports").mkdir(parents=True)
        (tmp_path / f"s{i}" / batch.STATE).write_text(json.dumps({"salt": salt}))
    with pytest.raises(batch.BatchError, match="same --salt"):
        batch.merge([tmp_path / "s0", tmp_path / "s1"], tmp_path / "out", [EX])
    (tmp_path / "out").mkdir()
    assert batch.merge([tmp_path / "s0"], tmp_path / "out", [EX]) == 0
    assert json.loads((tmp_path / "out" / "merged.json").read_text())["learners"] == {}
    assert json.loads((tmp_path / "out" / "merged.json").read_text())["salt"] == "a"


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
    result = batch.run_batch(tmp_path / "class", out, [EX], batch.Options())
    assert (result.kept, result.graded, result.reports) == (0, 1, 1)
    assert "empty" in rows(out)["ada"]["note"]
    with pytest.raises(batch.BatchError, match="other options"):
        batch.run_batch(tmp_path / "class", out, [EX], batch.Options(memory_mb=100))


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
