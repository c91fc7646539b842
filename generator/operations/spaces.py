"""``gitops space``: list and describe spaces (plain data out; no printing)."""

from __future__ import annotations

from typing import Any

from generator.model import Space
from generator.operations.repo import Fleet


def describe(space: Space) -> dict[str, Any]:
    """A space as plain data: what ``space get -o json`` prints."""
    return {
        "space": space.name,
        "labels": space.labels,
        "upstream": space.upstream,
        "target": {"context": space.target.context, "namespace": space.target.namespace},
        "managedBy": space.managed_by,
        "units": sorted(space.units),
    }


def list_spaces(fleet: Fleet, pattern: str = "*") -> list[dict[str, Any]]:
    """Every space matching a glob, as plain data."""
    return [describe(space) for space in fleet.match(pattern)] if fleet.spaces else []


def get_space(fleet: Fleet, name: str) -> dict[str, Any]:
    return describe(fleet.space(name))
