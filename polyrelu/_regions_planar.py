"""Private helper of :mod:`polyrelu.regions`: the fast engine for bounded 1-D and
2-D domains, with an exact V-representation of every cell.

A 2-D cell is a convex polygon: vertices in counter-clockwise order, each an
exact point in homogeneous integer coordinates ``(X, Y, W)`` (``W > 0``), and
for each edge the integer line ``a x + b y + c`` that is positive inside.
Splitting a cell by a hyperplane ``h`` is exact polygon clipping: the signs of
``h`` at the vertices decide (a cut needs one vertex strictly on each side),
and each new vertex is the exact intersection of the crossed edge's line with
``h`` (Cramer's rule on integers, so coordinates never grow with depth).

Vertex signs are *filtered*: the float shadow of the node's map is evaluated
at all vertices for all neurons at once (numpy), and a sign is accepted when
``|value| > bound`` (rigorous bound, see :mod:`polyrelu._regions_maps`).  Only
undecided signs, and the lines of hyperplanes that really cut a cell, use the
exact integer rows.  1-D cells are intervals with exact endpoints.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cmp_to_key
from math import inf as _INF
from typing import Any

import numpy as np

from ._regions_maps import TINY, IntNet, Node, U, _g

__all__ = [
    "Vertex",
    "PlanarSplitter",
    "IntervalSplitter",
    "polygon_from_domain",
    "polygon_interior_point",
    "interval_interior_point",
]

_SHRINK = 1.0 - 4 * U  # |s| (1 - 4u) > bound: subtracting t adds <= u |s| (float)
_RV = 2.0 * U   # float(X / W) is correctly rounded: relative error <= u (x2 safe)


def _int_row(coeffs) -> list[int]:
    """Scale a row of Fractions by the lcm of its denominators (positive)."""
    L = 1
    for v in coeffs:
        den = Fraction(v).denominator
        L = L * den // _gcd(L, den)
    return [int(Fraction(v) * L) for v in coeffs]


def _gcd(a: int, b: int) -> int:
    from math import gcd

    return gcd(a, b)


def _to_float(n: int, d: int) -> float:
    try:
        return n / d  # Python int true division: correctly rounded
    except OverflowError:
        return float("nan")  # never passes a filter test: exact path decides


class Vertex:
    """An exact 2-D point ``(X / W, Y / W)`` with its float shadow."""

    __slots__ = ("X", "Y", "W", "fx", "fy", "tag", "vals", "bnds")

    def __init__(self, X: int, Y: int, W: int) -> None:
        if W < 0:
            X, Y, W = -X, -Y, -W
        self.X, self.Y, self.W = X, Y, W
        self.fx = _to_float(X, W)
        self.fy = _to_float(Y, W)
        self.tag = None
        self.vals = None
        self.bnds = None

    def fractions(self) -> tuple[Fraction, Fraction]:
        return Fraction(self.X, self.W), Fraction(self.Y, self.W)


def _intersect(e: tuple, h: tuple) -> Vertex:
    a1, b1, c1 = e
    a2, b2, c2 = h
    return Vertex(b1 * c2 - b2 * c1, c1 * a2 - c2 * a1, a1 * b2 - a2 * b1)


def polygon_from_domain(domain) -> tuple[list, list] | None:
    """CCW vertices and inward edge lines of a bounded 2-D domain (exact).

    The vertices are sorted by angle around the lowest one with exact
    cross-product comparisons (all others lie in the half-plane above it, so
    the order is total: a convex polygon's vertices make distinct angles).
    Returns None when the vertex list is not a strictly convex polygon (the
    caller then uses another splitter); the exact check decides.
    """
    V = list(dict.fromkeys(tuple(v) for v in domain.vertices))
    if len(V) < 3:
        return None
    p0 = min(V, key=lambda v: (v[1], v[0]))
    x0, y0 = p0

    def ccw(a, b) -> int:
        # a before b iff b is to the left of the ray p0 -> a: cross(a - p0, b - p0) > 0
        cr = (a[0] - x0) * (b[1] - y0) - (a[1] - y0) * (b[0] - x0)
        return -1 if cr > 0 else (1 if cr < 0 else 0)

    V = [p0] + sorted((v for v in V if v != p0), key=cmp_to_key(ccw))
    k = len(V)
    edges = []
    for i in range(k):
        (ax, ay), (bx, by) = V[i], V[(i + 1) % k]
        # left of a->b is inside: cross(b - a, x - a) > 0
        row = _int_row([-(by - ay), bx - ax, (by - ay) * ax - (bx - ax) * ay])
        edges.append(tuple(row))
    for i in range(k):
        a, b, c = edges[i]
        nx, ny = V[(i + 2) % k]
        if a * nx + b * ny + c <= 0:
            return None  # not strictly convex: no planar V-representation
    verts = []
    for x, y in V:
        den = x.denominator * y.denominator // _gcd(x.denominator, y.denominator)
        verts.append(Vertex(int(x * den), int(y * den), den))
    return verts, edges


class PlanarSplitter:
    """Split 2-D cells (polygons) node by node; see the module docstring."""

    def __init__(self, inet: IntNet, stats: dict, check=lambda: None) -> None:
        self.check = check
        self.inet = inet
        self.stats = stats
        self.ts = inet.thresholds

    # -- signs -------------------------------------------------------------
    def _vertex_sign(self, node: Node, v: Vertex, ci: int, i: int, t: int) -> int:
        if v.tag is node:
            val, bnd = v.vals[ci], v.bnds[ci]
        else:
            # scalar float filter (same bound as Node.eval_float, d = 2)
            m0, m1, c, r0, r1, rc = self._cf[ci]
            x, y = v.fx, v.fy
            ax, ay = abs(x), abs(y)
            rx, ry = _RV * ax + TINY, _RV * ay + TINY
            g = self._g
            val = m0 * x + m1 * y + c
            bnd = ((ax + rx) * r0 + (ay + ry) * r1 + (rx + g * ax) * abs(m0)
                   + (ry + g * ay) * abs(m1) + rc + g * abs(c)) * (1.0 + g) + TINY
        s = val - t
        # subtracting the exact threshold t adds <= u |s|; a finite value was
        # computed without overflow (_regions_maps docstring)
        if bnd + TINY < abs(s) * _SHRINK < _INF:
            return 1 if s > 0 else -1
        self.stats["exact_signs"] += 1
        m, c = node.exact_line(i, t)
        val = m[0] * v.X + m[1] * v.Y + c * v.W
        return (val > 0) - (val < 0)

    # -- one node ----------------------------------------------------------
    def split(self, node: Node, verts: list, edges: list):
        """Yield ``(pieces, (verts, edges))`` for the cells of layer ``node.l``."""
        inet, ts = self.inet, self.ts
        n = inet.widths[node.l]
        Vf = np.array([[v.fx, v.fy] for v in verts])
        RV = _RV * np.abs(Vf) + TINY
        vals, bnd = node.eval_float(Vf, RV)
        # vectorised filter over all neurons and vertices: a neuron whose sign
        # w.r.t. every threshold is proven strict and equal at all vertices
        # does not cut the (convex) cell
        cnt = np.zeros(n, dtype=int)
        undecided = np.zeros(n, dtype=bool)
        for t in ts:
            S = vals - t if t else vals
            # subtracting the exact threshold adds <= u |S| (float filter)
            thr = bnd * (1.0 + 4 * U) + 4 * U * np.abs(S) + TINY
            pos = (S > thr).all(axis=0)
            neg = (S < -thr).all(axis=0)
            cnt += pos
            undecided |= ~(pos | neg)
        pieces = cnt.tolist()
        cand = np.flatnonzero(undecided).tolist()
        self.stats["candidates"] += len(cand)
        if not cand:
            yield pieces, (verts, edges)
            return
        # float values of the parent vertices for the candidate neurons
        vc, bcand = vals[:, cand].tolist(), bnd[:, cand].tolist()
        for j, v in enumerate(verts):
            v.tag, v.vals, v.bnds = node, vc[j], bcand[j]
        self._g = _g(3)
        self._cf = list(zip(node.Mf[cand, 0].tolist(), node.Mf[cand, 1].tolist(),
                            node.cf[cand].tolist(), node.RM[cand, 0].tolist(),
                            node.RM[cand, 1].tolist(), node.Rc[cand].tolist()))
        cells = [(pieces, verts, edges)]
        for ci, i in enumerate(cand):
            self.check()
            new_cells = []
            for pcs, vs, es in cells:
                todo: list[Any] = [(0, vs, es)]  # (count of thresholds below, verts, edges)
                done: list[Any] = []
                for t in ts:
                    nxt = []
                    for cnt, cv, ce in todo:
                        signs = []
                        for v in cv:
                            if v.tag is node:
                                sv = v.vals[ci] - t
                                if abs(sv) * _SHRINK > v.bnds[ci] + TINY:
                                    signs.append(1 if sv > 0 else -1)
                                    continue
                            signs.append(self._vertex_sign(node, v, ci, i, t))
                        hi, lo = max(signs), min(signs)
                        if hi <= 0 and lo < 0:
                            done.append((cnt, cv, ce))      # below t: stop counting
                        elif lo >= 0 and hi > 0:
                            nxt.append((cnt + 1, cv, ce))   # above t: next threshold
                        elif hi == 0:
                            # z == t on a 2-D cell: z is the constant t
                            done.append((inet.constant_piece(Fraction(t)), cv, ce))
                        else:
                            self.stats["splits"] += 1
                            m, c = node.exact_line(i, t)
                            line = (m[0], m[1], c)
                            (pv, pe), (nv, ne) = _clip(cv, ce, signs, line)
                            nxt.append((cnt + 1, pv, pe))
                            done.append((cnt, nv, ne))
                    todo = nxt
                done.extend(todo)
                if len(done) == 1:
                    pcs[i] = done[0][0]
                    new_cells.append((pcs, done[0][1], done[0][2]))
                else:
                    for cnt, cv, ce in done:
                        p2 = list(pcs)
                        p2[i] = cnt
                        new_cells.append((p2, cv, ce))
            cells = new_cells
        # hand the cells out one by one and drop each: the caller descends
        # into a cell while this generator is suspended (regions._dfs), and
        # holding the finished ones would only feed the garbage collector
        cells.reverse()
        while cells:
            pcs, vs, es = cells.pop()
            yield pcs, (vs, es)


def _clip(verts: list, edges: list, signs: list, h: tuple):
    """Exact clipping of a convex polygon by the line h (mixed strict signs)."""
    k = len(verts)
    neg_h = (-h[0], -h[1], -h[2])
    cross = {}
    for j in range(k):
        sa, sb = signs[j], signs[(j + 1) % k]
        if sa * sb < 0:
            cross[j] = _intersect(edges[j], h)
    out = []
    for sigma, hl in ((1, h), (-1, neg_h)):
        ov, oe = [], []
        for j in range(k):
            a = verts[j]
            sa, sb = sigma * signs[j], sigma * signs[(j + 1) % k]
            e = edges[j]
            if sa >= 0:
                ov.append(a)
                if sb < 0 and sa == 0:
                    oe.append(hl)
                else:
                    oe.append(e)
                if sa > 0 and sb < 0:
                    ov.append(cross[j])
                    oe.append(hl)
            elif sb > 0:
                ov.append(cross[j])
                oe.append(e)
        out.append((ov, oe))
    return out[0], out[1]


def polygon_interior_point(verts: list, edges: list) -> tuple[Fraction, Fraction]:
    """A short dyadic point strictly inside a convex polygon (checked exactly).

    The float centroid is rounded to a few bits below the cell's size and
    checked in exact integer arithmetic against every edge line; the exact
    vertex average (always interior for a 2-D convex polygon) is the fallback.
    """
    k = len(verts)
    xs = [v.fx for v in verts]
    ys = [v.fy for v in verts]
    cx, cy = sum(xs) / k, sum(ys) / k
    size = min(max(xs) - min(xs), max(ys) - min(ys))
    if np.isfinite(cx) and np.isfinite(cy) and size > 0 and np.isfinite(size):
        e = max(0, 4 - int(np.floor(np.log2(size))))
        for e2 in (e, e + 8, e + 24):
            D = 1 << e2
            try:
                X, Y = round(cx * D), round(cy * D)
            except OverflowError:  # D or c * D beyond the float range
                break
            if all(a * X + b * Y + c * D > 0 for a, b, c in edges):
                return Fraction(X, D), Fraction(Y, D)
    pts = [v.fractions() for v in verts]
    return (sum(p[0] for p in pts) / k, sum(p[1] for p in pts) / k)


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
