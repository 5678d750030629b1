"""Every ``domain=`` argument accepts the same forms and refuses the same way."""

from fractions import Fraction as F

import pytest

import polyrelu as pr
from polyrelu.domains import as_domain

NET = pr.Network.from_weights([([[1, -1], [1, 1], [2, -1]], [0, "-1/2", 1]),
                               ([[1, 1, -1]], [0])])
LO, HI = [-1, -2], [2, "3/2"]
BOX = pr.Polyhedron.box(LO, HI)
PAIR = (LO, HI)


def _patterns(rs):
    return sorted(r.pattern for r in rs)


# (name, call with a domain, a summary that is equal for equal domains)
CALLS = [
    ("regions", lambda D: _patterns(pr.regions(NET, D))),
    ("region_of", lambda D: pr.region_of(NET, [0, 0], D).polyhedron),
    ("region_of_pattern", lambda D: pr.region_of_pattern(NET, [[1, 1, 1]], D).polyhedron),
    ("linear_regions", lambda D: len(pr.linear_regions(NET, D))),
    ("count_regions", lambda D: pr.count_regions(NET, D)),
    ("fold_surface", lambda D: sorted(repr(p) for p in pr.fold_surface(NET, D).pieces)),
    ("equivalent", lambda D: pr.equivalent(NET, NET, D).equivalent),
    ("reduce", lambda D: pr.reduce(NET, D)[0].widths),
    ("distance_to_boundary", lambda D: pr.distance_to_boundary(NET, ["1/3", "1/5"], D).squared),
    ("region_polyhedron", lambda D: pr.region_polyhedron(NET, [[1, 1, 1]], D)),
    ("compare_bounds", lambda D: pr.compare_bounds(NET, D).activation_regions),
]
IDS = [c[0] for c in CALLS]


@pytest.mark.parametrize("call", [c[1] for c in CALLS], ids=IDS)
def test_a_corner_pair_is_the_box(call):
    assert call(PAIR) == call(BOX)


@pytest.mark.parametrize("call", [c[1] for c in CALLS], ids=IDS)
def test_bad_domains_are_domain_errors(call):
    with pytest.raises(pr.DomainError, match="got str"):
        call("[-1, 1]^2")
    with pytest.raises(pr.DomainError, match="wrong dimension.*R\\^3"):
        call(pr.Polyhedron.box([0, 0, 0], [1, 1, 1]))
    with pytest.raises(pr.DomainError, match="wrong dimension"):
        call(([0, 0, 0], [1, 1, 1]))
    with pytest.raises(pr.EmptyDomainError, match="empty"):
        call(([0, 1], [1, 0]))
    with pytest.raises(pr.EmptyDomainError, match="empty"):
        call(pr.Polyhedron.from_inequalities([[1, 0], [-1, 0]], [0, -1]))


@pytest.mark.parametrize("call", [c[1] for c in CALLS if c[0] != "region_polyhedron"],
                         ids=[i for i in IDS if i != "region_polyhedron"])
def test_flat_domains_say_how_to_slice(call):
    with pytest.raises(pr.EmptyDomainError, match="dimension 1 < 2.*restrict"):
        call(pr.Polyhedron.box([0, 0], [1, 0]))


def test_a_region_polyhedron_may_be_cut_by_a_flat_domain():
    seg = pr.Polyhedron.box([0, 0], [1, 0])
    P = pr.region_polyhedron(NET, [[1, 1, 1]], seg)
    # x1 = 0: x0 >= 0, x0 >= 1/2, 2 x0 >= -1 on the segment: [1/2, 1] x {0}
    assert P == pr.Polyhedron.box(["1/2", 0], [1, 0])


def test_as_domain_forms():
    assert as_domain(None, 3) is None
    assert as_domain(PAIR, 2) == BOX
    assert as_domain(BOX, 2) is BOX
    assert as_domain(([F(1, 3)], [F(1, 3)]), 1, full_dimensional=False).dim == 0
    with pytest.raises(pr.EmptyDomainError, match="lo\\[1\\] = 1 > hi\\[1\\] = 0"):
        as_domain(([0, 1], [1, 0]), 2)
    with pytest.raises(pr.NumberError):
        as_domain(([0, float("nan")], [1, 1]), 2)
