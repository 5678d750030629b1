"""``polyrelu equiv A B``: do two models compute the same function?

Prints the verdict and the stage that decided it (symmetry, counterexample
search, complete region check), then the certificate (per hidden layer the
permutation and the positive scalings, exact) or a rational counterexample with
both exact outputs (``--certificate FILE`` writes them in polyrelu's result
format for ``polyrelu check``).  Exit code: 0 equivalent, 1 not equivalent, 2 bad input,
3 undecided (a limit stopped the check), 130 interrupted (Ctrl-C: the partial,
undecided result is printed first).
"""

from __future__ import annotations

import logging

from ..exceptions import DomainError, ShapeError
from ..numbers import fraction_str, to_fraction
from ._common import (
    add_domain_args,
    add_model_args,
    command_budget,
    domain_from_args,
    emit_json,
    load_model,
    parse_point,
    progress,
)

__all__ = ["add_parser", "run", "EXIT_CODES", "INTERRUPTIBLE"]

log = logging.getLogger(__name__)

#: verdict -> exit code (an interrupted run exits 130, undecided, partial)
EXIT_CODES = {True: 0, False: 1, None: 3}
#: Ctrl-C stops the check like a limit: the partial verdict is printed
INTERRUPTIBLE = True


def add_parser(sub) -> None:
    p = sub.add_parser("equiv", help="functional equivalence of two models, with a "
                                     "certificate or a counterexample",
                       description=__doc__)
    add_model_args(p, n=2)
    add_domain_args(p)
    p.add_argument("--eps", default="0",
                   help="allowed difference: equivalent iff max |f - g| <= EPS on the domain "
                        "(exact rational, e.g. 1/1000; default 0)")
    # the names of equivalent(mode=...); --top1 is short for --mode top1
    p.add_argument("--mode", choices=("exact", "top1"), default="exact",
                   help="exact: compare the outputs (default); top1: compare the "
                        "predicted classes (argmax), as mode= of polyrelu.equivalent")
    p.add_argument("--top1", dest="mode", action="store_const", const="top1",
                   help="the same as --mode top1")
    # the names of equivalent(method=...) (polyrelu.equivalence.STAGE3_METHODS)
    p.add_argument("--method", choices=("auto", "bab", "enumerate"), default="auto",
                   help="the complete check (stage 3): auto (default: bound-and-split "
                        "on boxes for close twin networks, else enumeration), bab "
                        "(certified bound-and-split), enumerate (every region)")
    p.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="seconds for the whole run (undecided -> exit code 3; Ctrl-C "
                        "also stops it: exit code 130)")
    p.add_argument("--max-regions", type=int, default=None, metavar="N",
                   help="maximum number of cells in the complete check")
    p.add_argument("--samples", type=int, default=64,
                   help="exact evaluations in the counterexample search (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random points")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document on stdout (exact numbers as strings)")
    p.add_argument("--certificate", metavar="FILE", default=None,
                   help="write the verdict with its certificate or counterexample to FILE "
                        "(polyrelu's result format; verify it with polyrelu check)")


def _slice_map(args):
    """t -> x0 + U t for ``--slice`` (None without a slice), exact."""
    if not getattr(args, "slice", None):
        return None
    pts = [parse_point(p, "--slice point") for p in args.slice]
    x0 = pts[0]

    def to_input(t):
        return tuple(x0[i] + sum((p[i] - x0[i]) * tj for p, tj in zip(pts[1:], t))
                     for i in range(len(x0)))

    return to_input


def run(args) -> int:
    budget = command_budget(args)
    with progress(args) as bar:
        return _run(args, budget, bar)


def _run(args, budget, bar) -> int:
    from ..equivalence import equivalent

    f = load_model(args.model_a, arch=args.arch, max_denominator=args.max_denominator)
    g = load_model(args.model_b, arch=args.arch, max_denominator=args.max_denominator)
    if f.input_dim != g.input_dim:
        raise ShapeError(f"{args.model_a} has {f.input_dim} inputs but {args.model_b} "
                         f"has {g.input_dim}")
    arch = (f.architecture, g.architecture)
    rounded = (f.rounding_error, g.rounding_error) if args.max_denominator is not None \
        else None
    f, domain = domain_from_args(f, args)
    g, _ = domain_from_args(g, args)
    on_slice = _slice_map(args)
    eps = to_fraction(args.eps, "--eps")
    if args.mode == "top1" and eps != 0:
        raise DomainError("--eps bounds the difference of the outputs; --mode top1 "
                          "(--top1) compares the predicted classes instead: give one "
                          "of them")
    res = equivalent(f, g, domain=domain, eps=eps,
                     mode=args.mode, method=args.method,
                     budget=budget, samples=args.samples, seed=args.seed, progress=bar)
    if args.certificate:
        from ..results import write_equivalence

        write_equivalence(args.certificate, f, g, res, domain)
    x_in = None
    if on_slice is not None and res.counterexample is not None:
        x_in = on_slice(res.counterexample)
    if args.json:
        doc = res.as_dict()
        doc["models"] = [args.model_a, args.model_b]
        doc["architectures"] = list(arch)
        if rounded is not None:
            # the verdict is about the rounded models, not the files
            doc["rounding"] = {"max_denominator": args.max_denominator,
                               "rounding_error": [fraction_str(e) for e in rounded]}
        if on_slice is not None:
            # the networks were restricted to x = x0 + U t: the counterexample
            # is a slice parameter t; this is the model input x
            doc["counterexample_input"] = None if x_in is None else list(x_in)
        if args.certificate:
            doc["certificate_file"] = args.certificate
        emit_json(doc)
    else:
        print(f"f = {args.model_a}  ({arch[0]}, {f.activation})")
        print(f"g = {args.model_b}  ({arch[1]}, {g.activation})")
        if domain is None:
            dom = "R^%d" % f.input_dim
        elif on_slice is not None:
            dom = (f"the slice through {' '.join(args.slice)}, parameters t in "
                   f"{args.box or '[0, 1]^%d' % f.input_dim}")
        else:
            dom = f"box {args.box}"
        what = "argmax (top1)" if args.mode == "top1" else (
            "outputs" if eps == 0 else f"outputs up to eps = {args.eps}")
        print(f"domain: {dom}; comparing {what}")
        if rounded is not None:
            print(f"weights rounded to denominators <= {args.max_denominator} "
                  f"(largest change f: {fraction_str(rounded[0])}, g: "
                  f"{fraction_str(rounded[1])}): the verdict is about the rounded "
                  f"models")
        print(res.summary())
        if args.certificate:
            print(f"wrote {args.certificate} (check it with: polyrelu check "
                  f"{args.certificate})")
        if x_in is not None:
            print("the counterexample is a slice parameter t; model input x = ["
                  + ", ".join(fraction_str(v) for v in x_in) + "]")
    return EXIT_CODES[res.equivalent]
