"""VNN-LIB verification beside nnenum: ACAS Xu properties 1-4 on a few networks.

``python -m benchmarks verify [--nets 1_1,1_2] [--props 1,2,3,4] [--time-limit S]``

For each network and property, in the same run: ``pr.verify`` in this
process (CPU seconds by ``time.process_time`` beside wall seconds; the model
is loaded before the clock starts) and nnenum (``python -m nnenum.nnenum
ONNX VNNLIB TIMEOUT OUT 1``: one process, in its own venv, outside the
repository; its CPU seconds are the child's ``getrusage``, which include
its imports and ONNX loading -- about a second).  Both read the same
``.vnnlib`` files from nnenum's examples.  Prints verdicts and times side by
side, and whether the verdicts agree (``unknown`` agrees with nothing).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

from ._common import machine_info

ANCHORS = os.environ.get("ANCHORS", "/work/anchors")
DATA = os.path.join(ANCHORS, "src", "stanleybak+nnenum", "examples", "acasxu", "data")
NNENUM_SRC = os.path.join(ANCHORS, "src", "stanleybak+nnenum", "src")
PEER_PY = os.path.join(ANCHORS, "venv", "bin", "python")

#: nnenum's words -> ours
NNENUM_WORDS = {"holds": "holds", "violated": "violated", "safe": "holds",
                "unsafe": "violated", "timeout": "unknown", "error": "error"}


def onnx_path(net: str) -> str:
    return os.path.join(DATA, f"ACASXU_run2a_{net}_batch_2000.onnx")


def prop_path(prop: int) -> str:
    return os.path.join(DATA, f"prop_{prop}.vnnlib")


def run_polyrelu(net: str, prop: int, time_limit: float) -> tuple:
    import polyrelu as pr

    model = pr.Network.load(onnx_path(net))
    c, t = time.process_time(), time.perf_counter()
    res = pr.verify(model, prop_path(prop), time_limit=time_limit)
    return res.verdict, time.process_time() - c, time.perf_counter() - t, res.stats["cells"]


def run_nnenum(net: str, prop: int, time_limit: float) -> tuple:
    if not os.path.exists(PEER_PY):
        return "n/a", float("nan"), float("nan")
    env = dict(os.environ, PYTHONPATH=NNENUM_SRC, OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.txt")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run([PEER_PY, "-m", "nnenum.nnenum", onnx_path(net), prop_path(prop),
                        str(time_limit), out, "1"], cwd=tmp, env=env,
                       capture_output=True, text=True, timeout=time_limit * 3 + 60)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        word = open(out).read().split()[0] if os.path.exists(out) else "error"
    return NNENUM_WORDS.get(word, word), cpu, wall


def main(argv: list | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks verify", description=__doc__)
    ap.add_argument("--nets", default="1_1,1_2,2_1")
    ap.add_argument("--props", default="1,2,3,4")
    ap.add_argument("--time-limit", type=float, default=60.0)
    args = ap.parse_args(argv)
    if not os.path.isdir(DATA):
        print(f"no ACAS Xu data in {DATA} (set ANCHORS)", file=sys.stderr)
        return 2
    print(machine_info())
    print(f"time limit {args.time_limit:g} s per instance; CPU and wall seconds")
    head = (f"{'net':5} {'prop':4} | {'polyrelu':9} {'CPU':>7} {'wall':>7} {'cells':>6} | "
            f"{'nnenum':9} {'CPU':>7} {'wall':>7} | {'CPU ratio':>9} agree")
    print(head)
    print("-" * len(head))
    for net in args.nets.split(","):
        for prop in (int(p) for p in args.props.split(",")):
            v, c, w, cells = run_polyrelu(net, prop, args.time_limit)
            pv, pc, pw = run_nnenum(net, prop, args.time_limit)
            ratio = c / pc if pc and pc == pc else float("nan")
            agree = "yes" if v == pv and v != "unknown" else "no"
            print(f"{net:5} {prop:4} | {v:9} {c:7.2f} {w:7.2f} {cells:6d} | {pv:9} {pc:7.2f} "
                  f"{pw:7.2f} | {ratio:9.2f} {agree}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
