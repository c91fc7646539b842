"""A fleet-wide `run`, and `unit list` without a clause, list units and read their states without
building spaces: what those quick reads answer must be what the built spaces say, a space edited by hand included (its
files then disagree with its record, and the built space is what counts)."""

from __future__ import annotations

import json

import pytest

from generator.model import UnitRef
from generator.operations import select
from generator.operations.fleet import Fleet
from generator.store import Store
from tests.conftest import Cli

EU = "traderx-prod-eu"


def edit_by_hand(cli: Cli) -> tuple[str, str]:
    """Delete one unit of EU and add one, in a commit: (deleted, added)."""
    units = json.loads(cli.ok("unit", "list", "--space", EU, "-o", "json").out)
    deleted = next(u["unit"] for u in units if u["unit"] != "web-gui")
    (cli.repo / f"spaces/{EU}/{deleted}.yaml").unlink()
    (cli.repo / f"spaces/{EU}/by-hand.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: by-hand\n"
        f"  namespace: {EU}\ndata:\n  a: b\n")
    cli.git("add", "-A")
    cli.git("commit", "-q", "-m", "by hand")
    return deleted, "by-hand"


def test_quick_reads_equal_the_built_spaces(rendered: Cli) -> None:
    deleted, added = edit_by_hand(rendered)
    store = Store.open(rendered.repo)
    try:
        quick, built = Fleet.load(store), Fleet.load(store)
        for pattern, unit in (("*", None), ("traderx-prod-*", None), ("*", "web-gui"), (EU, added),
                              ("*", "no-such-unit")):
            by_space = select.evaluate(built, built.match_names(pattern), unit, None)  # spaces built
            assert quick.refs(pattern, unit) == [f.ref for f in by_space]
            assert select.find(Fleet.load(store), pattern, unit) == by_space  # labels, upstream too
        refs = quick.refs("*")
        assert UnitRef(EU, added) in refs and UnitRef(EU, deleted) not in refs
        fresh = Fleet.load(store)  # states read one by one, before any space is built
        for ref in refs:
            assert fresh.spaces.unit(ref.space, ref.unit) == built.space(ref.space).units[ref.unit]
        assert fresh.spaces.unit(EU, added).local
    finally:
        store.close()


def test_a_damaged_unit_in_a_record_is_an_error_naming_it(rendered: Cli) -> None:
    path = rendered.repo / f".gitops/spaces/{EU}.json"
    record = json.loads(path.read_text())
    record["units"]["web-gui"] = {"labels": {}}  # no origin, no fingerprint
    path.write_text(json.dumps(record, indent=2) + "\n")
    rendered.git("commit", "-q", "-am", "a damaged unit")
    result = rendered("run", "set-image-reference", "--container-name", "web-gui",
                      "--image-reference", ":v9", "--space", "*")
    assert result.code != 0 and f".gitops/spaces/{EU}.json" in result.err
    assert "damaged space record" in result.err and "Traceback" not in result.err


def test_run_over_a_space_edited_by_hand_changes_its_units_as_they_are(rendered: Cli) -> None:
    edit_by_hand(rendered)
    rendered.ok("run", "set-image-reference", "--container-name", "web-gui", "--image-reference", ":v9",
                "--space", "*")
    assert ":v9" in (rendered.repo / f"spaces/{EU}/web-gui.yaml").read_text()
    changed = rendered.git("show", "--name-only", "--format=", "HEAD").split()
    assert f"spaces/{EU}/web-gui.yaml" in changed and f".gitops/origins/{EU}/web-gui.yaml" in changed
    assert not any(path.startswith(".gitops/spaces/") for path in changed)  # no record rewritten


def test_units_read_at_once_are_the_committed_texts_whatever_the_work_tree_has(rendered: Cli) -> None:
    store = Store.open(rendered.repo)
    try:
        refs = Fleet.load(store).refs(EU)[:3]
        paths = [rendered.repo / f"spaces/{ref.space}/{ref.unit}.yaml" for ref in refs]
        committed = [path.read_text() for path in paths]
        paths[0].write_text(committed[0] + "# edited, not committed\n")
        paths[1].write_bytes(committed[1].replace("\n", "\r\n").encode())
        paths[2].unlink()
        fleet = Fleet.load(store)
        fleet.read(refs)
        assert [fleet.text(ref) for ref in refs] == committed
        view = Fleet.load(store.view(store.head() or ""))  # another commit: git alone
        view.read(refs)
        assert [view.text(ref) for ref in refs] == committed
    finally:
        store.close()


def test_a_listing_without_a_clause_builds_no_space(rendered: Cli) -> None:
    store = Store.open(rendered.repo)
    try:
        fleet = Fleet.load(store)
        rows = select.list_units(fleet, "traderx-prod-*")
        assert rows and {row["space"] for row in rows} == {"traderx-prod-us", "traderx-prod-eu", "traderx-prod-asia"}
        assert not fleet.spaces._built  # each unit's labels and upstream came from its record
    finally:
        store.close()


def test_a_few_spaces_are_listed_in_one_git_process(rendered: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    edit_by_hand(rendered)
    store, other = Store.open(rendered.repo), Store.open(rendered.repo)
    try:
        fleet = Fleet.load(store)
        listed: list[tuple[str, ...]] = []
        tree = store.tree

        def counted(*paths: str) -> dict[str, str]:
            listed.append(paths)
            return tree(*paths)

        monkeypatch.setattr(store, "tree", counted)
        spaces = fleet.match("traderx-prod-*")
        assert len(listed) == 1 and len(listed[0]) == 2 * len(spaces)  # units' and origins' folders
        one_by_one = Fleet.load(other)
        for space in spaces:
            assert fleet.blobs.files_of(space.name) == one_by_one.blobs.files_of(space.name)
            assert space == one_by_one.space(space.name)  # the hand-edited one read as edited too
        assert len(listed) == 1
    finally:
        store.close()
        other.close()
