"""Test: the pytest plugin that gives suites ``sub`` and turns reports into outcomes.

Registered only for a grading run (``pytest.main(args, plugins=[Collector(...)])``),
like exercism's runner. Status comes from the exception that ended a test:
the learner's code raising, a timeout, a stub, a wrong answer, or our fault.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
import types
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pytest

from grader.engine.curriculum import suite_path
from grader.engine.data import Exercise, Status, TestOutcome
from grader.engine.remote import (
    KernelDied,
    LearnerError,
    LearnerTimeout,
    LoadFailed,
    MissingAttribute,
    NotDefined,
    RemoteRef,
    Session,
    Sub,
)
from grader.helpers import seed_for

LEADERBOARD = "leaderboard:"
# Grader errors go to the instructor's log (stderr unless logging is set up), never into a report:
# a traceback names hidden suite paths and shows their source lines.
log = logging.getLogger("grader.errors")
# Raised by a suite's own code on a value that came from the learner (a wrong type, a bad shape,
# a nested list NumPy cannot take): the learner's value is at fault, not the grader.
VALUE_ERRORS = (
    TypeError,
    ValueError,
    LookupError,
    ArithmeticError,
    AttributeError,
    RecursionError,
    np.linalg.LinAlgError,
)
# A per-run salt for the grade of record (``grader batch --salt``, or set in CI): the ``seed`` and
# ``rng`` fixtures mix it in, so hidden tests draw inputs a learner has not seen in an earlier report.
SALT_ENV = "GRADER_SALT"


def salted_seed(nodeid: str) -> int:
    """The seed of one test: from its node id, mixed with the run's salt when there is one."""
    salt = os.environ.get(SALT_ENV, "")
    return seed_for(f"{salt}\0{nodeid}" if salt else nodeid)


class SessionProvider(Protocol):
    """Gives the loaded learner namespace of an exercise, and takes it back."""

    def session(self, exercise: Exercise) -> Session: ...

    def release(self, exercise: Exercise) -> None: ...


def _location(err: LearnerError | None) -> tuple[str, int | None]:
    frame = err.location if err is not None else None
    if frame is None:
        return "", None
    if frame.cell is not None:
        return f"{frame.file} code cell {frame.cell}", frame.line
    return f"{frame.file}:{frame.line}" if frame.line else frame.file, frame.line


# What the codec never gives a suite from a learner's kernel (those arrive as RemoteRefs): an
# AttributeError looked up on one of these is the suite's own mistake (say `np.lianlg`).
_GRADER_OBJECTS = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


def _unusable_value(exc: AttributeError, got_from: str) -> str:
    """The message for an attribute looked up on a value the learner's code gave the suite."""
    what = got_from.removeprefix("reading ")
    if not what.startswith("`") or what.startswith("`function("):  # a grader helper run in the kernel
        what = "your code"
    if exc.obj is None:
        if what.endswith(".fit(...)`"):
            advice = "A `fit` method ends with `return self`."
        elif got_from.startswith("reading "):
            advice = "Set it to what the docstring asks for."
        else:
            advice = "Check that it returns what its docstring asks for on every path: a missing `return` gives None."
        return f"The check got None from {what}, so it could not use `.{exc.name}` on the result. {advice}"
    kind = exc.obj.type_name if isinstance(exc.obj, RemoteRef) else type(exc.obj).__name__
    return (
        f"The check got a {kind} from {what}, which has no attribute `{exc.name}`. "
        "Check the type your docstring asks for."
    )


def classify(
    exc: BaseException | None, learner_values: bool = False, where: str = "", got_from: str | None = None
) -> tuple[Status, str, str, int | None]:
    """(status, learner-facing message, learner location, line) for the exception that ended a test.

    ``learner_values``: the test had received values from the learner's code, so an error such
    as a TypeError raised while checking them is the learner's (their value was unusable), not ours.
    ``got_from``: for an AttributeError, the learner's call that returned the object it was
    looked up on (``Session.source_of``), e.g. a ``fit`` that returned None.
    """
    if exc is None:
        return Status.PASSED, "", "", None
    if isinstance(exc, LearnerError):
        where, line = _location(exc)
        if exc.not_implemented:
            return Status.NOT_ATTEMPTED, f"Not attempted yet: {exc.action} raised NotImplementedError.", where, line
        return Status.ERROR, exc.render(), where, line
    if isinstance(exc, LoadFailed):
        where, line = _location(exc.cause)
        return (Status.TIMEOUT if exc.timed_out else Status.ERROR), str(exc), where, line
    if isinstance(exc, LearnerTimeout):
        return Status.TIMEOUT, f"Your code ran too long and was stopped ({exc}). Is there an endless loop?", "", None
    if isinstance(exc, KernelDied):
        return (
            Status.ERROR,
            f"Your code stopped the kernel: {exc}. Does it call exit(), or use too much memory?",
            "",
            None,
        )
    if isinstance(exc, NotDefined):
        if exc.placeholder:
            return Status.NOT_ATTEMPTED, f"Not attempted yet: {exc}", "", None
        return (Status.ERROR if exc.after_error else Status.FAILED), str(exc), "", None
    if isinstance(exc, MissingAttribute | AssertionError | pytest.fail.Exception):
        return Status.FAILED, _failure_text(exc), "", None
    if isinstance(exc, AttributeError) and exc.name is not None:
        # A module, class or function is the suite's own, never a learner's value; a RemoteRef refuses
        # private names by design (the learner's attributes are read through MissingAttribute).
        if isinstance(exc.obj, _GRADER_OBJECTS) or (isinstance(exc.obj, RemoteRef) and exc.name.startswith("_")):
            learner_values, got_from = False, None
        if got_from is not None:
            return Status.FAILED, _unusable_value(exc, got_from), "", None
    if learner_values and isinstance(exc, VALUE_ERRORS):
        detail = _short(exc)
        return (
            Status.FAILED,
            f"The check could not use what your code returned ({type(exc).__name__}: {detail}). "
            "Check the type and shape your docstring asks for.",
            "",
            None,
        )
    log.error("grader error in %s:\n%s", where or "a test", "".join(traceback.format_exception(exc)).rstrip())
    return (
        Status.GRADER_ERROR,
        f"The grader failed on this test ({type(exc).__name__}); this is not your fault, and the instructor's "
        "log has the details.",
        "",
        None,
    )


def _short(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:
        text = ""
    text = " ".join(text.split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _failure_text(exc: BaseException) -> str:
    msg = getattr(exc, "msg", None)
    text = str(msg if msg is not None else exc).strip()
    return text or "A check failed."


class Collector:
    """Fixtures for suites, and one TestOutcome per test."""

    def __init__(
        self,
        exercises: list[Exercise],
        provider: SessionProvider,
        device: str = "cpu",
        progress: Callable[[str, str], None] | None = None,
    ) -> None:
        self._progress = progress
        self._device = device
        self.by_suite = {str(suite_path(e).resolve()): e for e in exercises}
        self.provider = provider
        self.outcomes: dict[str, list[TestOutcome]] = {e.key: [] for e in exercises}
        self.problems: dict[str, list[str]] = {e.key: [] for e in exercises}
        self._started: dict[str, float] = {}
        self._plots: dict[str, list[dict[str, Any]]] = {}

    def exercise_for(self, path: Path) -> Exercise:
        ex = self.by_suite.get(str(Path(path).resolve()))
        if ex is None:
            raise LookupError(f"{path} is not the suite of any exercise being graded")
        return ex

    # --- configuration and fixtures --------------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "points(n): how many points the test is worth")
        config.addinivalue_line("markers", "public: a test learners get in a class release (hidden unless marked)")

    @pytest.fixture(scope="module")
    def _grader_session(self, request: pytest.FixtureRequest) -> Iterator[Session]:
        ex = self.exercise_for(request.path)
        try:
            yield self.provider.session(ex)
        finally:
            self.provider.release(ex)

    @pytest.fixture
    def sub(self, _grader_session: Session) -> Sub:
        _grader_session.begin_test()
        return Sub(_grader_session)

    @pytest.fixture
    def device(self) -> str:
        """The torch device the suite should ask the learner's code to use ("cpu" or "cuda")."""
        return self._device

    @pytest.fixture
    def seed(self, request: pytest.FixtureRequest) -> int:
        return salted_seed(request.node.nodeid)

    @pytest.fixture
    def rng(self, seed: int) -> np.random.Generator:
        return np.random.default_rng(seed)

    @pytest.fixture
    def plot(self, request: pytest.FixtureRequest) -> Callable[..., None]:
        """``plot(kind, title, **arrays)``: a picture for the HTML report (kinds in grader.report.html)."""
        plots = self._plots.setdefault(request.node.nodeid, [])

        def record(kind: str, title: str, **data: Any) -> None:
            plots.append({"kind": kind, "title": title, **{k: np.asarray(v).tolist() for k, v in data.items()}})

        return record

    # --- outcomes --------------------------------------------------------------------------
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            path = Path(str(report.fspath))
            try:
                key = self.exercise_for(path).key
            except LookupError:
                return
            log.error("the suite %s could not be collected:\n%s", path, report.longreprtext)
            self.problems[key].append("the suite could not be collected (the instructor's log has the details)")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self._started[item.nodeid] = time.perf_counter()
        if self._progress is not None:
            self._progress(self.exercise_for(item.path).key, item.name)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when == "teardown" or (call.when == "setup" and call.excinfo is None):
            return report
        exc = call.excinfo.value if call.excinfo is not None else None
        if call.excinfo is not None and call.excinfo.errisinstance(pytest.skip.Exception):
            exc = RuntimeError(f"suite test was skipped: {exc}")
        sub = getattr(item, "funcargs", {}).get("sub")
        session = getattr(sub, "_session", None) if sub is not None else None
        learner_values = isinstance(session, Session) and session.calls > 0
        got_from = None
        if isinstance(session, Session) and isinstance(exc, AttributeError) and exc.name is not None:
            got_from = session.source_of(exc.obj)
        status, message, where, line = classify(exc, learner_values, item.nodeid, got_from)
        marker = item.get_closest_marker("points")
        max_points = float(marker.args[0]) if marker is not None and marker.args else 0.0
        if marker is None:
            status, message = Status.GRADER_ERROR, "the test has no points marker"
        ex = self.exercise_for(item.path)
        # the learner's code raised in a call: one next step (a load failure is said once, with its own)
        if status is Status.ERROR and isinstance(exc, LearnerError) and "\nHint: " not in message:
            message += f"\nNext step: run `grader hint {ex.key}` for a hint (one more each time you run it)."
        name = item.name
        self.outcomes[ex.key].append(
            TestOutcome(
                name=name,
                status=status,
                points=max_points if status is Status.PASSED else 0.0,
                max_points=max_points,
                message=message,
                location=where,
                line=line,
                seed=salted_seed(item.nodeid),
                duration=round(time.perf_counter() - self._started.get(item.nodeid, time.perf_counter()), 4),
                plots=self._plots.pop(item.nodeid, []),
                leaderboard={
                    str(k).removeprefix(LEADERBOARD): float(v)
                    for k, v in getattr(item, "user_properties", [])
                    if str(k).startswith(LEADERBOARD) and isinstance(v, int | float)
                },
            )
        )
        return report
