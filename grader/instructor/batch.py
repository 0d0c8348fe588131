"""Grade a whole class: many submissions, in parallel, resumable, shardable, mergeable.

``SUBMISSIONS_DIR/<learner>/`` is one learner's submission: either laid out like
``exercises/`` (``<learner>/<stage>/...``) or a checkout of their fork
(``<learner>/exercises/<stage>/...``).

Submissions are graded by ``jobs`` worker processes (:mod:`grader.instructor.worker`)
that each import the grader once and grade many submissions; every learner's code
still runs in fresh kernels of its own. A worker always holds the next submission
too, so its kernels start while the current one's suites run. A submission that
crashes or hangs its worker costs only that submission: the worker is replaced and
the submission is reported as not graded (a grader error, or over ``timeout``).

Only this process writes the output folder. Every finished report is written
atomically to ``OUT/reports/<learner>.json`` as it arrives, with a fingerprint of
what was graded (the submission's files, read through :mod:`grader.engine.intake`,
which never follows a link, and the grader's own files). A rerun keeps a report
whose fingerprint still matches and regrades the rest. ``OUT/gradebook.csv`` (one
row per learner) and ``OUT/merged.json`` are rebuilt from the reports, so shards
merged with ``grader merge`` give the same files as one unsharded run.

Ctrl-C or SIGTERM stops the batch: queued submissions are dropped, the workers stop
their kernels and remove their temporary folders (or are killed, and what they left
is swept), finished reports stay, and :func:`run_batch` reports the signal.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import queue
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from grader.engine import intake, sandbox
from grader.engine.data import Exercise
from grader.paths import PACKAGE, SUITES

BATCH_SCHEMA = 2
REPORTS = "reports"
STATE = "batch.json"
LOG = "grader.log"
VOLATILE = ("duration", "started_at", "versions", "submission", "batch")
RECYCLE_AFTER = 100  # submissions per worker before it is replaced (bounds what a long run accumulates)
STOP_GRACE_S = 15.0  # how long stopping workers may take to close their kernels before they are killed
TMP_PREFIX = "grader-batch-"  # + the batch's pid: what a batch killed outright left is swept by the next


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


def _is_dir(path: Path) -> bool:
    """A real folder (``lstat``: a link to a folder is not one)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def learners(submissions: Path) -> dict[str, Path]:
    """learner name -> the folder laid out like exercises/ (links are never followed to find one)."""
    out = {}
    for d in sorted(p for p in submissions.iterdir() if _is_dir(p) and not p.name.startswith(".")):
        out[d.name] = d / "exercises" if _is_dir(d / "exercises") else d
    return out


def grader_digest(exercises: list[Exercise]) -> str:
    """A digest of the grader's own files (engine, and the suites of these exercises' stages).

    Part of every report's fingerprint: a fixed suite or engine regrades the class.
    """
    stages = {e.stage for e in exercises}
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        rel = path.relative_to(PACKAGE)
        if not path.is_file() or "__pycache__" in rel.parts:
            continue
        if path.is_relative_to(SUITES) and len(rel.parts) > 2 and rel.parts[1] not in stages:
            continue
        h.update(f"{rel.as_posix()}\0{path.stat().st_size}\0".encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def fingerprint(folder: Path, exercises: list[Exercise]) -> tuple[str, int]:
    """(digest, entries found) of what the grader would copy from ``folder`` for these exercises.

    Entries are the plain files, plus what intake leaves out (links, devices, FIFOs) and a
    refused stage folder: zero means the learner's folder holds nothing for these exercises.

    Read with :mod:`grader.engine.intake`: a link, device or FIFO is named, never opened, so a
    ``kmeans.py -> ../../bob/kmeans.py`` in one learner's folder never reads bob's file.
    """
    h = hashlib.sha256()
    found = intake.scan(folder, exercises)
    count = 0
    for stage, sf in sorted(found.stages.items()):
        h.update(f"stage\0{stage}\0{sf.exists}\0{sf.refusal}\0".encode())
        count += len(sf.left_out) + (sf.refusal is not None)
        for rel, why in sorted(sf.left_out.items()):
            h.update(f"left out\0{rel}\0{why}\0".encode())
        if sf.refusal is not None:
            continue
        for rel in sorted(sf.files):
            try:
                data = intake.read_bytes(folder / stage / rel, intake.MAX_STAGE_BYTES, within=folder)
            except (intake.Refused, OSError) as exc:
                h.update(f"unreadable\0{rel}\0{exc}\0".encode())
                continue
            h.update(f"file\0{rel}\0{len(data)}\0".encode())
            h.update(data)
            count += 1
    return h.hexdigest(), count


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _read_report(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "exercises" in data else None


def _finished(path: Path) -> bool:
    return _read_report(path) is not None


@dataclass
class Options:
    """How to grade a batch (the command line's batch options)."""

    jobs: int = 1
    shard: Shard | None = None
    isolation: str = sandbox.BWRAP  # a mode already picked: "bubblewrap" or "rlimits"
    salt: str | None = None  # None: the one this output folder recorded, else a new random one
    timeout: float | None = None  # seconds per submission; None: from the exercises' limits
    regrade: bool = False
    device: str = "cpu"
    time_limit: float | None = None
    call_time_limit: float | None = None
    memory_mb: int | None = None

    def limits(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "time_limit": self.time_limit,
            "call_time_limit": self.call_time_limit,
            "memory_mb": self.memory_mb,
        }


@dataclass
class Result:
    """What one ``run_batch`` did."""

    reports: int  # reports in the output folder
    kept: int  # unchanged submissions whose report was kept
    graded: int  # reports written by this run
    failed: dict[str, str]  # learner -> why it was not graded (crash, timeout)
    salt: str
    isolation: str
    interrupted: int | None = None  # the signal that stopped the batch


def default_timeout(exercises: list[Exercise]) -> float:
    """A bound only a hang reaches: every exercise's load limit and kernel CPU budget, plus a minute."""
    return 60.0 + sum(e.limits.time_limit + e.limits.cpu_seconds for e in exercises)


def isolation_label(mode: str, confined: bool) -> str:
    if mode == sandbox.BWRAP:
        return "bubblewrap"
    return "rlimits+landlock" if confined else "rlimits"


def _check_state(out: Path, params: dict[str, Any], salt: str | None) -> str:
    """Record this batch's options (and salt) in ``out``, or check they match what it holds; return the salt."""
    state = out / STATE
    if state.is_file():
        old = json.loads(state.read_text(encoding="utf-8"))
        recorded = old.get("salt") if isinstance(old, dict) else None
        if salt is not None and recorded is not None and salt != recorded:
            raise BatchError(
                f"{out} was graded with --salt {recorded}; rerun with that salt (or none), or choose another --output"
            )
        salt = salt or recorded
        if not isinstance(old, dict) or {k: v for k, v in old.items() if k != "salt"} != params:
            raise BatchError(f"{out} holds a batch made with other options ({old}); choose another --output")
    salt = salt or secrets.token_hex(8)
    _write_atomic(state, json.dumps({**params, "salt": salt}, indent=2, sort_keys=True) + "\n")
    return salt


@dataclass
class _Job:
    learner: str
    folder: Path
    key: str
    files: int
    id: int = 0
    solo: bool = False  # retried alone in a fresh worker after a worker died with it


@dataclass
class _Worker:
    """The batch's side of one worker process."""

    proc: subprocess.Popen[str]
    tmp: Path
    outstanding: list[_Job] = field(default_factory=list)
    running: _Job | None = None
    began: float = 0.0
    ready: bool = False
    finished: int = 0
    retiring: bool = False
    gone: bool = False
    heard: float = field(default_factory=time.monotonic)  # the last event from the worker

    @classmethod
    def start(
        cls, config: dict[str, Any], log: IO[bytes], events: queue.Queue[tuple[_Worker, dict[str, Any]]]
    ) -> _Worker:
        tmp = Path(os.path.realpath(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-")))
        read_fd, write_fd = os.pipe()
        env = {**os.environ, "TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1"}
        setup = {**config, "reply_fd": write_fd, "tmp": str(tmp), "parent": os.getpid()}
        cmd = [sys.executable, "-m", "grader.instructor.worker", json.dumps(setup)]
        try:
            proc = subprocess.Popen(  # noqa: S603 - our own module
                cmd,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                pass_fds=(write_fd,),
                start_new_session=True,  # Ctrl-C reaches the batch only; it stops the workers itself
                env=env,
                text=True,
            )
        finally:
            os.close(write_fd)
        worker = cls(proc, tmp)
        threading.Thread(target=worker._read, args=(read_fd, events), daemon=True).start()
        return worker

    def _read(self, fd: int, events: queue.Queue[tuple[_Worker, dict[str, Any]]]) -> None:
        with open(fd, encoding="utf-8") as replies:
            for line in replies:
                try:
                    events.put((self, json.loads(line)))
                except ValueError:
                    break
        events.put((self, {"event": "exit"}))

    def send(self, job: _Job) -> None:
        self.outstanding.append(job)
        if self.proc.stdin is None:
            return
        with contextlib.suppress(OSError):  # a dead worker: its "exit" event follows
            self.proc.stdin.write(json.dumps({"id": job.id, "learner": job.learner, "folder": str(job.folder)}) + "\n")
            self.proc.stdin.flush()

    def job(self, job_id: Any) -> _Job | None:
        return next((j for j in self.outstanding if j.id == job_id), None)

    def finish(self, job: _Job) -> None:
        self.outstanding.remove(job)
        if self.running is job:
            self.running = None
        self.finished += 1
        if self.finished >= RECYCLE_AFTER:
            self.retiring = True
        if self.retiring and not self.outstanding:
            self.close_input()

    def close_input(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def kill(self) -> None:
        """Kill the worker and whatever it left running; remove its temporary folder."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self.sweep()

    def sweep(self) -> None:
        """Kill processes still working in this worker's temporary folder, then remove it.

        Kernels under bubblewrap die with the worker (``--die-with-parent``); a kernel under
        rlimits has a session of its own, so it is found by its working folder.
        """
        self.close_input()
        prefix = str(self.tmp) + os.sep
        for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
            if not entry.name.isdigit():
                continue
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if cwd == str(self.tmp) or cwd.startswith(prefix):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(int(entry.name), signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(entry.name), signal.SIGKILL)
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.gone = True


def sweep_stale_folders() -> None:
    """Remove worker folders left by batches that were killed outright (their process is gone)."""
    for path in Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*-*"):
        pid = path.name.removeprefix(TMP_PREFIX).split("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:
            continue


@contextlib.contextmanager
def _signals_stop() -> Iterator[list[int]]:
    """Turn SIGINT and SIGTERM into a request to stop (the list gets the signal's number)."""
    got: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return

    def handler(signum: int, frame: object) -> None:
        got.append(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield got
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _stop_workers(workers: list[_Worker]) -> None:
    """Ask every worker to stop (SIGTERM: it closes its kernels), then kill what is left and sweep."""
    for w in workers:
        with contextlib.suppress(ProcessLookupError):
            w.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for w in workers:
        with contextlib.suppress(subprocess.TimeoutExpired):
            w.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        w.kill()


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    return {k: report[k] for k in ("points", "max_points", "percent")}


def run_batch(
    submissions: Path,
    out: Path,
    exercises: list[Exercise],
    options: Options,
    progress: Callable[[str, dict[str, Any]], None] | None = None,
) -> Result:
    """Grade every owned learner whose report is missing or stale; rebuild the gradebook.

    ``progress(learner, info)`` is called as each submission finishes: ``info`` holds the
    totals, or ``failed`` with the reason it was not graded; ``empty`` marks a learner
    folder with no file for these exercises.
    """
    confine = options.isolation == sandbox.RLIMITS
    label = isolation_label(options.isolation, confine)
    params = {
        "schema": BATCH_SCHEMA,
        "exercises": [e.key for e in exercises],
        "shard": f"{options.shard.index}/{options.shard.count}" if options.shard else None,
        "isolation": label,
        "options": options.limits(),
    }
    (out / REPORTS).mkdir(parents=True, exist_ok=True)
    sweep_stale_folders()
    salt = _check_state(out, params, options.salt)
    base = grader_digest(exercises) + salt + json.dumps(params, sort_keys=True)
    todo = {n: f for n, f in learners(submissions).items() if options.shard is None or options.shard.owns(n)}
    jobs: deque[_Job] = deque()
    kept = 0
    failed: dict[str, str] = {}
    for name, folder in todo.items():
        try:
            digest, files = fingerprint(folder, exercises)
        except OSError as exc:  # unreadable, or gone since it was listed
            failed[name] = f"its folder could not be read ({exc.strerror or exc})"
            if progress is not None:
                progress(name, {"failed": failed[name]})
            continue
        key = hashlib.sha256((base + digest).encode()).hexdigest()
        old = _read_report(out / REPORTS / f"{name}.json")
        if not options.regrade and old is not None and old.get("batch", {}).get("fingerprint") == key:
            kept += 1
            continue
        jobs.append(_Job(name, folder, key, files, id=len(jobs) + 1))
    config = {
        "exercises": [e.key for e in exercises],
        "isolation": options.isolation,
        "salt": salt,
        "confine": confine,
        **options.limits(),
    }
    timeout = options.timeout or default_timeout(exercises)
    graded = 0
    events: queue.Queue[tuple[_Worker, dict[str, Any]]] = queue.Queue()
    workers: list[_Worker] = []
    startup_failures = 0

    def record(job: _Job, report_text: str) -> None:
        report = json.loads(report_text)
        report["batch"] = {"fingerprint": job.key, "files": job.files, "isolation": label}
        _write_atomic(out / REPORTS / f"{job.learner}.json", json.dumps(report, indent=2) + "\n")
        if progress is not None:
            progress(job.learner, {**_summary(report), "empty": job.files == 0})

    def fail(job: _Job, why: str) -> None:
        failed[job.learner] = why
        path = out / REPORTS / f"{job.learner}.json"
        old = _read_report(path)
        if old is not None and old.get("batch", {}).get("fingerprint") != job.key:
            path.unlink()  # it graded what the learner no longer has: never keep a stale grade
        if progress is not None:
            progress(job.learner, {"failed": why})

    def feed(w: _Worker) -> None:
        while jobs and not w.retiring:
            if w.outstanding and (w.outstanding[0].solo or jobs[0].solo or len(w.outstanding) >= 2):
                return
            w.send(jobs.popleft())
            if w.outstanding[-1].solo:
                return

    def lost(w: _Worker, why: str, suspects: bool = True) -> None:
        """A worker died or was killed: blame only a job that was alone in it; retry the others alone.

        With ``suspects`` False (the worker was killed for a timeout) the others are not suspected.
        """
        for job in reversed(w.outstanding):
            if job.solo and suspects:
                fail(job, why)
            else:
                job.solo = job.solo or suspects
                jobs.appendleft(job)
        w.outstanding.clear()
        w.kill()
        workers.remove(w)

    with _signals_stop() as stop, open(out / LOG, "ab") as log:
        try:
            while not stop and (jobs or any(w.outstanding for w in workers)):
                while jobs and len([w for w in workers if not w.retiring]) < max(1, options.jobs):
                    workers.append(_Worker.start(config, log, events))
                    workers[-1].send(jobs.popleft())  # one each first; then the queued ones below
                for w in workers:
                    feed(w)
                try:
                    w, msg = events.get(timeout=0.25)
                except queue.Empty:
                    msg = {}
                if msg and w in workers:
                    w.heard = time.monotonic()
                    kind = msg.get("event")
                    job = w.job(msg.get("id"))
                    if kind == "ready":
                        w.ready = True
                    elif kind == "begin" and job is not None:
                        w.running, w.began = job, time.monotonic()
                    elif kind == "done" and job is not None:
                        record(job, str(msg.get("report", "")))
                        graded += 1
                        w.finish(job)
                    elif kind == "error" and job is not None:
                        fail(job, f"the grader failed on it ({msg.get('message', '')}); see {out / LOG}")
                        w.finish(job)
                    elif kind == "exit":
                        code = w.proc.wait()
                        if not w.ready:
                            startup_failures += 1
                            if startup_failures >= 3:
                                raise BatchError(f"the grader's workers cannot start (exit {code}); see {out / LOG}")
                        if w.outstanding:
                            lost(w, f"the grader crashed on it (exit {code}); see {out / LOG}")
                        else:
                            w.sweep()
                            workers.remove(w)
                now = time.monotonic()
                for w in list(workers):
                    if w.running is None and w.outstanding and now - w.heard > timeout:
                        lost(w, "the grader stopped answering while it held this submission")
                    elif w.running is not None and now - w.began > timeout:
                        job = w.running
                        w.outstanding.remove(job)
                        fail(job, f"over the {timeout:g} s limit for one submission")
                        lost(w, "", suspects=False)  # the job queued behind it goes back to the queue
        finally:
            if stop or any(w.outstanding for w in workers):
                _stop_workers(workers)
            else:
                for w in workers:
                    w.close_input()
                for w in workers:
                    try:
                        w.proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        pass
                    w.kill()
    count = write_outputs(out, exercises, [out], failed, salt)
    return Result(count, kept, graded, failed, salt, label, stop[0] if stop else None)


def _report_paths(folders: Iterable[Path]) -> list[tuple[str, Path]]:
    """(learner, report path) of every finished report in ``folders``, by learner name."""
    seen: dict[str, Path] = {}
    for folder in folders:
        for path in sorted((folder / REPORTS).glob("*.json")):
            if path.name.startswith(".") or not _finished(path):
                continue
            if path.stem in seen:
                raise BatchError(f"learner {path.stem!r} appears in more than one of the folders to merge")
            seen[path.stem] = path
    return sorted(seen.items())


def iter_reports(folders: Iterable[Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each learner's report in turn (one in memory at a time), by learner name."""
    for name, path in _report_paths(folders):
        report = _read_report(path)
        if report is not None:
            yield name, report


def load_reports(folders: Iterable[Path]) -> dict[str, dict[str, Any]]:
    return dict(iter_reports(folders))


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


GRADEBOOK_TAIL = ["total", "max", "percent", "isolation", "note"]


def gradebook_row(exercises: list[Exercise], learner: str, rep: dict[str, Any]) -> list[str]:
    by_key = {e["id"]: e for e in rep["exercises"]}
    cells = []
    for ex in exercises:
        e = by_key.get(ex.key)
        cells.append("" if e is None else ("grader error" if e["status"] == "grader error" else f"{e['points']:g}"))
    info = rep.get("batch", {})
    notes = []
    if any(c == "grader error" for c in cells):
        notes.append("grader error: regrade")
    if info.get("files") == 0:
        notes.append("empty: nothing for these exercises in the learner's folder")
    isolation = info.get("isolation") or str(rep.get("isolation", "")).split(":")[0].split(" (")[0]
    return [
        learner,
        *cells,
        f"{rep['points']:g}",
        f"{rep['max_points']:g}",
        f"{rep['percent']:.2f}",
        isolation,
        "; ".join(notes),
    ]


def gradebook(
    exercises: list[Exercise],
    reports: Iterable[tuple[str, dict[str, Any]]],
    failed: dict[str, str] | None = None,
) -> str:
    """CSV: one row per learner, one column per exercise, then total, max, percent, isolation and a note."""
    buf = io.StringIO()
    _write_gradebook(buf, exercises, reports, failed)
    return buf.getvalue()


def _write_gradebook(
    f: IO[str],
    exercises: list[Exercise],
    reports: Iterable[tuple[str, dict[str, Any]]],
    failed: dict[str, str] | None = None,
) -> None:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["learner", *[e.key for e in exercises], *GRADEBOOK_TAIL])
    failed = dict(failed or {})
    for learner, rep in reports:
        row = gradebook_row(exercises, learner, rep)
        if learner in failed:  # a --regrade that failed; this report still grades the same files
            row[-1] = "; ".join(filter(None, [row[-1], f"regrade failed: {failed.pop(learner)}"]))
        w.writerow(row)
    for learner, why in sorted(failed.items()):
        w.writerow([learner, *["" for _ in exercises], "", "", "", "", f"not graded: {why}; rerun to retry"])


@contextlib.contextmanager
def _atomic_file(path: Path) -> Iterator[IO[str]]:
    """A file written in place of ``path`` only once complete."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_outputs(
    out: Path,
    exercises: list[Exercise],
    reports_from: list[Path],
    failed: dict[str, str] | None = None,
    salt: str | None = None,
) -> int:
    """Rebuild gradebook.csv and merged.json from the reports in ``reports_from``.

    One report is in memory at a time, and both files are written as they go: the batch
    process stays small however large the class.
    """
    head = {"schema_version": BATCH_SCHEMA, "exercises": [e.key for e in exercises], "salt": salt}
    count = 0
    with _atomic_file(out / "merged.json") as merged, _atomic_file(out / "gradebook.csv") as book:
        merged.write(json.dumps(head, indent=2, sort_keys=True)[:-2] + ',\n  "learners": {')

        def rows() -> Iterator[tuple[str, dict[str, Any]]]:
            nonlocal count
            for name, rep in iter_reports(reports_from):
                merged.write(("," if count else "") + f"\n    {json.dumps(name)}: ")
                merged.write(json.dumps(_stable(rep), sort_keys=True, indent=2).replace("\n", "\n    "))
                count += 1
                yield name, rep

        _write_gradebook(book, exercises, rows(), failed)
        merged.write("\n  }\n}\n" if count else "}\n}\n")
    return count


def _state(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise BatchError(f"{folder} is not a batch output folder (it has no readable {STATE})") from None
    return data if isinstance(data, dict) else {}


def merge(folders: list[Path], out: Path, exercises: list[Exercise]) -> int:
    """Join the outputs of several shards into ``out`` (reports, gradebook, merged JSON); return the count."""
    if not folders:
        raise BatchError("name at least one batch output folder to merge")
    states = [_state(f) for f in folders]
    salts = {s.get("salt") for s in states}
    if len(salts) > 1:
        raise BatchError(
            "these shards were graded with different salts (so with different test inputs); "
            "grade every shard with the same --salt"
        )
    for name, path in _report_paths(folders):
        _write_atomic(out / REPORTS / f"{name}.json", path.read_text(encoding="utf-8"))
    return write_outputs(out, exercises, [out], salt=salts.pop())


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
