"""``gitops render``: templates -> base space -> every downstream space, as one commit.

Work grows with what changed, not with the size of the fleet: a unit is regenerated only when
its fingerprint (its space's overlay + the blob id of its upstream unit) differs from the one
recorded at its last sync; an upstream unit is parsed once however many spaces derive from it;
no downstream file is read at all when nothing upstream of it changed.
"""

from __future__ import annotations

import hashlib
import json
import marshal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator import __version__
from generator import overlay as overlays
from generator import render as rendering
from generator import state, trailers, yamlio
from generator.config import Project
from generator.errors import RepoError
from generator.model import Overlay, Space, SpaceSpec, UnitRef, UnitState
from generator.operations.repo import Fleet
from generator.schema import SchemaValidator
from generator.store import Store, blob_id

Progress = Callable[[int, int], None]


@dataclass
class RenderPlan:
    """What a render would change: path -> new text (None deletes), and the units behind it."""

    changes: dict[str, str | None] = field(default_factory=dict)
    units: list[UnitRef] = field(default_factory=list)
    spaces: list[str] = field(default_factory=list)
    all_units: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderResult:
    commit: str | None
    changed: list[str]  # paths, sorted
    units: list[UnitRef]
    spaces: list[str]


def _fingerprint(*parts: str) -> str:
    """A hash of inputs. A unit's: what of its space's overlay touches it, and its upstream's
    blob id. A space's: its whole overlay and every upstream blob, so an untouched space is
    recognised without looking at its units."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _unit_fingerprint(overlay: Overlay, unit: str, upstream_blob: str) -> str:
    parts = json.dumps([__version__, overlays.inputs(overlay, unit)], sort_keys=True, default=str)
    return _fingerprint(parts, upstream_blob)


class _Planner:
    def __init__(self, project: Project, fleet: Fleet, progress: Progress | None) -> None:
        self.project = project
        self.fleet = fleet
        self.plan = RenderPlan()
        self.validator = SchemaValidator(project.kubernetes_version)
        self.progress = progress
        self.current: dict[UnitRef, tuple[str, Callable[[], Any]]] = {}  # blob id, data loader
        self._labels: dict[tuple[str, str | None], dict[str, str]] = {}
        self.sorted_names = sorted(project.unit_names())
        self.valid: set[bytes] = set()
        self.emitter = yamlio.Emitter()
        self.parsed: dict[UnitRef, Any] = {}
        self._touched: set[str] = set()
        self._blobs_of: dict[str, tuple[str, ...]] = {}

    def _unit_labels(self, unit: str, environment: str | None) -> dict[str, str]:
        key = (unit, environment)
        if key not in self._labels:
            self._labels[key] = rendering.unit_labels(self.project.values, unit, environment)
        return self._labels[key]

    def _validate(self, data: Any, ref: UnitRef) -> None:
        """Validate, skipping data already found valid up to namespace and label values: the
        schema types both as free strings, and they are what most regions differ in."""
        metadata = data.get("metadata") if isinstance(data, dict) else None
        shape = data
        if isinstance(metadata, dict):
            normal = dict(metadata)
            if isinstance(normal.get("namespace"), str):
                normal["namespace"] = ""
            if isinstance(normal.get("labels"), dict):
                normal["labels"] = {k: "" if isinstance(v, str) else v
                                    for k, v in normal["labels"].items()}
            shape = {**data, "metadata": normal}
        # marshal version 2 writes no back-references, so equal data gives equal bytes.
        key = hashlib.sha1(marshal.dumps(shape, 2)).digest()  # noqa: S324 - a cache key
        if key not in self.valid:
            self.validator.validate(data, str(ref))
            self.valid.add(key)

    def _record(self, space: Space) -> None:
        if self.fleet.spaces.get(space.name) != space:
            self.plan.changes[state.record_path(space.name)] = state.dump_space(space)
            self._touch(space.name)
        self.plan.all_units[space.name] = list(space.units)

    def _touch(self, space: str) -> None:
        if space not in self._touched:
            self._touched.add(space)
            self.plan.spaces.append(space)

    def _write(self, ref: UnitRef, text: str, blob: str) -> None:
        path = state.unit_path(ref)
        if self.fleet.blobs.get(path) == blob:  # regenerated, but to what it already is
            return
        self.plan.changes[path] = text
        self.plan.units.append(ref)
        self._touch(ref.space)

    def _delete_gone(self, space: str, keep: set[str]) -> None:
        old = self.fleet.spaces.get(space)
        for unit in sorted(set(old.units) - keep) if old else []:
            ref = UnitRef(space, unit)
            self.plan.changes[state.unit_path(ref)] = None
            self.plan.units.append(ref)

    def _reuse(self, name: str, fingerprint: str) -> bool:
        """True when the space's record says it was made from exactly these inputs and every
        unit file is still there: its units are then taken as they are, unread."""
        records = self.fleet.spaces
        if records.fingerprint(name) != fingerprint or records.unit_names(name) != self.sorted_names:
            return False
        if not all(f"{state.SPACES_DIR}/{name}/{unit}.yaml" in self.fleet.blobs
                   for unit in self.sorted_names):
            return False
        self.plan.all_units[name] = self.project.unit_names()
        return True

    def _current(self, ref: UnitRef) -> tuple[str, Callable[[], Any]]:
        """(blob id, data loader) of a unit as this render leaves it: as planned, or as it is."""
        if ref in self.current:
            return self.current[ref]
        return self.fleet.blobs[state.unit_path(ref)], lambda: self.fleet.data(ref)

    def _upstream_blobs(self, space: str) -> tuple[str, ...]:
        if space not in self._blobs_of:
            self._blobs_of[space] = tuple(self._current(UnitRef(space, unit))[0]
                                          for unit in self.project.unit_names())
        return self._blobs_of[space]

    def base(self) -> None:
        spec = self.project.base
        if self._reuse(spec.name, spec.fingerprint):
            return
        old = self.fleet.spaces.get(spec.name)
        texts = rendering.render_base(self.project.templates, self.project.values)
        units: dict[str, UnitState] = {}
        for unit, text in texts.items():
            ref = UnitRef(spec.name, unit)
            path = state.unit_path(ref)
            data = yamlio.load(text, f"{rendering.unit_template(unit)} (rendered)")
            self._validate(data, ref)
            origin = blob_id(text)
            labels = self._unit_labels(unit, spec.labels.get("environment"))
            previous = old.units.get(unit) if old else None
            if previous and previous.origin == origin and path in self.fleet.blobs:
                head = self.fleet.blobs[path]
                self.current[ref] = (head, (lambda d=data, r=ref, h=head, o=origin:
                                            d if h == o else self.fleet.data(r)))
            else:
                self._write(ref, text, origin)
                self.current[ref] = (origin, lambda d=data: d)
            units[unit] = UnitState(labels, None, origin, origin)
        self._delete_gone(spec.name, set(texts))
        self._record(Space(spec.name, spec.labels, None, spec.target, "config",
                           spec.fingerprint, units))

    def downstream(self, spec: SpaceSpec) -> None:
        assert spec.overlay is not None and spec.upstream is not None
        inputs = _fingerprint(spec.fingerprint, *self._upstream_blobs(spec.upstream))
        if self._reuse(spec.name, inputs):
            return
        old = self.fleet.spaces.get(spec.name)
        units: dict[str, UnitState] = {}
        for unit in self.project.unit_names():
            up = UnitRef(spec.upstream, unit)
            ref = UnitRef(spec.name, unit)
            path = state.unit_path(ref)
            up_blob, up_data = self._current(up)
            fingerprint = _unit_fingerprint(spec.overlay, unit, up_blob)
            labels = self._unit_labels(unit, spec.labels.get("environment"))
            previous = old.units.get(unit) if old else None
            if previous and previous.fingerprint == fingerprint and path in self.fleet.blobs:
                units[unit] = (previous if previous.labels == labels and previous.upstream == up
                               else UnitState(labels, up, previous.origin, fingerprint))
                continue
            if up not in self.parsed:
                self.parsed[up] = up_data()
                self.emitter.share(self.parsed[up])
            data = overlays.apply(self.parsed[up], spec.overlay, unit)
            self._validate(data, ref)
            text = self.emitter.dump(data)
            origin = blob_id(text)
            self._write(ref, text, origin)
            self.current[ref] = (origin, lambda d=data: d)
            units[unit] = UnitState(labels, up, origin, fingerprint)
        self._delete_gone(spec.name, set(units))
        self._record(Space(spec.name, spec.labels, spec.upstream, spec.target, "config",
                           inputs, units))

    def removed_spaces(self) -> None:
        defined = {self.project.base.name, *(s.name for s in self.project.spaces)}
        for name in sorted(self.fleet.spaces):
            if self.fleet.spaces.managed_by(name) == "config" and name not in defined:
                self._delete_gone(name, set())
                self.plan.changes[state.record_path(name)] = None
                self._touch(name)

    def run(self) -> RenderPlan:
        total = len(self.project.spaces) + 1
        self.base()
        if self.progress:
            self.progress(1, total)
        for i, spec in enumerate(self.project.spaces, start=2):
            self.downstream(spec)
            if self.progress:
                self.progress(i, total)
        self.removed_spaces()
        return self.plan


def plan(project: Project, store: Store, progress: Progress | None = None) -> RenderPlan:
    """Compute what a render would change, without writing anything."""
    return _Planner(project, Fleet.load(store), progress).run()


def stale(project: Project, store: Store) -> list[str]:
    """``render --check``: the paths that differ from what would be rendered (empty: up to date)."""
    planned = plan(project, store)
    current = store.tree(state.SPACES_DIR, ".gitops")
    return sorted(
        path for path, text in planned.changes.items()
        if (path in current if text is None else current.get(path) != blob_id(text))
    )


def render(project: Project, repo: Path, message: str | None = None, author: str | None = None,
           reason: str | None = None, progress: Progress | None = None) -> tuple[Store, RenderResult]:
    """Render into the repo at ``repo`` (``git init`` when missing) and commit; no commit when
    nothing changed. A repo created here is removed again if the render fails."""
    created = not Store.exists(repo)
    store = Store.open(repo, create=True)
    try:
        return store, _render(project, store, message, author, reason, progress)
    except BaseException:
        if created:
            store.discard_new()
        raise


def _render(project: Project, store: Store, message: str | None, author: str | None,
            reason: str | None, progress: Progress | None) -> RenderResult:
    with store.lock():
        dirty = store.dirty(state.SPACES_DIR, ".gitops")
        if dirty:
            raise RepoError(
                f"uncommitted changes in the manifests repo: {', '.join(dirty[:3])}"
                + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else ""),
                "commit them (they become local edits) or discard them with `git checkout -- PATH`",
            )
        planned = plan(project, store, progress)
        units = planned.units
        summary = message or (
            f"render: {len(units)} unit{'s' * (len(units) != 1)} in "
            f"{len(planned.spaces)} space{'s' * (len(planned.spaces) != 1)}"
        )
        change = trailers.Change(summary, "render", tuple(planned.spaces),
                                 tuple(trailers.units_field(units, planned.all_units)), reason)
        commit = store.commit(planned.changes, trailers.message(change), author=author)
    if commit is None:
        return RenderResult(None, [], [], [])
    return RenderResult(commit, sorted(planned.changes), units, planned.spaces)

