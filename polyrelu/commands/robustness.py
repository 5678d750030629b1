"""``polyrelu robustness MODEL --at X``: the exact robustness radius at an input.

Prints the class at ``X``, the radius (exact rational, with a float beside it)
in the ``--norm`` (``linf``, ``l1`` or ``l2``) and the witness: a rational
point at that distance where the argmax changes.  When a limit stops the
search, or for ``l2``, certified bounds ``lower < radius <= upper`` are
printed instead, marked as such.  ``--box`` cuts the ball to a domain.
Exit code: 0 exact, 3 bounds only, 2 bad input.
"""

from __future__ import annotations

from ..numbers import fraction_str
from ._common import (
    add_model_args,
    command_budget,
    emit_json,
    load_model,
    parse_box,
    parse_point,
)

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    p = sub.add_parser("robustness", help="exact robustness radius of the predicted class "
                                          "at an input, with a witness",
                       description=__doc__)
    add_model_args(p)
    p.add_argument("--at", required=True, metavar="X",
                   help="the input, comma-separated rationals (e.g. 1/2,0,-3/4)")
    p.add_argument("--norm", default="linf", choices=("linf", "l1", "l2"))
    p.add_argument("--box", default=None, help='domain "lo1,hi1,..." (or "lo,hi") the '
                                               'ball is cut to')
    p.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="seconds for the search (then certified bounds; exit code 3)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document on stdout (exact numbers as strings)")


def run(args) -> int:
    from ..robustness import robustness_radius

    budget = command_budget(args)
    net = load_model(args.model, arch=args.arch, max_denominator=args.max_denominator)
    x = parse_point(args.at, "--at")
    dom = parse_box(args.box, net.input_dim) if args.box else None
    rem = budget.remaining()
    res = robustness_radius(net, x, norm=args.norm, domain=dom,
                            time_limit=None if rem == float("inf") else rem)
    if args.json:
        emit_json(res.as_dict())
    else:
        print(f"class at x: {res.label}")
        if res.exact and res.radius is not None:
            print(f"{args.norm} radius: {fraction_str(res.radius)} (~{res.radius_float:.6g}), "
                  f"exact")
        elif res.exact:
            print("the class never changes on the domain")
        else:
            up = "?" if res.upper is None else f"{float(res.upper):.6g}"
            low = "?" if res.lower is None else f"{float(res.lower):.6g}"
            print(f"{args.norm} radius: certified bounds {low} < r <= {up} "
                  f"(not exact: {res.reason})")
        if res.witness is not None:
            print(f"witness (class {res.witness_class} ties or wins): "
                  + ",".join(fraction_str(v) for v in res.witness))
    return 0 if res.exact else 3
