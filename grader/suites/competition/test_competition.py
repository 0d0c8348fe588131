"""Hidden suite for competition/competition (notebook): a Kaggle-style contest on churn data.

The learner's notebook trains on ``datasets/competition/train.csv``, predicts the churn
probability of every customer of ``test.csv`` and writes ``submission.csv`` (columns ``id`` and
``churned``) in its own folder. That folder is private to the kernel's sandbox, so the suite
reads the file's text *through the kernel* and parses it here, in the grader. The suite first
reads the notebook's ``submission`` DataFrame: an untouched notebook is then "not attempted", and
a notebook that crashed before its submission is reported with its own error instead of having
an old ``submission.csv`` graded.

The withheld labels live only beside this suite, in ``test_labels.csv`` (``id, churned, Usage``,
Kaggle's solution-file layout, written by ``datasets/competition/make_data.py``); they never
enter the learner's kernel.

Public and private leaderboards, as on Kaggle: ``Usage`` splits the 3,000 test customers into a
public and a private half (1,500 each, stratified). By default the AUC tiers grade the public
half, which is what a learner sees in their feedback. An instructor sets the environment variable
``GRADER_PRIVATE_LEADERBOARD=1`` in the grader's process (``GRADER_PRIVATE_LEADERBOARD=1 grader
batch ...``): the tiers then grade the private half (the final standings), and both scores are
recorded. In the default mode the private half is never scored.

Leaderboard entries: the AUC test publishes ``record_property("leaderboard:public AUC", auc)``
and, in private mode only, ``record_property("leaderboard:private AUC", auc)``; the engine puts
them in the report's ``leaderboard`` and ``grader leaderboard`` ranks a batch by them.

Tier thresholds (``AUC >= threshold`` on the half being graded) come from two measured models
(``.venv/bin/python grader/suites/competition/measure_thresholds.py`` measures them again):

============================================  ======  =======
model                                         public  private
============================================  ======  =======
baseline: LogisticRegression, numeric
columns only, median imputation, scaling      0.7975  0.7796
strong: HistGradientBoosting with native
categorical features (the solution)           0.8630  0.8695
============================================  ======  =======

above the baseline = baseline + 0.005; good = baseline + 40% of (strong - baseline);
excellent = strong - 0.010; each rounded up to 3 decimals.
"""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from grader.engine.remote import label
from grader.helpers import DATASETS, fail

LABELS = Path(__file__).with_name("test_labels.csv")
TEST_CSV = DATASETS / "competition" / "test.csv"
PRIVATE_ENV = "GRADER_PRIVATE_LEADERBOARD"
TARGET = "churned"
COLUMNS = ("id", TARGET)
MAX_BYTES = 5_000_000

# Measured with measure_thresholds.py (see the module docstring).
BASELINE = {"public": 0.7975, "private": 0.7796}
STRONG = {"public": 0.8630, "private": 0.8695}
# baseline + 0.005, baseline + 0.4 * (strong - baseline), strong - 0.010, rounded up to 3 decimals
# (the notebook's table shows the same numbers).
TIERS = {
    "public": {"above the baseline": 0.803, "good": 0.824, "excellent": 0.853},
    "private": {"above the baseline": 0.785, "good": 0.816, "excellent": 0.860},
}

# Runs in the learner's kernel: (size in bytes, text) of submission.csv, or None when it is missing.
_READ = (
    "lambda: (lambda p: (p.stat().st_size, p.read_text(encoding='utf-8-sig', errors='replace') "
    f"if p.stat().st_size <= {MAX_BYTES} else None) if p.is_file() else None)"
    "(__import__('pathlib').Path('submission.csv'))"
)

WRITE_HINT = "Write the file from the notebook: submission.to_csv('submission.csv', index=False)."
COLUMNS_HINT = (
    "The file must have exactly two columns, named `id` and `churned`, like sample_submission.csv: "
    "pd.DataFrame({'id': test['id'], 'churned': probabilities}).to_csv('submission.csv', index=False)."
)
FORMAT_FIRST = "Fix the format of submission.csv first: a file that cannot be scored gets no AUC points."


def scored_part() -> str:
    """The half of the test set that the tiers grade: "private" when an instructor asks for it."""
    return "private" if os.environ.get(PRIVATE_ENV, "").strip().lower() in {"1", "true", "yes"} else "public"


@functools.cache
def _solution() -> pd.DataFrame:
    """The withheld labels (id, churned, Usage), indexed by id."""
    return pd.read_csv(LABELS).set_index("id")


@functools.cache
def _test_ids() -> frozenset[int]:
    return frozenset(int(i) for i in pd.read_csv(TEST_CSV, usecols=["id"])["id"])


def _read(sub: Any) -> pd.DataFrame:
    """submission.csv as the grader parses it (all values as read, no conversion yet)."""
    __tracebackhide__ = True
    sub.submission  # noqa: B018 - an untouched notebook is "not attempted"; a crashed one reports its error
    found = label(sub.eval(_READ), "reading submission.csv: Path('submission.csv').read_text")()
    if found is None:
        fail(
            "Your notebook did not write submission.csv in its own folder, so there is nothing to score.",
            hint=WRITE_HINT,
        )
    size, text = found
    if text is None:
        fail(f"submission.csv is {size:,} bytes; a submission of 3,000 rows is about 60 kB.", hint=COLUMNS_HINT)
    if not text.strip():
        fail("submission.csv is empty.", hint=WRITE_HINT)
    try:
        return pd.read_csv(io.StringIO(text))
    except Exception as err:
        fail(f"submission.csv cannot be read as a CSV file: {type(err).__name__}: {err}", hint=COLUMNS_HINT)


def _check_columns(df: pd.DataFrame) -> None:
    __tracebackhide__ = True
    cols = [str(c) for c in df.columns]
    if sorted(cols) == sorted(COLUMNS) and len(cols) == 2:
        return
    if any(c.startswith("Unnamed") for c in cols):
        fail(
            f"submission.csv has the columns {cols}: the unnamed one is the DataFrame's index, which to_csv writes "
            "unless you pass index=False.",
            hint="submission.to_csv('submission.csv', index=False).",
        )
    stripped = [c.strip() for c in cols]
    if sorted(stripped) == sorted(COLUMNS) and len(cols) == 2:
        fail(f"submission.csv has the columns {cols}: remove the spaces around the names.", hint=COLUMNS_HINT)
    fail(
        f"submission.csv has the columns {cols}; it must have exactly two, named `id` and `churned`.", hint=COLUMNS_HINT
    )


def _ids(df: pd.DataFrame) -> np.ndarray:
    """The id column as int64, checked to be each test id exactly once."""
    __tracebackhide__ = True
    if "id" not in df.columns:
        fail(f"submission.csv has no `id` column (its columns: {[str(c) for c in df.columns]}).", hint=COLUMNS_HINT)
    raw = pd.to_numeric(df["id"], errors="coerce")
    bad = raw.isna() | (raw != np.floor(raw))
    if bad.any():
        example = df["id"][bad].iloc[0]
        fail(
            f"{int(bad.sum())} value(s) of the `id` column are not whole numbers (for example {example!r}).",
            hint="Copy the ids from test.csv unchanged: submission['id'] = test['id'].",
        )
    ids = raw.to_numpy().astype(np.int64)
    expected = _test_ids()
    uniq, counts = np.unique(ids, return_counts=True)
    dup = uniq[counts > 1]
    if len(dup):
        fail(
            f"{len(dup)} id(s) appear more than once in submission.csv (for example {int(dup[0])}); each customer "
            "must get exactly one prediction.",
            hint="Predict once per row of test.csv, and do not concatenate several submissions.",
        )
    given = {int(i) for i in ids}
    missing = sorted(expected - given)
    extra = sorted(given - expected)
    if missing:
        fail(
            f"{len(missing)} of the {len(expected):,} test ids are missing from submission.csv (for example "
            f"{missing[:3]}). Kaggle rejects such a file.",
            hint="Predict every row of test.csv: do not drop rows with missing values; handle the missing values "
            "inside the pipeline (an imputer, or a model that accepts NaN).",
        )
    if extra:
        fail(
            f"submission.csv holds {len(extra)} id(s) that are not in test.csv (for example {extra[:3]}).",
            hint="Take the ids from test.csv (test['id']), not from train.csv or a range of numbers.",
        )
    return ids


def _predictions(df: pd.DataFrame) -> np.ndarray:
    """The churned column as float64, checked to be probabilities without NaN."""
    __tracebackhide__ = True
    if TARGET not in df.columns:
        fail(
            f"submission.csv has no `churned` column (its columns: {[str(c) for c in df.columns]}).", hint=COLUMNS_HINT
        )
    values = pd.to_numeric(df[TARGET], errors="coerce")
    not_numbers = values.isna() & df[TARGET].notna()
    if not_numbers.any():
        fail(
            f"{int(not_numbers.sum())} value(s) of `churned` are not numbers (for example "
            f"{df[TARGET][not_numbers].iloc[0]!r}).",
            hint="Submit the probability of churn as a number: model.predict_proba(...)[:, 1].",
        )
    p = values.to_numpy(dtype=np.float64)
    if np.isnan(p).any():
        fail(
            f"{int(np.isnan(p).sum())} row(s) of submission.csv have no prediction (NaN or an empty cell); every "
            "customer needs one.",
            hint="NaN predictions usually come from predicting only the rows without missing values and aligning "
            "on the index. Predict all rows of test.csv with a pipeline that handles the missing values.",
        )
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        fail(
            f"The `churned` values range from {np.min(p):.4g} to {np.max(p):.4g}; they must be probabilities in "
            "[0, 1].",
            hint="Use model.predict_proba(...)[:, 1], not decision_function (scores) or logits.",
        )
    return p


def _valid(sub: Any) -> pd.DataFrame:
    """id and prediction, sorted by id, from a submission that passes every format check."""
    __tracebackhide__ = True
    df = _read(sub)
    try:
        _check_columns(df)
        ids = _ids(df)
        p = _predictions(df)
    except pytest.fail.Exception as err:
        fail(f"{FORMAT_FIRST}\n{err.msg}")
    return pd.DataFrame({"id": ids, TARGET: p}).sort_values("id").reset_index(drop=True)


def _auc(sub: Any, part: str) -> tuple[float, np.ndarray]:
    """ROC AUC of the submission on one half of the test set, and the predictions of that half."""
    sol = _solution()
    sub_df = _valid(sub).set_index("id")
    rows = sol.index[sol["Usage"].str.lower() == part]
    y = sol.loc[rows, TARGET].to_numpy()
    p = sub_df.loc[rows, TARGET].to_numpy()
    return float(roc_auc_score(y, p)), p


def _check_tier(sub: Any, tier: str, record: Any = None) -> None:
    __tracebackhide__ = True
    part = scored_part()
    auc, p = _auc(sub, part)
    if record is not None:
        public = auc if part == "public" else _auc(sub, "public")[0]
        record("leaderboard:public AUC", round(public, 6))
        if part == "private":
            record("leaderboard:private AUC", round(auc, 6))
    threshold = TIERS[part][tier]
    if auc >= threshold:
        return
    where = f"Your {part} AUC is {auc:.4f} (on the {part} half of the test set, 1,500 customers)"
    distinct = np.unique(p)
    if len(distinct) == 1:
        fail(
            f"{where}: every prediction is the same number ({distinct[0]:.4g}), and a constant scores 0.5.",
            hint="Fit a model and submit each customer's own probability: model.predict_proba(test[X.columns])[:, 1].",
        )
    if len(distinct) <= 2:
        fail(
            f"{where}: your predictions take only the values {distinct.tolist()}. Hard 0/1 labels throw away the "
            "ranking that ROC AUC measures.",
            hint="Submit probabilities with model.predict_proba(...)[:, 1], not model.predict(...).",
        )
    if auc < 0.45:
        fail(
            f"{where}, below 0.5: your predictions rank the customers backwards (stayers above churners).",
            hint="Submit the probability of the class churned = 1, which is column 1 of predict_proba "
            "(predict_proba(...)[:, 1]); column 0 is the probability of staying.",
        )
    if auc < 0.55:
        fail(
            f"{where}, about what random numbers score: the predictions carry no information about these customers.",
            hint="Check that each prediction sits on the row of its own id: predict test in its own order and take "
            "the ids from the same rows (test['id']); never sort or shuffle one of the two.",
        )
    ladder = ", ".join(f"{name} {value:.3f}" for name, value in TIERS[part].items())
    if tier == "above the baseline":
        hint = (
            "Beat the baseline (logistic regression on the numeric columns only): use the categorical columns "
            "too (one-hot or ordinal encoding inside a ColumnTransformer), keep the missing-value handling inside "
            "the pipeline, and compare your cv_auc with the baseline's before submitting."
        )
    elif tier == "good":
        hint = (
            "Use every column: encode the categorical ones, add missing-value indicators "
            "(SimpleImputer(add_indicator=True)), or try gradient boosting (HistGradientBoostingClassifier), which "
            "captures non-linear effects and interactions."
        )
    else:
        hint = (
            "Tune gradient boosting against cross-validation: HistGradientBoostingClassifier with the categorical "
            "columns declared in categorical_features, a smaller learning rate with more trees (e.g. 0.05 and 250), "
            "small trees (max_leaf_nodes around 8, min_samples_leaf 20-50)."
        )
    fail(f"{where}; the '{tier}' tier needs {threshold:.3f} (tiers on the {part} half: {ladder}).", hint=hint)


# ---------------------------------------------------------------- format (3 points)


@pytest.mark.public
@pytest.mark.points(1)
def test_submission_has_exactly_the_columns_id_and_churned(sub):
    _check_columns(_read(sub))


@pytest.mark.public
@pytest.mark.points(1)
def test_submission_has_each_test_id_once(sub):
    _ids(_read(sub))


@pytest.mark.points(1)
def test_predictions_are_probabilities_without_nan(sub):
    _predictions(_read(sub))


# ---------------------------------------------------------------- the metric (7 points)


@pytest.mark.points(3)
def test_auc_beats_the_baseline(sub, record_property):
    _check_tier(sub, "above the baseline", record_property)


@pytest.mark.points(2)
def test_auc_is_good(sub):
    _check_tier(sub, "good")


@pytest.mark.points(2)
def test_auc_is_excellent(sub):
    _check_tier(sub, "excellent")
