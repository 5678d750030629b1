"""Exact region enumeration side by side with the float enumerators.

    python -m benchmarks regions [--cases NAME@BOX ...] [--reps 3] [--no-peers]
                                 [--engine fast] [--linear] [--nets DIR]
                                 [--anchors DIR] [--time-limit S]

A case ``NAME@BOX`` is the network ``NAME`` on the box ``[-BOX, BOX]^d``
(``BOX`` a rational such as ``10`` or ``1/16``).  ``NAME`` is a net of the
shared benchmark folder (``DIR/NAME.npz``: ``ks`` and ``W0, b0, ...`` in
float64 -- torch seed-0 default initialisation, ``acas11`` the ACAS Xu
network 1_1), converted exactly; where no such file exists an architecture
such as ``2-16-16-16-1`` is built with ``torch.manual_seed(0)`` and default
``nn.Linear`` initialisation (the same nets).  The default cases are the
rows of issue 13: 2-64-64-64, 2-128-128-128 on ``[-10, 10]^2``, 3-16-16-16,
4-32-32 on ``[-1, 1]^d`` and ACAS Xu 1_1 on ``[-1/16, 1/16]^5``.

For every case polyrelu's enumeration is timed in this process (CPU seconds
by ``time.process_time``, median of ``--reps`` runs, beside the median wall
time; regions are streamed, not held), with its regions per second, peak
resident memory, and the regions per second over the first and the last
third of the run (the rate must not fall as the count grows).  Where the
peers are installed (``--anchors``, default ``/work/anchors``: a venv and the
runners of ``/work/shared/bench``, see its README) nnenum (float64 star sets
and LPs, 1 process) and Berzins' edge subdivision (float32) run on the same
``.npz`` in subprocesses in the same run, and the table shows their counts,
median CPU seconds and peak memory and the ratios ``polyrelu / peer`` of CPU
seconds.  ``--linear`` also times
:func:`polyrelu.count_regions` (activation and linear regions: the merge
holds every region).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import time
from fractions import Fraction
from pathlib import Path

from benchmarks._common import cpu_timed, machine_info, peak_memory_mib, reset_peak_memory

DEFAULT_CASES = ["2-64-64-64-1@10", "2-128-128-128-1@10", "3-16-16-16-1@1", "4-32-32-1@1",
                 "acas11@1/16"]
NETS = Path("/work/shared/bench")
ANCHORS = Path("/work/anchors")


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


def load_network(name: str, nets: Path):
    """``nets/NAME.npz`` converted exactly, else the torch net of an architecture."""
    path = nets / f"{name}.npz"
    if path.exists():
        import numpy as np

        from polyrelu import Network

        z = np.load(path)
        n = len(z["ks"]) - 1
        return Network.from_weights([(z[f"W{i}"].tolist(), z[f"b{i}"].tolist())
                                     for i in range(n)])
    return torch_network([int(w) for w in name.split("-")])


def run_polyrelu(net, box: Fraction, engine: str, reps: int, time_limit=None,
                 linear: bool = False) -> dict:
    from polyrelu import Polyhedron, count_regions, regions

    d = net.input_dim
    dom = Polyhedron.box([-box] * d, [box] * d)
    info: dict = {}

    def enumerate_once():
        # CPU time stamps every 500 regions: regions per second over the
        # first and the last third of the run (the rate must not fall as the
        # count grows)
        it = regions(net, dom, engine=engine, time_limit=time_limit)
        stamps = [time.process_time()]
        n = 0
        for _ in it:
            n += 1
            if n % 500 == 0:
                stamps.append(time.process_time())
        stamps.append(time.process_time())
        k = len(stamps) - 1
        third = max(1, k // 3)
        if k >= 3:
            span = (stamps[third] - stamps[0], stamps[k - 1] - stamps[k - 1 - third])
            info.update(rate_first=500 * third / span[0] if span[0] else float("inf"),
                        rate_last=500 * third / span[1] if span[1] else float("inf"))
        info.update(engine=it.stats["engine"], partial=it.partial,
                    exact_signs=it.stats["exact_signs"])
        return n

    reset_peak_memory()
    base = peak_memory_mib()
    cpu, wall, n = cpu_timed(enumerate_once, reps)
    out = {"count": n, "cpu": cpu, "wall": wall, "peak": peak_memory_mib(), "base": base,
           "rate": n / cpu if cpu else float("inf"), **info}
    if linear:
        reset_peak_memory()
        lcpu, lwall, counts = cpu_timed(lambda: count_regions(net, dom, engine=engine), 1)
        out.update(linear=counts.linear, linear_cpu=lcpu, linear_wall=lwall,
                   linear_peak=peak_memory_mib())
    return out


_PEERS = {
    # name: (runner, extra args, regex of the count)
    "nnenum": ("run_nnenum.py", ["1"], r"stars=(\d+)"),
    "berzins": ("run_berzins.py", ["f32"], r"cells\(sign vectors\)=(\d+)"),
}


def run_peer(peer: str, name: str, box: Fraction, reps: int, anchors: Path,
             timeout: float = 1800) -> dict | None:
    """One peer in a subprocess (its own venv), or None when not installed."""
    runner, extra, count_re = _PEERS[peer]
    py, rdir = anchors / "venv" / "bin" / "python", anchors / "run"
    if not (py.exists() and (rdir / runner).exists() and (rdir / f"{name}.npz").exists()):
        return None
    env = dict(os.environ, ANCHORS=str(anchors), OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("PYTHONPATH", None)
    cmd = [str(py), runner, name, repr(float(box)), *extra, str(reps)]
    try:
        res = subprocess.run(cmd, cwd=rdir, env=env, capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    text = res.stdout + res.stderr
    got = {k: re.search(p, text) for k, p in (("count", count_re),
                                                ("cpu", r"cpu_median=([0-9.]+)s"),
                                                ("wall", r" median=([0-9.]+)s"),
                                                ("peak", r"peakRSS=(\d+)MiB"))}
    if res.returncode or not all(got.values()):
        last = (text.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {res.returncode}: {last[:80]}"}
    return {"count": int(got["count"].group(1)), "cpu": float(got["cpu"].group(1)),
            "wall": float(got["wall"].group(1)), "peak": float(got["peak"].group(1))}


def run_polyrelu_child(case: str, a) -> dict:
    """:func:`run_polyrelu` in a fresh interpreter (``--worker``): its peak
    memory is then the case's alone, not the largest of the run so far."""
    import json
    import sys

    cmd = [sys.executable, "-m", "benchmarks", "regions", "--worker", case,
           "--reps", str(a.reps), "--engine", a.engine, "--nets", str(a.nets)]
    if a.time_limit is not None:
        cmd += ["--time-limit", str(a.time_limit)]
    if a.linear:
        cmd.append("--linear")
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(f"benchmark worker for {case} failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _fmt_peer(r) -> str:
    if r is None:
        return f"{'-':>9}{'-':>8}{'-':>7}"
    if "error" in r:
        return f"  {r['error'][:22]:<22}"
    return f"{r['count']:>9}{r['cpu']:>8.2f}{r['peak']:>7.0f}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks regions",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", nargs="+", default=DEFAULT_CASES, metavar="NAME@BOX")
    p.add_argument("--reps", type=int, default=3, help="runs per case (median)")
    p.add_argument("--engine", default="fast", help="polyrelu engine (regions(engine=))")
    p.add_argument("--no-peers", action="store_true", help="polyrelu only")
    p.add_argument("--linear", action="store_true",
                   help="also time count_regions (activation and linear regions)")
    p.add_argument("--nets", type=Path, default=NETS, help="folder of NAME.npz nets")
    p.add_argument("--anchors", type=Path, default=ANCHORS,
                   help="folder with the peers' venv and runners (run/)")
    p.add_argument("--time-limit", type=float, default=None)
    p.add_argument("--in-process", action="store_true",
                   help="time polyrelu in this process (default: a fresh one per case, "
                        "so that peak memory is the case's)")
    p.add_argument("--worker", metavar="NAME@BOX", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        import json

        name, _, box = a.worker.partition("@")
        r = run_polyrelu(load_network(name, a.nets), Fraction(box or "1"), a.engine, a.reps,
                         a.time_limit, a.linear)
        print(json.dumps(r))
        return 0
    peers = [] if a.no_peers else [k for k in _PEERS
                                   if (a.anchors / "venv" / "bin" / "python").exists()]
    print(f"machine: {machine_info()}")
    print(f"polyrelu CPU s: time.process_time, median of {a.reps}; peers: their cpu_median "
          f"of {a.reps}, run in subprocesses now; peak = peak resident MiB of the process "
          f"(polyrelu: after imports ~base)")
    head = (f"{'case':<22}{'regions':>8}{'CPU s':>8}{'wall s':>8}{'regions/s':>10}"
            f"{'peak':>6}")
    for k in peers:
        head += f" |{k + ' count':>9}{'CPU s':>8}{'peak':>7}{'ratio':>7}"
    print(head)
    for case in a.cases:
        name, _, box = case.partition("@")
        B = Fraction(box or "1")
        if a.in_process:
            r = run_polyrelu(load_network(name, a.nets), B, a.engine, a.reps, a.time_limit,
                             a.linear)
        else:
            r = run_polyrelu_child(case, a)
        line = (f"{name + '@' + str(B):<22}{r['count']:>8}{r['cpu']:>8.2f}{r['wall']:>8.2f}"
                f"{r['rate']:>10.0f}{r['peak']:>6.0f}")
        for k in peers:
            pr_ = run_peer(k, name, B, a.reps, a.anchors)
            ratio = (f"{r['cpu'] / pr_['cpu']:>7.2f}" if pr_ and "error" not in pr_
                     and pr_["cpu"] else f"{'-':>7}")
            line += " |" + _fmt_peer(pr_) + ratio
        flags = [r["engine"], f"base {r['base']:.0f} MiB"] + \
            (["partial"] if r["partial"] else []) + \
            ([f"exact signs {r['exact_signs']}"] if r["exact_signs"] else [])
        if "rate_first" in r:
            flags.append(f"regions/s first / last third {r['rate_first']:.0f} / "
                         f"{r['rate_last']:.0f}")
        print(line + "  (" + ", ".join(flags) + ")", flush=True)
        if a.linear:
            print(f"{'':<22}count_regions: linear {r['linear']}, CPU {r['linear_cpu']:.2f} s, "
                  f"wall {r['linear_wall']:.2f} s, peak {r['linear_peak']:.0f} MiB", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
