"""Counterexamples by optimisation and the identity-layer pass, on ACAS Xu.

    python -m benchmarks equivalence_search [--repeat N]

Cases (issue 15; ACAS Xu 5-50x6-5, ``pr.equivalent`` end to end, CPU seconds
of this process beside wall seconds):

* ``1e-12@(4,7,11)``: a permuted, power-of-two-scaled copy with hidden layer 4,
  row 7, column 11 moved by 10^-12 -- over R^5 and over [0, 1]^5.  Target: an
  exact counterexample in under 5 s.  Before this search, stage 2 found none
  and stage 3 ran for hours.
* ``1e-9@(4,0,0)``: the same with a move of 10^-9 at layer 4, row 0, column 0.
* ``identity@input``: an identity layer ReLU(x) - ReLU(-x) inserted before the
  first hidden layer (permuted, scaled) -- over R^5 and over [-1, 1]^5.
  Target: equivalent in under 30 s (was undecided after 300 s).

For the moved weights the line also says whether the sampled points of stage
2 alone (``polyrelu.equivalence._search``, the search before this one) find a
counterexample, and what :func:`polyrelu.equivalence_search.search_counterexample`
alone finds and in how many CPU seconds.  Every counterexample is re-checked by exact evaluation.
"""

from __future__ import annotations

import argparse
import random
from fractions import Fraction
from pathlib import Path

from benchmarks._common import cpu_timed, machine_info

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "onnx"


def _copy(net, seed):
    from polyrelu import Certificate

    rng = random.Random(seed)
    perms = tuple(tuple(rng.sample(range(w), w)) for w in net.hidden_widths)
    scales = tuple(tuple(Fraction(2) ** rng.randint(-4, 4) for _ in range(w))
                   for w in net.hidden_widths)
    return Certificate(perms, scales).apply(net)


def _moved(net, layer, row, col, delta):
    from polyrelu import Network

    layers = [(list(map(list, L.W)), list(L.b)) for L in net.layers]
    layers[layer - 1][0][row][col] += delta
    return Network.from_weights(layers)


def _with_identity(net):
    from polyrelu import Network

    n = net.input_dim
    eye = [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    layers = [(eye + [[-v for v in r] for r in eye], [Fraction(0)] * (2 * n)),
              ([list(r) + [-v for v in r] for r in net.layers[0].W], list(net.layers[0].b))]
    layers += [(list(map(list, L.W)), list(L.b)) for L in net.layers[1:]]
    return Network.from_weights(layers)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="median of N runs")
    args = ap.parse_args(argv)

    import polyrelu as pr
    from polyrelu.budget import Budget
    from polyrelu.equivalence import _search
    from polyrelu.equivalence_search import search_counterexample
    from polyrelu.io import load

    print(f"machine: {machine_info()}")
    A = load(str(DATA / "ACASXU_run2a_1_1_batch_2000.onnx"))
    unit = pr.Polyhedron.box([0] * 5, [1] * 5)
    sym = pr.Polyhedron.box([-1] * 5, [1] * 5)
    cases = []
    for name, (l, i, j, delta) in (("1e-12@(4,7,11)", (4, 7, 11, Fraction(1, 10 ** 12))),
                                   ("1e-9@(4,0,0)", (4, 0, 0, Fraction(1, 10 ** 9)))):
        B = _copy(_moved(A, l, i, j, delta), 1)
        cases += [(name + " R^5", A, B, None, False), (name + " [0,1]^5", A, B, unit, False)]
    G = _copy(_with_identity(A), 3)
    cases += [("identity@input R^5", A, G, None, True),
              ("identity@input [-1,1]^5", A, G, sym, True)]
    print(f"{'case':28s} {'verdict':>8s} {'stage':>22s} {'CPU s':>7s} {'wall s':>7s}  note")
    ok = True
    for name, f, g, dom, want in cases:
        cpu, wall, res = cpu_timed(lambda: pr.equivalent(f, g, dom), args.repeat)
        note = ""
        if res.counterexample is not None:
            x = res.counterexample
            d = max(abs(a - b) for a, b in zip(f(x), g(x)))
            note = f"|f - g| = {float(d):.3g} at x, exact"
            old = _search(f, g, f, g, dom, "exact", Fraction(0), random.Random(0), 64, Budget())
            note += "; sampled stage 2 alone: " + ("found" if old is not None else "none")
            c2, _, r2 = cpu_timed(lambda: search_counterexample(f, g, dom), 1)
            note += (f"; optimisation alone: {r2.how} in {c2:.2f} s CPU" if r2 is not None
                     and f(r2.point) != g(r2.point) else "; optimisation alone: none")
        elif res.reductions is not None:
            note = str(res.reductions[1]).splitlines()[0]
        ok = ok and res.equivalent is want
        print(f"{name:28s} {str(res.equivalent):>8s} {res.stage:>22s} {cpu:7.2f} {wall:7.2f}  "
              f"{note}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
