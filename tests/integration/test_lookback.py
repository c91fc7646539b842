"""Looking back: `gitops tree`, `gitops unit diff`, `gitops unit get --revision` and
`gitops show`, against real repos made by real commands (and by hand)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.conftest import Cli, snapshot

EU, US, ASIA, BASE = "traderx-prod-eu", "traderx-prod-us", "traderx-prod-asia", "traderx-base"
SECRET = "Sup3r-S3cret-Passw0rd-42"


def as_json(cli: Cli, *args: str) -> Any:
    return json.loads(cli.ok(*args, "-o", "json").out)


def head(cli: Cli, rev: str = "HEAD") -> str:
    return cli.git("rev-parse", rev).strip()


def hand_commit(cli: Cli, space: str, unit: str, old: str, new: str, message: str) -> None:
    """A commit made with git, not gitops: no trailers, no guard."""
    path = cli.repo / f"spaces/{space}/{unit}.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    cli.git("commit", "-qam", message)


def fails(cli: Cli, words: str, *args: str) -> None:
    """An error: exit 1, one error line (and its hint), no traceback, the repo unchanged."""
    before = snapshot(cli.repo)
    result = cli(*args)
    assert result.code == 1, (args, result.out, result.err)
    lines = result.err.strip().splitlines()
    assert lines[0].startswith("error: ") and words in lines[0], (args, result.err)
    assert len(lines) <= 2 and all(line.startswith(("error: ", "hint: ")) for line in lines), result.err
    assert "Traceback" not in result.err and result.out == ""
    assert snapshot(cli.repo) == before


@pytest.fixture
def edited(rendered: Cli, tmp_path: Any) -> Cli:
    """The example after a local edit in prod-eu, a clone in prod-us, a unit added in prod-eu
    and one deleted from prod-asia."""
    rendered.ok("run", "set-replicas", "--replicas", "7", "--space", EU, "--unit", "trade-service",
                "--reason", "load")
    rendered.ok("run", "set-env-var", "--container-name", "trade-service", "--env-var",
                "CIRCUIT_BREAKER=true", "--space", EU, "--unit", "trade-service")
    rendered.ok("unit", "create", "trade-service-green", "--space", US, "--upstream-space", BASE,
                "--upstream-unit", "trade-service")
    cm = tmp_path / "cm.yaml"
    cm.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: eu-hours\n  namespace: {EU}\n"
                  "data:\n  open: '08:00'\n")
    rendered.ok("unit", "create", "eu-hours", "--space", EU, "--file", str(cm))
    rendered.ok("unit", "delete", "ingress", "--space", ASIA)
    return rendered


def nodes(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of a tree, depth first."""
    return [tree] + [n for child in tree["children"] for n in nodes(child)]


# --- gitops tree -----------------------------------------------------------------------------


def test_tree_shows_the_hierarchy_with_local_edits_marked(edited: Cli) -> None:
    trees = as_json(edited, "tree")
    base_units = [u["unit"] for u in as_json(edited, "unit", "list", "--space", BASE)]
    roots = {t["unit"]: t for t in trees}
    assert set(roots) == set(base_units) | {"eu-hours"}  # one tree per unit that derives from nothing
    assert all(t["space"] == BASE for name, t in roots.items() if name != "eu-hours")

    trade = roots["trade-service"]
    assert trade == {**trade, "space": BASE, "upstream": None, "marker": None, "edits": 0}
    below = [(c["space"], c["unit"]) for c in trade["children"]]
    assert below[:2] == [("traderx-dev", "trade-service"), ("traderx-staging", "trade-service")]
    assert set(below[2:]) == {(ASIA, "trade-service"), (EU, "trade-service"), (US, "trade-service"),
                              (US, "trade-service-green")}  # the clone, under its upstream
    by_place = {(n["space"], n["unit"]): n for n in nodes(trade)}
    eu = by_place[(EU, "trade-service")]
    overrides = [r for r in as_json(edited, "overrides", "--space", EU) if r["unit"] == "trade-service"]
    assert eu["marker"] == "edited" and eu["edits"] == len(overrides) == 2
    assert eu["upstream"] == f"{BASE}/trade-service" and eu["children"] == []
    green = by_place[(US, "trade-service-green")]
    assert green["upstream"] == f"{BASE}/trade-service" and green["marker"] is None
    assert all(n["marker"] is None for key, n in by_place.items() if key != (EU, "trade-service"))

    assert roots["eu-hours"] == {"space": EU, "unit": "eu-hours", "upstream": None, "marker": "added",
                                 "edits": 0, "children": []}
    ingress = {n["space"]: n for n in nodes(roots["ingress"])}
    assert ingress[ASIA]["marker"] == "deleted" and ingress[ASIA]["upstream"] == f"{BASE}/ingress"
    assert ingress[EU]["marker"] is None

    table = edited.ok("tree", "--unit", "trade-service").out
    lines = table.splitlines()
    assert lines[0] == "trade-service" and lines[1].endswith(BASE)
    assert any(line.endswith(f"{EU}  [edited 2]") for line in lines), table
    assert any(line.endswith(f"{US}/trade-service-green") for line in lines), table
    assert lines[-1].startswith("legend: [edited N]")
    assert f"{ASIA}  [deleted]" in edited.ok("tree", "--unit", "ingress").out
    assert f"{EU}  [added]" in edited.ok("tree", "--unit", "eu-hours").out


def test_tree_filters_by_space_and_unit(edited: Cli) -> None:
    only = as_json(edited, "tree", "--unit", "trade-service-green")  # the tree that holds it
    assert [t["unit"] for t in only] == ["trade-service"]
    prod = as_json(edited, "tree", "--space", "traderx-prod-*", "--unit", "trade-service")
    assert len(prod) == 1 and prod[0]["space"] == BASE  # kept above them, for the path
    assert {c["space"] for c in prod[0]["children"]} == {ASIA, EU, US}
    dev = as_json(edited, "tree", "--space", "traderx-dev")
    assert "eu-hours" not in {t["unit"] for t in dev}
    assert all([c["space"] for c in t["children"]] == ["traderx-dev"] for t in dev)
    none = edited("tree", "--space", "traderx-dev", "--unit", "eu-hours")
    assert none.code == 0 and none.out == "" and "no unit 'eu-hours'" in none.err
    assert as_json(edited, "tree", "--space", "traderx-dev", "--unit", "eu-hours") == []
    fails(edited, "no space matches 'traderx-nope-*'", "tree", "--space", "traderx-nope-*")
    fails(edited, "no space has a unit 'nope'", "tree", "--unit", "nope")
    fails(edited, "space 'traderx-nope' not found", "tree", "--space", "traderx-nope")


# --- gitops unit diff ------------------------------------------------------------------------


def test_unit_diff_by_numbers_commits_and_defaults(edited: Cli) -> None:
    args = ("unit", "diff", "trade-service", "--space", EU)
    revisions = {r["revision"]: r["commit"] for r in as_json(edited, "history", "trade-service", "--space", EU)}
    assert sorted(revisions) == [1, 2, 3]

    newest = as_json(edited, *args)  # defaults: the newest revision, and the one before it
    assert newest["from"] == {"revision": 2, "commit": revisions[2], "exists": True}
    assert newest["to"] == {"revision": 3, "commit": revisions[3], "exists": True}
    assert newest["change"] == "changed"
    assert newest["fields"] == [{"field": "spec.template.spec.containers[trade-service].env[CIRCUIT_BREAKER].value",
                                 "before": "false", "after": "true"}]
    assert '-          value: "false"' in newest["diff"] and '+          value: "true"' in newest["diff"]

    first = as_json(edited, *args, "--from", "1", "--to", "2")
    assert first["fields"] == [{"field": "spec.replicas", "before": 5, "after": 7}]
    assert as_json(edited, *args, "--to", "2") == first  # --from: the revision before --to
    assert as_json(edited, *args, "--from", "-2", "--to", "-1") == first  # negative: back from the newest
    by_commit = as_json(edited, *args, "--from", revisions[1][:12], "--to", "HEAD~4")  # HEAD~4: set-replicas
    assert by_commit == {**first, "from": {**first["from"], "commit": revisions[1]}}
    whole = as_json(edited, *args, "--from", "1")
    assert {f["field"] for f in whole["fields"]} == {f["field"] for f in first["fields"] + newest["fields"]}

    created = as_json(edited, *args, "--to", "1")  # nothing before revision 1: the unit is added
    assert created["from"] is None and created["change"] == "added" and created["fields"] == []
    assert created["diff"].startswith("--- /dev/null")
    same = as_json(edited, *args, "--from", "3", "--to", "HEAD")
    assert same["change"] == "unchanged" and same["fields"] == [] and same["diff"] == ""

    table = edited.ok(*args, "--from", "1", "--to", "2").out
    lines = table.splitlines()
    assert lines[0] == f"{EU}/trade-service: revision 1 ({revisions[1][:10]}) → revision 2 ({revisions[2][:10]}): changed"
    assert lines[1] == "  spec.replicas: 5 → 7"
    assert "-  replicas: 5" in table and "+  replicas: 7" in table
    assert table.index("spec.replicas: 5 → 7") < table.index("@@")  # the summary, then the diff

    deleted = as_json(edited, "unit", "diff", "ingress", "--space", ASIA)  # a unit deleted since
    assert deleted["change"] == "removed" and deleted["to"]["exists"] is False


def test_unit_diff_errors(edited: Cli) -> None:
    args = ("unit", "diff", "trade-service", "--space", EU)
    fails(edited, "has no revision 9", *args, "--from", "9")
    fails(edited, "has no revision -3", *args, "--to", "-3")
    fails(edited, "has no revision 0", *args, "--from", "0")
    fails(edited, "'deadbeefcafe' is neither a revision number", *args, "--from", "deadbeefcafe")
    fails(edited, "'HEAD~99' is neither a revision number", *args, "--to", "HEAD~99")
    fails(edited, "unit 'nope' not found in space", "unit", "diff", "nope", "--space", EU)
    fails(edited, "space 'traderx-nope' not found", "unit", "diff", "trade-service", "--space", "traderx-nope")
    fails(edited, "invalid unit name", "unit", "diff", "../x", "--space", EU)
    result = edited(*args, "--from", "9")
    assert "hint: see `gitops history trade-service --space traderx-prod-eu`" in result.err
    first = edited.git("rev-list", "--max-parents=0", "HEAD").strip()
    fails(edited, "had no revision yet", "unit", "diff", "trade-service-green", "--space", US, "--to", first)


# --- gitops unit get --revision --------------------------------------------------------------


def test_unit_get_at_a_revision_is_the_file_at_that_commit(edited: Cli) -> None:
    path = f"spaces/{EU}/trade-service.yaml"
    revisions = {r["revision"]: r["commit"] for r in as_json(edited, "history", "trade-service", "--space", EU)}
    for rev, number in (("1", 1), ("2", 2), ("-1", 2), ("-2", 1), ("HEAD~4", 2), (revisions[1], 1)):
        text = edited.ok("unit", "get", "trade-service", "--space", EU, "--revision", rev).out
        assert text == edited.git("show", f"{revisions[number]}:{path}"), rev
        data = as_json(edited, "unit", "get", "trade-service", "--space", EU, "--revision", rev)
        assert set(data) == {"space", "unit", "labels", "upstream", "revision", "data"}
        assert data["revision"] == number and data["data"] == yaml.safe_load(text)
        assert data["upstream"] == f"{BASE}/trade-service" and data["labels"]["order"] == "5"
    now = as_json(edited, "unit", "get", "trade-service", "--space", EU)
    assert now["revision"] == 3 and now["data"]["spec"]["replicas"] == 7
    gone = edited.ok("unit", "get", "ingress", "--space", ASIA, "--revision", "1").out  # deleted since
    assert gone == edited.git("show", f"HEAD~1:spaces/{ASIA}/ingress.yaml")
    fails(edited, "revision 2 of traderx-prod-asia/ingress deleted it", "unit", "get", "ingress",
          "--space", ASIA, "--revision", "2")
    fails(edited, "has no revision 4", "unit", "get", "trade-service", "--space", EU, "--revision", "4")
    fails(edited, "is neither a revision number", "unit", "get", "trade-service", "--space", EU,
          "--revision", "no-such-tag")
    fails(edited, "did not exist at HEAD~3", "unit", "get", "trade-service-green", "--space", US,
          "--revision", "HEAD~3")


# --- gitops show -----------------------------------------------------------------------------


def test_show_a_render_commit_and_a_run_commit(edited: Cli) -> None:
    base_units = len(as_json(edited, "unit", "list", "--space", BASE))
    spaces = as_json(edited, "space", "list")
    first = edited.git("rev-list", "--max-parents=0", "HEAD").strip()
    render = as_json(edited, "show", first[:10])
    assert render["commit"] == first and render["parent"] is None and render["operation"] == "render"
    assert render["author"] == "Ada Operator <ada@example.com>"
    assert len(render["changes"]) == base_units * len(spaces)  # every unit of every space, added
    assert {c["change"] for c in render["changes"]} == {"added"}
    assert sorted(render["spaces"]) == sorted(s["space"] for s in spaces)

    run = as_json(edited, "show", "HEAD~4")
    assert run["operation"] == "set-replicas" and run["reason"] == "load"
    assert run["units"] == [f"{EU}/trade-service"] and run["spaces"] == [EU]
    assert run["parent"] == head(edited, "HEAD~5") and run["commit"] == head(edited, "HEAD~4")
    assert run["changes"] == [{"space": EU, "unit": "trade-service", "change": "changed",
                               "fields": [{"field": "spec.replicas", "before": 5, "after": 7}]}]
    table = edited.ok("show", "HEAD~4").out
    assert "operation: set-replicas" in table and "reason:    load" in table
    assert f"changed  {EU}/trade-service\n  spec.replicas: 5 → 7\n" in table

    newest = as_json(edited, "show")  # default: HEAD
    assert newest["commit"] == head(edited) and newest["operation"] == "unit-delete"
    assert newest["changes"] == [{"space": ASIA, "unit": "ingress", "change": "removed", "fields": []}]
    added = as_json(edited, "show", "HEAD~1")
    assert added["changes"] == [{"space": EU, "unit": "eu-hours", "change": "added", "fields": []}]


def test_show_a_hand_made_commit_masks_secrets(edited: Cli) -> None:
    hand_commit(edited, EU, "web-gui", "replicas: 2", "replicas: 3", "scale web-gui by hand")
    shown = as_json(edited, "show")
    assert shown["operation"] == "git" and shown["message"] == "scale web-gui by hand"
    assert shown["units"] == [f"{EU}/web-gui"] and shown["spaces"] == [EU]
    assert shown["reason"] is None and shown["changeset"] is None
    assert shown["changes"][0]["fields"] == [{"field": "spec.replicas", "before": 2, "after": 3}]

    # A password planted by hand (gitops itself would refuse to write it).
    hand_commit(edited, EU, "trade-service", "        - name: TRADING_ALGORITHM\n",
                f"        - name: DB_PASSWORD\n          value: {SECRET}\n        - name: TRADING_ALGORITHM\n",
                "add the db password")
    for args in (("show",), ("show", "-o", "json"), ("show", "-o", "yaml"),
                 ("unit", "diff", "trade-service", "--space", EU),
                 ("unit", "diff", "trade-service", "--space", EU, "-o", "json")):
        result = edited.ok(*args)
        assert SECRET not in result.out + result.err, args
        assert "masked" in result.out or "********" in result.out, args
    fields = as_json(edited, "show")["changes"][0]["fields"]
    assert fields == [{"field": "spec.template.spec.containers[trade-service].env[DB_PASSWORD]", "before": None,
                       "after": {"name": "DB_PASSWORD", "value": f"{len(SECRET)} characters, masked"}}]
    diff = as_json(edited, "unit", "diff", "trade-service", "--space", EU)["diff"]
    assert "+          value: ********" in diff


def test_show_errors(edited: Cli) -> None:
    fails(edited, "'nope' is not a commit", "show", "nope")
    fails(edited, "'HEAD~999' is not a commit", "show", "HEAD~999")
    fails(edited, "is not a commit", "show", "deadbeefcafe")
