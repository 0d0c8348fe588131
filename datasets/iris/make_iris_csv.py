"""Write iris.csv from the copy of Fisher's iris data that ships inside scikit-learn.

Run from anywhere: ``python datasets/iris/make_iris_csv.py``. Deterministic (no randomness,
no network): the rows keep scikit-learn's order, the measurements keep their one decimal, and
the class is written as its name.
"""

from __future__ import annotations

import csv
from pathlib import Path

from sklearn.datasets import load_iris

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]


def main() -> None:
    iris = load_iris()
    out = Path(__file__).resolve().parent / "iris.csv"
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row, target in zip(iris.data, iris.target, strict=True):
            writer.writerow([f"{v:.1f}" for v in row] + [iris.target_names[target]])


if __name__ == "__main__":
    main()
