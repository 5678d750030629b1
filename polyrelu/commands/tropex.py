"""``polyrelu tropex MODEL DATA.npz``: extract the linear terms of a network at
data points (TropEx, Trimmel, Petzka & Sminchisescu 2021).

DATA.npz holds an array ``X`` (points as rows; images are flattened for a
dense model) and optionally ``y`` (true labels), ``X_test`` and ``y_test``.
Prints the extracted function N^(X): its terms per class, the check of
Theorem 3.3 on every data point, how many activation regions the points fall
into and, with test data, the agreement and accuracy of N^(X) against the
network (T&P Table 2).  ``--mode exact`` (default) works in exact rationals;
``--mode fast`` in float64 for large data sets.
"""

from __future__ import annotations

import os
from collections import Counter

import numpy as np

from ..exceptions import ModelFileError, NonFiniteError, ShapeError
from ._common import add_model_args, emit_json, load_model

__all__ = ["add_parser", "run", "tropex_report"]


def add_parser(sub) -> None:
    p = sub.add_parser("tropex", help="extract the linear terms of a network at data "
                                      "points (TropEx)", description=__doc__)
    add_model_args(p)
    p.add_argument("data", help="DATA.npz with X (and optional y, X_test, y_test)")
    p.add_argument("--mode", choices=("exact", "fast"), default="exact",
                   help="exact rationals (default) or float64 (large data sets)")
    p.add_argument("--max-points", type=int, default=None,
                   help="use only the first N points of X (and of X_test)")
    p.add_argument("--terms", action="store_true",
                   help="list the extracted terms (coefficients, constant, points)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document on stdout (exact numbers as strings "
                        "in exact mode)")
    p.add_argument("--out", default=None,
                   help="directory for plots (angles and transformation curve; needs "
                        "X_test)")


def _load_data(path: str, input_dim: int, max_points: int | None) -> dict:
    if max_points is not None and max_points < 1:
        raise ShapeError(f"--max-points must be a positive integer, got {max_points}")
    if not os.path.exists(path):
        raise FileNotFoundError(2, "no such file", path)
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: np.asarray(z[k]) for k in z.files}
    except Exception as e:  # BadZipFile, ValueError (pickled arrays), OSError, ...
        raise ModelFileError(f"{path}: cannot read as .npz ({type(e).__name__}: {e})"
                             ) from None
    if "X" not in data:
        raise ShapeError(f"{path}: no array 'X' (found: {', '.join(data) or 'none'})")
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
            a = a.reshape(a.shape[0], -1)
            if a.shape[1] != input_dim:
                raise ShapeError(f"{path}: {key} has points with {a.shape[1]} "
                                 f"coordinates, the model has {input_dim} inputs")
            if max_points is not None:
                a = a[:max_points]
            if a.dtype.kind == "f" and not np.isfinite(a).all():
                row, col = (int(v) for v in np.argwhere(~np.isfinite(a))[0])
                raise NonFiniteError(f"{path}: {key} row {row}, coordinate {col} is "
                                     f"{a[row, col]}")
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


def _exact_points(a: np.ndarray):
    """Integer arrays stay integers, float arrays are converted exactly later."""
    return a.tolist()


def tropex_report(net, data: dict, mode: str = "exact", terms: bool = False) -> dict:
    """The summary printed by the command, as a dict (exact numbers in exact mode).

    >>> from polyrelu.network import random_network
    >>> import numpy as np
    >>> rep = tropex_report(random_network([2, 3, 2], seed=1),
    ...                     {"X": np.array([[0, 1], [2, -1], [1, 1]])})
    >>> rep["points"], rep["theorem_3_3"]
    (3, True)
    """
    from ..tropex import compare_coefficients, extraction_scores, region_sharing, tropex

    X = _exact_points(data["X"]) if mode == "exact" else data["X"]
    E = tropex(net, X, mode)
    rs = region_sharing(net, X, mode)
    rep: dict = {
        "mode": mode,
        "points": E.num_points,
        "outputs": E.output_dim,
        "points_per_label": {str(k): v for k, v in sorted(Counter(E.labels).items())},
        "theorem_3_3": bool(E.checks["theorem_3_3"]),
        "checks": {k: v for k, v in E.checks.items() if k != "theorem_3_3"},
        "activation_patterns": rs.distinct_patterns,
        "local_affine_maps": rs.distinct_maps,
        "points_sharing_a_pattern": rs.shared_points,
        "patterns_per_layer": [[n, c] for n, c in rs.per_layer],
        "numerator_terms": [len(t) for t in E.terms],
        "denominator_terms": len(E.denominator),
    }
    if "y" in data:
        sc = extraction_scores(E, net, X, data["y"])
        rep["train_accuracy_network"] = sc.network_accuracy
        rep["train_accuracy_extracted"] = sc.extracted_accuracy
    if "X_test" in data:
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
    if terms:
        rep["terms"] = [[{"coef": list(t.coef), "const": t.const, "points": list(t.points)}
                         for t in ts] for ts in E.terms]
        rep["denominator"] = [{"coef": list(t.coef), "const": t.const,
                               "points": list(t.points)} for t in E.denominator]
    return rep


def _fmt(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def run(args) -> int:
    net = load_model(args.model, arch=args.arch, max_denominator=args.max_denominator)
    data = _load_data(args.data, net.input_dim, args.max_points)
    rep = tropex_report(net, data, args.mode, args.terms)
    cmp_ = rep.pop("_comparison", None)
    if args.out:
        try:
            _plots(net, data, rep, cmp_, args.out)
        except OSError as e:
            raise ModelFileError(f"--out {args.out}: cannot write the plots: "
                                 f"{e.strerror or e}") from None
    if args.json:
        rep["model"] = args.model or "<embedded default model>"
        rep["architecture"] = net.architecture
        emit_json(rep)
        return 0
    print(f"model:        {args.model or '<embedded default model>'} "
          f"({net.architecture}, {net.activation})")
    print(f"data:         {rep['points']} points, {rep['outputs']} outputs, mode {args.mode}")
    print("labels (N):   " + ", ".join(f"{k}: {v}" for k, v in
                                       rep["points_per_label"].items()))
    how = ("exactly: label, maximum and local affine map at every point" if
           args.mode == "exact" else
           f"labels at every point; float deviation "
           f"{rep['checks'].get('max_deviation_fast', 0):.2g}")
    print(f"Theorem 3.3:  {'verified' if rep['theorem_3_3'] else 'FAILED'} ({how})")
    print(f"regions:      {rep['activation_patterns']} distinct activation patterns, "
          f"{rep['local_affine_maps']} distinct local affine maps among "
          f"{rep['points']} points ({rep['points_sharing_a_pattern']} share a pattern)")
    if rep["patterns_per_layer"]:
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


def _plots(net, data, rep, cmp_, out) -> None:
    if cmp_ is None:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plot.tropex import plot_coefficient_comparison, plot_transformation_curve
    from ..tropex import transformation_curve

    os.makedirs(out, exist_ok=True)
    ax = plot_coefficient_comparison(cmp_, title="test points vs the terms N^(X) uses")
    ax.figure.tight_layout()
    ax.figure.savefig(os.path.join(out, "tropex_angles.png"), dpi=110)
    plt.close(ax.figure)
    curve = transformation_curve(net, data["X"], data["X_test"], data.get("y_test"))
    ax = plot_transformation_curve(curve, title="while merging layers")
    ax.figure.tight_layout()
    ax.figure.savefig(os.path.join(out, "tropex_transformation.png"), dpi=110)
    plt.close(ax.figure)
