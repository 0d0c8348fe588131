"""Hidden suite for prerequisites/linear_algebra: matmul, power_iteration, gram_schmidt, project.

The "no @ / np.dot / einsum" rule of `matmul` is checked by reading its source in the kernel
and walking its syntax tree here, together with the module's own functions that it calls.
"""

from __future__ import annotations

import ast
import re
import textwrap
from typing import Any

import numpy as np
import pytest

from grader.helpers import assert_close, expect_raises, fail

# Runs in the learner's kernel: the source of every function defined in the learner's module
# (by global name), the global names bound to NumPy's own product functions, and f's name.
_SOURCES_PROBE = """
lambda f: (lambda inspect, np, operator, g: (
    {n: inspect.getsource(o) for n, o in list(g.items())
     if inspect.isfunction(o) and o.__code__.co_filename == f.__code__.co_filename},
    [n for n, o in list(g.items()) if any(o is p for p in (
        np.dot, np.matmul, np.einsum, np.tensordot, np.inner, np.vdot, np.linalg.multi_dot,
        operator.matmul, operator.imatmul))],
))(__import__("inspect"), __import__("numpy"), __import__("operator"), getattr(f, "__globals__", {}))
""".strip()

_FORBIDDEN_ATTRS = frozenset(
    {"dot", "matmul", "einsum", "tensordot", "inner", "vdot", "multi_dot", "__matmul__", "__rmatmul__"}
)
_BROADCAST_HINT = (
    "Give A and B new axes so their elementwise product has shape (n, k, m): "
    "(A[:, :, None] * B[None, :, :]).sum(axis=1)."
)
_NORMALISE = "normalise v after every multiplication: v = w / np.linalg.norm(w)"
_SIGN = (
    "The sign of an eigenvector is arbitrary, so it is pinned: flip v so that its entry of largest absolute "
    "value (np.argmax(np.abs(v))) is positive. Without this the answer depends on the seed, and on the parity "
    "of the step count when the eigenvalue is negative."
)
_MGS = (
    "Use modified Gram-Schmidt: subtract (q @ w) * q from the *current* w, one basis vector after the other. "
    "Classical Gram-Schmidt takes every dot product with the original column and loses orthogonality when "
    "columns are nearly dependent."
)


# ---------------------------------------------------------------- helpers (grader side)


def _orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def _pinned_sign(v: np.ndarray) -> np.ndarray:
    return v if v[np.argmax(np.abs(v))] > 0 else -v


def _qr_q(V: np.ndarray) -> np.ndarray:
    """The Q of V = QR with a positive diagonal of R: what Gram-Schmidt returns for independent columns."""
    q, r = np.linalg.qr(V)
    return q * np.sign(np.diag(r))


def _check_float64_array(value: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    __tracebackhide__ = True
    if not isinstance(value, np.ndarray):
        fail(f"`{name}` should be an ndarray of shape {shape}, but you returned a {type(value).__name__}.")
    if value.shape != shape:
        fail(f"`{name}` has shape {value.shape}, expected {shape}.")
    if value.dtype != np.float64:
        fail(
            f"`{name}` has dtype {value.dtype}, expected float64.",
            hint="Convert inputs with np.asarray(x, dtype=np.float64).",
        )
    return value


def _violations(sources: dict[str, str], bound: list[str], start: str) -> list[str]:
    """What in `start` (and the module functions it uses) computes a product the forbidden way."""
    found: list[str] = []
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in sources:
            continue
        seen.add(name)
        code = textwrap.dedent(sources[name])
        where = "" if name == start else f" (in `{name}`, which `{start}` calls)"
        try:
            tree = ast.parse(code)
        except SyntaxError:  # e.g. a lambda inside a larger expression: fall back to reading the text
            for pattern, what in (
                (r"@", "the @ operator"),
                (r"\.(dot|matmul|einsum|tensordot|inner|vdot|multi_dot)\b", "a NumPy product function"),
            ):
                if re.search(pattern, code):
                    found.append(what + where)
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.MatMult):
                found.append(f"the @ operator{where}")
            elif isinstance(node, ast.Attribute) and node.attr in _FORBIDDEN_ATTRS:
                found.append(f"`.{node.attr}`{where}")
            elif isinstance(node, ast.ImportFrom) and any(a.name in _FORBIDDEN_ATTRS for a in node.names):
                found.append(f"an import of {', '.join(a.name for a in node.names)}{where}")
            elif isinstance(node, ast.Name):
                if node.id in bound:
                    found.append(f"`{node.id}`, which is NumPy's own product function{where}")
                elif node.id in sources and node.id != name:
                    todo.append(node.id)
    return sorted(set(found))


# ---------------------------------------------------------------- matmul


@pytest.mark.public
@pytest.mark.points(1)
def test_matmul_matches_numpy(sub: Any, rng: np.random.Generator) -> None:
    for n, k, m in ((3, 4, 5), (1, 6, 1), (5, 1, 2), (6, 6, 6)):
        A, B = rng.normal(size=(n, k)), rng.normal(size=(k, m))
        C = _check_float64_array(sub.matmul(A, B), (n, m), f"matmul of shapes {(n, k)} and {(k, m)}")
        assert_close(
            C,
            A @ B,
            rtol=1e-12,
            atol=1e-12,
            name=f"matmul(A, B) for shapes {(n, k)} and {(k, m)}",
            hint="C[i, j] = sum over p of A[i, p] * B[p, j]: multiply along k, then sum that axis. " + _BROADCAST_HINT,
        )
    Ai, Bi = rng.integers(-5, 6, size=(3, 2)), rng.integers(-5, 6, size=(2, 4))
    C = _check_float64_array(sub.matmul(Ai.tolist(), Bi.tolist()), (3, 4), "matmul of integer lists")
    assert_close(
        C, Ai @ Bi, name="matmul of integer lists", hint="Convert both inputs with np.asarray(..., dtype=np.float64)."
    )


@pytest.mark.points(1)
def test_matmul_uses_broadcasting_not_a_library_product(sub: Any, rng: np.random.Generator) -> None:
    A, B = rng.normal(size=(2, 3)), rng.normal(size=(3, 2))
    sub.matmul(A, B)  # an untouched stub stops here: "not attempted"
    sources, bound = sub.eval(_SOURCES_PROBE)(sub.matmul)
    if "matmul" in bound:
        fail(
            "`matmul` is NumPy's own matmul, not your function.",
            hint="Write it yourself with broadcasting. " + _BROADCAST_HINT,
        )
    if "matmul" not in sources:
        fail(
            "The grader could not read the source code of `matmul`.",
            hint="Define it in linear_algebra.py with `def matmul(A, B):`.",
        )
    found = _violations(sources, bound, "matmul")
    if found:
        fail(
            f"`matmul` must not use a ready-made product, but it uses {', '.join(found)}.",
            hint="Do not use @, np.dot, .dot, np.matmul, np.einsum, np.tensordot, np.inner or np.vdot here. "
            + _BROADCAST_HINT,
        )


@pytest.mark.points(1)
def test_matmul_rejects_shapes_that_do_not_fit(sub: Any, rng: np.random.Generator) -> None:
    sub.matmul(rng.normal(size=(2, 3)), rng.normal(size=(3, 4)))
    hint = "Check A.ndim == B.ndim == 2 and A.shape[1] == B.shape[0] first, and raise ValueError otherwise."
    with expect_raises(
        "ValueError",
        name="matmul of shapes (3, 1) and (2, 4)",
        hint="Broadcasting silently stretches the length-1 axis, so this shape error goes unnoticed. " + hint,
    ):
        sub.matmul(rng.normal(size=(3, 1)), rng.normal(size=(2, 4)))
    with expect_raises("ValueError", name="matmul of shapes (2, 3) and (4, 2)", hint=hint):
        sub.matmul(rng.normal(size=(2, 3)), rng.normal(size=(4, 2)))
    with expect_raises("ValueError", name="matmul of a 1-D A (shape (3,)) and B (3, 2)", hint=hint):
        sub.matmul(rng.normal(size=3), rng.normal(size=(3, 2)))


# ---------------------------------------------------------------- power iteration


def _check_eigenpair(result: Any, A: np.ndarray, lam: float, vec: np.ndarray, what: str) -> np.ndarray:
    """Check value, unit norm and direction; return v (the sign is checked elsewhere)."""
    __tracebackhide__ = True
    n = A.shape[0]
    if not isinstance(result, tuple) or len(result) != 2:
        fail(f"`power_iteration` ({what}) should return a tuple (eigenvalue, v), but returned {type(result).__name__}.")
    value, v = result
    if isinstance(value, np.ndarray) or isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        fail(f"The eigenvalue ({what}) should be a float, but it is a {type(value).__name__}.", hint="Use float(...).")
    v = _check_float64_array(v, (n,), f"eigenvector ({what})")
    if not np.isfinite(v).all() or not np.isfinite(value):
        fail(f"The eigenpair ({what}) contains NaN or inf: the iterates overflowed.", hint=_NORMALISE + ".")
    norm = float(np.linalg.norm(v))
    if abs(norm - 1.0) > 1e-8:
        fail(
            f"The eigenvector ({what}) has norm {norm:.6g}; it must be a unit vector.",
            hint=f"Return a unit vector: {_NORMALISE}.",
        )
    assert_close(
        float(value),
        lam,
        rtol=1e-9,
        atol=1e-12,
        name=f"eigenvalue ({what})",
        hint="Iterate w = A @ v, v = w / ||w|| until v stops changing (up to sign), then return the Rayleigh "
        "quotient v @ A @ v. It is the eigenvalue of largest absolute value, which may be negative.",
    )
    if min(np.abs(v - vec).max(), np.abs(v + vec).max()) > 1e-6:
        assert_close(
            v,
            vec,
            atol=1e-6,
            name=f"eigenvector ({what})",
            hint="v should be the dominant eigenvector: keep iterating until v changes by less than tol.",
        )
    return v


@pytest.mark.public
@pytest.mark.points(2)
def test_power_iteration_finds_the_dominant_eigenpair(sub: Any, rng: np.random.Generator) -> None:
    # symmetric, dominant eigenvalue positive
    Q = _orthogonal(rng, 5)
    lams = np.array([6.0, -3.0, 2.5, 1.0, 0.2])
    A = Q @ np.diag(lams) @ Q.T
    A = (A + A.T) / 2
    _check_eigenpair(sub.power_iteration(A), A, 6.0, _pinned_sign(Q[:, 0]), "a symmetric 5x5 matrix")

    # not symmetric, eigenvalues real
    P = rng.normal(size=(4, 4)) + 4 * np.eye(4)
    lams = np.array([3.0, 1.2, -0.8, 0.5])
    A = P @ np.diag(lams) @ np.linalg.inv(P)
    vec = _pinned_sign(P[:, 0] / np.linalg.norm(P[:, 0]))
    _check_eigenpair(sub.power_iteration(A, n_iters=2000), A, 3.0, vec, "a non-symmetric 4x4 matrix")

    # integer lists, 2x2
    res = sub.power_iteration([[2, 1], [1, 2]])
    _check_eigenpair(
        res, np.array([[2.0, 1.0], [1.0, 2.0]]), 3.0, np.array([1.0, 1.0]) / np.sqrt(2), "[[2, 1], [1, 2]]"
    )

    with expect_raises("ValueError", name="power_iteration of a 2x3 matrix", hint="A must be square: check A.shape."):
        sub.power_iteration(rng.normal(size=(2, 3)))


@pytest.mark.points(1)
def test_power_iteration_pins_the_sign(sub: Any, rng: np.random.Generator) -> None:
    Q = _orthogonal(rng, 6)
    cases = (
        (np.array([-5.0, 2.0, 1.5, -1.0, 0.5, 0.1]), "dominant eigenvalue -5"),
        (np.array([4.0, -2.0, 1.0, 0.5, -0.3, 0.1]), "dominant eigenvalue 4"),
    )
    for lams, what in cases:
        A = Q @ np.diag(lams) @ Q.T
        A = (A + A.T) / 2
        expected = _pinned_sign(Q[:, 0])
        for seed in (0, 1, 2, 3, 7):
            v = _check_eigenpair(sub.power_iteration(A, seed=seed), A, float(lams[0]), expected, f"{what}, seed={seed}")
            i = int(np.argmax(np.abs(v)))
            if v[i] < 0:
                fail(
                    f"With {what} and seed={seed}, the entry of largest absolute value of your eigenvector "
                    f"is v[{i}] = {v[i]:.6g}, which is negative.",
                    hint=_SIGN,
                )


# ---------------------------------------------------------------- Gram-Schmidt


def _check_basis(Q: Any, V: np.ndarray, rank: int, what: str, orth_tol: float, hint: str) -> np.ndarray:
    __tracebackhide__ = True
    if not isinstance(Q, np.ndarray) or Q.shape != (V.shape[0], rank):
        got = f"shape {Q.shape}" if isinstance(Q, np.ndarray) else f"a {type(Q).__name__}"
        fail(
            f"`gram_schmidt` ({what}) returned {got}; expected shape {(V.shape[0], rank)} "
            f"(one column per independent column of V).",
            hint="Skip a column when what is left after the subtractions is tiny: ||w|| <= 1e-10 * ||V[:, j]||.",
        )
    Q = _check_float64_array(Q, (V.shape[0], rank), f"gram_schmidt ({what})")
    if not np.isfinite(Q).all():
        fail(
            f"`gram_schmidt` ({what}) returned NaN or inf.",
            hint="Skip dependent columns (||w|| <= 1e-10 * ||V[:, j]||) instead of dividing by a zero norm.",
        )
    norms = np.linalg.norm(Q, axis=0)
    if rank and np.abs(norms - 1.0).max() > 1e-8:
        j = int(np.argmax(np.abs(norms - 1.0)))
        fail(
            f"Column {j} of your basis ({what}) has norm {norms[j]:.6g}; every column must have unit length.",
            hint="Normalise each new basis vector: append w / np.linalg.norm(w), not w.",
        )
    err = float(np.abs(Q.T @ Q - np.eye(rank)).max()) if rank else 0.0
    if err > orth_tol:
        fail(
            f"Your basis ({what}) is not orthonormal: Q.T @ Q differs from the identity by up to {err:.3g}.",
            hint=hint,
        )
    span_err = float(np.abs(Q @ (Q.T @ V) - V).max() / max(1.0, np.abs(V).max()))
    if span_err > 1e-8:
        fail(
            f"Your basis ({what}) does not span the columns of V: Q @ Q.T @ V is off by up to {span_err:.3g}.",
            hint="Every column of V must be a combination of the returned columns; skip only columns whose "
            "remainder is tiny (||w|| <= 1e-10 * ||V[:, j]||).",
        )
    return Q


@pytest.mark.public
@pytest.mark.points(1)
def test_gram_schmidt_gives_the_orthonormal_basis_of_qr(sub: Any, rng: np.random.Generator) -> None:
    for n, k in ((6, 4), (3, 3), (5, 1)):
        V = rng.normal(size=(n, k))
        Q = _check_basis(
            sub.gram_schmidt(V),
            V,
            k,
            f"a random {n}x{k} V",
            1e-12,
            "Orthogonalise each column against every basis vector found so far, then normalise it.",
        )
        assert_close(
            Q,
            _qr_q(V),
            atol=1e-10,
            name=f"gram_schmidt of a random {n}x{k} V",
            hint="Process the columns from left to right, and keep the sign of each remainder w (no flipping): "
            "column i of Q is then the Q of the QR decomposition with a positive diagonal of R.",
        )
    Vi = rng.integers(-4, 5, size=(4, 2))
    Vi[:, 1] += 5 * (Vi[:, 1] == Vi[:, 0])  # keep the two integer columns independent
    assert_close(
        sub.gram_schmidt(Vi.tolist()),
        _qr_q(Vi.astype(float)),
        atol=1e-10,
        name="gram_schmidt of a list of integers",
        hint="Convert V with np.asarray(V, dtype=np.float64) first.",
    )
    with expect_raises("ValueError", name="gram_schmidt of a 1-D array", hint="V must be 2-D: raise ValueError."):
        sub.gram_schmidt(rng.normal(size=4))
    V = rng.normal(size=(5, 3))
    before, after = sub.eval("lambda gs, V: (lambda before: (gs(V), before, V.copy())[1:])(V.copy())")(
        sub.gram_schmidt, V
    )
    assert_close(
        after,
        before,
        rtol=0,
        atol=0,
        name="your caller's V after gram_schmidt",
        hint="gram_schmidt must not modify V: start each w from a copy, w = V[:, j].copy(), or write w = w - ...",
    )


@pytest.mark.points(1)
def test_gram_schmidt_stays_orthonormal_for_nearly_dependent_columns(sub: Any, rng: np.random.Generator) -> None:
    # Lauchli's matrix: columns 1 + small perturbations, rotated so that no coordinate is special.
    eps = 1e-6
    k = 4
    L = np.vstack([np.ones((1, k)), eps * np.eye(k)])
    V = _orthogonal(rng, k + 1) @ L
    _check_basis(sub.gram_schmidt(V), V, k, f"Lauchli's matrix with eps={eps:g}", 1e-8, _MGS)


@pytest.mark.points(1)
def test_gram_schmidt_skips_dependent_columns(sub: Any, rng: np.random.Generator) -> None:
    a, b, c = rng.normal(size=(3, 6))
    V = np.column_stack([a, b, a + b, np.zeros(6), 2.5 * a, c, a - 3 * b + 0.5 * c])
    Q = _check_basis(
        sub.gram_schmidt(V),
        V,
        3,
        "V = [a, b, a + b, 0, 2.5a, c, a - 3b + c/2]",
        1e-12,
        "Orthogonalise each column against every basis vector found so far, then normalise it.",
    )
    assert_close(
        Q,
        _qr_q(np.column_stack([a, b, c])),
        atol=1e-10,
        name="gram_schmidt with dependent columns",
        hint="Keep the independent columns in their order (here a, b and c) and skip the others.",
    )
    empty = sub.gram_schmidt(np.zeros((4, 2)))
    if not isinstance(empty, np.ndarray) or empty.shape != (4, 0):
        got = f"shape {empty.shape}" if isinstance(empty, np.ndarray) else f"a {type(empty).__name__}"
        fail(
            f"`gram_schmidt` of a 4x2 zero matrix returned {got}; expected an empty basis of shape (4, 0).",
            hint="When every column is skipped, return np.zeros((n, 0)).",
        )


# ---------------------------------------------------------------- projection


@pytest.mark.public
@pytest.mark.points(1)
def test_project_onto_a_line_and_onto_a_subspace(sub: Any, rng: np.random.Generator) -> None:
    v, u = rng.normal(size=5), 3.0 * rng.normal(size=5)
    p = _check_float64_array(sub.project(v, u), (5,), "project(v, onto=u)")
    assert_close(
        p,
        (v @ u) / (u @ u) * u,
        rtol=1e-10,
        atol=1e-12,
        name="project(v, onto=u) for a vector u",
        hint="The projection onto the line through u is (v @ u) / (u @ u) * u: u is not a unit vector, so "
        "divide by u @ u.",
    )
    # a subspace given by columns that are neither orthonormal nor independent
    U = rng.normal(size=(6, 2)) * np.array([2.0, 0.3])
    U = np.column_stack([U, U[:, 0] - U[:, 1]])
    v = rng.normal(size=6)
    expected = U @ np.linalg.lstsq(U, v, rcond=None)[0]
    p = _check_float64_array(sub.project(v, U), (6,), "project(v, onto=U)")
    if np.allclose(p, U @ (U.T @ v)):
        hint = (
            "The columns of U are not orthonormal (nor independent), so U @ U.T @ v is not a projection. "
            "Orthonormalise them first (Q = gram_schmidt(U), then Q @ (Q.T @ v)), or use "
            "U @ np.linalg.lstsq(U, v, rcond=None)[0]."
        )
    else:
        hint = (
            "The projection is the point of U's column space nearest to v: U @ np.linalg.lstsq(U, v, rcond=None)[0], "
            "or Q @ (Q.T @ v) with Q = gram_schmidt(U) (here the third column of U depends on the other two)."
        )
        if not np.allclose(p, expected, rtol=1e-9, atol=1e-10):
            Q = np.asarray(sub.gram_schmidt(U), dtype=float)
            if (
                Q.shape != (6, 2)
                or not np.allclose(Q.T @ Q, np.eye(2), atol=1e-9)
                or not np.allclose(Q @ (Q.T @ v), expected, rtol=1e-9, atol=1e-10)
            ):
                fail(
                    "`project(v, onto=U)` is wrong for a 6x3 matrix U; if it uses your gram_schmidt, this follows "
                    "from gram_schmidt, which is wrong on this U (see its tests above)."
                )
    assert_close(p, expected, rtol=1e-9, atol=1e-10, name="project(v, onto=U) for a 6x3 matrix U", hint=hint)
    assert_close(
        sub.project(p, U),
        p,
        rtol=1e-9,
        atol=1e-10,
        name="project(project(v, U), U)",
        hint="Projecting twice changes nothing. " + hint,
    )
    assert_close(
        sub.project([1, 2], [2, 0]),
        np.array([1.0, 0.0]),
        name="project([1, 2], onto=[2, 0])",
        hint="Convert the inputs with np.asarray(..., dtype=np.float64).",
    )
    with expect_raises("ValueError", name="project onto the zero vector", hint="Raise ValueError when u @ u == 0."):
        sub.project(v, np.zeros(6))
    with expect_raises(
        "ValueError", name="project of a length-6 v onto a length-5 u", hint="Check that the lengths match."
    ):
        sub.project(v, rng.normal(size=5))
