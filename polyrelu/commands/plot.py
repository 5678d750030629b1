"""``polyrelu plot MODEL``: draw the exact regions of a 2-input model.

The activation regions are enumerated exactly over ``--box`` (default
[-10, 10]^2) or over a 2-D slice of a high-dimensional model through three
data points (``--slice P0 P1 P2``: the plane ``x = P0 + t1 (P1 - P0) + t2 (P2 -
P0)``, t in the --box, default [0, 1]^2).  Colours: ``region`` (one colour per
activation region), ``map`` (one colour per linear region: adjacent regions
with the same exact affine map share it) or ``output`` (the first output,
interpolated exactly on each region since the network is affine there).
``--layers`` also draws the boundaries added layer by layer (one panel per
hidden layer: the new boundaries in colour, earlier ones grey; J&V Figure 1,
Raghu et al. Figure 1).  Drawing uses :mod:`polyrelu.plot.regions`.
A 1-input model (or a 2-point ``--slice``) is drawn as the graph of the output.

Writes ``regions_<color>.png`` (and ``layers.png``) to ``--out`` and prints
the files and both region counts.  Floats are used only for drawing.
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

__all__ = ["add_parser", "run", "check_figure_size", "INTERRUPTIBLE"]

DEFAULT_BOX = "-10,10"
COLORS = ("region", "map", "output")
#: Ctrl-C stops the enumeration like a limit: the regions found are drawn
INTERRUPTIBLE = True
#: with --time-limit, the enumeration stops at this share of the time; the
#: rest is left for colouring by linear region and drawing
ENUMERATION_SHARE = 0.5


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="draw the regions of a 2-input model or a 2-D slice",
                       description=__doc__)
    add_model_args(p)
    add_domain_args(p)
    add_output_args(p)
    p.set_defaults(out="plot-out")
    p.add_argument("--color", choices=COLORS, default="region",
                   help="colour per activation region, per linear region (affine map) "
                        "or by output value (default: region)")
    p.add_argument("--layers", action="store_true",
                   help="also draw the boundaries added layer by layer (layers.png)")
    p.add_argument("--output", type=int, default=0,
                   help="output coordinate used by --color output (default 0)")
    p.add_argument("--max-regions", type=int, default=None,
                   help="stop the enumeration after this many regions (partial plot)")
    p.add_argument("--time-limit", type=float, default=None,
                   help="seconds for the whole run, enumeration and drawing (partial "
                        "plot; Ctrl-C also stops the enumeration with what was found)")
    p.add_argument("--dpi", type=int, default=100,
                   help="PNG resolution (default 100; a figure is at most 16384 pixels "
                        "a side and 2^26 in all)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


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


def _palette(n: int):
    """``n`` distinct, light RGB colours (golden-ratio hue spacing)."""
    import colorsys

    out = []
    for i in range(n):
        h = (i * 0.6180339887) % 1.0
        out.append(colorsys.hsv_to_rgb(h, 0.35 + 0.3 * ((i * 7) % 5) / 4,
                                       0.80 + 0.15 * ((i * 3) % 4) / 3))
    return out


def draw_linear_regions(ax, regs, labels=None) -> None:
    """Fill 2-D regions with one colour per linear region (``labels`` from
    :func:`linear_region_labels`), without the boundaries between activation
    regions of one linear region.  Each linear region gets its own hue
    (golden-ratio spacing), so that neighbours rarely look alike."""
    from matplotlib.collections import PolyCollection

    from ..plot.regions import region_polygon

    labels = linear_region_labels(regs) if labels is None else labels
    cols = _palette(max(labels) + 1 if labels else 0)
    face = [cols[k] for k in labels]
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
                width: float = LAYERS_PANEL, axis_names=("x1", "x2")) -> None:
    """:func:`polyrelu.plot.regions.plot_layer_boundaries` on a grid of at most
    three panels per row, saved to ``path``."""
    import textwrap

    import matplotlib.pyplot as plt

    from ..plot.regions import plot_layer_boundaries

    n = net.num_layers - 1
    ncols = min(n, 3)
    nrows = -(-n // ncols)
    check_figure_size(layers_figsize(n, width), dpi, "the layer figure")
    fig, axes = plt.subplots(nrows, ncols, figsize=layers_figsize(n, width),
                             squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    plot_layer_boundaries(net, domain, axes=flat[:n])
    for k, ax in enumerate(flat[:n]):
        ax.title.set_fontsize(9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel(axis_names[0], fontsize=8)
        if k % ncols == 0:
            ax.set_ylabel(axis_names[1], fontsize=8)
    if title:
        fig.suptitle(textwrap.fill(title + " (new boundaries in colour, earlier in grey)",
                                   max(60, 45 * ncols)), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def draw_1d(ax, regs, color: str = "region", output: int = 0, labels=None):
    """Graph of one output over a 1-D domain, one colour per region (or per
    linear region), region boundaries dashed."""
    if color == "map":
        labels = linear_region_labels(regs) if labels is None else labels
    else:
        labels = list(range(len(regs))) if labels is None else labels
    cols = _palette(max(labels) + 1 if labels else 0)
    import matplotlib.colors as mcolors

    for r, k in zip(regs, labels):
        ts = sorted(v[0] for v in r.vertices)
        lo, hi = ts[0], ts[-1]
        M, c = r.affine_map
        ys = [M[output][0] * t + c[output] for t in (lo, hi)]
        rgb = tuple(max(0.0, x - 0.35) for x in cols[k])
        col = mcolors.to_hex(rgb) if color != "output" else "C0"  # type: ignore[arg-type]
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
    # before the enumeration: a figure that cannot be drawn is refused at once
    check_figure_size(MAIN_FIGSIZE[net.input_dim], args.dpi)
    if args.layers and net.input_dim == 2 and net.num_layers > 1:
        check_figure_size(layers_figsize(net.num_layers - 1), args.dpi, "the layer figure")
    budget = command_budget(args)
    pyplot()     # imported before the enumeration: the time limit covers it
    with progress(args) as bar:
        it = regions(net, domain, budget=budget.share(ENUMERATION_SHARE), progress=bar)
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
    V = domain.vertices
    box = (tuple(min(v[j] for v in V) for j in range(net.input_dim)),
           tuple(max(v[j] for v in V) for j in range(net.input_dim)))
    where = (f"slice through {' '.join(args.slice)}" if args.slice
             else f"box {args.box or DEFAULT_BOX}")
    counts = (f"{len(regs)} activation region{'' if len(regs) == 1 else 's'}, "
              + (f"{n_lin} linear region{'' if n_lin == 1 else 's'}" if n_lin is not None
                 else "linear regions n/a"))

    os.makedirs(args.out, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    path = os.path.join(args.out, f"regions_{args.color}.png")
    if regs:
        fig, ax = plt.subplots(figsize=MAIN_FIGSIZE[net.input_dim])
        xl = "t1" if args.slice else "x1"
        if net.input_dim == 2:
            from ..plot.regions import plot_regions

            if args.color == "output":
                art = draw_output(ax, regs, output=args.output)
                fig.colorbar(art, ax=ax, shrink=0.85, label=f"output {args.output}")
            elif args.color == "map" and labels is not None:
                draw_linear_regions(ax, regs, labels)
            else:
                plot_regions(regs, ax=ax, color_by="region", title="", linewidth=0.3)
            ax.set_xlim(float(box[0][0]), float(box[1][0]))
            ax.set_ylim(float(box[0][1]), float(box[1][1]))
            ax.set_aspect("equal")
            ax.set_xlabel(xl)
            ax.set_ylabel("t2" if args.slice else "x2")
        else:
            draw_1d(ax, regs, args.color if labels is not None else "region",
                    output=args.output, labels=labels if args.color == "map" else None)
            ax.set_xlabel("t" if args.slice else "x")
            ax.set_ylabel(f"output {args.output}")
        part = " (PARTIAL)" if it.partial else ""
        import textwrap

        head = textwrap.fill(f"{net0.architecture} on {where}{part}", 70)
        ax.set_title(f"{head}\n{counts}; colour: {args.color}", fontsize=9)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=args.dpi, format="png")
        plt.close(fig)
        files.append(path)
        if args.layers:
            if it.partial:
                # the layer panels re-enumerate truncated networks without limits
                eprint("plot: --layers skipped: the enumeration is partial")
            elif net.input_dim == 2 and net.num_layers > 1:
                lpath = os.path.join(args.out, "layers.png")
                with atomic_path(lpath) as tmp:
                    draw_layers(net, domain, tmp, dpi=args.dpi,
                                axis_names=("t1", "t2") if args.slice else ("x1", "x2"),
                                title=f"boundaries added layer by layer: "
                                      f"{net0.architecture} on {where}")
                files.append(lpath)
            else:
                eprint("plot: --layers draws 2-D plots only; skipped")
    say = eprint if args.json else print
    if args.json:
        emit_json({"model": args.model or "<embedded default model>",
                   "architecture": net0.architecture, "domain": where,
                   "box": [list(box[0]), list(box[1])],
                   "activation_regions": len(regs), "linear_regions": n_lin,
                   "partial": it.partial, "reason": it.reason, "files": files})
    else:
        say(f"model: {args.model or '<embedded default model>'} ({net0.architecture}) "
            f"on {where}")
        say(f"{counts}" + (f"  PARTIAL: {it.reason}" if it.partial else ""))
        say("drawn box: " + ", ".join(f"[{fraction_str(a)}, {fraction_str(b)}]"
                                      for a, b in zip(*box)))
    for f in files:
        say(f"wrote {f}")
    return 0
