"""torch.fx: any module fx can trace, and GraphModules (also the
``ExportedProgram.module()`` of a torch.export program).

The graph is the code torch runs: a module called twice is two
``call_module`` nodes, a subclass of a torch layer with its own ``forward``
is traced through.  Python functions (``F.relu``, ``torch.add``, ``x.view``,
``operator.iadd``) and ATen operators (``torch.ops.aten.linear.default``) are
read by the one table of :mod:`~polyrelu.io.torch.aten`; torch.nn layers
(``call_module``) from their attributes (:func:`~polyrelu.io.torch.eager.module_layer`).

In-place operations (``h.mul_(2)``, ``u += h``, ``nn.ReLU(inplace=True)``)
change a tensor under all its names: nodes are read in execution order and
the mutated value (and every value that is the same tensor) is rebound to the
op's result for later uses; a value changed through a view is refused when
read (``Aliases`` (``polyrelu.io._builder``)).  ``fx.symbolic_trace`` records
``u += h`` as ``u + h``; :func:`fx_trace` keeps it.
"""

from __future__ import annotations

import operator
from typing import Any

from ...exceptions import UnsupportedLayerError
from .._builder import Aliases, inplace_view_error
from ._common import Val, first_line, torch_module
from .aten import SHAPE, AtenOps, Multi
from .eager import READER_LAYERS, leaf_kind, module_layer
from .layers import GraphBuilder, LayerGraph

__all__ = ["fx_trace", "read_fx", "read_graph_module", "FX_FUNCTIONS"]

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


def _signatures() -> dict:
    """Python callable -> (aten base name, parameter names, defaults, in place)."""
    import torch
    import torch.nn.functional as F

    S = "self"
    t: dict = {
        F.relu: ("relu", ("self", "inplace"), {"inplace": False}),
        torch.relu: ("relu", (S,), {}),
        torch.relu_: ("relu", (S,), {"inplace": True}),
        F.relu_: ("relu", (S,), {"inplace": True}),
        F.leaky_relu: ("leaky_relu", (S, "negative_slope", "inplace"),
                       {"negative_slope": 0.01, "inplace": False}),
        F.leaky_relu_: ("leaky_relu", (S, "negative_slope"),
                        {"negative_slope": 0.01, "inplace": True}),
        F.hardtanh: ("hardtanh", (S, "min_val", "max_val", "inplace"),
                     {"min_val": -1.0, "max_val": 1.0, "inplace": False}),
        F.hardtanh_: ("hardtanh", (S, "min_val", "max_val"),
                      {"min_val": -1.0, "max_val": 1.0, "inplace": True}),
        torch.flatten: ("flatten", (S, "start_dim", "end_dim"),
                        {"start_dim": 0, "end_dim": -1}),
        F.dropout: ("dropout", ("input", "p", "train", "inplace"),
                    {"p": 0.5, "train": True, "inplace": False}),
        F.linear: ("linear", ("input", "weight", "bias"), {"bias": None}),
        operator.pos: ("clone", (S,), {"alias": True}),
        operator.neg: ("neg", (S,), {}), torch.neg: ("neg", (S,), {}),
        torch.negative: ("neg", (S,), {}),
        operator.add: ("add", (S, "other"), {}),
        operator.sub: ("sub", (S, "other"), {}),
        operator.mul: ("mul", (S, "other"), {}),
        operator.truediv: ("div", (S, "other"), {}),
        operator.iadd: ("add", (S, "other"), {"inplace": True}),
        operator.isub: ("sub", (S, "other"), {"inplace": True}),
        operator.imul: ("mul", (S, "other"), {"inplace": True}),
        operator.itruediv: ("div", (S, "other"), {"inplace": True}),
        torch.add: ("add", (S, "other", "alpha"), {"alpha": 1}),
        torch.sub: ("sub", (S, "other", "alpha"), {"alpha": 1}),
        torch.subtract: ("sub", (S, "other", "alpha"), {"alpha": 1}),
        torch.mul: ("mul", (S, "other"), {}), torch.multiply: ("mul", (S, "other"), {}),
        torch.div: ("div", (S, "other", "rounding_mode"), {"rounding_mode": None}),
        torch.divide: ("div", (S, "other", "rounding_mode"), {"rounding_mode": None}),
        torch.true_divide: ("div", (S, "other"), {}),
        F.conv2d: ("conv2d", ("input", "weight", "bias", "stride", "padding", "dilation",
                              "groups"), {"bias": None, "stride": 1, "padding": 0,
                                          "dilation": 1, "groups": 1}),
        F.avg_pool2d: ("avg_pool2d", (S, "kernel_size", "stride", "padding", "ceil_mode",
                                      "count_include_pad", "divisor_override"),
                       {"stride": None, "padding": 0, "ceil_mode": False,
                        "count_include_pad": True, "divisor_override": None}),
        F.batch_norm: ("batch_norm", ("input", "running_mean", "running_var", "weight",
                                      "bias", "training", "momentum", "eps"),
                       {"weight": None, "bias": None, "training": False, "momentum": 0.1,
                        "eps": 1e-5}),
    }
    pool = ("max_pool2d", (S, "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                           "return_indices"),
            {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False,
             "return_indices": False})
    for f in (F.max_pool2d, getattr(F, "_max_pool2d", None)):
        if f is not None:
            t[f] = pool
    return t


#: method name -> (aten base name, parameter names, defaults)
_METHODS: dict[str, tuple[str, tuple, dict]] = {
    "add": ("add", ("self", "other", "alpha"), {"alpha": 1}),
    "sub": ("sub", ("self", "other", "alpha"), {"alpha": 1}),
    "mul": ("mul", ("self", "other"), {}),
    "div": ("div", ("self", "other", "rounding_mode"), {"rounding_mode": None}),
    "neg": ("neg", ("self",), {}),
    "relu": ("relu", ("self",), {}),
    "flatten": ("flatten", ("self", "start_dim", "end_dim"), {"start_dim": 0, "end_dim": -1}),
    "contiguous": ("contiguous", ("self",), {}),
    "clone": ("clone", ("self",), {}),
    "detach": ("detach", ("self",), {}),
    "size": ("size", ("self", "dim"), {"dim": None}),
    "dim": ("dim", ("self",), {}),
}
_KW_ALIASES = {"input": "self", "training": "train"}

#: the Python functions and methods the fx reader maps onto ATen operators
FX_FUNCTIONS = ("F.relu", "torch.relu", "relu_", "F.leaky_relu", "F.hardtanh",
                "F.linear", "F.conv2d", "F.max_pool2d", "F.avg_pool2d", "F.batch_norm "
                "(eval)", "F.dropout (eval)", "torch.flatten", "+ - * / neg and "
                "torch.add/sub/mul/div (with alpha)", "in-place versions (+=, mul_, "
                "relu_, inplace=True)", "x.view / reshape / flatten / size")

_IDENTITY_KINDS = ("Identity", "Dropout")


def _named(params: tuple, defaults: dict, args: tuple, kwargs: dict) -> dict:
    out = dict(defaults)
    for p_, v in zip(params, args):
        out[p_] = v
    for k, v in kwargs.items():
        out[_KW_ALIASES.get(k, k) if k not in params else k] = v
    return out


def _schema_named(target, args: tuple, kwargs: dict) -> dict:
    """Arguments of an ATen OpOverload call by schema name (with defaults)."""
    schema = target._schema
    out: dict = {}
    for j, a in enumerate(schema.arguments):
        if j < len(args):
            out[a.name] = args[j]
        elif a.name in kwargs:
            out[a.name] = kwargs[a.name]
        elif a.has_default_value():
            out[a.name] = a.default_value
    return out


_META_VIEWS = ("view", "reshape", "_unsafe_view", "squeeze", "unsqueeze")


def _meta_view_shape(node) -> tuple | None:
    """The shape a view produces, from torch's recorded shapes (torch.export):
    ``(SHAPE, *rest)`` when it keeps the batch axis, else None."""
    out: Any = node.meta.get("val") if hasattr(node, "meta") else None
    src_node = node.args[0] if node.args else None
    inp: Any = getattr(src_node, "meta", {}).get("val") if src_node is not None else None
    if not (hasattr(out, "shape") and hasattr(inp, "shape")) or not len(out.shape) or \
            not len(inp.shape):
        return None
    try:
        rest = tuple(int(s) for s in out.shape[1:])
    except (TypeError, ValueError):       # symbolic non-batch sizes
        return None
    if str(out.shape[0]) != str(inp.shape[0]):
        return None
    return (SHAPE,) + rest


def is_aten(target: Any) -> bool:
    import torch

    return isinstance(target, torch._ops.OpOverload) and \
        target.namespace == "aten"


def read_fx(module: Any, src: str) -> LayerGraph:
    """Trace ``module`` (:func:`fx_trace`) and read its graph."""
    import torch.fx as fx

    if isinstance(module, fx.GraphModule):
        return read_graph_module(module, src)
    before = set(vars(module))
    try:
        gm = fx_trace(module)
    except Exception as e:
        raise UnsupportedLayerError(
            f"{src}: torch.fx cannot trace module {type(module).__name__} "
            f"({first_line(e)}); use an nn.Sequential, a traceable module of: "
            f"{', '.join(READER_LAYERS)}, or a torch.export program "
            f"(torch.export.export(model, (x,)))") from None
    made = set(vars(module)) - before
    for name in made:           # fx left them on the module; the GraphModule has them
        delattr(module, name)
    for node in gm.graph.nodes:
        # a tensor made in forward (torch.tensor, torch.randn, ...) is evaluated
        # once, while tracing: fx keeps that one value as an attribute
        if node.op == "get_attr" and str(node.target).split(".")[0] in made:
            raise UnsupportedLayerError(
                f"{src}: forward creates a tensor ({node.name}: torch.tensor, "
                f"torch.randn, torch.zeros, ...) that torch.fx evaluates once, while "
                f"tracing -- a random one would be read as fixed; register it as a "
                f"buffer (self.register_buffer) or read a torch.export program")
    return read_graph_module(gm, src)


def read_graph_module(gm: Any, src: str, bound: dict | None = None,
                      reader: str = "fx", output_index: int | None = None) -> LayerGraph:
    """The layer graph of a GraphModule's graph (its forward).

    ``bound`` maps placeholder names to constants (the lifted parameters,
    buffers and constants of a torch.export program); the one other
    placeholder is the input; ``output_index`` picks the model output from
    an output tuple.  Views use the shapes torch recorded in
    ``node.meta["val"]`` when there are (torch.export) -- then ``squeeze`` and
    ``unsqueeze`` are views too."""
    torch_module()
    import torch.fx as fx

    help_text = ", ".join(READER_LAYERS + FX_FUNCTIONS)
    g = GraphBuilder(src, reader)
    bound = bound or {}
    ops = AtenOps(g, src, help_text)
    sigs = _signatures()
    mods = dict(gm.named_modules(remove_duplicate=False))
    env: dict[Any, Any] = {}
    aliases = Aliases()
    state: dict[str, Any] = {"name": "", "placeholders": 0}
    out_value: Any = None

    def arg(a: Any) -> Any:
        if isinstance(a, (list, tuple)):
            return type(a)(arg(v) for v in a)
        if not isinstance(a, fx.Node):
            return a
        st = aliases.stale(a)
        if st is not None:
            raise UnsupportedLayerError(f"{src}: {state['name']!r}: " + inplace_view_error(
                repr(st), repr(a.name)))
        if a not in env:
            raise UnsupportedLayerError(f"{src}: {state['name']!r} uses {a.name!r}, which "
                                        f"is not computed before it")
        return env[a]

    def mutated(node, result: Any) -> None:
        target = node.args[0] if node.args else None
        if not isinstance(target, fx.Node) or not isinstance(env.get(target), Val):
            raise UnsupportedLayerError(
                f"{src}: {node.name!r}: an in-place change of a parameter or buffer: the "
                f"model changes its own state at every call (e.g. batch-norm in training "
                f"mode counting batches; call model.eval() first)")
        for k in aliases.mutate(target, node.name):
            env[k] = result
        aliases.same(node, target)

    def alias(node, how: str) -> None:
        first = node.args[0] if node.args else None
        if isinstance(first, fx.Node):
            (aliases.same if how == "same" else aliases.view)(node, first)

    def aten_call(opname: str, named: dict, node, ttype: str, inplace: bool) -> None:
        if opname in _META_VIEWS and isinstance(named.get("self"), Val):
            shape = _meta_view_shape(node)
            if shape is not None:
                opname, named = "view", {"self": named["self"], "size": shape}
            elif opname in ("squeeze", "unsqueeze"):
                raise UnsupportedLayerError(f"{src}: {node.name!r}: {opname} without "
                                            f"recorded shapes is not read")
        res = ops.call(opname, named, node.name, ttype)
        env[node] = res
        if inplace:
            mutated(node, res)
        elif opname in ("view", "reshape", "_unsafe_view", "flatten", "contiguous"):
            alias(node, "view")     # (reshape/contiguous may copy: "view" is the safe side)
        elif opname in ("dropout", "feature_dropout", "alias", "detach"):
            alias(node, "same")

    for node in gm.graph.nodes:
        state["name"] = str(node.target) if node.op == "call_module" else node.name
        if node.op == "placeholder" and node.name in bound:
            env[node] = bound[node.name]
        elif node.op == "placeholder":
            state["placeholders"] += 1
            if state["placeholders"] > 1:
                raise UnsupportedLayerError(f"{src}: forward takes more than one input")
            env[node] = Val(0)
        elif node.op == "get_attr":
            obj: Any = gm
            for part in str(node.target).split("."):
                obj = getattr(obj, part)
            env[node] = obj
        elif node.op == "call_module":
            m = mods[node.target]
            if type(m).__name__ == "GuardsFn" and not node.users:
                continue        # torch.export's input guard (asserts only)
            kind = leaf_kind(m)
            x = arg(node.args[0]) if node.args else None
            if kind is None:
                raise UnsupportedLayerError(
                    f"{src}: layer {node.target!r} of type {type(m).__name__} is not "
                    f"supported; supported: {help_text}")
            if not isinstance(x, Val) or len(node.args) != 1 or node.kwargs:
                raise UnsupportedLayerError(f"{src}: layer {node.target!r} ({kind}) must be "
                                            f"called on one value computed from the input")
            env[node] = module_layer(g, m, kind, x, str(node.target), src)
            if kind in _IDENTITY_KINDS:
                alias(node, "same")      # (eval) dropout returns its input
            elif kind == "Flatten":
                alias(node, "view")
            elif kind in ("ReLU", "LeakyReLU", "Hardtanh") and getattr(m, "inplace", False):
                mutated(node, env[node])
        elif node.op == "call_function" and is_aten(node.target):
            named = _schema_named(node.target, tuple(arg(a) for a in node.args),
                                  {k: arg(v) for k, v in node.kwargs.items()})
            base = node.target._schema.name.split("::")[-1]
            inplace = base.endswith("_") and node.target._schema.is_mutable
            if node.target._schema.is_mutable and not inplace:
                raise UnsupportedLayerError(
                    f"{src}: {node.name!r}: {node.target._schema.name} changes its "
                    f"arguments (e.g. batch-norm statistics in training mode); "
                    f"supported: {help_text}")
            if base == "detach_" and not isinstance(named.get("self"), Val):
                env[node] = named.get("self")       # a constant's autograd flag only
                continue
            aten_call(base.rstrip("_") if inplace else base, named, node,
                      str(node.target._schema.name), inplace)
        elif node.op == "call_function" and node.target is operator.getitem:
            base = arg(node.args[0])
            idx = node.args[1]
            if base is SHAPE or (isinstance(base, (list, tuple)) and all(
                    v is SHAPE for v in base)):
                env[node] = SHAPE
            elif isinstance(base, Multi):
                if idx != 0:
                    raise UnsupportedLayerError(f"{src}: {node.name!r}: item {idx} of "
                                                f"{base.op} (only its value) is not read")
                env[node] = base.first
            elif isinstance(base, (list, tuple)) and not any(
                    isinstance(v, Val) for v in base):
                env[node] = base[idx]
            else:
                raise UnsupportedLayerError(f"{src}: {node.name!r}: indexing a computed "
                                            f"value is not supported; supported: {help_text}")
        elif node.op == "call_function" and node.target is getattr:
            if node.args[1] == "shape" and isinstance(arg(node.args[0]), Val):
                env[node] = SHAPE
            else:
                raise UnsupportedLayerError(f"{src}: {node.name!r}: attribute "
                                            f"{node.args[1]!r} of a value is not read")
        elif node.op == "call_function" and node.target in sigs:
            opname, params, defaults = sigs[node.target]
            if opname in ("add", "sub", "mul", "div") and any(
                    isinstance(v, fx.Node) for v in node.kwargs.values()):
                raise ops.arith.refuse(repr(node.name), "keyword arguments computed in "
                                                        "the graph")
            if "out" in node.kwargs:
                raise ops.arith.refuse(repr(node.name), "out= is not supported")
            named = _named(params, defaults, tuple(arg(a) for a in node.args),
                           {k: arg(v) for k, v in node.kwargs.items()})
            inplace = named.pop("inplace", False)
            if not isinstance(inplace, bool):
                raise UnsupportedLayerError(f"{src}: {node.name!r}: inplace={inplace!r} is "
                                            f"not a constant boolean")
            same = named.pop("alias", False)
            if named.pop("return_indices", False):
                raise UnsupportedLayerError(f"{src}: {node.name!r}: max_pool2d with "
                                            f"return_indices=True returns a tuple")
            aten_call(opname, named, node, getattr(node.target, "__name__", opname),
                      inplace)
            if same:
                alias(node, "same")
        elif node.op == "call_method":
            meth = str(node.target)
            inplace = meth.endswith("_") and meth[:-1] in _METHODS
            base = meth[:-1] if inplace else meth
            margs = tuple(arg(a) for a in node.args)
            mkw = {k: arg(v) for k, v in node.kwargs.items()}
            if base in ("view", "reshape"):
                size = margs[1] if len(margs) == 2 and isinstance(margs[1], (list, tuple)) \
                    else margs[1:]
                named = {"self": margs[0] if margs else None, "size": tuple(size)}
            elif base in _METHODS:
                opname, params, defaults = _METHODS[base]
                named = _named(params, defaults, margs, mkw)
                base = opname
            else:
                raise UnsupportedLayerError(
                    f"{src}: method {meth!r} at {node.name!r} is not supported; "
                    f"supported: {help_text}")
            if base == "size" and named.get("dim") is None:
                named.pop("dim", None)
            aten_call(base, named, node, meth, inplace)
        elif node.op == "call_function" and getattr(node.target, "__name__", "") in (
                "_assert", "_assert_scalar", "_assert_tensor_metadata") and not node.users:
            continue        # assertions only
        elif node.op == "output":
            out = node.args[0]
            if output_index is not None and isinstance(out, (list, tuple)):
                out = out[output_index]
            if isinstance(out, (list, tuple)) and len(out) == 1:
                out = out[0]        # an exported module returns a 1-tuple
            if not isinstance(out, fx.Node):
                raise UnsupportedLayerError(f"{src}: forward must return one tensor")
            out_value = arg(out)
        else:
            what = getattr(node.target, "__name__", str(node.target))
            raise UnsupportedLayerError(
                f"{src}: operation {what!r} ({node.op}) at {node.name!r} is not "
                f"supported; supported: {help_text}")
    if isinstance(out_value, Multi):
        out_value = out_value.first
    if not isinstance(out_value, Val):
        raise UnsupportedLayerError(f"{src}: forward must return one tensor computed from "
                                    f"the input")
    return g.finish(out_value.index)
