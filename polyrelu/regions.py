"""Exact enumeration of the activation regions and linear regions of a network.

An **activation region** is a pattern (one piece per hidden neuron) whose region
``{x in D : every pre-activation has its piece's sign}`` is full-dimensional
(J&V Theorem 2.2: the inequalities ``H~ <= G~`` of each layer are exactly the
sign conditions on the pre-activations ``z_l = M_l x + c_l``, which depend
only on the pattern of the earlier layers).  A **linear region** is a maximal
connected union of activation regions on which the network is one affine map
(:func:`linear_regions`).  Both counts are reported everywhere.

Two engines give identical sets of patterns:

* ``engine="tree"`` -- J&V Algorithm 2: depth-first over the neurons, layer by
  layer; each child adds one inequality (Algorithm 1 line 14 / 18), and a
  partial pattern whose polyhedron is not full-dimensional is pruned with an
  exact :class:`~polyrelu.polyhedron.Polyhedron` test.  Faithful and slow.
* ``engine="fast"`` (``"auto"``) -- splits each parent cell incrementally by
  the next layer's hyperplanes.  Bounded domains of dimension 2 to 6 keep
  **float-first V-polytopes** (``polyrelu._regions_frontier``): float
  vertices with rigorous error radii, exact incidences, and exact vertices
  and rows only where a filtered sign fails or a region's exact data is
  read (:attr:`Region.vertices`, :attr:`Region.inequalities`, ... are then
  rebuilt from the pattern).  The float maps of a whole frontier of cells
  are propagated and evaluated in batches (``polyrelu._regions_batch``)
  and the cells are cut in vectorised rounds.  1-D domains keep exact
  intervals (``polyrelu._regions_planar``); R^d up to dimension 4 is
  split orthant by orthant in homogeneous coordinates with exact vertices
  (``polyrelu._regions_vrep``); other domains split with float LP
  proposals verified exactly (``polyrelu._regions_lp``).
  ``engine="lp"`` forces the LP splitter.  Every engine is depth first and
  lazy: limited runs get complete regions early, and ``max_regions`` /
  ``time_limit`` stop with complete regions even where one layer alone cuts
  the domain into millions of cells (5-D inputs).

Order: the fast engine's bounded splitters (and the LP and tree engines)
report regions in lexicographic order of their patterns (every split is
depth first over the neurons in index order, pieces ascending).

Filtered predicates: a float value ``v`` of a pre-activation decides its sign
only when ``|v| > bound`` with a bound that provably dominates every error
(conversion of exact values to float, float propagation of the maps through
the layers, the evaluation itself; see ``polyrelu._regions_maps``);
otherwise the sign is computed in exact integer arithmetic.

Conventions (SPEC): ReLU bit 1 = active (``z >= 0``), 0 = inactive; a neuron
whose pre-activation is identically zero on a region is inactive there, so a
region is counted once.  Zero-volume cells are never regions.

>>> import polyrelu as pr
>>> net = pr.Network.from_weights([([[1, 0], [0, 1], [1, 1]], [0, 0, -1]),
...                                ([[1, -1, 2]], [0])])
>>> box = pr.Polyhedron.box([-2, -2], [2, 2])
>>> it = regions(net, box)
>>> rs = list(it)
>>> len(rs), it.partial
(7, False)
>>> sum(r.polyhedron.volume() for r in rs)
Fraction(16, 1)
>>> count_regions(net, box)
RegionCounts(activation=7, linear=7, partial=False)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Generator, NamedTuple, Optional, Sequence

import numpy as np

from .budget import Budget, Exhausted, ProgressCallback, as_budget, check_progress
from .domains import as_domain
from .exceptions import DomainError, NetworkError, ShapeError
from .linalg import integer_rank_is, matvec
from .numbers import to_matrix, to_vector

__all__ = [
    "Region",
    "PatternCheck",
    "RegionIterator",
    "RegionCounts",
    "LinearRegion",
    "regions",
    "region_of",
    "region_of_pattern",
    "linear_regions",
    "count_regions",
    "region_graph",
    "CachedPredictor",
    "slice_domain",
    "ENGINES",
]

ENGINES = ("auto", "fast", "tree", "lp")


# ---------------------------------------------------------------------------
# Region
# ---------------------------------------------------------------------------

def _piece_rows(net, m, c, piece: int):
    """Inequalities ``a . x <= b`` of one neuron's piece, for ``z = m . x + c``.

    J&V Algorithm 1 lines 14/18: v = +1 (inactive) appends ``z <= 0``,
    v = -1 (active) appends ``-z <= 0``; hard tanh pieces add ``z <= -1``,
    ``-1 <= z <= 1``, ``z >= 1``.  Any positive scaling of (m, c) is allowed
    except for hard tanh, where ``c`` must be in the same units as the
    thresholds (pass ``scale``-free Fractions).
    """
    neg = tuple(-v for v in m)
    if net.activation != "hard_tanh":
        return [(neg, c)] if piece == 1 else [(tuple(m), -c)]
    if piece == 0:
        return [(tuple(m), -1 - c)]
    if piece == 2:
        return [(neg, c - 1)]
    return [(neg, c + 1), (tuple(m), 1 - c)]


@dataclass(frozen=True)
class Region:
    """One activation region: a full-dimensional closed polyhedron of the domain
    on which the activation pattern, hence the network's affine map, is fixed.

    Attributes
    ----------
    pattern : tuple of tuple of int
        One tuple per hidden layer (SPEC: ReLU 1 = active, 0 = inactive).
    interior_point : tuple of Fraction
        A rational point strictly inside the region (verified exactly).
    net, domain
        The network and the domain (None = R^d) the region belongs to.

    Notes
    -----
    ``polyhedron``, ``affine_map``, ``layer_maps``, ``constraints`` and
    ``vertices`` are exact and computed on first use.  Regions compare and
    hash by pattern (regions of one enumeration have distinct patterns).

    Examples
    --------
    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, -1]], [0]), ([[2]], [1])])
    >>> r = region_of(net, [1, 0])
    >>> r.pattern, r.affine_map
    (((1,),), (((Fraction(2, 1), Fraction(-2, 1)),), (Fraction(1, 1),)))
    >>> r.polyhedron.inequalities
    (((Fraction(-1, 1), Fraction(1, 1)),), (Fraction(0, 1),))
    """

    pattern: tuple
    interior_point: tuple = field(compare=False)
    net: Any = field(compare=False, repr=False)
    domain: Any = field(default=None, compare=False, repr=False)
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def layer_maps(self) -> tuple:
        """Exact pre-activation maps ``(M_l, c_l)``, l = 1..L (last = output)."""
        lm = self._cache.get("layer_maps")
        if lm is None:
            from ._regions_maps import exact_layer_maps

            # integer propagation (numpy object arrays): same values as
            # net.layer_maps(pattern), much faster for wide layers
            inet = _intnet(self.net)
            lm = exact_layer_maps(inet, self.pattern, _node_chain(inet, self.pattern))
            self._cache["layer_maps"] = lm
        return lm

    @property
    def inequalities(self) -> tuple:
        """Minimal H-representation ``(A, b)`` meaning ``A x <= b``.

        Read off the exact V-representation when the fast engine kept one
        (polygon edges / interval ends; in dimension >= 3 the defining rows
        whose tight vertices span a hyperplane, as primitive integer rows),
        else ``polyhedron.inequalities``.
        """
        h = self._cache.get("inequalities")
        if h is None:
            edges = self._cache.get("_edges")
            if edges is not None:
                rows = [_primitive_row((-a, -b), c) for a, b, c in edges]
                h = (tuple(r[0] for r in rows), tuple(r[1] for r in rows))
            elif "_interval" in self._cache:
                (lo,), (hi,) = self._cache["_interval"]
                h = (((Fraction(-1),), (Fraction(1),)), (-lo, hi))
            elif "_hverts" in self._cache:
                keys = _facets_of_polytope(_integer_constraints(self), self._cache["_hverts"])
                self._cache["_int_inequalities"] = keys
                h = (tuple(tuple(Fraction(v) for v in k[:-1]) for k in keys),
                     tuple(Fraction(k[-1]) for k in keys))
            else:
                h = self.polyhedron.inequalities
            self._cache["inequalities"] = h
        return h

    @property
    def affine_map(self) -> tuple:
        """Exact ``(M, c)`` with ``net(x) = M x + c`` on the region."""
        lm = self._cache.get("layer_maps")
        if lm is not None:
            return lm[-1]
        am = self._cache.get("affine_map")
        if am is None:
            # the integer rows of the output node (the hidden layers stay
            # integer), along the shared prefix nodes
            inet = _intnet(self.net)
            node = _node_chain(inet, self.pattern)[-1]
            d, S = inet.d, inet.S[node.l]
            full = node.exact_rows(list(range(inet.widths[node.l])))
            am = (tuple(tuple(Fraction(int(v), S) for v in row[:d]) for row in full),
                  tuple(Fraction(int(row[d]), S) for row in full))
            self._cache["affine_map"] = am
        return am

    @property
    def constraints(self) -> tuple:
        """All defining inequalities ``(a, b, label)`` meaning ``a . x <= b``.

        ``label`` is ``(layer, neuron, piece)`` for a neuron's inequality
        (layers from 1, neurons from 0: ``pattern[layer - 1][neuron] ==
        piece``) or ``("domain", row)``.  Neurons whose pre-activation
        is constant on the region contribute nothing.
        """
        cons = self._cache.get("constraints")
        if cons is not None:
            return cons
        out: list[tuple[tuple, Any, tuple]] = []
        maps = self.layer_maps
        for l, pieces in enumerate(self.pattern, start=1):
            M, c = maps[l - 1]
            for i, piece in enumerate(pieces):
                if not any(M[i]):
                    continue
                for a, b in _piece_rows(self.net, M[i], c[i], piece):
                    out.append((a, b, (l, i, piece)))
        if self.domain is not None:
            A, b = self.domain.raw_inequalities
            for j, (a, bj) in enumerate(zip(A, b)):
                out.append((tuple(a), bj, ("domain", j)))
        cons = tuple(out)
        self._cache["constraints"] = cons
        return cons

    @property
    def polyhedron(self):
        """The closed region as an exact :class:`~polyrelu.polyhedron.Polyhedron`
        (minimal H-representation computed lazily by Polyhedron)."""
        P = self._cache.get("polyhedron")
        if P is None:
            from .polyhedron import Polyhedron

            cons = self.constraints
            d = self.net.input_dim
            P = Polyhedron.from_inequalities([a for a, _, _ in cons],
                                             [b for _, b, _ in cons], ambient_dim=d)
            self._cache["polyhedron"] = P
        return P

    @property
    def vertices(self) -> tuple:
        """Exact vertices (bounded regions; from the V-representation when the
        fast engine kept one, else from the polyhedron)."""
        v = self._cache.get("vertices")
        if v is None:
            raw = self._cache.get("_hverts")
            if raw is not None:
                # exact homogeneous integer vertices (X_1, .., X_d, W), W > 0
                v = tuple(tuple(Fraction(x, h[-1]) for x in h[:-1]) for h in raw)
            else:
                v = self.polyhedron.vertices
            self._cache["vertices"] = v
        return v

    @property
    def bounded(self) -> bool:
        """Whether the region is bounded; a V-representation, or a bounded
        domain (cached on the shared domain), says so without any LP."""
        if "_hverts" in self._cache or "_interval" in self._cache:
            return True
        if self.domain is not None and self.domain.bounded:
            return True
        return self.polyhedron.bounded

    def __contains__(self, x) -> bool:
        return self.polyhedron.contains(x)


def _minimal_polyhedron(r: Region):
    """The region as a Polyhedron of its minimal rows (:attr:`Region.inequalities`,
    from the vertices when the engine kept them): the same set as
    ``r.polyhedron`` with a few rows instead of one per neuron, so that the
    exact work on it (intersections, vertices, LPs) is cheap."""
    P = r._cache.get("_minimal_polyhedron")
    if P is None:
        from .polyhedron import Polyhedron

        A, b = r.inequalities
        P = Polyhedron.from_inequalities(A, b, ambient_dim=r.net.input_dim) if A else \
            Polyhedron.whole_space(r.net.input_dim)
        r._cache["_minimal_polyhedron"] = P
    return P


def _primitive_row(a, c) -> tuple:
    """Integer row (a, c) of ``a . x <= c`` divided by its gcd, as Fractions."""
    from math import gcd

    g = 0
    for v in tuple(a) + (c,):
        g = gcd(g, int(v))
    g = g or 1
    return tuple(Fraction(int(v) // g) for v in a), Fraction(int(c) // g)


def _integer_constraints(r) -> list:
    """The defining inequalities of ``r`` (as :attr:`Region.constraints`) as
    integer rows ``(a_1, .., a_d, b)`` meaning ``a . x <= b``.

    Neuron rows come from the exact integer maps ``z = (m . x + c) / S_l``
    (:mod:`polyrelu._regions_maps`), so no Fraction arithmetic is needed:
    ``z >= 0`` is ``-m . x <= c``; hard tanh ``z <= -1`` is ``m . x <= -c - S``.
    """
    inet = _intnet(r.net)
    d = inet.d
    tanh = r.net.activation == "hard_tanh"
    out = []
    for node, pieces in zip(_node_chain(inet, r.pattern), r.pattern):
        S = inet.S[node.l]
        full = node.exact_rows(list(range(len(pieces)))).tolist()
        for row, piece in zip(full, pieces):
            m, c = [int(v) for v in row[:d]], int(row[d])
            if not any(m):
                continue  # constant on the region: no inequality
            neg = [-v for v in m]
            if not tanh:  # J&V Algorithm 1 lines 14 / 18
                out.append(tuple(neg) + (c,) if piece == 1 else tuple(m) + (-c,))
            elif piece == 0:
                out.append(tuple(m) + (-c - S,))
            elif piece == 2:
                out.append(tuple(neg) + (c - S,))
            else:
                out.append(tuple(neg) + (c + S,))
                out.append(tuple(m) + (S - c,))
    if r.domain is not None:
        hit = _DOMAIN_ROWS.get(id(r.domain))
        if hit is None or hit[0] is not r.domain:
            if len(_DOMAIN_ROWS) > 32:
                _DOMAIN_ROWS.clear()
            A, b = r.domain.raw_inequalities
            hit = _DOMAIN_ROWS[id(r.domain)] = (r.domain, [_primitive(a, bj)
                                                           for a, bj in zip(A, b)])
        out.extend(hit[1])
    return out


_DOMAIN_ROWS: dict = {}  # id(domain) -> (domain, integer rows), as _INTNETS

#: pattern prefixes -> their Node, shared by the regions of one network: the
#: regions of an enumeration come depth first, so consecutive ones share the
#: exact rows of their first layers (an LRU of this many nodes)
_PREFIX_NODES_MAX = 4096
_PREFIX_NODES: dict = {}


def _node_chain(inet, pattern) -> list:
    """The nodes of layers 1..L along a complete pattern (as
    :func:`polyrelu._regions_maps.node_chain`), reusing the nodes of shared
    prefixes with their exact rows."""
    from ._regions_maps import Node, quiet

    cache = _PREFIX_NODES
    key: tuple = (id(inet),)
    hit = cache.get(key)
    if hit is None or hit[0] is not inet:
        if len(cache) > _PREFIX_NODES_MAX:
            cache.clear()
        with quiet():
            hit = cache[key] = (inet, inet.root())
    else:
        cache[key] = cache.pop(key)   # most recently used last
    out = [hit[1]]
    for pcs in pattern:
        key = key + (tuple(pcs),)
        hit = cache.get(key)
        if hit is None or hit[0] is not inet:
            with quiet():
                hit = (inet, Node(inet, out[-1], tuple(pcs)))
        else:
            del cache[key]
        cache[key] = hit
        out.append(hit[1])
    while len(cache) > _PREFIX_NODES_MAX:
        del cache[next(iter(cache))]
    return out


def _facets_of_polytope(rows, hverts) -> list:
    """Minimal H-representation of a full-dimensional polytope from its exact
    vertices (homogeneous integers ``(X, W)``, ``W > 0``) and valid integer
    rows ``(a, b)`` (``a . x <= b``) containing its facets.

    A valid row is facet-defining iff its tight vertices span a hyperplane:
    homogeneous rank ``d`` (the polytope is their convex hull).  Returns the
    facet rows as primitive integer tuples, each hyperplane once.
    """
    from math import gcd

    d = len(hverts[0]) - 1
    out: list[tuple] = []
    # a . X - b W for every vertex and row.  Zero modulo two primes is
    # necessary for zero; it is decided exactly (Python ints) for those pairs
    # only -- the exact products of every pair dominated the time in 5-D.
    # Tightness does not depend on the scale of a row: the rows are made
    # primitive (and duplicates dropped) only once they are facets.
    Kx = [tuple(row[:-1]) + (-row[-1],) for row in rows if any(row[:-1])]
    if not Kx:
        return out
    maybe = np.ones((len(Kx), len(hverts)), dtype=bool)
    for p in _TIGHT_PRIMES if d + 1 <= 8 else ():
        Hp = np.array([[v % p for v in h] for h in hverts], dtype=np.int64)
        Kp = np.array([[v % p for v in k] for k in Kx], dtype=np.int64)
        maybe &= (Kp @ Hp.T) % p == 0     # entries < p: d + 1 products < 2**62
    seen: set = set()
    for r in np.flatnonzero(maybe.sum(axis=1) >= d).tolist():
        kx = Kx[r]
        t = [hverts[k] for k in np.flatnonzero(maybe[r]).tolist()
             if sum(a * x for a, x in zip(kx, hverts[k]) if a) == 0]
        if len(t) < d:
            continue
        g = 0
        for v in kx:
            g = gcd(g, v)
        key = tuple(v // g for v in kx[:-1]) + (-kx[-1] // g,)
        if key not in seen and integer_rank_is(d, t):
            seen.add(key)
            out.append(key)
    return out


#: primes below 2**28: a row of d + 1 <= 8 products of residues fits an int64
_TIGHT_PRIMES = (268435399, 268435367)


_INTNETS: dict = {}


def _intnet(net):
    """Cached integer-scaled form of a network (keyed by identity)."""
    from ._regions_maps import IntNet

    hit = _INTNETS.get(id(net))
    if hit is not None and hit.net is net:
        return hit
    if len(_INTNETS) > 32:
        _INTNETS.clear()
    inet = IntNet(net)
    _INTNETS[id(net)] = inet
    return inet


def _make_region(net, pattern, point, domain, **extra) -> Region:
    r = Region(tuple(tuple(p) for p in pattern), tuple(point), net, domain)
    r._cache.update(extra)
    return r


class _LazyCache(dict):
    """``Region._cache`` whose exact V-representation entries are computed on
    first read: ``lazy = (fn, args, keys)``, the entries ``keys`` are
    ``fn(*args)`` (a module-level function: picklable).  The float-first
    engine keeps only the combinatorial data of a cell (constraint ids,
    incidences); exact rows and vertices are built from the pattern when a
    user reads them."""

    __slots__ = ("_lazy",)

    def __init__(self, lazy) -> None:
        super().__init__()
        self._lazy = lazy

    def _fill(self, key) -> bool:
        lazy = self._lazy
        if lazy is not None and key in lazy[2]:
            self._lazy = None
            self.update(lazy[0](*lazy[1]))
            return True
        return False

    def __missing__(self, key):
        if self._fill(key):
            return dict.__getitem__(self, key)
        raise KeyError(key)

    def get(self, key, default=None):
        if not dict.__contains__(self, key):
            self._fill(key)
        return dict.get(self, key, default)

    def __contains__(self, key) -> bool:
        return dict.__contains__(self, key) or (self._lazy is not None
                                                and key in self._lazy[2])

    def __reduce__(self):
        return (_LazyCache, (self._lazy,), None, None, iter(self.items()))


_PLANAR_KEYS = ("_hverts", "_edges")
_POLYTOPE_KEYS = ("_hverts",)


def _polygon_exact(net, prefix, keys, incb, dom_rows) -> dict:
    """Exact ``_hverts`` (counter-clockwise) and ``_edges`` (integer lines
    ``a x + b y + c``, positive inside, edge ``j`` from vertex ``j`` to
    ``j + 1``) of a float-first polygon, from its keys and incidences."""
    from ._regions_frontier import PoolSplitter
    from ._regions_pool import polygon_exact

    sp = PoolSplitter(_intnet(net), _exact_nodes(net), dom_rows, {}, {})
    hv, lines = polygon_exact(sp, prefix, keys, incb)
    return {"_hverts": hv, "_edges": lines}


def _polytope_exact(net, prefix, keys, incb, dom_rows) -> dict:
    """Exact ``_hverts`` of a float-first polytope (its constraint keys and
    incidence masks): each vertex spans the null space of its tight rows."""
    from ._regions_frontier import PoolSplitter
    from ._regions_pool import polytope_vertices

    sp = PoolSplitter(_intnet(net), _exact_nodes(net), dom_rows, {}, {})
    return {"_hverts": polytope_vertices(sp, prefix, keys, incb)}


_EXACT: dict = {}


def _exact_nodes(net):
    """Cached :class:`polyrelu._regions_batch.ExactNodes` of a network
    (keyed by identity, as :func:`_intnet`)."""
    from ._regions_batch import ExactNodes

    hit = _EXACT.get(id(net))
    if hit is not None and hit.inet.net is net:
        return hit
    if len(_EXACT) > 32:
        _EXACT.clear()
    ex = ExactNodes(_intnet(net))
    _EXACT[id(net)] = ex
    return ex


# ---------------------------------------------------------------------------
# domains
# ---------------------------------------------------------------------------

class _Domain:
    """Checked domain data shared by the engines."""

    def __init__(self, net, domain) -> None:
        d = net.input_dim
        self.d = d
        domain = as_domain(domain, d)
        self.P = domain
        if domain is None:
            self.rows = []
            self.bounded = False
            self.point = (Fraction(0),) * d
            self.box = None
            return
        # raw rows (a . x <= b); the minimal form is computed only where a
        # V-representation needs it (d <= VREP_MAX_DIM)
        A, b = domain.raw_inequalities
        self.rows = [(tuple(a), bi) for a, bi in zip(A, b) if any(a)]
        self.point = domain.interior_point()
        self.box = self._axis_box(d)
        if self.box is not None:
            self.bounded = True
        elif d <= VREP_MAX_DIM:
            self.bounded = domain.bounded
            if self.bounded:
                V = domain.vertices
                self.box = (tuple(min(v[j] for v in V) for j in range(d)),
                            tuple(max(v[j] for v in V) for j in range(d)))
        else:
            lo, hi = [], []
            for j in range(d):
                e = [Fraction(int(k == j)) for k in range(d)]
                top, bot = domain.maximize(e), domain.minimize(e)
                if top.status != "optimal" or bot.status != "optimal":
                    break
                lo.append(bot.value)
                hi.append(top.value)
            self.bounded = len(hi) == d
            self.box = (tuple(lo), tuple(hi)) if self.bounded else None

    def _axis_box(self, d):
        """An outer box read off axis-aligned rows, or None."""
        lo: list = [None] * d
        hi: list = [None] * d
        for a, b in self.rows:
            nz = [j for j, v in enumerate(a) if v]
            if len(nz) != 1:
                continue
            j = nz[0]
            bound = b / a[j]
            if a[j] > 0:
                hi[j] = bound if hi[j] is None else min(hi[j], bound)
            else:
                lo[j] = bound if lo[j] is None else max(lo[j], bound)
        if any(v is None for v in lo) or any(v is None for v in hi):
            return None
        return tuple(lo), tuple(hi)


# ---------------------------------------------------------------------------
# the iterator with limits
# ---------------------------------------------------------------------------

# the engines call ``ctl.check()`` (and hand ``ctl.check`` to the splitters),
# which raises ``_Stop`` at the deadline or on an interrupt: a Budget
_Stop = Exhausted
_Control = Budget


class RegionIterator:
    """Iterator of :class:`Region` returned by :func:`regions`.

    Attributes
    ----------
    partial : bool
        True when a limit stopped the enumeration (set once exhausted).
    reason : str or None
        Why it stopped early (``"max_regions=..."``, ``"time limit ..."``,
        ``"interrupted ..."``).
    stats : dict
        Engine name, counts, exact fallbacks, seconds.
    budget : Budget
        The limits the enumeration runs under.
    """

    def __init__(self, gen: Generator[Region, None, None], budget: Budget, stats: dict,
                 progress: ProgressCallback | None = None, t0: float | None = None) -> None:
        self._gen = gen
        self.budget = budget
        self.stats = stats
        self.max_regions = budget.max_regions
        self.time_limit = budget.time_limit
        self.partial = False
        self.reason: str | None = None
        self.count = 0
        self._done = False
        self._t0 = time.perf_counter() if t0 is None else t0
        self._progress = progress

    def __iter__(self) -> "RegionIterator":
        return self

    def _finish(self, partial: bool, reason) -> None:
        self._done = True
        self.partial = partial
        self.reason = reason
        self.stats["regions"] = self.count
        self.stats["seconds"] = time.perf_counter() - self._t0
        self._gen.close()

    def __next__(self) -> Region:
        if self._done:
            raise StopIteration
        try:
            self.budget.check()
            r = next(self._gen)
        except StopIteration:
            self._finish(False, None)
            raise
        except Exhausted as e:
            if e.kind == "interrupted":
                why = f"interrupted after {self.count} regions"
            else:
                b = self.budget
                share = "" if b.fraction >= 1 or b.time_limit is None else \
                    f" (the enumeration's share: {b.fraction * b.time_limit:.3g} s)"
                why = f"time limit of {b.time_limit:g} s reached after {self.count} " \
                      f"regions{share}"
            self._finish(True, why)
            raise StopIteration from None
        except BaseException as e:
            # a KeyboardInterrupt outside Budget.sigint, or an error: the
            # generator is dead; the iterator must not look complete later
            what = "interrupted" if isinstance(e, KeyboardInterrupt) else \
                f"stopped by {type(e).__name__}"
            self._finish(True, f"{what} after {self.count} regions")
            raise
        if self.max_regions is not None and self.count >= self.max_regions:
            # one region more exists: the result is partial
            self._finish(True, f"max_regions={self.max_regions} reached")
            raise StopIteration
        self.count += 1
        if self._progress is not None:
            self._progress("regions", self.count, None)
        return r


def regions(net, domain=None, *, engine: str = "auto", max_regions: int | None = None,
            time_limit: float | None = None, progress: Any = None,
            budget: Budget | None = None) -> RegionIterator:
    """Enumerate the activation regions of ``net`` in ``domain`` exactly.

    Parameters
    ----------
    net : Network
    domain : None, Polyhedron or box
        Full-dimensional domain in R^d (None = all of R^d: regions may be
        unbounded; a corner pair = a box), see :func:`polyrelu.domains.as_domain`.
        For a slice, restrict the network first (:func:`slice_domain`).
    engine : {"auto", "fast", "tree", "lp"}
        ``"tree"`` is J&V Algorithm 2; ``"fast"`` (= ``"auto"``) the
        incremental splitter; ``"lp"`` the fast engine's LP splitter in any
        dimension.  All give the same set of patterns.
    max_regions, time_limit : optional
        Stop cleanly after this many regions / seconds (a positive int / a
        positive finite number, else :class:`~polyrelu.exceptions.LimitError`);
        the iterator's ``partial`` is then True and ``reason`` says why.  The
        clock starts when ``regions`` is called.
    progress : callable, optional
        ``progress("regions", count, None)`` after every region
        (:mod:`polyrelu.budget`); ``True``: a tqdm bar on stderr.
    budget : Budget, optional
        Limits shared with the caller's other work (:mod:`polyrelu.budget`),
        narrowed by ``max_regions`` / ``time_limit`` when given; an
        interrupted budget stops the enumeration with reason "interrupted".

    Returns
    -------
    RegionIterator
        Streams :class:`Region` objects.

    Raises
    ------
    DomainError, EmptyDomainError
        Wrong dimension, empty or not full-dimensional domain.
    LimitError
        A limit that is not one (NaN, zero, negative, a boolean).

    Examples
    --------
    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1], [-1]], [0, 1]), ([[1, 1]], [0])])
    >>> sorted(r.pattern for r in regions(net, pr.Polyhedron.box([-3], [3])))
    [((0, 1),), ((1, 0),), ((1, 1),)]
    """
    t0 = time.perf_counter()
    if engine not in ENGINES:
        raise NetworkError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    ctl = as_budget(budget, max_regions, time_limit, "regions")
    progress = check_progress(progress, "regions")
    dom = _Domain(net, domain)
    if engine == "auto":
        engine = "fast"
    stats: dict = {"engine": engine, "splits": 0, "exact_signs": 0, "candidates": 0,
                   "lp_fast_cut": 0, "lp_fast_nocut": 0, "lp_exact": 0, "tree_lp": 0,
                   "nodes": 0}
    if engine == "tree":
        gen = _tree_engine(net, dom, stats, ctl)
    else:
        if engine == "fast" and dom.bounded and dom.d in (1, 2):
            kind = "planar"
        elif engine == "fast" and dom.bounded and dom.d <= VREP_MAX_DIM:
            kind = "vrep"
        elif engine == "fast" and dom.P is None and dom.d <= ORTHANT_MAX_DIM:
            kind = "orthants"
        else:
            kind = "lp"
        stats["engine"] = "fast-" + kind
        gen = _fast_engine(net, dom, stats, ctl, kind)
    return RegionIterator(gen, ctl, stats, progress, t0)


# ---------------------------------------------------------------------------
# engine (b): incremental splitting
# ---------------------------------------------------------------------------

def _whole_domain_region(net, dom) -> Region:
    return _make_region(net, (), dom.point, dom.P)


#: bounded domains up to this dimension use the exact V-representation splitter
VREP_MAX_DIM = 6
#: R^d up to this dimension: the V-representation splitter on the 2^d orthants
#: (pointed cones in homogeneous coordinates), patterns merged across orthants
ORTHANT_MAX_DIM = 4


def _fast_engine(net, dom: _Domain, stats: dict, ctl: _Control, kind: str):

    L = net.num_layers
    if L == 1:
        yield _whole_domain_region(net, dom)
        return
    inet = _intnet(net)
    d = dom.d
    # one splitter per kind of cell; split/finish adapt it to _dfs
    splitter: Any
    split: Any
    finish: Any
    root_cell: Any
    if d >= 2 and kind in ("planar", "vrep"):
        # bounded 2-D .. 6-D domains: float-first V-polytopes, split in
        # vectorised rounds over a frontier of cells (_regions_frontier)
        from ._regions_frontier import PoolSplitter, drive_pool
        from ._regions_pool import pool_root

        root, dom_rows, xv = pool_root(dom.P, d)
        splitter = PoolSplitter(inet, _exact_nodes(net), dom_rows, xv, stats, ctl.check)
        lazy_fn, lazy_keys = ((_polygon_exact, _PLANAR_KEYS) if d == 2
                              else (_polytope_exact, _POLYTOPE_KEYS))

        P = dom.P

        def finish_chunk(prefixes, pool):
            pts = splitter.interior_points(prefixes, pool)
            return [Region(prefix, x, net, P,
                           _LazyCache((lazy_fn, (net, prefix, keys, incb, dom_rows), lazy_keys)))
                    for prefix, x, (keys, incb) in zip(prefixes, pts, splitter.lazy_data(pool))]

        yield from _batched_dfs(inet, root, splitter, finish_chunk, stats, ctl, drive_pool)
        return
    if kind == "planar":
        from ._regions_planar import IntervalSplitter, interval_interior_point

        splitter = IntervalSplitter(inet, stats, ctl.check)
        assert dom.box is not None   # the planar kinds are chosen for bounded domains
        lo, hi = dom.box[0][0], dom.box[1][0]
        root_cell = ((lo.numerator, lo.denominator), (hi.numerator, hi.denominator))
        split = splitter.split

        def finish(pattern, cell):
            (X1, W1), (X2, W2) = cell
            iv = ((Fraction(X1, W1),), (Fraction(X2, W2),))
            return _make_region(net, pattern, interval_interior_point(cell), dom.P,
                                vertices=iv, _interval=iv)
    elif kind == "orthants":
        import itertools

        from ._regions_vrep import VRepSplitter, orthant, polytope_interior_point

        splitter = VRepSplitter(inet, stats, ctl.check)
        split = splitter.split
        roots = [orthant(sg) for sg in itertools.product((1, -1), repeat=d)]

        def finish(pattern, cell):
            vs, cs = cell
            return _make_region(net, pattern, polytope_interior_point(vs, cs), None)

        seen: set = set()
        for root_cell in roots:
            for r in _dfs(inet, root_cell, split, finish, stats, ctl, L):
                # a region of R^d meets several orthants: report it once
                if r.pattern in seen:
                    continue
                seen.add(r.pattern)
                yield r
        return
    else:
        from ._regions_lp import LPSplitter

        splitter = LPSplitter(inet, stats, dom.box, ctl.check)
        cons = []
        for a, b in dom.rows:  # a . x <= b  ->  -a . x + b >= 0 (integers)
            den = 1
            for v in tuple(a) + (b,):
                den = den * v.denominator // _gcd(den, v.denominator)
            cons.append(([int(-v * den) for v in a], int(b * den)))
        root_cell = (cons, tuple(dom.point))
        split = splitter.split

        def finish(pattern, cell):
            return _make_region(net, pattern, cell[1], dom.P)

    yield from _dfs(inet, root_cell, split, finish, stats, ctl, L)


def _dfs(inet, root_cell, split, finish, stats, ctl, L):
    """Depth-first over pattern prefixes: split each cell by the next layer.

    Fully lazy: a node's cells are drawn one at a time from its splitter
    (itself depth-first over the layer's neurons) and each is descended into
    before the next is made, so the first region is complete after one
    root-to-leaf path -- with limits, regions arrive early even when one
    layer has millions of cells (5-D inputs).  The order of the regions is
    that of splitting every node completely first.

    The float work runs under ``quiet()`` (overflow in a float shadow is
    expected and handled, :mod:`polyrelu._regions_maps`), entered once per
    batch of regions rather than per node; a batch is yielded outside it
    (the suspended splitters run only inside it).
    """
    from ._regions_maps import Node, quiet

    last = L - 1
    with quiet():
        root = inet.root()
        stack = [(root, (), split(root, root_cell))]
    stats["nodes"] += 1
    clock = time.perf_counter
    while stack:
        batch: list = []
        stop = None
        t_batch = clock()
        with quiet():
            try:
                # a batch ends after 64 regions or 20 ms with one: the first
                # regions reach a caller with limits without delay
                while stack and len(batch) < 64 and not (batch and clock() - t_batch > 0.02):
                    ctl.check()
                    node, prefix, cells = stack[-1]
                    nxt = next(cells, None)
                    if nxt is None:
                        stack.pop()
                        continue
                    pcs, c = nxt
                    if node.l == last:
                        batch.append(finish(prefix + (tuple(pcs),), c))
                    else:
                        pre = prefix + (tuple(pcs),)
                        child = Node(inet, node, pre[-1])
                        stats["nodes"] += 1
                        stack.append((child, pre, split(child, c)))
            except _Stop as e:  # the time limit: report what was found first
                stop = e
        yield from batch
        if stop is not None:
            raise stop


def _batched_dfs(inet, root, splitter, finish, stats, ctl, drive):
    """The float-first engine: ``drive`` (:func:`polyrelu._regions_frontier.
    drive_pool`) over levels of cells (depth first, the float filter and the
    cuts batched per level), each chunk of finished cells made into regions
    by ``finish(prefixes, cells)``.

    As :func:`_dfs`, float work runs under ``quiet()`` and regions are yielded
    outside it; a time limit reports the regions made before it."""
    from ._regions_maps import quiet

    gen = drive(inet, root, splitter, stats, ctl.check)
    while True:
        out: list = []
        stop = None
        with quiet():
            try:
                chunk = next(gen, None)
                if chunk is not None:
                    # a chunk's regions in parts, checking the deadline between
                    # them (5-D interior points take ~0.2 ms a region)
                    prefixes, cells = chunk
                    for a in range(0, len(prefixes), 64):
                        if a:
                            ctl.check()
                        b = min(a + 64, len(prefixes))
                        out.extend(finish(prefixes[a:b], cells.part(a, b)))
            except _Stop as e:
                stop = e
        yield from out
        if stop is not None:
            raise stop
        if chunk is None:
            return


def _gcd(a: int, b: int) -> int:
    from math import gcd

    return gcd(a, b)


# ---------------------------------------------------------------------------
# engine (a): J&V Algorithm 2 (tree traversal with pruning)
# ---------------------------------------------------------------------------

def _tree_engine(net, dom: _Domain, stats: dict, ctl: _Control):
    from ._regions_maps import Node, quiet
    from .polyhedron import Polyhedron

    L = net.num_layers
    if L == 1:
        yield _whole_domain_region(net, dom)
        return
    inet = _intnet(net)
    d = dom.d
    widths = net.hidden_widths

    def strict(rows, p) -> bool:
        return all(sum((a * x for a, x in zip(ar, p) if a), Fraction(0)) < b
                   for ar, b in rows)

    def rec(node, i, pieces, rows, p, prefix):
        ctl.check()
        l = node.l
        if i == widths[l - 1]:
            pat = prefix + (tuple(pieces),)
            if l == L - 1:
                yield _make_region(net, pat, p, dom.P)
                return
            with quiet():
                child = Node(inet, node, tuple(pieces))
            stats["nodes"] += 1
            yield from rec(child, 0, [], rows, p, pat)
            return
        m, c = node.exact_fraction_row(i)
        if not any(m):
            # constant on the whole space: one child, no inequality
            yield from rec(node, i + 1, pieces + [inet.constant_piece(c)], rows, p, prefix)
            return
        for piece in range(net.num_pieces):
            new = _piece_rows(net, m, c, piece)
            if strict(new, p):
                q = p
            else:
                stats["tree_lp"] += 1
                allr = rows + new
                P = Polyhedron.from_inequalities([a for a, _ in allr], [b for _, b in allr],
                                                 ambient_dim=d)
                if not P.is_full_dimensional():
                    continue  # prune the subtree (J&V Algorithm 2 line 14)
                q = P.interior_point()
                if not strict(allr, q):
                    raise AssertionError("interior point not strictly inside")
            yield from rec(node, i + 1, pieces + [piece], rows + new, q, prefix)

    stats["nodes"] += 1
    rows0 = [(tuple(a), b) for a, b in dom.rows]
    with quiet():
        root = inet.root()
    yield from rec(root, 0, [], rows0, tuple(dom.point), ())


# ---------------------------------------------------------------------------
# Algorithm 1: the region of one pattern
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PatternCheck:
    """Result of :func:`region_of_pattern` with ``explain=True``.

    ``region`` is the Region or None; ``layer`` the first hidden layer (from 1)
    after whose inequalities the region was no longer full-dimensional
    (J&V Algorithm 1 line 22), None when it is; ``status`` is ``"full"``,
    ``"empty"`` or ``"degenerate"`` (nonempty, lower-dimensional, or a
    neuron identically zero on the region given a bit other than 0);
    ``reason`` says it in words.
    """

    region: Region | None
    layer: int | None
    status: str
    reason: str

    def __bool__(self) -> bool:
        return self.region is not None


def region_of_pattern(net, pattern, domain=None, explain: bool = False):
    """J&V Algorithm 1: the activation region of ``pattern``, or None.

    Layer by layer, each neuron appends its inequality (``z <= 0`` for an
    inactive ReLU neuron, ``-z <= 0`` for an active one; Theorem 2.2), and the
    accumulated polyhedron is tested for full dimension exactly.

    Parameters
    ----------
    net : Network
    pattern : sequence of sequence of int
    domain : None, Polyhedron or box
    explain : bool
        Return a :class:`PatternCheck` (with the first failing layer) instead
        of ``Region | None``.

    Examples
    --------
    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0], [-1, 0]], [0, -1]), ([[1, 1]], [0])])
    >>> region_of_pattern(net, [[0, 1]]) is None   # x <= 0 and x <= -1
    False
    >>> region_of_pattern(net, [[1, 1]], explain=True).layer   # x >= 0 and x <= -1
    1
    """
    pat = net.check_pattern(pattern)
    dom = _Domain(net, domain)
    from .polyhedron import Polyhedron

    d = net.input_dim
    maps = net.layer_maps(pat)
    rows = [(tuple(a), b) for a, b in dom.rows]
    P = None
    for l, pieces in enumerate(pat, start=1):
        M, c = maps[l - 1]
        for i, piece in enumerate(pieces):
            if not any(M[i]):
                want = 0 if (net.activation != "hard_tanh" and c[i] == 0) \
                    else net._piece_at(c[i])
                if piece != want:
                    kind = "degenerate" if (c[i] == 0 and net.activation != "hard_tanh") \
                        else "empty"
                    why = (f"neuron {i} of layer {l} has the constant pre-activation "
                           f"{c[i]} on the region; its piece must be {want}")
                    return _fail(explain, l, kind, why)
                continue
            rows.extend(_piece_rows(net, M[i], c[i], piece))
        P = Polyhedron.from_inequalities([a for a, _ in rows], [b for _, b in rows],
                                         ambient_dim=d)
        if not P.is_full_dimensional():
            kind = "empty" if P.is_empty() else "degenerate"
            why = (f"the inequalities of layers 1..{l} define an empty set" if kind == "empty"
                   else f"the inequalities of layers 1..{l} define a set of dimension "
                        f"{P.dim} < {d}")
            return _fail(explain, l, kind, why)
    if P is None:
        x = tuple(dom.point)
    else:
        x = P.interior_point()
        if not all(v < b for v, (_, b) in zip(matvec([a for a, _ in rows], x), rows)):
            raise AssertionError("interior point not strictly inside")
    r = _make_region(net, pat, x, dom.P, polyhedron=P) if P is not None \
        else _make_region(net, pat, x, dom.P)
    if explain:
        return PatternCheck(r, None, "full", "the region is full-dimensional")
    return r


def _fail(explain, layer, kind, why):
    if explain:
        return PatternCheck(None, layer, kind, why)
    return None


def region_of(net, x, domain=None, engine: str = "auto") -> Region:
    """The activation region containing the point ``x``.

    Returns the region of ``net.pattern(x)`` when it is full-dimensional.
    Otherwise (``x`` on a boundary where that pattern's region has no interior)
    returns a full-dimensional region whose closure contains ``x``: the first
    one found by enumerating a small box around ``x``.

    Raises DomainError when ``x`` is not in the domain.

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0]], [0]), ([[1]], [0])])
    >>> region_of(net, [0, 5]).pattern      # on the boundary x0 = 0: the active side
    ((1,),)
    """
    xv = to_vector(x, "x")
    if len(xv) != net.input_dim:
        raise ShapeError(f"x has {len(xv)} entries, the network has {net.input_dim} inputs")
    domain = _Domain(net, domain).P
    if domain is not None:
        if not domain.contains(xv):
            raise DomainError(f"the point {tuple(str(v) for v in xv)} is not in the domain")
    pat = net.pattern(xv)
    r = region_of_pattern(net, pat, domain)
    if r is not None:
        return r
    from .polyhedron import Polyhedron

    rad = Fraction(1, 1024)
    while True:
        B = Polyhedron.box([v - rad for v in xv], [v + rad for v in xv])
        if domain is not None:
            B = B.intersect(domain)
        for reg in regions(net, B, engine=engine):
            if reg.polyhedron.contains(xv):
                return _make_region(net, reg.pattern, reg.interior_point, domain)
        rad /= 2  # unreachable in exact arithmetic: the regions cover the box


# ---------------------------------------------------------------------------
# linear regions, counts, adjacency
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LinearRegion:
    """A linear region: a connected union of adjacent activation regions with
    one exact affine map.  ``regions`` are the member activation regions."""

    regions: tuple

    @property
    def affine_map(self) -> tuple:
        """The exact ``(M, c)`` shared by the member regions."""
        return self.regions[0].affine_map

    @property
    def patterns(self) -> tuple:
        return tuple(r.pattern for r in self.regions)

    @property
    def interior_point(self) -> tuple:
        return self.regions[0].interior_point

    def __len__(self) -> int:
        return len(self.regions)


class _Counts(NamedTuple):
    activation: int
    linear: int
    partial: bool


class RegionCounts(_Counts):
    """Numbers of activation regions and of linear regions; ``partial`` when a
    limit cut the enumeration or the merge short (``reason`` says which)."""

    reason: Optional[str] = None


class LinearRegions(list):
    """The list of :class:`LinearRegion` made by :func:`linear_regions`.

    ``partial`` is True when a limit stopped the enumeration (the linear
    regions of the regions found) or the merge (then some adjacent pairs
    with one map were not joined: each listed union is connected and has one
    map, but it may be part of a larger linear region); ``reason`` says which.
    """

    partial: bool = False
    reason: Optional[str] = None


#: with a time limit, the enumeration of a call that merges (or writes) its
#: regions afterwards stops at this share of the time; the rest is left for
#: the work on the regions found (the per-region work of the merge -- facet
#: rows from the vertices -- runs while the regions stream in, within the
#: share).  On ACAS Xu (5-D) the merge of what 3/4 of the time enumerates
#: takes well under the remaining quarter.
ENUMERATION_SHARE = 0.75


def _merge_budget(kwargs: dict, where: str) -> tuple[Budget, dict]:
    """The budget of a call that enumerates and then merges: its limits from
    ``kwargs`` (``budget``, ``max_regions``, ``time_limit``), and the
    keyword arguments for :func:`regions` with the enumeration's share."""
    kw = dict(kwargs)
    budget = as_budget(kw.pop("budget", None), kw.pop("max_regions", None),
                       kw.pop("time_limit", None), where)
    kw["budget"] = budget.share(ENUMERATION_SHARE)
    return budget, kw


def _needs_facet_rows(r: Region) -> bool:
    """Whether the adjacency of ``r`` is decided from its facet rows (every
    region but the 1-D intervals and the polygons with a V-representation)."""
    c = r._cache
    return not ("_interval" in c or ("_edges" in c and "_hverts" in c))


def _collect(it: RegionIterator, prepare: bool = True) -> list:
    """The regions of ``it`` as a list; with ``prepare``, each region's facet
    rows (for the merge, the adjacency and the exact output) are computed as
    it arrives, so that the enumeration's limits bound that work too."""
    out = []
    for r in it:
        if prepare and _needs_facet_rows(r):
            _ = r.inequalities
        out.append(r)
    return out


def linear_regions(net, domain=None, region_list: Sequence[Region] | None = None,
                   **kwargs) -> LinearRegions:
    """Merge adjacent activation regions with identical affine maps (exact) into
    linear regions (connected components).

    ``region_list`` reuses an enumeration; otherwise :func:`regions` runs with
    ``kwargs`` (``engine``, ``max_regions``, ``time_limit``, ``budget``,
    ``progress``).  A ``time_limit`` (or ``budget``) bounds the whole call:
    the enumeration stops at :data:`ENUMERATION_SHARE` of it, the merge at
    the deadline; the result is then ``partial`` with a ``reason``.

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1], [1]], [0, 0]), ([[1, -1]], [0])])
    >>> len(list(regions(net))), len(linear_regions(net))   # relu(x) - relu(x) = 0
    (2, 1)
    """
    reasons: list[str] = []
    if region_list is None:
        budget, kw = _merge_budget(kwargs, "linear_regions")
        it = regions(net, domain, **kw)
        rs = _collect(it)
        if it.partial and it.reason:
            reasons.append(it.reason)
    else:
        budget = as_budget(kwargs.pop("budget", None), kwargs.pop("max_regions", None),
                           kwargs.pop("time_limit", None), "linear_regions")
        if kwargs:
            raise NetworkError(f"linear_regions: with region_list, only budget / "
                               f"time_limit may be given, not {', '.join(sorted(kwargs))}")
        rs = list(region_list)
    out, cut = _merge(rs, budget)
    if cut:
        reasons.append(cut)
    out.partial = bool(reasons)
    out.reason = "; ".join(reasons) or None
    return out


def _merge(rs: list, budget: Budget | None) -> tuple[LinearRegions, Optional[str]]:
    """Connected components of the same-map adjacency of ``rs``; the reason
    the merge was cut short, or None."""
    import networkx as nx

    H = nx.Graph()
    H.add_nodes_from(range(len(rs)))
    cut = None
    if rs:
        # the edges of region_graph with same_map: the (cheap) map comparison
        # runs first, so only pairs with identical maps need the adjacency test
        pairs, done = _adjacent_pairs(rs, keep=_SameMap(rs), budget=budget, facets=False)
        H.add_edges_from((i, j) for i, j, _, _ in pairs)
        if done < len(rs):
            assert budget is not None
            cut = (f"{budget.stop_reason()} during the linear merge (complete for "
                   f"{done} of {len(rs)} regions; the other pairs with one map were "
                   f"not all joined)")
    out = LinearRegions()
    for comp in sorted((sorted(c) for c in nx.connected_components(H)), key=lambda c: c[0]):
        out.append(LinearRegion(tuple(rs[i] for i in comp)))
    return out, cut


def count_regions(net, domain=None, **kwargs) -> RegionCounts:
    """Both counts: ``RegionCounts(activation, linear, partial)``.

    ``kwargs`` go to :func:`regions`; a ``time_limit`` bounds the whole call
    (enumeration and merge, as :func:`linear_regions`); ``.reason`` says
    what a limit cut short.

    >>> import polyrelu as pr
    >>> count_regions(pr.Network.from_weights([([[1], [-1]], [0, 0]), ([[1, 1]], [0])]))
    RegionCounts(activation=2, linear=2, partial=False)
    """
    budget, kw = _merge_budget(kwargs, "count_regions")
    it = regions(net, domain, **kw)
    rs = _collect(it)
    lin, cut = _merge(rs, budget)
    reasons = [x for x in (it.reason, cut) if x]
    out = RegionCounts(len(rs), len(lin), bool(reasons))
    out.reason = "; ".join(reasons) or None
    return out


def _primitive(a, b) -> tuple:
    """Integer primitive form of the hyperplane a.x = b (sign kept)."""
    from math import gcd

    vals = list(a) + [b]
    den = 1
    for v in vals:
        den = den * v.denominator // gcd(den, v.denominator)
    ints = [int(v * den) for v in vals]
    g = 0
    for v in ints:
        g = gcd(g, v)
    return tuple(v // g for v in ints) if g else tuple(ints)


def region_graph(region_list: Sequence[Region], budget: Budget | None = None):
    """Adjacency graph of activation regions (networkx.Graph).

    Node ``i`` (index into ``region_list``) has attribute ``region``; an edge
    joins two regions sharing a (d-1)-dimensional facet, with attributes
    ``hyperplane`` ``(w, c)`` (``w . x + c = 0`` in input space), ``facet``
    (the shared facet as a Polyhedron) and ``same_map`` (identical exact
    affine maps).  Exact: facets are grouped by their hyperplane, and a pair
    on opposite sides is adjacent iff the intersection of the two regions
    has dimension d-1.

    With a ``budget`` (:mod:`polyrelu.budget`) the work stops at its
    deadline: ``G.graph["complete"]`` is then the length ``k`` of a prefix of
    ``region_list`` whose edges among themselves are all present (``k =
    len(region_list)`` when complete), ``G.graph["partial"]`` True and
    ``G.graph["reason"]`` says why.

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])])
    >>> G = region_graph(list(regions(net, pr.Polyhedron.box([-1, -1], [1, 1]))))
    >>> G.number_of_nodes(), G.number_of_edges(), G.graph["partial"]
    (4, 4, False)
    """
    import networkx as nx

    rs = list(region_list)
    G = nx.Graph(partial=False, complete=len(rs), reason=None)
    for i, r in enumerate(rs):
        G.add_node(i, region=r)
    if not rs:
        return G
    same = _SameMap(rs)
    pairs, done = _adjacent_pairs(rs, budget=budget)
    for i, j, hyp, facet in pairs:
        G.add_edge(i, j, hyperplane=hyp, facet=facet, same_map=same(i, j))
    if done < len(rs):
        assert budget is not None
        G.graph.update(partial=True, complete=done,
                       reason=f"{budget.stop_reason()} while finding adjacent regions "
                              f"(complete for the first {done} of {len(rs)} regions)")
    return G


def _adjacent_pairs(rs, keep=None, budget: Budget | None = None, facets: bool = True):
    """``(i, j, hyperplane, facet)`` for the adjacent pairs ``i < j``; with
    ``keep``, only the pairs with ``keep(i, j)`` (tested before the geometry);
    with ``facets=False`` the facet may be None (not built when not needed).

    Returns ``(pairs, k)``: a budget that runs out stops the work, and then
    the pairs among the first ``k`` regions are all there (``k = len(rs)``
    when complete); the pairs found beyond are correct too.  The regions
    are scanned in order (a cut scan gives the prefix) and the hyperplane
    groups are visited in the order of their first region (a group cut
    short leaves every pair below its first region complete).
    """
    d = rs[0].net.input_dim
    if d == 2 and all("_edges" in r._cache and "_hverts" in r._cache for r in rs):
        return _planar_adjacency(rs, keep, budget)
    if d == 1 and all("_interval" in r._cache for r in rs):
        pairs, done = _interval_adjacency(rs, budget)
        return (pairs if keep is None else [p for p in pairs if keep(p[0], p[1])]), done
    return _general_adjacency(rs, d, keep, budget, facets)


class _SameMap:
    """Exact comparison of affine maps with a float prefilter: float shadows
    (with rigorous radii) that provably differ decide "different"; otherwise
    the exact maps are compared."""

    def __init__(self, rs) -> None:
        self.rs = rs
        self.nodes: dict = {}
        self.shadows: dict = {}

    def _node(self, i):
        n = self.nodes.get(i)
        if n is None:
            r = self.rs[i]
            n = self.nodes[i] = _node_chain(_intnet(r.net), r.pattern)[-1]
        return n

    def shadow(self, i):
        s = self.shadows.get(i)
        if s is None:
            from ._regions_maps import map_shadow

            s = self.shadows[i] = map_shadow(self._node(i))
        return s

    def maybe_same(self, i: int, js) -> list:
        """The ``j`` in ``js`` whose maps the float filter cannot tell from i's."""
        from ._regions_maps import shadows_differ

        if not js:
            return []
        v, r = self.shadow(i)
        V = np.array([self.shadow(j)[0] for j in js])
        R = np.array([self.shadow(j)[1] for j in js])
        return [j for j, dif in zip(js, shadows_differ(v, r, V, R).tolist()) if not dif]

    def __call__(self, i: int, j: int) -> bool:
        from ._regions_maps import shadows_differ

        (v1, r1), (v2, r2) = self.shadow(i), self.shadow(j)
        if shadows_differ(v1, r1, v2, r2):
            return False
        return self.rs[i].affine_map == self.rs[j].affine_map


class _Boxes:
    """Growable float boxes (``lo``, ``hi`` rows) with their region indices."""

    def __init__(self, d: int) -> None:
        self.idx: list = []
        self.lo = np.empty((8, d))
        self.hi = np.empty((8, d))

    def add(self, i: int, box) -> None:
        n = len(self.idx)
        if n == len(self.lo):
            self.lo = np.concatenate([self.lo, np.empty_like(self.lo)])
            self.hi = np.concatenate([self.hi, np.empty_like(self.hi)])
        self.lo[n], self.hi[n] = box
        self.idx.append(i)

    def meeting(self, box) -> list:
        """The indices whose boxes meet ``box`` (disjoint float boxes that
        enclose exact ones prove the exact ones disjoint)."""
        n = len(self.idx)
        if not n:
            return []
        lo, hi = box
        meet = ((lo <= self.hi[:n]) & (self.lo[:n] <= hi)).all(axis=1)
        return [self.idx[k] for k in np.flatnonzero(meet).tolist()]


def _planar_adjacency(rs, keep=None, budget=None):
    """Shared edges of 2-D polygons with exact V-representations (only the
    pairs with ``keep(i, j)`` when given); ``(pairs, complete prefix)``.

    Region by region: the edges of one side of a line have disjoint
    interiors, so each side's edges, sorted by their left ends, are sorted
    by their right ends too, and the edges of the other side that overlap a
    new edge are found by bisection."""
    from bisect import bisect_right
    from math import gcd

    from .polyhedron import Polyhedron

    # canonical line -> per side: left ends, right ends, (region, low point,
    # high point), all in the order of the left ends
    lines: dict = {}
    out = []
    for j, r in enumerate(rs):
        if budget is not None and budget.exhausted:
            return out, j
        V = r.vertices
        E = r._cache["_edges"]
        k = len(V)
        for e in range(k):
            a, b, c = E[e]
            g = gcd(gcd(a, b), c) or 1
            key = (a // g, b // g, c // g)
            neg = (-key[0], -key[1], -key[2])
            canon, side = (key, 0) if key > neg else (neg, 1)
            A, B, C = canon
            p, q = V[e], V[(e + 1) % k]
            tp, tq = -B * p[0] + A * p[1], -B * q[0] + A * q[1]
            lo, hi, plo, phi = (tp, tq, p, q) if tp < tq else (tq, tp, q, p)
            sides = lines.get(canon)
            if sides is None:
                sides = lines[canon] = (([], [], []), ([], [], []))
            olos, ohis, oseg = sides[1 - side]
            hyp = None
            for o in range(bisect_right(ohis, lo), len(olos)):
                if olos[o] >= hi:
                    break
                i, oplo, ophi = oseg[o]
                if keep is not None and not keep(min(i, j), max(i, j)):
                    continue
                if hyp is None:
                    hyp = ((Fraction(A), Fraction(B)), Fraction(C))
                facet = Polyhedron.from_vertices([oplo if olos[o] >= lo else plo,
                                                  ophi if ohis[o] <= hi else phi])
                out.append((min(i, j), max(i, j), hyp, facet))
            mlos, mhis, mseg = sides[side]
            at = bisect_right(mlos, lo)
            mlos.insert(at, lo)
            mhis.insert(at, hi)
            mseg.insert(at, (j, plo, phi))
    return out, len(rs)


def _interval_adjacency(rs, budget=None):
    from .polyhedron import Polyhedron

    los: dict = {}
    his: dict = {}
    out = []
    for j, r in enumerate(rs):
        if budget is not None and budget.exhausted:
            return out, j
        (lo,), (hi,) = r._cache["_interval"]
        for x, other in ((lo, his), (hi, los)):
            for i in other.get(x, ()):
                out.append((min(i, j), max(i, j), ((Fraction(1),), -x),
                            Polyhedron.from_vertices([[x]])))
        los.setdefault(lo, []).append(j)
        his.setdefault(hi, []).append(j)
    return out, len(rs)


def _general_adjacency(rs, d, keep=None, budget=None, facets=True):
    """Facets grouped by hyperplane; a pair on opposite sides is adjacent iff
    the intersection of the two regions has dimension d - 1.

    Regions with exact vertices (bounded V-representation) are decided from
    the vertices of their facets on the hyperplane H, ``P`` (side +) and ``M``
    (side -), in exact integers, before any LP:

    * a facet inequality ``a . x <= b`` of one region (not H itself) with the
      other facet in ``a . x >= b`` separates them: ``P & M`` lies in the
      (d-2)-flat ``H & {a . x = b}``, not adjacent;
    * the barycentre of the vertices of ``P`` in region j and of ``M`` in
      region i, when it satisfies every inequality of both regions other than
      H strictly, lies in ``relint P & relint M``: adjacent.

    Anything else is the exact dimension test of the intersection.  Region
    by region (each against the earlier ones on the other side of each of
    its facet hyperplanes), so a budget that runs out leaves the pairs of a
    prefix complete: returns ``(pairs, complete prefix)``.
    """
    groups: dict = {}   # canonical hyperplane -> (_Boxes side +, _Boxes side -)
    rows: list = []
    fverts: dict = {}   # (region, canonical hyperplane) -> facet vertices or None
    same = keep if isinstance(keep, _SameMap) else None
    out = []
    for j, r in enumerate(rs):
        if budget is not None and budget.exhausted:
            return out, j
        A, b = r.inequalities
        keys = r._cache.get("_int_inequalities")
        if keys is None:
            keys = [_primitive(a, bj) for a, bj in zip(A, b)]  # a . x <= b, sign kept
        ri = []
        for key in keys:
            neg = tuple(-v for v in key)
            canon, side = (key, 0) if key > neg else (neg, 1)
            ri.append((key, canon, side))
        rows.append([(key, canon) for key, canon, _ in ri])
        hv = r._cache.get("_hverts")
        bbox = None
        for key, canon, side in ri:
            fv = fverts[(j, canon)] = _facet_vertices(hv, canon)
            if fv is not None:
                box = _float_hbox(fv, d)
            else:
                if bbox is None:
                    bbox = _float_box(_exact_bbox(r), d)
                box = bbox
            sides = groups.get(canon)
            if sides is None:
                sides = groups[canon] = (_Boxes(d), _Boxes(d))
            cand = sides[1 - side].meeting(box)
            if cand and same is not None:
                cand = same.maybe_same(j, cand)  # vectorised float filter first
            for i in cand:
                if budget is not None and budget.exhausted:
                    return out, j   # the pairs among regions < j are complete
                if keep is not None and not keep(i, j):
                    continue
                Pi, Mj = fverts[(i, canon)], fv
                quick = None if Pi is None or Mj is None else \
                    _facets_overlap(Pi, Mj, rows[i], rows[j], canon)
                if quick is False:
                    continue
                F = None
                if facets or quick is None:
                    F = _minimal_polyhedron(rs[i]).intersect(_minimal_polyhedron(rs[j]))
                    if quick is None and F.dim != d - 1:
                        continue
                    if facets:
                        F = _shared_facet(Pi, rows[i], Mj, rows[j]) or F
                w = tuple(Fraction(v) for v in canon[:-1])
                out.append((i, j, (w, -Fraction(canon[-1])), F))
            sides[side].add(j, box)
    return out, len(rs)


def _float_box(box, d):
    """Float box enclosing an exact box (None: all of R^d).

    ``float(q)`` is correctly rounded (``|fl(q) - q| <= u |q|``); widening by
    ``8 u |x|`` plus an absolute 2**-960 more than covers it and the rounding
    of the widening itself.  Beyond the float range: +-inf."""
    from .numbers import to_float

    if box is None:
        return np.full(d, -np.inf), np.full(d, np.inf)

    def fl(q, sign):
        try:
            return to_float(q)
        except OverflowError:
            return sign * np.inf

    return _widen(np.array([fl(q, -1) for q in box[0]]), np.array([fl(q, 1) for q in box[1]]))


def _widen(lo, hi):
    """``lo - (8 u |lo| + 2**-960)``, ``hi + (8 u |hi| + 2**-960)`` (float)."""
    slack = 8 * 2.0 ** -53
    with np.errstate(over="ignore", invalid="ignore"):
        return lo - (slack * np.abs(lo) + 2.0 ** -960), hi + (slack * np.abs(hi) + 2.0 ** -960)


def _hval(row, h) -> int:
    """``a . X - b W`` for the integer row ``a . x <= b`` and ``h = (X, W)``:
    the sign of ``a . x - b`` at the point ``X / W`` (``W > 0``)."""
    s = -row[-1] * h[-1]
    for a, x in zip(row[:-1], h):
        if a:
            s += a * x
    return s


def _facet_vertices(hverts, key):
    """The exact homogeneous vertices on the hyperplane ``key`` (or None)."""
    if hverts is None:
        return None
    return [h for h in hverts if _hval(key, h) == 0]


def _float_hbox(hverts, d):
    """Float box enclosing exact homogeneous points.

    ``X / W`` of Python ints is correctly rounded and rounding is monotone, so
    the float min / max is the rounded exact min / max (error <= u |x|); the
    widening of :func:`_float_box` covers it."""
    if not hverts:
        return _float_box(None, d)

    def fl(x, w):
        try:
            return x / w
        except OverflowError:
            return np.inf if x > 0 else -np.inf

    V = np.array([[fl(x, h[-1]) for x in h[:-1]] for h in hverts])
    return _widen(V.min(axis=0), V.max(axis=0))


def _shared_facet(P, rows_i, M, rows_j):
    """The common facet ``R_i & R_j`` of two adjacent polytopes from their
    vertices on the shared hyperplane H, when one facet lies in the other
    region (then it is the whole intersection: ``R_i & R_j = (R_i & H) &
    (R_j & H)`` and ``R_i & H`` is the convex hull of ``P``); else None.
    A V-representation: its vertices need no vertex enumeration."""
    from .polyhedron import Polyhedron

    if not P or not M:
        return None
    for F, rows in ((P, rows_j), (M, rows_i)):
        if all(_hval(k, h) <= 0 for k, _ in rows for h in F):
            return Polyhedron.from_vertices([tuple(Fraction(x, h[-1]) for x in h[:-1])
                                             for h in F])
    return None


def _facets_overlap(P, M, rows_i, rows_j, canon):
    """True / False when the vertices decide whether the facets ``P`` and ``M``
    (vertex lists on the hyperplane ``canon``) share relative interior points;
    None when undecided (see :func:`_general_adjacency`)."""
    if not P or not M:
        return None
    others_i = [k for k, c in rows_i if c != canon]
    others_j = [k for k, c in rows_j if c != canon]
    for rows, F in ((others_i, M), (others_j, P)):
        for row in rows:
            if all(_hval(row, h) >= 0 for h in F):
                return False  # separated within H (P & M is (d-2)-dimensional)
    pts = [h for h in P if all(_hval(r, h) <= 0 for r in others_j)]
    pts += [h for h in M if all(_hval(r, h) <= 0 for r in others_i)]
    if not pts:
        return None
    # sum of homogeneous vectors: a convex combination with all weights > 0
    c = tuple(sum(h[k] for h in pts) for k in range(len(pts[0])))
    if all(_hval(r, c) < 0 for r in others_i) and all(_hval(r, c) < 0 for r in others_j):
        return True
    return None


def _exact_bbox(r: Region):
    if not r.bounded:
        return None
    V = r.vertices
    d = len(V[0])
    return (tuple(min(v[k] for v in V) for k in range(d)),
            tuple(max(v[k] for v in V) for k in range(d)))


# ---------------------------------------------------------------------------
# J&V Algorithm 3 and slices
# ---------------------------------------------------------------------------

class CachedPredictor:
    """J&V Algorithm 3: evaluate through cached per-region affine maps.

    The key is the activation pattern (one exact forward pass); a miss computes
    the region's exact affine map (J&V eq. 14 recurrences) and caches it.
    Results agree exactly with ``net(x)``.

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, -1]], [0]), ([[2]], [1])])
    >>> f = CachedPredictor(net)
    >>> f([1, 0]), f([2, 0]), f.hit_rate
    ((Fraction(3, 1),), (Fraction(5, 1),), 0.5)
    """

    def __init__(self, net) -> None:
        self.net = net
        self.cache: dict = {}
        self.hits = 0
        self.misses = 0

    def __call__(self, x):
        if self.net._is_batch(x):
            return tuple(self(row) for row in x)
        xv = to_vector(x.tolist() if hasattr(x, "tolist") else x, "x")
        pat = self.net.pattern(xv)
        hit = self.cache.get(pat)
        if hit is None:
            self.misses += 1
            hit = self.net.affine_map(pat)
            self.cache[pat] = hit
        else:
            self.hits += 1
        M, c = hit
        return tuple(sum((a * v for a, v in zip(row, xv) if a), Fraction(0)) + ci
                     for row, ci in zip(M, c))

    @property
    def hit_rate(self) -> float:
        n = self.hits + self.misses
        return self.hits / n if n else 0.0

    def __len__(self) -> int:
        return len(self.cache)


def slice_domain(net, points, box=None):
    """Restrict ``net`` to the line/plane through 2 or 3 ``points``.

    Returns ``(net_t, domain_t)``: ``net_t(t) = net(x0 + U t)`` with ``x0`` the
    first point and the columns of ``U`` the differences to the others, and
    ``domain_t`` the box of ``t`` (default ``[0, 1]^k``, i.e. the segment or
    the parallelogram spanned by the points).  Enumerate with
    ``regions(net_t, domain_t)``.

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, -1]], [0]), ([[2]], [1])])
    >>> nt, D = slice_domain(net, [[-1, 0], [1, 0]])
    >>> [r.pattern for r in regions(nt, D)]
    [((0,),), ((1,),)]
    """
    from .polyhedron import Polyhedron

    pts = [to_vector(p, "slice point") for p in points]
    if len(pts) not in (2, 3):
        raise DomainError("a slice needs 2 (a line) or 3 (a plane) points")
    for p in pts:
        if len(p) != net.input_dim:
            raise DomainError(f"slice point has {len(p)} coordinates, the network has "
                              f"{net.input_dim} inputs")
    x0 = pts[0]
    U = [[p[i] - x0[i] for p in pts[1:]] for i in range(net.input_dim)]
    k = len(pts) - 1
    from .linalg import rank

    if rank(to_matrix([[U[i][j] for i in range(net.input_dim)] for j in range(k)])) < k:
        raise DomainError("the slice points are affinely dependent")
    nt = net.restrict(x0, U)
    if box is None:
        lo, hi = [0] * k, [1] * k
    else:
        lo, hi = box
    return nt, Polyhedron.box(lo, hi)
