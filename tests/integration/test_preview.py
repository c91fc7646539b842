"""`gitops render --dry-run`: what a render would do, for a reviewer; nothing written."""

from __future__ import annotations

import json

from tests.conftest import Cli, snapshot

EU = "traderx-prod-eu"


def dry(cli: Cli) -> dict:
    before = snapshot(cli.repo)
    result = cli.ok("render", "--dry-run", "-o", "json")
    assert snapshot(cli.repo) == before
    return json.loads(result.out)  # type: ignore[no-any-return]


def test_nothing_to_do(rendered: Cli) -> None:
    assert dry(rendered) == {"title": "render", "spaces": {}, "productionSpaces": [], "units": [],
                             "conflicts": [], "dangers": [], "findings": [], "overrides": []}
    assert "nothing would change" in rendered.ok("render", "--dry-run").err


def test_fields_and_danger_flags(rendered: Cli) -> None:
    eu = rendered.config / "regions" / "eu.yaml"
    eu.write_text(eu.read_text().replace("trade-service: 5", "trade-service: 0"))
    template = rendered.config / "templates" / "units" / "web-gui.yaml.j2"
    template.write_text(template.read_text().replace("{{- m.selector(svc) | indent(6) }}",
                                                     "{{- m.selector(svc) | indent(6) }}\n      tier: web", 1))
    (rendered.config / "templates" / "units" / "people-service-svc.yaml.j2").unlink()
    values = rendered.config / "templates" / "values.yaml"
    values.write_text("".join(line for line in values.read_text().splitlines(keepends=True)
                              if not line.startswith("  people-service-svc:")))
    report = dry(rendered)
    eu_units = {u["unit"]: u for u in report["units"] if u["space"] == EU}
    assert eu_units["trade-service"]["fields"] == [{"field": "spec.replicas", "before": 5, "after": 0}]
    flags = {(d["space"], d["unit"], d["flag"]) for d in report["dangers"]}
    assert (EU, "trade-service", "zero-replicas") in flags
    assert (EU, "web-gui", "immutable") in flags
    assert (EU, "people-service-svc", "prune") in flags
    assert eu_units["people-service-svc"]["change"] == "removed"
    assert report["spaces"][EU]["changed"] >= 2
    table = rendered.ok("render", "--dry-run")
    assert "zero-replicas" in table.out and "+  replicas: 0" in table.out


def test_conflicts_with_local_edits_are_shown_with_who_wins(rendered: Cli) -> None:
    rendered.ok("run", "set-image-reference", "--container-name", "trade-service", "--image-reference",
                ":hotfix", "--space", EU)
    values = rendered.config / "templates" / "values.yaml"
    values.write_text(values.read_text().replace("imageTag: v1", "imageTag: v2"))
    report = dry(rendered)
    mine = [c for c in report["conflicts"] if c["unit"] == f"{EU}/trade-service"]
    assert len(mine) == 1 and mine[0]["kept"] == "local" and mine[0]["field"].endswith(".image")
    assert mine[0]["local"].endswith(":hotfix") and mine[0]["upstream"].endswith(":v2")
