"""A space's inventory (generator/operations/inventory.py) against a real kube-apiserver: an
unchanged apply is one request; a change, a prune, a lost inventory, `apply --live` and
`destroy` keep it right (see conftest)."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import Cluster, Fleet

pytestmark = pytest.mark.cluster


def gitops(fleet: Fleet, cluster: Cluster, *args: str) -> dict:
    result = fleet.cli.ok(*args, "--space", fleet.space, "--context", cluster.context, "-o", "json")
    return json.loads(result.out)  # type: ignore[no-any-return]


def held(fleet: Fleet, cluster: Cluster) -> dict | None:
    """The space's inventory ConfigMap, None when there is none."""
    done = cluster.kubectl("get", f"configmap/gitops-inventory-{fleet.space}", "-n", fleet.namespace,
                           "--ignore-not-found", "-o", "json")
    return json.loads(done.stdout) if done.stdout.strip() else None


def objects(inventory: dict) -> dict[str, list[str]]:
    """unit -> [kind, namespace, name, unit, hash, order, revision] as the inventory lists it."""
    return {row[3]: row for row in json.loads(inventory["data"]["objects"])}


def units(fleet: Fleet) -> list[str]:
    rows = json.loads(fleet.cli.ok("unit", "list", "--space", fleet.space, "-o", "json").out)
    return [r["unit"] if isinstance(r, dict) and "unit" in r else r["name"] for r in rows]


def test_unchanged_apply_is_one_request_and_a_change_updates_the_inventory(fleet: Fleet, cluster: Cluster) -> None:
    cli, EU = fleet.cli, fleet.space
    first = gitops(fleet, cluster, "apply", "--timeout", "90s")
    assert first["inventory"] == "written"
    inventory = held(fleet, cluster)
    assert inventory is not None
    assert inventory["metadata"]["labels"] == {"gitops.dev/inventory": EU}  # no unit's object
    assert inventory["data"]["commit"] == cli.git("rev-parse", "HEAD").strip()
    listed = objects(inventory)
    assert sorted(listed) == sorted(units(fleet))
    live_hash = cluster.kubectl("get", "deployment", "trade-service", "-n", fleet.namespace, "-o",
                                "jsonpath={.metadata.annotations.gitops\\.dev/content-hash}").stdout
    assert listed["trade-service"][4] == live_hash
    assert sorted(inventory["data"]) == ["commit", "objects", "space"]  # names and hashes only
    assert all(len(row) == 7 for row in listed.values())

    again = gitops(fleet, cluster, "apply")
    assert again["kubectlCalls"] == 1 and again["inventory"] == "covered"
    assert again["applied"] == [] and len(again["unchanged"]) == len(listed)
    assert gitops(fleet, cluster, "apply", "--prune")["kubectlCalls"] == 1  # nothing to prune either

    cli.ok("run", "set-replicas", "--replicas", "3", "--space", EU, "--unit", "trade-service")
    changed = gitops(fleet, cluster, "apply", "--no-wait")
    assert changed["applied"] == [f"{EU}/trade-service"] and changed["inventory"] == "written"
    assert changed["kubectlCalls"] == 3  # the inventory read, one apply (the inventory made smaller first), written
    after = objects(held(fleet, cluster) or {})
    assert after["trade-service"][4] != listed["trade-service"][4]
    assert {u: r for u, r in after.items() if u != "trade-service"} == \
        {u: r for u, r in listed.items() if u != "trade-service"}
    assert gitops(fleet, cluster, "apply")["kubectlCalls"] == 1


def test_a_lost_inventory_falls_back_to_reading_the_live_objects(fleet: Fleet, cluster: Cluster) -> None:
    gitops(fleet, cluster, "apply", "--timeout", "90s")
    cluster.kubectl("delete", f"configmap/gitops-inventory-{fleet.space}", "-n", fleet.namespace)
    read = gitops(fleet, cluster, "apply")
    assert read["applied"] == [] and read["inventory"] == "written"
    assert read["kubectlCalls"] == 3  # the inventory (none), the live objects, the inventory written
    assert held(fleet, cluster) is not None
    cluster.kubectl("patch", f"configmap/gitops-inventory-{fleet.space}", "-n", fleet.namespace,
                    "--type=merge", "-p", '{"data": {"objects": "not json"}}')
    assert gitops(fleet, cluster, "apply")["inventory"] == "written"
    assert gitops(fleet, cluster, "apply")["kubectlCalls"] == 1


def test_hand_edits_are_not_seen_through_the_inventory_and_live_puts_them_back(fleet: Fleet,
                                                                                cluster: Cluster) -> None:
    cli, namespace, EU = fleet.cli, fleet.namespace, fleet.space
    gitops(fleet, cluster, "apply", "--timeout", "90s")
    cluster.kubectl("scale", "deployment", "trade-service", "-n", namespace, "--replicas=10")
    cluster.kubectl("delete", "service", "trade-service", "-n", namespace)
    blind = gitops(fleet, cluster, "apply")
    assert blind["applied"] == [] and blind["kubectlCalls"] == 1  # as documented: drift finds it
    assert cli("drift", "--space", EU, "--context", cluster.context).code == 1

    fixed = gitops(fleet, cluster, "apply", "--live", "--timeout", "90s")
    assert sorted(fixed["applied"]) == [f"{EU}/trade-service", f"{EU}/trade-service-svc"]
    assert cluster.kubectl("get", "deployment", "trade-service", "-n", namespace,
                           "-o", "jsonpath={.spec.replicas}").stdout == "5"
    assert cluster.kubectl("get", "service", "trade-service", "-n", namespace, "-o", "name").stdout.strip()
    assert cli("drift", "--space", EU, "--context", cluster.context).code == 0
    assert gitops(fleet, cluster, "apply", "--live")["applied"] == []


def test_prune_and_destroy_keep_the_inventory_right(fleet: Fleet, cluster: Cluster) -> None:
    cli, EU = fleet.cli, fleet.space
    gitops(fleet, cluster, "apply", "--timeout", "90s")
    cli.ok("unit", "delete", "ingress", "--space", EU)
    kept = gitops(fleet, cluster, "apply")
    assert kept["pruned"] == [] and kept["kubectlCalls"] == 1  # the inventory still lists it: not pruned
    assert "ingress" in objects(held(fleet, cluster) or {})
    pruned = gitops(fleet, cluster, "apply", "--prune")
    assert len(pruned["pruned"]) == 1 and pruned["inventory"] == "written"
    assert "ingress" not in objects(held(fleet, cluster) or {})
    assert gitops(fleet, cluster, "apply", "--prune")["kubectlCalls"] == 1

    dry = gitops(fleet, cluster, "destroy", "--unit", "trade-service", "--dry-run")
    assert dry["deleted"] and held(fleet, cluster) is not None
    gitops(fleet, cluster, "destroy", "--unit", "trade-service")
    assert held(fleet, cluster) is None
    back = gitops(fleet, cluster, "apply", "--timeout", "90s")
    assert back["applied"] == [f"{EU}/trade-service"] and back["inventory"] == "written"
    assert gitops(fleet, cluster, "destroy")["deleted"]
    assert held(fleet, cluster) is None


def test_a_failing_wave_leaves_no_inventory_claiming_it(fleet: Fleet, cluster: Cluster) -> None:
    cli, EU = fleet.cli, fleet.space
    gitops(fleet, cluster, "apply", "--timeout", "90s")
    cli.ok("run", "set-replicas", "--replicas", "3", "--space", EU, "--unit", "trade-service")  # applies
    cli.ok("unit", "update", "ingress", "--space", EU,
           "--patch", '{"metadata":{"labels":{"tier":"not a valid label value!"}}}')  # the last wave: refused
    failed = cli("apply", "--space", EU, "--context", cluster.context, "--timeout", "90s", "-o", "json")
    assert failed.code == 1 and json.loads(failed.out)["applied"] == [f"{EU}/trade-service"]
    left = objects(held(fleet, cluster) or {})  # made smaller before the first change, not written after
    assert "trade-service" not in left and "ingress" not in left and "trade-service-svc" in left
    cli.ok("unit", "update", "ingress", "--space", EU, "--patch", '{"metadata":{"labels":{"tier":"web"}}}')
    done = gitops(fleet, cluster, "apply", "--timeout", "90s")
    assert done["applied"] == [f"{EU}/trade-service", f"{EU}/ingress"] and done["inventory"] == "written"
    assert sorted(objects(held(fleet, cluster) or {})) == sorted(units(fleet))
    assert gitops(fleet, cluster, "apply")["kubectlCalls"] == 1
