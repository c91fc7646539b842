"""``gitops run FUNCTION``: one function over every selected unit, one commit.

Units the function does not change are not rewritten. A file in the emitter's own layout is
changed through the fast plain-data path; any other (comments, another style) round-trips
through ruamel so that what the function did not touch stays as it was.
"""

from __future__ import annotations

import marshal

from generator import yamlio
from generator.functions import Function
from generator.model import UnitRef
from generator.operations import mutation, select
from generator.operations.derive import Engine, Plan
from generator.operations.fleet import Fleet
from generator.store import Store


def run(store: Store, function: Function, space: str | None, unit: str | None = None,
        where: str | None = None, filter_name: str | None = None,
        edit: mutation.Edit = mutation.Edit()) -> mutation.Outcome:
    """``gitops run FUNCTION``: ``function`` over the units the selection matches (``space`` a
    glob, required), one commit."""
    scope = select.require_scope(space, f"run {function.name}")

    def build(fleet: Fleet) -> Plan:
        refs = select.matched(fleet, scope, unit, where, filter_name)
        return plan_run(fleet, fleet.settings.kubernetes_version, refs, function)

    return mutation.mutate(store, build, function.name,
                           lambda p: f"{function.name}: {mutation.counted(len(p.units), 'unit')}", edit)


def plan_run(fleet: Fleet, version: str, refs: list[UnitRef], function: Function) -> Plan:
    """Apply ``function`` to each unit of ``refs`` (units without its prefilter text are not
    even parsed). When no unit has what it names, its ``absent`` error is raised."""
    engine = Engine(fleet, version)
    found = False
    for ref in refs:
        text = engine.text(ref)
        if function.prefilter is not None and function.prefilter not in text:
            continue
        data = fleet.data(ref)
        if "#" not in text and yamlio.dump(data) == text:
            changed_data = marshal.loads(marshal.dumps(data))  # a private copy to change
            result = function.change(changed_data)
            if result:
                engine.set_local(ref, yamlio.dump(changed_data), fleet.spaces[ref.space].units[ref.unit])
        else:
            local = yamlio.load_roundtrip(text, str(ref))
            result = function.change(local)
            if result:
                engine.set_local(ref, yamlio.dump_roundtrip(local, like=text), fleet.spaces[ref.space].units[ref.unit])
        found |= result is not None
    if not found:
        raise function.absent([fleet.data(ref) for ref in refs])
    return engine.finish()
