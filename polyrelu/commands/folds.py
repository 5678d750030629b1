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
    DRAW_SHARE,
    add_domain_args,
    add_model_args,
    add_output_args,
    atomic_path,
    command_budget,
    domain_from_args,
    emit_json,
    eprint,
    load_model,
    progress,
    pyplot,
)

__all__ = ["add_parser", "run", "INTERRUPTIBLE"]

DEFAULT_BOX = "-10,10"
#: Ctrl-C stops the run like a limit: what was found is printed / written
INTERRUPTIBLE = True
#: seconds per fold piece drawn in folds.png (measured: ~2 ms, mostly the
#: exact vertices of each piece); the drawing is skipped when the time left
#: cannot cover it
DRAW_SECONDS_PER_PIECE = 3e-3


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
                   help="seconds for the whole run: regions, canonical layers, dependency "
                        "graph and output (partial; Ctrl-C also stops with what was found)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    budget = command_budget(args)
    with progress(args) as bar:
        return _run(args, budget, bar)


def _run(args, budget, bar) -> int:
    from ..exceptions import DomainError
    from ..folds import fold_surface, hyperplane_str, is_transparent

    net = load_model(args.model, arch=args.arch, max_denominator=args.max_denominator)
    net, domain = domain_from_args(net, args, default_box=DEFAULT_BOX)
    if domain is None:
        raise DomainError("folds needs a bounded box (--box lo,hi,...): the canonical "
                          "representation is taken on the open box")
    work = budget
    if args.out:
        plt = pyplot()     # imported first: the time limit covers it
        work = budget.share(DRAW_SHARE)    # the rest of the time: drawing, writing
    S = fold_surface(net, domain, of="units" if args.units else "function",
                     budget=work, progress=bar)
    G = S.dependency_graph(work)
    lam = net.num_layers - 1
    bounds = S.layer_bounds(lam, work)
    transparent = None
    why_not = "not decided: the surface is partial"
    if net.activation == "hard_tanh":
        why_not = "not defined for hard_tanh"
    elif not S.partial:
        rep = is_transparent(net, domain, budget=work)
        transparent = rep.transparent
        if rep.partial:
            why_not = f"not decided: {rep.reason}"
    graph_note = G.graph.get("reason") or None
    files = {}
    notes: list = []
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        files["graphml"] = os.path.join(args.out, "dependency_graph.graphml")
        with atomic_path(files["graphml"]) as tmp:
            S.write_graphml(tmp, work)
        from ..plot.folds import plot_dependency_graph, plot_fold_surface

        n = len(S.pieces) + len(S.unassigned)
        if net.input_dim == 2 and (budget.remaining() < DRAW_SECONDS_PER_PIECE * n
                                   or budget.interrupted):
            notes.append(f"folds.png not drawn: {budget.stop_reason()} ({n} pieces; "
                         f"they are in --json and the GraphML file)")
        elif net.input_dim == 2:
            fig, ax = plt.subplots(figsize=(6, 6))
            plot_fold_surface(S, ax=ax, title=f"fold set by canonical order ({net.architecture})")
            files["folds"] = os.path.join(args.out, "folds.png")
            with atomic_path(files["folds"]) as tmp:
                fig.savefig(tmp, dpi=110, format="png")
            plt.close(fig)
        fig, ax = plt.subplots(figsize=(7, 5))
        plot_dependency_graph(S, ax=ax, title="dependency graph", budget=work)
        files["graph"] = os.path.join(args.out, "dependency_graph.png")
        with atomic_path(files["graph"]) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
        plt.close(fig)
    if args.json:
        doc = S.summary(work)
        doc.update({"model": args.model or "<embedded default model>",
                    "architecture": net.architecture, "transparent": transparent,
                    "layer_bounds": {k: list(v) for k, v in bounds.items()},
                    "ambiguous": list(S.ambiguous(lam, work)), "files": files,
                    "notes": notes,
                    "reason": S.reason or None,
                    "partial": S.partial or bool(G.graph.get("partial"))})
        emit_json(doc)
        for n in notes:
            eprint(f"note: {n}")
        return 0
    shown = transparent if transparent is not None else f"? ({why_not})"
    print(f"model: {args.model or '<embedded default model>'} ({net.architecture}); "
          f"transparent on the box: {shown}")
    if S.partial:
        print(f"PARTIAL: {S.reason}; the layers below describe only the regions kept")
    print(f"canonical surface: order {S.order_of_surface}, "
          f"{sum(len(layer) for layer in S.layers)} piecewise hyperplanes")
    for layer in S.layers:
        print(f" order {layer[0].order}: {len(layer)} piecewise hyperplane(s)")
        for H in layer:
            lo, hi = bounds[H.name]
            note = f"layer {lo}" if lo == hi else f"layer {lo}..{hi} (ambiguous)"
            print(f"  {H.name}: {hyperplane_str(H.hyperplane)}  [{len(H.pieces)} piece(s); "
                  f"{note}]")
    if S.is_surface is None:
        print(f" {len(S.unassigned)} fold piece(s) not assigned to a layer (cut short)")
    elif not S.is_surface:
        print(f" not a piecewise-linear surface: {len(S.unassigned)} fold piece(s) are in "
              f"no box_k S (e.g. folds ending inside a region)")
    print(f"dependency graph: {G.number_of_nodes()} nodes, {G.number_of_edges()} edges"
          + (f" (PARTIAL: {graph_note}; the layer ranges are valid, possibly wider)"
             if graph_note else ""))
    edges = sorted(G.edges())
    for a, b in edges[:60]:
        print(f"  {a} -> {b}")
    if len(edges) > 60:
        print(f"  ... {len(edges) - 60} more (all of them in --json and the GraphML file)")
    for n in notes:
        eprint(f"note: {n}")
    for name, path in files.items():
        eprint(f"wrote {path}")
    return 0
