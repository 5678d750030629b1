"""``polyrelu plot --decision``: the decision regions of a 2-D domain drawn
and summarised (the CLI side of :mod:`polyrelu.decision` and
:mod:`polyrelu.plot.decision`)."""

from __future__ import annotations

import os
from typing import Any

from ..plot.style import coordinate_label
from ._common import emit_json, eprint, pyplot, save_figure_to

__all__ = ["decision_plot_command"]


def decision_plot_command(args: Any, net0, net, domain, budget) -> int:
    """The ``polyrelu plot --decision`` run (called by the ``plot``
    command once the model and the 2-D domain are
    read): computes the decision regions under the command's limits, writes
    ``decision.png`` to ``--out`` and prints per class the cells, components,
    Betti numbers and exact area (``--json``: one document)."""
    from ..decision import decision_regions
    from ..exceptions import DomainError
    from ..numbers import fraction_str
    from ..plot.decision import plot_decision_regions

    if net.input_dim != 2:
        raise DomainError("plot --decision draws 2-D domains: a 2-input model, or "
                          "--slice P0 P1 P2 through three points")
    plt = pyplot()
    dr = decision_regions(net, domain, budget=budget.share(0.85))
    where = (f"slice through {' '.join(args.slice)}" if args.slice
             else f"box {args.box or '-10,10'}")
    os.makedirs(args.out, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.2, 5.4))
    plot_decision_regions(dr, ax=ax)
    ax.set_xlabel(coordinate_label(1, bool(args.slice)))
    ax.set_ylabel(coordinate_label(2, bool(args.slice)))
    part = " (PARTIAL)" if dr.partial else ""
    import textwrap

    head = textwrap.fill(f"{net0.architecture} on {where}{part}", 70)
    ax.set_title(f"{head}\ndecision regions: "
                 f"{len(dr.cells)} cells, {len(dr.boundary)} boundary pieces", fontsize=9)
    fig.tight_layout()
    path = save_figure_to(fig, args.out, "decision", args)   # --format, --dpi
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
