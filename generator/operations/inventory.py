"""A space's inventory on its cluster: what ``gitops apply`` last applied there, in one object.

As kpt's and Config Sync's ResourceGroup: one ConfigMap, ``gitops-inventory-<space>`` in the
space's namespace, labelled ``gitops.dev/inventory: <space>`` (not ``gitops.dev/space``: it is
no unit's object, so status, drift, prune and destroy never take it for one). Its data: the
space, the commit that wrote it, and per object applied (kind, namespace, name) its unit,
content hash, order and the older revision it was applied from (empty: main). Names and
hashes only: no manifest, so no secret value, is ever in it.

``apply`` reads it with ONE request; when it covers what git wants (same objects, same
hashes, nothing to prune) the space is unchanged and nothing else is read or written; when
not, what it lists decides what to apply and prune. Before its first change apply makes it
smaller by what it is about to change (or removes it), so a failing or interrupted apply
leaves none that claims what was not applied; it writes it whole at the end. Without one
(or with ``apply --live``) apply reads the live objects. ``destroy`` and ``changeset apply
--deploy`` remove it before they delete or change anything. Knows nothing of units' content or git; every call goes
through ``generator.kubectl``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from generator.kubectl import FIELD_MANAGER, Kubectl, KubectlError

LABEL = "gitops.dev/inventory"
PREFIX = "gitops-inventory-"
Key = tuple[str, str, str]  # (kind, namespace, name)


@dataclass(frozen=True)
class Entry:
    """One object as the inventory has it: its unit, content hash, order and (for an apply
    from an older revision) that revision's commit."""

    unit: str
    hash: str
    order: str
    revision: str = ""


def name(space: str) -> str:
    return PREFIX + space


@dataclass
class Held:
    """What reading the inventory found: ``state`` is ``found``, ``absent``, ``unreadable``
    (a failed read, another space's, or data it cannot parse) or ``unread`` (not asked)."""

    state: str = "unread"
    entries: dict[Key, Entry] = field(default_factory=dict)

    @property
    def may_exist(self) -> bool:
        return self.state != "absent"

    def covers(self, wanted: dict[Key, Entry], prune: bool) -> bool:
        """Whether the cluster has ``wanted`` as the inventory says (each object applied from
        the same content; one git wants from main not marked as from an older revision) and,
        with ``prune``, nothing else: then an apply has nothing to do."""
        if self.state != "found":
            return False
        for key, want in wanted.items():
            have = self.entries.get(key)
            if have is None or have.hash != want.hash or (have.revision and not want.revision):
                return False
        return not prune or self.entries.keys() <= wanted.keys()


def _args(space: str, namespace: str) -> list[str]:
    return [f"configmap/{name(space)}", "-n", namespace]


def read(kubectl: Kubectl, space: str, namespace: str, context: str) -> Held:
    """The space's inventory: one ``kubectl get``. A failure to read is ``unreadable``, not an
    error: the caller then reads the live objects, which says what is wrong."""
    try:
        found = kubectl.json(["get", *_args(space, namespace), "--ignore-not-found"], context)
    except KubectlError:
        return Held("unreadable")
    if not found:
        return Held("absent")
    data = found.get("data") or {}
    try:
        rows = json.loads(data.get("objects", ""))
        entries = {(str(k), str(ns), str(n)): Entry(str(u), str(h), str(o), str(r)) for k, ns, n, u, h, o, r in rows}
    except (ValueError, TypeError):
        return Held("unreadable")
    return Held("found", entries) if data.get("space") == space else Held("unreadable")


def document(space: str, namespace: str, commit: str, entries: dict[Key, Entry]) -> dict[str, Any]:
    """The inventory ConfigMap: one object per line of ``objects``, sorted.

    >>> document("s", "ns", "c1", {("Service", "ns", "web"): Entry("web", "ab12", "5")})["data"]["objects"]
    '[\\n["Service","ns","web","web","ab12","5",""]\\n]'
    """
    rows = [json.dumps([*key, e.unit, e.hash, e.order, e.revision], separators=(",", ":"))
            for key, e in sorted(entries.items())]
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name(space), "namespace": namespace, "labels": {LABEL: space}},
            "data": {"space": space, "commit": commit, "objects": "[\n" + ",\n".join(rows) + "\n]"}}


def write(kubectl: Kubectl, space: str, namespace: str, context: str, commit: str,
          entries: dict[Key, Entry]) -> None:
    """Write the inventory (server-side apply as ``gitops``); raises KubectlError."""
    kubectl.run(["apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "--force-conflicts", "-f", "-"],
                context, stdin=json.dumps(document(space, namespace, commit, entries)))


def remove(kubectl: Kubectl, space: str, namespace: str, context: str, dry_run: bool = False) -> None:
    """Delete the inventory (none, or no namespace: not an error); raises KubectlError."""
    kubectl.run(["delete", *_args(space, namespace), "--ignore-not-found", "--wait=false",
                 *(["--dry-run=server"] if dry_run else [])], context)
