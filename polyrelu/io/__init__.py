"""Reading and writing networks: exact JSON, ONNX, torch (torch.export,
TorchScript, state dicts), .nnet.

:func:`load` dispatches on the file extension:

* ``.json``: polyrelu's exact format (:mod:`polyrelu.io.jsonio`);
* ``.onnx``: ONNX graphs of MatMul/Gemm/Add/Relu/... (:mod:`polyrelu.io.onnxio`);
* ``.pt2``: a torch.export program (``torch.export.save``; the recommended
  torch format, :mod:`polyrelu.io.torch`);
* ``.pt``, ``.pth``, ``.ts``: a TorchScript archive, or a torch state dict when
  ``arch="2-16-16-1"`` is given (:mod:`polyrelu.io.torch`);
* ``.nnet``: the ACAS Xu text format (:mod:`polyrelu.io.nnet`).

Float weights (ONNX, torch, .nnet) are converted *exactly* (every float is a
dyadic rational) unless ``max_denominator`` asks for rounding; the largest
change is then kept in ``net.rounding_error``.

>>> net = load_default_model()
>>> net.architecture
'2-8-8-1'
"""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

from ..exceptions import ModelFileError
from ..network import Network

__all__ = ["load", "save", "load_default_model", "SUPPORTED_EXTENSIONS",
           "DEFAULT_MODEL"]

#: extension -> description (for error messages)
SUPPORTED_EXTENSIONS = {
    ".json": "polyrelu exact JSON",
    ".onnx": "ONNX",
    ".pt2": "torch.export program (torch.export.save)",
    ".pt": "TorchScript archive or torch state dict (with arch=)",
    ".pth": "TorchScript archive or torch state dict (with arch=)",
    ".ts": "TorchScript archive",
    ".nnet": "ACAS Xu .nnet text format",
}

#: resource name of the embedded demo model inside ``polyrelu/data``
DEFAULT_MODEL = "default_model.json"


def _supported() -> str:
    return ", ".join(f"{e} ({d})" for e, d in SUPPORTED_EXTENSIONS.items())


def load(path: Any, arch: str | None = None,
         max_denominator: int | None = None) -> Network:
    """Load a network from a model file, by extension.

    Parameters
    ----------
    path : str or path-like
    arch : str, optional
        Architecture such as ``"2-16-16-1"`` for a torch *state dict* (an
        ``nn.Sequential`` of ``Linear`` and ``ReLU`` of these widths); for an
        exported program or TorchScript archive it is checked.
    max_denominator : int, optional
        Round every weight to at most this denominator (reported in
        ``net.rounding_error``); default: exact conversion.

    Raises
    ------
    ModelFileError
        Missing, malformed or truncated file, or an unknown extension.
    UnsupportedLayerError
        A layer or operator polyrelu cannot represent exactly.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "m.json")
    >>> save(load_default_model(), p)
    >>> load(p) == load_default_model()
    True
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise ModelFileError(f"{path}: unknown model file extension {ext!r}; "
                             f"supported: {_supported()}")
    if not os.path.exists(path):
        raise ModelFileError(f"model file not found: {path}")
    if os.path.isdir(path):
        raise ModelFileError(f"{path}: is a directory, not a model file")
    if arch is not None and ext in (".json", ".onnx", ".nnet"):
        # the file states its own architecture; silently ignoring arch would
        # let a user believe it was checked
        raise ModelFileError(f"{path}: an architecture (arch / --arch) is only read for "
                             f"torch state dicts (.pt/.pth); a {ext} file states its own")
    if ext == ".json":
        from .jsonio import load_json

        return load_json(path, max_denominator=max_denominator)
    if ext == ".onnx":
        from .onnxio import load_onnx

        return load_onnx(path, max_denominator=max_denominator)
    if ext == ".nnet":
        from .nnet import load_nnet

        return load_nnet(path, max_denominator=max_denominator)
    from .torch import load_torch_file

    return load_torch_file(path, arch=arch, max_denominator=max_denominator)


def save(net: Network, path: Any) -> None:
    """Write ``net`` as exact JSON (the only lossless format).

    Use ``polyrelu export`` or :func:`polyrelu.io.torch.to_torch` /
    :func:`polyrelu.io.onnxio.save_onnx` for float64 TorchScript / ONNX.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext != ".json":
        raise ModelFileError(f"{path}: save writes exact JSON; use a .json file "
                             f"name (export to ONNX/TorchScript with "
                             f"'polyrelu export')")
    from .jsonio import save_json

    save_json(net, path)


def load_default_model(max_denominator: int | None = None) -> Network:
    """The embedded 2-8-8-1 ReLU demo network (trained on J&V's phi_2 on
    [-10, 10]^2 by ``polyrelu/data/train_default_model.py``, which ships
    with it), exact (or rounded as :func:`load` rounds with ``max_denominator``).

    >>> load_default_model().input_dim
    2
    """
    from .jsonio import loads

    try:
        text = resources.files("polyrelu").joinpath("data").joinpath(DEFAULT_MODEL).read_text(
            encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        raise ModelFileError(f"the embedded default model polyrelu/data/"
                             f"{DEFAULT_MODEL} is missing from this installation"
                             ) from None
    return loads(text, source=f"polyrelu/data/{DEFAULT_MODEL}",
                 max_denominator=max_denominator)
