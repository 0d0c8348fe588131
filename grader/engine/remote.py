"""The grader's side of the learner's namespace: ``sub`` and remote references.

A :class:`Transport` carries one request to the agent (in a kernel, or in
process for ``check()``) and returns its reply. Everything a suite receives is
either a value decoded by the codec or a :class:`RemoteRef`; learner objects
never enter the grader process.
"""

from __future__ import annotations

import itertools
import json
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from grader.engine import codec


class Transport(Protocol):
    """Sends one request to the agent and returns the decoded reply."""

    kind: str  # "module" or "notebook"
    display: str  # the learner's file as they know it, e.g. "ml-basics/kmeans.py"

    def request(self, req: dict[str, Any]) -> dict[str, Any]: ...

    def missing_name_note(self) -> tuple[str, bool, bool]:
        """Why a name may be missing: (note, a placeholder is left, an earlier cell failed)."""
        ...


@dataclass(frozen=True)
class Frame:
    """One frame of the learner's own code."""

    file: str
    line: int | None
    function: str
    code: str
    cell: int | None = None  # a notebook's code cell, numbered from 1 as a learner counts them

    def where(self) -> str:
        if self.cell is not None:
            line = f", line {self.line}" if self.line else ""
            return f"{self.file} code cell {self.cell}{line}, in {self.function}"
        place = f"{self.file}:{self.line}" if self.line else self.file
        return f"{place}, in {self.function}"


def _text(value: Any, limit: int = 2000) -> str:
    """A string from a reply the learner's kernel may have forged: any type, any length."""
    try:
        out = value if isinstance(value, str) else "" if value is None else str(value)
    except Exception:
        out = "<unprintable>"
    return out[:limit]


def _number(value: Any) -> int | None:
    """A line or cell number from a reply, or None: never a string that could carry text."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9 else None


class LearnerError(Exception):
    """The learner's code raised. Carries the learner's own frames only.

    ``info`` comes from the learner's kernel (which can replace the agent), so every field
    is checked for its type and cut to a bounded length here.
    """

    def __init__(self, info: Any, action: str) -> None:
        if not isinstance(info, dict):
            info = {"type": "Error", "message": "the kernel sent an error the grader cannot read"}
        mro = info.get("mro", [])
        frames = info.get("frames", [])
        self.exception_type: str = _text(info.get("type", "Exception"), 200) or "Exception"
        self.exception_mro: list[str] = [_text(n, 200) for n in mro[:50]] if isinstance(mro, list) else []
        self.message: str = _text(info.get("message", ""))
        self.frames: list[Frame] = [
            Frame(
                file=_text(f.get("file", ""), 300),
                line=_number(f.get("line")),
                function=_text(f.get("function", ""), 200),
                code=_text(f.get("code", ""), 500),
                cell=_number(f.get("cell")),
            )
            for f in (frames[:50] if isinstance(frames, list) else [])
            if isinstance(f, dict)
        ]
        self.not_implemented: bool = info.get("not_implemented") is True
        self.action = action
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"{self.action} raised {self.exception_type}: {self.message}".rstrip(": ")]
        if self.frames:
            lines.append("Traceback (your code, most recent call last):")
            for fr in self.frames:
                lines.append(f"  {fr.where()}")
                if fr.code:
                    lines.append(f"    {fr.code}")
        return "\n".join(lines)

    @property
    def location(self) -> Frame | None:
        return self.frames[-1] if self.frames else None


class NotDefined(Exception):
    """A name the suite needs is not defined in the learner's namespace."""

    def __init__(
        self, name: str, kind: str, note: str = "", placeholder: bool = False, after_error: bool = False
    ) -> None:
        self.name = name
        self.placeholder = placeholder
        self.after_error = after_error
        text = f"`{name}` is not defined in your {kind}."
        super().__init__(f"{text} {note}".strip())


class LearnerTimeout(Exception):
    """The learner's code ran past its time limit."""


class KernelDied(Exception):
    """The learner's kernel is gone (it crashed, exited, or ran out of memory)."""


class LoadFailed(Exception):
    """The learner's file could not be loaded at all: every test needs it."""

    def __init__(self, message: str, cause: LearnerError | None = None, timed_out: bool = False) -> None:
        self.cause = cause
        self.timed_out = timed_out
        super().__init__(message)


class MissingAttribute(AttributeError):
    """A learner object lacks an attribute the suite reads (e.g. ``labels_`` after fit)."""


class GraderFault(Exception):
    """Our own fault: never the learner's, never silently a zero."""


FORGED = "the kernel sent the grader a reply it cannot read; does your code replace the grader's agent?"
_DEPTH = f"more than {codec.MAX_DEPTH} levels"


RECENT_VALUES = 16  # values of the current test kept to tell where an object came from (Session.source_of)


_GONE = object()  # a weakly kept value that has since been freed: it matches nothing


def _keep(value: Any) -> Callable[[], Any]:
    """What the session keeps of a value: a weak reference where one can be made (arrays, tensors, frames)."""
    try:
        ref = weakref.ref(value)
    except TypeError:  # None, numbers, strings, lists, dicts: kept as they are
        return lambda: value
    return lambda: _GONE if (alive := ref()) is None else alive


def _holds(value: Any, obj: Any, depth: int = 0) -> bool:
    """``value`` is ``obj``, or a container that holds it (a few levels down, the first items of each)."""
    if value is obj:
        return True
    if depth >= 3:
        return False
    if isinstance(value, dict):
        items: Any = itertools.chain.from_iterable(value.items())
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        return False
    return any(_holds(v, obj, depth + 1) for v in itertools.islice(items, 1000))


@dataclass
class Session:
    """A learner namespace reached through a transport; the target of ``sub``."""

    transport: Transport
    _callables: dict[str, RemoteRef] = field(default_factory=dict)
    calls: int = 0  # requests made since the current test began
    # (value, action) of the last values the current test got from the learner's code (see _keep)
    _recent: deque[tuple[Callable[[], Any], str]] = field(default_factory=lambda: deque(maxlen=RECENT_VALUES))

    def begin_test(self) -> None:
        """A test starts: count its calls afresh, and give it its full time budget."""
        self.calls = 0
        self._recent.clear()
        begin = getattr(self.transport, "begin_test", None)
        if begin is not None:
            begin()

    def source_of(self, obj: Any) -> str | None:
        """The action (e.g. "`KMeans.fit(...)`") by which the current test got ``obj`` from the learner's code.

        By identity: ``obj`` is a value a recent call returned, or inside one. None when no recent
        call gave it (the object is the suite's own).
        """
        for kept, action in reversed(self._recent):
            if _holds(kept(), obj):
                return str(action)
        return None

    def request(self, req: dict[str, Any], action: str) -> Any:
        __tracebackhide__ = True
        self.calls += 1
        reply = self.transport.request(req)
        if not isinstance(reply, dict):
            raise LearnerError({"type": "ValueError", "message": FORGED}, action)
        if "ok_json" in reply:
            text = reply["ok_json"]
            if not isinstance(text, str):
                raise LearnerError({"type": "ValueError", "message": FORGED}, action)
            if len(text) > codec.MAX_REPLY_CHARS:
                message = (
                    f"the value it returned is {len(text) >> 20} MB once encoded; the grader reads at most "
                    f"{codec.MAX_REPLY_CHARS >> 20} MB per value"
                )
                raise LearnerError({"type": "ValueError", "message": message}, action)
            try:
                value = codec.decode(json.loads(text), self._make_ref)
            except RecursionError:
                raise LearnerError(
                    {"type": "ValueError", "message": f"the value it returned is nested too deeply ({_DEPTH})"}, action
                ) from None
            except Exception as exc:  # the reply is the learner's: a forged one is their error, never ours
                raise LearnerError(
                    {"type": "ValueError", "message": f"the value it returned could not be read: {_text(exc, 300)}"},
                    action,
                ) from None
            self._recent.append((_keep(value), action))
            return value
        if "ok" in reply:
            return None
        if "error" in reply:
            raise LearnerError(reply["error"], action)
        if "missing" in reply:
            name = _text(reply["missing"], 200)
            note, placeholder, after_error = self.transport.missing_name_note()
            raise NotDefined(name, self.transport.kind, note, placeholder, after_error)
        if "missing_attr" in reply:
            kind, attr = _text(reply.get("type", ""), 200), _text(reply["missing_attr"], 200)
            raise MissingAttribute(f"Your {kind} object has no attribute `{attr}`.")
        raise LearnerError({"type": "ValueError", "message": FORGED}, action)

    def _make_ref(self, obj: dict[str, Any]) -> RemoteRef:
        return RemoteRef(self, obj)

    def get(self, name: str) -> Any:
        __tracebackhide__ = True
        cached = self._callables.get(name)
        if cached is not None:
            return cached
        value = self.request({"op": "get", "name": name}, f"reading `{name}`")
        if isinstance(value, RemoteRef) and value.is_callable:
            value._label = name
            self._callables[name] = value
        return value


def _encode_arg(value: Any) -> Any:
    def fallback(obj: Any) -> Any:
        if isinstance(obj, RemoteRef):
            return {codec.TAG: "ref", "id": obj._id}
        raise codec.CodecError(
            f"cannot send a {type(obj).__qualname__} to the learner's kernel; "
            f"supported: {codec.SUPPORTED}, or a RemoteRef"
        )

    return codec.encode(value, fallback)


class RemoteRef:
    """An object that lives in the learner's kernel: call it, read its attributes."""

    def __init__(self, session: Session, meta: dict[str, Any]) -> None:
        self._session = session
        ref_id = meta.get("id")
        if not isinstance(ref_id, int) or isinstance(ref_id, bool):
            raise codec.CodecError("a remote reference without a number")
        self._id = ref_id
        mro, methods = meta.get("mro", []), meta.get("methods", [])
        self.type_name: str = _text(meta.get("type", "object"), 200)
        self.type_mro: list[str] = [_text(n, 200) for n in mro[:100]] if isinstance(mro, list) else []
        self.is_callable: bool = meta.get("callable") is True
        self._methods: frozenset[str] = (
            frozenset(_text(m, 200) for m in methods[:1000]) if isinstance(methods, list) else frozenset()
        )
        self._label = self.type_name

    def __repr__(self) -> str:
        return f"<remote {self.type_name} #{self._id}>"

    def _call(
        self, op: str, action: str, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None, **extra: Any
    ) -> Any:
        __tracebackhide__ = True
        req = {
            "op": op,
            "target": {"id": self._id},
            "args": _encode_arg(list(args)),
            "kwargs": _encode_arg(dict(kwargs or {})),
            **extra,
        }
        return self._session.request(req, action)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        return _labelled(self._call("call", f"`{self._label}(...)`", args, kwargs), f"{self._label}(...)")

    def __getattr__(self, name: str) -> Any:
        __tracebackhide__ = True
        if name.startswith("__") or name.startswith("_"):
            raise AttributeError(name)
        if name in self._methods:
            return _Method(self, name)
        return _labelled(self._call("getattr", f"reading `{self._label}.{name}`", name=name), f"{self._label}.{name}")

    def __getitem__(self, key: Any) -> Any:
        __tracebackhide__ = True
        return self._call("getitem", f"`{self._label}[...]`", (key,))

    def __len__(self) -> int:
        __tracebackhide__ = True
        n = self._call("len", f"`len({self._label})`")
        if not isinstance(n, int):
            raise LearnerError({"type": "TypeError", "message": "__len__ did not return an int"}, "len()")
        return n

    def isinstance_of(self, qualified_name: str) -> bool:
        """True when the remote object's class or a base is ``qualified_name``."""
        return qualified_name in self.type_mro


def _labelled(value: Any, label: str) -> Any:
    """Name a remote object by how the suite reached it, for learner-facing messages."""
    if isinstance(value, RemoteRef) and value._label == value.type_name:
        value._label = label
    return value


def label(ref: RemoteRef, name: str) -> RemoteRef:
    """Set the name a learner sees for ``ref`` in messages (e.g. "KMeans" for a class from sub.eval)."""
    ref._label = name
    return ref


class _Method:
    def __init__(self, ref: RemoteRef, name: str) -> None:
        self._ref = ref
        self._name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        label = f"{self._ref._label}.{self._name}(...)"
        result = self._ref._call("callmethod", f"`{label}`", args, kwargs, name=self._name)
        # `fit` returning self keeps the object's own name; anything else is named by the call.
        return result if isinstance(result, RemoteRef) and result._id == self._ref._id else _labelled(result, label)

    def __repr__(self) -> str:
        return f"<remote method {self._ref.type_name}.{self._name}>"


class Sub:
    """The ``sub`` fixture: attribute access reads the learner's globals."""

    def __init__(self, session: Session) -> None:
        object.__setattr__(self, "_session", session)

    def __getattr__(self, name: str) -> Any:
        __tracebackhide__ = True
        if name.startswith("__"):
            raise AttributeError(name)
        return self._session.get(name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the learner's namespace is read-only from a suite")

    def has(self, name: str) -> bool:
        try:
            self._session.get(name)
        except NotDefined:
            return False
        return True

    def define(self, source: str) -> dict[str, Any]:
        """Run Python statements in a fresh namespace in the kernel; return what they defined, by name.

        For probes too long for a lambda: ``probe = sub.define("def probe(f): ...")["probe"]``.
        Names starting with ``_`` are not returned; values follow the usual rules (decoded or RemoteRef).
        """
        __tracebackhide__ = True
        defined = self._session.request({"op": "define", "source": source}, "defining grader helpers")
        if not isinstance(defined, dict):
            raise LearnerError({"type": "ValueError", "message": FORGED}, "defining grader helpers")
        return defined

    def eval(self, source: str) -> Any:
        """Build an object in the learner's kernel from Python source (e.g. a lambda)."""
        __tracebackhide__ = True
        return self._session.request({"op": "eval", "source": source}, "evaluating a grader expression")
