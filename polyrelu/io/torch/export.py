"""torch.export programs: ``ExportedProgram`` in memory and ``.pt2`` files
(``torch.export.save`` / ``torch.export.load``).

The recommended way to hand a model to polyrelu::

    ep = torch.export.export(model.eval(), (torch.zeros(1, d),))
    torch.export.save(ep, "model.pt2")          # Network.load("model.pt2")

An exported program is the ATen graph torch itself runs, with hooks applied
and modules called as often as they are.  The graph is read as
``ExportedProgram.module()`` runs it: in-place operators of the training IR
(``relu_``, ``add_``, ``mul_``) change their argument under all its names,
as in the fx reader (``Aliases`` (``polyrelu.io._builder``); eval-mode
``dropout`` returns its input, a view shares its base's memory).  The program
is *not* functionalized first: ``run_decompositions`` takes ``aten.dropout``'s
result for a fresh tensor and so drops ``y = F.dropout(h, p, False);
y.mul_(2)``'s change of ``h``, computing another function than the program
(and the eager module) does.  Lifted parameters, buffers and constants
(``graph_signature.input_specs``) are read from ``state_dict`` and
``constants``; the one user input is the model input.  A program that
mutates a buffer (its function changes from call to call), takes several
inputs or returns several outputs is refused.  The operators are read
by :mod:`~polyrelu.io.torch.aten` (``aten.linear`` / ``addmm`` / ``mm`` with
parameters, ``relu``, ``leaky_relu``, ``hardtanh``, ``add`` / ``sub`` / ``mul``
/ ``div`` / ``neg``, ``conv2d`` / ``convolution``, ``max_pool2d`` (with
indices), ``avg_pool2d``, ``batch_norm`` / ``_native_batch_norm_legit_no_training``,
``flatten``, ``view`` / ``reshape`` / ``squeeze`` / ``unsqueeze`` (shapes from
the program), ``dropout`` (eval), ``clone``); views use the shapes torch
recorded, so ``x.view(x.size(0), -1)`` reads like ``flatten``.
"""

from __future__ import annotations

from typing import Any

from ...exceptions import UnsupportedLayerError
from ._common import torch_module
from .layers import LayerGraph

__all__ = ["read_exported", "is_exported_program", "EXPORT_OPS"]

#: the ATen operators of torch.export programs that are read
EXPORT_OPS = ("aten.linear", "aten.addmm / mm / matmul (value @ parameter)", "aten.relu",
              "aten.leaky_relu", "aten.hardtanh(-1, 1)", "aten.add / sub / rsub / mul / "
              "div / neg (numbers, per-feature constants, residual additions)",
              "aten.conv2d / convolution", "aten.max_pool2d (with indices)",
              "aten.avg_pool2d", "aten.batch_norm / _native_batch_norm_legit_no_training "
              "(eval)", "aten.flatten / view / reshape / squeeze / unsqueeze",
              "aten.dropout (eval)", "aten.clone / contiguous / alias",
              "operator.getitem of a value", "sym_size")


def is_exported_program(obj: Any) -> bool:
    try:
        from torch.export import ExportedProgram
    except ImportError:       # pragma: no cover - torch without export
        return False
    return isinstance(obj, ExportedProgram)


def read_exported(ep: Any, src: str) -> LayerGraph:
    """The layer graph of an ``ExportedProgram``."""
    torch_module()
    from torch.export.graph_signature import InputKind, OutputKind

    from .fx import read_graph_module

    sig = ep.graph_signature
    outs = list(sig.output_specs)
    bad = [o for o in outs if o.kind != OutputKind.USER_OUTPUT and
           o.kind != OutputKind.USER_INPUT_MUTATION]
    if bad:
        what = ", ".join(sorted({str(o.kind).split(".")[-1] for o in bad}))
        raise UnsupportedLayerError(
            f"{src}: the exported program changes its own state ({what}: e.g. a buffer "
            f"updated in forward, or batch-norm in training mode), so its function "
            f"changes from call to call; export the model in eval mode without in-place "
            f"changes of buffers")
    user_out = [o for o in outs if o.kind == OutputKind.USER_OUTPUT]
    if len(user_out) != 1:
        raise UnsupportedLayerError(f"{src}: the exported program returns "
                                    f"{len(user_out)} outputs; exactly one is supported")
    # (a change of the input in place is a side effect: the output is still a
    # function of the input as it was passed)
    out_index = outs.index(user_out[0])
    bound: dict = {}
    users = []
    consts = dict(ep.constants)
    state = ep.state_dict
    for spec in sig.input_specs:
        name = spec.arg.name
        if spec.kind == InputKind.USER_INPUT:
            users.append(name)
        elif spec.kind in (InputKind.PARAMETER, InputKind.BUFFER,
                           InputKind.CONSTANT_TENSOR):
            tgt = spec.target
            if tgt in state:
                bound[name] = state[tgt]
            elif tgt in consts:
                bound[name] = consts[tgt]
            else:
                raise UnsupportedLayerError(f"{src}: the exported program lacks the "
                                            f"tensor {tgt!r} ({spec.kind.name})")
        else:
            raise UnsupportedLayerError(f"{src}: the exported program takes a "
                                        f"{spec.kind.name} input ({name}); only tensors "
                                        f"are read")
    if len(users) != 1:
        raise UnsupportedLayerError(f"{src}: the exported program takes {len(users)} "
                                    f"inputs; exactly one is supported")
    gm = ep.graph_module
    shape = None
    for n in gm.graph.nodes:
        if n.op == "placeholder" and n.name == users[0]:
            val = n.meta.get("val")
            if hasattr(val, "shape"):
                if len(val.shape) < 2:
                    raise UnsupportedLayerError(
                        f"{src}: the program was exported with an input of shape "
                        f"{tuple(val.shape)}, without a batch axis; export with a batch "
                        f"of inputs, e.g. torch.export.export(model, (torch.zeros(1, "
                        f"{val.shape[0] if len(val.shape) else 1}),))")
                try:
                    shape = tuple(int(s) for s in val.shape[1:])
                except (TypeError, ValueError):
                    shape = None
    lg = read_graph_module(gm, src, bound, reader="export",
                           output_index=out_index if len(outs) > 1 else None)
    return LayerGraph(lg.layers, lg.output, lg.source, lg.reader, shape)
