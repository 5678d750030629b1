"""Limits of a bound-and-split run: cells, seconds, an interrupt flag.

``polyrelu.budget`` (one budget per call, for every long computation) is
being written on another branch; until it lands this small object gives the
same three limits, and :func:`as_limits` also accepts any budget-like object
with ``check()``, ``exhausted`` and ``interrupt()`` (so a future
``polyrelu.budget.Budget`` can be passed as it is).  The deadline is
wall-clock (``time.time()``), the clock every worker process shares.

>>> lim = Limits(max_cells=10, time_limit=60)
>>> lim.exhausted, lim.reason
(False, None)
>>> lim.interrupt()
>>> lim.exhausted, lim.reason
(True, 'interrupted')
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Optional

from ..exceptions import DomainError

__all__ = ["Limits", "as_limits"]


class Limits:
    """``max_cells`` (cells processed), ``time_limit`` (seconds from creation)
    and an interrupt flag (thread-safe; set by :meth:`interrupt`)."""

    def __init__(self, max_cells: Optional[int] = None, time_limit: Optional[float] = None,
                 budget: Any = None) -> None:
        if max_cells is not None and (isinstance(max_cells, bool) or int(max_cells) != max_cells
                                      or max_cells < 1):
            raise DomainError(f"max_cells must be a positive integer, got {max_cells!r}")
        if time_limit is not None:
            ok = not isinstance(time_limit, bool) and isinstance(time_limit, (int, float))
            if not ok or not math.isfinite(time_limit) or time_limit <= 0:
                raise DomainError(f"time_limit must be a positive number of seconds, got "
                                  f"{time_limit!r}")
        self.max_cells = None if max_cells is None else int(max_cells)
        self.time_limit = time_limit
        self.start = time.time()
        self.deadline = None if time_limit is None else self.start + float(time_limit)
        self.budget = budget
        self._event = threading.Event()
        self.cells = 0

    def interrupt(self) -> None:
        self._event.set()

    @property
    def interrupted(self) -> bool:
        if self.budget is not None and getattr(self.budget, "interrupted", False):
            return True
        return self._event.is_set()

    @property
    def reason(self) -> Optional[str]:
        """The reason the run must stop, or None while it may go on."""
        if self.interrupted:
            return "interrupted"
        if self.deadline is not None and time.time() > self.deadline:
            return f"time limit of {self.time_limit:g} s reached"
        if self.budget is not None and getattr(self.budget, "exhausted", False):
            return "budget exhausted"
        if self.max_cells is not None and self.cells >= self.max_cells:
            return f"max_cells = {self.max_cells} reached"
        return None

    @property
    def exhausted(self) -> bool:
        return self.reason is not None

    def remaining_cells(self) -> float:
        return math.inf if self.max_cells is None else max(0, self.max_cells - self.cells)

    def elapsed(self) -> float:
        return time.time() - self.start


def as_limits(limits: Any = None, max_cells: Optional[int] = None,
              time_limit: Optional[float] = None) -> Limits:
    """A :class:`Limits` from explicit limits or a budget-like object."""
    if isinstance(limits, Limits):
        return limits
    if limits is not None:
        if not (hasattr(limits, "check") and hasattr(limits, "exhausted")):
            raise DomainError(f"limits must be a Limits or a budget, got "
                              f"{type(limits).__name__}")
        dl = getattr(limits, "remaining", None)
        tl = time_limit
        if callable(dl):
            rem = dl()
            if math.isfinite(rem):
                tl = rem if tl is None else min(tl, rem)
        return Limits(max_cells, tl if tl is None or tl > 0 else 1e-9, budget=limits)
    return Limits(max_cells, time_limit)
