"""Counterexamples by optimisation, each checked by exact evaluation.

:func:`find_counterexample` looks for a point of the domain (a box, or all of
``R^d``) that violates a clause of the problem's property:

1. **Gradient ascent** (batched float64 numpy) of the clause margin
   ``max_q min_r a_r(x)`` from many starts: random points, the box's centre
   and corners (up to 2^8 of them); projected steps along the sign of the
   gradient, halving on no progress.  The networks are piecewise linear, so
   the gradient on a region is the region's affine map.
2. **LP in the activation region** of the best points: with the pattern at
   ``x`` fixed, the networks are affine on the region's polytope; the LP
   ``max s, s <= a_r(t)`` over it (HiGHS in float) proposes its optimal vertex.
3. **Localised differences** (twin problems, e.g. two networks aligned by
   :func:`~polyrelu.equivalence.canonical_form` that differ in a few weights):
   where do the differing weights matter?  A weight ``W[k][i][j]`` changes the
   output only where unit ``i`` of node ``k`` is active and its input ``j`` is
   nonzero, so the search first maximises ``min(z_{k,i}, z_{src,j})`` for each
   differing weight, then ascends the clause margin from there -- the region
   random points almost never hit (a weight moved by ``1e-12`` deep inside).

Floats only *propose*: every candidate is converted to the rational it is
and evaluated exactly (:meth:`~polyrelu.bab.problem.BabProblem.violated`)
before it is reported.

>>> import polyrelu as pr
>>> from polyrelu.bab.objectives import max_difference
>>> from polyrelu.bab.problem import make_problem
>>> f = pr.Network.from_weights([([[1], [-1]], [0, -4]), ([[1, 1]], [0])])
>>> g = pr.Network.from_weights([([[1], [-1]], [0, -4]), ([[1, 2]], [0])])  # differ for x < -4
>>> r = find_counterexample(make_problem(f, g, max_difference(1)), None)
>>> r.point is not None and f(r.point) != g(r.point)
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

import numpy as np

from . import certificate as C
from .relax import FloatDag, FloatTwin

__all__ = ["AttackResult", "find_counterexample", "differing_weights"]


@dataclass
class AttackResult:
    """``point`` (exact, in the domain) violating ``clause``, or None;
    ``value`` is the float margin of the best point; ``stats`` counts the
    float steps, exact evaluations and LPs, and the stage that found it."""

    point: Optional[tuple] = None
    clause: Optional[int] = None
    value: float = -np.inf
    stats: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------
# float networks with gradients
# ---------------------------------------------------------------------------

def _dags(problem) -> list:
    fl = problem.fl
    if isinstance(fl, FloatTwin):
        return [fl.f, fl.g]
    return [fl]


def _forward(dag: FloatDag, X: np.ndarray):
    ys = [X]
    zs: list = [None]
    for k in range(1, dag.K + 2):
        z = np.broadcast_to(dag.c[k][0], (X.shape[0], dag.n[k])).copy()
        for j, E in dag.W[k].items():
            z += ys[j] @ E.m.T
        zs.append(z)
        ys.append(np.maximum(z, 0.0))
    return zs


def _grad(dag: FloatDag, zs: list, V: np.ndarray, node: int) -> np.ndarray:
    """Gradients of ``V . z_node`` (row per point) with respect to the input."""
    acc = {node: V}
    for kk in range(node, 0, -1):
        v = acc.pop(kk, None)
        if v is None:
            continue
        if kk != node:
            v = v * (zs[kk] > 0)
        for j, E in dag.W[kk].items():
            w = v @ E.m
            acc[j] = acc[j] + w if j in acc else w
    return acc.get(0, np.zeros((V.shape[0], dag.d)))


def _outputs(problem, X: np.ndarray):
    Z = [_forward(d, X) for d in _dags(problem)]
    return np.hstack([z[-1] for z in Z]), Z


def _margin(problem, Y: np.ndarray):
    """(margin, clause, atom) per point: the best clause's weakest atom."""
    best = np.full(Y.shape[0], -np.inf)
    bq = np.zeros(Y.shape[0], dtype=int)
    br = np.zeros(Y.shape[0], dtype=int)
    for q, cl in enumerate(problem.prop.clauses):
        cr = problem.clause_rows(q)
        na = len(cl.atoms)
        vals = Y @ cr.C[:na].T + np.array([float(v) for v in cr.d[:na]])
        r = np.argmin(vals, axis=1)
        m = vals[np.arange(Y.shape[0]), r]
        better = m > best
        best = np.where(better, m, best)
        bq = np.where(better, q, bq)
        br = np.where(better, r, br)
    return best, bq, br


def _margin_grad(problem, X: np.ndarray):
    Y, Z = _outputs(problem, X)
    m, bq, br = _margin(problem, Y)
    G = np.zeros_like(X)
    dags = _dags(problem)
    rows = np.array([problem.clause_rows(q).C[r] for q, r in zip(bq, br)])
    off = 0
    for dag, zs in zip(dags, Z):
        n_out = dag.n[-1]
        V = rows[:, off:off + n_out]
        if np.any(V):
            G += _grad(dag, zs, V, dag.K + 1)
        off += n_out
    return m, G


# ---------------------------------------------------------------------------
# the search
# ---------------------------------------------------------------------------

def _project(X: np.ndarray, box) -> np.ndarray:
    if box is None:
        return X
    return np.clip(X, box[0], box[1])


def _ascend(fun, X: np.ndarray, box, steps: int, scale: np.ndarray, budget) -> tuple:
    """Sign-gradient ascent of ``fun`` (returns value, gradient) from the rows of X."""
    step = 0.25 * scale * np.ones((X.shape[0], 1))
    val, G = fun(X)
    best_X, best_v = X.copy(), val.copy()
    for _ in range(steps):
        if budget():
            break
        Xn = _project(X + step * np.sign(G), box)
        vn, Gn = fun(Xn)
        up = vn > val
        X = np.where(up[:, None], Xn, X)
        val = np.where(up, vn, val)
        G = np.where(up[:, None], Gn, G)
        step = np.where(up[:, None], step * 1.2, step * 0.5)
        better = val > best_v
        best_X[better], best_v[better] = X[better], val[better]
    return best_X, best_v


def _exact_point(x: np.ndarray, box_exact) -> tuple:
    p = tuple(Fraction(float(v)) for v in x)
    if box_exact is not None:
        p = tuple(min(max(v, a), b) for v, a, b in zip(p, *box_exact))
    return p


def _starts(d: int, box, n: int, rng) -> np.ndarray:
    if box is None:
        return rng.standard_normal((n, d)) * 2.0
    lo, hi = box
    pts = [0.5 * (lo + hi)]
    if d <= 8:
        corners = ((np.arange(2 ** d)[:, None] >> np.arange(d)) & 1).astype(float)
        pts.append(lo + (hi - lo) * corners)
    pts.append(lo + (hi - lo) * rng.random((n, d)))
    return np.vstack(pts)


def differing_weights(problem) -> list:
    """``(node, row, col)`` of the DAG weights where twin networks differ
    (``col`` None for a bias), from the exact DAGs."""
    ex = problem.exact
    if problem.mode != "twin":
        return []
    f, g = ex.dags
    out: list = []
    for k in range(1, f.K + 2):
        for i, (a, b) in enumerate(zip(f.c[k], g.c[k])):
            if a != b:
                out.append((k, i, None, None))
        for j in f.M[k]:
            for i, (r1, r2) in enumerate(zip(f.M[k][j], g.M[k][j])):
                for col, (a, b) in enumerate(zip(r1, r2)):
                    if a != b:
                        out.append((k, i, j, col))
    return out


def _region_lp(problem, x: tuple, box_exact, clause: int) -> Optional[tuple]:
    """The float LP optimum of the clause's margin in the activation region of
    ``x`` (exact maps of the region), as a float point, or None."""
    from .lp import solve_float_lp

    ex = problem.exact
    states_of, phases = [], []
    for which, dag in enumerate(ex.dags):
        zs = dag.preactivations(x)
        st = [None] + [[1 if v > 0 else 0 for v in zs[k - 1]] for k in range(1, dag.K + 1)]
        states_of.append(st)
        part = (["f", "g"][which],) if problem.mode == "twin" else ()
        for k in range(1, dag.K + 1):
            for i, v in enumerate(zs[k - 1]):
                phases.append(list(part) + [k, i, 1 if v > 0 else 0])
    if problem.mode == "pair":
        dags = [ex.dag]
    else:
        dags = ex.dags
    maps_of = [C.region_maps(dg, st) for dg, st in zip(dags, states_of)]
    d = len(x)
    if box_exact is None:
        R = [max(Fraction(10), 4 * abs(v)) for v in x]
        box_exact = ([v - r for v, r in zip(x, R)], [v + r for v, r in zip(x, R)])
    rows = C.region_rows(ex, maps_of, phases, box_exact)
    cl = problem.prop.clauses[clause]
    outs = [F for mp in maps_of for F in mp[-1]]
    zero = Fraction(0)
    ineq = []
    for at in cl.atoms:
        F = [zero] * (d + 1)
        for cc, G in zip(at.c, outs):
            if cc:
                F = [a + cc * b for a, b in zip(F, G)]
        row = {p: -v for p, v in enumerate(F[:-1]) if v}
        row[d] = Fraction(1)
        ineq.append((row, F[-1] + at.d))
    for a, rhs in rows:
        ineq.append(({p: v for p, v in enumerate(a) if v}, rhs))
    big = Fraction(10 ** 9)
    lp: tuple = ([*box_exact[0], -big], [*box_exact[1], big], ineq, [], [])
    sol = solve_float_lp(lp, {d: Fraction(1)})
    if sol is None:
        return None
    return tuple(sol[3][:d])


def find_counterexample(problem, domain: Any = None, *, starts: int = 64, steps: int = 60,
                        seed: int = 0, time_limit: Optional[float] = None,
                        localize: bool = True, lp: bool = True) -> AttackResult:
    """Search a point of ``domain`` (a box ``(lo, hi)``, a box Polyhedron or None
    for all of ``R^d``) violating a clause of ``problem.prop`` (module docstring).

    Parameters
    ----------
    problem : BabProblem
    domain : box or None
    starts, steps : int
        Random starts (besides centre and corners) and ascent steps per start.
    seed : int
    time_limit : float, optional
        Seconds for the whole search.
    localize : bool
        Search where differing weights matter (twin problems).
    lp : bool
        LP in the activation region of the best points.

    Returns
    -------
    AttackResult
        ``point`` is None when nothing was found (no claim is made then).
    """
    from .driver import as_box

    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + time_limit

    def out_of_time() -> bool:
        return deadline is not None and time.perf_counter() > deadline

    d = problem.d
    box_exact = None if domain is None else as_box(domain, d)
    box = None
    if box_exact is not None:
        box = (np.array([float(v) for v in box_exact[0]]),
               np.array([float(v) for v in box_exact[1]]))
    rng = np.random.default_rng(seed)
    res = AttackResult(stats={"evaluations": 0, "lps": 0, "stage": None})
    scale = np.ones(d) if box is None else (box[1] - box[0])

    def check(X: np.ndarray, vals: np.ndarray, stage: str, k: int = 4) -> bool:
        for j in np.argsort(-vals)[:k]:
            if not np.all(np.isfinite(X[j])):
                continue
            x = _exact_point(X[j], box_exact)
            res.stats["evaluations"] += 1
            q = problem.violated(x)
            if q is not None:
                res.point, res.clause, res.value = x, q, float(vals[j])
                res.stats["stage"] = stage
                return True
        return False

    def margin(X):
        return _margin_grad(problem, X)

    with np.errstate(all="ignore"):
        X0 = _starts(d, box, starts, rng)
        X, v = _ascend(margin, X0, box, steps, scale, out_of_time)
        res.value = float(np.max(v))
        if check(X, v, "gradient"):
            return _done(res, t0)
        best = list(np.argsort(-v)[:2])
        if localize and problem.mode == "twin" and not out_of_time():
            found = _localize(problem, box, box_exact, rng, starts, steps, scale, out_of_time,
                              check)
            if found:
                return _done(res, t0)
        if lp:
            for j in best:
                if out_of_time():
                    break
                x = _exact_point(X[j], box_exact)
                _, q, _ = _margin(problem, _outputs(problem, X[j:j + 1])[0])
                xs = _region_lp(problem, x, box_exact, int(q[0]))
                res.stats["lps"] += 1
                if xs is not None and check(np.array([xs]), np.array([0.0]), "region-lp", 1):
                    return _done(res, t0)
    return _done(res, t0)


def _localize(problem, box, box_exact, rng, starts, steps, scale, out_of_time, check) -> bool:
    """Ascend ``min(z_{k,i}, z_{src,col})`` for each differing weight, then the
    margin from the points where both are positive."""
    diffs = differing_weights(problem)
    if not diffs or len(diffs) > 64:
        return False
    f = problem.fl.f
    d = problem.d
    for k, i, j, col in diffs:
        if out_of_time():
            return False
        if k == f.K + 1 and j is not None and j == 0:
            continue            # an output weight on the input: the gradient sees it

        def act(X, k=k, i=i, j=j, col=col):
            zs = _forward(f, X)
            targets = []
            if k <= f.K:
                targets.append((k, i))
            if j is not None and j > 0:
                targets.append((j, col))
            vals = np.stack([zs[kk][:, ii] for kk, ii in targets], axis=1)
            r = np.argmin(vals, axis=1)
            kk = np.array([targets[t][0] for t in r])
            ii = np.array([targets[t][1] for t in r])
            G = np.zeros_like(X)
            for node in sorted(set(kk.tolist())):
                sel = kk == node
                V = np.zeros((X.shape[0], f.n[node]))
                V[np.flatnonzero(sel), ii[sel]] = 1.0
                G[sel] = _grad(f, zs, V, node)[sel]
            return vals[np.arange(X.shape[0]), r], G

        if k > f.K and (j is None or j == 0):
            continue
        X0 = _starts(d, box, max(8, starts // 4), rng)
        X, v = _ascend(act, X0, box, steps, scale, out_of_time)
        ok = v > 0
        if not np.any(ok):
            continue
        X = X[ok]
        X, m = _ascend(lambda Z: _margin_grad(problem, Z), X, box, steps, scale * 0.01,
                       out_of_time)
        if check(X, m, "localized", 4):
            return True
    return False


def _done(res: AttackResult, t0: float) -> AttackResult:
    res.stats["seconds"] = time.perf_counter() - t0
    return res
