"""Certified bounds of a ReLU DAG over a cell: interval, symbolic and
back-substituted linear relaxations, in rigorous float arithmetic.

The computation mirrors the exact verifier :mod:`polyrelu.bab.certificate`
step by step (its docstring defines the relaxation): forward symbolic bounds
(DeepPoly / symbolic intervals), CROWN back-substitution (Zhang et al. 2018)
for the units the forward pass leaves unstable, the standard slope choices
(upper chord ``u (z - l) / (u - l)``, lower slope 1 if ``u >= -l`` else 0,
"adaptive" CROWN), and for twin DAGs the differences ``dz = z^f - z^g`` with
the chords of ``max(0, dz)`` / ``min(0, dz)`` (ReluDiff).  Every float is an
enclosure (:mod:`polyrelu.bab.sound`) of the exact value the verifier
computes with the *same* choices, and a choice that depends on a sign the
float cannot decide (the sign of a back-substituted coefficient) is enclosed
over both outcomes.  Hence each float upper bound here is at least the
verifier's exact bound, which is at least the true maximum: a cell closed
here is closed by its certificate.

>>> import numpy as np
>>> from polyrelu.bab.certificate import dag_from_network
>>> dag = FloatDag(dag_from_network([([[1], [-1]], [0, 0]), ([[1, 1]], [0])]))  # |t|
>>> b = bound_single(dag, (np.array([-1.0]), np.array([2.0])))
>>> [round(float(v), 6) for v in objective_bounds(dag, b, np.array([[1.0]]))]
[2.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .certificate import ExactDag
from .sound import SMALL, U, box_max, box_min, exact_array, g, guard, sum_up, up

__all__ = ["FloatDag", "FloatTwin", "SideBounds", "CellBounds", "bound_single",
           "bound_twin", "objective_bounds", "relu_lines", "diff_lines"]

Enc = tuple  # (mid, rad)
_SAFE = 1.0 + 8.0 * U


class Edge:
    """A weight matrix enclosure with what the products need precomputed."""

    __slots__ = ("m", "r", "abs", "stack", "cols", "exact", "n", "nonzero")

    def __init__(self, m: np.ndarray, r: np.ndarray) -> None:
        self.m, self.r = m, r
        self.abs = np.abs(m)
        self.exact = not np.any(r)
        self.nonzero = bool(np.any(m) or np.any(r))
        self.stack = self.abs if self.exact else np.vstack([self.abs, r])
        self.cols = np.any(m != 0, axis=0)
        self.n = m.shape[0]

    def left(self, lam: Enc) -> Enc:
        """Enclosure of ``lam @ W`` (rows of ``lam`` are coefficient vectors)."""
        lm, lr = lam
        n = self.n
        Cm = lm @ self.m
        alm = np.abs(lm)
        if self.exact:
            rad = (lr + g(n) * alm) @ self.abs
        else:
            rad = np.hstack([lr + g(n) * alm, alm + lr]) @ self.stack
        rad *= 1.0 + g(n + 2)
        return guard(Cm, rad)


class Block:
    """The forward block ``[[W+, W-], [W-, W+]]`` of an edge, for products on the right."""

    __slots__ = ("m", "r", "abs", "exact", "rows", "n")

    def __init__(self, m: np.ndarray, r: np.ndarray) -> None:
        P, N = np.maximum(m, 0), np.minimum(m, 0)
        Rp, Rn = np.where(m > 0, r, 0.0), np.where(m < 0, r, 0.0)
        self.m = np.block([[P, N], [N, P]])
        self.r = np.block([[Rp, Rn], [Rn, Rp]])
        self.abs = np.abs(self.m)
        self.exact = not np.any(r)
        self.rows = np.any(self.m != 0, axis=1)
        self.n = self.m.shape[1]

    def right(self, S: Enc) -> Enc:
        """Enclosure of ``B @ S``."""
        Sm, Sr = S
        n = self.n
        Cm = self.m @ Sm
        aS = np.abs(Sm)
        rad = self.abs @ (Sr + g(n) * aS)
        if not self.exact:
            rad += self.r @ (aS + Sr)
        rad *= 1.0 + g(n + 2)
        return guard(Cm, rad)


class FloatDag:
    """Float enclosures of an :class:`~polyrelu.bab.certificate.ExactDag`'s
    weights, with the blocks the forward pass multiplies by."""

    def __init__(self, dag: ExactDag) -> None:
        self.exact = dag
        self.d, self.K, self.n = dag.d, dag.K, list(dag.n)
        self.W: list = [None]
        self.blocks: list = [None]
        self.c: list = [None]
        for k in range(1, dag.K + 2):
            edges = {}
            blocks = {}
            for j, M in dag.M[k].items():
                m, r = exact_array(M)
                edges[j] = Edge(m, r)
                if j > 0:
                    blocks[j] = Block(m, r)
            self.W.append(edges)
            self.blocks.append(blocks)
            self.c.append(exact_array(dag.c[k]))
        self.exact_weights = all(E.exact for k in range(1, self.K + 2)
                                 for E in self.W[k].values())

    def forward_float(self, X: np.ndarray) -> tuple[np.ndarray, list]:
        """Plain float64 outputs and pre-activations at a batch ``X`` (rows):
        for proposals only, never a decision."""
        ys = [X]
        zs = []
        for k in range(1, self.K + 2):
            z = np.broadcast_to(self.c[k][0], (X.shape[0], self.n[k])).copy()
            for j, E in self.W[k].items():
                z += ys[j] @ E.m.T
            zs.append(z)
            ys.append(np.maximum(z, 0.0))
        return zs[-1], zs


class FloatTwin:
    """Two FloatDags of the same shape and the enclosures of ``M^f - M^g``."""

    def __init__(self, f: ExactDag, g_: ExactDag) -> None:
        if not f.same_shape(g_):
            raise ValueError("twin DAGs must have the same shape")
        self.f, self.g = FloatDag(f), FloatDag(g_)
        self.d, self.K, self.n = self.f.d, self.f.K, self.f.n
        self.dW: list = [None]
        self.dblocks: list = [None]
        self.dc: list = [None]
        for k in range(1, f.K + 2):
            edges, blocks = {}, {}
            for j in f.M[k]:
                D = [[a - b for a, b in zip(r1, r2)] for r1, r2 in zip(f.M[k][j], g_.M[k][j])]
                m, r = exact_array(D)
                edges[j] = Edge(m, r)
                if j > 0:
                    blocks[j] = Block(m, r)
            self.dW.append(edges)
            self.dblocks.append(blocks)
            self.dc.append(exact_array([a - b for a, b in zip(f.c[k], g_.c[k])]))


@dataclass
class SideBounds:
    """Per hidden layer ``k`` (index ``k``; 0 unused): float outer bounds
    ``l, u``; states (1 exact active, 0 exact inactive, 2 relaxed, 3 a twin
    difference fixed by the two exact units); lines ``(a_lo, b_lo, a_up,
    b_up)`` of every unit (exact states included); refinement masks; and the
    enclosures of the lower / upper y-functions (rows ``[a | a_0]``)."""

    l: list = field(default_factory=list)
    u: list = field(default_factory=list)
    state: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    refine: list = field(default_factory=list)
    Ylo: list = field(default_factory=list)
    Yup: list = field(default_factory=list)
    #: midpoints of the upper z-functions (for split heuristics)
    Z: list = field(default_factory=list)

    @classmethod
    def empty(cls, K: int) -> "SideBounds":
        return cls(*([None] * (K + 1) for _ in range(8)))

    def relaxed(self, k: int) -> np.ndarray:
        return self.state[k] == 2


@dataclass
class CellBounds:
    """Bounds of one cell: ``sides`` is ``(single,)`` or ``(f, g, differences)``;
    ``box`` the float outer box; ``empty`` if a phase contradicts a bound."""

    sides: tuple
    box: tuple
    empty: bool = False
    ok: bool = True


# ---------------------------------------------------------------------------
# lines
# ---------------------------------------------------------------------------

def guard_bounds(l: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds rounded outwards so that nonzero ones have magnitude >= SMALL."""
    l = np.where((l < 0) & (l > -SMALL), -SMALL, np.where((l > 0) & (l < SMALL), 0.0, l))
    u = np.where((u > 0) & (u < SMALL), SMALL, np.where((u < 0) & (u > -SMALL), 0.0, u))
    return l, u


def _slope(s: np.ndarray, floor: bool) -> np.ndarray:
    """Slopes in [0, 1] away from underflow: tiny ones to SMALL (upper lines,
    whose intercept is recomputed) or 0 (lower slopes)."""
    s = np.clip(s, 0.0, 1.0)
    tiny = (s > 0) & (s < SMALL)
    return np.where(tiny, SMALL if floor else 0.0, s)


def relu_lines(l: np.ndarray, u: np.ndarray, alpha: Optional[np.ndarray] = None):
    """Valid ReLU lines on ``[l, u]`` for unstable units (``l < 0 < u``, bounds
    guarded): upper chord ``a_up z + b_up`` with ``b_up = max(-a_up l, u (1 -
    a_up))`` rounded up (valid for any slope in [0, 1]), lower slope ``alpha``
    (default: 1 if ``u >= -l`` else 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        s = u / (u - l)
    s = _slope(np.nan_to_num(s, nan=1.0), True)
    b = np.maximum(-s * l, u * (1.0 - s)) * _SAFE
    b = np.where((b > 0) & (b < SMALL), SMALL, b)
    if alpha is None:
        alpha = (u >= -l).astype(float)
    return _slope(alpha, False), np.zeros_like(l), s, b


def diff_lines(ld, ud, sf, sg):
    """Lines of ``dy = relu(z^f) - relu(z^g)`` in ``dz`` on ``[ld, ud]`` given the
    states of the two units (1 active, 0 inactive, 2 relaxed); intercepts
    computed for the rounded slopes (valid for any slope in [0, 1])."""
    with np.errstate(divide="ignore", invalid="ignore"):
        span = ud - ld
        su = _slope(np.where(span > 0, ud / span, 0.0), True)
        sl = _slope(np.where(span > 0, -ld / span, 0.0), True)
    mixed = (ld < 0) & (ud > 0)
    aup = np.where(mixed, su, (ld >= 0).astype(float))
    bup = np.where(mixed, np.maximum(-su * ld, ud * (1.0 - su)) * _SAFE, 0.0)
    alo = np.where(mixed, sl, (ud <= 0).astype(float))
    blo = np.where(mixed, np.minimum(ld * (1.0 - sl), -sl * ud) * _SAFE, 0.0)
    aup = np.where(sf == 1, 1.0, np.where(sf == 0, 0.0, aup))
    bup = np.where(sf == 2, bup, 0.0)
    alo = np.where(sg == 1, 1.0, np.where(sg == 0, 0.0, alo))
    blo = np.where(sg == 2, blo, 0.0)
    bup = np.where((bup > 0) & (bup < SMALL), SMALL, bup)
    blo = np.where((blo < 0) & (blo > -SMALL), -SMALL, blo)
    return alo, blo, aup, bup


_EXACT_LINES = {1: (1.0, 0.0, 1.0, 0.0), 0: (0.0, 0.0, 0.0, 0.0)}


# ---------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------

def _lin_affine(rows_m, rows_r, a, b):
    """Enclosure of ``a * F + b`` (per row) for an enclosure ``F`` (a >= 0)."""
    m = a[:, None] * rows_m
    m[:, -1] += b
    r = a[:, None] * rows_r
    r = up(r, 2) + 2.0 * U * np.abs(m)
    return guard(m, r)


def _y_functions(side: SideBounds, k: int, Zlo: Enc, Zup: Enc) -> None:
    side.Z[k] = Zup[0]
    alo, blo, aup, bup = side.lines[k]
    side.Yup[k] = _lin_affine(Zup[0], Zup[1], aup, bup)
    side.Ylo[k] = _lin_affine(Zlo[0], Zlo[1], alo, blo)


def _stack(F_up: Enc, F_lo: Enc) -> Enc:
    return np.vstack([F_up[0], F_lo[0]]), np.vstack([F_up[1], F_lo[1]])


def _forward(d: int, c: Enc, edges: list) -> tuple[Enc, Enc]:
    """``(Zlo, Zup)`` enclosures: ``c`` plus, for each ``(W, blocks, Ylo, Yup)``,
    ``W+ Yup + W- Ylo`` (upper) and ``W+ Ylo + W- Yup`` (lower); the input
    node (``Ylo = None``) contributes ``W`` itself."""
    cm, cr = c
    n = cm.shape[0]
    um = np.zeros((n, d + 1))
    um[:, -1] = cm
    ur = np.zeros((n, d + 1))
    ur[:, -1] = cr
    lm, lr = um.copy(), ur.copy()
    for W, blk, Ylo, Yup in edges:
        if Ylo is None:
            um[:, :-1] += W.m
            ur[:, :-1] += W.r
            lm[:, :-1] += W.m
            lr[:, :-1] += W.r
            continue
        S = _stack(Yup, Ylo)
        Pm, Pr = blk.right(S)
        um += Pm[:n]
        lm += Pm[n:]
        ur += Pr[:n]
        lr += Pr[n:]
    # the additions above round: cover them
    ur = up(ur, len(edges) + 2) + g(len(edges) + 2) * np.abs(um)
    lr = up(lr, len(edges) + 2) + g(len(edges) + 2) * np.abs(lm)
    return guard(lm, lr), guard(um, ur)


def _phase_arrays(phases: Optional[dict], k: int, n: int):
    """(mask, bits) of the units of layer ``k`` fixed by phases."""
    mask = np.zeros(n, dtype=bool)
    bits = np.zeros(n, dtype=np.int8)
    if phases and k in phases:
        for i, b in phases[k].items():
            mask[i] = True
            bits[i] = b
    return mask, bits


def _settle(side: SideBounds, k: int, mask, bits, alpha=None) -> bool:
    """States and lines from the bounds; False if a phase makes the cell empty."""
    l, u = side.l[k], side.u[k]
    l = np.where(mask & (bits == 1), np.maximum(l, 0.0), l)
    u = np.where(mask & (bits == 0), np.minimum(u, 0.0), u)
    side.l[k], side.u[k] = l, u
    st = np.full(l.shape, 2, dtype=np.int8)
    st[l >= 0] = 1
    st[u <= 0] = 0
    st[mask] = bits[mask]
    a_lo, b_lo, a_up, b_up = relu_lines(l, u, alpha)
    ex1, ex0 = st == 1, st == 0
    a_lo = np.where(ex1, 1.0, np.where(ex0, 0.0, a_lo))
    a_up = np.where(ex1, 1.0, np.where(ex0, 0.0, a_up))
    b_up = np.where(st == 2, b_up, 0.0)
    side.state[k] = st
    side.lines[k] = (a_lo, b_lo, a_up, b_up)
    if np.any(mask & (l > u)):
        return False
    return bool(np.all(np.isfinite(b_up)) and np.all(np.isfinite(a_up)))


def _relax(m: Enc, lines) -> tuple[Enc, np.ndarray]:
    """Coefficients on z (enclosure) and the upper bound of the constant for
    ``coef . y`` relaxed by ``lines`` (slopes in ``[0, 1]``, ``b_up >= 0 >= b_lo``).

    The exact coefficient ``c(m) = m a_up`` (``m >= 0``) or ``m a_lo`` is
    piecewise linear in ``m`` with slopes at most ``max(a_lo, a_up)``, and the
    constant ``m b_up`` / ``m b_lo`` has slopes at most ``max(b_up, -b_lo)``:
    over ``[m - r, m + r]`` both stay within those slopes times ``r`` of their
    value at the midpoint (whichever line the exact sign selects)."""
    alo, blo, aup, bup = lines
    mm, mr = m
    sel = mm >= 0
    cm = mm * np.where(sel, aup, alo)
    cr = mr * np.maximum(aup, alo) + (2.0 * U) * np.abs(cm)
    const = mm * np.where(sel, bup, blo) + mr * np.maximum(bup, -blo)
    return guard(cm, cr), const


def _dot_up(m: Enc, c: Enc) -> np.ndarray:
    """Upper bound of the exact ``m . c`` per row of ``m`` (c a vector enclosure)."""
    (mm, mr), (cm, cr) = m, c
    n = cm.shape[0]
    v = mm @ cm
    rad = np.abs(mm) @ (cr + g(n) * np.abs(cm)) + mr @ (np.abs(cm) + cr)
    return v + up(rad, n + 2)


def _acc(coef: dict, j: int, E: Enc) -> None:
    if j in coef:
        m, r = coef[j]
        s = m + E[0]
        coef[j] = guard(s, up(r + E[1], 2) + 2.0 * U * np.abs(s))
    else:
        coef[j] = E


def _backward(fd: FloatDag, side: SideBounds, k: int, rows: np.ndarray, box,
              alpha: Optional[dict] = None, record: Optional[dict] = None,
              rows_rad: Optional[np.ndarray] = None) -> np.ndarray:
    """Upper bounds of ``rows . z_k`` over the cell (back-substitution);
    ``record`` receives the coefficient (midpoints) on ``y`` of every layer."""
    lo, hi = box
    coef = {k: (rows, np.zeros_like(rows) if rows_rad is None else rows_rad)}
    const = np.zeros(rows.shape[0])
    cterms = []
    for kk in range(k, 0, -1):
        lam = coef.pop(kk, None)
        if lam is None:
            continue
        if kk != k:
            if record is not None:
                record[kk] = lam[0].copy()
            lines = side.lines[kk]
            if alpha is not None and kk in alpha:
                a = np.where(side.state[kk] == 2, alpha[kk], lines[0])
                lines = (a, lines[1], lines[2], lines[3])
            lam, cst = _relax(lam, lines)
            cterms.append(cst)
        cterms.append(_dot_up(lam, fd.c[kk])[:, None])
        for j, W in fd.W[kk].items():
            _acc(coef, j, W.left(lam))
    mu = coef.get(0)
    if mu is None:
        mu = (np.zeros((rows.shape[0], fd.d)), np.zeros((rows.shape[0], fd.d)))
    if record is not None:
        record[0] = mu[0]
    F = (np.hstack([mu[0], np.zeros((rows.shape[0], 1))]),
         np.hstack([mu[1], np.zeros((rows.shape[0], 1))]))
    top = box_max(F, lo, hi)
    terms = np.hstack(cterms + [top[:, None], const[:, None]])
    return sum_up(terms, axis=1)


def _backward_twin(tw: FloatTwin, sides, k: int, rows_d: np.ndarray, rows_g: np.ndarray,
                   box, record: Optional[dict] = None, rad_d: Optional[np.ndarray] = None,
                   rad_g: Optional[np.ndarray] = None) -> np.ndarray:
    """Upper bounds of ``rows_d . dz_k + rows_g . z^g_k`` over the cell;
    ``record`` receives the coefficients on ``dy`` and ``y^g`` per layer."""
    sf, sg, sd = sides
    lo, hi = box
    r = rows_d.shape[0]
    cd = {k: (rows_d, np.zeros_like(rows_d) if rad_d is None else rad_d)}
    cg = {k: (rows_g, np.zeros_like(rows_g) if rad_g is None else rad_g)}
    cterms = []
    for kk in range(k, 0, -1):
        md = cd.pop(kk, None)
        mg = cg.pop(kk, None)
        if kk != k:
            if record is not None:
                record[kk] = (None if md is None else md[0].copy(),
                              None if mg is None else mg[0].copy())
            if md is not None:
                md, cst = _relax(md, sd.lines[kk])
                cterms.append(cst)
            if mg is not None:
                mg, cst = _relax(mg, sg.lines[kk])
                cterms.append(cst)
        if md is not None:
            cterms.append(_dot_up(md, tw.dc[kk])[:, None])
            for j, W in tw.f.W[kk].items():
                if j > 0:
                    _acc(cd, j, W.left(md))
                D = tw.dW[kk][j]
                if D.nonzero:
                    _acc(cg, j, D.left(md))
        if mg is not None:
            cterms.append(_dot_up(mg, tw.g.c[kk])[:, None])
            for j, W in tw.g.W[kk].items():
                _acc(cg, j, W.left(mg))
    mu = cg.get(0)
    if mu is None:
        mu = (np.zeros((r, tw.d)), np.zeros((r, tw.d)))
    if record is not None:
        record[0] = mu[0]
    F = (np.hstack([mu[0], np.zeros((r, 1))]), np.hstack([mu[1], np.zeros((r, 1))]))
    top = box_max(F, lo, hi)
    return sum_up(np.hstack(cterms + [top[:, None]]), axis=1)


# ---------------------------------------------------------------------------
# the bounds of a cell
# ---------------------------------------------------------------------------

def _refine_side(fd: FloatDag, side: SideBounds, k: int, box, mask, refine: bool) -> None:
    """CROWN bounds for the units the forward pass leaves unstable."""
    l, u = side.l[k], side.u[k]
    cand = (l < 0) & (u > 0) & ~mask
    side.refine[k] = np.zeros(l.shape, dtype=bool)
    if not refine or k == 1 or not np.any(cand):
        return
    idx = np.flatnonzero(cand)
    n = l.shape[0]
    rows = np.zeros((2 * idx.size, n))
    rows[np.arange(idx.size), idx] = 1.0
    rows[idx.size + np.arange(idx.size), idx] = -1.0
    b = _backward(fd, side, k, rows, box)
    ub, lb = b[:idx.size], -b[idx.size:]
    better = (ub < u[idx]) | (lb > l[idx])
    side.u[k] = u.copy()
    side.l[k] = l.copy()
    side.u[k][idx] = np.minimum(u[idx], ub)
    side.l[k][idx] = np.maximum(l[idx], lb)
    side.l[k], side.u[k] = guard_bounds(side.l[k], side.u[k])
    side.refine[k][idx[better]] = True


def bound_single(fd: FloatDag, box, phases: Optional[dict] = None, *,
                 refine: bool = True) -> CellBounds:
    """Bounds of every unit of a single DAG over ``box`` (float outer box,
    ``(lo, hi)`` arrays) with the given ``phases`` ``{k: {i: bit}}``."""
    side = SideBounds.empty(fd.K)
    lo, hi = box
    ok = True
    for k in range(1, fd.K + 1):
        edges = [(fd.W[k][j], fd.blocks[k].get(j),
                  None if j == 0 else side.Ylo[j], None if j == 0 else side.Yup[j])
                 for j in fd.W[k]]
        Zlo, Zup = _forward(fd.d, fd.c[k], edges)
        side.l[k], side.u[k] = guard_bounds(box_min(Zlo, lo, hi), box_max(Zup, lo, hi))
        mask, bits = _phase_arrays(phases, k, fd.n[k])
        _refine_side(fd, side, k, box, mask, refine)
        if not _settle(side, k, mask, bits):
            if np.any(mask & (side.l[k] > side.u[k])):
                return CellBounds((side,), box, empty=True)
            ok = False
        _y_functions(side, k, Zlo, Zup)
    return CellBounds((side,), box, ok=ok)


def _derive_g(sf: SideBounds, sg: SideBounds, sd: SideBounds, k: int) -> None:
    """``z^g = z^f - dz``: intersect g's bounds with ``[l^f - u^d, u^f - l^d]``
    (rounded outwards).  The verifier does this once, after the refinements;
    doing it earlier as well only changes which units are refined."""
    gl = sf.l[k] - sd.u[k]
    gu = sf.u[k] - sd.l[k]
    gl, gu = guard_bounds(gl - 2.0 * U * np.abs(gl), gu + 2.0 * U * np.abs(gu))
    sg.l[k] = np.maximum(sg.l[k], gl)
    sg.u[k] = np.minimum(sg.u[k], gu)


def bound_twin(tw: FloatTwin, box, phases: Optional[dict] = None, *,
               refine: bool = True, refine_g: bool = False) -> CellBounds:
    """Bounds of ``f``, ``g`` and the differences ``dz = z^f - z^g`` of twin DAGs.

    ``phases`` is ``{"f": {k: {i: bit}}, "g": {...}}``."""
    f, gd = tw.f, tw.g
    sf, sg, sd = SideBounds.empty(tw.K), SideBounds.empty(tw.K), SideBounds.empty(tw.K)
    lo, hi = box
    phases = phases or {}
    ok = True
    d = tw.d
    for k in range(1, tw.K + 1):
        Zs = {}
        for side, fdag in ((sf, f), (sg, gd)):
            edges = [(fdag.W[k][j], fdag.blocks[k].get(j),
                      None if j == 0 else side.Ylo[j], None if j == 0 else side.Yup[j])
                     for j in fdag.W[k]]
            Zlo, Zup = _forward(d, fdag.c[k], edges)
            side.l[k], side.u[k] = guard_bounds(box_min(Zlo, lo, hi), box_max(Zup, lo, hi))
            Zs[id(side)] = (Zlo, Zup)
        # differences: sum M^f dy_j + (M^f - M^g) y^g_j + dc
        edges = []
        for j in f.W[k]:
            if j > 0:
                edges.append((f.W[k][j], f.blocks[k][j], sd.Ylo[j], sd.Yup[j]))
            edges.append((tw.dW[k][j], tw.dblocks[k].get(j),
                          None if j == 0 else sg.Ylo[j], None if j == 0 else sg.Yup[j]))
        Dlo, Dup = _forward(d, tw.dc[k], edges)
        sd.l[k], sd.u[k] = guard_bounds(box_min(Dlo, lo, hi), box_max(Dup, lo, hi))
        fm, fb = _phase_arrays(phases.get("f"), k, tw.n[k])
        gm, gb = _phase_arrays(phases.get("g"), k, tw.n[k])
        _refine_side(f, sf, k, box, fm, refine)
        if refine_g:
            _refine_side(gd, sg, k, box, gm, refine)
        else:
            sg.refine[k] = np.zeros(tw.n[k], dtype=bool)
        # differences of units that are not both exact need their bounds
        sd.refine[k] = np.zeros(tw.n[k], dtype=bool)
        _derive_g(sf, sg, sd, k)
        unst = ((sf.l[k] < 0) & (sf.u[k] > 0) & ~fm) | ((sg.l[k] < 0) & (sg.u[k] > 0) & ~gm)
        lz, uz = sd.l[k], sd.u[k]
        cand = unst & (lz < uz) & (k > 1)
        if refine and np.any(cand):
            idx = np.flatnonzero(cand)
            n = tw.n[k]
            rows = np.zeros((2 * idx.size, n))
            rows[np.arange(idx.size), idx] = 1.0
            rows[idx.size + np.arange(idx.size), idx] = -1.0
            b = _backward_twin(tw, (sf, sg, sd), k, rows, np.zeros_like(rows), box)
            ub, lb = b[:idx.size], -b[idx.size:]
            better = (ub < uz[idx]) | (lb > lz[idx])
            sd.u[k] = uz.copy()
            sd.l[k] = lz.copy()
            sd.u[k][idx] = np.minimum(uz[idx], ub)
            sd.l[k][idx] = np.maximum(lz[idx], lb)
            sd.l[k], sd.u[k] = guard_bounds(sd.l[k], sd.u[k])
            sd.refine[k][idx[better]] = True
        _derive_g(sf, sg, sd, k)
        settled = [_settle(side, k, mask, bits) for side, mask, bits in
                   ((sf, fm, fb), (sg, gm, gb))]
        if np.any(fm & (sf.l[k] > sf.u[k])) or np.any(gm & (sg.l[k] > sg.u[k])):
            return CellBounds((sf, sg, sd), box, empty=True)
        ok = ok and all(settled)
        for side in (sf, sg):
            _y_functions(side, k, *Zs[id(side)])
        stf, stg = sf.state[k], sg.state[k]
        sd.lines[k] = diff_lines(sd.l[k], sd.u[k], stf, stg)
        st = np.where((stf != 2) & (stg != 2), 3, 2).astype(np.int8)
        sd.state[k] = st
        if not all(np.all(np.isfinite(x)) for x in sd.lines[k]):
            ok = False
        _y_functions(sd, k, Dlo, Dup)
    return CellBounds((sf, sg, sd), box, ok=ok)


def objective_bounds(dag, cb: CellBounds, C: np.ndarray, alpha: Optional[dict] = None,
                     record: Optional[dict] = None, C_rad: Optional[np.ndarray] = None
                     ) -> np.ndarray:
    """Upper bounds of ``C @ out`` (rows of ``C`` over the DAG outputs; for a
    twin over ``[f; g]``) on the cell.  ``C_rad`` encloses the exact rows when
    they are not floats; ``alpha`` (single DAGs) replaces the lower slopes of
    relaxed units, ``{k: array}``; ``record`` receives per-layer coefficients."""
    if cb.empty:
        return np.full(C.shape[0], -np.inf)
    if not cb.ok:
        return np.full(C.shape[0], np.inf)
    if isinstance(dag, FloatTwin):
        m = dag.n[-1]
        Cf, Cg = C[:, :m], C[:, m:]
        # the rows on g are c_f + c_g: TwoSum gives the exact rounding error
        S = Cf + Cg
        bb = S - Cf
        err = (Cf - (S - bb)) + (Cg - bb)
        Rf = None if C_rad is None else C_rad[:, :m]
        Rg = np.abs(err)
        if C_rad is not None:
            Rg = up(Rg + C_rad[:, :m] + C_rad[:, m:], 3)
        Cg = S
        out = _backward_twin(dag, cb.sides, dag.K + 1, Cf, Cg, cb.box, record, Rf, Rg)
    else:
        out = _backward(dag, cb.sides[0], dag.K + 1, C, cb.box, alpha, record, C_rad)
    return np.where(np.isfinite(out), out, np.inf)
