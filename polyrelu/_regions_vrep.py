"""Private helper of :mod:`polyrelu.regions`: the fast engine's splitter for
``R^d`` (d <= 4, orthant by orthant), with an exact V-representation; its
:func:`polytope_from_domain` also gives the root cell of the float-first
engine (:mod:`polyrelu._regions_frontier`).

A cell is a polytope given by its vertices -- exact points in homogeneous
integer coordinates ``(X_1..X_d, W)``, ``W > 0``, reduced by their gcd -- each
with its *incidence set* (the ids of all constraints tight at it), plus the
oriented integer constraints ``a . x + c >= 0`` that cut it out (a superset
of its facets).

Splitting by a hyperplane ``h`` (signs at the vertices from the filtered
predicates of :mod:`polyrelu._regions_maps`): ``h`` cuts the open cell iff
some vertex is strictly positive and some strictly negative.  New vertices are
the points where ``h`` crosses an *edge*; ``u, v`` span an edge iff no third
vertex is tight on every constraint tight at both (the combinatorial adjacency
test of the double description method, exact for polytopes).  A point inside
an edge is tight exactly on the edge's constraints, so incidence sets stay
complete.  The new vertex is ``h(u) v - h(v) u`` (homogeneous, exact),
reduced by the gcd of its coordinates.

Thresholds: the sign of ``z - t`` at a generator ``(X, W)`` is the sign of
``m . X + (c - t) W``, so a direction (``W = 0``) is never shifted by ``t``
(hard tanh on ``R^d``): the float filter subtracts ``t W``, not ``t``.

A node's cells are split depth first over its candidate neurons and handed
out one by one (:meth:`VRepSplitter.split`); vertices shared with cells of
other nodes may carry another node's float values (``tag``), which are
recomputed on use.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd
from math import inf as _INF
from typing import Any

import numpy as np

from ._regions_maps import TINY, IntNet, Node, U, _g

__all__ = [
    "VVertex",
    "VRepSplitter",
    "polytope_from_domain",
    "polytope_interior_point",
    "orthant",
]

_G = {d: _g(d + 1) for d in range(1, 64)}

# float(X) / float(W) with X, W integers below 2**1024: two correctly rounded
# conversions and a correctly rounded division, relative error <= 3.0001 u
_RV = 4.0 * U
_SHRINK = 1.0 - 4 * U  # |s| (1 - 4u) > bound: subtracting t adds <= u |s| (float)


def _to_float(n: int, d: int) -> float:
    try:
        return float(n) / float(d)  # float filter input, error <= 3.0001 u relative
    except OverflowError:
        return float("nan")  # never passes a filter test: exact path decides


class VVertex:
    """A generator: a point (``W > 0``) or a direction (``W = 0``, unbounded
    cells in homogeneous coordinates), with its incidence set."""

    __slots__ = ("h", "f", "w", "inc", "tag", "vals", "bnds")

    def __init__(self, h: tuple, inc: frozenset) -> None:
        g = 0
        for v in h:
            g = gcd(g, v)
        if g > 1:
            h = tuple(v // g for v in h)
        self.h = h  # (X_1, ..., X_d, W), W >= 0
        W = h[-1]
        if W:
            self.f = [_to_float(x, W) for x in h[:-1]]
            self.w = 1.0
        else:
            # a direction: any positive scaling has the same signs
            big = max(abs(x) for x in h[:-1])
            self.f = [_to_float(x, big) for x in h[:-1]]
            self.w = 0.0
        self.inc = inc
        self.tag = None
        self.vals = None
        self.bnds = None

    def fractions(self) -> tuple:
        W = self.h[-1]
        return tuple(Fraction(x, W) for x in self.h[:-1])


def _hval(row: tuple, h: tuple) -> int:
    """a . X + c W for the integer row (a, c) and homogeneous point h."""
    s = 0
    for a, x in zip(row, h):
        if a:
            s += a * x
    return s


def polytope_from_domain(domain, d: int):
    """Vertices (with incidence) and oriented integer facets of a bounded domain."""
    A, b = domain.inequalities
    cons = {}
    for k, (a, bk) in enumerate(zip(A, b)):
        den = 1
        for v in tuple(a) + (bk,):
            den = den * v.denominator // gcd(den, v.denominator)
        # a . x <= b   ->   -a . x + b >= 0
        cons[("dom", k)] = tuple(int(-v * den) for v in a) + (int(bk * den),)
    verts = []
    for v in domain.vertices:
        den = 1
        for x in v:
            den = den * x.denominator // gcd(den, x.denominator)
        hv = tuple(int(x * den) for x in v) + (den,)
        inc = frozenset(k for k, row in cons.items() if _hval(row, hv) == 0)
        verts.append(VVertex(hv, inc))
    return verts, tuple(cons.values())


class VRepSplitter:
    """Split d-dimensional polytopes node by node (see the module docstring)."""

    def __init__(self, inet: IntNet, stats: dict, check=lambda: None) -> None:
        self.inet = inet
        self.stats = stats
        self.check = check
        self.ts = inet.thresholds
        self.d = inet.d

    def _tag(self, node: Node, fresh: list, cand: list) -> None:
        """Float values of new vertices for all candidate neurons (one numpy call)."""
        F = np.array([v.f for v in fresh])
        Wv = np.array([v.w for v in fresh])
        vals, bnds = node.eval_float(F, _RV * np.abs(F) + TINY, cand,
                                     None if Wv.all() else Wv)
        vals, bnds = vals.tolist(), bnds.tolist()
        for v, a, b in zip(fresh, vals, bnds):
            v.tag, v.vals, v.bnds = node, a, b

    def _sign(self, node: Node, v: VVertex, ci: int, i: int, t: int, cand: list) -> int:
        if v.tag is node:
            val, bnd = v.vals[ci], v.bnds[ci]
        else:
            # scalar float filter for one neuron (same bound as Node.eval_float)
            Mf, RM, Ma = node.Mf[i].tolist(), node.RM[i].tolist(), node.Mabs[i].tolist()
            g = _G[self.d]
            f, w = v.f, v.w
            val = sum(m * x for m, x in zip(Mf, f)) + w * float(node.cf[i])
            bnd = 0.0
            for x, r, m in zip(f, RM, Ma):
                ax = abs(x)
                rx = _RV * ax + TINY
                bnd += (ax + rx) * r + (rx + g * ax) * m
            bnd = (bnd + w * (float(node.Rc[i]) + g * abs(float(node.cf[i])))) \
                * (1.0 + g) + TINY
        # z - t at (X, W) is m . X + (c - t) W: a direction has no threshold
        s = val - t * v.w if t else val
        # a finite value was computed without overflow (_regions_maps docstring)
        if bnd + TINY < abs(s) * _SHRINK < _INF:
            return 1 if s > 0 else -1
        self.stats["exact_signs"] += 1
        m, c = node.exact_line(i, t)
        val = _hval(tuple(m) + (c,), v.h)
        return (val > 0) - (val < 0)

    def split(self, node: Node, cell: tuple):
        """Yield ``(pieces, cell)`` for the cells of layer ``node.l``."""
        verts, cons = cell
        inet, ts = self.inet, self.ts
        n = inet.widths[node.l]
        Vf = np.array([v.f for v in verts])
        Wf = np.array([v.w for v in verts])
        vals, bnd = node.eval_float(Vf, _RV * np.abs(Vf) + TINY, None,
                                    None if Wf.all() else Wf)
        cnt = np.zeros(n, dtype=int)
        undecided = np.zeros(n, dtype=bool)
        for t in ts:
            # homogeneous: z - t W (directions, W = 0, are not shifted);
            # eval_float gives an infinite bound to non-finite values
            S = vals - t * Wf[:, None] if t else vals
            thr = bnd * (1.0 + 4 * U) + 4 * U * np.abs(S) + TINY
            pos = (S > thr).all(axis=0)
            neg = (S < -thr).all(axis=0)
            cnt += pos
            undecided |= ~(pos | neg)
        pieces = cnt.tolist()
        cand = np.flatnonzero(undecided).tolist()
        self.stats["candidates"] += len(cand)
        if not cand:
            yield pieces, cell
            return
        vc, bc = vals[:, cand].tolist(), bnd[:, cand].tolist()
        for j, v in enumerate(verts):
            v.tag, v.vals, v.bnds = node, vc[j], bc[j]
        # depth-first over the candidate neurons (a stack of partly split
        # cells): the first cell is complete after one root-to-leaf path, so a
        # region can be reported before the layer's other cells exist (limits);
        # children are pushed in reverse, so cells come out in the same order
        # as a breadth-first split would give them
        k = len(cand)
        stack = [(0, pieces, verts, cons)]
        while stack:
            ci, pcs, cv0, cc0 = stack.pop()
            if ci == k:
                yield pcs, (cv0, cc0)
                continue
            i = cand[ci]
            todo = [(0, cv0, cc0)]
            done = []
            for t in ts:
                nxt = []
                for c0, cv, cc in todo:
                    fresh = [v for v in cv if v.tag is not node]
                    if fresh:
                        self._tag(node, fresh, cand)
                    signs = []
                    for v in cv:
                        if v.tag is node:
                            sv = v.vals[ci] - t * v.w if t else v.vals[ci]
                            if abs(sv) * _SHRINK > v.bnds[ci] + TINY:
                                signs.append(1 if sv > 0 else -1)
                                continue
                        signs.append(self._sign(node, v, ci, i, t, cand))
                    hi, lo = max(signs), min(signs)
                    if hi <= 0 and lo < 0:
                        done.append((c0, cv, cc))
                    elif lo >= 0 and hi > 0:
                        nxt.append((c0 + 1, cv, cc))
                    elif hi == 0:
                        done.append((inet.constant_piece(Fraction(t)), cv, cc))
                    else:
                        # a cut is the expensive step: the deadline is checked
                        # here and at every cell yielded (_dfs), so at most
                        # len(cand) cheap sign steps run between two checks
                        self.check()
                        self.stats["splits"] += 1
                        m, c = node.exact_line(i, t)
                        row = tuple(m) + (c,)
                        (pv, pc), (nv, nc) = self._cut(cv, cc, signs, row,
                                                       (node.l, i, t))
                        nxt.append((c0 + 1, pv, pc))
                        done.append((c0, nv, nc))
                todo = nxt
            done.extend(todo)
            if len(done) == 1:
                pcs[i] = done[0][0]
                stack.append((ci + 1, pcs, done[0][1], done[0][2]))
            else:
                for c0, cv, cc in reversed(done):
                    p2 = list(pcs)
                    p2[i] = c0
                    stack.append((ci + 1, p2, cv, cc))

    def _cut(self, verts, cons, signs, row, hid):
        d = self.d
        P = [k for k, s in enumerate(signs) if s > 0]
        N = [k for k, s in enumerate(signs) if s < 0]
        Z = [k for k, s in enumerate(signs) if s == 0]
        incs = [v.inc for v in verts]
        new = []
        hvals = {}
        for a in P:
            ia = incs[a]
            simple_a = len(ia) == d
            for b in N:
                ib = incs[b]
                common = ia & ib
                lc = len(common)
                if lc < d - 1:
                    continue
                # two simple vertices sharing d - 1 facets span an edge; else the
                # combinatorial test: no third vertex tight on all of common
                if not (simple_a and len(ib) == d and lc == d - 1) and any(
                        k != a and k != b and common <= incs[k] for k in range(len(verts))):
                    continue
                u, v = verts[a], verts[b]
                hu = hvals.get(a)
                if hu is None:
                    hu = hvals[a] = _hval(row, u.h)
                hv = hvals.get(b)
                if hv is None:
                    hv = hvals[b] = _hval(row, v.h)
                w = tuple(hu * y - hv * x for x, y in zip(u.h, v.h))
                new.append(VVertex(w, common | {hid}))
        zero = [VVertex(verts[k].h, verts[k].inc | {hid}) for k in Z]
        neg_row = tuple(-x for x in row)
        out = []
        for side, srow in ((P, row), (N, neg_row)):
            vs = [verts[k] for k in side] + zero + new
            # all constraints stay (valid for the cell; the interior point is
            # checked against them); incidence sets carry the combinatorics
            cs = cons + (srow,)
            out.append((vs, cs))
        return out[0], out[1]


def polytope_interior_point(verts, cons) -> tuple:
    """A short dyadic point strictly inside (checked exactly), else the exact
    sum of the homogeneous generators (a positive combination of all of them
    is interior to the homogenised cone, hence to the cell)."""
    d = len(verts[0].f)
    F = np.array([v.f for v in verts])
    Wv = np.array([v.w for v in verts])
    rows = cons
    with np.errstate(over="ignore", invalid="ignore"):
        fin = F[Wv > 0]
        cen = (F.sum(axis=0)) / max(1.0, float(Wv.sum()))
        size = float((fin.max(axis=0) - fin.min(axis=0)).min()) if len(fin) > 1 else 0.0
    if np.isfinite(F).all() and np.isfinite(cen).all() and np.isfinite(size):
        if not size > 0:
            size = 1.0
        e = max(0, 4 - int(np.floor(np.log2(size))))
        for e2 in (e, e + 8, e + 24):
            D = 1 << e2
            try:
                X = tuple(int(round(float(c) * D)) for c in cen) + (D,)
            except OverflowError:  # D or c * D beyond the float range
                break
            if all(_hval(r, X) > 0 for r in rows):
                return tuple(Fraction(x, D) for x in X[:-1])
    tot = [sum(v.h[j] for v in verts) for j in range(d + 1)]
    return tuple(Fraction(x, tot[-1]) for x in tot[:-1])


def orthant(signs: tuple) -> tuple:
    """The closed orthant ``{sigma_i x_i >= 0}`` as a pointed cone: the origin,
    the rays ``sigma_i e_i`` (W = 0) and the constraint at infinity ``W >= 0``."""
    d = len(signs)
    cons: dict[Any, tuple] = {}   # keys ("ax", i) and "inf"
    for i, s in enumerate(signs):
        cons[("ax", i)] = tuple(s if j == i else 0 for j in range(d)) + (0,)
    cons["inf"] = (0,) * d + (1,)
    verts = [VVertex((0,) * d + (1,), frozenset(("ax", i) for i in range(d)))]
    for i, s in enumerate(signs):
        h = tuple(s if j == i else 0 for j in range(d)) + (0,)
        verts.append(VVertex(h, frozenset([("ax", j) for j in range(d) if j != i] + ["inf"])))
    return verts, tuple(cons.values())
