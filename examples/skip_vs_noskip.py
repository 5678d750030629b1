"""Skip connections and the number of regions at random initialisation
(Joyce & Verschelde, section 6.2, Table 1).

For each architecture, N networks without and N with skip connections are
initialised and rounded to fractions with denominator <= 2^16 (the largest
change is printed), and their regions on [-10, 10]^2 are counted *exactly*
(``polyrelu.regions``).  Initialisation (``--init``):

* ``torch_default`` (default): torch.nn.Linear's own "Kaiming" initialisation,
  kaiming_uniform_ with a = sqrt(5), i.e. weights U(-1/sqrt(fan_in),
  1/sqrt(fan_in)).  With 50 networks per sample this reproduces J&V's Table 1
  closely (measured: 6x5 223.7 vs 116.3 regions, p = 9e-14; J&V: 206.8 vs
  117.7), except the 3x6 row (127.9 vs 120.4, p = 0.11; J&V: p = 1.5e-3).
* ``kaiming_normal``: He normal weights with the ReLU gain (std
  sqrt(2/fan_in)).  Then the effect disappears (6x5: 260.1 with vs 280.3
  without, p = 0.72; no row significant): the skip advantage at
  initialisation comes from the shrinking signal of the small default scale,
  which skips counteract -- not from skips as such.  A one-tailed
Mann-Whitney U test (``scipy.stats.mannwhitneyu``, alternative: with skips >
without) and one-sample Kolmogorov-Smirnov tests of a fitted (shifted) Gamma
distribution are reported in J&V's Table 1 layout.  The J&V networks have 2
inputs and 1 output; "1->3" adds the output of hidden layer 1 to the input of
layer 3 (our ``skips={3: [1]}``).  J&V call the counted pieces "linear
regions"; we report activation regions (patterns with full-dimensional
regions) and also the merged linear regions.

    python examples/skip_vs_noskip.py [--quick] [--out DIR] [--n 50]
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
from scipy import stats  # noqa: E402

import polyrelu as pr  # noqa: E402

# (hidden layers, neurons per layer, skips) -- the rows of J&V Table 1
ROWS = [
    (6, 5, {3: [1], 4: [2], 5: [3]}),
    (6, 4, {3: [1], 4: [2], 5: [3]}),
    (5, 4, {3: [1], 5: [2]}),
    (4, 4, {3: [1], 5: [2]}),
    (3, 6, {3: [1]}),
    (3, 4, {3: [1]}),
]
# J&V's printed sample means (with, without) for comparison
PAPER = {0: (206.8, 117.7), 1: (111.6, 62.2), 2: (96.7, 53.3), 3: (71.5, 53.5),
         4: (137.6, 115.7), 5: (52.3, 42.4)}


def kaiming_network(layers: int, width: int, skips, seed: int,
                    init: str = "kaiming_normal") -> pr.Network:
    """``kaiming_normal``: He normal weights with the ReLU gain (std sqrt(2/fan_in));
    ``torch_default``: torch.nn.Linear's default, kaiming_uniform with a = sqrt(5),
    i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)) -- a 1/sqrt(6) smaller scale."""
    import torch

    g = torch.Generator().manual_seed(seed)
    widths = [2] + [width] * layers + [1]
    params = []
    for a, b in zip(widths[:-1], widths[1:]):
        W = torch.empty(b, a, dtype=torch.float64)
        if init == "kaiming_normal":
            torch.nn.init.kaiming_normal_(W, nonlinearity="relu", generator=g)
        else:
            torch.nn.init.kaiming_uniform_(W, a=5 ** 0.5, generator=g)
        bound = 1.0 / a ** 0.5  # torch.nn.Linear's default bias initialisation
        bias = (torch.rand(b, generator=g, dtype=torch.float64) * 2 - 1) * bound
        params.append((W.tolist(), bias.tolist()))
    return pr.Network.from_weights(params, skips=skips, max_denominator=2**16)


def count(net, box):
    try:
        from polyrelu.regions import count_regions
    except ImportError:  # an older regions module: activation regions only
        from polyrelu.regions import regions

        return len(list(regions(net, box))), None
    c = count_regions(net, box)
    return c.activation, c.linear


def ks_gamma(x) -> float:
    x = np.asarray(x, dtype=float)
    if np.ptp(x) == 0:
        return float("nan")
    a, loc, scale = stats.gamma.fit(x)
    return float(stats.kstest(x, "gamma", args=(a, loc, scale)).pvalue)


def fmt_skips(skips) -> str:
    return ", ".join(f"{s}->{t}" for t, src in sorted(skips.items()) for s in src)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=".")
    ap.add_argument("--n", type=int, default=None, help="networks per sample (J&V: 50)")
    ap.add_argument("--init", default="torch_default",
                    choices=["kaiming_normal", "torch_default"],
                    help="weight initialisation (see kaiming_network)")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    rows = [ROWS[5]] if args.quick else ROWS
    n = args.n or (8 if args.quick else 50)
    box = pr.Polyhedron.box([-10, -10], [10, 10])
    t0 = time.time()
    results = []
    worst = Fraction(0)
    for idx, (layers, width, skips) in enumerate(rows):
        with_s, without, lin_w, lin_wo = [], [], [], []
        for i in range(n):
            a = kaiming_network(layers, width, None, 2 * i, args.init)
            b = kaiming_network(layers, width, skips, 2 * i + 1, args.init)
            worst = max(worst, a.rounding_error, b.rounding_error)
            ca, la = count(a, box)
            cb, lb = count(b, box)
            without.append(ca)
            with_s.append(cb)
            lin_wo.append(la)
            lin_w.append(lb)
        U, p = stats.mannwhitneyu(with_s, without, alternative="greater")
        results.append(dict(layers=layers, width=width, skips=fmt_skips(skips),
                            ks_with=ks_gamma(with_s), ks_without=ks_gamma(without),
                            mean_with=float(np.mean(with_s)),
                            mean_without=float(np.mean(without)),
                            lin_with=None if None in lin_w else float(np.mean(lin_w)),
                            lin_without=None if None in lin_wo else float(np.mean(lin_wo)),
                            U=float(U), p=float(p), reject=bool(p < 0.05),
                            data=(with_s, without),
                            paper=PAPER[ROWS.index((layers, width, skips))]))
    head = (f"{'layers':>6} {'width':>5} {'skips':<16} {'KS with':>8} {'KS w/o':>8} "
            f"{'mean with':>9} {'mean w/o':>9} {'U':>8} {'p':>9} {'reject':>6}"
            f"   J&V means (with, w/o)")
    print(f"{n} networks per sample ({args.init} init), exact activation-region counts "
          f"on [-10,10]^2")
    print(head)
    for r in results:
        print(f"{r['layers']:>6} {r['width']:>5} {r['skips']:<16} {r['ks_with']:>8.3f} "
              f"{r['ks_without']:>8.3f} {r['mean_with']:>9.1f} {r['mean_without']:>9.1f} "
              f"{r['U']:>8.1f} {r['p']:>9.2e} {'Yes' if r['reject'] else 'No':>6}"
              f"   {r['paper']}")
        if r["lin_with"] is not None:
            print(f"{'':>29} linear regions: mean with {r['lin_with']:.1f}, without "
                  f"{r['lin_without']:.1f}")
    print(f"largest weight change from rounding to denominators <= 2^16: {float(worst):.2e}")
    fig, ax = plt.subplots(figsize=(max(5, 1.8 * len(results)), 4.2))
    data, labels = [], []
    for r in results:
        data += [r["data"][1], r["data"][0]]
        labels += [f"{r['layers']}x{r['width']}\nno skip", f"{r['layers']}x{r['width']}\n"
                   f"{r['skips']}"]
    ax.boxplot(data)
    ax.set_xticks(range(1, len(labels) + 1), labels, fontsize=7)
    for j, r in enumerate(results):
        ax.text(2 * j + 1.5, ax.get_ylim()[1] * 0.97, f"p={r['p']:.1e}", ha="center",
                va="top", fontsize=8)
    ax.set_ylabel("activation regions on [-10,10]^2 (exact)")
    ax.set_title(f"skip vs no skip at {args.init} initialisation\n({n} nets each; "
                 f"one-tailed Mann-Whitney U, H1: skips give more regions)", fontsize=9)
    fig.tight_layout()
    out = os.path.join(args.out, f"skip_vs_noskip_{args.init}.png")
    fig.savefig(out, dpi=110)
    with open(os.path.join(args.out, f"skip_vs_noskip_{args.init}.txt"), "w") as fh:
        fh.write(head + "\n")
        for r in results:
            fh.write(f"{r['layers']:>6} {r['width']:>5} {r['skips']:<16} {r['ks_with']:>8.3f} "
                     f"{r['ks_without']:>8.3f} {r['mean_with']:>9.1f} "
                     f"{r['mean_without']:>9.1f} {r['U']:>8.1f} {r['p']:>9.2e} "
                     f"{'Yes' if r['reject'] else 'No':>6}\n")
    print(f"wrote {out}  [{time.time() - t0:.1f}s]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
