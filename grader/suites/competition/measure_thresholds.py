"""Measure the two reference models behind the AUC tiers of test_competition.py.

Run from the repository root: ``OMP_NUM_THREADS=1 .venv/bin/python grader/suites/competition/measure_thresholds.py``.
It prints, for the public and the private half of the test set, the ROC AUC of

- the baseline: logistic regression on the numeric columns only (median imputation, scaling),
  the given baseline of the notebook;
- the strong model: the solution notebook's HistGradientBoosting pipeline with native categorical
  features;

and, for comparison, a few other reasonable models. Copy the first two rows into ``BASELINE``
and ``STRONG`` in test_competition.py if the data is ever regenerated. This file lives beside the
withheld labels, with the grader only (it is not a test: pytest collects only ``test_*.py``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[2] / "datasets" / "competition"


def main() -> None:
    train = pd.read_csv(DATA / "train.csv")
    test = pd.read_csv(DATA / "test.csv")
    labels = pd.read_csv(HERE / "test_labels.csv").set_index("id").loc[test["id"]]
    X, y = train.drop(columns=["id", "churned"]), train["churned"]
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numeric = [c for c in X.columns if c not in categorical]
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    public = (labels["Usage"] == "Public").to_numpy()
    y_test = labels["churned"].to_numpy()

    ordinal = ColumnTransformer(
        [
            (
                "cat",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan),
                categorical,
            )
        ],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    one_hot = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"), OneHotEncoder(handle_unknown="ignore")
                ),
                categorical,
            ),
        ]
    )
    models = {
        "baseline (LR, numeric only)": (
            make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=1000)),
            numeric,
        ),
        "strong (HGB, native categorical; the solution)": (
            make_pipeline(
                ordinal,
                HistGradientBoostingClassifier(
                    categorical_features=categorical,
                    learning_rate=0.05,
                    max_iter=250,
                    max_leaf_nodes=8,
                    min_samples_leaf=30,
                    random_state=0,
                ),
            ),
            list(X.columns),
        ),
        "LR, one-hot + imputation + indicators": (
            make_pipeline(one_hot, LogisticRegression(max_iter=2000)),
            list(X.columns),
        ),
        "HGB defaults (ordinal categories)": (
            make_pipeline(ordinal, HistGradientBoostingClassifier(categorical_features=categorical, random_state=0)),
            list(X.columns),
        ),
        "HGB numeric columns only": (
            HistGradientBoostingClassifier(
                learning_rate=0.05, max_iter=250, max_leaf_nodes=8, min_samples_leaf=30, random_state=0
            ),
            numeric,
        ),
        "random forest, 300 trees": (
            make_pipeline(
                one_hot, RandomForestClassifier(n_estimators=300, min_samples_leaf=5, n_jobs=1, random_state=0)
            ),
            list(X.columns),
        ),
    }
    print(f"{'model':48s} {'cv':>7s} {'public':>7s} {'private':>7s}  time")
    for name, (model, cols) in models.items():
        start = time.perf_counter()
        cv_auc = cross_val_score(model, X[cols], y, cv=cv, scoring="roc_auc").mean()
        p = model.fit(X[cols], y).predict_proba(test[cols])[:, 1]
        pub = roc_auc_score(y_test[public], p[public])
        priv = roc_auc_score(y_test[~public], p[~public])
        print(f"{name:48s} {cv_auc:7.4f} {pub:7.4f} {priv:7.4f}  {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    main()
