"""WHERE clauses -> predicates over units (pure).

    Space.Slug LIKE '%prod-eu%' AND spec.replicas > 2
    Labels.service IN ('trade-service', 'trade-feed') OR NOT Labels.order IS NULL
    spec.template.spec.containers.*.image LIKE '%:v1'
    Data CONTAINS 'image: traderx/trade-service:v1'

Capitalised names are unit metadata (``Slug``, ``Space.Slug``, ``Space.Labels.k``, ``Labels.k``,
``Data``, ``UpstreamSpace``, ``Revision``); lower-case dotted paths reach into the manifest, ``*``
matching any list element or map value and a number a list index. A path that reaches several
values matches when any of them does. Numbers compare as numbers (a label "5" is 5 to ``> 2``).

The grammar is parsed by lark (LALR); a bad clause is a QueryError that quotes the clause and
points at the column. Evaluation asks the unit for its metadata first and for its manifest only
when the metadata part of the clause has not already decided: ``Unit.data()`` is called lazily.
No I/O here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from generator.errors import GitopsError

if TYPE_CHECKING:
    from lark import Lark, Token, Tree


class QueryError(GitopsError):
    """A WHERE clause that does not parse or names an unknown field."""


class Unit(Protocol):
    """What a clause can ask of a unit. ``data`` and ``text`` may be expensive: asked last."""

    @property
    def space(self) -> str: ...

    @property
    def unit(self) -> str: ...

    @property
    def labels(self) -> dict[str, str]: ...

    @property
    def space_labels(self) -> dict[str, str]: ...

    @property
    def upstream_space(self) -> str | None: ...

    def revision(self) -> int: ...

    def text(self) -> str: ...

    def data(self) -> Any: ...


GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: _NOT not_expr -> negate
         | atom
?atom: "(" or_expr ")"
     | predicate
predicate: field COMPARE value             -> compare
         | field _LIKE STRING              -> like
         | field _NOT _LIKE STRING         -> not_like
         | field _IN "(" values ")"        -> is_in
         | field _NOT _IN "(" values ")"   -> not_in
         | field _IS _NULL                 -> is_null
         | field _IS _NOT _NULL            -> is_not_null
         | field _CONTAINS STRING          -> contains
values: value ("," value)*
?value: STRING | NUMBER | TRUE | FALSE
field: SEGMENT ("." (SEGMENT | STAR | INDEX))*
COMPARE: "<>" | "!=" | "<=" | ">=" | "=" | "<" | ">"
STRING: /'(?:[^'\\]|\\.|'')*'/ | /"(?:[^"\\]|\\.)*"/
NUMBER: /-?\d+(\.\d+)?/
INDEX: /\d+/
STAR: "*"
_OR.2: /OR\b/i
_AND.2: /AND\b/i
_NOT.2: /NOT\b/i
_LIKE.2: /LIKE\b/i
_IN.2: /IN\b/i
_IS.2: /IS\b/i
_NULL.2: /NULL\b/i
_CONTAINS.2: /CONTAINS\b/i
TRUE.2: /TRUE\b/i
FALSE.2: /FALSE\b/i
SEGMENT: /[A-Za-z_][A-Za-z0-9_\-\/]*/
%import common.WS
%ignore WS
"""



@lru_cache(maxsize=1)
def _parser() -> Lark:
    """The WHERE parser, built when first needed: a command without --where does not import lark.

    Building its parse table takes longer than anything else a query does, so lark keeps it in
    the user's cache dir (``$XDG_CACHE_HOME/gitops``, else ``~/.cache/gitops``; lark checks the
    grammar's hash before using it, and builds the table as usual when it cannot read or write
    the file). The one file this module touches.
    """
    import os
    from pathlib import Path

    from lark import Lark, __version__

    home = os.environ.get("XDG_CACHE_HOME") or (os.path.expanduser("~/.cache") if "HOME" in os.environ else "")
    cache: str | bool = False
    if home:
        try:
            folder = Path(home) / "gitops"
            folder.mkdir(parents=True, exist_ok=True)
            cache = str(folder / f"where-lark-{__version__}.cache")
        except OSError:
            pass
    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=False, cache=cache)


METADATA = ("Slug", "Space.Slug", "Space.Labels.<key>", "Labels.<key>", "Data", "UpstreamSpace",
            "Revision")

Getter = Callable[[Unit], list[Any]]
Predicate = Callable[[Unit], bool]


# --- the parsed clause ------------------------------------------------------------------------
# A clause is a tree of these. Two evaluators read it: ``Query.matches`` here (a unit at a time)
# and generator.sqlwhere (the whole fleet at once, in the index); both decide a value with
# ``holds``, so they cannot disagree on what a comparison means.


@dataclass(frozen=True)
class Field:
    """A field a test reads: unit metadata (capitalised, e.g. ``Labels.layer``) or a manifest
    path (``spec.template.spec.containers.*.image``)."""

    parts: tuple[str, ...]
    columns: tuple[int, ...] = dataclasses.field(default=(), compare=False)  # where each part starts

    @property
    def metadata(self) -> bool:
        return self.parts[0][:1].isupper()

    @property
    def name(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Compare:
    """One comparison: ``op`` is one of OPS; ``literal`` a value, a list (IN) or None (IS)."""

    field: Field
    op: str
    literal: Any


@dataclass(frozen=True)
class Not:
    inner: Node


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


Node = Compare | Not | And | Or

OPS = ("=", "!=", "<", "<=", ">", ">=", "like", "not like", "in", "not in", "is null",
       "is not null", "contains")


@dataclass(frozen=True)
class Query:
    """A parsed clause: ``matches(unit)``; ``needs_data`` says whether it may read manifests;
    ``tree`` is the clause as data (for generator.sqlwhere)."""

    clause: str
    matches: Predicate
    needs_data: bool
    tree: Node


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _equal(left: Any, right: Any) -> bool:
    if left is None or isinstance(left, (dict, list)):  # a map or list equals no literal
        return False
    if isinstance(right, bool) or isinstance(left, bool):
        return isinstance(left, bool) and left is right or str(left).lower() == str(right).lower()
    if isinstance(right, (int, float)):
        number = _number(left)
        return number is not None and number == float(right)
    return str(left) == str(right)


_ORDER: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _compare(op: str, left: Any, right: Any) -> bool:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return _ORDER[op](a, b)
    if isinstance(left, str) and isinstance(right, str):
        return _ORDER[op](left, right)  # type: ignore[arg-type]
    return False


def holds(op: str, value: Any, literal: Any) -> bool:
    """Whether one value a field reached passes one test (``is null`` is decided over all the
    values: a field is null when none of them is ``is not null``).

    >>> holds("=", "5", 5), holds(">", 3, 2), holds("like", "traderx-prod-eu", "%prod%")
    (True, True, True)
    >>> holds("!=", None, "x"), holds("=", {"a": 1}, "{'a': 1}"), holds("not in", "b", ["a"])
    (False, False, True)
    """
    if op == "=":
        return _equal(value, literal)
    if op == "!=":
        return value is not None and not _equal(value, literal)
    if op in _ORDER:
        return _compare(op, value, literal)
    if op == "like":
        return isinstance(value, str) and like_pattern(literal).match(value) is not None
    if op == "not like":
        return isinstance(value, str) and like_pattern(literal).match(value) is None
    if op == "in":
        return any(_equal(value, x) for x in literal)
    if op == "not in":
        return value is not None and not any(_equal(value, x) for x in literal)
    if op == "is not null":
        return value is not None
    if op == "contains":
        return isinstance(value, str) and literal in value
    raise ValueError(f"no such test: {op}")


@lru_cache(maxsize=256)
def like_pattern(pattern: str) -> re.Pattern[str]:
    """SQL LIKE: ``%`` any run, ``_`` one character, everything else literal.

    >>> bool(like_pattern("%prod-eu%").match("traderx-prod-eu"))
    True
    >>> bool(like_pattern("%:v1").match("traderx/trade-service:v12"))
    False
    """
    parts = (".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def _walk(value: Any, path: tuple[str, ...], at: Callable[[int], QueryError] | None = None,
          depth: int = 0) -> Iterator[Any]:
    """The values ``path`` reaches in ``value``. A name that meets a list is an error made by
    ``at(depth)`` (a list is stepped into with ``*`` or a number), when given."""
    if len(path) == depth:
        yield value
        return
    head = path[depth]
    if head == "*":
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        for child in children:
            yield from _walk(child, path, at, depth + 1)
    elif isinstance(value, list):
        if head.isdigit():
            if int(head) < len(value):
                yield from _walk(value[int(head)], path, at, depth + 1)
        elif at is not None and value:
            raise at(depth)
    elif isinstance(value, dict) and head in value:
        yield from _walk(value[head], path, at, depth + 1)


def into_list(field: Field, depth: int, clause: str) -> QueryError:
    """The error for a path whose name ``field.parts[depth]`` meets a list."""
    parts = field.parts
    above = ".".join(parts[:depth])
    column = field.columns[depth] if depth < len(field.columns) else 0
    return QueryError(
        f"{above} is a list: {parts[depth]!r} at column {column} cannot step into it in WHERE "
        f"clause {clause!r}",
        f"use * for any element or a number for one, e.g. {above}.*.{'.'.join(parts[depth + 1:]) or 'name'}")


def needle(field: Field) -> str:
    """The last key of a manifest path: a unit whose text lacks it has no value there (reading
    text is cheap, parsing is not, so such a unit is answered as if the path found nothing)."""
    return [p for p in field.parts if p != "*" and not p.isdigit()][-1]


def _metadata(field: Field) -> Getter:
    """The getter of a capitalised name (checked by ``_Build.field``)."""
    name, parts = field.name, field.parts
    simple: dict[str, Getter] = {
        "Slug": lambda u: [u.unit],
        "Space.Slug": lambda u: [u.space],
        "UpstreamSpace": lambda u: [u.upstream_space],
        "Revision": lambda u: [u.revision()],
        "Data": lambda u: [u.text()],
    }
    if name in simple:
        return simple[name]
    key = parts[-1]
    if parts[0] == "Labels":
        return lambda u: [u.labels.get(key)]
    return lambda u: [u.space_labels.get(key)]


def _getter(field: Field, clause: str) -> tuple[Getter, bool]:
    """The values a field reaches in a unit, and whether reaching them reads the manifest."""
    if field.metadata:
        return _metadata(field), field.name == "Data"
    path, key = field.parts, needle(field)
    return (lambda u: list(_walk(u.data(), path, lambda d: into_list(field, d, clause)))
            if key in u.text() else []), True


def _predicate(node: Node, clause: str) -> tuple[Predicate, bool]:
    """A clause tree as a predicate over one unit, and whether it may read manifests; of AND
    and OR, the cheap (metadata) parts are tried first: a unit they decide is never parsed."""
    if isinstance(node, Compare):
        get, heavy = _getter(node.field, clause)
        op, literal = node.op, node.literal
        if op == "is null":
            return (lambda u: all(v is None for v in get(u))), heavy
        return (lambda u: any(holds(op, v, literal) for v in get(u))), heavy
    if isinstance(node, Not):
        test, heavy = _predicate(node.inner, clause)
        return (lambda u: not test(u)), heavy
    parts = sorted((_predicate(p, clause) for p in node.parts), key=lambda p: p[1])
    tests = [t for t, _ in parts]
    heavy = any(h for _, h in parts)
    if isinstance(node, And):
        return (lambda u: all(t(u) for t in tests)), heavy
    return (lambda u: any(t(u) for t in tests)), heavy


def _literal(token: Token) -> Any:
    if token.type == "STRING":
        body = token.value[1:-1]
        quote = token.value[0]
        return body.replace(quote * 2, quote).replace("\\" + quote, quote).replace("\\\\", "\\")
    if token.type == "NUMBER":
        return float(token.value) if "." in token.value else int(token.value)
    if token.type == "TRUE":
        return True
    if token.type == "FALSE":
        return False
    return token.value


class _Build:
    """Parse tree -> clause tree: each rule's method called with its children built (what
    lark's ``Transformer`` with ``v_args(inline=True)`` does, without importing lark before a
    clause is parsed). Unknown metadata names are errors here, at parse time."""

    def __init__(self, clause: str) -> None:
        self.clause = clause

    def transform(self, tree: Tree[Token]) -> Any:
        from lark import Tree

        children = [self.transform(c) if isinstance(c, Tree) else c for c in tree.children]
        return getattr(self, str(tree.data))(*children)

    def field(self, *segments: Token) -> Field:
        field = Field(tuple(str(s) for s in segments), tuple(s.column or 0 for s in segments))
        if field.metadata and not (
                field.name in ("Slug", "Space.Slug", "UpstreamSpace", "Revision", "Data")
                or len(field.parts) == 2 and field.parts[0] == "Labels"
                or len(field.parts) == 3 and field.parts[:2] == ("Space", "Labels")):
            raise QueryError(
                f"unknown field {field.name!r} at column {segments[0].column or 0} in WHERE clause "
                f"{self.clause!r}",
                f"unit metadata is {', '.join(METADATA)}; manifest paths are lower-case, "
                "e.g. spec.replicas",
            )
        return field

    def values(self, *tokens: Token) -> list[Any]:
        return [_literal(t) for t in tokens]

    def compare(self, field: Field, op: Token, value: Token) -> Compare:
        return Compare(field, "!=" if str(op) == "<>" else str(op), _literal(value))

    def like(self, field: Field, pattern: Token) -> Compare:
        return Compare(field, "like", _literal(pattern))

    def not_like(self, field: Field, pattern: Token) -> Compare:
        return Compare(field, "not like", _literal(pattern))

    def is_in(self, field: Field, values: list[Any]) -> Compare:
        return Compare(field, "in", tuple(values))

    def not_in(self, field: Field, values: list[Any]) -> Compare:
        return Compare(field, "not in", tuple(values))

    def is_null(self, field: Field) -> Compare:
        return Compare(field, "is null", None)

    def is_not_null(self, field: Field) -> Compare:
        return Compare(field, "is not null", None)

    def contains(self, field: Field, text: Token) -> Compare:
        return Compare(field, "contains", _literal(text))

    def negate(self, inner: Node) -> Not:
        return Not(inner)

    def and_expr(self, *parts: Node) -> And:
        return And(parts)

    def or_expr(self, *parts: Node) -> Or:
        return Or(parts)


def parse(clause: str) -> Query:
    """Parse a WHERE clause; a bad one is a QueryError quoting it and pointing at the column."""
    if not clause.strip():
        raise QueryError("empty WHERE clause", "write e.g. --where \"Labels.layer = 'backend'\"")
    from lark import UnexpectedCharacters, UnexpectedInput

    try:
        tree = _parser().parse(clause)
    except UnexpectedInput as e:
        column = getattr(e, "column", 0) or len(clause) + 1
        found = getattr(e, "token", None)
        if isinstance(e, UnexpectedCharacters):
            what = f"unexpected character {e.char!r}"
        elif found is None or getattr(found, "type", "") == "$END":
            what, column = "unexpected end of clause", len(clause) + 1
        else:
            what = f"unexpected {str(found)!r}"
        raise QueryError(
            f"invalid WHERE clause at column {column}: {what} in {clause!r}",
            f"{clause}\n      {' ' * (column - 1)}^ here; e.g. spec.replicas > 2 AND "
            "Labels.layer = 'backend'",
        ) from None
    node = _Build(clause).transform(tree)
    predicate, heavy = _predicate(node, clause)
    return Query(clause, predicate, heavy, node)
