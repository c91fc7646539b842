"""`gitops render --dry-run`: what a render would do, for a reviewer; nothing written."""

from __future__ import annotations

import json

from tests.conftest import EXAMPLE_UNITS, Cli, snapshot

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


# --- the pull-request comment, findings, first render, two commits --------------------------

MARKER = "<!-- gitops-preview -->"


def test_markdown_comment_and_full_report(rendered: Cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    eu = rendered.config / "regions" / "eu.yaml"
    eu.write_text(eu.read_text().replace("trade-service: 5", "trade-service: 6"))
    before = snapshot(rendered.repo)
    full = tmp_path / "full.md"
    comment = rendered.ok("render", "--dry-run", "-o", "markdown", "--full-report", str(full),
                          "--link", "https://ci.example/run/1").out
    assert snapshot(rendered.repo) == before
    assert comment.startswith(MARKER + "\n")
    assert f"| `{EU}` (production) | 0 | 1 | 0 |" in comment
    assert f"<details><summary><code>{EU}</code>: 1 changed</summary>" in comment
    assert "- `trade-service` changed: `spec.replicas` `5` → `6`" in comment
    assert "-  replicas: 5\n+  replicas: 6\n" in comment
    assert "Truncated" not in comment and "https://ci.example/run/1" in comment
    assert full.read_text().startswith(MARKER) and "replicas: 6" in full.read_text()


def test_a_secret_is_reported_masked_and_the_dry_run_fails(rendered: Cli) -> None:
    eu = rendered.config / "regions" / "eu.yaml"
    eu.write_text(eu.read_text().replace("    MARKET_REGION: EU\n",
                                         "    MARKET_REGION: EU\n    DB_PASSWORD: hunter2-hunter2\n"))
    before = snapshot(rendered.repo)
    for fmt in ("table", "json", "markdown"):
        result = rendered("render", "--dry-run", "-o", fmt)
        assert result.code == 1, result.err
        assert "hunter2" not in result.out + result.err
        assert "credential-env" in result.out and "15 characters, masked" in result.out
    report = json.loads(rendered("render", "--dry-run", "-o", "json").out)
    assert [(f["space"], f["unit"], f["rule"]) for f in report["findings"]] == \
        [(EU, "trade-service", "credential-env")]
    assert "render would refuse" in rendered("render", "--dry-run", "-o", "markdown").out
    assert snapshot(rendered.repo) == before


def test_a_schema_problem_is_reported_with_the_rest(rendered: Cli) -> None:
    eu = rendered.config / "regions" / "eu.yaml"
    eu.write_text(eu.read_text() + "  trade-service:\n    spec:\n      replicas: five\n")
    result = rendered("render", "--dry-run", "-o", "json")
    assert result.code == 1, result.err
    findings = json.loads(result.out)["findings"]
    assert [(f["space"], f["unit"], f["rule"]) for f in findings] == [(EU, "trade-service", "schema")]
    assert "replicas" in findings[0]["message"]


def test_a_hand_made_unit_with_a_secret_is_reported_too(rendered: Cli) -> None:
    """What render --check checks (units a person made) is in the dry run's findings."""
    path = rendered.repo / "spaces" / EU / "trade-service.yaml"
    path.write_text(path.read_text().replace("        - name: MARKET_REGION\n",
                                              "        - name: API_TOKEN\n          value: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n"
                                              "        - name: MARKET_REGION\n"))
    rendered.git("commit", "-qam", "by hand")
    result = rendered("render", "--dry-run", "-o", "json")
    assert result.code == 1 and "ghp_" not in result.out
    assert {(f["unit"], f["space"]) for f in json.loads(result.out)["findings"]} == {("trade-service", EU)}


def test_dry_run_of_a_first_render_creates_nothing(cli: Cli) -> None:
    assert not cli.repo.exists()
    report = json.loads(cli.ok("render", "--dry-run", "-o", "json").out)
    assert not cli.repo.exists()
    assert len(report["spaces"]) == 6 and all(c == {"added": EXAMPLE_UNITS, "changed": 0, "removed": 0}
                                              for c in report["spaces"].values())
    assert set(report["productionSpaces"]) == {"traderx-prod-us", "traderx-prod-eu", "traderx-prod-asia"}


def test_markdown_and_its_options_need_dry_run(rendered: Cli) -> None:
    before = snapshot(rendered.repo)
    result = rendered("render", "-o", "markdown")
    assert result.code == 2 and "--dry-run" in result.err
    assert snapshot(rendered.repo) == before


def test_preview_of_two_commits(rendered: Cli) -> None:
    main = rendered.git("rev-parse", "HEAD").strip()
    rendered.git("checkout", "-qb", "fix")
    path = rendered.repo / "spaces" / EU / "trade-service.yaml"
    path.write_text(path.read_text().replace("replicas: 5", "replicas: 0"))
    (rendered.repo / "spaces" / EU / "web-gui-svc.yaml").unlink()
    rendered.git("commit", "-qam", "by hand: scale down, drop a service")
    before = snapshot(rendered.repo)
    report = json.loads(rendered.ok("preview", "--base", main, "--head", "fix", "-o", "json").out)
    assert snapshot(rendered.repo) == before
    assert report["title"] == f"{main[:7]}..{rendered.git('rev-parse', 'fix').strip()[:7]}"
    changes = {(u["unit"], u["change"]) for u in report["units"]}
    assert changes == {("trade-service", "changed"), ("web-gui-svc", "removed")}
    assert {(d["unit"], d["flag"]) for d in report["dangers"]} == {("trade-service", "zero-replicas"),
                                                                   ("web-gui-svc", "prune")}
    # a hand-deleted file is a local deletion, as `gitops overrides` shows it
    assert [(o["unit"], o["field"], o["change"], o["after"]) for o in report["overrides"]] == \
        [("trade-service", "spec.replicas", "introduced", 0), ("web-gui-svc", "(unit)", "introduced", "deleted")]
    # the other way round, the override is removed; HEAD is the default --head
    rendered.git("checkout", "-q", "main")
    back = json.loads(rendered.ok("preview", "--base", "fix", "-o", "json").out)
    assert [(o["unit"], o["change"]) for o in back["overrides"]] == [("trade-service", "removed"),
                                                                     ("web-gui-svc", "removed")]
    comment = rendered.ok("preview", "--base", main, "--head", "fix", "-o", "markdown").out
    assert comment.startswith(MARKER) and "Local overrides made or undone" in comment


def test_preview_finds_a_secret_in_the_head_and_names_bad_revisions(rendered: Cli) -> None:
    rendered.git("checkout", "-qb", "leak")
    path = rendered.repo / "spaces" / EU / "trade-service.yaml"
    path.write_text(path.read_text().replace("        - name: MARKET_REGION\n",
                                              "        - name: DB_PASSWORD\n          value: hunter2-hunter2\n"
                                              "        - name: MARKET_REGION\n"))
    rendered.git("commit", "-qam", "leak")
    result = rendered("preview", "--base", "main", "--head", "leak")
    assert result.code == 1 and "hunter2" not in result.out + result.err
    assert "credential-env" in result.out
    bad = rendered("preview", "--base", "no-such-branch")
    assert bad.code == 1 and "--base no-such-branch: no such commit" in bad.err
    assert "Traceback" not in bad.err
