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
* TorchScript modules (``torch.jit.load``): scripted/traced Sequentials are
  read child by child; modules written by :func:`to_torch` carry their skips.

Consecutive ``Linear`` layers without an activation between them are composed
exactly.  Weights (float32/float64/half) are converted exactly to dyadic
rationals.  ``Dropout`` is read as the identity: the exact network is the
module's *eval-mode* function (call ``module.eval()`` before comparing
outputs).  Anything else raises :class:`~polyrelu.exceptions.UnsupportedLayerError`
naming the layer and listing what is supported.  torch is imported lazily:
``import polyrelu`` works without it.

>>> import torch
>>> seq = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
>>> net = from_torch(seq)
>>> net.architecture
'2-3-1'
>>> from_torch(to_torch(net)) == net
True
"""

from __future__ import annotations

import operator
import os
import typing
from typing import Any

from ..exceptions import ModelFileError, PolyreluError, ShapeError, UnsupportedLayerError
from ..network import Network
from ..numbers import rationalize, to_fraction
from ._builder import ChainBuilder, Value, fractions_to_q

__all__ = ["from_torch", "to_torch", "load_torch_file", "from_state_dict",
           "save_torchscript", "SUPPORTED_LAYERS"]

SUPPORTED_LAYERS = ("Linear", "ReLU", "LeakyReLU", "Hardtanh(-1, 1)", "Identity",
                    "Flatten", "Dropout", "Sequential", "residual addition of "
                    "post-activation values")


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
        if kind == "LeakyReLU":
            a = to_fraction(float(m.negative_slope), "LeakyReLU negative_slope")
            return self.b.activate(v, "leaky_relu", a, repr(self.where["name"]))
        if kind == "Hardtanh":
            if float(m.min_val) != -1.0 or float(m.max_val) != 1.0:
                raise UnsupportedLayerError(
                    f"{self.where['src']}: layer {self.where['name']!r}: Hardtanh("
                    f"{m.min_val}, {m.max_val}) is not supported; only Hardtanh(-1, 1) "
                    f"(hard tanh)")
            return self.b.activate(v, "hard_tanh", None, repr(self.where["name"]))
        if kind in ("Identity", "Flatten", "Dropout"):
            if kind == "Flatten" and getattr(m, "start_dim", 1) < 1:
                raise self.unsupported("Flatten(start_dim=0) (flattens the batch)")
            return v
        raise self.unsupported(kind)


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
        raise UnsupportedLayerError(
            f"{src}: TorchScript module of type {kind}: only scripted/traced "
            f"nn.Sequential models and modules exported by polyrelu can be read "
            f"(TorchScript code cannot be traced); supported layers: {_supported()}")
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


def _from_fx(module, max_denominator, src) -> Network:
    torch = _torch()
    import torch.fx as fx
    import torch.nn.functional as F

    try:
        gm = fx.symbolic_trace(module)
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
    placeholders = 0
    out_value = None
    adds = {operator.add, torch.add, operator.iadd}
    acts = {F.relu: "ReLU", torch.relu: "ReLU", F.leaky_relu: "LeakyReLU",
            F.hardtanh: "Hardtanh", torch.flatten: "Flatten"}

    def arg(a):
        if isinstance(a, fx.Node) and env.get(a) is _SHAPE:
            raise UnsupportedLayerError(
                f"{src}: {where['name']!r}: tensor sizes may only be used to reshape")
        if isinstance(a, fx.Node):
            if a not in env:
                raise UnsupportedLayerError(
                    f"{src}: layer {where['name']!r} uses {a.name!r}, which is not "
                    f"computed from the input (constants/parameters in the graph are "
                    f"only supported inside Linear layers)")
            return env[a]
        return a

    for node in gm.graph.nodes:
        where["name"] = str(node.target) if node.op == "call_module" else node.name
        if node.op == "placeholder":
            placeholders += 1
            if placeholders > 1:
                raise UnsupportedLayerError(f"{src}: forward takes more than one input")
            env[node] = b.input()
        elif node.op == "call_module":
            m = mods[node.target]
            env[node] = walker.module(m, arg(node.args[0]), _kind(m))
        elif node.op == "call_function" and node.target in adds:
            x, y = node.args[0], node.args[1]
            if isinstance(x, fx.Node) and isinstance(y, fx.Node):
                env[node] = b.add(arg(x), arg(y))
            else:
                raise UnsupportedLayerError(
                    f"{src}: {node.name!r}: adding a constant outside a Linear layer is "
                    f"not supported; supported: {_supported()}")
        elif node.op == "call_function" and node.target in acts:
            kind = acts[node.target]
            x = arg(node.args[0])
            if kind == "ReLU":
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
        elif node.op == "call_method" and node.target in ("relu", "flatten", "view",
                                                            "reshape", "add"):
            x = arg(node.args[0])
            if node.target == "relu":
                env[node] = b.activate(x, "relu", None, repr(node.name))
            elif node.target == "add":
                y = node.args[1]
                if not isinstance(y, fx.Node):
                    raise UnsupportedLayerError(f"{src}: {node.name!r}: adding a "
                                                f"constant is not supported")
                env[node] = b.add(x, arg(y))
            else:
                # flatten/view/reshape keep a single sample's features in order;
                # the exact network treats them as the identity on that vector.
                env[node] = x
        elif node.op == "output":
            out = node.args[0]
            if not isinstance(out, fx.Node):
                raise UnsupportedLayerError(f"{src}: forward must return one tensor")
            out_value = arg(out)
        elif node.op == "get_attr":
            continue
        else:
            what = getattr(node.target, "__name__", str(node.target))
            raise UnsupportedLayerError(
                f"{src}: operation {what!r} ({node.op}) at {node.name!r} is not "
                f"supported; supported: {_supported()}, F.relu, F.leaky_relu, "
                f"F.hardtanh, F.linear, +")
    if out_value is None:  # pragma: no cover - fx graphs always have an output
        raise UnsupportedLayerError(f"{src}: no output")
    where["name"] = "output"
    return _finish(b, out_value, max_denominator)


_SHAPE = object()      # marker for x.size()/x.shape values in fx graphs


def _get_attr(gm, target: str):
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


# ------------------------------------------------------------------ export
def _spec_string(net: Network) -> str:
    skips = ";".join(f"{t}:{','.join(str(s) for s in src)}" for t, src in net.skips)
    return f"{net.activation}|{net.alpha}|{skips}"


def _parse_spec(spec: str, src: str):
    try:
        activation, alpha, skips = spec.split("|")
        sk = {}
        for part in filter(None, skips.split(";")):
            t, s = part.split(":")
            sk[int(t)] = [int(x) for x in s.split(",")]
        return activation, to_fraction(alpha, "polyrelu_spec alpha"), sk
    except (ValueError, PolyreluError):
        raise ModelFileError(f"{src}: malformed polyrelu_spec {spec!r}") from None


def _make_module_class():
    torch = _torch()
    nn = torch.nn

    class PolyreluTorchNet(nn.Module):
        """Float64 module with skips: ``u_l = nu_{l-1} + sum_k nu_k`` (J&V eq. 46)."""

        def __init__(self, linears, activation: str, alpha: float,
                     skips: dict, spec: str):
            super().__init__()
            self.linears = nn.ModuleList(linears)
            self.act = activation
            self.alpha = alpha
            self.polyrelu_spec = spec
            self.skip_from = [list(skips.get(l, ())) for l in range(1, len(linears) + 1)]

        def forward(self, x):
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
    :class:`PolyreluTorchNet` (skips in its ``polyrelu_spec``) otherwise.

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
    linears = []
    for layer in net.layers:
        lin = nn.Linear(layer.in_dim, layer.out_dim, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor([[float(v) for v in row] for row in layer.W],
                                          dtype=torch.float64))
            lin.bias.copy_(torch.tensor([float(v) for v in layer.b], dtype=torch.float64))
        linears.append(lin)
    if net.skips:
        cls = __getattr__("PolyreluTorchNet")
        m = cls(linears, net.activation, float(net.alpha), net.skip_map,
                _spec_string(net))
        return m.eval()

    def act():
        if net.activation == "relu":
            return nn.ReLU()
        if net.activation == "leaky_relu":
            return nn.LeakyReLU(float(net.alpha))
        return nn.Hardtanh(-1.0, 1.0)

    mods: list = []
    for i, lin in enumerate(linears):
        mods.append(lin)
        if i < len(linears) - 1:
            mods.append(act())
    return nn.Sequential(*mods).eval()


def _from_polyrelu_module(module, max_denominator, src) -> Network:
    activation, alpha, skips = _parse_spec(str(module.polyrelu_spec), src)
    layers = []
    # named_children works for eager and loaded TorchScript ModuleLists alike.
    children = sorted(module.linears.named_children(), key=lambda t: int(t[0]))
    for i, (_, lin) in enumerate(children):
        W = _tensor_q(lin.weight, f"{src}: linears.{i}.weight")
        b = _tensor_q(lin.bias, f"{src}: linears.{i}.bias")
        layers.append((W, b))
    from ..linalg import mpq_to_fraction

    try:
        return Network.from_weights(
            [([[mpq_to_fraction(x) for x in row] for row in W],
              [mpq_to_fraction(x) for x in b]) for W, b in layers],
            skips=skips or None, activation=activation,
            alpha=alpha if activation == "leaky_relu" else None,
            max_denominator=max_denominator)
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


def load_torch_file(path: Any, arch: str | None = None,
                    max_denominator: int | None = None) -> Network:
    """Read a TorchScript archive, or a state dict when ``arch`` is given."""
    torch = _torch()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError(f"model file not found: {path}")
    if arch is not None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:
            raise ModelFileError(f"{path}: cannot read a torch state dict (malformed "
                                 f"or truncated): {type(e).__name__}: "
                                 f"{str(e).splitlines()[0] if str(e) else ''}") from None
        if isinstance(state, dict) and "state_dict" in state and isinstance(
                state["state_dict"], dict):
            state = state["state_dict"]
        return _file_errors(path, lambda: from_state_dict(state, arch, max_denominator,
                                                          source=path))
    try:
        module = torch.jit.load(path, map_location="cpu")
    except Exception as e:
        hint = ""
        try:
            import zipfile

            if zipfile.is_zipfile(path):
                hint = (" (if this is a state dict saved with torch.save, pass its "
                        "architecture: arch='2-16-16-1' / --arch 2-16-16-1)")
        except OSError:
            pass
        raise ModelFileError(f"{path}: not a readable TorchScript archive (malformed "
                             f"or truncated){hint}: {type(e).__name__}: "
                             f"{str(e).splitlines()[0] if str(e) else ''}") from None
    return _file_errors(path, lambda: from_torch(module, max_denominator=max_denominator,
                                                 source=path))


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
