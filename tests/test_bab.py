"""Tests of polyrelu.bab (certified bound-and-split).

Independent cross-checks: exact evaluation at rational points (Fraction),
closed formulas for tiny networks, exhaustive region enumeration
(polyrelu.regions) on small random networks, the exact certificate checker
re-deriving each closed cell's bound.
"""

from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polyrelu as pr
from polyrelu.bab import (
    BabOptions,
    Limits,
    check_proof,
    decide,
    difference_network,
    make_problem,
    max_difference,
    maximize,
    objective_at_most,
    top1_agreement,
)
from polyrelu.bab.certificate import check_cell, problem_from_document
from polyrelu.equivalence import _stage3_method
from polyrelu.network import random_network

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


# ------------------------------------------- cross-checks with enumeration



BOX2 = ([-1, -1], [1, 1])


def exact_max(net, box, output=0):
    """max over the box of output ``output`` of ``net``, by enumerating every
    activation region (polyrelu.regions) and the region's vertices."""
    best = None
    for reg in pr.regions(net, pr.Polyhedron.box(*box)):
        M, c = reg.affine_map
        for v in reg.polyhedron.vertices:
            val = sum((a * b for a, b in zip(M[output], v)), c[output])
            best = val if best is None or val > best else best
    return best


def exact_max_difference(f, g, box):
    D = difference_network(f, g, both_signs=True)        # outputs (f - g, g - f)
    return max(exact_max(D, box, k) for k in range(D.output_dim))


def perturbed(net, seed, num=1, den=64):
    """``net`` with one weight moved by ``num/den`` (a pair close enough for twin mode)."""
    import random

    rng = random.Random(seed)
    layers = [([list(r) for r in L.W], list(L.b)) for L in net.layers]
    l = rng.randrange(len(layers))
    W, b = layers[l]
    if rng.random() < 0.3:
        b[rng.randrange(len(b))] += F(num, den)
    else:
        W[rng.randrange(len(W))][rng.randrange(len(W[0]))] += F(num, den)
    return pr.Network.from_weights(layers)


nets = st.builds(lambda w, s: random_network([2] + w + [1], seed=s),
                 st.lists(st.integers(2, 4), min_size=1, max_size=2), st.integers(0, 10 ** 6))
SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(nets, st.integers(0, 10 ** 6))
def test_decide_agrees_with_enumeration(f, seed):
    g = perturbed(f, seed)
    M = exact_max_difference(f, g, BOX2)
    # eps = M holds (tight: only exact leaves decide it), below M is violated
    for eps, want in ((M, "holds"), (M - F(1, 10 ** 6), "violated")):
        if eps < 0:
            continue
        r = decide(make_problem(f, g, max_difference(1, eps=eps)), BOX2, max_cells=20000,
                   time_limit=30)
        assert r.verdict == want, (eps, M, r.stats)
        if want == "violated":
            x = r.counterexample
            assert all(lo <= v <= hi for v, lo, hi in zip(x, *BOX2))
            assert abs(f(x)[0] - g(x)[0]) > eps             # exact evaluation


@SETTINGS
@given(nets, st.integers(0, 10 ** 6))
def test_decide_pair_mode_agrees_with_enumeration(f, seed):
    # different architectures: pair mode (one block-diagonal DAG)
    g = random_network([2, 5, 1], seed=seed)
    M = exact_max_difference(f, g, BOX2)
    prob = make_problem(f, g, max_difference(1, eps=M))
    assert prob.mode == "pair"
    assert decide(prob, BOX2, max_cells=20000).verdict == "holds"
    r = decide(make_problem(f, g, max_difference(1, eps=M - F(1, 1000))), BOX2,
               max_cells=20000)
    assert r.verdict == "violated"
    assert abs(f(r.counterexample)[0] - g(r.counterexample)[0]) > M - F(1, 1000)


@SETTINGS
@given(nets)
def test_maximize_equals_enumerated_maximum(f):
    r = maximize(make_problem(f, None, objective_at_most([1])), BOX2, max_cells=20000)
    M = exact_max(f, BOX2)
    assert r.verdict == "holds" and r.upper == r.lower == M
    assert f(r.argmax)[0] == M                                      # exact evaluation


@SETTINGS
@given(nets, st.integers(0, 10 ** 6))
def test_maximize_difference_equals_enumeration(f, seed):
    g = perturbed(f, seed)
    r = maximize(make_problem(f, g, max_difference(1)), BOX2, max_cells=20000)
    M = exact_max_difference(f, g, BOX2)
    assert r.upper == r.lower == M
    x = r.argmax
    assert abs(f(x)[0] - g(x)[0]) == M


def test_equal_networks_eps_zero_holds():
    f = random_network([2, 4, 3, 1], seed=5)
    r = decide(make_problem(f, f, max_difference(1)), BOX2)
    assert r.verdict == "holds"


def test_top1_agreement():
    f = random_network([2, 4, 3], seed=11)
    assert decide(make_problem(f, f, top1_agreement(3)), BOX2).verdict == "holds"
    # swap two output rows of g: the argmax changes wherever class 0 or 1 wins
    L = [(L.W, L.b) for L in f.layers]
    W, b = L[-1]
    g = pr.Network.from_weights(L[:-1] + [((W[1], W[0], W[2]), (b[1], b[0], b[2]))])
    r = decide(make_problem(f, g, top1_agreement(3)), BOX2)
    assert r.verdict == "violated"
    x = r.counterexample
    yf, yg = f(x), g(x)
    i = max(range(3), key=lambda k: yf[k])
    assert sum(v == yf[i] for v in yf) == 1 and yg[i] < max(yg)   # exact


# ------------------------------------------------------- certificates

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_closed_cell_rederived_exactly(seed):
    f = random_network([2, 4, 4, 1], seed=seed)
    g = perturbed(f, seed)
    M = exact_max_difference(f, g, BOX2)
    eps = M + F(1, 100)
    r = decide(make_problem(f, g, max_difference(1, eps=eps)), BOX2,
               options=BabOptions(proof=True))
    assert r.verdict == "holds"
    doc = r.document()
    assert check_proof(doc)["verdict"] == "holds"
    prob = problem_from_document(doc)
    closed = [c for c in doc["cells"] if c["status"] == "closed"]
    assert closed
    for c in closed:
        cell = dict(c["cell"], **c["certificate"])
        for q, bound in check_cell(prob, cell):
            # each closing bound re-derived exactly: the clause (f - g - eps or
            # g - f - eps) is <= bound <= 0 on the cell
            assert bound is None or bound <= 0


def test_tampered_certificate_is_rejected():
    from polyrelu.bab.certificate import CertificateError

    f = random_network([2, 4, 1], seed=3)
    g = perturbed(f, 3)
    M = exact_max_difference(f, g, BOX2)
    assert M > 0
    eps = M + F(1, 100)
    doc = decide(make_problem(f, g, max_difference(1, eps=eps)), BOX2,
                 options=BabOptions(proof=True)).document()
    check_proof(doc)
    # claim an eps below the true maximum: the same tree cannot prove it
    bad = dict(doc)
    bad["property"] = max_difference(1, eps=M / 2).to_doc()
    with pytest.raises(CertificateError):
        check_proof(bad)


def test_maximize_proof_checks():
    f = random_network([2, 3, 3, 1], seed=4)
    r = maximize(make_problem(f, None, objective_at_most([1])), BOX2,
                 options=BabOptions(proof=True))
    assert r.upper == exact_max(f, BOX2)
    assert check_proof(r.document())["verdict"] == "holds"


# ------------------------------------------------ executors and limits




def _hard_pair():
    f = random_network([2, 6, 6, 1], seed=21)
    g = perturbed(f, 21, num=1, den=16)
    return f, g, exact_max_difference(f, g, BOX2)


def test_executors_give_the_serial_tree():
    f, g, M = _hard_pair()
    opts = BabOptions(proof=True, batch=4)
    prob = make_problem(f, g, max_difference(1, eps=M))
    serial = decide(prob, BOX2, options=opts)
    assert serial.verdict == "holds" and serial.stats["cells"] > 8
    runs = {}
    with ThreadPoolExecutor(2) as ex:
        runs["threads"] = decide(prob, BOX2, options=opts, executor=ex)
    with ProcessPoolExecutor(2) as ex:
        runs["processes"] = decide(prob, BOX2, options=opts, executor=ex)
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        runs["dask"] = decide(prob, BOX2, options=opts, executor=client)
    for name, r in runs.items():
        assert r.verdict == serial.verdict, name
        assert r.structure() == serial.structure(), name
        assert check_proof(r.document())["verdict"] == "holds", name
    # a violated property: the same exact counterexample
    bad = make_problem(f, g, max_difference(1, eps=M - F(1, 10 ** 4)))
    s = decide(bad, BOX2, options=opts)
    with ThreadPoolExecutor(2) as ex:
        t = decide(bad, BOX2, options=opts, executor=ex)
    assert s.verdict == t.verdict == "violated" and s.counterexample == t.counterexample


def test_max_cells_stops_cleanly():
    f, g, M = _hard_pair()
    r = decide(make_problem(f, g, max_difference(1, eps=M)), BOX2, max_cells=3,
               options=BabOptions(batch=1))
    assert r.verdict == "unknown" and r.partial and "max_cells" in r.reason
    assert r.stats["cells"] == 3 and r.open_cells
    m = maximize(make_problem(f, g, max_difference(1)), BOX2, max_cells=3,
                 options=BabOptions(batch=1))
    assert m.partial and m.verdict == "unknown"
    assert m.lower is not None and m.upper is not None and m.lower <= M <= m.upper


def test_time_limit_and_interrupt_stop_cleanly():
    f = random_network([2, 12, 12, 12, 1], seed=8)
    prob = make_problem(f, None, objective_at_most([1]))
    # the exact maximum of this net takes thousands of cells
    r = maximize(prob, BOX2, limits=Limits(time_limit=0.05), options=BabOptions(batch=1))
    assert r.verdict == "unknown" and r.partial and "time limit" in r.reason
    assert r.lower <= r.upper and f(r.argmax)[0] == r.lower
    lim = Limits()
    lim.interrupt()
    r = decide(prob, BOX2, limits=lim)
    assert r.verdict == "unknown" and r.partial and r.reason == "interrupted"
    assert r.stats["cells"] == 0 and len(r.open_cells) == 1


def test_bad_limits():
    with pytest.raises(pr.DomainError):
        Limits(max_cells=0)
    with pytest.raises(pr.DomainError):
        Limits(time_limit=-1)


def test_tight_bound_next_to_a_hyperplane_terminates():
    # regression: input bisection converged on the hyperplane x0 = 3/7 of a
    # unit of f (4 relaxed units, more than FEW_RELAXED) and never split it
    f = random_network([2, 4, 1], seed=0)
    g = perturbed(f, 436682)
    M = exact_max_difference(f, g, BOX2)
    r = decide(make_problem(f, g, max_difference(1, eps=M)), BOX2, max_cells=2000)
    assert r.verdict == "holds" and r.stats["max_depth"] < 30


# ------------------------------------------ equivalence stage 3 dispatch



@SETTINGS
@given(nets, st.integers(0, 10 ** 6))
def test_equivalent_stage3_bab_agrees_with_enumeration(f, seed):
    g = perturbed(f, seed)
    M = exact_max_difference(f, g, BOX2)
    box = pr.Polyhedron.box(*BOX2)
    for eps in (M, M / 2 + F(1, 10 ** 6)):
        a = pr.equivalent(f, g, box, eps=eps, method="bab")
        b = pr.equivalent(f, g, box, eps=eps, method="enumerate")
        assert a.equivalent == b.equivalent == (M <= eps)
        if a.equivalent is False and a.stage == "complete":
            x = a.counterexample
            assert max(abs(u - v) for u, v in zip(f(x), g(x))) > eps


def test_stage3_method_choice():
    f = random_network([2, 4, 1], seed=3)
    g = perturbed(f, 3)
    box = pr.Polyhedron.box(*BOX2)
    assert _stage3_method("auto", box, "exact", F(1, 100), 2, f, g) == "bab"
    assert _stage3_method("auto", box, "exact", F(0), 2, f, g) == "enumerate"
    assert _stage3_method("auto", None, "exact", F(1, 100), 2, f, g) == "enumerate"
    assert _stage3_method("auto", box, "top1", F(0), 2, f, g) == "enumerate"
    far = random_network([2, 4, 1], seed=4)
    assert _stage3_method("auto", box, "exact", F(1, 100), 2, f, far) == "enumerate"
    r = pr.equivalent(f, g, box, eps=F(1, 2))
    assert r.equivalent is True and "bound-and-split" in r.message
    with pytest.raises(pr.NetworkError):
        pr.equivalent(f, g, box, method="nope")
    with pytest.raises(pr.DomainError):
        pr.equivalent(f, g, None, eps=1, method="bab")


def test_equivalent_bab_limits_partial():
    f = random_network([2, 12, 12, 12, 1], seed=8)
    g = perturbed(f, 8, num=1, den=10 ** 6)
    box = pr.Polyhedron.box(*BOX2)
    r = pr.equivalent(f, g, box, eps=F(1, 10 ** 12), method="bab", max_regions=2,
                      samples=0)
    assert r.equivalent in (None, False)
    if r.equivalent is None:
        assert r.partial and r.stage == "complete" and "max_regions" in r.reason
