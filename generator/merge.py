"""Structural merges of manifest data (pure): the strategic merge patch and the 3-way merge.

Both share one model of a manifest: maps merge key by key; a list of maps merges element by
element on its identity key (see ``identity``); any other list is a whole value; ``None`` in a
patch or an update deletes the field. The patch directives ``$patch: delete`` (on a list
element) and ``$patch: replace`` (on a map) work as in kubectl.

``merge3(origin, update, local)`` carries what changed between origin and update into local,
the semantics of kustomize's kyaml merge3 (what ``kpt pkg update`` uses): a field deleted
upstream is deleted unless local changed it; local-only fields and elements stay; where both
changed a field differently, ``prefer`` decides and a Conflict reports it. It works on
YAML text through ``yamlio`` (local round-trips, so its comments and key order survive); no
I/O, no git.
"""

from __future__ import annotations

import copy
import marshal
from collections.abc import Callable, Hashable
from typing import Any

from generator import yamlio
from generator.model import Conflict

Identity = Callable[[dict[str, Any]], Hashable]


def _container_port(item: dict[str, Any]) -> Hashable:
    return (item["containerPort"], item.get("protocol", "TCP"))


def _service_port(item: dict[str, Any]) -> Hashable:
    port: Hashable = item["port"]
    return port


def _name(item: dict[str, Any]) -> Hashable:
    name: Hashable = item["name"]
    return name


def identity(*lists: list[Any]) -> Identity | None:
    """The identity key shared by every element of ``lists``, or None (then: a whole value).

    Container ports by ``containerPort`` + ``protocol``; service ports by ``port``; otherwise
    ``name`` when every element has one (containers, env, volumes, volumeMounts, ...).

    >>> identity([{"name": "a"}], [{"name": "b", "value": 1}]) is not None
    True
    >>> identity([{"name": "a"}, "x"]) is None
    True
    """
    items = [item for lst in lists for item in lst]
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key, ident in (("containerPort", _container_port), ("port", _service_port), ("name", _name)):
        if all(key in item and _hashable(item[key]) for item in items):
            return ident
    return None


def _hashable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def strategic_patch(target: Any, patch: Any) -> Any:
    """Apply a strategic merge patch to ``target``; returns new data, neither input is changed."""
    try:  # plain data: marshal copies it several times faster than deepcopy
        copied = marshal.loads(marshal.dumps(target))
    except ValueError:  # round-trip types (comments and all) need deepcopy
        copied = copy.deepcopy(target)
    return _patch(copied, patch)


def _patch(target: Any, patch: Any) -> Any:
    if isinstance(patch, dict) and isinstance(target, dict):
        if patch.get("$patch") == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        for key, value in patch.items():
            if key == "$patch":
                continue
            if value is None:
                target.pop(key, None)
            elif key in target:
                target[key] = _patch(target[key], value)
            else:
                target[key] = _clean(value)
        return target
    if isinstance(patch, list) and isinstance(target, list):
        ident = identity(target, patch)
        if ident is not None:
            return _patch_list(target, patch, ident)
    return _clean(patch)


def _patch_list(target: list[Any], patch: list[Any], ident: Identity) -> list[Any]:
    index = {ident(item): i for i, item in enumerate(target)}
    deleted: set[int] = set()
    for item in patch:
        key = ident({k: v for k, v in item.items() if k != "$patch"})
        position = index.get(key)
        if item.get("$patch") == "delete":
            if position is not None:
                deleted.add(position)
        elif position is not None:
            target[position] = _patch(target[position], item)
        else:
            index[key] = len(target)
            target.append(_clean(item))
    return [item for i, item in enumerate(target) if i not in deleted]


def _clean(value: Any) -> Any:
    """A patch value as data: directives and null fields removed."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k != "$patch" and v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


# --- the 3-way merge ------------------------------------------------------------------------


class _Missing:
    """A field that is not there (distinct from an explicit null)."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def _plain(value: Any) -> Any:
    """Data for a report: round-trip types (CommentedMap, ScalarString...) as plain values."""
    if value is MISSING:
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def _describe(key: Hashable) -> str:
    if isinstance(key, tuple):
        return "/".join(str(k) for k in key)
    return str(key)


class _Merge:
    def __init__(self, prefer: str) -> None:
        if prefer not in ("local", "upstream"):
            raise ValueError(f"prefer must be 'local' or 'upstream', not {prefer!r}")
        self.prefer = prefer
        self.conflicts: list[Conflict] = []

    def value(self, origin: Any, update: Any, local: Any, path: str) -> Any:
        """The merged value of one field (MISSING: delete it)."""
        if update is None:  # an explicit null upstream deletes the field
            update = MISSING
        if _same(update, origin):
            return local
        if _same(local, origin):
            return update
        if _same(local, update):
            return local
        if isinstance(update, dict) and isinstance(local, dict):
            return self.mapping(origin if isinstance(origin, dict) else {}, update, local, path)
        if isinstance(update, list) and isinstance(local, list):
            base = origin if isinstance(origin, list) else []
            ident = identity(base, update, local)
            if ident is not None and _unique(ident, base, update, local):
                return self.sequence(base, update, local, ident, path)
        chosen = "local" if self.prefer == "local" else "upstream"
        self.conflicts.append(Conflict(path or ".", _plain(origin), _plain(update), _plain(local), chosen))
        return local if chosen == "local" else update

    def mapping(self, origin: dict[Any, Any], update: dict[Any, Any], local: dict[Any, Any],
                path: str) -> dict[Any, Any]:
        """Merge key by key into ``local`` itself (so a round-trip map keeps its comments)."""
        for key in list(local) + [k for k in update if k not in local]:
            merged = self.value(origin.get(key, MISSING), update.get(key, MISSING),
                                local.get(key, MISSING), f"{path}.{key}" if path else str(key))
            if merged is MISSING:
                local.pop(key, None)
            elif key not in local:
                _insert_like(local, update, key, merged)
            elif merged is not local[key]:
                local[key] = merged
        return local

    def sequence(self, origin: list[Any], update: list[Any], local: list[Any], ident: Identity,
                 path: str) -> list[Any]:
        """Merge a list of maps element by element on their identity key, into ``local``."""
        by_origin = {ident(e): e for e in origin}
        by_update = {ident(e): e for e in update}
        keep: list[Any] = []
        for element in local:
            key = ident(element)
            merged = self.value(by_origin.get(key, MISSING), by_update.get(key, MISSING), element,
                                f"{path}[{_describe(key)}]")
            if merged is not MISSING:
                keep.append(merged)
        known = {ident(e) for e in local}
        for position, element in enumerate(update):
            key = ident(element)
            if key in known or key in by_origin:  # present locally, or deleted locally on purpose
                continue
            before = [ident(e) for e in update[:position]]
            at = max((i + 1 for i, e in enumerate(keep) if ident(e) in before), default=0)
            keep.insert(at, element)
        local[:] = keep
        return local


def _same(a: Any, b: Any) -> bool:
    if a is MISSING or b is MISSING:
        return a is b
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def _unique(ident: Identity, *lists: list[Any]) -> bool:
    return all(len({ident(e) for e in lst}) == len(lst) for lst in lists)


def _insert_like(local: dict[Any, Any], update: dict[Any, Any], key: Any, value: Any) -> None:
    """Add ``key`` to ``local`` after the key that precedes it in ``update`` (else at the end)."""
    order = list(update)
    preceding = [k for k in order[: order.index(key)] if k in local]
    insert = getattr(local, "insert", None)
    if preceding and insert is not None:
        insert(list(local).index(preceding[-1]) + 1, key, value)
    else:
        local[key] = value


def merge3_data(origin: Any, update: Any, local: Any,
                prefer: str = "local") -> tuple[Any, list[Conflict]]:
    """Merge parsed data: what upstream changed (origin -> update) applied to ``local``.

    ``local`` is changed in place where it is a map or list (pass a round-trip structure to
    keep its comments); the result and the conflicts are returned.
    """
    merge = _Merge(prefer)
    merged = merge.value(origin, update, local, "")
    return merged, merge.conflicts


def merge3(origin: str, update: str, local: str,
           prefer: str = "local") -> tuple[str, list[Conflict]]:
    """3-way merge of YAML text: what changed from ``origin`` to ``update`` applied to ``local``.

    Returns the merged text (``local``'s comments and key order kept) and the conflicts.
    """
    if local == origin or local == update:
        return update, []
    if update == origin:
        return local, []
    origin_data = yamlio.load(origin, "origin")
    update_data = yamlio.load(update, "update")
    local_data = yamlio.load_roundtrip(local, "local")
    merged, conflicts = merge3_data(origin_data, update_data, local_data, prefer)
    if merged is MISSING:
        return "", conflicts
    return yamlio.dump_roundtrip(merged), conflicts


def diff(before: Any, after: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Every field that differs, as (path, before, after), lists of maps by identity key.

    >>> diff({"a": 1, "b": [{"name": "x", "v": 1}]}, {"a": 2, "b": [{"name": "x", "v": 3}]})
    [('a', 1, 2), ('b[x].v', 1, 3)]
    """
    if _same(before, after):
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in list(before) + [k for k in after if k not in before]:
            out += diff(before.get(key, MISSING), after.get(key, MISSING),
                        f"{path}.{key}" if path else str(key))
        return out
    if isinstance(before, list) and isinstance(after, list):
        ident = identity(before, after)
        if ident is not None and _unique(ident, before, after):
            old = {ident(e): e for e in before}
            new = {ident(e): e for e in after}
            out = []
            for key in list(old) + [k for k in new if k not in old]:
                out += diff(old.get(key, MISSING), new.get(key, MISSING), f"{path}[{_describe(key)}]")
            return out
    return [(path or ".", _plain(before), _plain(after))]


def drift(desired: Any, live: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Every field ``desired`` sets that ``live`` does not have as set, as (path, desired,
    live): what changed behind git's back. Fields only ``live`` has (defaults, status) are not
    drift; lists of maps are matched element by element on their identity key.

    >>> drift({"spec": {"replicas": 5}}, {"spec": {"replicas": 10, "paused": False}, "status": {}})
    [('spec.replicas', 5, 10)]
    """
    if isinstance(desired, dict) and isinstance(live, dict):
        out: list[tuple[str, Any, Any]] = []
        for key, value in desired.items():
            out += drift(value, live.get(key, MISSING), f"{path}.{key}" if path else str(key))
        return out
    if isinstance(desired, list) and isinstance(live, list):
        ident = identity(desired, live)
        if ident is not None and _unique(ident, desired, live):
            found = {ident(e): e for e in live}
            out = []
            for element in desired:
                key = ident(element)
                out += drift(element, found.get(key, MISSING), f"{path}[{_describe(key)}]")
            return out
        if len(desired) == len(live):
            return [d for i, (a, b) in enumerate(zip(desired, live)) for d in drift(a, b, f"{path}[{i}]")]
    if _same(desired, live) or (desired in ({}, []) and live is MISSING):
        return []
    return [(path or ".", _plain(desired), _plain(live))]
