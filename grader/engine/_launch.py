"""Start a learner kernel under resource limits.

Run as a plain script (never imported from the grader package inside the
kernel): ``python _launch.py SPEC_JSON -- [bwrap ... --] python -m ipykernel_launcher ...``.
It joins the kernel's cgroup (if any), sets the rlimits, then replaces itself
with the rest of the command line.
"""

import json
import os
import resource
import sys


def main() -> None:
    spec = json.loads(sys.argv[1])
    cmd = sys.argv[sys.argv.index("--") + 1 :]
    if spec.get("cgroup"):
        # Join the kernel's own pids cgroup: every process it starts is counted and can be killed.
        with open(os.path.join(spec["cgroup"], "cgroup.procs"), "w") as procs:
            procs.write(str(os.getpid()))
    for name, value in spec["rlimits"].items():
        which = getattr(resource, f"RLIMIT_{name.upper()}")
        _, hard = resource.getrlimit(which)
        # CPU: SIGXCPU at the soft limit, SIGKILL a little later; others: one hard wall.
        soft, new_hard = int(value), int(value) + (5 if name == "cpu" else 0)
        if hard != resource.RLIM_INFINITY:
            soft, new_hard = min(soft, hard), min(new_hard, hard)
        resource.setrlimit(which, (soft, new_hard))
    os.execvp(cmd[0], cmd)  # noqa: S606 - replacing this launcher with the kernel is the point


if __name__ == "__main__":
    main()
