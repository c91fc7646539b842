"""The changesets' refs: each open changeset is the branch ``changeset/NAME``, and the one
``gitops changeset use`` made current is the repo's git config ``gitops.changeset``.

Knows branch names and that setting; the verbs on changesets are changeset.py's, the
transaction that records an edit on a changeset's branch is mutation.py's. Writes nothing.
"""

from __future__ import annotations

from generator.errors import NotFoundError, RepoError
from generator.model import check_name
from generator.store import Store

CHANGESET_BRANCHES = "refs/heads/changeset/"
CURRENT_CHANGESET = "gitops.changeset"  # the repo's git config: the changeset `use` made current


def changeset_store(store: Store, name: str) -> Store:
    """The branch of an open changeset, as a store whose commits move only that branch."""
    check_name("changeset", name)
    if store.checked_out() == CHANGESET_BRANCHES + name:
        raise RepoError(f"changeset/{name} is the branch checked out in {store.root}",
                        "check out main (`git checkout main`): gitops keeps changesets off the work tree")
    branch = store.branch(CHANGESET_BRANCHES + name)
    if branch.head() is None:
        opened = sorted(ref.removeprefix(CHANGESET_BRANCHES) for ref in store.refs(CHANGESET_BRANCHES))
        raise NotFoundError(f"changeset {name!r} is not open; open changesets: "
                            f"{', '.join(opened) or '(none)'}",
                            f"start it with `gitops changeset create {name}`, or record on main "
                            "again with `gitops changeset use --none`")
    return branch


def chosen_changeset(store: Store, given: str | None) -> str | None:
    """The changeset a mutating command records on: ``--changeset``, else the current one."""
    return given if given is not None else store.get_setting(CURRENT_CHANGESET)
