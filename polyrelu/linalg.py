"""Exact linear algebra over the rationals, on python-flint.

Matrices are sequences of rows of :class:`~fractions.Fraction` (ints pass
too); vectors are sequences.  Every function converts its input once into a
flint matrix (``fmpq_mat``; ``fmpz_mat`` / ``nmod_mat`` for integer rows,
through :mod:`polyrelu.numbers`, the only place that converts), lets FLINT
compute, and returns Fractions.  The answers are the unique exact ones the
Fraction Gauss-Jordan elimination of earlier versions gave (the reduced row
echelon form is unique, and so are the solution with free variables 0 and
the nullspace basis read off it); ``tests/test_linalg.py`` cross-checks them
against that elimination.

Measured on MNIST 8x8 weights (``python -m benchmarks linalg``, CPU seconds
on a shared 2-core AMD EPYC, Fraction elimination -> FLINT, conversions
included): solve 64x64 2.49 s -> 7.5 ms, rank 120x100 19.9 s -> 6.0 ms,
rref 60x100 5.34 s -> 0.13 s, determinant 64x64 1.12 s -> 4.9 ms.  FLINT
also wins on the smallest matrices (rref 2x3: 13 us against 39 us; a 5x2
product: 15 us against 23 us), so there is no size threshold and no method
choice here: every function converts and calls FLINT.

>>> from fractions import Fraction as F
>>> solve(((F(2), F(1)), (F(1), F(3))), (F(3), F(5)))
(Fraction(4, 5), Fraction(7, 5))
>>> rank(((1, 2), (2, 4)))
1
>>> det(((1, 2), (3, 4)))
Fraction(-2, 1)
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from .exceptions import ShapeError
from .numbers import (
    exact_to_fraction,
    fmpq_matrix,
    fmpz_matrix,
    fraction_rows,
    mpq_to_fraction,
    nmod_matrix,
    to_mpq_matrix,
    to_mpq_vector,
)

__all__ = [
    "matvec",
    "matmul",
    "transpose",
    "identity",
    "rref",
    "rank",
    "solve",
    "nullspace",
    "det",
    "substitute",
    "independent_rows",
    "integer_rank",
    "integer_rank_is",
    "dot",
    "to_mpq_matrix",
    "to_mpq_vector",
    "mpq_to_fraction",
]

_ZERO = Fraction(0)
_ONE = Fraction(1)

#: the largest prime below 2**63 -- flint's nmod_mat takes word-size moduli
_PRIME = (1 << 63) - 25


def _ncols(A: Sequence[Sequence], ncols: int | None = None) -> int:
    return len(A[0]) if len(A) else (ncols or 0)


def dot(a: Sequence, b: Sequence) -> Fraction:
    """Exact inner product (short vectors: Fractions directly, no conversion).

    >>> dot([1, Fraction(1, 2)], [2, 2])
    Fraction(3, 1)
    """
    if len(a) != len(b):
        raise ShapeError(f"dot: lengths {len(a)} and {len(b)} differ")
    s = _ZERO
    for x, y in zip(a, b):
        if x and y:
            s += x * y
    return s


def matvec(M: Sequence[Sequence], v: Sequence) -> tuple[Fraction, ...]:
    """Exact ``M v``.

    >>> matvec([[1, 2], [3, 4]], [1, Fraction(1, 2)])
    (Fraction(2, 1), Fraction(5, 1))
    """
    n = len(v)
    for row in M:
        if len(row) != n:
            raise ShapeError(f"matvec: row of length {len(row)} times vector of "
                             f"length {n}")
    if not M:
        return ()
    if n == 0:
        return (_ZERO,) * len(M)
    out = fmpq_matrix(M, n) * fmpq_matrix([[x] for x in v], 1)
    return tuple(r[0] for r in fraction_rows(out))


def matmul(A: Sequence[Sequence], B: Sequence[Sequence]) -> tuple[tuple[Fraction, ...], ...]:
    """Exact ``A B``.

    >>> matmul([[1, 2]], [[3], [4]])
    ((Fraction(11, 1),),)
    """
    n = len(B)
    for row in A:
        if len(row) != n:
            raise ShapeError(f"matmul: inner dimensions {len(row)} and {n} differ")
    m = len(B[0]) if B else 0
    if not A:
        return ()
    if n == 0 or m == 0:
        return tuple((_ZERO,) * m for _ in A)
    out = fmpq_matrix(A, n) * fmpq_matrix(B, m)
    return tuple(tuple(r) for r in fraction_rows(out))


def substitute(A: Sequence[Sequence], b: Sequence, x0: Sequence, N: Sequence[Sequence]
               ) -> tuple[tuple[tuple[Fraction, ...], ...], tuple[Fraction, ...]]:
    """Rows ``A x <= b`` on the affine set ``x = x0 + N^T y``: ``(A N^T, b - A x0)``
    in one product ``A [N^T | -x0]`` (``N`` has one row per direction).

    >>> substitute([[1, 1]], [3], [1, 0], [[1, -1]])
    (((Fraction(0, 1),),), (Fraction(2, 1),))
    """
    d = len(x0)
    k = len(N)
    if not len(A):
        return (), ()
    B = [[n[j] for n in N] + [-x0[j]] for j in range(d)]
    if d == 0:
        return tuple((_ZERO,) * k for _ in A), tuple(Fraction(v) for v in b)
    Z = fmpq_matrix(A, d) * fmpq_matrix(B, k + 1) + \
        fmpq_matrix([[0] * k + [v] for v in b], k + 1)
    rows = fraction_rows(Z)
    return tuple(tuple(r[:k]) for r in rows), tuple(r[k] for r in rows)


def transpose(A: Sequence[Sequence]) -> tuple[tuple, ...]:
    """Rows of the transpose.

    >>> transpose([[1, 2], [3, 4]])
    ((1, 3), (2, 4))
    """
    return tuple(zip(*A)) if A else ()


def identity(n: int) -> tuple[tuple[Fraction, ...], ...]:
    """The ``n x n`` identity matrix."""
    return tuple(tuple(_ONE if i == j else _ZERO for j in range(n)) for i in range(n))


def _pivots(R: list[list[Fraction]], r: int) -> list[int]:
    """Pivot columns of the first ``r`` rows of a reduced row echelon form."""
    out = []
    for row in R[:r]:
        out.append(next(j for j, x in enumerate(row) if x))
    return out


def rref(A: Sequence[Sequence], ncols: int | None = None) -> tuple[list[list[Fraction]], list[int]]:
    """Reduced row echelon form (all ``len(A)`` rows, zero rows last) and the
    pivot columns, exact.

    >>> R, piv = rref([[2, 4, 2], [1, 2, 3]])
    >>> [[str(x) for x in row] for row in R], piv
    ([['1', '2', '0'], ['0', '0', '1']], [0, 2])
    """
    if not len(A):
        return [], []
    n = _ncols(A, ncols)
    R, r = fmpq_matrix(A, n).rref()
    rows = fraction_rows(R)
    return rows, _pivots(rows, r)


def rank(A: Sequence[Sequence], ncols: int | None = None) -> int:
    """Exact rank.

    >>> rank([[1, 2, 3], [2, 4, 6], [0, 0, 1]])
    2
    """
    if not len(A):
        return 0
    return fmpq_matrix(A, _ncols(A, ncols)).rank()


def det(A: Sequence[Sequence]) -> Fraction:
    """Exact determinant of a square matrix (1 for the empty matrix).

    >>> det([[Fraction(1, 2), 1], [3, 4]])
    Fraction(-1, 1)
    """
    n = len(A)
    if n == 0:
        return _ONE
    M = fmpq_matrix(A, n)
    if M.ncols() != n:
        raise ShapeError(f"det: the matrix is {n}x{M.ncols()}, not square")
    return exact_to_fraction(M.det())


def solve(A: Sequence[Sequence], b: Sequence, ncols: int | None = None
          ) -> tuple[Fraction, ...] | None:
    """A solution of ``A x = b`` (exact), or None if the system is inconsistent.

    For a singular consistent system, free variables (the non-pivot columns
    of the reduced row echelon form) are set to zero.  ``ncols`` gives the
    number of unknowns when ``A`` has no rows.

    >>> solve([[1, 1], [2, 2]], [1, 2])
    (Fraction(1, 1), Fraction(0, 1))
    >>> solve([[1, 1], [2, 2]], [1, 3]) is None
    True
    """
    if len(A) != len(b):
        raise ShapeError(f"solve: {len(A)} rows but right-hand side of length {len(b)}")
    n = _ncols(A, ncols)
    m = len(A)
    if m == 0:
        return (_ZERO,) * n
    if m == n:
        # square: FLINT's solver (Dixon / fraction-free) when A is invertible;
        # its solution is the unique one, so it equals the rref reading below
        M = fmpq_matrix(A, n)
        try:
            X = M.solve(fmpq_matrix([[x] for x in b], 1))
        except ZeroDivisionError:  # singular: the rref of [A | b] decides
            pass
        else:
            return tuple(r[0] for r in fraction_rows(X))
    aug = [list(row) + [bi] for row, bi in zip(A, b)]
    R, piv = rref(aug, n + 1)
    if n in piv:
        return None
    x = [_ZERO] * n
    for i, c in enumerate(piv):
        x[c] = R[i][n]
    return tuple(x)


def nullspace(A: Sequence[Sequence], ncols: int | None = None) -> tuple[tuple[Fraction, ...], ...]:
    """A basis of ``{x : A x = 0}`` (exact): one vector per free column ``f`` of
    the reduced row echelon form, with ``x_f = 1`` and the other free
    coordinates 0.

    >>> nullspace([[1, 1]])
    ((Fraction(-1, 1), Fraction(1, 1)),)
    """
    n = _ncols(A, ncols)
    R, piv = rref(A, n) if len(A) else ([], [])
    pset = set(piv)
    basis = []
    for f in range(n):
        if f in pset:
            continue
        x = [_ZERO] * n
        x[f] = _ONE
        for i, c in enumerate(piv):
            x[c] = -R[i][f]
        basis.append(tuple(x))
    return tuple(basis)


def independent_rows(E: Sequence[Sequence], ncols: int | None = None) -> list[int]:
    """Indices of the greedy maximal linearly independent subset of the rows
    (row ``i`` is kept iff it is independent of the rows kept before it): the
    pivot columns of the transpose's reduced row echelon form.

    >>> independent_rows([[1, 2], [2, 4], [0, 1]])
    [0, 2]
    """
    if not len(E):
        return []
    n = _ncols(E, ncols)
    if n == 0:
        return []
    return rref(transpose(E), len(E))[1]


def integer_rank(rows: Sequence[Sequence[int]], ncols: int | None = None) -> int:
    """Exact rank of integer vectors (flint ``fmpz_mat``).

    >>> integer_rank([[2, 4], [3, 6]])
    1
    """
    if not len(rows):
        return 0
    return fmpz_matrix(rows, ncols).rank()


def integer_rank_is(r: int, rows: Sequence[Sequence[int]]) -> bool:
    """Whether integer vectors known to have rank ``<= r`` have rank ``r``.

    The rank modulo a 63-bit prime first (``nmod_mat``): a nonzero ``r x r``
    minor mod p is nonzero over the integers, so ``rank_p == r`` proves it;
    otherwise (p divides every such minor, or the rank is below ``r``) the
    exact integer rank decides.

    >>> integer_rank_is(2, [[1, 0, 1], [0, 1, 1], [1, 1, 2]])
    True
    """
    if len(rows) < r:
        return False
    if not len(rows):
        return True  # r == 0
    if nmod_matrix(rows, _PRIME).rank() == r:
        return True
    return integer_rank(rows) == r
