"""``gitops apply``, ``diff``, ``status`` and ``drift``: a space's units onto its cluster.

Units go in ``Labels.order`` groups (namespace 0 ... ingress 9). Each applied object carries the
label ``gitops.dev/space`` and the annotations ``gitops.dev/unit``, ``gitops.dev/content-hash``
(of the unit's manifest text) and ``gitops.dev/commit`` (the manifests-repo commit that applied
it), so ONE ``kubectl get`` of the space's objects tells which units differ from git: an
unchanged space costs that one call and no apply. Applies are server-side with field manager
``gitops`` (git wins a conflict over a field); after each group, what it changed must become
healthy (a Namespace Active, a Deployment rolled out) within the timeout. Every cluster call
goes through ``generator.kubectl``; the manifests repo is only read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from generator import merge
from generator.errors import GitopsError
from generator.kubectl import FIELD_MANAGER, Kubectl, KubectlError
from generator.model import UnitRef
from generator.operations.repo import Fleet
from generator.operations.select import select

SPACE_LABEL = "gitops.dev/space"
UNIT = "gitops.dev/unit"
HASH = "gitops.dev/content-hash"
COMMIT = "gitops.dev/commit"
ORDER = "gitops.dev/order"

Progress = Callable[[str], None]


@dataclass
class Desired:
    """One unit as it must be on the cluster."""

    ref: UnitRef
    order: int
    data: dict[str, Any]
    hash: str

    @property
    def key(self) -> tuple[str, str, str]:
        meta = self.data.get("metadata", {})
        return (self.data.get("kind", ""), meta.get("namespace") or "", meta.get("name", ""))

    @property
    def name(self) -> str:
        kind, _, name = self.key
        return f"{kind.lower()}/{name}"


@dataclass
class Report:
    """What an apply did: units applied, unchanged, pruned, and (after a failure) not applied."""

    space: str
    commit: str | None
    dry_run: bool
    applied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    not_applied: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # dry run: in a namespace not made yet
    failed: str | None = None
    kubectl_calls: int = 0

    def data(self) -> dict[str, Any]:
        return {"space": self.space, "commit": self.commit, "dryRun": self.dry_run,
                "applied": self.applied, "unchanged": self.unchanged, "pruned": self.pruned,
                "notApplied": self.not_applied, "unchecked": self.unchecked, "failed": self.failed,
                "kubectlCalls": self.kubectl_calls}


class ApplyError(GitopsError):
    """An apply stopped part-way: the report says what was applied and what was not."""

    def __init__(self, message: str, hint: str, report: Report) -> None:
        super().__init__(message, hint)
        self.report = report


def _order(labels: dict[str, str]) -> int:
    value = labels.get("order", "")
    return int(value) if value.isdigit() else 99


def _live_order(obj: dict[str, Any]) -> int:
    """The order an object was applied in (its annotation), 99 when it has none."""
    return _order({"order": str(obj.get("metadata", {}).get("annotations", {}).get(ORDER, ""))})


def desired(fleet: Fleet, space: str, unit: str | None = None, where: str | None = None,
            filter_name: str | None = None) -> list[Desired]:
    """The selected units of ``space``, labelled and annotated for the cluster, in order."""
    record = fleet.space(space)
    commit = fleet.store.head() or ""
    out = []
    for ref in select(fleet, space, unit, where, filter_name):
        data = json.loads(json.dumps(fleet.data(ref)))
        if not isinstance(data, dict) or "kind" not in data:
            raise GitopsError(f"{ref} is not a Kubernetes object", "fix the unit (gitops unit update)")
        digest = hashlib.sha256(fleet.text(ref).encode()).hexdigest()[:20]
        meta = data.setdefault("metadata", {})
        meta.setdefault("labels", {})[SPACE_LABEL] = space
        order = _order(record.units[ref.unit].labels)
        meta.setdefault("annotations", {}).update({UNIT: ref.unit, HASH: digest, COMMIT: commit,
                                                   ORDER: str(order)})
        if data["kind"] != "Namespace" and not meta.get("namespace"):
            meta["namespace"] = record.target.namespace
        out.append(Desired(ref, order, data, digest))
    return sorted(out, key=lambda d: (d.order, d.ref.unit))


# What one `kubectl get` asks for besides the kinds git has now: the kinds a unit usually is,
# so that an object whose unit left git (and whose kind may have left with it) is still seen.
_USUAL_KINDS = {"Namespace", "Deployment", "StatefulSet", "DaemonSet", "Service", "Ingress", "ConfigMap",
                "ServiceAccount", "Job", "CronJob", "PersistentVolumeClaim"}


def _kinds(items: list[Desired]) -> str:
    return ",".join(sorted({d.data["kind"] for d in items} | _USUAL_KINDS))


def live(kubectl: Kubectl, space: str, context: str, kinds: str) -> dict[tuple[str, str, str], Any]:
    """The space's objects on the cluster, by (kind, namespace, name): one kubectl call."""
    found = kubectl.json(["get", kinds, "--all-namespaces", "-l", f"{SPACE_LABEL}={space}"], context)
    out = {}
    for item in found.get("items", []):
        meta = item.get("metadata", {})
        out[(item.get("kind", ""), meta.get("namespace") or "", meta.get("name", ""))] = item
    return out


def _stream(items: list[Desired]) -> str:
    return "".join("---\n" + json.dumps(d.data) + "\n" for d in items)


def _wait(kubectl: Kubectl, items: list[Desired], context: str, timeout: str) -> None:
    for d in items:
        kind, namespace, name = d.key
        if kind == "Namespace":
            kubectl.run(["wait", "--for=jsonpath={.status.phase}=Active", f"namespace/{name}",
                         f"--timeout={timeout}"], context)
        elif kind in ("Deployment", "StatefulSet", "DaemonSet"):
            kubectl.run(["rollout", "status", f"{kind.lower()}/{name}", "-n", namespace,
                         f"--timeout={timeout}"], context)


def apply(kubectl: Kubectl, fleet: Fleet, space: str, unit: str | None = None,
          where: str | None = None, filter_name: str | None = None, dry_run: bool = False,
          prune: bool = False, wait: bool = True, timeout: str = "60s",
          progress: Progress | None = None, only_changed: bool = True,
          only: set[str] | None = None) -> Report:
    """Apply the selected units of ``space`` in order; see the module doc. ``only_changed``
    False applies even units whose hash matches; ``only`` restricts to those unit names."""
    if prune and (unit or where or filter_name):
        raise GitopsError("--prune works on a whole space", "drop --unit/--where/--filter, or --prune")
    record = fleet.space(space)
    context = record.target.context
    items = [d for d in desired(fleet, space, unit, where, filter_name)
             if only is None or d.ref.unit in only]
    report = Report(space, fleet.store.head(), dry_run)
    start = len(kubectl.calls)
    current = live(kubectl, space, context, _kinds(items))
    groups: dict[int, list[Desired]] = {}
    for d in items:
        groups.setdefault(d.order, []).append(d)
    for order in sorted(groups):
        group = groups[order]
        changed = [d for d in group if not only_changed
                   or current.get(d.key, {}).get("metadata", {}).get("annotations", {}).get(HASH) != d.hash]
        report.unchanged += [str(d.ref) for d in group if d not in changed]
        if not changed:
            continue
        if progress:
            progress(f"order {order}: {', '.join(d.ref.unit for d in changed)}")
        if dry_run:  # the server cannot check objects of a namespace this apply would create
            unmade = {d.key[2] for d in items if d.key[0] == "Namespace" and d.key not in current}
            report.unchecked += [str(d.ref) for d in changed if d.key[1] in unmade]
            report.applied += [str(d.ref) for d in changed if d.key[1] in unmade]
            changed = [d for d in changed if d.key[1] not in unmade]
            if not changed:
                continue
        args = ["apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "--force-conflicts", "-f", "-"]
        if dry_run:
            args.append("--dry-run=server")
        try:
            kubectl.run(args, context, stdin=_stream(changed))
            if wait and not dry_run:
                _wait(kubectl, changed, context, timeout)
        except KubectlError as e:
            report.failed = f"order {order} ({', '.join(d.ref.unit for d in changed)}): {e.message}"
            report.not_applied = [str(d.ref) for o in sorted(groups) if o >= order for d in groups[o]
                                  if str(d.ref) not in report.unchanged]
            report.kubectl_calls = len(kubectl.calls) - start
            raise ApplyError(f"apply of {space} stopped at order {order}: {e.message}",
                             f"{len(report.applied)} unit(s) applied before it, "
                             f"{len(report.not_applied)} not applied; {e.hint}", report) from e
        report.applied += [str(d.ref) for d in changed]
    if prune:
        wanted = {d.key for d in items}
        extra = [(key, obj) for key, obj in current.items()  # terminating: already going
                 if key not in wanted and not obj.get("metadata", {}).get("deletionTimestamp")]
        # the reverse of the apply order: an ingress before its services, a namespace last
        extra.sort(key=lambda pair: -_live_order(pair[1]))
        for (kind, namespace, name), _ in extra:
            args = ["delete", f"{kind.lower()}/{name}", "--ignore-not-found", f"--timeout={timeout}"]
            if namespace:
                args += ["-n", namespace]
            if dry_run:
                args.append("--dry-run=server")
            kubectl.run(args, context)
            report.pruned.append(f"{kind.lower()}/{name}" + (f" -n {namespace}" if namespace else ""))
    report.kubectl_calls = len(kubectl.calls) - start
    return report


def _both(kubectl: Kubectl, fleet: Fleet, space: str) -> tuple[list[Desired], dict[tuple[str, str, str], Any]]:
    """Every unit of the space as git wants it, and the space's objects as the cluster has them."""
    items = desired(fleet, space)
    return items, live(kubectl, space, fleet.space(space).target.context, _kinds(items))


def status(kubectl: Kubectl, fleet: Fleet, space: str) -> list[dict[str, Any]]:
    """Per unit: on the cluster or not, the commit that applied it, in sync with git, ready."""
    items, current = _both(kubectl, fleet, space)
    rows = []
    for d in items:
        obj = current.get(d.key)
        annotations = (obj or {}).get("metadata", {}).get("annotations", {})
        ready = None
        if obj and d.key[0] == "Deployment":
            ready = f"{obj.get('status', {}).get('readyReplicas', 0)}/{obj.get('spec', {}).get('replicas', 0)}"
        rows.append({"unit": d.ref.unit, "object": d.name, "live": obj is not None,
                     "appliedCommit": annotations.get(COMMIT), "inSync": annotations.get(HASH) == d.hash,
                     "ready": ready})
    return rows


def drift(kubectl: Kubectl, fleet: Fleet, space: str) -> list[dict[str, Any]]:
    """Fields changed on the cluster behind git's back: per unit, field, git's value, live value.
    A unit git has and the cluster has not is drift too."""
    items, current = _both(kubectl, fleet, space)
    rows = []
    for d in items:
        obj = current.get(d.key)
        if obj is None:
            rows.append({"unit": d.ref.unit, "field": "(object)", "git": "present", "live": "missing"})
            continue
        wanted = json.loads(json.dumps(d.data))
        for key in (COMMIT,):  # an older apply's commit is not drift
            wanted["metadata"]["annotations"].pop(key, None)
        for path, want, have in merge.drift(wanted, obj):
            rows.append({"unit": d.ref.unit, "field": path, "git": want, "live": have})
    return rows


def diff(kubectl: Kubectl, fleet: Fleet, space: str) -> tuple[int, str]:
    """``kubectl diff`` of every unit against the cluster: (exit code like kubectl's, output)."""
    record = fleet.space(space)
    items = desired(fleet, space)
    done = kubectl.run(["diff", "--server-side", f"--field-manager={FIELD_MANAGER}", "--force-conflicts",
                        "-f", "-"], record.target.context, stdin=_stream(items), ok_codes=(0, 1))
    return done.returncode, done.stdout


def fix_drift(kubectl: Kubectl, fleet: Fleet, space: str, timeout: str = "60s",
              progress: Progress | None = None) -> tuple[list[dict[str, Any]], Report | None]:
    """``drift --fix``: the drifted units applied again (git wins); (the drift, the apply)."""
    rows = drift(kubectl, fleet, space)
    if not rows:
        return rows, None
    units = {row["unit"] for row in rows}
    return rows, apply(kubectl, fleet, space, timeout=timeout, progress=progress,
                       only_changed=False, only=units)
