"""Grader overhead: whole-stage grading time against the floor, measured in one run.

The floor is what no grader can avoid: starting one kernel per exercise (as many at a
time as the grader runs) and importing, in each, the libraries that exercise's solution
imports. Both sides run as fresh processes, as a learner runs `make grade`.

    python benchmarks/overhead.py [--stage ml-basics] [--repeats 3]

Target (issue 2): ratio <= 1.5 on 2 cores.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.engine import curriculum  # noqa: E402
from grader.engine.data import Exercise, Kind  # noqa: E402

FLOOR_SCRIPT = r"""
import asyncio, json, sys, tempfile
from jupyter_client.manager import AsyncKernelManager

async def one(sem, imports):
    async with sem:
        km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=tempfile.mkdtemp() + "/ipc")
        await km.start_kernel(stdout=-3, stderr=-3)
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=60)
        await kc.execute_interactive(imports, timeout=120)
        kc.stop_channels()
        await km.shutdown_kernel(now=True)

async def main(jobs, import_lines):
    sem = asyncio.Semaphore(jobs)
    await asyncio.gather(*(one(sem, imp) for imp in import_lines))

asyncio.run(main(int(sys.argv[1]), json.loads(sys.argv[2])))
"""


def imports_of(ex: Exercise) -> str:
    """The top-level import statements of the exercise's solution."""
    path = ROOT / "solutions" / ex.relpath
    if ex.kind is Kind.NOTEBOOK:
        nb = nbformat.read(path, as_version=4)
        sources = [c.source for c in nb.cells if c.cell_type == "code"]
    else:
        sources = [path.read_text(encoding="utf-8")]
    lines = []
    for src in sources:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        lines += [
            ast.unparse(node)
            for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom) and getattr(node, "module", None) != "__future__"
        ]
    return "\n".join(lines) or "pass"


def floor_command(exercises: list[Exercise], jobs: int) -> list[str]:
    """The floor as a fresh process: a kernel per exercise, ``jobs`` at a time, importing what its solution does."""
    return [sys.executable, "-c", FLOOR_SCRIPT, str(jobs), json.dumps([imports_of(e) for e in exercises])]


def timed(cmd: list[str]) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", default="ml-basics")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    exercises = list(curriculum.stage(args.stage).exercises)
    jobs = os.cpu_count() or 1
    floor_cmd = floor_command(exercises, jobs)
    grade_cmd = [
        sys.executable,
        "-m",
        "grader",
        "grade",
        "--stage",
        args.stage,
        "--submission",
        "solutions",
        "--jobs",
        str(jobs),
        "--format",
        "json",
    ]
    floors, grades = [], []
    for _ in range(args.repeats):  # interleaved, so both see the same machine state
        floors.append(timed(floor_cmd))
        grades.append(timed(grade_cmd))
    floor, graded = statistics.median(floors), statistics.median(grades)
    print(f"stage {args.stage}: {len(exercises)} exercises, {jobs} kernels at a time, {args.repeats} runs each")
    print(f"floor (kernels + imports): median {floor:.2f} s  runs {[round(x, 2) for x in floors]}")
    print(f"grading the solutions:     median {graded:.2f} s  runs {[round(x, 2) for x in grades]}")
    print(f"ratio: {graded / floor:.2f}x  (target <= 1.5x)")


if __name__ == "__main__":
    main()
