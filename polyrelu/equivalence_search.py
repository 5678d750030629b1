"""Counterexamples to equivalence by optimisation, then exact check.

Stage 2 of :func:`polyrelu.equivalent` first evaluates exactly at structural
and random points; those only find differences that random points hit.  This
module *searches* for them (issue 15, item 1):

1. **float ascent** -- batched float64 projected gradient ascent (numpy, a
   hand-written backward pass) from many starts on the objective

   * ``mode="exact"``: ``phi(x) = max_k |f_k(x) - g_k(x) - shift_k|``;
   * ``mode="top1"``: ``phi(x) = min(f_i - max_{k != i} f_k,
     g_j - max_{k != j} g_k)`` with ``i = argmax f``, ``j = argmax_{k != i} g``:
     positive exactly when both argmaxes are unique and different (the strict
     top-1 counterexample of :func:`polyrelu.equivalent`; ties are not
     counterexamples).

   A box domain is projected onto by clipping; a polyhedron by clipping to
   its bounding box plus a penalty on the violated rows; R^n by a schedule of
   boxes of growing radius (:data:`RADII`).
2. **localisation** -- when f and g have the same architecture, an exact
   *alignment* (:func:`align`: a float-proposed matching of the units layer
   by layer, exact scales read off as the most common entry ratio) names the
   few parameters where they differ.  Parameter ``W_l[i][j]`` only matters
   where unit ``j`` of layer ``l-1`` and unit ``i`` of layer ``l`` are active,
   so the ascent also maximises ``min_t z_t(x) / |w_t|`` over those units,
   reaching regions of tiny measure that random points miss.
3. **exact LP in the region** -- each of the best float points is made
   rational, its exact activation patterns of ``f`` and ``g`` give the closed
   cell (both regions, J&V Theorem 2.2) on which ``f - g`` is one exact affine
   map, and the same objective is maximised *exactly* over that cell by LP
   (:meth:`polyrelu.Polyhedron.maximize`; floats may propose the optimum,
   an exact primal/dual pair certifies it).  On the closed cell both networks
   equal their affine maps (continuity), so the optimum is a true value.
4. Every point returned is re-checked by exact evaluation of ``f`` and ``g``.

Floats only propose points; no float decides anything.

>>> from polyrelu import Network
>>> f = Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])])
>>> g = Network.from_weights([([[1, 0], [0, 1]], [0, -10]), ([[1, 1]], [0])])
>>> res = search_counterexample(f, g, Polyhedron.box([-20, -20], [20, 20]))
>>> res is not None and f(res.point) != g(res.point)
True
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Optional, Sequence

import numpy as np

from .budget import Budget, as_budget
from .domains import as_domain
from .exceptions import NetworkError, ShapeError
from .network import Network
from .numbers import to_float, to_fraction
from .polyhedron import Polyhedron, fast_path
from .regions import _piece_rows

__all__ = ["SearchResult", "Alignment", "align", "search_counterexample", "RADII"]

Vec = tuple[Fraction, ...]

#: radii of the boxes [-r, r]^d searched on R^d (a scaled box schedule)
RADII = (1.0, 8.0, 64.0, 1024.0)


@dataclass(frozen=True)
class SearchResult:
    """A counterexample found by :func:`search_counterexample`.

    ``point`` is rational and in the domain; ``value`` is the exact objective
    there (``max_k |f_k - g_k - shift_k|``, or the top-1 margin); ``how`` is
    ``"ascent"`` (float ascent on the difference) or ``"localised"`` (ascent
    towards the units an aligned parameter difference connects), followed by
    ``"+lp"`` when the exact LP over the cell gave the point.
    """

    point: Vec
    value: Fraction
    how: str
    candidates: int


@dataclass(frozen=True)
class Alignment:
    """Units of ``g`` matched to those of ``f`` and the parameters that differ.

    ``permutations[l][i]`` / ``scalings[l][i]`` relate hidden unit ``i`` of
    layer ``l+1`` of ``f`` to unit ``p`` of ``g`` as in
    :class:`polyrelu.Certificate`; ``differences`` lists ``(layer, row,
    column)`` of ``f`` (1-based layer, column ``None`` = the bias) where
    ``W_f != s W_g`` exactly under that matching.
    """

    permutations: tuple[tuple[int, ...], ...]
    scalings: tuple[tuple[Fraction, ...], ...]
    differences: tuple[tuple[int, int, Optional[int]], ...]


# --------------------------------------------------------------------------
# float64 network with a backward pass (proposals only)
# --------------------------------------------------------------------------

class _FloatNet:
    """float64 copy of a network; ``forward`` keeps what ``backward`` needs."""

    def __init__(self, net: Network):
        self.L = net.num_layers
        self.act = net.activation
        self.alpha = to_float(net.alpha) if net.activation == "leaky_relu" else 0.0
        self.W = [np.array([[to_float(v) for v in r] for r in layer.W], dtype=float)
                  for layer in net.layers]
        self.b = [np.array([to_float(v) for v in layer.b], dtype=float)
                  for layer in net.layers]
        self.skips = net.skip_sources
        self.imap = None
        if net.input_map is not None:
            A, a = net.input_map
            self.imap = (np.array([[to_float(v) for v in r] for r in A], dtype=float),
                         np.array([to_float(v) for v in a], dtype=float))

    def forward(self, X):
        nus = [X if self.imap is None else X @ self.imap[0].T + self.imap[1]]
        zs = []
        for l in range(1, self.L + 1):
            u = nus[l - 1]
            for s in self.skips.get(l, ()):
                u = u + nus[s]
            z = u @ self.W[l - 1].T + self.b[l - 1]
            zs.append(z)
            if l < self.L:
                if self.act == "relu":
                    nus.append(np.maximum(z, 0.0))
                elif self.act == "leaky_relu":
                    nus.append(np.where(z >= 0, z, self.alpha * z))
                else:
                    nus.append(np.clip(z, -1.0, 1.0))
        return zs

    def _slope(self, z):
        if self.act == "relu":
            return (z > 0).astype(float)
        if self.act == "leaky_relu":
            return np.where(z > 0, 1.0, self.alpha)
        return ((z > -1) & (z < 1)).astype(float)

    def backward(self, zs, gz, top: int):
        """d(sum gz . z_top)/dx per row, ``z_top`` the pre-activations of layer ``top``."""
        gnu: dict[int, Any] = {}
        for l in range(top, 0, -1):
            if l < top:
                g = gnu.pop(l, None)
                if g is None:
                    continue
                gz = g * self._slope(zs[l - 1])
            gu = gz @ self.W[l - 1]
            for s in (l - 1,) + tuple(self.skips.get(l, ())):
                gnu[s] = gnu[s] + gu if s in gnu else gu
        g0 = gnu.get(0)
        if g0 is None:
            return np.zeros((gz.shape[0], self.W[0].shape[1] if self.imap is None
                             else self.imap[0].shape[1]))
        return g0 if self.imap is None else g0 @ self.imap[0]


# --------------------------------------------------------------------------
# objectives (float): value and gradient per row of X
# --------------------------------------------------------------------------

def _diff_objective(F, G, X, shift, mode):
    zf, zg = F.forward(X), G.forward(X)
    of, og = zf[-1], zg[-1]
    n, K = of.shape
    rows = np.arange(n)
    if mode == "exact":
        D = of - og - shift
        k = np.abs(D).argmax(axis=1)
        sgn = np.sign(D[rows, k])
        sgn[sgn == 0] = 1.0
        val = np.abs(D[rows, k])
        ef = np.zeros_like(of)
        ef[rows, k] = sgn
        grad = F.backward(zf, ef, F.L) - G.backward(zg, ef, G.L)
        return val, grad
    # top1: min(f_i - max_{k!=i} f_k, g_j - max_{k!=j} g_k), j = argmax_{k != i} g
    i = of.argmax(axis=1)
    fo = of.copy()
    fo[rows, i] = -np.inf
    i2 = fo.argmax(axis=1)
    go = og.copy()
    go[rows, i] = -np.inf
    j = go.argmax(axis=1)
    gj = og.copy()
    gj[rows, j] = -np.inf
    j2 = gj.argmax(axis=1)
    mf = of[rows, i] - of[rows, i2]
    mg = og[rows, j] - og[rows, j2]
    ef = np.zeros_like(of)
    eg = np.zeros_like(og)
    use_f = mf <= mg
    ef[rows[use_f], i[use_f]] = 1.0
    ef[rows[use_f], i2[use_f]] = -1.0
    ng = ~use_f
    eg[rows[ng], j[ng]] = 1.0
    eg[rows[ng], j2[ng]] = -1.0
    grad = F.backward(zf, ef, F.L) + G.backward(zg, eg, G.L)
    return np.minimum(mf, mg), grad


def _unit_objective(F, X, targets, norms):
    """min over target units (layer, i) of z / |w| (the units' activity)."""
    zs = F.forward(X)
    vals = np.stack([zs[l - 1][:, i] / n for (l, i), n in zip(targets, norms)], axis=1)
    t = vals.argmin(axis=1)
    grad = np.zeros_like(X)
    for k, ((l, i), n) in enumerate(zip(targets, norms)):
        sel = t == k
        if not sel.any():
            continue
        gz = np.zeros((int(sel.sum()), F.W[l - 1].shape[0]))
        gz[:, i] = 1.0 / n
        sub = [z[sel] for z in zs]
        grad[sel] = F.backward(sub, gz, l)
    return vals.min(axis=1), grad


class _Region:
    """The float search box and how to project onto the domain."""

    def __init__(self, lo, hi, rows):
        self.lo, self.hi = np.asarray(lo, float), np.asarray(hi, float)
        self.rows = rows           # (A, b) float rows of a non-box polyhedron, or None

    def starts(self, n, rng):
        return self.lo + (self.hi - self.lo) * rng.random((n, len(self.lo)))

    def project(self, X):
        return np.clip(X, self.lo, self.hi)

    def penalty(self, X):
        """(violation, its gradient) of the polyhedron rows, or zeros."""
        if self.rows is None:
            return 0.0, 0.0
        A, b = self.rows
        v = X @ A.T - b
        pos = v > 0
        return (v * pos).sum(axis=1), pos.astype(float) @ A


def _ascend(objective, region: _Region, starts: int, steps: int, rng, keep: int,
            budget: Budget):
    """Projected gradient ascent from many starts; the ``keep`` best points."""
    X = region.starts(starts, rng)
    width = float(np.max(region.hi - region.lo))
    best_v = np.full(starts, -np.inf)
    best_x = X.copy()
    with np.errstate(all="ignore"):
        for t in range(steps):
            if t % 16 == 0 and budget.exhausted:
                break
            v, g = objective(X)
            pen, gp = region.penalty(X)
            score = v - 1e3 * pen * (1 + np.abs(v))
            better = np.isfinite(score) & (score > best_v)
            best_v[better] = score[better]
            best_x[better] = X[better]
            g = g - 1e3 * gp * (1 + np.abs(v))[:, None] if region.rows is not None else g
            norm = np.abs(g).max(axis=1, keepdims=True)
            norm[~np.isfinite(norm) | (norm == 0)] = 1.0
            # geometric decay from 1/20 of the box to 1e-9 of it: large steps
            # travel, the last ones pinpoint regions of tiny measure
            lr = width * 0.05 * (2e-8) ** (t / max(1, steps - 1))
            X = region.project(X + lr * g / norm)
            stuck = ~np.isfinite(X).all(axis=1)
            if stuck.any():
                X[stuck] = region.starts(int(stuck.sum()), rng)
    order = np.argsort(-best_v)[:keep]
    return [(float(best_v[k]), best_x[k]) for k in order if np.isfinite(best_v[k])]


# --------------------------------------------------------------------------
# alignment: which parameters differ between f and g
# --------------------------------------------------------------------------

def align(f: Network, g: Network, max_differences: int = 16) -> Optional[Alignment]:
    """Match the units of ``g`` to those of ``f`` and list the differing parameters.

    Layer by layer, the rows of ``g`` (columns in the matched order of the
    previous layer, divided by its scales) are matched to the rows of ``f`` by
    float cosine similarity (a proposal: ``scipy``'s assignment solver); the
    scale of each matched pair is then the most common *exact* ratio of its
    entries, and every entry that disagrees exactly under that scale is a
    difference.  Returns None when the architectures differ or more than
    ``max_differences`` entries differ (the difference is not localised).

    >>> from polyrelu import Network
    >>> f = Network.from_weights([([[1, 2, 1], [3, 4, 1]], [0, 1]), ([[1, 1]], [0])])
    >>> g = Network.from_weights([([[6, 8, 2], [1, 5, 1]], [2, 0]), ([["1/2", 1]], [0])])
    >>> al = align(f, g)          # g: units swapped, one scaled by 2, one weight moved
    >>> al.permutations, al.scalings, al.differences
    (((1, 0),), ((Fraction(1, 1), Fraction(1, 2)),), ((1, 0, 1),))
    """
    from scipy.optimize import linear_sum_assignment

    if (f.widths != g.widths or f.skips != g.skips or f.activation != g.activation
            or f.input_map != g.input_map or f.alpha != g.alpha):
        return None
    if f.skips:
        return None     # skip-tied layers share permutations: not handled here
    homog = f.activation != "hard_tanh"
    L = f.num_layers
    p_prev = list(range(f.layers[0].in_dim))
    s_prev = [Fraction(1)] * len(p_prev)
    perms: list[tuple[int, ...]] = []
    scales: list[tuple[Fraction, ...]] = []
    diffs: list[tuple[int, int, Optional[int]]] = []
    for l in range(1, L + 1):
        Wf, bf = f.layers[l - 1].W, f.layers[l - 1].b
        Wg, bg = g.layers[l - 1].W, g.layers[l - 1].b
        rows_g = [[Wg[k][p_prev[j]] / s_prev[j] for j in range(len(p_prev))] + [bg[k]]
                  for k in range(len(Wg))]
        rows_f = [list(r) + [c] for r, c in zip(Wf, bf)]
        n = len(rows_f)
        if l < L:
            Ff = np.array([[to_float(v) for v in r] for r in rows_f])
            Fg = np.array([[to_float(v) for v in r] for r in rows_g])
            if homog:
                Ff = Ff / np.maximum(np.linalg.norm(Ff, axis=1, keepdims=True), 1e-300)
                Fg = Fg / np.maximum(np.linalg.norm(Fg, axis=1, keepdims=True), 1e-300)
                cost = -(Ff @ Fg.T)
            else:
                cost = ((Ff[:, None, :] - Fg[None, :, :]) ** 2).sum(axis=2)
            if not np.isfinite(cost).all():
                return None
            _, p = linear_sum_assignment(cost)
            p = [int(v) for v in p]
        else:
            p = list(range(n))
        s = []
        for i in range(n):
            rf, rg = rows_f[i], rows_g[p[i]]
            if homog and l < L:
                ratios = Counter(a / c for a, c in zip(rf, rg) if a and c and a * c > 0)
                si = ratios.most_common(1)[0][0] if ratios else Fraction(1)
            else:
                si = Fraction(1)
            s.append(si)
            for j, (a, c) in enumerate(zip(rf, rg)):
                if a != si * c:
                    diffs.append((l, i, None if j == len(rf) - 1 else j))
                    if len(diffs) > max_differences:
                        return None
        if l < L:
            perms.append(tuple(p))
            scales.append(tuple(s))
            p_prev, s_prev = p, s
    return Alignment(tuple(perms), tuple(scales), tuple(diffs))


def _targets(net: Network, diff) -> list[tuple[int, int]]:
    """Hidden units that must be active for parameter ``diff`` to matter."""
    l, i, j = diff
    out = []
    if j is not None and l - 1 >= 1:
        out.append((l - 1, j))
    if l < net.num_layers:
        out.append((l, i))
    return out


# --------------------------------------------------------------------------
# the exact phase: the cell of a point, the exact LP over it
# --------------------------------------------------------------------------

def _cell_rows(net: Network, pattern) -> tuple[list, list, tuple]:
    """Rows ``a x <= c`` of the closed region of ``pattern`` and the output map."""
    maps = net.layer_maps(pattern)
    A: list = []
    b: list = []
    for (M, c), bits in zip(maps[:-1], pattern):
        for m, ci, piece in zip(M, c, bits):
            for a, rhs in _piece_rows(net, m, ci, piece):
                if any(a):
                    A.append(a)
                    b.append(rhs)
    return A, b, maps[-1]


def _reach_targets(net: Network, x: Vec, targets, dom: Optional[Polyhedron], box):
    """A point where every target unit is strictly active, by exact LP, or None.

    The pattern of ``x`` with the target bits set to 1 fixes a cell (its rows
    from :meth:`Network.layer_maps`, J&V Theorem 2.2); over it, maximise ``t``
    with ``z_target >= t`` (and ``t <= 1``): an optimum ``t > 0`` is a point
    of that cell where the targets are active, even when the float ascent
    stopped just outside it.
    """
    if net.activation == "hard_tanh":
        return None
    pat = [list(bits) for bits in net.pattern(x)]
    for l, i in targets:
        pat[l - 1][i] = 1
    pattern = tuple(tuple(bits) for bits in pat)
    maps = net.layer_maps(pattern)
    zero, one = Fraction(0), Fraction(1)
    tset = set(targets)
    A: list = []
    b: list = []
    for l, ((M, c), bits) in enumerate(zip(maps[:-1], pattern), start=1):
        for i, (m, ci, piece) in enumerate(zip(M, c, bits)):
            if (l, i) in tset:
                A.append(tuple(-v for v in m) + (one,))     # t - z <= 0
                b.append(ci)
                continue
            for a, rhs in _piece_rows(net, m, ci, piece):
                if any(a):
                    A.append(tuple(a) + (zero,))
                    b.append(rhs)
    d = len(x)
    if dom is not None:
        DA, Db = dom.raw_inequalities
        A += [tuple(r) + (zero,) for r in DA]
        b += list(Db)
    if box is not None:
        for k in range(d):
            e = tuple(Fraction(int(j == k)) for j in range(d)) + (zero,)
            A += [e, tuple(-v for v in e)]
            b += [box[1][k], -box[0][k]]
    A.append((zero,) * d + (one,))
    b.append(one)
    with fast_path(True):
        r = Polyhedron.from_inequalities(A, b, ambient_dim=d + 1).maximize(
            (zero,) * d + (one,))
    if r.status != "optimal" or r.point is None or r.value is None or r.value <= 0:
        return None
    return tuple(r.point[:d])


def _exact_value(fx: Vec, gx: Vec, mode: str, shift: Vec) -> Fraction:
    if mode == "exact":
        return max(abs(a - c - s) for a, c, s in zip(fx, gx, shift))
    K = len(fx)
    i = max(range(K), key=lambda k: fx[k])
    mf = fx[i] - max((fx[k] for k in range(K) if k != i), default=fx[i])
    j = max((k for k in range(K) if k != i), key=lambda k: gx[k])
    mg = gx[j] - max((gx[k] for k in range(K) if k != j), default=gx[j])
    return min(mf, mg)


def _lp_in_cell(f, g, x: Vec, dom: Optional[Polyhedron], box, mode: str, shift: Vec):
    """Maximise the objective exactly over the cell of ``x``: (value, point) or None."""
    pf, pg = f.pattern(x), g.pattern(x)
    Af, bf, (Mf, cf) = _cell_rows(f, pf)
    Ag, bg, (Mg, cg) = _cell_rows(g, pg)
    A, b = Af + Ag, bf + bg
    if dom is not None:
        DA, Db = dom.raw_inequalities
        A += list(DA)
        b += list(Db)
        E = dom.raw_equalities
    else:
        E = ((), ())
    d = len(x)
    if box is not None:
        lo, hi = box
        for k in range(d):
            e = tuple(Fraction(int(j == k)) for j in range(d))
            A += [e, tuple(-v for v in e)]
            b += [hi[k], -lo[k]]
    fx, gx = f(x), g(x)
    best: Optional[tuple[Fraction, Vec]] = None
    with fast_path(True):
        if mode == "exact":
            vals = [(abs(a - c - s), k, 1 if a - c - s >= 0 else -1)
                    for k, (a, c, s) in enumerate(zip(fx, gx, shift))]
            vals.sort(reverse=True)
            P = Polyhedron.from_inequalities(A, b, E if E[0] else None, ambient_dim=d)
            for _, k, sg in vals[:2]:
                row = tuple(sg * (u - v) for u, v in zip(Mf[k], Mg[k]))
                off = sg * (cf[k] - cg[k] - shift[k])
                if not any(row):
                    cand = (abs(off), x)
                else:
                    r = P.maximize(row)
                    if r.status != "optimal" or r.point is None:
                        continue
                    cand = (r.value + off, tuple(r.point))
                if best is None or cand[0] > best[0]:
                    best = cand
            return best
        # top1: variables (x, t); maximise t with f_i - f_k >= t, g_j - g_k >= t
        K = len(fx)
        i = max(range(K), key=lambda k: fx[k])
        j = max((k for k in range(K) if k != i), key=lambda k: gx[k])
        zero = Fraction(0)
        A2 = [tuple(a) + (zero,) for a in A]
        b2 = list(b)
        for M, c, w in ((Mf, cf, i), (Mg, cg, j)):
            for k in range(K):
                if k != w:
                    # t - (M_w - M_k) x <= c_w - c_k
                    A2.append(tuple(v - u for u, v in zip(M[w], M[k])) + (Fraction(1),))
                    b2.append(c[w] - c[k])
        E2 = ((tuple(tuple(r) + (zero,) for r in E[0]), E[1]) if E[0] else None)
        P = Polyhedron.from_inequalities(A2, b2, E2, ambient_dim=d + 1)
        r = P.maximize((zero,) * d + (Fraction(1),))
        if r.status != "optimal" or r.point is None:
            return None
        return r.value, tuple(r.point[:d])


# --------------------------------------------------------------------------
# the front door
# --------------------------------------------------------------------------

def _search_regions(dom: Optional[Polyhedron], d: int):
    """Float search boxes (and the exact box for the LP when the domain is R^d)."""
    if dom is None:
        out = []
        for r in RADII:
            q = to_fraction(r)
            out.append((_Region([-r] * d, [r] * d, None), ([-q] * d, [q] * d)))
        return out
    from .equivalence import _box_of

    lo, hi, is_box = _box_of(dom, d)
    extra = None
    if any(v is None for v in lo + hi):
        # unbounded polyhedron: growing boxes around an interior point, clipped
        c = dom.interior_point()
        out = []
        A, b = dom.raw_inequalities
        rows = (np.array([[to_float(v) for v in r] for r in A]),
                np.array([to_float(v) for v in b])) if A else None
        for r in RADII:
            q = to_fraction(r)
            flo = [to_float(lo[k]) if lo[k] is not None else to_float(c[k]) - r
                   for k in range(d)]
            fhi = [to_float(hi[k]) if hi[k] is not None else to_float(c[k]) + r
                   for k in range(d)]
            elo = [lo[k] if lo[k] is not None else c[k] - q for k in range(d)]
            ehi = [hi[k] if hi[k] is not None else c[k] + q for k in range(d)]
            out.append((_Region(flo, fhi, rows), (elo, ehi)))
        return out
    rows = None
    if not is_box:
        A, b = dom.raw_inequalities
        rows = (np.array([[to_float(v) for v in r] for r in A]),
                np.array([to_float(v) for v in b]))
    return [(_Region([to_float(v) for v in lo], [to_float(v) for v in hi], rows), extra)]


def _rational(x) -> Optional[Vec]:
    try:
        return tuple(Fraction(float(v)) for v in x)
    except (OverflowError, ValueError):
        return None


def search_counterexample(f: Network, g: Network, domain: Any = None, eps: Any = 0,
                          mode: str = "exact", *, shift: Optional[Sequence[Any]] = None,
                          starts: int = 64, steps: int = 150, keep: int = 4,
                          localise: bool = True, seed: int = 0,
                          check: Optional[tuple[Network, Network]] = None,
                          budget: Optional[Budget] = None) -> Optional[SearchResult]:
    """A rational point of ``domain`` where ``f`` and ``g`` differ, or None.

    Parameters
    ----------
    f, g : Network
        Same input and output dimensions.
    domain : None, Polyhedron or box
        None is R^d (searched on the boxes :data:`RADII`).
    eps : rational
        ``mode="exact"``: a counterexample has ``max_k |f_k - g_k - shift_k| > eps``.
    mode : {"exact", "top1"}
        ``"top1"``: both argmaxes unique and different.
    shift : sequence, optional
        Rationals subtracted from ``f - g`` (default 0).
    starts, steps, keep : int
        Float starts and ascent steps per search box; best points taken to
        the exact phase per search.
    localise : bool
        Also search where the parameters named by :func:`align` matter.
    seed : int
        Seed of the float starts (the answer is exact regardless).
    check : tuple, optional
        A pair of networks the point must also separate, exactly (the originals when
        ``f``, ``g`` are reduced forms).
    budget : Budget, optional
        Stops the search cleanly (returns None).

    Returns
    -------
    SearchResult or None
        None means *not found*, never *equivalent*.

    Examples
    --------
    >>> from polyrelu import Network
    >>> f = Network.from_weights([([[1], [-1]], [0, 0]), ([[1, 1]], [0])])       # |x|
    >>> g = Network.from_weights([([[1], [-1]], [0, 0]), ([[1, "1001/1000"]], [0])])
    >>> r = search_counterexample(f, g, Polyhedron.box([-1], [1]))
    >>> r.point[0] < 0 and f(r.point) != g(r.point)
    True
    """
    from .equivalence import MODES, _separates

    for name, net in (("f", f), ("g", g)):
        if not isinstance(net, Network):
            raise NetworkError(f"search_counterexample: {name} must be a Network, got "
                               f"{type(net).__name__}")
    if f.input_dim != g.input_dim or f.output_dim != g.output_dim:
        raise ShapeError(f"search_counterexample: f is {f.input_dim} -> {f.output_dim} "
                         f"but g is {g.input_dim} -> {g.output_dim}")
    if mode not in MODES:
        raise NetworkError(f"search_counterexample: unknown mode {mode!r}; supported: "
                           f"{', '.join(MODES)}")
    eps = to_fraction(eps, "eps")
    if eps < 0:
        raise NetworkError(f"search_counterexample: eps must be >= 0, got {eps}")
    K = f.output_dim
    if mode == "top1" and K < 2:
        return None
    sh: Vec = tuple(to_fraction(v, "shift") for v in shift) if shift is not None \
        else (Fraction(0),) * K
    if len(sh) != K:
        raise ShapeError(f"search_counterexample: shift has {len(sh)} entries, the "
                         f"networks have {K} outputs")
    b = as_budget(budget, None, None, "search_counterexample")
    d = f.input_dim
    dom = as_domain(domain, d, who="the networks have")
    rng = np.random.default_rng(seed)
    try:
        F, G = _FloatNet(f), _FloatNet(g)
    except (OverflowError, ValueError):
        return None       # beyond the float range: nothing to propose
    fsh = np.array([to_float(v) for v in sh])
    checks = [(f, g)] + ([check] if check is not None else [])

    def separates(x) -> bool:
        if dom is not None and not dom.contains(x):
            return False
        if mode == "top1":
            return all(_separates(a(x), c(x), mode, eps) for a, c in checks)
        return all(_exact_value(a(x), c(x), mode, sh) > eps for a, c in checks)

    searches: list[tuple[str, Any, list]] = [
        ("ascent", lambda X: _diff_objective(F, G, X, fsh, mode), [])]
    if localise:
        al = align(f, g)
        if al is not None:
            groups = []
            for diff in al.differences:
                t = _targets(f, diff)
                if t and t not in groups:
                    groups.append(t)
            for t in groups[:8]:
                norms = [max(float(np.linalg.norm(F.W[l - 1][i])), 1e-300) for l, i in t]
                searches.append(("localised",
                                 lambda X, t=t, n=norms: _unit_objective(F, X, t, n), t))
    tried = 0
    for region, exact_box in _search_regions(dom, d):
        for how, objective, targets in searches:
            if b.exhausted:
                return None
            found = _ascend(objective, region, starts, steps, rng, keep, b)
            for _, xf in found:
                if b.exhausted:
                    return None
                x = _rational(xf)
                if x is None or (dom is not None and not dom.contains(x)):
                    continue
                tried += 1
                if separates(x):
                    # improve exactly inside the cell; keep x if the LP point fails
                    best = _lp_in_cell(f, g, x, dom, exact_box, mode, sh)
                    if best is not None and separates(best[1]):
                        return SearchResult(best[1], _exact_value(f(best[1]), g(best[1]),
                                                                  mode, sh),
                                            how + "+lp", tried)
                    return SearchResult(x, _exact_value(f(x), g(x), mode, sh), how, tried)
                best = _lp_in_cell(f, g, x, dom, exact_box, mode, sh)
                if targets and (best is None or not separates(best[1])):
                    # the ascent may stop just outside the units' region:
                    # reach it by exact LP, then maximise in its cell
                    y0 = _reach_targets(f, x, targets, dom, exact_box)
                    best = None if y0 is None else \
                        _lp_in_cell(f, g, y0, dom, exact_box, mode, sh)
                if best is not None and best[0] > (eps if mode == "exact" else 0):
                    y = best[1]
                    if separates(y):
                        return SearchResult(y, _exact_value(f(y), g(y), mode, sh),
                                            how + "+lp", tried)
    return None

