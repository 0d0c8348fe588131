"""SQL with SQLite: filter and sort, GROUP BY with HAVING, a join, a window function.

Every function takes an open ``sqlite3.Connection`` to a database holding the Palmer
penguins (``datasets/penguins/``), runs **one** SQL query, and returns its rows as a
``list`` of ``tuple`` s, exactly what ``conn.execute(sql, params).fetchall()`` gives.
Do the work in SQL, not in Python, and never change the database.

The database has two tables (``load_penguins`` below builds it, so you can try your
queries: ``conn = sqlite3.connect(":memory:"); load_penguins(conn)``)::

    CREATE TABLE penguins (
        id                INTEGER NOT NULL UNIQUE,  -- 1..344: the row's position in penguins.csv
        species           TEXT NOT NULL,            -- 'Adelie', 'Chinstrap' or 'Gentoo'
        island            TEXT NOT NULL,            -- 'Biscoe', 'Dream' or 'Torgersen'
        bill_length_mm    REAL,
        bill_depth_mm     REAL,
        flipper_length_mm INTEGER,
        body_mass_g       INTEGER,
        sex               TEXT,                     -- 'female' or 'male'
        year              INTEGER NOT NULL
    );
    CREATE TABLE isotopes (                         -- blood isotope ratios
        penguin_id INTEGER NOT NULL REFERENCES penguins (id),
        delta_15n  REAL,
        delta_13c  REAL
    );

- ``NULL`` marks a missing value (``NA`` in the CSV files): 2 penguins have no
  measurements at all and 11 have no recorded sex.
- ``isotopes`` has at most one row per penguin, and only for penguins whose blood
  sample gave at least one ratio; a ratio that could not be measured is ``NULL``.
- Rows are stored in no particular order. Whenever the order of your result matters,
  say so with ``ORDER BY``, tie-breakers included.
- The grader also runs your functions on other databases with this same schema (other
  rows, other values), so compute everything in the query; hard-code nothing.

SQL reminders that matter here: ``COUNT(*)`` counts rows, ``COUNT(col)`` counts only
the rows where ``col`` is not ``NULL``; ``AVG`` skips ``NULL`` s; ``WHERE`` filters rows
*before* grouping, ``HAVING`` filters groups *after*; in SQLite an integer divided by
an integer is an integer (``7 / 2`` is ``3``), so multiply by ``1.0`` first; pass
values as ``?`` parameters (``conn.execute(sql, (species, min_mass_g))``), never by
formatting them into the SQL text.
"""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

DATA = Path(__file__).parent / ".." / ".." / "datasets" / "penguins"  # the repository's datasets/penguins

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


def load_penguins(conn: sqlite3.Connection, folder: str | Path = DATA) -> None:
    """Create the two tables in ``conn`` and fill them from ``penguins.csv`` and ``penguins_raw.csv``.

    Given, not graded (the grader builds its own database). ``folder`` defaults to the
    repository's ``datasets/penguins``, found from this file's location.
    """

    def value(text: str, kind: type) -> int | float | str | None:
        return None if text == "NA" else kind(text)

    folder = Path(folder)
    with open(folder / "penguins.csv", newline="", encoding="utf-8") as f:
        penguins = [
            (
                i,
                r["species"],
                r["island"],
                value(r["bill_length_mm"], float),
                value(r["bill_depth_mm"], float),
                value(r["flipper_length_mm"], int),
                value(r["body_mass_g"], int),
                value(r["sex"], str),
                int(r["year"]),
            )
            for i, r in enumerate(csv.DictReader(f), start=1)
        ]
    with open(folder / "penguins_raw.csv", newline="", encoding="utf-8") as f:
        ratios = [
            (i, value(r["Delta 15 N (o/oo)"], float), value(r["Delta 13 C (o/oo)"], float))
            for i, r in enumerate(csv.DictReader(f), start=1)
        ]
    conn.executescript(SCHEMA)
    conn.executemany("INSERT INTO penguins VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", penguins)
    conn.executemany("INSERT INTO isotopes VALUES (?, ?, ?)", [r for r in ratios if r[1:] != (None, None)])
    conn.commit()


def heavy_penguins(conn: sqlite3.Connection, species: str, min_mass_g: int) -> list[tuple]:
    """Penguins of one species that weigh at least ``min_mass_g`` grams, heaviest first.

    Filter and sort: rows ``(id, island, sex, body_mass_g)`` for every penguin with
    ``species = species`` and ``body_mass_g >= min_mass_g`` (a penguin of unknown mass
    is left out), ordered by ``body_mass_g`` descending, then by ``id`` ascending.
    The order is part of the answer. Pass ``species`` and ``min_mass_g`` as ``?``
    parameters: a species name containing a quote, such as ``"O'Brien"``, must simply
    match nothing.

    Returns
    -------
    list of tuple (id: int, island: str, sex: str or None, body_mass_g: int)
    """
    # BEGIN SOLUTION
    sql = """
        SELECT id, island, sex, body_mass_g
        FROM penguins
        WHERE species = ? AND body_mass_g >= ?
        ORDER BY body_mass_g DESC, id ASC
    """
    return conn.execute(sql, (species, min_mass_g)).fetchall()
    # END SOLUTION


def species_island_summary(conn: sqlite3.Connection, min_penguins: int, min_mean_mass_g: float) -> list[tuple]:
    """Species-island groups that are big enough and heavy enough on average.

    ``GROUP BY species, island``, one row ``(species, island, n_penguins, mean_body_mass_g)``
    per group, where

    - ``n_penguins`` counts **every** penguin of the group, including those whose
      mass is unknown (an int);
    - ``mean_body_mass_g`` is the mean of the *known* masses of the group (a float,
      as ``AVG`` gives it; ``None`` if none is known).

    Keep only the groups with ``n_penguins >= min_penguins`` **and**
    ``mean_body_mass_g >= min_mean_mass_g``: conditions on a group, so they belong
    in ``HAVING``. Rows may come in any order.

    Returns
    -------
    list of tuple (species: str, island: str, n_penguins: int, mean_body_mass_g: float)
    """
    # BEGIN SOLUTION
    sql = """
        SELECT species, island, COUNT(*) AS n_penguins, AVG(body_mass_g) AS mean_body_mass_g
        FROM penguins
        GROUP BY species, island
        HAVING COUNT(*) >= ? AND AVG(body_mass_g) >= ?
    """
    return conn.execute(sql, (min_penguins, min_mean_mass_g)).fetchall()
    # END SOLUTION


def isotopes_by_species(conn: sqlite3.Connection) -> list[tuple]:
    """How many penguins of each species have an isotope sample, and their mean delta 15N.

    Join ``penguins`` with ``isotopes`` (on ``isotopes.penguin_id = penguins.id``),
    keeping every penguin, also those without an ``isotopes`` row (a ``LEFT JOIN``),
    and group by species. One row per species that has at least one penguin:
    ``(species, n_penguins, n_sampled, share_sampled, mean_delta_15n)``, where

    - ``n_penguins``: all penguins of the species (an int);
    - ``n_sampled``: those with a row in ``isotopes`` (an int; 0 if none);
    - ``share_sampled``: ``n_sampled / n_penguins`` as a float between 0 and 1, e.g.
      ``0.5`` for 3 of 6 (beware SQLite's integer division);
    - ``mean_delta_15n``: the mean of the non-``NULL`` ``delta_15n`` values of the
      species (a float, ``None`` if there is none).

    Rows may come in any order.

    Returns
    -------
    list of tuple (species: str, n_penguins: int, n_sampled: int, share_sampled: float,
    mean_delta_15n: float or None)
    """
    # BEGIN SOLUTION
    sql = """
        SELECT p.species,
               COUNT(*) AS n_penguins,
               COUNT(i.penguin_id) AS n_sampled,
               1.0 * COUNT(i.penguin_id) / COUNT(*) AS share_sampled,
               AVG(i.delta_15n) AS mean_delta_15n
        FROM penguins AS p
        LEFT JOIN isotopes AS i ON i.penguin_id = p.id
        GROUP BY p.species
    """
    return conn.execute(sql).fetchall()
    # END SOLUTION


def heaviest_per_species(conn: sqlite3.Connection, k: int) -> list[tuple]:
    """The ``k`` heaviest penguins of each species, ranked, with a window function.

    Rank the penguins of known mass within their species by ``body_mass_g``
    descending, ties broken by ``id`` ascending, so ranks are ``1, 2, 3, ...`` with
    no gaps and no repeats (``ROW_NUMBER() OVER (PARTITION BY species ORDER BY ...)``;
    not ``RANK()``, which repeats a rank on ties). Return the rows with
    ``rank <= k`` as ``(species, rank, id, body_mass_g)``, ordered by species
    (alphabetically), then rank. A species with fewer than ``k`` penguins of known
    mass contributes all of them. The order is part of the answer.

    Returns
    -------
    list of tuple (species: str, rank: int, id: int, body_mass_g: int)
    """
    # BEGIN SOLUTION
    sql = """
        SELECT species, rank, id, body_mass_g
        FROM (
            SELECT species, id, body_mass_g,
                   ROW_NUMBER() OVER (PARTITION BY species ORDER BY body_mass_g DESC, id ASC) AS rank
            FROM penguins
            WHERE body_mass_g IS NOT NULL
        )
        WHERE rank <= ?
        ORDER BY species, rank
    """
    return conn.execute(sql, (k,)).fetchall()
    # END SOLUTION
