"""Time of each stage of ``polyrelu.equivalent`` on ACAS-size pairs.

    python -m benchmarks equivalence [--repeat N] [--quick]

Cases:

* ``acas~perm``: ACAS Xu (5-50x6-5) vs a permuted, power-of-two-scaled copy --
  decided in stage 1 (symmetry).  Target: under 0.5 s.
* ``acas~perm(q)``: the same with random positive rational scales (p/q, p,q <= 9).
* ``acas~retrain``: ACAS Xu vs ``-retrain.onnx``, which in the shared data is
  byte-identical to the original: equivalent in stage 1 (identity certificate).
* ``acas~mirror``: ACAS Xu vs the retrained ``-retrain-mirror`` network on
  [-1, 1]^5 -- decided in stage 2 (counterexample search).
* ``acas~1e-12``: one first-layer weight changed by 10^-12 -- stage 2.
* ``demo~shift@eps``: the 2-8-8-1 demo net vs itself shifted by 1/1000, with
  eps = 1/1000 on [-10, 10]^2 -- decided by stage 3 (complete region check).

Also the parts of stage 1: ``canonical_form`` of one ACAS net and ``reduce``.
"""

from __future__ import annotations

import argparse
import random
import time
from fractions import Fraction
from pathlib import Path

from benchmarks._common import machine_info, timed

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "onnx"


def _copy(net, seed, dyadic=True):
    from polyrelu import Certificate

    rng = random.Random(seed)
    perms = tuple(tuple(rng.sample(range(w), w)) for w in net.hidden_widths)
    if dyadic:
        scales = tuple(tuple(Fraction(2) ** rng.randint(-4, 4) for _ in range(w))
                       for w in net.hidden_widths)
    else:
        scales = tuple(tuple(Fraction(rng.randint(1, 9), rng.randint(1, 9))
                             for _ in range(w)) for w in net.hidden_widths)
    return Certificate(perms, scales).apply(net)


def _perturbed(net):
    from polyrelu import Network

    layers = [(list(map(list, L.W)), list(L.b)) for L in net.layers]
    layers[0][0][7][2] += Fraction(1, 10 ** 12)
    return Network.from_weights(layers)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs")
    ap.add_argument("--quick", action="store_true", help="one run, skip stage 3 case")
    args = ap.parse_args(argv)
    repeat = 1 if args.quick else args.repeat

    import polyrelu as pr
    from polyrelu.io import load, load_default_model

    print(f"machine: {machine_info()}")
    A = load(str(DATA / "ACASXU_run2a_1_1_batch_2000.onnx"))
    R = load(str(DATA / "ACASXU_run2a_1_1_batch_2000-retrain.onnx"))
    M = load(str(DATA / "ACASXU_run2a_1_1_batch_2000-retrain-mirror.onnx"))
    box5 = pr.Polyhedron.box([-1] * 5, [1] * 5)
    t, _ = timed(lambda: pr.canonical_form(A), repeat)
    print(f"canonical_form(ACAS {A.architecture}):            {t:8.3f} s")
    t, _ = timed(lambda: pr.reduce(A, box5), repeat)
    print(f"reduce(ACAS, [-1,1]^5):                          {t:8.3f} s")
    cases = [("acas~perm", _copy(A, 1), A, None, 0),
             ("acas~perm(q)", _copy(A, 2, dyadic=False), A, None, 0),
             ("acas~retrain", A, R, None, 0),
             ("acas~mirror", A, M, box5, 0),
             ("acas~1e-12", _perturbed(A), A, None, 0)]
    if not args.quick:
        D = load_default_model()
        layers = [(L.W, L.b) for L in D.layers]
        layers[-1] = (layers[-1][0], [v + Fraction(1, 1000) for v in layers[-1][1]])
        E = pr.Network.from_weights(layers)
        cases.append(("demo~shift@eps", E, D, pr.Polyhedron.box([-10, -10], [10, 10]),
                      Fraction(1, 1000)))
    print("(wall = best wall-clock seconds of the runs; cpu = process time of the last "
          "run, robust on a shared machine)")
    print(f"{'case':16s} {'verdict':15s} {'stage':22s} {'wall s':>7s} {'cpu s':>7s}"
          f"  per stage (wall)")
    for name, f, g, dom, eps in cases:
        t, res = timed(lambda: pr.equivalent(f, g, domain=dom, eps=eps), repeat)
        c0 = time.process_time()
        pr.equivalent(f, g, domain=dom, eps=eps)
        cpu = time.process_time() - c0
        stages = ", ".join(f"{k} {v:.3f}" for k, v in res.timings.items())
        extra = f", {res.regions_checked} cells" if res.regions_checked else ""
        print(f"{name:16s} {res.verdict:15s} {res.stage:22s} {t:7.3f} {cpu:7.3f}  "
              f"{stages}{extra}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
