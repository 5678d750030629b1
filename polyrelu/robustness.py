"""The exact local robustness radius of a classifier: ``pr.robustness_radius``.

The radius at ``x`` (class ``c = argmax f(x)``) is the distance from ``x``
to the closed set ``S = {z in D : f_j(z) >= f_c(z) for some j != c}`` (ties
count as a change): every point closer than it keeps the class ``c``, and the
returned *witness* -- a rational point of ``S`` at exactly that distance, a
tie of ``f_c`` and ``f_j`` checked by exact evaluation -- shows no larger
radius is true.

How (``l_inf`` and ``l_1``):

1. *bisection with bound-and-split*: on the box of radius ``r`` around ``x``
   (cut to the domain) ``polyrelu.bab.decide`` proves that no point of ``S``
   lies in it (``r < radius``: a certified lower bound) or returns an exact
   point of ``S`` (an upper bound);
2. *exact LP in the region of each witness*: on an activation region the
   network is affine, so the nearest point of ``S`` in it is a linear
   program (variables ``(z, t)``: ``|z_i - x_i| <= t`` for ``l_inf``,
   ``sum s_i`` with ``s_i >= |z_i - x_i|`` for ``l_1``), solved exactly
   (:meth:`~polyrelu.polyhedron.Polyhedron.maximize`);
3. *certification*: the activation regions of the box of the best upper
   radius (which holds the ball of either norm) are enumerated and each gets
   its LP; their minimum is the radius.  When a limit stops this step the
   result keeps the certified bounds of step 1-2 and ``exact`` is False.

For ``l_2`` the radius is the square root of a rational in general; the
result gives certified bounds (``lower`` from the boxes, which contain the
``l_2`` balls; ``upper`` a rational above the witness's distance, exactly
``upper_squared``) and ``exact`` False.

>>> import polyrelu as pr
>>> net = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]),
...                                ([[1, 0], [0, 1]], [0, 0])])   # classes: relu(x_0), relu(x_1)
>>> r = robustness_radius(net, ["1", "0"])
>>> r.radius, r.witness, r.exact
(Fraction(1, 2), (Fraction(1, 2), Fraction(1, 2)), True)
>>> robustness_radius(net, ["1", "0"], norm="l1").radius
Fraction(1, 1)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

from .exceptions import DomainError, NetworkError
from .network import Network
from .numbers import to_vector

__all__ = ["RobustnessResult", "robustness_radius"]

NORMS = ("linf", "l1", "l2")
#: bisection steps at most (each one ``decide`` on a box)
MAX_BISECTIONS = 40
#: the first box tried has this radius times the domain's (or 1) extent
FIRST_RADIUS = Fraction(1, 16)
#: exact LPs for the witnesses' regions up to this input dimension (else a
#: float LP proposes and exact evaluation checks its point)
EXACT_LP_DIM = 8


@dataclass(frozen=True)
class RobustnessResult:
    """The outcome of :func:`robustness_radius`.

    Attributes
    ----------
    radius : Fraction or None
        The exact radius (``exact``), else None; None also when the class
        never changes on the domain (``witness`` None, ``lower`` the domain's extent).
    radius_float : float
        ``radius`` (or the midpoint of the bounds) as a float, for reading.
    lower, upper : Fraction or None
        Certified bounds: ``lower < radius <= upper`` (``lower <= radius`` when
        exact, equal to it).  For ``l2``, ``upper_squared`` is the exact square of
        the witness's distance and ``upper`` a rational above its root.
    witness : tuple of Fraction or None
        A point where the argmax changes (a tie or another class winning),
        at distance ``upper`` (``upper_squared`` for ``l2``).
    label : int
        The class at ``x``; ``witness_class`` the one that ties or wins at the witness.
    """

    radius: Optional[Fraction]
    radius_float: float
    lower: Optional[Fraction]
    upper: Optional[Fraction]
    witness: Optional[tuple]
    label: int
    witness_class: Optional[int]
    norm: str
    exact: bool
    partial: bool = False
    reason: Optional[str] = None
    upper_squared: Optional[Fraction] = None
    stats: dict = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict:
        from .numbers import fraction_str

        def fs(v: Any) -> Any:
            return None if v is None else fraction_str(v)

        return {"norm": self.norm, "label": self.label, "exact": self.exact,
                "radius": fs(self.radius), "radius_float": self.radius_float,
                "lower": fs(self.lower), "upper": fs(self.upper),
                "upper_squared": fs(self.upper_squared),
                "witness": None if self.witness is None else [fs(v) for v in self.witness],
                "witness_class": self.witness_class, "partial": self.partial,
                "reason": self.reason,
                "stats": {k: v for k, v in self.stats.items()
                          if isinstance(v, (int, float, str))}}


def _dist(z: Any, x: Any, norm: str) -> Fraction:
    d = [abs(a - b) for a, b in zip(z, x)]
    if norm == "linf":
        return max(d)
    if norm == "l1":
        return sum(d, Fraction(0))
    return sum((v * v for v in d), Fraction(0))          # l2: squared


def _sqrt_above(q: Fraction, bits: int = 40) -> Fraction:
    """A rational ``>= sqrt(q)`` within ``2^-bits`` of it."""
    s = 1 << bits
    p = math.isqrt(math.ceil(q * s * s))
    while Fraction(p, s) ** 2 < q:
        p += 1
    return Fraction(p, s)


def _changed(y: tuple, c: int) -> Optional[int]:
    """A class ``j != c`` with ``y_j >= y_c`` (exact), or None."""
    for j, v in enumerate(y):
        if j != c and v >= y[c]:
            return j
    return None


class _Search:
    """The state of one radius search (see the module docstring)."""

    def __init__(self, net: Network, x: tuple, c: int, norm: str, dom: Any,
                 deadline: Optional[float], max_cells: Optional[int]) -> None:
        from .bab import make_problem, output_constraints

        self.net, self.x, self.c, self.norm = net, x, c, norm
        self.dom = dom                       # (lo, hi) box or None
        self.deadline, self.max_cells = deadline, max_cells
        m = net.output_dim
        rows = []
        for j in range(m):
            if j != c:
                row = [Fraction(0)] * m
                row[c], row[j] = Fraction(1), Fraction(-1)
                rows.append(([row], [Fraction(0)]))           # unsafe: f_c - f_j <= 0
        self.problem = make_problem(net, None, output_constraints(rows, m))
        self.best: Optional[tuple] = None    # (distance, point, class)
        self.stats: dict = {"decides": 0, "cells": 0, "lps": 0, "regions": 0}

    def remaining(self) -> Optional[float]:
        return None if self.deadline is None else self.deadline - time.time()

    def offer(self, z: tuple) -> None:
        j = _changed(tuple(self.net(z)), self.c)
        if j is None:
            return
        dz = _dist(z, self.x, self.norm)
        if self.best is None or dz < self.best[0]:
            self.best = (dz, z, j)

    def box(self, r: Fraction) -> tuple:
        lo = [v - r for v in self.x]
        hi = [v + r for v in self.x]
        if self.dom is not None:
            lo = [max(a, b) for a, b in zip(lo, self.dom[0])]
            hi = [min(a, b) for a, b in zip(hi, self.dom[1])]
        return tuple(lo), tuple(hi)

    def decide(self, r: Fraction) -> str:
        from .bab import decide

        rem = self.remaining()
        if rem is not None and rem <= 0:
            return "unknown"
        res = decide(self.problem, self.box(r), time_limit=rem, max_cells=self.max_cells)
        self.stats["decides"] += 1
        self.stats["cells"] += res.stats.get("cells", 0)
        if res.verdict == "violated":
            assert res.counterexample is not None
            z = tuple(res.counterexample)
            self.offer(z)
            self.refine(z)
        return res.verdict

    def refine(self, z: tuple) -> None:
        """The nearest point of ``S`` on the closed pattern polyhedron of ``z``
        (where the network is the pattern's affine map): exact LP in low
        dimension, else a float LP whose point, pushed a hair past the
        boundary along the ray from ``x``, is checked exactly."""
        from .regions import _piece_rows

        pat = self.net.pattern(z)
        maps = self.net.layer_maps(pat)
        A: list = []
        b: list = []
        for l, pieces in enumerate(pat):
            M, c = maps[l]
            for i, piece in enumerate(pieces):
                if any(M[i]):
                    for row, rhs in _piece_rows(self.net, M[i], c[i], piece):
                        A.append(tuple(row))
                        b.append(rhs)
        M, m0 = maps[-1]
        self.region_lp(A, b, M, m0, exact=len(self.x) <= EXACT_LP_DIM)

    def _rows(self, A: list, b: list) -> tuple:
        d = len(self.x)
        k = 1 if self.norm == "linf" else d           # the distance variables
        zero = [Fraction(0)] * k
        rows = [list(r) + zero for r in A]
        rhs = list(b)
        if self.dom is not None:
            for i in range(d):
                for s, v in ((1, self.dom[1][i]), (-1, -self.dom[0][i])):
                    row = [Fraction(0)] * (d + k)
                    row[i] = Fraction(s)
                    rows.append(row)
                    rhs.append(v)
        for i in range(d):
            for s in (1, -1):
                row = [Fraction(0)] * (d + k)
                row[i] = Fraction(s)
                row[d + (0 if k == 1 else i)] = Fraction(-1)
                rows.append(row)
                rhs.append(s * self.x[i])
        return rows, rhs, k

    def region_lp(self, A: list, b: list, M: Any, m0: Any, exact: bool = True) -> None:
        """For each class ``j != c``: the nearest point of ``{f_j >= f_c}`` in
        ``{A z <= b}`` where ``f = M z + m0``."""
        from .polyhedron import Polyhedron

        d = len(self.x)
        rows, rhs, k = self._rows(A, b)
        zero = [Fraction(0)] * k
        obj = [Fraction(0)] * d + [Fraction(-1)] * k
        c = self.c
        for j in range(len(M)):
            if j == c:
                continue
            rem = self.remaining()
            if rem is not None and rem <= 0:
                return
            mr = [M[c][i] - M[j][i] for i in range(d)] + zero     # f_c - f_j <= 0
            self.stats["lps"] += 1
            if exact:
                res = Polyhedron.from_inequalities(rows + [mr], rhs + [m0[j] - m0[c]]
                                                   ).maximize(obj)
                if res.status == "optimal" and res.point is not None:
                    self.offer(tuple(res.point[:d]))
                continue
            zf = _float_lp(rows + [mr], rhs + [m0[j] - m0[c]], obj)
            if zf is None:
                continue
            zq = [Fraction(v) for v in zf[:d]]
            for e in (30, 20, 12, 6):
                t = 1 + Fraction(1, 2 ** e)
                zt = tuple(xi + t * (zi - xi) for xi, zi in zip(self.x, zq))
                if self.dom is None or all(lo <= v <= hi for v, lo, hi in
                                           zip(zt, *self.dom)):
                    before = self.best
                    self.offer(zt)
                    if self.best is not before:
                        break


def _float_lp(rows: list, rhs: list, obj: list) -> Optional[list]:
    """A float LP optimum of ``max obj . v`` s.t. ``rows v <= rhs`` (a proposal)."""
    import numpy as np
    from scipy.optimize import linprog

    A = np.array([[float(v) for v in r] for r in rows])
    bb = np.array([float(v) for v in rhs])
    res = linprog(-np.array([float(v) for v in obj]), A_ub=A, b_ub=bb,
                  bounds=[(None, None)] * len(obj), method="highs")
    return list(res.x) if res.status == 0 else None


def robustness_radius(net: Network, x: Any, norm: str = "linf", domain: Any = None, *,
                      time_limit: Optional[float] = None, max_cells: Optional[int] = None,
                      max_regions: Optional[int] = None) -> RobustnessResult:
    """The exact robustness radius of ``net``'s argmax at ``x`` (module docstring).

    Parameters
    ----------
    net : Network
        A classifier (at least 2 outputs).
    x : sequence
    norm : {"linf", "l1", "l2"}
    domain : box, optional
        ``(lo, hi)`` or a box Polyhedron containing ``x``; the ball is cut to it.
    time_limit : float, optional
        Seconds for the whole search; ``max_cells`` per bound-and-split run,
        ``max_regions`` for the certifying enumeration.

    Returns
    -------
    RobustnessResult
    """
    from .bab.driver import as_box

    if not isinstance(net, Network):
        raise NetworkError(f"robustness_radius: expected a Network, got {type(net).__name__}")
    if norm not in NORMS:
        raise DomainError(f"unknown norm {norm!r}; choose from {', '.join(NORMS)}")
    if net.output_dim < 2:
        raise NetworkError("robustness_radius needs a classifier with at least 2 outputs")
    xv = to_vector(x, "x")
    if len(xv) != net.input_dim:
        raise DomainError(f"x has {len(xv)} coordinates, the network has {net.input_dim} "
                          f"inputs")
    dom = None if domain is None else as_box(domain, net.input_dim)
    if dom is not None and not all(a <= v <= b for v, a, b in zip(xv, *dom)):
        raise DomainError("x lies outside the domain")
    t0, c0 = time.time(), time.process_time()
    deadline = None if time_limit is None else t0 + float(time_limit)
    y = tuple(net(xv))
    c = max(range(len(y)), key=lambda j: (y[j], -j))
    S = _Search(net, xv, c, norm, dom, deadline, max_cells)

    def result(exact: bool, lower: Optional[Fraction], reason: Optional[str] = None
               ) -> RobustnessResult:
        S.stats["wall"] = time.time() - t0
        S.stats["cpu"] = time.process_time() - c0
        if S.best is None:
            lv = float(lower) if lower is not None else math.inf
            return RobustnessResult(None, lv if reason is None else math.nan, lower, None,
                                    None, c, None, norm, reason is None and exact,
                                    reason is not None, reason, None, S.stats)
        dz, z, j = S.best
        up = _sqrt_above(dz) if norm == "l2" else dz
        if exact and norm != "l2":
            return RobustnessResult(dz, float(dz), dz, dz, z, c, j, norm, True, False, None,
                                    None, S.stats)
        mid = (float(lower or 0) + float(up)) / 2
        return RobustnessResult(None, mid, lower, up, z, c, j, norm, False, reason is not None,
                                reason, dz if norm == "l2" else None, S.stats)

    if _changed(y, c) is not None:                    # a tie at x itself
        S.offer(xv)
        return result(True, Fraction(0))
    # 1. a first witness: grow the box until bound-and-split finds a change
    extent = Fraction(1) if dom is None else max(b - a for a, b in zip(*dom))
    r = FIRST_RADIUS * extent
    lower = Fraction(0)
    while S.best is None:
        v = S.decide(r)
        if v == "unknown":
            return result(False, lower, "a limit stopped bound-and-split")
        if v == "holds":
            lower = r
            if dom is not None and S.box(r) == dom:
                return result(True, lower)            # the class never changes on D
            if dom is None and r > 2 ** 40:
                return result(False, lower, "no change of class found up to 2^40")
            r *= 2
    # 2. bisection between the certified lower radius and the witness
    # (boxes: a box of radius r holds every ball of radius r, so "holds" is a
    # lower bound for each norm; "violated" gives a witness, and the next box
    # is smaller even when its distance in l1 / l2 is not)
    reason = None
    top = _dist(S.best[1], xv, "linf")
    for _ in range(MAX_BISECTIONS):
        if top - lower <= top / 2 ** 20:
            break
        mid = lower + (top - lower) / 2
        mid = Fraction(math.floor(mid * 2 ** 30), 2 ** 30) if mid > 2 ** -25 else mid
        if mid <= lower:
            break
        v = S.decide(mid)
        if v == "holds":
            lower = mid
        elif v == "violated":
            top = min(mid, S.best[0]) if norm == "linf" else mid   # the witness's box
        else:
            reason = "a limit stopped the bisection"
            break
    if norm == "l2" or reason is not None:
        return result(False, lower, reason or "l2: certified bounds (the radius is the "
                                              "root of a rational)")
    # 3. certify: the LP in every activation region of the box of the best radius
    from .polyhedron import Polyhedron
    from .regions import regions

    rem = S.remaining()
    if rem is not None and rem <= 0:
        return result(False, lower, "time limit reached before the certifying enumeration")
    it = regions(net, Polyhedron.box(*S.box(S.best[0])), max_regions=max_regions,
                 time_limit=rem)
    for reg in it:
        S.stats["regions"] += 1
        S.region_lp([c[0] for c in reg.constraints], [c[1] for c in reg.constraints],
                    *reg.affine_map)
    if getattr(it, "partial", False):
        return result(False, lower, f"certifying enumeration stopped: {it.reason}")
    return result(True, lower)
