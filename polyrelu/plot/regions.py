"""Plots of activation regions: 2-D domains, 2-D slices through data points, and
layer-by-layer boundaries (J&V Figure 1, Raghu et al. Figure 1).

Floats appear only here, for drawing; every region and every boundary was
decided exactly by :mod:`polyrelu.regions`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Optional, Sequence

from ..exceptions import DomainError, PolyreluError

__all__ = [
    "region_polygon",
    "region_coloring",
    "linear_region_labels",
    "plot_regions",
    "plot_regions_slice",
    "plot_layer_boundaries",
]

from .style import (  # noqa: F401  (LAYER_COLORS re-exported)
    LAYER_COLORS,
    coordinate_label,
    fill_colors,
    layer_color,
    legend_outside,
    new_figure,
    styled,
)


def _axes(ax):
    if ax is None:
        _, ax = new_figure(size=(4.2, 4.0))
    return ax


def region_polygon(region) -> list[tuple[float, float]]:
    """Vertices of a bounded 2-D region in counter-clockwise order (floats, for drawing).

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0]], [0]), ([[1]], [0])])
    >>> r = pr.region_of(net, [1, 0], pr.Polyhedron.box([-1, -1], [1, 1]))
    >>> len(region_polygon(r))
    4
    """
    if region.net.input_dim != 2:
        raise PolyreluError(f"region plots are 2-D; this region lives in "
                            f"R^{region.net.input_dim} (plot a 2-D slice)")
    if not region.bounded:
        raise PolyreluError("region plots need a bounded domain (use a box)")
    pts = [(float(v[0]), float(v[1])) for v in region.vertices]
    cx = sum(p[0] for p in pts) / len(pts)
    cy = sum(p[1] for p in pts) / len(pts)
    pts.sort(key=lambda p: math.atan2(p[1] - cy, p[0] - cx))
    return pts


def linear_region_labels(region_list: Sequence, graph=None) -> list:
    """Linear-region label of each activation region: the connected
    components of the adjacency graph restricted to neighbours with the same
    exact affine map (SPEC: a linear region is a maximal connected union of
    activation regions with one affine map), numbered in order of first
    appearance.

    ``graph`` is the :func:`~polyrelu.regions.region_graph` of
    ``region_list`` if already at hand.

    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0], [1, 0]], [0, 0]), ([[1, -1]], [0])])
    >>> rs = list(pr.regions(net, pr.Polyhedron.box([-1, -1], [1, 1])))
    >>> linear_region_labels(rs)          # relu(x) - relu(x) = 0: one map
    [0, 0]
    """
    import networkx as nx

    from ..regions import region_graph

    rs = list(region_list)
    G = region_graph(rs) if graph is None else graph
    same = nx.Graph()
    same.add_nodes_from(range(len(rs)))
    same.add_edges_from((i, j) for i, j, m in G.edges(data="same_map") if m)
    comp = {}
    for c, nodes in enumerate(nx.connected_components(same)):
        for i in nodes:
            comp[i] = c
    first: dict = {}
    return [first.setdefault(comp[i], len(first)) for i in range(len(rs))]


def region_coloring(region_list: Sequence, labels: Optional[Sequence[int]] = None,
                    graph=None, touching: bool = True) -> list:
    """A proper colouring of a region map: colour index of each region.

    Regions with one label (by default each region its own) share a colour;
    two *adjacent* regions (sharing a facet, decided exactly by
    :func:`~polyrelu.regions.region_graph`) with different labels never do.
    With ``touching`` (default) regions that share only a vertex get
    different colours too, so that a colour says more than the parity of the
    pattern.  The colours come from ``networkx.greedy_color`` with the
    smallest-last strategy on the graph of labels; region maps of ReLU
    networks need 4-12.  With ``labels`` from :func:`linear_region_labels`
    this colours the linear regions.

    Parameters
    ----------
    region_list : sequence of Region
        The regions.
    labels : sequence of int, optional
        A label per region; regions with one label get one colour.
    graph : optional
        The :func:`~polyrelu.regions.region_graph` of ``region_list`` (a
        ``networkx.Graph``) if already at hand.
    touching : bool
        Regions sharing a vertex are neighbours too (exact vertices).

    Examples
    --------
    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])])
    >>> rs = list(pr.regions(net, pr.Polyhedron.box([-1, -1], [1, 1])))
    >>> len(set(region_coloring(rs, touching=False)))  # four quadrants: a 4-cycle
    2
    >>> sorted(region_coloring(rs))            # all four meet at the origin
    [0, 1, 2, 3]
    """
    import networkx as nx

    from ..regions import region_graph

    rs = list(region_list)
    lab = list(range(len(rs))) if labels is None else list(labels)
    G = region_graph(rs) if graph is None else graph
    Q = nx.Graph()
    Q.add_nodes_from(sorted(set(lab)))
    Q.add_edges_from((lab[i], lab[j]) for i, j in G.edges() if lab[i] != lab[j])
    if touching:
        # regions meeting only at a vertex count as neighbours too: activation
        # regions are 2-colourable (each boundary crossing flips one neuron),
        # and a checkerboard would tell no region from the next but one
        at: dict = {}
        for i, r in enumerate(rs):
            for v in r.vertices:
                at.setdefault(tuple(v), set()).add(lab[i])
        for labs in at.values():
            ls = sorted(labs)
            Q.add_edges_from((a, b) for k, a in enumerate(ls) for b in ls[k + 1:])
    # smallest-last (Matula & Beck 1983): at most degeneracy + 1 colours (6 on a
    # planar map), in linear time; networkx's DSATUR took 23 s on 7,000 regions
    color = nx.greedy_color(Q, strategy="smallest_last")
    return [color[x] for x in lab]


@styled
def plot_regions(region_list: Sequence, ax=None, *, color_by: str = "region",
                 boundaries: bool = True, title: Optional[str] = None,
                 cmap: Optional[str] = None, colorbar: bool = True, output: int = 0,
                 edgecolor: str = "k", linewidth: float = 0.3,
                 labels: Optional[Sequence[int]] = None, graph=None):
    """Draw 2-D activation regions.

    Parameters
    ----------
    region_list : sequence of Region
        From :func:`polyrelu.regions.regions` on a bounded 2-D domain.
    color_by : {"region", "map", "value"}
        ``"region"``: a proper colouring of the activation regions (no two
        neighbours share a colour, :func:`region_coloring`); ``"map"``: one
        colour per linear region (neighbours with the same exact affine map
        share it, different linear regions that touch never do);
        ``"value"``: the output ``output`` of the network at the region's
        interior point.
    boundaries : bool
        Draw the region boundaries.
    cmap : str, optional
        Colour map of ``color_by="value"`` (default viridis).
    labels : sequence of int, optional
        Linear-region labels for ``color_by="map"`` if already computed
        (:func:`linear_region_labels`).
    graph : optional
        The :func:`~polyrelu.regions.region_graph` of the regions (a
        ``networkx.Graph``) if already at hand.

    Examples
    --------
    >>> import polyrelu as pr
    >>> net = pr.network.random_network([2, 3, 1], seed=0)
    >>> rs = list(pr.regions(net, pr.Polyhedron.box([-1, -1], [1, 1])))
    >>> ax = plot_regions(rs, color_by="map")
    """
    from matplotlib.collections import PolyCollection

    ax = _axes(ax)
    rs = list(region_list)
    polys = [region_polygon(r) for r in rs]
    if color_by in ("region", "map"):
        from ..regions import region_graph

        G = region_graph(rs) if graph is None and rs else graph
        if color_by == "map" and labels is None and rs:
            labels = linear_region_labels(rs, graph=G)
        idx = region_coloring(rs, labels if color_by == "map" else None, graph=G) if rs \
            else []
        palette = fill_colors(max(idx) + 1 if idx else 0)
        coll = PolyCollection(polys, facecolors=[palette[i] for i in idx])
    elif color_by == "value":
        vals = [float(r.net(r.interior_point)[output]) for r in rs]
        coll = PolyCollection(polys, array=vals, cmap=cmap or "viridis")
    else:
        raise PolyreluError(f"color_by must be 'region', 'map' or 'value', not {color_by!r}")
    if boundaries:
        coll.set_edgecolor(edgecolor)
        coll.set_linewidth(linewidth)
    else:
        coll.set_edgecolor("face")
    ax.add_collection(coll)
    if color_by == "value" and colorbar:
        ax.figure.colorbar(coll, ax=ax, label=f"output {output}")
    if polys:
        xs = [p[0] for poly in polys for p in poly]
        ys = [p[1] for poly in polys for p in poly]
        ax.set_xlim(min(xs), max(xs))
        ax.set_ylim(min(ys), max(ys))
    ax.set_aspect("equal", adjustable="box")
    if title is None and rs:
        title = f"{len(rs)} activation regions ({rs[0].net.architecture})"
    if title:
        ax.set_title(title)
    return ax


@styled
def plot_regions_slice(net, points, box=None, ax=None, **kwargs):
    """Regions on the 2-D slice through three data points (or the 1-D slice
    through two), in slice coordinates ``t`` (``x = x0 + U t``).

    >>> import polyrelu as pr
    >>> net = pr.network.random_network([3, 4, 1], seed=1)
    >>> ax = plot_regions_slice(net, [[0, 0, 0], [1, 0, 1], [0, 1, 1]])
    """
    from ..regions import regions, slice_domain

    nt, D = slice_domain(net, points, box)
    rs = list(regions(nt, D))
    ax = _axes(ax)
    if nt.input_dim == 2:
        kwargs.setdefault("title", f"{len(rs)} activation regions on the slice")
        plot_regions(rs, ax=ax, **kwargs)
        ax.set_xlabel(coordinate_label(1, sliced=True))
        ax.set_ylabel(coordinate_label(2, sliced=True))
        # the data points at t = 0, e1, e2
        ax.plot([0, 1, 0], [0, 0, 1], "k*", ms=7)
        return ax
    # 1-D slice: coloured intervals (neighbours differ) and the output along
    # the line
    idx = region_coloring(rs)
    cols = fill_colors(max(idx) + 1 if idx else 0)
    for k, r in zip(idx, rs):
        a, b = float(r.vertices[0][0]), float(r.vertices[-1][0])
        ax.axvspan(a, b, color=cols[k], lw=0)
        M, c = r.affine_map
        ya = float(M[0][0] * r.vertices[0][0] + c[0])
        yb = float(M[0][0] * r.vertices[-1][0] + c[0])
        ax.plot([a, b], [ya, yb], "k-", lw=1.2)
    ax.set_xlabel(coordinate_label(None, sliced=True))
    ax.set_ylabel("output 0")
    ax.set_title(kwargs.get("title") or f"{len(rs)} activation regions on the segment")
    return ax


def _layer_segments(rs, layer_of_constraint):
    """Boundary segments of 2-D regions with the layer that created each
    (exactly: a segment lies on a constraint tight at both its endpoints)."""
    segs = {}
    for r in rs:
        V = list(r.vertices)
        cons = r.constraints
        if len(V) < 2:
            continue
        cx = sum(float(v[0]) for v in V) / len(V)
        cy = sum(float(v[1]) for v in V) / len(V)
        V.sort(key=lambda v: math.atan2(float(v[1]) - cy, float(v[0]) - cx))
        for k in range(len(V)):
            a, b = V[k], V[(k + 1) % len(V)]
            best = None
            for row, rhs, label in cons:
                if (row[0] * a[0] + row[1] * a[1] == rhs
                        and row[0] * b[0] + row[1] * b[1] == rhs):
                    lay = layer_of_constraint(label)
                    if lay is not None and (best is None or lay < best):
                        best = lay
            if best is not None:
                key = tuple(sorted([(a[0], a[1]), (b[0], b[1])]))
                segs[key] = min(best, segs.get(key, best))
    return segs


@styled
def plot_layer_boundaries(net, domain, axes=None, *, title: Optional[str] = None,
                          cumulative: bool = True):
    """Layer-by-layer region boundaries (J&V Figure 1, Raghu et al. Figure 1).

    One panel per hidden layer ``l``: the boundaries created by layers ``1..l``
    (the regions of the network truncated after layer ``l``), those of layer
    ``l`` in its colour and the earlier ones in grey.  With
    ``cumulative=False`` a single panel shows every boundary coloured by the
    layer that created it.

    >>> import polyrelu as pr
    >>> net = pr.network.random_network([2, 3, 3, 1], seed=2)
    >>> fig = plot_layer_boundaries(net, pr.Polyhedron.box([-2, -2], [2, 2]))
    >>> len(fig.axes)
    2
    """
    from matplotlib.collections import LineCollection

    from ..network import Network
    from ..regions import regions

    if net.input_dim != 2:
        raise PolyreluError("layer boundary plots are 2-D (plot a slice of the network)")
    if domain is None or not domain.bounded:
        raise DomainError("layer boundary plots need a bounded 2-D domain (a box)")
    H = net.num_layers - 1
    panels = list(range(1, H + 1)) if cumulative else [H]
    if axes is None:
        fig, axes = new_figure(1, len(panels), size=(3.0 * len(panels), 3.1),
                               squeeze=False)
        axes = list(axes[0])
    else:
        axes = list(axes) if isinstance(axes, (list, tuple)) else [axes]
        fig = axes[0].figure
    skips = {t: list(s) for t, s in net.skips if t <= max(panels)}
    for ax, l in zip(axes, panels):
        layers = list(net.weights()[:l])
        width = net.hidden_widths[l - 1]
        trunc = Network.from_weights(layers + [([[Fraction(0)] * width], [Fraction(0)])],
                                     skips={t: s for t, s in skips.items() if t <= l},
                                     activation=net.activation,
                                     alpha=net.alpha if net.activation == "leaky_relu" else None)
        rs = list(regions(trunc, domain))
        segs = _layer_segments(rs, lambda lab: lab[0] if lab[0] != "domain" else None)
        for lay in range(1, l + 1):
            lines = [[(float(a[0]), float(a[1])), (float(b[0]), float(b[1]))]
                     for (a, b), k in segs.items() if k == lay]
            if cumulative and lay < l:
                col, lw = "0.6", 0.8
            else:
                col, lw = layer_color(lay), 1.2
            ax.add_collection(LineCollection(lines, colors=col, linewidths=lw,
                                             label=f"layer {lay}"))
        V = domain.vertices
        xs = [float(v[0]) for v in V]
        ys = [float(v[1]) for v in V]
        ax.set_xlim(min(xs), max(xs))
        ax.set_ylim(min(ys), max(ys))
        ax.set_aspect("equal", adjustable="box")
        ax.set_title(f"layers 1..{l}: {len(rs)} regions" if cumulative
                     else f"{len(rs)} regions, boundaries by layer")
        if not cumulative:
            legend_outside(ax)
    if title:
        fig.suptitle(title)
    return fig
