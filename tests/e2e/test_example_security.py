"""The example's network policies and access (RBAC) on a real kube-apiserver (see conftest): a
space of each environment kind passes a server-side dry run whole, applies, and the API server
then grants each environment's group what its role says, and no more."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import EXAMPLE_UNITS, Cli
from tests.e2e.conftest import Cluster

pytestmark = pytest.mark.cluster

POLICIES = {"default-deny", "traderx-internal", "allow-ingress"}
# environment kind -> the Role its spaces bind, and the group they bind it to
ACCESS = {"dev": ("traderx-developer", "traderx-developers"),
          "staging": ("traderx-sre", "traderx-sre"),
          "prod": ("traderx-viewer", "traderx-viewers")}
# (verb, resource, subresource) -> may the environment kind's group do it?
CAN = {
    ("list", "deployments", ""): {"dev": True, "staging": True, "prod": True},
    ("get", "pods", ""): {"dev": True, "staging": True, "prod": True},
    ("get", "secrets", ""): {"dev": False, "staging": False, "prod": False},  # credentials: nobody
    ("get", "pods", "log"): {"dev": True, "staging": True, "prod": False},
    ("create", "pods", "exec"): {"dev": True, "staging": True, "prod": False},
    ("delete", "pods", ""): {"dev": True, "staging": True, "prod": False},
    ("patch", "deployments", ""): {"dev": True, "staging": True, "prod": False},
    ("update", "deployments", "scale"): {"dev": True, "staging": True, "prod": False},
    ("create", "deployments", ""): {"dev": True, "staging": False, "prod": False},
    ("update", "configmaps", ""): {"dev": True, "staging": False, "prod": False},
}


@dataclass(frozen=True)
class Space:
    cli: Cli
    kind: str  # dev, staging or prod
    name: str  # the space; its namespace has the same name


@pytest.fixture(params=sorted(ACCESS))
def space(request: pytest.FixtureRequest, cli: Cli, cluster: Cluster,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Space]:
    """A space made by a copy of the environment (dev, staging) or region (prod: eu) file, in a
    namespace of its own; deleted from the cluster afterwards."""
    kind, suffix = request.param, f"e2e{uuid.uuid4().hex[:8]}"
    if kind == "prod":
        name = f"traderx-prod-{suffix}"
        text = (cli.config / "regions" / "eu.yaml").read_text()
        (cli.config / "regions" / f"{suffix}.yaml").write_text(
            text.replace("region: eu", f"region: {suffix}").replace("namespace: traderx-prod-eu", f"namespace: {name}"))
    else:
        name = f"traderx-{kind}{suffix}"
        text = (cli.config / "environments" / f"{kind}.yaml").read_text()
        assert f"environment: {kind}\n" in text and f"namespace: traderx-{kind}\n" in text
        (cli.config / "environments" / f"{kind}{suffix}.yaml").write_text(
            text.replace(f"environment: {kind}\n", f"environment: {kind}{suffix}\n")
                .replace(f"namespace: traderx-{kind}\n", f"namespace: {name}\n"))
    monkeypatch.setenv("KUBECONFIG", cluster.kubeconfig)
    cli.ok("render")
    yield Space(cli, kind, name)
    cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


def gitops(space: Space, cluster: Cluster, *args: str) -> Any:
    result = space.cli.ok(*args, "--space", space.name, "--context", cluster.context, "-o", "json")
    return json.loads(result.out)


def live(cluster: Cluster, namespace: str, kinds: str) -> dict[tuple[str, str], dict[str, Any]]:
    items = json.loads(cluster.kubectl("get", kinds, "-n", namespace, "-o", "json").stdout)["items"]
    return {(o["kind"], o["metadata"]["name"]): o for o in items}


def can(cluster: Cluster, namespace: str, group: str, verb: str, resource: str, subresource: str) -> bool:
    """What the API server's RBAC lets a member of ``group`` (and of no other) do."""
    args = ["auth", "can-i", verb, resource, "-n", namespace, "--as", "e2e-someone", "--as-group", group]
    done = cluster.kubectl(*args, *(["--subresource", subresource] if subresource else []), check=False)
    assert done.stdout.strip() in ("yes", "no"), done.stderr
    return done.stdout.strip() == "yes"


def test_a_space_of_each_environment_applies_its_policies_and_its_role(space: Space, cluster: Cluster) -> None:
    cli, namespace = space.cli, space.name
    role, group = ACCESS[space.kind]

    # With its namespace there, the server checks every object of the space (a dry run): none skipped.
    assert gitops(space, cluster, "apply", "--unit", "namespace")["applied"] == [f"{space.name}/namespace"]
    dry = gitops(space, cluster, "apply", "--dry-run")
    assert dry["dryRun"] is True and dry["unchecked"] == [] and len(dry["applied"]) == EXAMPLE_UNITS - 1
    assert live(cluster, namespace, "networkpolicies,roles,rolebindings") == {}

    applied = gitops(space, cluster, "apply", "--timeout", "120s")
    assert len(applied["applied"]) == EXAMPLE_UNITS - 1 and applied["failed"] is None
    found = live(cluster, namespace, "networkpolicies,roles,rolebindings")
    assert set(found) == {("NetworkPolicy", p) for p in POLICIES} | {("Role", role), ("RoleBinding", group)}

    # the live objects say what git says
    def unit(name: str) -> Any:
        return json.loads(cli.ok("unit", "get", name, "--space", space.name, "-o", "json").out)["data"]

    for policy in POLICIES:
        assert found[("NetworkPolicy", policy)]["spec"] == unit(policy)["spec"], policy
    ports = {p["port"] for p in found[("NetworkPolicy", "traderx-internal")]["spec"]["ingress"][0]["ports"]}
    services = json.loads(cluster.kubectl("get", "services", "-n", namespace, "-o", "json").stdout)["items"]
    assert ports == {p["targetPort"] for s in services for p in s["spec"]["ports"]}
    assert found[("Role", role)]["rules"] == unit("access-role")["rules"]
    binding = found[("RoleBinding", group)]
    assert binding["roleRef"]["name"] == role and [s["name"] for s in binding["subjects"]] == [group]

    # git and the cluster agree on them, field by field
    rows = {r["unit"]: r for r in gitops(space, cluster, "status")}
    assert all(rows[u]["inSync"] for u in (*POLICIES, "access-role", "access-binding"))
    assert cli("drift", "--space", space.name, "--context", cluster.context).code == 0

    # and the API server grants the group what its role says
    granted = {check: can(cluster, namespace, group, *check) for check in CAN}
    assert granted == {check: kinds[space.kind] for check, kinds in CAN.items()}
    for other, (_, other_group) in ACCESS.items():  # another environment's group gets nothing here
        if other_group != group:
            assert not can(cluster, namespace, other_group, "get", "pods", ""), other
