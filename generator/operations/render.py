"""``gitops render``: templates -> base space -> every downstream space, as one commit.

The base is rendered from the templates and merged with its local edits; every space the
config dir defines takes its labels, target and overlay from it; then every space is brought
up to date with its upstream, upstreams first (operations/derive.py does the merging). Work grows
with what changed: an untouched space is recognised from its record's fingerprint alone.
"""

from __future__ import annotations

import contextlib
import gc
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from generator import handoff, state, templates, yamlio
from generator.config import Project, load_project
from generator.model import Conflict, Space, SpaceSpec, UnitRef, UnitState, apply_order
from generator.operations import forked, mutation, render_stamp, select
from generator.operations.branches import chosen_changeset
from generator.operations.fleet import Fleet
from generator.operations.derive import Engine, Plan, order, space_inputs
from generator.blobs import blob_id
from generator.store import Store

if TYPE_CHECKING:  # imported when used: a render that finds nothing changed needs neither
    from generator.operations import lint, preview

Progress = Callable[[int, int], None]
T = TypeVar("T")

FORK_FROM = 64  # spaces no other derives from: fewer are rendered in this process alone
PARTS = 4  # a forked copy's run is sent back in this many parts
NORMALIZE_FORK_FROM = 8  # base templates: fewer are normalized in this process alone


@contextlib.contextmanager
def _cycles_uncollected() -> Iterator[None]:
    """Python's cycle collector paused while a render reads the config, plans and commits. A
    render makes no garbage in cycles that grows with the fleet (878 objects at 1000 regions, as
    at 3; tested), and its data is freed as usual when no longer referenced; but the collections
    walked the whole heap of a big render again and again: 0.35 s of a 1000-region render's CPU."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _const(value: Any) -> Callable[[], Any]:
    return lambda: value


class _Render:
    def __init__(self, project: Project, fleet: Fleet, prefer: str, progress: Progress | None,
                 partial: bool = False) -> None:
        self.project = project
        self.fleet = fleet
        self.partial = partial  # the project has only some of the config's spaces: the rest stay
        self.others: list[str] = []  # spaces not made by the config (`gitops space create`)
        self.engine = Engine(fleet, project.kubernetes_version, prefer, project.allow)
        self.progress = progress
        self.names = project.unit_names()
        self._labels: dict[tuple[str, str | None], dict[str, str]] = {}

    def labels(self, unit: str, environment: str | None) -> dict[str, str]:
        key = (unit, environment)
        if key not in self._labels:
            self._labels[key] = templates.unit_labels(self.project.values, unit, environment)
        return self._labels[key]

    def base(self) -> None:
        spec = self.project.base
        old = self.fleet.spaces.get(spec.name)
        if (old is not None and old.fingerprint == self.project.base_fingerprint
                and self.fleet.spaces.consistent(spec.name)
                and sorted(old.units) == sorted(self.expected(old))):
            self.engine.records[spec.name] = old
            self.engine.plan.all_units[spec.name] = list(old.units)
            return
        from generator.render_cache import bytecode_cache  # (Jinja2's: only when templates render)

        texts = templates.render_base(self.project.templates, self.project.values,
                                      bytecode_cache=bytecode_cache())
        units: dict[str, UnitState] = {}
        deleted = dict(old.deleted) if old else {}
        made: list[tuple[str, str, str, Any, dict[str, str], UnitState | None]] = []
        for unit, text in texts.items():
            ref = UnitRef(spec.name, unit)
            previous = old.units.get(unit) if old else None
            if unit in deleted or (previous is not None and previous.local):
                if previous is not None:
                    units[unit] = previous  # a person deleted it, or made their own: theirs
                continue
            source = f"{templates.unit_template(unit)} (rendered)"
            labels = self.labels(unit, spec.labels.get("environment"))
            if self.project.exports:  # the waves Argo CD and Flux read, in the object itself
                document = yamlio.load_roundtrip(text, source)
                if handoff.stamp(document, apply_order(labels), self.project.exports):
                    text = yamlio.dump_roundtrip(document, text)
            data = yamlio.load(text, source)
            self.engine.checks.validate(data, ref)
            made.append((unit, text, source, data, labels, previous))
        # As the round-trip writer writes it, so that the first edit of the file is as small as
        # the tenth (no re-indented lists): unless it is exactly what was written last.
        normal = _normalized({unit: (text, source) for unit, text, source, _, _, previous in made
                              if previous is None or blob_id(text) != previous.origin})
        for unit, text, _, data, labels, previous in made:
            text = normal.get(unit, text)
            self.engine.reconcile(UnitRef(spec.name, unit), previous, text, _const(data))
            origin = blob_id(text)
            units[unit] = UnitState(labels, None, origin, origin)
        for unit, previous in sorted(old.units.items()) if old else []:
            if unit in units:
                continue
            # A person's own unit stays; a unit whose template is gone goes if unedited.
            kept = previous if previous.local else self.engine.dropped(UnitRef(spec.name, unit), previous)
            if kept is not None:
                units[unit] = kept
        self.engine.record(Space(spec.name, spec.labels, None, spec.target, "config",
                                 self.project.base_fingerprint, units, None, deleted))

    def expected(self, old: Space) -> list[str]:
        """The units a space has when nothing changed: the config's, less those a person
        deleted, plus those a person added."""
        return sorted({u for u in self.names if u not in old.deleted}
                      | {u for u, s in old.units.items() if s.local})

    def defined(self, spec: SpaceSpec) -> Space:
        """The space as the config dir defines it now, its units' sync state carried over."""
        assert spec.upstream is not None
        old = self.fleet.spaces.get(spec.name)
        deleted = dict(old.deleted) if old else {}
        units = {}
        for unit in self.names:
            labels = self.labels(unit, spec.labels.get("environment"))
            previous = old.units.get(unit) if old else None
            up = UnitRef(spec.upstream, unit)
            if unit in deleted:
                continue  # a person deleted it here: it stays deleted
            if previous is not None and previous.local:
                units[unit] = previous  # a person's own unit of that name
            elif previous is None:
                if self.engine.exists(up):  # else: deleted upstream, nothing to derive
                    units[unit] = UnitState(labels, up, "", "")
            elif previous.labels != labels or previous.upstream != up:
                units[unit] = UnitState(labels, up, previous.origin, previous.fingerprint)
            else:
                units[unit] = previous
        # The rest: a person's units (kept as they are), and units the config no longer
        # defines (derive_space removes them if unedited, else keeps and reports them).
        for unit, previous in (old.units.items() if old else ()):
            units.setdefault(unit, previous)
        return Space(spec.name, spec.labels, spec.upstream, spec.target, "config",
                     old.fingerprint if old else "", units, spec.overlay, deleted)

    def inputs(self, spec: SpaceSpec) -> str:
        """The space's fingerprint as the config dir defines it now (see derive.space_inputs)."""
        assert spec.upstream is not None
        environment = spec.labels.get("environment")
        return space_inputs(spec.overlay, spec.labels, spec.target, [
            (unit, UnitRef(spec.upstream, unit), self.engine.blob(UnitRef(spec.upstream, unit)),
             self.labels(unit, environment)) for unit in self.names])

    def unchanged(self, spec: SpaceSpec, inputs: str) -> bool:
        """True when the space's record says it was made from exactly what the config and its
        upstream say now, and its unit files are there: it is then not even loaded. (A space
        with units a person added or deleted is checked the longer way, in derive_space.)"""
        records = self.fleet.spaces
        if records.unit_names(spec.name) != sorted(self.names) or records.edited(spec.name):
            return False
        if records.fingerprint(spec.name) != inputs or not records.consistent(spec.name):
            return False
        self.engine.plan.all_units[spec.name] = self.names
        return True

    def _space(self, spec: SpaceSpec) -> None:
        """Bring one space the config defines up to date with its upstream."""
        inputs = self.inputs(spec)
        if not self.unchanged(spec, inputs):
            space = self.defined(spec)
            plain = (sorted(space.units) == sorted(self.names) and not space.deleted
                     and not any(unit.local for unit in space.units.values()))
            self.engine.derive_space(space, inputs=inputs if plain else None)

    def _leaves(self, others: list[str]) -> list[SpaceSpec]:
        """The spaces at the end of the config's order (regions, after what they derive from)
        that no space derives from: each depends on nothing the others make, so they may be
        shared out to forked copies of this process. None for a render of some regions, a dry
        run (it collects every problem in order) or a repo with spaces of its own."""
        if self.partial or others or self.engine.checks.findings is not None:
            return []
        upstreams = {spec.upstream for spec in self.project.spaces}
        count = 0
        for spec in reversed(self.project.spaces):
            if spec.name in upstreams:
                break
            count += 1
        return list(self.project.spaces[len(self.project.spaces) - count:])

    def _in_forks(self, leaves: list[SpaceSpec], workers: int, done: int, total: int) -> None:
        """Render ``leaves`` in ``workers`` processes, this one included: each forked copy
        renders a run of them and sends back what it planned (``_Made``), merged here in the
        config's order: the plan is the one this process would make alone (the first
        problem found in that order is the one raised)."""
        global _FORKING
        runs = _parts(leaves, workers)
        _FORKING = self
        gc.freeze()  # what is here now, a forked copy's collections never touch (nor copy)
        try:
            with forked.pool(len(runs) - 1) as pool:
                # A forked copy sends its run back in parts, each as it is done: this process
                # takes in one part while the copy plans the next, and waits at the end for
                # the last part alone (a whole run of 500 regions is 0.35 s to pickle and load).
                parts = [part for run in runs[1:] for part in _parts(run, PARTS)]
                futures = [pool.submit(_render_forked, [spec.name for spec in part]) for part in parts]
                for spec in runs[0]:
                    self._space(spec)
                    done += 1
                    if self.progress:
                        self.progress(done, total)
                for future, part in zip(futures, parts):
                    self._merge(future.result())
                    done += len(part)
                    if self.progress:
                        self.progress(done, total)
        finally:
            _FORKING = None
            gc.unfreeze()

    def _merge(self, made: _Made) -> None:
        """What a forked copy planned, added to this plan as if planned here."""
        plan = self.engine.plan
        for path in made.gone:
            plan.changes.pop(path, None)
        plan.changes.update(made.changes)
        plan.before.update(made.before)
        plan.units += made.units
        for name in made.spaces:
            self.engine.touch(name)
        plan.conflicts += made.conflicts
        plan.notes += made.notes
        plan.all_units.update(made.all_units)
        self.engine.records.update(made.records)

    def run(self) -> Plan:
        if not self.partial:
            self.fleet.blobs.everything()  # every space is looked at: list the repo at once
        self.base()
        specs = {spec.name: spec for spec in self.project.spaces}
        for name in [] if self.partial else sorted(self.fleet.spaces):
            if name not in specs and name != self.project.base.name \
                    and self.fleet.spaces.managed_by(name) == "config":
                self.engine.drop_space(name)
        others = [] if self.partial else [n for n in self.fleet.spaces
                                          if n not in specs and self.fleet.spaces.managed_by(n) != "config"]
        self.others = others
        total = len(specs) + len(others) + 1
        done = 1
        leaves = self._leaves(others)
        workers = forked.processes(len(leaves), FORK_FROM) if leaves else 1
        if workers < 2:
            leaves = []
        for spec in self.project.spaces[:len(self.project.spaces) - len(leaves)]:
            self._space(spec)
            done += 1
            if self.progress:
                self.progress(done, total)
        if leaves:
            self._in_forks(leaves, workers, done, total)
        if others:  # spaces made with `gitops space create`: upgraded after what they derive from
            everything = {n: self.engine.space(n) for n in {*self.engine.records, *others}}
            for name in order(everything):
                if name in others:
                    self.engine.derive_space(self.engine.space(name))
                    done += 1
                    if self.progress:
                        self.progress(done, total)
        self.engine.plan.changes[state.SETTINGS] = state.dump_settings(state.Settings(
            self.project.name, self.project.kubernetes_version, self.project.filters, self.project.allow))
        return self.engine.finish()


@dataclass
class _Made:
    """What a forked copy of a render planned for its run of spaces (see ``_Render._in_forks``)."""

    changes: dict[str, str | None] = field(default_factory=dict)  # paths it set
    gone: list[str] = field(default_factory=list)  # paths it took out of the plan
    before: dict[str, str | None] = field(default_factory=dict)
    units: list[UnitRef] = field(default_factory=list)
    spaces: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    all_units: dict[str, list[str]] = field(default_factory=dict)
    records: dict[str, Space] = field(default_factory=dict)


def _normalized(texts: dict[str, tuple[str, str]]) -> dict[str, str]:
    """``yamlio.normalize`` of each unit's (text, source): as kept in the user cache dir
    (render_cache.Normalized), else made, by forked copies of this process, one per core, when
    there are enough (ruamel's round trip is ~20 ms a template, on the one core a first render
    then uses)."""
    from generator.render_cache import Normalized

    cache = Normalized()
    done = {unit: normal for unit, (text, _) in texts.items() if (normal := cache.get(text)) is not None}
    items = [(unit, pair) for unit, pair in texts.items() if unit not in done]
    workers = forked.processes(len(items), NORMALIZE_FORK_FROM)
    if workers < 2:
        made = _normalize_run(items)
    else:
        runs = _parts(items, workers)
        with forked.pool(len(runs) - 1) as pool:
            futures = [pool.submit(_normalize_run, run) for run in runs[1:]]
            made = _normalize_run(runs[0])
            for future in futures:
                made += future.result()
    for unit, normal in made:
        cache.put(texts[unit][0], normal)
        done[unit] = normal
    return done


def _normalize_run(items: list[tuple[str, tuple[str, str]]]) -> list[tuple[str, str]]:
    return [(unit, yamlio.normalize(text, source)) for unit, (text, source) in items]


def _parts(items: list[T], count: int) -> list[list[T]]:
    """``items`` cut into at most ``count`` parts of about one size, in order."""
    size = -(-len(items) // count)
    return [items[at:at + size] for at in range(0, len(items), size)]


_FORKING: _Render | None = None  # the render a forked copy continues (set only while forking)


def _render_forked(names: list[str]) -> _Made:
    """In a forked copy of a render: plan the spaces ``names`` (and check them for two units
    of one object, as the render's end would), and return what that added to the plan."""
    render = _FORKING
    assert render is not None
    render.fleet.store.forked()
    plan = render.engine.plan
    changes, before = dict(plan.changes), dict(plan.before)
    units, spaces, conflicts, notes = len(plan.units), len(plan.spaces), len(plan.conflicts), len(plan.notes)
    specs = {spec.name: spec for spec in render.project.spaces}
    for name in names:
        render._space(specs[name])
    render.engine.finish()
    return _Made({p: t for p, t in plan.changes.items() if p not in changes or changes[p] is not t},
                 [p for p in changes if p not in plan.changes],
                 {p: b for p, b in plan.before.items() if p not in before or before[p] != b},
                 plan.units[units:], plan.spaces[spaces:], plan.conflicts[conflicts:], plan.notes[notes:],
                 {n: plan.all_units[n] for n in names if n in plan.all_units},
                 {n: render.engine.records[n] for n in names if n in render.engine.records})


def plan(project: Project, store: Store, prefer: str = "local",
         progress: Progress | None = None) -> Plan:
    """Compute what a render would change, without writing anything."""
    return _Render(project, Fleet.load(store), prefer, progress).run()


def dry_run(project: Project, repo: Path, prefer: str = "local",
            progress: Progress | None = None) -> preview.Preview:
    """``render --dry-run``: what render would do to the repo at ``repo``, nothing written.
    Every problem the schema and the secret guard find is reported (render stops at the
    first), those of the units a person made included (as ``render --check`` checks them). A
    repo that does not exist yet is previewed as its first render."""
    if Store.exists(repo):
        return _dry_run(project, Store.open(repo), prefer, progress)
    with tempfile.TemporaryDirectory(prefix="gitops-dry-run-") as empty:
        store = Store.open(Path(empty), create=True)
        try:
            return _dry_run(project, store, prefer, progress)
        finally:
            store.close()


def _dry_run(project: Project, store: Store, prefer: str, progress: Progress | None) -> preview.Preview:
    from generator.operations import lint, preview

    fleet = Fleet.load(store)
    render = _Render(project, fleet, prefer, progress)
    found: list[lint.Problem] = []
    render.engine.checks.findings = found
    plan = render.run()
    edited, _ = lint.lint(fleet, allowed=project.allow, edited_only=True)
    unplanned = [p for p in edited if state.unit_path(UnitRef(p.space, p.unit)) not in plan.changes]
    engine = render.engine
    return preview.preview(plan, store, project.allow, found + unplanned,
                           lambda name: engine.has_space(name) and select.critical(engine.space(name)))


def check(project: Project, store: Store) -> list[str]:
    """``render --check``: what a person committed must pass the schema and the secret guard
    (raises, naming the first problem); returns the stale paths (empty: up to date)."""
    from generator.operations import lint

    problems, _ = lint.lint(Fleet.load(store), allowed=project.allow, edited_only=True)
    lint.refuse(problems)
    return stale(project, store)


def stale(project: Project, store: Store) -> list[str]:
    """``render --check``: the paths that differ from what would be rendered (empty: up to date)."""
    planned = plan(project, store)
    current = store.blobs_at_head(list(planned.changes))
    return sorted(
        path for path, text in planned.changes.items()
        if (path in current if text is None else current.get(path) != blob_id(text))
    )


def render(project: Project, repo: Path, message: str | None = None,
           edit: mutation.Edit = mutation.Edit(), prefer: str = "local",
           progress: Progress | None = None) -> tuple[Store, mutation.Outcome]:
    """``gitops render``: into the repo at ``repo`` (``git init`` when missing), one commit,
    or none when nothing changed; the same Outcome as every mutation. A repo created here is
    removed again if the render fails. With a changeset (given, or made current), the commit
    goes to its branch. (``edit.dry_run`` is ``dry_run``'s, which reports more.)"""
    store, outcome, _ = _render(project, repo, message, edit, prefer, progress)
    return store, outcome


def _render(project: Project, repo: Path, message: str | None, edit: mutation.Edit, prefer: str,
            progress: Progress | None, partial_at: str | None = None,
            whole: Callable[[], Project] | None = None,
            clean: Callable[[Store], None] = mutation.check_clean) -> tuple[Store, mutation.Outcome, _Render]:
    """``render``, and the _Render that made the plan. ``partial_at``: the project has only the
    spaces that changed since a render that left HEAD at that commit, the others are not
    looked at; if HEAD has moved since (another command committed), the ``whole`` project is
    rendered instead. ``clean``: mutate's check for uncommitted edits; a render of some spaces
    alone then checks the spaces its plan writes (see ``_written_clean``)."""
    created = not Store.exists(repo)
    store = Store.open(repo, create=True)
    renders: list[_Render] = []
    # A render of some regions alone: their spaces checked for uncommitted edits while it plans
    ahead = ThreadPoolExecutor(1) if partial_at is not None else None
    early = None if ahead is None else ahead.submit(
        mutation.check_clean, store, *(_space_dir(spec.name) for spec in project.spaces))

    def summary(p: Plan) -> str:
        return message or (f"render: {mutation.counted(len(p.units), 'unit')} in "
                           f"{mutation.counted(len(p.spaces), 'space')}")

    def build(fleet: Fleet) -> Plan:
        if partial_at is not None and whole is not None and fleet.store.head() != partial_at:
            renders.append(_Render(whole(), fleet, prefer, progress))
        else:
            renders.append(_Render(project, fleet, prefer, progress, partial_at is not None))
        planned = renders[-1].run()
        if renders[-1].partial:
            if early is not None:
                early.result()  # its error, if it found uncommitted edits
            _written_clean(store, planned, {spec.name for spec in project.spaces})
        return planned

    try:
        with _cycles_uncollected():
            outcome = mutation.mutate(store, build, "render", summary, edit, clean)
    except BaseException:
        if created:
            store.discard_new()
        raise
    finally:
        if ahead is not None:
            ahead.shutdown()
    return store, outcome, renders[-1]


def render_dir(root: Path, repo: Path | None = None, message: str | None = None,
               edit: mutation.Edit = mutation.Edit(), prefer: str = "local",
               progress: Progress | None = None) -> tuple[Store, mutation.Outcome]:
    """``gitops render`` from the config dir at ``root`` into ``repo`` (None: the one
    gitops.yaml names). When the repo is where the last render from this config dir left it
    (render_stamp), nothing is loaded or planned: nothing changed. A render on the checked-out
    branch that leaves no conflict stamps the repo for the next one."""
    with _cycles_uncollected():  # from the config's reading on
        return _render_dir(root, repo, message, edit, prefer, progress)


def _render_dir(root: Path, repo: Path | None, message: str | None, edit: mutation.Edit, prefer: str,
                progress: Progress | None) -> tuple[Store, mutation.Outcome]:
    on_main = edit.changeset is None
    stamp: dict[str, Any] | None = None
    head = None
    if repo is not None and Store.exists(repo):
        store = Store.open(repo)
        on_main = on_main and chosen_changeset(store, None) is None
        stamp = render_stamp.load(store) if on_main else None
        head = store.head()
        # Uncommitted edits under .gitops/ (the records a plan reads from the work tree) are
        # refused: when the stamp is of this HEAD, git status runs there beside the look at the
        # config dir. A render that writes nothing needs no more; one of some regions alone
        # checks the spaces it writes (_written_clean); any other, every space (mutate's check).
        beside = ThreadPoolExecutor(1) if stamp is not None and stamp.get("head") == head else None
        try:
            checked = beside.submit(mutation.check_clean, store, _RECORDS) if beside is not None else None
            seen = render_stamp.look(root, stamp)  # before anything is read: a later edit is seen next time
            if checked is not None:
                checked.result()  # its error, if it found uncommitted edits
            if seen.fresh(stamp, head):
                if stamp is not None and stamp.get("files") != seen.files:
                    # files touched, not changed: not read next time
                    render_stamp.save(store, seen, stamp.get("spaces"), stamp.get("others"))
                return store, mutation.Outcome(None, Plan())
        finally:
            if beside is not None:
                beside.shutdown()
        store.close()
    else:
        seen = render_stamp.look(root)
    # Only region files changed since a render that left HEAD where it is, and each still makes
    # the space it made: render those spaces alone (the others were made from what is there).
    stamp = stamp or {}
    changed = render_stamp.changed(stamp, seen, head)
    made: dict[str, str] = dict(stamp.get("spaces") or {})
    only = changed if (changed and not stamp.get("others")
                       and all(rel.startswith("regions/") and rel in made for rel in changed)) else None
    project = load_project(root, only)
    if only is not None and _made(project) != {rel: made[rel] for rel in only}:
        only, project = None, load_project(root)  # a region file now makes another space
    store, outcome, done = _render(project, repo or project.repo, message, edit, prefer, progress,
                                   head if only is not None else None, lambda: load_project(root),
                                   _checked_at(head) if only is not None else mutation.check_clean)
    if on_main and outcome.changeset is None and not outcome.plan.conflicts:
        made = {**made, **_made(done.project)} if done.partial else _made(done.project)
        render_stamp.save(store, seen, made, done.others)
    else:
        render_stamp.forget(store)
    return store, outcome


_RECORDS = ".gitops"  # what a plan reads from the work tree: the space records and settings


def _checked_at(head: str | None) -> Callable[[Store], None]:
    """The clean check of a render of some regions alone, whose records were checked at
    ``head`` already: every space if HEAD has moved since (the whole config is rendered then),
    else nothing before planning (``_written_clean`` checks the spaces the plan writes)."""
    def clean(store: Store) -> None:
        if store.head() != head:
            mutation.check_clean(store)
    return clean


def _written_clean(store: Store, plan: Plan, checked: set[str]) -> None:
    """Refuse uncommitted edits in the spaces ``plan`` writes (those not ``checked`` already).
    An edit in a space it does not write is not read (a plan reads unit files from HEAD's
    blobs) and not touched (the commit writes, and refreshes in git's index, the planned paths
    alone): it stays, uncommitted."""
    spaces = sorted({path.split("/")[1] for path in plan.changes if path.startswith(f"{state.SPACES_DIR}/")}
                    - checked)
    if spaces:
        mutation.check_clean(store, *map(_space_dir, spaces))


def _space_dir(name: str) -> str:
    return f"{state.SPACES_DIR}/{name}/"


def _made(project: Project) -> dict[str, str]:
    """Region file -> the space it makes (``regions/eu.yaml`` -> ``traderx-prod-eu``)."""
    return {spec.overlay.sources[-1]: spec.name for spec in project.spaces
            if spec.overlay is not None and spec.overlay.sources and len(spec.overlay.sources) > 1}
