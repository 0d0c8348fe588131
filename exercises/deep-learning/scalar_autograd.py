"""A scalar autograd engine in the style of micrograd: reverse-mode differentiation by hand.

The course calls this exercise "autograd", but the file is ``scalar_autograd.py`` on purpose:
``autograd`` is also the name of a package on PyPI, and a file named ``autograd.py`` next to
your notebooks would shadow it for every ``import autograd`` in that folder.

Each ``Value`` holds one number, ``data``, and after ``backward()`` its ``grad``: the derivative
of the output on which ``backward()`` was called with respect to this value. Operations build a
graph of ``Value``s; ``backward()`` walks it from the output back to the leaves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable


class Value:
    """One scalar node of a computation graph.

    Parameters
    ----------
    data : int or float
        The value; stored as a Python ``float`` (``Value(2).data == 2.0``).
    _children : iterable of Value, default=()
        The inputs of the operation that produced this value (empty for a leaf).
    _op : str, default=""
        A label for the operation, for debugging only.

    Attributes
    ----------
    data : float
    grad : float
        Starts at ``0.0``. ``backward()`` *adds* to it (``+=``), so a value used several times
        in one expression (``c + c``, ``a * a``) collects one contribution per use.

    Notes
    -----
    Supported, with ``Value`` or plain ``int``/``float`` operands on either side (``2 * v``,
    ``1 - v``, ``1 / v`` work as well as ``v * 2``), each returning a new ``Value``:

    - ``a + b``, ``a - b``, ``-a``, ``a * b``, ``a / b``;
    - ``a ** n`` for an ``int`` or ``float`` exponent ``n`` only (d/da = ``n * a ** (n - 1)``,
      for negative and fractional ``n`` too); a ``Value`` exponent raises ``TypeError``;
    - ``a.relu()`` (``max(a, 0)``; its derivative at exactly 0 is 0, as in PyTorch),
      ``a.tanh()``, ``a.exp()``, ``a.log()`` (natural logarithm).

    The operands are never modified, and nothing is computed on ``grad`` before ``backward()``.
    """

    def __init__(self, data: float, _children: Iterable[Value] = (), _op: str = "") -> None:
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_children)
        self._op = _op
        self._backward: Callable[[], None] = lambda: None

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    def __add__(self, other: Value | float) -> Value:
        raise NotImplementedError

    def __mul__(self, other: Value | float) -> Value:
        raise NotImplementedError

    def __pow__(self, n: float) -> Value:
        raise NotImplementedError

    def relu(self) -> Value:
        raise NotImplementedError

    def tanh(self) -> Value:
        raise NotImplementedError

    def exp(self) -> Value:
        raise NotImplementedError

    def log(self) -> Value:
        raise NotImplementedError

    def __neg__(self) -> Value:
        raise NotImplementedError

    def __sub__(self, other: Value | float) -> Value:
        raise NotImplementedError

    def __truediv__(self, other: Value | float) -> Value:
        raise NotImplementedError

    def __radd__(self, other: float) -> Value:
        raise NotImplementedError

    def __rmul__(self, other: float) -> Value:
        raise NotImplementedError

    def __rsub__(self, other: float) -> Value:
        raise NotImplementedError

    def __rtruediv__(self, other: float) -> Value:
        raise NotImplementedError

    def backward(self) -> None:
        """Fill in ``grad`` for every value this one depends on.

        Sets ``self.grad = 1.0`` (d self / d self), then calls each node's local backward
        step in *reverse topological order*: a node passes its gradient on to its children
        only after every node that uses it has passed its own contribution to it. Build
        that order with a depth-first search that appends a node after all its children,
        then walk the list backwards; visit each node once, even if it is reached along
        several paths. Gradients are never reset here: call ``backward()`` once per graph.
        """
        raise NotImplementedError


def _topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on (``root`` included), each after all of its children."""
    raise NotImplementedError
