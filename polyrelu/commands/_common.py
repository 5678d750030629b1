"""Helpers shared by the CLI commands: model loading, domains, JSON, limits,
progress, files written whole."""

from __future__ import annotations

import json
import os
import secrets
import sys
from contextlib import contextmanager
from fractions import Fraction
from typing import Any, Iterator

from ..budget import Budget, ProgressBars
from ..exceptions import DomainError
from ..numbers import fraction_str, to_fraction

__all__ = ["add_model_args", "add_domain_args", "add_output_args", "load_model",
           "parse_box", "parse_point", "domain_from_args", "jsonable", "emit_json",
           "progress", "eprint", "command_budget", "atomic_path", "write_json",
           "pyplot", "DRAW_SHARE"]


def eprint(*args: Any) -> None:
    print(*args, file=sys.stderr)


def add_model_args(p, n: int = 1) -> None:
    """Positional model file(s) plus the state-dict architecture option."""
    if n == 1:
        p.add_argument("model", nargs="?", default=None,
                       help="model file: .json, .onnx, .pt2 (torch.export), .pt/.pth "
                            "(TorchScript or a state dict with --arch), .nnet; default: "
                            "the embedded demo model")
    else:
        p.add_argument("model_a", help="first model file")
        p.add_argument("model_b", help="second model file")
    p.add_argument("--arch", default=None,
                   help='architecture for a torch state dict, e.g. "2-16-16-1"')
    p.add_argument("--max-denominator", type=int, default=None,
                   help="round weights to this denominator (reports the change)")


def add_domain_args(p) -> None:
    p.add_argument("--box", default=None,
                   help='box domain "lo1,hi1,lo2,hi2,..." (default depends on command)')
    p.add_argument("--slice", nargs="+", default=None, metavar="POINT",
                   help="2 or 3 comma-separated data points: restrict the model to "
                        "the line/plane through them (t in the --box, default [0,1]^k)")


def add_output_args(p) -> None:
    p.add_argument("--json", action="store_true",
                   help="print one JSON document on stdout (exact numbers as strings)")
    p.add_argument("--out", default=None, help="directory for output files")


def load_model(path: str | None, arch: str | None = None,
               max_denominator: int | None = None):
    """Load a model file (or the embedded default model when ``path`` is None)."""
    from ..io import load, load_default_model

    if path is None:
        net = load_default_model(max_denominator)
    else:
        net = load(path, arch=arch, max_denominator=max_denominator)
    if max_denominator is not None:
        # rounding changes the function: say so wherever the results go
        err = net.rounding_error
        eprint(f"note: {path or 'the embedded model'}: weights rounded to denominators "
               f"<= {max_denominator}: largest change {fraction_str(err)}"
               + ("; every result is about the rounded model" if err else
                  " (the weights were already exact at that denominator)"))
    return net


def parse_point(text: str, where: str = "point") -> tuple[Fraction, ...]:
    try:
        return tuple(to_fraction(t, where) for t in text.split(","))
    except Exception as e:  # PolyreluError carries the message
        raise DomainError(f"cannot read {where} {text!r}: {e}") from None


def parse_box(text: str, dim: int):
    """``"lo1,hi1,lo2,hi2"`` (or ``"lo,hi"`` for every coordinate) -> (lo, hi)."""
    vals = parse_point(text, "--box")
    if len(vals) == 2 and dim != 1:
        vals = vals * dim
    if len(vals) != 2 * dim:
        need = "2 (lo,hi)" if dim == 1 else f"{2 * dim} (lo,hi per coordinate) or 2 (the " \
                                             f"same lo,hi for every coordinate)"
        raise DomainError(f"--box has {len(vals)} numbers; a box in R^{dim} needs {need}")
    lo, hi = vals[0::2], vals[1::2]
    for i, (a, b) in enumerate(zip(lo, hi)):
        if a >= b:
            raise DomainError(f"--box coordinate {i}: lo {a} is not below hi {b}")
    return lo, hi


def domain_from_args(net, args, default_box: str | None = None):
    """Return ``(net, domain)``: a Polyhedron box, None (R^d), possibly on a slice."""
    from ..polyhedron import Polyhedron

    if getattr(args, "slice", None):
        from ..regions import slice_domain

        pts = [parse_point(s, "--slice point") for s in args.slice]
        if len(pts) not in (2, 3):
            raise DomainError("--slice takes 2 or 3 points")
        try:
            box = parse_box(args.box, len(pts) - 1) if args.box else None
        except DomainError as e:
            raise DomainError(f"{e} (with --slice, --box is the range of the "
                              f"{len(pts) - 1} slice parameter(s) t)") from None
        # validates dimensions and affine independence of the points
        return slice_domain(net, pts, box)
    box = args.box or default_box
    if box is None or box.lower() in ("r", "rd", "none", "whole"):
        return net, None
    lo, hi = parse_box(box, net.input_dim)
    return net, Polyhedron.box(lo, hi)


def jsonable(obj: Any) -> Any:
    """Exact numbers become strings like ``"-3/4"``; tuples become lists."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return obj  # counts and indices: JSON integers are exact
    if isinstance(obj, Fraction):
        return fraction_str(obj)
    if isinstance(obj, float):
        return obj
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "numerator") and hasattr(obj, "denominator"):
        return fraction_str(to_fraction(obj))
    return str(obj)


def emit_json(doc: Any) -> None:
    json.dump(jsonable(doc), sys.stdout, indent=1)
    sys.stdout.write("\n")


def progress(args) -> ProgressBars:
    """The progress callback of a command: tqdm bars on stderr (one per stage)
    unless ``--no-progress``, and only when stderr is a terminal (no
    carriage-return clutter in logs and captured output).  A context
    manager that removes the bars."""
    return ProgressBars(enabled=not getattr(args, "no_progress", False))


def command_budget(args) -> Budget:
    """The one budget of a command run: ``--time-limit`` seconds for the whole
    command (loading, enumerating, merging, writing), ``--max-regions``, and
    the interrupt flag that Ctrl-C sets (:func:`polyrelu.cli.main`).  Made
    by ``main``; a budget is made here for a ``run`` called directly."""
    b = getattr(args, "budget", None)
    if b is None:
        b = args.budget = Budget(getattr(args, "max_regions", None),
                                 getattr(args, "time_limit", None))
    return b


#: with --time-limit and files to draw under --out, the computation stops at
#: this share of the time; the rest is left for drawing and writing
DRAW_SHARE = 0.85


def pyplot():
    """matplotlib.pyplot with the Agg backend.  Commands that will draw import
    it before their long work, so that a time limit accounts for the import
    (seconds on a loaded machine)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temporary name in ``path``'s directory to write to; renamed to
    ``path`` (``os.replace``, atomic) when the block ends normally, removed
    otherwise -- a file under ``--out`` is never left half-written, also when
    the run is interrupted while writing."""
    d, base = os.path.split(path)
    stem, ext = os.path.splitext(base)
    # a fresh name, created by the writer (so the umask applies, unlike mkstemp)
    tmp = os.path.join(d, f".{stem}.{os.getpid()}.{secrets.token_hex(4)}.part{ext}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json(path: str, doc: Any) -> None:
    """``doc`` as JSON (exact numbers as strings) to ``path``, written whole."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as fh:
            json.dump(jsonable(doc), fh, indent=1)
            fh.write("\n")
