"""Private helper of :mod:`polyrelu.regions`: the cells of the float-first
V-polytope engine (:mod:`polyrelu._regions_frontier`) as data, and their
exact reconstruction.

A :class:`Pool` holds cells in structure-of-arrays form (see
:mod:`polyrelu._regions_frontier`); a :class:`WorkUnit` is a chunk of them
with their pattern prefixes -- no network inside, picklable.  A finished
cell's exact vertices are rebuilt from its constraint keys and incidence
masks alone (:func:`polytope_vertices`, :func:`polygon_exact`): a vertex is
the intersection of the facets through it, the null space of their exact
rows (python-flint), or Cramer's rule in the plane.
"""

from __future__ import annotations

from math import gcd
from typing import Any

import numpy as np

from ._regions_maps import TINY, U, _g

__all__ = ["Pool", "WorkUnit", "pool_root", "polytope_vertices", "polygon_exact",
           "MAX_SLOTS"]

#: bits per word of the incidence masks; a cell has ``64 W`` constraint
#: slots (``W`` words, grown when a cell needs more: a domain with many
#: facets), and is compacted (non-facets dropped) before it runs out
MAX_SLOTS = 64
_SLACK = 4
_RV = 4.0 * U   # float(X) / float(W): relative error <= 3.0001 u
_KEEP_EXACT = 1 << 17   # exact vertices kept by id (a cache: recomputable)

if hasattr(np, "bitwise_count"):
    def popcount(a: np.ndarray) -> np.ndarray:
        return np.bitwise_count(a)
else:  # numpy < 2.0
    _BYTE = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)

    def popcount(a: np.ndarray) -> np.ndarray:
        return _BYTE[a.view(np.uint8).reshape(a.shape + (8,))].sum(axis=-1)


def ragged_arange(reps: np.ndarray) -> np.ndarray:
    """``concatenate([arange(r) for r in reps])`` without a Python loop."""
    tot = int(reps.sum())
    starts = np.cumsum(reps) - reps
    return np.arange(tot) - np.repeat(starts, reps)


def _to_float(n: int, d: int) -> float:
    try:
        return float(n) / float(d)
    except OverflowError:
        return float("nan")


def _nullvec(rows: list) -> tuple | None:
    """Exact homogeneous point ``(X_1..X_d, W)``, ``W > 0``, primitive, the
    null space of integer rows ``[a | c]`` of rank ``d`` (python-flint);
    None when the rank is not ``d`` or the point is at infinity."""
    import flint

    X, nullity = flint.fmpz_mat(rows).nullspace()
    if nullity != 1:
        return None
    h = [int(X[i, 0]) for i in range(X.nrows())]
    if h[-1] == 0:
        return None
    if h[-1] < 0:
        h = [-v for v in h]
    g = 0
    for v in h:
        g = gcd(g, v)
    return tuple(v // g for v in h) if g > 1 else tuple(h)


def _eval_point(rows: np.ndarray, rads: np.ndarray, w: np.ndarray, rw: float):
    """Float values and bounds of rows ``[M | c]`` (radii ``rads``) at one
    float point ``w`` with radius ``rw`` (the bound of
    :func:`polyrelu._regions_batch.evaluate`, at one point)."""
    d = len(w)
    g = _g(d + 1)
    aw = np.abs(w)
    M, c = rows[:, :d], rows[:, d]
    RM, Rc = rads[:, :d], rads[:, d]
    v = M @ w + c
    b = ((aw + rw) @ RM.T + (rw + g * aw) @ np.abs(M).T + Rc + g * np.abs(c)) \
        * (1.0 + g) + TINY
    return v, np.where(np.isfinite(v), b, np.inf)


def _mask_int(words) -> int:
    """The incidence mask of one vertex (its words) as a Python int."""
    m = 0
    for i, w in enumerate(words.tolist()):
        m |= w << (64 * i)
    return m


def _hval(row: tuple, h: tuple) -> int:
    s = 0
    for a, x in zip(row, h):
        if a:
            s += a * x
    return s


class Pool:
    """Cells in structure-of-arrays form (module docstring)."""

    __slots__ = ("F", "inc", "vid", "seg", "m", "slots", "T", "keys")

    def __init__(self, F, inc, vid, seg, m, slots, T, keys) -> None:
        self.F = F          # (K, d + 1) float: vertex, radius
        self.inc = inc      # (K, W) uint64 incidence masks (W words)
        self.vid = vid      # (K,) int64 vertex ids (exact values in the splitter)
        self.seg = seg      # (J + 1,) row offsets of the cells
        self.m = m          # (J,) slots in use
        self.slots = slots  # (J, 64 W) int64 rows of T
        self.T = T          # (nT, 2 (d + 1)) float: oriented row, radius
        self.keys = keys    # nT exact names of the rows of T

    def __len__(self) -> int:
        return len(self.m)

    def part(self, j0: int, j1: int) -> "Pool":
        """Cells ``j0..j1-1`` (views; the table is shared)."""
        r0, r1 = int(self.seg[j0]), int(self.seg[j1])
        return Pool(self.F[r0:r1], self.inc[r0:r1], self.vid[r0:r1],
                    self.seg[j0:j1 + 1] - r0, self.m[j0:j1], self.slots[j0:j1],
                    self.T, self.keys)

    def compact_table(self) -> "Pool":
        """The same cells with a table of only the rows they use."""
        J = len(self.m)
        if not J:
            return self
        mm = int(self.m.max())
        used = self.slots[:, :mm][np.arange(mm)[None, :] < self.m[:, None]]
        if len(used) * 2 >= len(self.T):
            return self
        uniq, inv = np.unique(used, return_inverse=True)
        slots = np.zeros_like(self.slots)
        mask = np.arange(mm)[None, :] < self.m[:, None]
        sub = np.zeros((J, mm), dtype=self.slots.dtype)
        sub[mask] = inv
        slots[:, :mm] = sub
        keys = self.keys
        return Pool(self.F, self.inc, self.vid, self.seg, self.m, slots, self.T[uniq],
                    [keys[u] for u in uniq.tolist()])


def pool_root(domain, d: int):
    """The root pool of a bounded domain (one cell), its exact rows
    ``a . x + c >= 0`` and the exact vertices by id."""
    from ._regions_vrep import polytope_from_domain

    verts, rows = polytope_from_domain(domain, d)
    W = (len(rows) + 8) // MAX_SLOTS + 1
    keys = [("dom", k) for k in range(len(rows))]
    with np.errstate(over="ignore", invalid="ignore"):
        V = np.array([v.f for v in verts], dtype=float)
        r = _RV * np.abs(V).max(axis=1) + TINY
        r[~np.isfinite(r)] = np.inf
        T = np.array([[float(_int_float(x)) for x in row] for row in rows], dtype=float)
        T = np.concatenate([T, 2 * U * np.abs(T) + TINY], axis=1)
        T[:, d + 1:][~np.isfinite(T[:, d + 1:])] = np.inf
    inc = np.zeros((len(verts), W), dtype=np.uint64)
    for j, v in enumerate(verts):
        for q, key in enumerate(keys):
            if key in v.inc:
                inc[j, q // 64] |= np.uint64(1 << (q % 64))
    k = len(verts)
    slots = np.zeros((1, MAX_SLOTS * W), dtype=np.int64)
    slots[0, :len(rows)] = np.arange(len(rows))
    pool = Pool(np.concatenate([V, r[:, None]], axis=1), inc,
                np.arange(k, dtype=np.int64), np.array([0, k]),
                np.array([len(rows)]), slots, T, [(0, q) for q in range(len(rows))])
    return pool, [tuple(row) for row in rows], {q: v.h for q, v in enumerate(verts)}


def _int_float(x: int) -> float:
    try:
        return float(x)
    except OverflowError:
        return float("nan")


class WorkUnit:
    """A subtree cut at a frontier: the cells (a :class:`Pool`, no network
    inside) and their pattern prefixes, all of the same length ``l - 1``.
    Picklable; :func:`polyrelu._regions_batch.rebuild_level` makes its level
    of layer ``l`` again from the prefixes alone, and :func:`drive_pool`
    continues from it: the leaves come out in the order of the serial run."""

    __slots__ = ("prefixes", "pool")

    def __init__(self, prefixes: list, pool: Pool) -> None:
        self.prefixes = prefixes
        self.pool = pool

    def __getstate__(self):
        return (self.prefixes, self.pool)

    def __setstate__(self, state) -> None:
        self.prefixes, self.pool = state

    def __len__(self) -> int:
        return len(self.pool)


def _masks(incw) -> list:
    W, incb = incw
    return [_mask_int(w) for w in np.frombuffer(incb, dtype="<u8").reshape(-1, W)]


def _tight_counts(incw, nslots: int) -> np.ndarray:
    """How many vertices are tight on each constraint slot."""
    W, incb = incw
    bits = np.unpackbits(np.frombuffer(incb, dtype=np.uint8).reshape(-1, 8 * W),
                         axis=1, bitorder="little")
    return bits[:, :nslots].sum(axis=0)


def _vertex(rows: list, d: int) -> tuple:
    """The exact homogeneous point of the tight rows of a vertex (rank d):
    Cramer's rule on a pair of lines in the plane, else the null space."""
    if d == 2:
        a1, b1, c1 = rows[0]
        for a2, b2, c2 in rows[1:]:
            W = a1 * b2 - a2 * b1
            if W:
                X, Y = b1 * c2 - b2 * c1, c1 * a2 - c2 * a1
                if W < 0:
                    X, Y, W = -X, -Y, -W
                g = gcd(gcd(X, Y), W)
                return (X // g, Y // g, W // g)
    h = _nullvec(rows)
    if h is None:
        raise AssertionError("a vertex whose tight constraints do not have rank d")
    return h


def polytope_vertices(splitter: Any, prefix: tuple, keys: tuple, incw) -> tuple:
    """The exact homogeneous vertices of a cell from its keys and incidences
    (:meth:`PoolSplitter.lazy_data`): each spans the null space of the exact
    rows of its tight constraints.  Only the constraints tight at ``d`` or
    more vertices (the facets, and degenerate ones) are needed: a vertex is
    the intersection of the facets through it."""
    return _vertices_rows(splitter, prefix, keys, _masks(incw),
                          _tight_counts(incw, len(keys)))[0]


def _vertices_rows(splitter, prefix, keys, inc, counts):
    d = splitter.d
    which = [q for q in range(len(keys)) if counts[q] >= d]
    rows = splitter.rows(prefix, keys, which)
    return tuple([_vertex([rows[q] for q in which if mask >> q & 1], d) for mask in inc]), rows


def polygon_exact(splitter: Any, prefix: tuple, keys: tuple, incw):
    """Exact counter-clockwise vertices ``(X, Y, W)`` of a polygon and its
    edge lines (positive inside; edge ``j`` joins vertices ``j`` and
    ``j + 1``).  A constraint tight at exactly two vertices is an edge (in
    the plane a supporting line through two vertices contains the segment
    between them); walking the edges orders the vertices."""
    inc = _masks(incw)
    counts = _tight_counts(incw, len(keys))
    hv, rows = _vertices_rows(splitter, prefix, keys, inc, counts)
    k = len(hv)
    nbr: list[dict] = [{} for _ in range(k)]
    for q in np.flatnonzero(counts == 2).tolist():
        a, b = [j for j in range(k) if inc[j] >> q & 1]
        nbr[a].setdefault(b, q)
        nbr[b].setdefault(a, q)
    order = [0]
    edges = []
    prev = -1
    cur = 0
    for _ in range(k):
        nxt = next(j for j in nbr[cur] if j != prev) if k > 2 else \
            next(iter(nbr[cur]))
        edges.append(nbr[cur][nxt])
        if nxt == 0:
            break
        order.append(nxt)
        prev, cur = cur, nxt
    if len(order) != k:
        raise AssertionError("the edges of a polygon do not form one cycle")
    (X0, Y0, W0), (X1, Y1, W1), (X2, Y2, W2) = (hv[j] for j in order[:3])
    # orientation: the sign of the cross product of (p1 - p0, p2 - p1),
    # times W0 W1^2 W2 > 0 to stay in integers
    cross = ((X1 * W0 - X0 * W1) * (Y2 * W1 - Y1 * W2)
             - (Y1 * W0 - Y0 * W1) * (X2 * W1 - X1 * W2))
    if cross < 0:
        # clockwise: reverse (edge j then joins the reversed j and j + 1)
        order = [order[0]] + order[:0:-1]
        edges = edges[::-1]
    return tuple(hv[j] for j in order), tuple(rows[q] for q in edges)
