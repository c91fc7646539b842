"""`gitops space list | get | create`.

Typer only, no logic: parse, call one operation (``generator.operations.spaces``), present.
Operations are imported inside each command.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from generator import output
from generator.cli import complete
from generator.cli.app import committed, globals_of, landing
from generator.cli.options import Edit, LabelOpt, OutputOpt, edits, labels, optional

space_app = typer.Typer(help="Spaces: one copy of the configuration each (base, dev, prod-eu...).",
                        no_args_is_help=True)


@space_app.command("list")
def space_list(
    ctx: typer.Context,
    space: Annotated[str, typer.Option("--space", help="Only spaces matching this glob.",
                                       click_type=complete.spaces)] = "*",
    output_format: OutputOpt = None,
) -> None:
    """List spaces: name, upstream, units, labels and target."""
    from generator.operations import spaces as spaces_op

    g = globals_of(ctx)
    fmt = g.fmt(output_format)
    output.listing(spaces_op.list_spaces(g.fleet(), space), fmt, [
        ("SPACE", lambda r: r["space"]),
        ("UPSTREAM", lambda r: r["upstream"]),
        ("UNITS", lambda r: len(r["units"])),
        ("TARGET", lambda r: f"{r['target']['context']}/{r['target']['namespace']}"),
        ("LABELS", lambda r: r["labels"]),
    ], "no spaces: run `gitops render` first")


@space_app.command("get")
def space_get(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The space, e.g. traderx-prod-eu.", click_type=complete.spaces)],
    output_format: OutputOpt = None,
) -> None:
    """Show one space: labels, upstream, target and its units."""
    from generator.operations import spaces as spaces_op

    g = globals_of(ctx)
    fmt = g.fmt(output_format, default="yaml")
    output.emit(spaces_op.get_space(g.fleet(), name), "json" if fmt == "json" else "yaml")


@space_app.command("create")
@edits()
def space_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The new space, e.g. traderx-prod-ca.")],
    upstream: Annotated[Optional[str], optional(
        "--upstream", help="Clone every unit of this space, linked to it (later upgrades flow in).",
        click_type=complete.spaces)] = None,
    namespace: Annotated[Optional[str], optional(
        "--namespace", help="Namespace of its units (default: the space's name).")] = None,
    context: Annotated[Optional[str], optional(
        "--context", help="Kube context it deploys to (default: the space's name).")] = None,
    label: LabelOpt = None,
    *,
    edit: Edit,
) -> None:
    """Create a space, empty or as a linked copy of another."""
    from generator.operations import spaces as spaces_op

    given = labels(label)
    committed(ctx, lambda store: spaces_op.create(store, name, upstream, given, namespace, context,
                                                  landing(edit)), edit, "created")
