"""A vanilla (Elman) RNN in NumPy: forward, backprop through time, and gradient clipping.

The recurrence, for one time step, is::

    h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b)

Shapes (batch first, as ``torch.nn.RNN(batch_first=True)``):

- ``x``: ``(N, T, D)``, a batch of ``N`` sequences of ``T`` input vectors of size ``D``;
- ``h0``: ``(N, H)``, the initial hidden state;
- ``Wx``: ``(D, H)``, ``Wh``: ``(H, H)``, ``b``: ``(H,)``;
- the hidden states ``h``: ``(N, T, H)``, where ``h[:, t]`` is ``h_t`` (``h0`` itself is not
  included).

This is ``torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True)`` with
``weight_ih = Wx.T``, ``weight_hh = Wh.T``, ``bias_ih = b`` and ``bias_hh = 0``.

Work in float64 and return float64 arrays. No function modifies its arguments.
"""

from __future__ import annotations

import numpy as np


def rnn_step(x: np.ndarray, h_prev: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One time step: ``tanh(x @ Wx + h_prev @ Wh + b)``.

    Parameters
    ----------
    x : ndarray of shape (N, D)
        The inputs at this time step.
    h_prev : ndarray of shape (N, H)
        The previous hidden state.
    Wx : ndarray of shape (D, H)
    Wh : ndarray of shape (H, H)
    b : ndarray of shape (H,)

    Returns
    -------
    h_next : ndarray of shape (N, H)
    """
    # BEGIN SOLUTION
    return np.tanh(np.asarray(x, dtype=np.float64) @ Wx + np.asarray(h_prev, dtype=np.float64) @ Wh + b)
    # END SOLUTION


def rnn_forward(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Run the RNN over whole sequences: ``h_t = rnn_step(x[:, t], h_{t-1}, ...)`` for ``t = 0 .. T-1``.

    The hidden state is **carried** from one step to the next: step ``t`` starts from
    ``h_{t-1}`` (and step 0 from ``h0``).

    Parameters
    ----------
    x : ndarray of shape (N, T, D)
    h0 : ndarray of shape (N, H)
    Wx, Wh, b
        As in ``rnn_step``.

    Returns
    -------
    h : ndarray of shape (N, T, H)
        Every hidden state, ``h[:, t] = h_t``; ``h[:, -1]`` is the last one.
    """
    # BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    n, t_len, _ = x.shape
    h = np.empty((n, t_len, Wh.shape[0]))
    prev = np.asarray(h0, dtype=np.float64)
    for t in range(t_len):
        prev = rnn_step(x[:, t], prev, Wx, Wh, b)
        h[:, t] = prev
    return h
    # END SOLUTION


def rnn_backward(
    dh: np.ndarray, x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time for ``h = rnn_forward(x, h0, Wx, Wh, b)``.

    ``dh`` is the gradient of a scalar loss with respect to **every** hidden state that
    ``rnn_forward`` returned (the upstream gradient of the loss terms at each step; for a
    loss on the last state only, ``dh[:, :-1]`` is zero). Going backwards from ``t = T-1``
    to ``0``, the gradient reaching ``h_t`` is ``dh[:, t]`` **plus** what flows back from
    ``h_{t+1}`` through ``Wh``. Recompute the forward pass inside this function as needed.

    Parameters
    ----------
    dh : ndarray of shape (N, T, H)
        Gradient of the loss with respect to ``h``.
    x, h0, Wx, Wh, b
        The inputs of the forward call.

    Returns
    -------
    dx : ndarray of shape (N, T, D)
    dh0 : ndarray of shape (N, H)
    dWx : ndarray of shape (D, H)
    dWh : ndarray of shape (H, H)
    db : ndarray of shape (H,)
        The gradients of the loss with respect to ``x``, ``h0``, ``Wx``, ``Wh`` and ``b``,
        in this order, all float64; they equal what torch autograd computes.
    """
    # BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    h0 = np.asarray(h0, dtype=np.float64)
    dh = np.asarray(dh, dtype=np.float64)
    h = rnn_forward(x, h0, Wx, Wh, b)
    t_len = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx, dtype=np.float64), np.zeros_like(Wh, dtype=np.float64), np.zeros(b.shape)
    carry = np.zeros_like(h0)  # gradient flowing into h_t from h_{t+1}
    for t in reversed(range(t_len)):
        prev = h[:, t - 1] if t > 0 else h0
        da = (dh[:, t] + carry) * (1.0 - h[:, t] ** 2)  # through tanh: 1 - tanh^2
        dx[:, t] = da @ Wx.T
        dWx += x[:, t].T @ da
        dWh += prev.T @ da
        db += da.sum(axis=0)
        carry = da @ Wh.T
    return dx, carry, dWx, dWh, db
    # END SOLUTION


def clip_grad_norm(grads: list[np.ndarray], max_norm: float) -> tuple[list[np.ndarray], float]:
    """Clip a list of gradients by their **global** L2 norm, as ``torch.nn.utils.clip_grad_norm_``.

    ``total_norm = sqrt(sum over all arrays of sum(g ** 2))``: one norm over every entry
    of every array together. With ``coef = max_norm / (total_norm + 1e-6)``: if
    ``coef < 1``, **every** array is multiplied by the same ``coef`` (so the directions
    are kept and the global norm becomes about ``max_norm``); otherwise the gradients are
    returned unchanged. Never clip entry by entry.

    Parameters
    ----------
    grads : list of ndarray
        The gradients, any shapes.
    max_norm : float
        The largest global norm allowed (``> 0``).

    Returns
    -------
    clipped : list of ndarray
        A new list of new float64 arrays, in the same order and shapes as ``grads``. The
        arrays in ``grads`` are not modified.
    total_norm : float
        The global norm **before** clipping, a Python ``float``.
    """
    # BEGIN SOLUTION
    arrays = [np.asarray(g, dtype=np.float64) for g in grads]
    total_norm = float(np.sqrt(sum(float(np.sum(g**2)) for g in arrays)))
    coef = max_norm / (total_norm + 1e-6)
    scale = coef if coef < 1.0 else 1.0
    return [g * scale for g in arrays], total_norm
    # END SOLUTION
