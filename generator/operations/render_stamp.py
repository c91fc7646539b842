"""What the last render of a repo saw: its commit and the config dir it was rendered from.

A render is a function of the config dir's files, the repo's HEAD and the tool's code. After a
render on the checked-out branch, ``save`` writes a digest of all three to ``.git/gitops/
render-stamp.json`` (the repo's git dir: never committed, never the truth); the next render
whose digest is the same has nothing to do and loads nothing (``fresh``). Anything else — a
config file edited, added or removed, a commit by hand or by another command, another version
of gitops — gives another digest, and the render runs in full. A missing or damaged stamp costs
only that full render.

Reads the config dir's files as bytes (no YAML); does not render or decide what to write.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import generator
from generator.store import Store

STAMP = "gitops/render-stamp.json"
_FILES = ("gitops.yaml", "filters.yaml")  # at the top of the config dir
_FOLDERS = ("environments", "regions")  # their *.yaml
_TREES = ("templates",)  # every file under them


def digest(root: Path) -> str:
    """A hash of every config file render reads (names and bytes), of where the config dir is,
    and of gitops's code (its version and the times its modules were written)."""
    h = hashlib.sha256(f"{generator.__version__}\0{root.absolute()}\0{_code_time()}\0".encode())
    for rel in _config_files(root):
        try:
            data = (root / rel).read_bytes()
        except OSError:
            data = b"\0unreadable"
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def fresh(store: Store, seen: str) -> bool:
    """Whether the last render of this repo left HEAD where it is now, from a config dir whose
    digest was ``seen``: rendering again would change nothing."""
    try:
        stamp = json.loads(_path(store).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(stamp, dict) and stamp.get("config") == seen and stamp.get("head") == store.head()


def save(store: Store, seen: str) -> None:
    """Record that a render from a config dir of digest ``seen`` left the repo at HEAD."""
    path = _path(store)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"head": store.head(), "config": seen}) + "\n")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only git dir: the next render runs in full


def forget(store: Store) -> None:
    """Remove the stamp (a render that failed or left conflicts: the next one runs in full)."""
    try:
        _path(store).unlink()
    except OSError:
        pass


def _path(store: Store) -> Path:
    return Path(store.repo.git_dir) / STAMP


def _config_files(root: Path) -> list[str]:
    files = [name for name in _FILES if (root / name).is_file()]
    for folder in _FOLDERS:
        try:
            names = sorted(e.name for e in os.scandir(root / folder) if e.name.endswith(".yaml"))
        except OSError:
            continue
        files += [f"{folder}/{name}" for name in names]
    for tree in _TREES:
        for directory, _, names in sorted(os.walk(root / tree)):
            rel = Path(directory).relative_to(root).as_posix()
            files += [f"{rel}/{name}" for name in sorted(names)]
    return files


def _code_time() -> int:
    """The newest modification time of gitops's modules (an edited checkout renders afresh)."""
    newest = 0
    for directory, _, names in os.walk(Path(generator.__file__).parent):
        for name in names:
            if name.endswith(".py"):
                newest = max(newest, os.stat(os.path.join(directory, name)).st_mtime_ns)
    return newest
