"""``polyrelu trajectory MODEL --line X0 X1 [X2 ...] | --circle C U V``.

Walks the path exactly and prints the transitions (points where the activation
pattern changes) per layer, the number of pieces of the path with one
activation pattern / one affine map, the trajectory length after each layer
(Raghu et al. Theorem 3; exact sums of square roots for lines) and, for a
single segment, the counting bounds of the 1-input slice network next to the
exact number of pieces.  Points are comma-separated numbers ("1/2,-3,0.25").
"""

from __future__ import annotations

import re

from ._common import (
    add_model_args,
    command_budget,
    emit_json,
    eprint,
    load_model,
    parse_point,
)

__all__ = ["add_parser", "run", "INTERRUPTIBLE"]

#: Ctrl-C stops the walk like a limit: the walked part is printed
INTERRUPTIBLE = True
#: with --time-limit, the walk stops at this share of the time; the rest is
#: left for the exact lengths (sums of square roots) printed after it
WALK_SHARE = 0.8


def add_parser(sub) -> None:
    p = sub.add_parser("trajectory", help="transitions, patterns and lengths along a "
                                          "line or circle", description=__doc__)
    # points such as "-3,-2" must read as values, not as options
    p._negative_number_matcher = re.compile(r"^-[\d./,eE+-]*$")
    add_model_args(p)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--line", nargs="+", metavar="X",
                   help="two or more points: the segment / polyline through them")
    g.add_argument("--circle", nargs=3, metavar=("C", "U", "V"),
                   help="the curve C + cos(t) U + sin(t) V")
    p.add_argument("--arc", nargs=2, metavar=("T0", "T1"), default=None,
                   help='angle range for --circle, exact, e.g. 0 "pi/2" (default: full)')
    p.add_argument("--closed", action="store_true", help="close the --line polyline")
    p.add_argument("--max-transitions", type=int, default=None, metavar="N",
                   help="stop after N transitions (partial result: counts are lower "
                        "bounds, lengths those of the walked part)")
    p.add_argument("--time-limit", type=float, default=None,
                   help="seconds for the whole run, walk and exact lengths (partial "
                        "result; Ctrl-C also stops the walk with what was found)")
    p.add_argument("--show", type=int, default=20,
                   help="breakpoints to list in the summary (default 20)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document on stdout (exact numbers as strings)")


def _path(args, dim: int):
    from ..exceptions import DomainError
    from ..trajectories import Circle, Polyline

    if args.line:
        pts = [parse_point(s, "--line point") for s in args.line]
        if len(pts) < 2:
            raise DomainError("--line needs at least two points")
        for p in pts:
            if len(p) != dim:
                raise DomainError(f"--line point has {len(p)} coordinates, the model "
                                  f"has {dim} inputs")
        return Polyline(pts, closed=args.closed)
    c, u, v = (parse_point(s, f"--circle {name}") for s, name in zip(args.circle, "CUV"))
    for name, p in zip("CUV", (c, u, v)):
        if len(p) != dim:
            raise DomainError(f"--circle {name} has {len(p)} coordinates, the model has "
                              f"{dim} inputs")
    return Circle(c, u, v, tuple(args.arc) if args.arc else None)


def run(args) -> int:
    from ..bounds import region_bounds
    from ..numbers import fraction_str
    from ..trajectories import Polyline, trajectory_length

    budget = command_budget(args)
    net = load_model(args.model, arch=args.arch, max_denominator=args.max_denominator)
    path = _path(args, net.input_dim)
    if isinstance(path, Polyline):
        import sympy  # noqa: F401  (the exact lengths follow: the time limit covers it)
    tl = trajectory_length(net, path, max_transitions=args.max_transitions,
                           budget=budget.share(WALK_SHARE))
    res = tl.transitions
    exact = _exact_lengths(tl, budget)
    bounds = None
    if isinstance(path, Polyline) and len(path.points) == 2 and not path.closed:
        # Pieces of a segment x0 + t d are activation regions of the 1-input slice
        # t -> net(x0 + t d) (each region meets a segment in one interval).  The
        # slice keeps the activation and the skips; a skip from the input adds
        # x0 + t d (A (x0 + t d) + a with an input map), whose rank is 1, so the
        # bounds are those of widths (1, n_1, ...).
        w = (1,) + tuple(net.hidden_widths) + (net.output_dim,)
        bounds = region_bounds(w, net.activation, skips=net.skip_sources,
                               activation_regions=res.num_pieces,
                               domain="the segment", partial=res.partial)
    if args.json:
        doc = {
            "model": args.model or "<embedded default model>",
            "architecture": net.architecture,
            "path": "circle" if not isinstance(path, Polyline) else "polyline",
            **res.summary(),
            "breakpoints": [{
                "piece": b.piece,
                "parameter": str(b.parameter), "value": b.value,
                "point": (list(b.exact_point) if b.exact_point is not None
                          else list(b.point)),
                "flips": [list(f) for f in b.flips]} for b in res.breakpoints],
            "patterns": [list(map(list, p)) for p in res.patterns],
            "lengths": [{"layer": x.layer, "exact": e, "value": x.value}
                        for x, e in zip(tl.lengths, exact)],
            "lengths_exact": tl.exact,
            "lengths_note": _exact_note(tl, exact, budget),
            "lengths_partial": tl.partial,
            # the walked part ends at this path parameter (None: the whole path)
            "stop": None if res.stop is None else str(res.stop),
            "bounds": None if bounds is None else bounds.as_dict(),
        }
        emit_json(doc)
        return 0
    kind = "segment" if isinstance(path, Polyline) and len(path.points) == 2 else (
        "polyline" if isinstance(path, Polyline) else "circle")
    print(f"model: {args.model or '<embedded default model>'} ({net.architecture}, "
          f"{net.activation})")
    print(f"path: {kind}" + (" (closed)" if res.closed else ""))
    part = " (partial: at least)" if res.partial else ""
    if res.partial:
        eprint(f"partial result: {res.reason}")
        upto = "" if res.stop is None else f" (up to parameter ~{float(res.stop):.6g})"
        print(f"PARTIAL ({res.reason}): only an initial part of the path was walked{upto}")
    print(f"transitions (points where the activation pattern changes): {res.count}{part}")
    print(f"pieces with one activation pattern: {res.num_pieces}{part}")
    print(f"pieces with one affine map (linear): {res.num_linear_pieces}{part}")
    print("neuron transitions per layer: " + ", ".join(
        f"layer {l}: {n}" for l, n in enumerate(res.per_layer, start=1)))
    print("pattern changes per layer:    " + ", ".join(
        f"layer {l}: {n}" for l, n in enumerate(res.layer_changes, start=1)))
    for b in res.breakpoints[:args.show]:
        where = (", ".join(fraction_str(v) for v in b.exact_point)
                 if b.exact_point is not None else ", ".join(f"{v:.6g}" for v in b.point))
        flips = " ".join(f"L{l}n{i}" for l, i in b.flips)
        print(f"  at {b.parameter} (~{b.value:.6g}): x = ({where}); flips {flips}")
    if res.count > args.show:
        print(f"  ... {res.count - args.show} more (use --json or --show)")
    if tl.partial:
        tag = " (partial: the walked part only, lower bounds)"
    else:
        tag = " (exact)" if tl.exact else " (float)"
    print("trajectory length per layer" + tag + ":")
    for x, s in zip(tl.lengths, exact):
        name = "input" if x.layer == 0 else ("output" if x.layer == net.num_layers
                                             else f"layer {x.layer}")
        ex = ""
        if s is not None:
            ex = f" = {s}" if len(s) <= 60 else " (exact sum of square roots, see --json)"
        print(f"  {name:>8}: {x.value:.6g}{ex}")
    note = _exact_note(tl, exact, budget)
    if note:
        print(f"  ({note})")
    if bounds is not None:
        print("bounds for the 1-input slice network (its activation regions are the "
              "pieces of the segment):")
        print("  " + str(bounds).replace("\n", "\n  "))
    else:
        print("bounds: not shown (a circle or polyline can meet a region more than once)")
    return 0


def _exact_lengths(tl, budget) -> list:
    """The exact lengths as strings, layer by layer while the budget lasts
    (None where not built: a circle or curve, or no time left)."""
    out: list = []
    for x in tl.lengths:
        if x.terms is None or budget.exhausted:
            out.append(None)
        else:
            out.append(str(x.exact))
    return out


def _exact_note(tl, exact, budget):
    missing = sum(1 for x, s in zip(tl.lengths, exact) if x.terms is not None and s is None)
    if not missing:
        return None
    return (f"the exact sums of square roots of {missing} layer(s) were not built: "
            f"{budget.stop_reason()}; the float values are given")
