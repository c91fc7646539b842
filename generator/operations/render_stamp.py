"""What the last render of a repo saw: its commit and the config dir it was rendered from.

A render is a function of the config dir's files, the repo's HEAD and the tool's code. After a
render on the checked-out branch, ``save`` writes all three to ``.git/gitops/render-stamp.json``
(the repo's git dir: never committed, never the truth): HEAD, the code's version, and per
config file its hash and what ``stat`` said of it. The next render that finds the same
(``look`` then ``Seen.fresh``) has nothing to do and loads nothing. Anything else — a config
file edited, added or removed, a commit by hand or by another command, another gitops — and the
render runs in full. A missing or damaged stamp costs only that full render.

A file whose size, times and inode are those the stamp has is not read again, unless it was
written so shortly before the stamp that an edit in the same clock tick could hide (git's
"racy" rule): such files are hashed every time.

Reads the config dir's files as bytes (no YAML); does not render or decide what to write.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import generator
from generator.store import Store

STAMP = "gitops/render-stamp.json"
_FILES = ("gitops.yaml", "filters.yaml")  # at the top of the config dir
_FOLDERS = ("environments", "regions")  # their *.yaml
_TREES = ("templates",)  # every file under them
_RACY_NS = 2_000_000_000  # a file written this close before the stamp is read again


@dataclass(frozen=True)
class Seen:
    """The config dir as a render finds it: per file, [size, mtime, ctime, inode, sha1]."""

    root: str
    code: str
    files: dict[str, list[Any]]

    def fresh(self, stamp: dict[str, Any] | None, head: str | None) -> bool:
        """Whether the last render (its ``stamp``) saw exactly this and left the repo at
        ``head``: rendering again would change nothing."""
        return stamp is not None and changed(stamp, self, head) == set()


def load(store: Store) -> dict[str, Any] | None:
    """The stamp the last render left in the repo (None: none, or damaged)."""
    try:
        stamp = json.loads(_path(store).read_text())
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def look(root: Path, stamp: dict[str, Any] | None = None) -> Seen:
    """Every config file render reads, hashed (a file ``stamp`` saw unchanged is not read)."""
    stamp = stamp or {}
    old: dict[str, Any] = stamp["files"] if isinstance(stamp.get("files"), dict) else {}
    written: int = stamp["written"] if isinstance(stamp.get("written"), int) else 0
    files: dict[str, list[Any]] = {}
    for folder, names in _config_files(root):
        try:  # stat by name in an open directory: 10,000 region files in 0.1 s, not 0.2 s
            fd = os.open(root / folder if folder else root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            for name in names:
                rel = f"{folder}/{name}" if folder else name
                try:
                    st = os.stat(name, dir_fd=fd)
                except OSError:
                    continue
                entry: list[Any] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
                known = old.get(rel)
                if (isinstance(known, list) and len(known) == 5 and known[:4] == entry
                        and max(st.st_mtime_ns, st.st_ctime_ns) + _RACY_NS < written):
                    files[rel] = known
                    continue
                try:
                    with open(os.open(name, os.O_RDONLY, dir_fd=fd), "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                files[rel] = [*entry, hashlib.sha1(data).hexdigest()]  # noqa: S324 - a change check
        finally:
            os.close(fd)
    return Seen(str(root.absolute()), _code(), files)


def changed(stamp: dict[str, Any], seen: Seen, head: str | None) -> set[str] | None:
    """The config files whose content differs from what the last render (its ``stamp``) saw,
    when that render left the repo at ``head`` and the same files, code and config dir were
    there; else None (what changed is not known: render everything)."""
    old = stamp.get("files")
    if (head is None or stamp.get("head") != head or stamp.get("root") != seen.root
            or stamp.get("code") != seen.code or not isinstance(old, dict)
            or old.keys() != seen.files.keys()):
        return None
    return {rel for rel, entry in seen.files.items()
            if not isinstance(old[rel], list) or old[rel][-1:] != entry[-1:]}


def save(store: Store, seen: Seen, spaces: dict[str, str] | None = None,
         others: list[str] | None = None) -> None:
    """Record that a render of the config dir as ``seen`` left the repo at its HEAD; with the
    space each region file makes (``spaces``) and the spaces the config does not make
    (``others``: while there are any, a render of one region renders everything)."""
    path = _path(store)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"head": store.head(), "root": seen.root, "code": seen.code,
                                   "written": time.time_ns(), "files": seen.files,
                                   "spaces": spaces or {}, "others": others or []}) + "\n")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only git dir: the next render runs in full


def forget(store: Store) -> None:
    """Remove the stamp (a render that left conflicts, or went to a changeset: the next one
    runs in full)."""
    try:
        _path(store).unlink()
    except OSError:
        pass


def _path(store: Store) -> Path:
    return store.git_dir / STAMP  # git's own dir, found without GitPython


def _config_files(root: Path) -> list[tuple[str, list[str]]]:
    """(folder relative to ``root``, "" for root itself; the names in it), sorted."""
    found = [("", [name for name in _FILES if (root / name).is_file()])]
    for folder in _FOLDERS:
        try:
            names = sorted(e.name for e in os.scandir(root / folder) if e.name.endswith(".yaml"))
        except OSError:
            continue
        found.append((folder, names))
    for tree in _TREES:
        for directory, _, names in sorted(os.walk(root / tree)):
            found.append((Path(directory).relative_to(root).as_posix(), sorted(names)))
    return found


def _code() -> str:
    """gitops's version and the newest modification time of its modules (an edited checkout
    renders afresh)."""
    newest = 0
    for directory, _, names in os.walk(Path(generator.__file__).parent):
        for name in names:
            if name.endswith(".py"):
                newest = max(newest, os.stat(os.path.join(directory, name)).st_mtime_ns)
    return f"{generator.__version__} {newest}"
