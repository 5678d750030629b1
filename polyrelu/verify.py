"""Decide a VNN-LIB property of a network exactly: ``pr.verify(net, property)``.

The property (a :class:`~polyrelu.io.vnnlib.VnnlibProperty` or a ``.vnnlib``
path) is a union of cases, each an input box with a disjunction of output
conjunctions ``C y <= d`` (the unsafe set).  Each case is decided by
certified bound-and-split (``polyrelu.bab.decide``):

* ``"holds"`` (VNN-COMP ``unsat``): every cell of every case closed by a
  certified bound -- no input in the boxes reaches the unsafe set;
* ``"violated"`` (``sat``): a rational input in a box whose exact outputs
  are unsafe, re-checked here by exact evaluation against the file's
  constraints (strict ones included);
* ``"unknown"``: a limit stopped the run (partial; the open cells are kept).

A box with some coordinates fixed (``lo = hi``, e.g. ACAS Xu property 4)
is decided on the network restricted to the free coordinates
(:meth:`~polyrelu.network.Network.restrict`): bound-and-split takes
full-dimensional boxes only.  A conjunction mixing strict and non-strict
comparisons is decided in its non-strict relaxation (sound for ``holds``);
a counterexample of the relaxation that fails the exact strict check makes
the case ``unknown``, never ``violated``.

>>> import polyrelu as pr
>>> from polyrelu.io.vnnlib import parse_vnnlib
>>> net = pr.Network.from_weights([([[1], [-1]], [0, 0]), ([[1, 1]], [0])])   # |x|
>>> head = "(declare-const X_0 Real)(declare-const Y_0 Real)(assert (<= X_0 1))(assert (>= X_0 -1))"
>>> verify(net, parse_vnnlib(head + "(assert (>= Y_0 2))")).verdict
'holds'
>>> r = verify(net, parse_vnnlib(head + "(assert (>= Y_0 1/2))"))
>>> r.result, abs(r.counterexample[0]) >= pr.Fraction(1, 2)
('sat', True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Optional

from .exceptions import NetworkError, ShapeError
from .network import Network

__all__ = ["VerifyResult", "verify", "VNNCOMP"]

#: verdict -> the VNN-COMP result word
VNNCOMP = {"holds": "unsat", "violated": "sat", "unknown": "unknown"}
#: seconds at most of the float counterexample search before bound-and-split
ATTACK_SECONDS = 2.0


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of :func:`verify`.

    Attributes
    ----------
    verdict : str
        ``"holds"``, ``"violated"`` or ``"unknown"``.
    counterexample : tuple of Fraction or None
        An input where the property fails (exactly checked), with its exact
        ``outputs``; ``case`` and ``disjunct`` say which part of the file it meets.
    partial : bool
        A limit stopped the run (``reason`` says which).
    stats : dict
        ``cells``, ``closed``, ``wall`` and ``cpu`` seconds, ``cases``.
    """

    verdict: str
    counterexample: Optional[tuple] = None
    outputs: Optional[tuple] = None
    case: Optional[int] = None
    disjunct: Optional[int] = None
    partial: bool = False
    reason: Optional[str] = None
    stats: dict = field(default_factory=dict, compare=False)
    runs: tuple = field(default=(), compare=False, repr=False)

    @property
    def result(self) -> str:
        """``"unsat"`` (holds), ``"sat"`` or ``"unknown"``: the VNN-COMP word."""
        return VNNCOMP[self.verdict]

    def as_dict(self) -> dict:
        """A JSON-ready dict (exact numbers as strings)."""
        from .numbers import fraction_str

        doc: dict = {"result": self.result, "verdict": self.verdict,
                     "partial": self.partial, "reason": self.reason}
        if self.counterexample is not None:
            doc["counterexample"] = {
                "x": [fraction_str(v) for v in self.counterexample],
                "y": [fraction_str(v) for v in self.outputs or ()],
                "case": self.case, "disjunct": self.disjunct}
        doc["stats"] = {k: v for k, v in self.stats.items()
                        if isinstance(v, (int, float, str))}
        return doc

    def vnncomp_text(self) -> str:
        """The VNN-COMP result file: ``unsat``, ``unknown``, or ``sat`` and the
        assignment ``((X_0 v) ... (Y_0 v) ...)`` (exact decimals where finite,
        else ``p/q``)."""
        if self.verdict != "violated" or self.counterexample is None:
            return self.result + "\n"
        from .numbers import fraction_str

        parts = [f"(X_{i} {fraction_str(v)})" for i, v in enumerate(self.counterexample)]
        parts += [f"(Y_{j} {fraction_str(v)})" for j, v in enumerate(self.outputs or ())]
        return "sat\n(" + "\n ".join(parts) + ")\n"


def _case_property(case: Any, n_out: int) -> Any:
    """The bab property of a case; ``None`` when a disjunct has no output
    constraint (every point of the box is unsafe)."""
    from .bab import Atom, Clause, Property

    clauses = []
    for k, (C, d) in enumerate(case.disjuncts):
        if not C:
            return None
        sts = case.strict[k] if case.strict else (False,) * len(d)
        # violated iff every atom d_r - C_r y >= 0 (> 0 when all rows are strict)
        atoms = tuple(Atom(tuple(-v for v in row), dr) for row, dr in zip(C, d))
        # the atoms' mean as a hint: where no single atom is negative on a
        # cell, their average may be (e.g. "y_0 is the least output")
        hints = ((tuple(Fraction(1, len(atoms)) for _ in atoms),) if len(atoms) > 1 else ())
        clauses.append(Clause(atoms, bool(sts) and all(sts), f"disjunct {k}", hints))
    return Property(tuple(clauses), n_out, "constraints")


def _slice(net: Network, lo: tuple, hi: tuple) -> tuple:
    """``(net_on_free_coords, lo_free, hi_free, to_x)`` for a box with fixed coordinates."""
    d = len(lo)
    free = [i for i in range(d) if lo[i] < hi[i]]
    if len(free) == d:
        return net, lo, hi, (lambda t: tuple(t))
    x0 = [Fraction(0) if i in free else lo[i] for i in range(d)]

    def to_x(t: Any) -> tuple:
        x = list(x0)
        for k, i in enumerate(free):
            x[i] = Fraction(t[k])
        return tuple(x)

    if not free:
        return None, (), (), to_x
    U = [[1 if i == j else 0 for j in free] for i in range(d)]
    return (net.restrict(x0, U), tuple(lo[i] for i in free), tuple(hi[i] for i in free),
            to_x)


def verify(net: Network, prop: Any, *, time_limit: Optional[float] = None,
           max_cells: Optional[int] = None, options: Any = None, executor: Any = None,
           budget: Any = None, progress: Optional[Callable] = None) -> VerifyResult:
    """Decide a VNN-LIB property of ``net`` exactly (module docstring).

    Parameters
    ----------
    net : Network
    prop : VnnlibProperty or str or path-like
        A parsed property or a ``.vnnlib`` file.
    time_limit : float, optional
        Seconds for the whole run (all cases); ``max_cells`` per case.
    options : optional
        Options of ``polyrelu.bab.decide`` (``polyrelu.bab.BabOptions``).
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
    budget : polyrelu.budget.Budget, optional
        Its deadline and interrupt flag stop every case (a CLI run's Ctrl-C).
    progress : callable, optional
        ``progress(stage, done, total)`` (from ``polyrelu.bab.decide``).

    Returns
    -------
    VerifyResult
    """
    from .bab import decide, find_counterexample, make_problem
    from .io.vnnlib import VnnlibProperty, load_vnnlib

    if not isinstance(net, Network):
        raise NetworkError(f"verify: expected a Network, got {type(net).__name__}")
    if not isinstance(prop, VnnlibProperty):
        prop = load_vnnlib(prop)
    if net.input_dim != prop.n_inputs:
        raise ShapeError(f"{prop.source}: the property declares {prop.n_inputs} inputs "
                         f"X_i, the network has {net.input_dim}")
    if net.output_dim != prop.n_outputs:
        raise ShapeError(f"{prop.source}: the property declares {prop.n_outputs} outputs "
                         f"Y_j, the network has {net.output_dim}")
    t0, c0 = time.time(), time.process_time()
    deadline = None if time_limit is None else t0 + float(time_limit)
    stats: dict = {"cells": 0, "closed": 0, "cases": len(prop.cases)}
    runs: list = []
    verdict, reason, partial = "holds", None, False
    found: Optional[tuple] = None

    def finish(v: str) -> VerifyResult:
        stats["wall"] = time.time() - t0
        stats["cpu"] = time.process_time() - c0
        if found is None:
            return VerifyResult(v, partial=partial, reason=reason, stats=stats,
                                runs=tuple(runs))
        x, y, ci, k = found
        return VerifyResult("violated", x, y, ci, k, False, None, stats, tuple(runs))

    def check(x: tuple, ci: int) -> bool:
        nonlocal found
        y = tuple(net(x))
        case = prop.cases[ci]
        k = case.unsafe(y) if case.contains(x) else None
        if k is None:
            return False
        found = (x, y, ci, k)
        return True

    for ci, case in enumerate(prop.cases):
        sub, lo, hi, to_x = _slice(net, case.lo, case.hi)
        # a point of the box first: a trivial violation needs no search
        mid = tuple((a + b) / 2 for a, b in zip(lo, hi))
        if check(to_x(mid), ci):
            return finish("violated")
        bp = _case_property(case, prop.n_outputs)
        if bp is None or sub is None:
            continue                      # the midpoint was the only question
        remaining = None
        if deadline is not None:
            remaining = deadline - time.time()
            if remaining <= 0:
                verdict, partial, reason = "unknown", True, \
                    f"time limit of {time_limit:g} s reached"
                break
        problem = make_problem(sub, None, bp)
        # a float search first (its point is checked exactly): counterexamples
        # that best-first splitting would meet late (ACAS Xu 1_2, property 2)
        att = find_counterexample(problem, (lo, hi), time_limit=min(
            ATTACK_SECONDS, remaining) if remaining is not None else ATTACK_SECONDS)
        if att.point is not None and check(to_x(att.point), ci):
            return finish("violated")
        if remaining is not None:
            remaining = max(1e-3, deadline - time.time()) if deadline is not None else None
        res = decide(problem, (lo, hi), options=options,
                     limits=budget, time_limit=remaining, max_cells=max_cells,
                     executor=executor,
                     progress=progress)
        runs.append(res)
        stats["cells"] += res.stats.get("cells", 0)
        stats["closed"] += res.stats.get("closed", 0)
        if res.verdict == "violated":
            assert res.counterexample is not None
            if check(to_x(res.counterexample), ci):
                return finish("violated")
            # a counterexample of the non-strict relaxation only
            verdict, partial = "unknown", True
            reason = (f"case {ci}: a point of the non-strict relaxation of a mixed "
                      f"strict/non-strict conjunction; not decided")
        elif res.verdict == "unknown":
            verdict, partial, reason = "unknown", True, f"case {ci}: {res.reason}"
            if (deadline is not None and time.time() >= deadline) or \
                    (budget is not None and getattr(budget, "exhausted", False)):
                break
    return finish(verdict)
