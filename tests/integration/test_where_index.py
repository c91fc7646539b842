"""The field index on a real manifests repo: built by the first query, brought along by every
commit (gitops's and hand-made ones), rebuilt when damaged, and never the source of truth."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator import query
from generator.fieldindex import FILE
from generator.fieldindex import DocRow
from generator.operations import indexing, select
from generator.operations.fleet import Fleet
from generator.store import Store
from tests.conftest import Cli

CLAUSES = [
    "spec.replicas > 2 AND Labels.layer = 'backend'",
    "spec.template.spec.containers.*.image LIKE '%trade-service%'",
    "Data CONTAINS 'replicas: 5'",
    "Space.Labels.environment = 'prod' AND NOT Labels.layer = 'frontend'",
    "spec.template.spec.containers.*.env.*.name = 'MARKET_REGION'",
    "metadata.labels IS NULL OR spec.replicas IS NULL",
    "kind IN ('Role', 'RoleBinding') AND UpstreamSpace LIKE '%base'",
    "spec.template.spec.containers.0.resources.limits.memory IS NOT NULL",
]


def listed(cli: Cli, clause: str, space: str = "*") -> list[tuple[str, str]]:
    rows = json.loads(cli.ok("unit", "list", "--space", space, "--where", clause, "-o", "json").out)
    return [(r["space"], r["unit"]) for r in rows]


def unit_by_unit(repo: Path, clause: str, space: str = "*") -> set[tuple[str, str]]:
    fleet = Fleet.load(Store.open(repo))
    found = select.evaluate(fleet, fleet.match_names(space), None, query.parse(clause))
    return {(f.ref.space, f.ref.unit) for f in found}


def indexed_commit(repo: Path) -> str | None:
    with sqlite3.connect(repo / ".git" / FILE) as db:
        row = db.execute("SELECT value FROM state WHERE key = 'commit'").fetchone()
    return row[0] if row else None


def head(cli: Cli) -> str:
    return cli.git("rev-parse", "HEAD").strip()


@pytest.mark.parametrize("clause", CLAUSES)
def test_the_index_answers_as_the_clause_does_unit_by_unit(rendered: Cli, clause: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    found = listed(rendered, clause)
    assert set(found) == unit_by_unit(rendered.repo, clause)
    assert indexed_commit(rendered.repo) == head(rendered)
    assert rendered.git("status", "--porcelain") == ""
    monkeypatch.setenv("GITOPS_FIELD_INDEX", "off")  # the same listing, unit by unit
    assert listed(rendered, clause) == found


def test_the_index_follows_commits_gitops_and_hand_made(rendered: Cli) -> None:
    clause = "spec.replicas = 7"
    assert listed(rendered, clause) == []
    rendered.ok("run", "set-replicas", "--replicas", "7", "--space", "traderx-prod-eu",
                "--unit", "trade-service", "--reason", "more")
    assert listed(rendered, clause) == [("traderx-prod-eu", "trade-service")]
    assert indexed_commit(rendered.repo) == head(rendered)

    # a commit made by hand: a unit edited with an editor and committed with git
    path = rendered.repo / "spaces/traderx-prod-us/trade-service.yaml"
    path.write_text(path.read_text().replace("replicas: 3", "replicas: 7"))
    rendered.git("commit", "-qam", "by hand")
    assert listed(rendered, clause) == [("traderx-prod-eu", "trade-service"),
                                        ("traderx-prod-us", "trade-service")]
    assert set(listed(rendered, clause)) == unit_by_unit(rendered.repo, clause)

    # a unit added by hand (a file without a record) is a local unit a query finds
    extra = rendered.repo / "spaces/traderx-dev/extra.yaml"
    extra.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  replicas: '7'\n")
    rendered.git("add", "-A")
    rendered.git("commit", "-qm", "a unit by hand")
    assert ("traderx-dev", "extra") in listed(rendered, "data.replicas = 7")

    # history moved back (the index is of a commit that is no longer HEAD, but still in git)
    rendered.git("reset", "-q", "--hard", "HEAD~2")
    assert listed(rendered, clause) == [("traderx-prod-eu", "trade-service")]
    assert indexed_commit(rendered.repo) == head(rendered)

    # a fleet-wide change, then the index brought along equals one built from nothing
    rendered.ok("run", "set-image-reference", "--container-name", "web-gui", "--image-reference", ":v9",
                "--space", "*", "--reason", "everywhere")
    rendered.ok("unit", "update", "trade-service", "--space", "traderx-dev", "--patch",
                '{"metadata":{"labels":{"tier":"gold"}}}')
    kept = ["Data CONTAINS 'web-gui:v9'", clause, "data.replicas = 7"]  # the paths in the order first asked
    answers = [listed(rendered, c) for c in kept]
    assert answers[0] != [] and answers[1] == [("traderx-prod-eu", "trade-service")]
    along = contents(rendered.repo)
    assert {name for name, _, _ in along["path"]} == {'$."spec"."replicas"', '$."data"."replicas"'}
    (rendered.repo / ".git" / FILE).unlink()
    assert [listed(rendered, c) for c in kept] == answers
    assert contents(rendered.repo) == along


def contents(repo: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the index but its row ids: what it says, however it got there."""
    with sqlite3.connect(repo / ".git" / FILE) as db:
        return {
            "unit": sorted(db.execute("SELECT u.space, u.name, d.blob, u.labels, u.upstream, u.upstream_space, "
                                      "u.position FROM unit u LEFT JOIN doc d ON d.id = u.doc")),
            "label": sorted(db.execute("SELECT key, value, space, unit FROM label")),
            "space": sorted(db.execute("SELECT name, labels FROM space")),
            "doc": sorted(db.execute("SELECT d.blob, d.exact, d.arrays, t.text, j.json FROM doc d "
                                     "JOIN doc_text t ON t.id = d.id LEFT JOIN doc_json j ON j.id = d.id")),
            "state": sorted(db.execute("SELECT key, value FROM state")),
            "path": sorted(db.execute("SELECT name, parent, last FROM path")),
            # a value of a document gone (blob None) would show here
            "value": sorted(db.execute("SELECT p.name, d.blob, v.type, v.atom FROM value v "
                                       "JOIN path p ON p.id = v.path LEFT JOIN doc d ON d.id = v.doc"),
                            key=repr),
        }


def test_an_index_parsed_by_worker_processes_equals_one_parsed_in_process(
        rendered: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    clause = "spec.replicas > 2 AND Labels.layer = 'backend'"
    answer = listed(rendered, clause)
    built_here = contents(rendered.repo)
    (rendered.repo / ".git" / FILE).unlink()
    pools: list[int] = []
    in_workers = indexing._in_workers

    def counted(fleet: Fleet, chunks: list[list[str]], workers: int) -> Iterator[list[DocRow]]:
        pools.append(len(chunks))
        return in_workers(fleet, chunks, workers)

    # every fleet in workers, 7 documents a chunk: many chunks, more than the window reads ahead
    monkeypatch.setattr(indexing, "PARALLEL_FROM", 1)
    monkeypatch.setattr(indexing, "CHUNK", 7)
    monkeypatch.setattr(indexing.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(indexing, "_in_workers", counted)
    assert listed(rendered, clause) == answer
    assert pools and pools[0] > 4
    assert contents(rendered.repo) == built_here


def test_a_damaged_or_foreign_index_is_built_again(rendered: Cli) -> None:
    clause = "spec.replicas > 2 AND Labels.layer = 'backend'"
    expected = listed(rendered, clause)
    index = rendered.repo / ".git" / FILE
    index.write_bytes(b"not a database at all" * 100)
    assert listed(rendered, clause) == expected
    # an index that names a commit git does not have: every space is written again
    with sqlite3.connect(index) as db:
        db.execute("UPDATE state SET value = ? WHERE key = 'commit'", ("0123456789" * 4,))
        db.execute("DELETE FROM unit WHERE space = 'traderx-prod-eu'")
    assert listed(rendered, clause) == expected
    index.unlink()
    assert listed(rendered, clause) == expected


def test_a_list_stepped_into_by_name_is_refused_by_the_index_too(rendered: Cli) -> None:
    rendered.ok("unit", "list", "--space", "*", "--where", "Labels.layer = 'backend'")  # index built
    result = rendered("unit", "list", "--space", "*", "--where", "spec.template.spec.containers.image = 'x'")
    assert result.code == 1
    assert "spec.template.spec.containers is a list: 'image' at column 31" in result.err
    assert "Traceback" not in result.err


def test_what_the_index_cannot_hold_is_answered_unit_by_unit(rendered: Cli) -> None:
    # Revision counts commits: never from the index
    rendered.ok("run", "set-replicas", "--replicas", "4", "--space", "traderx-prod-eu",
                "--unit", "trade-service", "--reason", "more")
    assert listed(rendered, "Revision > 1 AND Slug = 'trade-service'") == [("traderx-prod-eu", "trade-service")]
    # a unit committed by hand that is not YAML: the same one-line error as unit by unit
    path = rendered.repo / "spaces/traderx-dev/trade-service.yaml"
    path.write_text("spec: [replicas: 2\n")
    rendered.git("commit", "-qam", "broken by hand")
    result = rendered("unit", "list", "--space", "*", "--where", "spec.replicas > 2")
    assert result.code == 1 and "Traceback" not in result.err
    assert "traderx-dev/trade-service.yaml" in result.err
    # metadata alone never needs the broken manifest
    assert ("traderx-dev", "trade-service") in listed(rendered, "Slug = 'trade-service'")


def test_an_index_another_process_is_writing_is_waited_for_briefly_then_gone_around(rendered: Cli) -> None:
    clause = "spec.replicas = 6"
    assert listed(rendered, clause) == []  # the index is built, of this HEAD
    rendered.ok("run", "set-replicas", "--replicas", "6", "--space", "traderx-prod-asia",
                "--unit", "trade-service", "--reason", "more")
    with sqlite3.connect(rendered.repo / ".git" / FILE, isolation_level=None) as other:
        other.execute("BEGIN IMMEDIATE")  # another gitops bringing it along (a long first build)
        try:
            assert listed(rendered, clause) == [("traderx-prod-asia", "trade-service")]
        finally:
            other.execute("ROLLBACK")
    assert indexed_commit(rendered.repo) != head(rendered)  # answered without it
    assert listed(rendered, clause) == [("traderx-prod-asia", "trade-service")]
    assert indexed_commit(rendered.repo) == head(rendered)
