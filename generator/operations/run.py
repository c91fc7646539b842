"""``gitops run FUNCTION``: one function over every selected unit, one commit.

Units the function does not change are not rewritten. A file in the emitter's own layout is
changed through the fast plain-data path; any other (comments, another style) round-trips
through ruamel so that what the function did not touch stays as it was.
"""

from __future__ import annotations

import marshal

from generator import state, yamlio
from generator.functions import Function
from generator.model import UnitRef, UnitState
from generator.operations import mutation, select
from generator.operations.derive import Engine, Plan, object_id
from generator.operations.fleet import Fleet
from generator.store import Store


def run(store: Store, function: Function, space: str | None, unit: str | None = None,
        where: str | None = None, filter_name: str | None = None,
        edit: mutation.Edit = mutation.Edit()) -> mutation.Outcome:
    """``gitops run FUNCTION``: ``function`` over the units the selection matches (``space`` a
    glob, required), one commit."""
    scope = select.require_scope(space, f"run {function.name}")

    def build(fleet: Fleet) -> Plan:
        refs = select.matched(fleet, scope, unit, where, filter_name)  # no clause: no space built
        return plan_run(fleet, fleet.settings.kubernetes_version, refs, function)

    return mutation.mutate(store, build, function.name,
                           lambda p: f"{function.name}: {mutation.counted(len(p.units), 'unit')}", edit)


def plan_run(fleet: Fleet, version: str, refs: list[UnitRef], function: Function) -> Plan:
    """Apply ``function`` to each unit of ``refs`` (units without its prefilter texts are
    neither read nor parsed). When no unit has what it names, its ``absent`` error is raised."""
    engine = Engine(fleet, version)
    found = False
    for ref in containing(fleet, refs, function.prefilter):
        text = engine.text(ref)
        unit_state = fleet.spaces.unit(ref.space, ref.unit)
        own = None if "#" in text else yamlio.load_own(text)
        if own is not None:  # the emitter's layout, read as private data: plain data will do
            was = object_id(own, "")
            result = function.change(own)
            if result:
                engine.set_local(ref, yamlio.dump(own), unit_state, own, was)
        elif "#" in text:
            result = _round_trip(engine, ref, text, function, unit_state)
        else:
            data = fleet.data(ref)
            changed_data = marshal.loads(marshal.dumps(data))  # a private copy to change
            result = function.change(changed_data)
            if result and yamlio.dump(data) == text:  # the emitter's layout: plain data will do
                engine.set_local(ref, yamlio.dump(changed_data), unit_state, changed_data)
            elif result:  # another layout: what the function does not touch stays as it was
                result = _round_trip(engine, ref, text, function, unit_state)
        found |= result is not None
    if not found:
        raise function.absent([fleet.data(ref) for ref in refs])
    return engine.finish()


def _round_trip(engine: Engine, ref: UnitRef, text: str, function: Function,
                unit_state: UnitState) -> bool | None:
    """``function`` over the unit read with ruamel, so comments and style survive."""
    local = yamlio.load_roundtrip(text, str(ref))
    result = function.change(local)
    if result:
        engine.set_local(ref, yamlio.dump_roundtrip(local, like=text), unit_state)
    return result


def containing(fleet: Fleet, refs: list[UnitRef], texts: tuple[str, ...]) -> list[UnitRef]:
    """Those of ``refs`` whose unit contains every one of ``texts``: git searches the fleet's
    files for them (the work tree, when it is the checked-out branch's) (a fleet-wide run reads and parses only the units that can change); when
    it cannot answer exactly, each unit is read here."""
    if not texts:
        return refs
    spaces = sorted({ref.space for ref in refs})
    under = ([state.SPACES_DIR + "/"] if len(spaces) == len(fleet.spaces)
             else [f"{state.SPACES_DIR}/{space}/" for space in spaces])
    # mutate found the work tree clean under the lock before the fleet was loaded
    paths = fleet.store.containing(list(texts), *under, clean=True)
    found = refs if paths is None else [ref for ref in refs if state.unit_path(ref) in paths]
    fleet.read(found)
    return [ref for ref in found if all(text in fleet.text(ref) for text in texts)]
