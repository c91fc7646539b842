"""``gitops worker``: keep a fleet's clusters where git says, cycle after cycle.

Each cycle pulls the manifests repo when it has a remote (fast-forward only, ``Store.pull``),
applies what changed in every space matching the glob (``apply.apply``: when nothing changed,
one ``kubectl get`` and no apply), looks for drift (and, asked to, puts it back), and reports
itself as one ``Cycle``: one log line. A failure in a cycle (an unreachable remote, a refused
apply) is that cycle's line and the next cycle tries again; a failure in one space does not stop
the others. SIGTERM or SIGINT ends the wait at once, or the cycle before its next space.

No printing: each cycle goes to the ``log`` callable.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from generator.errors import GitopsError
from generator.kubectl import Kubectl, KubectlError
from generator.operations import apply, drift
from generator.operations.fleet import Fleet
from generator.store import Store


@dataclass
class Options:
    """What ``gitops worker`` was asked to do besides applying."""

    pattern: str
    prune: bool = False
    fix_drift: bool = False
    wait: bool = True
    timeout: str = "60s"


@dataclass
class Cycle:
    """What one cycle did: pulled, then per space applied/unchanged/pruned/drift, or an error."""

    number: int
    started: str
    pulled: str | None = None  # "OLD..NEW" when the pull brought commits
    commit: str | None = None  # the commit the cycle applied
    spaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None  # the cycle could not run (pull, repo, no such space)
    seconds: float = 0.0
    kubectl_calls: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None and not any(s.get("error") for s in self.spaces.values())

    def data(self) -> dict[str, Any]:
        return {"cycle": self.number, "started": self.started, "seconds": round(self.seconds, 3),
                "pulled": self.pulled, "commit": self.commit, "spaces": self.spaces,
                "error": self.error, "kubectlCalls": self.kubectl_calls, "ok": self.ok}

    def line(self) -> str:
        """The cycle as one log line."""
        head = f"{self.started} cycle {self.number} ({self.seconds:.1f}s, {self.kubectl_calls} kubectl calls)"
        parts = [f"pulled {self.pulled}"] if self.pulled else []
        if self.commit:
            parts.append(f"at {self.commit[:10]}")
        for name, done in self.spaces.items():
            if done.get("error"):
                parts.append(f"{name}: error: {done['error']}")
                continue
            said = [f"{done['applied']} applied", f"{done['unchanged']} unchanged"]
            if done["pruned"]:
                said.append(f"{done['pruned']} pruned")
            said.append(f"drift in {done['drift']} field(s)" if done["drift"] else "no drift")
            if done["fixed"]:
                said.append(f"{done['fixed']} put back")
            parts.append(f"{name}: {', '.join(said)}")
        if self.error:
            parts.append(f"error: {self.error}")
        return head + ": " + "; ".join(parts)


def _space(kubectl: Kubectl, fleet: Fleet, space: str, options: Options) -> dict[str, Any]:
    report = apply.apply(kubectl, fleet, space, prune=options.prune, wait=options.wait,
                          timeout=options.timeout)
    rows = drift.drift(kubectl, fleet, space)
    fixed: list[str] = []
    if rows and options.fix_drift:
        _, again = drift.fix_drift(kubectl, fleet, space, options.timeout, rows=rows)
        fixed = again.applied if again else []
    return {"applied": len(report.applied), "unchanged": len(report.unchanged),
            "pruned": len(report.pruned), "drift": len(rows), "fixed": len(fixed),
            "driftFields": [f"{r['unit']} {r['field']}" for r in rows], "error": None}


def _brief(error: GitopsError) -> str:
    """An error for a log line: a failed kubectl by its verb and last word, not its command."""
    cause = error if isinstance(error, KubectlError) else error.__cause__
    if isinstance(cause, KubectlError):
        return cause.brief if cause is error else f"{error.message.split(':', 1)[0]}: {cause.brief}"
    return error.message


def _spaces(kubectl: Kubectl, store: Store, options: Options, done: Cycle,
            stop: threading.Event | None) -> None:
    """Pull, then each matching space in turn; a space's failure is its own."""
    pulled = store.pull()
    if pulled and pulled[0] != pulled[1]:
        done.pulled = f"{(pulled[0] or '')[:10]}..{(pulled[1] or '')[:10]}"
    fleet = Fleet.load(store)
    done.commit = store.head()
    for space in fleet.match(options.pattern):
        if stop is not None and stop.is_set():
            break
        try:
            done.spaces[space.name] = _space(kubectl, fleet, space.name, options)
        except GitopsError as e:
            done.spaces[space.name] = {"error": _brief(e)}


def cycle(kubectl: Kubectl, open_store: Callable[[], Store], options: Options, number: int,
          stop: threading.Event | None = None) -> Cycle:
    """One cycle (see the module doc); never raises a GitopsError, it reports it."""
    began = time.monotonic()
    kubectl.calls.clear()  # a worker runs for weeks: keep only this cycle's calls
    done = Cycle(number, datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    try:
        store = open_store()
        try:
            _spaces(kubectl, store, options, done, stop)
        finally:
            store.close()
    except GitopsError as e:
        done.error = _brief(e)
    done.seconds = time.monotonic() - began
    done.kubectl_calls = len(kubectl.calls)
    return done


@contextmanager
def _stopping_on_signals() -> Iterator[threading.Event]:
    """An event SIGTERM and SIGINT set (instead of killing the process) while the block runs."""
    stop = threading.Event()
    handled = (signal.SIGTERM, signal.SIGINT)
    before = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in handled}
    try:
        yield stop
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def serve(kubectl: Kubectl, open_store: Callable[[], Store], options: Options, interval: float,
          once: bool, log: Callable[[Cycle], None]) -> int:
    """Run cycles every ``interval`` seconds until a signal (or one, with ``once``); the exit
    code: with ``once``, 1 if that cycle failed; else 0 after a clean stop."""
    number = 0
    with _stopping_on_signals() as stop:
        while True:
            number += 1
            done = cycle(kubectl, open_store, options, number, stop)
            log(done)
            if once:
                return 0 if done.ok else 1
            if stop.wait(interval):
                return 0
