"""Reading the manifests repo as spaces and units (shared by every operation).

A ``Fleet`` is the blob ids of the repo's files at HEAD, listed once per command; space records,
unit texts and parsed manifests are read only when asked for, then kept.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator import state
from generator.blobs import blob_id
from generator.errors import NotFoundError, RepoError, known
from generator.model import Space, UnitRef, UnitState, check_name, is_glob
from generator.operations import record_cache
from generator.operations.listing import SPACES_BEFORE_ALL, Listing
from generator.snapshot import Snapshot


class Records(Mapping[str, Space]):
    """Space records by name, each read and parsed as JSON when its space is first used, and
    made into a Space when first asked for: a command about one space of a thousand reads one
    record (the names come from the listing of the repo's files, not from the records).

    A record and the files of its space can disagree after a hand-made commit. Such a space
    is read as the local edit it is: a recorded unit whose file is gone was deleted by a
    person (it joins ``Space.deleted``); a file without a record was added by one (a local
    unit, no upstream). The next command that writes the space records it that way. A
    damaged record is an error naming it when its space is used (other spaces still work).

    A command over many spaces takes their records from the records cache (record_cache.py)
    where it has them; what it reads it adds there.
    """

    def __init__(self, read: Callable[[str], str], blobs: Listing,
                 cache_path: Callable[[], Path] | None = None) -> None:
        self._read = read  # space name -> its record's text
        self.blobs = blobs  # every path under spaces/ and .gitops/ -> blob id, listed as asked
        self._cache_path = cache_path
        self._cache: record_cache.Cache | None = None
        self._names = dict.fromkeys(blobs.record_names())
        self._raw: dict[str, dict[str, Any]] = {}
        self._texts: dict[str, str] = {}
        self._built: dict[str, Space] = {}
        self._units: dict[tuple[str, str], UnitState] = {}  # units read without their space
        # id(UnitState) -> (it, its line as read): an unchanged unit is written back as it was.
        self._lines: dict[int, tuple[UnitState, str]] = {}
        self._lined: set[str] = set()  # spaces whose lines are in _lines

    def text(self, name: str) -> str:
        """A record's text as committed (read once)."""
        if name not in self._texts:
            if name not in self._names:
                raise KeyError(name)
            self._texts[name] = self._read(name)
        return self._texts[name]

    def raw(self, name: str) -> dict[str, Any]:
        """A record as JSON data (parsed once; a damaged one is a RepoError naming it)."""
        if name not in self._raw:
            self._raw[name] = state.load_record(self.text(name), state.record_path(name))
        return self._raw[name]

    def record_blob(self, name: str) -> str | None:
        """The blob id of a space's record at this commit, without reading it (None: none)."""
        return self.blobs.get(state.record_path(name)) if name in self._names else None

    def __getitem__(self, name: str) -> Space:
        if name not in self._built:
            entry = self._entry(name)
            space = (self._cache.space(entry, state.record_path(name))
                     if self._cache is not None and entry is not None else None)
            self._keep(name, space or state.space_from_record(self.raw(name), state.record_path(name)))
        return self._built[name]

    def _keep(self, name: str, space: Space) -> None:
        """Keep the Space a record makes, as edited when its files disagree with it."""
        self._built[name] = space if self.consistent(name) else self._as_edited(space)

    def warm(self, names: list[str]) -> None:
        """Ready the records of many spaces at once: from the records cache where it has them;
        the others are read, made into Spaces, and added to it (a damaged one is left to be an
        error when its space is used)."""
        if self._cache is not None or self._cache_path is None:
            return
        cache = self._cache = record_cache.Cache(self._cache_path())
        for name in names:
            blob = self.record_blob(name)
            if name in self._built or blob is None or cache.get(blob) is not None:
                continue
            try:
                raw = self.raw(name)
                space = state.space_from_record(raw, state.record_path(name))
            except RepoError:
                continue
            if blob_id(self.text(name)) == blob:  # the work tree's copy is what is committed
                cache.add(blob, space, raw)
            self._keep(name, space)
        cache.save({blob for blob in map(self.record_blob, self._names) if blob})

    def _entry(self, name: str) -> record_cache.Entry | None:
        return self._cache.get(self.record_blob(name)) if self._cache is not None else None

    def lines(self, name: str) -> dict[int, tuple[UnitState, str]]:
        """For ``state.dump_space``: the unit lines of the records read so far, by the id of the
        UnitState each became (an unchanged unit is written back as it was). A record is split
        into lines only when its space is about to be written (a fleet-wide run writes none)."""
        if name in self._built and name not in self._lined:
            self._lined.add(name)
            units = self._built[name].units
            for unit, line in state.unit_lines(self.text(name)).items():
                if unit in units:
                    self._lines[id(units[unit])] = (units[unit], line)
        return self._lines

    def unit(self, name: str, unit: str) -> UnitState:
        """``self[name].units[unit]`` (KeyError: no such unit), without building the space when
        its files are what its record lists (a fleet-wide run changes one unit of each)."""
        if name in self._built or not self.consistent(name):
            return self[name].units[unit]
        if (name, unit) not in self._units:
            entry, found = self._entry(name), None
            if self._cache is not None and entry is not None:
                if unit not in entry[1]:
                    raise KeyError(unit)
                found = self._cache.unit(entry, unit)
            self._units[name, unit] = found or state.unit_from_record(self.raw(name), unit,
                                                                      state.record_path(name))
        return self._units[name, unit]

    def units_of(self, name: str) -> list[str]:
        """``list(self[name].units)``, without building the space when its files are what its
        record lists."""
        if name in self._built or not self.consistent(name):
            return list(self[name].units)
        entry = self._entry(name)
        return list(entry[1] if entry else self.raw(name)["units"])

    def consistent(self, name: str) -> bool:
        """Whether a space's unit files are exactly the units its record lists (cheap: no
        Space is built)."""
        entry = self._entry(name)
        units = entry[1] if entry else self.raw(name)["units"]
        prefix = f"{state.SPACES_DIR}/{name}/"
        start = len(prefix)
        files = self.blobs.files_of(name)
        count = sum(1 for p in files if p.endswith(".yaml") and p.find("/", start) < 0)  # unit files
        return count == len(units) and all(f"{prefix}{unit}.yaml" in files for unit in units)

    def _as_edited(self, space: Space) -> Space:
        prefix = f"{state.SPACES_DIR}/{space.name}/"
        units = {}
        deleted = dict(space.deleted)
        for unit, unit_state in space.units.items():
            if prefix + unit + ".yaml" in self.blobs:
                units[unit] = unit_state
            elif not unit_state.local:  # render or upgrade would bring it back: remember
                deleted[unit] = str(unit_state.upstream or "")
        env = space.labels.get("environment")
        for path, blob in self.blobs.files_of(space.name).items():
            ref = state.ref_of(path)
            if ref is not None and ref.unit not in units:
                units[ref.unit] = UnitState({"environment": env} if env else {}, None, blob, blob,
                                            local=True)
                deleted.pop(ref.unit, None)
        return dataclasses.replace(space, units=units, deleted=deleted)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def fingerprint(self, name: str) -> str | None:
        """A space's recorded fingerprint, without building it (None: no such space)."""
        if name not in self._names:
            return None
        return str(self.raw(name).get("fingerprint", ""))

    def edited(self, name: str) -> bool:
        """Whether a person added units to the space or deleted some (its record says so)."""
        if name not in self._names:
            return False
        record = self.raw(name)
        return bool(record.get("deleted")) or any(u.get("local") for u in record["units"].values())

    def unit_names(self, name: str) -> list[str]:
        return list(self.raw(name)["units"]) if name in self._names else []

    def managed_by(self, name: str) -> str:
        return str(self.raw(name).get("managedBy", "config"))


@dataclass
class Fleet:
    """Every space of a manifests repo, as of HEAD."""

    store: Snapshot
    spaces: Records
    blobs: Listing  # every path under spaces/ and .gitops/ -> blob id at HEAD
    _texts: dict[str, str] = field(default_factory=dict)
    _data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Snapshot, spaces: Sequence[str] = ()) -> Fleet:
        """The fleet at the store's commit; ``spaces``: a few valid names the command is about,
        their folders listed with the records (see ``Listing``)."""
        blobs = Listing(store, spaces)

        def read(name: str) -> str:
            # The checked-out branch: read from disk (faster than git, and equal to HEAD under
            # the lock); a view of another commit has only git to read from.
            path = state.record_path(name)
            return store.read(path) if store.rev is None else store.read_blob(blobs[path])

        return cls(store, Records(read, blobs, lambda: store.private_path(record_cache.FILE)), blobs)

    @classmethod
    def at(cls, store: Snapshot, rev: str | None, option: str = "--revision") -> Fleet:
        """The fleet as of ``rev`` (a commit, tag or branch; None: as checked out); a revision
        that names no commit is an error that says which option gave it."""
        if rev is None:
            return cls.load(store)
        commit = store.resolve(rev)
        if commit is None:
            raise NotFoundError(f"{option} {rev}: no such commit in {store.root}",
                                "give a branch, tag or commit of the manifests repo (see `gitops audit`)")
        return cls.load(store.view(commit))

    @functools.cached_property
    def settings(self) -> state.Settings:
        """.gitops/settings.json as of this commit (the defaults before the first render)."""
        return _settings(self.store, self.blobs.get(state.SETTINGS))

    def space(self, name: str) -> Space:
        """A space by name; unknown names get the list of known ones."""
        check_name("space", name)
        if name not in self.spaces:
            spaces = known(sorted(self.spaces), name, "(none: run `gitops render`)")
            raise NotFoundError(f"space {name!r} not found; known spaces: {spaces}",
                                "see `gitops space list`")
        return self.spaces[name]

    def match(self, pattern: str) -> list[Space]:
        """Spaces whose name matches a glob (``'traderx-prod-*'``, ``'*'``); none is an error."""
        names = self._ready(self.match_names(pattern))
        return [self.spaces[name] for name in names]

    def refs(self, pattern: str, unit: str | None = None) -> list[UnitRef]:
        """The units of the spaces a glob matches (only those named ``unit``, if given), by space,
        then as each record lists them: ``select.select`` without a clause, no space built."""
        names = self._ready(self.match_names(pattern))
        return [UnitRef(name, u) for name in names for u in self.spaces.units_of(name) if unit in (None, u)]

    def _ready(self, names: list[str]) -> list[str]:
        """``names``, their files listed and records readied for use together: many at once
        (everything listed, records from the records cache), a few in one git process."""
        if len(names) > SPACES_BEFORE_ALL:
            self.blobs.everything()
            self.spaces.warm(names)
        else:
            self.blobs.prefetch(names)
        return names

    def match_names(self, pattern: str) -> list[str]:
        """``match`` without building the spaces: their names, sorted."""
        if not is_glob(pattern):
            return [self.space(pattern).name]
        found = sorted(name for name in self.spaces if fnmatch.fnmatchcase(name, pattern))
        if not found:
            raise NotFoundError(f"no space matches {pattern!r}; known spaces: {known(sorted(self.spaces), pattern)}",
                                "see `gitops space list`")
        return found

    def unit_ref(self, space: str, unit: str) -> UnitRef:
        """A unit that exists; unknown ones get the list of the space's units."""
        record = self.space(space)
        check_name("unit", unit)
        if unit not in record.units:
            raise NotFoundError(f"unit {unit!r} not found in space {space!r}; its units: "
                                f"{known(sorted(record.units), unit)}", f"see `gitops unit list --space {space}`")
        return UnitRef(space, unit)

    def text(self, ref: UnitRef) -> str:
        """The unit's manifest text as committed."""
        path = state.unit_path(ref)
        if path not in self._texts:
            if path not in self.blobs:
                raise RepoError(f"{path} is recorded in .gitops but missing from the repo",
                                "run `gitops render` to regenerate it")
            self._texts[path] = self.store.read_blob(self.blobs[path])
        return self._texts[path]

    def read(self, refs: list[UnitRef]) -> None:
        """Read the texts of many units at once, for ``text`` to answer: on the checked-out
        branch from its files, each taken where its blob id is HEAD's (a few times faster than
        git for a fleet's worth); the rest through one git process."""
        paths = [state.unit_path(ref) for ref in refs]
        wanted = [p for p in paths if p not in self._texts and p in self.blobs]
        if self.store.rev is None:
            wanted = [p for p in wanted if not self._from_work_tree(p)]
        texts = self.store.read_blobs(list(dict.fromkeys(self.blobs[p] for p in wanted)))
        for path in wanted:
            self._texts[path] = texts[self.blobs[path]]

    def _from_work_tree(self, path: str) -> bool:
        """Take a unit's text from its file if that is exactly the committed blob."""
        try:
            text = (self.store.root / path).read_bytes().decode()
        except (OSError, UnicodeDecodeError):
            return False
        if blob_id(text) != self.blobs[path]:  # edited since, or git converts line endings
            return False
        self._texts[path] = text
        return True

    def data(self, ref: UnitRef) -> Any:
        """The unit's manifest, parsed (cached: parse each unit at most once per command)."""
        path = state.unit_path(ref)
        if path not in self._data:
            from generator import yamlio  # (a read that parses no manifest loads no YAML reader)

            self._data[path] = yamlio.load(self.text(ref), path)
        return self._data[path]


def settings(store: Snapshot) -> state.Settings:
    """.gitops/settings.json as of the store's commit, without loading the fleet (the
    defaults before the first render): read from the work tree of the checked-out branch (no
    git process), else from git. The file's format is state.py's."""
    try:
        text = store.read(state.SETTINGS)
    except RepoError:  # no render yet (a damaged file is load_settings's error, not this)
        return state.Settings()
    return state.load_settings(text)


def _settings(store: Snapshot, blob: str | None) -> state.Settings:
    return state.load_settings(None if blob is None else store.read_blob(blob))
