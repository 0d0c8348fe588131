"""Side by side with the peers: the same k-means notebook and five tests, graded by nbgrader,
otter-grader and this project, for 1 and for N submissions, in one run.

otter-grader and nbgrader are installed into a virtual environment of their own (from the
package index, pinned below; never into the project's environment), once, under --venv.
Every timing is a fresh process, as an instructor runs it: `grader grade` / `grader batch`,
`nbgrader autograde` (submissions graded one after another, its only mode), `otter run`
(one process per submission, --jobs at a time). Prints the median of --repeats runs and the
ratios peer / this project.

    python benchmarks/peers.py [--repeats 3] [--submissions 10] [--jobs CPUS]

Targets (issue 18): this project at least 2x faster than nbgrader for 1 and for 10 submissions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.engine import sandbox  # noqa: E402

PEERS = ("nbgrader==0.9.6", "otter-grader==7.0.0", "ipykernel")
DEFAULT_VENV = Path.home() / ".cache" / "mle-course" / "peers-venv"

SOLUTION = '''\
import numpy as np


def kmeans(X, k, n_iter=100, seed=0):
    """Lloyd's algorithm. Returns (centers of shape (k, d), labels of shape (n,))."""
    rng = np.random.default_rng(seed)
    centers = X[[rng.integers(len(X))]].astype(float)
    while len(centers) < k:  # farthest-point seeding: the next centre is the sample farthest from them all
        d2 = ((X[:, None, :] - centers[None]) ** 2).sum(-1).min(1)
        centers = np.vstack([centers, X[d2.argmax()]])
    for _ in range(n_iter):
        labels = ((X[:, None, :] - centers[None]) ** 2).sum(-1).argmin(1)
        new = np.array([X[labels == j].mean(0) if np.any(labels == j) else centers[j] for j in range(k)])
        if np.allclose(new, centers):
            break
        centers = new
    labels = ((X[:, None, :] - centers[None]) ** 2).sum(-1).argmin(1)
    return centers, labels
'''
DEMO = "X_demo = np.random.default_rng(1).normal(size=(60, 2))\ncenters, labels = kmeans(X_demo, 3)\nprint(centers)\n"
BLOBS = (
    "_rng = np.random.default_rng(0)\n"
    "X = np.concatenate([_rng.normal(c, 0.3, size=(100, 2)) for c in ((0, 0), (5, 5), (0, 5))])\n"
)
# The five checks, each an expression that must be true (same in every tool); `X` is the blobs above.
CHECKS = {
    "shapes": "(lambda c, l: c.shape == (3, 2) and l.shape == (300,))(*kmeans(X, 3))",
    "nearest": "(lambda c, l: bool((((X[:, None] - c[None]) ** 2).sum(-1).argmin(1) == l).all()))(*kmeans(X, 3))",
    "means": "(lambda c, l: all(np.allclose(X[l == j].mean(0), c[j]) for j in range(3)))(*kmeans(X, 3))",
    "blobs": "(lambda c, l: sorted(len(set(l[i:i + 100])) for i in (0, 100, 200)) == [1, 1, 1]"
    " and len(set(l)) == 3)(*kmeans(X, 3))",
    "seeded": "(lambda a, b: bool((a[0] == b[0]).all() and (a[1] == b[1]).all()))"
    "(kmeans(X, 3, seed=4), kmeans(X, 3, seed=4))",
}


def notebook(nbgrader: bool = False) -> nbformat.NotebookNode:
    """The learner's notebook: the solution, a demo; for nbgrader also its five graded test cells."""

    def meta(grade_id: str, solution: bool, points: int = 0) -> dict[str, object]:
        cell = {"grade": points > 0, "grade_id": grade_id, "locked": not solution, "schema_version": 3}
        return {"nbgrader": {**cell, "solution": solution, "task": False, **({"points": points} if points else {})}}

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# k-means"),
        nbformat.v4.new_code_cell(SOLUTION, metadata=meta("kmeans", True) if nbgrader else {}),
        nbformat.v4.new_code_cell(DEMO, metadata=meta("demo", False) if nbgrader else {}),
    ]
    if nbgrader:
        for name, check in CHECKS.items():
            source = f"{BLOBS}assert {check}\n"
            nb.cells.append(nbformat.v4.new_code_cell(source, metadata=meta(f"test_{name}", False, 1)))
    return nb


def write_ours(root: Path) -> Path:
    """A one-exercise curriculum (GRADER_CURRICULUM) with a five-test suite; returns the manifest."""
    (root / "suites" / "peer").mkdir(parents=True)
    manifest = root / "curriculum.toml"
    manifest.write_text(
        "[defaults]\ntime_limit = 60\ncall_time_limit = 20\nmemory_mb = 4096\ncpu_seconds = 300\n\n"
        '[[stage]]\nid = "peer"\ntitle = "peer benchmark"\n\n'
        '[[exercise]]\nid = "kmeans"\nstage = "peer"\nfile = "kmeans.ipynb"\nkind = "notebook"\npoints = 5\n'
    )
    suite = ["import numpy as np", "import pytest", "", "", "def blobs():", "    _rng = np.random.default_rng(0)"]
    suite.append("    return np.concatenate([_rng.normal(c, 0.3, size=(100, 2)) for c in ((0, 0), (5, 5), (0, 5))])")
    for name, check in CHECKS.items():
        remote = check.replace("kmeans(", "sub.kmeans(")
        suite += ["", "", "@pytest.mark.points(1)", f"def test_{name}(sub):", "    X = blobs()", f"    assert {remote}"]
    (root / "suites" / "peer" / "test_kmeans.py").write_text("\n".join(suite) + "\n")
    return manifest


def setup(cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    """Run a peer's setup step (not timed); on failure show what it said."""
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout[-2000:]}{res.stderr[-3000:]}")


def write_otter(root: Path, env: dict[str, str]) -> Path:
    """otter's autograder.zip, built by `otter generate` from five OK-format tests."""
    tests = root / "tests"
    tests.mkdir(parents=True)
    for name, check in CHECKS.items():
        code = ">>> import numpy as np\n" + "".join(f">>> {line}\n" for line in BLOBS.splitlines())
        code += f">>> bool({check})\nTrue\n"
        case = {"code": code, "hidden": False, "locked": False, "points": 1}
        suite = {"cases": [case], "scored": True, "setup": "", "teardown": "", "type": "doctest"}
        spec = {"name": name, "points": 1, "suites": [suite]}
        (tests / f"{name}.py").write_text(f"OK_FORMAT = True\n\ntest = {spec!r}\n")
    setup(["otter", "generate", "--tests-dir", "tests", "--output-path", "autograder.zip"], root, env)
    return root / "autograder.zip"


def write_nbgrader(root: Path, env: dict[str, str]) -> Path:
    """An nbgrader course with assignment ps1 generated (its gradebook knows the test cells)."""
    (root / "source" / "ps1").mkdir(parents=True)
    nbformat.write(notebook(nbgrader=True), root / "source" / "ps1" / "kmeans.ipynb")
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\nc.CourseDirectory.course_id = 'bench'\n"
    )
    setup(["nbgrader", "generate_assignment", "ps1", "--force"], root, env)
    return root


def check_scores(tool: str, run: Path, n: int) -> None:
    """Every tool must have given every submission 5 of 5, or its time means nothing."""
    if tool == "this project":
        if n == 1:
            scores = [json.loads((run / "r.json").read_text())["points"]]
        else:
            scores = [json.loads(p.read_text())["points"] for p in (run / "out" / "reports").glob("*.json")]
    elif tool == "nbgrader":
        scores = []
        for path in (run / "course" / "autograded").glob("*/ps1/kmeans.ipynb"):
            nb = nbformat.read(path, as_version=4)
            failed = [c for c in nb.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
            scores.append(5 - len(failed))
    else:
        scores = []
        for path in run.glob("s*/results.json"):
            tests = json.loads(path.read_text())["tests"]
            scores.append(sum(t.get("score", 0) for t in tests if t.get("name") in CHECKS))
    if len(scores) != n or any(s != 5 for s in scores):
        raise SystemExit(f"{tool} did not give all {n} submissions 5/5: {scores}")


def ensure_venv(venv: Path) -> None:
    if (venv / "bin" / "nbgrader").exists() and (venv / "bin" / "otter").exists():
        return
    print(f"installing {', '.join(PEERS)} into {venv} (not the project's environment) ...", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *PEERS, "numpy"], check=True)


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if res.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed ({res.returncode}):\n{res.stderr[-3000:]}")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--submissions", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help=f"the peers' environment ({DEFAULT_VENV})")
    args = parser.parse_args()
    ensure_venv(args.venv)
    peer_env = {**os.environ, "PATH": f"{args.venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    peer_env.pop("VIRTUAL_ENV", None)
    mode = sandbox.pick_mode(None)
    with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
        work = Path(tmp)
        nb_path = work / "kmeans.ipynb"
        nbformat.write(notebook(), nb_path)
        ours_env = {**os.environ, "GRADER_CURRICULUM": str(write_ours(work / "ours"))}
        autograder = write_otter(work / "otter", peer_env)
        course = write_nbgrader(work / "nbgrader", peer_env)
        grader = [sys.executable, "-m", "grader"]
        sandbox_flag = ["--sandbox", mode]

        def ours(n: int, run: Path, jobs: int) -> float:
            if n == 1:
                sub = run / "sub" / "peer"
                sub.mkdir(parents=True)
                shutil.copy(nb_path, sub / "kmeans.ipynb")
                cmd = [*grader, "grade", "--submission", str(run / "sub"), "--stage", "peer", "--no-record"]
                return timed([*cmd, "--format", "json", "--output", str(run / "r.json"), *sandbox_flag], run, ours_env)
            for i in range(n):
                (run / "class" / f"s{i:02d}" / "peer").mkdir(parents=True)
                shutil.copy(nb_path, run / "class" / f"s{i:02d}" / "peer" / "kmeans.ipynb")
            cmd = [*grader, "batch", str(run / "class"), "--stage", "peer", "--output", str(run / "out")]
            return timed([*cmd, "--jobs", str(jobs), *sandbox_flag], run, ours_env)

        def nbgrader(n: int, run: Path, jobs: int) -> float:
            shutil.copytree(course, run / "course")
            cfg = run / "course" / "nbgrader_config.py"
            cfg.write_text(cfg.read_text().replace(str(course), str(run / "course")))
            for i in range(n):
                target = run / "course" / "submitted" / f"s{i:02d}" / "ps1"
                target.mkdir(parents=True)
                shutil.copy(course / "source" / "ps1" / "kmeans.ipynb", target / "kmeans.ipynb")
            return timed(["nbgrader", "autograde", "ps1", "--create"], run / "course", peer_env)

        def otter(n: int, run: Path, jobs: int) -> float:
            subs = []
            for i in range(n):
                (run / f"s{i:02d}").mkdir()
                shutil.copy(nb_path, run / f"s{i:02d}" / "kmeans.ipynb")
                subs.append(run / f"s{i:02d}")
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                cmd = ["otter", "run", "-a", str(autograder), "-o", ".", "kmeans.ipynb"]
                list(pool.map(lambda d: timed(cmd, d, peer_env), subs))
            return time.perf_counter() - t0

        tools: dict[str, Callable[[int, Path, int], float]] = {
            "this project": ours,
            "nbgrader": nbgrader,
            "otter": otter,
        }
        counts = (1, args.submissions)
        results: dict[tuple[str, int], float] = {}
        for n in counts:
            for name, fn in tools.items():
                times = []
                for r in range(args.repeats):
                    run = work / "runs" / f"{name.replace(' ', '_')}-{n}-{r}"
                    run.mkdir(parents=True)
                    times.append(fn(n, run, args.jobs))
                    check_scores(name, run, n)
                    shutil.rmtree(run, ignore_errors=True)
                results[name, n] = statistics.median(times)
                print(f"  {name:<13} {n:>3} submission(s): {', '.join(f'{t:.2f}' for t in times)} s", flush=True)
        one_only = {("this project --jobs 1", args.submissions): 0.0}
        for key in one_only:
            run = work / "runs" / "jobs1"
            run.mkdir(parents=True)
            one_only[key] = ours(args.submissions, run, 1)
    cores = len(os.sched_getaffinity(0))
    print(f"\nmedian of {args.repeats} fresh runs; {cores} cores; --jobs {args.jobs}; our sandbox: {mode}")
    print(f"peers: {', '.join(PEERS[:2])} (in {args.venv})")
    header = f"{'':<24}{'1 submission':>16}{f'{args.submissions} submissions':>18}"
    print(header)
    for name in tools:
        print(f"{name:<24}{results[name, 1]:>14.2f} s{results[name, args.submissions]:>16.2f} s")
    print(f"{'this project --jobs 1':<24}{'':>16}{one_only['this project --jobs 1', args.submissions]:>16.2f} s")
    for peer in ("nbgrader", "otter"):
        ratios = [results[peer, n] / results["this project", n] for n in counts]
        print(f"{peer} / this project: {ratios[0]:.2f}x for 1, {ratios[1]:.2f}x for {args.submissions} (target >= 2x)")


if __name__ == "__main__":
    main()
