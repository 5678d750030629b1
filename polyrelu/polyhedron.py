"""Exact convex polyhedra over the rationals: the one module that talks to cdd.

A :class:`Polyhedron` is the set ``{x in Q^d : A x <= b, E x = f}`` (or the
Minkowski sum ``conv(V) + cone(R) + span(L)`` when built from generators).
Every number is a :class:`~fractions.Fraction`; every answer is exact.

Exactness contract
------------------
* Construction is cheap: the rows given are stored as they are and nothing is
  computed until a query needs it; results are cached on the (immutable) object.
* Floating point (HiGHS, through scipy or highspy) may only *propose*: a
  Chebyshev-centre interior point, a Farkas vector, an LP basis, multipliers
  and points certifying which rows of a minimal form are facets or redundant,
  multipliers proving boundedness.  Each proposal is turned into rationals
  and checked exactly; a proposal that fails the check falls back to the
  exact backend (cdd with GMP rationals).  :func:`backend_stats` counts how
  often each path ran.
* All cdd quirks (the ``[b, -A]`` row layout, ``lin_set``, generator rows
  ``[1, v]`` / ``[0, r]``, cones whose vertex list omits the apex, empty
  polyhedra reporting every row as an implicit linearity, the trivial
  ``1 >= 0`` row in V-to-H output) are handled in :class:`CddBackend`.

>>> P = Polyhedron.box([0, 0], [1, 1])
>>> P.dim, P.volume(), P.interior_point()
(2, Fraction(1, 1), (Fraction(1, 2), Fraction(1, 2)))
>>> P.maximize([1, 2]).value
Fraction(3, 1)
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any, Iterator, NamedTuple, Optional, Protocol, Sequence

from .exceptions import BackendError, PolyhedronError, ShapeError
from .linalg import det as _det
from .linalg import dot as _dot
from .linalg import (
    independent_rows,
    matmul,
    matvec,
    rank,
    rref,
    solve,
    substitute,
    transpose,
)
from .numbers import (
    fraction_str,
    is_digit_limit_error,
    scaled_float_rows,
    to_matrix,
    to_vector,
    unlimited_int_digits,
)

__all__ = [
    "Polyhedron",
    "LPResult",
    "PolyhedronBackend",
    "CddBackend",
    "Canonical",
    "set_backend",
    "get_backend",
    "set_fast_path",
    "fast_path",
    "backend_stats",
    "reset_backend_stats",
    "verify_farkas",
]

log = logging.getLogger("polyrelu.polyhedron")

Vec = tuple  # tuple[Fraction, ...]
Mat = tuple  # tuple[Vec, ...]

_ZERO = Fraction(0)
_ONE = Fraction(1)

# ---------------------------------------------------------------------------
# statistics and switches
# ---------------------------------------------------------------------------

_STATS: Counter = Counter()

# Fast-path mode: True = floats propose first everywhere; False = no floats at
# all (the reference exact path: cdd LPs and cdd's canonicalisation);
# "auto" = floats propose only where they were measured to pay off, and the
# minimal form of a polyhedron with a strict interior point is computed by
# exact LPs (_lp_irredundant) instead of cdd's matrix_canonicalize.
_FAST_MODE: Any = "auto"
# "auto" thresholds, measured with benchmarks/polyhedron.py on a 2-core Xeon:
# cdd's exact GMP LP takes 0.1-0.7 ms for 10-40 rows in d <= 4 even on 53-bit
# float data (scipy's linprog call alone costs about 1.5 ms), but 4-12 ms in
# d = 8 on 100-300-bit data, where a float proposal (2 ms) wins.
_AUTO_FLOAT_DIM = 6       # interior points: floats first from this dimension ...
_AUTO_FLOAT_BITS = 96     # ... when numbers have more bits than this (fast path)
_AUTO_FLOAT_LP_BITS = 256  # LP optima: floats first only beyond this (fast path)
_AUTO_LPCANON_DIM = 1     # LP-based redundancy removal from this dimension
_VERTEX_FILTER_MAX_DIM = 4  # up to here, generators of the facets found filter rows
# float LPs propose the minimal form (exact certificates, _fast_irredundant)
# from this dimension, for at least this many rows per dimension: measured
# (benchmarks/polyhedron.py, 10-40 rows) 12 ms against 12-43 ms for the exact
# LPs in d = 6, 10-23 ms against 20-94 ms in d = 8; in d = 4 the exact LPs win
_AUTO_FLOAT_CANON_DIM = 6
_AUTO_FLOAT_CANON_ROWS = 2


def backend_stats() -> dict:
    """Counters of which path answered.

    ``"interior.fast_ok"`` / ``"interior.fast_fail"``: a float interior-point
    proposal was verified / rejected; ``"lp.fast_ok"`` / ``"lp.fast_fail"``
    likewise for LP optima; ``"canon.fast_ok"`` / ``"canon.fast_fail"``: rows
    of a minimal form whose float-proposed status (facet / redundant) was
    certified exactly / left to the exact LPs; ``"bounded.fast_ok"`` /
    ``"bounded.fast_fail"``: float multipliers proving boundedness;
    ``"canon.highspy"`` / ``"canon.scipy"``: float minimal-form proposals
    by highspy's warm-started solver / by scipy's ``linprog`` (no highspy);
    ``"interior.exact_lp"``, ``"cdd.lp"``, ``"cdd.canonicalize"``,
    ``"canon.lp"`` ... count exact work.

    >>> reset_backend_stats()
    >>> with fast_path(True):
    ...     _ = Polyhedron.box([0], [1]).interior_point()
    >>> backend_stats()["interior.fast_ok"]
    1
    """
    return dict(_STATS)


def reset_backend_stats() -> None:
    """Set every counter of :func:`backend_stats` back to zero.

    >>> reset_backend_stats(); backend_stats()
    {}
    """
    _STATS.clear()


def set_fast_path(mode: Any) -> Any:
    """Choose the fast path: ``True``, ``False`` or ``"auto"`` (default).

    ``True``: floats (scipy HiGHS) propose first for interior points, LP
    optima and Farkas vectors, always verified exactly.  ``False``: no floats
    at all; every answer comes from the exact backend (cdd).  ``"auto"``:
    floats propose only for data with large numbers or in higher dimension,
    where they beat cdd's exact LP.  Returns the previous mode.

    >>> old = set_fast_path(False); _ = set_fast_path(old)
    """
    global _FAST_MODE
    if mode is not True and mode is not False and mode != "auto":
        raise PolyhedronError(f"fast path mode must be True, False or 'auto', got {mode!r}")
    old = _FAST_MODE
    _FAST_MODE = mode
    return old


@contextlib.contextmanager
def fast_path(enabled: Any) -> Iterator[None]:
    """Context manager: run a block with the fast path on, off or ``"auto"``.

    >>> with fast_path(False):
    ...     Polyhedron.box([0], [2]).interior_point()
    (Fraction(1, 1),)
    """
    old = set_fast_path(enabled)
    try:
        yield
    finally:
        set_fast_path(old)


# ---------------------------------------------------------------------------
# small exact helpers (Fractions)
# ---------------------------------------------------------------------------


def _rref(rows: Sequence[Sequence[Fraction]]) -> tuple[list[list[Fraction]], list[int]]:
    """Exact reduced row echelon form without its zero rows, and pivot columns."""
    R, piv = rref(rows)
    return R[: len(piv)], piv


def _solve(M: Sequence[Sequence[Fraction]], rhs: Sequence[Fraction], ncols: int) -> Optional[Vec]:
    """A solution of M x = rhs with free variables 0, or None if inconsistent."""
    if not M:
        return (_ZERO,) * ncols
    return solve(M, rhs)


def _affine_hull_param(E: Mat, f: Vec, d: int
                       ) -> Optional[tuple[Vec, Mat, list[list[Fraction]], list[int]]]:
    """Parametrise {x : E x = f} = {x0 + N^T y}; None if inconsistent.

    Returns (x0, N, R, piv): N has one row per free direction; R, piv the
    rref of [E | f] (used for canonical forms).
    """
    aug = [list(e) + [v] for e, v in zip(E, f)]
    R, piv = _rref(aug)
    if piv and piv[-1] == d:
        return None
    x0 = [_ZERO] * d
    for i, c in enumerate(piv):
        x0[c] = R[i][d]
    pset = set(piv)
    N = []
    for fc in range(d):
        if fc in pset:
            continue
        v = [_ZERO] * d
        v[fc] = _ONE
        for i, c in enumerate(piv):
            v[c] = -R[i][fc]
        N.append(tuple(v))
    return tuple(x0), tuple(N), R, piv


def _primitive(row: Sequence[Fraction]) -> tuple[int, ...]:
    """Positive multiple of a rational row with coprime integer entries."""
    den = 1
    for v in row:
        den = den * v.denominator // math.gcd(den, v.denominator)
    ints = [int(v * den) for v in row]
    g = 0
    for n in ints:
        g = math.gcd(g, n)
    if g == 0:
        return tuple(ints)
    return tuple(n // g for n in ints)


def verify_farkas(A: Any, b: Any, y: Any) -> bool:
    """Exactly check a Farkas certificate of emptiness of ``{x : A x <= b}``.

    True iff ``y >= 0``, ``y^T A = 0`` and ``y^T b < 0`` (then no x satisfies
    ``A x <= b``, since ``0 = y^T A x <= y^T b < 0``).  Independent of cdd.

    >>> verify_farkas([[1], [-1]], [0, -1], [1, 1])
    True
    >>> verify_farkas([[1], [-1]], [1, 0], [1, 1])
    False
    """
    A = to_matrix(A, "A")
    b = to_vector(b, "b")
    y = to_vector(y, "y")
    if len(A) != len(b) or len(y) != len(b):
        raise ShapeError(f"verify_farkas: A has {len(A)} rows, b {len(b)} entries, "
                         f"y {len(y)} entries")
    if any(v < 0 for v in y):
        return False
    d = len(A[0]) if A else 0
    for j in range(d):
        if sum((yi * row[j] for yi, row in zip(y, A) if yi), _ZERO) != 0:
            return False
    return _dot(y, b) < 0


# ---------------------------------------------------------------------------
# results and the backend contract
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LPResult:
    """Result of an exact linear program.

    Attributes
    ----------
    status : str
        ``"optimal"``, ``"unbounded"`` or ``"infeasible"``.
    value : Fraction or None
        The exact optimum (None unless optimal).
    point : tuple of Fraction or None
        An optimal point (None unless optimal).
    dual : tuple of Fraction or None
        Optimal multipliers when the solver reports them: ``y >= 0`` for the
        rows of ``A`` followed by free ``z`` for the rows of ``E``, with
        ``A^T y + E^T z = c`` and ``b^T y + f^T z = value``.  Excluded from
        ``==`` and ``repr``: different solvers may give different duals.

    Examples
    --------
    >>> LPResult("optimal", Fraction(1), (Fraction(1),)).status
    'optimal'
    """

    status: str
    value: Optional[Fraction] = None
    point: Optional[Vec] = None
    dual: Optional[Vec] = field(default=None, compare=False, repr=False)


class Canonical(NamedTuple):
    """Minimal H-representation returned by a backend.

    ``A x <= b`` holds the irredundant, non-implicit inequalities and
    ``E x = f`` an independent set of equalities (explicit and implicit);
    ``kept[i]`` is the index of the input inequality row that ``A[i]`` is.
    """

    A: Mat
    b: Vec
    E: Mat
    f: Vec
    kept: tuple


class PolyhedronBackend(Protocol):
    """What :class:`Polyhedron` needs from an exact engine (all data Fractions).

    ``canonicalize(A, b, E, f, d)``
        :class:`Canonical` minimal form, or None if the set is empty.
    ``generators(A, b, E, f, d)``
        ``(vertices, rays, lines)`` of a nonempty H-polyhedron; a pointed
        polyhedron lists all its vertices, otherwise the vertices of one
        minimal face.
    ``hull(V, R, L, d)``
        ``(A, b, E, f)`` (not necessarily minimal) of ``conv V + cone R + span L``.
    ``lp(A, b, E, f, c, d)``
        :class:`LPResult` of maximising ``c x``.
    ``farkas(A, b, d)``
        ``y >= 0`` with ``y^T A = 0, y^T b < 0`` or None if ``A x <= b`` is feasible.
    """

    name: str

    def canonicalize(self, A: Mat, b: Vec, E: Mat, f: Vec, d: int) -> Optional[Canonical]: ...

    def generators(self, A: Mat, b: Vec, E: Mat, f: Vec, d: int) -> tuple[Mat, Mat, Mat]: ...

    def hull(self, V: Mat, R: Mat, L: Mat, d: int) -> tuple[Mat, Vec, Mat, Vec]: ...

    def lp(self, A: Mat, b: Vec, E: Mat, f: Vec, c: Vec, d: int) -> LPResult: ...

    def farkas(self, A: Mat, b: Vec, d: int) -> Optional[Vec]: ...


def _frac(x: Any) -> Fraction:
    # cdd.gmp hands out Fractions already; be lossless for anything else.
    if type(x) is Fraction:
        return x
    return Fraction(x)


def _big_numbers(method):
    """Run a cdd call again with Python's int/str digit limit lifted when it
    hit the limit.  pycddlib converts every number that does not fit a C long
    through a decimal string (``str(Fraction)`` in, ``Fraction(str)`` out),
    and Python refuses those conversions beyond 4,300 digits; exact data of
    deep layers or huge weights goes beyond.  The retry keeps the lift (a
    process-wide setting, :func:`polyrelu.numbers.unlimited_int_digits`) to
    the rare calls that need it."""
    import functools

    @functools.wraps(method)
    def call(self, *args):
        try:
            return method(self, *args)
        except (ValueError, BackendError) as exc:
            if not is_digit_limit_error(exc):
                raise
        with unlimited_int_digits():
            return method(self, *args)

    return call


class CddBackend:
    """Reference exact backend: pycddlib 3 with GMP rationals (``cdd.gmp``).

    >>> CddBackend().lp(((Fraction(1),),), (Fraction(2),), (), (), (Fraction(1),), 1).value
    Fraction(2, 1)
    """

    name = "cdd"

    def __init__(self) -> None:
        import cdd.gmp as gmp  # the only cdd import in polyrelu

        self._cdd = gmp

    # cdd H-rows are [b, -A] meaning b - A x >= 0; equalities are rows in lin_set.
    def _hmatrix(self, A: Mat, b: Vec, E: Mat, f: Vec, d: int):
        g = self._cdd
        rows = [[bi] + [-a for a in ai] for ai, bi in zip(A, b)]
        rows += [[fi] + [-e for e in ei] for ei, fi in zip(E, f)]
        lin = set(range(len(A), len(A) + len(E)))
        if not rows:
            rows = [[_ONE] + [_ZERO] * d]  # 1 >= 0: cdd needs at least one row
        return g.matrix_from_array(rows, lin_set=lin, rep_type=g.RepType.INEQUALITY)

    @_big_numbers
    def canonicalize(self, A: Mat, b: Vec, E: Mat, f: Vec, d: int) -> Optional[Canonical]:
        _STATS["cdd.canonicalize"] += 1
        g = self._cdd
        m = self._hmatrix(A, b, E, f, d)
        try:
            _, _, newpos = g.matrix_canonicalize(m)
        except Exception as exc:  # pragma: no cover - cdd failure
            raise BackendError(f"cdd canonicalize failed: {exc}") from exc
        arr = m.array
        lin = m.lin_set
        Eo = [tuple(-_frac(v) for v in row[1:]) for i, row in enumerate(arr) if i in lin]
        fo = [_frac(row[0]) for i, row in enumerate(arr) if i in lin]
        # Quirk: an empty polyhedron reports every row as an implicit linearity.
        # Then (Farkas) the equality system is inconsistent; check it exactly.
        if len(lin) == len(arr) and _affine_hull_param(tuple(Eo), tuple(fo), d) is None:
            return None
        inv = {p: i for i, p in enumerate(newpos[: len(A)]) if p is not None}
        Ao, bo, kept = [], [], []
        for i, row in enumerate(arr):
            if i in lin:
                continue
            Ao.append(tuple(-_frac(v) for v in row[1:]))
            bo.append(_frac(row[0]))
            kept.append(inv.get(i, -1))
        return Canonical(tuple(Ao), tuple(bo), tuple(Eo), tuple(fo), tuple(kept))

    @_big_numbers
    def generators(self, A: Mat, b: Vec, E: Mat, f: Vec, d: int) -> tuple[Mat, Mat, Mat]:
        _STATS["cdd.generators"] += 1
        g = self._cdd
        m = self._hmatrix(A, b, E, f, d)
        try:
            gen = g.copy_generators(g.polyhedron_from_matrix(m))
        except Exception as exc:  # pragma: no cover
            raise BackendError(f"cdd double description failed: {exc}") from exc
        V, R, L = [], [], []
        for i, row in enumerate(gen.array):
            v = tuple(_frac(x) for x in row[1:])
            if row[0] != 0:  # [1, v]: a vertex (cdd normalises to 1)
                V.append(tuple(x / _frac(row[0]) for x in v))
            elif i in gen.lin_set:
                L.append(v)
            else:
                R.append(v)
        if not V and (R or L or d == 0):
            # Quirk: for a cone (b = 0) cdd omits the apex; the origin is it.
            origin = (_ZERO,) * d
            if not (all(_dot(a, origin) <= bi for a, bi in zip(A, b))
                    and all(_dot(e, origin) == fi for e, fi in zip(E, f))):
                raise BackendError("cdd returned no vertex for a polyhedron "
                                   "that does not contain the origin")
            V.append(origin)
        return tuple(V), tuple(R), tuple(L)

    @_big_numbers
    def hull(self, V: Mat, R: Mat, L: Mat, d: int) -> tuple[Mat, Vec, Mat, Vec]:
        _STATS["cdd.hull"] += 1
        g = self._cdd
        if not V:
            # empty set: 0 <= -1
            return ((_ZERO,) * d,), (-_ONE,), (), ()
        rows = [[_ONE] + list(v) for v in V] + [[_ZERO] + list(r) for r in R]
        rows += [[_ZERO] + list(l) for l in L]
        lin = set(range(len(V) + len(R), len(rows)))
        m = g.matrix_from_array(rows, lin_set=lin, rep_type=g.RepType.GENERATOR)
        try:
            h = g.copy_inequalities(g.polyhedron_from_matrix(m))
        except Exception as exc:  # pragma: no cover
            raise BackendError(f"cdd double description failed: {exc}") from exc
        A, b, E, f = [], [], [], []
        for i, row in enumerate(h.array):
            a = tuple(-_frac(x) for x in row[1:])
            c = _frac(row[0])
            if not any(a):
                continue  # the trivial row 1 >= 0 cdd adds to V->H output
            if i in h.lin_set:
                E.append(a)
                f.append(c)
            else:
                A.append(a)
                b.append(c)
        return tuple(A), tuple(b), tuple(E), tuple(f)

    def _solve_lp(self, rows: list, obj: list, maximize: bool = True):
        g = self._cdd
        _STATS["cdd.lp"] += 1
        lp = g.linprog_from_array(rows + [obj], obj_type=g.LPObjType.MAX if maximize
                                  else g.LPObjType.MIN)
        try:
            g.linprog_solve(lp)
        except Exception as exc:  # pragma: no cover
            raise BackendError(f"cdd LP failed: {exc}") from exc
        return lp

    def _lp_rows(self, A: Mat, b: Vec, E: Mat, f: Vec, d: int) -> list:
        rows = [[bi] + [-a for a in ai] for ai, bi in zip(A, b)]
        for ei, fi in zip(E, f):  # equalities as two opposite inequalities
            rows.append([fi] + [-e for e in ei])
            rows.append([-fi] + list(ei))
        rows.append([_ONE] + [_ZERO] * d)  # 1 >= 0 keeps the array non-empty
        return rows

    @_big_numbers
    def lp(self, A: Mat, b: Vec, E: Mat, f: Vec, c: Vec, d: int) -> LPResult:
        g = self._cdd
        if d == 0:
            ok = all(bi >= 0 for bi in b) and all(fi == 0 for fi in f)
            return LPResult("optimal", _ZERO, ()) if ok else LPResult("infeasible")
        rows = self._lp_rows(A, b, E, f, d)
        lp = self._solve_lp(rows, [_ZERO] + list(c))
        st = lp.status
        if st == g.LPStatusType.OPTIMAL:
            x = tuple(_frac(v) for v in lp.primal_solution)
            # cdd lists the nonzero dual values as (row, value); rows are A,
            # then each equality as two opposite inequalities, then 1 >= 0.
            dv = dict(lp.dual_solution)
            m = len(A)
            y = [_frac(dv.get(i, 0)) for i in range(m)]
            y += [_frac(dv.get(m + 2 * j, 0)) - _frac(dv.get(m + 2 * j + 1, 0))
                  for j in range(len(E))]
            return LPResult("optimal", _frac(lp.obj_value), x, tuple(y))
        if st in (g.LPStatusType.INCONSISTENT, g.LPStatusType.STRUC_INCONSISTENT):
            return LPResult("infeasible")
        if st in (g.LPStatusType.DUAL_INCONSISTENT, g.LPStatusType.STRUC_DUAL_INCONSISTENT,
                  g.LPStatusType.UNBOUNDED):
            # dual infeasible: primal unbounded or infeasible -- decide feasibility
            lp0 = self._solve_lp(rows, [_ZERO] * (d + 1))
            if lp0.status == g.LPStatusType.OPTIMAL:
                return LPResult("unbounded")
            return LPResult("infeasible")
        raise BackendError(f"cdd LP ended with status {st!r}")

    @_big_numbers
    def farkas(self, A: Mat, b: Vec, d: int) -> Optional[Vec]:
        # Find y >= 0 with A^T y = 0 and b^T y = -1 (exists iff A x <= b is empty).
        m = len(A)
        if m == 0:
            return None
        rows = []
        for i in range(m):  # y_i >= 0
            rows.append([_ZERO] + [_ONE if k == i else _ZERO for k in range(m)])
        for j in range(d):  # sum_i y_i A_ij = 0
            col = [A[i][j] for i in range(m)]
            rows.append([_ZERO] + col)
            rows.append([_ZERO] + [-v for v in col])
        rows.append([-_ONE] + [-v for v in b])  # -1 - b y >= 0
        rows.append([_ONE] + list(b))  # 1 + b y >= 0
        lp = self._solve_lp(rows, [_ZERO] + [_ONE] * m, maximize=False)
        # cdd.gmp re-exports LPStatusType at run time; its stub does not declare it.
        if lp.status != self._cdd.LPStatusType.OPTIMAL:  # type: ignore[attr-defined]
            return None
        return tuple(_frac(v) for v in lp.primal_solution)


_BACKEND: Optional[PolyhedronBackend] = None


def get_backend() -> PolyhedronBackend:
    """The exact backend in use (a :class:`CddBackend` unless replaced).

    >>> get_backend().name
    'cdd'
    """
    global _BACKEND
    if _BACKEND is None:
        _BACKEND = CddBackend()
    return _BACKEND


def set_backend(backend: Optional[PolyhedronBackend]) -> Optional[PolyhedronBackend]:
    """Install another exact backend (None restores cdd); returns the previous one.

    Polyhedra cache their results, so switch backends before building them.

    >>> old = set_backend(CddBackend()); _ = set_backend(old)
    """
    global _BACKEND
    old = _BACKEND
    for meth in ("canonicalize", "generators", "hull", "lp", "farkas"):
        if backend is not None and not callable(getattr(backend, meth, None)):
            raise PolyhedronError(f"backend {backend!r} has no method {meth}()")
    _BACKEND = backend
    return old


# ---------------------------------------------------------------------------
# float proposals (fast path) -- floats only propose, Fractions decide
# ---------------------------------------------------------------------------

_FAST_DENOMINATORS = (1, 64, 4096, 1 << 20)  # float rationalisation attempts (fast)


def _float_candidates(vals) -> Iterator[Vec]:
    """Rational candidates for a float vector: small denominators first (fast path)."""
    exact = [Fraction(float(v)) for v in vals]
    seen = set()
    for D in _FAST_DENOMINATORS:
        cand = tuple(x.limit_denominator(D) for x in exact)
        if cand not in seen:
            seen.add(cand)
            yield cand
    cand = tuple(exact)
    if cand not in seen:
        yield cand


def _proposal(failed: Any):
    """Decorator: a float proposal that raises (a number too large for a float,
    solver trouble) has simply failed -- the exact path takes over (fast path)."""
    def wrap(fn):
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except (OverflowError, ValueError, FloatingPointError, ZeroDivisionError) as exc:
                log.debug("fast path: float proposal failed with %r", exc)
                return failed
        inner.__name__ = fn.__name__
        inner.__doc__ = fn.__doc__
        return inner
    return wrap


def _linprog(*args, **kwargs):
    from scipy.optimize import linprog  # float proposals only (fast path)

    try:
        return linprog(*args, method="highs", **kwargs)
    except Exception as exc:  # float solver trouble is never fatal (fast path)
        log.debug("fast path: HiGHS raised %r", exc)
        return None


@_proposal(None)
def _fast_strict_point(A: Mat, b: Vec, k: int) -> Optional[Vec]:
    """Propose y with A y < b strictly via a Chebyshev-centre LP; verify exactly."""
    import numpy as np

    if k == 0:
        return () if all(bi > 0 for bi in b) else None
    if not A:
        return (_ZERO,) * k
    Af = np.array([[float(v) for v in row] for row in A], dtype=float)  # float proposal
    bf = np.array([float(v) for v in b], dtype=float)
    norms = np.linalg.norm(Af, axis=1)
    norms[norms == 0] = 1.0
    # Chebyshev centre (scaled): max t  s.t. a_i y + |a_i| t <= b_i, t <= 1.
    A_ub = np.hstack([Af, norms[:, None]])
    cost = np.zeros(k + 1)
    cost[-1] = -1.0
    bounds = [(None, None)] * k + [(None, 1.0)]
    res = _linprog(cost, A_ub=A_ub, b_ub=bf, bounds=bounds)
    if res is None or res.status != 0 or not (res.x[-1] > 0):
        return None
    for y in _float_candidates(res.x[:k]):
        if all(v < bi for v, bi in zip(matvec(A, y), b)):  # exact A y < b
            return y
    return None


@_proposal(None)
def _fast_farkas(A: Mat, b: Vec) -> Optional[Vec]:
    """Propose a Farkas vector with HiGHS, then recompute it exactly on its support."""
    import numpy as np

    m = len(A)
    if m == 0:
        return None
    d = len(A[0])
    Af = np.array([[float(v) for v in row] for row in A], dtype=float)  # float proposal
    bf = np.array([float(v) for v in b], dtype=float)
    A_eq = np.vstack([Af.T, bf[None, :]])
    b_eq = np.zeros(d + 1)
    b_eq[-1] = -1.0
    res = _linprog(np.ones(m), A_eq=A_eq, b_eq=b_eq, bounds=[(0, None)] * m)
    if res is None or res.status != 0:
        return None
    support = [i for i in range(m) if res.x[i] > 0]
    # exact: y_S >= 0 with A_S^T y_S = 0, b_S^T y_S = -1 (free variables 0)
    M = [[A[i][j] for i in support] for j in range(d)] + [[b[i] for i in support]]
    ys = _solve(M, [_ZERO] * d + [-_ONE], len(support))
    if ys is None or any(v < 0 for v in ys):
        return None
    y = [_ZERO] * m
    for i, v in zip(support, ys):
        y[i] = v
    return tuple(y)


@_proposal((None, -1))
def _fast_lp(A: Mat, b: Vec, E: Mat, f: Vec, c: Vec, d: int) -> tuple[Optional[LPResult], int]:
    """HiGHS proposes an optimal basis; an exact primal/dual pair certifies it.

    Returns (certified optimal result or None, HiGHS status code) -- the status
    (2 infeasible, 3 unbounded) is only a hint for which exact check to try.
    """
    import numpy as np

    if d == 0:
        return None, -1
    kw: dict = {"bounds": [(None, None)] * d}
    if A:
        kw["A_ub"] = np.array([[float(v) for v in r] for r in A], dtype=float)  # float
        kw["b_ub"] = np.array([float(v) for v in b], dtype=float)
    if E:
        kw["A_eq"] = np.array([[float(v) for v in r] for r in E], dtype=float)
        kw["b_eq"] = np.array([float(v) for v in f], dtype=float)
    res = _linprog(-np.array([float(v) for v in c], dtype=float), **kw)
    if res is None:
        return None, -1
    if res.status != 0:
        return None, int(res.status)
    x_f = res.x
    slack_f = kw["b_ub"] - kw["A_ub"] @ x_f if A else np.zeros(0)
    dual_f = -res.ineqlin.marginals if A else np.zeros(0)
    scale = 1.0 + np.abs(kw["b_ub"]) if A else np.zeros(0)
    tight = [i for i in range(len(A)) if slack_f[i] <= 1e-9 * scale[i]]  # float proposal
    supp = [i for i in range(len(A)) if dual_f[i] > 1e-12]  # float proposal
    # exact primal: solve the tight rows with equality, check feasibility
    x = _solve([A[i] for i in tight] + list(E), [b[i] for i in tight] + list(f), d)
    if x is None or any(v > bi for v, bi in zip(matvec(A, x), b)) or \
            any(v != fi for v, fi in zip(matvec(E, x), f)):
        return None, 0
    value = _dot(c, x)
    # exact dual: y >= 0 on a subset S of rows, z free, A_S^T y + E^T z = c
    for S in (supp, tight):
        ncol = len(S) + len(E)
        M = [[A[i][j] for i in S] + [e[j] for e in E] for j in range(d)]
        sol = _solve(M, c, ncol)
        if sol is None or any(v < 0 for v in sol[: len(S)]):
            continue
        dual_value = _dot([b[i] for i in S], sol[: len(S)]) + _dot(f, sol[len(S):])
        if dual_value == value:  # weak duality: primal = dual value proves optimality
            return LPResult("optimal", value, x), 0
    return None, 0


def _fast_ray(A: Mat, E: Mat, c: Vec, d: int) -> bool:
    """True if an exactly verified ray r (A r <= 0, E r = 0, c r > 0) was found."""
    # max c r over the recession cone cut by the box -1 <= r <= 1: its
    # optimum is certified exactly by _fast_lp, so a positive value proves a ray.
    unit = [tuple(_ONE if j == i else _ZERO for j in range(d)) for i in range(d)]
    Ab = tuple(A) + tuple(unit) + tuple(tuple(-v for v in u) for u in unit)
    bb = (_ZERO,) * len(A) + (_ONE,) * (2 * d)
    res, _ = _fast_lp(Ab, bb, E, (_ZERO,) * len(E), c, d)
    return res is not None and res.value > 0


# ---------------------------------------------------------------------------
# float-proposed minimal forms and boundedness (fast path): HiGHS proposes
# multipliers and points, exact integer / mpq arithmetic checks them
# ---------------------------------------------------------------------------

_PROPOSAL_TOL = 1e-9  # float margin for proposing "facet" / "redundant" (decides nothing)


def _exact_multipliers(y: Any, exps: Sequence[int], e_obj: int, skip: Any) -> dict:
    """Float duals ``y`` of normalised rows as exact multipliers of the
    integer rows: ``obj / 2**e_obj ~ sum_p y_p row_p / 2**e_p`` gives
    ``obj ~ sum_p (y_p 2**(e_obj - e_p)) row_p``.  Each float converts
    exactly; the rows in ``skip`` are left out (the exact check decides)."""
    import numpy as np
    from gmpy2 import mpq

    out = {}
    for p in np.flatnonzero(y > 0).tolist():
        if p not in skip:
            out[p] = mpq(*float(y[p]).as_integer_ratio()) * mpq(2) ** (e_obj - exps[p])
    return out


def _residual(obj: Sequence[int], lam: dict, rows: Sequence[Sequence[int]], k: int):
    """Exact ``(beta, eps)`` of ``obj = sum lam_p a_p + r``: ``beta = sum lam_p b_p``
    and ``eps = |r|_1`` (rows ``(a_p, b_p)``, ``obj`` of length ``k``).  For
    every x with ``a_p . x <= b_p`` on the support: ``obj . x <= beta + eps |x|_inf``."""
    from gmpy2 import mpq

    r = [mpq(v) for v in obj[:k]]
    beta = mpq(0)
    for p, l in lam.items():
        row = rows[p]
        beta += l * row[k]
        for j in range(k):
            if row[j]:
                r[j] -= l * row[j]
    return beta, sum(abs(v) for v in r)


_HIGHS_LOCK = threading.Lock()
_HIGHS_BANNER_DONE = False  # highspy prints its banner once per process


@contextlib.contextmanager
def _stdout_fd_to_devnull() -> Iterator[None]:
    """Point file descriptor 1 at the null device for a moment: HiGHS's C++
    logger writes there directly, past ``sys.stdout``."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()  # Python's own buffered output goes out first
        saved = os.dup(1)
    except (OSError, ValueError):  # no usable descriptor 1: nothing to guard
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def _new_highs() -> Any:
    """A silent ``highspy.Highs`` solver and the highspy module, or None
    without highspy (the float proposer then falls back to scipy's
    ``linprog``, cold starts).

    ``highspy.Highs()`` (1.16) logs its version banner to stdout while it is
    being constructed -- before any option can be set -- which would break
    ``--json`` output.  HiGHS writes that banner once per process, so the
    first construction runs with file descriptor 1 on the null device (under
    a lock; a few microseconds); every solver then gets ``output_flag`` and
    ``log_to_console`` off, which silences all later logging."""
    global _HIGHS_BANNER_DONE
    try:
        import highspy
    except ImportError:  # only loses the warm starts (fast path)
        return None
    with _HIGHS_LOCK:
        if _HIGHS_BANNER_DONE:
            h = highspy.Highs()
        else:
            with _stdout_fd_to_devnull():
                h = highspy.Highs()
            _HIGHS_BANNER_DONE = True
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    return h, highspy


class _DualLP:
    """Float LPs ``max f . x  s.t.  A x <= b`` (normalised rows, fast path)
    solved as the dual ``min b . y  s.t.  A^T y = f, y >= 0``.

    The dual has one row per coordinate and one column per inequality, so one
    model serves every objective ``f``: only the right-hand side changes, the
    previous optimal basis stays dual feasible and HiGHS warm-starts from it
    (5x faster than cold ``linprog`` calls on 1000 rows in R^64, measured).
    ``remove(p)`` fixes ``y_p = 0`` (the LP ignores row p from then on);
    ``cap=p`` raises ``b_p`` by 1 for one solve (keeps ``max a_p . x`` finite).
    """

    def __init__(self, FA: Any, Fb: Any) -> None:
        import numpy as np

        self.FA, self.Fb = FA, Fb
        self.n, self.k = FA.shape
        self.gone = np.zeros(self.n, dtype=bool)
        self.h: Any = None
        try:
            hs = _new_highs()
            if hs is not None:
                self._build(*hs)
        except Exception as exc:  # float solver trouble: scipy instead
            log.debug("fast path: highspy model failed with %r", exc)
            self.h = None
        _STATS["canon.highspy" if self.h is not None else "canon.scipy"] += 1

    def _build(self, h: Any, highspy: Any) -> None:
        import numpy as np

        h.setOptionValue("presolve", "off")  # warm starts work on the model itself
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.n, self.k
        lp.col_cost_ = self.Fb.copy()
        lp.col_lower_ = np.zeros(self.n)
        lp.col_upper_ = np.full(self.n, highspy.kHighsInf)
        lp.row_lower_ = np.zeros(self.k)
        lp.row_upper_ = np.zeros(self.k)
        # column p of the dual is row p of A (column-wise, nonzeros only)
        nz = self.FA != 0
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(np.int32)
        lp.a_matrix_.index_ = np.nonzero(nz)[1].astype(np.int32)
        lp.a_matrix_.value_ = self.FA[nz].astype(float)
        h.passModel(lp)
        self.h = h
        self.rows = np.arange(self.k, dtype=np.int32)
        self.optimal = highspy.HighsModelStatus.kOptimal

    def remove(self, p: int) -> None:
        self.gone[p] = True
        if self.h is not None:
            self.h.changeColBounds(p, 0.0, 0.0)

    def solve(self, f: Any, cap: Optional[int] = None) -> Optional[tuple[float, Any, Any]]:
        """``(value, y, x)``: an optimal value, dual ``y`` and primal ``x``, or None."""
        import numpy as np

        cost = self.Fb.copy()
        if cap is not None:
            cost[cap] += 1.0
        if self.h is not None:
            h = self.h
            try:
                if cap is not None:
                    h.changeColCost(cap, float(cost[cap]))
                h.changeRowsBounds(self.k, self.rows, f, f)
                h.run()
                ok = h.getModelStatus() == self.optimal
                if ok:
                    sol = h.getSolution()
                    y, x = np.array(sol.col_value), np.array(sol.row_dual)
                if cap is not None:
                    h.changeColCost(cap, float(self.Fb[cap]))
            except Exception as exc:  # float solver trouble only loses this proposal
                log.debug("fast path: highspy raised %r", exc)
                return None
            if not ok:
                return None
        else:
            bounds = [(0.0, 0.0) if g else (0.0, None) for g in self.gone]
            res = _linprog(cost, A_eq=self.FA.T, b_eq=f, bounds=bounds)
            if res is None or res.status != 0:
                return None
            y, x = res.x, res.eqlin.marginals
        value = float(cost @ y)
        if not (np.isfinite(x).all() and np.isfinite(y).all() and math.isfinite(value)):
            return None
        # x is the dual of the equality rows; its sign convention differs
        # between solvers: the optimal x has f . x = value (strong duality)
        if abs(float(f @ x) - value) > abs(float(f @ x) + value):
            x = -x
        return value, y, x


@_proposal(None)
def _float_canon_proposals(G: Sequence[Sequence[int]], y0: Vec) -> Optional[tuple]:
    """Float proposals for the minimal form of ``{x : a_p . x <= b_p}``.

    ``G[p] = (a_p, b_p)`` are integer rows (nonzero, pairwise non-parallel),
    ``y0`` a strict interior point.  Row by row, a warm-started float LP
    ``max a_p . x`` over the rows not yet proposed redundant (``b_p`` capped
    at ``b_p + 1``) proposes "redundant" (optimum below ``b_p``: its duals)
    or "facet" (optimum above: a point just past row p on the segment from
    ``y0`` to the optimum).  Then, over the rows left, the duals of
    ``max +-x_j`` for the L-infinity bound of :func:`_fast_irredundant`.

    Returns ``(removed, points, axis)``: ``removed`` lists ``(p, multipliers)``
    in removal order, whose supports avoid the rows removed before p;
    ``points`` maps p to a float point; ``axis`` lists ``(j, s, multipliers)``
    (None when some direction has no proposal: unbounded, or solver trouble).
    """
    import numpy as np

    k = len(G[0]) - 1
    F, exps = scaled_float_rows(G)
    FA, Fb = F[:, :k], F[:, k]
    y0f = np.array([float(v) for v in y0])
    if not (np.isfinite(F).all() and np.isfinite(y0f).all()):
        return None
    lp = _DualLP(FA, Fb)
    gone: set = set()
    removed, points = [], {}
    for p in range(len(G)):
        out = lp.solve(FA[p], cap=p)
        if out is None:
            continue
        v, y, x = out
        if v < Fb[p] - _PROPOSAL_TOL:
            removed.append((p, _exact_multipliers(y, exps, exps[p], gone | {p})))
            gone.add(p)
            lp.remove(p)
        elif v > Fb[p] + _PROPOSAL_TOL:
            z = _point_past(FA, Fb, p, y0f, x, lp.gone)
            if z is not None:
                points[p] = z
    axis: list = []
    for j in range(k):
        for s in (1, -1):
            f = np.zeros(k)
            f[j] = s
            out = lp.solve(f)
            if out is None:
                return removed, points, None
            axis.append((j, s, _exact_multipliers(out[1], exps, 0, gone)))
    return removed, points, axis


def _point_past(FA: Any, Fb: Any, p: int, y0: Any, x: Any, gone: Any) -> Any:
    """A float point on the segment from ``y0`` (strictly inside) to ``x`` (an
    optimum violating row p) just past row p and before any other row that
    is not ``gone`` (float proposal; the exact check decides)."""
    import numpy as np

    s0 = Fb - FA @ y0
    D = FA @ (x - y0)
    if not D[p] > 0:
        return None
    tp = s0[p] / D[p]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where((D > 0) & ~gone, s0 / D, np.inf)
    t[p] = np.inf
    t2 = min(float(t.min()), 1.0)
    if not tp < t2:
        return None
    for w in (0.5, 0.1, 0.9):
        z = y0 + (tp + w * (t2 - tp)) * (x - y0)
        sl = Fb - FA @ z
        sl[gone] = 1.0
        if sl[p] < 0 and (np.delete(sl, p) > 0).all():
            return z
    return None


def _dyadic_homogeneous(z: Any) -> tuple[list[int], int]:
    """A float vector exactly as integers ``(X, W)`` with ``z = X / W``, ``W = 2**e``."""
    ratios = [float(v).as_integer_ratio() for v in z]
    W = max(den for _, den in ratios)
    return [num * (W // den) for num, den in ratios], W


def _fast_irredundant(G: Sequence[Sequence[int]], y0: Vec) -> dict[int, bool]:
    """Exactly certified statuses from :func:`_float_canon_proposals`:
    ``{p: True}`` a facet, ``{p: False}`` redundant; rows left out are undecided.

    Let R be the rows certified redundant and K the others.  Certificates:

    * an L-infinity bound M of ``P_K = {x : rows K}``: for each direction
      ``s e_j`` exact multipliers ``lam >= 0`` on K give
      ``s x_j <= beta + eps |x|_inf`` (``eps`` the exact L1 norm of the
      residual ``s e_j - sum lam_p a_p``); with ``mu = |x|_inf`` attained at
      some ``s x_j``, ``mu <= beta_max + eps_max mu``, so
      ``M = beta_max / (1 - eps_max)`` when ``eps_max < 1``;
    * a redundant row p: multipliers on rows not removed before p with
      ``beta + eps M <= b_p`` -- by induction from the last removed row, p
      holds on ``P_K`` (a zero residual needs no M);
    * a facet p: an exact point satisfying every row of K but p and violating
      p, so p is irredundant in K and in every subset containing it.

    Rows whose proposal fails the exact check stay undecided (the exact
    method decides them); that only enlarges K, which keeps M valid.
    """
    import numpy as np
    from gmpy2 import mpq

    props = _float_canon_proposals(G, y0)
    if props is None:
        return {}
    removed, points, axis = props
    k = len(G[0]) - 1
    M = None
    if axis is not None:
        bounds = [_residual([s if i == j else 0 for i in range(k)], lam, G, k)
                  for j, s, lam in axis]
        eps = max(e for _, e in bounds)
        if eps < 1:
            M = max(mpq(0), max(b for b, _ in bounds)) / (1 - eps)
    status: dict[int, bool] = {}
    for p, lam in removed:
        beta, eps = _residual(G[p][:k], lam, G, k)
        if (eps == 0 or M is not None) and beta + eps * (M or 0) <= G[p][k]:
            status[p] = False
    keep = [q for q in range(len(G)) if q not in status]
    facets = [p for p in points if p not in status]
    if facets:
        H = np.array([list(G[q][:k]) + [-G[q][k]] for q in keep], dtype=object)
        cols = []
        for p in facets:
            X, W = _dyadic_homogeneous(points[p])
            cols.append(X + [W])
        vals = H.dot(np.array(cols, dtype=object).T)  # a_q . X - b_q W, exact ints
        pos = {q: i for i, q in enumerate(keep)}
        for c, p in enumerate(facets):
            col = vals[:, c]
            i = pos[p]
            if col[i] > 0 and all(v <= 0 for v in np.delete(col, i).tolist()):
                status[p] = True
    return status


# ---------------------------------------------------------------------------
# the Polyhedron
# ---------------------------------------------------------------------------


def _check_dim(d: Any, what: str) -> int:
    if isinstance(d, bool) or not isinstance(d, int) or d < 0:
        raise ShapeError(f"{what} must be a non-negative integer, got {d!r}")
    return d


def _as_matrix(M: Any, where: str, ncols: Optional[int] = None) -> Mat:
    """to_matrix, with a shortcut for rows that are already all Fractions.

    Region enumerators build thousands of polyhedra from exact rows; checking
    the types is ~50x cheaper than converting entry by entry.
    """
    if isinstance(M, (tuple, list)) and all(
            isinstance(r, (tuple, list)) and all(type(v) is Fraction for v in r) for r in M):
        n = ncols if ncols is not None else (len(M[0]) if M else None)
        if all(len(r) == n for r in M):
            return tuple(r if type(r) is tuple else tuple(r) for r in M)
    return to_matrix(M, where, ncols=ncols)


def _as_vector(v: Any, where: str) -> Vec:
    """to_vector, with the same shortcut for a sequence of Fractions."""
    if isinstance(v, (tuple, list)) and all(type(x) is Fraction for x in v):
        return tuple(v)
    return to_vector(v, where)


def _ncols_hint(M: Any) -> Optional[int]:
    shape = getattr(M, "shape", None)
    if shape is not None and len(shape) == 2:
        return int(shape[1])
    return None


def _fmt_row(a: Vec, rel: str, c: Fraction) -> str:
    terms = []
    for j, v in enumerate(a):
        if v == 0:
            continue
        mag = "" if abs(v) == 1 else fraction_str(abs(v)) + "*"
        sign = "-" if v < 0 else "+"
        terms.append((sign, f"{mag}x{j}"))
    if not terms:
        lhs = "0"
    else:
        lhs = ("-" if terms[0][0] == "-" else "") + terms[0][1]
        for s, t in terms[1:]:
            lhs += f" {s} {t}"
    return f"{lhs} {rel} {fraction_str(c)}"


class Polyhedron:
    """An exact convex polyhedron ``{x : A x <= b, E x = f}`` in ``Q^d``.

    Build it with :meth:`from_inequalities`, :meth:`box`, :meth:`from_vertices`
    or :meth:`whole_space`.  The object is immutable; derived data (minimal
    form, vertices, interior point) is computed on first use and cached.

    >>> P = Polyhedron.from_inequalities([[1, 0], [0, 1], [-1, -1]], [1, 1, 0])
    >>> [tuple(map(str, v)) for v in P.vertices]
    [('-1', '1'), ('1', '-1'), ('1', '1')]
    """

    __slots__ = ("_d", "_raw_h", "_raw_v", "__dict__")
    _d: int
    _raw_h: Optional[tuple]
    _raw_v: Optional[tuple]

    def __init__(self, d: int, raw_h: Optional[tuple], raw_v: Optional[tuple]) -> None:
        object.__setattr__(self, "_d", d)
        object.__setattr__(self, "_raw_h", raw_h)  # (A, b, E, f) as given
        object.__setattr__(self, "_raw_v", raw_v)  # (V, R, L) as given

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Polyhedron is immutable")

    def __reduce__(self):
        return (Polyhedron, (self._d, self._raw_h, self._raw_v))

    # ---------------------------------------------------------------- builders

    @classmethod
    def from_inequalities(cls, A: Any, b: Any, equalities: Any = None,
                          ambient_dim: Optional[int] = None) -> "Polyhedron":
        """The set ``{x : A x <= b}`` (and ``E x = f`` if ``equalities=(E, f)``).

        Numbers go through :mod:`polyrelu.numbers` (floats convert exactly).
        ``ambient_dim`` is needed only when there are no rows at all.

        >>> P = Polyhedron.from_inequalities([[1, 1]], [1], equalities=([[1, -1]], [0]))
        >>> P.dim
        1
        """
        hint = _ncols_hint(A)
        Am = _as_matrix(A, "A", ncols=hint)
        bv = _as_vector(b, "b")
        if len(Am) != len(bv):
            raise ShapeError(f"A has {len(Am)} rows but b has {len(bv)} entries")
        d = len(Am[0]) if Am else hint
        Em: Mat = ()
        fv: Vec = ()
        if equalities is not None:
            try:
                E, f = equalities
            except (TypeError, ValueError):
                raise ShapeError("equalities must be a pair (E, f)") from None
            ehint = _ncols_hint(E)
            Em = _as_matrix(E, "E", ncols=d if d is not None else ehint)
            fv = _as_vector(f, "f")
            if len(Em) != len(fv):
                raise ShapeError(f"E has {len(Em)} rows but f has {len(fv)} entries")
            if d is None:
                d = len(Em[0]) if Em else ehint
        if ambient_dim is not None:
            ambient_dim = _check_dim(ambient_dim, "ambient_dim")
            if d is not None and d != ambient_dim:
                raise ShapeError(f"rows have {d} columns but ambient_dim={ambient_dim}")
            d = ambient_dim
        if d is None:
            raise ShapeError("no rows given: pass ambient_dim to fix the dimension")
        return cls(d, (Am, bv, Em, fv), None)

    @classmethod
    def box(cls, lo: Any, hi: Any) -> "Polyhedron":
        """The box ``lo <= x <= hi`` (``lo == hi`` allowed in a coordinate).

        >>> Polyhedron.box([0, 0], [2, 3]).volume()
        Fraction(6, 1)
        """
        lo = to_vector(lo, "lo")
        hi = to_vector(hi, "hi")
        if len(lo) != len(hi):
            raise ShapeError(f"box: lo has {len(lo)} entries but hi has {len(hi)}")
        for i, (l, h) in enumerate(zip(lo, hi)):
            if l > h:
                raise PolyhedronError(f"box: lo[{i}] = {fraction_str(l)} > hi[{i}] = "
                                      f"{fraction_str(h)}")
        d = len(lo)
        A, b = [], []
        for i in range(d):
            e = tuple(_ONE if j == i else _ZERO for j in range(d))
            A.append(e)
            b.append(hi[i])
            A.append(tuple(-v for v in e))
            b.append(-lo[i])
        return cls(d, (tuple(A), tuple(b), (), ()), None)

    @classmethod
    def whole_space(cls, d: int) -> "Polyhedron":
        """All of ``Q^d``.

        >>> Polyhedron.whole_space(3).dim
        3
        """
        d = _check_dim(d, "d")
        return cls(d, ((), (), (), ()), None)

    @classmethod
    def from_vertices(cls, V: Any, rays: Any = (), lines: Any = (),
                      ambient_dim: Optional[int] = None) -> "Polyhedron":
        """``conv(V) + cone(rays) + span(lines)``; no vertices means the empty set.

        >>> Polyhedron.from_vertices([[0, 0], [1, 0], [0, 1]]).volume()
        Fraction(1, 2)
        """
        Vm = to_matrix(V, "V", ncols=_ncols_hint(V))
        d = len(Vm[0]) if Vm else _ncols_hint(V)
        Rm = to_matrix(rays, "rays", ncols=d if d is not None else _ncols_hint(rays))
        if d is None and Rm:
            d = len(Rm[0])
        Lm = to_matrix(lines, "lines", ncols=d if d is not None else _ncols_hint(lines))
        if d is None and Lm:
            d = len(Lm[0])
        if ambient_dim is not None:
            ambient_dim = _check_dim(ambient_dim, "ambient_dim")
            if d is not None and d != ambient_dim:
                raise ShapeError(f"points have {d} coordinates but ambient_dim={ambient_dim}")
            d = ambient_dim
        if d is None:
            raise ShapeError("no points given: pass ambient_dim to fix the dimension")
        return cls(d, None, (Vm, Rm, Lm))

    # ----------------------------------------------------------- raw data

    @property
    def ambient_dim(self) -> int:
        """Dimension ``d`` of the space the polyhedron lives in.

        >>> Polyhedron.box([0, 0, 0], [1, 1, 1]).ambient_dim
        3
        """
        return self._d

    @cached_property
    def _h(self) -> tuple[Mat, Vec, Mat, Vec]:
        """Some H-representation (the raw rows, or cdd's hull of the generators)."""
        if self._raw_h is not None:
            return self._raw_h
        V, R, L = self._given_generators()
        return get_backend().hull(V, R, L, self._d)

    def _given_generators(self) -> tuple[Mat, Mat, Mat]:
        """The ``(V, R, L)`` stored by :meth:`from_vertices` (when there are no raw rows)."""
        if self._raw_v is None:
            # every builder stores rows or generators, so this is an internal error
            raise BackendError("Polyhedron holds neither inequality rows nor generators")
        return self._raw_v

    @property
    def raw_inequalities(self) -> tuple[Mat, Vec]:
        """The inequality rows as given (or as computed from generators), unreduced.

        >>> Polyhedron.box([0], [1]).raw_inequalities
        (((Fraction(1, 1),), (Fraction(-1, 1),)), (Fraction(1, 1), Fraction(0, 1)))
        """
        A, b, _, _ = self._h
        return A, b

    @property
    def raw_equalities(self) -> tuple[Mat, Vec]:
        """The equality rows as given (or as computed from generators).

        >>> Polyhedron.whole_space(1).raw_equalities
        ((), ())
        """
        _, _, E, f = self._h
        return E, f

    def farkas_system(self) -> tuple[Mat, Vec]:
        """The stacked system ``[A; E; -E] x <= [b; f; -f]`` of the raw rows.

        :meth:`certify_empty` returns multipliers for exactly this system.

        >>> A, b = Polyhedron.from_inequalities([[1]], [0], equalities=([[1]], [1])).farkas_system()
        >>> [str(r[0]) for r in A], [str(v) for v in b]
        (['1', '1', '-1'], ['0', '1', '-1'])
        """
        A, b, E, f = self._h
        As = tuple(A) + tuple(E) + tuple(tuple(-v for v in e) for e in E)
        bs = tuple(b) + tuple(f) + tuple(-v for v in f)
        return As, bs

    # ------------------------------------------------------------ analysis

    @cached_property
    def _bits(self) -> int:
        """Largest bit size of a number in the rows (drives the "auto" choices)."""
        A, b, E, f = self._h
        best = 0
        for rows, rhs in ((A, b), (E, f)):
            for row, c in zip(rows, rhs):
                for v in row + (c,):
                    n = v.numerator.bit_length() + v.denominator.bit_length()
                    if n > best:
                        best = n
        return best

    def _floats_first(self, lp: bool = False) -> bool:
        """Should floats propose first (interior points, or LP optima if ``lp``)?"""
        if _FAST_MODE is True or _FAST_MODE is False:
            return _FAST_MODE
        limit = _AUTO_FLOAT_LP_BITS if lp else _AUTO_FLOAT_BITS
        return self._d >= _AUTO_FLOAT_DIM and self._bits > limit

    @cached_property
    def _param(self) -> Optional[_Param]:
        """The rows restricted to the affine hull of the explicit equalities.

        ``x = x0 + N^T y``; ``Ay y <= by`` are the inequalities in y-space.
        None when the explicit equalities are inconsistent (exact rref).
        """
        A, b, E, f = self._h
        return _make_param(A, b, E, f, self._d)

    @cached_property
    def _quick(self) -> _Quick:
        """Exact first analysis: one Chebyshev-type LP, no canonicalisation.

        ``kind`` is ``"point"`` when ``x`` strictly satisfies every inequality
        (so the polyhedron is nonempty, of dimension ``d - rank E``, without
        implicit equalities), ``"flat"`` when it is nonempty but some
        inequality is an implicit equality (``x`` is just a point of it), and
        ``"empty"``.
        """
        par = self._param
        if par is None:
            log.debug("explicit equalities are inconsistent: empty")
            return _Quick("empty", None, None, 0)
        floats = self._floats_first()
        kind, y, u = _strict_point(par.Ay, par.by, len(par.N), floats)
        if kind == "empty":
            return _Quick("empty", None, None, par.rank)
        A, b, E, f = self._h
        rows = tuple(range(len(A)))
        implicit: list[int] = []
        # Lower-dimensional: the verified LP multipliers name implicit
        # equalities; move them to the equalities and repeat until a strict
        # point exists.  (Not in the reference mode False, where cdd's
        # canonicalisation decides, so that the two methods check each other.)
        while kind == "flat" and u is not None and _FAST_MODE is not False:
            found = {rows[i] for i, v in enumerate(u) if v > 0}
            implicit += sorted(found)
            rows = tuple(i for i in rows if i not in found)
            par = _make_param(tuple(A[i] for i in rows), tuple(b[i] for i in rows),
                              E + tuple(A[i] for i in implicit),
                              f + tuple(b[i] for i in implicit), self._d)
            if par is None:
                raise BackendError("implicit equalities of a nonempty polyhedron "
                                   "are inconsistent")
            kind, y, u = _strict_point(par.Ay, par.by, len(par.N), floats)
            if kind == "empty":
                raise BackendError("a nonempty polyhedron became empty")
        if y is None:  # _strict_point gives a point for every kind but "empty"
            raise BackendError(f"strict-point test answered {kind!r} without a point")
        if kind == "point" and implicit:
            _STATS["implicit.lp"] += 1
            return _Quick("relint", par.lift(y), y, par.rank, par, rows, tuple(implicit))
        return _Quick(kind, par.lift(y), y, par.rank, par, rows, ())

    @cached_property
    def _canon(self) -> Optional[Canonical]:
        """Minimal H-representation (None when empty)."""
        q = self._quick
        if q.kind == "empty":
            return None
        if q.kind in ("point", "relint") and _FAST_MODE is not False and (
                _FAST_MODE is True or self._d >= _AUTO_LPCANON_DIM):
            return self._lp_canonical()
        A, b, E, f = self._h
        can = get_backend().canonicalize(A, b, E, f, self._d)
        if can is None:
            raise BackendError("the backend reports an empty polyhedron although "
                               "a point of it was verified exactly")
        return can

    def _lp_canonical(self) -> Canonical:
        """Minimal form of a polyhedron with a verified strict point, by exact LPs.

        Facets are certified by a point violating only that row (ray shooting
        from the strict point, or the optimum of an LP over the other rows);
        redundant rows by an LP over other rows whose optimum is <= b_i
        (Clarkson-style: the LP uses only the rows needed so far).
        """
        _STATS["canon.lp"] += 1
        A, b, E, f = self._h
        q = self._quick
        if q.par is None or q.y is None:  # _quick sets both for kinds "point" / "relint"
            raise BackendError(f"no strict point recorded for a {q.kind!r} polyhedron")
        k = len(q.y)
        float_canon = _FAST_MODE is True or (
            _FAST_MODE == "auto" and k >= _AUTO_FLOAT_CANON_DIM
            and len(q.rows) >= _AUTO_FLOAT_CANON_ROWS * k)
        keep = [q.rows[i] for i in
                _lp_irredundant(q.par.Ay, q.par.by, q.y, self._floats_first(lp=True),
                                float_canon)]
        E2 = E + tuple(A[i] for i in q.implicit)
        f2 = f + tuple(b[i] for i in q.implicit)
        Ekeep = independent_rows(E2, self._d)  # greedy, in order
        return Canonical(tuple(A[i] for i in keep), tuple(b[i] for i in keep),
                         tuple(E2[i] for i in Ekeep), tuple(f2[i] for i in Ekeep),
                         tuple(keep))

    def _nonempty_canon(self) -> Canonical:
        """:attr:`_canon` of a polyhedron already known to be nonempty."""
        can = self._canon
        if can is None:  # _canon is None only when _quick found the set empty
            raise BackendError("no minimal form for a polyhedron known to be nonempty")
        return can

    @cached_property
    def _relint(self) -> Optional[Vec]:
        """A relative interior point, exactly verified (None when empty)."""
        q = self._quick
        if q.kind == "empty":
            return None
        if q.kind in ("point", "relint"):
            return q.x
        x = _relative_interior(self._nonempty_canon(), self._d)
        if x is None:
            raise BackendError("could not find a relative interior point of a "
                               "polyhedron the backend reported nonempty")
        return x

    # ------------------------------------------------------------- queries

    def is_empty(self) -> bool:
        """True iff no point satisfies the constraints (decided exactly).

        >>> Polyhedron.from_inequalities([[1], [-1]], [0, -1]).is_empty()
        True
        """
        return self._quick.kind == "empty"

    @cached_property
    def dim(self) -> int:
        """Affine dimension (-1 for the empty set).

        >>> Polyhedron.from_inequalities([[1], [-1]], [0, 0]).dim
        0
        """
        q = self._quick
        if q.kind == "empty":
            return -1
        if q.kind in ("point", "relint"):
            return self._d - q.rank
        return self._d - len(self._nonempty_canon().E)

    def is_full_dimensional(self) -> bool:
        """True iff the polyhedron has a nonempty interior in ``Q^d``.

        Decided by the first exact LP alone (never needs the minimal form):
        full-dimensional iff a point strictly satisfies every inequality and
        there are no (non-trivial) explicit equalities.

        >>> Polyhedron.box([0, 0], [1, 0]).is_full_dimensional()
        False
        """
        q = self._quick
        if q.kind == "flat":
            return False  # some inequality is an implicit equality
        return q.kind != "empty" and self.dim == self._d

    def interior_point(self) -> Vec:
        """A rational point in the relative interior, verified exactly.

        Raises
        ------
        PolyhedronError
            If the polyhedron is empty.

        Examples
        --------
        >>> Polyhedron.box([0, 0], [1, 0]).interior_point()
        (Fraction(1, 2), Fraction(0, 1))
        """
        x = self._relint
        if x is None:
            raise PolyhedronError("interior_point: the polyhedron is empty")
        return x

    def contains(self, x: Any) -> bool:
        """Exact membership test.

        >>> Polyhedron.box([0, 0], [1, 1]).contains(["1/2", 1])
        True
        """
        xv = to_vector(x, "x")
        if len(xv) != self._d:
            raise ShapeError(f"contains: x has {len(xv)} entries, the polyhedron lives "
                             f"in dimension {self._d}")
        A, b, E, f = self._h
        return (all(_dot(a, xv) <= bi for a, bi in zip(A, b))
                and all(_dot(e, xv) == fi for e, fi in zip(E, f)))

    def __contains__(self, x: Any) -> bool:
        return self.contains(x)

    @property
    def inequalities(self) -> tuple[Mat, Vec]:
        """Minimal inequalities ``(A, b)``; no redundant rows, no implicit equalities.

        Rows keep the scaling they were given with.  Empty polyhedron: the
        single row ``0 x <= -1``.

        >>> A, b = Polyhedron.from_inequalities([[1], [2], [-1]], [1, 4, 0]).inequalities
        >>> A, b
        (((Fraction(1, 1),), (Fraction(-1, 1),)), (Fraction(1, 1), Fraction(0, 1)))
        """
        can = self._canon
        if can is None:
            return ((_ZERO,) * self._d,), (-_ONE,)
        return can.A, can.b

    @property
    def equalities(self) -> tuple[Mat, Vec]:
        """Independent equalities ``(E, f)`` of the affine hull (explicit and implicit).

        >>> Polyhedron.from_inequalities([[1, 0], [-1, 0], [0, 1]], [0, 0, 1]).equalities
        (((Fraction(1, 1), Fraction(0, 1)),), (Fraction(0, 1),))
        """
        can = self._canon
        if can is None:
            return (), ()
        return can.E, can.f

    @property
    def facets(self) -> tuple[tuple[Vec, Fraction], ...]:
        """The minimal inequalities as ``(a, c)`` pairs meaning ``a x <= c``.

        >>> len(Polyhedron.box([0, 0], [1, 1]).facets)
        4
        """
        A, b = self.inequalities if self._canon is not None else ((), ())
        return tuple(zip(A, b))

    @property
    def facet_indices(self) -> tuple[int, ...]:
        """For each minimal inequality, the index of the raw inequality row it is.

        >>> Polyhedron.from_inequalities([[1], [2], [-1]], [1, 4, 0]).facet_indices
        (0, 2)
        """
        can = self._canon
        return () if can is None else can.kept

    @cached_property
    def _gens(self) -> tuple[Mat, Mat, Mat]:
        if self.is_empty():
            return (), (), ()
        can = self._nonempty_canon()
        return get_backend().generators(can.A, can.b, can.E, can.f, self._d)

    @property
    def vertices(self) -> Mat:
        """Vertices (of a minimal face if the polyhedron has lines), sorted.

        >>> Polyhedron.box([0], [1]).vertices
        ((Fraction(0, 1),), (Fraction(1, 1),))
        """
        return tuple(sorted(self._gens[0]))

    @property
    def rays(self) -> Mat:
        """Extreme rays of the recession cone modulo lines (cdd scaling).

        >>> Polyhedron.from_inequalities([[-1]], [0]).rays
        ((Fraction(1, 1),),)
        """
        return self._gens[1]

    @property
    def lines(self) -> Mat:
        """A basis of the lineality space.

        >>> len(Polyhedron.whole_space(2).lines)
        2
        """
        return self._gens[2]

    @property
    def bounded(self) -> bool:
        """True iff the polyhedron is bounded (the empty set is bounded).

        No vertex enumeration: rows bounding every coordinate from both sides
        (a positive multiple of ``e_j`` and of ``-e_j`` among the normals, or
        an equality along ``e_j``) prove it at once; otherwise a nonempty
        polyhedron is bounded iff its recession cone ``{y : A y <= 0, E y = 0}``
        is ``{0}``, decided by d + 1 exact LPs (in the fast path, float
        multipliers checked exactly may prove it first).

        >>> Polyhedron.box([0], [1]).bounded, Polyhedron.whole_space(1).bounded
        (True, False)
        """
        return self._bounded

    @cached_property
    def _bounded(self) -> bool:
        if self._raw_v is not None and not self._raw_v[1] and not self._raw_v[2]:
            return True
        A, _, E, _ = self._h
        d = self._d
        if _axis_bounded(A, E, d):
            return True
        if self.is_empty():
            return True
        if "_gens" in self.__dict__:  # already enumerated: read it off
            _, R, L = self._gens
            return not R and not L
        if _FAST_MODE is True or (_FAST_MODE == "auto" and d >= _AUTO_FLOAT_DIM):
            ok = _fast_cone_pointed_zero(A, E, d)
            _STATS["bounded.fast_ok" if ok else "bounded.fast_fail"] += 1
            if ok:
                log.debug("fast path: boundedness certified by exact multipliers")
                return True
        return _recession_cone_is_zero(A, E, d)

    # -------------------------------------------------------------- LP

    def maximize(self, c: Any) -> LPResult:
        """Exact LP: maximise ``c x`` over the polyhedron.

        >>> Polyhedron.box([0, 0], [1, 1]).maximize([1, -1])
        LPResult(status='optimal', value=Fraction(1, 1), point=(Fraction(1, 1), Fraction(0, 1)))
        >>> Polyhedron.whole_space(1).maximize([1]).status
        'unbounded'
        """
        cv = to_vector(c, "c")
        if len(cv) != self._d:
            raise ShapeError(f"maximize: objective has {len(cv)} entries, the polyhedron "
                             f"lives in dimension {self._d}")
        A, b, E, f = self._h
        d = self._d
        if self._floats_first(lp=True):
            res, hint = _fast_lp(A, b, E, f, cv, d)
            if res is not None:
                _STATS["lp.fast_ok"] += 1
                log.debug("fast path: LP optimum certified by an exact primal/dual pair")
                return res
            if hint == 2 and self.is_empty():  # emptiness decided exactly
                _STATS["lp.fast_ok"] += 1
                return LPResult("infeasible")
            if hint == 3 and _fast_ray(A, E, cv, d) and not self.is_empty():
                _STATS["lp.fast_ok"] += 1
                log.debug("fast path: unbounded, certified by an exact ray and point")
                return LPResult("unbounded")
            _STATS["lp.fast_fail"] += 1
            log.debug("fast path: LP proposal not certified; exact backend")
        return get_backend().lp(A, b, E, f, cv, self._d)

    def minimize(self, c: Any) -> LPResult:
        """Exact LP: minimise ``c x`` over the polyhedron.

        >>> Polyhedron.box([0, 0], [1, 1]).minimize([1, 1]).value
        Fraction(0, 1)
        """
        cv = to_vector(c, "c")
        res = self.maximize(tuple(-v for v in cv))
        if res.status != "optimal":
            return res
        if res.value is None:  # LPResult contract: an optimum has its value
            raise BackendError("maximize: optimal LP result without a value")
        return LPResult("optimal", -res.value, res.point)

    # ------------------------------------------------------- certificates

    def certify_nonempty(self) -> Vec:
        """A rational relative-interior point, re-checked exactly against every row.

        The point satisfies every equality and every raw inequality, strictly
        for each row that is not an implicit equality.

        >>> Polyhedron.box([0], [1]).certify_nonempty()
        (Fraction(1, 2),)
        """
        x = self.interior_point()
        if not self.contains(x):
            raise BackendError("interior point fails the raw constraints")
        if self._quick.kind == "point":
            A, b, _, _ = self._h  # strict on every raw inequality
            if not all(_dot(a, x) < bi for a, bi in zip(A, b)):
                raise BackendError("interior point is not strictly inside")
        else:
            can = self._nonempty_canon()
            if not all(_dot(e, x) == fi for e, fi in zip(can.E, can.f)) or \
                    not all(_dot(a, x) < bi for a, bi in zip(can.A, can.b)):
                raise BackendError("interior point is not in the relative interior")
        return x

    def certify_empty(self) -> Vec:
        """Farkas multipliers ``y >= 0`` proving emptiness, checked exactly.

        ``y`` refers to the stacked system of :meth:`farkas_system`
        (equalities as two inequalities): ``y^T A = 0`` and ``y^T b < 0``.

        Raises
        ------
        PolyhedronError
            If the polyhedron is nonempty.

        Examples
        --------
        >>> P = Polyhedron.from_inequalities([[1], [-1]], [0, -1])
        >>> verify_farkas(*P.farkas_system(), P.certify_empty())
        True
        """
        if not self.is_empty():
            raise PolyhedronError("certify_empty: the polyhedron is nonempty")
        As, bs = self.farkas_system()
        y = None
        if _FAST_MODE is not False and As:
            y = _fast_farkas(As, bs)
            _STATS["farkas.fast_ok" if y is not None else "farkas.fast_fail"] += 1
        if y is None or not verify_farkas(As, bs, y):
            y = get_backend().farkas(As, bs, self._d)
        if y is None or not verify_farkas(As, bs, y):
            raise BackendError("no verified Farkas certificate for an empty polyhedron")
        return y

    # -------------------------------------------------------- operations

    def intersect(self, other: "Polyhedron") -> "Polyhedron":
        """Intersection (row stacking, no computation).

        >>> Polyhedron.box([0], [2]).intersect(Polyhedron.box([1], [3])) == Polyhedron.box([1], [2])
        True
        """
        if not isinstance(other, Polyhedron):
            raise PolyhedronError(f"intersect: expected a Polyhedron, got "
                                  f"{type(other).__name__}")
        if other._d != self._d:
            raise ShapeError(f"intersect: ambient dimensions {self._d} and {other._d} differ")
        A1, b1, E1, f1 = self._h
        A2, b2, E2, f2 = other._h
        return Polyhedron(self._d, (A1 + A2, b1 + b2, E1 + E2, f1 + f2), None)

    def add_inequality(self, a: Any, c: Any) -> "Polyhedron":
        """The polyhedron with one more row ``a x <= c``.

        >>> Polyhedron.box([0, 0], [1, 1]).add_inequality([1, 1], 1).volume()
        Fraction(1, 2)
        """
        av = to_vector(a, "a")
        if len(av) != self._d:
            raise ShapeError(f"add_inequality: a has {len(av)} entries, expected {self._d}")
        cv = to_vector([c], "c")[0]
        A, b, E, f = self._h
        return Polyhedron(self._d, (A + (av,), b + (cv,), E, f), None)

    def add_equality(self, a: Any, c: Any) -> "Polyhedron":
        """The polyhedron with one more row ``a x = c``.

        >>> Polyhedron.box([0, 0], [1, 1]).add_equality([1, -1], 0).dim
        1
        """
        av = to_vector(a, "a")
        if len(av) != self._d:
            raise ShapeError(f"add_equality: a has {len(av)} entries, expected {self._d}")
        cv = to_vector([c], "c")[0]
        A, b, E, f = self._h
        return Polyhedron(self._d, (A, b, E + (av,), f + (cv,)), None)

    def affine_preimage(self, M: Any, c: Any = None) -> "Polyhedron":
        """``{x : M x + c in P}`` (row substitution, no computation).

        >>> Polyhedron.box([0], [1]).affine_preimage([[2, 0]], [0]).inequalities[1]
        (Fraction(1, 1), Fraction(0, 1))
        """
        Mm = to_matrix(M, "M", ncols=_ncols_hint(M))
        if len(Mm) != self._d:
            raise ShapeError(f"affine_preimage: M has {len(Mm)} rows, expected {self._d}")
        n = len(Mm[0]) if Mm else _ncols_hint(M)
        if n is None:
            raise ShapeError("affine_preimage: cannot tell the number of columns of M")
        cv = to_vector(c, "c") if c is not None else (_ZERO,) * self._d
        if len(cv) != self._d:
            raise ShapeError(f"affine_preimage: c has {len(cv)} entries, expected {self._d}")
        A, b, E, f = self._h

        def sub(rows, rhs):  # rows M and rhs - rows c, exactly
            if not Mm:  # d = 0: every row is empty
                return tuple((_ZERO,) * n for _ in rows), tuple(rhs)
            R = matmul(rows, Mm)
            return R, tuple(ri - v for ri, v in zip(rhs, matvec(rows, cv)))

        A2, b2 = sub(A, b)
        E2, f2 = sub(E, f)
        return Polyhedron(n, (A2, b2, E2, f2), None)

    def affine_image(self, M: Any, c: Any = None) -> "Polyhedron":
        """``{M x + c : x in P}`` (via vertices, rays and lines).

        >>> Polyhedron.box([0, 0], [1, 1]).affine_image([[1, 1]]).vertices
        ((Fraction(0, 1),), (Fraction(2, 1),))
        """
        Mm = to_matrix(M, "M", ncols=_ncols_hint(M))
        if Mm and len(Mm[0]) != self._d:
            raise ShapeError(f"affine_image: M has {len(Mm[0])} columns, expected {self._d}")
        n = len(Mm)
        cv = to_vector(c, "c") if c is not None else (_ZERO,) * n
        if len(cv) != n:
            raise ShapeError(f"affine_image: c has {len(cv)} entries, expected {n}")
        V, R, L = self._gens

        def lin(v):
            return tuple(_dot(row, v) for row in Mm)

        V2 = tuple(tuple(x + ci for x, ci in zip(lin(v), cv)) for v in V)
        R2 = tuple(r for r in (lin(r) for r in R) if any(r))
        L2 = tuple(l for l in (lin(l) for l in L) if any(l))
        return Polyhedron(n, None, (V2, R2, L2))

    def project(self, coordinates: Sequence[int]) -> "Polyhedron":
        """Projection onto the listed coordinates (in that order).

        >>> Polyhedron.from_vertices([[0, 0, 0], [1, 2, 3]]).project([2, 0]).vertices
        ((Fraction(0, 1), Fraction(0, 1)), (Fraction(3, 1), Fraction(1, 1)))
        """
        if isinstance(coordinates, (str, bytes)):
            raise ShapeError(f"project: coordinates must be a sequence of indices, got "
                             f"{coordinates!r}")
        try:
            coords = list(coordinates)
        except TypeError:
            raise ShapeError(f"project: coordinates must be a sequence of indices, got "
                             f"{type(coordinates).__name__}") from None
        for k in coords:
            if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < self._d:
                raise ShapeError(f"project: coordinate {k!r} out of range 0..{self._d - 1}")
        M = tuple(tuple(_ONE if j == k else _ZERO for j in range(self._d)) for k in coords)
        if not M:  # onto no coordinates: the point Q^0, or the empty set
            rows = ((),) if self.is_empty() else ()
            return Polyhedron(0, (rows, (-_ONE,) * len(rows), (), ()), None)
        return self.affine_image(M)

    # ------------------------------------------------------------ volume

    def volume(self) -> Fraction:
        """Exact d-dimensional volume (0 for lower-dimensional or empty sets).

        Computed from a pulling triangulation of the vertices (recursing over
        the faces cut out by the facets), summing ``|det| / d!``.

        Raises
        ------
        PolyhedronError
            For an unbounded full-dimensional polyhedron.

        Examples
        --------
        >>> Polyhedron.from_vertices([[0, 0], [2, 0], [0, 3]]).volume()
        Fraction(3, 1)
        """
        d = self._d
        if self.dim < d:
            return _ZERO
        if not self.bounded:
            raise PolyhedronError("volume: the polyhedron is unbounded")
        if d == 0:
            return _ONE
        V = self.vertices
        facets = self.facets
        sets = []
        for a, c in facets:
            sets.append(frozenset(i for i, v in enumerate(V) if _dot(a, v) == c))
        total = _ZERO
        for simplex in _triangulate(frozenset(range(len(V))), d, sets, V):
            v0 = V[simplex[0]]
            rows = [[vi - v0i for vi, v0i in zip(V[s], v0)] for s in simplex[1:]]
            total += abs(_det(rows))
        return total / math.factorial(d)

    # ----------------------------------------------------- equality, hash

    @cached_property
    def _key(self) -> tuple:
        """Canonical normalised minimal H-representation (for == and hash)."""
        can = self._canon
        if can is None:
            return ("empty", self._d)
        d = self._d
        param = _affine_hull_param(can.E, can.f, d)
        if param is None:  # the equalities of a nonempty minimal form are consistent
            raise BackendError("inconsistent equalities in the minimal form of a "
                               "nonempty polyhedron")
        _, _, R, piv = param
        eq = tuple(tuple(row) for row in R)  # rref of [E | f] is unique
        ineq = []
        for a, c in zip(can.A, can.b):
            row = list(a) + [c]
            for r, p in zip(R, piv):  # reduce modulo the equalities (pivot columns)
                fac = row[p]
                if fac:
                    row = [x - fac * y for x, y in zip(row, r)]
            ineq.append(_primitive(row))
        return ("poly", d, eq, tuple(sorted(set(ineq))))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Polyhedron):
            return NotImplemented
        if self is other:
            return True
        return self._d == other._d and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        if self._raw_h is None:
            V, R, L = self._given_generators()
            return (f"Polyhedron.from_vertices({len(V)} vertices, {len(R)} rays, "
                    f"{len(L)} lines, ambient_dim={self._d})")
        A, b, E, f = self._raw_h
        rows = [_fmt_row(a, "<=", c) for a, c in zip(A, b)]
        rows += [_fmt_row(e, "==", c) for e, c in zip(E, f)]
        if not rows:
            return f"Polyhedron.whole_space({self._d})"
        shown = rows[:8] + ([f"... {len(rows) - 8} more"] if len(rows) > 8 else [])
        return f"Polyhedron(d={self._d}: " + ", ".join(shown) + ")"


# ---------------------------------------------------------------------------
# exact helpers used by Polyhedron
# ---------------------------------------------------------------------------


def _relative_interior(can: Canonical, d: int) -> Optional[Vec]:
    """Relative interior point of a canonical nonempty polyhedron, verified exactly."""
    param = _affine_hull_param(can.E, can.f, d)
    if param is None:
        return None
    x0, N, _, piv = param
    Ay = tuple(tuple(_dot(a, n) for n in N) for a in can.A)
    by = tuple(bi - _dot(a, x0) for a, bi in zip(can.A, can.b))
    floats = _FAST_MODE is True  # "auto": this rare case (implicit equalities) stays exact
    kind, y, _ = _strict_point(Ay, by, len(N), floats)
    if kind != "point":  # no row of a canonical form is an implicit equality
        return None
    if y is None:  # _strict_point always gives the point it found
        raise BackendError("strict-point test answered 'point' without a point")
    x = _Param(x0, N, Ay, by, len(piv)).lift(y)
    # final exact check in the original coordinates
    if not all(_dot(e, x) == fi for e, fi in zip(can.E, can.f)):
        return None
    if not all(_dot(a, x) < bi for a, bi in zip(can.A, can.b)):
        return None
    return x


def _axis_bounded(A: Mat, E: Mat, d: int) -> bool:
    """Whether the rows bound every coordinate from above and below: for each
    j, normals ``c e_j`` with ``c > 0`` and ``c < 0`` (or an equality along
    ``e_j``).  Then the set lies in a box (exact, no LP)."""
    up = [False] * d
    lo = [False] * d
    for rows, both in ((A, False), (E, True)):
        for a in rows:
            j = -1
            for i, v in enumerate(a):
                if v:
                    if j >= 0:
                        break
                    j = i
            else:
                if j >= 0:
                    if both or a[j] > 0:
                        up[j] = True
                    if both or a[j] < 0:
                        lo[j] = True
    return all(up) and all(lo)


def _cone_directions(d: int) -> list[Vec]:
    """``e_1 .. e_d`` and ``-(e_1 + .. + e_d)``: a cone with ``c . y <= 0`` for
    all of them is ``{0}`` (``y <= 0`` and ``sum y >= 0``)."""
    unit = [tuple(_ONE if i == j else _ZERO for i in range(d)) for j in range(d)]
    return unit + [(-_ONE,) * d]


def _recession_cone_is_zero(A: Mat, E: Mat, d: int) -> bool:
    """Exact: ``{y : A y <= 0, E y = 0} = {0}`` iff ``max c . y`` over the cone
    cut by the box ``|y_i| <= 1`` is 0 for the d + 1 directions of
    :func:`_cone_directions` (any positive optimum is a nonzero ray)."""
    unit = _cone_directions(d)[:d]
    Ab = tuple(A) + tuple(unit) + tuple(tuple(-v for v in u) for u in unit)
    bb = (_ZERO,) * len(A) + (_ONE,) * (2 * d)
    f0 = (_ZERO,) * len(E)
    for c in _cone_directions(d):
        value, _ = _optimum(get_backend().lp(Ab, bb, E, f0, c, d), "recession cone LP")
        if value > 0:
            return False
    return True


@_proposal(False)
def _fast_cone_pointed_zero(A: Mat, E: Mat, d: int) -> bool:
    """True when float multipliers, converted and checked exactly, prove
    ``{y : A y <= 0, E y = 0} = {0}`` (fast path; False proves nothing).

    For each direction c of :func:`_cone_directions` a float LP proposes
    ``u >= 0``, ``v`` with ``c = A^T u + E^T v + r``; exactly, ``c . y <=
    eps_c |y|_inf`` on the cone with ``eps_c = |r|_1``.  If ``mu = |y|_inf``
    is some ``y_j`` then ``mu <= eps_j mu``; if it is ``-y_j``, summing gives
    ``mu (1 - (d - 1) eps_max - eps_0) <= 0``.  So ``y = 0`` when
    ``eps_max < 1`` and ``(d - 1) eps_max + eps_0 < 1``.
    """
    import numpy as np
    from gmpy2 import mpq

    if d == 0:
        return True
    rows = [_primitive(a) for a in A if any(a)] + [_primitive(e) for e in E if any(e)]
    nA = sum(1 for a in A if any(a))
    if not rows:
        return False
    F, exps = scaled_float_rows(rows)
    if not np.isfinite(F).all():
        return False
    bounds = [(0, None)] * nA + [(None, None)] * (len(rows) - nA)
    eps = []
    for c in _cone_directions(d):
        res = _linprog(np.zeros(len(rows)), A_eq=F.T, b_eq=np.array([float(v) for v in c]),
                       bounds=bounds)
        if res is None or res.status != 0 or not np.isfinite(res.x).all():
            return False
        lam = {}
        for p, v in enumerate(res.x.tolist()):
            if v and (p >= nA or v > 0):  # u >= 0 (exactly) on the inequalities
                lam[p] = mpq(*float(v).as_integer_ratio()) * mpq(2) ** (-exps[p])
        r = [mpq(v.numerator, v.denominator) for v in c]
        for p, l in lam.items():
            for j, a in enumerate(rows[p]):
                if a:
                    r[j] -= l * a
        eps.append(sum(abs(v) for v in r))
    top = max(eps[:d])
    return top < 1 and (d - 1) * top + eps[d] < 1


def _make_param(A: Mat, b: Vec, E: Mat, f: Vec, d: int) -> Optional["_Param"]:
    """Restrict A x <= b to {E x = f} = {x0 + N^T y}; None if E x = f is inconsistent."""
    if not E:  # the common case: y = x, nothing to substitute
        ident = tuple(tuple(_ONE if i == j else _ZERO for j in range(d)) for i in range(d))
        return _Param((_ZERO,) * d, ident, A, b, 0)
    par = _affine_hull_param(E, f, d)
    if par is None:
        return None
    x0, N, _, piv = par
    Ay, by = substitute(A, b, x0, N)  # rows a . n and b - a . x0
    return _Param(x0, N, Ay, by, len(piv))


class _Param(NamedTuple):
    x0: Vec
    N: Mat
    Ay: Mat
    by: Vec
    rank: int

    def lift(self, y: Vec) -> Vec:
        """x = x0 + N^T y."""
        if self.rank == 0:  # no equalities: N is the identity and x0 = 0
            return tuple(y)
        return tuple(self.x0[j] + sum((yi * n[j] for yi, n in zip(y, self.N) if yi), _ZERO)
                     for j in range(len(self.x0)))


class _Quick(NamedTuple):
    kind: str  # "point", "relint", "flat" or "empty"
    x: Optional[Vec]
    y: Optional[Vec]
    rank: int
    par: Optional[_Param] = None  # y-space of the final strict point
    rows: tuple = ()  # raw inequality rows, aligned with par.Ay
    implicit: tuple = ()  # raw inequality rows found to be implicit equalities


def _strict_point(Ay: Mat, by: Vec, k: int, floats: bool
                  ) -> tuple[str, Optional[Vec], Optional[Vec]]:
    """Decide {y : Ay y <= by} exactly: ("point", y strict), ("flat", y) or ("empty", None).

    Floats (if asked) propose a Chebyshev centre first; the exact fallback is
    one LP: max t  s.t.  Ay y + t <= by,  t <= 1.  Its optimum t* is > 0 iff a
    strict point exists, < 0 iff the system is empty, and 0 iff it is
    nonempty with an implicit equality.  The third entry, for "flat", is an
    exactly verified multiplier vector u >= 0 with u^T Ay = 0, sum u = 1,
    u^T by = 0 (or None): every row with u_i > 0 is an implicit equality,
    since sum u_i (by_i - Ay_i y) = 0 for every feasible y.
    """
    if k == 0:
        if all(v > 0 for v in by):
            return "point", (), None
        if any(v < 0 for v in by):
            return "empty", None, None
        zero = [i for i, v in enumerate(by) if v == 0]
        return "flat", (), tuple(Fraction(int(i in zero), len(zero)) for i in range(len(by)))
    if not Ay:
        return "point", (_ZERO,) * k, None
    if floats:
        y = _fast_strict_point(Ay, by, k)
        _STATS["interior.fast_ok" if y is not None else "interior.fast_fail"] += 1
        if y is not None:
            log.debug("fast path: float Chebyshev centre verified as a strict point")
            return "point", y, None
    _STATS["interior.exact_lp"] += 1
    At = tuple(tuple(a) + (_ONE,) for a in Ay) + ((_ZERO,) * k + (_ONE,),)
    bt = tuple(by) + (_ONE,)
    res = get_backend().lp(At, bt, (), (), (_ZERO,) * k + (_ONE,), k + 1)
    if res.status != "optimal":
        raise BackendError(f"the Chebyshev LP is always feasible and bounded, "
                           f"but the backend says {res.status}")
    t, opt = _optimum(res, "Chebyshev LP")
    y = opt[:k]
    if t < 0:
        return "empty", None, None
    if t == 0:
        if not all(w <= v for w, v in zip(matvec(Ay, y), by)):
            raise BackendError("backend LP point violates the constraints")
        u = res.dual[: len(Ay)] if res.dual is not None else None
        if u is not None and not (
                all(v >= 0 for v in u) and sum(u) == 1 and _dot(u, by) == 0
                and not any(matvec(transpose(Ay), u))):  # u^T Ay = 0
            u = None  # not a valid certificate: the caller falls back to cdd
        return "flat", y, u
    if not all(w < v for w, v in zip(matvec(Ay, y), by)):
        raise BackendError("backend LP point is not strictly inside")
    return "point", y, None


def _lp_irredundant(Ay: Mat, by: Vec, y0: Vec, floats: bool,
                    float_canon: bool = False) -> list[int]:
    """Indices of the irredundant rows of {y : Ay y <= by}, given a strict point y0.

    Every row of the answer is certified by a point violating it alone, every
    other row by an exact LP optimum or exact multipliers (or by being a zero
    row / a weaker parallel copy).  Among parallel copies of one facet the
    first is kept.  ``float_canon``: float LPs propose first
    (:func:`_fast_irredundant`); the exact LPs decide what they leave.
    """
    from gmpy2 import mpq  # exact rationals, faster than Fraction in the hot loops

    m, k = len(Ay), len(y0)
    A = [[mpq(v.numerator, v.denominator) for v in row] for row in Ay]
    b = [mpq(v.numerator, v.denominator) for v in by]
    y = [mpq(v.numerator, v.denominator) for v in y0]
    slack = [bi - sum(a * yj for a, yj in zip(row, y)) for row, bi in zip(A, b)]
    status: list[Optional[bool]] = [None] * m  # True facet, False redundant
    # zero rows (0 <= b_i with b_i > 0) and weaker parallel copies are redundant
    best: dict = {}
    for i, row in enumerate(A):
        if not any(row):
            status[i] = False
            continue
        g = _primitive(Ay[i])
        j0 = next(j for j in range(k) if row[j])
        offset = b[i] * g[j0] / row[j0]  # row = s * g with s > 0; offset = b / s
        if g in best:
            other, off = best[g]
            if offset < off:
                status[other] = False
                best[g] = (i, offset)
            else:
                status[i] = False
        else:
            best[g] = (i, offset)
    alive = [i for i in range(m) if status[i] is None]
    if float_canon and alive and k:
        got = _fast_irredundant([_primitive(tuple(Ay[i]) + (by[i],)) for i in alive], y0)
        for p, st in got.items():
            status[alive[p]] = st
        _STATS["canon.fast_ok"] += len(got)
        if len(got) < len(alive):
            _STATS["canon.fast_fail"] += len(alive) - len(got)
        log.debug("fast path: float LPs proposed the status of %d of %d rows, "
                  "certified exactly", len(got), len(alive))
    # Ray shooting from y0 along a row's normal: the unique first row hit is a
    # facet.  Each shot costs O(m k) exact operations, so only the rows closest
    # to y0 shoot (the float distance only orders the shots, it decides nothing).
    todo = [i for i in alive if status[i] is None]
    shooters = sorted(todo, key=lambda i: _float_distance(slack[i], A[i]))[: max(40, 4 * k)]
    live = [j for j in alive if status[j] is not False]  # a redundant row is never hit first
    for i in shooters:
        u = A[i]
        first, tie, smin = None, False, None
        for j in live:
            den = sum(a * c for a, c in zip(A[j], u))
            if den > 0:
                s = slack[j] / den
                if smin is None or s < smin:
                    first, tie, smin = j, False, s
                elif s == smin:
                    tie = True
        if first is not None and not tie:
            status[first] = True
    facets = [i for i in alive if status[i]]
    undecided = [i for i in alive if status[i] is None]
    if k <= _VERTEX_FILTER_MAX_DIM and facets and len(undecided) > 2 * len(facets):
        # Many rows left: the generators of {rows in facets} (a superset of P)
        # decide most of them at once -- a row holding on every generator is
        # implied by the facet rows, hence redundant (Minkowski-Weyl).
        Fa = tuple(Ay[j] for j in facets)
        Fb = tuple(by[j] for j in facets)
        V, R, L = get_backend().generators(Fa, Fb, (), (), k)
        Vq = [[mpq(v.numerator, v.denominator) for v in g] for g in V]
        Rq = [[mpq(v.numerator, v.denominator) for v in g] for g in R]
        Lq = [[mpq(v.numerator, v.denominator) for v in g] for g in L]
        for i in undecided:
            a = A[i]
            if all(sum(x * y for x, y in zip(a, v)) <= b[i] for v in Vq) and \
                    all(sum(x * y for x, y in zip(a, r)) <= 0 for r in Rq) and \
                    all(sum(x * y for x, y in zip(a, l)) == 0 for l in Lq):
                status[i] = False
    # Clarkson-style LPs for the rows not yet decided
    for i in alive:
        if status[i] is not None:
            continue
        S = list(facets)
        while True:
            rows = tuple(Ay[j] for j in S) + (Ay[i],)
            rhs = tuple(by[j] for j in S) + (by[i] + 1,)  # cap keeps the LP bounded
            value, point = _optimum(_exact_lp(rows, rhs, Ay[i], k, floats), "redundancy LP")
            if value <= by[i]:
                status[i] = False  # implied by rows S (all distinct from i)
                break
            x = [mpq(v.numerator, v.denominator) for v in point]
            worst, wval = None, mpq(0)
            for j in alive:
                if j == i or status[j] is False:
                    continue
                viol = sum(a * c for a, c in zip(A[j], x)) - b[j]
                if viol > wval:
                    worst, wval = j, viol
            if worst is None:
                status[i] = True  # x violates row i only: a facet
                facets.append(i)
                break
            S.append(worst)
    return [i for i in range(m) if status[i]]


def _float_distance(slack: Any, row: Sequence) -> float:
    """Float estimate of slack / |row| -- used to order work only, never to decide."""
    try:
        norm = math.sqrt(sum(float(a) ** 2 for a in row))
        out = float(slack) / norm if norm > 0 else math.inf
    except (OverflowError, ZeroDivisionError):  # float estimate only
        return math.inf
    return out if out == out else math.inf  # NaN (inf/inf) sorts last


def _exact_lp(A: Mat, b: Vec, c: Vec, d: int, floats: bool) -> LPResult:
    """max c x s.t. A x <= b, known feasible and bounded: float proposal or backend."""
    if floats:
        res, _ = _fast_lp(A, b, (), (), c, d)
        _STATS["lp.fast_ok" if res is not None else "lp.fast_fail"] += 1
        if res is not None:
            return res
    res = get_backend().lp(A, b, (), (), c, d)
    if res.status != "optimal":
        raise BackendError(f"redundancy LP is feasible and bounded, backend says {res.status}")
    return res


def _optimum(res: LPResult, what: str) -> tuple[Fraction, Vec]:
    """Value and point of an LP result that must be optimal (backend contract)."""
    if res.status != "optimal" or res.value is None or res.point is None:
        raise BackendError(f"{what}: expected an optimal value and point, got {res!r}")
    return res.value, res.point


def _affine_rank(ids: Sequence[int], V: Mat) -> int:
    ids = list(ids)
    if not ids:
        return -1
    v0 = V[ids[0]]
    rows = [[a - b for a, b in zip(V[i], v0)] for i in ids[1:]]
    if not rows:
        return 0
    return rank(rows)


def _triangulate(face: frozenset, k: int, facet_sets: list, V: Mat) -> list[tuple[int, ...]]:
    """Pulling triangulation of a k-dimensional face given by its vertex ids."""
    if k == 0:
        return [(min(face),)]
    if len(face) == k + 1:
        return [tuple(sorted(face))]
    v0 = min(face)
    out = []
    seen = set()
    for S in facet_sets:
        sub = S & face
        if v0 in sub or sub in seen or len(sub) < k:
            continue
        seen.add(sub)
        if _affine_rank(sub, V) != k - 1:
            continue
        for simplex in _triangulate(sub, k - 1, facet_sets, V):
            out.append((v0,) + simplex)
    return out
