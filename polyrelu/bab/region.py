"""Exact closing of a fully fixed cell: the networks are affine there.

When every unit of a cell is stable or fixed by a phase, the network(s) are
one affine map on the cell and the cell is a polytope (the box and the phase
constraints, :func:`polyrelu.bab.certificate.region_rows`).  No relaxation is
left, so the clause is decided exactly by a linear program solved by the
exact backend (cdd, through :func:`polyrelu.polyhedron.get_backend`):

* ``max_t min_r a_r(t)`` over the polytope is at most 0 (``< 0`` for a
  non-strict clause): closed, with the exact dual (weights of the atoms and
  multipliers of the rows) as the certificate (``"region"``);
* the polytope is empty (Farkas) or has no interior (the largest ``s`` with
  ``A t + s <= b`` is at most 0): ``"thin"``, with that LP's dual (``y >= 0``,
  ``A^T y = 0``, ``y . b <= 0``), which closes the strict clauses (``< 0``: all);
* otherwise the optimum is a rational point of the cell where every atom is
  positive -- returned; the caller checks it by exact evaluation.

This is where ``eps = 0`` ends: a cell on which both networks are stable
with the zero difference map closes with the bound 0.

>>> import numpy as np
>>> import polyrelu as pr
>>> from fractions import Fraction
>>> from polyrelu.bab.objectives import max_difference
>>> from polyrelu.bab.problem import make_problem
>>> from polyrelu.bab.relax import bound_twin
>>> f = pr.Network.from_weights([([[1]], [0]), ([[1]], [0])])
>>> prob = make_problem(f, f, max_difference(1))
>>> cb = bound_twin(prob.fl, (np.array([1.0]), np.array([2.0])))
>>> close_region(prob, cb, (Fraction(1),), (Fraction(2),), (), 0)[0]["method"]
'region'
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional

from . import certificate as C

__all__ = ["close_region", "region_maximum", "thin_closing"]


def _states(side, K: int) -> list:
    return [None] + [[int(v) for v in side.state[k]] for k in range(1, K + 1)]


def _region_lp(problem, cb, lo, hi, phases: tuple, q: int) -> tuple:
    """The exact LP ``max s, s <= a_r(t)`` over the fixed cell's polytope:
    ``(result, number of atoms, polytope rows, backend)``."""
    from ..polyhedron import get_backend

    ex = problem.exact
    K = ex.dag.K
    nside = 2 if problem.mode == "twin" else 1
    maps_of = [C.region_maps(dag, _states(side, K))
               for dag, side in zip(ex.dags, cb.sides[:nside])]
    rows = C.region_rows(ex, maps_of, [list(p) for p in phases], (list(lo), list(hi)))
    d = len(lo)
    cl = problem.prop.clauses[q]
    outs = [F for mp in maps_of for F in mp[-1]]
    zero = Fraction(0)
    atom_rows = []
    for at in cl.atoms:
        F = [zero] * (d + 1)
        for cc, G in zip(at.c, outs):
            if cc:
                F = [x + cc * y for x, y in zip(F, G)]
        atom_rows.append(F)
    # variables (t, s): s - a_r(t) <= a_r's constant, then the polytope rows
    A = [tuple(-v for v in F[:-1]) + (Fraction(1),) for F in atom_rows] + \
        [tuple(a) + (zero,) for a, _ in rows]
    b = [F[-1] + at.d for F, at in zip(atom_rows, cl.atoms)] + [rhs for _, rhs in rows]
    backend = get_backend()
    res = backend.lp(tuple(A), tuple(b), (), (), tuple([zero] * d) + (Fraction(1),), d + 1)
    return res, len(cl.atoms), rows, backend


def _farkas_closing(rows, backend, d: int) -> Optional[dict]:
    # the polytope is empty: y >= 0 with A^T y = 0, y . b < 0 (Farkas)
    P = [tuple(a) for a, _ in rows]
    y = backend.farkas(tuple(P), tuple(rhs for _, rhs in rows), d)
    if y is None:
        return None
    return {"clause": 0, "method": "thin", "rows": {str(i): C.qstr(v) for i, v in enumerate(y)
                                                   if v}}


def close_region(problem, cb, lo, hi, phases: tuple, q: int
                 ) -> tuple[Optional[dict], Optional[tuple]]:
    """Decide clause ``q`` on a fully fixed cell exactly.

    Solves ``max s`` subject to ``s <= a_r(t)`` for every atom and ``t`` in
    the cell's polytope (exact LP): by LP duality ``s* = min_w max_t sum_r w_r
    a_r(t)`` over weights ``w`` in the simplex, and the dual's ``w`` with the
    polytope multipliers are the ``"region"`` certificate.  Returns
    ``(closing, point)``: a certificate entry (``"region"`` or ``"thin"``) or
    None, and when not closed the optimum ``t*`` (every atom is ``>= s*``
    there: a violation of the clause, to be confirmed by exact evaluation).
    """
    res, na, rows, backend = _region_lp(problem, cb, lo, hi, phases, q)
    d = len(lo)
    cl = problem.prop.clauses[q]
    if res.status == "optimal" and res.dual is not None:
        value = res.value
        assert value is not None and res.point is not None
        if (value <= 0) if cl.strict else (value < 0):
            return _region_entry(q, res.dual, na), None
        return None, tuple(res.point[:d])
    if res.status == "infeasible":
        entry = _farkas_closing(rows, backend, d)
        if entry is not None:
            entry["clause"] = int(q)
            return entry, None
    return None, None


def _region_entry(q: int, dual, na: int) -> dict:
    return {"clause": int(q), "weights": [C.qstr(x) for x in dual[:na]], "method": "region",
            "rows": {str(i): C.qstr(y) for i, y in enumerate(dual[na:]) if y}}


def region_maximum(problem, cb, lo, hi, phases: tuple, q: int) -> Optional[tuple]:
    """The exact maximum of clause ``q``'s value ``min_r a_r`` over a fully
    fixed cell: ``(value, point, closing)`` where ``point`` attains it and
    ``closing`` is the ``"region"`` certificate of ``value`` (its multipliers
    prove ``min_r a_r <= value`` on the cell; they do not depend on the
    atoms' constants, so they also close the clause lowered by ``value``);
    ``(None, None, closing)`` for an empty cell (a ``"thin"`` closing); None
    when the exact backend gives no answer."""
    res, na, rows, backend = _region_lp(problem, cb, lo, hi, phases, q)
    d = len(lo)
    if res.status == "optimal" and res.dual is not None and res.point is not None:
        return res.value, tuple(res.point[:d]), _region_entry(q, res.dual, na)
    if res.status == "infeasible":
        entry = _farkas_closing(rows, backend, d)
        if entry is not None:
            return None, None, entry
    return None


def thin_closing(problem, cb, lo, hi, phases: tuple) -> Optional[dict]:
    """A ``"thin"`` certificate when the fully fixed cell has no interior (the
    largest ``s`` with ``A t + s <= b`` is at most 0), else None."""
    from ..polyhedron import get_backend

    ex = problem.exact
    K = ex.dag.K
    nside = 2 if problem.mode == "twin" else 1
    maps_of = [C.region_maps(dag, _states(side, K))
               for dag, side in zip(ex.dags, cb.sides[:nside])]
    rows = C.region_rows(ex, maps_of, [list(p) for p in phases], (list(lo), list(hi)))
    d = len(lo)
    zero, one = Fraction(0), Fraction(1)
    A = tuple(tuple(a) + (one,) for a, _ in rows) + (tuple([zero] * d) + (one,),)
    b = tuple(rhs for _, rhs in rows) + (one,)
    res = get_backend().lp(A, b, (), (), tuple([zero] * d) + (one,), d + 1)
    if res.status == "optimal" and res.value is not None and res.value <= 0 \
            and res.dual is not None:
        return {"clause": 0, "method": "thin",
                "rows": {str(i): C.qstr(v) for i, v in enumerate(res.dual[:len(rows)]) if v}}
    return None
