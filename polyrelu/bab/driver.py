"""Certified bound-and-split over a box: decide a property or bound a maximum.

A *cell* is a rational box with, optionally, fixed phases of some units (from
unit splits).  :func:`process_cell` -- one work unit, a pure function of the
problem and the cell -- bounds every unit (:mod:`polyrelu.bab.relax`), tries
to close each open clause (back-substitution, then optionally the triangle
LP with an exact dual, :mod:`polyrelu.bab.lp`), evaluates candidate points
exactly, and otherwise chooses a split (:mod:`polyrelu.bab.branching`).

* :func:`decide` -- the property holds on the domain (every leaf closed),
  is violated (a point where a clause holds, checked by exact evaluation) or
  is unknown (a limit stopped the run; the open cells are listed).  For
  ``eps = 0`` a cell closes exactly when the difference bound is exactly 0 or
  the two networks are stable with the zero affine difference there: both are
  back-substitution bounds ``<= 0`` computed without relaxed units.
* :func:`maximize` -- certified ``lower <= max_x max_q a_q(x) <= upper`` for
  single-atom clauses (best-first: the cell with the largest upper bound is
  split first); the smallest tolerance a run proves is ``upper``.

Cells are processed in rounds of ``batch`` cells on a
:class:`~polyrelu.parallel.WorkPool`; a round's results are taken in cell
order, so every executor gives the serial tree.  Limits
(:class:`~polyrelu.bab.limits.Limits`: cells, seconds, interrupt) stop the run
between rounds and, through a wall-clock deadline, inside workers; the result
is then partial.  ``progress(stage, done, total)`` is called after each round.

>>> import polyrelu as pr
>>> from polyrelu.bab.objectives import max_difference
>>> from polyrelu.bab.problem import make_problem
>>> f = pr.Network.from_weights([([[1], [-1]], [0, 0]), ([[1, 1]], [0])])   # |t|
>>> g = pr.Network.from_weights([([[1], [-1]], ["1/1000", 0]), ([[1, 1]], [0])])
>>> res = decide(make_problem(f, g, max_difference(1, eps="1/100")), ([-1], [1]))
>>> res.verdict, res.counterexample is None
('holds', True)
>>> decide(make_problem(f, g, max_difference(1)), ([-1], [1])).verdict
'violated'
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..exceptions import DomainError, EmptyDomainError, NetworkError
from ..numbers import to_vector
from ..parallel import WorkPool
from . import branching
from .limits import as_limits
from .lp import lp_bound
from .objectives import Atom, Clause, Property
from .problem import BabProblem
from .proof import ProofTree, fstr, layer_docs, proof_document
from .region import close_region, region_maximum
from .relax import FloatTwin, bound_single, bound_twin, objective_bounds
from .sound import outer_box

__all__ = ["Cell", "BabOptions", "CellOutcome", "BabResult", "process_cell", "decide",
           "maximize", "as_box", "shifted"]


@dataclass(frozen=True)
class Cell:
    """A box ``[lo, hi]`` with fixed phases ``((k, i, bit), ...)`` (twins:
    ``(part, k, i, bit)``), the clauses still open on it and its tree id."""

    lo: tuple
    hi: tuple
    phases: tuple = ()
    clauses: tuple = ()
    depth: int = 0
    nid: int = 0
    ub: float = float("inf")
    #: relaxed units of the parent, and how many input splits in a row left
    #: that count unchanged (see ``_choose_split``)
    parent_relaxed: int = -1
    stall: int = 0


@dataclass(frozen=True)
class BabOptions:
    """Options of a run.

    Attributes
    ----------
    split : {"auto", "input", "unit"}
        Which splits (``polyrelu.bab.branching.choose``).
    lp : {"auto", "never", "always"}
        The triangle LP with an exact dual: ``"auto"`` tries it on cells with
        at most ``4 * FEW_RELAXED`` relaxed units that have phases or whose
        back-substitution bound misses by at most ``lp_ratio`` of the
        clause's slack.
    refine : bool
        Back-substitution bounds of intermediate units (else forward only).
    samples : int
        Float points per cell whose best is checked exactly.
    proof : bool
        Keep what a proof document needs (certificates of closed cells).
    batch : int
        Cells per round.
    seed : int
        Seed of the sample points (cells derive their own).
    """

    split: str = "auto"
    lp: str = "auto"
    lp_ratio: float = 0.5
    refine: bool = True
    samples: int = 8
    proof: bool = False
    batch: int = 32
    seed: int = 0


@dataclass
class CellOutcome:
    """What processing a cell found.

    ``status`` is ``"closed"`` (every open clause closed), ``"violated"``
    (``witness`` violates clause ``witness_clause``, exactly), or ``"split"``
    (``split`` is ``{"dim": j, "at": Fraction}`` or ``{"unit": (...)}``).
    ``ub`` maps each processed clause to the exact upper bound of its best
    atom (``Fraction``, ``None`` if unbounded); ``closings`` are the
    certificate entries of the closed clauses, ``layers`` the cell's layer
    certificates (with ``proof``); ``best`` is ``(float value, exact point)``
    of the most promising point (the caller evaluates it exactly if it matters).
    ``status`` ``"exact"`` (:func:`maximize` only): the cell is fully fixed
    and ``exact`` is the exact maximum over it, attained at ``best[1]``; the
    ``closings`` are its ``"region"`` certificates.
    """

    status: str
    ub: dict = field(default_factory=dict)
    closed: tuple = ()
    closings: list = field(default_factory=list)
    layers: Optional[list] = None
    witness: Optional[tuple] = None
    witness_clause: Optional[int] = None
    best: Optional[tuple] = None
    split: Optional[dict] = None
    empty: bool = False
    lp_used: int = 0
    seconds: float = 0.0
    exact: Optional[Fraction] = None
    relaxed: int = 0
    stall: int = 0


def _phase_dicts(cell: Cell, twin: bool) -> Any:
    if twin:
        out: dict = {"f": {}, "g": {}}
        for part, k, i, b in cell.phases:
            out[part].setdefault(k, {})[i] = b
        return out
    out = {}
    for k, i, b in cell.phases:
        out.setdefault(k, {})[i] = b
    return out


def _float_outputs(problem: BabProblem, X: np.ndarray) -> np.ndarray:
    fl = problem.fl
    if isinstance(fl, FloatTwin):
        return np.hstack([fl.f.forward_float(X)[0], fl.g.forward_float(X)[0]])
    return fl.forward_float(X)[0]


def _exact_point(x: np.ndarray, lo: Sequence[Fraction], hi: Sequence[Fraction]) -> tuple:
    """The float point as exact rationals, clipped into the exact box."""
    return tuple(min(max(Fraction(float(v)), a), b) for v, a, b in zip(x, lo, hi))


def _clause_value(problem: BabProblem, q: int, y: Sequence[Fraction]) -> Fraction:
    return min(a.value(y) for a in problem.prop.clauses[q].atoms)


def _closes(val: Optional[Fraction], strict: bool) -> bool:
    return val is not None and ((val <= 0) if strict else (val < 0))


#: a cell with at most this many relaxed units is split by a unit (deep enough)
FEW_RELAXED = 3


def process_cell(problem: BabProblem, cell: Cell, options: BabOptions,
                 maximizing: bool = False) -> CellOutcome:
    """Bound, try to close, search and split one cell (module docstring).

    With ``maximizing`` no clause is closed (every clause's upper bound is
    kept) and a split is always chosen."""
    t0 = time.perf_counter()
    twin = problem.mode == "twin"
    fl = problem.fl
    box = outer_box(cell.lo, cell.hi)
    phases = _phase_dicts(cell, twin)
    if twin:
        cb = bound_twin(fl, box, phases, refine=options.refine)
    else:
        cb = bound_single(fl, box, phases, refine=options.refine)
    clauses = cell.clauses
    prop = problem.prop
    out = CellOutcome("split")
    if cb.empty:
        out.status, out.empty, out.closed = "closed", True, tuple(clauses)
        out.ub = {q: Fraction(-1) for q in clauses}
        if options.proof:
            out.layers = layer_docs(cb)
            out.closings = [{"clause": int(clauses[0]) if clauses else 0, "method": "empty"}]
        out.seconds = time.perf_counter() - t0
        return out
    # every weighting of every open clause in one back-substitution
    mats, rads, owners = [], [], []
    for q in clauses:
        cr = problem.clause_rows(q)
        mats.append(cr.C)
        rads.append(np.zeros_like(cr.C) if cr.R is None else cr.R)
        owners += [(q, r) for r in range(cr.C.shape[0])]
    Cmat = np.vstack(mats)
    Rmat = np.vstack(rads)
    record: dict = {}
    ubs = objective_bounds(fl, cb, Cmat, record=record,
                           C_rad=Rmat if np.any(Rmat) else None)
    best: dict = {}
    for row, ((q, r), ub) in enumerate(zip(owners, ubs)):
        val = Fraction(float(ub)) + problem.clause_rows(q).d[r] if np.isfinite(ub) else None
        cur = best.get(q)
        if cur is None or (val is not None and (cur[0] is None or val < cur[0])):
            best[q] = (val, r, row)
    out.ub = {q: best[q][0] for q in clauses}
    closed, closings, open_q = [], [], []
    for q in clauses:
        val, r, _ = best[q]
        if not maximizing and _closes(val, prop.clauses[q].strict):
            closed.append(q)
            closings.append({"clause": int(q), "method": "backward",
                             "weights": [fstr(w) for w in problem.clause_rows(q).weights[r]]})
        else:
            open_q.append(q)
    # exact evaluation of the most promising float point: the box centre, a
    # few seeded random points and the corners maximising each bound's
    # linear part (what back-substitution says is worst)
    lo_f, hi_f = box
    d = lo_f.shape[0]
    rng = np.random.default_rng([options.seed, cell.nid, cell.depth])
    pts = [0.5 * (lo_f + hi_f)]
    if options.samples > 1:
        pts.append(lo_f + (hi_f - lo_f) * rng.random((options.samples - 1, d)))
    mu0 = record.get(0)
    if mu0 is not None:
        rows_open = [best[q][2] for q in (open_q or clauses)]
        pts.append(np.where(mu0[rows_open] > 0, hi_f, lo_f))
    X = np.vstack(pts)
    Y = _float_outputs(problem, X)
    if np.all(np.isfinite(Y)):
        scores = np.full(X.shape[0], -np.inf)
        for q in range(len(prop.clauses)):
            cr = problem.clause_rows(q)
            na = len(prop.clauses[q].atoms)
            dv = np.array([float(v) for v in cr.d[:na]])
            scores = np.maximum(scores, (Y @ cr.C[:na].T + dv).min(axis=1))
        j = int(np.argmax(scores))
        x = _exact_point(X[j], cell.lo, cell.hi)
        out.best = (float(scores[j]), x)
        # exact evaluation only where the float value is not clearly safe
        # (a float never decides: it only spares exact work)
        scale = 1.0 + float(np.max(np.abs(Y[j])))
        if not maximizing and scores[j] > -1e-9 * scale:
            y = problem.outputs(x)
            viol = prop.violated(y)
            if viol is not None:
                out.status, out.witness, out.witness_clause = "violated", x, viol
                out.seconds = time.perf_counter() - t0
                return out
    # the triangle LP with an exact dual where it may close a clause: on
    # nearly exact cells (few relaxed units) with phases or a small gap
    if open_q and not maximizing and options.lp != "never":
        nrel = branching.relaxed_count(cb)
        try_lp = options.lp == "always"
        if not try_lp and nrel <= 4 * FEW_RELAXED and all(best[q][0] is not None
                                                          for q in open_q):
            spans = [abs(problem.clause_rows(q).d[best[q][1]]) for q in open_q]
            gap = max(best[q][0] for q in open_q)
            try_lp = bool(cell.phases) or \
                gap <= Fraction(options.lp_ratio) * max(max(spans), Fraction(1, 10 ** 30))
        if try_lp:
            cache = None
            ph = [phases.get("f", {}), phases.get("g", {})] if twin else [phases]
            still = []
            for q in open_q:
                r = best[q][1]
                cr = problem.clause_rows(q)
                atoms = prop.clauses[q].atoms
                cvec = [sum((w * a.c[o] for w, a in zip(cr.weights[r], atoms) if w),
                            Fraction(0)) for o in range(prop.n_outputs)]
                b, mult, cache, xp = lp_bound(problem, cb, cell.lo, cell.hi, ph, cvec,
                                              cr.d[r], cache)
                out.lp_used += 1
                if _closes(b, prop.clauses[q].strict):
                    closed.append(q)
                    entry: dict = {"clause": int(q), "method": "lp",
                             "weights": [fstr(w) for w in cr.weights[r]]}
                    entry.update(mult or {})
                    closings.append(entry)
                    out.ub[q] = b if out.ub[q] is None else min(out.ub[q], b)
                    continue
                still.append(q)
                if xp is not None and np.all(np.isfinite(xp)):
                    # the LP's optimum is a candidate point of the cell
                    x = _exact_point(xp, cell.lo, cell.hi)
                    viol = problem.violated(x)
                    if viol is not None:
                        out.status, out.witness, out.witness_clause = "violated", x, viol
                        out.seconds = time.perf_counter() - t0
                        return out
            open_q = still
    # a fully fixed cell is decided exactly (the networks are affine on it)
    if open_q and not maximizing and branching.relaxed_count(cb) == 0:
        still = []
        for q in open_q:
            closing, point = close_region(problem, cb, cell.lo, cell.hi, cell.phases, q)
            out.lp_used += 1
            if closing is not None:
                entry = closing
                if entry["method"] == "thin":      # empty: every clause holds
                    closed, still = list(clauses), []
                    closings.append(entry)
                    break
                closed.append(q)
                closings.append(entry)
                continue
            still.append(q)
            if point is not None:
                viol = problem.violated(point)
                if viol is not None:
                    out.status, out.witness, out.witness_clause = "violated", point, viol
                    out.seconds = time.perf_counter() - t0
                    return out
        open_q = still
    # maximizing on a fully fixed cell: the exact maximum (the networks are affine)
    if maximizing and branching.relaxed_count(cb) == 0 and \
            _exact_maximum(problem, cb, cell, out, options):
        out.seconds = time.perf_counter() - t0
        return out
    out.closed = tuple(closed)
    if options.proof:
        out.layers = layer_docs(cb)
        out.closings = closings
    if not open_q and not maximizing:
        out.status = "closed"
        out.seconds = time.perf_counter() - t0
        return out
    out.relaxed = branching.relaxed_count(cb)
    out.stall = cell.stall + 1 if 0 <= cell.parent_relaxed <= out.relaxed else 0
    cell = replace(cell, stall=out.stall)
    out.split = _choose_split(problem, cell, cb, open_q or list(clauses), best, record,
                              options)
    out.seconds = time.perf_counter() - t0
    return out


def _exact_maximum(problem: BabProblem, cb: Any, cell: Cell, out: CellOutcome,
                   options: BabOptions) -> bool:
    """Fill ``out`` with the exact maximum of every clause over a fully fixed
    cell (exact LP, :func:`polyrelu.bab.region.region_maximum`); False when the
    exact backend gives no answer (then the cell is split as usual)."""
    ub: dict = {}
    closings = []
    top: Optional[tuple] = None
    for q in cell.clauses:
        r = region_maximum(problem, cb, cell.lo, cell.hi, cell.phases, q)
        out.lp_used += 1
        if r is None:
            return False
        v, x, entry = r
        if v is None:                       # the cell is empty
            out.status, out.empty, out.closed = "closed", True, tuple(cell.clauses)
            out.ub = {}
            if options.proof:
                out.layers = layer_docs(cb)
                out.closings = [entry]
            return True
        ub[q] = v
        closings.append(entry)
        if top is None or v > top[0]:
            top = (v, x)
    assert top is not None
    out.status, out.ub, out.split = "exact", ub, None
    out.exact, out.best = top[0], (float(top[0]), top[1])
    if options.proof:
        out.layers = layer_docs(cb)
        out.closings = closings
    return True


def _choose_split(problem: BabProblem, cell: Cell, cb: Any, open_q: list, best: dict,
                  record: dict, options: BabOptions) -> dict:
    """Input or unit split (:mod:`polyrelu.bab.branching`).  Besides the choice
    by input dimension, a cell deep enough with at most :data:`FEW_RELAXED`
    relaxed units splits one: input splits cannot make a unit whose
    hyperplane crosses the cell stable, and an exact decision (``eps = 0``)
    needs every unit stable or fixed."""
    how = branching.choose(options.split, problem.d)
    if how == "input" and options.split == "auto" and cell.depth >= 2 * problem.d:
        worst = max(open_q, key=lambda q: np.inf if best[q][0] is None else float(best[q][0]))
        exact = problem.clause_rows(worst).d[best[worst][1]] == 0
        # d input splits in a row that made no unit stable: the cell hugs a
        # hyperplane that bisection only approaches (a tight bound, eps = the
        # exact maximum, needs that unit fixed), so split the unit
        stalled = cell.stall >= problem.d
        if exact or stalled or branching.relaxed_count(cb) <= FEW_RELAXED:
            how = "unit"
    if how == "unit":
        worst = max(open_q, key=lambda q: np.inf if best[q][0] is None else float(best[q][0]))
        fixed = {tuple(p[:-1]) for p in cell.phases}
        unit = branching.split_unit(cb, record, problem.mode == "twin", best[worst][2])
        if unit is not None and tuple(unit) not in fixed:
            return {"unit": list(unit)}
    j = branching.input_dimension(cb, problem.fl)
    if cell.lo[j] == cell.hi[j]:
        j = max(range(len(cell.lo)), key=lambda i: cell.hi[i] - cell.lo[i])
    return {"dim": j, "at": (cell.lo[j] + cell.hi[j]) / 2}


def _children(cell: Cell, out: CellOutcome, next_id: int) -> list:
    open_q = tuple(q for q in cell.clauses if q not in out.closed)
    sp = out.split
    assert sp is not None
    if "dim" in sp:
        j, at = sp["dim"], sp["at"]
        h1 = list(cell.hi)
        h1[j] = at
        l2 = list(cell.lo)
        l2[j] = at
        return [Cell(cell.lo, tuple(h1), cell.phases, open_q, cell.depth + 1, next_id,
                     parent_relaxed=out.relaxed, stall=out.stall),
                Cell(tuple(l2), cell.hi, cell.phases, open_q, cell.depth + 1, next_id + 1,
                     parent_relaxed=out.relaxed, stall=out.stall)]
    u = tuple(sp["unit"])
    return [Cell(cell.lo, cell.hi, cell.phases + (u + (1,),), open_q, cell.depth + 1, next_id),
            Cell(cell.lo, cell.hi, cell.phases + (u + (0,),), open_q, cell.depth + 1,
                 next_id + 1)]


def _work(shared: tuple, cell: Cell) -> CellOutcome:
    problem, options, maximizing = shared
    return process_cell(problem, cell, options, maximizing)


def as_box(domain: Any, d: int) -> tuple[tuple, tuple]:
    """``(lo, hi)`` exact from a box pair or a box :class:`~polyrelu.Polyhedron`."""
    from ..polyhedron import Polyhedron

    if isinstance(domain, Polyhedron):
        if domain.ambient_dim != d:
            raise DomainError(f"wrong dimension: the domain lives in R^{domain.ambient_dim}, "
                              f"the networks have {d} inputs")
        V = domain.vertices
        if not domain.bounded or not V:
            raise DomainError("bound-and-split needs a bounded box domain")
        lo = tuple(min(v[j] for v in V) for j in range(d))
        hi = tuple(max(v[j] for v in V) for j in range(d))
        box = Polyhedron.box(lo, hi)
        if box != domain:
            raise DomainError("bound-and-split takes box domains; this polyhedron is not "
                              "a box")
        return lo, hi
    if domain is None:
        raise DomainError("bound-and-split needs a bounded box domain, not all of R^d "
                          "(counterexamples over R^d: polyrelu.bab.attack)")
    try:
        lo, hi = domain
    except (TypeError, ValueError):
        raise DomainError(f"a box is a pair (lo, hi), got {type(domain).__name__}") from None
    lo, hi = to_vector(lo, "domain lo"), to_vector(hi, "domain hi")
    if len(lo) != d or len(hi) != d:
        raise DomainError(f"wrong dimension: the box has {len(lo)}/{len(hi)} coordinates, "
                          f"the networks have {d} inputs")
    for j, (a, b) in enumerate(zip(lo, hi)):
        if a > b:
            raise EmptyDomainError(f"the domain box is empty: lo[{j}] > hi[{j}]")
        if a == b:
            raise EmptyDomainError(f"the domain box has no interior: lo[{j}] = hi[{j}] "
                                   f"(restrict the networks to the slice instead)")
    return lo, hi


@dataclass
class BabResult:
    """The outcome of :func:`decide` or :func:`maximize`.

    Attributes
    ----------
    verdict : str
        ``"holds"``, ``"violated"`` or ``"unknown"`` (a limit stopped the run).
    counterexample : tuple of Fraction or None
        A point of the domain violating ``clause`` (exactly).
    partial : bool
    reason : str or None
        Why a partial run stopped.
    open_cells : list of polyrelu.bab.Cell
    upper, lower : Fraction or None
        :func:`maximize`: certified bounds of the maximum (``argmax`` attains ``lower``).
    stats : dict
        ``cells``, ``closed``, ``lp``, ``max_depth``, ``wall``, ``cpu`` seconds.
    tree : object or None
        With ``options.proof``: the tree for :meth:`document`.
    """

    verdict: str
    counterexample: Optional[tuple] = None
    clause: Optional[int] = None
    partial: bool = False
    reason: Optional[str] = None
    open_cells: list = field(default_factory=list)
    upper: Optional[Fraction] = None
    lower: Optional[Fraction] = None
    argmax: Optional[tuple] = None
    stats: dict = field(default_factory=dict)
    tree: Optional[ProofTree] = None
    problem: Optional[BabProblem] = field(default=None, repr=False)
    domain: Optional[tuple] = field(default=None, repr=False)
    kind: str = "decide"

    def structure(self) -> list:
        """The tree as ``(id, status, split)`` triples (executor-independent)."""
        if self.tree is None:
            return []
        return [(n["id"], n["status"], n.get("split") and
                 {k: (str(v) if isinstance(v, Fraction) else v) for k, v in n["split"].items()})
                for n in self.tree.nodes]

    def document(self) -> dict:
        """The proof document (``polyrelu.bab.proof``); needs ``options.proof``.

        For :func:`maximize` the document proves ``max <= upper``: its
        property is the objectives shifted by ``-upper``."""
        if self.tree is None:
            raise NetworkError("no proof was kept: run with BabOptions(proof=True)")
        prob = self.problem
        assert prob is not None
        doc = prob.document()
        verdict = self.verdict
        if self.kind == "maximize":
            if self.upper is None:
                raise NetworkError("the maximum is not bounded: no proof")
            doc["property"] = shifted(prob.prop, self.upper).to_doc()
            verdict = "holds"
        ce = None
        if self.counterexample is not None:
            ce = {"point": [fstr(v) for v in self.counterexample], "clause": self.clause}
        stats = {k: v for k, v in self.stats.items() if isinstance(v, (int, float, str))}
        extra: dict = {"stats": stats}
        if self.kind == "maximize":
            extra["bounds"] = {"upper": fstr(self.upper),
                               "lower": None if self.lower is None else fstr(self.lower)}
        return proof_document(doc, self.domain, self.tree, verdict, self.partial, ce, extra)


def shifted(prop: Property, by: Fraction) -> Property:
    """``prop`` with every atom lowered by ``by`` (``a - by > 0``)."""
    clauses = tuple(Clause(tuple(Atom(a.c, a.d - by) for a in cl.atoms), cl.strict,
                           f"{cl.label} - {fstr(by)}" if cl.label else "")
                    for cl in prop.clauses)
    return Property(clauses, prop.n_outputs, prop.kind,
                    None if prop.eps is None else prop.eps + by, dict(prop.info))


def _tree_split(tree: ProofTree, nid: int, sp: dict, kids: list) -> None:
    split = {"dim": sp["dim"], "at": fstr(sp["at"])} if "dim" in sp else \
        {"unit": list(sp["unit"])}
    tree.split(nid, split, [c.nid for c in kids])


def _add_node(tree: Optional[ProofTree], c: Cell) -> None:
    if tree is not None:
        tree.add(c.lo, c.hi, c.phases)


def _start(problem: BabProblem, domain: Any, options: Optional[BabOptions], limits: Any,
           max_cells: Any, time_limit: Any) -> tuple:
    if not isinstance(problem, BabProblem):
        raise NetworkError(f"expected a BabProblem (polyrelu.bab.make_problem), got "
                           f"{type(problem).__name__}")
    options = options or BabOptions()
    if not isinstance(options, BabOptions):
        raise NetworkError(f"options must be BabOptions, got {type(options).__name__}")
    if options.split not in ("auto", "input", "unit") or \
            options.lp not in ("auto", "never", "always"):
        raise NetworkError(f"unknown split {options.split!r} or lp {options.lp!r}")
    lim = as_limits(limits, max_cells, time_limit)
    lo, hi = as_box(domain, problem.d)
    root = Cell(lo, hi, (), tuple(range(len(problem.prop.clauses))), 0, 0)
    tree = ProofTree() if options.proof else None
    _add_node(tree, root)
    return options, lim, lo, hi, root, tree


def _count(stats: dict, cell: Cell, out: CellOutcome) -> None:
    stats["cells"] += 1
    stats["lp"] += out.lp_used
    stats["max_depth"] = max(stats["max_depth"], cell.depth)


def decide(problem: BabProblem, domain: Any, *, options: Optional[BabOptions] = None,
           limits: Any = None, max_cells: Optional[int] = None,
           time_limit: Optional[float] = None, executor: Any = None,
           progress: Optional[Callable] = None) -> BabResult:
    """Decide ``problem.prop`` on the box ``domain`` by bound-and-split.

    Parameters
    ----------
    problem : BabProblem
    domain : box
        ``(lo, hi)`` or a box Polyhedron (bounded, full-dimensional).
    options : BabOptions, optional
    limits : Limits, optional
        Or a ``polyrelu.budget.Budget``, or ``max_cells`` / ``time_limit`` directly.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
    progress : callable, optional
        ``progress("cells", done, None)`` after every round.

    Returns
    -------
    BabResult

    Notes
    -----
    Best first: the open cell whose worst open clause has the largest upper
    bound is processed first (a cell not processed yet counts with its
    parent's bound), so counterexamples are met early and the cells that
    decide the run are refined first.  A split node that closes some clauses
    keeps their certificate; its children owe only the others.
    """
    options, lim, lo, hi, root, tree = _start(problem, domain, options, limits, max_cells,
                                              time_limit)
    c0 = time.process_time()
    heap: list = [(-np.inf, 0, root)]
    next_id = 1
    stats: dict = {"cells": 0, "closed": 0, "lp": 0, "max_depth": 0, "empty": 0}
    result = BabResult("unknown", problem=problem, domain=(lo, hi), tree=tree)
    with WorkPool(executor, shared=(problem, options, False)) as pool:
        while heap:
            reason = lim.reason
            if reason:
                result.partial, result.reason = True, reason
                break
            take: list = []
            while heap and len(take) < min(options.batch, lim.remaining_cells()):
                take.append(heapq.heappop(heap))
            outs = pool.map(_work, [e[2] for e in take], lim.deadline)
            for e, out in zip(take, outs):
                key, _, cell = e
                if out is None:
                    heapq.heappush(heap, e)
                    continue
                if result.verdict == "violated":
                    continue
                lim.cells += 1
                _count(stats, cell, out)
                if out.status == "violated":
                    result.verdict = "violated"
                    result.counterexample, result.clause = out.witness, out.witness_clause
                    continue
                if out.status == "closed":
                    stats["closed"] += 1
                    stats["empty"] += int(out.empty)
                    if tree is not None:
                        tree.close(cell.nid, {"layers": out.layers, "closings": out.closings})
                    continue
                kids = _children(cell, out, next_id)
                next_id += 2
                if tree is not None:
                    for c in kids:
                        _add_node(tree, c)
                    _tree_split(tree, cell.nid, out.split, kids)
                    if out.closings:
                        tree.nodes[cell.nid]["certificate"] = {"layers": out.layers,
                                                               "closings": out.closings}
                worst = [out.ub[q] for q in kids[0].clauses]
                pri = -np.inf if any(v is None for v in worst) else -float(max(worst))
                for c in kids:
                    heapq.heappush(heap, (pri, c.nid, c))
            if result.verdict == "violated":
                break
            if progress is not None:
                progress("cells", stats["cells"], None)
    if result.verdict != "violated":
        result.verdict = "unknown" if heap else "holds"
        if heap and not result.partial:
            result.partial, result.reason = True, lim.reason or "stopped"
        result.open_cells = [e[2] for e in heap]
    stats["wall"] = lim.elapsed()
    stats["cpu"] = time.process_time() - c0
    result.stats = stats
    return result


def maximize(problem: BabProblem, domain: Any, *, options: Optional[BabOptions] = None,
             tolerance: Any = 0, limits: Any = None, max_cells: Optional[int] = None,
             time_limit: Optional[float] = None, executor: Any = None,
             progress: Optional[Callable] = None) -> BabResult:
    """Certified bounds of ``M = max_x max_q a_q(x)`` over the box.

    The clauses must be single atoms ``a_q`` (objectives).  Best first: the
    cell with the largest upper bound is split next (a round takes the
    ``batch`` largest), until ``upper - lower <= tolerance`` or a limit.
    ``result.upper`` is a certified upper bound of ``M`` (every leaf's bound
    is at most it; a cell not processed yet counts with its parent's bound),
    ``result.lower`` the largest exact value found, at ``result.argmax``.
    With ``options.proof``, :meth:`BabResult.document` proves ``M <= upper``.

    Returns
    -------
    BabResult
        ``verdict`` ``"holds"`` when the gap closed to ``tolerance``.
    """
    options, lim, lo, hi, root, tree = _start(problem, domain, options, limits, max_cells,
                                              time_limit)
    if not problem.prop.single_atoms:
        raise NetworkError("maximize needs single-atom clauses (objectives)")
    tol = Fraction(tolerance)
    c0 = time.process_time()
    stats: dict = {"cells": 0, "closed": 0, "lp": 0, "max_depth": 0, "empty": 0}
    # entries (-upper, nid, cell, outcome or None, upper); upper None = unbounded
    heap: list = [(-np.inf, 0, root, None, None)]
    next_id = 1
    lower: Optional[Fraction] = None
    argmax = None
    result = BabResult("unknown", problem=problem, domain=(lo, hi), tree=tree,
                       kind="maximize")
    certs: dict = {}

    def key(ub: Optional[Fraction]) -> float:
        return -np.inf if ub is None else -float(ub)

    def settled(e: tuple) -> bool:
        return e[3] is not None and lower is not None and e[4] is not None and \
            e[4] - lower <= tol

    with WorkPool(executor, shared=(problem, options, True)) as pool:
        while heap:
            if settled(heap[0]):
                result.verdict = "holds"
                break
            reason = lim.reason
            if reason:
                result.partial, result.reason = True, reason
                break
            take: list = []
            while heap and len(take) < min(options.batch, lim.remaining_cells()):
                take.append(heapq.heappop(heap))
            todo = [e for e in take if e[3] is None]
            outs = pool.map(_work, [e[2] for e in todo], lim.deadline) if todo else []
            done = {e[1]: o for e, o in zip(todo, outs)}
            for e in take:
                _, nid, cell, out, ub = e
                if out is None:
                    out = done.get(nid)
                    if out is None:                 # not run before the deadline
                        heapq.heappush(heap, e)
                        continue
                    lim.cells += 1
                    _count(stats, cell, out)
                    if out.empty:                   # no point: nothing to bound
                        stats["closed"] += 1
                        stats["empty"] += 1
                        if tree is not None:
                            tree.close(nid, {"layers": out.layers, "closings": out.closings})
                        continue
                    if out.exact is not None and out.best is not None:
                        stats["closed"] += 1
                        # the LP optimum, evaluated exactly (it attains out.exact)
                        x = out.best[1]
                        y = problem.outputs(x)
                        val = max(_clause_value(problem, q, y)
                                  for q in range(len(problem.prop.clauses)))
                        if lower is None or val > lower:
                            lower, argmax = val, x
                    elif out.best is not None and (lower is None or
                                                   out.best[0] > float(lower)):
                        x = out.best[1]
                        y = problem.outputs(x)
                        val = max(_clause_value(problem, q, y)
                                  for q in range(len(problem.prop.clauses)))
                        if lower is None or val > lower:
                            lower, argmax = val, x
                    vals = list(out.ub.values())
                    # its own bound (what its certificate proves), even if the
                    # parent's was lower: back-substitution is not monotone
                    own = None if any(v is None for v in vals) else max(vals)
                    if tree is not None:
                        certs[nid] = (out.layers,
                                      out.closings if out.exact is not None else None)
                    heapq.heappush(heap, (key(own), nid, cell, out, own))
                elif settled(e) or out.split is None:
                    heapq.heappush(heap, e)
                else:
                    kids = _children(cell, out, next_id)
                    next_id += 2
                    for c in kids:
                        _add_node(tree, c)
                        heapq.heappush(heap, (key(ub), c.nid, c, None, ub))
                    if tree is not None:
                        _tree_split(tree, nid, out.split, kids)
            if progress is not None:
                progress("cells", stats["cells"], None)
    ubs = [e[4] for e in heap]
    result.upper = None if (not ubs or any(u is None for u in ubs)) else max(ubs)
    result.lower, result.argmax = lower, argmax
    result.open_cells = [e[2] for e in heap]
    if tree is not None and result.upper is not None:
        _finish_max_tree(tree, heap, certs, len(problem.prop.clauses))
    stats["wall"] = lim.elapsed()
    stats["cpu"] = time.process_time() - c0
    result.stats = stats
    return result


def _finish_max_tree(tree: ProofTree, heap: list, certs: dict, nclauses: int) -> None:
    """Make the tree a proof of ``M <= upper``: a processed leaf closes every
    clause by back-substitution; a split node with a child that was never
    processed closes with its own certificate instead (its bound is at most
    ``upper``: the child counted with it); descendants of such nodes go."""
    closings = [{"clause": q, "weights": ["1"], "method": "backward"} for q in range(nclauses)]
    nodes = tree.nodes
    unprocessed = {e[1] for e in heap if e[3] is None}
    parent = {c: n["id"] for n in nodes for c in n.get("children", [])}
    cut = {parent[c] for c in unprocessed if c in parent}
    for n in nodes:
        nid = n["id"]
        if nid in cut or (nid in certs and n["status"] == "open"):
            n.pop("children", None)
            n.pop("split", None)
            n["status"] = "closed"
            layers, own = certs[nid]
            n["certificate"] = {"layers": layers, "closings": own or closings}
    keep, todo = [], [0]
    while todo:
        i = todo.pop()
        keep.append(i)
        todo.extend(nodes[i].get("children", []))
    renum = {old: new for new, old in enumerate(sorted(keep))}
    tree.nodes = [nodes[i] for i in sorted(keep)]
    for n in tree.nodes:
        n["id"] = renum[n["id"]]
        if "children" in n:
            n["children"] = [renum[c] for c in n["children"]]
