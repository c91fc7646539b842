"""``gitops upgrade`` and ``gitops promote``: carry upstream (or sideways) changes into units.

upgrade: every selected unit = merge3(origin, generated from its upstream now, local), spaces
in upstream-first order. promote --from S --to T: for each unit of S that T has, if T's unit
derives from S's it is upgraded; otherwise what S changed relative to its own upstream is
merged into T's unit (lateral promotion, e.g. prod-eu -> prod-asia).
"""

from __future__ import annotations

from generator.errors import GitopsError, NotFoundError
from generator.model import UnitRef
from generator.operations import mutation, select
from generator.operations.derive import Engine, Plan, order
from generator.operations.fleet import Fleet
from generator.store import Store


def upgrade(store: Store, space: str | None, unit: str | None = None, where: str | None = None,
            filter_name: str | None = None, prefer: str = "local",
            edit: mutation.Edit = mutation.Edit()) -> mutation.Outcome:
    """``gitops upgrade``: the selected units of the spaces ``space`` matches (a glob, required)
    brought up to date with their upstreams, one commit."""
    scope = select.require_scope(space, "upgrade")

    def build(fleet: Fleet) -> Plan:
        only = (set(select.matched(fleet, scope, unit, where, filter_name))
                if where is not None or filter_name is not None else None)
        return plan_upgrade(fleet, fleet.settings.kubernetes_version, scope, unit, prefer, only)

    def summary(plan: Plan) -> str:
        conflicts = f" ({mutation.counted(len(plan.conflicts), 'conflict')})" if plan.conflicts else ""
        return f"upgrade: {mutation.counted(len(plan.units), 'unit')} in {scope}{conflicts}"

    return mutation.mutate(store, build, "upgrade", summary, edit)


def promote(store: Store, source: str, target: str, unit: str | None = None, prefer: str = "local",
            edit: mutation.Edit = mutation.Edit()) -> mutation.Outcome:
    """``gitops promote``: ``source``'s changes into ``target``, one commit."""
    return mutation.mutate(
        store, lambda fleet: plan_promote(fleet, fleet.settings.kubernetes_version, source, target,
                                          unit, prefer),
        "promote", lambda p: f"promote {source} -> {target}: {mutation.counted(len(p.units), 'unit')}",
        edit)


def plan_upgrade(fleet: Fleet, version: str, space_glob: str = "*", unit: str | None = None,
                 prefer: str = "local", only: set[UnitRef] | None = None) -> Plan:
    """Upgrade the units of the spaces matching ``space_glob`` (only ``unit``, if given, and
    only the units in ``only``, if given: a --where selection)."""
    engine = Engine(fleet, version, prefer)
    selected = {space.name for space in fleet.match(space_glob)}
    if unit is not None and not any(unit in fleet.spaces[name].units for name in selected):
        raise NotFoundError(f"no space matching {space_glob!r} has a unit {unit!r}",
                            f"see `gitops unit list --space '{space_glob}'`")
    for name in order({n: fleet.spaces[n] for n in fleet.spaces}):
        if name not in selected:
            continue
        space = engine.space(name)
        if only is not None:
            chosen = [u for u in space.units if UnitRef(name, u) in only and unit in (None, u)]
            if chosen:
                engine.derive_space(space, chosen)
        elif unit is None:
            engine.derive_space(space)
        elif unit in space.units:
            engine.derive_space(space, [unit])
    return engine.finish()


def plan_promote(fleet: Fleet, version: str, source: str, target: str, unit: str | None = None,
                 prefer: str = "local") -> Plan:
    """Promote ``source``'s changes into ``target`` (all shared units, or ``unit``)."""
    if source == target:
        raise GitopsError(f"cannot promote {source!r} into itself",
                          "give --to another space, e.g. --from traderx-prod-eu --to traderx-prod-asia")
    engine = Engine(fleet, version, prefer)
    src, dst = fleet.space(source), fleet.space(target)
    names = [unit] if unit is not None else [u for u in src.units if u in dst.units]
    if unit is not None:
        fleet.unit_ref(source, unit)
        fleet.unit_ref(target, unit)
    if not names:
        raise NotFoundError(f"spaces {source!r} and {target!r} have no unit in common",
                            "promote works unit by unit, between units of the same name")
    along = [n for n in names if dst.units[n].upstream == UnitRef(source, n)]
    if along:
        engine.derive_space(dst, along, force=False)
    for name in names:
        if name not in along:
            engine.merge_from(UnitRef(target, name), UnitRef(source, name))
    engine.touch(target)
    return engine.finish()
