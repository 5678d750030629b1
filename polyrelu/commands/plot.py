"""``polyrelu plot MODEL``: draw the exact regions of a 2-input model.

The activation regions are enumerated exactly over ``--box`` (default
[-10, 10]^2) or over a 2-D slice of a high-dimensional model through three
data points (``--slice P0 P1 P2``: the plane ``x = P0 + t1 (P1 - P0) + t2 (P2 -
P0)``, t in the --box, default [0, 1]^2).  ``--color-by`` (``color_by=`` of
:func:`polyrelu.plot.plot_regions`): ``region`` (the activation regions),
``map`` (the linear regions: adjacent regions with the same exact affine map
share a colour) or ``value`` (the output, interpolated exactly on each region
since the network is affine there); two regions that touch never share a
colour.  ``--layers`` also draws the boundaries added layer by layer (one
panel per hidden layer: the new boundaries in colour, earlier ones grey; J&V
Figure 1, Raghu et al. Figure 1).  Drawing uses :mod:`polyrelu.plot.regions`.
A 1-input model (or a 2-point ``--slice``) is drawn as the graph of the output.

Writes ``regions_<color-by>.<format>`` (and ``layers.<format>``; ``--format``
png, svg or pdf, ``--dpi``) to the folder ``--out`` and prints the files and
both region counts.  Floats are used only for drawing."""

from __future__ import annotations

import logging
import os

from ._common import (
    DRAW_SHARE,
    add_domain_args,
    add_figure_args,
    add_model_args,
    add_output_args,
    atomic_path,
    command_budget,
    domain_from_args,
    emit_json,
    figure_dpi,
    load_model,
    progress,
    pyplot,
    save_figure_to,
)

__all__ = ["add_parser", "run", "check_figure_size", "INTERRUPTIBLE"]

log = logging.getLogger(__name__)

DEFAULT_BOX = "-10,10"
COLORS = ("region", "map", "value", "output")
#: Ctrl-C stops the enumeration like a limit: the regions found are drawn
INTERRUPTIBLE = True
#: with --time-limit, the enumeration stops at this share of the time; the
#: rest is left for colouring by linear region and drawing
ENUMERATION_SHARE = 0.5
#: ... and the adjacency that keeps neighbouring colours apart stops here
#: (measured: 0.4 ms a region on 7,000 regions of a 2-64-64-64-1 network)
COLOURING_SHARE = 0.9


def _enumeration_share(budget) -> float:
    """ENUMERATION_SHARE of the time left once matplotlib is imported (the
    import alone took 1.4 s of a 3 s limit on a loaded machine, and left the
    enumeration no time), as a fraction of the whole limit."""
    if not budget.time_limit:
        return ENUMERATION_SHARE
    used = min(1.0, budget.elapsed() / budget.time_limit)
    return used + ENUMERATION_SHARE * (1.0 - used)


def _with_vertices(regs: list, budget) -> list:
    """The leading regions whose exact vertices are computed before the
    budget runs out (all of them without a time limit); the vertices stay
    cached on the regions for the drawing."""
    for k, r in enumerate(regs):
        if budget.exhausted:
            return regs[:k]
        r.vertices
    return regs


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="draw the regions of a 2-input model or a 2-D slice",
                       description=__doc__)
    add_model_args(p)
    add_domain_args(p)
    add_output_args(p)
    p.set_defaults(out="plot-out")
    p.add_argument("--color-by", "--color", dest="color_by", choices=COLORS,
                   default="region",
                   help="region: activation regions, map: linear regions (one exact "
                        "affine map), value: the output's value (as color_by= of "
                        "polyrelu.plot.plot_regions; 'output' is read as value); "
                        "neighbours never share a colour (default region)")
    p.add_argument("--layers", action="store_true",
                   help="also draw the boundaries added layer by layer (layers.<format>)")
    p.add_argument("--output", type=int, default=0,
                   help="output coordinate used by --color-by value (default 0)")
    p.add_argument("--max-regions", type=int, default=None,
                   help="stop the enumeration after this many regions (partial plot)")
    p.add_argument("--time-limit", type=float, default=None,
                   help="seconds for the whole run, enumeration and drawing (partial "
                        "plot; Ctrl-C also stops the enumeration with what was found)")
    add_figure_args(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--decision", action="store_true",
                   help="draw the decision regions instead (each class in its colour, "
                        "the decision boundary in black; decision.png, Betti numbers "
                        "per class; polyrelu.plot.decision)")


#: largest figure drawn: pixels per side and in all (67 Mpx, 256 MiB of RGBA);
#: a --dpi of 100000 would otherwise ask Agg for terabytes and die of MemoryError
MAX_SIDE_PIXELS = 16384
MAX_PIXELS = 2 ** 26
MAIN_FIGSIZE = {2: (6.2, 5.4), 1: (6.5, 4)}     # inches, by input dimension
LAYERS_PANEL = 3.4                               # inches per layer panel


def layers_figsize(n_hidden: int, width: float = LAYERS_PANEL) -> tuple:
    """Size in inches of the layer-by-layer figure (at most three panels a row)."""
    ncols = min(n_hidden, 3)
    nrows = -(-n_hidden // ncols)
    return (width * ncols, (width + 0.4) * nrows)


def check_figure_size(size_inches: tuple, dpi: int, what: str = "the figure") -> None:
    """Refuse a figure larger than :data:`MAX_SIDE_PIXELS` a side or
    :data:`MAX_PIXELS` in all at ``dpi``, saying which ``--dpi`` fits.

    >>> check_figure_size((6.2, 5.4), 100)
    """
    from ..exceptions import PolyreluError

    w, h = size_inches
    pw, ph = round(w * dpi), round(h * dpi)
    if max(pw, ph) <= MAX_SIDE_PIXELS and pw * ph <= MAX_PIXELS:
        return
    fit = int(min(MAX_SIDE_PIXELS / max(w, h), (MAX_PIXELS / (w * h)) ** 0.5))
    raise PolyreluError(f"--dpi {dpi}: {what} ({w:g} x {h:g} inches) would be {pw} x {ph} "
                        f"pixels; at most {MAX_SIDE_PIXELS} pixels a side and "
                        f"{MAX_PIXELS:,} in all are drawn (use --dpi {fit} or less)")


# ---------------------------------------------------------------------------
# helpers (exact where they decide something; floats only for drawing)
# ---------------------------------------------------------------------------

def linear_region_labels(regs) -> list[int]:
    """Linear-region label of each activation region (SPEC: connected unions
    of adjacent activation regions with one exact affine map).

    Regions are grouped by their exact affine map first, so adjacency
    (:func:`polyrelu.regions.region_graph`, exact) is only tested inside a
    group: the connected components are the same as on the full graph, at a
    fraction of the cost when most maps are distinct.

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0], [1, 0]], [0, 0]), ([[1, -1]], [0])])
    >>> regs = list(pr.regions(net, pr.Polyhedron.box([-1, -1], [1, 1])))
    >>> len(regs), linear_region_labels(regs)      # relu(x) - relu(x) = 0: one map
    (2, [0, 0])
    """
    from ..regions import region_graph

    groups: dict = {}
    for i, r in enumerate(regs):
        groups.setdefault(r.affine_map, []).append(i)
    labels = [-1] * len(regs)
    nxt = 0
    for members in groups.values():
        if len(members) == 1:
            labels[members[0]] = nxt
            nxt += 1
            continue
        import networkx as nx

        G = region_graph([regs[i] for i in members])
        for comp in nx.connected_components(G):
            for k in comp:
                labels[members[k]] = nxt
            nxt += 1
    # relabel in order of first appearance (stable colours)
    first: dict = {}
    return [first.setdefault(lab, len(first)) for lab in labels]


def draw_linear_regions(ax, regs, labels=None, graph=None) -> None:
    """Fill 2-D regions with one colour per linear region (``labels`` from
    :func:`linear_region_labels`), without the boundaries between activation
    regions of one linear region.  Linear regions that touch never share a
    colour (:func:`polyrelu.plot.regions.region_coloring` on the exact
    adjacency)."""
    from matplotlib.collections import PolyCollection

    from ..plot.regions import region_coloring, region_polygon
    from ..plot.style import fill_colors

    labels = linear_region_labels(regs) if labels is None else labels
    idx = region_coloring(regs, labels, graph=graph) if regs else []
    cols = fill_colors(max(idx) + 1 if idx else 0)
    face = [cols[k] for k in idx]
    ax.add_collection(PolyCollection([region_polygon(r) for r in regs], facecolors=face,
                                     edgecolors=face, linewidths=0.4))


def draw_output(ax, regs, output: int = 0, edge_width: float = 0.25):
    """Colour 2-D regions by one output of the network, shaded exactly.

    The network is affine on each region, so linear (Gouraud) interpolation of
    its exact values at the region's vertices over a fan triangulation *is*
    the network's output there (up to the one rounding to float per vertex);
    region boundaries are drawn faintly on top.  Returns the artist for a
    colour bar.
    """
    import numpy as np
    from matplotlib.collections import PolyCollection

    from ..plot.regions import region_polygon

    xs: list[float] = []
    ys: list[float] = []
    zs: list[float] = []
    tris: list[tuple[int, int, int]] = []
    polys: list = []
    for r in regs:
        P = region_polygon(r)
        polys.append(P)
        M, c = r.affine_map
        base = len(xs)
        for x, y in P:
            xs.append(x)
            ys.append(y)
        # exact value at each exact vertex, rounded once for drawing
        vals = {(float(v[0]), float(v[1])): float(M[output][0] * v[0] + M[output][1] * v[1]
                                                  + c[output]) for v in r.vertices}
        zs.extend(vals[p] for p in P)
        tris.extend((base, base + k, base + k + 1) for k in range(1, len(P) - 1))
    art = ax.tripcolor(np.array(xs), np.array(ys), np.array(tris), np.array(zs),
                       shading="gouraud", cmap="viridis")
    ax.add_collection(PolyCollection(polys, facecolors="none", edgecolors="k",
                                     linewidths=edge_width, alpha=0.35))
    return art


def draw_layers(net, domain, path, title: str = "", dpi: int = 100,
                width: float = LAYERS_PANEL, axis_names=("$x_1$", "$x_2$"),
                format: str | None = None) -> None:
    """:func:`polyrelu.plot.regions.plot_layer_boundaries` on a grid of at most
    three panels per row, saved to ``path`` (format from its suffix unless
    ``format`` is given) in the polyrelu figure style."""
    import textwrap

    from ..plot.regions import plot_layer_boundaries
    from ..plot.style import new_figure, paper_style, save_figure

    n = net.num_layers - 1
    ncols = min(n, 3)
    nrows = -(-n // ncols)
    check_figure_size(layers_figsize(n, width), dpi, "the layer figure")
    fig, axes = new_figure(nrows, ncols, size=layers_figsize(n, width), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    plot_layer_boundaries(net, domain, axes=flat[:n])
    with paper_style():
        for k, ax in enumerate(flat[:n]):
            ax.set_xlabel(axis_names[0])
            if k % ncols == 0:
                ax.set_ylabel(axis_names[1])
        if title:
            fig.suptitle(textwrap.fill(title + " (new boundaries in colour, earlier in "
                                               "grey)", max(60, 45 * ncols)))
        fig.tight_layout()
    save_figure(fig, path, format=format, dpi=dpi)


def draw_1d(ax, regs, color: str = "region", output: int = 0, labels=None):
    """Graph of one output over a 1-D domain, one colour per region (or per
    linear region; neighbours never share one), region boundaries dashed."""
    import matplotlib.colors as mcolors

    from ..plot.regions import region_coloring
    from ..plot.style import fill_colors

    if color == "map":
        labels = linear_region_labels(regs) if labels is None else labels
    else:
        labels = list(range(len(regs))) if labels is None else labels
    idx = region_coloring(regs, labels) if regs else []
    cols = fill_colors(max(idx) + 1 if idx else 0)
    for r, k in zip(regs, idx):
        ts = sorted(v[0] for v in r.vertices)
        lo, hi = ts[0], ts[-1]
        M, c = r.affine_map
        ys = [M[output][0] * t + c[output] for t in (lo, hi)]
        rgb = tuple(max(0.0, x - 0.35) for x in cols[k])
        col = mcolors.to_hex(rgb) if color != "value" else "C0"  # type: ignore[arg-type]
        ax.plot([float(lo), float(hi)], [float(y) for y in ys], color=col, lw=2)
        ax.axvline(float(lo), color="0.6", lw=0.5, ls="--")


# ---------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------

def run(args) -> int:
    from ..exceptions import DomainError
    from ..numbers import fraction_str
    from ..regions import regions

    net0 = load_model(args.model, arch=args.arch, max_denominator=args.max_denominator)
    if not args.slice and net0.input_dim > 2:
        raise DomainError(
            f"plot draws 1- or 2-input models; this model has {net0.input_dim} inputs: "
            f"pass --slice P0 P1 P2 (three comma-separated points with {net0.input_dim} "
            f"coordinates each) to draw the plane through them")
    if args.slice and len(args.slice) not in (2, 3):
        raise DomainError("--slice takes 2 points (a line) or 3 points (a plane)")
    if not 0 <= args.output < net0.output_dim:
        raise DomainError(f"--output {args.output}: the model has {net0.output_dim} "
                          f"output(s)")
    net, domain = domain_from_args(net0, args, default_box=DEFAULT_BOX)
    if domain is None:
        raise DomainError("plot needs a bounded --box (e.g. --box=-10,10)")
    color = "value" if args.color_by == "output" else args.color_by
    dpi = figure_dpi(args)
    # before the enumeration: a figure that cannot be drawn is refused at once
    check_figure_size(MAIN_FIGSIZE[net.input_dim], dpi)
    if args.layers and net.input_dim == 2 and net.num_layers > 1:
        check_figure_size(layers_figsize(net.num_layers - 1), dpi, "the layer figure")
    budget = command_budget(args)
    if getattr(args, "decision", False):
        from ._plot_decision import decision_plot_command

        return decision_plot_command(args, net0, net, domain, budget)
    pyplot()     # imported before the enumeration: the time limit covers it
    with progress(args) as bar:
        it = regions(net, domain, budget=budget.share(_enumeration_share(budget)),
                     progress=bar)
        regs = list(it)
    labels = None
    if not it.partial:
        from ..regions import linear_regions

        lin = linear_regions(net, domain, region_list=regs, budget=budget.share(DRAW_SHARE))
        if not lin.partial:
            labels = [0] * len(regs)
            index = {r.pattern: i for i, r in enumerate(regs)}
            for k, L in enumerate(lin):
                for r in L.regions:
                    labels[index[r.pattern]] = k
            # in order of first appearance (stable colours)
            first: dict = {}
            labels = [first.setdefault(lab, len(first)) for lab in labels]
    n_lin = (max(labels) + 1 if labels else 0) if labels is not None else None
    found, reason = len(regs), it.reason
    if net.input_dim == 2 and regs:
        regs = _with_vertices(regs, budget.share(DRAW_SHARE))
        if len(regs) < found:
            # the exact vertices of the regions found cost about twice their
            # enumeration (the float-first engine builds them on first read):
            # the figure shows the regions whose polygons fit in the limit
            reason = (f"{reason}; drawn: the first {len(regs)} of {found} regions "
                      f"(time limit reached while computing their exact vertices)")
            labels = labels[:len(regs)] if labels is not None else None
    V = domain.vertices
    box = (tuple(min(v[j] for v in V) for j in range(net.input_dim)),
           tuple(max(v[j] for v in V) for j in range(net.input_dim)))
    where = (f"slice through {' '.join(args.slice)}" if args.slice
             else f"box {args.box or DEFAULT_BOX}")
    counts = (f"{found} activation region{'' if found == 1 else 's'}, "
              + (f"{n_lin} linear region{'' if n_lin == 1 else 's'}" if n_lin is not None
                 else "linear regions n/a"))

    log.debug(f"{len(regs)} regions, linear-region labels "
              f"{'computed' if labels is not None else 'not computed'}")
    graph = None
    if regs and color in ("region", "map"):
        # the exact adjacency the colouring keeps apart, within the time left
        from ..regions import region_graph

        graph = region_graph(regs, budget.share(COLOURING_SHARE))
        if graph.graph.get("partial"):
            log.warning(f"colours kept apart for the first {graph.graph['complete']} of "
                        f"{len(regs)} regions only ({graph.graph.get('reason')}); "
                        f"neighbours beyond may share a colour")
    os.makedirs(args.out, exist_ok=True)
    from ..plot.style import coordinate_label, new_figure, paper_style

    files = []
    sl = bool(args.slice)
    if regs:
        fig, ax = new_figure(size=MAIN_FIGSIZE[net.input_dim])
        if net.input_dim == 2:
            from ..plot.regions import plot_regions

            with paper_style():
                if color == "value":
                    art = draw_output(ax, regs, output=args.output)
                    fig.colorbar(art, ax=ax, shrink=0.85, label=f"output {args.output}")
                elif color == "map" and labels is not None:
                    draw_linear_regions(ax, regs, labels, graph=graph)
                else:
                    plot_regions(regs, ax=ax, color_by="region", title="", linewidth=0.3,
                                 graph=graph)
            ax.set_xlim(float(box[0][0]), float(box[1][0]))
            ax.set_ylim(float(box[0][1]), float(box[1][1]))
            ax.set_aspect("equal")
            ax.set_xlabel(coordinate_label(1, sl))
            ax.set_ylabel(coordinate_label(2, sl))
        else:
            draw_1d(ax, regs, color if labels is not None else "region",
                    output=args.output, labels=labels if color == "map" else None)
            ax.set_xlabel(coordinate_label(None, sl))
            ax.set_ylabel(f"output {args.output}")
        part = " (PARTIAL)" if it.partial else ""
        if len(regs) < found:
            part += f" (drawn: {len(regs)} of {found} regions)"
        import textwrap

        head = textwrap.fill(f"{net0.architecture} on {where}{part}", 70)
        with paper_style():
            ax.set_title(f"{head}\n{counts}; colour: {color}")
            fig.tight_layout()
        files.append(save_figure_to(fig, args.out, f"regions_{color}", args))
        if args.layers:
            if it.partial:
                # the layer panels re-enumerate truncated networks without limits
                log.warning("--layers skipped: the enumeration is partial")
            elif net.input_dim == 2 and net.num_layers > 1:
                from ..plot.style import figure_path

                lpath = figure_path(args.out, "layers", args.format)
                with atomic_path(lpath) as tmp:
                    draw_layers(net, domain, tmp, dpi=dpi, format=args.format,
                                axis_names=(coordinate_label(1, sl), coordinate_label(2, sl)),
                                title=f"boundaries added layer by layer: "
                                      f"{net0.architecture} on {where}")
                files.append(lpath)
            else:
                log.warning("--layers draws 2-D plots only; skipped")
    say = log.info if args.json else print
    if args.json:
        emit_json({"model": args.model or "<embedded default model>",
                   "architecture": net0.architecture, "domain": where,
                   "box": [list(box[0]), list(box[1])],
                   "activation_regions": found, "linear_regions": n_lin,
                   "drawn_regions": len(regs),
                   "partial": it.partial, "reason": reason, "files": files})
    else:
        say(f"model: {args.model or '<embedded default model>'} ({net0.architecture}) "
            f"on {where}")
        say(f"{counts}" + (f"  PARTIAL: {reason}" if it.partial else ""))
        say("drawn box: " + ", ".join(f"[{fraction_str(a)}, {fraction_str(b)}]"
                                      for a, b in zip(*box)))
    for f in files:
        say(f"wrote {f}")
    return 0
