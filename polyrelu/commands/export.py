"""``polyrelu export MODEL --to json|torchscript|onnx --out FILE``.

JSON is exact (rationals as strings).  TorchScript and ONNX are *float64*
exports of the same weights (via ``to_torch`` / a MatMul+Add ONNX graph):
weights whose denominators are not powers of two are rounded to the nearest
float64, so those files are close to, not equal to, the exact network.
"""

from __future__ import annotations

import math

from ..numbers import to_fraction
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


def _is_float64(v) -> bool:
    """Is the exact value ``v`` a float64?  (The float is only a proposal; the
    exact round trip decides: a power-of-two denominator is not enough, the
    value may need more than 53 bits or under/overflow.)"""
    try:
        f = float(v)
    except OverflowError:
        return False
    return math.isfinite(f) and to_fraction(f) == v


def _all_float64(net, alpha_float32: bool = False) -> bool:
    """Every weight (and leaky ReLU's slope) survives the float export exactly.
    ONNX stores LeakyRelu's alpha as a float32 attribute."""
    vals = [v for layer in net.layers for row in layer.W for v in row]
    vals += [v for layer in net.layers for v in layer.b]
    if net.input_map is not None:
        vals += [v for row in net.input_map[0] for v in row] + list(net.input_map[1])
    if not all(_is_float64(v) for v in vals):
        return False
    if net.activation != "leaky_relu":
        return True
    if not alpha_float32:
        return _is_float64(net.alpha)
    import numpy as np

    return _is_float64(net.alpha) and to_fraction(np.float32(float(net.alpha))) == net.alpha


def run(args) -> int:
    from ..exceptions import ModelFileError

    # write only names that polyrelu (and the format's tools) read back
    want = {"json": (".json",), "torchscript": (".pt", ".pth", ".ts"), "onnx": (".onnx",)}
    if not args.out.lower().endswith(want[args.to]):
        raise ModelFileError(f"--out {args.out}: a {args.to} export needs a "
                             f"{' / '.join(want[args.to])} name")
    net = load_model(args.model, arch=args.arch, max_denominator=args.max_denominator)
    if args.to == "json":
        from ..io import save

        save(net, args.out)
        exact = True
    elif args.to == "torchscript":
        from ..io.torchio import save_torchscript

        save_torchscript(net, args.out)
        exact = _all_float64(net)
    else:
        from ..io.onnxio import save_onnx

        save_onnx(net, args.out)
        exact = _all_float64(net, alpha_float32=True)
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
