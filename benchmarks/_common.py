"""Shared benchmark helpers: machine description, timing and peak memory."""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any, Callable


def machine_info() -> str:
    """One line describing the machine the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem = f", {pages / 2**30:.0f} GiB"
    except (ValueError, OSError):
        pass
    load = ""
    try:
        load = ", load %.1f" % os.getloadavg()[0]
    except (AttributeError, OSError):
        pass
    return (f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}{load}")


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best wall-clock seconds over ``repeat`` runs, and the last result."""
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def cpu_timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float, Any]:
    """Median CPU seconds (``time.process_time``: this process only, so the
    figure does not depend on what else the machine runs) and median wall
    seconds over ``repeat`` runs, and the last result."""
    cpu, wall = [], []
    out = None
    for _ in range(max(1, repeat)):
        c, t = time.process_time(), time.perf_counter()
        out = fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - t)
    return statistics.median(cpu), statistics.median(wall), out


def reset_peak_memory() -> bool:
    """Reset the peak resident set size of this process (Linux:
    ``/proc/self/clear_refs``), so :func:`peak_memory_mib` measures from now."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_memory_mib() -> float:
    """Peak resident set size of this process in MiB (since the last
    :func:`reset_peak_memory` where the kernel supports it)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
