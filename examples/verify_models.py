"""Verify two models: equivalent with a certificate, or not with a counterexample.

The ACAS Xu network ``ACASXU_run2a_1_1_batch_2000.onnx`` (5-50-50-50-50-50-50-5,
300 ReLU units) is compared with

1. a copy whose hidden units are permuted and rescaled by random powers of two
   (what a re-export or a refactoring may do): polyrelu answers *equivalent*
   in stage 1 and returns the permutations and scalings (P&L Theorem 1,
   eq. 5), which are checked exactly against the SPEC formula;
2. ``...-retrain.onnx``: in the shared data this file is byte-identical to the
   original, so the answer is *equivalent* with the identity certificate;
3. ``...-retrain-mirror.onnx``, a retrained network of the same architecture:
   *not equivalent*, with a rational counterexample whose outputs are computed
   exactly (and cross-checked with torch float64);
4. the 2-8-8-1 demo network against a "pruned and refactored" version of
   itself (a unit split in two, a dead unit added): equivalent after
   :func:`polyrelu.reduce`.

Outputs in ``--out``: the permuted copy as exact JSON (try
``polyrelu equiv`` on it), ``verify_models.json`` with the verdicts, and
``verify_models_slice.png`` -- both ACAS networks along the segment from the
box centre to the counterexample.

Usage::

    python examples/verify_models.py [--quick] [--out DIR] [--data DIR]

``--data`` is the folder of the ONNX models (default: ``../shared/data/onnx``
beside the repository).  Without the models the script says so and exits 2.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

DATA = HERE.parent.parent / "shared" / "data" / "onnx"
ACAS = DATA / "ACASXU_run2a_1_1_batch_2000.onnx"
RETRAIN = DATA / "ACASXU_run2a_1_1_batch_2000-retrain.onnx"
MIRROR = DATA / "ACASXU_run2a_1_1_batch_2000-retrain-mirror.onnx"


def permuted_scaled_copy(net, seed):
    """A random Certificate (powers of two) and the copy it produces."""
    from polyrelu import Certificate

    rng = random.Random(seed)
    perms = tuple(tuple(rng.sample(range(w), w)) for w in net.hidden_widths)
    scales = tuple(tuple(Fraction(2) ** rng.randint(-4, 4) for _ in range(w))
                   for w in net.hidden_widths)
    cert = Certificate(perms, scales)
    return cert, cert.apply(net)


def formula_holds(cert, f, g):
    """SPEC: W_f[l][i][j] = s[l][i] W_g[l][p[l][i]][p[l-1][j]] / s[l-1][j] (all l)."""
    d0 = f.input_dim
    p = [tuple(range(d0))] + list(cert.permutations)
    s = [(Fraction(1),) * d0] + list(cert.scalings)
    L = f.num_layers
    for l in range(1, L + 1):
        for i, (row, b) in enumerate(zip(f.layers[l - 1].W, f.layers[l - 1].b)):
            gi, si = (p[l][i], s[l][i]) if l < L else (i, 1)
            grow = g.layers[l - 1].W[gi]
            if b != si * g.layers[l - 1].b[gi]:
                return False
            if any(row[j] != si * grow[p[l - 1][j]] / s[l - 1][j] for j in range(len(row))):
                return False
    return True


def short(v, n=5):
    return "[" + ", ".join(f"{float(t):.6g}" for t in v[:n]) + (", ...]" if len(v) > n
                                                                 else "]")


def split_and_pad(net):
    """The demo net with hidden unit 0 of layer 2 split in two and a dead unit."""
    from polyrelu import Network

    layers = [(list(map(list, L.W)), list(L.b)) for L in net.layers]
    W2, b2 = layers[1]
    W2.append(list(W2[0]))
    b2.append(b2[0])
    for row in layers[2][0]:
        row[0] = row[0] / 2
        row.append(row[0])
    W1, b1 = layers[0]
    W1.append([Fraction(0)] * net.input_dim)   # a dead unit: relu(0 x - 1) = 0
    b1.append(Fraction(-1))
    for row in W2:
        row.append(Fraction(3))
    return Network.from_weights(layers)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer random points")
    ap.add_argument("--out", default=".", help="output directory")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--data", default=str(DATA), help="folder of the ACAS Xu ONNX files")
    args = ap.parse_args(argv)
    global ACAS, RETRAIN, MIRROR
    data = Path(args.data)
    ACAS, RETRAIN, MIRROR = (data / p.name for p in (ACAS, RETRAIN, MIRROR))
    missing = [p.name for p in (ACAS, RETRAIN, MIRROR) if not p.exists()]
    if missing:
        print(f"verify_models: the ACAS Xu models are not in {data} (missing: "
              f"{', '.join(missing)}); pass --data DIR", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)

    import polyrelu as pr
    from polyrelu.io import load, load_default_model

    samples = 16 if args.quick else 64
    report = {}
    A = load(str(ACAS))
    print(f"ACAS Xu: {ACAS.name}  {A.architecture}, {sum(A.hidden_widths)} hidden units")

    # 1. permuted + power-of-two scaled copy
    cert, B = permuted_scaled_copy(A, args.seed)
    B.save(os.path.join(args.out, "acas_permuted_scaled.json"))
    t = time.perf_counter()
    res = pr.equivalent(B, A, samples=samples)
    dt = time.perf_counter() - t
    print(f"\n[1] permuted + scaled copy: {res.verdict} (stage {res.stage}, {dt:.2f} s)")
    c = res.certificate
    print(f"    certificate == the generating one: {c == cert}; "
          f"SPEC formula holds exactly: {formula_holds(c, B, A)}")
    print(f"    hidden layer 1: p[:8] = {list(c.permutations[0][:8])} ..., "
          f"s[:4] = {[str(v) for v in c.scalings[0][:4]]} ...")
    report["permuted_copy"] = {"verdict": res.verdict, "stage": res.stage,
                               "seconds": dt, "certificate_matches": c == cert}

    # 2. the "-retrain" file (identical bytes in the shared data)
    R = load(str(RETRAIN))
    same = ACAS.read_bytes() == RETRAIN.read_bytes()
    res = pr.equivalent(A, R, samples=samples)
    ok = res.certificate is not None and res.certificate.verify(A, R)
    print(f"\n[2] {RETRAIN.name}: {res.verdict} (stage {res.stage}); identity "
          f"certificate: {res.certificate is not None and res.certificate.is_identity}, "
          f"verifies exactly: {ok}")
    print(f"    (the file is byte-identical to the original: {same}; the pair that is "
          f"not equivalent is {MIRROR.name})")
    report["retrain"] = {"verdict": res.verdict, "stage": res.stage,
                         "byte_identical": same, "certificate_verifies": ok}

    # 3. the retrained network: not equivalent, exact counterexample
    M = load(str(MIRROR))
    box = pr.Polyhedron.box([-1] * 5, [1] * 5)
    t = time.perf_counter()
    res = pr.equivalent(A, M, domain=box, samples=samples)
    dt = time.perf_counter() - t
    x = res.counterexample
    fx, gx = A(x), M(x)   # independent exact re-evaluation
    print(f"\n[3] {MIRROR.name}: {res.verdict} (stage {res.stage}, {dt:.2f} s)")
    print(f"    x    = [{', '.join(map(str, x))}]")
    print(f"    f(x) ~ {short(fx)}   (exact denominators up to 2^"
          f"{max(v.denominator for v in fx).bit_length() - 1})")
    print(f"    g(x) ~ {short(gx)}")
    print(f"    exact re-evaluation agrees: {(fx, gx) == res.outputs}; "
          f"argmax f = {fx.index(max(fx))}, argmax g = {gx.index(max(gx))}")
    try:
        if args.quick:
            raise RuntimeError("importing torch takes seconds in --quick mode")
        import torch

        xt = torch.tensor([[float(v) for v in x]], dtype=torch.float64)
        with torch.no_grad():
            ft = A.to_torch()(xt)[0].tolist()
        err = max(abs(a - float(b)) for a, b in zip(ft, fx))
        print(f"    torch float64 f(x) differs from the exact value by {err:.2e}")
    except Exception as e:  # torch export is a cross-check only
        print(f"    (torch cross-check skipped: {e})")
    report["retrain_mirror"] = {"verdict": res.verdict, "stage": res.stage,
                                "seconds": dt, "counterexample": [str(v) for v in x],
                                "f": [str(v) for v in fx], "g": [str(v) for v in gx]}
    top = pr.equivalent(A, M, domain=box, mode="top1", samples=samples)
    print(f"    top1 (argmax) comparison: {top.verdict} (stage {top.stage})")

    # slice plot: both networks along the segment centre -> counterexample
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    n = 41 if args.quick else 201
    ts = [Fraction(k, n - 1) for k in range(n)]          # x(t) = t x, t in [0, 1]
    pts = [tuple(t * v for v in x) for t in ts]          # (the box centre is 0)
    Fa = np.array([[float(v) for v in A(p)] for p in pts])
    Fm = np.array([[float(v) for v in M(p)] for p in pts])
    tt = np.array([float(ts[i]) for i in range(len(pts))])
    fig, ax = plt.subplots(figsize=(7, 4))
    for k in range(5):
        ax.plot(tt, Fa[:, k], color=f"C{k}", label=f"ACAS output {k}")
        ax.plot(tt, Fm[:, k], color=f"C{k}", ls="--")
    ax.set_xlabel("t   (input x = t * counterexample; t = 1 is the counterexample)")
    ax.set_ylabel("output (exact, plotted as float)")
    ax.set_title("ACAS Xu (solid) vs retrained network (dashed)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    png = os.path.join(args.out, "verify_models_slice.png")
    fig.savefig(png, dpi=110)
    plt.close(fig)
    print(f"    plot: {png}")

    # 4. a pruned/refactored small model
    D = load_default_model()
    E = split_and_pad(D)
    res = pr.equivalent(E, D, samples=samples)
    print(f"\n[4] demo {D.architecture} vs split+padded {E.architecture}: {res.verdict} "
          f"(stage {res.stage}, certificate relates the {res.certificate_for} networks)")
    for rep in res.reductions or ():
        if rep.changed:
            for a in rep.actions:
                print(f"    reduce: {a}")
    report["refactored_demo"] = {"verdict": res.verdict, "stage": res.stage}

    with open(os.path.join(args.out, "verify_models.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
