"""Execute: one real Jupyter kernel per exercise, driven through nbclient.

All kernel I/O runs on one asyncio event loop in a background thread, so the
kernels of a stage start and load side by side while the suites (in the main
thread) use the ones that are ready. A notebook runs cell by cell exactly as
"Run All" does in Jupyter; a module is imported by the agent. Calls from the
suites are small code cells that ask the agent for a value.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import math
import os
import queue
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import nbformat
import zmq
import zmq.asyncio
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from grader.engine import intake, sandbox
from grader.engine.codec import MAX_REPLY_CHARS
from grader.engine.data import Exercise, Kind, Limits
from grader.engine.remote import FORGED, KernelDied, LearnerError, LearnerTimeout, LoadFailed

T = TypeVar("T")
_log = logging.getLogger(__name__)
# nbclient logs timeouts and dead kernels as errors; the report says it better, so keep them out of the terminal.
_nbclient_log = logging.getLogger("grader.nbclient")
_nbclient_log.addHandler(logging.NullHandler())
_nbclient_log.propagate = False

MIME = "application/x-grader-reply+json"
# Limits the grader enforces on what a kernel sends, whatever the agent in it does:
# - one message part (a reply, a display, a printed chunk) past this size is dropped by ZeroMQ
#   before it is read into the grader's memory (the kernel's connection is reset; the call
#   then runs out of time). A reply is JSON inside JSON: escaping at most doubles it.
MAX_MESSAGE_BYTES = 2 * MAX_REPLY_CHARS + 2**20
# - what a kernel displays or prints, all cells and calls of one exercise together, that the
#   grader keeps; past it, outputs are dropped as they arrive.
MAX_DISPLAY_CHARS = 16 * 2**20
CHECK_CELL_TAG = "grader-check"  # the cells `grader assign` puts after each task (grader/instructor/check_cells.py)
_HERE = Path(__file__).parent
_BOOT_SOURCES = (
    (_HERE / "codec.py").read_text(encoding="utf-8"),
    (_HERE / "_agent.py").read_text(encoding="utf-8"),
)
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TORCH_NUM_THREADS",
)


def _boot_code() -> str:
    return (
        "def _grader_boot(sources):\n"
        "    import sys, types\n"
        "    module = types.ModuleType('_grader_agent')\n"
        "    for name, source in zip(('<grader-codec>', '<grader-agent>'), sources):\n"
        "        exec(compile(source, name, 'exec'), module.__dict__)\n"
        "    sys.modules['_grader_agent'] = module\n"
        f"_grader_boot({list(_BOOT_SOURCES)!r})\n"
        "del _grader_boot\n"
    )


def _agent_call(function: str, *args: Any) -> str:
    return f"__import__('sys').modules['_grader_agent'].{function}({', '.join(repr(a) for a in args)})"


class LoopThread:
    """A private asyncio loop in a daemon thread; the main thread submits coroutines to it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(self._quiet)
        self._thread = threading.Thread(target=self.loop.run_forever, name="grader-kernels", daemon=True)
        self._thread.start()

    @staticmethod
    def _quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # Log without formatting a traceback: on CPython 3.11, formatting one here (it parses
        # source with `ast`) while the main thread compiles a suite can raise SystemError.
        _log.debug("kernel loop: %s %r", context.get("message"), context.get("exception"))

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.submit(coro).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()


def _capped_context() -> zmq.asyncio.Context:
    """A ZeroMQ context whose sockets refuse any message part over MAX_MESSAGE_BYTES."""
    ctx = zmq.asyncio.Context()
    ctx.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
    return ctx


class _Manager(AsyncKernelManager):
    """The kernel manager, whose clients use the capped ZeroMQ context.

    With bubblewrap the kernel binds its sockets in its own private folder (``sandbox_conn``); once
    it is launched, the manager and its clients connect through ``/proc/<pid>/root`` instead.
    """

    sandbox_conn: str | None = None

    def client(self, **kwargs: Any) -> Any:
        kwargs.setdefault("context", self.context)
        return super().client(**kwargs)

    async def _async_post_start_kernel(self, **kw: Any) -> None:
        process = getattr(self.provisioner, "process", None)
        if self.sandbox_conn is not None and process is not None:
            loop = asyncio.get_running_loop()
            seen = await loop.run_in_executor(None, sandbox.host_view, process.pid, self.sandbox_conn)
            if seen is None:
                raise KernelDied("the sandbox did not start")
            self.ip = f"{seen}/ipc"  # the kernel's own file says CONN_IN/ipc; this is the same folder
        await super()._async_post_start_kernel(**kw)


def _chars(content: Any) -> int:
    """How much text an output message carries (its strings, all levels)."""
    if isinstance(content, str):
        return len(content)
    if isinstance(content, dict):
        return sum(_chars(k) + _chars(v) for k, v in content.items())
    if isinstance(content, list):
        return sum(_chars(v) for v in content)
    return 8


class _Client(NotebookClient):
    """nbclient, keeping at most MAX_DISPLAY_CHARS of what an exercise's kernel displays.

    The agent's replies are always kept (each is bounded by the socket's cap); an error is
    kept as its name and a short message, which is all the grader reads of it.
    """

    displayed = 0

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        content = msg.get("content")
        if not isinstance(content, dict):
            return None
        kind = msg.get("msg_type")
        data = content.get("data")
        if kind == "display_data" and isinstance(data, dict) and MIME in data:
            kept: NotebookNode | None = super().output(outs, msg, display_id, cell_index)
            return kept
        if kind == "error":
            err: NotebookNode = nbformat.v4.new_output(
                "error", ename=str(content.get("ename", ""))[:200], evalue=str(content.get("evalue", ""))[:2000]
            )
            outs.append(err)
            return err
        self.displayed += _chars(content)
        if self.displayed > MAX_DISPLAY_CHARS:
            return None
        shown: NotebookNode | None = super().output(outs, msg, display_id, cell_index)
        return shown


class _Specs(KernelSpecManager):
    """A kernelspec for the limited launcher, without touching the user's kernelspecs."""

    def __init__(self, argv: list[str]) -> None:
        super().__init__()
        self.argv = argv

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        # "message": interrupts travel as control messages, so they reach a kernel inside a sandbox
        # whose process group the grader cannot signal.
        return KernelSpec(argv=self.argv, display_name="grader", language="python", interrupt_mode="message")


# The only variables of the grader's environment a kernel sees: locale, time zone, GPU choice.
# Everything else (GITHUB_TOKEN, UPSTREAM_TOKEN, cloud keys, PYTHONPATH) stays with the grader.
PASSED_THROUGH = ("LANG", "LC_ALL", "TZ", "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER")


def kernel_env(workdir: Path) -> dict[str, str]:
    """The kernel's whole environment: an allow-list, never a copy of the grader's environment."""
    env = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
    env.setdefault("LANG", "C.UTF-8")
    env["PATH"] = os.pathsep.join(
        dict.fromkeys([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])
    )
    for var in THREAD_VARS:
        env[var] = "1"
    env.update(
        MPLBACKEND="Agg",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED="0",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        HOME=str(workdir),
    )
    return env


TMP_PREFIX = "grader-"
_TMP_NAME = re.compile(rf"{TMP_PREFIX}(\d+)-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def sweep_stale_temporaries(root: Path | None = None) -> list[Path]:
    """Remove the kernel folders of graders that are gone (killed before they could clean up)."""
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(f"{TMP_PREFIX}*"):
        match = _TMP_NAME.match(path.name)
        try:
            st = path.lstat()
        except OSError:
            continue
        if match is None or not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or _alive(int(match[1])):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def cell_label(number: int, source: str) -> str:
    """A code cell as a learner finds it in Jupyter: its number among the code cells, and its first line.

    Markdown cells are not counted. After Run All in a fresh kernel, with no empty code cell
    before it, the number is also the cell's execution count, ``[number]:``.
    """
    first = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    if len(first) > 60:
        first = first[:57] + "..."
    return f"code cell {number} (`{first}`)" if first else f"code cell {number}"


def _is_placeholder(source: str) -> bool:
    code = [ln for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return [ln.strip() for ln in code] == ["..."]


class KernelSession:
    """One learner kernel: started, loaded with the learner's file, then serving calls."""

    def __init__(
        self, exercise: Exercise, submission: Path, datasets: Path | None = None, isolation: str = sandbox.RLIMITS
    ) -> None:
        self.sandbox = isolation
        self.cgroup: sandbox.Cgroup | None = None
        self.kernel_workdir = ""
        self.exercise = exercise
        self.kind = exercise.kind.value
        self.display = exercise.relpath
        self.limits: Limits = exercise.limits
        self._submission = submission
        self._datasets = datasets
        # The grader's pid in the name: a folder left by a grader that was killed is swept on the next start.
        self._tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))
        self.workdir = self._tmp / "submission" / exercise.stage
        self.client: NotebookClient | None = None
        self.placeholders: list[int] = []  # code-cell numbers (1-based, markdown not counted)
        self.cell_labels: dict[int, str] = {}
        self.failed_cell: tuple[int, LearnerError] | None = None
        self.dead = False
        self.pid: int | None = None
        self._comm_id = ""
        self._km: AsyncKernelManager | None = None
        # Seconds spent in calls into the learner's code: this test's, and the exercise's.
        self.test_seconds = 0.0
        self.exercise_seconds = 0.0

    # --- life cycle -------------------------------------------------------------------------
    async def start(self) -> None:
        stage = self.exercise.stage
        try:  # plain files and folders only, never through a link, within the stage folder's caps
            intake.copy_stage(self._submission, stage, self.workdir)
        except intake.Refused as exc:
            raise LoadFailed(str(exc)) from None
        conn_dir = self._tmp / "conn"  # the connection file; the IPC sockets too, without bubblewrap
        conn_dir.mkdir()
        self.cgroup = sandbox.Cgroup.create()
        lim = self.limits
        launch = {
            "rlimits": {"as": lim.memory_mb * 2**20, "cpu": lim.cpu_seconds, "fsize": 512 * 2**20},
            "cgroup": str(self.cgroup.path) if self.cgroup is not None else None,
        }
        argv = [sys.executable, str(_HERE / "_launch.py"), json.dumps(launch), "--"]
        if self.sandbox == sandbox.BWRAP:
            env = kernel_env(self.workdir)
            argv += [*sandbox.bwrap_argv(self._tmp, stage, self._datasets, conn_dir, env), "--"]
            argv += sandbox.copy_then_exec(stage)
        elif self._datasets is not None and self._datasets.is_dir():
            (self._tmp / "datasets").symlink_to(self._datasets, target_is_directory=True)
        argv += [
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
            "--HistoryManager.enabled=False",
        ]
        self.kernel_workdir = sandbox.kernel_workdir(self.sandbox, self._tmp, stage)
        # IPC sockets in the private temp folder: no TCP port is opened for the kernel.
        bwrap = self.sandbox == sandbox.BWRAP
        km = _Manager(
            context=_capped_context(),
            kernel_name="grader",
            kernel_spec_manager=_Specs(argv),
            transport="ipc",
            # Under bubblewrap the sockets are made in the sandbox's private CONN_IN, not in a host folder.
            ip=f"{sandbox.CONN_IN}/ipc" if bwrap else str(conn_dir / "ipc"),
            connection_file=str(conn_dir / "kernel.json"),
        )
        if bwrap:
            km.sandbox_conn = sandbox.CONN_IN
        nb = nbformat.v4.new_notebook()
        self.client = _Client(
            nb,
            km=km,
            allow_errors=True,
            shutdown_kernel="immediate",
            startup_timeout=60,
            iopub_timeout=15,  # the wait for a cell's last outputs after its reply: a flood takes a while
            record_timing=False,
            coalesce_streams=False,
            resources={"metadata": {"path": str(self.workdir)}},
            log=_nbclient_log,
        )
        with open(self._tmp / "kernel.log", "wb") as log:
            await self.client.async_start_new_kernel(
                cwd=str(self.workdir), env=kernel_env(self.workdir), stdout=subprocess.DEVNULL, stderr=log
            )
        self._km = km
        kc = await self.client.async_start_new_kernel_client()
        provisioner = getattr(km, "provisioner", None)
        self.pid = getattr(getattr(provisioner, "process", None), "pid", None)
        await self._run(_boot_code(), timeout=30)
        await self._agent(_agent_call("open_channel"), 30)
        await self._agent(_agent_call("cap_output"), 30)
        self._comm_id = uuid.uuid4().hex
        content = {"comm_id": self._comm_id, "target_name": "grader", "data": {}}
        kc.shell_channel.send(kc.session.msg("comm_open", content))

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            _cancel_leftover_polls(client)
            with contextlib.suppress(Exception):
                await client._async_cleanup_kernel()
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        if self.cgroup is not None:
            self.cgroup.kill()  # daemons that left the process group
        km, self._km = self._km, None
        if km is not None:
            km.context.destroy(linger=0)
        shutil.rmtree(self._tmp, ignore_errors=True)

    # --- executing code -----------------------------------------------------------------------
    async def _run(
        self, source: str, timeout: float, index: int | None = None, store_history: bool = False
    ) -> NotebookNode:
        """Execute one cell; raise LearnerTimeout or KernelDied. Errors stay in the outputs."""
        client = self.client
        if client is None or self.dead:
            raise KernelDied("the kernel had already stopped")
        cell = nbformat.v4.new_code_cell(source)
        nb = client.nb
        if index is None:
            nb.cells = [cell]
            index = 0
        client.timeout = max(1, math.ceil(timeout))
        try:
            return await client.async_execute_cell(cell, index, store_history=store_history)
        except CellTimeoutError:
            # nbclient leaves its output reader running after a timeout; it would steal the
            # next call's messages, so stop it before anything else reads the channel.
            _cancel_leftover_polls(client)
            await self._recover_after_timeout()
            raise LearnerTimeout(f"stopped after {client.timeout} s") from None
        except DeadKernelError:
            self.dead = True
            raise KernelDied("the kernel died") from None
        except (asyncio.CancelledError, KernelDied, LearnerTimeout):
            raise
        except Exception as exc:  # a message the learner's kernel forged, that nbclient could not take
            _log.info("kernel %s: unreadable message while running a cell: %r", self.display, exc)
            raise LearnerError({"type": "ValueError", "message": FORGED}, "Running your code") from None

    async def _recover_after_timeout(self) -> None:
        """Interrupt the runaway code; if the kernel will not answer, kill it."""
        if self.client is None or self.client.km is None:
            return
        with contextlib.suppress(Exception):
            await ensure_async(self.client.km.interrupt_kernel())
        try:
            await asyncio.wait_for(self._ping(), timeout=3)
        except Exception:
            self.dead = True
            await self.close()

    async def _ping(self) -> None:
        """Wait until the kernel answers a kernel_info request again."""
        if self.client is None or self.client.kc is None:
            raise KernelDied("the kernel had already stopped")
        kc = self.client.kc
        msg_id = kc.kernel_info()
        while True:
            reply = await kc.shell_channel.get_msg(timeout=3)
            if reply["parent_header"].get("msg_id") == msg_id:
                return

    @staticmethod
    def _reply(cell: NotebookNode) -> dict[str, Any] | None:
        replies = [
            o["data"][MIME]
            for o in cell.outputs
            if o.get("output_type") == "display_data" and MIME in o.get("data", {})
        ]
        last = replies[-1] if replies else None
        return dict(last) if isinstance(last, dict) else None

    async def _agent(self, code: str, timeout: float) -> dict[str, Any]:
        cell = await self._run(code, timeout)
        reply = self._reply(cell)
        if reply is None:
            errors = [o for o in cell.outputs if o.get("output_type") == "error"]
            what = f"{errors[0].get('ename')}: {errors[0].get('evalue')}" if errors else "no reply"
            raise KernelDied(
                f"the kernel stopped answering the grader ({what}); does your code exit, change sys.modules, "
                "or print or display a flood of output?"
            )
        return reply

    # --- loading ------------------------------------------------------------------------------
    async def load(self) -> None:
        """Run the notebook or import the module, within the exercise's time limit."""
        deadline = time.monotonic() + self.limits.time_limit
        path = self.workdir / self.exercise.file
        if self.exercise.kind is Kind.MODULE:
            in_kernel = f"{self.kernel_workdir}/{self.exercise.file}"
            reply = await self._agent(
                _agent_call("load_module", in_kernel, path.stem, self.display), self.limits.time_limit
            )
            if "error" in reply:
                err = LearnerError(reply["error"], f"Importing {self.display}")
                raise LoadFailed(err.render(), err)
            return
        nb = read_notebook(path, self.display)
        # (index among all cells, for nbclient; number among code cells, as a learner counts them; source)
        cells = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        numbered = [(n, i, src) for n, (i, src) in enumerate(cells, start=1)]
        self.cell_labels = {n: cell_label(n, src) for n, _, src in numbered}
        self.placeholders = [n for n, _, src in numbered if _is_placeholder(src)]
        await self._agent(_agent_call("use_notebook", self.display, [[n, src] for n, _, src in numbered]), 30)
        if self.client is None:
            raise KernelDied("the kernel had already stopped")
        self.client.nb = nb
        for number, index, source in numbered:
            if not source.strip() or CHECK_CELL_TAG in nb.cells[index].metadata.get("tags", []):
                continue  # check cells run `check()`, for the learner in Jupyter: never in a graded run
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LearnerTimeout(f"your notebook ran past its {self.limits.time_limit:g} s limit")
            cell = await self._run(source, remaining, index=index, store_history=True)
            if any(o.get("output_type") == "error" for o in cell.outputs):
                info = await self._agent(_agent_call("last_error"), 30)
                label = self.cell_labels[number]
                self.failed_cell = (number, LearnerError(info.get("error", {}), label[0].upper() + label[1:]))
                break
        self.client.nb = nbformat.v4.new_notebook()

    def begin_test(self) -> None:
        """A new test starts: its budget for calls into the learner's code is full again."""
        self.test_seconds = 0.0

    def _call_limit(self) -> tuple[float, str]:
        """Seconds the next call may take, and how to say which limit stopped it."""
        lim = self.limits
        options = [
            (lim.call_time_limit, f"stopped after {lim.call_time_limit:g} s"),
            (
                lim.test_time_limit - self.test_seconds,
                f"this test's calls into your code took more than {lim.test_time_limit:g} s together",
            ),
            (
                lim.exercise_time_limit - self.exercise_seconds,
                f"the calls into your code for {self.display} took more than {lim.exercise_time_limit:g} s together",
            ),
        ]
        return min(options, key=lambda o: o[0])

    async def request(self, req: dict[str, Any]) -> dict[str, Any]:
        """One call from a suite: a comm message to the agent, answered by a comm message.

        The call counts against the call, test and exercise budgets, however it ends.
        """
        limit, why = self._call_limit()
        if limit <= 0:
            raise LearnerTimeout(why)
        t0 = time.monotonic()
        try:
            return await self._request(req, limit, why)
        finally:
            spent = time.monotonic() - t0
            self.test_seconds += spent
            self.exercise_seconds += spent

    async def _request(self, req: dict[str, Any], limit: float, why: str) -> dict[str, Any]:
        client = self.client
        if client is None or client.kc is None or client.km is None or self.dead:
            raise KernelDied("the kernel had already stopped")
        kc = client.kc
        data = {"request": json.dumps(req, allow_nan=False)}
        msg = kc.session.msg("comm_msg", {"comm_id": self._comm_id, "data": data})
        kc.shell_channel.send(msg)
        msg_id = msg["header"]["msg_id"]
        deadline = time.monotonic() + limit
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                await self._recover_after_timeout()
                raise LearnerTimeout(why)
            try:
                reply = await kc.iopub_channel.get_msg(timeout=min(remaining, 0.5))
            except queue.Empty:
                if not await ensure_async(client.km.is_alive()):
                    self.dead = True
                    raise KernelDied("the kernel died") from None
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # not a Jupyter message: signed, but forged by the learner's code
                _log.info("kernel %s: unreadable message: %r", self.display, exc)
                continue
            parent = reply.get("parent_header")
            if not isinstance(parent, dict) or parent.get("msg_id") != msg_id or reply.get("msg_type") != "comm_msg":
                continue
            try:
                answer = reply["content"]["data"]["reply"]
            except (KeyError, TypeError):
                answer = None
            if not isinstance(answer, dict):
                raise LearnerError({"type": "ValueError", "message": FORGED}, "Calling your code")
            return answer


def _cancel_leftover_polls(client: NotebookClient) -> None:
    """nbclient leaves its kernel-alive poll running after a timeout; stop it before the client goes."""
    current = asyncio.current_task()
    for task in asyncio.all_tasks():
        if task is current:
            continue
        coro = task.get_coro()
        frame = getattr(coro, "cr_frame", None)
        if frame is not None and frame.f_locals.get("self") is client:
            task.cancel()


_NBFORMAT_HINT = re.compile(r"\s+")


def read_notebook(path: Path, display: str) -> NotebookNode:
    """Read and validate a learner's notebook, with errors in the learner's terms."""
    try:
        raw = intake.read_bytes(path, intake.MAX_NOTEBOOK_BYTES).decode("utf-8")
    except intake.Refused as exc:
        raise LoadFailed(str(exc)) from None
    except UnicodeDecodeError:
        raise LoadFailed(f"{display} is not a text file; is it really a notebook?") from None
    try:
        data = json.loads(raw)
    except RecursionError:
        raise LoadFailed(f"{display} is nested too deeply to be a notebook; restore it with `git checkout`.") from None
    except json.JSONDecodeError as exc:
        raise LoadFailed(
            f"{display} is not valid notebook JSON (line {exc.lineno}: {exc.msg}); "
            "was it edited outside Jupyter? Restore it with `git checkout` and redo your edits."
        ) from None
    major = data.get("nbformat") if isinstance(data, dict) else None
    if major is None:
        raise LoadFailed(
            f"{display} is not a Jupyter notebook (it has no `nbformat` field); "
            "restore it with `git checkout`, or run `grader reset`, and redo your edits in Jupyter."
        )
    if major != 4:
        raise LoadFailed(
            f"{display} is in notebook format {major}; open and save it in a current Jupyter to convert it to format 4."
        )
    try:
        nb: NotebookNode = nbformat.reads(raw, as_version=4)
        nbformat.validate(nb)
    except RecursionError:
        raise LoadFailed(f"{display} is nested too deeply to be a notebook; restore it with `git checkout`.") from None
    except Exception as exc:
        detail = _NBFORMAT_HINT.sub(" ", str(exc))[:300]
        raise LoadFailed(f"{display} is not a valid notebook: {detail}") from None
    return nb
