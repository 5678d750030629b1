"""Decision regions (polyrelu/decision.py) and their GF(2) Betti numbers
(polyrelu/homology.py), checked against closed forms, exact evaluation,
brute-force adjacency and a second topological computation."""

from __future__ import annotations

import random
from fractions import Fraction
from itertools import combinations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polyrelu as pr
from polyrelu import decision, homology
from polyrelu.exceptions import DomainError, LimitError

F = Fraction


def argmax(y):
    m = max(y)
    return y.index(m)


def box(r, d=2):
    return ([-r] * d, [r] * d)


# ------------------------------------------------------------------ nets

def ring_net(extra_input=False):
    """Class 1 where 1 < |x|_inf < 3 (y1 - y0 = 2 - |2|x|_inf - 4|)."""
    W1 = [[1, 1], [-1, -1], [1, -1], [-1, 1]]
    if extra_input:
        W1 = [row + [0] for row in W1]
    return pr.Network.from_weights([
        (W1, [0, 0, 0, 0]),
        ([[1, 1, 1, 1], [-1, -1, -1, -1]], [-4, 4]),
        ([[1, 1], [0, 0]], [0, 2])])


def checkerboard_net():
    """y1 = |s(x)+s(y)| - |s(x)-s(y)| with s = 1 - |.|: the sign of s(x) s(y),
    a 3x3 board on [-3, 3]^2 (class 1: centre and corners)."""
    return pr.Network.from_weights([
        ([[1, 0], [-1, 0], [0, 1], [0, -1]], [0, 0, 0, 0]),
        ([[-1, -1, -1, -1], [1, 1, 1, 1], [-1, -1, 1, 1], [1, 1, -1, -1]], [2, -2, 0, 0]),
        ([[0, 0, 0, 0], [1, 1, -1, -1]], [0, 0])])


def torus_net():
    """Class 1 on the solid torus {1 < |(x, y)|_inf < 3, |z| < 1} in [-4, 4]^3:
    y1 = min(a, b) with a = 2 - |2|(x,y)|_inf - 4|, b = 1 - |z|."""
    W1 = [[1, 1, 0], [-1, -1, 0], [1, -1, 0], [-1, 1, 0], [0, 0, 1], [0, 0, -1]]
    W2 = [[1, 1, 1, 1, 0, 0], [-1, -1, -1, -1, 0, 0], [0, 0, 0, 0, 1, 1]]
    # layer 3 on (r1, r2, |z|): relu(a), relu(-a), relu(a - b)
    W3 = [[-1, -1, 0], [1, 1, 0], [-1, -1, 1]]
    return pr.Network.from_weights([
        (W1, [0] * 6), (W2, [-4, 4, 0]), (W3, [2, -2, 1]),
        ([[0, 0, 0], [1, -1, -1]], [0, 0])])


def octahedron_net():
    """Class 1 where |x|_1 < 1 (y0 = |x|_1, y1 = 1)."""
    W1 = [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]]
    return pr.Network.from_weights([(W1, [0] * 6), ([[1] * 6, [0] * 6], [0, 1])])


def random_net(widths, seed, scale=3):
    rng = random.Random(seed)
    layers = []
    for a, b in zip(widths, widths[1:]):
        W = [[rng.randint(-scale, scale) for _ in range(a)] for _ in range(b)]
        c = [rng.randint(-scale, scale) for _ in range(b)]
        layers.append((W, c))
    return pr.Network.from_weights(layers)


# ------------------------------------------------------------ cross-checks

def check_cells(net, dom, dr):
    """Exact invariants: argmax at interior points, volumes, membership."""
    P = pr.Polyhedron.box(*dom)
    assert sum(c.volume for c in dr) == P.volume()
    assert sum(c.volume for c in dr.cells) == P.volume()
    for k, cls in enumerate(dr):
        assert cls.label == k
        assert cls.volume == sum(dr.cells[i].volume for i in cls.cells)
        assert sorted(i for comp in cls.components for i in comp) == sorted(cls.cells)
    for c in dr.cells:
        x = c.interior_point
        assert all(a_dot(a, x) < b for a, b in c.rows), "not strictly inside"
        assert argmax(list(net(x))) == c.label
        assert c.polyhedron.is_full_dimensional()
    rng = random.Random(1)
    lo, hi = dom
    for _ in range(30):
        x = tuple(F(rng.randint(lo[k] * 997, hi[k] * 997), 997) for k in range(len(lo)))
        y = list(net(x))
        labels = {c.label for c in dr.cells if c.contains(x)}
        assert labels, x
        assert all(y[j] == max(y) for j in labels)
        assert argmax(y) in labels


def a_dot(a, x):
    return sum(ai * xi for ai, xi in zip(a, x))


def brute_components(dr, d):
    """Union-find over all same-class pairs whose cells meet in a (d-1)-face
    (decided by a Polyhedron of both row sets, not by facet keys)."""
    cells = dr.cells
    parent = list(range(len(cells)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in combinations(range(len(cells)), 2):
        if cells[i].label != cells[j].label:
            continue
        rows = cells[i].rows + cells[j].rows
        P = pr.Polyhedron.from_inequalities([a for a, _ in rows], [b for _, b in rows],
                                            ambient_dim=d)
        if P.dim == d - 1:
            parent[find(i)] = find(j)
    out = {}
    for i, c in enumerate(cells):
        out.setdefault(c.label, set()).add(find(i))
    return {k: len(v) for k, v in out.items()}


def euler_b1_2d(dr, label):
    """b1 = b0 - chi(V) with chi from the nerves (a second route to b1)."""
    cells = list(dr.cells)
    others = {i for i, c in enumerate(cells) if c.label != label}
    pts = decision._point_index(cells, 2)
    touching = decision._touching_pairs(cells, others, 2, pts)
    rows = tuple(zip(*dr.domain.inequalities))
    chi = decision.euler_of_region(cells, others, touching, 2, rows)
    return dr[label].betti[0] - chi


def signature(dr):
    return (frozenset((c.label, frozenset(c.vertices)) for c in dr.cells),
            tuple((c.volume, c.betti, len(c.components)) for c in dr),
            frozenset((p.classes, frozenset(p.vertices)) for p in dr.boundary))


# ---------------------------------------------------------------- closed forms

def test_linear_classifier_half_planes():
    net = pr.Network.from_weights([([[1, 0], [-1, 0], [0, 1]], [0, 0, F(1, 2)])])
    dom = box(2)
    dr = pr.decision_regions(net, dom)
    check_cells(net, dom, dr)
    # class 2 wins where y >= |x| - 1/2 ... each class a convex polygon
    assert [len(c.cells) for c in dr] == [1, 1, 1]
    assert [c.betti for c in dr] == [(1, 0), (1, 0), (1, 0)]
    assert not dr.partial and dr.reason is None
    # boundary: the three rays of the arrangement cut to the box
    assert sorted(p.classes for p in dr.boundary) == [(0, 1), (0, 2), (1, 2)]
    for p in dr.boundary:
        i, j = p.classes
        for v in p.vertices:
            y = net(v)
            assert y[i] == y[j] == max(y)


def test_half_planes_through_a_hidden_layer():
    # a hidden layer that is the identity on x1 > 0 and cuts x1 < 0 in two
    net = pr.Network.from_weights([([[1, 0], [-1, 0]], [0, 0]), ([[1, -1], [-1, 1]], [0, 0])])
    dom = box(1)
    dr = pr.decision_regions(net, dom)
    check_cells(net, dom, dr)
    assert [c.volume for c in dr] == [2, 2]
    assert [c.betti for c in dr] == [(1, 0), (1, 0)]


def test_annulus_has_b1_one():
    net, dom = ring_net(), box(4)
    dr = pr.decision_regions(net, dom)
    check_cells(net, dom, dr)
    assert dr[1].volume == 36 - 4 and dr[0].volume == 4 + 64 - 36
    assert dr[1].betti == (1, 1)
    assert dr[0].betti == (2, 1)          # the inner square and the outer frame
    assert euler_b1_2d(dr, 0) == 1 and euler_b1_2d(dr, 1) == 1
    assert brute_components(dr, 2) == {0: 2, 1: 1}
    # the boundary: the two squares |x|_inf = 1 and 3 (perimeters 8 and 24)
    length = 0
    for p in dr.boundary:
        (a, b) = p.vertices
        assert a[0] == b[0] or a[1] == b[1]
        length += abs(a[0] - b[0]) + abs(a[1] - b[1])
        for v in p.vertices:
            assert max(abs(v[0]), abs(v[1])) in (1, 3)
    assert length == 8 + 24


def test_annulus_on_a_smaller_domain_touches_the_boundary():
    # on [-2, 2]^2 the ring reaches the boundary but still surrounds the
    # inner square; on the half box x1 >= 0 it is a U: no hole any more
    net, dom = ring_net(), box(2)
    dr = pr.decision_regions(net, dom)
    check_cells(net, dom, dr)
    assert dr[1].betti == (1, 1) and dr[0].betti == (1, 0)
    dom = ([0, -4], [4, 4])
    dr = pr.decision_regions(net, dom)
    check_cells(net, dom, dr)
    assert dr[1].betti == (1, 0) and dr[0].betti == (2, 0)
    assert euler_b1_2d(dr, 0) == 0 and euler_b1_2d(dr, 1) == 0


def test_checkerboard_components():
    net, dom = checkerboard_net(), box(3)
    dr = pr.decision_regions(net, dom)
    check_cells(net, dom, dr)
    assert dr[1].volume == 20 and dr[0].volume == 16
    # squares touching only at corners are separate components
    assert dr[1].betti == (5, 0) and dr[0].betti == (4, 0)
    assert brute_components(dr, 2) == {0: 4, 1: 5}
    assert euler_b1_2d(dr, 0) == 0 and euler_b1_2d(dr, 1) == 0
    areas = sorted(sum(dr.cells[i].volume for i in comp) for comp in dr[1].components)
    assert areas == [4] * 5


def test_permuted_and_scaled_copy_gives_identical_regions():
    net = ring_net()
    layers = [(list(map(list, W)), list(b)) for W, b in net.weights()]
    # permute the first hidden layer, scale its units by 2, 1/3, 5, 1 (positive)
    perm, s = [2, 0, 3, 1], [F(2), F(1, 3), F(5), F(1)]
    W1, b1 = layers[0]
    W2, b2 = layers[1]
    nW1 = [[s[k] * v for v in W1[perm[k]]] for k in range(4)]
    nb1 = [s[k] * b1[perm[k]] for k in range(4)]
    nW2 = [[row[perm[k]] / s[k] for k in range(4)] for row in W2]
    copy = pr.Network.from_weights([(nW1, nb1), (nW2, b2), layers[2]])
    dom = box(4)
    assert signature(pr.decision_regions(net, dom)) == signature(pr.decision_regions(copy, dom))


def test_one_dimensional():
    net = pr.Network.from_weights([([[1], [-1]], [0, 0]), ([[1, 1], [0, 0]], [-1, 0])])
    dr = pr.decision_regions(net, ([-3], [3]))       # class 0 where |x| > 1
    assert [c.volume for c in dr] == [4, 2]
    assert [c.betti for c in dr] == [(2,), (1,)]
    assert sorted(p.vertices for p in dr.boundary) == [((F(-1),),), ((F(1),),)]


@pytest.mark.slow
def test_three_d_solid_torus():
    net, dom = torus_net(), box(4, 3)
    dr = pr.decision_regions(net, dom)
    check_cells(net, dom, dr)
    assert dr[1].volume == (36 - 4) * 2
    assert dr[1].betti == (1, 1, 0)
    assert dr[0].betti == (1, 1, 1)      # a loop through the hole, a cavity
    assert brute_components(dr, 3) == {0: 1, 1: 1}


def test_three_d_ball_and_slab_ring():
    net, dom = octahedron_net(), box(2, 3)
    dr = pr.decision_regions(net, dom)
    check_cells(net, dom, dr)
    assert dr[1].volume == F(4, 3)
    assert dr[1].betti == (1, 0, 0)
    assert dr[0].betti == (1, 0, 1)      # the cube around an octahedral cavity
    cells = list(dr.cells)
    pts = decision._point_index(cells, 3)
    rows = tuple(zip(*dr.domain.inequalities))
    for label in (0, 1):
        others = {i for i, c in enumerate(cells) if c.label != label}
        touching = decision._touching_pairs(cells, others, 3, pts)
        # chi(K n bd D) from the vertices on bd D and from exact LPs agree
        assert decision.euler_of_region(cells, others, touching, 3, rows, pts) == \
            decision.euler_of_region(cells, others, touching, 3, rows) == \
            dr[label].betti[0] - dr[label].betti[1] + dr[label].betti[2]
    net = ring_net(extra_input=True)
    dr = pr.decision_regions(net, ([-4, -4, -1], [4, 4, 1]))
    assert dr[1].betti == (1, 1, 0) and dr[0].betti == (2, 1, 0)
    assert [c.volume for c in dr] == [64, 64]


# ------------------------------------------------------------ limits, errors

def test_limits_give_partial_results():
    net, dom = checkerboard_net(), box(3)
    full = pr.decision_regions(net, dom)
    dr = pr.decision_regions(net, dom, max_regions=3)
    assert dr.partial and "max_regions=3" in dr.reason
    assert all(c.betti is None for c in dr)
    assert 0 < len(dr.cells) < len(full.cells)
    assert {(c.label, frozenset(c.vertices)) for c in dr.cells} <= \
        {(c.label, frozenset(c.vertices)) for c in full.cells}
    b = pr.budget.Budget()
    b.interrupt()
    dr = pr.decision_regions(net, dom, budget=b)
    assert dr.partial and dr.cells == ()
    it = pr.decision_cells(net, dom, max_regions=2)
    cells = list(it)
    assert it.partial and cells


def test_bad_input():
    net = ring_net()
    with pytest.raises(DomainError, match="bounded"):
        pr.decision_regions(net, None)
    with pytest.raises(DomainError, match="dimension"):
        pr.decision_regions(net, box(1, 3))
    with pytest.raises(LimitError):
        pr.decision_regions(net, box(1), time_limit=0)


# ------------------------------------------------------------------ homology

def test_simplicial_betti_closed_forms():
    assert homology.simplicial_betti([(0, 1, 2)]) == (1, 0, 0)
    assert homology.simplicial_betti([(0, 1), (1, 2), (2, 0), (3,)]) == (2, 1)
    # the boundary of a tetrahedron: a sphere
    assert homology.simplicial_betti(combinations(range(4), 3)) == (1, 0, 1)


def test_nerve_euler_matches_simplicial_betti():
    # intervals [k, k+1] on a line, and a cycle of arcs
    items = list(range(5))
    pairs = [(k, k + 1) for k in range(4)]
    assert homology.nerve_euler(items, lambda s: False, pairs) == 1
    cyc = pairs + [(4, 0)]
    b = homology.simplicial_betti(cyc)
    assert homology.nerve_euler(items, lambda s: False, cyc) == b[0] - b[1] == 0


# --------------------------------------------------------------- properties

@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10 ** 6), st.sampled_from([(2, 3, 3), (2, 4, 3), (2, 3, 3, 2)]))
def test_random_small_nets(seed, widths):
    net = random_net(widths, seed)
    dom = box(3)
    dr = pr.decision_regions(net, dom)
    check_cells(net, dom, dr)
    comps = brute_components(dr, 2)
    for cls in dr:
        assert len(cls.components) == comps.get(cls.label, 0) == (cls.betti or (0,))[0]
        if cls.cells:
            assert euler_b1_2d(dr, cls.label) == cls.betti[1]
    for p in dr.boundary:
        i, j = p.classes
        assert i < j
        for v in p.vertices:
            y = net(v)
            assert y[i] == y[j] == max(y)


# ---------------------------------------------------------------------- CLI

def test_plot_decision_cli(tmp_path, capsys):
    import json

    from polyrelu.cli import main

    model = tmp_path / "ring.json"
    ring_net().save(str(model))
    out = tmp_path / "out"
    assert main(["plot", str(model), "--decision", "--box=-4,4", "--out", str(out),
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [c["betti"] for c in doc["classes"]] == [[2, 1], [1, 1]]
    assert [c["area"] for c in doc["classes"]] == ["32", "32"]
    assert doc["partial"] is False and (out / "decision.png").stat().st_size > 1000
    # a 2-D slice of a 3-input model: the plane z = 0 through the slab ring
    model3 = tmp_path / "ring3.json"
    ring_net(extra_input=True).save(str(model3))
    assert main(["plot", str(model3), "--decision", "--slice", "0,0,0", "1,0,0", "0,1,0",
                 "--box=-4,4", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "class 1:" in text and "betti (1, 1), area 32" in text
    # limits: a partial plot says so
    assert main(["plot", str(model), "--decision", "--box=-4,4", "--out", str(out),
                 "--max-regions", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["partial"] is True and doc["classes"][0]["betti"] is None


def test_time_limit_covers_the_topology():
    # the solid torus: mostly exact LPs of the 3-D topology (about 1 s on an
    # idle machine, 20 s on a loaded one); a third of the time of a whole run
    # stops within the enumeration or the topology, partial either way
    from _timing import Stopwatch, on_time

    net, dom = torus_net(), box(4, 3)
    with Stopwatch() as whole:
        assert not pr.decision_regions(net, dom).partial
    limit = max(0.05, whole.wall / 3)
    with Stopwatch() as sw:
        dr = pr.decision_regions(net, dom, time_limit=limit)
    assert dr.partial and dr.reason and "time limit" in dr.reason
    assert all(c.betti is None for c in dr)
    assert on_time(sw, limit)
