"""TropEx on 8x8 digits: a fully-connected and a convolutional network.

Reproduces, in miniature, the experiments of Trimmel, Petzka & Sminchisescu
(ICLR 2021, section 4): train a small FCN and a small CNN, extract the linear
terms of the training points (Algorithm 3.1), and compare the network N with
the extracted function N^(X) on held-out data (Table 2), count the linear
regions the points fall into, compare linear coefficients of test points
(Figure 2) and follow the agreement while layers are merged (Figure 3).

Data: scikit-learn's digits if scikit-learn is installed; otherwise a
synthetic "digits-like" set of 8x8 seven-segment glyphs with random shifts,
stroke dropout and noise (fixed seed).  Theorem 3.3 is verified exactly (exact
mode, rational arithmetic) on a sample of training points.  Finally the
trained CNN is saved as TorchScript with its data, and ``polyrelu tropex`` runs
on the files (the command line reads Conv2d/MaxPool2d models from TorchScript).

    python examples/tropex_digits.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

# ----------------------------------------------------------------- data
SEGMENTS = {  # seven-segment digits: a top, b upper right, c lower right,
    0: "abcdef", 1: "bc", 2: "abged", 3: "abgcd", 4: "fgbc",   # d bottom, e lower
    5: "afgcd", 6: "afgedc", 7: "abc", 8: "abcdefg", 9: "abcdfg",  # left, f upper left
}                                                              # g middle


def glyph(digit: int) -> np.ndarray:
    img = np.zeros((7, 5))
    seg = SEGMENTS[digit]
    if "a" in seg:
        img[0, :] = 1
    if "g" in seg:
        img[3, :] = 1
    if "d" in seg:
        img[6, :] = 1
    if "f" in seg:
        img[0:4, 0] = 1
    if "b" in seg:
        img[0:4, 4] = 1
    if "e" in seg:
        img[3:7, 0] = 1
    if "c" in seg:
        img[3:7, 4] = 1
    return img


def synthetic_digits(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 8, 8))
    y = rng.integers(0, 10, size=n)
    for k in range(n):
        g = glyph(int(y[k])) * rng.uniform(0.6, 1.0)
        drop = rng.random(g.shape) < 0.15            # stroke dropout
        g = np.where(drop, 0.0, g)
        dy, dx = rng.integers(0, 2), rng.integers(0, 4)
        X[k, dy:dy + 7, dx:dx + 5] = g
        X[k] += rng.normal(0, 0.25, size=(8, 8))
    return np.clip(X, 0, 1.5), y


def load_digits(n: int, seed: int):
    try:
        from sklearn.datasets import load_digits as skl
    except ImportError:
        X, y = synthetic_digits(n, seed)
        return X, y, "synthetic 8x8 seven-segment digits (scikit-learn not installed)"
    d = skl()
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(d.target))[:n]
    return d.images[idx] / 16.0, d.target[idx], "scikit-learn digits"


# ---------------------------------------------------------------- models
def make_models(seed: int):
    import torch
    import torch.nn as nn

    torch.manual_seed(seed)
    fcn = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32),
                        nn.ReLU(), nn.Linear(32, 10))
    cnn = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(6, 12, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(48, 10))
    return {"FCN": fcn, "CNN": cnn}


def train(model, X, y, epochs: int, seed: int, lr: float = 1e-2):
    """Mini-batch Adam, written out (importing torch.optim takes seconds)."""
    import torch

    torch.manual_seed(seed)
    Xt = torch.as_tensor(X, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    params = [p for p in model.parameters()]
    m1 = [torch.zeros_like(p) for p in params]
    m2 = [torch.zeros_like(p) for p in params]
    step = 0
    for _ in range(epochs):
        perm = torch.randperm(len(yt))
        for i in range(0, len(yt), 32):
            b = perm[i:i + 32]
            for p in params:
                p.grad = None
            torch.nn.functional.cross_entropy(model(Xt[b]), yt[b]).backward()
            step += 1
            with torch.no_grad():
                for p, a, v in zip(params, m1, m2):
                    a.mul_(0.9).add_(p.grad, alpha=0.1)
                    v.mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
                    ah = a / (1 - 0.9 ** step)
                    vh = v / (1 - 0.999 ** step)
                    p.sub_(lr * ah / (vh.sqrt() + 1e-8))
    return model.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny data and epochs")
    ap.add_argument("--out", default="tropex_out", help="directory for the plots")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    import polyrelu.plot.tropex as ptx
    from polyrelu.tropex import (
        compare_coefficients,
        extraction_scores,
        region_sharing,
        transformation_curve,
        tropex,
    )

    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    n_train, n_test = (300, 100) if args.quick else (1200, 500)
    epochs = 20 if args.quick else 30
    n_exact = 3 if args.quick else 20
    X, y, source = load_digits(n_train + n_test, args.seed)
    X = X[:, None].astype(np.float32).astype(np.float64)   # (n, 1, 8, 8); float32 data
    Xtr, ytr, Xte, yte = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    print(f"data: {source}; {n_train} training and {n_test} test points")

    rows = []
    models = make_models(args.seed)
    fig2, axes2 = plt.subplots(1, 2, figsize=(10, 4))
    fig3, ax3 = plt.subplots(figsize=(6, 4))
    figc, axesc = plt.subplots(2, 8, figsize=(12, 3.6))
    for j, (name, model) in enumerate(models.items()):
        t0 = time.perf_counter()
        train(model, Xtr, ytr, epochs, args.seed)
        t_train = time.perf_counter() - t0
        t0 = time.perf_counter()
        E = tropex(model, Xtr, "fast")
        t_ext = time.perf_counter() - t0
        assert E.checks["theorem_3_3"], name
        # exact certificate of Theorem 3.3 on a sample (weights converted exactly)
        t0 = time.perf_counter()
        Ex = tropex(model, Xtr[:n_exact], "exact")
        t_exact = time.perf_counter() - t0
        assert Ex.checks["theorem_3_3"] and Ex.labels == E.labels[:n_exact]
        sc = extraction_scores(E, model, Xte, yte)
        sc_tr = extraction_scores(E, model, Xtr, ytr)
        rs_tr = region_sharing(model, Xtr)
        rs_te = region_sharing(model, Xte, reference=Xtr)
        cmp_ = compare_coefficients(E, model, Xte, yte)
        curve = transformation_curve(model, Xtr, Xte, yte)
        ok = np.asarray(cmp_.correct)
        rows.append(dict(
            name=name, acc_n=sc.network_accuracy, acc_e=sc.extracted_accuracy,
            agree=sc.agreement, agree_tr=sc_tr.agreement, acc_tr=sc_tr.network_accuracy,
            regions_tr=rs_tr.distinct_patterns, maps_tr=rs_tr.distinct_maps,
            regions_te=rs_te.distinct_patterns, shared_tt=rs_te.shared_with_reference,
            terms=sum(len(t) for t in E.terms), den=len(E.denominator),
            ang_ok=float(cmp_.angles[ok].mean()) if ok.any() else float("nan"),
            ang_bad=float(cmp_.angles[~ok].mean()) if (~ok).any() else float("nan"),
            t_train=t_train, t_ext=t_ext, t_exact=t_exact,
            per_layer=rs_tr.per_layer, curve=curve))
        ptx.plot_coefficient_comparison(cmp_, ax=axes2[j], title=f"{name}: test points "
                                        f"vs the terms N^(X) uses")
        ptx.plot_transformation_curve(curve, ax=ax3, label=name)
        first = [next(k for k, lab in enumerate(E.labels) if lab == c)
                 for c in sorted(set(E.labels))][:8]
        ptx.plot_linear_coefficients(E, first, (8, 8), axes=axesc[j])
        axesc[j][0].set_ylabel(name)

    print("\nTable 2 style summary (test data; N = network, N^(X) = extracted "
          "function of the training points)")
    hdr = (f"{'net':4} {'N vs N^(X)':>10} {'N vs true':>9} {'N^(X) vs true':>13} "
           f"{'train agree':>11} {'regions(train)':>14} {'terms':>6} "
           f"{'angle ok/bad':>13}")
    print(hdr)
    for r in rows:
        print(f"{r['name']:4} {100 * r['agree']:9.1f}% {100 * r['acc_n']:8.1f}% "
              f"{100 * r['acc_e']:12.1f}% {100 * r['agree_tr']:10.1f}% "
              f"{r['regions_tr']:>8}/{n_train:<5} {r['terms']:>6} "
              f"{r['ang_ok']:6.1f}/{r['ang_bad']:5.1f}")
    for r in rows:
        print(f"\n{r['name']}: training accuracy {100 * r['acc_tr']:.1f}%; "
              f"{r['regions_tr']} distinct activation patterns and {r['maps_tr']} "
              f"distinct local affine maps among {n_train} training points; "
              f"{r['regions_te']} among {n_test} test points, of which "
              f"{r['shared_tt']} share a pattern with a training point; "
              f"{r['terms']} numerator and {r['den']} denominator terms extracted")
        print("  distinct patterns of the training points up to each nonlinear layer: "
              + ", ".join(f"{nm} {c}" for nm, c in r["per_layer"]))
        print("  transformation (Figure 3): " + ", ".join(
            f"{s.code[-1] if s.code else '-'} {100 * s.agreement:.0f}%" for s in r["curve"]))
        print(f"  time: training {r['t_train']:.1f} s, fast extraction {r['t_ext']:.2f} s,"
              f" exact extraction + certificate of {n_exact} points {r['t_exact']:.1f} s")
    print(f"\nTheorem 3.3 verified: on all {n_train} training points (fast mode: labels)"
          f" and exactly on {n_exact} points per network (exact mode: label, maximum "
          f"and local affine map).")

    ax3.set_title("Agreement (solid) / accuracy (dotted) while merging layers")
    for fig, fname in ((fig2, "tropex_angles.png"), (fig3, "tropex_transformation.png"),
                       (figc, "tropex_coefficients.png")):
        fig.tight_layout()
        path = os.path.join(args.out, fname)
        fig.savefig(path, dpi=110)
        print(f"saved {path}")

    # the trained CNN as a TorchScript file, read back by the command line
    from polyrelu.cli import main as polyrelu_cli

    pt = os.path.join(args.out, "tropex_cnn.pt")
    npz = os.path.join(args.out, "tropex_digits.npz")
    torch.jit.save(torch.jit.script(models["CNN"].eval()), pt)
    np.savez(npz, X=Xtr, y=ytr, X_test=Xte, y_test=yte)
    print(f"\n$ polyrelu tropex {pt} {npz} --mode fast")
    rc = polyrelu_cli(["tropex", pt, npz, "--mode", "fast"])
    assert rc == 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
