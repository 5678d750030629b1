"""Plots of fold sets, canonical piecewise-linear surfaces and dependency graphs
(Phuong & Lampert, Figures 1-4).

Floats appear only here, for drawing; every coloured piece and every edge was
decided exactly by :mod:`polyrelu.folds`.  All plots are 2-D (two inputs).
"""

from __future__ import annotations

from collections import Counter
from typing import Optional

from ..exceptions import PolyreluError
from .depgraph import MAX_COLUMN, as_dependency_graph, dependency_layout, is_partial
from .style import (  # noqa: F401  (ORDER_COLORS re-exported)
    ORDER_COLORS,
    legend_outside,
    new_figure,
    order_color,
    styled,
)

__all__ = [
    "plot_fold_set",
    "plot_fold_surface",
    "plot_fold_layers",
    "plot_dependency_graph",
    "pl_figure1",
    "pl_figure2",
    "pl_figure3",
    "pl_figure4",
]


def _axes(ax):
    if ax is None:
        _, ax = new_figure(size=(4.2, 4.2))
    return ax


def _segments(pieces):
    out = []
    for p in pieces:
        P = p.polyhedron
        if P.ambient_dim != 2:
            raise PolyreluError(f"fold plots are 2-D; these pieces live in R^{P.ambient_dim}")
        if not P.bounded:
            raise PolyreluError("fold plots need a bounded domain (pieces are unbounded)")
        V = P.vertices
        out.append([(float(v[0]), float(v[1])) for v in V])
    return out


def _frame(ax, domain, title):
    if domain is not None and domain.bounded:
        from matplotlib.patches import Polygon

        V = [tuple(float(x) for x in v) for v in domain.vertices]
        cx = sum(v[0] for v in V) / len(V)
        cy = sum(v[1] for v in V) / len(V)
        import math

        V.sort(key=lambda v: math.atan2(v[1] - cy, v[0] - cx))
        ax.add_patch(Polygon(V, closed=True, fill=False, edgecolor="0.6", lw=0.8))
        xs = [v[0] for v in V]
        ys = [v[1] for v in V]
        pad = 0.03 * max(max(xs) - min(xs), max(ys) - min(ys))
        ax.set_xlim(min(xs) - pad, max(xs) + pad)
        ax.set_ylim(min(ys) - pad, max(ys) + pad)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)


@styled
def plot_fold_set(pieces, domain=None, ax=None, color: str = "black", title: Optional[str] = None,
                  lw: float = 1.8):
    """Draw fold pieces (a :class:`~polyrelu.folds.FoldSet` or FoldPieces) in one colour."""
    from matplotlib.collections import LineCollection

    ax = _axes(ax)
    pieces = list(getattr(pieces, "pieces", pieces))
    if domain is None:
        domain = getattr(pieces, "domain", None)
    ax.add_collection(LineCollection(_segments(pieces), colors=color, linewidths=lw))
    _frame(ax, domain, title)
    return ax


@styled
def plot_fold_surface(surface, ax=None, title: Optional[str] = None,
                      labels: Optional[bool] = None, legend: bool = True, lw: float = 1.8):
    """Draw a :class:`~polyrelu.folds.PiecewiseLinearSurface` coloured by canonical
    order (P&L Figure 3); pieces no ``box_k S`` reaches are drawn dashed red.
    ``labels`` (node names) default to on for at most 30 piecewise hyperplanes."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    ax = _axes(ax)
    if labels is None:
        labels = len(surface.hyperplanes) <= 30
    if len(surface.hyperplanes) > 30:
        lw = min(lw, 1.0)
    for layer in surface.layers:
        for H in layer:
            segs = _segments(H.pieces)
            ax.add_collection(LineCollection(segs, colors=order_color(H.order), linewidths=lw))
            if labels and segs:
                longest = max(segs, key=lambda s: (s[0][0] - s[-1][0]) ** 2 +
                              (s[0][1] - s[-1][1]) ** 2)
                mx = (longest[0][0] + longest[-1][0]) / 2
                my = (longest[0][1] + longest[-1][1]) / 2
                ax.annotate(H.name, (mx, my), fontsize="x-small", color=order_color(H.order),
                            xytext=(3, 3), textcoords="offset points")
    if surface.unassigned:
        ax.add_collection(LineCollection(_segments(surface.unassigned), colors="red",
                                         linewidths=lw, linestyles="dashed"))
    if legend:
        handles = [Line2D([], [], color=order_color(k), lw=lw, label=f"order {k}")
                   for k in range(1, surface.order_of_surface + 1)]
        if surface.unassigned:
            handles.append(Line2D([], [], color="red", ls="--", lw=lw,
                                  label="not in any box_k S"))
        if handles:
            legend_outside(ax, handles)
    _frame(ax, surface.domain, title)
    return ax


@styled
def plot_fold_layers(net, domain, ax=None, title: Optional[str] = None, legend: bool = True,
                     lw: float = 1.8):
    """Draw the fold set coloured by the *network* layer of the unit that makes
    each piece (via :func:`~polyrelu.folds.unit_fold_sets`; P&L Figure 1 left).
    Fold pieces no unit fold set contains are drawn grey."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    from ..folds import unit_fold_sets

    ax = _axes(ax)
    U = unit_fold_sets(net, domain)
    by_layer: dict = {}
    for piece, is_fold in U.folds.items():
        if not is_fold:
            continue
        units = U.labels.get(piece, ())
        layer = min((u[0] for u in units), default=0)
        by_layer.setdefault(layer, []).append(piece)
    for layer, ps in sorted(by_layer.items()):
        ax.add_collection(LineCollection(_segments(ps), linewidths=lw,
                                         colors=order_color(layer) if layer else "0.6"))
    if legend:
        handles = [Line2D([], [], color=order_color(k), lw=lw, label=f"layer {k}")
                   for k in sorted(by_layer) if k]
        legend_outside(ax, handles)
    _frame(ax, domain, title)
    return ax


@styled
def plot_dependency_graph(surface, ax=None, title: Optional[str] = None, budget=None, *,
                          max_column: int = MAX_COLUMN, labels: Optional[bool] = None):
    """Draw the dependency graph layered by canonical order (P&L Figure 4
    right): one column per order, nodes coloured by order, an arrow-free edge
    from each piecewise hyperplane to those that depend on it (edges always
    go from lower to higher order, left to right).

    A column of more than ``max_column`` piecewise hyperplanes is aggregated
    (:func:`~polyrelu.plot.depgraph.dependency_layout`): those that depend on
    the same nodes are one node, numbered with its size, and an edge's width
    counts the dependencies it stands for.  The names of every node are in
    the GraphML and HTML files (:func:`~polyrelu.plot.depgraph.write_dependency_graph_html`).

    Parameters
    ----------
    surface : PiecewiseLinearSurface or networkx.DiGraph
        The surface, or its dependency graph (e.g. read from GraphML).
    ax : optional
        The matplotlib axes to draw in (default: a new figure sized for the
        graph).
    title : str, optional
        Axes title.
    budget : Budget, optional
        Passed to
        :meth:`~polyrelu.folds.PiecewiseLinearSurface.dependency_graph`; a
        graph cut short is drawn with a note saying so.
    max_column : int
        Largest column drawn node by node.
    labels : bool, optional
        Names on the nodes of columns of at most 16 drawn nodes (default
        on; the last column's groups are listed beside it either way).

    Examples
    --------
    >>> import polyrelu as pr
    >>> net = pr.network.random_network([2, 3, 3, 1], seed=4)
    >>> S = pr.fold_surface(net, pr.Polyhedron.box([-3, -3], [3, 3]))
    >>> ax = plot_dependency_graph(S)
    """
    from matplotlib.collections import LineCollection

    G = as_dependency_graph(surface, budget)
    L = dependency_layout(G, max_column=max_column)
    widest = max((sum(1 for n in L.nodes if n.order == k) for k in L.orders), default=1)
    if ax is None:
        width = 2.2 + 1.6 * max(len(L.orders), 1)
        _, ax = new_figure(size=(width, min(9.0, max(3.0, 0.2 * widest + 1.2))))
    if labels is None:
        labels = True
    at = {n.key: n for n in L.nodes}
    if L.edges:
        most = max(w for _, _, w in L.edges)
        segs = [[(at[a].x, at[a].y), (at[b].x, at[b].y)] for a, b, _ in L.edges]
        widths = [0.6 + 2.4 * (w - 1) / max(most - 1, 1) if L.aggregated else 0.7
                  for _, _, w in L.edges]
        cols = [order_color(at[a].order) for a, _, _ in L.edges]
        ax.add_collection(LineCollection(segs, linewidths=widths, colors=cols, alpha=0.45,
                                         zorder=1))
    # node area grows with the members it stands for; a node of a column of
    # at most 16 holds its name, a group its count; names of the last
    # column's groups and lone nodes go beside them
    from matplotlib import patheffects

    halo = [patheffects.withStroke(linewidth=2.2, foreground="white")]
    last = L.orders[-1] if L.orders else None
    fig = ax.figure
    height_pt = ax.get_window_extent().height * 72 / fig.dpi
    for n in L.nodes:
        drawn = sum(1 for m in L.nodes if m.order == n.order)
        named = labels and drawn <= 16
        # at most 90% of the spacing across, so that neighbours never touch
        biggest = (0.9 * height_pt * 1.0 / 1.08 / max(drawn, 1)) ** 2
        base = min(330 if named else 140, biggest / 2)
        size = min(base * (1 + 0.3 * (len(n.members) - 1)) ** 0.8, biggest)
        ax.scatter([n.x], [n.y], s=size, color=order_color(n.order), edgecolors="white",
                   linewidths=0.6, zorder=2)
        inside = str(len(n.members)) if len(n.members) > 1 else (n.key if named else None)
        # a name wider than its node goes beside it, on a white halo
        fits = inside is not None and size ** 0.5 >= 3.6 * len(inside) + 2
        if inside and fits:
            ax.annotate(inside, (n.x, n.y), ha="center", va="center", fontsize=6,
                        color="white", fontweight="bold", zorder=3)
        elif inside and n.order != last:
            ax.annotate(inside, (n.x, n.y), xytext=(2 + size ** 0.5 / 2, 0),
                        textcoords="offset points", va="center", fontsize=6,
                        color=order_color(n.order), zorder=3, path_effects=halo)
        if n.order == last and (len(n.members) > 1 or not named or not fits):
            ax.annotate(_group_label(n), (n.x, n.y), xytext=(6 + size ** 0.5 / 2, 0),
                        textcoords="offset points", va="center", fontsize=6,
                        color="0.3")
    counts = Counter(int(G.nodes[u].get("order", 1)) for u in G)
    for k in L.orders:
        drawn = sum(1 for n in L.nodes if n.order == k)
        sub = f"\nas {drawn} nodes" if k in L.aggregated else ""
        ax.annotate(f"order {k}\n{counts[k]} hyperplanes{sub}", (k, 1.0),
                    xytext=(0, 12), textcoords="offset points", ha="center", va="bottom",
                    fontsize=7.5, color=order_color(k), annotation_clip=False)
    notes = []
    if is_partial(G):
        notes.append(f"PARTIAL: {G.graph.get('reason') or 'cut short'}; pairs not decided "
                     f"have no edge")
    if L.aggregated:
        notes.append(f"columns of more than {max_column}: hyperplanes that depend on the "
                     f"same nodes drawn as one,\nnumbered with their count; edge width = "
                     f"number of dependencies")
    if notes:
        ax.annotate("\n".join(notes), (0.5, 0), xycoords="axes fraction",
                    xytext=(0, -6), textcoords="offset points", ha="center", va="top",
                    fontsize=6.5, color="0.35")
    beside = any(n.order == last and (len(n.members) > 1 or not labels) for n in L.nodes)
    if L.orders:
        ax.set_xlim(L.orders[0] - 0.45, L.orders[-1] + (1.6 if beside or L.aggregated
                                                          else 0.45))
    ax.set_ylim(-0.04, 1.04)
    ax.axis("off")
    if title:
        ax.set_title(title, pad=46 if L.aggregated else 36)
    return ax


def _group_label(node) -> str:
    """The first members of a drawn group, for the text beside it."""
    names = ", ".join(node.members[:3])
    return names + (", ..." if len(node.members) > 3 else "")


def _two_panels(title: str):
    fig, axes = new_figure(1, 2, size=(7.0, 3.6))
    fig.suptitle(title)
    return fig, axes


@styled
def pl_figure1(net, domain):
    """P&L Figure 1: the folds of a network coloured by the layer of the unit
    that makes them (left) and the fold set as a bare set (right)."""
    from ..folds import fold_set

    fig, (a, b) = _two_panels("Fold set of a ReLU network (P&L Figure 1)")
    plot_fold_layers(net, domain, ax=a, title="folds by network layer")
    plot_fold_set(fold_set(net, domain), domain, ax=b, title="fold set F(h)")
    fig.tight_layout()
    return fig


@styled
def pl_figure2(net, domain):
    """P&L Figure 2: folds that barely intersect -- by true layer (left) and the
    canonical assignment from the set alone (right), with the ambiguity noted."""
    from ..folds import fold_surface

    S = fold_surface(net, domain)
    amb = S.ambiguous(net.num_layers - 1)
    fig, (a, b) = _two_panels("Few intersections: layers cannot be told apart "
                              "(P&L Figure 2)")
    plot_fold_layers(net, domain, ax=a, title="folds by network layer (hidden)")
    plot_fold_surface(S, ax=b, title=f"from the set alone: {len(amb)} of {len(S)} "
                                     f"ambiguous (layer 1..{net.num_layers - 1})")
    fig.tight_layout()
    return fig


@styled
def pl_figure3(net, domain):
    """P&L Figure 3: the canonical (greedy) layer assignment of a fold set."""
    from ..folds import fold_surface

    fig, (a, b) = _two_panels("Canonical layer assignment box_k S (P&L Figure 3)")
    plot_fold_layers(net, domain, ax=a, title="folds by network layer")
    plot_fold_surface(fold_surface(net, domain), ax=b, title="canonical order")
    fig.tight_layout()
    return fig


@styled
def pl_figure4(surface):
    """P&L Figure 4: a surface in canonical form and its dependency graph."""
    fig, (a, b) = _two_panels("Canonical form and dependency graph (P&L Figure 4)")
    plot_fold_surface(surface, ax=a, title="canonical representation")
    plot_dependency_graph(surface, ax=b, title="dependency graph")
    fig.tight_layout()
    return fig


