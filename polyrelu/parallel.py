"""Running work units on an executor: any :class:`concurrent.futures.Executor`
or a ``dask.distributed.Client``, with results in a deterministic order.

:class:`WorkPool` is the one place polyrelu submits work to an executor.  It
does no scheduling of its own: units go to the executor's ``submit`` and come
back through ``as_completed`` (the standard library's or Dask's); the pool
only

* ships the *shared* data (networks, problems) once: a Dask ``Client``
  scatters it to every worker (``broadcast=True``); a process pool gets it
  pickled once, as bytes, and each worker process unpickles it once (a cache
  keyed by its hash); threads and the serial path use the object itself;
* groups units into chunks (one task runs several units), so that the
  per-task overhead of a process pool or a cluster does not dominate small
  units;
* passes a wall-clock ``deadline`` (``time.time()`` seconds, the same clock in
  every process of one machine) to every task, so limits hold across
  workers: a task stops between units once it has passed and returns None
  for the units it did not run;
* returns the results **in the order of the units**, whatever order the
  executor completed them in, so callers are deterministic.

``executor=None`` runs the units in the calling thread (the reference
behaviour every executor must reproduce).

>>> from concurrent.futures import ThreadPoolExecutor
>>> def work(shared, unit):
...     return shared * unit
>>> with ThreadPoolExecutor(2) as ex:
...     WorkPool(ex, shared=10).map(work, [1, 2, 3])
[10, 20, 30]
>>> WorkPool(None, shared=2).map(work, [5])
[10]
"""

from __future__ import annotations

import hashlib
import pickle
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, Callable, Optional, Sequence

__all__ = ["WorkPool", "is_dask_client", "executor_workers"]

_CACHE: dict = {}
_CACHE_MAX = 4


def is_dask_client(ex: Any) -> bool:
    """Whether ``ex`` is a ``dask.distributed.Client`` (without importing dask)."""
    return type(ex).__module__.startswith("distributed") and hasattr(ex, "scatter")


def executor_workers(ex: Any) -> int:
    """How many units the executor runs at once (1 for None)."""
    if ex is None:
        return 1
    if is_dask_client(ex):
        try:
            return max(1, sum(ex.nthreads().values()))
        except Exception:   # pragma: no cover - a client without workers yet
            return 1
    n = getattr(ex, "_max_workers", None)
    return int(n) if n else 2


def _shared_from(payload: Any) -> Any:
    """The shared object inside a worker: unpickled once per process."""
    kind, key, data = payload
    if kind != "bytes":
        return data
    obj = _CACHE.get(key)
    if obj is None:
        obj = pickle.loads(data)
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = obj
    return obj


def _run_chunk(fn: Callable, payload: Any, units: Sequence, deadline: Optional[float]
               ) -> list:
    shared = _shared_from(payload)
    out: list = []
    for u in units:
        if deadline is not None and time.time() > deadline:
            out.append(None)
            continue
        out.append(fn(shared, u))
    return out


def _run_chunk_dask(fn: Callable, shared: Any, units: Sequence, deadline: Optional[float]
                    ) -> list:
    return _run_chunk(fn, ("obj", None, shared), units, deadline)


class WorkPool:
    """Map a function over work units on an executor (module docstring).

    Parameters
    ----------
    executor : Executor, dask.distributed.Client or None
    shared : object
        Passed as the first argument of every call, shipped once.
    chunk : int, optional
        Units per task (default: enough for about four tasks per worker).
    """

    def __init__(self, executor: Any = None, shared: Any = None,
                 chunk: Optional[int] = None) -> None:
        if executor is not None and not (isinstance(executor, Executor)
                                         or is_dask_client(executor)):
            from .exceptions import PolyreluError

            raise PolyreluError(f"executor must be a concurrent.futures.Executor or a "
                                f"dask.distributed.Client, got {type(executor).__name__}")
        self.executor = executor
        self.shared = shared
        self.chunk = chunk
        self.workers = executor_workers(executor)
        self._payload: Any = None

    def _ship(self) -> Any:
        if self._payload is not None:
            return self._payload
        ex = self.executor
        if ex is None or isinstance(ex, ThreadPoolExecutor):
            self._payload = ("obj", None, self.shared)
        elif is_dask_client(ex):
            self._payload = ex.scatter(self.shared, broadcast=True, hash=False)
        else:
            data = pickle.dumps(self.shared, protocol=pickle.HIGHEST_PROTOCOL)
            key = hashlib.sha256(data).hexdigest()
            self._payload = ("bytes", key, data)
        return self._payload

    def _chunks(self, units: Sequence) -> list:
        n = len(units)
        size = self.chunk or max(1, -(-n // (4 * self.workers)))
        return [list(units[i:i + size]) for i in range(0, n, size)]

    def map(self, fn: Callable, units: Sequence, deadline: Optional[float] = None) -> list:
        """``[fn(shared, u) for u in units]`` on the executor, in order; units not
        started before ``deadline`` give None."""
        units = list(units)
        if not units:
            return []
        ex = self.executor
        payload = self._ship()
        if ex is None:
            return _run_chunk(fn, payload, units, deadline)
        chunks = self._chunks(units)
        if is_dask_client(ex):
            from distributed import as_completed

            futs = [ex.submit(_run_chunk_dask, fn, payload, c, deadline, pure=False)
                    for c in chunks]
        else:
            from concurrent.futures import as_completed  # type: ignore[assignment]

            futs = [ex.submit(_run_chunk, fn, payload, c, deadline) for c in chunks]
        index = {id(f): i for i, f in enumerate(futs)}
        results: list = [None] * len(chunks)
        for fut in as_completed(futs):
            results[index[id(fut)]] = fut.result()
        return [r for chunk in results for r in chunk]

    def close(self) -> None:
        """Release the scattered data (Dask); the executor stays the caller's."""
        if self._payload is not None and is_dask_client(self.executor):
            try:
                self._payload.release()
            except Exception:   # pragma: no cover - client already closed
                pass
        self._payload = None

    def __enter__(self) -> "WorkPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
