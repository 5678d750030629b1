"""Do limits bound the whole call?  The ACAS Xu cases of issue 19.

Each case runs in a fresh process (``python -c``) with a hard timeout, so that
an implementation whose limits do not bound the call is measured too (it
shows as ``>`` the timeout).  The child prints its wall-clock and CPU seconds
measured inside the process (``time.perf_counter`` / ``time.process_time``)
around the call only -- for the CLI cases around ``polyrelu.cli.main``, which
includes loading the model, not the interpreter start.  A call is on time
when its wall seconds are within 10 % or 1 s (whichever is larger) of the
limit.

    python -m benchmarks limits [--cases NAME ...] [--timeout S] [--model PATH]

The machine is shared and noisy: compare wall beside CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from benchmarks._common import machine_info

ACAS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "onnx",
                    "ACASXU_run2a_1_1_batch_2000.onnx")

# name -> (limit in seconds or None, python statements; `net`, `box(lo, hi)`,
# `pr` and `main` are defined, the model path is MODEL)
CASES = {
    "cli-regions-tl10": (10, "main(['regions', MODEL, '--box', '0,1', '--time-limit', "
                             "'10', '--no-progress'])"),
    "cli-regions-json-tl10": (10, "main(['regions', MODEL, '--box', '0,1', '--time-limit',"
                                  " '10', '--no-linear', '--json', '--out', OUT])"),
    "cli-regions-mr100": (None, "main(['regions', MODEL, '--box', '0,1', '--max-regions',"
                                " '100', '--no-progress'])"),
    "cli-regions-small-tl3": (3, "main(['regions', MODEL, '--box', '-0.05,0.05', "
                                 "'--time-limit', '3', '--no-progress'])"),
    "cli-regions-small-tl30": (30, "main(['regions', MODEL, '--box', '-0.05,0.05', "
                                   "'--time-limit', '30', '--no-progress'])"),
    "cli-folds-tl5": (5, "main(['folds', MODEL, '--box', '0,1', '--time-limit', '5', "
                         "'--no-progress'])"),
    "cli-trajectory-tl3": (3, "main(['trajectory', MODEL, '--line', '-1,-1,-1,-1,-1', "
                              "'1,1,1,1,1', '--time-limit', '3'])"),
    "api-fold_set-tl3": (3, "pr.fold_set(net, box(0, 1), time_limit=3)"),
    "api-count_regions-tl10": (10, "pr.count_regions(net, box(0, 1), time_limit=10)"),
    "api-linear_regions-tl10": (10, "pr.linear_regions(net, box(0, 1), time_limit=10)"),
}

CHILD = """
import contextlib, io, os, sys, tempfile, time, json
import polyrelu as pr
from polyrelu.cli import main
from polyrelu.io import load
MODEL = {model!r}
OUT = tempfile.mkdtemp()
def box(lo, hi):
    return pr.Polyhedron.box([lo] * 5, [hi] * 5)
net = load(MODEL) if {api!r} else None
t, c = time.perf_counter(), time.process_time()
with contextlib.redirect_stdout(io.StringIO()):
    res = {stmt}
print(json.dumps({{"wall": time.perf_counter() - t, "cpu": time.process_time() - c,
                  "result": repr(res)[:200]}}))
"""


def run(name: str, model: str, timeout: float) -> dict:
    limit, stmt = CASES[name]
    code = CHILD.format(model=model, stmt=stmt, api=name.startswith("api-"))
    t = time.perf_counter()
    try:
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"case": name, "limit": limit, "wall": None, "cpu": None,
                "note": f"> {timeout:.0f} s (killed)"}
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if res.returncode or not lines:
        return {"case": name, "limit": limit, "wall": None, "cpu": None,
                "note": f"failed ({res.returncode}): {res.stderr.strip()[-200:]}"}
    out = json.loads(lines[-1])
    ok = "" if limit is None else (
        "on time" if out["wall"] <= limit + max(0.1 * limit, 1.0) else "LATE")
    return {"case": name, "limit": limit, "wall": out["wall"], "cpu": out["cpu"],
            "note": ok, "process": time.perf_counter() - t}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks limits", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--timeout", type=float, default=300, help="seconds per case")
    ap.add_argument("--model", default=ACAS)
    a = ap.parse_args(argv)
    if not os.path.exists(a.model):
        print(f"limits: the ACAS Xu model is not at {a.model}", file=sys.stderr)
        return 2
    print(machine_info())
    print(f"{'case':26} {'limit':>6} {'wall s':>8} {'cpu s':>8}  note")
    for name in a.cases:
        r = run(name, a.model, a.timeout)
        lim = "-" if r["limit"] is None else f"{r['limit']:g}"
        wall = "-" if r["wall"] is None else f"{r['wall']:.2f}"
        cpu = "-" if r["cpu"] is None else f"{r['cpu']:.2f}"
        print(f"{name:26} {lim:>6} {wall:>8} {cpu:>8}  {r['note']}", flush=True)
    return 0
