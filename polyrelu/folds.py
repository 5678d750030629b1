"""Fold sets, piecewise-linear surfaces and their canonical representation.

The *fold set* ``F(h)`` of a network ``h`` on an open domain ``Z = int D`` is
the set of inputs where ``h`` is not differentiable (P&L Definition A.8).  It
is the union of the facets shared by adjacent activation regions whose affine
maps differ (facets between regions with the same map are not folds).

A *piecewise hyperplane* with respect to a partition ``P`` of ``Z`` is a
nonempty set ``{z in P : w.z + b = 0}`` for one cell ``P`` of the partition
(P&L Definition A.2); a *piecewise-linear surface* is built level by level from
piecewise hyperplanes with respect to the partition cut out by the lower
levels (Definition A.3).  The operator ``box_k S`` is the union of all
sub-surfaces of ``S`` of order at most ``k`` (P&L eq. 10).  By Lemma A.3::

    box_k S = box_{k-1} S  u  (all piecewise hyperplanes H with respect to the
              connected components of Z \\ box_{k-1} S with H contained in S),

and the canonical representation (Definition A.4) lists exactly these
piecewise hyperplanes as the order-``k`` layer.  :class:`PiecewiseLinearSurface`
computes it from the *set* alone: the pieces are only used as a point set.

How inclusions are decided (exactly):

* Everything is computed on a polyhedral complex that refines the set: the
  activation regions of the network (for :func:`fold_surface`) or the
  arrangement of the pieces' hyperplanes and boundary hyperplanes (for
  :meth:`PiecewiseLinearSurface.from_pieces`).  Distinct facets of such a
  complex have disjoint relative interiors, and a facet's relative interior
  meets no other facet, so ``S`` is a union of closed complex facets.
* The components of ``Z \\ box_{k-1} S`` are the connected components of the
  cell-adjacency graph without the facets already in ``box_{k-1} S``.
* For a component ``P`` and a hyperplane ``H``, ``P n H`` is contained in
  ``S`` iff ``H`` cuts no cell of ``P`` through its interior and every complex
  facet lying on ``H`` between cells of ``P`` belongs to ``S`` (the other
  facets meet ``H`` in codimension >= 2 within ``H``, and ``S`` is closed in
  ``Z``, so a dense subset suffices).  The cut test is an exact sign test at
  the cell's vertices (an exact LP for unbounded cells).
* "Is a convex polyhedron ``Q`` covered by a finite union of closed convex
  polyhedra?" (dependency-graph edges, generality condition 1) is decided by
  exact recursive subtraction in ``Q``'s affine hull (``_covered``).

Hyperplanes are normalised exactly so that the first nonzero entry of ``w``
is ``1`` (:func:`normalize_hyperplane`): a hyperplane is a *set*, so its
orientation is dropped and ``(w, b)`` is unique.

>>> import polyrelu as pr
>>> net = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])])
>>> D = pr.Polyhedron.box([-1, -1], [1, 1])
>>> S = fold_surface(net, D)
>>> S.order_of_surface, [len(layer) for layer in S.layers]
(1, [2])
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Iterable, Optional, Sequence

import networkx as nx

from .budget import Budget, Exhausted, as_budget, check_progress
from .domains import as_domain
from .exceptions import DomainError, NetworkError, PolyreluError, ShapeError
from .linalg import dot, matmul, matvec, nullspace, rank, solve
from .network import Network
from .numbers import fraction_str, to_vector
from .polyhedron import Polyhedron

__all__ = [
    "normalize_hyperplane",
    "hyperplane_str",
    "FoldPiece",
    "FoldSet",
    "fold_set",
    "PiecewiseHyperplane",
    "PiecewiseLinearSurface",
    "fold_surface",
    "fold_surface_on_image",
    "UnitFoldSets",
    "unit_fold_sets",
    "ConditionResult",
    "GeneralityReport",
    "is_general",
    "TransparencyReport",
    "is_transparent",
    "IdentifiableNetwork",
    "construct_identifiable_network",
    "LayerIdentification",
    "identify_first_layer",
    "match_layer",
]

Vec = tuple
Hyperplane = tuple  # ((w_1, ..., w_d), b) meaning w.x + b = 0

_ZERO = Fraction(0)
_ONE = Fraction(1)


# ---------------------------------------------------------------------------
# hyperplanes
# ---------------------------------------------------------------------------

def normalize_hyperplane(w: Sequence[Any], b: Any) -> Hyperplane:
    """The unique representative ``(w, b)`` of ``{x : w.x + b = 0}`` whose first
    nonzero entry of ``w`` is ``1`` (exact; orientation is dropped).

    >>> normalize_hyperplane([0, -2, 4], 6)
    ((Fraction(0, 1), Fraction(1, 1), Fraction(-2, 1)), Fraction(-3, 1))
    """
    wv = to_vector(w, "hyperplane w")
    bv = to_vector([b], "hyperplane b")[0]
    piv = next((x for x in wv if x != 0), None)
    if piv is None:
        raise ShapeError("a hyperplane needs a nonzero normal vector w")
    return tuple(x / piv for x in wv), bv / piv


def hyperplane_str(h: Hyperplane) -> str:
    """Exact text form ``"x1 - 1/2*x2 + 3 = 0"`` of a hyperplane ``(w, b)``.

    >>> hyperplane_str(((1, Fraction(-1, 2)), 3))
    'x1 - 1/2*x2 + 3 = 0'
    """
    w, b = h
    terms = []
    for i, c in enumerate(w, start=1):
        c = Fraction(c)
        if c == 0:
            continue
        mag = abs(c)
        coef = "" if mag == 1 else fraction_str(mag) + "*"
        sign = "-" if c < 0 else "+"
        terms.append((sign, f"{coef}x{i}"))
    b = Fraction(b)
    if b != 0 or not terms:
        terms.append(("-" if b < 0 else "+", fraction_str(abs(b))))
    out = ("-" if terms[0][0] == "-" else "") + terms[0][1]
    for sign, t in terms[1:]:
        out += f" {sign} {t}"
    return out + " = 0"


def _hyperplane_of(poly: Polyhedron) -> Hyperplane:
    """The normalised supporting hyperplane of a (d-1)-dimensional polyhedron."""
    d = poly.ambient_dim
    if poly.dim != d - 1:
        raise ShapeError(f"a fold piece must be (d-1)-dimensional (d = {d}), "
                         f"got dimension {poly.dim}")
    E, f = poly.equalities
    return normalize_hyperplane(E[0], -f[0])


def _value(h: Hyperplane, x: Sequence[Fraction]) -> Fraction:
    return dot(h[0], x) + h[1]


def _pivot(h: Hyperplane) -> int:
    return next(i for i, x in enumerate(h[0]) if x != 0)


def _in_hyperplane_coords(poly: Polyhedron, h: Hyperplane) -> Polyhedron:
    """Projection of a polyhedron on ``h`` dropping the pivot coordinate: an
    affine bijection from ``h`` onto ``Q^(d-1)`` with constant Jacobian, so
    volumes compare exactly."""
    p = _pivot(h)
    return poly.project([i for i in range(poly.ambient_dim) if i != p])


# ---------------------------------------------------------------------------
# pieces
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FoldPiece:
    """A (d-1)-dimensional polyhedral piece of a fold set or surface.

    ``polyhedron`` is the closed piece; as a subset of the surface the piece
    stands for its relative interior within the open domain (the surface is
    the union of the closed pieces intersected with the open domain).
    ``hyperplane`` is its supporting hyperplane ``(w, b)``, ``w.x + b = 0``,
    normalised by :func:`normalize_hyperplane`.  Equality is by exact value.

    >>> P = Polyhedron.from_inequalities([[0, 1], [0, -1]], [1, 1], equalities=([[2, 0]], [1]))
    >>> FoldPiece.from_polyhedron(P).hyperplane
    ((Fraction(1, 1), Fraction(0, 1)), Fraction(-1, 2))
    """

    polyhedron: Polyhedron
    hyperplane: Hyperplane

    @classmethod
    def from_polyhedron(cls, poly: Polyhedron) -> "FoldPiece":
        return cls(poly, _hyperplane_of(poly))

    @property
    def vertices(self):
        return self.polyhedron.vertices

    def __repr__(self) -> str:
        if self.polyhedron.bounded:
            vs = "; ".join("(" + ", ".join(fraction_str(x) for x in v) + ")"
                           for v in self.polyhedron.vertices)
            return f"FoldPiece({hyperplane_str(self.hyperplane)}: {vs})"
        return f"FoldPiece({hyperplane_str(self.hyperplane)}, unbounded)"


@dataclass(frozen=True)
class FoldSet:
    """Result of :func:`fold_set`: the pieces, the domain, and whether the
    region enumeration behind it was complete (``partial`` / ``reason``);
    ``merged`` is False when a limit stopped the merging of convex pieces
    (the set is the same, in more pieces)."""

    pieces: tuple
    domain: Optional[Polyhedron]
    num_regions: int
    partial: bool = False
    reason: str = ""
    merged: bool = True

    def __len__(self) -> int:
        return len(self.pieces)

    def __iter__(self):
        return iter(self.pieces)

    def hyperplanes(self) -> tuple:
        """The distinct supporting hyperplanes, sorted."""
        return tuple(sorted({p.hyperplane for p in self.pieces}))


# ---------------------------------------------------------------------------
# the refining complex
# ---------------------------------------------------------------------------

@dataclass
class _Facet:
    a: int                 # cell index
    b: int                 # cell index
    h: Hyperplane
    poly: Polyhedron
    in_S: bool

    @property
    def piece(self) -> FoldPiece:
        return FoldPiece(self.poly, self.h)


@dataclass
class _Complex:
    """Full-dimensional convex cells covering the domain, with their shared facets."""

    d: int
    domain: Optional[Polyhedron]
    cells: list                          # Polyhedron per cell
    facets: list                         # _Facet
    patterns: list = field(default_factory=list)   # network patterns (or [])
    maps: list = field(default_factory=list)       # affine maps (M, c) (or [])
    partial: bool = False
    reason: str = ""
    # "does the convex Q meet the open set Z?" when Z is not int(domain)
    open_test: Any = None
    # exact vertices of the bounded cells when known (else None): the cut
    # test reads them instead of enumerating the vertices of the polyhedron
    cell_vertices: Any = None

    def meets_open(self, Q: Polyhedron) -> bool:
        if self.open_test is not None:
            return self.open_test(Q)
        return _meets_open_domain(Q, self.domain)

    def __post_init__(self) -> None:
        self._cut: dict = {}
        self.on_h: dict = {}
        for i, f in enumerate(self.facets):
            self.on_h.setdefault(f.h, []).append(i)

    def prefix(self, k: int, why: str) -> "_Complex":
        """The complex of the first ``k`` cells and the facets among them,
        marked partial (``why`` is added to the reason)."""
        keep = [f for f in self.facets if f.a < k and f.b < k]
        reason = f"{self.reason}; {why}" if self.reason else why
        maps: Any = self.maps
        if isinstance(maps, _LazyMaps):
            maps = _LazyMaps(maps._rs[:k])
        else:
            maps = maps[:k]
        return _Complex(self.d, self.domain, self.cells[:k], keep, self.patterns[:k], maps,
                        True, reason, self.open_test,
                        None if self.cell_vertices is None else self.cell_vertices[:k])

    def cuts(self, h: Hyperplane, c: int) -> bool:
        """Does the hyperplane meet the interior of cell ``c``?  (exact)"""
        key = (h, c)
        if key not in self._cut:
            cell = self.cells[c]
            known = None if self.cell_vertices is None else self.cell_vertices[c]
            if known is not None or cell.bounded:
                vals = [_value(h, v) for v in (known if known is not None
                                               else cell.vertices)]
                res = any(v > 0 for v in vals) and any(v < 0 for v in vals)
            else:
                hi = cell.maximize(h[0])
                lo = cell.minimize(h[0])
                up = hi.status == "unbounded" or hi.value + h[1] > 0
                dn = lo.status == "unbounded" or lo.value + h[1] < 0
                res = up and dn
            self._cut[key] = res
        return self._cut[key]


def _check_net(net: Any, what: str) -> None:
    if not isinstance(net, Network):
        raise NetworkError(f"{what} expects a Network, got {type(net).__name__}")


def _check_domain(net_dim: int, domain: Any) -> Optional[Polyhedron]:
    return as_domain(domain, net_dim, why="fold sets need a full-dimensional domain "
                     "(its interior is the open set Z of P&L)")


def _bbox(poly: Polyhedron):
    if not poly.bounded:
        return None
    V = poly.vertices
    return tuple(min(c) for c in zip(*V)), tuple(max(c) for c in zip(*V))


def _bbox_meet(b1, b2) -> bool:
    if b1 is None or b2 is None:
        return True
    return all(l1 <= h2 and l2 <= h1 for l1, h1, l2, h2 in zip(b1[0], b1[1], b2[0], b2[1]))


def _adjacency(cells: Sequence[Polyhedron], d: int, candidates=None):
    """(i, j, facet polyhedron) for cells sharing a (d-1)-dimensional facet."""
    boxes = [_bbox(c) for c in cells]
    verts = [c.vertices if c.bounded else None for c in cells]
    pairs = candidates if candidates is not None else itertools.combinations(range(len(cells)), 2)
    for i, j in pairs:
        if not _bbox_meet(boxes[i], boxes[j]):
            continue
        eq = None
        Vj = verts[j]
        if verts[i] is not None and Vj is not None:
            # exact prefilter: a facet of cell i with cell j on its other side,
            # touching it in at least d vertices (needed for a (d-1)-dim facet)
            for a, c in cells[i].facets:
                vals = [dot(a, v) - c for v in Vj]
                if all(x >= 0 for x in vals) and sum(x == 0 for x in vals) >= d:
                    eq = (a, c)
                    break
            if eq is None:
                continue
        F = cells[i].intersect(cells[j])
        if eq is not None:
            F = F.add_equality(*eq)
        if F.dim == d - 1:
            yield i, j, F


#: with a time limit, a fold computation gives the region enumeration this
#: share of the time: the complex, the canonical layers and the dependency
#: graph of the regions found cost more than finding them
FOLDS_ENUMERATION_SHARE = 0.5


def _network_regions(net, domain, budget: Optional[Budget] = None, progress=None):
    """The activation regions (facet rows prepared), partial, reason."""
    from .regions import _collect
    from .regions import regions as _regions

    it = _regions(net, domain, budget=budget, progress=progress)
    rs = _collect(it)
    return rs, it.partial, it.reason or ""


class _LazyMaps:
    """``maps[c]``: the exact layer maps of region ``c``, computed on first use."""

    def __init__(self, regions: Sequence[Any]) -> None:
        self._rs = regions

    def __len__(self) -> int:
        return len(self._rs)

    def __getitem__(self, c: int):
        return self._rs[c].layer_maps


def _fallback_cells(net: Network, domain: Optional[Polyhedron]):
    """Layer-by-layer splitting, one exact cdd check per piece: slow, but it
    shares no code with :mod:`polyrelu.regions`, so tests use it
    (``engine="fallback"``) as an independent cross-check."""
    d = net.input_dim
    start = domain if domain is not None else Polyhedron.whole_space(d)
    cells: list = [((), start)]
    hw = net.hidden_widths
    if net.activation == "hard_tanh":   # pieces z <= -1, -1 <= z <= 1, z >= 1
        pieces = [(2, [(-1, -1)]), (1, [(1, 1), (-1, 1)]), (0, [(1, -1)])]
    else:                               # bit 1: z >= 0, bit 0: z <= 0
        pieces = [(1, [(-1, 0)]), (0, [(1, 0)])]
    for l, width in enumerate(hw, start=1):
        new: list = []
        for pat, P in cells:
            full = pat + tuple((0,) * w for w in hw[l - 1:])
            M, c = net.layer_maps(full)[l - 1]
            parts: list = [((), P)]
            for i in range(width):
                nxt: list = []
                for bits, Q in parts:
                    if not any(M[i]):
                        # constant pre-activation (SPEC: identically zero -> 0)
                        bit = net._piece_at(c[i]) if net.activation == "hard_tanh" \
                            else (1 if c[i] > 0 else 0)
                        nxt.append((bits + (bit,), Q))
                        continue
                    for bit, rows in pieces:
                        R = Q
                        for s, t in rows:    # s * z <= t with z = M x + c
                            R = R.add_inequality(tuple(s * v for v in M[i]), t - s * c[i])
                        if R.dim == d:
                            nxt.append((bits + (bit,), R))
                parts = nxt
            new.extend((pat + (bits,), Q) for bits, Q in parts)
        cells = new
    return (cells,)


def _complex_from_network(net: Network, domain: Optional[Polyhedron], *, units: bool = False,
                          budget: Optional[Budget] = None, engine: str = "regions",
                          progress: Any = None) -> _Complex:
    """The activation-region complex: cells = activation regions in the domain,
    facets = edges of :func:`polyrelu.regions.region_graph` (a facet is in the
    fold set iff the two affine maps differ).

    With a ``budget`` the enumeration gets :data:`FOLDS_ENUMERATION_SHARE` of
    its time; when the adjacency of the regions found cannot be completed in
    time, the complex keeps the prefix of the regions whose mutual facets
    are all known (as if the enumeration had stopped there), marked partial.
    """
    d = net.input_dim
    partial, reason = False, ""
    facets = []
    verts = None
    if engine == "regions":
        from .regions import _minimal_polyhedron, region_graph

        share = None if budget is None else budget.share(FOLDS_ENUMERATION_SHARE)
        rs, partial, reason = _network_regions(net, domain, share, progress)
        G = region_graph(rs, budget)
        k = G.graph["complete"]
        # the facets in the order of their later region, so that a budget
        # running out here too leaves a complete prefix
        edges = sorted((max(i, j), min(i, j), e) for i, j, e in G.edges(data=True)
                       if i < k and j < k)
        built = []
        for n, (j, i, e) in enumerate(edges):
            if budget is not None and n % 64 == 0 and budget.exhausted:
                k = j
                break
            built.append(_Facet(i, j, normalize_hyperplane(*e["hyperplane"]), e["facet"],
                                not e["same_map"]))
        if k < len(rs):
            why = (f"{budget.stop_reason() if budget else 'a limit'} while finding adjacent "
                   f"regions: the complex keeps the first {k} of the {len(rs)} regions "
                   f"found")
            reason = f"{reason}; {why}" if reason else why
            partial = True
            rs = rs[:k]
        facets = sorted((f for f in built if f.b < k), key=lambda f: (f.a, f.b))
        polys = [_minimal_polyhedron(r) for r in rs]
        pats = [r.pattern for r in rs]
        maps: Any = _LazyMaps(rs)
        # exact vertices the engine kept (bounded regions), else None
        verts = [r.vertices if "_hverts" in r._cache or "_interval" in r._cache else None
                 for r in rs]
    else:
        # independent fallback: layer-by-layer splitting and pairwise adjacency
        cells = _fallback_cells(net, domain)[0]
        polys = [P for _, P in cells]
        pats = [tuple(tuple(x) for x in p) for p, _ in cells]
        maps = [net.layer_maps(p) for p in pats]
        for i, j, F in _adjacency(polys, d):
            facets.append(_Facet(i, j, _hyperplane_of(F), F, maps[i][-1] != maps[j][-1]))
    cx = _Complex(d, domain, polys, facets, pats, maps, partial, reason, cell_vertices=verts)
    if units:
        labels, k = _unit_labels(net, cx, budget)
        for f, lab in zip(cx.facets, labels):
            f.in_S = bool(lab)
        if k < len(cx.cells):
            assert budget is not None
            cx = cx.prefix(k, f"{budget.stop_reason()} while labelling the unit fold sets: "
                              f"the complex keeps the first {k} of {len(cx.cells)} regions")
    return cx


def _complex_from_pieces(pieces: Sequence[FoldPiece], domain: Optional[Polyhedron],
                         d: int) -> _Complex:
    """Arrangement of the pieces' hyperplanes and boundary hyperplanes in the domain."""
    hset: set = set()
    for p in pieces:
        hset.add(p.hyperplane)
        for a, c in p.polyhedron.facets:   # boundary of the piece within its hyperplane
            if any(a):
                hset.add(normalize_hyperplane(a, -c))
    hyps = sorted(hset)
    start = domain if domain is not None else Polyhedron.whole_space(d)
    cells: list = [((), start)]
    for h in hyps:
        nxt: list = []
        for sv, P in cells:
            if _Complex(d, None, [P], []).cuts(h, 0):
                nxt.append((sv + (1,), P.add_inequality(tuple(-x for x in h[0]), h[1])))
                nxt.append((sv + (-1,), P.add_inequality(h[0], -h[1])))
            else:
                x = P.interior_point()
                nxt.append((sv + (1 if _value(h, x) > 0 else -1,), P))
        cells = nxt
    polys = [P for _, P in cells]
    svs = [sv for sv, _ in cells]
    cand = [(i, j) for i, j in itertools.combinations(range(len(cells)), 2)
            if sum(a != b for a, b in zip(svs[i], svs[j])) == 1]
    facets = []
    by_h: dict = {}
    for p in pieces:
        by_h.setdefault(p.hyperplane, []).append(p.polyhedron)
    for i, j, F in _adjacency(polys, d, cand):
        h = _hyperplane_of(F)
        x = F.interior_point()
        inS = any(Q.contains(x) for Q in by_h.get(h, ()))
        facets.append(_Facet(i, j, h, F, inS))
    return _Complex(d, domain, polys, facets)


# ---------------------------------------------------------------------------
# covering test
# ---------------------------------------------------------------------------

def _covered(Q: Polyhedron, parts: Sequence[Polyhedron]) -> bool:
    """Is the closed convex polyhedron ``Q`` contained in the union of the closed
    convex polyhedra ``parts``?  (exact)

    Only parts meeting ``Q`` in a set of full dimension ``m = dim Q`` matter
    (the others are nowhere dense in ``Q`` and the union is closed).  Take one
    such part ``J``; ``Q \\ J`` is covered by the closed pieces
    ``Q n {a_1 x <= c_1, ..., a_{j-1} x <= c_{j-1}, a_j x >= c_j}`` over ``J``'s
    inequalities, and ``Q`` is covered iff each ``m``-dimensional piece is.
    """
    m = Q.dim
    if m < 0:
        return True
    full = [J for J in parts if Q.intersect(J).dim == m]
    if not full:
        return False
    J, rest = full[0], full[1:]
    R = Q
    for a, c in J.facets:
        if R.add_equality(a, c).dim == m:      # Q lies on this facet's hyperplane
            continue
        piece = R.add_inequality(tuple(-x for x in a), -c)
        if piece.dim == m and not _covered(piece, rest):
            return False
        R = R.add_inequality(a, c)
        if R.dim < m:
            return True
    return True


def _meets_open_domain(Q: Polyhedron, domain: Optional[Polyhedron]) -> bool:
    """Does the nonempty convex ``Q`` (inside the domain) meet its interior?"""
    if domain is None:
        return True
    if not Q.bounded:
        x = Q.interior_point()
        return all(dot(a, x) < c for a, c in domain.facets)
    V = Q.vertices
    return not any(all(dot(a, v) == c for v in V) for a, c in domain.facets)


# ---------------------------------------------------------------------------
# fold set
# ---------------------------------------------------------------------------

def _merge_convex(pieces: list, budget: Optional[Budget] = None) -> list:
    """Greedily merge pieces on one hyperplane whose union is convex (bounded
    only); :class:`~polyrelu.budget.Exhausted` when ``budget`` runs out."""
    if not pieces or not all(p.polyhedron.bounded for p in pieces):
        return pieces
    h = pieces[0].hyperplane
    if len(pieces) == 1:
        return pieces
    items = []
    for p in pieces:
        if budget is not None:
            budget.check()
        items.append((p.polyhedron, _in_hyperplane_coords(p.polyhedron, h).volume()))
    changed = True
    while changed:
        changed = False
        for i, j in itertools.combinations(range(len(items)), 2):
            if budget is not None:
                budget.check()
            (P, vp), (R, vr) = items[i], items[j]
            if not _bbox_meet(_bbox(P), _bbox(R)):
                continue
            H = Polyhedron.from_vertices(P.vertices + R.vertices)
            vh = _in_hyperplane_coords(H, h).volume()
            if vh == vp + vr:        # disjoint relative interiors: union is convex
                items[i] = (H, vh)
                del items[j]
                changed = True
                break
    return [FoldPiece(P, h) for P, _ in items]


def _sort_pieces(pieces, budget: Optional[Budget] = None):
    """Pieces by hyperplane, then by their vertices; by hyperplane only when
    ``budget`` runs out first (the vertices of a piece cost exact work)."""
    keys = []
    for p in pieces:
        if budget is not None and budget.exhausted:
            return sorted(pieces, key=lambda p: p.hyperplane)
        keys.append((p.hyperplane, p.polyhedron.vertices if p.polyhedron.bounded else ()))
    order = sorted(range(len(pieces)), key=lambda k: keys[k])
    return [pieces[k] for k in order]


def fold_set(net: Network, domain: Optional[Polyhedron] = None, *, merge: bool = True,
             max_regions: Optional[int] = None, time_limit: Optional[float] = None,
             progress: Any = None, budget: Optional[Budget] = None) -> FoldSet:
    """The exact fold set (points of non-differentiability) of ``net`` on ``int D``.

    Parameters
    ----------
    net : Network
    domain : None, Polyhedron or box
        A full-dimensional polyhedron ``D`` (None: all of ``R^d``; a corner
        pair: a box), checked by :func:`polyrelu.domains.as_domain`.
    merge : bool
        Merge pieces on one hyperplane whose union is convex (bounded pieces).
    max_regions, time_limit, budget
        Limits of the whole call (:mod:`polyrelu.budget`): the region
        enumeration gets :data:`FOLDS_ENUMERATION_SHARE` of the time.  A cut
        enumeration or adjacency gives a result marked ``partial`` (the fold
        set of the regions kept); a merge cut short leaves the remaining
        pieces unmerged (``merged`` False; the set is the same).
    progress : callable, optional
        ``progress(stage, done, total)`` (:mod:`polyrelu.budget`); ``True``:
        a tqdm bar on stderr.

    Returns
    -------
    FoldSet
        ``.pieces``: :class:`FoldPiece` (closed (d-1)-polyhedra standing for
        their relative interiors) whose union, intersected with ``int D``, is
        the fold set: the facets shared by adjacent activation regions whose
        affine maps differ.

    Examples
    --------
    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0], [0, 1], [0, 0]], [0, 0, 1]),
    ...                                ([[1, 1, 1]], [0])])
    >>> F = fold_set(net, pr.Polyhedron.box([-1, -1], [1, 1]))
    >>> [hyperplane_str(h) for h in F.hyperplanes()]
    ['x2 = 0', 'x1 = 0']
    """
    _check_net(net, "fold_set")
    b = as_budget(budget, max_regions, time_limit, "fold_set")
    progress = check_progress(progress, "fold_set")
    domain = _check_domain(net.input_dim, domain)
    cx = _complex_from_network(net, domain, budget=b, progress=progress)
    pieces = [f.piece for f in cx.facets if f.in_S]
    merged = True
    if merge:
        groups: dict = {}
        for p in pieces:
            groups.setdefault(p.hyperplane, []).append(p)
        pieces = []
        for g in groups.values():
            if merged:
                try:
                    g = _merge_convex(g, b)
                except Exhausted:
                    merged = False
            pieces.extend(g)
    reason = cx.reason
    if not merged:
        note = f"{b.stop_reason()} while merging convex pieces: some pieces are unmerged"
        reason = f"{reason}; {note}" if reason else note
    return FoldSet(tuple(_sort_pieces(pieces, b)), domain, len(cx.cells), cx.partial, reason,
                   merged)


# ---------------------------------------------------------------------------
# piecewise-linear surfaces
# ---------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class PiecewiseHyperplane:
    """One piecewise hyperplane ``H = P n {w.x + b = 0}`` of the canonical
    representation (P&L Definition A.2): ``P`` a connected component of
    ``Z \\ box_{order-1} S``.

    ``facets``: the closed complex facets whose union is ``cl H`` (``H`` itself
    is that union within ``Z`` minus ``box_{order-1} S``); ``pieces``: the same
    set with convex unions merged (for display).  ``name`` is ``"H<order>.<i>"``,
    indexed within the layer by hyperplane, then by the smallest vertex, so
    names do not depend on the refining complex.
    """

    order: int
    index: int
    hyperplane: Hyperplane
    facets: tuple
    pieces: tuple
    component: int
    facet_ids: tuple = ()      # indices into the refining complex's facets

    @property
    def name(self) -> str:
        return f"H{self.order}.{self.index}"

    def __repr__(self) -> str:
        return (f"PiecewiseHyperplane({self.name}: {hyperplane_str(self.hyperplane)}, "
                f"{len(self.pieces)} piece(s))")

    def _key(self):
        return (self.hyperplane, frozenset(f.polyhedron for f in self.facets))

    def __eq__(self, other):
        if not isinstance(other, PiecewiseHyperplane):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())


class PiecewiseLinearSurface:
    """A union of (d-1)-dimensional polyhedral pieces in its canonical
    representation (P&L Definition A.4), computed from the set alone.

    Attributes
    ----------
    layers : tuple of tuple of PiecewiseHyperplane
        ``layers[k-1]`` is the order-``k`` layer; ``box_k S`` is the union of
        layers 1..k.  Unique up to indexing within a layer (Lemma A.6).
    order : dict
        Canonical order of every :class:`PiecewiseHyperplane` and of every
        displayed :class:`FoldPiece` (``ph.pieces``).
    is_surface : bool
        False when ``S`` is not a piecewise-linear surface of any finite order
        (``box_k S`` stops growing before it reaches ``S``, e.g. a fold that
        ends inside a region of a non-transparent network); the pieces that
        no ``box_k S`` reaches are in ``unassigned``.
    order_of_surface : int
        ``kappa``, the number of layers (the order of ``S`` when ``is_surface``).
    partial : bool
        The region enumeration stopped early (``reason`` says why): the
        layers then describe the regions found, not the whole fold set.

    Notes
    -----
    Build one with :func:`fold_surface` or :meth:`from_pieces`.

    Examples
    --------
    >>> import polyrelu as pr
    >>> D = pr.Polyhedron.box([-2, -2], [2, 2])
    >>> line = pr.Polyhedron.box([-2, 0], [2, 0])                  # x2 = 0, full
    >>> half = pr.Polyhedron.box([0, 0], [0, 2])                   # x1 = 0, x2 >= 0
    >>> S = PiecewiseLinearSurface.from_pieces([line, half], D)
    >>> [[hyperplane_str(H.hyperplane) for H in layer] for layer in S.layers]
    [['x2 = 0'], ['x1 = 0']]
    >>> list(S.dependency_graph().edges())
    [('H1.0', 'H2.0')]
    """

    def __init__(self, cx: _Complex, *, source: str = "pieces",
                 budget: Optional[Budget] = None):
        self._cx = cx
        self.domain = cx.domain
        self.dim = cx.d
        self.partial = cx.partial
        self.reason = cx.reason
        self.source = source
        self._graph = None
        self._partial_graph: Any = None
        self._compute(budget)

    # -------------------------------------------------------------- builders
    @classmethod
    def from_pieces(cls, pieces: Iterable[Any], domain: Optional[Polyhedron] = None
                    ) -> "PiecewiseLinearSurface":
        """Canonical representation of the union of closed (d-1)-dimensional
        pieces (``FoldPiece`` or ``Polyhedron``) within ``int D``.

        Only the union matters: splitting or merging pieces gives the same
        surface.  The refining complex is the arrangement of the pieces'
        hyperplanes and boundary hyperplanes, so the cost grows with the
        number of arrangement cells (fine for tens of pieces in 2-D; for a
        network's fold set :func:`fold_surface` reuses its activation regions).
        """
        ps = []
        for p in pieces:
            if isinstance(p, FoldPiece):
                ps.append(p)
            elif isinstance(p, Polyhedron):
                ps.append(FoldPiece.from_polyhedron(p))
            else:
                raise ShapeError(f"from_pieces: expected FoldPiece or Polyhedron, got "
                                 f"{type(p).__name__}")
        if not ps and domain is None:
            raise DomainError("from_pieces: no pieces and no domain: dimension unknown")
        d = ps[0].polyhedron.ambient_dim if ps else domain.ambient_dim  # type: ignore[union-attr]
        for p in ps:
            if p.polyhedron.ambient_dim != d:
                raise ShapeError("from_pieces: pieces live in different dimensions")
        domain = _check_domain(d, domain)
        if domain is not None:
            ps = [FoldPiece(p.polyhedron.intersect(domain), p.hyperplane) for p in ps]
            ps = [p for p in ps if p.polyhedron.dim == d - 1]
        return cls(_complex_from_pieces(ps, domain, d))

    # ------------------------------------------------------------ algorithm
    def _compute(self, budget: Optional[Budget] = None) -> None:
        cx = self._cx
        n = len(cx.cells)
        in_T: set = set()
        S_idx = [i for i, f in enumerate(cx.facets) if f.in_S]
        layers: list = []
        self._facet_order: dict = {}
        k = 0
        cut = False
        while True:
            remaining = [i for i in S_idx if i not in in_T]
            if not remaining:
                break
            k += 1
            try:
                new = self._order_layer(k, cx, n, in_T, remaining, budget)
            except Exhausted:
                # order k is incomplete: keep the complete orders 1..k-1
                assert budget is not None
                k -= 1
                cut = True
                kept = f"the layers of orders 1..{k} are complete" if k else \
                    "no layer is complete"
                why = (f"{budget.stop_reason()} while computing the canonical layer of "
                       f"order {k + 1}: {kept}, the other fold pieces are not assigned")
                self.partial = True
                self.reason = f"{self.reason}; {why}" if self.reason else why
                break
            if not new:
                k -= 1
                break
            layer = []
            for t, (h, c, idx, pieces) in enumerate(new):
                facets = tuple(cx.facets[j].piece for j in idx)
                for j in idx:
                    self._facet_order[j] = k
                layer.append(PiecewiseHyperplane(k, t, h, facets, pieces, c, tuple(idx)))
            for _, _, idx, _ in new:
                in_T.update(idx)
            layers.append(tuple(layer))
        self.layers = tuple(layers)
        self.order_of_surface = k
        left: dict = {}
        for i in S_idx:
            if i not in in_T:
                left.setdefault(cx.facets[i].h, []).append(cx.facets[i].piece)
        if cut:
            # not merged, sorted by hyperplane only: no exact vertex work after
            # the budget ran out
            self.unassigned = tuple(sorted((q for g in left.values() for q in g),
                                           key=lambda p: p.hyperplane))
        else:
            merged = []
            for g in left.values():
                try:
                    g = _merge_convex(g, budget)
                except Exhausted:
                    pass      # the same set, unmerged
                merged.extend(g)
            self.unassigned = tuple(_sort_pieces(merged, budget))
        # cut short: whether S is a surface is not known
        self.is_surface = None if cut else not self.unassigned
        self.order = {}
        for layer in self.layers:
            for H in layer:
                self.order[H] = H.order
                for p in H.pieces:
                    self.order[p] = H.order

    @staticmethod
    def _order_layer(k, cx, n, in_T, remaining, budget):
        """The piecewise hyperplanes of order ``k`` (P&L Lemma A.3) as
        ``(h, component, facet indices, merged pieces)``, canonically sorted."""
        # components of Z \ box_{k-1} S (P&L Definition A.1)
        parent = list(range(n))

        def find(x):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for i, f in enumerate(cx.facets):
            if i not in in_T:
                ra, rb = find(f.a), find(f.b)
                if ra != rb:
                    parent[ra] = rb
        comp = [find(c) for c in range(n)]
        members: dict = {}
        for c in range(n):
            members.setdefault(comp[c], []).append(c)
        groups: dict = {}
        for i in remaining:
            f = cx.facets[i]
            groups.setdefault((f.h, comp[f.a]), []).append(i)
        new = []
        for (h, c), idx in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            if budget is not None:
                budget.check()
            # every facet on h between cells of this component must be in S ...
            ok = all(cx.facets[j].in_S for j in cx.on_h[h]
                     if j not in in_T and comp[cx.facets[j].a] == c)
            # ... and h must cut no cell of the component through its interior
            ok = ok and not any(cx.cuts(h, cell) for cell in members[c])
            if ok:
                new.append((h, c, idx))
        # canonical indexing within a layer (independent of the complex):
        # by hyperplane, then by the smallest vertex of the closure
        new.sort(key=lambda t: (t[0], min(cx.facets[j].poly.vertices for j in t[2])))
        out = []
        for h, c, idx in new:
            if budget is not None:
                budget.check()
            pieces = tuple(_sort_pieces(_merge_convex([cx.facets[j].piece for j in idx],
                                                      budget)))
            out.append((h, c, idx, pieces))
        return out

    # -------------------------------------------------------------- queries
    @property
    def hyperplanes(self) -> tuple:
        """All piecewise hyperplanes, by order."""
        return tuple(H for layer in self.layers for H in layer)

    @property
    def pieces(self) -> tuple:
        """All displayed pieces (merged within each piecewise hyperplane)."""
        return tuple(p for H in self.hyperplanes for p in H.pieces)

    def __len__(self) -> int:
        return len(self.hyperplanes)

    def __repr__(self) -> str:
        sizes = ", ".join(str(len(layer)) for layer in self.layers)
        extra = "" if self.is_surface else f", {len(self.unassigned)} unassigned"
        return f"PiecewiseLinearSurface(order {self.order_of_surface}: [{sizes}]{extra})"

    def as_set(self) -> frozenset:
        """The closed complex facets that make up the surface, as exact
        ``(hyperplane, Polyhedron)`` pairs.  A canonical value for surfaces
        computed on the same refining complex (e.g. networks with the same
        activation regions, such as permuted or rescaled copies); use
        :meth:`same_set` to compare surfaces built on different complexes."""
        return frozenset((f.h, f.poly) for f in self._cx.facets if f.in_S)

    def same_set(self, other: "PiecewiseLinearSurface") -> bool:
        """Exact set equality of two surfaces within the same domain (each side's
        pieces are checked to be covered by the other's)."""
        mine = [f.poly for f in self._cx.facets if f.in_S]
        theirs = [f.poly for f in other._cx.facets if f.in_S]
        return (all(_covered(P, theirs) for P in mine)
                and all(_covered(P, mine) for P in theirs))

    def _relint_meets_closure(self, H: PiecewiseHyperplane, K: PiecewiseHyperplane,
                              budget: Optional[Budget] = None) -> bool:
        """relint H n cl K != {} (exact).  H = (u facets of H) n Z \\ box_{k-1} S."""
        if not hasattr(self, "_boxes"):
            self._boxes: dict = {}
        boxes = self._boxes

        def box(P):
            key = id(P)
            if key not in boxes:
                boxes[key] = (P, _bbox(P))
            return boxes[key][1]

        T = [f.poly for j, f in enumerate(self._cx.facets)
             if self._facet_order.get(j, 10 ** 9) < H.order]
        for F in H.facets:
            bF = box(F.polyhedron)
            for G in K.facets:
                if budget is not None:
                    budget.check()
                if not _bbox_meet(bF, box(G.polyhedron)):
                    continue
                Q = F.polyhedron.intersect(G.polyhedron)
                if Q.is_empty() or not self._cx.meets_open(Q):
                    continue
                bQ = _bbox(Q)
                near = [J for J in T if _bbox_meet(bQ, box(J))]
                if not _covered(Q, near):
                    return True
        return False

    def dependency_graph(self, budget: Optional[Budget] = None) -> nx.DiGraph:
        """The dependency graph (P&L Definition A.5): an edge ``H -> K`` iff
        ``order(H) < order(K)`` and ``relint H`` meets ``cl K`` (decided exactly).

        Nodes are named ``"H<order>.<i>"``; node attributes ``order`` (int),
        ``hyperplane`` (exact string), ``w`` and ``b`` (exact strings),
        ``pieces`` (exact vertex lists as a string), ``num_pieces`` (int) --
        all GraphML-safe.  ``node_of`` maps piecewise hyperplanes to names.

        With a ``budget`` (:mod:`polyrelu.budget`) the pairs are decided until
        it runs out: ``G.graph["partial"]`` is then True (the edges found are
        edges; pairs not decided are missing) and ``G.graph["reason"]`` says
        why.  Complete graphs are cached.
        """
        if self._graph is not None:
            return self._graph.copy()
        if budget is not None and self._partial_graph is not None \
                and self._partial_graph[0] is budget:
            return self._partial_graph[1].copy()
        G = nx.DiGraph(partial=False, reason="")
        self.node_of = {}
        for H in self.hyperplanes:
            self.node_of[H] = H.name
            G.add_node(H.name, order=H.order, hyperplane=hyperplane_str(H.hyperplane),
                       w=",".join(fraction_str(x) for x in H.hyperplane[0]),
                       b=fraction_str(H.hyperplane[1]),
                       pieces=" | ".join(
                           ";".join("(" + ",".join(fraction_str(x) for x in v) + ")"
                                    for v in p.polyhedron.vertices)
                           for p in H.pieces),
                       num_pieces=len(H.pieces))
        pairs = [(H, K) for H in self.hyperplanes for K in self.hyperplanes
                 if H.order < K.order]
        for n, (H, K) in enumerate(pairs):
            try:
                meets = self._relint_meets_closure(H, K, budget)
            except Exhausted:
                assert budget is not None
                G.graph.update(partial=True, reason=(
                    f"{budget.stop_reason()} while building the dependency graph: "
                    f"{n} of {len(pairs)} pairs decided, the others have no edge"))
                self._partial_graph = (budget, G)
                return G.copy()
            if meets:
                G.add_edge(H.name, K.name)
        self._graph = G
        return G.copy()

    def write_graphml(self, path: Any, budget: Optional[Budget] = None) -> None:
        """Write the dependency graph as GraphML (string/int attributes only)."""
        G = self.dependency_graph(budget)
        G.graph.update(partial=str(G.graph.get("partial", False)),
                       reason=G.graph.get("reason") or "")
        nx.write_graphml(G, str(path))

    def by_name(self, name: str) -> PiecewiseHyperplane:
        for H in self.hyperplanes:
            if H.name == name:
                return H
        raise KeyError(name)

    def longest_paths(self, budget: Optional[Budget] = None) -> dict:
        """Length of the longest directed path starting at each node (name -> int);
        lower bounds when the graph is partial (``budget``)."""
        G = self.dependency_graph(budget)
        out: dict = {}
        for v in reversed(list(nx.topological_sort(G))):
            out[v] = max((out[s] + 1 for s in G.successors(v)), default=0)
        return out

    def layer_bounds(self, num_hidden_layers: int, budget: Optional[Budget] = None) -> dict:
        """For each piecewise hyperplane, the network layers it may come from
        according to P&L Lemma 3 / A.18: ``order <= l <= lambda - m`` with ``m``
        the longest directed path from it.  name -> (lo, hi).  From a partial
        dependency graph (``budget``) the ranges are still valid, only wider."""
        lp = self.longest_paths(budget)
        return {H.name: (H.order, num_hidden_layers - lp[H.name]) for H in self.hyperplanes}

    def ambiguous(self, num_hidden_layers: int, budget: Optional[Budget] = None) -> tuple:
        """Names of the piecewise hyperplanes whose layer the set cannot pin down
        (``lo < hi`` in :meth:`layer_bounds`): reported, not guessed (P&L Fig. 2)."""
        return tuple(n for n, (lo, hi) in self.layer_bounds(num_hidden_layers,
                                                            budget).items()
                     if lo < hi)

    def summary(self, budget: Optional[Budget] = None) -> dict:
        """A JSON-friendly summary (exact numbers as strings)."""
        G = self.dependency_graph(budget)
        return {
            "order": self.order_of_surface,
            "is_surface": self.is_surface,
            "partial": self.partial,
            "layers": [[{"name": H.name, "hyperplane": hyperplane_str(H.hyperplane),
                         "pieces": [[[fraction_str(x) for x in v]
                                     for v in p.polyhedron.vertices]
                                    if p.polyhedron.bounded else "unbounded"
                                    for p in H.pieces]}
                        for H in layer] for layer in self.layers],
            "unassigned": len(self.unassigned),
            "graph": {"nodes": G.number_of_nodes(), "edges": sorted(G.edges()),
                      "partial": G.graph.get("partial", False),
                      "reason": G.graph.get("reason") or None},
        }


def fold_surface(net: Network, domain: Optional[Polyhedron] = None, *, of: str = "function",
                 max_regions: Optional[int] = None, time_limit: Optional[float] = None,
                 progress: Any = None, budget: Optional[Budget] = None
                 ) -> PiecewiseLinearSurface:
    """The fold set of ``net`` on ``int D`` as a piecewise-linear surface in its
    canonical representation (P&L Definition A.4).

    The canonical layers are computed from the set's geometry only (the
    activation regions are used as a refining complex, never which unit made
    which piece); the result equals
    ``PiecewiseLinearSurface.from_pieces(fold_set(net, D).pieces, D)``.

    Parameters
    ----------
    net : Network
    domain : None, Polyhedron or box
        Full-dimensional domain ``D``; the surface lives in ``int D``.
    of : {"function", "units"}
        ``"function"``: the fold set ``F(h)``; ``"units"``: the union of the
        unit fold sets ``F^l_i`` (Definition A.10) -- the set ``S`` of Lemma
        A.18 (equal to ``F(h)`` for general transparent networks, Lemma A.15).
    max_regions, time_limit, budget
        Limits of the whole call (:mod:`polyrelu.budget`): the region
        enumeration gets :data:`FOLDS_ENUMERATION_SHARE` of the time; the
        result is ``partial`` when the enumeration, the complex or a
        canonical layer was cut short (``reason`` says which; only complete
        layers are kept, ``is_surface`` is then None).  Pass the same
        ``budget`` to :meth:`~PiecewiseLinearSurface.dependency_graph` to
        bound it too.
    progress : callable, optional
        ``progress(stage, done, total)`` (:mod:`polyrelu.budget`); ``True``:
        a tqdm bar on stderr.

    Examples
    --------
    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, "1/4"], [-1, "1/2"]], [1, 1]),
    ...                                ([[1, -2], [-1, "3/2"]], ["1/8", 1]),
    ...                                ([[1, 2]], [0])])
    >>> S = fold_surface(net, pr.Polyhedron.box([-2, -2], [2, 2]))
    >>> [len(layer) for layer in S.layers], sorted(S.dependency_graph().edges())
    ([3, 2], [('H1.0', 'H2.0'), ('H1.0', 'H2.1')])
    >>> S.ambiguous(num_hidden_layers=2)     # layer 1 or 2: the set cannot tell
    ('H1.1', 'H1.2')
    """
    _check_net(net, "fold_surface")
    if of not in ("function", "units"):
        raise PolyreluError(f"fold_surface: of must be 'function' or 'units', not {of!r}")
    if of == "units":
        _require_relu(net, "fold_surface(of='units')")
    b = as_budget(budget, max_regions, time_limit, "fold_surface")
    progress = check_progress(progress, "fold_surface")
    domain = _check_domain(net.input_dim, domain)
    cx = _complex_from_network(net, domain, units=(of == "units"), budget=b,
                               progress=progress)
    return PiecewiseLinearSurface(cx, source=f"network:{of}", budget=b)


def _subtract(Q: Polyhedron, J: Polyhedron) -> list:
    """Closed convex pieces of full dimension covering ``cl(Q \\ J)``, with
    disjoint interiors (exact; ``Q`` and ``J`` full-dimensional)."""
    m = Q.dim
    if Q.intersect(J).dim < m:
        return [Q]
    out, R = [], Q
    for a, c in J.facets:
        piece = R.add_inequality(tuple(-x for x in a), -c)      # a.x >= c
        if piece.dim == m:
            out.append(piece)
        R = R.add_inequality(a, c)
        if R.dim < m:
            break
    return out


def fold_surface_on_image(net: Network, domain: Polyhedron, layer: int
                          ) -> PiecewiseLinearSurface:
    """The fold surface of the truncated network ``h^{l:L}`` on ``int Z_{l-1}``,
    ``Z_{l-1} = h^{1:l-1}(D)`` the image of the domain after layer ``l-1``
    (P&L Lemma A.17 and the induction of Theorem 1), exactly.

    ``Z_{l-1}`` is the union of the images of the activation regions of
    ``h^{1:l-1}``; the lower-dimensional images are closed and nowhere dense,
    so ``int Z_{l-1}`` is the interior of the union of the full-dimensional
    ones (convex polytopes, possibly overlapping: the union need not be
    convex or connected).  The refining complex is made of the activation
    regions of ``h^{l:L}`` in convex pieces of that union with disjoint
    interiors; a facet is a fold iff the affine maps on its sides differ
    (non-differentiability is local, so ``F(h|int Z) = F(h) n int Z``).  The
    dependency graph asks whether ``relint H n cl K`` meets ``int Z``:
    exactly, as "not covered by the closure of the complement".
    ``layer = 1`` is :func:`fold_surface` on the domain.

    Raises
    ------
    DomainError
        Unbounded domain, or ``Z_{l-1}`` has empty interior.
    NetworkError
        Skip connections (the truncation is not a network), ``layer`` out of
        ``1..L-1``.

    Examples
    --------
    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]),
    ...                                ([[1, -1], [1, 1]], [0, -1]), ([[1, 1]], [0])])
    >>> S = fold_surface_on_image(net, pr.Polyhedron.box([-1, -1], [1, 1]), 2)
    >>> [[hyperplane_str(H.hyperplane) for H in L] for L in S.layers]
    [['x1 - x2 = 0', 'x1 + x2 - 1 = 0']]
    """
    _check_net(net, "fold_surface_on_image")
    if net.skips:
        raise NetworkError("fold_surface_on_image: networks with skip connections have no "
                           "truncated network h^{l:L}")
    L = net.num_layers
    if isinstance(layer, bool) or not isinstance(layer, int) or not 1 <= layer <= L - 1:
        raise NetworkError(f"fold_surface_on_image: layer must be 1..{L - 1} (a hidden "
                           f"layer), got {layer!r}")
    checked = _check_domain(net.input_dim, domain)
    if checked is None or not checked.bounded:
        raise DomainError("fold_surface_on_image needs a bounded domain (Z is its image)")
    domain = checked
    if layer == 1:
        return fold_surface(net, domain)
    from .regions import regions as _regions

    weights = net.weights()
    alpha = net.alpha if net.activation == "leaky_relu" else None
    d = net.widths[layer - 1]
    eye = [[_ONE if i == j else _ZERO for j in range(d)] for i in range(d)]
    prefix = Network.from_weights(list(weights[:layer - 1]) + [(eye, [0] * d)],
                                  activation=net.activation, alpha=alpha)
    images: list = []
    for r in _regions(prefix, domain):
        P = r.polyhedron.affine_image(*r.affine_map)
        if P.dim == d and P not in images:
            images.append(P)
    if not images:
        raise DomainError(f"fold_surface_on_image: Z_{layer - 1} = h^(1:{layer - 1})(D) "
                          f"has empty interior in R^{d}")
    # convex pieces of the union with disjoint interiors, and of the complement
    pieces: list = []
    for k, P in enumerate(images):
        parts = [P]
        for J in images[:k]:
            parts = [q for part in parts for q in _subtract(part, J)]
        pieces.extend(parts)
    V = [v for P in images for v in P.vertices]
    lo = [min(v[j] for v in V) - 1 for j in range(d)]
    hi = [max(v[j] for v in V) + 1 for j in range(d)]
    outside = [Polyhedron.box(lo, hi)]
    for P in images:
        outside = [q for part in outside for q in _subtract(part, P)]
    sub = Network.from_weights(list(weights[layer - 1:]), activation=net.activation,
                               alpha=alpha)
    cells, pats, maps = [], [], []
    for D in pieces:
        for r in _regions(sub, D):
            cells.append(r.polyhedron)
            pats.append(r.pattern)
            maps.append(r.layer_maps)
    facets = [_Facet(i, j, _hyperplane_of(F), F, maps[i][-1] != maps[j][-1])
              for i, j, F in _adjacency(cells, d)]
    cx = _Complex(d, None, cells, facets, pats, maps,
                  open_test=lambda Q: not _covered(Q, outside))
    return PiecewiseLinearSurface(cx, source=f"network:function on Z_{layer - 1}")


# ---------------------------------------------------------------------------
# unit fold sets
# ---------------------------------------------------------------------------

def _proportional(m: Sequence[Fraction], c: Fraction, h: Hyperplane):
    """lambda with (m, c) = lambda (w, b), or None."""
    w, b = h
    p = _pivot(h)
    lam = m[p]            # w[p] == 1
    if all(mi == lam * wi for mi, wi in zip(m, w)) and c == lam * b:
        return lam
    return None


def _require_relu(net: Network, what: str) -> None:
    _check_net(net, what)
    if net.activation != "relu":
        raise NetworkError(f"{what}: unit fold sets (P&L Definition A.10) are defined "
                           f"for ReLU units, not {net.activation}")


def _unit_labels(net: Network, cx: _Complex, budget: Optional[Budget] = None):
    """For every complex facet, the units (l, i) whose fold set F^l_i contains it:
    the unit vanishes on the facet and is positive on one side (Def. A.10).

    Returns ``(labels, k)``: the facets come in the order of their later
    cell (the complex's order), so a budget that runs out leaves the labels
    of the facets among the first ``k`` cells complete (``k`` = all when
    done); the labels of the other facets are empty."""
    inner = {}
    out: list = [() for _ in cx.facets]
    for n, f in sorted(enumerate(cx.facets), key=lambda t: max(t[1].a, t[1].b)):
        if budget is not None and budget.exhausted:
            return out, max(f.a, f.b)
        units = []
        for side in (f.a, f.b):
            if side not in inner:
                inner[side] = cx.cells[side].interior_point()
        for l in range(1, net.num_layers):
            Ma, ca = cx.maps[f.a][l - 1]
            Mb, cb = cx.maps[f.b][l - 1]
            for i in range(len(ca)):
                la = _proportional(Ma[i], ca[i], f.h)
                lb = _proportional(Mb[i], cb[i], f.h)
                if la is None or lb is None:
                    continue
                pos = (la * _value(f.h, inner[f.a]) > 0) or (lb * _value(f.h, inner[f.b]) > 0)
                if pos:
                    units.append((l, i))
        out[n] = tuple(units)
    return out, len(cx.cells)


@dataclass(frozen=True)
class UnitFoldSets:
    """Result of :func:`unit_fold_sets`.

    ``labels``: complex facet (FoldPiece) -> tuple of units ``(l, i)``
    (1-based layer, 0-based neuron) whose unit fold set contains it;
    ``pieces``: unit -> tuple of FoldPieces; ``folds``: facet -> whether the
    network function folds there (same facet set as :func:`fold_set` unmerged).
    """

    labels: dict
    pieces: dict
    folds: dict

    def units_containing(self, facets: Iterable[FoldPiece]) -> set:
        """Units whose fold set contains every given facet."""
        sets = [set(self.labels.get(f, ())) for f in facets]
        return set.intersection(*sets) if sets else set()


def unit_fold_sets(net: Network, domain: Optional[Polyhedron] = None) -> UnitFoldSets:
    """Label the facets of the activation-region complex with the units whose
    fold set ``F^l_i = {z : h^{1:l}_i(z) = 0, h^{1:l}_i positive near z}``
    (P&L Definition A.10) contains them.

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])])
    >>> U = unit_fold_sets(net, pr.Polyhedron.box([-1, -1], [1, 1]))
    >>> sorted(U.pieces), sum(len(v) for v in U.pieces.values())
    ([(1, 0), (1, 1)], 4)
    """
    _require_relu(net, "unit_fold_sets")
    _check_net(net, "unit_fold_sets")
    domain = _check_domain(net.input_dim, domain)
    cx = _complex_from_network(net, domain)
    labels, _ = _unit_labels(net, cx)
    lab: dict = {}
    per: dict = {}
    folds: dict = {}
    for f, units in zip(cx.facets, labels):
        p = f.piece
        lab[p] = units
        folds[p] = f.in_S
        for u in units:
            per.setdefault(u, []).append(p)
    return UnitFoldSets(lab, {u: tuple(v) for u, v in per.items()}, folds)


# ---------------------------------------------------------------------------
# general and transparent networks
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ConditionResult:
    """One condition: ``holds`` True/False/None (undecided, limit reached) and
    where it fails."""

    condition: int
    holds: Optional[bool]
    where: str = ""

    def __bool__(self) -> bool:
        return self.holds is True


@dataclass(frozen=True)
class GeneralityReport:
    """Result of :func:`is_general`: ``general`` (True/False/None) and the three
    conditions of P&L section 3 (1: no local optimum of a unit has value 0;
    2: the rank condition, eq. 8; 3: no two unit pieces are multiples)."""

    general: Optional[bool]
    conditions: tuple

    def __bool__(self) -> bool:
        return self.general is True

    @property
    def failing(self) -> tuple:
        return tuple(c for c in self.conditions if c.holds is False)


def _unit_maps(cx: _Complex, l: int, i: int) -> list:
    return [(cx.maps[c][l - 1][0][i], cx.maps[c][l - 1][1][i]) for c in range(len(cx.cells))]


def _condition1(net: Network, cx: _Complex) -> ConditionResult:
    """No local optimum of any unit has value exactly zero: the zero set of each
    unit lies in the closure of both its positive and its negative set."""
    d = cx.d
    for l in range(1, net.num_layers):
        for i in range(net.widths[l]):
            maps = _unit_maps(cx, l, i)
            pos, neg, zeros = [], [], []
            for c, (m, c0) in enumerate(maps):
                cell = cx.cells[c]
                V = cell.vertices if cell.bounded else None
                if V is None:
                    hi = cell.maximize(m)
                    lo = cell.minimize(m)
                    has_pos = hi.status == "unbounded" or hi.value + c0 > 0
                    has_neg = lo.status == "unbounded" or lo.value + c0 < 0
                else:
                    vals = [dot(m, v) + c0 for v in V]
                    has_pos = any(v > 0 for v in vals)
                    has_neg = any(v < 0 for v in vals)
                neg_m = tuple(-x for x in m)
                if has_pos:
                    pos.append(cell.add_inequality(neg_m, c0))          # g >= 0
                if has_neg:
                    neg.append(cell.add_inequality(m, -c0))             # g <= 0
                if not any(m):
                    Zc = cell if c0 == 0 else None
                else:
                    Zc = cell.add_equality(m, -c0)
                if Zc is not None and not Zc.is_empty() and _meets_open_domain(Zc, cx.domain):
                    zeros.append((c, Zc))
            for c, Zc in zeros:
                if not _covered(Zc, pos):
                    return ConditionResult(1, False, f"unit ({l}, {i}) has a local minimum "
                                           f"with value 0 near {_pt(Zc)} (region "
                                           f"{_pat(cx, c)})")
                if not _covered(Zc, neg):
                    return ConditionResult(1, False, f"unit ({l}, {i}) has a local maximum "
                                           f"with value 0 near {_pt(Zc)} (region "
                                           f"{_pat(cx, c)})")
    del d
    return ConditionResult(1, True)


def _pt(P: Polyhedron) -> str:
    return "(" + ", ".join(fraction_str(x) for x in P.interior_point()) + ")"


def _pat(cx: _Complex, c: int) -> str:
    return str([list(p) for p in cx.patterns[c]]) if cx.patterns else str(c)


def _condition2(net: Network, max_checks: int) -> ConditionResult:
    """rank(I_l W_l ... I_k W_k) = min{d_{k-1}, rank I_k, ..., rank I_l} for all
    k <= l and all 0/1 diagonal I (P&L eq. 8), by DFS over prefixes: the
    condition at layer l holds for every I_l iff every min(r, d_l) rows of
    W_l N are independent, N the prefix product of rank r."""
    checks = 0
    L = net.num_layers
    W = [layer.W for layer in net.layers]
    for k in range(1, L + 1):
        # prefix: (matrix N = I_{l-1} W_{l-1} ... I_k W_k as a tuple of rows, rank)
        d_in = net.widths[k - 1]
        ident = tuple(tuple(_ONE if a == b else _ZERO for b in range(d_in)) for a in range(d_in))
        prefixes = {ident: d_in}
        for l in range(k, L + 1):
            nxt = {}
            for N, r in prefixes.items():
                P = matmul(W[l - 1], N)
                m = len(P)
                s = min(r, m)
                if s > 0:
                    for S in itertools.combinations(range(m), s):
                        checks += 1
                        if checks > max_checks:
                            return ConditionResult(2, None, f"undecided: more than "
                                                   f"{max_checks} rank checks")
                        if rank([P[t] for t in S]) != s:
                            return ConditionResult(
                                2, False, f"layers {k}..{l}: rows {list(S)} of W_{l} times "
                                f"a prefix of rank {r} have rank < {s}")
                if l < L:
                    for bits in itertools.product((0, 1), repeat=m):
                        rows = tuple(P[t] if bits[t] else (_ZERO,) * len(P[0])
                                     for t in range(m))
                        nxt[rows] = min(r, sum(bits))
            prefixes = nxt
    return ConditionResult(2, True)


def _condition3(net: Network, cx: _Complex) -> ConditionResult:
    """No two (unit, linear region) pieces implement multiples of each other
    (including the zero multiple), over the linear regions within the domain."""
    seen: dict = {}
    adj: dict = {}
    for f in cx.facets:
        adj.setdefault(f.a, []).append(f.b)
        adj.setdefault(f.b, []).append(f.a)
    for l in range(1, net.num_layers):
        for i in range(net.widths[l]):
            maps = _unit_maps(cx, l, i)
            comp = [-1] * len(maps)
            for s in range(len(maps)):
                if comp[s] >= 0:
                    continue
                comp[s] = s
                stack = [s]
                while stack:
                    x = stack.pop()
                    for y in adj.get(x, ()):
                        if comp[y] < 0 and maps[y] == maps[x]:
                            comp[y] = s
                            stack.append(y)
                m, c0 = maps[s]
                vec = tuple(m) + (c0,)
                piv = next((x for x in vec if x != 0), None)
                if piv is None:
                    return ConditionResult(3, False, f"unit ({l}, {i}) is identically zero "
                                           f"on the region {_pat(cx, s)}")
                key = tuple(x / piv for x in vec)
                if key in seen:
                    other = seen[key]
                    return ConditionResult(3, False, f"unit ({l}, {i}) on region "
                                           f"{_pat(cx, s)} is a multiple of unit "
                                           f"{other[0]} on region {other[1]}")
                seen[key] = ((l, i), _pat(cx, s))
    return ConditionResult(3, True)


def is_general(net: Network, domain: Optional[Polyhedron] = None, *,
               max_rank_checks: int = 200000) -> GeneralityReport:
    """Decide the three conditions of a *general* network (P&L section 3).

    1. No unit's pre-activation has a local optimum with value exactly 0 in
       ``int D`` (exact covering tests on the activation regions).
    2. The rank condition (P&L eq. 8) for all 0/1 diagonal matrices --
       combinatorial; ``None`` (undecided) beyond ``max_rank_checks``.
    3. Over the linear regions within ``D``, no two units' linear pieces are
       multiples of each other (a zero piece is a multiple of anything).

    Conditions 1 and 3 are decided on the domain's activation regions (the
    paper's Z); condition 2 is purely algebraic.

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 2], [3, -1]], [1, -1]), ([[1, 1]], [0])])
    >>> is_general(net, pr.Polyhedron.box([-4, -4], [4, 4])).general
    True
    >>> dead = pr.Network.from_weights([([[1, 2], [0, 0]], [1, -1]), ([[1, 1]], [0])])
    >>> rep = is_general(dead, pr.Polyhedron.box([-4, -4], [4, 4]))
    >>> rep.general, [c.condition for c in rep.failing]
    (False, [2])
    """
    _check_net(net, "is_general")
    domain = _check_domain(net.input_dim, domain)
    if net.activation != "relu" or net.skips:
        raise NetworkError("is_general: the conditions are defined for plain ReLU "
                           "networks without skips")
    cx = _complex_from_network(net, domain)
    conds = (_condition1(net, cx), _condition2(net, max_rank_checks), _condition3(net, cx))
    if any(c.holds is False for c in conds):
        g: Optional[bool] = False
    elif all(c.holds for c in conds):
        g = True
    else:
        g = None
    return GeneralityReport(g, conds)


@dataclass(frozen=True)
class TransparencyReport:
    """Result of :func:`is_transparent`; on failure ``layer``, ``pattern`` and an
    exact ``point`` where every unit of that layer is negative."""

    transparent: Optional[bool]
    layer: Optional[int] = None
    pattern: Optional[tuple] = None
    point: Optional[tuple] = None
    partial: bool = False
    reason: str = ""

    def __bool__(self) -> bool:
        return self.transparent is True


def is_transparent(net: Network, domain: Optional[Polyhedron] = None, *,
                   max_regions: Optional[int] = None, time_limit: Optional[float] = None,
                   budget: Optional[Budget] = None) -> TransparencyReport:
    """Every input in ``int D`` has, in every hidden layer, a unit with
    pre-activation ``>= 0`` (P&L section 3).

    Exact via the activation regions: the violating set is open, so it meets
    the interior of a region whose pattern has no active unit in some layer
    and no unit identically zero there (with the SPEC's bit rule, a unit
    that is identically zero is reported 0 but satisfies ``>= 0``).  With
    limits (:mod:`polyrelu.budget`) an enumeration cut short before a
    violation is found leaves ``transparent`` None (``partial``).

    >>> import polyrelu as pr
    >>> D = pr.Polyhedron.box([-3, -3], [3, 3])
    >>> net = pr.Network.from_weights([([[1, 0], [-1, 0]], [1, 1]), ([[1, 1]], [0])])
    >>> bool(is_transparent(net, D))
    True
    >>> gap = pr.Network.from_weights([([[1, 0], [-1, 0]], [-1, -1]), ([[1, 1]], [0])])
    >>> rep = is_transparent(gap, D)
    >>> rep.transparent, rep.layer, rep.pattern
    (False, 1, ((0, 0),))
    """
    from .regions import regions as _regions

    _check_net(net, "is_transparent")
    if net.activation == "hard_tanh":
        # the pattern bits of hard tanh are pieces 0/1/2, not signs
        raise NetworkError("is_transparent: transparency (P&L section 3) is defined via "
                           "the sign of pre-activations: ReLU or leaky ReLU, not hard_tanh")
    b = as_budget(budget, max_regions, time_limit, "is_transparent")
    domain = _check_domain(net.input_dim, domain)
    it = _regions(net, domain, budget=b)
    for r in it:
        pat = r.pattern
        maps = None
        for l, bits in enumerate(pat, start=1):
            if any(bits):
                continue
            if maps is None:
                maps = r.layer_maps
            M, c = maps[l - 1]
            if any(not any(M[i]) and c[i] == 0 for i in range(len(c))):
                continue
            return TransparencyReport(False, l, tuple(tuple(b) for b in pat),
                                      r.polyhedron.interior_point())
    if it.partial:
        return TransparencyReport(None, partial=True, reason=it.reason or "")
    return TransparencyReport(True)


# ---------------------------------------------------------------------------
# Lemma A.17: a network whose fold set identifies it
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class IdentifiableNetwork:
    """Result of :func:`construct_identifiable_network`.

    ``domains[l-1]`` is the convex polytope ``C_l`` in the input space of
    layer ``l`` on which the construction works (``C_1`` = the domain,
    ``C_{l+1}`` = the image of the all-active part of ``C_l``, a subset of
    P&L's ``Z_l``); ``anchors[l-1][j]`` is a point of ``C_l`` where unit
    ``(l, j)`` is zero and every other unit of layer ``l`` is positive (P&L
    eqs. 46-47 / 50-51).  ``surface`` is the verified fold surface on the
    domain, ``generality`` the verified :func:`is_general` report (None
    without ``verify``), ``attempts`` how many random draws were needed.
    """

    network: Network
    domain: Polyhedron
    domains: tuple
    anchors: tuple
    seed: int
    attempts: int
    surface: Optional[PiecewiseLinearSurface] = None
    generality: Optional[GeneralityReport] = None


class _Retry(Exception):
    pass


def _rand_vec(rng: random.Random, n: int, scale: int = 8) -> tuple:
    while True:
        v = tuple(Fraction(rng.randint(-scale, scale), scale) for _ in range(n))
        if any(v):
            return v


def _simplest_between(lo: Fraction, hi: Fraction) -> Fraction:
    """The rational with the smallest denominator strictly between lo < hi
    (Stern-Brocot descent; exact)."""
    import math

    if lo >= hi:
        raise ValueError("empty interval")
    if lo < 0 < hi:
        return _ZERO
    if hi <= 0:
        return -_simplest_between(-hi, -lo)
    fl = math.floor(lo)
    if fl + 1 < hi:
        return Fraction(fl + 1)
    # lo and hi share the integer part fl; recurse on the reciprocals of the fractions
    a, b = lo - fl, hi - fl
    if a == 0:
        return fl + Fraction(1, math.floor(1 / b) + 1)
    return fl + 1 / _simplest_between(1 / b, 1 / a)


def _simple_middle(lo: Fraction, hi: Fraction) -> Fraction:
    """A simple rational in the middle half of (lo, hi)."""
    q = (hi - lo) / 4
    return _simplest_between(lo + q, hi - q)


def _simple_point_in_relint(F: Polyhedron, skip: Optional[int] = None) -> tuple:
    """A rational point with small denominators in the relative interior of the
    polyhedron F (exactly verified; falls back to F's interior point)."""
    x = F.interior_point()
    E, f = F.equalities
    fac = F.facets
    for k in range(1, 12):
        delta = Fraction(1, 2 ** k)
        free = [j for j in range(len(x)) if j != skip]
        yl = list(x)
        for j in free:
            yl[j] = _simplest_between(x[j] - delta, x[j] + delta)
        if E:
            # restore the equalities by solving for pivot coordinates
            from .linalg import rref as _rref
            R, piv = _rref([list(e) + [fi] for e, fi in zip(E, f)])
            for r, pcol in zip(R, piv):
                yl[pcol] = r[-1] - sum(r[j] * yl[j] for j in range(len(x)) if j != pcol)
        y = tuple(yl)
        if all(dot(e, y) == fi for e, fi in zip(E, f)) and all(dot(a, y) < c for a, c in fac):
            return y
    return x


def _box_hull(P: Polyhedron):
    V = P.vertices
    return tuple(min(c) for c in zip(*V)), tuple(max(c) for c in zip(*V))


def _build_layer(rng, C: Polyhedron, box, anchors, m: int):
    """One layer of the Lemma A.17 construction on the polytope C (exact)."""
    n = C.ambient_dim
    center = C.interior_point()
    Cfac = C.facets
    lo, hi = box
    span = max(h - l for l, h in zip(lo, hi))
    rows: list = []

    def strictly_inside(x):
        return all(dot(a, x) < c for a, c in Cfac)

    # unit 1: through the anchors of the previous layer (eq. 53), else near the centre
    if anchors:
        A = [tuple(a) + (_ONE,) for a in anchors]
        ns = nullspace(A, n + 1)
        if len(ns) != 1:
            raise _Retry
        w1, b1 = tuple(ns[0][:n]), ns[0][n]
        if not any(w1):
            raise _Retry
    else:
        w1 = _rand_vec(rng, n)
        b1 = -dot(w1, center) + Fraction(rng.randint(-2, 2), 16) * span * max(abs(x) for x in w1)
    v = dot(w1, center) + b1
    if v == 0:
        raise _Retry
    if v < 0:
        w1, b1 = tuple(-x for x in w1), -b1
    rows.append((w1, b1))
    # unit 2: positive wherever unit 1 <= 0 on the (box over-approximation of) Z (eq. 44)
    Bpoly = Polyhedron.box(lo, hi)
    A1 = Bpoly.add_inequality(w1, -b1)                      # u1 <= 0
    w2 = tuple(-x + Fraction(rng.randint(-2, 2), 16) * max(abs(y) for y in w1) for x in w1)
    s = min(dot(w2, x) for x in A1.vertices)
    t = min(dot(w2, x) for x in C.vertices)
    if not t < s:
        raise _Retry
    b2 = _simple_middle(-s, -t)
    rows.append((w2, b2))

    def face(Q, i):
        w, b = rows[i]
        F = Q.add_equality(w, -b)
        if F.dim != n - 1:
            raise _Retry
        z = _simple_point_in_relint(F)
        if not strictly_inside(z):
            raise _Retry
        if any(dot(rows[j][0], z) + rows[j][1] <= 0 for j in range(len(rows)) if j != i):
            raise _Retry
        return z

    Q = C
    for w, b in rows:
        Q = Q.add_inequality(tuple(-x for x in w), b)
    if Q.dim != n:
        raise _Retry
    zs = [face(C.add_inequality(tuple(-x for x in w2), b2), 0),
          face(C.add_inequality(tuple(-x for x in w1), b1), 1)]
    # units 3..m: strictly separate the earlier anchors from an interior point
    for i in range(2, m):
        z = Q.interior_point()
        for _ in range(40):
            w = _rand_vec(rng, n)
            f = [dot(w, zj) for zj in zs]
            if dot(w, z) > max(f):
                w = tuple(-x for x in w)
                f = [-x for x in f]
            if dot(w, z) < min(f):
                break
        else:
            raise _Retry
        b = _simple_middle(-min(f), -dot(w, z))
        rows.append((w, b))
        zi = face(Q, i)
        zs.append(zi)
        Q = Q.add_inequality(tuple(-x for x in w), b)
        if Q.dim != n:
            raise _Retry
    W = tuple(r[0] for r in rows)
    bb = tuple(r[1] for r in rows)
    if rank(W) != m or any(x == 0 for row in W for x in row):
        raise _Retry     # general networks have no zero weights (P&L section 3)
    for j, zj in enumerate(zs):
        vals = [dot(w, zj) + b for w, b in rows]
        if vals[j] != 0 or any(v <= 0 for t2, v in enumerate(vals) if t2 != j):
            raise _Retry
    return W, bb, Q, zs


def construct_identifiable_network(widths: Sequence[int], domain: Polyhedron, seed: int = 0, *,
                                   max_attempts: int = 40, verify: bool = True
                                   ) -> IdentifiableNetwork:
    """An exact network following the construction of P&L Lemma A.17.

    ``widths = (d0, d1, ..., d_{L-1}, 1)`` with ``d0 >= d1 >= ... >= d_{L-1} >= 2``;
    ``domain`` a bounded full-dimensional polytope.  Layer ``l``'s unit 1 passes
    through the anchor points of layer ``l-1`` (so every unit of layer ``l-1``
    has an edge to it, eq. 53), unit 2 is positive wherever unit 1 is not on
    a box containing ``Z_{l-1}`` (transparency, eq. 44), and units ``3..d_l``
    strictly separate the earlier anchors from an interior point.  Random
    choices are small rationals drawn from ``seed`` (zero weights are
    redrawn).  With ``verify`` the result is checked exactly and a failed draw
    is redrawn: the network is *general* (all three conditions of
    :func:`is_general`; small "simplest" rationals can otherwise make two
    units' linear pieces exact multiples, or break the rank condition), it is
    transparent on the domain, its fold set is a piecewise-linear surface, its
    dependency graph has ``d1`` order-1 starts of paths of length ``L-2``, and
    :func:`identify_first_layer` recovers ``(W_1, b_1)`` up to permutation and
    positive scaling.  ``generality`` holds the :class:`GeneralityReport`.
    The full statement of Lemma A.17 for every layer (on ``int Z_{l-1}``) can
    be checked with :func:`fold_surface_on_image`.

    >>> import polyrelu as pr
    >>> res = construct_identifiable_network([2, 2, 1], pr.Polyhedron.box([-1, -1], [1, 1]))
    >>> res.network.architecture, bool(is_transparent(res.network, res.domain))
    ('2-2-1', True)
    """
    widths = [int(w) for w in widths]
    if len(widths) < 3 or widths[-1] != 1:
        raise NetworkError("construct_identifiable_network: widths = (d0, d1, ..., 1) with "
                           "at least one hidden layer and one output")
    hid = widths[1:-1]
    if any(a < b for a, b in zip(widths[:-2], widths[1:-1])) or min(hid) < 2:
        raise NetworkError(f"construct_identifiable_network: needs non-increasing widths "
                           f"d0 >= d1 >= ... >= d_(L-1) >= 2 (P&L Lemma A.17), got {widths}")
    dom = _check_domain(widths[0], domain)
    if dom is None or not dom.bounded:
        raise DomainError("construct_identifiable_network needs a bounded domain (P&L "
                          "Lemma A.17; transparency of layer 1 needs boundedness)")
    domain = dom
    rng = random.Random(seed)
    L = len(widths) - 1
    for attempt in range(1, max_attempts + 1):
        try:
            C = domain
            box = _box_hull(domain)
            anchors = None
            layers, doms, anc = [], [], []
            for l in range(1, L):
                W, b, Q, zs = _build_layer(rng, C, box, anchors, widths[l])
                layers.append((W, b))
                doms.append(C)
                anc.append(tuple(zs))
                C = Q.affine_image(W, b)
                if C.dim != widths[l]:
                    raise _Retry
                # interval image of the box under relu(W x + b): contains Z_l
                nlo, nhi = [], []
                for w, bi in zip(W, b):
                    mn = bi + sum(min(x * lo_, x * hi_) for x, lo_, hi_ in zip(w, *box))
                    mx = bi + sum(max(x * lo_, x * hi_) for x, lo_, hi_ in zip(w, *box))
                    nlo.append(max(mn, _ZERO))
                    nhi.append(max(mx, _ZERO))
                box = (tuple(nlo), tuple(nhi))
                anchors = [matvec(W, z) for z in zs]
                anchors = [tuple(a + bi for a, bi in zip(z, b)) for z in anchors]
                # simpler anchors in the same open faces {y_j = 0, y_k > 0} of C
                simple = []
                for j, a in enumerate(anchors):
                    e = tuple(_ONE if k == j else _ZERO for k in range(len(a)))
                    Fj = C.add_equality(e, 0)
                    y = _simple_point_in_relint(Fj) if Fj.dim == len(a) - 1 else a
                    if any(y[k] <= 0 for k in range(len(a)) if k != j):
                        y = a
                    simple.append(y)
                anchors = simple
            out = _rand_vec(rng, widths[-2])
            out = tuple(x if x != 0 else _ONE for x in out)
            layers.append(((out,), (_ZERO,)))
            net = Network.from_weights(layers)
        except _Retry:
            continue
        surface = None
        generality = None
        if verify:
            # general (P&L section 3): the cheap conditions 2 and 3 first
            cx = _complex_from_network(net, domain)
            c2 = _condition2(net, 200000)
            c3 = _condition3(net, cx)
            if not (c2 and c3):
                continue
            if not is_transparent(net, domain):
                continue
            surface = PiecewiseLinearSurface(cx, source="network:function")
            if not surface.is_surface:
                continue
            # d1 order-1 starts of paths of length L-2 that identify layer 1
            ident = identify_first_layer(surface, widths[1], num_layers=L)
            if not ident.identified or not ident.oriented or \
                    match_layer(ident, *net.weights()[0]) is None:
                continue
            c1 = _condition1(net, cx)
            if not c1:
                continue
            generality = GeneralityReport(True, (c1, c2, c3))
        return IdentifiableNetwork(net, domain, tuple(doms), tuple(anc), seed, attempt, surface,
                                   generality)
    raise PolyreluError(f"construct_identifiable_network: no verified network for widths "
                        f"{widths} after {max_attempts} attempts (seed {seed}); try another seed")


# ---------------------------------------------------------------------------
# identifying the first layer from the fold surface
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerIdentification:
    """Result of :func:`identify_first_layer`.

    ``identified``: exactly ``width`` candidates were found; ``hyperplanes``:
    their ``(w, b)`` (normalised, or oriented so that the unit is positive on
    its active side when ``oriented``); ``candidates``: node names of the
    order-1 piecewise hyperplanes with descendant chains of length ``L-2``;
    ``reason``: why identification failed (an honest "cannot tell").
    """

    identified: bool
    hyperplanes: tuple
    oriented: bool
    candidates: tuple
    reason: str = ""

    @property
    def W(self) -> tuple:
        return tuple(h[0] for h in self.hyperplanes)

    @property
    def b(self) -> tuple:
        return tuple(h[1] for h in self.hyperplanes)


def _orient(surface: PiecewiseLinearSurface, H: PiecewiseHyperplane, R: Sequence[Vec]):
    """Orientation of a first-layer hyperplane from the function's gradients on
    both sides of one of its facets (P&L Theorem A.1): in the basis of the
    recovered rows, the inactive side's gradient has a zero coefficient for
    this unit.  Returns +1/-1 (w is positive on the active side) or None."""
    cx = surface._cx
    if not cx.maps:
        return None
    i = [normalize_hyperplane(*h) for h in R].index(H.hyperplane)
    RT = tuple(zip(*[h[0] for h in R]))
    for j in H.facet_ids:
        f = cx.facets[j]
        coeff = []
        for c in (f.a, f.b):
            M, _ = cx.maps[c][-1]
            rows = []
            for g in M:
                x = solve(RT, g)
                if x is None:
                    return None
                rows.append(x)
            coeff.append(all(r[i] == 0 for r in rows))
        if coeff[0] != coeff[1]:
            active = f.b if coeff[0] else f.a
            x = cx.cells[active].interior_point()
            return 1 if _value(H.hyperplane, x) > 0 else -1
    return None


def identify_first_layer(surface: PiecewiseLinearSurface, width: int,
                         num_layers: Optional[int] = None) -> LayerIdentification:
    """Recover the first layer's hyperplanes from the fold surface alone.

    By P&L Lemma 3 / A.18, a piecewise hyperplane with a directed path of
    length ``L-2`` lies in the zero set of a first-layer unit; if exactly
    ``width`` such order-1 hyperplanes exist, they are the first layer's
    hyperplanes (Theorem A.1).  ``num_layers`` is ``L`` (default: the
    surface's order + 1).  When the surface comes from :func:`fold_surface`,
    each hyperplane is also oriented from the function's gradients on its
    two sides (positive scaling instead of sign ambiguity).

    >>> import polyrelu as pr
    >>> res = construct_identifiable_network([2, 2, 2, 1], pr.Polyhedron.box([-1, -1], [1, 1]))
    >>> ident = identify_first_layer(res.surface, 2, num_layers=3)
    >>> W1, b1 = res.network.weights()[0]
    >>> ident.identified, ident.oriented, match_layer(ident, W1, b1) is not None
    (True, True, True)
    """
    if not isinstance(surface, PiecewiseLinearSurface):
        raise NetworkError(f"identify_first_layer expects a PiecewiseLinearSurface, got "
                           f"{type(surface).__name__}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise NetworkError(f"identify_first_layer: width must be a positive integer, "
                           f"got {width!r}")
    L = num_layers if num_layers is not None else surface.order_of_surface + 1
    if isinstance(L, bool) or not isinstance(L, int) or L < 2:
        raise NetworkError(f"identify_first_layer: num_layers must be an integer >= 2, "
                           f"got {L!r}")
    lp = surface.longest_paths()
    cands = [H for H in surface.hyperplanes if H.order == 1 and lp[H.name] >= L - 2]
    names = tuple(H.name for H in cands)
    if len(cands) != width:
        n1 = len(surface.layers[0]) if surface.layers else 0
        return LayerIdentification(
            False, (), False, names,
            f"{n1} order-1 piecewise hyperplane(s), {len(cands)} with a descendant chain "
            f"of length L-2 = {L - 2}; the first layer has width {width}: the fold set "
            f"alone cannot tell which hyperplanes come from layer 1")
    hyps = [H.hyperplane for H in cands]
    signs = [_orient(surface, H, hyps) if rank([h[0] for h in hyps]) == width
             else None for H in cands]
    oriented = all(s is not None for s in signs)
    if oriented:
        hyps = [(tuple(s * x for x in w), s * b) for (w, b), s in zip(hyps, signs)]
    return LayerIdentification(True, tuple(hyps), oriented, names)


def match_layer(identified: Any, W: Sequence[Sequence[Any]], b: Sequence[Any]):
    """Match recovered hyperplanes to a layer ``(W, b)`` up to permutation and
    scaling, exactly: returns ``(perm, scales)`` with
    ``(W[i], b[i]) = scales[i] * recovered[perm[i]]``, or None.

    ``identified`` is a :class:`LayerIdentification` or a list of ``(w, b)``.
    When the identification is oriented, only positive scales are accepted.

    >>> match_layer([((1, 0), 1), ((0, 1), -1)], [[0, 2], [3, 0]], [-2, 3])
    ([1, 0], [Fraction(2, 1), Fraction(3, 1)])
    """
    positive = False
    if isinstance(identified, LayerIdentification):
        positive = identified.oriented
        hyps = identified.hyperplanes
    else:
        hyps = tuple((to_vector(w), to_vector([c])[0]) for w, c in identified)
    if len(W) != len(b):
        raise ShapeError(f"match_layer: W has {len(W)} rows but b has {len(b)} entries")
    rows = [tuple(to_vector(r)) + (to_vector([c])[0],) for r, c in zip(W, b)]
    if len(rows) != len(hyps):
        return None
    perm, scales, used = [], [], set()
    for r in rows:
        found = None
        for j, (w, c) in enumerate(hyps):
            if j in used:
                continue
            v = tuple(w) + (c,)
            p = next((t for t, x in enumerate(v) if x != 0), None)
            if p is None or r[p] == 0:
                continue
            s = r[p] / v[p]
            if all(x == s * y for x, y in zip(r, v)) and (s > 0 or not positive):
                found = (j, s)
                break
        if found is None:
            return None
        used.add(found[0])
        perm.append(found[0])
        scales.append(found[1])
    return perm, scales
