"""Push-upgrade that keeps local overrides, direct edits, lateral promotion (MicroTraderX
stages 4 and 7), through the CLI against real git repos."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import Cli, snapshot

PROD = ("traderx-prod-us", "traderx-prod-eu", "traderx-prod-asia")
V2 = {"spec": {"template": {"spec": {"containers": [{
    "name": "trade-service", "image": "traderx/trade-service:v2",
    "env": [{"name": "TRADING_ALGORITHM", "value": "quantum"},
            {"name": "ORDER_TIMEOUT_MS", "value": "2500"}]}]}}}}
CIRCUIT_BREAKER = {"spec": {"template": {"spec": {"containers": [{
    "name": "trade-service", "env": [{"name": "CIRCUIT_BREAKER", "value": "true"}]}]}}}}


def manifest(cli: Cli, space: str, unit: str = "trade-service") -> dict:
    return yaml.safe_load((cli.repo / f"spaces/{space}/{unit}.yaml").read_text())


def container(cli: Cli, space: str) -> dict:
    return manifest(cli, space)["spec"]["template"]["spec"]["containers"][0]


def env(cli: Cli, space: str) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container(cli, space)["env"]}


def replicas(cli: Cli) -> dict[str, int]:
    return {space: manifest(cli, space)["spec"]["replicas"] for space in PROD}


def commits(cli: Cli) -> int:
    return int(cli.git("rev-list", "--count", "HEAD"))


def patch(cli: Cli, space: str, body: dict, *extra: str) -> None:
    cli.ok("unit", "update", "trade-service", "--space", space, "--patch", json.dumps(body), *extra)


def test_stage4_push_upgrade_keeps_region_replicas(rendered: Cli) -> None:
    patch(rendered, "traderx-base", V2)
    assert container(rendered, "traderx-base")["image"] == "traderx/trade-service:v2"
    for space in PROD:  # not yet upgraded
        assert container(rendered, space)["image"] == "traderx/trade-service:v1"
    before = commits(rendered)
    rendered.ok("upgrade", "--space", "traderx-prod-*")
    assert commits(rendered) == before + 1
    for space in PROD:
        variables = env(rendered, space)
        assert container(rendered, space)["image"] == "traderx/trade-service:v2"
        assert variables["TRADING_ALGORITHM"] == "quantum"
        assert variables["ORDER_TIMEOUT_MS"] == "2500"
    assert replicas(rendered) == {"traderx-prod-us": 3, "traderx-prod-eu": 5, "traderx-prod-asia": 2}
    message = rendered.git("log", "-1", "--format=%B")
    assert "Gitops-Operation: upgrade" in message
    assert "traderx-prod-eu/trade-service" in message
    assert container(rendered, "traderx-dev")["image"].endswith(":v1")  # not selected


def test_upgrade_dry_run_shows_diffs_and_changes_nothing(rendered: Cli) -> None:
    patch(rendered, "traderx-base", V2)
    before = snapshot(rendered.repo)
    result = rendered.ok("upgrade", "--space", "traderx-prod-*", "--dry-run")
    assert "+++ b/spaces/traderx-prod-eu/trade-service.yaml" in result.out
    assert "+        image: traderx/trade-service:v2" in result.out
    assert snapshot(rendered.repo) == before


def test_a_base_edit_survives_render(rendered: Cli) -> None:
    patch(rendered, "traderx-base", V2)
    rendered.ok("upgrade", "--space", "*")
    values = rendered.config / "templates/values.yaml"
    values.write_text(values.read_text().replace("imageTag: v1", "imageTag: v1  # same"))
    rendered.ok("render")
    assert container(rendered, "traderx-base")["image"] == "traderx/trade-service:v2"
    assert container(rendered, "traderx-prod-eu")["image"] == "traderx/trade-service:v2"
    assert rendered("render", "--check").code == 0


def test_hand_edit_survives_render_and_shows_in_overrides(rendered: Cli) -> None:
    path = rendered.repo / "spaces/traderx-prod-eu/trade-service.yaml"
    path.write_text(path.read_text().replace("replicas: 5", "replicas: 7  # hand edit"))
    rendered.git("commit", "-qam", "eu needs 7")
    values = rendered.config / "templates/values.yaml"
    values.write_text(values.read_text().replace("imageTag: v1", "imageTag: v3"))
    rendered.ok("render")
    text = path.read_text()
    assert "replicas: 7  # hand edit" in text and "image: traderx/trade-service:v3" in text
    rows = json.loads(rendered.ok("overrides", "--space", "traderx-prod-eu", "-o", "json").out)
    assert rows == [{"space": "traderx-prod-eu", "unit": "trade-service", "field": "spec.replicas",
                     "generated": 5, "local": 7}]
    assert (rendered.repo / ".gitops/origins/traderx-prod-eu/trade-service.yaml").exists()


def test_base_replicas_under_a_region_value_conflict(rendered: Cli) -> None:
    patch(rendered, "traderx-base", {"spec": {"replicas": 4}})
    result = rendered.ok("upgrade", "--space", "traderx-prod-*", "-o", "json")
    conflicts = {c["unit"]: c for c in json.loads(result.out)["conflicts"]}
    assert conflicts["traderx-prod-eu/trade-service"] == {
        "unit": "traderx-prod-eu/trade-service", "field": "spec.replicas",
        "origin": 1, "upstream": 4, "local": 5, "kept": "local"}
    assert replicas(rendered) == {"traderx-prod-us": 3, "traderx-prod-eu": 5, "traderx-prod-asia": 2}
    assert "conflict traderx-prod-eu/trade-service: spec.replicas" in rendered.git("log", "-1", "--format=%B")
    patch(rendered, "traderx-base", {"spec": {"replicas": 6}})
    result = rendered.ok("upgrade", "--space", "traderx-prod-eu", "--prefer", "upstream", "-o", "json")
    assert json.loads(result.out)["conflicts"][0]["kept"] == "upstream"
    assert manifest(rendered, "traderx-prod-eu")["spec"]["replicas"] == 6
    rows = json.loads(rendered.ok("overrides", "--space", "traderx-prod-eu", "-o", "json").out)
    assert {"space": "traderx-prod-eu", "unit": "trade-service", "field": "spec.replicas",
            "generated": 5, "local": 6} in rows


def test_conflict_on_a_field_upstream_really_changes(rendered: Cli) -> None:
    patch(rendered, "traderx-prod-eu", {"spec": {"template": {"spec": {"containers": [
        {"name": "trade-service", "image": "traderx/trade-service:v1-eu-hotfix"}]}}}})
    patch(rendered, "traderx-base", V2)
    result = rendered.ok("upgrade", "--space", "traderx-prod-*")
    assert "traderx-prod-eu/trade-service" in result.out and "KEPT" in result.out
    assert container(rendered, "traderx-prod-eu")["image"] == "traderx/trade-service:v1-eu-hotfix"
    message = rendered.git("log", "-1", "--format=%B")
    assert 'conflict traderx-prod-eu/trade-service: spec.template.spec.containers[trade-service].image' in message
    patch(rendered, "traderx-base", {"spec": {"template": {"spec": {"containers": [
        {"name": "trade-service", "image": "traderx/trade-service:v3"}]}}}})
    result = rendered.ok("upgrade", "--space", "traderx-prod-eu", "--prefer", "upstream", "-o", "json")
    assert json.loads(result.out)["conflicts"][0]["kept"] == "upstream"
    assert container(rendered, "traderx-prod-eu")["image"] == "traderx/trade-service:v3"


def test_stage7_emergency_fix_travels_sideways(rendered: Cli) -> None:
    patch(rendered, "traderx-prod-eu", CIRCUIT_BREAKER)
    rendered.ok("unit", "update", "trade-service", "--space", "traderx-prod-asia",
                "--merge-unit", "traderx-prod-eu/trade-service")
    assert env(rendered, "traderx-prod-asia")["CIRCUIT_BREAKER"] == "true"
    assert env(rendered, "traderx-prod-asia")["MARKET_REGION"] != env(rendered, "traderx-prod-eu")["MARKET_REGION"]
    rendered.ok("promote", "--from", "traderx-prod-eu", "--to", "traderx-prod-us", "--unit", "trade-service")
    assert env(rendered, "traderx-prod-us")["CIRCUIT_BREAKER"] == "true"
    assert replicas(rendered) == {"traderx-prod-us": 3, "traderx-prod-eu": 5, "traderx-prod-asia": 2}
    assert manifest(rendered, "traderx-prod-asia")["metadata"]["namespace"] == "traderx-prod-asia"
    # backfill the base, then every region upgrades without a conflict
    rendered.ok("unit", "update", "trade-service", "--space", "traderx-base",
                "--merge-unit", "traderx-prod-eu/trade-service")
    assert env(rendered, "traderx-base")["CIRCUIT_BREAKER"] == "true"
    result = rendered.ok("upgrade", "--space", "*", "-o", "json")
    assert json.loads(result.out)["conflicts"] == []
    for space in (*PROD, "traderx-dev", "traderx-staging"):
        assert env(rendered, space)["CIRCUIT_BREAKER"] == "true"
    assert replicas(rendered) == {"traderx-prod-us": 3, "traderx-prod-eu": 5, "traderx-prod-asia": 2}
    # the regions no longer differ from what they are generated as
    assert rendered.ok("overrides", "--space", "traderx-prod-asia", "-o", "json").out.strip() == "[]"


def test_space_create_clones_linked_units_and_upgrades_follow(rendered: Cli) -> None:
    rendered.ok("space", "create", "traderx-prod-ca", "--upstream", "traderx-prod-us",
                "--label", "environment=prod", "--label", "region=ca")
    ca = manifest(rendered, "traderx-prod-ca")
    assert ca["metadata"]["namespace"] == "traderx-prod-ca" and ca["spec"]["replicas"] == 3
    got = json.loads(rendered.ok("unit", "get", "trade-service", "--space", "traderx-prod-ca", "-o", "json").out)
    assert got["upstream"] == "traderx-prod-us/trade-service"
    patch(rendered, "traderx-base", V2)
    rendered.ok("upgrade", "--space", "*")  # base -> us -> ca, upstreams first, one commit
    assert container(rendered, "traderx-prod-ca")["image"] == "traderx/trade-service:v2"
    rendered.ok("render")  # render upgrades spaces made by hand too, and changes nothing here
    assert rendered("render", "--check").code == 0


def test_unit_create_from_upstream_and_from_file(rendered: Cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rendered.ok("space", "create", "traderx-sandbox", "--label", "environment=dev")
    rendered.ok("unit", "create", "web-gui", "--space", "traderx-sandbox",
                "--upstream-space", "traderx-dev")
    assert manifest(rendered, "traderx-sandbox", "web-gui")["metadata"]["name"] == "web-gui"
    config = tmp_path / "cm.yaml"
    config.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flags\ndata:\n  a: '1'\n")
    rendered.ok("unit", "create", "flags", "--space", "traderx-sandbox", "--file", str(config))
    assert manifest(rendered, "traderx-sandbox", "flags")["data"] == {"a": "1"}
    result = rendered("unit", "delete", "trade-service", "--space", "traderx-base")
    assert result.code == 1 and "is the upstream of" in result.err
    rendered.ok("unit", "delete", "flags", "--space", "traderx-sandbox")
    assert not (rendered.repo / "spaces/traderx-sandbox/flags.yaml").exists()


def test_patch_keeps_comments_and_is_one_commit_with_a_reason(rendered: Cli) -> None:
    path = rendered.repo / "spaces/traderx-base/trade-service.yaml"
    assert "# Trade service" in path.read_text()
    before = commits(rendered)
    patch(rendered, "traderx-base", V2, "--reason", "quantum rollout")
    assert commits(rendered) == before + 1
    assert "# Trade service" in path.read_text()
    assert "Gitops-Reason: quantum rollout" in rendered.git("log", "-1", "--format=%B")
    assert rendered.git("show", "--name-only", "--format=", "HEAD").split() == [
        ".gitops/origins/traderx-base/trade-service.yaml", "spaces/traderx-base/trade-service.yaml"]


def test_patch_from_stdin_yaml(rendered: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("spec:\n  replicas: 9\n"))
    rendered.ok("unit", "update", "trade-service", "--space", "traderx-dev", "--patch", "-")
    assert manifest(rendered, "traderx-dev")["spec"]["replicas"] == 9


def test_bad_patch_and_invalid_result_change_nothing(rendered: Cli) -> None:
    before = snapshot(rendered.repo)
    for bad in ("{not json", '["a list"]', '{"spec": {"replicas": "three"}}'):
        result = rendered("unit", "update", "trade-service", "--space", "traderx-dev", "--patch", bad)
        assert result.code == 1, bad
        assert "Traceback" not in result.err
    assert snapshot(rendered.repo) == before


def test_missing_upstream_and_cycles_are_clear_errors(rendered: Cli) -> None:
    record = rendered.repo / ".gitops/spaces/traderx-prod-eu.json"
    text = record.read_text()
    record.write_text(text.replace('"upstream": "traderx-base/trade-service"',
                                   '"upstream": "traderx-base/no-such-unit"'))
    rendered.git("commit", "-qam", "break the link")
    # An upstream that is gone: the unedited unit goes with it, and the output says so.
    result = rendered.ok("upgrade", "--space", "traderx-prod-eu")
    assert "removed traderx-prod-eu/trade-service: traderx-base/no-such-unit was deleted" in result.err
    assert not (rendered.repo / "spaces/traderx-prod-eu/trade-service.yaml").exists()
    assert "removed traderx-prod-eu/trade-service" in rendered.git("log", "-1", "--format=%B")
    rendered.git("revert", "--no-edit", "HEAD")
    record.write_text(text)
    rendered.git("commit", "-qam", "restore")
    rendered.ok("space", "create", "loop-a", "--upstream", "traderx-dev")
    rendered.ok("space", "create", "loop-b", "--upstream", "loop-a")
    a = rendered.repo / ".gitops/spaces/loop-a.json"
    a.write_text(a.read_text().replace('"upstream": "traderx-dev/', '"upstream": "loop-b/'))
    rendered.git("commit", "-qam", "make a cycle")
    result = rendered("upgrade", "--space", "*")
    assert result.code == 1 and "upstream cycle: loop-a -> loop-b -> loop-a" in result.err
