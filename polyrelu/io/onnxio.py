"""ONNX import (exact) and float64 export.

:func:`load_onnx` interprets the graph node by node.  Supported operators
(default domain; opset 7 onward -- the MATLAB ACAS Xu exports use opset 8):

* ``MatMul`` (value @ constant), ``Gemm`` (``transB``, ``alpha``, ``beta``;
  ``transA=0``);
* ``Add``/``Sub`` with a constant (e.g. input normalisation ``x - mean``),
  ``Mul``/``Div`` by a constant, ``Neg``;
* ``Add`` (and ``Sub``) of two computed values when it is a residual
  connection of post-activation values (a skip, J&V eq. 46); a branch scaled
  by a positive constant (``Mul``) is folded into the weights exactly, a
  negative one is refused (see ``polyrelu.io._builder``); an affine value
  of the input read by several operators (layer 1 and a skip) becomes the
  network's input map ``nu_0 = A t + a`` when the raw input is read no more;
* ``Relu``, ``LeakyRelu``, ``Clip`` with bounds ``[-1, 1]`` (hard tanh);
* ``Flatten``, ``Reshape``, ``Squeeze``, ``Unsqueeze``, ``Identity``,
  ``Dropout`` (inference: identity; a constant ``training_mode`` true with
  ``ratio > 0`` is refused), ``Constant``;
* integer shape arithmetic on constants (``Shape``, ``Gather``, ``Concat``,
  ...), as in torch's export of ``x.view(x.size(0), -1)``.

Constant affine operations are folded exactly into the adjacent layers
(float32 weights become exact dyadic rationals), so e.g. the ``Sub`` of the
ACAS Xu ``input_AvgImg`` becomes part of the first layer's bias.  The batch
dimension is taken to be 1.  Anything else raises
:class:`~polyrelu.exceptions.UnsupportedLayerError` naming the node, its op
type and the file.

>>> import os, tempfile
>>> from polyrelu import Network
>>> net = Network.from_weights([([[1, -1], [2, 1]], [0, "1/2"]), ([[1, 1]], [-1])])
>>> p = os.path.join(tempfile.mkdtemp(), "net.onnx")
>>> save_onnx(net, p)
>>> load_onnx(p) == net
True
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
from typing import Any

from ..exceptions import ModelFileError, NumberError, PolyreluError, UnsupportedLayerError
from ..network import Network
from ..numbers import rationalize, to_fraction
from ._builder import ChainBuilder, Value, export_float, export_rows, fractions_to_q, q

__all__ = ["load_onnx", "onnx_to_network", "save_onnx", "to_onnx_model",
           "SUPPORTED_OPS"]

#: largest input size read (2^24 entries; ImageNet's 3 x 224 x 224 is 150,528):
#: a corrupted dimension such as 2^40 would otherwise allocate terabytes
MAX_INPUT_SIZE = 2 ** 24

SUPPORTED_OPS = ("MatMul", "Gemm", "Add", "Sub", "Mul", "Div", "Neg", "Relu",
                 "LeakyRelu", "Clip", "Flatten", "Reshape", "Squeeze", "Unsqueeze",
                 "Identity", "Dropout", "Constant", "Shape")


def _import_onnx():
    try:
        import onnx  # noqa: F401
        from onnx import numpy_helper  # noqa: F401
    except ImportError:  # pragma: no cover - onnx is an install extra
        raise ModelFileError("reading ONNX needs the 'onnx' package "
                             "(pip install polyrelu[onnx])") from None
    import onnx

    return onnx


def load_onnx(path: Any, max_denominator: int | None = None) -> Network:
    """Read an ONNX file into an exact network.

    Parameters
    ----------
    path : str or path-like
    max_denominator : int, optional
        Round the composed weights (reported in ``net.rounding_error``).
    """
    onnx = _import_onnx()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError(f"model file not found: {path}")
    try:
        model = onnx.load(path)
    except Exception as e:  # protobuf DecodeError, truncated file, ...
        raise ModelFileError(f"{path}: not a readable ONNX model (malformed or "
                             f"truncated): {type(e).__name__}: {e}") from None
    return onnx_to_network(model, source=path, max_denominator=max_denominator)


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def onnx_to_network(model, source: str = "<onnx>",
                    max_denominator: int | None = None) -> Network:
    """Convert a loaded ``onnx.ModelProto`` (see :func:`load_onnx`)."""
    import numpy as np
    from onnx import numpy_helper

    graph = model.graph
    # A truncated file can still parse (protobuf stops at a field boundary):
    # an ONNX model always has an opset_import, a graph input and an output.
    if not model.opset_import:
        raise ModelFileError(f"{source}: no opset_import: not a complete ONNX model "
                             f"(empty or truncated file?)")
    if not graph.input or not graph.output:
        raise ModelFileError(f"{source}: the graph has no "
                             f"{'inputs' if not graph.input else 'outputs'}: not a "
                             f"complete ONNX model (empty or truncated file?)")
    _check_names(model, source)
    opset = None
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            opset = imp.version
    if opset is None:
        raise ModelFileError(f"{source}: no opset_import for the default ONNX domain: "
                             f"the operators have no defined meaning")
    if opset < 7 or opset >= 2 ** 31:
        raise ModelFileError(f"{source}: ONNX opset {opset} is not supported "
                             f"(opset 7 onward)")

    def file_fail(msg: str) -> ModelFileError:
        return ModelFileError(f"{source}: {msg}")

    consts: dict[str, Any] = {}
    try:
        for init in graph.initializer:
            consts[init.name] = numpy_helper.to_array(init)
    except Exception as e:
        raise file_fail(f"cannot read initializer: {e}") from None
    real_inputs = [i for i in graph.input if i.name not in consts]
    if len(real_inputs) != 1:
        raise UnsupportedLayerError(
            f"{source}: the graph has {len(real_inputs)} non-constant inputs "
            f"({', '.join(i.name for i in real_inputs)}); exactly one is supported")
    if len(graph.output) != 1:
        raise UnsupportedLayerError(f"{source}: the graph has {len(graph.output)} "
                                    f"outputs; exactly one is supported")
    inp = real_inputs[0]
    dims = []
    for k, d in enumerate(inp.type.tensor_type.shape.dim):
        if d.HasField("dim_value") and d.dim_value > 0:
            dims.append(int(d.dim_value))
        elif k == 0:
            dims.append(1)      # symbolic batch dimension
        else:
            raise UnsupportedLayerError(
                f"{source}: input {inp.name!r} has a symbolic dimension {k} "
                f"({d.dim_param!r}); only the batch dimension may be symbolic")
    if not dims:
        raise UnsupportedLayerError(f"{source}: input {inp.name!r} has no static shape")
    shape0 = tuple(dims)
    d0 = math.prod(shape0)
    if d0 > MAX_INPUT_SIZE:
        raise UnsupportedLayerError(
            f"{source}: input {inp.name!r} of shape {shape0} has {d0} entries; polyrelu "
            f"reads networks of at most {MAX_INPUT_SIZE} inputs")
    where = {"node": "input"}

    def fail(msg: str) -> ModelFileError:
        return ModelFileError(f"{source}: {where['node']}: {msg}")

    builder = ChainBuilder(d0, fail)
    vals: dict[str, Any] = {inp.name: builder.input(shape0)}
    # how many ops still read each value: an affine value of the input read
    # twice (layer 1 and a skip) is the network's input map
    # (ChainBuilder.rebase_input)
    readers: dict[str, int] = {}
    for node in graph.node:
        for n in node.input if node.op_type != "Shape" else ():
            readers[n] = readers.get(n, 0) + 1
    for o in graph.output:
        readers[o.name] = readers.get(o.name, 0) + 1

    def exact(arr, what: str) -> list:
        arr = np.asarray(arr)
        if arr.dtype.kind not in "fiub":
            raise fail(f"{what}: unsupported tensor type {arr.dtype}")
        try:
            fr, _ = rationalize(arr.astype(np.float64) if arr.dtype.kind == "f" else
                                arr.astype(object), None)
        except PolyreluError as e:
            raise fail(f"{what}: {e}") from None
        return fractions_to_q(fr)

    def const(name: str):
        if name not in consts:
            return None
        return consts[name]

    def is_var(name: str) -> bool:
        return name in vals

    def flat_const(arr, v: Value, what: str) -> list:
        """Broadcast a constant to v's shape (batch 1) and flatten it exactly."""
        arr = np.asarray(arr)
        try:
            b = np.broadcast_shapes(arr.shape, v.shape)
        except ValueError:
            raise fail(f"{what} of shape {arr.shape} does not broadcast to the value "
                       f"of shape {v.shape}") from None
        if b != tuple(v.shape):
            raise UnsupportedLayerError(str(fail(
                f"{what} of shape {arr.shape} would enlarge the value of shape "
                f"{v.shape}")))
        return exact(np.broadcast_to(arr, v.shape).reshape(-1), what)

    def need_matrix_input(v: Value, op: str) -> None:
        if int(np.prod(v.shape[:-1])) != 1:
            raise UnsupportedLayerError(str(fail(
                f"{op} on a value of shape {v.shape}: only a single feature row "
                f"(batch 1) is supported")))

    for idx, node in enumerate(graph.node):
        op = node.op_type
        where["node"] = f"node {idx} {node.name or node.output[0]!r} (op {op})"
        if node.domain not in ("", "ai.onnx"):
            raise UnsupportedLayerError(str(fail(
                f"operator domain {node.domain!r} is not supported; supported ops: "
                f"{', '.join(SUPPORTED_OPS)}")))
        _check_schema(node, opset, fail)
        try:
            at = _attrs(node)
        except Exception as e:
            raise fail(f"malformed attributes: {type(e).__name__}: {e}") from None
        ins = list(node.input)
        outs = list(node.output)
        if not outs or not outs[0]:
            raise fail("the node has no output")
        undefined = [n for n in ins if n and n not in vals and n not in consts]
        if undefined:
            raise fail(f"input {undefined[0]!r} is not defined by an initializer, a graph "
                       f"input or an earlier node (malformed or truncated graph)")
        if op == "Constant":
            t = at.get("value")
            if t is None:
                for key in ("value_float", "value_floats", "value_int", "value_ints"):
                    if key in at:
                        t = np.asarray(at[key])
                        break
            else:
                try:
                    t = numpy_helper.to_array(t)
                except Exception as e:
                    raise fail(f"cannot read the constant: {type(e).__name__}: {e}"
                               ) from None
            if t is None:
                raise UnsupportedLayerError(str(fail("Constant without a numeric value")))
            consts[outs[0]] = np.asarray(t)
            continue
        var_ins = [n for n in ins if n and is_var(n)]
        for n in var_ins:
            # rebase only when no other value of the old nu_0 is still read:
            # it would silently change meaning with nu_0
            if readers.get(n, 0) > 1 and builder.can_rebase(vals[n]) and not any(
                    readers.get(m, 0) > 0 for m in vals if m != n):
                vals[n] = builder.rebase_input(vals[n])
        for n in ins if op != "Shape" else ():
            readers[n] = readers.get(n, 0) - 1
        if op == "Shape" and var_ins:
            # Shape of a computed value (batch 1): feeds view(x.size(0), -1) subgraphs.
            consts[outs[0]] = np.asarray(vals[ins[0]].shape, dtype=np.int64)
            continue
        if not var_ins:
            try:
                consts[outs[0]] = _fold_constant(node, at, [consts.get(n) for n in ins],
                                                 fail)
            except PolyreluError:
                raise
            except Exception as e:      # np.take / reshape / concatenate errors
                raise fail(f"malformed constant {op}: {type(e).__name__}: {e}") from None
            continue
        try:
            if op in ("Identity", "Dropout"):
                if op == "Dropout":
                    _check_dropout(ins, at, const, is_var, fail)
                vals[outs[0]] = vals[ins[0]]
            elif op == "Relu":
                vals[outs[0]] = builder.activate(vals[ins[0]], "relu", None, where["node"])
            elif op == "LeakyRelu":
                # the ONNX default is the float32 attribute 0.01
                a = to_fraction(at.get("alpha", np.float32(0.01)), "LeakyRelu alpha")
                vals[outs[0]] = builder.activate(vals[ins[0]], "leaky_relu", a,
                                                 where["node"])
            elif op == "Clip":
                lo = at.get("min")
                hi = at.get("max")
                if len(ins) > 1 and ins[1]:
                    lo = const(ins[1])
                if len(ins) > 2 and ins[2]:
                    hi = const(ins[2])
                if lo is None or hi is None or np.size(lo) != 1 or np.size(hi) != 1 \
                        or exact(np.reshape(lo, -1), "Clip min") != [-1] \
                        or exact(np.reshape(hi, -1), "Clip max") != [1]:
                    raise UnsupportedLayerError(str(fail(
                        f"Clip with bounds ({lo}, {hi}): only Clip(-1, 1) (hard tanh) "
                        f"is a supported activation")))
                vals[outs[0]] = builder.activate(vals[ins[0]], "hard_tanh", None,
                                                 where["node"])
            elif op == "MatMul":
                if not is_var(ins[0]) or const(ins[1]) is None:
                    raise UnsupportedLayerError(str(fail(
                        "only value @ constant-matrix MatMul is supported")))
                v = vals[ins[0]]
                Wt = np.asarray(const(ins[1]))
                if Wt.ndim != 2:
                    raise UnsupportedLayerError(str(fail(
                        f"MatMul weight of shape {Wt.shape}: a 2-D matrix is required")))
                need_matrix_input(v, op)
                if Wt.shape[0] != v.shape[-1]:
                    raise fail(f"weight has shape {Wt.shape} but the value has "
                               f"{v.shape[-1]} features")
                W = exact(Wt.T, "MatMul weight")
                vals[outs[0]] = builder.linear(v, W, None, v.shape[:-1] + (Wt.shape[1],))
            elif op == "Gemm":
                if not is_var(ins[0]) or const(ins[1]) is None:
                    raise UnsupportedLayerError(str(fail(
                        "only Gemm(value, constant B, constant C) is supported")))
                if at.get("transA", 0):
                    raise UnsupportedLayerError(str(fail("Gemm with transA=1 is not "
                                                         "supported")))
                v = vals[ins[0]]
                need_matrix_input(v, op)
                B = np.asarray(const(ins[1]))
                if B.ndim != 2:
                    raise fail(f"Gemm B of shape {B.shape} is not a matrix")
                Bm = B.T if at.get("transB", 0) else B          # (in, out)
                if Bm.shape[0] != v.shape[-1]:
                    raise fail(f"Gemm B has shape {B.shape} (transB="
                               f"{at.get('transB', 0)}) but the value has "
                               f"{v.shape[-1]} features")
                alpha = to_fraction(float(at.get("alpha", 1.0)), "Gemm alpha")
                beta = to_fraction(float(at.get("beta", 1.0)), "Gemm beta")
                W = exact(Bm.T, "Gemm B")
                aq = q(alpha)
                if alpha != 1:
                    W = [[aq * w for w in row] for row in W]
                b = None
                if len(ins) > 2 and ins[2]:
                    C = const(ins[2])
                    if C is None:
                        raise UnsupportedLayerError(str(fail("Gemm C must be a constant")))
                    out_shape = (1, Bm.shape[1])
                    Cb = np.asarray(C)
                    try:
                        Cb = np.broadcast_to(Cb, out_shape).reshape(-1)
                    except ValueError:
                        raise fail(f"Gemm C of shape {Cb.shape} does not broadcast "
                                   f"to {out_shape}") from None
                    bq = q(beta)
                    b = [bq * x for x in exact(Cb, "Gemm C")]
                vals[outs[0]] = builder.linear(v, W, b, v.shape[:-1] + (Bm.shape[1],))
            elif op in ("Add", "Sub", "Mul", "Div"):
                a_name, b_name = ins[0], ins[1]
                if is_var(a_name) and is_var(b_name):
                    if op not in ("Add", "Sub"):
                        raise UnsupportedLayerError(str(fail(
                            f"{op} of two computed values is not piecewise linear")))
                    va, vb = vals[a_name], vals[b_name]
                    shape = va.shape if len(va.shape) >= len(vb.shape) else vb.shape
                    if op == "Sub":
                        # a - b = a + (-1) b: composed exactly, or refused as a
                        # negatively weighted skip (see _builder)
                        vb = builder.scale(vb, [q(Fraction(-1))] * vb.out_dim,
                                           where=where["node"])
                    vals[outs[0]] = builder.add(va, vb, shape, where=where["node"])
                    continue
                var_first = is_var(a_name)
                v = vals[a_name] if var_first else vals[b_name]
                k = const(b_name if var_first else a_name)
                if k is None:
                    raise UnsupportedLayerError(str(fail(
                        f"input {b_name if var_first else a_name!r} is neither a "
                        f"constant nor computed from the network input")))
                kv = flat_const(k, v, f"{op} constant")
                if op == "Add":
                    vals[outs[0]] = builder.add_const(v, kv)
                elif op == "Sub":
                    if var_first:
                        vals[outs[0]] = builder.add_const(v, [-x for x in kv])
                    else:       # k - v
                        neg = builder.scale(v, [q(Fraction(-1))] * v.out_dim)
                        vals[outs[0]] = builder.add_const(neg, kv)
                elif op == "Mul":
                    vals[outs[0]] = builder.scale(v, kv, where=where["node"])
                else:
                    if not var_first:
                        raise UnsupportedLayerError(str(fail(
                            "dividing a constant by a computed value is not "
                            "piecewise linear")))
                    if any(x == 0 for x in kv):
                        raise fail("division by zero in a constant divisor")
                    vals[outs[0]] = builder.scale(v, [1 / x for x in kv])
            elif op == "Neg":
                v = vals[ins[0]]
                vals[outs[0]] = builder.scale(v, [q(Fraction(-1))] * v.out_dim)
            elif op in ("Flatten", "Reshape", "Squeeze", "Unsqueeze"):
                v = vals[ins[0]]
                n = int(np.prod(v.shape))
                if op == "Flatten":
                    axis = int(at.get("axis", 1))
                    if not -len(v.shape) <= axis <= len(v.shape):
                        raise fail(f"Flatten axis {axis} is out of range for a value "
                                   f"of shape {v.shape}")
                    if axis < 0:
                        axis += len(v.shape)
                    shape = (int(np.prod(v.shape[:axis])), int(np.prod(v.shape[axis:])))
                elif op == "Reshape":
                    target = const(ins[1]) if len(ins) > 1 else at.get("shape")
                    if target is None:
                        raise UnsupportedLayerError(str(fail(
                            "Reshape needs a constant target shape")))
                    target = [int(t) for t in np.asarray(target).reshape(-1)]
                    target = [v.shape[i] if t == 0 and not at.get("allowzero", 0)
                              and i < len(v.shape) else t for i, t in enumerate(target)]
                    try:
                        shape = np.empty(v.shape, dtype=np.int8).reshape(target).shape
                    except ValueError:
                        raise fail(f"cannot reshape {v.shape} to {target}") from None
                elif op == "Squeeze":
                    axes = at.get("axes")
                    if axes is None and len(ins) > 1 and ins[1]:
                        axes = list(np.asarray(const(ins[1])).reshape(-1))
                    arr = np.empty(v.shape, dtype=np.int8)
                    shape = np.squeeze(arr, axis=None if axes is None else
                                       tuple(int(a) for a in axes)).shape
                else:
                    axes = at.get("axes")
                    if axes is None and len(ins) > 1 and ins[1]:
                        axes = list(np.asarray(const(ins[1])).reshape(-1))
                    shape = list(v.shape)
                    for ax in sorted(int(t) for t in (axes or ())):
                        shape.insert(ax if ax >= 0 else len(shape) + ax + 1, 1)
                    shape = tuple(shape)
                if int(np.prod(shape)) != n:
                    raise fail(f"{op} changes the number of elements ({v.shape} -> "
                               f"{shape})")
                vals[outs[0]] = builder.reshape(v, tuple(shape))
            else:
                raise UnsupportedLayerError(str(fail(
                    f"unsupported operator {op}; supported: "
                    f"{', '.join(SUPPORTED_OPS)}")))
        except (UnsupportedLayerError, ModelFileError):
            raise
        except PolyreluError as e:
            raise ModelFileError(str(fail(str(e)))) from None
        except (IndexError, KeyError, TypeError, ValueError) as e:
            raise ModelFileError(str(fail(f"malformed node: {type(e).__name__}: {e}"))
                                 ) from None
    out_name = graph.output[0].name
    if out_name not in vals:
        raise ModelFileError(f"{source}: the graph output {out_name!r} is not computed "
                             f"from the input")
    where["node"] = f"output {out_name!r}"
    out = vals[out_name]
    if int(np.prod(out.shape[:-1] or (1,))) != 1:
        raise UnsupportedLayerError(f"{source}: output of shape {out.shape} is not a "
                                    f"single feature row")
    return builder.finish(out, max_denominator)


def _check_names(model, source: str) -> None:
    """Every name the reader uses is text.  ONNX strings are UTF-8; protobuf
    hands out the raw bytes of a string that is not, and such a name would
    otherwise fail deep inside the reader (or match another by accident)."""
    graph = model.graph

    def check(v, what: str) -> None:
        if not isinstance(v, str):
            raise ModelFileError(f"{source}: {what} is not valid UTF-8 text "
                                 f"({bytes(v)[:40]!r}): a damaged ONNX file")

    for imp in model.opset_import:
        check(imp.domain, "an opset_import domain")
    for kind, values in (("graph input", graph.input), ("graph output", graph.output),
                         ("initializer", graph.initializer)):
        for k, v in enumerate(values):
            check(v.name, f"the name of {kind} {k}")
    for idx, node in enumerate(graph.node):
        check(node.name, f"the name of node {idx}")
        where = f"node {idx} {node.name!r}"
        check(node.op_type, f"the op type of {where}")
        check(node.domain, f"the domain of {where}")
        for k, n in enumerate(node.input):
            check(n, f"input {k} of {where}")
        for k, n in enumerate(node.output):
            check(n, f"output {k} of {where}")
        for a in node.attribute:
            check(a.name, f"an attribute name of {where}")


def _count(lo: int, hi: int) -> str:
    if lo == hi:
        return str(lo)
    if hi >= 2 ** 30:                     # variadic
        return f"at least {lo}"
    return f"{lo} to {hi}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _check_schema(node, opset: int, fail) -> None:
    """Refuse a node that does not fit its operator's schema in the model's
    opset (``onnx.defs.get_schema``): the number of inputs and outputs, a
    required input left empty, unknown, duplicated, mistyped or missing
    attributes.  Without this an ``Identity`` with two inputs would drop one
    and an unknown attribute would be ignored -- a different network than
    the file states.  An operator without a schema is left to the reader,
    which names it as unsupported."""
    from onnx import AttributeProto, defs

    op = node.op_type
    try:
        schema = defs.get_schema(op, opset, "")
    except defs.SchemaError:
        if op in SUPPORTED_OPS or op in _CONST_OPS:
            raise fail(f"there is no operator {op} in ONNX opset {opset}") from None
        return
    n_in, n_out = len(node.input), len(node.output)
    if not schema.min_input <= n_in <= schema.max_input:
        raise fail(f"the node has {_plural(n_in, 'input')}; {op} takes "
                   f"{_count(schema.min_input, schema.max_input)} (opset {opset} schema)")
    if not schema.min_output <= n_out <= schema.max_output:
        raise fail(f"the node has {_plural(n_out, 'output')}; {op} has "
                   f"{_count(schema.min_output, schema.max_output)} (opset {opset} schema)")
    single = defs.OpSchema.FormalParameterOption.Single
    for k, (name, formal) in enumerate(zip(node.input, schema.inputs)):
        if not name and formal.option == single:
            raise fail(f"input {k} ({formal.name}) of {op} is required but empty")
    known = schema.attributes
    seen = set()
    for a in node.attribute:
        if a.name in seen:
            raise fail(f"attribute {a.name!r} is given twice")
        seen.add(a.name)
        if a.name not in known:
            have = ", ".join(repr(k) for k in known) or "none"
            raise fail(f"unknown attribute {a.name!r} for {op} (opset {opset} schema; its "
                       f"attributes: {have})")
        want = known[a.name].type.name      # type: ignore[attr-defined]  # an enum
        got = AttributeProto.AttributeType.Name(a.type) if a.type in \
            AttributeProto.AttributeType.values() else str(a.type)
        if want != got:
            raise fail(f"attribute {a.name!r} of {op} must be {want}, got {got}")
    for name, attr in known.items():
        if attr.required and name not in seen:
            raise fail(f"{op} requires the attribute {name!r}")


def _check_dropout(ins: list, at: dict, const, is_var, fail) -> None:
    """Dropout is the identity in inference, the default; with a constant
    ``training_mode`` true (opset 12+: input 2; torch's export with
    ``TrainingMode.TRAINING``) and ``ratio > 0`` it is random: refused."""
    import numpy as np

    if len(ins) < 3 or not ins[2]:
        return
    if is_var(ins[2]) or const(ins[2]) is None:
        raise UnsupportedLayerError(str(fail("Dropout whose training_mode is not a "
                                             "constant")))
    if not bool(np.asarray(const(ins[2])).reshape(-1)[0]):
        return
    ratio = at.get("ratio", 0.5)
    if len(ins) > 1 and ins[1]:
        ratio = const(ins[1])
        if ratio is None:
            raise UnsupportedLayerError(str(fail("Dropout in training mode with a "
                                                 "computed ratio")))
    ratio = float(np.asarray(ratio).reshape(-1)[0])
    if ratio > 0:
        raise UnsupportedLayerError(str(fail(
            f"Dropout(ratio={ratio}) with training_mode=True is random; export the "
            f"model in eval mode (polyrelu reads the inference function, in which "
            f"dropout is the identity)")))


_CONST_OPS = ("Identity", "Cast", "Gather", "Unsqueeze", "Squeeze", "Concat", "Reshape",
              "Flatten", "Add", "Sub", "Mul")


def _fold_constant(node, at: dict, args: list, fail):
    """Evaluate a node whose inputs are all constants (shape arithmetic of torch
    exports).  Only integer arithmetic is folded: float arithmetic on constants
    would have to be done in float32, which is not exact."""
    import numpy as np

    op = node.op_type
    if op not in _CONST_OPS or any(x is None for x in args):
        raise UnsupportedLayerError(str(fail(
            f"computation on constants with {op} is not supported (only shape "
            f"arithmetic: {', '.join(_CONST_OPS)}); export with constant folding")))
    a: list[Any] = [np.asarray(x) for x in args]
    if op in ("Identity", "Cast"):
        if op == "Cast" and a[0].dtype.kind == "f":
            raise UnsupportedLayerError(str(fail("Cast of a float constant is not exact")))
        return a[0]
    if op == "Gather":
        return np.take(a[0], a[1], axis=int(at.get("axis", 0)))
    if op in ("Unsqueeze", "Squeeze"):
        axes = at.get("axes")
        if axes is None and len(a) > 1:
            axes = [int(t) for t in a[1].reshape(-1)]
        if op == "Squeeze":
            return np.squeeze(a[0], axis=None if axes is None else tuple(axes))
        out = a[0]
        for ax in sorted(int(t) for t in (axes or ())):
            out = np.expand_dims(out, ax if ax >= 0 else out.ndim + ax + 1)
        return out
    if op == "Concat":
        return np.concatenate([x.reshape(-1) if x.ndim == 0 else x for x in a],
                              axis=int(at.get("axis", 0)))
    if op == "Reshape":
        return a[0].reshape([int(t) for t in a[1].reshape(-1)])
    if op == "Flatten":
        axis = int(at.get("axis", 1))
        return a[0].reshape(int(np.prod(a[0].shape[:axis])), -1)
    if any(x.dtype.kind not in "iu" for x in a):
        raise UnsupportedLayerError(str(fail(
            f"{op} of float constants is not folded (float32 arithmetic is not exact)")))
    return {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply}[op](a[0], a[1])


# ------------------------------------------------------------------ export
#: default export opsets: 13 (IR version 7) covers MatMul/Add/Relu/Clip in
#: float64; onnxruntime implements a float64 LeakyRelu only from LeakyRelu-16
#: (opset 16, IR version 8), so leaky ReLU networks are written with that
DEFAULT_OPSET = 13
LEAKY_RELU_OPSET = 16


def to_onnx_model(net: Network, opset: int | None = None):
    """A float64 ONNX model of ``net`` (MatMul/Add/activation; skips as Add).

    Float64 rounds rationals that are not dyadic; leaky ReLU's slope is an ONNX
    float attribute (float32).  Re-import is exact for dyadic weights.

    ``opset`` defaults to the lowest one onnxruntime runs in float64
    (``DEFAULT_OPSET`` = 13, or ``LEAKY_RELU_OPSET`` = 16 for leaky ReLU), and
    the model carries the lowest IR version that opset needs -- not the
    installed onnx library's newest, which common runtimes refuse.  Every
    model passes ``onnx.checker.check_model(model, full_check=True)``.

    >>> from polyrelu import Network
    >>> m = to_onnx_model(Network.from_weights([([[1, -1]], [0]), ([[2]], [1])]))
    >>> m.ir_version, m.opset_import[0].version
    (7, 13)
    """
    onnx = _import_onnx()
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    if opset is None:
        opset = LEAKY_RELU_OPSET if net.activation == "leaky_relu" else DEFAULT_OPSET

    def farr(M, what):
        return np.array(export_rows(M, what), dtype=np.float64)

    def fvec(v, what):
        return np.array([export_float(x, f"{what} row {i}") for i, x in enumerate(v, 1)],
                        dtype=np.float64)

    alpha = export_float(net.alpha, "the leaky ReLU slope alpha")
    if net.activation == "leaky_relu" and not np.isfinite(np.float32(alpha)):
        raise NumberError(f"the leaky ReLU slope alpha ({alpha:g}) has no float32, "
                          f"which an ONNX LeakyRelu attribute is")

    nodes, inits = [], []
    nu = ["input"]
    if net.input_map is not None:
        # nu_0 = A t + a, then the usual graph; the importer reads an affine
        # value of the input with several readers back as the input map
        A, a = net.input_map
        inits.append(numpy_helper.from_array(farr(A, "input map weight").T.copy(),
                                             "inmap_A"))
        inits.append(numpy_helper.from_array(fvec(a, "input map bias"), "inmap_a"))
        nodes.append(helper.make_node("MatMul", ["input", "inmap_A"], ["inmap_m"],
                                      name="inmap_matmul"))
        nodes.append(helper.make_node("Add", ["inmap_m", "inmap_a"], ["nu0"],
                                      name="inmap_bias"))
        nu = ["nu0"]
    skips = net.skip_sources
    L = net.num_layers
    for l, layer in enumerate(net.layers, start=1):
        u = nu[-1]
        for k, s in enumerate(skips.get(l, ())):
            name = f"u{l}_{k}"
            nodes.append(helper.make_node("Add", [u, nu[s]], [name], name=f"skip_{s}_{l}"))
            u = name
        inits.append(numpy_helper.from_array(farr(layer.W, f"layer {l} weight").T.copy(),
                                             f"W{l}"))
        inits.append(numpy_helper.from_array(fvec(layer.b, f"layer {l} bias"), f"b{l}"))
        nodes.append(helper.make_node("MatMul", [u, f"W{l}"], [f"m{l}"], name=f"matmul{l}"))
        z = "output" if l == L else f"z{l}"
        nodes.append(helper.make_node("Add", [f"m{l}", f"b{l}"], [z], name=f"bias{l}"))
        if l == L:
            break
        if net.activation == "relu":
            nodes.append(helper.make_node("Relu", [z], [f"nu{l}"], name=f"relu{l}"))
        elif net.activation == "leaky_relu":
            nodes.append(helper.make_node("LeakyRelu", [z], [f"nu{l}"], name=f"lrelu{l}",
                                          alpha=alpha))
        else:
            if l == 1:
                inits.append(numpy_helper.from_array(np.array(-1.0), "clip_lo"))
                inits.append(numpy_helper.from_array(np.array(1.0), "clip_hi"))
            nodes.append(helper.make_node("Clip", [z, "clip_lo", "clip_hi"], [f"nu{l}"],
                                          name=f"hardtanh{l}"))
        nu.append(f"nu{l}")
    graph = helper.make_graph(
        nodes, "polyrelu",
        [helper.make_tensor_value_info("input", TensorProto.DOUBLE, ["N", net.input_dim])],
        [helper.make_tensor_value_info("output", TensorProto.DOUBLE,
                                       ["N", net.output_dim])],
        initializer=inits)
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, producer_name="polyrelu", opset_imports=opsets,
                              ir_version=helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(model, full_check=True)
    return model


def save_onnx(net: Network, path: Any, opset: int | None = None) -> None:
    """Write a float64 ONNX model of ``net`` (see :func:`to_onnx_model`)."""
    onnx = _import_onnx()
    path = os.fspath(path)
    model = to_onnx_model(net, opset)
    try:
        onnx.save(model, path)
    except OSError as e:
        raise ModelFileError(f"{path}: cannot write: {e.strerror or e}") from None
