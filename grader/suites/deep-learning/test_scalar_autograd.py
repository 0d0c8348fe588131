"""Hidden suite for deep-learning/scalar_autograd: a micrograd-style scalar `Value` with `backward()`.

Each check is an expression ``f(a, b, ...)`` written once as source. The learner's kernel runs it
on ``Value`` leaves and calls ``backward()``; the grader runs the same source on torch float64
tensors with ``requires_grad`` and compares the output and every leaf's gradient by the CS231n
relative error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import torch

from grader.helpers import expect_raises, fail, relative_error

TOL = 1e-10

# Runs `f` (defined by the source) on fresh Value leaves and back-propagates from its result.
_RUN = """
def probe(Value, src, xs):
    ns = {}
    exec(src, ns)
    leaves = [Value(x) for x in xs]
    out = ns["f"](*leaves)
    if not isinstance(out, Value):
        return "not a Value", type(out).__name__
    out.backward()
    return float(out.data), [float(v.grad) for v in leaves], [float(v.data) for v in leaves]
"""

_ACCUMULATE = (
    "A value used more than once (c + c, a * a, x in several places) gets one contribution per use: every "
    "_backward must add to the children's grad (self.grad += ...), never assign it (self.grad = ...)."
)
_TOPO = (
    "backward() must call the nodes' _backward in reverse topological order: build the order with a depth-first "
    "search that appends a node after all its children (visit each node once), set self.grad = 1.0, then walk "
    "the list backwards. A breadth-first order is not enough when a node is reached along paths of different "
    "lengths."
)


def _probe(sub: Any, source: str) -> Any:
    """A function defined by ``source`` (it must define ``probe``), built inside the learner's kernel."""
    return sub.eval(f"(lambda ns: (exec({source!r}, ns), ns['probe'])[1])({{}})")


def _torch(src: str, xs: Sequence[float]) -> tuple[float, list[float]]:
    ns: dict[str, Any] = {}
    exec(src, ns)  # noqa: S102 - the suite's own expression source
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = ns["f"](*leaves)
    out.backward()
    return out.item(), [0.0 if v.grad is None else v.grad.item() for v in leaves]


# The single operations, each after those it is built from (a / b uses b ** -1, a - b uses -b, ...).
# A wrong result of anything else is blamed on the first of these that is wrong, without a guess.
_PRIMITIVES: list[tuple[str, tuple[float, ...]]] = [
    ("a + b", (1.5, -4.0)),
    ("a * b", (1.5, -4.0)),
    ("a + a", (0.8,)),
    ("a * a", (-1.6,)),
    ("-a", (1.5,)),
    ("a - b", (1.5, -4.0)),
    *((f"a ** {n}", (1.7,)) for n in (3, 2, 1.5, 0.5, 0, -1, -2, -0.5)),
    ("a / b", (1.5, -4.0)),
    *((e, (-1.25,)) for e in ("a + 3", "3 + a", "a * 2.5", "2.5 * a", "a - 1", "1 - a", "a / 4", "2 / a")),
    ("a.relu()", (1.7,)),
    ("a.relu()", (-0.4,)),
    ("a.relu()", (0.0,)),
    ("a.tanh()", (0.6,)),
    ("a.tanh()", (-2.5,)),
    ("a.exp()", (1.3,)),
    ("a.log()", (0.3,)),
]


def _source(expr: str, n: int) -> str:
    names = "abcdefgh"[:n]
    lines = expr.strip().splitlines() if "return" in expr else [f"return {expr.strip()}"]
    return f"def f({', '.join(names)}):\n" + "".join(f"    {line}\n" for line in lines)


def _right(sub: Any, runner: Any, expr: str, xs: Sequence[float]) -> bool:
    src = _source(expr, len(xs))
    got = runner(sub.Value, src, list(xs))
    if got[0] == "not a Value" or got[2] != [float(x) for x in xs]:
        return False
    exp_data, exp_grads = _torch(src, xs)
    return relative_error(got[0], exp_data) <= TOL and all(
        relative_error(g, e) <= TOL for g, e in zip(got[1], exp_grads, strict=True)
    )


def _blame(sub: Any, runner: Any, expr: str, xs: Sequence[float]) -> str | None:
    """The first single operation (before ``expr`` in the list, or any if it is not one) that is wrong."""
    key = (expr.strip(), tuple(xs))
    before = _PRIMITIVES[: _PRIMITIVES.index(key)] if key in _PRIMITIVES else _PRIMITIVES
    for p_expr, p_xs in before:
        if not _right(sub, runner, p_expr, p_xs):
            leaves = ", ".join(f"{n}={x:g}" for n, x in zip("ab", p_xs, strict=False))
            return f"`{p_expr}` (for {leaves})"
    return None


def _check(sub: Any, runner: Any, expr: str, xs: Sequence[float], hint: str | None) -> None:
    """Compare the value and the leaves' gradients of ``f(*leaves) = expr`` with torch."""
    __tracebackhide__ = True
    names = "abcdefgh"[: len(xs)]
    lines = expr.strip().splitlines() if "return" in expr else [f"return {expr.strip()}"]
    src = _source(expr, len(xs))
    shown = (
        expr.strip()
        if "return" not in expr
        else f"f({', '.join(names)}) = " + "; ".join(line.strip() for line in lines)
    )
    leaves = ", ".join(f"{n}={x:g}" for n, x in zip(names, xs, strict=True))
    got = runner(sub.Value, src, list(xs))
    if got[0] == "not a Value":
        fail(f"For {leaves}, `{shown}` gave a {got[1]}, not a Value.", hint="Every operation returns a new Value.")
    data, grads, leaf_data = got
    exp_data, exp_grads = _torch(src, xs)
    if leaf_data != [float(x) for x in xs]:
        fail(f"For {leaves}, `{shown}` changed its inputs' data to {leaf_data}.", hint="Never modify the operands.")
    wrong = relative_error(data, exp_data) > TOL or any(
        relative_error(g, e) > TOL for g, e in zip(grads, exp_grads, strict=True)
    )
    if wrong and all(g == 0 for g in grads) and any(e != 0 for e in exp_grads):
        fail(
            f"For {leaves}, after `({shown}).backward()`, every gradient is 0.",
            hint="backward() must start with self.grad = 1.0 on the output (d out / d out = 1), then call the "
            "nodes' _backward in reverse topological order.",
        )
    if wrong and (blame := _blame(sub, runner, expr, xs)):
        fail(
            f"For {leaves}, `{shown}` or its gradients are wrong, but so is {blame}: this follows from that "
            "problem, reported by the tests of single operations above; fix it first."
        )
    if relative_error(data, exp_data) > TOL:
        fail(f"For {leaves}, `{shown}` is {data!r}, expected {exp_data!r}.", hint=hint)
    for name, g, e in zip(names, grads, exp_grads, strict=True):
        if relative_error(g, e) > TOL:
            fail(
                f"For {leaves}, after `({shown}).backward()`, {name}.grad is {g!r}, expected {e!r}.",
                hint=hint,
            )


@pytest.mark.public
@pytest.mark.points(1)
def test_leaves_and_forward_values(sub: Any) -> None:
    v = sub.Value(2)
    data, grad = v.data, v.grad
    if type(data) is not float or data != 2.0:
        fail(f"`Value(2).data` is {data!r} ({type(data).__name__}), expected 2.0.", hint="Store float(data).")
    if type(grad) is not float or grad != 0.0:
        fail(f"`Value(2).grad` is {grad!r}, expected 0.0 before backward().", hint="Start grad at 0.0.")
    run = _probe(sub, _RUN)
    cases = [
        ("a + b", (1.5, -4.0)),
        ("a * b", (1.5, -4.0)),
        ("a - b", (1.5, -4.0)),
        ("a / b", (1.5, -4.0)),
        ("a ** 3", (1.5,)),
        ("(a * b + 1).tanh() * c.exp() - d.log() + (e - 2).relu()", (0.7, -1.3, 0.4, 2.2, 3.1)),
    ]
    for expr, xs in cases:
        _check(sub, run, expr, xs, "Check this operation's forward value (data) and its local derivative.")


@pytest.mark.points(2)
def test_each_binary_operation(sub: Any) -> None:
    run = _probe(sub, _RUN)
    cases = [
        ("a + b", "d(a+b)/da = 1 and d(a+b)/db = 1: pass out.grad to both."),
        ("a * b", "d(a*b)/da = b and d(a*b)/db = a: self.grad += other.data * out.grad, and vice versa."),
        ("a - b", "a - b = a + (-b), so d/db = -1."),
        ("a / b", "a / b = a * b ** -1: d/da = 1/b, d/db = -a / b**2."),
        ("-a", "-a = a * -1: d/da = -1."),
    ]
    for expr, hint in cases:
        _check(sub, run, expr, (1.5, -4.0) if "b" in expr else (1.5,), hint)
    numbers = [
        ("a + 3", "Wrap a plain number in a Value: other = other if isinstance(other, Value) else Value(other)."),
        ("3 + a", "3 + a calls a.__radd__(3): return self + other."),
        ("a * 2.5", "Wrap a plain number in a Value before multiplying."),
        ("2.5 * a", "2.5 * a calls a.__rmul__(2.5): return self * other."),
        ("a - 1", "a - 1 = a + (-1)."),
        ("1 - a", "1 - a calls a.__rsub__(1): return Value(other) - self."),
        ("a / 4", "a / 4 = a * 4 ** -1."),
        ("2 / a", "2 / a calls a.__rtruediv__(2): return Value(other) / self, so d/da = -2 / a**2."),
    ]
    for expr, hint in numbers:
        _check(sub, run, expr, (-1.25,), hint)


@pytest.mark.points(2)
def test_relu_tanh_exp_log(sub: Any) -> None:
    run = _probe(sub, _RUN)
    cases = [
        ("a.relu()", (1.7,), "relu passes the gradient where its input is positive."),
        ("a.relu()", (-0.4,), "relu's gradient is 0 where its input is negative."),
        ("a.relu()", (0.0,), "relu's gradient at exactly 0 is 0, as in PyTorch: use data > 0."),
        ("a.tanh()", (0.6,), "d tanh(a)/da = 1 - tanh(a)**2."),
        ("a.tanh()", (-2.5,), "d tanh(a)/da = 1 - tanh(a)**2."),
        ("a.exp()", (1.3,), "d exp(a)/da = exp(a)."),
        ("a.log()", (0.3,), "d log(a)/da = 1 / a (natural logarithm)."),
        ("(a * 3).log().exp()", (2.5,), "Chain rule: multiply each local derivative by out.grad."),
    ]
    for expr, xs, hint in cases:
        _check(sub, run, expr, xs, hint)


@pytest.mark.points(1)
def test_power_rule_for_any_exponent(sub: Any) -> None:
    run = _probe(sub, _RUN)
    hint = "d(a ** n)/da = n * a ** (n - 1) for every int or float n, negative and fractional ones included."
    for n in (3, 2, 1.5, 0.5, 0, -1, -2, -0.5):
        _check(sub, run, f"a ** {n}", (1.7,), hint)
    _check(sub, run, "(a * 2 + 1) ** -3", (0.4,), hint)
    with expect_raises(
        "TypeError",
        name="Value(2.0) ** Value(3.0)",
        hint="Only int or float exponents are supported: raise TypeError for a Value exponent.",
    ):
        sub.eval("lambda V: V(2.0) ** V(3.0)")(sub.Value)


@pytest.mark.points(2)
def test_reused_nodes_accumulate_gradients(sub: Any) -> None:
    run = _probe(sub, _RUN)
    # only leaves are used twice here: no order is needed yet
    cases = [
        ("a + a", (0.8,)),
        ("a * a", (-1.6,)),
        ("a * a * a + a / a", (1.4,)),
        ("(a + b) * (a - b) + b.exp() * b", (1.1, 0.4)),
    ]
    for expr, xs in cases:
        _check(sub, run, expr, xs, _ACCUMULATE)
    # backward() never resets a gradient: a second backward() on the same graph adds again
    twice = sub.eval(
        "lambda V: (lambda a, b: (lambda o: (o.backward(), o.backward(), [float(a.grad), float(b.grad)])[2])(a * b))"
        "(V(1.5), V(-4.0))"
    )(sub.Value)
    if twice != [-8.0, 3.0]:
        fail(
            f"For a=1.5, b=-4, calling backward() twice on a * b left a.grad, b.grad = {twice}; expected [-8.0, 3.0] "
            "(each backward() adds its contribution again).",
            hint="Gradients are never reset in backward(): set self.grad = 1.0 on the output, and every _backward "
            "only adds to its children (self.grad += ...).",
        )


@pytest.mark.points(2)
def test_graphs_that_need_a_topological_order(sub: Any) -> None:
    run = _probe(sub, _RUN)
    neuron = "(a * -3.0 + b * 1.0 + c).tanh()"
    # `h` is used directly by the output and again deep inside `k`: it is reached along a short and a long path
    diamond = "h = (a * b).tanh()\nk = ((h * 3).exp() + 1).log() * b\nreturn h + k"
    layer = (
        "h1 = (a * 0.5 + b * -1.5 + c).tanh()\n"
        "h2 = (a * -0.8 + b * 0.3 - c).relu()\n"
        "o = (h1 * 1.3 + h2 * -0.6 + h1 * h2).tanh()\n"
        "return (o - 0.5) ** 2 + (h1 * 0.2) ** 2"
    )
    chain = "x = a\nfor _ in range(30):\n    x = (x * 0.9 + a).tanh()\nreturn x * x"
    for expr, xs in (
        ("c = a * b\nc = c + c\nreturn c * a", (1.2, -0.7)),
        ("c = a + b\nd = c * c\nd = d + d\nreturn d - c", (0.3, 0.9)),
        (neuron, (2.0, 0.0, 6.881373587)),
        (diamond, (0.4, -1.1)),
        (layer, (1.2, -0.4, 0.3)),
        (layer, (-0.6, 0.8, -0.2)),
        (chain, (0.35,)),
    ):
        _check(sub, run, expr, xs, _TOPO)
