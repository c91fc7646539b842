"""Disaster recovery against a real kube-apiserver (see conftest): a space re-created from an
older revision through another context, main untouched; and spaces/<space> as a plain directory
apply takes it."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import EXAMPLE_UNITS
from tests.e2e.conftest import Cluster, Fleet

pytestmark = pytest.mark.cluster


def test_a_space_is_recreated_from_an_older_revision_on_another_context(fleet: Fleet, cluster: Cluster) -> None:
    cli, space, namespace = fleet.cli, fleet.space, fleet.namespace
    before = cli.git("rev-parse", "HEAD").strip()
    cli.ok("run", "set-replicas", "--replicas", "2", "--space", space, "--unit", "trade-service")
    main = cli.git("rev-parse", "HEAD").strip()

    started = time.monotonic()
    # `cluster.context` is not the space's target context (prod-<region>): it plays the DR cluster
    report = json.loads(cli.ok("apply", "--space", space, "--context", cluster.context, "--revision", before,
                               "--timeout", "120s", "-o", "json").out)
    took = time.monotonic() - started
    assert len(report["applied"]) == EXAMPLE_UNITS
    assert cli.git("rev-parse", "HEAD").strip() == main  # main stays as it is
    deployments = json.loads(cluster.kubectl("get", "deployments", "-n", namespace, "-o", "json").stdout)["items"]
    assert len(deployments) == 8
    for d in deployments:
        assert d["status"].get("readyReplicas") == d["spec"]["replicas"], d["metadata"]["name"]
        assert d["metadata"]["annotations"]["gitops.dev/commit"] == before
    trade = next(d for d in deployments if d["metadata"]["name"] == "trade-service")
    assert trade["spec"]["replicas"] == 5  # as at that revision, not main's 2
    print(f"DR re-apply of {EXAMPLE_UNITS} units, all ready: {took:.1f} s")

    bad = cli("apply", "--space", space, "--context", cluster.context, "--revision", "no-such-rev")
    assert bad.code == 1 and "--revision no-such-rev" in bad.err


def test_the_space_directory_applies_as_plain_manifests(fleet: Fleet, cluster: Cluster) -> None:
    cli, space = fleet.cli, fleet.space
    cli.ok("apply", "--space", space, "--context", cluster.context, "--timeout", "120s")
    done = cluster.kubectl("apply", "--server-side", "--dry-run=server", "--field-manager=plain",
                           "--force-conflicts", "-o", "name", "-f", str(cli.repo / "spaces" / space))
    names = done.stdout.split()
    assert len(names) == EXAMPLE_UNITS and len(set(names)) == EXAMPLE_UNITS
