"""``gitops lint``: the schema and the secret guard over the manifests repo as it is.

Render and every mutation check what they write; lint checks what is already committed: a
hand-made commit, or a repo written before a rule existed. With ``edited_only`` it looks only
at what a person made (units that differ from what they were generated as, and units a person
added): what ``render --check`` adds to its staleness check, cheap at fleet scale, since every
other unit was written by gitops through the same checks.

Reads only. A finding carries a secret's value masked, never the value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from generator import guard, state, yamlio
from generator.errors import GitopsError
from generator.model import UnitRef
from generator.operations.fleet import Fleet
from generator.schema import SchemaValidator

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a committed unit."""

    space: str
    unit: str
    path: str  # the field, or "(file)" for the whole unit
    rule: str  # "schema", "yaml", secret-data, credential-env, or a detector's secret type
    message: str

    def data(self) -> dict[str, str]:
        return {"space": self.space, "unit": self.unit, "path": self.path, "rule": self.rule,
                "message": self.message}

    @classmethod
    def secret(cls, finding: guard.Finding) -> Problem:
        """The secret guard's finding (its value masked)."""
        return cls(finding.space, finding.unit, finding.path, finding.rule, finding.what())

    @classmethod
    def schema(cls, ref: UnitRef, message: str) -> Problem:
        return cls(ref.space, ref.unit, "(schema)", "schema", message)


def lint(fleet: Fleet, space_glob: str = "*", allowed: Sequence[guard.Allowed] | None = None,
         edited_only: bool = False, progress: Progress | None = None) -> tuple[list[Problem], int]:
    """Problems of every unit of the matching spaces (or only of those a person made), and
    how many units were looked at. ``allowed``: the allow-list (default: the repo's)."""
    allow = fleet.settings.allow if allowed is None else tuple(allowed)
    validator = SchemaValidator(fleet.settings.kubernetes_version)
    spaces = fleet.match(space_glob) if fleet.spaces else []
    refs = [UnitRef(space.name, unit) for space in spaces for unit, unit_state in sorted(space.units.items())
            if not edited_only or unit_state.local
            or fleet.blobs.get(state.unit_path(UnitRef(space.name, unit))) != unit_state.origin]
    problems: list[Problem] = []
    for n, ref in enumerate(refs, 1):
        if state.unit_path(ref) in fleet.blobs:
            problems += _check(fleet, ref, validator, allow)
        if progress:
            progress(n, len(refs))
    return problems, len(refs)


def check_units(fleet: Fleet, refs: Sequence[UnitRef], allowed: Sequence[guard.Allowed]) -> list[Problem]:
    """The problems of these units as ``fleet`` has them (a unit with no file: none)."""
    validator = SchemaValidator(fleet.settings.kubernetes_version)
    return [problem for ref in refs if state.unit_path(ref) in fleet.blobs
            for problem in _check(fleet, ref, validator, allowed)]


def _check(fleet: Fleet, ref: UnitRef, validator: SchemaValidator,
           allowed: Sequence[guard.Allowed]) -> list[Problem]:
    try:
        data = yamlio.load(fleet.text(ref), state.unit_path(ref))
    except GitopsError as e:
        return [Problem(ref.space, ref.unit, "(file)", "yaml", e.message)]
    found = [Problem.secret(f) for f in guard.scan(data, ref.space, ref.unit, allowed)]
    try:
        validator.validate(data, str(ref))
    except GitopsError as e:
        found.append(Problem.schema(ref, e.message))
    return found


def refuse(problems: Sequence[Problem]) -> None:
    """Raise for the problems: a secret first (it must not stay in git), then the rest."""
    if not problems:
        return
    ordered = sorted(problems, key=lambda p: p.rule in ("schema", "yaml"))
    first = ordered[0]
    more = f" (and {len(problems) - 1} more: `gitops lint`)" if len(problems) > 1 else ""
    if first.rule in ("schema", "yaml"):
        raise GitopsError(f"{first.message}{more}",
                          f"fix the unit: gitops unit update {first.unit} --space {first.space} --file FILE")
    raise guard.SecretError(
        f"committed by hand: {first.space}/{first.unit}: {first.path}: {first.message}{more}",
        f"replace it by a reference ({guard.SECRET_WAYS}), e.g. gitops unit delete {first.unit} "
        f"--space {first.space}; it stays in git history: rotate the credential")
