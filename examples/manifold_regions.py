"""Linear regions and distance to the boundary on 1-D data manifolds
(data-geometry paper, section 4 and appendix H, Figures 4-7).

Setup as in appendix H: a 2-10-16-1 ReLU network (26 neurons) is trained with
Adam (lr 0.01) on 1000 noisy samples of a periodic target a sin(nu theta) on
the unit circle (theta in (-pi, pi)) and a sin(nu t) on the tractrix
psi(t) = (t - tanh t, sech t), t in (-3, 3).  At checkpoints the trained float
weights are taken exactly and we count

* the pieces of the manifold with one activation pattern / one affine map:
  exact on the circle (breakpoints are roots of rational quadratics in
  s = tan(theta/2)); on the tractrix, which is not algebraic, by certified
  refinement (a certified lower bound, see ``polyrelu.Curve``);
* the mean distance from sample points to the nearest boundary, along the
  curve (geodesic) and Euclidean (exact per point,
  ``polyrelu.distance_to_boundary``), normalised by the largest distance on
  the range as in Figure 5.

Section 4.2 (Figures 6-7): a unit circle in R^n spanned by two exactly
orthonormal rational vectors, for growing n: region count and mean distance.
The paper found the pieces SLSQP-solving each neuron; here every count is
exact.  (The paper's circle "without its poles" is the full circle here.)

    python examples/manifold_regions.py [--quick] [--out DIR] [--runs R]
"""

from __future__ import annotations

import argparse
import os
import time
from fractions import Fraction

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import polyrelu as pr  # noqa: E402
from polyrelu.plot.trajectories import plot_path_pieces  # noqa: E402


def sample_manifold(kind: str, n: int, rng, dim: int = 2, basis=None):
    if kind == "tractrix":
        t = rng.uniform(-3, 3, n)
        X = np.stack([t - np.tanh(t), 1 / np.cosh(t)], axis=1)
        return X, t
    th = rng.uniform(-np.pi, np.pi, n)
    if basis is None:
        return np.stack([np.cos(th), np.sin(th)], axis=1), th
    u, v = basis
    return np.outer(np.cos(th), u) + np.outer(np.sin(th), v), th


def train(kind, seed, checkpoints, dim=2, basis=None, a=1.0, nu=3.0):
    """Yield (epoch, exact Network) at the checkpoints."""
    import torch

    torch.set_num_threads(1)  # tiny model: threads only contend
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    X, par = sample_manifold(kind, 1000, rng, dim, basis)
    y = a * np.sin(nu * par) + rng.normal(0, 0.05, len(par))
    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)[:, None]
    model = torch.nn.Sequential(torch.nn.Linear(dim, 10), torch.nn.ReLU(),
                                torch.nn.Linear(10, 16), torch.nn.ReLU(),
                                torch.nn.Linear(16, 1)).double()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    epoch = 0
    loss = torch.mean((model(Xt) - yt) ** 2).detach()
    for stop in checkpoints:
        while epoch < stop:
            opt.zero_grad()
            loss = torch.mean((model(Xt) - yt) ** 2)
            loss.backward()
            opt.step()
            epoch += 1
        lin = [m for m in model if isinstance(m, torch.nn.Linear)]
        # rounded to denominators <= 2^16 (net.rounding_error records the change);
        # from here on everything is exact for this rational network
        net = pr.Network.from_weights([(m.weight.detach().tolist(), m.bias.detach().tolist())
                                       for m in lin], max_denominator=2**16)
        yield epoch, net, float(loss.detach())


def measure(net, manifold, samples, resolution):
    return pr.manifold_regions(net, manifold, samples=samples, resolution=resolution)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=".")
    ap.add_argument("--runs", type=int, default=None, help="training runs (paper: 20)")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    if args.quick:
        runs, checkpoints, samples, dims = 1, [0, 20], 10, [2, 3]
        resolution = Fraction(1, 2**8)
    else:
        runs, checkpoints, samples, dims = 20, [0, 25, 50, 100, 200, 400, 700, 1000], \
            200, [2, 7, 12, 17, 22, 27]
        resolution = Fraction(1, 2**20)
    runs = args.runs or runs
    manifolds = {"circle": pr.unit_circle(), "tractrix": pr.tractrix()}
    res = {k: {"pieces": [], "linear": [], "along": [], "eucl": []} for k in manifolds}
    last = {}
    print(f"2-10-16-1 ReLU nets (26 neurons), {runs} run(s), checkpoints {checkpoints}")
    for kind, manifold in manifolds.items():
        for r in range(runs):
            rows = {"pieces": [], "linear": [], "along": [], "eucl": []}
            for epoch, net, loss in train(kind, r, checkpoints):
                m = measure(net, manifold, samples, resolution)
                rows["pieces"].append(m.activation_pieces)
                rows["linear"].append(m.linear_pieces)
                rows["along"].append(m.mean_distance_along)
                rows["eucl"].append(m.mean_distance_euclidean)
                last[kind] = (net, m)
                if r == 0:
                    tag = "exact" if m.exact else "certified lower bound"
                    print(f"  {kind:8} epoch {epoch:5}: loss {loss:.3f}, "
                          f"{m.activation_pieces} activation pieces, {m.linear_pieces} "
                          f"linear pieces ({tag}); mean distance along "
                          f"{m.mean_distance_along:.4f}, euclidean "
                          f"{m.mean_distance_euclidean:.4f}")
            for k in rows:
                res[kind][k].append(rows[k])
    # section 4.2: a circle in R^n
    dim_rows = []
    for n in dims:
        circle = pr.embedded_circle(n, seed=n)
        basis = (np.array([float(a) for a in circle.u]), np.array([float(a) for a in circle.v]))
        vals = []
        for r in range(max(1, runs // 4)):
            *_, (epoch, net, loss) = train("circle", 100 + r, [checkpoints[-1]], n, basis)
            # the network's input layer is 10 x n; 'circle' samples used the basis
            m = measure(net, circle, samples, resolution)
            vals.append((m.linear_pieces, m.activation_pieces, m.mean_distance_along,
                         m.mean_distance_euclidean))
        v = np.mean(np.array(vals, dtype=float), axis=0)
        dim_rows.append((n, *v))
        print(f"  circle in R^{n:<3}: {v[1]:.1f} activation pieces, {v[0]:.1f} linear, "
              f"mean distance along {v[2]:.4f}, euclidean {v[3]:.4f}")

    fig, axes = plt.subplots(2, 3, figsize=(14, 8))
    colours = {"tractrix": "tab:blue", "circle": "tab:orange"}
    for kind in manifolds:
        for ax, key, lab in ((axes[0, 0], "linear", "linear regions on the manifold"),
                             (axes[0, 1], "along", "mean distance along curve / max")):
            A = np.array(res[kind][key], dtype=float)
            if key == "along":
                A = A / np.nanmax(A)
            mu, sd = A.mean(axis=0), A.std(axis=0)
            ax.plot(checkpoints, mu, color=colours[kind], label=kind, marker="o")
            ax.fill_between(checkpoints, mu - sd, mu + sd, color=colours[kind], alpha=0.2)
            ax.set_xlabel("epoch")
            ax.set_ylabel(lab)
            ax.legend(fontsize=8)
        A = np.array(res[kind]["eucl"], dtype=float)
        A = A / np.nanmax(A)
        axes[0, 2].plot(checkpoints, A.mean(axis=0), color=colours[kind], marker="o",
                        label=kind)
    axes[0, 0].axhline(26, color="grey", ls=":", lw=1)
    axes[0, 0].set_title("Fig. 4: regions (dotted: #neurons = 26)", fontsize=10)
    axes[0, 1].set_title("Fig. 5: distance along the curve, normalised", fontsize=10)
    axes[0, 2].set_title("Euclidean distance to the boundary, normalised", fontsize=10)
    axes[0, 2].set_xlabel("epoch")
    axes[0, 2].legend(fontsize=8)
    for ax, kind in zip(axes[1, :2], ("circle", "tractrix")):
        net, m = last[kind]
        plot_path_pieces(m.transitions, ax=ax, show_breakpoints=True)
        ax.set_title(f"{kind}: {m.activation_pieces} pieces (trained net)", fontsize=10)
    D = np.array(dim_rows)
    ax = axes[1, 2]
    ax.plot(D[:, 0], D[:, 1], marker="o", label="linear regions")
    ax.set_xlabel("input dimension n_in")
    ax.set_ylabel("linear regions on the circle")
    ax2 = ax.twinx()
    ax2.plot(D[:, 0], D[:, 3], marker="s", color="tab:green", label="mean distance along")
    ax2.set_ylabel("mean distance along the circle")
    ax.set_title("Figs. 6-7: circle in R^n", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    ax2.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    out = os.path.join(args.out, "manifold_regions.png")
    fig.savefig(out, dpi=100)
    print(f"wrote {out}  [{time.time() - t0:.1f}s]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
