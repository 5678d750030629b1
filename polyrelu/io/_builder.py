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
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

import gmpy2

from ..exceptions import PolyreluError, UnsupportedLayerError
from ..linalg import mpq_to_fraction
from ..network import Network

mpq = gmpy2.mpq
ZERO = mpq(0)


def q(x: Fraction):
    """Lossless Fraction -> mpq."""
    return mpq(x.numerator, x.denominator)


@dataclass(frozen=True)
class Value:
    """``A (sum_{k in sources} nu_k) + c``; ``A is None`` = identity, ``c is None`` = 0."""

    sources: frozenset
    width: int          # width of the summed nu's (input of A)
    A: Any = None       # list of mpq rows (out x width) or None
    c: Any = None       # list of mpq (out) or None
    shape: tuple = ()   # tensor shape bookkeeping for ONNX (batch = 1)

    @property
    def out_dim(self) -> int:
        return self.width if self.A is None else len(self.A)

    @property
    def is_plain(self) -> bool:
        """A plain sum of nu's (no affine map applied yet)."""
        return self.A is None and self.c is None


class ChainBuilder:
    """Collects hidden layers; ``fail(msg)`` builds the importer's error."""

    def __init__(self, input_dim: int, fail: Callable[[str], Exception]):
        self.fail = fail
        self.widths = [input_dim]     # widths of nu_0, nu_1, ...
        self.layers: list = []        # (W rows mpq, b mpq, skip sources)
        self.activation: str | None = None
        self.alpha: Fraction | None = None
        self.activation_where = ""

    def input(self, shape: tuple = ()) -> Value:
        return Value(frozenset({0}), self.widths[0], shape=shape)

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
        return Value(v.sources, v.width, A, c, shape)

    def add_const(self, v: Value, k: list, shape: tuple = ()) -> Value:
        if len(k) != v.out_dim:
            raise self.fail(f"constant has {len(k)} entries, the value has {v.out_dim}")
        if not any(k):
            return Value(v.sources, v.width, v.A, v.c, shape or v.shape)
        c = list(k) if v.c is None else [x + y for x, y in zip(v.c, k)]
        return Value(v.sources, v.width, v.A, c, shape or v.shape)

    def scale(self, v: Value, s: list, shape: tuple = ()) -> Value:
        """Elementwise ``s * v``."""
        if len(s) != v.out_dim:
            raise self.fail(f"scale has {len(s)} entries, the value has {v.out_dim}")
        if all(x == 1 for x in s):
            return Value(v.sources, v.width, v.A, v.c, shape or v.shape)
        if v.A is None:
            A = [[s[i] if i == j else ZERO for j in range(v.width)] for i in range(v.width)]
        else:
            A = [[s[i] * a for a in row] for i, row in enumerate(v.A)]
        c = None if v.c is None else [si * ci for si, ci in zip(s, v.c)]
        return Value(v.sources, v.width, A, c, shape or v.shape)

    def reshape(self, v: Value, shape: tuple) -> Value:
        return Value(v.sources, v.width, v.A, v.c, shape)

    def add(self, v1: Value, v2: Value, shape: tuple = ()) -> Value:
        """``v1 + v2`` for two graph values (a residual connection or parallel maps)."""
        if v1.out_dim != v2.out_dim:
            raise self.fail(f"adding values of widths {v1.out_dim} and {v2.out_dim}")
        if v1.is_plain and v2.is_plain and not (v1.sources & v2.sources):
            # nu_j + nu_k: a skip (J&V eq. 46) once a layer consumes it.
            return Value(v1.sources | v2.sources, v1.width, shape=shape or v1.shape)
        if v1.sources == v2.sources:
            def full(v):
                if v.A is not None:
                    return v.A
                return [[mpq(1) if i == j else ZERO for j in range(v.width)]
                        for i in range(v.width)]
            A = [[a + b for a, b in zip(r1, r2)] for r1, r2 in zip(full(v1), full(v2))]
            if v1.c is None and v2.c is None:
                c = None
            else:
                c = [x + y for x, y in zip(v1.c or [ZERO] * v1.out_dim,
                                           v2.c or [ZERO] * v2.out_dim)]
            return Value(v1.sources, v1.width, A, c, shape or v1.shape)
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
        self.layers.append((W, b, tuple(sorted(v.sources - {j}))))
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
        layers = []
        skips: dict[int, list[int]] = {}
        for l, (W, b, src) in enumerate(self.layers, start=1):
            layers.append(([[mpq_to_fraction(x) for x in row] for row in W],
                           [mpq_to_fraction(x) for x in b]))
            if src:
                skips[l] = list(src)
        kind = self.activation or "relu"
        try:
            return Network.from_weights(layers, skips=skips or None, activation=kind,
                                        alpha=self.alpha if kind == "leaky_relu" else None,
                                        max_denominator=max_denominator)
        except PolyreluError as e:
            raise type(e)(str(self.fail(str(e)))) from None


def fractions_to_q(values) -> list:
    """Nested tuples of Fractions -> nested lists of mpq."""
    if isinstance(values, Fraction):
        return q(values)
    return [fractions_to_q(v) for v in values]
