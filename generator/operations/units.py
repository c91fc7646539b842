"""``gitops unit`` and ``gitops overrides``: read, create, change and delete units.

Plain data out, no printing; changes come back as a Plan for operations.mutation to commit.
Reading a unit must not load the write side (derive, mutation: the guard's detectors, schemas,
merges): the functions that change units import it when called.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from generator import state
from generator.errors import GitopsError, NotFoundError
from generator.model import Space, UnitRef, UnitState, check_name
from generator.operations.fleet import Fleet
from generator.operations.select import Found

if TYPE_CHECKING:
    from generator.operations import mutation
    from generator.operations.derive import Engine, Plan
    from generator.store import Store


def summary(fleet: Fleet, ref: UnitRef) -> dict[str, Any]:
    """A unit's metadata, without its manifest: what ``unit list -o json`` prints per unit."""
    return Found.of(ref, fleet.spaces[ref.space].units[ref.unit]).row()


def get_unit(fleet: Fleet, space: str, unit: str, parsed: bool = True) -> dict[str, Any]:
    """``{space, unit, labels, upstream, revision, data}``; ``text`` is the manifest as committed.
    Without ``parsed``, no ``data``: who prints the text alone need not parse it."""
    ref = fleet.unit_ref(space, unit)
    return {
        **summary(fleet, ref),
        "revision": fleet.store.revisions(state.unit_path(ref)),
        **({"data": fleet.data(ref)} if parsed else {}),
        "text": fleet.text(ref),
    }


# --- changing units ------------------------------------------------------------------------


def _engine(fleet: Fleet, version: str, prefer: str = "local") -> Engine:
    from generator.operations.derive import Engine

    return Engine(fleet, version, prefer)


def _mutate(store: Store, build: Callable[[Fleet], Plan], operation: str, summary: str,
            edit: mutation.Edit | None) -> mutation.Outcome:
    from generator.operations import mutation

    return mutation.mutate(store, build, operation, lambda p: summary, edit or mutation.Edit())


def parse_patch(text: str, source: str) -> dict[str, Any]:
    """A strategic merge patch from JSON or YAML text (JSON is YAML)."""
    from generator import yamlio

    patch = yamlio.load(text, source)
    if not isinstance(patch, dict):
        raise GitopsError(f"{source}: a patch must be a mapping, e.g. "
                          '{"spec":{"replicas":3}}', "write the fields to change, nested as in the manifest")
    return patch


def plan_patch(fleet: Fleet, version: str, space: str, unit: str, patch: dict[str, Any]) -> Plan:
    """``unit update --patch``: a local edit by strategic merge (comments in the file kept)."""
    ref = fleet.unit_ref(space, unit)
    engine = _engine(fleet, version)
    text = engine.text(ref)
    from generator import merge, yamlio

    patched = merge.strategic_patch(yamlio.load_roundtrip(text, str(ref)), patch)
    engine.set_local(ref, yamlio.dump_roundtrip(patched, like=text), fleet.spaces[space].units[unit])
    engine.touch(space)
    return engine.finish()


def plan_replace(fleet: Fleet, version: str, space: str, unit: str, text: str) -> Plan:
    """``unit update --file``: the unit's whole manifest replaced (a local edit)."""
    ref = fleet.unit_ref(space, unit)
    engine = _engine(fleet, version)
    engine.set_local(ref, text, fleet.spaces[space].units[unit])
    engine.touch(space)
    return engine.finish()


def plan_merge_unit(fleet: Fleet, version: str, space: str, unit: str, source: str,
                    prefer: str = "local") -> Plan:
    """``unit update --merge-unit S2/U2``: what S2/U2 changed relative to its upstream, here."""
    ref = fleet.unit_ref(space, unit)
    src = UnitRef.parse(source)
    fleet.unit_ref(src.space, src.unit)
    engine = _engine(fleet, version, prefer)
    engine.merge_from(ref, src)
    engine.touch(space)
    return engine.finish()


def create(store: Store, space: str, unit: str, manifest: str | None = None,
           upstream: UnitRef | None = None, labels: dict[str, str] | None = None,
           restore: bool = False, edit: mutation.Edit | None = None) -> mutation.Outcome:
    """``gitops unit create``: from a manifest, linked to ``upstream``, or restored; one commit."""
    how = f" from {upstream}" if upstream else " (restored)" if restore else ""
    return _mutate(
        store, lambda fleet: plan_create(fleet, fleet.settings.kubernetes_version, space, unit,
                                         manifest, upstream, labels, restore),
        "unit-create", f"unit create {space}/{unit}{how}", edit)


class Update(NamedTuple):
    """What ``unit update`` does, exactly one of: a strategic merge patch (its text, and where
    it came from, for errors), a whole new manifest, or another unit's change (SPACE/UNIT)."""

    patch: str | None = None
    patch_source: str = "--patch"
    manifest: str | None = None
    merge_unit: str | None = None


def update(store: Store, space: str, unit: str, change: Update, prefer: str = "local",
           edit: mutation.Edit | None = None) -> mutation.Outcome:
    """``gitops unit update``: patch, replace or merge into one unit; one commit. A patch
    that does not parse is an error before the repo is touched."""
    build: Callable[[Fleet, str], Plan]
    if change.merge_unit is not None:
        source = change.merge_unit
        build, operation, summary = (
            lambda fleet, version: plan_merge_unit(fleet, version, space, unit, source, prefer),
            "merge-unit", f"merge {source} into {space}/{unit}")
    elif change.manifest is not None:
        text = change.manifest
        build, operation, summary = (lambda fleet, version: plan_replace(fleet, version, space, unit, text),
                                     "replace", f"replace {space}/{unit}")
    else:
        parsed = parse_patch(change.patch or "", change.patch_source)
        build, operation, summary = (lambda fleet, version: plan_patch(fleet, version, space, unit, parsed),
                                     "patch", f"patch {space}/{unit}")
    return _mutate(store, lambda fleet: build(fleet, fleet.settings.kubernetes_version), operation, summary, edit)


def plan_create(fleet: Fleet, version: str, space: str, unit: str, text: str | None = None,
                upstream: UnitRef | None = None, labels: dict[str, str] | None = None,
                restore: bool = False) -> Plan:
    """``unit create``: from a file (no upstream), linked to an upstream unit (a clone when
    the names differ: the object is renamed, see overlay.rename), or (``restore``) a unit a
    person deleted, linked again to the upstream it had. Either way a person's unit: render
    leaves it as it is."""
    check_name("unit", unit)
    record = fleet.space(space)
    if unit in record.units:
        raise GitopsError(f"space {space!r} already has a unit {unit!r}",
                          f"change it with `gitops unit update {unit} --space {space}`")
    deleted = {u: up for u, up in record.deleted.items() if u != unit}
    if restore:
        if unit not in record.deleted:
            raise NotFoundError(f"unit {unit!r} of space {space!r} was not deleted"
                                + (f"; deleted units: {', '.join(sorted(record.deleted))}" if record.deleted else ""),
                                "create a new unit with --file or --upstream-space")
        if not record.deleted[unit]:  # made by the config itself (a unit of the base)
            engine = _engine(fleet, version)
            engine.record(dataclasses.replace(record, deleted=deleted, fingerprint=""))
            return engine.finish()
        upstream = UnitRef.parse(record.deleted[unit])
    engine = _engine(fleet, version)
    ref = UnitRef(space, unit)
    if upstream is not None:
        fleet.unit_ref(upstream.space, upstream.unit)
        up_labels = fleet.spaces[upstream.space].units[upstream.unit].labels
        new = UnitState({**up_labels, **_environment(record), **(labels or {})}, upstream, "", "",
                        local=not restore)
        created = dataclasses.replace(record, units={**record.units, unit: new}, deleted=deleted)
        engine.derive_space(created, [unit], force=True)
    else:
        assert text is not None
        from generator import yamlio

        data = yamlio.load(text, unit)
        if not isinstance(data, dict) or not data.get("kind"):
            raise GitopsError(f"{unit}: the file is not a Kubernetes object (no kind)",
                              "give it apiVersion, kind and metadata.name")
        engine.checks.validate(data, ref)
        from generator.blobs import blob_id

        blob = blob_id(text)
        engine.write(ref, text, blob, lambda: data)
        new = UnitState({**_environment(record), **(labels or {})}, None, blob, blob, local=True)
        engine.record_edited(dataclasses.replace(record, units={**record.units, unit: new}, deleted=deleted))
    return engine.finish()


def delete(store: Store, space: str, unit: str, cascade: bool = False,
           edit: mutation.Edit | None = None) -> mutation.Outcome:
    """``gitops unit delete``: one commit."""
    return _mutate(
        store, lambda fleet: plan_delete(fleet, fleet.settings.kubernetes_version, space, unit, cascade),
        "unit-delete", f"unit delete {space}/{unit}", edit)


def plan_delete(fleet: Fleet, version: str, space: str, unit: str, cascade: bool = False) -> Plan:
    """``unit delete``: the file and its record go. A unit render or upgrade would bring back
    is remembered as deleted (a local edit: it stays deleted until ``unit create --restore``).
    Refused while other units derive from it, unless ``cascade``: then each of those goes too
    if unedited, or stays as a unit of its own and is reported as a conflict."""
    ref = fleet.unit_ref(space, unit)
    users = dependents(fleet, ref)
    if users and not cascade:
        raise GitopsError(f"{ref} is the upstream of {', '.join(users[:5])}"
                          + (f" and {len(users) - 5} more" if len(users) > 5 else ""),
                          "delete those units first, or all at once with --cascade (edited ones "
                          "are kept and reported)")
    engine = _engine(fleet, version)
    engine.remove(ref)
    record = fleet.spaces[space]
    gone = record.units[unit]
    deleted = dict(record.deleted)
    if not gone.local:
        deleted[unit] = str(gone.upstream or "")
    engine.record_edited(dataclasses.replace(record, units={u: s for u, s in record.units.items() if u != unit},
                                             deleted=deleted))
    from generator.operations.derive import order

    for name in order({n: fleet.spaces[n] for n in fleet.spaces}):
        chosen = [u for u, s in engine.space(name).units.items() if s.upstream is not None
                  and not engine.exists(s.upstream)]
        if chosen:
            engine.derive_space(engine.space(name), chosen)
    return engine.finish()


def dependents(fleet: Fleet, ref: UnitRef) -> list[str]:
    """``space/unit`` of every unit whose upstream is ``ref``."""
    return [f"{name}/{u}" for name in sorted(fleet.spaces) for u, s in fleet.spaces[name].units.items()
            if s.upstream == ref]


def _environment(space: Space) -> dict[str, str]:
    env = space.labels.get("environment")
    return {"environment": env} if env else {}


def overrides(fleet: Fleet, space: str, unit: str | None = None) -> list[dict[str, Any]]:
    """Every local edit: each field where a unit differs from what it was generated as, and
    the units a person added to the space or deleted from it."""
    from generator import guard, merge, yamlio

    record = fleet.space(space)
    if unit and unit in record.deleted:
        names: list[str] = []
    else:
        names = [fleet.unit_ref(space, unit).unit] if unit else sorted(record.units)
    rows = []
    for name in names:
        ref = UnitRef(space, name)
        unit_state = record.units[name]
        if unit_state.local and unit_state.upstream is None:
            rows.append({"space": space, "unit": name, "field": "(unit)", "generated": None,
                         "local": "added"})
            continue
        if fleet.blobs.get(state.unit_path(ref)) == unit_state.origin:
            continue
        generated = yamlio.load(fleet.store.read_blob(unit_state.origin), f"{ref} (generated)")
        for path, before, after in merge.diff(generated, fleet.data(ref)):
            rows.append({"space": space, "unit": name, "field": path,
                         "generated": guard.redact_value(path, before), "local": guard.redact_value(path, after)})
    for name, upstream in sorted(record.deleted.items()):
        if unit in (None, name):
            rows.append({"space": space, "unit": name, "field": "(unit)",
                         "generated": upstream or "rendered", "local": "deleted"})
    return rows
