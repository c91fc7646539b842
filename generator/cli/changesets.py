"""`gitops changeset create | use | list | show | apply | abort`.

Typer only: parse, call one operation (``generator.operations.changeset``), present.
Operations are imported inside each command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from generator import output
from generator.cli import complete, present
from generator.cli.app import globals_of
from generator.cli.options import AuthorOpt, DryRunOpt, Kube, OutputOpt, ReasonOpt, on_clusters, optional

if TYPE_CHECKING:
    from generator.operations.apply import Report
    from generator.operations.mutation import Outcome
    from generator.store import Store

changeset_app = typer.Typer(
    help="Changesets: related edits on a branch of their own (changeset/NAME), landed on main "
         "as ONE commit.\n\n"
         "  gitops changeset create market-data-v2 --reason 'market data v2'\n\n"
         "  gitops run set-image-reference ... --changeset market-data-v2   (main unchanged)\n\n"
         "  gitops changeset show market-data-v2\n\n"
         "  gitops changeset apply market-data-v2                         (one commit on main)",
    no_args_is_help=True)

ChangesetArg = Annotated[str, typer.Argument(help="The changeset's name, e.g. market-data-v2.",
                                             click_type=complete.changesets)]


@changeset_app.command("create")
def changeset_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The new changeset's name, e.g. market-data-v2.")],
    reason: ReasonOpt = None,
    author: AuthorOpt = None,
    use: Annotated[bool, typer.Option(
        "--use", help="Also make it current: later mutating commands record on it.")] = False,
) -> None:
    """Open a changeset: the branch changeset/NAME, starting at main."""
    from generator.operations import changeset as changeset_op

    store = globals_of(ctx).store()
    commit = changeset_op.create(store, name, reason, author)
    if use:
        changeset_op.use(store, name)
    output.info(f"changeset {name} opened at {commit[:10]} (branch changeset/{name}); record edits "
                f"on it with --changeset {name}" + (" (now current)" if use else
                                                    f" or `gitops changeset use {name}`"))


@changeset_app.command("use")
def changeset_use(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Argument(
        help="The changeset mutating commands record on from now on.", show_default=False,
        click_type=complete.changesets)] = None,
    none: Annotated[bool, typer.Option("--none", help="Back to main: no current changeset.")] = False,
) -> None:
    """Make a changeset current (mutating commands then record on it), or --none."""
    from generator.operations import changeset as changeset_op

    if (name is None) == (not none):
        raise typer.BadParameter("give a changeset name or --none", param_hint="NAME")
    changeset_op.use(globals_of(ctx).store(), name)
    output.info(f"current changeset: {name}" if name else "no current changeset: edits go to main")


@changeset_app.command("list")
def changeset_list(ctx: typer.Context, output_format: OutputOpt = None) -> None:
    """Open changesets: status, reason, who opened it, edits and units."""
    from generator.operations import changeset as changeset_op

    g = globals_of(ctx)
    output.listing(changeset_op.list_changesets(g.store()), g.fmt(output_format), [
        ("CHANGESET", lambda r: r["changeset"] + (" *" if r["current"] else "")),
        ("STATUS", lambda r: r["status"]), ("EDITS", lambda r: r["edits"]),
        ("UNITS", lambda r: present.abbreviated(r["units"], 3)), ("OPENED BY", lambda r: r["openedBy"]),
        ("REASON", lambda r: r["reason"] or ""),
    ], "no open changesets: start one with `gitops changeset create NAME`")


@changeset_app.command("show")
def changeset_show(ctx: typer.Context, name: ChangesetArg, output_format: OutputOpt = None) -> None:
    """A changeset's units, edits and the diff it would land."""
    from generator.operations import changeset as changeset_op

    g = globals_of(ctx)
    fmt = g.fmt(output_format)
    shown = changeset_op.show(g.store(), name)
    if present.emitted(shown, fmt):
        return
    output.info(f"changeset {name}: {shown['status']}; {present.counted(shown['edits'], 'edit')}; "
                f"reason: {shown['reason'] or '-'}; opened by {shown['openedBy']}")
    output.table(shown["commits"], [
        ("COMMIT", lambda r: r["commit"][:10]), ("AUTHOR", lambda r: r["author"]),
        ("OPERATION", lambda r: r["operation"]), ("MESSAGE", lambda r: r["message"])], "")
    output.info("units: " + (", ".join(shown["units"]) or "(none)"))
    output.stdout.out(shown["diff"], end="", highlight=False)


def _apply_deployed(store: Store, name: str, reason: Optional[str], author: Optional[str], dry_run: bool,
                    fmt: str, kube: Kube) -> tuple[Outcome, Optional[Report]]:
    """``changeset_op.apply_deployed``, its conflicts and progress shown, and a failed
    deploy's report presented before the error."""
    from generator.operations import apply as apply_op
    from generator.operations import changeset as changeset_op

    try:
        with present.showing_conflicts(fmt), output.progress_lines(f"deploying changeset {name}") as progress:
            return changeset_op.apply_deployed(store, kube.kubectl(), name, reason, author, dry_run,
                                               not kube.no_wait, kube.timeout, progress)
    except apply_op.ApplyError as e:
        present.apply_report(e.report, fmt)
        raise


@changeset_app.command("apply")
@on_clusters()
def changeset_apply(
    ctx: typer.Context,
    name: ChangesetArg,
    dry_run: DryRunOpt = False,
    reason: Annotated[Optional[str], optional(
        "--reason", help="Why (default: the reason the changeset was opened with).")] = None,
    author: AuthorOpt = None,
    deploy: Annotated[bool, typer.Option(
        "--deploy", help="Also deploy what it changes, all or nothing: a server-side dry run of every "
        "changed object first, then the apply; if any part fails, what was applied is put back "
        "and nothing lands in git.")] = False,
    *,
    kube: Kube,
    output_format: OutputOpt = None,
) -> None:
    """Land every edit of the changeset on main as ONE commit (with --deploy: on the clusters too).

    When main moved since the changeset was opened, each unit is merged field by field; if
    main changed a field the changeset also changed, differently, nothing lands and the
    conflicts are listed.

      gitops changeset apply market-data-v2 --deploy --dry-run   (the cluster checks it, nothing changes)

      gitops changeset apply market-data-v2 --deploy --timeout 120s
    """
    from generator.operations import changeset as changeset_op

    g = globals_of(ctx)
    fmt = g.fmt(output_format)
    store = g.store()
    if not deploy:
        with present.showing_conflicts(fmt):
            outcome = changeset_op.apply(store, name, reason, author, dry_run)
        present.report(outcome, store, fmt, f"changeset {name} applied:")
        return
    outcome, report = _apply_deployed(store, name, reason, author, dry_run, fmt, kube)
    if fmt != "table":
        output.emit({**present.outcome_data(outcome), "changeset": name,
                     "deploy": report.data() if report else None}, fmt)
        return
    present.report(outcome, store, fmt, f"changeset {name} applied:")
    if report is None:
        output.info("nothing to deploy")
    else:
        present.apply_report(report, fmt)


@changeset_app.command("abort")
def changeset_abort(ctx: typer.Context, name: ChangesetArg, output_format: OutputOpt = None) -> None:
    """Drop a changeset: its branch goes, main does not change (its commits stay reachable)."""
    from generator.operations import changeset as changeset_op

    g = globals_of(ctx)
    fmt = g.fmt(output_format)
    done = changeset_op.abort(g.store(), name)
    if not present.emitted(done, fmt):
        output.info(f"changeset {name} aborted; main unchanged. Its {present.counted(done['edits'], 'edit')} "
                    f"stay reachable as {done['kept']}")
