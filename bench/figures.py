"""What every benchmark prints the same way: the machine it ran on, percentiles, memory."""

from __future__ import annotations

import os
import platform


def percentile(samples: list[int] | list[float], fraction: float) -> float:
    """The sample below which `fraction` of the samples fall (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def machine_line() -> str:
    """CPU model, core count and Python: figures mean little without them."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for row in cpuinfo:
                if row.startswith("model name"):
                    model = row.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"machine: {model}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def _status_mib(field: str, pid: int | str) -> float:
    with open(f"/proc/{pid}/status") as status:
        for row in status:
            if row.startswith(f"{field}:"):
                return int(row.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc status")


def rss_mib(pid: int | str = "self") -> float:
    """Resident memory of a process now, from /proc (Linux)."""
    return _status_mib("VmRSS", pid)


def peak_rss_mib() -> float:
    """This process's peak resident memory so far: VmHWM, which starts afresh at exec
    (getrusage's ru_maxrss would carry over the parent's peak into a child process)."""
    return _status_mib("VmHWM", "self")
