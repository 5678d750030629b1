"""PyTorch import (exact) and float64 export -- the names of
:mod:`polyrelu.io.torch`, kept here for existing code.

The readers live in :mod:`polyrelu.io.torch` (one module per reader: eager
Sequentials, torch.fx, TorchScript, torch.export; archive checks; the layer
graph both :class:`~polyrelu.network.Network` and :mod:`polyrelu.tropex`
consume).

>>> import torch
>>> seq = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
>>> from_torch(seq).architecture
'2-3-1'
"""

from __future__ import annotations

from .torch import (
    EXPORT_OPS,
    SUPPORTED_LAYERS,
    TORCHSCRIPT_OPS,
    from_state_dict,
    from_torch,
    load_module,
    load_torch_file,
    read_layers,
    save_torchscript,
    to_torch,
)
from .torch.fx import fx_trace

__all__ = ["from_torch", "to_torch", "load_torch_file", "from_state_dict",
           "save_torchscript", "read_layers", "load_module", "fx_trace",
           "SUPPORTED_LAYERS", "TORCHSCRIPT_OPS", "EXPORT_OPS"]


def __getattr__(name: str):
    # PolyreluTorchNet is created lazily so that torch is imported only on use.
    if name == "PolyreluTorchNet":
        from .torch.writer import polyrelu_torch_class

        return polyrelu_torch_class()
    raise AttributeError(name)
