"""Hidden suite for ml-basics/metrics: accuracy, confusion matrix, precision/recall/F1, ROC AUC and curve.

Everything is compared with scikit-learn on fixtures full of ties (scores rounded to a few values),
plus the AUC's invariances: unchanged by any strictly increasing transform, and AUC(-s) = 1 - AUC(s).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from grader.helpers import assert_close, assert_equal, expect_raises, fail

_ROWS = (
    "Rows are the true labels and columns the predicted labels: C[i, j] counts samples with true label labels[i] "
    "predicted as labels[j] (sklearn's convention)."
)
_HALF = (
    "Ties get half credit: AUC = (#pairs with s_pos > s_neg + 0.5 * #pairs with s_pos == s_neg) / (n_pos * n_neg). "
    "Average ranks (tied scores share the mean of their ranks) give exactly that."
)
_SCORES = (
    "Compute the AUC from the scores themselves, not from hard labels such as score >= 0.5: the AUC measures how "
    "well the scores rank positives above negatives, at every threshold."
)
_ZERO = (
    "Zero division gives 0: a class never predicted has precision 0, a class never present has recall 0, and F1 is 0 "
    "when precision + recall is 0. Never return NaN."
)


# ---------------------------------------------------------------- fixtures (grader side)


def _scored(rng: np.random.Generator, n: int, levels: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Binary labels and probability-like scores rounded to a few levels: many ties, overlapping classes."""
    y = rng.integers(0, 2, size=n)
    y[:2] = [0, 1]
    raw = 1.0 / (1.0 + np.exp(-(1.2 * (2 * y - 1) + rng.normal(size=n))))
    return y, np.round(raw * levels) / levels


def _sk_prf(y_true: np.ndarray, y_pred: np.ndarray, **kw: Any) -> tuple[float, float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = {"average": "binary", **kw}
        p, r, f, _ = skm.precision_recall_fscore_support(y_true, y_pred, zero_division=0, **kw)
    return float(p), float(r), float(f)


def _float(value: Any, name: str) -> float:
    __tracebackhide__ = True
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        fail(f"`{name}` should return a float, but it returned a {type(value).__name__}.", hint="Use float(...).")
    return float(value)


def _prf(sub: Any, y_true: np.ndarray, y_pred: np.ndarray, **kw: Any) -> tuple[float, float, float]:
    __tracebackhide__ = True
    out = sub.precision_recall_f1(y_true, y_pred, **kw)
    if not isinstance(out, tuple | list) or len(out) != 3:
        fail(f"`precision_recall_f1` should return (precision, recall, f1), but it returned {out!r:.80}.")
    values = tuple(_float(v, "precision_recall_f1") for v in out)
    if any(np.isnan(v) for v in values):
        args = ", ".join(["y_true", "y_pred", *(f"{k}={v!r}" for k, v in kw.items())])
        fail(f"`precision_recall_f1({args})` returned {values}, with NaN.", hint=_ZERO)
    return values  # type: ignore[return-value]


def _check_prf(sub: Any, y_true: np.ndarray, y_pred: np.ndarray, what: str, **kw: Any) -> None:
    __tracebackhide__ = True
    got = _prf(sub, y_true, y_pred, **kw)
    exp = _sk_prf(y_true, y_pred, **kw)
    if np.allclose(got, exp, rtol=1e-12, atol=1e-12):
        return
    if np.allclose(got, (exp[1], exp[0], exp[2]), rtol=1e-12, atol=1e-12):
        fail(
            f"precision and recall are swapped ({what}): you returned {got[:2]}, expected {exp[:2]}.",
            hint="precision = tp / (tp + fp) (the share of predicted positives that are right); "
            "recall = tp / (tp + fn).",
        )
    names = ("precision", "recall", "f1")
    for name, g, e in zip(names, got, exp, strict=True):
        hint = {
            "precision": "precision = tp / (tp + fp), with the class taken as positive and every other label negative.",
            "recall": "recall = tp / (tp + fn), with the class taken as positive and every other label negative.",
            "f1": "f1 = 2 * precision * recall / (precision + recall).",
        }[name]
        if kw.get("average") == "macro":
            hint += " Macro: compute it per label (every label in y_true or y_pred), then take the plain mean."
        assert_close(g, e, rtol=1e-12, atol=1e-12, name=f"{name} ({what})", hint=hint)


def _auc(sub: Any, y: np.ndarray, s: np.ndarray, what: str) -> float:
    __tracebackhide__ = True
    value = _float(sub.roc_auc_score(y, s), "roc_auc_score")
    if np.isnan(value):
        fail(f"`roc_auc_score` ({what}) returned NaN.")
    return value


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(1)
def test_accuracy(sub: Any, rng: np.random.Generator) -> None:
    y_true = rng.integers(0, 3, size=50)
    y_pred = np.where(rng.uniform(size=50) < 0.7, y_true, rng.integers(0, 3, size=50))
    got = _float(sub.accuracy(y_true, y_pred), "accuracy")
    if np.isclose(got, 100 * skm.accuracy_score(y_true, y_pred)):
        fail(f"`accuracy` returned {got}, a percentage.", hint="Return a fraction in [0, 1], not a percentage.")
    assert_close(got, skm.accuracy_score(y_true, y_pred), rtol=1e-12, name="accuracy", hint="mean(y_true == y_pred)")
    words = np.array(["cat", "dog", "dog", "emu"])
    assert_close(
        _float(sub.accuracy(words, np.array(["cat", "dog", "emu", "emu"])), "accuracy"),
        0.75,
        rtol=1e-12,
        name="accuracy on string labels",
        hint="Compare labels with ==; they need not be numbers.",
    )
    with expect_raises("ValueError", name="accuracy with 4 true and 3 predicted labels", hint="Check the lengths."):
        sub.accuracy(words, words[:3])


@pytest.mark.public
@pytest.mark.points(2)
def test_confusion_matrix_matches_sklearn(sub: Any, rng: np.random.Generator) -> None:
    y_true = rng.integers(0, 3, size=60)
    y_pred = np.where(rng.uniform(size=60) < 0.6, y_true, rng.integers(0, 4, size=60))  # label 3 is only predicted
    y_pred[0] = 3
    expected = skm.confusion_matrix(y_true, y_pred)
    got = sub.confusion_matrix(y_true, y_pred)
    if not isinstance(got, np.ndarray) or got.shape != expected.shape:
        shape = got.shape if isinstance(got, np.ndarray) else type(got).__name__
        fail(
            f"`confusion_matrix` returned {shape}; expected an ndarray of shape {expected.shape}: labels 0..3 (label 3 "
            "is only ever predicted).",
            hint="By default the labels are np.unique of y_true and y_pred together.",
        )
    if got.dtype.kind not in "iu":
        fail(f"`confusion_matrix` has dtype {got.dtype}, expected int64 counts.")
    if np.array_equal(got, expected.T) and not np.array_equal(got, expected):
        fail("Your confusion matrix is transposed: its rows are the predicted labels.", hint=_ROWS)
    assert_equal(got, expected, name="confusion_matrix(y_true, y_pred)", hint=_ROWS)
    # string labels, and an explicit label order that leaves one label out
    names = np.array(["ant", "bee", "cow"])
    t, p = names[rng.integers(0, 3, size=30)], names[rng.integers(0, 3, size=30)]
    assert_equal(
        sub.confusion_matrix(t, p),
        skm.confusion_matrix(t, p),
        name="confusion_matrix on string labels",
        hint="Labels can be strings: map each label to its row/column index, e.g. with a dict.",
    )
    order = np.array(["cow", "ant"])
    assert_equal(
        sub.confusion_matrix(t, p, labels=order),
        skm.confusion_matrix(t, p, labels=order),
        name="confusion_matrix(..., labels=['cow', 'ant'])",
        hint="With labels given, rows and columns follow that order, and samples whose true or predicted label is "
        "not in labels are left out.",
    )


@pytest.mark.public
@pytest.mark.points(1)
def test_precision_recall_f1_binary(sub: Any, rng: np.random.Generator) -> None:
    y_true = rng.integers(0, 2, size=80)
    y_pred = np.where(rng.uniform(size=80) < 0.3, 1 - y_true, y_true)
    y_pred[:6] = 1  # more false positives than false negatives: precision != recall
    y_true[:6] = [0, 0, 0, 0, 1, 0]
    _check_prf(sub, y_true, y_pred, "average='binary', pos_label=1")
    _check_prf(sub, y_true, y_pred, "average='binary', pos_label=0", pos_label=0)
    words = np.array(["spam", "ham"])
    _check_prf(sub, words[y_true], words[y_pred], "labels 'spam'/'ham', pos_label='ham'", pos_label="ham")
    with expect_raises("ValueError", name="precision_recall_f1(..., average='micro')", hint="Only binary and macro."):
        sub.precision_recall_f1(y_true, y_pred, average="micro")


@pytest.mark.points(1)
def test_zero_division_gives_zero(sub: Any) -> None:
    y_true = np.array([1, 0, 1, 0, 0])
    never_predicted = np.zeros(5, dtype=np.int64)
    got = _prf(sub, y_true, never_predicted)
    if got != (0.0, 0.0, 0.0):
        fail(f"When class 1 is never predicted, precision_recall_f1 returned {got}, expected (0.0, 0.0, 0.0).", _ZERO)
    got = _prf(sub, np.zeros(4, dtype=np.int64), np.array([1, 0, 0, 0]))
    if got != (0.0, 0.0, 0.0):
        fail(f"When class 1 never occurs in y_true, precision_recall_f1 returned {got}, expected (0, 0, 0).", _ZERO)
    # macro over labels 0, 1, 2 where label 2 is only predicted: its recall and precision are 0
    _check_prf(
        sub, np.array([0, 0, 1, 1, 1]), np.array([0, 2, 1, 1, 0]), "macro, label 2 only predicted", average="macro"
    )


@pytest.mark.points(1)
def test_macro_average_matches_sklearn(sub: Any, rng: np.random.Generator) -> None:
    names = np.array(["a", "b", "c", "d"])
    y_true = names[rng.choice(4, size=90, p=[0.5, 0.3, 0.15, 0.05])]  # unbalanced: macro != micro
    y_pred = np.where(rng.uniform(size=90) < 0.55, y_true, names[rng.integers(0, 4, size=90)])
    got = _prf(sub, y_true, y_pred, average="macro")
    exp = _sk_prf(y_true, y_pred, average="macro")
    p, r = exp[0], exp[1]
    if np.isclose(got[2], 2 * p * r / (p + r), rtol=1e-12) and not np.isclose(got[2], exp[2], rtol=1e-12):
        fail(
            f"Your macro F1 ({got[2]:.6f}) is the F1 of the macro precision and recall; expected {exp[2]:.6f}.",
            hint="Macro F1 is the mean of the per-class F1 scores, not the F1 of the macro precision and macro recall.",
        )
    _check_prf(sub, y_true, y_pred, "average='macro', 4 unbalanced string labels", average="macro")


@pytest.mark.public
@pytest.mark.points(2)
def test_roc_auc_matches_sklearn_with_ties(sub: Any, rng: np.random.Generator) -> None:
    for n, levels in ((40, 4), (200, 10), (15, 2)):
        y, s = _scored(rng, n, levels)
        expected = skm.roc_auc_score(y, s)
        got = _auc(sub, y, s, f"{n} samples, scores on {levels + 1} levels")
        if np.isclose(got, expected, rtol=1e-12):
            continue
        if np.isclose(got, skm.roc_auc_score(y, (s >= 0.5).astype(float)), rtol=1e-12):
            fail(f"Your AUC ({got:.6f}) is the AUC of the hard labels score >= 0.5; expected {expected:.6f}.", _SCORES)
        pos, neg = s[y == 1], s[y == 0]
        strict = float((pos[:, None] > neg[None, :]).mean())
        ties = float((pos[:, None] == neg[None, :]).mean())
        if abs(got - expected) <= ties + 1e-12:
            fail(
                f"Your AUC ({got:.6f}) is off by a share of the tied pairs: expected {expected:.6f} "
                f"(strictly ordered pairs {strict:.4f}, tied pairs {ties:.4f}).",
                hint=_HALF,
            )
        assert_close(got, expected, rtol=1e-12, name="roc_auc_score", hint=_HALF)
    with expect_raises(
        "ValueError", name="roc_auc_score with only positives", hint="Raise ValueError if y_true has only one class."
    ):
        sub.roc_auc_score(np.ones(5, dtype=np.int64), np.linspace(0, 1, 5))


@pytest.mark.points(1)
def test_auc_is_rank_based(sub: Any, rng: np.random.Generator) -> None:
    y, s = _scored(rng, 120, levels=6)
    base = _auc(sub, y, s, "the original scores")
    transforms = {
        "3 * s - 7": 3 * s - 7,
        "np.exp(5 * s)": np.exp(5 * s),
        "(s - 0.5) ** 3": (s - 0.5) ** 3,
        "the ranks of s": np.unique(s, return_inverse=True)[1].astype(float),
    }
    for what, t in transforms.items():
        got = _auc(sub, y, t, what)
        if not np.isclose(got, base, rtol=1e-12):
            fail(
                f"AUC changed under the strictly increasing transform {what}: {got:.6f} instead of {base:.6f}.",
                hint="The AUC depends only on the order of the scores. " + _SCORES,
            )
    flipped = _auc(sub, y, -s, "-s")
    if not np.isclose(flipped, 1.0 - base, rtol=1e-12):
        fail(
            f"AUC(-s) is {flipped:.6f}, but 1 - AUC(s) is {1 - base:.6f}.",
            hint="Reversing the order swaps strictly ordered pairs and keeps tied pairs at half credit. " + _HALF,
        )


@pytest.mark.public
@pytest.mark.points(1)
def test_roc_curve_matches_sklearn(sub: Any, rng: np.random.Generator) -> None:
    y, s = _scored(rng, 60, levels=7)
    out = sub.roc_curve(y, s)
    if not isinstance(out, tuple | list) or len(out) != 3:
        fail(f"`roc_curve` should return (fpr, tpr, thresholds), but it returned {out!r:.80}.")
    fpr, tpr, thr = (np.asarray(a) for a in out)
    e_fpr, e_tpr, e_thr = skm.roc_curve(y, s, drop_intermediate=False)
    n_distinct = len(np.unique(s))
    if fpr.shape != e_fpr.shape:
        hint = (
            "One point per distinct score, plus the starting point (0, 0) at threshold +inf: samples with tied "
            "scores enter the curve together."
        )
        fail(
            f"`roc_curve` returned {fpr.shape[0] if fpr.ndim else fpr} points for {len(s)} samples with "
            f"{n_distinct} distinct scores; expected {n_distinct + 1}.",
            hint=hint,
        )
    hint = (
        "thresholds = [+inf] + the distinct scores in decreasing order; at threshold t, tpr = #positives with "
        "score >= t / n_pos and fpr = #negatives with score >= t / n_neg."
    )
    assert_close(thr, e_thr, rtol=1e-12, name="thresholds", hint=hint)
    assert_close(fpr, e_fpr, rtol=1e-12, atol=1e-12, name="fpr", hint=hint)
    assert_close(tpr, e_tpr, rtol=1e-12, atol=1e-12, name="tpr", hint=hint)
    mine = _auc(sub, y, s, "the curve's scores")
    if not np.isclose(mine, skm.roc_auc_score(y, s), rtol=1e-12):
        fail(
            f"The area under your roc_curve is right, but your roc_auc_score on the same scores is {mine:.6f}; this "
            "follows from the roc_auc_score problem reported above."
        )
    assert_close(
        np.trapezoid(tpr, fpr),
        mine,
        rtol=1e-12,
        name="the trapezoidal area under your roc_curve vs your roc_auc_score",
        hint=_HALF,
    )
