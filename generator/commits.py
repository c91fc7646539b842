"""A commit object made: who makes it (``Ident``, ``identity``) and its objects written by one
``git fast-import`` onto a staging ref (``fast_import``).

Only the objects: no branch, file or index moves here (``store.Store.commit`` lands what this
makes). This module knows paths, text and git identities, not units, spaces or YAML; it runs
git through the GitPython command object the store hands it.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from typing import TYPE_CHECKING

from generator.errors import RepoError
from generator.snapshot import git_error

if TYPE_CHECKING:  # the caller's git.Git brought GitPython in; each function imports its errors
    import git

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


def identity(cmd: git.Git, author: str | None = None) -> tuple[Ident, Ident]:
    """(author, committer): the person from git config / GIT_* env, or ``--author``.

    Where git knows nobody (a fresh machine), the operating-system account stands in, as
    git itself does when it can: the person at the keyboard, never a made-up bot.
    """
    from git.exc import GitCommandError

    try:
        committer = _parse_ident(str(cmd.var("GIT_COMMITTER_IDENT")))
        person = _parse_ident(str(cmd.var("GIT_AUTHOR_IDENT")))
    except GitCommandError:
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
def fast_import(cmd: git.Git, changes: Mapping[str, str | None], message: str, person: Ident,
                committer: Ident, parent: str | None) -> Iterator[Import]:
    """Start ``git fast-import`` on a commit of ``changes`` (path -> text, None deletes) onto
    STAGING_REF; the block runs while it works; on leaving, wait for it and set ``.commit``
    (or raise RepoError)."""
    from git.exc import GitCommandError

    with tempfile.TemporaryFile() as stream:
        msg = message.encode()
        stream.write(f"commit {STAGING_REF}\n".encode())
        stream.write(f"author {person.line()}\ncommitter {committer.line()}\n".encode())
        stream.write(b"data %d\n%s\n" % (len(msg), msg))
        stream.write(f"from {parent}\n".encode() if parent else b"deleteall\n")
        for path, text in sorted(changes.items()):
            quoted = json.dumps(path)  # fast-import takes C-style quoted paths
            if text is None:
                stream.write(f"D {quoted}\n".encode())
            else:
                data = text.encode()
                stream.write(b"M 100644 inline %s\ndata %d\n%s\n" % (quoted.encode(), len(data), data))
        stream.write(b"done\n")
        stream.seek(0)
        result = Import()
        process = cmd.execute(["git", "-c", "gc.auto=0", "fast-import", "--quiet", "--done", "--force"],
                              istream=stream, as_process=True, env=_FAST_IMPORT_ENV)
        try:
            yield result
        finally:
            try:
                process.wait()
            except GitCommandError as e:
                raise RepoError(f"git fast-import failed: {git_error(e)}",
                                "run `git fsck` in the manifests repo") from e
        result.commit = str(cmd.rev_parse(STAGING_REF))


def drop_staging(cmd: git.Git) -> None:
    """No ref is left at a commit that did not land (its objects go with the next gc)."""
    from git.exc import GitCommandError

    with contextlib.suppress(GitCommandError):
        cmd.update_ref("-d", STAGING_REF)
