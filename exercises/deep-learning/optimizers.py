"""Optimisers by hand: SGD with momentum and Adam, as pure functions on NumPy arrays.

Both functions do **one** update of **one** parameter array and return the new parameter
and the new optimiser state. They follow ``torch.optim.SGD`` and ``torch.optim.Adam``
exactly, so a loop such as::

    state = {}
    for step in range(20):
        grad = gradient_of_the_loss(param)
        param, state = adam_step(param, grad, state, lr=1e-2)

produces the same ``param`` after every step as ``torch.optim.Adam([p], lr=1e-2)`` does
with ``p.grad = grad`` and ``optimizer.step()``.

Conventions shared by both functions:

- ``param`` and ``grad`` are float arrays of the same shape (any shape).
  Work in float64: convert both with ``np.asarray(..., dtype=np.float64)``. The returned
  parameter is a **new** float64 array of the same shape.
- ``state`` is a ``dict``. Pass an empty dict ``{}`` before the first step, and after that
  the dict the previous call returned. The keys are pinned below; every array in it is
  float64 with the shape of ``param``.
- The functions are **pure**: they never modify ``param``, ``grad``, ``state`` or any
  array inside ``state`` (no ``+=`` or ``-=`` on them). They return new objects instead.
- Weight decay is the classic L2 penalty of torch's ``weight_decay`` argument: it is
  added to the gradient, ``g = grad + weight_decay * param``, before anything else.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def sgd_momentum_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    nesterov: bool = False,
) -> tuple[np.ndarray, dict[str, Any]]:
    """One step of SGD with (optionally Nesterov) momentum, as ``torch.optim.SGD`` does it.

    With ``buf`` the previous ``state["momentum_buffer"]``::

        g   = grad + weight_decay * param
        buf = g                          if state is empty (the first step)
        buf = momentum * buf + g         otherwise
        d   = g + momentum * buf         if nesterov
        d   = buf                        otherwise
        new_param = param - lr * d

    The buffer accumulates gradients, **not** ``lr`` times gradients, so a learning rate
    that changes from one call to the next only scales the current step. With
    ``momentum=0`` this is plain SGD (``buf`` is then just ``g``).

    Parameters
    ----------
    param, grad : ndarray
        The parameter and the gradient of the loss at ``param``, same shape.
    state : dict
        ``{}`` before the first step, then the dict returned by the previous call.
    lr : float
        Learning rate of this step.
    momentum : float, default=0.9
        Momentum factor, ``0 <= momentum < 1``.
    weight_decay : float, default=0.0
        L2 penalty factor, added to the gradient as above.
    nesterov : bool, default=False
        Use Nesterov momentum (the ``d = g + momentum * buf`` line).

    Returns
    -------
    new_param : ndarray
        The updated parameter, float64, same shape as ``param``.
    new_state : dict
        ``{"momentum_buffer": buf}``, a new dict holding the new buffer (float64, same shape).
    """
    raise NotImplementedError


def adam_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """One step of Adam, as ``torch.optim.Adam`` does it (L2 weight decay, no AMSGrad).

    With ``beta1, beta2 = betas`` and, on the first step, ``t = 0`` and ``m = v = 0``
    (zeros shaped like ``param``), otherwise ``t, m, v`` taken from ``state``::

        t     = t + 1
        g     = grad + weight_decay * param
        m     = beta1 * m + (1 - beta1) * g          # first moment
        v     = beta2 * v + (1 - beta2) * g ** 2     # second moment (uncentred)
        m_hat = m / (1 - beta1 ** t)                 # bias corrections: m and v start at 0,
        v_hat = v / (1 - beta2 ** t)                 # so early averages are too small
        new_param = param - lr * m_hat / (np.sqrt(v_hat) + eps)

    ``eps`` is added **after** the square root. Weight decay is the L2 penalty added to the
    gradient (torch's ``Adam``), not the decoupled decay of ``AdamW``.

    Parameters
    ----------
    param, grad : ndarray
        The parameter and the gradient of the loss at ``param``, same shape.
    state : dict
        ``{}`` before the first step, then the dict returned by the previous call.
    lr : float, default=1e-3
        Learning rate of this step.
    betas : tuple of two floats, default=(0.9, 0.999)
        Decay rates of the first and second moment estimates.
    eps : float, default=1e-8
        Added to the denominator after the square root, for numerical stability.
    weight_decay : float, default=0.0
        L2 penalty factor, added to the gradient as above.

    Returns
    -------
    new_param : ndarray
        The updated parameter, float64, same shape as ``param``.
    new_state : dict
        A new dict ``{"step": t, "exp_avg": m, "exp_avg_sq": v}``: ``t`` is a Python ``int``
        (1 after the first step), ``m`` and ``v`` are float64 arrays shaped like ``param``.
    """
    raise NotImplementedError
