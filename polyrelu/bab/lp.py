"""The triangle LP of a cell, solved in float and certified by an exact dual.

The LP is :func:`polyrelu.bab.certificate.lp_rows`: the triangle relaxation
of every relaxed ReLU (``y >= 0``, ``y >= z``, ``y <= a_up z + b_up``, ``l <=
z <= u``), exact rows for stable units, the cell's phase constraints and, for
twins, the rows of the differences.  HiGHS (highspy's public API; scipy's
``linprog`` without it) maximises the objective in float and *proposes* dual
multipliers; they are rounded to the rationals they are and the bound is
re-derived exactly by weak duality (``max <= y.b + mu.f + max_{v in box}
(c - A^T y - E^T mu) . v``, any ``y >= 0``), with the same function the
verifier uses -- so a closing the LP claims is a closing the certificate
proves.  The prover's bounds (float outer bounds, exact as rationals) enter
the right-hand sides and the variable box only, where larger intervals only
raise the bound: the verifier's exact bounds give a bound at most this one.

>>> import numpy as np
>>> import polyrelu as pr
>>> from fractions import Fraction
>>> from polyrelu.bab.objectives import objective_at_most
>>> from polyrelu.bab.problem import make_problem
>>> from polyrelu.bab.relax import bound_single
>>> net = pr.Network.from_weights([([[1], [-1]], [0, 0]), ([[1, 1]], [0])])   # |t|
>>> prob = make_problem(net, None, objective_at_most([1]))
>>> lo, hi = (Fraction(-1),), (Fraction(2),)
>>> cb = bound_single(prob.fl, (np.array([-1.0]), np.array([2.0])))
>>> res = lp_bound(prob, cb, lo, hi, {}, [Fraction(1)], Fraction(0))
>>> res[0] >= 2, round(float(res[0]), 9)       # max |t| on [-1, 2] is 2
(True, 2.0)
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Optional

import numpy as np

from ..polyhedron import _new_highs
from . import certificate as C

__all__ = ["ExactSide", "exact_sides", "lp_bound", "solve_float_lp"]



class ExactSide:
    """Bounds, states and lines of one side as exact rationals (the layout of
    the verifier's sides), from the prover's float arrays."""

    def __init__(self, side, K: int, diff: bool = False) -> None:
        self.l: list = [None] * (K + 1)
        self.u: list = [None] * (K + 1)
        self.state: list = [None] * (K + 1)
        self.lines: list = [None] * (K + 1)
        for k in range(1, K + 1):
            if side.state[k] is None:
                break
            self.l[k] = [Fraction(float(v)) for v in side.l[k]]
            self.u[k] = [Fraction(float(v)) for v in side.u[k]]
            st = [int(v) for v in side.state[k]]
            self.state[k] = st
            a_lo, b_lo, a_up, b_up = side.lines[k]
            self.lines[k] = [(Fraction(float(a_lo[i])), Fraction(float(b_lo[i])),
                              Fraction(float(a_up[i])), Fraction(float(b_up[i])))
                             if (s == 2 or diff) else None for i, s in enumerate(st)]


def exact_sides(cb) -> tuple:
    """The :class:`ExactSide`\\ s of :class:`~polyrelu.bab.relax.CellBounds`."""
    K = len(cb.sides[0].state) - 1
    if len(cb.sides) == 1:
        return (ExactSide(cb.sides[0], K),)
    return (ExactSide(cb.sides[0], K), ExactSide(cb.sides[1], K),
            ExactSide(cb.sides[2], K, diff=True))


def _highs() -> Optional[tuple]:
    """The polyhedron layer's silent HiGHS solver (its banner guard is per
    process), with a time limit: its answer is a proposal only."""
    hs = _new_highs()
    if hs is not None:
        hs[0].setOptionValue("time_limit", 30.0)     # never wait long
    return hs


def _to_csr(rows: list, nvar: int):
    start = [0]
    idx: list = []
    val: list = []
    for row, _ in rows:
        for p, w in row.items():
            idx.append(p)
            val.append(float(w))
        start.append(len(idx))
    return (np.array(start, dtype=np.int32), np.array(idx, dtype=np.int32),
            np.array(val, dtype=float))


def solve_float_lp(rows, obj: dict) -> Optional[tuple]:
    """Maximise ``obj . v`` over the LP ``rows`` of :func:`lp_rows` in float.

    Returns ``(value, y, mu, v)``: the float optimum, the multipliers of the
    inequality rows (``y >= 0``) and equality rows, as ``{row: float}``
    (nonzeros only), and the primal point; None when the float solver fails."""
    vlo, vhi, ineq, eq, _ = rows
    n = len(vlo)
    cost = np.zeros(n)
    for p, w in obj.items():
        cost[p] = -float(w)            # HiGHS minimises
    lo = np.array([float(v) for v in vlo])
    hi = np.array([float(v) for v in vhi])
    allrows = ineq + eq
    m = len(allrows)
    rlo = np.concatenate([np.full(len(ineq), -np.inf), [float(r) for _, r in eq]])
    rhi = np.array([float(r) for _, r in allrows]) if m else np.zeros(0)
    hs = _highs()
    try:
        if hs is not None:
            h, highspy = hs
            lp = highspy.HighsLp()
            lp.num_col_, lp.num_row_ = n, m
            lp.col_cost_ = cost
            lp.col_lower_, lp.col_upper_ = lo, hi
            inf = highspy.kHighsInf
            lp.row_lower_ = np.where(np.isfinite(rlo), rlo, -inf)
            lp.row_upper_ = rhi
            st, ix, vv = _to_csr(allrows, n)
            lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
            lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = st, ix, vv
            lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, m
            h.passModel(lp)
            h.run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return None
            sol = h.getSolution()
            duals = -np.array(sol.row_dual)
            primal = np.array(sol.col_value)
            value = -h.getInfo().objective_function_value
        else:
            from scipy.optimize import linprog
            from scipy.sparse import csr_matrix

            st, ix, vv = _to_csr(allrows, n)
            A = csr_matrix((vv, ix, st), shape=(m, n))
            ni = len(ineq)
            res = linprog(cost, A_ub=A[:ni] if ni else None, b_ub=rhi[:ni] if ni else None,
                          A_eq=A[ni:] if eq else None, b_eq=rhi[ni:] if eq else None,
                          bounds=list(zip(lo, hi)), method="highs")
            if res.status != 0:
                return None
            duals = np.concatenate([-res.ineqlin.marginals if ni else np.zeros(0),
                                    -res.eqlin.marginals if eq else np.zeros(0)])
            primal = np.asarray(res.x)
            value = -res.fun
    except Exception:       # float solver trouble loses the proposal only
        return None
    if not np.all(np.isfinite(duals)) or not np.isfinite(value):
        return None
    ni = len(ineq)
    y = {i: float(v) for i, v in enumerate(duals[:ni]) if v > 0}
    mu = {i: float(v) for i, v in enumerate(duals[ni:]) if v != 0}
    return float(value), y, mu, primal


def lp_bound(problem, cb, lo, hi, phases, c: list, d: Fraction,
             rows: Any = None) -> tuple:
    """Exact upper bound of ``c . out + d`` on the cell from the float LP's duals.

    ``phases`` is the cell's phases as lists per DAG (``{k: {i: bit}}``).
    Returns ``(bound, multipliers, rows, point)`` (``multipliers`` in the
    certificate form ``{"ineq": {row: str}, "eq": {row: str}}``, ``point`` the
    float input part of the LP optimum, a candidate counterexample); ``bound``
    is None when the float LP fails.  ``rows`` caches the exact rows between
    objectives.
    """
    ex = problem.exact
    if rows is None:
        ph = phases if isinstance(phases, list) else [phases]
        rows = C.lp_rows(ex, exact_sides(cb), (list(lo), list(hi)), ph)
    outs = rows[4]
    obj: dict = {}
    for cc, (row, _) in zip(c, outs):
        if cc:
            for p, w in row.items():
                obj[p] = obj.get(p, Fraction(0)) + cc * w
    sol = solve_float_lp(rows, obj)
    if sol is None:
        return None, None, rows, None
    _, y, mu, primal = sol
    mult = {"ineq": {str(i): C.qstr(Fraction(v)) for i, v in y.items()},
            "eq": {str(i): C.qstr(Fraction(v)) for i, v in mu.items()}}
    bound = C._lp_bound(rows, c, d, mult, "lp")
    return bound, mult, rows, primal[:len(lo)]
