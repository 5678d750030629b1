"""``polyrelu export MODEL --to json|torchscript|onnx --out FILE``.

JSON is exact (rationals as strings).  TorchScript and ONNX are *float64*
exports of the same weights (via ``to_torch`` / a MatMul+Add ONNX graph):
weights whose denominators are not powers of two are rounded to the nearest
float64, so those files are close to, not equal to, the exact network.
"""

from __future__ import annotations

from ._common import add_model_args, emit_json, load_model

__all__ = ["add_parser", "run"]

FORMATS = ("json", "torchscript", "onnx")


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a model as exact JSON, or as float "
                                      "TorchScript / ONNX", description=__doc__)
    add_model_args(p)
    p.add_argument("--to", choices=FORMATS, required=True, help="output format")
    p.add_argument("--out", required=True, help="output file")
    p.add_argument("--json", action="store_true",
                   help="print a JSON summary on stdout")


def _all_dyadic(net) -> bool:
    vals = [v for layer in net.layers for row in layer.W for v in row]
    vals += [v for layer in net.layers for v in layer.b]
    if net.activation == "leaky_relu":
        vals.append(net.alpha)
    return all(v.denominator & (v.denominator - 1) == 0 and abs(v.numerator) < 2 ** 53
               for v in vals)


def run(args) -> int:
    net = load_model(args.model, arch=args.arch, max_denominator=args.max_denominator)
    if args.to == "json":
        from ..io import save

        if not args.out.lower().endswith(".json"):
            from ..exceptions import ModelFileError

            raise ModelFileError(f"--out {args.out}: a JSON export needs a .json name")
        save(net, args.out)
        exact = True
    elif args.to == "torchscript":
        from ..io.torchio import save_torchscript

        save_torchscript(net, args.out)
        exact = _all_dyadic(net)
    else:
        from ..io.onnxio import save_onnx

        save_onnx(net, args.out)
        exact = _all_dyadic(net) and net.activation != "leaky_relu"
    if args.json:
        emit_json({"model": args.model or "<embedded default model>", "format": args.to,
                   "out": args.out, "architecture": net.architecture,
                   "exact": exact})
        return 0
    kind = "exact" if args.to == "json" else "float64"
    print(f"wrote {net.architecture} {net.activation} network to {args.out} "
          f"({args.to}, {kind})")
    if args.to != "json":
        print("float64 export: " + ("every weight is a float64, so the file holds the "
                                    "exact weights" if exact else
                                    "weights with non-dyadic denominators were rounded "
                                    "to the nearest float64"))
    return 0
