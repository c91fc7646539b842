"""Reading the manifests repo as spaces and units (shared by every operation).

A ``Fleet`` is the repo's records plus the blob ids of its unit files at HEAD, loaded once per
command; unit texts and parsed manifests are read only when asked for, then kept.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from generator import state, yamlio
from generator.errors import NotFoundError, RepoError
from generator.model import Space, UnitRef, check_name
from generator.store import Store


@dataclass
class Fleet:
    """Every space of a manifests repo, as of HEAD."""

    store: Store
    spaces: dict[str, Space]
    blobs: dict[str, str]  # unit path -> blob id at HEAD
    _texts: dict[str, str] = field(default_factory=dict)
    _data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Store) -> Fleet:
        spaces = {}
        for name in store.list_dir(state.STATE_DIR):
            if name.endswith(".json"):
                path = f"{state.STATE_DIR}/{name}"
                space = state.load_space(store.read(path), path)
                spaces[space.name] = space
        return cls(store, spaces, store.tree(state.SPACES_DIR))

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
        if not any(ch in pattern for ch in "*?["):
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
