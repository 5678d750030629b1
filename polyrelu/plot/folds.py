"""Plots of fold sets, canonical piecewise-linear surfaces and dependency graphs
(Phuong & Lampert, Figures 1-4).

Floats appear only here, for drawing; every coloured piece and every edge was
decided exactly by :mod:`polyrelu.folds`.  All plots are 2-D (two inputs).
"""

from __future__ import annotations

from typing import Optional

from ..exceptions import PolyreluError

__all__ = [
    "ORDER_COLORS",
    "order_color",
    "plot_fold_set",
    "plot_fold_surface",
    "plot_fold_layers",
    "plot_dependency_graph",
    "pl_figure1",
    "pl_figure2",
    "pl_figure3",
    "pl_figure4",
]

#: colours by order / layer: blue, orange, black as in P&L Figure 1, then more
ORDER_COLORS = ("#1f77b4", "#ff7f0e", "#000000", "#2ca02c", "#9467bd", "#8c564b",
                "#e377c2", "#17becf")


def order_color(k: int) -> str:
    """Colour of canonical order / layer ``k`` (1-based)."""
    return ORDER_COLORS[(k - 1) % len(ORDER_COLORS)]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 5))
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
        ax.set_title(title, fontsize=10)


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
                ax.annotate(H.name, (mx, my), fontsize=7, color=order_color(H.order),
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
            ax.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.8)
    _frame(ax, surface.domain, title)
    return ax


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
        ax.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.8)
    _frame(ax, domain, title)
    return ax


def plot_dependency_graph(surface, ax=None, title: Optional[str] = None, budget=None):
    """Draw the dependency graph, nodes coloured by canonical order and placed
    in columns by order (P&L Figure 4 right); ``budget`` is passed to
    :meth:`~polyrelu.folds.PiecewiseLinearSurface.dependency_graph`."""
    import networkx as nx

    ax = _axes(ax)
    G = surface.dependency_graph(budget)
    pos: dict = {}
    for layer in surface.layers:
        n = len(layer)
        for t, H in enumerate(layer):
            pos[H.name] = (H.order, (n - 1) / 2 - t)
    colors = [order_color(G.nodes[v]["order"]) for v in G.nodes()]
    widest = max((len(layer) for layer in surface.layers), default=1)
    # big graphs: smaller nodes, thinner edges, no labels (names are in GraphML)
    size = 420 if widest <= 12 else max(20, int(420 * 12 / widest))
    if G.number_of_nodes():
        nx.draw_networkx_nodes(G, pos, ax=ax, node_color=colors, node_size=size,
                               edgecolors="white", linewidths=0.5)
        if widest <= 12:
            nx.draw_networkx_labels(G, pos, ax=ax, font_size=7, font_color="white")
        nx.draw_networkx_edges(G, pos, ax=ax, arrows=True,
                               arrowsize=12 if widest <= 12 else 5,
                               width=1.0 if widest <= 12 else 0.3,
                               connectionstyle="arc3,rad=0.08", node_size=size,
                               edge_color="0.35")
        ax.set_ylim(-(widest - 1) / 2 - 0.8, (widest - 1) / 2 + 0.8)
    # networkx hides the tick labels; the x axis is the canonical order.
    ax.tick_params(axis="x", bottom=True, labelbottom=True)
    if G.number_of_nodes():
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], marker="o", ls="", color=order_color(k + 1),
                          label=f"order {k + 1}: {len(layer)} piecewise hyperplanes")
                   for k, layer in enumerate(surface.layers)]
        ax.legend(handles=handles, loc="upper left", fontsize=8, frameon=False)
    ax.set_xticks(range(1, surface.order_of_surface + 1))
    ax.set_xticklabels([f"order {k}" for k in range(1, surface.order_of_surface + 1)],
                       fontsize=8)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if surface.order_of_surface:
        ax.set_xlim(0.5, surface.order_of_surface + 0.5)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def _two_panels(title: str):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.6))
    fig.suptitle(title, fontsize=11)
    return fig, axes


def pl_figure1(net, domain):
    """P&L Figure 1: the folds of a network coloured by the layer of the unit
    that makes them (left) and the fold set as a bare set (right)."""
    from ..folds import fold_set

    fig, (a, b) = _two_panels("Fold set of a ReLU network (P&L Figure 1)")
    plot_fold_layers(net, domain, ax=a, title="folds by network layer")
    plot_fold_set(fold_set(net, domain), domain, ax=b, title="fold set F(h)")
    fig.tight_layout()
    return fig


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


def pl_figure3(net, domain):
    """P&L Figure 3: the canonical (greedy) layer assignment of a fold set."""
    from ..folds import fold_surface

    fig, (a, b) = _two_panels("Canonical layer assignment box_k S (P&L Figure 3)")
    plot_fold_layers(net, domain, ax=a, title="folds by network layer")
    plot_fold_surface(fold_surface(net, domain), ax=b, title="canonical order")
    fig.tight_layout()
    return fig


def pl_figure4(surface):
    """P&L Figure 4: a surface in canonical form and its dependency graph."""
    fig, (a, b) = _two_panels("Canonical form and dependency graph (P&L Figure 4)")
    plot_fold_surface(surface, ax=a, title="canonical representation")
    plot_dependency_graph(surface, ax=b, title="dependency graph")
    fig.tight_layout()
    return fig


