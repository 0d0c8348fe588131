"""Misleading hints: how many hints shown to a learner point at a mistake they did not make.

Every mutant (tests/mutants/<stage>/<exercise>.toml) is graded; each `Hint:` line of each of its
failing tests is misleading unless it contains the mutant's `hint` or one of its `also_true`
substrings (the same check as tests/test_proofs.py). Also counts mutants that escape (full marks).

    python benchmarks/misleading_hints.py [--stage prerequisites --stage ml-basics] [--exercise kmeans] [-v]

Prints one line per misleading hint with -v, and a JSON summary per stage at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.engine import curriculum  # noqa: E402
from grader.engine.runner import grade  # noqa: E402
from tests.mutants import SOLUTIONS, apply, load_mutants, misleading_hints  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", action="append", help="a stage id (repeatable; default: every stage)")
    ap.add_argument("--exercise", action="append", help="only these exercise ids (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each misleading hint")
    args = ap.parse_args(argv)
    stages = [s for s in curriculum.load() if not args.stage or s.id in args.stage]
    summary: dict[str, dict[str, int]] = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="misleading-hints-") as tmp:
        for stage in stages:
            counts = {"mutants": 0, "escaped": 0, "misleading_hints": 0, "mutants_with_misleading_hints": 0}
            for ex in stage.exercises:
                if args.exercise and ex.id not in args.exercise:
                    continue
                for mutant in load_mutants(ex):
                    root = Path(tmp) / f"{stage.id}-{ex.id}-{mutant.name}"
                    shutil.copytree(SOLUTIONS / stage.id, root / stage.id)
                    (root / ex.relpath).write_text(apply(mutant, SOLUTIONS / ex.relpath), encoding="utf-8")
                    res = next(e for e in grade([ex], root, jobs=1).exercises if e.key == ex.key)
                    shutil.rmtree(root)
                    bad = misleading_hints(mutant, res)
                    counts["mutants"] += 1
                    counts["escaped"] += res.points >= res.max_points
                    counts["misleading_hints"] += len(bad)
                    counts["mutants_with_misleading_hints"] += bool(bad)
                    if args.verbose:
                        if res.points >= res.max_points:
                            print(f"{mutant.id}: ESCAPED (full marks)", flush=True)
                        for name, hint in bad:
                            print(f"{mutant.id}: {name}: Hint: {hint}", flush=True)
            summary[stage.id] = counts
    total = {k: sum(c[k] for c in summary.values()) for k in next(iter(summary.values()), {})}
    print(json.dumps({"stages": summary, "total": total, "seconds": round(time.perf_counter() - t0, 1)}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
