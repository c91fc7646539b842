"""Units added, deleted, cloned and renamed in a space (with gitops or with plain git) stay as the
operator left them through render and upgrade, through the CLI against real git repos."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import Cli, snapshot

EU = "traderx-prod-eu"
ASIA = "traderx-prod-asia"
US = "traderx-prod-us"
BASE = "traderx-base"
V2_IMAGE = {"spec": {"template": {"spec": {"containers": [{
    "name": "trade-service", "image": "traderx/trade-service:v2"}]}}}}
STAGE4 = {"spec": {"template": {"spec": {"containers": [{
    "name": "trade-service", "image": "traderx/trade-service:v2",
    "env": [{"name": "TRADING_ALGORITHM", "value": "quantum"},
            {"name": "TRADE_TIMEOUT", "value": "60s"}]}]}}}}


def path(cli: Cli, space: str, unit: str) -> Path:
    return cli.repo / f"spaces/{space}/{unit}.yaml"


def manifest(cli: Cli, space: str, unit: str = "trade-service") -> dict[str, Any]:
    return yaml.safe_load(path(cli, space, unit).read_text())  # type: ignore[no-any-return]


def record(cli: Cli, space: str) -> dict[str, Any]:
    return json.loads((cli.repo / f".gitops/spaces/{space}.json").read_text())  # type: ignore[no-any-return]


def head(cli: Cli) -> str:
    return cli.git("rev-parse", "HEAD").strip()


def overrides(cli: Cli, space: str) -> list[dict[str, Any]]:
    return json.loads(cli.ok("overrides", "--space", space, "-o", "json").out)  # type: ignore[no-any-return]


def has_row(rows: list[dict[str, Any]], unit: str, local: str) -> bool:
    return any(r["unit"] == unit and r["field"] == "(unit)" and r["local"] == local for r in rows)


def patch(cli: Cli, unit: str, space: str, body: dict[str, Any]) -> None:
    cli.ok("unit", "update", unit, "--space", space, "--patch", json.dumps(body))


def changed_lines(cli: Cli, space: str, unit: str) -> list[str]:
    """The +/- lines the last commit made to one manifest (without the ---/+++ headers)."""
    diff = cli.git("show", "--format=", "HEAD", "--", f"spaces/{space}/{unit}.yaml")
    return [line for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def configmap(name: str, namespace: str = EU) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": name, "namespace": namespace},
                           "data": {"open": "08:00", "close": "16:30"}}, sort_keys=False)


def healthy(cli: Cli) -> None:
    """Render --check is clean and a fleet-wide query still finds eu's 5 trade-service replicas."""
    cli.ok("render", "--check")
    rows = json.loads(cli.ok("unit", "list", "--space", "*", "--where",
                             "Data CONTAINS 'replicas: 5'", "-o", "json").out)
    assert any(r["space"] == EU and r["unit"] == "trade-service" for r in rows)


def test_a_created_unit_survives_render_and_upgrade(rendered: Cli, tmp_path: Path) -> None:
    """A unit made with `unit create --file` is kept byte-identical by render and upgrade."""
    cm = tmp_path / "cm.yaml"
    cm.write_text(configmap("eu-trading-hours"))
    rendered.ok("unit", "create", "eu-trading-hours", "--space", EU, "--file", str(cm))
    created = path(rendered, EU, "eu-trading-hours").read_bytes()
    before = head(rendered)
    rendered.ok("render")
    assert path(rendered, EU, "eu-trading-hours").read_bytes() == created
    assert head(rendered) == before
    rendered.ok("upgrade", "--space", "*")
    assert path(rendered, EU, "eu-trading-hours").read_bytes() == created
    assert has_row(overrides(rendered, EU), "eu-trading-hours", "added")
    healthy(rendered)


def test_a_deleted_unit_stays_deleted_until_restored(rendered: Cli) -> None:
    """`unit delete` survives render and upgrade; `unit create --restore` brings it back."""
    rendered.ok("unit", "delete", "web-gui-svc", "--space", ASIA)
    assert not path(rendered, ASIA, "web-gui-svc").exists()
    rendered.ok("render")
    assert not path(rendered, ASIA, "web-gui-svc").exists()
    rendered.ok("upgrade", "--space", "*")
    assert not path(rendered, ASIA, "web-gui-svc").exists()
    assert has_row(overrides(rendered, ASIA), "web-gui-svc", "deleted")
    healthy(rendered)
    rendered.ok("unit", "create", "web-gui-svc", "--space", ASIA, "--restore")
    assert path(rendered, ASIA, "web-gui-svc").exists()
    assert manifest(rendered, ASIA, "web-gui-svc")["metadata"]["namespace"] == ASIA
    healthy(rendered)


def test_a_unit_deleted_with_git_stays_deleted(rendered: Cli) -> None:
    """A manifest removed by `git rm` is read as a deletion: render records it, nothing more."""
    rendered.git("rm", "-q", f"spaces/{EU}/position-service-svc.yaml")
    rendered.git("commit", "-q", "-m", "drop the eu position-service Service")
    rendered.ok("unit", "list", "--space", "*", "--where", "Data CONTAINS 'replicas: 5'")
    before = head(rendered)
    rendered.ok("render")
    assert not path(rendered, EU, "position-service-svc").exists()
    assert head(rendered) != before
    stat = rendered.git("show", "--stat", "--format=", "HEAD")
    files = [line.split("|")[0].strip() for line in stat.splitlines() if "|" in line]
    assert files == [f".gitops/spaces/{EU}.json"]
    assert has_row(overrides(rendered, EU), "position-service-svc", "deleted")
    healthy(rendered)


def test_a_unit_added_with_git_is_adopted(rendered: Cli) -> None:
    """A manifest committed by hand is a unit: listed, recorded as local, left byte-identical."""
    extra = path(rendered, EU, "extra-cm")
    extra.write_text(configmap("extra-cm"))
    written = extra.read_bytes()
    rendered.git("add", f"spaces/{EU}/extra-cm.yaml")
    rendered.git("commit", "-q", "-m", "an extra ConfigMap")
    rows = json.loads(rendered.ok("unit", "list", "--space", EU, "-o", "json").out)
    assert "extra-cm" in {r["unit"] for r in rows}
    rendered.ok("render")
    line = next(line for line in (rendered.repo / f".gitops/spaces/{EU}.json").read_text().splitlines()
                if line.strip().startswith('"extra-cm"'))
    assert '"local": true' in line
    assert extra.read_bytes() == written
    healthy(rendered)


def test_a_clone_is_renamed_and_follows_its_upstream(rendered: Cli) -> None:
    """A clone under another name renames its object and selector, and still takes upgrades."""
    blue = path(rendered, US, "trade-service").read_bytes()
    rendered.ok("unit", "create", "trade-service-green", "--space", US,
                "--upstream-space", BASE, "--upstream-unit", "trade-service")
    green = manifest(rendered, US, "trade-service-green")
    assert green["metadata"]["name"] == "trade-service-green"
    assert green["metadata"]["labels"]["app.kubernetes.io/name"] == "trade-service-green"
    assert green["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "trade-service-green"
    assert green["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "trade-service-green"
    assert green["spec"]["template"]["spec"]["containers"][0]["name"] == "trade-service"
    assert path(rendered, US, "trade-service").read_bytes() == blue
    rendered.ok("render", "--check")
    patch(rendered, "trade-service", BASE, V2_IMAGE)
    rendered.ok("upgrade", "--space", "*")
    green = manifest(rendered, US, "trade-service-green")
    assert green["spec"]["template"]["spec"]["containers"][0]["image"] == "traderx/trade-service:v2"
    assert green["metadata"]["name"] == "trade-service-green"
    healthy(rendered)


def test_two_units_for_one_object_are_refused(rendered: Cli, tmp_path: Path) -> None:
    """Creating or renaming a unit into an object the space already has fails, changing nothing."""
    dup = tmp_path / "dup.yaml"
    dup.write_text(yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "trade-service", "namespace": EU},
        "spec": {"selector": {"matchLabels": {"app": "dup"}},
                 "template": {"metadata": {"labels": {"app": "dup"}},
                              "spec": {"containers": [{"name": "dup", "image": "busybox:1"}]}}}}))
    before = snapshot(rendered.repo)
    created = rendered("unit", "create", "dup", "--space", EU, "--file", str(dup))
    assert created.code == 1
    assert "same Kubernetes object" in created.err
    assert "Traceback" not in created.err
    assert snapshot(rendered.repo) == before
    renamed = rendered("unit", "update", "position-service", "--space", EU,
                       "--patch", '{"metadata":{"name":"trade-service"}}')
    assert renamed.code == 1
    assert "Traceback" not in renamed.err
    assert snapshot(rendered.repo) == before
    healthy(rendered)


def test_deleting_an_upstream_unit_cascades_but_keeps_edits(rendered: Cli) -> None:
    """`unit delete --cascade` in the base removes unedited copies and keeps the edited one."""
    patch(rendered, "web-gui-svc", EU, {"metadata": {"annotations": {"team": "eu"}}})
    refused = rendered("unit", "delete", "web-gui-svc", "--space", BASE)
    assert refused.code == 1
    assert "--cascade" in refused.err
    before = snapshot(rendered.repo)
    dry = json.loads(rendered.ok("unit", "delete", "web-gui-svc", "--space", BASE, "--cascade",
                                 "--dry-run", "-o", "json").out)
    assert {"unit": f"{EU}/web-gui-svc", "field": "(unit)"}.items() <= dry["conflicts"][0].items()
    assert snapshot(rendered.repo) == before
    result = rendered.ok("unit", "delete", "web-gui-svc", "--space", BASE, "--cascade")
    assert "removed traderx-dev/web-gui-svc" in result.err
    table = next(line for line in result.out.splitlines() if line.startswith(f"{EU}/web-gui-svc"))
    assert "(unit)" in table.split()
    for space in (BASE, "traderx-dev", "traderx-staging", US, ASIA):
        assert not path(rendered, space, "web-gui-svc").exists(), space
    assert manifest(rendered, EU, "web-gui-svc")["metadata"]["annotations"]["team"] == "eu"
    unit = record(rendered, EU)["units"]["web-gui-svc"]
    assert unit["upstream"] is None
    assert unit["local"] is True
    healthy(rendered)
    assert not path(rendered, BASE, "web-gui-svc").exists()


def test_edits_make_small_diffs_and_keep_comments(rendered: Cli) -> None:
    """Patch, upgrade, set-replicas and rollback touch only the lines they change."""
    patch(rendered, "trade-service", BASE, STAGE4)
    assert len(changed_lines(rendered, BASE, "trade-service")) <= 8
    rendered.ok("upgrade", "--space", "*")
    assert len(changed_lines(rendered, EU, "trade-service")) <= 8
    rendered.ok("run", "set-replicas", "--replicas", "7", "--space", US, "--unit", "trade-service")
    lines = changed_lines(rendered, US, "trade-service")
    assert sorted(line[0] for line in lines) == ["+", "-"], lines
    patch(rendered, "trade-service", BASE, {"spec": {"replicas": 2}})
    lines = changed_lines(rendered, BASE, "trade-service")
    assert sorted(line[0] for line in lines) == ["+", "-"], lines
    text = path(rendered, BASE, "trade-service").read_text()
    assert any(line.startswith("# Trade service") for line in text.splitlines())
    rendered.ok("rollback", "trade-service", "--space", BASE, "--revision", "1")
    assert len(changed_lines(rendered, BASE, "trade-service")) <= 8
    rendered.ok("upgrade", "--space", "*")  # a base change is stale downstream until carried
    healthy(rendered)


def test_a_template_removed_takes_unedited_copies_and_keeps_edited_ones(rendered: Cli) -> None:
    """A unit the config no longer defines goes where unedited and stays, reported, where edited."""
    patch(rendered, "web-gui-svc", EU, {"metadata": {"annotations": {"team": "eu"}}})
    values = rendered.config / "templates/values.yaml"
    values.write_text("\n".join(line for line in values.read_text().splitlines()
                                if not line.strip().startswith("web-gui-svc:")) + "\n")
    (rendered.config / "templates/units/web-gui-svc.yaml.j2").unlink()
    result = rendered.ok("render", "-o", "json")
    outcome = json.loads(result.out)
    assert [c["unit"] for c in outcome["conflicts"]] == [f"{EU}/web-gui-svc"]
    assert outcome["conflicts"][0]["field"] == "(unit)"
    assert f"removed {ASIA}/web-gui-svc" in " ".join(outcome["notes"])
    assert not path(rendered, BASE, "web-gui-svc").exists()
    assert not path(rendered, ASIA, "web-gui-svc").exists()
    assert manifest(rendered, EU, "web-gui-svc")["metadata"]["annotations"] == {"team": "eu"}
    kept = record(rendered, EU)["units"]["web-gui-svc"]
    assert kept["upstream"] is None and kept["local"] is True
    assert "conflict traderx-prod-eu/web-gui-svc" in rendered.git("log", "-1", "--format=%B")
    healthy(rendered)
