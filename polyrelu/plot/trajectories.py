"""Plots of trajectories: a 2-D path coloured by activation pattern, and the
trajectory length per layer.  Floats appear only here, for drawing.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from .style import new_figure, styled

__all__ = ["plot_path_pieces", "plot_layer_lengths"]


def _path_float_points(path, n: int = 2000):
    """(params, points) along a Polyline / Circle / Curve for drawing."""
    from ..trajectories import Circle, Curve, Polyline

    if isinstance(path, Circle):
        t0, t1 = (float(a) for a in path.angles())
        ts = [t0 + (t1 - t0) * i / (n - 1) for i in range(n)]
        c, u, v = ([float(a) for a in w] for w in (path.center, path.u, path.v))
        return ts, [[ci + math.cos(t) * ui + math.sin(t) * vi
                     for ci, ui, vi in zip(c, u, v)] for t in ts]
    if isinstance(path, Curve):
        from fractions import Fraction

        a, b = path.t_range
        qs = [a + (b - a) * Fraction(i, n - 1) for i in range(n)]
        return [float(t) for t in qs], [[float(x) for x in path.point(t)] for t in qs]
    assert isinstance(path, Polyline)
    segs = path._segments()
    ts, pts = [], []
    per = max(2, n // len(segs))
    for j, (p, q) in enumerate(segs):
        for i in range(per):
            t = i / (per - 1)
            ts.append(j + t)
            pts.append([float(a) + t * (float(b) - float(a)) for a, b in zip(p, q)])
    return ts, pts


@styled
def plot_path_pieces(res: Any, ax: Any = None, cmap: str | None = None,
                     show_breakpoints: bool = True):
    """Draw a 2-D path coloured by piece (one colour per consecutive pattern;
    consecutive pieces always differ).

    ``res`` is a :class:`polyrelu.trajectories.Transitions` of a network with
    two inputs; ``cmap`` a matplotlib colour map to cycle through instead of
    the style's colours.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import polyrelu as pr
    >>> net = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])])
    >>> ax = plot_path_pieces(pr.transitions(net, pr.unit_circle()))
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = new_figure(size=(4.0, 4.0))
    ts, pts = _path_float_points(res.path)
    if len(pts[0]) != 2:
        raise ValueError("plot_path_pieces draws paths in R^2 only")
    cuts = sorted(b.value for b in res.breakpoints)
    # lines want darker colours than region fills; the colours cycle, and
    # consecutive pieces (k, k + 1) always differ
    pal = plt.get_cmap(cmap or "Dark2")
    ncol = max(2, min(getattr(pal, "N", 8), 20))

    def colours(k):
        return pal(k % ncol)
    import bisect

    piece = [bisect.bisect_right(cuts, t) for t in ts]
    start = 0
    for i in range(1, len(ts) + 1):
        if i == len(ts) or piece[i] != piece[start]:
            seg = pts[start:i + 1] if i < len(ts) else pts[start:i]
            xs, ys = zip(*seg)
            ax.plot(xs, ys, color=colours(piece[start]), lw=2.0)
            start = i
    if show_breakpoints and res.breakpoints:
        xs, ys = zip(*[b.point for b in res.breakpoints])
        ax.scatter(xs, ys, s=10, color="black", zorder=3, label="transitions")
        ax.legend(loc="best")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(f"{res.count} transitions, {res.num_pieces} pieces")
    return ax


@styled
def plot_layer_lengths(lengths: Sequence[Any], labels: Sequence[str] | None = None,
                       ax: Any = None, log: bool = True):
    """Trajectory length after each layer (one line per
    :class:`~polyrelu.trajectories.TrajectoryLength` or list of floats).

    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = plot_layer_lengths([[1.0, 2.0, 4.0]], labels=["x2 per layer"])
    """
    if ax is None:
        _, ax = new_figure(size=(4.0, 3.0))
    for i, tl in enumerate(lengths):
        vals = list(getattr(tl, "values", tl))
        ax.plot(range(len(vals)), vals, marker="o",
                label=None if labels is None else labels[i])
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel("trajectory length")
    if labels is not None:
        ax.legend()
    return ax
