"""One commit of the manifests repo, read-only: its files, blobs and history. (Git splits its
commands into porcelain for reading and for writing; here ``Snapshot`` reads, ``store.Store``
writes.)

A snapshot of ``rev`` None is the checked-out branch: its files are read from the work tree
(what HEAD has, under the lock). Any other rev is read from git alone.

Knows paths, text, commits and refs, not units, spaces or YAML; never writes anything.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import git
from git.exc import GitCommandError

from generator.blobs import EMPTY_TREE
from generator.errors import RepoError

_UNKNOWN = object()
ZERO = "0" * 40


@dataclass(frozen=True)
class Commit:
    """One commit as history shows it."""

    id: str
    parents: tuple[str, ...]
    time: int  # seconds since the epoch (author time)
    author: str
    email: str
    message: str

    @property
    def iso_time(self) -> str:
        """The author time, ISO 8601 in UTC: how every listing shows a commit's time."""
        return datetime.fromtimestamp(self.time, timezone.utc).isoformat()


class Snapshot:
    """The manifests repo as of one commit (``rev``), or as checked out (``rev`` None)."""

    def __init__(self, root: Path, repo: git.Repo, rev: str | None = None) -> None:
        self.root = root
        self.repo = repo
        self.git = repo.git
        self.rev = rev  # None: the checked-out branch, read from its work tree
        self._head: str | None | object = _UNKNOWN

    def private_path(self, name: str) -> Path:
        """A file of gitops's own under the repo's git dir (never committed), e.g. the field
        index; a linked worktree has its own."""
        return Path(self.repo.git_dir) / name

    def view(self, rev: str) -> Snapshot:
        """The repo as of ``rev`` (a commit, a tag, a branch), read-only."""
        return Snapshot(self.root, self.repo, rev)

    def head(self) -> str | None:
        """The commit this snapshot is of (HEAD, or ``rev``), or None when there is none.

        Asked once and kept: gitops moves it only in ``commit`` (which updates it) and
        under the lock, so within one command it changes only through this object.
        """
        if self._head is _UNKNOWN:
            self._head = self.resolve(self.rev or "HEAD")
        return self._head  # type: ignore[return-value]

    def resolve(self, rev: str) -> str | None:
        """The commit id ``rev`` names, or None when it names no commit."""
        try:
            return str(self.git.rev_parse("--verify", "-q", "--end-of-options", f"{rev}^{{commit}}"))
        except GitCommandError:
            return None

    def checked_out(self) -> str | None:
        """The branch the work tree has checked out (``refs/heads/main``); None when detached."""
        try:
            return str(self.git.symbolic_ref("-q", "HEAD"))
        except GitCommandError:
            return None

    def tree(self, *prefixes: str) -> dict[str, str]:
        """path -> blob id of every file under ``prefixes`` (empty before any commit)."""
        rev = self.head()
        if rev is None:
            return {}
        try:  # path NUL blob NUL ...: split by C code, no loop over a fleet's files
            out = str(self.git.execute(["git", "ls-tree", "-r", "-z", "--full-tree",
                                        "--format=%(path)%x00%(objectname)", rev, "--", *prefixes],
                                       strip_newline_in_stdout=False))
            fields = out.split("\0")
            return dict(zip(fields[0::2], fields[1::2]))
        except GitCommandError:  # git before 2.36 has no --format
            pass
        out = self._run("ls-tree", "-r", "-z", "--full-tree", rev, "--", *prefixes)
        blobs = {}
        for entry in out.split("\0"):
            if entry:
                meta, _, path = entry.partition("\t")
                blobs[path] = meta.split()[2]
        return blobs

    def blobs_at_head(self, paths: list[str]) -> dict[str, str]:
        """path -> blob id at HEAD for those of ``paths`` that HEAD has (one git process)."""
        head = self.head()
        if not paths or head is None:
            return {}
        out = self._run_input("cat-file", "--batch-check=%(objectname) %(objecttype)",
                              data="".join(f"{head}:{p}\n" for p in paths).encode())
        blobs = {}
        for path, line in zip(paths, out.splitlines()):
            name, _, kind = line.partition(" ")
            if kind == "blob":
                blobs[path] = name
        return blobs

    def read(self, path: str) -> str:
        """A file as text: from the work tree, or in a snapshot of a rev from its commit."""
        if self.rev is not None:
            blob = self.blobs_at_head([path]).get(path)
            if blob is None:
                raise RepoError(f"{path} is missing from {self.rev}", "run `git fsck`")
            return self.read_blob(blob)
        try:
            return (self.root / path).read_text()
        except FileNotFoundError as e:
            raise RepoError(f"{path} is missing from {self.root}",
                            "restore it with `git checkout -- PATH`") from e

    def read_blob(self, blob: str) -> str:
        """The text of a blob by id."""
        try:
            return bytes(self.repo.odb.stream(bytes.fromhex(blob)).read()).decode()
        except (ValueError, OSError, GitCommandError) as e:
            raise RepoError(f"blob {blob} is missing from {self.root}", "run `git fsck`") from e

    def containing(self, texts: list[str], *prefixes: str) -> set[str] | None:
        """Paths of the files under ``prefixes`` at this snapshot's commit that contain every
        one of ``texts`` (fixed strings, case-sensitive, each within one line): one
        ``git grep`` over the commit's blobs, in C, where reading each blob into Python costs
        several times more. None when git cannot answer that exactly (a text with a line
        break, or none at all): the caller reads the files itself."""
        head = self.head()
        if not texts or any(not t or "\n" in t or "\r" in t for t in texts):
            return None
        if head is None:
            return set()
        patterns = [arg for text in texts for arg in ("-e", text)]
        try:
            out = str(self.git.execute(["git", "--literal-pathspecs", "grep", "-l", "-z", "-F", "--no-color", "--no-textconv",
                                        "--all-match", *patterns, head, "--", *prefixes],
                                       strip_newline_in_stdout=False))
        except GitCommandError as e:
            if e.status == 1:  # nothing matched
                return set()
            raise RepoError(f"git grep failed in {self.root}: {git_error(e)}",
                            "check the manifests repo with `git status`") from e
        start = len(head) + 1  # each path comes as <commit>:<path>
        return {entry[start:] for entry in out.split("\0") if entry}

    def read_blobs(self, blobs: list[str]) -> dict[str, str]:
        """The texts of many blobs by id, through one ``git cat-file --batch`` (reading them
        one by one costs a round trip to git each)."""
        if not blobs:
            return {}
        with tempfile.TemporaryFile() as stream:
            stream.write("".join(f"{blob}\n" for blob in blobs).encode())
            stream.seek(0)
            try:
                out = bytes(self.git.execute(["git", "cat-file", "--batch"], istream=stream,
                                             stdout_as_string=False, strip_newline_in_stdout=False))
            except GitCommandError as e:
                raise RepoError(f"git cat-file failed in {self.root}: {git_error(e)}", "run `git fsck`") from e
        texts, at = {}, 0
        for blob in blobs:
            end = out.index(b"\n", at)
            header = out[at:end].split()
            if len(header) != 3 or header[1] != b"blob":
                raise RepoError(f"blob {blob} is missing from {self.root}", "run `git fsck`")
            size = int(header[2])
            texts[blob] = out[end + 1:end + 1 + size].decode()
            at = end + 1 + size + 1  # the content, then a line feed
        return texts

    def revisions(self, path: str) -> int:
        """How many commits of the history touched ``path`` (its revision number)."""
        head = self.head()
        if head is None:
            return 0
        return int(self._run("rev-list", "--count", head, "--", path).strip() or 0)

    def log(self, *paths: str, since: str | None = None, first_parent: bool = False,
            rev: str | None = None) -> list[Commit]:
        """Commits of the history (from ``rev``, default this snapshot's), newest first; with
        ``paths``, only those that touched them, as ``git log -- PATHS`` counts them."""
        start = rev or self.head()
        if start is None:
            return []
        args = ["log", "-z", "--format=%H%x1f%P%x1f%at%x1f%an%x1f%ae%x1f%B"]
        if since:
            args.append(f"--since={since}")
        if first_parent:
            args.append("--first-parent")
        out = self._run(*args, start, "--", *paths)
        commits = []
        for entry in out.split("\0"):
            if entry.strip():
                sha, parents, when, name, email, message = entry.split("\x1f", 5)
                commits.append(Commit(sha.strip(), tuple(parents.split()), int(when), name, email,
                                      message))
        return commits

    def changed(self, old: str | None, new: str, *prefixes: str) -> dict[str, tuple[str | None, str | None]]:
        """path -> (blob before, blob after) of every file that differs between two commits
        (``old`` None: the empty tree), under ``prefixes``; None stands for no file."""
        base = old or EMPTY_TREE
        out = self._run("diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", base, new,
                        "--", *prefixes)
        fields = out.split("\0")
        result: dict[str, tuple[str | None, str | None]] = {}
        for meta, path in zip(fields[0::2], fields[1::2]):
            if not meta.startswith(":"):
                continue
            _, _, before, after, _ = meta[1:].split(" ", 4)
            result[path] = (None if before == ZERO else before, None if after == ZERO else after)
        return result

    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor of two commits (None: unrelated histories)."""
        try:
            return str(self.git.merge_base(a, b)).strip() or None
        except GitCommandError:
            return None

    def is_ancestor(self, a: str, b: str) -> bool:
        """Whether commit ``a`` is in the history of ``b``."""
        try:
            self.git.merge_base("--is-ancestor", a, b)
            return True
        except GitCommandError:
            return False

    def refs(self, prefix: str) -> dict[str, str]:
        """ref name -> commit id of every ref under ``prefix`` (``refs/heads/changeset/``)."""
        out = self._run("for-each-ref", "--format=%(refname)%00%(objectname)", prefix)
        return dict(line.split("\0", 1) for line in out.splitlines() if "\0" in line)

    def get_setting(self, key: str) -> str | None:
        """A value of the repo's own git config (``gitops.changeset``), None when unset."""
        try:
            return str(self.git.config("--local", "--get", key)).strip() or None
        except GitCommandError:
            return None

    def _run(self, *args: str) -> str:
        try:
            return str(self.git.execute(["git", *args], strip_newline_in_stdout=False))
        except GitCommandError as e:
            raise RepoError(f"git {args[0]} failed in {self.root}: {git_error(e)}",
                            "check the manifests repo with `git status`") from e

    def _run_input(self, *args: str, data: bytes) -> str:
        with tempfile.TemporaryFile() as stream:
            stream.write(data)
            stream.seek(0)
            try:
                return str(self.git.execute(["git", *args], istream=stream))
            except GitCommandError as e:
                raise RepoError(f"git {args[0]} failed in {self.root}: {git_error(e)}",
                                "check the manifests repo with `git status`") from e


def git_error(e: GitCommandError) -> str:
    """The last line git wrote to stderr, for a one-line error."""
    text = e.stderr if isinstance(e.stderr, str) else str(e.stderr or "")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1].removeprefix("stderr: ").strip("'") if lines else f"exit {e.status}"
