"""Speed of the standalone checker (``polyrelu check``) on large partitions.

    python -m benchmarks check [--cases 2-64-64-64-1@10 4-32-32-1@1] [--workers 2]
                               [--cache DIR] [--modes compact explicit]

A case ``NAME@R`` is the net ``/work/shared/bench/NAME.npz`` (float64 weights,
converted exactly) on ``[-R, R]^d``.  Its partition is enumerated with
:func:`polyrelu.regions` and written once with :func:`polyrelu.results.write_partition`
into the cache folder (default ``$POLYRELU_BENCH_CACHE`` or
``/work/scratch/polyrelu-check-cache``, outside the repository); later runs
reuse the file.  Reported: the region count, the file size, wall seconds and
CPU seconds of the check (this process plus its worker processes, from
``resource.getrusage``), and the targets of issue 17 (2-64-64-64 on
[-10,10]^2 under 10 s, 4-32-32 on [-1,1]^4 under 60 s, on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from benchmarks._common import machine_info

BENCH = "/work/shared/bench"
DEFAULT_CASES = ["2-64-64-64-1@10", "4-32-32-1@1"]
TARGETS = {"2-64-64-64-1@10": 10.0, "4-32-32-1@1": 60.0}


def load_net(name: str):
    import numpy as np

    from polyrelu import Network

    z = np.load(os.path.join(BENCH, name + ".npz"))
    ks = list(z["ks"])
    return Network.from_weights([(z[f"W{i}"].tolist(), z[f"b{i}"].tolist())
                                 for i in range(len(ks) - 1)])


def partition_file(case: str, mode: str, cache: str) -> tuple[str, float | None]:
    """The cached partition file of a case (written if missing) and the seconds
    writing took (None if cached)."""
    from polyrelu import Polyhedron, regions
    from polyrelu.results import write_partition

    name, _, R = case.partition("@")
    path = os.path.join(cache, f"{name}@{R}-{mode}.jsonl")
    if os.path.exists(path):
        return path, None
    os.makedirs(cache, exist_ok=True)
    net = load_net(name)
    d = net.input_dim
    box = Polyhedron.box([-int(R)] * d, [int(R)] * d)
    t = time.perf_counter()
    write_partition(path, net, regions(net, box), box, explicit=(mode == "explicit"))
    return path, time.perf_counter() - t


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run(case: str, mode: str, workers: int, cache: str) -> dict:
    from polyrelu.check import check_file

    path, wrote = partition_file(case, mode, cache)
    c0, t0 = _cpu(), time.perf_counter()
    rep = check_file(path, workers=workers)
    wall = time.perf_counter() - t0
    return {"case": case, "mode": mode, "code": rep.code, "regions":
            rep.stats.get("regions"), "MB": os.path.getsize(path) / 2 ** 20, "wall": wall,
            "cpu": _cpu() - c0, "write": wrote, "message": rep.message}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks check", description=__doc__)
    p.add_argument("--cases", nargs="+", default=DEFAULT_CASES)
    p.add_argument("--modes", nargs="+", default=["compact"], choices=("compact", "explicit"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--cache", default=os.environ.get("POLYRELU_BENCH_CACHE",
                                                     "/work/scratch/polyrelu-check-cache"))
    args = p.parse_args(argv)
    print(machine_info())
    print(f"{'case':18} {'mode':8} {'regions':>8} {'MB':>7} {'wall s':>8} {'cpu s':>8} "
          f"{'target':>7}  verdict")
    for case in args.cases:
        for mode in args.modes:
            r = run(case, mode, args.workers, args.cache)
            tgt = TARGETS.get(case)
            print(f"{case:18} {mode:8} {r['regions'] or 0:>8} {r['MB']:7.1f} {r['wall']:8.2f} "
                  f"{r['cpu']:8.2f} {'' if tgt is None else f'{tgt:.0f} s':>7}  "
                  f"{'OK' if r['code'] == 0 else r['message'][:60]}"
                  + ("" if r["write"] is None else f"  (file written in {r['write']:.0f} s)"))
    return 0
