"""TropEx: extracting the linear terms of a network at data points.

Trimmel, Petzka & Sminchisescu (ICLR 2021).  A ReLU classifier is a tropical
rational map (T&P eq. 1, Lemma 3.2)::

    N_i(x) = max_j a+_ij(x) - max_l a-_l(x),

one numerator per class and one denominator shared by all classes, every term
affine with non-negative coefficients.  The number of terms is astronomical, so
TropEx keeps only the terms that are maximal at the data points: merging the
layers from the last to the first with the rules of T&P Table 1, it extracts for
each data point ``x_k`` the numerator terms ``a+_{k,i}`` and the denominator
term ``a-_k`` that attain the maxima at ``x_k``.  The *extracted function*
(T&P eq. 2) is::

    N^(X)_i(x) = max{a+_{k,i}(x) : x_k labelled i by N} - max_k a-_k(x).

Theorem 3.3: on every data point N^(X) has the same maximum and the same label
as N, and ``a+_{k,i} - a-_k`` is the network's local affine map at ``x_k``.
:func:`tropex` checks both (exactly in exact mode).

Matrix representation (T&P Definition 3.1): :class:`TropicalRationalMap` holds
``(A+, a+)/(A-, a-)`` per output, ``(A, a)(x) = max(A x + a)`` over rows.

The merge rules, generalised to a computation graph (a reverse pass, like
back-propagation, carrying for every data point the coefficient rows ``A`` of
the terms and one global bound ``Amax >= A`` on every coefficient of every term
of the representation):

* affine layer ``v = W u + b`` (dense, convolution, eval batch-norm, average
  pooling, flatten): ``K = Amax W_neg``; ``Amax <- Amax |W|``;
  ``a <- a + A b``; ``A <- K + A W`` (T&P Table 1 "Dense"/"Conv"; the same
  ``K u`` is added to numerator and denominator, which keeps every coefficient
  non-negative).  Convolutions use the transposed convolution.  A batch-norm
  with a negative scale gets a ``K`` too (the table assumes ``gamma > 0``).
  Its scale ``gamma / sqrt(var + eps)`` is irrational in general: the exact
  model uses the float64 value of that scale (converted exactly), i.e. exact
  mode is exact for *that* network, not for torch's own float32 arithmetic.
* ReLU / leaky ReLU (slope ``0 <= alpha <= 1``): the columns of inactive units
  (``z < 0`` at ``x_k``) are multiplied by ``alpha`` (0 for ReLU).

  Tie rule: a unit with ``z = 0`` exactly (a data point on a region boundary)
  is taken as *active*, as :meth:`~polyrelu.network.Network.pattern` does --
  except that ``Network.pattern`` gives bit 0 to a unit whose pre-activation
  is *identically* zero on the region (SPEC), while TropEx, which sees only
  the value at ``x_k``, keeps it active.  Such a unit's output is the zero
  affine map under either choice, so the extracted ``a+ - a-`` still equals
  ``net.affine_map(net.pattern(x_k))`` exactly (checked by ``check=True``);
  only the bits of those units in :func:`region_sharing`'s patterns differ
  (a relabelling within each region: the counts agree).
* max-pooling: each output column goes to the input position that attains the
  window maximum at ``x_k``; ``Amax`` is summed over the windows covering a
  position.
* residual addition ``y = f(u) + g(u)``: both branches receive the rows; the
  contributions meeting at a common input add up (rows and ``Amax``).

The reverse pass starts at the output with numerator rows ``e_i`` and a zero
denominator row (``Amax = 1``); merging the output layer reproduces lines 1-6 of
T&P Algorithm 3.1 (constants differ from the paper's by a common shift, which
changes no difference ``a+ - a-``).  For every data point all ``s`` numerator
rows are kept (the paper keeps the one of the label) so that the local affine
map of every output is available.

Models: a polyrelu Network, or a torch model -- a ``torch.export`` program
(recommended), an eager module or a TorchScript module -- read by the one
torch reading layer, :mod:`polyrelu.io.torch`, into its layer graph, which
``_graph_from_layers`` turns into the ops below (with shapes, for the
data's input shape).  Every kind of torch model gives the same layer
description (:func:`model_layers`).

Two modes: ``"exact"`` (gmpy2 ``mpq`` inside, :class:`~fractions.Fraction`
outside; weights of torch layers converted exactly by :mod:`polyrelu.numbers`)
and ``"fast"`` (torch float64, batched; for MNIST-size work).

>>> from polyrelu.network import Network
>>> net = Network.from_weights([([[1, -1], [1, 1]], [0, -1]),
...                             ([[1, -1], [-1, 1]], ["1/2", 0])])
>>> E = tropex(net, [[2, 1], [3, 0]])
>>> E.labels
(1, 0)
>>> E([2, 1]), net([2, 1])        # same maximum and label at a data point
((Fraction(-1, 2), Fraction(1, 1)), (Fraction(-1, 2), Fraction(1, 1)))
>>> E.local_map(0) == net.affine_map(net.pattern([2, 1]))
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, NoReturn, Optional, Sequence

import gmpy2
import numpy as np

from .exceptions import BackendError, NetworkError, ShapeError, UnsupportedLayerError
from .numbers import to_fraction

__all__ = ["tropex", "TropExFunction", "TropicalTerm", "TropicalRationalMap",
           "RegionSharing", "region_sharing", "ExtractionScores",
           "extraction_scores", "CoefficientComparison", "compare_coefficients",
           "TransformationStage", "transformation_curve", "model_layers",
           "infer_input_shape", "model_outputs", "TROPEX_SUPPORTED"]

mpq = gmpy2.mpq
_Q0 = mpq(0)
_Q1 = mpq(1)

#: layer types :func:`tropex` understands (torch names)
TROPEX_SUPPORTED = ("Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm1d",
                    "BatchNorm2d", "Flatten", "view / reshape", "ReLU", "LeakyReLU",
                    "Identity", "Dropout", "addition (residual)", "+ - * / by numbers "
                    "or per-channel constants", "polyrelu Network (relu, leaky_relu, "
                    "skips)")


# =====================================================================
# numbers
# =====================================================================
def _fr_to_q(f: Fraction):
    return mpq(f.numerator, f.denominator)


def _q_to_fr(q) -> Fraction:
    return Fraction(int(q.numerator), int(q.denominator))


def _exact_array(values: Any, where: str) -> np.ndarray:
    """Object array of mpq, converting every entry with :func:`to_fraction`."""
    if hasattr(values, "detach"):  # torch tensor
        values = values.detach().cpu().double().numpy()
    arr = np.asarray(values, dtype=object)
    flat = arr.reshape(-1)
    out = np.empty(flat.shape, dtype=object)
    for i, v in enumerate(flat):
        if type(v) is type(_Q0):
            out[i] = v
        else:
            out[i] = _fr_to_q(to_fraction(v, f"{where}, entry {i}"))
    return out.reshape(arr.shape)


def _float_array(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):
        return values.detach().cpu().double().numpy()
    arr = np.asarray(values, dtype=object)
    try:
        return np.asarray(arr.astype(float), dtype=np.float64)
    except (TypeError, ValueError):
        flat = [float(to_fraction(v)) for v in arr.reshape(-1)]
        return np.array(flat, dtype=np.float64).reshape(arr.shape)


# =====================================================================
# Definition 3.1: matrix representation of tropical rational maps
# =====================================================================
def _rows_max(A, a, x):
    best = None
    for row, c in zip(A, a):
        v = c + sum((w * xi for w, xi in zip(row, x)), Fraction(0))
        if best is None or v > best:
            best = v
    return best


@dataclass(frozen=True)
class TropicalRationalMap:
    """``((A+_i, a+_i) / (A-_i, a-_i))_i`` (T&P Definition 3.1), exact.

    ``(A, a)(x) = max over rows of A x + a``; the formal quotient is the
    difference of the two maxima.  ``pairs[i] = ((A_plus, a_plus), (A_minus,
    a_minus))``, matrices as tuples of Fraction rows.

    >>> n = TropicalRationalMap.relu_neuron([1, -2], "1/2")   # max(x1-2x2+1/2, 0)
    >>> n([1, 1]), n([3, 0])
    ((Fraction(0, 1),), (Fraction(7, 2),))
    >>> (n + n.scale(2))([3, 0])
    (Fraction(21, 2),)
    """

    pairs: tuple

    @property
    def input_dim(self) -> int:
        return len(self.pairs[0][0][0][0])

    @property
    def output_dim(self) -> int:
        return len(self.pairs)

    @staticmethod
    def _pair(A, a):
        A = tuple(tuple(to_fraction(v) for v in row) for row in A)
        a = tuple(to_fraction(v) for v in a)
        if len(A) != len(a) or not A:
            raise ShapeError("a tropical term pair needs as many constants as rows "
                             "(and at least one row)")
        return A, a

    @classmethod
    def from_pairs(cls, pairs) -> "TropicalRationalMap":
        """Build from ``[((A+, a+), (A-, a-)), ...]`` (entries converted exactly)."""
        out = []
        for num, den in pairs:
            out.append((cls._pair(*num), cls._pair(*den)))
        return cls(tuple(out))

    @classmethod
    def from_affine(cls, W, b) -> "TropicalRationalMap":
        """The affine map ``W x + b``: ``A+ = W_pos``, ``A- = W_neg`` (one row each).

        >>> TropicalRationalMap.from_affine([[1, -1]], [2])([3, 5])
        (Fraction(0, 1),)
        """
        pairs = []
        for row, c in zip(W, b):
            row = [to_fraction(v) for v in row]
            c = to_fraction(c)
            pos = (tuple(max(v, 0) for v in row),), (max(c, 0),)
            neg = (tuple(max(-v, 0) for v in row),), (max(-c, 0),)
            pairs.append((pos, neg))
        return cls(tuple(pairs))

    @classmethod
    def relu_neuron(cls, w, b) -> "TropicalRationalMap":
        """``max(w.x + b, 0)`` as ``(w_pos; w_neg, b_pos; b_neg) / (w_neg, b_neg)``
        (T&P section 3.1)."""
        w = [to_fraction(v) for v in w]
        b = to_fraction(b)
        wp = tuple(max(v, 0) for v in w)
        wn = tuple(max(-v, 0) for v in w)
        bp, bn = max(b, 0), max(-b, 0)
        return cls(((((wp, wn), (bp, bn)), ((wn,), (bn,))),))

    def __call__(self, x) -> tuple:
        x = [to_fraction(v) for v in x]
        if len(x) != self.input_dim:
            raise ShapeError(f"input has dimension {len(x)}, the map expects "
                             f"{self.input_dim}")
        return tuple(_rows_max(num[0], num[1], x) - _rows_max(den[0], den[1], x)
                     for num, den in self.pairs)

    # tropical algebra: + is the tropical product, maximum the tropical sum
    @staticmethod
    def _prod(P, Q):
        A = tuple(tuple(u + v for u, v in zip(r, s)) for r in P[0] for s in Q[0])
        a = tuple(c + e for c in P[1] for e in Q[1])
        return _dedup_pair(A, a)

    @staticmethod
    def _union(P, Q):
        return _dedup_pair(P[0] + Q[0], P[1] + Q[1])

    def _check_same(self, other):
        if not isinstance(other, TropicalRationalMap):
            return NotImplemented
        if (other.input_dim, other.output_dim) != (self.input_dim, self.output_dim):
            raise ShapeError("tropical rational maps of different shapes")
        return None

    def __add__(self, other):
        """Sum of functions: ``P/Q + R/S = (P R)/(Q S)`` tropically."""
        bad = self._check_same(other)
        if bad is NotImplemented:
            return bad
        return TropicalRationalMap(tuple(
            (self._prod(n1, n2), self._prod(d1, d2))
            for (n1, d1), (n2, d2) in zip(self.pairs, other.pairs)))

    def __neg__(self):
        return TropicalRationalMap(tuple((d, n) for n, d in self.pairs))

    def __sub__(self, other):
        return self + (-other)

    def scale(self, c) -> "TropicalRationalMap":
        """Multiply by a constant ``c >= 0`` (scales every term)."""
        c = to_fraction(c)
        if c < 0:
            return (-self).scale(-c)

        def sc(P):
            return (tuple(tuple(c * v for v in r) for r in P[0]),
                    tuple(c * v for v in P[1]))

        return TropicalRationalMap(tuple((sc(n), sc(d)) for n, d in self.pairs))

    def maximum(self, other) -> "TropicalRationalMap":
        """Pointwise max: ``max(P/Q, R/S) = max(P S, R Q) / (Q S)``."""
        bad = self._check_same(other)
        if bad is NotImplemented:
            raise ShapeError("maximum needs another TropicalRationalMap")
        out = []
        for (P, Q), (R, S) in zip(self.pairs, other.pairs):
            out.append((self._union(self._prod(P, S), self._prod(R, Q)),
                        self._prod(Q, S)))
        return TropicalRationalMap(tuple(out))

    def relu(self) -> "TropicalRationalMap":
        """``max(f, 0)`` = ``max(P, Q)/Q``."""
        return TropicalRationalMap(tuple((self._union(P, Q), Q) for P, Q in self.pairs))

    def num_terms(self) -> tuple:
        """(numerator rows, denominator rows) per output."""
        return tuple((len(P[0]), len(Q[0])) for P, Q in self.pairs)


def _dedup_pair(A, a):
    seen = {}
    for row, c in zip(A, a):
        seen.setdefault((row, c), None)
    rows = tuple(k[0] for k in seen)
    consts = tuple(k[1] for k in seen)
    return rows, consts


# =====================================================================
# backends: exact (numpy object arrays of mpq) and fast (torch float64)
# =====================================================================
class _ExactBackend:
    name = "exact"

    def __init__(self) -> None:
        self._cache: dict = {}

    def param(self, op, key):
        k = (id(op), key)
        if k not in self._cache:
            v = getattr(op, key)
            self._cache[k] = _exact_array(v, f"{op.name} {key}")
        return self._cache[k]

    def derived(self, op, key, fn):
        k = (id(op), key, fn.__name__)
        if k not in self._cache:
            self._cache[k] = fn(self.param(op, key))
        return self._cache[k]

    def zeros(self, shape):
        return np.full(shape, _Q0, dtype=object)

    def ones(self, shape):
        return np.full(shape, _Q1, dtype=object)

    def scalar(self, v):
        return _fr_to_q(to_fraction(v))

    @staticmethod
    def abs(a):
        return np.abs(a)

    @staticmethod
    def negpart(a):
        return (np.abs(a) - a) / 2

    @staticmethod
    def matmul(a, b):
        return a @ b

    @staticmethod
    def reshape(a, shape):
        return a.reshape(shape)

    @staticmethod
    def nonneg(a):
        return np.asarray(a >= 0, dtype=bool)

    def where(self, mask, a, b):
        return np.where(mask, a, b)

    def slope(self, mask, alpha):
        """1 where active, alpha elsewhere (mpq)."""
        return np.where(mask, _Q1, self.scalar(alpha))

    @staticmethod
    def argmax_last(a):
        return np.argmax(a, axis=-1)

    @staticmethod
    def take_last(a, idx):
        return np.take_along_axis(a, idx[..., None], -1)[..., 0]

    @staticmethod
    def sum_from(a, start):
        axes = tuple(range(start, a.ndim))
        return a.sum(axis=axes) if axes else a

    def scatter_last(self, src, index, n):
        """out[..., index[..., j]] += src[..., j] (index broadcast to src)."""
        index = np.broadcast_to(index, src.shape)
        out = self.zeros(src.shape[:-1] + (n,))
        lead = np.indices(src.shape[:-1])
        idx = tuple(np.broadcast_to(i[..., None], src.shape) for i in lead) + (index,)
        np.add.at(out, idx, src)
        return out

    def conv(self, X, F, stride, padding, dilation, groups):
        N, Cin, H, W = X.shape
        Cout, cin_g, kh, kw = F.shape
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        Ho = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        Wo = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        Xp = self.zeros((N, Cin, H + 2 * ph, W + 2 * pw))
        Xp[:, :, ph:ph + H, pw:pw + W] = X
        Y = self.zeros((N, Cout, Ho, Wo))
        cout_g = Cout // groups
        for g in range(groups):
            ci = slice(g * cin_g, (g + 1) * cin_g)
            co = slice(g * cout_g, (g + 1) * cout_g)
            for ky in range(kh):
                for kx in range(kw):
                    patch = Xp[:, ci, ky * dh: ky * dh + sh * (Ho - 1) + 1: sh,
                               kx * dw: kx * dw + sw * (Wo - 1) + 1: sw]
                    t = np.tensordot(patch, F[co, :, ky, kx], axes=([1], [1]))
                    Y[:, co] += t.transpose(0, 3, 1, 2)
        return Y

    def conv_transpose(self, A, F, in_shape, stride, padding, dilation, groups):
        """Adjoint of :meth:`conv` (T&P Table 1 "ConvTrans")."""
        N = A.shape[0]
        Cin, H, W = in_shape
        Cout, cin_g, kh, kw = F.shape
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        Ho, Wo = A.shape[2], A.shape[3]
        Gp = self.zeros((N, Cin, H + 2 * ph, W + 2 * pw))
        cout_g = Cout // groups
        for g in range(groups):
            ci = slice(g * cin_g, (g + 1) * cin_g)
            co = slice(g * cout_g, (g + 1) * cout_g)
            for ky in range(kh):
                for kx in range(kw):
                    t = np.tensordot(A[:, co], F[co, :, ky, kx], axes=([1], [0]))
                    Gp[:, ci, ky * dh: ky * dh + sh * (Ho - 1) + 1: sh,
                       kx * dw: kx * dw + sw * (Wo - 1) + 1: sw] += t.transpose(0, 3, 1, 2)
        return Gp[:, :, ph:ph + H, pw:pw + W]

    def input(self, X, where="data"):
        return _exact_array(X, where)

    @staticmethod
    def to_numpy(a):
        return a


class _FastBackend:
    name = "fast"

    def __init__(self) -> None:
        import torch

        self.torch = torch
        self._cache: dict = {}

    def param(self, op, key):
        k = (id(op), key)
        if k not in self._cache:
            self._cache[k] = self.torch.as_tensor(_float_array(getattr(op, key)),
                                                  dtype=self.torch.float64)
        return self._cache[k]

    def derived(self, op, key, fn):
        k = (id(op), key, fn.__name__)
        if k not in self._cache:
            self._cache[k] = fn(self.param(op, key))
        return self._cache[k]

    def zeros(self, shape):
        return self.torch.zeros(shape, dtype=self.torch.float64)

    def ones(self, shape):
        return self.torch.ones(shape, dtype=self.torch.float64)

    def scalar(self, v):
        return float(v)

    def abs(self, a):
        return a.abs()

    def negpart(self, a):
        return (-a).clamp(min=0)

    @staticmethod
    def matmul(a, b):
        return a @ b

    @staticmethod
    def reshape(a, shape):
        return a.reshape(shape)

    @staticmethod
    def nonneg(a):
        return a >= 0

    def where(self, mask, a, b):
        return self.torch.where(mask, a, self.torch.as_tensor(b, dtype=self.torch.float64)
                                if not hasattr(b, "shape") else b)

    def slope(self, mask, alpha):
        m = mask.to(self.torch.float64)
        a = float(alpha)
        return m if a == 0 else m * (1 - a) + a

    @staticmethod
    def argmax_last(a):
        # first maximal index (torch.max returns the first on ties)
        return a.max(dim=-1).indices

    @staticmethod
    def take_last(a, idx):
        return a.gather(-1, idx[..., None])[..., 0]

    @staticmethod
    def sum_from(a, start):
        dims = tuple(range(start, a.dim()))
        return a.sum(dim=dims) if dims else a

    def scatter_last(self, src, index, n):
        index = index.expand(src.shape)
        out = self.zeros(src.shape[:-1] + (n,))
        return out.scatter_add_(-1, index, src)

    def conv(self, X, F, stride, padding, dilation, groups):
        return self.torch.nn.functional.conv2d(X, F, None, stride, padding, dilation, groups)

    def conv_transpose(self, A, F, in_shape, stride, padding, dilation, groups):
        return self.torch.nn.grad.conv2d_input((A.shape[0],) + tuple(in_shape), F, A,
                                               stride, padding, dilation, groups)

    def input(self, X, where="data"):
        if hasattr(X, "detach"):
            t = X.detach().to(self.torch.float64)
        else:
            t = self.torch.as_tensor(_float_array(X), dtype=self.torch.float64)
        if not bool(self.torch.isfinite(t).all()):
            from .exceptions import NonFiniteError

            raise NonFiniteError(f"non-finite value in {where}")
        return t

    @staticmethod
    def to_numpy(a):
        return a.detach().cpu().numpy()


# =====================================================================
# the layer graph
# =====================================================================
@dataclass(eq=False)
class _Op:
    name: str
    kind: str
    inputs: tuple
    shape: tuple          # output shape (without the batch axis)
    in_shape: tuple = ()
    W: Any = None          # dense (out, in) / conv filter / bn scale
    b: Any = None          # bias (out,) / conv bias (Cout,) / bn shift
    alpha: Any = 0
    conf: dict = field(default_factory=dict)

    @property
    def letter(self) -> str:
        return {"dense": "D", "conv": "C", "scale": "B", "reshape": "F", "act": "R",
                "maxpool": "M", "add": "+"}.get(self.kind, "?")


@dataclass
class _Graph:
    ops: list
    input_shape: tuple
    source: str

    @property
    def output_dim(self) -> int:
        return int(np.prod(self.ops[-1].shape))

    @property
    def input_size(self) -> int:
        return int(np.prod(self.input_shape))


def _fwd(bk, op: _Op, vals: list, choices: dict | None = None, bias: bool = True):
    """Forward one op on a batch.  ``choices`` freezes the nonlinear choices
    (for the forward-mode local map); ``bias=False`` drops affine offsets."""
    xs = [vals[i] for i in op.inputs]
    x = xs[0] if xs else None
    B = x.shape[0] if x is not None else 0
    if op.kind == "dense":
        y = bk.matmul(x, bk.param(op, "W").T)
        return y + bk.param(op, "b") if bias else y
    if op.kind == "conv":
        y = bk.conv(x, bk.param(op, "W"), op.conf["stride"], op.conf["padding"],
                    op.conf["dilation"], op.conf["groups"])
        if bias:
            y = y + bk.reshape(bk.param(op, "b"), (-1, 1, 1))
        return y
    if op.kind == "scale":
        extra = (1,) * (len(op.shape) - 1)
        y = x * bk.reshape(bk.param(op, "W"), (-1,) + extra)
        return y + bk.reshape(bk.param(op, "b"), (-1,) + extra) if bias else y
    if op.kind == "reshape":
        return bk.reshape(x, (B,) + op.shape)
    if op.kind == "add":
        y = xs[0]
        for other in xs[1:]:
            y = y + other
        return y
    if op.kind == "act":
        mask = bk.nonneg(x) if choices is None else choices[op.name]
        return bk.where(mask, x, x * bk.scalar(op.alpha))
    if op.kind == "maxpool":
        C = op.in_shape[0]
        flat = bk.reshape(x, (B, C, -1))
        win = op.conf["windows"]          # (O, k) flat input positions
        G = flat[:, :, win]               # (B, C, O, k)
        j = bk.argmax_last(G) if choices is None else choices[op.name]
        return bk.reshape(bk.take_last(G, j), (B,) + op.shape)
    raise AssertionError(op.kind)


def _choices(bk, g: _Graph, vals: list) -> dict:
    """The nonlinear choices at each point: activation masks and pool argmaxes."""
    out = {}
    for op in g.ops[1:]:
        if op.kind not in ("act", "maxpool"):
            continue
        x = vals[op.inputs[0]]
        if op.kind == "act":
            out[op.name] = bk.nonneg(x)
        elif op.kind == "maxpool":
            B, C = x.shape[0], op.in_shape[0]
            G = bk.reshape(x, (B, C, -1))[:, :, op.conf["windows"]]
            out[op.name] = bk.argmax_last(G)
    return out


def _forward(bk, g: _Graph, X) -> list:
    vals = [X]
    for op in g.ops[1:]:
        vals.append(_fwd(bk, op, vals))
    return vals


def _merge(bk, op: _Op, A, M, vals, B, R):
    """T&P Table 1 for one op: ``(rows A (B, R, *shape), bound M (*shape))`` ->
    ``(list of (A_in, M_in) per input, constant contribution (B, R) or None)``."""
    k = op.kind
    if k == "dense":
        W = bk.param(op, "W")
        Wneg = bk.derived(op, "W", bk.negpart)
        Wabs = bk.derived(op, "W", bk.abs)
        const = bk.matmul(A, bk.param(op, "b"))
        K = bk.matmul(M, Wneg)
        return [(bk.matmul(A, W) + K, bk.matmul(M, Wabs))], const
    if k == "conv":
        F = bk.param(op, "W")
        Fneg = bk.derived(op, "W", bk.negpart)
        Fabs = bk.derived(op, "W", bk.abs)
        cf = op.conf
        args = (op.in_shape, cf["stride"], cf["padding"], cf["dilation"], cf["groups"])
        const = bk.matmul(bk.sum_from(A, 3), bk.param(op, "b"))
        Ain = bk.conv_transpose(bk.reshape(A, (B * R,) + op.shape), F, *args)
        Mb = bk.reshape(M, (1,) + op.shape)
        K = bk.conv_transpose(Mb, Fneg, *args)
        Mnew = bk.conv_transpose(Mb, Fabs, *args)
        return [(bk.reshape(Ain, (B, R) + op.in_shape) + K,
                 bk.reshape(Mnew, op.in_shape))], const
    if k == "scale":
        extra = (1,) * (len(op.shape) - 1)
        s = bk.reshape(bk.param(op, "W"), (-1,) + extra)
        sneg = bk.reshape(bk.derived(op, "W", bk.negpart), (-1,) + extra)
        sabs = bk.reshape(bk.derived(op, "W", bk.abs), (-1,) + extra)
        t = bk.reshape(bk.param(op, "b"), (-1,) + extra)
        const = bk.sum_from(A * t, 2)
        return [(A * s + M * sneg, M * sabs)], const
    if k == "reshape":
        return [(bk.reshape(A, (B, R) + op.in_shape), bk.reshape(M, op.in_shape))], None
    if k == "add":
        return [(A, M) for _ in op.inputs], None
    if k == "act":
        x = vals[op.inputs[0]]
        slope = bk.slope(bk.nonneg(x), op.alpha)
        return [(A * slope[:, None], M)], None
    if k == "maxpool":
        x = vals[op.inputs[0]]
        C = op.in_shape[0]
        n = int(np.prod(op.in_shape[1:]))
        win = op.conf["windows"]
        G = bk.reshape(x, (B, C, -1))[:, :, win]
        j = bk.argmax_last(G)                               # (B, C, O)
        sel = bk.take_last(_index_like(bk, win, j), j)       # chosen input positions
        Af = bk.reshape(A, (B, R, C, -1))
        Ain = bk.scatter_last(Af, sel[:, None], n)
        cover = op.conf["cover"]                             # (O*k valid) positions
        Mf = bk.reshape(M, (C, -1))[:, cover[0]]
        Min = bk.scatter_last(Mf, _as_index(bk, cover[1])[None, :], n)
        return [(bk.reshape(Ain, (B, R) + op.in_shape), bk.reshape(Min, op.in_shape))], None
    raise AssertionError(k)


def _as_index(bk, arr):
    if bk.name == "fast":
        return bk.torch.as_tensor(np.ascontiguousarray(arr), dtype=bk.torch.int64)
    return np.asarray(arr)


def _index_like(bk, win, j):
    """The window table broadcast to the batch of argmaxes ``j`` (B, C, O)."""
    w = _as_index(bk, win)
    if bk.name == "fast":
        return w.expand(tuple(j.shape) + (w.shape[-1],))
    return np.broadcast_to(w, tuple(j.shape) + (w.shape[-1],))


def _extract_batch(bk, g: _Graph, X, stage_cb: Callable | None = None,
                   label_only: bool = False):
    """One reverse pass for a batch: returns (rows (B, R, d), consts (B, R),
    outputs (B, s), vals); R = s + 1 (all numerators, then the denominator)
    or R = 2 with ``label_only`` (the label's numerator, the denominator)."""
    vals = _forward(bk, g, X)
    B = X.shape[0]
    s = g.output_dim
    out = bk.reshape(vals[-1], (B, s))
    # numerator rows e_i, denominator row 0 (Amax = 1): merging the output
    # layer then gives T&P Algorithm 3.1 lines 1-6.
    if label_only:
        R = 2
        A0 = bk.zeros((B, R, s))
        for k, row in enumerate(bk.to_numpy(out)):
            A0[k, 0, _first_argmax(row)] = bk.scalar(1)
    else:
        R = s + 1
        eye = bk.zeros((R, s))
        for i in range(s):
            eye[i, i] = bk.scalar(1)
        A0 = eye[None] + bk.zeros((B, R, s))
    A0 = bk.reshape(A0, (B, R) + g.ops[-1].shape)
    pending = {len(g.ops) - 1: (A0, bk.ones(g.ops[-1].shape))}
    const = bk.zeros((B, R))
    merged: list[str] = []
    if stage_cb is not None:
        stage_cb(len(g.ops) - 1, A0, const, tuple(merged), vals)
    for idx in range(len(g.ops) - 1, 0, -1):
        if idx not in pending:
            continue
        op = g.ops[idx]
        A, M = pending.pop(idx)
        ins, c = _merge(bk, op, A, M, vals, B, R)
        if c is not None:
            const = const + c
        for src, (Ai, Mi) in zip(op.inputs, ins):
            if src in pending:
                Ap, Mp = pending[src]
                pending[src] = (Ap + Ai, Mp + Mi)
            else:
                pending[src] = (Ai, Mi)
        merged.append(op.name)
        if stage_cb is not None and len(pending) == 1:
            (node, (An, _)), = pending.items()
            stage_cb(node, An, const, tuple(merged), vals)
    if 0 in pending:
        A, _ = pending.pop(0)
    else:  # the output does not depend on the input: constant terms only
        A = bk.zeros((B, R) + tuple(g.input_shape))
    return bk.reshape(A, (B, R, -1)), const, out, vals


def _local_map_forward(bk, g: _Graph, x_row):
    """Exact forward-mode local affine map at one point (independent of the
    reverse pass): returns (M (s, d), c (s,))."""
    X = bk.reshape(x_row, (1,) + g.input_shape)
    vals = _forward(bk, g, X)
    ch = _choices(bk, g, vals)
    d = g.input_size
    eye = bk.zeros((d, d))
    for i in range(d):
        eye[i, i] = bk.scalar(1)
    J = [bk.reshape(eye, (d,) + g.input_shape)]
    chJ = {k: _repeat(bk, v, d) for k, v in ch.items()}
    for op in g.ops[1:]:
        J.append(_fwd(bk, op, J, chJ, bias=False))
    s = g.output_dim
    Mt = bk.reshape(J[-1], (d, s))
    return Mt.T, bk.reshape(vals[-1], (s,)) - bk.matmul(Mt.T, bk.reshape(x_row, (d,)))


def _repeat(bk, v, n):
    if bk.name == "fast":
        return v.expand((n,) + tuple(v.shape[1:]))
    return np.broadcast_to(v, (n,) + v.shape[1:])


# =====================================================================
# building the graph: polyrelu Network and torch modules
# =====================================================================
def _graph_from_network(net) -> _Graph:
    if net.activation == "relu":
        alpha = Fraction(0)
    elif net.activation == "leaky_relu":
        alpha = net.alpha
    else:
        raise UnsupportedLayerError(
            f"tropex: activation {net.activation!r} is not supported (hard tanh is "
            f"not a convex max of affine terms); supported: relu, leaky_relu")
    _check_alpha(alpha, "network activation")
    ops = [_Op("input", "input", (), (net.input_dim,))]
    post = {0: 0}                 # layer index -> node index of nu_l
    if net.input_map is not None:
        # nu_0 = A t + a: an affine node (T&P Table 1 "Dense") read by layer 1
        # and by the skips from the input
        A, a = net.input_map
        ops.append(_Op("input_map", "dense", (0,), (len(A),), (net.input_dim,),
                       W=np.array([[_fr_to_q(v) for v in row] for row in A], dtype=object),
                       b=np.array([_fr_to_q(v) for v in a], dtype=object)))
        post[0] = 1
    skips = net.skip_sources
    for l, layer in enumerate(net.layers, start=1):
        u = post[l - 1]
        srcs = skips.get(l, ())
        if srcs:
            ops.append(_Op(f"skip{l}", "add", (u,) + tuple(post[s] for s in srcs),
                           (layer.in_dim,), (layer.in_dim,)))
            u = len(ops) - 1
        W = np.array([[_fr_to_q(v) for v in row] for row in layer.W], dtype=object)
        b = np.array([_fr_to_q(v) for v in layer.b], dtype=object)
        ops.append(_Op(f"dense{l}", "dense", (u,), (layer.out_dim,), (layer.in_dim,),
                       W=W, b=b))
        if l < net.num_layers:
            ops.append(_Op(f"relu{l}", "act", (len(ops) - 1,), (layer.out_dim,),
                           (layer.out_dim,), alpha=alpha))
        post[l] = len(ops) - 1
    return _Graph(ops, (net.input_dim,), "network")


def _check_alpha(alpha, where):
    if not 0 <= alpha <= 1:
        raise UnsupportedLayerError(
            f"tropex: {where}: leaky ReLU slope {alpha} outside [0, 1] is not a "
            f"convex max of affine terms; supported slopes 0 <= alpha <= 1")


def _pair(v, name):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise UnsupportedLayerError(f"tropex: {name}: only 2-D settings supported")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _pool_tables(in_shape, k, s, p):
    """Window table (O, kh*kw) of flat input positions (padding replaced by a
    real position of the same window: it never changes the max), and the cover
    list (output index, input position) of real window cells."""
    _, H, W = in_shape
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    Ho = (H + 2 * ph - kh) // sh + 1
    Wo = (W + 2 * pw - kw) // sw + 1
    win, cov_o, cov_i = [], [], []
    for oy in range(Ho):
        for ox in range(Wo):
            cells = []
            for ky in range(kh):
                for kx in range(kw):
                    y, x = oy * sh - ph + ky, ox * sw - pw + kx
                    cells.append(y * W + x if 0 <= y < H and 0 <= x < W else -1)
            real = [c for c in cells if c >= 0]
            if not real:
                raise UnsupportedLayerError("tropex: a max-pool window lies in the padding")
            o = oy * Wo + ox
            win.append([c if c >= 0 else real[0] for c in cells])
            for c in real:
                cov_o.append(o)
                cov_i.append(c)
    return (np.array(win, dtype=np.int64), (np.array(cov_o), np.array(cov_i)), (Ho, Wo))


def _unsupported(desc: str, name: str) -> NoReturn:
    raise UnsupportedLayerError(
        f"tropex: unsupported layer {desc} at {name!r}; supported: "
        f"{', '.join(TROPEX_SUPPORTED)}")


def _need_dims(name, shp, dims, what):
    if len(shp) not in dims:
        raise ShapeError(f"tropex: layer {name} ({what}) expects an input with "
                         f"{' or '.join(str(d) for d in dims)} non-batch axes, got "
                         f"shape {shp}")


class _Builder:
    """Appends layer ops to a graph, checking shapes: the consumer of the
    layer graph of :mod:`polyrelu.io.torch` (every torch reader), so eager,
    TorchScript and torch.export models give the same layer description."""

    def __init__(self, input_shape):
        self.ops = [_Op("input", "input", (), tuple(input_shape))]
        self._names = {"input"}

    def shape(self, i):
        return self.ops[i].shape

    def _add(self, op):
        base, k = op.name, 2
        while op.name in self._names:      # op names key the activation choices
            op.name = f"{base}#{k}"
            k += 1
        self._names.add(op.name)
        self.ops.append(op)
        return len(self.ops) - 1

    def dense(self, name, i, W, b):
        shp = self.shape(i)
        _need_dims(name, shp, (1,), "Linear")
        out, inn = W.shape
        if shp[0] != inn:
            raise ShapeError(f"tropex: layer {name} (Linear) expects {inn} inputs, "
                             f"the data gives {shp[0]}")
        b = np.zeros(out) if b is None else b
        return self._add(_Op(name, "dense", (i,), (out,), shp, W=W, b=b))

    def conv(self, name, i, W, b, stride, padding, dilation, groups,
             padding_mode="zeros"):
        shp = self.shape(i)
        _need_dims(name, shp, (3,), "Conv2d")
        groups = int(groups)
        cin = W.shape[1] * groups
        if shp[0] != cin:
            raise ShapeError(f"tropex: layer {name} (Conv2d) expects {cin} channels, "
                             f"the data gives {shp[0]}")
        if isinstance(padding, str):
            if padding != "valid":
                _unsupported(f"Conv2d with padding {padding!r}", name)
            padding = 0
        if padding_mode != "zeros" and _pair(padding, name) != (0, 0):
            _unsupported(f"Conv2d with padding_mode {padding_mode!r}", name)
        pad, st, dl = _pair(padding, name), _pair(stride, name), _pair(dilation, name)
        kh, kw = W.shape[2], W.shape[3]
        Ho = (shp[1] + 2 * pad[0] - dl[0] * (kh - 1) - 1) // st[0] + 1
        Wo = (shp[2] + 2 * pad[1] - dl[1] * (kw - 1) - 1) // st[1] + 1
        if Ho < 1 or Wo < 1:
            raise ShapeError(f"tropex: layer {name} (Conv2d): input {shp} is smaller "
                             f"than the kernel")
        b = np.zeros(W.shape[0]) if b is None else b
        return self._add(_Op(name, "conv", (i,), (W.shape[0], Ho, Wo), shp, W=W, b=b,
                             conf=dict(stride=st, padding=pad, dilation=dl,
                                       groups=groups)))

    def avgpool(self, name, i, kernel, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
        shp = self.shape(i)
        _need_dims(name, shp, (3,), "AvgPool2d")
        k = _pair(kernel, name)
        st = _pair(stride if stride not in (None, [], ()) else kernel, name)
        pad = _pair(padding, name)
        if ceil_mode or (pad != (0, 0) and not count_include_pad):
            _unsupported("AvgPool2d with ceil_mode or count_include_pad=False", name)
        # average pooling is a depthwise convolution with weight 1/(kh kw)
        div = divisor_override or k[0] * k[1]
        C = shp[0]
        Fw = np.empty((C, 1) + k, dtype=object)
        Fw[...] = Fraction(1, int(div))
        Ho = (shp[1] + 2 * pad[0] - k[0]) // st[0] + 1
        Wo = (shp[2] + 2 * pad[1] - k[1]) // st[1] + 1
        if Ho < 1 or Wo < 1:
            raise ShapeError(f"tropex: layer {name} (AvgPool2d): input {shp} is smaller "
                             f"than the window")
        return self._add(_Op(name, "conv", (i,), (C, Ho, Wo), shp, W=Fw, b=np.zeros(C),
                             conf=dict(stride=st, padding=pad, dilation=(1, 1),
                                       groups=C)))

    def maxpool(self, name, i, kernel, stride, padding, dilation, ceil_mode,
                return_indices=False):
        shp = self.shape(i)
        _need_dims(name, shp, (3,), "MaxPool2d")
        if ceil_mode or return_indices or _pair(dilation, name) != (1, 1):
            _unsupported("MaxPool2d with ceil_mode/return_indices/dilation", name)
        k = _pair(kernel, name)
        st = _pair(stride if stride not in (None, [], ()) else kernel, name)
        pad = _pair(padding, name)
        if shp[1] + 2 * pad[0] < k[0] or shp[2] + 2 * pad[1] < k[1]:
            raise ShapeError(f"tropex: layer {name} (MaxPool2d): input {shp} is smaller "
                             f"than the window")
        win, cover, (Ho, Wo) = _pool_tables(shp, k, st, pad)
        return self._add(_Op(name, "maxpool", (i,), (shp[0], Ho, Wo), shp,
                             conf=dict(windows=win, cover=cover)))

    def batchnorm(self, name, i, what, dims, mean, var, gamma, beta, eps):
        shp = self.shape(i)
        _need_dims(name, shp, dims, what)
        if mean is None or var is None:
            _unsupported(f"{what} without running statistics", name)
        if shp[0] != len(var):
            raise ShapeError(f"tropex: layer {name} ({what}) expects {len(var)} "
                             f"channels, got {shp[0]}")
        # eval batch-norm v = s (z - mu) + beta; s = gamma / sqrt(var + eps)
        # is irrational in general: the float64 value of s is the exact
        # model's scale (documented), mu and beta are exact.
        gamma = np.ones_like(var) if gamma is None else gamma
        beta = np.zeros_like(var) if beta is None else beta
        s = gamma / np.sqrt(var + float(eps))
        sq = [to_fraction(float(v), f"{name} scale") for v in s]
        t = [to_fraction(float(bb), f"{name} bias") - sv * to_fraction(float(mm),
                                                                        f"{name} mean")
             for bb, sv, mm in zip(beta, sq, mean)]
        return self._add(_Op(name, "scale", (i,), shp, shp, W=np.array(sq, dtype=object),
                             b=np.array(t, dtype=object)))

    def flatten(self, name, i, start_dim, end_dim):
        shp = self.shape(i)
        full = (None,) + tuple(shp)
        sd, ed = int(start_dim) % len(full), int(end_dim) % len(full)
        if sd != 1:
            _unsupported(f"Flatten(start_dim={start_dim})", name)
        new = (int(np.prod(shp[:ed])),) + tuple(shp[ed:])
        return self._add(_Op(name, "reshape", (i,), new, shp))

    def act(self, name, i, alpha):
        shp = self.shape(i)
        alpha = to_fraction(alpha, f"{name} slope")
        _check_alpha(alpha, name)
        return self._add(_Op(name, "act", (i,), shp, shp, alpha=alpha))

    def view(self, name, i, shape):
        """A torch view/reshape to ``shape`` (the full shape; its first entry,
        None, -1 or a number, is the batch axis): the same values in C order."""
        shp = self.shape(i)
        size = int(np.prod(shp))
        rest = [None if v is None else int(v) for v in tuple(shape)[1:]]
        if rest.count(-1) + rest.count(None) > 1:
            _unsupported(f"view to {tuple(shape)} (more than one unknown size)", name)
        known = int(np.prod([v for v in rest if v not in (-1, None)]))
        if -1 in rest or None in rest:
            if known == 0 or size % known:
                raise ShapeError(f"tropex: layer {name} (view to {tuple(shape)}) does not "
                                 f"fit an input of shape {shp}")
            rest = [size // known if v in (-1, None) else v for v in rest]
        new = tuple(rest)
        if int(np.prod(new)) != size:
            raise ShapeError(f"tropex: layer {name} (view to {tuple(shape)}) does not fit "
                             f"an input of shape {shp} (the batch axis must stay first)")
        return self._add(_Op(name, "reshape", (i,), new, shp))

    def affine(self, name, i, s, t):
        """``x * s + t`` with one ``s`` and ``t`` per channel (T&P Table 1's
        batch-norm rule: an affine layer)."""
        shp = self.shape(i)
        return self._add(_Op(name, "scale", (i,), shp, shp, W=np.asarray(s, dtype=object),
                             b=np.asarray(t, dtype=object)))

    def add(self, name, i, j):
        s1, s2 = self.shape(i), self.shape(j)
        if s1 != s2:
            raise ShapeError(f"tropex: {name}: adding shapes {s1} and {s2}")
        return self._add(_Op(name, "add", (i, j), s1, s1))

    def finish(self, out_idx, source) -> _Graph:
        if out_idx != len(self.ops) - 1:
            shp = self.shape(out_idx)
            self._add(_Op("output", "reshape", (out_idx,), shp, shp))
        if len(self.ops) < 2:
            raise NetworkError("tropex: the model has no layers")
        return _Graph(self.ops, self.ops[0].shape, source)


# ------------------------------------------------ torch models: the layer graph
#: the layer graph's batch-norm ranks by torch class (an aten op does not say)
_BN_DIMS = {"BatchNorm1d": (1, 2), "BatchNorm2d": (3,)}


def _display_name(layer) -> str:
    """A layer's name in :func:`model_layers`: ``'2.ReLU'`` for a Sequential
    index, ``'relu'`` for a TorchScript node ``'aten::relu (%h.1)'``."""
    name = layer.name
    if name.startswith("aten::"):
        name = name[6:].split(" ")[0].rstrip("_")
    if name.split(".")[-1].isdigit():
        name = f"{name}.{layer.torch_type}"
    return name


def _per_channel(b: "_Builder", name: str, i: int, c) -> np.ndarray:
    """A constant of an elementwise op as one value per channel of input
    ``i`` (a number, or a tensor broadcasting as ``(C, 1, ..., 1)``)."""
    shp = b.shape(i)
    C = shp[0]
    if isinstance(c, Fraction):
        out = np.empty(C, dtype=object)
        out[:] = c
        return out
    arr = np.asarray(c)
    pad = (1,) * (len(shp) + 1 - arr.ndim) + tuple(arr.shape)
    if arr.size == 1:
        return np.repeat(arr.reshape(-1), C)
    if len(pad) == len(shp) + 1 and pad[0] == 1 and pad[1] == C and all(
            v == 1 for v in pad[2:]):
        return arr.reshape(-1)
    _unsupported(f"elementwise constant of shape {tuple(arr.shape)} (only numbers and "
                 f"one value per channel)", name)
    raise AssertionError  # unreachable


def _graph_from_layers(lg, input_shape: tuple) -> _Graph:
    """TropEx's op graph of a torch model's layer graph (:mod:`polyrelu.io.torch`,
    the one torch reading layer) for inputs of ``input_shape``."""
    from .io.torch.layers import exact_array

    b = _Builder(input_shape)
    at: dict = {0: 0}
    for j in lg.live()[1:]:
        lay = lg.layers[j]
        name = _display_name(lay)
        i = at[lay.inputs[0]]
        op = lay.op
        if op == "linear":
            at[j] = b.dense(name, i, lay["W"], lay["b"])
        elif op == "conv2d":
            at[j] = b.conv(name, i, lay["W"], lay["b"], lay["stride"], lay["padding"],
                           lay["dilation"], lay["groups"], lay["padding_mode"])
        elif op == "maxpool2d":
            at[j] = b.maxpool(name, i, lay["kernel"], lay["stride"], lay["padding"],
                              lay["dilation"], lay["ceil_mode"])
        elif op == "avgpool2d":
            at[j] = b.avgpool(name, i, lay["kernel"], lay["stride"], lay["padding"],
                              lay["ceil_mode"], lay["count_include_pad"],
                              lay["divisor_override"])
        elif op == "batchnorm":
            if lay["training"]:
                _unsupported(f"{lay.torch_type} in training mode or without running "
                             f"statistics (batch statistics; call model.eval() before "
                             f"saving or tracing)", name)
            what = lay.torch_type if lay.torch_type in _BN_DIMS else "BatchNorm"
            at[j] = b.batchnorm(name, i, what, _BN_DIMS.get(lay.torch_type, lay["dims"]),
                                np.asarray(lay["mean"], dtype=float),
                                np.asarray(lay["var"], dtype=float),
                                None if lay["weight"] is None else
                                np.asarray(lay["weight"], dtype=float),
                                None if lay["bias"] is None else
                                np.asarray(lay["bias"], dtype=float), lay["eps"])
        elif op == "flatten":
            at[j] = b.flatten(name, i, lay["start_dim"], lay["end_dim"])
        elif op == "view":
            at[j] = b.view(name, i, lay["shape"])
        elif op == "act":
            if lay["kind"] == "hard_tanh":
                _unsupported(f"{lay.torch_type} (hard tanh is not a convex max of affine "
                             f"terms)", name)
            at[j] = b.act(name, i, 0 if lay["kind"] == "relu" else lay["alpha"])
        elif op == "add":
            y = at[lay.inputs[1]]
            if lay["alpha"] != 1:
                s = _per_channel(b, name, y, lay["alpha"])
                y = b.affine(f"{name}.alpha", y, s, np.zeros(len(s), dtype=object))
            at[j] = b.add(name, i, y)
        elif op in ("mul", "div", "shift"):
            c = _per_channel(b, name, i, lay["c"])
            C = len(c)
            one = np.empty(C, dtype=object)
            one[:] = Fraction(1)
            zero = np.empty(C, dtype=object)
            zero[:] = Fraction(0)
            if op == "mul":
                at[j] = b.affine(name, i, c, zero)
            elif op == "shift":
                at[j] = b.affine(name, i, one, c)
            else:
                q = exact_array(c)
                if any(v == 0 for v in q):
                    raise ShapeError(f"tropex: layer {name}: division by zero")
                at[j] = b.affine(name, i, np.array([1 / v for v in q], dtype=object), zero)
        else:                   # pragma: no cover - every layer-graph op is handled
            _unsupported(lay.torch_type, name)
    return b.finish(at[lg.output], lg.reader or "torch")


def _is_torch_model(net) -> bool:
    """A torch module or torch.export program (torch is then imported already)."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        return False
    from .io.torch.export import is_exported_program

    return isinstance(net, torch.nn.Module) or is_exported_program(net)


def _layers(net):
    """The layer graph of a torch model (read by :mod:`polyrelu.io.torch`)."""
    from .io.torch.layers import LayerGraph

    if isinstance(net, LayerGraph):
        return net
    if not _is_torch_model(net):
        raise UnsupportedLayerError(f"tropex: expected a polyrelu Network or a torch "
                                    f"model (nn.Module, TorchScript or torch.export "
                                    f"program), got {type(net).__name__}")
    from .io.torch import read_layers

    return read_layers(net)


def _as_graph(net, input_shape) -> _Graph:
    from .network import Network

    if isinstance(net, _Graph):
        return net
    if isinstance(net, Network):
        return _graph_from_network(net)
    return _graph_from_layers(_layers(net), tuple(input_shape))


def model_layers(net, input_shape: Sequence[int]) -> tuple:
    """The layers :func:`tropex` sees: ``(name, kind, output shape)`` per op.

    >>> from polyrelu.network import random_network
    >>> model_layers(random_network([2, 3, 1]), (2,))[1:]
    (('dense1', 'dense', (3,)), ('relu1', 'act', (3,)), ('dense2', 'dense', (1,)))
    """
    g = _as_graph(net, tuple(input_shape))
    return tuple((op.name, op.kind, op.shape) for op in g.ops)


def _graph_maker(net) -> Callable:
    """``input shape -> _Graph`` for ``net`` (a torch model is read once)."""
    from .network import Network

    if isinstance(net, (Network, _Graph)):
        return lambda shape: _as_graph(net, tuple(shape))
    lg = _layers(net)
    return lambda shape: _graph_from_layers(lg, tuple(shape))


def _fits(make, shape) -> bool:
    try:
        make(shape)
    except ShapeError:
        return False
    return True


def _first_layer(lg):
    """The first layer that fixes the input's layout: a Linear, a Conv2d or a
    batch-norm (None if there is none)."""
    for j in lg.live()[1:]:
        lay = lg.layers[j]
        if lay.op in ("linear", "conv2d", "batchnorm"):
            return lay
    return None


def _first_channels(lg):
    """Input channels of the first Conv2d / BatchNorm2d (None if a Linear or
    BatchNorm1d comes first): a hint for the shape search, checked by it."""
    lay = _first_layer(lg)
    if lay is None or lay.op == "linear":
        return None
    if lay.op == "conv2d":
        return int(np.shape(lay["W"])[1]) * int(lay["groups"])
    if _BN_DIMS.get(lay.torch_type) == (1, 2):
        return None
    return int(np.size(lay["mean"]))


def _divisors(n: int) -> list:
    return [k for k in range(1, n + 1) if n % k == 0]


def _expected_shape(lg, make):
    """A point shape the model accepts (for error messages), or None."""
    if lg.input_shape is not None and _fits(make, lg.input_shape):
        return tuple(lg.input_shape)
    C = _first_channels(lg)
    if C is None:
        lay = _first_layer(lg)
        if lay is not None and lay.op == "linear":
            shape = (int(np.shape(lay["W"])[1]),)
            return shape if _fits(make, shape) else None
        return None
    for side in range(1, 129):
        if _fits(make, (C, side, side)):
            return (C, side, side)
    return None



def infer_input_shape(net, point_shape: Sequence[int]) -> tuple:
    """The shape of one input of ``net`` for data points of shape ``point_shape``.

    A point shape the model's layers accept is kept: images ``(C, H, W)`` for
    a convolutional model, ``(d,)`` for one that starts with ``Linear`` (which
    also takes points of any shape with ``d`` coordinates, flattened).  Flat
    points of ``d`` coordinates fit a convolutional model when exactly one
    image shape ``(C, H, W)`` with ``C*H*W = d`` passes the layers' shape
    checks (several: :class:`ShapeError`, give the points as images).  A
    polyrelu :class:`~polyrelu.network.Network` takes points of
    ``input_dim`` coordinates in any shape (flattened).  Otherwise
    :class:`ShapeError`, naming the shape the model expects when it finds one.

    >>> import torch.nn as nn
    >>> cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(18, 2))
    >>> infer_input_shape(cnn, (25,)), infer_input_shape(cnn, (1, 5, 5))
    ((1, 5, 5), (1, 5, 5))
    >>> try:
    ...     infer_input_shape(cnn, (24,))
    ... except ShapeError as e:
    ...     print(str(e).split("; ")[1])
    it expects points of shape (1, 5, 5) (images (N, 1, 5, 5) or flat rows of 25 coordinates)
    """
    from .network import Network

    shape = tuple(int(v) for v in point_shape)
    size = int(np.prod(shape)) if shape else 0
    if isinstance(net, Network):
        if size != net.input_dim:
            raise ShapeError(f"points of shape {shape} ({size} coordinates) do not fit "
                             f"the network's {net.input_dim} inputs")
        return (net.input_dim,)
    lg = _layers(net)
    make = _graph_maker(lg)
    fixed = lg.input_shape          # a torch.export program fixes its input shape
    if fixed is not None and int(np.prod(fixed)) == size and shape != fixed and \
            _fits(make, fixed):
        return tuple(fixed)
    try:
        make(shape)
        return shape
    except ShapeError as e:
        why = str(e).removeprefix("tropex: ")
    if len(shape) > 1 and _fits(make, (size,)):
        return (size,)          # a model that starts with Linear: flattened (C order)
    if len(shape) == 1 and size > 0:
        C = _first_channels(lg)
        chans = [C] if C is not None and size % C == 0 else _divisors(size)
        fits = [(c, h, size // c // h) for c in chans for h in _divisors(size // c)
                if _fits(make, (c, h, size // c // h))]
        if len(fits) == 1:
            return fits[0]
        if len(fits) > 1:
            raise ShapeError(f"points of {size} coordinates fit several input shapes "
                             f"of the model ({', '.join(map(str, fits[:4]))}"
                             f"{', ...' if len(fits) > 4 else ''}): give the points as "
                             f"images (N, C, H, W)")
        why = f"no image shape (C, H, W) with C*H*W = {size} passes its layers"
    exp = _expected_shape(lg, make)
    hint = ""
    if exp is not None and len(exp) == 3:
        hint = (f"; it expects points of shape {exp} (images (N, {exp[0]}, {exp[1]}, "
                f"{exp[2]}) or flat rows of {int(np.prod(exp))} coordinates)")
    elif exp is not None:
        hint = f"; it expects points of shape {exp}"
    raise ShapeError(f"points of shape {shape} fit no input of the model: {why}{hint}")


def model_outputs(net, X, mode: str = "fast", *, batch_size: int = 256):
    """The outputs at ``X`` of the network as :func:`tropex` reads it (the ops
    of :func:`model_layers`): a float64 array ``(D, s)`` (fast) or a tuple of
    Fraction tuples (exact).  Comparing them with the model's own forward pass
    checks how a model file was read.

    >>> import torch
    >>> lin = torch.nn.Linear(2, 1)
    >>> with torch.no_grad():
    ...     _ = lin.weight.fill_(0.5), lin.bias.fill_(-1)
    >>> model_outputs(torch.nn.Sequential(lin, torch.nn.ReLU()), [[4, 2], [1, 0]], "exact")
    ((Fraction(2, 1),), (Fraction(0, 1),))
    """
    shape = _data_shape(net, X)
    g = _as_graph(net, shape)
    if mode not in ("exact", "fast"):
        raise NetworkError(f"model_outputs: mode must be 'exact' or 'fast', not {mode!r}")
    bk = _ExactBackend() if mode == "exact" else _FastBackend()
    Xb = bk.input(X, "data X")
    outs = [bk.to_numpy(bk.reshape(_forward(bk, g, Xb[a:b])[-1], (b - a, g.output_dim)))
            for a, b in _batches(Xb.shape[0], batch_size)]
    out = np.concatenate(outs)
    if mode == "exact":
        return tuple(tuple(_q_to_fr(v) for v in row) for row in out)
    return out


# =====================================================================
# data
# =====================================================================
def _data_shape(net, X, what="X"):
    """Input shape (without batch) of the model given the data array's shape."""
    from .network import Network

    if isinstance(X, (list, tuple)) and X and not hasattr(X[0], "__len__"):
        raise ShapeError(f"{what} must be a batch of points (a 2-D or higher array)")
    if hasattr(X, "shape"):
        shape = tuple(X.shape)
    else:
        arr = np.asarray(X, dtype=object)
        shape = arr.shape
    if len(shape) < 2 or shape[0] == 0:
        raise ShapeError(f"{what} must be a non-empty batch of points, got shape {shape}")
    if isinstance(net, Network):
        if shape[1:] != (net.input_dim,):
            raise ShapeError(f"{what} has points of shape {shape[1:]}, the network "
                             f"expects {net.input_dim} inputs")
    return shape[1:]


def _check_batch_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise NetworkError(f"tropex: batch_size must be a positive integer, got {size!r}")
    return size


def _batches(D, size):
    for start in range(0, D, _check_batch_size(size)):
        yield start, min(D, start + size)


# =====================================================================
# the extracted function
# =====================================================================
@dataclass(frozen=True)
class TropicalTerm:
    """One extracted affine term ``x -> coef . x + const`` and the data points
    (indices into ``X``) it was extracted from."""

    coef: tuple
    const: Any
    points: tuple

    def __call__(self, x) -> Any:
        return self.const + sum((c * v for c, v in zip(self.coef, x)), self.const * 0)


@dataclass(frozen=True, eq=False)
class TropExFunction:
    """The extracted function ``N^(X)`` (T&P eq. 2) of :func:`tropex`.

    Attributes
    ----------
    mode : "exact" or "fast"
    input_shape : tuple
        Shape of one input (points are flattened to ``d`` coordinates).
    labels : tuple of int
        The network's label (first argmax) of every data point.
    outputs : numpy.ndarray
        The network's outputs at the data points, shape ``(D, s)`` (mpq
        objects or float64).
    rows, consts : numpy.ndarray
        Shapes ``(D, R, d)`` and ``(D, R)``: per data point the numerator
        terms (``R = s + 1``: all ``s`` outputs;
        ``R = 2`` with ``outputs="label"``: the label's) and, last, the
        denominator term.
    kept : "all" or "label"
    checks : dict
        What was verified (Theorem 3.3), see :func:`tropex`.
    partial : bool
        A limit stopped the extraction: the data are those of the first
        ``num_points`` points; ``reason`` says which limit.
    """

    mode: str
    input_shape: tuple
    labels: tuple
    outputs: Any
    rows: Any
    consts: Any
    layer_names: tuple = ()
    checks: dict = field(default_factory=dict)
    kept: str = "all"
    partial: bool = False
    reason: Optional[str] = None

    # -------------------------------------------------------------- terms
    @property
    def num_points(self) -> int:
        return len(self.labels)

    @property
    def output_dim(self) -> int:
        return self.outputs.shape[1]

    def _row(self, k: int, i: int) -> int:
        """Row index of class ``i``'s numerator at point ``k`` (-1: not kept)."""
        if self.kept == "all":
            return i
        return 0 if self.labels[k] == i else -1

    @property
    def _den_row(self) -> int:
        return self.rows.shape[1] - 1

    @property
    def input_dim(self) -> int:
        return self.rows.shape[2]

    def _num(self, v):
        return _q_to_fr(v) if self.mode == "exact" else float(v)

    def _term_groups(self, i: int | None, points) -> tuple:
        groups: dict = {}
        for k in points:
            r = self._den_row if i is None else self._row(k, i)
            if self.mode == "exact":
                key = (tuple(self.rows[k, r]), self.consts[k, r])
            else:  # fast mode: bitwise float64 equality
                key = (self.rows[k, r].tobytes(), float(self.consts[k, r]))
            groups.setdefault(key, []).append(k)
        out = []
        for pts in groups.values():
            k = pts[0]
            r = self._den_row if i is None else self._row(k, i)
            if self.mode == "exact":
                coef = tuple(_q_to_fr(v) for v in self.rows[k, r])
            else:
                coef = tuple(self.rows[k, r].tolist())
            out.append(TropicalTerm(coef, self._num(self.consts[k, r]), tuple(pts)))
        return tuple(out)

    @property
    def terms(self) -> tuple:
        """Numerator terms per class, deduplicated; ``terms[i]`` holds the
        ``a+_{k,i}`` of the data points labelled ``i`` (T&P eq. 2)."""
        if "_terms" not in self.__dict__:
            per = tuple(self._term_groups(i, [k for k, lab in enumerate(self.labels)
                                              if lab == i])
                        for i in range(self.output_dim))
            object.__setattr__(self, "_terms", per)
        return self.__dict__["_terms"]

    @property
    def denominator(self) -> tuple:
        """Denominator terms ``a-_k`` of all data points (deduplicated)."""
        if "_den" not in self.__dict__:
            object.__setattr__(self, "_den", self._term_groups(
                None, range(self.num_points)))
        return self.__dict__["_den"]

    def _classes(self, k: int) -> tuple:
        return tuple(range(self.output_dim)) if self.kept == "all" else (self.labels[k],)

    def point_terms(self, k: int) -> tuple:
        """``(numerators, denominator)`` extracted at data point ``k``: one
        numerator per output (only the label's with ``outputs="label"``)."""
        nums = tuple(TropicalTerm(tuple(self._num(v) for v in self.rows[k, r]),
                                  self._num(self.consts[k, r]), (k,))
                     for r in range(self.rows.shape[1] - 1))
        r = self._den_row
        den = TropicalTerm(tuple(self._num(v) for v in self.rows[k, r]),
                           self._num(self.consts[k, r]), (k,))
        return nums, den

    def local_map(self, k: int) -> tuple:
        """The network's affine map ``(M, c)`` at data point ``k``:
        ``a+_{k,i} - a-_k`` for every output ``i`` (Theorem 3.3); with
        ``outputs="label"`` only the label's row."""
        s = self._den_row
        den, dc = self.rows[k, s], self.consts[k, s]
        M = tuple(tuple(self._num(v) for v in (self.rows[k, r] - den)) for r in range(s))
        c = tuple(self._num(self.consts[k, r] - dc) for r in range(s))
        return M, c

    def as_rational_map(self) -> TropicalRationalMap:
        """``N^(X)`` as a :class:`TropicalRationalMap` (exact mode; classes without
        data points are not representable and raise :class:`NetworkError`)."""
        if self.mode != "exact":
            raise NetworkError("as_rational_map needs an exact-mode extraction")
        den = (tuple(t.coef for t in self.denominator),
               tuple(t.const for t in self.denominator))
        pairs = []
        for i, ts in enumerate(self.terms):
            if not ts:
                raise NetworkError(f"class {i} has no data points: its numerator is "
                                   f"empty (the max over no terms is -infinity)")
            pairs.append(((tuple(t.coef for t in ts), tuple(t.const for t in ts)), den))
        return TropicalRationalMap(tuple(pairs))

    # ---------------------------------------------------------- evaluation
    def _matrices(self):
        if "_mats" not in self.__dict__:
            def mat(ts, i):
                # the stored rows of each term's first point (no re-conversion)
                idx = [t.points[0] for t in ts]
                rws = [self._den_row if i is None else self._row(k, i) for k in idx]
                A = self.rows[idx, rws].reshape(len(ts), self.input_dim)
                return A, self.consts[idx, rws].reshape(len(ts))
            mats = (tuple(mat(ts, i) for i, ts in enumerate(self.terms)),
                    mat(self.denominator, None))
            object.__setattr__(self, "_mats", mats)
        return self.__dict__["_mats"]

    def _points(self, x):
        shape = None
        if hasattr(x, "shape"):
            shape = tuple(x.shape)
        else:
            shape = np.asarray(x, dtype=object).shape
        d = self.input_dim
        if shape == self.input_shape or shape == (d,):
            return False, [x]
        if shape[1:] == self.input_shape or shape[1:] == (d,):
            return True, list(x) if not hasattr(x, "shape") else [x[i] for i in range(shape[0])]
        raise ShapeError(f"input of shape {shape}: the extracted function expects "
                         f"points of shape {self.input_shape} (or {d} coordinates)")

    def _eval_matrix(self, P):
        """Values (n, s) at points P (exact object (n, d) or float (n, d))."""
        nums, (Ad, ad) = self._matrices()
        den = (P @ Ad.T + ad).max(axis=1)
        cols = []
        for A, a in nums:
            if len(a) == 0:
                cols.append(np.array([None if self.mode == "exact" else -np.inf]
                                     * P.shape[0], dtype=object if self.mode == "exact"
                                     else np.float64))
            else:
                cols.append((P @ A.T + a).max(axis=1) - den)
        return np.stack(cols, axis=1)

    def _prep(self, pts):
        if self.mode == "exact":
            return _exact_array([np.asarray(p, dtype=object).reshape(-1) for p in pts],
                                "tropex input")
        return _float_array([np.asarray(_float_array(p)).reshape(-1) for p in pts])

    def __call__(self, x):
        """``N^(X)(x)``: a tuple of Fractions in exact mode (``None`` for a class
        with no data points: the max over no terms), a float array in fast mode;
        a batch of points gives one row per point."""
        batch, pts = self._points(x)
        vals = self._eval_matrix(self._prep(pts))
        if self.mode == "exact":
            rows = [tuple(None if v is None else _q_to_fr(v) for v in r) for r in vals]
        else:
            rows = list(vals)
        if batch:
            return tuple(rows) if self.mode == "exact" else np.array(rows)
        return rows[0]

    def predict(self, X) -> tuple:
        """Label (first argmax of ``N^(X)``) of every point of a batch."""
        batch, pts = self._points(X)
        vals = self._eval_matrix(self._prep(pts))
        return tuple(_first_argmax(r) for r in vals)

    def __repr__(self) -> str:
        n = sum(len(t) for t in self.terms)
        return (f"TropExFunction({self.mode}, {self.num_points} points, "
                f"{self.output_dim} outputs, {n} numerator terms, "
                f"{len(self.denominator)} denominator terms)")


def _first_argmax(row) -> int:
    best, arg = None, -1
    for i, v in enumerate(row):
        if v is None or (isinstance(v, float) and v == -math.inf):
            continue
        if best is None or v > best:
            best, arg = v, i
    return arg


# =====================================================================
# Algorithm 3.1
# =====================================================================
def _run(net, X, mode, batch_size, stage_cb=None, label_only=False, progress=None,
         budget=None):
    _check_batch_size(batch_size)
    shape = _data_shape(net, X)
    g = _as_graph(net, shape)
    if mode not in ("exact", "fast"):
        raise NetworkError(f"tropex: mode must be 'exact' or 'fast', not {mode!r}")
    bk = _ExactBackend() if mode == "exact" else _FastBackend()
    Xb = bk.input(X, "data X")
    if tuple(Xb.shape[1:]) != tuple(shape):
        raise ShapeError(f"data X has shape {tuple(Xb.shape)}")
    rows, consts, outs = [], [], []
    D = Xb.shape[0]
    done = D
    for a, b in _batches(D, batch_size):
        if budget is not None and a and budget.exhausted:
            done = a            # whole batches only: the terms of every point kept
            break
        if progress is not None:
            progress("tropex points", a, D)
        cb = None if stage_cb is None else (lambda *args, _a=a: stage_cb(_a, *args))
        A, c, o, _ = _extract_batch(bk, g, Xb[a:b], cb, label_only)
        rows.append(bk.to_numpy(A))
        consts.append(bk.to_numpy(c))
        outs.append(bk.to_numpy(o))
    if progress is not None:
        progress("tropex points", done, D)
    return (g, bk, Xb[:done], np.concatenate(rows), np.concatenate(consts),
            np.concatenate(outs))


def tropex(net, X, mode: str = "exact", *, outputs: str = "all", check: bool = True,
           batch_size: int = 256, progress: Any = None, time_limit: Any = None,
           budget: Any = None) -> TropExFunction:
    """Extract the linear terms of ``net`` at the data points ``X`` (T&P
    Algorithm 3.1) and return the extracted function ``N^(X)`` (eq. 2).

    Parameters
    ----------
    net : Network, torch.export.ExportedProgram or torch.nn.Module
        A polyrelu :class:`~polyrelu.network.Network` (relu / leaky relu,
        skips allowed) or a torch model (a ``torch.export`` program, an
        ``nn.Sequential`` or an fx-traceable residual module, or TorchScript
        -- scripted or traced) of the layers in :data:`TROPEX_SUPPORTED`,
        read by :mod:`polyrelu.io.torch`.  Batch-norm and dropout are read in
        eval mode (in training mode they are refused).
    X : numpy.ndarray or sequence
        Data points, shape ``(D, *input_shape)``; labels are the network's own
        (first argmax).
    mode : {"exact", "fast"}
        Exact rationals, or torch float64 batched over ``batch_size`` points.
    outputs : {"all", "label"}
        Keep the numerator terms of every output at every point (the full
        local affine map), or only the label's, as T&P do (``s + 1`` vs 2
        rows per point: several times faster for many classes).
    check : bool
        Verify Theorem 3.3 at every data point: the max and the label of
        ``N^(X)`` equal the network's, and ``a+_{k,i} - a-_k`` is the local
        affine map (for a Network: ``net.affine_map(net.pattern(x))``; for torch
        models an independent exact forward-mode computation).  Exact mode
        compares exactly and raises :class:`BackendError` on failure; fast mode
        records the largest float deviation in ``E.checks`` (labels must agree
        except on float ties).
    batch_size : int
        Points extracted together.
    progress : callable, optional
        ``progress("tropex points", done, total)`` (:mod:`polyrelu.budget`)
        before each batch and at the end; ``True``: a tqdm bar on stderr.
    time_limit : float, optional
        Seconds for the extraction; with ``budget`` (a
        :class:`~polyrelu.budget.Budget`) the tighter of both.  The extraction
        stops between batches (the first batch always runs): the result then
        holds the first points only and is marked ``partial``, with its
        ``reason``; Theorem 3.3 is checked on the points extracted.

    Examples
    --------
    >>> from polyrelu.network import random_network
    >>> net = random_network([2, 4, 3], seed=2)
    >>> E = tropex(net, [[1, 0], [0, 1], ["1/2", -2]])
    >>> E.checks["theorem_3_3"]
    True
    >>> all(E.predict([[1, 0]])[0] == lab for lab in E.labels[:1])
    True
    """
    if outputs not in ("all", "label"):
        raise NetworkError(f"tropex: outputs must be 'all' or 'label', not {outputs!r}")
    from .budget import as_budget, check_progress

    b = as_budget(budget, None, time_limit, "tropex")
    g, bk, Xb, rows, consts, outs = _run(net, X, mode, batch_size,
                                         label_only=outputs == "label",
                                         progress=check_progress(progress, "tropex"),
                                         budget=b)
    labels = tuple(_first_argmax(o) for o in outs)
    total = len(X)
    reason = (None if len(labels) == total else
              f"{b.stop_reason()} after {len(labels)} of {total} points")
    E = TropExFunction(mode, tuple(g.input_shape), labels, outs, rows, consts,
                       tuple(op.name for op in g.ops[1:]), kept=outputs,
                       partial=reason is not None, reason=reason)
    if check:
        E.checks.update(_check_theorem(E, net, g, bk, Xb))
    return E


def _check_theorem(E: TropExFunction, net, g, bk, Xb) -> dict:
    from .network import Network

    D = E.num_points
    vals = E._eval_matrix(bk.to_numpy(bk.reshape(Xb, (D, -1))))
    if E.mode == "exact":
        for k in range(D):
            lab = E.labels[k]
            if _first_argmax(vals[k]) != lab or vals[k][lab] != E.outputs[k][lab]:
                raise BackendError(f"tropex: Theorem 3.3 check failed at data point {k}: "
                                   f"label or maximum of N^(X) differs from the network")
            x = bk.reshape(Xb[k], (-1,))
            if isinstance(net, Network):
                xf = [_q_to_fr(v) for v in x]
                M, c = net.affine_map(net.pattern(xf))
                ref_out = net(xf)
            else:
                Mq, cq = _local_map_forward(bk, g, x)
                M = tuple(tuple(_q_to_fr(v) for v in row) for row in Mq)
                c = tuple(_q_to_fr(v) for v in cq)
                ref_out = None
            keep = E._classes(k)
            if E.local_map(k) != (tuple(M[i] for i in keep), tuple(c[i] for i in keep)):
                raise BackendError(f"tropex: Theorem 3.3 check failed at data point {k}: "
                                   f"the extracted terms are not the local affine map")
            if ref_out is not None and tuple(_q_to_fr(v) for v in E.outputs[k]) != ref_out:
                raise BackendError(f"tropex: exact forward pass disagrees with the "
                                   f"network at data point {k}")
        return {"theorem_3_3": True, "points": D, "exact": True}
    # fast mode: float deviations (recorded, decided nothing exact)
    pred = [_first_argmax(v) for v in vals]
    maxdev = float(np.max(np.abs(vals.max(axis=1) - E.outputs.max(axis=1))))
    X2 = bk.to_numpy(bk.reshape(Xb, (D, -1)))
    r = E._den_row
    lin = (E.rows[:, :r] - E.rows[:, r:]) @ X2[:, :, None]
    recon = lin[..., 0] + E.consts[:, :r] - E.consts[:, r:]
    ref = E.outputs if E.kept == "all" else E.outputs[np.arange(D), list(E.labels)][:, None]
    recdev = float(np.max(np.abs(recon - ref)))
    agree = sum(int(p == lab) for p, lab in zip(pred, E.labels))
    return {"theorem_3_3": agree == D, "points": D, "exact": False,
            "label_agreement_fast": agree / D, "max_deviation_fast": maxdev,
            "local_map_deviation_fast": recdev}


# =====================================================================
# section 4 analyses
# =====================================================================
@dataclass(frozen=True)
class RegionSharing:
    """Do data points share linear regions (T&P section 4, "Train and Test
    Linear Regions")?

    ``distinct_patterns``: distinct activation patterns (ReLU signs and
    max-pool choices) among the points; ``distinct_maps``: distinct local affine
    maps of the label output (T&P's ``a_x = a+_x - a-_x``); ``shared_points``:
    points whose pattern another point also has;
    ``per_layer``: ``(layer name, distinct patterns of the layers up to it)``
    after each nonlinear layer (how quickly the points separate);
    ``shared_with_reference``: see :func:`region_sharing`.
    """

    num_points: int
    distinct_patterns: int
    distinct_maps: int
    shared_points: int
    per_layer: tuple
    shared_with_reference: int | None = None


def _patterns(bk, g: _Graph, Xb, batch_size: int) -> list:
    """Per point: one bytes key per nonlinear layer (ReLU signs, pool argmaxes)."""
    D = Xb.shape[0]
    pats: list[list] = [[] for _ in range(D)]
    for a, b in _batches(D, batch_size):
        ch = _choices(bk, g, _forward(bk, g, Xb[a:b]))
        for op in g.ops[1:]:
            if op.name in ch:
                arr = bk.to_numpy(ch[op.name]).reshape(b - a, -1)
                for k in range(b - a):
                    pats[a + k].append(arr[k].astype(np.int64).tobytes())
    return pats


def region_sharing(net, X, mode: str = "fast", *, reference=None,
                   batch_size: int = 256) -> RegionSharing:
    """Count distinct activation patterns and local affine maps among ``X``.

    With ``reference`` (e.g. the training points when ``X`` is test data),
    ``shared_with_reference`` counts the points of ``X`` whose activation
    pattern some reference point also has (T&P: none, in practice).  In fast
    mode ``distinct_maps`` compares float maps rounded to 9 significant digits
    (approximate; the pattern count is the robust one).

    >>> from polyrelu.network import random_network
    >>> r = region_sharing(random_network([2, 3, 2]), [[0, 0], [0, 0], [5, 5]], "exact")
    >>> r.num_points, r.distinct_patterns <= 2, r.shared_points >= 2
    (3, True, True)
    """
    g, bk, Xb, rows, consts, outs = _run(net, X, mode, batch_size, label_only=True)
    D = Xb.shape[0]
    pats = _patterns(bk, g, Xb, batch_size)
    names = [op.name for op in g.ops[1:] if op.kind in ("act", "maxpool")]
    per_layer = tuple((nm, len({tuple(p[:li + 1]) for p in pats}))
                      for li, nm in enumerate(names))
    counts: dict = {}
    for p in pats:
        counts[tuple(p)] = counts.get(tuple(p), 0) + 1
    # T&P's a_x = a+_x - a-_x (the label's local affine map)
    maps: set = set()
    if mode == "exact":
        maps = {(tuple(rows[k, 0] - rows[k, 1]), consts[k, 0] - consts[k, 1])
                for k in range(D)}
    else:
        # fast mode: equal patterns give equal maps (take one point per
        # pattern; float rounding could split them); maps of different
        # patterns are compared after rounding to 9 significant digits (float)
        reps = {tuple(p): k for k, p in enumerate(pats)}.values()
        for k in reps:
            v = np.append(rows[k, 0] - rows[k, 1], consts[k, 0] - consts[k, 1])
            _, e = np.frexp(float(np.abs(v).max()))     # power-of-two scale
            maps.add((int(e), np.round(np.ldexp(v, -int(e)), 9).tobytes()))
    shared_ref = None
    if reference is not None:
        Rb = bk.input(reference, "reference")
        if tuple(Rb.shape[1:]) != tuple(Xb.shape[1:]):
            raise ShapeError(f"reference points have shape {tuple(Rb.shape[1:])}, "
                             f"X has {tuple(Xb.shape[1:])}")
        ref = {tuple(p) for p in _patterns(bk, g, Rb, batch_size)}
        shared_ref = sum(tuple(p) in ref for p in pats)
    return RegionSharing(D, len(counts), len(maps),
                         sum(c for c in counts.values() if c > 1), per_layer, shared_ref)


@dataclass(frozen=True)
class ExtractionScores:
    """Agreement of ``N^(X)`` with ``N`` and accuracies (T&P Table 2)."""

    num_points: int
    agreement: float
    network_accuracy: float | None
    extracted_accuracy: float | None
    network_labels: tuple
    extracted_labels: tuple


def extraction_scores(E: TropExFunction, net, X, y=None, *,
                      batch_size: int = 256) -> ExtractionScores:
    """Agreement and accuracy of the extracted function on (held-out) data.

    >>> from polyrelu.network import random_network
    >>> net = random_network([2, 4, 3], seed=2)
    >>> E = tropex(net, [[1, 0], [0, 1]], "fast")
    >>> extraction_scores(E, net, [[1, 0], [0, 1]]).agreement
    1.0
    """
    _, _, _, _, _, outs = _run(net, X, E.mode, batch_size)
    net_lab = tuple(_first_argmax(o) for o in outs)
    ext_lab = E.predict(X)
    D = len(net_lab)
    agree = sum(a == b for a, b in zip(net_lab, ext_lab)) / D
    acc_n = acc_e = None
    if y is not None:
        y = [int(v) for v in np.asarray(y).reshape(-1)]
        if len(y) != D:
            raise ShapeError(f"y has {len(y)} labels for {D} points")
        acc_n = sum(a == b for a, b in zip(net_lab, y)) / D
        acc_e = sum(a == b for a, b in zip(ext_lab, y)) / D
    return ExtractionScores(D, agree, acc_n, acc_e, net_lab, ext_lab)


@dataclass(frozen=True)
class CoefficientComparison:
    """Per test point (T&P Figure 2): the angle (degrees) and the Euclidean
    norm of the difference between the network's linear coefficients at the
    point and those ``N^(X)`` uses there (for the class ``N^(X)`` predicts),
    the training point whose term ``N^(X)`` uses, and whether ``N^(X)`` is
    correct (when labels were given)."""

    angles: np.ndarray
    distances: np.ndarray
    classes: tuple
    training_points: tuple
    correct: tuple | None


def compare_coefficients(E: TropExFunction, net, X, y=None, *,
                         batch_size: int = 256) -> CoefficientComparison:
    """Angle and norm difference between local coefficients of test points in
    ``N`` and in the extracted ``N^(X)`` (float results; exact inputs are
    differenced exactly first).

    >>> from polyrelu.network import random_network
    >>> net = random_network([2, 4, 3], seed=2)
    >>> E = tropex(net, [[1, 0], [0, 1]])
    >>> float(compare_coefficients(E, net, [[1, 0]]).distances[0])
    0.0
    """
    T = tropex(net, X, E.mode, check=False, batch_size=batch_size)
    nums, (Ad, ad) = E._matrices()
    P = T.rows  # rows of the test points
    Xf = E._prep(E._points(X)[1])
    s = E.output_dim
    den_idx = [_first_argmax(r) for r in (Xf @ Ad.T + ad)]
    vals = E._eval_matrix(Xf)
    angles, dists, classes, trains = [], [], [], []
    term_lists = E.terms
    for t in range(Xf.shape[0]):
        i = _first_argmax(vals[t])
        A, a = nums[i]
        j = _first_argmax(list(A @ Xf[t] + a))
        ext = A[j] - Ad[den_idx[t]]
        own = P[t, i] - P[t, s]
        diff = np.array([float(v) for v in (ext - own)])
        u = np.array([float(v) for v in own])
        w = np.array([float(v) for v in ext])
        nu, nw = np.linalg.norm(u), np.linalg.norm(w)
        if nu == 0 or nw == 0:
            ang = 0.0 if nu == nw else 90.0
        else:
            cos = float(u @ w) / float(nu * nw)
            ang = math.degrees(math.acos(max(-1.0, min(1.0, cos))))
        angles.append(ang)
        dists.append(float(np.linalg.norm(diff)))
        classes.append(i)
        trains.append(term_lists[i][j].points[0])
    correct = None
    if y is not None:
        y = [int(v) for v in np.asarray(y).reshape(-1)]
        correct = tuple(c == lab for c, lab in zip(classes, y))
    return CoefficientComparison(np.array(angles), np.array(dists), tuple(classes),
                                 tuple(trains), correct)


@dataclass(frozen=True)
class TransformationStage:
    """One step of T&P Figure 3: after merging ``merged`` (last layer first),
    test points pass through the network up to ``node`` and then through the
    partially extracted tropical function."""

    merged: tuple
    node: str
    code: str
    agreement: float
    accuracy: float | None


def transformation_curve(net, X, X_test, y_test=None, *, batch_size: int = 128
                         ) -> tuple:
    """Agreement with ``N`` (and accuracy) of the partially extracted function
    at every stage of the reverse pass (T&P Figure 3; fast mode, float64).

    Stages are the points of the pass where the not-yet-merged part of the
    network ends in a single layer (inside a residual block there are none).
    ``code`` spells the merged layers T&P-style (D dense, C conv/pool,
    M max-pool, R activation, B batch-norm, F flatten, + addition).

    >>> from polyrelu.network import random_network
    >>> net = random_network([2, 4, 3], seed=2)
    >>> curve = transformation_curve(net, [[1, 0], [0, 1]], [[1, 0]])
    >>> curve[0].agreement, len(curve)
    (1.0, 4)
    """
    shape = _data_shape(net, X)
    g = _as_graph(net, shape)
    bk = _FastBackend()
    Xt = bk.input(X_test, "X_test")
    if tuple(Xt.shape[1:]) != tuple(shape):
        raise ShapeError(f"X_test has points of shape {tuple(Xt.shape[1:])}, X has {shape}")
    tvals = _forward(bk, g, Xt)
    T = Xt.shape[0]
    s = g.output_dim
    net_lab = [_first_argmax(o) for o in bk.to_numpy(bk.reshape(tvals[-1], (T, s)))]
    torch = bk.torch
    stages: dict = {}

    def cb(start, node, A, const, merged, vals):
        B = A.shape[0]
        out = vals[-1].reshape(B, s)
        lab = torch.as_tensor([_first_argmax(o) for o in out.numpy()])
        V = tvals[node].reshape(T, -1)
        # rows: the label's numerator, the denominator (outputs="label")
        sc = torch.einsum("tn,brn->tbr", V, A.reshape(B, 2, -1)) + const[None]
        num = sc[:, :, 0]                                      # (T, B)
        den = sc[:, :, 1].max(dim=1).values                    # (T,)
        st = stages.setdefault(merged, {"node": g.ops[node].name,
                                        "num": torch.full((T, s), -math.inf,
                                                          dtype=torch.float64),
                                        "den": torch.full((T,), -math.inf,
                                                          dtype=torch.float64)})
        for i in range(s):
            m = lab == i
            if bool(m.any()):
                st["num"][:, i] = torch.maximum(st["num"][:, i], num[:, m].max(dim=1).values)
        st["den"] = torch.maximum(st["den"], den)

    _run(net, X, "fast", batch_size, cb, label_only=True)
    letters = {op.name: op.letter for op in g.ops}
    out = []
    y = None if y_test is None else [int(v) for v in np.asarray(y_test).reshape(-1)]
    for merged, st in stages.items():
        vals = (st["num"] - st["den"][:, None]).numpy()
        pred = [_first_argmax(v) for v in vals]
        agree = sum(p == q for p, q in zip(pred, net_lab)) / T
        acc = None if y is None else sum(p == q for p, q in zip(pred, y)) / T
        code = "".join(letters[m] for m in merged)
        out.append(TransformationStage(merged, st["node"], code, agree, acc))
    return tuple(out)

