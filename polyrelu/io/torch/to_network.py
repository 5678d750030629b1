"""A :class:`~polyrelu.io.torch.layers.LayerGraph` as an exact
:class:`~polyrelu.network.Network` (the ``Network.from_torch`` consumer).

Linear maps, constant arithmetic, flatten and view compose exactly
(``ChainBuilder`` (``polyrelu.io._builder``)); each activation emits a hidden
layer; residual additions of post-activation values become skips (J&V eq. 46),
with positive scale factors folded into the weights.  Convolutions, pooling
and batch-norm are TropEx layers (:mod:`polyrelu.tropex`), not Network
layers: they are refused here, naming the layer.  No torch import.

>>> import numpy as np
>>> from polyrelu.io.torch.layers import GraphBuilder
>>> g = GraphBuilder("demo")
>>> h = g.add("linear", (0,), "0", "Linear", W=np.array([[1.0, -1.0]]), b=None)
>>> r = g.add("act", (h,), "1", "ReLU", kind="relu", alpha=None)
>>> o = g.add("linear", (r,), "2", "Linear", W=np.array([[0.5]]), b=np.array([0.25]))
>>> to_network(g.finish(o))
Network(2-1-1, relu)
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ...exceptions import ShapeError, UnsupportedLayerError
from ...network import Network
from .._builder import ChainBuilder, Value, fractions_to_q, q
from ._common import SUPPORTED_LAYERS
from .layers import LayerGraph

__all__ = ["to_network", "NETWORK_LAYERS"]

#: what a Network reads from a layer graph
NETWORK_LAYERS = SUPPORTED_LAYERS


def _q_array(a: Any) -> list:
    """Nested lists of mpq of an exact array (float64 or Fractions)."""
    return fractions_to_q(_fractions(a))


def _fractions(a: Any):
    if isinstance(a, Fraction):
        return a
    arr = np.asarray(a)
    if arr.dtype != object:
        from ...numbers import rationalize

        return rationalize(arr, None)[0] if arr.ndim else Fraction(float(arr))
    if arr.ndim == 0:
        return Fraction(arr.item())
    return tuple(_fractions(v) for v in arr)


def _input_dim(lg: LayerGraph, live: list) -> int | None:
    """The input dimension: every op before the first matrix or per-feature
    constant keeps the width, so the first such op fixes it."""
    for i in live:
        lay = lg.layers[i]
        if lay.op == "linear":
            return int(np.shape(lay["W"])[1])
        if lay.op in ("mul", "div", "shift") and not isinstance(lay["c"], Fraction):
            shape = np.shape(lay["c"])
            if int(np.prod(shape)) > 1:
                return int(shape[-1])
    return None


def to_network(lg: LayerGraph, max_denominator: int | None = None) -> Network:
    """The exact Network of a layer graph (see the module doc)."""
    src = lg.source
    live = lg.live()
    where = {"name": ""}

    def refuse_type(lay) -> UnsupportedLayerError:
        return UnsupportedLayerError(
            f"{src}: layer {lay.name!r} of type {lay.torch_type} is not supported; "
            f"supported: {', '.join(NETWORK_LAYERS)} (convolutions, pooling and "
            f"batch-norm are read by polyrelu.tropex)")

    for i in live:      # a layer a Network cannot hold: say so before anything else
        if lg.layers[i].op in ("conv2d", "maxpool2d", "avgpool2d", "batchnorm"):
            raise refuse_type(lg.layers[i])
    d0 = _input_dim(lg, live)
    if d0 is None:
        raise UnsupportedLayerError(f"{src}: no linear layer (Linear, F.linear, "
                                    f"aten::linear / matmul) or per-feature constant "
                                    f"fixes the input dimension")
    if lg.input_shape is not None and int(np.prod(lg.input_shape)) != d0:
        # a Network's input is one vector; Linear on the last axis of a larger
        # input is another function (one row at a time)
        raise UnsupportedLayerError(
            f"{src}: the model takes inputs of shape {tuple(lg.input_shape)}, but its "
            f"first layer reads {d0} features: it is applied to each row, which is not "
            f"one network on the whole input (flatten the input first)")
    b = ChainBuilder(d0, lambda msg: ShapeError(f"{src}: layer {where['name']!r}: {msg}"))

    def refuse(name: str, msg: str) -> UnsupportedLayerError:
        return UnsupportedLayerError(f"{src}: {name!r}: {msg}; supported: "
                                     f"{', '.join(NETWORK_LAYERS)}")

    def const(c: Any, n: int, name: str) -> list:
        """The constant ``c`` broadcast to ``n`` features (mpq)."""
        if isinstance(c, Fraction):
            return [q(c)] * n
        shape = tuple(int(x) for x in np.shape(c))
        flat = _q_array(np.asarray(c).reshape(-1))
        if len(flat) == 1:
            return flat * n
        if len(flat) == n and shape[-1] == n:
            return flat
        raise refuse(name, f"a constant of shape {shape} does not broadcast against "
                           f"one sample of {n} features")

    vals: dict[int, Value] = {0: b.input()}
    for i in live[1:]:
        lay = lg.layers[i]
        where["name"] = lay.name
        x = vals[lay.inputs[0]]
        op = lay.op
        if op == "linear":
            bias = lay["b"]
            vals[i] = b.linear(x, _q_array(lay["W"]),
                               None if bias is None else _q_array(bias))
        elif op == "act":
            vals[i] = b.activate(x, lay["kind"], lay["alpha"], repr(lay.name))
        elif op == "add":
            y = vals[lay.inputs[1]]
            a = lay["alpha"]
            if a != 1:
                y = b.scale(y, [q(a)] * y.out_dim, where=repr(lay.name))
            vals[i] = b.add(x, y, where=repr(lay.name))
        elif op == "mul":
            vals[i] = b.scale(x, const(lay["c"], x.out_dim, lay.name), where=repr(lay.name))
        elif op == "div":
            k = const(lay["c"], x.out_dim, lay.name)
            if any(c == 0 for c in k):
                raise refuse(lay.name, "division by zero")
            vals[i] = b.scale(x, [1 / c for c in k], where=repr(lay.name))
        elif op == "shift":
            vals[i] = b.add_const(x, const(lay["c"], x.out_dim, lay.name))
        elif op == "flatten":
            if not isinstance(lay["start_dim"], int) or lay["start_dim"] < 1:
                raise refuse_type_flatten(src, lay)
            vals[i] = x     # one sample's features in order: the identity
        elif op == "view":
            vals[i] = x     # (a view keeping the features in order; Linear checks widths)
        else:               # pragma: no cover - refused above
            raise refuse_type(lay)
    where["name"] = "output"
    return b.finish(vals[lg.output], max_denominator)


def refuse_type_flatten(src: str, lay) -> UnsupportedLayerError:
    return UnsupportedLayerError(
        f"{src}: layer {lay.name!r} of type Flatten(start_dim={lay['start_dim']}) (flattens "
        f"the batch) is not supported; supported: {', '.join(NETWORK_LAYERS)}")
