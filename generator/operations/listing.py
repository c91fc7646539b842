"""The files of a manifests repo at one commit (path -> blob id), listed by git as they are asked
for: a command about a few spaces of ten thousand lists those spaces' folders, not 220,000 paths.

The records' folder (``.gitops/spaces/``) and ``.gitops/settings.json`` are listed up front (the
space names come from them). A path under ``spaces/<space>/`` or ``.gitops/origins/<space>/``
lists that space's two folders, in one git process (``prefetch``: a few spaces' folders in one);
after a few spaces, or when a path outside them is asked for, or the whole mapping is iterated,
everything is listed at once and kept.

Knows the repo's layout (state.py), not what the files mean; never reads a file's content.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence

from generator import state
from generator.snapshot import Snapshot

_RECORDS = state.STATE_DIR + "/"
_ORIGINS = state.ORIGINS_DIR + "/"
_UNITS = state.SPACES_DIR + "/"
SPACES_BEFORE_ALL = 8  # spaces listed one by one before everything is listed at once


class Listing(Mapping[str, str]):
    """path -> blob id of every file under ``spaces/`` and ``.gitops/`` at the snapshot's commit."""

    def __init__(self, store: Snapshot, spaces: Sequence[str] = ()) -> None:
        """``spaces``: a few a command is about (valid names), their folders listed in the same
        git process as the records."""
        self.store = store
        self._spaces: dict[str, dict[str, str]] = {}  # space -> its folders' paths
        self._all: dict[str, str] | None = None
        self._sorted: list[str] = []
        self._top = self._list(list(spaces)[:SPACES_BEFORE_ALL], _RECORDS, state.SETTINGS)

    def record_names(self) -> list[str]:
        """The spaces that have a record (``.gitops/spaces/<space>.json``), sorted."""
        return sorted(path[len(_RECORDS):-5] for path in self._top
                      if path.startswith(_RECORDS) and path.endswith(".json")
                      and "/" not in path[len(_RECORDS):])

    def files_of(self, space: str) -> dict[str, str]:
        """path -> blob id of every file under ``spaces/<space>/``."""
        prefix = f"{_UNITS}{space}/"
        if self._all is None and not self._too_many(space):
            return {p: b for p, b in self._space(space).items() if p.startswith(prefix)}
        everything = self.everything()
        after = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # the first string past them all
        paths = self._sorted[bisect.bisect_left(self._sorted, prefix):bisect.bisect_left(self._sorted, after)]
        return {p: everything[p] for p in paths}

    def everything(self) -> dict[str, str]:
        """Every path, listed at once (kept: later look-ups use it)."""
        if self._all is None:
            self._all = self.store.tree(state.SPACES_DIR, ".gitops")
            self._sorted = sorted(self._all)
            self._spaces.clear()
        return self._all

    def __getitem__(self, path: str) -> str:
        if self._all is not None:
            return self._all[path]
        if path.startswith(_RECORDS) or path == state.SETTINGS:
            return self._top[path]
        space = _space_of(path)
        if space is None or self._too_many(space):
            return self.everything()[path]
        return self._space(space)[path]

    def get(self, path: str, default: str | None = None) -> str | None:  # type: ignore[override]
        if self._all is not None:  # the common case at fleet scale: a plain dict look-up
            return self._all.get(path, default)
        try:
            return self[path]
        except KeyError:
            return default

    def __contains__(self, path: object) -> bool:
        if self._all is not None:
            return path in self._all
        try:
            self[str(path)]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self.everything())

    def __len__(self) -> int:
        return len(self.everything())

    def prefetch(self, spaces: list[str]) -> None:
        """List the folders of these spaces (those not listed yet) in one git process, for a
        command about a few spaces: one process instead of one per space."""
        todo = [space for space in dict.fromkeys(spaces) if space not in self._spaces]
        if self._all is not None or len(todo) < 2 or len(self._spaces) + len(todo) > SPACES_BEFORE_ALL:
            return
        self._list(todo)

    def _list(self, spaces: list[str], *others: str) -> dict[str, str]:
        """List the folders of ``spaces`` (kept) and the paths ``others`` (returned), in one
        git process."""
        found: dict[str, dict[str, str]] = {space: {} for space in spaces}
        rest: dict[str, str] = {}
        folders = [f"{top}{space}/" for space in spaces for top in (_UNITS, _ORIGINS)]
        for path, blob in self.store.tree(*folders, *others).items():
            space = _space_of(path)
            if space in found:
                found[space][path] = blob
            else:
                rest[path] = blob
        self._spaces.update(found)
        return rest

    def _too_many(self, space: str) -> bool:
        return space not in self._spaces and len(self._spaces) >= SPACES_BEFORE_ALL

    def _space(self, space: str) -> dict[str, str]:
        if space not in self._spaces:
            self._spaces[space] = self.store.tree(f"{_UNITS}{space}/", f"{_ORIGINS}{space}/")
        return self._spaces[space]


def _space_of(path: str) -> str | None:
    """The space whose folders hold ``path`` (None: neither ``spaces/<space>/...`` nor
    ``.gitops/origins/<space>/...``)."""
    for folder in (_UNITS, _ORIGINS):
        if path.startswith(folder):
            slash = path.find("/", len(folder))
            return path[len(folder):slash] if slash > 0 else None
    return None
