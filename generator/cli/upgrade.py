"""`gitops upgrade` and `gitops promote`: carry changes down the pipeline, or sideways.

Typer only: parse, call one operation (``generator.operations.upgrade``), present. Operations
are imported inside each command.
"""

from __future__ import annotations

from typing import Annotated

import typer

from generator.cli import complete
from generator.cli.app import committed, landing
from generator.cli.options import Edit, Prefer, PreferOpt, Selection, UnitOpt, edits, selects

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
    from generator.operations import upgrade as upgrade_op

    committed(ctx, lambda store: upgrade_op.upgrade(
        store, selection.space, selection.unit, selection.where, selection.filter_name,
        prefer.value, landing(edit)), edit, "upgraded")


@edits()
def promote(
    ctx: typer.Context,
    source: Annotated[str, typer.Option("--from", help="The space whose changes travel.",
                                        click_type=complete.spaces)],
    target: Annotated[str, typer.Option("--to", help="The space that takes them.", click_type=complete.spaces)],
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

    committed(ctx, lambda store: upgrade_op.promote(store, source, target, unit, prefer.value,
                                                    landing(edit)), edit, "promoted")
