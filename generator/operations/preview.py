"""What a change would do to the manifests repo, for a reviewer: ``render --dry-run`` and
``gitops preview --base REF --head REF``.

From a Plan (nothing written) and the repo it would change, or from two commits of the repo:
per space, the units added, changed and removed with the fields each changes; the conflicts
with local edits (who wins); the local overrides a change introduces or removes; what the
secret guard and the schema find in what would be written; and the danger flags a reviewer
must not miss: a removal that prunes a live object, a change to a field the API server will not
change in place, replicas set to 0, a namespace change. Secret values are masked, in fields and
diffs alike.

Reads only; the presentation (table, JSON, markdown) is the CLI's and generator/markdown.py's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from generator import guard, merge, state
from generator.errors import NotFoundError
from generator.model import UnitRef
from generator.operations import lint, mutation, select, units
from generator.operations.lint import Problem
from generator.operations.fleet import Fleet
from generator.operations.derive import Plan
from generator.store import Store

# Fields the API server refuses to change on a live object: a change needs a delete and create.
IMMUTABLE = {
    "Deployment": ("spec.selector",),
    "StatefulSet": ("spec.selector", "spec.volumeClaimTemplates", "spec.serviceName",
                    "spec.podManagementPolicy"),
    "DaemonSet": ("spec.selector",),
    "Job": ("spec.selector", "spec.template"),
    "Service": ("spec.clusterIP", "spec.clusterIPs"),
    "PersistentVolumeClaim": ("spec.storageClassName", "spec.accessModes", "spec.volumeName"),
}


@dataclass(frozen=True)
class Danger:
    """Something a reviewer must see before the change lands."""

    space: str
    unit: str
    flag: str  # prune, immutable, zero-replicas, namespace
    detail: str

    def data(self) -> dict[str, str]:
        return {"space": self.space, "unit": self.unit, "flag": self.flag, "detail": self.detail}


@dataclass
class UnitChange:
    space: str
    unit: str
    change: str  # added, changed, removed
    fields: list[dict[str, Any]] = field(default_factory=list)  # {field, before, after}, masked
    diff: str = ""

    def data(self) -> dict[str, Any]:
        return {"space": self.space, "unit": self.unit, "change": self.change, "fields": self.fields,
                "diff": self.diff}


@dataclass
class Preview:
    title: str  # what is previewed: "render", or "abc1234..def5678"
    units: list[UnitChange]
    conflicts: list[dict[str, object]]
    dangers: list[Danger]
    findings: list[Problem] = field(default_factory=list)  # what render would refuse
    overrides: list[dict[str, Any]] = field(default_factory=list)  # local edits made or undone
    production: list[str] = field(default_factory=list)  # changed spaces labelled critical

    def spaces(self) -> dict[str, dict[str, int]]:
        """Per space: how many units are added, changed and removed."""
        out: dict[str, dict[str, int]] = {}
        for change in self.units:
            counts = out.setdefault(change.space, {"added": 0, "changed": 0, "removed": 0})
            counts[change.change] += 1
        return out

    def data(self) -> dict[str, Any]:
        return {"title": self.title, "spaces": self.spaces(), "productionSpaces": self.production,
                "units": [u.data() for u in self.units], "conflicts": self.conflicts,
                "dangers": [d.data() for d in self.dangers],
                "findings": [f.data() for f in self.findings], "overrides": self.overrides}


def preview(plan: Plan, store: Store, allowed: Sequence[guard.Allowed] = (),
            findings: Sequence[Problem] = (), critical: Callable[[str], bool] | None = None) -> Preview:
    """The reviewer's view of ``plan`` against the commit ``store`` is at; ``findings``: what
    the plan's checks found (a dry run collects them instead of stopping at the first);
    ``critical``: whether a space is production, as the plan leaves it."""
    changes = []
    for path, new in sorted(plan.changes.items()):
        ref = state.ref_of(path)
        if ref is not None:
            blob = plan.before.get(path)
            changes.append((ref, store.read_blob(blob) if blob else None, new))
    found, dangers = _changes(changes, allowed)
    production = sorted({c.space for c in found if critical and critical(c.space)})
    return Preview("render", found, mutation.conflict_rows(plan.conflicts), dangers,
                   _unique(findings), [], production)


def compare(store: Store, base: str, head: str = "HEAD") -> Preview:
    """``gitops preview``: what the commits from ``base`` to ``head`` change (a changeset
    branch, a hand-made pull request): units and fields, local overrides introduced or
    removed, danger flags, and what the schema and the secret guard find in ``head``."""
    ids = []
    for option, rev in (("--base", base), ("--head", head)):
        commit = store.resolve(rev)
        if commit is None:
            raise NotFoundError(f"{option} {rev}: no such commit in {store.root}",
                                "give a branch, tag or commit of the manifests repo "
                                "(git -C REPO log --oneline)")
        ids.append(commit)
    before, after = Fleet.load(store.view(ids[0])), Fleet.load(store.view(ids[1]))
    allowed = after.settings.allow
    paths = sorted(p for p in before.blobs.keys() | after.blobs.keys()
                   if before.blobs.get(p) != after.blobs.get(p))
    changes = []
    for path in paths:
        ref = state.ref_of(path)
        if ref is not None:
            old, new = before.blobs.get(path), after.blobs.get(path)
            changes.append((ref, store.read_blob(old) if old else None,
                            store.read_blob(new) if new else None))
    found, dangers = _changes(changes, allowed)
    touched = {c.space for c in found} | {p[len(state.STATE_DIR) + 1:-5] for p in paths
                                          if p.startswith(state.STATE_DIR + "/")}
    checked = [UnitRef(c.space, c.unit) for c in found if c.change != "removed"]
    return Preview(f"{ids[0][:7]}..{ids[1][:7]}", found, [], dangers,
                   lint.check_units(after, checked, allowed),
                   _overrides(before, after, sorted(touched)),
                   sorted(n for n in {c.space for c in found}
                          if n in after.spaces and select.critical(after.space(n))))


def _changes(changes: Sequence[tuple[UnitRef, str | None, str | None]],
             allowed: Sequence[guard.Allowed]) -> tuple[list[UnitChange], list[Danger]]:
    found, dangers = [], []
    for ref, old, new in changes:
        path = state.unit_path(ref)
        change = "added" if old is None else "removed" if new is None else "changed"
        before, after = mutation.as_data(old, path), mutation.as_data(new, path)
        fields = field_changes(before, after) if change == "changed" else []
        found.append(UnitChange(ref.space, ref.unit, change, fields,
                                mutation.unit_diff(path, old, new, allowed, (before, after))))
        dangers += _dangers(ref.space, ref.unit, change, before, after, fields)
    return found, dangers


def field_changes(before: Any, after: Any) -> list[dict[str, Any]]:
    """Every field that differs between two versions of a unit, as ``{field, before, after}``
    (``merge.diff``), values the secret guard would refuse masked: what a preview, ``gitops
    show`` and ``gitops unit diff`` list."""
    return [{"field": p, "before": guard.redact_value(p, b), "after": guard.redact_value(p, a)}
            for p, b, a in merge.diff(before, after)]


def _overrides(before: Fleet, after: Fleet, spaces: Sequence[str]) -> list[dict[str, Any]]:
    """The local edits (``gitops overrides``) that differ between the two commits, per field:
    introduced, removed, or changed (another local value)."""
    out = []
    for space in spaces:
        old = {(r["unit"], r["field"]): r for r in _space_overrides(before, space)}
        new = {(r["unit"], r["field"]): r for r in _space_overrides(after, space)}
        for key in sorted(old.keys() | new.keys()):
            was, now = old.get(key), new.get(key)
            if was is not None and now is not None and was["local"] == now["local"]:
                continue
            change = "removed" if now is None else "introduced" if was is None else "changed"
            row = now if now is not None else was
            assert row is not None
            out.append({"space": space, "unit": key[0], "field": key[1], "change": change,
                        "generated": row["generated"], "before": None if was is None else was["local"],
                        "after": None if now is None else now["local"]})
    return out


def _space_overrides(fleet: Fleet, space: str) -> list[dict[str, Any]]:
    return units.overrides(fleet, space) if space in fleet.spaces else []


def _unique(findings: Sequence[Problem]) -> list[Problem]:
    """Each problem once (a unit may be checked twice while a plan is made), in order."""
    return list(dict.fromkeys(findings))


def _dangers(space: str, unit: str, change: str, before: Any, after: Any,
             fields: list[dict[str, Any]]) -> list[Danger]:
    if change == "removed":
        kind = before.get("kind") if isinstance(before, dict) else "object"
        return [Danger(space, unit, "prune", f"the {kind} is deleted from the cluster by `apply --prune`")]
    out = []
    data = after if isinstance(after, dict) else {}
    kind = str(data.get("kind") or "")
    replicas = (data.get("spec") or {}).get("replicas") if isinstance(data.get("spec"), dict) else None
    if replicas == 0 and (change == "added" or any(f["field"] == "spec.replicas" for f in fields)):
        out.append(Danger(space, unit, "zero-replicas", f"{kind} scaled to 0 replicas"))
    for f in fields:
        name = f["field"]
        if name == "metadata.namespace":
            out.append(Danger(space, unit, "namespace", f"moves from {f['before']} to {f['after']}: "
                              "the object in the old namespace stays until pruned"))
        for immutable in IMMUTABLE.get(kind, ()):
            if name == immutable or name.startswith(immutable + ".") or name.startswith(immutable + "["):
                out.append(Danger(space, unit, "immutable", f"{name} of a {kind} cannot change in "
                                  "place: the apply is refused until the object is deleted"))
                break
    return out
