"""`gitops tree` and `gitops show`: looking back at how the fleet's copies hang together, and at
what one commit did.

Typer only: parse, call one operation (``generator.operations.tree``, ``show``), present (a
rich Tree, or key/value lines and one line per changed field). Operations are imported inside
each command. ``value`` is how a field's value reads in a line, here and in ``unit diff``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from generator import output
from generator.cli import complete
from generator.cli.app import globals_of
from generator.cli.options import OutputOpt, optional

if TYPE_CHECKING:
    from rich.tree import Tree

    from generator.operations.tree import Node

MARKERS = {"edited": "yellow", "added": "green", "deleted": "red"}
LEGEND = ("legend: [edited N] N fields differ from what the unit was generated as (gitops overrides) · "
          "[added] added in that space, no upstream · [deleted] deleted from that space "
          "(render does not bring it back) · SPACE/UNIT a copy under another name")


def value(v: Any) -> str:
    """A field's value in a one-line summary: strings as they are, the rest as JSON; absent
    as (none)."""
    if v is None:
        return "(none)"
    return v if isinstance(v, str) else json.dumps(v)


def field_lines(fields: list[dict[str, Any]], indent: str = "  ") -> None:
    """``field: before → after``, one line per changed field (values masked upstream)."""
    for f in fields:
        output.line(f"{indent}{f['field']}: {value(f['before'])} → {value(f['after'])}")


def tree(
    ctx: typer.Context,
    space: Annotated[str, typer.Option(
        "--space", help="Only spaces matching this glob (and the spaces above them, for the path), "
        "e.g. 'traderx-prod-*'.", click_type=complete.spaces)] = "*",
    unit: Annotated[Optional[str], optional(
        "--unit", help="Only the tree that holds this unit, e.g. trade-service (or a clone's name).",
        click_type=complete.units)] = None,
    output_format: OutputOpt = None,
) -> None:
    """The upstream hierarchy of every unit, its local edits marked: base, then dev, staging and
    the prod regions, each copy under the unit it derives from.

    A unit cloned under another name shows under its upstream as SPACE/UNIT. The markers come
    from `gitops overrides`: edited N (N fields differ from what was generated), added (a unit
    with no upstream), deleted (render keeps it deleted). -o json gives the trees as nested data.

    Examples:

      gitops tree --unit trade-service

      gitops tree --space 'traderx-prod-*' -o json
    """
    from rich.text import Text
    from rich.tree import Tree

    from generator.operations import tree as tree_op

    g = globals_of(ctx)
    fmt = g.fmt(output_format)
    roots = tree_op.tree(g.fleet(), space, unit)
    if fmt != "table":
        output.emit([root.data() for root in roots], fmt)
        return
    if not roots:
        output.info(f"no unit {unit!r} in spaces matching {space!r}" if unit else
                    f"no units in spaces matching {space!r}")
        return
    for root in roots:
        top = Tree(Text(root.ref.unit, style="bold"), guide_style="dim")
        _grow(top, root, root.ref.unit)
        output.stdout.print(top)
    output.line(LEGEND)


def _grow(parent: Tree, node: Node, name: str) -> None:
    from rich.text import Text

    label = Text(node.ref.space if node.ref.unit == name else str(node.ref))
    if node.marker:
        label.append(f"  [{node.marker}{f' {node.edits}' if node.marker == 'edited' else ''}]",
                     style=MARKERS.get(node.marker, ""))
    branch = parent.add(label)
    for child in node.children:
        _grow(branch, child, name)


def show(
    ctx: typer.Context,
    commit: Annotated[Optional[str], typer.Argument(
        help="A commit of the manifests repo: a sha, HEAD~2, a tag (default: HEAD, the newest "
        "change).", show_default=False)] = None,
    output_format: OutputOpt = None,
) -> None:
    """One commit in gitops terms: operation, author, time, reason, changeset, spaces and units,
    then each unit it added, removed or changed, field by field (before → after).

    Secret values are masked. A commit made by hand shows as operation 'git'. For the text
    diff of one unit, see `gitops unit diff`.

    Examples:

      gitops show

      gitops show HEAD~2 -o json
    """
    from generator.operations import show as show_op

    g = globals_of(ctx)
    fmt = g.fmt(output_format)
    shown = show_op.show(g.store(), commit)
    if fmt != "table":
        output.emit(shown, fmt)
        return
    for key in ("commit", "operation", "author", "time", "reason", "changeset", "spaces", "units",
                "restored", "message"):
        item = shown[key]
        if item or key in ("commit", "operation", "author", "time", "message"):
            output.line(f"{key + ':':<11}{', '.join(item) if isinstance(item, list) else item}")
    if shown["changes"]:
        output.line("")
    for change in shown["changes"]:
        output.line(f"{change['change']:<8} {change['space']}/{change['unit']}")
        field_lines(change["fields"], "  ")
    if not shown["changes"]:
        output.info("it changed no unit")
