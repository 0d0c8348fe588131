"""`grader release`: turn the course repository into the repository a class is given.

The full repository (solutions, every suite, mutants, withheld labels) stays with the instructor.
A release holds what learners need and nothing that decides their grade:

- ``exercises/`` (the stubs), their notebooks' Colab setup cells pointing at the release;
- ``datasets/``, without the scripts that would regenerate withheld data;
- the ``grader`` package with the *public* tests only: each suite rewritten by
  :func:`grader.instructor.suites.public_source`, and ``suites/release.toml`` saying how many hidden
  tests, worth how many points, each exercise has (the report shows them as pending);
- hints up to the second-to-last tier (the last one nearly gives the answer away);
- a learner's README and Makefile, ``pyproject.toml`` with the repository setting filled in,
  and the fork workflow, pinned to the instructor's repository and ref.

Nothing here changes the full repository.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.engine import curriculum
from grader.instructor import assign, colab, suites
from grader.learner import hints
from grader.paths import PACKAGE, REPO

SLUG = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
PLACEHOLDER = "-".join(("your", "org"))  # the placeholder owner; spelled so that a release never contains it
SKIP = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
WORKFLOW = Path(".github") / "workflows" / "grade.yml"
TEMPLATES = Path(__file__).with_name("release_files")


class ReleaseError(ValueError):
    """The release cannot be built as asked; the message says what to change."""


@dataclass(frozen=True)
class Settings:
    repository: str  # OWNER/NAME of the class repository learners fork (Colab clones it)
    ref: str  # the tag both repositories carry: the class repository's and the suites' ref
    suites: str  # OWNER/NAME of the instructor's repository with the hidden suites ("" if not given)
    all_hints: bool = False

    def check(self) -> None:
        for what, value in (("--repository", self.repository), ("--suites", self.suites)):
            if what == "--suites" and not value:
                continue
            if not SLUG.match(value):
                raise ReleaseError(
                    f"{what} takes OWNER/NAME of a GitHub repository, e.g. my-school/mle-2027 (got {value!r})"
                )
            if value.split("/")[0].lower() in {PLACEHOLDER, "owner"}:
                raise ReleaseError(f"{what} {value} is the placeholder; name the real owner of the repository")
        if not REF.match(self.ref) or ".." in self.ref:
            raise ReleaseError(f"--ref takes a tag, branch or commit such as v1.0 (got {self.ref!r})")


@dataclass
class Summary:
    out: Path
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    hidden: dict[str, curriculum.Hidden] = field(default_factory=dict)


def _copy_tree(src: Path, dst: Path, keep: Callable[[Path], bool] | None = None) -> None:
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if SKIP.intersection(rel.parts) or not path.is_file() or path.suffix == ".pyc":
            continue
        if keep is not None and not keep(path):
            continue
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def grader_only_files() -> set[str]:
    """Names of the files beside the suites that only the grader may have (withheld labels, a reference model)."""
    root = curriculum.suites_root()
    return {name for d in root.iterdir() if d.is_dir() for name in suites.grader_only(d)}


def _dataset_kept(path: Path, secret: set[str]) -> bool:
    """A dataset file ships unless it is a script that (re)writes grader-only data."""
    if path.suffix != ".py":
        return True
    text = path.read_text(encoding="utf-8", errors="replace")
    return not any(name in text for name in secret)


def _notebook(text: str, stage: str, s: Settings) -> bytes:
    nb = nbformat.reads(text, as_version=4)
    colab.insert_setup_cell(nb, stage, s.repository, s.ref)
    out: str = nbformat.writes(nb)
    return (out + "\n").encode()


def _exercises(out: Path, s: Settings) -> None:
    """The stubs, made from solutions/ as `grader assign` makes exercises/ (so no stray file of the
    instructor's exercises/ folder ships), each notebook's setup cell pointing at the release."""
    for rel, content in assign.plan(REPO / "solutions").files.items():
        target = out / "exercises" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".ipynb"):
            content = _notebook(content.decode("utf-8"), rel.split("/")[0], s)
        target.write_bytes(content)


def _toml_hints(table: dict[str, list[str]]) -> str:
    lines = [
        "# Hints for `hint()` and `grader watch`. A class release keeps every tier but the last one of each",
        "# exercise (the last one nearly gives the answer away); the instructor has them all.",
    ]
    for ex_id, items in table.items():
        lines += ["", f"[{ex_id}]", "hints = ["]
        lines += [f"    {json.dumps(h, ensure_ascii=False)}," for h in items]
        lines.append("]")
    return "\n".join(lines) + "\n"


def _suites(out: Path, s: Settings, summary: Summary) -> None:
    src = curriculum.suites_root()
    dst = out / "grader" / "suites"
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / "pytest.ini", dst / "pytest.ini")
    hidden: dict[str, curriculum.Hidden] = {}
    for st in curriculum.load():
        (dst / st.id).mkdir(exist_ok=True)
        files = suites.grader_only(src / st.id) if (src / st.id).is_dir() else []
        for ex in st.exercises:
            path = curriculum.suite_path(ex)
            source = path.read_text(encoding="utf-8")
            tests = suites.tests_of(source, str(path))
            for t in tests:
                if t.public and suites.needs_grader_only(source, t.name, files):
                    raise ReleaseError(f"{path}: the public test {t.name} needs a grader-only file; make it hidden")
            header = (
                f"Public tests of {ex.key}: feedback you may read and run. The hidden tests that decide the\n"
                "grade are graded in CI on your fork and by your instructor; `make grade` shows their points as\n"
                "pending.\n"
            )
            (dst / st.id / path.name).write_text(suites.public_source(source, str(path), header), encoding="utf-8")
            secret = [t for t in tests if not t.public]
            hidden[ex.key] = curriculum.Hidden(tests=len(secret), points=sum(t.points for t in secret))
        table = hints.load(st.id)
        if table:
            keep = table if s.all_hints else {k: v[: max(1, len(v) - 1)] for k, v in table.items()}
            (dst / st.id / hints.HINTS_FILE).write_text(_toml_hints(keep), encoding="utf-8")
    summary.hidden = hidden
    lines = [
        "# Written by `grader release`: this repository is a class release. Its suites hold the public",
        "# tests only; the hidden ones (counted below) are graded in CI on your fork and by your",
        "# instructor, and `grader grade` shows their points as pending.",
        f"repository = {json.dumps(s.repository)}",
        f"ref = {json.dumps(s.ref)}",
        f"suites = {json.dumps(s.suites)}",
    ]
    for key, h in hidden.items():
        lines += ["", f"[hidden.{json.dumps(key)}]", f"tests = {h.tests}", f"points = {h.points:g}"]
    lines += ["", "# sha256 of each stub as released: `grader progress` tells an untouched exercise by it.", "[stubs]"]
    for st in curriculum.load():
        for ex in st.exercises:
            digest = hashlib.sha256((out / "exercises" / ex.relpath).read_bytes()).hexdigest()
            lines.append(f"{json.dumps(ex.relpath)} = {json.dumps(digest)}")
    (dst / curriculum.RELEASE_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _package(out: Path) -> None:
    """The grader package, without its suites (written by :func:`_suites`)."""
    suites_dir = curriculum.suites_root().resolve()

    def keep(path: Path) -> bool:
        return suites_dir not in path.resolve().parents

    _copy_tree(PACKAGE, out / "grader", keep)


def _pyproject(out: Path, s: Settings) -> None:
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    text, n = re.subn(
        r'^repository = "https://github\.com/[^"]*"$',
        f'repository = "https://github.com/{s.repository}"\nref = "{s.ref}"',
        text,
        flags=re.MULTILINE,
    )
    if n != 1:
        raise ReleaseError("pyproject.toml has no `[tool.mle-course] repository = ...` line to fill in")
    text = text.replace(f'# "{PLACEHOLDER}" is a placeholder: set the real owner before publishing.\n', "")
    (out / "pyproject.toml").write_text(text, encoding="utf-8")


def workflow(s: Settings) -> str:
    """The fork workflow, pinned to the instructor's repository and ref."""
    text = (REPO / WORKFLOW).read_text(encoding="utf-8")
    repo = re.compile(r"^  UPSTREAM_REPO: \$\{\{ vars\.UPSTREAM_REPO \|\| '[^']*' }}$", re.MULTILINE)
    ref = re.compile(r"^  UPSTREAM_REF: \$\{\{ vars\.UPSTREAM_REF \|\| '[^']*' }}$", re.MULTILINE)
    if not repo.search(text) or not ref.search(text):
        raise ReleaseError(f"{WORKFLOW} lost its UPSTREAM_REPO / UPSTREAM_REF lines; cannot pin it")
    text = repo.sub(f"  UPSTREAM_REPO: ${{{{ vars.UPSTREAM_REPO || '{s.suites}' }}}}", text)
    text = text.replace(f" {PLACEHOLDER}/* |", "")  # the release names real repositories only
    text = ref.sub(f"  UPSTREAM_REF: ${{{{ vars.UPSTREAM_REF || '{s.ref}' }}}}", text)
    return text


def _fill(template: str, s: Settings) -> str:
    suites_repo = s.suites or "(set the repository variable UPSTREAM_REPO)"
    return (
        template.replace("{{REPOSITORY}}", s.repository)
        .replace("{{REF}}", s.ref)
        .replace("{{SUITES}}", suites_repo)
        .replace("{{COLAB_LINKS}}", colab.readme_block(s.repository, s.ref))
        .replace("{{STAGES}}", _stage_table())
    )


def _stage_table() -> str:
    rows = ["| stage | exercises | points |", "|---|---:|---:|"]
    for st in curriculum.load():
        rows.append(f"| `{st.id}` | {len(st.exercises)} | {sum(e.points for e in st.exercises)} |")
    return "\n".join(rows)


def _learner_files(out: Path, s: Settings) -> None:
    for name in ("README.md", "Makefile", ".gitignore"):
        template = (TEMPLATES / name.lstrip(".")).read_text(encoding="utf-8")
        (out / name).write_text(_fill(template, s), encoding="utf-8")
    shutil.copy2(REPO / "constraints.txt", out / "constraints.txt")
    (out / WORKFLOW).parent.mkdir(parents=True, exist_ok=True)
    (out / WORKFLOW).write_text(workflow(s), encoding="utf-8")


def default_ref() -> str:
    """ "v" and the course's version in pyproject.toml, e.g. v0.1.0."""
    import tomllib

    version = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    return f"v{version}"


def build(out: Path, s: Settings) -> Summary:
    """Write the class release into ``out`` (which must not exist, or be empty)."""
    s.check()
    t0 = time.perf_counter()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ReleaseError(f"{out} exists and is not empty; name a new folder for the release")
    out.mkdir(parents=True, exist_ok=True)
    summary = Summary(out)
    secret = grader_only_files()
    _exercises(out, s)
    _copy_tree(REPO / "datasets", out / "datasets", lambda p: _dataset_kept(p, secret))
    _package(out)
    _suites(out, s, summary)
    _pyproject(out, s)
    _learner_files(out, s)
    files = [p for p in out.rglob("*") if p.is_file()]
    summary.files = len(files)
    summary.bytes = sum(p.stat().st_size for p in files)
    summary.seconds = round(time.perf_counter() - t0, 2)
    return summary
