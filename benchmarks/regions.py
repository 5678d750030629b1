"""Regions per second of the exact enumerators on torch-initialised MLPs.

Networks: ``torch.manual_seed(0)``, default ``nn.Linear`` initialisation,
converted exactly from the float64 weights with ``Network.from_weights``.

    python -m benchmarks regions [--cases 2-64-64-64-1@10 ...] [--engines fast tree]
                                 [--time-limit S] [--maps] [--no-linear]

A case is ``ARCH@R`` for the domain ``[-R, R]^d``.  ``--maps`` also computes
every region's exact affine map (the enumeration itself needs only exact
signs; Region maps are lazy).

Both counts are reported (SPEC): activation regions, timed as the enumeration
(``seconds``, ``regions/s``), and linear regions, merged with
:func:`polyrelu.linear_regions` from a second enumeration and timed separately
(``merge s``) so that the regions/s figure stays comparable.  ``--no-linear``
skips the merge.
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


def run_case(case: str, engine: str, time_limit, maps: bool, linear: bool = True) -> dict:
    from polyrelu import Polyhedron, linear_regions, regions

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
    out = {"case": case, "engine": it.stats["engine"], "count": n, "seconds": dt,
           "rate": n / dt if dt else float("inf"), "partial": it.partial,
           "stats": it.stats, "linear": None, "linear_seconds": None}
    if linear:
        # a second (untimed) enumeration keeps the regions: holding them all
        # during the timed pass would slow it (garbage collector) and make
        # regions/s incomparable; the enumeration is deterministic, so the
        # first n regions are the same
        rs = list(regions(net, dom, engine=engine, max_regions=n))
        t = time.perf_counter()
        out["linear"] = len(linear_regions(net, dom, region_list=rs))
        out["linear_seconds"] = time.perf_counter() - t
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks regions")
    p.add_argument("--cases", nargs="+", default=DEFAULT_CASES)
    p.add_argument("--engines", nargs="+", default=["fast"])
    p.add_argument("--time-limit", type=float, default=None)
    p.add_argument("--maps", action="store_true", help="also compute exact affine maps")
    p.add_argument("--no-linear", action="store_true",
                   help="skip merging into linear regions")
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args(argv)
    print(f"machine: {machine_info()}")
    print(f"{'case':<20}{'engine':<13}{'activation':>11}{'seconds':>10}{'regions/s':>11}"
          f"{'linear':>9}{'merge s':>9}")
    for case in a.cases:
        for eng in a.engines:
            r = run_case(case, eng, a.time_limit, a.maps, linear=not a.no_linear)
            # a partial enumeration merges only the regions found
            flag = " (partial)" if r["partial"] else ""
            lin = ("" if r["linear"] is None else
                   f"{r['linear']:>9}{r['linear_seconds']:>9.2f}")
            print(f"{r['case']:<20}{r['engine']:<13}{r['count']:>11}{r['seconds']:>10.2f}"
                  f"{r['rate']:>11.0f}{lin}{flag}", flush=True)
            if a.verbose:
                print("   ", {k: v for k, v in r["stats"].items() if v})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
