"""TorchScript modules (``torch.jit.script``, ``torch.jit.trace``,
``torch.jit.load``), read module by module from their graphs.

A module's graph is what torch runs for it: calls of submodule methods
(``prim::CallMethod``; a traced module calling a submodule twice calls
``forward`` and ``forward1``), ATen operators (read by the one table of
:mod:`~polyrelu.io.torch.aten`), attributes and constants.  A torch.nn layer
is read from its attributes when scripted (its code is torch's own, its
hyper-parameters are attributes: :func:`~polyrelu.io.torch.eager.module_layer`)
and from its graph when traced (a traced layer keeps its tensors and one aten
op whose constant arguments are its hyper-parameters).  A torch.nn layer of
another class is refused by name.  Scripted functional calls of
``torch.nn.functional`` (``F.relu``, ``F.leaky_relu``, ``F.hardtanh``,
``F.dropout``, ``F.max_pool2d``, ``F.batch_norm``) are read by name;
``prim::If`` only on constant conditions (``if self.training``); loops and
anything else are refused naming the node.

In-place operations (``aten::add_``, ``relu_``, ``nn.ReLU(inplace=True)``)
change their argument under all its names: later uses of the mutated value
read the op's result, also across a submodule call, and a value changed
through a view is refused when read (aliasing from the op's schema).
"""

from __future__ import annotations

import operator as _op
from typing import Any, Callable

from ...exceptions import PolyreluError, UnsupportedLayerError
from .._builder import Aliases, inplace_view_error
from ._common import Val, first_line, torch_module
from .aten import ATEN_OPS, FOLDABLE, SHAPE, AtenOps, Multi
from .eager import LEAF_TYPES, READER_LAYERS, module_layer
from .layers import GraphBuilder, LayerGraph

__all__ = ["read_script", "TORCHSCRIPT_OPS", "script_class", "schema_alias"]

#: TorchScript graph operations read
TORCHSCRIPT_OPS = ("aten::linear", "aten::matmul (value @ parameter)", "aten::addmm",
                   "aten::relu", "aten::leaky_relu", "aten::hardtanh(-1, 1)",
                   "aten::add / sub / rsub (with alpha)", "aten::mul / div / neg by "
                   "numbers and per-feature constants (also before the first matrix)",
                   "aten::dropout (eval)", "aten::flatten / view / reshape "
                   "/ contiguous", "aten::size", "aten::conv2d / _convolution",
                   "aten::max_pool2d", "aten::avg_pool2d", "aten::batch_norm (eval)",
                   "prim::If on a constant condition", "prim::CallMethod of submodules",
                   "prim::GetAttr", "prim::Constant", "prim::ListConstruct",
                   "in-place forms (aten::add_, mul_, relu_, ...)")

#: hyper-parameters a *scripted* torch layer keeps as attributes (a traced
#: layer keeps only its tensors; its hyper-parameters are constants of its graph)
LAYER_ATTRS = {
    "Linear": ("weight",), "Conv2d": ("stride", "padding", "dilation", "groups",
                                      "padding_mode"),
    "MaxPool2d": ("kernel_size", "stride", "padding", "dilation", "ceil_mode",
                  "return_indices"),
    "AvgPool2d": ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                  "divisor_override"),
    "BatchNorm1d": ("eps", "running_mean", "running_var"),
    "BatchNorm2d": ("eps", "running_mean", "running_var"),
    "Flatten": ("start_dim", "end_dim"), "ReLU": (), "LeakyReLU": ("negative_slope",),
    "Hardtanh": ("min_val", "max_val"), "Identity": (), "Dropout": ("p",)}

_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")

#: scripted calls of torch.nn.functional: name -> (aten op, parameter names)
_FUNCTIONS = {
    "relu": ("relu", ("self", "inplace")),
    "leaky_relu": ("leaky_relu", ("self", "negative_slope", "inplace")),
    "hardtanh": ("hardtanh", ("self", "min_val", "max_val", "inplace")),
    "dropout": ("dropout", ("input", "p", "train", "inplace")),
    "_max_pool2d": ("max_pool2d", ("self", "kernel_size", "stride", "padding", "dilation",
                                   "ceil_mode", "return_indices")),
    "batch_norm": ("batch_norm", ("input", "running_mean", "running_var", "weight",
                                  "bias", "training", "momentum", "eps")),
}


def script_class(m: Any) -> tuple:
    """``(class name, is a torch.nn class)`` of a TorchScript module, from its
    qualified type name (``__torch__.torch.nn.modules.conv.Conv2d``; saving
    may insert ``___torch_mangle_N`` parts)."""
    try:
        qn = m._c._type().qualified_name()
    except Exception:  # not a regular ScriptModule
        qn = ""
    parts = [p for p in qn.split(".") if not p.startswith("___torch_mangle")]
    kind = getattr(m, "original_name", None) or (parts[-1] if parts else type(m).__name__)
    return kind, parts[:4] == ["__torch__", "torch", "nn", "modules"]


def schema_alias(node) -> tuple[list, int | None]:
    """``(inputs the op writes, input its result is a view of)`` from the alias
    annotations of a TorchScript node's schema (none for prim:: nodes)."""
    torch = torch_module()
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


class _ModRef:
    """A (sub)module value in a graph, with its path in the model."""

    def __init__(self, m: Any, path: str) -> None:
        self.m = m
        self.path = path


class _FnRef:
    def __init__(self, qualname: str) -> None:
        self.qualname = qualname


_PY_OPS: dict[str, Callable[..., Any]] = {
    "aten::eq": _op.eq, "aten::ne": _op.ne, "aten::lt": _op.lt, "aten::gt": _op.gt,
    "aten::le": _op.le, "aten::ge": _op.ge, "aten::__not__": _op.not_,
    "aten::__and__": _op.and_, "aten::__or__": _op.or_, "aten::__is__": _op.is_,
    "aten::__isnot__": _op.is_not, "aten::len": len, "aten::__getitem__": _op.getitem,
    "aten::Bool": bool, "aten::Float": float, "aten::Int": int,
    "prim::unchecked_cast": lambda v: v, "aten::format": lambda *a: "",
}


def read_script(module: Any, src: str) -> LayerGraph:
    """The layer graph of a TorchScript module."""
    torch_module()
    g = GraphBuilder(src, "torchscript")
    r = _Reader(g, src)
    try:
        out = r.module(module, Val(0), "", "forward")
    except PolyreluError:
        raise
    except (AttributeError, IndexError, KeyError, RuntimeError, TypeError,
            ValueError) as e:
        # an operation with an unexpected signature: say which one
        raise UnsupportedLayerError(f"{src}: TorchScript node {r.where}: cannot read this "
                                    f"node ({first_line(e)}); supported: "
                                    f"{', '.join(TORCHSCRIPT_OPS)}") from None
    if isinstance(out, Multi):
        out = out.first
    if not isinstance(out, Val):
        raise UnsupportedLayerError(f"{src}: the TorchScript forward must return one "
                                    f"tensor computed from the input")
    return g.finish(out.index)


class _Reader:
    def __init__(self, g: GraphBuilder, src: str) -> None:
        self.g = g
        self.src = src
        self.help = ", ".join(TORCHSCRIPT_OPS)
        self.ops = AtenOps(g, src, self.help)
        self.where = "input"
        # what the last module() call did to its input: (None | Val = changed in
        # place to that value | ("stale", op) = changed through a view,
        # relation of its output to its input: "same" | "view" | None)
        self.effect: tuple = (None, None)
        self._schemas: dict = {}

    def refuse(self, msg: str) -> UnsupportedLayerError:
        return UnsupportedLayerError(f"{self.src}: TorchScript node {self.where}: {msg}; "
                                     f"supported: {self.help}")

    # ------------------------------------------------------------ modules
    def module(self, m: Any, x: Any, path: str, method: str) -> Any:
        kind, torch_layer = script_class(m)
        name = path or kind
        if torch_layer and kind not in LEAF_TYPES and kind not in _CONTAINERS:
            raise UnsupportedLayerError(
                f"{self.src}: layer {name!r} of type {kind} is not supported; supported: "
                f"{', '.join(READER_LAYERS)}")
        if torch_layer and kind in LEAF_TYPES and method == "forward" and all(
                hasattr(m, a) for a in LAYER_ATTRS[kind]):
            if not isinstance(x, Val):
                raise self.refuse(f"{kind} {name!r} must be called on a value computed "
                                  f"from the input")
            out = module_layer(self.g, m, kind, x, name, self.src)        # scripted
            if kind in ("Identity", "Dropout"):       # (eval) dropout returns its input
                self.effect = (None, "same")
            elif kind == "Flatten":
                self.effect = (None, "view")
            elif kind in ("ReLU", "LeakyReLU", "Hardtanh") and getattr(m, "inplace", False):
                self.effect = (out, "same")
            else:
                self.effect = (None, None)
            return out
        leaf = name if torch_layer and kind in LEAF_TYPES else None
        return self.graph(m, method, x, path, leaf)

    def graph(self, m: Any, method: str, x: Any, path: str, leaf: str | None) -> Any:
        try:
            g = m.graph if method == "forward" else getattr(m, method).graph
        except Exception:
            raise UnsupportedLayerError(f"{self.src}: module {path or 'model'!r} has no "
                                        f"TorchScript method {method!r} with a graph"
                                        ) from None
        ins = list(g.inputs())
        if len(ins) != 2:
            raise UnsupportedLayerError(f"{self.src}: {path or 'model'}: {method} takes "
                                        f"{len(ins) - 1} inputs; exactly one is supported")
        env: dict = {ins[0].unique(): _ModRef(m, path), ins[1].unique(): x}
        aliases = Aliases()           # keys: Value.unique() in this graph
        ctx = (env, aliases, path, leaf)
        self._block(g.nodes(), ctx)
        outs = list(g.outputs())
        if len(outs) != 1:
            raise UnsupportedLayerError(f"{self.src}: {path or 'model'}: {method} must "
                                        f"return one tensor")
        res = self._look(outs[0], ctx)
        key, out = ins[1].unique(), outs[0].unique()
        stale = aliases.stale(key)
        self.effect = (("stale", stale) if stale is not None else
                       None if env[key] == x else env[key], aliases.relation(out, key))
        return res

    # ------------------------------------------------------------ nodes
    def _look(self, v, ctx) -> Any:
        env, aliases, _, _ = ctx
        st = aliases.stale(v.unique())
        if st is not None:
            raise UnsupportedLayerError(f"{self.src}: TorchScript node {self.where}: " +
                                        inplace_view_error(st, f"%{v.debugName()}"))
        if v.unique() not in env:
            raise self.refuse(f"input %{v.debugName()} is not available")
        return env[v.unique()]

    def _block(self, nodes, ctx) -> None:
        for n in nodes:
            self._node(n, ctx)

    def _node_name(self, n) -> str:
        outs = list(n.outputs())
        return f"{n.kind()} (%{outs[0].debugName()})" if outs else n.kind()

    def _changed(self, key, new, op: str, ctx) -> None:
        env, aliases, _, _ = ctx
        for k in aliases.mutate(key, op):
            env[k] = new

    def _names(self, n) -> list:
        s = n.schema()
        if s not in self._schemas:
            import torch

            try:
                self._schemas[s] = [a.name for a in torch._C.parse_schema(s).arguments]
            except Exception:
                self._schemas[s] = None
        return self._schemas[s]

    def _node(self, n, ctx) -> None:
        env, aliases, path, leaf = ctx
        k = n.kind()
        self.where = self._node_name(n)
        outs = list(n.outputs())
        ins = list(n.inputs())
        if k == "prim::Constant":
            if str(outs[0].type()).startswith("__torch__."):      # a function
                env[outs[0].unique()] = _FnRef(str(outs[0].type()).removeprefix(
                    "__torch__."))
                return
            try:
                env[outs[0].unique()] = outs[0].toIValue()
            except Exception:
                t = str(outs[0].type())
                env[outs[0].unique()] = _FnRef(t.removeprefix("__torch__."))
            return
        if k == "prim::GetAttr":
            obj = self._look(ins[0], ctx)
            if not isinstance(obj, _ModRef):
                raise self.refuse("an attribute of something other than a module")
            attr = n.s("name")
            try:
                val = getattr(obj.m, attr)
            except AttributeError:
                raise self.refuse(f"attribute {attr!r} not found") from None
            import torch

            if isinstance(val, torch.jit.ScriptModule):
                env[outs[0].unique()] = _ModRef(val, f"{obj.path}.{attr}" if obj.path
                                                else attr)
            else:
                env[outs[0].unique()] = val
            return
        if k == "prim::CallMethod":
            args = [self._look(v, ctx) for v in ins]
            if not isinstance(args[0], _ModRef):
                raise self.refuse("a method call on something other than a submodule")
            sub = args[0]
            data = args[1:]
            skind, _ = script_class(sub.m)
            if not data and skind == "Identity":
                env[outs[0].unique()] = None     # a traced Identity: the caller uses x
                return
            if len(data) != 1:
                raise UnsupportedLayerError(f"{self.src}: {sub.path}: {skind} called with "
                                            f"{len(data)} inputs; one is supported")
            here = self.where
            res = self.module(sub.m, data[0], sub.path, n.s("name"))
            self.where = here
            env[outs[0].unique()] = res
            state, rel = self.effect
            key = ins[1].unique()
            if isinstance(state, tuple) and state and state[0] == "stale":
                aliases.clobber(key, state[1])
            elif state is not None:
                self._changed(key, state, sub.path, ctx)
            if rel == "same":
                aliases.same(outs[0].unique(), key)
            elif rel == "view":
                aliases.view(outs[0].unique(), key)
            return
        if k == "prim::CallFunction":
            fn = self._look(ins[0], ctx)
            qual = fn.qualname if isinstance(fn, _FnRef) else \
                str(ins[0].type()).removeprefix("__torch__.")
            short = qual.removeprefix("torch.nn.functional.")
            if short == qual or short not in _FUNCTIONS:
                raise UnsupportedLayerError(
                    f"{self.src}: {leaf or path or 'model'}: TorchScript call of function "
                    f"{qual} is not supported (scripted functional calls read: "
                    f"{', '.join('F.' + f.lstrip('_') for f in _FUNCTIONS)}); supported: "
                    f"{self.help}")
            opname, params = _FUNCTIONS[short]
            vals = [self._look(v, ctx) for v in ins[1:]]
            named = dict(zip(params, vals))
            inplace = bool(named.pop("inplace", False))
            if named.pop("return_indices", False):
                raise self.refuse("max_pool2d(return_indices=True) returns a tuple")
            self._aten(opname, named, n, ctx, inplace=inplace)
            return
        if k == "prim::If":
            cond = self._look(ins[0], ctx)
            if not isinstance(cond, bool):
                raise self.refuse("the condition depends on the input (data-dependent "
                                  "control flow)")
            blk = list(n.blocks())[0 if cond else 1]
            self._block(blk.nodes(), ctx)
            self.where = self._node_name(n)
            for o, r in zip(outs, blk.returnNode().inputs()):
                env[o.unique()] = self._look(r, ctx)
                aliases.same(o.unique(), r.unique())
            return
        if k in ("prim::Loop",):
            raise self.refuse("loops are not read (script a module without loops, trace "
                              "it, or use torch.export)")
        if k == "prim::Uninitialized":
            env[outs[0].unique()] = None
            return
        if k == "prim::RaiseException":
            raise self.refuse("the module raises an exception for this input")
        if k in ("prim::ListConstruct", "prim::TupleConstruct"):
            env[outs[0].unique()] = [self._look(v, ctx) for v in ins]
            return
        if k in ("prim::ListUnpack", "prim::TupleUnpack"):
            seq = self._look(ins[0], ctx)
            if isinstance(seq, Multi):
                seq = [seq.first] + [None] * (len(outs) - 1)
            if not isinstance(seq, (list, tuple)) or len(seq) != len(outs):
                raise self.refuse("unpacking something other than a list of constants")
            for o, v in zip(outs, seq):
                env[o.unique()] = v
            return
        if k in ("prim::TupleIndex",):
            seq, idx = self._look(ins[0], ctx), self._look(ins[1], ctx)
            env[outs[0].unique()] = seq.first if isinstance(seq, Multi) and idx == 0 \
                else seq[idx]
            return
        if k in ("prim::NumToTensor", "aten::Int", "aten::size", "prim::shape",
                 "aten::dim", "aten::ScalarImplicit", "aten::sym_size"):
            vals = [self._look(v, ctx) for v in ins]
            if any(v is SHAPE or isinstance(v, Val) for v in vals):
                env[outs[0].unique()] = SHAPE
            else:
                env[outs[0].unique()] = self._py(k, vals)
            return
        if k.startswith("aten::"):
            vals = [self._look(v, ctx) for v in ins]
            names = self._names(n)
            writes, view_of = schema_alias(n)
            if writes and not isinstance(vals[writes[0]], (Val, Multi)):
                raise self.refuse("an in-place change of a parameter or buffer: the "
                                  "module changes its own state at every call (e.g. "
                                  "batch-norm in training mode counting batches; call "
                                  "model.eval() before tracing)")
            if not any(isinstance(v, (Val, Multi)) for v in vals):
                if k in _PY_OPS or names is None or (
                        k[6:] not in FOLDABLE and not any(hasattr(v, "detach") for v in vals)):
                    env[outs[0].unique()] = self._py(k, vals)
                else:       # parameters only: torch evaluates it (W.t(), 2 * self.s)
                    env[outs[0].unique()] = self.ops.fold(k[6:], dict(zip(names, vals)),
                                                          self.where)
                return
            if names is None or len(names) < len(vals):
                raise self.refuse("an operator without a schema")
            base = k[6:]
            inplace = bool(writes)
            if inplace:
                if writes != [0]:
                    raise self.refuse("writing into an out= argument is not supported")
                base = base.rstrip("_")
            if base not in ATEN_OPS and any(isinstance(v, (Val, Multi)) for v in vals):
                raise self.refuse("this operation is not supported")
            self._aten(base, dict(zip(names, vals)), n, ctx, inplace=inplace,
                       view_of=view_of)
            return
        raise self.refuse("this operation is not supported")

    def _aten(self, op: str, named: dict, n, ctx, inplace: bool = False,
              view_of: int | None = None) -> None:
        env, aliases, path, leaf = ctx
        name = leaf or self.where
        outs, ins = list(n.outputs()), list(n.inputs())
        res = self.ops.call(op, named, name, f"aten::{op}")
        env[outs[0].unique()] = res
        first = ins[1].unique() if n.kind() == "prim::CallFunction" else ins[0].unique()
        if inplace:
            if not isinstance(named.get("self", named.get("input")), Val):
                raise self.refuse("an in-place operation on a constant (a parameter or "
                                  "buffer changes at every call)")
            self._changed(first, res, self.where, ctx)
            aliases.same(outs[0].unique(), first)
        elif op in ("dropout", "feature_dropout"):
            aliases.same(outs[0].unique(), first)      # eval dropout returns its input
        elif view_of is not None:
            aliases.view(outs[0].unique(), ins[view_of].unique())

    def _py(self, kind: str, args: list) -> Any:
        """Constant (non-tensor-valued) TorchScript ops: comparisons and booleans on
        attributes, as in scripted ``if self.kind == ...`` or dropout's p check;
        deterministic tensor operations on parameters (``W.t()``)."""
        if kind in ("prim::NumToTensor", "aten::ScalarImplicit"):
            return args[0]
        if kind in _PY_OPS:
            try:
                return _PY_OPS[kind](*args)
            except Exception:
                raise self.refuse("an operation on constants that cannot be evaluated"
                                  ) from None
        base = kind.removeprefix("aten::")
        if base in ("add", "sub", "mul", "div", "floordiv", "neg") and all(
                isinstance(a, (int, float)) for a in args):
            fns: dict[str, Callable[..., Any]] = {
                "add": _op.add, "sub": _op.sub, "mul": _op.mul, "div": _op.truediv,
                "floordiv": _op.floordiv, "neg": _op.neg}
            try:
                return fns[base](*args)
            except Exception:
                raise self.refuse("arithmetic on constants failed") from None
        raise self.refuse("an operation on constants that is not read (only comparisons "
                          "and boolean operations on attributes)")
