"""The grader's agent inside a learner kernel.

Its source is sent to the kernel as text, together with ``codec.py``, and runs
in a private module (``sys.modules["_grader_agent"]``), never in the learner's
namespace. It imports nothing from the ``grader`` package, so the kernel needs
no view of the grader or its hidden suites.

The agent only *serves values*: the grader asks for a name, a call or an
attribute, and the agent answers with an encoded value or a remote reference.
It never decides a grade. Loading (importing the module, describing a failed
cell) answers with one ``display_data`` message of the MIME type below, in the
cell the grader ran; each call from a suite is a Jupyter comm message on the
"grader" target, answered by a comm message.

``encode``, ``decode``, ``CodecError``, ``TAG`` and ``MAX_REPLY_CHARS`` come from codec.py,
which is executed into the same module first.

Every limit here (reply size, printed output) is a courtesy that gives an honest learner a
clear message; learner code can replace this module, so the grader enforces each limit
again on its own side.
"""

# ruff: noqa: F821  (names from codec.py are defined in the same module at run time)
from __future__ import annotations

import importlib.util
import inspect
import json
import linecache
import os
import sys
import traceback
from typing import Any

MIME = "application/x-grader-reply+json"
MAX_OUTPUT_CHARS = 2**20  # what the learner's code may print per cell or call before it is cut


class _CappedStream:
    """Wraps the kernel's stdout/stderr: past the cap, output is dropped with one notice.

    A learner printing a gigabyte would otherwise make the kernel send it all to the grader.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._left = MAX_OUTPUT_CHARS
        self._noted = False

    def write(self, text: str) -> int:
        if self._left > 0:
            part = text[: self._left]
            self._left -= len(part)
            self._inner.write(part)
        elif not self._noted:
            self._noted = True
            self._inner.write(f"\n[output cut by the grader after {MAX_OUTPUT_CHARS >> 20} MB]\n")
        return len(text)

    def reset(self) -> None:
        self._left = MAX_OUTPUT_CHARS
        self._noted = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def cap_output() -> None:
    """Cap sys.stdout and sys.stderr, and reset the caps before every cell the kernel runs."""
    from IPython import get_ipython

    streams = [_CappedStream(sys.stdout), _CappedStream(sys.stderr)]
    sys.stdout, sys.stderr = streams
    get_ipython().events.register("pre_run_cell", lambda *_: [s.reset() for s in streams])
    _state["streams"] = streams
    _publish({"ok": None})


_refs: dict[int, Any] = {}
_ids_by_object: dict[int, int] = {}
_state: dict[str, Any] = {"namespace": None, "kind": None, "path": None, "display": None, "cells": []}


def _publish(reply: dict[str, Any]) -> None:
    from IPython.display import publish_display_data

    publish_display_data({MIME: reply})


def _ref(obj: Any) -> dict[str, Any]:
    key = id(obj)
    ref_id = _ids_by_object.get(key)
    if ref_id is None or _refs.get(ref_id) is not obj:
        ref_id = len(_refs) + 1
        _refs[ref_id] = obj
        _ids_by_object[key] = ref_id
    cls = type(obj)
    methods = []
    for name in dir(cls):
        if name.startswith("__"):
            continue
        try:
            attr = inspect.getattr_static(cls, name)
        except AttributeError:
            continue
        if isinstance(attr, staticmethod | classmethod) or inspect.isfunction(attr) or inspect.ismethoddescriptor(attr):
            methods.append(name)
    mro = [f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__]
    return {
        TAG: "ref",
        "id": ref_id,
        "type": cls.__qualname__,
        "mro": mro,
        "callable": callable(obj),
        "methods": methods,
    }


def _resolve(obj: dict[str, Any]) -> Any:
    ref_id = int(obj["id"])
    if ref_id not in _refs:
        raise KeyError(f"unknown remote reference {ref_id}")
    return _refs[ref_id]


def _is_learner_file(filename: str) -> bool:
    if filename == _state["path"]:
        return True
    return _cell_of(filename) is not None


def _cell_of(filename: str) -> int | None:
    if not _state["cells"]:
        return None
    text = "".join(linecache.getlines(filename)).rstrip()
    if not text:
        return None
    for index, source in _state["cells"]:
        if source.rstrip() == text:
            return index
    return None


def _frames(tb: Any) -> list[dict[str, Any]]:
    frames = []
    for fs in traceback.extract_tb(tb):
        if not _is_learner_file(fs.filename):
            continue
        cell = _cell_of(fs.filename) if fs.filename != _state["path"] else None
        frames.append(
            {
                "file": _state["display"],
                "cell": cell,
                "line": fs.lineno,
                "function": fs.name,
                "code": (fs.line or "").strip(),
            }
        )
    return frames


def describe_exception(exc: BaseException) -> dict[str, Any]:
    """What the grader shows: the type, the message and the learner's own frames."""
    frames = _frames(exc.__traceback__)
    if isinstance(exc, SyntaxError) and exc.filename == _state["path"]:
        frames.append(
            {
                "file": _state["display"],
                "cell": None,
                "line": exc.lineno,
                "function": "<module>",
                "code": (exc.text or "").strip(),
            }
        )
    try:
        message = str(exc)
    except Exception:
        message = "<the exception's message could not be shown>"
    return {
        "type": type(exc).__qualname__,
        "mro": [c.__qualname__ for c in type(exc).__mro__],
        "message": message[:2000],
        "frames": frames,
        "not_implemented": isinstance(exc, NotImplementedError),
    }


def load_module(path: str, name: str, display: str) -> None:
    """Import the learner's module from ``path`` and serve its namespace."""
    _state.update(kind="module", path=os.path.realpath(path), display=display)
    if name in sys.modules or name in sys.stdlib_module_names:
        name = f"learner_{name}"  # never shadow a module something else imports
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {display}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        _state["namespace"] = module.__dict__
        spec.loader.exec_module(module)
    except BaseException as exc:
        _publish({"error": describe_exception(exc)})
        return
    _publish({"ok": None})


def use_notebook(display: str, cells: list[list[Any]]) -> None:
    """Serve the notebook's own namespace; ``cells`` maps cell sources to cell numbers."""
    from IPython import get_ipython

    _state.update(kind="notebook", path=None, display=display, cells=[(int(i), str(s)) for i, s in cells])
    _state["namespace"] = get_ipython().user_ns
    _publish({"ok": None})


def last_error() -> None:
    """Describe the exception that stopped the last notebook cell."""
    exc = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    if exc is None:
        _publish({"error": {"type": "Error", "message": "the cell failed", "frames": []}})
    else:
        _publish({"error": describe_exception(exc)})


def _lookup(name: str) -> Any:
    ns = _state["namespace"]
    if ns is None or name not in ns:
        raise NameError(name)
    return ns[name]


def serve(request_json: str) -> dict[str, Any]:
    """Serve one request from the grader and return the reply."""
    for stream in _state.get("streams", ()):
        stream.reset()
    request = json.loads(request_json)
    op = request["op"]
    try:
        if op == "get":
            try:
                value = _lookup(request["name"])
            except NameError:
                return {"missing": request["name"]}
        else:
            target = _resolve(request["target"]) if "target" in request else None
            args = decode(request.get("args", []), _resolve)
            kwargs = decode(request.get("kwargs", {TAG: "dict", "items": []}), _resolve)
            if op == "call":
                value = target(*args, **kwargs)
            elif op == "callmethod":
                value = getattr(target, request["name"])(*args, **kwargs)
            elif op == "getattr":
                try:
                    value = getattr(target, request["name"])
                except AttributeError:
                    return {"missing_attr": request["name"], "type": type(target).__qualname__}
            elif op == "getitem":
                value = target[args[0]]
            elif op == "len":
                value = len(target)
            elif op == "eval":
                value = eval(request["source"], {"__builtins__": __builtins__})  # noqa: S307 - grader-supplied
            elif op == "define":
                namespace: dict[str, Any] = {"__builtins__": __builtins__}
                exec(request["source"], namespace)  # noqa: S102 - grader-supplied
                value = {k: v for k, v in namespace.items() if not k.startswith("_")}
            else:
                raise ValueError(f"unknown op {op!r}")
    except BaseException as exc:
        return {"error": describe_exception(exc)}
    try:
        text = json.dumps(encode(value, _ref), allow_nan=False)
    except BaseException as exc:  # e.g. a lying __len__ or a recursive container
        return {"error": describe_exception(exc), "while": "encoding"}
    if len(text) > MAX_REPLY_CHARS:
        message = (
            f"the value it returned is {len(text) >> 20} MB once encoded; the grader reads at most "
            f"{MAX_REPLY_CHARS >> 20} MB per value"
        )
        return {"error": {"type": "ValueError", "mro": ["ValueError"], "message": message, "frames": []}}
    return {"ok_json": text}


COMM_TARGET = "grader"


def open_channel() -> None:
    """Serve requests as Jupyter comm messages: one round trip, without running a cell each time."""
    from IPython import get_ipython

    def on_open(comm: Any, _msg: Any) -> None:
        comm.on_msg(lambda msg: comm.send({"reply": serve(msg["content"]["data"]["request"])}))

    get_ipython().kernel.comm_manager.register_target(COMM_TARGET, on_open)
    _publish({"ok": None})
