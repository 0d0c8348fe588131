"""The command line: thin wrappers over the typed core functions.

Exit codes: 0 grading ran (whatever the score); 1 the score is under
--fail-under, or exercises/ is out of date (assign --check); 2 a usage error;
3 the grader itself failed (never reported as a zero score), or a batch left some
submissions not graded; 128 + N a batch stopped by signal N (130 Ctrl-C, 143 SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from grader.engine import curriculum, sandbox
from grader.engine.data import Exercise, GradeReport
from grader.instructor import assign, batch
from grader.instructor.release import ReleaseError
from grader.paths import REPO

EXIT_OK, EXIT_BELOW, EXIT_USAGE, EXIT_GRADER = 0, 1, 2, 3
FORMATS = ["text", "json", "gradescope", "junit", "github", "html", "classroom"]


class UsageError(Exception):
    """A mistake in how the command was called; the message says how to fix it."""


def default_submission() -> Path:
    here = Path.cwd() / "exercises"
    return here if here.is_dir() else REPO / "exercises"


def _add_selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stage", "-s", help="stage to grade, e.g. ml-basics (default: every stage)")
    p.add_argument("--exercise", "-e", action="append", help="an exercise of the stage, e.g. kmeans (repeatable)")


def _add_submission(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--submission", type=Path, default=None, help="folder laid out like exercises/ (default: ./exercises)"
    )


def _submission_dir(arg: Path | None) -> Path:
    submission = (arg or default_submission()).resolve()
    if not submission.is_dir():
        raise UsageError(
            f"the submission folder {submission} does not exist; pass --submission DIR "
            "(a folder laid out like exercises/)"
        )
    return submission


SANDBOX_HELP = "kernel isolation (default: bubblewrap when it works here, else rlimits; or $GRADER_SANDBOX)"
BATCH_SANDBOX_HELP = (
    "kernel isolation (default: bubblewrap, and no batch without it unless rlimits is named here or in "
    "$GRADER_SANDBOX; rlimits then confines kernels' writes with Landlock)"
)


def _add_limits(p: argparse.ArgumentParser, sandbox_help: str = SANDBOX_HELP) -> None:
    p.add_argument("--time-limit", type=float, metavar="S", help="override every exercise's load time limit")
    p.add_argument("--call-time-limit", type=float, metavar="S", help="override the limit on each call")
    p.add_argument(
        "--device",
        choices=["cpu", "cuda", "auto"],
        default="cpu",
        help="torch device the suites ask your code to use (default: cpu)",
    )
    p.add_argument(
        "--sandbox",
        choices=["auto", "bubblewrap", "rlimits"],
        default=None,
        help=sandbox_help,
    )
    p.add_argument("--memory-mb", type=int, metavar="MB", help="override every kernel's memory limit")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Grade the course's exercises.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    g = sub.add_parser("grade", help="grade a submission folder")
    _add_selection(g)
    g.add_argument(
        "--submission",
        type=Path,
        default=None,
        help="folder laid out like exercises/ (default: ./exercises); e.g. solutions",
    )
    g.add_argument(
        "--format",
        "-f",
        choices=FORMATS,
        default="text",
        help="report format: text (the terminal table), json (our schema), gradescope (results.json), "
        "junit (XML), github (step summary and annotations), html (a feedback page), "
        "classroom (the result GitHub Classroom's autograding reporter reads)",
    )
    g.add_argument("--output", "-o", type=Path, help="write the report to this file as well")
    g.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="FORMAT=FILE",
        help="also write the report in another format, e.g. --also json=report.json --also html=report.html "
        "(repeatable; one grading, several reports)",
    )
    g.add_argument(
        "--fail-under", type=float, metavar="PCT", help="exit with 1 when the score is below PCT percent (for CI)"
    )
    g.add_argument("--jobs", "-j", type=int, default=None, help="kernels to run at once (default: CPU count)")
    g.add_argument("--no-record", action="store_true", help="do not remember the results for `grader progress`/`watch`")
    _add_limits(g)

    b = sub.add_parser("batch", help="grade every submission folder in a directory (a whole class)")
    b.add_argument("submissions", type=Path, help="folder with one sub-folder per learner")
    _add_selection(b)
    b.add_argument("--output", "-o", type=Path, required=True, help="folder for reports, gradebook.csv, merged.json")
    b.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        help="worker processes, each grading one submission at a time (default: the CPUs this process may use)",
    )
    b.add_argument("--shard", help="grade only shard I of N, e.g. 2/4 (join the outputs with `grader merge`)")
    b.add_argument(
        "--salt",
        help="mixed into the hidden tests' seeds, so learners meet inputs they have not seen "
        "(default: the one this --output recorded, else a new random one; give every shard the same salt)",
    )
    b.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="seconds one submission may take (default: from the exercises' limits)",
    )
    b.add_argument("--regrade", action="store_true", help="regrade every submission, even unchanged ones")
    _add_limits(b, BATCH_SANDBOX_HELP)

    m = sub.add_parser("merge", help="join the output folders of several batch shards")
    m.add_argument("folders", type=Path, nargs="+", help="batch output folders")
    m.add_argument("--output", "-o", type=Path, required=True, help="folder for the joined outputs")

    lb = sub.add_parser(
        "leaderboard",
        help="rank a batch's learners by their leaderboard score (the competition stage has one)",
        description="Rank a `grader batch` output folder by a leaderboard score. Only exercises whose suite "
        "publishes one have a leaderboard: " + ", ".join(leaderboard_exercises() or ["none"]) + ". "
        f"Private scores (the final standings) exist only when the batch was graded with {PRIVATE_ENV}=1 "
        f"in the grader's environment, e.g. `{PRIVATE_ENV}=1 grader batch SUBS --stage competition -o OUT`.",
    )
    lb.add_argument("folder", type=Path, help="a `grader batch` output folder")
    lb.add_argument("--metric", help="the score to rank by (default: the first public one)")
    lb.add_argument(
        "--private",
        action="store_true",
        help=f"also show private scores (instructors only; the batch must have been graded with {PRIVATE_ENV}=1)",
    )

    lst = sub.add_parser("list", help="the stages and exercises, with points and where you stand on each")
    lst.add_argument("--stage", "-s", help="only this stage")
    _add_submission(lst)

    rs = sub.add_parser("reset", help="put an exercise's stub back (your version is kept in .grader/backups/)")
    rs.add_argument("exercise", help="STAGE/EXERCISE or a short name, e.g. ml-basics/kmeans or kmeans")
    rs.add_argument("--yes", "-y", action="store_true", help="do not ask for a confirmation")
    _add_submission(rs)

    pr = sub.add_parser("progress", help="each stage's exercises done, attempted and untouched, as bars")
    pr.add_argument("--stage", "-s", help="only this stage, with each exercise's state")
    _add_submission(pr)

    w = sub.add_parser("watch", help="rustlings-style: check the exercise you are on every time you save it")
    w.add_argument("--stage", "-s", help="only this stage's exercises (default: every stage, in order)")
    _add_submission(w)
    _add_limits(w)

    h = sub.add_parser("hint", help="the next hint for an exercise (one more each time)")
    h.add_argument("exercise", help="STAGE/EXERCISE or a short name, e.g. ml-basics/kmeans or kmeans")
    h.add_argument("--reset", action="store_true", help="start this exercise's hints again from the first one")

    r = sub.add_parser("release", help="write a class release: exercises, datasets, the engine, public tests only")
    r.add_argument("out", type=Path, nargs="?", help="a new folder for the learners' repository")
    r.add_argument("--repository", help="OWNER/NAME of the class repository learners fork (Colab clones it)")
    r.add_argument("--ref", help="the tag of this release, in both repositories (default: v<version>)")
    r.add_argument(
        "--suites", default="", help="OWNER/NAME of your private copy of the full repository, with the hidden suites"
    )
    r.add_argument("--all-hints", action="store_true", help="ship every hint tier (default: all but the last)")
    r.add_argument("--gradescope", type=Path, metavar="ZIP", help="also write Gradescope's autograder.zip here")
    _add_selection(r)  # what the autograder.zip grades (default: every stage)

    a = sub.add_parser("assign", help="generate exercises/ from solutions/")
    a.add_argument("--check", action="store_true", help="only check that exercises/ is up to date")
    a.add_argument("--solutions", type=Path, default=REPO / "solutions")
    a.add_argument("--exercises", type=Path, default=REPO / "exercises")
    return parser


@contextlib.contextmanager
def _progress_bar(total: int) -> Iterator[Callable[[str, str], None] | None]:
    """A rich progress bar on stderr naming the exercise being graded; none when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("starting kernels", total=total)
        seen: list[str] = []

        def update(exercise: str, test: str) -> None:
            if exercise not in seen:
                seen.append(exercise)
                bar.update(task, completed=len(seen) - 1)
            bar.update(task, description=f"grading {exercise}: {test}")

        yield update
        bar.update(task, completed=total)


def _also(spec: str) -> tuple[str, Path]:
    """ "json=report.json" -> ("json", Path("report.json")), for --also."""
    fmt, sep, path = spec.partition("=")
    if not sep or fmt not in FORMATS or not path:
        raise UsageError(f"--also takes FORMAT=FILE with FORMAT one of {', '.join(FORMATS)} (got {spec!r})")
    return fmt, Path(path)


def _record(report: GradeReport, hashes: dict[str, str | None], exercises: list[Exercise]) -> None:
    """Remember the results for `grader progress` and `grader watch`; a cache that cannot be written only warns."""
    from grader.learner.progress import cache_dir, record

    try:
        record(report, hashes, exercises)
    except OSError as exc:
        print(f"grader: warning: cannot record the results in {cache_dir()} ({exc})", file=sys.stderr)


def cmd_grade(args: argparse.Namespace) -> int:
    from grader.engine.runner import grade
    from grader.learner.progress import fingerprints
    from grader.report import RENDERERS, github, text

    exercises = curriculum.select(args.stage, args.exercise)
    for flag in ("time_limit", "call_time_limit", "memory_mb"):
        value = getattr(args, flag)
        if value is not None and value <= 0:
            raise UsageError(f"--{flag.replace('_', '-')} must be positive")
    exercises = curriculum.with_limits(
        exercises, time_limit=args.time_limit, call_time_limit=args.call_time_limit, memory_mb=args.memory_mb
    )
    submission = (args.submission or default_submission()).resolve()
    if not submission.is_dir():
        raise UsageError(
            f"the submission folder {submission} does not exist; pass --submission DIR "
            "(a folder laid out like exercises/)"
        )
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    extra = [_also(spec) for spec in args.also]
    try:
        isolation = sandbox.pick_mode(args.sandbox)
    except (ValueError, RuntimeError) as exc:
        raise UsageError(str(exc)) from None
    if isolation == sandbox.RLIMITS and args.sandbox != "rlimits":
        print(
            "grader: warning: bubblewrap is not available here, so kernels run under rlimits only "
            "(apt-get install bubblewrap for the full sandbox).",
            file=sys.stderr,
        )
    hashes = fingerprints(exercises, submission)
    if exercises and all(h is None for h in hashes.values()):
        example = exercises[0].relpath
        print(
            f"grader: note: {submission} holds none of the files graded here (e.g. {example}), so every "
            "exercise scores 0. Is it the right folder? --submission takes a folder laid out like exercises/.",
            file=sys.stderr,
        )
    with _progress_bar(len(exercises)) as progress:
        report = grade(
            exercises, submission, jobs=args.jobs, device=args.device, isolation=isolation, progress=progress
        )
    if not args.no_record:
        _record(report, hashes, exercises)
    rendered = RENDERERS[args.format](report)
    for fmt, path in [(args.format, args.output), *extra]:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(rendered if fmt == args.format else RENDERERS[fmt](report), encoding="utf-8")
    if args.format == "github":
        prefix = os.path.relpath(submission, Path.cwd())
        sys.stdout.write(github.annotation_lines(report, prefix))
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_summary:
            with open(step_summary, "a", encoding="utf-8") as f:
                f.write(rendered)
    if args.format in ("text", "github") or args.output:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        width = shutil.get_terminal_size((100, 24)).columns
        terminal = text.render(report, width=width, color=color, root=text.root_of(submission))
        # In a GitHub job, stdout is parsed for workflow commands: the report's text is the learner's.
        sys.stdout.write(github.untrusted(terminal) if args.format == "github" else terminal)
    else:
        sys.stdout.write(rendered)
    if report.grader_errors:
        print("grader: the grader failed on some tests (see the report); this is not your fault.", file=sys.stderr)
        return EXIT_GRADER
    if args.fail_under is not None and report.percent < args.fail_under:
        print(f"grader: score {report.percent:.1f}% is under --fail-under {args.fail_under:g}%", file=sys.stderr)
        return EXIT_BELOW
    return EXIT_OK


def _usable_cpus() -> int:
    """The CPUs this process may run on (a container or taskset may allow fewer than the machine has)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _batch_isolation(requested: str | None) -> str:
    """The batch's sandbox: bubblewrap, or rlimits only when the instructor asked for it by name."""
    explicit = requested or os.environ.get(sandbox.ENV_VAR)
    try:
        mode = sandbox.pick_mode(requested)
    except (ValueError, RuntimeError) as exc:
        raise UsageError(str(exc)) from None
    if mode == sandbox.RLIMITS and explicit != sandbox.RLIMITS:
        raise UsageError(
            "bubblewrap is not available here, and a batch will not grade a class without it: under rlimits "
            "alone a learner's code can read and write what you can. Install it (apt-get install bubblewrap), "
            "or pass --sandbox rlimits to grade anyway (the gradebook and every report will say so)."
        )
    from grader.instructor.worker import landlock_abi

    if mode == sandbox.RLIMITS and landlock_abi() < 1:
        raise UsageError(
            "--sandbox rlimits needs Landlock (Linux 5.13 or later) to keep learners' code from rewriting "
            "the batch's reports, and this kernel does not offer it; install bubblewrap instead."
        )
    return mode


def cmd_batch(args: argparse.Namespace) -> int:
    exercises = curriculum.select(args.stage, args.exercise)
    if not args.submissions.is_dir():
        raise UsageError(f"{args.submissions} is not a folder; pass a folder with one sub-folder per learner")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    for flag in ("time_limit", "call_time_limit", "memory_mb", "timeout"):
        value = getattr(args, flag)
        if value is not None and value <= 0:
            raise UsageError(f"--{flag.replace('_', '-')} must be positive")
    if args.salt is not None and not args.salt.strip():
        raise UsageError("--salt must not be empty")
    options = batch.Options(
        jobs=args.jobs or _usable_cpus(),
        shard=batch.Shard.parse(args.shard) if args.shard else None,
        isolation=_batch_isolation(args.sandbox),
        salt=args.salt,
        timeout=args.timeout,
        regrade=args.regrade,
        device=args.device,
        time_limit=args.time_limit,
        call_time_limit=args.call_time_limit,
        memory_mb=args.memory_mb,
    )

    def progress(learner: str, info: dict[str, Any]) -> None:
        if "failed" in info:
            print(f"{learner}: NOT GRADED ({info['failed']}); rerun to retry", file=sys.stderr, flush=True)
            return
        note = " (empty: nothing for these exercises in this learner's folder)" if info.get("empty") else ""
        print(f"{learner}: {info['points']:g} / {info['max_points']:g}{note}", flush=True)

    result = batch.run_batch(args.submissions, args.output, exercises, options, progress)
    print(
        f"kept {result.kept}, graded {result.graded}"
        + (f", not graded {len(result.failed)}" if result.failed else "")
        + f"; isolation: {result.isolation}; salt: {result.salt}"
    )
    print(f"{result.reports} reports in {args.output}; gradebook: {args.output / 'gradebook.csv'}")
    if result.interrupted is not None:
        name = signal.Signals(result.interrupted).name
        print(f"grader: stopped by {name}; finished reports are kept, rerun to grade the rest.", file=sys.stderr)
        return 128 + result.interrupted
    return EXIT_GRADER if result.failed else EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    state = args.folders[0] / batch.STATE
    if not state.is_file():
        raise UsageError(f"{args.folders[0]} is not a batch output folder (no {batch.STATE})")
    keys = json.loads(state.read_text(encoding="utf-8"))["exercises"]
    count = batch.merge(args.folders, args.output, [curriculum.exercise(k) for k in keys])
    print(f"merged {count} reports into {args.output}")
    return EXIT_OK


PRIVATE_ENV = "GRADER_PRIVATE_LEADERBOARD"  # read by the competition suite, in the grader's process


def leaderboard_exercises() -> list[str]:
    """The exercises whose hidden suite publishes a leaderboard score (``record_property("leaderboard:...")``)."""
    out: list[str] = []
    try:
        exercises = curriculum.select(None)
    except curriculum.CurriculumError:
        return out  # the command that runs says what is wrong with the manifest
    for ex in exercises:
        path = curriculum.suite_path(ex)
        if path.is_file() and '"leaderboard:' in path.read_text(encoding="utf-8"):
            out.append(ex.key)
    return out


def cmd_leaderboard(args: argparse.Namespace) -> int:
    if not (args.folder / batch.STATE).is_file():
        raise UsageError(f"{args.folder} is not a `grader batch` output folder (no {batch.STATE})")
    try:
        columns, rows = batch.leaderboard(args.folder, args.metric, args.private)
    except batch.BatchError as exc:
        which = ", ".join(leaderboard_exercises()) or "none"
        more = f"; only these exercises have a leaderboard: {which} (grade a batch of their stage)"
        if args.private:
            more += f"; private scores need the batch graded with {PRIVATE_ENV}=1"
        raise UsageError(f"{exc}{more}") from None
    widths = [max(len(str(c)), *(len(_cell(r[i])) for r in rows)) for i, c in enumerate(columns)]
    print("  ".join(str(c).ljust(w) for c, w in zip(columns, widths, strict=True)))
    for r in rows:
        print("  ".join(_cell(v).ljust(w) for v, w in zip(r, widths, strict=True)))
    return EXIT_OK


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def cmd_list(args: argparse.Namespace) -> int:
    from grader.learner import progress

    stages = [curriculum.stage(args.stage)] if args.stage else list(curriculum.load())
    submission = (args.submission or default_submission()).resolve()
    for st in stages:
        total = sum(e.points for e in st.exercises)
        print(f"{st.id} ({total} points): {st.title}")
        for e in st.exercises:
            state = progress.state_of(e, submission).value if submission.is_dir() else ""
            print(f"  {e.id:<24} {e.points:>3} pt  {e.kind.value:<8}  {state:<9}  {e.relpath}")
    if submission.is_dir():
        print("\nState: done (the last grading of this very file had every point), attempted, untouched (the stub).")
    return EXIT_OK


def cmd_reset(args: argparse.Namespace) -> int:
    from grader.learner import reset

    ex = curriculum.exercise(args.exercise)
    submission = _submission_dir(args.submission)
    shown = reset.root_path(submission, ex)
    try:
        if reset.is_stub(ex, submission):
            print(f"{shown} is already the untouched stub; nothing to do.")
            return EXIT_OK
    except reset.ResetError as exc:
        raise UsageError(str(exc)) from None
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(f"grader reset asks before replacing {shown}; pass --yes to skip the question")
        answer = input(f"Replace {shown} with the untouched stub? Your version is kept in .grader/backups/. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing changed.")
            return EXIT_OK
    done = reset.reset(ex, submission)
    print(f"{shown} is the untouched stub again.")
    if done.backup is not None:
        print(f"Your version is in {reset.shown_path(done.backup)}.")
    return EXIT_OK


def cmd_assign(args: argparse.Namespace) -> int:
    plan = assign.plan(args.solutions)
    if args.check:
        problems = assign.differences(plan, args.exercises)
        for line in problems:
            print(line)
        if problems:
            print("exercises/ is not in step with solutions/: run `python -m grader assign`.", file=sys.stderr)
            return EXIT_BELOW
        print(f"exercises/ is up to date ({len(plan.files)} files).")
        return EXIT_OK
    for line in assign.write(plan, args.exercises):
        print(f"wrote {line}")
    return EXIT_OK


def cmd_release(args: argparse.Namespace) -> int:
    from grader.instructor import release

    if args.out is None and args.gradescope is None:
        raise UsageError(
            "name a folder for the release (grader release OUT --repository OWNER/NAME), or --gradescope ZIP"
        )
    ref = args.ref or release.default_ref()
    if args.out is not None:
        if not args.repository:
            raise UsageError("--repository OWNER/NAME is required: the class repository learners will fork")
        settings = release.Settings(args.repository, ref, args.suites, args.all_hints)
        summary = release.build(args.out, settings)
        print(
            f"wrote the class release to {args.out}: {summary.files} files, {summary.bytes / 1e6:.1f} MB, "
            f"in {summary.seconds:.1f} s; {sum(h.tests for h in summary.hidden.values())} hidden tests left out"
        )
        print(f"next: push it to {args.repository} and tag it {ref} (README: 'Giving the course to a class')")
    if args.gradescope is not None:
        from grader.instructor import gradescope_zip

        size = gradescope_zip.write(args.gradescope, args.stage, args.exercise or [])
        print(f"wrote {args.gradescope} ({size / 1e6:.1f} MB): upload it as the assignment's autograder")
    return EXIT_OK


def cmd_progress(args: argparse.Namespace) -> int:
    from grader.learner import progress

    stages = [curriculum.stage(args.stage)] if args.stage else [s for s in curriculum.load() if s.exercises]
    submission = _submission_dir(args.submission)
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    width = shutil.get_terminal_size((100, 24)).columns
    rows = [progress.stage_progress(st, submission) for st in stages]
    sys.stdout.write(progress.render(rows, detail=bool(args.stage), width=width, color=color))
    return EXIT_OK


def cmd_watch(args: argparse.Namespace) -> int:
    from grader.engine.runner import grade
    from grader.learner import hints, progress
    from grader.learner.watch import Watch, raw_keys

    exercises = curriculum.select(args.stage)
    submission = _submission_dir(args.submission)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("grader watch reads single keys from a terminal; run it in one (or use `grader grade`)")
    for flag in ("time_limit", "call_time_limit", "memory_mb"):
        value = getattr(args, flag)
        if value is not None and value <= 0:
            raise UsageError(f"--{flag.replace('_', '-')} must be positive")
    exercises = curriculum.with_limits(
        exercises, time_limit=args.time_limit, call_time_limit=args.call_time_limit, memory_mb=args.memory_mb
    )
    try:
        isolation = sandbox.pick_mode(args.sandbox)
    except (ValueError, RuntimeError) as exc:
        raise UsageError(str(exc)) from None

    def grade_one(ex: Exercise) -> GradeReport:
        return grade([ex], submission, jobs=1, device=args.device, isolation=isolation)

    watch = Watch(
        exercises,
        submission,
        grade_one,
        tiers=hints.Tiers(progress.cache_dir() / "hints.json"),
        width=shutil.get_terminal_size((100, 24)).columns,
        color="NO_COLOR" not in os.environ,
        clear=True,
    )
    with raw_keys(sys.stdin) as keys:
        return watch.run(keys)


def cmd_hint(args: argparse.Namespace) -> int:
    from grader.learner import hints, progress

    tiers = hints.Tiers(progress.cache_dir() / "hints.json")
    ex = curriculum.exercise(args.exercise)
    if args.reset:
        tiers.forget(ex.key)
        print(f"The hints for {ex.key} start again from the first one: run `grader hint {args.exercise}`.")
        return EXIT_OK
    again = f"Run `grader hint {args.exercise}` again for the next one."
    shown = hints.next_hints(ex.key, tiers, again)
    sys.stdout.write(shown.text(width=shutil.get_terminal_size((100, 24)).columns))
    return EXIT_OK


COMMANDS = {
    "grade": cmd_grade,
    "batch": cmd_batch,
    "merge": cmd_merge,
    "leaderboard": cmd_leaderboard,
    "list": cmd_list,
    "progress": cmd_progress,
    "watch": cmd_watch,
    "hint": cmd_hint,
    "reset": cmd_reset,
    "assign": cmd_assign,
    "release": cmd_release,
}


def main(argv: Sequence[str] | None = None) -> int:
    # The grader runs beside its kernels on few cores: one BLAS/torch thread here too, or the first
    # torch call in a suite can take seconds. Set before NumPy or torch is imported.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (UsageError, curriculum.CurriculumError, assign.AssignError, batch.BatchError, ReleaseError) as exc:
        parser.exit(EXIT_USAGE, f"grader: error: {exc}\n")
    except KeyboardInterrupt:
        return 130
    except Exception:
        import traceback

        traceback.print_exc()
        print("grader: internal error (not your fault); no grade was produced.", file=sys.stderr)
        return EXIT_GRADER
