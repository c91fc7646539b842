"""``gitops tree``: the upstream hierarchy of every unit, with its local edits marked.

One tree per unit that derives from nothing (a unit of the base, or one a person added): its
nodes are the copies of it, each under the unit it is derived from (so a clone under another
name, ``traderx-prod-us/trade-service-green`` from ``traderx-base/trade-service``, sits under its
upstream with its own name), siblings in rollout order (dev, staging, then prod, as
``handoff.stage_order`` has it). Each node carries a marker, read from ``gitops overrides``
(``units.overrides``), never recomputed: ``edited`` (how many fields differ from what it was
generated as), ``added`` (a person's unit, no upstream) or ``deleted`` (in the space's
``deleted`` list: render does not bring it back).

Reads only; builds data, prints nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from generator.errors import NotFoundError
from generator.handoff import stage_order
from generator.model import UnitRef, apply_order, check_name
from generator.operations import units
from generator.operations.fleet import Fleet


@dataclass(frozen=True)
class Node:
    """One copy of a unit: where it is, what it derives from, its marker, what derives from it."""

    ref: UnitRef
    upstream: UnitRef | None
    order: int  # its apply order (model.apply_order): trees are listed in it
    marker: str | None = None  # edited, added, deleted; None: as generated
    edits: int = 0  # edited: how many fields
    children: tuple[Node, ...] = field(default=())

    def data(self) -> dict[str, Any]:
        return {"space": self.ref.space, "unit": self.ref.unit,
                "upstream": str(self.upstream) if self.upstream else None,
                "marker": self.marker, "edits": self.edits,
                "children": [child.data() for child in self.children]}

    def units(self) -> set[str]:
        """The unit names in this tree."""
        return {self.ref.unit}.union(*(child.units() for child in self.children))


def tree(fleet: Fleet, space: str = "*", unit: str | None = None) -> list[Node]:
    """The trees of the fleet's units, in apply order: those that hold a unit named ``unit``
    (all: None), each cut down to the nodes of spaces matching the glob ``space`` and the
    nodes above them. A glob that matches no space, or a unit no space has, is an error."""
    matched = {s.name for s in fleet.match(space)}
    roots = _link(fleet)
    if unit is not None:
        check_name("unit", unit)
        roots = [root for root in roots if unit in root.units()]
        if not roots:
            raise NotFoundError(f"no space has a unit {unit!r}", "see `gitops unit list --space '*'`")
    kept = [node for node in (_cut(root, lambda ref: ref.space in matched) for root in roots) if node]
    return _marked(fleet, kept)


def _link(fleet: Fleet) -> list[Node]:
    """Every unit of every space, and every unit a space deleted, as trees by upstream link."""
    found: dict[UnitRef, tuple[UnitRef | None, int]] = {}
    for name in fleet.spaces:
        record = fleet.spaces[name]
        for unit_name, unit_state in record.units.items():
            found[UnitRef(name, unit_name)] = (unit_state.upstream, apply_order(unit_state.labels))
        for unit_name, had in record.deleted.items():
            found[UnitRef(name, unit_name)] = (UnitRef.parse(had) if had else None, apply_order({}))
    below: dict[UnitRef | None, list[UnitRef]] = {}
    for ref, (upstream, _) in found.items():
        below.setdefault(upstream if upstream in found and upstream != ref else None, []).append(ref)
    stages = {env: n for n, env in enumerate(stage_order(
        s.labels.get("environment", "") for s in (fleet.spaces[n] for n in fleet.spaces)))}

    def rank(ref: UnitRef) -> tuple[int, str, str]:
        labels = fleet.spaces[ref.space].labels
        return stages.get(labels.get("environment", ""), len(stages)), ref.space, ref.unit

    def node(ref: UnitRef) -> Node:
        upstream, order = found[ref]
        return Node(ref, upstream, order,
                    children=tuple(node(child) for child in sorted(below.get(ref, []), key=rank)))

    roots = [node(ref) for ref in below.get(None, [])]
    return sorted(roots, key=lambda n: (n.order, n.ref.unit, rank(n.ref)))


def _cut(node: Node, keep: Callable[[UnitRef], bool]) -> Node | None:
    """The node with only the descendants ``keep`` takes (and those above them); None when
    neither it nor any of them is kept."""
    children = tuple(c for c in (_cut(child, keep) for child in node.children) if c)
    if not children and not keep(node.ref):
        return None
    return replace(node, children=children)


def _marked(fleet: Fleet, roots: list[Node]) -> list[Node]:
    """Each node's marker and edit count, from ``gitops overrides`` of the spaces shown."""
    spaces: set[str] = set()

    def collect(node: Node) -> None:
        spaces.add(node.ref.space)
        for child in node.children:
            collect(child)

    for root in roots:
        collect(root)
    edits: dict[UnitRef, int] = {}
    markers: dict[UnitRef, str] = {}
    for name in sorted(spaces):
        for row in units.overrides(fleet, name):
            ref = UnitRef(name, row["unit"])
            if row["field"] == "(unit)":
                markers[ref] = str(row["local"])  # added, deleted
            else:
                edits[ref] = edits.get(ref, 0) + 1

    def mark(node: Node) -> Node:
        count = edits.get(node.ref, 0)
        return replace(node, marker=markers.get(node.ref) or ("edited" if count else None), edits=count,
                       children=tuple(mark(child) for child in node.children))

    return [mark(root) for root in roots]
