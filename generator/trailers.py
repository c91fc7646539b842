"""Commit messages as the audit trail: the first line says what, trailers say the rest (pure).

Trailers (DESIGN.md, "Commits are the audit trail"): ``Gitops-Operation``, ``Gitops-Spaces``,
``Gitops-Units`` (``space/unit``, or ``space/*`` when every unit of the space changed),
``Gitops-Changeset``, ``Gitops-Reason``, and on a rollback ``Gitops-Restored-From`` (which
revision or commit came back). ``parse`` reads them back. No git here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from generator.model import UnitRef

OPERATION = "Gitops-Operation"
SPACES = "Gitops-Spaces"
UNITS = "Gitops-Units"
CHANGESET = "Gitops-Changeset"
REASON = "Gitops-Reason"
RESTORED = "Gitops-Restored-From"


class Change(NamedTuple):
    """What one commit did, as its message says."""

    summary: str
    operation: str
    spaces: tuple[str, ...]
    units: tuple[str, ...]
    reason: str | None = None
    changeset: str | None = None
    restored: str | None = None  # rollback: "<commit> (revision N of space/unit)"


def units_field(units: Iterable[UnitRef], all_units: Mapping[str, Iterable[str]]) -> list[str]:
    """``space/unit`` entries, with ``space/*`` standing for every unit of a space.

    >>> units_field([UnitRef("a", "x"), UnitRef("a", "y"), UnitRef("b", "x")],
    ...             {"a": ["x", "y"], "b": ["x", "z"]})
    ['a/*', 'b/x']
    """
    by_space: dict[str, set[str]] = {}
    for ref in units:
        by_space.setdefault(ref.space, set()).add(ref.unit)
    out = []
    for space, names in sorted(by_space.items()):
        if len(names) > 1 and names >= set(all_units.get(space, ())):
            out.append(f"{space}/*")
        else:
            out.extend(f"{space}/{name}" for name in sorted(names))
    return out


def one_line(text: str) -> str:
    return " ".join(text.split())


def message(change: Change, body: str = "") -> str:
    """The full commit message: summary, optional body, blank line, trailers."""
    lines = [one_line(change.summary)]
    if body.strip():
        lines += ["", body.strip()]
    lines += ["", f"{OPERATION}: {change.operation}"]
    if change.spaces:
        lines.append(f"{SPACES}: {', '.join(change.spaces)}")
    if change.units:
        lines.append(f"{UNITS}: {', '.join(change.units)}")
    if change.changeset:
        lines.append(f"{CHANGESET}: {change.changeset}")
    if change.reason:
        lines.append(f"{REASON}: {one_line(change.reason)}")
    if change.restored:
        lines.append(f"{RESTORED}: {one_line(change.restored)}")
    return "\n".join(lines) + "\n"


def parse(text: str) -> Change | None:
    """Read a commit message back; None when it has no Gitops-Operation trailer."""
    lines = text.strip().splitlines()
    fields: dict[str, str] = {}
    for line in reversed(lines):
        if not line.strip():
            break
        key, sep, value = line.partition(": ")
        if sep:
            fields[key] = value.strip()
    if OPERATION not in fields:
        return None

    def split(value: str | None) -> tuple[str, ...]:
        return tuple(v.strip() for v in (value or "").split(",") if v.strip())

    return Change(
        summary=lines[0] if lines else "",
        operation=fields[OPERATION],
        spaces=split(fields.get(SPACES)),
        units=split(fields.get(UNITS)),
        reason=fields.get(REASON),
        changeset=fields.get(CHANGESET),
        restored=fields.get(RESTORED),
    )
