"""Rigorous float64 arithmetic for the bounds: midpoint-radius enclosures.

An *enclosure* of an exact array ``X`` is a pair of float arrays ``(m, r)``
with ``|X - m| <= r`` elementwise (``r >= 0``).  The bounds of
:mod:`polyrelu.bab.relax` are computed on enclosures of the exact quantities
the verifier (:mod:`polyrelu.bab.certificate`) recomputes in rationals, so a
float upper bound is always at least the exact one (Rump 1999, "Fast and
parallel interval arithmetic"; the error bounds of
``polyrelu._regions_maps``).

Error bounds (unit roundoff ``u = 2**-53``, ``g(n) = 4 (n + 6) u`` dominates
``gamma_{n+3}``):

* an exact rational ``w`` as a float: ``|fl(w) - w| <= u |fl(w)|`` (normal
  range), and 0 when ``w`` is a float already (every float is a dyadic
  rational);
* a product ``C = A B`` of enclosures: ``|C - fl(Am Bm)| <= |Am| Br + Ar
  (|Bm| + Br) + gamma_n |Am| |Bm|``; we store ``fl(|Am| (Br + g |Bm|) + Ar
  (|Bm| + Br)) (1 + g)`` (all terms are non-negative, so the rounding of the
  radius' own computation is covered by the factor ``1 + g``);
* a sum of ``n`` terms of any sign: ``|fl(sum) - sum| <= gamma_n sum |terms|``.

Underflow: relative error bounds fail when a product underflows.  Every
enclosure keeps the invariant that each nonzero midpoint and radius has
magnitude at least :data:`SMALL` ``= 2**-500`` (:func:`guard` moves smaller
midpoints into the radius and raises smaller radii to ``SMALL``); products of
such numbers are at least ``2**-1000``, in the normal range, and sums of
floats that are subnormal are exact -- so the relative bounds hold with no
absolute slack, and exactly zero quantities (the difference of two equal
subnetworks) stay exactly zero with radius zero.  Overflow: a non-finite
float is never accepted as a bound (callers test :func:`finite`).

>>> import numpy as np
>>> from fractions import Fraction
>>> m, r = exact_array([[Fraction(1, 3), 2]])
>>> bool(r[0, 0] > 0), float(r[0, 1])
(True, 0.0)
>>> C = matmul((m, r), (np.array([[3.0], [1.0]]), np.zeros((2, 1))))
>>> bool(abs(C[0][0, 0] - 3.0) <= C[1][0, 0])
True
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

import numpy as np

__all__ = ["U", "SMALL", "g", "guard", "exact_array", "matmul", "up", "down", "finite",
           "sum_up", "to_fraction_array", "outer_box", "box_max", "box_min"]

U = 2.0 ** -53
#: nonzero entries of an enclosure are at least this large (no underflow)
SMALL = 2.0 ** -500
_HUGE = 2.0 ** 1000


def g(n: int) -> float:
    """Generous relative error factor of a float sum of ``n`` products."""
    return 4.0 * (n + 6) * U


def guard(m: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The enclosure ``(m, r)`` with the invariant of the module docstring:
    nonzero ``|m| < SMALL`` moves into the radius, nonzero ``r < SMALL``
    becomes ``SMALL`` (both only enlarge the enclosure).  One reduction each
    when nothing is small (the usual case)."""
    am = np.abs(m)
    if np.min(am, where=am > 0, initial=np.inf) < SMALL:
        tiny = (am < SMALL) & (am > 0)
        r = r + np.where(tiny, am * 2.0, 0.0)
        m = np.where(tiny, 0.0, m)
    if np.min(r, where=r > 0, initial=np.inf) < SMALL:
        r = np.where((r < SMALL) & (r > 0), SMALL, r)
    return m, r


def exact_array(rows: Any) -> tuple[np.ndarray, np.ndarray]:
    """Enclosure of an exact rational array (nested lists of Fractions/ints).

    Entries beyond ``2**1000`` in magnitude get an infinite radius: no bound
    depending on them is accepted (they are decided by exact methods); the
    invariant of :func:`guard` holds.
    """
    flat = np.asarray(rows, dtype=object)
    shape = flat.shape
    m = np.empty(shape, dtype=float)
    r = np.zeros(shape, dtype=float)
    for idx, v in np.ndenumerate(flat):
        v = Fraction(v)
        try:
            f = float(v)
        except OverflowError:
            m[idx], r[idx] = 0.0, np.inf
            continue
        m[idx] = f
        if abs(f) > _HUGE:
            r[idx] = np.inf
        elif v != 0 and abs(f) < SMALL:
            m[idx], r[idx] = 0.0, SMALL
        elif Fraction(f) != v:
            r[idx] = 2.0 * U * abs(f)
    return guard(m, r)


def up(x: np.ndarray, n: int = 1) -> np.ndarray:
    """``x`` (non-negative, computed in float) inflated to cover its own rounding."""
    return x * (1.0 + g(n))


def matmul(A: tuple, B: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Enclosure of the exact product of two enclosures (module docstring)."""
    Am, Ar = A
    Bm, Br = B
    n = Am.shape[-1]
    Cm = Am @ Bm
    aB = np.abs(Bm)
    rad = np.abs(Am) @ (Br + g(n) * aB)
    if Ar is not None and np.any(Ar):
        rad = rad + Ar @ (aB + Br)
    return guard(Cm, up(rad, n + 2))


def finite(*xs: np.ndarray) -> bool:
    """Whether every entry of the arrays is finite."""
    return all(bool(np.all(np.isfinite(x))) for x in xs)


def sum_up(terms: np.ndarray, axis: int = -1) -> np.ndarray:
    """An upper bound of the exact sum of float ``terms`` (exact values, the
    products of guarded numbers) along ``axis``."""
    n = terms.shape[axis]
    s = terms.sum(axis=axis)
    return s + up(np.abs(terms).sum(axis=axis), n) * g(n)


def to_fraction_array(x: np.ndarray) -> list:
    """The exact values of a float array, as nested lists of Fractions."""
    return [Fraction(float(v)) for v in x.ravel()] if x.ndim == 1 else \
        [to_fraction_array(r) for r in x]


def down(x: float) -> float:
    """The next float below ``x`` (a safe lower bound of a value rounded to nearest)."""
    return float(np.nextafter(x, -np.inf))


def outer_box(lo: Sequence[Fraction], hi: Sequence[Fraction]) -> tuple[np.ndarray, np.ndarray]:
    """Float box ``[lo_f, hi_f]`` containing the exact box ``[lo, hi]`` (nonzero
    corners of magnitude below SMALL are pushed out to ``-SMALL`` / ``SMALL``)."""
    lf = np.array([float(v) for v in lo])
    hf = np.array([float(v) for v in hi])
    for i, (a, b) in enumerate(zip(lo, hi)):
        if Fraction(lf[i]) > a:
            lf[i] = np.nextafter(lf[i], -np.inf)
        if Fraction(hf[i]) < b:
            hf[i] = np.nextafter(hf[i], np.inf)
        if 0 < abs(lf[i]) < SMALL:
            lf[i] = -SMALL if lf[i] < 0 else 0.0
        if 0 < abs(hf[i]) < SMALL:
            hf[i] = SMALL if hf[i] > 0 else 0.0
    return lf, hf


def box_max(F: tuple, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Upper bounds of ``max_{t in box} a . t + a_0`` for every row ``(a, a_0)``
    of an enclosure ``F`` of exact linear functions (last column: constant)."""
    m, r = F
    am, ar = m[:, :-1], r[:, :-1]
    a_lo, a_hi = am - ar, am + ar
    t = np.maximum(np.maximum(a_lo * lo, a_lo * hi), np.maximum(a_hi * lo, a_hi * hi))
    terms = np.concatenate([t, (m[:, -1] + r[:, -1])[:, None]], axis=1)
    return sum_up(terms, axis=1)


def box_min(F: tuple, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Lower bounds of ``min_{t in box}`` of the functions of :func:`box_max`."""
    m, r = F
    return -box_max((-m, r), lo, hi)
