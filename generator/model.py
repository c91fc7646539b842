"""The data model: identities and plain values shared by every module.

Frozen dataclasses and named tuples only; no I/O, no parsing, no knowledge of git or YAML. A
manifest's content is a plain ``dict`` (``Manifest``); a unit's text is a ``str``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from generator.errors import InvalidNameError

Manifest = dict[str, Any]

# A space or unit name is a DNS-1123 label: it becomes a directory or file name and often a
# Kubernetes name, so nothing like "../x", "a/b" or "" may pass.
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it is a valid space or unit name, else raise InvalidNameError.

    >>> check_name("unit", "trade-service")
    'trade-service'
    >>> check_name("unit", "../x")
    Traceback (most recent call last):
    ...
    generator.errors.InvalidNameError: invalid unit name '../x'
    """
    if not _NAME.match(name):
        raise InvalidNameError(
            f"invalid {kind} name {name!r}",
            "names are lower-case letters, digits and '-', start and end with a letter or "
            "digit, at most 63 characters (like a Kubernetes name)",
        )
    return name


def is_name(text: str) -> bool:
    """Whether ``text`` is a valid space or unit name (``check_name`` without the error).

    >>> is_name("traderx-prod-eu"), is_name("traderx-prod-*"), is_name("../x")
    (True, False, False)
    """
    return _NAME.match(text) is not None


def is_glob(pattern: str) -> bool:
    """Whether a --space value is a glob (many spaces) rather than one name.

    >>> is_glob("traderx-prod-*"), is_glob("traderx-prod-eu")
    (True, False)
    """
    return any(ch in pattern for ch in "*?[")


class UnitRef(NamedTuple):
    """Which unit: a space and a unit name. ``str()`` gives ``space/unit``.

    (A named tuple, as ``Target``: a frozen dataclass costs every command ~1.5 ms to define.)
    """

    space: str
    unit: str

    def __str__(self) -> str:
        return f"{self.space}/{self.unit}"

    @classmethod
    def parse(cls, text: str) -> UnitRef:
        """``'traderx-prod-eu/trade-service'`` -> UnitRef; names are checked."""
        space, sep, unit = text.partition("/")
        if not sep:
            raise InvalidNameError(
                f"{text!r} is not SPACE/UNIT", "write it as e.g. traderx-prod-eu/trade-service"
            )
        return cls(check_name("space", space), check_name("unit", unit))


class Target(NamedTuple):
    """Where a space deploys: a kube context and a namespace."""

    context: str
    namespace: str


@dataclass(frozen=True)
class Overlay:
    """What a space changes on its upstream (see docs/configuration.md, "Overlays").

    Mappings are keyed by unit name (``resources`` also by ``"*"``). ``sources`` names the
    files it came from, for error messages.
    """

    namespace: str
    labels: dict[str, str] = field(default_factory=dict)
    replicas: dict[str, int] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)
    env: dict[str, dict[str, str]] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    patches: dict[str, Manifest] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def unit_names(self) -> set[str]:
        """Every unit name the overlay refers to (``"*"`` excluded)."""
        names: set[str] = set()
        for part in (self.replicas, self.images, self.env, self.resources, self.patches):
            names.update(part)
        names.discard("*")
        return names


@dataclass(frozen=True)
class SpaceSpec:
    """A space as the config dir defines it: its name, labels, upstream, target and overlay.

    (Whether a space needs work is decided from its record, see operations/derive.space_inputs.)
    """

    name: str
    labels: dict[str, str]
    upstream: str | None
    target: Target
    overlay: Overlay | None


@dataclass(frozen=True)
class UnitState:
    """What the manifests repo records about one unit besides its manifest.

    ``origin`` is the git blob id of the unit as generated at its last sync (the origin of the
    next 3-way merge); ``fingerprint`` identifies the inputs of that generation; and
    ``upstream_blob`` is what the upstream unit was then (to tell what upstream changed under
    a field the space's overlay sets). ``local`` marks a unit a person added to the space
    (``unit create``, or a file committed by hand): render keeps it, and its upstream link, as
    they are; the config never adds or removes it.
    """

    labels: dict[str, str]
    upstream: UnitRef | None
    origin: str
    fingerprint: str
    upstream_blob: str | None = None  # the upstream unit's blob id at that sync
    local: bool = False


@dataclass(frozen=True)
class Space:
    """A space as the manifests repo records it (``.gitops/spaces/<space>.json``).

    ``managed_by`` is ``"config"`` for spaces the config dir defines (render keeps them in step
    with it) and ``"cli"`` for spaces made with ``gitops space create``. ``overlay`` is what it
    changes on its upstream (None: units are copies of their upstream units), recorded so that
    ``upgrade`` needs only the repo. ``fingerprint`` hashes every input of its last sync.
    ``deleted`` names the units a person removed (``unit delete``, or ``git rm`` and a commit)
    that render or upgrade would otherwise bring back, with the upstream each had ("" for
    none): a local edit like any other, undone only on request (``unit create --restore``).
    """

    name: str
    labels: dict[str, str]
    upstream: str | None
    target: Target
    managed_by: str
    fingerprint: str
    units: dict[str, UnitState]
    overlay: Overlay | None = None
    deleted: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Conflict:
    """A field that upstream and a local edit both changed, differently."""

    path: str
    origin: Any
    update: Any
    local: Any
    chosen: str  # "local" or "upstream"
    ref: UnitRef | None = None


# --- the order units go onto a cluster ------------------------------------------------------

NO_ORDER = 99  # a unit without an order label goes last
T = TypeVar("T")


def apply_order(labels: Mapping[str, str]) -> int:
    """The wave a unit goes onto its cluster in: its ``order`` label (namespace 0 ... ingress
    9), NO_ORDER when it has none. The one ordering rule: apply, changeset deploys and
    listings use it; deletions (prune) go the other way.

    >>> apply_order({"order": "3"}), apply_order({}), apply_order({"order": "x"})
    (3, 99, 99)
    """
    value = labels.get("order", "")
    return int(value) if value.isdigit() else NO_ORDER


def waves(items: Iterable[T], order: Callable[[T], int]) -> list[tuple[int, list[T]]]:
    """``items`` grouped into waves by ``order``, lowest first; each wave keeps the items'
    order. The one grouping: every wave is applied, then waited for, before the next.

    >>> waves(["ns", "svc", "dep", "ing"], {"ns": 0, "svc": 2, "dep": 2, "ing": 9}.get)
    [(0, ['ns']), (2, ['svc', 'dep']), (9, ['ing'])]
    """
    grouped: dict[int, list[T]] = {}
    for item in items:
        grouped.setdefault(order(item), []).append(item)
    return sorted(grouped.items())
