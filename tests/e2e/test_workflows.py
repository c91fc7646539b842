"""deploy-space.yml and drift.yml, played (tests/workflows.py) against the test cluster.

The config repository has one targetable space, traderx-dev, in a namespace of its own (tests
share the cluster, never a namespace); its target context, kind-traderx-dev, is what the
KUBECONFIG secret of the GitHub environment names, as an adopter's would: the test cluster's
context, renamed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.e2e.conftest import Cluster
from tests.workflows import JobResult, Manifests, Player, config_repository

pytestmark = pytest.mark.cluster

DEV = "traderx-dev"
DEPLOYMENTS = {"account-service", "people-service", "position-service", "reference-data", "trade-feed",
               "trade-processor", "trade-service", "web-gui"}


@dataclass(frozen=True)
class Dev:
    player: Player
    manifests: Manifests
    namespace: str


def kubeconfig_secret(cluster: Cluster, context: str) -> str:
    """The test cluster's kubeconfig, self-contained, with its context named ``context``."""
    done = subprocess.run(["kubectl", "--kubeconfig", cluster.kubeconfig, "config", "view", "--raw", "--minify",
                           "--flatten", "--context", cluster.context, "-o", "json"],
                          check=True, capture_output=True, text=True)
    config = json.loads(done.stdout)
    config["contexts"][0]["name"] = config["current-context"] = context
    return json.dumps(config)


@pytest.fixture
def dev(config_dir: Path, tmp_path: Path, cluster: Cluster) -> Iterator[Dev]:
    """traderx-dev (and the base) rendered onto the manifests remote; the namespace is deleted
    afterwards."""
    namespace = f"traderx-dev-e2e{uuid.uuid4().hex[:8]}"
    for extra in ("environments/staging.yaml", "environments/prod.yaml"):
        (config_dir / extra).unlink()
    shutil.rmtree(config_dir / "regions")
    env = config_dir / "environments" / "dev.yaml"
    env.write_text(env.read_text().replace("namespace: traderx-dev", f"namespace: {namespace}"))
    source = config_repository(config_dir, PROJECT)
    manifests = Manifests.create(tmp_path, source)
    manifests.gitops("render")
    manifests.push()
    secret = kubeconfig_secret(cluster, "kind-traderx-dev")
    player = Player(tmp_path / "runner", source, vars={"GITOPS_MANIFESTS_URL": str(manifests.remote)},
                    environments={DEV: {"KUBECONFIG": secret}, "drift": {"KUBECONFIG": secret}})
    yield Dev(player, manifests, namespace)
    cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found", check=False)


def apply(dev: Dev) -> JobResult:
    """deploy-space.yml's apply job for traderx-dev at the manifests branch's head."""
    return dev.player.play_job(".github/workflows/deploy-space.yml", "apply", dev.player.push(),
                               inputs={"space": DEV, "commit": dev.manifests.head()})


def deployments(cluster: Cluster, namespace: str) -> dict[str, int]:
    found = json.loads(cluster.kubectl("get", "deployments", "-n", namespace, "-o", "json").stdout)
    return {d["metadata"]["name"]: d["spec"]["replicas"] for d in found["items"]}


def drift(dev: Dev) -> JobResult:
    player = dev.player
    return player.play_job(".github/workflows/drift.yml", "drift",
                           player.workflow_dispatch(".github/workflows/drift.yml", {}))


def test_deploy_space_applies_the_space_and_reports_its_status(dev: Dev, cluster: Cluster) -> None:
    result = apply(dev)
    assert result.result == "success", result.log
    assert result.name == f"apply {DEV}"
    assert deployments(cluster, dev.namespace) == {name: 1 for name in DEPLOYMENTS}
    assert result.summary.startswith(f"### {DEV}\n")
    commit = dev.manifests.head()[:10]  # in sync, applied from the commit asked for, ready
    row = rf"{DEV}\s+trade-service\s+deployment/trade-service\s+yes\s+yes\s+{commit}\s+1/1"
    assert re.search(row, result.summary), result.summary


def test_drift_passes_then_names_a_scaled_deployment(dev: Dev, cluster: Cluster) -> None:
    assert apply(dev).result == "success"
    quiet = drift(dev)
    assert quiet.result == "success", quiet.log
    assert quiet.summary.startswith("### No drift"), quiet.summary
    cluster.kubectl("scale", "deployment", "trade-service", "-n", dev.namespace, "--replicas=4")
    found = drift(dev)
    assert found.result == "failure", found.log
    assert found.summary.splitlines()[0].startswith("### Drift"), found.summary
    assert "trade-service" in found.summary and "spec.replicas" in found.summary, found.summary
