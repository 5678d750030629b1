"""Eager torch modules: an ``nn.Sequential`` read layer by layer, and the
torch.nn layers read from their attributes (also by the fx and TorchScript
readers).

A Sequential runs ``for module in self: x = module(x)`` over
``self._modules.values()``: every position, also a module instance that
appears at several positions (a reused activation, a tied ``Linear``).  The
reader walks the same list -- not ``named_children()``, which lists a module
once however often it is called (issue 19: a reused ReLU made two Linears
look consecutive, and they were composed into one).

Only Sequentials whose every leaf is a torch.nn layer are read here; any
other module (a user's residual block, a subclass of a torch layer with its
own ``forward``) is read by :mod:`~polyrelu.io.torch.fx`, which traces the
code torch runs.
"""

from __future__ import annotations

from typing import Any

from ...exceptions import UnsupportedLayerError
from ...numbers import to_fraction
from ._common import Val, check_dropout, pair, tensor_array, torch_module
from .layers import GraphBuilder, LayerGraph

__all__ = ["read_sequential", "module_layer", "leaf_kind", "LEAF_TYPES",
           "plain_sequential"]

#: torch.nn layers read from their attributes
LEAF_TYPES = ("Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d",
              "Flatten", "ReLU", "LeakyReLU", "Hardtanh", "Identity", "Dropout")

#: the supported layers of every torch reader (each consumer takes a subset)
READER_LAYERS = ("Linear", "ReLU", "LeakyReLU", "Hardtanh(-1, 1)", "Identity", "Flatten",
                 "Dropout (eval mode)", "Sequential", "Conv2d", "MaxPool2d", "AvgPool2d",
                 "BatchNorm1d/2d (eval mode)", "residual additions", "+ - * / by numbers "
                 "and per-feature constants")


def leaf_kind(m: Any) -> str | None:
    """The torch.nn layer class whose code computes ``m`` (``"Linear"``, ...),
    or None for a module defined elsewhere (a user's subclass runs its own
    code) or a torch.nn class not in :data:`LEAF_TYPES`."""
    import torch.nn as nn

    if not type(m).__module__.startswith("torch.nn."):
        return None
    for k in LEAF_TYPES:
        if isinstance(m, getattr(nn, k)):
            return k
    return None


def plain_sequential(m: Any) -> bool:
    """An ``nn.Sequential`` running torch's own forward."""
    import torch.nn as nn

    return isinstance(m, nn.Sequential) and type(m).forward is nn.Sequential.forward \
        and type(m).__call__ is nn.Module.__call__


def _reader_supported() -> str:
    return ", ".join(READER_LAYERS)


def module_layer(g: GraphBuilder, m: Any, kind: str, x: Val, name: str, src: str) -> Val:
    """Append the layer of the torch.nn layer ``m`` of class ``kind`` (eager
    or scripted: the same attributes) applied to ``x``."""
    at = f"{src}: layer {name!r}"

    def arr(t, what):
        return None if t is None else tensor_array(t, f"{at} {what}")

    def add(op: str, **args: Any) -> Val:
        return Val(g.add(op, (x.index,), name, kind, **args))

    if kind == "Linear":
        return add("linear", W=arr(m.weight, "weight"), b=arr(getattr(m, "bias", None),
                                                                  "bias"))
    if kind == "Conv2d":
        return add("conv2d", W=arr(m.weight, "weight"), b=arr(getattr(m, "bias", None), "bias"),
                   stride=pair(m.stride), padding=m.padding if isinstance(m.padding, str)
                   else pair(m.padding), dilation=pair(m.dilation), groups=int(m.groups),
                   padding_mode=str(m.padding_mode))
    if kind == "MaxPool2d":
        if m.return_indices:
            raise UnsupportedLayerError(f"{at}: MaxPool2d(return_indices=True) returns a "
                                        f"tuple; supported: {_reader_supported()}")
        st = m.stride if m.stride not in (None, [], ()) else m.kernel_size
        return add("maxpool2d", kernel=pair(m.kernel_size), stride=pair(st),
                   padding=pair(m.padding), dilation=pair(m.dilation),
                   ceil_mode=bool(m.ceil_mode))
    if kind == "AvgPool2d":
        st = m.stride if m.stride not in (None, [], ()) else m.kernel_size
        return add("avgpool2d", kernel=pair(m.kernel_size), stride=pair(st),
                   padding=pair(m.padding), ceil_mode=bool(m.ceil_mode),
                   count_include_pad=bool(m.count_include_pad),
                   divisor_override=m.divisor_override)
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        # training / missing statistics (batch statistics): the consumer refuses
        stats = m.running_mean is not None and m.running_var is not None
        return add("batchnorm", training=bool(m.training or not stats),
                   mean=arr(m.running_mean, "running_mean"),
                   var=arr(m.running_var, "running_var"),
                   weight=arr(getattr(m, "weight", None), "weight"),
                   bias=arr(getattr(m, "bias", None), "bias"), eps=float(m.eps),
                   dims=(1, 2) if kind == "BatchNorm1d" else (3,))
    if kind == "Flatten":
        return add("flatten", start_dim=int(m.start_dim), end_dim=int(m.end_dim))
    if kind == "ReLU":
        return add("act", kind="relu", alpha=None)
    if kind == "LeakyReLU":
        return add("act", kind="leaky_relu",
                   alpha=to_fraction(float(m.negative_slope), f"{at}: LeakyReLU "
                                                              f"negative_slope"))
    if kind == "Hardtanh":
        lo, hi = float(m.min_val), float(m.max_val)
        if (lo, hi) != (-1.0, 1.0):
            raise UnsupportedLayerError(f"{at}: Hardtanh({lo}, {hi}) is not supported; "
                                        f"only Hardtanh(-1, 1) (hard tanh)")
        return add("act", kind="hard_tanh", alpha=None)
    if kind == "Identity":
        return x
    if kind == "Dropout":
        check_dropout(getattr(m, "p", None), getattr(m, "training", False), at)
        return x
    raise UnsupportedLayerError(f"{at} of type {kind} is not supported; supported: "
                                f"{_reader_supported()}")


def _leaves(m: Any, prefix: str, out: list) -> bool:
    """``(path, module)`` of the layers a Sequential runs, in order (every
    position); False when some module is not a torch.nn module."""
    for key, child in m._modules.items():
        path = f"{prefix}{key}"
        if child is None:
            return False
        if plain_sequential(child):
            if not _leaves(child, path + ".", out):
                return False
        elif type(child).__module__.startswith("torch.nn.") and not \
                type(child).__name__.startswith(("ModuleList", "ModuleDict")):
            out.append((path, child))
        else:
            return False
    return True


def read_sequential(m: Any, src: str) -> LayerGraph | None:
    """The layer graph of a plain Sequential of torch.nn layers, or None when
    it holds anything else (then torch.fx reads it)."""
    if not plain_sequential(m):
        return None
    leaves: list = []
    if not _leaves(m, "", leaves):
        return None
    if not leaves:
        raise UnsupportedLayerError(f"{src}: empty Sequential")
    torch_module()
    g = GraphBuilder(src, "eager")
    x = Val(0)
    for path, child in leaves:
        x = module_layer(g, child, leaf_kind(child) or type(child).__name__, x, path, src)
    return g.finish(x.index)
