"""``gitops status``, ``drift``, ``diff`` and ``unit get --live``: the cluster read against git.

A space's objects are found by the ``gitops.dev/space`` label ``apply.apply`` puts on them, in
one ``kubectl get``. ``status`` compares content hashes and reads each object's live status
(replicas, ready, conditions) and whether it was applied from an older revision (live is not
main) from that same get; ``drift`` compares each field git sets with the live object (fields
only the cluster sets are not drift); ``diff`` is ``kubectl diff``; ``live_object`` is one
unit's object as the cluster has it, any secret value masked.
``fix_drift`` re-applies the drifted units through ``apply.apply``. The commands' entry
functions (``status_spaces``, ``drift_spaces``, ``diff_spaces``) take a glob and go space by
space. Nothing here writes to the manifests repo, and only ``fix_drift`` writes to the cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from generator import guard
from generator.errors import NotFoundError
from generator.kubectl import FIELD_MANAGER, Kubectl
from generator.operations import apply
from generator.operations.fleet import Fleet


_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
Live = dict[tuple[str, str, str], Any]  # (kind, namespace, name) -> the object as the cluster has it


def _both(kubectl: Kubectl, fleet: Fleet, space: str) -> tuple[list[apply.Desired], Live]:
    """Every unit of the space as git wants it, and the space's objects as the cluster has them."""
    items = apply.desired(fleet, space)
    return items, apply.live(kubectl, space, fleet.space(space).target.context, apply.kinds(items))


# What a workload's status counts: (desired, ready, updated, available).
_COUNTS = {"Deployment": ("replicas", "readyReplicas", "updatedReplicas", "availableReplicas"),
           "StatefulSet": ("replicas", "readyReplicas", "updatedReplicas", "availableReplicas"),
           "ReplicaSet": ("replicas", "readyReplicas", "replicas", "availableReplicas"),
           "DaemonSet": ("desiredNumberScheduled", "numberReady", "updatedNumberScheduled", "numberAvailable")}


def live_status(obj: dict[str, Any]) -> dict[str, Any]:
    """An object's live status, as ``status`` shows it: for a workload replicas (desired),
    ready, updated, available and conditions; for any other kind its phase and conditions,
    when it has them.

    >>> live_status({"kind": "Deployment", "spec": {"replicas": 3}, "status": {"readyReplicas": 2,
    ...     "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
    ...                     "message": "ok", "lastUpdateTime": "t"}]}})  # doctest: +NORMALIZE_WHITESPACE
    {'replicas': 3, 'ready': 2, 'updated': 0, 'available': 0, 'conditions': [{'type': 'Available',
     'status': 'True', 'reason': 'MinimumReplicasAvailable', 'message': 'ok'}]}
    >>> live_status({"kind": "Namespace", "status": {"phase": "Active"}})
    {'phase': 'Active'}
    """
    status = obj.get("status") or {}
    out: dict[str, Any] = {}
    counts = _COUNTS.get(str(obj.get("kind")))
    if counts:
        desired, ready, updated, available = counts
        wanted = status.get(desired, 0) if obj.get("kind") == "DaemonSet" else (obj.get("spec") or {}).get(desired, 1)
        out = {"replicas": wanted, "ready": status.get(ready, 0), "updated": status.get(updated, 0),
               "available": status.get(available, 0)}
    if "phase" in status:
        out["phase"] = status["phase"]
    if counts or status.get("conditions"):
        out["conditions"] = [{key: c.get(key) for key in ("type", "status", "reason", "message")}
                             for c in status.get("conditions") or [] if isinstance(c, dict)]
    return out


def _revision(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """The older revision a live object was applied from (``apply --revision``); None: main."""
    pinned = apply.Pinned.of(obj) if obj else None
    return {"commit": pinned.commit, "revision": pinned.number} if pinned else None


def status(kubectl: Kubectl, fleet: Fleet, space: str) -> list[dict[str, Any]]:
    """Per unit: on the cluster or not, the commit that applied it, in sync with git, ready
    (``3/3``) and its live status (``live_status``), the older revision it was applied from
    (``appliedRevision``) and whether the space's live state is main's (``liveIsMain``)."""
    items, current = _both(kubectl, fleet, space)
    rows = []
    for d in items:
        obj = current.get(d.key)
        annotations = (obj or {}).get("metadata", {}).get("annotations", {})
        found = live_status(obj) if obj else None
        ready = f"{found['ready']}/{found['replicas']}" if found and "ready" in found else None
        rows.append({"unit": d.ref.unit, "object": d.name, "live": obj is not None,
                     "appliedCommit": annotations.get(apply.COMMIT),
                     "inSync": d.applied(current), "ready": ready, "liveStatus": found,
                     "appliedRevision": _revision(obj)})
    main = not any(row["appliedRevision"] for row in rows)
    return [{**row, "liveIsMain": main} for row in rows]


def live_object(kubectl: Kubectl, fleet: Fleet, space: str, unit: str) -> dict[str, Any]:
    """``unit get --live``: the unit's object as its space's cluster has it (one ``kubectl get``
    by kind and name), without managedFields and with every secret value masked. Not on the
    cluster: an error that names the context and the namespace."""
    fleet.unit_ref(space, unit)  # a unit that does not exist: the clear "not found"
    [d] = apply.desired(fleet, space, unit)
    kind, namespace, name = d.key
    context = fleet.space(space).target.context
    found = kubectl.json(["get", f"{kind.lower()}/{name}", "--ignore-not-found",
                          *(["-n", namespace] if namespace else [])], context)
    if not found:
        where = f"in namespace {namespace} " if namespace else ""
        raise NotFoundError(f"{space}/{unit} is not on the cluster: no {d.name} {where}(context "
                            f"{kubectl.context or context})",
                            f"apply it (gitops apply --space {space} --unit {unit}), or see `gitops status --space {space}`")
    return _masked(found)


def _masked(obj: dict[str, Any]) -> dict[str, Any]:
    """A live object as it may be shown: managedFields dropped; a Secret's values (and the
    last-applied copy of them kubectl may keep) masked; elsewhere what the guard masks.

    >>> _masked({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "managedFields": []},
    ...          "data": {"password": "aHVudGVyMg=="}})
    {'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': 'db'}, 'data': {'password': '12 characters, masked'}}
    """
    secret = obj.get("kind") == "Secret" and str(obj.get("apiVersion")) == "v1"
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "metadata" and isinstance(value, dict):
            meta = {k: v for k, v in value.items() if k != "managedFields"}
            annotations = meta.get("annotations")
            if secret and isinstance(annotations, dict) and _LAST_APPLIED in annotations:
                meta["annotations"] = {**annotations, _LAST_APPLIED: guard.mask(str(annotations[_LAST_APPLIED]))}
            out[key] = guard.redact_value(key, meta)
        elif secret and key in ("data", "stringData") and isinstance(value, dict):
            out[key] = {k: guard.mask(str(v)) for k, v in value.items()}
        else:
            out[key] = guard.redact_value(key, value)
    return out


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
        for path, want, have in d.drift(obj):
            rows.append({"unit": d.ref.unit, "field": path, "git": guard.redact_value(path, want),
                         "live": guard.redact_value(path, have)})
    return rows


def diff(kubectl: Kubectl, fleet: Fleet, space: str) -> tuple[int, str]:
    """``kubectl diff`` of every unit against the cluster: (exit code like kubectl's, output).

    An object applied from the content git has now keeps the commit it was applied by: a later
    commit that did not change it is no difference (only a drifted field then shows)."""
    record = fleet.space(space)
    items, current = _both(kubectl, fleet, space)
    for item in items:
        if item.applied(current):
            live_commit = current[item.key]["metadata"]["annotations"].get(apply.COMMIT)
            if live_commit:
                item.data["metadata"]["annotations"][apply.COMMIT] = live_commit
    done = kubectl.run(["diff", "--server-side", f"--field-manager={FIELD_MANAGER}", "--force-conflicts",
                        "-f", "-"], record.target.context, stdin=apply.stream(items), ok_codes=(0, 1))
    return done.returncode, done.stdout


def fix_drift(kubectl: Kubectl, fleet: Fleet, space: str, timeout: str = "60s",
              rows: list[dict[str, Any]] | None = None) -> tuple[list[dict[str, Any]], apply.Report | None]:
    """``drift --fix``: the drifted units applied again (git wins); (the drift, the apply).
    ``rows``: the drift, when the caller has just looked."""
    rows = drift(kubectl, fleet, space) if rows is None else rows
    if not rows:
        return rows, None
    units = {row["unit"] for row in rows}
    return rows, apply.apply(kubectl, fleet, space, timeout=timeout, only_changed=False, only=units)


@dataclass
class Status:
    """What ``gitops status`` found: a row per unit (each naming its space), and per space
    whose live state is not main's, the older revision(s) it was applied from."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    not_main: list[dict[str, Any]] = field(default_factory=list)  # {space, commit, revision}


def status_spaces(kubectl: Kubectl, fleet: Fleet, space_glob: str) -> Status:
    """``gitops status``: ``status`` of every space the glob matches."""
    found = Status()
    for space in [s.name for s in fleet.match(space_glob)]:
        rows = status(kubectl, fleet, space)
        found.rows += [{"space": space, **row} for row in rows]
        pins = {(r["appliedRevision"]["commit"], r["appliedRevision"]["revision"]): None
                for r in rows if r["appliedRevision"]}
        found.not_main += [{"space": space, "commit": commit, "revision": number} for commit, number in pins]
    return found


@dataclass
class Drifted:
    """What ``gitops drift`` found over its spaces, and what ``--fix`` applied again."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)

    def data(self) -> dict[str, Any]:
        return {"drift": self.rows, "fixed": self.fixed}


def drift_spaces(kubectl: Kubectl, fleet: Fleet, space_glob: str, fix: bool = False,
                 timeout: str = "60s") -> Drifted:
    """``gitops drift [--fix]``: the drift of every space the glob matches, each row naming its
    space; with ``fix`` the drifted units of each are applied again (git wins)."""
    found = Drifted()
    for space in [s.name for s in fleet.match(space_glob)]:
        if fix:
            rows, report = fix_drift(kubectl, fleet, space, timeout)
            found.fixed += report.applied if report else []
        else:
            rows = drift(kubectl, fleet, space)
        found.rows += [{"space": space, **row} for row in rows]
    return found


@dataclass(frozen=True)
class SpaceDiff:
    """``kubectl diff`` of one space: its exit code (1: differs) and its output."""

    space: str
    code: int
    text: str


def diff_spaces(kubectl: Kubectl, fleet: Fleet, space_glob: str,
                done: Callable[[SpaceDiff], None] | None = None) -> list[SpaceDiff]:
    """``gitops diff``: ``diff`` of every space the glob matches, one after another (``done``
    hears each as it is made, so a long glob shows its diffs as they come)."""
    diffs = []
    for space in [s.name for s in fleet.match(space_glob)]:
        code, text = diff(kubectl, fleet, space)
        diffs.append(SpaceDiff(space, code, text))
        if done is not None:
            done(diffs[-1])
    return diffs
