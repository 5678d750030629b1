"""What the torch readers share: importing torch, exact tensors and numbers,
constant arithmetic into the layer graph, dropout, hooks and messages."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ...exceptions import NonFiniteError, NumberError, UnsupportedLayerError
from ...numbers import to_fraction
from .layers import GraphBuilder

__all__ = ["torch_module", "Val", "tensor_array", "number", "check_dropout", "Arith",
           "SUPPORTED_LAYERS", "supported", "first_line", "check_hooks"]

#: what Network.from_torch reads (TropEx reads more: polyrelu.tropex.TROPEX_SUPPORTED)
SUPPORTED_LAYERS = ("Linear", "ReLU", "LeakyReLU", "Hardtanh(-1, 1)", "Identity",
                    "Flatten", "Dropout (eval mode)", "Sequential", "residual addition "
                    "of post-activation values (scaled by a positive constant for "
                    "ReLU / leaky ReLU)", "+ - * / by numbers and per-feature "
                    "constants (buffers such as an input mean and std)")


def supported() -> str:
    return ", ".join(SUPPORTED_LAYERS)


def torch_module():
    """``import torch``, or a clear error when the extra is not installed."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is an install extra
        raise UnsupportedLayerError("this needs PyTorch (pip install polyrelu[torch])"
                                    ) from None
    return torch


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__


@dataclass(frozen=True)
class Val:
    """A value computed from the model input: layer ``index`` of the graph."""

    index: int


def tensor_array(t: Any, what: str) -> np.ndarray:
    """The exact values of a tensor as a numpy array: float64 for floating
    (float16/bfloat16/float32/float64 widen exactly) and for integers that
    float64 holds, else Fractions.  NaN or infinity is a
    :class:`~polyrelu.exceptions.NonFiniteError` naming ``what``."""
    torch = torch_module()
    t = t.detach().cpu()
    if t.is_complex():
        raise NumberError(f"{what}: complex tensor ({t.dtype}) is not a real weight")
    if t.is_floating_point():
        a = t.to(torch.float64).numpy()
        if not np.isfinite(a).all():
            idx = tuple(int(v) for v in np.argwhere(~np.isfinite(a))[0])
            raise NonFiniteError(f"{what}: non-finite value {a[idx]} at index "
                                 f"{idx if len(idx) != 1 else idx[0]}")
        return np.array(a, dtype=np.float64)      # a copy: the model may change later
    if t.dtype == torch.bool:
        t = t.to(torch.int64)
    vals = t.to(torch.int64).numpy()
    if np.abs(vals).max(initial=0) <= 2 ** 53:
        return vals.astype(np.float64)
    out = np.empty(vals.shape, dtype=object)
    out.reshape(-1)[:] = [Fraction(int(v)) for v in vals.reshape(-1)]
    return out


def number(a: Any) -> Fraction | None:
    """A numeric constant (int, float, 0-d tensor) as an exact Fraction, or None."""
    if isinstance(a, bool) or a is None:
        return None
    if isinstance(a, Fraction):
        return a
    if isinstance(a, (int, float)):
        return to_fraction(a, "constant")
    if hasattr(a, "dim") and hasattr(a, "item") and a.dim() == 0:
        if a.is_complex():
            return None
        return to_fraction(a.item(), "constant")
    return None


def check_dropout(p: Any, training: Any, where: str) -> None:
    """Dropout is the identity only in eval mode (or with p = 0; p None =
    unknown)."""
    if p is not None:
        try:
            p = float(p)
        except (TypeError, ValueError):
            raise UnsupportedLayerError(f"{where}: dropout probability {p!r} is not a "
                                        f"constant") from None
    if bool(training) and (p is None or p > 0):
        what = "Dropout" if p is None else f"Dropout(p={p})"
        raise UnsupportedLayerError(
            f"{where}: {what} is in training mode, where it is random; call "
            f"module.eval() first (polyrelu reads the eval-mode function, in which "
            f"dropout is the identity)")


def check_hooks(module: Any, src: str) -> None:
    """Forward hooks change what a module computes, and neither the layer-by-
    layer reading of a Sequential nor torch.fx runs them: a module with one
    is refused rather than read without it (torch.export runs hooks)."""
    from torch.nn.modules import module as mm

    if getattr(mm, "_global_forward_hooks", None) or getattr(
            mm, "_global_forward_pre_hooks", None):
        raise UnsupportedLayerError(
            f"{src}: a global forward hook is registered (torch.nn.modules.module."
            f"register_module_forward_hook); polyrelu would read the modules without "
            f"it: remove it, or read a torch.export program (torch.export.export "
            f"runs hooks)")
    for name, m in module.named_modules(remove_duplicate=False):
        hooks = list(getattr(m, "_forward_hooks", {}).values()) + list(
            getattr(m, "_forward_pre_hooks", {}).values())
        # ExportedProgram.module()'s own hooks check input shapes only
        hooks = [h for h in hooks if getattr(h, "__module__", "") != "torch.export._unlift"]
        if hooks:
            raise UnsupportedLayerError(
                f"{src}: module {name or type(module).__name__!r} has a forward hook, "
                f"which changes what it computes and which this reader does not run; "
                f"remove the hook, or read a torch.export program "
                f"(torch.export.export(model, (x,)) runs hooks)")


class Arith:
    """``+ - * / neg`` of computed values (:class:`Val`) and constants
    (numbers, 0-d tensors, tensors), appended to a layer graph.  Constants
    are read exactly; whether one broadcasts against the model's features is
    for the consumer to check (it knows the widths)."""

    def __init__(self, g: GraphBuilder, src: str, ops_help: str | None = None):
        self.g = g
        self.src = src
        self.ops_help = ops_help or supported()

    def refuse(self, where: str, msg: str) -> UnsupportedLayerError:
        return UnsupportedLayerError(f"{self.src}: {where}: {msg}; supported: "
                                     f"{self.ops_help}")

    def const(self, a: Any, where: str) -> Any:
        """The exact constant of ``a`` (Fraction or array), or None when ``a``
        is not a constant."""
        k = number(a)
        if k is not None:
            return k
        if hasattr(a, "detach") and hasattr(a, "shape"):
            arr = tensor_array(a, f"{self.src}: {where} constant")
            return Fraction(arr.reshape(-1)[0]) if arr.size == 1 and arr.ndim <= 1 \
                else arr
        return None

    def _layer(self, op: str, x: Val, name: str, ttype: str, **args: Any) -> Val:
        return Val(self.g.add(op, (x.index,), name, ttype, **args))

    def scale(self, x: Val, k: Fraction, name: str, ttype: str) -> Val:
        return x if k == 1 else self._layer("mul", x, name, ttype, c=k)

    def add(self, x: Any, y: Any, alpha: Any, name: str, ttype: str) -> Val:
        """``x + alpha * y`` (torch.add semantics)."""
        where = repr(name)
        a = Fraction(1) if alpha is None else number(alpha)
        if a is None:
            raise self.refuse(where, f"alpha={alpha!r} is not a numeric constant")
        xv, yv = isinstance(x, Val), isinstance(y, Val)
        if xv and yv:
            return Val(self.g.add("add", (x.index, y.index), name, ttype, alpha=a))
        if xv or yv:
            c = self.const(y if xv else x, where)
            if c is None:
                raise self.refuse(where, "only numbers and per-feature tensor constants "
                                         "can be added to a computed value")
            if xv:      # x + a c
                return self._layer("shift", x, name, ttype, c=_times(c, a))
            v = self.scale(y, a, name, ttype)      # c + a y
            return self._layer("shift", v, name, ttype, c=c)
        raise self.refuse(where, "adding two constants")

    def sub(self, x: Any, y: Any, alpha: Any, name: str, ttype: str) -> Val:
        a = Fraction(1) if alpha is None else number(alpha)
        if a is None:
            raise self.refuse(repr(name), "alpha is not a numeric constant")
        return self.add(x, y, -a, name, ttype)

    def mul(self, x: Any, y: Any, name: str, ttype: str) -> Val:
        where = repr(name)
        if isinstance(x, Val) and isinstance(y, Val):
            raise self.refuse(where, "the product of two computed values is not "
                                     "piecewise linear")
        v, c = (x, y) if isinstance(x, Val) else (y, x)
        k = self.const(c, where) if isinstance(v, Val) else None
        if k is None:
            raise self.refuse(where, "only multiplication by a numeric or per-feature "
                                     "constant is supported")
        if isinstance(k, Fraction) and k == 1:
            return v
        return self._layer("mul", v, name, ttype, c=k)

    def div(self, x: Any, y: Any, name: str, ttype: str, rounding: Any = None) -> Val:
        where = repr(name)
        k = self.const(y, where) if isinstance(x, Val) and not isinstance(y, Val) \
            else None
        if k is None:
            raise self.refuse(where, "only division of a value by a numeric or "
                                     "per-feature constant is supported")
        if rounding is not None:
            raise self.refuse(where, f"division with rounding_mode={rounding!r} is not "
                                     f"piecewise linear")
        return self._layer("div", x, name, ttype, c=k)

    def neg(self, x: Any, name: str, ttype: str) -> Val:
        if not isinstance(x, Val):
            raise self.refuse(repr(name), "negating a constant")
        return self._layer("mul", x, name, ttype, c=Fraction(-1))


def _times(c: Any, a: Fraction) -> Any:
    """``a * c`` exactly (a float64 array stays one when ``a`` is 1 or -1)."""
    from .layers import exact_array

    if isinstance(c, Fraction):
        return a * c
    if a == 1:
        return c
    if a == -1 and c.dtype != object:
        return -c
    return exact_array(c) * a


def pair(v: Any) -> tuple:
    """A torch 2-D hyper-parameter (int or pair) as a tuple of two ints."""
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            return (int(v[0]), int(v[0]))
        return tuple(int(x) for x in v)
    return (int(v), int(v))
