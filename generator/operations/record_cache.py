"""A derived cache of space records, ``.git/gitops/records.cache``: each record a fleet-wide
command read, by its blob id, in a compact form that loads about five times faster than the
records' JSON (a thousand records are 9 MB of it).

Never the truth: an entry is looked up only by the blob id of the record it was made from (a
record that changed is another blob), and an absent, stale or damaged file costs a read of the
records and is written again. Never committed; a linked worktree has its own.

Must not: be used for a command about a few spaces (their records are cheaper to read), hold
anything but what a record says, or raise on a bad file.
"""

from __future__ import annotations

import marshal
import os
import tempfile
from pathlib import Path
from typing import Any

from generator import state
from generator.errors import RepoError
from generator.model import Space, UnitState

FILE = "gitops/records.cache"  # under the repo's git dir
VERSION = 1

# A record without its units (its head), its unit names, and per unit: (index into the labels
# table, upstream, origin, fingerprint, upstream blob, local).
Row = tuple[int, "str | None", str, str, "str | None", bool]
Entry = tuple[dict[str, Any], tuple[str, ...], tuple[Row, ...]]


class Cache:
    """The entries of one file, as loaded, and those a command adds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.labels: list[dict[str, str]] = []
        self.entries: dict[str, Entry] = {}
        self.added = False
        try:
            data = marshal.loads(path.read_bytes())
            if isinstance(data, dict) and data.get("version") == VERSION:
                labels, entries = data["labels"], data["entries"]
                if (isinstance(labels, list) and isinstance(entries, dict)
                        and all(isinstance(one, dict) for one in labels)):
                    self.labels, self.entries = labels, entries
        except (OSError, ValueError, EOFError, TypeError, KeyError):
            pass  # absent or damaged: the records are read, and the file written again
        self._label_ids = {_key(labels): n for n, labels in enumerate(self.labels)}
        self._sound: set[str] = set()  # blobs whose entries were found as they should be

    def get(self, blob: str | None) -> Entry | None:
        """The entry of a record's blob (None: none, or one not as this module writes them,
        which is dropped)."""
        if not blob or blob not in self.entries:
            return None
        entry = self.entries[blob]
        if blob not in self._sound:
            if not _sound(entry, len(self.labels)):
                del self.entries[blob]
                self.added = True  # written again without it
                return None
            self._sound.add(blob)
        return entry

    def add(self, blob: str, space: Space, record: dict[str, Any]) -> None:
        """Keep what ``record`` (the raw record) says, ``space`` being the Space it makes."""
        head = {key: value for key, value in record.items() if key != "units"}
        rows = tuple((self._label_id(unit.labels), str(unit.upstream) if unit.upstream else None,
                      unit.origin, unit.fingerprint, unit.upstream_blob, unit.local)
                     for unit in space.units.values())
        self.entries[blob] = (head, tuple(space.units), rows)
        self.added = True

    def unit(self, entry: Entry, unit: str) -> UnitState | None:
        """One unit of an entry (None: the entry does not hold it as it should)."""
        try:
            return self._state(entry[2][entry[1].index(unit)])
        except (ValueError, IndexError, TypeError, AttributeError):
            return None

    def space(self, entry: Entry, source: str) -> Space | None:
        """The Space of an entry, as state.space_from_record makes it from the record (None:
        the entry is not as it should be)."""
        try:
            units = {name: self._state(row) for name, row in zip(entry[1], entry[2])}
            return state.space_from_head(entry[0], units, source)
        except (IndexError, TypeError, AttributeError, ValueError, RepoError):
            return None

    def save(self, keep: set[str]) -> None:
        """Write the entries of the blobs in ``keep`` (the records at this commit), if any was
        added; a file that cannot be written is left to the next command."""
        if not self.added:
            return
        entries = {blob: entry for blob, entry in list(self.entries.items()) if blob in keep and self.get(blob)}
        used = sorted({row[0] for entry in entries.values() for row in entry[2]})
        renumber = {old: new for new, old in enumerate(used)}
        entries = {blob: (head, names, tuple((renumber[row[0]], *row[1:]) for row in rows))
                   for blob, (head, names, rows) in entries.items()}
        data = {"version": VERSION, "labels": [self.labels[n] for n in used], "entries": entries}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".records-")
            with os.fdopen(fd, "wb") as out:
                out.write(marshal.dumps(data))
            os.replace(tmp, self.path)
        except (OSError, ValueError):
            pass

    def _state(self, row: Row) -> UnitState:
        index, upstream, origin, fingerprint, upstream_blob, local = row
        return UnitState(dict(self.labels[index]), state.upstream_ref(upstream) if upstream else None,
                         origin, fingerprint, upstream_blob, local)

    def _label_id(self, labels: dict[str, str]) -> int:
        key = _key(labels)
        if key not in self._label_ids:
            self._label_ids[key] = len(self.labels)
            self.labels.append(dict(labels))
        return self._label_ids[key]


def _sound(entry: Any, labels: int) -> bool:
    """Whether an entry is as ``Cache.add`` writes them (``labels``: the size of the table)."""
    if not (isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[0], dict)
            and isinstance(entry[1], tuple) and isinstance(entry[2], tuple) and len(entry[1]) == len(entry[2])):
        return False
    return all(isinstance(name, str) for name in entry[1]) and all(
        isinstance(row, tuple) and len(row) == 6 and type(row[0]) is int and 0 <= row[0] < labels
        and isinstance(row[2], str) and isinstance(row[3], str) and type(row[5]) is bool
        and (row[1] is None or isinstance(row[1], str)) and (row[4] is None or isinstance(row[4], str))
        for row in entry[2])


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(labels.items())  # order kept: a unit's labels come back as its record has them
