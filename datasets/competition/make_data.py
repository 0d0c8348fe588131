"""Write the competition data: a synthetic churn table for a fictional phone and internet provider.

Run from the repository root: ``.venv/bin/python datasets/competition/make_data.py``. Deterministic
(one ``numpy.random.default_rng(SEED)``, no network): the same NumPy version writes the same bytes,
checked by the sha256 sums in ``datasets/competition/README.md``.

It writes four files:

- ``datasets/competition/train.csv``: 4,000 customers with every feature and the label ``churned``;
- ``datasets/competition/test.csv``: 3,000 other customers, the same features, no label;
- ``datasets/competition/sample_submission.csv``: the submission format (every id, the training
  churn rate as a constant prediction);
- ``grader/suites/competition/test_labels.csv``: the withheld labels of the test customers and,
  per row, ``Usage`` = ``Public`` or ``Private`` (Kaggle's "solution file" layout). This file lives
  with the hidden suite only; it must never be copied into ``datasets/`` or ``exercises/``.

How a customer is made (all of it invented; no real person or company is behind any row):

- the features are drawn with realistic dependencies (longer tenure goes with longer contracts,
  fibre costs more, total charges follow tenure times monthly charges with noise);
- the churn probability is a logistic function of a score with non-linear terms (early churn that
  decays with tenure, a threshold on support calls, a U-shape in age, a price shock for expensive
  new contracts, customers who barely use the service), interactions (fibre on a month-to-month
  contract, fibre in the one region where a rival network opened), and a latent unhappiness that
  shows only through support calls and the satisfaction survey (a customer who skipped the survey
  churns more: an informative missing value), plus unobserved noise;
- then 1.5% of the labels are flipped (label noise), and values go missing at random
  (``age``, ``total_charges``, ``partner``, ``data_usage_gb``) or for a reason (``total_charges``
  is blank for customers in their first month, ``satisfaction`` is skipped by about a third).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240917
N_TRAIN = 4000
N_TEST = 3000
ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "datasets" / "competition"
LABELS = ROOT / "grader" / "suites" / "competition" / "test_labels.csv"

REGIONS = [
    "north",
    "south",
    "east",
    "west",
    "central",
    "harbor",
    "lakeside",
    "highlands",
    "valley",
    "coast",
]
FEATURES = [
    "age",
    "tenure_months",
    "contract",
    "internet_service",
    "payment_method",
    "paperless_billing",
    "partner",
    "region",
    "monthly_charges",
    "total_charges",
    "data_usage_gb",
    "support_calls",
    "satisfaction",
    "device_age_months",
    "signup_channel",
]


def _choice(rng: np.random.Generator, options: list[str], p: list[float], n: int) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p)]


def make_customers(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The features and the label ``churned`` of ``n`` customers (before ids and the split),
    and each customer's true churn probability (before label noise; used only to measure the
    best AUC any model could reach)."""
    age = np.clip(rng.normal(46, 15, n), 18, 85).round()
    contract = _choice(rng, ["month-to-month", "one-year", "two-year"], [0.52, 0.26, 0.22], n)
    # tenure grows with the contract length: month-to-month customers are often new
    scale = np.select([contract == "month-to-month", contract == "one-year"], [12.0, 28.0], 45.0)
    tenure = np.clip(np.floor(rng.exponential(scale)), 0, 72).astype(int)
    internet = _choice(rng, ["fiber", "dsl", "none"], [0.45, 0.38, 0.17], n)
    payment = _choice(
        rng, ["electronic_check", "mailed_check", "bank_transfer", "credit_card"], [0.34, 0.22, 0.22, 0.22], n
    )
    paperless = np.where(rng.random(n) < 0.6, "yes", "no").astype(object)
    partner = np.where(rng.random(n) < 0.48, "yes", "no").astype(object)
    region = _choice(rng, REGIONS, [0.14, 0.13, 0.12, 0.12, 0.11, 0.08, 0.08, 0.08, 0.07, 0.07], n)
    base = np.select([internet == "fiber", internet == "dsl"], [82.0, 58.0], 24.0)
    monthly = np.round(np.clip(base + rng.normal(0, 11, n), 15, 130), 2)
    total = np.round(tenure * monthly * rng.lognormal(0, 0.06, n), 2)
    usage = np.where(internet == "none", 0.0, rng.lognormal(np.where(internet == "fiber", 4.6, 3.9), 0.7, n))
    usage = np.round(usage, 1)
    device_age = np.clip(np.floor(rng.gamma(2.0, 10.0, n)), 0, 96).astype(int)
    channel = _choice(rng, ["web", "store", "phone", "partner_shop"], [0.4, 0.3, 0.2, 0.1], n)

    # a latent unhappiness drives support calls, the survey score and churn
    unhappy = rng.normal(0, 1, n) + 0.35 * (internet == "fiber")
    calls = rng.poisson(np.exp(0.2 + 0.45 * unhappy))
    satisfaction = np.clip(np.round(3.2 - 0.9 * unhappy + rng.normal(0, 0.7, n)), 1, 5)

    score = (
        -4.6
        + np.select([contract == "month-to-month", contract == "one-year"], [0.7, -0.2], -1.2)
        + 3.5 * np.exp(-tenure / 3.0)
        + 0.2 * (internet == "fiber")
        + 1.2 * ((internet == "fiber") & (contract == "month-to-month"))
        + 1.6 * ((internet == "fiber") & (region == "harbor"))  # a rival fibre network opened there
        + 0.45 * (payment == "electronic_check")
        + 0.2 * (paperless == "yes")
        - 0.25 * (partner == "yes")
        + 1.1 * np.maximum(calls - 2, 0)
        + 0.3 * unhappy
        + 1.3 * ((monthly > 90) & (tenure < 18))  # a price shock after the welcome discount
        + 1.2 * ((internet != "none") & (usage < 8))  # barely uses the service
        + 0.0022 * (age - 45) ** 2
        - 0.6 * (internet == "none")
        + rng.normal(0, 0.3, n)  # what the provider does not observe
    )
    prob = 1 / (1 + np.exp(-score))
    churned = (rng.random(n) < prob).astype(int)
    flip = rng.random(n) < 0.015  # label noise: mis-recorded churn
    churned = np.where(flip, 1 - churned, churned)

    # the survey is skipped more often by unhappy customers: an informative missing value
    skipped = rng.random(n) < 1 / (1 + np.exp(-(-0.9 + 0.8 * unhappy)))
    satisfaction = np.where(skipped, np.nan, satisfaction)

    df = pd.DataFrame(
        {
            "age": age,
            "tenure_months": tenure,
            "contract": contract,
            "internet_service": internet,
            "payment_method": payment,
            "paperless_billing": paperless,
            "partner": partner,
            "region": region,
            "monthly_charges": monthly,
            "total_charges": total,
            "data_usage_gb": usage,
            "support_calls": calls,
            "satisfaction": satisfaction,
            "device_age_months": device_age,
            "signup_channel": channel,
            "churned": churned,
        }
    )
    # missing at random, and total_charges blank in a customer's first month (nothing billed yet)
    for col, rate in [("age", 0.05), ("total_charges", 0.02), ("partner", 0.06), ("data_usage_gb", 0.04)]:
        df.loc[rng.random(n) < rate, col] = np.nan
    df.loc[df["tenure_months"] == 0, "total_charges"] = np.nan
    return df, prob


def main() -> None:
    rng = np.random.default_rng(SEED)
    df, _ = make_customers(rng, N_TRAIN + N_TEST)
    df.insert(0, "id", rng.permutation(np.arange(100_001, 100_001 + len(df))))
    train = df.iloc[:N_TRAIN].sort_values("id").reset_index(drop=True)
    test = df.iloc[N_TRAIN:].sort_values("id").reset_index(drop=True)
    # Kaggle-style public/private split of the test set: half of each class in each part
    usage = np.empty(len(test), dtype=object)
    for label in (0, 1):
        rows = np.flatnonzero(test["churned"].to_numpy() == label)
        rows = rng.permutation(rows)
        usage[rows[: len(rows) // 2]] = "Public"
        usage[rows[len(rows) // 2 :]] = "Private"

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    LABELS.parent.mkdir(parents=True, exist_ok=True)
    opts = {"index": False, "lineterminator": "\n", "float_format": "%.10g"}
    train.to_csv(DATA_DIR / "train.csv", **opts)
    test.drop(columns="churned").to_csv(DATA_DIR / "test.csv", **opts)
    rate = round(float(train["churned"].mean()), 4)  # 0.1817
    pd.DataFrame({"id": test["id"], "churned": rate}).to_csv(DATA_DIR / "sample_submission.csv", **opts)
    pd.DataFrame({"id": test["id"], "churned": test["churned"], "Usage": usage}).to_csv(LABELS, **opts)


if __name__ == "__main__":
    main()
