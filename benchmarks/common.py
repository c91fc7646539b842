"""What every benchmark shares: a Row of results, running and timing a process on a quiet
machine, medians. No measurement lives here."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class BenchmarkError(Exception):
    pass


@dataclass
class Row:
    measure: str          # a stable key, e.g. "gitops.render.first"
    seconds: float | None  # None for a check that is not a timing
    detail: str = ""
    count: int | None = None  # how many things it covered, where that is the point (files, overlays)
    failure: str = ""     # a check that failed; the time still stands and the run goes on
    also: str = ""        # a second figure where there is one (API requests on a cluster)


def log(message: str) -> None:
    print(message, flush=True)


def run(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise BenchmarkError(
            f"{' '.join(argv)} exited {proc.returncode}\n{proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def settle(limit: float = 60.0) -> None:
    """Flush what earlier steps wrote, then wait (up to ``limit`` s) until the kernel reports no
    recent I/O stall, so a timed process does not pay for someone else's writes: on an ext4 disk
    mounted with `discard`, deleting a large tree slows file creation for a minute or more."""
    os.sync()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with open("/proc/pressure/io") as pressure:
                some = pressure.readline().split()
            avg10 = float(some[1].split("=")[1])
        except (OSError, IndexError, ValueError):
            return  # no pressure stall information on this kernel: sync is all we can do
        if avg10 < 0.5:
            return
        time.sleep(1.0)


def timed(argv: list[str], **kwargs: Any) -> tuple[float, subprocess.CompletedProcess[str]]:
    settle()
    start = time.perf_counter()
    proc = run(argv, **kwargs)
    return time.perf_counter() - start, proc


def median_of(times: list[float]) -> tuple[float, str]:
    """The median, and how the runs spread, for a report's detail column."""
    ordered = sorted(times)
    middle = ordered[len(ordered) // 2]
    spread = f"median of {len(times)}: {ordered[0]:.2f}–{ordered[-1]:.2f} s" if len(times) > 1 else "1 run"
    return middle, spread


def fmt_seconds(s: float | None) -> str:
    return "–" if s is None else f"{s:.2f} s"
