"""`gitops changeset apply --deploy`: all or nothing on a real kube-apiserver (see conftest)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import snapshot
from tests.e2e.conftest import PROJECT, Cluster, Fleet

pytestmark = pytest.mark.cluster


def live_state(cluster: Cluster, namespace: str) -> dict[str, dict]:
    """Every object of the namespace: name -> (resourceVersion, spec, labels, annotations)."""
    found = json.loads(cluster.kubectl("get", "deployments,services,ingresses", "-n", namespace,
                                       "-o", "json").stdout)
    out = {}
    for item in found["items"]:
        meta = item["metadata"]
        annotations = {k: v for k, v in meta.get("annotations", {}).items()
                       if k != "deployment.kubernetes.io/revision"}
        out[f"{item['kind']}/{meta['name']}"] = {
            "resourceVersion": meta["resourceVersion"], "spec": item["spec"],
            "labels": meta.get("labels", {}), "annotations": annotations}
    return out


def without_versions(state: dict[str, dict]) -> dict[str, dict]:
    return {name: {k: v for k, v in obj.items() if k != "resourceVersion"} for name, obj in state.items()}


def deploy(fleet: Fleet, cluster: Cluster, name: str, *args: str):  # type: ignore[no-untyped-def]
    return fleet.cli("changeset", "apply", name, "--deploy", "--context", cluster.context, *args)


def git_state(fleet: Fleet) -> tuple[str, str, dict[str, str]]:
    cli = fleet.cli
    return (cli.git("rev-parse", "HEAD"), cli.git("for-each-ref", "refs/heads", "refs/gitops"),
            snapshot(cli.repo, work_tree_only=True))


def test_a_changeset_the_server_rejects_deploys_nothing(fleet: Fleet, cluster: Cluster) -> None:
    cli, EU, namespace = fleet.cli, fleet.space, fleet.namespace
    cli.ok("apply", "--space", EU, "--context", cluster.context, "--timeout", "90s")
    cli.ok("changeset", "create", "bad-ingress", "--reason", "scale and relabel")
    cli.ok("run", "set-replicas", "--replicas", "3", "--space", EU, "--unit", "trade-service",
           "--changeset", "bad-ingress")  # first object: valid
    cli.ok("unit", "update", "ingress", "--space", EU, "--changeset", "bad-ingress",
           "--patch", '{"metadata":{"labels":{"tier":"not a valid label value!"}}}')  # second: invalid
    before_cluster, before_git = live_state(cluster, namespace), git_state(fleet)

    result = deploy(fleet, cluster, "bad-ingress", "-o", "json")
    assert result.code == 1, result.err
    assert "refuses" in result.err and "nothing was applied" in result.err and "Traceback" not in result.err
    assert "ingress" in result.err.lower() and "label" in result.err.lower()
    report = json.loads(result.out)
    assert report["applied"] == [] and report["failed"].startswith("dry run") and report["commit"] is None
    assert sorted(report["notApplied"]) == [f"{EU}/ingress", f"{EU}/trade-service"]
    assert live_state(cluster, namespace) == before_cluster  # not one resourceVersion moved
    assert git_state(fleet) == before_git  # nothing landed; the changeset is still open
    assert "bad-ingress" in cli.ok("changeset", "list").out

    # the dry run says the same and changes nothing either
    dry = deploy(fleet, cluster, "bad-ingress", "--dry-run")
    assert dry.code == 1 and "refuses" in dry.err
    assert live_state(cluster, namespace) == before_cluster and git_state(fleet) == before_git


def test_a_rollout_that_fails_is_put_back(fleet: Fleet, cluster: Cluster) -> None:
    cli, EU, namespace = fleet.cli, fleet.space, fleet.namespace
    cli.ok("apply", "--space", EU, "--context", cluster.context, "--timeout", "90s")
    cli.ok("changeset", "create", "bad-image")
    cli.ok("run", "set-env-var", "--container-name", "reference-data", "--env-var", "CACHE=on",
           "--space", EU, "--unit", "reference-data", "--changeset", "bad-image")  # rolls out
    cli.ok("run", "set-image-reference", "--container-name", "trade-service",
           "--image-reference", ":does-not-exist", "--space", EU, "--unit", "trade-service",
           "--changeset", "bad-image")  # cannot be pulled: its rollout never completes
    before_cluster, before_git = live_state(cluster, namespace), git_state(fleet)

    result = deploy(fleet, cluster, "bad-image", "--timeout", "8s", "-o", "json")
    assert result.code == 1, result.err
    assert "put back" in result.err and "nothing landed" in result.err
    report = json.loads(result.out)
    assert report["applied"] == [f"{EU}/reference-data"]  # applied, rolled out, then put back
    assert report["restored"] == [f"{EU}/trade-service", f"{EU}/reference-data"]  # newest first
    assert report["commit"] is None and report["notApplied"] == []
    assert without_versions(live_state(cluster, namespace)) == without_versions(before_cluster)
    assert git_state(fleet) == before_git
    rows = json.loads(cli.ok("status", "--space", EU, "--context", cluster.context, "-o", "json").out)
    assert all(r["inSync"] for r in rows)  # the cluster is what git (main) says again
    cluster.kubectl("rollout", "status", "deployment/trade-service", "-n", namespace, "--timeout=60s")


def test_a_good_changeset_lands_and_deploys(fleet: Fleet, cluster: Cluster) -> None:
    cli, EU, namespace = fleet.cli, fleet.space, fleet.namespace
    cli.ok("apply", "--space", EU, "--context", cluster.context, "--timeout", "90s")
    cli.ok("changeset", "create", "scale-eu", "--reason", "more trading in the EU")
    cli.ok("run", "set-replicas", "--replicas", "7", "--space", EU, "--unit", "trade-service",
           "--changeset", "scale-eu")
    cli.ok("run", "set-env-var", "--container-name", "reference-data", "--env-var", "CACHE=on",
           "--space", EU, "--unit", "reference-data", "--changeset", "scale-eu")
    before = live_state(cluster, namespace)

    dry = json.loads(deploy(fleet, cluster, "scale-eu", "--dry-run", "-o", "json").out)
    assert dry["commit"] is None and dry["deploy"]["dryRun"] is True
    assert sorted(dry["deploy"]["applied"]) == [f"{EU}/reference-data", f"{EU}/trade-service"]
    assert live_state(cluster, namespace) == before

    done = deploy(fleet, cluster, "scale-eu", "--timeout", "90s", "-o", "json")
    assert done.code == 0, done.err
    landed = json.loads(done.out)
    head = cli.git("rev-parse", "HEAD").strip()
    assert landed["commit"] == head
    assert sorted(landed["deploy"]["applied"]) == [f"{EU}/reference-data", f"{EU}/trade-service"]
    assert landed["deploy"]["commit"] == head
    assert "Gitops-Changeset: scale-eu" in cli.git("log", "-1", "--format=%B")
    assert cluster.kubectl("get", "deployment", "trade-service", "-n", namespace,
                           "-o", "jsonpath={.spec.replicas}").stdout == "7"
    rows = {r["unit"]: r for r in json.loads(cli.ok("status", "--space", EU, "--context", cluster.context,
                                                     "-o", "json").out)}
    assert all(r["inSync"] for r in rows.values())
    assert rows["trade-service"]["appliedCommit"] == head and rows["trade-service"]["ready"] == "7/7"
    assert rows["account-service"]["appliedCommit"] != head  # untouched units were not applied
    assert "scale-eu" not in cli.ok("changeset", "list").out


def test_ctrl_c_during_a_deploy_puts_back_what_was_applied(fleet: Fleet, cluster: Cluster) -> None:
    cli, EU, namespace = fleet.cli, fleet.space, fleet.namespace
    cli.ok("apply", "--space", EU, "--context", cluster.context, "--timeout", "90s")
    cli.ok("changeset", "create", "slow")
    cli.ok("run", "set-env-var", "--container-name", "reference-data", "--env-var", "CACHE=on",
           "--space", EU, "--unit", "reference-data", "--changeset", "slow")
    cli.ok("run", "set-image-reference", "--container-name", "trade-service",
           "--image-reference", ":does-not-exist", "--space", EU, "--unit", "trade-service",
           "--changeset", "slow")  # its rollout waits until interrupted
    before_cluster, before_git = live_state(cluster, namespace), git_state(fleet)

    process = subprocess.Popen(
        [sys.executable, "-m", "generator.cli", "--config", str(cli.config), "--repo", str(cli.repo),
         "changeset", "apply", "slow", "--deploy", "--context", cluster.context, "--timeout", "120s"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert process.stderr is not None
    for line in process.stderr:
        if "order 5: trade-service" in line:  # applied; now waiting for a rollout that never ends
            break
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=60)
    err = process.stderr.read()
    assert code == 130, err
    assert "putting back 2 object(s)" in err and "Traceback" not in err
    assert without_versions(live_state(cluster, namespace)) == without_versions(before_cluster)
    assert git_state(fleet) == before_git
