"""Trajectory length grows exponentially with depth (Raghu et al. 2017, Thm 3, Figs 3-4).

A circle in R^m (spanned by two exactly orthonormal rational vectors) is
approximated by an inscribed polygon with rational vertices *on* the circle;
its image after every layer of a random ReLU network (weights N(0,
sigma_w^2/k), biases N(0, sigma_b^2), rounded to denominators <= 2^12) is a
polyline whose length we compute exactly (a sum of square roots; plotted as
floats).  Theorem 3 predicts growth per layer of at least order
sigma_w sqrt(k) / sqrt(k + 1) (for ReLU); the dashed lines show that rate.

Right: the image of the circle after each hidden layer, projected onto its two
leading principal directions (Figure 3).

    python examples/raghu_trajectory_length.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import polyrelu as pr  # noqa: E402
from polyrelu.trajectories import (  # noqa: E402
    _float_layers,
    embedded_circle,
    gaussian_network,
    inscribed_polygon,
)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=".")
    ap.add_argument("--activation", default="relu", choices=["relu", "hard_tanh"])
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.quick:
        m, k, depth, n, sigmas, sb = 4, 8, 4, 48, [1, 2, 4], 0.5
    else:
        m, k, depth, n, sigmas, sb = 8, 32, 8, 200, [1, 2, 4, 8], 0.5
    t0 = time.time()
    circle = embedded_circle(m, seed=0)
    poly = inscribed_polygon(circle, n)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
    print(f"{args.activation} nets, width {k}, depth {depth}, circle in R^{m} as an "
          f"exact {n}-gon")
    last_net = None
    for sw in sigmas:
        net = gaussian_network([m] + [k] * depth + [1], sw, sb, seed=1,
                               activation=args.activation)
        tl = pr.trajectory_length(net, poly)
        vals = tl.values[:-1]  # input and hidden layers
        axes[0].plot(range(len(vals)), vals, marker="o", label=f"sigma_w={sw}")
        rate = sw * math.sqrt(k) / math.sqrt(k + 1)
        axes[0].plot(range(len(vals)), [vals[0] * rate ** d for d in range(len(vals))],
                     ls="--", color=axes[0].lines[-1].get_color(), alpha=0.6)
        growth = " ".join(f"{r:.2f}" for r in tl.ratios()[:-1])
        print(f"  sigma_w={sw}: lengths " + " ".join(f"{v:.4g}" for v in vals)
              + f"\n              growth per layer {growth}  (Thm 3 rate {rate:.2f});"
              f" {tl.transitions.count} transitions")
        if sw == sigmas[-1]:
            last_net = net
            if not args.quick:
                print(f"  exact length after layer 1: {str(tl.lengths[1].exact)[:100]}...")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("layer")
    axes[0].set_ylabel("trajectory length (exact, plotted as float)")
    axes[0].set_title("image length per layer (dashed: Thm 3 order sigma_w sqrt(k/(k+1)))",
                      fontsize=10)
    axes[0].legend(fontsize=8)
    # Figure 3: images of the circle layer by layer, PCA-projected (display only)
    ts = np.linspace(0, 2 * np.pi, 600)
    u = np.array([float(a) for a in circle.u])
    v = np.array([float(a) for a in circle.v])
    pts = [np.cos(t) * u + np.sin(t) * v for t in ts]
    imgs = [_float_layers(last_net, p, "post") for p in pts]
    show = [1, max(2, depth // 2), depth]
    for j, l in enumerate(show):
        Z = np.array([im[l] for im in imgs])
        Z = Z - Z.mean(axis=0)
        _, _, Vt = np.linalg.svd(Z, full_matrices=False)
        P = Z @ Vt[:2].T
        scale = np.abs(P).max() or 1.0
        axes[1].plot(P[:, 0] / scale + 2.3 * j, P[:, 1] / scale, lw=1)
        axes[1].text(2.3 * j, -1.3, f"layer {l}", ha="center", fontsize=9)
    axes[1].set_aspect("equal")
    axes[1].axis("off")
    axes[1].set_title(f"image of the circle (sigma_w={sigmas[-1]}), normalised PCA")
    fig.tight_layout()
    out = os.path.join(args.out, "raghu_trajectory_length.png")
    fig.savefig(out, dpi=110)
    print(f"wrote {out}  [{time.time() - t0:.1f}s]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
