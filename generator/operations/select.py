"""Choosing units: --space GLOB, --unit NAME, --where CLAUSE, --filter NAME (shared by list,
run and upgrade). A clause asks each unit for its metadata first; a unit's manifest is read
and parsed only when the clause still needs it (see generator.query)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from generator import query, state
from generator.errors import NotFoundError, RepoError
from generator.model import Space, UnitRef
from generator.operations.repo import Fleet


@dataclass
class UnitView:
    """A unit as a WHERE clause sees it (query.Unit); the manifest is read only on demand."""

    fleet: Fleet
    record: Space
    unit: str

    @property
    def space(self) -> str:
        return self.record.name

    @property
    def labels(self) -> dict[str, str]:
        return self.record.units[self.unit].labels

    @property
    def space_labels(self) -> dict[str, str]:
        return self.record.labels

    @property
    def upstream_space(self) -> str | None:
        upstream = self.record.units[self.unit].upstream
        return upstream.space if upstream else None

    def ref(self) -> UnitRef:
        return UnitRef(self.record.name, self.unit)

    def revision(self) -> int:
        return self.fleet.store.revisions(state.unit_path(self.ref()))

    def text(self) -> str:
        return self.fleet.text(self.ref())

    def data(self) -> Any:
        return self.fleet.data(self.ref())


def filters(fleet: Fleet) -> dict[str, str]:
    """Named filters (sets included, as IN clauses) recorded by render in .gitops/settings.json."""
    try:
        settings = json.loads(fleet.store.read(state.SETTINGS))
    except (RepoError, ValueError):
        return {}
    named = settings.get("filters") or {}
    return {str(k): str(v) for k, v in named.items()}


def clause(fleet: Fleet, where: str | None, filter_name: str | None) -> query.Query | None:
    """The clause to select with: --where, a named --filter, or both (ANDed)."""
    parts = []
    if filter_name is not None:
        named = filters(fleet)
        if filter_name not in named:
            raise NotFoundError(f"no filter named {filter_name!r}; filters: {', '.join(sorted(named)) or '(none)'}",
                                "see `gitops filter list`; filters are defined in the config dir's filters.yaml")
        parts.append(f"({named[filter_name]})")
    if where is not None:
        query.parse(where)  # errors point into the user's own clause
        parts.append(f"({where})")
    return query.parse(" AND ".join(parts)) if parts else None


def select(fleet: Fleet, space_glob: str = "*", unit: str | None = None,
           where: str | None = None, filter_name: str | None = None) -> list[UnitRef]:
    """Every unit of the matching spaces that passes --unit and the clause."""
    if not fleet.spaces:
        return []
    chosen = clause(fleet, where, filter_name)
    refs = []
    for space in fleet.match(space_glob):
        names: Iterable[str] = [unit] if unit is not None else space.units
        for name in names:
            if name not in space.units:
                continue
            if chosen is None or chosen.matches(UnitView(fleet, space, name)):
                refs.append(UnitRef(space.name, name))
    return refs
