"""Live state against a real kube-apiserver (see conftest): status with each object's live
status, `unit get --live` (a Secret's values masked), `gitops destroy` (reverse order, git
untouched, production refused by glob) and `apply --revision N` (live is not main, until the
next plain apply)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.conftest import Cli
from tests.e2e.conftest import Cluster, Fleet

pytestmark = pytest.mark.cluster

PASSWORD = "hunter2-Xq9v-s3cret"


def gitops(fleet: Fleet, cluster: Cluster, *args: str) -> Any:
    result = fleet.cli.ok(*args, "--space", fleet.space, "--context", cluster.context, "-o", "json")
    return json.loads(result.out)


def status(fleet: Fleet, cluster: Cluster) -> dict[str, dict[str, Any]]:
    return {row["unit"]: row for row in gitops(fleet, cluster, "status")}


def replicas(fleet: Fleet, cluster: Cluster, deployment: str) -> str:
    return cluster.kubectl("get", "deployment", deployment, "-n", fleet.namespace,
                           "-o", "jsonpath={.spec.replicas}").stdout


def orders(cli: Cli, space: str) -> dict[str, int]:
    """Each unit's order, from `gitops unit list` (never a hard-coded count)."""
    return {u["unit"]: int(u["labels"]["order"])
            for u in json.loads(cli.ok("unit", "list", "--space", space, "-o", "json").out)}


def test_status_has_live_status_and_get_live_prints_the_object_with_secrets_masked(
        fleet: Fleet, cluster: Cluster) -> None:
    cli, space, namespace = fleet.cli, fleet.space, fleet.namespace
    gitops(fleet, cluster, "apply", "--timeout", "120s")

    rows = status(fleet, cluster)
    trade = rows["trade-service"]
    assert trade["ready"] == "5/5"
    live = trade["liveStatus"]
    assert (live["replicas"], live["ready"], live["updated"], live["available"]) == (5, 5, 5, 5)
    available = [c for c in live["conditions"] if c["type"] == "Available"]
    assert available and available[0]["status"] == "True" and set(available[0]) == {"type", "status", "reason", "message"}
    assert rows["namespace"]["liveStatus"] == {"phase": "Active"}
    assert all(row["liveIsMain"] and row["appliedRevision"] is None for row in rows.values())
    table = cli.ok("status", "--space", space, "--context", cluster.context)
    assert "5/5" in table.out and "READY" in table.out and "live is not main" not in table.err

    got = json.loads(cli.ok("unit", "get", "trade-service", "--space", space, "--live",
                            "--context", cluster.context, "-o", "json").out)
    assert got["kind"] == "Deployment" and got["metadata"]["namespace"] == namespace
    assert "managedFields" not in got["metadata"] and got["status"]["readyReplicas"] == 5
    assert got["metadata"]["annotations"]["gitops.dev/unit"] == "trade-service"
    as_yaml = cli.ok("unit", "get", "trade-service", "--space", space, "--live", "--context", cluster.context).out
    assert "kind: Deployment" in as_yaml and "readyReplicas: 5" in as_yaml and "managedFields" not in as_yaml

    # A Secret made outside git (the way secrets are), with a unit for it that has no data.
    manifest = cli.repo.parent / "db-credentials.yaml"
    manifest.write_text(f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\n  namespace: {namespace}\n"
                        "type: Opaque\n")
    cli.ok("unit", "create", "db-credentials", "--space", space, "--file", str(manifest))
    missing = cli("unit", "get", "db-credentials", "--space", space, "--live", "--context", cluster.context)
    assert missing.code == 1 and "not on the cluster" in missing.err
    assert cluster.context in missing.err and namespace in missing.err and "Traceback" not in missing.err
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-credentials", "namespace": namespace},
              "stringData": {"password": PASSWORD}}
    # a client-side apply: kubectl also keeps the value in its last-applied annotation
    subprocess.run(["kubectl", "--kubeconfig", cluster.kubeconfig, "--context", cluster.context, "apply", "-f", "-"],
                   input=json.dumps(secret), text=True, check=True, capture_output=True)
    for fmt in ("json", "yaml"):
        shown = cli.ok("unit", "get", "db-credentials", "--space", space, "--live", "--context", cluster.context,
                       "-o", fmt)
        assert PASSWORD not in shown.out and "aHVudGVy" not in shown.out  # nor its base64
        assert "characters, masked" in shown.out
    data = json.loads(cli.ok("unit", "get", "db-credentials", "--space", space, "--live",
                             "--context", cluster.context, "-o", "json").out)
    assert data["data"] == {"password": f"{len('aHVudGVyMi1YcTl2LXMzY3JldA==')} characters, masked"}

    both = cli("unit", "get", "trade-service", "--space", space, "--live", "--revision", "1")
    assert both.code == 2 and "--live" in both.err


def test_destroy_dry_run_then_one_unit_then_the_space_in_reverse_order_git_untouched(
        fleet: Fleet, cluster: Cluster) -> None:
    cli, space, namespace = fleet.cli, fleet.space, fleet.namespace
    gitops(fleet, cluster, "apply", "--no-wait")  # readiness is not what this test is about
    head, tree = cli.git("rev-parse", "HEAD"), cli.git("status", "--porcelain")
    units = orders(cli, space)

    refused = cli("destroy", "--space", space[:-1] + "*", "--context", cluster.context)
    assert refused.code == 1 and "production" in refused.err and space in refused.err
    assert "Traceback" not in refused.err

    dry = gitops(fleet, cluster, "destroy", "--dry-run")
    assert dry["dryRun"] is True and len(dry["deleted"]) == len(units)
    assert cluster.kubectl("get", "deployment", "trade-feed", "-n", namespace).returncode == 0
    assert replicas(fleet, cluster, "trade-service") == "5"

    one = gitops(fleet, cluster, "destroy", "--unit", "trade-feed")
    assert one["deleted"] == [f"deployment/trade-feed -n {namespace}"] and one["gitUntouched"] is True
    assert cluster.kubectl("get", "deployment", "trade-feed", "-n", namespace, check=False).returncode != 0
    assert cluster.kubectl("get", "service", "trade-feed", "-n", namespace).returncode == 0
    assert replicas(fleet, cluster, "trade-service") == "5"
    again = cli("destroy", "--space", space, "--unit", "trade-feed", "--context", cluster.context)
    assert again.code == 1 and "not on the cluster" in again.err
    none = cli("destroy", "--space", space, "--where", "Labels.order = '42'", "--context", cluster.context)
    assert none.code == 1 and "0 units match" in none.err

    table = cli.ok("destroy", "--space", space, "--context", cluster.context, "--timeout", "120s")
    assert "git is untouched" in table.err and f"gitops apply --space {space}" in table.err
    deleted = [line.split(" ", 1)[1] for line in table.err.splitlines() if line.startswith("deleted ")]
    assert len(deleted) == len(units) - 1  # trade-feed's deployment went before
    by_object = {f"{kind}/{name}": unit for unit, (kind, name) in _objects(cli, space).items()}
    went = [units[by_object[name.split(" -n ")[0]]] for name in deleted]
    assert went == sorted(went, reverse=True), f"not in reverse apply order: {deleted}"
    assert deleted[0].startswith("ingress/") and deleted[-1] == f"namespace/{namespace}"
    print("destroy order:", ", ".join(deleted))
    gone = cluster.kubectl("get", "namespace", namespace, "-o", "jsonpath={.status.phase}", check=False)
    assert gone.returncode != 0 or gone.stdout == "Terminating"
    assert cli.git("rev-parse", "HEAD") == head and cli.git("status", "--porcelain") == tree == ""
    nothing = cli("destroy", "--space", space, "--context", cluster.context)
    assert nothing.code == 1 and "nothing to destroy" in nothing.err


def _objects(cli: Cli, space: str) -> dict[str, tuple[str, str]]:
    """unit -> (kind in lower case, name) of every unit of the space, from git."""
    out = {}
    for row in json.loads(cli.ok("unit", "list", "--space", space, "-o", "json").out):
        data = json.loads(cli.ok("unit", "get", row["unit"], "--space", space, "-o", "json").out)["data"]
        out[row["unit"]] = (data["kind"].lower(), data["metadata"]["name"])
    return out


def test_apply_an_older_revision_then_live_is_not_main_until_a_plain_apply(fleet: Fleet, cluster: Cluster) -> None:
    cli, space = fleet.cli, fleet.space
    gitops(fleet, cluster, "apply", "--no-wait")  # what is checked is spec.replicas, not readiness
    cli.ok("run", "set-replicas", "--replicas", "3", "--space", space, "--unit", "trade-service")
    gitops(fleet, cluster, "apply", "--no-wait")
    assert replicas(fleet, cluster, "trade-service") == "3"
    head = cli.git("rev-parse", "HEAD").strip()
    revisions = json.loads(cli.ok("history", "trade-service", "--space", space, "-o", "json").out)
    older = revisions[1]  # newest first: the one before set-replicas

    pinned = gitops(fleet, cluster, "apply", "--unit", "trade-service", "--revision", str(older["revision"]),
                    "--no-wait")
    assert pinned["applied"] == [f"{space}/trade-service"]
    assert pinned["pinned"] == {"commit": older["commit"], "revision": older["revision"]}
    assert replicas(fleet, cluster, "trade-service") == "5"  # live has the old replicas
    assert cli.git("rev-parse", "HEAD").strip() == head and cli.git("status", "--porcelain") == ""
    assert "replicas: 3" in cli.ok("unit", "get", "trade-service", "--space", space).out  # main unchanged
    rows = status(fleet, cluster)
    assert rows["trade-service"]["appliedRevision"] == {"commit": older["commit"], "revision": older["revision"]}
    assert not rows["trade-service"]["inSync"] and rows["namespace"]["inSync"]
    assert all(row["liveIsMain"] is False for row in rows.values())
    said = cli.ok("status", "--space", space, "--context", cluster.context).err
    assert (f"live is not main: applied from {older['commit'][:10]} (revision {older['revision']})" in said
            and "the next plain `gitops apply` returns it to main" in said)

    plain = gitops(fleet, cluster, "apply", "--no-wait")
    assert plain["applied"] == [f"{space}/trade-service"] and plain["pinned"] is None
    assert replicas(fleet, cluster, "trade-service") == "3"
    annotations = json.loads(cluster.kubectl("get", "deployment", "trade-service", "-n", fleet.namespace,
                                             "-o", "json").stdout)["metadata"]["annotations"]
    assert "gitops.dev/revision" not in annotations
    rows = status(fleet, cluster)
    assert all(row["liveIsMain"] and row["appliedRevision"] is None and row["inSync"] for row in rows.values())
    assert "live is not main" not in cli.ok("status", "--space", space, "--context", cluster.context).err

    # Without --unit, N numbers the commits that changed the space: -1 is the one before set-replicas.
    space_wide = gitops(fleet, cluster, "apply", "--revision", "-1", "--no-wait")
    assert space_wide["applied"] == [f"{space}/trade-service"]  # only what differs from live
    space_commits = cli.git("log", "--format=%H", "--", f"spaces/{space}/").split()  # newest first
    assert space_wide["pinned"] == {"commit": space_commits[1], "revision": len(space_commits) - 1}
    assert replicas(fleet, cluster, "trade-service") == "5"
    assert status(fleet, cluster)["trade-service"]["liveIsMain"] is False
    gitops(fleet, cluster, "apply", "--no-wait")
    assert replicas(fleet, cluster, "trade-service") == "3"
    assert cli.git("rev-parse", "HEAD").strip() == head

    unknown = cli("apply", "--space", space, "--unit", "trade-service", "--revision", "99", "--context", cluster.context)
    assert unknown.code == 1 and "no revision 99" in unknown.err
