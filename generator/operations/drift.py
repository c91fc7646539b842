"""``gitops status``, ``drift`` and ``diff``: the cluster read against git.

A space's objects are found by the ``gitops.dev/space`` label ``apply.apply`` puts on them, in
one ``kubectl get``. ``status`` compares content hashes; ``drift`` compares each field git sets
with the live object (fields only the cluster sets are not drift); ``diff`` is ``kubectl diff``.
``fix_drift`` re-applies the drifted units through ``apply.apply``. The commands' entry
functions (``status_spaces``, ``drift_spaces``, ``diff_spaces``) take a glob and go space by
space. Nothing here writes to the manifests repo, and only ``fix_drift`` writes to the cluster.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from generator import guard, merge
from generator.kubectl import FIELD_MANAGER, Kubectl
from generator.operations import apply
from generator.operations.fleet import Fleet


Live = dict[tuple[str, str, str], Any]  # (kind, namespace, name) -> the object as the cluster has it


def _both(kubectl: Kubectl, fleet: Fleet, space: str) -> tuple[list[apply.Desired], Live]:
    """Every unit of the space as git wants it, and the space's objects as the cluster has them."""
    items = apply.desired(fleet, space)
    return items, apply.live(kubectl, space, fleet.space(space).target.context, apply.kinds(items))


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
                     "appliedCommit": annotations.get(apply.COMMIT),
                     "inSync": d.applied(current), "ready": ready})
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
        for key in (apply.COMMIT,):  # an older apply's commit is not drift
            wanted["metadata"]["annotations"].pop(key, None)
        for path, want, have in merge.drift(wanted, obj):
            rows.append({"unit": d.ref.unit, "field": path, "git": guard.redact_value(path, want),
                         "live": guard.redact_value(path, have)})
    return rows


def diff(kubectl: Kubectl, fleet: Fleet, space: str) -> tuple[int, str]:
    """``kubectl diff`` of every unit against the cluster: (exit code like kubectl's, output)."""
    record = fleet.space(space)
    items = apply.desired(fleet, space)
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


def status_spaces(kubectl: Kubectl, fleet: Fleet, space_glob: str) -> list[dict[str, Any]]:
    """``gitops status``: ``status`` of every space the glob matches, each row naming its space."""
    return [{"space": s.name, **row} for s in fleet.match(space_glob) for row in status(kubectl, fleet, s.name)]


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
