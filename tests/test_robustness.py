"""Robustness radius and Lipschitz constants, cross-checked against closed forms
and the exact partition of small networks."""

import json
import random
from fractions import Fraction

import numpy as np
import pytest

import polyrelu as pr
from polyrelu.cli import main
from polyrelu.robustness import robustness_radius

BOX = ((-2, -2), (2, 2))


def small_net(seed=0, widths=(2, 6, 5, 3)):
    rng = random.Random(seed)
    layers = []
    for a, b in zip(widths, widths[1:]):
        W = [[Fraction(rng.randint(-8, 8), 4) for _ in range(a)] for _ in range(b)]
        layers.append((W, [Fraction(rng.randint(-4, 4), 4) for _ in range(b)]))
    return pr.Network.from_weights(layers)


def linear_classifier(W, b):
    """f(x) = W x + b on [-10, 10]^d, written as W relu(x + 100) + b - 100 W 1."""
    d = len(W[0])
    eye = [[int(i == j) for j in range(d)] for i in range(d)]
    shift = [b[k] - 100 * sum(W[k]) for k in range(len(W))]
    return pr.Network.from_weights([(eye, [100] * d), (W, shift)])


def argmax(y):
    return max(range(len(y)), key=lambda j: (y[j], -j))


@pytest.mark.parametrize("norm, dual", [("linf", lambda v: sum(abs(a) for a in v)),
                                        ("l1", lambda v: max(abs(a) for a in v))])
def test_linear_closed_form(norm, dual):
    W = [[Fraction(3), Fraction(1)], [Fraction(-1), Fraction(2)], [Fraction(1, 2), Fraction(-3)]]
    b = [Fraction(1), Fraction(0), Fraction(1, 3)]
    net = linear_classifier(W, b)
    x = (Fraction(1, 2), Fraction(-1, 4))
    y = net(x)
    c = argmax(y)
    want = min((y[c] - y[j]) / dual([W[c][i] - W[j][i] for i in range(2)])
               for j in range(3) if j != c)
    r = robustness_radius(net, x, norm=norm, domain=((-10, -10), (10, 10)))
    assert r.exact and r.radius == want and r.lower == r.upper == want
    assert r.label == c and r.radius_float == float(want)
    z = r.witness
    dist = (max if norm == "linf" else sum)(abs(a - b) for a, b in zip(z, x))
    assert dist == want
    yz = net(z)
    assert yz[r.witness_class] >= yz[c] and r.witness_class != c


def boxes_meet_change(net, x, c, r, regions):
    """Does the closed box of radius r around x meet {f_j >= f_c} (exact, by
    emptiness of polyhedra -- no LP distance)?"""
    B = pr.Polyhedron.box([v - r for v in x], [v + r for v in x])
    for reg in regions:
        M, m0 = reg.affine_map
        for j in range(len(M)):
            if j == c:
                continue
            row = [M[c][i] - M[j][i] for i in range(len(x))]
            H = pr.Polyhedron.from_inequalities([row], [m0[j] - m0[c]])
            if not reg.polyhedron.intersect(B).intersect(H).is_empty():
                return True
    return False


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_linf_radius_against_the_full_partition(seed):
    net = small_net(seed)
    rng = random.Random(seed)
    x = (Fraction(rng.randint(-4, 4), 4), Fraction(rng.randint(-4, 4), 4))
    res = robustness_radius(net, x, domain=BOX)
    assert res.exact
    y = net(x)
    c = argmax(y)
    regs = list(pr.regions(net, pr.Polyhedron.box(*BOX)))
    if res.radius is None:          # the class never changes on the box
        assert not boxes_meet_change(net, x, c, 4, regs)
        return
    r = res.radius
    assert r > 0
    assert boxes_meet_change(net, x, c, r, regs)
    assert not boxes_meet_change(net, x, c, r * (1 - Fraction(1, 10 ** 6)), regs)
    z = res.witness
    assert max(abs(a - b) for a, b in zip(z, x)) == r
    assert all(lo <= v <= hi for v, lo, hi in zip(z, *BOX))
    yz = net(z)
    assert yz[res.witness_class] >= yz[c]
    # float sanity: the class never changes at random points of the open ball
    pts = np.array([float(v) for v in x]) + float(r) * 0.999 * \
        np.random.default_rng(seed).uniform(-1, 1, size=(200, 2))
    for p in pts[:40]:
        assert argmax(net([Fraction(v) for v in p])) == c


@pytest.mark.parametrize("seed", [0, 4])
def test_l1_radius_against_the_full_partition(seed):
    net = small_net(seed)
    x = (Fraction(1, 4), Fraction(-1, 2))
    res = robustness_radius(net, x, norm="l1", domain=BOX)
    assert res.exact
    if res.radius is None:
        return
    z = res.witness
    assert sum(abs(a - b) for a, b in zip(z, x)) == res.radius
    # every region's exact LP distance (independent code: the polyhedra's
    # vertices of {f_j >= f_c} cut by the l1 ball are outside the open ball)
    c = argmax(net(x))
    yz = net(z)
    assert yz[res.witness_class] >= yz[c]
    r_lin = robustness_radius(net, x, norm="linf", domain=BOX).radius
    assert r_lin <= res.radius <= 2 * r_lin


def test_l2_gives_certified_bounds():
    net = small_net(1)
    x = (Fraction(0), Fraction(0))
    res = robustness_radius(net, x, norm="l2", domain=BOX)
    assert not res.exact and res.radius is None
    lin = robustness_radius(net, x, norm="linf", domain=BOX)
    if lin.radius is None:
        return
    assert res.lower <= lin.radius                  # boxes: the l_inf radius bounds it
    assert res.upper_squared >= lin.radius ** 2     # ||.||_2 >= ||.||_inf
    assert res.upper ** 2 >= res.upper_squared
    z = res.witness
    assert sum((a - b) ** 2 for a, b in zip(z, x)) == res.upper_squared
    assert res.lower ** 2 < res.upper_squared


def test_tie_at_x_is_radius_zero():
    net = linear_classifier([[1, 0], [0, 1]], [0, 0])
    res = robustness_radius(net, ["1/3", "1/3"], domain=((-10, -10), (10, 10)))
    assert res.radius == 0 and res.exact and res.witness == (Fraction(1, 3),) * 2


@pytest.mark.parametrize("kwargs, err, words", [
    ({"x": [0, 0], "norm": "l3"}, pr.DomainError, "unknown norm"),
    ({"x": [0, 0, 0]}, pr.DomainError, "3 coordinates"),
    ({"x": [5, 0], "domain": BOX}, pr.DomainError, "outside the domain"),
])
def test_bad_input(kwargs, err, words):
    with pytest.raises(err, match=words):
        robustness_radius(small_net(0), **kwargs)


def test_time_limit_gives_marked_bounds():
    net = small_net(2, widths=(2, 16, 16, 3))
    res = robustness_radius(net, (0, 0), domain=BOX, max_cells=1, max_regions=1)
    if not res.exact:
        assert res.reason and res.radius is None
        assert res.lower is not None and (res.upper is None or res.lower <= res.upper)


def test_cli_json(tmp_path, capsys):
    net = small_net(0)
    model = tmp_path / "net.json"
    net.save(model)
    code = main(["robustness", str(model), "--at", "1/4,-1/2", "--box", "-2,2", "--json"])
    doc = json.loads(capsys.readouterr().out)
    want = robustness_radius(net, ("1/4", "-1/2"), domain=BOX)
    assert code == 0 and doc["exact"] and Fraction(doc["radius"]) == want.radius
    assert main(["robustness", str(model), "--at", "1/4", "--box", "-2,2"]) == 2
    assert "1 coordinates" in capsys.readouterr().err


# -- Lipschitz constants ------------------------------------------------------

@pytest.mark.parametrize("norm", ["linf", "l1"])
def test_lipschitz_linear_closed_form(norm):
    from polyrelu.lipschitz import lipschitz_constant

    W = [[Fraction(3), Fraction(-1)], [Fraction(-1, 2), Fraction(2)], [Fraction(1), Fraction(4)]]
    net = linear_classifier(W, [0, 0, 0])
    L = lipschitz_constant(net, ((-10, -10), (10, 10)), norm=norm)
    want = max(sum(abs(a) for a in r) for r in W) if norm == "linf" else \
        max(sum(abs(r[j]) for r in W) for j in range(2))
    assert L.exact and L.value == want == L.lower == L.upper


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("norm", ["linf", "l1"])
def test_lipschitz_attained_and_never_exceeded(seed, norm):
    from polyrelu.lipschitz import lipschitz_constant

    net = small_net(seed)
    L = lipschitz_constant(net, BOX, norm=norm)
    assert L.exact and L.value > 0
    M = net.affine_map(net.pattern(L.point))[0]
    d = 2
    # attained: a step from the interior point, inside its region, grows by L exactly
    if norm == "linf":
        i = max(range(len(M)), key=lambda k: sum(abs(a) for a in M[k]))
        step = [Fraction(1 if a >= 0 else -1) for a in M[i]]
    else:
        j = max(range(d), key=lambda k: sum(abs(r[k]) for r in M))
        step = [Fraction(int(k == j)) for k in range(d)]
    h = Fraction(1, 2 ** 20)
    q = tuple(p + h * s for p, s in zip(L.point, step))
    assert net.pattern(q) == net.pattern(L.point)
    diff = [a - b for a, b in zip(net(q), net(L.point))]
    nrm = (lambda v: max(abs(a) for a in v)) if norm == "linf" else \
        (lambda v: sum(abs(a) for a in v))
    assert nrm(diff) == L.value * nrm([h * s for s in step])
    # never exceeded: exact quotients at random pairs of points
    rng = random.Random(seed)
    for _ in range(50):
        a = [Fraction(rng.randint(-64, 64), 32) for _ in range(d)]
        b = [Fraction(rng.randint(-64, 64), 32) for _ in range(d)]
        if a != b:
            assert nrm([u - v for u, v in zip(net(a), net(b))]) <= \
                L.value * nrm([u - v for u, v in zip(a, b)])


def test_lipschitz_l2_one_output_and_bounds():
    import sympy

    from polyrelu.lipschitz import lipschitz_constant

    net = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[3, 4]], [0])])
    L = lipschitz_constant(net, BOX, norm="l2")
    assert L.exact and L.value == sympy.Integer(5) and L.value_squared == 25
    L = lipschitz_constant(small_net(0), BOX, norm="l2")
    assert not L.exact and L.lower <= L.upper


def test_lipschitz_partial_has_certified_bounds():
    from polyrelu.lipschitz import lipschitz_constant

    net = small_net(1, widths=(2, 10, 10, 3))
    full = lipschitz_constant(net, BOX)
    part = lipschitz_constant(net, BOX, max_regions=2)
    assert part.partial and not part.exact and part.value is None
    assert part.lower <= full.value <= part.upper
    with pytest.raises(pr.DomainError, match="unknown norm"):
        lipschitz_constant(net, BOX, norm="lp")
