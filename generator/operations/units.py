"""``gitops unit``: list and read units (plain data out; no printing)."""

from __future__ import annotations

from typing import Any

from generator import state
from generator.model import UnitRef
from generator.operations.repo import Fleet


def summary(fleet: Fleet, ref: UnitRef) -> dict[str, Any]:
    """A unit's metadata, without its manifest: what ``unit list -o json`` prints per unit."""
    unit = fleet.spaces[ref.space].units[ref.unit]
    return {
        "space": ref.space,
        "unit": ref.unit,
        "labels": unit.labels,
        "upstream": str(unit.upstream) if unit.upstream else None,
    }


def list_units(fleet: Fleet, space_pattern: str = "*") -> list[dict[str, Any]]:
    """Every unit of every space matching the glob, ordered by space, then Labels.order, then name."""
    if not fleet.spaces:
        return []
    rows = []
    for space in fleet.match(space_pattern):
        for name in space.units:
            rows.append(summary(fleet, UnitRef(space.name, name)))

    def order(row: dict[str, Any]) -> tuple[str, int, str]:
        value = row["labels"].get("order", "")
        return (row["space"], int(value) if value.isdigit() else 99, row["unit"])

    return sorted(rows, key=order)


def get_unit(fleet: Fleet, space: str, unit: str) -> dict[str, Any]:
    """``{space, unit, labels, upstream, revision, data}``; ``text`` is the manifest as committed."""
    ref = fleet.unit_ref(space, unit)
    return {
        **summary(fleet, ref),
        "revision": fleet.store.revisions(state.unit_path(ref)),
        "data": fleet.data(ref),
        "text": fleet.text(ref),
    }
