"""Structural merges of manifest data (pure): the strategic merge patch.

Maps merge key by key; a list of maps merges element by element on its identity key (see
``identity``); any other list is a whole value; ``None`` in a patch deletes the field. The
directives ``$patch: delete`` (on a list element: remove the matching element) and
``$patch: replace`` (on a map: replace instead of merge) work as in kubectl.

No I/O, no YAML text, no git: callers parse and dump.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable
from typing import Any

Identity = Callable[[dict[str, Any]], Hashable]


def _container_port(item: dict[str, Any]) -> Hashable:
    return (item["containerPort"], item.get("protocol", "TCP"))


def _service_port(item: dict[str, Any]) -> Hashable:
    return item["port"]


def _name(item: dict[str, Any]) -> Hashable:
    return item["name"]


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
    return _patch(copy.deepcopy(target), patch)


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
