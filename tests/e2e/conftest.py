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


@pytest.fixture
def fleet(cli: Cli, cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Cli, str]]:
    """The example rendered with traderx-prod-eu in a namespace of its own (tests share the
    cluster); yields the CLI and that namespace, and deletes the namespace afterwards."""
    namespace = f"e2e-{uuid.uuid4().hex[:8]}"
    region = cli.config / "regions" / "eu.yaml"
    region.write_text(region.read_text().replace("namespace: traderx-prod-eu", f"namespace: {namespace}"))
    monkeypatch.setenv("KUBECONFIG", cluster.kubeconfig)
    cli.ok("render")
    yield cli, namespace
    cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found", check=False)
