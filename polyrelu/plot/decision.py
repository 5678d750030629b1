"""Plots of decision regions: each class region in its colour, the decision
boundary in black (``polyrelu plot --decision``).

Floats appear only here, for drawing; every cell and every boundary piece was
decided exactly by :mod:`polyrelu.decision`.
"""

from __future__ import annotations

__all__ = ["CLASS_COLORS", "plot_decision_regions"]

#: one colour per class (tab10); classes beyond ten reuse them
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def plot_decision_regions(dr, ax=None, boundary_width: float = 1.2, legend: bool = True):
    """Draw the cells of a 2-D :class:`~polyrelu.decision.DecisionRegions`,
    coloured by class, and its decision boundary; returns the axes.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0], [-1, 0]], [0, 0])])
    >>> ax = plot_decision_regions(pr.decision_regions(net, ([-1, -1], [1, 1])))
    >>> len(ax.collections)
    2
    """
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.patches import Patch

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5.5, 5))
    if dr.cells and dr.cells[0].dim != 2:
        from ..exceptions import DomainError

        raise DomainError(f"plot_decision_regions draws 2-D decision regions; these "
                          f"live in R^{dr.cells[0].dim} (restrict the network to a slice)")
    polys = [[(float(x), float(y)) for x, y in c.vertices] for c in dr.cells]
    colors = [CLASS_COLORS[c.label % len(CLASS_COLORS)] for c in dr.cells]
    ax.add_collection(PolyCollection(polys, facecolors=colors, edgecolors=colors,
                                     linewidths=0.2))
    segs = [[(float(p[0]), float(p[1])) for p in piece.vertices] for piece in dr.boundary]
    ax.add_collection(LineCollection(segs, colors="black", linewidths=boundary_width))
    V = dr.domain.vertices
    ax.set_xlim(float(min(v[0] for v in V)), float(max(v[0] for v in V)))
    ax.set_ylim(float(min(v[1] for v in V)), float(max(v[1] for v in V)))
    ax.set_aspect("equal")
    if legend:
        handles = [Patch(color=CLASS_COLORS[c.label % len(CLASS_COLORS)],
                         label=f"class {c.label}" + ("" if c.betti is None else
                                                     f": b = {c.betti}"))
                   for c in dr if c.cells]
        ax.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.8)
    return ax
