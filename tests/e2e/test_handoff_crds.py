"""The API server itself validates what `gitops export argocd | flux` makes: Argo CD's and Flux's
CRDs registered in the test cluster (schemas from the @kubernetes-models types,
tests/schemas/crds.js), then a server-side dry run of every exported object. The server refuses a
wrong type; a field the CRD does not have it drops, so what it kept is compared with what was
sent."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Cli
from tests.e2e.conftest import Cluster

pytestmark = pytest.mark.cluster

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
URL = "https://github.com/acme/manifests.git"


@pytest.fixture(scope="module")
def crds(cluster: Cluster) -> Cluster:
    made = subprocess.run(["node", str(SCHEMAS / "crds.js")], capture_output=True, text=True, check=True)
    done = subprocess.run(["kubectl", "--kubeconfig", cluster.kubeconfig, "--context", cluster.context, "apply",
                           "--server-side", "--field-manager=gitops-tests", "--force-conflicts", "-f", "-"],
                          input=made.stdout, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # polled, not `kubectl wait`: a CRD just made has no status.conditions yet, which that refuses
    names = ["applications.argoproj.io", "applicationsets.argoproj.io",
             "kustomizations.kustomize.toolkit.fluxcd.io", "gitrepositories.source.toolkit.fluxcd.io"]
    deadline = time.monotonic() + 60
    while names and time.monotonic() < deadline:
        names = [n for n in names if cluster.kubectl(
            "get", "crd", n, "-o", 'jsonpath={.status.conditions[?(@.type=="Established")].status}',
            check=False).stdout.strip() != "True"]
        time.sleep(0.5 if names else 0)
    assert not names, f"not established within 60 s: {names}"
    for namespace in ("argocd", "flux-system"):
        cluster.kubectl("create", "namespace", namespace, check=False)
    return cluster


def dry_run(cluster: Cluster, objects: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    """The server's own check (kubectl's client-side one off), the objects as the server would keep them."""
    stream = "".join("---\n" + json.dumps(o) + "\n" for o in objects)
    return subprocess.run(["kubectl", "--kubeconfig", cluster.kubeconfig, "--context", cluster.context, "apply",
                           "--server-side", "--dry-run=server", "--validate=false", "--field-manager=gitops-tests",
                           "-o", "json", "-f", "-"], input=stream, capture_output=True, text=True, timeout=120)


def dropped(sent: Any, kept: Any, path: str = "") -> list[str]:
    """The fields of ``sent`` the server did not keep (it may add defaults, never drop)."""
    if isinstance(sent, dict):
        if not isinstance(kept, dict):
            return [path or "."]
        return [p for k, v in sent.items()
                for p in (dropped(v, kept[k], f"{path}.{k}") if k in kept else [f"{path}.{k}"])]
    if isinstance(sent, list):
        if not isinstance(kept, list) or len(kept) != len(sent):
            return [path]
        return [p for i, (a, b) in enumerate(zip(sent, kept)) for p in dropped(a, b, f"{path}[{i}]")]
    return [] if sent == kept else [path]


def kept_objects(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    return out["items"] if out.get("kind") == "List" else [out]  # type: ignore[no-any-return]


def test_the_api_server_takes_every_exported_object_whole(cli: Cli, crds: Cluster) -> None:
    with (cli.config / "gitops.yaml").open("a") as f:
        f.write("export: [argocd, flux]\n")
    cli.ok("render")
    objects = [d for args in (["argocd", "--rolling-sync", "--prune", "--self-heal"], ["argocd", "--applications"],
                              ["flux", "--in-cluster", "kind-traderx-dev"])
               for d in yaml.safe_load_all(cli.ok("export", *args, "--repo-url", URL).out) if d]
    assert len(objects) == 1 + 5 + 1 + 50
    kept = kept_objects(dry_run(crds, objects))
    assert len(kept) == len(objects)
    for sent, back in zip(objects, kept):
        assert (back["kind"], back["metadata"]["name"]) == (sent["kind"], sent["metadata"]["name"])
        assert dropped(sent, back) == [], f"{sent['kind']} {sent['metadata']['name']}"


def test_the_api_server_refuses_a_wrong_type_and_drops_an_unknown_field(crds: Cluster) -> None:
    wrong = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
             "metadata": {"name": "wrong", "namespace": "flux-system"},
             "spec": {"interval": "5m", "prune": "yes", "sourceRef": {"kind": "GitRepository", "name": "x"}}}
    refused = dry_run(crds, [wrong])
    assert refused.returncode != 0 and "prune" in refused.stderr
    unknown = {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
               "metadata": {"name": "unknown", "namespace": "argocd"},
               "spec": {"generators": [], "template": {"metadata": {}, "spec": {
                   "project": "default", "destination": {}, "syncPolicy": {"automatic": {}}}}}}
    [back] = kept_objects(dry_run(crds, [unknown]))
    assert dropped(unknown, back) == [".spec.template.spec.syncPolicy.automatic"]
