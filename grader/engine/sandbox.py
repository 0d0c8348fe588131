"""Isolation of a learner kernel: bubblewrap where it works, rlimits everywhere.

With bubblewrap the kernel sees a read-only system (/usr, /etc and the Python
installation), a private size-limited working folder holding a copy of the
exercise folder, the datasets read-only, a private /tmp, no network, and its
own PID namespace: when the kernel goes, every process it started goes too.
It has no view of the repository, the hidden suites, solutions/, other
submissions or the grader's output.

Without bubblewrap (not installed, or not permitted here) the kernel runs
under rlimits only, in a temporary copy of the exercise folder, and the
report says so.

In both modes the launcher (``_launch.py``) sets rlimits on address space, CPU
time and file size, and, where the cgroup v1 ``pids`` controller is writable,
puts the kernel in a cgroup of its own with a process limit (a fork bomb
stops there) that the grader empties when the kernel is closed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

BWRAP = "bubblewrap"
RLIMITS = "rlimits"
MODES = ("auto", BWRAP, RLIMITS)
ENV_VAR = "GRADER_SANDBOX"

# Where things are inside the sandbox: the layout mirrors the host's temp folder, so a
# learner's `../../datasets/x.csv` resolves the same way inside and outside.
ROOT_IN = "/grader"
SOURCE_IN = "/grader-source"
PIDS_CGROUP = Path("/sys/fs/cgroup/pids")
MAX_PROCESSES = 256
WORKDIR_BYTES = 512 * 2**20
# The kernel's IPC sockets live in a private, size-capped folder inside the sandbox; the grader
# reaches them from outside through /proc/<pid>/root (see kernel.py). The kernel has no writable
# view of any host folder.
CONN_IN = "/grader-conn"
CONN_BYTES = 2**20
TMP_BYTES = 256 * 2**20  # the sandbox's private /tmp


@functools.cache
def bubblewrap_works() -> bool:
    """True when bwrap is installed and may create namespaces here."""
    exe = shutil.which("bwrap")
    if exe is None:
        return False
    probe = [exe, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0  # noqa: S603
    except (OSError, subprocess.SubprocessError):
        return False


def pick_mode(requested: str | None = None) -> str:
    """The isolation to use: the request (flag or GRADER_SANDBOX), else bubblewrap when it works."""
    mode = requested or os.environ.get(ENV_VAR) or "auto"
    if mode not in MODES:
        raise ValueError(f"unknown sandbox {mode!r}; choose one of {', '.join(MODES)}")
    if mode == "auto":
        return BWRAP if bubblewrap_works() else RLIMITS
    if mode == BWRAP and not bubblewrap_works():
        raise RuntimeError("bubblewrap was asked for but does not work here (install it: apt-get install bubblewrap)")
    return mode


def describe(mode: str) -> str:
    base = "rlimits (address space, CPU time, file size); own process group and session"
    if pids_cgroup_available():
        base += f"; at most {MAX_PROCESSES} processes (cgroup)"
    if mode == BWRAP:
        return (
            f"bubblewrap: no network, read-only system, private {WORKDIR_BYTES >> 20} MB working folder, "
            f"private {TMP_BYTES >> 20} MB /tmp and {CONN_BYTES >> 20} MB folder for the kernel's sockets, "
            "environment by allow-list, "
            f"datasets read-only, no view of suites or solutions, own PID namespace; {base}"
        )
    return f"{base}. Warning: bubblewrap is not available, so the kernel can see and write files as you can"


@functools.cache
def pids_cgroup_available() -> bool:
    probe = PIDS_CGROUP / f"grader-probe-{os.getpid()}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError:
        return False
    return True


@dataclass
class Cgroup:
    """A pids cgroup for one kernel; the launcher joins it, ``kill`` empties and removes it."""

    path: Path

    @classmethod
    def create(cls) -> Cgroup | None:
        if not pids_cgroup_available():
            return None
        path = PIDS_CGROUP / f"grader-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(MAX_PROCESSES))
        except OSError:
            return None
        return cls(path)

    def kill(self) -> None:
        for _ in range(50):
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                return
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.path.rmdir()


def _python_roots() -> list[str]:
    """Folders the kernel's Python needs: the interpreter, the standard library, site-packages."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    exe = Path(sys.executable).resolve()
    roots.add(str(exe.parent.parent))
    return sorted(r for r in roots if Path(r).is_dir())


def bwrap_argv(
    host_tmp: Path, stage: str, datasets: Path | None, conn_dir: Path, env: dict[str, str] | None = None
) -> list[str]:
    """bubblewrap options that build the kernel's view of the world.

    ``--clearenv`` drops whatever reached bubblewrap's own environment (jupyter_client adds
    variables of its own); the kernel starts with exactly ``env``, HOME set to its folder.
    """
    argv = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    for top in ("usr", "etc", "opt"):
        if Path(f"/{top}").is_dir():
            argv += ["--ro-bind", f"/{top}", f"/{top}"]
    for link in ("bin", "lib", "lib64", "sbin"):
        p = Path(f"/{link}")
        if p.is_symlink():
            argv += ["--symlink", os.readlink(p), f"/{link}"]
        elif p.is_dir():
            argv += ["--ro-bind", str(p), str(p)]
    # A private /tmp first: a bind below /tmp made before it (a venv in a checkout under /tmp) would be hidden.
    # A tmpfs is memory: uncapped, a kernel could fill half the host's RAM through /tmp.
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]  # noqa: S108
    for root in _python_roots():
        argv += ["--ro-bind", root, root]
    argv += ["--ro-bind", str(host_tmp / "submission" / stage), f"{SOURCE_IN}/{stage}"]
    argv += ["--size", str(WORKDIR_BYTES), "--tmpfs", f"{ROOT_IN}/submission"]
    if datasets is not None and datasets.is_dir():
        argv += ["--ro-bind", str(datasets.resolve()), f"{ROOT_IN}/datasets"]
    argv += ["--size", str(CONN_BYTES), "--tmpfs", CONN_IN]
    # The connection file, read-only at the path jupyter_client names on the kernel's command line.
    argv += ["--ro-bind", str(conn_dir / "kernel.json"), str(conn_dir / "kernel.json")]
    argv += ["--chdir", "/", "--clearenv"]
    for name, value in sorted((env or {}).items()):
        if name != "HOME":
            argv += ["--setenv", name, value]
    # JPY_PARENT_PID is never passed: inside a PID namespace the kernel's parent is PID 1, which
    # ipykernel would take for a dead parent.
    argv += ["--setenv", "HOME", f"{ROOT_IN}/submission/{stage}"]
    return argv


def host_view(pid: int, inside: str, timeout: float = 20.0) -> str | None:
    """``inside`` (a path in the sandbox of the process tree under ``pid``) as the host reaches it.

    A sandboxed process's mount namespace is visible at ``/proc/<pid>/root``; bubblewrap's first
    child sets it up, so wait until the path exists there. None when it never appears.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return None  # the sandbox is gone
        for child in children:
            path = f"/proc/{child}/root{inside}"
            if os.path.isdir(path):
                return path
        time.sleep(0.02)
    return None


def kernel_workdir(mode: str, host_tmp: Path, stage: str) -> str:
    """The kernel's working folder as the kernel sees it."""
    if mode == BWRAP:
        return f"{ROOT_IN}/submission/{stage}"
    return str(host_tmp / "submission" / stage)


def copy_then_exec(stage: str) -> list[str]:
    """Inside the sandbox: copy the read-only source into the private folder, then start the kernel."""
    script = f'cp -a {SOURCE_IN}/{stage} {ROOT_IN}/submission/ && cd {ROOT_IN}/submission/{stage} && exec "$@"'
    return ["/bin/sh", "-c", script, "sh"]
