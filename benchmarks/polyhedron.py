"""Exact polyhedron queries: fast path (float proposal + exact check) vs pure cdd.

``python -m benchmarks polyhedron [--count 200] [--dims 2 4] [--data int float]
[--exact-only]``

For random polytopes given by 10-40 inequalities (random normals,
right-hand sides positive so the origin is inside, 10% of the instances made
empty and 10% lower-dimensional), times ``interior_point``, ``is_empty``,
``maximize`` and the minimal H-representation (``inequalities``) on fresh
objects (nothing cached) in the three modes of ``fast_path``: floats first
(``True``), ``"auto"`` (the default) and the pure exact cdd path (``False``),
and prints per-call times and the fast-path success rates from
``backend_stats()``.  Data ``int``: small integers and fractions; ``float``:
float64 normals converted exactly (53-bit dyadic rationals, like the rows of
a region of a trained network).
"""

from __future__ import annotations

import argparse
import random
import time
from fractions import Fraction

from benchmarks._common import machine_info, timed
from polyrelu.polyhedron import Polyhedron, backend_stats, fast_path


def instances(d: int, count: int, seed: int, data: str) -> list[tuple[list, list]]:
    rng = random.Random(seed * 1000 + d)
    out = []
    for k in range(count):
        m = rng.randint(10, 40)
        if data == "int":
            A = [[rng.randint(-9, 9) for _ in range(d)] for _ in range(m)]
            b = [Fraction(rng.randint(1, 60), rng.randint(1, 6)) for _ in range(m)]
        else:  # float64 data, converted exactly by polyrelu.numbers
            A = [[rng.gauss(0.0, 1.0) for _ in range(d)] for _ in range(m)]
            b = [rng.uniform(0.1, 3.0) for _ in range(m)]
        if k % 10 == 7:  # empty: add a row cutting everything off
            A.append([1] + [0] * (d - 1))
            b.append(Fraction(-1000))
            A.append([-1] + [0] * (d - 1))
            b.append(Fraction(0))
        elif k % 10 == 8:  # lower-dimensional: a pair of opposite rows x0 = 0
            A.append([1] + [0] * (d - 1))
            b.append(Fraction(0))
            A.append([-1] + [0] * (d - 1))
            b.append(Fraction(0))
        out.append((A, b))
    return out


OPS = {
    "interior_point": lambda P, c: P.interior_point() if not P.is_empty() else None,
    "is_empty": lambda P, c: P.is_empty(),
    "maximize": lambda P, c: P.maximize(c),
    "inequalities": lambda P, c: P.inequalities,
}


def run(cases, d: int, modes) -> dict:
    """CPU seconds per call for each (mode, query), modes interleaved per instance.

    The machine is shared, so modes alternate instance by instance, in a
    rotating order (load and garbage collection affect all alike), and the
    clock is the process CPU time.
    """
    rng = random.Random(d)
    objectives = [[rng.randint(-5, 5) for _ in range(d)] for _ in cases]
    t_build, _ = timed(lambda: [Polyhedron.from_inequalities(A, b) for A, b in cases])
    out: dict = {"build": t_build / len(cases)}
    for name, op in OPS.items():
        total = {mode: 0.0 for mode in modes}
        stats: dict = {}
        for k, ((A, b), c) in enumerate(zip(cases, objectives)):
            for mode in modes[k % len(modes):] + modes[:k % len(modes)]:  # rotate order
                P = Polyhedron.from_inequalities(A, b)  # fresh: nothing cached
                with fast_path(mode):
                    before = backend_stats()
                    t = time.process_time()
                    op(P, c)
                    total[mode] += time.process_time() - t
                    if mode is True:
                        for key, v in backend_stats().items():
                            stats[key] = stats.get(key, 0) + v - before.get(key, 0)
        for mode in modes:
            out[(mode, name)] = total[mode] / len(cases)
        out[("stats", name)] = stats
    return out


def rate(stats: dict, key: str) -> str:
    ok = stats.get(f"{key}.fast_ok", 0)
    fail = stats.get(f"{key}.fast_fail", 0)
    return f"{ok}/{ok + fail}" if ok + fail else "-"


MODES = ((True, "floats first"), ("auto", "auto"), (False, "pure cdd"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks polyhedron")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--dims", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--data", nargs="+", choices=["int", "float"], default=["int", "float"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--exact-only", action="store_true",
                    help="run only the pure cdd path (fast path off)")
    args = ap.parse_args(argv)
    modes = [m for m in MODES if m[0] is False] if args.exact_only else list(MODES)
    print(f"machine: {machine_info()}")
    print(f"{args.count} random polytopes per case, 10-40 inequalities "
          f"(10% empty, 10% lower-dimensional); CPU ms per call on fresh objects")
    for data in args.data:
        for d in args.dims:
            cases = instances(d, args.count, args.seed, data)
            res = run(cases, d, [mode for mode, _ in modes])
            print(f"\ndata={data}, d={d}: building a Polyhedron {res['build'] * 1e6:.0f} us")
            print(f"  {'query':<15}" + "".join(f"{label:>14}" for _, label in modes)
                  + "   floats-first successes")
            for name in OPS:
                cells = "".join(f"{res[(mode, name)] * 1e3:11.3f} ms" for mode, _ in modes)
                succ = "-"
                if not args.exact_only:
                    st = res[("stats", name)]
                    succ = {"interior_point": f"interior {rate(st, 'interior')}",
                            "is_empty": f"interior {rate(st, 'interior')}",
                            "maximize": f"lp {rate(st, 'lp')}",
                            "inequalities": f"lp {rate(st, 'lp')}, interior "
                                            f"{rate(st, 'interior')}"}[name]
                print(f"  {name:<15}{cells}   {succ}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
