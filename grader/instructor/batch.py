"""Grade a whole class: many submissions, in parallel, resumable, shardable, mergeable.

``SUBMISSIONS_DIR/<learner>/`` is one learner's submission: either laid out like
``exercises/`` (``<learner>/<stage>/...``) or a checkout of their fork
(``<learner>/exercises/<stage>/...``).

Each submission is graded by a child ``grader grade`` process (one kernel at a
time inside it), ``jobs`` children at once, so the batch process itself stays
small however many submissions there are, and a submission that crashes its
grader cannot take the batch down. Every finished report is written atomically
to ``OUT/reports/<learner>.json``; a restarted batch keeps those and grades only
the rest. ``OUT/gradebook.csv`` (one row per learner) and ``OUT/merged.json``
are rebuilt from the reports, so shards merged with ``grader merge`` give the
same files as one unsharded run.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.engine.data import Exercise

BATCH_SCHEMA = 1
REPORTS = "reports"
STATE = "batch.json"
VOLATILE = ("duration", "started_at", "versions", "submission")


class BatchError(ValueError):
    """A usage problem with a batch (bad shard, mismatched output folder, nothing to merge)."""


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        try:
            i, n = (int(x) for x in text.split("/"))
        except ValueError:
            raise BatchError(f"--shard takes I/N, for example 2/4 (got {text!r})") from None
        if not 1 <= i <= n:
            raise BatchError(f"--shard {text}: I must be between 1 and N")
        return cls(i, n)

    def owns(self, learner: str) -> bool:
        """Stable assignment by name: adding a learner never moves the others."""
        return zlib.crc32(learner.encode("utf-8")) % self.count == self.index - 1


def learners(submissions: Path) -> dict[str, Path]:
    """learner name -> the folder laid out like exercises/."""
    out = {}
    for d in sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith(".")):
        out[d.name] = d / "exercises" if (d / "exercises").is_dir() else d
    return out


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _finished(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "exercises" in data


def _check_state(out: Path, params: dict[str, Any]) -> None:
    state = out / STATE
    if state.is_file():
        old = json.loads(state.read_text(encoding="utf-8"))
        if old != params:
            raise BatchError(f"{out} holds a batch made with other options ({old}); choose another --output")
    else:
        _write_atomic(state, json.dumps(params, indent=2, sort_keys=True) + "\n")


def grade_one(learner: str, folder: Path, out: Path, grade_args: list[str]) -> dict[str, Any]:
    """Grade one submission in a child process; its report goes to ``out``; return its totals (or a crash record)."""
    target = out / REPORTS / f"{learner}.json"
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "report.json"
        cmd = [
            sys.executable,
            "-m",
            "grader",
            "grade",
            *grade_args,
            "--submission",
            str(folder),
            "--format",
            "json",
            "--output",
            str(raw),
            "--jobs",
            "1",
            "--no-record",  # a class's results are not the instructor's own progress
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 - our own CLI
        if proc.returncode in (0, 1, 3) and _finished(raw):
            report: dict[str, Any] = json.loads(raw.read_text(encoding="utf-8"))
            _write_atomic(target, json.dumps(report, indent=2) + "\n")
            # Only the totals stay in the batch process: its memory must not grow with the class.
            return {k: report[k] for k in ("points", "max_points", "percent")}
    tail = (proc.stderr or proc.stdout)[-2000:]
    return {"crashed": True, "exit_code": proc.returncode, "stderr": tail}


def run_batch(
    submissions: Path,
    out: Path,
    exercises: list[Exercise],
    jobs: int,
    shard: Shard | None,
    grade_args: list[str],
    progress: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Grade every (owned, unfinished) learner; return learner -> report for this output folder."""
    params = {
        "schema": BATCH_SCHEMA,
        "exercises": [e.key for e in exercises],
        "grade_args": grade_args,
        "shard": f"{shard.index}/{shard.count}" if shard else None,
    }
    (out / REPORTS).mkdir(parents=True, exist_ok=True)
    _check_state(out, params)
    todo = {name: folder for name, folder in learners(submissions).items() if shard is None or shard.owns(name)}
    pending = {n: f for n, f in todo.items() if not _finished(out / REPORTS / f"{n}.json")}
    crashes: dict[str, dict[str, Any]] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {name: pool.submit(grade_one, name, folder, out, grade_args) for name, folder in pending.items()}
        for name in list(futures):
            result = futures.pop(name).result()
            if result.get("crashed"):
                crashes[name] = result
            if progress is not None:
                progress(name, result)
    reports = load_reports([out])
    write_outputs(out, exercises, reports, crashes)
    return reports


def load_reports(folders: Iterable[Path]) -> dict[str, dict[str, Any]]:
    reports: dict[str, dict[str, Any]] = {}
    for folder in folders:
        for path in sorted((folder / REPORTS).glob("*.json")):
            if not _finished(path):
                continue
            if path.stem in reports:
                raise BatchError(f"learner {path.stem!r} appears in more than one of the folders to merge")
            reports[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return dict(sorted(reports.items()))


def _stable(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what changes from run to run (times, paths, versions)."""
    out = {k: v for k, v in report.items() if k not in VOLATILE}
    out["exercises"] = [
        {
            **{k: v for k, v in e.items() if k != "duration"},
            "tests": [{k: v for k, v in t.items() if k != "duration"} for t in e["tests"]],
        }
        for e in report["exercises"]
    ]
    return out


def gradebook(
    exercises: list[Exercise], reports: dict[str, dict[str, Any]], crashes: dict[str, dict[str, Any]] | None = None
) -> str:
    """CSV: one row per learner, one column per exercise, then total, max and percent."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["learner", *[e.key for e in exercises], "total", "max", "percent", "note"])
    for learner, rep in reports.items():
        by_key = {e["id"]: e for e in rep["exercises"]}
        cells = []
        for ex in exercises:
            e = by_key.get(ex.key)
            cells.append("" if e is None else ("grader error" if e["status"] == "grader error" else f"{e['points']:g}"))
        note = "grader error: regrade" if any(c == "grader error" for c in cells) else ""
        w.writerow([learner, *cells, f"{rep['points']:g}", f"{rep['max_points']:g}", f"{rep['percent']:.2f}", note])
    for learner, crash in sorted((crashes or {}).items()):
        w.writerow(
            [learner, *["" for _ in exercises], "", "", "", f"not graded: the grader crashed ({crash['exit_code']})"]
        )
    return buf.getvalue()


def write_outputs(
    out: Path,
    exercises: list[Exercise],
    reports: dict[str, dict[str, Any]],
    crashes: dict[str, dict[str, Any]] | None = None,
) -> None:
    _write_atomic(out / "gradebook.csv", gradebook(exercises, reports, crashes))
    merged = {
        "schema_version": BATCH_SCHEMA,
        "exercises": [e.key for e in exercises],
        "learners": {name: _stable(rep) for name, rep in reports.items()},
    }
    _write_atomic(out / "merged.json", json.dumps(merged, indent=2, sort_keys=True) + "\n")


def merge(folders: list[Path], out: Path, exercises: list[Exercise]) -> dict[str, dict[str, Any]]:
    """Join the outputs of several shards into ``out`` (reports, gradebook, merged JSON)."""
    if not folders:
        raise BatchError("name at least one batch output folder to merge")
    for f in folders:
        if not (f / STATE).is_file():
            raise BatchError(f"{f} is not a batch output folder (it has no {STATE})")
    reports = load_reports(folders)
    for name, rep in reports.items():
        _write_atomic(out / REPORTS / f"{name}.json", json.dumps(rep, indent=2) + "\n")
    write_outputs(out, exercises, reports)
    return reports


def leaderboard(folder: Path, metric: str | None = None, private: bool = False) -> tuple[list[str], list[list[Any]]]:
    """Rank a batch's learners by a leaderboard score (default: the first "public" one), best first.

    Returns the column names and the rows. Private scores (names containing "private") are
    shown only when ``private`` is asked for: they are for instructors.
    """
    reports = load_reports([folder])
    names: list[str] = []
    for rep in reports.values():
        for name in rep.get("leaderboard", {}):
            if name not in names and (private or "private" not in name):
                names.append(name)
    if not names:
        raise BatchError(f"no report in {folder} carries a leaderboard score")
    key = metric or next((n for n in names if "public" in n), names[0])
    if key not in names:
        raise BatchError(f"no leaderboard score named {key!r}; there are: {', '.join(names)}")
    scored = [(name, rep.get("leaderboard", {})) for name, rep in reports.items()]
    scored.sort(key=lambda item: (-item[1].get(key, float("-inf")), item[0]))
    columns = ["rank", "learner", key, *[n for n in names if n != key]]
    rows = []
    for rank, (learner, board) in enumerate(scored, start=1):
        rows.append([rank, learner, *[board.get(n) for n in columns[2:]]])
    return columns, rows
