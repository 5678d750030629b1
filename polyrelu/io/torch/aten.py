"""ATen operations into the layer graph: one table for the torch.fx,
TorchScript and torch.export readers.

TorchScript graphs and torch.export programs are both made of ATen
operators with the schemas of ``native_functions.yaml`` (``aten::linear(Tensor
input, Tensor weight, Tensor? bias=None)``, ...), and an fx graph of an
``ExportedProgram.module()`` calls the same operators; Python functions in an
eager fx graph (``F.relu``, ``torch.add``, ``x.view``) are mapped onto them by
the fx reader.  A reader gives ``AtenOps.call`` the operator's base name
(no overload, no trailing ``_``: in-place effects are the reader's business)
and its arguments by schema name.

Operands are ``Val`` (computed from the
input), constants (tensors, numbers, lists, None) and ``SHAPE`` (a size
of a computed tensor, only good for reshaping).  An operation on constants
alone is evaluated with torch itself when it is a deterministic tensor
operation of ``FOLDABLE`` (``W.t()``, ``permute``, ``2 * self.scale``),
so the layer graph receives the very tensor torch would compute.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ...exceptions import UnsupportedLayerError
from ._common import Arith, Val, check_dropout, number, pair, tensor_array
from .layers import GraphBuilder, exact_array

__all__ = ["AtenOps", "SHAPE", "Multi", "ATEN_OPS", "FOLDABLE"]


class _Shape:
    """Marker of a tensor size (``x.size(0)``, ``x.shape``): used only in views."""

    def __repr__(self) -> str:
        return "<size of a computed tensor>"


SHAPE = _Shape()


class Multi:
    """A tuple result (max-pool with indices, native batch-norm): item 0 is
    the value, the others may not be used."""

    def __init__(self, first: Any, op: str) -> None:
        self.first = first
        self.op = op


#: the operators read (base names)
ATEN_OPS = ("linear", "addmm", "mm", "matmul", "conv2d", "convolution", "_convolution",
            "max_pool2d", "max_pool2d_with_indices", "avg_pool2d", "batch_norm",
            "_native_batch_norm_legit_no_training", "native_batch_norm",
            "_native_batch_norm_legit", "relu", "leaky_relu", "hardtanh", "add", "sub",
            "rsub", "mul", "div", "neg", "flatten", "view", "reshape", "_unsafe_view",
            "dropout", "feature_dropout", "clone", "contiguous", "detach", "alias",
            "lift_fresh_copy", "size", "sym_size", "dim")

#: deterministic tensor operations evaluated when every operand is a constant
FOLDABLE = frozenset({"t", "permute", "transpose", "view", "reshape", "_unsafe_view",
                      "unsqueeze", "squeeze", "contiguous", "clone", "detach", "alias",
                      "expand", "add", "sub", "rsub", "mul", "div", "neg", "lift_fresh_copy",
                      "lift_fresh", "unsafe_view", "select", "slice", "to", "_to_copy",
                      "tensor", "scalar_tensor", "zeros", "ones", "full"})

_IDENTITY = ("clone", "contiguous", "detach", "alias", "lift_fresh_copy")


class AtenOps:
    """Appends the layers of ATen operators to a :class:`~polyrelu.io.torch.layers.GraphBuilder`.

    ``refuse(msg)`` makes the reader's error (it names the node)."""

    def __init__(self, g: GraphBuilder, src: str, help_text: str):
        self.g = g
        self.src = src
        self.help = help_text
        self.arith = Arith(g, src, help_text)

    # ------------------------------------------------------------ helpers
    def _refuse(self, name: str, msg: str) -> UnsupportedLayerError:
        return UnsupportedLayerError(f"{self.src}: {name}: {msg}; supported: {self.help}")

    def _val(self, a: dict, key: str, name: str, op: str) -> Val:
        v = a.get(key)
        if isinstance(v, Multi):
            v = v.first
        if not isinstance(v, Val):
            raise self._refuse(name, f"aten::{op}: its {key} must be computed from the "
                                     f"model input (got {_what(v)})")
        return v

    def _tensor(self, a: dict, key: str, name: str, op: str, optional: bool = False):
        v = a.get(key)
        if v is None and optional:
            return None
        if isinstance(v, Val) or v is SHAPE or not hasattr(v, "detach"):
            raise self._refuse(name, f"aten::{op}: its {key} must be a parameter or "
                                     f"constant tensor (got {_what(v)})")
        return tensor_array(v, f"{self.src}: layer {name!r} {key}")

    def _const(self, a: dict, key: str, name: str, op: str, default: Any = None):
        v = a.get(key, default)
        if isinstance(v, Val) or v is SHAPE:
            raise self._refuse(name, f"aten::{op}: its {key} must be a constant, not "
                                     f"computed from the input")
        return v

    def layer(self, op: str, x: Val, name: str, ttype: str, **args: Any) -> Val:
        return Val(self.g.add(op, (x.index,), name, ttype, **args))

    # ------------------------------------------------------------ constants
    def fold(self, op: str, a: dict, name: str) -> Any:
        """``op`` of constants only, evaluated by torch (see :data:`FOLDABLE`)."""
        import torch

        if op not in FOLDABLE or any(v is SHAPE for v in a.values()):
            if any(v is SHAPE for v in a.values()) and op in ("add", "sub", "mul", "div",
                                                             "neg", "floordiv"):
                return SHAPE            # size arithmetic: still a size
            raise self._refuse(name, f"aten::{op} of constants is not evaluated (only "
                                     f"deterministic tensor operations on parameters)")
        fn = getattr(torch.ops.aten, op)
        try:
            return fn(**{k: v for k, v in a.items()})
        except Exception:
            try:
                return fn(*a.values())
            except Exception as e:
                raise self._refuse(name, f"aten::{op} of constants failed "
                                         f"({type(e).__name__})") from None

    # ------------------------------------------------------------ ops
    def call(self, op: str, a: dict, name: str, ttype: str | None = None) -> Any:
        """The result of aten ``op`` with named operands ``a``."""
        ttype = ttype or f"aten::{op}"
        if not any(_computed(v) for v in a.values()):
            return self.fold(op, a, name)
        ar = self.arith
        if op == "linear":
            x = self._val(a, "input", name, op)
            W = self._tensor(a, "weight", name, op)
            b = self._tensor(a, "bias", name, op, optional=True)
            return self._linear(x, W, b, name, ttype)
        if op in ("addmm", "mm", "matmul"):
            return self._matmul(op, a, name, ttype)
        if op in ("conv2d", "convolution", "_convolution"):
            x = self._val(a, "input", name, op)
            if op != "conv2d" and self._const(a, "transposed", name, op):
                raise self._refuse(name, "a transposed convolution is not supported")
            W = self._tensor(a, "weight", name, op)
            if W.ndim != 4:
                raise self._refuse(name, f"aten::{op}: a {W.ndim - 2}-D convolution; only "
                                         f"2-D (Conv2d) is supported")
            b = self._tensor(a, "bias", name, op, optional=True)
            return self.layer("conv2d", x, name, ttype, W=W, b=b,
                              stride=pair(self._const(a, "stride", name, op, 1)),
                              padding=_padding(self._const(a, "padding", name, op, 0)),
                              dilation=pair(self._const(a, "dilation", name, op, 1)),
                              groups=int(self._const(a, "groups", name, op, 1)),
                              padding_mode="zeros")
        if op in ("max_pool2d", "max_pool2d_with_indices"):
            x = self._val(a, "self", name, op)
            k = self._const(a, "kernel_size", name, op)
            st = self._const(a, "stride", name, op, ())
            out = self.layer("maxpool2d", x, name, ttype, kernel=pair(k),
                             stride=pair(st) if st not in (None, [], ()) else pair(k),
                             padding=pair(self._const(a, "padding", name, op, 0)),
                             dilation=pair(self._const(a, "dilation", name, op, 1)),
                             ceil_mode=bool(self._const(a, "ceil_mode", name, op, False)))
            return Multi(out, f"aten::{op}") if op.endswith("indices") else out
        if op == "avg_pool2d":
            x = self._val(a, "self", name, op)
            k = self._const(a, "kernel_size", name, op)
            st = self._const(a, "stride", name, op, ())
            return self.layer("avgpool2d", x, name, ttype, kernel=pair(k),
                              stride=pair(st) if st not in (None, [], ()) else pair(k),
                              padding=pair(self._const(a, "padding", name, op, 0)),
                              ceil_mode=bool(self._const(a, "ceil_mode", name, op, False)),
                              count_include_pad=bool(self._const(
                                  a, "count_include_pad", name, op, True)),
                              divisor_override=self._const(a, "divisor_override", name, op))
        if op in ("batch_norm", "_native_batch_norm_legit_no_training", "native_batch_norm",
                  "_native_batch_norm_legit"):
            return self._batch_norm(op, a, name, ttype)
        if op == "relu":
            return self.layer("act", self._val(a, "self", name, op), name, ttype,
                              kind="relu", alpha=None)
        if op == "leaky_relu":
            slope = number(self._const(a, "negative_slope", name, op, 0.01))
            if slope is None:
                raise self._refuse(name, "the negative_slope is not a number")
            return self.layer("act", self._val(a, "self", name, op), name, ttype,
                              kind="leaky_relu", alpha=slope)
        if op == "hardtanh":
            lo = number(self._const(a, "min_val", name, op, -1))
            hi = number(self._const(a, "max_val", name, op, 1))
            if (lo, hi) != (-1, 1):
                raise UnsupportedLayerError(
                    f"{self.src}: layer {name!r}: Hardtanh({_num(lo)}, {_num(hi)}) is not "
                    f"supported; only Hardtanh(-1, 1) (hard tanh)")
            return self.layer("act", self._val(a, "self", name, op), name, ttype,
                              kind="hard_tanh", alpha=None)
        if op == "add":
            return ar.add(a.get("self"), a.get("other"), a.get("alpha"), name, ttype)
        if op == "sub":
            return ar.sub(a.get("self"), a.get("other"), a.get("alpha"), name, ttype)
        if op == "rsub":        # other - alpha * self
            al = number(a.get("alpha", 1))
            if al is None:
                raise self._refuse(name, "alpha is not a numeric constant")
            return ar.add(a.get("other"), a.get("self"), -al, name, ttype)
        if op == "mul":
            return ar.mul(a.get("self"), a.get("other"), name, ttype)
        if op == "div":
            return ar.div(a.get("self"), a.get("other"), name, ttype,
                          a.get("rounding_mode"))
        if op == "neg":
            return ar.neg(a.get("self"), name, ttype)
        if op == "flatten":
            sd = self._const(a, "start_dim", name, op, 0)
            ed = self._const(a, "end_dim", name, op, -1)
            return self.layer("flatten", self._val(a, "self", name, op), name, ttype,
                              start_dim=int(sd), end_dim=int(ed))
        if op in ("view", "reshape", "_unsafe_view"):
            size = a.get("size", a.get("shape"))
            if isinstance(size, Val) or not isinstance(size, (list, tuple)):
                raise self._refuse(name, f"aten::{op}: the shape must be a list of "
                                         f"sizes")
            shape = tuple(None if s is SHAPE else int(s) for s in size)
            return self.layer("view", self._val(a, "self", name, op), name, ttype,
                              shape=shape)
        if op in ("dropout", "feature_dropout"):
            check_dropout(self._const(a, "p", name, op), self._const(a, "train", name, op),
                          f"{self.src}: layer {name!r}")
            return self._val(a, "input", name, op)
        if op in _IDENTITY:
            return self._val(a, "self", name, op)
        if op in ("size", "sym_size", "dim"):
            return SHAPE
        raise self._refuse(name, f"the operation aten::{op} is not supported")

    def _linear(self, x: Val, W, b, name: str, ttype: str) -> Val:
        if W.ndim != 2:
            raise self._refuse(name, f"a weight of shape {W.shape} is not a matrix")
        if b is not None:
            b = b.reshape(-1)
        return self.layer("linear", x, name, ttype, W=W, b=b)

    def _matmul(self, op: str, a: dict, name: str, ttype: str) -> Val:
        if op == "addmm":        # beta * self + alpha * (mat1 @ mat2)
            x = self._val(a, "mat1", name, op)
            M = self._tensor(a, "mat2", name, op)
            C = self._tensor(a, "self", name, op)
            beta, alpha = number(a.get("beta", 1)), number(a.get("alpha", 1))
            if alpha is None or beta is None:
                raise self._refuse(name, "alpha and beta must be numeric constants")
        else:
            x = self._val(a, "self", name, op)
            M = self._tensor(a, "mat2" if op == "mm" else "other", name, op)
            C, alpha, beta = None, Fraction(1), Fraction(1)
        if M.ndim != 2:
            raise self._refuse(name, f"aten::{op}: the right factor of shape {M.shape} is "
                                     f"not a matrix")
        W = M.T.copy()
        if alpha != 1:
            W = exact_array(W) * alpha
        b = None
        if C is not None:
            if C.size not in (1, W.shape[0]):
                raise self._refuse(name, f"aten::{op}: a bias of shape {C.shape} for "
                                         f"{W.shape[0]} outputs")
            C = C.reshape(-1)
            if C.size == 1:
                C = C.repeat(W.shape[0]) if C.dtype != object else \
                    exact_array(C).repeat(W.shape[0])
            b = C if beta == 1 else exact_array(C) * beta
        return self.layer("linear", x, name, ttype, W=W, b=b)

    def _batch_norm(self, op: str, a: dict, name: str, ttype: str) -> Any:
        x = self._val(a, "input", name, op)
        training = bool(self._const(a, "training", name, op, False))
        mean = a.get("running_mean")
        var = a.get("running_var")
        training = training or mean is None or var is None     # the consumer refuses
        eps = number(self._const(a, "eps", name, op, 1e-5))
        if eps is None:
            raise self._refuse(name, "eps is not a number")
        out = self.layer("batchnorm", x, name, ttype, training=training,
                         mean=self._tensor(a, "running_mean", name, op, optional=True),
                         var=self._tensor(a, "running_var", name, op, optional=True),
                         weight=self._tensor(a, "weight", name, op, optional=True),
                         bias=self._tensor(a, "bias", name, op, optional=True),
                         eps=float(eps), dims=(1, 2, 3))
        return out if op == "batch_norm" else Multi(out, f"aten::{op}")


def _computed(v: Any) -> bool:
    """``v`` holds a value computed from the input (also inside a list)."""
    if isinstance(v, (list, tuple)):
        return any(_computed(x) for x in v)
    return isinstance(v, (Val, Multi))


def _padding(p: Any) -> Any:
    return p if isinstance(p, str) else pair(p)


def _num(v: Any) -> str:
    return str(float(v)) if isinstance(v, Fraction) else repr(v)


def _what(v: Any) -> str:
    if v is None:
        return "None"
    if v is SHAPE:
        return "a tensor size"
    if hasattr(v, "shape"):
        return f"a constant of shape {tuple(v.shape)}"
    return type(v).__name__
