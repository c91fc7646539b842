"""One commit of the manifests repo, read-only: its files, blobs and history. (Git splits its
commands into porcelain for reading and for writing; here ``Snapshot`` reads, ``store.Store``
writes.)

A snapshot of ``rev`` None is the checked-out branch: its files are read from the work tree
(what HEAD has, under the lock). Any other rev is read from git alone.

Knows paths, text, commits and refs, not units, spaces or YAML; never writes anything. Reads
run git's own commands directly (one process each; blobs one at a time through one
``git cat-file --batch``): a command that only reads never imports GitPython, which costs more
than anything else it imports. ``repo`` (GitPython) is made when a writer first asks for it.
"""

from __future__ import annotations

import os
import subprocess
import weakref
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple

from generator.blobs import EMPTY_TREE
from generator.errors import RepoError

if TYPE_CHECKING:
    import git
    from git.exc import GitCommandError

_UNKNOWN = object()
ZERO = "0" * 40


class GitFailed(Exception):
    """A git command that exited non-zero: its exit status and the last line it wrote to
    stderr."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _CatFile:
    """One ``git cat-file --batch`` for reading blobs one at a time (what GitPython's object
    database does): started on the first read, ended with its snapshot."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.process: subprocess.Popen[bytes] | None = None

    def read(self, blob: str) -> bytes | None:
        """The blob's content; None when there is no such blob."""
        process = self.process
        if process is None or process.poll() is not None:
            process = self.process = subprocess.Popen(
                ["git", "cat-file", "--batch"], cwd=self.root, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            weakref.finalize(self, _end, process)
        stdin, stdout = process.stdin, process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(blob.encode() + b"\n")
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3 or header[1] != b"blob":
            return None
        return _exactly(stdout, int(header[2]) + 1)[:-1]  # the content, then a line feed


    def close(self) -> None:
        """End the process, if one was started."""
        if self.process is not None:
            _end(self.process)
            self.process = None

    def forked(self) -> None:
        """In a forked child: the parent's process is the parent's (not ended, not written
        to); the child starts its own on its first read."""
        self.process = None


def _exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise OSError("git cat-file ended early")
    return data


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.stdin:
        process.stdin.close()
    process.wait()
    if process.stdout:
        process.stdout.close()


class Commit(NamedTuple):
    """One commit as history shows it (a named tuple: every command imports this module, and a
    frozen dataclass costs ~1.5 ms to create)."""

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

    def __init__(self, root: Path, repo: git.Repo | None = None, rev: str | None = None,
                 git_dir: Path | None = None) -> None:
        self.root = root
        self._repo = repo
        self.rev = rev  # None: the checked-out branch, read from its work tree
        self._head: str | None | object = _UNKNOWN
        self._git_dir = git_dir or (Path(repo.git_dir) if repo is not None else None)
        self._blobs = _CatFile(root)

    def forked(self) -> None:
        """In a process forked from this one: the git helper it reads blobs through is the
        parent's (never ended, read or written here); the child starts its own."""
        self._blobs.forked()

    @property
    def repo(self) -> git.Repo:
        """The repo as GitPython has it (imported when first asked for: writers use it)."""
        if self._repo is None:
            import git

            self._repo = git.Repo(self.root)
        return self._repo

    @property
    def git(self) -> git.Git:
        """GitPython's git command runner."""
        return self.repo.git

    @property
    def git_dir(self) -> Path:
        """The repo's git dir (a linked worktree's own: ``.git/worktrees/<name>``)."""
        if self._git_dir is None:
            self._git_dir = Path(self._run("rev-parse", "--absolute-git-dir").strip())
        return self._git_dir

    def private_path(self, name: str) -> Path:
        """A file of gitops's own under the repo's git dir (never committed), e.g. the field
        index; a linked worktree has its own."""
        return self.git_dir / name

    def view(self, rev: str) -> Snapshot:
        """The repo as of ``rev`` (a commit, a tag, a branch), read-only."""
        return Snapshot(self.root, self._repo, rev, self._git_dir)

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
        out = self._try("rev-parse", "--verify", "-q", "--end-of-options", f"{rev}^{{commit}}")
        return out.strip() if out else None

    def checked_out(self) -> str | None:
        """The branch the work tree has checked out (``refs/heads/main``); None when detached."""
        out = self._try("symbolic-ref", "-q", "HEAD")
        return out.strip() if out else None

    def tree(self, *prefixes: str) -> dict[str, str]:
        """path -> blob id of every file under ``prefixes`` (empty before any commit)."""
        rev = self.head()
        if rev is None:
            return {}
        # path NUL blob NUL ...: split by C code, no loop over a fleet's files
        out = self._try("ls-tree", "-r", "-z", "--full-tree", "--format=%(path)%x00%(objectname)",
                        rev, "--", *prefixes)
        if out is not None:  # None: git before 2.36 has no --format
            fields = out.split("\0")
            return dict(zip(fields[0::2], fields[1::2]))
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
        out = self._run("cat-file", "--batch-check=%(objectname) %(objecttype)",
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
            bytes.fromhex(blob)  # an id, nothing that could talk to cat-file
            data = self._blobs.read(blob)
        except (ValueError, OSError) as e:
            raise RepoError(f"blob {blob} is missing from {self.root}", "run `git fsck`") from e
        if data is None:
            raise RepoError(f"blob {blob} is missing from {self.root}", "run `git fsck`")
        return data.decode()

    def containing(self, texts: list[str], *prefixes: str, clean: bool = False) -> set[str] | None:
        """Paths of the files under ``prefixes`` at this snapshot's commit that contain every
        one of ``texts`` (fixed strings, case-sensitive, each within one line): one
        ``git grep`` over the commit's blobs, in C, where reading each blob into Python costs
        several times more. None when git cannot answer that exactly (a text with a line
        break, or none at all): the caller reads the files itself. ``clean``: the caller found
        the work tree's tracked files under ``prefixes`` equal to HEAD under the lock (a
        mutation's check_clean); the checked-out branch is then searched there, where git
        greps files in threads, three times faster than the blobs of a commit."""
        head = self.head()
        if not texts or any(not t or "\n" in t or "\r" in t for t in texts):
            return None
        if head is None:
            return set()
        patterns = [arg for text in texts for arg in ("-e", text)]
        where = [] if clean and self.rev is None else [head]  # none: the work tree's tracked files
        try:
            out = self._git("--literal-pathspecs", "grep", "-l", "-z", "-F", "--no-color", "--no-textconv",
                            "--full-name", "--all-match", *patterns, *where, "--", *prefixes).decode()
        except GitFailed as e:
            if e.status == 1:  # nothing matched
                return set()
            raise RepoError(f"git grep failed in {self.root}: {e.message}",
                            "check the manifests repo with `git status`") from e
        start = len(head) + 1 if where else 0  # from a commit, each path comes as <commit>:<path>
        return {entry[start:] for entry in out.split("\0") if entry}

    def read_blobs(self, blobs: list[str]) -> dict[str, str]:
        """The texts of many blobs by id, through one ``git cat-file --batch`` (reading them
        one by one costs a round trip to git each)."""
        if not blobs:
            return {}
        try:
            out = self._git("cat-file", "--batch", data="".join(f"{blob}\n" for blob in blobs).encode())
        except GitFailed as e:
            raise RepoError(f"git cat-file failed in {self.root}: {e.message}", "run `git fsck`") from e
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
        out = self._try("merge-base", a, b)
        return out.strip() or None if out else None

    def is_ancestor(self, a: str, b: str) -> bool:
        """Whether commit ``a`` is in the history of ``b``."""
        return self._try("merge-base", "--is-ancestor", a, b) is not None

    def refs(self, prefix: str) -> dict[str, str]:
        """ref name -> commit id of every ref under ``prefix`` (``refs/heads/changeset/``)."""
        out = self._run("for-each-ref", "--format=%(refname)%00%(objectname)", prefix)
        return dict(line.split("\0", 1) for line in out.splitlines() if "\0" in line)

    def get_setting(self, key: str) -> str | None:
        """A value of the repo's own git config (``gitops.changeset``), None when unset."""
        out = self._try("config", "--local", "--get", key)
        return out.strip() or None if out else None

    def _git(self, *args: str, data: bytes | None = None) -> bytes:
        """git's output; GitFailed when it exits non-zero."""
        try:
            done = subprocess.run(["git", *args], cwd=self.root, input=data, capture_output=True,
                                  stdin=None if data is not None else subprocess.DEVNULL, check=False)
        except OSError as e:
            raise RepoError(f"cannot run git: {e.strerror}", "install git and put it on PATH") from e
        if done.returncode != 0:
            lines = [ln.strip() for ln in done.stderr.decode(errors="replace").splitlines() if ln.strip()]
            raise GitFailed(done.returncode, lines[-1] if lines else f"exit {done.returncode}")
        return done.stdout

    def output(self, *args: str) -> str | None:
        """git's output for ``args``, or None when it exits non-zero (commits.py's questions)."""
        return self._try(*args)

    def start(self, args: list[str], stderr: IO[bytes], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
        """git ``args`` started in the work tree with ``env`` added to this process's, its output
        dropped, its input the read end of a new pipe: returns the process and the pipe's write
        end, the caller's to write and close (git then sees its input end). commits.py's ``git
        fast-import`` and store.py's ``update-index`` of files as they are written."""
        read, write = os.pipe()
        try:
            with os.fdopen(read, "rb") as stdin:  # git has its own copy: this one is closed
                return subprocess.Popen(["git", *args], cwd=self.root, stdin=stdin, stdout=subprocess.DEVNULL,
                                        stderr=stderr, env={**os.environ, **env}), write
        except OSError as e:
            os.close(write)
            raise RepoError(f"cannot run git: {e.strerror}", "install git and put it on PATH") from e
        except BaseException:
            os.close(write)
            raise

    def _try(self, *args: str) -> str | None:
        """git's output, or None when it exits non-zero (the answer "no")."""
        try:
            return self._git(*args).decode()
        except GitFailed:
            return None

    def _run(self, *args: str, data: bytes | None = None) -> str:
        try:
            return self._git(*args, data=data).decode()
        except GitFailed as e:
            raise RepoError(f"git {args[0]} failed in {self.root}: {e.message}",
                            "check the manifests repo with `git status`") from e


def locate(path: Path) -> tuple[Path, Path, str | None] | str | None:
    """The work tree ``path`` is the top of, its git dir and HEAD's commit (None before the
    first); "bare" for a bare repository; None when ``path`` is no repository's top
    (missing, not in one, or a folder inside one). One git process: every command asks."""
    try:
        done = subprocess.run(["git", "-C", str(path), "rev-parse", "--is-bare-repository",
                               "--absolute-git-dir", "--show-toplevel", "--verify", "-q", "HEAD^{commit}"],
                              capture_output=True, stdin=subprocess.DEVNULL, check=False)
    except OSError as e:
        raise RepoError(f"cannot run git: {e.strerror}", "install git and put it on PATH") from e
    lines = done.stdout.decode().splitlines()
    if lines[:1] == ["true"]:
        return "bare"
    # exit 1 with three lines: a repository whose HEAD names no commit yet
    found = (done.returncode == 0 and len(lines) == 4) or (done.returncode == 1 and len(lines) == 3)
    if not found or Path(lines[2]).resolve() != path.resolve():
        return None
    return Path(lines[2]), Path(lines[1]), lines[3] if len(lines) == 4 else None


def init(path: Path) -> tuple[Path, Path, str | None]:
    """``git init`` an empty folder (branch main); what ``locate`` then finds there. git itself:
    GitPython's import alone is ~0.1 s of a first render."""
    try:
        done = subprocess.run(["git", "init", "-q", "--initial-branch=main", str(path)],
                              capture_output=True, stdin=subprocess.DEVNULL, check=False)
    except OSError as e:
        raise RepoError(f"cannot run git: {e.strerror}", "install git and put it on PATH") from e
    found = locate(path) if done.returncode == 0 else None
    if not isinstance(found, tuple):
        lines = done.stderr.decode(errors="replace").strip().splitlines() or [f"exit {done.returncode}"]
        raise RepoError(f"git init failed in {path}: {lines[-1]}", "check that the folder is writable")
    return found


def git_error(e: GitCommandError) -> str:
    """The last line git wrote to stderr, for a one-line error."""
    text = e.stderr if isinstance(e.stderr, str) else str(e.stderr or "")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1].removeprefix("stderr: ").strip("'") if lines else f"exit {e.status}"
