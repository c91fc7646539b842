"""Choosing units: --space GLOB, --unit NAME, --where CLAUSE, --filter NAME (shared by list,
run and upgrade). A clause is answered from the field index when it can be
(operations.indexing); else it asks each unit for its metadata first, and a unit's manifest is
read and parsed only when the clause still needs it (see generator.query). Its types are named
tuples: every read command imports this module, and a dataclass costs ~1.5 ms to create."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from generator import state
from generator.errors import GitopsError, NotFoundError
from generator.model import Space, UnitRef, UnitState, apply_order
from generator.operations.fleet import Fleet

if TYPE_CHECKING:
    from generator import query
    from generator.operations.indexing import Progress


class Found(NamedTuple):
    """A unit chosen, with what ``unit list`` shows of it."""

    ref: UnitRef
    labels: dict[str, str]
    upstream: str | None

    @classmethod
    def of(cls, ref: UnitRef, unit: UnitState) -> Found:
        """A unit as its space's record has it."""
        return cls(ref, unit.labels, str(unit.upstream) if unit.upstream else None)

    def row(self) -> dict[str, Any]:
        """What ``unit list -o json`` prints of it."""
        return {"space": self.ref.space, "unit": self.ref.unit, "labels": self.labels,
                "upstream": self.upstream}


class UnitView(NamedTuple):
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
    return fleet.settings.filters


def clause(fleet: Fleet, where: str | None, filter_name: str | None) -> query.Query | None:
    """The clause to select with: --where, a named --filter, or both (ANDed)."""
    if where is None and filter_name is None:
        return None
    from generator import query  # (the WHERE grammar: for a clause only)

    parts = []
    if filter_name is not None:
        named = filters(fleet)
        if filter_name not in named:
            raise NotFoundError(f"no filter named {filter_name!r}; filters: {', '.join(sorted(named)) or '(none)'}",
                                "see `gitops filter list`; filters are defined in the config dir's filters.yaml")
        parts.append(f"({named[filter_name]})")
    if where is not None:
        if not parts:
            return query.parse(where)  # errors point into the user's own clause
        query.parse(where)
        parts.append(f"({where})")
    return query.parse(" AND ".join(parts)) if parts else None


def select(fleet: Fleet, space_glob: str = "*", unit: str | None = None,
           where: str | None = None, filter_name: str | None = None) -> list[UnitRef]:
    """Every unit of the matching spaces that passes --unit and the clause (without one, as
    the records list them: no space built, no unit's state read)."""
    if where is None and filter_name is None:
        return fleet.refs(space_glob, unit) if fleet.spaces else []
    return [f.ref for f in find(fleet, space_glob, unit, where, filter_name)]


def find(fleet: Fleet, space_glob: str = "*", unit: str | None = None, where: str | None = None,
         filter_name: str | None = None, progress: Progress | None = None) -> list[Found]:
    """``select`` with each unit's labels and upstream: a clause is answered from the field
    index when it can be (operations.indexing; ``progress`` sees it brought up to date), else
    unit by unit, reading a manifest only when the clause still needs it."""
    if not fleet.spaces:
        return []
    chosen = clause(fleet, where, filter_name)
    if chosen is None:  # each unit as its record has it: no space built, none read
        return [Found.of(ref, fleet.spaces.unit(ref.space, ref.unit)) for ref in fleet.refs(space_glob, unit)]
    names = fleet.match_names(space_glob)
    from generator.operations import indexing  # (SQLite and the index: for a clause only)

    found = indexing.select(fleet, space_glob, unit, chosen, progress)
    if found is not None:
        return [Found(*row) for row in found]
    return evaluate(fleet, names, unit, chosen)


def list_units(fleet: Fleet, space_glob: str = "*", where: str | None = None,
               filter_name: str | None = None, progress: Progress | None = None) -> list[dict[str, Any]]:
    """What ``unit list`` prints: every unit of every space matching the glob (and the
    clause), ordered by space, then Labels.order, then name; ``progress`` sees the field index
    brought up to date."""
    rows = [f.row() for f in find(fleet, space_glob, None, where, filter_name, progress)]
    return sorted(rows, key=lambda row: (row["space"], apply_order(row["labels"]), row["unit"]))


def evaluate(fleet: Fleet, names: list[str], unit: str | None, chosen: query.Query | None) -> list[Found]:
    """The units of the spaces ``names`` that pass --unit and the clause, unit by unit."""
    found = []
    for name in names:
        space = fleet.spaces[name]
        for unit_name in [unit] if unit is not None else space.units:
            if unit_name not in space.units:
                continue
            if chosen is None or chosen.matches(UnitView(fleet, space, unit_name)):
                found.append(Found.of(UnitRef(name, unit_name), space.units[unit_name]))
    return found


def describe(space_glob: str, unit: str | None = None, where: str | None = None,
             filter_name: str | None = None) -> str:
    """A selection in words, for "0 units match ...".

    >>> describe("traderx-prod-*", None, "spec.replicas > 9")
    "--where 'spec.replicas > 9' in spaces 'traderx-prod-*'"
    """
    parts = [f"--unit {unit}" if unit else "", f"--filter {filter_name}" if filter_name else "",
             f"--where {where!r}" if where else ""]
    return " ".join(p for p in parts if p) + (" in " if any(parts) else "") + f"spaces {space_glob!r}"


def matched(fleet: Fleet, space_glob: str, unit: str | None = None, where: str | None = None,
            filter_name: str | None = None) -> list[UnitRef]:
    """``select`` for a command that changes what it selects: selecting nothing is an error."""
    refs = select(fleet, space_glob, unit, where, filter_name)
    if not refs:
        raise NotFoundError(f"0 units match {describe(space_glob, unit, where, filter_name)}",
                            "see what there is with `gitops unit list --space '*'` (it takes the same "
                            "--where and --filter)")
    return refs


def require_scope(space_glob: str | None, command: str) -> str:
    """A command that changes units across spaces needs its scope typed: never a default."""
    if space_glob is None:
        raise GitopsError(f"gitops {command} needs --space: it would act on every space otherwise",
                          "name the spaces (--space traderx-dev, --space 'traderx-prod-*'), or pass "
                          "--space '*' to mean every space deliberately")
    return space_glob


def critical(space: Space) -> bool:
    """A production space: reviewers must see when a change reaches one."""
    return space.labels.get("environment") == "prod" or space.labels.get("critical") == "true"
