"""The cluster the e2e tests run against: whatever KUBECONFIG points at (a kind, minikube or
cloud cluster works), else the project's own scripts/test-cluster when it runs.

Without either, the e2e tests skip, except where GITOPS_E2E_REQUIRED=1 (CI sets it): then a
missing cluster fails them.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Cli

PROJECT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Cluster:
    kubeconfig: str
    context: str

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["kubectl", "--kubeconfig", self.kubeconfig, "--context", self.context, *args],
                              capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {done.stderr}")
        return done


def _kubeconfig() -> str | None:
    if os.environ.get("KUBECONFIG"):
        return os.environ["KUBECONFIG"]
    done = subprocess.run([str(PROJECT / "scripts" / "test-cluster"), "env"], capture_output=True, text=True)
    if done.returncode == 0 and "KUBECONFIG=" in done.stdout:
        return done.stdout.strip().split("KUBECONFIG=", 1)[1]
    return None


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    kubeconfig = _kubeconfig()
    problem = None
    if kubeconfig is None:
        problem = "no cluster: set KUBECONFIG, or run scripts/test-cluster start"
    else:
        done = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "config", "current-context"],
                              capture_output=True, text=True)
        context = done.stdout.strip()
        ready = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "--context", context, "get",
                                "--raw", "/readyz"], capture_output=True, text=True, timeout=30)
        if ready.returncode != 0:
            problem = f"the cluster of {kubeconfig} is not ready: {ready.stderr.strip()[:200]}"
    if problem:
        if os.environ.get("GITOPS_E2E_REQUIRED") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    return Cluster(str(kubeconfig), context)


@dataclass(frozen=True)
class Fleet:
    cli: Cli
    space: str  # a production region of its own: tests share the cluster, never a space
    namespace: str


@pytest.fixture
def fleet(cli: Cli, cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fleet]:
    """The example rendered with one more production region, a copy of eu in a space and
    namespace of its own; yields it, and deletes the namespace afterwards."""
    region = f"e2e{uuid.uuid4().hex[:8]}"
    space = f"traderx-prod-{region}"
    eu = (cli.config / "regions" / "eu.yaml").read_text()
    (cli.config / "regions" / f"{region}.yaml").write_text(
        eu.replace("region: eu", f"region: {region}").replace("namespace: traderx-prod-eu", f"namespace: {space}"))
    monkeypatch.setenv("KUBECONFIG", cluster.kubeconfig)
    cli.ok("render")
    assert space in cli.ok("space", "list", "-o", "json").out
    yield Fleet(cli, space, space)
    cluster.kubectl("delete", "namespace", space, "--wait=false", "--ignore-not-found", check=False)
