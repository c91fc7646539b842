"""`gitops run` reads and parses only the units that can change: git finds the units whose text
has what the function needs (Snapshot.containing), and their texts come in one read
(Snapshot.read_blobs, Fleet.read). Whatever the YAML style, a unit the function applies to is
never missed."""

from __future__ import annotations

import json

import yaml

from generator.model import UnitRef
from generator.operations.fleet import Fleet
from generator.store import Store
from tests.conftest import Cli


def commit_by_hand(cli: Cli, path: str, text: str) -> None:
    (cli.repo / path).write_text(text)
    cli.git("commit", "-q", "-am", f"by hand: {path}")


def test_a_unit_in_another_yaml_style_is_still_found(rendered: Cli) -> None:
    """A person rewrote prod-eu's web-gui as JSON (valid YAML, but no `name: web-gui` in it)."""
    path = "spaces/traderx-prod-eu/web-gui.yaml"
    data = yaml.safe_load((rendered.repo / path).read_text())
    commit_by_hand(rendered, path, json.dumps(data, indent=1) + "\n")
    out = rendered.ok("run", "set-image-reference", "--container-name", "web-gui",
                      "--image-reference", ":v7", "--space", "*", "-o", "json").out
    changed = {tuple(u.split("/")) for u in json.loads(out)["units"]}
    assert ("traderx-prod-eu", "web-gui") in changed
    assert {unit for _, unit in changed} == {"web-gui"}  # the Service named web-gui is not touched
    image = yaml.safe_load((rendered.repo / path).read_text())["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith(":v7")


def test_a_selection_of_some_spaces_changes_only_those(rendered: Cli) -> None:
    out = rendered.ok("run", "set-image-reference", "--container-name", "web-gui",
                      "--image-reference", ":v8", "--space", "traderx-prod-*", "-o", "json").out
    assert {u.split("/")[0] for u in json.loads(out)["units"]} == {
        "traderx-prod-us", "traderx-prod-eu", "traderx-prod-asia"}
    assert ":v8" not in (rendered.repo / "spaces/traderx-dev/web-gui.yaml").read_text()


def test_containing_finds_exactly_the_files_with_every_text(rendered: Cli) -> None:
    store = Store.open(rendered.repo)
    found = store.containing(["containers", "web-gui"], "spaces/")
    assert found is not None and found
    for path in rendered.git("ls-files", "spaces").split():
        text = (rendered.repo / path).read_text()
        assert (path in found) == ("containers" in text and "web-gui" in text), path
    assert store.containing(["no such text anywhere"], "spaces/") == set()
    assert store.containing(["a\nb"], "spaces/") is None  # git cannot answer that: the caller reads
    only_dev = store.containing(["containers"], "spaces/traderx-dev/")
    assert only_dev and all(p.startswith("spaces/traderx-dev/") for p in only_dev)


def test_containing_answers_for_the_commit_not_the_work_tree(rendered: Cli) -> None:
    store = Store.open(rendered.repo)
    path = "spaces/traderx-dev/web-gui.yaml"
    (rendered.repo / path).write_text("uncommitted: gitops-unique-text\n")
    assert store.containing(["gitops-unique-text"], "spaces/") == set()


def test_read_gives_what_read_blob_gives(rendered: Cli) -> None:
    store = Store.open(rendered.repo)
    fleet = Fleet.load(store)
    refs = [UnitRef(space, unit) for space in fleet.spaces for unit in fleet.spaces[space].units]
    fleet.read(refs + refs[:3])  # a unit asked for twice is read once
    fresh = Fleet.load(store)
    for ref in refs:
        assert fleet.text(ref) == fresh.text(ref) == store.read_blob(fleet.blobs[f"spaces/{ref.space}/{ref.unit}.yaml"])


def test_containing_in_a_clean_work_tree_answers_as_the_commit_does(rendered: Cli) -> None:
    store = Store.open(rendered.repo)
    for texts in (["containers", "web-gui"], ["containers"], ["no such text anywhere"]):
        for under in ("spaces/", "spaces/traderx-dev/"):
            assert store.containing(texts, under, clean=True) == store.containing(texts, under)
    head = rendered.git("rev-parse", "HEAD").strip()
    assert store.view(head).containing(["containers"], "spaces/", clean=True) == store.containing(
        ["containers"], "spaces/")


def test_a_run_changes_only_what_the_function_changes(rendered: Cli) -> None:
    """Units in the emitter's layout are read by the fast path: each file afterwards is the
    unit as before with the one image changed, its origin kept beside it."""
    paths = [p for p in rendered.git("ls-files", "spaces").split() if p.endswith("/web-gui.yaml")]
    before = {p: yaml.safe_load((rendered.repo / p).read_text()) for p in paths}
    rendered.ok("run", "set-image-reference", "--container-name", "web-gui",
                "--image-reference", ":v9", "--space", "*")
    for path, old in before.items():
        new = yaml.safe_load((rendered.repo / path).read_text())
        container = old["spec"]["template"]["spec"]["containers"][0]
        container["image"] = container["image"].rsplit(":", 1)[0] + ":v9"
        assert new == old, path
        origin = rendered.repo / ".gitops" / "origins" / path.removeprefix("spaces/")
        assert origin.exists(), origin
    assert rendered.git("status", "--porcelain").strip() == ""
