"""Tests of polyrelu.equivalence: certificates, canonical forms, reduction,
counterexamples and the complete region check.

Independent cross-checks: exact evaluation of both networks at random rational
points, torch float64, the SPEC formula checked entry by entry, and region
counts against polyrelu.regions when available.
"""

import json
import os
import random
from fractions import Fraction

import pytest
from _timing import Stopwatch
from hypothesis import given, settings
from hypothesis import strategies as st

from polyrelu.equivalence import (
    Certificate,
    _complete,
    _split_regions,
    canonical_form,
    equivalent,
    find_symmetry,
    reduce,
)
from polyrelu.exceptions import DomainError, EmptyDomainError, NetworkError, ShapeError
from polyrelu.network import Network, random_network
from polyrelu.polyhedron import Polyhedron

SHARED = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

ONNX = os.path.join(SHARED, "data", "onnx")
ACAS = os.path.join(ONNX, "ACASXU_run2a_1_1_batch_2000.onnx")
RETRAIN = os.path.join(ONNX, "ACASXU_run2a_1_1_batch_2000-retrain.onnx")
MIRROR = os.path.join(ONNX, "ACASXU_run2a_1_1_batch_2000-retrain-mirror.onnx")

F = Fraction


# ------------------------------------------------------------------ helpers

def random_certificate(net, rng, powers_of_two=False, skip_ties=True):
    """A random certificate respecting the skip ties of ``net``."""
    from polyrelu.equivalence import _skip_groups

    rep = _skip_groups(net)
    perms, scales = [], []
    for l, w in enumerate(net.hidden_widths, start=1):
        r = rep[l]
        if skip_ties and r != l:
            if r == 0:
                perms.append(tuple(range(w)))
                scales.append((F(1),) * w)
            else:
                perms.append(perms[r - 1])
                scales.append(scales[r - 1])
            continue
        perms.append(tuple(rng.sample(range(w), w)))
        if net.activation == "hard_tanh":
            scales.append((F(1),) * w)
        elif powers_of_two:
            scales.append(tuple(F(2) ** rng.randint(-4, 4) for _ in range(w)))
        else:
            scales.append(tuple(F(rng.randint(1, 9), rng.randint(1, 9)) for _ in range(w)))
    return Certificate(tuple(perms), tuple(scales))


def random_points(d, rng, n=20, lo=-3, hi=3):
    return [tuple(F(rng.randint(lo * 64, hi * 64), 64) for _ in range(d)) for _ in range(n)]


def formula_holds(cert, f, g):
    """The SPEC formula, entry by entry (independent of Certificate.apply)."""
    d0 = f.input_dim
    p = [tuple(range(d0))] + list(cert.permutations)
    s = [(F(1),) * d0] + list(cert.scalings)
    L = f.num_layers
    for l in range(1, L + 1):
        Wf, bf = f.layers[l - 1].W, f.layers[l - 1].b
        Wg, bg = g.layers[l - 1].W, g.layers[l - 1].b
        for i in range(len(Wf)):
            gi = p[l][i] if l < L else i
            si = s[l][i] if l < L else 1
            if bf[i] != si * bg[gi]:
                return False
            for j in range(len(Wf[i])):
                if Wf[i][j] != si * Wg[gi][p[l - 1][j]] / s[l - 1][j]:
                    return False
    return True


def load_acas(path):
    import polyrelu.io as io  # part of the package: a broken import must fail

    if not os.path.exists(path):
        pytest.skip(f"missing {path}")
    return io.load(path)


# ---------------------------------------------------------- certificates

widths_st = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(
    lambda h: [2] + h + [2])


@settings(max_examples=15, deadline=None)
@given(widths=widths_st, seed=st.integers(0, 10 ** 6))
def test_permuted_rescaled_copy_is_found(widths, seed):
    rng = random.Random(seed)
    g = random_network(widths, seed=seed)
    cert = random_certificate(g, rng)
    f = cert.apply(g)
    # independent: the formula entry by entry, and exact evaluation
    assert formula_holds(cert, f, g)
    for x in random_points(2, rng, 5):
        assert f(x) == g(x)
    found = find_symmetry(f, g)
    assert found is not None
    assert found.verify(f, g) and formula_holds(found, f, g)
    assert canonical_form(f) == canonical_form(g)
    res = equivalent(f, g)
    assert res.equivalent is True and res.stage == "symmetry"
    assert res.certificate.verify(f, g)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10 ** 6))
def test_found_certificate_is_the_generating_one(seed):
    # wide random layers almost never have twins: the symmetry is unique
    rng = random.Random(seed)
    g = random_network([3, 5, 4, 2], seed=seed, denominator=97, scale=1000)
    cert = random_certificate(g, rng)
    f = cert.apply(g)
    assert find_symmetry(f, g) == cert


def test_canonical_form_preserves_the_function():
    rng = random.Random(3)
    for seed in range(5):
        net = random_network([3, 4, 3, 2], seed=seed)
        c = canonical_form(net)
        assert c.architecture == net.architecture
        for x in random_points(3, rng, 10):
            assert c(x) == net(x)
        # normalised rows: first nonzero entry of (w, b) has |.| = 1
        for layer in c.layers[:-1]:
            for row, b in zip(layer.W, layer.b):
                lead = next((v for v in row + (b,) if v), None)
                assert lead is None or abs(lead) == 1
        assert canonical_form(c) == c


def test_tampered_certificate_is_rejected():
    g = random_network([2, 3, 3, 1], seed=5)
    cert = random_certificate(g, random.Random(5))
    f = cert.apply(g)
    assert cert.verify(f, g)
    s = [list(x) for x in cert.scalings]
    s[1][0] *= 2
    assert not Certificate(cert.permutations, tuple(map(tuple, s))).verify(f, g)
    p = [list(x) for x in cert.permutations]
    p[0][0], p[0][1] = p[0][1], p[0][0]
    assert not Certificate(tuple(map(tuple, p)), cert.scalings).verify(f, g)
    # a weight of f changed: the certificate no longer matches
    W = [list(r) for r in f.layers[1].W]
    W[0][0] += F(1, 10 ** 12)
    f2 = Network.from_weights([(f.layers[0].W, f.layers[0].b), (W, f.layers[1].b),
                               (f.layers[2].W, f.layers[2].b)])
    assert not cert.verify(f2, g)
    with pytest.raises(NetworkError):
        Certificate(((0, 0, 1), (0, 1, 2)), ((1, 1, 1), (1, 1, 1)))
    with pytest.raises(NetworkError):
        Certificate(((0,),), ((F(-1),),))
    with pytest.raises(NetworkError):
        Certificate(((0,),), ((1,),)).apply(g)  # wrong number of layers


def test_certificate_matrices_reproduce_the_weights():
    from polyrelu.linalg import matmul, transpose

    g = random_network([2, 3, 2], seed=2)
    cert = random_certificate(g, random.Random(2))
    f = cert.apply(g)
    P, = cert.permutation_matrices()
    M, = cert.scaling_matrices()
    assert matmul(matmul(M, P), g.layers[0].W) == f.layers[0].W
    Minv = tuple(tuple(1 / v if v else v for v in row) for row in M)
    assert matmul(g.layers[1].W, matmul(transpose(P), Minv)) == f.layers[1].W


# ---------------------------------------------------------- not equivalent

def test_tiny_weight_change_is_found():
    rng = random.Random(0)
    for seed in range(4):
        g = random_network([2, 4, 3, 2], seed=seed)
        layers = [(list(map(list, L.W)), list(L.b)) for L in g.layers]
        layers[1][0][rng.randrange(3)][rng.randrange(4)] += F(1, 10 ** 12)
        f = Network.from_weights(layers)
        res = equivalent(f, g, domain=Polyhedron.box([-2, -2], [2, 2]))
        # for these seeds the changed weight matters on the box (seed 0 only
        # on a small part of it: stage 3); the counterexample is re-checked here
        assert res.equivalent is False
        x = res.counterexample
        assert all(-2 <= v <= 2 for v in x)
        assert f(x) != g(x)
        assert res.outputs == (f(x), g(x))
        assert res.difference == tuple(a - b for a, b in zip(f(x), g(x)))


def test_weight_change_on_acas_size_first_layer():
    g = random_network([5, 20, 20, 5], seed=11, denominator=1024, scale=1024)
    layers = [(list(map(list, L.W)), list(L.b)) for L in g.layers]
    layers[0][0][0][3] += F(1, 10 ** 12)
    f = Network.from_weights(layers)
    res = equivalent(f, g)
    assert res.equivalent is False and res.stage == "counterexample-search"
    x = res.counterexample
    assert f(x) != g(x)


# ------------------------------------------------ same function, other form

def split_unit(net, l, i):
    """Unit i of hidden layer l split in two halves (relu(z) a/2 + relu(z) a/2)."""
    layers = [(list(map(list, L.W)), list(L.b)) for L in net.layers]
    W, b = layers[l - 1]
    W.append(list(W[i]))
    b.append(b[i])
    Wn = layers[l][0]
    for row in Wn:
        row[i] = row[i] / 2
        row.append(row[i])
    return Network.from_weights(layers, activation=net.activation, alpha=net.alpha or None)


def add_unit(net, l, w, bias, out):
    layers = [(list(map(list, L.W)), list(L.b)) for L in net.layers]
    layers[l - 1][0].insert(0, list(w))
    layers[l - 1][1].insert(0, bias)
    for row, o in zip(layers[l][0], out):
        row.insert(0, o)
    return Network.from_weights(layers, activation=net.activation, alpha=net.alpha or None)


def test_split_unit_is_merged_back():
    g = random_network([2, 3, 3, 1], seed=8, denominator=16, scale=16)
    f = split_unit(g, 1, 1)
    assert f.architecture == "2-4-3-1"
    rng = random.Random(1)
    for x in random_points(2, rng, 10):
        assert f(x) == g(x)
    red, rep = reduce(f)
    assert [a.kind for a in rep.actions] == ["twin"]
    assert rep.actions[0].layer == 1 and rep.actions[0].into == 1
    res = equivalent(f, g)
    assert res.equivalent is True and res.stage == "symmetry"
    assert res.certificate_for == "reduced"
    assert res.certificate.verify(*res.reduced)


def test_scaled_twin_is_merged():
    # relu(2z) * a = 2 a relu(z): positively proportional rows
    net = Network.from_weights([([[1, -1], [2, -2]], [1, 2]), ([[3, 5]], [0])])
    red, rep = reduce(net)
    assert red.architecture == "2-1-1"
    assert rep.actions[0].ratio == 2
    for x in random_points(2, random.Random(0)):
        assert red(x) == net(x)


def test_dead_unit_on_the_domain():
    g = random_network([2, 3, 2], seed=4)
    # x1 + x2 - 5 <= 0 on [-2, 2]^2: dead there, alive elsewhere
    f = add_unit(g, 1, [1, 1], -5, [7, -3])
    box = Polyhedron.box([-2, -2], [2, 2])
    red, rep = reduce(f, box)
    assert red.architecture == reduce(g, box)[0].architecture
    assert rep.actions[0].kind == "dead" and 0 in rep.actions[0].units
    assert reduce(f)[0] is f            # on R^d the unit is alive
    res = equivalent(f, g, domain=box)
    assert res.equivalent is True and res.stage == "symmetry"
    res = equivalent(f, g)              # on R^d they differ at (3, 3)
    assert res.equivalent is False
    x = res.counterexample
    assert x[0] + x[1] > 5 and f(x) != g(x)


def test_reduce_on_polyhedral_domain_uses_exact_lp():
    g = random_network([2, 3, 1], seed=6)
    f = add_unit(g, 1, [1, 1], "-1", [5])
    tri = Polyhedron.from_inequalities([[1, 1], [-1, 0], [0, -1]], [1, 0, 0])
    # on the triangle x + y <= 1 the unit is dead; its bounding box [0,1]^2 is not enough
    red, rep = reduce(f, tri)
    assert rep.actions and rep.actions[0].kind == "dead"
    assert equivalent(f, g, domain=tri).equivalent is True


def test_constant_and_zero_outgoing_units():
    g = random_network([2, 3, 2], seed=9)
    f = add_unit(g, 1, [0, 0], 3, [1, 2])        # constant relu(3) = 3
    f = add_unit(f, 1, [1, 2], 1, [0, 0])        # never reaches the output
    red, rep = reduce(f)
    kinds = sorted(a.kind for a in rep.actions)
    assert kinds == ["constant", "zero-outgoing"]
    for x in random_points(2, random.Random(2)):
        assert red(x) == f(x) == tuple(v + c for v, c in zip(g(x), (3, 6)))


def test_linear_layer_is_folded_on_a_box():
    # every first-layer unit is active on [0, 1]^2 -> composed into layer 2
    net = Network.from_weights([([[1, 2], [-1, 1], [3, -1]], [1, 2, 2]),
                                ([[1, -1, 2], [2, 1, -1]], [0, -3]),
                                ([[1, 1]], [0])])
    box = Polyhedron.box([0, 0], [1, 1])
    red, rep = reduce(net, box)
    assert "linear-layer" in [a.kind for a in rep.actions]
    assert red.num_layers < net.num_layers
    for x in random_points(2, random.Random(3), 20, 0, 1):
        assert red(x) == net(x)


def test_all_dead_layer_gives_constant_network():
    net = Network.from_weights([([[1, 0], [0, 1]], [-10, -10]), ([[1, 1]], [4])])
    box = Polyhedron.box([0, 0], [1, 1])
    red, _ = reduce(net, box)
    assert red.num_layers == 1 and red([0, 0]) == (4,)


def test_same_function_not_by_symmetry_decided_by_stage3():
    # x = relu(x) - relu(-x) = relu(x + 1) - relu(-x - 1) - 1, plus relu(x - 5)
    # in both (alone, the identity pairs are composed away by the reduction
    # passes and the pair is decided by symmetry)
    f = Network.from_weights([([[1], [-1], [1]], [0, 0, -5]), ([[1, -1, 1]], [0])])
    g = Network.from_weights([([[1], [-1], [1]], [1, -1, -5]), ([[1, -1, 1]], [-1])])
    assert find_symmetry(f, g) is None
    res = equivalent(f, g)
    assert res.equivalent is True and res.stage == "complete"
    assert res.regions_checked >= 3
    # the same with a different depth: x = relu(relu(x) - relu(-x)) - relu(...),
    # relu(x - 5) = relu(relu(x - 5))
    h = Network.from_weights([([[1], [-1], [1]], [0, 0, -5]),
                              ([[1, -1, 0], [-1, 1, 0], [0, 0, 1]], [0, 0, 0]),
                              ([[1, -1, 1]], [0])])
    res = equivalent(f, h, domain=Polyhedron.box([-10], [10]))
    assert res.equivalent is True and res.stage == "complete"


def test_stage3_finds_what_stage2_was_not_asked_to():
    # g differs from f only for x > 10 (a unit that switches on late)
    f = Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])])
    g = add_unit(f, 1, [1, 0], -10, [1])
    box = Polyhedron.box([-20, -20], [20, 20])
    x, cells, partial, _ = _complete(f, g, box, "exact", F(0), None, float("inf"), 2)
    assert x is not None and not partial
    assert f(x) != g(x) and x[0] > 10
    res = equivalent(f, g, domain=Polyhedron.box([-9, -9], [9, 9]))
    assert res.equivalent is True


def test_limits_give_partial_undecided():
    f = Network.from_weights([([[1], [-1], [1]], [0, 0, -5]), ([[1, -1, 1]], [0])])
    g = Network.from_weights([([[1], [-1], [1]], [1, -1, -5]), ([[1, -1, 1]], [-1])])
    res = equivalent(f, g, max_regions=1)
    assert res.equivalent is None and res.partial and res.stage == "complete"


def test_split_regions_matches_polyrelu_regions():
    from polyrelu.regions import regions as enumerate_regions

    box = Polyhedron.box([-2, -2], [2, 2])
    for seed in range(3):
        net = random_network([2, 4, 3, 1], seed=seed)
        mine = list(_split_regions(net, box))
        theirs = list(enumerate_regions(net, box))
        assert len(mine) == len(theirs)
        assert sum(P.volume() for P, _ in mine) == box.volume()


def test_split_regions_cover_the_box():
    box = Polyhedron.box([-2, -2], [2, 2])
    net = random_network([2, 4, 3, 1], seed=1)
    cells = list(_split_regions(net, box))
    assert sum(P.volume() for P, _ in cells) == box.volume()
    for P, (M, c) in cells:
        x = P.interior_point()
        assert net(x) == tuple(sum(a * v for a, v in zip(r, x)) + ci
                               for r, ci in zip(M, c))


# ------------------------------------------------------------- eps, top1

def shifted(net, shift):
    layers = [(L.W, L.b) for L in net.layers]
    W, b = layers[-1]
    layers[-1] = (W, [v + s for v, s in zip(b, shift)])
    return Network.from_weights(layers, skips=net.skip_map, activation=net.activation,
                                alpha=net.alpha or None)


def test_eps_tolerance():
    g = random_network([2, 3, 2], seed=3)
    f = shifted(g, [F(1, 100), F(-1, 200)])
    box = Polyhedron.box([-1, -1], [1, 1])
    res = equivalent(f, g, box, eps=F(1, 100))
    assert res.equivalent is True and res.stage == "complete"
    res = equivalent(f, g, box, eps=F(1, 101))
    assert res.equivalent is False
    x = res.counterexample
    assert max(abs(a - b) for a, b in zip(f(x), g(x))) > F(1, 101)
    assert equivalent(f, g, box).equivalent is False


def test_eps_unbounded_difference_on_rd():
    f = Network.from_weights([([[1]], [0]), ([[1]], [0])])
    g = Network.from_weights([([[1]], [0]), ([["1001/1000"]], [0])])
    cells = list(_split_regions(f, Polyhedron.whole_space(1)))
    assert len(cells) == 2
    x, _, _, _ = _complete(f, g, None, "exact", F(5), None, float("inf"), 1)
    assert x is not None and abs(f(x)[0] - g(x)[0]) > 5
    assert equivalent(f, g, Polyhedron.box([-10], [10]), eps=F(1, 50)).equivalent


def test_top1():
    g = random_network([2, 4, 3], seed=12)
    layers = [(L.W, L.b) for L in g.layers]
    W, b = layers[-1]
    f = Network.from_weights(layers[:-1] + [([[3 * v for v in r] for r in W],
                                             [3 * v + 1 for v in b])])
    box = Polyhedron.box([-2, -2], [2, 2])
    assert equivalent(f, g, box).equivalent is False
    res = equivalent(f, g, box, mode="top1")
    assert res.equivalent is True and res.stage == "complete"
    h = Network.from_weights(layers[:-1] + [([W[1], W[0], W[2]], [b[1], b[0], b[2]])])
    res = equivalent(h, g, box, mode="top1")
    assert res.equivalent is False
    fx, gx = res.outputs
    assert fx.index(max(fx)) != gx.index(max(gx))
    assert fx.count(max(fx)) == 1 and gx.count(max(gx)) == 1


def test_top1_stage3_counterexample():
    # classes swap only for x > 3
    f = Network.from_weights([([[1]], [0]), ([[0], [0]], [1, 0])])
    g = Network.from_weights([([[1]], [-3]), ([[0], [1]], [1, 0])])
    x, _, _, _ = _complete(f, g, Polyhedron.box([-5], [5]), "top1", F(0), None,
                           float("inf"), 1)
    assert x is not None and x[0] > 4
    assert equivalent(f, g, Polyhedron.box([-5], [3]), mode="top1").equivalent is True


# -------------------------------------------------- skips and activations

@pytest.mark.parametrize("widths,skips", [([2, 2, 3, 1], {2: [0]}),
                                          ([2, 3, 2, 3, 1], {4: [1]}),
                                          ([2, 3, 3, 3, 2], {3: [1], 4: [0]})])
def test_skip_networks(widths, skips):
    if skips == {3: [1], 4: [0]}:
        widths = [3, 3, 3, 3, 2]
    rng = random.Random(7)
    g = random_network(widths, seed=7, skips=skips)
    cert = random_certificate(g, rng)
    f = cert.apply(g)
    for x in random_points(g.input_dim, rng, 10):
        assert f(x) == g(x)   # the tied permutation preserves the function
    found = find_symmetry(f, g)
    assert found is not None and found.verify(f, g) and formula_holds(found, f, g)
    assert equivalent(f, g).stage == "symmetry"
    # a certificate that breaks the skip tie is refused
    bad = random_certificate(g, random.Random(99), skip_ties=False)
    if bad.permutations != cert.permutations:
        assert not bad.verify(f, g)
    # always: swapping two units of a skip-tied layer alone breaks the tie
    rep = __import__("polyrelu.equivalence", fromlist=["_skip_groups"])._skip_groups(g)
    l = next(l for l in range(1, g.num_layers) if rep[l] != l or rep.count(l) > 1)
    perms = [list(p) for p in cert.permutations]
    perms[l - 1][0], perms[l - 1][1] = perms[l - 1][1], perms[l - 1][0]
    broken = Certificate(tuple(map(tuple, perms)), cert.scalings)
    assert not broken.verify(f, g)
    with pytest.raises(NetworkError):
        broken.apply(g)


def test_skip_network_changed_weight():
    g = random_network([2, 2, 3, 1], seed=1, skips={2: [0]})
    layers = [(list(map(list, L.W)), list(L.b)) for L in g.layers]
    layers[1][0][0][1] += F(1, 10 ** 12)
    f = Network.from_weights(layers, skips={2: [0]})
    res = equivalent(f, g)
    assert res.equivalent is False and f(res.counterexample) != g(res.counterexample)


def test_skip_network_stage3():
    # same function with and without a skip: relu(x) + x vs relu(x) + relu(x) - relu(-x)
    f = Network.from_weights([([[1]], [0]), ([[1]], [0])], skips={2: [0]})
    g = Network.from_weights([([[1], [-1]], [0, 0]), ([[2, -1]], [0])])
    for x in ([-3], [0], [2]):
        assert f(x)[0] == g(x)[0]
    res = equivalent(f, g, Polyhedron.box([-4], [4]))
    assert res.equivalent is True and res.stage == "complete"


def test_leaky_relu_scaling():
    g = random_network([2, 3, 2], seed=2, activation="leaky_relu", alpha=F(1, 10))
    cert = random_certificate(g, random.Random(2))
    f = cert.apply(g)
    assert find_symmetry(f, g).verify(f, g)


def test_hard_tanh_only_permutations():
    g = random_network([2, 3, 2], seed=2, activation="hard_tanh")
    cert = random_certificate(g, random.Random(2))
    f = cert.apply(g)
    assert all(v == 1 for s in cert.scalings for v in s)
    assert find_symmetry(f, g).verify(f, g)
    scaled = Certificate(cert.permutations, ((F(2), F(1), F(1)),))
    with pytest.raises(NetworkError):
        scaled.apply(g)
    # a scaled copy is a different function for hard tanh
    layers = [(list(map(list, L.W)), list(L.b)) for L in g.layers]
    layers[0] = ([[2 * v for v in r] for r in layers[0][0]], [2 * v for v in layers[0][1]])
    layers[1] = ([[v / 2 for v in r] for r in layers[1][0]], layers[1][1])
    h = Network.from_weights(layers, activation="hard_tanh")
    assert find_symmetry(h, g) is None
    res = equivalent(h, g)
    assert res.equivalent is False and h(res.counterexample) != g(res.counterexample)


def test_hard_tanh_saturated_unit_folds():
    g = random_network([2, 2, 1], seed=3, activation="hard_tanh")
    f = add_unit(g, 1, [1, 1], 10, [3])      # hard tanh saturated at 1 on the box
    box = Polyhedron.box([-1, -1], [1, 1])
    red, rep = reduce(f, box)
    assert rep.actions[0].kind == "constant"
    res = equivalent(f, shifted(g, [3]), box)
    assert res.equivalent is True


# --------------------------------------------------------------- errors

def test_bad_input():
    f = random_network([2, 3, 1], seed=1)
    with pytest.raises(ShapeError):
        equivalent(f, random_network([3, 3, 1], seed=1))
    with pytest.raises(ShapeError):
        equivalent(f, random_network([2, 3, 2], seed=1))
    with pytest.raises(DomainError):
        equivalent(f, f, domain=Polyhedron.box([0, 0, 0], [1, 1, 1]))
    with pytest.raises(EmptyDomainError):
        equivalent(f, f, domain=Polyhedron.from_inequalities([[1, 0], [-1, 0]], [0, -1]))
    with pytest.raises(EmptyDomainError):
        equivalent(f, f, domain=Polyhedron.box([0, 0], [1, 0]))
    with pytest.raises(NetworkError):
        equivalent(f, f, mode="top5")
    with pytest.raises(NetworkError):
        equivalent(f, f, eps=-1)
    with pytest.raises(DomainError):
        equivalent(f, f, domain="box")
    assert find_symmetry(f, random_network([2, 4, 1], seed=1)) is None


def test_box_pair_domain_and_json():
    f = random_network([2, 3, 1], seed=1)
    g = shifted(f, [1])
    res = equivalent(f, g, domain=([0, 0], [1, 1]))
    doc = res.as_dict()
    json.dumps(doc)
    assert doc["verdict"] == "not equivalent"
    x = tuple(F(v) for v in doc["counterexample"])
    assert f(x)[0] - g(x)[0] == -1


# --------------------------------------------------------------- ACAS Xu

def test_acas_permuted_scaled_copy():
    A = load_acas(ACAS)
    cert = random_certificate(A, random.Random(2026), powers_of_two=True)
    B = cert.apply(A)
    res = equivalent(B, A)
    assert res.equivalent is True and res.stage == "symmetry"
    assert res.certificate == cert and formula_holds(res.certificate, B, A)
    x = (F(1, 3), F(-1, 7), F(1, 2), F(0), F(-1, 5))
    assert A(x) == B(x)


def test_acas_retrain_files():
    A = load_acas(ACAS)
    R = load_acas(RETRAIN)
    # the "-retrain" file in the shared data is byte-identical to the original:
    # it IS equivalent (by symmetry, the identity); "-retrain-mirror" is the
    # pair that is not equivalent
    with open(ACAS, "rb") as fa, open(RETRAIN, "rb") as fr:
        assert fa.read() == fr.read()
    res = equivalent(A, R)
    assert res.equivalent is True and res.stage == "symmetry"
    assert res.certificate_for == "original" and res.certificate.is_identity
    assert res.certificate.verify(A, R) and formula_holds(res.certificate, A, R)
    M = load_acas(MIRROR)
    box = Polyhedron.box([-1] * 5, [1] * 5)
    res = equivalent(A, M, domain=box)
    assert res.equivalent is False and res.stage == "counterexample-search"
    x = res.counterexample
    assert box.contains(x)
    assert A(x) != M(x) and res.outputs == (A(x), M(x))


@pytest.mark.slow
def test_acas_counterexample_agrees_with_torch():
    A = load_acas(ACAS)
    M = load_acas(MIRROR)
    res = equivalent(A, M, domain=Polyhedron.box([-1] * 5, [1] * 5))
    x = res.counterexample
    import torch

    xt = torch.tensor([[float(v) for v in x]], dtype=torch.float64)
    with torch.no_grad():
        ya = A.to_torch()(xt)[0].tolist()
    assert max(abs(a - float(b)) for a, b in zip(ya, res.outputs[0])) < 1e-6


# ----------------------------------------------------------------- CLI

@pytest.mark.slow
def test_cli_exit_codes(tmp_path, capsys):
    from polyrelu.cli import main

    g = random_network([2, 3, 1], seed=1)
    cert = random_certificate(g, random.Random(1))
    f = cert.apply(g)
    h = shifted(g, [F(1, 1000)])
    paths = {}
    for name, net in (("f", f), ("g", g), ("h", h)):
        paths[name] = str(tmp_path / f"{name}.json")
        net.save(paths[name])
    assert main(["equiv", paths["f"], paths["g"]]) == 0
    out = capsys.readouterr().out
    assert "equivalent" in out and "permutation" in out
    assert main(["equiv", paths["h"], paths["g"], "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    x = tuple(F(v) for v in doc["counterexample"])
    assert h(x) != g(x)
    assert main(["equiv", paths["h"], paths["g"], "--eps", "1/1000",
                 "--box=-1,1"]) == 0
    capsys.readouterr()
    assert main(["equiv", paths["h"], paths["g"], "--box=-1,1,2"]) == 2
    assert main(["equiv", paths["h"], str(tmp_path / "missing.json")]) == 2
    f2 = Network.from_weights([([[1], [-1], [1]], [0, 0, -5]), ([[1, -1, 1]], [0])])
    g2 = Network.from_weights([([[1], [-1], [1]], [1, -1, -5]), ([[1, -1, 1]], [-1])])
    f2.save(str(tmp_path / "f2.json"))
    g2.save(str(tmp_path / "g2.json"))
    assert main(["equiv", str(tmp_path / "f2.json"), str(tmp_path / "g2.json"),
                 "--max-regions", "1"]) == 3


# ------------------------------------------- more cross-checks (reduce, stage 3)

@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10 ** 6), r=st.integers(1, 4))
def test_reduce_preserves_the_function_on_the_box(seed, r):
    rng = random.Random(seed)
    g = random_network([2, 4, 3, 2], seed=seed, denominator=4, scale=6)
    f = add_unit(g, 1, [rng.randint(-2, 2), rng.randint(-2, 2)], rng.randint(-12, 2),
                 [rng.randint(-3, 3) for _ in range(4)])
    f = split_unit(f, 2, rng.randrange(3))
    box = Polyhedron.box([-r, -r], [r, r])
    red, rep = reduce(f, box)
    # the split unit (twins) is merged, or removed with its twin, or folded
    assert sum(red.hidden_widths) < sum(f.hidden_widths)
    for x in random_points(2, rng, 15, -r, r):
        assert red(x) == f(x)
    res = equivalent(f, red, box)
    assert res.equivalent is True


@pytest.fixture(params=["regions", "fallback"])
def enumerator(request, monkeypatch):
    """Run stage 3 with polyrelu.regions and with the private splitter."""
    import polyrelu.equivalence as eq

    if request.param == "regions":
        from polyrelu.regions import regions  # noqa: F401  (must import: no silent skip)
    else:
        monkeypatch.setattr(eq, "_regions_of", lambda net, dom, tl: (
            _split_regions(net, dom), lambda: False))
    return request.param


def test_stage3_with_both_enumerators(enumerator):
    f = Network.from_weights([([[1], [-1], [1]], [0, 0, -5]), ([[1, -1, 1]], [0])])
    g = Network.from_weights([([[1], [-1], [1]], [1, -1, -5]), ([[1, -1, 1]], [-1])])
    res = equivalent(f, g)
    assert res.equivalent is True and res.stage == "complete"
    assert res.regions_checked == 4        # cuts at -1, 0 (and 1 - 1 = 0), 5: 4 cells
    g2 = random_network([2, 3, 2], seed=1)
    f2 = shifted(g2, [F(1, 100), 0])
    box = Polyhedron.box([-1, -1], [1, 1])
    assert equivalent(f2, g2, box, eps=F(1, 100)).equivalent is True
    x, _, _, _ = _complete(f2, g2, box, "exact", F(1, 200), None, float("inf"), 2)
    assert x is not None and abs(f2(x)[0] - g2(x)[0]) > F(1, 200)


def test_canonical_form_with_skips_is_a_normal_form():
    g = random_network([2, 3, 3, 3, 1], seed=4, skips={4: [1]})
    c = canonical_form(g)
    assert c.skips == g.skips
    for x in random_points(2, random.Random(4)):
        assert c(x) == g(x)
    for s in range(3):
        f = random_certificate(g, random.Random(s)).apply(g)
        assert canonical_form(f) == c


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10 ** 6), layer=st.integers(1, 2))
def test_symmetry_of_networks_with_twin_units(seed, layer):
    # twins (a split unit) are interchangeable in their own layer; the canonical
    # form orders them by their outgoing columns
    rng = random.Random(seed)
    g = split_unit(random_network([3, 4, 4, 2], seed=seed, denominator=97, scale=500),
                   layer, rng.randrange(4))
    g = split_unit(g, layer, 0)               # a twin group of 2 or 3 units
    from polyrelu.equivalence import _canonical

    assert _canonical(g)[3] is False          # every twin group was ordered
    cert = random_certificate(g, rng)
    f = cert.apply(g)
    found = find_symmetry(f, g)
    assert found is not None and found.verify(f, g) and formula_holds(found, f, g)
    assert canonical_form(f) == canonical_form(g)


def test_top1_with_identically_tied_classes():
    # f ties classes 0 and 1 everywhere; g picks class 0 on x < 0 and ties elsewhere
    f = Network.from_weights([([[1]], [0]), ([[0], [0]], [0, 0])])
    g = Network.from_weights([([[-1]], [0]), ([[1], [0]], [0, 0])])
    same = Network.from_weights([([[1]], [0]), ([[2], [2]], [1, 1])])
    assert equivalent(f, same, Polyhedron.box([-1], [1]), mode="top1").equivalent is True
    res = equivalent(f, g, Polyhedron.box([-1], [1]), mode="top1")
    assert res.equivalent is False and res.stage == "complete"
    x = res.counterexample
    assert x[0] < 0 and g(x)[0] > g(x)[1] and f(x)[0] == f(x)[1]


def test_hard_tanh_equals_relu_network(enumerator):
    # htanh(x) = relu(x + 1) - relu(x - 1) - 1: different activations, same function
    f = Network.from_weights([([[1]], [0]), ([[1]], [0])], activation="hard_tanh")
    g = Network.from_weights([([[1], [1]], [1, -1]), ([[1, -1]], [-1])])
    for x in ([-3], [F(-1, 2)], [2]):
        assert f(x) == g(x)
    res = equivalent(f, g)
    assert res.equivalent is True and res.stage == "complete" and res.regions_checked == 3
    h = Network.from_weights([([[1], [1]], [1, -1]), ([[1, -1]], [F(-99, 100)])])
    assert equivalent(f, h, eps=F(1, 100)).equivalent is True
    assert equivalent(f, h).equivalent is False


# ------------------------------------- adversarial review: reduce must be exact

def _perturbed(net, rng, skips=None):
    """``net`` with some units made dead, constant or zero-outgoing on small boxes."""
    layers = [(list(map(list, L.W)), list(L.b)) for L in net.layers]
    for l in range(len(layers) - 1):
        W, b = layers[l]
        for i in range(len(b)):
            r = rng.random()
            if r < 0.25:
                b[i] = F(-rng.randint(3, 9))              # dead on a small box
            elif r < 0.35:
                W[i] = [F(0)] * len(W[i])                 # constant unit
                b[i] = F(rng.randint(-2, 2))
            elif r < 0.45:
                for row in layers[l + 1][0]:               # zero outgoing
                    row[i] = F(0)
            elif r < 0.55:
                b[i] = F(rng.randint(3, 9))               # always active on the box
            elif r < 0.7 and i > 0:                        # twin of unit i - 1
                c = F(1) if net.activation == "hard_tanh" else F(rng.randint(1, 5), 2)
                W[i] = [c * v for v in W[i - 1]]
                b[i] = c * b[i - 1]
    return Network.from_weights(layers, skips=skips, activation=net.activation,
                                alpha=net.alpha or None)


SKIP_CASES = [([2, 2, 2, 1], {2: [0]}), ([2, 3, 3, 3, 1], {4: [1]}),
              ([2, 2, 3, 2, 1], {4: [0]}), ([2, 2, 2, 2, 1], {3: [0], 4: [2]}),
              ([2, 3, 2, 1], None), ([2, 3, 3, 2, 2], None)]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10 ** 6), case=st.integers(0, len(SKIP_CASES) - 1),
       act=st.sampled_from(["relu", "leaky_relu", "hard_tanh"]), r=st.integers(0, 3),
       tri=st.booleans())
def test_reduce_is_exact_with_skips_and_activations(seed, case, act, r, tri):
    # independent check: exact evaluation of both networks at many rational
    # points of the domain (corners, grid, random)
    rng = random.Random(seed)
    widths, skips = SKIP_CASES[case]
    g = random_network(widths, seed=seed, skips=skips, activation=act,
                       alpha=F(1, 5) if act == "leaky_relu" else None)
    f = _perturbed(g, rng, skips)
    if r == 0:
        dom, r = None, 20                                  # all of R^2
    elif tri:
        dom = Polyhedron.from_inequalities([[1, 1], [-1, 0], [0, -1]], [r, r, r])
    else:
        dom = Polyhedron.box([-r, -r], [r, r])
    red, rep = reduce(f, dom)
    pts = [p for p in random_points(2, rng, 40, -r, r) if dom is None or dom.contains(p)]
    pts += [(F(a), F(b)) for a in range(-r, r + 1) for b in range(-r, r + 1)
            if dom is None or dom.contains((a, b))]
    for x in pts:
        assert red(x) == f(x), (str(rep), x)


def test_reduce_skip_target_bounds_include_the_skip():
    # z2 = (nu1 + x) - 1/2 with nu1 = relu(-x) = 0 on [0, 1]: z2 = x - 1/2 is NOT dead
    f = Network.from_weights([([[-1]], [0]), ([[1]], ["-1/2"]), ([[1]], [0])],
                             skips={2: [0]})
    box = Polyhedron.box([0], [1])
    red, rep = reduce(f, box)
    for x in ([0], [F(3, 4)], [1]):
        assert red(x) == f(x)
    g = Network.from_weights([([[1]], [0]), ([[0]], [0])])   # the zero function
    res = equivalent(f, g, box)
    assert res.equivalent is False and f(res.counterexample) != g(res.counterexample)


def test_reduce_dead_layer_bypassed_by_a_skip_is_not_constant():
    # layer 1 is dead on [0, 1], but the input reaches layer 3 through the skip
    f = Network.from_weights([([[1]], [-10]), ([[1]], [0]), ([[1]], [0])], skips={3: [0]})
    box = Polyhedron.box([0], [1])
    red, _ = reduce(f, box)
    for x in ([0], [F(1, 2)], [1]):
        assert red(x) == f(x) == (F(x[0]),)
    # the same with zero outgoing weights of layer 1
    h = Network.from_weights([([[1]], [0]), ([[0]], [0]), ([[1]], [0])], skips={3: [0]})
    red, _ = reduce(h)
    for x in ([-2], [0], [3]):
        assert red(x) == h(x)
    ident = Network.from_weights([([[1], [-1]], [0, 0]), ([[1, -1]], [0])])
    res = equivalent(f, ident, box)
    assert res.equivalent is True


def _bump_pair():
    """f(x) = x1 and g = f + a bump supported on the diamond
    |x1 - 1/3| + |x2 - 7/10| < 1/1000 (invisible to sampling)."""
    K = 1000
    c1, c2 = F(1, 3), F(7, 10)
    W1 = [[1, 0], [-1, 0], [K, 0], [-K, 0], [0, K], [0, -K]]
    b1 = [0, 0, -K * c1, K * c1, -K * c2, K * c2]
    # layer 2: pass x1 through (relu(x1), relu(-x1)) and the bump 1 - sum relu(...)
    W2 = [[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, -1, -1, -1, -1]]
    b2 = [0, 0, 1]
    g = Network.from_weights([(W1, b1), (W2, b2), ([[1, -1, 1]], [0])])
    f = Network.from_weights([(W1, b1), (W2, b2), ([[1, -1, 0]], [0])])
    return f, g


def test_difference_on_a_tiny_subregion_is_found_by_stage3():
    f, g = _bump_pair()
    assert f((F(1, 3), F(7, 10))) != g((F(1, 3), F(7, 10)))      # the bump's top
    box = Polyhedron.box([-1, -1], [1, 1])
    res = equivalent(f, g, box, samples=32)
    assert res.equivalent is False and res.stage == "complete"
    x = res.counterexample
    assert box.contains(x) and f(x) != g(x)
    assert abs(x[0] - F(1, 3)) + abs(x[1] - F(7, 10)) < F(1, 1000)
    # with eps = 1 the bump (height 1) is tolerated; with eps < 1 it is not
    assert equivalent(f, g, box, eps=1).equivalent is True
    res = equivalent(f, g, box, eps=F(99, 100))
    assert res.equivalent is False and abs(f(res.counterexample)[0]
                                           - g(res.counterexample)[0]) > F(99, 100)
    # on a domain that misses the bump they are equivalent
    assert equivalent(f, g, Polyhedron.box([-1, -1], [0, 0])).equivalent is True


def test_a_wrong_reduction_is_never_trusted(monkeypatch):
    # if reduce() were wrong, the exact spot check drops it, and counterexamples
    # found on reduced networks are re-checked on the originals
    import polyrelu.equivalence as eq
    from polyrelu.equivalence import ReductionReport

    zero = Network.from_weights([([[0, 0]], [0])])

    def broken(net, dom=None):
        return zero, ReductionReport(net.architecture, "2-1", (eq.Reduction(
            "dead", 1, (0,), "broken on purpose"),))

    monkeypatch.setattr(eq, "reduce", broken)
    f = random_network([2, 3, 1], seed=1)
    g = shifted(f, [F(1, 7)])
    res = equivalent(f, g, Polyhedron.box([-1, -1], [1, 1]))
    assert res.equivalent is False and f(res.counterexample) != g(res.counterexample)
    f2, g2 = _bump_pair()
    res = equivalent(f2, f2, Polyhedron.box([-1, -1], [1, 1]))
    assert res.equivalent is True


def test_stage3_counterexample_of_reduced_nets_is_rechecked(monkeypatch):
    # reduced networks that differ from the originals only on a tiny diamond
    # (passing any spot check): stage 3 finds a point there, the exact re-check
    # on the originals fails, and stage 3 is redone on the originals
    import polyrelu.equivalence as eq
    from polyrelu.equivalence import ReductionReport

    f2, g2 = _bump_pair()           # g2 = f2 + bump
    net = Network.from_weights([([[1, 0], [-1, 0]], [0, 0]), ([[1, -1]], [0])])   # x1
    fake = {id(net): g2}

    def lying(n, dom, d):
        rep = ReductionReport(n.architecture, "fake", (eq.Reduction("dead", 1, (0,), "x"),))
        return fake.get(id(n), n), rep

    monkeypatch.setattr(eq, "_checked_reduce", lying)
    res = equivalent(net, f2, Polyhedron.box([-1, -1], [1, 1]))
    assert res.equivalent is True and res.stage == "complete"


def test_bad_arguments_raise_polyrelu_errors():
    f = random_network([2, 3, 1], seed=1)
    g = random_network([2, 3, 1], seed=2)
    for kw in (dict(max_regions=0), dict(max_regions=-1), dict(max_regions=1.5),
               dict(samples=-1), dict(samples="x"), dict(time_limit="x"),
               dict(time_limit=-1), dict(mode="top1", eps=1)):
        with pytest.raises(NetworkError):
            equivalent(f, g, **kw)
    with pytest.raises(NetworkError, match="permutation entry"):
        Certificate((("a", 1, 2),), ((1, 1, 1),))
    with pytest.raises(ShapeError):
        Certificate((0, 1, 2), (1, 1, 1))           # not one list per layer
    with pytest.raises(DomainError):
        reduce(f, Polyhedron.box([0], [1]))
    with pytest.raises(NetworkError):
        reduce("net")
    with pytest.raises(NetworkError):
        canonical_form(None)


def test_cli_errors_and_slice(tmp_path, capsys):
    from polyrelu.cli import main

    f = random_network([2, 3, 1], seed=1)
    g = random_network([2, 3, 1], seed=2)
    h = random_network([3, 3, 1], seed=1)
    paths = {}
    for name, net in (("f", f), ("g", g), ("h", h)):
        paths[name] = str(tmp_path / f"{name}.json")
        net.save(paths[name])
    bad = tmp_path / "bad.json"
    bad.write_text('{"layers": [')
    for argv in (["equiv", paths["f"], paths["h"]],
                 ["equiv", paths["f"], str(bad)],
                 ["equiv", paths["f"], paths["g"], "--eps", "abc"],
                 ["equiv", paths["f"], paths["g"], "--max-regions", "0"],
                 ["equiv", paths["f"], paths["g"], "--top1", "--eps", "1"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "error:" in err and "Traceback" not in err
    # a slice: the counterexample is a slice parameter t; the JSON also gives x
    assert main(["equiv", paths["f"], paths["g"], "--slice", "0,0", "1,2", "--box=0,1",
                 "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    t = F(doc["counterexample"][0])
    x = tuple(F(v) for v in doc["counterexample_input"])
    assert x == (t, 2 * t) and f(x) != g(x)


def test_polyhedral_domains_triangle_and_half_plane():
    # g differs from f exactly where x1 + x2 > 1: equal on the triangle
    # x >= 0, x1 + x2 <= 1 although its bounding box [0, 1]^2 holds differences
    f = Network.from_weights([([[1, 0], [-1, 0]], [0, 0]), ([[1, -1]], [0])])
    g = add_unit(f, 1, [1, 1], -1, [1])
    tri = Polyhedron.from_inequalities([[1, 1], [-1, 0], [0, -1]], [1, 0, 0])
    res = equivalent(f, g, tri)
    assert res.equivalent is True
    half = Polyhedron.from_inequalities([[1, 1]], [1])          # unbounded domain
    assert equivalent(f, g, half).equivalent is True
    other = Polyhedron.from_inequalities([[-1, -1]], [-F(1, 2)])  # x1 + x2 >= 1/2
    res = equivalent(f, g, other)
    x = res.counterexample
    assert res.equivalent is False and other.contains(x) and x[0] + x[1] > 1
    assert f(x) != g(x)
    # the bump inside a triangle is found by stage 3 and lies in the triangle
    f2, g2 = _bump_pair()
    tri2 = Polyhedron.from_inequalities([[1, 1], [-1, 0], [0, -1]], [2, 0, 0])
    res = equivalent(f2, g2, tri2, samples=16)
    assert res.equivalent is False and tri2.contains(res.counterexample)
    assert f2(res.counterexample) != g2(res.counterexample)


def _difference_network(f, g):
    """One network computing f(x) - g(x) (block-diagonal hidden layers, same depth)."""
    L = f.num_layers
    layers = []
    for l in range(L):
        (Wf, bf), (Wg, bg) = (f.layers[l].W, f.layers[l].b), (g.layers[l].W, g.layers[l].b)
        if l == 0:
            W = [list(r) for r in Wf] + [list(r) for r in Wg]
        elif l < L - 1:
            nf, ng = len(Wf[0]), len(Wg[0])
            W = [list(r) + [0] * ng for r in Wf] + [[0] * nf + list(r) for r in Wg]
        else:
            W = [list(a) + [-v for v in c] for a, c in zip(Wf, Wg)]
        b = list(bf) + list(bg) if l < L - 1 else [a - c for a, c in zip(bf, bg)]
        layers.append((W, b))
    return Network.from_weights(layers)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10 ** 6), which=st.integers(0, 3), den=st.sampled_from([1, 64]))
def test_stage3_against_the_difference_network(seed, which, den):
    # independent: max |f - g| on the box from the regions of ONE network f - g
    # and exact LPs; stage 3 must find a point iff that maximum exceeds eps
    from polyrelu.regions import regions as enumerate_regions

    rng = random.Random(seed)
    f = random_network([2, 3, 2, 1], seed=seed, denominator=4, scale=6)
    layers = [(list(map(list, L.W)), list(L.b)) for L in f.layers]
    l = rng.randrange(3)
    layers[l][1][0] += F(rng.choice([1, -1]), den)
    g = Network.from_weights(layers)
    box = Polyhedron.box([-2, -2], [2, 2])
    top = F(0)
    for r in enumerate_regions(_difference_network(f, g), box):
        (row,), (c,) = r.affine_map
        for s in (1, -1):
            top = max(top, r.polyhedron.maximize([s * a for a in row]).value + s * c)
    eps = [F(0), top, top / 2, top + F(1, 1000)][which]
    x, _, partial, _ = _complete(f, g, box, "exact", eps, None, float("inf"), 2)
    assert not partial
    assert (x is not None) == (top > eps)
    if x is not None:
        assert box.contains(x) and abs(f(x)[0] - g(x)[0]) > eps


def test_time_limit_stops_cleanly():
    f, g = _bump_pair()
    res = equivalent(f, g, Polyhedron.box([-1, -1], [1, 1]), time_limit=1e-4)
    # never a wrong verdict: undecided (partial) or the true answer with a checked point
    assert res.equivalent in (None, False)
    if res.equivalent is None:
        assert res.partial and res.stage == "complete" and res.certificate is None
    else:
        assert f(res.counterexample) != g(res.counterexample)


# ------------------------------------------- zero rows, consecutive twins

def sparse_network(rng, act="relu", zero_rows=0.3, zero_entries=0.4):
    """A random network with zero weights, zero biases, zero incoming rows
    ((w, b) = 0: the unit is constant 0) and units fed only by such units."""
    d0 = rng.randint(1, 3)
    widths = [d0] + [rng.randint(1, 4) for _ in range(rng.randint(1, 3))] + [rng.randint(1, 2)]

    def entry(p):
        return 0 if rng.random() < p else F(rng.randint(-9, 9), rng.randint(1, 4))

    layers = []
    zero_prev: list = []
    for l, (a, b) in enumerate(zip(widths, widths[1:]), start=1):
        W = [[entry(zero_entries) for _ in range(a)] for _ in range(b)]
        bias = [entry(zero_entries) for _ in range(b)]
        if l < len(widths) - 1:
            for i in range(b):
                r = rng.random()
                if r < zero_rows:
                    W[i], bias[i] = [0] * a, 0
                elif r < zero_rows + 0.15 and zero_prev:
                    # fed only by units that are constant 0: constant 0 as well
                    W[i] = [W[i][j] if j in zero_prev else 0 for j in range(a)]
                    bias[i] = 0
        layers.append((W, bias))
        zero_prev = [i for i in range(b) if not any(W[i]) and not bias[i]]
    alpha = F(1, rng.randint(2, 9)) if act == "leaky_relu" else None
    return Network.from_weights(layers, activation=act, alpha=alpha)


def test_zero_row_unit_symmetry_is_found():
    # audit reproducer: unit 1 has (w, b) = 0; its scale only shows in the
    # outgoing column (8 -> 8 * 2 / (34/25) after the certificate)
    g = Network.from_weights([([[1], [0]], [0, 0]), ([[8, 1]], [3])])
    cert = Certificate(((1, 0),), ((F(2), F(34, 25)),))
    f = cert.apply(g)
    assert formula_holds(cert, f, g)
    assert canonical_form(f) == canonical_form(g)
    found = find_symmetry(f, g)
    assert found is not None and found.verify(f, g) and formula_holds(found, f, g)
    # the zero unit outputs 0: the canonical form still computes the function
    for x in random_points(1, random.Random(0), 10):
        assert canonical_form(f)(x) == f(x)
    res = equivalent(f, g)
    assert res.equivalent is True and res.stage == "symmetry"
    assert res.certificate_for == "original" and res.certificate.verify(f, g)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10 ** 6),
       act=st.sampled_from(["relu", "relu", "leaky_relu", "hard_tanh"]))
def test_symmetry_of_sparse_networks_with_zero_rows(seed, act):
    rng = random.Random(seed)
    g = sparse_network(rng, act)
    cert = random_certificate(g, rng)
    f = cert.apply(g)
    assert formula_holds(cert, f, g)
    for x in random_points(g.input_dim, rng, 4):
        assert f(x) == g(x) and canonical_form(g)(x) == g(x)
    assert canonical_form(f) == canonical_form(g)
    found = find_symmetry(f, g)
    assert found is not None
    assert found.verify(f, g) and formula_holds(found, f, g)
    # a real change in a nonzero weight is never certified
    layers = [(list(map(list, L.W)), list(L.b)) for L in f.layers]
    nz = [(l, i, j) for l, (W, _) in enumerate(layers) for i, row in enumerate(W)
          for j, v in enumerate(row) if v]
    if nz:
        l, i, j = nz[rng.randrange(len(nz))]
        layers[l][0][i][j] *= 3
        h = Network.from_weights(layers, activation=f.activation, alpha=f.alpha)
        cert2 = find_symmetry(h, g)
        assert cert2 is None or cert2.verify(h, g)


def inject_twins(net, rng, p=0.6):
    """Row 1 of random hidden layers := a positive multiple of row 0."""
    layers = [(list(map(list, L.W)), list(L.b)) for L in net.layers]
    for l in range(len(layers) - 1):
        if len(layers[l][0]) > 1 and rng.random() < p:
            s = F(rng.randint(1, 5), rng.randint(1, 5))
            layers[l][0][1] = [s * v for v in layers[l][0][0]]
            layers[l][1][1] = s * layers[l][1][0]
    return Network.from_weights(layers)


def test_twins_in_consecutive_layers_audit_case():
    # layer 1 has twins (units 1, 2) and layer 2 two twins fed by them: the
    # twin order of layer 1 is read off layer 2's *normalised* rows
    g = Network.from_weights([
        ([[F(-9, 2), 7, F(-3, 2)], [F(-45, 4), F(35, 2), F(-15, 4)],
          [F(-7, 4), F(-9, 5), F(-1, 3)], [F(3, 2), F(-5, 4), 9]], [1, F(5, 2), 2, -3]),
        ([[1, F(-4, 3), F(-4, 5), -9], [1, F(-4, 3), F(-4, 5), -9]], [F(1, 2), F(1, 2)]),
        ([[0, F(-2, 5)]], [-2])])
    rng = random.Random(182)
    for _ in range(5):
        cert = random_certificate(g, rng)
        f = cert.apply(g)
        found = find_symmetry(f, g)
        assert found is not None and found.verify(f, g) and formula_holds(found, f, g)
        assert canonical_form(f) == canonical_form(g)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10 ** 6))
def test_symmetry_with_twins_in_several_layers(seed):
    from polyrelu.equivalence import _canonical

    rng = random.Random(seed)
    L = rng.randint(2, 4)
    widths = [rng.randint(1, 3)] + [rng.randint(2, 5) for _ in range(L - 1)] + \
        [rng.randint(1, 3)]
    g = inject_twins(random_network(widths, seed=seed, denominator=7, scale=40), rng)
    cert = random_certificate(g, rng)
    f = cert.apply(g)
    found = find_symmetry(f, g)
    # without skips a symmetry is always found (an ambiguous twin order in
    # the canonical forms is resolved by the exact search)
    assert found is not None
    assert found.verify(f, g) and formula_holds(found, f, g)
    if not (_canonical(f)[3] or _canonical(g)[3]):
        assert canonical_form(f) == canonical_form(g)
    res = equivalent(f, g)
    assert res.equivalent is True and res.stage == "symmetry"


def test_dead_unit_weights_are_irrelevant_but_not_a_symmetry():
    # units 0, 1 of layers 1 and 2 are 0 everywhere and feed nothing; the 2x2
    # block of weights between them has the scale invariant a d / (b c)
    # (1 for f, 2 for g, 1/2 after swapping): the canonical forms agree (dead
    # weights are zeroed) but no permutation and scaling relates f and g;
    # equivalent() proves equality after reduce() removes the dead units
    def net(a, b, c, d):
        return Network.from_weights([([[0], [0], [1]], [0, 0, 1]),
                                     ([[a, b, 0], [c, d, 0], [0, 0, 1]], [0, 0, 0]),
                                     ([[0, 0, 2]], [1])])

    f, g = net(1, 1, 1, 1), net(1, 1, 1, 2)
    assert canonical_form(f) == canonical_form(g)
    assert find_symmetry(f, g) is None
    for x in random_points(1, random.Random(1), 8):
        assert f(x) == g(x) == canonical_form(f)(x)
    res = equivalent(f, g)
    assert res.equivalent is True and res.stage == "symmetry"
    assert res.certificate_for == "reduced" and res.certificate.verify(*res.reduced)
    # the same invariant (3 * 4 / (2 * 6) = 1): a symmetry, found by the search
    h = net(3, 2, 6, 4)
    cert = find_symmetry(h, f)
    assert cert is not None and cert.verify(h, f) and formula_holds(cert, h, f)


def test_symmetry_search_budget_gives_none_not_a_wrong_answer(monkeypatch):
    import polyrelu.equivalence as eq

    rng = random.Random(5)
    g = sparse_network(random.Random(2149), "leaky_relu")
    f = random_certificate(g, rng).apply(g)
    assert find_symmetry(f, g).verify(f, g)
    monkeypatch.setattr(eq, "SEARCH_BUDGET", 0)
    found = find_symmetry(f, g)
    assert found is None or found.verify(f, g)


# ----------------------------------------------------- huge rationals

def test_float_proposals_overflow_falls_back_to_exact():
    big = F(10) ** 400
    f = Network.from_weights([([[big], [1]], [0, 1]), ([[1, 1]], [0])])
    g = Network.from_weights([([[big], [1]], [0, 1]), ([[1, 2]], [0])])
    res = equivalent(f, g)
    assert res.equivalent is False and res.stage == "counterexample-search"
    x = res.counterexample
    assert f(x) != g(x) and res.difference == tuple(a - b for a, b in zip(f(x), g(x)))
    assert res.summary() and json.dumps(res.as_dict())
    # a box bound beyond the float range; a difference below it
    f = Network.from_weights([([[1], [1]], [0, 1]), ([[1, 1]], [0])])
    g = Network.from_weights([([[1], [1]], [0, 1]), ([[1, 1]], [1 / big])])
    res = equivalent(f, g, domain=([-big], [big]))
    assert res.equivalent is False
    x = res.counterexample
    assert -big <= x[0] <= big and f(x)[0] - g(x)[0] == -1 / big
    assert "counterexample" in res.summary()
    # huge outputs are displayed, not crashed on
    h = Network.from_weights([([[1], [1]], [0, 1]), ([[big, 1]], [0])])
    res = equivalent(h, f, domain=([1], [2]))
    assert res.equivalent is False and "e+400" in res.summary()


def test_huge_weights_equivalent_without_symmetry():
    # relu(Kx) - relu(-Kx) = Kx = relu(Kx + 10K) - 10K on [-1, 1]: equal, not by
    # symmetry (the second is a linear layer after reduction); floats overflow
    K = F(10) ** 400
    f = Network.from_weights([([[K], [-K]], [0, 0]), ([[1, -1]], [0])])
    g = Network.from_weights([([[K], [1]], [10 * K, 5]), ([[1, 0]], [-10 * K])])
    res = equivalent(f, g, domain=([-1], [1]))
    assert res.equivalent is True
    for x in (F(-1), F(-1, 3), F(0), F(1, 7), F(1)):
        assert f([x]) == g([x]) == (K * x,)


@pytest.mark.slow
def test_time_limit_overshoot_is_small_on_acas():
    A = load_acas(ACAS)
    M = load_acas(MIRROR)
    # eps = 1000 over R^5 is refuted by the optimisation search of stage 2
    # (|A - M| > 1000 near x = (-64, ..)); 10^6 keeps stage 3 running
    with Stopwatch() as took:
        res = equivalent(A, M, eps=10 ** 6, time_limit=10)
    assert res.equivalent is None and res.partial and res.stage == "complete"
    assert res.counterexample is None and res.certificate is None
    assert took.seconds < 10 + 1.5, took


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10 ** 6),
       skips=st.sampled_from([{3: [1]}, {4: [2]}, {4: [1]}, {3: [1], 4: [2]}, {3: [0]}]))
def test_symmetry_of_skip_networks_with_zero_rows(seed, skips):
    # zero rows in skip-tied layers: their scale is fixed by the tied layer's
    # row, not their own -- the canonical forms flag it and the search decides
    rng = random.Random(seed)
    widths = [2, 3, 3, 3, 2] if 0 not in skips.get(3, ()) else [2, 2, 2, 3, 2]
    g = random_network(widths, seed=seed, skips=skips)
    layers = [(list(map(list, L.W)), list(L.b)) for L in g.layers]
    for l in range(len(layers) - 1):
        for i in range(len(layers[l][0])):
            if rng.random() < 0.3:
                layers[l][0][i] = [0] * len(layers[l][0][i])
                layers[l][1][i] = 0
    g = Network.from_weights(layers, skips=skips)
    cert = random_certificate(g, rng)
    f = cert.apply(g)
    for x in random_points(2, rng, 3):
        assert canonical_form(g)(x) == g(x) == f(x)
    found = find_symmetry(f, g)
    assert found is not None and found.verify(f, g) and formula_holds(found, f, g)


# ------------------------------------------- slices through input skips

@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10 ** 6))
def test_equivalence_on_slices_of_networks_with_input_skips(seed):
    # Network.restrict through a skip from the input gives an input map
    # nu_0 = x0 + U t; every stage must use it (a dropped map is a different
    # function of t).  Independent checks: the original networks at x0 + U t.
    rng = random.Random(seed)
    skips = {2: [0]} if seed % 2 else {2: [0], 4: [2]}
    g0 = random_network([3, 3, 3, 3, 2], seed=seed, skips=skips)
    cert = random_certificate(g0, rng)
    f0 = cert.apply(g0)
    x0 = [F(rng.randint(-3, 3), rng.randint(1, 3)) for _ in range(3)]
    U = [[F(1), F(0)], [F(0), F(1)], [F(rng.randint(-2, 2)), F(rng.randint(-2, 2), 3)]]
    f, g = f0.restrict(x0, U), g0.restrict(x0, U)
    assert f.input_map is not None and f.input_dim == 2

    def lift(t):
        return tuple(a + sum(u * tj for u, tj in zip(row, t)) for a, row in zip(x0, U))

    c = canonical_form(f)
    assert c.input_map == f.input_map
    for t in random_points(2, rng, 5):
        assert c(t) == f(t) == f0(lift(t))
    found = find_symmetry(f, g)
    assert found is not None and found.verify(f, g)
    box = ([-1, -1], [1, 1])
    res = equivalent(f, g, box)
    assert res.equivalent is True and res.certificate.verify(*res.reduced if
                                                            res.certificate_for == "reduced"
                                                            else (f, g))
    # a small change of one output bias: an exact counterexample of the originals
    layers = [(L.W, L.b) for L in g0.layers]
    layers[-1] = (layers[-1][0], (layers[-1][1][0] + F(1, 10 ** 9),) + layers[-1][1][1:])
    h = Network.from_weights(layers, skips=g0.skip_map).restrict(x0, U)
    res = equivalent(f, h, box)
    t = res.counterexample
    assert res.equivalent is False and f0(lift(t)) != h(t)
    # up to eps that change is allowed: decided by the complete stage 3
    res = equivalent(f, h, box, eps=F(1, 10 ** 9))
    assert res.equivalent is True and res.stage == "complete"
    red, _ = reduce(f, box)
    for t in random_points(2, rng, 5, -1, 1):
        assert red(t) == f(t)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10 ** 6), alpha=st.sampled_from(["-2", "-1", "-1/3", "1/3", "2"]))
def test_reduce_with_non_monotone_leaky_relu(seed, alpha):
    # leaky ReLU with alpha < 0 is not monotone: the image of [a, c] is not
    # [g(a), g(c)].  reduce must stay exact; checked on a fine exact grid.
    rng = random.Random(seed)
    f = random_network([1, 2, 2, 1], seed=seed, activation="leaky_relu", alpha=alpha)
    lo, hi = F(rng.randint(-4, 0), rng.randint(1, 3)), F(rng.randint(1, 4), rng.randint(1, 3))
    dom = Polyhedron.box([lo], [hi])
    red, _ = reduce(f, dom)
    for k in range(65):
        x = (lo + (hi - lo) * F(k, 64),)
        assert red(x) == f(x), (x, red(x), f(x))


def test_reduce_leaky_negative_alpha_known_case():
    # nu1 = leaky(x), alpha = -2, ranges over [0, 2] on [-1, 1] (not [2, 1])
    f = Network.from_weights([([[1]], [0]), ([[1]], ["-3/2"]), ([[1]], [0])],
                             activation="leaky_relu", alpha=-2)
    red, _ = reduce(f, Polyhedron.box([-1], [1]))
    for x in ("-1", "-3/4", "0", "1/2", "1"):
        assert red([x]) == f([x])
    e = F(1, 1000)
    dom = Polyhedron.box([-e], [1])
    f = Network.from_weights([([[1]], [0]), ([[1]], [-e]), ([[1]], [0])],
                             activation="leaky_relu", alpha=-2)
    g = Network.from_weights([([[1]], [-e])])      # what a wrong bound would "prove"
    assert f([0]) != g([0])
    res = equivalent(f, g, domain=dom)
    assert res.equivalent is False and f(res.counterexample) != g(res.counterexample)


def test_symmetry_search_on_a_slice_through_an_input_skip():
    # twins make the canonical forms ambiguous, so the exact search runs; on a
    # slice its layer 0 is nu_0 = x0 + U t (layer 1's columns), not t
    layers = [([[0, -3], [-4, 3], [-8, 6]], [-16, 0, 0]),   # unit 3 = 2 * unit 2
              ([[0, 0, 1], [-3, -1, -3]], [2, 2]),
              ([[0, -2], [1, 0]], [0, 0])]
    g = Network.from_weights(layers, skips={3: [0]}, activation="leaky_relu", alpha=-2)
    layers[1] = ([[0, 0, 1], [-3, -1, -3]], [2, "2001/1000"])
    h = Network.from_weights(layers, skips={3: [0]}, activation="leaky_relu", alpha=-2)
    gs, hs = g.restrict([1, 0], [[1], [2]]), h.restrict([1, 0], [[1], [2]])
    assert find_symmetry(gs, gs) is not None
    assert find_symmetry(hs, gs) is None
    res = equivalent(hs, gs)
    x = res.counterexample
    assert res.equivalent is False and h([1 + x[0], 2 * x[0]]) != g([1 + x[0], 2 * x[0]])
