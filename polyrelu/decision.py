"""Decision regions of a classifier and their topology, exactly.

The predicted class of a network at ``x`` is the argmax of its outputs
(SPEC convention: the first index among equal maxima).  On an activation
region the network is one affine map ``y = M x + c``, so the points of the
region where class ``j`` is *an* argmax form the convex polytope

    ``{x in R : (M_i - M_j) x <= c_j - c_i  for all i != j}``

(the argmax comparisons).  These cells, over every activation region of
:func:`polyrelu.regions.regions`, partition the domain into closed exact
rational polytopes with disjoint interiors; a tie on a set of measure zero
belongs to the boundary of the cells.  A class whose output equals another's
on a whole region (an identity of the affine maps) loses it to the smaller
index, as the argmax does.

:func:`decision_cells` streams the cells (a generator, with limits);
:func:`decision_regions` collects them per class, with

* ``components``: cells joined through shared facets of positive
  (d-1)-volume (exact: facets are grouped by their primitive integer
  hyperplane, then overlaps are decided exactly), by networkx;
* ``betti``: Betti numbers over GF(2) of the class region (the relative
  interior in the domain of the union of its cells), ``(b0, b1)`` in 2-D and
  ``(b0, b1, b2)`` in 3-D, by Alexander duality and the Euler characteristic
  (:mod:`polyrelu.homology`);
* ``boundary``: the decision boundary as exact pieces, the overlaps of
  facets of cells of different classes.

Examples
--------
>>> import polyrelu as pr
>>> net = pr.Network.from_weights([([[1, 0], [-1, 0]], [0, 0])])   # y = (x1, -x1)
>>> dr = pr.decision_regions(net, ([-1, -1], [1, 1]))
>>> [(c.volume, c.betti) for c in dr]
[(Fraction(2, 1), (1, 0)), (Fraction(2, 1), (1, 0))]
>>> piece = dr.boundary[0]
>>> piece.classes, piece.vertices
((0, 1), ((Fraction(0, 1), Fraction(-1, 1)), (Fraction(0, 1), Fraction(1, 1))))
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cmp_to_key
from itertools import combinations
from typing import Any, Iterator, Optional

from . import homology
from .budget import Budget, Exhausted, as_budget
from .domains import as_domain
from .exceptions import DomainError
from .numbers import Fraction
from .polyhedron import Polyhedron
from .regions import _minimal_polyhedron, regions

__all__ = ["DecisionCell", "BoundaryPiece", "ClassRegion", "DecisionRegions",
           "decision_cells", "decision_regions"]

Vec = tuple
_ZERO = Fraction(0)


def _dot(a, x) -> Fraction:
    return sum((ai * xi for ai, xi in zip(a, x)), _ZERO)


def _primitive(a, b) -> tuple[tuple[int, ...], int]:
    """The row ``a . x <= b`` as primitive integers (same half-space)."""
    vals = list(a) + [b]
    den = 1
    for v in vals:
        den = den * v.denominator // math.gcd(den, v.denominator)
    ints = [int(v * den) for v in vals]
    g = 0
    for v in ints:
        g = math.gcd(g, v)
    g = g or 1
    ints = [v // g for v in ints]
    return tuple(ints[:-1]), ints[-1]


def _hyperplane_key(ia, ib) -> tuple[tuple, int]:
    """``(key, side)``: the hyperplane ``a . x = b`` (primitive integers) as a
    sign-normalised tuple, and +1/-1 for the side ``a . x <= b`` keeps."""
    lead = next(v for v in ia if v)
    if lead > 0:
        return ia + (ib,), 1
    return tuple(-v for v in ia) + (-ib,), -1


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DecisionCell:
    """One cell: the part of an activation region where class ``label`` is an argmax.

    Attributes
    ----------
    label : int
        The class (output index).
    pattern : tuple
        The activation pattern of the region the cell lies in.
    rows : tuple
        Minimal inequalities ``(a, b)`` meaning ``a . x <= b`` (the facets).
    vertices : tuple
        Exact vertices, tuples of Fraction (in 2-D counter-clockwise).
    affine_map : tuple
        ``(M, c)``: the network's exact affine map on the cell.
    """

    label: int
    pattern: tuple
    rows: tuple
    vertices: tuple
    affine_map: tuple = field(repr=False)
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def dim(self) -> int:
        return len(self.vertices[0])

    @property
    def interior_point(self) -> Vec:
        """A point strictly inside, the average of the vertices (the cell is
        a full-dimensional polytope)."""
        n = len(self.vertices)
        return tuple(sum((v[k] for v in self.vertices), _ZERO) / n for k in range(self.dim))

    @property
    def polyhedron(self) -> Polyhedron:
        P = self._cache.get("polyhedron")
        if P is None:
            P = Polyhedron.from_inequalities([a for a, _ in self.rows],
                                             [b for _, b in self.rows], ambient_dim=self.dim)
            self._cache["polyhedron"] = P
        return P

    @property
    def volume(self) -> Fraction:
        """Exact d-volume (shoelace formula in 2-D)."""
        v = self._cache.get("volume")
        if v is None:
            if self.dim == 2:
                V = self.vertices
                s = sum((V[i][0] * V[i - 1][1] - V[i - 1][0] * V[i][1] for i in range(len(V))),
                        _ZERO)
                v = abs(s) / 2
            elif self.dim == 1:
                v = max(x[0] for x in self.vertices) - min(x[0] for x in self.vertices)
            else:
                v = self.polyhedron.volume()
            self._cache["volume"] = v
        return v

    def contains(self, x) -> bool:
        """Exact membership of the closed cell."""
        return all(_dot(a, x) <= b for a, b in self.rows)

    def _int_rows(self) -> tuple:
        rows = self._cache.get("int_rows")
        if rows is None:
            rows = tuple(_primitive(a, b) for a, b in self.rows)
            self._cache["int_rows"] = rows
        return rows

    def _contains_h(self, h) -> bool:
        """Membership of the homogeneous integer point ``h = (X, W)``, W > 0."""
        w = h[-1]
        return all(sum(ai * xi for ai, xi in zip(a, h)) <= b * w for a, b in self._int_rows())

    def facets(self) -> tuple:
        """``(a, b, vertex indices)`` for each facet row."""
        f = self._cache.get("facets")
        if f is None:
            f = tuple((a, b, tuple(i for i, v in enumerate(self.vertices) if _dot(a, v) == b))
                      for a, b in self.rows)
            self._cache["facets"] = f
        return f


@dataclass(frozen=True)
class BoundaryPiece:
    """A piece of the decision boundary: the overlap, of positive
    (d-1)-volume, of facets of two cells of different classes.

    Attributes
    ----------
    classes : tuple
        The two classes on either side, smaller first.
    cells : tuple
        Two indices into :attr:`DecisionRegions.cells`, in the order of ``classes``.
    hyperplane : tuple of int
        The primitive integer hyperplane ``(a_1, .., a_d, b)`` meaning ``a . x = b``.
    vertices : tuple or None
        The exact end points in 2-D (a segment); None in higher dimensions
        (see :attr:`polyhedron`).
    """

    classes: tuple
    cells: tuple
    hyperplane: tuple
    vertices: Optional[tuple]
    _polyhedron: Any = field(default=None, compare=False, repr=False)

    @property
    def polyhedron(self) -> Polyhedron:
        """The piece as an exact (d-1)-dimensional Polyhedron."""
        if self._polyhedron is not None:
            return self._polyhedron
        V = self.vertices or ()
        return Polyhedron.from_vertices(V)


@dataclass(frozen=True)
class ClassRegion:
    """The decision region of one class.

    Attributes
    ----------
    label : int
    cells : tuple of int
        Indices into :attr:`DecisionRegions.cells`.
    pieces : tuple of Polyhedron
        The cells as exact polyhedra.
    components : tuple of frozenset
        Cell indices of each connected component (facet adjacency), largest first.
    betti : tuple of int or None
        ``(b0, b1)`` in 2-D, ``(b0, b1, b2)`` in 3-D, ``(b0,)`` in 1-D over
        GF(2); None in higher dimensions or for a partial result.
    volume : Fraction
        Exact volume (sum over the cells; the volumes of all classes sum to
        that of the domain).
    """

    label: int
    cells: tuple
    pieces: tuple
    components: tuple
    betti: Optional[tuple]
    volume: Fraction


@dataclass(frozen=True)
class DecisionRegions:
    """Result of :func:`decision_regions`; indexable by class.

    Attributes
    ----------
    classes : tuple of ClassRegion
    cells : tuple of DecisionCell
    boundary : tuple of BoundaryPiece
    domain : Polyhedron
    partial : bool
        True when a limit stopped the enumeration (the cells found so far;
        ``betti`` is then None).
    reason : str or None
    stats : dict
    """

    classes: tuple
    cells: tuple
    boundary: tuple
    domain: Polyhedron = field(repr=False)
    partial: bool
    reason: Optional[str]
    stats: dict = field(compare=False, repr=False)

    def __getitem__(self, k: int) -> ClassRegion:
        return self.classes[k]

    def __len__(self) -> int:
        return len(self.classes)

    def __iter__(self) -> Iterator[ClassRegion]:
        return iter(self.classes)

    def label_at(self, x) -> Optional[int]:
        """The class of the first cell containing ``x`` (None outside the cells found)."""
        for c in self.cells:
            if c.contains(x):
                return c.label
        return None


# ---------------------------------------------------------------------------
# cells
# ---------------------------------------------------------------------------

def _ccw(points) -> tuple:
    """Distinct points of a convex polygon in counter-clockwise order
    (exact angular sort about the average)."""
    pts = sorted(set(points))
    n = len(pts)
    cx = sum((p[0] for p in pts), _ZERO) / n
    cy = sum((p[1] for p in pts), _ZERO) / n

    def half(p):
        dx, dy = p[0] - cx, p[1] - cy
        return 0 if dy > 0 or (dy == 0 and dx > 0) else 1

    def cmp(p, q):
        hp, hq = half(p), half(q)
        if hp != hq:
            return hp - hq
        cr = (p[0] - cx) * (q[1] - cy) - (p[1] - cy) * (q[0] - cx)
        return -1 if cr > 0 else (1 if cr < 0 else 0)

    return tuple(sorted(pts, key=cmp_to_key(cmp)))


def _is_ccw(poly) -> bool:
    """Whether a convex polygon's vertices turn left at every corner."""
    n = len(poly)
    for i in range(n):
        p, q, r = poly[i - 1], poly[i], poly[(i + 1) % n]
        if (q[0] - p[0]) * (r[1] - q[1]) - (q[1] - p[1]) * (r[0] - q[0]) <= 0:
            return False
    return n >= 3


def _drop_collinear(poly: list) -> list:
    out = []
    n = len(poly)
    for i in range(n):
        p, q, r = poly[i - 1], poly[i], poly[(i + 1) % n]
        cr = (q[0] - p[0]) * (r[1] - q[1]) - (q[1] - p[1]) * (r[0] - q[0])
        if cr != 0:
            out.append(q)
    return out


def _clip(poly: list, a, b) -> list:
    """Sutherland-Hodgman: the convex polygon ``poly`` cut by ``a . x <= b``."""
    out: list = []
    n = len(poly)
    for i in range(n):
        s, e = poly[i - 1], poly[i]
        vs, ve = _dot(a, s) - b, _dot(a, e) - b
        if ve <= 0:
            if vs > 0:
                t = vs / (vs - ve)
                out.append(tuple(si + t * (ei - si) for si, ei in zip(s, e)))
            out.append(e)
        elif vs < 0:
            t = vs / (vs - ve)
            out.append(tuple(si + t * (ei - si) for si, ei in zip(s, e)))
    dedup: list = []
    for p in out:
        if not dedup or dedup[-1] != p:
            dedup.append(p)
    if len(dedup) > 1 and dedup[0] == dedup[-1]:
        dedup.pop()
    return dedup


def _polygon_rows(poly) -> tuple:
    """Edge rows ``a . x <= b`` of a counter-clockwise convex polygon."""
    rows = []
    n = len(poly)
    for i in range(n):
        p, q = poly[i], poly[(i + 1) % n]
        a = (q[1] - p[1], p[0] - q[0])      # outward normal of a ccw edge
        rows.append((a, _dot(a, p)))
    return tuple(rows)


def _cut_rows(M, c, j: int) -> Optional[list]:
    """Rows ``(M_i - M_j) x <= c_j - c_i`` for class ``j``; None when an
    earlier class has the same output on the whole region (it wins)."""
    rows = []
    for i in range(len(M)):
        if i == j:
            continue
        a = tuple(mi - mj for mi, mj in zip(M[i], M[j]))
        b = c[j] - c[i]
        if not any(a):
            if b < 0 or (b == 0 and i < j):
                return None
            continue
        rows.append((a, b))
    return rows


def _lcm_den(vals) -> int:
    den = 1
    for v in vals:
        q = v.denominator
        den = den * q // math.gcd(den, q)
    return den


def _homogeneous(r) -> list:
    """The region's vertices as integer rows ``(X_1, .., X_d, W)``, ``W > 0``."""
    raw = r._cache.get("_hverts")
    if raw is not None:
        return [tuple(h) for h in raw]
    out = []
    for v in r.vertices:
        w = _lcm_den(v)
        out.append(tuple(int(x * w) for x in v) + (w,))
    return out


def _winner(M, c, H) -> Optional[int]:
    """The class that is an argmax at every vertex (then on the whole region:
    the comparisons are affine), first index first; exact in integers (the
    scores scaled by the positive ``den * W`` of each vertex)."""
    den = _lcm_den([v for row in M for v in row] + list(c))
    Mi = [[int(v * den) for v in row] for row in M]
    ci = [int(v * den) for v in c]
    cand = list(range(len(M)))
    for h in H:
        w = h[-1]
        s = [sum(a * x for a, x in zip(Mi[i], h)) + ci[i] * w for i in range(len(M))]
        top = max(s)
        cand = [j for j in cand if s[j] == top]
        if not cand:
            return None
    return cand[0]


def _polygon_cell(label, pattern, poly, am) -> DecisionCell:
    cell = DecisionCell(label, pattern, _polygon_rows(poly), tuple(poly), am)
    n = len(poly)
    cell._cache["facets"] = tuple((a, b, (i, (i + 1) % n)) for i, (a, b) in enumerate(cell.rows))
    return cell


def _planar_cell(label, pattern, V, E, am) -> DecisionCell:
    irows = []
    for a, b, c in E:
        g = math.gcd(math.gcd(a, b), c) or 1
        irows.append(((-a // g, -b // g), c // g))
    rows = tuple(((Fraction(a0), Fraction(a1)), Fraction(c)) for (a0, a1), c in irows)
    cell = DecisionCell(label, pattern, rows, tuple(V), am)
    n = len(V)
    cell._cache["int_rows"] = tuple(irows)
    cell._cache["facets"] = tuple((a, b, (i, (i + 1) % n)) for i, (a, b) in enumerate(rows))
    return cell


def _cells_of_region(r, d: int) -> Iterator[DecisionCell]:
    M, c = r.affine_map
    k = len(M)
    whole = _winner(M, c, _homogeneous(r))
    if d == 2:
        V = r.vertices
        E = r._cache.get("_edges") if "_hverts" in r._cache else None
        if whole is not None and E is not None and len(E) == len(V):
            # the planar engine's polygon: vertices counter-clockwise, edge j
            # (integer line a x + b y + c >= 0 inside) from vertex j to j + 1
            yield _planar_cell(whole, r.pattern, V, E, (M, c))
            return
        poly = list(V) if _is_ccw(V) else list(_ccw(V))
        poly = _drop_collinear(poly)
        if whole is not None:
            yield _polygon_cell(whole, r.pattern, poly, (M, c))
            return
        for j in range(k):
            rows = _cut_rows(M, c, j)
            if rows is None:
                continue
            P = poly
            for a, b in rows:
                P = _clip(P, a, b)
                if len(P) < 3:
                    break
            if len(P) < 3:
                continue
            P = _drop_collinear(P)
            if len(P) >= 3:
                yield _polygon_cell(j, r.pattern, P, (M, c))
        return
    base = _minimal_polyhedron(r)
    A0, b0 = base.inequalities
    for j in range(k):
        if whole is not None and j != whole:
            continue
        rows = [] if whole is not None else _cut_rows(M, c, j)
        if rows is None:
            continue
        Q = base if not rows else Polyhedron.from_inequalities(
            list(A0) + [a for a, _ in rows], list(b0) + [b for _, b in rows], ambient_dim=d)
        if not Q.is_full_dimensional():
            continue
        A, b = Q.inequalities
        cell = DecisionCell(j, r.pattern, tuple(zip(A, b)), tuple(Q.vertices), (M, c))
        cell._cache["polyhedron"] = Q
        yield cell


class CellIterator:
    """Iterator of :class:`DecisionCell` returned by :func:`decision_cells`;
    ``partial`` and ``reason`` as for :class:`~polyrelu.regions.RegionIterator`."""

    def __init__(self, net, domain, budget: Budget, engine: str) -> None:
        self.regions = regions(net, domain, engine=engine, budget=budget)
        self.budget = budget
        self.partial = False
        self.reason: Optional[str] = None
        self.region_count = 0
        self._gen = self._cells(net.input_dim)

    def _cells(self, d: int) -> Iterator[DecisionCell]:
        for r in self.regions:
            self.region_count += 1
            try:
                self.budget.check()
            except Exhausted:
                self.partial, self.reason = True, f"{self.budget.stop_reason()} after " \
                                                  f"{self.region_count - 1} regions"
                return
            yield from _cells_of_region(r, d)
        if self.regions.partial:
            self.partial, self.reason = True, self.regions.reason

    def __iter__(self) -> "CellIterator":
        return self

    def __next__(self) -> DecisionCell:
        return next(self._gen)


def _check_domain(net, domain) -> Polyhedron:
    dom = as_domain(domain, net.input_dim)
    if dom is None or not dom.bounded:
        raise DomainError("decision_regions needs a bounded domain (a box or a polytope): "
                          "its cells are polytopes and their topology is that of a "
                          "bounded set")
    return dom


def decision_cells(net, domain, *, max_regions: Optional[int] = None,
                   time_limit: Optional[float] = None, budget: Optional[Budget] = None,
                   engine: str = "auto") -> CellIterator:
    """Stream the decision cells of ``net`` over the bounded ``domain``.

    Each activation region (:func:`polyrelu.regions.regions`) is cut by the
    argmax comparisons of its exact affine map; a region whose vertices all
    have the same argmax (hence the whole region: the comparisons are
    affine) is one cell without any cut.  Limits as for ``regions``
    (``max_regions`` counts activation regions).

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0]], [0]), ([[1], [0]], [0, 0])])
    >>> sorted((c.label, c.volume) for c in decision_cells(net, ([-1, -1], [1, 1])))
    [(0, Fraction(2, 1)), (0, Fraction(2, 1))]

    (``relu(x1)`` against 0: on ``x1 <= 0`` both outputs are 0, an identity,
    and the argmax takes class 0 there too.)
    """
    dom = _check_domain(net, domain)
    b = as_budget(budget, max_regions, time_limit, "decision_cells")
    return CellIterator(net, dom, b, engine)


# ---------------------------------------------------------------------------
# adjacency
# ---------------------------------------------------------------------------

def _facet_overlaps(cells: list, d: int) -> Iterator[tuple]:
    """``(i, j, key, piece)`` for every pair of cells whose facets on one
    hyperplane overlap with positive (d-1)-volume; ``piece`` is the pair of
    end points in 2-D, the overlap Polyhedron otherwise."""
    groups: dict = {}
    for ci, cell in enumerate(cells):
        for (a, b, idx), (ia, ib) in zip(cell.facets(), cell._int_rows()):
            key, side = _hyperplane_key(ia, ib)
            groups.setdefault(key, []).append((ci, side, idx))
    for key, members in groups.items():
        if len(members) < 2:
            continue
        if d == 1:
            for (ci, si, _), (cj, sj, _) in combinations(members, 2):
                if si != sj:
                    yield ci, cj, key, None
            continue
        if d == 2:
            u = (Fraction(-key[1]), Fraction(key[0]))      # along the line
            iv = []
            for ci, side, idx in members:
                pts = [cells[ci].vertices[i] for i in idx]
                ts = sorted((_dot(u, p), p) for p in pts)
                iv.append((ts[0], ts[-1], ci, side))
            iv.sort(key=lambda t: t[0][0])
            active: list = []
            for lo, hi, ci, side in iv:
                active = [t for t in active if t[1][0] > lo[0]]
                for lo2, hi2, cj, side2 in active:
                    end = hi if hi[0] < hi2[0] else hi2
                    if side2 != side and end[0] > lo[0]:
                        yield cj, ci, key, (lo, end)
                active.append((lo, hi, ci, side))
            continue
        boxes = []
        for ci, side, idx in members:
            pts = [cells[ci].vertices[i] for i in idx]
            boxes.append((tuple(min(p[k] for p in pts) for k in range(d)),
                          tuple(max(p[k] for p in pts) for k in range(d)), ci, side))
        for (l1, h1, ci, s1), (l2, h2, cj, s2) in combinations(boxes, 2):
            if s1 == s2 or any(max(l1[k], l2[k]) > min(h1[k], h2[k]) for k in range(d)):
                continue
            A = [a for a, _ in cells[ci].rows] + [a for a, _ in cells[cj].rows]
            bb = [b for _, b in cells[ci].rows] + [b for _, b in cells[cj].rows]
            P = Polyhedron.from_inequalities(A, bb, ambient_dim=d)
            if P.dim == d - 1:
                yield ci, cj, key, P


def _point_index(cells: list, d: int) -> dict:
    """Every vertex point -> the set of cells containing it (exact; points
    bucketed on a grid by exact floors, so no containment is missed)."""
    pts = sorted({v for c in cells for v in c.vertices})
    if not pts:
        return {}
    lo = [min(p[k] for p in pts) for k in range(d)]
    hi = [max(p[k] for p in pts) for k in range(d)]
    n = max(1, int(round((4 * len(cells)) ** (1.0 / d))))
    h = [(hi[k] - lo[k]) / n or Fraction(1) for k in range(d)]

    def bucket(p):
        return tuple(min(n - 1, math.floor((p[k] - lo[k]) / h[k])) for k in range(d))

    grid: dict = {}
    for p in pts:
        w = _lcm_den(p)
        grid.setdefault(bucket(p), []).append((p, tuple(int(x * w) for x in p) + (w,)))
    out: dict = {p: set() for p in pts}
    for ci, c in enumerate(cells):
        b0 = bucket(tuple(min(v[k] for v in c.vertices) for k in range(d)))
        b1 = bucket(tuple(max(v[k] for v in c.vertices) for k in range(d)))
        ranges = [range(b0[k], b1[k] + 1) for k in range(d)]
        stack: list = [()]
        for r in ranges:
            stack = [s + (i,) for s in stack for i in r]
        for key in stack:
            for p, hp in grid.get(key, ()):
                if c._contains_h(hp):
                    out[p].add(ci)
    return out


def _touching_pairs(cells: list, members: set, d: int, points: dict,
                    budget: Optional[Budget] = None) -> set:
    """Pairs of cells (both in ``members``) that share a point."""
    pairs: set = set()
    if d <= 2:
        # 2-D: two polygons with disjoint interiors cannot cross, so their
        # intersection (a point or a segment) has an end point that is a
        # vertex of one of them
        for p, cs in points.items():
            m = sorted(cs & members)
            pairs.update(combinations(m, 2))
        return pairs
    near: set = set()
    for p, cs in points.items():
        m = sorted(cs & members)
        near.update(combinations(m, 2))
    for i, j in sorted(_box_pairs(cells, members, d)):
        if budget is not None:
            budget.check()
        if (i, j) in near or _meet(cells, (i, j), d):
            pairs.add((i, j))
    return pairs


def _box_pairs(cells: list, members: set, d: int) -> Iterator[tuple]:
    """Pairs of ``members`` whose exact bounding boxes meet (candidates)."""
    boxes = []
    for i in sorted(members):
        V = cells[i].vertices
        boxes.append((tuple(min(v[k] for v in V) for k in range(d)),
                      tuple(max(v[k] for v in V) for k in range(d)), i))
    boxes.sort(key=lambda t: t[0][0])
    active: list = []
    for lo, hi, i in boxes:
        active = [t for t in active if t[1][0] >= lo[0]]
        for lo2, hi2, j in active:
            if all(max(lo[k], lo2[k]) <= min(hi[k], hi2[k]) for k in range(d)):
                yield (min(i, j), max(i, j))
        active.append((lo, hi, i))


def _meet(cells: list, group, d: int, extra=()) -> bool:
    """Exact: whether the cells in ``group`` (and the rows ``extra``) share a point."""
    A: list = []
    b: list = []
    for i in group:
        A.extend(a for a, _ in cells[i].rows)
        b.extend(bb for _, bb in cells[i].rows)
    for a, bb in extra:
        A.append(a)
        b.append(bb)
    return not Polyhedron.from_inequalities(A, b, ambient_dim=d).is_empty()


# ---------------------------------------------------------------------------
# topology
# ---------------------------------------------------------------------------

def _betti(cells: list, label: int, comps: int, d: int, dom_rows: tuple,
           points: dict, budget: Optional[Budget] = None) -> tuple:
    others = {i for i, c in enumerate(cells) if c.label != label}
    mine = len(cells) - len(others)
    if mine == 0:
        return (0,) * d
    if d == 1:
        return (comps,)

    def on_bd(i):
        return any(_dot(a, v) == b for v in cells[i].vertices for a, b in dom_rows)

    touching = _touching_pairs(cells, others, d, points, budget)
    holes = homology.count_off_boundary(others, touching, on_bd)
    if d == 2:
        return (comps, holes)
    chi_v = euler_of_region(cells, others, touching, d, dom_rows, points, budget)
    return (comps, comps + holes - chi_v, holes)


def euler_of_region(cells: list, others: set, touching: set, d: int, dom_rows: tuple,
                    points: Optional[dict] = None, budget: Optional[Budget] = None) -> int:
    """``chi(V) = 1 + (-1)^(d+1) (chi(K) - chi(K n bd D))`` for ``K`` the union of
    the cells ``others`` (see :mod:`polyrelu.homology`).

    ``chi(K n bd D)`` is that of the nerve of the convex sets ``cell n F``
    (``F`` a facet of D).  With ``points`` (vertex -> cells containing it) the
    nerve is read off the vertices on ``bd D``: inside one facet ``F`` the
    sets have disjoint relative interiors and cannot cross (a crossing would
    make the cells' interiors meet near F), so, as in 2-D, a nonempty
    intersection contains a vertex of one of them; sets on two facets meet
    on ``F n F'``, in intervals ending at vertices.  Without ``points`` every
    candidate intersection is an exact LP (the tests compare both).
    """
    # a vertex lying in every cell of s decides "they meet" without an LP
    # (the usual case); otherwise an exact LP decides
    witnesses: dict = {}
    for cs in (points or {}).values():
        m = frozenset(cs & others)
        for i in m:
            witnesses.setdefault(i, set()).add(m)

    def meet(s):
        first = min(s)
        if any(s <= w for w in witnesses.get(first, ())):
            return True
        if budget is not None:
            budget.check()      # raises Exhausted at the deadline
        return _meet(cells, s, d)

    chi_k = homology.nerve_euler(sorted(others), meet, touching)
    if points is not None:
        simplices = []
        for p, cs in points.items():
            fs = [f for f, (a, b) in enumerate(dom_rows) if _dot(a, p) == b]
            m = cs & others
            if fs and m:
                simplices.append([(i, f) for i in m for f in fs])
        chi_kb = homology.closure_euler(simplices)
        return 1 + (-1) ** (d + 1) * (chi_k - chi_kb)
    # K n bd D = the union of the convex sets (cell n facet of D)
    faces = [(i, f) for i in sorted(others) for f, (a, b) in enumerate(dom_rows)
             if any(_dot(a, v) == b for v in cells[i].vertices)]

    def eq_rows(s):
        rows = []
        for _, f in s:
            a, b = dom_rows[f]
            rows.append((tuple(-x for x in a), -b))
        return rows

    def meets(s):
        return _meet(cells, {i for i, _ in s}, d, eq_rows(s))

    fpairs = [(p, q) for p, q in combinations(faces, 2)
              if (p[0] == q[0] or (min(p[0], q[0]), max(p[0], q[0])) in touching)
              and meets({p, q})]
    chi_kb = homology.nerve_euler(faces, meets, fpairs)
    return 1 + (-1) ** (d + 1) * (chi_k - chi_kb)


def decision_regions(net, domain, *, max_regions: Optional[int] = None,
                     time_limit: Optional[float] = None, budget: Optional[Budget] = None,
                     engine: str = "auto", topology: bool = True) -> DecisionRegions:
    """The exact decision regions of the classifier ``net`` over ``domain``.

    Parameters
    ----------
    net : Network
        A network with one output per class (argmax = predicted class).
    domain : Polyhedron or box
        A bounded full-dimensional domain.
    max_regions, time_limit, budget : optional
        Limits (:mod:`polyrelu.budget`); ``max_regions`` counts activation
        regions.  At a limit the result holds the cells found so far,
        ``partial`` is True and ``betti`` None.
    engine : str
        The region engine (:func:`polyrelu.regions.regions`).
    topology : bool
        Compute ``betti`` (the components and the boundary always are).

    Returns
    -------
    DecisionRegions

    Raises
    ------
    DomainError
        An unbounded domain or one of the wrong dimension.

    Examples
    --------
    A ring: class 1 where ``1 <= |x|_1 <= 2`` (ReLUs of the four half-planes
    ``+-x +- y``), class 0 elsewhere.

    >>> import polyrelu as pr
    >>> W1 = [[1, 1], [-1, -1], [1, -1], [-1, 1]]       # t = |x+y| + |x-y| = 2|x|_inf
    >>> net = pr.Network.from_weights([(W1, [0, 0, 0, 0]),
    ...     ([[1, 1, 1, 1], [-1, -1, -1, -1]], [-4, 4]),   # relu(t - 4), relu(4 - t)
    ...     ([[1, 1], [0, 0]], [0, 2])])                   # y0 = |t - 4|, y1 = 2
    >>> dr = pr.decision_regions(net, ([-4, -4], [4, 4]))
    >>> [(c.volume, c.betti) for c in dr]      # class 1: the ring 1 <= |x|_inf <= 3
    [(Fraction(32, 1), (2, 1)), (Fraction(32, 1), (1, 1))]
    """
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    dom = _check_domain(net, domain)
    d = net.input_dim
    b = as_budget(budget, max_regions, time_limit, "decision_regions")
    it = CellIterator(net, dom, b, engine)
    cells = list(it)
    dom_rows = tuple(zip(*dom.inequalities)) if dom.inequalities[0] else ()
    same, boundary = [], []
    partial, reason = it.partial, it.reason
    for i, j, key, piece in _facet_overlaps(cells, d):
        if b.exhausted:
            # the components would be joined only in part: partial
            partial, reason = True, f"{b.stop_reason()} while joining the cells"
            break
        li, lj = cells[i].label, cells[j].label
        if li == lj:
            same.append((i, j))
            continue
        if li > lj:
            i, j, li, lj = j, i, lj, li
        if d == 2:
            verts = (piece[0][1], piece[1][1])
            boundary.append(BoundaryPiece((li, lj), (i, j), key, verts))
        elif d == 1:
            v = next(v for v in cells[i].vertices if v in cells[j].vertices)
            boundary.append(BoundaryPiece((li, lj), (i, j), key, (v,)))
        else:
            boundary.append(BoundaryPiece((li, lj), (i, j), key, None, piece))
    by_label: dict = {}
    for i, c in enumerate(cells):
        by_label.setdefault(c.label, []).append(i)
    k = net.output_dim
    want_betti = topology and not partial and d <= 3
    points = _point_index(cells, d) if want_betti and d >= 2 else {}
    classes: list[ClassRegion] = []
    for label in range(k):
        idx = by_label.get(label, [])
        mset = set(idx)
        comps = homology.components(idx, [e for e in same if e[0] in mset])
        betti = None
        if want_betti:
            try:
                b.check()
                betti = _betti(cells, label, len(comps), d, dom_rows, points, b)
            except Exhausted:
                want_betti, partial = False, True
                reason = f"{b.stop_reason()} while computing the Betti numbers"
                classes = [ClassRegion(c.label, c.cells, c.pieces, c.components, None,
                                       c.volume) for c in classes]
        classes.append(ClassRegion(label, tuple(idx), tuple(cells[i].polyhedron for i in idx),
                                   tuple(comps), betti,
                                   sum((cells[i].volume for i in idx), _ZERO)))
    stats = {"regions": it.region_count, "cells": len(cells), "boundary_pieces": len(boundary),
             "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - cpu0}
    return DecisionRegions(tuple(classes), tuple(cells), tuple(boundary), dom, partial,
                           reason, stats)
