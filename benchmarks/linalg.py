"""Exact linear algebra on real MNIST 8x8 weights, and the code paths built on it.

    python -m benchmarks linalg [--model FILE] [--only CASE ...] [--count-fractions]

Cases (``--only``): ``solve`` (64x64), ``rank`` (120x100), ``rref`` (60x100),
``nullspace`` (60x100), ``det`` (64x64) -- submatrices of layer 2 of
``mnist8x8_100_200_300_200_100_10.onnx`` (float32 weights converted exactly,
36-44-bit denominators); ``restrict`` (``Network.restrict`` of that network
to a 2-D slice through a data-like point); ``region`` (``region_of`` plus its
affine map in R^64 at a data-like point: 900 neurons); ``folds``
(``fold_surface`` and ``is_general`` on a small random network); ``engine``
(the region engine: ``regions`` and ``linear_regions`` on two torch MLPs of
``python -m benchmarks regions``, which reports wall seconds only).

Prints CPU seconds (``time.process_time``, the figure to compare on a shared
machine) beside wall seconds, and a digest of each exact result: equal
digests mean identical answers.  Cases are repeated for at least 0.5 s; the
first call (cold caches) and the best call are reported.  The ``kernel``
line says which linear algebra ran.  The module runs on any polyrelu, so it
also measures an older checkout, from a scratch folder holding two links::

    ln -s OLD_CHECKOUT/polyrelu polyrelu; ln -s THIS_CHECKOUT/benchmarks benchmarks
    PYTHONPATH=. python -m benchmarks linalg

``--count-fractions`` counts the ``Fraction`` objects the region case
creates (under cProfile, after the timed runs).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pstats
import random
import time
from fractions import Fraction

from benchmarks._common import machine_info

HERE = os.path.dirname(os.path.realpath(__file__))
DEFAULT_MODEL = os.path.normpath(os.path.join(
    HERE, "..", "..", "shared", "data", "onnx", "mnist8x8_100_200_300_200_100_10.onnx"))
CASES = ["solve", "rank", "rref", "nullspace", "det", "restrict", "region", "folds", "engine"]
ENGINE_CASES = ["2-64-64-64-1@1", "3-16-16-16-1@1"]


def digest(obj) -> str:
    """Short hash of an exact result (Fractions print exactly)."""
    return hashlib.sha1(repr(obj).encode()).hexdigest()[:10]


def measure(fn, min_total: float = 0.5, max_repeat: int = 50):
    """CPU seconds of the first call (caches cold: weights not yet converted),
    best CPU and wall seconds per call, and the result."""
    first = best_cpu = best_wall = float("inf")
    spent = 0.0
    out = None
    for i in range(max_repeat):
        c, w = time.process_time(), time.perf_counter()
        out = fn()
        dc, dw = time.process_time() - c, time.perf_counter() - w
        if i == 0:
            first = dc
        best_cpu, best_wall = min(best_cpu, dc), min(best_wall, dw)
        spent += dw
        if spent >= min_total:
            break
    return first, best_cpu, best_wall, out


def data_point(d: int = 64, seed: int = 0) -> list:
    """A digit-like image: pixels k/16 in [0, 1], mostly 0 (sklearn's 8x8
    digits have 0..16 intensities; no data set is read here)."""
    rng = random.Random(seed)
    return [Fraction(rng.choice([0, 0, 0, 0, 4, 8, 12, 16]), 16) for _ in range(d)]


def kernel_name() -> str:
    from polyrelu import linalg

    if hasattr(linalg, "integer_rank_is"):
        import flint

        return f"python-flint {flint.__version__} (fmpq_mat / fmpz_mat / nmod_mat)"
    return "Fraction Gauss-Jordan (hand-written)"


def cases(model: str):
    """(name, callable) pairs; each callable returns its exact result."""
    import polyrelu as pr
    from polyrelu import linalg
    from polyrelu.network import random_network

    det = getattr(linalg, "det", None)
    if det is None:  # older checkouts: the determinant lived in polyhedron.py
        from polyrelu.polyhedron import _det as det
    net = pr.Network.load(model)
    W2 = net.layers[1].W                        # 200 x 100
    A64 = [list(r[:64]) for r in W2[:64]]        # 64 x 64
    b64 = [r[64] for r in W2[:64]]
    rng = random.Random(1)
    x0 = data_point()
    U = [[Fraction(rng.randint(-8, 8), 16) for _ in range(2)] for _ in range(64)]
    small = random_network([2, 6, 6, 1], seed=0)
    box = pr.Polyhedron.box([-1, -1], [1, 1])

    def region():
        r = pr.region_of(net, x0)
        return r.pattern, r.affine_map

    def folds():
        from polyrelu.folds import is_general

        S = pr.fold_surface(small, box)
        g = is_general(small, box)
        return len(S.hyperplanes), S.order_of_surface, bool(g)

    def engine():
        from benchmarks.regions import torch_network

        out = []
        for case in ENGINE_CASES:
            arch, _, R = case.partition("@")
            widths = [int(w) for w in arch.split("-")]
            enet = torch_network(widths)
            dom = pr.Polyhedron.box([-int(R)] * widths[0], [int(R)] * widths[0])
            rs = list(pr.regions(enet, dom))
            out.append((len(rs), len(pr.linear_regions(enet, dom, region_list=rs))))
        return out

    return {
        "solve": ("solve 64x64", lambda: linalg.solve(A64, b64)),
        "rank": ("rank 120x100", lambda: linalg.rank(W2[:120])),
        "rref": ("rref 60x100", lambda: linalg.rref(W2[:60])),
        "nullspace": ("nullspace 60x100", lambda: linalg.nullspace(W2[:60])),
        "det": ("det 64x64", lambda: det(A64)),
        "restrict": ("Network.restrict 64 -> 2", lambda: net.restrict(x0, U).layers[0]),
        "region": ("region_of + affine_map, R^64", region),
        "folds": ("fold_surface + is_general 2-6-6-1", folds),
        "engine": ("region engine " + ", ".join(ENGINE_CASES), engine),
    }, net, x0


def count_fractions(net, x0) -> int:
    import polyrelu as pr

    prof = cProfile.Profile()
    prof.enable()
    r = pr.region_of(net, x0)
    r.affine_map
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    return sum(v[1] for k, v in stats.items()
               if k[0].endswith("fractions.py") and k[2] == "__new__")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks linalg")
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--only", nargs="+", choices=CASES, default=CASES)
    ap.add_argument("--count-fractions", action="store_true")
    args = ap.parse_args(argv)
    import polyrelu

    print(f"machine: {machine_info()}")
    print(f"polyrelu: {os.path.dirname(polyrelu.__file__)}")
    print(f"kernel: {kernel_name()}")
    print(f"model: {os.path.basename(args.model)}")
    table, net, x0 = cases(args.model)
    print(f"{'case':44s} {'CPU first':>10s} {'CPU best':>10s} {'wall best':>10s}  "
          f"result digest")
    for key in args.only:
        name, fn = table[key]
        first, cpu, wall, out = measure(fn)
        print(f"{name:44s} {first:10.4f} {cpu:10.4f} {wall:10.4f}  {digest(out)}",
              flush=True)
    if args.count_fractions:
        print(f"Fraction objects created by region_of + affine_map: "
              f"{count_fractions(net, x0)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
