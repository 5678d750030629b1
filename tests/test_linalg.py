"""polyrelu.linalg on python-flint against the Fraction elimination it replaced.

The reference functions below are the hand-written exact code of polyrelu
0.x (Fraction Gauss-Jordan of ``linalg.py``, the determinant and greedy
independent rows of ``polyhedron.py``, the fraction-free integer rank of
``regions.py``), kept here as an independent oracle: every exact answer of
the flint kernel must equal theirs, entry for entry.
"""

from __future__ import annotations

import math
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyrelu import linalg
from polyrelu.exceptions import ShapeError
from polyrelu.numbers import (
    exact_to_fraction,
    fmpq_matrix,
    fmpz_matrix,
    fraction_rows,
    mpq_to_fraction,
    to_mpq_vector,
)

# ---------------------------------------------------------------------------
# the old hand-written code (reference oracle)
# ---------------------------------------------------------------------------


def ref_rref(A):
    R = [[F(x) for x in row] for row in A]
    pivots = []
    if not R:
        return R, pivots
    r = 0
    for c in range(len(R[0])):
        p = next((i for i in range(r, len(R)) if R[i][c] != 0), None)
        if p is None:
            continue
        R[r], R[p] = R[p], R[r]
        piv = R[r][c]
        R[r] = [x / piv for x in R[r]]
        for i in range(len(R)):
            if i != r and R[i][c] != 0:
                f = R[i][c]
                R[i] = [x - f * y for x, y in zip(R[i], R[r])]
        pivots.append(c)
        r += 1
        if r == len(R):
            break
    return R, pivots


def ref_solve(A, b):
    n = len(A[0]) if A else 0
    R, piv = ref_rref([list(row) + [bi] for row, bi in zip(A, b)])
    if n in piv:
        return None
    x = [F(0)] * n
    for i, c in enumerate(piv):
        x[c] = R[i][n]
    return tuple(x)


def ref_nullspace(A, ncols=None):
    n = len(A[0]) if A else (ncols or 0)
    R, piv = ref_rref(A)
    out = []
    for f in [c for c in range(n) if c not in piv]:
        x = [F(0)] * n
        x[f] = F(1)
        for i, c in enumerate(piv):
            x[c] = -R[i][f]
        out.append(tuple(x))
    return tuple(out)


def ref_det(rows):
    M = [[F(x) for x in r] for r in rows]
    n = len(M)
    d = F(1)
    for c in range(n):
        p = next((i for i in range(c, n) if M[i][c]), None)
        if p is None:
            return F(0)
        if p != c:
            M[c], M[p] = M[p], M[c]
            d = -d
        pv = M[c][c]
        d *= pv
        for i in range(c + 1, n):
            fac = M[i][c] / pv
            if fac:
                M[i] = [x - fac * y for x, y in zip(M[i], M[c])]
    return d


def ref_independent_rows(E, d):
    keep, basis, pivots = [], [], []
    for i, row in enumerate(E):
        r = [F(x) for x in row]
        for brow, p in zip(basis, pivots):
            if r[p]:
                fac = r[p] / brow[p]
                r = [x - fac * y for x, y in zip(r, brow)]
        piv = next((j for j in range(d) if r[j]), None)
        if piv is not None:
            basis.append(r)
            pivots.append(piv)
            keep.append(i)
    return keep


def ref_int_rank(rows):
    M = [list(r) for r in rows]
    rank = 0
    for c in range(len(M[0])):
        piv = next((k for k in range(rank, len(M)) if M[k][c]), None)
        if piv is None:
            continue
        M[rank], M[piv] = M[piv], M[rank]
        p = M[rank]
        for k in range(rank + 1, len(M)):
            f = M[k][c]
            if f:
                row = [p[c] * x - f * y for x, y in zip(M[k], p)]
                g = 0
                for v in row:
                    g = math.gcd(g, v)
                M[k] = [v // g for v in row] if g > 1 else row
        rank += 1
    return rank


# ---------------------------------------------------------------------------
# strategies: rational matrices, often rank-deficient
# ---------------------------------------------------------------------------

small = st.fractions(min_value=-9, max_value=9, max_denominator=12)
# dyadic rationals with ~50-bit denominators, like float32/64 trained weights
dyadic = st.builds(lambda n, e: F(n, 2 ** e), st.integers(-2 ** 52, 2 ** 52),
                   st.integers(0, 60))
entries = st.one_of(small, dyadic, st.integers(-3, 3).map(F))


@st.composite
def matrices(draw, max_rows=6, max_cols=7, square=False):
    m = draw(st.integers(1, max_rows))
    n = m if square else draw(st.integers(1, max_cols))
    if draw(st.booleans()):
        rows = [[draw(entries) for _ in range(n)] for _ in range(m)]
    else:  # a product of thin factors: rank below min(m, n)
        k = draw(st.integers(0, max(0, min(m, n) - 1)))
        Lf = [[draw(small) for _ in range(k)] for _ in range(m)]
        Rf = [[draw(small) for _ in range(n)] for _ in range(k)]
        rows = [[sum((a * b for a, b in zip(Lr, col)), F(0)) for col in zip(*Rf)]
                if k else [F(0)] * n for Lr in Lf]
    if m > 1 and draw(st.booleans()):  # a repeated or zero row
        rows[draw(st.integers(0, m - 1))] = list(rows[0]) if draw(st.booleans()) \
            else [F(0)] * n
    return rows


# ---------------------------------------------------------------------------
# cross-checks against the reference
# ---------------------------------------------------------------------------


@settings(max_examples=120)
@given(matrices())
def test_rref_and_rank_equal_the_fraction_elimination(A):
    R, piv = linalg.rref(A)
    R0, piv0 = ref_rref(A)
    assert piv == piv0
    assert R == R0
    assert all(type(x) is F for row in R for x in row)
    assert linalg.rank(A) == len(piv0)


@settings(max_examples=120)
@given(matrices(), st.data())
def test_solve_equals_the_fraction_elimination(A, data):
    n = len(A[0])
    if data.draw(st.booleans()):  # consistent: b in the column space
        x = [data.draw(small) for _ in range(n)]
        b = [sum((a * xi for a, xi in zip(row, x)), F(0)) for row in A]
    else:
        b = [data.draw(entries) for _ in A]
    got = linalg.solve(A, b)
    assert got == ref_solve(A, b)
    if got is not None:
        assert all(type(v) is F for v in got)
        assert [sum((a * v for a, v in zip(row, got)), F(0)) for row in A] == b


@settings(max_examples=80)
@given(matrices(square=True), st.data())
def test_square_solve_equals_the_fraction_elimination(A, data):
    b = [data.draw(entries) for _ in A]
    assert linalg.solve(A, b) == ref_solve(A, b)


@settings(max_examples=120)
@given(matrices())
def test_nullspace_equals_the_fraction_elimination(A):
    N = linalg.nullspace(A)
    assert N == ref_nullspace(A)
    for v in N:
        assert all(sum((a * x for a, x in zip(row, v)), F(0)) == 0 for row in A)


@settings(max_examples=120)
@given(matrices(max_rows=7, square=True))
def test_det_equals_the_fraction_elimination(A):
    assert linalg.det(A) == ref_det(A)


@settings(max_examples=80)
@given(matrices(max_rows=7, max_cols=5))
def test_independent_rows_equal_the_greedy_elimination(A):
    assert linalg.independent_rows(A) == ref_independent_rows(A, len(A[0]))


@settings(max_examples=80)
@given(matrices(max_rows=7, max_cols=6), st.data())
def test_integer_rank_equals_fraction_free_elimination(A, data):
    rows = []
    for row in A:
        den = math.lcm(*(v.denominator for v in row))
        rows.append([int(v * den) for v in row])
    r = ref_int_rank(rows)
    assert linalg.integer_rank(rows) == r
    assert linalg.integer_rank_is(r, rows)
    if r:
        # known rank <= r + 1 ... a rank-(r) set is not of rank r + 1
        assert not linalg.integer_rank_is(r + 1, rows)


def test_integer_rank_is_falls_back_when_the_prime_divides_every_minor():
    p = linalg._PRIME
    rows = [[p, 0], [0, 1]]  # rank 2 over Q, rank 1 mod p
    assert linalg.integer_rank_is(2, rows)
    assert linalg.integer_rank(rows) == 2


@settings(max_examples=60)
@given(matrices(), st.data())
def test_matmul_and_matvec_equal_exact_sums(A, data):
    n = len(A[0])
    k = data.draw(st.integers(1, 4))
    B = [[data.draw(entries) for _ in range(k)] for _ in range(n)]
    want = tuple(tuple(sum((a * b for a, b in zip(row, col)), F(0)) for col in zip(*B))
                 for row in A)
    assert linalg.matmul(A, B) == want
    v = [r[0] for r in B]
    assert linalg.matvec(A, v) == tuple(r[0] for r in want)


def test_results_are_fractions_with_huge_entries():
    big = F(3 ** 500, 2 ** 700 + 1)
    A = [[big, 1], [1, big]]
    x = linalg.solve(A, [1, 0])
    assert x == ref_solve(A, [1, 0])
    assert linalg.det(A) == big * big - 1


def test_shape_errors():
    with pytest.raises(ShapeError):
        linalg.solve([[1, 2]], [1, 2])
    with pytest.raises(ShapeError):
        linalg.matmul([[1, 2]], [[1]])
    with pytest.raises(ShapeError):
        linalg.matvec([[1, 2], [3]], [1, 2])
    with pytest.raises(ShapeError):
        linalg.rank([[1, 2], [3]])
    with pytest.raises(ShapeError):
        linalg.det([[1, 2]])


def test_degenerate_shapes():
    assert linalg.rref([]) == ([], [])
    assert linalg.rank([[0, 0]]) == 0
    assert linalg.solve([], []) == ()
    assert linalg.solve([[], []], [0, 1]) is None
    assert linalg.solve([[], []], [0, 0]) == ()
    assert linalg.nullspace([], 2) == ((F(1), F(0)), (F(0), F(1)))
    assert linalg.det([]) == 1
    assert linalg.matvec([[]], []) == (F(0),)
    assert linalg.matmul([[1, 2]], [[], []]) == ((),)
    assert linalg.independent_rows([]) == []


def test_kernel_conversions_are_lossless():
    vals = [F(0), F(-3, 4), F(2 ** 80 + 1, 3 ** 40), F(7)]
    M = fmpq_matrix([vals[:2], vals[2:]])
    assert fraction_rows(M) == [vals[:2], vals[2:]]
    assert [exact_to_fraction(q) for q in M.entries()] == vals
    assert fraction_rows(fmpz_matrix([[1, -2 ** 70]])) == [[F(1), F(-2 ** 70)]]
    assert [mpq_to_fraction(q) for q in to_mpq_vector(vals)] == vals
    # exact non-Fraction inputs go through the number policy
    import gmpy2
    assert fraction_rows(fmpq_matrix([[gmpy2.mpq(1, 3), "1/2", 0.25]])) == \
        [[F(1, 3), F(1, 2), F(1, 4)]]


# ---------------------------------------------------------------------------
# callers: layer maps (flint products) against exact forward passes
# ---------------------------------------------------------------------------


@settings(max_examples=30)
@given(st.sampled_from([("relu", None, None), ("leaky_relu", F(1, 7), None),
                        ("hard_tanh", None, None), ("relu", None, {3: [1], 2: [0]}),
                        ("hard_tanh", None, {3: [0]})]),
       st.integers(0, 10 ** 6), st.booleans())
def test_layer_maps_agree_with_the_forward_pass(kind, seed, sliced):
    import random

    from polyrelu.network import random_network

    act, alpha, skips = kind
    widths = [3, 3, 3, 3, 2] if skips else [3, 5, 4, 2]
    net = random_network(widths, seed=seed % 1000, skips=skips, activation=act, alpha=alpha)
    rng = random.Random(seed)
    if sliced:  # an input map x = x0 + U t (restrict composes it or folds it in)
        net = net.restrict([F(rng.randint(-4, 4), 3) for _ in range(3)],
                           [[F(rng.randint(-3, 3), 2) for _ in range(2)] for _ in range(3)])
    for _ in range(3):
        x = [F(rng.randint(-40, 40), 8) for _ in range(net.input_dim)]
        pat = net.pattern(x)
        maps = net.layer_maps(pat)
        zs = net.pre_activations(x)
        for (M, c), z in zip(maps, zs):
            assert tuple(sum((a * v for a, v in zip(row, x)), ci) for row, ci in zip(M, c)) == z
        assert net.affine_map(pat) == maps[-1]


@settings(max_examples=60)
@given(matrices(max_cols=5), st.data())
def test_substitute_equals_exact_sums(A, data):
    d = len(A[0])
    k = data.draw(st.integers(0, d))
    N = [[data.draw(entries) for _ in range(d)] for _ in range(k)]
    x0 = [data.draw(entries) for _ in range(d)]
    b = [data.draw(entries) for _ in A]
    Ay, by = linalg.substitute(A, b, x0, N)
    assert Ay == tuple(tuple(sum((a * v for a, v in zip(row, n)), F(0)) for n in N)
                       for row in A)
    assert by == tuple(bi - sum((a * v for a, v in zip(row, x0)), F(0))
                       for row, bi in zip(A, b))


def test_a_network_with_flint_caches_still_pickles():
    """Evaluated networks cache flint matrices, which do not pickle; process
    pools and Dask ship networks by pickle."""
    import copy
    import pickle

    from polyrelu.network import random_network

    net = random_network([3, 4, 2], seed=2, activation="leaky_relu", alpha=F(1, 3))
    x = [F(1, 2), F(-1), F(2)]
    y = net(x)
    maps = net.layer_maps(net.pattern(x))
    for clone in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        assert clone == net
        assert clone(x) == y
        assert clone.layer_maps(clone.pattern(x)) == maps
