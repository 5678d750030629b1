"""Private helper of :mod:`polyrelu.regions`: the float-first V-polytope
engine on an executor (``regions(..., executor=...)`` / ``workers=N``).

The calling process splits the top of the tree (:func:`split_frontier`):
:func:`polyrelu._regions_frontier.drive_pool` with a ``frontier`` yields the
cells that reach that layer as :class:`~polyrelu._regions_pool.WorkUnit` s
(pattern prefixes and a pool of cells, no network inside), in their place
in the serial order.  The frontier moves one layer down while there are
fewer than :data:`UNITS_PER_WORKER` units per worker (small first layers:
ACAS Xu).  Each unit runs on the executor through
:class:`polyrelu.parallel.WorkPool` (:func:`run_unit`: a fresh splitter
rebuilds the unit's level from its prefixes and finishes its subtree) and
comes back as compact records (pattern, interior point as integers,
constraint keys and incidence masks); the calling process makes the
:class:`~polyrelu.regions.Region` objects, whose exact data is rebuilt on
demand as in the serial run.

The set of regions is the serial run's: a unit's leaves are exactly the
serial leaves below its cells (the level of a cell is a function of its
prefix), and every unit comes back once (results are keyed by unit index;
a resubmitted unit's first answer wins).  Order: with ``ordered`` the
serial (lexicographic) order, else units in completion order, each unit's
regions in lexicographic order.

Limits: the deadline (wall clock, ``time.time()``, the same in every
process of one machine) goes to every unit, which stops at it and returns
the regions it finished; a unit cut short makes the run partial.
``max_regions`` and interrupts stop the caller's iterator, which cancels
the units not started (units running finish in the background: neither a
process pool nor Dask stops a running task).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator

from ._regions_pool import WorkUnit

__all__ = ["split_frontier", "run_unit", "parallel_chunks", "UNITS_PER_WORKER"]

#: the frontier moves down a layer while there are fewer units than this per
#: worker: the tree is unbalanced, and more, smaller units keep every worker
#: busy to the end
UNITS_PER_WORKER = 8


class _Deadline(Exception):
    pass


def split_frontier(inet, root, splitter, stats: dict, check: Callable[[], None],
                   workers: int) -> list:
    """The top of the tree in serial order: :class:`WorkUnit` s and chunks
    ``(prefixes, pool)`` of leaves finished above the frontier."""
    from ._regions_batch import rebuild_level
    from ._regions_frontier import drive_pool

    last = inet.L - 1
    frontier = 2
    items: list = list(drive_pool(inet, root, splitter, stats, check, frontier=frontier))
    while frontier < last:
        nunits = sum(isinstance(x, WorkUnit) for x in items)
        if nunits >= UNITS_PER_WORKER * workers or not nunits:
            break
        frontier += 1
        out: list = []
        for x in items:
            if not isinstance(x, WorkUnit):
                out.append(x)
                continue
            lv = rebuild_level(inet, x.prefixes, x.pool)
            out.extend(drive_pool(inet, None, splitter, stats, check, level=lv,
                                  frontier=frontier))
        items = out
    return items


_ROOTS: dict = {}


def _root(net, P, d):
    from ._regions_pool import pool_root

    key = (id(net), id(P))
    hit = _ROOTS.get(key)
    if hit is not None and hit[0] is net and hit[1] is P:
        return hit[2]
    if len(_ROOTS) > 8:
        _ROOTS.clear()
    r = pool_root(P, d)
    _ROOTS[key] = (net, P, r)
    return r


def records(splitter, prefixes: list, pool) -> list:
    """Compact records of finished cells: ``(pattern, (X, D), keys, incw)``
    with the interior point ``X / D`` (integers)."""
    from math import lcm

    pts = splitter.interior_points(prefixes, pool)
    out = []
    for prefix, x, kd in zip(prefixes, pts, splitter.lazy_data(pool)):
        D = lcm(*(v.denominator for v in x))
        out.append((prefix, (tuple(v.numerator * (D // v.denominator) for v in x), D)) + kd)
    return out


def run_unit(shared, unit: WorkUnit) -> tuple:
    """Finish a work unit in a worker: ``(records, complete, stats)``;
    ``complete`` is False when the deadline stopped it (the records are
    then the regions it finished, a prefix of its subtree)."""
    from ._regions_batch import MAX_CHUNK, rebuild_level
    from ._regions_frontier import PoolSplitter, drive_pool
    from ._regions_maps import quiet
    from .regions import _exact_nodes, _intnet

    net, P, d, deadline = shared
    stats = {"candidates": 0, "splits": 0, "exact_signs": 0, "nodes": 0}

    def check() -> None:
        if deadline is not None and time.time() > deadline:
            raise _Deadline

    out: list = []
    complete = True
    try:
        check()
        inet = _intnet(net)
        _, dom_rows, xv = _root(net, P, d)
        sp = PoolSplitter(inet, _exact_nodes(net), dom_rows, dict(xv), stats, check)
        with quiet():
            # full-size chunks from the start: a worker does not need early
            # regions, and the float filter is cheapest on large batches
            lv = rebuild_level(inet, unit.prefixes, unit.pool, size=MAX_CHUNK)
            for prefixes, pool in drive_pool(inet, None, sp, stats, check, level=lv):
                out.extend(records(sp, prefixes, pool))
    except _Deadline:
        complete = False
    return out, complete, stats


def parallel_chunks(net, P, d, inet, root, splitter, stats: dict, ctl, executor: Any,
                    factory: Any, ordered: bool) -> Iterator[list]:
    """Lists of records (see :func:`records`), the serial run's set; the
    frontier's leaves first, then the units (module docstring).  With a
    ``factory`` the executor is owned: replaced when broken, shut down at
    the end.  Raises
    ``Exhausted`` (time) after the last chunk when a unit was cut short."""
    from ._regions_maps import quiet
    from .budget import Exhausted
    from .parallel import WorkPool

    pool = WorkPool(executor, factory=factory)
    with quiet():
        items = split_frontier(inet, root, splitter, stats, ctl.check, pool.workers)
    units = [x for x in items if isinstance(x, WorkUnit)]
    stats["units"] = len(units)
    stats["workers"] = pool.workers
    rem = ctl.remaining()
    pool.shared = (net, P, d, None if rem == float("inf") else time.time() + rem)
    # the leaves above the frontier (in their place when ordered)
    local: list = []
    pos: list = []
    for x in items:
        if isinstance(x, WorkUnit):
            pos.append(len(local))
            local.append(None)
        else:
            with quiet():
                local.append(records(splitter, *x))
    cut = False
    try:
        if not ordered:
            for x in local:
                if x:
                    yield x
        k = 0
        for i, (recs, complete, st) in pool.stream(run_unit, units, ordered=ordered,
                                                   check=ctl.check):
            for key, v in st.items():
                stats[key] = stats.get(key, 0) + v
            if ordered:
                # the local leaves before this unit, then its records
                while k < pos[i]:
                    if local[k]:
                        yield local[k]
                    k += 1
                k += 1
            cut = cut or not complete
            if recs:
                yield recs
        if ordered:
            for x in local[k:]:
                if x:
                    yield x
    finally:
        stats["resubmitted"] = pool.resubmitted
        pool.close()
        if factory is not None:
            # an owned pool (workers=N), perhaps replaced after a lost worker
            pool.executor.shutdown(wait=False, cancel_futures=True)
    if cut:
        raise Exhausted(ctl, "time")
