"""The records cache (.git/gitops/records.cache) is never the truth: with it absent, stale,
damaged, or built while a record was edited and not committed, every command answers as it
would from the records themselves. (The example has fewer spaces than a command needs to use
the cache: the threshold is lowered here.)"""

from __future__ import annotations

import json
import marshal
from pathlib import Path

import pytest

from generator.model import Space
from generator.operations import fleet as fleet_module
from generator.operations import record_cache
from generator.operations.fleet import Fleet
from generator.snapshot import Snapshot
from generator.store import Store
from tests.conftest import Cli

EU = "traderx-prod-eu"


@pytest.fixture
def cached(rendered: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setattr(fleet_module, "SPACES_BEFORE_ALL", 0)  # every glob uses the cache
    return rendered


def cache_file(cli: Cli) -> Path:
    return cli.repo / ".git" / record_cache.FILE


def listing(cli: Cli) -> list[Space]:
    """Every space as a fleet-wide command reads it (through the cache)."""
    store = Store.open(cli.repo)
    try:
        return Fleet.load(store).match("*")
    finally:
        store.close()


def truth(cli: Cli) -> list[Space]:
    """Every space as its record says (no cache)."""
    store = Store.open(cli.repo)
    try:
        fleet = Fleet.load(store)
        return [fleet.spaces[name] for name in sorted(fleet.spaces)]
    finally:
        store.close()


def record_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    real = Snapshot.read

    def counting(self: Snapshot, path: str) -> str:
        if path.startswith(".gitops/spaces/"):
            reads.append(path)
        return real(self, path)

    monkeypatch.setattr(Snapshot, "read", counting)
    return reads


def test_a_fleet_wide_command_writes_the_cache_and_the_next_reads_no_record(
        cached: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not cache_file(cached).exists()
    before = listing(cached)
    assert cache_file(cached).exists() and before == truth(cached)
    reads = record_reads(monkeypatch)
    assert listing(cached) == before and reads == []


def test_a_changed_record_is_read_again(cached: Cli) -> None:
    listing(cached)
    path = cached.repo / f".gitops/spaces/{EU}.json"
    record = json.loads(path.read_text())
    unit = next(iter(record["units"]))
    record["units"][unit]["labels"]["tier"] = "gold"
    path.write_text(json.dumps(record, indent=2) + "\n")
    cached.git("commit", "-q", "-am", "a label by hand")
    spaces = listing(cached)
    assert spaces == truth(cached)
    assert next(s for s in spaces if s.name == EU).units[unit].labels["tier"] == "gold"


def test_an_uncommitted_record_is_never_cached_as_the_committed_one(cached: Cli) -> None:
    before = truth(cached)
    path = cached.repo / f".gitops/spaces/{EU}.json"
    committed = path.read_text()
    record = json.loads(committed)
    for unit in record["units"].values():
        unit["labels"]["tier"] = "edited"
    path.write_text(json.dumps(record, indent=2) + "\n")
    listing(cached)  # a read-only command sees the work tree's copy; the cache must not keep it
    path.write_text(committed)
    assert listing(cached) == before


@pytest.mark.parametrize("damage", [b"", b"not marshal at all", marshal.dumps([1, 2]),
                                    marshal.dumps({"version": record_cache.VERSION, "labels": "x", "entries": {}})])
def test_a_damaged_cache_is_rebuilt(cached: Cli, damage: bytes) -> None:
    before = truth(cached)
    listing(cached)
    cache_file(cached).write_bytes(damage)
    assert listing(cached) == before
    data = marshal.loads(cache_file(cached).read_bytes())
    assert data["version"] == record_cache.VERSION and len(data["entries"]) == len(before)


def test_entries_that_are_wrong_inside_are_not_used(cached: Cli) -> None:
    before = truth(cached)
    listing(cached)
    data = marshal.loads(cache_file(cached).read_bytes())
    blobs = list(data["entries"])
    head, names, rows = data["entries"][blobs[0]]
    data["entries"][blobs[0]] = (head, names, tuple((999, *row[1:]) for row in rows))  # no such labels
    data["entries"][blobs[1]] = (head, names[:-1], rows)  # names and units disagree
    cache_file(cached).write_bytes(marshal.dumps(data))
    assert listing(cached) == before


def run_and_upgrade(cli: Cli) -> str:
    """A fleet-wide run, then an upgrade after a base change: the tree they leave."""
    cli.ok("run", "set-image-reference", "--container-name", "web-gui", "--image-reference", ":v9",
           "--space", "*")
    cli.ok("unit", "update", "trade-service", "--space", "traderx-base", "--patch",
           '{"spec": {"replicas": 4}}')
    cli.ok("upgrade", "--space", "*")
    return cli.git("rev-parse", "HEAD^{tree}").strip()


def test_run_and_upgrade_leave_the_same_tree_with_or_without_the_cache(
        cached: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    start = cached.git("rev-parse", "HEAD").strip()
    assert not cache_file(cached).exists()
    listing(cached)  # the cache is warm
    warm = run_and_upgrade(cached)
    cached.git("reset", "-q", "--hard", start)
    cache_file(cached).unlink()
    monkeypatch.setattr(fleet_module, "SPACES_BEFORE_ALL", 1000)  # no cache at all
    assert run_and_upgrade(cached) == warm
    assert not cache_file(cached).exists()
