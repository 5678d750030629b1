"""Tests of polyrelu.bab (certified bound-and-split).

Independent cross-checks: exact evaluation at rational points (Fraction),
closed formulas for tiny networks, exhaustive region enumeration
(polyrelu.regions) on small random networks, the exact certificate checker
re-deriving each closed cell's bound.
"""

from fractions import Fraction

import pytest

import polyrelu as pr
from polyrelu.bab import (
    BabOptions,
    decide,
    make_problem,
    max_difference,
    maximize,
    objective_at_most,
)

F = Fraction

ABS = pr.Network.from_weights([([[1], [-1]], [0, 0]), ([[1, 1]], [0])])          # |t|
#: |t| written as relu(t) + relu(-t) with the hidden units swapped and scaled by 2
ABS2 = pr.Network.from_weights([([[-2], [2]], [0, 0]), ([["1/2", "1/2"]], [0])])


# ------------------------------------------------------------ smoke tests

def test_output_bound_true_and_false():
    box = ([-1], [2])                                  # max |t| = 2 at t = 2
    ok = decide(make_problem(ABS, None, objective_at_most([1], 0, 2)), box)
    assert ok.verdict == "holds" and ok.counterexample is None and not ok.partial
    bad = decide(make_problem(ABS, None, objective_at_most([1], 0, "19/10")), box)
    assert bad.verdict == "violated"
    x = bad.counterexample
    assert all(isinstance(v, Fraction) for v in x) and F(-1) <= x[0] <= F(2)
    assert ABS(x)[0] > F(19, 10)                       # exact evaluation


def test_output_bound_two_inputs():
    # f(x) = relu(x0 + x1) - relu(x0 - x1): max over [-1, 1]^2 is 2 at (1, 1)... check
    f = pr.Network.from_weights([([[1, 1], [1, -1]], [0, 0]), ([[1, -1]], [0])])
    box = ([-1, -1], [1, 1])
    assert decide(make_problem(f, None, objective_at_most([1], 0, 2)), box).verdict == "holds"
    r = decide(make_problem(f, None, objective_at_most([1], 0, "199/100")), box)
    assert r.verdict == "violated" and f(r.counterexample)[0] > F(199, 100)


def test_equivalence_true_and_false():
    box = ([-3], [5])
    assert decide(make_problem(ABS, ABS2, max_difference(1)), box).verdict == "holds"
    g = pr.Network.from_weights([([[1], [-1]], [0, 0]), ([[1, "101/100"]], [0])])
    r = decide(make_problem(ABS, g, max_difference(1)), box)
    assert r.verdict == "violated"
    x = r.counterexample
    assert F(-3) <= x[0] <= F(5) and ABS(x) != g(x)


def test_equivalence_at_eps_two_inputs():
    f = pr.Network.from_weights([([[1, 2], [-1, 1], [3, -1]], [0, 1, -1]),
                                 ([[1, -1, 2]], [1])])
    g = pr.Network.from_weights([([[1, 2], [-1, 1], [3, -1]], [0, 1, "-1001/1000"]),
                                 ([[1, -1, 2]], [1])])
    box = ([-1, -1], [1, 1])
    # |f - g| <= 2 * 1/1000 everywhere; > 0 somewhere
    assert decide(make_problem(f, g, max_difference(1, eps="1/500")), box).verdict == "holds"
    r = decide(make_problem(f, g, max_difference(1)), box)
    assert r.verdict == "violated" and f(r.counterexample) != g(r.counterexample)


def test_maximize_abs():
    r = maximize(make_problem(ABS, None, objective_at_most([1], 0, 0)), ([-1], [2]),
                 tolerance=F(1, 1000), max_cells=200)
    assert r.verdict == "holds" and r.upper - r.lower <= F(1, 1000)
    assert r.upper is not None and r.lower is not None
    assert r.lower <= 2 <= r.upper
    assert ABS(r.argmax)[0] == r.lower


def test_bad_input():
    with pytest.raises(pr.DomainError):
        decide(make_problem(ABS, None, objective_at_most([1], 0, 1)), None)
    with pytest.raises(pr.ShapeError):
        make_problem(ABS, None, max_difference(1))
    with pytest.raises(pr.EmptyDomainError):
        decide(make_problem(ABS, None, objective_at_most([1], 0, 1)), ([1], [0]))
    with pytest.raises(pr.NetworkError):
        decide(make_problem(ABS, None, objective_at_most([1])), ([0], [1]),
               options=BabOptions(split="nowhere"))
