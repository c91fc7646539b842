"""Reading the manifests repo as spaces and units (shared by every operation).

A ``Fleet`` is the repo's records plus the blob ids of its unit files at HEAD, loaded once per
command; unit texts and parsed manifests are read only when asked for, then kept.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from generator import state, yamlio
from generator.errors import NotFoundError, RepoError
from generator.model import Space, UnitRef, UnitState, check_name, is_glob
from generator.snapshot import Snapshot


class Records(Mapping[str, Space]):
    """Space records by name, parsed as JSON up front and made into Spaces when first used:
    a no-op render of a thousand spaces looks at two fields of each and builds none.

    A record and the files of its space can disagree after a hand-made commit. Such a space
    is read as the local edit it is: a recorded unit whose file is gone was deleted by a
    person (it joins ``Space.deleted``); a file without a record was added by one (a local
    unit, no upstream). The next command that writes the space records it that way.
    """

    def __init__(self, raw: dict[str, dict[str, Any]], texts: dict[str, str] | None = None,
                 blobs: dict[str, str] | None = None, files: dict[str, int] | None = None) -> None:
        self.raw = raw
        self.texts = texts or {}
        self.blobs = blobs or {}
        self.files = files or {}  # space -> how many unit files it has
        self._built: dict[str, Space] = {}
        # id(UnitState) -> (it, its line as read): an unchanged unit is written back as it was.
        self.lines: dict[int, tuple[UnitState, str]] = {}

    def __getitem__(self, name: str) -> Space:
        if name not in self._built:
            space = state.space_from_record(self.raw[name], state.record_path(name))
            if not self.consistent(name):
                space = self._as_edited(space)
            self._built[name] = space
            for unit, line in state.unit_lines(self.texts.get(name, "")).items():
                if unit in space.units:
                    self.lines[id(space.units[unit])] = (space.units[unit], line)
        return self._built[name]

    def consistent(self, name: str) -> bool:
        """Whether a space's unit files are exactly the units its record lists (cheap: no
        Space is built)."""
        units = self.raw[name]["units"]
        if self.files.get(name, 0) != len(units):
            return False
        prefix = f"{state.SPACES_DIR}/{name}/"
        return all(f"{prefix}{unit}.yaml" in self.blobs for unit in units)

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
        for path, blob in self.blobs.items():
            ref = state.ref_of(path) if path.startswith(prefix) else None
            if ref is not None and ref.unit not in units:
                units[ref.unit] = UnitState({"environment": env} if env else {}, None, blob, blob,
                                            local=True)
                deleted.pop(ref.unit, None)
        return dataclasses.replace(space, units=units, deleted=deleted)

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def fingerprint(self, name: str) -> str | None:
        """A space's recorded fingerprint, without building it (None: no such space)."""
        record = self.raw.get(name)
        return str(record.get("fingerprint", "")) if record else None

    def edited(self, name: str) -> bool:
        """Whether a person added units to the space or deleted some (its record says so)."""
        record = self.raw.get(name)
        if not record:
            return False
        return bool(record.get("deleted")) or any(u.get("local") for u in record["units"].values())

    def unit_names(self, name: str) -> list[str]:
        return list(self.raw[name]["units"]) if name in self.raw else []

    def managed_by(self, name: str) -> str:
        return str(self.raw[name].get("managedBy", "config"))


@dataclass
class Fleet:
    """Every space of a manifests repo, as of HEAD."""

    store: Snapshot
    spaces: Records
    blobs: dict[str, str]  # every path under spaces/ and .gitops/ -> blob id at HEAD
    _texts: dict[str, str] = field(default_factory=dict)
    _data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Snapshot) -> Fleet:
        blobs = store.tree(state.SPACES_DIR, ".gitops")
        raw, texts = {}, {}
        files: dict[str, int] = {}
        start = len(state.SPACES_DIR) + 1
        for path, blob in blobs.items():
            if path[0] == "s":  # spaces/<space>/<unit>.yaml: count each space's files
                slash = path.find("/", start)
                if slash > 0 and path.endswith(".yaml") and path.find("/", slash + 1) < 0:
                    space = path[start:slash]
                    files[space] = files.get(space, 0) + 1
                continue
            name = path[len(state.STATE_DIR) + 1:-5]
            if path.startswith(state.STATE_DIR + "/") and path.endswith(".json") and "/" not in name:
                # The checked-out branch: read from disk (faster than git, and equal to HEAD
                # under the lock); a view of another commit has only git to read from.
                texts[name] = store.read(path) if store.rev is None else store.read_blob(blob)
                raw[name] = state.load_record(texts[name], path)
        return cls(store, Records(raw, texts, blobs, files), blobs)

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
            known = ", ".join(sorted(self.spaces)) or "(none: run `gitops render`)"
            raise NotFoundError(f"space {name!r} not found; known spaces: {known}",
                                "see `gitops space list`")
        return self.spaces[name]

    def match(self, pattern: str) -> list[Space]:
        """Spaces whose name matches a glob (``'traderx-prod-*'``, ``'*'``); none is an error."""
        if not is_glob(pattern):
            return [self.space(pattern)]
        found = [s for name, s in sorted(self.spaces.items()) if fnmatch.fnmatchcase(name, pattern)]
        if not found:
            raise NotFoundError(f"no space matches {pattern!r}; known spaces: "
                                f"{', '.join(sorted(self.spaces)) or '(none)'}", "see `gitops space list`")
        return found

    def unit_ref(self, space: str, unit: str) -> UnitRef:
        """A unit that exists; unknown ones get the list of the space's units."""
        record = self.space(space)
        check_name("unit", unit)
        if unit not in record.units:
            raise NotFoundError(f"unit {unit!r} not found in space {space!r}; its units: "
                                f"{', '.join(sorted(record.units))}", f"see `gitops unit list --space {space}`")
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

    def data(self, ref: UnitRef) -> Any:
        """The unit's manifest, parsed (cached: parse each unit at most once per command)."""
        path = state.unit_path(ref)
        if path not in self._data:
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
