"""``polyrelu export MODEL --to json|torchscript|onnx --file FILE``.

(``--out`` is a folder in every other command; export writes one file, named
by ``--file``.  ``--out FILE`` is still read, for older scripts.)

JSON is exact (rationals as strings).  TorchScript and ONNX are *float64*
exports of the same weights (via ``to_torch`` / a MatMul+Add ONNX graph):
weights whose denominators are not powers of two (or that need more than 53
significant bits) are rounded to the nearest float64, and values below the
smallest normal float64 (about 2.2e-308) underflow to a subnormal or to 0.0,
so those files are close to, not equal to, the exact network.  The summary
says which values were rounded and which underflowed (``--json``: counts
``rounded`` and ``underflowed``, sentences in ``changes``).
"""

from __future__ import annotations

import argparse
import logging

from ._common import add_model_args, emit_json, load_model

__all__ = ["add_parser", "run"]

log = logging.getLogger(__name__)

FORMATS = ("json", "torchscript", "onnx")


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a model as exact JSON, or as float "
                                      "TorchScript / ONNX", description=__doc__)
    add_model_args(p)
    p.add_argument("--to", choices=FORMATS, required=True, help="output format")
    p.add_argument("--file", dest="file", metavar="FILE", default=None,
                   help="the file to write (.json, .pt/.pth/.ts or .onnx)")
    # older spelling; --out names a folder in every other command
    p.add_argument("--out", dest="file", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true",
                   help="print a JSON summary on stdout")


def run(args) -> int:
    from ..exceptions import ModelFileError
    from ..io._builder import ExportReport, export_report

    if args.file is None:
        from ..exceptions import PolyreluError

        raise PolyreluError("--file FILE is required (the file to write)")
    args.out = args.file
    # write only names that polyrelu (and the format's tools) read back
    want = {"json": (".json",), "torchscript": (".pt", ".pth", ".ts"), "onnx": (".onnx",)}
    if not args.out.lower().endswith(want[args.to]):
        raise ModelFileError(f"--out {args.out}: a {args.to} export needs a "
                             f"{' / '.join(want[args.to])} name")
    net = load_model(args.model, arch=args.arch, max_denominator=args.max_denominator)
    if args.to == "json":
        from ..io import save

        save(net, args.out)
        report = ExportReport()
    elif args.to == "torchscript":
        from ..io.torchio import save_torchscript

        save_torchscript(net, args.out)
        report = export_report(net)
    else:
        from ..io.onnxio import save_onnx

        save_onnx(net, args.out)
        report = export_report(net, alpha_float32=True)
    if args.json:
        emit_json({"model": args.model or "<embedded default model>", "format": args.to,
                   "file": args.out, "out": args.out, "architecture": net.architecture,
                   "exact": report.exact, "rounded": len(report.rounded),
                   "underflowed": len(report.underflowed),
                   "changes": report.describe()})
        return 0
    kind = "exact" if args.to == "json" else "float64"
    print(f"wrote {net.architecture} {net.activation} network to {args.out} "
          f"({args.to}, {kind})")
    if args.to != "json":
        if report.exact:
            print("float64 export: every weight is a float64, so the file holds the "
                  "exact weights")
        for line in report.describe():
            print("float64 export: " + line)
    return 0
