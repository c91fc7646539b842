"""Find and fix across the fleet (MicroTraderX stage 5, and a stage 7 fix by function)."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import Cli, snapshot


def rows(cli: Cli, *args: str) -> list[dict]:
    return json.loads(cli.ok("unit", "list", "-o", "json", *args).out)


def manifest(cli: Cli, space: str, unit: str = "trade-service") -> dict:
    return yaml.safe_load((cli.repo / f"spaces/{space}/{unit}.yaml").read_text())


def test_stage5_find_and_fix(rendered: Cli) -> None:
    found = rows(rendered, "--space", "traderx-prod-eu", "--where", "Data CONTAINS 'replicas: 5'")
    assert [(r["space"], r["unit"]) for r in found] == [("traderx-prod-eu", "trade-service")]
    before = int(rendered.git("rev-list", "--count", "HEAD"))
    rendered.ok("run", "set-replicas", "--replicas", "2", "--space", "traderx-prod-eu",
                "--where", "spec.replicas > 2", "--reason", "eu over-provisioned")
    assert int(rendered.git("rev-list", "--count", "HEAD")) == before + 1
    changed = rendered.git("show", "--name-only", "--format=", "HEAD").split()
    assert "spaces/traderx-prod-eu/trade-service.yaml" in changed
    assert [p for p in changed if p.startswith("spaces/")] == ["spaces/traderx-prod-eu/trade-service.yaml"]
    message = rendered.git("log", "-1", "--format=%B")
    assert "Gitops-Operation: set-replicas" in message and "Gitops-Reason: eu over-provisioned" in message
    assert manifest(rendered, "traderx-prod-eu")["spec"]["replicas"] == 2
    # every space not yet upgraded still has v1
    stale = rows(rendered, "--space", "*", "--where", "Data CONTAINS 'trade-service:v1'")
    assert {r["space"] for r in stale} == {"traderx-base", "traderx-dev", "traderx-staging",
                                           "traderx-prod-us", "traderx-prod-eu", "traderx-prod-asia"}


def test_stage7_fix_by_function(rendered: Cli) -> None:
    rendered.ok("run", "set-env-var", "--container-name", "trade-service", "--env-var",
                "CIRCUIT_BREAKER=true", "--unit", "trade-service", "--space", "traderx-prod-eu")
    env = {e["name"]: e.get("value") for e in
           manifest(rendered, "traderx-prod-eu")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["CIRCUIT_BREAKER"] == "true"
    assert rendered.git("show", "--name-only", "--format=", "HEAD").split() == [
        ".gitops/origins/traderx-prod-eu/trade-service.yaml", "spaces/traderx-prod-eu/trade-service.yaml"]


def test_set_image_reference_keeps_repository_and_skips_unchanged(rendered: Cli) -> None:
    rendered.ok("run", "set-image-reference", "--container-name", "trade-service",
                "--image-reference", ":v2", "--space", "traderx-prod-*")
    for space in ("traderx-prod-us", "traderx-prod-eu", "traderx-prod-asia"):
        assert manifest(rendered, space)["spec"]["template"]["spec"]["containers"][0]["image"] == \
            "traderx/trade-service:v2"
    head = rendered.git("rev-parse", "HEAD")
    result = rendered.ok("run", "set-image-reference", "--container-name", "trade-service",
                         "--image-reference", ":v2", "--space", "traderx-prod-*")
    assert "nothing changed" in result.err and rendered.git("rev-parse", "HEAD") == head


def test_filters_and_sets(rendered: Cli) -> None:
    names = [r["filter"] for r in json.loads(rendered.ok("filter", "list", "-o", "json").out)]
    assert {"all", "frontend", "backend", "data", "core-services", "trading-services", "ordered",
            "critical-services", "data-services"} <= set(names)
    critical = rows(rendered, "--space", "traderx-dev", "--filter", "critical-services")
    assert {r["unit"] for r in critical} == {"reference-data", "reference-data-svc", "trade-service",
                                             "trade-service-svc", "position-service", "position-service-svc"}
    backend_big = rows(rendered, "--space", "traderx-prod-*", "--filter", "backend",
                       "--where", "spec.replicas > 2")
    assert {(r["space"], r["unit"]) for r in backend_big} == {("traderx-prod-us", "trade-service"),
                                                               ("traderx-prod-eu", "trade-service")}
    assert rendered("unit", "list", "--filter", "nope").code == 1


def test_upgrade_where(rendered: Cli) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "trade-service", "image": "traderx/trade-service:v2"}]}}}}
    rendered.ok("unit", "update", "trade-service", "--space", "traderx-base", "--patch", json.dumps(patch))
    rendered.ok("upgrade", "--space", "*", "--where", "Space.Labels.region = 'eu'")
    images = {s: manifest(rendered, s)["spec"]["template"]["spec"]["containers"][0]["image"]
              for s in ("traderx-prod-eu", "traderx-prod-us")}
    assert images == {"traderx-prod-eu": "traderx/trade-service:v2", "traderx-prod-us": "traderx/trade-service:v1"}


def test_run_dry_run_changes_nothing(rendered: Cli) -> None:
    before = snapshot(rendered.repo)
    result = rendered.ok("run", "set-replicas", "--replicas", "4", "--space", "traderx-dev",
                         "--filter", "backend", "--dry-run")
    assert "+  replicas: 4" in result.out
    assert snapshot(rendered.repo) == before


MALFORMED = ["spec.replicas >", "Labels.layer = 'backend", "Labels.service IN ()", "x AND",
             "Foo = 1", "spec..replicas = 1", "spec.containers.[0].image = 'x'", "a ~ b",
             "((Slug = 'x')", "Slug = 'x' OR", "Labels.layer LIKE 3", "NOT", "Data CONTAINS",
             "Slug IS 'x'", "Labels.service IN ('a',)", "Slug = = 'x'", "Slug == 'x'",
             "Labels.a.b = 1", "Space.Labels = 'x'", "spec.replicas > 2 Labels.layer = 'x'",
             "AND Slug = 'x'", ")"]


@pytest.mark.parametrize("clause", MALFORMED)
def test_malformed_where_is_a_clear_error(rendered: Cli, clause: str) -> None:
    for args in (["unit", "list", "--where", clause],
                 ["run", "set-replicas", "--replicas", "1", "--space", "*", "--where", clause],
                 ["upgrade", "--space", "*", "--where", clause]):
        result = rendered(*args)
        assert result.code == 1, (args, result.err)
        assert "Traceback" not in result.err
        first = result.err.splitlines()[0]
        assert first.startswith("error: ") and ("WHERE clause" in first or "unknown field" in first)
