"""Running a change to the manifests repo: the same steps for every mutating command.

Under the repo's lock: refuse uncommitted edits to the tool's files, load the fleet, plan,
then either return the plan (``--dry-run``) or commit it as one commit whose message carries
the trailers (and the conflicts, one per line). Nothing is written before the plan is whole.

Given a changeset, the same happens on the changeset's branch (``changeset/NAME``): the fleet
is read from the branch and the commit moves only the branch; main and the work tree stay.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from generator import guard, state, trailers, yamlio
from generator.errors import GitopsError, RepoError
from generator.model import Conflict
from generator.operations import select
from generator.operations.branches import changeset_store, chosen_changeset
from generator.operations.fleet import Fleet, settings
from generator.operations.derive import Plan
from generator.store import Store



@dataclass(frozen=True)
class Edit:
    """How a change lands: why (the Gitops-Reason trailer), by whom ('Name <email>'; default
    git's), as a dry run or for real, and on which changeset (None: the one `changeset use`
    made current, else main)."""

    reason: str | None = None
    author: str | None = None
    dry_run: bool = False
    changeset: str | None = None


@dataclass(frozen=True)
class Outcome:
    commit: str | None  # None: nothing changed, or a dry run
    plan: Plan
    dry_run: bool = False
    changeset: str | None = None  # the changeset the commit went to (main did not move)
    critical: tuple[str, ...] = ()  # spaces the plan touches that are production

    def scope(self) -> str:
        """Units per space, production marked: ``15 units in 4 spaces: traderx-dev 3, ...``."""
        per: dict[str, int] = {}
        for ref in self.plan.units:
            per[ref.space] = per.get(ref.space, 0) + 1
        shown = ", ".join(f"{space} {n}" + (" (prod)" if space in self.critical else "")
                          for space, n in per.items())
        prod = sum(space in self.critical for space in per)
        return (f"{counted(len(self.plan.units), 'unit')} in {counted(len(per), 'space')}"
                + (f" ({prod} production)" if prod else "") + (f": {shown}" if shown else ""))


def check_clean(store: Store, *prefixes: str) -> None:
    """Refuse uncommitted edits under ``prefixes`` (none given: every space and ``.gitops``)."""
    dirty = store.dirty(*(prefixes or (state.SPACES_DIR, ".gitops")))
    if dirty:
        raise RepoError(
            f"uncommitted changes in the manifests repo: {', '.join(dirty[:3])}"
            + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else ""),
            "commit them (they become local edits) or discard them with `git checkout -- PATH`",
        )


def shown(conflict: Conflict) -> Conflict:
    """A conflict as output and commit messages show it: values the secret guard would refuse
    masked."""
    return dataclasses.replace(conflict, origin=guard.redact_value(conflict.path, conflict.origin),
                               update=guard.redact_value(conflict.path, conflict.update),
                               local=guard.redact_value(conflict.path, conflict.local))


def conflict_rows(conflicts: list[Conflict]) -> list[dict[str, object]]:
    """Conflicts as rows (a table, -o json), values masked as ``shown`` masks them."""
    return [{"unit": str(c.ref), "field": c.path, "origin": c.origin, "upstream": c.update,
             "local": c.local, "kept": c.chosen} for c in map(shown, conflicts)]


def conflict_line(conflict: Conflict) -> str:
    conflict = shown(conflict)
    kept = "local" if conflict.chosen == "local" else "upstream"
    return (f"conflict {conflict.ref}: {conflict.path}: origin {json.dumps(conflict.origin)}, "
            f"upstream {json.dumps(conflict.update)}, local {json.dumps(conflict.local)}; kept {kept}")


def mutate(store: Store, build: Callable[[Fleet], Plan], operation: str,
           summary: Callable[[Plan], str], edit: Edit = Edit(),
           clean: Callable[[Store], None] = check_clean) -> Outcome:
    """The transaction every mutating verb runs: under the lock, load the fleet, plan with
    ``build``, and commit the plan as one commit (or return it, for a dry run); on the edit's
    changeset's branch when it has one. ``clean`` refuses uncommitted edits (render passes the
    answer of the check it ran beside its look at the config dir)."""
    reason, author, dry_run = edit.reason, edit.author, edit.dry_run
    changeset = chosen_changeset(store, edit.changeset)
    with store.lock():
        target = store
        if changeset is not None:
            target = changeset_store(store, changeset)
        else:
            clean(store)
        fleet = Fleet.load(target)
        plan = build(fleet)
        if dry_run:
            critical = tuple(s for s in plan.spaces if s in fleet.spaces and select.critical(fleet.spaces[s]))
            return Outcome(None, plan, dry_run=True, changeset=changeset, critical=critical)
        change = trailers.Change(plan.summary or summary(plan), operation, tuple(plan.spaces),
                                 tuple(trailers.units_field(plan.units, plan.all_units)),
                                 reason, changeset, plan.restored)
        body = "\n".join([*plan.notes, *(conflict_line(c) for c in plan.conflicts)])
        outside = [p for p in plan.changes if not p.startswith((state.SPACES_DIR + "/", ".gitops/"))]
        commit = target.commit(plan.changes, trailers.message(change, body), author=author,
                               head_blobs=None if outside else fleet.blobs)
        return Outcome(commit, plan, changeset=changeset)


def counted(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def unit_diffs(plan: Plan, store: Store) -> list[tuple[str, str]]:
    """(path, unified diff) for every unit the plan changes: what a dry run shows."""
    allowed = settings(store).allow
    out = []
    for path, new in sorted(plan.changes.items()):
        if not path.startswith(state.SPACES_DIR + "/"):
            continue
        blob = plan.before.get(path)
        out.append((path, unit_diff(path, store.read_blob(blob) if blob else None, new, allowed)))
    return out


def unit_diff(path: str, old: str | None, new: str | None, allowed: Sequence[guard.Allowed] = (),
              parsed: tuple[Any, Any] | None = None) -> str:
    """The unified diff of one unit file (None: absent), with every value the secret guard
    would refuse masked: a diff never shows a secret, not even one being removed.
    ``parsed``: (old, new) as data, when the caller has parsed them already."""
    if parsed is None:
        parsed = (as_data(old, path), as_data(new, path))
    ref = state.ref_of(path)
    space, unit = (ref.space, ref.unit) if ref else ("", "")
    values = [f.raw for data in parsed if data is not None
              for f in guard.scan(data, space, unit, allowed)]
    lines = difflib.unified_diff((old or "").splitlines(keepends=True), (new or "").splitlines(keepends=True),
                                 f"a/{path}" if old is not None else "/dev/null",
                                 f"b/{path}" if new is not None else "/dev/null")
    text = "".join(lines)
    return guard.redact_text(text, values) if values else text


def as_data(text: str | None, path: str) -> Any:
    """A unit's text as data, for a look (None: absent, or not YAML)."""
    if text is None:
        return None
    try:
        return yamlio.load(text, path)
    except GitopsError:
        return None
