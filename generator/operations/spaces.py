"""``gitops space``: list, describe and create spaces (plain data out; no printing)."""

from __future__ import annotations

from typing import Any

from generator.errors import GitopsError
from generator.model import Overlay, Space, Target, UnitRef, UnitState, check_name
from generator.operations.fleet import Fleet
from generator.operations.derive import Engine, Plan
from generator.operations import mutation
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
           edit: mutation.Edit = mutation.Edit()) -> mutation.Outcome:
    """``gitops space create``: one commit."""
    return mutation.mutate(
        store, lambda fleet: plan_create(fleet, fleet.settings.kubernetes_version, name, upstream,
                                         labels or {}, namespace, context),
        "space-create", lambda p: f"space create {name}" + (f" from {upstream}" if upstream else ""), edit)


def plan_create(fleet: Fleet, version: str, name: str, upstream: str | None,
                labels: dict[str, str], namespace: str | None = None,
                context: str | None = None) -> Plan:
    """``space create``: an empty space, or (``upstream``) one unit linked to each of its units,
    generated with the new space's namespace."""
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
