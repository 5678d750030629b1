"""Conformance tests for polyrelu.polyhedron (exact polyhedra, cdd backend).

Expected values come from closed formulas or independent computations
(shoelace areas of a separately computed convex hull, maxima over the input
points, products of coordinates), never from the code under test.
"""

from __future__ import annotations

import itertools
import logging
import math
import pickle
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyrelu.exceptions import (
    NonFiniteError,
    NumberError,
    PolyhedronError,
    PolyreluError,
    ShapeError,
)
from polyrelu.polyhedron import (
    CddBackend,
    LPResult,
    Polyhedron,
    backend_stats,
    fast_path,
    get_backend,
    reset_backend_stats,
    set_backend,
    verify_farkas,
)


def dot(a, x):
    return sum((F(ai) * F(xi) for ai, xi in zip(a, x)), F(0))


def strictly_inside(P, x):
    A, b = P.inequalities
    E, f = P.equalities
    return (all(dot(a, x) < c for a, c in zip(A, b))
            and all(dot(e, x) == c for e, c in zip(E, f)))


def normalised(a, c):
    """A halfspace a.x <= c scaled so that its largest |entry| is 1 (a != 0)."""
    m = max(abs(F(v)) for v in a)
    return tuple(F(v) / m for v in a), F(c) / m


def satisfies(x, A, b, E=(), f=()):
    return (all(dot(a, x) <= c for a, c in zip(A, b))
            and all(dot(e, x) == c for e, c in zip(E, f)))


def generators_satisfy(P, A, b, E=(), f=()):
    """Every vertex of P satisfies A x <= b, E x = f; every ray r has A r <= 0,
    E r = 0; every line l has A l = 0, E l = 0 -- so P is inside that set."""
    zero = [0] * len(A)
    return (all(satisfies(v, A, b, E, f) for v in P.vertices)
            and all(satisfies(r, A, zero, E, [0] * len(E)) for r in P.rays)
            and all(all(dot(a, l) == 0 for a in list(A) + list(E)) for l in P.lines))


def same_set_independently(A, b, E, f, P):
    """The raw system {A x <= b, E x = f} and P's minimal form define the same
    set: the generators of each system (computed from that system alone)
    satisfy the other system's rows exactly."""
    d = P.ambient_dim
    raw = Polyhedron.from_inequalities(A, b, equalities=(E, f) if E else None,
                                       ambient_dim=d)
    Am, bm = P.inequalities
    Em, fm = P.equalities
    minimal = Polyhedron.from_inequalities(Am, bm, equalities=(Em, fm) if Em else None,
                                           ambient_dim=d)
    return (generators_satisfy(raw, Am, bm, Em, fm)
            and generators_satisfy(minimal, A, b, E, f))


def both_paths(fn):
    """Run fn with floats first, without floats, and in "auto"; results must agree."""
    results = []
    for mode in (True, False, "auto"):
        with fast_path(mode):
            results.append(fn())
    assert results[0] == results[1] == results[2]
    return results[0]


def hull2d(points):
    """Independent convex hull (Andrew's monotone chain, exact)."""
    pts = sorted(set(tuple(F(v) for v in p) for p in points))
    if len(pts) <= 2:
        return pts

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def shoelace(poly):
    n = len(poly)
    if n < 3:
        return F(0)
    s = sum(poly[i][0] * poly[(i + 1) % n][1] - poly[(i + 1) % n][0] * poly[i][1]
            for i in range(n))
    return abs(s) / 2


# ---------------------------------------------------------------- known answers


def test_unit_cube():
    P = Polyhedron.box([0, 0, 0], [1, 1, 1])
    assert P.ambient_dim == 3 and P.dim == 3 and P.is_full_dimensional()
    assert not P.is_empty() and P.bounded
    assert set(P.vertices) == set(itertools.product((F(0), F(1)), repeat=3))
    assert P.rays == () and P.lines == ()
    assert P.volume() == 1
    A, b = P.inequalities
    assert len(A) == 6 and len(P.facets) == 6 and P.equalities == ((), ())
    x = P.interior_point()
    assert all(0 < v < 1 for v in x) and strictly_inside(P, x)
    r = P.maximize([1, 2, 3])
    assert r == LPResult("optimal", F(6), (F(1), F(1), F(1)))
    assert P.minimize([1, 2, 3]).value == 0
    assert P.contains([1, 0, "1/2"]) and not P.contains([F(1) + F(1, 10**30), 0, 0])
    assert [1, 1, 1] in P


def test_simplex_both_representations():
    V = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    P = Polyhedron.from_vertices(V)
    Q = Polyhedron.from_inequalities([[-1, 0, 0], [0, -1, 0], [0, 0, -1], [1, 1, 1]],
                                     [0, 0, 0, 1])
    assert P == Q and Q == P and hash(P) == hash(Q)
    assert P.volume() == Q.volume() == F(1, 6)
    assert set(Q.vertices) == {tuple(F(v) for v in p) for p in V}
    assert Q.maximize([1, 1, 1]).value == 1


def test_cone_apex_reported():
    C = Polyhedron.from_inequalities([[-1, 0], [0, -1]], [0, 0])
    assert C.vertices == ((F(0), F(0)),)  # cdd omits the apex; we must report it
    rays = {tuple(v / max(r) for v in r) for r in C.rays}
    assert rays == {(F(1), F(0)), (F(0), F(1))}
    assert C.lines == () and not C.bounded and C.dim == 2
    with pytest.raises(PolyhedronError):
        C.volume()
    assert both_paths(lambda: C.maximize([1, 0]).status) == "unbounded"
    assert C.minimize([1, 1]) == LPResult("optimal", F(0), (F(0), F(0)))
    assert C == Polyhedron.from_vertices([[0, 0]], rays=[[1, 0], [0, 5]])
    for mode in (True, False, "auto"):
        with fast_path(mode):
            D = Polyhedron.from_inequalities([[-1, 0], [0, -1], [-2, 0]], [0, 0, 0])
            x = D.interior_point()
            assert x[0] > 0 and x[1] > 0            # strictly inside, by the input rows
            y = D.certify_nonempty()
            assert y[0] > 0 and y[1] > 0
            with pytest.raises(PolyhedronError):
                D.certify_empty()
            A, b = D.inequalities
            # the redundant copy -2x <= 0 is gone: the two quadrant halfspaces
            assert {normalised(a, c) for a, c in zip(A, b)} == \
                {((F(-1), F(0)), F(0)), ((F(0), F(-1)), F(0))}
            assert D.equalities == ((), ()) and len(D.facets) == 2


def test_halfplane_and_whole_space():
    H = Polyhedron.from_inequalities([[-1, 0]], [-1])  # x >= 1
    assert len(H.lines) == 1 and len(H.rays) == 1 and len(H.vertices) == 1
    assert H.contains(H.vertices[0])
    W = Polyhedron.whole_space(2)
    assert W.dim == 2 and not W.bounded and W.inequalities == ((), ())
    assert W.maximize([0, 0]).status == "optimal"
    assert W.maximize([1, 0]).status == "unbounded"
    assert W == Polyhedron.from_vertices([[3, 4]], lines=[[1, 1], [1, -1]])
    Z = Polyhedron.whole_space(0)
    assert Z.dim == 0 and Z.interior_point() == () and Z.volume() == 1


def test_lower_dimensional_slab():
    # 0 <= x <= 0 written as two inequalities: implicit equality x = 0
    P = Polyhedron.from_inequalities([[1, 0], [-1, 0], [0, 1], [0, -1]], [0, 0, 1, 0])
    assert both_paths(lambda: P.dim) == 1
    assert not P.is_full_dimensional() and P.volume() == 0
    E, f = P.equalities
    assert len(E) == 1 and E[0][1] == 0 and E[0][0] != 0 and f == (0,)
    assert len(P.inequalities[0]) == 2
    x = P.certify_nonempty()
    assert x[0] == 0 and 0 < x[1] < 1
    assert set(P.vertices) == {(F(0), F(0)), (F(0), F(1))}
    Q = Polyhedron.from_inequalities([[0, 1], [0, -1]], [1, 0], equalities=([[3, 0]], [0]))
    assert P == Q and hash(P) == hash(Q)
    assert P != Polyhedron.box([0, 0], [1, 1])


def test_hidden_implicit_equalities():
    # x + y <= 1, x + y >= 1 + z, z >= 0 force x + y = 1 and z = 0 although no
    # two rows are opposite: with x, y >= 0 a segment, found only by combining rows
    A = [[1, 1, 0], [-1, -1, 1], [0, 0, -1], [-1, 0, 0], [0, -1, 0], [0, 0, 1]]
    b = [1, -1, 0, 0, 0, 1]
    for mode in (True, False, "auto"):
        with fast_path(mode):
            reset_backend_stats()
            P = Polyhedron.from_inequalities(A, b)
            assert not P.is_full_dimensional()
            dim = P.dim
            x = P.interior_point()
            assert strictly_inside(P, x) and P.contains(x)
            E, f = P.equalities
            assert dim == 3 - len(E)
            # every equality holds on every vertex, no facet is tight everywhere
            for v in P.vertices:
                assert all(dot(e, v) == c for e, c in zip(E, f))
            if mode == "auto":
                assert backend_stats().get("implicit.lp") == 1
                assert "cdd.canonicalize" not in backend_stats()
    assert dim == 1
    assert set(P.vertices) == {(F(1), F(0), F(0)), (F(0), F(1), F(0))}


def test_empty_set_and_certificate():
    P = Polyhedron.from_inequalities([[1, 0], [-1, 0], [0, 1]], [0, -1, 3])
    assert both_paths(P.is_empty) is True
    assert P.dim == -1 and P.vertices == () and P.volume() == 0 and P.bounded
    y = P.certify_empty()
    A, b = P.farkas_system()
    assert verify_farkas(A, b, y)
    with fast_path(False):
        assert verify_farkas(A, b, Polyhedron.from_inequalities(A, b).certify_empty())
    with pytest.raises(PolyhedronError):
        P.interior_point()
    with pytest.raises(PolyhedronError):
        P.certify_nonempty()
    with pytest.raises(PolyhedronError):
        Polyhedron.box([0], [1]).certify_empty()
    assert both_paths(lambda: P.maximize([1, 1]).status) == "infeasible"
    # inconsistent equalities, and a zero row 0 <= -1
    Q = Polyhedron.from_inequalities([[1, 1]], [5], equalities=([[1, 0], [2, 0]], [1, 3]))
    assert Q.is_empty() and verify_farkas(*Q.farkas_system(), Q.certify_empty())
    Z = Polyhedron.from_inequalities([[0, 0]], [-1])
    assert Z.is_empty() and verify_farkas(*Z.farkas_system(), Z.certify_empty())
    assert P == Z and hash(P) == hash(Z)
    assert P.intersect(Polyhedron.box([0, 0], [1, 1])).is_empty()
    # every query of the empty set: its (in)equalities still define the empty
    # set -- a Farkas certificate of the reported system verifies exactly
    for mode in (True, False, "auto"):
        with fast_path(mode):
            E_ = Polyhedron.from_inequalities([[1, 0], [-1, 0], [0, 1]], [0, -1, 3])
            A, b = E_.inequalities
            Eq, fq = E_.equalities
            sys_A = list(A) + list(Eq) + [[-v for v in e] for e in Eq]
            sys_b = list(b) + list(fq) + [-v for v in fq]
            R = Polyhedron.from_inequalities(sys_A, sys_b, ambient_dim=2)
            assert verify_farkas(sys_A, sys_b, R.certify_empty())
            assert E_.facets == () and E_.facet_indices == ()
            assert E_.vertices == E_.rays == E_.lines == ()
            assert not E_.contains([F(1, 2), 0]) and not E_.is_full_dimensional()
            for coords in ([0], [1], [1, 0], []):
                Pr = E_.project(coords)
                assert Pr.is_empty() and Pr.ambient_dim == len(coords)
            assert E_.affine_preimage([[1, 0], [0, 1]]).is_empty()


def test_duplicate_and_redundant_rows():
    A = [[1, 0], [2, 0], [1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [0, 3]]
    b = [1, 2, 1, 0, 1, 0, 5, 3]
    P = Polyhedron.from_inequalities(A, b)
    Ao, bo = P.inequalities
    assert len(Ao) == 4
    # every minimal row is one of the input rows, named by facet_indices
    for i, a, c in zip(P.facet_indices, Ao, bo):
        assert (tuple(F(v) for v in A[i]), F(b[i])) == (a, c)
    assert P == Polyhedron.box([0, 0], [1, 1])
    assert P.volume() == 1


@pytest.mark.parametrize("mode", [True, False, "auto"])
def test_huge_denominators(mode):
    t = F(1, 3 ** 60)
    eps = F(1, 3 ** 61)
    with fast_path(mode):
        hi = [t, 2 * t, t]
        B = Polyhedron.box([0, 0, 0], hi)
        assert B.volume() == 2 * t ** 3
        assert B.dim == 3 and B.is_full_dimensional() and B.bounded
        assert set(B.vertices) == set(itertools.product(*[(F(0), h) for h in hi]))
        A, b = B.inequalities
        box_rows = {normalised([1 if j == i else 0 for j in range(3)], hi[i])
                    for i in range(3)} | {normalised([-1 if j == i else 0 for j in range(3)],
                                                     0) for i in range(3)}
        assert {normalised(a, c) for a, c in zip(A, b)} == box_rows
        assert B.equalities == ((), ())
        x = B.interior_point()
        assert all(0 < v < h for v, h in zip(x, hi)) and B.contains(x)
        assert B.contains(hi) and not B.contains([t + eps, 0, 0])
        assert not B.contains([0, -eps, 0])
        y = B.certify_nonempty()
        assert all(0 < v < h for v, h in zip(y, hi))
        with pytest.raises(PolyhedronError):
            B.certify_empty()
        T = Polyhedron.from_vertices([[0, 0], [t, 0], [0, t]])
        assert T.volume() == t * t / 2 and T.dim == 2
        assert T.maximize([1, 1]).value == t
        assert set(T.vertices) == {(F(0), F(0)), (t, F(0)), (F(0), t)}
        A, b = T.inequalities
        assert {normalised(a, c) for a, c in zip(A, b)} == {
            ((F(-1), F(0)), F(0)), ((F(0), F(-1)), F(0)), ((F(1), F(1)), t)}
        assert T.contains([t / 2, t / 2]) and not T.contains([t / 2, t / 2 + eps])
        S = Polyhedron.from_inequalities([[1, 0], [-1, 0], [0, 1], [0, -1]], [t, 0, t, -t])
        assert S.dim == 1 and not S.is_full_dimensional()
        E, f = S.equalities
        assert len(E) == 1 and all(dot(e, [0, t]) == c for e, c in zip(E, f))
        assert E[0][0] == 0 and E[0][1] != 0            # the implicit equality y = t
        z = S.interior_point()
        assert z[1] == t and 0 < z[0] < t and S.contains(z)
        assert set(S.vertices) == {(F(0), t), (t, t)} and S.volume() == 0
        # empty by a gap of 1/3^60: the certificate verifies on the raw input
        Em = Polyhedron.from_inequalities([[1], [-1]], [t, -t - eps])
        assert Em.is_empty() and Em.dim == -1
        assert verify_farkas([[1], [-1]], [t, -t - eps], Em.certify_empty())
        with pytest.raises(PolyhedronError):
            Em.certify_nonempty()


def test_numbers_beyond_float_range():
    # 10**400 does not fit a float: float proposals must fail quietly, exact paths decide
    big = F(10) ** 400
    for mode in (True, False, "auto"):
        with fast_path(mode):
            P = Polyhedron.from_inequalities([[1, 0], [-1, 0], [0, 1], [0, -1], [big, big]],
                                             [big, 0, 1, 0, big ** 3])
            assert P.volume() == big and len(P.inequalities[0]) == 4
            assert P.maximize([1, 0]).value == big and P.is_full_dimensional()
            Q = Polyhedron.from_inequalities([[1], [-1]], [-big, 0])
            assert Q.is_empty() and verify_farkas(*Q.farkas_system(), Q.certify_empty())


def test_operations():
    P = Polyhedron.box([0, 0], [2, 1])
    assert P.intersect(Polyhedron.box([1, 0], [3, 3])) == Polyhedron.box([1, 0], [2, 1])
    assert P.add_inequality([1, 1], 1).volume() == F(1, 2)
    assert P.add_equality([1, -1], 0).dim == 1
    # projection of a tetrahedron
    T = Polyhedron.from_vertices([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert T.project([0, 1]) == Polyhedron.from_vertices([[0, 0], [1, 0], [0, 1]])
    assert T.project([2]) == Polyhedron.box([0], [1])
    assert T.project([]) == Polyhedron.whole_space(0)
    # affine image and preimage are inverse for an invertible map
    M, c = [[1, 2], [0, 1]], [1, -1]
    img = P.affine_image(M, c)
    assert img.volume() == P.volume()  # det M = 1
    for v in P.vertices:
        w = tuple(dot(r, v) + ci for r, ci in zip(M, c))
        assert img.contains(w)
    assert img.affine_preimage(M, c) == P
    assert P.affine_image([[1, 1]]) == Polyhedron.box([0], [3])
    empty = Polyhedron.from_inequalities([[1, 0], [-1, 0]], [0, -1])
    assert empty.affine_image([[1, 1]]).is_empty() and empty.project([1]).is_empty()
    L = Polyhedron.from_vertices([[0, 0]], lines=[[1, 1]])
    assert L.dim == 1 and L.contains([-3, -3]) and not L.contains([1, 0])
    assert L.project([0]) == Polyhedron.whole_space(1)
    pre = Polyhedron.box([0], [1]).affine_preimage([[1, 1]], [0])
    assert pre.dim == 2 and not pre.bounded and pre.contains([5, -5])


@settings(max_examples=8, deadline=None)
@given(st.integers(3, 4).flatmap(lambda d: st.tuples(
    st.just(d), st.lists(st.lists(st.integers(-4, 4), min_size=d, max_size=d),
                         min_size=d + 1, max_size=10),
    st.lists(st.integers(0, 3), min_size=3, max_size=3))))
def test_lp_redundancy_removal_matches_cdd(case):
    # full-dimensional, origin strictly inside; parallel copies and scaled duplicates
    d, normals, extra = case
    A = [row for row in normals if any(row)]
    b = [F(1 + (i % 3)) for i in range(len(A))]
    if A:
        A += [[2 * v for v in A[0]], [3 * v for v in A[-1]]]
        b += [2 * b[0] + extra[0], 3 * b[len(A) - 3]]
    box = Polyhedron.box([-5] * d, [5] * d)
    P = box.intersect(Polyhedron.from_inequalities(A, b, ambient_dim=d))
    raw_A, raw_b = P.raw_inequalities
    results = {}
    for mode in (True, False, "auto"):
        with fast_path(mode):
            Q = Polyhedron.from_inequalities(raw_A, raw_b)
            idx = Q.facet_indices
            results[mode] = (Q.dim, len(idx), hash(Q), Q == P)
    assert results[True] == results[False] == results["auto"]
    assert results[True][3]
    # minimality: dropping any kept row from the minimal system enlarges the set
    Ao, bo = Q.inequalities
    for i in range(len(Ao)):
        rest = Polyhedron.from_inequalities(Ao[:i] + Ao[i + 1:], bo[:i] + bo[i + 1:],
                                            ambient_dim=d)
        r = rest.maximize(Ao[i])
        assert r.status == "unbounded" or r.value > bo[i]


def test_repr_pickle_and_immutability():
    P = Polyhedron.from_inequalities([[1, F(1, 2)]], [F(-3, 4)])
    assert repr(P) == "Polyhedron(d=2: x0 + 1/2*x1 <= -3/4)"
    assert repr(Polyhedron.whole_space(3)) == "Polyhedron.whole_space(3)"
    Q = pickle.loads(pickle.dumps(Polyhedron.box([0, 0], [1, 1])))
    assert Q == Polyhedron.box([0, 0], [1, 1]) and Q.volume() == 1
    with pytest.raises(AttributeError):
        P._d = 3
    assert P != "not a polyhedron"
    assert Polyhedron.box([0], [1]) != Polyhedron.box([0, 0], [1, 1])


def test_fast_path_stats_and_logging(caplog):
    # Behaviour, not internal call counts: the fast path reports that it ran
    # (stats and debug log), the exact mode never uses floats, and both give
    # the same exact answers.
    answers = {}
    for mode in (True, False):
        reset_backend_stats()
        caplog.clear()
        with fast_path(mode), caplog.at_level(logging.DEBUG, logger="polyrelu.polyhedron"):
            P = Polyhedron.box([0, 0], [1, 1])
            x = P.interior_point()
            answers[mode] = (strictly_inside(P, x), len(P.inequalities[0]),
                             P.maximize([1, 1]).value)
        stats = backend_stats()
        fast_keys = [k for k in stats if k.endswith("fast_ok") or k.endswith("fast_fail")]
        logged = any("fast path" in r.message for r in caplog.records)
        if mode is True:
            assert stats.get("interior.fast_ok", 0) >= 1 and logged
            assert "interior.exact_lp" not in stats     # the float proposal sufficed
        else:
            assert fast_keys == [] and not logged
            assert any(k.startswith("cdd.") for k in stats)   # the exact backend ran
    assert answers[True] == answers[False] == (True, 4, 2)
    with pytest.raises(PolyhedronError):
        with fast_path("sometimes"):
            pass


def test_backend_contract_pluggable():
    calls = []

    class Spy(CddBackend):
        def canonicalize(self, *args):
            calls.append("canonicalize")
            return super().canonicalize(*args)

        def lp(self, *args):
            calls.append("lp")
            return super().lp(*args)

    old = set_backend(Spy())
    try:
        with fast_path(False):
            assert Polyhedron.box([0], [1]).add_inequality([2], 5).inequalities[1] == (F(1), F(0))
        assert calls == ["lp", "canonicalize"]  # Chebyshev LP, then cdd's minimal form
        calls.clear()
        with fast_path("auto"):
            assert len(Polyhedron.box([0], [1]).add_inequality([2], 5).inequalities[0]) == 2
        assert calls and set(calls) == {"lp"}  # exact LPs only
    finally:
        set_backend(old)
    assert get_backend().name == "cdd"
    with pytest.raises(PolyhedronError):
        set_backend(object())


# ---------------------------------------------------------------- property tests

coord = st.fractions(min_value=-5, max_value=5, max_denominator=4)


def points(d, n_min=1, n_max=8):
    return st.lists(st.tuples(*[coord] * d), min_size=n_min, max_size=n_max)


@settings(max_examples=20, deadline=None)
@given(points(2, 1, 9), st.tuples(coord, coord))
def test_random_polygons(pts, c):
    P = Polyhedron.from_vertices(pts)
    A, b = P.inequalities
    E, f = P.equalities
    hull = hull2d(pts)
    assert set(P.vertices) == set(hull)  # independent hull
    for v in P.vertices:
        assert all(dot(a, v) <= bi for a, bi in zip(A, b))
        assert all(dot(e, v) == fi for e, fi in zip(E, f))
    assert all(P.contains(p) for p in pts)
    assert P.volume() == shoelace(hull)
    assert P.dim == (min(len(hull), 3) - 1)
    Q = Polyhedron.from_inequalities(A, b, equalities=(E, f))
    assert Q == P and P == Q and hash(P) == hash(Q)
    # independently of ==: the H-description's own vertices are the hull's
    # (and it is bounded), so it defines conv(pts)
    assert set(Q.vertices) == set(hull) and Q.rays == () and Q.lines == ()
    x = P.certify_nonempty()
    assert strictly_inside(P, x)
    assert both_paths(lambda: P.maximize(c).value) == max(dot(c, p) for p in pts)
    assert P.minimize(c).value == min(dot(c, p) for p in pts)


@settings(max_examples=12, deadline=None)
@given(points(3, 1, 8), st.tuples(coord, coord, coord))
def test_random_polytopes_3d(pts, c):
    P = Polyhedron.from_vertices(pts)
    A, b = P.inequalities
    E, f = P.equalities
    for v in P.vertices:
        assert all(dot(a, v) <= bi for a, bi in zip(A, b))
    assert set(P.vertices) <= {tuple(p) for p in pts}
    Q = Polyhedron.from_inequalities(A, b, equalities=(E, f))
    assert Q == P and hash(Q) == hash(P)
    # independently of ==: every input point satisfies the minimal system
    # (conv(pts) is inside it) and the system's own vertices are input points
    # with no rays or lines (it is inside conv(pts))
    assert all(satisfies(p, A, b, E, f) for p in pts)
    assert set(Q.vertices) <= {tuple(p) for p in pts} and Q.rays == () == Q.lines
    if P.dim == 3:
        # exact volume against qhull's float volume (float only as a cross-check)
        import numpy as np
        from scipy.spatial import ConvexHull

        fv = ConvexHull(np.array([[float(v) for v in p] for p in pts])).volume
        assert abs(float(P.volume()) - fv) <= 1e-9 * (1 + fv)
    else:
        assert P.volume() == 0
    x = P.interior_point()
    assert strictly_inside(P, x)
    r = P.maximize(c)
    assert r.status == "optimal" and r.value == max(dot(c, p) for p in pts)
    assert P.contains(r.point) and dot(c, r.point) == r.value
    # a permuted-coordinates copy has the same volume and dimension
    perm = Polyhedron.from_vertices([(p[2], p[0], p[1]) for p in pts])
    assert perm.volume() == P.volume() and perm.dim == P.dim


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([2, 3]), st.data())
def test_box_split_volumes_add_up(d, data):
    lo = [data.draw(coord) for _ in range(d)]
    hi = [l + data.draw(st.fractions(min_value=F(1, 3), max_value=3, max_denominator=3))
          for l in lo]
    a = [data.draw(st.integers(-3, 3)) for _ in range(d)]
    if not any(a):
        a[0] = 1  # a genuine hyperplane
    c = data.draw(coord)
    B = Polyhedron.box(lo, hi)
    vol = math.prod(h - l for l, h in zip(lo, hi))
    assert B.volume() == vol
    lower = B.add_inequality(a, c)
    upper = B.add_inequality([-v for v in a], -c)
    assert lower.volume() + upper.volume() == vol


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3).flatmap(
    lambda d: st.tuples(st.just(d),
                        st.lists(st.tuples(st.lists(st.integers(-3, 3), min_size=d, max_size=d),
                                           st.integers(-3, 3)), min_size=1, max_size=7))))
def test_random_systems_certificates(case):
    d, rows = case
    A = [r[0] for r in rows]
    b = [r[1] for r in rows]
    P = Polyhedron.from_inequalities(A, b)
    empty = both_paths(P.is_empty)
    dim = both_paths(lambda: Polyhedron.from_inequalities(A, b).dim)
    # the minimal form (cdd's canonicalisation or exact LPs) is the same set
    both_paths(lambda: hash(Polyhedron.from_inequalities(A, b)))
    both_paths(lambda: len(Polyhedron.from_inequalities(A, b).inequalities[0]))
    if empty:
        assert dim == -1
        y = P.certify_empty()
        assert verify_farkas(A, b, y)  # the independent checker, on the raw input
        with pytest.raises(PolyhedronError):
            P.certify_nonempty()
    else:
        x = P.certify_nonempty()
        assert all(dot(a, x) <= c for a, c in zip(A, b))
        # every raw row is either strict at x or an implicit equality of P
        E, f = P.equalities
        assert dim == d - len(E)
        for a, c in zip(A, b):
            if dot(a, x) == c:
                assert Polyhedron.from_inequalities(A, b).add_inequality(
                    [-v for v in a], -c) == P
        with pytest.raises(PolyhedronError):
            P.certify_empty()
        # the minimal H-representation defines the raw system's set: checked
        # by generators against inequalities both ways, not by ==
        assert same_set_independently(A, b, (), (), P)
        assert Polyhedron.from_inequalities(*P.inequalities, equalities=P.equalities,
                                            ambient_dim=d) == P


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("call, exc", [
    (lambda: Polyhedron.from_inequalities([[1, 0], [0, 1]], [1]), ShapeError),
    (lambda: Polyhedron.from_inequalities([[1, 0], [0]], [1, 1]), ShapeError),
    (lambda: Polyhedron.from_inequalities([[1, float("nan")]], [1]), NonFiniteError),
    (lambda: Polyhedron.from_inequalities([[1, 0]], [float("inf")]), NonFiniteError),
    (lambda: Polyhedron.from_inequalities([[1, "abc"]], [1]), NumberError),
    (lambda: Polyhedron.from_inequalities([[1, None]], [1]), NumberError),
    (lambda: Polyhedron.from_inequalities(5, [1]), ShapeError),
    (lambda: Polyhedron.from_inequalities([], []), ShapeError),
    (lambda: Polyhedron.from_inequalities([[1]], [1], equalities=[[1]]), ShapeError),
    (lambda: Polyhedron.from_inequalities([[1]], [1], equalities=([[1, 2]], [1])), ShapeError),
    (lambda: Polyhedron.from_inequalities([[1]], [1], equalities=([[1]], [1, 2])), ShapeError),
    (lambda: Polyhedron.box([0, 2], [1, 1]), PolyhedronError),
    (lambda: Polyhedron.box([0, 0], [1]), ShapeError),
    (lambda: Polyhedron.whole_space(-1), ShapeError),
    (lambda: Polyhedron.from_vertices([]), ShapeError),
    (lambda: Polyhedron.from_vertices([[0, 0], [1]]), ShapeError),
    (lambda: Polyhedron.box([0, 0], [1, 1]).contains([1]), ShapeError),
    (lambda: Polyhedron.box([0, 0], [1, 1]).maximize([1, 2, 3]), ShapeError),
    (lambda: Polyhedron.box([0, 0], [1, 1]).add_inequality([1], 0), ShapeError),
    (lambda: Polyhedron.box([0], [1]).intersect(Polyhedron.box([0, 0], [1, 1])), ShapeError),
    (lambda: Polyhedron.box([0], [1]).intersect("box"), PolyhedronError),
    (lambda: Polyhedron.box([0], [1]).project([1]), ShapeError),
    (lambda: Polyhedron.box([0], [1]).project(None), ShapeError),
    (lambda: Polyhedron.box([0], [1]).project(0), ShapeError),
    (lambda: Polyhedron.box([0], [1]).affine_image([[1, 1]]), ShapeError),
    (lambda: Polyhedron.box([0], [1]).affine_preimage([[1], [1]]), ShapeError),
    (lambda: Polyhedron.whole_space(1).volume(), PolyhedronError),
    (lambda: verify_farkas([[1]], [1, 2], [1]), ShapeError),
])
def test_bad_input(call, exc):
    with pytest.raises(exc) as info:
        call()
    assert isinstance(info.value, PolyreluError)
    assert str(info.value)


def test_error_messages_name_the_place():
    with pytest.raises(ShapeError, match="A has 2 rows but b has 1"):
        Polyhedron.from_inequalities([[1], [2]], [1])
    with pytest.raises(ShapeError, match="row 1"):
        Polyhedron.from_inequalities([[1, 0], [0]], [1, 1])
    with pytest.raises(NonFiniteError, match="row 0, column 1"):
        Polyhedron.from_inequalities([[1, float("nan")]], [1])
    with pytest.raises(PolyhedronError, match=r"lo\[1\]"):
        Polyhedron.box([0, 2], [1, 1])


# ------------------------------------------- float-proposed minimal forms


def _fresh_in_mode(mode, A, b, d):
    """A fresh polyhedron whose minimal form (and == key) is computed in ``mode``."""
    with fast_path(mode):
        P = Polyhedron.from_inequalities(A, b, ambient_dim=d)
        hash(P)
        len(P.inequalities[0])
    return P


def _assert_minimal(P, d):
    """Independent of the minimal form's method: every kept row is an input
    row, and dropping any one of them enlarges the set (exact LP)."""
    Ao, bo = P.inequalities
    Eo, fo = P.equalities
    raw_A, raw_b = P.raw_inequalities
    for i, a, c in zip(P.facet_indices, Ao, bo):
        assert (raw_A[i], raw_b[i]) == (a, c)
    for i in range(len(Ao)):
        rest = Polyhedron.from_inequalities(Ao[:i] + Ao[i + 1:], bo[:i] + bo[i + 1:],
                                            equalities=(Eo, fo) if Eo else None,
                                            ambient_dim=d)
        with fast_path(False):
            r = rest.maximize(Ao[i])
        assert r.status == "unbounded" or r.value > bo[i]


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 5).flatmap(lambda d: st.tuples(
    st.just(d),
    st.lists(st.lists(st.integers(-4, 4), min_size=d, max_size=d).filter(any),
             min_size=2, max_size=12),
    st.lists(st.integers(1, 5), min_size=12, max_size=12),
    st.lists(st.integers(-3, 3), min_size=d, max_size=d).filter(any),
    st.sets(st.sampled_from(["dup", "scaled", "weaker", "equality", "touch"])))))
def test_fast_minimal_form_matches_cdd(case):
    """Floats propose facets / redundant rows (checked by exact points and
    multipliers); cdd's canonicalisation is the reference, on degenerate
    inputs too: duplicate and scaled rows, implicit equalities, redundant
    rows touching a vertex (a float LP optimum exactly at b: undecided by
    floats, left to the exact LPs)."""
    d, normals, rhs, c, kinds = case
    A = [list(a) for a in normals]
    b = [F(v) for v in rhs[:len(A)]]
    for j in range(d):  # a box keeps it bounded (its rows may be redundant)
        A += [[int(i == j) for i in range(d)], [-int(i == j) for i in range(d)]]
        b += [F(6), F(6)]
    if "dup" in kinds:
        A.append(list(A[0]))
        b.append(b[0])
    if "scaled" in kinds:
        A.append([3 * v for v in A[1]])
        b.append(3 * b[1])
    if "weaker" in kinds:
        A.append([2 * v for v in A[0]])
        b.append(2 * b[0] + 1)
    if "touch" in kinds:
        # c . x <= max c . x over P: valid, tight at a vertex (or a face)
        with fast_path(False):
            top = Polyhedron.from_inequalities(A, b).maximize(c)
        A.append(list(c))
        b.append(top.value)
    if "equality" in kinds:
        A.append([-v for v in A[0]])
        b.append(-b[0])
    reset_backend_stats()
    fast = _fresh_in_mode(True, A, b, d)
    stats = backend_stats()
    ref = _fresh_in_mode(False, A, b, d)
    assert fast == ref and hash(fast) == hash(ref)
    assert len(fast.inequalities[0]) == len(ref.inequalities[0])
    assert fast.dim == ref.dim
    if fast.dim > 0:   # (a point has no inequalities left to decide)
        assert stats.get("canon.fast_ok", 0) > 0   # the float proposals decided rows
    if not fast.is_empty():
        _assert_minimal(fast, d)


def _random_region_rows(d, m, seed):
    """Rows of a random polytope in R^d with the origin inside: normals with
    53-bit float entries (like the rows of a network region), a box."""
    import random

    rng = random.Random(seed)
    A = [[rng.gauss(0.0, 1.0) for _ in range(d)] for _ in range(m)]
    b = [rng.uniform(0.2, 2.0) for _ in range(m)]
    for j in range(d):
        A += [[float(i == j) for i in range(d)], [-float(i == j) for i in range(d)]]
        b += [1.0, 1.0]
    return A, b


@pytest.mark.parametrize("d, m, seed, reference", [
    (8, 30, 0, "cdd"), (10, 60, 1, "exact LPs"), (12, 40, 2, "exact LPs")])
def test_fast_minimal_form_auto_higher_dimension(d, m, seed, reference, monkeypatch):
    """From dimension 6 the default mode proposes with float LPs (counted in
    backend_stats); the answer equals cdd's canonicalisation, or (where cdd
    takes too long for a unit test) the exact Clarkson LPs of the default
    mode with the float proposals switched off."""
    import polyrelu.polyhedron as ph

    A, b = _random_region_rows(d, m, seed)
    reset_backend_stats()
    fast = _fresh_in_mode("auto", A, b, d)
    assert backend_stats().get("canon.fast_ok", 0) == len(A)   # every row certified
    if reference == "cdd":
        ref = _fresh_in_mode(False, A, b, d)
    else:
        monkeypatch.setattr(ph, "_AUTO_FLOAT_CANON_DIM", 10 ** 6)
        reset_backend_stats()
        ref = _fresh_in_mode("auto", A, b, d)
        assert "canon.fast_ok" not in backend_stats() and backend_stats()["cdd.lp"] > 0
    assert fast == ref
    assert len(fast.inequalities[0]) == len(ref.inequalities[0])


def test_fast_minimal_form_without_highspy(monkeypatch):
    """Without highspy's warm-started solver the proposals come from scipy's
    linprog; same exact answer."""
    import polyrelu.polyhedron as ph

    A, b = _random_region_rows(8, 25, 3)
    with_highs = _fresh_in_mode(True, A, b, 8)
    monkeypatch.setattr(ph, "_new_highs", lambda: None)
    reset_backend_stats()
    with_scipy = _fresh_in_mode(True, A, b, 8)
    assert backend_stats().get("canon.fast_ok", 0) > 0
    assert with_highs == with_scipy == _fresh_in_mode(False, A, b, 8)


def test_fast_minimal_form_prints_nothing(capfd):
    """The float solver must not write to stdout (``--json`` output)."""
    A, b = _random_region_rows(8, 20, 4)
    _fresh_in_mode(True, A, b, 8)
    out, _ = capfd.readouterr()
    assert out == ""


@pytest.mark.parametrize("multipliers", ["duals", "none"])
def test_fast_minimal_form_rejects_bad_proposals(monkeypatch, multipliers):
    """Proposals are only proposals: with every float verdict swapped (facets
    proposed redundant with their LP duals, or with no multipliers at all so
    that only the residual bound |a|_1 M can reject them; redundant rows
    proposed facets with the strict interior point as "violating" point),
    the exact checks reject all of them and the exact LPs decide."""
    import polyrelu.polyhedron as ph

    if multipliers == "none":
        real_mult = ph._exact_multipliers
        monkeypatch.setattr(ph, "_exact_multipliers", lambda y, exps, e_obj, skip:
                            {} if e_obj else real_mult(y, exps, e_obj, skip))

    real = ph._DualLP.solve

    def swapped(self, f, cap=None):
        out = real(self, f, cap)
        if out is None or cap is None:
            return out
        v, y, x = out
        b = float(self.Fb[cap])
        return (b - 0.5 if v > b else b + 0.5), y, x

    A, b = _random_region_rows(8, 25, 5)
    ref = _fresh_in_mode(False, A, b, 8)
    monkeypatch.setattr(ph._DualLP, "solve", swapped)
    monkeypatch.setattr(ph, "_point_past", lambda FA, Fb, p, y0, x, gone: y0)
    reset_backend_stats()
    bad = _fresh_in_mode(True, A, b, 8)
    stats = backend_stats()
    assert stats.get("canon.fast_ok", 0) == 0 and stats["canon.fast_fail"] == len(A)
    assert bad == ref
    _assert_minimal(bad, 8)


# ----------------------------------------------------------- boundedness


def _bounded_by_generators(P):
    """The reference: no rays and no lines (double description)."""
    return P.is_empty() or (not P.rays and not P.lines)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4).flatmap(lambda d: st.tuples(
    st.just(d),
    st.lists(st.tuples(st.lists(st.integers(-3, 3), min_size=d, max_size=d),
                       st.integers(-2, 4)), min_size=0, max_size=9),
    st.lists(st.tuples(st.lists(st.integers(-2, 2), min_size=d, max_size=d),
                       st.integers(-2, 2)), min_size=0, max_size=2))))
def test_bounded_matches_generators(case):
    """bounded (axis rows, recession-cone LPs or float multipliers) agrees
    with the double description in every mode, for bounded, unbounded,
    lower-dimensional and empty polyhedra."""
    d, rows, eqs = case
    A = [r[0] for r in rows]
    b = [r[1] for r in rows]
    E = [e[0] for e in eqs]
    f = [e[1] for e in eqs]
    want = _bounded_by_generators(Polyhedron.from_inequalities(
        A, b, equalities=(E, f) if E else None, ambient_dim=d))
    for mode in (True, False, "auto"):
        with fast_path(mode):
            P = Polyhedron.from_inequalities(A, b, equalities=(E, f) if E else None,
                                             ambient_dim=d)
            assert P.bounded == want


def test_bounded_axis_rows_need_no_computation():
    """Rows containing +-e_j for every j (a box among the rows, as in every
    region of a box domain) prove boundedness with no LP and no vertex
    enumeration, whatever the other rows (here 70 of them in R^40)."""
    import random

    rng = random.Random(0)
    d = 40
    A = [[F(rng.randint(-9, 9), rng.randint(1, 9)) for _ in range(d)] for _ in range(70)]
    b = [F(rng.randint(1, 9)) for _ in range(70)]
    P = Polyhedron.box([0] * d, [1] * d).intersect(Polyhedron.from_inequalities(A, b))
    reset_backend_stats()
    assert P.bounded
    assert backend_stats() == {}
    # an equality along e_j bounds x_j from both sides
    Q = Polyhedron.from_inequalities([[1, 0], [-1, 0]], [1, 1], equalities=([[0, 2]], [1]))
    reset_backend_stats()
    assert Q.bounded and backend_stats() == {}


@pytest.mark.parametrize("mode", [True, False, "auto"])
def test_bounded_without_vertex_enumeration(mode):
    """A simplex in R^12 without upper bounds on the coordinates (x >= 0,
    sum x <= 1) and the same set opened up (sum x <= 1 dropped): decided by
    recession-cone LPs or exact multipliers, never by the vertices."""
    d = 12
    A = [[-int(i == j) for i in range(d)] for j in range(d)] + [[1] * d]
    b = [0] * d + [1]
    with fast_path(mode):
        reset_backend_stats()
        assert Polyhedron.from_inequalities(A, b).bounded
        assert not Polyhedron.from_inequalities(A[:-1], b[:-1]).bounded
        # tilted (x = T y): only the row -y_0 <= 0 stays axis-aligned
        T = [[F(1)] + [F(0)] * (d - 1)] + [[F(int(i == j)) + F(int(i == j - 1), 2)
                                            for i in range(d)] for j in range(1, d)]
        At = [[sum(F(a) * T[k][i] for k, a in enumerate(row)) for i in range(d)]
              for row in A]
        assert Polyhedron.from_inequalities(At, b).bounded
        assert "cdd.generators" not in backend_stats()


def test_bounded_rejects_bad_float_multipliers(monkeypatch):
    """A float solver that claims every direction is a combination of the
    rows (status 0, made-up multipliers) cannot make an unbounded
    polyhedron bounded: the exact residual check rejects the multipliers."""
    from types import SimpleNamespace

    import numpy as np

    import polyrelu.polyhedron as ph

    # unbounded in R^7: x_0 free upwards; no axis row bounds every coordinate
    d = 7
    A = [[-1] + [0] * (d - 1)] + [[1 if i == j else (-1 if i == j + 1 else 0)
                                   for i in range(d)] for j in range(1, d - 1)]
    A += [[0] * (d - 1) + [1], [0] * (d - 1) + [-1]]
    b = [0] * len(A)
    with fast_path(True):
        P = Polyhedron.from_inequalities(A, b)
        assert not P.is_empty()
        monkeypatch.setattr(ph, "_linprog", lambda c, **kw: SimpleNamespace(
            status=0, x=np.ones(len(c))))
        reset_backend_stats()
        assert not P.bounded
        assert backend_stats().get("bounded.fast_fail") == 1
    assert _bounded_by_generators(Polyhedron.from_inequalities(A, b)) is False
