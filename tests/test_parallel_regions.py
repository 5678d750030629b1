"""Parallel and distributed enumeration: ``regions(..., executor=...)`` and
``workers=N`` give exactly the serial run's regions on every implementation
(serial, threads, a process pool, a Dask LocalCluster the tests start and
stop); limits hold across workers; a lost worker loses and duplicates
nothing (Dask re-runs its tasks; an owned process pool is replaced and
the units resubmitted; a caller's broken pool is a clear error)."""

from __future__ import annotations

import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from fractions import Fraction as F

import pytest

import polyrelu as pr
import polyrelu.regions  # noqa: F401  (the module, not the function)
from polyrelu.exceptions import BackendError, NetworkError
from polyrelu.network import random_network

IMPLS = ["serial", "threads", "processes", "dask"]


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(params=IMPLS)
def executor(request):
    kind = request.param
    if kind == "serial":
        yield None
    elif kind == "threads":
        with ThreadPoolExecutor(2) as ex:
            yield ex
    elif kind == "processes":
        with ProcessPoolExecutor(2) as ex:
            yield ex
    else:
        yield request.getfixturevalue("dask_client")


def _nets():
    """2-D, 3-D, 4-D nets with skips, leaky ReLU, hard tanh, zero biases,
    twin and dead units (three hidden layers or two: units at a frontier)."""
    out = [
        ("2d", random_network([2, 8, 8, 8, 1], seed=1), 3),
        ("3d-skips", random_network([3, 5, 5, 5, 1], seed=2, skips={3: [1]}), 2),
        ("4d-leaky", random_network([4, 5, 5, 1], seed=3, activation="leaky_relu"), 1),
        ("3d-hardtanh", random_network([3, 4, 4, 4, 1], seed=4, activation="hard_tanh"), 2),
    ]
    # zero biases (every hyperplane of layer 1 through the centre), a twin
    # and a dead unit in layer 1
    base = random_network([2, 5, 5, 5, 1], seed=6)
    (W1, b1), *rest = [(list(map(list, ly.W)), list(ly.b)) for ly in base.layers]
    W1 = W1 + [list(W1[0]), [F(0), F(0)]]
    b1 = [F(0)] * len(b1) + [F(0), F(0)]
    W2, b2 = rest[0]
    W2 = [row + [F(1, 2), F(3, 4)] for row in W2]
    twin = pr.Network.from_weights([(W1, b1), (W2, b2)] + rest[1:])
    out.append(("2d-zero-twin-dead", twin, 2))
    return out


NETS = _nets()


def _serial(net, D):
    return [r.pattern for r in pr.regions(net, D)]


@pytest.mark.parametrize("name,net,h", NETS, ids=[n for n, _, _ in NETS])
def test_same_regions_every_implementation(executor, name, net, h):
    """The set of patterns equals the serial run's exactly, no duplicates;
    ``ordered=True`` gives the serial order itself; the regions' exact data
    (interior point, vertices) is that of the serial run."""
    d = net.input_dim
    D = pr.Polyhedron.box([-h] * d, [h] * d)
    serial = _serial(net, D)
    it = pr.regions(net, D, executor=executor)
    rs = list(it)
    got = [r.pattern for r in rs]
    assert len(got) == len(set(got)) == len(serial)
    assert set(got) == set(serial)
    assert not it.partial
    if executor is not None:
        assert it.stats["engine"].endswith("-parallel") and it.stats["units"] > 0
    ordered = [r.pattern for r in pr.regions(net, D, executor=executor, ordered=True)]
    assert ordered == serial
    # exact data made from the workers' compact records
    for r in rs[:: max(1, len(rs) // 7)]:
        assert net.pattern(r.interior_point) == r.pattern
        assert set(r.vertices) == set(r.polyhedron.vertices)
    assert sum(r.polyhedron.volume() for r in rs[:50]) > 0


def test_volumes_sum_to_the_box_in_parallel():
    net = random_network([2, 6, 6, 6, 1], seed=9)
    D = pr.Polyhedron.box([-2, -2], [2, 2])
    with ThreadPoolExecutor(2) as ex:
        rs = list(pr.regions(net, D, executor=ex))
    assert sum(r.polyhedron.volume() for r in rs) == 16


def test_max_regions_across_workers(executor):
    net, D = NETS[0][1], pr.Polyhedron.box([-3, -3], [3, 3])
    serial = set(_serial(net, D))
    it = pr.regions(net, D, executor=executor, max_regions=25)
    got = [r.pattern for r in it]
    assert len(got) == 25 and len(set(got)) == 25 and set(got) <= serial
    assert it.partial and it.reason == "max_regions=25 reached"
    # ordered: the first 25 of the serial order
    got = [r.pattern for r in pr.regions(net, D, executor=executor, max_regions=25,
                                         ordered=True)]
    assert got == _serial(net, D)[:25]


def test_time_limit_across_workers():
    """A limit that has passed before the units start: the run is partial
    and says so; a unit whose deadline passed returns incomplete."""
    from polyrelu import _regions_parallel
    from polyrelu._regions_pool import WorkUnit

    net, D = NETS[0][1], pr.Polyhedron.box([-3, -3], [3, 3])
    with ProcessPoolExecutor(2) as ex:
        it = pr.regions(net, D, executor=ex, time_limit=1e-9)
        got = list(it)
    assert it.partial and "time limit" in it.reason
    assert len(got) < len(_serial(net, D))
    # a unit of the frontier, run after its deadline: nothing, incomplete
    from polyrelu._regions_frontier import PoolSplitter
    from polyrelu._regions_pool import pool_root
    from polyrelu.regions import _exact_nodes, _intnet

    inet = _intnet(net)
    root, rows, xv = pool_root(D, 2)
    stats = {"candidates": 0, "splits": 0, "exact_signs": 0, "nodes": 0}
    sp = PoolSplitter(inet, _exact_nodes(net), rows, xv, stats)
    items = _regions_parallel.split_frontier(inet, root, sp, stats, lambda: None, 2)
    units = [x for x in items if isinstance(x, WorkUnit)]
    assert len(units) >= 2 * _regions_parallel.UNITS_PER_WORKER
    recs, complete, _ = _regions_parallel.run_unit((net, D, 2, 0.0), units[0])
    assert recs == [] and not complete
    recs, complete, _ = _regions_parallel.run_unit((net, D, 2, None), units[0])
    assert recs and complete


def test_workers_runs_an_owned_process_pool():
    net, D = NETS[0][1], pr.Polyhedron.box([-3, -3], [3, 3])
    it = pr.regions(net, D, workers=2, ordered=True)
    assert [r.pattern for r in it] == _serial(net, D)
    assert it.stats["workers"] == 2


def test_parallel_arguments_are_checked():
    net, D = NETS[0][1], pr.Polyhedron.box([-3, -3], [3, 3])
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(NetworkError, match="workers"):
            pr.regions(net, D, workers=bad)
    with ThreadPoolExecutor(1) as ex:
        with pytest.raises(NetworkError, match="not both"):
            pr.regions(net, D, executor=ex, workers=2)
    with pytest.raises(pr.PolyreluError, match="executor must be"):
        pr.regions(net, D, executor=object())


def test_engines_without_units_run_in_the_caller():
    """1-D domains, R^d and one hidden layer have no work units: the executor
    is not used and the regions are the serial ones."""
    net1 = random_network([1, 6, 6, 1], seed=1)
    net2 = random_network([2, 6, 1], seed=1)
    with ThreadPoolExecutor(2) as ex:
        for net, D in ((net1, pr.Polyhedron.box([-3], [3])), (net2, None),
                       (net2, pr.Polyhedron.box([-3, -3], [3, 3]))):
            it = pr.regions(net, D, executor=ex)
            assert [r.pattern for r in it] == _serial(net, D)
            assert not it.stats["engine"].endswith("-parallel")


# -- lost workers --------------------------------------------------------------

def _die(marker, fn, *args):
    """Run in a pool worker: the first call dies (os._exit), as a killed
    process would; the marker file makes it once only."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return fn(*args)


class _DieOnce(ProcessPoolExecutor):
    """A process pool whose fourth task kills its worker process."""

    def __init__(self, n, marker):
        super().__init__(n)
        self.marker = marker
        self.count = 0

    def submit(self, fn, /, *args, **kwargs):
        self.count += 1
        if self.count == 4:
            return super().submit(_die, self.marker, fn, *args)
        return super().submit(fn, *args)


def test_killed_process_worker_owned_pool_resubmits(tmp_path, monkeypatch):
    """workers=N: the pool is polyrelu's, so a dead worker (BrokenProcessPool)
    gets a fresh pool and the units not yet back are resubmitted: the full
    set, nothing twice."""
    net, D = NETS[0][1], pr.Polyhedron.box([-3, -3], [3, 3])
    marker = str(tmp_path / "died")
    monkeypatch.setattr(sys.modules["polyrelu.regions"], "_process_pool", lambda n: _DieOnce(n, marker))
    it = pr.regions(net, D, workers=2)
    got = [r.pattern for r in it]
    assert os.path.exists(marker)
    assert it.stats["resubmitted"] == 1
    assert len(got) == len(set(got)) and set(got) == set(_serial(net, D))


def test_killed_process_worker_callers_pool_is_a_clear_error(tmp_path):
    """A caller's process pool cannot be replaced by polyrelu: a dead worker
    is a BackendError saying what was lost, not a BrokenProcessPool from
    deep inside."""
    net, D = NETS[0][1], pr.Polyhedron.box([-3, -3], [3, 3])
    with _DieOnce(2, str(tmp_path / "died")) as ex:
        with pytest.raises(BackendError, match="worker process .* died"):
            list(pr.regions(net, D, executor=ex))


@pytest.mark.slow
def test_killed_dask_worker_loses_nothing(dask_client):
    """A worker process of the LocalCluster killed mid-run: Dask re-runs its
    tasks elsewhere; the regions are the full serial set, nothing twice."""
    client = dask_client
    net = random_network([2, 12, 12, 12, 1], seed=3)
    D = pr.Polyhedron.box([-4, -4], [4, 4])
    serial = set(_serial(net, D))
    it = pr.regions(net, D, executor=client)
    got = []
    killed = None
    at_kill = 0
    for r in it:
        got.append(r.pattern)
        if not killed and len(got) >= 1:
            workers = sorted(client.scheduler_info()["workers"])
            pid = client.run(os.getpid, workers=[workers[0]])[workers[0]]
            os.kill(pid, signal.SIGKILL)
            killed = workers[0]
            at_kill = len(got)
    assert killed and it.stats["units"] > 10
    # most regions arrived after the kill (units were still running)
    assert len(got) - at_kill > len(got) // 2
    assert len(got) == len(set(got)) and set(got) == serial
    client.wait_for_workers(2, timeout=60)
    # the killed worker process is gone (its nanny started a new one)
    assert killed not in client.scheduler_info()["workers"]


# -- the command line ---------------------------------------------------------

def _cli_doc(capsys, *args):
    import json

    from polyrelu.cli import main

    assert main(["regions", *args, "--json", "--no-progress"]) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_workers_gives_the_serial_document(tmp_path, capsys):
    net = NETS[0][1]
    path = str(tmp_path / "net.json")
    net.save(path)
    serial = _cli_doc(capsys, path, "--box", "-3,3")
    par = _cli_doc(capsys, path, "--box", "-3,3", "--workers", "2")
    assert par["engine"].endswith("-parallel")
    assert par["regions"] == serial["regions"]
    assert par["linear_regions"] == serial["linear_regions"]
    assert par["linear"] == serial["linear"]


def test_cli_scheduler_runs_on_a_dask_cluster(tmp_path, capsys, dask_client):
    net = NETS[0][1]
    path = str(tmp_path / "net.json")
    net.save(path)
    serial = _cli_doc(capsys, path, "--box", "-3,3", "--no-linear")
    addr = dask_client.scheduler.address
    par = _cli_doc(capsys, path, "--box", "-3,3", "--no-linear", "--scheduler", addr)
    assert par["regions"] == serial["regions"] and par["engine"].endswith("-parallel")


@pytest.mark.parametrize("args,msg", [
    (["--workers", "0"], "--workers must be a positive"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not both"),
    (["--scheduler", "tcp://127.0.0.1:1"], "cannot reach the Dask scheduler"),
])
def test_cli_parallel_bad_arguments(tmp_path, capsys, monkeypatch, args, msg):
    from polyrelu.cli import main
    from polyrelu.commands import _common

    monkeypatch.setattr(_common, "SCHEDULER_TIMEOUT", 1)

    path = str(tmp_path / "net.json")
    NETS[0][1].save(path)
    assert main(["regions", path, "--no-progress", *args]) == 2
    assert msg in capsys.readouterr().err


def test_counts_and_linear_regions_in_parallel(executor):
    """count_regions / linear_regions pass executor on to regions: the same
    counts and the same linear regions (as sets of patterns)."""
    net = NETS[4][1]     # twin and dead units: many regions share a map
    D = pr.Polyhedron.box([-2, -2], [2, 2])
    assert pr.count_regions(net, D, executor=executor) == pr.count_regions(net, D)
    ser = {frozenset(L.patterns) for L in pr.linear_regions(net, D)}
    par = {frozenset(L.patterns) for L in pr.linear_regions(net, D, executor=executor)}
    assert par == ser
