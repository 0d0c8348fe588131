"""The data passed between the pipeline's steps: discover → load → execute → test → score → report."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Kind(enum.StrEnum):
    MODULE = "module"
    NOTEBOOK = "notebook"


class Status(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    TIMEOUT = "timeout"
    NOT_ATTEMPTED = "not attempted"
    GRADER_ERROR = "grader error"


@dataclass(frozen=True)
class Limits:
    """Resource limits for one exercise's kernel."""

    time_limit: float  # seconds to run the notebook or import the module
    call_time_limit: float  # seconds for any single call the suite makes
    memory_mb: int  # address-space limit of the kernel
    cpu_seconds: int  # CPU time over the kernel's whole life
    # Wall-clock budgets that count every call into the learner's code (however many calls a
    # test makes, e.g. NumPy walking a remote sequence item by item), measured by the grader.
    test_time_limit: float = 120.0  # all the calls of one test
    exercise_time_limit: float = 900.0  # all the calls of all the tests of one exercise


@dataclass(frozen=True)
class Exercise:
    """One manifest entry."""

    id: str
    stage: str
    file: str
    kind: Kind
    points: int
    limits: Limits
    title: str = ""

    @property
    def key(self) -> str:
        return f"{self.stage}/{self.id}"

    @property
    def relpath(self) -> str:
        return f"{self.stage}/{self.file}"


@dataclass(frozen=True)
class Stage:
    id: str
    title: str
    exercises: tuple[Exercise, ...]


@dataclass(frozen=True)
class Submission:
    """A folder laid out like ``exercises/``: ``<root>/<stage>/<file>``."""

    root: Path

    def path_of(self, exercise: Exercise) -> Path:
        return self.root / exercise.stage / exercise.file


@dataclass
class TestOutcome:
    """One hidden test's result."""

    name: str
    status: Status
    points: float
    max_points: float
    message: str = ""
    location: str = ""  # "ml-basics/kmeans.py:42" or "ml-basics/classification.ipynb cell 3"
    line: int | None = None
    seed: int | None = None
    duration: float = 0.0
    # What a suite asked to show as a picture (see the `plot` fixture); drawn only by the HTML report.
    plots: list[dict[str, Any]] = field(default_factory=list)
    # Scores a suite published with pytest's `record_property("leaderboard:<name>", value)`.
    leaderboard: dict[str, float] = field(default_factory=dict)


@dataclass
class ExerciseResult:
    """All outcomes for one exercise, plus how its load went."""

    key: str
    stage: str
    file: str
    kind: Kind
    max_points: float
    tests: list[TestOutcome] = field(default_factory=list)
    load_message: str = ""  # a problem running the notebook/module, in the learner's terms
    duration: float = 0.0

    @property
    def points(self) -> float:
        return round(sum(t.points for t in self.tests), 6)

    @property
    def status(self) -> Status:
        statuses = {t.status for t in self.tests}
        if not statuses:
            return Status.GRADER_ERROR
        for s in (Status.GRADER_ERROR, Status.TIMEOUT):
            if s in statuses:
                return s
        if statuses == {Status.PASSED}:
            return Status.PASSED
        if statuses == {Status.NOT_ATTEMPTED}:
            return Status.NOT_ATTEMPTED
        if statuses == {Status.ERROR}:
            return Status.ERROR
        return Status.FAILED


@dataclass
class GradeReport:
    """The one model every reporter renders."""

    submission: str
    exercises: list[ExerciseResult]
    isolation: str
    started_at: str
    duration: float
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def points(self) -> float:
        return round(sum(e.points for e in self.exercises), 6)

    @property
    def max_points(self) -> float:
        return round(sum(e.max_points for e in self.exercises), 6)

    @property
    def percent(self) -> float:
        return 100.0 * self.points / self.max_points if self.max_points else 0.0

    @property
    def leaderboard(self) -> dict[str, float]:
        """Every leaderboard score the suites published, by name (e.g. "public AUC")."""
        return {k: v for e in self.exercises for t in e.tests for k, v in t.leaderboard.items()}

    @property
    def grader_errors(self) -> list[TestOutcome]:
        return [t for e in self.exercises for t in e.tests if t.status is Status.GRADER_ERROR]
