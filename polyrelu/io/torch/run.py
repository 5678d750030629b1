"""Running a torch model's own forward pass in float64 (to cross-check what
a reader read against what torch computes; never to decide anything)."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np

from ...exceptions import ModelFileError
from ._common import first_line, torch_module

__all__ = ["forward64"]


def forward64(model: Any, X: Any, source: str = "model") -> np.ndarray:
    """The float64 outputs ``(N, s)`` of ``model``'s own forward pass on the
    points ``X`` (an ``nn.Module``, TorchScript module or ``ExportedProgram``;
    float64 holds float16/32 weights exactly).  A program exported with a
    fixed batch size runs point by point.  The model itself is not changed.

    >>> import torch
    >>> lin = torch.nn.Linear(2, 1)
    >>> forward64(lin, [[0.0, 0.0]]).shape
    (1, 1)
    """
    torch = torch_module()
    from .export import is_exported_program

    Xt = torch.as_tensor(np.asarray(X, dtype=np.float64))
    try:
        with warnings.catch_warnings():
            # (copying a loaded module makes torch warn about .grad of its
            # parameters, and an exported module about pytree specs)
            warnings.simplefilter("ignore")
            m = copy.deepcopy(model.module() if is_exported_program(model) else model)
            m.double()
        with torch.no_grad():
            try:
                out = m(Xt)
            except Exception:
                if not is_exported_program(model):
                    raise
                out = torch.cat([m(Xt[i:i + 1]) for i in range(len(Xt))])
    except Exception as e:
        raise ModelFileError(f"{source}: running the model on the points failed "
                             f"({first_line(e)})") from None
    if isinstance(out, (tuple, list)) and len(out) == 1:
        out = out[0]
    if not isinstance(out, torch.Tensor) or out.numel() % max(len(Xt), 1):
        raise ModelFileError(f"{source}: the model's forward returns "
                             f"{type(out).__name__} {tuple(getattr(out, 'shape', ()))}, "
                             f"not one output row per point")
    return out.reshape(len(Xt), -1).numpy()
