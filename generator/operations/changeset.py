"""``gitops changeset``: a named group of edits on a branch of its own, landed as one commit.

A changeset is the git branch ``changeset/NAME``. ``create`` starts it from main with an empty
commit that carries the name, the reason and who opened it (so the branch says what it is
wherever it is pushed). Mutating commands given the changeset commit there (see
``mutation.mutate``); main and the work tree do not move. ``apply`` carries everything the
branch changed since it left main onto main as ONE commit (``Gitops-Changeset: NAME``), merging
unit by unit when main moved meanwhile; a conflict lands nothing. ``abort`` drops the branch.
Either way the branch's last commit stays reachable under ``refs/gitops/applied|aborted/NAME``.

Plain data out, no printing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generator import state, trailers
from generator.errors import GitopsError, NotFoundError, RepoError
from generator.model import Conflict, check_name
from generator.kubectl import Kubectl
from generator.operations import branches, carry, mutation
from generator.operations.apply import AllOrNothing, Report
from generator.operations.fleet import settings
from generator.operations.derive import Plan
from generator.snapshot import Commit, Snapshot
from generator.store import Store

APPLIED = "refs/gitops/applied/"
ABORTED = "refs/gitops/aborted/"


class ChangesetConflict(GitopsError):
    """Main changed a field the changeset changes, differently: nothing was landed."""

    def __init__(self, message: str, hint: str, conflicts: list[Conflict]) -> None:
        super().__init__(message, hint)
        self.conflicts = conflicts


@dataclass(frozen=True)
class Opened:
    """An open changeset: its branch, where it left main, and its commits since."""

    name: str
    tip: str
    base: str | None
    commits: list[Commit]  # newest first, the opening commit last

    @property
    def opening(self) -> trailers.Change | None:
        """The trailers of the commit ``create`` made (None for a branch made by hand)."""
        for commit in reversed(self.commits):
            change = trailers.parse(commit.message)
            if change is not None and change.operation == "changeset-create":
                return change
        return None

    @property
    def edits(self) -> list[Commit]:
        return [c for c in self.commits if len(c.parents) < 2
                and (trailers.parse(c.message) or _NONE).operation != "changeset-create"]


_NONE = trailers.Change("", "", (), ())


def branch(name: str) -> str:
    return branches.CHANGESET_BRANCHES + check_name("changeset", name)


def _open(store: Store, name: str) -> Opened:
    view = branches.changeset_store(store, name)
    tip = view.head()
    assert tip is not None
    main = store.head()
    base = store.merge_base(main, tip) if main else None
    commits = store.log(rev=f"{base}..{tip}" if base else tip)
    return Opened(name, tip, base, commits)


def current(store: Store) -> str | None:
    return store.get_setting(branches.CURRENT_CHANGESET)


# --- create, use, abort ------------------------------------------------------------------


def create(store: Store, name: str, reason: str | None = None, author: str | None = None) -> str:
    """Open ``changeset/NAME`` at main's commit; returns the opening commit."""
    ref = branch(name)
    with store.lock():
        main = store.head()
        if main is None:
            raise RepoError(f"{store.root} has no commit yet", "run `gitops render` first")
        view = store.branch(ref)
        if view.head() is not None:
            raise GitopsError(f"changeset {name!r} is already open",
                              f"see `gitops changeset show {name}`, or pick another name")
        change = trailers.Change(f"changeset {name}: opened", "changeset-create", (), (),
                                 reason, name)
        commit = view.commit({}, trailers.message(change), author=author, allow_empty=True,
                             start=main)
        assert commit is not None
        return commit


def use(store: Store, name: str | None) -> None:
    """Make ``name`` the changeset mutating commands record on (None: back to main)."""
    if name is not None:
        branches.changeset_store(store, name)
    store.set_setting(branches.CURRENT_CHANGESET, name)


def abort(store: Store, name: str) -> dict[str, Any]:
    """Drop the changeset's branch; main does not change. Its commits stay reachable."""
    with store.lock():
        opened = _open(store, name)
        store.update_refs(_closing(store, opened, ABORTED), f"changeset {name}: aborted")
        _forget(store, name)
        return {"changeset": name, "aborted": True, "tip": opened.tip,
                "kept": ABORTED + name, "edits": len(opened.edits)}


def _closing(store: Store, opened: Opened, keep: str) -> dict[str, tuple[str | None, str | None]]:
    """The ref moves that close a changeset: the branch goes, ``keep``+NAME takes its tip."""
    return {
        branch(opened.name): (None, opened.tip),
        keep + opened.name: (opened.tip, store.resolve(keep + opened.name)),
    }


def _forget(store: Store, name: str) -> None:
    if current(store) == name:
        store.set_setting(branches.CURRENT_CHANGESET, None)


# --- reading -------------------------------------------------------------------------------


def _summary(store: Store, opened: Opened,
             changed: dict[str, tuple[str | None, str | None]] | None = None) -> dict[str, Any]:
    """What `changeset list` shows of one; ``changed``: its unit files' diff, when known."""
    if changed is None:
        changed = store.changed(opened.base, opened.tip, state.SPACES_DIR)
    opening = opened.opening
    first = opened.commits[-1] if opened.commits else None
    main = store.head()
    if main and store.is_ancestor(opened.tip, main):
        status = "merged"  # landed by a merge of the branch (a pull request): nothing to apply
    elif main and opened.base != main:
        status = "open, main moved"  # apply merges unit by unit
    else:
        status = "open"
    return {
        "changeset": opened.name,
        "status": status,
        "reason": opening.reason if opening else None,
        "openedBy": f"{first.author} <{first.email}>" if first else None,
        "opened": first.iso_time if first else None,
        "base": opened.base,
        "tip": opened.tip,
        "edits": len(opened.edits),
        "units": sorted(str(ref) for ref in map(state.ref_of, changed) if ref),
        "current": current(store) == opened.name,
    }


def list_changesets(store: Store) -> list[dict[str, Any]]:
    """Every open changeset: status, reason, who opened it, edits and units touched."""
    names = sorted(ref.removeprefix(branches.CHANGESET_BRANCHES)
                   for ref in store.refs(branches.CHANGESET_BRANCHES))
    return [_summary(store, _open(store, name)) for name in names]


def show(store: Store, name: str) -> dict[str, Any]:
    """One changeset: its summary, its edits (commits) and the diff of every unit it changes."""
    opened = _open(store, name)
    changed = store.changed(opened.base, opened.tip, state.SPACES_DIR)
    allowed = settings(store).allow
    diffs = [mutation.unit_diff(path, store.read_blob(before) if before else None,
                                store.read_blob(after) if after else None, allowed)
             for path, (before, after) in sorted(changed.items())]
    edits = []
    for commit in opened.edits:
        change = trailers.parse(commit.message)
        edits.append({"commit": commit.id, "time": commit.iso_time,
                      "author": f"{commit.author} <{commit.email}>",
                      "operation": change.operation if change else None,
                      "message": commit.message.splitlines()[0] if commit.message else "",
                      "reason": change.reason if change else None})
    return {**_summary(store, opened, changed), "commits": edits, "diff": "".join(diffs)}


# --- apply ---------------------------------------------------------------------------------


Gate = Callable[[Store, str, bool], None]


def apply_deployed(store: Store, kubectl: Kubectl, name: str, reason: str | None = None,
                   author: str | None = None, dry_run: bool = False, wait: bool = True,
                   timeout: str = "60s", progress: Callable[[str], None] | None = None,
                   ) -> tuple[mutation.Outcome, Report | None]:
    """``changeset apply --deploy``: land it through the all-or-nothing deploy gate
    (``apply.AllOrNothing``); the outcome, and the deploy's report (None: nothing to deploy).
    A deploy that fails raises ApplyError (with its report) and nothing lands."""
    gate = AllOrNothing(kubectl, wait, timeout, progress)
    outcome = apply(store, name, reason, author, dry_run, gate)
    return outcome, gate.report


def apply(store: Store, name: str, reason: str | None = None, author: str | None = None,
          dry_run: bool = False, gate: Gate | None = None) -> mutation.Outcome:
    """Land every edit of the changeset on main as one commit, merged unit by unit with what
    main did meanwhile; any conflict raises ChangesetConflict and lands nothing. The branch is
    closed in the same ref transaction as main moves (both, or neither).

    ``gate(store, commit, dry_run)`` (``--deploy``) sees the commit before it lands, under the
    lock; if it raises, nothing lands. On a dry run it sees that commit made but never landed."""
    with store.lock():
        mutation.check_clean(store)
        opened = _open(store, name)
        if store.head() is None:
            raise RepoError(f"{store.root} has no commit yet", "run `gitops render` first")
        plan = carry.carry(store, opened.base, opened.tip, settings(store).kubernetes_version)
        if plan.conflicts:
            raise ChangesetConflict(
                f"changeset {name}: {mutation.counted(len(plan.conflicts), 'conflict')} with what "
                "main changed meanwhile; nothing was applied",
                f"edit the changeset so it agrees with main (gitops unit update ... --changeset {name}), "
                "then apply again; or abort it", plan.conflicts)
        if dry_run:
            if gate is not None and plan.changes:
                gate(store, store.prepare(plan.changes, f"changeset {name} (dry run)", author), True)
            return mutation.Outcome(None, plan, dry_run=True)
        opening = opened.opening
        why = reason or (opening.reason if opening else None)
        edits = "\n".join(f"edit {c.id[:10]} {c.author} <{c.email}>: {c.message.splitlines()[0]}"
                          for c in reversed(opened.edits) if c.message)
        change = trailers.Change(
            f"changeset {name}: {mutation.counted(len(plan.units), 'unit')} in "
            f"{mutation.counted(len(plan.spaces), 'space')}", "changeset", tuple(plan.spaces),
            tuple(trailers.units_field(plan.units, plan.all_units)), why, name)
        moves = _closing(store, opened, APPLIED)
        before_landing = None if gate is None else (lambda new: gate(store, new, False))
        commit = store.commit(plan.changes, trailers.message(change, edits), author=author,
                              also=moves, gate=before_landing)
        if commit is None:  # nothing to land (already merged, or no edits): just close it
            store.update_refs(moves, f"changeset {name}: closed")
        _forget(store, name)
        return mutation.Outcome(commit, plan)


def landed(store: Snapshot, name: str) -> tuple[Commit, str]:
    """The commit of main that landed the changeset (its apply, or the merge of its branch)
    and that commit's parent on main: what ``rollback --changeset`` undoes."""
    check_name("changeset", name)
    for commit in store.log(first_parent=True):
        change = trailers.parse(commit.message)
        if change is not None and change.operation == "changeset" and change.changeset == name:
            return commit, commit.parents[0]
        if len(commit.parents) > 1:
            merged = store.log(rev=f"{commit.parents[0]}..{commit.parents[1]}")
            if any((trailers.parse(c.message) or _NONE).changeset == name for c in merged):
                return commit, commit.parents[0]
    raise NotFoundError(f"changeset {name!r} was never applied to main",
                        "see `gitops audit` for what was, or `gitops changeset list` for open ones")


def plan_revert(store: Snapshot, name: str, version: str) -> tuple[Plan, Commit]:
    """``rollback --changeset NAME``: undo what it landed, merged with what came after."""
    commit, parent = landed(store, name)
    plan = carry.carry(store, commit.id, parent, version)
    if plan.conflicts:
        raise ChangesetConflict(
            f"rollback of changeset {name}: {mutation.counted(len(plan.conflicts), 'conflict')} "
            "with later changes to the same fields; nothing was changed",
            "roll back the units one by one (gitops rollback UNIT --space S --revision N)",
            plan.conflicts)
    return plan, commit
