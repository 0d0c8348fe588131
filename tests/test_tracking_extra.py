"""mlops/tracking without its extra: a sentence naming the install command, and the stage's other exercises graded."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from grader.engine import curriculum
from grader.engine.data import Status
from grader.engine.runner import grade
from tests.conftest import SOLUTIONS, result_of


@pytest.mark.slow
def test_grading_without_mlflow_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def without_mlflow(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name.split(".")[0] == "mlflow" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", without_mlflow)
    tracking, drift = curriculum.exercise("mlops/tracking"), curriculum.exercise("mlops/drift")
    report = grade([tracking, drift], SOLUTIONS)

    res = result_of(report, tracking)
    assert res.points == 0 and res.tests
    for t in res.tests:
        assert t.status is Status.FAILED, (t.name, t.status, t.message)
        assert "pip install -e '.[tracking]'" in t.message and "make grade STAGE=mlops" in t.message, t.message
        assert "Traceback" not in t.message
    assert not report.grader_errors, [t.message for t in report.grader_errors]
    other = result_of(report, drift)
    assert other.points == other.max_points, [t.message for t in other.tests]


def _suite() -> Any:
    path = curriculum.suite_path(curriculum.exercise("mlops/tracking"))
    spec = importlib.util.spec_from_file_location("tracking_suite_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _ForgedKernel:
    """What a kernel whose learner replaced the probe could send back as the store's listing."""

    def __init__(self, listing: Any) -> None:
        self.fns = {"read_store": lambda *args: listing}


@pytest.mark.parametrize(
    "listing",
    [
        {"dirs": [], "files": {"../escaped.txt": b"x"}, "other": {}},
        {"dirs": [], "files": {"0/../../escaped.txt": b"x"}, "other": {}},
        {"dirs": ["/var/escaped"], "files": {"/var/escaped/x.txt": b"x"}, "other": {}},
        {"dirs": [], "files": {"0/meta.yaml": "not bytes"}, "other": {}},
        {"dirs": ["0/meta.yaml"], "files": {"0/meta.yaml": b"x"}, "other": {}},
        {"dirs": [], "files": {}, "other": {"0/meta.yaml": "a symbolic link"}},
        {"dirs": [], "files": {f"f{i}": b"" for i in range(3000)}, "other": {}},
        {"dirs": ["/".join(["d"] * 40)], "files": {}, "other": {}},
        ["not", "a", "listing"],
    ],
    ids=["dotdot", "dotdot-inside", "absolute", "not-bytes", "file-and-folder", "link", "too-many", "too-deep", "list"],
)
def test_a_forged_store_listing_is_refused_and_nothing_lands_outside_the_copy(listing: Any, tmp_path: Path) -> None:
    suite = _suite()
    dest = tmp_path / "copy" / "store"
    with pytest.raises(pytest.fail.Exception) as failed:
        suite.copy_store(_ForgedKernel(listing), "mlruns", dest)
    assert "tracking folder" in str(failed.value)
    outside = [p for p in tmp_path.rglob("*") if not p.is_relative_to(tmp_path / "copy")]
    assert outside == [], outside
