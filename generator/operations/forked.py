"""When work may be shared with forked copies of this process, and how many.

Forking copies the process as it stands: what a child reads, it reads from that copy, and it
sends back only what it made. It is safe only while no other thread works (one could be
forked in the middle of holding a lock), where the platform forks, and worth it only for
enough work. ``GITOPS_WORKERS`` (a number, at least 1) caps the processes: 1 keeps everything
in this process. Decides, and makes the pool (``pool``): a copy dies with the process that made
it, so a command killed outright leaves no copy behind holding what it held.

What a copy returns comes back through a file, not the pool's pipe: this process reads a pipe
one buffer at a time, each read waiting for the GIL its own work holds (up to the 5 ms switch
interval), and a copy cannot start its next part until the last is read. At 1000 regions that
wait kept a render's copy idle for 2.2 s of its 5 (a part is ~5 MB); a file is read at once.
Never forks a thread's work (``busy``), and never leaves a file behind but on ``kill -9``.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Generic, TypeVar

T = TypeVar("T")


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


class Returned(Generic[T]):
    """What a forked copy will return: ``result()`` waits for it and reads it back (raising
    what the copy raised)."""

    def __init__(self, future: Future[str]) -> None:
        self._future = future

    def result(self) -> T:
        path = self._future.result()
        with open(path, "rb") as file:
            data = file.read()
        os.unlink(path)
        result: T = pickle.loads(data)  # noqa: S301 - written by this process's own copy
        return result


class Pool:
    """``workers`` forked copies of this process (``pool``); use it in a ``with``."""

    def __init__(self, workers: int) -> None:
        self._executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_die_with, initargs=(os.getpid(),))
        self._returns = tempfile.mkdtemp(prefix="gitops-forked-")

    def submit(self, fn: Callable[..., T], *args: Any) -> Returned[T]:
        """``fn(*args)`` in a copy (``fn`` and ``args`` must pickle: a module's function)."""
        return Returned(self._executor.submit(_returning, self._returns, fn, args))

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._executor.shutdown(wait=True, cancel_futures=True)
        finally:
            shutil.rmtree(self._returns, ignore_errors=True)


def pool(workers: int) -> Pool:
    """``workers`` forked copies of this process, each killed when this process dies (a pool's
    copy otherwise waits for work forever once its parent is gone: kill -9 on a command must
    not leave it running)."""
    return Pool(workers)


def _returning(directory: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> str:
    """In a copy: ``fn(*args)``, written to a new file in ``directory``; returns its path."""
    result = fn(*args)
    descriptor, path = tempfile.mkstemp(dir=directory)
    with os.fdopen(descriptor, "wb") as file:
        pickle.dump(result, file, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _die_with(parent: int) -> None:
    """In a forked copy: ask Linux to kill it when ``parent`` dies; gone already, exit now."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the copy ends with its pool as before
        pass
    if os.getppid() != parent:
        os._exit(1)
