"""Classification metrics from scratch: accuracy, confusion matrix, precision/recall/F1, ROC and AUC."""

from __future__ import annotations

import numpy as np


def _labels(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both label arrays as 1-D ndarrays of the same length (``ValueError`` otherwise)."""
    raise NotImplementedError


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of samples whose predicted label equals the true label.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Labels of any kind (ints, strings), compared with ``==``. Both must be
        1-D, non-empty and of the same length, otherwise ``ValueError``.

    Returns
    -------
    float
        A Python ``float`` in ``[0, 1]`` (not a percentage).
    """
    raise NotImplementedError


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """Confusion matrix: **rows are the true labels, columns the predicted labels**.

    ``C[i, j]`` is the number of samples whose true label is ``labels[i]`` and
    whose predicted label is ``labels[j]`` (as ``sklearn.metrics.confusion_matrix``).
    So the diagonal holds the correct predictions, and row ``i`` sums to the
    number of samples of true class ``labels[i]``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Labels of any kind (ints, strings); 1-D, non-empty, same length
        (``ValueError`` otherwise).
    labels : array-like of shape (n_labels,), optional
        The labels that index the rows and columns, in this order. Samples
        whose true or predicted label is not in ``labels`` are left out. By
        default, the sorted distinct labels of ``y_true`` and ``y_pred``
        together (``np.unique(np.concatenate([y_true, y_pred]))``), so a label
        that is only ever predicted still gets a row.

    Returns
    -------
    C : ndarray of shape (n_labels, n_labels), dtype int64
    """
    raise NotImplementedError


def precision_recall_f1(
    y_true: np.ndarray, y_pred: np.ndarray, average: str = "binary", pos_label: object = 1
) -> tuple[float, float, float]:
    """Precision, recall and F1 score, as ``sklearn.metrics.precision_recall_fscore_support(zero_division=0)``.

    For one class ``c`` treated as positive (every other label negative), with
    ``tp``, ``fp``, ``fn`` its true positives, false positives and false
    negatives::

        precision = tp / (tp + fp)        recall = tp / (tp + fn)
        f1 = 2 * precision * recall / (precision + recall)

    **Zero division gives 0**: a precision with ``tp + fp == 0`` (class never
    predicted), a recall with ``tp + fn == 0`` (class never present) and an F1
    with ``precision + recall == 0`` are all ``0.0``, never NaN and without a
    warning.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Labels of any kind; 1-D, non-empty, same length (``ValueError`` otherwise).
    average : {"binary", "macro"}, default="binary"
        - ``"binary"``: the three scores of the class ``pos_label`` alone.
        - ``"macro"``: compute the three scores for every label of
          ``np.unique(np.concatenate([y_true, y_pred]))`` (present in either
          array), then take the **unweighted mean** of each. Macro F1 is the
          mean of the per-class F1 scores, *not* the F1 of the macro precision
          and macro recall.

        Anything else raises ``ValueError``.
    pos_label : label, default=1
        The positive class for ``average="binary"`` (ignored for ``"macro"``).

    Returns
    -------
    (precision, recall, f1) : tuple of three Python floats in ``[0, 1]``.
    """
    raise NotImplementedError


def _binary(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validated 0/1 labels (int) and float64 scores, both 1-D (helper for the ROC functions)."""
    raise NotImplementedError


def roc_auc_score(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Area under the ROC curve of a binary problem, from **scores** (not hard labels).

    The AUC is the probability that a random positive sample gets a higher score
    than a random negative one, with **ties counting half**::

        AUC = (#{(i, j): s_i > s_j} + 0.5 * #{(i, j): s_i == s_j}) / (n_pos * n_neg)

    over all pairs of a positive ``i`` and a negative ``j``. It equals the
    trapezoidal area under :func:`roc_curve` and ``sklearn.metrics.roc_auc_score``.
    Only the order of the scores matters, so any strictly increasing transform of
    ``y_score`` leaves the AUC unchanged, and ``AUC(-s) = 1 - AUC(s)``. Use a
    sort or ranks (``O(n log n)``), not a Python loop over all pairs.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels, only ``0`` (negative) and ``1`` (positive); both must occur.
        Otherwise ``ValueError``.
    y_score : array-like of shape (n_samples,)
        Real-valued scores (probabilities, margins, ...); higher means "more
        positive". Same length as ``y_true`` (``ValueError`` otherwise).

    Returns
    -------
    float
        A Python ``float`` in ``[0, 1]``.
    """
    raise NotImplementedError


def roc_curve(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points of the ROC curve, one per distinct score (``sklearn.metrics.roc_curve(..., drop_intermediate=False)``).

    The thresholds are ``+inf`` followed by the **distinct** values of
    ``y_score`` in **decreasing** order. At threshold ``t`` a sample is
    predicted positive when ``score >= t``, so::

        tpr[i] = #{positives with score >= thresholds[i]} / n_pos
        fpr[i] = #{negatives with score >= thresholds[i]} / n_neg

    The curve therefore starts at ``(fpr, tpr) = (0, 0)`` (threshold ``+inf``)
    and ends at ``(1, 1)``, and samples with tied scores enter together (one
    point per distinct score, never one per sample). ``fpr`` and ``tpr`` never
    decrease.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels ``0`` and ``1``, both present (``ValueError`` otherwise).
    y_score : array-like of shape (n_samples,)
        Real-valued scores, higher means more positive.

    Returns
    -------
    fpr, tpr, thresholds : ndarrays of shape (n_distinct_scores + 1,), dtype float64
    """
    raise NotImplementedError
