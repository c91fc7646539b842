"""``gitops history`` and ``gitops audit``: the repo's commits read back as revisions and changes.

Revision N of a unit is the N-th commit (oldest first) of main's history that touched its file,
as ``git log -- spaces/S/U.yaml`` counts them. What each commit did, who and why, comes from its
trailers (``generator.trailers``); a commit made by hand, without them, is shown as operation
``git`` with the spaces and units its changed paths name. ``resolve_revision`` is the one
place a revision given by a person (a number as ``history`` counts them, or a commit) becomes a
commit: ``unit get --revision``, ``unit diff`` and ``apply --revision`` use it. Plain data
out, no printing.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from generator import durations, state, trailers
from generator.errors import GitopsError, NotFoundError, known
from generator.model import UnitRef, check_name
from generator.operations import units
from generator.operations.fleet import Fleet
from generator.snapshot import Commit, Snapshot

if TYPE_CHECKING:
    from generator.store import Store

# A revision number, as `gitops history` counts them; anything longer is a commit (git
# abbreviates a sha to 7 characters at least, so a short all-digit sha never reads as one).
_NUMBER = re.compile(r"-?[0-9]{1,6}")


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
    commits = _commits(fleet, UnitRef(check_name("space", space), check_name("unit", unit)))
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


def _see_history(ref: UnitRef) -> str:
    return f"see `gitops history {ref.unit} --space {ref.space}`"


def _commits(source: Fleet | Snapshot, ref: UnitRef) -> list[Commit]:
    """The commits that touched the unit's file, newest first; none is an error: the unit
    never existed (from a fleet: an unknown space or unit gets the list of known ones)."""
    commits = (source.store if isinstance(source, Fleet) else source).log(state.unit_path(ref))
    if not commits:
        if isinstance(source, Fleet):
            source.unit_ref(ref.space, ref.unit)
        raise NotFoundError(f"{ref} never existed: no commit has {state.unit_path(ref)}",
                            f"see `gitops unit list --space {ref.space}`")
    return commits


def revision(store: Snapshot, ref: UnitRef, number: int) -> tuple[int, Commit, int]:
    """Revision ``number`` of a unit (negative: counted back from the current one, -1 = the
    one before it) as (its number, its commit, the current revision number)."""
    commits = _commits(store, ref)
    count = len(commits)
    wanted = _counted(number, count)
    if wanted is None:
        raise NotFoundError(f"{ref} has no revision {number} (its revisions are 1..{count}; "
                            "-1 is the one before the current)", _see_history(ref))
    return wanted, commits[count - wanted], count


def _counted(number: int, count: int) -> int | None:
    """Revision ``number`` of ``count`` (1 the oldest; negative counts back from the newest,
    -1 the one before it) as 1..count; None when there is no such revision.

    >>> _counted(2, 5), _counted(-1, 5), _counted(0, 5), _counted(-5, 5), _counted(6, 5)
    (2, 4, None, None, None)
    """
    wanted = count + number if number < 0 else number
    return wanted if number != 0 and 1 <= wanted <= count else None


def revision_number(rev: str) -> int | None:
    """``rev`` as a revision number, or None when it names a commit (a sha, tag, branch).

    >>> revision_number("-1"), revision_number("12"), revision_number("1234567"), revision_number("v1.4")
    (-1, 12, None, None)
    """
    return int(rev) if _NUMBER.fullmatch(rev.strip()) else None


def space_revision(store: Snapshot, space: str, number: int) -> tuple[int, Commit]:
    """Revision ``number`` of a space, as (its number, its commit): the commits that changed
    ``spaces/S/`` numbered as a unit's revisions are (``apply --revision N`` without --unit)."""
    commits = store.log(f"{state.SPACES_DIR}/{check_name('space', space)}/")
    wanted = _counted(number, len(commits))
    if wanted is None:
        raise NotFoundError(f"space {space} has no revision {number} (its revisions are 1..{len(commits)}, "
                            f"the commits that changed {state.SPACES_DIR}/{space}/; -1 is the one before "
                            "the current)", f"see `gitops audit --space {space}`")
    return wanted, commits[len(commits) - wanted]


def resolve_revision(source: Fleet | Snapshot, space: str, unit: str, rev: str | int) -> str:
    """The commit of a unit's revision ``rev``: a number as ``gitops history`` counts them (1
    created it; negative counts back from the newest, -1 the one before it), or a commit (any
    git revision: a sha of 7 or more digits, HEAD~2, a tag, a branch). A unit that never
    existed, a number it has no revision for, or a rev that names no commit is a
    NotFoundError whose hint is ``gitops history``."""
    store = source.store if isinstance(source, Fleet) else source
    ref = UnitRef(check_name("space", space), check_name("unit", unit))
    _commits(source, ref)
    if isinstance(rev, int) or _NUMBER.fullmatch(rev.strip()):
        return revision(store, ref, int(rev))[1].id
    commit = store.resolve(rev)
    if commit is None:
        raise NotFoundError(f"{rev!r} is neither a revision number of {ref} nor a commit",
                            _see_history(ref))
    return commit


class Version(NamedTuple):
    """A unit as of one commit: its revision number then (0: it had none yet), the commit,
    and its text (None: no file then)."""

    number: int
    commit: str
    text: str | None

    def data(self) -> dict[str, Any]:
        return {"revision": self.number, "commit": self.commit, "exists": self.text is not None}


def version(store: Snapshot, ref: UnitRef, commit: str) -> Version:
    path = state.unit_path(ref)
    then = store.view(commit)
    blob = then.blobs_at_head([path]).get(path)
    return Version(then.revisions(path), commit, store.read_blob(blob) if blob else None)


def unit_at(fleet: Fleet, space: str, unit: str, rev: str) -> dict[str, Any]:
    """``gitops unit get --revision``: the unit as it was at revision ``rev`` (see
    ``resolve_revision``), as ``unit get`` shows it: labels and upstream from that commit's
    records, ``revision`` its number then."""
    commit = resolve_revision(fleet, space, unit, rev)
    then = Fleet.load(fleet.store.view(commit))
    if space not in then.spaces or unit not in then.spaces[space].units:
        ref = UnitRef(space, unit)
        raise NotFoundError(f"revision {rev} of {ref} deleted it (commit {commit[:10]})"
                            if _NUMBER.fullmatch(rev.strip()) else
                            f"{ref} did not exist at {rev} (commit {commit[:10]})",
                            f"pick a revision that has it: {_see_history(ref)}")
    return units.get_unit(then, space, unit)


class UnitDiff(NamedTuple):
    """A unit between two revisions: each field that differs (masked) and the unified diff
    (masked)."""

    space: str
    unit: str
    before: Version | None  # None: the revision before the first (the unit did not exist)
    after: Version
    fields: list[dict[str, Any]]
    diff: str

    @property
    def change(self) -> str:
        old = self.before.text if self.before else None
        if old == self.after.text:
            return "unchanged"
        return "added" if old is None else "removed" if self.after.text is None else "changed"

    def data(self) -> dict[str, Any]:
        return {"space": self.space, "unit": self.unit,
                "from": self.before.data() if self.before else None, "to": self.after.data(),
                "change": self.change, "fields": self.fields, "diff": self.diff}


def unit_diff(fleet: Fleet, space: str, unit: str, from_rev: str | None = None,
              to_rev: str | None = None) -> UnitDiff:
    """``gitops unit diff``: the unit between revisions ``from_rev`` and ``to_rev`` (see
    ``resolve_revision``); ``to_rev`` defaults to the newest revision, ``from_rev`` to the
    revision before ``to_rev`` (none before revision 1: the whole unit is added)."""
    from generator.operations import mutation  # the diff's redaction and parsing: not for listings
    from generator.operations.preview import field_changes

    ref = UnitRef(check_name("space", space), check_name("unit", unit))
    store = fleet.store
    to = resolve_revision(fleet, space, unit, to_rev) if to_rev is not None else _commits(fleet, ref)[0].id
    after = version(store, ref, to)
    if after.number == 0:
        raise NotFoundError(f"{ref} had no revision yet at {to_rev} (commit {to[:10]})", _see_history(ref))
    if from_rev is not None:
        before: Version | None = version(store, ref, resolve_revision(fleet, space, unit, from_rev))
    else:
        older = store.log(state.unit_path(ref), rev=to)[1:2]
        before = version(store, ref, older[0].id) if older else None
    old = before.text if before else None
    path = state.unit_path(ref)
    parsed = (mutation.as_data(old, path), mutation.as_data(after.text, path))
    fields = field_changes(*parsed) if old is not None and after.text is not None else []
    return UnitDiff(space, unit, before, after, fields,
                    mutation.unit_diff(path, old, after.text, fleet.settings.allow, parsed))


def audit(store: Store, space: str | None = None, unit: str | None = None,
          since: str | None = None, author: str | None = None) -> list[dict[str, Any]]:
    """Every change to main, newest first: who, when, what operation, which spaces and units,
    why. Filters: a space glob, a unit (``U`` or ``S/U``), a time, an author substring."""
    after = parse_since(since) if since else None
    rows = []
    for commit in store.log(since=after.isoformat() if after else None):
        if after is not None and commit.time < after.timestamp():
            continue
        if author and author.lower() not in f"{commit.author} <{commit.email}>".lower():
            continue
        row = described(store, commit)
        if space and not any(fnmatch.fnmatchcase(s, space) for s in row["spaces"]):
            continue
        if unit and not _names_unit(row["units"], unit):
            continue
        rows.append(row)
    if (space and not rows) or unit:
        _check_named(store, rows, space, unit)
    return rows


def described(store: Snapshot, commit: Commit) -> dict[str, Any]:
    """One commit as the audit trail shows it: commit, time, author, operation, spaces,
    units, changeset, reason, message; from its trailers, or (a commit made by hand)
    operation ``git`` with the units its changed files name."""
    change = trailers.parse(commit.message)
    if change is None:
        spaces, names = _paths_named(store, commit)
        operation, reason, changeset = "git", None, None
    else:
        spaces, names = list(change.spaces), list(change.units)
        operation, reason, changeset = change.operation, change.reason, change.changeset
    return {"commit": commit.id, "time": commit.iso_time, "author": f"{commit.author} <{commit.email}>",
            "operation": operation, "spaces": spaces, "units": names,
            "changeset": changeset, "reason": reason, "message": _first_line(commit)}


def _check_named(store: Store, rows: list[dict[str, Any]], space: str | None, unit: str | None) -> None:
    """A space or unit that is not in the repo now, and that no change names, is a typo, not
    an empty answer (a unit deleted since is still found by the changes that name it)."""
    refs = [ref for ref in map(state.ref_of, store.tree(state.SPACES_DIR)) if ref]
    spaces = sorted({ref.space for ref in refs})
    if space and not rows and not any(fnmatch.fnmatchcase(s, space) for s in spaces):
        raise NotFoundError(f"no space matches {space!r}; known spaces: {known(spaces, space)}",
                            "see `gitops space list`")
    if unit:
        in_space, _, name = unit.rpartition("/")
        named = {entry for row in rows for entry in row["units"] if not entry.endswith("/*")}
        if not any(ref.unit == name and (not in_space or ref.space == in_space) for ref in refs) \
                and not any(_names_unit([entry], unit) for entry in named):
            raise NotFoundError(f"no unit {unit!r} in the repo, and no change names it",
                                "see `gitops unit list --space '*'`")


def _paths_named(store: Snapshot, commit: Commit) -> tuple[list[str], list[str]]:
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
