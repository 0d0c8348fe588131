"""Hidden suite for prerequisites/calculus: numerical_gradient, jacobian, gradient_descent, chain_rule_grad.

The functions handed to the learner's code are built in the kernel (from `_IN_KERNEL`); every
check is against an analytic derivative computed here, with a relative error below 1e-7.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grader.helpers import assert_close, expect_raises, fail

# Built in the learner's kernel: test functions and their parts. Only their values cross back.
_IN_KERNEL = '''
import numpy as np

def quadratic(A, b):
    return lambda x: 0.5 * float(x @ A @ x) + float(b @ x)

def rosenbrock(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))

def wavy(x):
    return float(np.sum(np.sin(x) * x ** 2))

def logsumexp(x):
    m = np.max(x)
    return float(m + np.log(np.sum(np.exp(x - m))))

def cubic(X):
    return float(np.sum(X ** 3) / 3.0 + np.sum(X[:, :-1] * X[:, 1:]))

def vector_f(x):
    return np.array([x[0] * x[1] + np.sin(x[2]), np.exp(0.5 * x[0]) - x[2] ** 2])

def square_f(x):
    return np.array([x[0] ** 2 * x[1], 3.0 * x[1] + np.cos(x[2]), x[0] * x[2] ** 3])

def linear_grad(Q, b):
    return lambda x: Q @ x - b

def g(x):
    return np.array([x[0] * x[1] + np.sin(x[2]), np.exp(0.5 * x[0]) - x[2] ** 2])

def jac_g(x):
    return np.array([[x[1], x[0], np.cos(x[2])], [0.5 * np.exp(0.5 * x[0]), 0.0, -2.0 * x[2]]])

def grad_f(y):
    return np.array([2.0 * y[0] * y[1], y[0] ** 2 - np.sin(y[1])])

def g_sq(x):
    return np.array([x[0] * x[1], x[1] + x[0] ** 2])

def jac_g_sq(x):
    return np.array([[x[1], x[0]], [2.0 * x[0], 1.0]])

def grad_f_sq(y):
    return np.array([np.cos(y[0]) * y[1] ** 2, 2.0 * np.sin(y[0]) * y[1] + 3.0])

def with_copies(fn, *arrays):
    """Call fn on copies made in the kernel; return (copies before, copies after, result)."""
    before = [a.copy() for a in arrays]
    work = [a.copy() for a in arrays]
    result = fn(*work)
    return before, work, result
'''
_NAMES = (
    "quadratic rosenbrock wavy logsumexp cubic vector_f square_f linear_grad "
    "g jac_g grad_f g_sq jac_g_sq grad_f_sq with_copies"
).split()

_CENTRED = (
    "Use centred differences: grad[i] = (f(x + h*e_i) - f(x - h*e_i)) / (2*h). A forward difference "
    "(f(x + h*e_i) - f(x)) / h has an error proportional to h, about 1e-5 here, far above 1e-7."
)
_ACCURATE = (
    "grad[i] = (f(x + h*e_i) - f(x - h*e_i)) / (2*h), where every other entry is at its original value: put "
    "each entry back exactly (copy[i] = old, not copy[i] -= h) before moving to the next one."
)
_FLOAT64 = (
    "Work on a float64 copy: x = np.array(x, dtype=np.float64). In float32 (7 digits) f(x + h) - f(x - h) "
    "with h = 1e-5 keeps almost no correct digits."
)


class K:
    """The kernel-side helpers of one test, as remote references."""

    def __init__(self, sub: Any) -> None:
        refs = sub.eval("lambda src, names: (lambda ns: (exec(src, ns), [ns[n] for n in names])[1])({})")(
            _IN_KERNEL, list(_NAMES)
        )
        self.__dict__.update(zip(_NAMES, refs, strict=True))

    def __getattr__(self, name: str) -> Any:  # only for the type checker: every name is set above
        raise AttributeError(name)


# ---------------------------------------------------------------- analytic references


def _rosenbrock_grad(x: np.ndarray) -> np.ndarray:
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


def _wavy_grad(x: np.ndarray) -> np.ndarray:
    return np.cos(x) * x**2 + 2.0 * x * np.sin(x)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def _cubic_grad(X: np.ndarray) -> np.ndarray:
    G = X**2
    G[:, :-1] += X[:, 1:]
    G[:, 1:] += X[:, :-1]
    return G


def _forward(f: Any, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    g = np.zeros_like(x)
    fx = f(x)
    for i in range(x.size):
        xp = x.copy()
        xp.flat[i] += h
        g.flat[i] = (f(xp) - fx) / h
    return g


def _rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-300))


def _check_array(value: Any, shape: tuple[int, ...], name: str, hint: str | None = None) -> np.ndarray:
    __tracebackhide__ = True
    if not isinstance(value, np.ndarray):
        fail(f"`{name}` should be an ndarray of shape {shape}, but you returned a {type(value).__name__}.", hint)
    if value.shape != shape:
        fail(f"`{name}` has shape {value.shape}, expected {shape}.", hint)
    if value.dtype != np.float64:
        fail(f"`{name}` has dtype {value.dtype}, expected float64.", _FLOAT64)
    if not np.isfinite(value).all():
        fail(f"`{name}` contains NaN or inf.", hint)
    return value


def _check_gradient(
    value: Any,
    expected: np.ndarray,
    name: str,
    *,
    local_f: Any = None,
    x: np.ndarray | None = None,
    shape_hint: str | None = None,
    hint: str = _ACCURATE,
) -> None:
    """Relative error below 1e-7; a forward difference of `local_f` at `x` is recognised and named."""
    __tracebackhide__ = True
    got = _check_array(
        value,
        expected.shape,
        name,
        shape_hint or "The gradient has the shape of x: fill np.zeros_like of the float64 copy, never a flat array.",
    )
    err = _rel_err(got, expected)
    if err < 1e-7:
        return
    if local_f is not None and x is not None and _rel_err(got, _forward(local_f, np.asarray(x, float))) < 1e-9:
        fail(f"`{name}` equals the forward difference; its relative error is {err:.2g} (the limit is 1e-7).", _CENTRED)
    assert_close(got, expected, rtol=1e-7, atol=1e-7 * float(np.abs(expected).max()), name=name, hint=hint)


def _local_wavy(z: np.ndarray) -> float:
    return float(np.sum(np.sin(z) * z**2))


def _local_cubic(X: np.ndarray) -> float:
    return float(np.sum(X**3) / 3.0 + np.sum(X[:, :-1] * X[:, 1:]))


# ---------------------------------------------------------------- numerical_gradient


@pytest.mark.public
@pytest.mark.points(2)
def test_numerical_gradient_matches_analytic_gradients(sub: Any, rng: np.random.Generator) -> None:
    k = K(sub)
    M = rng.normal(size=(4, 4))
    A = M @ M.T + np.eye(4)
    b = rng.normal(size=4)
    x = rng.normal(size=4)
    quad = k.quadratic(A, b)
    _check_gradient(
        sub.numerical_gradient(quad, x),
        A @ x + b,
        "numerical_gradient of 0.5 x.A.x + b.x",
        local_f=lambda z: 0.5 * z @ A @ z + b @ z,
        x=x,
    )
    cases = [
        (
            k.rosenbrock,
            lambda z: float(np.sum(100 * (z[1:] - z[:-1] ** 2) ** 2 + (1 - z[:-1]) ** 2)),
            _rosenbrock_grad,
            rng.uniform(-1.5, 1.5, size=5),
            "the Rosenbrock function",
        ),
        (
            k.wavy,
            _local_wavy,
            _wavy_grad,
            rng.uniform(-3, 3, size=6),
            "sum(sin(x) * x**2)",
        ),
        (k.logsumexp, lambda z: float(np.log(np.sum(np.exp(z)))), _softmax, rng.normal(size=5), "log-sum-exp"),
    ]
    for remote_f, local_f, analytic, point, what in cases:
        _check_gradient(
            sub.numerical_gradient(remote_f, point),
            analytic(point),
            f"numerical_gradient of {what}",
            local_f=local_f,
            x=point,
        )
    # a larger step is passed through
    x = rng.uniform(-2, 2, size=3)
    got = _check_array(sub.numerical_gradient(k.wavy, x, h=1e-2), (3,), "numerical_gradient(..., h=1e-2)")
    expected = np.array(
        [(np.sin(x[i] + 1e-2) * (x[i] + 1e-2) ** 2 - np.sin(x[i] - 1e-2) * (x[i] - 1e-2) ** 2) / 2e-2 for i in range(3)]
    )
    assert_close(
        got,
        expected,
        rtol=1e-8,
        atol=1e-10,
        name="numerical_gradient(f, x, h=1e-2)",
        hint="Use the given step h, not a fixed 1e-5.",
    )


@pytest.mark.points(1)
def test_numerical_gradient_keeps_the_shape_of_x_and_accepts_integers(sub: Any, rng: np.random.Generator) -> None:
    k = K(sub)
    X = rng.uniform(-2, 2, size=(3, 4))
    _check_gradient(
        sub.numerical_gradient(k.cubic, X),
        _cubic_grad(X),
        "numerical_gradient at a 3x4 matrix",
        local_f=_local_cubic,
        x=X,
        shape_hint="x may have any shape: perturb every entry (loop over the x.size entries of x.reshape(-1), a "
        "view of your copy) and return a gradient of the same shape as x.",
    )
    xi = np.array([1, -2, 3])
    _check_gradient(
        sub.numerical_gradient(k.wavy, xi),
        _wavy_grad(xi.astype(float)),
        "numerical_gradient at the integer point [1, -2, 3]",
        local_f=_local_wavy,
        x=xi,
        hint="Adding h = 1e-5 to an entry of an integer array does nothing (it is cast back to an int). " + _FLOAT64,
    )


@pytest.mark.points(1)
def test_numerical_gradient_does_not_modify_x(sub: Any, rng: np.random.Generator) -> None:
    k = K(sub)
    x = rng.uniform(-2, 2, size=(2, 3))
    call = sub.eval("lambda ng, f: lambda x: ng(f, x)")(sub.numerical_gradient, k.wavy)
    (before,), (after,), grad = k.with_copies(call, x)
    assert_close(
        after,
        before,
        rtol=0,
        atol=0,
        name="your caller's x after numerical_gradient",
        hint="numerical_gradient must not modify the caller's x. Perturb a float64 copy "
        "(x = np.array(x, dtype=np.float64)) and restore each entry exactly (copy[i] = old) before the next one.",
    )
    _check_gradient(grad, _wavy_grad(x), "numerical_gradient at a 2x3 matrix", local_f=_local_wavy, x=x)


@pytest.mark.points(1)
def test_numerical_gradient_works_in_float64(sub: Any, rng: np.random.Generator) -> None:
    k = K(sub)
    x32 = rng.uniform(-2, 2, size=5).astype(np.float32)
    got = sub.numerical_gradient(k.wavy, x32)
    if isinstance(got, np.ndarray) and got.dtype == np.float32:
        fail("`numerical_gradient` of a float32 x returned float32.", _FLOAT64)
    x64 = x32.astype(np.float64)
    _check_gradient(
        got, _wavy_grad(x64), "numerical_gradient at a float32 point", local_f=_local_wavy, x=x64, hint=_FLOAT64
    )


# ---------------------------------------------------------------- jacobian


@pytest.mark.public
@pytest.mark.points(2)
def test_jacobian_matches_the_analytic_jacobian(sub: Any, rng: np.random.Generator) -> None:
    k = K(sub)
    layout = "J[i, j] is the derivative of output i with respect to input j: J has shape (m, n), one row per output."
    x = rng.uniform(-1.5, 1.5, size=3)
    J_sq = np.array(
        [
            [2 * x[0] * x[1], x[0] ** 2, 0.0],
            [0.0, 3.0, -np.sin(x[2])],
            [x[2] ** 3, 0.0, 3 * x[0] * x[2] ** 2],
        ]
    )
    got = _check_array(sub.jacobian(k.square_f, x), (3, 3), "jacobian of a function R^3 -> R^3", layout)
    if _rel_err(got, J_sq.T) < 1e-7:
        fail("Your Jacobian is transposed.", layout)
    _check_gradient(
        got,
        J_sq,
        "jacobian of a function R^3 -> R^3",
        hint="Column j is (f(x + h*e_j) - f(x - h*e_j)) / (2*h), with centred differences.",
    )

    x = rng.uniform(-1.5, 1.5, size=3)
    J = np.array([[x[1], x[0], np.cos(x[2])], [0.5 * np.exp(0.5 * x[0]), 0.0, -2.0 * x[2]]])
    got = sub.jacobian(k.vector_f, x)
    if isinstance(got, np.ndarray) and got.shape == (3, 2):
        fail("For f: R^3 -> R^2 your Jacobian has shape (3, 2): it is transposed.", layout)
    _check_gradient(
        _check_array(got, (2, 3), "jacobian of a function R^3 -> R^2", layout),
        J,
        "jacobian of a function R^3 -> R^2",
        hint="Column j is (f(x + h*e_j) - f(x - h*e_j)) / (2*h), with centred differences.",
    )
    (before,), (after,), _ = k.with_copies(sub.eval("lambda jac, f: lambda x: jac(f, x)")(sub.jacobian, k.vector_f), x)
    assert_close(
        after,
        before,
        rtol=0,
        atol=0,
        name="your caller's x after jacobian",
        hint="Perturb a float64 copy of x, never x itself.",
    )
    with expect_raises("ValueError", name="jacobian at a 2-D x", hint="x must be 1-D: raise ValueError otherwise."):
        sub.jacobian(k.vector_f, rng.normal(size=(3, 1)))


# ---------------------------------------------------------------- gradient descent


@pytest.mark.public
@pytest.mark.points(1)
def test_gradient_descent_returns_the_trajectory(sub: Any, rng: np.random.Generator) -> None:
    k = K(sub)
    R, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    Q = R @ np.diag([1.0, 2.0, 4.0]) @ R.T  # with lr = 0.4 every step shrinks the error by 0.6 or more
    b = rng.normal(size=3)
    x0 = rng.normal(size=3)
    lr = 0.4
    expected = [x0]
    for _ in range(60):
        expected.append(expected[-1] - lr * (Q @ expected[-1] - b))
    grad = k.linear_grad(Q, b)
    got = sub.gradient_descent(grad, x0, lr, 60)
    shape_hint = "Return every point, x0 included: n_steps + 1 rows, one per point x_0, x_1, ..., x_{n_steps}."
    got = _check_array(got, (61, 3), "gradient_descent(..., n_steps=60)", shape_hint)
    if np.all(got == got[-1]) and not np.allclose(expected[0], expected[-1]):
        fail(
            "All rows of your trajectory are the same point.",
            "You appended the same array every step and then changed it in place (x -= ...). Store a copy of each "
            "point, or write x = x - lr * grad(x), which makes a new array.",
        )
    assert_close(
        got,
        np.array(expected),
        rtol=1e-10,
        atol=1e-12,
        name="trajectory",
        hint="Row 0 is x0; row t+1 is x_t - lr * grad(x_t). " + shape_hint,
    )
    assert_close(
        got[-1],
        np.linalg.solve(Q, b),
        rtol=1e-4,
        atol=1e-6,
        name="the last point",
        hint="Gradient descent on a convex quadratic should reach its minimum.",
    )
    assert_close(
        sub.gradient_descent(grad, x0, lr, 0),
        x0[None, :],
        name="gradient_descent(..., n_steps=0)",
        hint="With n_steps=0 the trajectory is just x0, shape (1, d).",
    )
    (before,), (after,), _ = k.with_copies(
        sub.eval("lambda gd, grad: lambda x: gd(grad, x, 0.1, 3)")(sub.gradient_descent, grad), x0
    )
    assert_close(
        after,
        before,
        rtol=0,
        atol=0,
        name="your caller's x0 after gradient_descent",
        hint="Never update x0 in place: start from a float64 copy.",
    )
    with expect_raises("ValueError", name="gradient_descent with n_steps=-1", hint="Raise ValueError for n_steps < 0."):
        sub.gradient_descent(grad, x0, lr, -1)
    with expect_raises(
        "ValueError", name="gradient_descent with a 2-D x0", hint="x0 must be 1-D: raise ValueError otherwise."
    ):
        sub.gradient_descent(grad, x0[None, :], lr, 3)


# ---------------------------------------------------------------- chain rule


@pytest.mark.public
@pytest.mark.points(2)
def test_chain_rule_grad_combines_the_two_derivatives(sub: Any, rng: np.random.Generator) -> None:
    k = K(sub)
    transpose = (
        "grad (f o g)(x) = J_g(x).T @ grad_f(g(x)): the Jacobian has one row per output of g, so multiply by its "
        "transpose."
    )
    # g: R^2 -> R^2, so that a missing transpose gives wrong values rather than a shape error
    x = rng.uniform(-1, 1, size=2)
    y = np.array([x[0] * x[1], x[1] + x[0] ** 2])
    Jg = np.array([[x[1], x[0]], [2.0 * x[0], 1.0]])
    gf = np.array([np.cos(y[0]) * y[1] ** 2, 2.0 * np.sin(y[0]) * y[1] + 3.0])
    expected = Jg.T @ gf
    got = _check_array(
        sub.chain_rule_grad(k.grad_f_sq, k.g_sq, k.jac_g_sq, x), (2,), "chain_rule_grad for g: R^2 -> R^2"
    )
    if _rel_err(got, expected) >= 1e-10:
        if np.allclose(got, Jg @ gf, rtol=1e-10):
            fail("Your chain_rule_grad multiplies by J_g instead of its transpose.", transpose)
        gf_at_x = np.array([np.cos(x[0]) * x[1] ** 2, 2.0 * np.sin(x[0]) * x[1] + 3.0])
        if np.allclose(got, Jg.T @ gf_at_x, rtol=1e-10) or np.allclose(got, Jg @ gf_at_x, rtol=1e-10):
            fail(
                "Your chain_rule_grad evaluates grad_f at x.",
                "Evaluate grad_f at g(x), the point where f is applied: J_g(x).T @ grad_f(g(x)).",
            )
        assert_close(got, expected, rtol=1e-10, atol=1e-12, name="chain_rule_grad for g: R^2 -> R^2", hint=transpose)

    # g: R^3 -> R^2, f: R^2 -> R
    x = rng.uniform(-1, 1, size=3)
    y = np.array([x[0] * x[1] + np.sin(x[2]), np.exp(0.5 * x[0]) - x[2] ** 2])
    Jg = np.array([[x[1], x[0], np.cos(x[2])], [0.5 * np.exp(0.5 * x[0]), 0.0, -2.0 * x[2]]])
    gf = np.array([2.0 * y[0] * y[1], y[0] ** 2 - np.sin(y[1])])
    got = _check_array(
        sub.chain_rule_grad(k.grad_f, k.g, k.jac_g, x), (3,), "chain_rule_grad for g: R^3 -> R^2", transpose
    )
    assert_close(got, Jg.T @ gf, rtol=1e-10, atol=1e-12, name="chain_rule_grad for g: R^3 -> R^2", hint=transpose)

    # a g that bends fast: a finite-difference estimate of J_g is off by far more than the tolerance
    x = rng.uniform(-1, 1, size=2)
    g_fast = sub.eval("lambda x: __import__('numpy').array([__import__('numpy').sin(60 * x[0]) * x[1], x[0] * x[1]])")
    jac_fast = sub.eval(
        "lambda x: __import__('numpy').array([[60 * __import__('numpy').cos(60 * x[0]) * x[1], "
        "__import__('numpy').sin(60 * x[0])], [x[1], x[0]]])"
    )
    grad_f_lin = sub.eval("lambda y: __import__('numpy').array([1.0, -2.0]) + 0 * y")
    Jg = np.array([[60 * np.cos(60 * x[0]) * x[1], np.sin(60 * x[0])], [x[1], x[0]]])
    got = _check_array(
        sub.chain_rule_grad(grad_f_lin, g_fast, jac_fast, x), (2,), "chain_rule_grad for g(x) = (sin(60 x0) x1, x0 x1)"
    )
    assert_close(
        got,
        Jg.T @ np.array([1.0, -2.0]),
        rtol=1e-10,
        atol=1e-12,
        name="chain_rule_grad for g(x) = (sin(60 x0) x1, x0 x1)",
        hint="Use the given derivatives only: jac_g(x), not a finite-difference estimate of the Jacobian of g.",
    )
