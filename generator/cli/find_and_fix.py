"""Find and fix: `gitops run set-replicas | set-image-reference | set-env-var`, `gitops filter list`.

Typer only, no logic: parse, call one operation (``generator.operations.run``), present.
A function's arguments are checked when parsed (``--env-var``, see options); operations are
imported inside each command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from generator import output
from generator.cli.app import committed, globals_of, landing
from generator.cli.options import Edit, EnvVarOpt, OutputOpt, Selection, edits, selects

if TYPE_CHECKING:
    from generator.functions import Function

run_app = typer.Typer(help="Find and fix: one function over every unit a selection picks, one commit.",
                      no_args_is_help=True)
filter_app = typer.Typer(help="Named filters and sets, for --filter.", no_args_is_help=True)

ContainerOpt = Annotated[str, typer.Option("--container-name", help="The container.")]


def _run_function(ctx: typer.Context, function: Function, selection: Selection, edit: Edit) -> None:
    """One function over the units the selection matches, as one mutation."""
    from generator.operations import run as run_op

    committed(ctx, lambda store: run_op.run(store, function, selection.space, selection.unit,
                                            selection.where, selection.filter_name, landing(edit)),
              edit, "changed")


@run_app.command("set-replicas")
@selects
@edits()
def run_set_replicas(
    ctx: typer.Context,
    replicas: Annotated[int, typer.Option("--replicas", help="The number of replicas.")],
    *, selection: Selection, edit: Edit,
) -> None:
    """Set spec.replicas of every selected Deployment.

      gitops run set-replicas --replicas 2 --space traderx-prod-eu --where "spec.replicas > 2"
    """
    from generator import functions

    _run_function(ctx, functions.replicas(replicas), selection, edit)


@run_app.command("set-image-reference")
@selects
@edits()
def run_set_image_reference(
    ctx: typer.Context,
    container_name: ContainerOpt,
    image_reference: Annotated[str, typer.Option(
        "--image-reference", help="A full image reference, or ':TAG' to keep the repository.")],
    *, selection: Selection, edit: Edit,
) -> None:
    """Set the image of a named container in every selected unit.

      gitops run set-image-reference --container-name trade-service --image-reference :v2 --space '*'
    """
    from generator import functions

    _run_function(ctx, functions.image(container_name, image_reference), selection, edit)


@run_app.command("set-env-var")
@selects
@edits()
def run_set_env_var(
    ctx: typer.Context, container_name: ContainerOpt, env_var: EnvVarOpt, *, selection: Selection, edit: Edit,
) -> None:
    """Add, replace or remove (NAME-) an env var of a named container in every selected unit.

    A literal whose name says credential (DB_PASSWORD, API_TOKEN) is refused by the secret
    guard: reference a Secret instead (envFrom/secretKeyRef).

      gitops run set-env-var --container-name trade-service --env-var CIRCUIT_BREAKER=true \\
        --unit trade-service --space traderx-prod-eu

      gitops run set-env-var --container-name trade-service --env-var CIRCUIT_BREAKER- --space '*'
    """
    from generator import functions

    _run_function(ctx, functions.env(container_name, env_var), selection, edit)


@filter_app.command("list")
def filter_list(ctx: typer.Context, output_format: OutputOpt = None) -> None:
    """The named filters and sets --filter takes (from the config dir's filters.yaml)."""
    from generator.operations import select as select_op

    g = globals_of(ctx)
    rows = [{"filter": name, "where": text} for name, text in sorted(select_op.filters(g.fleet()).items())]
    output.listing(rows, g.fmt(output_format), [("FILTER", lambda r: r["filter"]),
                                               ("WHERE", lambda r: r["where"])],
                   "no filters: add filters.yaml to the config dir and run `gitops render`")
