'''Package the model server in a container image, and build the model in CI.

Two text files take a model from a laptop to production: a ``Dockerfile`` that packages the
server of the ``serve`` exercise, and a GitHub Actions workflow that tests the code, trains the
model on a small sample and keeps the trained model as an artifact. Here you write both as
strings returned by two functions (``write_files`` puts them where Docker and GitHub look for
them). There is no Docker engine or GitHub runner in the grader: it lints your Dockerfile with
**hadolint** and your workflow with **actionlint**, and parses both to check what a reviewer asks
for.

``dockerfile()`` returns the Dockerfile's text. It must:

- pass hadolint with no warning or error (info-level notes are allowed), for example pip with
  ``--no-cache-dir``, ``WORKDIR`` instead of ``cd``, ``CMD`` in exec (JSON) form;
- build FROM a **pinned slim Python image**: ``python:3.<minor>-slim`` (optionally with a patch
  version, a Debian suffix such as ``-bookworm`` and a ``@sha256:`` digest), never ``latest``,
  never the full image; a single stage;
- copy ``requirements.txt`` and ``RUN pip install --no-cache-dir -r requirements.txt`` **before**
  copying the rest of the code, so that editing the code does not re-install the dependencies
  (Docker caches each layer until one of its inputs changes);
- run as a **non-root user**: create one (``RUN useradd --create-home app``) and switch to it with
  ``USER`` before ``CMD``; the last ``USER`` must not be ``root`` or ``0``;
- carry **no secrets**: no ``ENV`` or ``ARG`` whose name contains ``KEY``, ``TOKEN``, ``SECRET``
  or ``PASSWORD``, and no ``COPY``/``ADD`` of a ``.env`` file (secrets are given at run time);
- ``EXPOSE`` the server's port ``PORT`` (8000);
- declare a ``HEALTHCHECK`` that requests ``http://127.0.0.1:8000/health`` (the slim image has no
  curl: use ``python -c "import urllib.request; urllib.request.urlopen(...)"``);
- start the server with ``CMD`` in exec form running ``uvicorn`` with ``--host 0.0.0.0`` (inside a
  container, 127.0.0.1 is unreachable from outside) and ``--port 8000``; the application is
  ``app:app`` (a two-line ``app.py`` that calls ``create_app("model.json")``).

``ci_workflow()`` returns the text of ``.github/workflows/model.yml``. It must:

- pass actionlint with no finding;
- run ``on`` both ``push`` and ``pull_request``;
- have a job named ``build`` on ``ubuntu-latest`` whose steps, in this order: check out the code
  (``actions/checkout@v4``), set up Python (``actions/setup-python@v5`` with a
  ``python-version``), install the dependencies (a ``run`` containing
  ``pip install -r requirements.txt``), run the tests (a ``run`` containing ``pytest``), train on a
  tiny sample (a ``run`` containing ``python train.py --sample 200 --out model.json``) and upload
  the model (``actions/upload-artifact@v4`` with ``name: model`` and ``path: model.json``).
'''

from __future__ import annotations

from pathlib import Path

PORT = 8000


def dockerfile() -> str:
    """The Dockerfile's text (module docstring)."""
    raise NotImplementedError


def ci_workflow() -> str:
    """The GitHub Actions workflow's text (module docstring)."""
    raise NotImplementedError


def write_files(folder: str | Path = ".") -> None:
    """Write ``Dockerfile`` and ``.github/workflows/model.yml`` under ``folder``."""
    root = Path(folder)
    (root / "Dockerfile").write_text(dockerfile(), encoding="utf-8")
    workflow = root / ".github" / "workflows" / "model.yml"
    workflow.parent.mkdir(parents=True, exist_ok=True)
    workflow.write_text(ci_workflow(), encoding="utf-8")
