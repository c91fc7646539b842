"""What a change would do to the manifests repo, for a reviewer: ``render --dry-run``.

From a Plan (nothing written) and the repo it would change: per space, the units added,
changed and removed with the fields each changes; the conflicts with local edits (who wins);
and the danger flags a reviewer must not miss: a removal that prunes a live object, a change to
a field the API server will not change in place, replicas set to 0, a namespace change.
Secret values are masked, in fields and diffs alike.

Reads only; the presentation (table, JSON, markdown) is the CLI's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from generator import guard, merge, state
from generator.operations import mutation
from generator.operations.sync import Plan
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
    units: list[UnitChange]
    conflicts: list[dict[str, object]]
    dangers: list[Danger]

    def spaces(self) -> dict[str, dict[str, int]]:
        """Per space: how many units are added, changed and removed."""
        out: dict[str, dict[str, int]] = {}
        for change in self.units:
            counts = out.setdefault(change.space, {"added": 0, "changed": 0, "removed": 0})
            counts[change.change] += 1
        return out

    def data(self) -> dict[str, Any]:
        return {"spaces": self.spaces(), "units": [u.data() for u in self.units],
                "conflicts": self.conflicts, "dangers": [d.data() for d in self.dangers]}


def preview(plan: Plan, store: Store, allowed: Sequence[guard.Allowed] = ()) -> Preview:
    """The reviewer's view of ``plan`` against the commit ``store`` is at."""
    units, dangers = [], []
    for path, new in sorted(plan.changes.items()):
        ref = state.ref_of(path)
        if ref is None:
            continue
        blob = plan.before.get(path)
        old = store.read_blob(blob) if blob else None
        change = "added" if old is None else "removed" if new is None else "changed"
        before, after = mutation.as_data(old, path), mutation.as_data(new, path)
        fields = [{"field": p, "before": guard.redact_value(p, b), "after": guard.redact_value(p, a)}
                  for p, b, a in merge.diff(before, after)] if change == "changed" else []
        units.append(UnitChange(ref.space, ref.unit, change, fields,
                                mutation.unit_diff(path, old, new, allowed, (before, after))))
        dangers += _dangers(ref.space, ref.unit, change, before, after, fields)
    return Preview(units, mutation.conflict_rows(plan.conflicts), dangers)


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
