"""``gitops apply`` and ``changeset apply --deploy``: a space's units onto its cluster.

Units go in ``Labels.order`` groups (namespace 0 ... ingress 9). Each applied object carries the
label ``gitops.dev/space`` and the annotations ``gitops.dev/unit``, ``gitops.dev/content-hash``
(of the unit's manifest text) and ``gitops.dev/commit`` (the manifests-repo commit that applied
it), so ONE ``kubectl get`` of the space's objects tells which units differ from git. Before
that, the space's inventory (``operations/inventory.py``: one object listing what was applied,
with the hashes) is read with one request: when it covers what git wants, the space is
unchanged and nothing else is read or written; when not, it stands for that get. Only without
one is the get made; ``live_read`` (``apply --live``) skips the inventory, reads every object
and applies again what is missing, differs or was edited by hand. An apply from an older revision
(``--revision``) also annotates ``gitops.dev/revision`` (and the number it was asked by): the
next plain apply sees it, applies those objects again from main, and the annotation goes. Applies are server-side with field manager
``gitops`` (git wins a conflict over a field); after each group, what it changed must become
healthy (a Namespace Active, a Deployment rolled out) within the timeout. ``apply_all`` is the
all-or-nothing form a changeset deploys with. Every cluster call goes through
``generator.kubectl``; the manifests repo is only read. (Reading the cluster against git:
``operations/drift.py``.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from generator import state
from generator.errors import GitopsError
from generator.handoff import ORDER, SPACE_LABEL
from generator.kubectl import FIELD_MANAGER, Kubectl, KubectlError
from generator.model import NO_ORDER, UnitRef, apply_order, waves
from generator.operations import inventory
from generator.operations.fleet import Fleet
from generator.operations.select import matched, select
from generator.store import Store

UNIT = "gitops.dev/unit"
HASH = "gitops.dev/content-hash"
COMMIT = "gitops.dev/commit"
REVISION = "gitops.dev/revision"  # the commit of an apply from a revision other than main's head
REVISION_NUMBER = "gitops.dev/revision-number"  # ...and its number, when asked by number

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

    def applied(self, current: dict[tuple[str, str, str], Any]) -> bool:
        """Whether the cluster's object (from ``live``) was applied from this very content; for
        main's (not pinned), also not marked as applied from an older revision: a plain apply
        puts such an object back (the mark goes with it)."""
        annotations = current.get(self.key, {}).get("metadata", {}).get("annotations", {})
        pinned = REVISION in self.data["metadata"]["annotations"]
        return bool(annotations.get(HASH) == self.hash and (pinned or REVISION not in annotations))

    def drift(self, obj: dict[str, Any]) -> list[tuple[str, Any, Any]]:
        """The fields git sets that the live ``obj`` has otherwise (path, git, live); the commit
        an older apply annotated is no drift."""
        from generator import merge  # not at start-up: only drift and `apply --live` compare fields

        wanted = json.loads(json.dumps(self.data))
        wanted["metadata"]["annotations"].pop(COMMIT, None)
        return merge.drift(wanted, obj)

    def entry(self) -> inventory.Entry:
        return _entry(self.data["metadata"]["annotations"])


def _as_live(entries: dict[tuple[str, str, str], inventory.Entry]) -> dict[tuple[str, str, str], Any]:
    """The inventory's entries as ``live`` would give the objects: their annotations only."""
    return {key: {"metadata": {"annotations": {UNIT: e.unit, HASH: e.hash, ORDER: e.order,
                                                **({REVISION: e.revision} if e.revision else {})}}}
            for key, e in entries.items()}


def _entry(annotations: dict[str, Any]) -> inventory.Entry:
    """An object's inventory entry, from the annotations apply puts on it."""
    return inventory.Entry(str(annotations.get(UNIT, "")), str(annotations.get(HASH, "")),
                           str(annotations.get(ORDER, "")), str(annotations.get(REVISION, "")))


@dataclass(frozen=True)
class Pinned:
    """An apply from a revision other than main's head: its commit, and the number it was
    asked by (None: asked by a commit, tag or branch)."""

    commit: str
    number: int | None = None

    def annotations(self) -> dict[str, str]:
        return {REVISION: self.commit, **({REVISION_NUMBER: str(self.number)} if self.number is not None else {})}

    @classmethod
    def of(cls, obj: dict[str, Any]) -> Pinned | None:
        """What a live object says it was pinned to (None: applied from main)."""
        annotations = obj.get("metadata", {}).get("annotations", {})
        if REVISION not in annotations:
            return None
        number = str(annotations.get(REVISION_NUMBER, ""))
        return cls(str(annotations[REVISION]), int(number) if number.lstrip("-").isdigit() else None)


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
    restored: list[str] = field(default_factory=list)  # put back after a failed all-or-nothing apply
    failed: str | None = None
    kubectl_calls: int = 0
    pinned: Pinned | None = None  # applied from a revision other than main's head
    inventory: str | None = None  # covered (nothing else read), written, current, not written: why


    def data(self) -> dict[str, Any]:
        pinned = {"commit": self.pinned.commit, "revision": self.pinned.number} if self.pinned else None
        return {"space": self.space, "commit": self.commit, "dryRun": self.dry_run, "pinned": pinned,
                "applied": self.applied, "unchanged": self.unchanged, "pruned": self.pruned,
                "notApplied": self.not_applied, "unchecked": self.unchecked,
                "restored": self.restored, "failed": self.failed, "kubectlCalls": self.kubectl_calls,
                "inventory": self.inventory}

    @contextlib.contextmanager
    def counting(self, kubectl: Kubectl) -> Iterator[None]:
        """``kubectl_calls`` = the calls made inside, also when it raises (the report travels
        with the error)."""
        start = len(kubectl.calls)
        try:
            yield
        finally:
            self.kubectl_calls = len(kubectl.calls) - start


class ApplyError(GitopsError):
    """An apply stopped part-way: the report says what was applied and what was not."""

    def __init__(self, message: str, hint: str, report: Report) -> None:
        super().__init__(message, hint)
        self.report = report


def _live_order(obj: dict[str, Any]) -> int:
    """The order an object was applied in (its annotation; last when it has none)."""
    return apply_order({"order": str(obj.get("metadata", {}).get("annotations", {}).get(ORDER, ""))})


def desired(fleet: Fleet, space: str, unit: str | None = None, where: str | None = None,
            filter_name: str | None = None, pinned: Pinned | None = None) -> list[Desired]:
    """The selected units of ``space``, labelled and annotated for the cluster, in order
    (``pinned``: annotated as applied from that revision, not main's head)."""
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
        order = apply_order(record.units[ref.unit].labels)
        meta.setdefault("annotations", {}).update({UNIT: ref.unit, HASH: digest, COMMIT: commit,
                                                   ORDER: str(order), **(pinned.annotations() if pinned else {})})
        if data["kind"] != "Namespace" and not meta.get("namespace"):
            meta["namespace"] = record.target.namespace
        out.append(Desired(ref, order, data, digest))
    return sorted(out, key=lambda d: (d.order, d.ref.unit))


# What one `kubectl get` asks for besides the kinds git has now: the kinds a unit usually is,
# so that an object whose unit left git (and whose kind may have left with it) is still seen.
_USUAL_KINDS = {"Namespace", "Deployment", "StatefulSet", "DaemonSet", "Service", "Ingress", "ConfigMap",
                "ServiceAccount", "Job", "CronJob", "PersistentVolumeClaim", "NetworkPolicy", "Role",
                "RoleBinding"}


def kinds(items: list[Desired]) -> str:
    return ",".join(sorted({d.data["kind"] for d in items} | _USUAL_KINDS))


def live(kubectl: Kubectl, space: str, context: str, kinds: str) -> dict[tuple[str, str, str], Any]:
    """The space's objects on the cluster, by (kind, namespace, name): one kubectl call."""
    found = kubectl.json(["get", kinds, "--all-namespaces", "-l", f"{SPACE_LABEL}={space}"], context)
    out = {}
    for item in found.get("items", []):
        meta = item.get("metadata", {})
        out[(item.get("kind", ""), meta.get("namespace") or "", meta.get("name", ""))] = item
    return out


def stream(items: list[Desired]) -> str:
    return "".join("---\n" + json.dumps(d.data) + "\n" for d in items)


def _apply_args(dry_run: bool) -> list[str]:
    """``kubectl apply`` of a stream on stdin: server-side, as ``gitops``, git winning conflicts."""
    args = ["apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "--force-conflicts", "-f", "-"]
    return args + ["--dry-run=server"] if dry_run else args


def delete_args(kind: str, namespace: str, name: str, timeout: str, dry_run: bool, wait: bool = True) -> list[str]:
    """``kubectl delete`` of one object (gone already: not an error), waited for unless not ``wait``."""
    args = ["delete", f"{kind.lower()}/{name}", "--ignore-not-found", f"--timeout={timeout}"]
    if namespace:
        args += ["-n", namespace]
    if not wait:
        args.append("--wait=false")
    return args + ["--dry-run=server"] if dry_run else args


def deletion_order(objects: dict[tuple[str, str, str], Any]) -> list[tuple[str, str, str]]:
    """The live ``objects`` to delete, in the reverse of the apply order (an ingress before its
    services, a namespace last); the ones already terminating are left out."""
    going = [(key, obj) for key, obj in objects.items() if not obj.get("metadata", {}).get("deletionTimestamp")]
    going.sort(key=lambda pair: -_live_order(pair[1]))
    return [key for key, _ in going]


def delete(kubectl: Kubectl, keys: list[tuple[str, str, str]], context: str, timeout: str, dry_run: bool,
           done: list[str], wait: bool = True, progress: Progress | None = None) -> None:
    """Delete ``keys`` one after another, in the order given; each is added to ``done`` (as
    ``kind/name -n namespace``) once kubectl has deleted it, so a failure leaves what was done."""
    for key in keys:
        if progress:
            progress(f"deleting {_shown(*key)}")
        kubectl.run(delete_args(*key, timeout, dry_run, wait), context)
        done.append(_shown(*key))


def _unmade(items: list[Desired], current: dict[tuple[str, str, str], Any]) -> set[str]:
    """Namespaces among ``items`` the cluster does not have yet: a server-side dry run cannot
    check the objects that go in them."""
    return {d.key[2] for d in items if d.key[0] == "Namespace" and d.key not in current}


def _wait(kubectl: Kubectl, items: list[Desired], context: str, timeout: str) -> None:
    for d in items:
        kind, namespace, name = d.key
        if kind == "Namespace":
            kubectl.run(["wait", "--for=jsonpath={.status.phase}=Active", f"namespace/{name}",
                         f"--timeout={timeout}"], context)
        elif kind in ("Deployment", "StatefulSet", "DaemonSet"):
            kubectl.run(["rollout", "status", f"{kind.lower()}/{name}", "-n", namespace,
                         f"--timeout={timeout}"], context)


def apply_spaces(kubectl: Kubectl, fleet: Fleet, space_glob: str, unit: str | None = None,
                 where: str | None = None, filter_name: str | None = None, dry_run: bool = False,
                 prune: bool = False, wait: bool = True, timeout: str = "60s",
                 progress: Progress | None = None,
                 done: Callable[[Report], None] | None = None, revision: str | None = None,
                 live_read: bool = False) -> list[Report]:
    """``apply`` of every space the glob matches, one after another (``done`` hears each
    report as it is made); the first failure raises. A selection (--unit, --where,
    --filter) that matches no unit in any of them is an error before anything is applied.

    ``revision``: the units as they were then, main left as it is: a commit (tag, branch), or
    a number, with ``unit`` that unit's revision as ``gitops history`` numbers them, else the
    space's (the commits that changed ``spaces/S/``); negative counts back from the newest.
    What goes on from a commit other than main's head is annotated so (``Pinned``).
    ``live_read``: every object read from the cluster, the inventory not trusted (see ``plan``)."""
    number = None
    if revision is not None:
        from generator.operations import history  # not at start-up (50 ms): only --revision needs it

        number = history.revision_number(revision)
    source = Fleet.at(fleet.store, revision) if revision is not None and number is None else fleet
    spaces = source.match(space_glob)
    if unit is not None or where is not None or filter_name is not None:
        matched(source, space_glob, unit, where, filter_name)
    reports = []
    for space in spaces:
        at, pinned = _at_revision(fleet, source, space.name, unit, number)
        report = apply(kubectl, at, space.name, unit, where, filter_name, dry_run, prune, wait,
                       timeout, progress, pinned=pinned, live_read=live_read)
        reports.append(report)
        if done is not None:
            done(report)
    return reports


def _at_revision(fleet: Fleet, source: Fleet, space: str, unit: str | None,
                 number: int | None) -> tuple[Fleet, Pinned | None]:
    """The fleet ``space`` is applied from, and how that pins it: ``source`` (main, or the
    commit --revision named) when ``number`` is None, else the commit of revision ``number``
    of the unit (with ``unit``) or of the space."""
    from generator.operations import history

    if number is None:
        commit = source.store.head()
        return source, Pinned(commit) if commit and source is not fleet and commit != fleet.store.head() else None
    if unit is not None and unit not in fleet.space(space).units:
        return fleet, None  # nothing of this space is selected
    if unit is not None:
        wanted, found, _ = history.revision(fleet.store, UnitRef(space, unit), number)
    else:
        wanted, found = history.space_revision(fleet.store, space, number)
    at = fleet if found.id == fleet.store.head() else Fleet.at(fleet.store, found.id)
    return at, None if at is fleet else Pinned(found.id, wanted)


@dataclass
class Wave:
    """One order group of a space: its units, and those of them to apply."""

    order: int
    items: list[Desired]
    changed: list[Desired]


@dataclass
class SpacePlan:
    """What ``apply`` of one space does, decided from its inventory or one ``kubectl get``
    before any change."""

    space: str
    context: str
    namespace: str  # where the space's inventory is
    items: list[Desired]
    current: dict[tuple[str, str, str], Any]  # empty when the inventory covered the space
    waves: list[Wave]
    prune: list[tuple[str, str, str]]  # objects whose unit left git, in deletion order
    held: inventory.Held = field(default_factory=inventory.Held)
    covered: bool = False  # the inventory says the cluster has it all: nothing else was read


def plan(kubectl: Kubectl, fleet: Fleet, space: str, unit: str | None = None,
         where: str | None = None, filter_name: str | None = None, prune: bool = False,
         only_changed: bool = True, only: set[str] | None = None, pinned: Pinned | None = None,
         live_read: bool = False) -> SpacePlan:
    """Decide an apply of ``space`` (reads only): its units in waves, the ones the cluster
    already has from this very content left out (unless not ``only_changed``), and with
    ``prune`` the objects to delete. ``only`` restricts to those unit names; ``pinned``: the
    fleet is of an older revision, so annotated.

    First the space's inventory (one request): if it covers the selection, nothing is left to
    do and nothing else is read; if it does not, what it lists decides what differs (and what
    ``prune`` deletes), as the live objects would. Without one it can read (or with
    ``live_read``, or not ``only_changed``) one ``kubectl get`` of the space's objects decides;
    with ``live_read`` a unit whose object was edited by hand (a field git sets differs) is
    applied again too."""
    if prune and (unit or where or filter_name):
        raise GitopsError("--prune works on a whole space", "drop --unit/--where/--filter, or --prune")
    target = fleet.space(space).target
    context = target.context
    items = [d for d in desired(fleet, space, unit, where, filter_name, pinned)
             if only is None or d.ref.unit in only]
    grouped = waves(items, lambda d: d.order)
    held = inventory.Held()
    if only_changed and not live_read:
        held = inventory.read(kubectl, space, target.namespace, context)
        if held.covers({d.key: d.entry() for d in items}, prune):
            return SpacePlan(space, context, target.namespace, items, {},
                             [Wave(order, group, []) for order, group in grouped], [], held, covered=True)
    current = _as_live(held.entries) if held.state == "found" else live(kubectl, space, context, kinds(items))

    def changed(d: Desired) -> bool:
        return (not only_changed or not d.applied(current)
                or (live_read and bool(d.drift(current[d.key]))))

    planned = [Wave(order, group, [d for d in group if changed(d)]) for order, group in grouped]
    wanted = {d.key for d in items}
    going = deletion_order({key: obj for key, obj in current.items() if key not in wanted}) if prune else []
    return SpacePlan(space, context, target.namespace, items, current, planned, going, held)


def apply(kubectl: Kubectl, fleet: Fleet, space: str, unit: str | None = None,
          where: str | None = None, filter_name: str | None = None, dry_run: bool = False,
          prune: bool = False, wait: bool = True, timeout: str = "60s",
          progress: Progress | None = None, only_changed: bool = True,
          only: set[str] | None = None, pinned: Pinned | None = None, live_read: bool = False) -> Report:
    """Apply the selected units of ``space`` in order (``plan``, then ``execute``); see the
    module doc."""
    report = Report(space, fleet.store.head(), dry_run, pinned=pinned)
    with report.counting(kubectl):
        execute(kubectl, plan(kubectl, fleet, space, unit, where, filter_name, prune, only_changed, only, pinned,
                              live_read), report, wait, timeout, progress)
    return report


def execute(kubectl: Kubectl, planned: SpacePlan, report: Report, wait: bool = True,
            timeout: str = "60s", progress: Progress | None = None) -> None:
    """Carry out ``planned``: each wave applied server-side (a dry run if the report is one),
    then waited for; then the prunes; then the space's inventory written (``_keep_inventory``).
    A wave the cluster refuses stops it with ApplyError, saying what was and was not applied."""
    dry_run, context = report.dry_run, planned.context
    if planned.covered:
        report.unchanged += [str(d.ref) for d in planned.items]
        report.inventory = "covered"
        return
    head = ""  # the inventory without what is about to change, ahead of the first wave's objects
    if not dry_run and planned.held.may_exist and (planned.prune or any(w.changed for w in planned.waves)):
        if planned.held.state == "found" and any(w.changed for w in planned.waves):
            head = _pending(planned, report)
        else:
            _clear_inventory(kubectl, planned, report)
    for wave in planned.waves:
        report.unchanged += [str(d.ref) for d in wave.items if d not in wave.changed]
        changed = wave.changed
        if not changed:
            continue
        if progress:
            progress(f"order {wave.order}: {', '.join(d.ref.unit for d in changed)}")
        if dry_run:  # the server cannot check objects of a namespace this apply would create
            unmade = _unmade(planned.items, planned.current)
            report.unchecked += [str(d.ref) for d in changed if d.key[1] in unmade]
            report.applied += [str(d.ref) for d in changed if d.key[1] in unmade]
            changed = [d for d in changed if d.key[1] not in unmade]
            if not changed:
                continue
        carried, head = head, ""
        try:
            kubectl.run(_apply_args(dry_run), context, stdin=carried + stream(changed))
            if wait and not dry_run:
                _wait(kubectl, changed, context, timeout)
        except KubectlError as e:
            if carried:  # whether the smaller inventory went in is not known: none is safe
                with contextlib.suppress(KubectlError):
                    inventory.remove(kubectl, planned.space, planned.namespace, context)
            report.failed = f"order {wave.order} ({', '.join(d.ref.unit for d in changed)}): {e.message}"
            report.not_applied = [str(d.ref) for w in planned.waves if w.order >= wave.order
                                  for d in w.items if str(d.ref) not in report.unchanged]
            raise ApplyError(f"apply of {planned.space} stopped at order {wave.order}: {e.message}",
                             f"{len(report.applied)} unit(s) applied before it, "
                             f"{len(report.not_applied)} not applied; {e.hint}", report) from e
        report.applied += [str(d.ref) for d in changed]
    delete(kubectl, planned.prune, context, timeout, dry_run, report.pruned)
    if not dry_run:
        _keep_inventory(kubectl, planned, report)


def _pending(planned: SpacePlan, report: Report) -> str:
    """The inventory read, without the objects about to be applied or pruned, as a document
    to apply ahead of the first wave's objects (in the same ``kubectl apply``, before them): an
    apply that fails, or is stopped, part-way leaves an inventory that claims only what it did
    not touch. The plan's ``held`` becomes it."""
    going = {d.key for w in planned.waves for d in w.changed} | set(planned.prune)
    entries = {key: e for key, e in planned.held.entries.items() if key not in going}
    planned.held = inventory.Held("found", entries)
    return "---\n" + json.dumps(inventory.document(planned.space, planned.namespace, report.commit or "", entries)) + "\n"


def _clear_inventory(kubectl: Kubectl, planned: SpacePlan, report: Report) -> None:
    """Remove the space's inventory before the first change (when there is no inventory read
    to make a smaller one of, ``_pending``, or only prunes to make): an apply that fails, or is
    stopped, part-way leaves none that claims what it did not apply (the next apply reads the
    live objects). Cannot: nothing is applied."""
    try:
        inventory.remove(kubectl, planned.space, planned.namespace, planned.context)
        planned.held = inventory.Held("absent")
    except KubectlError as e:
        report.failed = f"inventory: {e.message}"
        report.not_applied = [str(d.ref) for w in planned.waves for d in w.changed]
        raise ApplyError(f"apply of {planned.space} could not remove its inventory: {e.message}",
                         f"nothing was applied; {e.hint}", report) from e


def _keep_inventory(kubectl: Kubectl, planned: SpacePlan, report: Report) -> None:
    """After a whole apply: the inventory made from the live objects read, with what was
    applied and without what was pruned, written unless it already says so. Failing to write
    it fails nothing (the next apply reads the live objects again): the report says so."""
    entries = {key: _entry(obj.get("metadata", {}).get("annotations", {})) for key, obj in planned.current.items()
               if HASH in obj.get("metadata", {}).get("annotations", {})
               and not obj.get("metadata", {}).get("deletionTimestamp")}
    applied = set(report.applied)
    entries.update({d.key: d.entry() for d in planned.items if str(d.ref) in applied})
    for key in planned.prune:
        entries.pop(key, None)
    if planned.held.state == "found" and entries == planned.held.entries and not report.applied:
        report.inventory = "current"
        return
    try:
        inventory.write(kubectl, planned.space, planned.namespace, planned.context, report.commit or "", entries)
        report.inventory = "written"
    except KubectlError as e:
        report.inventory = f"not written: {e.message}"


# --- all or nothing (changeset apply --deploy) ----------------------------------------------

# What the server sets on an object: left out when an object is put back as it was.
_SERVER_FIELDS = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation",
                  "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")
_SERVER_ANNOTATIONS = ("deployment.kubernetes.io/revision", "kubectl.kubernetes.io/last-applied-configuration")


@dataclass
class _Change:
    """One object an all-or-nothing apply changes, and the object as it was (None: absent)."""

    context: str
    key: tuple[str, str, str]
    wanted: Desired | None  # None: it goes, its unit having left git
    before: dict[str, Any] | None

    @property
    def order(self) -> int:
        """The wave it is applied in (a deletion: last; deletions go after the applies)."""
        return self.wanted.order if self.wanted else NO_ORDER

    @property
    def label(self) -> str:
        """SPACE/UNIT of what is applied; the object of what is deleted."""
        return str(self.wanted.ref) if self.wanted else _shown(*self.key)


def _as_before(obj: dict[str, Any]) -> dict[str, Any]:
    """A live object without what the server set, ready to be applied again."""
    meta = {k: v for k, v in obj.get("metadata", {}).items() if k not in _SERVER_FIELDS}
    if "annotations" in meta:
        meta["annotations"] = {k: v for k, v in meta["annotations"].items() if k not in _SERVER_ANNOTATIONS}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def _changes(kubectl: Kubectl, before: Fleet, after: Fleet, space: str, units: set[str],
             report: Report) -> list[_Change]:
    """The objects of ``units`` that differ between the two states of the repo, each with
    its live state now (one kubectl get); the ones already as ``after`` wants are unchanged."""
    new = [d for d in (desired(after, space) if space in after.spaces else []) if d.ref.unit in units]
    old = [d for d in (desired(before, space) if space in before.spaces else []) if d.ref.unit in units]
    context = (after if space in after.spaces else before).space(space).target.context
    current = live(kubectl, space, context, kinds(new + old))
    out = []
    for d in new:
        if d.applied(current):
            report.unchanged.append(str(d.ref))
        else:
            out.append(_Change(context, d.key, d, current.get(d.key)))
    keys = {d.key for d in new}
    out += [_Change(context, d.key, None, current[d.key]) for d in old if d.key not in keys and d.key in current]
    return out


def _check(kubectl: Kubectl, changes: list[_Change], timeout: str, report: Report) -> None:
    """A server-side dry run of every change, one space at a time: any refusal raises."""
    wanted = [c.wanted for c in changes if c.wanted]
    unmade = _unmade(wanted, {c.key: c.before for c in changes if c.before is not None})
    checked = [d for d in wanted if d.key[1] not in unmade]
    report.unchecked += [str(d.ref) for d in wanted if d.key[1] in unmade]
    context = changes[0].context
    if checked:
        kubectl.run(_apply_args(True), context, stdin=stream(checked))
    for c in changes:
        if c.wanted is None:
            kubectl.run(delete_args(*c.key, timeout, True), context)


def _put_back(kubectl: Kubectl, done: list[_Change], timeout: str, report: Report) -> list[str]:
    """Every change in ``done`` undone, newest first: re-applied as it was, or deleted if it
    was not there. Returns what could not be put back (with why)."""
    problems = []
    for c in reversed(done):
        try:
            if c.before is None:
                kubectl.run(delete_args(*c.key, timeout, False), c.context)
            else:
                kubectl.run(_apply_args(False), c.context, stdin=json.dumps(_as_before(c.before)))
            report.restored.append(c.label)
        except KubectlError as e:
            problems.append(f"{c.label}: {e.message}")
    return problems


def apply_all(kubectl: Kubectl, before: Fleet, after: Fleet, units: list[UnitRef], dry_run: bool = False,
              wait: bool = True, timeout: str = "60s", progress: Progress | None = None) -> Report:
    """All or nothing: the objects of ``units`` that differ between ``before`` and ``after`` (two
    states of the manifests repo) onto their clusters. First a server-side dry run of every
    change in every space: one refusal raises ApplyError with nothing applied. Then the applies,
    space by space in order groups, each group waiting for health, and the deletions of objects
    whose unit left git; if one fails, everything already done is put back as it was (re-applied
    from its live state before, or deleted where it was not there) and ApplyError says so."""
    spaces = sorted({ref.space for ref in units})
    report = Report(", ".join(spaces), after.store.head(), dry_run)
    with report.counting(kubectl):
        _apply_all(kubectl, before, after, units, spaces, report, wait, timeout, progress)
    return report


def _apply_all(kubectl: Kubectl, before: Fleet, after: Fleet, units: list[UnitRef], spaces: list[str],
               report: Report, wait: bool, timeout: str, progress: Progress | None) -> None:
    """Plan (the changes per space, one get each), check (a server-side dry run of all), then
    execute wave by wave, putting everything back on a failure."""
    planned: dict[str, list[_Change]] = {}
    for space in spaces:
        planned[space] = _changes(kubectl, before, after, space, {r.unit for r in units if r.space == space}, report)
    try:
        for space, changes in planned.items():
            if changes:
                if progress:
                    progress(f"checking {space}: {len(changes)} object(s), server-side dry run")
                _check(kubectl, changes, timeout, report)
    except KubectlError as e:
        report.failed = f"dry run: {e.message}"
        report.not_applied = [c.label for changes in planned.values() for c in changes]
        report.commit = None  # it did not land
        raise ApplyError(f"the cluster refuses the change: {e.message}",
                         f"nothing was applied (and nothing landed); {e.hint}", report) from e
    if report.dry_run:
        report.commit = None
        report.applied = [str(c.wanted.ref) for changes in planned.values() for c in changes if c.wanted]
        report.pruned = [_shown(*c.key) for changes in planned.values() for c in changes if c.wanted is None]
        return
    done: list[_Change] = []
    try:
        for space, changes in planned.items():  # no inventory may claim the old state meanwhile
            if changes:
                record = (after if space in after.spaces else before).space(space)
                inventory.remove(kubectl, space, record.target.namespace, changes[0].context)
        for space, changes in planned.items():
            for order, group in waves((c for c in changes if c.wanted), lambda c: c.order):
                wanted = [c.wanted for c in group if c.wanted]
                if progress:
                    progress(f"{space} order {order}: {', '.join(d.ref.unit for d in wanted)}")
                done += group  # before the call: kubectl may apply some of a stream and then fail
                kubectl.run(_apply_args(False), group[0].context, stdin=stream(wanted))
                if wait:
                    _wait(kubectl, wanted, group[0].context, timeout)
                report.applied += [str(d.ref) for d in wanted]
            going = sorted((c for c in changes if c.wanted is None), key=lambda c: -_live_order(c.before or {}))
            for c in going:
                done.append(c)
                kubectl.run(delete_args(*c.key, timeout, False), c.context)
                report.pruned.append(_shown(*c.key))
    except (KubectlError, KeyboardInterrupt) as e:  # Ctrl-C too: all or nothing
        report.failed = e.message if isinstance(e, KubectlError) else "interrupted"
        report.not_applied = [c.label for changes in planned.values() for c in changes if c not in done]
        report.commit = None
        if progress:
            progress(f"{report.failed}; putting back {len(done)} object(s)")
        problems = _put_back(kubectl, done, timeout, report)
        if problems:
            raise ApplyError(f"apply failed ({report.failed}) and {len(problems)} object(s) could not be "
                             f"put back: {'; '.join(problems)}",
                             "fix the cluster by hand, then run `gitops apply`; nothing landed in git", report) from e
        if isinstance(e, KeyboardInterrupt):
            raise
        raise ApplyError(f"apply failed, every object put back as it was: {e.message}",
                         f"nothing landed in git; {e.hint}", report) from e


@dataclass
class AllOrNothing:
    """The gate ``changeset apply --deploy`` gives ``changeset.apply``: the units the commit
    about to land changes go onto their clusters all or nothing (``apply_all``), before it lands."""

    kubectl: Kubectl
    wait: bool = True
    timeout: str = "60s"
    progress: Progress | None = None
    report: Report | None = None

    def __call__(self, store: Store, commit: str, dry_run: bool) -> None:
        refs = sorted({ref for ref in map(state.ref_of, store.changed(store.head(), commit, state.SPACES_DIR))
                       if ref is not None})
        if not refs:  # only records changed: no object to deploy
            return
        self.report = apply_all(self.kubectl, Fleet.load(store), Fleet.load(store.view(commit)), refs,
                                dry_run, self.wait, self.timeout, self.progress)


def _shown(kind: str, namespace: str, name: str) -> str:
    return f"{kind.lower()}/{name}" + (f" -n {namespace}" if namespace else "")
