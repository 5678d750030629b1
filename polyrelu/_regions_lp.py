"""Private helper of :mod:`polyrelu.regions`: the LP-based splitter (any
dimension, bounded or unbounded domains).

A cell is a list of integer constraints ``m . x + c >= 0`` (positive inside)
plus an exact rational point strictly inside.  Splitting by a hyperplane
``h``: the exact sign of ``h`` at the interior point names one side; the other
side is nonempty-open iff ``inf h < 0`` (resp. ``sup h > 0``) over the cell.

* A float LP (scipy HiGHS) minimises ``h`` over the cell and *proposes* a point;
  a rational point on the segment from the interior point towards the LP
  optimum is checked exactly (strictly inside the cell, strictly on the
  other side): a verified point proves the cut.
* A non-cut is proved exactly by a *bounded-dual certificate*: when the cell
  lies in a box, any ``y >= 0`` (the float LP's duals, converted exactly)
  gives the exact lower bound ``h(x) >= min_{x in box} (w + A^T y) . x - y . b
  + c`` (weak duality, evaluated in exact integers/rationals); a bound ``>= 0``
  proves that ``h`` does not cut.
* Anything undecided goes to :class:`~polyrelu.polyhedron.Polyhedron` (exact).

The float LP sees each integer row divided by a power of two (entries below
1): the exact rows of deep layers grow beyond 1e20 (HiGHS's infinity) and
beyond the float range; the duals are scaled back exactly for the
certificate.  Cells are split depth first over the neurons
(:meth:`LPSplitter.split`).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ._regions_maps import IntNet, Node
from .numbers import scaled_float_rows, to_fraction

__all__ = ["LPSplitter"]


def _dot_frac(m, p) -> Fraction:
    s = Fraction(0)
    for a, x in zip(m, p):
        if a:
            s += a * x
    return s


class LPSplitter:
    """Split general cells; see the module docstring."""

    def __init__(self, inet: IntNet, stats: dict, box=None, check=lambda: None) -> None:
        self.check = check
        self.inet = inet
        self.stats = stats
        self.ts = inet.thresholds
        self.box = box  # (lo, hi) Fractions of a box containing the domain, or None

    # ------------------------------------------------------------ proofs
    def _other_side(self, cons: list, p: tuple, m: list, c: int, sign: int):
        """Is ``{x in cell : sign * h(x) < 0}`` nonempty?  Return a verified
        strict point in it, or None when it is empty (proved)."""
        # side to test: sign*h < 0, i.e. g(x) = -sign*h(x) > 0
        gm = [-sign * v for v in m]
        gc = -sign * c
        q = self._float_propose(cons, p, gm, gc)
        if q is not None:
            self.stats["lp_fast_cut"] += 1
            return q
        if self._nocut_certificate(cons, gm, gc):
            self.stats["lp_fast_nocut"] += 1
            return None
        # exact fallback: the open side is nonempty iff cell & {g >= 0} is
        # full-dimensional (p is interior to the cell)
        from .polyhedron import Polyhedron

        self.stats["lp_exact"] += 1
        d = self.inet.d
        A = [[-v for v in mm] for mm, _ in cons] + [[-v for v in gm]]
        b = [cc for _, cc in cons] + [gc]
        P = Polyhedron.from_inequalities(A, b, ambient_dim=d)
        if not P.is_full_dimensional():
            return None
        x = P.interior_point()
        if all(_dot_frac(mm, x) + cc > 0 for mm, cc in cons) and _dot_frac(gm, x) + gc > 0:
            return x
        raise AssertionError("interior point of a full-dimensional polyhedron "
                             "is not strictly inside")

    def _float_propose(self, cons, p, gm, gc):
        """Maximise g over the cell in float; verify a point with g > 0 exactly.

        Numbers beyond the float range (or a non-finite LP answer) only lose
        the proposal: None, and the exact methods decide."""
        self._last = None
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                return self._float_propose_lp(cons, p, gm, gc)
        except (OverflowError, ValueError):
            self._last = None
            return None

    def _float_propose_lp(self, cons, p, gm, gc):
        from scipy.optimize import linprog  # float proposal only

        d = self.inet.d
        # rows scaled by powers of two to entries below 1: the integer rows of
        # deep layers exceed 1e20 (HiGHS's infinity) or the float range
        F, shifts = scaled_float_rows([list(mm) + [cc] for mm, cc in cons], d + 1)
        A, b = -F[:, :d], F[:, d]
        Fg, (eg,) = scaled_float_rows([list(gm) + [gc]])
        obj = -Fg[0, :d]
        self._shifts = (shifts, eg)
        bounds = [(None, None)] * d
        if self.box is not None:
            bounds = [(float(lo), float(hi)) for lo, hi in zip(*self.box)]
        else:
            big = 1e6 * (1.0 + max(abs(float(v)) for v in p)) if p else 1e6  # float
            bounds = [(-big, big)] * d
        try:
            res = linprog(obj, A_ub=A if len(cons) else None,
                          b_ub=b if len(cons) else None, bounds=bounds, method="highs")
        except Exception:  # float solver trouble only loses the fast path
            return None
        self._last = res
        if res.status != 0 or -res.fun <= 0:
            return None
        xs = res.x
        pf = np.array([float(v) for v in p])
        for t in (0.5, 0.9, 0.99, 0.999, 0.25, 0.05):
            cand = pf + t * (xs - pf)
            for D in (None, 1 << 20):
                if not np.isfinite(cand).all():
                    return None
                q = tuple(to_fraction(float(v)) for v in cand)
                if D is not None:
                    q = tuple(v.limit_denominator(D) for v in q)
                if _dot_frac(gm, q) + gc > 0 and all(
                        _dot_frac(mm, q) + cc > 0 for mm, cc in cons):
                    return q
        return None

    def _nocut_certificate(self, cons, gm, gc) -> bool:
        """Exact proof that ``g <= 0`` on the cell from the float LP's duals."""
        res = getattr(self, "_last", None)
        self._last = None
        if res is None or res.status != 0 or self.box is None or not cons:
            return False
        try:
            y = res.ineqlin.marginals  # d(obj)/d(b_ub) <= 0
        except AttributeError:
            return False
        # max g = -min(-g); for the min problem with A x <= b, duals lambda = -marginals >= 0
        if not np.isfinite(y).all():
            return False
        # duals of the scaled rows / objective (_float_propose_lp): the
        # multiplier of integer row i is lam_i' * 2**(eg - e_i) (exact)
        shifts, eg = self._shifts
        lam = [to_fraction(float(max(-v, 0.0))) * Fraction(2) ** (eg - e)
               for v, e in zip(y, shifts)]
        # exact: for x in cell, A x <= b  =>  -g(x) >= (-gm + A^T lam) x - lam.b - gc ...
        # g(x) = gm.x + gc = (gm - A^T lam).x + lam.(A x) + gc <= (gm - A^T lam).x + lam.b + gc
        d = self.inet.d
        r = [Fraction(v) for v in gm]
        ub = Fraction(gc)
        for lv, (mm, cc) in zip(lam, cons):
            if lv:
                # constraint row: -mm . x <= cc
                for j in range(d):
                    r[j] += lv * mm[j]
                ub += lv * cc
        lo, hi = self.box
        for j in range(d):
            ub += r[j] * (hi[j] if r[j] > 0 else lo[j])
        return ub <= 0

    # ------------------------------------------------------------ one node
    def split(self, node: Node, cell: tuple):
        """Yield ``(pieces, cell)`` for the cells of layer ``node.l``."""
        inet, ts = self.inet, self.ts
        n = inet.widths[node.l]
        # depth-first over the neurons (a stack of partly split cells): the
        # first cell is complete after n steps, not after the whole layer's
        # arrangement (limits); children are pushed in reverse, so cells come
        # out in the order of a breadth-first split
        stack = [(0, [0] * n, cell)]
        while stack:
            i, pcs, (cons, p) = stack.pop()
            if i == n:
                yield pcs, (cons, p)
                continue
            self.check()   # per cell and neuron: one float LP each (ms)
            todo = [(0, cons, p)]
            done = []
            for t in ts:
                nxt = []
                m, c = node.exact_line(i, t)
                if not any(m):
                    # constant pre-activation on the whole space
                    for cnt, cc, pp in todo:
                        if c == 0:
                            done.append((inet.constant_piece(Fraction(t)), cc, pp))
                        elif c > 0:
                            nxt.append((cnt + 1, cc, pp))
                        else:
                            done.append((cnt, cc, pp))
                    todo = nxt
                    continue
                for cnt, cc, pp in todo:
                    hp = _dot_frac(m, pp) + c
                    if hp == 0:
                        qa, qb = self._both_sides(cc, pp, m)
                        nxt.append((cnt + 1, cc + [(m, c)], qa))
                        done.append((cnt, cc + [([-v for v in m], -c)], qb))
                        self.stats["splits"] += 1
                        continue
                    s = 1 if hp > 0 else -1
                    q = self._other_side(cc, pp, m, c, s)
                    if q is None:
                        (nxt if s > 0 else done).append((cnt + (s > 0), cc, pp))
                        continue
                    self.stats["splits"] += 1
                    pos = (m, c)
                    neg = ([-v for v in m], -c)
                    if s > 0:
                        nxt.append((cnt + 1, cc + [pos], pp))
                        done.append((cnt, cc + [neg], q))
                    else:
                        nxt.append((cnt + 1, cc + [pos], q))
                        done.append((cnt, cc + [neg], pp))
                todo = nxt
            done.extend(todo)
            if len(done) == 1:
                pcs[i] = done[0][0]
                stack.append((i + 1, pcs, (done[0][1], done[0][2])))
            else:
                for cnt, cc, pp in reversed(done):
                    p2 = list(pcs)
                    p2[i] = cnt
                    stack.append((i + 1, p2, (cc, pp)))

    def _both_sides(self, cons, p, m):
        """Interior points on both sides of h through the interior point p."""
        eps = Fraction(1)
        nrm = sum(v * v for v in m)
        while True:
            qa = tuple(x + eps * v / nrm for x, v in zip(p, m))
            qb = tuple(x - eps * v / nrm for x, v in zip(p, m))
            if all(_dot_frac(mm, qa) + cc > 0 and _dot_frac(mm, qb) + cc > 0
                   for mm, cc in cons):
                return qa, qb
            eps /= 2
