"""Intake: read a submission as data, before any kernel exists.

A submission is attacker input from its first byte. Git stores symbolic links, so a
learner can commit ``kmeans.py -> ../../grader/suites/...`` or ``data -> /dev/zero``;
anything that followed such a link in the grader's process (a copy, a fingerprint, a
notebook read) would read what the learner may not see, or block, or fill memory.

So every file of a submission is reached through directory file descriptors, one
component at a time, each opened with ``O_NOFOLLOW`` (a link is never followed, not even
in a parent folder), a file with ``O_NONBLOCK`` (a FIFO cannot block), and checked with
``fstat`` on the descriptor actually read (a file swapped after the walk is caught):

- a symbolic link, device, FIFO or socket anywhere in a stage folder is never opened and
  never copied. When it is an exercise's own file, that exercise is refused with a sentence
  naming the file; anywhere else in the folder, the exercises beside it are graded from a
  copy without it, and their report names what was left out. (Copying a link "as a link
  that only resolves inside the copy" was the other choice; refusing needs no reasoning
  about where a link points, and a file swapped for a link after the walk is caught by
  the same ``O_NOFOLLOW``.)
- a stage folder is capped in total size, file count and depth before anything is copied;
- a read never returns more than the limit its caller names.

``__pycache__``, ``.ipynb_checkpoints`` and ``*.pyc`` are skipped without being opened.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from grader.engine.data import Exercise

MAX_STAGE_BYTES = 256 * 2**20  # what one stage folder may hold (the kernel's working folder is 512 MB)
MAX_STAGE_FILES = 2000
MAX_DEPTH = 16  # folders inside a stage folder
MAX_NOTEBOOK_BYTES = MAX_STAGE_BYTES
SKIPPED_DIRS = frozenset({"__pycache__", ".ipynb_checkpoints"})
SKIPPED_SUFFIXES = (".pyc",)
_CHUNK = 2**20

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_LINK_ERRNOS = (errno.ELOOP, errno.EMLINK)  # what open(O_NOFOLLOW) says about a link


class Refused(Exception):
    """The grader will not read this part of a submission; the message names the file and says why."""


class TooLarge(Refused):
    """A file or folder over the size the grader reads."""


@dataclass(frozen=True)
class StageFolder:
    """What intake found in ``<submission>/<stage>``: its plain files, or why it is refused."""

    stage: str
    files: frozenset[str]  # paths relative to the stage folder, "/"-separated
    total_bytes: int
    refusal: str | None = None  # the whole folder is refused (a cap, or the folder is a link): why
    exists: bool = True
    left_out: dict[str, str] = field(default_factory=dict)  # relative path -> why it is not copied


@dataclass(frozen=True)
class Intake:
    """The result of :func:`scan`: per stage folder, what may be copied or why not."""

    root: Path
    stages: dict[str, StageFolder]

    def refusal(self, exercise: Exercise) -> str | None:
        """Why ``exercise`` cannot be graded from this submission, or None."""
        folder = self.stages.get(exercise.stage)
        if folder is None:
            return None
        return folder.refusal or folder.left_out.get(exercise.file)

    def notes(self, exercise: Exercise) -> list[str]:
        """What was left out of the copy of the exercise's folder, other than its own file."""
        folder = self.stages.get(exercise.stage)
        if folder is None:
            return []
        return [f"{why} The grader left it out." for rel, why in folder.left_out.items() if rel != exercise.file]

    def has(self, exercise: Exercise) -> bool:
        """True when the exercise's file is a plain file of an accepted stage folder."""
        folder = self.stages.get(exercise.stage)
        return folder is not None and folder.refusal is None and exercise.file in folder.files


def _what(mode: int) -> str | None:
    """How a learner would name a file that is not a plain file or folder; None for those two."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return "not a plain file"


def _refuse_special(display: str, mode: int, thing: str = "file") -> Refused:
    what = _what(mode) or "not a plain file"
    if what == "a symbolic link":
        return Refused(f"`{display}` is a symbolic link; submit the {thing} itself.")
    return Refused(f"`{display}` is {what}; a submission holds plain files and folders only.")


def _skipped(name: str, is_dir: bool) -> bool:
    return name in SKIPPED_DIRS if is_dir else name.endswith(SKIPPED_SUFFIXES)


class _Walk:
    """One pass over a stage folder through directory descriptors; copies when ``dest`` is set."""

    def __init__(self, stage: str, dest: Path | None) -> None:
        self.stage = stage
        self.dest = dest
        self.files: set[str] = set()
        self.left_out: dict[str, str] = {}
        self.total = 0

    def display(self, rel: str) -> str:
        return f"{self.stage}/{rel}" if rel else self.stage

    def folder(self, dir_fd: int, rel: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise Refused(
                f"`{self.display(rel)}` is more than {MAX_DEPTH} folders deep; the grader does not copy deeper folders."
            )
        if self.dest is not None:
            (self.dest / rel).mkdir(parents=True, exist_ok=True)
        for name in sorted(os.listdir(dir_fd)):
            child = f"{rel}/{name}" if rel else name
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if _what(st.st_mode) is not None:
                self.left_out[child] = str(_refuse_special(self.display(child), st.st_mode))
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            if _skipped(name, is_dir):
                continue
            if is_dir:
                try:
                    fd = _open_dir(name, dir_fd, self.display(child))
                except Refused as exc:  # swapped for a link since it was listed
                    self.left_out[child] = str(exc)
                    continue
                try:
                    self.folder(fd, child, depth + 1)
                finally:
                    os.close(fd)
                continue
            self.files.add(child)
            if len(self.files) > MAX_STAGE_FILES:
                raise Refused(
                    f"`{self.stage}` holds more than {MAX_STAGE_FILES} files; the grader copies at most "
                    f"{MAX_STAGE_FILES}. Remove generated files from it."
                )
            self.total += st.st_size
            self._check_total()
            if self.dest is not None:
                self._copy(name, dir_fd, child, st.st_size)

    def _check_total(self) -> None:
        if self.total > MAX_STAGE_BYTES:
            raise TooLarge(
                f"`{self.stage}` holds more than {_size(MAX_STAGE_BYTES)}; the grader copies at most that much of a "
                "stage folder. Remove large files from it (data belongs in datasets/)."
            )

    def _copy(self, name: str, dir_fd: int, rel: str, counted: int) -> None:
        """Copy one file, reading no more than what is left of the stage's budget."""
        if self.dest is None:
            return
        left = MAX_STAGE_BYTES - self.total + counted
        try:
            data = _read_fd(_open_file(name, dir_fd, self.display(rel)), left, self.display(rel))
        except Refused as exc:
            if isinstance(exc, TooLarge):
                raise
            self.left_out[rel] = str(exc)  # swapped for a link or a FIFO since it was listed
            self.files.discard(rel)
            return
        self.total += len(data) - counted  # the file may have changed since it was listed
        self._check_total()
        with open(self.dest / rel, "xb") as out:  # "x": never write through anything already there
            out.write(data)


def _link_aware(exc: OSError, display: str, name: str, dir_fd: int | None) -> Exception:
    """Turn an open() failure on a link or a special file into a refusal that names it."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return exc
    if _what(st.st_mode) is not None:
        return _refuse_special(display, st.st_mode)
    return exc


def _open_dir(name: str | Path, dir_fd: int | None, display: str) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (*_LINK_ERRNOS, errno.ENOTDIR):
            raise _link_aware(exc, display, str(name), dir_fd) from None
        raise


def _open_file(name: str | Path, dir_fd: int | None, display: str) -> int:
    try:
        return os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in _LINK_ERRNOS or exc.errno == errno.ENXIO:
            raise _link_aware(exc, display, str(name), dir_fd) from None
        raise


def _read_fd(fd: int, limit: int, display: str) -> bytes:
    """Read a descriptor that must be a plain file of at most ``limit`` bytes; closes it."""
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse_special(display, st.st_mode)
        if st.st_size > limit:
            raise _too_big(display, limit)
        chunks = []
        got = 0
        while got <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > limit:
            raise _too_big(display, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _size(n: int) -> str:
    return f"{n >> 20} MB" if n >= 2**20 else f"{n} bytes"


def _too_big(display: str, limit: int) -> TooLarge:
    return TooLarge(f"`{display}` is larger than the {_size(limit)} the grader reads.")


def _walk_stage(root: Path, stage: str, dest: Path | None) -> StageFolder:
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # the folder the user named
    walk = _Walk(stage, dest)
    try:
        try:
            st = os.stat(stage, dir_fd=root_fd, follow_symlinks=False)
        except FileNotFoundError:
            return StageFolder(stage, frozenset(), 0, exists=False)
        if not stat.S_ISDIR(st.st_mode):
            raise _refuse_special(stage, st.st_mode, "folder")
        fd = _open_dir(stage, root_fd, stage)
        try:
            walk.folder(fd, "", 0)
        finally:
            os.close(fd)
    except Refused as exc:
        return StageFolder(stage, frozenset(walk.files), walk.total, refusal=str(exc), left_out=walk.left_out)
    finally:
        os.close(root_fd)
    return StageFolder(stage, frozenset(walk.files), walk.total, left_out=walk.left_out)


def scan(root: Path, exercises: Iterable[Exercise]) -> Intake:
    """Walk each stage folder the exercises live in (``lstat`` only, nothing is read or copied)."""
    stages = {ex.stage for ex in exercises}
    return Intake(Path(root), {s: _walk_stage(Path(root), s, None) for s in sorted(stages)})


def copy_stage(root: Path, stage: str, dest: Path) -> StageFolder:
    """Copy ``<root>/<stage>`` into ``dest`` (which must not exist): plain files and folders only.

    The folder is scanned first, so a refused folder copies nothing; the copy checks every
    file again as it reads it, and leaves out links and special files. Raises
    :class:`Refused` when the whole folder is refused (a cap, or the folder is a link).
    """
    first = _walk_stage(Path(root), stage, None)
    if first.refusal is not None:
        raise Refused(first.refusal)
    if not first.exists:
        raise FileNotFoundError(errno.ENOENT, f"{stage} is missing from the submission", str(Path(root) / stage))
    dest.mkdir(parents=True)
    copied = _walk_stage(Path(root), stage, dest)
    if copied.refusal is not None:
        raise Refused(copied.refusal)
    return copied


def read_bytes(path: Path, limit: int, within: Path | None = None) -> bytes:
    """At most ``limit`` bytes of the plain file ``path``, never following a link.

    With ``within``, every folder between ``within`` and the file is opened without
    following links too (``within`` itself is trusted: the user named it). Raises
    :class:`Refused` for a link, a device, a FIFO, a socket or a file over the limit, and
    ``OSError`` (e.g. FileNotFoundError) when there is nothing to read.
    """
    path = Path(path)
    if within is None:
        return _read_fd(_open_file(path, None, path.name), limit, path.name)
    parts = path.relative_to(within).parts
    display = "/".join(parts)
    fd = os.open(within, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i, part in enumerate(parts[:-1]):
            inner = _open_dir(part, fd, "/".join(parts[: i + 1]))
            os.close(fd)
            fd = inner
        file_fd = _open_file(parts[-1], fd, display)
    finally:
        os.close(fd)
    return _read_fd(file_fd, limit, display)


def refuse_special(path: Path, display: str) -> None:
    """Raise :class:`Refused` when ``path`` itself is a link, device, FIFO or socket (``lstat``)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if _what(st.st_mode) is not None:
        raise _refuse_special(display, st.st_mode)
