r"""The tropical (max-plus) algebra of ReLU networks, exact.

A ReLU network is a difference of two convex piecewise-linear functions, each
a maximum of finitely many affine functions: a *tropical rational function*
``F (/) G`` (Zhang, Naitzat & Lim 2018, Thm. 5.4; Joyce & Verschelde (J&V),
Prop. 2.1).  This module computes that form exactly.

Semiring
--------
The max-plus semiring on the rationals: ``a (+) b = max(a, b)`` (tropical sum),
``a (.) b = a + b`` (tropical product), ``a (/) b = a - b`` (J&V eq. 4).  A
*tropical monomial* in ``x`` is an affine function ``a.x + c`` (rational
exponents ``a``, rational coefficient ``c``); a :class:`TropicalPolynomial` is a
finite set of such terms meaning their maximum; a :class:`TropicalRational`
``F (/) G`` means ``F - G``.  In Python ``p + q`` is the pointwise sum of
functions (the tropical product), ``p.oplus(q)`` the pointwise maximum.

Pruning: a term is *redundant* iff it is not strictly larger than every other
term at some point (then, by continuity, on a full-dimensional open set).
:meth:`TropicalPolynomial.prune` removes every redundant term, deciding each
one exactly and without floats: a term that is the unique maximum at one of a
set of rational sample points (exact evaluation) is kept; every other term is
decided by Motzkin's transposition theorem with an exact phase-1 simplex in
rationals (is ``(a_t, c_t)`` below the convex hull of the other lifted
terms?).  Products of pruned polynomials are pruned cell by cell (a sum term
``p_i + q_j`` is kept iff the cells of ``p_i`` and ``q_j`` meet in a
full-dimensional set).  Witness points for kept terms come from the samples
or from :class:`~polyrelu.polyhedron.Polyhedron`.  The pruned term set is the
unique minimal representation of the function, so two polynomials are equal
as functions iff their pruned term sets coincide
(:meth:`TropicalPolynomial.equals`).

The F/G/H recurrence (J&V Prop. 2.1, eq. 14, skips eqs. 48-54)
----------------------------------------------------------------
For layer ``l`` with weights ``W = W+ - W-`` (``W+, W- >= 0`` entrywise) and
input ``u = F_u - G_u``::

    H_l = W+ F_u + W- G_u + b        G_l = W- F_u + W+ G_u
    F_l = max(H_l, G_l)              nu_l = relu(z_l) = F_l - G_l,  z_l = H_l - G_l

On the region of one activation pattern every ``F, G, H`` is a single affine
function ``F_A x + f_b`` etc. (J&V eqs. 11-13); :func:`fgh_recurrence` returns
those matrices layer by layer and :func:`region_inequalities` turns
``H_l - G_l`` into the inequalities of J&V Theorem 2.2.

Sign conventions -- read this once
----------------------------------
polyrelu (binding, SPEC): pattern bit **1 = active** (``z >= 0``, F takes the
H row), bit **0 = inactive** (``z <= 0``, F takes the G row).

J&V Algorithm 1 / Theorem 2.2 use ``v in {-1, +1}`` with **v = +1 = inactive**:
it selects the G row and appends ``H - G <= 0``; ``v = -1`` selects H and
appends ``-(H - G) <= 0``.  So ``v = 1 - 2 * bit``; :func:`paper_signs` and
:func:`pattern_from_signs` convert.  Our :func:`region_inequalities` rows are
``diag(v) (H_A - G_A) x <= -diag(v) (h_b - g_b)`` -- identical to J&V (17).

Skips.  J&V eqs. 49-54 add ``A- sum_k (F_k - G_k)`` to G and
``A+ sum_k (F_k - G_k)`` to H; those are differences, not tropical
polynomials, but the affine pieces (and ``H - G``) are right, so
:func:`fgh_recurrence` implements them verbatim (``skip_form="paper"``).  The
whole-network tropical form needs genuine polynomials, so it folds a skip into
the layer input instead, ``F_u = F_{l-1} + sum_k F_k``, ``G_u = G_{l-1} +
sum_k G_k`` (``skip_form="polynomial"``); both give the same ``H - G``.

>>> net = Network.from_weights([([[1, -1], [1, 1]], [0, -1]), ([[1, 2]], ["1/2"])])
>>> (nu,) = tropical_form(net)
>>> nu([2, 1]) == net([2, 1])[0]
True
>>> print(nu)
max(x2 + 1/2, x1 + 1/2, 2*x1 + 3*x2 - 3/2, 3*x1 + 2*x2 - 3/2) (/) max(x2)
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable, Sequence

import gmpy2

from .exceptions import LimitReached, NetworkError, PolyreluError, ShapeError
from .network import Network
from .numbers import fraction_str, to_fraction, to_vector

__all__ = [
    "TropicalPolynomial",
    "TropicalRational",
    "tropical_sum",
    "tropical_product",
    "LayerFGH",
    "fgh_recurrence",
    "region_inequalities",
    "region_polyhedron",
    "paper_signs",
    "pattern_from_signs",
    "TropicalLayer",
    "tropical_layers",
    "tropical_form",
]

Vec = tuple  # tuple[Fraction, ...]
Mat = tuple  # tuple[Vec, ...]
Term = tuple  # (Vec a, Fraction c): the affine function a.x + c

_ZERO = Fraction(0)
_ONE = Fraction(1)
_mpq = gmpy2.mpq
_Q0 = _mpq(0)
_Q1 = _mpq(1)


# ---------------------------------------------------------------------------
# tropical polynomials
# ---------------------------------------------------------------------------


def _affine_str(a: Vec, c: Fraction, names: Sequence[str]) -> str:
    parts: list[str] = []
    for ai, n in zip(a, names):
        if ai == 0:
            continue
        mag = abs(ai)
        coef = "" if mag == 1 else f"{fraction_str(mag)}*"
        sign = "-" if ai < 0 else "+"
        parts.append(f"{sign} {coef}{n}" if parts else f"{'-' if ai < 0 else ''}{coef}{n}")
    if c != 0 or not parts:
        if parts:
            parts.append(f"{'-' if c < 0 else '+'} {fraction_str(abs(c))}")
        else:
            parts.append(fraction_str(c))
    return " ".join(parts)


def _latex_frac(q: Fraction) -> str:
    if q.denominator == 1:
        return str(q.numerator)
    sign = "-" if q < 0 else ""
    return f"{sign}\\tfrac{{{abs(q.numerator)}}}{{{q.denominator}}}"


def _affine_latex(a: Vec, c: Fraction, names: Sequence[str]) -> str:
    out = ""
    for ai, n in zip(a, names):
        if ai == 0:
            continue
        mag = abs(ai)
        coef = "" if mag == 1 else _latex_frac(mag) + " "
        if out:
            out += (" - " if ai < 0 else " + ") + coef + n
        else:
            out = ("-" if ai < 0 else "") + coef + n
    if c != 0 or not out:
        if out:
            out += (" - " if c < 0 else " + ") + _latex_frac(abs(c))
        else:
            out = _latex_frac(c)
    return out


def _default_names(n: int, latex: bool = False) -> tuple[str, ...]:
    return tuple((f"x_{{{i + 1}}}" if latex else f"x{i + 1}") for i in range(n))


class TropicalPolynomial:
    """A tropical polynomial: the maximum of finitely many affine terms ``a.x + c``.

    Immutable.  Terms are exact (Fractions); exact duplicates are merged; the
    terms are kept in a canonical (sorted) order.  Construction does *not*
    prune: use :meth:`prune` to drop never-maximal terms.

    Parameters
    ----------
    terms : iterable of tuple
        Pairs ``(a, c)``: ``a`` a sequence of ``nvars`` rationals (the exponent vector), ``c`` a
        rational (the coefficient).  At least one term.
    nvars : int, optional
        Number of variables; required only to check ``terms`` against it.

    Examples
    --------
    >>> p = TropicalPolynomial([([1, 0], 0), ([0, 1], 0), ([0, 0], "1/2")])
    >>> print(p)
    max(1/2, x2, x1)
    >>> p([1, 3])
    Fraction(3, 1)
    >>> len(p), p.nvars
    (3, 2)
    """

    __slots__ = ("_terms", "_nvars", "_pruned")
    _terms: tuple[Term, ...]
    _nvars: int
    _pruned: bool

    def __init__(self, terms: Iterable[tuple[Any, Any]], nvars: int | None = None) -> None:
        seen = set()
        n = nvars
        for k, term in enumerate(terms):
            try:
                a, c = term
            except (TypeError, ValueError):
                raise PolyreluError(f"TropicalPolynomial: term {k} must be a pair "
                                    f"(exponents, constant)") from None
            av = a if _is_frac_tuple(a) else to_vector(a, f"term {k} exponents")
            cv = c if type(c) is Fraction else to_fraction(c, f"term {k} constant")
            if n is None:
                n = len(av)
            elif len(av) != n:
                raise ShapeError(f"TropicalPolynomial: term {k} has {len(av)} exponents, "
                                 f"expected {n}")
            seen.add((av, cv))
        if not seen:
            raise PolyreluError("TropicalPolynomial: at least one term is required "
                                "(the empty maximum, -infinity, is not represented)")
        object.__setattr__(self, "_terms", tuple(sorted(seen)))
        object.__setattr__(self, "_nvars", n)
        object.__setattr__(self, "_pruned", False)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("TropicalPolynomial is immutable")

    @classmethod
    def _raw(cls, terms: Iterable[Term], nvars: int,
             pruned: bool = False) -> "TropicalPolynomial":
        """Internal: build from already-exact (tuple, Fraction) terms."""
        self = object.__new__(cls)
        object.__setattr__(self, "_terms", tuple(sorted(set(terms))))
        object.__setattr__(self, "_nvars", nvars)
        object.__setattr__(self, "_pruned", pruned)
        return self

    # ---------------------------------------------------------- builders
    @classmethod
    def constant(cls, c: Any, nvars: int) -> "TropicalPolynomial":
        """The constant ``c`` (a single term with zero exponents).

        >>> TropicalPolynomial.constant(0, 2)([5, 7])
        Fraction(0, 1)
        """
        return cls._raw({((_ZERO,) * nvars, to_fraction(c, "constant"))}, nvars, True)

    @classmethod
    def affine(cls, a: Any, c: Any = 0) -> "TropicalPolynomial":
        """The single monomial ``a.x + c``.

        >>> print(TropicalPolynomial.affine([2, -1], 3))
        max(2*x1 - x2 + 3)
        """
        av = to_vector(a, "exponents")
        return cls._raw({(av, to_fraction(c, "constant"))}, len(av), True)

    @classmethod
    def variable(cls, i: int, nvars: int) -> "TropicalPolynomial":
        """The coordinate function ``x_{i+1}`` (0-based ``i``).

        >>> TropicalPolynomial.variable(1, 2)([5, 7])
        Fraction(7, 1)
        """
        if not 0 <= i < nvars:
            raise ShapeError(f"variable index {i} out of range 0..{nvars - 1}")
        a = tuple(_ONE if j == i else _ZERO for j in range(nvars))
        return cls._raw({(a, _ZERO)}, nvars, True)

    # ---------------------------------------------------------- structure
    @property
    def terms(self) -> tuple[Term, ...]:
        """The terms ``(a, c)`` in canonical order."""
        return self._terms

    @property
    def nvars(self) -> int:
        return self._nvars

    @property
    def is_pruned(self) -> bool:
        """True if the polynomial is known to have no redundant term."""
        return self._pruned

    def __len__(self) -> int:
        return len(self._terms)

    def __iter__(self):
        return iter(self._terms)

    def __eq__(self, other: object) -> bool:
        """Syntactic equality (same term set).  See :meth:`equals` for functions."""
        if not isinstance(other, TropicalPolynomial):
            return NotImplemented
        return self._nvars == other._nvars and self._terms == other._terms

    def __hash__(self) -> int:
        return hash((self._nvars, self._terms))

    def __repr__(self) -> str:
        return f"TropicalPolynomial({len(self)} terms, nvars={self._nvars})"

    def __str__(self) -> str:
        return self.to_str()

    def to_str(self, names: Sequence[str] | None = None) -> str:
        """Plain-text form ``max(term, ...)``."""
        names = names or _default_names(self._nvars)
        return "max(" + ", ".join(_affine_str(a, c, names) for a, c in self._terms) + ")"

    def _check_same(self, other: "TropicalPolynomial", op: str) -> None:
        if not isinstance(other, TropicalPolynomial):
            raise PolyreluError(f"{op}: expected a TropicalPolynomial, got "
                                f"{type(other).__name__}")
        if other._nvars != self._nvars:
            raise ShapeError(f"{op}: polynomials in {self._nvars} and {other._nvars} "
                             f"variables")

    # ---------------------------------------------------------- arithmetic
    def oplus(self, other: "TropicalPolynomial") -> "TropicalPolynomial":
        """Tropical sum: the pointwise maximum (union of the term sets).

        >>> p = TropicalPolynomial.variable(0, 1)
        >>> p.oplus(TropicalPolynomial.constant(0, 1))([-3])
        Fraction(0, 1)
        """
        self._check_same(other, "oplus")
        return TropicalPolynomial._raw(set(self._terms) | set(other._terms), self._nvars)

    def _with_pruned(self) -> "TropicalPolynomial":
        return TropicalPolynomial._raw(self._terms, self._nvars, True)

    def odot(self, other: "TropicalPolynomial", max_terms: int | None = None,
             prune: bool = False) -> "TropicalPolynomial":
        """Tropical product: the pointwise sum (all pairwise sums of terms).

        ``max_terms`` bounds the number of pairwise sums formed
        (:class:`~polyrelu.exceptions.LimitReached` beyond it).  ``prune=True``
        returns the pruned product, computed cell by cell (faster than
        pruning the full product).

        >>> x = TropicalPolynomial([([1], 0), ([0], 0)])   # max(x, 0)
        >>> print(x.odot(x))
        max(0, x1, 2*x1)
        """
        self._check_same(other, "odot")
        n = len(self) * len(other)
        if max_terms is not None and n > max_terms:
            raise LimitReached(f"tropical product of {len(self)} and {len(other)} terms "
                               f"would form {n} terms > max_terms={max_terms}")
        if prune:
            return _odot_pruned(self.prune(), other.prune())
        out = set()
        for a1, c1 in self._terms:
            for a2, c2 in other._terms:
                out.add((tuple(x + y for x, y in zip(a1, a2)), c1 + c2))
        return TropicalPolynomial._raw(out, self._nvars)

    def __add__(self, other: Any) -> "TropicalPolynomial":
        """``p + q`` = pointwise sum = tropical product; ``p + r`` adds a constant."""
        if isinstance(other, TropicalPolynomial):
            return self.odot(other)
        return self.add_affine((_ZERO,) * self._nvars, other)

    __radd__ = __add__

    def add_affine(self, a: Any, c: Any = 0) -> "TropicalPolynomial":
        """Add the affine function ``a.x + c`` to every term (a tropical product
        with a monomial).

        >>> print(TropicalPolynomial.variable(0, 2).add_affine([0, 1], -1))
        max(x1 + x2 - 1)
        """
        av = to_vector(a, "exponents")
        if len(av) != self._nvars:
            raise ShapeError(f"add_affine: {len(av)} exponents for a polynomial in "
                             f"{self._nvars} variables")
        cv = to_fraction(c, "constant")
        return TropicalPolynomial._raw(
            {(tuple(x + y for x, y in zip(t, av)), s + cv) for t, s in self._terms},
            self._nvars, self._pruned)

    def scale(self, r: Any) -> "TropicalPolynomial":
        """Multiply the function by a rational ``r >= 0`` (tropical power ``r``).

        ``r = 0`` gives the constant 0 (the tropical one); a negative ``r``
        would give a minimum, which is not a tropical polynomial.

        >>> print(TropicalPolynomial([([1], 0), ([0], 1)]).scale(2))
        max(2, 2*x1)
        """
        rv = to_fraction(r, "scale factor")
        if rv < 0:
            raise PolyreluError(f"scale: factor {fraction_str(rv)} < 0; a tropical "
                                f"polynomial can only be scaled by r >= 0")
        if rv == 0:
            return TropicalPolynomial.constant(0, self._nvars)
        return TropicalPolynomial._raw(
            {(tuple(rv * x for x in a), rv * c) for a, c in self._terms},
            self._nvars, self._pruned)

    def __mul__(self, r: Any) -> "TropicalPolynomial":
        return self.scale(r)

    __rmul__ = __mul__

    # ---------------------------------------------------------- evaluation
    def _values(self, x: Vec) -> list[Fraction]:
        return [sum((ai * xi for ai, xi in zip(a, x) if ai and xi), c)
                for a, c in self._terms]

    def _point(self, x: Any) -> Vec:
        xv = x if _is_frac_tuple(x) else to_vector(
            x.tolist() if hasattr(x, "tolist") else x, "point")
        if len(xv) != self._nvars:
            raise ShapeError(f"point has {len(xv)} coordinates, the polynomial has "
                             f"{self._nvars} variables")
        return xv

    def __call__(self, x: Any) -> Fraction:
        """Exact value at a rational point."""
        return max(self._values(self._point(x)))

    def argmax(self, x: Any) -> tuple[int, ...]:
        """Indices (into :attr:`terms`) of the terms attaining the maximum at ``x``.

        >>> TropicalPolynomial([([1], 0), ([0], 0)]).argmax([0])
        (0, 1)
        """
        vals = self._values(self._point(x))
        m = max(vals)
        return tuple(i for i, v in enumerate(vals) if v == m)

    def term_function(self, x: Any) -> Term:
        """The affine term active at ``x`` (the largest-index one on ties)."""
        return self._terms[self.argmax(x)[-1]]

    # ---------------------------------------------------------- pruning
    def prune(self) -> "TropicalPolynomial":
        """The same function with every never-strictly-maximal term removed (exact).

        >>> p = TropicalPolynomial([([1], 0), ([-1], 0), ([0], -1), ([1], -2)])
        >>> print(p.prune())
        max(-x1, x1)
        """
        if self._pruned:
            return self
        kept = _prune_terms(self._terms, self._nvars)
        return TropicalPolynomial._raw(set(kept), self._nvars, True)

    def witnesses(self) -> dict[Term, Vec]:
        """For each non-redundant term, a rational point where it is strictly
        larger than every other term (the redundant terms are absent).

        >>> w = TropicalPolynomial([([1], 0), ([-1], 0), ([0], -1)]).witnesses()
        >>> sorted(w) == [((Fraction(-1),), Fraction(0)), ((Fraction(1),), Fraction(0))]
        True
        """
        return {t: w for t, w in _prune_terms(self._terms, self._nvars,
                                               witnesses=True).items() if w is not None}

    def equals(self, other: "TropicalPolynomial") -> bool:
        """Equality as functions (the pruned forms are canonical).

        >>> p = TropicalPolynomial([([1], 0), ([0], 0)])
        >>> p.equals(p.oplus(TropicalPolynomial.constant(-1, 1)))
        True
        """
        self._check_same(other, "equals")
        return self.prune()._terms == other.prune()._terms

    # ---------------------------------------------------------- export
    def to_sympy(self, symbols: Sequence[Any] | None = None):
        """``sympy.Max`` of affine expressions with ``Rational`` coefficients.

        >>> TropicalPolynomial([([1, 0], 0), ([0, 1], "1/2")]).to_sympy()
        Max(x1, x2 + 1/2)
        """
        import sympy

        syms = _sympy_symbols(self._nvars, symbols)
        exprs = [sum((sympy.Rational(ai.numerator, ai.denominator) * s
                      for ai, s in zip(a, syms) if ai), sympy.Rational(c.numerator,
                                                                       c.denominator))
                 for a, c in self._terms]
        return sympy.Max(*exprs)

    def to_latex(self, names: Sequence[str] | None = None, notation: str = "max") -> str:
        r"""LaTeX: ``notation="max"`` gives ``\max\left(...\right)`` of affine
        terms; ``notation="tropical"`` gives ``c \odot x_{1}^{\odot a_1} ...``
        joined by ``\oplus`` (exponents are the rational slopes).

        >>> p = TropicalPolynomial([([2, 0], 0), ([0, -1], "1/2")])
        >>> p.to_latex()
        '\\max\\left(-x_{2} + \\tfrac{1}{2},\\; 2 x_{1}\\right)'
        >>> p.to_latex(notation="tropical")
        '\\tfrac{1}{2} \\odot x_{2}^{\\odot -1} \\oplus x_{1}^{\\odot 2}'
        """
        names = names or _default_names(self._nvars, latex=True)
        if notation == "max":
            return ("\\max\\left(" + ",\\; ".join(_affine_latex(a, c, names)
                                                   for a, c in self._terms) + "\\right)")
        if notation == "tropical":
            monos = []
            for a, c in self._terms:
                factors = [] if c == 0 else [_latex_frac(c)]
                for ai, n in zip(a, names):
                    if ai == 1:
                        factors.append(n)
                    elif ai != 0:
                        factors.append(f"{n}^{{\\odot {_latex_frac(ai)}}}")
                monos.append(" \\odot ".join(factors) if factors else "0")
            return " \\oplus ".join(monos)
        raise PolyreluError(f"to_latex: notation must be 'max' or 'tropical', "
                            f"not {notation!r}")


def _is_frac_tuple(v: Any) -> bool:
    return type(v) is tuple and all(type(x) is Fraction for x in v)


def _sympy_symbols(n: int, symbols: Sequence[Any] | None):
    import sympy

    if symbols is None:
        return sympy.symbols(f"x1:{n + 1}") if n else ()
    syms = tuple(sympy.Symbol(s) if isinstance(s, str) else s for s in symbols)
    if len(syms) != n:
        raise ShapeError(f"{len(syms)} symbols for {n} variables")
    return syms


def tropical_sum(*polys: TropicalPolynomial) -> TropicalPolynomial:
    """``p1 (+) p2 (+) ...``: the pointwise maximum.

    >>> x = TropicalPolynomial.variable(0, 1)
    >>> tropical_sum(x, x * 2, TropicalPolynomial.constant(1, 1))([3])
    Fraction(6, 1)
    """
    if not polys:
        raise PolyreluError("tropical_sum: at least one polynomial is required")
    out = polys[0]
    for p in polys[1:]:
        out = out.oplus(p)
    return out


def tropical_product(*polys: TropicalPolynomial, prune: bool = False,
                     max_terms: int | None = None) -> TropicalPolynomial:
    """``p1 (.) p2 (.) ...``: the pointwise sum; ``prune`` prunes after each step
    (valid: the non-redundant terms of a product are sums of non-redundant
    terms of the factors).

    >>> x = TropicalPolynomial([([1], 0), ([0], 0)])
    >>> len(tropical_product(x, x, x)), len(tropical_product(x, x, x, prune=True))
    (4, 2)
    """
    if not polys:
        raise PolyreluError("tropical_product: at least one polynomial is required")
    out = polys[0].prune() if prune else polys[0]
    for p in polys[1:]:
        out = out.odot(p.prune() if prune else p, max_terms=max_terms)
        if prune:
            out = out.prune()
    return out


# --------------------------------------------------------------- pruning core

def _sample_points(nvars: int, count: int, seed: int) -> list[Vec]:
    """Deterministic rational sample points at several scales (exact values)."""
    rng = random.Random(seed)
    pts: list[Vec] = [tuple(_ZERO for _ in range(nvars))]
    for k in range(count):
        scale = (1, 4, 64, 4096)[k % 4]
        pts.append(tuple(Fraction(rng.randint(-997, 997), 997) * scale
                         for _ in range(nvars)))
    return pts


def _prune_terms(terms: Sequence[Term], nvars: int, *, sample: bool = True,
                 hull_1d: bool = True, method: str = "simplex",
                 witnesses: bool = False) -> dict[Term, Vec | None]:
    """Non-redundant terms of ``max(terms)`` -> a strict-maximality witness.

    Term t is redundant iff the lifted point ``(a_t, c_t)`` lies in
    ``conv{(a_s, c_s) : s != t} + cone{(0, -1)}``, i.e. iff some
    ``lambda >= 0``, ``sum lambda = 1`` has ``sum lambda_s a_s = a_t`` and
    ``sum lambda_s c_s >= c_t`` (then ``t <= sum lambda_s s <= max_s s``
    everywhere; otherwise Farkas gives a point where t is strictly maximal).
    ``method="simplex"`` decides this with an exact phase-1 simplex
    (:func:`_redundant`); ``method="polyhedron"`` asks whether the cell
    ``{x : t(x) >= s(x) for all s}`` is full-dimensional through
    :class:`~polyrelu.polyhedron.Polyhedron` (independent; used by the tests).
    The witness is None unless found by sampling or ``witnesses=True``.
    """
    # Equal exponents: only the largest constant can ever be maximal.
    best: dict[Vec, Fraction] = {}
    for a, c in terms:
        if a not in best or c > best[a]:
            best[a] = c
    cand = [(a, c) for a, c in best.items()]
    if len(cand) == 1:
        return {cand[0]: tuple(_ZERO for _ in range(nvars))}
    out: dict[Term, Vec | None] = {}
    # 1) exact evaluation at sample points: a unique argmax is a witness.
    npts = min(64, 8 + 2 * len(cand)) if sample else 0
    for x in _sample_points(nvars, npts, seed=len(cand) * 7919 + nvars) if sample else ():
        vals = [sum((ai * xi for ai, xi in zip(a, x) if ai and xi), c) for a, c in cand]
        m = max(vals)
        idx = [i for i, v in enumerate(vals) if v == m]
        if len(idx) == 1 and cand[idx[0]] not in out:
            out[cand[idx[0]]] = x
    if nvars == 1 and hull_1d:
        return _prune_1d(cand, out)
    if method not in ("simplex", "polyhedron"):
        raise PolyreluError(f"prune: unknown method {method!r}")
    # 2) exact decision for the undecided terms.  Removing a redundant term
    #    does not change the hull, so later tests use the smaller set.
    alive = list(cand)
    for t in cand:
        if t in out:
            continue
        others = [s for s in alive if s != t]
        if method == "simplex":
            if _redundant(t, others):
                alive.remove(t)
            else:
                out[t] = None
        else:
            w = _cell_witness(t, others)
            if w is None:
                alive.remove(t)
            else:
                out[t] = w
    if witnesses:
        for t in out:
            if out[t] is None:
                out[t] = _cell_witness(t, [s for s in cand if s != t])
                if out[t] is None:  # pragma: no cover - would contradict Farkas
                    raise PolyreluError("prune: simplex and polyhedron disagree on a "
                                        "term's redundancy")
    return out


def _cell_witness(t: Term, others: Sequence[Term]) -> Vec | None:
    """An interior point of ``{x : t(x) >= s(x) for all s in others}``, or None
    if that cell is not full-dimensional (exact, through Polyhedron)."""
    from .polyhedron import Polyhedron

    at, ct = t
    A = [tuple(x - y for x, y in zip(a, at)) for a, c in others]
    b = [ct - c for a, c in others]
    P = Polyhedron.from_inequalities(A, b, ambient_dim=len(at))
    if not P.is_full_dimensional():
        return None
    return P.interior_point()


def _q(v: Any):
    """Lossless Fraction -> gmpy2 mpq (mpq passes through)."""
    if type(v) is Fraction:
        return _mpq(v.numerator, v.denominator)
    return _mpq(v)


def _redundant(t: Term, others: Sequence[Term]) -> bool:
    """Is term t never strictly maximal among ``others``?  (See
    :func:`_prune_terms`.)"""
    at, ct = t
    return _no_strict_point([tuple(x - y for x, y in zip(a, at)) for a, _ in others],
                            [ct - c for _, c in others])


def _no_strict_point(A: Sequence[Vec], b: Sequence[Fraction]) -> bool:
    """True iff ``A x < b`` (strictly, every row) has no solution.

    Motzkin's transposition theorem: no strict solution iff some ``y >= 0``
    with ``sum y = 1`` has ``y A = 0`` and ``y . b <= 0``.  Decided by an exact
    phase-1 simplex in gmpy2 ``mpq`` (Dantzig's rule, switching to Bland's
    rule after a run of degenerate pivots, so it terminates).
    """
    m = len(A)
    if m == 0:
        return False
    d = len(A[0])
    one, zero = _Q1, _Q0
    Aq = [[_q(v) for v in row] for row in A]
    bq = [_q(v) for v in b]
    ncols = m + 1  # y_1..y_m and a slack for y . b + slack = 0
    r = d + 2
    # rows: y A = 0 (d rows), sum y = 1, -y.b - slack = 0; artificials after
    tab = [[row[i] for row in Aq] + [zero] for i in range(d)]
    tab.append([one] * m + [zero])
    tab.append([-v for v in bq] + [-one])
    rhs = [zero] * d + [one, zero]
    for i in range(r):
        tab[i].extend(one if k == i else zero for k in range(r))
        tab[i].append(rhs[i])
    basis = [ncols + i for i in range(r)]
    total = ncols + r
    # minimise the sum of the artificials: reduced costs start at -column sums
    obj = [-(sum(Aq[k], zero) + one - bq[k]) for k in range(m)] + [one]
    obj += [zero] * r
    obj.append(-one)
    # Dantzig's rule (most negative reduced cost) while it makes progress; after
    # 20 consecutive degenerate pivots switch to Bland's rule for good, which
    # cannot cycle.  A zero artificial sum means feasible: stop at once.
    bland = False
    stall = 0
    while obj[-1] != 0:
        if bland:
            enter = next((j for j in range(total) if obj[j] < 0), -1)
        else:
            enter = min(range(total), key=obj.__getitem__)
            if obj[enter] >= 0:
                enter = -1
        if enter < 0:
            break
        best_i, best_ratio = -1, None
        for i in range(r):
            a = tab[i][enter]
            if a > 0:
                ratio = tab[i][-1] / a
                if (best_ratio is None or ratio < best_ratio
                        or (ratio == best_ratio and basis[i] < basis[best_i])):
                    best_i, best_ratio = i, ratio
        if best_i < 0:  # pragma: no cover - phase 1 is bounded below by 0
            break
        piv = tab[best_i][enter]
        prow = [v / piv for v in tab[best_i]]
        tab[best_i] = prow
        for i in range(r):
            if i != best_i and tab[i][enter]:
                f = tab[i][enter]
                tab[i] = [v - f * w for v, w in zip(tab[i], prow)]
        if obj[enter]:
            f = obj[enter]
            obj = [v - f * w for v, w in zip(obj, prow)]
        basis[best_i] = enter
        if best_ratio == 0:
            stall += 1
            bland = bland or stall > 20
        else:
            stall = 0
    # the optimum of the artificial sum is -obj[-1]: feasible iff it is 0
    return obj[-1] == 0


def _odot_pruned(P: "TropicalPolynomial", Q: "TropicalPolynomial") -> "TropicalPolynomial":
    """Pruned tropical product of two pruned polynomials.

    A term ``p_i + q_j`` of ``P (.) Q`` is strictly maximal at x iff ``p_i`` is
    strictly maximal in P and ``q_j`` in Q at x (a tie in either factor gives a
    tie in the product), so it is kept iff the cells ``C_i(P)`` and ``C_j(Q)``
    meet in a full-dimensional set -- an LP with ``|P| + |Q|`` rows instead of
    ``|P| |Q|``.
    """
    n = P.nvars
    pt, qt = P.terms, Q.terms
    if len(pt) == 1 or len(qt) == 1:
        return P.odot(Q)._with_pruned()
    keep: set = set()
    done: set = set()
    for x in _sample_points(n, min(64, 8 + 2 * (len(pt) + len(qt))),
                            seed=len(pt) * 31 + len(qt)):
        pv = P._values(x)
        qv = Q._values(x)
        mp, mq = max(pv), max(qv)
        ip = [i for i, v in enumerate(pv) if v == mp]
        iq = [j for j, v in enumerate(qv) if v == mq]
        if len(ip) == 1 and len(iq) == 1:
            done.add((ip[0], iq[0]))
    def cell_rows(terms, i):
        # the cell of term i: (a_k - a_i) x < c_i - c_k for k != i, in mpq
        a_i, c_i = terms[i]
        return ([[_q(x - y) for x, y in zip(a, a_i)] for k, (a, c) in enumerate(terms)
                 if k != i], [_q(c_i - c) for k, (a, c) in enumerate(terms) if k != i])
    prow = [cell_rows(pt, i) for i in range(len(pt))]
    qrow = [cell_rows(qt, j) for j in range(len(qt))]
    for i, (a1, c1) in enumerate(pt):
        for j, (a2, c2) in enumerate(qt):
            term = (tuple(x + y for x, y in zip(a1, a2)), c1 + c2)
            if term in keep:
                continue
            if (i, j) in done or not _no_strict_point(prow[i][0] + qrow[j][0],
                                                      prow[i][1] + qrow[j][1]):
                keep.add(term)
    return TropicalPolynomial._raw(keep, n, True)


def _prune_1d(cand: list[Term], found: dict[Term, Vec | None]) -> dict[Term, Vec | None]:
    """One variable: the non-redundant terms are the upper-hull vertices of the
    points (a, c); witnesses lie between consecutive breakpoints (exact)."""
    pts = sorted((a[0], c) for a, c in cand)  # distinct slopes, increasing
    hull: list[tuple[Fraction, Fraction]] = []
    for p in pts:
        # pop while the last hull point is not strictly above the segment
        while len(hull) >= 2:
            (a1, c1), (a2, c2) = hull[-2], hull[-1]
            # middle point redundant iff (c2-c1)/(a2-a1) <= (p.c-c2)/(p.a-a2)
            if (c2 - c1) * (p[0] - a2) <= (p[1] - c2) * (a2 - a1):
                hull.pop()
            else:
                break
        hull.append(p)
    out: dict[Term, Vec | None] = {}
    # breakpoint between hull[i] and hull[i+1]: x = -(c_{i+1}-c_i)/(a_{i+1}-a_i)
    bps = [-(hull[i + 1][1] - hull[i][1]) / (hull[i + 1][0] - hull[i][0])
           for i in range(len(hull) - 1)]
    for i, (a, c) in enumerate(hull):
        key = ((a,), c)
        if key in found:
            out[key] = found[key]
            continue
        if not bps:
            x = _ZERO
        elif i == 0:
            x = bps[0] - 1
        elif i == len(hull) - 1:
            x = bps[-1] + 1
        else:
            x = (bps[i - 1] + bps[i]) / 2
        out[key] = (x,)
    return out


# ---------------------------------------------------------------------------
# tropical rational functions
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TropicalRational:
    """``F (/) G``: the function ``F(x) - G(x)`` of two tropical polynomials.

    Arithmetic stays in the class: ``+``, ``-``, multiplication by any rational
    (a negative factor swaps the roles of F and G), :meth:`maximum` and
    :meth:`relu` (Zhang et al. Prop. 5.1: ``max(F - G, 0) = max(F, G) - G``).

    >>> x = TropicalRational.affine([1, 0])
    >>> y = TropicalRational.affine([0, 1])
    >>> r = (x - y).relu()
    >>> r([3, 5]), r([5, 3])
    (Fraction(0, 1), Fraction(2, 1))
    >>> print(r)
    max(x2, x1) (/) max(x2)
    """

    F: TropicalPolynomial
    G: TropicalPolynomial

    def __post_init__(self) -> None:
        if not isinstance(self.F, TropicalPolynomial) or not isinstance(
                self.G, TropicalPolynomial):
            raise PolyreluError("TropicalRational needs two TropicalPolynomials")
        if self.F.nvars != self.G.nvars:
            raise ShapeError(f"TropicalRational: numerator in {self.F.nvars} and "
                             f"denominator in {self.G.nvars} variables")

    @classmethod
    def affine(cls, a: Any, c: Any = 0) -> "TropicalRational":
        """The affine function ``a.x + c`` as ``(a.x + c) (/) 0``."""
        F = TropicalPolynomial.affine(a, c)
        return cls(F, TropicalPolynomial.constant(0, F.nvars))

    @classmethod
    def constant(cls, c: Any, nvars: int) -> "TropicalRational":
        return cls(TropicalPolynomial.constant(c, nvars),
                   TropicalPolynomial.constant(0, nvars))

    @property
    def nvars(self) -> int:
        return self.F.nvars

    def __call__(self, x: Any) -> Fraction:
        """Exact value ``F(x) - G(x)``."""
        xv = self.F._point(x)
        return self.F(xv) - self.G(xv)

    def __str__(self) -> str:
        return f"{self.F} (/) {self.G}"

    def to_str(self, names: Sequence[str] | None = None) -> str:
        return f"{self.F.to_str(names)} (/) {self.G.to_str(names)}"

    def _other(self, other: Any, op: str) -> "TropicalRational":
        if isinstance(other, TropicalRational):
            if other.nvars != self.nvars:
                raise ShapeError(f"{op}: functions of {self.nvars} and {other.nvars} "
                                 f"variables")
            return other
        if isinstance(other, TropicalPolynomial):
            return TropicalRational(other, TropicalPolynomial.constant(0, other.nvars))
        return TropicalRational.constant(other, self.nvars)

    def add(self, other: Any, prune: bool = False,
            max_terms: int | None = None) -> "TropicalRational":
        """``self + other``; ``prune=True`` prunes the two products (exact)."""
        o = self._other(other, "+")
        return TropicalRational(self.F.odot(o.F, max_terms, prune),
                                self.G.odot(o.G, max_terms, prune))

    def __add__(self, other: Any) -> "TropicalRational":
        return self.add(other)

    __radd__ = __add__

    def __neg__(self) -> "TropicalRational":
        return TropicalRational(self.G, self.F)

    def __sub__(self, other: Any) -> "TropicalRational":
        return self + (-self._other(other, "-"))

    def __rsub__(self, other: Any) -> "TropicalRational":
        return self._other(other, "-") + (-self)

    def __mul__(self, r: Any) -> "TropicalRational":
        rv = to_fraction(r, "scale factor")
        if rv >= 0:
            return TropicalRational(self.F.scale(rv), self.G.scale(rv))
        return TropicalRational(self.G.scale(-rv), self.F.scale(-rv))

    __rmul__ = __mul__

    def maximum(self, other: Any) -> "TropicalRational":
        """Pointwise ``max(self, other)``:
        ``max(F1 - G1, F2 - G2) = max(F1 + G2, F2 + G1) - (G1 + G2)``.

        >>> x = TropicalRational.affine([1])
        >>> x.maximum(-x)([-3])
        Fraction(3, 1)
        """
        o = self._other(other, "maximum")
        return TropicalRational((self.F + o.G).oplus(o.F + self.G), self.G + o.G)

    def relu(self, prune: bool = False) -> "TropicalRational":
        """``max(F - G, 0) = max(F, G) (/) G`` (Zhang et al. Prop. 5.1)."""
        F = self.F.oplus(self.G)
        return TropicalRational(F.prune() if prune else F, self.G)

    def prune(self) -> "TropicalRational":
        """Prune numerator and denominator (the value is unchanged)."""
        return TropicalRational(self.F.prune(), self.G.prune())

    def to_sympy(self, symbols: Sequence[Any] | None = None):
        """``Max(...) - Max(...)`` in sympy, exact Rational coefficients."""
        return self.F.to_sympy(symbols) - self.G.to_sympy(symbols)

    def to_latex(self, names: Sequence[str] | None = None, notation: str = "max") -> str:
        r"""``F - G`` (``notation="max"``) or ``F \oslash G`` (``"tropical"``)."""
        f = self.F.to_latex(names, notation)
        g = self.G.to_latex(names, notation)
        if notation == "tropical":
            return f"\\left({f}\\right) \\oslash \\left({g}\\right)"
        return f"{f} - {g}"


# ---------------------------------------------------------------------------
# J&V Prop. 2.1 / eq. 14 on one pattern
# ---------------------------------------------------------------------------


def _zeros(r: int, c: int) -> Mat:
    return tuple((_ZERO,) * c for _ in range(r))


def _madd(*Ms: Mat) -> Mat:
    return tuple(tuple(sum(vals, _ZERO) for vals in zip(*rows)) for rows in zip(*Ms))


def _msub(A: Mat, B: Mat) -> Mat:
    return tuple(tuple(x - y for x, y in zip(r, s)) for r, s in zip(A, B))


def _vadd(*vs: Vec) -> Vec:
    return tuple(sum(vals, _ZERO) for vals in zip(*vs))


def _vsub(a: Vec, b: Vec) -> Vec:
    return tuple(x - y for x, y in zip(a, b))


def _mm(A: Mat, B: Mat) -> Mat:
    from .linalg import matmul

    if not A:
        return ()
    return matmul(A, B)


def _mv(A: Mat, v: Vec) -> Vec:
    from .linalg import matvec

    return matvec(A, v)


def _split(W: Mat) -> tuple[Mat, Mat]:
    """``W = W+ - W-`` with both parts entrywise non-negative (J&V eq. 2)."""
    Wp = tuple(tuple(w if w > 0 else _ZERO for w in row) for row in W)
    Wm = tuple(tuple(-w if w < 0 else _ZERO for w in row) for row in W)
    return Wp, Wm


@dataclass(frozen=True)
class LayerFGH:
    """The affine pieces of F, G, H of one layer on a pattern's region
    (J&V eqs. 11-14): ``F(x) = F_A x + f_b`` etc.

    Attributes
    ----------
    layer : int
        1..L (L = the output layer, which has no activation: F is None).
    bits : tuple of int or None
        The layer's pattern (our convention, 1 = active); None for the output.
    F_A, f_b, G_A, g_b, H_A, h_b : tuple
        Exact matrices / vectors (``F_A``/``f_b`` None for the output layer).
    """

    layer: int
    bits: tuple[int, ...] | None
    F_A: Mat | None
    f_b: Vec | None
    G_A: Mat
    g_b: Vec
    H_A: Mat
    h_b: Vec

    @property
    def pre_activation(self) -> tuple[Mat, Vec]:
        """The pre-activation map ``z_l = M x + c`` on the region, as
        ``(H_A - G_A, h_b - g_b)`` (J&V eqs. 33-35)."""
        return _msub(self.H_A, self.G_A), _vsub(self.h_b, self.g_b)

    @property
    def post_activation(self) -> tuple[Mat, Vec] | None:
        """The post-activation map ``nu_l = F - G`` on the region, as
        ``(F_A - G_A, f_b - g_b)`` (eq. 5)."""
        if self.F_A is None or self.f_b is None:
            return None
        return _msub(self.F_A, self.G_A), _vsub(self.f_b, self.g_b)

    @property
    def paper_signs(self) -> tuple[int, ...] | None:
        """J&V's ``v_l`` for this layer (+1 = inactive)."""
        return None if self.bits is None else tuple(1 - 2 * b for b in self.bits)


def _check_relu(net: Network, what: str) -> None:
    if not isinstance(net, Network):
        raise NetworkError(f"{what}: expected a Network, got {type(net).__name__}")
    if net.activation != "relu":
        raise NetworkError(f"{what}: the F/G/H recurrence of J&V Prop. 2.1 is for ReLU "
                           f"networks, this one uses {net.activation} (tropical_form "
                           f"supports leaky_relu and hard_tanh)")


def _check_full_pattern(net: Network, pattern: Any, what: str) -> tuple:
    n = len(net.hidden_widths)
    try:
        ln = len(pattern)
    except TypeError:
        raise NetworkError(f"{what}: a pattern is a sequence of per-layer sequences "
                           f"of ints") from None
    if ln != n:
        raise ShapeError(f"{what}: pattern has {ln} layers, the network has {n} hidden "
                         f"layers ({net.architecture})")
    return net.check_pattern(pattern)


def fgh_recurrence(net: Network, pattern: Sequence[Sequence[int]],
                   skip_form: str = "paper") -> tuple[LayerFGH, ...]:
    """J&V Prop. 2.1 / eq. 14 along one activation pattern, exactly.

    Initial values (J&V eqs. 15-16): ``F_A = H_A = I``, ``G_A = 0``,
    ``f_b = g_b = h_b = 0``.  For each layer, with ``W = W+ - W-``::

        G_A' = W+ G_A + W- F_A      g_b' = W+ g_b + W- f_b
        H_A' = W+ F_A + W- G_A      h_b' = W+ f_b + W- g_b + b

    and ``F`` takes the H row where the bit is 1 (active) and the G row where
    it is 0.  Skips ``k -> l``: ``skip_form="paper"`` adds
    ``W- sum_k (F_k - G_k)`` to G and ``W+ sum_k (F_k - G_k)`` to H (J&V eqs.
    51-54); ``skip_form="polynomial"`` adds ``sum_k F_k`` to F and ``sum_k G_k``
    to G of the input first (the form :func:`tropical_layers` uses).  Either
    way ``H - G`` is the pre-activation map.

    Parameters
    ----------
    net : Network
        A ReLU network.
    pattern : sequence of sequence of int
        One tuple of bits per hidden layer (1 = active).
    skip_form : {"paper", "polynomial"}

    Returns
    -------
    tuple of LayerFGH
        Layers 1..L.

    Examples
    --------
    >>> net = Network.from_weights([([[1, -1], [1, 1]], [0, -1]), ([[1, 2]], ["1/2"])])
    >>> rec = fgh_recurrence(net, ((1, 0),))
    >>> [[str(v) for v in row] for row in rec[0].G_A]     # W- x
    [['0', '1'], ['0', '0']]
    >>> [[str(v) for v in row] for row in rec[0].H_A]     # W+ x
    [['1', '0'], ['1', '1']]
    >>> rec[-1].pre_activation == net.layer_maps(((1, 0),))[-1]
    True
    """
    _check_relu(net, "fgh_recurrence")
    pat = _check_full_pattern(net, pattern, "fgh_recurrence")
    if skip_form not in ("paper", "polynomial"):
        raise PolyreluError(f"fgh_recurrence: skip_form must be 'paper' or "
                            f"'polynomial', not {skip_form!r}")
    d0 = net.input_dim
    # (F_A, f_b, G_A, g_b) of layers 0..l-1 (J&V eqs. 15-16 for layer 0:
    # F_0 = x, G_0 = 0); with an input map nu_0 = A t + a, F_0 = A t + a
    A0, a0 = net.input_affine
    n0 = len(A0)
    hist: list[tuple[Mat, Vec, Mat, Vec]] = [(A0, a0, _zeros(n0, d0), (_ZERO,) * n0)]
    skips = net.skip_sources
    L = net.num_layers
    out = []
    for l, layer in enumerate(net.layers, start=1):
        Wp, Wm = _split(layer.W)
        FA, fb, GA, gb = hist[l - 1]
        srcs = skips.get(l, ())
        if srcs and skip_form == "polynomial":
            FA = _madd(FA, *(hist[k][0] for k in srcs))
            fb = _vadd(fb, *(hist[k][1] for k in srcs))
            GA = _madd(GA, *(hist[k][2] for k in srcs))
            gb = _vadd(gb, *(hist[k][3] for k in srcs))
        G_A = _madd(_mm(Wp, GA), _mm(Wm, FA))
        g_b = _vadd(_mv(Wp, gb), _mv(Wm, fb))
        H_A = _madd(_mm(Wp, FA), _mm(Wm, GA))
        h_b = _vadd(_mv(Wp, fb), _mv(Wm, gb), layer.b)
        if srcs and skip_form == "paper":
            # J&V eqs. 51-54: W-/W+ times sum_k (F_k - G_k)
            DA = _madd(*(_msub(hist[k][0], hist[k][2]) for k in srcs))
            db = _vadd(*(_vsub(hist[k][1], hist[k][3]) for k in srcs))
            G_A = _madd(G_A, _mm(Wm, DA))
            g_b = _vadd(g_b, _mv(Wm, db))
            H_A = _madd(H_A, _mm(Wp, DA))
            h_b = _vadd(h_b, _mv(Wp, db))
        if l == L:
            out.append(LayerFGH(l, None, None, None, G_A, g_b, H_A, h_b))
            break
        bits = pat[l - 1]
        # J&V Alg. 1 lines 13-20: v = +1 (our bit 0) takes G, v = -1 takes H.
        F_A = tuple(H_A[i] if bit else G_A[i] for i, bit in enumerate(bits))
        f_b = tuple(h_b[i] if bit else g_b[i] for i, bit in enumerate(bits))
        hist.append((F_A, f_b, G_A, g_b))
        out.append(LayerFGH(l, bits, F_A, f_b, G_A, g_b, H_A, h_b))
    return tuple(out)


def region_inequalities(net: Network, pattern: Sequence[Sequence[int]],
                        skip_form: str = "paper") -> tuple[tuple[Mat, Vec], ...]:
    """J&V Theorem 2.2: per hidden layer, ``(A, b)`` with the pattern's region
    ``= {x : A_l x <= b_l for every hidden layer l}``.

    Row i of layer l is ``v_i (H_A - G_A)_i x <= -v_i (h_b - g_b)_i`` with J&V's
    ``v = 1 - 2 * bit`` (+1 = inactive); i.e. ``z_i <= 0`` for bit 0 and
    ``-z_i <= 0`` for bit 1 (our bit 1 = active).  Rows are not minimised
    (use :func:`region_polyhedron` for the polyhedron).

    >>> net = Network.from_weights([([[1, -1], [1, 1]], [0, -1]), ([[1, 2]], ["1/2"])])
    >>> A, b = region_inequalities(net, ((1, 0),))[0]    # -(x1 - x2) <= 0, x1 + x2 <= 1
    >>> [[str(v) for v in row] for row in A], [str(v) for v in b]
    ([['-1', '1'], ['1', '1']], ['0', '1'])
    """
    recs = fgh_recurrence(net, pattern, skip_form)
    out = []
    for rec in recs[:-1]:
        M, c = rec.pre_activation
        assert rec.bits is not None  # hidden layers carry their bits
        A: list[Vec] = []
        b: list[Fraction] = []
        for row, ci, bit in zip(M, c, rec.bits):
            v = 1 - 2 * bit  # J&V sign
            A.append(tuple(v * m for m in row))
            b.append(-v * ci)
        out.append((tuple(A), tuple(b)))
    return tuple(out)


def region_polyhedron(net: Network, pattern: Sequence[Sequence[int]], domain: Any = None):
    """The closed region of ``pattern`` (J&V (17)) as a
    :class:`~polyrelu.polyhedron.Polyhedron`, intersected with ``domain``.

    >>> net = Network.from_weights([([[1, -1], [1, 1]], [0, -1]), ([[1, 2]], ["1/2"])])
    >>> region_polyhedron(net, ((1, 0),)).contains([0, 0])
    True
    """
    from .domains import as_domain
    from .polyhedron import Polyhedron

    A: list[Vec] = []
    b: list[Fraction] = []
    for Al, bl in region_inequalities(net, pattern):
        A.extend(Al)
        b.extend(bl)
    P = Polyhedron.from_inequalities(A, b, ambient_dim=net.input_dim)
    domain = as_domain(domain, net.input_dim, full_dimensional=False)
    if domain is not None:
        P = P.intersect(domain)
    return P


def paper_signs(pattern: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    """Our bits (1 = active) -> J&V's ``v`` (+1 = inactive, -1 = active).

    >>> paper_signs(((1, 0),))
    ((-1, 1),)
    """
    out = []
    for l, layer in enumerate(pattern, start=1):
        row = []
        for b in layer:
            if b not in (0, 1):
                raise NetworkError(f"paper_signs: layer {l}: bit {b!r} is not 0 or 1")
            row.append(1 - 2 * int(b))
        out.append(tuple(row))
    return tuple(out)


def pattern_from_signs(signs: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    """J&V's ``v`` (+1 = inactive) -> our bits (1 = active).

    >>> pattern_from_signs(([1, 1], [1, -1]))
    ((0, 0), (0, 1))
    """
    out = []
    for l, layer in enumerate(signs, start=1):
        row = []
        for v in layer:
            if v not in (1, -1):
                raise NetworkError(f"pattern_from_signs: layer {l}: sign {v!r} is "
                                   f"not +1 or -1")
            row.append((1 - int(v)) // 2)
        out.append(tuple(row))
    return tuple(out)


# ---------------------------------------------------------------------------
# the whole network as tropical rational functions (Zhang et al. Prop. 5.1)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TropicalLayer:
    """F, G, H of one layer as tuples of TropicalPolynomials (one per neuron).

    ``H - G`` is the pre-activation, ``F - G`` the post-activation (``F`` is
    None for the output layer, whose value is ``H - G``).
    """

    layer: int
    F: tuple[TropicalPolynomial, ...] | None
    G: tuple[TropicalPolynomial, ...]
    H: tuple[TropicalPolynomial, ...]

    def num_terms(self) -> int:
        """Total number of terms in F, G and H of the layer."""
        return sum(len(p) for p in (self.F or ()) + self.G + self.H)


def _check_deadline(deadline: float | None, where: str) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise LimitReached(f"tropical_form: time_limit reached at {where}; the tropical "
                           f"form is all-or-nothing, so no partial result is returned")


def _linear_combination(weights: Sequence[Fraction], polys: Sequence[TropicalPolynomial],
                        nvars: int, prune: bool, max_terms: int, where: str,
                        deadline: float | None = None) -> TropicalPolynomial:
    """``sum_j w_j P_j`` for ``w_j >= 0`` (a tropical product of tropical powers)."""
    acc = TropicalPolynomial.constant(0, nvars)
    for w, P in zip(weights, polys):
        if w == 0:
            continue
        _check_deadline(deadline, where)
        n = len(acc) * len(P)
        if n > max_terms:
            raise LimitReached(f"tropical_form: {where}: a product would have {n} terms "
                               f"> max_terms={max_terms}; the tropical form of this "
                               f"network is too large (use a smaller network or raise "
                               f"max_terms)")
        acc = acc.odot(P.scale(w), prune=prune)
    return acc


def tropical_layers(net: Network, prune: bool = True,
                    max_terms: int = 20000,
                    time_limit: float | None = None) -> tuple[TropicalLayer, ...]:
    """F, G, H of every layer as tropical polynomials in the input.

    Zhang et al. Prop. 5.1 / J&V eqs. 8-10 with the layer input
    ``u = F_u (/) G_u``, ``F_u = F_{l-1} + sum_k F_k``, ``G_u = G_{l-1} +
    sum_k G_k`` over skips ``k -> l`` (the polynomial form of J&V eqs. 48-50)::

        H_l = W+ F_u + W- G_u + b,  G_l = W- F_u + W+ G_u,  F_l = max(H_l, G_l)

    Leaky ReLU and hard tanh are handled through TropicalRational arithmetic:
    ``leaky(z) = (1 - alpha) relu(z) + alpha z`` and
    ``hardtanh(z) = relu(z + 1) - relu(z - 1) - 1``.

    Parameters
    ----------
    prune : bool
        Prune never-maximal terms after every product (exact; recommended).
    max_terms : int
        Largest number of terms any intermediate polynomial may have before
        pruning; beyond it :class:`~polyrelu.exceptions.LimitReached`.
    time_limit : float, optional
        Seconds; beyond it :class:`~polyrelu.exceptions.LimitReached` (a
        partial tropical form would be meaningless, so nothing is returned).

    Examples
    --------
    >>> net = Network.from_weights([([[1], [-1]], [0, 0]), ([[1, 1]], [0])])
    >>> [len(p) for p in tropical_layers(net)[-1].H]   # |x| = max(x, -x) - 0
    [2]
    """
    if not isinstance(net, Network):
        raise NetworkError(f"tropical_layers: expected a Network, got "
                           f"{type(net).__name__}")
    if not isinstance(max_terms, int) or max_terms < 1:
        raise PolyreluError(f"tropical_layers: max_terms must be a positive int, "
                            f"got {max_terms!r}")
    deadline = None
    if time_limit is not None:
        try:
            seconds = float(time_limit)
        except (TypeError, ValueError):
            seconds = float("nan")
        if seconds != seconds:  # NaN: not a number of seconds
            raise PolyreluError(f"tropical_layers: time_limit must be a number of "
                                f"seconds, got {time_limit!r}")
        deadline = time.monotonic() + seconds
    d0 = net.input_dim
    zero = TropicalPolynomial.constant(0, d0)
    # (F, G) of nu_0 = x: F_0 = x_i, G_0 = 0 (J&V eq. 15); with an input map
    # nu_0 = A t + a each F_0,i is the single monomial A_i . t + a_i
    A0, a0 = net.input_affine
    hist: list[tuple[tuple, tuple]] = [
        (tuple(TropicalPolynomial.affine(r, c) for r, c in zip(A0, a0)), (zero,) * len(A0))]
    skips = net.skip_sources
    L = net.num_layers
    out = []
    for l, layer in enumerate(net.layers, start=1):
        Fu, Gu = hist[l - 1]
        for k in skips.get(l, ()):
            Fk, Gk = hist[k]
            Fu = tuple(a.odot(b, max_terms, prune) for a, b in zip(Fu, Fk))
            Gu = tuple(a.odot(b, max_terms, prune) for a, b in zip(Gu, Gk))
        Wp, Wm = _split(layer.W)
        H_list, G_list = [], []
        for i in range(layer.out_dim):
            where = f"layer {l}, neuron {i}"  # layers from 1, neurons from 0
            h = _linear_combination(Wp[i] + Wm[i], Fu + Gu, d0, prune, max_terms, where,
                                    deadline)
            g = _linear_combination(Wm[i] + Wp[i], Fu + Gu, d0, prune, max_terms, where,
                                    deadline)
            H_list.append(h.add_affine((_ZERO,) * d0, layer.b[i]))
            G_list.append(g)
        H, G = tuple(H_list), tuple(G_list)
        if l == L:
            out.append(TropicalLayer(l, None, G, H))
            break
        if net.activation == "relu":
            F = tuple(h.oplus(g) for h, g in zip(H, G))
            if prune:
                F = tuple(p.prune() for p in F)
            Gn = G
        else:
            F_list: list[TropicalPolynomial] = []
            G_list = []
            for h, g in zip(H, G):
                z = TropicalRational(h, g)
                if net.activation == "leaky_relu":
                    # leaky(z) = (1 - alpha) relu(z) + alpha z
                    a = net.alpha
                    nu = (z.relu(prune) * (1 - a)).add(z * a, prune, max_terms)
                else:
                    # hardtanh(z) = relu(z + 1) - relu(z - 1) - 1
                    nu = (z + 1).relu(prune).add(-(z - 1).relu(prune), prune,
                                                 max_terms) - 1
                F_list.append(nu.F)
                G_list.append(nu.G)
            F, Gn = tuple(F_list), tuple(G_list)
        for p in F + Gn:
            if len(p) > max_terms:
                raise LimitReached(f"tropical_form: layer {l}: a polynomial has {len(p)} "
                                   f"terms > max_terms={max_terms}")
        hist.append((F, Gn))
        out.append(TropicalLayer(l, F, Gn, H))
    return tuple(out)


def tropical_form(net: Network, prune: bool = True,
                  max_terms: int = 20000,
                  time_limit: float | None = None) -> tuple[TropicalRational, ...]:
    """The network as tropical rational functions: one ``H (/) G`` per output
    (Zhang et al. Thm. 5.4), so that ``F(x) - G(x) == net(x)`` exactly.

    See :func:`tropical_layers` for the recurrence and the parameters.

    >>> net = Network.from_weights([([[1], [-1]], [0, 0]), ([[1, 1]], [0])])
    >>> (nu,) = tropical_form(net)
    >>> print(nu)                  # |x| = max(0, 2x) - x
    max(0, 2*x1) (/) max(x1)
    """
    last = tropical_layers(net, prune=prune, max_terms=max_terms,
                           time_limit=time_limit)[-1]
    return tuple(TropicalRational(h, g) for h, g in zip(last.H, last.G))
