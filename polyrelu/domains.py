"""Input domains: one check shared by every algorithm that takes ``domain=``.

A domain ``D`` (SPEC "Domain D") is given as

* ``None`` -- the whole input space R^d;
* a :class:`~polyrelu.polyhedron.Polyhedron` in R^d;
* a pair ``(lo, hi)`` of box corners (exact numbers, as in
  :meth:`Polyhedron.box <polyrelu.polyhedron.Polyhedron.box>`).

Low-dimensional slices through data points are not domains of the network
itself: restrict the network to the slice first
(:meth:`Network.restrict <polyrelu.network.Network.restrict>`, or
:func:`polyrelu.regions.slice_domain`) and use a full-dimensional domain of the
slice parameters.

>>> as_domain(([0, 0], [1, 2]), 2)
Polyhedron(d=2: x0 <= 1, -x0 <= 0, x1 <= 2, -x1 <= 0)
>>> as_domain(None, 2) is None
True
"""

from __future__ import annotations

from typing import Any, Optional

from .exceptions import DomainError, EmptyDomainError
from .numbers import fraction_str, to_vector
from .polyhedron import Polyhedron

__all__ = ["as_domain"]

_SLICE_HINT = ("restrict the network to its affine hull with net.restrict(x0, U) "
               "or slice_domain(net, points), and use a full-dimensional domain of "
               "the slice parameters")


def as_domain(domain: Any, d: int, *, full_dimensional: bool = True,
              who: str = "the network has", why: str = "") -> Optional[Polyhedron]:
    """Check ``domain`` against input dimension ``d``; return a Polyhedron or None.

    Parameters
    ----------
    domain : None, Polyhedron or box
        None means R^d; a pair of corners means the box ``lo <= x <= hi``.
    d : int
        Input dimension of the network(s).
    full_dimensional : bool
        Require a nonempty interior (every region enumeration does: an
        activation region is full-dimensional in D).
    who : str
        Subject of the dimension error ("the network has", "the networks have").
    why : str
        Said when a lower-dimensional domain is refused.

    Raises
    ------
    DomainError
        Not a domain, or a domain in the wrong dimension.
    EmptyDomainError
        An empty domain, or (with ``full_dimensional``) one without interior.

    Examples
    --------
    >>> as_domain(Polyhedron.box([0], [1]), 2)
    Traceback (most recent call last):
    ...
    polyrelu.exceptions.DomainError: wrong dimension: the domain lives in R^1 ...
    """
    if domain is None:
        return None
    if isinstance(domain, (tuple, list)) and len(domain) == 2 \
            and not isinstance(domain[0], (str, bytes)):
        lo = to_vector(domain[0], "domain lo")
        hi = to_vector(domain[1], "domain hi")
        if len(lo) != d or len(hi) != d:
            raise DomainError(f"wrong dimension: the domain box (lo, hi) has {len(lo)}/{len(hi)} "
                              f"coordinates but {who} {d} inputs")
        bad = [j for j in range(d) if lo[j] > hi[j]]
        if bad:
            j = bad[0]
            raise EmptyDomainError(f"the domain box is empty: lo[{j}] = {fraction_str(lo[j])} > "
                                   f"hi[{j}] = {fraction_str(hi[j])}")
        domain = Polyhedron.box(lo, hi)
    if not isinstance(domain, Polyhedron):
        raise DomainError(f"a domain is None (R^{d}), a Polyhedron or a box pair "
                          f"(lo, hi); got {type(domain).__name__}")
    if domain.ambient_dim != d:
        raise DomainError(f"wrong dimension: the domain lives in R^{domain.ambient_dim} but {who} "
                          f"{d} inputs")
    if domain.is_empty():
        raise EmptyDomainError("the domain is empty")
    if full_dimensional and not domain.is_full_dimensional():
        raise EmptyDomainError(
            f"the domain has dimension {domain.dim} < {d} (not full-dimensional)"
            f"{'; ' + why if why else ''}; {_SLICE_HINT}")
    return domain
