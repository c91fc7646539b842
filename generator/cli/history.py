"""`gitops history`, `gitops audit` and `gitops rollback`: what changed, who did it, undoing it.

Typer only, no logic: parse, call one operation (``generator.operations.history``,
``rollback``), present. Rollback checks which of its three forms the options ask for (a usage
rule) and calls that form's planner. Operations are imported inside each command.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from generator import output
from generator.cli import complete, present
from generator.cli.app import committed, globals_of, landing
from generator.cli.options import Edit, OutputOpt, SpaceOpt, UnitArg, edits, optional


def history(ctx: typer.Context, unit: UnitArg, space: SpaceOpt, output_format: OutputOpt = None) -> None:
    """A unit's revisions, newest first: N, commit, time, author, operation, message.

    Revision N is the N-th commit of main that changed the unit (1 created it). Roll back to
    one with `gitops rollback UNIT --space S --revision N`.
    """
    from generator.operations import history as history_op

    g = globals_of(ctx)
    output.listing(history_op.history(g.fleet(), space, unit), g.fmt(output_format), [
        ("REV", lambda r: r["revision"]), ("COMMIT", lambda r: r["commit"][:10]),
        ("TIME", lambda r: r["time"]), ("AUTHOR", lambda r: r["author"]),
        ("OPERATION", lambda r: r["operation"]), ("CHANGESET", lambda r: r["changeset"] or ""),
        ("MESSAGE", lambda r: r["message"]),
    ], f"no revisions of {space}/{unit}")


def audit(
    ctx: typer.Context,
    space: Annotated[Optional[str], optional("--space", help="Only spaces matching this glob.",
                                             click_type=complete.spaces)] = None,
    unit: Annotated[Optional[str], optional("--unit", help="Only this unit (UNIT, or SPACE/UNIT).",
                                            click_type=complete.units)] = None,
    since: Annotated[Optional[str], optional(
        "--since", help="Only changes since then: 2026-11-20, '2 hours ago', 3d, yesterday.")] = None,
    author: Annotated[Optional[str], optional(
        "--author", help="Only changes by authors whose 'Name <email>' contains this.")] = None,
    output_format: OutputOpt = None,
) -> None:
    """Every change to main, newest first: who, when, what operation, which units, why.

    Read from the commits' trailers (Gitops-Operation, -Spaces, -Units, -Changeset, -Reason);
    a commit made by hand shows as operation 'git'.

      gitops audit --space 'traderx-prod-*' --since '1 day ago' -o json
    """
    from generator.operations import history as history_op

    g = globals_of(ctx)
    output.listing(history_op.audit(g.store(), space, unit, since, author), g.fmt(output_format), [
        ("TIME", lambda r: r["time"]), ("AUTHOR", lambda r: r["author"]),
        ("OPERATION", lambda r: r["operation"]),
        ("UNITS", lambda r: present.abbreviated(r["units"])), ("REASON", lambda r: r["reason"] or ""),
        ("CHANGESET", lambda r: r["changeset"] or ""), ("COMMIT", lambda r: r["commit"][:10]),
    ], "no changes match")


@edits(on_changeset=False)
def rollback(
    ctx: typer.Context,
    unit: Annotated[Optional[str], typer.Argument(
        help="The unit to roll back (with --space and --revision).", show_default=False,
        click_type=complete.units)] = None,
    space: Annotated[Optional[str], optional(
        "--space", help="The unit's space; or, with --to, the space to roll back whole (one name, "
                        "no glob).", click_type=complete.spaces)] = None,
    revision: Annotated[Optional[int], optional(
        "--revision", help="The revision to restore (see `gitops history`); -1 is the one before "
                           "the current, -2 the one before that.")] = None,
    to: Annotated[Optional[str], optional(
        "--to", help="With --space and no unit: restore every unit of the space as at this commit.")] = None,
    undo_changeset: Annotated[Optional[str], optional(
        "--changeset", help="Undo what this changeset landed on main (later changes stay).")] = None,
    *,
    edit: Edit,
) -> None:
    """Restore a unit, a space or undo a changeset, as a NEW commit (history is never rewritten).

    A restored unit stays linked to its upstream; where that has changed since, the restored
    content is a local edit (`gitops overrides` shows it) that upgrades keep.

    Examples:

      gitops rollback trade-service --space traderx-prod-eu --revision -1 --dry-run

      gitops rollback --space traderx-prod-eu --to 3f2a1b9c

      gitops rollback --changeset market-data-v2
    """
    from generator.operations import rollback as rollback_op

    if undo_changeset is not None:
        if unit or space or revision is not None or to:
            raise typer.BadParameter("--changeset takes no unit, --space, --revision or --to",
                                     param_hint="'--changeset'")
        name = undo_changeset
        with present.showing_conflicts(globals_of(ctx).fmt(edit.output_format)):
            committed(ctx, lambda store: rollback_op.undo_changeset(store, name, landing(edit)),
                      edit, "rolled back")
        return
    if space is None:
        raise typer.BadParameter("give --space (with a unit and --revision, or with --to), "
                                 "or --changeset", param_hint="'--space'")
    if unit is not None:
        if revision is None or to is not None:
            raise typer.BadParameter("a unit rolls back to a --revision N (or -1)",
                                     param_hint="'--revision'")
        number, name, where = revision, unit, space
        committed(ctx, lambda store: rollback_op.rollback_unit(store, where, name, number, landing(edit)),
                  edit, "rolled back")
        return
    if to is None or revision is not None:
        raise typer.BadParameter("a whole space rolls back --to a commit (a unit takes --revision)",
                                 param_hint="'--to'")
    commit, where = to, space
    committed(ctx, lambda store: rollback_op.rollback_space(store, where, commit, landing(edit)),
              edit, "rolled back")
