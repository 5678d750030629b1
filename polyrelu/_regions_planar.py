"""Private helper of :mod:`polyrelu.regions`: the fast engine's splitter for
bounded 1-D domains (intervals with exact endpoints).

A 1-D cell is an interval ``[lo, hi]`` with exact homogeneous ends
``(X, W)``.  The signs of a neuron at the ends are *filtered*: the float
shadow of the node's map (:mod:`polyrelu._regions_maps`) decides a sign when
``|value| > bound`` (rigorous bound); otherwise the exact integer row
decides.  A neuron with opposite strict signs at the ends cuts the interval
at its exact root.  (2-D to 6-D domains use the float-first V-polytopes of
:mod:`polyrelu._regions_frontier`.)
"""

from __future__ import annotations

from fractions import Fraction
from math import inf as _INF

import numpy as np

from ._regions_maps import TINY, IntNet, Node, U

__all__ = ["IntervalSplitter", "interval_interior_point"]

_RV = 2.0 * U   # float(X / W) is correctly rounded: relative error <= u (x2 safe)


def _to_float(n: int, d: int) -> float:
    try:
        return n / d  # Python int true division: correctly rounded
    except OverflowError:
        return float("nan")  # never passes a filter test: exact path decides


# ---------------------------------------------------------------- 1-D
class IntervalSplitter:
    """Split 1-D cells (intervals ``[lo, hi]``, exact homogeneous ends)."""

    def __init__(self, inet: IntNet, stats: dict, check=lambda: None) -> None:
        self.check = check
        self.inet = inet
        self.stats = stats
        self.ts = inet.thresholds

    def _sign(self, node, i, t, pt, val, bnd) -> int:
        s = val - t
        if bnd + TINY < abs(s) * (1.0 - 4 * U) < _INF:
            return 1 if s > 0 else -1
        self.stats["exact_signs"] += 1
        m, c = node.exact_line(i, t)
        X, W = pt
        v = m[0] * X + c * W
        return (v > 0) - (v < 0)

    def split(self, node: Node, cell: tuple):
        inet, ts = self.inet, self.ts
        n = inet.widths[node.l]
        lo, hi = cell
        pts = [lo, hi]
        Vf = np.array([[_to_float(X, W)] for X, W in pts])
        vals, bnd = node.eval_float(Vf, _RV * np.abs(Vf) + TINY)
        cells = [([0] * n, lo, hi)]
        for i in range(n):
            self.check()
            new_cells = []
            for pcs, a, b in cells:
                todo = [(0, a, b)]
                done = []
                for t in ts:
                    nxt = []
                    for cnt, x, y in todo:
                        sx = self._pt_sign(node, i, t, x, lo, hi, vals, bnd)
                        sy = self._pt_sign(node, i, t, y, lo, hi, vals, bnd)
                        if max(sx, sy) <= 0 and min(sx, sy) < 0:
                            done.append((cnt, x, y))
                        elif min(sx, sy) >= 0 and max(sx, sy) > 0:
                            nxt.append((cnt + 1, x, y))
                        elif sx == 0 and sy == 0:
                            done.append((inet.constant_piece(Fraction(t)), x, y))
                        else:
                            self.stats["splits"] += 1
                            m, c = node.exact_line(i, t)
                            r = (-c, m[0]) if m[0] > 0 else (c, -m[0])
                            if sx > 0:
                                nxt.append((cnt + 1, x, r))
                                done.append((cnt, r, y))
                            else:
                                done.append((cnt, x, r))
                                nxt.append((cnt + 1, r, y))
                    todo = nxt
                done.extend(todo)
                for cnt, x, y in done:
                    p2 = list(pcs) if len(done) > 1 else pcs
                    p2[i] = cnt
                    new_cells.append((p2, x, y))
            cells = new_cells
        cells.reverse()   # one by one, dropping each (PlanarSplitter.split)
        while cells:
            pcs, a, b = cells.pop()
            yield pcs, (a, b)

    def _pt_sign(self, node, i, t, pt, lo, hi, vals, bnd):
        if pt is lo:
            return self._sign(node, i, t, pt, vals[0, i], bnd[0, i])
        if pt is hi:
            return self._sign(node, i, t, pt, vals[1, i], bnd[1, i])
        f = _to_float(*pt)
        v, b = node.eval_float(np.array([[f]]), np.array([[_RV * abs(f) + TINY]]), [i])
        return self._sign(node, i, t, pt, v[0, 0], b[0, 0])


def interval_interior_point(cell: tuple) -> tuple[Fraction]:
    (X1, W1), (X2, W2) = cell
    a, b = Fraction(X1, W1), Fraction(X2, W2)
    fa, fb = _to_float(X1, W1), _to_float(X2, W2)
    m = (fa + fb) / 2
    if np.isfinite(m):
        fm = Fraction(m)
        for D in (1, 16, 1024, 1 << 20):
            x = fm.limit_denominator(D)
            if a < x < b:
                return (x,)
        if a < fm < b:
            return (fm,)
    return ((a + b) / 2,)
