"""Tests of polyrelu.regions: exact enumeration of activation / linear regions.

Every check is independent of the enumerator: exact evaluation at interior
points, volumes summing to the domain, closed formulas (Zaslavsky), brute
force over all patterns with Algorithm 1, permuted / rescaled copies, the
other engine, torch float64.
"""

from __future__ import annotations

import itertools
import os
from fractions import Fraction as F
from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import polyrelu as pr
from polyrelu.exceptions import DomainError, EmptyDomainError
from polyrelu.network import random_network
from polyrelu.regions import (
    CachedPredictor,
    count_regions,
    linear_regions,
    region_graph,
    region_of,
    region_of_pattern,
    regions,
    slice_domain,
)

BOX2 = pr.Polyhedron.box([-2, -2], [2, 2])


def _mv(M, x):
    return tuple(sum((a * v for a, v in zip(row, x)), F(0)) for row in M)


def check_regions(net, dom, rs, volumes=True):
    """Independent checks of an enumeration."""
    pats = [r.pattern for r in rs]
    assert len(set(pats)) == len(pats), "duplicate pattern"
    for r in rs:
        x = r.interior_point
        assert all(isinstance(v, F) for v in x)
        assert net.pattern(x) == r.pattern
        M, c = r.affine_map
        assert tuple(a + b for a, b in zip(_mv(M, x), c)) == net(x)
        if dom is not None:
            assert dom.contains(x)
        # strictly inside: every defining inequality is strict at x
        for a, b, _ in r.constraints:
            if any(a):
                assert sum((ai * xi for ai, xi in zip(a, x)), F(0)) < b
    if volumes and dom is not None and dom.bounded:
        assert sum(r.polyhedron.volume() for r in rs) == dom.volume()


def patterns(net, dom, engine="fast"):
    return sorted(r.pattern for r in regions(net, dom, engine=engine))


# ------------------------------------------------------------------ basics
@pytest.mark.parametrize("act", ["relu", "leaky_relu", "hard_tanh"])
@pytest.mark.parametrize("seed", [0, 1])
def test_invariants_2d(act, seed):
    net = random_network([2, 4, 3, 1], seed=seed, activation=act)
    rs = list(regions(net, BOX2))
    check_regions(net, BOX2, rs)
    # vertices of the V-representation satisfy the exact map too (closure)
    for r in rs[:5]:
        M, c = r.affine_map
        for v in r.vertices:
            assert r.polyhedron.contains(v)
        assert set(r.vertices) == set(r.polyhedron.vertices)


def test_invariants_1d_and_3d():
    net = random_network([1, 5, 4, 1], seed=3)
    D1 = pr.Polyhedron.box([-3], [3])
    check_regions(net, D1, list(regions(net, D1)))
    net3 = random_network([3, 4, 3, 1], seed=2)
    D3 = pr.Polyhedron.box([-1, -1, -1], [1, 1, 1])
    rs = list(regions(net3, D3))
    check_regions(net3, D3, rs)
    assert sorted(r.pattern for r in rs) == patterns(net3, D3, "tree")


def test_general_polygon_domain():
    net = random_network([2, 4, 3, 1], seed=7)
    tri = pr.Polyhedron.from_vertices([[-2, -1], [3, 0], [0, 2]])
    rs = list(regions(net, tri))
    check_regions(net, tri, rs)
    assert sorted(r.pattern for r in rs) == patterns(net, tri, "tree")


def test_interiors_pairwise_disjoint():
    net = random_network([2, 3, 3, 1], seed=5)
    rs = list(regions(net, BOX2))
    for a, b in itertools.combinations(rs, 2):
        assert not a.polyhedron.intersect(b.polyhedron).is_full_dimensional()


def test_whole_space_unbounded():
    net = random_network([2, 3, 2, 1], seed=4)
    rs = list(regions(net))
    check_regions(net, None, rs)
    assert any(not r.bounded for r in rs)
    assert sorted(r.pattern for r in rs) == patterns(net, None, "tree")


def test_no_hidden_layer():
    net = pr.Network.from_weights([([[1, 2]], [3])])
    rs = list(regions(net, BOX2))
    assert len(rs) == 1 and rs[0].pattern == ()


# --------------------------------------------- Algorithm 1 vs enumeration
@pytest.mark.parametrize("act", ["relu", "hard_tanh"])
def test_brute_force_all_patterns(act):
    """Algorithm 1 on every pattern gives exactly the enumerated set."""
    net = random_network([2, 3, 2, 1], seed=11, activation=act)
    k = net.num_pieces
    found = set()
    for bits in itertools.product(range(k), repeat=5):
        pat = (bits[:3], bits[3:])
        r = region_of_pattern(net, pat, BOX2)
        if r is not None:
            assert net.pattern(r.interior_point) == pat
            found.add(pat)
    assert found == set(patterns(net, BOX2))


def test_region_of_pattern_explain():
    net = pr.Network.from_weights([([[1, 0], [-1, 0]], [0, -1]), ([[1, 1]], [0])])
    ok = region_of_pattern(net, [[0, 1]], explain=True)
    assert ok and ok.layer is None and ok.status == "full"
    bad = region_of_pattern(net, [[1, 1]], explain=True)
    assert not bad and bad.layer == 1 and bad.status == "empty"
    # a zero neuron must be inactive
    z = pr.Network.from_weights([([[1, 0], [0, 0]], [0, 0]), ([[1, 1]], [0])])
    assert region_of_pattern(z, [[1, 1]]) is None
    assert region_of_pattern(z, [[1, 1]], explain=True).status == "degenerate"
    assert region_of_pattern(z, [[1, 0]]) is not None
    # empty only at layer 2
    net2 = pr.Network.from_weights([([[1, 0]], [0]), ([[1]], [1]), ([[1]], [0])])
    res = region_of_pattern(net2, [[1], [0]], explain=True)
    assert res.layer == 2 and res.region is None


def test_region_of():
    net = random_network([2, 4, 3, 1], seed=1)
    r = region_of(net, ["1/3", "-1/5"])
    assert r.pattern == net.pattern(["1/3", "-1/5"])
    assert r.polyhedron.contains(["1/3", "-1/5"])
    # on a boundary: a full-dimensional region whose closure contains x
    line = pr.Network.from_weights([([[1, -1], [1, 1]], [0, 0]), ([[1, 1]], [0])])
    r0 = region_of(line, [0, 0])
    assert r0.polyhedron.is_full_dimensional() and r0.polyhedron.contains([0, 0])
    with pytest.raises(DomainError):
        region_of(net, [5, 5], BOX2)


def test_region_of_boundary_degenerate():
    # z2 = relu(x) - relu(x) + ... : pattern at x = 0 gives a lower-dim region
    net = pr.Network.from_weights([([[1], [-1]], [0, 0]), ([[1, 1]], [0]), ([[1]], [0])])
    r = region_of(net, [0])
    assert r.polyhedron.contains([0]) and r.polyhedron.is_full_dimensional()


# --------------------------------------------------- closed formulas
@settings(max_examples=6, deadline=None)
@given(st.lists(st.fractions(min_value=F(1, 4), max_value=4, max_denominator=6),
                min_size=2, max_size=5, unique=True),
       st.lists(st.booleans(), min_size=5, max_size=5),
       st.integers(2, 3))
def test_zaslavsky_generic(ts, flips, d):
    """n generic hyperplanes (moment curve: w = (t, .., t^d), b = 1) in R^d."""
    W, b = [], []
    for t, f in zip(ts, flips):
        s = -1 if f else 1
        W.append([s * t ** k for k in range(1, d + 1)])
        b.append(s)
    net = pr.Network.from_weights([(W, b), ([[1] * len(ts)], [0])])
    n = len(ts)
    expect = sum(comb(n, i) for i in range(d + 1))
    assert len(list(regions(net))) == expect


@pytest.mark.parametrize("n", [1, 2, 5])
def test_lines_through_origin(n):
    W = [[1, k] for k in range(n)]  # distinct directions, zero biases
    net = pr.Network.from_weights([(W, [0] * n), ([[1] * n], [0])])
    assert len(patterns(net, BOX2)) == 2 * n
    assert len(patterns(net, None)) == 2 * n
    assert patterns(net, BOX2, "tree") == patterns(net, BOX2)


def test_integer_grid():
    W = [[1, 0]] * 5 + [[0, 1]] * 5
    b = [-k for k in range(-2, 3)] * 2
    net = pr.Network.from_weights([(W, b), ([[1] * 10], [0])])
    D = pr.Polyhedron.box([-3, -3], [3, 3])
    rs = list(regions(net, D))
    assert len(rs) == 36
    check_regions(net, D, rs)


def test_duplicate_and_dead_units():
    base = random_network([2, 3, 1], seed=2)
    (W, b), (W2, b2) = base.weights()
    n0 = len(patterns(base, BOX2))
    dup = pr.Network.from_weights([(list(W) + [W[0]], list(b) + [b[0]]),
                                   ([list(W2[0]) + [1]], b2)])
    dead = pr.Network.from_weights([(list(W) + [[0, 0], [0, 0]], list(b) + [0, -1]),
                                    ([list(W2[0]) + [1, 1]], b2)])
    assert len(patterns(dup, BOX2)) == n0
    ps = patterns(dead, BOX2)
    assert len(ps) == n0 and all(p[0][-2:] == (0, 0) for p in ps)
    assert patterns(dead, BOX2, "tree") == ps
    # a whole dead second layer: one piece everywhere
    net = pr.Network.from_weights([(W, b), ([[0, 0, 0]], [0]), ([[1]], [0])])
    assert all(p[1] == (0,) for p in patterns(net, BOX2))


def test_permuted_rescaled_copy():
    net = random_network([2, 5, 4, 1], seed=9)
    (W1, b1), (W2, b2), (W3, b3) = net.weights()
    p1, p2 = [3, 0, 4, 1, 2], [2, 3, 1, 0]
    s1 = [F(1, 2), 3, 2, F(5, 3), 1]
    s2 = [7, F(1, 3), 1, 2]
    W1n = [[s1[i] * v for v in W1[p1[i]]] for i in range(5)]
    b1n = [s1[i] * b1[p1[i]] for i in range(5)]
    W2n = [[s2[i] * W2[p2[i]][p1[j]] / s1[j] for j in range(5)] for i in range(4)]
    b2n = [s2[i] * b2[p2[i]] for i in range(4)]
    W3n = [[W3[0][p2[j]] / s2[j] for j in range(4)]]
    copy = pr.Network.from_weights([(W1n, b1n), (W2n, b2n), (W3n, b3)])
    a, b = list(regions(net, BOX2)), list(regions(copy, BOX2))
    assert len(a) == len(b)
    assert count_regions(net, BOX2) == count_regions(copy, BOX2)
    mapped = sorted((tuple(p[0][p1[i]] for i in range(5)),
                     tuple(p[1][p2[i]] for i in range(4))) for p in (r.pattern for r in a))
    assert mapped == sorted(r.pattern for r in b)


# ----------------------------------------------------- engines agree
@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10 ** 6), st.sampled_from(["relu", "leaky_relu", "hard_tanh"]),
       st.sampled_from([(2, 3, 3, 1), (2, 4, 2, 1), (1, 4, 3, 1)]))
def test_engines_agree(seed, act, widths):
    net = random_network(list(widths), seed=seed, activation=act)
    D = pr.Polyhedron.box([-2] * widths[0], [2] * widths[0])
    fast = list(regions(net, D, engine="fast"))
    check_regions(net, D, fast)
    assert sorted(r.pattern for r in fast) == patterns(net, D, "tree")


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 10 ** 6))
def test_engines_agree_skip(seed):
    for widths, skips in (([2, 3, 3, 3, 1], {3: [1]}),
                          ([2, 2, 2, 2, 1], {3: [0, 1], 4: [2]})):
        net = random_network(widths, seed=seed, skips=skips)
        fast = list(regions(net, BOX2))
        check_regions(net, BOX2, fast)
        assert sorted(r.pattern for r in fast) == patterns(net, BOX2, "tree")


@st.composite
def _hard_nets(draw):
    """Small networks in R^1..R^4 built to stress the float filters: skips,
    leaky ReLU / hard tanh, zero biases (hyperplanes through the origin, a
    vertex or the centre of the box), twin units (one hyperplane twice), dead
    units (zero rows), and a hyperplane 1e-20 from a box corner (a float
    value far below its error bound at that vertex)."""
    import random

    d = draw(st.sampled_from([1, 2, 3, 4]))
    depth = draw(st.integers(1, 3 if d < 4 else 2))
    w = draw(st.integers(2, 4 if d < 4 else 3))
    act = draw(st.sampled_from(["relu", "leaky_relu", "hard_tanh"]))
    kind = draw(st.sampled_from(["plain", "skips", "zero_bias", "twins", "dead", "near"]))
    rng = random.Random(draw(st.integers(0, 10 ** 6)))

    def r(den=4):
        return F(rng.randint(-6, 6), den)

    widths = [d] + [w] * depth + [1]
    layers = [[[r() for _ in range(a)] for _ in range(b)] for a, b in zip(widths, widths[1:])]
    biases = [[r() for _ in range(b)] for b in widths[1:]]
    skips = None
    if kind == "skips" and depth >= 2:
        skips = {3: [1]} if depth == 3 else {}
        if d == w:
            skips.setdefault(2, []).append(0)
        skips = skips or None
    elif kind == "zero_bias":
        biases = [[F(0)] * len(b) for b in biases]
    elif kind == "twins":
        layers[0].append(list(layers[0][0]))
        biases[0].append(biases[0][0])
        for row in layers[1]:
            row.append(r())
    elif kind == "dead":
        layers[0].append([F(0)] * d)
        biases[0].append(F(rng.choice([0, 0, -1, 1])))
        for row in layers[1]:
            row.append(r())
    elif kind == "near":
        # z = sum x - (2 d - 1e-20): 1e-20 at the corner (2, .., 2) of [-2, 2]^d
        layers[0].append([F(1)] * d)
        biases[0].append(-(2 * d - F(1, 10 ** 20)))
        for row in layers[1]:
            row.append(r())
    net = pr.Network.from_weights(list(zip(layers, biases)), skips=skips, activation=act)
    box = pr.Polyhedron.box([-2] * d, [2] * d)
    dom = box if d == 4 or draw(st.booleans()) else None
    return net, dom


@settings(max_examples=40, deadline=None)
@given(_hard_nets())
def test_every_engine_same_regions(case):
    """Every engine gives the same regions, in lexicographic pattern order on
    bounded domains; interior points strictly inside (exact evaluation),
    volumes summing exactly to the box, exact vertices equal cdd's."""
    net, dom = case
    it = regions(net, dom)
    fast = list(it)
    check_regions(net, dom, fast, volumes=dom is not None and net.input_dim < 4)
    tree = [r.pattern for r in regions(net, dom, engine="tree")]
    lp = [r.pattern for r in regions(net, dom, engine="lp")]
    if dom is None:
        assert sorted(r.pattern for r in fast) == sorted(tree) == sorted(lp)
        return
    assert [r.pattern for r in fast] == tree == lp == sorted(tree)
    for r in fast[:: max(1, len(fast) // 5)]:
        assert r.bounded and set(r.vertices) == set(r.polyhedron.vertices)
        if net.input_dim > 1:
            A, b = r.inequalities
            assert len(A) == len(r.polyhedron.inequalities[0])


def test_pool_engine_exact_paths():
    """A hyperplane 1e-20 from a corner of the box (its float value there is
    far below the error bound): the sign is decided exactly, and the new
    vertices on the edges from that corner are built exactly; twins of a
    zero-bias unit through the box centre need exact zero signs."""
    for d in (2, 3, 5):
        W1 = [[1] * d, [1] + [-1] * (d - 1), [1] + [-1] * (d - 1), [F(1, 3)] * d]
        b1 = [-(2 * d - F(1, 10 ** 20)), 0, 0, F(1, 7)]
        net = pr.Network.from_weights([(W1, b1), ([[1, 2, -1, 1]], [0])])
        D = pr.Polyhedron.box([-2] * d, [2] * d)
        it = regions(net, D)
        rs = list(it)
        assert it.stats["exact_signs"] > 0
        check_regions(net, D, rs, volumes=d < 4)
        assert [r.pattern for r in rs] == patterns(net, D, "tree") == \
            sorted(r.pattern for r in rs)
        # the sliver at the corner: a region with the first unit active
        assert any(r.pattern[0][0] == 1 for r in rs)


@pytest.mark.parametrize("frontier", [2, 3])
def test_work_units_resume_elsewhere(frontier):
    """Cells cut at a frontier travel as work units (pattern prefixes and a
    pool of cells: no network inside); after pickling, a fresh splitter
    rebuilds their level from the prefixes and finishes them: the regions,
    in order, are the serial run's."""
    import pickle

    from polyrelu import _regions_batch, _regions_frontier, _regions_pool
    from polyrelu.regions import _exact_nodes, _intnet

    net = random_network([3, 4, 4, 3, 1], seed=5, skips={3: [1]} if frontier == 3 else None,
                         activation="hard_tanh" if frontier == 3 else "relu")
    D = pr.Polyhedron.box([-2] * 3, [2] * 3)
    serial = [r.pattern for r in regions(net, D)]
    inet = _intnet(net)

    def splitter():
        root, dom_rows, xv = _regions_pool.pool_root(D, 3)
        stats = {"candidates": 0, "splits": 0, "exact_signs": 0, "nodes": 0}
        return root, _regions_frontier.PoolSplitter(inet, _exact_nodes(net), dom_rows, xv,
                                                    stats)

    root, sp = splitter()
    units = []
    leaves = []
    for item in _regions_frontier.drive_pool(inet, root, sp, sp.stats, lambda: None,
                                             frontier=frontier):
        if isinstance(item, _regions_pool.WorkUnit):
            units.append(pickle.dumps(item))
            leaves.append(None)
        else:
            leaves.append(item[0])
    assert units and all(x is None for x in leaves)
    got = []
    for blob in units:
        assert b"polyrelu.network" not in blob and b"Fraction" not in blob
        unit = pickle.loads(blob)
        _, sp2 = splitter()
        lv = _regions_batch.rebuild_level(inet, unit.prefixes, unit.pool)
        assert lv.l == frontier
        for prefixes, pool in _regions_frontier.drive_pool(inet, None, sp2, sp2.stats,
                                                           lambda: None, level=lv):
            got.extend(prefixes)
            pts = sp2.interior_points(prefixes, pool)
            for pat, x in zip(prefixes, pts):
                assert net.pattern(x) == pat
    assert got == serial


def test_lazy_exact_data_and_pickling():
    """The V-polytope engine keeps only combinatorial data; a region's exact
    vertices and facets are rebuilt from its pattern when read, also after
    pickling an unread region."""
    import pickle

    for d in (2, 3):
        net = random_network([d, 4, 3, 1], seed=11)
        D = pr.Polyhedron.box([-1] * d, [1] * d)
        rs = list(regions(net, D))
        r = rs[len(rs) // 2]
        assert "_hverts" in r._cache and not dict.__contains__(r._cache, "_hverts")
        r2 = pickle.loads(pickle.dumps(r))
        assert set(r2.vertices) == set(r.vertices) == set(r.polyhedron.vertices)
        assert dict.__contains__(r._cache, "_hverts")
        assert _normalised(*r2.inequalities) == _normalised(*r.polyhedron.inequalities)
        G = region_graph(rs)
        H = region_graph(_bare(rs))
        assert sorted(G.edges()) == sorted(H.edges())


@pytest.mark.slow
def test_lp_engine_agrees():
    for seed in range(3):
        net = random_network([2, 3, 3, 1], seed=seed, activation="leaky_relu")
        assert patterns(net, BOX2, "lp") == patterns(net, BOX2)
        net = random_network([2, 3, 2, 1], seed=seed, activation="hard_tanh")
        assert patterns(net, BOX2, "lp") == patterns(net, BOX2)


@pytest.mark.slow
def test_float_weights_exact():
    """Float (dyadic) weights from torch: exact enumeration, torch cross-check."""
    torch = pytest.importorskip("torch")
    from torch import nn

    torch.manual_seed(1)
    seq = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(),
                        nn.Linear(8, 1)).double()
    layers = [(m.weight.detach().numpy().tolist(), m.bias.detach().numpy().tolist())
              for m in seq if isinstance(m, nn.Linear)]
    net = pr.Network.from_weights(layers)
    D = pr.Polyhedron.box([-3, -3], [3, 3])
    rs = list(regions(net, D))
    check_regions(net, D, rs)
    for r in rs[:20]:
        x = r.interior_point
        y = seq(torch.tensor([[float(v) for v in x]], dtype=torch.float64)).item()
        assert abs(y - float(net(x)[0])) <= 1e-9 * (1 + abs(y))


# -------------------------------------------------------------- limits
def test_limits_partial():
    net = random_network([2, 4, 3, 1], seed=0)
    total = len(list(regions(net, BOX2)))
    it = regions(net, BOX2, max_regions=3)
    got = list(it)
    assert len(got) == 3 and it.partial and "max_regions" in it.reason
    it = regions(net, BOX2, max_regions=total)
    assert len(list(it)) == total and not it.partial
    it = regions(net, BOX2, time_limit=1e-9)
    assert list(it) == [] and it.partial and "time limit" in it.reason
    it = regions(net, BOX2, engine="tree", max_regions=2)
    assert len(list(it)) == 2 and it.partial


def _check_each_region(net, dom, rs):
    """Each region on its own, exactly: the pattern is the network's pattern at
    the rational interior point, and the polyhedron is full-dimensional."""
    check_regions(net, dom, rs, volumes=False)
    for r in rs:
        assert net.pattern(r.interior_point) == r.pattern
        assert r.polyhedron.is_full_dimensional()
        assert r.polyhedron.contains(r.interior_point)


@pytest.mark.parametrize("engine", ["fast", "lp"])
def test_limits_first_regions_early_in_5d(engine):
    """5 inputs, 3 x 30 units: the first layer alone cuts [-1, 1]^5 into
    38138 cells.  Splitting all of them before descending took 28 s for 3
    regions (fast) and gave none in 60 s (lp); depth first, the first
    regions are complete after one root-to-leaf path."""
    net = random_network([5, 30, 30, 30, 1], seed=1)
    D = pr.Polyhedron.box([-1] * 5, [1] * 5)
    it = regions(net, D, engine=engine, max_regions=4, time_limit=20)
    rs = list(it)
    assert len(rs) == 4 and it.partial and "max_regions" in it.reason
    assert it.stats["seconds"] < 10
    # a layer-by-layer split would cut 38138 cells first; depth first, the
    # levels on the first path hold 1, 2, 4, ... cells and split them by as
    # many neurons at a time (fast), or one cut per unit (lp)
    bound = 2 * (64 + sum(net.hidden_widths)) if engine == "lp" else 38138 // 10
    assert it.stats["splits"] <= bound
    _check_each_region(net, D, rs)


def test_limits_time_limit_met_in_5d():
    """The deadline is checked at every cut and every cell: a 2 s limit ends
    within a fraction of a second (it overshot by 1.5 s at 9 s before), with
    the regions found so far, each complete."""
    net = random_network([5, 30, 30, 30, 1], seed=1)
    D = pr.Polyhedron.box([-1] * 5, [1] * 5)
    it = regions(net, D, time_limit=2)
    rs = list(it)
    assert it.partial and "time limit" in it.reason
    assert 2 <= it.stats["seconds"] < 2.5
    assert len(rs) > 100
    _check_each_region(net, D, rs[:: max(1, len(rs) // 40)])


@pytest.mark.parametrize("widths, act", [([4, 6, 5, 1], "relu"), ([4, 5, 4, 1], "hard_tanh"),
                                         ([5, 5, 4, 1], "relu"), ([4, 4, 4, 1], "leaky_relu")])
def test_depth_first_complete_runs_agree(widths, act):
    """Depth-first splitting changes when regions are found, not which: the
    complete runs of the vrep and LP splitters give the tree engine's set,
    and every prefix of a limited run is the complete run's prefix."""
    net = random_network(widths, seed=3, activation=act)
    d = widths[0]
    D = pr.Polyhedron.box([-1] * d, [1] * d)
    tree = patterns(net, D, "tree")
    for engine in ("fast", "lp"):
        full = list(regions(net, D, engine=engine))
        assert sorted(r.pattern for r in full) == tree
        few = list(regions(net, D, engine=engine, max_regions=7))
        assert [r.pattern for r in few] == [r.pattern for r in full[:7]]
    _check_each_region(net, D, full)


def test_bad_domains():
    net = random_network([2, 3, 1], seed=0)
    with pytest.raises(DomainError):
        list(regions(net, pr.Polyhedron.box([0], [1])))
    with pytest.raises(EmptyDomainError):
        regions(net, pr.Polyhedron.from_inequalities([[1, 0], [-1, 0]], [0, -1]))
    with pytest.raises(EmptyDomainError, match="dimension 1"):
        regions(net, pr.Polyhedron.box([0, 0], [1, 0]))
    with pytest.raises(DomainError):
        regions(net, [[0, 1], [0, 1]])
    with pytest.raises(pr.PolyreluError):
        regions(net, BOX2, engine="magic")


# ------------------------------------------- linear regions and graphs
def test_linear_regions_merge():
    # relu(x) - relu(x) == 0: 2 activation regions, 1 linear region
    net = pr.Network.from_weights([([[1], [1]], [0, 0]), ([[1, -1]], [0])])
    assert count_regions(net) == (2, 1, False)
    # relu(x) + relu(-x) - ... = |x|: 2 linear regions
    net = pr.Network.from_weights([([[1], [-1]], [0, 0]), ([[1, 1]], [0])])
    lr = linear_regions(net)
    assert len(lr) == 2 and all(len(x) == 1 for x in lr)
    # output layer zero: everything merges
    net = random_network([2, 4, 1], seed=1)
    (W, b), _ = net.weights()
    zero = pr.Network.from_weights([(W, b), ([[0, 0, 0, 0]], [1])])
    lr = linear_regions(zero, BOX2)
    assert len(lr) == 1 and len(lr[0]) == len(list(regions(zero, BOX2)))


def test_region_graph_quadrants():
    net = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 2]], [0])])
    rs = list(regions(net, pr.Polyhedron.box([-1, -1], [1, 1])))
    G = region_graph(rs)
    assert G.number_of_nodes() == 4 and G.number_of_edges() == 4
    for u, v, data in G.edges(data=True):
        pu, pv = rs[u].pattern[0], rs[v].pattern[0]
        assert sum(a != b for a, b in zip(pu, pv)) == 1
        w, c = data["hyperplane"]
        assert data["facet"].dim == 1
        for x in data["facet"].vertices:
            assert sum(a * b for a, b in zip(w, x)) + c == 0
        assert data["same_map"] is False


def test_region_graph_adjacency_bruteforce():
    net = random_network([2, 4, 2, 1], seed=3)
    rs = list(regions(net, BOX2))
    G = region_graph(rs)
    for i, j in itertools.combinations(range(len(rs)), 2):
        inter = rs[i].polyhedron.intersect(rs[j].polyhedron)
        assert G.has_edge(i, j) == (inter.dim == 1)


# ------------------------------------------------------ caching, slices
def test_cached_predictor():
    net = random_network([2, 4, 3, 2], seed=6)
    f = CachedPredictor(net)
    pts = [[F(i, 3), F(j, 5)] for i in range(-4, 5) for j in range(-4, 5)]
    for x in pts:
        assert f(x) == net(x)
    assert 0 < f.hit_rate < 1 and len(f) + f.hits == len(pts)


def test_slices():
    net = random_network([3, 4, 3, 1], seed=2)
    p, q, r = [0, 0, 0], [1, 2, -1], [-1, 1, 1]
    nt, D = slice_domain(net, [p, q])
    rs = list(regions(nt, D))
    for reg in rs:
        t = reg.interior_point[0]
        x = [a + t * (b - a) for a, b in zip(p, q)]
        assert net.pattern(x) == reg.pattern
    assert sum(reg.polyhedron.volume() for reg in rs) == 1
    nt2, D2 = slice_domain(net, [p, q, r], box=([-1, -1], [1, 1]))
    rs2 = list(regions(nt2, D2))
    check_regions(nt2, D2, rs2)
    with pytest.raises(DomainError):
        slice_domain(net, [p, p])


def test_filter_falls_back_to_exact():
    """Float weights, zero biases: every hyperplane passes exactly through the
    origin, a vertex of the domain, so the float filter cannot decide there."""
    W1 = [[0.1, 1 / 3], [-0.7, 0.2], [1 / 7, -0.3]]
    W2 = [[0.5, -1 / 3, 0.25], [1 / 9, 0.3, -0.6]]
    net = pr.Network.from_weights([(W1, [0.0] * 3), (W2, [0.0] * 2), ([[1.0, 1.0]], [0.0])])
    D = pr.Polyhedron.box([0, -1], [1, 1])
    it = regions(net, D)
    rs = list(it)
    assert it.stats["exact_signs"] > 0
    check_regions(net, D, rs)
    assert sorted(r.pattern for r in rs) == patterns(net, D, "tree")


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 10 ** 6), st.sampled_from(["relu", "hard_tanh"]))
def test_vrep_engine_3d(seed, act):
    """d = 3: exact V-representation splitter vs tree engine, vertex sets vs
    cdd, volumes sum to the box."""
    net = random_network([3, 3, 3, 1], seed=seed, activation=act)
    D = pr.Polyhedron.box([-1, -1, -1], [1, 1, 1])
    it = regions(net, D)
    rs = list(it)
    assert it.stats["engine"] == "fast-vrep"
    check_regions(net, D, rs)
    assert sorted(r.pattern for r in rs) == patterns(net, D, "tree")
    for r in rs[:6]:
        assert set(r.vertices) == set(r.polyhedron.vertices)


def test_vrep_degenerate_4d():
    """Zero biases in R^4: all hyperplanes through the origin, a box vertex
    set up so that exact fallbacks and degenerate vertices occur."""
    W = [[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, -1], [1, -1, 1, 1]]
    net = pr.Network.from_weights([(W, [0] * 5), ([[1, -1, 1, 1, 1]], [0])])
    D = pr.Polyhedron.box([0, -1, -1, -1], [1, 1, 1, 1])
    rs = list(regions(net, D))
    check_regions(net, D, rs, volumes=False)
    assert sorted(r.pattern for r in rs) == patterns(net, D, "tree")


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
def test_whole_space_3d(act):
    net = random_network([3, 3, 2, 1], seed=8, activation=act)
    it = regions(net)
    rs = list(it)
    assert it.stats["engine"] == "fast-orthants"
    check_regions(net, None, rs)
    assert sorted(r.pattern for r in rs) == patterns(net, None, "tree")
    assert sorted(r.pattern for r in rs) == patterns(net, None, "lp")


def test_cli_regions(tmp_path, capsys):
    import json

    from polyrelu.cli import main

    net = random_network([2, 4, 3, 1], seed=2)
    path = tmp_path / "m.json"
    net.save(path)
    assert main(["regions", str(path), "--box", "-2,2", "--json", "--no-progress",
                 "--out", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    rs = list(regions(net, BOX2))
    assert doc["activation_regions"] == len(rs)
    assert doc["linear_regions"] == len(linear_regions(net, BOX2, region_list=rs))
    for reg in doc["regions"]:
        x = [F(v) for v in reg["interior_point"]]
        assert [list(p) for p in net.pattern(x)] == reg["pattern"]
        A = [[F(v) for v in row] for row in reg["inequalities"]["A"]]
        b = [F(v) for v in reg["inequalities"]["b"]]
        assert all(sum(a * v for a, v in zip(row, x)) < bi for row, bi in zip(A, b))
    assert (tmp_path / "regions.jsonl").stat().st_size > 0
    assert (tmp_path / "regions.png").stat().st_size > 0
    assert main(["regions", str(path), "--box", "-2,2", "--max-regions", "2",
                 "--no-progress"]) == 0
    assert "PARTIAL" in capsys.readouterr().out


def test_region_graph_planar_vs_general():
    """The shared-edge sweep (V-representation) and the exact LP test agree."""
    from polyrelu.regions import Region

    net = random_network([2, 4, 3, 1], seed=12, activation="leaky_relu")
    rs = list(regions(net, BOX2))
    bare = [Region(r.pattern, r.interior_point, r.net, r.domain) for r in rs]
    G1, G2 = region_graph(rs), region_graph(bare)
    e1 = {(u, v): d["same_map"] for u, v, d in G1.edges(data=True)}
    e2 = {(u, v): d["same_map"] for u, v, d in G2.edges(data=True)}
    assert e1 == e2 and len(e1) > len(rs) - 1
    for u, v, d in G1.edges(data=True):
        assert d["facet"] == G2.edges[u, v]["facet"]


def test_unbounded_general_domain():
    """A half-plane: unbounded but not R^d -> the LP splitter."""
    net = random_network([2, 3, 3, 1], seed=13)
    H = pr.Polyhedron.from_inequalities([[1, 1]], [1])
    it = regions(net, H)
    rs = list(it)
    assert it.stats["engine"] == "fast-lp"
    check_regions(net, H, rs)
    assert sorted(r.pattern for r in rs) == patterns(net, H, "tree")


# ------------------------------------------- hard tanh on R^d (orthants)
def _hard_tanh_layer(W, b=None):
    """One hard tanh layer z = W x + b and the sum as output."""
    b = [0] * len(W) if b is None else b
    return pr.Network.from_weights([(W, b), ([[1] * len(W)], [0])], activation="hard_tanh")


@pytest.mark.parametrize("W, expect", [
    ([["1/2"]], 3),                                  # R^1: x < -2, |x| < 2, x > 2
    ([[1, 1]], 3),                                   # R^2: two parallel lines, no vertex
    ([[1, 0], [1, 1]], 9),                           # R^2: 3 x 3
    ([[1, 0, 0], [0, 2, -1]], 9),                    # R^3: prisms, no cell has a vertex
    ([[1, 0, 0], [0, 1, 0], [1, 1, 1]], 27),         # R^3: 3 x 3 x 3
])
def test_whole_space_hard_tanh_closed_form(W, expect):
    """k hard tanh units with independent directions split R^d into 3^k regions
    (the slabs -1 < z_i < 1 are products); whole-space cells lacking a finite
    vertex must survive the orthant split (directions carry no threshold)."""
    net = _hard_tanh_layer(W)
    it = regions(net)
    rs = list(it)
    assert it.stats["engine"] == "fast-orthants"
    check_regions(net, None, rs)
    assert len(rs) == expect
    assert sorted(r.pattern for r in rs) == sorted(((p,) for p in
                                                    itertools.product(range(3), repeat=len(W))))
    assert sorted(r.pattern for r in rs) == patterns(net, None, "tree") == patterns(net, None, "lp")


@pytest.mark.slow
@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10 ** 6), st.sampled_from([1, 2, 3]),
       st.sampled_from([None, {3: [1]}]), st.sampled_from([1, 2, 8]))
def test_whole_space_hard_tanh_engines_agree(seed, d, skips, den):
    """Random hard tanh networks on R^d: fast (orthants) == tree == lp."""
    net = random_network([d, 3, 3, 3, 1], seed=seed, denominator=den, scale=3, skips=skips,
                         activation="hard_tanh")
    it = regions(net)
    rs = list(it)
    assert it.stats["engine"] == "fast-orthants"
    check_regions(net, None, rs)
    assert sorted(r.pattern for r in rs) == patterns(net, None, "tree") == patterns(net, None, "lp")


def test_whole_space_hard_tanh_audit_cases():
    """The audit's failing networks (crash: a cell with no finite vertex; or
    1 region instead of 11)."""
    for seed, widths, skips in ((2, [2, 2, 2, 2, 1], None), (14, [2, 3, 3, 3, 1], {3: [1]}),
                                (23, [3, 2, 2, 2, 1], None)):
        net = random_network(widths, seed=seed, denominator=2, scale=3, skips=skips,
                             activation="hard_tanh")
        rs = list(regions(net))
        check_regions(net, None, rs)
        assert sorted(r.pattern for r in rs) == patterns(net, None, "tree")


# -------------------------------------------------- float overflow
BIG = F(1.7e308)


def test_overflowing_float_values_go_exact():
    """Float values overflow to inf while the error bound stays finite: the
    filter must not decide (exact z(1,1,1) = 2A - 2C < 0 although fl gives +inf)."""
    A, C = BIG, F(1.75e308)
    net = pr.Network.from_weights([([[A, A, -C]], [-C]), ([[1]], [0])])
    D = pr.Polyhedron.box([0, 0, 0], [1, 1, 1])
    it = regions(net, D)
    rs = list(it)
    assert it.stats["engine"] == "fast-vrep"
    check_regions(net, D, rs)
    for r in rs:
        Ar, br = r.inequalities
        for v in r.vertices:
            assert D.contains(v)
            assert all(sum((a * x for a, x in zip(row, v)), F(0)) <= bi
                       for row, bi in zip(Ar, br))
        assert set(r.vertices) == set(r.polyhedron.vertices)
    assert sorted(r.pattern for r in rs) == patterns(net, D, "tree")


@pytest.mark.parametrize("dom", [pr.Polyhedron.box([-1], [1]), BOX2,
                                 pr.Polyhedron.box([-1, -1, -1], [1, 1, 1]), None])
def test_weight_beyond_float_range(dom):
    """A weight of 10**400 has no float: every engine enumerates exactly."""
    d = 2 if dom is None else dom.ambient_dim
    W1 = [[10 ** 400] + [1] * (d - 1), [1] * d, [-1] + [F(1, 3)] * (d - 1)]
    net = pr.Network.from_weights([(W1, [0, 1, -1]), ([[1, 10 ** 400, -2]], [F(1, 2)]),
                                   ([[3]], [0])])
    fast = list(regions(net, dom))
    check_regions(net, dom, fast)
    assert sorted(r.pattern for r in fast) == patterns(net, dom, "tree") \
        == patterns(net, dom, "lp")
    assert count_regions(net, dom).activation == len(fast)


def test_linear_regions_overflowing_shadow():
    """2 relu(Ax) - relu(Ax) - relu(Ax) == 0 with A near the float maximum: the
    float shadow of the output map is inf on x > 0 (2A overflows) and 0 on
    x < 0; the exact maps are equal, so there is one linear region."""
    net = pr.Network.from_weights([([[BIG], [BIG], [BIG]], [0, 0, 0]),
                                   ([[2, -1, -1]], [0])])
    for dom in (None, pr.Polyhedron.box([-1], [1])):
        rs = list(regions(net, dom))
        assert len(rs) == 2
        assert all(net(r.interior_point) == (0,) for r in rs)
        assert count_regions(net, dom) == (2, 1, False)


# ------------------------------------------ planar domain vertex order
@pytest.mark.parametrize("swap", [False, True])
def test_polygon_domain_close_vertices(swap):
    """Two domain vertices 1e-30 apart (float angles tie): exact ordering."""
    dl = F(1, 10 ** 30)
    rows = [[-1, 0], [0, -1], [1, 0], [0, 1], [1, 1]]
    rhs = [0, 0, 1, 1, 2 - dl]
    if swap:
        rows, rhs = rows[::-1], rhs[::-1]
    D = pr.Polyhedron.from_inequalities(rows, rhs)
    net = pr.Network.from_weights([([[1, -1]], [0]), ([[1]], [0])])
    it = regions(net, D)
    rs = list(it)
    assert it.stats["engine"] == "fast-planar"
    check_regions(net, D, rs)
    assert len(rs) == 2 and sorted(r.pattern for r in rs) == patterns(net, D, "tree")


def test_polygon_domain_vertex_cluster():
    """Vertices on the parabola y = x^2, four of them within 3e-20 of the origin."""
    e = F(1, 10 ** 20)
    ts = [0, e, 2 * e, 3 * e, F(1), F(-1), F(1, 2)]
    D = pr.Polyhedron.from_vertices([[t, t * t] for t in ts])
    assert len(D.vertices) == len(ts)
    net = random_network([2, 4, 3, 1], seed=5)
    rs = list(regions(net, D))
    check_regions(net, D, rs)
    assert sorted(r.pattern for r in rs) == patterns(net, D, "tree")


def test_subnormal_weight_goes_exact():
    """A subnormal weight (3/4 * 2**-1074) rounds to 2**-1074 with 33 %
    relative error, which u |W| does not bound; times a 2**200 map the float
    shadow of z2 at x = 1 is positive while the exact value is negative."""
    w2 = F(3, 4) / 2 ** 1074
    b2 = -F(9, 10) / 2 ** 874
    for d in (1, 2, 3):
        net = pr.Network.from_weights([([[2 ** 200] + [0] * (d - 1)], [0]), ([[w2]], [b2]),
                                       ([[1]], [0])])
        D = pr.Polyhedron.box([0] * d, [1] * d)
        rs = list(regions(net, D))
        check_regions(net, D, rs)
        # z2 = (3/4 * 2**-874) x0 - 9/10 * 2**-874 < 0 on the whole box
        assert [r.pattern for r in rs] == [((1,), (0,))] == patterns(net, D, "tree")


def test_domain_with_more_facets_than_one_mask_word():
    """120 facets: the incidence masks of the V-polytope engine take two
    words (64 bits each); same regions as the tree engine, areas sum."""
    D = pr.Polyhedron.from_vertices([[F(k, 100), F(k * k, 10000)] for k in range(-60, 61)])
    assert len(D.inequalities[0]) == 121
    net = random_network([2, 4, 3, 1], seed=4, scale=3)
    it = regions(net, D)
    rs = list(it)
    assert it.stats["engine"] == "fast-planar"
    check_regions(net, D, rs)
    assert [r.pattern for r in rs] == patterns(net, D, "tree")
    for r in rs:
        assert set(r.vertices) == set(r.polyhedron.vertices)


@pytest.mark.parametrize("slack", [60, 124])
@pytest.mark.parametrize("d", [2, 3, 4])
def test_incidence_compaction_and_widening(monkeypatch, slack, d):
    """Cells drop their non-facet constraints when their incidence masks run
    out of bits, and get another 64-bit word when that is not enough; forced
    here every round (slack 60) and with a second word (slack 124): the same
    regions, exact vertices and areas."""
    from polyrelu import _regions_frontier

    net = random_network([d, 5, 4, 1], seed=d, activation="hard_tanh" if d == 3 else "relu")
    D = pr.Polyhedron.box([-2] * d, [2] * d)
    want = list(regions(net, D))
    monkeypatch.setattr(_regions_frontier, "_SLACK", slack)
    rs = list(regions(net, D))
    assert [r.pattern for r in rs] == [r.pattern for r in want]
    check_regions(net, D, rs, volumes=d < 4)
    for r in rs[::7]:
        assert set(r.vertices) == set(r.polyhedron.vertices)


# ------------------------------------- adjacency from exact vertices (d >= 3)
def _bare(rs):
    from polyrelu.regions import Region

    return [Region(r.pattern, r.interior_point, r.net, r.domain) for r in rs]


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 10 ** 6), st.sampled_from([3, 4]), st.booleans())
def test_region_graph_vertices_vs_lp(seed, d, degenerate):
    """The vertex-based facet tests (V-representation regions) and the exact
    LP dimension test (bare regions) give the same graph; linear_regions (map
    comparison first) gives the components of its same_map edges."""
    import random

    import networkx as nx

    rng = random.Random(seed)
    if degenerate:  # small integers, zero biases: facets meet in many vertices
        n1 = rng.randint(2, 4)
        W1 = [[rng.choice([-1, 0, 1, 2]) for _ in range(d)] for _ in range(n1)]
        W2 = [[rng.choice([-1, 0, 1]) for _ in range(n1)] for _ in range(2)]
        net = pr.Network.from_weights([(W1, [rng.choice([0, 1]) for _ in range(n1)]),
                                       (W2, [0, 0]), ([[rng.choice([0, 1]), 1]], [0])])
    else:
        net = random_network([d, 3, 2, 1], seed=seed, scale=2)
        (W1, b1), (W2, b2), (W3, b3) = net.weights()
        net = pr.Network.from_weights([(W1, b1), (W2, b2), ([[0, W3[0][1]]], b3)])
    D = pr.Polyhedron.box([-1] * d, [1] * d)
    rs = list(regions(net, D))
    G1, G2 = region_graph(rs), region_graph(_bare(rs))
    e1 = {(u, v): x["same_map"] for u, v, x in G1.edges(data=True)}
    e2 = {(u, v): x["same_map"] for u, v, x in G2.edges(data=True)}
    assert e1 == e2
    H = nx.Graph()
    H.add_nodes_from(range(len(rs)))
    H.add_edges_from(k for k, same in e2.items() if same)
    comps = sorted(sorted(rs[i].pattern for i in c) for c in nx.connected_components(H))
    assert sorted(sorted(L.patterns) for L in linear_regions(net, D, region_list=rs)) == comps


def test_linear_regions_3d_dropped_unit():
    """A last-layer unit with output weight 0 does not change the function: the
    linear regions are those of the network without it, and equal its
    activation regions when all of its adjacent regions have distinct maps."""
    D = pr.Polyhedron.box([-1, -1, -1], [1, 1, 1])
    generic = 0
    for seed in (21, 22, 27, 28, 29):
        net = random_network([3, 4, 3, 1], seed=seed)
        (W1, b1), (W2, b2), (W3, b3) = net.weights()
        dropped = pr.Network.from_weights([(W1, b1), (W2, b2),
                                           ([[W3[0][0], W3[0][1], 0]], b3)])
        reduced = pr.Network.from_weights([(W1, b1), (W2[:2], b2[:2]), ([W3[0][:2]], b3)])
        red = count_regions(reduced, D)
        full = count_regions(dropped, D)
        assert full.linear == red.linear <= full.activation
        generic += red.activation == red.linear < full.activation
    assert generic


def _normalised(A, b):
    out = set()
    for a, bi in zip(A, b):
        k = next(abs(v) for v in a if v)
        out.add((tuple(v / k for v in a), bi / k))
    return out


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 10 ** 6), st.sampled_from([3, 4, 5]), st.booleans())
def test_vrep_inequalities_match_cdd(seed, d, degenerate):
    """Region.inequalities read off the exact vertices (d >= 3) equals the
    minimal H-representation computed by Polyhedron (up to positive scaling)."""
    import random

    rng = random.Random(seed)
    if degenerate:  # zero biases, tiny integers, a box with a vertex at 0
        W1 = [[rng.choice([-1, 0, 1, 2]) for _ in range(d)] for _ in range(rng.randint(2, 4))]
        W2 = [[rng.choice([-1, 0, 1]) for _ in W1]] * 2  # duplicate units
        net = pr.Network.from_weights([(W1, [0] * len(W1)), (W2, [0, 0]), ([[1, 1]], [0])],
                                      activation=rng.choice(["relu", "hard_tanh"]))
        D = pr.Polyhedron.box([0] * d, [1] * d)
    else:
        net = random_network([d, 3, 3, 1], seed=seed,
                             activation=rng.choice(["relu", "leaky_relu", "hard_tanh"]))
        cube = [[int(i == j) for j in range(d)] for i in range(d)]
        D = pr.Polyhedron.from_inequalities([[1] * d, [-1] * d] + cube + [[-v for v in r] for r in cube],
                                            [1, 1] + [1] * (2 * d))
    rs = list(regions(net, D))
    assert "_hverts" in rs[0]._cache
    for r in rs:
        assert _normalised(*r.inequalities) == _normalised(*r.polyhedron.inequalities)


_ACAS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "onnx",
                     "ACASXU_run2a_1_1_batch_2000.onnx")


@pytest.mark.skipif(not os.path.exists(_ACAS), reason="ACAS Xu model not available")
def test_vrep_inequalities_match_cdd_on_acas():
    """The cheap exact route for output (issue 19): on ACAS Xu in 5-D the
    facet rows read off the vertices (about 5 ms a region) are the minimal
    H-representation of the LP route (an LP per row, about 320 ms)."""
    from polyrelu.io import load

    acas = load(_ACAS)
    D = pr.Polyhedron.box([0] * 5, [1] * 5)
    rs = list(regions(acas, D, max_regions=4))
    for r in rs:
        assert "_hverts" in r._cache
        assert _normalised(*r.inequalities) == _normalised(*r.polyhedron.inequalities)


# ------------------------------------------- slices through input skips
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10 ** 6), k=st.sampled_from([1, 2]),
       act=st.sampled_from(["relu", "leaky_relu", "hard_tanh"]))
def test_slices_of_networks_with_input_skips(seed, k, act):
    # x = x0 + U t through a net with a skip from the input: the restricted net
    # carries an input map (Network.restrict); every engine must use nu_0 =
    # x0 + U t, and agree with folds' independent splitter (which only uses
    # Network.layer_maps) and with exact evaluation.
    import random

    from polyrelu.folds import _fallback_cells

    rng = random.Random(seed)
    net = random_network([3, 3, 3, 2, 1], seed=seed, activation=act,
                         skips={3: [1], 2: [0]} if seed % 2 else {2: [0]})
    x0 = [F(rng.randint(-4, 4), rng.randint(1, 3)) for _ in range(3)]
    U = [[F(rng.randint(-3, 3), rng.randint(1, 4)) for _ in range(k)] for _ in range(3)]
    if all(U[i][j] == 0 for i in range(3) for j in range(k)) or (
            k == 2 and U[0][0] * U[1][1] - U[0][1] * U[1][0] == 0
            and U[0][0] * U[2][1] - U[0][1] * U[2][0] == 0
            and U[1][0] * U[2][1] - U[1][1] * U[2][0] == 0):
        return  # not a k-dimensional slice
    sub = net.restrict(x0, U)
    assert sub.input_map is not None and sub.input_dim == k
    dom = pr.Polyhedron.box([-2] * k, [2] * k)
    rs = list(regions(sub, dom))
    check_regions(sub, dom, rs)
    for r in rs:   # the slice net is the original net on x0 + U t
        t = r.interior_point
        x = tuple(a + sum(u * tj for u, tj in zip(row, t)) for a, row in zip(x0, U))
        assert net(x) == sub(t) and net.pattern(x) == r.pattern
    want = sorted(patterns(sub, dom, engine) for engine in ("tree", "lp"))
    assert want == [sorted(r.pattern for r in rs)] * 2
    indep = sorted(tuple(tuple(b) for b in p) for p, _ in _fallback_cells(sub, dom)[0])
    assert indep == sorted(r.pattern for r in rs)


@pytest.mark.parametrize("with_map", [False, True])
def test_float_filter_radius_of_a_cancelling_skip_sum(with_map):
    # u = nu_3 + nu_1 + nu_2 = -1 + (2^-60 + 2^-70 x) + 1: the float sum cancels
    # to 0 in the middle (-1 + 2^-60 -> -1); the radius must bound the rounding
    # of every partial sum, not |final sum|, or the filter proves wrong signs
    if with_map:
        base = pr.Network.from_weights(
            [([[0]], [2]), ([[0]], [-2]), ([[2 ** 70]], [-1024]), ([[1]], [0])],
            skips={3: [0, 1]}, activation="hard_tanh")
        net = base.restrict([F(1, 2 ** 60)], [[F(1, 2 ** 70)]])   # z3 = t
    else:
        net = pr.Network.from_weights(
            [([[F(1, 2 ** 70)]], [F(1, 2 ** 60)]), ([[0]], [2]), ([[0]], [-2]),
             ([[2 ** 70]], [-1024]), ([[1]], [0])],
            skips={4: [1, 2]}, activation="hard_tanh")            # z4 = x
    dom = pr.Polyhedron.box([-4], [4])
    want = {net.pattern([t]) for t in (-4, 0, 4)}
    assert len(want) == 3                      # independent: exact evaluation
    for engine in ("fast", "tree", "lp"):
        rs = list(regions(net, dom, engine=engine))
        assert {r.pattern for r in rs} == want, engine
        check_regions(net, dom, rs)
