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
    "LAYER_COLORS",
    "region_polygon",
    "plot_regions",
    "plot_regions_slice",
    "plot_layer_boundaries",
]

#: boundary colours per hidden layer (layer 1 first)
LAYER_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
                "#e377c2", "#17becf")


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5.5, 5))
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


def _colors(n: int, cmap: str = "tab20"):
    import matplotlib

    cm = matplotlib.colormaps[cmap]
    return [cm(i % cm.N) for i in range(n)]


def plot_regions(region_list: Sequence, ax=None, *, color_by: str = "region",
                 boundaries: bool = True, title: Optional[str] = None,
                 cmap: Optional[str] = None, colorbar: bool = True, output: int = 0,
                 edgecolor: str = "k", linewidth: float = 0.4):
    """Draw 2-D activation regions.

    Parameters
    ----------
    region_list : sequence of Region
        From :func:`polyrelu.regions.regions` on a bounded 2-D domain.
    color_by : {"region", "map", "value"}
        One colour per activation region, per exact affine map (regions of
        one linear region share a colour), or the output ``output`` of the
        network at the region's interior point.
    boundaries : bool
        Draw the region boundaries.

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
    if color_by == "region":
        facec = _colors(len(rs), cmap or "tab20")
        # shuffle deterministically so neighbours differ
        facec = [facec[(7 * i) % len(facec)] for i in range(len(facec))] if facec else []
        coll = PolyCollection(polys, facecolors=facec)
    elif color_by == "map":
        keys: dict = {}
        idx = [keys.setdefault(r.affine_map, len(keys)) for r in rs]
        cols = _colors(len(keys), cmap or "tab20")
        coll = PolyCollection(polys, facecolors=[cols[(7 * i) % len(cols)] for i in idx])
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
        ax.set_xlabel("t1")
        ax.set_ylabel("t2")
        # the data points at t = 0, e1, e2
        ax.plot([0, 1, 0], [0, 0, 1], "k*", ms=9)
        return ax
    # 1-D slice: coloured intervals and the output along the line
    cols = _colors(len(rs))
    for k, r in enumerate(sorted(rs, key=lambda r: r.vertices[0][0])):
        a, b = float(r.vertices[0][0]), float(r.vertices[-1][0])
        ax.axvspan(a, b, color=cols[(7 * k) % len(cols)], alpha=0.35, lw=0)
        M, c = r.affine_map
        ya = float(M[0][0] * r.vertices[0][0] + c[0])
        yb = float(M[0][0] * r.vertices[-1][0] + c[0])
        ax.plot([a, b], [ya, yb], "k-", lw=1.2)
    ax.set_xlabel("t")
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
    import matplotlib.pyplot as plt
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
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2),
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
                col, lw = LAYER_COLORS[(lay - 1) % len(LAYER_COLORS)], 1.4
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
            ax.legend(loc="upper right", fontsize=7)
    if title:
        fig.suptitle(title)
    return fig
