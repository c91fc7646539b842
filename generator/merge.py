"""Structural merges of manifest data (pure): the strategic merge patch, the 3-way merge of
YAML text, and field-by-field diffs.

The patch and the diffs share one model of a manifest: maps key by key; a list of maps element
by element on its identity key (see ``identity``); any other list is a whole value; ``None`` in
a patch deletes the field. The patch directives ``$patch: delete`` (on a list element) and
``$patch: replace`` (on a map) work as in kubectl.

``merge3(origin, update, local)`` is kustomize's kyaml merge3 (what ``kpt pkg update`` uses),
rule for rule, walked by ``generator.merge3``; here it reads and writes YAML text through
``yamlio`` (local round-trips, so its comments, key order and layout survive) and matches the
resources of multi-document streams. No I/O, no git.
"""

from __future__ import annotations

import copy
import marshal
from collections.abc import Callable, Hashable
from dataclasses import replace
from typing import Any

from generator import merge3 as merge3_walk
from generator import yamlio
from generator.merge3 import MISSING
from generator.model import Conflict

Identity = Callable[[dict[str, Any]], Hashable]


def _container_port(item: dict[str, Any]) -> Hashable:
    return (item["containerPort"], item.get("protocol", "TCP"))


def _service_port(item: dict[str, Any]) -> Hashable:
    return (item["port"], item.get("protocol", "TCP"))


def _name(item: dict[str, Any]) -> Hashable:
    name: Hashable = item["name"]
    return name


def identity(*lists: list[Any]) -> Identity | None:
    """The identity key shared by every element of ``lists``, or None (then: a whole value).

    Container ports by ``containerPort`` + ``protocol``; service ports by ``port`` +
    ``protocol``; otherwise
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


# --- the 3-way merge (generator.merge3 walks the data) ----------------------------------------


def _plain(value: Any) -> Any:
    return merge3_walk.plain(value)


def _same(a: Any, b: Any) -> bool:
    return merge3_walk.equal(a, b)


def _describe(key: Hashable) -> str:
    if isinstance(key, tuple):
        return "/".join(str(k) for k in key)
    return str(key)


def _unique(ident: Identity, *lists: list[Any]) -> bool:
    return all(len({ident(e) for e in lst}) == len(lst) for lst in lists)


def merge3(origin: str, update: str, local: str,
           prefer: str = "local") -> tuple[str, list[Conflict]]:
    """3-way merge of YAML text: what changed from ``origin`` to ``update`` applied to ``local``.

    kyaml's merge3, rule for rule (see generator.merge3); with ``prefer="upstream"`` the
    result is kyaml's, with ``"local"`` (the default) local's value is kept where both sides
    changed it. Every such conflict is returned. Streams of several documents are merged
    resource by resource, matched on apiVersion, kind, namespace and name. Returns the merged
    text (``local``'s comments, key order and layout kept) and the conflicts.
    """
    if "\n---" not in origin + update + local and not any(t.startswith("---") for t in (origin, update, local)):
        plain = _emitted(local)
        merged, conflicts = merge3_walk.merge3_data(
            _document(yamlio.load(origin, "origin")), _document(yamlio.load(update, "update")),
            _document(yamlio.load_roundtrip(local, "local") if plain is None else plain), prefer)
        if merged is MISSING or merged is None:
            return "", conflicts
        return (yamlio.dump_roundtrip(merged, like=local) if plain is None else yamlio.dump(merged)), conflicts
    return _merge3_stream(origin, update, local, prefer)


def _emitted(text: str) -> Any:
    """``text`` as plain data when it is exactly what the fast emitter writes for that data (no
    comments, the emitter's layout): merged as plain data and written by the emitter, it keeps
    all it had, many times faster than a round trip. None: a round trip is needed."""
    if "#" in text or not text.strip():
        return None
    data = yamlio.load(text, "local")
    return data if isinstance(data, (dict, list)) and yamlio.dump(data) == text else None


def _document(data: Any) -> Any:
    return MISSING if data is None else data


def resource_id(obj: Any) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace, name) of a resource: what makes it one object."""
    if not isinstance(obj, dict):
        return ("", "", "", "")
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    return (str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""),
            str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _merge3_stream(origin: str, update: str, local: str, prefer: str) -> tuple[str, list[Conflict]]:
    """kyaml's kio Merge3 filter: resources matched by identity; only in local: kept; new in
    update: added; deleted upstream: gone (kept and reported if local edited it); deleted
    locally: stays deleted; in both: merged field by field."""
    origins = {resource_id(d): d for d in yamlio.load_all(origin, "origin")}
    updates = {resource_id(d): d for d in yamlio.load_all(update, "update")}
    locals_ = {resource_id(d): d for d in yamlio.load_roundtrip_all(local, "local")}
    out: list[Any] = []
    conflicts: list[Conflict] = []
    for key in dict.fromkeys([*locals_, *origins, *updates]):
        o, u, d = origins.get(key, MISSING), updates.get(key, MISSING), locals_.get(key, MISSING)
        name = "/".join(part for part in key if part)
        if o is MISSING and u is MISSING:
            out.append(d)  # added locally
        elif o is MISSING and d is MISSING:
            out.append(u)  # added upstream
        elif u is MISSING:  # deleted upstream
            if d is not MISSING and not _same(d, o):
                if prefer == "local":
                    out.append(d)
                conflicts.append(Conflict(f"{name} (deleted upstream, edited locally)", None, None, None,
                                          "local" if prefer == "local" else "upstream"))
        elif d is MISSING:
            continue  # deleted locally
        else:
            merged, found = merge3_walk.merge3_data(o, u, d, prefer)
            conflicts += [replace(c, path=f"{name}: {c.path}") for c in found]
            if merged is not MISSING:
                out.append(merged)
    return yamlio.dump_roundtrip_all(out, like=local), conflicts


def overridden(origin: Any, update: Any, local: Any, path: str = "") -> list[Conflict]:
    """Where upstream changed a value (``origin`` -> ``update``) that ``local`` has otherwise:
    the conflicts a merge would report (chosen "local"), found without merging. A subtree
    upstream left alone costs one comparison, so this is cheap where a merge is not.

    >>> overridden({"r": 1, "x": 1}, {"r": 2, "x": 2}, {"r": 5, "x": 1})
    [Conflict(path='r', origin=1, update=2, local=5, chosen='local', ref=None)]
    """
    if origin is update or (origin == update and not isinstance(origin, (bool, int, float))):
        return []  # Python's own comparison: fast, and exact but for a number against a bool
    children = _aligned((origin, update, local), path, keyed_by=2)
    if children is not None:
        return [c for sub, (o, u, d) in children for c in overridden(o, u, d, sub)]
    if _same(local, origin) or _same(local, update):
        return []
    return [Conflict(path or ".", _plain(origin), _plain(update), _plain(local), "local")]


def merge3_data(origin: Any, update: Any, local: Any,
                prefer: str = "local") -> tuple[Any, list[Conflict]]:
    """Merge parsed data (see generator.merge3.merge3_data)."""
    return merge3_walk.merge3_data(origin, update, local, prefer)


def _aligned(values: tuple[Any, ...], path: str, keyed_by: int
             ) -> list[tuple[str, tuple[Any, ...]]] | None:
    """The one walk of this module: the children of ``values`` matched up, as (their path, one
    child per value, MISSING where a value has none). Maps match by key; lists of maps by
    their identity key (``identity``, unique in every list). The keys are those of the first
    ``keyed_by`` values, in order of appearance. None: the values are not all maps, nor all
    lists of maps with one identity (then each is a whole value).
    """
    if all(isinstance(v, dict) for v in values):
        keyed: tuple[dict[Any, Any], ...] = values

        def named(key: Any) -> str:
            return f"{path}.{key}" if path else str(key)
    elif all(isinstance(v, list) for v in values):
        ident = identity(*values)
        if ident is None or not _unique(ident, *values):
            return None
        keyed = tuple({ident(e): e for e in v} for v in values)

        def named(key: Any) -> str:
            return f"{path}[{_describe(key)}]"
    else:
        return None
    keys = dict.fromkeys(k for mapping in keyed[:keyed_by] for k in mapping)
    return [(named(k), tuple(m.get(k, MISSING) for m in keyed)) for k in keys]


def diff(before: Any, after: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Every field that differs, as (path, before, after), lists of maps by identity key.

    >>> diff({"a": 1, "b": [{"name": "x", "v": 1}]}, {"a": 2, "b": [{"name": "x", "v": 3}]})
    [('a', 1, 2), ('b[x].v', 1, 3)]
    """
    if _same(before, after):
        return []
    children = _aligned((before, after), path, keyed_by=2)
    if children is not None:
        return [d for sub, (b, a) in children for d in diff(b, a, sub)]
    return [(path or ".", _plain(before), _plain(after))]


def drift(desired: Any, live: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Every field ``desired`` sets that ``live`` does not have as set, as (path, desired,
    live): what changed behind git's back. Fields only ``live`` has (defaults, status) are not
    drift; lists of maps are matched element by element on their identity key.

    >>> drift({"spec": {"replicas": 5}}, {"spec": {"replicas": 10, "paused": False}, "status": {}})
    [('spec.replicas', 5, 10)]
    """
    children = _aligned((desired, live), path, keyed_by=1)
    if children is not None:
        return [d for sub, (want, have) in children for d in drift(want, have, sub)]
    if isinstance(desired, list) and isinstance(live, list):
        if len(desired) == len(live):
            return [d for i, (a, b) in enumerate(zip(desired, live)) for d in drift(a, b, f"{path}[{i}]")]
    if _same(desired, live) or (desired in ({}, []) and live is MISSING):
        return []
    return [(path or ".", _plain(desired), _plain(live))]
