"""Atomic changesets (MicroTraderX stage 6) through the CLI against real git repos: edits on
a branch of their own, main untouched until one apply commit, merged unit by unit when main
moved, stopped by a real conflict, equivalent to merging the branch as a pull request."""

from __future__ import annotations

import json
import shutil
import subprocess

import yaml

from tests.conftest import Cli, snapshot

US = "traderx-prod-us"
CS = "market-data-v2"


def image(cli: Cli, unit: str, space: str = US) -> str:
    data = yaml.safe_load((cli.repo / f"spaces/{space}/{unit}.yaml").read_text())
    return str(data["spec"]["template"]["spec"]["containers"][0]["image"])


def replicas(cli: Cli, unit: str = "trade-service", space: str = US) -> int:
    data = yaml.safe_load((cli.repo / f"spaces/{space}/{unit}.yaml").read_text())
    return int(data["spec"]["replicas"])


def head(cli: Cli, ref: str = "HEAD") -> str:
    return cli.git("rev-parse", ref).strip()


def set_image(cli: Cli, unit: str, tag: str, *extra: str) -> None:
    cli.ok("run", "set-image-reference", "--container-name", unit, "--image-reference", f":{tag}",
           "--space", US, "--unit", unit, *extra)


def open_market_data_v2(cli: Cli) -> None:
    """Stage 6: one changeset, two units, each updated on the changeset's branch."""
    cli.ok("changeset", "create", CS, "--reason", "market data v2 rollout")
    set_image(cli, "reference-data", "v2", "--changeset", CS)
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "trade-service", "image": "traderx/trade-service:v2"}]}}}}
    cli.ok("unit", "update", "trade-service", "--space", US, "--patch", json.dumps(patch),
           "--changeset", CS, "--reason", "trade-service reads market data v2")


def test_stage6_changeset_lands_as_one_commit(rendered: Cli) -> None:
    main, tree = head(rendered), snapshot(rendered.repo, work_tree_only=True)
    open_market_data_v2(rendered)
    assert head(rendered) == main  # main untouched, work tree too
    assert snapshot(rendered.repo, work_tree_only=True) == tree
    assert image(rendered, "trade-service") == "traderx/trade-service:v1"

    shown = json.loads(rendered.ok("changeset", "show", CS, "-o", "json").out)
    assert shown["units"] == [f"{US}/reference-data", f"{US}/trade-service"]
    assert shown["edits"] == 2 and shown["status"] == "open"
    assert shown["reason"] == "market data v2 rollout"
    assert "+        image: traderx/trade-service:v2" in shown["diff"]
    listed = json.loads(rendered.ok("changeset", "list", "-o", "json").out)
    assert [c["changeset"] for c in listed] == [CS]

    rendered.ok("changeset", "apply", CS)
    assert head(rendered, "HEAD^") == main  # exactly one commit on main
    changed = rendered.git("show", "--name-only", "--format=", "HEAD").split()
    assert sorted(p for p in changed if p.startswith("spaces/")) == [
        f"spaces/{US}/reference-data.yaml", f"spaces/{US}/trade-service.yaml"]
    assert all(p in (f".gitops/origins/{US}/reference-data.yaml", f".gitops/origins/{US}/trade-service.yaml")
               for p in changed if not p.startswith("spaces/"))
    message = rendered.git("log", "-1", "--format=%B")
    assert "Gitops-Operation: changeset" in message
    assert f"Gitops-Changeset: {CS}" in message
    assert "Gitops-Reason: market data v2 rollout" in message
    assert image(rendered, "trade-service") == "traderx/trade-service:v2"
    assert image(rendered, "reference-data") == "traderx/reference-data:v2"
    assert rendered.git("status", "--porcelain") == ""
    # the branch is closed; its edits stay reachable
    assert rendered.git("branch", "--list", f"changeset/{CS}") == ""
    assert rendered.git("rev-parse", f"refs/gitops/applied/{CS}").strip()
    assert json.loads(rendered.ok("changeset", "list", "-o", "json").out) == []
    # the next render keeps the changeset's edits (they are local edits of prod-us)
    rendered.ok("render")
    assert image(rendered, "trade-service") == "traderx/trade-service:v2"


def test_abort_leaves_main_byte_identical(rendered: Cli) -> None:
    open_market_data_v2(rendered)
    rendered.ok("changeset", "create", "experiment")
    set_image(rendered, "web-gui", "v9", "--changeset", "experiment")
    main, tree = head(rendered), snapshot(rendered.repo, work_tree_only=True)
    done = json.loads(rendered.ok("changeset", "abort", "experiment", "-o", "json").out)
    assert done["aborted"] is True
    assert head(rendered) == main
    assert snapshot(rendered.repo, work_tree_only=True) == tree
    assert rendered.git("branch", "--list", "changeset/experiment") == ""
    assert rendered.git("rev-parse", "refs/gitops/aborted/experiment").strip() == done["tip"]
    assert [c["changeset"] for c in json.loads(rendered.ok("changeset", "list", "-o", "json").out)] == [CS]
    failed = rendered("changeset", "apply", "experiment")
    assert failed.code == 1 and "not open" in failed.err


def test_apply_merges_unit_by_unit_when_main_moved(rendered: Cli) -> None:
    open_market_data_v2(rendered)
    rendered.ok("run", "set-replicas", "--replicas", "4", "--space", US, "--unit", "trade-service")
    moved = head(rendered)
    listed = json.loads(rendered.ok("changeset", "list", "-o", "json").out)
    assert listed[0]["status"] == "open, main moved"
    rendered.ok("changeset", "apply", CS)
    assert head(rendered, "HEAD^") == moved
    assert image(rendered, "trade-service") == "traderx/trade-service:v2"  # the changeset's edit
    assert replicas(rendered) == 4  # and main's, in the same unit
    text = (rendered.repo / f"spaces/{US}/trade-service.yaml").read_text()
    assert 'cpu: "2"' in text  # untouched values keep their look
    assert rendered.git("status", "--porcelain") == ""
    overrides = json.loads(rendered.ok("overrides", "--space", US, "-o", "json").out)
    assert {r["field"] for r in overrides if r["unit"] == "trade-service"} == {
        "spec.replicas", "spec.template.spec.containers[trade-service].image"}


def test_a_real_conflict_stops_apply_and_lands_nothing(rendered: Cli) -> None:
    open_market_data_v2(rendered)
    set_image(rendered, "trade-service", "v3")  # main: the same field, another value
    main, tree = head(rendered), snapshot(rendered.repo, work_tree_only=True)
    result = rendered("changeset", "apply", CS)
    assert result.code == 1
    assert "1 conflict" in result.err and "nothing was applied" in result.err
    assert "containers[trade-service].image" in result.out
    assert "Traceback" not in result.err
    assert head(rendered) == main
    assert snapshot(rendered.repo, work_tree_only=True) == tree
    assert rendered.git("branch", "--list", f"changeset/{CS}").strip()  # still open to fix
    as_json = json.loads(rendered("changeset", "apply", CS, "-o", "json").out)
    assert as_json["commit"] is None
    assert as_json["conflicts"][0]["field"] == "spec.template.spec.containers[trade-service].image"


def test_merging_the_branch_as_a_pull_request_equals_apply(rendered: Cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    open_market_data_v2(rendered)
    reviewed = Cli(rendered.config, tmp_path / "reviewed", rendered.capsys)
    shutil.copytree(rendered.repo, reviewed.repo)
    rendered.ok("changeset", "apply", CS)
    reviewed.git("merge", "--no-ff", "-m", "Merge pull request #6 from changeset/market-data-v2",
                 f"changeset/{CS}")
    assert head(reviewed, "HEAD^{tree}") == head(rendered, "HEAD^{tree}")
    assert json.loads(reviewed.ok("changeset", "list", "-o", "json").out)[0]["status"] == "merged"
    merged = head(reviewed)
    reviewed.ok("changeset", "apply", CS)  # nothing left to land: closes the branch only
    assert head(reviewed) == merged
    assert reviewed.git("branch", "--list", f"changeset/{CS}") == ""
    # history and audit see the edits made on the branch
    audit = json.loads(reviewed.ok("audit", "--unit", f"{US}/trade-service", "-o", "json").out)
    assert any(row["changeset"] == CS and row["operation"] == "patch" for row in audit)
    # and a merged changeset can be rolled back like an applied one
    reviewed.ok("rollback", "--changeset", CS)
    assert image(reviewed, "trade-service") == "traderx/trade-service:v1"


def test_rollback_of_an_applied_changeset_keeps_later_changes(rendered: Cli) -> None:
    open_market_data_v2(rendered)
    rendered.ok("changeset", "apply", CS)
    rendered.ok("run", "set-replicas", "--replicas", "6", "--space", US, "--unit", "trade-service")
    before = head(rendered)
    rendered.ok("rollback", "--changeset", CS, "--reason", "v2 misbehaves")
    assert head(rendered, "HEAD^") == before
    assert image(rendered, "trade-service") == "traderx/trade-service:v1"
    assert image(rendered, "reference-data") == "traderx/reference-data:v1"
    assert replicas(rendered) == 6  # made after the changeset: kept
    message = rendered.git("log", "-1", "--format=%B")
    assert "Gitops-Operation: rollback" in message and "Gitops-Reason: v2 misbehaves" in message
    assert "Gitops-Restored-From:" in message
    assert not (rendered.repo / f".gitops/origins/{US}/reference-data.yaml").exists()  # no edit left
    assert rendered.git("status", "--porcelain") == ""
    missing = rendered("rollback", "--changeset", "never-was")
    assert missing.code == 1 and "never applied" in missing.err


def test_use_makes_a_changeset_current_for_every_mutating_command(rendered: Cli) -> None:
    main = head(rendered)
    rendered.ok("changeset", "create", "tuning", "--use")
    rendered.ok("run", "set-replicas", "--replicas", "7", "--space", US, "--unit", "trade-service")
    values = rendered.config / "regions" / "eu.yaml"
    values.write_text(values.read_text().replace("trade-service: 5", "trade-service: 6"))
    rendered.ok("render")  # a config change, rendered into the changeset too
    assert head(rendered) == main
    listed = json.loads(rendered.ok("changeset", "list", "-o", "json").out)
    assert listed[0]["current"] is True and listed[0]["edits"] == 2
    assert "traderx-prod-eu/trade-service" in listed[0]["units"]
    rendered.ok("changeset", "apply", "tuning")
    assert replicas(rendered) == 7
    assert replicas(rendered, space="traderx-prod-eu") == 6
    # applying it made nothing current again: the next edit goes to main
    rendered.ok("run", "set-replicas", "--replicas", "8", "--space", US, "--unit", "trade-service")
    assert replicas(rendered) == 8


def test_changeset_errors_are_one_line_and_change_nothing(rendered: Cli) -> None:
    before = snapshot(rendered.repo)
    for args, words in [
        (("changeset", "show", "nope"), "changeset 'nope' is not open"),
        (("run", "set-replicas", "--replicas", "2", "--space", "*", "--changeset", "nope"), "not open"),
        (("changeset", "create", "../x"), "invalid changeset name"),
        (("changeset", "use", "nope"), "not open"),
        (("changeset", "abort", "nope"), "not open"),
    ]:
        result = rendered(*args)
        assert result.code == 1, args
        assert words in result.err and "Traceback" not in result.err
    assert snapshot(rendered.repo) == before
    rendered.ok("changeset", "create", "twice")
    again = rendered("changeset", "create", "twice")
    assert again.code == 1 and "already open" in again.err


def test_a_changeset_branch_is_a_normal_branch(rendered: Cli) -> None:
    open_market_data_v2(rendered)
    log = rendered.git("log", "--format=%s", f"main..changeset/{CS}").splitlines()
    assert log == [f"patch {US}/trade-service", "set-image-reference: 1 unit", f"changeset {CS}: opened"]
    done = subprocess.run(["git", "-C", str(rendered.repo), "fsck", "--full"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_checked_out_changeset_branch_is_refused(rendered: Cli) -> None:
    rendered.ok("changeset", "create", "here")
    rendered.git("checkout", "-q", "changeset/here")
    before = snapshot(rendered.repo)
    for args in (("changeset", "apply", "here"), ("changeset", "abort", "here"),
                 ("run", "set-replicas", "--replicas", "2", "--space", US, "--changeset", "here")):
        result = rendered(*args)
        assert result.code == 1 and "is the branch checked out" in result.err, args
    assert snapshot(rendered.repo) == before


def test_rollback_of_a_changeset_stops_on_a_later_conflicting_change(rendered: Cli) -> None:
    open_market_data_v2(rendered)
    rendered.ok("changeset", "apply", CS)
    set_image(rendered, "trade-service", "v3")  # later, the same field again
    main = head(rendered)
    result = rendered("rollback", "--changeset", CS)
    assert result.code == 1 and "nothing was changed" in result.err
    assert "containers[trade-service].image" in result.out
    assert head(rendered) == main
