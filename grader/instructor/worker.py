"""A batch worker: a process that imports the grader once and grades many submissions.

``grader batch`` starts a few of these (``python -m grader.instructor.worker CONFIG``)
and feeds them jobs, one JSON line each on stdin. A worker starts a job's kernels as
soon as the job arrives, so the batch keeps one job queued in every worker: the next
submission's kernels start and load while the current submission's suites run. Every
learner's code still runs in a fresh kernel process of its own, under the same sandbox
as ``grader grade``; only the grader side (Python, pytest, NumPy, the suites) is reused.

The worker answers on a pipe of its own (``reply_fd``), one JSON line per event, so
nothing a suite or a library prints can be taken for an answer:

- ``{"event": "ready"}`` once the grader is imported;
- ``{"event": "begin", "id": N}`` when job N's suites start (its timeout runs from here);
- ``{"event": "done", "id": N, "report": "<JSON report>"}``;
- ``{"event": "error", "id": N, "message": "..."}`` when the grader itself failed on it.

The worker writes no file outside its private temporary folder (``TMPDIR``, made and
removed by the batch): the batch process writes every report. Under ``--sandbox
rlimits`` the worker also confines itself, and so every kernel it starts, with Landlock
(see :func:`confine_writes`).

SIGTERM stops a worker cleanly: the running suites stop, every kernel it started is
killed and its temporary folders are removed, then it exits.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import json
import os
import queue
import signal
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

# Landlock (Linux >= 5.13): the same syscall numbers on every architecture.
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_PDEATHSIG = 1
_RULE_PATH_BENEATH = 1
_ACCESS_EXECUTE = 1 << 0
_ACCESS_READ_FILE = 1 << 2
_ACCESS_READ_DIR = 1 << 3
# Every right that creates, changes or removes a file (ABI 1), then REFER (2), TRUNCATE (3).
_WRITE_RIGHTS_V1 = (1 << 1) | sum(1 << b for b in range(4, 13))
_REFER, _TRUNCATE = 1 << 13, 1 << 14
_SCOPE_SIGNAL = 1 << 1  # ABI 6: no signals to processes outside the domain (the batch process)


LANDLOCK_NOTE = (
    "; Landlock (grader batch): the kernel may write only in its own temporary folder and cannot signal "
    "the batch, but bubblewrap is not available, so it can read files as you can"
)


class LandlockUnavailable(OSError):
    """This kernel (or a seccomp filter) does not offer Landlock."""


def landlock_abi() -> int:
    """The Landlock ABI version of the running kernel, 0 when there is none."""
    if not sys.platform.startswith("linux"):
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    version = libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(0, int(version))


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def confine_writes(writable: list[Path]) -> int:
    """Forbid this process and all its descendants to write anywhere but beneath ``writable``.

    Reading stays allowed (the worker must read the suites and the submissions). Where the
    kernel has Landlock ABI 6, signals to processes outside the domain are refused too, so
    a kernel cannot stop the batch process. Cannot be undone; returns the ABI used.
    """
    abi = landlock_abi()
    if abi < 1:
        raise LandlockUnavailable("Landlock is not available in this Linux kernel")
    handled = _WRITE_RIGHTS_V1 | (_REFER if abi >= 2 else 0) | (_TRUNCATE if abi >= 3 else 0)
    fields = [handled, 0, _SCOPE_SIGNAL if abi >= 6 else 0]  # handled_access_fs, _net, scoped
    size = 24 if abi >= 6 else (16 if abi >= 4 else 8)
    attr = (ctypes.c_uint64 * 3)(*fields)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise LandlockUnavailable(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for path in writable:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = _PathBeneath(handled, fd)
                rc = libc.syscall(
                    _SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(rule), 0
                )
                if rc < 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return abi


def writable_paths(tmp: Path) -> list[Path]:
    """What a confined worker and its kernels may write: their temporary folder, devices, cgroups."""
    from grader.engine import sandbox

    paths = [tmp, Path("/dev")]
    if sandbox.pids_cgroup_available():
        paths.append(sandbox.PIDS_CGROUP)  # the kernels' process-count cgroups
    return [p for p in paths if p.exists()]


class Worker:
    """Grades jobs in order; each job's kernels start when it arrives (before its turn)."""

    def __init__(self, config: dict[str, Any], reply: IO[str]) -> None:
        from grader.engine import curriculum, sandbox
        from grader.engine.runner import resolve_device

        self._reply = reply
        self._lock = threading.Lock()
        self.isolation: str = config["isolation"]
        self.describe = sandbox.describe(self.isolation)
        if config.get("confine"):
            self.describe = self.describe.split(". Warning")[0] + LANDLOCK_NOTE
        self.device = resolve_device(config.get("device", "cpu"))
        self.exercises = curriculum.with_limits(
            [curriculum.exercise(k) for k in config["exercises"]],
            time_limit=config.get("time_limit"),
            call_time_limit=config.get("call_time_limit"),
            memory_mb=config.get("memory_mb"),
        )
        self.jobs: queue.Queue[tuple[dict[str, Any], Any] | None] = queue.Queue()
        self.prepared: list[Any] = []  # pools whose kernels are starting or ready
        self.stopping = False  # set by SIGTERM; no more jobs, no more answers

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message) + "\n"
        with self._lock:
            self._reply.write(line)
            self._reply.flush()

    def accept(self, job: dict[str, Any]) -> None:
        """Start the job's kernels now (in the background); grade it when its turn comes."""
        from grader.engine.data import Submission
        from grader.engine.runner import KernelPool

        try:
            pool: Any = KernelPool(self.exercises, Submission(Path(job["folder"])), 1, self.isolation)
        except Exception as exc:  # the folder vanished, or is unreadable
            pool = exc
        with self._lock:
            late = self.stopping
            if not late and not isinstance(pool, BaseException):
                self.prepared.append(pool)
        if late and not isinstance(pool, BaseException):
            pool.close()
            return
        self.jobs.put((job, pool))

    def read_jobs(self, stream: IO[str]) -> None:
        for line in stream:
            if line.strip():
                self.accept(json.loads(line))
        self.jobs.put(None)

    def grade(self, job: dict[str, Any], pool: Any) -> None:
        from grader.engine.data import GradeReport
        from grader.engine.runner import assemble, run_suites, versions
        from grader.report import json_report

        self.send({"event": "begin", "id": job["id"]})
        if isinstance(pool, BaseException):
            self.send({"event": "error", "id": job["id"], "message": f"{type(pool).__name__}: {pool}"})
            return
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        t0 = time.perf_counter()
        try:
            runs = run_suites(self.exercises, pool, self.device)
        except Exception as exc:
            if self.stopping:
                raise KeyboardInterrupt from None
            self.send({"event": "error", "id": job["id"], "message": f"{type(exc).__name__}: {exc}"})
            return
        finally:
            pool.close()
            with self._lock:
                self.prepared.remove(pool)
        if self.stopping:  # pytest stops a session on KeyboardInterrupt and returns what it has
            raise KeyboardInterrupt
        report = GradeReport(
            submission=job["folder"],
            exercises=assemble(self.exercises, runs, pool.durations, pool.load_messages),
            isolation=self.describe,
            started_at=started,
            duration=round(time.perf_counter() - t0, 3),
            versions=versions(),
        )
        self.send({"event": "done", "id": job["id"], "report": json_report.render(report)})

    def close_all(self) -> None:
        """Kill every kernel this worker started and remove their temporary folders."""
        with self._lock:
            self.stopping = True
            pools, self.prepared = list(self.prepared), []
        for pool in pools:
            try:
                pool.close()
            except Exception as exc:  # keep closing the others
                print(f"grader worker: could not close a kernel pool: {exc}", file=sys.stderr)

    def run(self) -> None:
        reader = threading.Thread(target=self.read_jobs, args=(sys.stdin,), name="jobs", daemon=True)
        reader.start()
        self.send({"event": "ready"})
        try:
            while (item := self.jobs.get()) is not None:
                self.grade(*item)
        finally:
            self.close_all()


def _die_with_batch(parent: int) -> None:
    """SIGTERM this worker when the batch process dies (even by SIGKILL), so it closes its kernels."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the batch died before the line above
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str]) -> int:
    config = json.loads(argv[0])
    # The reply pipe is ours alone; stdout goes where stderr goes, so a suite's print() is only a log line.
    reply = os.fdopen(config["reply_fd"], "w", encoding="utf-8")
    os.dup2(2, 1)
    tmp = Path(config["tmp"])
    if config.get("confine"):
        confine_writes(writable_paths(tmp))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the batch process decides what Ctrl-C does
    from grader.engine import sandbox
    from grader.engine.plugin import SALT_ENV

    if config.get("salt"):
        os.environ[SALT_ENV] = config["salt"]
    sandbox.pick_mode(config["isolation"])  # probes bubblewrap once, before the first job
    worker = Worker(config, reply)

    def stop(signum: int, frame: object) -> None:
        # pytest ends a session on KeyboardInterrupt; every ``finally`` on the way closes kernels.
        worker.stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        _die_with_batch(int(config["parent"]))
        worker.run()
    except KeyboardInterrupt:
        return 128 + signal.SIGTERM
    return 0


if __name__ == "__main__":
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    sys.exit(main(sys.argv[1:]))
