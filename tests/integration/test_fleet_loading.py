"""Loading the fleet reads only what a command uses: a space's record is read when that space is
used, and everything a record says (hand edits included) still counts when it is."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from generator.config import Project
from generator.operations import render as render_op
from generator.operations import render_stamp
from generator.model import UnitRef
from generator.operations.fleet import Fleet
from generator.snapshot import Snapshot
from generator.store import Store
from tests.conftest import Cli

EU = "traderx-prod-eu"
DEV = "traderx-dev"


def commit_all(cli: Cli, message: str) -> None:
    cli.git("add", "-A")
    cli.git("commit", "-q", "-m", message)


def record_path(cli: Cli, space: str) -> Path:
    return cli.repo / f".gitops/spaces/{space}.json"


def test_a_damaged_record_is_an_error_naming_it_only_where_its_space_is_used(rendered: Cli) -> None:
    record_path(rendered, EU).write_text('{"space": "traderx-prod-eu", "units": ')
    commit_all(rendered, "a damaged record")
    units = json.loads(rendered.ok("unit", "list", "--space", DEV, "-o", "json").out)
    assert units and all(u["space"] == DEV for u in units)
    result = rendered("unit", "list", "--space", EU, "-o", "json")
    assert result.code != 0
    assert f".gitops/spaces/{EU}.json" in result.err and "damaged space record" in result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) <= 2
    listing = rendered("space", "list")  # every space: the damaged one is named
    assert listing.code != 0 and f".gitops/spaces/{EU}.json" in listing.err


def test_records_are_read_when_their_space_is_used(rendered: Cli) -> None:
    reads: list[str] = []

    class Counting(Snapshot):
        def read(self, path: str) -> str:
            reads.append(path)
            return super().read(path)

    store = Store.open(rendered.repo)
    try:
        fleet = Fleet.load(Counting(store.root, store.repo))
        assert EU in fleet.spaces and len(fleet.spaces) == 6 and reads == []
        assert fleet.space(EU).units
        assert reads == [f".gitops/spaces/{EU}.json"]
        fleet.space(EU)
        assert fleet.spaces.fingerprint(EU) == fleet.space(EU).fingerprint
        assert reads == [f".gitops/spaces/{EU}.json"]  # read once
        assert fleet.spaces.get("traderx-nowhere") is None and "traderx-nowhere" not in fleet.spaces
        assert fleet.spaces.record_blob(EU) == fleet.blobs[f".gitops/spaces/{EU}.json"]
    finally:
        store.close()


def test_a_space_edited_by_hand_is_read_as_edited(rendered: Cli) -> None:
    unit = json.loads(rendered.ok("unit", "list", "--space", EU, "-o", "json").out)[0]["unit"]
    (rendered.repo / f"spaces/{EU}/{unit}.yaml").unlink()
    added = rendered.repo / f"spaces/{EU}/by-hand.yaml"
    added.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: by-hand\n"
                     f"  namespace: {EU}\ndata:\n  a: b\n")
    commit_all(rendered, "by hand")
    store = Store.open(rendered.repo)
    try:
        fleet = Fleet.load(store)
        assert not fleet.spaces.consistent(EU) and fleet.spaces.consistent(DEV)
        space = fleet.space(EU)
        assert unit in space.deleted and unit not in space.units
        assert space.units["by-hand"].local
    finally:
        store.close()
    rendered.ok("render")  # render keeps the person's edit: the file stays gone, theirs stays
    assert not (rendered.repo / f"spaces/{EU}/{unit}.yaml").exists() and added.exists()
    record = json.loads(record_path(rendered, EU).read_text())
    assert unit in record["deleted"] and record["units"]["by-hand"]["local"] is True


def test_a_record_edited_by_hand_is_rewritten_by_render(rendered: Cli) -> None:
    data = json.loads(record_path(rendered, EU).read_text())
    data["fingerprint"] = "edited-by-hand"
    record_path(rendered, EU).write_text(json.dumps(data, indent=2) + "\n")
    commit_all(rendered, "a record edited by hand")
    rendered.ok("render")
    assert json.loads(record_path(rendered, EU).read_text())["fingerprint"] != "edited-by-hand"
    changed = rendered.git("show", "--name-only", "--format=", "HEAD").split()
    assert changed == [f".gitops/spaces/{EU}.json"]


class Loads:
    """Counts the config dir loads a render makes (a render that loads none planned nothing)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self.regions: list[set[str] | None] = []  # what each load was limited to
        real = render_op.load_project

        def counting(root: Path, regions: set[str] | None = None) -> Project:
            self.count += 1
            self.regions.append(regions)
            return real(root, regions)

        monkeypatch.setattr(render_op, "load_project", counting)


def test_a_render_after_a_render_loads_nothing(rendered: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    loads = Loads(monkeypatch)
    head = rendered.git("rev-parse", "HEAD")
    result = rendered.ok("render")
    assert loads.count == 0 and "nothing changed" in result.out + result.err
    assert rendered.git("rev-parse", "HEAD") == head
    (rendered.repo / ".git" / render_stamp.STAMP).write_text("{damaged")
    rendered.ok("render")  # a damaged stamp costs a full render, nothing else
    assert loads.count == 1 and rendered.git("rev-parse", "HEAD") == head


def test_a_region_edit_after_a_render_is_rendered(rendered: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    loads = Loads(monkeypatch)
    region = rendered.config / "regions" / "eu.yaml"
    region.write_text(region.read_text().replace("trade-service: 5", "trade-service: 7"))
    rendered.ok("render")
    assert loads.regions == [{"regions/eu.yaml"}]  # that region alone was loaded and rendered
    changed = rendered.git("show", "--name-only", "--format=", "HEAD").split()
    assert changed == [f".gitops/spaces/{EU}.json", f"spaces/{EU}/trade-service.yaml"]
    assert "replicas: 7" in (rendered.repo / f"spaces/{EU}/trade-service.yaml").read_text()
    assert rendered.git("log", "-1", "--format=%s").strip() == "render: 1 unit in 1 space"
    rendered.ok("render", "--check")  # what a full render would make: nothing stale
    assert rendered.ok("render").out.count("nothing changed") + rendered("render").err.count(
        "nothing changed") >= 1 and loads.count == 1


def test_a_region_that_now_makes_another_space_is_rendered_in_full(
        rendered: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    loads = Loads(monkeypatch)
    region = rendered.config / "regions" / "eu.yaml"
    region.write_text(region.read_text() + "region: europe\n")
    rendered.ok("render")
    assert loads.regions[-1] is None  # loaded in full: the old space goes, the new one comes
    spaces = {s["space"] for s in json.loads(rendered.ok("space", "list", "-o", "json").out)}
    assert "traderx-prod-europe" in spaces and EU not in spaces
    rendered.ok("render", "--check")


def test_with_a_space_made_by_hand_a_region_edit_renders_in_full(
        rendered: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    rendered.ok("space", "create", "traderx-prod-eu-canary", "--upstream", EU)
    rendered.ok("render")  # stamps the repo, the canary listed as not made by the config
    loads = Loads(monkeypatch)
    region = rendered.config / "regions" / "eu.yaml"
    region.write_text(region.read_text().replace("trade-service: 5", "trade-service: 7"))
    rendered.ok("render")
    assert loads.regions == [None]
    canary = rendered.repo / "spaces/traderx-prod-eu-canary/trade-service.yaml"
    assert "replicas: 7" in canary.read_text()  # the copy of the region follows it


def test_a_hand_made_commit_after_a_render_is_rendered(rendered: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    loads = Loads(monkeypatch)
    unit = rendered.repo / f"spaces/{EU}/trade-service.yaml"
    unit.write_text(unit.read_text().replace("replicas: 5", "replicas: 9"))
    commit_all(rendered, "by hand, without gitops")
    rendered.ok("render")  # HEAD moved: the full render runs and keeps the person's edit
    assert loads.count == 1 and "replicas: 9" in unit.read_text()
    record = json.loads(record_path(rendered, EU).read_text())
    assert record["units"]["trade-service"]["origin"] != rendered.git(
        "rev-parse", f"HEAD:spaces/{EU}/trade-service.yaml").strip()


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(rendered: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    region = rendered.config / "regions" / "eu.yaml"
    before = region.stat()
    time.sleep(0.01)
    region.write_text(region.read_text().replace("trade-service: 5", "trade-service: 6"))
    os.utime(region, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `cp -p` or a sync tool would
    assert region.stat().st_size == before.st_size and region.stat().st_mtime_ns == before.st_mtime_ns
    loads = Loads(monkeypatch)
    rendered.ok("render")
    assert loads.count == 1
    assert "replicas: 6" in (rendered.repo / f"spaces/{EU}/trade-service.yaml").read_text()


def test_a_command_about_one_space_lists_only_that_space(rendered: Cli) -> None:
    listed: list[tuple[str, ...]] = []

    class Counting(Snapshot):
        def tree(self, *prefixes: str) -> dict[str, str]:
            listed.append(prefixes)
            return super().tree(*prefixes)

    store = Store.open(rendered.repo)
    try:
        full = store.tree("spaces", ".gitops")
        fleet = Fleet.load(Counting(store.root, store.repo))
        space = fleet.space(EU)
        assert space.units and fleet.spaces.consistent(EU)
        assert fleet.text(UnitRef(EU, sorted(space.units)[0]))
        assert all(p != ("spaces", ".gitops") for p in listed)  # never the whole repo
        assert any(f"spaces/{EU}/" in p for p in listed)
        # every path answers as the whole listing does, before and after it is listed at once
        assert {p: fleet.blobs[p] for p in full} == full
        assert dict(fleet.blobs) == full and fleet.blobs.files_of(EU) == {
            p: b for p, b in full.items() if p.startswith(f"spaces/{EU}/")}
        assert "spaces/traderx-nowhere/x.yaml" not in fleet.blobs
    finally:
        store.close()


def test_a_commit_made_while_a_render_starts_is_rendered_in_full(
        rendered: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    unit = json.loads(rendered.ok("unit", "list", "--space", DEV, "-o", "json").out)[0]["unit"]
    real = render_op.load_project

    def meanwhile(root: Path, regions: set[str] | None = None) -> Project:
        if regions is not None:  # between the look at the stamp and the lock: a hand-made commit
            (rendered.repo / f"spaces/{DEV}/{unit}.yaml").unlink()
            commit_all(rendered, "meanwhile, by hand")
        return real(root, regions)

    monkeypatch.setattr(render_op, "load_project", meanwhile)
    region = rendered.config / "regions" / "eu.yaml"
    region.write_text(region.read_text().replace("trade-service: 5", "trade-service: 7"))
    rendered.ok("render")
    assert "replicas: 7" in (rendered.repo / f"spaces/{EU}/trade-service.yaml").read_text()
    assert unit in json.loads(record_path(rendered, DEV).read_text())["deleted"]  # seen: in full
