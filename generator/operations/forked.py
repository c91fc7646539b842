"""When work may be shared with forked copies of this process, and how many.

Forking copies the process as it stands: what a child reads, it reads from that copy, and it
sends back only what it made. It is safe only while no other thread works (one could be
forked in the middle of holding a lock), where the platform forks, and worth it only for
enough work. ``GITOPS_WORKERS`` (a number, at least 1) caps the processes: 1 keeps everything
in this process. Decides, and makes the pool (``pool``): a copy dies with the process that made
it, so a command killed outright leaves no copy behind holding what it held.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor


def busy() -> bool:
    """Whether a thread of this process other than a daemon (a progress bar's refresh) runs:
    then nothing is forked. A thread doing real work is not forked in the middle of it."""
    return any(t is not threading.current_thread() and not t.daemon for t in threading.enumerate())


def processes(jobs: int, least: int, most: int = 8) -> int:
    """How many processes, this one included, ``jobs`` (at least ``least`` of them, else 1)
    are shared among: one per core, at most ``most`` and ``GITOPS_WORKERS``."""
    wanted = os.environ.get("GITOPS_WORKERS", "")
    cap = int(wanted) if wanted.isdigit() and int(wanted) > 0 else most
    count = min(os.cpu_count() or 1, most, cap, jobs)
    if (jobs < least or count < 2 or busy()
            or "fork" not in multiprocessing.get_all_start_methods()):
        return 1
    return count


def pool(workers: int) -> ProcessPoolExecutor:
    """``workers`` forked copies of this process, each killed when this process dies (a pool's
    copy otherwise waits for work forever once its parent is gone: kill -9 on a command must
    not leave it running)."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_die_with, initargs=(os.getpid(),))


def _die_with(parent: int) -> None:
    """In a forked copy: ask Linux to kill it when ``parent`` dies; gone already, exit now."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the copy ends with its pool as before
        pass
    if os.getppid() != parent:
        os._exit(1)
