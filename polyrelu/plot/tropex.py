"""Plots for TropEx (Trimmel, Petzka & Sminchisescu 2021): Figure 2 (angles and
distances of linear coefficients), Figure 3 (the transformation curve) and the
extracted linear coefficients as images.  Floats only for drawing."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .style import new_figure, styled

__all__ = ["plot_coefficient_comparison", "plot_transformation_curve",
           "plot_linear_coefficients"]


def _axes(ax):
    if ax is None:
        _, ax = new_figure(size=(4.0, 3.2))
    return ax


@styled
def plot_coefficient_comparison(comparison: Any, ax=None, title: str | None = None):
    """Scatter angle (degrees) against coefficient distance per test point
    (T&P Figure 2): blue = classified correctly by ``N^(X)``, red = wrongly
    (grey when no labels were given).

    >>> import matplotlib; matplotlib.use("Agg")
    >>> from polyrelu.network import random_network
    >>> from polyrelu.tropex import tropex, compare_coefficients
    >>> net = random_network([2, 4, 3], seed=2)
    >>> E = tropex(net, [[1, 0], [0, 1]], "fast")
    >>> ax = plot_coefficient_comparison(compare_coefficients(E, net, [[1, 1]]))
    """
    ax = _axes(ax)
    ang = np.asarray(comparison.angles, dtype=float)
    dist = np.asarray(comparison.distances, dtype=float)
    if comparison.correct is None:
        ax.scatter(ang, dist, s=10, c="grey", alpha=0.7, label="test points")
    else:
        ok = np.asarray(comparison.correct, dtype=bool)
        ax.scatter(ang[ok], dist[ok], s=10, c="tab:blue", alpha=0.7,
                   label=f"correct ({int(ok.sum())})")
        ax.scatter(ang[~ok], dist[~ok], s=14, c="tab:red", alpha=0.8,
                   label=f"incorrect ({int((~ok).sum())})")
    ax.set_xlabel("angle between linear coefficients (degrees)")
    ax.set_ylabel("Euclidean distance of coefficients")
    ax.set_xlim(0, max(95.0, float(ang.max()) + 5 if ang.size else 95.0))
    ax.legend(loc="best")
    if title:
        ax.set_title(title)
    return ax


@styled
def plot_transformation_curve(curve: Sequence[Any], ax=None, label: str = "",
                              title: str | None = None):
    """Agreement with the network (solid) and accuracy (dotted) of the partially
    extracted function after each merged layer (T&P Figure 3).

    >>> import matplotlib; matplotlib.use("Agg")
    >>> from polyrelu.network import random_network
    >>> from polyrelu.tropex import transformation_curve
    >>> net = random_network([2, 4, 3], seed=2)
    >>> ax = plot_transformation_curve(transformation_curve(net, [[1, 0]], [[0, 1]]))
    """
    ax = _axes(ax)
    xs = np.arange(len(curve))
    ag = [s.agreement for s in curve]
    line, = ax.plot(xs, ag, "-o", ms=3, label=f"{label} agreement".strip())
    if all(s.accuracy is not None for s in curve):
        ax.plot(xs, [s.accuracy for s in curve], ":s", ms=3, color=line.get_color(),
                label=f"{label} accuracy".strip())
    # letter of the layer merged at each step, beside the point (curves of
    # different networks have different layers)
    for x, s, a in zip(xs, curve, ag):
        ax.annotate(s.code[-1] if s.code else "-", (x, a), textcoords="offset points",
                    xytext=(0, 5), ha="center", fontsize="x-small", color=line.get_color())
    ax.set_xticks(xs)
    ax.set_xlabel("merge step, last layer first\n(D dense, C conv/avg-pool, M max-pool, "
                  "R ReLU, B batch-norm, F flatten, + add)", fontsize="small")
    ax.set_ylabel("fraction of test points")
    ax.set_ylim(-0.02, 1.1)
    ax.legend(loc="best")
    if title:
        ax.set_title(title)
    return ax


@styled
def plot_linear_coefficients(E: Any, points: Sequence[int], shape: Sequence[int],
                             axes=None, title: str | None = None):
    """The local linear coefficients ``a+_{k,i} - a-_k`` (class ``i`` = label of
    ``x_k``) of data points as images of ``shape`` (e.g. ``(8, 8)``).

    >>> import matplotlib; matplotlib.use("Agg")
    >>> from polyrelu.network import random_network
    >>> from polyrelu.tropex import tropex
    >>> E = tropex(random_network([4, 3, 2], seed=1), [[1, 0, 0, 1]], "fast")
    >>> axes = plot_linear_coefficients(E, [0], (2, 2))
    """
    if axes is None:
        _, axes = new_figure(1, len(points), size=(1.3 * len(points), 1.55), squeeze=False)
        axes = axes[0]
    for ax, k in zip(axes, points):
        M, _ = E.local_map(k)
        lab = E.labels[k]
        img = np.array([float(v) for v in M[lab]]).reshape(tuple(shape))
        m = float(np.abs(img).max()) or 1.0
        ax.imshow(img, cmap="RdBu_r", vmin=-m, vmax=m)
        ax.set_title(f"x{k}: class {lab}", fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        axes[0].figure.suptitle(title)
    return axes
