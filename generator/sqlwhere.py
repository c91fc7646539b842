"""WHERE clauses -> SQL over the field index (pure: text in, text out).

``compile`` turns a parsed clause (generator.query's tree) into one SQL condition over the
index's tables (generator.fieldindex owns them):

    unit u (space, name, labels JSON, upstream_space)  JOIN space s (name, labels JSON)
    LEFT JOIN doc_text dt (text: the manifest as committed)  LEFT JOIN doc_json dj (json: as JSON)
    value v (path, doc, type, atom: what a kept path reaches in a document), path (name -> id)

Metadata becomes a column or a ``json_extract`` of the labels. A manifest path of named steps
(``spec.replicas``) is looked up in ``value`` (the values the index keeps per path: ``Sql.paths``
says which it must keep); one with a ``*`` or a number is one ``json_each`` per such step over
``dj.json``, and ``->`` (SQLite 3.38) for the named steps after the last. A label test the
whole clause depends on (``Sql.label``) lets the label index find the units to try. What
SQL decides exactly by itself (a string equal to a string, a number compared with a number,
LIKE as GLOB, CONTAINS as ``instr``, IS NULL) it decides; every other comparison calls back
into ``query.holds`` through SQL functions (``Sql.functions``), so the index and
``Query.matches`` cannot disagree on what a comparison means. ``Data CONTAINS`` is an exact
substring test on the committed text.

Revision (a count over git history) is not in the index: ``indexable`` says no and the caller
evaluates such a clause unit by unit. No I/O, no sqlite3 here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from generator import query
from generator.query import And, Compare, Field, Node, Not, Or

SEPARATOR = "\x1f"  # between the steps of a generalised path (``shape``)
_SQL_OPS = ("=", "!=", "<", "<=", ">", ">=")  # written the same in SQL
_EXACT = 2 ** 53  # below it, SQLite's comparison of numbers is Python's of their floats


@dataclass
class Sql:
    """A compiled clause: ``where`` with ``params`` in order, and the Python functions it calls
    (name -> (number of arguments, function)) to register on the connection."""

    where: str
    params: list[Any] = field(default_factory=list)
    literals: list[tuple[str, Any]] = field(default_factory=list)
    label: tuple[str, list[str]] | None = None  # a label every match has one value of: its index leads
    paths: list[tuple[str, str, str]] = field(default_factory=list)  # kept values it reads: FieldIndex.paths

    @property
    def functions(self) -> dict[str, tuple[int, Callable[..., bool]]]:
        literals = self.literals

        def metadata(k: int, value: Any) -> bool:
            op, literal = literals[k]
            return query.holds(op, value, literal)

        def element(k: int, kind: str | None, value: Any) -> bool:
            if kind is None:  # the path reaches nothing here
                return False
            op, literal = literals[k]
            return query.holds(op, _decoded(kind, value), literal)

        def node(k: int, text: str | None) -> bool:
            if text is None:  # the path reaches nothing here
                return False
            op, literal = literals[k]
            return query.holds(op, _parsed(text), literal)

        return {"gitops_holds": (2, metadata), "gitops_holds_json": (3, element),
                "gitops_holds_node": (2, node)}


def _decoded(kind: str, value: Any) -> Any:
    """A value as json_type/json_extract give it -> as the YAML loader gave it."""
    if kind == "true":
        return True
    if kind == "false":
        return False
    if kind == "null":
        return None
    if kind == "object":
        return {}
    if kind == "array":
        return []
    return value


def _parsed(text: str) -> Any:
    """A value as ``->`` gives it (its JSON text; numbers as written) -> as the YAML loader gave
    it; a map or list only needs to be one."""
    if text[0] == "{":
        return {}
    if text[0] == "[":
        return []
    return json.loads(text)


def indexable(node: Node) -> bool:
    """Whether the index can answer the clause (Revision counts commits: it cannot)."""
    if isinstance(node, Compare):
        return node.field.name != "Revision"
    if isinstance(node, Not):
        return indexable(node.inner)
    return all(indexable(p) for p in node.parts)


def fields(node: Node) -> list[Field]:
    """Every field the clause reads."""
    if isinstance(node, Compare):
        return [node.field]
    if isinstance(node, Not):
        return fields(node.inner)
    return [f for p in node.parts for f in fields(p)]


def needs_documents(node: Node) -> bool:
    """Whether the clause reads manifests (a manifest path or Data)."""
    return any(not f.metadata or f.name == "Data" for f in fields(node))


def compile(node: Node) -> Sql:  # noqa: A001 - what it does
    """The clause as one SQL condition over ``u``, ``s`` and ``d``.

    >>> sql = compile(query.parse("Labels.layer = 'backend' AND spec.replicas > 2").tree)
    >>> print(sql.where)
    (coalesce(json_extract(u.labels, '$."layer"') = ?, 0) AND coalesce(EXISTS (SELECT 1 FROM value v WHERE v.path = (SELECT id FROM path WHERE name = ?) AND v.doc = u.doc AND (CASE WHEN v.type IN ('integer', 'real') THEN v.atom > ? ELSE gitops_holds_json(0, v.type, v.atom) END)), 0))
    >>> sql.params, sql.literals, sql.label, sql.paths
    (['backend', '$."spec"."replicas"', 2], [('>', 2)], ('layer', ['backend']), [('$."spec"."replicas"', '$."spec"', 'replicas')])
    """
    sql = Sql("")
    sql.where = _condition(node, sql)
    sql.label = _leading_label(node)
    return sql


def _leading_label(node: Node) -> tuple[str, list[str]] | None:
    """A label test every unit the clause picks passes (the clause, or a part of its top AND):
    ``Labels.k = 'v'`` or ``Labels.k IN ('v', ...)``."""
    for part in node.parts if isinstance(node, And) else (node,):
        if (isinstance(part, Compare) and part.field.metadata and part.field.parts[0] == "Labels"
                and len(part.field.parts) == 2):
            if part.op == "=" and isinstance(part.literal, str):
                return part.field.parts[1], [part.literal]
            if part.op == "in" and all(isinstance(x, str) for x in part.literal):
                return part.field.parts[1], list(part.literal)
    return None


def _condition(node: Node, sql: Sql) -> str:
    if isinstance(node, Not):
        return f"NOT ({_condition(node.inner, sql)})"
    if isinstance(node, (And, Or)):
        # metadata first: SQLite tries the terms of an AND in order
        parts = sorted(node.parts, key=needs_documents)
        glue = " AND " if isinstance(node, And) else " OR "
        return "(" + glue.join(_condition(p, sql) for p in parts) + ")"
    # never NULL: SQL's NOT NULL is NULL where the clause's NOT (no value) is true
    return f"coalesce({_metadata(node, sql) if node.field.metadata else _manifest(node, sql)}, 0)"


def _metadata_column(f: Field) -> str:
    columns = {"Slug": "u.name", "Space.Slug": "u.space", "UpstreamSpace": "u.upstream_space",
               "Data": "dt.text"}
    if f.name in columns:
        return columns[f.name]
    table = "u" if f.parts[0] == "Labels" else "s"
    return f"json_extract({table}.labels, '{_json_path((f.parts[-1],))}')"


def _metadata(node: Compare, sql: Sql) -> str:
    """One value per unit, a string or NULL: most tests are plain SQL."""
    column, op, literal = _metadata_column(node.field), node.op, node.literal
    if op == "is null":
        return f"{column} IS NULL"
    if op == "is not null":
        return f"{column} IS NOT NULL"
    if op == "=" and isinstance(literal, str):
        sql.params.append(literal)
        return f"{column} = ?"
    if op == "in" and all(isinstance(x, str) for x in literal):
        sql.params.extend(literal)
        return f"{column} IN ({', '.join('?' * len(literal))})"
    if op == "contains":
        sql.params.append(literal)
        return f"instr({column}, ?) > 0"
    if op == "like":
        sql.params.append(glob_of_like(literal))
        return f"{column} GLOB ?"
    sql.literals.append((op, literal))
    return f"gitops_holds({len(sql.literals) - 1}, {column})"


def _manifest(node: Compare, sql: Sql) -> str:
    """The values a path reaches: json_each per ``*`` or number, ``->`` for the named steps
    after the last; IS NULL holds when none of them is non-null. A unit whose text lacks the
    path's last key has no value there (as in ``Query.matches``)."""
    if all(step != "*" and not step.isdigit() for step in node.field.parts):
        return _kept(node, sql)
    source = "dj.json"
    steps: list[str] = []
    joins: list[str] = []
    conditions: list[str] = []
    for step in node.field.parts:
        if step != "*" and not step.isdigit():
            steps.append(step)
            continue
        alias = f"e{len(joins)}"
        joins.append(f"json_each({source}, '{_json_path(tuple(steps))}') AS {alias}")
        conditions.append(f"{alias}.key IS NOT NULL")  # a scalar has no elements
        if step.isdigit():  # a list's element by number, or a map's key made of digits
            conditions.append(f"{alias}.key IN ({int(step)}, '{step}')")
        # a scalar element is not JSON text: never parse it as such
        source = f"(CASE WHEN {alias}.type IN ('object', 'array') THEN {alias}.value ELSE '{{}}' END)"
        steps = []
    if steps:  # ``->``: the value's JSON text
        value = f"({source} -> '{_json_path(tuple(steps))}')"
        non_null = f"coalesce({value}, 'null') != 'null'"
        if node.op == "is null":
            test = non_null
        else:
            sql.literals.append((node.op, node.literal))
            test = f"gitops_holds_node({len(sql.literals) - 1}, {value})"
    else:
        alias = f"e{len(joins) - 1}"
        non_null = f"{alias}.type IS NOT NULL AND {alias}.type != 'null'"
        test = non_null if node.op == "is null" else _test(node, sql, f"{alias}.type", f"{alias}.atom")
    if joins:
        test = f"EXISTS (SELECT 1 FROM {', '.join(joins)} WHERE {' AND '.join([*conditions, test])})"
    sql.params.append(query.needle(node.field))
    present = "instr(dt.text, ?) > 0"  # after the test: read only where it held
    if node.op == "is null":
        return f"(NOT ({test}) OR NOT {present})"
    return f"({test} AND {present})"


def _kept(node: Compare, sql: Sql) -> str:
    """A path of named steps: its value in the unit's document as the index keeps it (no row:
    the path reaches nothing there, or the text lacks its last key)."""
    steps = node.field.parts
    name = _json_path(steps)
    sql.paths.append((name, _json_path(steps[:-1]), steps[-1]))
    sql.params.append(name)
    row = "SELECT 1 FROM value v WHERE v.path = (SELECT id FROM path WHERE name = ?) AND v.doc = u.doc"
    if node.op == "is null":
        return f"NOT EXISTS ({row} AND v.type != 'null')"
    return f"EXISTS ({row} AND {_test(node, sql, 'v.type', 'v.atom')})"


def _test(node: Compare, sql: Sql, kind: str, atom: str) -> str:
    """One value (its JSON type, its SQL value) passing ``node``'s test: a number against a
    number, or text equal to text, in SQL; the rest through ``query.holds``."""
    op, literal = node.op, node.literal
    sql.literals.append((op, literal))
    held = f"gitops_holds_json({len(sql.literals) - 1}, {kind}, {atom})"
    if (op in _SQL_OPS and type(literal) in (int, float) and math.isfinite(literal)
            and abs(literal) < _EXACT):
        sql.params.append(literal)
        return f"(CASE WHEN {kind} IN ('integer', 'real') THEN {atom} {op} ? ELSE {held} END)"
    if op in ("=", "!=") and isinstance(literal, str):
        sql.params.append(literal)
        return f"(CASE WHEN {kind} = 'text' THEN {atom} {op} ? ELSE {held} END)"
    return held


def _json_path(steps: tuple[str, ...]) -> str:
    """SQLite's JSON path of named steps (the grammar's names need no escaping but quotes).

    >>> _json_path(("metadata", "labels", "app.kubernetes.io/name"))
    '$."metadata"."labels"."app.kubernetes.io/name"'
    """
    return "$" + "".join(f'."{s}"' for s in steps)


def glob_of_like(pattern: str) -> str:
    """A LIKE pattern as a GLOB (case-sensitive, as LIKE is here; SQLite's LIKE is not).

    >>> glob_of_like("%:v1[a]*?_")
    '*:v1[[]a][*][?]?'
    """
    special = {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join(special.get(ch, ch) for ch in pattern)


# --- what the index stores per document -------------------------------------------------------


def shape(data: Any) -> tuple[bool, set[str]]:
    """Whether JSON in SQLite holds ``data`` exactly as the YAML loader gave it (string keys,
    finite numbers of at most 15 digits, 64-bit integers, text without lone surrogates, no
    other types), and where it has non-empty lists: paths with ``#`` for any list element,
    what ``stepped_into_list`` needs. A manifest JSON does not hold exactly is never answered
    from its JSON (the caller falls back to reading it).

    >>> shape({"spec": {"containers": [{"env": [{"name": "A"}]}], "x": []}})[1] == {
    ...     "spec\x1fcontainers", "spec\x1fcontainers\x1f#\x1fenv"}
    True
    >>> shape({"a": [1, 2.5, True, None, "x"]})[0], shape({1: "x"})[0], shape(float("nan"))[0]
    (True, False, False)
    """
    arrays: set[str] = set()
    exact = _walk_shape(data, "", arrays)
    return exact, arrays


def _walk_shape(data: Any, prefix: str, arrays: set[str]) -> bool:
    kind = type(data)
    if kind is dict:
        exact = True
        for key, value in data.items():
            if type(key) is not str or not (key.isascii() or _encodable(key)):
                exact = False
                key = str(key)
            if not _walk_shape(value, f"{prefix}{SEPARATOR}{key}" if prefix else key, arrays):
                exact = False
        return exact
    if kind is list:
        if data:
            arrays.add(prefix)
        element = f"{prefix}{SEPARATOR}#" if prefix else "#"
        return all([_walk_shape(value, element, arrays) for value in data])
    if kind is str:  # a lone surrogate (YAML's "\\ud800") is not text SQLite keeps
        return bool(data.isascii() or _encodable(data))
    if kind is bool or data is None:
        return True
    if kind is int:
        return bool(-(2 ** 63) <= data < 2 ** 63)
    if kind is float:  # SQLite reads up to 15 significant digits back exactly
        digits = repr(data).split("e")[0].replace(".", "").replace("-", "").strip("0")
        return math.isfinite(data) and len(digits) <= 15
    return False


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def stepped_into_list(f: Field, arrays: set[str]) -> int | None:
    """The step of a manifest path that names a key where some manifest has a non-empty list
    (``arrays``: paths from ``shape``), or None.

    >>> arrays = shape({"spec": {"containers": [{"image": "x"}]}})[1]
    >>> stepped_into_list(Field(("spec", "containers", "image")), arrays)
    2
    >>> stepped_into_list(Field(("spec", "containers", "*", "image")), arrays) is None
    True
    """
    parts = f.parts
    for array in arrays:
        steps = array.split(SEPARATOR) if array else []
        depth = len(steps)
        if depth >= len(parts) or parts[depth] == "*" or parts[depth].isdigit():
            continue
        if all(p == "*" or p == s or (p.isdigit() and s == "#") for p, s in zip(parts, steps)):
            return depth
    return None
