"""``gitops space``: list, describe and create spaces (plain data out; no printing).

Listing must not load the write side (derive, mutation: the guard, schemas, merges): ``create``
imports it when called, so ``space list`` starts as fast as a read can.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from generator.errors import GitopsError
from generator.model import Overlay, Space, Target, UnitRef, UnitState, check_name
from generator.operations.fleet import Fleet

if TYPE_CHECKING:
    from generator.operations import mutation
    from generator.operations.derive import Plan
    from generator.store import Store


def describe(space: Space) -> dict[str, Any]:
    """A space as plain data: what ``space get -o json`` prints."""
    return {
        "space": space.name,
        "labels": space.labels,
        "upstream": space.upstream,
        "target": {"context": space.target.context, "namespace": space.target.namespace},
        "managedBy": space.managed_by,
        "units": sorted(space.units),
        "deleted": sorted(space.deleted),  # units a person deleted: they stay deleted
    }


def list_spaces(fleet: Fleet, pattern: str = "*") -> list[dict[str, Any]]:
    """Every space matching a glob, as plain data."""
    return [describe(space) for space in fleet.match(pattern)] if fleet.spaces else []


def get_space(fleet: Fleet, name: str) -> dict[str, Any]:
    return describe(fleet.space(name))


def create(store: Store, name: str, upstream: str | None = None, labels: dict[str, str] | None = None,
           namespace: str | None = None, context: str | None = None,
           edit: mutation.Edit | None = None) -> mutation.Outcome:
    """``gitops space create``: one commit."""
    from generator.operations import mutation

    return mutation.mutate(
        store, lambda fleet: plan_create(fleet, fleet.settings.kubernetes_version, name, upstream,
                                         labels or {}, namespace, context),
        "space-create", lambda p: f"space create {name}" + (f" from {upstream}" if upstream else ""),
        edit or mutation.Edit())


def plan_create(fleet: Fleet, version: str, name: str, upstream: str | None,
                labels: dict[str, str], namespace: str | None = None,
                context: str | None = None) -> Plan:
    """``space create``: an empty space, or (``upstream``) one unit linked to each of its units,
    generated with the new space's namespace."""
    from generator.operations.derive import Engine

    check_name("space", name)
    if name in fleet.spaces:
        raise GitopsError(f"space {name!r} already exists", "pick another name, or see `gitops space get`")
    namespace = check_name("namespace", namespace or name)
    engine = Engine(fleet, version)
    units: dict[str, UnitState] = {}
    if upstream is not None:
        source = fleet.space(upstream)
        env = {"environment": labels["environment"]} if "environment" in labels else {}
        units = {u: UnitState({**s.labels, **env}, UnitRef(upstream, u), "", "")
                 for u, s in source.units.items()}
    space = Space(name, dict(sorted(labels.items())), upstream, Target(context or name, namespace),
                  "cli", "", units, Overlay(namespace) if upstream is not None else None)
    if units:
        engine.derive_space(space, force=True)
    else:
        engine.record(space)
    return engine.finish()
