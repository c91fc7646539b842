"""Git's object ids, computed without git (pure): what a planner needs to tell whether a file
would change, without importing the owner of the repository (store.py).

Knows git's object format and nothing else; never reads or writes a repository.
"""

from __future__ import annotations

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's id of the empty tree


def blob_id(text: str) -> str:
    """The git blob id of ``text`` (what ``git hash-object`` prints), without running git.

    >>> blob_id("")  # git hash-object /dev/null
    'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391'
    """
    import hashlib  # here: loading OpenSSL costs a command's start ~6 ms, and most need no id

    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's id
