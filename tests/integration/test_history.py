"""Revision history, rollback and the audit trail, read back from real commits through the CLI."""

from __future__ import annotations

import json
import subprocess

import yaml

from tests.conftest import Cli, snapshot

EU = "traderx-prod-eu"


def manifest(cli: Cli, unit: str = "trade-service", space: str = EU) -> dict:
    return yaml.safe_load((cli.repo / f"spaces/{space}/{unit}.yaml").read_text())


def env(cli: Cli, space: str = EU) -> dict[str, str]:
    container = manifest(cli, space=space)["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in container["env"]}


def history(cli: Cli, unit: str = "trade-service", space: str = EU) -> list[dict]:
    return json.loads(cli.ok("history", unit, "--space", space, "-o", "json").out)  # type: ignore[no-any-return]


def commits(cli: Cli) -> list[str]:
    return cli.git("rev-list", "HEAD").split()


def stages_4_to_7(cli: Cli) -> None:
    """The MicroTraderX walk-through from push-upgrade to the emergency bypass."""
    values = cli.config / "templates" / "values.yaml"  # 4: push-upgrade from the base
    values.write_text(values.read_text().replace("imageTag: v1", "imageTag: v2"))
    cli.ok("render", "--reason", "release v2")
    cli.ok("run", "set-env-var", "--container-name", "trade-service",  # 5: find and fix
           "--env-var", "ORDER_TIMEOUT_MS=3000", "--space", "traderx-prod-*",
           "--where", "spec.replicas > 2", "--reason", "timeouts under load")
    cli.ok("changeset", "create", "risk-limits", "--reason", "new risk limits")  # 6: atomic
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "trade-service", "env": [
        {"name": "RISK_LIMIT", "value": "100"}]}]}}}}
    cli.ok("unit", "update", "trade-service", "--space", EU, "--patch", json.dumps(patch),
           "--changeset", "risk-limits")
    cli.ok("changeset", "apply", "risk-limits")
    breaker = {"spec": {"template": {"spec": {"containers": [{"name": "trade-service", "env": [
        {"name": "CIRCUIT_BREAKER", "value": "true"}]}]}}}}
    cli.ok("unit", "update", "trade-service", "--space", EU, "--patch", json.dumps(breaker),  # 7
           "--reason", "INC-4711 runaway orders", "--author", "Sam Oncall <sam@example.com>")
    cli.ok("promote", "--from", EU, "--to", "traderx-prod-asia", "--unit", "trade-service",
           "--reason", "INC-4711 in asia too")


def test_history_after_stages_4_to_7(rendered: Cli) -> None:
    stages_4_to_7(rendered)
    revisions = history(rendered)
    assert [r["revision"] for r in revisions] == [5, 4, 3, 2, 1]
    assert [r["operation"] for r in revisions] == ["patch", "changeset", "set-env-var", "render", "render"]
    assert revisions[0]["author"] == "Sam Oncall <sam@example.com>"
    assert revisions[0]["reason"] == "INC-4711 runaway orders"
    assert revisions[1]["changeset"] == "risk-limits"
    assert revisions[3]["reason"] == "release v2"
    assert revisions[4]["commit"] == commits(rendered)[-1]  # revision 1 created it
    asia = history(rendered, space="traderx-prod-asia")
    assert [r["operation"] for r in asia] == ["promote", "render", "render"]  # 2 < replicas there
    table = rendered.ok("history", "trade-service", "--space", EU).out
    assert "REV" in table and "set-env-var" in table
    unit = json.loads(rendered.ok("unit", "get", "trade-service", "--space", EU, "-o", "json").out)
    assert unit["revision"] == 5


def test_rollback_of_a_bad_set_replicas(rendered: Cli) -> None:
    rendered.ok("run", "set-replicas", "--replicas", "1", "--space", EU, "--unit", "trade-service",
                "--reason", "cost cut")
    assert manifest(rendered)["spec"]["replicas"] == 1
    before = commits(rendered)
    dry = rendered.ok("rollback", "trade-service", "--space", EU, "--revision", "-1", "--dry-run")
    assert "-  replicas: 1" in dry.out and "+  replicas: 5" in dry.out
    assert commits(rendered) == before
    rendered.ok("rollback", "trade-service", "--space", EU, "--revision", "-1", "--reason", "too few")
    assert manifest(rendered)["spec"]["replicas"] == 5
    after = commits(rendered)
    assert after[1:] == before  # a new commit; history is not rewritten
    message = rendered.git("log", "-1", "--format=%B")
    assert message.splitlines()[0] == f"rollback {EU}/trade-service to revision 1"
    assert "Gitops-Operation: rollback" in message and "Gitops-Reason: too few" in message
    assert f"Gitops-Restored-From: {before[-1]} (revision 1 of {EU}/trade-service; current was 2)" in message
    assert [r["operation"] for r in history(rendered)] == ["rollback", "set-replicas", "render"]
    # back to what it is generated as: no local edit left behind
    assert rendered.ok("overrides", "--space", EU, "-o", "json").out.strip() == "[]"
    assert rendered.git("status", "--porcelain") == ""
    # rolling forward again is a rollback to revision 2
    rendered.ok("rollback", "trade-service", "--space", EU, "--revision", "2")
    assert manifest(rendered)["spec"]["replicas"] == 1


def test_a_rolled_back_unit_keeps_its_content_through_render(rendered: Cli) -> None:
    values = rendered.config / "templates" / "values.yaml"
    values.write_text(values.read_text().replace("imageTag: v1", "imageTag: v2"))
    rendered.ok("render")
    rendered.ok("rollback", "trade-service", "--space", EU, "--revision", "1", "--reason", "v2 broke eu")
    assert manifest(rendered)["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v1")
    rows = json.loads(rendered.ok("overrides", "--space", EU, "-o", "json").out)
    assert [r["field"] for r in rows] == ["spec.template.spec.containers[trade-service].image"]
    rendered.ok("render")
    assert manifest(rendered)["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v1")
    assert rendered("render", "--check").code == 0


def test_rollback_errors_change_nothing(rendered: Cli) -> None:
    before = snapshot(rendered.repo)
    for args, words in [
        (("rollback", "trade-service", "--space", EU, "--revision", "7"), "has no revision 7"),
        (("rollback", "trade-service", "--space", EU, "--revision", "-1"), "has no revision -1"),
        (("rollback", "nope", "--space", EU, "--revision", "1"), "unit 'nope' not found"),
        (("rollback", "trade-service", "--space", "traderx-nope", "--revision", "1"), "not found"),
        (("rollback", "--space", EU, "--to", "deadbeef"), "is not a commit"),
        (("rollback", "../x", "--space", EU, "--revision", "1"), "invalid unit name"),
    ]:
        result = rendered(*args)
        assert result.code == 1, (args, result.err)
        assert words in result.err and "Traceback" not in result.err, result.err
    assert rendered("rollback", "trade-service", "--space", EU).code == 2  # usage: no --revision
    assert rendered("rollback", "trade-service", "--space", EU, "--revision", "1").code == 0
    assert snapshot(rendered.repo) == before  # already at revision 1: no commit


def test_rollback_a_whole_space_to_a_commit(rendered: Cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = commits(rendered)[0]
    rendered.ok("run", "set-replicas", "--replicas", "9", "--space", EU, "--where", "spec.replicas > 0")
    rendered.ok("run", "set-env-var", "--container-name", "web-gui", "--env-var", "THEME=dark",
                "--space", EU, "--unit", "web-gui")
    new_unit = tmp_path / "cm.yaml"
    new_unit.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: traderx-prod-eu\ndata:\n  a: b\n")
    rendered.ok("unit", "create", "extra", "--space", EU, "--file", str(new_unit))
    rendered.ok("unit", "delete", "ingress", "--space", EU)
    rendered.ok("run", "set-replicas", "--replicas", "4", "--space", "traderx-prod-us", "--unit", "trade-service")
    rendered.ok("rollback", "--space", EU, "--to", first[:12], "--reason", "back to the release")
    assert manifest(rendered)["spec"]["replicas"] == 5
    assert "THEME" not in json.dumps(manifest(rendered, "web-gui"))
    assert not (rendered.repo / f"spaces/{EU}/extra.yaml").exists()
    assert (rendered.repo / f"spaces/{EU}/ingress.yaml").exists()
    units = json.loads(rendered.ok("space", "get", EU, "-o", "json").out)["units"]
    assert "ingress" in units and "extra" not in units
    assert manifest(rendered, space="traderx-prod-us")["spec"]["replicas"] == 4  # other spaces stay
    for path in rendered.git("ls-files", f"spaces/{EU}").split():
        assert rendered.git("show", f"{first}:{path}") == (rendered.repo / path).read_text()
    assert rendered.ok("overrides", "--space", EU, "-o", "json").out.strip() == "[]"
    assert rendered("render", "--check").code == 0
    message = rendered.git("log", "-1", "--format=%B")
    assert f"Gitops-Restored-From: {first} (space {EU})" in message


def test_audit_reads_who_what_and_why_from_trailers(rendered: Cli) -> None:
    stages_4_to_7(rendered)
    rows = json.loads(rendered.ok("audit", "-o", "json").out)
    assert len(rows) == len(commits(rendered))
    assert [r["operation"] for r in rows[:5]] == ["promote", "patch", "changeset", "set-env-var", "render"]
    promote, patch, changeset, fix, render = rows[:5]
    assert promote["units"] == ["traderx-prod-asia/trade-service"]
    assert promote["reason"] == "INC-4711 in asia too"
    assert patch["author"] == "Sam Oncall <sam@example.com>"
    assert fix["reason"] == "timeouts under load"
    assert set(fix["spaces"]) == {EU, "traderx-prod-us"}  # prod with more than 2 replicas
    assert changeset["changeset"] == "risk-limits" and changeset["reason"] == "new risk limits"
    assert render["author"] == "Ada Operator <ada@example.com>" and render["reason"] == "release v2"
    for row in rows:
        assert row["time"] and row["commit"] and row["message"]

    def ops(*args: str) -> list[str]:
        return [r["operation"] for r in json.loads(rendered.ok("audit", *args, "-o", "json").out)]

    assert ops("--space", "traderx-prod-asia") == ["promote", "render", "render"]
    assert ops("--unit", f"{EU}/trade-service") == ["patch", "changeset", "set-env-var", "render", "render"]
    assert ops("--author", "sam@") == ["patch"]
    assert ops("--since", "1 hour ago")[:2] == ["promote", "patch"]
    assert ops("--since", "2999-01-01") == []
    bad = rendered("audit", "--since", "last blue moon")
    assert bad.code == 1 and "--since 'last blue moon' is not a date" in bad.err
    # a commit made by hand is in the trail too, with the units its files name
    (rendered.repo / f"spaces/{EU}/web-gui.yaml").write_text(
        (rendered.repo / f"spaces/{EU}/web-gui.yaml").read_text().replace("replicas: 2", "replicas: 3"))
    rendered.git("commit", "-qam", "hand edit")
    first = json.loads(rendered.ok("audit", "-o", "json").out)[0]
    assert first["operation"] == "git" and first["units"] == [f"{EU}/web-gui"]
    table = rendered.ok("audit").out
    assert "OPERATION" in table and "INC-4711" in table


def test_history_is_git_history(rendered: Cli) -> None:
    """`git log` tells the same story: the trailers are plain git trailers."""
    rendered.ok("run", "set-replicas", "--replicas", "2", "--space", EU, "--unit", "trade-service",
                "--reason", "cost")
    out = subprocess.run(["git", "-C", str(rendered.repo), "log", "-1",
                          "--format=%(trailers:key=Gitops-Operation,valueonly)%(trailers:key=Gitops-Reason,valueonly)"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["set-replicas", "cost"]
