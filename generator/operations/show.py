"""``gitops show``: one commit of the manifests repo in gitops terms.

What the audit trail says about it (operation, author, time, reason, changeset, spaces, units:
``history.described``, so a commit made by hand is operation ``git`` here too), and what it
changed, unit by unit: added, removed, or changed with each field before and after, values the
secret guard would refuse masked (``preview.field_changes``). Reads only; no printing, and no
diff text: ``gitops unit diff`` gives one unit's.
"""

from __future__ import annotations

from typing import Any

from generator import state, trailers
from generator.errors import NotFoundError
from generator.operations import mutation
from generator.operations.history import described
from generator.operations.preview import field_changes
from generator.snapshot import Snapshot


def show(store: Snapshot, rev: str | None = None) -> dict[str, Any]:
    """Commit ``rev`` (default: HEAD, the newest change to main) as ``{commit, parent, time,
    author, operation, spaces, units, changeset, reason, restored, message, changes}``;
    ``changes``: per unit file it changed, ``{space, unit, change, fields}``, where ``change``
    is added, changed or removed and ``fields`` lists ``{field, before, after}``."""
    commit_id = store.resolve(rev or "HEAD")
    if commit_id is None:
        raise NotFoundError(f"{rev!r} is not a commit of {store.root}" if rev else
                            f"{store.root} has no commits yet",
                            "give a sha, HEAD~2, a tag or a branch (see `gitops audit`)")
    commit = store.log(rev=f"{commit_id}^!")[0]  # that commit alone, not its history
    parent = commit.parents[0] if commit.parents else None
    changes = []
    changed = store.changed(parent, commit.id, state.SPACES_DIR)
    for ref, path in sorted((ref, path) for ref, path in ((state.ref_of(p), p) for p in changed) if ref):
        old, new = changed[path]
        change = "added" if old is None else "removed" if new is None else "changed"
        fields = []
        if old is not None and new is not None:
            fields = field_changes(mutation.as_data(store.read_blob(old), path),
                                   mutation.as_data(store.read_blob(new), path))
        changes.append({"space": ref.space, "unit": ref.unit, "change": change, "fields": fields})
    said = trailers.parse(commit.message)
    return {**described(store, commit), "parent": parent,
            "restored": said.restored if said else None, "changes": changes}
