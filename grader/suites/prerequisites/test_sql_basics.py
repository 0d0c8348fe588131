"""Hidden suite for prerequisites/sql_basics: queries on a real SQLite database of Palmer penguins.

The grader parses ``datasets/penguins/*.csv`` itself and sends the rows to the learner's kernel,
where ``_BUILD_DB`` creates an in-memory SQLite database with the schema pinned in the module's
docstring (a ``sqlite3.Connection`` cannot cross the codec, so it stays there as a remote
reference and is handed to the learner's functions). The same source builds an identical
database in the grader's process, on which reference queries give the expected rows.

Penguins are inserted in descending ``id`` order, so a query that relies on the storage order
instead of an ``ORDER BY ... id`` tie-breaker gets ties the wrong way round. Results are
compared as multisets unless the docstring makes the order part of the answer.
"""

from __future__ import annotations

import collections
import csv
import functools
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from grader.engine.remote import LearnerError, RemoteRef
from grader.helpers import DATASETS, fail

SCHEMA = """
CREATE TABLE penguins (
    id                INTEGER NOT NULL UNIQUE,
    species           TEXT NOT NULL,
    island            TEXT NOT NULL,
    bill_length_mm    REAL,
    bill_depth_mm     REAL,
    flipper_length_mm INTEGER,
    body_mass_g       INTEGER,
    sex               TEXT,
    year              INTEGER NOT NULL
);
CREATE TABLE isotopes (
    penguin_id INTEGER NOT NULL REFERENCES penguins (id),
    delta_15n  REAL,
    delta_13c  REAL
);
"""

# Evaluated both in the learner's kernel (through sub.eval) and here: one source, one database.
_BUILD_DB = """
lambda schema, penguins, isotopes: (lambda conn: (
    conn.executescript(schema),
    conn.executemany("INSERT INTO penguins VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", penguins),
    conn.executemany("INSERT INTO isotopes VALUES (?, ?, ?)", isotopes),
    conn.commit(),
    conn,
)[-1])(__import__("sqlite3").connect(":memory:", check_same_thread=False))
""".strip()

Rows = list[tuple[Any, ...]]

# ---------------------------------------------------------------- reference queries (grader side)

REF_HEAVY = """
SELECT id, island, sex, body_mass_g FROM penguins
WHERE species = ? AND body_mass_g >= ? ORDER BY body_mass_g DESC, id ASC
"""
REF_SUMMARY = """
SELECT species, island, COUNT(*), AVG(body_mass_g) FROM penguins
GROUP BY species, island HAVING COUNT(*) >= ? AND AVG(body_mass_g) >= ?
"""
REF_ISOTOPES = """
SELECT p.species, COUNT(*), COUNT(i.penguin_id), 1.0 * COUNT(i.penguin_id) / COUNT(*), AVG(i.delta_15n)
FROM penguins AS p LEFT JOIN isotopes AS i ON i.penguin_id = p.id GROUP BY p.species
"""
REF_TOP = """
SELECT species, rnk, id, body_mass_g FROM (
    SELECT species, id, body_mass_g,
           ROW_NUMBER() OVER (PARTITION BY species ORDER BY body_mass_g DESC, id) AS rnk
    FROM penguins WHERE body_mass_g IS NOT NULL
) WHERE rnk <= ? ORDER BY species, rnk
"""

_PARAMS_HINT = (
    "Pass values as ? parameters: conn.execute(sql, (species, min_mass_g)). Formatting them into the SQL text "
    "breaks on a quote and lets a crafted value rewrite your query (SQL injection)."
)
_ORDER_HINT = "Sort with ORDER BY body_mass_g DESC, id ASC: heaviest first, ties by the smaller id."
_COUNT_HINT = (
    "n_penguins counts every penguin of the group: COUNT(*) counts rows, while COUNT(body_mass_g) skips the "
    "penguins whose mass is NULL (and so does any WHERE condition on body_mass_g, before grouping)."
)
_HAVING_HINT = (
    "A condition on a group (its size, its mean) belongs in HAVING, after GROUP BY. WHERE filters single rows "
    "before grouping, so WHERE body_mass_g >= ... drops light penguins and changes both the counts and the means."
)
_JOIN_HINT = (
    "Keep every penguin: penguins LEFT JOIN isotopes ON isotopes.penguin_id = penguins.id. An inner JOIN drops "
    "the penguins without an isotope sample, so n_penguins is too small."
)
_SAMPLED_HINT = (
    "After a LEFT JOIN, the penguins without a sample have NULL in every isotopes column: count the sampled ones "
    "with COUNT(i.penguin_id), which skips NULLs, not COUNT(*)."
)
_DIVISION_HINT = (
    "SQLite's integer division: an integer divided by an integer is truncated (141 / 152 is 0). Multiply by 1.0 "
    "first: 1.0 * COUNT(i.penguin_id) / COUNT(*)."
)
_WINDOW_HINT = (
    "Number the penguins of known mass (WHERE body_mass_g IS NOT NULL) with ROW_NUMBER() OVER (PARTITION BY species "
    "ORDER BY body_mass_g DESC, id ASC) and keep those with a number <= k; RANK() repeats a rank on ties and can "
    "give more than k rows."
)
_UNKNOWN_MASS = "Leave out the penguins of unknown mass: WHERE body_mass_g IS NOT NULL inside the ranked subquery."


# ---------------------------------------------------------------- data


def _value(text: str, kind: Callable[[str], Any]) -> Any:
    return None if text == "NA" else kind(text)


@functools.cache
def _penguin_tables() -> tuple[Rows, Rows]:
    """The two tables as the docstring describes them, parsed from the shipped CSV files."""
    with open(DATASETS / "penguins" / "penguins.csv", newline="", encoding="utf-8") as f:
        penguins = [
            (
                i,
                r["species"],
                r["island"],
                _value(r["bill_length_mm"], float),
                _value(r["bill_depth_mm"], float),
                _value(r["flipper_length_mm"], int),
                _value(r["body_mass_g"], int),
                _value(r["sex"], str),
                int(r["year"]),
            )
            for i, r in enumerate(csv.DictReader(f), start=1)
        ]
    with open(DATASETS / "penguins" / "penguins_raw.csv", newline="", encoding="utf-8") as f:
        ratios = [
            (i, _value(r["Delta 15 N (o/oo)"], float), _value(r["Delta 13 C (o/oo)"], float))
            for i, r in enumerate(csv.DictReader(f), start=1)
        ]
    isotopes = [r for r in ratios if r[1:] != (None, None)]
    return penguins[::-1], isotopes[::-1]  # stored in descending id order: no free tie-breaks


def _synthetic_tables(rng: np.random.Generator) -> tuple[Rows, Rows]:
    """Another database with the same schema: new ids, new values, many ties, NULLs, empty groups."""
    layout = {
        "Adelie": ["Biscoe", "Dream", "Torgersen"],
        "Chinstrap": ["Dream"],
        "Emperor": ["Coulman"],  # no known mass at all
        "Gentoo": ["Biscoe"],
        "Macaroni": ["Elephant", "Livingston"],  # never sampled for isotopes
    }
    ids = rng.choice(np.arange(1000, 9000), size=90, replace=False)
    penguins, isotopes = [], []
    for n, pid in enumerate(ids.tolist()):
        species = sorted(layout)[n % len(layout)]
        island = layout[species][int(rng.integers(len(layout[species])))]
        mass = None if species == "Emperor" or rng.random() < 0.12 else int(rng.choice([3200, 3600, 3600, 4100, 4100]))
        sex = [None, "female", "male"][int(rng.integers(3))]
        flipper = None if mass is None else int(rng.integers(175, 230))
        bill = None if mass is None else round(float(rng.uniform(33, 58)), 1)
        depth = None if mass is None else round(float(rng.uniform(13, 21)), 1)
        penguins.append((pid, species, island, bill, depth, flipper, mass, sex, int(rng.choice([2007, 2008, 2009]))))
        if species != "Macaroni" and rng.random() < 0.7:
            d15 = None if species == "Emperor" or rng.random() < 0.1 else round(float(rng.uniform(7.5, 10.0)), 5)
            isotopes.append((pid, d15, round(float(rng.uniform(-27.0, -23.5)), 5)))
    return penguins, isotopes


def _databases(sub: Any, tables: tuple[Rows, Rows]) -> tuple[RemoteRef, sqlite3.Connection]:
    """The same database twice: in the learner's kernel (a RemoteRef) and here (the reference)."""
    penguins, isotopes = tables
    remote = sub.eval(_BUILD_DB)(SCHEMA, penguins, isotopes)
    local = eval(_BUILD_DB)(SCHEMA, penguins, isotopes)  # noqa: S307 - our own constant source
    return remote, local


# ---------------------------------------------------------------- comparing rows


def _rows(value: Any, name: str, width: int) -> Rows:
    """The learner's result as a list of tuples of plain values, after checking its form."""
    __tracebackhide__ = True
    if isinstance(value, RemoteRef) or not isinstance(value, list | tuple):
        got = value.type_name if isinstance(value, RemoteRef) else type(value).__name__
        fail(
            f"`{name}` should return a list of tuples, but it returned a {got}.",
            hint="Return the rows as they come: conn.execute(sql, params).fetchall().",
        )
    rows = []
    for row in value:
        if not isinstance(row, tuple | list):
            got = row.type_name if isinstance(row, RemoteRef) else type(row).__name__
            fail(
                f"`{name}` should return a list of tuples, but one row is a {got}.",
                hint="fetchall() gives plain tuples; leave conn.row_factory as it is.",
            )
        if len(row) != width:
            fail(f"`{name}` returned a row with {len(row)} columns, {tuple(row)!r}; each row needs {width}.")
        for item in row:
            if not (item is None or isinstance(item, str | int | float)) or isinstance(item, bool):
                fail(f"`{name}` returned a row holding a {type(item).__name__}: {tuple(row)!r}.")
        rows.append(tuple(row))
    return rows


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, int | float) and isinstance(b, int | float) and bool(np.isclose(a, b, rtol=1e-9, atol=1e-9))
        )
    return type(a) is type(b) and a == b


def _key(row: Sequence[Any]) -> tuple[tuple[int, Any], ...]:
    """A sort key that never compares across types, with floats rounded (they only need to be close)."""
    out: list[tuple[int, Any]] = []
    for v in row:
        if v is None:
            out.append((0, 0))
        elif isinstance(v, int | float):
            out.append((1, round(float(v), 6)))
        else:
            out.append((2, str(v)))
    return tuple(out)


def _show(rows: Sequence[Sequence[Any]]) -> str:
    shown = ", ".join(repr(tuple(round(v, 4) if isinstance(v, float) else v for v in r)) for r in rows[:4])
    return f"[{shown}{', ...' if len(rows) > 4 else ''}]"


def _compare(got: Rows, exp: Rows, name: str, *, ordered: bool, hint: str | None = None) -> None:
    """Fail unless ``got`` equals ``exp`` (floats within 1e-9), in order or as multisets."""
    __tracebackhide__ = True
    g, e = (got, exp) if ordered else (sorted(got, key=_key), sorted(exp, key=_key))
    if len(g) == len(e) and all(_same(x, y) for gr, er in zip(g, e, strict=True) for x, y in zip(gr, er, strict=True)):
        return
    if not ordered or sorted(got, key=_key) != sorted(exp, key=_key):
        have, want = collections.Counter(map(_key, got)), collections.Counter(map(_key, exp))
        extra = [r for r in got if have[_key(r)] > want[_key(r)]]
        missing = [r for r in exp if want[_key(r)] > have[_key(r)]]
        detail = []
        if missing:
            detail.append(f"{len(missing)} expected row(s) are missing, e.g. {_show(missing)}")
        if extra:
            detail.append(f"{len(extra)} row(s) should not be there, e.g. {_show(extra)}")
        if not detail:
            detail.append("some values are not close enough")
        fail(
            f"`{name}` returned {len(got)} row(s), expected {len(exp)}: " + "; ".join(detail) + ".",
            hint,
        )
    first = next(i for i, (gr, er) in enumerate(zip(got, exp, strict=True)) if _key(gr) != _key(er))
    fail(
        f"`{name}` returned the right rows in the wrong order: row {first} is {_show([got[first]])[1:-1]}, "
        f"expected {_show([exp[first]])[1:-1]}.",
        hint,
    )


def _matches(got: Rows, exp: Rows, *, ordered: bool) -> bool:
    g, e = (got, exp) if ordered else (sorted(got, key=_key), sorted(exp, key=_key))
    return len(g) == len(e) and all(
        _same(x, y) for gr, er in zip(g, e, strict=True) for x, y in zip(gr, er, strict=True)
    )


def _by_group(rows: Rows, width: int) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {tuple(r[:width]): tuple(r[width:]) for r in rows}


# ---------------------------------------------------------------- heavy_penguins: filter and sort


@pytest.mark.public
@pytest.mark.points(2)
def test_heavy_penguins_filters_and_sorts(sub: Any, rng: np.random.Generator) -> None:
    remote, local = _databases(sub, _penguin_tables())
    cases = [("Gentoo", 5900), ("Chinstrap", 4000), ("Adelie", int(rng.choice([4300, 4400, 4500])))]
    for species, min_mass in cases:
        name = f"heavy_penguins(conn, {species!r}, {min_mass})"
        got = _rows(sub.heavy_penguins(remote, species, min_mass), name, 4)
        exp = local.execute(REF_HEAVY, (species, min_mass)).fetchall()
        if any(r[3] is not None and isinstance(r[3], int | float) and r[3] < min_mass for r in got):
            fail(f"`{name}` returned a penguin lighter than {min_mass} g.", hint="WHERE body_mass_g >= ?")
        _compare(got, exp, name, ordered=True, hint=_ORDER_HINT)


@pytest.mark.points(1)
def test_heavy_penguins_binds_its_parameters(sub: Any) -> None:
    remote, local = _databases(sub, _penguin_tables())
    got = _rows(sub.heavy_penguins(remote, "Gentoo", 6000), "heavy_penguins(conn, 'Gentoo', 6000)", 4)
    _compare(got, local.execute(REF_HEAVY, ("Gentoo", 6000)).fetchall(), "heavy_penguins", ordered=True)
    for species in ("O'Brien", "Adelie' OR '1'='1", "Gentoo' --"):
        name = f"heavy_penguins(conn, {species!r}, 3000)"
        try:
            rows = _rows(sub.heavy_penguins(remote, species, 3000), name, 4)
        except LearnerError as err:
            if err.not_implemented:
                raise
            fail(f"`{name}` raised {err.exception_type}: {err.message}", hint=_PARAMS_HINT)
        if rows:
            fail(
                f"`{name}` returned {len(rows)} row(s), but no species has that name: the quote in the value was "
                "read as SQL.",
                hint=_PARAMS_HINT,
            )


# ---------------------------------------------------------------- species_island_summary: GROUP BY, HAVING


@pytest.mark.public
@pytest.mark.points(1)
def test_group_summary_counts_every_penguin(sub: Any) -> None:
    remote, local = _databases(sub, _penguin_tables())
    name = "species_island_summary(conn, 0, 0)"
    got = _rows(sub.species_island_summary(remote, 0, 0), name, 4)
    exp = local.execute(REF_SUMMARY, (0, 0)).fetchall()
    mine, theirs = _by_group(got, 2), _by_group(exp, 2)
    for group, (n, _mean) in theirs.items():
        if group in mine and mine[group][0] != n:
            fail(
                f"`{name}`: the group {group} has n_penguins = {mine[group][0]}, expected {n} (one of its "
                "penguins has an unknown mass).",
                hint=_COUNT_HINT,
            )
    _compare(got, exp, name, ordered=False, hint=_COUNT_HINT)
    for args in ((52, 0), (53, 0)):
        name = f"species_island_summary(conn, {args[0]}, {args[1]})"
        _compare(
            _rows(sub.species_island_summary(remote, *args), name, 4),
            local.execute(REF_SUMMARY, args).fetchall(),
            name,
            ordered=False,
            hint="Keep the groups with COUNT(*) >= min_penguins (>=, counting every penguin). " + _COUNT_HINT,
        )


@pytest.mark.points(1)
def test_group_summary_filters_groups_with_having(sub: Any) -> None:
    remote, local = _databases(sub, _penguin_tables())
    unfiltered = _rows(sub.species_island_summary(remote, 0, 0), "species_island_summary(conn, 0, 0)", 4)
    if not _matches(unfiltered, local.execute(REF_SUMMARY, (0, 0)).fetchall(), ordered=False):
        fail(
            "`species_island_summary` cannot filter the right groups: this follows from its counts and means "
            "without any filter (min_penguins=0, min_mean_mass_g=0), which are already wrong (see the test above)."
        )
    for args in ((1, 3700.0), (50, 3700.0), (1, 4000)):
        name = f"species_island_summary(conn, {args[0]}, {args[1]})"
        got = _rows(sub.species_island_summary(remote, *args), name, 4)
        exp = local.execute(REF_SUMMARY, args).fetchall()
        _compare(got, exp, name, ordered=False, hint=_HAVING_HINT)


# ---------------------------------------------------------------- isotopes_by_species: a join


@pytest.mark.public
@pytest.mark.points(2)
def test_isotopes_by_species_joins_every_penguin(sub: Any) -> None:
    remote, local = _databases(sub, _penguin_tables())
    name = "isotopes_by_species(conn)"
    got = _rows(sub.isotopes_by_species(remote), name, 5)
    exp = local.execute(REF_ISOTOPES).fetchall()
    mine, theirs = _by_group(got, 1), _by_group(exp, 1)
    for key, (n, n_sampled, share, _mean) in theirs.items():
        if key not in mine:
            continue
        species, (m_n, m_sampled, m_share, _) = key[0], mine[key]
        if m_n == n_sampled and m_n != n:
            fail(
                f"`{name}`: n_penguins for {species} is {m_n}, expected {n}; {m_n} is the number of penguins "
                "that have an isotope sample.",
                hint=_JOIN_HINT,
            )
        if m_sampled == n and n != n_sampled:
            fail(f"`{name}`: n_sampled for {species} is {m_sampled}, expected {n_sampled}.", hint=_SAMPLED_HINT)
        if isinstance(m_share, int) or (m_share == int(share) and share != int(share)):
            fail(
                f"`{name}`: share_sampled for {species} is {m_share!r}, expected {share:.6f}.",
                hint=_DIVISION_HINT,
            )
    _compare(got, exp, name, ordered=False, hint=_JOIN_HINT + " " + _SAMPLED_HINT)


# ---------------------------------------------------------------- heaviest_per_species: a window


@pytest.mark.public
@pytest.mark.points(2)
def test_heaviest_per_species_ranks_with_a_window(sub: Any) -> None:
    remote, local = _databases(sub, _penguin_tables())
    for k in (3, 5, 1):  # the Gentoo masses tie at ranks 3-4 (6000 g) and 5-6 (5950 g)
        name = f"heaviest_per_species(conn, {k})"
        got = _rows(sub.heaviest_per_species(remote, k), name, 4)
        exp = local.execute(REF_TOP, (k,)).fetchall()
        per_species = collections.Counter(r[0] for r in got)
        if any(n > k for n in per_species.values()):
            fail(
                f"`{name}` returned {max(per_species.values())} rows for one species, but at most k={k}.",
                hint=_WINDOW_HINT,
            )
        _compare(
            got,
            exp,
            name,
            ordered=True,
            hint=_WINDOW_HINT + " Order the result by species, then rank.",
        )


# ---------------------------------------------------------------- all four on another database


@pytest.mark.points(1)
def test_all_queries_on_another_database(sub: Any, rng: np.random.Generator) -> None:
    remote, local = _databases(sub, _synthetic_tables(rng))
    intro = "On a second database with the same schema (other ids, other values, NULLs and empty groups), "
    checks: list[tuple[str, Any, str, tuple[Any, ...], int, bool, str]] = [
        ("heavy_penguins", ("Adelie", 3600), REF_HEAVY, ("Adelie", 3600), 4, True, _ORDER_HINT),
        ("species_island_summary", (2, 3500), REF_SUMMARY, (2, 3500), 4, False, _HAVING_HINT + " " + _COUNT_HINT),
        ("isotopes_by_species", (), REF_ISOTOPES, (), 5, False, _JOIN_HINT + " " + _SAMPLED_HINT),
        ("heaviest_per_species", (2,), REF_TOP, (2,), 4, True, _WINDOW_HINT),
    ]
    main_remote, main_local = _databases(sub, _penguin_tables())
    for fn, args, sql, params, width, ordered, hint in checks:
        name = f"{fn}(conn{''.join(f', {a!r}' for a in args)})"
        got = _rows(getattr(sub, fn)(remote, *args), name, width)
        exp = local.execute(sql, params).fetchall()
        if not _matches(got, exp, ordered=ordered):
            on_main = _rows(getattr(sub, fn)(main_remote, *args), name, width)
            if not _matches(on_main, main_local.execute(sql, params).fetchall(), ordered=ordered):
                fail(
                    f"{intro}`{name}` is wrong too; this follows from the problem its test on the penguins "
                    "database reports above: fix that first."
                )
        if fn == "heaviest_per_species" and any(r[3] is None for r in got):
            fail(
                f"{intro}`{name}` ranked a penguin of unknown mass: {_show([r for r in got if r[3] is None])}.",
                hint=_UNKNOWN_MASS,
            )
        _compare(got, exp, name, ordered=ordered, hint=intro + "compute everything in the query. " + hint)
