"""``gitops rollback``: bring back a unit's content, a space's, or undo a changeset; as a new
commit, never by rewriting history.

A unit (or each unit of a space) gets back its manifest as it was at that revision; it stays
linked to its upstream, so where what it was generated from has changed since, the restored
content is a local edit like any other: ``gitops overrides`` shows it and upgrades keep it (an
emergency rollback is not undone by the next render). Units a space gained since are deleted;
units it lost come back with the record they had. A changeset is undone by carrying the
reverse of its landing commit onto main (``carry``), which keeps what happened after it.
Plans only; ``mutation.mutate`` commits.
"""

from __future__ import annotations

import dataclasses

from generator import state
from generator.errors import GitopsError, NotFoundError
from generator.model import UnitRef
from generator.operations import changeset
from generator.operations.history import revision
from generator.operations.fleet import Fleet
from generator.operations.derive import Engine, Plan
from generator.operations.units import dependents
from generator.blobs import blob_id
from generator.operations import mutation
from generator.store import Store


def rollback_unit(store: Store, space: str, name: str, number: int,
                  edit: mutation.Edit = mutation.Edit()) -> mutation.Outcome:
    """``gitops rollback UNIT --space S --revision N``: one commit."""
    return mutation.mutate(
        store, lambda fleet: plan_unit(fleet, fleet.settings.kubernetes_version, space, name, number),
        "rollback", lambda p: f"rollback {space}/{name} to revision {number}", edit)


def rollback_space(store: Store, name: str, commit: str, edit: mutation.Edit = mutation.Edit()) -> mutation.Outcome:
    """``gitops rollback --space S --to COMMIT``: one commit."""
    return mutation.mutate(
        store, lambda fleet: plan_space(fleet, fleet.settings.kubernetes_version, name, commit),
        "rollback", lambda p: f"rollback {name} to {commit[:10]}", edit)


def undo_changeset(store: Store, name: str, edit: mutation.Edit = mutation.Edit()) -> mutation.Outcome:
    """``gitops rollback --changeset NAME``: one commit undoing what it landed."""
    return mutation.mutate(
        store, lambda fleet: plan_changeset(fleet, fleet.settings.kubernetes_version, name),
        "rollback", lambda p: f"rollback: undo changeset {name}", edit)


def plan_unit(fleet: Fleet, version: str, space: str, unit: str, number: int) -> Plan:
    """The unit's manifest as at revision ``number`` (-1: the one before the current)."""
    ref = fleet.unit_ref(space, unit)
    wanted, commit, current = revision(fleet.store, ref, number)
    path = state.unit_path(ref)
    blob = fleet.store.view(commit.id).blobs_at_head([path]).get(path)
    if blob is None:
        raise NotFoundError(f"revision {wanted} of {ref} deleted it: there is no content to restore",
                            f"pick another revision (`gitops history {unit} --space {space}`)")
    engine = Engine(fleet, version)
    engine.set_local(ref, fleet.store.read_blob(blob), fleet.spaces[space].units[unit])
    engine.touch(space)
    engine.plan.restored = f"{commit.id} (revision {wanted} of {ref}; current was {current})"
    engine.plan.summary = f"rollback {ref} to revision {wanted}"
    return engine.finish()


def plan_space(fleet: Fleet, version: str, space: str, to: str) -> Plan:
    """Every unit of ``space`` as at commit ``to``: content restored, units added since
    deleted, units deleted since re-created."""
    commit = fleet.store.resolve(to)
    if commit is None:
        raise NotFoundError(f"{to!r} is not a commit of {fleet.store.root}",
                            f"see `gitops audit --space {space}` or `git log` for commits")
    record = fleet.space(space)
    then = Fleet.load(fleet.store.view(commit))
    if space not in then.spaces:
        raise NotFoundError(f"space {space!r} did not exist at {commit[:10]}",
                            f"see `gitops audit --space {space}` for when it was made")
    old = then.spaces[space]
    engine = Engine(fleet, version)
    units = dict(record.units)
    for name in sorted(set(record.units) - set(old.units)):
        ref = UnitRef(space, name)
        users = dependents(fleet, ref)
        if users:
            raise GitopsError(f"{ref} was made after {commit[:10]} and is the upstream of "
                              f"{', '.join(users[:5])}", "delete or relink those units first")
        engine.remove(ref)
        del units[name]
    for name in sorted(old.units):
        ref = UnitRef(space, name)
        text = then.text(ref)
        if name in record.units:
            if fleet.blobs.get(state.unit_path(ref)) != blob_id(text):
                engine.set_local(ref, text, record.units[name])
            continue
        unit_state = old.units[name]
        if unit_state.upstream is not None:
            engine.require(unit_state.upstream, ref)
        data = then.data(ref)
        engine.checks.validate(data, ref)
        engine.write(ref, text, blob_id(text), lambda data=data: data)  # type: ignore[misc]
        if unit_state.origin != blob_id(text):
            engine.plan.changes[state.origin_path(ref)] = then.store.read_blob(unit_state.origin)
        units[name] = unit_state
    if units != record.units or record.deleted != old.deleted:
        engine.record_edited(dataclasses.replace(record, units=units, deleted=dict(old.deleted)))
    engine.touch(space)
    engine.plan.all_units[space] = list(units)
    engine.plan.restored = f"{commit} (space {space})"
    return engine.finish()


def plan_changeset(fleet: Fleet, version: str, name: str) -> Plan:
    """Undo what changeset ``name`` landed on main, keeping every change made after it."""
    plan, landed = changeset.plan_revert(fleet.store, name, version)
    plan.restored = f"{landed.id}^ (undoing changeset {name})"
    return plan

