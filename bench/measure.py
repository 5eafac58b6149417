"""Numbers: percentiles over rounds, and resident memory read from /proc (Linux)."""
from __future__ import annotations

import os
import resource
from dataclasses import asdict, dataclass
from pathlib import Path


def percentile(samples: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); one sample is its own."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True)
class Summary:
    median_ms: float
    p95_ms: float
    docs_per_s: float
    rounds: int
    samples_ms: tuple[float, ...]
    peak_rss_mb: float | None = None  # the process's high-water mark after this stage

    @classmethod
    def of(cls, samples_ms: list[float], peak_rss_mb: float | None = None) -> "Summary":
        median = percentile(samples_ms, 0.5)
        return cls(median_ms=median, p95_ms=percentile(samples_ms, 0.95),
                   docs_per_s=1000.0 / median if median > 0 else float("inf"),
                   rounds=len(samples_ms), samples_ms=tuple(samples_ms), peak_rss_mb=peak_rss_mb)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["samples_ms"] = [round(s, 3) for s in self.samples_ms]
        return data


def _status_kib(field: str, pid: int | str = "self") -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def rss_mb(pid: int | str = "self") -> float | None:
    kib = _status_kib("VmRSS", pid)
    return kib / 1024 if kib is not None else None


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """Peak resident set size (VmHWM) of a process, or None once it is gone."""
    kib = _status_kib("VmHWM", pid)
    if kib is None and pid == "self":
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024 if kib is not None else None


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0), so the next reading is the
    peak of what ran in between. False when the kernel refuses: readings are then cumulative."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def children_peak_rss_mb() -> float:
    """The largest peak RSS of any child this process has waited for (the sandboxed verify)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def child_pids(parent: int) -> list[int]:
    """Direct children of `parent` (a Celery worker's pool), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command name: state, ppid, ...
        rest = stat.rsplit(")", 1)[-1].split()
        if len(rest) > 1 and rest[1] == str(parent):
            found.append(int(entry.name))
    return sorted(found)


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
