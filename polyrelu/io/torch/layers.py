"""The layer graph: what a torch reader read, in torch's own terms.

Every torch reader (:mod:`~polyrelu.io.torch.eager`, :mod:`~polyrelu.io.torch.fx`,
:mod:`~polyrelu.io.torch.torchscript`, :mod:`~polyrelu.io.torch.export`) turns a
model into a :class:`LayerGraph`: the operations torch runs, in execution
order, each applied to the outputs of earlier ones.  Two consumers build on
it: :mod:`~polyrelu.io.torch.to_network` (an exact
:class:`~polyrelu.network.Network`) and :mod:`polyrelu.tropex` (its layer
graph of dense / conv / pooling / batch-norm ops).  So a model reads the same
way for both, and a reader fix reaches both.

A graph is in SSA form: a module called twice (a reused activation, a tied
``Linear``) is two layers, each reading what it was applied to; in-place
operations have been resolved by the reader (a mutated tensor is a new
layer that later uses read).  Layers are shape-free: ``linear`` knows its
matrix, not the batch size, so one graph serves every input shape (TropEx
checks shapes when it builds its own ops; the Network consumer infers the
input dimension from the first matrix or per-feature constant).

Numbers are exact: a parameter array is a ``float64`` numpy array (the exact
value of each float16/32/64 or bfloat16 entry: widening is exact) or an
``object`` array of :class:`~fractions.Fraction`; a scalar is a Fraction.
This module imports neither torch nor anything that does.

>>> g = GraphBuilder("demo")
>>> h = g.add("linear", (0,), "fc", "Linear", W=np.eye(2), b=None)
>>> r = g.add("act", (h,), "relu", "ReLU", kind="relu", alpha=None)
>>> lg = g.finish(r)
>>> [(l.op, l.inputs) for l in lg.layers]
[('input', ()), ('linear', (0,)), ('act', (1,))]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from ...exceptions import UnsupportedLayerError

__all__ = ["Layer", "LayerGraph", "GraphBuilder", "OPS", "exact_array"]

#: layer ops and their arguments (``inputs`` are indices of earlier layers)
OPS = {
    "input": (),
    "linear": ("W", "b"),                       # y = x W^T + b on the last axis
    "conv2d": ("W", "b", "stride", "padding", "dilation", "groups", "padding_mode"),
    "maxpool2d": ("kernel", "stride", "padding", "dilation", "ceil_mode"),
    "avgpool2d": ("kernel", "stride", "padding", "ceil_mode", "count_include_pad",
                  "divisor_override"),
    "batchnorm": ("mean", "var", "weight", "bias", "eps", "dims", "training"),
    "flatten": ("start_dim", "end_dim"),        # torch dims (0 = the batch axis)
    "view": ("shape",),                         # full shape; None = batch / unknown
    "act": ("kind", "alpha"),                   # relu | leaky_relu | hard_tanh
    "add": ("alpha",),                          # inputs (x, y): x + alpha y
    "mul": ("c",),                              # x * c (a constant)
    "div": ("c",),                              # x / c (a constant, exact division)
    "shift": ("c",),                            # x + c (a constant)
}


@dataclass(frozen=True, eq=False)
class Layer:
    """One operation: ``op`` (a key of :data:`OPS`) of the layers ``inputs``.

    ``name`` says where it is in the model (a module path such as ``'2'`` or
    ``'blk.0'``, an fx node, a TorchScript node, an aten op) and ``torch_type``
    what it is in torch (``'Linear'``, ``'F.relu'``, ``'aten::linear'``), for
    messages.
    """

    op: str
    inputs: tuple
    name: str
    torch_type: str
    args: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __getitem__(self, key: str) -> Any:
        return self.args[key]


@dataclass(frozen=True, eq=False)
class LayerGraph:
    """The layers of a model in execution order (layer 0 is the input) and
    the index of its output.  ``source`` names the model in messages;
    ``reader`` is the reader that made it; ``input_shape`` is the shape of
    one input when the model fixes it (a ``torch.export`` program), else
    None."""

    layers: tuple
    output: int
    source: str
    reader: str
    input_shape: tuple | None = None

    def live(self) -> list:
        """Indices of the layers the output depends on, in order (a layer whose
        result is never used does not change the function)."""
        need = {self.output}
        for j in range(self.output, -1, -1):
            if j in need:
                need.update(self.layers[j].inputs)
        return sorted(need)


class GraphBuilder:
    """Appends layers for a reader; ``finish`` returns the graph."""

    def __init__(self, source: str, reader: str = "") -> None:
        self.source = source
        self.reader = reader
        self.layers: list = [Layer("input", (), "input", "input")]

    def add(self, op: str, inputs: tuple, name: str, torch_type: str, **args: Any) -> int:
        if op not in OPS:     # pragma: no cover - a reader bug
            raise AssertionError(op)
        inputs = tuple(int(i) for i in inputs)
        if any(not 0 <= i < len(self.layers) for i in inputs):  # pragma: no cover
            raise AssertionError(inputs)
        self.layers.append(Layer(op, inputs, name, torch_type, MappingProxyType(args)))
        return len(self.layers) - 1

    def finish(self, output: int, input_shape: tuple | None = None) -> LayerGraph:
        if output == 0 or len(self.layers) < 2:
            raise UnsupportedLayerError(f"{self.source}: the model computes no layer "
                                        f"(its output is its input)")
        return LayerGraph(tuple(self.layers), int(output), self.source, self.reader,
                          input_shape)


def exact_array(c: Any) -> np.ndarray:
    """An object array of Fractions for a constant (Fraction, float64 or
    object array): every entry converted exactly.

    >>> exact_array(np.array([0.5, -0.25])).tolist()
    [Fraction(1, 2), Fraction(-1, 4)]
    """
    if isinstance(c, Fraction):
        return np.array(c, dtype=object)
    a = np.asarray(c)
    if a.dtype == object:
        return a
    out = np.empty(a.shape, dtype=object)
    flat = out.reshape(-1)
    for i, v in enumerate(a.reshape(-1).tolist()):
        flat[i] = Fraction(v)
    return out
