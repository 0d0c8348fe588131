"""Hidden suite for prerequisites/csv_analysis (notebook): pandas on the Palmer penguins CSV.

The grader reads ``datasets/penguins/penguins.csv`` itself and recomputes every required name
from the rules pinned in the notebook's text. Frames are compared with
``pandas.testing.assert_frame_equal(check_like=True)`` after the reference has made the same
codec round trip as the learner's value, so both sides use the same representation of missing
strings. The figure stays in the kernel; a probe reads its axis labels and plotted points.
"""

from __future__ import annotations

import collections
import contextlib
import functools
from typing import Any

import numpy as np
import pandas as pd
import pytest

from grader.engine import codec
from grader.engine.remote import RemoteRef
from grader.helpers import DATASETS, fail

MEASUREMENTS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
PATH = "../../datasets/penguins/penguins.csv"

# Runs in the learner's kernel: for each Axes of the figure, its labels and every plotted point
# (scatter offsets and line vertices) as float arrays of shape (k, 2).
_FIGURE_PROBE = """
lambda fig: [
    (
        str(ax.get_xlabel()),
        str(ax.get_ylabel()),
        [__import__("numpy").asarray(c.get_offsets(), dtype=float).reshape(-1, 2) for c in ax.collections]
        + [__import__("numpy").asarray(ln.get_xydata(), dtype=float).reshape(-1, 2) for ln in ax.lines],
    )
    for ax in fig.get_axes()
]
""".strip()

_CLEAN_RULE = (
    "Drop every row with a missing value in any column, sex included (df.dropna()), keep the other rows in "
    "their order, and fill in nothing."
)


# ---------------------------------------------------------------- references (grader side)


def _round_trip(value: Any) -> Any:
    """``value`` as it looks after crossing the codec, like every learner value does."""
    return codec.loads(codec.dumps(value))


@functools.cache
def _reference() -> dict[str, Any]:
    df = pd.read_csv(DATASETS / "penguins" / "penguins.csv")
    clean = df.dropna().astype({"flipper_length_mm": "int64", "body_mass_g": "int64"})
    gentoo = clean[clean["species"] == "Gentoo"].groupby("sex")["body_mass_g"].mean()
    return {
        "df": df,
        "missing": df.isna().sum(),
        "rows_with_missing": int(df.isna().any(axis=1).sum()),
        "clean": clean,
        "summary": clean.groupby(["species", "sex"])[MEASUREMENTS].mean(),
        "heaviest": str(clean.groupby("species")["body_mass_g"].mean().idxmax()),
        "gap": float(gentoo["male"] - gentoo["female"]),
        "corr": float(clean["flipper_length_mm"].corr(clean["body_mass_g"])),
    }


# ---------------------------------------------------------------- reading the learner's values


def _describe(value: Any) -> str:
    if isinstance(value, RemoteRef):
        return f"a {value.type_name}"
    return f"a {type(value).__name__}"


def _frame(value: Any, name: str) -> pd.DataFrame:
    __tracebackhide__ = True
    if not isinstance(value, pd.DataFrame):
        fail(f"`{name}` should be a pandas DataFrame, but it is {_describe(value)}.")
    return value


def _frame_diff(actual: pd.DataFrame, expected: pd.DataFrame, **kwargs: Any) -> str | None:
    """The first line of assert_frame_equal's complaint, or None when the frames match."""
    try:
        pd.testing.assert_frame_equal(actual, expected, check_like=True, rtol=1e-9, atol=1e-9, **kwargs)
    except AssertionError as err:
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        return " ".join(lines[:3])
    return None


def _own_clean(sub: Any) -> pd.DataFrame | None:
    """The learner's own `clean`, when it is a frame with the needed columns (to explain knock-on errors)."""
    clean = sub.clean
    needed = {"species", "sex", *MEASUREMENTS}
    if isinstance(clean, pd.DataFrame) and needed <= set(clean.columns):
        return clean
    return None


_KNOCK_ON = "It matches what your own `clean` gives, so fix `clean` first (see the test on clean); this follows."


def _number(value: Any, name: str, kind: str) -> float:
    __tracebackhide__ = True
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    ok = int | np.integer if kind == "int" else int | float | np.integer | np.floating
    if isinstance(value, bool | np.bool_) or not isinstance(value, ok):
        fail(
            f"`{name}` should be a{'n' if kind == 'int' else ''} {kind}, but it is {_describe(value)}.",
            hint=f"Convert the pandas result with {kind}(...).",
        )
    return float(value)


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(1)
def test_df_is_the_file_as_read(sub: Any) -> None:
    ref = _round_trip(_reference()["df"])
    df = _frame(sub.df, "df")
    if df.shape != ref.shape:
        hint = f"Read it with pd.read_csv({PATH!r}) and default arguments."
        if len(df) < len(ref):
            hint = (
                "Leave `df` as read: make the cleaned table a new frame (clean = df.dropna()...), never "
                "df.dropna(inplace=True) or df = df.dropna()."
            )
        fail(f"`df` has shape {df.shape}, but the file as read has shape {ref.shape} (344 penguins, 8 columns).", hint)
    diff = _frame_diff(df, ref)
    if diff is not None:
        fail(
            f"`df` differs from the file as pd.read_csv reads it: {diff}",
            hint=f"Read it with pd.read_csv({PATH!r}) and default arguments, and do not change it afterwards.",
        )


@pytest.mark.public
@pytest.mark.points(1)
def test_missing_values_are_counted(sub: Any) -> None:
    ref = _reference()
    missing = sub.missing_by_column
    if not isinstance(missing, pd.Series):
        fail(
            f"`missing_by_column` should be a pandas Series, but it is {_describe(missing)}.",
            hint="df.isna().sum() gives one count per column.",
        )
    expected = ref["missing"]
    if sorted(map(str, missing.index)) != sorted(expected.index):
        fail(
            f"`missing_by_column` is indexed by {list(missing.index)}, expected the column names of df "
            f"{list(expected.index)}.",
            hint="df.isna().sum() gives one count per column, indexed by column name.",
        )
    got = missing.copy()
    got.index = got.index.map(str)
    got = got.reindex(expected.index)
    values = pd.to_numeric(got, errors="coerce").to_numpy(dtype=float)
    if np.allclose(values, len(ref["df"]) - expected.to_numpy()):
        fail(
            "`missing_by_column` counts the values that are present, not the missing ones.",
            hint="Count missing values: df.isna().sum() (df.count() counts the present ones).",
        )
    if np.allclose(values, expected.to_numpy() / len(ref["df"])):
        fail(
            "`missing_by_column` holds fractions; it should hold counts.",
            hint="df.isna().sum() counts; df.isna().mean() gives fractions.",
        )
    if not np.array_equal(values, expected.to_numpy(dtype=float)):
        bad = [c for c, g, e in zip(expected.index, values, expected, strict=True) if g != e]
        fail(
            f"`missing_by_column` is wrong for {bad}: for example {bad[0]!r} has {int(expected[bad[0]])} missing "
            "values.",
            hint="df.isna().sum()",
        )
    rows = _number(sub.answer_rows_with_missing, "answer_rows_with_missing", "int")
    if rows == int(expected.sum()) and rows != ref["rows_with_missing"]:
        fail(
            f"`answer_rows_with_missing` is {int(rows)}, the number of missing cells; expected the number of rows "
            f"with at least one missing value, {ref['rows_with_missing']}.",
            hint="Count rows, not cells: df.isna().any(axis=1).sum().",
        )
    if rows != ref["rows_with_missing"]:
        fail(
            f"`answer_rows_with_missing` is {rows:g}, expected {ref['rows_with_missing']}.",
            hint="df.isna().any(axis=1) marks the rows with at least one missing value; sum it.",
        )


@pytest.mark.points(2)
def test_clean_drops_every_incomplete_row(sub: Any) -> None:
    ref = _round_trip(_reference()["clean"])
    clean = _frame(sub.clean, "clean")
    if sorted(map(str, clean.columns)) != sorted(ref.columns):
        fail(f"`clean` has the columns {list(clean.columns)}, expected the 8 columns of df {list(ref.columns)}.")
    if len(clean) == len(_reference()["df"]):
        hint = _CLEAN_RULE
        if not clean.isna().any().any():
            hint = "The rule drops incomplete rows; it does not fill them in. " + _CLEAN_RULE
        fail(f"`clean` still has all {len(clean)} rows, but {ref.shape[0]} should remain.", hint)
    if len(clean) != len(ref):
        hint = _CLEAN_RULE
        if clean["sex"].isna().any():
            hint = "Rows with a missing sex must go too: drop rows with a missing value in any column. " + _CLEAN_RULE
        fail(f"`clean` has {len(clean)} rows, expected {len(ref)}.", hint)
    if clean.isna().any().any():
        fail("`clean` still contains missing values.", _CLEAN_RULE)
    diff = _frame_diff(clean.reset_index(drop=True), ref.reset_index(drop=True), check_dtype=False)
    if diff is not None:
        fail(
            f"`clean` does not hold the rows of df.dropna() in their original order: {diff}",
            hint=_CLEAN_RULE + " Do not sort the rows or change their values.",
        )


@pytest.mark.points(1)
def test_clean_has_integer_measurements(sub: Any) -> None:
    clean = _frame(sub.clean, "clean")
    for column in ("flipper_length_mm", "body_mass_g"):
        if column not in clean.columns:
            fail(f"`clean` has no column {column!r}.")
        if clean[column].dtype != np.int64:
            fail(
                f"`clean[{column!r}]` has dtype {clean[column].dtype}, expected int64.",
                hint="After dropping the rows with NaN, convert the whole-number columns back: "
                "clean.astype({'flipper_length_mm': 'int64', 'body_mass_g': 'int64'}).",
            )
    if len(clean) == len(_reference()["df"]):
        fail("`clean` still has every row of df; drop the incomplete rows first.", hint=_CLEAN_RULE)


@pytest.mark.points(2)
def test_summary_is_the_mean_per_species_and_sex(sub: Any) -> None:
    ref = _reference()
    expected = _round_trip(ref["summary"])
    summary = _frame(sub.summary, "summary")
    if {"species", "sex"} <= set(summary.columns):
        summary = summary.set_index(["species", "sex"])  # as_index=False is fine too
    if list(summary.index.names) != ["species", "sex"]:
        fail(
            f"`summary` is indexed by {list(summary.index.names)}, expected the levels ['species', 'sex'].",
            hint="Group by both columns, in that order: clean.groupby(['species', 'sex'])[MEASUREMENTS].mean().",
        )
    if sorted(map(str, summary.columns)) != sorted(MEASUREMENTS):
        fail(
            f"`summary` has the columns {list(summary.columns)}, expected the four measurements {MEASUREMENTS}.",
            hint="Select the measurement columns before averaging: ...[MEASUREMENTS].mean().",
        )
    clean = ref["clean"]
    for how in ("median", "sum"):
        other = clean.groupby(["species", "sex"])[MEASUREMENTS].agg(how)
        if _frame_diff(summary, _round_trip(other), check_dtype=False) is None:
            fail(f"`summary` holds the {how} of each group, not the mean.", hint="Use .mean() on the grouped frame.")
    diff = _frame_diff(summary, expected, check_dtype=False)
    own = _own_clean(sub)
    if diff is not None and own is not None:
        with contextlib.suppress(Exception):  # the learner's clean may hold anything
            if _frame_diff(summary, own.groupby(["species", "sex"])[MEASUREMENTS].mean(), check_dtype=False) is None:
                fail(f"`summary` differs from the mean of each measurement per (species, sex) in clean. {_KNOCK_ON}")
    if diff is not None:
        fail(
            f"`summary` differs from the mean of each measurement per (species, sex) in clean: {diff}",
            hint="summary = clean.groupby(['species', 'sex'])[MEASUREMENTS].mean(), computed from `clean`.",
        )


@pytest.mark.points(1)
def test_heaviest_species_and_gentoo_sex_gap(sub: Any) -> None:
    ref = _reference()
    heaviest = sub.answer_heaviest_species
    if not isinstance(heaviest, str):
        fail(f"`answer_heaviest_species` should be a str, but it is {_describe(heaviest)}.")
    if heaviest != ref["heaviest"]:
        fail(
            f"`answer_heaviest_species` is {heaviest!r}, but another species has the highest mean body mass.",
            hint="clean.groupby('species')['body_mass_g'].mean().idxmax() gives the species name.",
        )
    gap = _number(sub.answer_gentoo_sex_gap, "answer_gentoo_sex_gap", "float")
    if np.isclose(gap, -ref["gap"], rtol=1e-9):
        fail(
            f"`answer_gentoo_sex_gap` is {gap:.6g}: the sign is flipped.",
            hint="Males minus females: mean mass of male Gentoo penguins - mean mass of female ones.",
        )
    if not np.isclose(gap, ref["gap"], rtol=1e-9):
        fail(
            f"`answer_gentoo_sex_gap` is {gap:.6g}, which is not the difference between the mean body masses of "
            "male and female Gentoo penguins in clean.",
            hint="Filter the Gentoo rows of clean, group them by sex, take the mean body_mass_g, subtract: "
            "male minus female.",
        )


@pytest.mark.points(1)
def test_flipper_mass_correlation(sub: Any) -> None:
    ref = _reference()
    corr = _number(sub.answer_flipper_mass_corr, "answer_flipper_mass_corr", "float")
    if np.isclose(corr, ref["corr"], rtol=1e-9):
        return
    clean, df = ref["clean"], ref["df"]
    if np.isclose(corr, clean["flipper_length_mm"].corr(clean["body_mass_g"], method="spearman"), rtol=1e-9):
        fail(
            f"`answer_flipper_mass_corr` is {corr:.6g}, Spearman's rank correlation.",
            hint="Use Pearson's correlation, the default of Series.corr.",
        )
    own = _own_clean(sub)
    if own is not None:
        with contextlib.suppress(Exception):  # the learner's clean may hold anything
            if np.isclose(corr, float(own["flipper_length_mm"].corr(own["body_mass_g"])), rtol=1e-9):
                fail(f"`answer_flipper_mass_corr` is {corr:.6g}, not the value for the correct clean. {_KNOCK_ON}")
    if np.isclose(corr, df["flipper_length_mm"].corr(df["body_mass_g"]), rtol=1e-9):
        fail(
            f"`answer_flipper_mass_corr` is {corr:.6g}, computed from df; compute it over all rows of clean.",
            hint="Compute it over all rows of clean: clean['flipper_length_mm'].corr(clean['body_mass_g']).",
        )
    fail(
        f"`answer_flipper_mass_corr` is {corr:.6g}, but the Pearson correlation of flipper_length_mm and "
        f"body_mass_g over all rows of clean is different.",
        hint="clean['flipper_length_mm'].corr(clean['body_mass_g']): all species together.",
    )


@pytest.mark.points(1)
def test_figure_plots_mass_against_flipper_with_labels(sub: Any) -> None:
    fig = sub.fig
    if not isinstance(fig, RemoteRef) or "matplotlib.figure.Figure" not in fig.type_mro:
        fail(
            f"`fig` should be a matplotlib Figure, but it is {_describe(fig)}.",
            hint="fig, ax = plt.subplots() gives the figure and its axes.",
        )
    axes = sub.eval(_FIGURE_PROBE)(fig)
    if not axes:
        fail("`fig` has no axes: nothing is plotted on it.", hint="fig, ax = plt.subplots(); ax.scatter(x, y).")
    clean = _reference()["clean"]
    want = collections.Counter(
        zip(clean["flipper_length_mm"].astype(float).round(6), clean["body_mass_g"].astype(float).round(6), strict=True)
    )

    def points(arrays: list[np.ndarray]) -> collections.Counter[tuple[float, float]]:
        pts = np.concatenate([np.asarray(a, dtype=float).reshape(-1, 2) for a in arrays] or [np.empty((0, 2))])
        pts = pts[np.isfinite(pts).all(axis=1)].round(6)
        return collections.Counter(map(tuple, pts.tolist()))

    best = max(axes, key=lambda a: sum(points(a[2]).values()))
    xlabel, ylabel, arrays = best
    have = points(arrays)
    if not want - have:
        pass
    elif not want - collections.Counter({(y, x): n for (x, y), n in have.items()}):
        fail(
            "The axes are swapped: `fig` plots flipper length against body mass.",
            hint="Put flipper_length_mm on the x axis and body_mass_g on the y axis: ax.scatter(flipper, mass).",
        )
    else:
        missing = sum((want - have).values())
        fail(
            f"`fig` does not show every row of clean as a point (flipper_length_mm, body_mass_g): {missing} of "
            f"{len(clean)} are missing.",
            hint="Scatter all rows of clean: flipper_length_mm on the x axis, body_mass_g on the y axis.",
        )
    if "flipper" not in xlabel.lower() or "mass" not in ylabel.lower():
        fail(
            f"The axes of `fig` are labelled x={xlabel!r}, y={ylabel!r}: label both with what they show and its "
            "unit, the x label containing 'flipper' and the y label 'mass'.",
            hint="ax.set_xlabel('flipper length (mm)'); ax.set_ylabel('body mass (g)').",
        )
