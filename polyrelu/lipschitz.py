"""The exact Lipschitz constant of a network on a domain: ``pr.lipschitz_constant``.

A ReLU network is affine on each activation region, with Jacobian ``M`` (the
region's affine map); on a convex domain its Lipschitz constant for the
norm ``||.||_p`` on inputs and outputs is ``max over regions of ||M||_p``
(the operator norm), attained by the region's interior points.

* ``linf`` (``l_inf -> l_inf``): the largest absolute row sum; ``l1``: the
  largest absolute column sum -- rational, exact;
* ``l2``: exact for one output (``||M||_2`` is the Euclidean norm of the row:
  ``value_squared`` exact, ``value`` a sympy square root); for several
  outputs certified bounds (the largest row norm below, the Frobenius norm
  above, each region's spectral norm lies between).

The maximum is taken over the activation regions of the domain (an exact
enumeration, :func:`polyrelu.regions`).  When a limit stops it, the result
is partial with certified bounds: ``lower`` the best region so far, ``upper``
the product of the layers' operator norms (ReLU's derivative is a 0/1
diagonal of norm <= 1; plain ReLU networks without skips).

>>> import polyrelu as pr
>>> net = pr.Network.from_weights([([[1], [-1]], [0, 0]), ([[2, -3]], [0])])  # 2relu(t) - 3relu(-t)
>>> L = lipschitz_constant(net, ([-1], [1]))
>>> L.value, L.exact, net.affine_map(L.region.pattern)[0]
(Fraction(3, 1), True, ((Fraction(3, 1),),))
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

from .exceptions import DomainError, NetworkError
from .network import Network

__all__ = ["LipschitzResult", "lipschitz_constant", "operator_norm"]

NORMS = ("linf", "l1", "l2")


@dataclass(frozen=True)
class LipschitzResult:
    """The outcome of :func:`lipschitz_constant`.

    Attributes
    ----------
    value : object
        The exact constant (a ``Fraction`` when ``exact``, else None); for
        ``l2`` with one output a sympy square root of ``value_squared``.
    value_float : float
    lower, upper : Fraction or None
        Certified bounds (equal to ``value`` when exact; for ``l2`` they
        bound the square ``value_squared``).
    region : Region or None
        An activation region attaining ``lower``; ``point`` its interior point.
    """

    value: Any
    value_float: float
    lower: Optional[Fraction]
    upper: Optional[Fraction]
    region: Any
    point: Optional[tuple]
    norm: str
    exact: bool
    partial: bool = False
    reason: Optional[str] = None
    value_squared: Optional[Fraction] = None
    stats: dict = field(default_factory=dict, compare=False)


def operator_norm(M: Any, norm: str) -> tuple:
    """``(lower, upper)`` of ``||M||`` (``l2``: of its square); equal for
    ``linf`` / ``l1`` and for ``l2`` with one row.

    >>> operator_norm(((1, -2), (3, 0)), "linf"), operator_norm(((1, -2), (3, 0)), "l1")
    ((3, 3), (4, 4))
    """
    if norm == "linf":
        v = max(sum(abs(a) for a in row) for row in M)
        return v, v
    if norm == "l1":
        v = max(sum(abs(row[j]) for row in M) for j in range(len(M[0])))
        return v, v
    rows = [sum(a * a for a in row) for row in M]
    cols = [sum(row[j] ** 2 for row in M) for j in range(len(M[0]))]
    return max(max(rows), max(cols)), sum(rows)


def _layer_bound(net: Network, norm: str) -> Optional[Fraction]:
    """Product of the layers' operator norms (``l2``: of the Frobenius squares)."""
    if net.activation != "relu" or net.skips or net.input_map is not None:
        return None
    out = Fraction(1)
    for L in net.layers:
        out *= Fraction(operator_norm(L.W, norm)[1])
    return out


def lipschitz_constant(net: Network, domain: Any, norm: str = "linf", *,
                       time_limit: Optional[float] = None,
                       max_regions: Optional[int] = None) -> LipschitzResult:
    """The exact Lipschitz constant of ``net`` on the convex ``domain`` (module
    docstring).

    Parameters
    ----------
    net : Network
    domain : Polyhedron or box
        ``(lo, hi)`` or a Polyhedron (bounded or not).
    norm : {"linf", "l1", "l2"}
    time_limit, max_regions : optional
        Limits of the enumeration; the result is then partial, with bounds.

    Returns
    -------
    LipschitzResult
    """
    from .regions import regions

    if not isinstance(net, Network):
        raise NetworkError(f"lipschitz_constant: expected a Network, got "
                           f"{type(net).__name__}")
    if norm not in NORMS:
        raise DomainError(f"unknown norm {norm!r}; choose from {', '.join(NORMS)}")
    t0, c0 = time.time(), time.process_time()
    best: Optional[Fraction] = None
    best_up: Optional[Fraction] = None
    arg = None
    count = 0
    it = regions(net, domain, max_regions=max_regions, time_limit=time_limit)
    for reg in it:
        count += 1
        lo, up = operator_norm(reg.affine_map[0], norm)
        lo, up = Fraction(lo), Fraction(up)
        if best is None or lo > best:
            best, arg = lo, reg
        best_up = up if best_up is None or up > best_up else best_up
    stats = {"regions": count, "wall": time.time() - t0, "cpu": time.process_time() - c0}
    partial = bool(getattr(it, "partial", False))
    reason = getattr(it, "reason", None) if partial else None
    one_row = net.output_dim == 1
    upper = best_up
    if partial:
        upper = _layer_bound(net, norm)
    exact = not partial and (norm != "l2" or one_row)
    point = None if arg is None else tuple(arg.interior_point)
    if norm == "l2":
        value = None
        if exact and best is not None:
            import sympy

            value = sympy.sqrt(sympy.Rational(best.numerator, best.denominator))
        vf = float(best) ** 0.5 if best is not None else float("nan")
        return LipschitzResult(value, vf, best, upper, arg, point, norm, exact, partial,
                               reason if partial else (None if exact else
                                                       "l2 with several outputs: bounds"),
                               best if exact else None, stats)
    return LipschitzResult(best if exact else None,
                           float(best) if best is not None else float("nan"),
                           best, best if exact else upper, arg, point, norm, exact,
                           partial, reason, None, stats)
