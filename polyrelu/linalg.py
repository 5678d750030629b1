"""Exact linear algebra over the rationals (small dense matrices).

Matrices are tuples of row tuples of :class:`~fractions.Fraction`; vectors are
tuples.  These helpers are exact and deliberately simple: Gaussian elimination
with exact pivoting.  gmpy2 ``mpq`` is used internally where it pays (matrix
products of trained weights), and results are returned as Fractions.

>>> from fractions import Fraction as F
>>> solve(((F(2), F(1)), (F(1), F(3))), (F(3), F(5)))
(Fraction(4, 5), Fraction(7, 5))
>>> rank(((1, 2), (2, 4)))
1
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import gmpy2

from .exceptions import ShapeError

__all__ = [
    "matvec",
    "matmul",
    "transpose",
    "identity",
    "rref",
    "rank",
    "solve",
    "nullspace",
    "dot",
    "to_mpq_matrix",
    "to_mpq_vector",
    "mpq_to_fraction",
]

mpq = gmpy2.mpq


def mpq_to_fraction(q) -> Fraction:
    """Lossless mpq -> Fraction."""
    return Fraction(int(q.numerator), int(q.denominator))


def to_mpq_vector(v: Sequence) -> list:
    return [mpq(x.numerator, x.denominator) if isinstance(x, Fraction) else mpq(x)
            for x in v]


def to_mpq_matrix(M: Sequence[Sequence]) -> list:
    return [to_mpq_vector(row) for row in M]


def dot(a: Sequence, b: Sequence) -> Fraction:
    """Exact inner product."""
    if len(a) != len(b):
        raise ShapeError(f"dot: lengths {len(a)} and {len(b)} differ")
    s = Fraction(0)
    for x, y in zip(a, b):
        if x and y:
            s += x * y
    return s


def matvec(M: Sequence[Sequence], v: Sequence) -> tuple[Fraction, ...]:
    """Exact M v (computed with mpq, returned as Fractions)."""
    vq = to_mpq_vector(v)
    out = []
    for row in M:
        if len(row) != len(vq):
            raise ShapeError(f"matvec: row of length {len(row)} times vector of "
                             f"length {len(vq)}")
        s = mpq(0)
        for a, x in zip(to_mpq_vector(row), vq):
            if a and x:
                s += a * x
        out.append(mpq_to_fraction(s))
    return tuple(out)


def matmul(A: Sequence[Sequence], B: Sequence[Sequence]) -> tuple[tuple[Fraction, ...], ...]:
    """Exact A B."""
    Aq = to_mpq_matrix(A)
    Bq = to_mpq_matrix(B)
    n = len(Bq)
    m = len(Bq[0]) if Bq else 0
    out = []
    for row in Aq:
        if len(row) != n:
            raise ShapeError(f"matmul: inner dimensions {len(row)} and {n} differ")
        acc = [mpq(0)] * m
        for a, brow in zip(row, Bq):
            if a:
                acc = [s + a * b for s, b in zip(acc, brow)]
        out.append(tuple(mpq_to_fraction(s) for s in acc))
    return tuple(out)


def transpose(A: Sequence[Sequence]) -> tuple[tuple, ...]:
    return tuple(zip(*A)) if A else ()


def identity(n: int) -> tuple[tuple[Fraction, ...], ...]:
    return tuple(tuple(Fraction(int(i == j)) for j in range(n)) for i in range(n))


def rref(A: Sequence[Sequence]) -> tuple[list[list[Fraction]], list[int]]:
    """Reduced row echelon form and pivot columns (exact)."""
    R = [[Fraction(x) for x in row] for row in A]
    pivots: list[int] = []
    if not R:
        return R, pivots
    ncols = len(R[0])
    r = 0
    for c in range(ncols):
        p = next((i for i in range(r, len(R)) if R[i][c] != 0), None)
        if p is None:
            continue
        R[r], R[p] = R[p], R[r]
        piv = R[r][c]
        R[r] = [x / piv for x in R[r]]
        for i in range(len(R)):
            if i != r and R[i][c] != 0:
                f = R[i][c]
                R[i] = [x - f * y for x, y in zip(R[i], R[r])]
        pivots.append(c)
        r += 1
        if r == len(R):
            break
    return R, pivots


def rank(A: Sequence[Sequence]) -> int:
    """Exact rank."""
    return len(rref(A)[1])


def solve(A: Sequence[Sequence], b: Sequence) -> tuple[Fraction, ...] | None:
    """A solution of A x = b (exact), or None if the system is inconsistent.

    For a singular consistent system, free variables are set to zero.
    """
    if len(A) != len(b):
        raise ShapeError(f"solve: {len(A)} rows but right-hand side of length {len(b)}")
    n = len(A[0]) if A else 0
    aug = [list(row) + [bi] for row, bi in zip(A, b)]
    R, piv = rref(aug)
    if n in piv:
        return None
    x = [Fraction(0)] * n
    for i, c in enumerate(piv):
        x[c] = R[i][n]
    return tuple(x)


def nullspace(A: Sequence[Sequence], ncols: int | None = None) -> tuple[tuple[Fraction, ...], ...]:
    """A basis of {x : A x = 0} (exact)."""
    n = len(A[0]) if A else (ncols or 0)
    R, piv = rref(A)
    free = [c for c in range(n) if c not in piv]
    basis = []
    for f in free:
        x = [Fraction(0)] * n
        x[f] = Fraction(1)
        for i, c in enumerate(piv):
            x[c] = -R[i][f]
        basis.append(tuple(x))
    return tuple(basis)
