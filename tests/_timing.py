"""Judging whether a call with a time limit ended on time, on any machine.

polyrelu's limits are wall-clock limits, and the suite runs on shared,
noisy machines: a loaded machine stretches a call's wall time without the
call doing any more work (the CI run that prompted this helper saw a 3 s
plot limit end at 4.7 s wall while the machine was busy).  A call that
*ignores* its limit overshoots in wall time and in CPU time alike, so a
call counts as on time when the smaller of the two is within the bound.
``time.process_time`` counts every thread of this process (BLAS threads can
make it exceed wall time on an idle machine, where the wall time decides).

>>> with Stopwatch() as sw:
...     pass
>>> sw.seconds < 1 and on_time(sw, 1.0)
True
"""

from __future__ import annotations

import time


class Stopwatch:
    """Wall and CPU seconds of a ``with`` block (or of :meth:`stop`)."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self._t = time.perf_counter()
        self._c = time.process_time()

    def __enter__(self) -> "Stopwatch":
        self._t = time.perf_counter()
        self._c = time.process_time()
        return self

    def stop(self) -> "Stopwatch":
        self.wall = time.perf_counter() - self._t
        self.cpu = time.process_time() - self._c
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def seconds(self) -> float:
        """The time the call can be blamed for: min(wall, CPU)."""
        return min(self.wall, self.cpu)

    def __repr__(self) -> str:
        return f"Stopwatch(wall={self.wall:.2f} s, cpu={self.cpu:.2f} s)"


def on_time(sw: "Stopwatch | float", limit: float) -> bool:
    """The limits' bound: within 10 % or 1 s of ``limit``, whichever is larger."""
    s = sw.seconds if isinstance(sw, Stopwatch) else sw
    return s <= limit + max(0.1 * limit, 1.0)


def timed(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` and the :class:`Stopwatch` of the call."""
    with Stopwatch() as sw:
        out = fn(*args, **kwargs)
    return out, sw
