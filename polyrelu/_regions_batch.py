"""Private helper of :mod:`polyrelu.regions`: the float filter batched over a
frontier of cells (levels), and exact rows on demand.

A **level** holds the cells of one pattern-prefix depth ``l`` (the pieces of
layers ``1..l-1`` are fixed in each cell) and, for every cell, the float
shadow of the pre-activation map of layer ``l`` with its rigorous radius,
``z_l = Z[b] . (x, 1)`` with ``|exact - Z| <= R`` elementwise.  The maps of
all cells of a level are propagated from the parent level in one batched
matrix product per source layer (instead of one small product per node,
about 88 us each), and evaluated at the vertices of all cells at once
(:func:`evaluate`, :func:`classify`).  The error analysis is that of
:mod:`polyrelu._regions_maps` (the same bounds, computed elementwise on
stacks of cells).

A level may split its cells by a group of the layer's neurons only
(``start <= i < stop``); :func:`continue_level` makes the level of the next
group, with the same maps.  A cell never references the network: it is its
pattern prefix (a tuple of tuples) and its geometry; exact rows are rebuilt
from the prefix on demand (:class:`ExactNodes`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._regions_maps import TINY, IntNet, Node, U, _g

__all__ = ["Level", "root_level", "child_level", "continue_level", "rebuild_level", "evaluate",
           "classify", "ExactNodes", "MAX_CHUNK", "GROUP"]

#: largest chunk of cells made into one level (float work per cell is then a
#: few batched numpy calls; larger chunks only hold more memory)
MAX_CHUNK = 256
#: mean number of candidate neurons per cell that one level splits by
GROUP = 8


class Level:
    """The cells of one prefix depth with their float layer maps (stacked)."""

    __slots__ = ("l", "Z", "R", "pieces", "parent", "pidx", "cells", "prefixes",
                 "size", "start", "stop", "partial")

    def __init__(self, l, Z, R, pieces, parent, pidx, cells, prefixes, size) -> None:
        self.l: int = l          # the layer whose maps Z, R are (1..L-1)
        self.Z: Any = Z          # (B, n_l, d + 1): [M | c] float shadows
        self.R: Any = R          # (B, n_l, d + 1): radii, |exact - Z| <= R
        self.pieces: Any = pieces  # (B, n_{l-1}) int: pieces of layer l - 1 (None: l = 1)
        self.parent: Any = parent  # Level of layer l - 1 (None for l = 1)
        self.pidx: Any = pidx    # (B,) row of each cell's parent in parent
        self.cells: Any = cells  # the cells' geometry (a pool of B cells)
        self.prefixes: list = prefixes  # pattern of layers 1..l-1, one tuple per cell
        self.size: int = size    # chunk size this level was made with
        self.start = 0           # neurons < start of layer l are final in partial
        self.stop = 0            # this level splits by neurons start..stop-1
        self.partial: Any = None  # per cell: pieces of layer l so far (start > 0)


def root_level(inet: IntNet, cells: Any) -> Level:
    """Layer 1: the same map for every root cell (from the root node)."""
    with np.errstate(over="ignore", invalid="ignore"):
        node = inet.root()
    Z = np.concatenate([node.Mf, node.cf[:, None]], axis=1)
    R = np.concatenate([node.RM, node.Rc[:, None]], axis=1)
    B = len(cells)
    return Level(1, np.broadcast_to(Z, (B,) + Z.shape).copy(),
                 np.broadcast_to(R, (B,) + R.shape).copy(), None, None, None,
                 cells, [()] * B, 1)


def rebuild_level(inet: IntNet, prefixes: list, cells: Any, size: int = 1) -> Level:
    """The level of layer ``len(prefix) + 1`` of cells known only by their
    pattern prefixes (all of one length): the float maps are propagated from
    the root, one batched step per layer -- a cell's node state is a
    function of its prefix, so a chunk of cells can travel as its prefixes
    and geometry (a work unit) and resume elsewhere."""
    B = len(prefixes)
    depth = len(prefixes[0]) if B else 0
    placeholder = range(B)
    lv = root_level(inet, cells if depth == 0 else placeholder)
    lv.size = size
    for k in range(depth):
        lv = child_level(inet, lv, list(range(B)), [list(p[k]) for p in prefixes],
                         cells if k == depth - 1 else placeholder,
                         [tuple(p[:k + 1]) for p in prefixes], size)
    return lv


def _ancestor(level: Level, k: int):
    """The level of layer ``k`` and the row of every cell of ``level`` in it."""
    idx = np.arange(len(level.cells))
    lv = level
    while lv.l > k:
        idx = lv.pidx[idx]
        lv = lv.parent
    return lv, idx


def child_level(inet: IntNet, parent: Level, rows: list, pieces: list, cells: Any,
                prefixes: list, size: int) -> Level:
    """The level of layer ``parent.l + 1`` for cells split from ``parent``.

    ``u_l = nu_{l-1} + sum_k nu_k`` (skips) with ``nu_k = slope(piece) z_k +
    offset(piece)``; ``z_l = W_l u_l + b_l`` -- float, with the radii of
    :meth:`polyrelu._regions_maps.Node._float_map` (stacked)."""
    l = parent.l + 1
    d = inet.d
    pidx = np.array(rows, dtype=np.intp)
    pcs = np.array(pieces, dtype=np.intp)
    lv = Level(l, None, None, pcs, parent, pidx, cells, prefixes, size)
    sources = [l - 1] + list(inet.skips.get(l, ()))
    Ua: Any = None
    RUa: Any = None
    Sabs: Any = None
    for k in sources:
        if k == 0:
            P = np.broadcast_to(inet.P0f, (len(cells),) + inet.P0f.shape)
            RP = np.broadcast_to(inet.RP0f, P.shape)
        else:
            if k == l - 1:
                src, idx, pk = parent, pidx, pcs
            else:
                src, idx = _ancestor(lv, k)
                nxt, nidx = _ancestor(lv, k + 1)
                pk = nxt.pieces[nidx]
            s = inet.slope_tab[pk]
            P = s[:, :, None] * src.Z[idx]
            if inet.act == "hard_tanh":
                P[:, :, d] += inet.offset_tab[pk]
            RP = np.abs(s)[:, :, None] * src.R[idx]
            if inet.act == "leaky_relu":
                # fl(alpha) and the product each add <= u relative error
                RP = (RP + 4 * U * (np.abs(P) + RP)) * (1 + 4 * U) + TINY
        if Ua is None:
            Ua, RUa, Sabs = P, RP, np.abs(P)
        else:
            Ua, RUa, Sabs = Ua + P, RUa + RP, Sabs + np.abs(P)
    if len(sources) > 1:
        # float additions of the skip sources: the sum of the magnitudes
        # bounds every partial sum (_regions_maps.Node._float_input)
        gs = 4 * (len(sources) + 2) * U
        RUa = (RUa + gs * Sabs) * (1 + gs) + TINY
    Wf, Wabs = inet.Wf[l], inet.Wabs[l]
    g = _g(Wf.shape[1] + 1)
    Z = np.matmul(Wf, Ua)
    R = np.matmul(Wabs, RUa + g * np.abs(Ua)) * (1.0 + g) + TINY
    Z[:, :, d] += inet.bf[l]
    R[:, :, d] += (g * inet.babs[l] + g * np.abs(Z[:, :, d])) * (1.0 + g) + TINY
    lv.Z, lv.R = Z, R
    return lv


def evaluate(level: Level, V: np.ndarray, r: np.ndarray, counts: np.ndarray):
    """Per cell and neuron of layer ``level.l``: the smallest and largest float
    value over the cell's vertices and one bound valid at every vertex.

    ``V`` (K x d) stacks the float vertices of the level's cells (``counts``
    per cell, in order), ``r`` (K,) their radii (``|exact - V| <= r`` in every
    coordinate).  Returns ``(vmin, vmax, bnd)`` (B x n) with ``|exact -
    fl(value)| <= bnd`` at every vertex of the cell.

    Bound (:mod:`polyrelu._regions_maps`): ``(|v| + r) . RM + (r + g |v|) .
    |M| + Rc + g |c|``, times ``1 + g``; every term grows with ``|v|`` and
    ``r``, so the per-coordinate maximum of ``|v|`` and the largest ``r`` of
    the cell bound it at all of its vertices at once.  The values are one
    batched product per bucket of cells with similar vertex counts (padded
    with each cell's first vertex, which leaves min and max unchanged).
    ``min_k fl(v_k . m + c) = fl(min_k fl(v_k . m) + c)`` (rounding is
    monotone), so ``c`` is added after the reduction."""
    B = len(counts)
    d = V.shape[1]
    starts = np.zeros(B, dtype=np.intp)
    np.cumsum(counts[:-1], out=starts[1:])
    Z, R = level.Z, level.R
    M = Z[:, :, :d]
    c = Z[:, :, d]
    Ma = np.abs(M)
    RM = R[:, :, :d]
    g = _g(d + 1)
    vabs = np.maximum.reduceat(np.abs(V), starts, axis=0)        # (B, d)
    rmax = np.maximum.reduceat(r, starts)                        # (B,)
    bnd = np.einsum("bnk,bk->bn", RM + g * Ma, vabs)
    bnd += rmax[:, None] * (RM.sum(axis=2) + Ma.sum(axis=2))
    bnd += R[:, :, d] + g * np.abs(c)
    bnd *= 1.0 + g
    bnd += TINY
    n = Z.shape[1]
    vmin = np.empty((B, n))
    vmax = np.empty((B, n))
    Mt = M.transpose(0, 2, 1)
    order = np.argsort(counts, kind="stable")
    cs = counts[order]
    # buckets of cells whose vertex counts differ by at most 25 % (padding)
    lo = 0
    while lo < B:
        kb = int(cs[lo])
        hi = int(np.searchsorted(cs, max(kb + 1, int(kb * 1.25) + 1), side="left"))
        cells = order[lo:hi]
        kmax = int(cs[hi - 1])
        idx = starts[cells][:, None] + np.minimum(np.arange(kmax)[None, :],
                                                  counts[cells][:, None] - 1)
        vals = np.matmul(V[idx], Mt[cells])                      # (nb, kmax, n)
        vmin[cells] = vals.min(axis=1)
        vmax[cells] = vals.max(axis=1)
        lo = hi
    vmin += c
    vmax += c
    return vmin, vmax, bnd


def classify(vmin: np.ndarray, vmax: np.ndarray, bnd: np.ndarray, ts: tuple):
    """Per cell and neuron: the number of thresholds proven strictly below
    the whole cell (``cnt``) and whether any threshold is undecided (cuts or
    may cut the cell).  A proof is strictness at every vertex (convexity).

    With ``e = bnd (1 + 4u) + 8u max(|vmin|, |vmax|) + 4u |t| + TINY``,
    ``fl(vmin - e) > t`` implies ``z - t > 0`` exactly at every vertex: the
    rounding of the subtraction keeps the sign of ``vmin - e - t`` up to
    ``u |vmin - e| <= u (|vmin| + e)``, covered by the margin (likewise
    ``fl(vmax + e) < t``).  A non-finite value anywhere (an overflow) proves
    nothing: ``vmax < inf`` is required for ``>``, ``vmin > -inf`` for
    ``<``; NaN fails every comparison."""
    e = bnd * (1.0 + 4 * U) + 8 * U * np.maximum(np.abs(vmin), np.abs(vmax)) + TINY
    B, n = vmin.shape
    cnt = np.zeros((B, n), dtype=np.intp)
    undecided = np.zeros((B, n), dtype=bool)
    finhi = vmax < np.inf
    finlo = vmin > -np.inf
    for t in ts:
        et = e + 4 * U * abs(t) if t else e
        pos = ((vmin - et) > t) & finhi
        neg = ((vmax + et) < t) & finlo
        cnt += pos
        undecided |= ~(pos | neg)
    return cnt, undecided


class ExactNodes:
    """Exact pre-activation rows on demand, by pattern prefix.

    ``node(prefix)`` is the :class:`~polyrelu._regions_maps.Node` of layer
    ``len(prefix) + 1`` for that pattern of the earlier layers; its exact
    integer rows are computed lazily (only the exact path and the exact data
    of a region read by a user need them).  Recently used nodes are kept.
    """

    def __init__(self, inet: IntNet, keep: int = 256) -> None:
        self.inet = inet
        self.keep = keep
        self._nodes: dict = {}

    def node(self, prefix: tuple) -> Node:
        hit = self._nodes.get(prefix)
        if hit is not None:
            return hit
        if prefix:
            node = Node(self.inet, self.node(prefix[:-1]), tuple(prefix[-1]), floats=False)
        else:
            node = Node(self.inet, None, (), floats=False)
        if len(self._nodes) >= self.keep:
            # drop the oldest half (insertion order); the chains of the
            # kept nodes hold their parents anyway
            for key in list(self._nodes)[: self.keep // 2]:
                del self._nodes[key]
        self._nodes[prefix] = node
        return node

    def line(self, prefix: tuple, l: int, i: int, t: int) -> tuple[list, int]:
        """Integer ``(m, c)`` of ``z_{l,i} - t`` (positive multiple) for the
        cell prefix ``prefix`` (pattern of layers ``1..>= l-1``)."""
        return self.node(tuple(prefix[: l - 1])).exact_line(i, t)


def continue_level(parent: Level, rows: list, pieces: list, cells: Any, size: int) -> Level:
    """The next group of neurons of the same layer: the maps are the parent's."""
    pidx = np.array(rows, dtype=np.intp)
    pre = parent.prefixes
    lv = Level(parent.l, parent.Z[pidx], parent.R[pidx],
               None if parent.pieces is None else parent.pieces[pidx], parent, pidx,
               cells, [pre[b] for b in rows], size)
    lv.start = parent.stop
    lv.partial = pieces
    return lv
