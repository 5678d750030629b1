"""Limits bound the whole call (issue 19, items 3-5).

Every function and command that takes ``time_limit`` / ``max_regions`` ends
within 10 % or 1 s (whichever is larger) of its time limit with a valid
partial result, marked partial; an interrupt (Ctrl-C) is a limit too; files
under ``--out`` are written whole; bad limits are clear errors.  The long
jobs here are networks whose complete runs take minutes; the limits are short.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction as F

import pytest
from _timing import Stopwatch, on_time, timed

import polyrelu as pr
from polyrelu.budget import Budget, Exhausted, as_budget, check_count, check_time_limit
from polyrelu.cli import main
from polyrelu.exceptions import LimitError, NetworkError, PolyreluError
from polyrelu.network import random_network
from polyrelu.results import load_result

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACAS = os.path.join(ROOT, "..", "shared", "data", "onnx", "ACASXU_run2a_1_1_batch_2000.onnx")
needs_acas = pytest.mark.skipif(not os.path.exists(ACAS), reason="ACAS Xu model not available")

# long jobs: each complete run takes minutes
NET5 = random_network([5, 30, 30, 30, 1], seed=1)
D5 = pr.Polyhedron.box([-1] * 5, [1] * 5)
NET2 = random_network([2, 64, 64, 64, 1], seed=0)
D2 = pr.Polyhedron.box([-10, -10], [10, 10])


def check_region(net, r):
    """A region is what it claims, exactly: its pattern is the network's at
    its interior point, which satisfies its facet rows strictly."""
    x = r.interior_point
    assert net.pattern(x) == r.pattern
    A, b = r.inequalities
    assert all(sum(a * v for a, v in zip(row, x)) < c for row, c in zip(A, b))


# ------------------------------------------------------------------ errors

BAD_TIMES = [float("nan"), -1, 0, True, float("inf"), "3"]
BAD_COUNTS = [True, float("nan"), 0, -2, 1.5]

API = {
    "regions": lambda **kw: list(pr.regions(NET2, D2, **kw)),
    "linear_regions": lambda **kw: pr.linear_regions(NET2, D2, **kw),
    "count_regions": lambda **kw: pr.count_regions(NET2, D2, **kw),
    "fold_set": lambda **kw: pr.fold_set(NET2, D2, **kw),
    "fold_surface": lambda **kw: pr.fold_surface(NET2, D2, **kw),
    "is_transparent": lambda **kw: pr.is_transparent(NET2, D2, **kw),
    "compare_bounds": lambda **kw: pr.compare_bounds(NET2, D2, **kw),
    "equivalent": lambda **kw: pr.equivalent(NET2, NET2, D2, **kw),
}


@pytest.mark.parametrize("name", sorted(API))
@pytest.mark.parametrize("value", BAD_TIMES)
def test_bad_time_limit_is_a_clear_error(name, value):
    with pytest.raises(LimitError, match=f"{name}: time_limit must be a positive number"):
        API[name](time_limit=value)


@pytest.mark.parametrize("name", sorted(API))
@pytest.mark.parametrize("value", BAD_COUNTS)
def test_bad_max_regions_is_a_clear_error(name, value):
    with pytest.raises(LimitError, match=f"{name}: max_regions must be a positive integer"):
        API[name](max_regions=value)


@pytest.mark.parametrize("fn", [pr.transitions, pr.trajectory_length])
def test_bad_trajectory_limits_are_clear_errors(fn):
    path = [[0, 0], [1, 1]]
    for v in BAD_TIMES:
        with pytest.raises(LimitError, match="transitions: time_limit"):
            fn(NET2, path, time_limit=v)
    for v in BAD_COUNTS:
        with pytest.raises(LimitError, match="transitions: max_transitions"):
            fn(NET2, path, max_transitions=v)


def test_limit_errors_are_polyrelu_errors():
    # one hierarchy; a NetworkError like the other bad arguments of the
    # computations on a network (equivalent raised NetworkError before)
    assert issubclass(LimitError, NetworkError) and issubclass(LimitError, PolyreluError)
    with pytest.raises(LimitError, match="progress must be a callable"):
        pr.regions(NET2, D2, progress="yes")
    with pytest.raises(LimitError, match="budget must be a polyrelu.budget.Budget"):
        pr.regions(NET2, D2, budget=10)


def test_valid_limits_are_kept():
    assert check_time_limit(F(1, 2)) == 0.5 and check_time_limit(3) == 3.0
    assert check_count(100.0) == 100 and check_count(7) == 7
    assert check_time_limit(None) is None and check_count(None) is None


# ------------------------------------------------------------------ budget

def test_budget_deadline_share_and_narrowing():
    b = Budget(max_regions=50, time_limit=10)
    assert b.deadline == pytest.approx(b.start + 10)
    s = b.share(0.25)
    assert s.deadline == pytest.approx(b.start + 2.5) and s.max_regions == 50
    assert s.share(0.5).deadline == s.deadline      # never later than its parent
    w = b.with_limits(max_regions=80, time_limit=1)
    assert w.max_regions == 50 and w.deadline < b.deadline
    assert b.with_limits(time_limit=100).deadline == b.deadline
    assert b.time_only().max_regions is None and b.time_only().deadline == b.deadline
    assert math.isinf(Budget().remaining()) and not Budget().exhausted
    assert as_budget(b) is b


def test_budget_stops_on_time_and_on_interrupt():
    b = Budget(time_limit=0.05)
    b.check()
    time.sleep(0.06)
    assert b.exhausted
    with pytest.raises(Exhausted) as e:
        b.check()
    assert e.value.kind == "time" and "time limit of 0.05 s" in str(e.value)
    c = Budget()
    child = c.share(0.5)
    child.interrupt()          # one flag for a budget and everything derived from it
    assert c.interrupted and c.exhausted and c.stop_reason() == "interrupted"
    with pytest.raises(Exhausted) as e:
        c.check()
    assert e.value.kind == "interrupted"


def test_sigint_interrupts_the_budget_then_aborts():
    b = Budget()
    before = signal.getsignal(signal.SIGINT)
    with b.sigint():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)
        assert b.interrupted                 # the first Ctrl-C is a limit
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)                  # the second one aborts
    assert signal.getsignal(signal.SIGINT) is before


def test_an_interrupted_budget_stops_an_enumeration_with_what_it_found():
    b = Budget()
    it = pr.regions(NET2, D2, budget=b)
    got = [next(it) for _ in range(5)]
    b.interrupt()
    rest = list(it)
    assert len(got) + len(rest) < 1000 and it.partial
    assert it.reason.startswith("interrupted after")
    for r in got + rest:
        check_region(NET2, r)


def test_progress_is_a_callback():
    calls = []
    rs = list(pr.regions(NET2, D2, max_regions=7, progress=lambda *a: calls.append(a)))
    assert calls == [("regions", k, None) for k in range(1, len(rs) + 1)]
    calls.clear()
    f, g = _bump_pair()
    pr.equivalent(f, g, pr.Polyhedron.box([-1, -1], [1, 1]), samples=1,
                  progress=lambda *a: calls.append(a))
    assert calls and all(c[0] == "stage 3 cells" for c in calls)


def _bump_pair():
    """f(x) = x1, g = f + a bump on a tiny diamond (found only by stage 3)."""
    K, c1, c2 = 1000, F(1, 3), F(7, 10)
    W1 = [[1, 0], [-1, 0], [K, 0], [-K, 0], [0, K], [0, -K]]
    b1 = [0, 0, -K * c1, K * c1, -K * c2, K * c2]
    W2 = [[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, -1, -1, -1, -1]]
    b2 = [0, 0, 1]
    g = pr.Network.from_weights([(W1, b1), (W2, b2), ([[1, -1, 1]], [0])])
    f = pr.Network.from_weights([(W1, b1), (W2, b2), ([[1, -1, 0]], [0])])
    return f, g


# ------------------------------------------------- API: long jobs, short limits

T = 1.5


def test_regions_end_on_time():
    it, _ = timed(pr.regions, NET5, D5, time_limit=T)
    rs, s = timed(list, it)
    assert on_time(s, T) and it.partial and "time limit" in it.reason and rs
    for r in rs[:: max(1, len(rs) // 20)]:
        check_region(NET5, r)


@pytest.mark.parametrize("net, dom", [(NET5, D5), (NET2, D2)], ids=["5-D", "2-D"])
def test_linear_regions_end_on_time(net, dom):
    lin, s = timed(pr.linear_regions, net, dom, time_limit=T)
    assert on_time(s, T) and lin.partial and "time limit" in lin.reason
    for L in lin[:: max(1, len(lin) // 20)]:
        assert len({r.affine_map for r in L.regions}) == 1   # one exact map
        check_region(net, L.regions[0])


def test_count_regions_ends_on_time():
    c, s = timed(pr.count_regions, NET5, D5, time_limit=T)
    assert on_time(s, T) and c.partial and "time limit" in c.reason
    assert c.activation >= c.linear >= 1


@pytest.mark.parametrize("net, dom", [(NET5, D5), (NET2, D2)], ids=["5-D", "2-D"])
def test_fold_set_ends_on_time(net, dom):
    fs, s = timed(pr.fold_set, net, dom, time_limit=T)
    assert on_time(s, T) and fs.partial and "time limit" in fs.reason
    d = net.input_dim
    for p in fs.pieces[:: max(1, len(fs.pieces) // 10)]:
        assert p.polyhedron.dim == d - 1
        x = p.polyhedron.interior_point() if d > 2 else p.polyhedron.vertices[0]
        w, c = p.hyperplane
        assert sum(a * v for a, v in zip(w, x)) + c == 0 and dom.contains(x)


def test_fold_set_of_a_cut_run_is_that_of_the_regions_kept():
    """A fold set cut by the time limit is exactly the fold set of the first
    ``num_regions`` regions (the same complex as ``max_regions`` gives)."""
    for limit in (1, 2, 4, 8):     # a loaded machine may find no region in 1 s
        fs = pr.fold_set(NET2, D2, time_limit=limit, merge=False)
        assert fs.partial               # the whole fold set takes about 27 s CPU
        if fs.num_regions:
            break
    ref = pr.fold_set(NET2, D2, max_regions=fs.num_regions, merge=False)
    assert set(fs.pieces) == set(ref.pieces)


@pytest.mark.parametrize("net, dom", [(NET5, D5), (NET2, D2)], ids=["5-D", "2-D"])
def test_fold_surface_ends_on_time(net, dom):
    S, s = timed(pr.fold_surface, net, dom, time_limit=T)
    assert on_time(s, T) and S.partial and "time limit" in S.reason
    assert S.is_surface in (None, True, False)
    assert all(H.order == k for k, layer in enumerate(S.layers, start=1) for H in layer)
    b = Budget(time_limit=T)
    G, s = timed(S.dependency_graph, b)
    assert on_time(s, T) and set(G.nodes) == {H.name for H in S.hyperplanes}


def test_is_transparent_ends_on_time_undecided():
    rep, s = timed(pr.is_transparent, NET5, D5, time_limit=T)
    assert on_time(s, T)
    if rep.transparent is None:
        assert rep.partial and "time limit" in rep.reason and not rep
    else:          # a violating region found first is a decided answer
        assert rep.transparent is False and NET5.pattern(rep.point) == rep.pattern


def _scaled_copy(net, factor):
    """``net`` with its output layer scaled: no certificate (the output layer
    has no scaling of its own), a difference far below ``eps = 1`` on D5."""
    layers = [(list(map(list, L.W)), list(L.b)) for L in net.layers]
    W, b = layers[-1]
    layers[-1] = ([[v * factor for v in row] for row in W], [v * factor for v in b])
    return pr.Network.from_weights(layers)


NET5_SCALED = _scaled_copy(NET5, F(1001, 1000))


def test_equivalent_ends_on_time_undecided():
    # |f - g| <= 1/1000 |f| on D5: stages 1 and 2 cannot decide, enumerating
    # stage 3 is long (bound-and-split proves this pair in one cell)
    res, s = timed(pr.equivalent, NET5, NET5_SCALED, D5, eps=1, time_limit=T,
                   method="enumerate")
    assert on_time(s, T)
    assert res.equivalent is None and res.partial and res.stage == "complete"
    assert "time limit" in res.reason and res.counterexample is None


# a zig-zag through [-100, 100]^5: each segment crosses hundreds of hyperplanes
LONG = random_network([5, 100, 100, 100, 1], seed=2)
ZIGZAG = [[(-1) ** k * 100 + k] * 4 + [(-1) ** (k // 2) * 50] for k in range(40)]
ZIGZAG_ARGS = [",".join(str(v) for v in p) for p in ZIGZAG]


def test_transitions_end_on_time():
    net, path = LONG, ZIGZAG
    tl, s = timed(pr.trajectory_length, net, path, time_limit=T)
    assert on_time(s, T) and tl.partial and tl.reason == "time limit reached"
    res = tl.transitions
    assert res.count >= 1 and not tl.exact
    for b in res.breakpoints[:5]:
        assert b.before != b.after


def test_compare_bounds_ends_on_time():
    rb, s = timed(pr.compare_bounds, NET5, D5, time_limit=T, linear=True)
    assert on_time(s, T) and rb.partial
    assert rb.activation_regions >= rb.linear_regions >= 1


def test_max_regions_bounds_the_merge():
    """max_regions alone bounds the call: the work after the enumeration is
    proportional to the regions kept (5-D: facet rows from the vertices, not
    an LP per row)."""
    c, s = timed(pr.count_regions, NET5, D5, max_regions=100)
    assert c.partial and c.activation == 100 and s.seconds < 10


# -------------------------------------------------- adjacency cut short

class _Countdown:
    """A budget-like object that runs out after ``n`` looks."""

    def __init__(self, n: int) -> None:
        self.n = n

    @property
    def exhausted(self) -> bool:
        self.n -= 1
        return self.n < 0

    def stop_reason(self) -> str:
        return "countdown"


@pytest.mark.parametrize("net, dom", [
    (random_network([1, 12, 12, 1], seed=0), pr.Polyhedron.box([-5], [5])),
    (random_network([2, 10, 10, 1], seed=0), pr.Polyhedron.box([-4, -4], [4, 4])),
    (random_network([3, 8, 8, 1], seed=0), pr.Polyhedron.box([-2] * 3, [2] * 3)),
], ids=["intervals", "polygons", "polytopes"])
@pytest.mark.parametrize("frac", [0, 0.3, 0.8])
def test_a_cut_adjacency_is_complete_on_a_prefix(net, dom, frac):
    from polyrelu.regions import region_graph

    rs = list(pr.regions(net, dom))
    full = region_graph(rs)
    G = region_graph(rs, budget=_Countdown(int(frac * len(rs))))
    k = G.graph["complete"]
    assert k < len(rs) and G.graph["partial"] and "countdown" in G.graph["reason"]
    sub = {(i, j) for i, j in full.edges() if max(i, j) < k}
    assert {(min(e), max(e)) for e in G.edges() if max(e) < k} == \
        {(min(e), max(e)) for e in sub}
    assert set(map(frozenset, G.edges())) <= set(map(frozenset, full.edges()))
    # the cut graph's facets are the full graph's
    for i, j in G.edges():
        assert G.edges[i, j]["facet"] == full.edges[i, j]["facet"]


def test_a_cut_merge_joins_only_regions_with_one_map():
    from polyrelu.regions import _merge

    # relu(x1) - relu(x1) + relu(x2) - relu(x2) + ...: many adjacent regions
    # share a map
    net = pr.Network.from_weights([([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1], [1, -1]],
                                    [0, 0, 0, 0, -1, 1]),
                                   ([[1, -1, 1, -1, 1, 1]], [0])])
    dom = pr.Polyhedron.box([-3, -3], [3, 3])
    rs = list(pr.regions(net, dom))
    full, _ = _merge(rs, None)
    cut, why = _merge(rs, _Countdown(len(rs) // 2))
    assert "countdown during the linear merge" in why
    assert len(cut) >= len(full)
    for L in cut:
        assert len({r.affine_map for r in L.regions}) == 1
    # each cut component lies inside one complete component
    comp = {r.pattern: n for n, L in enumerate(full) for r in L.regions}
    assert all(len({comp[r.pattern] for r in L.regions}) == 1 for L in cut)


# -------------------------------------------------------- CLI: the whole run

TC = 3.0


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    out = {}
    for name, net in (("net5", NET5), ("net2", NET2), ("net5s", NET5_SCALED)):
        out[name] = str(d / f"{name}.json")
        net.save(out[name])
    out["long"] = str(d / "long.json")
    LONG.save(out["long"])
    out["wide2"] = str(d / "wide2.json")     # 65,799 regions: about 5 s of enumeration
    random_network([2, 128, 128, 128, 1], seed=0).save(out["wide2"])
    return out


def run_main(argv, capsys):
    with Stopwatch() as s:
        code = main(argv)
    cap = capsys.readouterr()
    return code, s, cap.out, cap.err


def no_partial_files(d):
    return not [f for f in os.listdir(d) if ".part" in f]


def test_cli_regions_ends_on_time(models, capsys):
    code, s, out, _ = run_main(["regions", models["net5"], "--box", "-1,1",
                                "--time-limit", str(TC), "--no-progress"], capsys)
    assert code == 0 and on_time(s, TC)
    assert f"PARTIAL: time limit of {TC:g} s reached" in out and "activation regions:" in out


def test_cli_regions_json_out_ends_on_time_with_valid_files(models, capsys, tmp_path):
    out_dir = tmp_path / "o"
    code, s, out, _ = run_main(["regions", models["net5"], "--box", "-1,1",
                                "--time-limit", str(TC), "--json", "--out", str(out_dir)],
                               capsys)
    assert code == 0 and on_time(s, TC)
    doc = json.loads(out)
    on_disk = load_result(out_dir / "regions.jsonl")   # the streamed partition
    assert doc["partial"] and "time limit" in doc["reason"] and no_partial_files(out_dir)
    assert on_disk.partial and "time limit" in on_disk.reason
    assert on_disk.status["regions"] == len(on_disk.regions) == len(doc["regions"])
    assert [r.pattern for r in on_disk.regions] == \
        [tuple(map(tuple, rd["pattern"])) for rd in doc["regions"]]
    assert doc["activation_regions"] >= 1
    for rd in doc["regions"][:: max(1, len(doc["regions"]) // 10)]:
        x = tuple(F(v) for v in rd["interior_point"])
        assert [list(p) for p in NET5.pattern(x)] == rd["pattern"]
        A = [[F(v) for v in row] for row in rd["inequalities"]["A"]]
        b = [F(v) for v in rd["inequalities"]["b"]]
        assert all(sum(a * v for a, v in zip(row, x)) < c for row, c in zip(A, b))
        M = [[F(v) for v in row] for row in rd["affine_map"]["M"]]
        c = [F(v) for v in rd["affine_map"]["c"]]
        assert NET5(x) == tuple(sum(m * v for m, v in zip(row, x)) + ci
                                for row, ci in zip(M, c))
    # every region index is in exactly one linear region
    assert sorted(i for L in doc["linear"] for i in L) == list(range(len(doc["regions"])))


def test_cli_folds_ends_on_time(models, capsys, tmp_path):
    code, s, out, _ = run_main(["folds", models["net2"], "--time-limit", str(TC),
                                "--json", "--no-progress", "--out", str(tmp_path)], capsys)
    doc = json.loads(out)
    assert code == 0 and on_time(s, TC) and doc["partial"] and "time limit" in doc["reason"]
    assert (tmp_path / "dependency_graph.graphml").exists() and no_partial_files(tmp_path)


def test_cli_equiv_ends_on_time(models, capsys):
    code, s, out, _ = run_main(["equiv", models["net5"], models["net5s"], "--box", "-1,1",
                                "--eps", "1", "--time-limit", str(TC), "--json",
                                "--no-progress", "--method", "enumerate"], capsys)
    doc = json.loads(out)
    assert code == 3 and doc["verdict"] == "undecided" and on_time(s, TC)
    assert doc["partial"] and "time limit" in doc["reason"]


def test_cli_equiv_bound_and_split_proves_the_scaled_pair(models, capsys):
    """The pair the enumeration cannot finish in 3 s: |f - g| = |f| / 1000 is
    below eps = 1 on the box, which bound-and-split (the default on boxes for
    twin networks) proves with certified bounds."""
    code, s, out, _ = run_main(["equiv", models["net5"], models["net5s"], "--box", "-1,1",
                                "--eps", "1", "--json", "--no-progress"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["verdict"] == "equivalent" and not doc["partial"]


def test_cli_trajectory_ends_on_time(models, capsys):
    code, s, out, _ = run_main(["trajectory", models["long"], "--line", *ZIGZAG_ARGS,
                                "--time-limit", str(TC), "--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and on_time(s, TC)
    assert doc["partial"] and doc["reason"] == "time limit reached" and doc["count"] >= 1


def test_cli_plot_ends_on_time(models, capsys, tmp_path):
    code, s, out, _ = run_main(["plot", models["wide2"], "--time-limit", str(TC), "--json",
                                "--no-progress", "--out", str(tmp_path)], capsys)
    doc = json.loads(out)
    assert code == 0 and on_time(s, TC) and doc["partial"]
    assert 1 <= doc["drawn_regions"] <= doc["activation_regions"]
    assert doc["files"] and all(os.path.getsize(f) > 0 for f in doc["files"])
    assert no_partial_files(tmp_path)


def test_atomic_files_are_never_half_written(tmp_path):
    from polyrelu.commands._common import atomic_path, write_json

    p = tmp_path / "r.json"
    write_json(str(p), {"a": F(1, 3)})
    assert json.loads(p.read_text()) == {"a": "1/3"}
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(str(p)) as tmp:
            with open(tmp, "w") as fh:
                fh.write('{"half": ')
            raise KeyboardInterrupt
    assert json.loads(p.read_text()) == {"a": "1/3"} and os.listdir(tmp_path) == ["r.json"]
    um = os.umask(0)
    os.umask(um)
    assert os.stat(p).st_mode & 0o777 == 0o666 & ~um    # as open() makes it


# ----------------------------------------------------------- Ctrl-C (SIGINT)

def _interrupt(argv, wait=3.0, timeout=60):
    """Run ``polyrelu ARGV`` in a subprocess, send SIGINT ``wait`` seconds
    after its main() started, and return (exit code, stdout, stderr, seconds
    from the signal to the exit)."""
    code = ("import sys\nfrom polyrelu.cli import main\nprint('ready', flush=True)\n"
            "sys.exit(main(sys.argv[1:]))")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.Popen([sys.executable, "-c", code, *argv], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert p.stdout.readline().strip() == "ready"
        time.sleep(wait)
        assert p.poll() is None, "the job ended before the interrupt"
        p.send_signal(signal.SIGINT)
        t = time.perf_counter()
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err, time.perf_counter() - t
    finally:
        if p.poll() is None:
            p.kill()


def test_interrupted_regions_write_what_was_found(models, tmp_path):
    out_dir = tmp_path / "o"
    code, out, err, s = _interrupt(["regions", models["net5"], "--box", "-1,1", "--json",
                                    "--out", str(out_dir)])
    assert code == 130 and "interrupted" in err and s < 10
    doc = json.loads(out)
    assert doc["partial"] and doc["reason"].startswith("interrupted after")
    on_disk = load_result(out_dir / "regions.jsonl")   # a valid prefix, marked partial
    assert on_disk.partial and on_disk.reason.startswith("interrupted")
    assert [r.pattern for r in on_disk.regions] == \
        [tuple(map(tuple, rd["pattern"])) for rd in doc["regions"]]
    assert len(doc["regions"]) >= 1
    assert no_partial_files(out_dir)
    for rd in doc["regions"][:: max(1, len(doc["regions"]) // 10)]:
        x = tuple(F(v) for v in rd["interior_point"])
        assert [list(p) for p in NET5.pattern(x)] == rd["pattern"]


def test_interrupted_regions_print_the_partial_counts(models):
    code, out, err, s = _interrupt(["regions", models["net5"], "--box", "-1,1",
                                    "--no-progress"])
    assert code == 130 and s < 10
    assert "PARTIAL: interrupted after" in out and "activation regions:" in out


def test_interrupted_folds_print_the_partial_surface(models, tmp_path):
    code, out, err, s = _interrupt(["folds", models["net2"], "--json", "--no-progress",
                                    "--out", str(tmp_path)])
    assert code == 130 and s < 10
    doc = json.loads(out)
    assert doc["partial"] and "interrupted" in doc["reason"]
    assert (tmp_path / "dependency_graph.graphml").exists() and no_partial_files(tmp_path)


def test_interrupted_trajectory_prints_the_walked_part(models):
    code, out, err, s = _interrupt(["trajectory", models["long"], "--line", *ZIGZAG_ARGS,
                                    "--json"])
    assert code == 130 and s < 10
    doc = json.loads(out)
    assert doc["partial"] and doc["reason"] == "interrupted" and doc["count"] >= 1
    assert doc["stop"] is not None and not doc["lengths_exact"]


def test_interrupted_equiv_prints_an_undecided_verdict(models):
    code, out, err, s = _interrupt(["equiv", models["net5"], models["net5s"], "--box",
                                    "-1,1", "--eps", "1", "--json", "--no-progress",
                                    "--method", "enumerate"])
    assert code == 130 and s < 10
    doc = json.loads(out)
    assert doc["verdict"] == "undecided" and doc["partial"]
    assert "interrupted" in doc["reason"] and doc["counterexample"] is None


# -------------------------------------------------------- numbering (item 5)

def test_one_numbering_for_the_nearest_neuron(tmp_path, capsys):
    """``regions --at``: the text, the JSON and the API name the same neuron:
    layers from 1, neurons from 0 (docs/conventions.rst)."""
    # x is nearest to neuron 2 of layer 1 (x2 = 1/2 - 1/10 ... ), not neuron 0 or 1
    net = pr.Network.from_weights([([[1, 0], [0, 1], [0, 4]], [5, 5, -2]),
                                   ([[1, 1, 1]], [0])])
    path = str(tmp_path / "n.json")
    net.save(path)
    x = [F(1, 10), F(2, 5)]
    d = pr.trajectories.distance_to_boundary(net, x)
    assert d.nearest == (1, 2)
    assert main(["regions", path, "--at", "1/10,2/5", "--box", "R"]) == 0
    text = capsys.readouterr().out
    assert "at neuron 2 of layer 1" in text
    assert main(["regions", path, "--at", "1/10,2/5", "--box", "R", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["distance"]["nearest"] == [1, 2]
    # the pattern bit of that neuron is pattern[layer - 1][neuron]
    r = pr.region_of(net, x)
    assert r.pattern[0][2] == 0 and net.pre_activations(x)[0][2] < 0
    assert {c[2][:2] for c in r.constraints if c[2][0] != "domain"} == {(1, 0), (1, 1), (1, 2)}


def test_one_numbering_for_trajectory_flips(tmp_path, capsys):
    net = pr.Network.from_weights([([[1, 0], [0, 1], [1, 1]], [0, 0, -1]),
                                   ([[1, 1, 1]], [0])])
    path = str(tmp_path / "t.json")
    net.save(path)
    res = pr.transitions(net, [[-2, -1], [3, 2]])
    flips = [f for b in res.breakpoints for f in b.flips]
    assert (1, 2) in flips                   # the third neuron of layer 1
    assert main(["trajectory", path, "--line", "-2,-1", "3,2"]) == 0
    text = capsys.readouterr().out
    assert "L1n2" in text and "L1n3" not in text
    assert main(["trajectory", path, "--line", "-2,-1", "3,2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [f for b in doc["breakpoints"] for f in b["flips"]] == [list(f) for f in flips]


# ------------------------------------------------ ACAS Xu: the issue's cases

@needs_acas
@pytest.mark.slow
@pytest.mark.parametrize("argv, limit", [
    (["regions", ACAS, "--box", "0,1", "--time-limit", "10", "--no-progress"], 10),
    (["regions", ACAS, "--box", "0,1", "--time-limit", "10", "--no-linear", "--json",
      "--out", "OUT"], 10),
    (["regions", ACAS, "--box", "-0.05,0.05", "--time-limit", "3", "--no-progress"], 3),
    (["folds", ACAS, "--box", "0,1", "--time-limit", "5", "--no-progress"], 5),
    (["trajectory", ACAS, "--line", "-1,-1,-1,-1,-1", "1,1,1,1,1", "--time-limit", "3"], 3),
], ids=["regions", "regions-json-out", "regions-small-box", "folds", "trajectory"])
def test_acas_cli_cases_of_the_issue_end_on_time(argv, limit, tmp_path, capsys):
    argv = [str(tmp_path) if a == "OUT" else a for a in argv]
    code, s, out, _ = run_main(argv, capsys)
    assert code == 0 and on_time(s, limit)
    if argv[0] != "trajectory":      # the walk alone may end in time on a fast machine
        assert "PARTIAL" in out or json.loads(out)["partial"]


@needs_acas
@pytest.mark.slow
def test_acas_max_regions_100_is_quick(capsys):
    code, s, out, _ = run_main(["regions", ACAS, "--box", "0,1", "--max-regions", "100",
                                "--no-progress"], capsys)
    assert code == 0 and "activation regions: 100" in out and s.seconds < 30   # 79 s in the issue


@needs_acas
@pytest.mark.slow
@pytest.mark.parametrize("fn, limit", [(pr.fold_set, 3), (pr.count_regions, 10),
                                       (pr.linear_regions, 10)],
                         ids=["fold_set", "count_regions", "linear_regions"])
def test_acas_api_cases_of_the_issue_end_on_time(fn, limit):
    acas = pr.io.load(ACAS)
    out, s = timed(fn, acas, pr.Polyhedron.box([0] * 5, [1] * 5), time_limit=limit)
    assert on_time(s, limit) and out.partial


def test_a_keyboard_interrupt_outside_sigint_leaves_the_iterator_partial(monkeypatch):
    """Without Budget.sigint, Ctrl-C raises KeyboardInterrupt as usual; the
    iterator is then finished and partial, never complete by mistake."""
    calls = {"n": 0}
    real = Budget.check

    def check(self):
        calls["n"] += 1
        if calls["n"] == 50:
            raise KeyboardInterrupt
        real(self)

    monkeypatch.setattr(Budget, "check", check)
    it = pr.regions(NET2, D2)
    got = []
    with pytest.raises(KeyboardInterrupt):
        for r in it:
            got.append(r)
    assert list(it) == [] and it.partial and it.reason.startswith("interrupted after")
