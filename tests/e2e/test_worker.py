"""`gitops worker`: pull, apply what changed, report drift, stop on SIGTERM (see conftest)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_UNITS
from tests.e2e.conftest import PROJECT, Cluster, Fleet

pytestmark = pytest.mark.cluster


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


class Worker:
    """``gitops worker`` as its own process, its stdout read line by line as JSON."""

    def __init__(self, config: Path, repo: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(PROJECT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "generator.cli", "--config", str(config), "--repo", str(repo),
             "worker", *args, "-o", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env)
        self.watchdog = threading.Timer(240, self.process.kill)
        self.watchdog.start()

    def until(self, predicate, what: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
        """The first cycle that satisfies ``predicate``."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            cycle = json.loads(line)
            if predicate(cycle):
                return cycle  # type: ignore[no-any-return]
        raise AssertionError(f"the worker ended before {what}: {self.process.stderr.read()}")  # type: ignore[union-attr]

    def stop(self) -> tuple[int, float, str]:
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self.watchdog.cancel()
        return code, time.monotonic() - began, self.process.stderr.read()  # type: ignore[union-attr]


def test_the_worker_pulls_applies_what_changed_and_reports_drift(fleet: Fleet, cluster: Cluster,
                                                                   tmp_path: Path) -> None:
    cli, EU, namespace = fleet.cli, fleet.space, fleet.namespace
    remote, checkout = tmp_path / "remote.git", tmp_path / "checkout"
    git("clone", "--quiet", "--bare", str(cli.repo), str(remote))
    git("clone", "--quiet", str(remote), str(checkout))
    git("-C", str(cli.repo), "remote", "add", "origin", str(remote))
    common = ("--space", EU, "--context", cluster.context, "--timeout", "90s")

    first = cli("--repo", str(checkout), "worker", *common, "--once", "-o", "json")
    assert first.code == 0, first.err
    cycle = json.loads(first.out)
    assert cycle["ok"] and cycle["spaces"][EU]["applied"] == EXAMPLE_UNITS and cycle["spaces"][EU]["drift"] == 0
    quiet = cli("--repo", str(checkout), "worker", *common, "--once")
    assert quiet.code == 0
    assert f"{EU}: 0 applied, {EXAMPLE_UNITS} unchanged, no drift" in quiet.out and len(quiet.out.splitlines()) == 1
    assert "2 kubectl calls" in quiet.out  # one get to apply nothing, one to look for drift

    worker = Worker(cli.config, checkout, *common, "--interval", "1s")
    worker.until(lambda c: c["ok"], "a first cycle")
    cli.ok("run", "set-replicas", "--replicas", "2", "--space", EU, "--unit", "trade-service")
    git("-C", str(cli.repo), "push", "--quiet", "origin", "main")
    pulled = worker.until(lambda c: c["pulled"], "a pull")
    head = cli.git("rev-parse", "HEAD").strip()
    assert pulled["commit"] == head and pulled["spaces"][EU]["applied"] == 1
    assert git("-C", str(checkout), "rev-parse", "HEAD").strip() == head
    assert git("-C", str(checkout), "status", "--porcelain") == ""  # work tree fast-forwarded too
    assert cluster.kubectl("get", "deployment", "trade-service", "-n", namespace,
                           "-o", "jsonpath={.spec.replicas}").stdout == "2"

    cluster.kubectl("scale", "deployment", "trade-service", "-n", namespace, "--replicas=6")
    drifted = worker.until(lambda c: c["spaces"].get(EU, {}).get("drift"), "drift")
    assert drifted["spaces"][EU]["driftFields"] == ["trade-service spec.replicas"]
    assert drifted["spaces"][EU]["fixed"] == 0  # reported, not fixed, unless --fix-drift

    code, took, err = worker.stop()
    assert code == 0 and took < 30, err
    assert "worker: stopped" in err and "Traceback" not in err

    fixer = cli("--repo", str(checkout), "worker", *common, "--once", "--fix-drift", "-o", "json")
    assert json.loads(fixer.out)["spaces"][EU]["fixed"] == 1
    assert cluster.kubectl("get", "deployment", "trade-service", "-n", namespace,
                           "-o", "jsonpath={.spec.replicas}").stdout == "2"
