"""The exact Network model: evaluation, patterns, affine maps, slices, errors.

Cross-checks are independent: a plain-Fraction reference forward pass written
here, torch float64 (``to_torch``), and function-preserving transformations.
"""

import math
import random
from fractions import Fraction as F

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polyrelu.exceptions import (
    NetworkError,
    NonFiniteError,
    NumberError,
    PolyreluError,
    ShapeError,
    SkipError,
)
from polyrelu.network import Layer, Network, random_network

ACTS = ["relu", "leaky_relu", "hard_tanh"]


# --------------------------------------------------------------- reference
def ref_forward(layers, skips, activation, alpha, x):
    """Independent exact forward pass (SPEC conventions), returns (out, zs)."""
    def sigma(z):
        if activation == "relu":
            return max(z, F(0))
        if activation == "leaky_relu":
            return z if z >= 0 else alpha * z
        return min(max(z, F(-1)), F(1))

    nus = [list(x)]
    zs = []
    for l, (W, b) in enumerate(layers, start=1):
        u = list(nus[-1])
        for s in skips.get(l, ()):
            u = [a + c for a, c in zip(u, nus[s])]
        z = [sum((F(w) * ui for w, ui in zip(row, u)), F(0)) + F(bi) for row, bi in zip(W, b)]
        zs.append(z)
        if l == len(layers):
            return tuple(z), zs
        nus.append([sigma(v) for v in z])


def skip_candidates(widths):
    """All valid (source, target) pairs for equal-width skips."""
    L = len(widths) - 1
    return [(k, l) for l in range(2, L + 1) for k in range(0, l - 1)
            if widths[k] == widths[l - 1]]


@st.composite
def nets(draw, activations=ACTS, max_width=4, max_hidden=3, integer=False, d0=None):
    d0 = d0 or draw(st.integers(1, 3))
    hidden = draw(st.lists(st.integers(1, max_width), min_size=1, max_size=max_hidden))
    widths = [d0] + hidden + [draw(st.integers(1, 2))]
    # Sometimes force equal widths so that skips exist.
    if draw(st.booleans()):
        w = draw(st.integers(1, max_width))
        widths = [w] * (len(widths) - 1) + [widths[-1]]
    cands = skip_candidates(widths)
    chosen = draw(st.lists(st.sampled_from(cands), unique=True, max_size=3)) if cands else []
    skips = {}
    for k, l in chosen:
        skips.setdefault(l, []).append(k)
    act = draw(st.sampled_from(activations))
    seed = draw(st.integers(0, 10 ** 6))
    den = 1 if integer else draw(st.sampled_from([1, 2, 3, 8, 7]))
    alpha = F(1, 4) if integer else draw(st.sampled_from([F(1, 100), F(1, 3), F(2)]))
    return random_network(widths, seed=seed, denominator=den, scale=4 if integer else 8,
                          skips=skips or None, activation=act,
                          alpha=alpha if act == "leaky_relu" else None)


def rand_point(rng, d, den=16, scale=64):
    return tuple(F(rng.randint(-scale, scale), rng.randint(1, den)) for _ in range(d))


# --------------------------------------------------------------- evaluation
@given(nets(), st.integers(0, 10 ** 6))
def test_exact_evaluation_matches_independent_reference(net, seed):
    rng = random.Random(seed)
    x = rand_point(rng, net.input_dim)
    out, zs = ref_forward([(L.W, L.b) for L in net.layers], net.skip_map, net.activation,
                          net.alpha, x)
    assert net(x) == out
    assert net.pre_activations(x) == tuple(tuple(z) for z in zs)
    assert all(type(v) is F for v in net(x))


@given(nets(), st.integers(0, 10 ** 6))
def test_exact_evaluation_agrees_with_torch_float64(net, seed):
    torch = pytest.importorskip("torch")
    rng = random.Random(seed)
    xs = [rand_point(rng, net.input_dim) for _ in range(4)]
    m = net.to_torch()
    with torch.no_grad():
        got = m(torch.tensor([[float(v) for v in x] for x in xs], dtype=torch.float64))
    for x, row in zip(xs, got.tolist()):
        exact = net(x)
        scale = 1 + max(abs(float(v)) for v in exact)
        for e, f in zip(exact, row):
            assert abs(float(e) - f) <= 1e-9 * scale


@given(nets(integer=True), st.integers(0, 10 ** 6))
def test_small_integer_weights_agree_with_torch_exactly(net, seed):
    torch = pytest.importorskip("torch")
    rng = random.Random(seed)
    x = tuple(F(rng.randint(-8, 8)) for _ in range(net.input_dim))
    with torch.no_grad():
        got = net.to_torch()(torch.tensor([[float(v) for v in x]], dtype=torch.float64))
    # Small integers (and alpha = 1/4) are computed without rounding in float64.
    assert [F(v) for v in got[0].tolist()] == list(net(x))


def test_batch_evaluation_equals_rowwise():
    net = random_network([2, 3, 3, 1], seed=4, skips={3: [1]})
    X = [[1, 2], ["1/3", -4], [0, 0]]
    assert net(X) == tuple(net(x) for x in X)
    assert net.pattern(X) == tuple(net.pattern(x) for x in X)
    np = pytest.importorskip("numpy")
    assert net(np.array([[0.5, 0.25]])) == (net([F(1, 2), F(1, 4)]),)


# -------------------------------------------------------- patterns, maps
@given(nets(), st.integers(0, 10 ** 6))
def test_affine_map_of_pattern_reproduces_output(net, seed):
    rng = random.Random(seed)
    for _ in range(3):
        x = rand_point(rng, net.input_dim)
        M, c = net.affine_map(net.pattern(x))
        assert tuple(sum((m * xi for m, xi in zip(row, x)), F(0)) + ci
                     for row, ci in zip(M, c)) == net(x)


@given(nets(), st.integers(0, 10 ** 6))
def test_layer_maps_match_pre_activations(net, seed):
    rng = random.Random(seed)
    x = rand_point(rng, net.input_dim)
    maps = net.layer_maps(net.pattern(x))
    assert len(maps) == net.num_layers
    for (M, c), z in zip(maps, net.pre_activations(x)):
        assert tuple(sum((m * xi for m, xi in zip(row, x)), F(0)) + ci
                     for row, ci in zip(M, c)) == z


@given(nets(), st.integers(0, 10 ** 6))
def test_pattern_pieces_agree_with_pre_activation_signs(net, seed):
    rng = random.Random(seed)
    x = rand_point(rng, net.input_dim)
    pat = net.pattern(x)
    assert [len(p) for p in pat] == list(net.hidden_widths)
    for p, z in zip(pat, net.pre_activations(x)[:-1]):
        for piece, zi in zip(p, z):
            if net.activation == "hard_tanh":
                assert (piece == 0 and zi <= -1) or (piece == 2 and zi >= 1) or \
                       (piece == 1 and -1 <= zi <= 1)
            else:
                assert (piece == 1 and zi >= 0) or (piece == 0 and zi <= 0)


def test_pattern_at_a_point_on_a_breakpoint_is_active():
    net = Network.from_weights([([[1, 0]], [0]), ([[1]], [0])])
    assert net.pattern([0, 7]) == ((1,),)       # z = 0 but not identically zero
    assert net.pattern([-1, 7]) == ((0,),)


def test_identically_zero_unit_is_inactive():
    # neuron 2 of layer 1 has zero weights and bias: identically zero -> bit 0.
    net = Network.from_weights([([[1, 0], [0, 0]], [0, 0]), ([[1, 1]], [0])])
    for x in ([3, 4], [-3, 4], [0, 0]):
        assert net.pattern(x)[0][1] == 0
    # A layer-2 unit reading only layer-1 unit 1: where that unit is inactive the
    # layer-2 pre-activation is identically zero on the region -> bit 0; at x1 = 0
    # the layer-1 unit is active (z = 0, depends on x) and the layer-2 unit, z = 0
    # but not identically zero there, is active too.
    net2 = Network.from_weights([([[1, 0]], [0]), ([[1]], [0]), ([[1]], [0])])
    assert net2.pattern([-1, 5]) == ((0,), (0,))
    assert net2.pattern([0, 5]) == ((1,), (1,))
    assert net2.pattern([2, 5]) == ((1,), (1,))
    # The affine map of the chosen pattern still reproduces the output.
    for x in ([-1, 5], [0, 5], [2, 5]):
        M, c = net2.affine_map(net2.pattern(x))
        assert M[0][0] * x[0] + M[0][1] * x[1] + c[0] == net2(x)[0]


def test_identically_zero_by_cancellation_is_inactive():
    # Two copies of relu(x1) cancel in layer 2: z2 = n1 - n2 is identically 0
    # where both are active (bit 0) and also where both are inactive.
    net = Network.from_weights([([[1, 0], [1, 0]], [0, 0]), ([[1, -1]], [0]), ([[1]], [0])])
    assert net.pattern([3, 1]) == ((1, 1), (0,))
    assert net.pattern([-3, 1]) == ((0, 0), (0,))
    # z2 = relu(x1) - relu(x2) vanishes at (3, 3) but not identically: bit 1.
    net2 = Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, -1]], [0]), ([[1]], [0])])
    assert net2.pattern([3, 3]) == ((1, 1), (1,))
    assert net2.pre_activations([3, 3])[1] == (0,)


def test_zero_rule_with_leaky_relu():
    net = Network.from_weights([([[0, 0]], [0]), ([[1]], [0])], activation="leaky_relu",
                               alpha="1/2")
    assert net.pattern([1, 1]) == ((0,),)


def test_hard_tanh_pieces():
    net = Network.from_weights([([[1]], [0]), ([[1]], [0])], activation="hard_tanh")
    assert [net.pattern([v])[0][0] for v in (-3, -1, 0, 1, 3)] == [0, 1, 1, 1, 2]
    assert [net([v])[0] for v in (-3, F(1, 2), 3)] == [-1, F(1, 2), 1]


def test_check_pattern_rejects_bad_patterns():
    net = random_network([2, 3, 2, 1], seed=0)
    with pytest.raises(ShapeError, match="layer 2"):
        net.affine_map(((1, 0, 1), (1,)))
    with pytest.raises(ShapeError):
        net.affine_map(((1, 0, 1),))
    with pytest.raises(NetworkError, match="piece 2"):
        net.affine_map(((1, 0, 2), (1, 1)))
    with pytest.raises(NetworkError):
        net.affine_map("ab")


def test_positive_scaling_of_a_hidden_unit_preserves_function_and_pattern():
    net = random_network([2, 3, 1], seed=3)
    (W1, b1), (W2, b2) = net.weights()
    s = F(7, 2)
    W1s = [list(r) for r in W1]
    W1s[1] = [s * w for w in W1[1]]
    b1s = list(b1)
    b1s[1] = s * b1[1]
    W2s = [[w / s if j == 1 else w for j, w in enumerate(row)] for row in W2]
    other = Network.from_weights([(W1s, b1s), (W2s, b2)])
    assert other != net
    rng = random.Random(1)
    for _ in range(10):
        x = rand_point(rng, 2)
        assert other(x) == net(x) and other.pattern(x) == net.pattern(x)


# --------------------------------------------------------------- restrict
def slice_point(x0, U, t):
    return [a + sum((u * ti for u, ti in zip(row, t)), F(0)) for a, row in zip(x0, U)]


@given(nets(), st.integers(0, 10 ** 6), st.integers(1, 2))
def test_restrict_commutes_with_evaluation(net, seed, k):
    rng = random.Random(seed)
    x0 = rand_point(rng, net.input_dim)
    U = [rand_point(rng, k, den=4, scale=4) for _ in range(net.input_dim)]
    sub = net.restrict(x0, U)
    assert sub.input_dim == k and sub.hidden_widths == net.hidden_widths
    # a skip from the input needs the input map x = x0 + U t (not expressible as
    # plain weights); without one the slice is folded into layer 1
    assert (sub.input_map is not None) == any(0 in s for _, s in net.skips)
    for _ in range(3):
        t = rand_point(rng, k)
        x = slice_point(x0, U, t)
        assert sub(t) == net(x)
        assert sub.pattern(t) == net.pattern(x)
        assert sub.pre_activations(t) == net.pre_activations(x)
        # the maps on the slice are the x-space maps composed with t -> x0 + U t
        M, c = sub.affine_map(sub.pattern(t))
        assert tuple(sum((m * ti for m, ti in zip(row, t)), F(0)) + ci
                     for row, ci in zip(M, c)) == net(x)


def input_skip_net(seed, act="relu", k_extra=()):
    """x + relu(W x) style residual net (what the fx importer makes of
    ``h = x + relu(l1(x)); out = l2(h)``), with skips 0 -> 2 and 0 -> 3."""
    return random_network([2, 2, 2, 1], seed=seed, skips={2: [0], 3: [0, *k_extra]},
                          activation=act, alpha="1/3" if act == "leaky_relu" else None)


@given(st.integers(0, 10 ** 6), st.sampled_from(ACTS), st.integers(1, 2), st.integers(0, 99))
def test_restrict_with_skips_from_the_input_is_exact(seed, act, k, pseed):
    net = input_skip_net(seed, act)
    rng = random.Random(pseed)
    x0 = rand_point(rng, 2)
    U = [rand_point(rng, k, den=4, scale=4) for _ in range(2)]
    sub = net.restrict(x0, U)
    assert sub.input_dim == k and sub.input_map == (tuple(tuple(r) for r in U), tuple(x0))
    # restricting a restriction composes the input maps
    V = [rand_point(rng, 1, den=4, scale=4) for _ in range(k)]
    s0 = rand_point(rng, k)
    line = sub.restrict(s0, V)
    for _ in range(3):
        t = rand_point(rng, k)
        x = slice_point(x0, U, t)
        assert sub(t) == net(x) == ref_forward(
            [(L.W, L.b) for L in net.layers], net.skip_map, act, net.alpha, x)[0]
        assert sub.pattern(t) == net.pattern(x)
        for (M, c), z in zip(sub.layer_maps(sub.pattern(t)), net.pre_activations(x)):
            assert tuple(sum((m * ti for m, ti in zip(row, t)), F(0)) + ci
                         for row, ci in zip(M, c)) == z
        r = rand_point(rng, 1)
        assert line(r) == net(slice_point(x0, U, slice_point(s0, V, r)))


@given(st.integers(0, 10 ** 6), st.integers(0, 99))
def test_regions_on_an_input_skip_slice_are_the_sliced_regions(seed, pseed):
    from polyrelu.regions import region_of_pattern

    net = input_skip_net(seed)
    rng = random.Random(pseed)
    x0 = rand_point(rng, 2)
    U = [rand_point(rng, 2, den=4, scale=4) for _ in range(2)]
    sub = net.restrict(x0, U)
    for _ in range(2):
        t = rand_point(rng, 2)
        x = slice_point(x0, U, t)
        r_t = region_of_pattern(sub, sub.pattern(t))
        r_x = region_of_pattern(net, net.pattern(x))
        # the region of t on the slice is the preimage of x's region under
        # t -> x0 + U t (independently: slice the x-space polyhedron)
        assert r_x is not None or r_t is None
        if r_x is None:
            continue
        pre = r_x.polyhedron.affine_preimage(U, x0) if r_x.polyhedron is not None else None
        if r_t is None:
            assert pre is not None and not pre.is_full_dimensional()
            continue
        assert r_t.polyhedron.contains(t)
        if pre is None:
            assert r_t.polyhedron is None or r_t.polyhedron.is_full_dimensional()
        else:
            assert r_t.polyhedron == pre
        # and the output map on the region reproduces the network at its
        # interior point (exactly, in t-space)
        M, c = sub.affine_map(r_t.pattern)
        p = r_t.interior_point
        assert tuple(sum((m * pi for m, pi in zip(row, p)), F(0)) + ci
                     for row, ci in zip(M, c)) == net(slice_point(x0, U, p))


def test_input_map_network_refuses_unaware_skip_readers():
    net = input_skip_net(3)
    sub = net.restrict([1, 2], [[1], [F(1, 2)]])
    # code reading skip_map assumes nu_0 = the input: it must not silently
    # get a wrong answer, so skip_map refuses; skip_sources / input_affine
    # are the input-map aware accessors
    with pytest.raises(SkipError, match="input affine map"):
        sub.skip_map
    assert sub.skip_sources == net.skip_map
    A, a = sub.input_affine
    assert A == ((F(1),), (F(1, 2),)) and a == (F(1), F(2))
    assert net.input_affine == (((F(1), F(0)), (F(0), F(1))), (F(0), F(0)))
    assert "input map" in repr(sub) and sub.architecture == "1-2-2-1"
    assert sub.widths == (1, 2, 2, 1)
    assert sub != net.restrict([1, 2], [[1], [F(1, 3)]])
    assert sub == net.restrict(["1", 2.0], [[1], ["1/2"]])
    assert hash(sub) == hash(net.restrict(["1", 2.0], [[1], ["1/2"]]))


def test_from_weights_input_map_and_its_normal_form():
    layers = [([[1, -1], [2, 1]], [0, 1]), ([[1, 1], [0, 1]], [0, 0]), ([[1, -1]], [0])]
    A, a = [[1], [3]], [F(1, 2), -1]
    net = Network.from_weights(layers, skips={3: [0]}, input_map=(A, a))
    plain = Network.from_weights(layers, skips={3: [0]})
    for t in (F(-3), F(0), F(5, 7)):
        x = [A[0][0] * t + a[0], A[1][0] * t + a[1]]
        assert net([t]) == plain(x)
    # without a skip from the input the map is folded into layer 1 exactly
    folded = Network.from_weights(layers, input_map=(A, a))
    assert folded.input_map is None and folded.input_dim == 1
    for t in (F(-3), F(0), F(5, 7)):
        assert folded([t]) == Network.from_weights(layers)([A[0][0] * t + a[0],
                                                             A[1][0] * t + a[1]])
    with pytest.raises(ShapeError, match="input_map"):
        Network.from_weights(layers, skips={3: [0]}, input_map=([[1, 2, 3]], [0]))
    with pytest.raises(ShapeError, match="input_map"):
        Network.from_weights(layers, skips={3: [0]}, input_map=([[1], [2]], [0]))
    with pytest.raises(ShapeError, match="input_map"):
        Network.from_weights(layers, skips={3: [0]}, input_map="A")


def test_direct_construction_is_validated():
    good = random_network([2, 2, 2, 1], seed=0)
    with pytest.raises(SkipError):
        Network(good.layers, ((3, (1,)), (2, (0,)), (2, (5,))))
    bad = random_network([2, 3, 2, 1], seed=0)
    with pytest.raises(SkipError, match="width"):
        Network(bad.layers, ((3, (1,)),))
    with pytest.raises(ShapeError, match="layer 2"):
        Network((good.layers[0], bad.layers[1]))


def test_restrict_rejects_wrong_shapes():
    net = random_network([2, 2, 1], seed=0)
    with pytest.raises(ShapeError):
        net.restrict([0, 0, 0], [[1], [0]])
    with pytest.raises(ShapeError):
        net.restrict([0, 0], [[1]])
    with pytest.raises(ShapeError, match="column"):
        net.restrict([0, 0], [[], []])          # a point is not a slice


# ------------------------------------------------------- value semantics
def test_equality_and_hash_are_by_value():
    a = Network.from_weights([([[1, "1/2"]], [0]), ([[2]], ["-3/4"])])
    b = Network.from_weights([([[F(1), 0.5]], ["0"]), ([[2.0]], [F(-3, 4)])])
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    c = Network.from_weights([([[1, "1/2"]], [0]), ([[2]], ["-3/5"])])
    assert a != c
    assert a != Network.from_weights(a.weights(), activation="hard_tanh")
    assert a != "not a network"
    # rounding_error does not take part in equality
    r = Network.from_weights(a.weights(), max_denominator=4)
    assert r == a and r.rounding_error == 0
    s1 = random_network([2, 2, 2, 1], seed=1, skips={3: [1]})
    s2 = random_network([2, 2, 2, 1], seed=1)
    assert s1 != s2 and s1.weights() == s2.weights()
    l1 = random_network([2, 2, 1], seed=1, activation="leaky_relu", alpha="1/3")
    l2 = random_network([2, 2, 1], seed=1, activation="leaky_relu", alpha="1/4")
    assert l1 != l2


def test_structure_properties():
    net = random_network([3, 4, 5, 2], seed=2, skips=None)
    assert net.widths == (3, 4, 5, 2)
    assert net.architecture == "3-4-5-2"
    assert (net.input_dim, net.output_dim, net.num_layers) == (3, 2, 3)
    assert net.hidden_widths == (4, 5)
    assert isinstance(net.layers[0], Layer) and net.layers[0].W[0][0].denominator in (1, 2, 4, 8)
    assert "3-4-5-2" in repr(net)
    s = random_network([2, 2, 2, 2, 1], seed=2, skips={4: [2, 0], 3: [1]})
    assert s.skip_map == {3: (1,), 4: (0, 2)}
    assert "skips" in repr(s)


def test_max_denominator_reports_the_largest_change():
    W = [[0.1, 1 / 3], [F(22, 7), 2]]
    net = Network.from_weights([(W, [0.2, 0]), ([[1, 1]], [0])], max_denominator=10)
    exact = [F(0.1), F(1 / 3), F(22, 7), F(2), F(0.2), F(0)]
    rounded = [net.layers[0].W[0][0], net.layers[0].W[0][1], net.layers[0].W[1][0],
               net.layers[0].W[1][1], net.layers[0].b[0], net.layers[0].b[1]]
    assert all(r.denominator <= 10 for r in rounded)
    assert net.rounding_error == max(abs(a - b) for a, b in zip(exact, rounded))
    assert net.rounding_error > 0


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "nan", "inf"])
def test_non_finite_weights_are_rejected_naming_the_layer(bad):
    with pytest.raises(NonFiniteError, match="layer 2"):
        Network.from_weights([([[1, 0]], [0]), ([[bad]], [0])])
    with pytest.raises(NonFiniteError, match="layer 1, b"):
        Network.from_weights([([[1, 0]], [bad]), ([[1]], [0])])


def test_non_numbers_are_rejected():
    with pytest.raises(NumberError):
        Network.from_weights([([[True, 0]], [0])])
    with pytest.raises(NumberError):
        Network.from_weights([([["x"]], [0])])


def test_shape_mismatch_between_layers_names_the_layer():
    with pytest.raises(ShapeError, match="layer 2") as e:
        Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1, 1]], [0])])
    assert "3 columns" in str(e.value)
    with pytest.raises(ShapeError, match="layer 1"):
        Network.from_weights([([[1, 0], [0, 1]], [0]), ([[1, 1]], [0])])
    with pytest.raises(ShapeError):
        Network.from_weights([([[1, 0], [0]], [0, 0])])
    with pytest.raises(ShapeError):
        Network.from_weights([([], [])])


def test_bad_skips():
    layers = [([[1, 0], [0, 1]], [0, 0]), ([[1, 1, 1], [1, 0, 0], [0, 0, 1]], [0, 0, 0]),
              ([[1, 1, 1]], [0])]
    with pytest.raises(SkipError, match="width"):
        Network.from_weights(layers, skips={3: [1]})   # layer 1 width 2, input of 3 width 3
    good = [([[1, 0], [0, 1]], [0, 0]), ([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])]
    assert Network.from_weights(good, skips={3: [1]}).skips == ((3, (1,)),)
    with pytest.raises(SkipError):
        Network.from_weights(good, skips={3: [2]})     # k must be < l - 1
    with pytest.raises(SkipError):
        Network.from_weights(good, skips={4: [1]})     # target out of range
    with pytest.raises(SkipError):
        Network.from_weights(good, skips=[(3, 1)])     # not a mapping
    with pytest.raises(SkipError):
        Network.from_weights(good, skips={3: ["a"]})
    # layer indices are integers: no silent int() of floats, bools or strings
    for bad in ({3: [1.5]}, {3: [True]}, {3: [1.0]}, {3: ["1"]}, {3.0: [1]}, {True: [0]},
                {"3": [1]}, {3: 1}, {3: [[1]]}):
        with pytest.raises(SkipError, match="integer|list"):
            Network.from_weights(good, skips=bad)
    import numpy as np

    assert Network.from_weights(good, skips={np.int64(3): [np.int32(1)]}).skips == \
        ((3, (1,)),)


def test_wrong_input_dimension():
    net = random_network([2, 2, 1], seed=0)
    with pytest.raises(ShapeError, match="dimension 3"):
        net([1, 2, 3])
    with pytest.raises(ShapeError):
        net.pattern([1])
    # unordered containers are not vectors (a dict would be read as its keys)
    for bad in ({0: 1, 1: 2}, {1, 2}):
        with pytest.raises(ShapeError, match="vector"):
            net(bad)


def test_bad_activation_and_alpha():
    with pytest.raises(NetworkError, match="sigmoid"):
        Network.from_weights([([[1]], [0])], activation="sigmoid")
    with pytest.raises(NetworkError, match="alpha"):
        Network.from_weights([([[1]], [0])], activation="relu", alpha="1/2")
    with pytest.raises(NetworkError):
        Network.from_weights([])
    with pytest.raises(NetworkError):
        Network.from_weights([([[1]],)])
    assert Network.from_weights([([[1]], [0])], activation="leaky_relu").alpha == F(1, 100)


def test_errors_are_polyrelu_errors():
    with pytest.raises(PolyreluError):
        random_network([2], seed=0)


def test_direct_construction_refuses_a_ragged_input_map():
    one = F(1)
    layers = (Layer(((one, one),), (one,)), Layer(((one,),), (one,)))
    with pytest.raises(ShapeError, match="input_map"):
        Network(layers, input_map=(((one,), (one, one)), (one, one)))
