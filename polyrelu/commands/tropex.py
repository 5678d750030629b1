"""``polyrelu tropex MODEL DATA.npz``: extract the linear terms of a network at
data points (TropEx, Trimmel, Petzka & Sminchisescu 2021).

MODEL is a dense model file (.json, .onnx, .nnet, a torch.export .pt2 or
TorchScript MLP, or a state dict with --arch), read exactly as by every
command, or a torch model with convolutions: a torch.export program (.pt2,
torch.export.save; recommended) or a TorchScript file (torch.jit.save of a
scripted or traced model) of an nn.Sequential or a residual module of
Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d/2d (eval), ReLU, LeakyReLU,
Flatten, Linear, Identity, Dropout, or, with --allow-pickle, a whole module
saved with torch.save(model) (this runs code stored in the file: only for
files you trust).

DATA.npz holds an array ``X`` (one point per row: flat rows, or images
(N, C, H, W) for a convolutional model, whose image shape is found from the
layers or given with --input-shape) and optionally ``y`` (true labels),
``X_test`` and ``y_test``.  Prints the extracted function N^(X): its terms per
class, the check of Theorem 3.3 on every data point, how many activation
regions the points fall into and, with test data, the agreement and accuracy
of N^(X) against the network (T&P Table 2).  ``--mode exact`` (default) works
in exact rationals; ``--mode fast`` in float64 for large data sets.
"""

from __future__ import annotations

import logging
import os
from collections import Counter

import numpy as np

from ..exceptions import (
    ModelFileError,
    NonFiniteError,
    PolyreluError,
    ShapeError,
    UnsupportedLayerError,
)
from ._common import (
    add_figure_args,
    add_model_args,
    command_budget,
    emit_json,
    load_model,
    progress,
    save_figure_to,
)

__all__ = ["add_parser", "run", "tropex_report"]

log = logging.getLogger(__name__)

#: Ctrl-C stops the extraction like a limit: the points extracted are reported
INTERRUPTIBLE = True
#: with --time-limit, the extraction stops at this share of the time; the
#: rest is left for the region and accuracy analyses of the points extracted
EXTRACTION_SHARE = 0.4


def add_parser(sub) -> None:
    p = sub.add_parser("tropex", help="extract the linear terms of a network at data "
                                      "points (TropEx)", description=__doc__)
    add_model_args(p)
    for action in p._actions:      # tropex reads more kinds of models than the others
        if action.dest == "model":
            action.help = ("model file: dense (.json, .onnx, .nnet, torch MLP, state "
                           "dict with --arch) or a torch.export .pt2 / TorchScript "
                           ".pt/.pth of Conv2d, MaxPool2d, AvgPool2d, BatchNorm (eval), "
                           "ReLU, LeakyReLU, Flatten, Linear layers (Sequential or "
                           "residual); default: the embedded demo model")
    p.add_argument("data", help="DATA.npz with X (and optional y, X_test, y_test); X "
                                "as flat rows or as images (N, C, H, W)")
    p.add_argument("--mode", choices=("exact", "fast"), default="exact",
                   help="exact rationals (default) or float64 (large data sets)")
    p.add_argument("--max-points", type=int, default=None,
                   help="use only the first N points of X (and of X_test)")
    p.add_argument("--time-limit", type=float, default=None,
                   help="seconds for the whole run (partial: the first points, analyses "
                        "that fit; Ctrl-C also stops with what was extracted)")
    p.add_argument("--terms", action="store_true",
                   help="list the extracted terms (coefficients, constant, points)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document on stdout (exact numbers as strings "
                        "in exact mode)")
    p.add_argument("--out", default=None,
                   help="directory for plots (angles and transformation curve; needs "
                        "X_test)")
    p.add_argument("--input-shape", default=None, metavar="C,H,W",
                   help="shape of one input of a convolutional model, e.g. 1,28,28 "
                        "(default: X's own shape, or the one image shape that fits "
                        "the layers)")
    add_figure_args(p)
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (the stages: extraction, regions, test data)")
    p.add_argument("--allow-pickle", action="store_true",
                   help="read a .pt/.pth file saved with torch.save(model) (runs code "
                        "stored in the file: only for files you trust)")


def _parse_shape(text: str | None):
    if text is None:
        return None
    try:
        shape = tuple(int(t) for t in text.split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise ShapeError(f"--input-shape must be positive integers like 1,28,28, got "
                         f"{text!r}")
    return shape


def _point_shape(model, model_path, key, shape, given):
    """Shape of one input of a torch-layer model for points of ``shape``."""
    from ..tropex import infer_input_shape

    if given is not None:
        if int(np.prod(shape)) != int(np.prod(given)):
            raise ShapeError(f"{key} has points of shape {shape}, which do not reshape "
                             f"to --input-shape {given}")
        shape = given
    try:
        return infer_input_shape(model, shape)
    except UnsupportedLayerError as e:
        raise UnsupportedLayerError(f"{model_path}: {e}") from None
    except ShapeError as e:
        raise ShapeError(f"{key}: {e}") from None


def _load_data(path: str, model, max_points: int | None, model_path: str = "model",
               input_shape: tuple | None = None) -> dict:
    """Read DATA.npz.  Points of a polyrelu Network are flattened to its
    ``input_dim`` coordinates; points of a torch-layer model get its input
    shape (images or flat rows, see :func:`polyrelu.tropex.infer_input_shape`)."""
    from ..network import Network

    if max_points is not None and max_points < 1:
        raise ShapeError(f"--max-points must be a positive integer, got {max_points}")
    if not os.path.exists(path):
        raise FileNotFoundError(2, "no such file", path)
    import zipfile

    if not zipfile.is_zipfile(path):
        # np.load would try to unpickle it and talk about allow_pickle
        raise ModelFileError(f"{path}: not an .npz archive (DATA is an .npz with an "
                             f"array X of points, e.g. np.savez(path, X=points))")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: np.asarray(z[k]) for k in z.files}
    except Exception as e:  # BadZipFile, ValueError (pickled arrays), OSError, ...
        raise ModelFileError(f"{path}: cannot read as .npz ({type(e).__name__}: {e})"
                             ) from None
    if "X" not in data:
        raise ShapeError(f"{path}: no array 'X' (found: {', '.join(data) or 'none'})")
    dense = isinstance(model, Network)
    if dense and input_shape is not None and int(np.prod(input_shape)) != model.input_dim:
        raise ShapeError(f"--input-shape {input_shape} does not match the model's "
                         f"{model.input_dim} inputs")
    out: dict = {}
    for key in ("X", "X_test"):
        if key in data:
            a = data[key]
            if a.dtype.kind not in "iuf":
                raise ModelFileError(f"{path}: {key} has dtype {a.dtype}; expected "
                                     f"integer or floating-point numbers")
            if a.ndim < 2 or a.shape[0] == 0:
                raise ShapeError(f"{path}: {key} must hold points as rows, got shape "
                                 f"{a.shape}")
            if dense:
                a = a.reshape(a.shape[0], -1)
                if a.shape[1] != model.input_dim:
                    raise ShapeError(f"{path}: {key} has points with {a.shape[1]} "
                                     f"coordinates, the model has {model.input_dim} "
                                     f"inputs")
            elif key == "X":
                try:
                    shape = _point_shape(model, model_path, key, a.shape[1:], input_shape)
                except ShapeError as e:
                    raise ShapeError(f"{path}: {e}") from None
                a = a.reshape((a.shape[0],) + shape)
            else:
                shape = out["X"].shape[1:]
                if a.shape[1:] != shape and not (a.ndim == 2 and a.shape[1] == int(
                        np.prod(shape))):
                    raise ShapeError(f"{path}: X_test has points of shape {a.shape[1:]}, "
                                     f"X has {shape}: give X_test as (N, "
                                     f"{', '.join(map(str, shape))}) or as flat rows of "
                                     f"{int(np.prod(shape))} coordinates")
                a = a.reshape((a.shape[0],) + shape)
            if max_points is not None:
                a = a[:max_points]
            if a.dtype.kind == "f" and not np.isfinite(a).all():
                flat = a.reshape(a.shape[0], -1)
                row, col = (int(v) for v in np.argwhere(~np.isfinite(flat))[0])
                raise NonFiniteError(f"{path}: {key} row {row}, coordinate {col} is "
                                     f"{flat[row, col]}")
            out[key] = a
    for key, ref in (("y", "X"), ("y_test", "X_test")):
        if key in data and ref in out:
            yv = data[key].reshape(-1)
            if max_points is not None:
                yv = yv[:max_points]
            if len(yv) != len(out[ref]):
                raise ShapeError(f"{path}: {key} has {len(yv)} labels for "
                                 f"{len(out[ref])} points of {ref}")
            labels = []
            for i, v in enumerate(yv.tolist()):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or \
                        v != v or v in (float("inf"), float("-inf")) or int(v) != v:
                    raise ShapeError(f"{path}: {key} entry {i} is {v!r}, not an "
                                     f"integer class label")
                labels.append(int(v))
            out[key] = labels
    return out


# ------------------------------------------------------------------ models
_TORCH_EXT = (".pt2", ".pt", ".pth")


def _torch_module(path: str, allow_pickle: bool):
    """The torch model in a .pt2/.pt/.pth file: a torch.export program,
    TorchScript, or (only when the user allows it) a pickled module, since
    torch.load(weights_only=False) runs code stored in the file.  The archive
    is checked (CRC-32s) first."""
    from ..io.torch import load_module

    return load_module(path, allow_pickle)


def _load_tropex_model(args):
    """``(model, kind)``: a polyrelu Network (kind None) for dense models, read
    as by every command; otherwise the torch module, whose layers
    :func:`polyrelu.tropex.tropex` reads itself (kind names the file format)."""
    path = args.model
    ext = os.path.splitext(path)[1].lower() if path else ""
    if path is None or args.arch is not None or ext not in _TORCH_EXT:
        if args.allow_pickle:
            raise ModelFileError("--allow-pickle reads whole torch modules from .pt/.pth "
                                 "files (not together with --arch)")
        return load_model(path, arch=args.arch, max_denominator=args.max_denominator), None
    if not os.path.exists(path):
        raise ModelFileError(f"model file not found: {path}")
    if os.path.isdir(path):
        raise ModelFileError(f"{path}: is a directory, not a model file")
    module, kind = _torch_module(path, args.allow_pickle)
    from ..io.torchio import from_torch

    # dense models stay exact polyrelu Networks (rounding, skips, patterns)
    try:
        return from_torch(module, max_denominator=args.max_denominator, source=path), None
    except UnsupportedLayerError:
        pass
    except PolyreluError as e:
        msg = str(e)
        raise ModelFileError(msg if path in msg else f"{path}: {msg}") from None
    if args.max_denominator is not None:
        raise UnsupportedLayerError(
            f"{path}: --max-denominator rounds the weights of dense models only; this "
            f"model's layers (convolutions, pooling, batch-norm, ...) are read by tropex "
            f"from the torch module itself")
    return module, kind


def _check_reading(module, X, path: str, limit: int = 1000) -> float:
    """Largest deviation between the module's own float64 forward pass and the
    layers tropex read from it, on the first ``limit`` points of X.  A guard
    against misreading a file (a wrong layer gives O(1) deviations, float64
    summation order ~1e-15): it decides nothing about the extraction."""
    from ..io.torch.run import forward64
    from ..tropex import model_outputs

    Xs = np.asarray(X[:limit], dtype=np.float64)
    ours = model_outputs(module, Xs, "fast")
    ref = forward64(module, Xs, path)
    if ref.size != ours.size:
        raise ModelFileError(f"{path}: the model's forward returns {ref.shape[1]} outputs "
                             f"per point, the layers read give {ours.shape[1]}")
    ref = ref.reshape(ours.shape)
    dev = float(np.max(np.abs(ref - ours)))
    if not dev <= 1e-6 * (1.0 + float(np.max(np.abs(ref)))):
        raise ModelFileError(f"{path}: the layers read from the file do not reproduce its "
                             f"forward pass (deviation {dev:.3g}); tropex reads "
                             f"Sequential/residual models of the supported layers only")
    return dev


def _exact_points(a: np.ndarray):
    """Integer arrays stay integers, float arrays are converted exactly later."""
    return a.tolist()


def tropex_report(net, data: dict, mode: str = "exact", terms: bool = False,
                  progress=None, budget=None) -> dict:
    """The summary printed by the command, as a dict (exact numbers in exact mode).

    >>> from polyrelu.network import random_network
    >>> import numpy as np
    >>> rep = tropex_report(random_network([2, 3, 2], seed=1),
    ...                     {"X": np.array([[0, 1], [2, -1], [1, 1]])})
    >>> rep["points"], rep["theorem_3_3"]
    (3, True)
    """
    from ..tropex import compare_coefficients, extraction_scores, region_sharing, tropex

    stages = 3 + ("y" in data) + ("X_test" in data)

    def step(k):
        if progress is not None:
            progress("tropex stages", k, stages)
    step(0)
    X = _exact_points(data["X"]) if mode == "exact" else data["X"]
    # a bar over the points too; with a time limit the extraction has its
    # share and the analyses run on the points extracted, each stage only
    # while time is left (a stage that cannot start is listed as skipped)
    E = tropex(net, X, mode, progress=progress,
               budget=None if budget is None else budget.share(EXTRACTION_SHARE))
    X = X[:E.num_points]
    skipped: list = []

    def time_left(stage: str) -> bool:
        if budget is not None and budget.exhausted:
            skipped.append(stage)
            return False
        return True
    step(1)
    rep: dict = {
        "mode": mode,
        "points": E.num_points,
        "outputs": E.output_dim,
        "points_per_label": {str(k): v for k, v in sorted(Counter(E.labels).items())},
        "theorem_3_3": bool(E.checks["theorem_3_3"]),
        "checks": {k: v for k, v in E.checks.items() if k != "theorem_3_3"},
        "numerator_terms": [len(t) for t in E.terms],
        "denominator_terms": len(E.denominator),
    }
    if time_left("regions"):
        rs = region_sharing(net, X, mode)
        rep.update({
            "activation_patterns": rs.distinct_patterns,
            "local_affine_maps": rs.distinct_maps,
            "points_sharing_a_pattern": rs.shared_points,
            "patterns_per_layer": [[n, c] for n, c in rs.per_layer],
        })
    step(2)
    if "y" in data and time_left("train accuracy"):
        sc = extraction_scores(E, net, X, data["y"][:E.num_points])
        step(3)
        rep["train_accuracy_network"] = sc.network_accuracy
        rep["train_accuracy_extracted"] = sc.extracted_accuracy
    if "X_test" in data and time_left("test"):
        Xt = _exact_points(data["X_test"]) if mode == "exact" else data["X_test"]
        yt = data.get("y_test")
        sc = extraction_scores(E, net, Xt, yt)
        rs_t = region_sharing(net, Xt, mode, reference=X)
        cmp_ = compare_coefficients(E, net, Xt, yt)
        rep["test"] = {
            "points": sc.num_points,
            "agreement": sc.agreement,
            "accuracy_network": sc.network_accuracy,
            "accuracy_extracted": sc.extracted_accuracy,
            "activation_patterns": rs_t.distinct_patterns,
            "sharing_a_training_pattern": rs_t.shared_with_reference,
            "mean_angle_degrees": float(np.mean(cmp_.angles)),
            "mean_coefficient_distance": float(np.mean(cmp_.distances)),
        }
        rep["_comparison"] = cmp_
    step(stages)
    reasons = ([str(E.reason)] if E.partial else []) + (
        [f"{budget.stop_reason() if budget is not None else 'limit'}: skipped "
         f"{', '.join(skipped)}"] if skipped else [])
    rep["partial"] = bool(reasons)
    rep["reason"] = "; ".join(reasons) if reasons else None
    if terms:
        rep["terms"] = [[{"coef": list(t.coef), "const": t.const, "points": list(t.points)}
                         for t in ts] for ts in E.terms]
        rep["denominator"] = [{"coef": list(t.coef), "const": t.const,
                               "points": list(t.points)} for t in E.denominator]
    return rep


def _fmt(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _torch_architecture(module, shape) -> str:
    from ..tropex import model_layers

    return "-".join(name for name, kind, _ in model_layers(module, shape)[1:])


def run(args) -> int:
    net, kind = _load_tropex_model(args)
    data = _load_data(args.data, net, args.max_points, args.model,
                      _parse_shape(args.input_shape))
    shape = tuple(data["X"].shape[1:])
    dev = None if kind is None else _check_reading(net, data["X"], args.model)
    with progress(args) as bar:
        rep = tropex_report(net, data, args.mode, args.terms, progress=bar,
                            budget=command_budget(args))
    rep["input_shape"] = list(shape)
    if dev is not None:
        rep["checks"]["torch_forward_deviation"] = dev
    arch = (net.architecture if kind is None else
            f"{kind}: {_torch_architecture(net, shape)}")
    what = net.activation if kind is None else f"input {shape}"
    cmp_ = rep.pop("_comparison", None)
    files: list = []
    if args.out and rep["partial"]:
        log.warning("--out: no plots of a partial run")
    elif args.out:
        try:
            files = _plots(net, data, rep, cmp_, args.out, args)
        except OSError as e:
            raise ModelFileError(f"--out {args.out}: cannot write the plots: "
                                 f"{e.strerror or e}") from None
    if args.json:
        rep["model"] = args.model or "<embedded default model>"
        rep["architecture"] = arch
        rep["files"] = files
        emit_json(rep)
        return 0
    print(f"model:        {args.model or '<embedded default model>'} ({arch}, {what})")
    print(f"data:         {rep['points']} points, {rep['outputs']} outputs, mode {args.mode}"
          + (f"  PARTIAL: {rep['reason']}" if rep["partial"] else ""))
    print("labels (N):   " + ", ".join(f"{k}: {v}" for k, v in
                                       rep["points_per_label"].items()))
    how = ("exactly: label, maximum and local affine map at every point" if
           args.mode == "exact" else
           f"labels at every point; float deviation "
           f"{rep['checks'].get('max_deviation_fast', 0):.2g}")
    print(f"Theorem 3.3:  {'verified' if rep['theorem_3_3'] else 'FAILED'} ({how})")
    if "activation_patterns" in rep:
        print(f"regions:      {rep['activation_patterns']} distinct activation patterns, "
              f"{rep['local_affine_maps']} distinct local affine maps among "
              f"{rep['points']} points ({rep['points_sharing_a_pattern']} share a pattern)")
    if rep.get("patterns_per_layer"):
        print("per layer:    " + ", ".join(f"{n} {c}" for n, c in rep["patterns_per_layer"]))
    print(f"terms:        {sum(rep['numerator_terms'])} numerator terms "
          f"(per class {rep['numerator_terms']}), {rep['denominator_terms']} "
          f"denominator terms")
    if "train_accuracy_network" in rep:
        print(f"train acc.:   N {_fmt(rep['train_accuracy_network'])}, N^(X) "
              f"{_fmt(rep['train_accuracy_extracted'])}")
    if "test" in rep:
        t = rep["test"]
        print(f"test:         {t['points']} points; agreement N vs N^(X) "
              f"{_fmt(t['agreement'])}; accuracy N {_fmt(t['accuracy_network'])}, "
              f"N^(X) {_fmt(t['accuracy_extracted'])}")
        print(f"              {t['activation_patterns']} distinct patterns, "
              f"{t['sharing_a_training_pattern']} shared with a training point; mean "
              f"angle {t['mean_angle_degrees']:.1f} deg, mean coefficient distance "
              f"{t['mean_coefficient_distance']:.3g}")
    if args.terms:
        for i, ts in enumerate(rep["terms"]):
            for t in ts:
                coef = ", ".join(str(c) for c in t["coef"])
                print(f"  class {i}: ({coef}) . x + {t['const']}   points {t['points']}")
        for t in rep["denominator"]:
            coef = ", ".join(str(c) for c in t["coef"])
            print(f"  denominator: ({coef}) . x + {t['const']}   points {t['points']}")
    return 0


def _plots(net, data, rep, cmp_, out, args) -> list:
    """Angles and the transformation curve (needs X_test), in the polyrelu
    figure style; returns the files written."""
    if cmp_ is None:
        log.warning("--out: no plots without X_test in DATA")
        return []
    from ..plot.style import paper_style
    from ..plot.tropex import plot_coefficient_comparison, plot_transformation_curve
    from ..tropex import transformation_curve

    os.makedirs(out, exist_ok=True)
    files = []
    ax = plot_coefficient_comparison(cmp_, title="test points vs the terms N^(X) uses")
    with paper_style():
        ax.figure.tight_layout()
    files.append(save_figure_to(ax.figure, out, "tropex_angles", args))
    curve = transformation_curve(net, data["X"], data["X_test"], data.get("y_test"))
    ax = plot_transformation_curve(curve, title="while merging layers")
    with paper_style():
        ax.figure.tight_layout()
    files.append(save_figure_to(ax.figure, out, "tropex_transformation", args))
    for f in files:
        log.info(f"wrote {f}")
    return files
