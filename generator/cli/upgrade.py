"""`gitops upgrade` and `gitops promote`: carry changes down the pipeline, or sideways.

Typer only: parse, call one operation (``generator.operations.upgrade``), present. Operations
are imported inside each command. One piece of logic waits here for its move into operations
(issue 14): ``_upgrade_plan``, which selects the units and then has the planner match the glob
and the unit again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from generator.cli import present
from generator.cli.app import mutate
from generator.cli.options import Edit, Prefer, PreferOpt, Selection, UnitOpt, edits, selects

if TYPE_CHECKING:
    from generator.operations.fleet import Fleet
    from generator.operations.derive import Plan


def _upgrade_plan(fleet: Fleet, version: str, scope: str, selection: Selection, prefer: Prefer) -> Plan:
    """The units --where/--filter pick (all when neither is given), upgraded. Logic, to move into
    operations (issue 14): plan_upgrade matches the glob and the unit a second time."""
    from generator.operations import select as select_op
    from generator.operations import upgrade as upgrade_op

    unit, where, filter_name = selection.unit, selection.where, selection.filter_name
    only = (set(select_op.matched(fleet, scope, unit, where, filter_name))
            if where is not None or filter_name is not None else None)
    return upgrade_op.plan_upgrade(fleet, version, scope, unit, prefer.value, only)


@selects
@edits()
def upgrade(ctx: typer.Context, *, selection: Selection, prefer: PreferOpt = Prefer.local, edit: Edit) -> None:
    """Carry each upstream's current content into its downstream units (push-upgrade).

    Each unit becomes merge3(origin = what it was generated as, update = what its upstream
    makes now, local = the unit as it is): upstream changes land, local edits stay, and where
    both changed a field differently the local value is kept (or --prefer upstream) and the
    conflict is reported and recorded in the commit.

    Examples:

      gitops upgrade --space 'traderx-prod-*' --dry-run

      gitops upgrade --space traderx-prod-eu --unit trade-service --prefer upstream
    """
    from generator.operations import select as select_op

    scope = select_op.require_scope(selection.space, "upgrade")
    mutate(ctx, lambda fleet, version: _upgrade_plan(fleet, version, scope, selection, prefer),
           "upgrade",
           lambda p: f"upgrade: {present.counted(len(p.units), 'unit')} in {scope}"
                     + (f" ({present.counted(len(p.conflicts), 'conflict')})" if p.conflicts else ""),
           edit, "upgraded")


@edits()
def promote(
    ctx: typer.Context,
    source: Annotated[str, typer.Option("--from", help="The space whose changes travel.")],
    target: Annotated[str, typer.Option("--to", help="The space that takes them.")],
    unit: UnitOpt = None,
    prefer: PreferOpt = Prefer.local,
    *,
    edit: Edit,
) -> None:
    """Promote a space's changes into another: along the pipeline or sideways.

    Sideways (e.g. --from traderx-prod-eu --to traderx-prod-asia), only what the source changed
    relative to its own upstream travels: asia takes eu's fix and keeps its own replicas.
    """
    from generator.operations import upgrade as upgrade_op

    mutate(ctx, lambda fleet, version: upgrade_op.plan_promote(
        fleet, version, source, target, unit, prefer.value), "promote",
        lambda p: f"promote {source} -> {target}: {present.counted(len(p.units), 'unit')}", edit, "promoted")
