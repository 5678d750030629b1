"""Plots of decision regions: each class region in its colour, the decision
boundary in black (``polyrelu plot --decision``).

Floats appear only here, for drawing; every cell and every boundary piece was
decided exactly by :mod:`polyrelu.decision`.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["CLASS_COLORS", "plot_decision_regions", "decision_plot_command"]

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


def decision_plot_command(args: Any, net0, net, domain, budget) -> int:
    """The ``polyrelu plot --decision`` run (called by the ``plot``
    command once the model and the 2-D domain are
    read): computes the decision regions under the command's limits, writes
    ``decision.png`` to ``--out`` and prints per class the cells, components,
    Betti numbers and exact area (``--json``: one document)."""
    from ..commands._common import atomic_path, emit_json, eprint, pyplot
    from ..decision import decision_regions
    from ..exceptions import DomainError
    from ..numbers import fraction_str

    if net.input_dim != 2:
        raise DomainError("plot --decision draws 2-D domains: a 2-input model, or "
                          "--slice P0 P1 P2 through three points")
    plt = pyplot()
    dr = decision_regions(net, domain, budget=budget.share(0.85))
    where = (f"slice through {' '.join(args.slice)}" if args.slice
             else f"box {args.box or '-10,10'}")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "decision.png")
    fig, ax = plt.subplots(figsize=(6.2, 5.4))
    plot_decision_regions(dr, ax=ax)
    ax.set_xlabel("t1" if args.slice else "x1")
    ax.set_ylabel("t2" if args.slice else "x2")
    part = " (PARTIAL)" if dr.partial else ""
    import textwrap

    head = textwrap.fill(f"{net0.architecture} on {where}{part}", 70)
    ax.set_title(f"{head}\ndecision regions: "
                 f"{len(dr.cells)} cells, {len(dr.boundary)} boundary pieces", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=args.dpi, format="png")
    plt.close(fig)
    classes: list[dict[str, Any]] = [
        {"class": c.label, "cells": len(c.cells), "components": len(c.components),
         "betti": None if c.betti is None else list(c.betti), "area": c.volume}
        for c in dr]
    if args.json:
        emit_json({"model": args.model or "<embedded default model>",
                   "architecture": net0.architecture, "domain": where,
                   "activation_regions": dr.stats["regions"], "cells": len(dr.cells),
                   "boundary_pieces": len(dr.boundary), "classes": classes,
                   "partial": dr.partial, "reason": dr.reason, "files": [path]})
    say = eprint if args.json else print
    if not args.json:
        say(f"model: {args.model or '<embedded default model>'} ({net0.architecture}) "
            f"on {where}")
        say(f"{dr.stats['regions']} activation regions, {len(dr.cells)} decision cells, "
            f"{len(dr.boundary)} boundary pieces"
            + (f"  PARTIAL: {dr.reason}" if dr.partial else ""))
        for cr in dr:
            betti = "n/a (partial)" if cr.betti is None else cr.betti
            area = fraction_str(cr.volume)
            if len(area) > 24:      # a real model's exact area runs to pages
                area = f"~{float(cr.volume):.6g} (exact in --json)"
            say(f"class {cr.label}: {len(cr.cells)} cells, {len(cr.components)} components, "
                f"betti {betti}, area {area}")
    say(f"wrote {path}")
    return 0
