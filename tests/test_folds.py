"""Tests for polyrelu.folds: fold sets, canonical pwl surfaces, dependency graphs,
general/transparent networks and the Lemma A.17 construction (Phuong & Lampert)."""

from fractions import Fraction as F

import networkx as nx
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import polyrelu as pr
from polyrelu.folds import (
    FoldPiece,
    PiecewiseLinearSurface,
    _covered,
    _in_hyperplane_coords,
    construct_identifiable_network,
    fold_set,
    fold_surface,
    fold_surface_on_image,
    hyperplane_str,
    identify_first_layer,
    is_general,
    is_transparent,
    match_layer,
    normalize_hyperplane,
    unit_fold_sets,
)
from polyrelu.network import random_network

BOX = pr.Polyhedron.box([-1, -1], [1, 1])
BOX2 = pr.Polyhedron.box([-2, -2], [2, 2])

# A general, transparent 2-2-2-1 network (checked below) whose fold set has one
# second-layer fold that is a full line: the situation of P&L Figure 2.
GT = pr.Network.from_weights([([[1, "1/4"], [-1, "1/2"]], [1, 1]),
                              ([[1, -2], [-1, "3/2"]], ["1/8", 1]),
                              ([[1, 2]], [0])])


def cuts(h, P):
    vals = [sum(a * b for a, b in zip(h[0], v)) + h[1] for v in P.vertices]
    return any(v > 0 for v in vals) and any(v < 0 for v in vals)


def line_kink(net, p, n):
    """Exact one-sided slopes of t -> net(p + t n) at t = 0 (scalar output).

    The step t is halved until net is affine on [-t, 0] and on [0, t] at three
    interior points each (a PL function with finitely many breakpoints)."""
    def g(t):
        return net([pi + t * ni for pi, ni in zip(p, n)])[0]

    t = F(1, 4)
    for _ in range(60):
        ok = True
        for s in (1, -1):
            a, b = g(0), g(s * t)
            for frac in (F(1, 3), F(1, 2), F(3, 4)):
                if g(s * t * frac) != a + (b - a) * frac:
                    ok = False
        if ok:
            return (g(t) - g(0)) / t, (g(0) - g(-t)) / t
        t /= 2
    raise AssertionError("no linear neighbourhood found")


# ------------------------------------------------------------------ basics

def test_normalize_hyperplane_unique_and_exact():
    assert normalize_hyperplane([0, -2, 4], 6) == normalize_hyperplane([0, 1, -2], -3)
    assert normalize_hyperplane(["1/3", 1], 1) == ((F(1), F(3)), F(3))
    with pytest.raises(pr.ShapeError):
        normalize_hyperplane([0, 0], 1)
    assert hyperplane_str(((F(1), F(-1, 2)), F(3))) == "x1 - 1/2*x2 + 3 = 0"


def test_covered_exact():
    seg = pr.Polyhedron.box([0, 0], [2, 0])
    a = pr.Polyhedron.box([0, -1], [1, 1])
    b = pr.Polyhedron.box([1, -1], [2, 1])
    assert _covered(seg, [a, b])
    assert not _covered(seg, [a])
    assert not _covered(seg, [a, pr.Polyhedron.box([F(3, 2), -1], [2, 1])])
    # a segment on the boundary of a part is covered by it
    assert _covered(pr.Polyhedron.box([0, 1], [1, 1]), [a])


def test_bad_inputs():
    net = random_network([2, 2, 1], seed=0)
    with pytest.raises(pr.DomainError):
        fold_surface(net, pr.Polyhedron.box([0, 0, 0], [1, 1, 1]))
    with pytest.raises(pr.DomainError):
        fold_surface(net, pr.Polyhedron.box([0, 0], [1, 0]))
    with pytest.raises(pr.PolyreluError):
        fold_surface(net, BOX, of="neurons")
    with pytest.raises(pr.NetworkError):
        construct_identifiable_network([2, 3, 1], BOX)        # increasing widths
    with pytest.raises(pr.ShapeError):
        PiecewiseLinearSurface.from_pieces([BOX], BOX)        # not (d-1)-dimensional


# ------------------------------------------------------------- fold sets

def test_fold_pieces_are_kinks_by_exact_evaluation():
    """Every fold facet is a kink of the function; every non-fold facet is not."""
    seen = set()
    for net in (GT, random_network([2, 3, 2, 1], seed=0)):
        U = unit_fold_sets(net, BOX2)
        for piece, is_fold in U.folds.items():
            p = piece.polyhedron.interior_point()
            n = piece.hyperplane[0]
            right, left = line_kink(net, p, n)
            assert (right != left) == is_fold, piece
            seen.add(is_fold)
    assert seen == {True, False}


def test_fold_set_merged_pieces_cover_same_set():
    fs = fold_set(GT, BOX2)
    raw = fold_set(GT, BOX2, merge=False)
    assert len(fs) <= len(raw)
    merged = [p.polyhedron for p in fs]
    unmerged = [p.polyhedron for p in raw]
    assert all(_covered(P, merged) for P in unmerged)
    assert all(_covered(P, unmerged) for P in merged)
    for p in fs:   # pieces are (d-1)-dimensional and lie on their hyperplane
        assert p.polyhedron.dim == 1
        assert all(sum(a * b for a, b in zip(p.hyperplane[0], v)) + p.hyperplane[1] == 0
                   for v in p.polyhedron.vertices)
        assert p.hyperplane == normalize_hyperplane(*p.hyperplane)


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10 ** 6), st.integers(2, 4))
def test_one_hidden_layer_all_order_one(seed, width):
    net = random_network([2, width, 1], seed=seed)
    W, b = net.layers[0].W, net.layers[0].b
    a = net.layers[1].W[0]
    S = fold_surface(net, BOX)
    hyps = [normalize_hyperplane(w, c) for w, c in zip(W, b) if any(w)]
    assume(len(set(hyps)) == len(hyps))  # two units on one hyperplane may cancel
    expected = {normalize_hyperplane(w, c) for w, c, ai in zip(W, b, a)
                if any(w) and ai != 0 and cuts(normalize_hyperplane(w, c), BOX)}
    assert S.order_of_surface <= 1 and S.is_surface
    assert {H.hyperplane for H in S.hyperplanes} == expected
    assert S.dependency_graph().number_of_edges() == 0
    # each unit's fold is the whole chord of its hyperplane: compare lengths
    U = unit_fold_sets(net, BOX)
    for (l, i), pieces in U.pieces.items():
        h = normalize_hyperplane(W[i], b[i])
        chord = BOX.add_equality(h[0], -h[1])
        total = sum(_in_hyperplane_coords(p.polyhedron, h).volume() for p in pieces)
        assert total == _in_hyperplane_coords(chord, h).volume()


def test_zero_outgoing_weight_makes_no_fold():
    W1 = [[1, 2], [-1, 1], [2, -1]]
    b1 = [F(1, 4), F(-1, 3), F(1, 5)]
    net = pr.Network.from_weights([(W1, b1), ([[1, 0, -2]], [0])])
    reduced = pr.Network.from_weights([([W1[0], W1[2]], [b1[0], b1[2]]), ([[1, -2]], [0])])
    S, R = fold_surface(net, BOX), fold_surface(reduced, BOX)
    dead = normalize_hyperplane(W1[1], b1[1])
    assert cuts(dead, BOX)
    assert dead not in {p.hyperplane for p in fold_set(net, BOX)}
    assert S.same_set(R)
    U = unit_fold_sets(net, BOX)
    assert (1, 1) in U.pieces          # the unit still has a zero set ...
    assert not any(U.folds[p] for p in U.pieces[(1, 1)])   # ... but no fold


# ------------------------------------------------------ canonical surface

def test_canonical_surface_from_pieces_matches_network_complex():
    """Two different refining complexes (activation regions vs the arrangement
    of the pieces) give the same canonical layers and dependency graph."""
    for net in (GT, random_network([2, 3, 2, 1], seed=6), random_network([2, 3, 2, 1], seed=0)):
        S = fold_surface(net, BOX2)
        T = PiecewiseLinearSurface.from_pieces(fold_set(net, BOX2).pieces, BOX2)
        assert [sorted(H.hyperplane for H in layer) for layer in S.layers] == \
               [sorted(H.hyperplane for H in layer) for layer in T.layers]
        assert S.is_surface == T.is_surface
        gs, gt = S.dependency_graph(), T.dependency_graph()
        key = {n: (d["order"], d["hyperplane"]) for n, d in gs.nodes(data=True)}
        keyt = {n: (d["order"], d["hyperplane"]) for n, d in gt.nodes(data=True)}
        assert key == keyt            # canonical names do not depend on the complex
        assert sorted(gs.edges()) == sorted(gt.edges())
        for H in S.hyperplanes:       # same closures, piece by piece (Lemma A.6)
            K = T.by_name(H.name)
            assert all(_covered(f.polyhedron, [g.polyhedron for g in K.facets])
                       for f in H.facets)
            assert all(_covered(g.polyhedron, [f.polyhedron for f in H.facets])
                       for g in K.facets)


def test_canonical_definition_on_hand_made_surface():
    """A full line, a half line attached to it, and a dangling segment."""
    D = pr.Polyhedron.box([-2, -2], [2, 2])
    line = pr.Polyhedron.box([-2, 0], [2, 0])          # x2 = 0: order 1
    half = pr.Polyhedron.box([0, 0], [0, 2])           # x1 = 0 above it: order 2
    S = PiecewiseLinearSurface.from_pieces([line, half], D)
    assert [[H.hyperplane for H in layer] for layer in S.layers] == \
           [[normalize_hyperplane([0, 1], 0)], [normalize_hyperplane([1, 0], 0)]]
    assert sorted(S.dependency_graph().edges()) == [("H1.0", "H2.0")]
    # splitting the pieces does not change the set, hence not the surface
    parts = [pr.Polyhedron.box([-2, 0], [F(-1, 3), 0]), pr.Polyhedron.box([F(-1, 3), 0], [2, 0]),
             pr.Polyhedron.box([0, 0], [0, 1]), pr.Polyhedron.box([0, 1], [0, 2])]
    S2 = PiecewiseLinearSurface.from_pieces(parts, D)
    assert S2.same_set(S)
    assert [[H.hyperplane for H in layer] for layer in S2.layers] == \
           [[H.hyperplane for H in layer] for layer in S.layers]
    # a segment ending inside the domain is never a piecewise hyperplane
    dangling = pr.Polyhedron.box([-1, 1], [1, 1])
    S3 = PiecewiseLinearSurface.from_pieces([line, dangling], D)
    assert not S3.is_surface and len(S3.unassigned) == 1 and S3.order_of_surface == 1


def test_order_one_layer_contains_first_layer_hyperplanes_of_general_transparent_net():
    assert is_transparent(GT, BOX2) and is_general(GT, BOX2)
    S = fold_surface(GT, BOX2)
    first = {normalize_hyperplane(w, c) for w, c in zip(GT.layers[0].W, GT.layers[0].b)}
    order1 = {H.hyperplane for H in S.layers[0]}
    assert first <= order1                      # P&L Lemma 1 + Definition A.4
    # ... but not equal here: a second-layer fold is a full line (P&L Figure 2).
    # By hand: where u1, u2 > 0, unit (2, 0) = 3 x1 - 3/4 x2 - 7/8, and on its
    # zero line u1 = x2/2 + 31/24 > 0 and u2 = x2/4 + 17/24 > 0 for x2 >= -2.
    assert order1 - first == {normalize_hyperplane([3, F(-3, 4)], F(-7, 8))}


def test_permuted_rescaled_copy_has_same_surface():
    net = GT
    (W1, b1), (W2, b2), (W3, b3) = net.weights()
    s = [F(3), F(1, 2)]                          # positive scaling of layer 1
    W1p = [[s[1] * x for x in W1[1]], [s[0] * x for x in W1[0]]]
    b1p = [s[1] * b1[1], s[0] * b1[0]]
    W2p = [[W2[i][1] / s[1], W2[i][0] / s[0]] for i in (1, 0)]
    b2p = [b2[1], b2[0]]
    W3p = [[W3[0][1], W3[0][0]]]
    copy = pr.Network.from_weights([(W1p, b1p), (W2p, b2p), (W3p, b3)])
    x = (F(1, 3), F(-2, 7))
    assert copy(x) == net(x)
    S, T = fold_surface(net, BOX2), fold_surface(copy, BOX2)
    assert S.as_set() == T.as_set() and S.same_set(T)
    assert [sorted(H.hyperplane for H in L) for L in S.layers] == \
           [sorted(H.hyperplane for H in L) for L in T.layers]


def test_dependency_graph_graphml_roundtrip(tmp_path):
    S = fold_surface(GT, BOX2)
    path = tmp_path / "g.graphml"
    S.write_graphml(path)
    G = nx.read_graphml(path)
    H = S.dependency_graph()
    assert set(G.nodes()) == set(H.nodes()) and set(G.edges()) == set(H.edges())
    for n, d in G.nodes(data=True):
        assert isinstance(d["order"], int) and isinstance(d["hyperplane"], str)
        assert d["order"] == H.nodes[n]["order"]
    for a, b in H.edges():
        assert H.nodes[a]["order"] < H.nodes[b]["order"]
    assert S.order[S.layers[1][0]] == 2
    assert all(S.order[p] == H_.order for H_ in S.hyperplanes for p in H_.pieces)


# ------------------------------------------------------- Lemma 3 / A.18

def _general_nets():
    # seeds found by scanning random_network([2, 3, 2, 1], seed) for layered
    # unit fold sets; generality is re-checked exactly here
    nets = [random_network([2, 3, 2, 1], seed=s) for s in (9, 20, 29, 40)]
    return [n for n in nets if is_general(n, BOX)]


@pytest.mark.slow
def test_lemma_A18_bound_on_random_general_nets():
    nets = _general_nets()
    assert len(nets) == 4
    for net in nets:
        lam = net.num_layers - 1
        S = fold_surface(net, BOX, of="units")
        assert S.is_surface
        U = unit_fold_sets(net, BOX)
        lp = S.longest_paths()
        for H in S.hyperplanes:
            units = U.units_containing(H.facets)
            # some unit (l, i) with l >= order contains H, and l <= lambda - m
            ok = [u for u in units if H.order <= u[0] <= lam - lp[H.name]]
            assert ok, (H, units, lp[H.name])
            lo, hi = S.layer_bounds(lam)[H.name]
            assert any(lo <= u[0] <= hi for u in units)


# ---------------------------------------------------- general / transparent

def test_is_transparent_against_exact_evaluation():
    for seed in range(6):
        net = random_network([2, 3, 2, 1], seed=seed)
        rep = is_transparent(net, BOX)
        grid = [(F(i, 4), F(j, 4)) for i in range(-3, 4) for j in range(-3, 4)]
        if rep:
            for x in grid:
                zs = net.pre_activations(x)[:-1]
                assert all(max(z) >= 0 for z in zs)
        else:
            z = net.pre_activations(rep.point)[rep.layer - 1]
            assert all(v < 0 for v in z)
            assert BOX.contains(rep.point)


def test_is_general_detects_each_condition():
    good = pr.Network.from_weights([([[1, 2], [3, -1]], [1, -1]), ([[1, 1]], [0])])
    assert is_general(good, BOX2).general is True
    # identically zero unit: conditions 1 (zero everywhere) and 3 (zero multiple)
    zero = pr.Network.from_weights([([[1, 2], [0, 0]], [1, 0]), ([[1, 1]], [0])])
    rep = is_general(zero, BOX2)
    assert rep.general is False and {c.condition for c in rep.failing} == {1, 2, 3}
    # two proportional units: condition 3 only (and the rank condition)
    dup = pr.Network.from_weights([([[1, 2], [2, 4]], [1, 2]), ([[1, 1]], [0])])
    rep = is_general(dup, BOX2)
    assert 3 in {c.condition for c in rep.failing}
    assert "multiple" in rep.conditions[2].where
    # a second-layer unit with a local minimum of value 0: relu(u1) + relu(u2)
    # is >= 0 and vanishes where both are inactive
    lm = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1], [1, -1]], [0, F(1, 3)]),
                                  ([[1, 1]], [0])])
    rep = is_general(lm, BOX2)
    assert rep.conditions[0].holds is False and "unit (2, 0)" in rep.conditions[0].where


# ------------------------------------------------- Lemma A.17 construction

def test_construction_path_property_and_identification():
    res = construct_identifiable_network([2, 2, 2, 1], BOX, seed=1)
    net, S = res.network, res.surface
    L = net.num_layers
    assert is_transparent(net, BOX)
    lp = S.longest_paths()
    starts = [v for v, m in lp.items() if m >= L - 2]
    assert len(starts) >= 2
    # the paths found really are directed paths in the graph
    G = S.dependency_graph()
    for v in starts:
        assert any(nx.has_path(G, v, w) and w != v for w in G.nodes())
    ident = identify_first_layer(S, 2, num_layers=L)
    assert ident.identified and ident.oriented
    perm, scales = match_layer(ident, net.layers[0].W, net.layers[0].b)
    assert sorted(perm) == [0, 1] and all(s > 0 for s in scales)
    # a sign flip is not a positive scaling; a perturbed row does not match at all
    W0, b0 = net.layers[0].W, net.layers[0].b
    assert match_layer(ident, [tuple(-x for x in W0[0]), W0[1]], [-b0[0], b0[1]]) is None
    assert match_layer(ident, [W0[0], W0[1]], [b0[0] + F(1, 1000), b0[1]]) is None
    for i, (j, s) in enumerate(zip(perm, scales)):   # exact proportionality
        w, c = ident.hyperplanes[j]
        assert tuple(s * x for x in w) == net.layers[0].W[i] and s * c == net.layers[0].b[i]
    # anchors: unit j vanishes, the others are positive (P&L eqs. 46-47)
    for j, z in enumerate(res.anchors[0]):
        vals = [sum(a * b for a, b in zip(w, z)) + c
                for w, c in zip(net.layers[0].W, net.layers[0].b)]
        assert vals[j] == 0 and all(v > 0 for k, v in enumerate(vals) if k != j)


def check_lemma_a17(net, domain, res=None):
    """P&L Lemma A.17 exactly: for every l, F(h^{l:L} | int Z_{l-1}) is a pwl.
    surface whose dependency graph has d_l directed paths of length L-1-l
    with distinct starting vertices (Z_{l-1} = h^{1:l-1}(D), not a subset)."""
    L = net.num_layers
    hidden = net.hidden_widths
    for l in range(1, L):
        S = fold_surface_on_image(net, domain, l)
        assert S.is_surface, l
        G = S.dependency_graph()

        def longest(v):         # independent of S.longest_paths
            return max((1 + longest(w) for w in G.successors(v)), default=0)

        starts = [v for v in G.nodes() if longest(v) >= L - 1 - l]
        assert len(starts) >= net.widths[l], (l, S.longest_paths())
        assert sorted(starts) == sorted(v for v, m in S.longest_paths().items()
                                        if m >= L - 1 - l)
        # every edge of a path goes up in canonical order (P&L Definition A.5)
        assert all(G.nodes[u]["order"] < G.nodes[w]["order"] for u, w in G.edges())
        if res is not None and l >= 2 and len(set(hidden[:l - 1])) == 1:
            # equal widths: only the all-active part of every layer has a
            # full-dimensional image, so int Z_{l-1} = int C_l of the construction
            sub = pr.Network.from_weights(net.weights()[l - 1:])
            assert S.same_set(fold_surface(sub, res.domains[l - 1]))


CONSTRUCTED = [([2, 2, 1], BOX, 0), ([2, 2, 2, 1], BOX, 1), ([2, 2, 2, 1], BOX, 2),
               ([2, 2, 2, 2, 1], BOX, 0), ([2, 2, 2, 2, 1], BOX, 1),
               ([2, 2, 2, 2, 1], BOX, 2),
               pytest.param([3, 2, 2, 1], pr.Polyhedron.box([-1] * 3, [1] * 3), 0,
                            marks=pytest.mark.slow),
               pytest.param([3, 3, 3, 1], pr.Polyhedron.box([-1] * 3, [1] * 3), 3,
                            marks=pytest.mark.slow)]


@pytest.mark.parametrize("widths,domain,seed", CONSTRUCTED)
def test_constructed_networks_are_general_transparent_and_satisfy_lemma_a17(
        widths, domain, seed):
    # audit: [2,2,2,2,1] seeds 0-2 failed condition 3 and [3,3,3,1] seed 3 the
    # rank condition before the construction checked generality
    res = construct_identifiable_network(widths, domain, seed=seed)
    net = res.network
    rep = is_general(net, domain)             # re-decided from scratch
    assert rep.general is True, [(c.condition, c.where) for c in rep.failing]
    assert res.generality is not None and res.generality.general is True
    assert is_transparent(net, domain)
    check_lemma_a17(net, domain, res)


def images_of(prefix, D):
    out = []
    for r in pr.regions(prefix, D):
        P = r.polyhedron.affine_image(*r.affine_map)
        if P.dim == prefix.output_dim and P not in out:
            out.append(P)
    return out


# Z_2 of this network is the union of the triangle conv{(0,0), (0,4), (4/3,0)}
# (from x1 <= 0) and the parallelogram conv{(0,0), (0,4), (2,2), (2,6)} (from
# x1 >= 0): not convex, with a reflex corner at (1, 1)
NONCONVEX = pr.Network.from_weights([
    ([[1, 0], [-1, 0], [0, 1]], [0, 0, 2]),            # relu(x1), relu(-x1), x2 + 2
    ([[1, 1, 0], [1, -3, 1]], [0, 0]),                 # |x1|, relu(x2 + 2 + x1 - 3 relu(-x1))
    ([[-1, 1], [1, 1], [1, 0]], [F(-1, 2), -3, -1]),
    ([[1, -1, 2], [-1, 2, 1]], [F(1, 4), 0]),
    ([[1, -2]], [0])])


def test_fold_surface_on_image_of_a_nonconvex_union():
    net, D = NONCONVEX, BOX2
    W = net.weights()
    prefix = pr.Network.from_weights(list(W[:2]) + [([[1, 0], [0, 1]], [0, 0])])
    sub = pr.Network.from_weights(list(W[2:]))
    images = images_of(prefix, D)
    tri = pr.Polyhedron.from_vertices([[0, 0], [0, 4], [F(4, 3), 0]])
    par = pr.Polyhedron.from_vertices([[0, 0], [0, 4], [2, 2], [2, 6]])
    assert sorted(images, key=lambda P: P.vertices) == sorted([tri, par],
                                                             key=lambda P: P.vertices)
    regs = [(r.polyhedron, r.affine_map) for r in pr.regions(prefix, D)]

    def in_Z(y):        # y = h^{1:2}(u) for some u in the domain (exact LP)
        for P, (M, c) in regs:
            Q = P
            for row, ci, yi in zip(M, c, y):
                Q = Q.add_equality(row, yi - ci)
            if not Q.is_empty():
                return True
        return False

    S = fold_surface_on_image(net, D, 3)
    pieces = list(S.pieces) + list(S.unassigned)
    assert len(S.hyperplanes) >= 3
    # the open set is int Z_2, not its hull: the reflex corner and the notch
    # are outside, points near the corner inside either part are inside
    corner = pr.Polyhedron.box([1, 1], [1, 1])
    assert not S._cx.meets_open(corner)
    assert not S._cx.meets_open(pr.Polyhedron.box([F(3, 2), F(1, 2)], [F(3, 2), F(1, 2)]))
    assert S._cx.meets_open(pr.Polyhedron.box([1, F(11, 10)], [1, F(11, 10)]))
    assert S._cx.meets_open(pr.Polyhedron.box([F(1, 2), F(1, 10)], [F(1, 2), F(1, 10)]))
    # soundness: relative-interior points of every piece lie in Z and are
    # kinks of h^{3:L} (exact one-sided slopes across the piece)
    for piece in pieces:
        x = piece.polyhedron.interior_point()
        assert in_Z(x)
        up, down = line_kink(sub, x, piece.hyperplane[0])
        assert up != down
    # completeness: a fold of h^{3:L} at a point strictly inside one image
    # (so inside int Z_2) belongs to the fold set; points of the notch
    # (y2 < y1 and y2 > 4 - 3 y1) do not
    big = pr.Polyhedron.box([-1, -1], [3, 7])
    checked = 0
    for q in fold_set(sub, big).pieces:
        x0 = q.polyhedron.interior_point()
        for x in [x0] + [tuple((a + b) / 2 for a, b in zip(x0, v))
                         for v in q.polyhedron.vertices]:
            if any(all(sum(a * b for a, b in zip(r, x)) < c for r, c in P.facets)
                   for P in images):
                checked += 1
                assert any(p.polyhedron.contains(x) for p in pieces), x
            elif not in_Z(x):
                assert not any(p.polyhedron.contains(x) for p in pieces), x
    assert checked > 0
    notch = (F(8, 5), F(7, 5))     # on the fold y1 + y2 = 3, outside Z_2
    up, down = line_kink(sub, notch, (1, 1))
    assert up != down
    assert not in_Z(notch) and not any(p.polyhedron.contains(notch) for p in pieces)


def test_fold_surface_on_image_bad_input():
    net = random_network([2, 2, 2, 1], seed=1)
    with pytest.raises(pr.NetworkError):
        fold_surface_on_image(net, BOX, 3)
    with pytest.raises(pr.NetworkError):
        fold_surface_on_image(net, BOX, 0)
    with pytest.raises(pr.DomainError):
        fold_surface_on_image(net, pr.Polyhedron.from_inequalities([[-1, 0]], [0]), 2)
    dead = pr.Network.from_weights([([[1, 0], [0, 1]], [-5, -5]), ([[1, 1]], [0]),
                                    ([[1]], [0])])
    with pytest.raises(pr.DomainError):         # Z_1 = {0}: empty interior
        fold_surface_on_image(dead, BOX, 2)
    assert fold_surface_on_image(net, BOX, 1).same_set(fold_surface(net, BOX))


def test_figure2_ambiguity_is_reported_not_guessed():
    """Every fold is a full line; two of them come from layer 2 (P&L Figure 2)."""
    net = pr.Network.from_weights([
        ([[0, 1], [1, 0]], [F(1, 2), 3]),                            # a = x2+1/2, b = x1+3
        ([[0, 1], [0, -1], [1, 0], [1, 0]], [-3, F(7, 2), F(-1, 4), 1]),
        ([[1, 2, 3, F(1, 2)]], [0])])
    S = fold_surface(net, BOX)
    # by hand: b > 0 on the box, so v = x1 and w = 1/2 - x1 (layer 2) fold on
    # x1 = 0 and x1 = 1/2; z = relu(a) - 1/4 folds on x2 = -1/4 (layer 2); and
    # y = relu(a) + 1 > 0 passes a's own fold x2 = -1/2 (layer 1)
    expected = {normalize_hyperplane(w, c) for w, c in
                (([1, 0], 0), ([1, 0], F(-1, 2)), ([0, 1], F(1, 4)), ([0, 1], F(1, 2)))}
    assert S.order_of_surface == 1 and {H.hyperplane for H in S.layers[0]} == expected
    assert S.dependency_graph().number_of_edges() == 0
    ident = identify_first_layer(S, 2, num_layers=3)
    assert not ident.identified and ident.hyperplanes == ()
    assert "cannot tell" in ident.reason
    assert set(S.ambiguous(2)) == {H.name for H in S.hyperplanes}
    assert all(b == (1, 2) for b in S.layer_bounds(2).values())
    # the true first-layer fold x2 = -1/2 is among the order-1 hyperplanes
    assert normalize_hyperplane([0, 1], F(1, 2)) in {H.hyperplane for H in S.layers[0]}


def test_foldpiece_equality_is_exact():
    P = pr.Polyhedron.from_inequalities([[0, 1], [0, -1]], [1, 1], equalities=([[2, 0]], [1]))
    Q = pr.Polyhedron.from_vertices([[F(1, 2), -1], [F(1, 2), 1]])
    assert FoldPiece.from_polyhedron(P) == FoldPiece.from_polyhedron(Q)
    assert hash(FoldPiece.from_polyhedron(P)) == hash(FoldPiece.from_polyhedron(Q))


def test_independent_fallback_complex_gives_same_surface():
    from polyrelu.folds import _complex_from_network

    for net in (GT, random_network([2, 3, 2, 1], seed=6)):
        a = PiecewiseLinearSurface(_complex_from_network(net, BOX2))
        b = PiecewiseLinearSurface(_complex_from_network(net, BOX2, engine="fallback"))
        assert [sorted(H.hyperplane for H in L) for L in a.layers] == \
               [sorted(H.hyperplane for H in L) for L in b.layers]
        assert a.same_set(b)


def test_partial_enumeration_is_marked():
    fs = fold_set(GT, BOX2, max_regions=2)
    assert fs.partial and fs.reason
    assert not fold_set(GT, BOX2).partial


def test_simplest_between_is_simplest():
    import math
    import random

    from polyrelu.folds import _simplest_between

    rng = random.Random(3)
    for _ in range(300):
        a = F(rng.randint(-50, 50), rng.randint(1, 30))
        b = a + F(rng.randint(1, 60), rng.randint(1, 300))
        x = _simplest_between(a, b)
        assert a < x < b
        q = 1
        while not F(math.floor(a * q) + 1, q) < b:
            q += 1
        assert x.denominator == q


def test_cli_folds(tmp_path, capsys):
    import json

    from polyrelu.cli import main

    model = tmp_path / "gt.json"
    GT.save(model)
    out = tmp_path / "out"
    assert main(["folds", str(model), "--box=-2,2", "--json", "--out", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    S = fold_surface(GT, BOX2)
    assert doc["order"] == S.order_of_surface and doc["transparent"] is True
    assert [len(layer) for layer in doc["layers"]] == [len(layer) for layer in S.layers]
    assert doc["ambiguous"] == list(S.ambiguous(2))
    for name in ("folds.png", "dependency_graph.png", "dependency_graph.graphml"):
        assert (out / name).stat().st_size > 0
    assert set(nx.read_graphml(out / "dependency_graph.graphml").edges()) == \
        set(S.dependency_graph().edges())
    assert main(["folds", str(model), "--box=-2,2"]) == 0
    text = capsys.readouterr().out
    assert "order 2" in text and "H1.0 -> H2.0" in text and "ambiguous" in text
    assert main(["folds", str(model), "--box", "0,1,0,1,0,1"]) == 2
    assert main(["folds", str(model), "--box", "r"]) == 2


@pytest.mark.slow
def test_first_layer_hyperplanes_are_order_one_on_general_transparent_nets():
    for seed, r in ((177, 1), (816, 1)):
        net = random_network([2, 3, 3, 2, 1], seed=seed, denominator=16, scale=16)
        D = pr.Polyhedron.box([-r, -r], [r, r])
        assert is_transparent(net, D) and is_general(net, D)
        S = fold_surface(net, D)
        assert S.is_surface
        first = {normalize_hyperplane(w, c) for w, c in zip(*net.weights()[0])}
        inside = {h for h in first if cuts(h, D)}
        assert inside <= {H.hyperplane for H in S.layers[0]}     # P&L Lemma 1


def test_non_relu_and_fold_set_of_leaky_relu():
    leaky = pr.Network.from_weights([([[1, 2], [2, -1]], [F(1, 3), 0]), ([[1, 1]], [0])],
                                    activation="leaky_relu")
    with pytest.raises(pr.NetworkError):
        unit_fold_sets(leaky, BOX)
    with pytest.raises(pr.NetworkError):
        is_general(leaky, BOX)
    # leaky ReLU bends on the whole zero set of each unit: two full lines
    S = fold_surface(leaky, BOX)
    assert {H.hyperplane for H in S.layers[0]} == \
        {normalize_hyperplane([1, 2], F(1, 3)), normalize_hyperplane([2, -1], 0)}


@pytest.mark.slow
@settings(max_examples=5, deadline=None)
@given(st.integers(0, 10 ** 6))
def test_random_nets_two_complexes_agree(seed):
    net = random_network([2, 3, 2, 1], seed=seed)
    S = fold_surface(net, BOX)
    T = PiecewiseLinearSurface.from_pieces(fold_set(net, BOX).pieces, BOX)
    assert [[(H.name, H.hyperplane) for H in L] for L in S.layers] == \
           [[(H.name, H.hyperplane) for H in L] for L in T.layers]
    assert S.is_surface == T.is_surface
    us, ut = [p.polyhedron for p in S.unassigned], [p.polyhedron for p in T.unassigned]
    assert all(_covered(P, ut) for P in us) and all(_covered(P, us) for P in ut)
    assert sorted(S.dependency_graph().edges()) == sorted(T.dependency_graph().edges())
    # the layers and the unassigned pieces together are exactly the fold set
    pieces = [f.polyhedron for H in S.hyperplanes for f in H.facets] + \
             [p.polyhedron for p in S.unassigned]
    assert all(_covered(p.polyhedron, pieces) for p in fold_set(net, BOX))
    assert all(_covered(P, [p.polyhedron for p in fold_set(net, BOX)]) for P in pieces)


def test_three_inputs_two_complexes_agree():
    D3 = pr.Polyhedron.box([-1, -1, -1], [1, 1, 1])
    net = random_network([3, 2, 2, 1], seed=3)
    S = fold_surface(net, D3)
    T = PiecewiseLinearSurface.from_pieces(fold_set(net, D3).pieces, D3)
    assert S.order_of_surface == 2 and S.dependency_graph().number_of_edges() > 0
    assert [[(H.name, H.hyperplane) for H in L] for L in S.layers] == \
           [[(H.name, H.hyperplane) for H in L] for L in T.layers]
    assert sorted(S.dependency_graph().edges()) == sorted(T.dependency_graph().edges())


def test_box1_by_direct_covering_of_each_chord():
    """box_1 S, recomputed independently: a hyperplane is order 1 iff its chord
    through the domain is covered by the fold pieces on it (exact recursive
    subtraction in the hyperplane, no refining complex)."""
    for net, D in ((GT, BOX2), (random_network([2, 3, 2, 1], seed=6), BOX),
                   (random_network([2, 3, 3, 2, 1], seed=391, denominator=16, scale=16),
                    pr.Polyhedron.box([-3, -3], [3, 3]))):
        pieces = fold_set(net, D).pieces
        by_h = {}
        for p in pieces:
            by_h.setdefault(p.hyperplane, []).append(p.polyhedron)
        direct = {h for h, ps in by_h.items() if _covered(D.add_equality(h[0], -h[1]), ps)}
        S = fold_surface(net, D)
        assert direct == {H.hyperplane for H in (S.layers[0] if S.layers else ())}


# ------------------------------------------------ review: adversarial additions

def _kinks_match(net, cx):
    """Every complex facet is a fold iff the function kinks across it (exact)."""
    for f in cx.facets:
        p = f.poly.interior_point()
        right, left = line_kink(net, p, f.h[0])
        assert (right != left) == f.in_S, (net.architecture, f.h)


@pytest.mark.parametrize("kw,widths", [(dict(skips={2: [0]}), [2, 2, 3, 1]),
                                       (dict(skips={3: [1]}), [2, 3, 3, 2, 1]),
                                       (dict(activation="hard_tanh"), [2, 2, 3, 1]),
                                       (dict(activation="leaky_relu", alpha=F(1, 3)),
                                        [2, 3, 2, 1])])
def test_fold_facets_are_kinks_with_skips_and_other_activations(kw, widths):
    from polyrelu.folds import _complex_from_network

    for seed in range(2):
        net = random_network(widths, seed=seed, **kw)
        a = _complex_from_network(net, BOX2)
        b = _complex_from_network(net, BOX2, engine="fallback")   # independent splitter
        _kinks_match(net, a)
        _kinks_match(net, b)
        fa = [f.poly for f in a.facets if f.in_S]
        fb = [f.poly for f in b.facets if f.in_S]
        assert all(_covered(P, fb) for P in fa) and all(_covered(P, fa) for P in fb)


def test_bad_inputs_name_the_problem():
    net = random_network([2, 2, 1], seed=0)
    for fn in (fold_set, fold_surface, unit_fold_sets, is_general, is_transparent):
        with pytest.raises(pr.NetworkError, match="Network"):
            fn("not a network", BOX)
        with pytest.raises(pr.DomainError, match="dimension"):
            fn(net, pr.Polyhedron.box([0], [1]))
        with pytest.raises(pr.DomainError, match="Polyhedron"):
            fn(net, "the unit box")
        with pytest.raises(pr.EmptyDomainError, match="dimension 1 < 2"):
            fn(net, pr.Polyhedron.box([0, 0], [1, 0]))
    S = fold_surface(net, BOX)
    with pytest.raises(pr.NetworkError, match="width"):
        identify_first_layer(S, 0)
    with pytest.raises(pr.ShapeError, match="rows"):
        match_layer([((1, 0), 1)], [[1, 0], [0, 1]], [1])


def test_transparency_is_a_sign_notion():
    ht = random_network([2, 3, 1], seed=1, activation="hard_tanh")
    with pytest.raises(pr.NetworkError, match="hard_tanh"):
        is_transparent(ht, BOX)


def test_summary_is_json_with_exact_strings():
    import json

    doc = json.loads(json.dumps(fold_surface(GT, BOX2).summary()))
    v = doc["layers"][0][0]["pieces"][0][0]
    assert all(isinstance(x, str) for x in v)
    H = fold_surface(GT, BOX2).layers[0][0]
    assert [F(x) for x in v] == list(H.pieces[0].polyhedron.vertices[0])


def test_canonical_layers_and_dependency_graph_report_progress_with_totals():
    # issue 18: a bar with a total (so an ETA) where the total is known
    import polyrelu as pr
    from polyrelu.folds import fold_surface

    net = pr.Network.from_weights([([[1, "1/4"], [-1, "1/2"]], [1, 1]),
                                   ([[1, -2], [-1, "3/2"]], ["1/8", 1]),
                                   ([[1, 2]], [0])])
    calls = []
    S = fold_surface(net, pr.Polyhedron.box([-2, -2], [2, 2]),
                     progress=lambda s, k, n: calls.append((s, k, n)))
    layers = [c for c in calls if c[0].startswith("canonical layers")]
    assert layers[0][1] == 0 and layers[-1][1] == layers[-1][2] > 0
    assert all(n == layers[0][2] for _, _, n in layers)
    assert [k for _, k, _ in layers] == sorted(k for _, k, _ in layers)
    calls.clear()
    G = S.dependency_graph(progress=lambda s, k, n: calls.append((s, k, n)))
    pairs = sum(1 for H in S.hyperplanes for K in S.hyperplanes if H.order < K.order)
    assert calls[-1] == ("dependency graph (pairs)", pairs, pairs) and pairs == 6
    assert sorted(G.edges()) == [("H1.0", "H2.0"), ("H1.0", "H2.1")]
