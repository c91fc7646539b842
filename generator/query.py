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
    """The WHERE parser, built when first needed: a command without --where does not import lark."""
    from lark import Lark

    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)


METADATA = ("Slug", "Space.Slug", "Space.Labels.<key>", "Labels.<key>", "Data", "UpstreamSpace",
            "Revision")

Getter = Callable[[Unit], list[Any]]
Predicate = Callable[[Unit], bool]


@dataclass(frozen=True)
class Query:
    """A parsed clause: ``matches(unit)``; ``needs_data`` says whether it may read manifests."""

    clause: str
    matches: Predicate
    needs_data: bool


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
    if isinstance(right, bool) or isinstance(left, bool):
        return isinstance(left, bool) and left is right or str(left).lower() == str(right).lower()
    if isinstance(right, (int, float)):
        number = _number(left)
        return number is not None and number == float(right)
    return left is not None and str(left) == right


_ORDER: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "=":
        return _equal(left, right)
    if op in ("!=", "<>"):
        return left is not None and not _equal(left, right)
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return _ORDER[op](a, b)
    if isinstance(left, str) and isinstance(right, str):
        return _ORDER[op](left, right)  # type: ignore[arg-type]
    return False


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


def _metadata(parts: list[str], clause: str, column: int) -> tuple[Getter, bool]:
    """A getter for a capitalised name, and whether it reads the manifest text."""
    name = ".".join(parts)
    simple: dict[str, Getter] = {
        "Slug": lambda u: [u.unit],
        "Space.Slug": lambda u: [u.space],
        "UpstreamSpace": lambda u: [u.upstream_space],
        "Revision": lambda u: [u.revision()],
    }
    if name in simple:
        return simple[name], False
    if name == "Data":
        return (lambda u: [u.text()]), True
    if len(parts) == 2 and parts[0] == "Labels":
        key = parts[1]
        return (lambda u: [u.labels.get(key)]), False
    if len(parts) == 3 and parts[:2] == ["Space", "Labels"]:
        key = parts[2]
        return (lambda u: [u.space_labels.get(key)]), False
    raise QueryError(
        f"unknown field {name!r} at column {column} in WHERE clause {clause!r}",
        f"unit metadata is {', '.join(METADATA)}; manifest paths are lower-case, "
        "e.g. spec.replicas",
    )


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


class _Compile:
    """Parse tree -> (predicate, reads manifest?): each rule's method called with its children
    compiled (what lark's ``Transformer`` with ``v_args(inline=True)`` does, without importing
    lark before a clause is parsed)."""

    def __init__(self, clause: str) -> None:
        self.clause = clause

    def transform(self, tree: Tree[Token]) -> Any:
        from lark import Tree

        children = [self.transform(c) if isinstance(c, Tree) else c for c in tree.children]
        return getattr(self, str(tree.data))(*children)

    def field(self, *segments: Token) -> tuple[Getter, bool]:
        parts = [str(s) for s in segments]
        column = segments[0].column or 0
        if parts[0][:1].isupper():
            return _metadata(parts, self.clause, column)
        path = tuple(parts)
        keys = [p for p in parts if p != "*" and not p.isdigit()]
        needle = keys[-1]
        clause = self.clause

        def into_list(depth: int) -> QueryError:
            column = segments[depth].column or 0
            above = ".".join(parts[:depth])
            return QueryError(
                f"{above} is a list: {parts[depth]!r} at column {column} cannot step into it "
                f"in WHERE clause {clause!r}",
                f"use * for any element or a number for one, e.g. {above}.*.{'.'.join(parts[depth + 1:]) or 'name'}")

        # A path reaches a value only if its last key is in the text: reading text is cheap,
        # parsing is not, so a unit without it is answered as if the path found nothing.
        return (lambda u: list(_walk(u.data(), path, into_list)) if needle in u.text() else []), True

    def values(self, *tokens: Token) -> list[Any]:
        return [_literal(t) for t in tokens]

    def compare(self, field: tuple[Getter, bool], op: Token, value: Token) -> tuple[Predicate, bool]:
        get, heavy = field
        literal, operator = _literal(value), str(op)
        return (lambda u: any(_compare(operator, v, literal) for v in get(u))), heavy

    def like(self, field: tuple[Getter, bool], pattern: Token) -> tuple[Predicate, bool]:
        get, heavy = field
        rx = like_pattern(_literal(pattern))
        return (lambda u: any(isinstance(v, str) and rx.match(v) is not None for v in get(u))), heavy

    def not_like(self, field: tuple[Getter, bool], pattern: Token) -> tuple[Predicate, bool]:
        get, heavy = field
        rx = like_pattern(_literal(pattern))
        return (lambda u: any(isinstance(v, str) and rx.match(v) is None for v in get(u))), heavy

    def is_in(self, field: tuple[Getter, bool], values: list[Any]) -> tuple[Predicate, bool]:
        get, heavy = field
        return (lambda u: any(_equal(v, x) for v in get(u) for x in values)), heavy

    def not_in(self, field: tuple[Getter, bool], values: list[Any]) -> tuple[Predicate, bool]:
        get, heavy = field
        return (lambda u: any(v is not None and not any(_equal(v, x) for x in values)
                              for v in get(u))), heavy

    def is_null(self, field: tuple[Getter, bool]) -> tuple[Predicate, bool]:
        get, heavy = field
        return (lambda u: all(v is None for v in get(u))), heavy

    def is_not_null(self, field: tuple[Getter, bool]) -> tuple[Predicate, bool]:
        get, heavy = field
        return (lambda u: any(v is not None for v in get(u))), heavy

    def contains(self, field: tuple[Getter, bool], text: Token) -> tuple[Predicate, bool]:
        get, heavy = field
        needle = _literal(text)
        return (lambda u: any(isinstance(v, str) and needle in v for v in get(u))), heavy

    def negate(self, inner: tuple[Predicate, bool]) -> tuple[Predicate, bool]:
        test, heavy = inner
        return (lambda u: not test(u)), heavy

    def and_expr(self, *parts: tuple[Predicate, bool]) -> tuple[Predicate, bool]:
        # cheap (metadata) tests first: a unit they exclude is never parsed
        ordered = sorted(parts, key=lambda p: p[1])
        tests = [t for t, _ in ordered]
        return (lambda u: all(t(u) for t in tests)), any(h for _, h in parts)

    def or_expr(self, *parts: tuple[Predicate, bool]) -> tuple[Predicate, bool]:
        ordered = sorted(parts, key=lambda p: p[1])
        tests = [t for t, _ in ordered]
        return (lambda u: any(t(u) for t in tests)), any(h for _, h in parts)


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
    predicate, heavy = _Compile(clause).transform(tree)
    return Query(clause, predicate, heavy)
