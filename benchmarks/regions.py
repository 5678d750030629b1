"""Regions per second of the exact enumerators on torch-initialised MLPs.

Networks: ``torch.manual_seed(0)``, default ``nn.Linear`` initialisation,
converted exactly from the float64 weights with ``Network.from_weights``.

    python -m benchmarks regions [--cases 2-64-64-64-1@10 ...] [--engines fast tree]
                                 [--time-limit S] [--maps]

A case is ``ARCH@R`` for the domain ``[-R, R]^d``.  ``--maps`` also computes
every region's exact affine map (the enumeration itself needs only exact
signs; Region maps are lazy).
"""

from __future__ import annotations

import argparse
import time

from benchmarks._common import machine_info

DEFAULT_CASES = ["2-16-16-16-1@1", "2-32-32-32-1@1", "2-64-64-1@1", "2-64-64-64-1@1",
                 "2-16-16-16-1@10", "2-32-32-32-1@10", "2-64-64-1@10", "2-64-64-64-1@10",
                 "3-16-16-16-1@1", "4-32-32-1@1"]


def torch_network(widths):
    """The torch MLP (seed 0, default init) as an exact Network."""
    import torch
    from torch import nn

    from polyrelu import Network

    torch.manual_seed(0)
    mods = []
    for a, b in zip(widths[:-1], widths[1:]):
        mods += [nn.Linear(a, b), nn.ReLU()]
    seq = nn.Sequential(*mods[:-1]).double()
    layers = [(m.weight.detach().numpy().tolist(), m.bias.detach().numpy().tolist())
              for m in seq if isinstance(m, nn.Linear)]
    return Network.from_weights(layers)


def run_case(case: str, engine: str, time_limit, maps: bool) -> dict:
    from polyrelu import Polyhedron, regions

    arch, _, R = case.partition("@")
    widths = [int(w) for w in arch.split("-")]
    R = int(R or 1)
    net = torch_network(widths)
    d = widths[0]
    dom = Polyhedron.box([-R] * d, [R] * d)
    t = time.perf_counter()
    it = regions(net, dom, engine=engine, time_limit=time_limit)
    n = 0
    for r in it:
        n += 1
        if maps:
            r.affine_map
    dt = time.perf_counter() - t
    return {"case": case, "engine": it.stats["engine"], "count": n, "seconds": dt,
            "rate": n / dt if dt else float("inf"), "partial": it.partial,
            "stats": it.stats}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks regions")
    p.add_argument("--cases", nargs="+", default=DEFAULT_CASES)
    p.add_argument("--engines", nargs="+", default=["fast"])
    p.add_argument("--time-limit", type=float, default=None)
    p.add_argument("--maps", action="store_true", help="also compute exact affine maps")
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args(argv)
    print(f"machine: {machine_info()}")
    print(f"{'case':<20}{'engine':<13}{'regions':>9}{'seconds':>10}{'regions/s':>11}")
    for case in a.cases:
        for eng in a.engines:
            r = run_case(case, eng, a.time_limit, a.maps)
            flag = " (partial)" if r["partial"] else ""
            print(f"{r['case']:<20}{r['engine']:<13}{r['count']:>9}{r['seconds']:>10.2f}"
                  f"{r['rate']:>11.0f}{flag}", flush=True)
            if a.verbose:
                print("   ", {k: v for k, v in r["stats"].items() if v})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
