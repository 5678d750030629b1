"""Trajectories: activation patterns, transitions and lengths along a path.

Raghu et al. (2017) measure expressivity along a one-dimensional trajectory
``x(t)``: the *transitions* (points where the activation pattern changes, and
how many neurons flip there), the *activation patterns* met in order, and the
*trajectory length* of the image of the path after each layer (their
Theorem 3).  The data-geometry paper counts linear regions and the distance to
the nearest boundary on a 1-D data manifold (a circle, a tractrix, a circle
embedded in R^n).  This module computes all of these exactly.

Paths
-----
* a **polyline** (a sequence of rational points, or :class:`Polyline`): on a
  segment ``x(t) = p + t (q - p)`` every pre-activation is affine in ``t`` as
  long as the pattern is fixed, so the walk finds the next zero crossing of any
  neuron exactly (a rational ``t``), layer by layer.
* a **circle arc** (:class:`Circle`) ``x(t) = c + cos(t) u + sin(t) v``: on each
  quarter arc we use the rational parametrisation ``s = tan(tau / 2)``,
  ``cos tau = (1 - s^2)/(1 + s^2)``, ``sin tau = 2 s/(1 + s^2)``.  A
  pre-activation ``a cos + b sin + c0`` times ``1 + s^2 > 0`` is a rational
  quadratic in ``s``, so every breakpoint is a root of an exact rational
  quadratic: a number ``r + q sqrt(D)``.  Such numbers are ordered exactly
  (sign of ``A + B sqrt(D1) + C sqrt(D2)`` by comparing squares), so the order
  of breakpoints, equal breakpoints of different neurons and tangencies
  (double roots: the neuron touches its threshold without changing sign, which
  is *not* a transition) are all decided exactly.
* a **general curve** (:class:`Curve`, a Python function of ``t``): handled by
  certified refinement, see :class:`Curve` for exactly what is certified.

A transition is a point of the path where the pattern on the left differs from
the pattern on the right (patterns on open pieces; a single point where a
neuron only touches zero is not a transition).  The pattern on a piece follows
the SPEC tie rules, so it equals ``net.pattern(x)`` at every interior point of
the piece.

>>> import polyrelu as pr
>>> net = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])])
>>> res = pr.transitions(net, [[-1, -2], [3, 2]])
>>> res.count, res.patterns
(2, (((0, 0),), ((1, 0),), ((1, 1),)))
>>> [b.local for b in res.breakpoints]
[Fraction(1, 4), Fraction(1, 2)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Any, Callable, Sequence

import gmpy2

from .budget import Budget, as_budget, check_count
from .domains import as_domain
from .exceptions import DomainError, ShapeError
from .linalg import mpq_to_fraction, to_mpq_matrix, to_mpq_vector
from .network import Network
from .numbers import sqrt_float, to_fraction, to_vector

__all__ = ["Polyline", "Circle", "Curve", "Breakpoint", "Transitions", "transitions",
           "activation_patterns", "LayerLength", "TrajectoryLength",
           "trajectory_length", "BoundaryDistance", "distance_to_boundary",
           "unit_circle", "tractrix", "embedded_circle", "ManifoldRegions",
           "manifold_regions", "gaussian_network", "inscribed_polygon"]

mpq = gmpy2.mpq
_ZERO = mpq(0)
_ONE = mpq(1)

Pattern = tuple  # tuple[tuple[int, ...], ...]


# =====================================================================
# exact numbers r + q sqrt(D) (roots of rational quadratics)
# =====================================================================

def _sgn(x) -> int:
    return (x > 0) - (x < 0)


def _sign_surd(X, Y, D) -> int:
    """Exact sign of ``X + Y sqrt(D)`` (D > 0)."""
    sx, sy = _sgn(X), _sgn(Y)
    if sy == 0:
        return sx
    if sx == 0 or sx == sy:
        return sy if sx == 0 else sx
    c = X * X - Y * Y * D  # opposite signs: the larger magnitude wins
    return sx if c > 0 else (sy if c < 0 else 0)


def _sign3(A, B, D1, C, D2) -> int:
    """Exact sign of ``A + B sqrt(D1) + C sqrt(D2)`` (D1, D2 > 0)."""
    if C == 0:
        return _sign_surd(A, B, D1)
    if B == 0:
        return _sign_surd(A, C, D2)
    if D1 == D2:
        return _sign_surd(A, B + C, D1)
    su = _sign_surd(A, B, D1)  # u = A + B sqrt(D1)
    sc = _sgn(C)
    if su == 0:
        return sc
    if su == sc:
        return su
    # u and C sqrt(D2) have opposite signs: compare u^2 with C^2 D2, where
    # u^2 - C^2 D2 = (A^2 + B^2 D1 - C^2 D2) + 2 A B sqrt(D1).
    s = _sign_surd(A * A + B * B * D1 - C * C * D2, 2 * A * B, D1)
    return su if s > 0 else (sc if s < 0 else 0)


# Integer-interval filter.  An exact comparison of two numbers r + q sqrt(D)
# squares big rationals; most comparisons are far from a tie, so we first
# enclose each number in a fixed-point interval [lo, hi] / 2^_P computed with
# exact integer arithmetic (floor/ceil divisions, isqrt) -- a rigorous
# enclosure, not an approximation -- and only overlapping enclosures fall back
# to the exact sign computation.
_P = 256


def _fix(x) -> tuple[int, int]:
    """[lo, hi] with lo <= x * 2^_P <= hi (integers, exact)."""
    n, d = int(x.numerator) << _P, int(x.denominator)
    lo = n // d
    return lo, (lo if lo * d == n else lo + 1)


def _imul(a, b):
    ps = (a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1])
    return min(ps), max(ps)


class _Num:
    """An exact real ``r + q sqrt(D)`` with rational r, q and D > 0 (q = 0: rational)."""

    __slots__ = ("r", "q", "D", "_iv")

    def __init__(self, r, q=_ZERO, D=_ONE):
        self.r, self.q, self.D = mpq(r), mpq(q), mpq(D)
        self._iv = None

    def interval(self) -> tuple[int, int]:
        """Rigorous enclosure of the value times 2^_P (see :func:`_fix`)."""
        if self._iv is None:
            lo, hi = _fix(self.r)
            if self.q:
                n, d = int(self.D.numerator), int(self.D.denominator)
                S = int(gmpy2.isqrt((n << (2 * _P)) // d))  # S <= sqrt(D) 2^P < S + 1
                qn, qd = int(self.q.numerator), int(self.q.denominator)
                if qn > 0:
                    lo += (qn * S) // qd
                    hi += -((-qn * (S + 1)) // qd)
                else:
                    lo += (qn * (S + 1)) // qd
                    hi += -((-qn * S) // qd)
            self._iv = (lo, hi)
        return self._iv

    def cmp(self, other: "_Num") -> int:
        a, b = self.interval(), other.interval()
        if a[1] < b[0]:
            return -1
        if a[0] > b[1]:
            return 1
        return _sign3(self.r - other.r, self.q, self.D, -other.q, other.D)

    def __lt__(self, other):
        return self.cmp(other) < 0

    def __eq__(self, other):
        return isinstance(other, _Num) and self.cmp(other) == 0

    __hash__ = None  # type: ignore[assignment]

    @property
    def rational(self) -> bool:
        return self.q == 0

    def fraction(self) -> Fraction:
        return mpq_to_fraction(self.r)

    def sympy(self):
        import sympy

        r = sympy.Rational(int(self.r.numerator), int(self.r.denominator))
        if self.q == 0:
            return r
        q = sympy.Rational(int(self.q.numerator), int(self.q.denominator))
        return sympy.Add(r, _sympy_sqrt(self.D, q), evaluate=False)

    def __float__(self) -> float:
        return float(self.r) + float(self.q) * math.sqrt(float(self.D))

    def __repr__(self) -> str:
        return f"_Num({self.r} + {self.q}*sqrt({self.D}))"


def _sympy_sqrt(D, coef=None):
    """``coef * sqrt(D)`` for a positive rational D as sympy; large radicands stay
    unevaluated (sympy would try to factor them, and fails on huge ones)."""
    import sympy

    n, d = int(D.numerator), int(D.denominator)
    c = sympy.Integer(1) if coef is None else coef
    if (n * d).bit_length() <= 64:
        return c * sympy.sqrt(sympy.Rational(n, d))
    root = sympy.Pow(sympy.Integer(n * d), sympy.S.Half, evaluate=False)
    return sympy.Mul(c / d, root, evaluate=False)


def _poly_at(g, x: _Num):
    """(X, Y) with g(x) = X + Y sqrt(D) for g = (a2, a1, a0)."""
    a2, a1, a0 = g
    r, q, D = x.r, x.q, x.D
    X = a2 * (r * r + q * q * D) + a1 * r + a0
    Y = (2 * a2 * r + a1) * q
    return X, Y


def _interval_sign(g, x: _Num) -> int:
    """Sign of g(x) decided on integer intervals, or 0 when undecided."""
    return _interval_sign_on(g, x.interval())


def _interval_sign_on(g, e) -> int:
    """Sign of g on the whole interval ``e`` (scale 2^P), or 0 when undecided."""
    a2, a1, a0 = g
    acc = _fix(a0)
    acc = (acc[0] << (2 * _P), acc[1] << (2 * _P))  # scale 2^3P
    if a1:
        t = _imul(_fix(a1), e)  # scale 2^2P
        acc = (acc[0] + (t[0] << _P), acc[1] + (t[1] << _P))
    if a2:
        e2 = _imul(e, e)
        if e[0] <= 0 <= e[1]:
            e2 = (0, e2[1])
        t = _imul(_fix(a2), e2)  # scale 2^3P
        acc = (acc[0] + t[0], acc[1] + t[1])
    if acc[0] > 0:
        return 1
    if acc[1] < 0:
        return -1
    return 0


def _right_sign(g, x: _Num) -> int:
    """Sign of the polynomial ``g`` on ``(x, x + eps)``: first nonzero derivative."""
    s = _interval_sign(g, x)
    if s:
        return s
    X, Y = _poly_at(g, x)
    s = _sign_surd(X, Y, x.D)
    if s:
        return s
    a2, a1, _ = g
    s = _sign_surd(2 * a2 * x.r + a1, 2 * a2 * x.q, x.D)  # g'(x)
    if s:
        return s
    return _sgn(a2)


def _crossings(g) -> list[_Num]:
    """Roots of ``g`` where it changes sign (simple roots), increasing."""
    a2, a1, a0 = g
    if a2 == 0:
        if a1 == 0:
            return []
        return [_Num(-a0 / a1)]
    disc = a1 * a1 - 4 * a2 * a0
    if disc <= 0:  # no root, or a double root: touching without a sign change
        return []
    num, den = disc.numerator, disc.denominator
    if gmpy2.is_square(num) and gmpy2.is_square(den):
        rt = mpq(gmpy2.isqrt(num), gmpy2.isqrt(den))
        roots = [_Num((-a1 - rt) / (2 * a2)), _Num((-a1 + rt) / (2 * a2))]
    else:
        c = -a1 / (2 * a2)
        h = abs(_ONE / (2 * a2))
        roots = [_Num(c, -h, disc), _Num(c, h, disc)]
    roots.sort()
    return roots


# =====================================================================
# paths
# =====================================================================

def _vec(x: Any, where: str) -> tuple[Fraction, ...]:
    if hasattr(x, "tolist") and not isinstance(x, (list, tuple)):
        x = x.tolist()
    return to_vector(x, where)


@dataclass(frozen=True)
class Polyline:
    """A polyline through rational points (``closed=True`` returns to the start).

    >>> Polyline([[0, 0], [1, "1/2"]]).points[1]
    (Fraction(1, 1), Fraction(1, 2))
    """

    points: tuple
    closed: bool = False

    def __init__(self, points: Sequence[Any], closed: bool = False) -> None:
        if isinstance(points, (str, bytes)) or len(points) < 2:
            raise DomainError("a polyline needs at least two points")
        pts = tuple(_vec(p, f"polyline point {i}") for i, p in enumerate(points))
        if len({len(p) for p in pts}) != 1:
            raise ShapeError("polyline points have different dimensions: "
                             f"{[len(p) for p in pts]}")
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "closed", bool(closed))

    @property
    def dim(self) -> int:
        return len(self.points[0])

    def _segments(self):
        pts = list(self.points) + ([self.points[0]] if self.closed else [])
        return list(zip(pts[:-1], pts[1:]))


def _sym(x: Any):
    import sympy

    if isinstance(x, Fraction):
        return sympy.Rational(x.numerator, x.denominator)
    if isinstance(x, float):
        raise DomainError(
            f"arc angle {x!r} is a float; give it exactly, e.g. sympy.pi/2, 0 or "
            f"'pi/4' (only angles with rational tan(angle/2) offsets are exact)")
    try:
        # a string is parsed as a sympy expression ("pi/4"); it must be a number
        y = sympy.sympify(x)
    except (sympy.SympifyError, TypeError, SyntaxError):
        raise DomainError(f"cannot read the arc angle {x!r}; give an exact angle "
                          f"such as 0, 'pi/2' or sympy.pi/4") from None
    if not (getattr(y, "is_number", False) and y.is_real):
        raise DomainError(f"the arc angle {x!r} is not a real number; give an exact "
                          f"angle such as 0, 'pi/2' or sympy.pi/4")
    return y


@dataclass(frozen=True)
class Circle:
    """The closed curve ``x(t) = c + cos(t) u + sin(t) v`` (an arc with ``t_range``).

    ``u`` and ``v`` need not be orthonormal (then it is an ellipse).  The arc
    ``t_range = (t0, t1)`` takes exact angles (ints, sympy expressions such as
    ``sympy.pi/2``, or strings ``"pi/2"``); ``tan`` of the half-offset of each
    end from the nearest lower multiple of pi/2 must be rational so that the
    end is an exact point.  ``None``: the full closed circle.  Raghu et al.'s
    arc ``cos(pi t/2) x0 + sin(pi t/2) x1`` is ``Circle(0, x0, x1, (0, "pi/2"))``.

    >>> Circle([0, 0], [1, 0], [0, 1]).closed
    True
    """

    center: tuple
    u: tuple
    v: tuple
    t_range: tuple | None = None

    def __init__(self, center: Any, u: Any, v: Any, t_range: Any = None) -> None:
        u = _vec(u, "circle u")
        v = _vec(v, "circle v")
        if isinstance(center, (int, Fraction)) or (isinstance(center, str)):
            center = [center] * len(u)
        c = _vec(center, "circle center")
        if not len(c) == len(u) == len(v):
            raise ShapeError(f"circle: center, u, v have {len(c)}, {len(u)}, {len(v)} "
                             f"entries; they must agree")
        object.__setattr__(self, "center", c)
        object.__setattr__(self, "u", u)
        object.__setattr__(self, "v", v)
        if t_range is not None:
            import sympy

            if len(t_range) != 2:
                raise DomainError("t_range must be a pair (t0, t1)")
            t0, t1 = _sym(t_range[0]), _sym(t_range[1])
            if not (t1 - t0).is_positive or (t1 - t0 - 2 * sympy.pi).is_positive:
                raise DomainError(f"arc t_range ({t0}, {t1}): need t0 < t1 <= t0 + 2*pi")
            t_range = (t0, t1)
        object.__setattr__(self, "t_range", t_range)
        self._pieces()  # validates that the arc ends are exact points

    @property
    def dim(self) -> int:
        return len(self.u)

    @property
    def closed(self) -> bool:
        return self.t_range is None

    def angles(self):
        """(t0, t1) as sympy expressions."""
        import sympy

        return self.t_range if self.t_range is not None else (-sympy.pi, sympy.pi)

    def _pieces(self):
        """Quarter arcs ``(k, u_k, v_k, s0, s1)``: on piece k, t = k pi/2 + 2 atan(s)."""
        u, v = self.u, self.v
        neg = lambda w: tuple(-a for a in w)  # noqa: E731
        rots = {0: (u, v), 1: (v, neg(u)), 2: (neg(u), neg(v)), 3: (neg(v), u)}
        return [(k, *rots[k % 4], s0, s1) for k, s0, s1 in _quarter_ranges(*self.angles())]


@lru_cache(maxsize=256)
def _quarter_ranges(t0, t1):
    """``(k, s0, s1)`` per quarter arc of [t0, t1], exact (s = tan((t - k pi/2)/2))."""
    import sympy

    half = sympy.pi / 2
    k0 = int(sympy.floor(t0 / half))
    k1 = int(sympy.ceiling(t1 / half))
    out = []
    for k in range(k0, k1):
        beta = k * half
        lo = sympy.Max(t0, beta)
        hi = sympy.Min(t1, beta + half)
        if not (hi - lo).is_positive:
            continue
        s = []
        for end in (lo, hi):
            val = sympy.simplify(sympy.tan((end - beta) / 2))
            if not val.is_Rational:
                raise DomainError(
                    f"arc end t = {end}: tan((t - {beta})/2) = {val} is not "
                    f"rational, so the end is not an exact point; use ends at "
                    f"multiples of pi/2 or with rational tan of the half offset")
            s.append(Fraction(int(val.p), int(val.q)))
        out.append((k, s[0], s[1]))
    return tuple(out)


@dataclass(frozen=True)
class Curve:
    """A general smooth curve ``t -> func(t)`` on ``t_range`` (handled by refinement).

    ``func`` receives an exact :class:`Fraction` ``t`` and returns a point (any
    numbers; floats are taken exactly) within ``error`` of the true curve point
    ``x(t)``; ``lipschitz`` bounds the speed ``|x'(t)|`` of the true curve.
    What is certified, about the *true* curve:

    * a sample ``t_k`` is *trusted* when the exact squared distance ``d_k^2``
      from the computed point to the boundary of its activation region
      exceeds ``error^2``: then the true point lies in the interior of that
      region, where every pre-activation keeps its sign, so the sample's exact
      pattern is the true pattern.  Samples within ``error`` of a boundary are
      not trusted (their pattern is unknown);
    * with ``lipschitz``, ``|t - t_k| < h_k`` with ``(lipschitz h_k + error)^2
      < d_k^2`` lies inside that one region -- no transition there;
    * what remains are *gaps* narrower than ``resolution``.  Two consecutive
      trusted samples with different patterns hold at least one transition
      between them (located at the middle of the gaps between them).

    So ``Transitions.count`` is a certified lower bound, ``patterns`` lists the
    trusted patterns in order (a subsequence of the true sequence), and the
    transitions found are certified to exist; a gap can hide further
    back-and-forth crossings narrower than the resolution, which no finite
    sampling excludes without second-order information.  ``gaps`` lists
    ``(a, b, pattern_a, pattern_b)`` with None for an untrusted sample.
    ``arc_length(t0, t1)`` (optional) gives distances along the curve.

    >>> c = Curve(lambda t: (t, 1 - t), (0, 1), lipschitz=2)
    >>> c.t_range
    (Fraction(0, 1), Fraction(1, 1))
    """

    func: Callable[[Fraction], Any]
    t_range: tuple
    lipschitz: Fraction | None = None
    error: Fraction = Fraction(0)
    name: str = "curve"
    closed: bool = False
    arc_length: Callable[[float, float], float] | None = None

    def __init__(self, func, t_range, lipschitz=None, error=0, name="curve",
                 closed=False, arc_length=None) -> None:
        if not callable(func):
            raise DomainError("Curve needs a callable t -> point")
        t0, t1 = to_fraction(t_range[0], "curve t0"), to_fraction(t_range[1], "curve t1")
        if not t0 < t1:
            raise DomainError(f"curve t_range: {t0} is not below {t1}")
        object.__setattr__(self, "func", func)
        object.__setattr__(self, "t_range", (t0, t1))
        object.__setattr__(self, "lipschitz",
                           None if lipschitz is None else to_fraction(lipschitz, "lipschitz"))
        object.__setattr__(self, "error", to_fraction(error, "curve error"))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "closed", bool(closed))
        object.__setattr__(self, "arc_length", arc_length)

    def point(self, t: Fraction) -> tuple[Fraction, ...]:
        return _vec(self.func(Fraction(t)), f"{self.name}({t})")


def _as_path(path: Any):
    if isinstance(path, (Polyline, Circle, Curve)):
        return path
    if isinstance(path, (str, bytes)):
        raise DomainError("a path is a sequence of points, a Circle or a Curve")
    return Polyline(path)


# =====================================================================
# the exact walk
# =====================================================================

@dataclass(frozen=True)
class Breakpoint:
    """A point of the path where the activation pattern changes.

    ``piece``: index of the segment, or ``k`` of the quarter arc
    ``t in [k pi/2, (k+1) pi/2]`` of a circle; ``local``: exact local
    parameter (``t`` in [0, 1] on a segment, a Fraction; ``s = tan(tau/2)`` on
    an arc, a sympy number); ``parameter``: the global parameter (segment
    index + t for polylines, the angle t for circles; exact sympy, or a
    Fraction for curves); ``value``: its float; ``point``: float coordinates;
    ``exact_point``: the rational point (segments) or None; ``flips``:
    ``(layer, neuron)`` pairs (layer 1-based, neuron 0-based) whose piece
    differs across the point.  ``local`` and ``parameter`` are built on first
    use (sympy is slow for large radicands).
    """

    piece: int
    kind: str  # "segment", "arc" or "curve"
    value: float
    point: tuple
    exact_point: tuple | None
    before: Pattern
    after: Pattern
    flips: tuple
    #: exact local parameter as an internal ``r + q sqrt(D)`` number (ordering)
    key: Any = field(default=None, repr=False, compare=False)
    offset: Any = field(default=0, repr=False, compare=False)

    @property
    def local(self):
        if self.kind == "arc":
            return self.key.sympy()
        return self.key.fraction() if isinstance(self.key, _Num) else self.key

    @property
    def parameter(self):
        import sympy

        if self.kind == "arc":
            return self.piece * sympy.pi / 2 + 2 * sympy.atan(self.key.sympy()) + self.offset
        if self.kind == "segment":
            t = self.key.fraction()
            return sympy.Integer(self.piece) + sympy.Rational(t.numerator, t.denominator) \
                + self.offset
        return self.key


def _flips(p: Pattern, q: Pattern) -> tuple:
    return tuple((l + 1, i) for l, (a, b) in enumerate(zip(p, q))
                 for i, (x, y) in enumerate(zip(a, b)) if x != y)


class _Walker:
    """Walk one segment (k = 1) or one quarter arc (k = 2) of the path exactly.

    ``x = x0 + U tau`` with tau = t (segment) or tau = (cos, sin) (arc); all
    layer maps are kept in tau-coordinates, so their cost does not grow with
    the input dimension beyond the first layer.
    """

    def __init__(self, net: Network, x0, U, arc: bool):
        self.net = net
        self.arc = arc
        self.k = 2 if arc else 1
        self.L = net.num_layers
        self.skips = net.skip_sources
        self.Ws = [(to_mpq_matrix(layer.W), to_mpq_vector(layer.b)) for layer in net.layers]
        x0 = to_mpq_vector(x0)
        U = [to_mpq_vector(row) for row in U]  # d0 x k
        self.U_in = U           # the input path's direction: depth 0 of the lengths
        if net.input_map is not None:       # nu_0 = A x + a: compose with the path
            A, a = (to_mpq_matrix(net.input_map[0]), to_mpq_vector(net.input_map[1]))
            U = [[sum((r[j] * U[j][i] for j in range(len(r))), _ZERO)
                  for i in range(self.k)] for r in A]
            x0 = [ai + sum((rj * xj for rj, xj in zip(r, x0)), _ZERO) for r, ai in zip(A, a)]
        self.post: list[Any] = [None] * self.L  # post maps (rows of k-lists, offsets)
        self.post[0] = ([list(r) for r in U], list(x0))
        self.pre: list[Any] = [None] * (self.L + 1)  # index l = 1..L
        self.bits: list = [None] * self.L  # index l = 1..L-1
        self.roots: list = [None] * self.L  # per hidden layer: list of next roots
        self.act = net.activation
        self.alpha = mpq(net.alpha.numerator, net.alpha.denominator)
        self.thresholds = (mpq(-1), _ONE) if self.act == "hard_tanh" else (_ZERO,)

    # -- maps
    def _pre_map(self, l: int):
        W, b = self.Ws[l - 1]
        U, u = self.post[l - 1]
        for s in self.skips.get(l, ()):
            Us, us = self.post[s]
            U = [[a + c for a, c in zip(r1, r2)] for r1, r2 in zip(U, Us)]
            u = [a + c for a, c in zip(u, us)]
        k = self.k
        # saturated / inactive neurons have zero rows: skip them in the products
        live = [j for j, Urow in enumerate(U) if any(Urow)]
        consts = [j for j, uj in enumerate(u) if uj]
        M, c = [], []
        for row, bi in zip(W, b):
            acc = [_ZERO] * k
            ci = bi
            for j in live:
                w = row[j]
                if w:
                    Urow = U[j]
                    for t in range(k):
                        acc[t] += w * Urow[t]
            for j in consts:
                w = row[j]
                if w:
                    ci += w * u[j]
            M.append(acc)
            c.append(ci)
        return M, c

    def _poly(self, m, c0, theta):
        """(1 + s^2)^[arc] (z - theta) as a polynomial (a2, a1, a0) in the parameter."""
        if not self.arc:
            return (_ZERO, m[0], c0 - theta)
        ma, mb = m
        return (c0 - theta - ma, 2 * mb, c0 - theta + ma)

    def _input_row_zero(self, l: int, i: int) -> bool:
        """Is neuron (l, i) identically zero on its region in *input* space?"""
        pat = [tuple(self.bits[j]) for j in range(1, l)]
        pat += [(0,) * w for w in self.net.hidden_widths[l - 1:]]
        M, c = self.net.layer_maps(pat)[l - 1]
        return c[i] == 0 and not any(M[i])

    def _piece_of(self, l, i, polys, pos) -> int:
        if self.act == "hard_tanh":
            sm = _right_sign(polys[0], pos)  # z + 1
            sp = _right_sign(polys[1], pos)  # z - 1
            if sm < 0:
                return 0
            return 2 if sp > 0 else 1
        s = _right_sign(polys[0], pos)
        if s:
            return 1 if s > 0 else 0
        # z is identically zero along this piece: SPEC tie rule (active unless
        # identically zero on the region in input space).
        return 0 if self._input_row_zero(l, i) else 1

    def recompute(self, start: int, pos: _Num, end: _Num) -> None:
        """Maps, pieces (right of ``pos``) and next crossings of layers >= start."""
        L = self.L
        for l in range(start, L + 1):
            M, c = self._pre_map(l)
            self.pre[l] = (M, c)
            if l == L:
                break
            bits, roots, PM, pc = [], [], [], []
            for i, (m, c0) in enumerate(zip(M, c)):
                polys = [self._poly(m, c0, th) for th in self.thresholds]
                piece = self._piece_of(l, i, polys, pos)
                bits.append(piece)
                nxt = None
                window = (pos.interval()[0], end.interval()[1])
                for g in polys:
                    if _interval_sign_on(g, window):
                        continue  # no zero on [pos, end]: nothing to find
                    for r in _crossings(g):
                        if pos.cmp(r) < 0 and r.cmp(end) < 0:
                            if nxt is None or r.cmp(nxt) < 0:
                                nxt = r
                            break
                roots.append(nxt)
                # post-activation map on this piece
                if self.act == "relu":
                    PM.append(list(m) if piece == 1 else [_ZERO] * self.k)
                    pc.append(c0 if piece == 1 else _ZERO)
                elif self.act == "leaky_relu":
                    f = _ONE if piece == 1 else self.alpha
                    PM.append([f * a for a in m])
                    pc.append(f * c0)
                else:
                    PM.append(list(m) if piece == 1 else [_ZERO] * self.k)
                    pc.append(c0 if piece == 1 else (_ONE if piece == 2 else mpq(-1)))
            self.bits[l] = tuple(bits)
            self.roots[l] = roots
            self.post[l] = (PM, pc)

    def pattern(self) -> Pattern:
        return tuple(self.bits[1:])

    def next_event(self):
        best, layer = None, None
        for l in range(1, self.L):
            for r in self.roots[l]:
                if r is None:
                    continue
                if best is None:
                    best, layer = r, l
                else:
                    s = r.cmp(best)
                    if s < 0:
                        best, layer = r, l
                    elif s == 0 and l < layer:
                        layer = l
        return best, layer

    def post_norms2(self) -> list:
        """Squared norms of d(nu_l)/dt for l = 0..L (segments: k = 1)."""
        out = [sum((r[0] * r[0] for r in self.U_in), _ZERO)]
        for l in range(1, self.L):
            M, _ = self.post[l]
            out.append(sum((r[0] * r[0] for r in M), _ZERO))
        M, _ = self.pre[self.L]
        out.append(sum((r[0] * r[0] for r in M), _ZERO))
        return out

    def pre_norms2(self) -> list:
        out = [sum((r[0] * r[0] for r in self.U_in), _ZERO)]
        for l in range(1, self.L + 1):
            M, _ = self.pre[l]
            out.append(sum((r[0] * r[0] for r in M), _ZERO))
        return out


@dataclass(frozen=True, eq=False)
class _Span:
    """One piece of the path with a constant pattern (internal record)."""

    piece: int
    start: _Num
    end: _Num
    pattern: Pattern
    norms: tuple | None = None  # (post norms^2, pre norms^2) for lengths


@dataclass(frozen=True, eq=False)
class Transitions:
    """Result of :func:`transitions`.

    Attributes
    ----------
    count : int
        Points of the path where the activation pattern changes.
    patterns : tuple
        The consecutive distinct patterns met along the path (for a closed
        path, the piece through the start is listed once).
    breakpoints : tuple of :class:`Breakpoint`
    closed, exact, partial, reason
        ``exact`` is True only for a complete walk of a polyline or circle.
        It is False for general curves (see :class:`Curve`: ``count`` is a
        certified lower bound and ``gaps`` lists the unresolved parameter
        intervals) and for a walk stopped by ``max_transitions`` or
        ``time_limit`` (``partial``; ``reason`` says why): then ``count`` and
        ``patterns`` cover an initial part of the path only.
    stop : float, Fraction or None
        For a partial walk, the global parameter where it stopped: the walked
        part is the path from its start up to ``stop`` (a float -- segment
        index + t for polylines, the angle for circles -- or the exact
        Fraction ``t`` for curves).  None for a complete walk.
    """

    net: Network
    path: Any
    patterns: tuple
    breakpoints: tuple
    closed: bool
    exact: bool = True
    partial: bool = False
    reason: str = ""
    gaps: tuple = ()
    spans: tuple = field(default=(), repr=False)
    stop: Any = None

    @property
    def count(self) -> int:
        return len(self.breakpoints)

    @property
    def num_pieces(self) -> int:
        """Pieces of the path with one activation pattern (activation regions met,
        counted once per visit)."""
        return max(1, self.count) if self.closed else self.count + 1

    @cached_property
    def per_neuron(self) -> dict:
        """``{(layer, neuron): number of flips}`` (layer 1-based)."""
        out: dict = {}
        for b in self.breakpoints:
            for key in b.flips:
                out[key] = out.get(key, 0) + 1
        return out

    @cached_property
    def per_layer(self) -> tuple:
        """Neuron flips per hidden layer (Raghu's transitions, layer by layer)."""
        counts = [0] * (self.net.num_layers - 1)
        for (l, _), n in self.per_neuron.items():
            counts[l - 1] += n
        return tuple(counts)

    @cached_property
    def layer_changes(self) -> tuple:
        """Per hidden layer, the points where that layer's pattern changes."""
        counts = [0] * (self.net.num_layers - 1)
        for b in self.breakpoints:
            for l in {l for l, _ in b.flips}:
                counts[l - 1] += 1
        return tuple(counts)

    @property
    def neuron_transitions(self) -> int:
        """Total number of neuron flips along the path."""
        return sum(self.per_layer)

    @cached_property
    def output_transitions(self) -> int:
        """Breakpoints where the network's affine map (in input space) changes."""
        cache: dict = {}
        return sum(1 for b in self.breakpoints
                   if _map_changes(self.net, b.before, b.after, b.flips, cache))

    @property
    def num_linear_pieces(self) -> int:
        """Pieces of the path on which the network is one affine map."""
        n = self.output_transitions
        return max(1, n) if self.closed else n + 1

    def __repr__(self) -> str:
        flags = ("" if self.exact else ", lower bound") + (", partial" if self.partial else "")
        return (f"Transitions(count={self.count}, pieces={self.num_pieces}, "
                f"closed={self.closed}{flags})")

    def summary(self) -> dict:
        return {"count": self.count, "pieces": self.num_pieces,
                "linear_pieces": self.num_linear_pieces,
                "neuron_transitions": self.neuron_transitions,
                "per_layer": list(self.per_layer),
                "layer_changes": list(self.layer_changes),
                "exact": self.exact, "partial": self.partial, "reason": self.reason}


def _map_changes(net: Network, p: Pattern, q: Pattern, flips, cache: dict) -> bool:
    """Exact: is the network's affine map (in input space) on the region of the
    pattern ``p`` different from that on ``q``?  (Both patterns are realized.)

    One flipped neuron (l, i) -- the usual case -- is decided without building
    the maps: the patterns agree elsewhere, so ``net_q - net_p = g Delta(x)``
    with ``g`` the output's sensitivity to ``nu_(l,i)`` under the common
    downstream pattern and ``Delta = phi_q(z) - phi_p(z)`` for the common
    affine pre-activation ``z`` of (l, i).  ``z`` is not constant in x: then
    its piece would be the same in both realized patterns.  So the map changes
    iff ``Delta`` is not identically zero (a slope change, or an offset change
    at equal slopes) and ``g != 0``.  Several flips: compare the exact maps.
    """
    if len(flips) != 1:
        for r in (p, q):
            if r not in cache:
                cache[r] = net.affine_map(r)
        return cache[p] != cache[q]
    (l, i), = flips
    sp, op = net._piece_affine(p[l - 1][i])
    sq, oq = net._piece_affine(q[l - 1][i])
    if sp == sq and op == oq:
        return False  # Delta = 0
    return _sensitivity_nonzero(net, q, l, i)


def _sensitivity_nonzero(net: Network, pattern: Pattern, l: int, i: int) -> bool:
    """Exact: is d(output)/d(nu_(l,i)) nonzero on the region of ``pattern``?
    Forward mode from the unit vector e_i at depth l through layers > l
    (slopes of ``pattern``, skips included), sparse: dead units drop out."""
    L = net.num_layers
    slopes = {}
    d: dict = {l: {i: _ONE}}  # depth -> {unit: derivative}, nonzeros only
    skips = net.skip_sources
    for m in range(l + 1, L + 1):
        inp = dict(d.get(m - 1, {}))
        for s in skips.get(m, ()):
            for j, x in d.get(s, {}).items():
                inp[j] = inp.get(j, _ZERO) + x
        inp = {j: x for j, x in inp.items() if x}
        if not inp and not any(d.get(s) for m2 in range(m + 1, L + 1)
                               for s in skips.get(m2, ())):
            return False  # nothing left to carry, not even by a later skip
        W, _ = net._q_layers[m - 1]
        dz = {}
        for r, row in enumerate(W):
            acc = _ZERO
            for j, x in inp.items():
                w = row[j]
                if w:
                    acc += w * x
            if acc:
                dz[r] = acc
        if m == L:
            return bool(dz)
        out = {}
        for r, x in dz.items():
            piece = pattern[m - 1][r]
            if piece not in slopes:
                sl = net._piece_affine(piece)[0]
                slopes[piece] = mpq(sl.numerator, sl.denominator)
            if slopes[piece]:
                out[r] = slopes[piece] * x
        d[m] = out
    return False


def _segment_parts(path: Polyline):
    for j, (p, q) in enumerate(path._segments()):
        d = tuple(b - a for a, b in zip(p, q))
        yield j, p, [[di] for di in d], False, Fraction(0), Fraction(1), j


def _arc_parts(path: Circle):
    for j, (k, uk, vk, s0, s1) in enumerate(path._pieces()):
        U = [[a, b] for a, b in zip(uk, vk)]
        yield j, path.center, U, True, s0, s1, k


def _param_value(k, arc, pos: _Num) -> float:
    """The global parameter (float) of the local position ``pos`` on piece ``k``."""
    if not arc:
        return k + float(pos.fraction())
    return k * math.pi / 2 + 2 * math.atan(float(pos))


def _breakpoint(k, x0, U, arc, pos: _Num, before, after, offset=0) -> Breakpoint:
    if not arc:
        t = pos.fraction()
        pt = tuple(a + t * u[0] for a, u in zip(x0, U))
        return Breakpoint(k, "segment", _param_value(k, arc, pos) + offset,
                          tuple(float(v) for v in pt),
                          pt, before, after, _flips(before, after), pos, offset)
    sf = float(pos)
    angf = _param_value(k, arc, pos) + float(offset)
    ca, sa = (1 - sf * sf) / (1 + sf * sf), 2 * sf / (1 + sf * sf)
    pt = tuple(float(c) + ca * float(u[0]) + sa * float(u[1]) for c, u in zip(x0, U))
    exact = None
    if pos.rational:
        r = pos.fraction()
        cr, sr = (1 - r * r) / (1 + r * r), 2 * r / (1 + r * r)
        exact = tuple(c + cr * u[0] + sr * u[1] for c, u in zip(x0, U))
    return Breakpoint(k, "arc", angf, pt, exact, before, after, _flips(before, after), pos,
                      offset)


def _check_dim(net: Network, dim: int) -> None:
    if dim != net.input_dim:
        raise ShapeError(f"the path lives in R^{dim} but the network has "
                         f"{net.input_dim} inputs")


def transitions(net: Network, path: Any, *, max_transitions: int | None = None,
                time_limit: float | None = None, resolution: Any = Fraction(1, 2**20),
                max_samples: int = 200000, budget: Budget | None = None,
                _lengths: bool = False) -> Transitions:
    """Exact transitions and activation patterns along a path.

    Parameters
    ----------
    net : Network
    path : sequence, :class:`Polyline`, :class:`Circle` or :class:`Curve`
        A polyline as a sequence of points, or a path object.
    max_transitions, time_limit : int or float, optional
        Limits (a positive int, a positive number of seconds, else
        :class:`~polyrelu.exceptions.LimitError`); the result is then
        ``partial`` with a ``reason`` and not ``exact``: it covers an initial
        part of the path (the breakpoints found are exact).
    budget : Budget, optional
        Limits shared with the caller (:mod:`polyrelu.budget`); an
        interrupted budget stops the walk (reason ``"interrupted"``).
    resolution, max_samples : Fraction or int
        Refinement controls for a :class:`Curve` only.

    Returns
    -------
    Transitions

    Examples
    --------
    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])])
    >>> res = pr.transitions(net, pr.Circle([0, 0], [1, 0], [0, 1]))
    >>> res.count, res.num_pieces, [str(b.parameter) for b in res.breakpoints]
    (4, 4, ['-pi/2', '0', 'pi/2', 'pi'])
    """
    b = as_budget(budget, None, time_limit, "transitions")
    max_transitions = check_count(max_transitions, "max_transitions", "transitions")
    path = _as_path(path)
    _check_dim(net, path.dim if not isinstance(path, Curve)
               else len(path.point(path.t_range[0])))
    if isinstance(path, Curve):
        return _curve_transitions(net, path, to_fraction(resolution, "resolution"),
                                  max_samples, b)
    parts = list(_segment_parts(path) if isinstance(path, Polyline) else _arc_parts(path))
    breakpoints: list[Breakpoint] = []
    patterns: list[Pattern] = []
    spans: list[_Span] = []
    partial, reason, stop = False, "", None
    prev: Pattern | None = None
    first: Pattern | None = None
    for part, x0, U, arc, s0, s1, kq in parts:
        w = _Walker(net, x0, U, arc)
        pos, end = _Num(s0), _Num(s1)
        w.recompute(1, pos, end)
        pat = w.pattern()
        if prev is None:
            first = pat
            patterns.append(pat)
        elif pat != prev:
            breakpoints.append(_breakpoint(kq, x0, U, arc, pos, prev, pat))
            patterns.append(pat)
        span_start = pos
        while True:
            e, layer = w.next_event()
            if e is None:
                break
            if (max_transitions is not None and len(breakpoints) >= max_transitions) or \
               b.exhausted:
                partial = True
                reason = ("max_transitions reached" if max_transitions is not None
                          and len(breakpoints) >= max_transitions else _stop_reason(b))
                break
            norms = (tuple(w.post_norms2()), tuple(w.pre_norms2())) if _lengths else None
            old = w.pattern()
            w.recompute(layer, e, end)
            new = w.pattern()
            if new != old:
                spans.append(_Span(part, span_start, e, old, norms))
                span_start = e
                breakpoints.append(_breakpoint(kq, x0, U, arc, e, old, new))
                patterns.append(new)
            pos = e
        norms = (tuple(w.post_norms2()), tuple(w.pre_norms2())) if _lengths else None
        # stopped by a limit: the pattern is known only up to the next event e
        spans.append(_Span(part, span_start, e if partial else end, w.pattern(), norms))
        prev = w.pattern()
        if partial:
            stop = _param_value(kq, arc, e)
            break
    closed = bool(path.closed) and not partial
    if closed and prev != first:
        part, x0, U, arc, s0, s1, kq = parts[0]
        import sympy

        # the start of a closed circle is t = -pi, reported as t = pi
        off = 2 * sympy.pi if isinstance(path, Circle) else len(parts)
        breakpoints.append(_breakpoint(kq, x0, U, arc, _Num(s0), prev, first, off))
    elif closed and len(patterns) > 1:
        patterns.pop()  # the last piece continues the first one
    # a walk stopped by a limit is not the exact answer for the path
    return Transitions(net, path, tuple(patterns), tuple(breakpoints), closed,
                       not partial, partial, reason, (), tuple(spans), stop)


def activation_patterns(net: Network, path: Any) -> tuple:
    """The consecutive distinct activation patterns along ``path``.

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, -1]], [0]), ([[1]], [0])])
    >>> activation_patterns(net, [[0, 1], [1, 0]])
    (((0,),), ((1,),))
    """
    return transitions(net, path).patterns


# ---------------------------------------------------------------- curves

def _stop_reason(budget: Budget) -> str:
    return "interrupted" if budget.interrupted else "time limit reached"


def _curve_transitions(net, curve: Curve, resolution: Fraction, max_samples: int,
                       budget: Budget):
    t0, t1 = curve.t_range
    Lip, err = curve.lipschitz, curve.error
    cache: dict = {}

    def sample(t: Fraction):
        """(computed point, pattern of the TRUE point or None, certified half-width)."""
        if t not in cache:
            x = curve.point(t)
            p = net.pattern(x)
            h = Fraction(0)
            d2 = _squared_distance(net, x, p)[0]  # None: no boundary anywhere
            # The true point is within err of x; if err < dist(x, boundary of
            # the region P of p), it lies in the interior of P, where every
            # pre-activation has the sign (piece) it has at x: its pattern is p.
            # d2 <= err^2 includes err = 0 with x ON a boundary: its tie-rule
            # pattern need not be that of any piece of the curve.
            if d2 is not None and d2 <= err * err:
                p = None
            elif Lip is not None and Lip > 0:
                h = t1 - t0 if d2 is None else _certified_halfwidth(d2, Lip, err)
            cache[t] = (x, p, h)
        return cache[t]

    gaps, bps, pats = [], [], []
    partial, reason, stop = False, "", None
    stack = [(t0, t1)]
    last, pending = sample(t0)[1], []  # last trusted pattern; gaps since then
    if last is not None:
        pats.append(last)
    while stack:
        a, b = stack.pop()
        if len(cache) >= max_samples or budget.exhausted:
            partial = True
            reason = "max_samples reached" if len(cache) >= max_samples else \
                _stop_reason(budget)
            stop = a  # leaves come in order: everything left of [a, b] is done
            break
        _, pa, ha = sample(a)
        _, pb, hb = sample(b)
        w = b - a
        if ha > w or hb > w or (pa is not None and pa == pb and ha + hb > w):
            pass  # certified: the true curve stays in one region on [a, b]
        elif w < resolution:
            gaps.append((a, b, pa, pb))
            pending.append((a, b))
        else:
            m = (a + b) / 2
            stack.append((m, b))
            stack.append((a, m))
            continue
        # the leaf [a, b] is done; leaves come in parameter order
        if pb is None:
            continue
        if last is None:
            pats.append(pb)
        elif pb != last:
            # two trusted patterns differ: the true curve changes pattern at
            # least once in between, inside one of the pending gaps
            mid = (pending[0][0] + pending[-1][1]) / 2 if pending else (a + b) / 2
            x = curve.point(mid)
            bps.append(Breakpoint(0, "curve", float(mid), tuple(float(v) for v in x),
                                  None, last, pb, _flips(last, pb), mid))
            pats.append(pb)
        last, pending = pb, []
    closed = curve.closed and not partial
    if closed and pats and pats[-1] != pats[0]:
        # the curve closes up through a transition at t1 = t0 (located exactly there
        # up to the sampling: both ends are the same point)
        x = curve.point(t1)
        bps.append(Breakpoint(0, "curve", float(t1), tuple(float(v) for v in x), None,
                              pats[-1], pats[0], _flips(pats[-1], pats[0]), t1))
    elif closed and len(pats) > 1:
        pats.pop()
    return Transitions(net, curve, tuple(pats), tuple(bps), closed, False, partial,
                       reason, tuple(gaps), (), stop)


def _certified_halfwidth(d2: Fraction, Lip: Fraction, err: Fraction) -> Fraction:
    """Largest easy rational h with (Lip h + err)^2 < d2 (float proposes, exact checks)."""
    if d2 <= err * err:
        return Fraction(0)
    guess = (math.sqrt(float(d2)) - float(err)) / float(Lip)
    h = Fraction(guess).limit_denominator(2**40) if guess > 0 else Fraction(0)
    for _ in range(64):
        if h <= 0:
            return Fraction(0)
        if (Lip * h + err) ** 2 < d2:
            return h
        h = h * Fraction(15, 16)
    return Fraction(0)


# =====================================================================
# trajectory length (Raghu Theorem 3)
# =====================================================================

@dataclass(frozen=True)
class LayerLength:
    """Length of the path's image after one layer (``layer`` 0 = the input path).

    ``value`` is a float; ``exact`` (polylines only, else None) is the exact
    sum of square roots as a sympy expression, built on first use -- of the
    walked part only when the walk is partial (see :class:`TrajectoryLength`).
    """

    layer: int
    value: float
    terms: tuple | None = field(default=None, repr=False)

    @property
    def exact(self):
        if self.terms is None:
            return None
        return _sqrt_sum(dict(self.terms))[0]


@dataclass(frozen=True)
class TrajectoryLength:
    """Per-layer lengths: ``lengths[l]`` is the image of the path in layer ``l``
    (0 = input, 1..L-1 hidden post-activations (or pre-activations with
    ``kind="pre"``), L = output).

    ``exact`` is True only for a complete walk of a polyline.  A walk stopped
    by a limit is ``partial``: the lengths are then those of the image of the
    walked initial part, the path up to ``transitions.stop`` (lower bounds for
    the whole path) -- exact sums of square roots for a polyline, floats for
    circles and curves; ``exact`` is False.
    """

    lengths: tuple
    kind: str
    exact: bool
    transitions: Transitions

    @property
    def partial(self) -> bool:
        return self.transitions.partial

    @property
    def reason(self) -> str:
        return self.transitions.reason

    @property
    def values(self) -> tuple:
        return tuple(x.value for x in self.lengths)

    def ratios(self) -> tuple:
        """Growth factors length[l] / length[l-1] (floats, for plots)."""
        v = self.values
        return tuple(v[i] / v[i - 1] if v[i - 1] else float("nan") for i in range(1, len(v)))


def _sqrt_sum(terms: dict):
    """Exact sympy sum of coef * sqrt(radicand) plus its float."""
    import sympy

    parts = []
    val = 0.0
    big = False
    for rad, coef in terms.items():
        if coef == 0 or rad == 0:
            continue
        C = sympy.Rational(coef.numerator, coef.denominator)
        parts.append(_sympy_sqrt(mpq(rad.numerator, rad.denominator), C))
        big = big or (rad.numerator * rad.denominator).bit_length() > 64
        val += float(coef) * sqrt_float(rad)     # rad may exceed the float range
    if not parts:
        return sympy.Integer(0), val
    # small radicands: let sympy combine like terms; large ones stay unevaluated
    return sympy.Add(*parts, evaluate=not big), val


def trajectory_length(net: Network, path: Any, *, kind: str = "post",
                      **kwargs: Any) -> TrajectoryLength:
    """Length of the image of ``path`` after every layer (Raghu et al. Theorem 3).

    For a polyline the image after a layer is again a polyline with rational
    vertices (breakpoints are rational), so its length is an exact sum of
    square roots (a sympy expression) -- the float is its value.  For circles
    and curves the lengths are floats (numerical quadrature / the refined
    polyline); ``exact`` is False then.  With ``max_transitions`` or
    ``time_limit`` (passed to :func:`transitions`) a walk that hits the limit
    is ``partial``, not ``exact``, and measures only the walked initial part.

    ``kind="post"`` measures the post-activation images ``nu_l``;
    ``kind="pre"`` the pre-activations ``z_l``.

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[2, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])])
    >>> tl = trajectory_length(net, [[-1, 0], [1, 0]])
    >>> [str(x.exact) for x in tl.lengths]
    ['2', '2', '2']
    """
    if kind not in ("post", "pre"):
        raise DomainError(f"kind must be 'post' or 'pre', not {kind!r}")
    path = _as_path(path)
    if isinstance(path, Polyline):
        res = transitions(net, path, _lengths=True, **kwargs)
        L = net.num_layers
        terms: list[dict] = [dict() for _ in range(L + 1)]
        for sp in res.spans:
            dt = mpq_to_fraction(sp.end.r - sp.start.r)
            norms = sp.norms[0] if kind == "post" else sp.norms[1]
            for l, n2 in enumerate(norms):
                n2f = mpq_to_fraction(n2)
                terms[l][n2f] = terms[l].get(n2f, Fraction(0)) + dt
        out = []
        for l in range(L + 1):
            # squared lengths may exceed the float range (1e155 -> 1e310)
            val = sum(float(c) * sqrt_float(r) for r, c in terms[l].items())
            out.append(LayerLength(l, val, tuple(terms[l].items())))
        return TrajectoryLength(tuple(out), kind, res.exact, res)
    if isinstance(path, Circle):
        res = transitions(net, path, **kwargs)
        return TrajectoryLength(_circle_lengths(net, path, res, kind), kind, False, res)
    res = transitions(net, path, **kwargs)
    return TrajectoryLength(_curve_lengths(net, path, res, kind), kind, False, res)


def _float_layers(net: Network, x, kind: str):
    """Float images of a point after each layer (display/lengths only)."""
    return [im[0] for im in _float_layers_batch(net, [x], kind)]


def _float_layers_batch(net: Network, X, kind: str):
    """Float images of the rows of ``X`` after each layer (display/lengths only):
    one array of shape (n, width) per depth 0..L.  The weights are converted to
    floats once -- converting them per point dominated the length computation."""
    import numpy as np

    X = np.asarray(X, dtype=float).reshape(-1, net.input_dim)
    nu0 = X
    if net.input_map is not None:       # nu_0 = A x + a feeds layer 1 and the skips
        A, a = net.input_map
        nu0 = X @ np.array([[float(v) for v in r] for r in A]).T \
            + np.array([float(v) for v in a])
    skips = net.skip_sources
    nus = [nu0]
    L = net.num_layers
    pres = [X]
    for l, layer in enumerate(net.layers, start=1):
        u = nus[-1]
        for s in skips.get(l, ()):
            u = u + nus[s]
        W = np.array([[float(a) for a in r] for r in layer.W]).reshape(layer.out_dim, -1)
        b = np.array([float(a) for a in layer.b])
        z = u @ W.T + b
        pres.append(z)
        if l == L:
            nus.append(z)
            break
        if net.activation == "relu":
            nu = np.maximum(z, 0)
        elif net.activation == "leaky_relu":
            nu = np.where(z >= 0, z, float(net.alpha) * z)
        else:
            nu = np.clip(z, -1, 1)
        nus.append(nu)
    return [X] + nus[1:] if kind == "post" else pres   # depth 0 is the input itself


def _polyline_float_lengths(net, pts, kind):
    import numpy as np

    return [float(np.sum(np.linalg.norm(np.diff(im, axis=0), axis=1)))
            for im in _float_layers_batch(net, pts, kind)]


def _circle_lengths(net, path: Circle, res: Transitions, kind: str):
    """Float lengths for arcs: a fine sampling that includes every breakpoint,
    of the walked arc only when the walk stopped early (up to ``res.stop``)."""
    import numpy as np

    t0, t1 = (float(a) for a in path.angles())
    if res.partial:
        t1 = res.stop
    ts = np.unique(np.concatenate([
        np.linspace(t0, t1, 4001),
        [b.value for b in res.breakpoints if t0 <= b.value <= t1]]))
    c, u, v = (np.array([float(a) for a in w]) for w in (path.center, path.u, path.v))
    pts = c + np.cos(ts)[:, None] * u + np.sin(ts)[:, None] * v
    vals = _polyline_float_lengths(net, pts, kind)
    return tuple(LayerLength(l, v) for l, v in enumerate(vals))


def _curve_lengths(net, path: Curve, res: Transitions, kind: str):
    """Float lengths of the refined polyline, of the walked part [t0, res.stop]
    only when the refinement stopped early."""
    t0, t1 = path.t_range
    if res.partial:
        t1 = res.stop
    n = 4000
    pts = [[float(a) for a in path.point(t0 + (t1 - t0) * Fraction(i, n))]
           for i in range(n + 1)]
    vals = _polyline_float_lengths(net, pts, kind)
    return tuple(LayerLength(l, v) for l, v in enumerate(vals))


# =====================================================================
# distance to the boundary of the activation region
# =====================================================================

@dataclass(frozen=True)
class BoundaryDistance:
    """Exact Euclidean distance from a point to the boundary of its activation
    region.

    ``squared`` (Fraction) is exact; ``exact`` is ``sqrt(squared)`` as a sympy
    expression and ``value`` its float.  ``nearest`` names the constraint that
    attains it: ``(layer, neuron)`` (layers from 1, neurons from 0, see
    :doc:`conventions`) or ``("domain", row)``; ``foot`` is the
    (rational) nearest boundary point.  ``hanin_rolnick`` is the neuron-wise
    estimate ``min |z(x) - theta| / ||grad z(x)||`` computed independently in
    floating point (it coincides with the exact distance to the activation
    region boundary, see :func:`distance_to_boundary`).
    """

    point: tuple
    pattern: Pattern
    squared: Fraction | None
    nearest: Any
    foot: tuple | None
    hanin_rolnick: float

    @property
    def exact(self):
        import sympy

        if self.squared is None:
            return sympy.oo
        return sympy.sqrt(sympy.Rational(self.squared.numerator, self.squared.denominator))

    @property
    def value(self) -> float:
        return math.inf if self.squared is None else math.sqrt(float(self.squared))


def _region_constraints(net: Network, pattern: Pattern):
    """Yield ``(key, a, c, sign, theta)``: the region needs sign*(a.x + c - theta) >= 0."""
    maps = net.layer_maps(pattern)
    for l, bits in enumerate(pattern, start=1):
        M, c = maps[l - 1]
        for i, piece in enumerate(bits):
            a, ci = M[i], c[i]
            if net.activation == "hard_tanh":
                if piece == 0:
                    yield (l, i), a, ci, -1, Fraction(-1)
                elif piece == 2:
                    yield (l, i), a, ci, 1, Fraction(1)
                else:
                    yield (l, i), a, ci, 1, Fraction(-1)
                    yield (l, i), a, ci, -1, Fraction(1)
            else:
                yield (l, i), a, ci, (1 if piece == 1 else -1), Fraction(0)


def _squared_distance(net: Network, x, pattern: Pattern, domain=None):
    """(d^2, key, foot): exact min over the region's constraints (see below)."""
    xq = to_mpq_vector(x)
    best = None  # (d2 as mpq, key, sign, slack, n2, a)
    for key, a, c, sign, theta in _region_constraints(net, pattern):
        aq = to_mpq_vector(a)
        n2 = sum((ai * ai for ai in aq), _ZERO)
        if n2 == 0:
            continue  # constant on the region: not a boundary
        slack = sign * (sum((ai * xi for ai, xi in zip(aq, xq)), _ZERO)
                        + mpq(c.numerator, c.denominator) - mpq(theta.numerator,
                                                                theta.denominator))
        if slack < 0:
            slack = _ZERO  # x not in this closed region: it is on its boundary
        d2 = slack * slack / n2
        if best is None or d2 < best[0]:
            best = (d2, key, -sign, slack, n2, aq)
    if domain is not None:
        A, b = domain.inequalities
        for j, (a, bj) in enumerate(zip(A, b)):
            aq = to_mpq_vector(a)
            n2 = sum((ai * ai for ai in aq), _ZERO)
            if n2 == 0:
                continue
            slack = mpq(bj.numerator, bj.denominator) - sum(
                (ai * xi for ai, xi in zip(aq, xq)), _ZERO)
            if slack < 0:
                raise DomainError(f"the point is outside the domain (row {j})")
            d2 = slack * slack / n2
            if best is None or d2 < best[0]:
                best = (d2, ("domain", j), 1, slack, n2, aq)
    if best is None:
        return None, None, None
    d2, key, direction, slack, n2, aq = best
    foot = tuple(mpq_to_fraction(xi + direction * slack / n2 * ai) for xi, ai in zip(xq, aq))
    return mpq_to_fraction(d2), key, foot


def _hanin_rolnick_float(net: Network, x) -> float:
    """min over neurons |z(x) - theta| / ||grad z(x)||, in float64 (independent
    forward-mode Jacobian; a display/cross-check value only)."""
    import numpy as np

    A, a = net.input_affine                 # nu_0 = A x + a (identity without a map)
    Af = np.array([[float(v) for v in r] for r in A]).reshape(len(A), net.input_dim)
    nus = [(Af @ np.asarray([float(v) for v in x]) + np.array([float(v) for v in a]), Af)]
    skips = net.skip_sources
    best = math.inf
    for l, layer in enumerate(net.layers[:-1], start=1):
        u, J = nus[-1][0].copy(), nus[-1][1].copy()
        for s in skips.get(l, ()):
            u = u + nus[s][0]
            J = J + nus[s][1]
        W = np.array([[float(a) for a in r] for r in layer.W])
        b = np.array([float(a) for a in layer.b])
        z, Jz = W @ u + b, W @ J
        norms = np.linalg.norm(Jz, axis=1)
        ths = (-1.0, 1.0) if net.activation == "hard_tanh" else (0.0,)
        for th in ths:
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.abs(z - th) / norms
            r = r[norms > 0]
            if r.size:
                best = min(best, float(r.min()))
        if net.activation == "relu":
            on = (z >= 0).astype(float)
            nus.append((z * on, Jz * on[:, None]))
        elif net.activation == "leaky_relu":
            f = np.where(z >= 0, 1.0, float(net.alpha))
            nus.append((z * f, Jz * f[:, None]))
        else:
            lin = (np.abs(z) <= 1).astype(float)
            nus.append((np.clip(z, -1, 1), Jz * lin[:, None]))
    return best


def distance_to_boundary(net: Network, x: Any, domain: Any = None) -> BoundaryDistance:
    """Exact Euclidean distance from ``x`` to the boundary of its activation region.

    The region of ``p = net.pattern(x)`` is the convex polyhedron
    ``P = {y : s_i (a_i . y + c_i - theta_i) >= 0}`` (one inequality per neuron
    and threshold, ``a_i`` the exact gradient of the pre-activation on the
    region, from ``net.layer_maps(p)``).  **Claim**: for ``x`` in ``P``,
    ``dist(x, boundary P) = min_i slack_i(x) / ||a_i||`` over *all* the
    inequalities, redundant ones included.  Proof: (<=) the ball of that radius
    satisfies every inequality, so it lies in ``P``; (>=) for each ``i`` the
    hyperplane ``H_i`` misses the interior of ``P`` (which lies strictly inside
    the half-space), so the distance to ``H_i`` is at least the distance to
    the boundary -- the nearest point of ``H_i`` may lie outside the facet, but
    then a nearer boundary point exists and the minimum is attained elsewhere.
    Hence no redundancy removal is needed; squared distances
    ``slack^2 / ||a||^2`` are compared exactly as Fractions, and the nearest
    boundary point (``foot``) is rational.  Neurons constant on the region
    (zero gradient) contribute no boundary.  With ``domain`` (a Polyhedron of
    inequalities) its faces count as boundary too.

    This equals the Hanin-Rolnick neuron-wise quantity ``min |z(x)|/||grad z||``
    for the *activation* region; the distance to the boundary of the *linear*
    region (where the network's gradient jumps) can be larger.

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 1], [1, -1]], [0, 0]), ([[1, 1]], [0])])
    >>> d = distance_to_boundary(net, [3, 1])
    >>> d.squared, d.exact, d.nearest
    (Fraction(2, 1), sqrt(2), (1, 1))
    """
    xv = _vec(x, "point")
    if len(xv) != net.input_dim:
        raise ShapeError(f"point has {len(xv)} coordinates, the network has "
                         f"{net.input_dim} inputs")
    domain = as_domain(domain, net.input_dim,
                       why="distance_to_boundary measures within the interior of D")
    pattern = net.pattern(xv)
    d2, key, foot = _squared_distance(net, xv, pattern, domain)
    if d2 is None:  # no boundary at all (an affine network on R^d)
        return BoundaryDistance(xv, pattern, None, None, None, math.inf)
    return BoundaryDistance(xv, pattern, d2, key, foot, _hanin_rolnick_float(net, xv))


# =====================================================================
# 1-D data manifolds (data-geometry paper, section 4 and appendix H)
# =====================================================================

def unit_circle() -> Circle:
    """The unit circle ``psi(theta) = (cos theta, sin theta)`` in R^2.

    >>> unit_circle().closed
    True
    """
    return Circle([0, 0], [1, 0], [0, 1])


def tractrix(t0: Any = -3, t1: Any = 3, *, prec: int = 64) -> Curve:
    """The tractrix ``psi(t) = (t - tanh t, sech t)`` on ``(t0, t1)`` (default (-3, 3)).

    Not algebraic, so it is a :class:`Curve`: points are computed with mpmath at
    ``prec`` bits and converted exactly; ``error = 2^-(prec - 8)`` bounds the
    distance to the true point (mpmath's elementary functions are accurate to a
    few ulps), and ``|psi'(t)| = |tanh t| <= 1`` gives ``lipschitz = 1``.  Arc
    length from 0 is ``sign(t) log cosh t``.

    >>> tractrix().point(0)
    (Fraction(0, 1), Fraction(1, 1))
    """
    import mpmath

    def func(t: Fraction):
        with mpmath.workprec(prec):
            tt = mpmath.mpf(t.numerator) / t.denominator
            a = tt - mpmath.tanh(tt)
            b = mpmath.sech(tt)
            return (_mpf_fraction(a), _mpf_fraction(b))

    def arc(a: float, b: float) -> float:
        s = lambda t: math.copysign(math.log(math.cosh(t)), t)  # noqa: E731
        return abs(s(b) - s(a))

    return Curve(func, (t0, t1), lipschitz=1, error=Fraction(1, 2 ** (prec - 8)),
                 name="tractrix", arc_length=arc)


def _mpf_fraction(x) -> Fraction:
    """An mpmath mpf as an exact Fraction (it is a dyadic rational)."""
    sign, man, exp, _ = x._mpf_
    v = Fraction(int(man)) * (Fraction(2) ** int(exp))
    return -v if sign else v


def _cayley_orthonormal(n: int, seed: int):
    """Two exactly orthonormal rational vectors in R^n (Cayley transform of a
    random skew-symmetric rational matrix: Q = (I - A)(I + A)^-1 is orthogonal)."""
    import random

    from .linalg import identity, matmul, solve, transpose

    rng = random.Random(seed)
    A = [[Fraction(0)] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            a = Fraction(rng.randint(-4, 4), 4)
            A[i][j], A[j][i] = a, -a
    I_ = identity(n)
    IpA = [[I_[i][j] + A[i][j] for j in range(n)] for i in range(n)]
    ImA = [[I_[i][j] - A[i][j] for j in range(n)] for i in range(n)]
    cols: list[Any] = []
    for j in range(2):  # column j of (I + A)^-1 ... then multiply
        e = [Fraction(int(i == j)) for i in range(n)]
        cols.append(solve(IpA, e))
    Q2 = matmul(ImA, transpose(cols))  # n x 2: first two columns of Q
    return tuple(r[0] for r in Q2), tuple(r[1] for r in Q2)


def embedded_circle(n: int, seed: int = 0) -> Circle:
    """A unit circle in R^n spanned by two exactly orthonormal rational vectors.

    >>> c = embedded_circle(5, seed=1)
    >>> sum(a * a for a in c.u), sum(a * b for a, b in zip(c.u, c.v))
    (Fraction(1, 1), Fraction(0, 1))
    """
    if n < 2:
        raise DomainError("a circle needs n >= 2")
    u, v = _cayley_orthonormal(n, seed)
    return Circle([0] * n, u, v)


@dataclass(frozen=True)
class ManifoldRegions:
    """Regions on a 1-D manifold and the mean distance to the nearest boundary.

    ``activation_pieces`` / ``linear_pieces``: pieces of the curve with one
    activation pattern / one affine map; ``mean_distance_along``: mean over the
    samples of the distance *along the curve* to the nearest transition (float;
    for a :class:`Curve` without ``arc_length`` it is ``lipschitz * |dt|``, an
    upper bound);
    ``mean_distance_euclidean``: mean exact Euclidean distance from the samples
    to their region boundary (each exact; the mean as a float).
    """

    transitions: Transitions
    activation_pieces: int
    linear_pieces: int
    mean_distance_along: float
    mean_distance_euclidean: float
    samples: int
    exact: bool


def manifold_regions(net: Network, manifold: Any, samples: int = 100,
                     **kwargs: Any) -> ManifoldRegions:
    """Count regions on a 1-D manifold and average the distance to the boundary.

    ``manifold``: a :class:`Circle` (exact), a :class:`Curve` (certified
    refinement) or a polyline.  Samples are uniform in the parameter (angle or
    ``t``), as in the data-geometry paper (appendix H); on a circle they are
    exact rational points of the circle.

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])])
    >>> m = manifold_regions(net, unit_circle(), samples=8)
    >>> m.activation_pieces, m.linear_pieces
    (4, 4)
    """
    manifold = _as_path(manifold)
    res = transitions(net, manifold, **kwargs)
    pts, params = _manifold_samples(manifold, samples)
    eu = []
    for x in pts:
        d = distance_to_boundary(net, x)
        eu.append(d.value if d.squared is not None else math.inf)
    along = _along_distances(manifold, res, params)
    mean = lambda v: sum(v) / len(v) if v else float("nan")  # noqa: E731
    return ManifoldRegions(res, res.num_pieces, res.num_linear_pieces, mean(along),
                           mean(eu), len(pts), res.exact)


def _manifold_samples(m, n: int, max_denominator: int = 10**6):
    if isinstance(m, Circle):
        t0, t1 = (float(a) for a in m.angles())
        pts, params = [], []
        for j in range(n):
            th = t0 + (t1 - t0) * (j + 0.5) / n
            # exact circle point at the angle 2 atan(s) with s a rational near tan(th/2)
            k = math.floor(th / (math.pi / 2))
            s = Fraction(math.tan((th - k * math.pi / 2) / 2)).limit_denominator(
                max_denominator)
            uk, vk = {0: (m.u, m.v), 1: (m.v, tuple(-a for a in m.u)),
                      2: (tuple(-a for a in m.u), tuple(-a for a in m.v)),
                      3: (tuple(-a for a in m.v), m.u)}[k % 4]
            ca, sa = (1 - s * s) / (1 + s * s), 2 * s / (1 + s * s)
            pts.append(tuple(c + ca * a + sa * b for c, a, b in zip(m.center, uk, vk)))
            params.append(k * math.pi / 2 + 2 * math.atan(float(s)))
        return pts, params
    if isinstance(m, Curve):
        t0, t1 = m.t_range
        ts = [t0 + (t1 - t0) * Fraction(2 * j + 1, 2 * n) for j in range(n)]
        return [m.point(t) for t in ts], [float(t) for t in ts]
    segs = m._segments()
    pts, params = [], []
    for j in range(n):
        g = Fraction(len(segs) * (2 * j + 1), 2 * n)
        i = min(int(g), len(segs) - 1)
        p, q = segs[i]
        t = g - i
        pts.append(tuple(a + t * (b - a) for a, b in zip(p, q)))
        params.append(float(g))
    return pts, params


def _along_distances(m, res: Transitions, params):
    """Distance along the curve from each sample parameter to the nearest breakpoint."""
    bps = [b.value for b in res.breakpoints]
    if not bps:
        return [math.inf] * len(params)
    if isinstance(m, Circle):
        S, total = _circle_arc_positions(m, list(params) + bps)
        Sp, Sb = S[:len(params)], S[len(params):]
        out = []
        for sp in Sp:
            dmin = math.inf
            for sb in Sb:
                d = abs(sp - sb)
                dmin = min(dmin, d, total - d) if m.closed else min(dmin, d)
            out.append(dmin)
        return out
    if isinstance(m, Curve) and m.arc_length is not None:
        return [min(m.arc_length(p, b) for b in bps) for p in params]
    if isinstance(m, Curve):
        return [min(abs(p - b) for b in bps) * float(m.lipschitz or 1) for p in params]
    segs = m._segments()
    lens = [math.dist([float(a) for a in p], [float(a) for a in q]) for p, q in segs]
    cum = [0.0]
    for x in lens:
        cum.append(cum[-1] + x)

    def arc(g: float) -> float:
        i = min(int(g), len(segs) - 1)
        return cum[i] + (g - i) * lens[i]

    return [min(abs(arc(p) - arc(b)) for b in bps) for p in params]


def _circle_arc_positions(m: Circle, ts: list) -> tuple[list, float]:
    """Arc length from the start angle to each angle in ``ts`` (floats), and the
    length of the whole arc.

    The speed is ``|x'(t)| = sqrt(|u|^2 sin^2 t - 2 u.v sin t cos t + |v|^2
    cos^2 t)``; for a circle (``|u| = |v|``, ``u.v = 0``, checked exactly) it is
    the radius, otherwise (an ellipse) the arc length is an elliptic integral,
    computed by adaptive quadrature between consecutive angles.
    """
    A = sum(a * a for a in m.u)
    B = sum(a * b for a, b in zip(m.u, m.v))
    C = sum(b * b for b in m.v)
    t0, t1 = (float(a) for a in m.angles())
    if A == C and B == 0:
        r = math.sqrt(float(A))
        return [r * (t - t0) for t in ts], r * (t1 - t0)
    from scipy.integrate import quad

    Af, Bf, Cf = float(A), float(B), float(C)

    def speed(t: float) -> float:
        st, ct = math.sin(t), math.cos(t)
        return math.sqrt(max(0.0, Af * st * st - 2 * Bf * st * ct + Cf * ct * ct))

    order = sorted(set(ts) | {t0, t1})
    pos = {order[0]: 0.0}
    acc = 0.0
    for a, b in zip(order, order[1:]):
        # a reported float length (elliptic integral), never compared to decide
        acc += quad(speed, a, b, epsabs=0.0, epsrel=1e-12, limit=200)[0]
        pos[b] = acc
    return [pos[t] - pos[t0] for t in ts], pos[t1] - pos[t0]


def gaussian_network(widths: Sequence[int], sigma_w: float = 1.0, sigma_b: float = 0.0,
                     seed: int = 0, activation: str = "relu",
                     max_denominator: int = 2**12, skips: Any = None) -> Network:
    """Raghu et al.'s random network: weights ``N(0, sigma_w^2 / k_in)``, biases
    ``N(0, sigma_b^2)``, rounded to fractions with denominator at most
    ``max_denominator`` (the largest change is in ``net.rounding_error``);
    from then on everything is exact.

    >>> net = gaussian_network([2, 8, 8, 1], sigma_w=2, sigma_b=1, seed=0)
    >>> net.architecture, net.rounding_error <= Fraction(1, 2 * 2**12)
    ('2-8-8-1', True)
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    layers = []
    for a, b in zip(widths[:-1], widths[1:]):
        W = rng.normal(0.0, sigma_w / math.sqrt(a), size=(b, a))
        bias = rng.normal(0.0, sigma_b, size=b) if sigma_b else np.zeros(b)
        layers.append((W.tolist(), bias.tolist()))
    return Network.from_weights(layers, skips=skips, activation=activation,
                                max_denominator=max_denominator)


def inscribed_polygon(circle: Circle, n: int, max_denominator: int = 10**4) -> Polyline:
    """A closed polygon with ``n`` vertices exactly on ``circle`` (nearly uniform
    in angle: each vertex is at the angle 2 atan(s) for a rational s close to
    the uniform angle's tan, so its coordinates are rational).

    >>> P = inscribed_polygon(unit_circle(), 8)
    >>> all(x * x + y * y == 1 for x, y in P.points), P.closed
    (True, True)
    """
    if not circle.closed:
        raise DomainError("inscribed_polygon needs a full circle")
    pts, _ = _manifold_samples(circle, n, max_denominator=max_denominator)
    return Polyline(pts, closed=True)
