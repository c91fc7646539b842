"""The 3-way merge of manifests (pure): kustomize's kyaml merge3, rule for rule.

``merge3_data(origin, update, local)`` carries what changed between ``origin`` and ``update``
(upstream) into ``local`` by walking the three trees together, as kyaml's ``walk.Walker`` with
its ``merge3.Visitor`` does (the engine of ``kpt pkg update``):

- scalars and atomic lists (lists of scalars; lists of maps without a merge key, such as
  ``command``, ``args``, ``envFrom``): a value added or removed upstream is taken, a value
  upstream changed is taken, anything else keeps local; an explicit null in update (or local)
  deletes the field;
- maps merge key by key over the union of keys. A map upstream removed keeps its local-only
  keys (and stays ``{}`` if none remain); a map local lacks is rebuilt from only what update
  added or changed;
- associative lists merge element by element on their merge key (``_merge_keys``): elements
  are matched across the three, an element gone from update loses its origin fields (and goes
  if nothing is left), local-only elements stay, new ones are appended; a list upstream
  removed is removed.

kyaml has no notion of a conflict: where upstream and local both changed a value, update wins.
That is ``prefer="upstream"`` here, with the same result as kyaml. The default,
``prefer="local"``, keeps local's value at exactly those points and reports each one as a
Conflict; everywhere else both modes give the same result.

No I/O and no YAML text: ``generator.merge.merge3`` is the text front end.
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Hashable, Sequence
from typing import Any

from generator.model import Conflict


class _Missing:
    """A field that is not there (distinct from an explicit null)."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()

_GENERATORS = ("configMapGenerator", "secretGenerator")  # a Kustomization's: by name


def absent(value: Any) -> bool:
    """Missing or an explicit null (kyaml's IsMissingOrNull)."""
    return value is MISSING or value is None


def plain(value: Any) -> Any:
    """Data for a report: round-trip types (CommentedMap, ScalarString...) as plain values."""
    if value is MISSING:
        return None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def equal(a: Any, b: Any) -> bool:
    """Equal as YAML values: a bool is never equal to a number, MISSING only to itself."""
    if a is MISSING or b is MISSING:
        return a is b
    if a != b:  # Python's own comparison (fast) only errs the other way: True == 1
        return False
    try:
        if marshal.dumps(a) == marshal.dumps(b):  # plain data, exact types (fast)
            return True
    except ValueError:  # round-trip types
        pass
    try:  # keys in another order: JSON tells true from 1 and 1.0 from 1 (fast too)
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    except (TypeError, ValueError):
        return _exactly(a, b)


def _exactly(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_exactly(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_exactly(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return bool(a == b)


def scalar_text(value: Any) -> str:
    """A scalar as YAML writes it: what kyaml compares merge-key values by."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return ""
    return str(value)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    return "scalar"


def _describe(values: Sequence[str]) -> str:
    shown = [v for v in values if v]
    return "/".join(shown) if shown else "?"


class Merge3:
    """One merge: the walk, its conflict rule and the conflicts found."""

    def __init__(self, prefer: str = "local") -> None:
        if prefer not in ("local", "upstream"):
            raise ValueError(f"prefer must be 'local' or 'upstream', not {prefer!r}")
        self.prefer = prefer
        self.conflicts: list[Conflict] = []
        self.typed = False  # a built-in Kubernetes type: its schema's merge keys apply

    # --- the conflict rule ---------------------------------------------------------------

    def _both_changed(self, path: str, origin: Any, update: Any, local: Any) -> Any:
        """Upstream and local changed one value differently: kyaml takes update; by default
        local is kept. Either way it is reported."""
        chosen = "local" if self.prefer == "local" else "upstream"
        self.conflicts.append(Conflict(path or ".", plain(origin), plain(update), plain(local), chosen))
        return local if chosen == "local" else (MISSING if update is None else update)

    # --- the walk ------------------------------------------------------------------------

    def walk(self, dest: Any, origin: Any, update: Any, path: str, field: str = "") -> Any:
        """The merged value of one node (MISSING: clear it)."""
        kinds = {_kind(s) for s in (dest, origin, update) if not absent(s)}
        if len(kinds) > 1:  # kyaml refuses to merge a map with a list or a scalar
            return self.whole(dest, origin, update, path)
        kind = kinds.pop() if kinds else "map"  # kyaml walks empty nodes as maps
        if kind == "map":
            return self.mapping(dest, origin, update, path)
        if kind == "list":
            keys = self.merge_keys(field, (dest, origin, update))
            if keys:
                return self.associative(dest, origin, update, path, keys)
        return self.whole(dest, origin, update, path)

    def whole(self, dest: Any, origin: Any, update: Any, path: str) -> Any:
        """A scalar or an atomic list (kyaml's VisitScalar and visitNAList)."""
        if update is None or dest is None:  # explicitly cleared in update or in local
            if update is None and dest is not None and not absent(dest) and not equal(dest, origin):
                return self._both_changed(path, origin, update, dest)
            return MISSING
        if absent(update) != absent(origin):  # added or removed upstream
            if dest is not MISSING and not equal(dest, origin) and not equal(dest, update):
                return self._both_changed(path, origin, update, dest)
            return update
        if absent(update) and absent(origin):
            return dest
        if not equal(update, origin):  # changed upstream
            if equal(dest, origin) or equal(dest, update):
                return update
            if dest is not MISSING and _kind(update) == _kind(origin) == "scalar" \
                    and scalar_text(update) == scalar_text(origin):
                return dest  # only its type changed ("1" -> 1): kyaml compares the text
            return self._both_changed(path, origin, update, dest)
        return dest

    def mapping(self, dest: Any, origin: Any, update: Any, path: str) -> Any:
        """Key by key into ``dest`` itself, so a round-trip map keeps its comments (VisitMap)."""
        if update is None or dest is None:  # explicitly cleared
            if update is None and isinstance(dest, dict) and not equal(dest, origin):
                return self._both_changed(path, origin, update, dest)
            return MISSING
        if dest is MISSING and update is MISSING:
            return MISSING
        target: dict[Any, Any] = {} if dest is MISSING else dest
        sources = [s for s in (target, origin, update) if isinstance(s, dict)]
        keys = list(target) + [k for s in sources[1:] for k in s if k not in target]
        for key in dict.fromkeys(keys):
            merged = self.walk(target.get(key, MISSING),
                               origin.get(key, MISSING) if isinstance(origin, dict) else MISSING,
                               update.get(key, MISSING) if isinstance(update, dict) else MISSING,
                               f"{path}.{key}" if path else str(key), str(key))
            if merged is MISSING:
                target.pop(key, None)
            elif key not in target:
                _insert_like(target, update if isinstance(update, dict) else {}, key, merged)
            elif merged is not target[key]:
                target[key] = merged
        return target

    # --- associative lists ---------------------------------------------------------------

    def merge_keys(self, field: str, sources: Sequence[Any]) -> tuple[str, ...]:
        """The merge key(s) of a list, or () for an atomic one (schema.IsAssociative and
        PatchStrategyAndKeyList for built-in types, else kyaml's inference: ``name`` when
        every element of a source has one)."""
        if field in _GENERATORS:
            return ("name",)
        lists = [s for s in sources if isinstance(s, list)]
        if self.typed and field in TYPED_KEYS:
            keys = TYPED_KEYS[field]
            if field == "ports" and not any(isinstance(e, dict) and "containerPort" in e
                                            for lst in lists for e in lst):
                keys = ("port", "protocol")
            return keys
        if self.typed and field in TYPED_ATOMIC:
            return ()
        named = [all(isinstance(e, dict) and "name" in e for e in lst) for lst in lists]
        if not any(named):
            return ()
        key = ""
        for lst, has_name in zip(lists, named):
            if lst:
                if key and not has_name:
                    return ()  # kyaml: "conflicting merge keys"; merged as a whole value here
                key = "name" if has_name else ""
        return ("name",) if key else ()  # none: kyaml finds no merge key; a whole value here

    def associative(self, dest: Any, origin: Any, update: Any, path: str,
                    keys: tuple[str, ...]) -> Any:
        """Element by element on ``keys`` (visitAList, then setAssociativeSequenceElements)."""
        if absent(update) and not absent(origin):  # the list was removed upstream
            if not absent(dest) and not equal(dest, origin):
                return self._both_changed(path, origin, update, dest)
            return MISSING
        target: list[Any] = [] if absent(dest) else dest
        sources = [s if isinstance(s, list) else None for s in (target, origin, update)]
        primitive = keys == ("",)
        values_list: list[list[str]] = []
        for source in sources:
            for element in source or []:
                value = [scalar_text(element)] if primitive else [_key_value(element, k) for k in keys]
                if value not in values_list:
                    values_list.append(value)
        if len(keys) > 1:
            _merge_values(values_list)
        added: list[Any] = []
        valid_keys: tuple[str, ...] = keys
        for value in values_list:
            valid_keys, valid_values = _validate(values_list, value, keys)
            lookup_keys, lookup_values = _validate([valid_values], valid_values, valid_keys)
            found = [_element(s, lookup_keys, lookup_values) for s in sources]
            merged = self.walk(found[0], found[1], found[2], f"{path}[{_describe(lookup_values)}]")
            if absent(merged) or merged == {}:
                _set_element(target, None, valid_keys, valid_values)
                continue
            if isinstance(merged, dict):
                for key, text in zip(valid_keys, valid_values):
                    if key not in merged and text != "":
                        merged[key] = _typed_key(found, key, text)
            _set_element(added, merged, valid_keys, valid_values)
        if values_list:
            _append(target, added, valid_keys)
        return target


# Merge keys of list fields in built-in Kubernetes types, from their OpenAPI schema
# (x-kubernetes-patch-merge-key, or x-kubernetes-list-map-keys where there are several); ""
# is a set of scalars (patch strategy merge, no key). Lists of these types not named here are
# atomic when TYPED_ATOMIC names them, else inferred.
TYPED_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",),
    "env": ("name",), "volumes": ("name",), "imagePullSecrets": ("name",), "secrets": ("name",),
    "webhooks": ("name",), "volumeMounts": ("mountPath",), "volumeDevices": ("devicePath",),
    "hostAliases": ("ip",), "ports": ("containerPort", "protocol"), "conditions": ("type",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
    "ownerReferences": ("uid",), "finalizers": ("",),
}
TYPED_ATOMIC = frozenset({"subjects", "versions", "rules", "tolerations", "envFrom", "command",
                          "args", "items", "sources", "paths", "tls", "ingress", "egress"})


def _key_value(element: Any, key: str) -> str:
    """An element's value for a merge key as YAML text; "" when it has none (ElementValuesList)."""
    if not isinstance(element, dict):
        return ""
    value = element.get(key)
    if value is None or value == {} or value == []:
        return ""
    return scalar_text(value)


def _merge_values(values_list: list[list[str]]) -> None:
    """kyaml's mergeValues: key tuples that agree where both have a value become one."""
    for i in range(len(values_list)):
        first = values_list[i]
        for j in range(len(values_list)):
            matched, merged = _match(first, values_list[j])
            if matched:
                values_list[i] = merged
                values_list[j] = merged


def _match(one: list[str], two: list[str]) -> tuple[bool, list[str]]:
    if len(one) != len(two):
        return False, []
    common = False
    out = []
    for a, b in zip(one, two):
        if a == b:
            common = True
            out.append(a)
        elif a != "" and b != "":
            return False, []
        else:
            out.append(a or b)
    return common, out


def _validate(values_list: list[list[str]], values: list[str],
              keys: Sequence[str]) -> tuple[tuple[str, ...], list[str]]:
    """kyaml's validateKeys: only the keys some element has a value for (all when none has)."""
    present = {keys[i] for vs in values_list for i, v in enumerate(vs) if v != ""}
    if not present:
        return tuple(keys), list(values)
    return (tuple(k for k in keys if k in present),
            [v for i, v in enumerate(values) if v != "" or keys[i] in present])


def _matches(element: Any, keys: Sequence[str], values: Sequence[str], lookup: bool = False) -> bool:
    """Whether an element has these key values, compared as YAML text (FieldMatcher). For a
    lookup (ElementMatcher) an empty value must be empty; for a replacement (ElementSetter)
    it only asks for the field; an empty key matches a scalar element by its text."""
    if keys and keys[0] == "":
        return not isinstance(element, (dict, list)) and bool(values) and scalar_text(element) == values[0]
    if not isinstance(element, dict) or not values:
        return False
    for key, value in zip(keys, values):
        if key not in element:
            return False
        if (value != "" or lookup) and scalar_text(element[key]) != value:
            return False
    return True


def _element(source: list[Any] | None, keys: Sequence[str], values: Sequence[str]) -> Any:
    """The first element of ``source`` with these key values (ElementList), else MISSING."""
    for element in source or []:
        if _matches(element, keys, values, lookup=True):
            return element
    return MISSING


def _typed_key(found: Sequence[Any], key: str, text: str) -> Hashable:
    """A merge key's value as one of the sources had it (an int stays an int)."""
    for element in found:
        if isinstance(element, dict) and key in element and scalar_text(element[key]) == text:
            value: Hashable = element[key]
            return value
    return text


def _set_element(target: list[Any], element: Any, keys: Sequence[str], values: Sequence[str]) -> None:
    """kyaml's ElementSetter: replace every element matching the keys with ``element`` (None:
    remove them), or append it when none matches; empty elements are dropped on the way."""
    mapping_setter = bool(keys) and keys[0] != ""
    kept: list[Any] = []
    found = False
    for item in target:
        if absent(item) or item == {}:
            continue
        if not isinstance(item, dict) and mapping_setter:
            kept.append(item)
            continue
        if not _matches(item, keys, values):
            if values:
                kept.append(item)
            continue
        found = True
        if element is not None:
            kept.append(element)
    target[:] = kept
    if element is not None and not found:
        target.append(element)


def _append(target: list[Any], added: list[Any], keys: Sequence[str]) -> None:
    """kyaml's appendListNode: each merged element replaces its match in ``target``; with
    several keys it is removed and appended (so it moves to the end); one without a value
    for a key is appended as it is."""
    for element in added:
        if not keys or keys[0] == "":
            _set_element(target, element, ("",), [scalar_text(element)])
            continue
        values = []
        for key in keys:
            if not isinstance(element, dict) or key not in element:
                target.append(element)
                continue
            values.append(scalar_text(element[key]))
        if len(keys) > 1:
            _set_element(target, None, keys, values)
        _set_element(target, element, keys, values)


def _insert_like(local: dict[Any, Any], update: dict[Any, Any], key: Any, value: Any) -> None:
    """Add ``key`` to ``local`` after the key that precedes it in ``update`` (else at the end)."""
    order = list(update)
    preceding = [k for k in order[: order.index(key)] if k in local] if key in update else []
    insert = getattr(local, "insert", None)
    if preceding and insert is not None:
        insert(list(local).index(preceding[-1]) + 1, key, value)
    else:
        local[key] = value


def merge3_data(origin: Any, update: Any, local: Any, prefer: str = "local",
                typed: bool | None = None) -> tuple[Any, list[Conflict]]:
    """Merge one parsed object: what upstream changed (origin -> update) applied to ``local``.

    ``local`` is changed in place where it is a map or list (pass a round-trip structure to
    keep its comments). ``typed``: whether the schema merge keys of built-in Kubernetes types
    apply (default: when the object names an apiVersion and kind). Returns the merged data
    (MISSING: nothing) and the conflicts.
    """
    merge = Merge3(prefer)
    merge.typed = is_typed(local, origin, update) if typed is None else typed
    merged = merge.walk(local, origin, update, "")
    return merged, merge.conflicts


def is_typed(*objects: Any) -> bool:
    """Whether an object is a Kubernetes resource kyaml would find a schema for: its first
    source with an apiVersion and a kind names a core API group (no dot) or a *.k8s.io one."""
    for obj in objects:
        if isinstance(obj, dict) and isinstance(obj.get("apiVersion"), str) and obj.get("kind"):
            group = obj["apiVersion"].rpartition("/")[0]
            return "." not in group or group.endswith(".k8s.io")
    return False
