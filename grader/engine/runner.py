"""Run a grading: start the kernels, run the hidden suites in this process, build the GradeReport."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import platform
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from grader.engine import intake, sandbox
from grader.engine.curriculum import Hidden, hidden, suite_path, suites_root
from grader.engine.data import Exercise, ExerciseResult, GradeReport, Status, Submission, TestOutcome
from grader.engine.kernel import KernelSession, LoopThread, sweep_stale_temporaries
from grader.engine.plugin import Collector, SessionProvider
from grader.engine.remote import GraderFault, KernelDied, LearnerError, LearnerTimeout, LoadFailed, Session
from grader.paths import DATASETS, SUITES

_log = logging.getLogger("grader.errors")


class KernelTransport:
    """Carries requests from a suite (main thread) to a kernel (the loop thread)."""

    def __init__(self, ks: KernelSession, loop: LoopThread) -> None:
        self._ks = ks
        self._loop = loop
        self.kind = ks.kind
        self.display = ks.display

    def request(self, req: dict[str, Any]) -> dict[str, Any]:
        return self._loop.run(self._ks.request(req))

    def begin_test(self) -> None:
        self._ks.begin_test()

    def missing_name_note(self) -> tuple[str, bool, bool]:
        ks = self._ks
        if ks.placeholders:
            cells = ", ".join(ks.cell_labels.get(n, f"code cell {n}") for n in ks.placeholders)
            held = "still holds" if len(ks.placeholders) == 1 else "still hold"
            return (
                f"In {ks.display}, {cells} {held} the `...` placeholder: write your code there.",
                True,
                False,
            )
        if ks.failed_cell is not None:
            _, err = ks.failed_cell
            return (
                f"{err.action} raised {err.exception_type}: {err.message}, so the cells after it did not run.",
                False,
                True,
            )
        return "", False, False


class KernelPool:
    """Starts and loads one kernel per exercise, ``jobs`` at a time, while suites run."""

    def __init__(self, exercises: list[Exercise], submission: Submission, jobs: int, isolation: str) -> None:
        self.loop = LoopThread()
        self.isolation = isolation
        self._submission = submission
        # Before any kernel exists: which stage folders may be copied at all (links, devices, sizes).
        self.intake = intake.scan(submission.root, exercises)
        self._sem: asyncio.Semaphore | None = None
        self._jobs = max(1, jobs)
        self._sessions: dict[str, KernelSession] = {}
        self.durations: dict[str, float] = {}
        self.load_messages: dict[str, str] = {}
        self.crashed_cells: dict[str, str] = {}  # exercise -> where its notebook stopped ("... code cell 3")
        self._t0: dict[str, float] = {}
        self._futures: dict[str, Future[KernelSession]] = {
            ex.key: self.loop.submit(self._prepare(ex)) for ex in exercises
        }

    async def _prepare(self, ex: Exercise) -> KernelSession:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self._jobs)
        async with self._sem:
            self._t0[ex.key] = time.perf_counter()
            try:
                return await self._start_and_load(ex)
            except LoadFailed as exc:
                self.load_messages[ex.key] = str(exc)
                raise

    async def _start_and_load(self, ex: Exercise) -> KernelSession:
        refusal = self.intake.refusal(ex)
        if refusal is not None:
            raise LoadFailed(f"{refusal} The grader did not run {ex.relpath}.")
        if not self.intake.has(ex):
            raise LoadFailed(f"{ex.relpath} is missing from your submission ({self._submission.root}).")
        ks = KernelSession(ex, self._submission.root, DATASETS, self.isolation)
        self._sessions[ex.key] = ks
        try:
            await ks.start()
            await ks.load()
        except LearnerTimeout as exc:
            await ks.close()
            raise LoadFailed(
                f"Running {ex.relpath} took too long and was stopped: {exc}. "
                "Is there an endless loop, or an input() call?",
                timed_out=True,
            ) from None
        except KernelDied as exc:
            await ks.close()
            raise LoadFailed(
                f"Running {ex.relpath} stopped the kernel ({exc}). Does it call exit(), or use too much memory?"
            ) from None
        except LoadFailed:
            await ks.close()
            raise
        except LearnerError as exc:  # a message from the kernel that no honest agent sends
            await ks.close()
            raise LoadFailed(exc.render(), exc) from None
        notes = self.intake.notes(ex)
        if ks.failed_cell is not None:
            number, err = ks.failed_cell
            notes.append(
                f"Your notebook stopped: {err.render()}\n"
                "The cells after it did not run, so tests that need them fail too. Fix this cell first."
            )
            self.crashed_cells[ex.key] = f"{ex.relpath} code cell {number}"
        if notes:
            self.load_messages[ex.key] = "\n".join(notes)
        return ks

    def session(self, exercise: Exercise) -> Session:
        ks = self._futures[exercise.key].result()
        return Session(KernelTransport(ks, self.loop))

    def release(self, exercise: Exercise) -> None:
        ks = self._sessions.get(exercise.key)
        if ks is not None:
            self.loop.run(ks.close())
        if exercise.key in self._t0:
            self.durations[exercise.key] = time.perf_counter() - self._t0[exercise.key]

    def close(self) -> None:
        for fut in self._futures.values():
            with contextlib.suppress(BaseException):
                fut.result()
        for ks in self._sessions.values():
            with contextlib.suppress(Exception):
                self.loop.run(ks.close())
        self.loop.close()


@contextlib.contextmanager
def _quiet_pytest_env() -> Iterator[None]:
    saved = {k: os.environ.pop(k) for k in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS") if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def run_suites(
    exercises: list[Exercise],
    provider: SessionProvider,
    device: str = "cpu",
    progress: Callable[[str, str], None] | None = None,
) -> dict[str, tuple[list[TestOutcome], list[str]]]:
    """Run the hidden suites of ``exercises`` in this process against ``provider``'s sessions.

    ``progress(exercise_key, test_name)`` is called as each test starts.
    """
    collector = Collector(exercises, provider, device, progress)
    paths = []
    for ex in exercises:
        path = suite_path(ex)
        if path.is_file():
            paths.append(str(path))
        else:
            _log.error("no hidden suite for %s at %s", ex.key, path)  # the path is for the instructor only
            collector.problems[ex.key].append("this exercise has no hidden suite (the instructor's log says where)")
    if paths:
        args = [
            *paths,
            "-c",
            str(SUITES / "pytest.ini"),
            "--rootdir",
            str(suites_root()),
            "-p",
            "no:cacheprovider",
            "-p",
            "no:terminal",
            "-p",
            "no:randomly",
            "--import-mode=importlib",
            "--capture=no",
            # No assertion rewriting: a failed `assert` shows its message only, never the values and the
            # expression it compared (a hidden test's expected values must not reach a learner).
            "--assert=plain",
        ]
        with _quiet_pytest_env():
            code = pytest.main(args, plugins=[collector])
        if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            raise GraderFault(f"pytest could not run the hidden suites (exit code {int(code)})")
    return {ex.key: (collector.outcomes[ex.key], collector.problems[ex.key]) for ex in exercises}


def assemble(
    exercises: list[Exercise],
    runs: dict[str, tuple[list[TestOutcome], list[str]]],
    durations: dict[str, float],
    load_messages: dict[str, str],
) -> list[ExerciseResult]:
    results = []
    for ex in exercises:
        outcomes, problems = runs[ex.key]
        outcomes = list(outcomes)
        elsewhere = hidden(ex)
        if outcomes and elsewhere is not None and elsewhere.tests:
            outcomes.append(pending(elsewhere))
        total = sum(t.max_points for t in outcomes)
        if outcomes and total != ex.points:
            problems.append(f"the suite's points add up to {total:g}, but the manifest gives {ex.points}")
        for problem in problems:
            outcomes.append(
                TestOutcome(name="suite", status=Status.GRADER_ERROR, points=0.0, max_points=0.0, message=problem)
            )
        results.append(
            ExerciseResult(
                key=ex.key,
                stage=ex.stage,
                file=ex.file,
                kind=ex.kind,
                max_points=float(ex.points),
                tests=outcomes,
                load_message=load_messages.get(ex.key, ""),
                duration=round(durations.get(ex.key, 0.0), 3),
            )
        )
    return results


PENDING_MESSAGE = (
    "{tests} hidden test(s) worth {points:g} point(s) are not in your copy of the course: they are graded "
    "in CI on your fork and by your instructor. Their points are pending, not lost."
)


def pending(elsewhere: Hidden) -> TestOutcome:
    """The one outcome that stands for the hidden tests of a class release."""
    return TestOutcome(
        name="hidden tests",
        status=Status.PENDING,
        points=0.0,
        max_points=elsewhere.points,
        message=PENDING_MESSAGE.format(tests=elsewhere.tests, points=elsewhere.points),
    )


def blame_crashed_cell(results: list[ExerciseResult], crashed_cells: dict[str, str]) -> None:
    """A test that fails after a notebook stopped at a crashing cell says so, pointing at that cell.

    Its own message would describe a consequence (a model not fitted, a name not defined), with
    a hint about something else; the learner's next step is the crashing cell. A test that ended
    in the learner's own code keeps its traceback.
    """
    for res in results:
        where = crashed_cells.get(res.key)
        if where is None:
            continue
        for t in res.tests:
            if t.status in (Status.FAILED, Status.ERROR) and not t.location:
                t.message, t.location, t.line = res.load_message, where, None


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("mle-course", "numpy", "pandas", "scikit-learn", "torch", "nbclient", "ipykernel", "pytest"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    return out


def resolve_device(device: str) -> str:
    """ "auto" is CUDA when torch sees a GPU, else the CPU."""
    if device != "auto":
        return device
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def grade(
    exercises: list[Exercise],
    submission: Path,
    jobs: int | None = None,
    device: str = "cpu",
    isolation: str | None = None,
    progress: Callable[[str, str], None] | None = None,
) -> GradeReport:
    """Grade ``exercises`` of the submission folder ``submission`` and return the report.

    ``isolation`` is "bubblewrap", "rlimits" or "auto" (the default, also from GRADER_SANDBOX).
    """
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    mode = sandbox.pick_mode(isolation)
    sweep_stale_temporaries()
    pool = KernelPool(exercises, Submission(submission), jobs or os.cpu_count() or 1, mode)
    try:
        runs = run_suites(exercises, pool, resolve_device(device), progress)
    finally:
        pool.close()
    results = assemble(exercises, runs, pool.durations, pool.load_messages)
    blame_crashed_cell(results, pool.crashed_cells)
    return GradeReport(
        submission=str(submission),
        exercises=results,
        isolation=sandbox.describe(mode),
        started_at=started,
        duration=round(time.perf_counter() - t0, 3),
        versions=versions(),
    )
