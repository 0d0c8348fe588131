"""`grader release`: the class repository holds no answer, grades with its public tests, and grades the same.

One release is built per test session into a temporary folder. Then:

- grep: no solution block's content, no hidden test's name, no withheld label, no placeholder;
- `make grade` there, on the stubs and on the solutions copied in: public points only, the hidden
  ones pending (text, JSON, HTML); `check()` and `grader watch` there see the public tests;
- the instructor's full grading of that learner folder equals grading the same files here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.engine import curriculum
from grader.engine.data import GradeReport, Status
from grader.engine.runner import grade
from grader.instructor import assign, colab, release, suites
from grader.report import json_report
from tests.conftest import EXERCISES, ROOT, SOLUTIONS, StageReports

SETTINGS = release.Settings("my-school/mle-2027", "v1.0", "my-school/mle-course-private")
STAGES = [s.id for s in curriculum.load()]
VENV = Path(sys.executable).parent.parent


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> release.Summary:
    return release.build(tmp_path_factory.mktemp("release") / "class", SETTINGS)


@pytest.fixture(scope="session")
def out(built: release.Summary) -> Path:
    return built.out


def text_files(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            try:
                out[str(p.relative_to(root))] = p.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                out[str(p.relative_to(root))] = p.read_bytes().decode("latin-1")
    return out


def squash(text: str) -> str:
    return " ".join(text.split())


def solution_blocks() -> list[tuple[str, str]]:
    """(where, content) of every `# BEGIN SOLUTION` block in solutions/, comments aside."""
    blocks = []
    for path in sorted(SOLUTIONS.rglob("*")):
        if path.suffix not in (".py", ".ipynb") or "__pycache__" in path.parts:
            continue
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            sources = [c.source for c in nb.cells if c.cell_type == "code"]
        else:
            sources = [path.read_text(encoding="utf-8")]
        for source in sources:
            for match in re.finditer(
                r"^[ \t]*# BEGIN SOLUTION[ \t]*\n(.*?)^[ \t]*# END SOLUTION", source, re.DOTALL | re.MULTILINE
            ):
                code = [ln for ln in match[1].splitlines() if ln.strip() and not ln.strip().startswith("#")]
                blocks.append((str(path.relative_to(ROOT)), squash("\n".join(code))))
    return blocks


# ---------------------------------------------------------------- what is in it, what is not


def test_the_release_has_the_learners_files_and_nothing_else(out: Path) -> None:
    for rel in ("README.md", "Makefile", "pyproject.toml", "constraints.txt", ".github/workflows/grade.yml"):
        assert (out / rel).is_file(), rel
    for gone in ("solutions", "tests", "benchmarks", "docs"):
        assert not (out / gone).exists(), gone
    assert {p.name for p in (out / "exercises").iterdir()} == set(STAGES)
    assert not list(out.rglob("test_labels.csv")) and not list(out.rglob("_gpt_reference.py"))
    assert not list(out.rglob("measure_thresholds.py")) and not list(out.rglob("make_data.py"))
    assert (out / "datasets" / "competition" / "test.csv").is_file()
    for ex in (e for s in curriculum.load() for e in s.exercises):
        assert (out / "exercises" / ex.relpath).is_file(), ex.relpath
        assert (out / "grader" / "suites" / ex.stage / f"test_{ex.id}.py").is_file(), ex.key


def test_no_solution_block_is_in_the_release(out: Path) -> None:
    blocks = solution_blocks()
    assert len(blocks) > 100, "the solutions' blocks were not found"
    everything = "\n".join(squash(t) for t in text_files(out).values())
    # A one-line block such as `return self.net(x)` may also stand, outside any block, in a stub that
    # learners get anyway: that is no leak. Anything found in the release and in no stub is.
    stubs = "\n".join(squash(t) for t in text_files(ROOT / "exercises").values())
    leaks = [(where, code) for where, code in blocks if code in everything and code not in stubs]
    assert not leaks, f"solution code in the release: {leaks[:5]}"


def test_no_hidden_test_is_in_the_release(out: Path) -> None:
    hidden, public = set(), set()
    for ex in (e for s in curriculum.load() for e in s.exercises):
        for t in suites.tests_of(curriculum.suite_path(ex).read_text(encoding="utf-8")):
            (public if t.public else hidden).add(t.name)
    hidden -= public  # a name that is a public test in another suite is no secret
    assert len(hidden) > 100
    files = text_files(out)
    leaks = {name: rel for name in hidden for rel, text in files.items() if re.search(rf"\b{name}\b", text)}
    assert not leaks, f"hidden test names in the release: {leaks}"


def test_no_withheld_label_is_in_the_release(out: Path) -> None:
    labels = (curriculum.suites_root() / "competition" / "test_labels.csv").read_text(encoding="utf-8").splitlines()
    rows = set(labels[1:])
    assert len(rows) == 3000
    for rel, text in text_files(out).items():
        found = rows.intersection(text.splitlines())
        assert not found, f"{rel} holds withheld labels, e.g. {sorted(found)[:2]}"


def test_the_repository_and_ref_are_filled_in_everywhere(out: Path) -> None:
    files = text_files(out)
    placeholder = "-".join(("your", "org"))
    assert not [rel for rel, text in files.items() if placeholder in text], "a placeholder is left"
    wf = files[".github/workflows/grade.yml"]
    assert "UPSTREAM_REPO: ${{ vars.UPSTREAM_REPO || 'my-school/mle-course-private' }}" in wf
    assert "UPSTREAM_REF: ${{ vars.UPSTREAM_REF || 'v1.0' }}" in wf
    for nb in colab.notebooks():
        cell = nbformat.read(out / "exercises" / nb.relpath, as_version=4).cells[0]
        assert cell.source == colab.setup_cell_source(nb.stage, "my-school/mle-2027", "v1.0")
        assert '"--branch", "v1.0", "https://github.com/my-school/mle-2027"' in cell.source
        link = f"https://colab.research.google.com/github/my-school/mle-2027/blob/v1.0/exercises/{nb.relpath}"
        assert link in files["README.md"]
    assert 'repository = "https://github.com/my-school/mle-2027"' in files["pyproject.toml"]


def test_the_stubs_are_the_exercises_but_for_the_setup_cell(out: Path) -> None:
    for path in sorted(EXERCISES.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        rel = path.relative_to(EXERCISES)
        mine = out / "exercises" / rel
        if path.suffix == ".ipynb":
            a, b = nbformat.read(path, as_version=4), nbformat.read(mine, as_version=4)
            assert [c.source for c in a.cells[1:]] == [c.source for c in b.cells[1:]], rel
        else:
            assert mine.read_bytes() == path.read_bytes(), rel


def test_hints_keep_every_tier_but_the_last(out: Path) -> None:
    from grader.learner import hints

    for stage in STAGES:
        full = hints.load(stage)
        shipped = hints._load(out / "grader" / "suites" / stage / hints.HINTS_FILE)
        assert shipped.keys() == full.keys()
        for ex_id, tiers in full.items():
            assert shipped[ex_id] == tiers[: max(1, len(tiers) - 1)], ex_id


def test_bad_settings_are_refused_with_a_sentence(tmp_path: Path) -> None:
    for settings, words in [
        (release.Settings("your" + "-org/mle-course", "v1", ""), "placeholder"),
        (release.Settings("mle-course", "v1", ""), "OWNER/NAME"),
        (release.Settings("a/b", "v 1", ""), "--ref"),
        (release.Settings("a/b", "v1", "just-a-name"), "--suites"),
    ]:
        with pytest.raises(release.ReleaseError, match=words):
            release.build(tmp_path / "x", settings)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(release.ReleaseError, match="not empty"):
        release.build(tmp_path / "full", SETTINGS)


def test_the_cli_writes_a_release(tmp_path: Path) -> None:
    from grader.cli import main

    assert main(["release", str(tmp_path / "r"), "--repository", "a/b", "--ref", "v2", "--suites", "a/c"]) == 0
    assert (tmp_path / "r" / "grader" / "suites" / "release.toml").is_file()
    with pytest.raises(SystemExit) as exc:
        main(["release", str(tmp_path / "s")])
    assert exc.value.code == 2


# ---------------------------------------------------------------- grading in the release


def make_grade(out: Path, stage: str, submission: Path, report: Path, fmt: str = "json") -> dict[str, object]:
    """`make grade` in the release, as a learner runs it (with this virtualenv, already installed)."""
    env = {**os.environ, "GRADER_CACHE": str(report.parent / "cache"), "NO_COLOR": "1"}
    res = subprocess.run(
        [
            "make",
            "-o",
            f"{VENV}/.installed",
            "grade",
            f"VENV={VENV}",
            f"STAGE={stage}",
            f"SUBMISSION={submission}",
            f"ARGS=--no-record --also json={report} --also html={report.with_suffix('.html')}",
        ],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "points are pending" in res.stdout, res.stdout[-2000:]
    loaded: dict[str, object] = json.loads(report.read_text(encoding="utf-8"))
    loaded["_text"] = res.stdout
    return loaded


def check_pending(report: dict, stage: str, built: release.Summary) -> None:  # type: ignore[type-arg]
    exercises = curriculum.stage(stage).exercises
    assert [e["id"] for e in report["exercises"]] == [e.key for e in exercises]
    for e in report["exercises"]:
        hidden = built.hidden[e["id"]]
        pending = [t for t in e["tests"] if t["status"] == Status.PENDING.value]
        assert len(pending) == 1 and pending[0]["max_points"] == hidden.points, e["id"]
        assert pending[0]["points"] == 0 and "graded in CI" in pending[0]["message"]
        assert e["pending_points"] == hidden.points and e["max_points"] == curriculum.exercise(e["id"]).points
        ran = [t for t in e["tests"] if t["status"] != Status.PENDING.value]
        assert ran, e["id"]
    assert report["pending_points"] == sum(built.hidden[e.key].points for e in exercises)


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_make_grade_on_the_stubs_gives_public_points_and_pending(
    out: Path, built: release.Summary, stage: str, tmp_path: Path
) -> None:
    report = make_grade(out, stage, out / "exercises", tmp_path / "stubs.json")
    check_pending(report, stage, built)
    assert report["points"] == 0 and report["percent"] == 0
    for e in report["exercises"]:
        assert {t["status"] for t in e["tests"]} == {"not attempted", "pending"}, e["id"]
    html = (tmp_path / "stubs.html").read_text(encoding="utf-8")
    assert "pending" in html and "graded in CI" in html


def with_solutions(out: Path, stage: str, tmp_path: Path) -> Path:
    """The learner folder of the release with this stage's solutions copied in."""
    learner = tmp_path / "learner"
    shutil.copytree(out / "exercises", learner / "exercises")
    shutil.rmtree(learner / "exercises" / stage)
    shutil.copytree(SOLUTIONS / stage, learner / "exercises" / stage, ignore=shutil.ignore_patterns("__pycache__"))
    return learner / "exercises"


def outcomes(report: GradeReport) -> list[tuple[str, str, str, float, float]]:
    return [(e.key, t.name, t.status.value, t.points, t.max_points) for e in report.exercises for t in e.tests]


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_solutions_in_the_release_get_every_public_point_and_the_instructor_grades_them_the_same(
    out: Path, built: release.Summary, stage: str, tmp_path: Path, solution_reports: StageReports
) -> None:
    learner = with_solutions(out, stage, tmp_path)
    report = make_grade(out, stage, learner, tmp_path / "solutions.json")
    check_pending(report, stage, built)
    public = sum(
        t.points
        for e in curriculum.stage(stage).exercises
        for t in suites.tests_of(curriculum.suite_path(e).read_text(encoding="utf-8"))
        if t.public
    )
    assert report["points"] == public and report["percent"] == 100, report["_text"]

    # The instructor grades the learner's folder with the full suites: exactly as the same files here.
    exercises = list(curriculum.stage(stage).exercises)
    instructor = grade(exercises, learner)
    assert not instructor.pending_points
    assert outcomes(instructor) == outcomes(solution_reports[stage])
    mine, theirs = json_report.to_dict(instructor), json_report.to_dict(solution_reports[stage])
    for e, f in zip(mine["exercises"], theirs["exercises"], strict=True):
        assert [t["message"] for t in e["tests"]] == [t["message"] for t in f["tests"]]


@pytest.mark.slow
def test_check_in_the_release_runs_the_public_tests(out: Path, built: release.Summary) -> None:
    script = (
        "import json\n"
        "from grader.learner.inline import run_check\n"
        "r = run_check('ml-basics/kmeans', path='exercises/ml-basics/kmeans.py')\n"
        "print(json.dumps([(t.name, t.status.value, t.max_points) for t in r.exercises[0].tests]))\n"
    )
    res = subprocess.run([sys.executable, "-c", script], cwd=out, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    tests = json.loads(res.stdout.splitlines()[-1])
    source = curriculum.suite_path(curriculum.exercise("ml-basics/kmeans")).read_text(encoding="utf-8")
    public = [[t.name, "not attempted", t.points] for t in suites.tests_of(source) if t.public]
    assert tests == [*public, ["hidden tests", "pending", built.hidden["ml-basics/kmeans"].points]]


@pytest.mark.slow
def test_watch_in_the_release_moves_on_once_the_public_tests_pass(out: Path, tmp_path: Path) -> None:
    import pexpect

    learner = tmp_path / "exercises"
    shutil.copytree(out / "exercises", learner)
    first = curriculum.stage("ml-basics").exercises[0]
    env = {**os.environ, "GRADER_CACHE": str(tmp_path / "cache"), "NO_COLOR": "1", "COLUMNS": "120"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "grader", "watch", "--stage", "ml-basics", "--submission", str(learner)],
        cwd=str(out),
        env=env,
        encoding="utf-8",
        timeout=240,
        dimensions=(50, 120),
    )
    try:
        child.expect(r"pending")
        child.expect(r"Keys:|h ")
        shutil.copy2(SOLUTIONS / first.relpath, learner / first.relpath)
        child.expect(rf"{re.escape(first.key)} has all its points")
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_assign_and_release_agree_on_the_stub_text() -> None:
    """The release copies exercises/, so exercises/ must be what `grader assign` makes."""
    assert not assign.differences(assign.plan(SOLUTIONS), EXERCISES)


def test_progress_in_the_release_knows_the_stubs_without_solutions(out: Path, tmp_path: Path) -> None:
    learner = tmp_path / "exercises"
    shutil.copytree(out / "exercises", learner)
    first = curriculum.stage("ml-basics").exercises[0]
    (learner / first.relpath).write_text("# my own start\n", encoding="utf-8")
    env = {**os.environ, "GRADER_CACHE": str(tmp_path / "cache"), "NO_COLOR": "1"}
    res = subprocess.run(
        [sys.executable, "-m", "grader", "progress", "--stage", "ml-basics", "--submission", str(learner)],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    rows = {ln.split()[0]: ln for ln in res.stdout.splitlines() if ln.strip()}
    others = [e for e in curriculum.stage("ml-basics").exercises if e != first]
    assert "attempted" in rows[first.id], res.stdout
    assert all("untouched" in rows[e.id] for e in others), res.stdout
