"""Gradescope: the ``autograder.zip`` an assignment is configured with, and what runs inside it.

Gradescope unzips the file into ``/autograder/source``, runs ``setup.sh`` once when it builds the
image, then ``run_autograder`` for every submission: the learner's files are in
``/autograder/submission`` and the grade must end up in ``/autograder/results/results.json``.

The zip holds the grader with the *hidden* suites (and the files only the grader may read), the
manifest, the datasets, ``pyproject.toml`` and ``constraints.txt``; no solutions, no mutants.
``run_autograder`` calls :func:`main`, which lays the submission out like ``exercises/`` (a
fork's checkout, a folder of stages, or files uploaded on their own) and runs ``grader grade
--format gradescope``: the same engine and the same suites as everywhere else. ``AUTOGRADER_ROOT``
moves ``/autograder`` (the tests use a temporary folder), ``GRADER_PYTHON`` the Python it runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import stat
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from grader.engine import curriculum
from grader.engine.data import Exercise
from grader.paths import PACKAGE, REPO

SKIP = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}

SETUP = """\
#!/usr/bin/env bash
# Written by `grader release --gradescope`. Gradescope runs this once, as root, when it builds the
# autograder's image: Python 3.11, bubblewrap (used where the container allows it, else rlimits),
# and the course's grader with the pinned versions.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3.11 python3.11-venv bubblewrap git
python3.11 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -c constraints.txt --extra-index-url https://download.pytorch.org/whl/cpu -e ".[stages]"
"""

RUN = """\
#!/usr/bin/env bash
# Written by `grader release --gradescope`. Gradescope runs this for every submission; it writes
# $AUTOGRADER_ROOT/results/results.json (AUTOGRADER_ROOT is /autograder on Gradescope).
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
cd "$ROOT/source"
exec "${{GRADER_PYTHON:-$ROOT/source/.venv/bin/python}}" -m grader.instructor.gradescope_zip --root "$ROOT" {selection}
"""


def _files() -> list[tuple[Path, str]]:
    """(file, name in the zip) of everything the autograder needs from the repository."""
    out = []
    for base, prefix in ((PACKAGE, "grader"), (REPO / "datasets", "datasets")):
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(base)
            if path.is_file() and not SKIP.intersection(rel.parts) and path.suffix != ".pyc":
                out.append((path, f"{prefix}/{rel.as_posix()}"))
    out += [(REPO / name, name) for name in ("pyproject.toml", "constraints.txt")]
    return out


def _script(z: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | 0o755) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, text)


def write(zip_path: Path, stage: str | None = None, exercise_ids: Sequence[str] = ()) -> int:
    """Write the autograder zip (grading ``stage``, or only some of its exercises); its size in bytes."""
    curriculum.select(stage, list(exercise_ids) or None)  # a wrong name fails here, not on Gradescope
    selection = [*(["--stage", stage] if stage else []), *(a for e in exercise_ids for a in ("--exercise", e))]
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
        _script(z, "setup.sh", SETUP)
        _script(z, "run_autograder", RUN.format(selection=" ".join(selection)))
        for path, name in _files():
            z.write(path, name)
    return zip_path.stat().st_size


def arrange(submission: Path, dest: Path, exercises: list[Exercise]) -> Path:
    """A folder laid out like ``exercises/`` holding the submission's files of ``exercises``.

    Accepted: a fork's checkout (``exercises/<stage>/<file>``), a folder of stages
    (``<stage>/<file>``), or the files themselves anywhere in the submission (``kmeans.py``).
    A file that is missing stays missing: the report then says so.
    """
    for root in (submission / "exercises", submission):
        if any((root / e.relpath).is_file() for e in exercises):
            return root
    dest.mkdir(parents=True, exist_ok=True)
    found = {p.name: p for p in sorted(submission.rglob("*"), reverse=True) if p.is_file() and not p.is_symlink()}
    for ex in exercises:
        if ex.file in found:
            target = dest / ex.relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(found[ex.file], target)
    return dest


def _could_not_grade(results: Path, why: str) -> None:
    """No grade rather than a 0: Gradescope shows the message, and staff see the run failed."""
    results.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "The autograder could not grade this submission because of a problem on our side, not in your "
        f"code. Your instructor will regrade it. ({why})"
    )
    results.write_text(json.dumps({"output": text, "visibility": "visible", "tests": []}, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    from grader.cli import main as grader_main

    parser = argparse.ArgumentParser(prog="run_autograder")
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    parser.add_argument("--stage")
    parser.add_argument("--exercise", action="append", default=[])
    args = parser.parse_args(argv)
    results = args.root / "results" / "results.json"
    exercises = curriculum.select(args.stage, args.exercise or None)
    with tempfile.TemporaryDirectory(prefix="submission-") as tmp:
        folder = arrange(args.root / "submission", Path(tmp) / "exercises", exercises)
        selection = [*(["--stage", args.stage] if args.stage else []), *(f"--exercise={e}" for e in args.exercise)]
        argv = ["grade", *selection, "--submission", str(folder), "--format", "gradescope", "--output", str(results)]
        try:
            code = grader_main([*argv, "--no-record"])
        except SystemExit as exc:  # a usage error: our configuration, never the learner's fault
            code = exc.code if isinstance(exc.code, int) else 2
    if code not in (0, 1, 3) or not results.is_file():
        _could_not_grade(results, f"grader exit code {code}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
