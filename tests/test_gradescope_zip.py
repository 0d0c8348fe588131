"""Gradescope's autograder.zip: its layout, and run_autograder against a fake /autograder in a temporary folder."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.engine import curriculum
from grader.instructor import gradescope_zip, suites
from tests.conftest import EXERCISES, SOLUTIONS

STAGE = "ml-basics"
IDS = ["kmeans", "linear_regression"]


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gs") / "autograder.zip"
    gradescope_zip.write(path, STAGE, IDS)
    return path


def test_the_zip_has_the_scripts_the_hidden_suites_and_no_solutions(autograder_zip: Path) -> None:
    with zipfile.ZipFile(autograder_zip) as z:
        names = set(z.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in z.infolist()}
        run = z.read("run_autograder").decode()
    assert {"setup.sh", "run_autograder", "pyproject.toml", "constraints.txt", "grader/curriculum.toml"} <= names
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    for ex in (e for s in curriculum.load() for e in s.exercises):
        assert f"grader/suites/{ex.stage}/test_{ex.id}.py" in names  # the full suites, hidden tests and all
    assert "grader/suites/competition/test_labels.csv" in names
    assert not [n for n in names if n.startswith(("solutions/", "tests/", "exercises/"))]
    assert "--stage ml-basics --exercise kmeans --exercise linear_regression" in run


def test_a_wrong_exercise_is_refused_when_the_zip_is_written(tmp_path: Path) -> None:
    with pytest.raises(curriculum.CurriculumError):
        gradescope_zip.write(tmp_path / "a.zip", STAGE, ["nope"])


def fake_autograder(tmp_path: Path, autograder_zip: Path) -> Path:
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    with zipfile.ZipFile(autograder_zip) as z:
        z.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):
        (root / "source" / name).chmod(0o755)
    return root


def run_autograder(root: Path) -> dict:  # type: ignore[type-arg]
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADER_PYTHON": sys.executable}
    env.pop("GRADER_CURRICULUM", None)
    res = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True, timeout=900
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    loaded: dict = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))  # type: ignore[type-arg]
    return loaded


@pytest.mark.slow
def test_run_autograder_grades_files_uploaded_on_their_own(tmp_path: Path, autograder_zip: Path) -> None:
    root = fake_autograder(tmp_path, autograder_zip)
    shutil.copy(SOLUTIONS / STAGE / "kmeans.py", root / "submission" / "kmeans.py")  # linear_regression: missing
    results = run_autograder(root)
    kmeans = [t for t in results["tests"] if t["name"].startswith("ml-basics/kmeans:")]
    linreg = [t for t in results["tests"] if t["name"].startswith("ml-basics/linear_regression:")]
    in_suite = suites.tests_of(curriculum.suite_path(curriculum.exercise("ml-basics/kmeans")).read_text("utf-8"))
    assert len(kmeans) == len(in_suite) and all(t["status"] == "passed" for t in kmeans), kmeans  # hidden ones too
    assert results["score"] == 10
    assert linreg and all(t["score"] == 0 and "missing from your submission" in t["output"] for t in linreg)
    assert results["output"].startswith("10 / 20 points")


@pytest.mark.slow
def test_run_autograder_grades_a_forks_checkout(tmp_path: Path, autograder_zip: Path) -> None:
    root = fake_autograder(tmp_path, autograder_zip)
    shutil.copytree(EXERCISES / STAGE, root / "submission" / "exercises" / STAGE)
    shutil.copy(SOLUTIONS / STAGE / "linear_regression.py", root / "submission" / "exercises" / STAGE)
    results = run_autograder(root)
    assert results["score"] == 10
    stub = [t for t in results["tests"] if t["name"] == "ml-basics/kmeans"]  # an untouched exercise: one entry
    assert len(stub) == 1 and stub[0]["output"].startswith("Not attempted yet") and stub[0]["score"] == 0, stub
