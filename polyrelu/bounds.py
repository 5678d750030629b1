"""Counting bounds for the number of regions of a ReLU network (exact integers).

Notation: ``n_0`` inputs, hidden widths ``n_1, ..., n_L`` (the affine output
layer adds no regions).  All bounds are Python ints.

* :func:`zaslavsky` -- ``sum_{i <= d} C(n, i)``: the most regions ``n``
  hyperplanes cut R^d into, attained in general position (Zaslavsky 1975;
  used by Montufar et al. 2014 and Raghu et al. 2017 for one layer).
* :func:`raghu_bound` -- the bound from the proof of Raghu et al. (2017)
  Theorem 1: every region of layers ``< l`` is cut by at most ``n_l``
  hyperplanes (``2 n_l`` for hard tanh, two thresholds per neuron), so
  ``#patterns <= prod_l zaslavsky(n_l, n_0)`` = O(k^(m n)) (O((2k)^(m n))).
* :func:`serra_bound` -- Serra, Tjandraatmadja & Ramalingam (2018), Theorem 1:
  ``sum over J of prod_l C(n_l, j_l)``, ``J = {0 <= j_l <= min(n_0, n_1 - j_1,
  ..., n_{l-1} - j_{l-1}, n_l)}``.
* :func:`serra_product_bound` -- the simpler product ``prod_l sum_{j <= d_l}
  C(n_l, j)`` with ``d_l = min(n_0, n_1, ..., n_l)`` (a layer can only cut
  within the dimension its predecessors let through; Serra et al. 2018, also
  Montufar 2017); it is at least :func:`serra_bound`.
* :func:`montufar_lower_bound` -- Montufar, Pascanu, Cho & Bengio (2014),
  Theorem 4 / Corollary 5: for ``n_l >= n_0`` the *maximal* number of linear
  regions is at least ``prod_{l < L} floor(n_l / n_0)^{n_0} * zaslavsky(n_L,
  n_0)``.  It bounds the maximum over weights, not any given network.

The upper bounds hold for activation regions (hence for linear regions) of
fully connected networks on all of R^{n_0}; on a smaller domain the counts are
smaller still.

>>> zaslavsky(3, 2), raghu_bound([2, 3, 3, 1]), serra_bound([2, 3, 3, 1])
(7, 49, 40)
>>> montufar_lower_bound([1, 3, 2, 1])
9
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import comb, prod
from typing import Any

from .exceptions import DomainError, NetworkError

__all__ = ["zaslavsky", "raghu_bound", "serra_bound", "serra_product_bound",
           "montufar_lower_bound", "RegionBounds", "region_bounds", "compare_bounds"]


def _widths(arch: Any) -> tuple[int, ...]:
    """(n_0, n_1, ..., n_L, out) from a Network, a widths sequence or "2-8-8-1"."""
    if hasattr(arch, "widths"):
        return tuple(arch.widths)
    if isinstance(arch, str):
        try:
            arch = [int(a) for a in arch.split("-")]
        except ValueError:
            raise NetworkError(f"cannot read architecture {arch!r}") from None
    w = tuple(int(a) for a in arch)
    if len(w) < 2 or any(a < 1 for a in w):
        raise NetworkError(f"widths {w}: need an input and an output size, all >= 1")
    return w


def zaslavsky(n: int, d: int) -> int:
    """Maximal number of regions of ``n`` hyperplanes in R^d: ``sum_{i<=d} C(n, i)``.

    >>> zaslavsky(4, 2), zaslavsky(2, 5)
    (11, 4)
    """
    if n < 0 or d < 0:
        raise DomainError(f"zaslavsky({n}, {d}): need n, d >= 0")
    return sum(comb(n, i) for i in range(min(n, d) + 1))


def raghu_bound(arch: Any, activation: str = "relu") -> int:
    """Raghu et al. (2017) Theorem 1 bound on the number of activation patterns,
    in the explicit form of its proof: ``prod_l zaslavsky(p n_l, n_0)`` with
    ``p = 2`` for hard tanh (two breakpoints per neuron), else 1.

    >>> raghu_bound([1, 4, 4, 1]), raghu_bound([1, 4, 4, 1], "hard_tanh")
    (25, 81)
    """
    w = _widths(arch)
    p = 2 if activation == "hard_tanh" else 1
    return prod(zaslavsky(p * n, w[0]) for n in w[1:-1])


def serra_bound(arch: Any) -> int:
    """Serra et al. (2018) Theorem 1 upper bound on the number of regions.

    >>> serra_bound([2, 2, 2, 1]), serra_bound([3, 1, 5, 1])
    (11, 7)
    """
    w = _widths(arch)
    n0, hidden = w[0], w[1:-1]

    @lru_cache(maxsize=None)
    def rec(l: int, cap: int) -> int:
        # cap = min(n_0, n_1 - j_1, ..., n_{l-1} - j_{l-1}) so far
        if l == len(hidden):
            return 1
        n = hidden[l]
        top = min(cap, n)
        return sum(comb(n, j) * rec(l + 1, min(cap, n - j)) for j in range(top + 1))

    return rec(0, n0)


def serra_product_bound(arch: Any) -> int:
    """``prod_l zaslavsky(n_l, min(n_0, ..., n_l))`` (never below :func:`serra_bound`).

    >>> serra_product_bound([3, 1, 5, 1])
    12
    """
    w = _widths(arch)
    out, d = 1, w[0]
    for n in w[1:-1]:
        d = min(d, n)
        out *= zaslavsky(n, d)
    return out


def montufar_lower_bound(arch: Any) -> int | None:
    """Montufar et al. (2014) lower bound on the *maximal* number of linear regions
    of the architecture; None when some hidden width is below ``n_0``.

    >>> montufar_lower_bound([2, 4, 4, 1]), montufar_lower_bound([3, 2, 1])
    (44, None)
    """
    w = _widths(arch)
    n0, hidden = w[0], w[1:-1]
    if not hidden:
        return 1
    if any(n < n0 for n in hidden):
        return None
    return prod((n // n0) ** n0 for n in hidden[:-1]) * zaslavsky(hidden[-1], n0)


@dataclass(frozen=True)
class RegionBounds:
    """The bounds for an architecture beside exact counts (when given).

    ``activation_regions`` / ``linear_regions`` are exact counts on ``domain``
    (None when not computed); ``partial`` marks a count stopped by a limit.
    """

    architecture: str
    zaslavsky_first_layer: int
    raghu: int
    serra: int
    serra_product: int
    montufar_lower: int | None
    activation_regions: int | None = None
    linear_regions: int | None = None
    domain: str = "R^d"
    partial: bool = False

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    def __str__(self) -> str:
        rows = [("architecture", self.architecture)]
        if self.activation_regions is not None:
            mark = " (partial: at least)" if self.partial else ""
            rows.append((f"activation regions on {self.domain}",
                         f"{self.activation_regions}{mark}"))
        if self.linear_regions is not None:
            rows.append((f"linear regions on {self.domain}", str(self.linear_regions)))
        rows += [("Zaslavsky (first layer alone)", str(self.zaslavsky_first_layer)),
                 ("Raghu Thm 1 (upper)", str(self.raghu)),
                 ("Serra et al. Thm 1 (upper)", str(self.serra)),
                 ("Serra product (upper)", str(self.serra_product)),
                 ("Montufar et al. (lower, max over weights)",
                  "n/a" if self.montufar_lower is None else str(self.montufar_lower))]
        width = max(len(a) for a, _ in rows)
        return "\n".join(f"{a:<{width}}  {b}" for a, b in rows)


def region_bounds(arch: Any, activation: str | None = None, *,
                  activation_regions: int | None = None,
                  linear_regions: int | None = None, domain: str = "R^d",
                  partial: bool = False) -> RegionBounds:
    """All bounds for an architecture (a Network, widths or "2-8-8-1").

    >>> print(region_bounds("2-3-1"))        # doctest: +NORMALIZE_WHITESPACE
    architecture                               2-3-1
    Zaslavsky (first layer alone)              7
    Raghu Thm 1 (upper)                        7
    Serra et al. Thm 1 (upper)                 7
    Serra product (upper)                      7
    Montufar et al. (lower, max over weights)  7
    """
    w = _widths(arch)
    if activation is None:
        activation = getattr(arch, "activation", "relu")
    return RegionBounds("-".join(map(str, w)), zaslavsky(w[1], w[0]) if len(w) > 2 else 1,
                        raghu_bound(w, activation), serra_bound(w),
                        serra_product_bound(w), montufar_lower_bound(w),
                        activation_regions, linear_regions, domain, partial)


def compare_bounds(net: Any, domain: Any = None, *, max_regions: int | None = None,
                   time_limit: float | None = None,
                   linear: bool = False) -> RegionBounds:
    """The bounds next to the exact number of activation regions of ``net`` on
    ``domain`` (None = R^d), counted with :func:`polyrelu.regions.regions`;
    ``linear=True`` also counts merged linear regions.

    The upper bounds of Raghu and Serra are for fully connected ReLU networks;
    with skip connections they are shown for the same widths for comparison.

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0], [0, 1], [1, 1]], [0, 0, -1]),
    ...                                ([[1, 1, 1]], [0])])
    >>> rb = compare_bounds(net)
    >>> rb.activation_regions, rb.serra
    (7, 7)
    """
    from .regions import regions as _regions

    it = _regions(net, domain, max_regions=max_regions, time_limit=time_limit)
    found = list(it)
    partial = bool(getattr(it, "partial", False))
    nlin = None
    if linear:
        from .regions import linear_regions as _linear

        nlin = len(list(_linear(net, domain)))
    dom = "R^d" if domain is None else "domain"
    return region_bounds(net, activation_regions=len(found), linear_regions=nlin,
                         domain=dom, partial=partial)
