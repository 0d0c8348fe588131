"""The functions every classifier is made of, in NumPy: softmax, log-softmax, cross-entropy, ReLU.

All of them must stay finite for logits as large as 1e4 in absolute value: the exponential of
1000 overflows float64, so subtract the maximum before exponentiating (this changes nothing
mathematically, since softmax(x) == softmax(x - c) for any constant c).

Conventions shared by every function here:

- Inputs are NumPy arrays (anything ``np.asarray`` accepts); they are never modified.
- Floating-point inputs keep their dtype (float64 in, float64 out); integer inputs are
  converted to float64 first.
- Work on whole arrays: no Python loop over rows.
"""

from __future__ import annotations

import numpy as np


def _as_float(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``: ``exp(x) / sum(exp(x), axis)``, computed stably.

    Parameters
    ----------
    x : ndarray of any shape
        Logits.
    axis : int, default=-1
        The axis that holds the classes (negative values count from the end).

    Returns
    -------
    p : ndarray, same shape as ``x``
        Non-negative, and summing to 1 along ``axis``. No NaN or inf for finite ``x``,
        however large.
    """
    # BEGIN SOLUTION
    x = _as_float(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
    # END SOLUTION


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Logarithm of the softmax along ``axis``, computed stably.

    ``log_softmax(x) = (x - m) - log(sum(exp(x - m), axis))`` with ``m = max(x, axis)``.
    Do not take ``np.log(softmax(x))``: a probability that underflows to 0 gives ``-inf``,
    whereas the true value (for example -1000 for the logits ``[0, -1000]``) is finite.

    Parameters
    ----------
    x : ndarray of any shape
    axis : int, default=-1

    Returns
    -------
    logp : ndarray, same shape as ``x``
        All values ``<= 0``, finite for finite ``x``; ``exp(logp)`` sums to 1 along ``axis``.
    """
    # BEGIN SOLUTION
    x = _as_float(x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    # END SOLUTION


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of integer class labels under softmax(logits).

    ``-(1/N) * sum_i log_softmax(logits)[i, y[i]]``, what
    ``torch.nn.functional.cross_entropy(logits, y)`` computes with its default ``reduction="mean"``.

    Parameters
    ----------
    logits : ndarray of shape (N, C)
        One row of class scores per sample.
    y : ndarray of shape (N,)
        Integer class indices, ``0 <= y[i] < C`` (not one-hot).

    Returns
    -------
    loss : float
        A Python ``float``, averaged (not summed) over the N samples; finite however large the
        logits are.
    """
    # BEGIN SOLUTION
    logp = log_softmax(logits, axis=1)
    y = np.asarray(y)
    return float(-logp[np.arange(len(y)), y].mean())
    # END SOLUTION


def relu(x: np.ndarray) -> np.ndarray:
    """Rectified linear unit, elementwise: ``max(x, 0)``.

    Returns a new array of the same shape and dtype as ``x`` (float64 for integer input);
    ``relu(0) == 0``.
    """
    # BEGIN SOLUTION
    x = _as_float(x)
    return np.maximum(x, 0)
    # END SOLUTION


def relu_backward(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gradient of a loss with respect to the *input* ``x`` of ``relu``.

    Parameters
    ----------
    dout : ndarray
        Upstream gradient, d loss / d relu(x), same shape as ``x``.
    x : ndarray
        The input that was given to ``relu`` in the forward pass (not its output).

    Returns
    -------
    dx : ndarray, same shape as ``x``
        ``dout`` where ``x > 0`` and 0 elsewhere. At exactly ``x == 0`` the gradient is 0,
        as in PyTorch.
    """
    # BEGIN SOLUTION
    dout = _as_float(dout)
    return dout * (np.asarray(x) > 0)
    # END SOLUTION
