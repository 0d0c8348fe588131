from __future__ import annotations

import collections
import fcntl
import hashlib
import math
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.engine import curriculum
from grader.engine.data import Exercise, GradeReport
from grader.engine.runner import grade

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

# `grader grade` remembers results for `grader progress`; the tests keep theirs out of the repository.
os.environ.setdefault("GRADER_CACHE", tempfile.mkdtemp(prefix="grader-test-cache-"))

# Kernels started by the tests run side by side with this process: one thread each.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", help="rewrite tests/cases/*/expected.* files")


# Tests that grade a whole stage the first time a worker asks for a report (see StageReports).
_STAGE_GRADING = frozenset({"solution_reports", "stub_reports"})


def _long(item: pytest.Item) -> bool:
    return item.get_closest_marker("slow") is not None or bool(_STAGE_GRADING & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files of long tests first, fewest long tests first; files of quick tests last.

    Each file's tests stay together and in order. A file with few long tests has big ones (a
    stage graded twice, twenty gradings in a batch); a file with many has small ones (one
    mutant each). Big first and small last lets a parallel run end evenly: the small ones fill
    the gaps instead of one worker finishing a long test while the others idle.
    """
    long_tests = collections.Counter(item.nodeid.split("::")[0] for item in items if _long(item))
    items.sort(key=lambda item: long_tests.get(item.nodeid.split("::")[0], math.inf))


class StageReports(dict[str, GradeReport]):
    """Stage id -> report of grading that stage from one folder, graded the first time it is asked for.

    With ``shared`` (a folder all pytest-xdist workers of this run see), a stage is graded by the
    first worker that asks for it and the others read its report from there: one real grading per
    run, not one per worker. The others wait for it rather than grade the same files again.
    """

    def __init__(self, root: Path, shared: Path | None = None) -> None:
        super().__init__()
        self.root = root
        self.shared = shared

    def _grade(self, stage_id: str) -> GradeReport:
        return grade(list(curriculum.stage(stage_id).exercises), self.root)

    def __missing__(self, stage_id: str) -> GradeReport:
        if self.shared is None:
            report = self._grade(stage_id)
        else:
            self.shared.mkdir(parents=True, exist_ok=True)
            stored = self.shared / f"{self.root.name}-{stage_id}.pickle"
            with open(stored.with_suffix(".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
                if stored.is_file():
                    report = pickle.loads(stored.read_bytes())  # noqa: S301 - written by this run's workers
                else:
                    report = self._grade(stage_id)
                    partial = stored.with_suffix(f".{os.getpid()}.tmp")
                    partial.write_bytes(pickle.dumps(report))
                    partial.rename(stored)
        self[stage_id] = report
        return report


def _shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A folder every xdist worker of this run shares (the parent of their own temp folders); None without xdist."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return None
    return tmp_path_factory.getbasetemp().parent / "stage-reports"


@pytest.fixture(scope="session")
def solution_reports(tmp_path_factory: pytest.TempPathFactory) -> StageReports:
    """Each stage graded once from solutions/ (a stage at a time, when a test first needs it)."""
    return StageReports(SOLUTIONS, _shared_folder(tmp_path_factory))


@pytest.fixture(scope="session")
def stub_reports(tmp_path_factory: pytest.TempPathFactory) -> StageReports:
    """Each stage graded once from the untouched exercises/."""
    return StageReports(EXERCISES, _shared_folder(tmp_path_factory))


SubmissionMaker = Callable[[dict[str, str]], Path]


@pytest.fixture
def make_submission(tmp_path: Path) -> SubmissionMaker:
    """A submission folder: a copy of solutions/ with some files replaced by the given texts."""

    count = 0

    def make(files: dict[str, str]) -> Path:
        nonlocal count
        count += 1
        root = tmp_path / f"submission{count}"
        shutil.copytree(SOLUTIONS, root, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        for rel, text in files.items():
            (root / rel).write_text(text, encoding="utf-8")
        return root

    return make


def digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path: proves a grading left them unchanged."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file() and not p.is_symlink()
        else f"link to {os.readlink(p)}"
        if p.is_symlink()
        else "special"
        for p in sorted(root.rglob("*"))
        if not p.is_dir() or p.is_symlink()
    }


def result_of(report: GradeReport, ex: Exercise):  # type: ignore[no-untyped-def]
    return next(e for e in report.exercises if e.key == ex.key)
