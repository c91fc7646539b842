"""The store: one commit per change, compare-and-swap, crash recovery, never sweeping."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from generator.errors import RepoError
from generator.store import JOURNAL, Store, blob_id


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "repo", create=True)
    s.commit({"spaces/a/x.yaml": "x: 1\n", "spaces/a/y.yaml": "y: 1\n"}, "first\n")
    return s


def test_blob_id_matches_git(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("héllo\n")
    expected = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True).stdout.strip()
    assert blob_id("héllo\n") == expected


def test_commit_writes_tree_index_and_work_tree(store: Store) -> None:
    new = store.commit({"spaces/a/x.yaml": "x: 2\n", "spaces/a/y.yaml": None, "spaces/b/z.yaml": "z\n"}, "second\n")
    assert new == store.head()
    assert git(store.root, "show", "--name-status", "--format=", "HEAD").split() == [
        "M", "spaces/a/x.yaml", "D", "spaces/a/y.yaml", "A", "spaces/b/z.yaml"]
    assert (store.root / "spaces/a/x.yaml").read_text() == "x: 2\n"
    assert not (store.root / "spaces/a/y.yaml").exists()
    assert git(store.root, "status", "--porcelain") == ""
    assert git(store.root, "for-each-ref", "refs/gitops") == ""  # no staging ref left behind


def _state(store: Store) -> tuple[str, str, str, str]:
    return (git(store.root, "for-each-ref"), git(store.root, "status", "--porcelain"),
            (store.root / "spaces/a/x.yaml").read_text(), str((store.root / "spaces/a/y.yaml").exists()))


def test_a_gate_sees_the_commit_before_anything_moves_and_can_stop_it(store: Store) -> None:
    before, head = _state(store), store.head()
    seen = []

    def refuse(commit: str) -> None:
        # the commit exists and can be read, yet no file or branch has moved
        seen.append(store.view(commit).read("spaces/a/x.yaml"))
        assert _state(store)[1:] == before[1:] and store.head() == head
        raise RepoError("the cluster said no", "fix it")

    with pytest.raises(RepoError, match="the cluster said no"):
        store.commit({"spaces/a/x.yaml": "x: 2\n", "spaces/a/y.yaml": None}, "gated\n", gate=refuse)
    assert seen == ["x: 2\n"]
    assert _state(store) == before  # no ref (not even a staging one), no file, no index entry
    assert not (store.root / ".git" / JOURNAL).exists()

    passed = store.commit({"spaces/a/x.yaml": "x: 3\n", "spaces/a/y.yaml": None}, "gated\n",
                          gate=seen.append)
    assert seen[-1] == passed == store.head()
    assert (store.root / "spaces/a/x.yaml").read_text() == "x: 3\n" and not (store.root / "spaces/a/y.yaml").exists()
    assert git(store.root, "status", "--porcelain") == ""


def test_prepare_makes_a_commit_nothing_points_at(store: Store) -> None:
    before = _state(store)
    head = store.head()
    commit = store.prepare({"spaces/a/x.yaml": "x: 9\n"}, "rehearsal\n")
    assert store.view(commit).read("spaces/a/x.yaml") == "x: 9\n"
    assert git(store.root, "rev-parse", f"{commit}^").strip() == head
    assert _state(store) == before and store.head() == head


def test_nothing_changed_no_commit(store: Store) -> None:
    head = store.head()
    assert store.commit({"spaces/a/x.yaml": "x: 1\n", "spaces/a/gone.yaml": None}, "noop\n") is None
    assert store.head() == head


def test_untracked_file_in_the_way_is_not_overwritten(store: Store) -> None:
    (store.root / "spaces/a/new.yaml").write_text("mine\n")
    with pytest.raises(RepoError, match="untracked file spaces/a/new.yaml is in the way"):
        store.commit({"spaces/a/new.yaml": "theirs\n"}, "x\n")
    assert (store.root / "spaces/a/new.yaml").read_text() == "mine\n"


def test_branch_moved_meanwhile_commits_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    original = Store._write_work_tree

    def racing(self: Store, changes, new):  # type: ignore[no-untyped-def]
        if not (self.root / "other.txt").exists():  # once: recovery writes the tree again
            (self.root / "other.txt").write_text("someone else\n")
            git(self.root, "add", "other.txt")
            git(self.root, "commit", "-qm", "concurrent")
        original(self, changes, new)

    monkeypatch.setattr(Store, "_write_work_tree", racing)
    with pytest.raises(RepoError, match="moved while this command ran; nothing changed"):
        store.commit({"spaces/a/x.yaml": "x: 3\n"}, "mine\n")
    assert git(store.root, "log", "-1", "--format=%s") == "concurrent\n"
    assert (store.root / "spaces/a/x.yaml").read_text() == "x: 1\n"
    assert git(store.root, "status", "--porcelain") == ""
    assert not (Path(store.repo.git_dir) / JOURNAL).exists()


def test_crash_between_work_tree_and_ref_is_undone_by_the_next_lock(store: Store,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    class Killed(BaseException):
        pass

    real = Store._run_input

    def die_at_ref_update(self: Store, *args, **kwargs):  # type: ignore[no-untyped-def]
        if args[0] == "update-ref":
            raise Killed
        return real(self, *args, **kwargs)

    # simulate kill -9 after the work tree was written: no cleanup code may run
    monkeypatch.setattr(Store, "_run_input", die_at_ref_update)
    monkeypatch.setattr(Store, "recover", lambda self: False)
    with pytest.raises(Killed):
        store.commit({"spaces/a/x.yaml": "x: 9\n", "spaces/c/new.yaml": "n\n"}, "doomed\n")
    monkeypatch.undo()
    assert (store.root / "spaces/a/x.yaml").read_text() == "x: 9\n"  # half-done
    assert (Path(store.repo.git_dir) / JOURNAL).exists()
    with store.lock():
        pass
    assert (store.root / "spaces/a/x.yaml").read_text() == "x: 1\n"
    assert not (store.root / "spaces/c").exists()
    assert git(store.root, "status", "--porcelain") == ""
    assert git(store.root, "log", "--format=%s") == "first\n"


def test_lock_times_out_with_a_clear_message(store: Store) -> None:
    from generator.errors import LockedError
    with store.lock():
        other = Store.open(store.root)
        with pytest.raises(LockedError, match="another gitops command is changing"):
            with other.lock(timeout=0.2):
                pass


def test_pull_fast_forwards_from_the_remote_and_never_merges(store: Store, tmp_path: Path) -> None:
    assert store.pull() is None  # no remote: nothing to pull
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(store.root), str(remote))
    git(store.root, "remote", "add", "origin", str(remote))
    head = store.head()
    assert store.pull() == (head, head)

    other = Store.open(tmp_path / "other", create=True)
    git(other.root, "fetch", "--quiet", str(remote), "main")
    git(other.root, "reset", "--quiet", "--hard", "FETCH_HEAD")
    theirs = Store.open(other.root).commit({"spaces/a/x.yaml": "x: 5\n", "spaces/a/new.yaml": "n\n"}, "there\n")
    git(other.root, "push", "--quiet", str(remote), "main")
    assert store.pull() == (head, theirs) and store.head() == theirs
    assert (store.root / "spaces/a/x.yaml").read_text() == "x: 5\n" and (store.root / "spaces/a/new.yaml").exists()
    assert git(store.root, "status", "--porcelain") == ""

    mine = store.commit({"spaces/a/x.yaml": "x: 6\n"}, "here, not pushed\n")
    assert store.pull() == (mine, mine)  # ahead of the remote: left alone
    Store.open(other.root).commit({"spaces/a/y.yaml": "y: 7\n"}, "there again\n")
    git(other.root, "push", "--quiet", str(remote), "main")
    with pytest.raises(RepoError, match="diverged"):
        store.pull()
    assert store.head() == mine and (store.root / "spaces/a/x.yaml").read_text() == "x: 6\n"
