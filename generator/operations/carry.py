"""Carry the change between two commits of the repo onto the current one, unit by unit.

``carry(store, base, change, version)`` plans what ``git merge`` would do, but with the
repo's own structure instead of lines of text: for every file the change (``base`` ->
``change``) touched, where the current commit did not touch it the change is taken as is;
where both did, a unit is merged with ``merge.merge3`` (field by field), a space record unit
by unit, and anything else must be equal. Origins (``.gitops/origins/``) are not merged:
they follow from the merged records and units. Anything both sides changed differently is a
Conflict in the returned plan; the caller decides (changeset apply and rollback stop).

``changeset apply`` is carry(merge-base, branch tip); ``rollback --changeset`` is
carry(landing commit, its parent). Every unit the plan writes passes the secret guard.
Nothing is written here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from generator import guard, merge, state, yamlio
from generator.model import Conflict, UnitRef
from generator.operations.derive import Plan
from generator.schema import SchemaValidator
from generator.blobs import blob_id
from generator.snapshot import Snapshot

WHOLE = "(whole file)"


def _unit_of(path: str) -> UnitRef | None:
    """The unit a path of spaces/ or .gitops/origins/ is about (None for other paths)."""
    return state.ref_of(path) or state.ref_of(path, state.ORIGINS_DIR)


def _space_of(path: str) -> str | None:
    ref = _unit_of(path)
    if ref is not None:
        return ref.space
    if path.startswith(state.STATE_DIR + "/") and path.endswith(".json"):
        return path[len(state.STATE_DIR) + 1:-5]
    return None


class _Carry:
    def __init__(self, store: Snapshot, base: str | None, change: str, version: str) -> None:
        self.store = store
        self.ours = store.head()
        self.base = base
        self.change = change
        self.validator = SchemaValidator(version)
        self.plan = Plan()
        self.texts: dict[str, str | None] = {}  # path -> merged text, for every path planned
        self.records: dict[str, dict[str, Any]] = {}
        self.now: dict[str, str] = {}
        self.touched: set[UnitRef] = set()  # units of records merged entry by entry

    def text(self, blob: str | None) -> str | None:
        return None if blob is None else self.store.read_blob(blob)

    def conflict(self, ref: UnitRef | None, path: str, base: Any, change: Any, ours: Any) -> None:
        self.plan.conflicts.append(Conflict(path, base, change, ours, "none", ref))

    def run(self) -> Plan:
        assert self.ours is not None
        theirs = self.store.changed(self.base, self.change, state.SPACES_DIR, ".gitops")
        mine = self.store.changed(self.base, self.ours, state.SPACES_DIR, ".gitops")
        now = self.now = self.store.tree(state.SPACES_DIR, ".gitops")
        touched: set[UnitRef] = set()
        for path, (before, after) in sorted(theirs.items()):
            ref = _unit_of(path)
            if ref is not None:
                touched.add(ref)
            if path.startswith(state.ORIGINS_DIR + "/"):
                continue  # derived below from the records and units
            current = now.get(path)
            if current == after:
                continue
            if path not in mine:  # only the change touched it
                self.texts[path] = self.text(after)
                continue
            merged = self.merge(path, ref, before, after, current)
            if merged is not _CONFLICT:
                self.texts[path] = merged  # type: ignore[assignment]
        touched |= self.touched
        if self.plan.conflicts:
            return self.plan
        self.origins(touched)
        for path, text in sorted(self.texts.items()):
            if (now.get(path) is None) if text is None else now.get(path) == blob_id(text):
                continue
            self.plan.changes[path] = text
            space = _space_of(path)
            if space is not None and space not in self.plan.spaces:
                self.plan.spaces.append(space)
            if path.startswith(state.SPACES_DIR + "/"):
                ref = _unit_of(path)
                assert ref is not None
                self.plan.units.append(ref)
                self.plan.before[path] = now.get(path)
        for space in self.plan.spaces:
            self.plan.all_units[space] = list(self.record(space)["units"])
        self.check_secrets()
        return self.plan

    def check_secrets(self) -> None:
        """Every unit this plan writes passes the secret guard (a hand-made commit on a
        changeset branch included), under the allow-list the result will have."""
        path = state.SETTINGS
        text = self.texts[path] if path in self.texts else self.text(self.now.get(path))
        allowed = state.load_settings(text).allow
        for path, text in self.plan.changes.items():
            ref = state.ref_of(path)
            if ref is not None and text is not None:
                guard.refuse(guard.scan(yamlio.load(text, path), ref.space, ref.unit, allowed))

    # --- both sides changed a file ---------------------------------------------------------

    def merge(self, path: str, ref: UnitRef | None, before: str | None, after: str | None,
              current: str | None) -> object:
        if before is None or after is None or current is None:
            self.conflict(ref, WHOLE, *("absent" if b is None else "present"
                                        for b in (before, after, current)))
            return _CONFLICT
        base_text, change_text, our_text = (self.store.read_blob(b) for b in (before, after, current))
        if path.startswith(state.STATE_DIR + "/"):
            return self.merge_record(path, base_text, change_text, our_text)
        if ref is None or not path.startswith(state.SPACES_DIR + "/"):
            self.conflict(None, path, "(before)", "(changed)", "(changed differently)")
            return _CONFLICT
        merged, conflicts = merge.merge3(base_text, change_text, our_text, "local")
        if conflicts:
            self.plan.conflicts += [dataclasses.replace(c, ref=ref, chosen="none") for c in conflicts]
            return _CONFLICT
        self.validator.validate(yamlio.load(merged, f"{ref} (merged)"), str(ref))
        return merged

    def merge_record(self, path: str, base_text: str, change_text: str, our_text: str) -> object:
        """A space record: its fields and each unit's entry merge on their own."""
        base, change, ours = (state.load_record(t, path) for t in (base_text, change_text, our_text))
        space = str(_space_of(path))
        self.touched |= {UnitRef(space, name) for r in (base, change, ours) for name in r["units"]}
        merged = {key: value for key, value in ours.items() if key != "units"}
        for key in sorted({*base, *change, *ours} - {"units"}):
            value = self.pick(base.get(key), change.get(key), ours.get(key))
            if value is _CONFLICT:
                if key == "fingerprint":
                    value = ""  # a cache of the inputs: empty makes the next upgrade look again
                else:
                    self.conflict(None, f"{path}: {key}", base.get(key), change.get(key), ours.get(key))
                    continue
            if value is None and key not in ours and key not in change:
                continue
            merged[key] = value
        units = {}
        for name in sorted({*base["units"], *change["units"], *ours["units"]}):
            value = self.pick(base["units"].get(name), change["units"].get(name), ours["units"].get(name))
            if value is _CONFLICT:
                self.conflict(UnitRef(space, name), "(record)", base["units"].get(name),
                              change["units"].get(name), ours["units"].get(name))
            elif value is not None:
                units[name] = value
        merged["units"] = units
        if self.plan.conflicts:
            return _CONFLICT
        return state.dump_space(state.space_from_record(merged, path))

    @staticmethod
    def pick(base: Any, change: Any, ours: Any) -> Any:
        if change == ours or change == base:
            return ours
        if ours == base:
            return change
        return _CONFLICT

    def record(self, space: str) -> dict[str, Any]:
        """A space's record as the plan leaves it (units empty when there is none)."""
        if space not in self.records:
            path = state.record_path(space)
            text = self.texts[path] if path in self.texts else self.text(self.now.get(path))
            self.records[space] = state.load_record(text, path) if text else {"units": {}}
        return self.records[space]

    def origins(self, touched: set[UnitRef]) -> None:
        """Each touched unit keeps its generated text under .gitops/origins/ exactly while it
        differs from it (what sync does), as the merged record and unit say."""
        for ref in sorted(touched):
            entry = self.record(ref.space)["units"].get(ref.unit)
            path = state.unit_path(ref)
            unit_blob = self.now.get(path) if path not in self.texts else (
                None if self.texts[path] is None else blob_id(str(self.texts[path])))
            origin = entry["origin"] if entry else None
            wanted = self.store.read_blob(origin) if origin and unit_blob and origin != unit_blob else None
            self.texts[state.origin_path(ref)] = wanted


_CONFLICT = object()


def carry(store: Snapshot, base: str | None, change: str, version: str) -> Plan:
    """Plan the change ``base`` -> ``change`` onto ``store``'s commit (see the module doc).
    Conflicts come back in the plan (``chosen`` is "none": nothing was decided)."""
    return _Carry(store, base, change, version).run()
