"""`gitops export argocd | flux` and the backup export, on the rendered example (real git).

What Argo CD and Flux would do with the objects is played offline: their schemas (npm
@kubernetes-models/argo-cd 2.7, flux-cd 2.3: the JSON schemas for types and required fields,
the TypeScript types for fields the CRDs do not have; tests/schemas/validate.js), and Flux's own build of
a Kustomization (the kustomization.yaml its kustomize-controller generates for a plain directory,
with the Kustomization's targetNamespace and patches) done by `kubectl kustomize`.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLE_UNIT_NAMES, EXAMPLE_UNITS, Cli, snapshot

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
URL = "https://github.com/acme/manifests.git"
TARGETABLE = ["traderx-dev", "traderx-staging", "traderx-prod-asia", "traderx-prod-eu", "traderx-prod-us"]


@pytest.fixture
def handed(cli: Cli) -> Cli:
    """The example rendered with `export: [argocd, flux]`."""
    with (cli.config / "gitops.yaml").open("a") as f:
        f.write("export: [argocd, flux]\n")
    cli.ok("render")
    return cli


def docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def validate(objects: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    if not (SCHEMAS / "node_modules").is_dir():
        pytest.fail("run `npm ci --prefix tests/schemas` first (.ci/run does)")
    return subprocess.run(["node", str(SCHEMAS / "validate.js")], input=json.dumps(objects),
                          capture_output=True, text=True, check=False)


def test_render_writes_the_waves_into_every_unit_and_a_plain_build_takes_each_space(handed: Cli, tmp_path: Path) -> None:
    for space in [*TARGETABLE, "traderx-base"]:
        folder = handed.repo / "spaces" / space
        assert not list(folder.glob("kustomization*")), "spaces/ holds plain manifests only"
        rows = json.loads(handed.ok("unit", "list", "--space", space, "-o", "json").out)
        orders = {r["unit"]: r["labels"].get("order", "99") for r in rows}
        for path in folder.glob("*.yaml"):
            annotations = yaml.safe_load(path.read_text())["metadata"]["annotations"]
            assert annotations["gitops.dev/order"] == annotations["argocd.argoproj.io/sync-wave"]
            assert annotations["gitops.dev/order"] == orders[path.stem], path
        # what Flux builds of the directory (the e2e tests apply it plainly, server-side)
        plain = {"spec": {"path": f"spaces/{space}", "targetNamespace": space}}
        built = flux_build(handed.repo, plain, tmp_path / space)
        assert len({(o["kind"], o["metadata"]["name"]) for o in built}) == len(built) == EXAMPLE_UNITS


def test_export_without_the_waves_is_refused_naming_the_unit(rendered: Cli) -> None:
    before = snapshot(rendered.repo)
    result = rendered("export", "argocd", "--repo-url", URL)
    assert result.code == 1
    # the first unit, by name, of the first space
    assert f"traderx-dev/{min(EXAMPLE_UNIT_NAMES)}:" in result.err and "export: [argocd]" in result.err
    assert "Traceback" not in result.err and result.out == ""
    assert snapshot(rendered.repo) == before


def test_argocd_application_set_targets_each_space_and_rolls_out_by_environment(handed: Cli) -> None:
    [appset] = docs(handed.ok("export", "argocd", "--repo-url", URL, "--rolling-sync", "--prune").out)
    elements = appset["spec"]["generators"][0]["list"]["elements"]
    assert [e["space"] for e in elements] == TARGETABLE  # rollout order: dev, staging, prod by name
    eu = next(e for e in elements if e["space"] == "traderx-prod-eu")
    assert eu == {"space": "traderx-prod-eu", "cluster": "prod-eu", "namespace": "traderx-prod-eu",
                  "environment": "prod", "region": "eu"}
    template = appset["spec"]["template"]["spec"]
    assert template["source"] == {"repoURL": URL, "targetRevision": "main", "path": "spaces/{{.space}}",
                                  "directory": {"recurse": False}}
    assert template["syncPolicy"]["automated"] == {"prune": True, "selfHeal": False}
    assert "ServerSideApply=true" in template["syncPolicy"]["syncOptions"]
    steps = appset["spec"]["strategy"]["rollingSync"]["steps"]
    assert [s["matchExpressions"][0]["values"] for s in steps] == [["dev"], ["staging"], ["prod"]]
    apps = docs(handed.ok("export", "argocd", "--repo-url", URL, "--applications", "--space", "traderx-prod-*").out)
    assert [(a["metadata"]["name"], a["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) for a in apps] == [
        ("traderx-prod-asia", "0"), ("traderx-prod-eu", "0"), ("traderx-prod-us", "0")]
    checked = validate([appset, *apps])
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.count("ok ") == 4


def test_the_schemas_catch_a_wrong_object() -> None:
    wrong = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
             "metadata": {"name": "x"}, "spec": {"interval": "5m", "prune": "yes"}}
    unknown = {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": {"name": "y"},
               "spec": {"generators": [], "template": {"metadata": {}, "spec": {
                   "project": "default", "destination": {}, "syncPolicy": {"automatic": {}}}}}}
    checked = validate([wrong, unknown])
    assert checked.returncode == 1
    assert "prune must be boolean" in checked.stdout and "sourceRef" in checked.stdout
    assert "ApplicationSet y" in checked.stdout and '"automatic"' in checked.stdout  # a field Argo CD lacks


def flux_build(repo: Path, kustomization: dict[str, Any], work: Path) -> list[dict[str, Any]]:
    """What Flux's kustomize-controller applies for one Kustomization of a plain directory: the
    kustomization.yaml it generates (every YAML file), with its targetNamespace and patches."""
    source = repo / kustomization["spec"]["path"]
    work.mkdir()
    files = sorted(p.name for p in source.glob("*.yaml"))
    for name in files:
        shutil.copy(source / name, work / name)
    generated = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": files,
                 "namespace": kustomization["spec"]["targetNamespace"],
                 "patches": kustomization["spec"].get("patches", [])}
    (work / "kustomization.yaml").write_text(yaml.safe_dump(generated))
    built = subprocess.run(["kubectl", "kustomize", str(work)], capture_output=True, text=True, check=True)
    return docs(built.stdout)


def test_flux_waves_partition_each_space_and_chain_environments(handed: Cli, tmp_path: Path) -> None:
    objects = docs(handed.ok("export", "flux", "--repo-url", URL, "--in-cluster", "kind-traderx-dev").out)
    source, *kustomizations = objects
    assert source["kind"] == "GitRepository" and source["spec"]["ref"] == {"branch": "main"}
    by_name = {k["metadata"]["name"]: k for k in kustomizations}
    eu = [k for k in kustomizations if k["metadata"]["labels"]["gitops.dev/space"] == "traderx-prod-eu"]
    assert [k["metadata"]["name"] for k in eu] == [f"traderx-prod-eu-w{w}" for w in range(10)]
    assert eu[0]["spec"]["dependsOn"] == [{"name": "traderx-staging-w9"}]
    assert by_name["traderx-staging-w0"]["spec"]["dependsOn"] == [{"name": "traderx-dev-w9"}]
    assert "dependsOn" not in by_name["traderx-dev-w0"]["spec"]
    assert eu[5]["spec"]["dependsOn"] == [{"name": "traderx-prod-eu-w4"}]
    assert eu[0]["spec"]["kubeConfig"] == {"secretRef": {"name": "prod-eu-kubeconfig"}}
    assert "kubeConfig" not in by_name["traderx-dev-w0"]["spec"]
    assert all(k["spec"]["prune"] and k["spec"]["wait"] and k["spec"]["path"] == "./spaces/traderx-prod-eu"
               for k in eu)

    seen: dict[tuple[str, str], int] = {}
    for k in eu:
        wave = int(k["metadata"]["name"].rsplit("-w", 1)[1])
        for obj in flux_build(handed.repo, k, tmp_path / k["metadata"]["name"]):
            assert obj["metadata"]["annotations"]["gitops.dev/order"] == str(wave)
            key = (obj["kind"], obj["metadata"]["name"])
            assert key not in seen
            seen[key] = wave
    assert len(seen) == EXAMPLE_UNITS  # every object of the space, in exactly one wave
    assert seen[("Namespace", "traderx-prod-eu")] == 0 and seen[("Ingress", "traderx-ingress")] == 9

    checked = validate(objects)
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.count("ok ") == 51


def test_a_unit_with_a_new_order_goes_with_the_last_wave(handed: Cli, tmp_path: Path) -> None:
    objects = docs(handed.ok("export", "flux", "--repo-url", URL, "--space", "traderx-prod-eu").out)
    last = objects[-1]
    target = handed.repo / "spaces" / "traderx-prod-eu" / "trade-feed-svc.yaml"
    text = target.read_text()
    assert 'gitops.dev/order: "7"' in text
    target.write_text(text.replace('gitops.dev/order: "7"', 'gitops.dev/order: "42"'))
    built = {o["metadata"]["name"] for o in flux_build(handed.repo, last, tmp_path / "last")}
    assert "trade-feed" in built and "traderx-ingress" in built


def test_export_to_files_and_the_errors(handed: Cli, tmp_path: Path) -> None:
    out = tmp_path / "argocd"
    handed.ok("export", "argocd", "--repo-url", URL, "--out", str(out))
    assert [p.name for p in out.iterdir()] == ["applicationset-traderx.yaml"]
    handed.git("remote", "add", "origin", "https://ci:s3cr3t@example.com/acme/manifests.git")
    leaked = handed("export", "flux")
    assert leaked.code == 1 and "s3cr3t" not in leaked.err + leaked.out and "password or token" in leaked.err
    handed.git("remote", "set-url", "origin", URL)
    assert URL in handed.ok("export", "flux", "--space", "traderx-dev").out
    assert handed("export", "flux", "--space", "traderx-base").code == 1  # not targetable
    assert "no space matches" in handed("export", "argocd", "--space", "nope-*").err
    wrong = handed("export", "argocd", "--stages", "dev,prod")
    assert wrong.code == 1 and "'staging'" in wrong.err


def test_backup_as_yaml_and_tar_at_any_revision(handed: Cli, tmp_path: Path) -> None:
    first = handed.git("rev-parse", "HEAD").strip()
    handed.ok("run", "set-replicas", "--replicas", "7", "--space", "traderx-prod-eu", "--unit", "trade-service")
    now = docs(handed.ok("export", "--space", "traderx-prod-eu").out)
    assert len(now) == EXAMPLE_UNITS and now[0]["kind"] == "Namespace" and now[-1]["kind"] == "Ingress"
    then = docs(handed.ok("export", "--space", "traderx-prod-eu", "--revision", first).out)
    replicas = {d["metadata"]["name"]: d["spec"].get("replicas") for d in then if d["kind"] == "Deployment"}
    assert replicas["trade-service"] == 5
    archive = tmp_path / "backup.tar.gz"
    handed.ok("export", "--space", "traderx-prod-*", "-o", "tar", "--out", str(archive))
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(io.BytesIO(tar.extractfile("MANIFEST.json").read()))  # type: ignore[union-attr]
    assert manifest["commit"] == handed.git("rev-parse", "HEAD").strip()
    assert ".gitops/spaces/traderx-prod-eu.json" in names and ".gitops/settings.json" in names
    assert len([n for n in names if n.startswith("spaces/")]) == 3 * EXAMPLE_UNITS
    bad = handed("export", "--space", "traderx-prod-eu", "--revision", "nope")
    assert bad.code == 1 and "--revision nope" in bad.err
