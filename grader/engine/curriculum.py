"""Read the curriculum manifest (grader/curriculum.toml): the only place exercises are named."""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from grader.engine.data import Exercise, Kind, Limits, Stage
from grader.paths import MANIFEST

ENV_VAR = "GRADER_CURRICULUM"  # another manifest (its suites in a `suites/` folder beside it), e.g. for tests
_EXTENSIONS = {Kind.MODULE: ".py", Kind.NOTEBOOK: ".ipynb"}


class CurriculumError(ValueError):
    """The manifest is malformed (our fault), or a user named something that is not in it."""


def _limits(raw: dict[str, Any], defaults: Limits) -> Limits:
    names = ("time_limit", "call_time_limit", "memory_mb", "cpu_seconds", "test_time_limit", "exercise_time_limit")
    fields = {k: raw[k] for k in names if k in raw}
    return replace(defaults, **fields)


def manifest_path() -> Path:
    return Path(os.environ.get(ENV_VAR) or MANIFEST)


def suites_root() -> Path:
    return manifest_path().with_name("suites")


def load() -> tuple[Stage, ...]:
    return _load(manifest_path())


@cache
def _load(path: Path) -> tuple[Stage, ...]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CurriculumError(f"cannot read the curriculum manifest {path}: {exc}") from None
    d = raw.get("defaults", {})
    defaults = _limits(d, Limits(time_limit=60.0, call_time_limit=20.0, memory_mb=4096, cpu_seconds=300))
    by_stage: dict[str, list[Exercise]] = {s["id"]: [] for s in raw.get("stage", [])}
    for e in raw.get("exercise", []):
        kind = Kind(e["kind"])
        ex = Exercise(
            id=e["id"],
            stage=e["stage"],
            file=e["file"],
            kind=kind,
            points=int(e["points"]),
            limits=_limits(e, defaults),
            title=e.get("title", ""),
        )
        if ex.stage not in by_stage:
            raise CurriculumError(f"exercise {ex.id} names stage {ex.stage!r}, which the manifest does not list")
        if not ex.file.endswith(_EXTENSIONS[kind]):
            raise CurriculumError(f"exercise {ex.key}: a {kind} must be a {_EXTENSIONS[kind]} file, not {ex.file}")
        by_stage[ex.stage].append(ex)
    return tuple(
        Stage(id=s["id"], title=s.get("title", s["id"]), exercises=tuple(by_stage[s["id"]]))
        for s in raw.get("stage", [])
    )


def stage(stage_id: str) -> Stage:
    for s in load():
        if s.id == stage_id:
            return s
    known = ", ".join(s.id for s in load())
    raise CurriculumError(f"there is no stage {stage_id!r}; the stages are: {known}")


def exercise(key: str) -> Exercise:
    """Look up ``"stage/exercise"``, or a short name (``"kmeans"``, ``"kmeans.py"``) that one stage has."""
    stage_id, sep, ex_id = key.partition("/")
    if not sep:
        return _by_short_name(key)
    for ex in stage(stage_id).exercises:
        if ex.id == ex_id:
            return ex
    known = ", ".join(e.id for e in stage(stage_id).exercises)
    raise CurriculumError(f"stage {stage_id!r} has no exercise {ex_id!r}; it has: {known}")


def _by_short_name(name: str) -> Exercise:
    everything = [e for s in load() for e in s.exercises]
    found = [e for e in everything if name in (e.id, e.file)]
    if len(found) == 1:
        return found[0]
    if found:
        both = " or ".join(e.key for e in found)
        raise CurriculumError(f"{name!r} is an exercise of several stages; name one as {both}")
    close = difflib.get_close_matches(name, [e.id for e in everything], n=3)
    maybe = f"; did you mean {' or '.join(close)}?" if close else "; `grader list` shows them all"
    raise CurriculumError(f"there is no exercise {name!r} (name it as kmeans or ml-basics/kmeans){maybe}")


def select(stage_id: str | None, exercise_ids: list[str] | None = None) -> list[Exercise]:
    """The exercises a command names: one stage (optionally some exercises of it), or everything."""
    if stage_id is None:
        if exercise_ids:  # short names, or STAGE/EXERCISE
            return list(dict.fromkeys(exercise(ex_id) for ex_id in exercise_ids))
        return [e for s in load() for e in s.exercises]
    if exercise_ids:
        return [exercise(f"{stage_id}/{ex_id}") for ex_id in dict.fromkeys(exercise_ids)]
    return list(stage(stage_id).exercises)


def suite_path(ex: Exercise) -> Path:
    return suites_root() / ex.stage / f"test_{ex.id}.py"


def with_limits(
    exercises: list[Exercise],
    time_limit: float | None = None,
    call_time_limit: float | None = None,
    memory_mb: int | None = None,
    test_time_limit: float | None = None,
    exercise_time_limit: float | None = None,
) -> list[Exercise]:
    """The same exercises with some limits replaced (from command-line flags)."""
    given: dict[str, Any] = {
        "time_limit": time_limit,
        "call_time_limit": call_time_limit,
        "memory_mb": memory_mb,
        "test_time_limit": test_time_limit,
        "exercise_time_limit": exercise_time_limit,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    return [replace(e, limits=replace(e.limits, **changes)) for e in exercises]


RELEASE_FILE = "release.toml"  # in the suites folder of a class release (written by `grader release`)


@dataclass(frozen=True)
class Hidden:
    """The hidden tests a class release leaves out of one exercise's suite: graded elsewhere."""

    tests: int
    points: float


def release_info() -> dict[str, Any]:
    """The class release this checkout is (`grader release` writes it), or {} in the full course repository."""
    return _release_info(suites_root() / RELEASE_FILE)


@cache
def _release_info(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CurriculumError(f"cannot read {path}: {exc}") from None


def released_stub(ex: Exercise) -> str | None:
    """In a class release, the sha256 of the exercise's stub as it was released; else None."""
    digest = release_info().get("stubs", {}).get(ex.relpath)
    return digest if isinstance(digest, str) else None


def hidden(ex: Exercise) -> Hidden | None:
    """In a class release, the hidden tests of ``ex`` that this checkout does not have; else None."""
    entry = release_info().get("hidden", {}).get(ex.key)
    if not isinstance(entry, dict):
        return None
    return Hidden(tests=int(entry.get("tests", 0)), points=float(entry.get("points", 0)))
