"""The linear merge by exact map keys (polyrelu._regions_merge): keys equal
exactly when the exact affine maps are equal, count_regions streams and
agrees with an independent merge (connected components of region_graph's
same-map edges), limits cut the merge cleanly."""

from __future__ import annotations

from fractions import Fraction as F

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import polyrelu as pr
from polyrelu import _regions_merge
from polyrelu.network import random_network
from polyrelu.regions import _adjacent_pairs, _SameMap, region_graph


def _reference_linear(rs) -> int:
    """Linear regions from region_graph: components of the same-map edges."""
    G = region_graph(rs)
    H = nx.Graph()
    H.add_nodes_from(G.nodes)
    H.add_edges_from((i, j) for i, j, same in G.edges(data="same_map") if same)
    return nx.number_connected_components(H)


# twin layers that cancel (many regions with one map), leaky ReLU, hard tanh,
# a skip from the input, an input map (a slice)
CANCEL = pr.Network.from_weights([([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1], [1, -1]],
                                   [0, 0, 0, 0, -1, 1]),
                                  ([[1, -1, 1, -1, 1, 1]], [0])])
NETS = [
    ("cancel", CANCEL, pr.Polyhedron.box([-3, -3], [3, 3])),
    ("cancel-R2", CANCEL, None),
    ("leaky", random_network([2, 4, 4, 1], seed=1, activation="leaky_relu", scale=2,
                             denominator=2), pr.Polyhedron.box([-2, -2], [2, 2])),
    ("hardtanh-skip", random_network([2, 3, 3, 3, 1], seed=2, activation="hard_tanh",
                                     skips={3: [1]}, scale=2, denominator=2),
     pr.Polyhedron.box([-2, -2], [2, 2])),
    ("input-skip", random_network([2, 2, 2, 1], seed=3, skips={2: [0]}, scale=2,
                                  denominator=2), pr.Polyhedron.box([-2, -2], [2, 2])),
    ("3d", random_network([3, 4, 4, 1], seed=4, scale=2, denominator=2),
     pr.Polyhedron.box([-1] * 3, [1] * 3)),
    ("1d", random_network([1, 6, 6, 1], seed=5, scale=2, denominator=2),
     pr.Polyhedron.box([-3], [3])),
    ("slice", random_network([3, 4, 4, 1], seed=6, scale=2, denominator=2).restrict(
        [F(1, 3), 0, F(-1, 2)], [[1, 0], [0, 1], [1, 1]]), pr.Polyhedron.box([-1, -1], [1, 1])),
]


@pytest.mark.parametrize("name,net,dom", NETS, ids=[n for n, _, _ in NETS])
def test_keys_equal_iff_maps_equal(name, net, dom):
    rs = list(pr.regions(net, dom))
    keys = _regions_merge.MapKeys(net)
    ks = keys.keys([r.pattern for r in rs])
    assert ks == [keys.key(r.pattern) for r in rs]     # batched = one at a time
    maps = [r.affine_map for r in rs]
    for i in range(len(rs)):
        for j in range(i):
            assert (ks[i] == ks[j]) == (maps[i] == maps[j])


@pytest.mark.parametrize("name,net,dom", NETS, ids=[n for n, _, _ in NETS])
def test_count_and_linear_regions_agree_with_region_graph(name, net, dom):
    rs = list(pr.regions(net, dom))
    ref = _reference_linear(rs)
    c = pr.count_regions(net, dom)
    assert (c.activation, c.linear, c.partial) == (len(rs), ref, False)
    lin = pr.linear_regions(net, dom)
    assert len(lin) == ref and sum(len(L) for L in lin) == len(rs)
    for L in lin:
        assert len({r.affine_map for r in L.regions}) == 1


def test_the_cancelling_net_merges_to_few_linear_regions():
    # relu(x1) - relu(x1) + relu(x2) - relu(x2) + relu(x1 + x2 - 1) + relu(x1 - x2 + 1)
    c = pr.count_regions(CANCEL, pr.Polyhedron.box([-3, -3], [3, 3]))
    assert c.activation > c.linear == 4


def test_streaming_keeps_only_groups():
    """Regions with a map of their own are kept as packed patterns only; the
    first member of a group is rebuilt from its pattern (exactly that
    region)."""
    net, dom = CANCEL, pr.Polyhedron.box([-3, -3], [3, 3])
    rs = list(pr.regions(net, dom))
    rebuilt = []

    def rebuild(pattern, like):
        r = pr.region_of_pattern(net, pattern, like.domain)
        rebuilt.append(r)
        return r

    from collections import Counter

    def expected(rs):
        sizes = Counter(r.affine_map for r in rs).values()
        return len(sizes), sum(1 for v in sizes if v > 1), sum(v for v in sizes if v > 1)

    n, lin, cut, stats = _regions_merge.count_streaming(net, dom, iter(rs), None,
                                                        _adjacent_pairs, _SameMap, rebuild)
    assert (n, lin, cut) == (len(rs), 4, None)
    assert (stats["keys"], stats["groups"], stats["grouped_regions"]) == expected(rs)
    assert stats["groups"] == len(rebuilt) > 0
    assert {r.pattern for r in rebuilt} <= {r.pattern for r in rs}
    # a generic net: every map its own, nothing rebuilt or held
    net2 = random_network([2, 5, 5, 1], seed=0)
    rs2 = list(pr.regions(net2, dom))
    rebuilt.clear()
    n, lin, cut, stats = _regions_merge.count_streaming(net2, dom, iter(rs2), None,
                                                        _adjacent_pairs, _SameMap, rebuild)
    assert lin == _reference_linear(rs2) == len(rs2)
    assert (stats["keys"], stats["groups"], stats["grouped_regions"]) == expected(rs2) \
        == (len(rs2), 0, 0)
    assert rebuilt == []


class _Countdown:
    def __init__(self, n: int) -> None:
        self.n = n

    @property
    def exhausted(self) -> bool:
        self.n -= 1
        return self.n < 0

    def stop_reason(self) -> str:
        return "countdown"


def test_a_cut_streaming_merge_is_an_upper_bound():
    net, dom = CANCEL, pr.Polyhedron.box([-3, -3], [3, 3])
    rs = list(pr.regions(net, dom))
    n, lin, cut, _ = _regions_merge.count_streaming(
        net, dom, iter(rs), _Countdown(0), _adjacent_pairs, _SameMap,
        lambda p, like: pr.region_of_pattern(net, p, like.domain))
    assert n == len(rs) and lin > 4 and lin <= len(rs)
    assert "countdown during the linear merge" in cut


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10 ** 6), st.sampled_from(["relu", "leaky_relu", "hard_tanh"]),
       st.booleans())
def test_count_regions_property(seed, act, zero_bias):
    net = random_network([2, 3, 3, 1], seed=seed, activation=act, scale=2, denominator=2)
    if zero_bias:
        net = pr.Network.from_weights([(ly.W, [0] * len(ly.b)) for ly in net.layers],
                                      activation=act)
    dom = pr.Polyhedron.box([-2, -2], [2, 2])
    rs = list(pr.regions(net, dom))
    c = pr.count_regions(net, dom)
    assert (c.activation, c.linear) == (len(rs), _reference_linear(rs))
