"""A preview (``render --dry-run``, ``gitops preview``) as one pull-request comment, in markdown.

The comment starts with a hidden marker (MARKER), by which a workflow finds the comment it
posted before and updates it (one sticky comment per pull request). Then: a headline, a summary
table per space, the danger flags, what the secret guard and the schema found, the conflicts
with local edits and the local overrides made or undone, and per space the fields and the
unified diff in a collapsed ``<details>``. Spaces whose change is the same (a base change seen
in 1000 regions) share one block.

A comment is at most ``limit`` characters (GitHub's limit is 65,536). Blocks are added in that
order while they fit; what does not fit is left out behind a visible note that says how much
and points at the full report (``link``: the run's job summary or artifact).

Pure: data in, text out. It never sees a secret's value (the preview masks them before).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

MARKER = "<!-- gitops-preview -->"
COMMENT_LIMIT = 65_536  # characters, GitHub's limit for an issue or pull-request comment
SUMMARY_LIMIT = 1_048_576  # characters, GitHub's limit for a job summary
_NOTE_ROOM = 600  # kept free for the truncation note
_CELL = 120  # longest value shown in a table cell
_PROSE = {"flag", "detail", "message"}  # columns of words, not values: not shown as code


def render(data: dict[str, Any], limit: int = COMMENT_LIMIT, link: str | None = None,
           rows: int | None = 30) -> str:
    """The comment for a preview's ``data`` (``Preview.data()``): at most ``limit``
    characters. ``rows``: the most rows of the summary table (None: all)."""
    blocks = list(_blocks(data, rows))
    head, body = blocks[0][1], blocks[1:]
    out, used = [head], len(head)
    for n, (_, text) in enumerate(body):
        if used + len(text) + _NOTE_ROOM > limit:
            out.append(_note(body[n:], link))
            break
        out.append(text)
        used += len(text)
    else:
        if link:
            out.append(f"\n<sub>[The run]({link})</sub>\n")
    return "".join(out)[:limit]


def _note(skipped: Sequence[tuple[str, str]], link: str | None) -> str:
    counts: dict[str, int] = {}
    for kind, _ in skipped:
        counts[kind] = counts.get(kind, 0) + 1
    what = ", ".join(f"{n} {kind}{'s' * (n != 1)}" for kind, n in counts.items())
    where = f"[the job summary of this run]({link})" if link else \
        "the job summary and the `gitops-preview` artifact of this run"
    return (f"\n> [!NOTE]\n> **Truncated** to fit a comment: {what} not shown. "
            f"The full report is in {where}.\n")


def _blocks(data: dict[str, Any], rows: int | None) -> Iterable[tuple[str, str]]:
    """(kind, text) in the order they are shown; the first is the headline, always shown."""
    spaces: dict[str, dict[str, int]] = data["spaces"]
    units, production = data["units"], set(data.get("productionSpaces", ()))
    dangers, findings = data["dangers"], data["findings"]
    conflicts, overrides = data["conflicts"], data.get("overrides", [])
    subject = "render" if data["title"] == "render" else f"`{data['title']}`"
    if not units and not findings:
        yield "head", f"{MARKER}\n### gitops: {subject} changes nothing\n"
        return
    prod = f" ({len(production)} production)" if production else ""
    badges = [f"**{_counted(len(dangers), 'danger flag')}**" if dangers else "no danger flags"]
    if findings:
        badges.append(f"**{_counted(len(findings), 'problem')}: render would refuse**")
    if conflicts:
        badges.append(_counted(len(conflicts), "conflict") + " with local edits")
    if overrides:
        badges.append(_counted(len(overrides), "local override") + " made or undone")
    yield "head", (f"{MARKER}\n### gitops: {subject} changes {_counted(len(units), 'unit')} in "
                   f"{_counted(len(spaces), 'space')}{prod}\n\n{' · '.join(badges)}\n")

    flagged: dict[str, int] = {}
    for danger in dangers:
        flagged[danger["space"]] = flagged.get(danger["space"], 0) + 1
    names = sorted(spaces)
    shown = names if rows is None else names[:rows]
    yield "table row", ("\n| space | added | changed | removed | danger flags |\n"
                        "| --- | ---: | ---: | ---: | ---: |\n")
    for name in shown:
        c = spaces[name]
        star = " (production)" if name in production else ""
        yield "table row", (f"| `{name}`{star} | {c['added']} | {c['changed']} | {c['removed']} | "
                            f"{flagged.get(name, '')} |\n")
    if len(names) > len(shown):
        rest = names[len(shown):]
        total = {k: sum(spaces[n][k] for n in rest) for k in ("added", "changed", "removed")}
        yield "table row", (f"| … {_counted(len(rest), 'more space')} | {total['added']} | "
                            f"{total['changed']} | {total['removed']} | "
                            f"{sum(flagged.get(n, 0) for n in rest) or ''} |\n")

    yield from _grouped("danger flag", "Danger flags", ["flag", "unit", "detail"],
                        [{**d, "flag": f"`{d['flag']}`"} for d in dangers])
    yield from _grouped("problem", "What the secret guard and the schema find",
                        ["rule", "unit", "path", "message"], findings)
    yield from _grouped("conflict", "Conflicts with local edits (the kept value wins)",
                        ["unit", "field", "upstream", "local", "kept"],
                        [{**c, "space": str(c["unit"]).split("/", 1)[0],
                          "unit": str(c["unit"]).split("/", 1)[-1]} for c in conflicts])
    yield from _grouped("local override", "Local overrides made or undone",
                        ["unit", "field", "change", "generated", "before", "after"], overrides)

    yield from _details(units)


def _grouped(kind: str, title: str, columns: list[str], items: list[dict[str, Any]]
             ) -> Iterable[tuple[str, str]]:
    """A table of ``items``: the rows equal but for their space are one row naming the spaces."""
    if not items:
        return
    groups: dict[tuple[str, ...], list[str]] = {}
    for item in items:
        key = tuple(_cell(item.get(c), code=c not in _PROSE) for c in columns)
        groups.setdefault(key, []).append(str(item.get("space", "")))
    head = "| " + " | ".join(columns) + " | spaces |\n|" + " --- |" * (len(columns) + 1) + "\n"
    yield kind, f"\n#### {title}\n\n{head}"
    for key, spaces in groups.items():
        yield kind, "| " + " | ".join(key) + f" | {_spaces(spaces)} |\n"


def _details(units: list[dict[str, Any]]) -> Iterable[tuple[str, str]]:
    """Per space (spaces with the same change together): the fields, then the diff."""
    per_space: dict[str, list[dict[str, Any]]] = {}
    for unit in units:
        per_space.setdefault(unit["space"], []).append(unit)
    groups: dict[tuple[str, ...], list[str]] = {}
    for space, changes in per_space.items():
        key = tuple(_same(space, c) for c in changes)
        groups.setdefault(key, []).append(space)
    for spaces in groups.values():
        changes = per_space[spaces[0]]
        counts = {k: sum(1 for c in changes if c["change"] == k) for k in ("added", "changed", "removed")}
        what = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        label = f"<code>{spaces[0]}</code>" if len(spaces) == 1 else \
            f"<code>{spaces[0]}</code> and {_counted(len(spaces) - 1, 'more space')}, the same change"
        lines = [f"\n<details><summary>{label}: {what}</summary>\n\n"]
        if len(spaces) > 1:
            lines.append(f"Spaces: {_spaces(spaces, 50)}\n\n")
        for change in changes:
            lines.append(f"- `{change['unit']}` {change['change']}")
            fields = change.get("fields") or []
            if fields:
                lines.append(": " + "; ".join(
                    f"`{f['field']}` {_cell(f['before'])} → {_cell(f['after'])}" for f in fields[:10]))
                if len(fields) > 10:
                    lines.append(f"; and {len(fields) - 10} more fields")
            lines.append("\n")
        text = "".join(c["diff"] for c in changes)
        fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", text)), default=0))
        lines.append(f"\n{fence}diff\n{text}{'' if text.endswith(chr(10)) else chr(10)}{fence}\n\n</details>\n")
        yield "diff", "".join(lines)


def _same(space: str, change: dict[str, Any]) -> str:
    """A unit's change with its space's name taken out, to find spaces with the same change."""
    return f"{change['unit']}\0{change['change']}\0" + str(change["diff"]).replace(space, "\0")


def _spaces(names: list[str], most: int = 5) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:most] if n)
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _cell(value: Any, code: bool = True) -> str:
    """A value as a table cell: one line, no pipe, at most _CELL characters, as code."""
    if value is None:
        return "–"
    text = value if isinstance(value, str) else str(json.dumps(value))
    text = " ".join(text.split())
    if len(text) > _CELL:
        text = text[:_CELL - 1] + "…"
    text = text.replace("|", "\\|")
    return f"`{text}`" if code and "`" not in text else text


def _counted(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"
