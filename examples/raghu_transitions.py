"""Transitions along a trajectory vs depth and width (Raghu et al. 2017, Figure 2).

Random networks with weights N(0, sigma_w^2 / k) and biases N(0, sigma_b^2)
(rounded to fractions with denominator <= 2^12, then exact), inputs in R^m,
and the quarter-circle trajectory x(t) = cos(t) x0 + sin(t) x1, t in [0, pi/2]
between two random "data points" (Raghu's circular arc).  Every transition is
found exactly (breakpoints are roots of rational quadratics in s = tan(t/2)).

Left: the number of neuron transitions grows with depth, faster for larger
sigma_w (hard tanh saturates into more transitions as the scale grows).
Right: width does not give the same growth.

    python examples/raghu_transitions.py [--quick] [--out DIR] [--activation relu]
"""

from __future__ import annotations

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import polyrelu as pr  # noqa: E402
from polyrelu.numbers import rationalize  # noqa: E402
from polyrelu.trajectories import gaussian_network  # noqa: E402


def arc(m: int, seed: int) -> pr.Circle:
    rng = np.random.default_rng(1000 + seed)
    (x0, x1), _ = rationalize(rng.normal(size=(2, m)).tolist(), 64)
    return pr.Circle([0] * m, x0, x1, (0, "pi/2"))


def count(widths, sw, sb, act, seed, limit):
    net = gaussian_network(widths, sw, sb, seed, act)
    res = pr.transitions(net, arc(widths[0], seed), time_limit=limit)
    return res.neuron_transitions, res.count, res.partial


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=".")
    ap.add_argument("--activation", default="hard_tanh",
                    choices=["hard_tanh", "relu", "leaky_relu"])
    ap.add_argument("--time-limit", type=float, default=30.0,
                    help="seconds per network walk (partial counts are marked)")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.quick:
        m, k, depths, widths, sigmas, seeds, sb = 4, 6, [1, 2, 3], [4, 8], [1, 4], 1, 1.0
    else:
        m, k, depths, widths, sigmas, seeds, sb = 10, 16, [1, 2, 3, 4, 5, 6], \
            [4, 8, 16, 32], [1, 4, 16], 2, 1.0
    t0 = time.time()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    print(f"activation {args.activation}, input dim {m}, sigma_b {sb}, "
          f"{seeds} network(s) per point; neuron transitions along a quarter circle")
    any_partial = False
    def mark_partial(ax, xs, ys, flags):
        px = [x for x, f in zip(xs, flags) if f]
        py = [y for y, f in zip(ys, flags) if f]
        if px:
            ax.scatter(px, py, s=90, facecolors="none", edgecolors="red", zorder=4)

    for sw in sigmas:
        means, parts = [], []
        for d in depths:
            vals, p_any = [], False
            for s in range(seeds):
                n, pts, part = count([m] + [k] * d + [1], sw, sb, args.activation, s,
                                     args.time_limit)
                vals.append(n)
                p_any |= part
            any_partial |= p_any
            means.append(float(np.mean(vals)))
            parts.append(p_any)
            print(f"  sigma_w={sw:<3} width={k:<3} depth={d}: mean neuron transitions "
                  f"{means[-1]:.1f}" + ("  (time limit: lower bound)" if p_any else ""))
        axes[0].plot(depths, means, marker="o", label=f"sigma_w^2={sw * sw}")
        mark_partial(axes[0], depths, means, parts)
    dmax = depths[-1] if args.quick else 4
    for sw in sigmas:
        means, parts = [], []
        for w in widths:
            vals, p_any = [], False
            for s in range(seeds):
                n, _, part = count([m] + [w] * dmax + [1], sw, sb, args.activation, s,
                                   args.time_limit)
                vals.append(n)
                p_any |= part
            any_partial |= p_any
            means.append(float(np.mean(vals)))
            parts.append(p_any)
            print(f"  sigma_w={sw:<3} width={w:<3} depth={dmax}: mean neuron transitions "
                  f"{means[-1]:.1f}" + ("  (time limit: lower bound)" if p_any else ""))
        axes[1].plot(widths, means, marker="o", label=f"sigma_w^2={sw * sw}")
        mark_partial(axes[1], widths, means, parts)
    for ax, xl in zip(axes, ("network depth", "layer width")):
        ax.set_yscale("log")
        ax.set_xlabel(xl)
        ax.set_ylabel("neuron transitions (exact)")
        ax.legend(fontsize=8)
    axes[0].set_title(f"transitions vs depth (width {k})")
    axes[1].set_title(f"transitions vs width (depth {dmax})")
    fig.suptitle(f"Raghu et al. Fig. 2, exact ({args.activation}, quarter circle in R^{m}; "
                 f"red rings: a walk hit the time limit, a lower bound)")
    fig.tight_layout()
    out = os.path.join(args.out, "raghu_transitions.png")
    fig.savefig(out, dpi=110)
    print(f"wrote {out}" + ("  (some walks hit the time limit: lower bounds)"
                            if any_partial else "") + f"  [{time.time() - t0:.1f}s]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
