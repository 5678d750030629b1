"""Private helper of :mod:`polyrelu.regions`: the float-first V-polytope engine
for bounded domains, vectorised over a frontier of cells.

A **pool** holds the cells of one level in structure-of-arrays form: the
float vertices of all cells stacked (rows sorted by cell, ``seg`` the row
offsets), each with a radius (``|exact - float| <= r`` in every
coordinate), an incidence mask of ``W`` 64-bit words (bit ``q`` set: the
cell's constraint slot ``q`` is tight at the vertex) and a vertex id; per
cell the number of
slots in use and the slot table (ids of rows of ``T``, the oriented float
constraint rows ``a . x + c > 0`` inside with their radii, and ``keys``,
which name each row exactly: ``(0, k)`` the domain's row ``k``,
``(l, i, t, sigma)`` the hyperplane ``z_{l,i} = t`` with the cell on the
side ``sigma (z - t) >= 0``).  Nothing in a pool refers to the network: the
exact rows of a key are rebuilt from the cell's pattern prefix
(:class:`polyrelu._regions_batch.ExactNodes`).

A level's cells are split by its candidate neurons in **rounds**: every
partial cell that still has a candidate is cut by its current one at once
(one batch of numpy operations for all of them, instead of ~100 small calls
per cut).  Per round:

* signs at the vertices from the float values with their rigorous bounds
  (:mod:`polyrelu._regions_maps`); an undecided sign is computed exactly
  (exact vertex from its tight constraints, exact row of the neuron);
* a cell with strictly positive and strictly negative vertices is cut; the
  new vertices lie on its edges ``u v`` with ``u`` positive and ``v``
  negative: ``u, v`` span an edge iff they share ``d - 1`` tight constraints
  and no third vertex is tight on all of them (the combinatorial test of the
  double description method; two *simple* vertices sharing ``d - 1`` always
  do), and the new vertex is tight on the shared constraints and the cut;
* the new vertex is ``u + lam (v - u)``: the exact ``lam*`` lies in an
  interval computed from the bounds of ``h(u), h(v)`` (``A / (A + B)`` is
  monotone in both), which bounds the new radius, and the float values of
  the other candidates interpolate the same way (they are affine on the
  cell); an endpoint whose sign was decided exactly, or an overflow, gives
  the exact vertex ``h(u) v - h(v) u`` instead.

The children of a level are ordered lexicographically by pattern (the order
of a depth-first split over the neurons in index order), so the leaves come
out in lexicographic pattern order, whatever the chunking.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd
from typing import Any, Callable, Iterator

import numpy as np

from ._regions_batch import (
    GROUP,
    MAX_CHUNK,
    Level,
    child_level,
    classify,
    evaluate,
    root_level,
)
from ._regions_maps import TINY, IntNet, U, _g
from ._regions_pool import (
    _KEEP_EXACT,
    _RV,
    _SLACK,
    MAX_SLOTS,
    Pool,
    WorkUnit,
    _eval_point,
    _hval,
    _mask_int,
    _nullvec,
    _to_float,
    popcount,
    ragged_arange,
)

__all__ = ["PoolSplitter", "drive_pool"]


class PoolSplitter:
    """Split the cells of a level (pools) in vectorised rounds."""

    def __init__(self, inet: IntNet, exact, dom_rows: list, xv: dict, stats: dict,
                 check=lambda: None) -> None:
        self.inet = inet
        self.exact = exact
        self.dom_rows = dom_rows
        self.xv = xv              # vertex id -> exact homogeneous point
        self.next_vid = max(xv) + 1 if xv else 0
        self.stats = stats
        self.check = check
        self.ts = inet.thresholds
        self.d = inet.d
        self.tsv = np.array(self.ts, dtype=float)
        from fractions import Fraction as _F

        self.cpiece = np.array([inet.constant_piece(_F(t)) for t in self.ts], dtype=np.int64)

    # -- exact data on demand ----------------------------------------------
    def row(self, prefix: tuple, key: tuple) -> tuple:
        """Exact integer row ``(a_1..a_d, c)`` of a key, positive inside."""
        if key[0] == 0:
            return self.dom_rows[key[1]]
        m, c = self.exact.line(prefix, key[0], key[1], key[2])
        s = key[3]
        return tuple(s * v for v in m) + (s * c,)

    def rows(self, prefix: tuple, keys, which) -> dict:
        """Exact rows of the keys ``keys[q]``, ``q`` in ``which`` (one node
        lookup per layer)."""
        out = {}
        nodes: dict = {}
        for q in which:
            key = keys[q]
            if key[0] == 0:
                out[q] = self.dom_rows[key[1]]
                continue
            l = key[0]
            node = nodes.get(l)
            if node is None:
                node = nodes[l] = self.exact.node(tuple(prefix[:l - 1]))
            m, c = node.exact_line(key[1], key[2])
            sg = key[3]
            out[q] = tuple(sg * v for v in m) + (sg * c,)
        return out

    def exact_vertex(self, prefix: tuple, vid: int, mask: int, slots, keys) -> tuple:
        h = self.xv.get(vid)
        if h is None:
            rows = []
            q = 0
            while mask:
                if mask & 1:
                    rows.append(self.row(prefix, keys[int(slots[q])]))
                mask >>= 1
                q += 1
            h = _nullvec(rows)
            if h is None:
                raise AssertionError("a vertex whose tight constraints do not have rank d")
            xv = self.xv
            if len(xv) >= _KEEP_EXACT:
                # exact vertices are rebuilt from their incidences on demand:
                # keep the newest half (degenerate nets compute many)
                for key in list(xv)[: _KEEP_EXACT // 2]:
                    del xv[key]
            xv[vid] = h
        return h

    # -- the driver's interface --------------------------------------------
    def vertices(self, pool: Pool):
        d = self.d
        return pool.F[:, :d], pool.F[:, d], np.diff(pool.seg)

    def split_level(self, lv: Level, counts, cnt, undecided):
        """All children of the level's cells: ``(b, pieces)`` per child in
        lexicographic order and the pool of the children (same order)."""
        pool: Pool = lv.cells
        d = self.d
        B = len(pool)
        start = lv.start
        pcs = cnt.astype(np.int64)
        if lv.partial is not None and start:
            pcs[:, :start] = np.array([p[:start] for p in lv.partial], dtype=np.int64)
        bi, ni = np.nonzero(undecided)
        if not len(bi):
            return [(b, pcs[b].tolist()) for b in range(B)], pool
        ncand = np.bincount(bi, minlength=B)
        cmax = int(ncand.max())
        cand = np.zeros((B, cmax), dtype=np.intp)
        cand[bi, ragged_arange(ncand)] = ni
        own = np.repeat(np.arange(B), counts)
        Zc = lv.Z[np.arange(B)[:, None], cand]   # (B, cmax, d + 1)
        Rc = lv.R[np.arange(B)[:, None], cand]
        # float values of the candidates at every vertex and their bounds
        # (the bound of evaluate, at each vertex)
        Zr, Rr = Zc[own], Rc[own]
        V = pool.F[:, :d]
        Va = np.abs(V)
        rv = pool.F[:, d]
        g = _g(d + 1)
        Mr = Zr[:, :, :d]
        Ma = np.abs(Mr)
        RM = Rr[:, :, :d]
        VV = np.einsum("kjd,kd->kj", Mr, V) + Zr[:, :, d]
        VE = (np.einsum("kjd,kd->kj", RM + g * Ma, Va)
              + rv[:, None] * (RM.sum(axis=2) + Ma.sum(axis=2))
              + Rr[:, :, d] + g * np.abs(Zr[:, :, d])) * (1.0 + g) + TINY
        bad = ~np.isfinite(VV)
        if bad.any():
            VE[bad] = np.inf
        st = _State(self, lv, pool, VV, VE, pcs, cand, ncand, Zc, Rc, own)
        while st.round():
            pass
        return st.finish()

    # -- finished cells ---------------------------------------------------------
    def interior_points(self, prefixes: list, pool: Pool) -> list:
        """A short dyadic point strictly inside each cell (float filter over
        every kept constraint, else exact), else the exact sum of its
        homogeneous vertices (a positive combination of all: interior)."""
        d = self.d
        J = len(pool)
        seg = pool.seg
        F = pool.F
        V = F[:, :d]
        cnt = np.diff(seg)
        cen = np.add.reduceat(V, seg[:-1], axis=0) / cnt[:, None]
        size = (np.maximum.reduceat(V, seg[:-1], axis=0)
                - np.minimum.reduceat(V, seg[:-1], axis=0)).min(axis=1)
        fin = np.isfinite(cen).all(axis=1) & np.isfinite(size) & (size > 0)
        e = np.zeros(J, dtype=np.int64)
        e[fin] = np.maximum(0, 4 - np.floor(np.log2(size[fin])).astype(np.int64))
        out: list[Any] = [None] * J
        todo = np.flatnonzero(fin)
        mm = int(pool.m.max())
        slots = pool.slots[:, :mm]
        smask = np.arange(mm)[None, :] < pool.m[:, None]
        T = pool.T
        g = _g(d + 1)
        for extra in (0, 8, 24):
            if not len(todo):
                break
            e2 = e[todo] + extra
            todo = todo[e2 <= 900]
            e2 = e2[e2 <= 900]
            Df = np.ldexp(1.0, e2)
            Xf = np.round(cen[todo] * Df[:, None])
            okX = (np.abs(Xf) < 2.0 ** 53).all(axis=1)
            todo, Xf, Df, e2 = todo[okX], Xf[okX], Df[okX], e2[okX]
            if not len(todo):
                break
            p = Xf / Df[:, None]           # exact: |X| < 2**53, D a power of two
            ap = np.abs(p)
            Tg = T[slots[todo]]            # (j, mm, 2 (d + 1))
            A, c = Tg[..., :d], Tg[..., d]
            RA, Rcc = Tg[..., d + 1:2 * d + 1], Tg[..., 2 * d + 1]
            val = np.einsum("jqk,jk->jq", A, p) + c
            bnd = (np.einsum("jqk,jk->jq", RA, ap) + Rcc
                   + g * (np.einsum("jqk,jk->jq", np.abs(A), ap) + np.abs(c))) \
                * (1.0 + g) + TINY
            good = ((val > bnd) & (val < np.inf)) | ~smask[todo]
            failing = set(np.flatnonzero(~good.all(axis=1)).tolist())
            left = []
            Xi = Xf.astype(np.int64).tolist()
            for t_, (j, X, ee) in enumerate(zip(todo.tolist(), Xi, e2.tolist())):
                D = 1 << ee
                if t_ in failing:
                    # the rows the filter did not prove, exactly
                    hX = tuple(X) + (D,)
                    keys = pool.keys
                    sl = slots[j]
                    if not all(_hval(self.row(prefixes[j], keys[int(sl[q])]), hX) > 0
                               for q in np.flatnonzero(~good[t_]).tolist()):
                        left.append(j)
                        continue
                out[j] = tuple([Fraction(x, D) for x in X])
            todo = np.array(left, dtype=np.intp)
        for j in range(J):
            if out[j] is None:
                out[j] = self._exact_interior(prefixes[j], pool, j)
        return out

    def _exact_interior(self, prefix, pool: Pool, j: int) -> tuple:
        r0, r1 = int(pool.seg[j]), int(pool.seg[j + 1])
        hs = [self.exact_vertex(prefix, int(pool.vid[k]), _mask_int(pool.inc[k]),
                                pool.slots[j], pool.keys) for k in range(r0, r1)]
        d = self.d
        tot = [sum(h[q] for h in hs) for q in range(d + 1)]
        return tuple(Fraction(x, tot[-1]) for x in tot[:-1])

    def lazy_data(self, pool: Pool) -> list:
        """Compact exact data of every cell: ``(keys, (W, incidence masks as
        bytes))``, from which :func:`polytope_vertices` rebuilds it exactly."""
        mm = int(pool.m.max())
        karr = np.empty(len(pool.keys), dtype=object)
        karr[:] = pool.keys
        rows = karr[pool.slots[:, :mm]].tolist()
        W = pool.inc.shape[1]
        incb = pool.inc.astype("<u8", copy=False).tobytes()   # little endian
        seg = (8 * W * pool.seg).tolist()
        return [(tuple(rows[j][:mj]), (W, incb[seg[j]:seg[j + 1]]))
                for j, mj in enumerate(pool.m.tolist())]


class _State:
    """The partial cells of one level during its rounds (see module docstring).

    The working arrays hold the rows (vertices) of the cells that still have
    a candidate; a finished cell's rows leave them (``done``), so a round
    costs what its active cells hold.  ``VV`` / ``VE`` are the float values
    of the cell's candidate neurons at the rows and their bounds, one column
    per candidate slot from ``coff`` on (the columns of past candidates are
    dropped)."""

    def __init__(self, sp: PoolSplitter, lv: Level, pool: Pool, VV, VE, pcs, cand, ncand,
                 Zc, Rc, own) -> None:
        self.sp = sp
        self.lv = lv
        self.d = sp.d
        self.cand, self.ncand, self.Zc, self.Rc = cand, ncand, Zc, Rc
        B = len(pool)
        # cells
        self.b = np.arange(B)
        self.ci = np.zeros(B, dtype=np.int64)
        self.ti = np.zeros(B, dtype=np.int64)
        self.c0 = np.zeros(B, dtype=np.int64)
        self.m = pool.m.copy()
        self.slots = pool.slots.copy()
        self.pcs = pcs
        # table: the level's rows, then two per cut
        self.T0 = pool.T
        self.keys = list(pool.keys)
        self.Tnew: list = []
        self.nT = len(pool.T)
        # rows: the finished cells' rows go to done right away
        self.done: list = []
        live = ncand[own] > 0
        if not live.all():
            dead = ~live
            self.done.append((pool.F[dead], pool.inc[dead], pool.vid[dead], own[dead]))
            self.F, self.inc, self.vid, self.own = (pool.F[live], pool.inc[live],
                                                    pool.vid[live], own[live])
            self.VV, self.VE = VV[live], VE[live]
        else:
            self.F, self.inc, self.vid, self.own = pool.F, pool.inc.copy(), pool.vid, own
            self.VV, self.VE = VV, VE
        self.coff = 0
        self.W = self.inc.shape[1]

    def _prefix(self, j: int) -> tuple:
        return self.lv.prefixes[int(self.b[j])]

    def _xvert(self, k: int) -> tuple:
        j = int(self.own[k])
        return self.sp.exact_vertex(self._prefix(j), int(self.vid[k]),
                                    _mask_int(self.inc[k]), self.slots[j], self.keys)

    def _exact_sign(self, k: int, i: int, t: int) -> int:
        self.sp.stats["exact_signs"] += 1
        j = int(self.own[k])
        m, c = self.sp.exact.line(self._prefix(j), self.lv.l, i, t)
        if not any(m):
            return (c > 0) - (c < 0)
        val = _hval(tuple(m) + (c,), self._xvert(k))
        return (val > 0) - (val < 0)

    def _compact(self, cells: np.ndarray) -> None:
        """Drop the constraints tight at fewer than d vertices (not facets)
        of ``cells`` and renumber their slots; widen the masks by a word if
        a cell still lacks free slots."""
        d = self.d
        rows = np.flatnonzero(np.isin(self.own, cells))
        own = self.own[rows]
        inc = self.inc[rows]
        J = len(self.m)
        mm = int(self.m[cells].max())
        bits = [(inc[:, q // 64] >> np.uint64(q % 64)) & np.uint64(1) for q in range(mm)]
        counts = np.zeros((J, mm), dtype=np.int64)
        for q in range(mm):
            counts[:, q] = np.bincount(own, weights=bits[q], minlength=J)
        keep = (counts >= d) & (np.arange(mm)[None, :] < self.m[:, None])
        newpos = np.cumsum(keep, axis=1) - 1
        newinc = np.zeros_like(inc)
        for q in range(mm):
            kq = keep[own, q]
            dest = newpos[own, q].clip(0)
            for w in range(self.W):
                sel = kq & (dest // 64 == w)
                newinc[:, w] |= np.where(sel, bits[q] << (dest % 64).astype(np.uint64),
                                         np.uint64(0))
        self.inc[rows] = newinc
        for j in cells.tolist():
            ks = np.flatnonzero(keep[j])
            row = np.zeros(self.slots.shape[1], dtype=self.slots.dtype)
            row[:len(ks)] = self.slots[j, ks]
            self.slots[j] = row
            self.m[j] = len(ks)
        if (self.m[cells] >= MAX_SLOTS * self.W - _SLACK // 2).any():
            self.W += 1
            self.inc = np.concatenate([self.inc, np.zeros((len(self.inc), 1), np.uint64)],
                                      axis=1)
            self.slots = np.concatenate([self.slots, np.zeros((J, MAX_SLOTS), np.int64)],
                                        axis=1)

    def round(self) -> bool:
        sp = self.sp
        own = self.own
        K = len(own)
        if not K:
            return False
        sp.check()
        b, ci, ti, c0 = self.b, self.ci, self.ti, self.c0
        J = len(b)
        act = ci < self.ncand[b]
        full = np.flatnonzero(act & (self.m >= MAX_SLOTS * self.W - _SLACK))
        if len(full):
            self._compact(full)
        # drop the value columns of candidates every active cell is past
        cmin = int(ci[act].min()) - self.coff
        if cmin > 0:
            self.VV, self.VE = self.VV[:, cmin:], self.VE[:, cmin:]
            self.coff += cmin
        cis = np.minimum(ci, self.ncand[b] - 1)
        colr = (cis - self.coff)[own]
        t_cell = sp.tsv[ti]
        ar = np.arange(K)
        s = self.VV[ar, colr] - t_cell[own]
        bs = self.VE[ar, colr] * (1.0 + 4 * U) + 4 * U * np.abs(s) + TINY
        pos = (s > bs) & (s < np.inf)
        neg = (s < -bs) & (s > -np.inf)
        und = np.flatnonzero(~(pos | neg))
        neuron = self.cand[b, cis]
        if len(und):
            bs = bs.copy()
            for k in und.tolist():
                j = int(own[k])
                sg = self._exact_sign(k, int(neuron[j]), sp.ts[int(ti[j])])
                pos[k] = sg > 0
                neg[k] = sg < 0
                bs[k] = np.inf    # exact sign: no float interpolation from it
        npos = np.bincount(own, weights=pos, minlength=J)
        nneg = np.bincount(own, weights=neg, minlength=J)
        cut = act & (npos > 0) & (nneg > 0)
        above = act & (npos > 0) & (nneg == 0)
        below = act & (nneg > 0) & (npos == 0)
        const = act & (npos == 0) & (nneg == 0)
        # next state of the cells 0..J-1 (a cut keeps the positive side at j)
        up = above | cut
        last = ti + 1 >= len(sp.ts)
        c0n = c0 + up
        done = below | const | (up & last)
        piece = np.where(below, c0, np.where(const, sp.cpiece[ti], c0n))
        dj = np.flatnonzero(done)
        more = np.flatnonzero(up & ~last)
        cj = np.flatnonzero(cut)
        if len(cj):
            # appends the negative sides (from the state before this round)
            self._cut(cj, s, bs, pos, neg, neuron, t_cell)
        self.pcs[dj, neuron[dj]] = piece[dj]
        ci, ti, c0 = self.ci, self.ti, self.c0
        ci[dj] += 1
        ti[dj] = 0
        c0[dj] = 0
        ti[more] += 1
        c0[more] = c0n[more]
        # the rows of the cells now finished leave the working arrays
        fin = (ci >= self.ncand[self.b])[self.own]
        if fin.any():
            live = ~fin
            self.done.append((self.F[fin], self.inc[fin], self.vid[fin], self.own[fin]))
            self.F, self.inc, self.vid, self.own = (self.F[live], self.inc[live],
                                                    self.vid[live], self.own[live])
            self.VV, self.VE = self.VV[live], self.VE[live]
        return True

    def _cut(self, cj, s, bs, pos, neg, neuron, t_cell) -> None:
        sp, d = self.sp, self.d
        own, inc, F = self.own, self.inc, self.F
        VV, VE = self.VV, self.VE
        J = len(self.b)
        nc = len(cj)
        sp.stats["splits"] += nc
        cutc = np.zeros(J, dtype=bool)
        cutc[cj] = True
        newidx = np.full(J, -1, dtype=np.int64)
        newidx[cj] = J + np.arange(nc)
        cutrow = cutc[own]
        # -- edges: pairs (a > 0, b < 0) of one cell -------------------------
        prow = np.flatnonzero(pos & cutrow)
        nrow = np.flatnonzero(neg & cutrow)
        op = own[prow]
        o = np.argsort(op, kind="stable")
        prow, op = prow[o], op[o]
        on = own[nrow]
        o = np.argsort(on, kind="stable")
        nrow, on = nrow[o], on[o]
        ncount = np.bincount(on, minlength=J)
        nstart = np.cumsum(ncount) - ncount
        reps = ncount[op]
        A = np.repeat(prow, reps)
        Bv = nrow[np.repeat(nstart[op], reps) + ragged_arange(reps)]
        common = inc[A] & inc[Bv]
        keep = popcount(common).sum(axis=1) >= d - 1
        A, Bv, common = A[keep], Bv[keep], common[keep]
        tc = popcount(inc).sum(axis=1)
        ns = np.flatnonzero((tc[A] != d) | (tc[Bv] != d))
        if len(ns):
            # no third vertex of the cell tight on all the common constraints
            oall = np.argsort(own, kind="stable")
            call = np.bincount(own, minlength=J)
            sall = np.cumsum(call) - call
            oq = own[A[ns]]
            reps2 = call[oq]
            Q = np.repeat(np.arange(len(ns)), reps2)
            Wr = oall[np.repeat(sall[oq], reps2) + ragged_arange(reps2)]
            cm = common[ns][Q]
            hit = ((inc[Wr] & cm) == cm).all(axis=1)
            nhit = np.bincount(Q, weights=hit, minlength=len(ns))
            ok2 = np.ones(len(A), dtype=bool)
            ok2[ns[nhit > 2]] = False
            A, Bv, common = A[ok2], Bv[ok2], common[ok2]
        sp.check()   # a round of a large 5-D level takes tens of ms
        # -- new vertices -----------------------------------------------------
        sa, sb = np.abs(s[A]), np.abs(s[Bv])
        ba, bb = bs[A], bs[Bv]
        tot = sa + sb
        lam = sa / tot
        Alo, Ahi, Blo, Bhi = sa - ba, sa + ba, sb - bb, sb + bb
        lo = Alo / (Alo + Bhi) * (1.0 - 16 * U)
        hi = Ahi / (Ahi + Blo) * (1.0 + 16 * U)
        el = np.maximum(hi - lam, lam - lo) * (1.0 + 4 * U) + TINY
        FA, FB = F[A], F[Bv]
        Va, Vb = FA[:, :d], FB[:, :d]
        dV = Vb - Va
        Fn = np.empty_like(FA)
        Fn[:, :d] = Va + lam[:, None] * dV
        Fn[:, d] = (np.maximum(FA[:, d], FB[:, d]) + el * np.abs(dV).max(axis=1)
                    + 4 * U * (np.abs(Va).max(axis=1) + np.abs(Vb).max(axis=1))) \
            * (1.0 + 8 * U) + TINY
        fa, fb = VV[A], VV[Bv]
        dv = fb - fa
        VVn = fa + lam[:, None] * dv
        VEn = (np.maximum(VE[A], VE[Bv]) + el[:, None] * np.abs(dv)
               + 4 * U * (np.abs(fa) + np.abs(fb))) * (1.0 + 8 * U) + TINY
        ok = (Fn[:, d] < np.inf) & (el < 1.0) & (ba < np.inf) & (bb < np.inf) & (tot < np.inf)
        nw = len(A)
        vidn = np.arange(sp.next_vid, sp.next_vid + nw, dtype=np.int64)
        sp.next_vid += nw
        if not ok.all():
            self._exact_new(np.flatnonzero(~ok), A, Bv, Fn, VVn, VEn, vidn, neuron, t_cell)
        # -- the cut constraint: slot m_j of both children -----------------------
        bj = self.b[cj]
        slot = self.m[cj]
        hword = np.zeros(J, dtype=np.intp)
        hword[cj] = slot // 64
        hbit_c = np.zeros(J, dtype=np.uint64)
        hbit_c[cj] = np.left_shift(np.uint64(1), (slot % 64).astype(np.uint64))
        cis = self.ci[cj]
        hz = self.Zc[bj, cis].copy()
        hr = self.Rc[bj, cis].copy()
        tv = t_cell[cj]
        hz[:, d] -= tv
        hr[:, d] += 2 * U * np.abs(hz[:, d]) + TINY
        tp = self.nT + 2 * np.arange(nc)
        self.nT += 2 * nc
        rows2 = np.stack([np.concatenate([hz, hr], axis=1),
                          np.concatenate([-hz, hr], axis=1)], axis=1)
        self.Tnew.append(rows2.reshape(-1, 2 * (d + 1)))
        l = self.lv.l
        keys = self.keys
        for i, t in zip(neuron[cj].tolist(), tv.tolist()):
            t = int(t)
            keys.append((l, i, t, 1))
            keys.append((l, i, t, -1))
        slots_neg = self.slots[cj].copy()
        self.slots[cj, slot] = tp
        slots_neg[np.arange(nc), slot] = tp + 1
        self.m[cj] += 1
        # -- rows: negatives move to the new child, zeros and new ones in both --
        zr = np.flatnonzero(cutrow & ~pos & ~neg)
        if len(zr):
            inc[zr, hword[own[zr]]] |= hbit_c[own[zr]]
        own2 = own.copy()
        nr = np.flatnonzero(neg & cutrow)
        oz = newidx[own[zr]]
        own2[nr] = newidx[own[nr]]
        oa = own[A]
        incn = common
        incn[np.arange(len(oa)), hword[oa]] |= hbit_c[oa]
        self.F = np.concatenate([F, Fn, Fn, F[zr]])
        self.VV = np.concatenate([VV, VVn, VVn, VV[zr]])
        self.VE = np.concatenate([VE, VEn, VEn, VE[zr]])
        self.inc = np.concatenate([inc, incn, incn, inc[zr]])
        self.vid = np.concatenate([self.vid, vidn, vidn, self.vid[zr]])
        self.own = np.concatenate([own2, oa, newidx[oa], oz])
        # -- cells: the negative children (their candidate is done: piece c0) --
        pn = self.pcs[cj].copy()
        pn[np.arange(nc), neuron[cj]] = self.c0[cj]
        self.pcs = np.concatenate([self.pcs, pn])
        self.b = np.concatenate([self.b, bj])
        self.ci = np.concatenate([self.ci, self.ci[cj] + 1])
        self.ti = np.concatenate([self.ti, np.zeros(nc, dtype=np.int64)])
        self.c0 = np.concatenate([self.c0, np.zeros(nc, dtype=np.int64)])
        self.m = np.concatenate([self.m, self.m[cj]])
        self.slots = np.concatenate([self.slots, slots_neg])

    def _exact_new(self, bad, A, Bv, Fn, VVn, VEn, vidn, neuron, t_cell) -> None:
        """Exact new vertices ``h(u) v - h(v) u`` where the float ones fail."""
        sp, d = self.sp, self.d
        for q in bad.tolist():
            a, bv = int(A[q]), int(Bv[q])
            j = int(self.own[a])
            i, t = int(neuron[j]), int(t_cell[j])
            m, c = sp.exact.line(self._prefix(j), self.lv.l, i, t)
            hrow = tuple(m) + (c,)
            u, v = self._xvert(a), self._xvert(bv)
            hu, hv = _hval(hrow, u), _hval(hrow, v)
            h = tuple(hu * y - hv * x for x, y in zip(u, v))
            g = 0
            for x in h:
                g = gcd(g, x)
            h = tuple(x // g for x in h)
            sp.xv[int(vidn[q])] = h
            f = np.array([_to_float(x, h[-1]) for x in h[:-1]])
            with np.errstate(over="ignore", invalid="ignore"):
                rq = _RV * float(np.abs(f).max()) + TINY
            Fn[q, :d] = f
            Fn[q, d] = rq if rq < np.inf else np.inf
            bj = int(self.b[j])
            vq, bq = _eval_point(self.Zc[bj], self.Rc[bj], f, Fn[q, d])
            VVn[q] = vq[self.coff:]
            VEn[q] = bq[self.coff:]

    def finish(self):
        """Children in lexicographic order of ``(b, pieces)`` and their pool."""
        self.sp.check()
        lv = self.lv
        J = len(self.b)
        start, stop = lv.start, lv.stop
        keys_ = [self.pcs[:, q] for q in range(stop - 1, start - 1, -1)] + [self.b]
        order = np.lexsort(keys_)
        rank = np.empty(J, dtype=np.int64)
        rank[order] = np.arange(J)
        parts = self.done + ([(self.F, self.inc, self.vid, self.own)] if len(self.own) else [])
        F = np.concatenate([p[0] for p in parts])
        W = self.W
        inc = np.concatenate([p[1] if p[1].shape[1] == W else
                              np.concatenate([p[1], np.zeros((len(p[1]), W - p[1].shape[1]),
                                                             np.uint64)], axis=1)
                              for p in parts])
        vid = np.concatenate([p[2] for p in parts])
        ro = rank[np.concatenate([p[3] for p in parts])]
        rows = np.argsort(ro, kind="stable")
        counts = np.bincount(ro, minlength=J)
        seg = np.zeros(J + 1, dtype=np.int64)
        np.cumsum(counts, out=seg[1:])
        T = np.concatenate([self.T0] + self.Tnew) if self.Tnew else self.T0
        pool = Pool(F[rows], inc[rows], vid[rows], seg, self.m[order], self.slots[order], T,
                    self.keys)
        return list(zip(self.b[order].tolist(), self.pcs[order].tolist())), pool


class _PoolIter:
    """A level's children (all made at once, vectorised), handed out in
    growing chunks."""

    def __init__(self, level: Level, sp: PoolSplitter, stats: dict) -> None:
        self.level = level
        self.size = level.size
        V, r, counts = sp.vertices(level.cells)
        vmin, vmax, bnd = evaluate(level, V, r, counts)
        cnt, undecided = classify(vmin, vmax, bnd, sp.ts)
        n = undecided.shape[1]
        start = level.start
        if start:
            undecided[:, :start] = False
        col = undecided.sum(axis=0)[start:]
        cum = np.cumsum(col)
        B = len(level.cells)
        # small levels (the first path down, where limited runs want their
        # first regions) split by fewer neurons at a time
        target = min(GROUP, B) * B
        if not len(cum) or cum[-1] <= target:
            stop = n
        else:
            stop = start + max(1, int(np.searchsorted(cum, target, side="right")))
            undecided[:, stop:] = False
        level.stop = stop
        stats["candidates"] += int(undecided.sum())
        sp.check()
        self.items, self.pool = sp.split_level(level, counts, cnt, undecided)
        self.pos = 0

    def take(self):
        j0 = self.pos
        j1 = min(len(self.items), j0 + self.size)
        self.pos = j1
        self.size = min(2 * self.size, MAX_CHUNK)
        return j0, j1


def drive_pool(inet: IntNet, root: Pool | None, sp: PoolSplitter, stats: dict,
               check: Callable[[], None], level: Level | None = None,
               frontier: int | None = None) -> Iterator[Any]:
    """Depth-first over levels; yields ``(prefixes, pool)`` chunks of
    finished cells in lexicographic pattern order.

    ``level`` starts from a given level instead of the root cell (a work
    unit's, see :class:`WorkUnit`); with ``frontier = l`` the cells reaching
    layer ``l`` are not split but yielded as :class:`WorkUnit` s (in their
    place in the order)."""
    from ._regions_batch import continue_level

    last = inet.L - 1
    widths = inet.widths
    if level is None:
        level = root_level(inet, root)
        stats["nodes"] += 1
    if len(level.cells):
        sp.next_vid = max(sp.next_vid, int(level.cells.vid.max()) + 1)
    stack = [_PoolIter(level, sp, stats)]
    while stack:
        check()
        top = stack[-1]
        j0, j1 = top.take()
        if j0 == j1:
            stack.pop()
            continue
        lv = top.level
        items = top.items[j0:j1]
        rows = [b for b, _ in items]
        pcs = [p for _, p in items]
        cells = top.pool.part(j0, j1)
        if lv.stop < widths[lv.l]:
            child = continue_level(lv, rows, pcs, cells.compact_table(), top.size)
        else:
            pre = lv.prefixes
            prefixes = [pre[b] + (tuple(p),) for b, p in zip(rows, pcs)]
            if lv.l == last:
                yield prefixes, cells
                continue
            if frontier is not None and lv.l + 1 >= frontier:
                yield WorkUnit(prefixes, cells.compact_table())
                continue
            stats["nodes"] += len(rows)
            child = child_level(inet, lv, rows, pcs, cells.compact_table(), prefixes,
                                top.size)
        stack.append(_PoolIter(child, sp, stats))
