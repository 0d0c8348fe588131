"""The catalogue of hostile and broken submissions (tests/adversarial/<case>/case.toml).

Each case replaces one exercise's file of a correct submission and states the result it
must get. For every case: that exercise gets its stated status and points, a learner-facing
message where one is named; the exercise graded beside it still gets full marks; no process
is left behind; the learner's files are unchanged; nothing is written outside the sandbox.
Cases marked `requires = "bubblewrap"` test what only the sandbox can stop; `fills_disk = true` also
compares the free space of the temporary disk (which other processes on the machine move too).
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import tempfile
import tomllib
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest

from grader.engine import curriculum, sandbox
from grader.engine.data import Exercise, GradeReport, Kind
from grader.engine.runner import grade
from grader.report import github, html, text
from tests.conftest import ROOT, SOLUTIONS, SubmissionMaker, digest, result_of
from tests.mutants import apply, load_mutants

CATALOGUE = Path(__file__).parent / "adversarial"
CASES = sorted(p for p in CATALOGUE.iterdir() if (p / "case.toml").is_file())
SLOW_SECONDS = 3


def spec_of(case: Path) -> dict:  # type: ignore[type-arg]
    return tomllib.loads((case / "case.toml").read_text(encoding="utf-8"))


def _param(case: Path) -> object:
    spec = spec_of(case)
    slow = any(v >= 1 for v in spec.get("limits", {}).values()) or case.name in {
        "fill_the_disk",
        "print_1_gb",
        "fork_bomb",
        "notebook_100_mb_of_stored_output",
        "notebook_prints_100_mb",
        "huge_return_value",
        "allocate_50_gb",
    }
    return pytest.param(case, id=case.name, marks=[pytest.mark.slow] if slow else [])


def edit_notebook(path: Path, edit: str) -> str:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if edit == "drop_kernelspec":
        nb.metadata.pop("kernelspec", None)
        nb.metadata.pop("language_info", None)
    elif edit == "big_stored_output":
        code[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="y" * 100 * 2**20)]
    elif edit == "print_100_mb":
        code[0].source = "print('z' * 100 * 2**20)\n" + code[0].source
    elif edit == "input_call":
        nb.cells.insert(nb.cells.index(code[1]), nbformat.v4.new_code_cell("name = input('Your name? ')"))
    elif edit == "deep_metadata":  # valid JSON, nested deeper than any JSON reader recurses
        deep = "[" * 100_000 + "]" * 100_000
        return nbformat.writes(nb).replace('"metadata": {', '"metadata": {"deep": ' + deep + ",", 1)
    else:
        raise ValueError(f"unknown notebook edit {edit!r}")
    return nbformat.writes(nb)


def build(spec: dict, ex: Exercise, subs: dict[str, str]) -> str:  # type: ignore[type-arg]
    payload = spec.get("payload", "")
    for key, value in subs.items():
        payload = payload.replace("{" + key + "}", value)
    mode = spec["mode"]
    if mode == "replace":
        return str(payload)
    if mode == "append":
        return (SOLUTIONS / ex.relpath).read_text(encoding="utf-8") + "\n" + payload
    if mode == "mutant":
        mutant = next(m for m in load_mutants(ex) if m.name == spec["mutant"])
        text = apply(mutant, SOLUTIONS / ex.relpath)
        if ex.kind is Kind.NOTEBOOK:  # the payload runs as one more cell at the end
            nb = nbformat.reads(text, as_version=4)
            nb.cells.append(nbformat.v4.new_code_cell(payload))
            return nbformat.writes(nb)
        return text + "\n" + payload
    if mode == "notebook":
        return edit_notebook(SOLUTIONS / ex.relpath, spec["edit"])
    if mode == "solution":
        return (SOLUTIONS / ex.relpath).read_text(encoding="utf-8")
    raise ValueError(f"unknown mode {mode!r}")


def plant(spec: dict, root: Path, ex: Exercise, subs: dict[str, str]) -> None:  # type: ignore[type-arg]
    """Put what git can store but a grader must not follow into the submission: a link, a FIFO."""
    for item in spec.get("plant", []):
        path = root / item.get("file", ex.relpath).replace("{EXERCISE}", ex.file)
        path.unlink(missing_ok=True)
        if item["kind"] == "symlink":
            target = item["target"]
            for key, value in subs.items():
                target = target.replace("{" + key + "}", value)
            path.symlink_to(target)
        elif item["kind"] == "fifo":
            os.mkfifo(path)
        else:
            raise ValueError(f"unknown plant {item['kind']!r}")


def assert_reports_escape(report: GradeReport) -> None:
    """What GitHub would run from the grader's stdout is our annotations only; HTML shows markup as text."""
    token = uuid.uuid4().hex
    out = github.annotation_lines(report, "exercises") + github.untrusted(text.render(report), token)
    stopped = False
    for line in out.splitlines():
        if stopped:
            stopped = line != f"::{token}::"
        elif line == f"::stop-commands::{token}":
            stopped = True
        else:
            assert line.startswith(("::error file=", "::warning file=")), f"a workflow command was injected: {line!r}"
    assert not stopped, "the report's text never resumed commands"
    page = html.render(report)
    assert "<script" not in page


def test_the_catalogue_is_big_enough() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_adversarial_case(case: Path, make_submission: SubmissionMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = spec_of(case)
    if spec.get("requires") == "bubblewrap" and not sandbox.bubblewrap_works():
        pytest.skip("needs bubblewrap (apt-get install bubblewrap)")
    ex = curriculum.exercise(spec["exercise"])
    stage = curriculum.stage(ex.stage)
    # Graded beside it, to show the rest of the run is unharmed: named in the case, or one of the other kind.
    beside = (
        curriculum.exercise(spec["beside"])
        if "beside" in spec
        else next(e for e in stage.exercises if e.kind is not ex.kind)
    )
    token = uuid.uuid4().hex
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    subs = {"TOKEN": token, "REPO": str(ROOT), "PORT": str(server.getsockname()[1])}
    for name, value in spec.get("grader_env", {}).items():  # e.g. a secret the grader holds in CI
        monkeypatch.setenv(name, value.replace("{TOKEN}", token))
    # Another learner's submission beside this one (a batch folder): `{OTHER}` is its folder's name.
    subs["OTHER"] = make_submission({}).name
    root = make_submission({ex.relpath: build(spec, ex, subs)})
    plant(spec, root, ex, subs)
    before = digest(root)
    free_before = shutil.disk_usage(tempfile.gettempdir()).free
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    try:
        report = grade([*curriculum.with_limits([ex], **spec.get("limits", {})), beside], root)
    finally:
        server.close()

    res = result_of(report, ex)
    messages = "\n".join([res.load_message, *(t.message for t in res.tests)])
    assert res.status.value in spec["status"], messages
    if "message" in spec:
        assert spec["message"] in messages
    if spec.get("grader_env"):
        assert token not in repr(report), "a secret of the grader's environment reached the report"
    expected = {"zero": 0, "full": res.max_points, "any": None}.get(spec["points"])
    if spec["points"] == "any":  # the point of the case is elsewhere (memory, the rest of the run)
        assert res.status.value != "passed" or res.points == res.max_points, messages
    elif expected is None:
        assert res.points < res.max_points
    else:
        assert res.points == expected, messages
    assert not report.grader_errors, [t.message for t in report.grader_errors]
    other = result_of(report, beside)
    assert other.points == other.max_points, [t.message for t in other.tests]

    if "grader_memory_mb" in spec:  # what the grader itself may take on, whatever the kernel sends
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) >> 10
        assert grown <= spec["grader_memory_mb"], f"the grader's peak memory grew by {grown} MB"
    assert_reports_escape(report)
    assert digest(root) == before, "the learner's files changed"
    assert psutil.Process().children(recursive=True) == [], "a process was left behind"
    leftovers = [p.info for p in psutil.process_iter(["pid", "cmdline"]) if token in " ".join(p.info["cmdline"] or [])]
    assert not leftovers, f"processes left behind: {leftovers}"
    for path in spec.get("absent", []):
        assert not Path(path.replace("{TOKEN}", token).replace("{REPO}", str(ROOT))).exists()
    leftovers = list(Path(tempfile.gettempdir()).glob(f"grader-{os.getpid()}-*"))
    assert not leftovers, f"kernel folders left behind: {leftovers}"
    if spec.get("fills_disk"):  # other processes on the machine move the free space too: only where it matters
        assert shutil.disk_usage(tempfile.gettempdir()).free > free_before - 200 * 2**20, "the disk filled up"
