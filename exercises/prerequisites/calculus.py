"""Calculus in code: numerical gradients and Jacobians, gradient descent, and the chain rule.

All arithmetic is in float64: with float32 (about 7 significant digits) the difference
``f(x + h) - f(x - h)`` for ``h = 1e-5`` keeps almost no correct digits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Gradient of a scalar function by centred differences.

    For every entry ``i`` of ``x`` (in any order)::

        grad[i] = (f(x + h * e_i) - f(x - h * e_i)) / (2 * h)

    where ``e_i`` is 1 at entry ``i`` and 0 elsewhere. Its error shrinks like
    ``h ** 2`` (a forward difference ``(f(x + h e_i) - f(x)) / h`` only like ``h``).

    Parameters
    ----------
    f : callable
        Takes a float64 array of the same shape as ``x`` and returns a scalar
        (a Python float, a NumPy scalar or a 0-d array).
    x : array_like
        The point, of any shape (a vector, a matrix, ...). Integers and float32
        are fine: work on a float64 **copy** of ``x`` (perturbing an integer
        array by ``h`` would do nothing, and float32 is far too coarse).
    h : float, default=1e-5
        The step.

    Returns
    -------
    grad : ndarray, dtype float64, of the same shape as ``x``

    Notes
    -----
    The caller's ``x`` is never modified: perturb your own float64 copy, and
    put each entry back exactly (``copy[i] = old``, not ``copy[i] -= h``) before
    moving to the next one, so that every call of ``f`` sees the original
    point with exactly one entry moved by ``+h`` or ``-h``.
    """
    raise NotImplementedError


def jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Jacobian matrix of a vector function by centred differences.

    Parameters
    ----------
    f : callable
        Takes a float64 array of shape ``(n,)`` and returns an array_like of
        shape ``(m,)``.
    x : array_like of shape (n,)
        The point (1-D). Converted to a float64 copy; the caller's ``x`` is
        never modified.
    h : float, default=1e-5
        The step.

    Returns
    -------
    J : ndarray of shape (m, n), dtype float64
        ``J[i, j]`` is the derivative of output ``i`` with respect to input
        ``j``: row ``i`` is the gradient of ``f_i``, and column ``j`` is
        ``(f(x + h * e_j) - f(x - h * e_j)) / (2 * h)``.

    Raises
    ------
    ValueError
        If ``x`` is not 1-D.
    """
    raise NotImplementedError


def gradient_descent(grad: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, lr: float, n_steps: int) -> np.ndarray:
    """Plain gradient descent, returning the whole trajectory.

    Starting from ``x_0 = x0``, take ``n_steps`` steps::

        x_{t+1} = x_t - lr * grad(x_t)

    Parameters
    ----------
    grad : callable
        Takes a float64 array of shape ``(d,)`` and returns the gradient, an
        array_like of shape ``(d,)``.
    x0 : array_like of shape (d,)
        The start (1-D). Converted to float64; the caller's ``x0`` is never modified.
    lr : float
        The learning rate (step size).
    n_steps : int
        The number of steps, ``>= 0``.

    Returns
    -------
    trajectory : ndarray of shape (n_steps + 1, d), dtype float64
        Row ``t`` is ``x_t``: row 0 is ``x0`` itself, the last row is the final point.
        Every row is its own copy (updating ``x`` in place and appending it
        would make all rows the same array).

    Raises
    ------
    ValueError
        If ``x0`` is not 1-D or ``n_steps`` is negative.
    """
    raise NotImplementedError


def chain_rule_grad(
    grad_f: Callable[[np.ndarray], np.ndarray],
    g: Callable[[np.ndarray], np.ndarray],
    jac_g: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
) -> np.ndarray:
    """Gradient of the composition ``h(x) = f(g(x))`` by the chain rule.

    With ``g: R^n -> R^m`` and ``f: R^m -> R``::

        grad h(x) = J_g(x).T @ grad_f(g(x))

    that is, ``sum over i of grad_f(g(x))[i] * J_g(x)[i, :]``. No finite
    differences: use only the given derivatives.

    Parameters
    ----------
    grad_f : callable
        ``grad_f(y)`` is the gradient of ``f`` at ``y``: shape ``(m,)`` for ``y`` of shape ``(m,)``.
    g : callable
        ``g(x)`` has shape ``(m,)`` for ``x`` of shape ``(n,)``.
    jac_g : callable
        ``jac_g(x)`` is the Jacobian of ``g`` at ``x``, shape ``(m, n)`` with
        ``J[i, j]`` the derivative of ``g_i`` with respect to ``x_j`` (as
        :func:`jacobian` returns it).
    x : array_like of shape (n,)
        The point, converted to float64. Note that ``grad_f`` is evaluated at
        ``g(x)``, not at ``x``.

    Returns
    -------
    grad : ndarray of shape (n,), dtype float64
    """
    raise NotImplementedError
