"""PyTorch import (exact) and float64 export.

:func:`from_torch` reads

* an ``nn.Sequential`` (nested Sequentials allowed) of ``Linear``, ``ReLU``,
  ``LeakyReLU`` (``negative_slope`` converted exactly), ``Hardtanh`` (only
  ``min_val=-1, max_val=1``), ``Identity``, ``Flatten`` and ``Dropout``;
* any other module that ``torch.fx`` can trace into these layers (or
  ``F.relu``, ``torch.relu``, ``F.leaky_relu``, ``F.hardtanh``, ``F.linear``,
  ``torch.flatten``) plus residual additions ``h + f(h)`` of post-activation
  values, which become skips (J&V eq. 46: a skip ``k -> l`` adds ``nu_k`` to
  the input of layer ``l``);
* TorchScript modules (``torch.jit.load``, ``torch.jit.trace``,
  ``torch.jit.script``): Sequentials are read child by child, modules written
  by :func:`to_torch` carry their skips, and any other module is read from its
  inlined TorchScript graph (:data:`TORCHSCRIPT_OPS`: ``aten::linear``,
  ``aten::relu``, ``aten::add``, ... -- the same operations as above, with
  ``prim::If`` only on constant conditions).

In-place operations (``h.mul_(2)``, ``u += h``, ``nn.ReLU(inplace=True)``,
``aten::add_``) change a tensor under all its names: nodes are read in
execution order and the mutated value (and every value that is the same
tensor) is rebound to the op's result for later uses; a value changed
through a view (view/reshape/flatten share memory) is refused when read.

Residual additions may scale a branch (``torch.add(h, f, alpha=2)``,
``h + 0.5 * f``, ``2 * h + f``, ``torch.sub(h, f, alpha=-1)``): the scale is
folded exactly into the weights when it is a positive factor of a ReLU or
leaky ReLU branch (``c relu(z) = relu(c z)``); a negative or inconsistent
scale (``h - relu(W h)``), or any scaled hard tanh branch, is refused with
the addition's name -- never read as a different network.  Constants in
``+ - * /`` -- numbers, 0-d tensors and per-feature tensors such as the
``mean``/``std`` buffers of an input normalisation -- are read exactly (a
float as its dyadic value) and folded into the adjacent layer.

Consecutive ``Linear`` layers without an activation between them are composed
exactly.  Weights (float32/float64/half) are converted exactly to dyadic
rationals.  ``Dropout`` is the identity of the module's *eval-mode* function;
a dropout with ``p > 0`` in training mode is random and is refused (call
``module.eval()``).  Anything else raises
:class:`~polyrelu.exceptions.UnsupportedLayerError` naming the layer and
listing what is supported.  torch is imported lazily: ``import polyrelu``
works without it.

>>> import torch
>>> seq = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
>>> net = from_torch(seq)
>>> net.architecture
'2-3-1'
>>> from_torch(to_torch(net)) == net
True
"""

from __future__ import annotations

import math
import operator
import os
import typing
from typing import Any, Callable

from ..exceptions import ModelFileError, PolyreluError, ShapeError, UnsupportedLayerError
from ..network import Network
from ..numbers import Fraction, rationalize, to_fraction
from ._builder import (
    Aliases,
    ChainBuilder,
    Value,
    export_float,
    export_rows,
    fractions_to_q,
    inplace_view_error,
    q,
)

__all__ = ["from_torch", "to_torch", "load_torch_file", "from_state_dict",
           "save_torchscript", "SUPPORTED_LAYERS", "TORCHSCRIPT_OPS"]

SUPPORTED_LAYERS = ("Linear", "ReLU", "LeakyReLU", "Hardtanh(-1, 1)", "Identity",
                    "Flatten", "Dropout (eval mode)", "Sequential", "residual addition "
                    "of post-activation values (scaled by a positive constant for "
                    "ReLU / leaky ReLU)", "+ - * / by numbers and per-feature "
                    "constants (buffers such as an input mean and std)")

#: TorchScript graph operations read by the graph importer
TORCHSCRIPT_OPS = ("aten::linear", "aten::matmul (value @ parameter)", "aten::addmm",
                   "aten::relu", "aten::leaky_relu", "aten::hardtanh(-1, 1)",
                   "aten::add / sub / rsub (with alpha)", "aten::mul / div / neg by "
                   "numbers and per-feature constants (also before the first matrix)",
                   "aten::dropout (eval)", "aten::flatten / view / reshape "
                   "/ contiguous", "aten::size", "prim::If on a constant condition",
                   "prim::GetAttr", "prim::Constant", "prim::ListConstruct",
                   "in-place forms (aten::add_, mul_, relu_, ...)")


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is an install extra
        raise UnsupportedLayerError("this needs PyTorch (pip install polyrelu[torch])"
                                    ) from None
    return torch


def _supported() -> str:
    return ", ".join(SUPPORTED_LAYERS)


def _tensor_q(t, what: str) -> list:
    """Exact mpq nested list of a tensor (float32/64/16 are all dyadic)."""
    torch = _torch()
    t = t.detach().cpu()
    if t.is_floating_point():
        t = t.to(torch.float64)       # exact widening
    try:
        fr, _ = rationalize(t.numpy(), None)
    except PolyreluError as e:
        raise type(e)(f"{what}: {e}") from None
    return fractions_to_q(fr)


class _Walker:
    """Feeds torch layers into a :class:`ChainBuilder`."""

    def __init__(self, builder: ChainBuilder, where: dict):
        self.b = builder
        self.where = where

    def unsupported(self, kind: str) -> UnsupportedLayerError:
        return UnsupportedLayerError(
            f"{self.where['src']}: layer {self.where['name']!r} of type {kind} is not "
            f"supported; supported: {_supported()}")

    def module(self, m, v: Value, kind: str | None = None) -> Value:
        kind = kind or type(m).__name__
        if kind in ("Linear",):
            at = f"{self.where['src']}: layer {self.where['name']!r}"
            W = _tensor_q(m.weight, f"{at} weight")
            bias = getattr(m, "bias", None)
            b = None if bias is None else _tensor_q(bias, f"{at} bias")
            return self.b.linear(v, W, b)
        if kind == "ReLU":
            return self.b.activate(v, "relu", None, repr(self.where["name"]))
        at = f"{self.where['src']}: layer {self.where['name']!r}"
        if kind == "LeakyReLU":
            slope, = self.hyper(m, ("negative_slope",), "aten::leaky_relu", (0.01,))
            a = to_fraction(float(slope), f"{at}: LeakyReLU negative_slope")
            return self.b.activate(v, "leaky_relu", a, repr(self.where["name"]))
        if kind == "Hardtanh":
            lo, hi = self.hyper(m, ("min_val", "max_val"), "aten::hardtanh", (-1.0, 1.0))
            if float(lo) != -1.0 or float(hi) != 1.0:
                raise UnsupportedLayerError(
                    f"{at}: Hardtanh({lo}, {hi}) is not supported; only Hardtanh(-1, 1) "
                    f"(hard tanh)")
            return self.b.activate(v, "hard_tanh", None, repr(self.where["name"]))
        if kind in ("Identity", "Flatten", "Dropout"):
            if kind == "Flatten":
                sd, = self.hyper(m, ("start_dim",), "aten::flatten", (1,))
                if not isinstance(sd, int) or sd < 1:
                    raise self.unsupported(f"Flatten(start_dim={sd}) (flattens the "
                                           f"batch)")
            if kind == "Dropout":
                # (a traced Dropout keeps `training` but not always `p`)
                _check_dropout(getattr(m, "p", None), getattr(m, "training", False),
                               f"{self.where['src']}: layer {self.where['name']!r}")
            return v
        raise self.unsupported(kind)

    def hyper(self, m, names: tuple, op: str, defaults: tuple) -> tuple:
        """Hyper-parameters of a torch layer: its attributes (eager, scripted)
        or, for a traced layer, which keeps only its tensors, the constant
        arguments of the one ``op`` node of its graph."""
        if all(hasattr(m, a) for a in names):
            return tuple(getattr(m, a) for a in names)
        at = f"{self.where['src']}: layer {self.where['name']!r}"
        try:
            nodes = [n for n in m.graph.nodes() if n.kind() in (op, op + "_")]
        except Exception:      # pragma: no cover - a ScriptModule has a graph
            nodes = []
        if len(nodes) != 1:
            raise UnsupportedLayerError(f"{at}: cannot read the {', '.join(names)} of "
                                        f"this traced {_kind(m)} (no single {op} in its "
                                        f"graph)")
        args = list(nodes[0].inputs())[1:]
        vals = []
        for j, d in enumerate(defaults):
            if j >= len(args):
                vals.append(d)
                continue
            if args[j].node().kind() != "prim::Constant":
                raise UnsupportedLayerError(f"{at}: the {names[j]} of this traced "
                                            f"{_kind(m)} is not a constant")
            vals.append(args[j].toIValue())
        return tuple(vals)


def _check_dropout(p: Any, training: Any, where: str) -> None:
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


def _number(a: Any) -> Fraction | None:
    """A numeric constant of a graph (int/float, 0-d tensor) as an exact
    Fraction, or None."""
    if isinstance(a, bool) or a is None:
        return None
    if isinstance(a, Fraction):
        return a
    if isinstance(a, (int, float)):
        return to_fraction(a, "constant")
    if hasattr(a, "dim") and hasattr(a, "item") and a.dim() == 0:
        return to_fraction(a.item(), "constant")
    return None


class _Arith:
    """``+ - * /`` of graph values (:class:`Value`) and constants: numbers,
    0-d tensors, and tensors of one entry per feature (shape ``(n,)`` or
    ``(1, n)``: an input normalisation ``(x - mean) / std`` with buffers),
    broadcast as torch does.  Every constant is read exactly."""

    def __init__(self, builder: ChainBuilder, src: str):
        self.b = builder
        self.src = src

    def refuse(self, where: str, msg: str) -> UnsupportedLayerError:
        return UnsupportedLayerError(f"{self.src}: {where}: {msg}; supported: "
                                     f"{_supported()}")

    def scale(self, v: Value, k: Fraction, where: str) -> Value:
        return self.b.scale(v, [q(k)] * v.out_dim, where=where)

    def const(self, a: Any, n: int, where: str) -> list | None:
        """The constant ``a`` broadcast to ``n`` features (mpq), or None when
        ``a`` is not a constant."""
        k = _number(a)
        if k is not None:
            return [q(k)] * n
        if not (hasattr(a, "detach") and hasattr(a, "shape")):
            return None
        shape = tuple(int(x) for x in a.shape)
        numel = math.prod(shape)
        flat = _tensor_q(a.reshape(-1), f"{self.src}: {where} constant")
        if numel == 1:
            return flat * n
        if numel == n and shape[-1] == n:
            return flat
        raise self.refuse(where, f"a constant of shape {shape} does not broadcast "
                                 f"against one sample of {n} features")

    def add(self, x: Any, y: Any, alpha: Any, where: str) -> Value:
        """``x + alpha * y`` (torch.add semantics)."""
        a = Fraction(1) if alpha is None else _number(alpha)
        if a is None:
            raise self.refuse(where, f"alpha={alpha!r} is not a numeric constant")
        xv, yv = isinstance(x, Value), isinstance(y, Value)
        if xv and yv:
            return self.b.add(x, y if a == 1 else self.scale(y, a, where), where=where)
        if xv or yv:
            v = x if xv else self.scale(y, a, where)
            k = self.const(y if xv else x, v.out_dim, where)
            if k is None:
                raise self.refuse(where, "only numbers and per-feature tensor constants "
                                         "can be added to a computed value")
            if xv and a != 1:
                k = [q(a) * c for c in k]
            return self.b.add_const(v, k)
        raise self.refuse(where, "adding two constants")

    def mul(self, x: Any, y: Any, where: str) -> Value:
        if isinstance(x, Value) and isinstance(y, Value):
            raise self.refuse(where, "the product of two computed values is not "
                                     "piecewise linear")
        v, c = (x, y) if isinstance(x, Value) else (y, x)
        k = self.const(c, v.out_dim, where) if isinstance(v, Value) else None
        if k is None:
            raise self.refuse(where, "only multiplication by a numeric or per-feature "
                                     "constant is supported")
        return self.b.scale(v, k, where=where)

    def div(self, x: Any, y: Any, where: str, rounding: Any = None) -> Value:
        k = self.const(y, x.out_dim, where) \
            if isinstance(x, Value) and not isinstance(y, Value) else None
        if k is None:
            raise self.refuse(where, "only division of a value by a numeric or "
                                     "per-feature constant is supported")
        if rounding is not None:
            raise self.refuse(where, f"division with rounding_mode={rounding!r} is not "
                                     f"piecewise linear")
        if any(c == 0 for c in k):
            raise self.refuse(where, "division by zero")
        return self.b.scale(x, [1 / c for c in k], where=where)


def _is_script(m) -> bool:
    torch = _torch()
    return isinstance(m, torch.jit.ScriptModule)


def _kind(m) -> str:
    """Layer type name, also for TorchScript modules (their original_name)."""
    if _is_script(m):
        return getattr(m, "original_name", type(m).__name__)
    return type(m).__name__


def _flatten_sequential(m, prefix: str = ""):
    """(name, module) leaves of nested Sequentials, in order."""
    for name, child in m.named_children():
        full = f"{prefix}{name}"
        if _kind(child) in ("Sequential", "ModuleList") or (
                _is_script(child) and _kind(child) == "Sequential"):
            yield from _flatten_sequential(child, full + ".")
        else:
            yield full, child


def from_torch(module: Any, max_denominator: int | None = None,
               source: str | None = None) -> Network:
    """Exact :class:`~polyrelu.network.Network` of a torch module (see module doc).

    Parameters
    ----------
    module : torch.nn.Module or torch.jit.ScriptModule
    max_denominator : int, optional
        Round the composed weights (change reported in ``net.rounding_error``).
    source : str, optional
        Name used in error messages (e.g. the file name).

    Examples
    --------
    >>> import torch
    >>> m = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.LeakyReLU(0.25),
    ...                         torch.nn.Linear(2, 1))
    >>> from_torch(m)
    Network(2-2-1, leaky_relu, alpha=1/4)
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise UnsupportedLayerError(f"expected a torch.nn.Module, got "
                                    f"{type(module).__name__}")
    src = source or type(module).__name__
    if hasattr(module, "polyrelu_spec"):
        return _from_polyrelu_module(module, max_denominator, src)
    kind = _kind(module)
    if kind in ("Sequential", "Linear") or (
            _is_script(module) and kind == "Sequential"):
        return _from_sequential(module, max_denominator, src)
    if _is_script(module):
        return _from_script_graph(module, max_denominator, src)
    return _from_fx(module, max_denominator, src)


def _first_in_features(mods, src: str) -> int:
    for name, m in mods:
        if _kind(m) == "Linear":
            return int(m.weight.shape[1])
        if _kind(m) not in ("Identity", "Flatten", "Dropout"):
            break
    raise UnsupportedLayerError(f"{src}: the first layer must be Linear (to know the "
                                f"input dimension)")


def _from_sequential(module, max_denominator, src) -> Network:
    mods = [("", module)] if _kind(module) == "Linear" else list(_flatten_sequential(module))
    if not mods:
        raise UnsupportedLayerError(f"{src}: empty Sequential")
    where = {"src": src, "name": ""}
    d0 = _first_in_features(mods, src)
    b = ChainBuilder(d0, lambda msg: ShapeError(
        f"{src}: layer {where['name']!r}: {msg}"))
    walker = _Walker(b, where)
    v = b.input()
    for name, m in mods:
        where["name"] = name
        v = walker.module(m, v, _kind(m))
    where["name"] = "output"
    return _finish(b, v, max_denominator)


def _finish(b: ChainBuilder, v: Value, max_denominator) -> Network:
    return b.finish(v, max_denominator)


_FX_INPLACE: dict = {}


def fx_trace(module):
    """``torch.fx`` GraphModule of ``module`` that keeps Python's in-place
    operators.

    ``fx.symbolic_trace`` records ``u += h`` as ``u = u + h`` (its Proxy has no
    ``__iadd__``), but on tensors ``+=`` mutates ``u`` -- and every other name
    for that tensor.  This tracer records ``operator.iadd`` (``isub``, ``imul``,
    ``itruediv``, ``ifloordiv``) nodes so that a reader can follow the
    mutation.  Tracing errors propagate (the callers name the module).
    """
    import torch.fx as fx

    if not _FX_INPLACE:
        def inplace(op):
            def method(self, other):
                return self.tracer.create_proxy("call_function", op, (self, other), {})
            return method

        proxy = type("InplaceProxy", (fx.Proxy,), {
            f"__{op.__name__}__": inplace(op) for op in (
                operator.iadd, operator.isub, operator.imul, operator.itruediv,
                operator.ifloordiv)})

        class InplaceTracer(fx.Tracer):
            def proxy(self, node):
                return proxy(node, self)

        _FX_INPLACE["tracer"] = InplaceTracer
    tracer = _FX_INPLACE["tracer"]()
    graph = tracer.trace(module)
    return fx.GraphModule(tracer.root, graph, type(module).__name__)


def _flag(node, pos: int, name: str, default: bool, src: str) -> bool:
    """A boolean argument (``inplace=``) of an fx call, which must be a constant."""
    v = node.args[pos] if len(node.args) > pos else node.kwargs.get(name, default)
    if not isinstance(v, bool):
        raise UnsupportedLayerError(f"{src}: {node.name!r}: {name}={v!r} is not a "
                                    f"constant boolean")
    return v


def _from_fx(module, max_denominator, src) -> Network:
    torch = _torch()
    import torch.fx as fx
    import torch.nn.functional as F

    try:
        gm = fx_trace(module)
    except Exception as e:
        raise UnsupportedLayerError(
            f"{src}: torch.fx cannot trace module {type(module).__name__} "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
            f"use an nn.Sequential or a traceable module of: {_supported()}") from None
    mods = dict(gm.named_modules())
    where = {"src": src, "name": ""}
    d0 = None
    # The input dimension is the in_features of the first Linear reached.
    for node in gm.graph.nodes:
        if node.op == "call_module" and _kind(mods[node.target]) == "Linear":
            d0 = int(mods[node.target].weight.shape[1])
            break
        if node.op == "call_function" and node.target is F.linear:
            w = node.args[1] if len(node.args) > 1 else node.kwargs.get("weight")
            if getattr(w, "op", None) == "get_attr":
                d0 = int(_get_attr(gm, w.target).shape[1])
                break
    if d0 is None:
        raise UnsupportedLayerError(f"{src}: no Linear layer found")
    b = ChainBuilder(d0, lambda msg: ShapeError(
        f"{src}: layer {where['name']!r}: {msg}"))
    walker = _Walker(b, where)
    env: dict[Any, Any] = {}     # fx node -> Value (or the _SHAPE marker)
    consts: dict[Any, Any] = {}  # get_attr node -> its tensor
    # in-place ops change a tensor under all its names (the same fx node, an
    # in-place op's result, nn.Identity's output): nodes are read in execution
    # order and an in-place op rebinds its target for all later uses
    aliases = Aliases()
    placeholders = 0
    out_value = None
    arith = _Arith(b, src)
    adds = {operator.add, torch.add, operator.iadd}
    subs = {operator.sub, torch.sub, torch.subtract, operator.isub}
    muls = {operator.mul, torch.mul, torch.multiply, operator.imul}
    divs = {operator.truediv, torch.div, torch.divide, torch.true_divide,
            operator.itruediv}
    negs = {operator.neg, torch.neg, torch.negative}
    inplace_ops = {operator.iadd, operator.isub, operator.imul, operator.itruediv}
    # function -> (layer kind, position of its inplace= argument or True if
    # the function always works in place)
    acts: dict[Any, tuple[str, Any]] = {
        F.relu: ("ReLU", 1), torch.relu: ("ReLU", None), torch.relu_: ("ReLU", True),
        F.leaky_relu: ("LeakyReLU", 2), F.leaky_relu_: ("LeakyReLU", True),
        F.hardtanh: ("Hardtanh", 3), F.hardtanh_: ("Hardtanh", True),
        torch.flatten: ("Flatten", None), F.dropout: ("Dropout", None)}
    methods = {"add": "add", "add_": "add", "sub": "sub", "sub_": "sub",
               "mul": "mul", "mul_": "mul", "div": "div", "div_": "div",
               "neg": "neg", "neg_": "neg"}

    def arith_op(kind: str, node) -> Value:
        """+ - * / neg of values and constants (J&V eq. 46 skips when adding)."""
        where = repr(node.name)
        args = [arg(a, const_ok=True) for a in node.args]
        kw = node.kwargs
        if any(isinstance(a, fx.Node) for a in kw.values() if a is not None):
            raise arith.refuse(where, "keyword arguments computed in the graph")
        if "out" in kw:
            raise arith.refuse(where, "out= is not supported")
        if kind == "neg":
            if not isinstance(args[0], Value):
                raise arith.refuse(where, "negating a constant")
            return arith.scale(args[0], Fraction(-1), where)
        x, y = args[0], args[1] if len(args) > 1 else kw.get("other")
        if kind == "add":
            return arith.add(x, y, args[2] if len(args) > 2 else kw.get("alpha"), where)
        if kind == "sub":
            alpha = _number(args[2] if len(args) > 2 else kw.get("alpha", 1))
            if alpha is None:
                raise arith.refuse(where, "alpha is not a numeric constant")
            return arith.add(x, y, -alpha, where)
        if kind == "mul":
            return arith.mul(x, y, where)
        return arith.div(x, y, where, kw.get("rounding_mode"))

    def arg(a, const_ok: bool = False):
        if isinstance(a, fx.Node) and a in consts:
            if not const_ok:
                raise UnsupportedLayerError(
                    f"{src}: layer {where['name']!r} uses the constant {a.name!r} where "
                    f"a value computed from the input is needed")
            return consts[a]
        if isinstance(a, fx.Node) and aliases.stale(a) is not None:
            raise UnsupportedLayerError(f"{src}: {where['name']!r}: " + inplace_view_error(
                repr(aliases.stale(a)), repr(a.name)))
        if isinstance(a, fx.Node) and env.get(a) is _SHAPE:
            raise UnsupportedLayerError(
                f"{src}: {where['name']!r}: tensor sizes may only be used to reshape")
        if isinstance(a, fx.Node):
            if a not in env:
                raise UnsupportedLayerError(
                    f"{src}: layer {where['name']!r} uses {a.name!r}, which is not "
                    f"computed from the input (constants enter only as Linear "
                    f"parameters or as operands of + - * /)")
            return env[a]
        return a

    def mutated(node, result: Value) -> Value:
        """In-place op ``node`` turned its first argument into ``result``."""
        target = node.args[0] if node.args else None
        if not isinstance(target, fx.Node) or target in consts:
            raise UnsupportedLayerError(f"{src}: {where['name']!r}: an in-place operation "
                                        f"on a constant")
        for k in aliases.mutate(target, where["name"]):
            env[k] = result
        aliases.same(node, target)
        return result

    def alias(node, how: str):
        src_node = node.args[0] if node.args else None
        if isinstance(src_node, fx.Node):
            (aliases.same if how == "same" else aliases.view)(node, src_node)

    for node in gm.graph.nodes:
        where["name"] = str(node.target) if node.op == "call_module" else node.name
        if node.op == "placeholder":
            placeholders += 1
            if placeholders > 1:
                raise UnsupportedLayerError(f"{src}: forward takes more than one input")
            env[node] = b.input()
        elif node.op == "call_module":
            m = mods[node.target]
            kind = _kind(m)
            env[node] = walker.module(m, arg(node.args[0]), kind)
            if kind in ("Identity", "Dropout"):
                alias(node, "same")     # (eval) dropout returns its input tensor
            elif kind == "Flatten":
                alias(node, "view")
            elif kind in ("ReLU", "LeakyReLU", "Hardtanh") and getattr(m, "inplace",
                                                                        False):
                mutated(node, env[node])
        elif node.op == "call_function" and node.target is operator.pos:
            env[node] = arg(node.args[0])
            alias(node, "same")
        elif node.op == "call_function" and any(
                node.target in ops for ops in (adds, subs, muls, divs, negs)):
            kind = ("add" if node.target in adds else "sub" if node.target in subs
                    else "mul" if node.target in muls else "div" if node.target in divs
                    else "neg")
            env[node] = arith_op(kind, node)
            if node.target in inplace_ops and isinstance(node.args[0], fx.Node):
                mutated(node, env[node])     # u += h on a tensor changes u
        elif node.op == "call_function" and node.target in acts:
            kind, ip = acts[node.target]
            x = arg(node.args[0])
            inplace = ip is True or (isinstance(ip, int) and _flag(
                node, ip, "inplace", False, src))
            if kind == "Dropout":
                p = node.args[1] if len(node.args) > 1 else node.kwargs.get("p", 0.5)
                tr = node.args[2] if len(node.args) > 2 else node.kwargs.get("training",
                                                                              True)
                _check_dropout(p, tr, f"{src}: {node.name!r}")
                env[node] = x
                alias(node, "same")
            elif kind == "ReLU":
                env[node] = b.activate(x, "relu", None, repr(node.name))
            elif kind == "LeakyReLU":
                slope = node.args[1] if len(node.args) > 1 else node.kwargs.get(
                    "negative_slope", 0.01)
                env[node] = b.activate(x, "leaky_relu",
                                       to_fraction(float(slope), "negative_slope"),
                                       repr(node.name))
            elif kind == "Hardtanh":
                lo = node.args[1] if len(node.args) > 1 else node.kwargs.get("min_val", -1.0)
                hi = node.args[2] if len(node.args) > 2 else node.kwargs.get("max_val", 1.0)
                if float(lo) != -1.0 or float(hi) != 1.0:
                    raise UnsupportedLayerError(f"{src}: {node.name!r}: hardtanh({lo}, "
                                                f"{hi}); only (-1, 1) is supported")
                env[node] = b.activate(x, "hard_tanh", None, repr(node.name))
            else:
                env[node] = x
                alias(node, "view")
            if inplace and kind != "Dropout":
                mutated(node, env[node])
        elif node.op == "call_function" and node.target is F.linear:
            x = arg(node.args[0])
            w = node.args[1] if len(node.args) > 1 else node.kwargs.get("weight")
            bias = node.args[2] if len(node.args) > 2 else node.kwargs.get("bias")
            if getattr(w, "op", None) != "get_attr" or (
                    bias is not None and getattr(bias, "op", None) != "get_attr"):
                raise UnsupportedLayerError(f"{src}: {node.name!r}: F.linear needs "
                                            f"parameter weights")
            W = _tensor_q(_get_attr(gm, w.target), f"{src}: {node.name} weight")
            bq = None if bias is None else _tensor_q(_get_attr(gm, bias.target),
                                                     f"{src}: {node.name} bias")
            env[node] = b.linear(x, W, bq)
        elif (node.op == "call_method" and node.target in ("size", "dim")) or (
                node.op == "call_function" and (
                    (node.target is getattr and node.args[1:2] == ("shape",)) or
                    (node.target is operator.getitem and env.get(node.args[0]) is _SHAPE))):
            # x.size(0), x.shape[0]: shape bookkeeping for view/reshape (batch size).
            env[node] = _SHAPE
        elif node.op == "call_method" and node.target in methods:
            env[node] = arith_op(methods[node.target], node)
            if node.target.endswith("_"):
                mutated(node, env[node])
        elif node.op == "call_method" and node.target in ("relu", "relu_", "flatten",
                                                            "view", "reshape",
                                                            "contiguous", "clone",
                                                            "detach"):
            x = arg(node.args[0])
            if node.target in ("relu", "relu_"):
                env[node] = b.activate(x, "relu", None, repr(node.name))
                if node.target == "relu_":
                    mutated(node, env[node])
            elif node.target == "clone":
                env[node] = x           # a copy: a fresh tensor, no alias
            else:
                # flatten/view/reshape keep a single sample's features in order;
                # the exact network treats them as the identity on that vector
                # (they share the memory of their input: a view)
                env[node] = x
                alias(node, "view")
        elif node.op == "output":
            out = node.args[0]
            if not isinstance(out, fx.Node):
                raise UnsupportedLayerError(f"{src}: forward must return one tensor")
            out_value = arg(out)
        elif node.op == "get_attr":
            # a buffer or parameter used outside a Linear (e.g. x - self.mean)
            consts[node] = _get_attr(gm, node.target)
        else:
            what = getattr(node.target, "__name__", str(node.target))
            raise UnsupportedLayerError(
                f"{src}: operation {what!r} ({node.op}) at {node.name!r} is not "
                f"supported; supported: {_supported()}, F.relu, F.leaky_relu, "
                f"F.hardtanh, F.linear, F.dropout (eval), + - * / neg, in-place "
                f"versions (+=, mul_, relu_, inplace=True)")
    if out_value is None:  # pragma: no cover - fx graphs always have an output
        raise UnsupportedLayerError(f"{src}: no output")
    where["name"] = "output"
    return _finish(b, out_value, max_denominator)


_SHAPE = object()      # marker for x.size()/x.shape values in fx graphs


def _from_script_graph(module, max_denominator, src) -> Network:
    """Read a TorchScript module from its inlined graph (see TORCHSCRIPT_OPS)."""
    torch = _torch()
    try:
        graph = module.inlined_graph
    except Exception as e:     # pragma: no cover - every ScriptModule has a graph
        raise UnsupportedLayerError(f"{src}: cannot read the TorchScript graph "
                                    f"({type(e).__name__}: {e})") from None
    inputs = list(graph.inputs())
    if len(inputs) != 2:
        raise UnsupportedLayerError(f"{src}: forward takes {len(inputs) - 1} inputs; "
                                    f"exactly one is supported")
    env: dict[Any, Any] = {inputs[0]: module}
    # in-place ops (aten::add_, relu_, ...) change a tensor under all its
    # names: later uses of the mutated TorchScript value see the op's result
    aliases = Aliases()
    supported = ", ".join(TORCHSCRIPT_OPS)
    where = {"node": "input"}
    b_box: dict[str, ChainBuilder] = {}

    def node_name(node) -> str:
        outs = list(node.outputs())
        return f"{node.kind()} (%{outs[0].debugName()})" if outs else node.kind()

    def refuse(msg: str) -> UnsupportedLayerError:
        return UnsupportedLayerError(f"{src}: TorchScript node {where['node']}: {msg}; "
                                     f"supported: {supported}")

    def val(v):
        if v not in env:
            raise refuse(f"input %{v.debugName()} is not available")
        if aliases.stale(v) is not None:
            raise refuse(inplace_view_error(aliases.stale(v), f"%{v.debugName()}"))
        x = env[v]
        if isinstance(x, _Pending) and "b" in b_box:
            return x.build(b_box["b"])
        return x

    def tensor(v, what):
        t = val(v)
        if not isinstance(t, torch.Tensor):
            raise refuse(f"{what} must be a parameter tensor")
        return t

    # The input dimension is known at the first matrix (or per-feature
    # constant) reached; until then the input, its views and elementwise
    # constant arithmetic on it are a _Pending recipe, replayed on the builder.
    env[inputs[1]] = _Pending(lambda b: b.input())

    def builder(d0: int) -> ChainBuilder:
        if "b" not in b_box:
            b_box["b"] = ChainBuilder(d0, lambda msg: ShapeError(
                f"{src}: TorchScript node {where['node']}: {msg}"))
        return b_box["b"]

    def run_block(nodes) -> None:
        for node in nodes:
            run_node(node)

    def run_node(node) -> None:
        compute(node)
        if not node.kind().startswith("aten::"):
            return
        # aliasing from the op's schema: ``Tensor(a!) self`` is changed in
        # place, ``-> Tensor(a)`` is a view of the argument annotated (a)
        ins, outs = list(node.inputs()), list(node.outputs())
        writes, view_of = _schema_alias(node)
        if writes:
            if writes != [0]:
                raise refuse("writing into an out= argument is not supported")
            for k in aliases.mutate(ins[0], where["node"]):
                env[k] = env[outs[0]]
            aliases.same(outs[0], ins[0])
        elif node.kind() in ("aten::dropout", "aten::feature_dropout"):
            aliases.same(outs[0], ins[0])       # eval dropout returns its input
        elif view_of is not None:
            aliases.view(outs[0], ins[view_of])

    def compute(node) -> None:
        kind = node.kind()
        where["node"] = node_name(node)
        outs = list(node.outputs())
        ins = list(node.inputs())
        if kind == "prim::Constant":
            try:
                env[outs[0]] = outs[0].toIValue()
            except Exception:
                env[outs[0]] = None       # function constants: unused values
            return
        if kind == "prim::GetAttr":
            obj = val(ins[0])
            try:
                env[outs[0]] = getattr(obj, node.s("name"))
            except AttributeError:
                raise refuse(f"attribute {node.s('name')!r} not found") from None
            return
        if kind == "prim::If":
            cond = val(ins[0])
            if not isinstance(cond, bool):
                raise refuse("the condition depends on the input (data-dependent "
                             "control flow)")
            blk = list(node.blocks())[0 if cond else 1]
            run_block(blk.nodes())
            for o, r in zip(outs, blk.returnNode().inputs()):
                env[o] = val(r)
                aliases.same(o, r)
            return
        if kind == "prim::Uninitialized":      # placeholder of early returns
            env[outs[0]] = None
            return
        if kind == "prim::ListConstruct":
            env[outs[0]] = [val(i) for i in ins]
            return
        if kind in ("prim::NumToTensor", "aten::Int", "aten::size", "prim::shape",
                    "aten::ScalarImplicit"):
            env[outs[0]] = _SHAPE if any(val(i) is _SHAPE or isinstance(val(i), Value)
                                         for i in ins) else val(ins[0])
            return
        if kind == "prim::RaiseException":
            raise refuse("the module raises an exception for this input")
        args = [val(i) for i in ins]
        if kind in _VIEWS and args and isinstance(args[0], _Pending):
            env[outs[0]] = args[0]          # flatten / view of the pending input
            return
        if kind.startswith("aten::") and kind not in _LINEAR and \
                not any(isinstance(a, (Value, _Pending)) for a in args):
            # constants only; the builder (and so the input dimension) starts at
            # the first linear layer reached
            env[outs[0]] = _python_op(kind, args, refuse)
            return
        if kind in _LINEAR:
            if kind == "aten::addmm":       # beta * C + alpha * (x @ M)
                C, x, M = ins[0], ins[1], ins[2]
                beta = _number(args[3]) if len(args) > 3 else Fraction(1)
                alpha = _number(args[4]) if len(args) > 4 else Fraction(1)
                if alpha is None or beta is None:
                    raise refuse("alpha and beta must be numeric constants")
                Wt = tensor(M, "the matrix").t()
                bias = tensor(C, "the bias")
            else:
                x = ins[0]
                if kind == "aten::linear":
                    Wt = tensor(ins[1], "the weight")
                    bias = None if args[2] is None else tensor(ins[2], "the bias")
                else:
                    Wt = tensor(ins[1], "the right factor").t()
                    bias = None
                alpha = beta = Fraction(1)
            if Wt.dim() != 2:
                raise refuse(f"a weight of shape {tuple(Wt.shape)} is not a matrix")
            lb = builder(int(Wt.shape[1]))
            v = val(x)
            if isinstance(v, _Pending):
                v = v.build(lb)
            if not isinstance(v, Value):
                raise refuse("the left operand must be computed from the input")
            W = _tensor_q(Wt, f"{src}: {where['node']} weight")
            if alpha != 1:
                W = [[q(alpha) * w for w in row] for row in W]
            bq = None
            if bias is not None:
                if bias.dim() > 1:
                    bias = bias.reshape(-1)
                bq = _tensor_q(bias, f"{src}: {where['node']} bias")
                if beta != 1:
                    bq = [q(beta) * c for c in bq]
            env[outs[0]] = lb.linear(v, W, bq)
            return
        b = b_box.get("b")
        w = node_name(node)
        if b is None and kind in _ELEMENTWISE:
            n = next((int(a.shape[-1]) for a in args if isinstance(a, torch.Tensor)
                      and a.numel() > 1 and a.dim() >= 1), None)
            if n is None:
                # x * 2, x - 1 before the first matrix: replay later
                def replay(b2: ChainBuilder, args: list = args, kind: str = kind,
                           w: str = w) -> Value:
                    return arith_node(b2, kind, [a.build(b2) if isinstance(a, _Pending)
                                                 else a for a in args], w)
                env[outs[0]] = _Pending(replay)
                return
            b = builder(n)      # a per-feature constant fixes the input dimension
        if b is None:
            raise refuse("the first operation on the input must be a linear layer or "
                         "elementwise arithmetic with constants (to know the input "
                         "dimension)")
        args = [a.build(b) if isinstance(a, _Pending) else a for a in args]
        env[outs[0]] = arith_node(b, kind, args, w)

    def arith_node(b: ChainBuilder, kind: str, args: list, w: str) -> Value:
        """The non-matrix ops on computed values (the input's dimension known)."""
        here, where["node"] = where["node"], w     # a replayed op names itself
        try:
            return _arith_node(b, kind, args, w)
        finally:
            where["node"] = here

    def _arith_node(b: ChainBuilder, kind: str, args: list, w: str) -> Value:
        arith = _Arith(b, src)
        x = args[0]
        out: Value
        if kind in ("aten::relu", "aten::relu_"):
            out = b.activate(x, "relu", None, w)
        elif kind in ("aten::leaky_relu", "aten::leaky_relu_"):
            slope = _number(args[1]) if len(args) > 1 else Fraction(0.01)
            out = b.activate(x, "leaky_relu", slope, w)
        elif kind in ("aten::hardtanh", "aten::hardtanh_"):
            lo = _number(args[1]) if len(args) > 1 else -1
            hi = _number(args[2]) if len(args) > 2 else 1
            if (lo, hi) != (-1, 1):
                raise refuse(f"hardtanh({lo}, {hi}); only (-1, 1) is supported")
            out = b.activate(x, "hard_tanh", None, w)
        elif kind in ("aten::add", "aten::add_"):
            out = arith.add(x, args[1], args[2] if len(args) > 2 else None, w)
        elif kind in ("aten::sub", "aten::sub_", "aten::rsub"):
            alpha = _number(args[2]) if len(args) > 2 else Fraction(1)
            if alpha is None:
                raise refuse("alpha is not a numeric constant")
            if kind == "aten::rsub":        # other - alpha * self
                out = arith.add(args[1], x, -alpha, w)
            else:
                out = arith.add(x, args[1], -alpha, w)
        elif kind in ("aten::mul", "aten::mul_"):
            out = arith.mul(x, args[1], w)
        elif kind in ("aten::div", "aten::div_"):
            out = arith.div(x, args[1], w, args[2] if len(args) > 2 else None)
        elif kind in ("aten::neg", "aten::neg_"):
            out = arith.scale(x, Fraction(-1), w)
        elif kind in ("aten::dropout", "aten::dropout_", "aten::feature_dropout"):
            _check_dropout(args[1], args[2], f"{src}: TorchScript node {w}")
            out = x
        elif kind in _VIEWS:
            if kind == "aten::flatten" and isinstance(args[1], int) and args[1] == 0:
                raise refuse("flatten(start_dim=0) flattens the batch")
            # one sample's features in order: the identity (as for torch.fx)
            out = x
        else:
            raise refuse("this operation is not supported")
        return out

    try:
        run_block(graph.nodes())
    except PolyreluError:
        raise
    except (AttributeError, IndexError, KeyError, RuntimeError, TypeError,
            ValueError) as e:
        # an operation with an unexpected signature: say which one
        raise refuse(f"cannot read this node ({type(e).__name__}: "
                     f"{str(e).splitlines()[0] if str(e) else ''})") from None
    ret = list(graph.return_node().inputs())
    if len(ret) == 1 and isinstance(env.get(ret[0]), _Pending) and "b" not in b_box:
        raise UnsupportedLayerError(f"{src}: no linear layer (aten::linear / matmul) or "
                                    f"per-feature constant fixes the input dimension")
    if len(ret) != 1 or not isinstance(val(ret[0]) if ret[0] in env else None, Value):
        raise UnsupportedLayerError(f"{src}: the TorchScript forward must return one "
                                    f"tensor computed from the input")
    b = b_box["b"]
    where["node"] = "output"
    return b.finish(val(ret[0]), max_denominator)


class _Pending:
    """A TorchScript value computed from the input before its dimension is
    known: ``build(builder)`` replays it (the input, its views, elementwise
    arithmetic with numbers) once the first matrix fixes the dimension."""

    __slots__ = ("build",)

    def __init__(self, build: Callable[[ChainBuilder], Value]) -> None:
        self.build = build


# the ops of arith_node: before the first matrix they are replayed later
_ELEMENTWISE = ("aten::add", "aten::add_", "aten::sub", "aten::sub_", "aten::rsub",
                "aten::mul", "aten::mul_", "aten::div", "aten::div_", "aten::neg",
                "aten::neg_", "aten::relu", "aten::relu_", "aten::leaky_relu",
                "aten::leaky_relu_", "aten::hardtanh", "aten::hardtanh_",
                "aten::dropout", "aten::dropout_", "aten::feature_dropout")
_LINEAR = ("aten::linear", "aten::matmul", "aten::mm", "aten::addmm")
_VIEWS = ("aten::flatten", "aten::view", "aten::reshape", "aten::contiguous",
          "aten::detach", "aten::clone")


def _schema_alias(node) -> tuple[list, int | None]:
    """``(inputs the op writes, input its result is a view of)`` from the alias
    annotations of a TorchScript node's schema (none for prim:: nodes)."""
    torch = _torch()
    try:
        schema = torch._C.parse_schema(node.schema())
    except Exception:       # "(no schema)"
        return [], None
    writes: list[int] = []
    sets: dict[str, int] = {}
    for j, a in enumerate(schema.arguments):
        info = a.alias_info
        if info is not None:
            if info.is_write:
                writes.append(j)
            for name in info.before_set:
                sets.setdefault(name, j)
    view_of = None
    if schema.returns and schema.returns[0].alias_info is not None:
        view_of = next((sets[n] for n in schema.returns[0].alias_info.before_set
                        if n in sets), None)
    return writes, view_of


def _python_op(kind: str, args: list, refuse):
    """Constant (non-tensor-valued) TorchScript ops: comparisons and booleans on
    attributes, as in scripted ``if self.kind == ...`` or dropout's p check."""
    import operator as op

    if kind == "aten::t" and len(args) == 1 and hasattr(args[0], "t"):
        return args[0].t()      # W.t() of a parameter (x @ W.t() in traces)
    table: dict[str, Callable[..., Any]] = {
        "aten::eq": op.eq, "aten::ne": op.ne, "aten::lt": op.lt, "aten::gt": op.gt,
        "aten::le": op.le, "aten::ge": op.ge, "aten::__not__": op.not_,
        "aten::__and__": op.and_, "aten::__or__": op.or_,
        "aten::__is__": op.is_, "aten::__isnot__": op.is_not}
    if kind in table and not any(a is _SHAPE for a in args):
        try:
            return table[kind](*args)
        except TypeError:
            pass
    if any(a is _SHAPE for a in args):
        return _SHAPE
    raise refuse("an operation on constants that is not read (only comparisons and "
                 "boolean operations on attributes)")


def _get_attr(gm, target: str):
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


# ------------------------------------------------------------------ export
def _spec_string(net: Network) -> str:
    skips = ";".join(f"{t}:{','.join(str(s) for s in src)}" for t, src in net.skips)
    spec = f"{net.activation}|{net.alpha}|{skips}"
    # a fourth field marks the input map (inmap[0] computes nu_0 = A t + a)
    return spec + "|inmap" if net.input_map is not None else spec


def _parse_spec(spec: str, src: str):
    try:
        parts = spec.split("|")
        if len(parts) == 4 and parts[3] == "inmap":
            parts = parts[:3]
            inmap = True
        else:
            inmap = False
        activation, alpha, skips = parts
        sk = {}
        for part in filter(None, skips.split(";")):
            t, s = part.split(":")
            sk[int(t)] = [int(x) for x in s.split(",")]
        return activation, to_fraction(alpha, "polyrelu_spec alpha"), sk, inmap
    except (ValueError, PolyreluError):
        raise ModelFileError(f"{src}: malformed polyrelu_spec {spec!r}") from None


def _make_module_class():
    torch = _torch()
    nn = torch.nn

    class PolyreluTorchNet(nn.Module):
        """Float64 module with skips: ``u_l = nu_{l-1} + sum_k nu_k`` (J&V eq. 46)."""

        def __init__(self, linears, activation: str, alpha: float,
                     skips: dict, spec: str, inmap=()):
            super().__init__()
            self.linears = nn.ModuleList(linears)
            # nu_0 = A t + a when the network has an input map (else empty)
            self.inmap = nn.ModuleList(list(inmap))
            self.act = activation
            self.alpha = alpha
            self.polyrelu_spec = spec
            self.skip_from = [list(skips.get(l, ())) for l in range(1, len(linears) + 1)]

        def forward(self, x):
            for m in self.inmap:
                x = m(x)
            nus = [x]
            h = x
            n = len(self.linears)
            for l, lin in enumerate(self.linears):
                u = nus[-1]
                for s in self.skip_from[l]:
                    u = u + nus[s]
                h = lin(u)
                if l < n - 1:
                    if self.act == "relu":
                        h = torch.relu(h)
                    elif self.act == "leaky_relu":
                        h = torch.nn.functional.leaky_relu(h, self.alpha)
                    else:
                        h = torch.nn.functional.hardtanh(h, -1.0, 1.0)
                    nus.append(h)
            return h

    # Real types (not strings from ``from __future__ import annotations``) so
    # that torch.jit.script can type the attributes, including empty lists.
    PolyreluTorchNet.__annotations__ = {"polyrelu_spec": str,
                                        "skip_from": typing.List[typing.List[int]],
                                        "act": str, "alpha": float}
    return PolyreluTorchNet


_CLASS: Any = None


def __getattr__(name: str):
    # PolyreluTorchNet is created lazily so that torch is imported only on use.
    if name == "PolyreluTorchNet":
        global _CLASS
        if _CLASS is None:
            _CLASS = _make_module_class()
        return _CLASS
    raise AttributeError(name)


def to_torch(net: Network):
    """An equivalent float64 ``torch.nn.Module`` (float: non-dyadic weights round).

    ``nn.Sequential`` of ``Linear`` + activation without skips; a small
    ``PolyreluTorchNet`` (skips and an input map in its
    ``polyrelu_spec``) otherwise.

    >>> from polyrelu import Network
    >>> to_torch(Network.from_weights([([[1, 2]], [0]), ([[1]], [1])]))
    Sequential(
      (0): Linear(in_features=2, out_features=1, bias=True)
      (1): ReLU()
      (2): Linear(in_features=1, out_features=1, bias=True)
    )
    """
    torch = _torch()
    nn = torch.nn

    def linear(W, b, what):
        lin = nn.Linear(len(W[0]), len(W), dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(export_rows(W, f"{what} weight"),
                                          dtype=torch.float64))
            lin.bias.copy_(torch.tensor([export_float(v, f"{what} bias row {i}")
                                         for i, v in enumerate(b, 1)],
                                        dtype=torch.float64))
        return lin

    alpha = export_float(net.alpha, "the leaky ReLU slope alpha")
    linears = [linear(layer.W, layer.b, f"layer {l}")
               for l, layer in enumerate(net.layers, start=1)]
    if net.skips:
        cls = __getattr__("PolyreluTorchNet")
        inmap = () if net.input_map is None else (linear(*net.input_map, "input map"),)
        m = cls(linears, net.activation, alpha, net.skip_sources,
                _spec_string(net), inmap)
        return m.eval()

    def act():
        if net.activation == "relu":
            return nn.ReLU()
        if net.activation == "leaky_relu":
            return nn.LeakyReLU(alpha)
        return nn.Hardtanh(-1.0, 1.0)

    mods: list = []
    for i, lin in enumerate(linears):
        mods.append(lin)
        if i < len(linears) - 1:
            mods.append(act())
    return nn.Sequential(*mods).eval()


def _from_polyrelu_module(module, max_denominator, src) -> Network:
    activation, alpha, skips, has_inmap = _parse_spec(str(module.polyrelu_spec), src)
    from ..linalg import mpq_to_fraction

    input_map = None
    if has_inmap:
        maps = sorted(module.inmap.named_children(), key=lambda t: int(t[0]))
        if len(maps) != 1:
            raise ModelFileError(f"{src}: polyrelu_spec names an input map but the "
                                 f"module has {len(maps)}")
        lin = maps[0][1]
        A = _tensor_q(lin.weight, f"{src}: inmap.0.weight")
        a = _tensor_q(lin.bias, f"{src}: inmap.0.bias")
        input_map = ([[mpq_to_fraction(x) for x in row] for row in A],
                     [mpq_to_fraction(x) for x in a])
    layers = []
    # named_children works for eager and loaded TorchScript ModuleLists alike.
    children = sorted(module.linears.named_children(), key=lambda t: int(t[0]))
    for i, (_, lin) in enumerate(children):
        W = _tensor_q(lin.weight, f"{src}: linears.{i}.weight")
        b = _tensor_q(lin.bias, f"{src}: linears.{i}.bias")
        layers.append((W, b))
    try:
        return Network.from_weights(
            [([[mpq_to_fraction(x) for x in row] for row in W],
              [mpq_to_fraction(x) for x in b]) for W, b in layers],
            skips=skips or None, activation=activation,
            alpha=alpha if activation == "leaky_relu" else None,
            max_denominator=max_denominator, input_map=input_map)
    except PolyreluError as e:
        raise type(e)(f"{src}: {e}") from None


def save_torchscript(net: Network, path: Any) -> None:
    """Write a float64 TorchScript archive of :func:`to_torch` (float, not exact
    for non-dyadic weights)."""
    torch = _torch()
    path = os.fspath(path)
    scripted = torch.jit.script(to_torch(net))
    try:
        torch.jit.save(scripted, path)
    except (OSError, RuntimeError) as e:   # torch reports open failures as RuntimeError
        raise ModelFileError(f"{path}: cannot write: "
                             f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
                             ) from None


# ------------------------------------------------------------------ files
def from_state_dict(state: Any, arch: str, max_denominator: int | None = None,
                    source: str = "<state dict>") -> Network:
    """Network of a state dict of ``nn.Sequential(Linear, ReLU, ..., Linear)``
    with architecture ``arch`` (e.g. ``"2-16-16-1"``).

    >>> import torch
    >>> seq = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(),
    ...                           torch.nn.Linear(3, 1))
    >>> from_state_dict(seq.state_dict(), "2-3-1") == from_torch(seq)
    True
    """
    torch = _torch()
    try:
        widths = [int(w) for w in str(arch).split("-")]
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError
    except ValueError:
        raise ModelFileError(f"{source}: bad architecture {arch!r}; expected widths "
                             f"like '2-16-16-1'") from None
    if not isinstance(state, dict):
        raise ModelFileError(f"{source}: expected a state dict (a dict of tensors), "
                             f"got {type(state).__name__}")
    mods = []
    for a, c in zip(widths[:-1], widths[1:]):
        mods += [torch.nn.Linear(a, c), torch.nn.ReLU()]
    seq = torch.nn.Sequential(*mods[:-1])
    bad = next((k for k in state if not isinstance(k, str)), None)
    if bad is not None:
        raise ModelFileError(f"{source}: the state dict has the key {bad!r} "
                             f"({type(bad).__name__}); its keys must be str parameter "
                             f"names like '0.weight'")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    try:
        seq.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).splitlines()
        raise ModelFileError(f"{source}: the state dict does not fit architecture "
                             f"{arch} (nn.Sequential of Linear/ReLU with keys "
                             f"'0.weight', '0.bias', '2.weight', ...): "
                             f"{' '.join(x.strip() for x in first[:3])}") from None
    return from_torch(seq, max_denominator=max_denominator, source=source)


def _archive_kind(path: str) -> str:
    """``"script"`` (a TorchScript archive: it holds code), ``"pickle"`` (a
    ``torch.save`` zip: data only) or ``"other"``."""
    import zipfile

    try:
        if not zipfile.is_zipfile(path):
            return "other"
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (OSError, zipfile.BadZipFile):
        return "other"
    if any("/code/" in n or n.endswith("/constants.pkl") for n in names):
        return "script"
    if any(n.endswith("/data.pkl") for n in names):
        return "pickle"
    return "other"


def _first_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


def load_torch_file(path: Any, arch: str | None = None,
                    max_denominator: int | None = None) -> Network:
    """Read a TorchScript archive, or a state dict when ``arch`` is given.

    A TorchScript archive states its own architecture: with ``arch`` it is
    read as such and ``arch`` is checked against it.  A whole module pickled
    with ``torch.save(model)`` is refused with a clear message (unpickling
    runs arbitrary code); save ``torch.jit.script(model)`` or the state dict.
    """
    import warnings

    torch = _torch()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError(f"model file not found: {path}")
    kind = _archive_kind(path)
    if arch is not None and kind != "script":
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")     # torch's notes go to the user as errors
                state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:
            if kind == "pickle" and "weights_only" in str(e):
                raise ModelFileError(_pickled_module_message(path)) from None
            raise ModelFileError(f"{path}: cannot read a torch state dict (malformed "
                                 f"or truncated): {_first_line(e)}") from None
        if isinstance(state, dict) and "state_dict" in state and isinstance(
                state["state_dict"], dict):
            state = state["state_dict"]
        return _file_errors(path, lambda: from_state_dict(state, arch, max_denominator,
                                                          source=path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = torch.jit.load(path, map_location="cpu")
    except Exception as e:
        if kind == "pickle":
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    state = torch.load(path, map_location="cpu", weights_only=True)
            except Exception:
                raise ModelFileError(_pickled_module_message(path)) from None
            raise ModelFileError(f"{path}: a torch.save file of {type(state).__name__}, "
                                 f"not a TorchScript archive: if it is a state dict, "
                                 f"pass its architecture (arch='2-16-16-1' / --arch "
                                 f"2-16-16-1)") from None
        raise ModelFileError(f"{path}: not a readable TorchScript archive (malformed "
                             f"or truncated): {_first_line(e)}") from None
    net = _file_errors(path, lambda: from_torch(module, max_denominator=max_denominator,
                                                source=path))
    if arch is not None and net.architecture != str(arch).strip():
        raise ModelFileError(f"{path}: a TorchScript archive of architecture "
                             f"{net.architecture}, not the --arch {arch} given")
    return net


def _pickled_module_message(path: str) -> str:
    return (f"{path}: a whole torch object pickled with torch.save (not a state dict "
            f"or TorchScript archive); unpickling it would run arbitrary code, so it "
            f"is not read: save torch.jit.script(model) or model.state_dict() (read "
            f"with --arch) instead")


def _file_errors(path: str, build):
    """Bad numbers or shapes read from a file are a :class:`ModelFileError`
    naming the file (unsupported layers stay :class:`UnsupportedLayerError`)."""
    try:
        return build()
    except (ModelFileError, UnsupportedLayerError):
        raise
    except PolyreluError as e:
        msg = str(e)
        raise ModelFileError(msg if path in msg else f"{path}: {msg}") from None
