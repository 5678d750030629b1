"""Tests for polyrelu.trajectories: exact transitions, lengths, distances."""

import math
import os
import random
from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import polyrelu as pr
from polyrelu.network import random_network
from polyrelu.trajectories import _Num, _sign3

F = Fraction


def _rand_point(rng, d, den=7, scale=14):
    return [F(rng.randint(-scale, scale), den) for _ in range(d)]


def _seg_point(p, q, t):
    return tuple(a + t * (b - a) for a, b in zip(p, q))


def _between(a, b, rng):
    """A random rational strictly between rationals a < b."""
    return a + (b - a) * F(rng.randint(1, 999), 1000)


# ------------------------------------------------------------------ exact numbers

def test_surd_sign_matches_high_precision():
    rng = random.Random(3)
    for _ in range(200):
        A, B, C = (F(rng.randint(-20, 20), rng.randint(1, 5)) for _ in range(3))
        D1, D2 = F(rng.randint(1, 30), rng.randint(1, 4)), F(rng.randint(1, 30), rng.randint(1, 4))
        expr = sympy.Rational(A) + sympy.Rational(B) * sympy.sqrt(sympy.Rational(D1)) \
            + sympy.Rational(C) * sympy.sqrt(sympy.Rational(D2))
        val = expr.evalf(80)
        if abs(val) > sympy.Float("1e-60", 80):
            expected = 1 if val > 0 else -1
        else:
            expected = 0 if sympy.simplify(expr) == 0 else (1 if val > 0 else -1)
        import gmpy2
        q = lambda x: gmpy2.mpq(x.numerator, x.denominator)  # noqa: E731
        assert _sign3(q(A), q(B), q(D1), q(C), q(D2)) == expected


def test_num_equality_across_fields():
    # 1 + sqrt(8) == 1 + 2 sqrt(2), written with different radicands
    assert _Num(1, 1, 8).cmp(_Num(1, 2, 2)) == 0
    assert _Num(0, 1, 2) < _Num(F(3, 2))


# ------------------------------------------------------------------ segments

def _independent_pieces(net, p, q):
    """Pieces of [0, 1] by an independent exact method: the exact interval of the
    pattern at a point (from net.layer_maps), then step past its right end."""
    x = lambda t: _seg_point(p, q, t)  # noqa: E731
    d = [b - a for a, b in zip(p, q)]

    def interval(pat):
        lo, hi = F(0), F(1)
        maps = net.layer_maps(pat)
        for l, bits in enumerate(pat):
            M, c = maps[l]
            for i, bit in enumerate(bits):
                slope = sum(m * di for m, di in zip(M[i], d))
                off = sum(m * pi for m, pi in zip(M[i], p)) + c[i]
                s = 1 if bit == 1 else -1  # need s * (off + slope t) >= 0
                a, b = s * slope, s * off
                if a > 0:
                    lo = max(lo, -b / a)
                elif a < 0:
                    hi = min(hi, -b / a)
        return lo, hi

    pieces = []
    t = F(0)
    while t < 1:
        delta = F(1, 2)
        while True:  # a point just right of t whose pattern interval starts at t
            s = t + (1 - t) * delta
            pat = net.pattern(x(s))
            lo, hi = interval(pat)
            if lo <= t < hi:
                break
            delta /= 2
        pieces.append((pat, t, hi))
        t = hi
    return pieces


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10**6))
def test_segment_matches_independent_interval_walk(seed):
    rng = random.Random(seed)
    widths = rng.choice([[2, 3, 1], [2, 4, 3, 1], [3, 3, 3, 2, 1]])
    net = random_network(widths, seed=seed)
    p, q = _rand_point(rng, widths[0]), _rand_point(rng, widths[0])
    if p == q:
        return
    res = pr.transitions(net, [p, q])
    ref = _independent_pieces(net, p, q)
    # merge consecutive equal patterns of the reference (interval walk is per region)
    merged = []
    for pat, a, b in ref:
        if merged and merged[-1][0] == pat:
            merged[-1] = (pat, merged[-1][1], b)
        else:
            merged.append((pat, a, b))
    assert res.patterns == tuple(m[0] for m in merged)
    assert [b.local for b in res.breakpoints] == [m[1] for m in merged[1:]]
    assert res.count == len(merged) - 1


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from(["relu", "leaky_relu", "hard_tanh"]))
def test_segment_patterns_by_exact_sampling(seed, act):
    rng = random.Random(seed)
    skips = {3: [1]} if seed % 2 else None
    net = random_network([2, 3, 3, 3, 1], seed=seed, skips=skips, activation=act)
    p, q = _rand_point(rng, 2, scale=40), _rand_point(rng, 2, scale=40)
    if p == q:
        return
    res = pr.transitions(net, [p, q])
    cuts = [F(0)] + [b.local for b in res.breakpoints] + [F(1)]
    assert all(a < b for a, b in zip(cuts, cuts[1:]))
    for pat, a, b in zip(res.patterns, cuts, cuts[1:]):
        for _ in range(6):  # dense exact sampling inside each piece
            assert net.pattern(_seg_point(p, q, _between(a, b, rng))) == pat
    for bp in res.breakpoints:
        assert bp.before != bp.after
        assert set(bp.flips) == {(l + 1, i) for l, (x, y) in enumerate(zip(bp.before, bp.after))
                                 for i, (u, v) in enumerate(zip(x, y)) if u != v}
    assert sum(res.per_layer) == sum(len(b.flips) for b in res.breakpoints)


def test_polyline_vertices_and_closed():
    net = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])])
    square = [[1, 1], [-1, 1], [-1, -1], [1, -1]]
    open_ = pr.transitions(net, square)
    closed = pr.transitions(net, pr.Polyline(square, closed=True))
    # the open path crosses x = 0, y = 0, x = 0 at the midpoints of its segments
    assert open_.count == 3 and open_.num_pieces == 4
    assert [b.exact_point for b in open_.breakpoints] == [(0, 1), (-1, 0), (0, -1)]
    # the closed square crosses each axis twice: 4 points, 4 pieces
    assert closed.count == 4 and closed.num_pieces == 4
    assert len(closed.patterns) == 4 and len(set(closed.patterns)) == 4


def test_transition_at_a_vertex():
    net = pr.Network.from_weights([([[1, 0]], [0]), ([[1]], [0])])
    res = pr.transitions(net, [[-1, 0], [0, 0], [1, 0]])
    # the crossing is the vertex (0, 0) itself: one transition, at its exact point
    assert res.count == 1
    assert res.breakpoints[0].exact_point == (0, 0)


def test_touching_without_sign_change_is_not_a_transition():
    # layer 2: neuron 0 is -|x| (touches 0 at x = 0), neuron 1 is |x| - 1
    net = pr.Network.from_weights([([[1], [-1]], [0, 0]),
                                   ([[-1, -1], [1, 1]], [0, -1]),
                                   ([[1, 1]], [0])])
    res = pr.transitions(net, [[-2], [2]])
    assert res.count == 3
    assert (2, 0) not in res.per_neuron  # -|x| never flips
    assert res.per_neuron == {(1, 0): 1, (1, 1): 1, (2, 1): 2}
    assert [b.local for b in res.breakpoints] == [F(1, 4), F(1, 2), F(3, 4)]


def test_path_inside_a_boundary_follows_tie_rules():
    # z1 = y is identically 0 on the path y = 0 (active by the tie rule);
    # z2 is the zero function (dead: inactive)
    net = pr.Network.from_weights([([[0, 1], [0, 0], [1, 0]], [0, 0, 0]), ([[1, 1, 1]], [0])])
    res = pr.transitions(net, [[-1, 0], [1, 0]])
    assert res.patterns == (((1, 0, 0),), ((1, 0, 1),))
    assert net.pattern([F(-1, 2), 0]) == res.patterns[0]


def test_restricted_network_gives_the_same_transitions():
    rng = random.Random(5)
    for seed in range(5):
        net = random_network([3, 4, 4, 1], seed=seed)
        p, q = _rand_point(rng, 3), _rand_point(rng, 3)
        a = pr.transitions(net, [p, q])
        line = net.restrict(p, [[qi - pi] for pi, qi in zip(p, q)])
        b = pr.transitions(line, [[0], [1]])
        assert [x.local for x in a.breakpoints] == [x.local for x in b.breakpoints]


def test_count_matches_region_enumeration_of_restricted_net():
    regions_mod = pytest.importorskip("polyrelu.regions")
    rng = random.Random(11)
    for seed in range(4):
        net = random_network([2, 4, 3, 1], seed=seed)
        p, q = _rand_point(rng, 2, scale=40), _rand_point(rng, 2, scale=40)
        res = pr.transitions(net, [p, q])
        line = net.restrict(p, [[qi - pi] for pi, qi in zip(p, q)])
        n = len(list(regions_mod.regions(line, pr.Polyhedron.box([0], [1]))))
        assert res.count == n - 1


def test_limits_mark_partial():
    net = random_network([2, 8, 8, 1], seed=2)
    res = pr.transitions(net, [[-20, -20], [20, 20]], max_transitions=2)
    assert res.partial and res.count == 2 and "max_transitions" in res.reason


def test_partial_walk_is_never_labelled_exact():
    net = random_network([2, 5, 4, 1], seed=7)
    p, q = [F(-3), F(-2)], [F(4), F(5)]
    full = pr.trajectory_length(net, [p, q])
    bps = full.transitions.breakpoints
    assert full.exact and not full.partial and len(bps) >= 4
    k = 2
    part = pr.trajectory_length(net, [p, q], max_transitions=k)
    res = part.transitions
    assert res.partial and not res.exact and res.count == k
    assert part.partial and not part.exact and "max_transitions" in part.reason
    # the lengths are those of the walked initial part [0, e] of the segment,
    # with b_k <= e <= b_(k+1): exactly, from the input length e |q - p|
    n2 = sympy.Rational(sum((b - a) ** 2 for a, b in zip(p, q)))
    e = sympy.nsimplify(part.lengths[0].exact / sympy.sqrt(n2))
    assert e.is_Rational
    e = F(int(e.p), int(e.q))
    assert bps[k - 1].local <= e <= bps[k].local
    # image lengths of a sub-path never exceed those of the whole path
    for a, b in zip(part.values, full.values):
        assert a <= b * (1 + 1e-12)
    circ = pr.transitions(net, pr.Circle([0, 0], [9, 0], [0, 9]), max_transitions=1)
    assert circ.partial and not circ.exact


def test_bad_input():
    net = random_network([2, 3, 1], seed=0)
    with pytest.raises(pr.ShapeError):
        pr.transitions(net, [[0, 0, 0], [1, 1, 1]])
    with pytest.raises(pr.DomainError):
        pr.transitions(net, [[0, 0]])
    with pytest.raises(pr.DomainError):
        pr.Circle([0, 0], [1, 0], [0, 1], t_range=(0, 0.5))
    with pytest.raises(pr.DomainError):
        pr.Circle([0, 0], [1, 0], [0, 1], t_range=(0, "pi/6"))  # tan(pi/12) irrational


# ------------------------------------------------------------------ circles

def _circle_point(circle, k, s):
    neg = lambda w: tuple(-a for a in w)  # noqa: E731
    u, v = circle.u, circle.v
    uk, vk = {0: (u, v), 1: (v, neg(u)), 2: (neg(u), neg(v)), 3: (neg(v), u)}[k % 4]
    c, si = (1 - s * s) / (1 + s * s), 2 * s / (1 + s * s)
    return tuple(a + c * x + si * y for a, x, y in zip(circle.center, uk, vk))


def test_circle_simple_exact_angles():
    net = pr.Network.from_weights([([[1, 0]], [F(-1, 2)]), ([[1]], [0])])
    res = pr.transitions(net, pr.Circle([0, 0], [1, 0], [0, 1]))
    assert res.count == 2
    angles = sorted(float(b.parameter) for b in res.breakpoints)
    assert [sympy.simplify(b.parameter - t) for b, t in
            zip(sorted(res.breakpoints, key=lambda b: b.value),
                (-sympy.pi / 3, sympy.pi / 3))] == [0, 0]
    assert angles == pytest.approx([-math.pi / 3, math.pi / 3])


def test_circle_tangent_line_is_not_a_transition():
    net = pr.Network.from_weights([([[1, 0], [0, 1]], [-1, F(-1, 2)]), ([[1, 1]], [0])])
    res = pr.transitions(net, pr.Circle([0, 0], [1, 0], [0, 1]))
    # x - 1 touches zero at (1, 0) only; y - 1/2 crosses twice
    assert res.per_neuron == {(1, 1): 2}


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10**6))
def test_circle_breakpoints_verified_by_exact_sign_changes(seed):
    rng = random.Random(seed)
    net = random_network([2, 4, 3, 1], seed=seed)
    circle = pr.Circle(_rand_point(rng, 2, scale=4), _rand_point(rng, 2), _rand_point(rng, 2))
    res = pr.transitions(net, circle)
    checked = 0
    for b in res.breakpoints:
        same = [o.key for o in res.breakpoints if o.piece == b.piece and o is not b]
        s = float(b.key)
        for side, want in ((-1, b.before), (1, b.after)):
            # a rational s' beside s on the same quarter arc with no other
            # breakpoint between them (decided exactly); the exact rational
            # circle point there must have the pattern of that side
            for eps in (1e-3, 1e-5, 1e-7, 1e-9, 1e-11):
                sp = F(s + side * eps).limit_denominator(10**14)
                if not 0 <= sp <= 1:
                    break
                lo, hi = sorted([_Num(sp), b.key])
                if lo.cmp(hi) == 0:
                    continue
                if any(lo.cmp(o) <= 0 and o.cmp(hi) <= 0 for o in same):
                    continue
                assert net.pattern(_circle_point(circle, b.piece, sp)) == want
                checked += 1
                break
    assert checked >= res.count  # at least one side of each breakpoint verified


@pytest.mark.parametrize("act", ["relu", "hard_tanh", "leaky_relu"])
def test_circle_patterns_between_breakpoints_by_exact_points(act):
    rng = random.Random(1)
    for seed in range(4):
        net = random_network([2, 5, 5, 1], seed=seed, activation=act,
                             skips={3: [1]} if seed % 2 else None) if act != "relu" else \
            random_network([2, 5, 4, 1], seed=seed)
        circle = pr.Circle([0, 0], [3, 0], [0, 3])
        res = pr.transitions(net, circle)
        # sample exact rational circle points and locate them among the breakpoints
        vals = sorted(b.value for b in res.breakpoints)
        for _ in range(40):
            k = rng.randint(-2, 1)
            s = F(rng.randint(1, 999), 1000)
            ang = k * math.pi / 2 + 2 * math.atan(float(s))
            if any(abs(ang - v) < 1e-9 for v in vals):
                continue
            idx = sum(1 for v in vals if v < ang)
            pat = res.patterns[idx % len(res.patterns)] if res.patterns else None
            assert net.pattern(_circle_point(circle, k, s)) == pat


def test_full_circle_equals_two_half_arcs():
    for seed in range(4):
        net = random_network([2, 6, 3, 1], seed=seed)
        c, u, v = [F(1, 3), 0], [2, 1], [-1, 2]
        full = pr.transitions(net, pr.Circle(c, u, v))
        a = pr.transitions(net, pr.Circle(c, u, v, (-sympy.pi, 0)))
        b = pr.transitions(net, pr.Circle(c, u, v, (0, sympy.pi)))
        want = [x.value for x in a.breakpoints + b.breakpoints]
        if a.patterns[-1] != b.patterns[0]:
            want.append(0.0)  # a transition exactly at the junction t = 0
        if b.patterns[-1] != a.patterns[0]:
            want.append(math.pi)  # ... or at t = pi (= -pi)
        assert full.count == len(want)
        assert sorted(x.value for x in full.breakpoints) == pytest.approx(sorted(want))
        assert full.num_pieces == full.count or full.count == 0


def test_raghu_quarter_arc():
    net = random_network([3, 4, 4, 1], seed=9)
    x0, x1 = [1, 2, 0], [0, 1, 2]
    res = pr.transitions(net, pr.Circle([0, 0, 0], x0, x1, (0, "pi/2")))
    assert not res.closed
    for b in res.breakpoints:
        assert 0 < b.value < math.pi / 2


def test_output_transitions_and_embedded_circle():
    c = pr.embedded_circle(6, seed=3)
    assert sum(a * a for a in c.v) == 1 and sum(a * b for a, b in zip(c.u, c.v)) == 0
    net = random_network([6, 5, 5, 1], seed=1)
    res = pr.transitions(net, c)
    assert res.output_transitions <= res.count
    assert res.num_linear_pieces <= res.num_pieces
    # neuron 1 does not reach the output: its flips never change the affine map
    net2 = pr.Network.from_weights([([[1, 0], [0, 1]], [0, F(1, 2)]), ([[2, 0]], [1])])
    res2 = pr.transitions(net2, pr.unit_circle())
    assert res2.count == 4 and res2.per_neuron == {(1, 0): 2, (1, 1): 2}
    assert res2.output_transitions == 2 and res2.num_linear_pieces == 2


# ------------------------------------------------------------------ curves

def test_curve_refinement_on_a_line_finds_the_exact_transitions():
    rng = random.Random(2)
    net = random_network([2, 5, 4, 1], seed=7)
    p, q = _rand_point(rng, 2, scale=30), _rand_point(rng, 2, scale=30)
    exact = pr.transitions(net, [p, q])
    lip = F(math.ceil(math.dist([float(a) for a in p], [float(a) for a in q])) + 1)
    curve = pr.Curve(lambda t: _seg_point(p, q, t), (0, 1), lipschitz=lip)
    approx = pr.transitions(net, curve, resolution=F(1, 2**24))
    assert not approx.exact
    assert approx.count == exact.count  # lower bound, tight for a line
    for got, want in zip(approx.breakpoints, exact.breakpoints):
        assert abs(got.local - want.local) < F(1, 2**23)


def test_tractrix_curve():
    net = random_network([2, 4, 4, 1], seed=3)
    curve = pr.tractrix()
    for t in (F(-5, 2), F(-1, 3), F(0), F(7, 4)):
        x, y = curve.point(t)
        tf = float(t)
        assert float(x) == pytest.approx(tf - math.tanh(tf), abs=1e-15)
        assert float(y) == pytest.approx(1 / math.cosh(tf), abs=1e-15)
    res = pr.transitions(net, curve, resolution=F(1, 2**16))
    assert not res.exact and res.count >= 1
    for t, pat in ((F(-3), res.patterns[0]), (F(3), res.patterns[-1])):
        assert net.pattern(curve.point(t)) == pat


def test_curve_sample_within_error_of_a_boundary_is_not_trusted():
    # the true curve x(t) = ((t - 1/2)^2 + eps, 0) never reaches x1 = 0, but the
    # computed points (within `error` = 2 eps of it) dip across near t = 1/2
    net = pr.Network.from_weights([([[1, 0]], [0]), ([[1]], [0])])
    eps = F(1, 1000)

    def computed(t):
        dip = 2 * eps if abs(t - F(1, 2)) < F(1, 100) else 0
        return ((t - F(1, 2)) ** 2 + eps - dip, F(0))

    assert net.pattern(computed(F(1, 2))) == ((0,),)  # the dip is visible to sampling
    curve = pr.Curve(computed, (0, 1), lipschitz=1, error=2 * eps)
    res = pr.transitions(net, curve, resolution=F(1, 2**12))
    assert not res.partial
    assert res.count == 0 and res.patterns == (((1,),),)  # certified lower bound: 0
    # the same error on a curve that really crosses: the crossing is certified
    cross = pr.Curve(lambda t: (t - F(1, 2), F(0)), (0, 1), lipschitz=1, error=2 * eps)
    res2 = pr.transitions(net, cross, resolution=F(1, 2**12))
    assert res2.count == 1 and res2.patterns == (((0,),), ((1,),))
    assert abs(res2.breakpoints[0].key - F(1, 2)) <= 3 * eps


def _arc_length(c, u, v, a, b, n=20001):
    import numpy as np

    t = np.linspace(a, b, n)
    pts = (np.asarray(c, float)[:, None] + np.cos(t) * np.asarray(u, float)[:, None]
           + np.sin(t) * np.asarray(v, float)[:, None])
    return float(np.sum(np.linalg.norm(np.diff(pts, axis=1), axis=0)))


@pytest.mark.parametrize("t_range", [None, (0, "pi")])
def test_along_curve_distance_on_an_ellipse_is_arc_length(t_range):
    from polyrelu.trajectories import _along_distances

    net = random_network([2, 5, 1], seed=4)
    c, u, v = [F(1, 3), F(0)], [F(2), F(0)], [F(1, 2), F(1, 2)]  # not orthonormal
    ell = pr.Circle(c, u, v, t_range)
    res = pr.transitions(net, ell)
    assert res.count >= 2
    lo, hi = (-math.pi, math.pi) if t_range is None else (0.0, math.pi)
    period = _arc_length(c, u, v, -math.pi, math.pi, 200001)
    params = [lo + (hi - lo) * (j + 0.5) / 7 for j in range(7)]
    got = _along_distances(ell, res, params)
    for p, g in zip(params, got):
        want = math.inf
        for b in res.breakpoints:
            a0, a1 = sorted((p, b.value))
            d = _arc_length(c, u, v, a0, a1)
            if t_range is None:
                d = min(d, period - d)
            want = min(want, d)
        assert g == pytest.approx(want, rel=1e-6)
    m = pr.manifold_regions(net, ell, samples=9)
    assert m.mean_distance_along >= m.mean_distance_euclidean - 1e-12


# ------------------------------------------------------------------ lengths

def _float_image_length(net, pts, kind="post"):
    import numpy as np

    from polyrelu.trajectories import _float_layers
    imgs = [_float_layers(net, [float(a) for a in p], kind) for p in pts]
    return [float(np.sum(np.linalg.norm(np.diff(np.array([im[l] for im in imgs]), axis=0),
                                        axis=1))) for l in range(net.num_layers + 1)]


@pytest.mark.parametrize("kind", ["post", "pre"])
def test_polyline_length_exact_vs_float_images(kind):
    rng = random.Random(4)
    net = random_network([2, 4, 4, 2], seed=5, skips={3: [1]})
    path = [_rand_point(rng, 2, scale=30) for _ in range(3)]
    tl = pr.trajectory_length(net, path, kind=kind)
    # the image is piecewise linear with kinks only at breakpoints
    pts = [path[0]]
    for j, (p, q) in enumerate(zip(path, path[1:])):
        pts += [_seg_point(p, q, b.local) for b in tl.transitions.breakpoints if b.piece == j]
        pts.append(q)
    assert list(tl.values) == pytest.approx(_float_image_length(net, pts, kind), rel=1e-9)
    for x in tl.lengths:
        assert float(x.exact) == pytest.approx(x.value, rel=1e-12)
    input_len = sum(sympy.sqrt(sum(sympy.Rational(b - a) ** 2 for a, b in zip(p, q)))
                    for p, q in zip(path, path[1:]))
    assert sympy.simplify(tl.lengths[0].exact - input_len) == 0


def test_circle_length_float():
    net = pr.Network.from_weights([([[2, 0], [0, 2]], [0, 0]), ([[1, 0]], [0])])
    tl = pr.trajectory_length(net, pr.unit_circle())
    assert not tl.exact
    assert tl.values[0] == pytest.approx(2 * math.pi, rel=1e-5)
    # relu(2x), relu(2y): a quarter circle of radius 2 plus two segments of length 2
    # (to and from the origin, which the third quadrant maps to)
    assert tl.values[1] == pytest.approx(math.pi + 4, rel=1e-5)


# Independent float64 image of points under a network (numpy forward pass from
# the weights, no polyrelu helper): lengths are float-only reported values, so
# the comparisons below use float tolerances.
def _np_images(net, X):
    import numpy as np

    X = np.asarray(X, dtype=float)
    nus = [X]
    imgs = [X]
    for l, layer in enumerate(net.layers, start=1):
        u = nus[-1]
        for s in net.skip_sources.get(l, ()):
            u = u + nus[s]
        W = np.array([[float(a) for a in r] for r in layer.W])
        b = np.array([float(a) for a in layer.b])
        z = u @ W.T + b
        if l == net.num_layers:
            imgs.append(z)
            break
        if net.activation == "relu":
            nu = np.maximum(z, 0.0)
        elif net.activation == "leaky_relu":
            nu = np.where(z >= 0, z, float(net.alpha) * z)
        else:
            nu = np.clip(z, -1.0, 1.0)
        nus.append(nu)
        imgs.append(nu)
    return imgs


def _np_chord_lengths(net, X, chunk=20000):
    import numpy as np

    X = np.asarray(X, dtype=float)
    out = np.zeros(net.num_layers + 1)
    for i in range(0, len(X) - 1, chunk):  # chunks share their end points
        ims = _np_images(net, X[i:i + chunk + 1])
        out += [np.sum(np.linalg.norm(np.diff(im, axis=0), axis=1)) for im in ims]
    return [float(x) for x in out]


def _np_circle_lengths(net, path, a, b, n=2000001):
    import numpy as np

    t = np.linspace(a, b, n)
    c, u, v = (np.array([float(x) for x in w]) for w in (path.center, path.u, path.v))
    X = c + np.cos(t)[:, None] * u + np.sin(t)[:, None] * v
    return _np_chord_lengths(net, X)


_PATHS = {"circle": lambda: pr.Circle([0, 0], [1, 0], [0, 1]),
          "ellipse": lambda: pr.Circle([F(1, 3), 0], [2, 0], [F(1, 2), F(1, 2)]),
          "arc": lambda: pr.Circle([F(1, 3), 0], [2, 0], [F(1, 2), F(1, 2)], (0, "pi"))}


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("which", sorted(_PATHS))
def test_partial_circle_lengths_are_those_of_the_walked_arc(which, k):
    net = random_network([2, 8, 8, 1], seed=0)
    path = _PATHS[which]()
    full = pr.trajectory_length(net, path)
    part = pr.trajectory_length(net, path, max_transitions=k)
    bps = full.transitions.breakpoints
    res = part.transitions
    assert len(bps) > k + 1
    assert part.partial and not part.exact and res.count == k
    t0 = float(path.angles()[0])
    c, u, v = path.center, path.u, path.v
    # the walk stops at the next event after the k-th breakpoint: the input
    # length is the arc length up to a point between breakpoints k and k + 1
    lo = _arc_length(c, u, v, t0, bps[k - 1].value, 200001)
    hi = _arc_length(c, u, v, t0, bps[k].value, 200001)
    assert lo * (1 - 1e-9) <= part.values[0] <= hi * (1 + 1e-9)
    stop = res.stop
    assert bps[k - 1].value <= stop <= bps[k].value
    assert part.values[0] == pytest.approx(_arc_length(c, u, v, t0, stop, 200001), rel=1e-7)
    if which == "circle":  # unit circle: the length is the walked angle
        assert part.values[0] == pytest.approx(stop - (-math.pi), rel=1e-7)
    assert list(part.values) == pytest.approx(_np_circle_lengths(net, path, t0, stop),
                                              rel=1e-6)
    for a, b in zip(part.values, full.values):  # a sub-path's image is no longer
        assert a <= b * (1 + 1e-9)
    assert part.values[0] < full.values[0]


def test_tiny_time_limit_on_a_circle_is_partial_and_consistent():
    net = random_network([2, 8, 8, 1], seed=0)
    full = pr.transitions(net, pr.unit_circle())
    tl = pr.trajectory_length(net, pr.unit_circle(), time_limit=1e-9)
    res = tl.transitions
    assert tl.partial and not tl.exact and "time limit" in tl.reason and not res.closed
    assert res.count == 0 and res.patterns == full.patterns[:1]
    assert -math.pi < res.stop <= full.breakpoints[0].value
    assert tl.values[0] == pytest.approx(res.stop + math.pi, rel=1e-7)
    assert list(tl.values) == pytest.approx(
        _np_circle_lengths(net, pr.unit_circle(), -math.pi, res.stop), rel=1e-6)
    assert pr.transitions(net, pr.unit_circle()).stop is None  # a complete walk


def test_partial_polyline_reports_where_it_stopped():
    net = random_network([2, 5, 4, 1], seed=7)
    p, q = [F(-3), F(-2)], [F(4), F(5)]
    full = pr.transitions(net, [p, q])
    tl = pr.trajectory_length(net, [p, q], max_transitions=2)
    stop = tl.transitions.stop
    assert full.breakpoints[1].value <= stop <= full.breakpoints[2].value
    assert tl.values[0] == pytest.approx(stop * math.dist([-3, -2], [4, 5]), rel=1e-12)


def test_partial_curve_lengths_are_those_of_the_walked_part():
    net = random_network([2, 4, 4, 1], seed=3)
    curve = pr.tractrix()
    full = pr.trajectory_length(net, curve, resolution=F(1, 2**16))
    part = pr.trajectory_length(net, curve, resolution=F(1, 2**16), max_samples=60)
    res = part.transitions
    assert part.partial and "max_samples" in part.reason
    t0, stop = curve.t_range[0], res.stop
    assert isinstance(stop, Fraction) and t0 < stop < curve.t_range[1]
    assert all(b.key <= stop for b in res.breakpoints)
    # the tractrix's arc length from t0 to stop (closed form)
    assert part.values[0] == pytest.approx(curve.arc_length(float(t0), float(stop)), rel=1e-6)
    ts = [t0 + (stop - t0) * F(i, 20000) for i in range(20001)]
    want = _np_chord_lengths(net, [[float(a) for a in curve.point(t)] for t in ts])
    assert list(part.values) == pytest.approx(want, rel=1e-5)
    for a, b in zip(part.values, full.values):
        assert a <= b * (1 + 1e-9)
    assert part.values[0] < full.values[0]


_ACAS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "onnx",
                     "ACASXU_run2a_1_1_batch_2000.onnx")


@pytest.mark.skipif(not os.path.exists(_ACAS), reason="ACAS Xu model not available")
def test_partial_circle_lengths_on_acas():
    import polyrelu.io

    acas = polyrelu.io.load(_ACAS)
    circle = pr.Circle([0] * 5, [1, 0, 0, 0, 0], [0, 1, 0, 0, 0])
    tl = pr.trajectory_length(acas, circle, max_transitions=10)
    res = tl.transitions
    assert tl.partial and res.count == 10 and -math.pi < res.stop < math.pi
    assert tl.values[0] == pytest.approx(res.stop + math.pi, rel=1e-7)
    assert list(tl.values) == pytest.approx(
        _np_circle_lengths(acas, circle, -math.pi, res.stop, n=200001), rel=1e-5)


def _brute_output_transitions(net, res):
    return sum(1 for b in res.breakpoints
               if net.affine_map(b.before) != net.affine_map(b.after))


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from(["relu", "leaky_relu", "hard_tanh"]))
def test_output_transitions_match_the_affine_maps(seed, act):
    rng = random.Random(seed)
    skips = {3: [1]} if rng.random() < 0.5 else None
    alpha = F(1, 4) if act == "leaky_relu" else None
    net = random_network([2, 4, 4, 2], seed=seed, skips=skips, activation=act, alpha=alpha)
    paths = [pr.Circle([0, 0], [3, 0], [0, 3]),
             [_rand_point(rng, 2, scale=30), _rand_point(rng, 2, scale=30)]]
    for path in paths:
        res = pr.transitions(net, path)
        assert res.output_transitions == _brute_output_transitions(net, res)
    # dead-ish nets: many flips do not reach the output
    sparse = pr.Network.from_weights([([[1, 0], [0, 1], [1, 1]], [0, F(1, 2), 0]),
                                      ([[1, 0, 0], [0, 0, 1]], [0, 0]), ([[1, 0]], [0])],
                                     activation=act, alpha=alpha)
    for path in paths:
        res = pr.transitions(sparse, path)
        assert res.output_transitions == _brute_output_transitions(sparse, res)


def test_output_transitions_with_simultaneous_flips():
    # two copies of one neuron flip at the same point: the general comparison
    net = pr.Network.from_weights([([[1, 0], [1, 0], [0, 1]], [0, 0, 0]),
                                   ([[1, -1, 1]], [0])])
    res = pr.transitions(net, [[-1, -1], [1, 2]])
    assert any(len(b.flips) == 2 for b in res.breakpoints)
    assert res.output_transitions == _brute_output_transitions(net, res) == 1


# ------------------------------------------------------------------ distance

@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10**6))
def test_distance_to_boundary_exact_checks(seed):
    rng = random.Random(seed)
    net = random_network([2, 4, 4, 1], seed=seed)
    x = _rand_point(rng, 2, scale=30)
    d = pr.distance_to_boundary(net, x)
    if d.squared is None:
        return
    pat = net.pattern(x)
    # the foot is rational, at exactly that distance, and on the boundary: just
    # beyond it the pattern changes
    assert sum((a - b) ** 2 for a, b in zip(d.foot, x)) == d.squared
    if d.squared > 0:
        beyond = tuple(f + (f - a) / 1000 for f, a in zip(d.foot, x))
        assert net.pattern(beyond) != pat
        # points strictly inside the ball keep the pattern (exact check)
        for _ in range(30):
            w = [F(rng.randint(-100, 100), 100) for _ in range(2)]
            n2 = sum(a * a for a in w)
            if n2 == 0:
                continue
            lam = F(rng.randint(0, 99), 100)
            # y = x + lam * r * w/|w| with r^2 = d^2: use a rational radius below d
            r = F(math.sqrt(float(d.squared)) * 0.999)
            if r * r >= d.squared:
                continue
            scale = F(math.sqrt(float(n2)))
            y = tuple(a + lam * r * wi / scale for a, wi in zip(x, w))
            if sum((a - b) ** 2 for a, b in zip(y, x)) < d.squared:
                assert net.pattern(y) == pat
    assert d.hanin_rolnick == pytest.approx(d.value, rel=1e-9, abs=1e-12)


def test_distance_brute_force_over_directions():
    rng = random.Random(8)
    net = random_network([2, 5, 3, 1], seed=12)
    for _ in range(3):
        x = _rand_point(rng, 2, scale=20)
        d = pr.distance_to_boundary(net, x)
        if d.squared == 0:
            continue
        best = math.inf
        for j in range(72):  # exit distance along many rays, each exact
            ang = 2 * math.pi * j / 72
            w = (F(math.cos(ang)).limit_denominator(10**6), F(math.sin(ang)).limit_denominator(10**6))
            q = tuple(a + 100 * wi for a, wi in zip(x, w))
            res = pr.transitions(net, [x, q])
            if res.count:
                t = res.breakpoints[0].local
                best = min(best, 100 * float(t) * math.hypot(*map(float, w)))
        assert best >= d.value * (1 - 1e-9)
        assert best <= d.value * 1.05 + 1e-9


def test_distance_doc_example_and_domain():
    net = pr.Network.from_weights([([[1, 1], [1, -1]], [0, 0]), ([[1, 1]], [0])])
    d = pr.distance_to_boundary(net, [3, 1])
    assert d.squared == 2  # (3 - 1)^2 / 2 from x - y = 0
    box = pr.Polyhedron.box([0, 0], [F(7, 2), 5])
    d2 = pr.distance_to_boundary(net, [3, 1], domain=box)
    assert d2.squared == F(1, 4) and d2.nearest[0] == "domain"


# ------------------------------------------------------------------ manifolds

def test_manifold_regions_circle_vs_exact_transitions():
    net = random_network([2, 6, 4, 1], seed=2)
    m = pr.manifold_regions(net, pr.unit_circle(), samples=30)
    res = pr.transitions(net, pr.unit_circle())
    assert m.activation_pieces == res.num_pieces
    assert m.linear_pieces <= m.activation_pieces
    # along-curve distance >= Euclidean distance (chord <= arc), on average too
    assert m.mean_distance_along >= m.mean_distance_euclidean - 1e-12


# ------------------------------------------------------------------ CLI

def test_cli_trajectory_json(tmp_path, capsys):
    import json

    from polyrelu.cli import main

    net = random_network([2, 4, 3, 1], seed=1)
    path = tmp_path / "net.json"
    try:
        net.save(path)
    except Exception:  # io not available yet
        pytest.skip("polyrelu.io not available")
    assert main(["trajectory", str(path), "--line", "-3,-2", "4,5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    res = pr.transitions(net, [[-3, -2], [4, 5]])
    assert int(doc["count"]) == res.count
    assert [int(x) for x in doc["per_layer"]] == list(res.per_layer)
    assert main(["trajectory", str(path), "--circle", "0,0", "2,0", "0,2"]) == 0
    out = capsys.readouterr().out
    assert "transitions" in out


def test_cli_trajectory_text_and_errors(tmp_path, capsys):
    from polyrelu.cli import main

    net = random_network([2, 4, 1], seed=3)
    path = tmp_path / "net.json"
    try:
        net.save(path)
    except Exception:  # io not available yet
        pytest.skip("polyrelu.io not available")
    assert main(["trajectory", str(path), "--line", "-1,-1", "1,1"]) == 0
    out = capsys.readouterr().out
    res = pr.transitions(net, [[-1, -1], [1, 1]])
    assert f"transitions (points where the activation pattern changes): {res.count}" in out
    assert "Serra" in out  # bounds of the 1-input slice next to the exact count
    assert main(["trajectory", str(path), "--circle", "0,0", "1,0", "0,1",
                 "--arc", "0", "pi/2"]) == 0
    assert main(["trajectory", str(path), "--line", "0,0", "1,1", "1,0", "--closed"]) == 0
    capsys.readouterr()
    assert main(["trajectory", str(path), "--line", "0,0,0", "1,1,1"]) == 2
    assert "coordinates" in capsys.readouterr().err
    assert main(["trajectory", str(path), "--line", "0,0"]) == 2


def test_cli_trajectory_partial_is_not_exact(tmp_path, capsys):
    import json

    from polyrelu.cli import main

    net = random_network([2, 5, 4, 1], seed=7)
    path = tmp_path / "net.json"
    net.save(path)
    args = ["trajectory", str(path), "--line", "-3,-2", "4,5", "--max-transitions", "2"]
    assert main(args) == 0
    cap = capsys.readouterr()
    assert "(exact)" not in cap.out and "partial" in cap.out.lower()
    assert "partial" in cap.err
    assert main(args + ["--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["partial"] is True and doc["exact"] is False
    assert doc["lengths_exact"] is False


def test_cli_partial_circle_lengths_are_the_walked_arc(tmp_path, capsys):
    import json

    from polyrelu.cli import main

    net = random_network([2, 8, 8, 1], seed=0)
    path = tmp_path / "net.json"
    net.save(path)
    args = ["trajectory", str(path), "--circle", "0,0", "1,0", "0,1", "--max-transitions", "1"]
    assert main(args + ["--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    stop = float(doc["stop"])
    assert doc["lengths_partial"] is True and -math.pi < stop < math.pi
    want = pr.trajectory_length(net, pr.unit_circle(), max_transitions=1)
    # float lengths (numpy sums over the walked arc): equal up to rounding,
    # not bitwise (summation order is the BLAS's, not ours)
    assert [x["value"] for x in doc["lengths"]] == pytest.approx(list(want.values),
                                                                rel=1e-12)
    assert doc["lengths"][0]["value"] == pytest.approx(stop + math.pi, rel=1e-7)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "walked part only" in out and f"up to parameter ~{stop:.6g}" in out

def test_cli_trajectory_hard_tanh_bounds_hold(tmp_path, capsys):
    import json

    from polyrelu.cli import main

    # the audit's 1-3-1 hard tanh net: 7 pieces on [-5, 5]
    net = pr.Network.from_weights([([[1], [2], [3]], [0, 0, 0]), ([[1, 1, 1]], [0])],
                                  activation="hard_tanh")
    path = tmp_path / "ht.json"
    net.save(path)
    assert main(["trajectory", str(path), "--line", "-5", "5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    pieces = int(doc["pieces"])
    # breakpoints where k x = +-1 (k = 1, 2, 3), all inside (-5, 5)
    assert pieces == len({F(sg, k) for k in (1, 2, 3) for sg in (-1, 1)}) + 1
    ups = [e for e in doc["bounds"]["entries"] if e["kind"] == "upper"]
    assert ups and all(e["value"] is None or int(e["value"]) >= pieces for e in ups)
    assert main(["trajectory", str(path), "--line", "-5", "5"]) == 0
    out = capsys.readouterr().out
    for line in out.splitlines():
        if "(upper)" in line and line.split()[-1].isdigit():
            assert int(line.split()[-1]) >= pieces, line


def test_exact_expressions_with_huge_radicands():
    from polyrelu.trajectories import _sqrt_sum

    big = F(3**200 + 1, 7**90)  # sympy would try to factor this
    expr, val = _sqrt_sum({big: F(2, 3), F(2): F(7), F(8): F(1)})
    ref = sympy.Rational(2, 3) * sympy.sqrt(sympy.Integer(3**200 + 1)) / sympy.sqrt(
        sympy.Integer(7**90)) + 9 * sympy.sqrt(2)
    assert abs(expr.evalf(60) - ref.evalf(60)) < sympy.Float("1e-40", 60) * abs(ref.evalf(60))
    assert val == pytest.approx(float(ref.evalf(30)), rel=1e-12)
    n = _Num(1, F(1, 3), big)
    assert float(n.sympy().evalf(40)) == pytest.approx(float(n), rel=1e-12)


def test_curve_samples_on_a_boundary_are_not_trusted():
    # x(t) = (t, t^2) touches the fold z = -y = 0 only at t = 0: the pattern is
    # (0,) on both sides, so there is no transition; a sample exactly on the
    # boundary (error 0) has a tie-rule pattern and must not count
    net = pr.Network.from_weights([([[0, -1]], [0]), ([[1]], [0])])
    r = pr.transitions(net, pr.Curve(lambda t: (t, t * t), (-1, 1), lipschitz=3))
    assert r.count == 0 and r.patterns == (((0,),),)
    # a curve starting on a boundary: the exact polyline answer is 0 too
    net2 = pr.Network.from_weights([([[1, 0]], [0]), ([[1]], [0])])
    assert pr.transitions(net2, [[0, 0], [-1, 1]]).count == 0
    r2 = pr.transitions(net2, pr.Curve(lambda t: (-t, t), (0, 1), lipschitz=2))
    assert r2.count == 0


def _input_mapped(seed):
    rng = random.Random(seed)
    net = random_network([3, 3, 3, 3, 1], seed=seed, denominator=4, skips={3: [0, 1], 4: [0]})
    x0 = [Fraction(rng.randint(-4, 4), 4) for _ in range(3)]
    U = [[Fraction(rng.randint(-4, 4), 4) for _ in range(2)] for _ in range(3)]
    return net, x0, U, net.restrict(x0, U)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10 ** 6))
def test_input_mapped_networks_walk_like_the_lifted_path(seed):
    """sub(t) = net(x0 + U t) for a slice with skips from the input (an input
    map): along a path in t the transitions, patterns and the lengths of every
    layer's image are those of net along the lifted path; depth 0 is the
    t-path itself."""
    net, x0, U, sub = _input_mapped(seed)
    assert sub.input_map is not None

    def lift(t):
        return [a + sum((u * s for u, s in zip(row, t)), Fraction(0)) for a, row in zip(x0, U)]

    p, q = [Fraction(-3), Fraction(2)], [Fraction(4), Fraction(-1)]
    rs, rn = pr.transitions(sub, [p, q]), pr.transitions(net, [lift(p), lift(q)])
    assert rs.patterns == rn.patterns
    assert [b.local for b in rs.breakpoints] == [b.local for b in rn.breakpoints]
    for kind in ("post", "pre"):
        ls = pr.trajectory_length(sub, [p, q], kind=kind)
        ln = pr.trajectory_length(net, [lift(p), lift(q)], kind=kind)
        assert ls.lengths[0].exact == sympy.sqrt(58)        # |q - p| in t-space
        for a, b in zip(ls.lengths[1:], ln.lengths[1:]):
            assert sympy.simplify(a.exact - b.exact) == 0
    c = pr.Circle([0, 0], [1, 0], [0, 1])
    lifted = pr.Circle(lift([0, 0]), [U[i][0] for i in range(3)], [U[i][1] for i in range(3)])
    if any(U[i][0] for i in range(3)) and any(U[i][1] for i in range(3)):
        assert pr.transitions(sub, c).patterns == pr.transitions(net, lifted).patterns
    t = [Fraction(1, 3), Fraction(1, 5)]
    d = pr.distance_to_boundary(sub, t)
    if d.squared is not None:
        assert d.hanin_rolnick == pytest.approx(math.sqrt(d.squared), rel=1e-9)  # float display
        assert sub.pattern(t) == d.pattern


def test_arc_angles_must_be_exact_numbers():
    for bad in ("banana", "x + 1", "1/0 +"):
        with pytest.raises(pr.DomainError, match="arc angle"):
            pr.Circle([0, 0], [1, 0], [0, 1], (0, bad))
    arc = pr.Circle([0, 0], [1, 0], [0, 1], (0, "pi/2"))
    assert arc.t_range == (0, sympy.pi / 2)
