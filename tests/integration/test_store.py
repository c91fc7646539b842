"""The store: one commit per change, compare-and-swap, crash recovery, never sweeping."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.errors import RepoError
from generator.blobs import blob_id
from generator.store import JOURNAL, TEMP_DIR, Store
from generator.worktree import WorkTree
from tests.conftest import Cli


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


def test_the_tree_is_what_git_add_makes_whatever_the_order_written(store: Store, tmp_path: Path) -> None:
    """fast-import is fed by file name, deletions first: a file that becomes a folder and one
    unit in many spaces make the tree `git add -A` makes."""
    changes: dict[str, str | None] = {
        "spaces/a/x.yaml": None, "spaces/a/x.yaml/inner.yaml": "now a folder\n",
        **{f"spaces/r{i}/x.yaml": f"x: {i}\n" for i in range(5)}, "spaces/a/y.yaml": "y: 2\n"}
    new = store.commit(changes, "reshaped\n")
    plain = tmp_path / "plain"
    git(tmp_path, "clone", "-q", str(store.root), str(plain))
    git(plain, "checkout", "-q", "HEAD~1")
    (plain / "spaces/a/x.yaml").unlink()
    for path, text in changes.items():
        if text is not None:
            (plain / path).parent.mkdir(parents=True, exist_ok=True)
            (plain / path).write_text(text)
    git(plain, "add", "-A")
    assert git(store.root, "rev-parse", f"{new}^{{tree}}") == git(plain, "write-tree")
    assert (store.root / "spaces/a/x.yaml/inner.yaml").read_text() == "now a folder\n"
    assert git(store.root, "status", "--porcelain") == ""


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


def test_fast_import_is_fed_while_the_block_runs_and_its_failures_are_the_commands(store: Store) -> None:
    """A thread writes fast-import its input (far more than a pipe holds) while the commit's
    block writes the work tree; what stops the feed or git is raised, nothing moves, and no
    thread or process is left behind."""
    from generator import commits

    person, committer = commits.identity(store, None)
    many = {f"spaces/r{i:04d}/x.yaml": f"x: {i}\n" * 200 for i in range(300)}  # ~500 KB
    with commits.fast_import(store, many, "many\n", person, committer, store.head()) as made:
        assert made.commit == ""  # set when the block is left
    assert store.view(made.commit).read("spaces/r0299/x.yaml") == "x: 299\n" * 200
    commits.drop_staging(store)
    before, head = _state(store), store.head()
    with pytest.raises(RepoError, match="fast-import failed"):  # git stops early: a bad parent
        with commits.fast_import(store, many, "orphan\n", person, committer, "1" * 40):
            pass
    with pytest.raises(UnicodeEncodeError):  # the feed itself fails: its error, not git's
        with commits.fast_import(store, {"spaces/a/z.yaml": "\udcff\n"}, "bad\n", person, committer, head):
            pass
    assert _state(store) == before and store.head() == head
    assert [t.name for t in threading.enumerate() if t.name == "gitops-fast-import"] == []


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


def test_untracked_file_in_a_new_folder_is_in_the_way_too(store: Store) -> None:
    """The look is one per folder first: a folder git does not know, with a file in it."""
    (store.root / "spaces/new").mkdir()
    (store.root / "spaces/new/b.yaml").write_text("mine\n")
    changes = {f"spaces/{name}/{unit}.yaml": "theirs\n" for name in ("new", "other") for unit in "abc"}
    with pytest.raises(RepoError, match="untracked file spaces/new/b.yaml is in the way"):
        store.commit(changes, "x\n")
    assert (store.root / "spaces/new/b.yaml").read_text() == "mine\n"
    assert not (store.root / "spaces/other").exists()
    (store.root / "spaces/new/b.yaml").unlink()
    store.commit(changes, "x\n")
    assert git(store.root, "status", "--porcelain") == ""


def test_branch_moved_meanwhile_commits_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    original = Store._write_journal

    def racing(self: Store, *args):  # type: ignore[no-untyped-def]
        # (just before the files are written: while they are, git's index is locked)
        if not (self.root / "other.txt").exists():
            (self.root / "other.txt").write_text("someone else\n")
            git(self.root, "add", "other.txt")
            git(self.root, "commit", "-qm", "concurrent")
        original(self, *args)

    monkeypatch.setattr(Store, "_write_journal", racing)
    with pytest.raises(RepoError, match="moved while this command ran; nothing changed"):
        store.commit({"spaces/a/x.yaml": "x: 3\n"}, "mine\n")
    assert git(store.root, "log", "-1", "--format=%s") == "concurrent\n"
    assert (store.root / "spaces/a/x.yaml").read_text() == "x: 1\n"
    assert git(store.root, "status", "--porcelain") == ""
    assert not (Path(store.repo.git_dir) / JOURNAL).exists()


def test_a_write_that_fails_midway_leaves_the_index_as_it_was(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index takes paths while their files are written: after a failure it is as it was,
    with no lock of git's left behind."""
    from generator import worktree

    index = Path(store.repo.git_dir) / "index"
    before, head = index.read_bytes(), store.head()
    real, calls = worktree._write_all, []

    def failing(fd: int, data: bytes) -> None:
        calls.append(fd)
        if len(calls) == 150:
            os.close(fd)
            raise OSError(28, "No space left on device")
        real(fd, data)

    monkeypatch.setattr(worktree, "_write_all", failing)
    changes = {f"spaces/s{n // 20}/u{n % 20}.yaml": f"n: {n}\n" for n in range(300)}
    with pytest.raises(OSError, match="No space left"):
        store.commit(changes, "many\n")
    assert len(calls) >= 150
    assert index.read_bytes() == before and not (Path(store.repo.git_dir) / "index.lock").exists()
    assert store.head() == head and git(store.root, "status", "--porcelain") == ""
    monkeypatch.setattr(worktree, "_write_all", real)
    store.commit(changes, "many\n")  # and the next commit lands, indexed
    assert git(store.root, "status", "--porcelain") == ""
    assert git(store.root, "diff-files", "--name-only") == ""


def test_crash_between_work_tree_and_ref_is_undone_by_the_next_lock(store: Store,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    class Killed(BaseException):
        pass

    real = Store._run

    def die_at_ref_update(self: Store, *args, **kwargs):  # type: ignore[no-untyped-def]
        if args[0] == "update-ref":
            raise Killed
        return real(self, *args, **kwargs)

    # simulate kill -9 after the work tree was written: no cleanup code may run
    monkeypatch.setattr(Store, "_run", die_at_ref_update)
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


# --- temp files: never where git sees them (issue 12) ----------------------------------------

class Killed(BaseException):
    """kill -9 stand-in: raised where the process would die; no cleanup code may run after."""


SPACES = 200  # more tasks than write threads, so the thread pool writes


def _fleet(store: Store) -> dict[str, str]:
    files = {f"spaces/s{i:03d}/web-gui.yaml": f"image: v1 # {i}\n" for i in range(SPACES)}
    store.commit(files, "fleet\n")
    return files


def _fleet_wide_change(version: str) -> dict[str, str | None]:
    changes: dict[str, str | None] = {
        f"spaces/s{i:03d}/web-gui.yaml": f"image: {version} # {i}\n" for i in range(SPACES)}
    changes.update({f"spaces/s{i:03d}/new-{version}.yaml": "n\n" for i in range(0, SPACES, 10)})
    return changes


def _untracked(root: Path) -> list[str]:
    """What ``git status`` shows that is not a tracked file's change (``??`` lines)."""
    out = git(root, "status", "--porcelain", "--untracked-files=all")
    return [line for line in out.splitlines() if line.startswith("??")]


def _temp_files(temp_dir: Path) -> list[Path]:
    return [path for path in temp_dir.rglob("*") if path.is_file()]


def _work_tree_files(root: Path) -> set[str]:
    found = set()
    for parent, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        found.update(os.path.relpath(os.path.join(parent, name), root) for name in files)
    return found


def _replace_spy(monkeypatch: pytest.MonkeyPatch,
                 before: Callable[[str, str], None]) -> None:
    """Call ``before(src, dst)`` ahead of every os.replace into the work tree's spaces/."""
    real = os.replace

    def spy(src, dst, **kwargs):  # type: ignore[no-untyped-def]
        if "/spaces/" in str(dst):
            before(str(src), str(dst))
        real(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", spy)


def _killed_mid_write(store: Store, monkeypatch: pytest.MonkeyPatch, after: int, version: str = "v3") -> None:
    """A fleet-wide commit killed (kill -9: nothing cleans up) after ``after`` renames."""
    count = 0
    lock = threading.Lock()

    def die_after_some(src: str, dst: str) -> None:
        nonlocal count
        with lock:
            count += 1
            if count > after:
                raise Killed

    _replace_spy(monkeypatch, die_after_some)
    monkeypatch.setattr(Store, "recover", lambda self: False)
    with pytest.raises(Killed):
        store.commit(_fleet_wide_change(version), "doomed\n")
    monkeypatch.undo()


def test_no_temp_file_is_in_the_work_tree_at_any_time_during_a_write(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _fleet(store)
    changes = _fleet_wide_change("v2")
    allowed = _work_tree_files(store.root) | set(changes)  # tracked files, and those created
    temp_dir = Path(store.repo.git_dir) / TEMP_DIR
    seen: list[str] = []
    strays: list[str] = []
    sources: set[Path] = set()
    count = 0
    guard = threading.Lock()

    def look(src: str, dst: str) -> None:
        nonlocal count
        with guard:  # the writer's threads call this at once
            count += 1
            sources.add(Path(src).parent.parent)
            strays.extend(sorted(_work_tree_files(store.root) - allowed))
            if count % 25 == 1:
                seen.append(git(store.root, "status", "--porcelain", "--untracked-files=all"))

    _replace_spy(monkeypatch, look)
    store.commit(changes, "fleet-wide\n")
    assert count == SPACES  # every existing file was replaced by rename, none written in place
    assert strays == []
    assert sources == {temp_dir}  # the temp files were all under .git/ (a subdir per thread)
    # git sees changed and created files, as in any write, and nothing else
    assert len(seen) == 8 and all(line[3:] in changes for status in seen for line in status.splitlines())
    assert git(store.root, "status", "--porcelain", "--untracked-files=all") == ""
    assert _temp_files(temp_dir) == []


def test_a_kill_mid_write_leaves_nothing_after_the_next_read(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _fleet(store)
    head = store.head()
    temp_dir = Path(store.repo.git_dir) / TEMP_DIR
    _killed_mid_write(store, monkeypatch, after=120, version="v2")
    assert _temp_files(temp_dir)  # the killed writer's temp files, where git does not look
    untracked = _untracked(store.root)  # only the new files it created in place, half done
    assert untracked and all(line.endswith("/new-v2.yaml") for line in untracked)
    assert not any(".gitops-tmp" in path for path in _work_tree_files(store.root))

    reader = Store.open(store.root)  # the next command, a read
    assert reader.read("spaces/s199/web-gui.yaml") == files["spaces/s199/web-gui.yaml"]
    assert git(store.root, "status", "--porcelain", "--untracked-files=all") == ""
    assert _temp_files(temp_dir) == [] and not (temp_dir.parent / JOURNAL).exists()
    assert reader.head() == head


def test_temp_files_beside_their_targets_when_git_dir_is_on_another_filesystem(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """No atomic rename out of .git/ then: the old way, and the journal's recovery removes
    what a kill leaves."""
    _fleet(store)
    monkeypatch.setattr(WorkTree, "_temp_dir_for_renames", lambda self: None)
    store.commit(_fleet_wide_change("v2"), "beside\n")
    assert git(store.root, "status", "--porcelain", "--untracked-files=all") == ""

    _killed_mid_write(store, monkeypatch, after=50)
    assert any(path.endswith(".web-gui.yaml.gitops-tmp") for path in _work_tree_files(store.root))
    Store.open(store.root).read("spaces/s000/web-gui.yaml")
    assert git(store.root, "status", "--porcelain", "--untracked-files=all") == ""


def test_temp_files_older_versions_left_go_with_the_next_command_even_a_read(
        rendered: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    git_dir = rendered.repo / ".git"
    spaces = sorted(p.name for p in (rendered.repo / "spaces").iterdir())[:3]
    planted = [f"spaces/{space}/.web-gui.yaml.gitops-tmp" for space in spaces]

    def plant() -> None:
        for path in planted:
            (rendered.repo / path).write_text("half a file")
        assert len(_untracked(rendered.repo)) == len(planted)

    # killed mid-write by an older version: its journal names the paths
    plant()
    (git_dir / JOURNAL).write_text(json.dumps(
        {"paths": [p.replace("/.web-gui.yaml.gitops-tmp", "/web-gui.yaml") for p in planted],
         "old": rendered.git("rev-parse", "HEAD").strip()}))
    rendered.ok("space", "list")
    assert rendered.git("status", "--porcelain", "--untracked-files=all") == ""

    # left by an older version with no journal (it had recovered, but never removed them):
    # the first command of this version sweeps the work tree, once
    (git_dir / TEMP_DIR).rmdir()
    plant()
    rendered.ok("space", "list")
    assert rendered.git("status", "--porcelain", "--untracked-files=all") == ""
    assert (git_dir / TEMP_DIR).is_dir()

    # after that, opening the repo costs a stat or two: no walk, no lock
    def never(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a plain read walked the work tree or took the lock")

    monkeypatch.setattr(os, "walk", never)
    monkeypatch.setattr(Store, "lock", never)
    assert Store.open(rendered.repo).head() == rendered.git("rev-parse", "HEAD").strip()


def test_a_linked_worktree_keeps_its_temp_files_in_its_own_git_dir(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fleet(store)
    linked = tmp_path / "linked"
    git(store.root, "worktree", "add", "--quiet", "-b", "other", str(linked))
    other = Store.open(linked)
    temp_dir = Path(git(linked, "rev-parse", "--absolute-git-dir").strip()) / TEMP_DIR
    assert temp_dir.parent != Path(store.repo.git_dir)  # .git/worktrees/linked
    sources: set[Path] = set()
    _replace_spy(monkeypatch, lambda src, dst: sources.add(Path(src).parent.parent))
    other.commit(_fleet_wide_change("v2"), "in the linked worktree\n")
    assert sources == {temp_dir}
    assert git(linked, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(store.root, "status", "--porcelain", "--untracked-files=all") == ""
    assert (store.root / "spaces/s000/web-gui.yaml").read_text() == "image: v1 # 0\n"

    _killed_mid_write(other, monkeypatch, after=30)
    assert _temp_files(temp_dir)
    Store.open(linked).read("spaces/s000/web-gui.yaml")
    assert git(linked, "status", "--porcelain", "--untracked-files=all") == ""
    assert _temp_files(temp_dir) == []


def test_a_commit_to_another_branch_writes_no_file(store: Store) -> None:
    _fleet(store)
    git(store.root, "branch", "side")
    before = _work_tree_files(store.root)
    temp_dir = Path(store.repo.git_dir) / TEMP_DIR
    store.branch("refs/heads/side").commit(_fleet_wide_change("v2"), "on the side\n")
    assert _work_tree_files(store.root) == before and _temp_files(temp_dir) == []
    assert git(store.root, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_commit_needs_no_gitpython_and_names_who_made_it(store: Store) -> None:
    """Committing runs git's own commands (GitPython's import costs more than the commit):
    author and committer come from git's config and environment, or --author."""
    script = ("import sys; from pathlib import Path; from generator.store import Store; "
              "s = Store.open(Path(sys.argv[1])); "
              "print(s.commit({'spaces/a/x.yaml': 'x: 2\\n'}, 'second\\n', author='Jo Doe <jo@example.com>')); "
              "print('git' in sys.modules)")
    env = {**os.environ, "GIT_COMMITTER_NAME": "Ci Bot", "GIT_COMMITTER_EMAIL": "ci@example.com"}
    done = subprocess.run([os.environ.get("PYTHON", "python3"), "-c", script, str(store.root)],
                          capture_output=True, text=True, env=env, check=True)
    commit, imported = done.stdout.split()
    assert imported == "False"
    assert git(store.root, "rev-parse", "HEAD").strip() == commit
    assert git(store.root, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s").strip() == (
        "Jo Doe <jo@example.com>|Ci Bot <ci@example.com>|second")
    assert (store.root / "spaces/a/x.yaml").read_text() == "x: 2\n"
    assert git(store.root, "status", "--porcelain").strip() == ""
    assert git(store.root, "for-each-ref", "refs/gitops/").strip() == ""  # no staging ref left


def test_a_file_whose_folder_was_removed_by_hand_is_written_all_the_same(store: Store) -> None:
    """Folders are made for new files only: a replaced file's folder is there, unless a person
    removed it meanwhile, and then it is made again."""
    for path in (store.root / "spaces/a").iterdir():
        path.unlink()
    (store.root / "spaces/a").rmdir()
    store.commit({"spaces/a/x.yaml": "x: 3\n", "spaces/b/new.yaml": "n: 1\n"}, "third\n")
    assert (store.root / "spaces/a/x.yaml").read_text() == "x: 3\n"
    assert (store.root / "spaces/b/new.yaml").read_text() == "n: 1\n"
