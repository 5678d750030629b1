"""Standalone checker of polyrelu result files (standard library only).

Run ``python -m polyrelu.check FILE`` or ``polyrelu check FILE``; on a machine
without polyrelu, copy this one file and run ``python -I check.py FILE``.  It
never imports the rest of polyrelu, numpy or cdd: everything is recomputed
from the network weights written in the file, in exact integer and
:class:`fractions.Fraction` arithmetic.  It prints one line and exits with

* 0 -- every claim of the file is verified and the result is complete;
* 1 -- a claim is false, or the file is malformed or truncated (the line
  names the record, region, facet or vertex);
* 2 -- the file cannot be read as a polyrelu result (missing, another format,
  an unknown version or kind);
* 3 -- every claim the file makes is verified, but the result is partial
  (a limit stopped the enumeration) or carries no checkable certificate.

File format (version 1, JSON Schema files in ``polyrelu/schemas``)
---------------------------------------------------------------------
Every result is ``{"format": "polyrelu-result", "version": 1, "kind": K,
"kind_version": 1, ...}`` (exact numbers are strings such as ``"-3/4"``);
:data:`KINDS` is the registry of kinds this checker knows and their newest
version, :data:`RESERVED_KINDS` are defined for later versions (the
bound-and-split equivalence proof, robustness and Lipschitz answers): a file
of such a kind is refused with exit code 2 rather than half-checked.
A network file (``"format": "polyrelu-network"``, versions 1-2) is checked
for being well formed.

* ``partition`` -- JSON Lines: a header line with the network (or the path
  and SHA-256 of a network file), the domain, ``status`` (region count,
  ``partial``, ``reason``), then one region record per line.
* ``region`` -- one region (``polyrelu regions --at``): the record, the
  query point and the exact distance from it to the region's boundary.
* ``equivalence`` -- two networks and a verdict with its proof: a symmetry
  certificate (permutations and positive scalings) or a counterexample.

A region record: ``pattern`` (one digit string per hidden layer), ``point``
(interior point), ``map`` (``{"M", "c"}``: the network on the region is
``M x + c``), ``facets`` (constraint labels ``[layer, neuron]``, with a third
entry ``-1``/``1`` naming the threshold of a hard-tanh unit, or ``[0, j]`` for
row ``j`` of the domain), the vertices either as coordinates (``vertices``)
or compactly (``vertex_keys``: equal keys denote one point of the file;
``vertex_bases``: ``d`` facet indices whose hyperplanes meet at the vertex),
and optionally the facet rows themselves (``inequalities``: ``A x <= b``).

What is proved, and why (bounded domains)
-----------------------------------------
Notation: ``z_{l,i}`` is the pre-activation of neuron ``i`` of hidden layer
``l``; for a pattern ``P`` the map ``z^P_{l,i}(x)`` is affine and depends only
on the bits of layers ``< l`` (J&V Theorem 2.2; skips, leaky ReLU slopes, the
three hard-tanh pieces and an input map ``x = A t + a`` are part of the
recurrence).  The checker computes every ``z^P`` exactly as integer rows over a
common scale per layer, sharing the maps of common pattern prefixes.  The
*region* ``R_P`` is ``{x in D : each z^P has the sign its bit says}``.

(a) *Membership by signs.*  ``x`` lies in ``R_P`` iff ``x in D`` and the true
pre-activations ``z(x)`` have signs compatible with ``P`` (zero is compatible
with both bits).  Indeed, by induction over the layers, compatibility up to
layer ``l`` gives ``z^P_{l+1}(x) = z_{l+1}(x)`` because ``sigma`` of both pieces
agree where they meet.  So a vertex's sign vector, computed once from any
region's maps *and found compatible with that region*, is the true one, and
its membership in every other region is a bitmask test.

(b) *Each record is its region, exactly.*  Listed facets are defining
constraints of ``R_P`` (rows recomputed from the weights; if the file gives the
rows, each must be a positive multiple), so ``R_P`` lies in the polyhedron
``H_P`` they define.  Every listed vertex lies in ``R_P`` by (a).  The vertices
are the whole vertex set of ``H_P``: a start vertex has tight rows of rank
``d``; at a vertex whose tight listed facets ``T(v)`` are exactly ``d`` (a simple
vertex) every ``d - 1`` of them span an edge, and a listed point ``u != v``
tight on those ``d - 1`` and on one more facet is that edge's other end (a
valid row tight inside a segment of ``H_P`` is tight on all of it); at a
degenerate vertex the edges are the extreme rays of the tangent cone,
enumerated from ``(d-1)``-subsets of ``T(v)``.  Every edge of every reached
vertex must end at a listed vertex, and all listed vertices must be reached:
the graph of a polytope is connected, so ``V`` is its whole vertex set, no edge
is a ray (``H_P`` is bounded) and ``H_P = conv V``, a subset of ``R_P``.  Hence
``R_P = H_P``.  A facet tight at a simple vertex is a facet; one tight only at
degenerate vertices must have vertices of affine rank ``d - 1``; two facets
may not share their vertex set (no repeated hyperplane): the listed facets
are the minimal H-representation.  The interior point satisfies every facet
strictly, so ``R_P`` is full-dimensional: ``P`` is an activation region.  A
neuron constant on the region must have the bit the SPEC tie rule gives it
(identically zero: inactive; hard tanh: the piece of the constant).  The
affine map is compared with the recomputed output map.

(c) *Interiors are disjoint.*  Two different valid patterns differ first in a
neuron whose map is the same on both (same earlier bits); it is not constant
(constant neurons have forced bits), so its hyperplane separates the two
regions.  Patterns must be distinct.

(d) *The regions cover D* (not using volumes).  Let ``F`` be a facet of
``R_P`` on hyperplane ``H`` that does not lie in the boundary of ``D``, and
``N(F)`` the neurons zero at all vertices of ``F`` (they vanish on ``H``).
Some listed pattern ``Q != P`` must agree with ``P`` outside ``N(F)``.  Then
every vertex of ``F`` lies in ``R_Q`` by (a) (their signs agree with ``Q``
outside ``N(F)`` and are zero on it): the shared facet's points are checked,
``F`` lies in ``R_Q``, and as ``R_Q`` is full-dimensional with interior
disjoint from ``R_P`` it contains the outer half of a neighbourhood of every
point of the relative interior of ``F``.  Now if a point ``y`` of the
interior of ``D`` were in no region, walk from a generic interior point of some
region to ``y``; the first point where the segment leaves the union lies in
the relative interior of a facet of some region (generic segments miss the
faces of dimension ``<= d - 2``) inside ``D``'s interior, and the region across
it continues the segment -- a contradiction.  So the union, a closed set,
contains the interior of ``D`` and hence ``D``.

(e) *Volumes (2-D and 3-D).*  The regions' exact areas (volumes) sum to the
domain's.  Summing shoelace (divergence-theorem) terms region by region would
need huge common denominators; grouped by supporting line (plane) they cancel
term by term: every directed edge ``a -> b`` on a line contributes its end
points with coefficients ``+1`` at ``b`` and ``-1`` at ``a``, the contribution of
a line is a linear function of those coefficients, and all coefficients on
interior lines (planes) must cancel exactly while those on the domain's faces
must be the domain's own.  Then the sum of the areas is the domain's area,
exactly, with integer bookkeeping only.

(f) *Equivalence.*  A symmetry certificate is applied to the weights of ``g``
(``W_f[l][i][j] = s[l][i] W_g[l][p[l][i]][p[l-1][j]] / s[l-1][j]``, SPEC) and
must give ``f`` exactly; with positive homogeneity of the activation this
proves ``f = g`` everywhere.  A certificate of the *reduced* networks comes
with the steps of :func:`polyrelu.reduce`; each is replayed and proved
function-preserving on the domain: a removed unit is constant there by exact
interval bounds propagated from the domain's box (its value is folded into
the next bias), a twin's incoming weights are a positive multiple of its
partner's, a unit without outgoing weights does nothing, a folded layer is
affine on the domain; the replay must end at the reduced network of the
proof.  A counterexample is evaluated exactly in both networks and must lie
in the domain.

(g) *Unbounded regions* (the whole space ``R^d`` or an unbounded polyhedron
as domain).  A record lists its vertices and the extreme rays of its
recession cone.  Everything above is done on the homogenised cone
``{(x, w) : g . (x, w) >= 0 for the listed facets, w >= 0}``, whose extreme
rays are ``(v, 1)`` for the vertices and ``(r, 0)`` for the rays: the walk
over its 2-faces is the same walk, with ``w >= 0`` as one more (pseudo)
facet.  A ray's signs are those of the linear parts of the region's own maps
(a recession direction satisfies every constraint's linear part), so they are
computed per region, not shared; a facet's neurons ``N(F)`` vanish at its
vertices and along its rays, hence on its hyperplane, and the neighbour's
maps agree with the region's there, so (d) holds as before.  Regions that
contain a line (no vertex) are not supported.  No volume check.

>>> main(["--version"])
polyrelu-check 1
0
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from fractions import Fraction
from itertools import combinations
from math import gcd
from operator import mul
from typing import Any

__all__ = ["FORMAT", "VERSION", "NETWORK_FORMAT", "KINDS", "RESERVED_KINDS",
           "CheckFailed", "Unreadable", "Report", "check_file", "network_digest", "main"]

FORMAT = "polyrelu-result"
#: envelope version this checker reads and polyrelu writes
VERSION = 1
NETWORK_FORMAT = "polyrelu-network"
NETWORK_VERSIONS = (1, 2)
#: kind -> newest kind_version this checker verifies
KINDS = {"partition": 1, "region": 1, "equivalence": 1}
#: kinds defined by the schema for later checkers; refused here (exit code 2)
RESERVED_KINDS = {
    "equivalence-proof": "a bound-and-split equivalence proof (a tree of closed cells "
                         "with bound certificates such as LP dual multipliers)",
    "robustness": "an exact robustness radius with its witness and covering cells",
    "lipschitz": "an exact Lipschitz constant with the region attaining it",
}
EXIT_OK, EXIT_FAILED, EXIT_UNREADABLE, EXIT_INCOMPLETE = 0, 1, 2, 3
_PRIME = (1 << 61) - 1
#: partitions with fewer records are checked in one process
PARALLEL_MIN = 2000


class CheckFailed(Exception):
    """A claim of the file is false, or the file is malformed (exit code 1)."""


class Unreadable(Exception):
    """Not a result file this checker reads (exit code 2)."""


class Report:
    """Outcome of a check: ``code`` (exit code), ``message`` (one line), ``stats``."""

    def __init__(self, code: int, message: str, stats: dict | None = None) -> None:
        self.code = code
        self.message = message
        self.stats = stats or {}

    def __repr__(self) -> str:
        return f"Report({self.code}, {self.message!r})"


# ---------------------------------------------------------------------------
# numbers
# ---------------------------------------------------------------------------

def _q(v, where: str) -> Fraction:
    """An exact rational from a string ("-3/4", "2", "0.25") or a JSON integer."""
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise CheckFailed(f"{where}: expected an exact number as a string, got {v!r}")
    if isinstance(v, int):
        return Fraction(v)
    try:
        if "/" in v:
            p, _, q = v.partition("/")
            return Fraction(int(p), int(q))
        return Fraction(v)
    except (ValueError, ZeroDivisionError):
        raise CheckFailed(f"{where}: {v!r} is not an exact rational number") from None


def _parts(v, where: str) -> tuple:
    """(p, q), q > 0, of an exact number with p / q its value (not reduced)."""
    if isinstance(v, str) and "." not in v and "e" not in v.lower():
        p, sep, q = v.partition("/")
        try:
            a, b = int(p), int(q) if sep else 1
        except ValueError:
            raise CheckFailed(f"{where}: {v!r} is not an exact rational number") from None
        if b > 0:
            return a, b
        if b < 0:
            return -a, -b
    x = _q(v, where)
    return x.numerator, x.denominator


def _vec(v, where: str, n: int | None = None) -> list:
    if not isinstance(v, list):
        raise CheckFailed(f"{where}: expected a list of numbers")
    if n is not None and len(v) != n:
        raise CheckFailed(f"{where}: expected {n} entries, got {len(v)}")
    return [_q(x, f"{where}[{i}]") for i, x in enumerate(v)]


def _mat(M, where: str, rows: int | None = None, cols: int | None = None) -> list:
    if not isinstance(M, list) or (rows is not None and len(M) != rows):
        raise CheckFailed(f"{where}: expected a list of {rows if rows is not None else ''}"
                          f" rows".replace("  ", " "))
    return [_vec(r, f"{where} row {i}", cols) for i, r in enumerate(M)]


def _lcm(a: int, b: int) -> int:
    return a // gcd(a, b) * b


def _int_row(vals) -> tuple[list, int]:
    """Fractions -> (integers, common positive denominator)."""
    den = 1
    for v in vals:
        den = _lcm(den, v.denominator)
    return [v.numerator * (den // v.denominator) for v in vals], den


def _homogeneous(vals) -> tuple:
    """A rational point -> primitive homogeneous integers (X_1..X_d, W), W > 0."""
    X, W = _int_row(vals)
    return tuple(X) + (W,)


def _primitive(v) -> tuple:
    g = 0
    for x in v:
        g = gcd(g, x)
    if g > 1:
        return tuple(x // g for x in v)
    return tuple(v)


def _fstr(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def _det(M) -> int:
    """Determinant of a square integer matrix (Bareiss, exact)."""
    n = len(M)
    A = [list(r) for r in M]
    sign, prev = 1, 1
    for k in range(n - 1):
        if A[k][k] == 0:
            sw = next((i for i in range(k + 1, n) if A[i][k]), None)
            if sw is None:
                return 0
            A[k], A[sw] = A[sw], A[k]
            sign = -sign
        akk = A[k][k]
        for i in range(k + 1, n):
            aik = A[i][k]
            row_i, row_k = A[i], A[k]
            for j in range(k + 1, n):
                row_i[j] = (row_i[j] * akk - aik * row_k[j]) // prev
        prev = akk
    return sign * A[n - 1][n - 1]


def _laplace4(k: int) -> list:
    cols = [c for c in range(5) if c != k]
    out = []
    for ia in range(4):
        for ib in range(ia + 1, 4):
            oa, ob = [cols[m] for m in range(4) if m not in (ia, ib)]
            out.append((-1 if (ia + ib + 1) % 2 else 1, cols[ia], cols[ib], oa, ob))
    return out


# Laplace expansion of the 4x4 minors of a 4x5 matrix along its first two rows
_LAPLACE4 = [_laplace4(k) for k in range(5)]


def _null_vector(rows, n: int):
    """The generator of the null space of ``len(rows) = n - 1`` integer rows in
    Z^n (generalized cross product), or None if their rank is below n - 1."""
    if n == 3:
        (a0, a1, a2), (b0, b1, b2) = rows
        out3 = (a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0)
        return _primitive(out3) if any(out3) else None
    if n in (4, 5):
        # maximal minors by Laplace expansion along the first two rows
        # (2x2 minors shared between the n cofactors)
        r0, r1 = rows[0], rows[1]
        top = {(i, j): r0[i] * r1[j] - r0[j] * r1[i]
               for i in range(n) for j in range(i + 1, n)}
        rest = rows[2:]
        out = []
        for k in range(n):
            cols = [c for c in range(n) if c != k]
            if n == 4:              # 3x3: expand the last row
                (c0, c1, c2), r2 = cols, rest[0]
                det = (top[(c0, c1)] * r2[c2] - top[(c0, c2)] * r2[c1]
                       + top[(c1, c2)] * r2[c0])
            else:                   # 4x4: sum over the 2-subsets of the columns
                r2, r3 = rest
                det = 0
                for sign, ca, cb, oa, ob in _LAPLACE4[k]:
                    det += sign * top[(ca, cb)] * (r2[oa] * r3[ob] - r2[ob] * r3[oa])
            out.append(-det if k % 2 else det)
        return _primitive(out) if any(out) else None
    out = []
    for k in range(n):
        minor = [[r[j] for j in range(n) if j != k] for r in rows]
        out.append((-1) ** k * _det(minor) if minor else 1)
    if not any(out):
        return None
    return _primitive(out)


def _rank_mod_p(rows) -> int:
    M = [[v % _PRIME for v in r] for r in rows]
    rank = 0
    ncols = len(M[0]) if M else 0
    for c in range(ncols):
        piv = next((k for k in range(rank, len(M)) if M[k][c]), None)
        if piv is None:
            continue
        M[rank], M[piv] = M[piv], M[rank]
        p = M[rank]
        inv = pow(p[c], -1, _PRIME)
        for k in range(rank + 1, len(M)):
            f = M[k][c]
            if f:
                f = f * inv % _PRIME
                M[k] = [(x - f * y) % _PRIME for x, y in zip(M[k], p)]
        rank += 1
    return rank


def _rank(rows) -> int:
    """Exact rank of integer vectors (modular first: a rank found mod p is a
    lower bound of the true rank that is exact when it is full)."""
    if not rows:
        return 0
    r = _rank_mod_p(rows)
    if r == min(len(rows), len(rows[0])):
        return r
    M = [[Fraction(v) for v in row] for row in rows]
    rank = 0
    for c in range(len(M[0])):
        piv = next((k for k in range(rank, len(M)) if M[k][c]), None)
        if piv is None:
            continue
        M[rank], M[piv] = M[piv], M[rank]
        p = M[rank]
        for k in range(rank + 1, len(M)):
            f = M[k][c] / p[c]
            if f:
                M[k] = [x - f * y for x, y in zip(M[k], p)]
        rank += 1
    return rank


def _null_space(rows, n: int) -> list:
    """A basis of the rational null space of integer rows in Q^n (integer vectors)."""
    M = [[Fraction(v) for v in r] for r in rows]
    piv_cols = []
    rank = 0
    for c in range(n):
        piv = next((k for k in range(rank, len(M)) if M[k][c]), None)
        if piv is None:
            continue
        M[rank], M[piv] = M[piv], M[rank]
        p = M[rank]
        M[rank] = p = [x / p[c] for x in p]
        for k in range(len(M)):
            if k != rank and M[k][c]:
                f = M[k][c]
                M[k] = [x - f * y for x, y in zip(M[k], p)]
        piv_cols.append(c)
        rank += 1
    basis = []
    for free in (c for c in range(n) if c not in piv_cols):
        v = [Fraction(0)] * n
        v[free] = Fraction(1)
        for r, c in enumerate(piv_cols):
            v[c] = -M[r][free]
        basis.append(_primitive(_int_row(v)[0]))
    return basis


# ---------------------------------------------------------------------------
# network
# ---------------------------------------------------------------------------

def network_digest(doc: dict) -> str:
    """SHA-256 of a network document in canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class Net:
    """A network read from its document, with integer layer data.

    Layer ``l`` (1..L) is ``z_l = (Wn_l u_l + bn_l) / D_l``; post-activation maps
    of layer ``m`` have the fixed scale ``T[m]`` and pre-activation maps of
    layer ``l`` the scale ``S[l]`` (independent of the pattern).
    """

    def __init__(self, doc, where: str = "network") -> None:
        if not isinstance(doc, dict) or doc.get("format") != NETWORK_FORMAT:
            raise CheckFailed(f"{where}: not a polyrelu network document (format "
                              f"{doc.get('format') if isinstance(doc, dict) else None!r})")
        if doc.get("version") not in NETWORK_VERSIONS:
            raise Unreadable(f"{where}: network format version {doc.get('version')!r} is "
                             f"not one of {NETWORK_VERSIONS}")
        act = doc.get("activation", "relu")
        if act not in ("relu", "leaky_relu", "hard_tanh"):
            raise CheckFailed(f"{where}: unknown activation {act!r}")
        self.act = act
        alpha = _q(doc.get("alpha", "0"), f"{where} alpha")
        if act == "leaky_relu":
            self.alpha = alpha
        elif alpha != 0:
            raise CheckFailed(f"{where}: alpha {alpha} given for {act}")
        else:
            self.alpha = Fraction(0)
        layers = doc.get("layers")
        if not isinstance(layers, list) or not layers:
            raise CheckFailed(f"{where}: 'layers' must be a non-empty list")
        self.W: list = [None]                 # 1-based
        self.b: list = [None]
        prev = None
        for l, lay in enumerate(layers, start=1):
            if not isinstance(lay, dict):
                raise CheckFailed(f"{where} layer {l}: expected {{'W', 'b'}}")
            W = _mat(lay.get("W"), f"{where} layer {l} W")
            if not W or not W[0] or any(len(r) != len(W[0]) for r in W):
                raise CheckFailed(f"{where} layer {l}: W must be a non-empty rectangular "
                                  f"matrix")
            b = _vec(lay.get("b"), f"{where} layer {l} b", len(W))
            if prev is not None and len(W[0]) != prev:
                raise CheckFailed(f"{where} layer {l}: W has {len(W[0])} columns but layer "
                                  f"{l - 1} has {prev} outputs")
            prev = len(W)
            self.W.append(W)
            self.b.append(b)
        self.L = len(layers)
        n0 = len(self.W[1][0])
        self.widths = [n0] + [len(self.W[l]) for l in range(1, self.L + 1)]
        skips = doc.get("skips") or {}
        if not isinstance(skips, dict):
            raise CheckFailed(f"{where}: 'skips' must be an object")
        self.skips: dict[int, tuple] = {}
        for t, srcs in skips.items():
            try:
                ti = int(t)
            except ValueError:
                raise CheckFailed(f"{where}: skip target {t!r} is not a layer") from None
            if not isinstance(srcs, list) or not all(
                    isinstance(s, int) and not isinstance(s, bool) for s in srcs):
                raise CheckFailed(f"{where}: skips[{t!r}] must list layer indices")
            if not 2 <= ti <= self.L:
                raise CheckFailed(f"{where}: skip target {ti} out of range 2..{self.L}")
            for s in srcs:
                if not 0 <= s < ti - 1 or self.widths[s] != self.widths[ti - 1]:
                    raise CheckFailed(f"{where}: skip {s} -> {ti} is invalid (source must "
                                      f"be < target - 1 with the same width)")
            if srcs:
                self.skips[ti] = tuple(sorted(set(srcs)))
        self.input_map = None
        if "input_map" in doc:
            if doc["version"] < 2:
                raise CheckFailed(f"{where}: 'input_map' needs network version 2")
            im = doc["input_map"]
            if not isinstance(im, dict):
                raise CheckFailed(f"{where}: 'input_map' must be {{'A', 'a'}}")
            A = _mat(im.get("A"), f"{where} input_map A", n0)
            if not A[0] or any(len(r) != len(A[0]) for r in A):
                raise CheckFailed(f"{where}: input_map A must be rectangular")
            self.input_map = (A, _vec(im.get("a"), f"{where} input_map a", n0))
        self.d = len(self.input_map[0][0]) if self.input_map else n0
        arch = doc.get("architecture")
        mine = "-".join(str(w) for w in [self.d] + self.widths[1:])
        if arch is not None and arch != mine:
            raise CheckFailed(f"{where}: 'architecture' says {arch!r} but the weights "
                              f"have shape {mine}")
        self.architecture = mine
        self._integer_data()

    @property
    def hidden(self) -> list:
        return self.widths[1:self.L]

    # -- integer data -------------------------------------------------------
    def _integer_data(self) -> None:
        d = self.d
        if self.act == "leaky_relu":
            self.an, self.ad = self.alpha.numerator, self.alpha.denominator
        else:
            self.an, self.ad = 0, 1
        # post map of layer 0 (nu_0): columns k = 0..d (d: constant term)
        if self.input_map is None:
            P0 = [[int(i == k) for i in range(d)] for k in range(d)] + [[0] * d]
            T0 = 1
        else:
            A, a = self.input_map
            vals = [v for r in A for v in r] + list(a)
            _, T0 = _int_row(vals)
            P0 = [[A[i][k].numerator * (T0 // A[i][k].denominator) for i in range(len(A))]
                  for k in range(d)]
            P0.append([a[i].numerator * (T0 // a[i].denominator) for i in range(len(A))])
        self.P0: list = P0
        self.T: list = [T0]
        self.Wn: list = [None]
        self.Wcols: list = [None]
        self.bn: list = [None]
        self.D: list = [None]
        self.S: list = [None]
        self.fac: list = [None]
        for l in range(1, self.L + 1):
            vals = [v for r in self.W[l] for v in r] + list(self.b[l])
            _, D = _int_row(vals)
            Wn = [tuple(v.numerator * (D // v.denominator) for v in r) for r in self.W[l]]
            bn = [v.numerator * (D // v.denominator) for v in self.b[l]]
            srcs = (l - 1,) + self.skips.get(l, ())
            Tu = 1
            for s in srcs:
                Tu = _lcm(Tu, self.T[s])
            self.fac.append({s: Tu // self.T[s] for s in srcs})
            self.Wn.append(Wn)
            self.Wcols.append([list(c) for c in zip(*Wn)])
            self.bn.append([v * Tu for v in bn])
            self.D.append(D)
            S = D * Tu
            self.S.append(S)
            self.T.append(S * self.ad)
        # global neuron numbering: layer l neuron i -> g = off[l] + i; bit N-1-g
        self.off = [0, 0]
        for l in range(1, self.L):
            self.off.append(self.off[-1] + self.widths[l])
        self.N = self.off[self.L]
        # neurons with zero incoming weights are constant in every region
        struct = 0
        for l in range(1, self.L):
            for i, row in enumerate(self.Wn[l]):
                if not any(row):
                    struct |= 1 << (self.N - 1 - self.off[l] - i)
        self.structural_const = struct

    def layer_shift(self, l: int) -> int:
        """Bit position of the last neuron of hidden layer l."""
        return self.N - self.off[l] - self.widths[l]

    # -- exact evaluation ----------------------------------------------------
    def forward(self, x) -> tuple[list, list]:
        """Exact (output, [z_1, .., z_{L-1}]) at the input ``x`` (Fractions)."""
        if self.input_map is not None:
            A, a = self.input_map
            nu0 = [sum((r * t for r, t in zip(row, x)), ai) for row, ai in zip(A, a)]
        else:
            nu0 = list(x)
        nus: list = [nu0]
        zs: list = []
        for l in range(1, self.L + 1):
            u = list(nus[-1])
            for s in self.skips.get(l, ()):
                u = [p + q for p, q in zip(u, nus[s])]
            z = [sum((w * v for w, v in zip(row, u)), bi)
                 for row, bi in zip(self.W[l], self.b[l])]
            if l == self.L:
                return z, zs
            zs.append(z)
            nus.append([self.sigma(v) for v in z])
        raise AssertionError("unreachable")

    def sigma(self, z: Fraction) -> Fraction:
        if self.act == "relu":
            return z if z > 0 else Fraction(0)
        if self.act == "leaky_relu":
            return z if z >= 0 else self.alpha * z
        return max(Fraction(-1), min(Fraction(1), z))


# ---------------------------------------------------------------------------
# patterns and their maps
# ---------------------------------------------------------------------------

_LO = str.maketrans("012", "100")
_HI = str.maketrans("012", "001")


class Pattern:
    """A parsed pattern: per-layer digit strings and global bitmasks."""

    __slots__ = ("strs", "key", "bits", "lo", "hi")

    def __init__(self, net: Net, doc, where: str) -> None:
        hw = net.hidden
        if not isinstance(doc, list) or len(doc) != len(hw) or not all(
                isinstance(s, str) for s in doc):
            raise CheckFailed(f"{where}: pattern must be {len(hw)} digit strings (one per "
                              f"hidden layer)")
        digits = "012" if net.act == "hard_tanh" else "01"
        for l, (s, w) in enumerate(zip(doc, hw), start=1):
            if len(s) != w or s.strip(digits):
                raise CheckFailed(f"{where}: pattern layer {l} must be {w} digits from "
                                  f"{{{','.join(digits)}}}, got {s!r}")
        self.strs = tuple(doc)
        whole = "".join(doc)
        if net.act == "hard_tanh":
            self.lo = int(whole.translate(_LO), 2) if whole else 0
            self.hi = int(whole.translate(_HI), 2) if whole else 0
            self.bits = 0
            self.key = self.lo | (self.hi << net.N)
        else:
            self.bits = int(whole, 2) if whole else 0
            self.lo = self.hi = 0
            self.key = self.bits

    def text(self) -> str:
        return "|".join(self.strs)


def pattern_key(net: Net, strs) -> int:
    return Pattern(net, list(strs), "pattern").key


class MapCache:
    """Integer pre-activation maps ``Z_l`` of the current pattern, as columns
    (k = 0..d-1 the coefficients, k = d the constant; ``z = Z . (x, 1) / S_l``).

    A new pattern keeps the maps of the layers before its first changed layer;
    the next layer is updated by the changed units' columns (a rank-k update)
    when few bits changed, later layers are recomputed.  Sorting patterns makes
    consecutive ones share long prefixes.
    """

    def __init__(self, net: Net) -> None:
        self.net = net
        d = net.d
        cols = []
        for k in range(d + 1):
            col = [sum(map(mul, row, net.P0[k])) for row in net.Wn[1]]
            if k == d:
                col = [c + bb for c, bb in zip(col, net.bn[1])]
            cols.append(col)
        self.Z: list = [None, cols]        # Z[l], l = 1..L
        self.post: list = [net.P0]         # post[m], m = 0..L-1
        self.rows: dict = {}               # l -> rows of Z[l] (lazy)
        self.const: dict = {}              # l -> (const mask, forced lo/bits, forced hi)
        self.strs: tuple | None = None

    def _post(self, l: int, s: str) -> list:
        n = self.net
        Z = self.Z[l]
        if n.act == "relu":
            return [[z if c == "1" else 0 for z, c in zip(col, s)] for col in Z]
        if n.act == "leaky_relu":
            an, ad = n.an, n.ad
            return [[z * ad if c == "1" else z * an for z, c in zip(col, s)] for col in Z]
        S = n.S[l]
        d = n.d
        out = [[z if c == "1" else 0 for z, c in zip(col, s)] for col in Z[:d]]
        out.append([z if c == "1" else (S if c == "2" else -S) for z, c in zip(Z[d], s)])
        return out

    def _full(self, l: int) -> list:
        n = self.net
        u = None
        for s, f in n.fac[l].items():
            P = self.post[s]
            if u is None:
                u = P if f == 1 else [[v * f for v in col] for col in P]
            else:
                u = [[a + v * f for a, v in zip(ca, cp)] for ca, cp in zip(u, P)]
        assert u is not None
        rows = n.Wn[l]
        cols = [[sum(map(mul, row, uk)) for row in rows] for uk in u]
        cols[-1] = [c + bb for c, bb in zip(cols[-1], n.bn[l])]
        return cols

    def _set(self, l: int, cols) -> None:
        del self.Z[l:]
        self.Z.append(cols)
        self.rows.pop(l, None)
        self.const.pop(l, None)
        for m in [m for m in self.rows if m > l]:
            del self.rows[m]
        for m in [m for m in self.const if m > l]:
            del self.const[m]

    def maps(self, strs: tuple) -> list:
        """Make ``strs`` the current pattern; return Z (index 1..L)."""
        n = self.net
        L = n.L
        old = self.strs
        if old == strs:
            return self.Z
        if old is None:
            f = 1
        else:
            f = next(j for j in range(L - 1) if strs[j] != old[j]) + 1
        if f > L - 1:          # no hidden layer
            self.strs = strs
            return self.Z
        oldpost = self.post[f] if old is not None and len(self.post) > f else None
        del self.post[f:]
        self.post.append(self._post(f, strs[f - 1]))
        changed = None
        if old is not None and oldpost is not None and len(self.Z) > f + 1:
            changed = [i for i, (a, b) in enumerate(zip(old[f - 1], strs[f - 1])) if a != b]
            if len(changed) * 3 > len(strs[f - 1]):
                changed = None
        if changed is not None and oldpost is not None:
            fac = n.fac[f + 1][f]
            new = self.post[f]
            cols = list(self.Z[f + 1])
            Wc = n.Wcols[f + 1]
            for i in changed:
                w = Wc[i]
                for k in range(n.d + 1):
                    delta = (new[k][i] - oldpost[k][i]) * fac
                    if delta:
                        cols[k] = [z + wi * delta for z, wi in zip(cols[k], w)]
            self._set(f + 1, cols)
        else:
            self._set(f + 1, self._full(f + 1))
        for l in range(f + 1, L):
            self.post.append(self._post(l, strs[l - 1]))
            self._set(l + 1, self._full(l + 1))
        self.strs = strs
        return self.Z

    def row(self, l: int, i: int) -> tuple:
        r = self.rows.get(l)
        if r is None:
            r = self.rows[l] = list(zip(*self.Z[l]))
        return r[i]

    def layer_rows(self, l: int) -> list:
        r = self.rows.get(l)
        if r is None:
            r = self.rows[l] = list(zip(*self.Z[l]))
        return r

    def constants(self, l: int) -> tuple:
        """(mask of neurons of layer l constant on the region, forced bits): the
        bits the SPEC tie rule gives them (ReLU-like: 1 iff the constant is > 0;
        hard tanh: lo / hi masks of the piece of the constant)."""
        c = self.const.get(l)
        if c is not None:
            return c
        n = self.net
        d = n.d
        Z = self.Z[l]
        shift = n.layer_shift(l)
        w = n.widths[l]
        mask = f1 = f2 = 0
        S = n.S[l]
        consts = Z[d]
        flags = [not any(t) for t in zip(*Z[:d])]
        for i in (i for i, f in enumerate(flags) if f):
            bit = 1 << (shift + w - 1 - i)
            mask |= bit
            v = consts[i]
            if n.act == "hard_tanh":
                if v < -S:
                    f1 |= bit
                elif v > S:
                    f2 |= bit
            elif v > 0:
                f1 |= bit
        c = self.const[l] = (mask, f1, f2)
        return c


# ---------------------------------------------------------------------------
# domains
# ---------------------------------------------------------------------------

class Domain:
    """Rows ``g . (x, 1) >= 0`` (primitive integers) of a box or polyhedron."""

    def __init__(self, doc, d: int, where: str = "domain") -> None:
        if not isinstance(doc, dict):
            raise CheckFailed(f"{where}: expected an object with a 'type'")
        t = doc.get("type")
        self.type = t
        self.box: tuple | None = None
        if t == "box":
            lo = _vec(doc.get("lo"), f"{where} lo", d)
            hi = _vec(doc.get("hi"), f"{where} hi", d)
            for j in range(d):
                if not lo[j] < hi[j]:
                    raise CheckFailed(f"{where}: coordinate {j}: lo {lo[j]} is not below "
                                      f"hi {hi[j]}")
            self.box = (lo, hi)
            A, b = [], []
            for j in range(d):
                e = [Fraction(int(k == j)) for k in range(d)]
                A.append(e)
                b.append(hi[j])
                A.append([-v for v in e])
                b.append(-lo[j])
        elif t == "polyhedron":
            A = _mat(doc.get("A"), f"{where} A", None, d)
            b = _vec(doc.get("b"), f"{where} b", len(A))
        elif t == "whole-space":
            if doc.get("dim") != d:
                raise CheckFailed(f"{where}: whole space of dimension {doc.get('dim')!r}, "
                                  f"the network has {d} inputs")
            A, b = [], []
        else:
            raise CheckFailed(f"{where}: unknown domain type {t!r} (box, polyhedron, "
                              f"whole-space)")
        self.rows = []
        for j, (a, bj) in enumerate(zip(A, b)):
            ints, _ = _int_row([-v for v in a] + [bj])
            self.rows.append(_primitive(ints))
        self.d = d

    def volume(self):
        if self.box is None:
            return None
        v = Fraction(1)
        for lo, hi in zip(*self.box):
            v *= hi - lo
        return v


# ---------------------------------------------------------------------------
# the check of one region record
# ---------------------------------------------------------------------------

class _Vertex:
    """A checked point: homogeneous coordinates, sign masks of the true
    pre-activations, the tight mask over the constraint universe."""

    __slots__ = ("p", "a", "b", "c", "tight", "dom")

    def __init__(self, p, a, b, c, tight, dom) -> None:
        self.p, self.a, self.b, self.c, self.tight, self.dom = p, a, b, c, tight, dom


def _dot_cols(cols, p) -> list:
    """``[Z . p]`` for every neuron of a layer given by columns (fast paths for
    small dimensions)."""
    k = len(p)
    if k == 3:
        x, y, w = p
        return [a * x + b * y + c * w for a, b, c in zip(*cols)]
    if k == 4:
        x, y, z, w = p
        return [a * x + b * y + c * z + e * w for a, b, c, e in zip(*cols)]
    if k == 5:
        x, y, z, t, w = p
        return [a * x + b * y + c * z + e * t + f * w for a, b, c, e, f in zip(*cols)]
    return [sum(map(mul, t, p)) for t in zip(*cols)]


def _canon(v) -> tuple:
    """Primitive integer vector with its first nonzero entry positive."""
    v = _primitive(v)
    for x in v:
        if x:
            return v if x > 0 else tuple(-y for y in v)
    return v


class Checker:
    """Checks region records of one network and domain (one per process)."""

    def __init__(self, net: Net, dom: Domain, volumes: bool = True) -> None:
        self.net = net
        self.dom = dom
        self.cache = MapCache(net)
        self.points: dict = {}
        n = net
        self.allN = (1 << n.N) - 1
        self.base = 2 * n.N if n.act == "hard_tanh" else n.N   # domain row bits
        self.thresholds = (1 << self.base) - 1
        self.d = n.d
        self.volumes = volumes and n.d in (2, 3) and dom.box is not None
        self.coef: dict = {}
        # the row W >= 0 of the homogenised cone of an unbounded region (tight at
        # its rays): a pseudo-facet, never listed in a file
        self.far = 1 << (self.base + len(dom.rows))

    # -- points ---------------------------------------------------------------
    def _evaluate(self, Z, p, pat: Pattern, where: str) -> _Vertex:
        """Signs of z^P at p; they are the true ones iff compatible with P."""
        n = self.net
        parts_a, parts_b, parts_c = [], [], []
        W = p[-1]
        tanh = n.act == "hard_tanh"
        for l in range(1, n.L):
            vals = _dot_cols(Z[l], p)
            if not tanh:
                parts_a.append("".join(["1" if v > 0 else "0" for v in vals]))
                parts_b.append("".join(["1" if v < 0 else "0" for v in vals]))
            else:
                SW = n.S[l] * W
                # a: z < -1 or z > 1 handled via five classes packed in strings
                parts_a.append("".join(["1" if v < -SW else "0" for v in vals]))  # lt
                parts_b.append("".join(["1" if v > SW else "0" for v in vals]))   # gt
                parts_c.append("".join("m" if v == -SW else ("p" if v == SW else
                                                            "0") for v in vals))
        a = int("".join(parts_a), 2) if n.N else 0
        b = int("".join(parts_b), 2) if n.N else 0
        if tanh:
            cs = "".join(parts_c)
            eqm = int(cs.replace("p", "0").replace("m", "1"), 2) if n.N else 0
            eqp = int(cs.replace("m", "0").replace("p", "1"), 2) if n.N else 0
            if W == 0:            # a ray: both thresholds are 0 along it
                eqm = eqp = eqm | eqp
            tight = eqm | (eqp << n.N)
            c = eqm | (eqp << n.N)
        else:
            tight = self.allN & ~(a | b)
            c = 0
        dom = 0
        for j, g in enumerate(self.dom.rows):
            s = sum(map(mul, g, p))
            if s < 0:
                raise CheckFailed(f"{where} lies outside the domain (row {j})")
            if s == 0:
                dom |= 1 << j
        tight |= dom << self.base
        if W == 0:
            tight |= self.far
        v = _Vertex(p, a, b, c, tight, dom)
        if not self._compatible(v, pat):
            raise CheckFailed(f"{where} is not in the region: the pre-activations there "
                              f"do not have the signs of the pattern")
        return v

    def _compatible(self, v: _Vertex, pat: Pattern) -> bool:
        if self.net.act != "hard_tanh":
            return not ((v.a & ~pat.bits) | (v.b & pat.bits))
        N = self.net.N
        lt, gt = v.a, v.b
        if v.p[-1] == 0:          # a ray: low needs z <= 0 along it, high z >= 0
            mid = self.allN & ~(pat.lo | pat.hi)
            return not ((gt & pat.lo) | (lt & pat.hi) | ((lt | gt) & mid))
        eqm, eqp = v.c & self.allN, v.c >> N
        inner = self.allN & ~(lt | gt | eqm | eqp)
        mid = self.allN & ~(pat.lo | pat.hi)
        return not (((inner | eqp | gt) & pat.lo) | ((lt | eqm | inner) & pat.hi)
                    | ((lt | gt) & mid))

    # -- facets ---------------------------------------------------------------
    def _facet(self, lab, pat: Pattern, Z, where: str):
        """(universe bit, homogeneous row g >= 0 inside, label tuple)."""
        n = self.net
        if not isinstance(lab, list) or len(lab) not in (2, 3) or not all(
                isinstance(x, int) and not isinstance(x, bool) for x in lab):
            raise CheckFailed(f"{where}: a facet label is [layer, neuron] (hard tanh: "
                              f"[layer, neuron, -1 | 1]; domain: [0, row]), got {lab!r}")
        l, k = lab[0], lab[1]
        if l == 0:
            if not 0 <= k < len(self.dom.rows) or len(lab) != 2:
                raise CheckFailed(f"{where}: domain row {k} does not exist")
            return 1 << (self.base + k), self.dom.rows[k], (0, k)
        if not 1 <= l < n.L or not 0 <= k < n.widths[l]:
            raise CheckFailed(f"{where}: there is no neuron {k} in hidden layer {l}")
        r = self.cache.row(l, k)
        if not any(r[:-1]):
            raise CheckFailed(f"{where}: neuron {k} of layer {l} is constant on the region, "
                              f"it defines no facet")
        pos = n.N - 1 - n.off[l] - k
        piece = pat.strs[l - 1][k]
        if n.act != "hard_tanh":
            if len(lab) != 2:
                raise CheckFailed(f"{where}: a third entry only for hard tanh")
            return 1 << pos, (r if piece == "1" else tuple(-x for x in r)), (l, k)
        side = lab[2] if len(lab) == 3 else {"0": -1, "2": 1}.get(piece)
        ok = {"0": (-1,), "1": (-1, 1), "2": (1,)}[piece]
        if side not in ok:
            raise CheckFailed(f"{where}: piece {piece} of neuron {k} of layer {l} has no "
                              f"threshold {side}")
        S = n.S[l]
        if side == -1:
            g = (r[:-1] + (r[-1] + S,)) if piece == "1" else \
                tuple(-x for x in r[:-1]) + (-r[-1] - S,)
            return 1 << pos, g, (l, k, -1)
        g = (tuple(-x for x in r[:-1]) + (S - r[-1],)) if piece == "1" else \
            (r[:-1] + (r[-1] - S,))
        return 1 << (pos + n.N), g, (l, k, 1)

    # -- one record -----------------------------------------------------------
    def check(self, rec, where: str):
        """Check one region record; return (pattern key, neighbour requests).

        A request is (facet index, base key, toggles): some pattern
        ``key ^ (xor of a nonempty subset of toggles)`` must be listed."""
        n = self.net
        d = n.d
        if not isinstance(rec, dict):
            raise CheckFailed(f"{where}: expected a JSON object")
        pat = Pattern(n, rec.get("pattern"), f"{where} pattern")
        where = f"{where} (pattern {pat.text()})" if len(pat.text()) <= 80 else where
        Z = self.cache.maps(pat.strs)
        # tie rule for constant neurons
        for l in range(1, n.L):
            mask, f1, f2 = self.cache.constants(l)
            if not mask:
                continue
            if n.act == "hard_tanh":
                bad = ((pat.lo ^ f1) | (pat.hi ^ f2)) & mask
            else:
                bad = (pat.bits ^ f1) & mask
            if bad:
                g = n.N - bad.bit_length()
                l2 = max(m for m in range(1, n.L) if n.off[m] <= g)
                raise CheckFailed(f"{where}: neuron {g - n.off[l2]} of layer {l2} is "
                                  f"constant on the region; the tie rule gives it "
                                  f"another piece")
        # facets
        labels = rec.get("facets")
        if not isinstance(labels, list) or not labels:
            raise CheckFailed(f"{where}: 'facets' must be a non-empty list")
        facets = []
        Fmask = 0
        for i, lab in enumerate(labels):
            bit, g, lt = self._facet(lab, pat, Z, f"{where} facet {i}")
            if Fmask & bit:
                raise CheckFailed(f"{where} facet {i}: {lab} is listed twice")
            Fmask |= bit
            facets.append((bit, g, lt))
        if "inequalities" in rec:
            self._explicit_rows(rec["inequalities"], facets, where)
        # the interior point
        pt = _vec(rec.get("point"), f"{where} interior point", d)
        hp = _homogeneous(pt)
        for i, (_, g, lt) in enumerate(facets):
            if sum(map(mul, g, hp)) <= 0:
                raise CheckFailed(f"{where}: the interior point does not satisfy facet {i} "
                                  f"{list(lt)} strictly")
        # the affine map
        self._affine_map(rec.get("map"), Z, where)
        # vertices
        verts, solved = self._vertices(rec, pat, Z, facets, where)
        if rec.get("rays"):
            facets.append((self.far, (0,) * d + (1,), ("far",)))
            Fmask |= self.far
        T = [v.tight & Fmask for v in verts]
        edges = self._walk(verts, T, facets, solved, where)
        # facets are facets; incidence
        inc = [0] * len(facets)
        index = {f[0]: i for i, f in enumerate(facets)}
        simple_hit = [False] * len(facets)
        for vi, t in enumerate(T):
            simple = t.bit_count() == d
            while t:
                low = t & -t
                fi = index[low]
                inc[fi] |= 1 << vi
                if simple:
                    simple_hit[fi] = True
                t ^= low
        seen: dict = {}
        for fi, m in enumerate(inc):
            if facets[fi][2][0] == "far":
                continue          # a valid row of the cone, not a facet of the region
            if not m:
                raise CheckFailed(f"{where} facet {fi} {list(facets[fi][2])}: no vertex lies "
                                  f"on it (not a facet)")
            if m in seen:
                raise CheckFailed(f"{where}: facets {seen[m]} and {fi} have the same vertices "
                                  f"(a repeated hyperplane)")
            seen[m] = fi
            if not simple_hit[fi]:
                pts = [verts[vi].p for vi in range(len(verts)) if m >> vi & 1]
                if _rank(pts) != d:
                    raise CheckFailed(f"{where} facet {fi} {list(facets[fi][2])}: its "
                                      f"vertices do not span a hyperplane (not a facet)")
        # neighbours across facets
        requests = []
        for fi, (bit, g, lt) in enumerate(facets):
            if lt[0] == 0 or lt[0] == "far":
                continue
            m = inc[fi]
            zero = self.thresholds
            dom = (1 << len(self.dom.rows)) - 1
            while m:
                low = m & -m
                v = verts[low.bit_length() - 1]
                zero &= v.tight
                dom &= v.dom
                m ^= low
            if dom:
                continue                      # the facet lies in the domain's boundary
            struct = n.structural_const
            if n.act == "hard_tanh":
                struct |= struct << n.N
            zero &= ~struct
            toggles = []
            while zero:
                low = zero & -zero
                toggles.append(low)
                zero ^= low
            requests.append((fi, pat.key, tuple(toggles)))
        if self.volumes:
            self._volume_terms(verts, T, facets, edges, 1)
        return pat, requests

    def _explicit_rows(self, doc, facets, where: str) -> None:
        if not isinstance(doc, dict):
            raise CheckFailed(f"{where}: 'inequalities' must be {{'A', 'b'}}")
        A = _mat(doc.get("A"), f"{where} inequalities A", len(facets), self.d)
        b = _vec(doc.get("b"), f"{where} inequalities b", len(facets))
        for i, (a, bi) in enumerate(zip(A, b)):
            ints, _ = _int_row([-v for v in a] + [bi])
            g = facets[i][1]
            # positive multiple: ints = lambda g, lambda > 0
            k = next(j for j, x in enumerate(g) if x)
            if ints[k] * g[k] <= 0 or any(x * g[k] != y * ints[k] for x, y in zip(ints, g)):
                raise CheckFailed(f"{where} inequality {i}: not a positive multiple of the "
                                  f"constraint of facet {list(facets[i][2])}")

    def _affine_map(self, doc, Z, where: str) -> None:
        n = self.net
        d = n.d
        if not isinstance(doc, dict):
            raise CheckFailed(f"{where}: 'map' must be {{'M', 'c'}}")
        out = n.widths[n.L]
        M, c = doc.get("M"), doc.get("c")
        if not isinstance(M, list) or len(M) != out or not all(
                isinstance(r, list) and len(r) == d for r in M) or \
                not isinstance(c, list) or len(c) != out:
            raise CheckFailed(f"{where}: the affine map must have M of {out} rows of {d} "
                              f"numbers and c of {out}")
        S = n.S[n.L]
        ZL = Z[n.L]
        for o in range(out):
            for k in range(d + 1):
                what = f"M[{o}][{k}]" if k < d else f"c[{o}]"
                p_, q_ = _parts(M[o][k] if k < d else c[o], f"{where} map {what}")
                if p_ * S != ZL[k][o] * q_:
                    q = Fraction(p_, q_)
                    raise CheckFailed(f"{where}: affine map entry {what} is {_fstr(q)}, the "
                                      f"weights give {_fstr(Fraction(ZL[k][o], S))}")

    def _vertices(self, rec, pat, Z, facets, where: str):
        d = self.d
        out = []
        solved = None
        if "vertices" in rec:
            docs = rec["vertices"]
            if not isinstance(docs, list):
                raise CheckFailed(f"{where}: 'vertices' must be a list")
            for i, vd in enumerate(docs):
                key = tuple(vd) if isinstance(vd, list) else None
                v = self.points.get(key) if key is not None else None
                if v is None:
                    pt = _vec(vd, f"{where} vertex {i}", d)
                    v = self._evaluate(Z, _homogeneous(pt), pat, f"{where}: vertex {i}")
                    self.points[key] = v
                elif not self._compatible(v, pat):
                    raise CheckFailed(f"{where}: vertex {i} is not in the region: the "
                                      f"pre-activations there do not have the signs of "
                                      f"the pattern")
                out.append(v)
        elif "vertex_keys" in rec:
            keys, bases = rec.get("vertex_keys"), rec.get("vertex_bases")
            if not isinstance(keys, list) or not isinstance(bases, list) or \
                    len(keys) != len(bases):
                raise CheckFailed(f"{where}: 'vertex_keys' and 'vertex_bases' must be lists "
                                  f"of one length")
            for i, (key, basis) in enumerate(zip(keys, bases)):
                if not isinstance(key, str):
                    raise CheckFailed(f"{where} vertex {i}: a key is a string")
                v = self.points.get(key)
                if v is None:
                    if not isinstance(basis, list) or len(basis) != d or not all(
                            isinstance(j, int) and 0 <= j < len(facets) for j in basis):
                        raise CheckFailed(f"{where} vertex {i}: a basis is {d} facet indices")
                    rows = [facets[j][1] for j in basis]
                    p = _null_vector(rows, d + 1)
                    if p is None or p[-1] == 0:
                        raise CheckFailed(f"{where} vertex {i}: the hyperplanes of facets "
                                          f"{basis} do not meet in one point")
                    if p[-1] < 0:
                        p = tuple(-x for x in p)
                    v = self._evaluate(Z, p, pat, f"{where}: vertex {i}")
                    self.points[key] = v
                    if solved is None:
                        solved = len(out)
                elif not self._compatible(v, pat):
                    raise CheckFailed(f"{where}: vertex {i} is not in the region: the "
                                      f"pre-activations there do not have the signs of "
                                      f"the pattern")
                out.append(v)
        else:
            raise CheckFailed(f"{where}: no vertices (a region is given by its vertices, "
                              f"and its rays if it is unbounded)")
        rays = rec.get("rays") or []
        if not isinstance(rays, list):
            raise CheckFailed(f"{where}: 'rays' must be a list")
        for i, rd in enumerate(rays):
            ints, _ = _int_row(_vec(rd, f"{where} ray {i}", d))
            if not any(ints):
                raise CheckFailed(f"{where} ray {i}: the zero vector")
            # recession directions: the linear parts of the region's own maps
            out.append(self._evaluate(Z, _primitive(ints + [0]), pat,
                                      f"{where}: ray {i}"))
        if len(out) < d + 1:
            raise CheckFailed(f"{where}: {len(out)} vertices and rays cannot span a "
                              f"{d}-dimensional region (a region containing a line is not "
                              f"supported)")
        if len({v.p for v in out}) != len(out):
            raise CheckFailed(f"{where}: a vertex is listed twice")
        if len(self.points) > 400000:
            self.points.clear()
        return out, solved

    def _walk(self, verts, T, facets, solved, where: str) -> list:
        """Prove that ``verts`` is the vertex set of the polytope of the facets
        (module docstring, (b)); return its edges as (i, j, S)."""
        d = self.d
        nv = len(verts)
        for i, t in enumerate(T):
            if t.bit_count() < d:
                raise CheckFailed(f"{where}: vertex {i} lies on only {t.bit_count()} facets "
                                  f"(a vertex lies on at least {d})")
        # start vertex: its tight rows have rank d
        start = solved if solved is not None else 0
        if solved is None:
            rows = [g for bit, g, _ in facets if T[start] & bit]
            if _rank(rows) != d:
                raise CheckFailed(f"{where}: vertex {start} is not a vertex (its facets have "
                                  f"rank below {d})")
        parent = list(range(nv))

        def find(a):
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        edges = []
        by_s: dict = {}
        degenerate = [i for i in range(nv) if T[i].bit_count() > d]
        for i in range(nv):
            t = T[i]
            if t.bit_count() != d:
                continue
            r = t
            while r:
                low = r & -r
                by_s.setdefault(t ^ low, []).append(i)
                r ^= low
        for S, lst in by_s.items():
            if len(lst) == 2:
                edges.append((lst[0], lst[1], S))
                continue
            if len(lst) > 2:
                raise CheckFailed(f"{where}: vertices {lst} claim one edge")
            i = lst[0]
            u = next((u for u in degenerate if T[u] & S == S and T[u] != S), None)
            if u is None:
                raise CheckFailed(f"{where}: vertex {i}: the edge along "
                                  f"{self._names(S, facets)} has no other end among the "
                                  f"vertices (a vertex or a ray is missing)")
            edges.append((i, u, S))
        for i in degenerate:
            for u, S in self._degenerate_edges(i, verts, T, facets, where):
                edges.append((i, u, S))
        unique: dict = {}
        for i, j, S in edges:
            unique.setdefault((min(i, j), max(i, j)), S)
        edges = [(i, j, S) for (i, j), S in unique.items()]
        for i, j, _ in edges:
            parent[find(i)] = find(j)
        root = find(start)
        lost = [i for i in range(nv) if find(i) != root]
        if lost:
            raise CheckFailed(f"{where}: vertex {lost[0]} is not connected to the others by "
                              f"edges (not a vertex of the region)")
        return edges

    def _degenerate_edges(self, i, verts, T, facets, where):
        d = self.d
        p = verts[i].p
        tight = [(bit, g) for bit, g, _ in facets if T[i] & bit]
        rows_all = [g for _, g in tight]
        if _rank(rows_all) != d:
            raise CheckFailed(f"{where}: vertex {i} is not a vertex (its facets have rank "
                              f"below {d})")
        done = set()
        for sub in combinations(range(len(tight)), d - 1):
            rows = [tight[j][1] for j in sub]
            basis = _null_space(rows, d + 1) if rows else [
                tuple(int(k == j) for k in range(d + 1)) for j in range(d + 1)]
            if len(basis) != 2:
                continue
            e = basis[0]
            if _rank([p, e]) < 2:
                e = basis[1]
            signs = [sum(map(mul, g, e)) for _, g in tight]
            if all(s >= 0 for s in signs):
                pass
            elif all(s <= 0 for s in signs):
                signs = [-s for s in signs]
            else:
                continue
            S = 0
            for (bit, _), s in zip(tight, signs):
                if s == 0:
                    S |= bit
            if S in done:
                continue
            done.add(S)
            u = next((u for u in range(len(verts)) if u != i and T[u] & S == S
                      and T[u] & ~S), None)
            if u is None:
                raise CheckFailed(f"{where}: vertex {i}: the edge along "
                                  f"{self._names(S, facets)} has no other end among the "
                                  f"vertices (a vertex or a ray is missing)")
            yield u, S

    @staticmethod
    def _names(S, facets) -> str:
        return "facets " + ", ".join(str(i) for i, f in enumerate(facets) if S & f[0])

    # -- volumes (2-D and 3-D boxes) --------------------------------------------
    def _volume_terms(self, verts, T, facets, edges, sign: int) -> None:
        """Add the region's shoelace / divergence terms, grouped by line (2-D) or
        by plane and line (3-D), to ``self.coef`` (module docstring, (e))."""
        d = self.d
        coef = self.coef
        index = {f[0]: f for f in facets}
        for i, j, S in edges:
            bits = []
            r = S
            while r:
                low = r & -r
                bits.append(index[low][1])
                r ^= low
            pi, pj = verts[i].p, verts[j].p
            if d == 2:
                g = bits[0]
                c = _canon(g)
                u = (-c[1], c[0])
                t = (g[1], -g[0])                   # ccw direction along the facet
                w = 1 if t[0] * u[0] + t[1] * u[1] > 0 else -1
                self._edge(coef, (c,), u, pi, pj, w * sign)
            else:
                if len(bits) != 2:
                    raise CheckFailed("an edge lies in more than two facets")
                for F, G in ((bits[0], bits[1]), (bits[1], bits[0])):
                    nP = _canon(F)
                    s_out = -1 if nP == _primitive(F) else 1
                    n3 = nP[:3]
                    g3 = G[:3]
                    cr = (n3[1] * g3[2] - n3[2] * g3[1], n3[2] * g3[0] - n3[0] * g3[2],
                          n3[0] * g3[1] - n3[1] * g3[0])
                    u = _canon(cr)
                    t = tuple(-x for x in cr)       # g x n: ccw about n
                    w = 1 if sum(a * b for a, b in zip(t, u)) > 0 else -1
                    minors = _canon(tuple(nP[a] * G[b] - nP[b] * G[a]
                                          for a in range(4) for b in range(a + 1, 4)))
                    self._edge(coef, (nP, minors), u, pi, pj, w * s_out * sign)

    @staticmethod
    def _edge(coef, key, u, pi, pj, w) -> None:
        si = sum(a * b for a, b in zip(u, pi)) * pj[-1]
        sj = sum(a * b for a, b in zip(u, pj)) * pi[-1]
        a, b = (pi, pj) if si < sj else (pj, pi)
        ka, kb = key + (_primitive(a),), key + (_primitive(b),)
        coef[kb] = coef.get(kb, 0) + w
        coef[ka] = coef.get(ka, 0) - w

    def domain_terms(self) -> dict:
        """The terms of the domain box itself (to cancel against the regions')."""
        d = self.d
        assert self.dom.box is not None
        lo, hi = self.dom.box
        corners = []
        for m in range(1 << d):
            corners.append(_homogeneous([hi[j] if m >> j & 1 else lo[j] for j in range(d)]))
        facets = [(1 << j, g, (0, j)) for j, g in enumerate(self.dom.rows)]
        T = []
        for p in corners:
            t = 0
            for j, g in enumerate(self.dom.rows):
                if sum(map(mul, g, p)) == 0:
                    t |= 1 << j
            T.append(t)
        verts = [_Vertex(p, 0, 0, 0, t, 0) for p, t in zip(corners, T)]
        edges = []
        for i in range(len(corners)):
            for j in range(i + 1, len(corners)):
                S = T[i] & T[j]
                if S.bit_count() == d - 1:
                    edges.append((i, j, S))
        saved = self.coef
        self.coef = {}
        self._volume_terms(verts, T, facets, edges, 1)
        out, self.coef = self.coef, saved
        return out


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------

def _json_line(line: bytes, where: str):
    try:
        return json.loads(line)
    except (ValueError, RecursionError) as e:
        msg = getattr(e, "msg", str(e))
        raise CheckFailed(f"{where}: malformed or truncated JSON ({msg})") from None


def _envelope(doc, where: str, kinds=None) -> str:
    if not isinstance(doc, dict):
        raise Unreadable(f"{where}: not a polyrelu result (expected a JSON object)")
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise Unreadable(f"{where}: not a polyrelu result file (format {fmt!r}, expected "
                         f"{FORMAT!r})")
    ver = doc.get("version")
    if ver != VERSION:
        raise Unreadable(f"{where}: result format version {ver!r} is not supported (this "
                         f"checker reads version {VERSION})")
    kind = doc.get("kind")
    if kind in RESERVED_KINDS:
        raise Unreadable(f"{where}: kind {kind!r} ({RESERVED_KINDS[kind]}) is defined for a "
                         f"later checker; this one verifies {', '.join(KINDS)}")
    if kind not in KINDS or (kinds is not None and kind not in kinds):
        raise Unreadable(f"{where}: unknown kind {kind!r} (this checker verifies "
                         f"{', '.join(KINDS)})")
    kv = doc.get("kind_version", 1)
    if not isinstance(kv, int) or isinstance(kv, bool) or not 1 <= kv <= KINDS[kind]:
        raise Unreadable(f"{where}: {kind} version {kv!r} is not supported (this checker "
                         f"reads versions 1 to {KINDS[kind]})")
    return kind


def _network_of(env: dict, key: str, base_dir: str, where: str):
    """The network document of a result (inline, or a file with its SHA-256)."""
    doc = env.get(key)
    ref = env.get(key + "_file")
    if doc is None and ref is None:
        raise CheckFailed(f"{where}: no '{key}' (the network, or '{key}_file' with its "
                          f"path and sha256)")
    if doc is None:
        if not isinstance(ref, dict) or not isinstance(ref.get("path"), str):
            raise CheckFailed(f"{where}: '{key}_file' must be {{'path', 'sha256'}}")
        p = os.path.join(base_dir, ref["path"])
        try:
            with open(p, "rb") as fh:
                doc = json.loads(fh.read())
        except OSError as e:
            raise CheckFailed(f"{where}: cannot read the network file {p}: "
                              f"{e.strerror or e}") from None
        except ValueError:
            raise CheckFailed(f"{where}: the network file {p} is not JSON") from None
        if network_digest(doc) != ref.get("sha256"):
            raise CheckFailed(f"{where}: the network file {p} does not match the SHA-256 "
                              f"recorded in the result (a different network)")
    digest = env.get(key + "_sha256")
    if digest is not None and digest != network_digest(doc):
        raise CheckFailed(f"{where}: the network does not match its recorded SHA-256 (the "
                          f"weights were changed)")
    return Net(doc, f"{where} {key}")


def _domain_text(dom: Domain) -> str:
    if dom.box is not None:
        return "box " + " x ".join(f"[{_fstr(a)}, {_fstr(b)}]" for a, b in zip(*dom.box))
    if dom.type == "whole-space":
        return f"R^{dom.d}"
    return f"a polyhedron of {len(dom.rows)} rows"


# -- partitions ---------------------------------------------------------------

_CTX: dict = {}


def _context(header: bytes, base_dir: str):
    key = hashlib.sha256(header).hexdigest()
    ctx = _CTX.get(key)
    if ctx is None:
        env = _json_line(header, "header (line 1)")
        net = _network_of(env, "network", base_dir, "header (line 1)")
        dom = Domain(env.get("domain"), net.d, "header (line 1) domain")
        status = env.get("status") or {}
        complete = not status.get("partial", False)
        _CTX.clear()
        ctx = _CTX[key] = Checker(net, dom, volumes=complete)
    return ctx


def _subsets(toggles):
    n = len(toggles)
    for m in range(1, 1 << n):
        x = 0
        for i in range(n):
            if m >> i & 1:
                x ^= toggles[i]
        yield x


def _resolved(req, keys) -> bool:
    _, base, toggles = req[-3:]
    if len(toggles) == 1:
        return base ^ toggles[0] in keys
    if len(toggles) > 16:
        return False
    return any(base ^ x in keys for x in _subsets(toggles))


def _check_chunk(task):
    """Check the records of one byte range; return what the central checks need."""
    path, header, base_dir, start, end, first = task
    ck = _context(header, base_dir)
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    recs = []
    fail = None
    for j, line in enumerate(lines):
        idx = first + j
        try:
            rec = _json_line(line, _place(idx))
            pat = rec.get("pattern") if isinstance(rec, dict) else None
            recs.append((tuple(pat) if isinstance(pat, list) else (), idx, rec))
        except CheckFailed as e:
            fail = (idx, str(e))
            break
    try:
        recs.sort(key=lambda r: r[0])
    except TypeError:
        pass
    keys: dict = {}
    dups = []
    requests = []
    for _, idx, rec in recs:
        if fail is not None and idx > fail[0]:
            continue
        try:
            pat, reqs = ck.check(rec, _place(idx))
        except CheckFailed as e:
            fail = (idx, str(e))
            continue
        except _MALFORMED as e:
            fail = (idx, f"{_place(idx)}: malformed record ({type(e).__name__}: {e})")
            continue
        if pat.key in keys:
            dups.append((max(idx, keys[pat.key]), min(idx, keys[pat.key]), pat.text()))
        else:
            keys[pat.key] = idx
        requests.extend((idx,) + r for r in reqs)
    open_reqs = [r for r in requests if not _resolved(r, keys)]
    coef = {k: v for k, v in ck.coef.items() if v}
    ck.coef = {}
    return {"n": len(lines), "keys": keys, "dups": dups, "requests": open_reqs,
            "coef": coef, "fail": fail}


def _place(idx: int) -> str:
    return f"region {idx} (line {idx + 2})"


def _line_offsets(path: str) -> list:
    """Byte offsets of the starts of lines 2.. (the records) and the end."""
    offs = []
    pos = 0
    with open(path, "rb") as fh:
        while True:
            block = fh.read(1 << 24)
            if not block:
                break
            i = block.find(b"\n")
            while i != -1:
                offs.append(pos + i + 1)
                i = block.find(b"\n", i + 1)
            pos += len(block)
    if not offs or offs[-1] != pos:
        offs.append(pos)            # last line without a newline (truncated?)
    return offs


def _workers(requested) -> int:
    if requested:
        return max(1, int(requested))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _check_partition(path: str, header: bytes, env: dict, workers=None) -> Report:
    base_dir = os.path.dirname(os.path.abspath(path))
    _CTX.clear()            # a network file beside the result may have changed
    ck = _context(header, base_dir)
    net, dom = ck.net, ck.dom
    status = env.get("status")
    if not isinstance(status, dict) or not isinstance(status.get("regions"), int):
        raise CheckFailed("header (line 1): 'status' must give the number of 'regions', "
                          "'partial' and 'reason'")
    partial = bool(status.get("partial", False))
    announced = status["regions"]
    offs = _line_offsets(path)
    # offs[0] is the start of line 2; records are [offs[i], offs[i+1])
    bounds = offs
    nrec = len(bounds) - 1
    nw = _workers(workers)
    nchunks = 1 if nrec < PARALLEL_MIN or nw == 1 else \
        min(max(2, nrec // 500), 4 * nw)
    tasks = []
    for c in range(nchunks):
        a = nrec * c // nchunks
        b = nrec * (c + 1) // nchunks
        if b > a:
            tasks.append((os.path.abspath(path), header, base_dir, bounds[a], bounds[b], a))
    results = []
    if nchunks == 1:
        results = [_check_chunk(t) for t in tasks]
    else:
        import multiprocessing as mp

        try:
            ctx: Any = mp.get_context("fork")
        except ValueError:
            ctx = mp.get_context()
        with ctx.Pool(nw) as pool:
            for res in pool.imap(_check_chunk, tasks):
                results.append(res)
                if res["fail"] is not None:
                    break
    fails = [r["fail"] for r in results if r["fail"] is not None]
    if fails:
        raise CheckFailed(min(fails)[1])
    total = sum(r["n"] for r in results)
    if total != announced:
        raise CheckFailed(f"the file has {total} region records but its header announces "
                          f"{announced} (truncated or edited)")
    keys: dict = {}
    dups = [d for r in results for d in r["dups"]]
    for r in results:
        for k, idx in r["keys"].items():
            if k in keys:
                dups.append((max(idx, keys[k]), min(idx, keys[k]), None))
            else:
                keys[k] = idx
    if dups:
        second, first, _ = min(dups)
        raise CheckFailed(f"{_place(second)}: the pattern of {_place(first)} again (a "
                          f"region is listed twice)")
    desc = (f"{net.architecture} {net.act} network on {_domain_text(dom)}: {total} "
            f"activation region{'s' if total != 1 else ''}")
    if partial:
        return Report(EXIT_INCOMPLETE,
                      f"PARTIAL: every record is verified ({desc}); the file does not claim "
                      f"to cover the domain ({status.get('reason') or 'partial'}), so coverage "
                      f"was not checked", {"regions": total})
    missing = [q for r in results for q in r["requests"] if not _resolved(q, keys)]
    if missing:
        idx, fi, base, toggles = min(missing, key=lambda q: (q[0], q[1]))
        raise CheckFailed(f"{_place(idx)} facet {fi}: the region on its other side is not "
                          f"in the file (no listed pattern differs only in the neurons of "
                          f"the facet): the regions do not cover the domain")
    extra = ""
    if ck.volumes and dom.box is not None and net.d in (2, 3):
        coef: dict = {}
        for r in results:
            for k, v in r["coef"].items():
                coef[k] = coef.get(k, 0) + v
        for k, v in ck.domain_terms().items():
            coef[k] = coef.get(k, 0) - v
        if any(coef.values()):
            raise CheckFailed("the regions' exact volumes do not add up to the domain's "
                              "(the shoelace terms on some boundary do not cancel)")
        extra = f"; exact {'areas' if net.d == 2 else 'volumes'} sum to the domain's " \
                f"{_fstr(dom.volume())}"
    return Report(EXIT_OK, f"OK: partition verified: {desc}, patterns distinct, every "
                           f"facet on the domain boundary or matched by its neighbour{extra}",
                  {"regions": total})


# -- one region -----------------------------------------------------------------

def _check_region_kind(env: dict, base_dir: str) -> Report:
    where = "region"
    net = _network_of(env, "network", base_dir, "result")
    dom = Domain(env.get("domain"), net.d, "domain")
    ck = Checker(net, dom, volumes=False)
    rec = env.get("region")
    pat, _ = ck.check(rec, where)
    Z = ck.cache.Z
    assert isinstance(rec, dict)
    facets = [ck._facet(lab, pat, Z, where) for lab in rec["facets"]]
    x = env.get("point")
    msg = f"OK: region verified ({net.architecture} network, pattern {pat.text()}"
    if x is not None:
        xs = _vec(x, "point", net.d)
        hx = _homogeneous(xs)
        vals = [sum(map(mul, g, hx)) for _, g, _ in facets]
        if any(v < 0 for v in vals):
            raise CheckFailed("point: it does not lie in the region")
        own = _pattern_at(ck, hx)
        on_b = own != pat.strs
        if bool(env.get("on_boundary", False)) != on_b:
            raise CheckFailed("point: 'on_boundary' is " + str(env.get("on_boundary")) +
                              " but the point's own pattern " +
                              ("differs from" if on_b else "is") + " the region's")
        dist = env.get("distance")
        if dist is not None:
            if not isinstance(dist, dict):
                raise CheckFailed("distance: expected an object")
            best = None
            for (bit, g, lt), v in zip(facets, vals):
                nn = sum(c * c for c in g[:-1])
                sq = Fraction(v * v, nn * hx[-1] * hx[-1])
                if best is None or sq < best[0]:
                    best = (sq, [lt], g, v, nn)
                elif sq == best[0]:
                    best[1].append(lt)
            assert best is not None
            sq = _q(dist.get("squared"), "distance squared")
            if sq != best[0]:
                raise CheckFailed(f"distance: the squared distance to the boundary is "
                                  f"{_fstr(best[0])}, the file says {_fstr(sq)}")
            near = dist.get("nearest")
            if near is not None and tuple(near) not in [tuple(t) for t in best[1]]:
                raise CheckFailed(f"distance: facet {near} is not a nearest one")
            foot = dist.get("foot")
            if foot is not None:
                _, _, g, v, nn = best
                want = [xi - Fraction(v, hx[-1] * nn) * gi for xi, gi in zip(xs, g)]
                if _vec(foot, "distance foot", net.d) != want:
                    raise CheckFailed("distance: the foot point is not the nearest boundary "
                                      "point")
            msg += f", distance^2 {_fstr(best[0])}"
    return Report(EXIT_OK, msg + ")")


def _pattern_at(ck: Checker, hx) -> tuple:
    """The SPEC pattern at a point of the current region, layer by layer while it
    agrees with the region's pattern (the region's maps apply there)."""
    n = ck.net
    out: list = []
    W = hx[-1]
    for l in range(1, n.L):
        mask, _, _ = ck.cache.constants(l)
        shift = n.layer_shift(l)
        w = n.widths[l]
        s = []
        for i, r in enumerate(ck.cache.layer_rows(l)):
            v = sum(map(mul, r, hx))
            if n.act == "hard_tanh":
                SW = n.S[l] * W
                s.append("0" if v < -SW else ("2" if v > SW else "1"))
            elif v != 0:
                s.append("1" if v > 0 else "0")
            else:   # z = 0: active unless identically zero on the region (SPEC)
                s.append("0" if mask >> (shift + w - 1 - i) & 1 else "1")
        out.append("".join(s))
        if ck.cache.strs is None or out[-1] != ck.cache.strs[l - 1]:
            break
    return tuple(out)


# -- equivalence ----------------------------------------------------------------

def _check_equivalence(env: dict, base_dir: str) -> Report:
    f = _network_of(env.get("networks") or {}, "f", base_dir, "networks")
    g = _network_of(env.get("networks") or {}, "g", base_dir, "networks")
    if f.d != g.d or f.widths[-1] != g.widths[-1]:
        raise CheckFailed("networks: f and g differ in input or output dimension")
    dom = Domain(env.get("domain"), f.d, "domain")
    mode = env.get("mode", "exact")
    eps = _q(env.get("eps", "0"), "eps")
    verdict = env.get("verdict")
    proof = env.get("proof") or {}
    kind = proof.get("type") if isinstance(proof, dict) else None
    if verdict == "equivalent" and kind == "symmetry":
        if proof.get("relates", "original") != "original":
            red = proof.get("reduced") or {}
            reds = proof.get("reductions") or {}
            if dom.type == "polyhedron" or (f.skips or g.skips):
                return Report(EXIT_INCOMPLETE,
                              "NOT CHECKED: the symmetry certificate relates the networks "
                              "after reduction; this checker replays reductions on boxes "
                              "and R^d for networks without skips")
            fr = Net(red.get("f"), "proof reduced f")
            gr = Net(red.get("g"), "proof reduced g")
            _check_reduction(f, fr, reds.get("f"), dom, "f")
            _check_reduction(g, gr, reds.get("g"), dom, "g")
            _check_symmetry(fr, gr, proof)
            return Report(EXIT_OK, f"OK: equivalent on {_domain_text(dom)}: the reductions "
                                   f"of f ({f.architecture} -> {fr.architecture}) and g "
                                   f"({g.architecture} -> {gr.architecture}) preserve the "
                                   f"functions there, and the permutations and scalings map "
                                   f"reduced g onto reduced f exactly")
        _check_symmetry(f, g, proof)
        return Report(EXIT_OK, f"OK: equivalent: the permutations and scalings map g onto f "
                               f"exactly ({f.architecture}), so f = g everywhere")
    if verdict == "not equivalent" and kind == "counterexample":
        x = _vec(proof.get("point"), "counterexample point", f.d)
        hx = _homogeneous(x)
        for j, row in enumerate(dom.rows):
            if sum(map(mul, row, hx)) < 0:
                raise CheckFailed(f"counterexample: the point lies outside the domain (row "
                                  f"{j})")
        fx, _ = f.forward(x)
        gx, _ = g.forward(x)
        for name, mine, got in (("f", fx, proof.get("f")), ("g", gx, proof.get("g"))):
            if got is not None and _vec(got, f"counterexample {name}(x)") != mine:
                raise CheckFailed(f"counterexample: {name}(x) is not what the file says")
        if mode == "top1":
            af = [k for k, v in enumerate(fx) if v == max(fx)]
            ag = [k for k, v in enumerate(gx) if v == max(gx)]
            if not (len(af) == 1 and len(ag) == 1 and af != ag):
                raise CheckFailed("counterexample: the predicted classes at the point are not "
                                  "unique and different")
            return Report(EXIT_OK, f"OK: not equivalent: at the point f predicts class "
                                   f"{af[0]} and g class {ag[0]} (exact)")
        gap = max(abs(a - b) for a, b in zip(fx, gx))
        if not gap > eps:
            raise CheckFailed(f"counterexample: max |f - g| at the point is {_fstr(gap)}, "
                              f"not above eps = {_fstr(eps)}")
        return Report(EXIT_OK, f"OK: not equivalent: max |f(x) - g(x)| = {_fstr(gap)} > "
                               f"{_fstr(eps)} at the point (exact)")
    if verdict not in ("equivalent", "not equivalent", "undecided"):
        raise CheckFailed(f"verdict {verdict!r} is not equivalent / not equivalent / "
                          f"undecided")
    return Report(EXIT_INCOMPLETE,
                  f"NOT CHECKED: the verdict '{verdict}' (stage {env.get('stage')}) carries "
                  f"no certificate this checker verifies"
                  + (" (decided by complete enumeration)" if verdict == "equivalent" else ""))


def _act_interval(net: Net, a, c):
    """Exact image of [a, c] (None = unbounded) under the activation."""
    if net.act == "relu":
        return (a if a is not None and a > 0 else Fraction(0)), \
            (None if c is None else max(c, Fraction(0)))
    if net.act == "leaky_relu":
        al = net.alpha

        def g(v):
            return None if v is None else (v if v >= 0 else al * v)
        if al >= 0:
            return g(a), g(c)
        if a is not None and a >= 0:
            return a, c
        if c is not None and c <= 0:
            return g(c), g(a)
        return Fraction(0), (None if a is None or c is None else max(c, al * a))
    lo = Fraction(-1) if a is None else max(Fraction(-1), min(Fraction(1), a))
    hi = Fraction(1) if c is None else max(Fraction(-1), min(Fraction(1), c))
    return lo, hi


def _piece_on(net: Net, a, c):
    """(slope, offset) of the activation if it is affine on [a, c], else None."""
    if net.act in ("relu", "leaky_relu"):
        if a is not None and a >= 0:
            return Fraction(1), Fraction(0)
        if c is not None and c <= 0:
            return (Fraction(0) if net.act == "relu" else net.alpha), Fraction(0)
        return None
    if c is not None and c <= -1:
        return Fraction(0), Fraction(-1)
    if a is not None and a >= 1:
        return Fraction(0), Fraction(1)
    if a is not None and c is not None and a >= -1 and c <= 1:
        return Fraction(1), Fraction(0)
    return None


def _bounds(net: Net, W, b, dom: Domain) -> list:
    """Exact interval bounds of every hidden pre-activation of the working
    network ``W, b`` (no skips) over the domain box (None = unbounded)."""
    d = net.d
    lo: list = [None] * d
    hi: list = [None] * d
    if dom.box is not None:
        lo, hi = list(dom.box[0]), list(dom.box[1])
    if net.input_map is not None:
        A, a0 = net.input_map
        img = [_interval(row, ai, lo, hi) for row, ai in zip(A, a0)]
        lo, hi = [p[0] for p in img], [p[1] for p in img]
    out = []
    for l in range(len(W) - 1):
        z = [_interval(row, bi, lo, hi) for row, bi in zip(W[l], b[l])]
        out.append(z)
        post = [_act_interval(net, a, c) for a, c in z]
        lo, hi = [p[0] for p in post], [p[1] for p in post]
    return out


def _interval(row, bias, lo, hi):
    zl = zh = bias
    for w, a, c in zip(row, lo, hi):
        if not w:
            continue
        if w > 0:
            zl = None if zl is None or a is None else zl + w * a
            zh = None if zh is None or c is None else zh + w * c
        else:
            zl = None if zl is None or c is None else zl + w * c
            zh = None if zh is None or a is None else zh + w * a
    return zl, zh


def _check_reduction(net: Net, red: Net, actions, dom: Domain, name: str) -> None:
    """Replay the reductions of :func:`polyrelu.reduce` on ``net`` and prove each
    one function-preserving on the domain (exact interval bounds from the
    domain's box; structural facts for twins and zero outgoing weights); the
    result must be ``red``."""
    where = f"reduction of {name}"
    if not isinstance(actions, list):
        raise CheckFailed(f"{where}: the proof lists no reductions")
    W = [[list(r) for r in net.W[l]] for l in range(1, net.L + 1)]
    b = [list(net.b[l]) for l in range(1, net.L + 1)]
    ids = [list(range(len(x))) for x in b]
    layer_ids = list(range(1, net.L + 1))
    constant = None
    for n_act, act in enumerate(actions):
        w = f"{where}, step {n_act}"
        if constant is not None:
            raise CheckFailed(f"{w}: a step after the network became constant")
        if not isinstance(act, dict) or act.get("layer") not in layer_ids[:-1]:
            raise CheckFailed(f"{w}: not a step on a hidden layer of the network")
        kind = act.get("kind")
        li = layer_ids.index(act["layer"])           # 0-based working layer
        try:
            pos = [ids[li].index(u) for u in act.get("units") or []]
        except ValueError:
            raise CheckFailed(f"{w}: a unit of layer {act['layer']} does not exist (any "
                              f"more)") from None
        if not pos:
            raise CheckFailed(f"{w}: no units")
        if kind in ("dead", "constant"):
            z = _bounds(net, W, b, dom)[li]
            vals = {}
            for i in pos:
                piece = _piece_on(net, *z[i])
                if not any(W[li][i]):
                    v = net.sigma(b[li][i])
                elif piece is not None and piece[0] == 0:
                    v = piece[1]
                else:
                    raise CheckFailed(f"{w}: unit {ids[li][i]} of layer {act['layer']} is not "
                                      f"provably constant on the domain")
                if kind == "dead" and v != 0:
                    raise CheckFailed(f"{w}: unit {ids[li][i]} is not dead (value {v})")
                vals[i] = v
            if len(pos) == len(ids[li]):
                constant = True
                continue
            for i in sorted(pos, reverse=True):
                _remove(W, b, ids, li, i, vals[i])
        elif kind == "zero-outgoing":
            for i in pos:
                if any(row[i] for row in W[li + 1]):
                    raise CheckFailed(f"{w}: unit {ids[li][i]} has outgoing weights")
            if len(pos) == len(ids[li]):
                constant = True
                continue
            for i in sorted(pos, reverse=True):
                _remove(W, b, ids, li, i, 0)
        elif kind == "twin":
            if len(pos) != 1 or act.get("into") not in ids[li]:
                raise CheckFailed(f"{w}: a twin step names one unit and the unit it joins")
            j, i0 = pos[0], ids[li].index(act["into"])
            c = _q(act.get("ratio"), f"{w} ratio")
            if c <= 0 or (net.act == "hard_tanh" and c != 1) or i0 == j or \
                    W[li][j] + [b[li][j]] != [c * v for v in W[li][i0] + [b[li][i0]]]:
                raise CheckFailed(f"{w}: unit {act['units'][0]} is not {c} times unit "
                                  f"{act['into']} (a positive multiple; hard tanh: equal)")
            for row in W[li + 1]:
                row[i0] += c * row[j]
                row[j] = Fraction(0)
            _remove(W, b, ids, li, j, 0)
        elif kind == "linear-layer":
            z = _bounds(net, W, b, dom)[li]
            pieces = [_piece_on(net, *zi) for zi in z]
            if any(p is None for p in pieces) or sorted(pos) != list(range(len(ids[li]))):
                raise CheckFailed(f"{w}: not every unit of layer {act['layer']} is affine on "
                                  f"the domain")
            A = [[p[0] * v for v in row] for p, row in zip(pieces, W[li])]
            cc = [p[0] * bi + p[1] for p, bi in zip(pieces, b[li])]
            Wn, bn = W[li + 1], b[li + 1]
            newW = [[sum((r[k] * A[k][jj] for k in range(len(A))), Fraction(0))
                     for jj in range(len(W[li][0]))] for r in Wn]
            newb = [bb + sum((r[k] * cc[k] for k in range(len(cc))), Fraction(0))
                    for r, bb in zip(Wn, bn)]
            W[li:li + 2] = [newW]
            b[li:li + 2] = [newb]
            ids[li:li + 2] = [ids[li + 1]]
            layer_ids[li:li + 2] = [layer_ids[li + 1]]
        else:
            raise CheckFailed(f"{w}: unknown reduction {kind!r}")
    if constant:
        # the network is constant on the domain: 0 x + f(any point of it)
        if dom.box is not None:
            x = [(a + c) / 2 for a, c in zip(*dom.box)]
        else:
            x = [Fraction(0)] * net.d
        out, _ = net.forward(x)
        if red.L != 1 or any(v for row in red.W[1] for v in row) or red.b[1] != out:
            raise CheckFailed(f"{where}: the network is constant on the domain, with value "
                              f"f(x) at any x; the reduced network is not that constant")
        return
    same = red.L == len(W) and red.act == net.act and red.alpha == net.alpha and \
        red.input_map == net.input_map and not red.skips and \
        all(red.W[l + 1] == W[l] and red.b[l + 1] == b[l] for l in range(len(W)))
    if not same:
        raise CheckFailed(f"{where}: replaying the reductions does not give the reduced "
                          f"network of the proof")


def _remove(W, b, ids, li, i, value) -> None:
    if value:
        b[li + 1] = [bb + row[i] * value for bb, row in zip(b[li + 1], W[li + 1])]
    for row in W[li + 1]:
        del row[i]
    del W[li][i]
    del b[li][i]
    del ids[li][i]


def _check_symmetry(f: Net, g: Net, proof: dict) -> None:
    if f.widths != g.widths or f.d != g.d:
        raise CheckFailed(f"certificate: f is {f.architecture}, g is {g.architecture}: a "
                          f"permutation and scaling keeps the architecture")
    if f.skips != g.skips or f.act != g.act or f.alpha != g.alpha or \
            f.input_map != g.input_map:
        raise CheckFailed("certificate: f and g differ in skips, activation or input map")
    perms, scales = proof.get("permutations"), proof.get("scalings")
    hw = f.hidden
    if not isinstance(perms, list) or not isinstance(scales, list) or \
            len(perms) != len(hw) or len(scales) != len(hw):
        raise CheckFailed(f"certificate: one permutation and one scaling list per hidden "
                          f"layer ({len(hw)})")
    P = [list(range(f.widths[0]))]
    S = [[Fraction(1)] * f.widths[0]]
    for l, (p, s) in enumerate(zip(perms, scales), start=1):
        if not isinstance(p, list) or sorted(p) != list(range(hw[l - 1])):
            raise CheckFailed(f"certificate: hidden layer {l}: not a permutation of "
                              f"0..{hw[l - 1] - 1}")
        sv = _vec(s, f"certificate scalings of layer {l}", hw[l - 1])
        if any(v <= 0 for v in sv):
            raise CheckFailed(f"certificate: hidden layer {l}: a scaling is not positive")
        if f.act == "hard_tanh" and any(v != 1 for v in sv):
            raise CheckFailed("certificate: hard tanh is not positively homogeneous; "
                              "scalings must be 1")
        P.append(p)
        S.append(sv)
    for t, srcs in f.skips.items():
        for k in srcs:
            if P[k] != P[t - 1] or S[k] != S[t - 1]:
                raise CheckFailed(f"certificate: skip {k} -> {t}: layers {k} and {t - 1} must "
                                  f"be permuted and scaled alike")
    L = f.L
    for l in range(1, L + 1):
        pin, sin = P[l - 1], S[l - 1]
        out = f.widths[l]
        po = P[l] if l < L else list(range(out))
        so = S[l] if l < L else [Fraction(1)] * out
        for i in range(out):
            for j in range(f.widths[l - 1]):
                want = so[i] * g.W[l][po[i]][pin[j]] / sin[j]
                if f.W[l][i][j] != want:
                    raise CheckFailed(f"certificate: layer {l}, W[{i}][{j}] of f is "
                                      f"{_fstr(f.W[l][i][j])}, the certificate applied to g "
                                      f"gives {_fstr(want)}")
            if f.b[l][i] != so[i] * g.b[l][po[i]]:
                raise CheckFailed(f"certificate: layer {l}, b[{i}] of f differs from the "
                                  f"certificate applied to g")


# -- entry points -----------------------------------------------------------------

# what a malformed document can raise beyond the checks' own messages
_MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError, AssertionError)


def check_file(path, workers=None) -> Report:
    """Check one result file; a :class:`Report` (never raises for bad files)."""
    path = os.fspath(path)
    try:
        return _check_file(path, workers)
    except CheckFailed as e:
        return Report(EXIT_FAILED, f"FAILED: {path}: {e}")
    except _MALFORMED as e:
        return Report(EXIT_FAILED, f"FAILED: {path}: malformed file ({type(e).__name__}: "
                                   f"{e})")
    except Unreadable as e:
        return Report(EXIT_UNREADABLE, f"CANNOT CHECK: {path}: {e}")


def _check_file(path: str, workers) -> Report:
    try:
        fh = open(path, "rb")
    except OSError as e:
        raise Unreadable(f"cannot open: {e.strerror or e}") from None
    with fh:
        first = fh.readline()
        rest = fh.read(1)
    if not first.strip():
        raise Unreadable("the file is empty")
    base_dir = os.path.dirname(os.path.abspath(path))
    try:
        head = json.loads(first)
    except (ValueError, RecursionError):
        head = None
    if head is None:
        # a whole-file JSON document (pretty-printed over several lines)
        try:
            with open(path, "rb") as fh:
                head = json.loads(fh.read())
        except (ValueError, RecursionError) as e:
            msg = getattr(e, "msg", str(e))
            raise Unreadable(f"not JSON ({msg})") from None
    if isinstance(head, dict) and head.get("format") == NETWORK_FORMAT:
        net = Net(head, "network")
        return Report(EXIT_OK, f"OK: a well-formed polyrelu network ({net.architecture}, "
                               f"{net.act}); it certifies nothing by itself")
    kind = _envelope(head, "header (line 1)" if rest else "result")
    if kind == "partition":
        return _check_partition(path, first, head, workers)
    if kind == "region":
        return _check_region_kind(head, base_dir)
    return _check_equivalence(head, base_dir)


def main(argv=None) -> int:
    """Command line: ``python -m polyrelu.check FILE [FILE ...] [--workers N]``."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m polyrelu.check",
                                description="Check polyrelu result files independently "
                                            "(exact, standard library only).")
    p.add_argument("files", nargs="*", metavar="FILE")
    p.add_argument("--workers", type=int, default=None,
                   help="processes for large partitions (default: all cores)")
    p.add_argument("--version", action="store_true", help="print the format version")
    args = p.parse_args(argv)
    if args.version:
        print(f"polyrelu-check {VERSION}")
        return 0
    if not args.files:
        p.print_usage(sys.stderr)
        return EXIT_UNREADABLE
    code = 0
    for path in args.files:
        rep = check_file(path, workers=args.workers)
        print(rep.message, file=sys.stdout if rep.code == 0 else sys.stderr)
        code = max(code, rep.code) if code != EXIT_FAILED else code
        if rep.code == EXIT_FAILED:
            code = EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
