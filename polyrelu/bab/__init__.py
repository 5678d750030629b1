"""Certified bound-and-split: decide a property of ReLU networks over a box.

The public front of the package (everything else is an implementation module):

* properties over the outputs ``y`` of one network (``y = f(x)``) or two
  (``y = [f(x); g(x)]``): :class:`Property` (a disjunction of
  :class:`Clause`\\ s of :class:`Atom`\\ s) and its constructors
  :func:`max_difference`, :func:`top1_agreement`, :func:`output_constraints`,
  :func:`objective_at_most`;
* :func:`make_problem` -- the network(s) and a property as a
  :class:`BabProblem` (picklable: ships to workers);
* :func:`decide` -- ``"holds"`` (every cell of the split tree closed by a
  certified bound), ``"violated"`` (an exactly checked counterexample) or
  ``"unknown"`` (a limit stopped it; partial, open cells listed);
* :func:`maximize` -- certified ``lower <= max <= upper`` of single-atom
  objectives;
* :func:`find_counterexample` -- optimisation-based search (floats propose,
  exact evaluation decides);
* :class:`BabOptions`, :class:`Limits` and :func:`check_proof` (re-derive a
  proof document's verdict exactly, standard library only).

Floats only propose: every bound that closes a cell is a rigorous (outward
rounded) float bound that the exact verifier ``polyrelu.bab.certificate``
re-derives from the cell's certificate; every counterexample is checked by
exact evaluation.

>>> import polyrelu as pr
>>> from polyrelu.bab import decide, make_problem, objective_at_most
>>> f = pr.Network.from_weights([([[1], [-1]], [0, 0]), ([[1, 1]], [0])])   # |t|
>>> decide(make_problem(f, None, objective_at_most([1], 0, 1)), ([-1], [1])).verdict
'holds'
>>> r = decide(make_problem(f, None, objective_at_most([1], 0, "1/2")), ([-1], [1]))
>>> r.verdict, abs(r.counterexample[0]) > pr.Fraction(1, 2)
('violated', True)
"""

from .attack import AttackResult, find_counterexample
from .driver import BabOptions, BabResult, Cell, decide, maximize
from .limits import Limits
from .objectives import (
                         Atom,
                         Clause,
                         Property,
                         difference_network,
                         max_difference,
                         objective_at_most,
                         output_constraints,
                         parallel_network,
                         top1_agreement,
)
from .problem import BabProblem, make_problem
from .proof import check_proof

__all__ = ["Atom", "Clause", "Property", "max_difference", "top1_agreement",
           "output_constraints", "objective_at_most", "parallel_network",
           "difference_network", "BabProblem", "make_problem", "BabOptions", "BabResult",
           "Cell", "decide", "maximize", "Limits", "AttackResult", "find_counterexample",
           "check_proof"]
