"""``gitops history`` and ``gitops audit``: the repo's commits read back as revisions and changes.

Revision N of a unit is the N-th commit (oldest first) of main's history that touched its file,
as ``git log -- spaces/S/U.yaml`` counts them. What each commit did, who and why, comes from its
trailers (``generator.trailers``); a commit made by hand, without them, is shown as operation
``git`` with the spaces and units its changed paths name. Plain data out, no printing.
"""

from __future__ import annotations

import fnmatch
from datetime import datetime, timedelta, timezone
from typing import Any

from generator import durations, state, trailers
from generator.errors import GitopsError, NotFoundError
from generator.model import UnitRef, check_name
from generator.operations.fleet import Fleet
from generator.snapshot import Commit, Snapshot
from generator.store import Store

def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``--since``: an ISO date or time, ``yesterday``/``today``, or ``N units [ago]`` / ``3d``.

    >>> now = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
    >>> parse_since("2026-11-20", now).isoformat()
    '2026-11-20T00:00:00+00:00'
    >>> parse_since("2 hours ago", now).isoformat()
    '2026-11-21T10:00:00+00:00'
    >>> parse_since("3d", now).isoformat()
    '2026-11-18T12:00:00+00:00'
    """
    now = now or datetime.now(timezone.utc)
    value = text.strip().lower()
    if value in ("today", "yesterday"):
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight - timedelta(days=1 if value == "yesterday" else 0)
    age = durations.seconds(value, ago=True)
    if age is not None:
        return now - timedelta(seconds=age)
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise GitopsError(f"--since {text!r} is not a date",
                          "write a date or time (2026-11-20, 2026-11-20T09:30) or an age "
                          "(2 hours ago, 3d, yesterday)") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _first_line(commit: Commit) -> str:
    return commit.message.splitlines()[0] if commit.message.strip() else ""


def history(fleet: Fleet, space: str, unit: str) -> list[dict[str, Any]]:
    """The unit's revisions, newest first: N, commit, time, author, operation, message,
    changeset, reason. A unit deleted since can still be asked about by name."""
    check_name("space", space)
    check_name("unit", unit)
    path = state.unit_path(UnitRef(space, unit))
    commits = fleet.store.log(path)
    if not commits:
        fleet.unit_ref(space, unit)  # the clear "not found" with the list of units
        raise NotFoundError(f"{space}/{unit} has no history", "see `gitops unit list`")
    rows = []
    for number, commit in zip(range(len(commits), 0, -1), commits):
        change = trailers.parse(commit.message)
        rows.append({
            "revision": number,
            "commit": commit.id,
            "time": commit.iso_time,
            "author": f"{commit.author} <{commit.email}>",
            "operation": change.operation if change else "git",
            "message": _first_line(commit),
            "changeset": change.changeset if change else None,
            "reason": change.reason if change else None,
        })
    return rows


def revision(store: Snapshot, ref: UnitRef, number: int) -> tuple[int, Commit, int]:
    """Revision ``number`` of a unit (negative: counted back from the current one, -1 = the
    one before it) as (its number, its commit, the current revision number)."""
    commits = store.log(state.unit_path(ref))
    count = len(commits)
    wanted = count + number if number < 0 else number
    if number == 0 or not 1 <= wanted <= count:
        raise NotFoundError(f"{ref} has no revision {number} (its revisions are 1..{count}; "
                            "-1 is the one before the current)", f"see `gitops history {ref.unit} "
                            f"--space {ref.space}`")
    return wanted, commits[count - wanted], count


def audit(store: Store, space: str | None = None, unit: str | None = None,
          since: str | None = None, author: str | None = None) -> list[dict[str, Any]]:
    """Every change to main, newest first: who, when, what operation, which spaces and units,
    why. Filters: a space glob, a unit (``U`` or ``S/U``), a time, an author substring."""
    after = parse_since(since) if since else None
    rows = []
    for commit in store.log(since=after.isoformat() if after else None):
        if after is not None and commit.time < after.timestamp():
            continue
        who = f"{commit.author} <{commit.email}>"
        if author and author.lower() not in who.lower():
            continue
        change = trailers.parse(commit.message)
        if change is None:
            spaces, units = _paths_named(store, commit)
            operation, reason, changeset = "git", None, None
        else:
            spaces, units = list(change.spaces), list(change.units)
            operation, reason, changeset = change.operation, change.reason, change.changeset
        if space and not any(fnmatch.fnmatchcase(s, space) for s in spaces):
            continue
        if unit and not _names_unit(units, unit):
            continue
        rows.append({"commit": commit.id, "time": commit.iso_time, "author": who,
                     "operation": operation, "spaces": spaces, "units": units,
                     "changeset": changeset, "reason": reason, "message": _first_line(commit)})
    if (space and not rows) or unit:
        _check_named(store, rows, space, unit)
    return rows


def _check_named(store: Store, rows: list[dict[str, Any]], space: str | None, unit: str | None) -> None:
    """A space or unit that is not in the repo now, and that no change names, is a typo, not
    an empty answer (a unit deleted since is still found by the changes that name it)."""
    refs = [ref for ref in map(state.ref_of, store.tree(state.SPACES_DIR)) if ref]
    spaces = sorted({ref.space for ref in refs})
    if space and not rows and not any(fnmatch.fnmatchcase(s, space) for s in spaces):
        raise NotFoundError(f"no space matches {space!r}; known spaces: {', '.join(spaces) or '(none)'}",
                            "see `gitops space list`")
    if unit:
        in_space, _, name = unit.rpartition("/")
        named = {entry for row in rows for entry in row["units"] if not entry.endswith("/*")}
        if not any(ref.unit == name and (not in_space or ref.space == in_space) for ref in refs) \
                and not any(_names_unit([entry], unit) for entry in named):
            raise NotFoundError(f"no unit {unit!r} in the repo, and no change names it",
                                "see `gitops unit list --space '*'`")


def _paths_named(store: Store, commit: Commit) -> tuple[list[str], list[str]]:
    """A hand-made commit: the spaces and units of the unit files it changed."""
    changed = store.changed(commit.parents[0] if commit.parents else None, commit.id,
                            state.SPACES_DIR)
    refs = sorted(ref for ref in map(state.ref_of, changed) if ref)
    return sorted({ref.space for ref in refs}), [str(ref) for ref in refs]


def _names_unit(units: list[str], wanted: str) -> bool:
    """Whether a Gitops-Units list names ``wanted`` (``U`` in any space, or ``S/U``)."""
    space, sep, name = wanted.rpartition("/")
    for entry in units:
        entry_space, _, entry_unit = entry.partition("/")
        if (not sep or fnmatch.fnmatchcase(entry_space, space)) and entry_unit in ("*", name):
            return True
    return False
