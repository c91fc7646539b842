"""A commit object made: who makes it (``Ident``, ``identity``) and its objects written by one
``git fast-import`` onto a staging ref (``fast_import``).

Only the objects: no branch, file or index moves here (``store.Store.commit`` lands what this
makes). This module knows paths, text and git identities, not units, spaces or YAML; it runs
git's commands through the repo's Snapshot (``repo``), which starts them: a commit needs no
GitPython, whose import costs more than the commit's own git processes.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from generator.errors import RepoError

if TYPE_CHECKING:
    from generator.snapshot import Snapshot

STAGING_REF = "refs/gitops/staging"

# fast-import allocates and frees a zlib stream per object; glibc then hands the heap back to
# the kernel each time (72,000 brk calls for a 17,000-file commit, half its run time). A larger
# trim threshold keeps the heap. Only the fast-import child process gets this.
_FAST_IMPORT_ENV = {"GLIBC_TUNABLES": ":".join(filter(None, [
    os.environ.get("GLIBC_TUNABLES", ""),
    "glibc.malloc.trim_threshold=268435456:glibc.malloc.top_pad=67108864"]))}


@dataclass(frozen=True)
class Ident:
    """A git identity line: ``Name <email> seconds tz``."""

    name: str
    email: str
    when: str

    def line(self) -> str:
        return f"{self.name} <{self.email}> {self.when}"


def _parse_ident(line: str) -> Ident:
    name, _, rest = line.partition(" <")
    email, _, when = rest.partition("> ")
    return Ident(name.strip(), email, when.strip())


def parse_author(text: str) -> tuple[str, str]:
    """``'Jane Doe <jane@example.com>'`` -> (name, email).

    >>> parse_author("Jane Doe <jane@example.com>")
    ('Jane Doe', 'jane@example.com')
    """
    name, sep, rest = text.partition("<")
    email = rest.rstrip().rstrip(">")
    if not sep or not name.strip() or "@" not in email:
        raise RepoError(f"--author {text!r} is not 'Name <email>'",
                        "write it as --author 'Jane Doe <jane@example.com>'")
    return name.strip(), email.strip()


def last_line(stderr: bytes, status: int) -> str:
    """What a failed git said last (its exit status when it said nothing)."""
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else f"exit {status}"


def identity(repo: Snapshot, author: str | None = None) -> tuple[Ident, Ident]:
    """(author, committer): the person from git config / GIT_* env, or ``--author``.

    Where git knows nobody (a fresh machine), the operating-system account stands in, as
    git itself does when it can: the person at the keyboard, never a made-up bot.
    """
    committer_var = repo.output("var", "GIT_COMMITTER_IDENT")
    author_var = repo.output("var", "GIT_AUTHOR_IDENT") if committer_var is not None else None
    if committer_var is not None and author_var is not None:
        committer = _parse_ident(committer_var.strip())
        person = _parse_ident(author_var.strip())
    else:
        user = getpass.getuser()
        when = f"{int(time.time())} +0000"
        committer = person = Ident(user, f"{user}@{socket.gethostname() or 'localhost'}", when)
    if author:
        name, email = parse_author(author)
        person = Ident(name, email, person.when)
    return person, committer


@dataclass
class Import:
    """What ``fast_import`` made: the new commit's id, set when the block has been left."""

    commit: str = ""


@contextlib.contextmanager
def fast_import(repo: Snapshot, changes: Mapping[str, str | None], message: str, person: Ident,
                committer: Ident, parent: str | None) -> Iterator[Import]:
    """Start ``git fast-import`` on a commit of ``changes`` (path -> text, None deletes) onto
    STAGING_REF; the block runs while it works; on leaving, wait for it and set ``.commit``
    (or raise RepoError). A thread of this process writes git its input as git reads it, while
    the block runs: at 1000 regions that input is 32 MB, 0.2-0.3 s to write out."""
    with tempfile.TemporaryFile() as errors:
        # Objects stored without zlib (pack.compression=0; deltas all the same): a quarter of
        # fast-import's CPU, on the commit's critical path, for a pack ~1.5x the size (git's gc
        # keeps objects as they are stored; `git repack -adF` compresses them).
        process, write = repo.start(["-c", "gc.auto=0", "-c", "pack.compression=0", "fast-import", "--quiet",
                                     "--done", "--force"], errors, _FAST_IMPORT_ENV)
        failed: list[BaseException] = []

        def feed() -> None:
            try:
                _feed(write, changes, message, person, committer, parent)
            except BaseException as e:  # raised below, in the command's own thread
                failed.append(e)

        feeder = threading.Thread(target=feed, name="gitops-fast-import", daemon=True)
        feeder.start()
        result = Import()
        try:
            yield result
        finally:
            feeder.join()
            if failed:
                process.wait()
                raise failed[0]
            if process.wait() != 0:
                errors.seek(0)
                raise RepoError(f"git fast-import failed: {last_line(errors.read(), process.returncode)}",
                                "run `git fsck` in the manifests repo")
        made = repo.output("rev-parse", "--verify", "-q", STAGING_REF)
        if made is None:
            raise RepoError("git fast-import made no commit", "run `git fsck` in the manifests repo")
        result.commit = made.strip()


def _feed(descriptor: int, changes: Mapping[str, str | None], message: str, person: Ident,
          committer: Ident, parent: str | None) -> None:
    """fast-import's input, written to the pipe ``descriptor`` (closed at the end: git then
    sees the input end; a git that stopped early is left to say why in its exit)."""
    with contextlib.suppress(BrokenPipeError), open(descriptor, "wb", buffering=1 << 20) as stream:
        msg = message.encode()
        stream.write(f"commit {STAGING_REF}\n".encode())
        stream.write(f"author {person.line()}\ncommitter {committer.line()}\n".encode())
        stream.write(b"data %d\n%s\n" % (len(msg), msg))
        stream.write(f"from {parent}\n".encode() if parent else b"deleteall\n")
        # Grouped by file name (a unit's copies in every space, one after another): git
        # stores each blob as a delta of the one before when it can, so this makes a pack a
        # third the size, 15% sooner, at 1000 regions. The tree is the same in any order.
        for path, text in sorted(changes.items(), key=_by_name):
            quoted = json.dumps(path)  # fast-import takes C-style quoted paths
            if text is None:
                stream.write(f"D {quoted}\n".encode())
            else:
                data = text.encode()
                stream.write(b"M 100644 inline %s\ndata %d\n%s\n" % (quoted.encode(), len(data), data))
        stream.write(b"done\n")


def _by_name(change: tuple[str, str | None]) -> tuple[bool, str, str]:
    """Deletions first (a file that becomes a folder, or the reverse, is then right in any
    order), then by file name."""
    path, text = change
    return text is not None, path[path.rfind("/") + 1:], path


def drop_staging(repo: Snapshot) -> None:
    """No ref is left at a commit that did not land (its objects go with the next gc)."""
    repo.output("update-ref", "-d", STAGING_REF)
