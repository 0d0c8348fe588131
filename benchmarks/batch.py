"""Batch throughput: 40 copies of a stage (half solutions, half mutants), with --jobs 1 and --jobs 2.

Prints submissions per minute for each, the speed-up, and the peak memory of the batch
process itself for a small and a large class (it must stay flat as the class grows),
all measured in one run.

    python benchmarks/batch.py [--stage ml-basics] [--copies 40]

Targets (issue 18): speed-up >= 1.8x from 1 to 2 jobs on 2 cores; the time per submission at
--jobs 2 at most 1.3x the floor (benchmarks/overhead.py's kernel starts + imports for one
submission of the stage, as many kernels at a time as there are cores); flat batch-process memory.
It also prints how many cores each run kept busy (the machine's busy CPU time over the wall
time, so run it on a quiet machine): a worker starts the next submission's kernels while the current one's suites
run, so --jobs 1 already uses more than one core, and that caps the 1 -> 2 speed-up.
Without bubblewrap it grades with --sandbox rlimits (and says so), as `grader batch` refuses otherwise.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.overhead import floor_command, timed  # noqa: E402
from grader.engine import curriculum, sandbox  # noqa: E402
from tests.mutants import apply, load_mutants  # noqa: E402


def make_class(root: Path, stage: curriculum.Stage, copies: int) -> Path:  # type: ignore[name-defined]
    subs = root / "class"
    for i in range(copies):
        learner = subs / f"learner{i:03d}"
        for ex in stage.exercises:
            target = learner / ex.relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            mutants = load_mutants(ex)
            if i % 2 and mutants:
                target.write_text(apply(mutants[i // 2 % len(mutants)], ROOT / "solutions" / ex.relpath))
            else:
                shutil.copy(ROOT / "solutions" / ex.relpath, target)
    return subs


def busy_cpu() -> float:
    """CPU seconds this machine has spent busy since boot, all cores (kernels are not all our
    children, so their time would not show in RUSAGE_CHILDREN; on a quiet machine this is ours)."""
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


def floor(stage: curriculum.Stage) -> float:  # type: ignore[name-defined]
    """One submission's unavoidable cost: a kernel per exercise, cores at a time, plus its imports."""
    return timed(floor_command(list(stage.exercises), len(os.sched_getaffinity(0))))


@dataclass
class Run:
    wall: float  # seconds
    peak: int  # peak RSS of the batch process itself, bytes
    cores: float  # cores this machine kept busy, on average
    grader_cpu: float  # CPU seconds of the grader side: the batch process and its workers, not the kernels


def run(subs: Path, out: Path, stage: str, jobs: int) -> Run:
    cpu0 = busy_cpu()
    cmd = [
        sys.executable,
        "-m",
        "grader",
        "batch",
        str(subs),
        "--stage",
        stage,
        "--output",
        str(out),
        "--jobs",
        str(jobs),
        "--sandbox",
        sandbox.pick_mode(None),
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    ps = psutil.Process(proc.pid)
    own: dict[int, float] = {}  # pid -> CPU seconds of that process alone (its children not counted)

    def watch() -> None:
        nonlocal peak
        while proc.poll() is None:
            try:
                peak = max(peak, ps.memory_info().rss)
                for p in [ps, *ps.children()]:  # the workers are the batch's direct children
                    if p.pid == ps.pid or "grader.instructor.worker" in " ".join(p.cmdline()):
                        t = p.cpu_times()
                        own[p.pid] = t.user + t.system
            except psutil.Error:
                pass
            time.sleep(0.05)

    t = threading.Thread(target=watch)
    t.start()
    code = proc.wait()
    t.join()
    if code != 0:
        raise SystemExit(f"batch failed with exit code {code}")
    wall = time.perf_counter() - t0
    return Run(wall, peak, (busy_cpu() - cpu0) / wall, sum(own.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", default="ml-basics")
    parser.add_argument("--copies", type=int, default=40)
    args = parser.parse_args()
    stage = curriculum.stage(args.stage)
    with tempfile.TemporaryDirectory() as tmp:
        subs = make_class(Path(tmp), stage, args.copies)
        small = make_class(Path(tmp) / "small", stage, 4)
        one = run(subs, Path(tmp) / "out1", stage.id, 1)
        two = run(subs, Path(tmp) / "out2", stage.id, 2)
        small_run = run(small, Path(tmp) / "out_small", stage.id, 2)
        floors = [floor(stage) for _ in range(3)]
    n = args.copies
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(
        f"stage {stage.id}: {len(stage.exercises)} exercises, {n} submissions, {os.cpu_count()} cores, "
        f"sandbox {sandbox.pick_mode(None)}"
    )
    for name, r in (("--jobs 1", one), ("--jobs 2", two)):
        print(f"{name}: {r.wall:7.1f} s  {60 * n / r.wall:6.1f} submissions/min  {r.cores:.2f} cores busy")
    cores = len(os.sched_getaffinity(0))
    print(
        f"speed-up: {one.wall / two.wall:.2f}x  (target >= 1.8x; --jobs 1 already keeps {one.cores:.2f} of "
        f"{cores} cores busy, so more jobs can gain at most {cores / one.cores:.2f}x)"
    )
    fl = statistics.median(floors)
    per = two.wall / n
    print(
        f"per submission at --jobs 2: {per:.2f} s; floor {fl:.2f} s (median of {[round(f, 2) for f in floors]}); "
        f"ratio {per / fl:.2f}x  (target <= 1.3x)"
    )
    busy = two.cores * two.wall / n
    print(
        f"where a submission's CPU goes at --jobs 2: {busy:.1f} CPU s in all, of which the grader side (batch "
        f"process and workers: pytest, the suites, reports) {two.grader_cpu / n:.1f} s; the rest is the kernels "
        "(start, imports, the learner's code)"
    )
    print(
        f"batch process peak RSS: {small_run.peak / 2**20:.0f} MB for 4 submissions, "
        f"{max(one.peak, two.peak) / 2**20:.0f} MB for {n} (flat means about equal)"
    )
    print(f"largest single child process (a grader or a kernel): {children / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
