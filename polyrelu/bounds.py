"""Counting bounds for the number of regions of a network (exact integers).

Notation: ``n_0`` inputs, hidden widths ``n_1, ..., n_{L-1}`` (the affine
output layer adds no regions).  All bounds are Python ints; a bound that is
not proven for the network's activation or skip connections is ``None``
("not applicable"), never a number.

* :func:`zaslavsky` -- ``sum_{i <= d} C(n, i)``: the most regions ``n``
  hyperplanes cut R^d into, attained in general position (Zaslavsky 1975).
* :func:`zaslavsky_pairs` -- ``sum_{i <= d} C(n, i) 2^i``: the most regions
  ``n`` *pairs of parallel* hyperplanes cut R^d into (``n`` hard tanh units,
  thresholds ``z = -1`` and ``z = 1``), attained in general position.
* :func:`raghu_bound` -- the bound from the proof of Raghu et al. (2017)
  Theorem 1: ``prod_l zaslavsky(p n_l, n_0)``, ``p = 2`` for hard tanh.
* :func:`serra_bound` -- Serra, Tjandraatmadja & Ramalingam (2018),
  Theorem 1: ``sum over J of prod_l C(n_l, j_l)``, ``J = {0 <= j_l <=
  min(n_0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l)}``; for plain ReLU
  networks, and for hard tanh on the widths ``2 n_l`` (see below).
* :func:`serra_product_bound` -- the layerwise product ``prod_l c(n_l, r_l)``
  (``c`` = :func:`zaslavsky`, or :func:`zaslavsky_pairs` for hard tanh) with
  ``r_l`` a bound on the rank of layer ``l``'s input map; without skips
  ``r_l = min(n_0, ..., n_{l-1})`` (Serra et al. 2018; Montufar 2017).
* :func:`montufar_lower_bound` -- Montufar, Pascanu, Cho & Bengio (2014),
  Theorem 4: for ``n_l >= n_0`` *some* ReLU network with these widths has at
  least ``prod_{l < L-1} floor(n_l / n_0)^{n_0} * zaslavsky(n_{L-1}, n_0)``
  linear regions.  It bounds the maximum over weights, not a given network.

Why the upper bounds hold (for every network of the kind, on R^{n_0}, hence
on every subdomain; and for linear regions, each a union of activation
regions):

1. *Layerwise product* (the argument of Raghu et al.'s proof of Thm 1).  On
   an activation region ``R`` of layers ``< l`` (a convex polyhedron) the map
   ``x -> u_l`` is affine, ``A x + c``, with ``rank A <= r_l``, where
   ``r_l = min(n_0, dim u_l, rho_{l-1} + sum_{k -> l} rho_k)``,
   ``rho_0 = n_0`` and ``rho_k = min(n_k, r_k)`` (J&V eq. 46: a skip adds
   ``nu_k``, and rank is subadditive).  The thresholds of layer ``l`` are
   hyperplanes with normals in the row space of ``A``: at most
   ``c(n_l, r_l)`` chambers.  Distinct patterns have disjoint interiors (the
   SPEC tie rules give a unit constant at its threshold one piece), so each
   activation region of layers ``<= l`` inside ``R`` contains its own
   chamber.  With ``r_l <= n_0`` this is Raghu's bound; it needs no
   property of the activation beyond its thresholds, so it holds for leaky
   ReLU (any slope) and with skips.
2. *Pairs* (:func:`zaslavsky_pairs`), by deletion-restriction: adding a
   hyperplane ``H`` adds as many regions as ``H``'s restricted arrangement
   has; on ``H`` its partner is absent (parallel) and every other pair
   leaves at most two parallel hyperplanes, so ``g(n, d) <= g(n-1, d) +
   2 g(n-1, d-1)``, ``g(0, d) = g(n, 0) = 1``, solved by the sum.
3. *Hard tanh via ReLU*: ``htanh(z) = relu(z+1) - relu(z-1) - 1``, so a plain
   hard tanh network of widths ``n_l`` has, layer by layer, the same
   pre-activations as a plain ReLU network of widths ``2 n_l`` (units ``z+1``,
   ``z-1``; next layer ``[W, -W]``, bias ``b - W 1``).  ReLU bits
   ``(0,0), (1,0), (1,1)`` of a unit's pair force pieces 0, 1, 2 (``(0,1)``
   is empty), so every ReLU region lies in one hard tanh region; they cover
   R^d, so each hard tanh activation region contains a ReLU activation region
   of its own.  Any ReLU upper bound on widths ``2 n_l`` is thus valid.
4. Serra et al.'s Theorem 1 uses that inactive ReLUs drop the dimension.
   That fails for leaky ReLU (slope -1 is ``|z|``, which folds: a 1-1-1-1
   network has 4 pieces, Serra's count is 3) and with skips into hidden
   layers (a 2-2-2-1 net with a skip 0 -> 2 has 12 regions, Serra's count is
   11), so :func:`serra_bound` is None there.  Montufar's bound is about
   plain ReLU weights: None for other activations and for skips.

>>> zaslavsky(3, 2), raghu_bound([2, 3, 3, 1]), serra_bound([2, 3, 3, 1])
(7, 49, 40)
>>> zaslavsky_pairs(3, 2), serra_bound([2, 3, 1], "hard_tanh")
(19, 22)
>>> montufar_lower_bound([1, 3, 2, 1]), serra_bound([2, 2, 2, 1], skips={2: [0]})
(9, None)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from math import comb, prod
from typing import Any, Mapping

from .exceptions import DomainError, NetworkError, SkipError
from .network import ACTIVATIONS

__all__ = ["zaslavsky", "zaslavsky_pairs", "raghu_bound", "serra_bound",
           "serra_product_bound", "montufar_lower_bound", "RegionBounds",
           "region_bounds", "compare_bounds"]


def _widths(arch: Any) -> tuple[int, ...]:
    """(n_0, n_1, ..., n_{L-1}, out) from a Network, a widths sequence or "2-8-8-1"."""
    if hasattr(arch, "widths"):
        return tuple(arch.widths)
    if isinstance(arch, str):
        try:
            arch = [int(a) for a in arch.split("-")]
        except ValueError:
            raise NetworkError(f"cannot read architecture {arch!r}") from None
    try:
        w = tuple(int(a) for a in arch)
    except (TypeError, ValueError):
        raise NetworkError(f"cannot read architecture {arch!r}: need widths "
                           f"such as [2, 8, 8, 1] or '2-8-8-1'") from None
    if len(w) < 2 or any(a < 1 for a in w):
        raise NetworkError(f"widths {w}: need an input and an output size, all >= 1")
    return w


def _spec(arch: Any, activation: str | None, skips: Any):
    """(widths, activation, {hidden target layer: sources}) of an architecture.

    Skips into the output layer do not change the activation regions, so only
    skips into hidden layers are kept.  Widths of skip ends are not checked:
    a 1-input slice of a network (``n_0 = 1``) keeps the skips of the network.
    """
    w = _widths(arch)
    if activation is None:
        activation = getattr(arch, "activation", "relu")
    if activation not in ACTIVATIONS:
        raise NetworkError(f"unknown activation {activation!r}; choose from "
                           f"{', '.join(ACTIVATIONS)}")
    if skips is None:
        skips = getattr(arch, "skip_sources", None) or {}
    if not isinstance(skips, Mapping):
        raise SkipError("skips must be a dict {target_layer: [source_layers]}")
    L = len(w) - 1
    hidden: dict[int, tuple[int, ...]] = {}
    for t, srcs in skips.items():
        t = int(t)
        srcs = tuple(int(k) for k in srcs)
        if not 2 <= t <= L or any(not 0 <= k < t - 1 for k in srcs):
            raise SkipError(f"skip {list(srcs)} -> {t}: need 0 <= source < target - 1 "
                            f"and 2 <= target <= {L}")
        if t < L and srcs:
            hidden[t] = srcs
    return w, activation, hidden


def zaslavsky(n: int, d: int) -> int:
    """Maximal number of regions of ``n`` hyperplanes in R^d: ``sum_{i<=d} C(n, i)``.

    >>> zaslavsky(4, 2), zaslavsky(2, 5)
    (11, 4)
    """
    if n < 0 or d < 0:
        raise DomainError(f"zaslavsky({n}, {d}): need n, d >= 0")
    return sum(comb(n, i) for i in range(min(n, d) + 1))


def zaslavsky_pairs(n: int, d: int) -> int:
    """Maximal number of regions of ``n`` pairs of parallel hyperplanes in R^d
    (``n`` hard tanh units): ``sum_{i<=d} C(n, i) 2^i``.

    Proof of the bound in the module docstring (item 2); it is attained when
    every ``i <= d`` of the ``n`` normals are independent and no ``d + 1``
    hyperplanes from distinct pairs meet.  Never above ``zaslavsky(2 n, d)``.

    >>> zaslavsky_pairs(3, 1), zaslavsky_pairs(3, 2), zaslavsky(6, 2)
    (7, 19, 22)
    """
    if n < 0 or d < 0:
        raise DomainError(f"zaslavsky_pairs({n}, {d}): need n, d >= 0")
    return sum(comb(n, i) * 2 ** i for i in range(min(n, d) + 1))


def _layer_count(activation: str):
    return zaslavsky_pairs if activation == "hard_tanh" else zaslavsky


def _input_ranks(w: tuple, skips: Mapping[int, tuple]) -> list[int]:
    """``r_l`` (module docstring, item 1) for the hidden layers ``l = 1..L-1``."""
    n0 = w[0]
    rho = [n0]  # rank bounds of nu_0, nu_1, ...
    out = []
    for l, n in enumerate(w[1:-1], start=1):
        r = min(n0, w[l - 1], rho[l - 1] + sum(rho[k] for k in skips.get(l, ())))
        out.append(r)
        rho.append(min(n, r))
    return out


def raghu_bound(arch: Any, activation: str | None = None) -> int:
    """Raghu et al. (2017) Theorem 1 bound on the number of activation patterns,
    in the explicit form of its proof: ``prod_l zaslavsky(p n_l, n_0)`` with
    ``p = 2`` for hard tanh (two thresholds per neuron), else 1.

    ``activation`` defaults to that of ``arch`` (a Network), else ReLU.  Valid
    for every activation and with skip connections (module docstring, item 1).

    >>> raghu_bound([1, 4, 4, 1]), raghu_bound([1, 4, 4, 1], "hard_tanh")
    (25, 81)
    """
    w, activation, _ = _spec(arch, activation, {})
    p = 2 if activation == "hard_tanh" else 1
    return prod(zaslavsky(p * n, w[0]) for n in w[1:-1])


def _serra_relu(w: tuple) -> int:
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


def serra_bound(arch: Any, activation: str | None = None,
                skips: Mapping | None = None) -> int | None:
    """Serra et al. (2018) Theorem 1 upper bound on the number of regions.

    For plain ReLU networks as in the paper; for plain hard tanh networks it
    is the ReLU bound on the widths ``2 n_l`` (module docstring, item 3).
    None (not applicable) for leaky ReLU and for skips into hidden layers,
    where the theorem's dimension argument fails (item 4).  ``activation`` and
    ``skips`` default to those of ``arch`` (a Network), else ReLU, no skips.

    >>> serra_bound([2, 2, 2, 1]), serra_bound([3, 1, 5, 1])
    (11, 7)
    >>> serra_bound([1, 1, 1, 1], "leaky_relu") is None
    True
    """
    w, activation, hidden_skips = _spec(arch, activation, skips)
    if activation == "leaky_relu" or hidden_skips:
        return None
    if activation == "hard_tanh":
        w = (w[0],) + tuple(2 * n for n in w[1:-1]) + (w[-1],)
    return _serra_relu(w)


def serra_product_bound(arch: Any, activation: str | None = None,
                        skips: Mapping | None = None) -> int:
    """The layerwise product ``prod_l c(n_l, r_l)`` (module docstring, item 1).

    ``c`` is :func:`zaslavsky` (:func:`zaslavsky_pairs` for hard tanh); without
    skips ``r_l = min(n_0, ..., n_{l-1})``.  Valid for every activation and
    with skips; for plain ReLU networks never below :func:`serra_bound`.

    >>> serra_product_bound([3, 1, 5, 1]), serra_product_bound([2, 2, 2, 1], skips={2: [0]})
    (12, 16)
    """
    w, activation, hidden_skips = _spec(arch, activation, skips)
    c = _layer_count(activation)
    return prod(c(n, r) for n, r in zip(w[1:-1], _input_ranks(w, hidden_skips)))


def montufar_lower_bound(arch: Any, activation: str | None = None,
                         skips: Mapping | None = None) -> int | None:
    """Montufar et al. (2014) lower bound on the *maximal* number of linear
    regions over all weights of a plain ReLU network with these widths.

    None when some hidden width is below ``n_0``, and (not applicable) for
    other activations or skip connections.

    >>> montufar_lower_bound([2, 4, 4, 1]), montufar_lower_bound([3, 2, 1])
    (44, None)
    """
    w, activation, _ = _spec(arch, activation, skips)
    has_skips = bool(skips) if skips is not None else bool(getattr(arch, "skips", ()))
    if activation != "relu" or has_skips:
        return None
    n0, hidden = w[0], w[1:-1]
    if not hidden:
        return 1
    if any(n < n0 for n in hidden):
        return None
    return prod((n // n0) ** n0 for n in hidden[:-1]) * zaslavsky(hidden[-1], n0)


@dataclass(frozen=True)
class RegionBounds:
    """The bounds for an architecture beside exact counts (when given).

    ``raghu``, ``serra`` and ``serra_product`` are upper bounds on the number
    of activation regions (so of linear regions) on R^d and on every subdomain;
    ``serra`` is None where it is not applicable.  ``zaslavsky_first_layer``
    is the most regions the first layer alone can make (an upper bound for
    the network only with one hidden layer).  ``montufar_lower`` bounds the
    maximum over plain ReLU weights, not this network (None: not applicable).
    ``activation_regions`` / ``linear_regions`` are exact counts on ``domain``
    (None when not computed); ``partial`` marks a count stopped by a limit.
    ``notes`` explains every bound that is not applicable.
    """

    architecture: str
    activation: str
    skips: bool
    zaslavsky_first_layer: int
    raghu: int
    serra: int | None
    serra_product: int
    montufar_lower: int | None
    activation_regions: int | None = None
    linear_regions: int | None = None
    domain: str = "R^d"
    partial: bool = False
    notes: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def hidden_layers(self) -> int:
        return self.architecture.count("-") - 1

    def entries(self) -> list[dict]:
        """One dict per bound: ``name``, ``label``, ``value`` (int or None),
        ``kind`` ("upper", "first layer" or "lower on the maximum") and
        ``bounds`` (what it bounds)."""
        upper = ("activation regions (so linear regions) on R^d and on every "
                 "subdomain")
        ht = self.activation == "hard_tanh"
        one = self.hidden_layers <= 1
        out: list[dict[str, Any]] = [
            {"name": "raghu", "label": "Raghu et al. Thm 1", "value": self.raghu,
             "kind": "upper", "bounds": upper},
            {"name": "serra", "label": "Serra et al. Thm 1" + (" on ReLU widths 2 n_l"
                                                                if ht else ""),
             "value": self.serra, "kind": "upper", "bounds": upper},
            {"name": "serra_product", "label": "layerwise product", "value":
             self.serra_product, "kind": "upper", "bounds": upper},
            {"name": "zaslavsky_first_layer",
             "label": "first layer alone (Zaslavsky" + (", pairs)" if ht else ")"),
             "value": self.zaslavsky_first_layer,
             "kind": "upper" if one else "first layer",
             "bounds": upper if one else "regions of the first layer alone "
                                         "(not of this network)"},
            {"name": "montufar_lower", "label": "Montufar et al. Thm 4",
             "value": self.montufar_lower, "kind": "lower on the maximum",
             "bounds": "the most linear regions any plain ReLU network with these "
                       "widths can have (not this network)"},
        ]
        for e in out:
            e["note"] = self.notes.get(e["name"], "")
        return out

    def as_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items()}
        d["notes"] = dict(self.notes)
        d["entries"] = self.entries()
        return d

    def __str__(self) -> str:
        rows = [("architecture", f"{self.architecture}, {self.activation}"
                 + (", with skips" if self.skips else ""))]
        if self.activation_regions is not None:
            mark = " (partial: at least)" if self.partial else ""
            rows.append((f"activation regions on {self.domain}",
                         f"{self.activation_regions}{mark}"))
        if self.linear_regions is not None:
            mark = " (partial)" if self.partial else ""
            rows.append((f"linear regions on {self.domain}", f"{self.linear_regions}{mark}"))
        ents = self.entries()
        for e in ents:
            if e["value"] is None:
                val = "n/a" + (f" ({e['note']})" if e["note"] else "")
            else:
                val = str(e["value"])
            tag = {"upper": "upper", "first layer": "first layer only",
                   "lower on the maximum": "lower, max over ReLU weights"}[e["kind"]]
            rows.append((f"{e['label']} ({tag})", val))
        width = max(len(a) for a, _ in rows)
        lines = [f"{a:<{width}}  {b}" for a, b in rows]
        lines.append("upper: bounds the activation regions (so the linear regions) on "
                     "R^d and every subdomain")
        return "\n".join(lines)


def region_bounds(arch: Any, activation: str | None = None, *,
                  skips: Mapping | None = None,
                  activation_regions: int | None = None,
                  linear_regions: int | None = None, domain: str = "R^d",
                  partial: bool = False) -> RegionBounds:
    """All bounds for an architecture (a Network, widths or "2-8-8-1").

    ``activation`` and ``skips`` default to those of a Network (else ReLU, no
    skips); only bounds proven for them get a value (see the module docstring).

    >>> print(region_bounds("2-3-1"))        # doctest: +NORMALIZE_WHITESPACE
    architecture                                         2-3-1, relu
    Raghu et al. Thm 1 (upper)                           7
    Serra et al. Thm 1 (upper)                           7
    layerwise product (upper)                            7
    first layer alone (Zaslavsky) (upper)                7
    Montufar et al. Thm 4 (lower, max over ReLU weights) 7
    upper: bounds the activation regions (so the linear regions) on R^d and every subdomain
    >>> rb = region_bounds([2, 2, 2, 1], skips={2: [0]})
    >>> rb.serra, rb.serra_product, rb.notes["serra"]
    (None, 16, 'not proven with skips into hidden layers')
    """
    w, act, hidden_skips = _spec(arch, activation, skips)
    any_skips = bool(skips) if skips is not None else bool(getattr(arch, "skips", ()))
    notes = {}
    if act == "leaky_relu":
        notes["serra"] = "not proven for leaky ReLU"
    elif hidden_skips:
        notes["serra"] = "not proven with skips into hidden layers"
    if act != "relu":
        notes["montufar_lower"] = f"a statement about plain ReLU weights, not {act}"
    elif any_skips:
        notes["montufar_lower"] = "a statement about plain ReLU networks, not skips"
    elif any(n < w[0] for n in w[1:-1]):
        notes["montufar_lower"] = "needs every hidden width >= n_0"
    first = _layer_count(act)(w[1], w[0]) if len(w) > 2 else 1
    return RegionBounds(
        architecture="-".join(map(str, w)), activation=act, skips=any_skips,
        zaslavsky_first_layer=first, raghu=raghu_bound(w, act),
        serra=serra_bound(w, act, hidden_skips),
        serra_product=serra_product_bound(w, act, hidden_skips),
        montufar_lower=montufar_lower_bound(w, act, skips if skips is not None
                                            else dict(getattr(arch, "skips", ()))),
        activation_regions=activation_regions, linear_regions=linear_regions,
        domain=domain, partial=partial, notes=notes)


def compare_bounds(net: Any, domain: Any = None, *, max_regions: int | None = None,
                   time_limit: float | None = None, linear: bool = False,
                   engine: str = "auto", budget: Any = None) -> RegionBounds:
    """The bounds next to the exact number of activation regions of ``net`` on
    ``domain`` (None = R^d), counted with :func:`polyrelu.regions.regions`
    (``engine`` is passed on); ``linear=True`` also counts merged linear
    regions.  Only bounds proven for the network's activation and skips are
    given (the others are None, with a note).

    ``max_regions``, ``time_limit`` (or a :class:`~polyrelu.budget.Budget`)
    bound the whole call, counting and merging (as
    :func:`polyrelu.regions.count_regions`); the counts are then ``partial``.

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])],
    ...                               activation="hard_tanh")
    >>> rb = compare_bounds(net, pr.Polyhedron.box([-2, -2], [2, 2]))
    >>> rb.activation_regions, rb.zaslavsky_first_layer, rb.serra, rb.montufar_lower
    (9, 9, 11, None)
    """
    from .budget import as_budget
    from .regions import count_regions
    from .regions import regions as _regions

    b = as_budget(budget, max_regions, time_limit, "compare_bounds")
    if linear:
        c = count_regions(net, domain, engine=engine, budget=b)
        n, nlin, partial = c.activation, c.linear, c.partial
    else:
        it = _regions(net, domain, engine=engine, budget=b)
        n, nlin = sum(1 for _ in it), None
        partial = it.partial
    dom = "R^d" if domain is None else "the domain"
    return region_bounds(net, activation_regions=n, linear_regions=nlin,
                         domain=dom, partial=partial)
