"""The space inventory's decisions, without a cluster (tests/e2e/test_inventory.py has the cluster's side)."""

from __future__ import annotations

import json
from pathlib import Path

from generator.kubectl import Kubectl
from generator.operations.inventory import Entry, Held, document, read

KEY = ("Deployment", "ns", "web")
OTHER = ("Service", "ns", "web")


def test_covers_only_the_same_objects_with_the_same_hashes() -> None:
    held = Held("found", {KEY: Entry("web", "h1", "5"), OTHER: Entry("web-svc", "h2", "6")})
    assert held.covers({KEY: Entry("web", "h1", "5")}, prune=False)
    assert not held.covers({KEY: Entry("web", "h1", "5")}, prune=True)  # the Service would be pruned
    assert not held.covers({KEY: Entry("web", "h9", "5")}, prune=False)
    assert not held.covers({("ConfigMap", "ns", "new"): Entry("cm", "h3", "2")}, prune=False)
    assert not Held("absent").covers({}, prune=False) and not Held("unreadable").covers({}, prune=False)


def test_an_object_from_an_older_revision_is_not_mains() -> None:
    held = Held("found", {KEY: Entry("web", "h1", "5", revision="abc")})
    assert not held.covers({KEY: Entry("web", "h1", "5")}, prune=False)  # main wants it back
    assert held.covers({KEY: Entry("web", "h1", "5", revision="abc")}, prune=False)


def fake(tmp_path: Path, stdout: str) -> str:
    script = tmp_path / "kubectl"
    (tmp_path / "out").write_text(stdout)
    script.write_text(f"#!/bin/sh\ncat {tmp_path / 'out'}\n")
    script.chmod(0o755)
    return str(script)


def test_read_parses_what_document_writes_and_nothing_else(tmp_path: Path) -> None:
    entries = {KEY: Entry("web", "h1", "5"), OTHER: Entry("web-svc", "h2", "6", "abc")}
    written = json.dumps(document("s", "ns", "c1", entries))
    assert read(Kubectl(fake(tmp_path, written)), "s", "ns", "ctx") == Held("found", entries)
    assert read(Kubectl(fake(tmp_path, "")), "s", "ns", "ctx").state == "absent"
    assert read(Kubectl(fake(tmp_path, written)), "other-space", "ns", "ctx").state == "unreadable"
    broken = json.dumps({"data": {"space": "s", "objects": "not json"}})
    assert read(Kubectl(fake(tmp_path, broken)), "s", "ns", "ctx").state == "unreadable"
    assert set(document("s", "ns", "c1", entries)["data"]) == {"space", "commit", "objects"}
