"""``polyrelu folds MODEL``: the fold set as a canonical piecewise-linear surface.

Prints the pieces per canonical order (P&L Definition A.4), the dependency
graph (Definition A.5) and, for each piecewise hyperplane, the network layers
it can come from by P&L Lemma 3 (ambiguous ones are marked, not guessed).
With ``--out DIR`` writes ``folds.png`` (2-D models), ``dependency_graph.png``
and ``dependency_graph.graphml``.
"""

from __future__ import annotations

import os

from ._common import (
    add_domain_args,
    add_model_args,
    add_output_args,
    domain_from_args,
    emit_json,
    eprint,
    load_model,
)

__all__ = ["add_parser", "run"]

DEFAULT_BOX = "-10,10"


def add_parser(sub) -> None:
    p = sub.add_parser("folds", help="fold set, canonical layers and dependency graph",
                       description=__doc__)
    add_model_args(p)
    add_domain_args(p)
    add_output_args(p)
    p.add_argument("--units", action="store_true",
                   help="use the union of the unit fold sets (P&L Lemma A.18's S) "
                        "instead of the function's fold set")
    p.add_argument("--max-regions", type=int, default=None,
                   help="stop the region enumeration after this many regions (partial)")
    p.add_argument("--time-limit", type=float, default=None,
                   help="stop the region enumeration after this many seconds (partial)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from ..exceptions import DomainError
    from ..folds import fold_surface, hyperplane_str, is_transparent

    net = load_model(args.model, arch=args.arch, max_denominator=args.max_denominator)
    net, domain = domain_from_args(net, args, default_box=DEFAULT_BOX)
    if domain is None:
        raise DomainError("folds needs a bounded box (--box lo,hi,...): the canonical "
                          "representation is taken on the open box")
    S = fold_surface(net, domain, of="units" if args.units else "function",
                     max_regions=args.max_regions, time_limit=args.time_limit,
                     progress=not args.no_progress)
    G = S.dependency_graph()
    lam = net.num_layers - 1
    bounds = S.layer_bounds(lam)
    transparent = (bool(is_transparent(net, domain))
                   if not S.partial and net.activation != "hard_tanh" else None)
    files = {}
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        files["graphml"] = os.path.join(args.out, "dependency_graph.graphml")
        S.write_graphml(files["graphml"])
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ..plot.folds import plot_dependency_graph, plot_fold_surface

        if net.input_dim == 2:
            fig, ax = plt.subplots(figsize=(6, 6))
            plot_fold_surface(S, ax=ax, title=f"fold set by canonical order ({net.architecture})")
            files["folds"] = os.path.join(args.out, "folds.png")
            fig.savefig(files["folds"], dpi=110)
            plt.close(fig)
        fig, ax = plt.subplots(figsize=(7, 5))
        plot_dependency_graph(S, ax=ax, title="dependency graph")
        files["graph"] = os.path.join(args.out, "dependency_graph.png")
        fig.savefig(files["graph"], dpi=110)
        plt.close(fig)
    if args.json:
        doc = S.summary()
        doc.update({"model": args.model or "<embedded default model>",
                    "architecture": net.architecture, "transparent": transparent,
                    "layer_bounds": {k: list(v) for k, v in bounds.items()},
                    "ambiguous": list(S.ambiguous(lam)), "files": files,
                    "reason": S.reason})
        emit_json(doc)
        return 0
    print(f"model: {args.model or '<embedded default model>'} ({net.architecture}); "
          f"transparent on the box: {transparent}")
    if S.partial:
        print(f"PARTIAL: the region enumeration stopped early ({S.reason}); the layers "
              f"below describe only the regions found")
    print(f"canonical surface: order {S.order_of_surface}, "
          f"{sum(len(layer) for layer in S.layers)} piecewise hyperplanes")
    for layer in S.layers:
        print(f" order {layer[0].order}: {len(layer)} piecewise hyperplane(s)")
        for H in layer:
            lo, hi = bounds[H.name]
            note = f"layer {lo}" if lo == hi else f"layer {lo}..{hi} (ambiguous)"
            print(f"  {H.name}: {hyperplane_str(H.hyperplane)}  [{len(H.pieces)} piece(s); "
                  f"{note}]")
    if not S.is_surface:
        print(f" not a piecewise-linear surface: {len(S.unassigned)} fold piece(s) are in "
              f"no box_k S (e.g. folds ending inside a region)")
    print(f"dependency graph: {G.number_of_nodes()} nodes, {G.number_of_edges()} edges")
    edges = sorted(G.edges())
    for a, b in edges[:60]:
        print(f"  {a} -> {b}")
    if len(edges) > 60:
        print(f"  ... {len(edges) - 60} more (all of them in --json and the GraphML file)")
    for name, path in files.items():
        eprint(f"wrote {path}")
    return 0
