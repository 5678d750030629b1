"""Reading torch models -- the one torch reading layer of polyrelu -- and the
float64 export.

Readers (each returns a :class:`~polyrelu.io.torch.layers.LayerGraph`, the
operations torch runs; :func:`read_layers` picks one):

* :mod:`~polyrelu.io.torch.export` -- ``torch.export`` programs
  (``ExportedProgram``, ``.pt2`` files): **the recommended way** to hand a
  model to polyrelu;
* :mod:`~polyrelu.io.torch.eager` -- an ``nn.Sequential`` of torch.nn layers,
  position by position (a module instance used twice is read twice);
* :mod:`~polyrelu.io.torch.fx` -- any other eager module, traced with torch.fx,
  and GraphModules (also ``ExportedProgram.module()``);
* :mod:`~polyrelu.io.torch.torchscript` -- TorchScript modules (scripted,
  traced, ``torch.jit.load``): for existing files; TorchScript is deprecated.

Consumers: :func:`~polyrelu.io.torch.to_network.to_network` (an exact
:class:`~polyrelu.network.Network`: Linear, ReLU, LeakyReLU, Hardtanh(-1, 1),
Identity, Flatten, eval Dropout, residual additions, constant arithmetic
such as an input normalisation) and :mod:`polyrelu.tropex` (also Conv2d,
MaxPool2d, AvgPool2d, eval BatchNorm).  Files (:mod:`~polyrelu.io.torch.files`)
are checked member by member against their CRC-32s before torch reads them
(:mod:`~polyrelu.io.torch.archive`).  Weights (float16/32/64) are converted
exactly to dyadic rationals; consecutive linear maps compose exactly.
Anything a reader cannot represent raises
:class:`~polyrelu.exceptions.UnsupportedLayerError` naming the layer -- a
model is read as the network torch runs, or refused, never read as
something else.  torch is imported lazily: ``import polyrelu`` works without
it.

>>> import torch
>>> seq = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
>>> net = from_torch(seq)
>>> net.architecture
'2-3-1'
>>> from_torch(to_torch(net)) == net
True
>>> ep = torch.export.export(seq, (torch.zeros(1, 2),))
>>> from_torch(ep) == net
True
"""

from __future__ import annotations

from typing import Any

from ...exceptions import UnsupportedLayerError
from ...network import Network
from ._common import SUPPORTED_LAYERS, check_hooks, torch_module
from .export import EXPORT_OPS
from .files import from_state_dict, load_module, load_torch_file
from .layers import LayerGraph
from .torchscript import TORCHSCRIPT_OPS
from .writer import save_torchscript, to_torch

__all__ = ["from_torch", "read_layers", "to_torch", "load_torch_file", "from_state_dict",
           "save_torchscript", "load_module", "SUPPORTED_LAYERS", "TORCHSCRIPT_OPS",
           "EXPORT_OPS"]


def read_layers(model: Any, source: str | None = None) -> LayerGraph:
    """The :class:`~polyrelu.io.torch.layers.LayerGraph` of a torch model: an
    ``ExportedProgram``, a TorchScript module, an ``nn.Sequential`` or any
    module torch.fx traces.

    >>> import torch
    >>> act = torch.nn.ReLU()                  # one instance, two positions
    >>> seq = torch.nn.Sequential(torch.nn.Linear(2, 2), act, torch.nn.Linear(2, 2), act)
    >>> [layer.op for layer in read_layers(seq).layers]
    ['input', 'linear', 'act', 'linear', 'act']
    """
    torch = torch_module()
    from .export import is_exported_program, read_exported

    if is_exported_program(model):
        return read_exported(model, source or "ExportedProgram")
    if not isinstance(model, torch.nn.Module):
        raise UnsupportedLayerError(f"expected a torch.nn.Module or a torch.export "
                                    f"ExportedProgram, got {type(model).__name__}")
    src = source or type(model).__name__
    if isinstance(model, torch.jit.ScriptModule):
        from .torchscript import read_script

        return read_script(model, src)
    check_hooks(model, src)
    from .eager import read_sequential
    from .fx import read_fx

    lg = read_sequential(model, src)
    return lg if lg is not None else read_fx(model, src)


def from_torch(module: Any, max_denominator: int | None = None,
               source: str | None = None) -> Network:
    """Exact :class:`~polyrelu.network.Network` of a torch model (see the
    package doc): an ``ExportedProgram``, an ``nn.Module`` or a TorchScript
    module.

    Parameters
    ----------
    module : torch.export.ExportedProgram, torch.nn.Module or torch.jit.ScriptModule
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
    from .to_network import to_network
    from .writer import is_polyrelu_module, read_polyrelu_module

    if is_polyrelu_module(module):
        return read_polyrelu_module(module, max_denominator,
                                    source or type(module).__name__)
    return to_network(read_layers(module, source), max_denominator)
