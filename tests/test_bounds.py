"""Tests for polyrelu.bounds: closed forms, constructions attaining them, and
bounds against exact counts."""

import itertools
import random
from fractions import Fraction as F
from math import comb

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import polyrelu as pr
from polyrelu.bounds import (
    montufar_lower_bound,
    raghu_bound,
    region_bounds,
    serra_bound,
    serra_product_bound,
    zaslavsky,
)
from polyrelu.network import random_network

widths_st = st.lists(st.integers(1, 6), min_size=3, max_size=6)


def test_zaslavsky_closed_forms():
    for n in range(8):
        assert zaslavsky(n, n) == 2 ** n  # d >= n: every sign vector
        assert zaslavsky(n, 1) == n + 1  # n points cut a line into n + 1 pieces
        assert zaslavsky(n, 2) == 1 + n + n * (n - 1) // 2  # lines in the plane
    assert zaslavsky(0, 3) == 1


def _serra_brute(w):
    """Serra et al. Theorem 1 by enumerating J literally (independent of the recursion)."""
    n0, hidden = w[0], w[1:-1]
    total = 0
    for js in itertools.product(*[range(n + 1) for n in hidden]):
        ok = True
        for l, (n, j) in enumerate(zip(hidden, js)):
            cap = min([n0] + [hidden[i] - js[i] for i in range(l)] + [n])
            if j > cap:
                ok = False
                break
        if ok:
            prod = 1
            for n, j in zip(hidden, js):
                prod *= comb(n, j)
            total += prod
    return total


@settings(max_examples=40, deadline=None)
@given(widths_st)
def test_serra_matches_literal_enumeration_and_ordering(w):
    s = serra_bound(w)
    assert s == _serra_brute(w)
    assert s <= serra_product_bound(w) <= raghu_bound(w)
    if len(w) == 3:  # one hidden layer: every bound is Zaslavsky's count
        assert s == serra_product_bound(w) == raghu_bound(w) == zaslavsky(w[1], w[0])
    lo = montufar_lower_bound(w)
    if lo is not None:
        assert lo <= s


def _montufar_net(n0_widths):
    """Montufar et al.'s 1-input construction: every hidden layer but the last folds
    [0, 1] onto itself n times (a sawtooth); the last layer puts n_L breakpoints
    inside each fold."""
    hidden = list(n0_widths)
    layers = []
    prev_a = None  # the sawtooth of the previous layer as weights on its neurons
    for l, n in enumerate(hidden):
        last = l == len(hidden) - 1
        if last:
            biases = [-F(i + 1, n + 1) for i in range(n)]  # breakpoints j/(n+1) of h
        else:
            biases = [-F(i, n) for i in range(n)]  # relu(h - i/n)
        if prev_a is None:
            W = [[1] for _ in range(n)]
        else:
            W = [list(prev_a) for _ in range(n)]
        layers.append((W, biases))
        if not last:
            # h = n relu(x) - 2n relu(x - 1/n) + 2n relu(x - 2/n) - ...
            prev_a = [n] + [(-1) ** i * 2 * n for i in range(1, n)]
    layers.append(([[1] * hidden[-1]], [0]))
    return pr.Network.from_weights(layers)


@pytest.mark.parametrize("hidden", [[3, 2], [2, 3, 2], [4, 3], [3, 3, 4]])
def test_montufar_construction_attains_the_lower_bound(hidden):
    net = _montufar_net(hidden)
    res = pr.transitions(net, [[0], [1]])
    w = [1] + hidden + [1]
    assert res.num_pieces == montufar_lower_bound(w)
    # and the upper bounds hold for it (pieces of [0, 1] <= regions of R)
    assert res.num_pieces <= serra_bound(w)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.lists(st.integers(1, 5), min_size=1, max_size=3))
def test_upper_bounds_never_below_exact_counts_1d(seed, hidden):
    # 1-input nets: the pieces of a long segment are activation regions of R
    net = random_network([1] + hidden + [1], seed=seed)
    res = pr.transitions(net, [[-1000], [1000]])
    w = net.widths
    assert res.num_pieces <= serra_bound(w) <= raghu_bound(w)


def test_zaslavsky_equals_exact_count_for_generic_one_layer_1d():
    rng = random.Random(0)
    for n in range(1, 8):
        # distinct breakpoints -b_i / w_i: generic
        ws = [rng.choice([-1, 1]) * rng.randint(1, 9) for _ in range(n)]
        bs = [F(i + 1, 3) * w for i, w in enumerate(ws)]
        net = pr.Network.from_weights([([[w] for w in ws], bs), ([[1] * n], [0])])
        res = pr.transitions(net, [[-10**6], [10**6]])
        assert res.num_pieces == zaslavsky(n, 1)


def test_bounds_with_exact_region_counts_2d():
    regions_mod = pytest.importorskip("polyrelu.regions")
    for seed in range(3):
        # generic one-layer nets: Zaslavsky's count is exact on R^2
        net = random_network([2, 4, 1], seed=seed, denominator=97, scale=500)
        n = len(list(regions_mod.regions(net)))
        assert n == zaslavsky(4, 2)
        deep = random_network([2, 3, 3, 1], seed=seed)
        m = len(list(regions_mod.regions(deep)))
        assert m <= serra_bound(deep) <= raghu_bound(deep)
        rb = pr.compare_bounds(deep)
        assert rb.activation_regions == m and rb.serra == serra_bound(deep)


def test_region_bounds_report_and_inputs():
    rb = region_bounds("2-4-4-1", activation_regions=5)
    text = str(rb)
    assert "Serra" in text and "5" in text
    assert rb.serra == serra_bound([2, 4, 4, 1])
    assert region_bounds(random_network([2, 4, 4, 1])).raghu == raghu_bound("2-4-4-1")
    assert raghu_bound([2, 3, 1], "hard_tanh") == zaslavsky(6, 2)
    with pytest.raises(pr.NetworkError):
        serra_bound("2-x-1")
    with pytest.raises(pr.NetworkError):
        serra_bound([2])


# ------------------------------------------------------------------ every activation, skips
#
# The exact counts below use the tree engine (J&V Algorithm 2) on R^d, not the
# default engine: an undercount would make a bound test pass vacuously, and
# the audit found one for hard tanh on R^d in the default engine.

def _count(net, domain=None):
    rs = list(pr.regions(net, domain, engine="tree"))
    return rs


def _upper_entries(rb):
    return [e for e in rb.entries() if e["kind"] == "upper"]


def _assert_bounds_hold(net, n_rd, n_box=None, n_lin=None):
    rb = pr.region_bounds(net)
    ups = _upper_entries(rb)
    assert {e["name"] for e in ups} >= {"raghu", "serra", "serra_product"}
    for e in ups:
        if e["value"] is not None:
            assert e["value"] >= n_rd, (e, n_rd, net)
    if n_box is not None:
        assert n_box <= n_rd
    if n_lin is not None:
        assert n_lin <= n_rd
    # the text never shows an "(upper)" number below the exact count
    for line in str(pr.region_bounds(net, activation_regions=n_rd)).splitlines():
        if "(upper)" in line and not line.rstrip().endswith("n/a"):
            val = line.split()[-1]
            if val.isdigit():
                assert int(val) >= n_rd, line
    return rb


def test_hard_tanh_bounds_hold_audit_examples():
    # 2-3-1 hard tanh with unit weights: 19 regions (6 lines in 3 parallel pairs);
    # the ReLU formulas gave 7
    net = pr.Network.from_weights([([[1, 0], [0, 1], [1, 1]], [0, 0, 0]),
                                   ([[1, 1, 1]], [0])], activation="hard_tanh")
    n = len(_count(net))
    assert n == 1 + 3 * 2 + 3 * 4  # closed form: sum_i C(3, i) 2^i, i <= 2
    rb = _assert_bounds_hold(net, n)
    assert rb.zaslavsky_first_layer == n  # generic pairs: the count is attained
    assert rb.serra == zaslavsky(6, 2)  # the ReLU bound on the doubled width
    assert rb.montufar_lower is None and "ReLU" in rb.notes["montufar_lower"]
    net1 = pr.Network.from_weights([([[1], [2], [3]], [0, 0, 0]), ([[1, 1, 1]], [0])],
                                   activation="hard_tanh")
    n1 = len(_count(net1))
    assert n1 == 7  # breakpoints +-1, +-1/2, +-1/3
    _assert_bounds_hold(net1, n1)
    assert raghu_bound(net1) == raghu_bound([1, 3, 1], "hard_tanh")  # from the net


def test_serra_not_applicable_with_hidden_skips():
    # the audit's 2-2-2-1 net with a skip 0 -> 2: 12 regions, Serra's count is 11
    W1 = [[F(-16, 7), F(1, 7)], [F(10, 7), F(15, 7)]]
    W2 = [[1, 0], [F(19, 7), F(20, 7)]]
    net = pr.Network.from_weights([(W1, [-2, F(2, 7)]), (W2, [-1, F(15, 7)]),
                                   ([[1, 1]], [0])], skips={2: [0]})
    n = len(_count(net))
    assert n > serra_bound([2, 2, 2, 1])  # the plain-MLP theorem really fails here
    rb = _assert_bounds_hold(net, n)
    assert rb.serra is None and rb.montufar_lower is None and rb.skips
    assert "Serra et al. Thm 1 (upper)" in str(rb) and "n/a" in str(rb)
    # a skip into the output layer does not move any region boundary
    out_skip = pr.Network.from_weights([(W1, [-2, F(2, 7)]), (W2, [-1, F(15, 7)]),
                                        ([[1, 1]], [0])], skips={3: [1]})
    assert region_bounds(out_skip).serra == serra_bound([2, 2, 2, 1])


def test_serra_not_applicable_for_leaky_relu():
    # slope -1 is |z|: it folds, and a 1-1-1-1 net gets 4 pieces > Serra's 3
    net = pr.Network.from_weights([([[1]], [0]), ([[1]], [-1]), ([[1]], [0])],
                                  activation="leaky_relu", alpha=-1)
    n = len(_count(net))
    assert n == 4 > serra_bound([1, 1, 1, 1])
    rb = _assert_bounds_hold(net, n)
    assert rb.serra is None and rb.montufar_lower is None


@st.composite
def small_nets(draw):
    act = draw(st.sampled_from(["relu", "leaky_relu", "hard_tanh"]))
    n0 = draw(st.integers(1, 2))
    widths = [n0] + draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)) + [1]
    L = len(widths) - 1
    cand = [(k, l) for l in range(2, L + 1) for k in range(l - 1)
            if widths[k] == widths[l - 1]]
    skips: dict = {}
    if cand and draw(st.booleans()):
        for k, l in draw(st.lists(st.sampled_from(cand), unique=True, min_size=1,
                                  max_size=2)):
            skips.setdefault(l, []).append(k)
    den = draw(st.sampled_from([1, 2, 3, 7]))
    entry = st.integers(-6, 6).map(lambda k: F(k, den))
    layers = []
    for a, b in zip(widths[:-1], widths[1:]):
        W = draw(st.lists(st.lists(entry, min_size=a, max_size=a), min_size=b, max_size=b))
        layers.append((W, draw(st.lists(entry, min_size=b, max_size=b))))
    alpha = draw(st.sampled_from([F(1, 10), F(-1), F(2), F(-1, 3)])) \
        if act == "leaky_relu" else None
    return pr.Network.from_weights(layers, skips=skips, activation=act, alpha=alpha)


@settings(max_examples=60, deadline=None)
@given(small_nets())
def test_upper_bounds_never_below_exact_counts(net):
    rs = _count(net)
    box = pr.Polyhedron.box([-3] * net.input_dim, [3] * net.input_dim)
    n_box = len(_count(net, box))
    n_lin = len(pr.linear_regions(net, None, region_list=rs))
    rb = _assert_bounds_hold(net, len(rs), n_box, n_lin)
    # the bounds of a Network come from its own activation and skips
    assert rb.activation == net.activation and rb.skips == bool(net.skips)
    assert rb.raghu == raghu_bound(net.widths, net.activation)
    lo = rb.montufar_lower
    if lo is not None:  # only for plain ReLU; never above the (valid) upper bounds
        assert net.activation == "relu" and not net.skips
        assert lo <= rb.serra <= rb.serra_product <= rb.raghu


def _one_layer_generic_2d(rows, ht: bool) -> bool:
    """Exact general-position check of the threshold lines of one layer in R^2:
    no two non-paired lines parallel, no three lines through one point."""
    lines = []  # (a, b, c): a x + b y = c
    for (a, b), c in rows:
        for t in ((-1, 1) if ht else (0,)):
            lines.append((a, b, t - c))
    pair = (lambda i, j: i // 2 == j // 2) if ht else (lambda i, j: False)
    pts = []
    for i in range(len(lines)):
        for j in range(i + 1, len(lines)):
            if pair(i, j):
                continue
            (a1, b1, c1), (a2, b2, c2) = lines[i], lines[j]
            det = a1 * b2 - a2 * b1
            if det == 0:
                return False
            pts.append(((c1 * b2 - c2 * b1) / det, (a1 * c2 - a2 * c1) / det))
    # three concurrent lines make a repeated intersection point
    return len(pts) == len(set(pts))


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["relu", "leaky_relu", "hard_tanh"]), st.integers(1, 4),
       st.data())
def test_first_layer_count_equals_exact_for_generic_one_layer_nets(act, n, data):
    entry = st.integers(-9, 9).map(lambda k: F(k, 4))
    rows = data.draw(st.lists(st.tuples(st.tuples(entry, entry), entry), min_size=n,
                              max_size=n))
    ht = act == "hard_tanh"
    assume(all(a or b for (a, b), _ in rows))
    generic = _one_layer_generic_2d(rows, ht)
    net = pr.Network.from_weights([([list(r) for r, _ in rows], [c for _, c in rows]),
                                   ([[1] * n], [0])], activation=act,
                                  alpha=F(1, 3) if act == "leaky_relu" else None)
    count = len(_count(net))
    rb = region_bounds(net)
    expected = sum(comb(n, i) * (2 ** i if ht else 1) for i in range(3))
    assert rb.zaslavsky_first_layer == expected
    if generic:
        assert count == expected
    else:
        assert count <= expected


def _doubled_relu(net):
    """The plain ReLU network with units z + 1, z - 1 per hard tanh unit z
    (htanh(z) = relu(z + 1) - relu(z - 1) - 1)."""
    layers = []
    prev = None
    for l, (W, b) in enumerate(net.weights()):
        if prev is not None:  # input is [a; c] with nu = a - c - 1
            W2 = [list(r) + [-w for w in r] for r in W]
            b2 = [bi - sum(r) for r, bi in zip(W, b)]
        else:
            W2, b2 = [list(r) for r in W], list(b)
        if l == net.num_layers - 1:
            layers.append((W2, b2))
            break
        layers.append((W2 + W2, [x + 1 for x in b2] + [x - 1 for x in b2]))
        prev = True
    return pr.Network.from_weights(layers)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10**6), st.lists(st.integers(1, 3), min_size=1, max_size=2))
def test_hard_tanh_regions_embed_in_the_doubled_relu_net(seed, hidden):
    import random as _random

    net = random_network([2] + hidden + [1], seed=seed, activation="hard_tanh",
                         denominator=3, scale=6)
    dbl = _doubled_relu(net)
    rng = _random.Random(seed)
    for _ in range(10):  # the same function, by exact evaluation
        x = [F(rng.randint(-40, 40), 7) for _ in range(2)]
        assert net(x) == dbl(x)
    ht, relu = _count(net), _count(dbl)
    assert len(ht) <= len(relu) <= serra_bound(dbl) == serra_bound(net)
    # every hard tanh region contains a whole ReLU region of the doubled net
    for r in relu:
        p = net.pattern(r.interior_point)
        assert any(h.pattern == p for h in ht)


def _montufar_witness(n0, hidden):
    """Montufar et al.'s construction, arranged so that no two adjacent
    activation regions share an affine map: every hidden layer but the last
    folds each input coordinate p = n_l // n0 times onto [0, 1]; the last layer
    puts a generic arrangement whose every chamber meets (0, 1)^n0 into each
    fold, oriented so that f has a nonzero partial derivative in every chamber."""
    layers = []
    prev_p = None
    for l, n in enumerate(hidden[:-1]):
        p = n // n0
        W, b = [], []
        for c in range(n0):
            for i in range(p):
                row = [F(0)] * (n0 if prev_p is None else len(layers[-1][0]))
                if prev_p is None:
                    row[c] = F(p)
                else:  # g_c = sum_j a_j nu_(c, j), a_0 = 1, a_j = 2 (-1)^j
                    for j in range(prev_p):
                        row[c * prev_p + j] = p * F(1 if j == 0 else 2 * (-1) ** j)
                W.append(row)
                b.append(F(-i))
        for _ in range(n - n0 * p):  # spare units: dead
            W.append([F(0)] * len(W[0]))
            b.append(F(-1))
        layers.append((W, b))
        prev_p = p

    def g_rows(weights):  # a linear form in the folded coordinates g
        if prev_p is None:
            return list(weights)
        row = [F(0)] * len(layers[-1][0])
        for c, w in enumerate(weights):
            for j in range(prev_p):
                row[c * prev_p + j] = w * F(1 if j == 0 else 2 * (-1) ** j)
        return row

    n = hidden[-1]
    if n0 == 1:  # thresholds j / (n + 1), alternately oriented
        forms = [((F(1),), -F(j + 1, n + 1)) if j % 2 else ((F(-1),), F(j + 1, n + 1))
                 for j in range(n)]
        outs = [F(2 ** j) for j in range(n)]
    else:  # n0 == 2: four lines around (1/2, 1/2), every crossing inside the square
        base = [((F(-1), F(0)), F(2, 5)), ((F(0), F(-1)), F(2, 5)),
                ((F(1), F(1)), -F(6, 5)), ((F(1), F(-1)), -F(1, 5))]
        forms = base[:n]
        outs = [F(1), F(3), F(7), F(19)][:n]
    layers.append(([g_rows(a) for a, _ in forms], [c for _, c in forms]))
    layers.append(([outs], [F(0)]))
    return pr.Network.from_weights(layers)


@pytest.mark.parametrize("n0, hidden", [(1, [3, 2]), (1, [2, 3, 2]), (1, [4, 3]),
                                        (2, [4, 4]), (2, [4, 3]), (2, [5, 2])])
def test_montufar_lower_bound_is_witnessed_by_linear_regions(n0, hidden):
    net = _montufar_witness(n0, hidden)
    w = [n0] + hidden + [1]
    lo = montufar_lower_bound(w)
    rs = _count(net)
    nlin = len(pr.linear_regions(net, None, region_list=rs))
    assert nlin >= lo  # some ReLU net with these widths has >= lo linear regions
    assert len(rs) <= serra_bound(w)


def test_region_bounds_text_and_dict_labels():
    rb = region_bounds("2-4-4-1", activation="hard_tanh", activation_regions=5)
    text = str(rb)
    assert "hard_tanh" in text and "widths 2 n_l" in text
    assert "Montufar" in text and "not hard_tanh" in text
    assert "first layer only" in text  # not an upper bound for two hidden layers
    d = rb.as_dict()
    kinds = {e["name"]: e["kind"] for e in d["entries"]}
    assert kinds["raghu"] == kinds["serra"] == kinds["serra_product"] == "upper"
    assert kinds["zaslavsky_first_layer"] == "first layer"
    assert d["montufar_lower"] is None and d["serra"] == serra_bound([2, 8, 8, 1])
    with pytest.raises(pr.SkipError):
        region_bounds("2-2-2-1", skips={2: [1]})
    with pytest.raises(pr.NetworkError):
        raghu_bound("2-3-1", "tanh")
