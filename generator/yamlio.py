"""YAML in and out: the only module that parses or writes YAML text.

Two paths, chosen by what the caller needs:

- ``load`` / ``dump``: plain data (dicts, lists, scalars) at speed. ``load`` is PyYAML's
  C-accelerated safe loader (timestamps stay strings, as Kubernetes reads them); ``dump`` is a
  small block-style emitter for JSON-like data, several times faster than PyYAML's dumper,
  whose output every YAML 1.1 and 1.2 reader parses back to the same data (property-tested).
  Comments do not survive this path: it is for generated content.
- ``load_roundtrip`` / ``dump_roundtrip``: ruamel.yaml round-trip, for editing a file whose
  comments and key order must survive (a unit with local edits).

This module does not read or write files and knows nothing of units, spaces or git.
"""

from __future__ import annotations

import io
import json
import math
import re
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from generator.errors import YamlError

if TYPE_CHECKING:
    import yaml
    from ruamel.yaml import YAML


@cache
def _loader() -> type[yaml.CSafeLoader]:
    """PyYAML's safe loader (C), keeping timestamps as strings (Kubernetes does; dates are not
    a type). Made when first used: a command that reads no YAML does not import PyYAML."""
    import yaml

    class _Loader(yaml.CSafeLoader):
        _tags: dict[tuple[str, bool], str] = {}  # plain scalar -> its tag: the same ones recur

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            if kind is not yaml.ScalarNode or not implicit[0] or self.yaml_path_resolvers:
                return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            key = (value, implicit[1])
            tag = self._tags.get(key)
            if tag is None:
                if len(self._tags) > 65536:
                    self._tags.clear()
                tag = self._tags[key] = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            return tag

    _Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return _Loader


def load(text: str, source: str = "<text>") -> Any:
    """Parse one YAML document into plain data; a syntax error names ``source`` and the line."""
    import yaml

    try:
        loader = _loader()(text)
        try:
            node = loader.get_single_node()  # libyaml parses and composes
            if node is None:
                return None
            try:
                return _build(node, loader, {}, set())
            except _Unusual:  # what _build leaves to PyYAML: the whole document is PyYAML's
                return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        raise _located(e, source) from e
    except yaml.YAMLError as e:
        raise YamlError(f"{source}: not valid YAML: {e}", "fix the YAML syntax") from e


class _Unusual(Exception):
    """A node ``_build`` leaves to PyYAML's constructor."""


_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


def _build(node: Any, loader: Any, built: dict[int, Any], open_nodes: set[int]) -> Any:
    """The data PyYAML's safe constructor makes of a composed node, made several times faster
    for what manifests are made of: maps with string keys, lists, strings (other scalars go
    through PyYAML's own constructor). Anything else (merge keys ``<<``, explicit tags such as
    ``!!set``, keys that are not strings, a node inside itself) raises _Unusual, and the caller
    has PyYAML construct the whole document. A node met twice (an alias) is the same object,
    as PyYAML makes it."""
    kind = type(node).__name__
    if kind == "ScalarNode":
        return node.value if node.tag == _STR_TAG else loader.construct_object(node, deep=True)
    key = id(node)
    if key in built:
        return built[key]
    if key in open_nodes:
        raise _Unusual
    open_nodes.add(key)
    result: Any
    if kind == "MappingNode" and node.tag == _MAP_TAG:
        result = {}
        for k, v in node.value:
            if k.tag != _STR_TAG or type(k).__name__ != "ScalarNode":
                raise _Unusual
            result[k.value] = _build(v, loader, built, open_nodes)
    elif kind == "SequenceNode" and node.tag == _SEQ_TAG:
        result = [_build(v, loader, built, open_nodes) for v in node.value]
    else:
        raise _Unusual
    open_nodes.discard(key)
    built[key] = result
    return result


def load_mapping(text: str, source: str) -> dict[str, Any]:
    """Like ``load``, but the document must be a mapping (an empty file is an empty mapping)."""
    data = load(text, source)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise YamlError(
            f"{source}: expected a mapping at the top, found {type(data).__name__}",
            "the file must hold `key: value` pairs",
        )
    return data


def _located(e: yaml.MarkedYAMLError, source: str) -> YamlError:
    mark = e.problem_mark or e.context_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    problem = str(e.problem or e.context)
    if e.context and e.problem:
        started = f" at line {e.context_mark.line + 1}" if e.context_mark else ""
        problem += f" ({e.context}{started})"
    return YamlError(f"{where}: invalid YAML: {problem}", "fix the YAML syntax at that line")


# --- the fast emitter -----------------------------------------------------------------------

# Characters a plain (unquoted) scalar may hold here: a conservative subset of what YAML allows,
# so that no reader can take it for an indicator, a comment or a flow collection.
_PLAIN = re.compile(r"[A-Za-z0-9_./][-A-Za-z0-9_./:@=+~%,()$^;?*& ]*\Z")
_STR_TAG = "tag:yaml.org,2002:str"
# What YAML 1.2's core schema reads as numbers but 1.1's resolver may not (1e3, 0o17, .inf).
_YAML12_ONLY = re.compile(
    r"[-+]?(0o[0-7]+|0x[0-9a-fA-F]+|\.(inf|Inf|INF|nan|NaN|NAN)"
    r"|(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)\Z")
# Not printable in a YAML stream, or a line break inside a double-quoted scalar: escape them.
_UNSAFE = re.compile("[\x7f-\x84\x86-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]|\x85")
_BLOCK_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


@cache
def _resolver() -> Any:
    """YAML 1.1's resolver (PyYAML's): a superset of what 1.2 reads as non-strings."""
    import yaml

    return yaml.resolver.Resolver()


def _resolved(s: str) -> str:
    """The tag a YAML 1.1 reader gives the plain scalar ``s``."""
    import yaml

    return str(_resolver().resolve(yaml.ScalarNode, s, (True, False)))


@lru_cache(maxsize=65536)  # the same keys and values come back in every unit of a fleet
def _string(s: str) -> str:
    """A one-line scalar for ``s``: plain when every reader reads it back as this string."""
    if (
        _PLAIN.match(s)
        and ": " not in s
        and not s.endswith((":", " "))
        and not _YAML12_ONLY.match(s)
        and _resolved(s) == _STR_TAG
    ):
        return s
    quoted = json.dumps(s, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "." not in text and "e" in text:  # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
            text = text.replace("e", ".0e", 1)
        return text
    raise YamlError(f"cannot write a {type(value).__name__} as YAML: {value!r}")


def _block(value: str, indent: str) -> str | None:
    """A literal block scalar (``|``) for a multi-line string, or None when it cannot be one."""
    if (
        "\n" not in value
        or value[0] in " \n"
        or "\r" in value
        or _BLOCK_UNSAFE.search(value)
        or re.search(r"[ \t]\n|[ \t]\Z", value)
    ):
        return None
    body = value.rstrip("\n")
    trailing = len(value) - len(body)
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    lines = "\n".join(indent + line if line else "" for line in body.split("\n"))
    return f"|{chomp}\n{lines}" + "\n" * max(trailing - 1, 0)


class Emitter:
    """Writes plain data as block YAML; subtrees marked shared are written once and reused.

    An overlay copies only the paths it changes, so a thousand regions derived from one base
    unit share every untouched subtree with it (the same objects). ``share(base)`` marks them;
    their lines are then emitted once per indentation and copied after. Shared data must not
    be changed while the emitter is in use (the emitter keeps it alive, so ids stay unique).
    """

    def __init__(self) -> None:
        self._shared: dict[int, Any] = {}
        self._memo: dict[tuple[int, str], list[str]] = {}

    def share(self, data: Any) -> None:
        """Mark every dict and list inside ``data`` as shared."""
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                self._shared[id(item)] = item
                stack.extend(item.values())
            elif isinstance(item, list):
                self._shared[id(item)] = item
                stack.extend(item)

    def dump(self, data: Any) -> str:
        """Block-style YAML (kubectl's layout: 2 spaces, list dashes not indented)."""
        out: list[str] = []
        if isinstance(data, dict) and data:
            self._map(out, data, "")
        elif isinstance(data, list) and data:
            self._seq(out, data, "")
        else:
            out.append(_value(data))
        return "\n".join(out) + "\n"

    def _memoised(self, out: list[str], data: Any, indent: str) -> bool:
        if id(data) not in self._shared:
            return False
        key = (id(data), indent)
        lines = self._memo.get(key)
        if lines is None:
            lines = []
            (self._map_lines if isinstance(data, dict) else self._seq_lines)(lines, data, indent)
            self._memo[key] = lines
        out.extend(lines)
        return True

    def _map(self, out: list[str], data: dict[Any, Any], indent: str) -> None:
        if not (self._shared and self._memoised(out, data, indent)):
            self._map_lines(out, data, indent)

    def _seq(self, out: list[str], data: list[Any], indent: str) -> None:
        if not (self._shared and self._memoised(out, data, indent)):
            self._seq_lines(out, data, indent)

    def _map_lines(self, out: list[str], data: dict[Any, Any], indent: str) -> None:
        for key, value in data.items():
            head = f"{indent}{_string(key) if type(key) is str else _scalar(key)}:"
            if type(value) is str and "\n" not in value:  # the common case first
                out.append(f"{head} {_string(value)}")
            elif isinstance(value, dict) and value:
                out.append(head)
                self._map(out, value, indent + "  ")
            elif isinstance(value, list) and value:
                out.append(head)
                self._seq(out, value, indent)
            elif isinstance(value, str) and (b := _block(value, indent + "  ")):
                out.append(f"{head} {b}")
            else:
                out.append(f"{head} {_value(value)}")

    def _seq_lines(self, out: list[str], data: list[Any], indent: str) -> None:
        inner = indent + "  "
        for item in data:
            if isinstance(item, dict) and item:
                start = len(out)
                self._map(out, item, inner)
                out[start] = f"{indent}- {out[start][len(inner):]}"
            elif isinstance(item, list) and item:
                out.append(f"{indent}-")
                self._seq(out, item, inner)
            elif isinstance(item, str) and "\n" in item and (b := _block(item, inner)):
                out.append(f"{indent}- {b}")
            else:
                out.append(f"{indent}- {_value(item)}")


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def dump(data: Any) -> str:
    """Block-style YAML for plain data (kubectl's layout: 2 spaces, list dashes not indented)."""
    return Emitter().dump(data)


# --- the emitter's own layout, read back ----------------------------------------------------

_INT = re.compile(r"-?(0|[1-9][0-9]*)\Z")
_WORDS: dict[str, Any] = {"null": None, "true": True, "false": False}


class _NotOwn(Exception):
    """Text that is not in ``dump``'s layout: ``load_own`` leaves it to ``load``."""


def load_own(text: str) -> Any:
    """The data of a text ``dump`` wrote (a unit as generated or as a function left it), read
    line by line several times faster than ``load``; None for any other text (comments, another
    style, anything unusual), which the caller reads with ``load``. Exact: the data is dumped
    again and must give back ``text``, and what ``dump`` writes every YAML reader reads back as
    that data. A fresh object, shared with nobody."""
    if not text.endswith("\n") or text.startswith(("-", " ")):
        return None
    lines = text[:-1].split("\n")
    try:
        data, end = _own_map(lines, 0, "")
    except (_NotOwn, ValueError, IndexError):
        return None
    if end != len(lines) or not data or dump(data) != text:
        return None
    return data


def _own_map(lines: list[str], i: int, indent: str) -> tuple[dict[str, Any], int]:
    result: dict[str, Any] = {}
    width = len(indent)
    while i < len(lines):
        line = lines[i]
        if not line.startswith(indent) or line[width:width + 1] in ("", " ", "-"):
            break
        if line[width] == '"':
            key, at = _DECODER.raw_decode(line, width)
            if not isinstance(key, str) or line[at:at + 1] != ":":
                raise _NotOwn
            rest = line[at + 1:]
            if rest and not rest.startswith(" "):
                raise _NotOwn
            rest = rest[1:]
        else:
            cut = line.find(": ", width)
            if cut < 0:
                if not line.endswith(":"):
                    raise _NotOwn
                key, rest = line[width:-1], ""
            else:
                key, rest = line[width:cut], line[cut + 2:]
        i += 1
        if rest:
            if rest[0] == "|":
                result[key], i = _own_block(lines, i, indent + "  ", rest)
            else:
                result[key] = _own_scalar(rest)
        elif i < len(lines) and lines[i].startswith(indent + "-"):
            result[key], i = _own_seq(lines, i, indent)
        else:
            result[key], i = _own_map(lines, i, indent + "  ")
            if not result[key]:
                raise _NotOwn
    return result, i


def _own_seq(lines: list[str], i: int, indent: str) -> tuple[list[Any], int]:
    result: list[Any] = []
    inner = indent + "  "
    width = len(indent)
    item: Any
    while i < len(lines) and lines[i].startswith(indent + "-"):
        line = lines[i]
        if line == indent + "-":
            item, i = _own_seq(lines, i + 1, inner)
            if not item:
                raise _NotOwn
            result.append(item)
            continue
        if line[width + 1:width + 2] != " ":
            raise _NotOwn
        rest = line[width + 2:]
        if rest[0] == '"':
            value, at = _DECODER.raw_decode(rest)
            keyed = at < len(rest)
        else:
            keyed = ": " in rest or rest.endswith(":")
        if keyed:  # a map whose first line carries the dash
            lines[i] = inner + rest
            item, i = _own_map(lines, i, inner)
            result.append(item)
        elif rest[0] == "|":
            item, i = _own_block(lines, i + 1, inner, rest)
            result.append(item)
        else:
            result.append(_own_scalar(rest))
            i += 1
    return result, i


def _own_block(lines: list[str], i: int, indent: str, header: str) -> tuple[str, int]:
    """A literal block scalar's lines (``|`` or ``|-``: the ones ``dump`` writes with at most
    one line break at the end)."""
    if header not in ("|", "|-"):
        raise _NotOwn
    body: list[str] = []
    while i < len(lines) and (lines[i].startswith(indent) or not lines[i]):
        body.append(lines[i][len(indent):])
        i += 1
    while body and not body[-1]:  # empty lines after the block: not its own
        body.pop()
        i -= 1
    if not body:
        raise _NotOwn
    return "\n".join(body) + ("\n" if header == "|" else ""), i


def _own_scalar(text: str) -> Any:
    if text[0] == '"':
        value, at = _DECODER.raw_decode(text)
        if at != len(text) or not isinstance(value, str):
            raise _NotOwn
        return value
    if text in _WORDS:
        return _WORDS[text]
    if text == "{}":
        return {}
    if text == "[]":
        return []
    if _INT.match(text):
        return int(text)
    if _string(text) != text:  # a float, or not a plain string dump would write: leave it
        raise _NotOwn
    return text


_DECODER = json.JSONDecoder()


# --- the round-trip path --------------------------------------------------------------------


def _reads_as_other_than_string(event: Any) -> bool:
    """A string scalar that a YAML 1.1 reader (PyYAML, kubectl) would take for something else."""
    tag = getattr(event, "tag", None)
    if tag not in (None, _STR_TAG) or not isinstance(event.value, str):
        return False
    return _resolved(event.value) != _STR_TAG


def layout(text: str) -> tuple[int, int, int]:
    r"""The block layout of a YAML text as ruamel's ``indent(mapping, sequence, offset)``: the
    indentation of a list's dash under its key (0 as kubectl writes, 2 as many templates do),
    so that writing an edited file back keeps the layout it had.

    >>> layout("a:\n- 1\n")
    (2, 2, 0)
    >>> layout("a:\n  - 1\n")
    (2, 4, 2)
    """
    key_indent = -1
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        if stripped.startswith("- ") or stripped == "-":
            if key_indent >= 0 and indent >= key_indent:
                offset = indent - key_indent
                return 2, offset + 2, offset
            key_indent = -1
        else:
            key_indent = indent if stripped.rstrip().endswith(":") else -1
    return 2, 2, 0


@lru_cache(maxsize=8)
def _roundtrip(shape: tuple[int, int, int] = (2, 2, 0)) -> YAML:
    from ruamel.yaml import YAML  # imported when first needed: most commands never round-trip
    from ruamel.yaml.emitter import Emitter

    class _DoubleQuoting(Emitter):
        """A string that needs quotes and was not single-quoted in its file gets double quotes,
        as ``dump`` writes it: a value merged in from generated text keeps its look."""

        def choose_scalar_style(self) -> Any:
            style = super().choose_scalar_style()
            if style == "" and _reads_as_other_than_string(self.event):
                return '"'  # 'yes', 'on', '0755' are strings in YAML 1.2, not for 1.1 readers
            return '"' if style == "'" and self.event.style != "'" else style

    rt = YAML(typ="rt")
    rt.Emitter = _DoubleQuoting
    # null as `null`, as ``dump`` writes it (ruamel's default is an empty value)
    rt.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    mapping, sequence, offset = shape
    rt.indent(mapping=mapping, sequence=sequence, offset=offset)
    rt.width = 4096  # never fold long lines: a folded image reference is a diff nobody wants
    rt.preserve_quotes = True
    return rt


def load_roundtrip(text: str, source: str = "<text>") -> Any:
    """Parse keeping comments, key order and quoting, for an edit that must preserve them."""
    from ruamel.yaml.error import YAMLError as RuamelError

    try:
        return _roundtrip().load(text)
    except RuamelError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise YamlError(f"{where}: invalid YAML: {getattr(e, 'problem', e)}",
                        "fix the YAML syntax at that line") from e


def dump_roundtrip(data: Any, like: str = "") -> str:
    """Write data loaded by ``load_roundtrip`` (comments and order included) back to text, in
    the layout of ``like`` (the text it was loaded from): an edit of k fields is k lines."""
    buf = io.StringIO()
    _roundtrip(layout(like)).dump(data, buf)
    return buf.getvalue()


def normalize(text: str, source: str = "<text>") -> str:
    """``text`` as the round-trip writer writes it (comments kept): a file written this way
    is not re-indented or re-quoted by its first edit."""
    return dump_roundtrip(load_roundtrip(text, source), like=text)


def load_all(text: str, source: str = "<text>") -> list[Any]:
    """Every document of a YAML stream as plain data (empty documents skipped)."""
    import yaml

    try:
        return [d for d in yaml.load_all(text, Loader=_loader()) if d is not None]  # noqa: S506
    except yaml.MarkedYAMLError as e:
        raise _located(e, source) from e
    except yaml.YAMLError as e:
        raise YamlError(f"{source}: not valid YAML: {e}", "fix the YAML syntax") from e


def load_roundtrip_all(text: str, source: str = "<text>") -> list[Any]:
    """Every document of a YAML stream, round-trip (see ``load_roundtrip``)."""
    from ruamel.yaml.error import YAMLError as RuamelError

    try:
        return [d for d in _roundtrip().load_all(text) if d is not None]
    except RuamelError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise YamlError(f"{where}: invalid YAML: {getattr(e, 'problem', e)}",
                        "fix the YAML syntax at that line") from e


def dump_roundtrip_all(documents: list[Any], like: str = "") -> str:
    """Several documents as one stream, ``---`` between them."""
    buf = io.StringIO()
    _roundtrip(layout(like)).dump_all(documents, buf)
    return buf.getvalue()
