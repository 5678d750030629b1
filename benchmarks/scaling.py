"""Parallel enumeration: regions per second with 1 and 2 (or more) workers.

    python -m benchmarks scaling [--cases NAME@BOX ...] [--workers 1 2]
                                 [--reps 1] [--dask] [--nets DIR]

For every case (default: 2-128-128-128 on ``[-10, 10]^2`` and ACAS Xu 1_1 on
``[-1/16, 1/16]^5``, the nets of :mod:`benchmarks.regions`) the enumeration
runs serially in this process, then on a ``ProcessPoolExecutor`` of each
``--workers`` count (made before the clock starts, so the start-up of the
worker processes is not counted; shut down after, so their CPU seconds are
read with ``RUSAGE_CHILDREN``), and with ``--dask`` on a
``dask.distributed.LocalCluster`` of as many worker processes (one thread
each).  Printed per run: regions, wall seconds, CPU seconds of this process
and of the workers, regions per wall second, and the speed-up of ``n``
workers over 1 worker (wall).  Every parallel run's pattern set is checked
against the serial run's.  The machine is shared: the load average is
printed before and after every run.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from pathlib import Path

from benchmarks._common import machine_info
from benchmarks.regions import NETS, load_network

DEFAULT_CASES = ["2-128-128-128-1@10", "acas11@1/16"]


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _load() -> str:
    try:
        return "%.1f" % os.getloadavg()[0]
    except OSError:   # pragma: no cover
        return "?"


def run(net, dom, executor=None) -> dict:
    import polyrelu as pr

    l0 = _load()
    c0, w0 = time.process_time(), time.perf_counter()
    it = pr.regions(net, dom, executor=executor)
    pats = {r.pattern for r in it}
    wall = time.perf_counter() - w0
    return {"patterns": pats, "n": len(pats), "wall": wall, "cpu": time.process_time() - c0,
            "stats": it.stats, "load": f"{l0}->{_load()}"}


def main(argv=None) -> int:
    import polyrelu as pr

    p = argparse.ArgumentParser(prog="python -m benchmarks scaling", description=__doc__)
    p.add_argument("--cases", nargs="+", default=DEFAULT_CASES)
    p.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    p.add_argument("--reps", type=int, default=1, help="runs per setting (best wall kept)")
    p.add_argument("--dask", action="store_true", help="also on a Dask LocalCluster")
    p.add_argument("--nets", type=Path, default=NETS)
    a = p.parse_args(argv)
    print(f"machine: {machine_info()}", flush=True)
    for case in a.cases:
        name, box = case.split("@")
        net = load_network(name, a.nets)
        d = net.input_dim
        h = Fraction(box)
        dom = pr.Polyhedron.box([-h] * d, [h] * d)
        print(f"\n{name} on [-{box}, {box}]^{d}", flush=True)
        ser = min((run(net, dom) for _ in range(a.reps)), key=lambda r: r["wall"])
        print(f"  serial          {ser['n']:>7} regions  wall {ser['wall']:7.2f} s  "
              f"CPU {ser['cpu']:7.2f} s  {ser['n'] / ser['wall']:8.0f} regions/s  "
              f"load {ser['load']}", flush=True)
        base: dict = {}
        kinds = [("processes", n) for n in a.workers]
        if a.dask:
            kinds += [("dask", n) for n in a.workers]
        for kind, n in kinds:
            best = None
            for _ in range(a.reps):
                if kind == "processes":
                    ex = ProcessPoolExecutor(n)
                    list(ex.map(abs, range(n)))     # the workers are up
                    ch0 = _children_cpu()
                    r = run(net, dom, ex)
                    ex.shutdown(wait=True)
                    r["wcpu"] = _children_cpu() - ch0
                else:
                    from distributed import Client, LocalCluster

                    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                      dashboard_address=None, silence_logs=40) as cl, \
                            Client(cl) as client:
                        t0 = client.run(time.process_time)
                        r = run(net, dom, client)
                        t1 = client.run(time.process_time)
                        r["wcpu"] = sum(t1[k] - t0[k] for k in t1 if k in t0)
                assert r["patterns"] == ser["patterns"], "parallel != serial"
                if best is None or r["wall"] < best["wall"]:
                    best = r
            assert best is not None
            base.setdefault(kind, best["wall"] if n == 1 else None)
            ref = base.get(kind)
            sp = f"  speed-up over 1 worker {ref / best['wall']:.2f}x" if ref and n > 1 else ""
            print(f"  {kind:<9} {n:>2}    {best['n']:>7} regions  wall {best['wall']:7.2f} s  "
                  f"CPU {best['cpu']:6.2f} s here + {best['wcpu']:7.2f} s workers  "
                  f"{best['n'] / best['wall']:8.0f} regions/s  units "
                  f"{best['stats'].get('units')}  load {best['load']}{sp}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
