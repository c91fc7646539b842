"""gitops apply / status / drift / diff / prune against a real kube-apiserver (see conftest)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLE_UNITS, snapshot
from tests.e2e.conftest import Cluster, Fleet

pytestmark = pytest.mark.cluster


def gitops(fleet: Fleet, cluster: Cluster, *args: str) -> dict:
    result = fleet.cli.ok(*args, "--space", fleet.space, "--context", cluster.context, "-o", "json")
    return json.loads(result.out)  # type: ignore[no-any-return]


def test_apply_in_order_then_nothing_then_only_what_changed(fleet: Fleet, cluster: Cluster) -> None:
    cli, namespace, EU = fleet.cli, fleet.namespace, fleet.space
    first = gitops(fleet, cluster, "apply", "--timeout", "90s")
    units = [u.split("/", 1)[1] for u in first["applied"]]
    assert len(units) == EXAMPLE_UNITS and units[0] == "namespace" and units[-1] == "ingress"
    assert cluster.kubectl("get", "namespace", namespace, "-o", "jsonpath={.status.phase}").stdout == "Active"
    objects = cluster.kubectl("get", "deployments,services,ingresses", "-n", namespace, "-o", "name").stdout.split()
    assert len(objects) == 16
    rows = {r["unit"]: r for r in json.loads(cli.ok("status", "--space", EU, "--context", cluster.context,
                                                     "-o", "json").out)}
    assert rows["trade-service"]["ready"] == "5/5"
    assert all(r["inSync"] and r["live"] for r in rows.values())
    assert rows["trade-service"]["appliedCommit"] == cli.git("rev-parse", "HEAD").strip()

    again = gitops(fleet, cluster, "apply")
    assert again["applied"] == [] and len(again["unchanged"]) == EXAMPLE_UNITS
    assert again["kubectlCalls"] == 1  # one `kubectl get`, no apply

    cli.ok("run", "set-replicas", "--replicas", "3", "--space", EU, "--unit", "trade-service")
    third = gitops(fleet, cluster, "apply", "--timeout", "90s")
    assert third["applied"] == [f"{EU}/trade-service"]
    replicas = cluster.kubectl("get", "deployment", "trade-service", "-n", namespace,
                               "-o", "jsonpath={.spec.replicas}").stdout
    assert replicas == "3"


def test_drift_behind_gits_back_is_reported_and_fixed(fleet: Fleet, cluster: Cluster) -> None:
    cli, namespace, EU = fleet.cli, fleet.namespace, fleet.space
    gitops(fleet, cluster, "apply", "--timeout", "90s")
    assert cli.ok("drift", "--space", EU, "--context", cluster.context).code == 0
    cluster.kubectl("scale", "deployment", "trade-service", "-n", namespace, "--replicas=10")
    found = cli("drift", "--space", EU, "--context", cluster.context, "-o", "json")
    assert found.code == 1
    assert json.loads(found.out)["drift"] == [
        {"space": EU, "unit": "trade-service", "field": "spec.replicas", "git": 5, "live": 10}]
    fixed = gitops(fleet, cluster, "drift", "--fix")
    assert fixed["fixed"] == [f"{EU}/trade-service"]
    assert cluster.kubectl("get", "deployment", "trade-service", "-n", namespace,
                           "-o", "jsonpath={.spec.replicas}").stdout == "5"
    assert cli("drift", "--space", EU, "--context", cluster.context).code == 0


def test_prune_removes_what_git_no_longer_has(fleet: Fleet, cluster: Cluster) -> None:
    cli, namespace, EU = fleet.cli, fleet.namespace, fleet.space
    gitops(fleet, cluster, "apply", "--timeout", "90s")
    cli.ok("unit", "delete", "ingress", "--space", EU)
    kept = gitops(fleet, cluster, "apply")
    assert kept["pruned"] == []
    assert cluster.kubectl("get", "ingresses", "-n", namespace, "-o", "name").stdout.strip()  # still there
    pruned = gitops(fleet, cluster, "apply", "--prune")
    assert len(pruned["pruned"]) == 1 and pruned["pruned"][0].startswith("ingress/")
    assert cluster.kubectl("get", "ingresses", "-n", namespace, "-o", "name").stdout.strip() == ""


def test_dry_run_and_diff_change_nothing(fleet: Fleet, cluster: Cluster) -> None:
    cli, namespace, EU = fleet.cli, fleet.namespace, fleet.space
    dry = gitops(fleet, cluster, "apply", "--dry-run")
    assert len(dry["applied"]) == EXAMPLE_UNITS and dry["dryRun"] is True
    assert len(dry["unchecked"]) == EXAMPLE_UNITS - 1  # in the namespace the real apply would create first
    assert cluster.kubectl("get", "namespace", namespace, check=False).returncode != 0
    gitops(fleet, cluster, "apply", "--timeout", "90s")
    assert cli("diff", "--space", EU, "--context", cluster.context).code == 0
    # a commit that changes another space is no difference here (each object keeps its commit)
    cli.ok("run", "set-replicas", "--replicas", "4", "--space", "traderx-prod-us", "--unit", "trade-service")
    assert cli("diff", "--space", EU, "--context", cluster.context).code == 0
    cli.ok("run", "set-replicas", "--replicas", "2", "--space", EU, "--unit", "trade-service")
    changed = cli("diff", "--space", EU, "--context", cluster.context)
    assert changed.code == 1 and "replicas: 2" in changed.out
    assert changed.out.count("diff -u") == 1 and "Deployment.{}.trade-service".format(namespace) in changed.out


def test_kubectl_failures_are_one_line_and_leave_the_repo_alone(fleet: Fleet, cluster: Cluster,
                                                                 tmp_path) -> None:  # type: ignore[no-untyped-def]
    cli, EU = fleet.cli, fleet.space
    before = snapshot(cli.repo)
    unreachable = tmp_path / "unreachable.kubeconfig"
    unreachable.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster: {server: 'https://127.0.0.1:1'}\n"
        "users:\n- name: x\n  user: {token: x}\ncontexts:\n- name: x\n  context: {cluster: x, user: x}\n"
        "current-context: x\n")
    for args, words in [
        (("--kubeconfig", str(unreachable), "--context", "x"), "failed"),
        (("--context", "no-such-context"), "failed"),
    ]:
        result = cli("apply", "--space", EU, *args)
        assert result.code == 1, result.err
        assert words in result.err and "Traceback" not in result.err
        assert len(result.err.strip().splitlines()) <= 2  # error + hint
    contexts = cluster.kubectl("config", "get-contexts", "-o", "name").stdout.split()
    if "restricted" in contexts:  # scripts/test-cluster's token without rights
        forbidden = cli("apply", "--space", EU, "--context", "restricted")
        assert forbidden.code == 1 and "forbidden" in forbidden.err.lower()
        assert "RBAC" in forbidden.err
    assert snapshot(cli.repo) == before


def test_apply_status_drift_and_diff_take_a_glob(fleet: Fleet, cluster: Cluster) -> None:
    """One line per space, space after space; a selection matching nothing applies nothing."""
    cli, first = fleet.cli, fleet.space
    region = first.removeprefix("traderx-prod-") + "b"
    second = f"traderx-prod-{region}"
    text = (cli.config / "regions" / f"{first.removeprefix('traderx-prod-')}.yaml").read_text()
    (cli.config / "regions" / f"{region}.yaml").write_text(
        text.replace(first.removeprefix("traderx-prod-"), region))
    cli.ok("render")
    glob = first + "*"
    try:
        applied = cli.ok("apply", "--space", glob, "--context", cluster.context, "--timeout", "90s")
        lines = [line for line in applied.err.splitlines() if "applied," in line]
        assert [line.split(":")[0] for line in lines] == [first, second]
        assert all(f"{EXAMPLE_UNITS} applied, 0 unchanged" in line for line in lines)
        reports = json.loads(cli.ok("apply", "--space", glob, "--context", cluster.context, "-o", "json").out)
        assert [(r["space"], len(r["applied"]), len(r["unchanged"])) for r in reports] == [
            (first, 0, EXAMPLE_UNITS), (second, 0, EXAMPLE_UNITS)]
        rows = json.loads(cli.ok("status", "--space", glob, "--context", cluster.context, "-o", "json").out)
        assert {r["space"] for r in rows} == {first, second} and all(r["inSync"] for r in rows)
        assert cli.ok("drift", "--space", glob, "--context", cluster.context).code == 0
        diffed = cli.ok("diff", "--space", glob, "--context", cluster.context)
        assert f"{first}: as git has it" in diffed.err and f"{second}: as git has it" in diffed.err
        before = snapshot(cli.repo)
        nothing = cli("apply", "--space", glob, "--where", "spec.replicas > 100", "--context", cluster.context)
        assert nothing.code == 1 and "0 units match" in nothing.err and snapshot(cli.repo) == before
    finally:
        cluster.kubectl("delete", "namespace", second, "--wait=false", "--ignore-not-found", check=False)
