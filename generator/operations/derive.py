"""The one mechanism behind render, upgrade, promote and unit edits (DESIGN.md, "How a unit's
content is made"):

    generated(unit) = overlay(upstream unit as it is now, space overlay)
    unit on disk    = merge3(origin = generated at last sync, update = generated now, local)

An ``Engine`` plans changes to a fleet without writing anything: the new text of each unit,
the origins of units with local edits (``.gitops/origins/``), the space records, and the
conflicts. Work grows with what changed: a unit whose upstream blob and overlay inputs are what
its record says is not generated again; a unit without local edits takes the generated text
without being parsed; an upstream unit is parsed once for every space derived from it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import marshal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from generator import __version__, guard, merge, merge3, state, yamlio
from generator import overlay as overlays
from generator.errors import GitopsError, NotFoundError
from generator.model import Conflict, Overlay, Space, Target, UnitRef, UnitState
from generator.operations.checks import Checks
from generator.operations.fleet import Fleet
from generator.blobs import blob_id

Loader = Callable[[], Any]


class CycleError(GitopsError):
    """Spaces whose upstreams lead back to themselves."""


def fingerprint(*parts: str) -> str:
    """A hash of inputs: when they are unchanged, what they make is unchanged."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def unit_fingerprint(overlay: Overlay | None, unit: str, upstream_blob: str,
                     upstream_unit: str | None = None) -> str:
    """A derived unit's inputs: what of its space's overlay touches it, and its upstream (and,
    for a clone under another name, that name).

    repr, not sorted JSON: five times cheaper, and as stable for what it hashes (the overlay
    keeps the order of the file it was read from).
    """
    inputs = overlays.inputs(overlay, unit) if overlay is not None else None
    parts: tuple[Any, ...] = (__version__, inputs)
    if upstream_unit is not None and upstream_unit != unit:
        parts += (upstream_unit,)
    return fingerprint(repr(parts), upstream_blob)


class DuplicateObjectError(GitopsError):
    """Two units of one space that are the same Kubernetes object."""


def object_id(data: Any, namespace: str) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace, name) of a manifest: what makes it one object in a
    cluster (a namespaced object without a namespace goes to the space's ``namespace``)."""
    api, kind, ns, name = merge.resource_id(data)
    return (api, kind, "" if kind in overlays.CLUSTER_SCOPED else ns or namespace, name)


@dataclass
class Plan:
    """What a mutation would change: path -> new text (None deletes), and why."""

    changes: dict[str, str | None] = field(default_factory=dict)
    units: list[UnitRef] = field(default_factory=list)  # units whose manifest changes
    spaces: list[str] = field(default_factory=list)  # spaces touched, in order
    conflicts: list[Conflict] = field(default_factory=list)
    all_units: dict[str, list[str]] = field(default_factory=dict)  # for `space/*` in trailers
    before: dict[str, str | None] = field(default_factory=dict)  # old blob id of changed units
    restored: str | None = None  # a rollback: what came back (the Gitops-Restored-From trailer)
    summary: str | None = None  # the commit's first line, when the planner knows it best
    notes: list[str] = field(default_factory=list)  # what else a person must hear (and the commit says)


class Draft:
    """A plan being made for one fleet: its writes (each checked by ``checks``), and reads that
    see them (an upgraded upstream included). Knows nothing of how a unit is made: ``Engine``."""

    def __init__(self, fleet: Fleet, kubernetes_version: str,
                 allowed: Sequence[guard.Allowed] | None = None) -> None:
        self.fleet = fleet
        self.checks = Checks(kubernetes_version, fleet.settings.allow if allowed is None else allowed)
        self.emitter = yamlio.Emitter()
        self.specs = overlays.Specs(self.emitter.share)  # one spec for the spaces that make it alike
        self.plan = Plan()
        self._planned: dict[UnitRef, tuple[str, Loader, str]] = {}  # blob, data, text
        self._parsed: dict[UnitRef, Any] = {}
        self._written: set[UnitRef] = set()
        self._touched: set[str] = set()
        self._recheck: set[str] = set()  # spaces where a unit may now be another's object
        self._removed: set[UnitRef] = set()
        self.records: dict[str, Space] = {}  # spaces as this plan leaves them

    # --- reading, as the plan leaves things -----------------------------------------------

    def space(self, name: str) -> Space:
        return self.records[name] if name in self.records else self.fleet.space(name)

    def has_space(self, name: str) -> bool:
        return name in self.records or name in self.fleet.spaces

    def blob(self, ref: UnitRef) -> str | None:
        """The unit's blob id as this plan leaves it (None: no such file)."""
        if self._removed and ref in self._removed:
            return None
        planned = self._planned.get(ref)
        if planned is not None:
            return planned[0]
        return self.fleet.blobs.get(state.unit_path(ref))

    def text(self, ref: UnitRef) -> str:
        return self._planned[ref][2] if ref in self._planned else self.fleet.text(ref)

    def data(self, ref: UnitRef) -> Any:
        """The unit's manifest as this plan leaves it, parsed once per command."""
        if ref not in self._parsed:
            if ref in self._planned:
                self._parsed[ref] = self._planned[ref][1]()
            else:
                self._parsed[ref] = self.fleet.data(ref)
            self.emitter.share(self._parsed[ref])
        return self._parsed[ref]

    def _as_planned(self, ref: UnitRef) -> Any:
        """The unit's manifest as this plan leaves it, for a look only (``data`` also marks it
        shared for the emitter: a walk over all of it, too dear for a whole fleet)."""
        return self._planned[ref][1]() if ref in self._planned else self.fleet.data(ref)

    def exists(self, ref: UnitRef) -> bool:
        """Whether a unit exists as this plan leaves things."""
        return self.has_space(ref.space) and ref.unit in self.space(ref.space).units

    def require(self, ref: UnitRef, by: UnitRef | str) -> None:
        """An upstream must exist: a missing one is a clear error naming who needs it."""
        if not self.exists(ref):
            raise NotFoundError(f"{by}: its upstream {ref} does not exist",
                                f"restore {ref}, or relink the unit (gitops unit create --upstream-space ...)")

    # --- one unit, one object --------------------------------------------------------------

    def recheck(self, space: str) -> None:
        """A unit of ``space`` may now be the same object as another: check before the end."""
        self._recheck.add(space)

    def finish(self) -> Plan:
        """The plan, once every space it may have given two units of one object is checked."""
        for name in sorted(self._recheck):
            if not self.has_space(name):
                continue
            space = self.space(name)
            seen: dict[tuple[str, str, str, str], str] = {}
            for unit in sorted(space.units):
                ref = UnitRef(name, unit)
                if self.blob(ref) is None:
                    continue
                key = object_id(self._as_planned(ref), space.target.namespace)
                if key in seen:
                    api, kind, ns, obj = key
                    raise DuplicateObjectError(
                        f"{name}/{seen[key]} and {name}/{unit} are the same Kubernetes object "
                        f"({kind} {obj}{' in ' + ns if ns else ''}, {api})",
                        "give one of them another metadata.name; a clone made with `gitops unit "
                        "create NEW --upstream-unit U` is named NEW")
                seen[key] = unit
        self._recheck.clear()  # checked: a later finish checks only what was planned since
        return self.plan

    # --- writing into the plan -------------------------------------------------------------

    def touch(self, space: str) -> None:
        if space not in self._touched:
            self._touched.add(space)
            self.plan.spaces.append(space)

    def write(self, ref: UnitRef, text: str, blob: str, data: Loader) -> None:
        """Plan ``ref``'s new content (nothing when it already is that). Whatever is written
        passes the secret guard, content copied unchanged from upstream included."""
        if self.blob(ref) == blob:
            return
        self.checks.written(blob, data, ref)
        path = state.unit_path(ref)
        if path not in self.fleet.blobs and ref not in self._planned:
            self.recheck(ref.space)  # a new file: a new object in the space
        self._removed.discard(ref)
        if ref not in self._planned:
            self.plan.before[path] = self.fleet.blobs.get(path)
        self._planned[ref] = (blob, data, text)
        self._parsed.pop(ref, None)
        self.plan.changes[path] = text
        if ref not in self._written:
            self._written.add(ref)
            self.plan.units.append(ref)
        self.touch(ref.space)

    def remove(self, ref: UnitRef) -> None:
        self._removed.add(ref)
        self._planned.pop(ref, None)
        self._parsed.pop(ref, None)
        path = state.unit_path(ref)
        if path in self.fleet.blobs:
            self.plan.before[path] = self.fleet.blobs[path]
            self.plan.changes[path] = None
            if ref not in self._written:
                self._written.add(ref)
                self.plan.units.append(ref)
        else:  # made earlier in this plan: never written after all
            self.plan.changes.pop(path, None)
        if state.origin_path(ref) in self.fleet.blobs:
            self.plan.changes[state.origin_path(ref)] = None
        else:
            self.plan.changes.pop(state.origin_path(ref), None)
        self.touch(ref.space)

    def record(self, space: Space) -> None:
        """Plan a space's record (written only when it changed)."""
        self.records[space.name] = space
        for unit in space.deleted:  # a unit deleted by hand: its origin goes with it
            path = state.origin_path(UnitRef(space.name, unit))
            if path in self.fleet.blobs and path not in self.plan.changes:
                self.plan.changes[path] = None
        old = self.fleet.spaces.get(space.name)
        # (A record that disagrees with its files, after a hand-made commit, is rewritten.)
        if old != space or (space.name in self.fleet.spaces and not self.fleet.spaces.consistent(space.name)):
            self.plan.changes[state.record_path(space.name)] = state.dump_space(space, self.fleet.spaces.lines(space.name))
            self.touch(space.name)
        self.plan.all_units[space.name] = list(space.units)

    def record_edited(self, space: Space) -> None:
        """Plan the record of a space whose units a person added or removed: its fingerprint
        follows, so that the next render finds nothing to do."""
        if any(unit.upstream for unit in space.units.values()):
            space = dataclasses.replace(space, fingerprint=self.space_inputs(space))
        self.record(space)

    def space_inputs(self, space: Space) -> str:
        """Everything a space's units are made from (see ``space_inputs``)."""
        return space_inputs(space.overlay, space.labels, space.target, [
            (u, s.upstream, self.blob(s.upstream) if s.upstream else None, s.labels)
            for u, s in space.units.items()])

    def drop_space(self, name: str) -> None:
        for unit in self.space(name).units:
            self.remove(UnitRef(name, unit))
        self.plan.changes[state.record_path(name)] = None
        self.records.pop(name, None)
        self.touch(name)

    def _keep_origin(self, ref: UnitRef, result_blob: str, generated: str, generated_blob: str) -> None:
        """Keep the generated text under .gitops/origins/ while the unit differs from it (it is
        the next merge's origin, and what `gitops overrides` compares with); drop it after."""
        path = state.origin_path(ref)
        if result_blob != generated_blob:
            self.plan.changes[path] = generated
        elif path in self.fleet.blobs or self.plan.changes.get(path):
            self.plan.changes[path] = None


class Engine(Draft):
    """Plans changes to one fleet by the one mechanism (see the module doc)."""

    def __init__(self, fleet: Fleet, kubernetes_version: str, prefer: str = "local",
                 allowed: Sequence[guard.Allowed] | None = None) -> None:
        super().__init__(fleet, kubernetes_version, allowed)
        self.prefer = prefer
        self._old_upstreams: dict[str, Any] = {}  # upstream blob -> data, as it was
        self._shared_olds: dict[tuple[str, str], Any] = {}  # (old, new) blob -> old, see share_equal

    def reconcile(self, ref: UnitRef, previous: UnitState | None, generated: str,
                  generated_data: Loader, update: str | None = None) -> str:
        """unit = merge3(origin, update, local), where update is the generated text (or, when
        upstream values were preferred over the overlay's, ``update``); the generated text is
        the next origin. Returns its blob id."""
        generated_blob = blob_id(generated)
        update = generated if update is None else update
        update_blob = generated_blob if update is generated else blob_id(update)
        local_blob = self.blob(ref)
        if previous is None or local_blob is None or local_blob == previous.origin:
            data = generated_data if update is generated else (lambda: yamlio.load(update, str(ref)))
            self.write(ref, update, update_blob, data)  # no local edits
            self._keep_origin(ref, update_blob, generated, generated_blob)
            return generated_blob
        if update_blob == previous.origin:
            return generated_blob  # upstream made no difference here: the local edits stand
        origin_text = self.fleet.store.read_blob(previous.origin)
        merged, conflicts = merge.merge3(origin_text, update, self.text(ref), self.prefer)
        self.plan.conflicts += [dataclasses.replace(c, ref=ref) for c in conflicts]
        merged_data = yamlio.load(merged, f"{ref} (merged)")
        self.checks.validate(merged_data, ref)
        merged_blob = blob_id(merged)
        self.write(ref, merged, merged_blob, lambda: merged_data)
        self._keep_origin(ref, merged_blob, generated, generated_blob)
        return generated_blob

    def derive(self, space: Space, unit: str, force: bool = False,
               overlay_changed: bool = True) -> UnitState | None:
        """Bring one unit of ``space`` up to date with its upstream; returns its new state
        (None: it is gone, as its upstream is)."""
        ref = UnitRef(space.name, unit)
        previous = space.units[unit]
        if previous.upstream is None:
            return previous
        up = previous.upstream
        if not self.exists(up):
            return self.dropped(ref, previous)
        up_blob = self.blob(up)
        assert up_blob is not None
        present = self.blob(ref) is not None
        if not force and not overlay_changed and previous.upstream_blob == up_blob and present:
            return previous  # same upstream, same overlay: nothing to do, nothing to hash
        inputs = unit_fingerprint(space.overlay, unit, up_blob, up.unit)
        if not force and previous.fingerprint == inputs and present:
            return previous
        if previous.upstream_blob and previous.upstream_blob != up_blob:
            self._note_identity(space, previous.upstream_blob, up)
        if space.overlay is None and up.unit == unit:
            generated = self.reconcile(ref, previous, self.text(up), lambda: self.data(up))
        else:
            data = self.data(up)
            if space.overlay is not None:
                data = overlays.apply(data, space.overlay, unit, self.specs)
                if object_id(data, "")[3] != object_id(self.data(up), "")[3]:
                    self.recheck(space.name)  # the overlay's patch renamed it
            if up.unit != unit:
                data = overlays.rename(data, unit)  # a clone is its own object
            self.checks.validate(data, ref)
            text = self.emitter.dump(data)
            update = self._pinned(ref, previous, up_blob, data)
            generated = self.reconcile(ref, previous, text, lambda: data, update)
        return dataclasses.replace(previous, origin=generated, fingerprint=inputs,
                                   upstream_blob=up_blob)

    def dropped(self, ref: UnitRef, previous: UnitState) -> UnitState | None:
        """What it derives from was deleted: an unedited unit goes too; one with local edits
        stays, as a unit of its own, and is reported (with prefer=upstream it goes, reported).
        Returns its state, or None when it is gone."""
        blob = self.blob(ref)
        if blob is None:
            return None
        if blob == previous.origin:
            self.remove(ref)
            self.plan.notes.append(f"removed {ref}: {previous.upstream or 'its template'} was deleted "
                                   "and it had no local edits")
            return None
        chosen = "local" if self.prefer == "local" else "upstream"
        self.plan.conflicts.append(Conflict("(unit)", "present", "deleted upstream", "edited locally",
                                            chosen, ref))
        if chosen == "upstream":
            self.remove(ref)
            return None
        if state.origin_path(ref) in self.fleet.blobs:
            self.plan.changes[state.origin_path(ref)] = None
        self.touch(ref.space)
        return dataclasses.replace(previous, upstream=None, origin=blob, fingerprint=blob,
                                   upstream_blob=None, local=True)

    def _note_identity(self, space: Space, old_blob: str, up: UnitRef) -> None:
        """Upstream changed: if it became another object, the space is checked at the end."""
        if old_blob not in self._old_upstreams:
            self._old_upstreams[old_blob] = yamlio.load(self.fleet.store.read_blob(old_blob),
                                                        f"{up} (before)")
        old = object_id(self._old_upstreams[old_blob], "")
        if old != object_id(self.data(up), ""):
            self.recheck(space.name)

    def _pinned(self, ref: UnitRef, previous: UnitState, up_blob: str, generated: Any) -> str | None:
        """Upstream changed a field the overlay sets (the base's replicas under eu's 5): a
        conflict. The overlay's value stays, or with prefer=upstream the upstream's is taken
        (then returned: the text to merge in instead of the generated one)."""
        if not previous.upstream_blob or previous.upstream_blob == up_blob:
            return None
        if previous.upstream_blob not in self._old_upstreams:
            self._old_upstreams[previous.upstream_blob] = yamlio.load(
                self.fleet.store.read_blob(previous.upstream_blob), f"{previous.upstream} (before)")
        assert previous.upstream is not None
        new = self.data(previous.upstream)
        pair = (previous.upstream_blob, up_blob)
        if pair not in self._shared_olds:  # once per upstream change, for every space it reaches
            self._shared_olds[pair] = share_equal(self._old_upstreams[previous.upstream_blob], new)
        old = self._shared_olds[pair]
        # The namespace and labels are the overlay's by design: never a conflict.
        conflicts = [c for c in merge.overridden(old, new, generated) if not c.path.startswith("metadata.")]
        if not conflicts:
            return None
        if self.prefer != "upstream":
            self.plan.conflicts += [dataclasses.replace(c, ref=ref) for c in conflicts]
            return None
        # generated is plain data: marshal copies it far faster than deepcopy
        merged, found = merge.merge3_data(old, new, marshal.loads(marshal.dumps(generated)), "upstream")
        self.plan.conflicts += [dataclasses.replace(c, ref=ref) for c in found
                                if not c.path.startswith("metadata.")]
        self.checks.validate(merged, ref)
        return self.emitter.dump(merged)

    def derive_space(self, space: Space, units: Iterable[str] | None = None,
                   force: bool = False, inputs: str | None = None) -> Space:
        """Bring a space's units (all, or ``units``) up to date with their upstreams
        (``inputs``: its space_inputs, when the caller already has them)."""
        if not any(unit.upstream for unit in space.units.values()):
            self.records[space.name] = space  # a space of its own (the base): nothing upstream
            self.plan.all_units[space.name] = list(space.units)
            return space
        inputs = inputs or self.space_inputs(space)
        if units is None and not force:
            if space.fingerprint == inputs and all(
                    state.unit_path(UnitRef(space.name, u)) in self.fleet.blobs for u in space.units):
                self.plan.all_units[space.name] = list(space.units)
                self.records[space.name] = space
                return space
        chosen = list(space.units) if units is None else list(units)
        new_units = dict(space.units)
        recorded = self.fleet.spaces.get(space.name)
        overlay_changed = recorded is None or recorded.overlay != space.overlay
        relinked = False  # a unit went with its upstream, or lost it
        for unit in chosen:
            derived = self.derive(space, unit, force, overlay_changed)
            if derived is None:
                new_units.pop(unit, None)
            else:
                new_units[unit] = derived
            relinked |= derived is None or derived.upstream != space.units[unit].upstream
        synced = dataclasses.replace(space, units=new_units)
        if relinked or any(u.upstream and u.upstream.space == space.name for u in new_units.values()):
            inputs = self.space_inputs(synced)  # the inputs are what is left now (or a unit
            # derived from its own space moved)
        synced = dataclasses.replace(synced, fingerprint=inputs)
        self.record(synced)
        return synced

    def merge_from(self, target: UnitRef, source: UnitRef) -> None:
        """Lateral: carry what ``source`` changed relative to its own upstream into ``target``
        (origin = what source was generated as, update = source now, local = target)."""
        source_state = self.space(source.space).units[source.unit]
        target_state = self.space(target.space).units[target.unit]
        origin = self.fleet.store.read_blob(source_state.origin)
        merged, conflicts = merge.merge3(origin, self.text(source), self.text(target), self.prefer)
        self.plan.conflicts += [dataclasses.replace(c, ref=target) for c in conflicts]
        self.set_local(target, merged, target_state)

    def set_local(self, ref: UnitRef, text: str, unit_state: UnitState, data: Any = None,
                  was: tuple[str, str, str, str] | None = None) -> None:
        """A local edit of ``ref``: checked, written, and its origin kept beside it. ``data``:
        ``text`` parsed, when the caller has it (plain data that the emitter wrote as ``text``);
        ``was``: the unit's object_id before the edit, when the caller has it."""
        if data is None:
            data = yamlio.load(text, str(ref))
        self.checks.validate(data, ref)
        blob = blob_id(text)
        before = self.blob(ref)
        if was is None and before is not None:
            was = object_id(self._as_planned(ref), "")
        if before is not None and object_id(data, "") != was:
            self.recheck(ref.space)  # the edit made it another object
        # A unit without local edits yet is its origin: its text is at hand, no blob to read.
        generated = (self.text(ref) if before == unit_state.origin
                     else self.fleet.store.read_blob(unit_state.origin))
        self.write(ref, text, blob, lambda: data)
        self._keep_origin(ref, blob, generated, unit_state.origin)


def share_equal(old: Any, new: Any) -> Any:
    """``old`` with each subtree that is strictly equal (merge3.equal) to ``new``'s at the same
    place replaced by that very object of ``new``: equal as before, but comparing the two
    (merge.overridden, for a thousand spaces) is one identity check wherever upstream changed
    nothing. Neither is changed."""
    if isinstance(old, (dict, list)) and type(old) is type(new) and merge3.equal(old, new):
        return new
    if isinstance(old, dict) and isinstance(new, dict):
        return {k: share_equal(v, new[k]) if k in new else v for k, v in old.items()}
    if isinstance(old, list) and isinstance(new, list):
        return [share_equal(o, n) for o, n in zip(old, new)] + old[len(new):]
    return old


def space_inputs(overlay: Overlay | None, labels: dict[str, str], target: Target,
                 units: Iterable[tuple[str, UnitRef | None, str | None, dict[str, str]]]) -> str:
    """A space's fingerprint: its overlay, labels and target, and per unit its upstream, that
    upstream's blob and its labels. Equal to the record's: nothing in the space needs work.
    Computable from a config spec without building the Space (a no-op render of 1000 spaces).

    It hashes ``repr((__version__, overlay, labels, context, namespace, rows))``, the rows
    sorted; a row's repr is made once per command for the many spaces that share it (the
    same units of the same upstream, labelled alike: a fleet's regions).
    """
    rows = [(name, str(up) if up else "", blob or "", tuple(unit_labels.items()))
            for name, up, blob, unit_labels in units]
    head = repr((__version__, state.dump_overlay(overlay), sorted(labels.items()),
                 target.context, target.namespace))
    if len({row[0] for row in rows}) == len(rows):  # names differ: sorting by name sorts the rows
        rows.sort(key=lambda row: row[0])
        body = "[" + ", ".join(_row_repr(*row) for row in rows) + "]"
    else:
        body = repr(sorted((name, up, blob, tuple(sorted(items))) for name, up, blob, items in rows))
    return fingerprint(f"{head[:-1]}, {body})")  # the repr of the 6-tuple


@lru_cache(maxsize=8192)
def _row_repr(name: str, upstream: str, blob: str, labels: tuple[tuple[str, str], ...]) -> str:
    return repr((name, upstream, blob, tuple(sorted(labels))))


def order(spaces: dict[str, Space]) -> list[str]:
    """Space names, every upstream before what derives from it; a cycle is an error."""
    done: list[str] = []
    marks: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if marks.get(name) == "done":
            return
        if marks.get(name) == "open":
            cycle = path[path.index(name):] + [name]
            raise CycleError(f"upstream cycle: {' -> '.join(cycle)}",
                             "relink one of these spaces' units to an upstream outside the cycle")
        marks[name] = "open"
        for unit in spaces[name].units.values():
            if unit.upstream and unit.upstream.space in spaces and unit.upstream.space != name:
                visit(unit.upstream.space, path + [name])
        marks[name] = "done"
        done.append(name)

    for name in sorted(spaces):
        visit(name, [])
    return done
