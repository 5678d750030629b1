"""Decision regions: ``python -m benchmarks decision [--cases ...]``.

Times :func:`polyrelu.decision_regions` (cells, components, GF(2) Betti
numbers, boundary) beside the plain region enumeration on the same net:
random classifiers with 3 outputs (seeded; weights N(0, 1/fan_in), the
output layer without bias so that every class wins somewhere), 2-64-64-64
over [-10, 10]^2 and 3-16-16 over [-2, 2]^3.  CPU seconds are this process's
(time.process_time), beside wall seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import polyrelu as pr

from ._common import machine_info

CASES = {
    "2-64-64-64-3": ((2, 64, 64, 64, 3), 10),
    "2-32-32-3": ((2, 32, 32, 3), 10),
    "3-16-16-3": ((3, 16, 16, 3), 2),
    "3-8-8-3": ((3, 8, 8, 3), 2),
}


def classifier(widths, seed: int = 0) -> pr.Network:
    rng = np.random.default_rng(seed)
    layers = []
    for k, (a, b) in enumerate(zip(widths, widths[1:])):
        W = rng.normal(0, 1 / np.sqrt(a), (b, a))
        c = rng.normal(0, 0.5, b) if k < len(widths) - 2 else np.zeros(b)
        layers.append((W.tolist(), c.tolist()))
    return pr.Network.from_weights(layers)


def run(name: str) -> dict:
    widths, r = CASES[name]
    net = classifier(widths)
    d = widths[0]
    dom = ([-r] * d, [r] * d)
    c0, t0 = time.process_time(), time.perf_counter()
    n = sum(1 for _ in pr.regions(net, dom))
    c1, t1 = time.process_time(), time.perf_counter()
    dr = pr.decision_regions(net, dom)
    c2, t2 = time.process_time(), time.perf_counter()
    return {"regions": n, "cells": len(dr.cells), "boundary": len(dr.boundary),
            "betti": [c.betti for c in dr], "regions_cpu": c1 - c0, "regions_wall": t1 - t0,
            "cpu": c2 - c1, "wall": t2 - t1}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks decision", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    a = ap.parse_args(argv)
    print(machine_info())
    print(f"{'net':14} {'regions':>8} {'cells':>7} {'bdry':>6} {'enum cpu':>9} "
          f"{'decision cpu':>13} {'wall':>7}  betti per class")
    for name in a.cases:
        f = run(name)
        print(f"{name:14} {f['regions']:>8} {f['cells']:>7} {f['boundary']:>6} "
              f"{f['regions_cpu']:>9.2f} {f['cpu']:>13.2f} {f['wall']:>7.2f}  {f['betti']}",
              flush=True)
    return 0
