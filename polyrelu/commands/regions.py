"""``polyrelu regions MODEL``: exact activation regions and linear regions.

Prints the numbers of activation regions and of linear regions (adjacent
activation regions with identical affine maps merged) over the domain
(``--box``, default ``[-10, 10]^d``; ``--box R`` for the whole space; or
``--slice``), next to the counting bounds of polyrelu.bounds (Raghu, Serra,
the layerwise product and Zaslavsky's first-layer count, labelled as upper
bounds on the activation regions where proven for the network's activation
and skips; Montufar's lower bound on the maximum over ReLU weights).
``--json`` prints every region: pattern, minimal H-representation, exact
affine map and interior point (numbers as strings), and the bounds.
``--out DIR`` writes ``regions.jsonl`` -- the partition in polyrelu's result
format, streamed as regions are found, which ``polyrelu check`` verifies
independently (``--compact`` for large partitions) -- and, for 2-D domains,
``regions.png``.
``--at POINT`` skips the enumeration and reports only the activation region
containing POINT (certified: it is checked exactly), its affine map and the
exact distance from POINT to the region's boundary.
"""

from __future__ import annotations

import os

from ._common import (
    add_domain_args,
    add_model_args,
    add_output_args,
    atomic_path,
    command_budget,
    domain_from_args,
    emit_json,
    eprint,
    jsonable,
    load_model,
    progress,
    pyplot,
)

__all__ = ["add_parser", "run", "INTERRUPTIBLE"]

DEFAULT_BOX = "-10,10"
#: Ctrl-C stops the run like a limit: what was found is printed / written
INTERRUPTIBLE = True
#: with --time-limit and exact output to follow, the merge (or, without one,
#: the enumeration) stops at this share of the time, leaving the rest for
#: writing the results (the exact data of each region is made as it arrives)
MERGE_SHARE = OUTPUT_SHARE = 0.9
#: seconds per region drawn in regions.png (measured: 0.45 ms CPU, 1.4 ms
#: wall on a loaded 2-core machine, Agg backend, the exact maps included);
#: the drawing is skipped when the time left cannot cover it
DRAW_SECONDS_PER_REGION = 1e-3


def add_parser(sub) -> None:
    p = sub.add_parser("regions", help="exact activation and linear regions over a domain",
                       description=__doc__)
    add_model_args(p)
    add_domain_args(p)
    add_output_args(p)
    p.add_argument("--engine", choices=("fast", "tree", "lp"), default="fast",
                   help="fast: incremental splitting (default); tree: J&V Algorithm 2; "
                        "lp: the fast engine's LP splitter")
    p.add_argument("--max-regions", type=int, default=None,
                   help="stop after this many activation regions (partial result)")
    p.add_argument("--time-limit", type=float, default=None,
                   help="seconds for the whole run: enumeration, merge and output "
                        "(partial result; Ctrl-C also stops with what was found)")
    p.add_argument("--no-linear", action="store_true",
                   help="skip merging into linear regions (faster for many regions)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--compact", action="store_true",
                   help="with --out: facet labels and vertex keys instead of numbers "
                        "(smaller files; polyrelu check recomputes them)")
    p.add_argument("--at", metavar="POINT", default=None,
                   help="only the region containing POINT (comma-separated exact "
                        "numbers, in the coordinates of the --slice parameters when "
                        "slicing): pattern, minimal inequalities, affine map, interior "
                        "point, exact distance from POINT to the boundary")


def _region_doc(i, r, with_hrep: bool = True) -> dict:
    M, c = r.affine_map
    doc = {"index": i, "pattern": [list(p) for p in r.pattern],
           "interior_point": list(r.interior_point),
           "affine_map": {"M": [list(row) for row in M], "c": list(c)}}
    if with_hrep:
        # the minimal rows from the exact vertices when the engine kept them
        # (an LP per row otherwise): the same inequalities as
        # r.polyhedron.inequalities, as primitive integer rows
        A, b = r.inequalities
        doc["inequalities"] = {"A": [list(a) for a in A], "b": list(b),
                               "meaning": "A x <= b"}
        if r.bounded and r.net.input_dim <= 2:
            doc["vertices"] = [list(v) for v in r.vertices]
    return doc


def _domain_doc(domain):
    if domain is None:
        return "R^d"
    A, b = domain.inequalities
    return {"A": [list(a) for a in A], "b": list(b), "meaning": "A x <= b"}


def _domain_label(net, domain, args) -> str:
    if domain is None:
        return "R^%d" % net.input_dim
    if args.slice:
        return f"slice through {len(args.slice)} points, t in box {args.box or '0,1'}"
    return "box " + (args.box or DEFAULT_BOX)


def run(args) -> int:
    budget = command_budget(args)
    with progress(args) as bar:
        return _run(args, budget, bar)


def _run(args, budget, bar) -> int:
    from ..bounds import region_bounds
    from ..regions import ENUMERATION_SHARE, linear_regions, regions

    net = load_model(args.model, arch=args.arch, max_denominator=args.max_denominator)
    net, domain = domain_from_args(net, args, default_box=DEFAULT_BOX)
    if args.at is not None:
        return _run_at(net, domain, args)
    need_doc = bool(args.json)
    want_lin = not args.no_linear
    draw = bool(args.out and net.input_dim == 2 and domain is not None)
    if draw:
        pyplot()     # regions.png follows: imported first, the time limit covers it
    # the enumeration leaves time for the merge and the output (--time-limit
    # bounds the whole run); the exact data of each region is made as it
    # arrives, within the enumeration's share
    enum = budget.share(ENUMERATION_SHARE) if want_lin else \
        budget.share(OUTPUT_SHARE) if (need_doc or args.out) else budget
    it = regions(net, domain, engine=args.engine, budget=enum, progress=bar)
    files = {}
    writer = None
    if args.out:
        from ..results import PartitionWriter

        os.makedirs(args.out, exist_ok=True)
        files["regions"] = os.path.join(args.out, "regions.jsonl")
        writer = PartitionWriter(files["regions"], net, domain, explicit=not args.compact,
                                 engine=args.engine)
    # keep the regions only where something needs them all (the JSON document,
    # the linear-region merge, the plot); otherwise memory stays O(1) per region
    keep = need_doc or want_lin or draw
    rs: list = []
    docs: list = []
    count = 0
    try:
        for r in it:
            # each region is written as soon as it is found: an interrupt (a
            # limit, routed through the budget) leaves a file marked partial
            if writer is not None:
                writer.write(r)
            if need_doc:
                docs.append(jsonable(_region_doc(count, r)))
            elif want_lin and r.net.input_dim > 2:
                _ = r.inequalities  # the facet rows the merge needs, within the share
            if keep:
                rs.append(r)
            count += 1
    except BaseException:
        if writer is not None:
            writer.file.abort()    # any other error leaves no file
        raise
    if writer is not None:
        writer.close(partial=it.partial, reason=it.reason)
    reasons: list[str] = [it.reason] if it.partial and it.reason else []
    lin = None
    if want_lin:
        lin = linear_regions(net, domain, region_list=rs,
                             budget=budget.share(MERGE_SHARE) if need_doc else budget)
        if lin.partial and lin.reason:
            reasons.append(lin.reason)
    partial = bool(reasons)
    reason = "; ".join(reasons) or None
    model = args.model or "<embedded default model>"
    dom = _domain_label(net, domain, args)
    # On a slice, ``net`` is the restricted network: its bounds are the ones
    # that apply to the counted regions.  Upper bounds on R^k hold on any domain.
    bounds = region_bounds(net, activation_regions=count,
                           linear_regions=None if lin is None else len(lin),
                           domain=dom, partial=partial)
    seconds = budget.elapsed()
    doc = None
    if need_doc:
        doc = {"model": model, "architecture": net.architecture,
               "activation": net.activation, "domain": _domain_doc(domain),
               "engine": it.stats["engine"], "activation_regions": count,
               "linear_regions": None if lin is None else len(lin),
               "partial": partial, "reason": reason,
               "enumeration_partial": it.partial,
               "linear_partial": None if lin is None else lin.partial,
               "seconds": round(it.stats.get("seconds", 0.0), 3),
               "total_seconds": round(seconds, 3),
               "bounds": bounds.as_dict(),
               "regions": docs}
        if lin is not None:
            index = {r.pattern: i for i, r in enumerate(rs)}
            doc["linear"] = [[index[r.pattern] for r in L.regions] for L in lin]
    notes = []
    if args.out:
        if net.input_dim == 2 and domain is not None and rs:
            if budget.remaining() < DRAW_SECONDS_PER_REGION * len(rs) or budget.interrupted:
                notes.append(f"regions.png not drawn: {budget.stop_reason()} (the "
                             f"{len(rs)} regions are in regions.jsonl)")
            else:
                files["png"] = _draw(args.out, net, rs, lin)
    if args.json:
        assert doc is not None  # built above: need_doc is true whenever args.json is
        doc["files"] = files
        doc["notes"] = notes
        emit_json(doc)
        for n in notes:
            eprint(f"note: {n}")
        return 0
    print(f"model: {model} ({net.architecture}, {net.activation}); domain: {dom}")
    print(f"activation regions: {count}")
    if lin is not None:
        print(f"linear regions:     {len(lin)}"
              + (" (the merge was cut short: at most this many among the regions found)"
                 if lin.partial and not it.partial else ""))
    print(f"engine: {it.stats['engine']}, {it.stats.get('seconds', 0.0):.2f} s "
          f"(whole run {seconds:.2f} s)")
    if it.partial:
        print(f"PARTIAL: {reason}; the counts are lower bounds")
    elif partial:
        print(f"PARTIAL: {reason}; the activation regions are complete, the linear "
              f"count is an upper bound")
    print("counting bounds (polyrelu.bounds):")
    print("  " + str(bounds).replace("\n", "\n  "))
    for n in notes:
        eprint(f"note: {n}")
    for path in files.values():
        eprint(f"wrote {path}")
    return 0


def _draw(out, net, rs, lin) -> str:
    """regions.png of a 2-D domain, coloured by linear region (written whole)."""
    from ..plot.regions import plot_regions

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 6))
    nlin = "?" if lin is None else len(lin)
    plot_regions(rs, ax=ax, color_by="map",
                 title=f"{net.architecture}: {len(rs)} activation regions, "
                       f"{nlin} linear region{'' if nlin == 1 else 's'}")
    path = os.path.join(out, "regions.png")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def _run_at(net, domain, args) -> int:
    """``--at POINT``: the region of one point, certified, without enumerating."""
    from ..exceptions import ShapeError
    from ..numbers import fraction_str
    from ..regions import region_of
    from ..trajectories import distance_to_boundary
    from ._common import parse_point

    x = parse_point(args.at, "--at")
    if len(x) != net.input_dim:
        raise ShapeError(f"--at has {len(x)} coordinates, the "
                         f"{'slice' if args.slice else 'model'} has {net.input_dim}")
    r = region_of(net, x, domain)
    on_boundary = r.pattern != net.pattern(x)
    dist = None if on_boundary else distance_to_boundary(net, x, domain)
    model = args.model or "<embedded default model>"
    doc = {"model": model, "architecture": net.architecture, "point": list(x),
           "domain": _domain_doc(domain), "on_boundary": on_boundary,
           "region": _region_doc(0, r)}
    if dist is not None:
        doc["distance"] = {"squared": dist.squared, "float": dist.value,
                           "nearest": None if dist.nearest is None else list(dist.nearest),
                           "foot": None if dist.foot is None else list(dist.foot)}
    if args.out:
        from ..results import write_region

        os.makedirs(args.out, exist_ok=True)
        doc["file"] = os.path.join(args.out, "region.json")
        write_region(doc["file"], r, point=x, distance=dist)
    if args.json:
        emit_json(doc)
        return 0
    if args.out:
        eprint(f"wrote {doc['file']}")
    pt = ", ".join(fraction_str(v) for v in x)
    print(f"model: {model} ({net.architecture}, {net.activation}); domain: "
          f"{_domain_label(net, domain, args)}")
    print(f"point x = ({pt})")
    if on_boundary:
        print("x lies on a region boundary (its own pattern's region has no interior); "
              "this is a neighbouring region whose closure contains x")
    print("pattern: " + "|".join("".join(str(b) for b in layer) for layer in r.pattern))
    A, b = r.inequalities
    print(f"region: {len(A)} facet inequalities (A x <= b, minimal, exact; all in "
          f"--json)")
    for row, c in list(zip(A, b))[:12]:
        terms = " ".join(f"{'+' if v > 0 else '-'} {fraction_str(abs(v))}*x{j + 1}"
                         for j, v in enumerate(row) if v)
        print(f"  {terms.lstrip('+ ')} <= {fraction_str(c)}")
    if len(A) > 12:
        print(f"  ... {len(A) - 12} more")
    print("interior point: (" + ", ".join(fraction_str(v) for v in r.interior_point) + ")")
    if dist is not None:
        # numbering (docs/conventions.rst): layers from 1, neurons from 0, as
        # in the JSON ("nearest": [layer, neuron]) and the API
        where = (f"row {dist.nearest[1]} of the domain" if dist.nearest
                 and dist.nearest[0] == "domain" else
                 f"neuron {dist.nearest[1]} of layer {dist.nearest[0]}"
                 if dist.nearest else "none")
        print(f"distance from x to the boundary: sqrt({fraction_str(dist.squared)}) "
              f"(~{dist.value:.6g}), at {where}" if dist.squared is not None else
              "the region has no boundary (the network is affine here)")
    return 0
