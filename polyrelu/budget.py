"""Limits of a long computation: one :class:`Budget` per call.

A budget holds the limits a caller gave -- ``max_regions`` and ``time_limit``
(seconds for the *whole* call) -- the deadline they imply, and an interrupt
flag.  Long computations take one and call :meth:`Budget.check` at every unit
of work (a cut, a cell, a region, a pair of regions); ``check`` raises
:class:`Exhausted` once the deadline has passed or the budget was interrupted,
and the computation stops cleanly with what it found, marked partial.  The
limits are validated here, in one place, for every function that takes them.

A call made of stages (enumerate, then merge, then write) gives its first
stage a :meth:`~Budget.share` of the time, so that the later stages have time
left for the regions found; every stage still stops at the one deadline.

An interrupt is a limit too: :meth:`Budget.interrupt` (from a signal handler,
another thread or a callback) makes the next ``check`` raise, and
:meth:`Budget.sigint` routes Ctrl-C to it for the duration of a ``with``
block (the command line does this; a second Ctrl-C aborts at once).

Progress is reported through a callback ``progress(stage, done, total)``
(``total`` None when unknown); :class:`ProgressBars` is a tqdm-backed one.

>>> b = Budget(max_regions=10, time_limit=60)
>>> b.check()                      # well before the deadline: returns
>>> b.interrupt()
>>> b.exhausted, b.stop_reason()
(True, 'interrupted')
>>> Budget(time_limit=float("nan"))
Traceback (most recent call last):
    ...
polyrelu.exceptions.LimitError: time_limit must be a positive number of seconds, got nan
"""

from __future__ import annotations

import math
import numbers
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

from .exceptions import LimitError, LimitReached

__all__ = ["Budget", "Exhausted", "as_budget", "check_time_limit", "check_count", "check_progress",
           "ProgressBars", "ProgressCallback"]

#: ``progress(stage, done, total)``: ``stage`` names the work ("regions",
#: "linear merge", ...), ``done`` counts finished units, ``total`` is None
#: when unknown
ProgressCallback = Callable[[str, int, Optional[int]], None]


class Exhausted(LimitReached):
    """Raised by :meth:`Budget.check` when the deadline passed (``kind ==
    "time"``) or the budget was interrupted (``kind == "interrupted"``).

    Computations catch it and stop with a partial result; it reaches a caller
    only where a partial answer would be meaningless.
    """

    def __init__(self, budget: "Budget", kind: str) -> None:
        self.budget = budget
        self.kind = kind
        super().__init__(budget.stop_reason() if kind == "time" else "interrupted")


def check_time_limit(value: Any, where: str = "") -> Optional[float]:
    """``value`` as a positive finite number of seconds (None: no limit).

    Booleans, NaN, infinities, zero and negative numbers are a
    :class:`~polyrelu.exceptions.LimitError` naming ``where``.
    """
    if value is None:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    seconds = float(value) if ok else math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise LimitError(f"{where + ': ' if where else ''}time_limit must be a positive "
                         f"number of seconds, got {value!r}")
    return seconds


def check_count(value: Any, name: str = "max_regions", where: str = "") -> Optional[int]:
    """``value`` as a positive int (None: no limit); booleans, NaN, floats
    with a fraction, zero and negative numbers are a LimitError."""
    if value is None:
        return None
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok and isinstance(value, float) and value.is_integer():
        ok = True      # 100.0 reads as 100; 1.5, nan and inf do not
    if not ok or value < 1:
        raise LimitError(f"{where + ': ' if where else ''}{name} must be a positive "
                         f"integer, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Budget:
    """The limits of one call and the deadline they imply.

    Parameters
    ----------
    max_regions : int, optional
        A count limit (regions, cells) for the computation that counts.
    time_limit : float, optional
        Seconds for the whole call, from the budget's creation.

    Attributes
    ----------
    start : float
        ``time.perf_counter()`` when the budget was made.
    deadline : float or None
        ``start + time_limit`` (earlier for a :meth:`share`).
    fraction : float
        The share of ``time_limit`` this budget may use (1 unless made by
        :meth:`share`).
    """

    max_regions: Optional[int] = None
    time_limit: Optional[float] = None
    start: float = field(default_factory=time.perf_counter, repr=False)
    fraction: float = field(default=1.0, repr=False)
    _event: threading.Event = field(default_factory=threading.Event, repr=False,
                                    compare=False)
    deadline: Optional[float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_regions", check_count(self.max_regions))
        tl = check_time_limit(self.time_limit)
        object.__setattr__(self, "time_limit", tl)
        object.__setattr__(self, "deadline",
                           None if tl is None else self.start + self.fraction * tl)

    # ------------------------------------------------------------ queries
    def check(self) -> None:
        """Raise :class:`Exhausted` when interrupted or past the deadline."""
        if self._event.is_set():
            raise Exhausted(self, "interrupted")
        dl = self.deadline
        if dl is not None and time.perf_counter() > dl:
            raise Exhausted(self, "time")

    @property
    def exhausted(self) -> bool:
        """Whether :meth:`check` would raise (no exception)."""
        if self._event.is_set():
            return True
        dl = self.deadline
        return dl is not None and time.perf_counter() > dl

    @property
    def interrupted(self) -> bool:
        return self._event.is_set()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def remaining(self) -> float:
        """Seconds left before the deadline (``inf`` without a time limit)."""
        dl = self.deadline
        return math.inf if dl is None else max(0.0, dl - time.perf_counter())

    def stop_reason(self) -> str:
        """Why the budget is exhausted, in words (for ``reason`` fields)."""
        if self._event.is_set():
            return "interrupted"
        return f"time limit of {self.time_limit:g} s reached"

    # ----------------------------------------------------------- derived
    def share(self, fraction: float) -> "Budget":
        """The same limits with a deadline after ``fraction`` of the time
        (from the same start) and the same interrupt flag: the first stage of
        a call leaves time for the stages that use its result."""
        return Budget(self.max_regions, self.time_limit, self.start,
                      min(self.fraction, fraction), self._event)

    def time_only(self) -> "Budget":
        """The same deadline and interrupt flag without the count limit (for
        the enumerations inside a computation whose count is of other things)."""
        if self.max_regions is None:
            return self
        return Budget(None, self.time_limit, self.start, self.fraction, self._event)

    def with_limits(self, max_regions: Any = None, time_limit: Any = None,
                    where: str = "") -> "Budget":
        """A budget with the tighter of these limits and this budget's (same
        interrupt flag)."""
        mr = check_count(max_regions, where=where)
        tl = check_time_limit(time_limit, where)
        if mr is None and tl is None:
            return self
        if self.max_regions is not None:
            mr = self.max_regions if mr is None else min(mr, self.max_regions)
        start, fraction, limit = time.perf_counter(), 1.0, tl
        mine = self.deadline
        if tl is None or (mine is not None and mine <= start + tl):
            start, fraction, limit = self.start, self.fraction, self.time_limit
        return Budget(mr, limit, start, fraction, self._event)

    # --------------------------------------------------------- interrupt
    def interrupt(self) -> None:
        """Stop at the next :meth:`check` (thread- and signal-safe)."""
        self._event.set()

    @contextmanager
    def sigint(self, message: Optional[str] = None) -> Iterator["Budget"]:
        """Within the block the first Ctrl-C (SIGINT) interrupts the budget
        instead of raising KeyboardInterrupt; a second one raises it.  A
        no-op outside the main thread.  ``message`` is printed on stderr at
        the first Ctrl-C."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def handler(signum, frame):
            if self._event.is_set():
                signal.signal(signal.SIGINT, signal.default_int_handler)
                raise KeyboardInterrupt
            self._event.set()
            if message:
                print(message, file=sys.stderr, flush=True)

        old = signal.signal(signal.SIGINT, handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, old)


def as_budget(budget: Optional[Budget] = None, max_regions: Any = None,
              time_limit: Any = None, where: str = "") -> Budget:
    """The budget of a call: ``budget`` narrowed by ``max_regions`` /
    ``time_limit`` when both are given, else a new one from the limits
    (validated; errors name ``where``)."""
    if budget is not None:
        if not isinstance(budget, Budget):
            raise LimitError(f"{where + ': ' if where else ''}budget must be a "
                             f"polyrelu.budget.Budget, got {type(budget).__name__}")
        return budget.with_limits(max_regions, time_limit, where)
    return Budget(check_count(max_regions, where=where), check_time_limit(time_limit, where))


def check_progress(progress: Any, where: str = "") -> Optional[ProgressCallback]:
    """A progress callback, or None.  ``False`` / None: none; ``True``: tqdm
    bars on stderr (:class:`ProgressBars`)."""
    if progress is None or progress is False:
        return None
    if progress is True:
        return ProgressBars()
    if not callable(progress):
        raise LimitError(f"{where + ': ' if where else ''}progress must be a callable "
                         f"progress(stage, done, total), True or None, got "
                         f"{type(progress).__name__}")
    return progress


class ProgressBars:
    """A tqdm-backed progress callback: one bar per stage on stderr, shown only
    when stderr is a terminal (no carriage-return clutter in logs).  Use as a
    context manager, or call :meth:`close`, to remove the bars.

    >>> with ProgressBars(enabled=False) as cb:
    ...     cb("regions", 3, None)
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._bars: dict = {}

    def __call__(self, stage: str, done: int, total: Optional[int] = None) -> None:
        if not self.enabled:
            return
        bar = self._bars.get(stage)
        if bar is None:
            from tqdm import tqdm

            bar = self._bars[stage] = tqdm(total=total, desc=stage, file=sys.stderr,
                                           leave=False, dynamic_ncols=True)
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()

    def __enter__(self) -> "ProgressBars":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
