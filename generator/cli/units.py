"""`gitops unit list | get | create | update | delete`, and `gitops overrides`.

Typer only: parse (reading a --file or stdin is parsing the input), call one operation
(``generator.operations.units``), present. Operations are imported inside each command.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from generator import output
from generator.cli import complete
from generator.cli.app import committed, globals_of, landing
from generator.cli.options import (Edit, FilterOpt, Kube, LabelOpt, OutputOpt, Prefer, PreferOpt, SpaceOpt,
                                   UnitArg, UnitOpt, WhereOpt, edits, labels, on_clusters, optional)
from generator.errors import GitopsError

if TYPE_CHECKING:
    pass

unit_app = typer.Typer(help="Units: one Kubernetes object each, in a space.", no_args_is_help=True)

_REVISION = ("a revision as `gitops history` numbers them (1 created the unit; -1 the one before "
             "the newest), or a commit (a sha of 7+ digits, HEAD~2, a tag)")
RevisionOpt = Annotated[Optional[str], optional("--revision", help=f"The unit as it was at {_REVISION}.")]


def _read_input(path: str, what: str) -> str:
    """The text of a file, or of stdin for '-'."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text()
    except OSError as e:
        raise GitopsError(f"cannot read {what} {path}: {e.strerror}", "check the path") from e


@unit_app.command("list")
def unit_list(
    ctx: typer.Context,
    space: Annotated[str, typer.Option(
        "--space", help="Spaces to list, a glob: 'traderx-prod-*', '*' (the whole fleet).",
        click_type=complete.spaces)] = "*",
    where: WhereOpt = None,
    filter_name: FilterOpt = None,
    output_format: OutputOpt = None,
) -> None:
    """List units across spaces, in deployment order; --where / --filter to find some.

    Examples:

      gitops unit list --space '*' --where "Data CONTAINS 'trade-service:v1'"

      gitops unit list --space 'traderx-prod-*' --where "spec.replicas > 2 AND Labels.layer = 'backend'"
    """
    from generator.operations import select as select_op

    g = globals_of(ctx)
    fmt = g.fmt(output_format)
    with output.progress("indexing manifests for --where") as progress:
        rows = select_op.list_units(g.fleet(space), space, where, filter_name, progress)
    output.listing(rows, fmt, [
        ("SPACE", lambda r: r["space"]),
        ("UNIT", lambda r: r["unit"]),
        ("ORDER", lambda r: r["labels"].get("order")),
        ("LAYER", lambda r: r["labels"].get("layer")),
        ("UPSTREAM", lambda r: r["upstream"]),
    ], f"0 units match {select_op.describe(space, None, where, filter_name)}"
       if where is not None or filter_name is not None else "no units: run `gitops render` first")


@unit_app.command("get")
@on_clusters(waits=False, times_out=False)
def unit_get(
    ctx: typer.Context,
    unit: UnitArg,
    space: Annotated[str, typer.Option("--space", help="Its space (one name, no glob), e.g. traderx-prod-eu.",
                                       click_type=complete.spaces)],
    revision: RevisionOpt = None,
    live: Annotated[bool, typer.Option(
        "--live", help="The object as the space's cluster has it now (from its target context, or "
        "--context): managedFields dropped, secret values masked.")] = False,
    output_format: OutputOpt = None,
    *,
    kube: Kube,
) -> None:
    """Show one unit: its manifest (-o yaml, the default) or everything about it (-o json).

    With --revision, as it was then (see `gitops history UNIT --space S`); with --live, the
    object on the cluster, status included:

      gitops unit get trade-service --space traderx-prod-eu --revision -1

      gitops unit get trade-service --space traderx-prod-eu --live -o json
    """
    if live and revision is not None:
        raise typer.BadParameter("give --live (the cluster's object) or --revision (git's), not both",
                                 param_hint="'--live' / '--revision'")
    g = globals_of(ctx)
    fmt = g.fmt(output_format, default="yaml")
    if live:  # (each import only where it is needed: reading git's unit stays quick)
        from generator.operations import drift as drift_op
        output.emit(drift_op.live_object(kube.kubectl(), g.fleet(), space, unit), "json" if fmt == "json" else "yaml")
        return
    if revision is not None:
        from generator.operations import history as history_op
        found = history_op.unit_at(g.fleet(space), space, unit, revision)
    else:
        from generator.operations import units as units_op
        found = units_op.get_unit(g.fleet(space), space, unit, parsed=fmt == "json")
    if fmt == "json":
        output.emit({k: v for k, v in found.items() if k != "text"}, "json")
    else:
        sys.stdout.write(found["text"])


@unit_app.command("diff")
def unit_diff(
    ctx: typer.Context,
    unit: UnitArg,
    space: SpaceOpt,
    from_rev: Annotated[Optional[str], optional(
        "--from", help=f"From {_REVISION}. Default: the revision before --to.")] = None,
    to_rev: Annotated[Optional[str], optional(
        "--to", help=f"To {_REVISION}. Default: the newest revision (main).")] = None,
    output_format: OutputOpt = None,
) -> None:
    """What changed in a unit between two revisions: each field (before → after), then the
    unified diff. Secret values are masked. Without --from and --to: its newest change.

    Examples:

      gitops unit diff trade-service --space traderx-prod-eu

      gitops unit diff trade-service --space traderx-prod-eu --from 1 --to -1

      gitops unit diff trade-service --space traderx-prod-eu --from v1.4.0 -o json
    """
    from generator.cli.lookback import field_lines
    from generator.operations import history as history_op

    g = globals_of(ctx)
    fmt = g.fmt(output_format)
    found = history_op.unit_diff(g.fleet(space), space, unit, from_rev, to_rev)
    if fmt != "table":
        output.emit(found.data(), fmt)
        return
    before = f"revision {found.before.number} ({found.before.commit[:10]})" if found.before else "nothing"
    output.line(f"{space}/{unit}: {before} → revision {found.after.number} ({found.after.commit[:10]}): "
                f"{found.change}")
    field_lines(found.fields)
    if found.diff:
        output.line("")
        output.stdout.out(found.diff, end="", highlight=False)


def overrides(ctx: typer.Context, space: SpaceOpt, unit: UnitOpt = None,
              output_format: OutputOpt = None) -> None:
    """Every local edit of a space: each field where a unit differs from what it was generated as."""
    from generator.operations import units as units_op

    g = globals_of(ctx)
    output.listing(units_op.overrides(g.fleet(space), space, unit), g.fmt(output_format), [
        ("UNIT", lambda r: r["unit"]), ("FIELD", lambda r: r["field"]),
        ("GENERATED", lambda r: r["generated"]), ("LOCAL", lambda r: r["local"]),
    ], f"no local edits in {space}")


@unit_app.command("create")
@edits()
def unit_create(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="The new unit's name.")],
    space: SpaceOpt,
    file: Annotated[Optional[str], optional("--file", help="Its manifest, from a file ('-': stdin).")] = None,
    upstream_space: Annotated[Optional[str], optional(
        "--upstream-space", help="Derive it from a unit of this space...", click_type=complete.spaces)] = None,
    upstream_unit: Annotated[Optional[str], optional(
        "--upstream-unit", help="...this unit (default: the same name).", click_type=complete.units)] = None,
    restore: Annotated[bool, typer.Option(
        "--restore", help="Bring back a unit deleted from this space, linked to the upstream "
        "it had.")] = False,
    label: LabelOpt = None,
    *,
    edit: Edit,
) -> None:
    """Create a unit from a manifest file, or linked to an upstream unit.

    A unit you create is yours: render and upgrade never remove it, and a linked one keeps
    taking its upstream's changes. Linked under another name it is a clone: its object is
    renamed (metadata.name, and the label values equal to the old name in its labels,
    selector and pod template), so blue and green are two Deployments.

    Examples:

      gitops unit create eu-trading-hours --space traderx-prod-eu --file cm.yaml

      gitops unit create trade-service-green --space traderx-prod-us \
        --upstream-space traderx-base --upstream-unit trade-service

      gitops unit create web-gui-svc --space traderx-prod-asia --restore
    """
    from generator.model import UnitRef
    from generator.operations import units as units_op

    if sum((file is not None, upstream_space is not None, restore)) != 1:
        raise typer.BadParameter("give exactly one of --file, --upstream-space or --restore",
                                 param_hint="'--file' / '--upstream-space' / '--restore'")
    text = _read_input(file, "manifest") if file is not None else None
    up = UnitRef.parse(f"{upstream_space}/{upstream_unit or unit}") if upstream_space else None
    given = labels(label)
    committed(ctx, lambda store: units_op.create(store, space, unit, text, up, given, restore,
                                                 landing(edit)), edit, "created")


@unit_app.command("update")
@edits()
def unit_update(
    ctx: typer.Context,
    unit: UnitArg,
    space: SpaceOpt,
    patch: Annotated[Optional[str], optional(
        "--patch", help="A strategic merge patch, JSON or YAML ('-': stdin), e.g. "
        "'{\"spec\":{\"replicas\":3}}'")] = None,
    patch_file: Annotated[Optional[str], optional("--patch-file", help="The patch, from a file.")] = None,
    merge_unit: Annotated[Optional[str], optional(
        "--merge-unit", help="SPACE/UNIT: merge in what that unit changed relative to its own upstream "
        "(lateral promotion).", click_type=complete.space_units)] = None,
    file: Annotated[Optional[str], optional(
        "--file", help="Replace the whole manifest with this file.")] = None,
    prefer: PreferOpt = Prefer.local,
    *,
    edit: Edit,
) -> None:
    """Change a unit: patch it, replace it, or merge another unit's change into it.

    A changed unit has local edits: later upgrades keep them (see `gitops overrides`).

    Examples:

      gitops unit update trade-service --space traderx-base --patch \\
        '{"spec":{"template":{"spec":{"containers":[{"name":"trade-service","image":"traderx/trade-service:v2"}]}}}}'

      gitops unit update trade-service --space traderx-prod-asia --merge-unit traderx-prod-eu/trade-service
    """
    from generator.operations import units as units_op

    if sum(x is not None for x in (patch, patch_file, merge_unit, file)) != 1:
        raise typer.BadParameter("give exactly one of --patch, --patch-file, --merge-unit, --file",
                                 param_hint="'--patch'")
    if merge_unit is not None:
        change = units_op.Update(merge_unit=merge_unit)
    elif file is not None:
        change = units_op.Update(manifest=_read_input(file, "manifest"))
    elif patch_file is not None:
        change = units_op.Update(patch=_read_input(patch_file, "patch"), patch_source=patch_file)
    else:
        change = units_op.Update(patch=sys.stdin.read() if patch == "-" else str(patch))
    committed(ctx, lambda store: units_op.update(store, space, unit, change, prefer.value, landing(edit)),
              edit, "updated")


@unit_app.command("delete")
@edits()
def unit_delete(
    ctx: typer.Context,
    unit: UnitArg,
    space: SpaceOpt,
    cascade: Annotated[bool, typer.Option(
        "--cascade", help="Also delete the units derived from it (edited ones are kept, as "
        "units of their own, and reported).")] = False,
    *,
    edit: Edit,
) -> None:
    """Delete a unit. It stays deleted: render and upgrade do not bring it back (gitops
    overrides lists it); `gitops unit create UNIT --space S --restore` does.

    Refused while another unit derives from it, unless --cascade.
    """
    from generator.operations import units as units_op

    committed(ctx, lambda store: units_op.delete(store, space, unit, cascade, landing(edit)),
              edit, "deleted")
