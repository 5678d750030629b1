"""Torch model files: torch.export archives (``.pt2``), TorchScript archives
and state dicts (``.pt``, ``.pth``, ``.ts``).

Every file is read once and checked (:mod:`~polyrelu.io.torch.archive`:
every member's CRC-32) before torch sees it; torch then reads the checked
bytes.  Nothing here unpickles code: a state dict is read with
``torch.load(weights_only=True)``, a whole pickled module is refused (unless
the caller of :func:`load_module` allows it), and a ``.pt2`` archive is
refused when ``torch.export.load`` would unpickle anything (pickled tensor
subclasses or objects, compiled AOTInductor code, the legacy format, sample
inputs that need ``weights_only=False``).
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

from ...exceptions import ModelFileError, PolyreluError, UnsupportedLayerError
from ...network import Network
from ._common import first_line, torch_module
from .archive import Archive, read_archive

__all__ = ["load_torch_file", "from_state_dict", "load_program", "load_module"]


def _quiet(fn):
    """Run a torch loader with its warnings and log messages silenced (its
    complaints reach the user as errors)."""
    import logging

    loggers = [logging.getLogger(n) for n in ("torch.export", "torch._export",
                                              "torch.export.pt2_archive._package")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    finally:
        for lg, lv in zip(loggers, levels):
            lg.setLevel(lv)


def _pickled_module_message(path: str) -> str:
    return (f"{path}: a whole torch object pickled with torch.save (not a state dict, "
            f"TorchScript archive or torch.export program); unpickling it would run "
            f"arbitrary code, so it is not read: save torch.export.export(model, (x,)) "
            f"with torch.export.save, torch.jit.script(model), or model.state_dict() "
            f"(read with --arch) instead")


def file_errors(path: str, build):
    """Bad numbers or shapes read from a file are a :class:`ModelFileError`
    naming the file (unsupported layers stay :class:`UnsupportedLayerError`)."""
    try:
        return build()
    except (ModelFileError, UnsupportedLayerError):
        raise
    except PolyreluError as e:
        msg = str(e)
        raise ModelFileError(msg if path in msg else f"{path}: {msg}") from None


# ------------------------------------------------------------------ pt2
def _strip_root(name: str) -> str:
    return name.split("/", 1)[1] if "/" in name else name


def _check_pt2(ar: Archive) -> None:
    """Refuse a torch.export archive whose loading would unpickle code."""
    path = ar.path
    rel = {_strip_root(n): n for n in ar.names}
    if "serialized_exported_program.json" in ar.names or any(
            r.startswith("data/weights/") and r.endswith(".pt") for r in rel):
        raise ModelFileError(f"{path}: a torch.export archive in the legacy format "
                             f"(pickled weights); re-save the program with "
                             f"torch.export.save of torch >= 2.8")
    if any(r.startswith(("data/aotinductor/", "data/executorch/", "data/mtia")) for r in rel):
        raise ModelFileError(f"{path}: holds compiled code (AOTInductor / ExecuTorch), "
                             f"which polyrelu does not load; save the ExportedProgram "
                             f"itself with torch.export.save")
    if "models/model.json" not in rel:
        raise ModelFileError(f"{path}: a torch.export archive without the program "
                             f"'models/model.json'")
    for r, full in rel.items():
        if r.endswith(("_weights_config.json", "_constants_config.json")):
            try:
                cfg = json.loads(ar.member(full).decode("utf-8"))["config"]
                items = list(cfg.items())
            except Exception as e:
                raise ModelFileError(f"{path}: malformed {r} ({first_line(e)})") from None
            for fqn, meta in items:
                if not isinstance(meta, dict):
                    raise ModelFileError(f"{path}: malformed {r} (entry {fqn!r})")
                pname = str(meta.get("path_name", ""))
                if meta.get("use_pickle") or pname.startswith(("custom_obj_",
                                                               "opaque_obj_")):
                    raise ModelFileError(
                        f"{path}: the tensor or object {fqn!r} is stored pickled; "
                        f"unpickling it could run code, so the archive is not read "
                        f"(plain tensors are stored raw)")
    import io

    torch = torch_module()
    for r, full in rel.items():
        if r.startswith("data/sample_inputs/"):
            try:
                _quiet(lambda: torch.load(io.BytesIO(ar.member(full)), weights_only=True))
            except Exception:
                # torch.export.load would retry with weights_only=False
                raise ModelFileError(f"{path}: its sample inputs {r!r} are not plain "
                                     f"tensors (they would be unpickled as code); re-save "
                                     f"the program with tensor example inputs") from None


def load_program(ar: Archive):
    """The ``ExportedProgram`` of a checked ``.pt2`` archive."""
    torch = torch_module()
    _check_pt2(ar)
    try:
        ep = _quiet(lambda: torch.export.load(ar.stream()))
    except Exception as e:
        raise ModelFileError(f"{ar.path}: not a readable torch.export archive "
                             f"({first_line(e)})") from None
    from .export import is_exported_program

    if not is_exported_program(ep):      # pragma: no cover - torch.export.load's contract
        raise ModelFileError(f"{ar.path}: torch.export.load returned "
                             f"{type(ep).__name__}")
    return ep


# ------------------------------------------------------------------ state dicts
def from_state_dict(state: Any, arch: str, max_denominator: int | None = None,
                    source: str = "<state dict>") -> Network:
    """Network of a state dict of ``nn.Sequential(Linear, ReLU, ..., Linear)``
    with architecture ``arch`` (e.g. ``"2-16-16-1"``).

    >>> import torch
    >>> from polyrelu.io.torch import from_torch
    >>> seq = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(),
    ...                           torch.nn.Linear(3, 1))
    >>> from_state_dict(seq.state_dict(), "2-3-1") == from_torch(seq)
    True
    """
    torch = torch_module()
    from . import from_torch

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
    bad = next((k for k in state if not isinstance(k, str)), None)
    if bad is not None:
        raise ModelFileError(f"{source}: the state dict has the key {bad!r} "
                             f"({type(bad).__name__}); its keys must be str parameter "
                             f"names like '0.weight'")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    try:
        seq.load_state_dict(state)
    except (RuntimeError, TypeError, ValueError) as e:
        first = str(e).splitlines()
        raise ModelFileError(f"{source}: the state dict does not fit architecture "
                             f"{arch} (nn.Sequential of Linear/ReLU with keys "
                             f"'0.weight', '0.bias', '2.weight', ...): "
                             f"{' '.join(x.strip() for x in first[:3])}") from None
    return from_torch(seq, max_denominator=max_denominator, source=source)


def _torch_load(ar: Archive, weights_only: bool = True):
    torch = torch_module()
    return _quiet(lambda: torch.load(ar.stream(), map_location="cpu",
                                     weights_only=weights_only))


def _jit_load(ar: Archive):
    torch = torch_module()
    return _quiet(lambda: torch.jit.load(ar.stream(), map_location="cpu"))


# ------------------------------------------------------------------ files
def load_torch_file(path: Any, arch: str | None = None,
                    max_denominator: int | None = None) -> Network:
    """Read a torch.export archive, a TorchScript archive, or a state dict
    when ``arch`` is given.

    Exported programs and TorchScript archives state their own
    architecture: with ``arch`` they are read as such and ``arch`` is checked
    against it.  A whole module pickled with ``torch.save(model)`` is refused
    with a clear message (unpickling runs arbitrary code); save an exported
    program, ``torch.jit.script(model)`` or the state dict.
    """
    from . import from_torch, read_layers
    from .to_network import to_network

    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError(f"model file not found: {path}")
    ar = read_archive(path)
    if ar.kind == "pt2":
        ep = load_program(ar)
        net = file_errors(path, lambda: to_network(read_layers(ep, path), max_denominator))
        what = "torch.export program"
    elif arch is not None and ar.kind != "script":
        try:
            state = _torch_load(ar)
        except Exception as e:
            if ar.kind == "pickle" and "weights_only" in str(e):
                raise ModelFileError(_pickled_module_message(path)) from None
            raise ModelFileError(f"{path}: cannot read a torch state dict (malformed "
                                 f"or truncated): {first_line(e)}") from None
        if isinstance(state, dict) and "state_dict" in state and isinstance(
                state["state_dict"], dict):
            state = state["state_dict"]
        return file_errors(path, lambda: from_state_dict(state, arch, max_denominator,
                                                         source=path))
    else:
        try:
            module = _jit_load(ar)
        except Exception as e:
            if ar.kind == "pickle":
                try:
                    state = _torch_load(ar)
                except Exception:
                    raise ModelFileError(_pickled_module_message(path)) from None
                raise ModelFileError(
                    f"{path}: a torch.save file of {type(state).__name__}, not a "
                    f"TorchScript archive or torch.export program: if it is a state "
                    f"dict, pass its architecture (arch='2-16-16-1' / --arch "
                    f"2-16-16-1)") from None
            raise ModelFileError(f"{path}: not a readable TorchScript archive (malformed "
                                 f"or truncated): {first_line(e)}") from None
        net = file_errors(path, lambda: from_torch(module, max_denominator=max_denominator,
                                                   source=path))
        what = "TorchScript archive"
    if arch is not None and net.architecture != str(arch).strip():
        raise ModelFileError(f"{path}: a {what} of architecture {net.architecture}, not "
                             f"the --arch {arch} given")
    return net


def load_module(path: Any, allow_pickle: bool = False):
    """``(model, kind)`` of a torch model file for the layer readers
    (TropEx): an ``ExportedProgram`` (``.pt2``), a TorchScript module, or --
    only with ``allow_pickle``, since ``torch.load(weights_only=False)`` runs
    code stored in the file -- a whole pickled module.  The archive is
    checked first (:func:`~polyrelu.io.torch.archive.read_archive`)."""
    torch = torch_module()
    path = os.fspath(path)
    ar = read_archive(path)
    if ar.kind == "pt2":
        return load_program(ar), "torch.export program"
    if allow_pickle and ar.kind != "script":
        try:
            obj = _torch_load(ar, weights_only=False)
        except Exception as e:
            raise ModelFileError(f"{path}: cannot read with torch.load "
                                 f"({first_line(e)})") from None
        if isinstance(obj, dict):
            raise ModelFileError(f"{path}: holds a dict (a state dict?), not a module; "
                                 f"for a dense state dict pass its architecture with "
                                 f"--arch")
        if not isinstance(obj, torch.nn.Module):
            raise ModelFileError(f"{path}: holds a {type(obj).__name__}, not a torch "
                                 f"module")
        kind = ("TorchScript" if isinstance(obj, torch.jit.ScriptModule) else
                "pickled torch module")
        return obj.eval(), kind
    try:
        module = _jit_load(ar)
    except Exception as e:
        raise ModelFileError(
            f"{path}: not a readable TorchScript archive or torch.export program "
            f"({first_line(e)}); a whole module saved with torch.save(model) is read "
            f"with --allow-pickle (this runs code stored in the file: only for files you "
            f"trust), a dense state dict with --arch") from None
    return module.eval(), "TorchScript"
