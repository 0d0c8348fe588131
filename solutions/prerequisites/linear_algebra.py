"""Linear algebra in code: matrix product by broadcasting, power iteration, Gram-Schmidt, projection.

Every function takes array-likes (lists or NumPy arrays, integers are fine), converts
them to float64 and returns float64 results. None of them modifies its inputs.
"""

from __future__ import annotations

import numpy as np


def matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Matrix product ``A @ B``, written with broadcasting and a sum.

    Parameters
    ----------
    A : array_like of shape (n, k)
    B : array_like of shape (k, m)
        Both must be 2-D. They are converted to float64.

    Returns
    -------
    C : ndarray of shape (n, m), dtype float64
        ``C[i, j] = sum over p of A[i, p] * B[p, j]``.

    Raises
    ------
    ValueError
        If ``A`` or ``B`` is not 2-D, or if ``A.shape[1] != B.shape[0]``.
        Check this yourself: broadcasting alone would silently accept some
        wrong shapes (for example ``(3, 1)`` times ``(2, 4)``).

    Notes
    -----
    The point of the exercise is to see the product as "multiply, then sum":
    give ``A`` and ``B`` new axes so that their elementwise product has shape
    ``(n, k, m)``, then sum over the middle axis. The grader reads your code:
    ``matmul`` (and any function of this module that it calls) must not use
    the ``@`` operator, ``np.dot`` or the ``.dot`` method, ``np.matmul``,
    ``np.einsum``, ``np.tensordot``, ``np.inner``, ``np.vdot`` or
    ``np.linalg.multi_dot``.
    """
    # BEGIN SOLUTION
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError(f"matmul needs two 2-D arrays, got shapes {A.shape} and {B.shape}")
    if A.shape[1] != B.shape[0]:
        raise ValueError(f"shapes {A.shape} and {B.shape} do not fit: A.shape[1] must equal B.shape[0]")
    # (n, k, 1) * (1, k, m) -> (n, k, m), then sum over k
    return (A[:, :, None] * B[None, :, :]).sum(axis=1)
    # END SOLUTION


def power_iteration(A: np.ndarray, n_iters: int = 1000, tol: float = 1e-10, seed: int = 0) -> tuple[float, np.ndarray]:
    """Dominant eigenpair of a square matrix by power iteration.

    ``A`` (shape ``(n, n)``) must have a real dominant eigenvalue: one whose
    absolute value is strictly larger than that of every other eigenvalue. It
    may be negative. Symmetric matrices with such an eigenvalue are the usual case.

    Algorithm (follow it exactly):

    1. ``rng = np.random.default_rng(seed)``; the start vector is
       ``v = rng.standard_normal(n)``, divided by its Euclidean norm.
    2. Repeat at most ``n_iters`` times: ``w = A @ v``; ``v_new = w / ||w||``
       (normalise after *every* multiplication, or the numbers overflow).
       If ``v_new`` is within ``tol`` of ``v`` *or* of ``-v``
       (``min(||v_new - v||, ||v_new + v||) < tol``; a negative eigenvalue
       flips the sign at every step), set ``v = v_new`` and stop; otherwise set
       ``v = v_new`` and continue.
    3. The eigenvalue is the Rayleigh quotient ``v @ A @ v`` of the final unit ``v``.
    4. Fix the sign: multiply ``v`` by -1 if needed so that its entry of largest
       absolute value is positive (the first such entry, as ``np.argmax(np.abs(v))``
       finds it). The answer then does not depend on ``seed``.

    Parameters
    ----------
    A : array_like of shape (n, n)
    n_iters : int, default=1000
        Maximum number of multiplications by ``A``.
    tol : float, default=1e-10
        Stopping threshold on the change of ``v`` (see step 2).
    seed : int, default=0
        Seed of the start vector.

    Returns
    -------
    eigenvalue : float
        The dominant eigenvalue, a Python ``float``.
    v : ndarray of shape (n,), dtype float64
        Its eigenvector, with Euclidean norm 1 and the sign fixed as in step 4.

    Raises
    ------
    ValueError
        If ``A`` is not a square 2-D array.
    """
    # BEGIN SOLUTION
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square matrix, got shape {A.shape}")
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(A.shape[0])
    v = v / np.linalg.norm(v)
    for _ in range(n_iters):
        w = A @ v
        v_new = w / np.linalg.norm(w)
        change = min(np.linalg.norm(v_new - v), np.linalg.norm(v_new + v))
        v = v_new
        if change < tol:
            break
    eigenvalue = float(v @ A @ v)
    if v[np.argmax(np.abs(v))] < 0:
        v = -v
    return eigenvalue, v
    # END SOLUTION


def gram_schmidt(V: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the column space of ``V``, by modified Gram-Schmidt.

    Go through the columns of ``V`` from left to right. For column ``j``, start
    from ``w = V[:, j]`` and remove from it, one after the other, its component
    along every basis vector ``q`` found so far: ``w = w - (q @ w) * q``. Use the
    *current* ``w`` in each of these dot products (modified Gram-Schmidt), not
    the original column (classical Gram-Schmidt, which loses orthogonality
    when columns are nearly dependent). A second full pass of the same
    subtractions (re-orthogonalisation) is allowed, and gives the same answer.

    If what is left is tiny, ``||w|| <= 1e-10 * ||V[:, j]||`` (or the column
    is all zeros), the column depends on the earlier ones: skip it. Otherwise
    append ``w / ||w||`` to the basis.

    Parameters
    ----------
    V : array_like of shape (n, k)
        2-D; its columns are the vectors to orthonormalise.

    Returns
    -------
    Q : ndarray of shape (n, r), dtype float64
        The basis vectors as columns, in the order they were found; ``r`` is
        the number of columns that were not skipped (the rank of ``V``; ``r``
        may be 0). ``Q.T @ Q`` is the identity, ``Q @ Q.T @ V`` equals ``V``,
        and column ``i`` of ``Q`` has a positive dot product with the column
        of ``V`` it came from. (When no column is skipped, ``Q`` is the ``Q`` of
        the QR decomposition ``V = Q R`` whose ``R`` has a positive diagonal.)

    Raises
    ------
    ValueError
        If ``V`` is not 2-D.
    """
    # BEGIN SOLUTION
    V = np.asarray(V, dtype=np.float64)
    if V.ndim != 2:
        raise ValueError(f"V must be 2-D (its columns are the vectors), got shape {V.shape}")
    basis: list[np.ndarray] = []
    for j in range(V.shape[1]):
        w = V[:, j].copy()
        for q in basis:
            w = w - (q @ w) * q  # modified: project the current w, not the original column
        norm = np.linalg.norm(w)
        if norm == 0.0 or norm <= 1e-10 * np.linalg.norm(V[:, j]):
            continue  # dependent on the earlier columns
        basis.append(w / norm)
    if not basis:
        return np.zeros((V.shape[0], 0))
    return np.column_stack(basis)
    # END SOLUTION


def project(v: np.ndarray, onto: np.ndarray) -> np.ndarray:
    """Orthogonal projection of the vector ``v`` onto a line or a subspace.

    Parameters
    ----------
    v : array_like of shape (n,)
        The vector to project.
    onto : array_like of shape (n,) or (n, k)
        - 1-D: a non-zero vector ``u`` (not necessarily of unit length); the
          result is the projection onto the line through ``u``,
          ``(v @ u) / (u @ u) * u``.
        - 2-D: a matrix ``U`` whose columns span the subspace. The columns need
          *not* be orthonormal, nor even independent. The result is the point
          of the column space of ``U`` nearest to ``v``, for example
          ``U @ np.linalg.lstsq(U, v, rcond=None)[0]``, or ``Q @ (Q.T @ v)``
          with ``Q = gram_schmidt(U)``.

    Returns
    -------
    p : ndarray of shape (n,), dtype float64
        The projection: ``v - p`` is orthogonal to ``u`` (to every column of ``U``).

    Raises
    ------
    ValueError
        If ``v`` is not 1-D, if ``onto`` is not 1-D or 2-D, if the lengths do
        not match (``onto.shape[0] != v.shape[0]``), or if a 1-D ``onto`` is the
        zero vector.
    """
    # BEGIN SOLUTION
    v = np.asarray(v, dtype=np.float64)
    onto = np.asarray(onto, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"v must be 1-D, got shape {v.shape}")
    if onto.ndim not in (1, 2) or onto.shape[0] != v.shape[0]:
        raise ValueError(f"onto must have shape ({v.shape[0]},) or ({v.shape[0]}, k), got {onto.shape}")
    if onto.ndim == 1:
        uu = float(onto @ onto)
        if uu == 0.0:
            raise ValueError("cannot project onto the zero vector")
        return float(v @ onto) / uu * onto
    Q = gram_schmidt(onto)
    return Q @ (Q.T @ v)
    # END SOLUTION
