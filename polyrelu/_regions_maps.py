"""Private helper of :mod:`polyrelu.regions`: layer maps per pattern prefix.

On a region of layers ``< l`` every cell shares one pre-activation map of layer
``l``, ``z_l = M_l x + c_l`` (J&V eq. 14: F/G/H reduce to this affine map once
the pattern of the earlier layers is fixed).  A :class:`Node` holds that map
for one pattern prefix in two forms:

* a **float shadow** ``(Mf, cf)`` with a rigorous elementwise radius
  ``(RM, Rc)``: ``|M_l - Mf| <= RM`` and ``|c_l - cf| <= Rc`` hold exactly.
  The shadow is propagated in float from the parent node (numpy, one small
  matrix product per node).  It feeds the filtered sign predicates.
* the **exact map**, as integers: ``z_l = (Mint x + cint) / S_l`` with a
  positive integer scale ``S_l`` fixed per layer (common denominators of the
  weights; float weights are dyadic, so ``S_l`` is a power of two for them).
  It is computed lazily, only where an exact decision or a user needs it,
  as python-flint ``fmpz_mat`` products (the whole layer at once: one
  ``W_l U_l`` in C, about 10x faster than numpy object arrays); dividing by
  ``S_l > 0`` never changes a sign, so exact predicates work on ``Mint,
  cint`` directly.

Error bounds (float64, unit roundoff ``u = 2**-53``; ``gamma_n = n u / (1 - n u)``):

* converting an exact rational ``q`` to float: ``|fl(q) - q| <= u |q|``;
* a float dot product of ``n`` terms in any summation order:
  ``|fl(a . b) - a . b| <= gamma_n |a| . |b|``;
* map propagation ``M = W U`` with ``Wf = fl(W)``, ``|U - Uf| <= RU``:
  ``|M - fl(Wf Uf)| <= |Wf| RU (1 + 2u) + (gamma_n + 2u) |Wf| |Uf|``;
  we store ``RM = fl(|Wf| (RU + g |Uf|)) (1 + g) + tiny`` with
  ``g = 4 (n + 6) u``, which dominates the bound including the rounding of
  the bound's own float computation (all its terms are non-negative, so that
  rounding is at most ``gamma_{n+3}`` relative) and ``tiny`` covers underflow;
* evaluating ``h(v) = m . v + c`` at a float point ``v`` with ``|v* - v| <= rv``:
  ``|h*(v*) - fl(m . v + c)| <= |m| rv + RM (|v| + rv) + Rc + gamma_{d+1}
  (|m| |v| + |c|)``, again inflated by ``(1 + g)`` plus ``tiny``.

These bounds assume no overflow.  Inf propagates (``inf + x``, ``inf * x``
stay inf or become NaN, never finite again), so a *finite* float result was
computed without overflow; :meth:`Node.eval_float` therefore returns an
infinite bound wherever the value is not finite, and a float sign is accepted
only when ``|value| > bound`` -- never for a NaN or infinite value, which falls
through to the exact path.  Weights with no normal float (beyond the float
range, e.g. ``10**400``, or nonzero below ``2**-1022``, where ``u |W|`` does
not bound the conversion error) get a NaN shadow, so every float value that
depends on them is NaN and decided exactly.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = [
    "IntNet",
    "Node",
    "node_chain",
    "exact_layer_maps",
    "exact_output_map",
    "map_shadow",
    "shadows_differ",
    "float_maps_differ",
    "quiet",
]

U = 2.0 ** -53          # float64 unit roundoff
TINY = 2.0 ** -960      # absolute slack (float underflow guard)
# overflow / NaN in a float shadow is expected and handled (module docstring)
_QUIET: dict[str, Any] = {"over": "ignore", "invalid": "ignore"}


def quiet():
    """``np.errstate`` silencing overflow / invalid warnings of the float
    shadows.  Node construction and :meth:`Node.eval_float` do not set it
    themselves (a context per call costs ~3 % of an enumeration): callers
    wrap batches of float work in it.  Correctness never depends on it."""
    return np.errstate(**_QUIET)


def _g(n: int) -> float:
    """Generous relative error factor for float sums of n terms."""
    return 4.0 * (n + 6) * U


def _lcm(a: int, b: int) -> int:
    return a // math.gcd(a, b) * b


_MIN_NORMAL = 2.0 ** -1022


def _shadow(v: Fraction) -> float:
    """fl(v) with ``|fl(v) - v| <= u |v|``, else NaN (no float filter for it).

    ``float(Fraction)`` divides the integers, correctly rounded; it overflows
    beyond the float range and loses the relative bound for subnormals."""
    try:
        f = float(v)
    except OverflowError:
        return math.nan
    if f == 0.0 and v or 0.0 < abs(f) < _MIN_NORMAL:
        return math.nan
    return f


class IntNet:
    """Integer-scaled exact weights and float shadows of a network."""

    def __init__(self, net) -> None:
        self.net = net
        self.d = net.input_dim
        self.L = net.num_layers
        # skip_sources, not skip_map: nu_0 is the input map's image (below)
        self.skips = net.skip_sources
        self.act = net.activation
        self.widths = net.widths
        act = net.activation
        # slope scaling q: post-activation rows are (slope * q) * Mint, integer
        self.q = net.alpha.denominator if act == "leaky_relu" else 1
        self.alpha = net.alpha
        self.alpha_f = _shadow(net.alpha)
        # thresholds of the activation: the hyperplanes z = t split a neuron
        self.thresholds = (-1, 1) if act == "hard_tanh" else (0,)
        # per layer 1..L (index 0 unused)
        self.Wint: list[Any] = [None]
        self.bint: list[Any] = [None]
        self.D: list[Any] = [None]
        self.Wf: list[Any] = [None]
        self.Wabs: list[Any] = [None]
        self.bf: list[Any] = [None]
        self.babs: list[Any] = [None]
        for layer in net.layers:
            D = 1
            for row in layer.W:
                for v in row:
                    D = _lcm(D, v.denominator)
            for v in layer.b:
                D = _lcm(D, v.denominator)
            self.D.append(D)
            self.Wint.append([[v.numerator * (D // v.denominator) for v in row]
                              for row in layer.W])
            self.bint.append([v.numerator * (D // v.denominator) for v in layer.b])
            # float shadow: fl(W) with |W - fl(W)| <= u |W| (correct rounding)
            Wf = np.array([[_shadow(v) for v in row] for row in layer.W], dtype=float)
            bf = np.array([_shadow(v) for v in layer.b], dtype=float)
            self.Wf.append(Wf)
            self.Wabs.append(np.abs(Wf))
            self.bf.append(bf)
            self.babs.append(np.abs(bf))
        # nu_0 = A t + a (identity without an input map, Network.restrict through
        # input skips): integer [Aint | aint] / T_0 and its float shadow with
        # radius u |.| (correct rounding of each entry)
        A, a = net.input_affine
        T0 = 1
        for row, ai in zip(A, a):
            for v in (*row, ai):
                T0 = _lcm(T0, v.denominator)
        self.P0int = [[v.numerator * (T0 // v.denominator) for v in (*row, ai)]
                      for row, ai in zip(A, a)]
        P0f = np.array([[_shadow(v) for v in (*row, ai)] for row, ai in zip(A, a)],
                       dtype=float)
        # exactly representable entries (the identity) get radius 0
        inexact = np.array([[Fraction(f) != v if math.isfinite(f) else True
                             for f, v in zip(frow, (*row, ai))]
                            for frow, row, ai in zip(P0f.tolist(), A, a)], dtype=bool)
        self.P0f = P0f
        self.RP0f = np.where(inexact, 2 * U * np.abs(P0f) + TINY, 0.0)
        # scales: S_l of pre-activations, T_l of post-activations
        self.S: list[Any] = [None]
        self.T: list[int] = [T0]
        for l in range(1, self.L + 1):
            self.S.append(self.D[l] * self.T[l - 1])
            self.T.append(self.S[l] * self.q)
        # exact integer weights as flint matrices, built on first exact use
        self.bT: list[Any] = [None] + [[bi * self.T[l - 1] for bi in self.bint[l]]
                            for l in range(1, self.L + 1)]
        self._fm: dict = {}
        # slope/offset tables indexed by piece (float shadows and exact ints)
        pieces = range(3 if act == "hard_tanh" else 2)
        self.slope_tab = np.array([self.slope_f(p) for p in pieces])
        self.offset_tab = np.array([float(self.offset(p)) for p in pieces])

    # slope * q (integer) and offset (in units of the post scale) of a piece
    def slope_q(self, piece: int) -> int:
        if self.act == "relu":
            return self.q if piece == 1 else 0
        if self.act == "leaky_relu":
            return self.q if piece == 1 else self.alpha.numerator
        return self.q if piece == 1 else 0

    def offset(self, piece: int) -> int:
        if self.act == "hard_tanh" and piece != 1:
            return 1 if piece == 2 else -1
        return 0

    def fm_weights(self, l: int):
        """``(W_l, B_l, P_0)`` as ``fmpz_mat``: the integer weights, the bias
        in units of the input scale as the last column of a width x (d + 1)
        matrix, and the input map ``[A | a] T_0``."""
        hit = self._fm.get(l)
        if hit is None:
            import flint

            d = self.d
            W = flint.fmpz_mat(self.Wint[l])
            B = flint.fmpz_mat([[0] * d + [bi] for bi in self.bT[l]])
            P0 = flint.fmpz_mat(self.P0int)
            hit = self._fm[l] = (W, B, P0)
        return hit

    def slope_f(self, piece: int) -> float:
        if self.act == "leaky_relu" and piece == 0:
            return self.alpha_f
        return 1.0 if piece == 1 else 0.0

    def constant_piece(self, c: Fraction) -> int:
        """Piece of a neuron whose pre-activation is the constant ``c`` on a cell.

        Identically zero ReLU / leaky units are inactive (SPEC); hard tanh ties
        go to the linear piece (Network._piece_at).
        """
        if self.act == "hard_tanh":
            return self.net._piece_at(c)
        return 1 if c > 0 else 0

    def root(self) -> "Node":
        return Node(self, None, ())


class Node:
    """The pre-activation map of layer ``l`` on the cells of one pattern prefix.

    ``chain`` is the tuple of the ancestor nodes (layers 1..l-1) with the
    pieces chosen at each; ``Node(l)`` exists for l = 1..L (L = output).
    """

    __slots__ = ("inet", "l", "chain", "Mf", "cf", "RM", "Rc", "_rows", "_U",
                 "_Mabs")

    def __init__(self, inet: IntNet, parent: "Node | None", pieces: tuple,
                 floats: bool = True) -> None:
        self.inet = inet
        self.chain: tuple[tuple[Node, tuple], ...]
        if parent is None:
            self.l = 1
            self.chain = ()
        else:
            self.l = parent.l + 1
            self.chain = parent.chain + ((parent, pieces),)
        self._rows: dict = {}
        self._U: Any = None
        if floats:   # exact-only nodes (ExactNodes) skip the float shadow
            self._float_map()

    # ------------------------------------------------------------- floats
    def _float_map(self) -> None:
        inet, l = self.inet, self.l
        d = inet.d
        Ua, RUa = self._float_input()  # augmented: last column = constant part
        Wf, Wabs = inet.Wf[l], inet.Wabs[l]
        n = Wf.shape[1] + 1
        g = _g(n)
        Ma = Wf @ Ua
        # |M - Mf| <= |Wf| (RU + g |Uf|) (1 + g)   (module docstring)
        Ra = (Wabs @ (RUa + g * np.abs(Ua))) * (1.0 + g) + TINY
        self.Mf = Ma[:, :d]
        self.cf = Ma[:, d] + inet.bf[l]
        self.RM = Ra[:, :d]
        # + the bias: its addition adds <= u |cf| (covered by g |b| and (1+g))
        self.Rc = Ra[:, d] + (g * inet.babs[l] + g * np.abs(self.cf)) * (1.0 + g) + TINY
        self._Mabs = None

    def _float_input(self):
        """Float shadow (and radius) of the input u_l = nu_{l-1} + sum_k nu_k,
        augmented by the constant column: (width x (d + 1))."""
        inet, l = self.inet, self.l
        d = inet.d
        sources = [l - 1] + list(inet.skips.get(l, ()))
        Ua = RUa = None
        for k in sources:
            if k == 0:
                P, RP = inet.P0f, inet.RP0f
            else:
                node, pieces = self.chain[k - 1]
                pc = np.array(pieces)
                s = inet.slope_tab[pc]
                P = np.empty((len(pieces), d + 1))
                P[:, :d] = s[:, None] * node.Mf
                P[:, d] = s * node.cf + inet.offset_tab[pc]
                sa = np.abs(s)[:, None]
                RP = np.empty_like(P)
                RP[:, :d] = sa * node.RM
                RP[:, d] = sa[:, 0] * node.Rc
                if inet.act == "leaky_relu":
                    # fl(alpha) and the product each add <= u relative error
                    RP = (RP + 4 * U * (np.abs(P) + RP)) * (1 + 4 * U) + TINY
            if Ua is None:
                Ua, RUa, Sabs = P, RP, np.abs(P)
            else:
                Ua, RUa, Sabs = Ua + P, RUa + RP, Sabs + np.abs(P)
        if len(sources) > 1:
            # float additions of the skip sources: |fl(sum P_k) - sum P_k| <=
            # gamma_{n-1} sum_k |P_k| -- the sum of the magnitudes, not |sum|:
            # an intermediate sum can cancel (-1 + 2^-60 -> -1, then +1 -> 0)
            gs = 4 * (len(sources) + 2) * U
            RUa = (RUa + gs * Sabs) * (1 + gs) + TINY
        return Ua, RUa

    @property
    def Mabs(self):
        if self._Mabs is None:
            self._Mabs = np.abs(self.Mf)
        return self._Mabs

    def eval_float(self, V: np.ndarray, RV: np.ndarray, idx=None, w=None):
        """Float values and rigorous bounds of the pre-activations at points.

        ``V`` (k x d) float points with radius ``RV`` (k x d).  Returns
        ``(vals, bound)`` of shape (k x n) (n = len(idx) or the width) with
        ``|exact - vals| <= bound`` (module docstring).  ``w`` (k,) of 1.0 /
        0.0 marks finite points / directions (homogeneous ``W = 0``: the
        constant term drops out).
        """
        if idx is None:
            Mf, cf, RM, Rc, Ma = self.Mf, self.cf, self.RM, self.Rc, self.Mabs
        else:
            Mf, cf, RM, Rc, Ma = (self.Mf[idx], self.cf[idx], self.RM[idx],
                                  self.Rc[idx], self.Mabs[idx])
        g = _g(self.inet.d + 1)
        Va = np.abs(V)
        cterm = Rc + g * np.abs(cf)
        if w is None:
            vals = V @ Mf.T + cf
            cb = cterm
        else:
            vals = V @ Mf.T + w[:, None] * cf
            cb = w[:, None] * cterm
        bound = ((Va + RV) @ RM.T + (RV + g * Va) @ Ma.T + cb) * (1.0 + g) + TINY
        fin = np.isfinite(vals)
        if not fin.all():
            # an overflowed (inf) or NaN value proves nothing: infinite bound
            bound = np.where(fin, bound, np.inf)
        return vals, bound

    # ------------------------------------------------------------- exact
    def _exact_input(self):
        """Exact integer input ``u_l = (Uint x + uint) / T_{l-1}`` as an
        ``fmpz_mat`` (width x (d + 1), last column uint); lazy."""
        if self._U is not None:
            return self._U
        import flint

        inet, l = self.inet, self.l
        d = inet.d
        Tl = inet.T[l - 1]
        Ua = None
        for k in [l - 1] + list(inet.skips.get(l, ())):
            if k == 0:
                P = inet.fm_weights(l)[2] * (Tl // inet.T[0])   # nu_0 = A t + a
            else:
                node, pieces = self.chain[k - 1]
                mult = Tl // inet.T[k]
                n = len(pieces)
                # nu_k = slope(piece) z_k + offset(piece): a diagonal scaling
                # of the layer's exact rows (inactive ReLU rows vanish)
                D = flint.fmpz_mat(n, n)
                for j, pc in enumerate(pieces):
                    sq = inet.slope_q(pc)
                    if sq:
                        D[j, j] = sq * mult
                P = D * node.full_rows()
                offs = [inet.offset(pc) for pc in pieces]
                if any(offs):
                    P = P + flint.fmpz_mat([[0] * d + [o * Tl] for o in offs])
            Ua = P if Ua is None else Ua + P
        self._U = Ua
        return Ua

    def full_rows(self):
        """All exact rows ``[m | c]`` of the layer (``fmpz_mat``), cached."""
        R = self._rows.get("fm")
        if R is None:
            W, B, _ = self.inet.fm_weights(self.l)
            R = self._rows["fm"] = W * self._exact_input() + B
        return R

    def _py_row(self, i: int) -> list:
        """Exact row ``i`` as a list of Python ints (converted once)."""
        row = self._rows.get(i)
        if row is None:
            R = self.full_rows()
            row = self._rows[i] = [int(R[i, j]) for j in range(R.ncols())]
        return row

    def exact_rows(self, idx: list):
        """Exact rows ``[m | c]`` of the neurons ``idx`` (object array), cached."""
        if len(idx) > 8:
            R = self.full_rows()
            c = R.ncols()
            flat = [int(v) for v in R.entries()]
            rows = [flat[k:k + c] for k in range(0, len(flat), c)]
            return np.array([rows[i] for i in idx], dtype=object).reshape(len(idx), c)
        return np.array([self._py_row(i) for i in idx],
                        dtype=object).reshape(len(idx), self.inet.d + 1)

    def exact_row(self, i: int) -> tuple[list, int]:
        """Integer ``(m, c)`` with ``z_{l,i} = (m . x + c) / S_l`` (cached)."""
        row = self._py_row(i)
        return row[:-1], row[-1]

    def exact_line(self, i: int, t: int) -> tuple[list, int]:
        """Integer ``(m, c)`` of the hyperplane ``z_{l,i} = t``: sign(z - t) = sign(m.x + c)."""
        m, c = self.exact_row(i)
        if t:
            c = c - t * self.inet.S[self.l]
        return m, c

    def exact_fraction_row(self, i: int) -> tuple[tuple, Fraction]:
        m, c = self.exact_row(i)
        S = self.inet.S[self.l]
        return tuple(Fraction(v, S) for v in m), Fraction(c, S)


def node_chain(inet: IntNet, pattern) -> list:
    """The nodes of layers 1..L along a complete pattern."""
    with quiet():
        node = inet.root()
        out = [node]
        for pcs in pattern:
            node = Node(inet, node, tuple(pcs))
            out.append(node)
    return out


def exact_layer_maps(inet: IntNet, pattern, chain=None) -> tuple:
    """Exact pre-activation maps ``(M_l, c_l)`` (Fractions), l = 1..L, of a pattern
    (the integer rows of the nodes divided by the layer scales)."""
    chain = chain or node_chain(inet, pattern)
    d = inet.d
    out = []
    for node in chain:
        S = inet.S[node.l]
        full = node.exact_rows(list(range(inet.widths[node.l])))
        M = tuple(tuple(Fraction(int(v), S) for v in row[:d]) for row in full)
        c = tuple(Fraction(int(row[d]), S) for row in full)
        out.append((M, c))
    return tuple(out)


def exact_output_map(inet: IntNet, pattern) -> tuple:
    """Exact ``(M, c)`` of the output layer only (the hidden layers stay integer)."""
    node = node_chain(inet, pattern)[-1]
    d = inet.d
    S = inet.S[node.l]
    full = node.exact_rows(list(range(inet.widths[node.l])))
    M = tuple(tuple(Fraction(int(v), S) for v in row[:d]) for row in full)
    c = tuple(Fraction(int(row[d]), S) for row in full)
    return M, c


def map_shadow(node: Node) -> tuple:
    """The float shadow ``[Mf | cf]`` of a node's map and its radius, flat."""
    return (np.concatenate([node.Mf.ravel(), node.cf]),
            np.concatenate([node.RM.ravel(), node.Rc]))


def shadows_differ(v1, r1, V, R) -> np.ndarray:
    """For each row of ``(V, R)`` (stacked :func:`map_shadow` s): True when that
    exact map provably differs from the one shadowed by ``(v1, r1)``.

    The float subtraction adds <= u |difference|; radii add.  An infinite
    difference (an overflowed shadow) proves nothing (module docstring)."""
    g = 8 * U
    with np.errstate(**_QUIET):
        dv = np.abs(V - v1)
        return (np.isfinite(dv) & (dv * (1 - g) > (R + r1) * (1 + g) + TINY)).any(axis=-1)


def float_maps_differ(n1: Node, n2: Node) -> bool:
    """True when the exact maps of two nodes of the same layer provably differ
    (float shadows further apart than their radii; float filter)."""
    v1, r1 = map_shadow(n1)
    v2, r2 = map_shadow(n2)
    return bool(shadows_differ(v1, r1, v2, r2))
