"""Exact assembly of a :class:`~polyrelu.network.Network` from a chain of ops.

The ONNX and torch importers walk a graph and call this builder.  A value in
the graph is an affine function ``A (sum_{k in S} nu_k) + c`` of a *sum of
post-activation values* ``nu_k`` (``nu_0`` = the input).  Linear ops (MatMul,
Gemm, Linear, constant Add/Sub/Mul/Div, Flatten, Reshape) compose into
``(A, c)`` exactly (gmpy2 ``mpq``); an activation emits one hidden layer
``z_l = A u_l + c`` with ``u_l = sum_{k in S} nu_k``, i.e. the skips ``k -> l``
of J&V eq. 46 for ``k in S \\ {l-1}``; the graph output emits the output layer.

Only sums of *post-activation* values can become skips: ``x + relu(W x)``
is representable, ``x + W x`` (an addition after a linear map) is composed
when both sides depend on the same values, otherwise refused.

A sum may weight its terms, ``u = sum_k w_k nu_k`` (``h + 2 relu(W h)``,
``torch.add(..., alpha=)``, ``2 * x + ...``).  Skips add ``nu_k`` with weight 1
(J&V eq. 46), so :meth:`ChainBuilder.finish` folds the weights into the
layers: ReLU and leaky ReLU are positively homogeneous,
``c sigma(z) = sigma(c z)`` for ``c > 0``, so scaling the rows of layer ``k``
by ``c_k > 0`` scales ``nu_k`` by ``c_k`` without changing any pattern.  It
solves ``w_k = g_l c_k`` for every sum (``c_0 = 1``: the input cannot be
scaled) and refuses, naming the addition, when no positive solution exists
(a negative weight, inconsistent weights, or hard tanh, which is not
homogeneous).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

import gmpy2

from ..exceptions import NumberError, PolyreluError, UnsupportedLayerError
from ..linalg import mpq_to_fraction
from ..network import Network
from ..numbers import to_float

__all__ = ["Value", "ChainBuilder", "Aliases", "inplace_view_error", "q",
           "fractions_to_q", "export_float", "export_rows", "ExportReport",
           "export_report"]

mpq = gmpy2.mpq
ZERO = mpq(0)


def q(x: Fraction):
    """Lossless Fraction -> mpq."""
    return mpq(x.numerator, x.denominator)


@dataclass(frozen=True)
class Value:
    """``A (sum_{k in sources} w_k nu_k) + c``; ``A is None`` = identity,
    ``c is None`` = 0, ``weights is None`` = every ``w_k = 1``."""

    sources: frozenset
    width: int          # width of the summed nu's (input of A)
    A: Any = None       # list of mpq rows (out x width) or None
    c: Any = None       # list of mpq (out) or None
    shape: tuple = ()   # tensor shape bookkeeping for ONNX (batch = 1)
    weights: Any = None  # tuple of (source, mpq) pairs, sorted, or None
    where: str = ""     # the addition that made the weights (for errors)

    @property
    def out_dim(self) -> int:
        return self.width if self.A is None else len(self.A)

    @property
    def is_plain(self) -> bool:
        """A plain sum of nu's (no affine map applied yet)."""
        return self.A is None and self.c is None

    def weight_map(self) -> dict:
        if self.weights is None:
            return {k: mpq(1) for k in self.sources}
        return dict(self.weights)


def _weights(wmap: dict):
    """Normal form of a weight map: None when every weight is 1."""
    if all(w == 1 for w in wmap.values()):
        return None
    return tuple(sorted(wmap.items()))


class ChainBuilder:
    """Collects hidden layers; ``fail(msg)`` builds the importer's error."""

    def __init__(self, input_dim: int, fail: Callable[[str], Exception]):
        self.fail = fail
        self.widths = [input_dim]     # widths of nu_0, nu_1, ...
        self.layers: list = []        # (W rows mpq, b mpq, skip sources)
        self.activation: str | None = None
        self.alpha: Fraction | None = None
        self.activation_where = ""
        self.input_dim = input_dim
        self.input_map: tuple | None = None   # nu_0 = A t + a (mpq), see rebase_input

    def input(self, shape: tuple = ()) -> Value:
        return Value(frozenset({0}), self.widths[0], shape=shape)

    def can_rebase(self, v: Value) -> bool:
        """``v`` is an affine function of the input alone, before any layer."""
        return not self.layers and v.sources == frozenset({0}) and not v.is_plain

    def rebase_input(self, v: Value) -> Value:
        """Make ``v = A nu_0 + c`` the new ``nu_0`` (an input map, Network
        ``input_map``) and return it as a plain value.

        A reader calls this for an affine value of the input that several ops
        consume: ``nu_0 = A t + a`` feeding layer 1 *and* a skip is how an
        input-mapped network (``Network.restrict`` with input skips) is
        exported; as a composed affine map the skip could not be read back.
        Exact: every consumer sees the same tensor, now named ``nu_0``.
        """
        if not self.can_rebase(v):
            raise self.fail("internal: only an affine value of the input, before the "
                            "first layer, can become the input map")
        w = v.weight_map()[0]
        n = self.widths[0]
        A = v.A if v.A is not None else [[mpq(1) if i == j else ZERO for j in range(n)]
                                         for i in range(n)]
        A = [[w * a for a in row] for row in A]
        c = v.c if v.c is not None else [ZERO] * len(A)
        if self.input_map is not None:      # compose with the earlier map
            A0, a0 = self.input_map
            c = [ci + sum((r[k] * a0[k] for k in range(len(a0)) if r[k]), ZERO)
                 for r, ci in zip(A, c)]
            A = [[sum((r[k] * A0[k][j] for k in range(len(A0)) if r[k]), ZERO)
                  for j in range(self.input_dim)] for r in A]
        self.input_map = (A, c)
        self.widths[0] = len(A)
        return Value(frozenset({0}), len(A), shape=v.shape)

    # ---------------------------------------------------------- affine ops
    def linear(self, v: Value, W: list, b: list | None, shape: tuple = ()) -> Value:
        """``W v + b`` (W: list of mpq rows, out x v.out_dim)."""
        if W and len(W[0]) != v.out_dim:
            raise self.fail(f"weight has {len(W[0])} input columns but the incoming "
                            f"value has {v.out_dim} entries")
        if v.A is None:
            A = [list(row) for row in W]
        else:
            A = []
            for row in W:
                nz = [(w, k) for k, w in enumerate(row) if w]
                A.append([sum((w * v.A[k][j] for w, k in nz), ZERO)
                          for j in range(v.width)])
        c = None
        if v.c is not None:
            c = [sum((w * ck for w, ck in zip(row, v.c) if w and ck), ZERO) for row in W]
        if b is not None:
            c = list(b) if c is None else [x + y for x, y in zip(c, b)]
        return Value(v.sources, v.width, A, c, shape, v.weights, v.where)

    def add_const(self, v: Value, k: list, shape: tuple = ()) -> Value:
        if len(k) != v.out_dim:
            raise self.fail(f"constant has {len(k)} entries, the value has {v.out_dim}")
        if not any(k):
            return Value(v.sources, v.width, v.A, v.c, shape or v.shape, v.weights, v.where)
        c = list(k) if v.c is None else [x + y for x, y in zip(v.c, k)]
        return Value(v.sources, v.width, v.A, c, shape or v.shape, v.weights, v.where)

    def scale(self, v: Value, s: list, shape: tuple = (), where: str = "") -> Value:
        """Elementwise ``s * v``."""
        if len(s) != v.out_dim:
            raise self.fail(f"scale has {len(s)} entries, the value has {v.out_dim}")
        if all(x == 1 for x in s):
            return Value(v.sources, v.width, v.A, v.c, shape or v.shape, v.weights, v.where)
        if v.is_plain and s and s[0] != 0 and all(x == s[0] for x in s):
            # a scalar times a plain sum: scale its weights (folded in finish())
            w = {k: s[0] * x for k, x in v.weight_map().items()}
            return Value(v.sources, v.width, shape=shape or v.shape, weights=_weights(w),
                         where=where or v.where)
        if v.A is None:
            A = [[s[i] if i == j else ZERO for j in range(v.width)] for i in range(v.width)]
        else:
            A = [[s[i] * a for a in row] for i, row in enumerate(v.A)]
        c = None if v.c is None else [si * ci for si, ci in zip(s, v.c)]
        return Value(v.sources, v.width, A, c, shape or v.shape, v.weights, v.where)

    def reshape(self, v: Value, shape: tuple) -> Value:
        return Value(v.sources, v.width, v.A, v.c, shape, v.weights, v.where)

    def add(self, v1: Value, v2: Value, shape: tuple = (), where: str = "") -> Value:
        """``v1 + v2`` for two graph values (a residual connection or parallel maps)."""
        if v1.out_dim != v2.out_dim:
            raise self.fail(f"adding values of widths {v1.out_dim} and {v2.out_dim}")
        shape = shape or v1.shape
        if v1.is_plain and v2.is_plain:
            # sum_k w_k nu_k + sum_k w'_k nu_k: a (weighted) skip (J&V eq. 46)
            # once a layer consumes it; finish() folds the weights.
            w = v1.weight_map()
            for k, x in v2.weight_map().items():
                w[k] = w.get(k, ZERO) + x
            w = {k: x for k, x in w.items() if x != 0}
            if not w:           # nu - nu: the zero vector
                zero = [[ZERO] * v1.width for _ in range(v1.width)]
                return Value(v1.sources, v1.width, zero, None, shape, v1.weights, v1.where)
            return Value(frozenset(w), v1.width, shape=shape, weights=_weights(w),
                         where=where if _weights(w) is not None else "")
        if v1.sources == v2.sources:
            # the same sum on both sides (up to a common factor of the weights)
            w1, w2 = v1.weight_map(), v2.weight_map()
            k0 = max(w1)
            r = w2[k0] / w1[k0]
            if all(w2[k] == r * w1[k] for k in w1):
                def full(v, f):
                    if v.A is not None:
                        return v.A if f == 1 else [[f * a for a in row] for row in v.A]
                    return [[f if i == j else ZERO for j in range(v.width)]
                            for i in range(v.width)]
                # A2 (sum w2 nu) = (r A2) (sum w1 nu)
                A = [[a + b for a, b in zip(r1, r2)]
                     for r1, r2 in zip(full(v1, mpq(1)), full(v2, r))]
                if v1.c is None and v2.c is None:
                    c = None
                else:
                    c = [x + y for x, y in zip(v1.c or [ZERO] * v1.out_dim,
                                               v2.c or [ZERO] * v2.out_dim)]
                return Value(v1.sources, v1.width, A, c, shape, v1.weights, v1.where)
        raise UnsupportedLayerError(
            str(self.fail("this addition of two computed values cannot be represented: "
                          "a skip connection must add post-activation values "
                          "(x + relu(...), J&V eq. 46), not values after a linear map, "
                          "and each value at most once")))

    # ----------------------------------------------------------- layers
    def _emit(self, v: Value) -> int:
        j = len(self.layers)          # index of the newest nu
        if max(v.sources) != j:
            raise UnsupportedLayerError(str(self.fail(
                f"the value depends on layer {max(v.sources)} but layer {j} was already "
                f"built: branching graphs (parallel activations) are not supported")))
        n = v.width
        W = v.A if v.A is not None else [[mpq(1) if i == k else ZERO for k in range(n)]
                                         for i in range(n)]
        b = v.c if v.c is not None else [ZERO] * len(W)
        self.layers.append((W, b, tuple(sorted(v.sources - {j})), v.weight_map(), v.where))
        return j + 1

    def activate(self, v: Value, kind: str, alpha: Fraction | None = None,
                 where: str = "") -> Value:
        """Apply an activation: emits hidden layer ``l`` and returns ``nu_l``."""
        if self.activation is None:
            self.activation, self.alpha, self.activation_where = kind, alpha, where
        elif (kind, alpha) != (self.activation, self.alpha):
            def name(k, a):
                return k + (f"(negative_slope={a})" if k == "leaky_relu" else "")
            raise UnsupportedLayerError(str(self.fail(
                f"activation {name(kind, alpha)} differs from "
                f"{name(self.activation, self.alpha)} used at {self.activation_where}: "
                f"a network has one activation function")))
        out = v.out_dim
        l = self._emit(v)
        self.widths.append(out)
        return Value(frozenset({l}), out, shape=v.shape)

    def finish(self, v: Value, max_denominator: int | None = None) -> Network:
        """Emit the output layer and build the exact Network."""
        self._emit(v)
        kind = self.activation or "relu"
        scales = self._fold_scales(kind)
        layers = []
        skips: dict[int, list[int]] = {}
        L = len(self.layers)
        for l, (W, b, src, wmap, _) in enumerate(self.layers, start=1):
            # z_l = A (sum w_k nu_k) + b = g A (sum nu'_k) + b with nu'_k = c_k nu_k;
            # nu'_l = c_l sigma(z_l) = sigma(c_l z_l)   (c_l > 0)
            k = max(wmap)
            g = wmap[k] / scales[k]
            cl = scales[l] if l < L else mpq(1)
            if g * cl != 1:
                W = [[g * cl * x for x in row] for row in W]
            if cl != 1:
                b = [cl * x for x in b]
            layers.append(([[mpq_to_fraction(x) for x in row] for row in W],
                           [mpq_to_fraction(x) for x in b]))
            if src:
                skips[l] = list(src)
        imap = None
        if self.input_map is not None:
            imap = ([[mpq_to_fraction(x) for x in row] for row in self.input_map[0]],
                    [mpq_to_fraction(x) for x in self.input_map[1]])
        try:
            return Network.from_weights(layers, skips=skips or None, activation=kind,
                                        alpha=self.alpha if kind == "leaky_relu" else None,
                                        max_denominator=max_denominator, input_map=imap)
        except PolyreluError as e:
            raise type(e)(str(self.fail(str(e)))) from None


    def _fold_scales(self, kind: str) -> dict:
        """Positive scales ``c_k`` of ``nu_k`` with ``w_k / c_k`` equal over every
        weighted sum (``c_0 = 1``), found by propagation along the sums."""
        L = len(self.layers)
        scales = {0: mpq(1)}
        if all(all(w == 1 for w in wmap.values()) for _, _, _, wmap, _ in self.layers):
            return {k: mpq(1) for k in range(L)}
        # c_j / c_k = w_j / w_k for j, k in one sum (weights are nonzero);
        # propagate from 0 (c_0 = 1), then from each remaining node (c = 1).
        edges: dict[int, list] = {k: [] for k in range(L)}
        for l, (_, _, _, wmap, where) in enumerate(self.layers, start=1):
            ks = sorted(wmap)
            for j in ks[1:]:
                edges[ks[0]].append((j, wmap[j] / wmap[ks[0]], where, l))
                edges[j].append((ks[0], wmap[ks[0]] / wmap[j], where, l))

        def refuse(where: str, why: str) -> UnsupportedLayerError:
            return UnsupportedLayerError(str(self.fail(
                f"the weighted residual addition {where or '(a scaled sum)'} cannot be "
                f"represented: {why}; a skip adds nu_k with weight 1 (J&V eq. 46) and "
                f"a weight can only be folded into a layer as a positive factor")))

        for root in range(L):
            if root in scales and root != 0:
                continue
            scales.setdefault(root, mpq(1))
            stack = [root]
            while stack:
                k = stack.pop()
                for j, ratio, where, l in edges[k]:
                    cj = scales[k] * ratio
                    if j in scales:
                        if scales[j] != cj:
                            raise refuse(where, f"its weights are inconsistent with "
                                                f"another sum using the same values "
                                                f"(layer {l})")
                        continue
                    if cj < 0:      # sigma(-z) != -sigma(z): no fold
                        raise refuse(where, "it has a negative weight")
                    scales[j] = cj
                    stack.append(j)
        bad = [k for k, c in scales.items() if c != 1]
        if bad and kind == "hard_tanh":
            where = next((wh for _, _, _, wm, wh in self.layers if len(wm) > 1 and wh), "")
            raise refuse(where, "hard tanh is not positively homogeneous, so a scaled "
                                "branch cannot be folded into its layer")
        return scales


class Aliases:
    """Which values of a torch graph are one tensor, or share its memory.

    An in-place operation (``h.mul_(2)``, ``u += h``, ``nn.ReLU(inplace=True)``)
    changes a tensor that other graph values may still refer to, and eager
    torch sees the new contents through all of them.  A reader records the
    aliases it creates -- :meth:`same` for the very tensor (an in-place op's
    result, ``nn.Identity``, eval-mode dropout, an ``if``'s output), :meth:`view`
    for another tensor on the same memory (view, reshape, flatten, ...) -- and
    asks :meth:`mutate` which values an in-place op changes.  Keys are the
    reader's graph values (fx nodes, TorchScript values); anything not recorded
    is a fresh tensor.

    >>> al = Aliases()
    >>> al.same("y", "x"); al.view("v", "x")
    >>> sorted(al.mutate("y", "mul_"))        # rebind x and y; v is now stale
    ['x', 'y']
    >>> al.stale("v"), al.stale("x")
    ('mul_', None)
    """

    def __init__(self) -> None:
        self._obj: dict = {}      # key -> tensor id
        self._mem: dict = {}      # key -> memory id
        self._stale: dict = {}    # key -> the in-place op that changed it unseen
        self._n = 0

    def _fresh(self, key) -> None:
        if key not in self._obj:
            self._n += 1
            self._obj[key] = self._mem[key] = self._n

    def same(self, key, of) -> None:
        """``key`` is the tensor ``of`` itself."""
        self._fresh(of)
        self._obj[key], self._mem[key] = self._obj[of], self._mem[of]
        self._stale.pop(key, None)

    def view(self, key, of) -> None:
        """``key`` is a view of ``of`` (another tensor on its memory)."""
        self._fresh(of)
        self._n += 1
        self._obj[key], self._mem[key] = self._n, self._mem[of]
        self._stale.pop(key, None)

    def relation(self, key, of) -> str | None:
        """``"same"``, ``"view"`` or None (unrelated memory)."""
        if key not in self._obj or of not in self._obj:
            return "same" if key == of else None
        if self._obj[key] == self._obj[of]:
            return "same"
        return "view" if self._mem[key] == self._mem[of] else None

    def mutate(self, key, where: str) -> list:
        """An in-place op ``where`` changes ``key``: the keys to rebind to its
        result (``key`` and the values that are the same tensor).  Every other
        value on the same memory (a view of it, or the base it views) changes
        in a way the reader cannot follow: it becomes stale (:meth:`stale`)."""
        self._fresh(key)
        o, m = self._obj[key], self._mem[key]
        for k, mk in self._mem.items():
            if mk == m and self._obj[k] != o:
                self._stale[k] = where
        return [k for k, ok in self._obj.items() if ok == o]

    def clobber(self, key, where: str) -> None:
        """Every value on ``key``'s memory changed unseen (``key`` included)."""
        self._fresh(key)
        m = self._mem[key]
        for k, mk in self._mem.items():
            if mk == m:
                self._stale[k] = where

    def stale(self, key) -> str | None:
        """The in-place op that changed ``key`` through a view, or None: a
        reader refuses to read a stale value."""
        return self._stale.get(key)


def inplace_view_error(where: str, what: str) -> str:
    """Why ``what``, changed by the in-place op ``where`` through a view, is
    not read."""
    return (f"the in-place operation {where} changed memory that {what} shares with "
            f"a view (view/reshape/flatten results and their bases share memory), "
            f"and {what} is used afterwards: a mutation through a view is not "
            f"followed; use the out-of-place operation or .clone()")


def fractions_to_q(values) -> list:
    """Nested tuples of Fractions -> nested lists of mpq."""
    if isinstance(values, Fraction):
        return q(values)
    return [fractions_to_q(v) for v in values]


def export_float(v, what: str) -> float:
    """The float64 of an exact value for a float export (rounding is the
    export's documented behaviour); a value beyond the float64 range is a
    :class:`~polyrelu.exceptions.NumberError` naming ``what``.

    >>> export_float(Fraction(3, 8), "layer 1 bias row 1")
    0.375
    >>> export_float(Fraction(10) ** 400, "layer 1 weight row 1, column 2")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    polyrelu.exceptions.NumberError: layer 1 weight row 1, column 2: ... no float64 ...
    """
    try:
        return to_float(v)
    except OverflowError:
        f = Fraction(v)
        mag = abs(f.numerator).bit_length() - f.denominator.bit_length()
        raise NumberError(f"{what}: the value (about {'-' if f < 0 else ''}2^{mag}) has "
                          f"no float64 (the largest float64 is about 1.8e308)") from None


def export_rows(rows, what: str) -> list:
    """Float64 rows of an exact matrix (:func:`export_float`; rows and columns
    counted from 1 in messages)."""
    return [[export_float(v, f"{what} row {i}, column {j}") for j, v in enumerate(row, 1)]
            for i, row in enumerate(rows, 1)]


#: smallest positive normal float64 / float32: below them a value underflows
#: (to a subnormal with fewer significant bits, or to zero)
_MIN_NORMAL64 = Fraction(1, 2 ** 1022)
_MIN_NORMAL32 = Fraction(1, 2 ** 126)


@dataclass(frozen=True)
class ExportReport:
    """What a float export changes (:func:`export_report`).

    ``rounded``: places whose value is not a float (a denominator that is not
    a power of two, more significant bits than the format has);
    ``underflowed``: ``(place, exact value, float)`` of the values below the
    format's smallest normal number that lost bits, perhaps all of them
    (``2^-1100`` becomes ``0.0`` in float64).  ``exact`` is True when the
    file holds every value exactly.
    """

    rounded: tuple = ()
    underflowed: tuple = ()

    @property
    def exact(self) -> bool:
        return not self.rounded and not self.underflowed

    def describe(self, limit: int = 3) -> list:
        """Sentences for the user (empty when exact)."""
        out = []
        if self.underflowed:
            shown = "; ".join(f"{where} = {_magnitude(v)} became {f!r}"
                              for where, v, f in self.underflowed[:limit])
            more = len(self.underflowed) - limit
            out.append(f"{len(self.underflowed)} value(s) below the smallest normal "
                       f"float underflowed (to a subnormal with fewer bits, or to "
                       f"zero): {shown}" + (f"; and {more} more" if more > 0 else ""))
        if self.rounded:
            shown = ", ".join(self.rounded[:limit])
            more = len(self.rounded) - limit
            out.append(f"{len(self.rounded)} value(s) with a denominator that is not a "
                       f"power of two, or more significant bits than the float has, "
                       f"were rounded to the nearest float ({shown}"
                       + (f", and {more} more)" if more > 0 else ")"))
        return out


def _magnitude(v: Fraction) -> str:
    """``2^-1100`` for a power of two, else ``about 2^k (1.2e-331)``."""
    v = Fraction(v)
    sign = "-" if v < 0 else ""
    n, d = abs(v.numerator), v.denominator
    if n & (n - 1) == 0 and d & (d - 1) == 0:
        return f"{sign}2^{n.bit_length() - d.bit_length()}"
    mag = n.bit_length() - d.bit_length()
    return f"about {sign}2^{mag}"


def export_report(net: Network, alpha_float32: bool = False) -> ExportReport:
    """Which weights a float64 export of ``net`` rounds, and which underflow
    (places named as :func:`export_float` names them; leaky ReLU's slope is a
    float32 in ONNX, ``alpha_float32=True``).  Values beyond the float64
    range are not reported here: the export refuses them.

    >>> r = export_report(Network.from_weights([([[Fraction(1, 2 ** 1100), 1]],
    ...                                          [Fraction(1, 3)]), ([[1]], [0])]))
    >>> r.exact, r.rounded, r.underflowed[0][0], r.underflowed[0][2]
    (False, ('layer 1 bias row 1',), 'layer 1 weight row 1, column 1', 0.0)
    """
    import numpy as np

    places = []
    if net.input_map is not None:
        A, a = net.input_map
        places += [(f"input map weight row {i}, column {j}", v)
                   for i, row in enumerate(A, 1) for j, v in enumerate(row, 1)]
        places += [(f"input map bias row {i}", v) for i, v in enumerate(a, 1)]
    for l, layer in enumerate(net.layers, 1):
        places += [(f"layer {l} weight row {i}, column {j}", v)
                   for i, row in enumerate(layer.W, 1) for j, v in enumerate(row, 1)]
        places += [(f"layer {l} bias row {i}", v) for i, v in enumerate(layer.b, 1)]
    rounded, under = [], []

    def check(where: str, v: Fraction, f: float, min_normal: Fraction) -> None:
        if not np.isfinite(f) or Fraction(f) == v:
            return
        if abs(v) < min_normal:
            under.append((where, v, f))
        else:
            rounded.append(where)

    for where, v in places:
        try:
            check(where, v, float(v), _MIN_NORMAL64)
        except OverflowError:
            pass
    if net.activation == "leaky_relu":
        where = "the leaky ReLU slope alpha"
        try:
            f = float(net.alpha)
        except OverflowError:
            f = None
        if f is not None and alpha_float32:
            with np.errstate(over="ignore", under="ignore"):
                f = float(np.float32(f))
            check(where + " (a float32 in ONNX)", net.alpha, f, _MIN_NORMAL32)
        elif f is not None:
            check(where, net.alpha, f, _MIN_NORMAL64)
    return ExportReport(tuple(rounded), tuple(under))
