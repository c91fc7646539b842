"""The manifests repo, written: commit changes, move refs, lock, recover. With snapshot.py and
commits.py, the only GitPython user.

A commit is made without scanning the work tree: the caller names every changed path and its
new content. The content goes into the object store through one ``git fast-import``
(``commits.fast_import``: a single pack, so no storm of loose objects and no automatic gc
afterwards), the branch moves with a
compare-and-swap ``update-ref`` (a concurrent writer cannot be overwritten), and only the named
files are written to the work tree (temp file under ``.git/gitops-tmp/`` + rename) and refreshed
in the index.

Crash safety: a journal under ``.git/`` names the paths being written; the next ``lock()``
(and so the next ``open``, reads included) finds it, empties the temp dir and puts those paths
back to what HEAD says, whichever side of the ref update the crash fell on. Temp files exist
only while the journal does, so no command killed at any moment leaves a file git can see once
the next command has opened the repo. One ``flock`` per repo serialises writers and dies with
its process.

A ``Store`` is either the checked-out branch with its work tree (what most commands change),
or another branch (``branch``): a changeset's, which commits move without touching the work
tree. Reading is ``snapshot.Snapshot``'s (a Store is one; ``view`` gives any past commit).

This module knows paths, text, commits and refs, not units, spaces or YAML.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from functools import cached_property
from typing import TYPE_CHECKING

from generator.blobs import blob_id
from generator.errors import LockedError, RepoError
from generator.snapshot import _UNKNOWN, ZERO, Snapshot, init, locate

if TYPE_CHECKING:  # GitPython is imported when a write first needs it (Snapshot.repo)
    import git

    from generator.worktree import WorkTree

JOURNAL = "gitops-journal.json"
LOCK = "gitops.lock"
# Temp files of work-tree writes (a subdir per writing thread), out of git's sight and on the
# work tree's filesystem (so a rename into place is atomic). The directory stays once made: it
# also says that the work tree has been swept of the temp files older versions left.
TEMP_DIR = "gitops-tmp"
MANY_PATHS = 1000  # a commit of this many paths rebuilds the index's cached trees

class Store(Snapshot):
    """A manifests repo on disk: a normal git work tree whose files gitops writes; or, made
    by ``branch``, another branch whose commits move only that branch."""

    def __init__(self, root: Path, repo: git.Repo | None, branch: str | None = None,
                 git_dir: Path | None = None) -> None:
        super().__init__(root, repo, branch, git_dir)
        self._temp_dir = self.git_dir / TEMP_DIR  # git_dir: a linked worktree's own

    @cached_property
    def files(self) -> WorkTree:
        """The work tree's files as commits write them (made, and its threads' module imported,
        when a write first needs it: a command that only reads never does)."""
        from generator.worktree import WorkTree

        return WorkTree(self.root, self._temp_dir)

    def branch(self, ref: str) -> Store:
        """Another branch (``refs/heads/...``, a changeset's): commits move it, and neither the
        work tree nor the checked-out branch."""
        if not ref.startswith("refs/heads/"):
            raise RepoError(f"{ref} is not a branch: it cannot change", "commit to a branch")
        return Store(self.root, self._repo, ref, self._git_dir)

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def exists(cls, path: Path) -> bool:
        """Whether ``path`` holds a git repository (so ``open`` would not create one)."""
        return locate(path.expanduser().absolute()) not in (None, "bare")

    def close(self) -> None:
        """Stop the git helper processes this store started (a long-running worker opens one
        store per cycle)."""
        if self._repo is not None:
            self._repo.close()
        self._blobs.close()

    def discard_new(self) -> None:
        """Remove a repo this command created and has not committed to (after a failure)."""
        if self.head() is None:
            self.close()
            shutil.rmtree(self.root)

    @classmethod
    def open(cls, path: Path, create: bool = False) -> Store:
        """Open the manifests repo at ``path``; with ``create``, ``git init`` it when missing."""
        path = path.expanduser().absolute()
        found = locate(path)  # git rev-parse: a command that only reads never imports GitPython
        if found == "bare":
            raise RepoError(f"{path} is a bare repository", "point --repo at a work tree")
        if found is None:
            if not create:
                raise RepoError(f"{path} is not a manifests repo (no git repository there)",
                                "run `gitops render` to create it, or pass --repo PATH")
            if path.exists() and any(path.iterdir()):
                raise RepoError(f"{path} exists, is not empty and is not a git repository",
                                "pass --repo with an empty or new directory, or `git init` it")
            path.mkdir(parents=True, exist_ok=True)
            found = init(path)
        assert not isinstance(found, str)
        root, git_dir, head = found
        store = cls(root, None, git_dir=git_dir)
        store._head = head  # as the lock finds it: taking the lock asks again
        if (store.git_dir / JOURNAL).exists():  # a command was killed mid-write: finish that
            with store.lock():                    # first, so that even a read sees whole files
                pass
        elif not store._temp_dir.is_dir():  # first open by this version: sweep older temp files
            # A writer holding the lock sweeps them itself; a read-only repo is left as it is.
            with contextlib.suppress(LockedError, OSError), store.lock(timeout=0):
                pass
        return store

    # --- refs and settings -----------------------------------------------------------------

    def branch_ref(self) -> str:
        """The ref commits move (``refs/heads/main``); a detached HEAD is an error."""
        if self.rev is not None:
            return self.rev
        checked_out = self.checked_out()
        if checked_out is None:
            raise RepoError(f"{self.root}: HEAD is detached", "check out a branch first")
        return checked_out

    def update_refs(self, updates: Mapping[str, tuple[str | None, str | None]], why: str) -> None:
        """Move refs all together or not at all: ref -> (new, expected old); None on the
        new side deletes it, None on the old side means it must not exist yet."""
        lines = ["start"]
        for ref, (new, old) in updates.items():
            if new is None:
                lines.append(f"delete {ref} {old or ''}".rstrip())
            else:
                lines.append(f"update {ref} {new} {old or ZERO}")
        try:
            self._run("update-ref", "--stdin", "-m", f"gitops: {why}",
                            data=("\n".join([*lines, "commit"]) + "\n").encode())
        except RepoError as e:
            raise RepoError(f"{next(iter(updates))} moved while this command ran; nothing changed",
                            "run the command again") from e
        finally:
            self._head = _UNKNOWN

    def pull(self) -> tuple[str | None, str | None] | None:
        """Fetch the checked-out branch from its remote (its upstream, else ``origin``) and
        fast-forward to it, work tree and index too, under the lock. None when the repo has no
        remote; else (head before, head after). It never merges: a branch that has diverged
        from its remote is an error (commits only here, not there yet, are left alone)."""
        if not self.repo.remotes:
            return None
        branch = self.branch_ref().removeprefix("refs/heads/")
        names = [r.name for r in self.repo.remotes]
        remote = self.get_setting(f"branch.{branch}.remote") or ("origin" if "origin" in names else names[0])
        theirs_ref = self.get_setting(f"branch.{branch}.merge") or f"refs/heads/{branch}"
        self._run("fetch", "--quiet", "--no-tags", remote, theirs_ref)
        theirs = self.resolve("FETCH_HEAD")
        with self.lock():
            old = self.head()
            if theirs is None or theirs == old or (old is not None and self.is_ancestor(theirs, old)):
                return old, old  # nothing new there (or only commits of ours it has not yet)
            if old is not None and not self.is_ancestor(old, theirs):
                raise RepoError(f"{branch} and {remote}'s {branch} have diverged",
                                "merge them by hand (gitops only fast-forwards), then run again")
            self._run("merge", "--ff-only", "--quiet", theirs)
            self._head = _UNKNOWN
            return old, self.head()

    def set_setting(self, key: str, value: str | None) -> None:
        """Set (or, with None, unset) a value of the repo's own git config."""
        if value is None:
            from git.exc import GitCommandError

            with contextlib.suppress(GitCommandError):
                self.git.config("--local", "--unset", key)
        else:
            self.git.config("--local", key, value)

    def dirty(self, *prefixes: str) -> list[str]:
        """Tracked paths under ``prefixes`` whose work-tree or index content differs from HEAD
        (another branch has no work tree: never dirty)."""
        if self.rev is not None or self.head() is None:
            return []
        out = self._run("status", "--porcelain=v1", "-z", "--untracked-files=no", "--", *prefixes)
        return sorted(entry[3:] for entry in out.split("\0") if len(entry) > 3)

    # --- writing ---------------------------------------------------------------------------

    def commit(self, changes: Mapping[str, str | None], message: str,
               author: str | None = None, head_blobs: Mapping[str, str] | None = None,
               also: Mapping[str, tuple[str | None, str | None]] | None = None,
               allow_empty: bool = False, start: str | None = None,
               gate: Callable[[str], None] | None = None) -> str | None:
        """Commit ``changes`` (path -> new text, None deletes) on top of this store's commit.

        Paths whose content is already what the commit has are left out; with nothing left, no
        commit is made and None is returned (unless ``allow_empty``). Otherwise the new
        commit's id. ``head_blobs``, when the caller read the tree under this lock, saves
        asking git again: it must hold every path under the top-level folders ``changes``
        touches. ``also``: other refs to move in the same transaction (see ``update_refs``).
        On a branch view, only the branch moves: the work tree is not touched; ``start`` makes
        a branch that does not exist yet, from that commit.
        ``gate``, when given, is called with the new commit's id once its objects exist and
        before any file or ref changes: if it raises, the repo is exactly as it was (the
        commit is left unreferenced) and the error goes on to the caller.
        """
        from generator import commits  # (identity and fast-import: a writer's imports)

        old = self.head()
        if old is not None and start is not None:
            raise RepoError(f"{self.branch_ref()} already exists", "pick another name")
        current = (self.blobs_at_head(list(changes)) if head_blobs is None
                   else {p: head_blobs[p] for p in changes if p in head_blobs})
        effective = {  # (a path new to the commit is not hashed: a first render has 23,000)
            path: text for path, text in changes.items()
            if (path in current if text is None else path not in current or current[path] != blob_id(text))
        }
        if not effective and not allow_empty:
            return None
        worktree = self.rev is None
        created = {p for p, text in effective.items() if text is not None and p not in current}
        in_the_way = _in_the_way(str(self.root), created) if worktree else []
        if in_the_way:
            raise RepoError(f"untracked file {in_the_way[0]} is in the way of a file gitops must write",
                            "move it away (or commit it) and run the command again")
        person, committer = commits.identity(self, author)
        ref = self.branch_ref()
        # git packs the objects on one core while this process writes the work tree; with a
        # gate, nothing is written until the gate has passed.
        write_now = worktree and gate is None
        paths = sorted(effective)
        if write_now:
            self._write_journal(paths, old)
        try:
            with commits.fast_import(self, effective, message, person, committer, old or start) as importing:
                if write_now:
                    # and indexed as they are written, while git makes the objects (the index
                    # names them by id alone until then: a failure or a crash now is undone
                    # by recover)
                    indexing = _Indexing(self)
                    try:
                        self.files.write(effective, created, indexing.add)
                    except BaseException:
                        indexing.stop()
                        raise
                    indexing.close()
            new = importing.commit
            if gate is not None:
                gate(new)
                if worktree:
                    self._write_journal(paths, old)
                    self.files.write(effective, created)
        except BaseException:
            self.recover()
            commits.drop_staging(self)
            raise
        try:
            self.update_refs({ref: (new, old), commits.STAGING_REF: (None, None), **(also or {})},
                             message.splitlines()[0])
        except RepoError:
            self.recover()
            raise
        self._head = new
        if worktree:
            if write_now:
                self._cache_trees(len(paths))
            else:
                self._refresh_index(paths)
            self._clear_journal()
        return new

    def prepare(self, changes: Mapping[str, str | None], message: str, author: str | None = None) -> str:
        """The commit of ``changes`` on top of this store's commit, made but not landed: no
        branch, file or index moves (a view of it shows the state ``commit`` would make)."""
        from generator import commits  # (identity and fast-import: a writer's imports)

        person, committer = commits.identity(self, author)
        with commits.fast_import(self, changes, message, person, committer, self.head()) as importing:
            pass
        commits.drop_staging(self)
        return importing.commit

    def _refresh_index(self, paths: list[str]) -> None:
        self._index(paths)
        self._cache_trees(len(paths))

    def _index(self, paths: list[str]) -> None:
        """``paths`` in git's index as the work tree has them (gone: out of it)."""
        self._run("update-index", "--add", "--remove", "-z", "--stdin",
                  data=b"\0".join(p.encode() for p in paths) + b"\0")

    def _cache_trees(self, count: int) -> None:
        """After ``count`` paths changed in the index: its cached trees back, if many."""
        if count >= MANY_PATHS:
            # update-index forgets the index's cached trees along every path it changes; with
            # them gone from most of the tree, each `git status` compares every entry with HEAD
            # (0.3-0.6 s at 220,000 files, where it is otherwise 0.04 s). write-tree puts them
            # back, as `git commit` would (the trees exist: the commit made them).
            self._try("write-tree")

    # --- crash safety and the lock ---------------------------------------------------------

    def _write_journal(self, paths: list[str], old: str | None) -> None:
        journal = self.git_dir / JOURNAL
        tmp = journal.with_suffix(".tmp")
        tmp.write_text(json.dumps({"paths": paths, "old": old}))
        os.replace(tmp, journal)

    def _clear_journal(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.git_dir / JOURNAL).unlink()

    def _restore(self, paths: list[str]) -> None:
        """Put ``paths`` back to what HEAD has, in the work tree and the index."""
        at_head = self.blobs_at_head(paths)
        keep = [p for p in paths if p in at_head]
        gone = [p for p in paths if p not in at_head]
        if keep:
            self._run("checkout", "HEAD", "--pathspec-from-file=-", "--pathspec-file-nul",
                            data=b"\0".join(p.encode() for p in keep) + b"\0")
        self.files.write({p: None for p in gone}, set())
        if gone:
            self._refresh_index(gone)

    def recover(self) -> bool:
        """Finish what a killed command left: temp files gone, journaled paths back to HEAD.
        True if it did."""
        from generator import commits  # (identity and fast-import: a writer's imports)

        self._head = _UNKNOWN
        journal = self.git_dir / JOURNAL
        try:
            paths = json.loads(journal.read_text())["paths"]
        except FileNotFoundError:
            return False
        except (ValueError, KeyError):
            paths = []
        self.files.remove_temp_files(paths)
        self._restore(paths)
        commits.drop_staging(self)
        self._clear_journal()
        return True

    @contextlib.contextmanager
    def lock(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the repo's write lock (waiting up to ``timeout`` s), recovering a crash first
        (and, the first time, sweeping temp files older versions left)."""
        if timeout is None:
            timeout = float(os.environ.get("GITOPS_LOCK_TIMEOUT", "60"))
        path = self.git_dir / LOCK
        with open(path, "a") as handle:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise LockedError(
                            f"another gitops command is changing {self.root} (waited {timeout:g}s)",
                            "wait for it to finish and run this again; set GITOPS_LOCK_TIMEOUT "
                            "to wait longer",
                        ) from None
                    time.sleep(0.05)
            _HELD.add(handle.fileno())
            try:
                self.recover()
                if not self._temp_dir.is_dir():
                    self.files.sweep_old_temp_files()
                yield
            finally:
                _HELD.discard(handle.fileno())
                fcntl.flock(handle, fcntl.LOCK_UN)


_HELD: set[int] = set()  # the file descriptors of the repo locks this process holds


def _let_go_in_a_copy() -> None:
    """In a forked copy of this process: close its copies of the lock files. A flock belongs to
    the open file, which a fork shares: a copy that outlived a killed command would otherwise
    keep the repo locked. (The lock stays this process's: closing a copy does not release it.)"""
    for fd in _HELD:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_let_go_in_a_copy)


def _in_the_way(root: str, created: set[str]) -> list[str]:
    """The paths of ``created`` something is at in the work tree already, sorted. A folder
    that is not there has nothing under it: one look for it, not one for each of its files
    (a first render creates 23,000 files in 1000 folders)."""
    by_folder: dict[str, list[str]] = {}
    for path in created:
        by_folder.setdefault(os.path.dirname(path), []).append(path)
    return sorted(path for folder, paths in by_folder.items()
                  if not folder or os.path.lexists(os.path.join(root, folder))
                  for path in paths if os.path.lexists(os.path.join(root, path)))


class _Indexing:
    """``git update-index --info-only`` of paths given while their files are written (``add``,
    from any thread): git hashes each file as it comes, beside the writing, where it once
    hashed them all after it (0.35 s for a first render's 23,000). ``close`` ends git's input:
    it then writes the index; ``stop`` ends git without (SIGTERM: git removes its lock and
    writes nothing). The objects are the commit's, made by fast-import meanwhile."""

    def __init__(self, store: Store) -> None:
        from generator import commits  # (a writer's imports)

        self._last_line = commits.last_line
        self._errors = tempfile.TemporaryFile()
        try:
            self._process, write = store.start(
                ["update-index", "--add", "--remove", "--info-only", "-z", "--stdin"], self._errors, {})
        except BaseException:
            self._errors.close()
            raise
        self._input = open(write, "wb")  # noqa: SIM115 - closed by close or stop
        self._lock = threading.Lock()
        self._stopped = False  # git stopped reading: close says why

    def add(self, paths: list[str]) -> None:
        data = b"".join(path.encode() + b"\0" for path in paths)
        with self._lock:
            if not self._stopped:
                try:
                    self._input.write(data)
                except BrokenPipeError:
                    self._stopped = True

    def close(self) -> None:
        """The paths are all given: wait for git to write the index (RepoError if it fails)."""
        with contextlib.suppress(BrokenPipeError):
            self._input.close()
        status = self._process.wait()
        self._errors.seek(0)
        said = self._errors.read()
        self._errors.close()
        if status != 0:
            raise RepoError(f"git update-index failed: {self._last_line(said, status)}",
                            "check the manifests repo with `git status`")

    def stop(self) -> None:
        """End git before its input ends: the index stays as it was."""
        self._process.terminate()
        self._process.wait()
        with contextlib.suppress(OSError):
            self._input.close()
        self._errors.close()
