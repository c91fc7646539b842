"""`gitops init`: a new config dir.

Typer only, no logic: parse, call one operation (``generator.operations.init``), present what
it wrote and the commands to run next. The operation is imported inside the command.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from generator import output
from generator.cli.app import globals_of
from generator.cli.options import OutputOpt, optional

if TYPE_CHECKING:
    from generator.operations.init import Initialized


class Example(str, enum.Enum):
    """What ``--example`` writes besides the starter."""

    traderx = "traderx"


def init(
    ctx: typer.Context,
    directory: Annotated[str, typer.Argument(
        help="Where to write it: a new or empty directory (created if missing).", show_default=True)] = ".",
    example: Annotated[Optional[Example], optional(
        "--example", help="Write the full TraderX example (8 services, dev, staging and three "
        "production regions) instead of the one-service starter.")] = None,
    project: Annotated[Optional[str], optional(
        "--project", help="The project name, written into gitops.yaml: spaces are "
        "<project>-base, <project>-<env>... (default: traderx).")] = None,
    namespace: Annotated[Optional[str], optional(
        "--namespace", help="The base space's namespace, written into templates/values.yaml "
        "(default: traderx).")] = None,
    output_format: OutputOpt = None,
) -> None:
    """Create a new config dir: gitops.yaml, filters.yaml, templates/, environments/, regions/.

    The starter renders one space, <project>-base, with two units: reference-data (a
    Deployment) and the Namespace it runs in (a namespaced object cannot be applied before
    its Namespace exists, so the Namespace is a unit too, applied first). environments/ and
    regions/ hold commented examples (*.yaml.example, which render ignores): copy one to
    *.yaml to add dev or a region. --example traderx writes the full example instead. A
    directory that holds anything is refused: nothing is ever overwritten. No manifests repo
    is made: `gitops render` makes it.

    Examples:

      gitops init my-config && cd my-config && gitops render

      gitops init fleet --example traderx

      gitops init shop --project shop --namespace shop -o json
    """
    from generator.operations import init as init_op

    fmt = globals_of(ctx).fmt(output_format)
    done = init_op.init(Path(directory), example.value if example else "starter",
                        project, namespace)
    steps = _next(directory, done)
    if fmt != "table":
        output.emit({"directory": str(done.directory), "example": done.example, "project": done.project,
                     "files": list(done.files), "spaces": list(done.spaces), "units": list(done.units),
                     "repo": str(done.repo), "next": [command for command, _ in steps]}, fmt)
        return
    output.line(f"wrote a new config dir in {directory} (example: {done.example}, project: {done.project}):")
    for path in done.files:
        output.line(f"  {path}")
    if "namespace" in done.units:
        output.line("the unit `namespace` is the Namespace the others run in: a namespaced object "
                    "cannot be applied before its Namespace exists, so it is applied first (order 0)")
    each = " each" if len(done.spaces) > 1 else ""
    output.line(f"spaces it defines: {', '.join(done.spaces)} ({len(done.units)} units{each})")
    output.line("next:")
    width = max(len(command) for command, _ in steps)
    for command, why in steps:
        output.line(f"  {command.ljust(width)}   # {why}")


def _next(directory: str, done: Initialized) -> list[tuple[str, str]]:
    """The commands to run next, each with why."""
    base = done.spaces[0]
    steps = [] if os.path.abspath(directory) == os.getcwd() else [(f"cd {directory}", "the config dir")]
    steps += [
        ("gitops render", f"render the base and every space into {os.path.basename(done.repo)}/, one commit"),
        ("gitops space list", "the spaces and where each deploys"),
        (f"gitops unit list --space {base}", "the units of the base"),
        (f"gitops apply --space {base} --context CONTEXT --dry-run", "check it against a cluster"),
    ]
    if done.example == "starter":
        steps.append(("cp environments/dev.yaml.example environments/dev.yaml", "add dev, then render again"))
    return steps
