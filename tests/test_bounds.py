"""Tests for polyrelu.bounds: closed forms, constructions attaining them, and
bounds against exact counts."""

import itertools
import random
from fractions import Fraction as F
from math import comb

import pytest
from hypothesis import given, settings
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
