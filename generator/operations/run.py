"""``gitops run FUNCTION``: one function over every selected unit, one commit.

Units the function does not change are not rewritten. A file in the emitter's own layout is
changed through the fast plain-data path; any other (comments, another style) round-trips
through ruamel so that what the function did not touch stays as it was.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable
from typing import Any

from generator import yamlio
from generator.model import UnitRef
from generator.operations.repo import Fleet
from generator.operations.sync import Engine, Plan

Function = Callable[[Any], bool]


def plan_run(fleet: Fleet, version: str, refs: list[UnitRef], function: Function,
             prefilter: str | None = None) -> Plan:
    """Apply ``function`` to each unit of ``refs``; ``prefilter``: text a unit must contain for
    the function to be able to change it (units without it are not even parsed)."""
    engine = Engine(fleet, version)
    for ref in refs:
        text = engine.text(ref)
        if prefilter is not None and prefilter not in text:
            continue
        data = fleet.data(ref)
        if "#" not in text and yamlio.dump(data) == text:
            changed_data = marshal.loads(marshal.dumps(data))  # a private copy to change
            if function(changed_data):
                engine.set_local(ref, yamlio.dump(changed_data), fleet.spaces[ref.space].units[ref.unit])
            continue
        local = yamlio.load_roundtrip(text, str(ref))
        if function(local):
            engine.set_local(ref, yamlio.dump_roundtrip(local, like=text), fleet.spaces[ref.space].units[ref.unit])
    return engine.finish()
