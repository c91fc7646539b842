"""``gitops unit`` and ``gitops overrides``: read, create, change and delete units.

Plain data out, no printing; changes come back as a Plan for operations.mutation to commit.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from generator import merge, state, yamlio
from generator.errors import GitopsError
from generator.model import Space, UnitRef, UnitState, check_name
from generator.operations.repo import Fleet
from generator.operations.select import select
from generator.operations.sync import Engine, Plan
from generator.store import blob_id


def summary(fleet: Fleet, ref: UnitRef) -> dict[str, Any]:
    """A unit's metadata, without its manifest: what ``unit list -o json`` prints per unit."""
    unit = fleet.spaces[ref.space].units[ref.unit]
    return {
        "space": ref.space,
        "unit": ref.unit,
        "labels": unit.labels,
        "upstream": str(unit.upstream) if unit.upstream else None,
    }


def list_units(fleet: Fleet, space_pattern: str = "*", where: str | None = None,
               filter_name: str | None = None) -> list[dict[str, Any]]:
    """Every unit of every space matching the glob (and the clause), ordered by space, then
    Labels.order, then name."""
    rows = [summary(fleet, ref) for ref in select(fleet, space_pattern, None, where, filter_name)]

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


# --- changing units ------------------------------------------------------------------------


def parse_patch(text: str, source: str) -> dict[str, Any]:
    """A strategic merge patch from JSON or YAML text (JSON is YAML)."""
    patch = yamlio.load(text, source)
    if not isinstance(patch, dict):
        raise GitopsError(f"{source}: a patch must be a mapping, e.g. "
                          '{"spec":{"replicas":3}}', "write the fields to change, nested as in the manifest")
    return patch


def plan_patch(fleet: Fleet, version: str, space: str, unit: str, patch: dict[str, Any]) -> Plan:
    """``unit update --patch``: a local edit by strategic merge (comments in the file kept)."""
    ref = fleet.unit_ref(space, unit)
    engine = Engine(fleet, version)
    local = yamlio.load_roundtrip(engine.text(ref), str(ref))
    patched = merge.strategic_patch(local, patch)
    engine.set_local(ref, yamlio.dump_roundtrip(patched), fleet.spaces[space].units[unit])
    engine.touch(space)
    return engine.plan


def plan_replace(fleet: Fleet, version: str, space: str, unit: str, text: str) -> Plan:
    """``unit update --file``: the unit's whole manifest replaced (a local edit)."""
    ref = fleet.unit_ref(space, unit)
    engine = Engine(fleet, version)
    engine.set_local(ref, text, fleet.spaces[space].units[unit])
    engine.touch(space)
    return engine.plan


def plan_merge_unit(fleet: Fleet, version: str, space: str, unit: str, source: str,
                    prefer: str = "local") -> Plan:
    """``unit update --merge-unit S2/U2``: what S2/U2 changed relative to its upstream, here."""
    ref = fleet.unit_ref(space, unit)
    src = UnitRef.parse(source)
    fleet.unit_ref(src.space, src.unit)
    engine = Engine(fleet, version, prefer)
    engine.merge_from(ref, src)
    engine.touch(space)
    return engine.plan


def plan_create(fleet: Fleet, version: str, space: str, unit: str, text: str | None = None,
                upstream: UnitRef | None = None, labels: dict[str, str] | None = None) -> Plan:
    """``unit create``: from a file (no upstream), or linked to an upstream unit."""
    check_name("unit", unit)
    record = fleet.space(space)
    if unit in record.units:
        raise GitopsError(f"space {space!r} already has a unit {unit!r}",
                          f"change it with `gitops unit update {unit} --space {space}`")
    engine = Engine(fleet, version)
    ref = UnitRef(space, unit)
    if upstream is not None:
        fleet.unit_ref(upstream.space, upstream.unit)
        up_labels = fleet.spaces[upstream.space].units[upstream.unit].labels
        new = UnitState({**up_labels, **_environment(record), **(labels or {})}, upstream, "", "")
        created = dataclasses.replace(record, units={**record.units, unit: new})
        engine.sync_space(created, [unit], force=True)
    else:
        assert text is not None
        data = yamlio.load(text, unit)
        engine.validate(data, ref)
        blob = blob_id(text)
        engine.write(ref, text, blob, lambda: data)
        new = UnitState({**_environment(record), **(labels or {})}, None, blob, blob)
        engine.record(dataclasses.replace(record, units={**record.units, unit: new}))
    return engine.plan


def plan_delete(fleet: Fleet, version: str, space: str, unit: str) -> Plan:
    """``unit delete``: refused while another unit derives from it."""
    ref = fleet.unit_ref(space, unit)
    users = dependents(fleet, ref)
    if users:
        raise GitopsError(f"{ref} is the upstream of {', '.join(users[:5])}"
                          + (f" and {len(users) - 5} more" if len(users) > 5 else ""),
                          "delete those units first")
    engine = Engine(fleet, version)
    engine.remove(ref)
    record = fleet.spaces[space]
    engine.record(dataclasses.replace(record, units={u: s for u, s in record.units.items() if u != unit}))
    return engine.plan


def dependents(fleet: Fleet, ref: UnitRef) -> list[str]:
    """``space/unit`` of every unit whose upstream is ``ref``."""
    return [f"{name}/{u}" for name in sorted(fleet.spaces) for u, s in fleet.spaces[name].units.items()
            if s.upstream == ref]


def _environment(space: Space) -> dict[str, str]:
    env = space.labels.get("environment")
    return {"environment": env} if env else {}


def overrides(fleet: Fleet, space: str, unit: str | None = None) -> list[dict[str, Any]]:
    """Every local edit: each field where a unit differs from what it was generated as."""
    record = fleet.space(space)
    names = [fleet.unit_ref(space, unit).unit] if unit else sorted(record.units)
    rows = []
    for name in names:
        ref = UnitRef(space, name)
        unit_state = record.units[name]
        if fleet.blobs.get(state.unit_path(ref)) == unit_state.origin:
            continue
        generated = yamlio.load(fleet.store.read_blob(unit_state.origin), f"{ref} (generated)")
        for path, before, after in merge.diff(generated, fleet.data(ref)):
            rows.append({"space": space, "unit": name, "field": path,
                         "generated": before, "local": after})
    return rows
