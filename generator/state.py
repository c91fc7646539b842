"""The layout of a manifests repo, and the tool's records in it (pure).

```
spaces/<space>/<unit>.yaml      one Kubernetes object per file, nothing else
.gitops/settings.json           what render took from gitops.yaml for every command: the
                                project, the Kubernetes version, named filters, secrets.allow
.gitops/spaces/<space>.json     the space's labels, upstream, target, the units a person
                                deleted, and per unit: labels, upstream unit, origin (blob id
                                of the unit as last generated), fingerprint (of what it was
                                generated from) and whether a person added it (local)
```

Records are JSON (sorted, indented: they diff well in a pull request and load fast at fleet
scale). This module converts records to and from text; it does no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from generator.errors import GitopsError, RepoError
from generator.model import Overlay, Space, Target, UnitRef, UnitState

if TYPE_CHECKING:
    from generator.guard import Allowed

SPACES_DIR = "spaces"
STATE_DIR = ".gitops/spaces"
ORIGINS_DIR = ".gitops/origins"
SETTINGS = ".gitops/settings.json"
DEFAULT_KUBERNETES = "1.32"


@dataclass(frozen=True)
class Settings:
    """.gitops/settings.json: what every command needs of the config dir, without it."""

    project: str = ""
    kubernetes_version: str = DEFAULT_KUBERNETES
    filters: dict[str, str] = field(default_factory=dict)  # name -> WHERE clause
    allow: tuple[Allowed, ...] = ()  # secrets.allow: what the secret guard lets through


def dump_settings(settings: Settings) -> str:
    """The file's text (the allow-list only when there is one: older files stay as they were)."""
    data: dict[str, Any] = {"project": settings.project, "kubernetesVersion": settings.kubernetes_version,
                            "filters": settings.filters}
    if settings.allow:
        data["secrets"] = {"allow": [a.data() for a in settings.allow]}
    return json.dumps(data, indent=2) + "\n"


def load_settings(text: str | None) -> Settings:
    """The settings a file holds; None (no file yet, before the first render): the defaults."""
    if text is None:
        return Settings()
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        secrets = data.get("secrets") or {}
        allow = secrets.get("allow") if isinstance(secrets, dict) else None
        return Settings(str(data.get("project") or ""),
                        str(data.get("kubernetesVersion") or DEFAULT_KUBERNETES),
                        {str(k): str(v) for k, v in (data.get("filters") or {}).items()},
                        _allowed(allow))
    except (ValueError, AttributeError, GitopsError) as e:
        raise RepoError(f"{SETTINGS}: damaged ({e})",
                        f"run `gitops render`, or restore it with `git checkout HEAD -- {SETTINGS}`") from e


def _allowed(entries: Any) -> tuple[Allowed, ...]:
    """The allow-list settings.json keeps (the guard is imported only when there is one)."""
    if entries is None:
        return ()
    from generator.guard import parse_allow

    return parse_allow(entries, SETTINGS)


def unit_path(ref: UnitRef) -> str:
    """``spaces/<space>/<unit>.yaml``."""
    return f"{SPACES_DIR}/{ref.space}/{ref.unit}.yaml"


def ref_of(path: str, folder: str = SPACES_DIR) -> UnitRef | None:
    """The unit whose file ``path`` is under ``folder`` (spaces/, or .gitops/origins/), if any.

    >>> ref_of("spaces/traderx-prod-eu/trade-service.yaml")
    UnitRef(space='traderx-prod-eu', unit='trade-service')
    >>> ref_of(".gitops/spaces/traderx-prod-eu.json") is None
    True
    """
    if path.startswith(folder + "/") and path.endswith(".yaml"):
        space, sep, unit = path[len(folder) + 1:-5].partition("/")
        if sep and "/" not in unit:
            return UnitRef(space, unit)
    return None


def origin_path(ref: UnitRef) -> str:
    """``.gitops/origins/<space>/<unit>.yaml``: the unit as generated at its last sync, kept
    only while the unit has local edits (it is the origin of the next 3-way merge)."""
    return f"{ORIGINS_DIR}/{ref.space}/{ref.unit}.yaml"


def dump_overlay(overlay: Overlay | None) -> dict[str, Any] | None:
    if overlay is None:
        return None
    return {"namespace": overlay.namespace, "labels": overlay.labels, "replicas": overlay.replicas,
            "images": overlay.images, "env": overlay.env, "resources": overlay.resources,
            "patches": overlay.patches, "sources": list(overlay.sources)}


def load_overlay(data: dict[str, Any] | None) -> Overlay | None:
    if data is None:
        return None
    return Overlay(data["namespace"], data.get("labels", {}), data.get("replicas", {}),
                   data.get("images", {}), data.get("env", {}), data.get("resources", {}),
                   data.get("patches", {}), tuple(data.get("sources", ())))


def record_path(space: str) -> str:
    """``.gitops/spaces/<space>.json``."""
    return f"{STATE_DIR}/{space}.json"


@lru_cache(maxsize=4096)
def _labels_json(labels: tuple[tuple[str, str], ...]) -> str:
    return json.dumps(dict(labels))  # labels repeat across spaces: encode each set once


def _unit_line(name: str, unit: UnitState) -> str:
    """One unit of a record, as the JSON line json.dumps would write (names and ids are checked
    names and hex ids, so only the labels need encoding)."""
    upstream = json.dumps(str(unit.upstream)) if unit.upstream else "null"
    extra = f', "upstreamBlob": "{unit.upstream_blob}"' if unit.upstream_blob else ""
    if unit.local:
        extra += ', "local": true'
    return (f'    {json.dumps(name)}: {{"labels": {_labels_json(tuple(sorted(unit.labels.items())))}, '
            f'"upstream": {upstream}, "origin": "{unit.origin}", '
            f'"fingerprint": "{unit.fingerprint}"{extra}}}')


def unit_lines(text: str) -> dict[str, str]:
    """The line of each unit in a record's text as ``dump_space`` writes it (others: none; a
    record a person re-indented has units over several lines, and none of them is one)."""
    lines = {}
    for line in text.splitlines():
        # Names and label values hold no braces: a whole unit's line has as many { as }.
        if line.startswith('    "') and '": {' in line and line.count("{") == line.count("}"):
            end = line.index('": {')
            name = line[5:end]  # a checked name needs no decoding (an escaped one has a backslash)
            lines[json.loads(line[4:end + 1]) if "\\" in name else name] = line.rstrip(",")
    return lines


def dump_space(space: Space, memo: dict[int, tuple[UnitState, str]] | None = None) -> str:
    """A space record as JSON text: one line per unit, so a pull request diff shows which.

    ``memo`` keeps unit lines by the UnitState object, for a caller that writes many
    records whose units mostly did not change.
    """
    head = {
        "space": space.name,
        "labels": dict(sorted(space.labels.items())),
        "upstream": space.upstream,
        "target": {"context": space.target.context, "namespace": space.target.namespace},
        "managedBy": space.managed_by,
        "fingerprint": space.fingerprint,
        "overlay": dump_overlay(space.overlay),
    }
    if space.deleted:  # only when there are: records of untouched spaces stay as they were
        head["deleted"] = dict(sorted(space.deleted.items()))
    lines = [f"  {json.dumps(key)}: {json.dumps(value)}," for key, value in head.items()]
    units = []
    for name, unit in sorted(space.units.items()):
        known = memo.get(id(unit)) if memo is not None else None
        if known is not None and known[0] is unit:
            units.append(known[1])
            continue
        line = _unit_line(name, unit)
        if memo is not None:
            memo[id(unit)] = (unit, line)
        units.append(line)
    body = ",\n".join(units)
    return "{\n" + "\n".join(lines) + '\n  "units": {\n' + body + ("\n" if units else "") + "  }\n}\n"


def load_record(text: str, source: str) -> dict[str, Any]:
    """A space record as raw JSON data (cheap: ``space_from_record`` builds the Space)."""
    try:
        record = json.loads(text)
        if not isinstance(record, dict) or not isinstance(record.get("units"), dict):
            raise ValueError("not a space record")
        return record
    except ValueError as e:
        raise RepoError(f"{source}: damaged space record ({e})",
                        f"restore it with `git checkout HEAD -- {source}` in the manifests repo") from e


@lru_cache(maxsize=4096)
def upstream_ref(text: str) -> UnitRef:
    """``space/unit`` as a UnitRef: one object for the many units of a fleet that name it."""
    return UnitRef(*text.split("/", 1))


def space_from_record(record: dict[str, Any], source: str) -> Space:
    """The Space a raw record describes."""
    try:
        units = {name: _unit_state(unit) for name, unit in record["units"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise _damaged(source, e) from e
    return space_from_head(record, units, source)


def space_from_head(record: dict[str, Any], units: dict[str, UnitState], source: str) -> Space:
    """The Space of a raw record whose units are made already (its "units" are not read)."""
    try:
        target = record["target"]
        return Space(
            name=record["space"],
            labels=dict(record["labels"]),
            upstream=record["upstream"],
            target=Target(target["context"], target["namespace"]),
            managed_by=record.get("managedBy", "config"),
            fingerprint=record.get("fingerprint", ""),
            overlay=load_overlay(record.get("overlay")),
            units=units,
            deleted={str(k): str(v or "") for k, v in (record.get("deleted") or {}).items()},
        )
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise _damaged(source, e) from e


def unit_from_record(record: dict[str, Any], unit: str, source: str) -> UnitState:
    """One unit of a raw record, as ``space_from_record`` makes it, without the rest (a unit the
    record does not list: KeyError)."""
    found = record["units"][unit]
    try:
        return _unit_state(found)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise _damaged(source, e) from e


def _unit_state(unit: dict[str, Any]) -> UnitState:
    upstream = unit.get("upstream")
    # Written by dump_space from checked names: split, no need to check again.
    return UnitState(dict(unit["labels"]), upstream_ref(upstream) if upstream else None, unit["origin"],
                     unit["fingerprint"], unit.get("upstreamBlob"), bool(unit.get("local", False)))


def _damaged(source: str, e: Exception) -> RepoError:
    return RepoError(f"{source}: damaged space record ({type(e).__name__}: {e})",
                     f"restore it with `git checkout HEAD -- {source}` in the manifests repo")
