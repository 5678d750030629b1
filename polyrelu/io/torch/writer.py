"""Float64 torch export of a Network (:func:`to_torch`, :func:`save_torchscript`)
and the reader of polyrelu's own ``PolyreluTorchNet``.

A network without skips becomes an ``nn.Sequential`` of ``Linear`` and the
activation; one with skips (or an input map) a small ``PolyreluTorchNet``
whose ``polyrelu_spec`` string records the skips, the activation and the
exact slope, so that its TorchScript archive -- whose loop over the layers no
graph reader follows -- reads back.  The spec is trusted only for modules
that run polyrelu's own code (the eager class, or TorchScript whose code is
the scripted class's), and only when it agrees with the attributes that code
uses (``skip_from``, ``act``, ``alpha``).
"""

from __future__ import annotations

import os
import typing
from typing import Any

from ...exceptions import ModelFileError, PolyreluError
from ...network import Network
from ...numbers import to_fraction
from .._builder import export_float, export_rows
from ._common import tensor_array, torch_module

__all__ = ["to_torch", "save_torchscript", "is_polyrelu_module", "read_polyrelu_module",
           "polyrelu_torch_class"]

_torch = torch_module


def _tensor_q(t, what):
    from .to_network import _q_array

    return _q_array(tensor_array(t, what))


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


def polyrelu_torch_class():
    """The ``PolyreluTorchNet`` module class (created on first use, so
    that torch is imported only then)."""
    global _CLASS
    if _CLASS is None:
        _CLASS = _make_module_class()
    return _CLASS


def __getattr__(name: str):
    if name == "PolyreluTorchNet":
        return polyrelu_torch_class()
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
        cls = polyrelu_torch_class()
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


_CODE: dict = {}


def _reference_code(n_linears: int, n_inmap: int) -> str:
    """The TorchScript code of polyrelu's own class for these layer counts
    (scripting unrolls the loops over the ModuleLists)."""
    key = (n_linears, n_inmap)
    if key not in _CODE:
        torch = _torch()
        lin = [torch.nn.Linear(1, 1) for _ in range(n_linears)]
        imap = [torch.nn.Linear(1, 1) for _ in range(n_inmap)]
        ref = polyrelu_torch_class()(lin, "relu", 0.0, {}, "relu|0|", imap)
        _CODE[key] = torch.jit.script(ref).code
    return _CODE[key]


def _children(ml) -> list:
    """Every position of a ModuleList (a module at two positions twice)."""
    return [m for _, m in sorted(ml._modules.items(), key=lambda t: int(t[0]))]


def is_polyrelu_module(m: Any) -> bool:
    """``m`` runs polyrelu's own ``PolyreluTorchNet`` code: the eager
    class itself, or TorchScript whose forward is that class's scripted code."""
    if not hasattr(m, "polyrelu_spec"):
        return False
    torch = _torch()
    if not isinstance(m, torch.jit.ScriptModule):
        return type(m) is polyrelu_torch_class()
    from .torchscript import script_class

    try:
        lins, imap = _children(m.linears), _children(m.inmap)
        if any(script_class(x) != ("Linear", True) for x in lins + imap):
            return False
        return m.code == _reference_code(len(lins), len(imap))
    except Exception:
        return False


def read_polyrelu_module(module, max_denominator, src) -> Network:
    """The Network of a ``PolyreluTorchNet`` (see :func:`is_polyrelu_module`):
    the layers from its Linears, skips and activation from ``polyrelu_spec``
    after checking them against the attributes its forward uses."""
    from ...linalg import mpq_to_fraction

    activation, alpha, skips, has_inmap = _parse_spec(str(module.polyrelu_spec), src)
    lins, imap = _children(module.linears), _children(module.inmap)
    want = [list(skips.get(l, ())) for l in range(1, len(lins) + 1)]
    if [list(x) for x in module.skip_from] != want or str(module.act) != activation or (
            activation == "leaky_relu" and float(module.alpha) != float(alpha)) or \
            has_inmap != bool(imap):
        raise ModelFileError(f"{src}: its polyrelu_spec {str(module.polyrelu_spec)!r} "
                             f"disagrees with the skips, activation or slope its forward "
                             f"uses; the module was changed after export")

    def rows(t, what):
        return [[mpq_to_fraction(x) for x in row] for row in _tensor_q(t, what)]

    def vec(t, what):
        return [mpq_to_fraction(x) for x in _tensor_q(t, what)]

    input_map = None
    if imap:
        if len(imap) != 1:
            raise ModelFileError(f"{src}: polyrelu_spec names an input map but the "
                                 f"module has {len(imap)}")
        input_map = (rows(imap[0].weight, f"{src}: inmap.0.weight"),
                     vec(imap[0].bias, f"{src}: inmap.0.bias"))
    layers = [(rows(lin.weight, f"{src}: linears.{i}.weight"),
               vec(lin.bias, f"{src}: linears.{i}.bias")) for i, lin in enumerate(lins)]
    try:
        return Network.from_weights(layers, skips=skips or None, activation=activation,
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


