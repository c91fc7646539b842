"""A commit of many paths leaves git's index with its cached trees, as `git commit` does: without
them every `git status` (which render runs to refuse uncommitted edits) compares each file with
HEAD's tree."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from generator import store as store_module
from generator.store import Store


def root_tree_cached(repo: Path) -> bool:
    """Whether the index's TREE extension holds a valid entry for the whole tree."""
    data = (repo / ".git" / "index").read_bytes()[:-20]
    version, count = struct.unpack(">II", data[4:12])
    assert version == 2
    at = 12
    for _ in range(count):  # entries: 62 bytes, the path, NULs padding to a multiple of 8
        end = data.index(b"\0", at + 62)
        at += (end - at + 8) // 8 * 8
    while at < len(data):
        signature, size = data[at:at + 4], struct.unpack(">I", data[at + 4:at + 8])[0]
        if signature == b"TREE":
            body = data[at + 8:at + 8 + size]
            return body.startswith(b"\0") and not body[1:].startswith(b"-1 ")
        at += 8 + size
    return False


@pytest.mark.parametrize("many", [True, False])
def test_a_commit_of_many_paths_leaves_the_index_with_its_trees(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, many: bool) -> None:
    monkeypatch.setattr(store_module, "MANY_PATHS", 3 if many else 100)
    store = Store.open(tmp_path / "repo", create=True)
    try:
        store.commit({f"spaces/s{i}/u.yaml": f"a: {i}\n" for i in range(3)}, "first")
        assert root_tree_cached(store.root) is many
        store.commit({f"spaces/s{i}/u.yaml": f"a: {i + 1}\n" for i in range(3)}, "second")
        assert root_tree_cached(store.root) is many
        status = subprocess.run(["git", "status", "--porcelain"], cwd=store.root, capture_output=True,
                                text=True, check=True).stdout
        assert status == ""  # the index is HEAD's, its stat info kept
    finally:
        store.close()
