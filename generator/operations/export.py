"""``gitops export argocd | flux``: the objects that hand the repo to Argo CD or Flux; and
``gitops export`` of spaces for backup.

The spaces handed over are the targetable ones (label ``targetable: "true"``) the glob matches.
Their waves come from the units' ``order`` labels (``model.apply_order``); before anything is
exported, every unit must carry the wave annotation the reconciler reads (render writes it when
gitops.yaml says ``export: [argocd, flux]``), or the export is refused naming the first unit
without it: a reconciler would otherwise apply it out of order, silently.

Writes nothing to the manifests repo; ``write_files`` writes only into the ``--out`` directory.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from generator import argocd, flux, handoff, state, yamlio
from generator.errors import GitopsError, NotFoundError
from generator.model import Space, UnitRef, apply_order
from generator.operations.fleet import Fleet

_ANNOTATION = re.compile(r'^\s+(gitops\.dev/order|argocd\.argoproj\.io/sync-wave): "?(\d+)"?\s*$', re.M)


class ExportError(GitopsError):
    """The repo cannot be handed over as it is."""


def targetable(fleet: Fleet, space_glob: str) -> list[Space]:
    """The spaces the glob matches that deploy somewhere; none is an error."""
    matched = fleet.match(space_glob)
    found = [s for s in matched if s.labels.get(handoff.TARGETABLE) == "true"]
    if not found:
        raise NotFoundError(f"no targetable space matches {space_glob!r} (spaces deploy when their "
                            f"label {handoff.TARGETABLE} is \"true\")",
                            "add `labels: {targetable: \"true\"}` to the environment or region file")
    return found


def _check_stamps(fleet: Fleet, space: Space, reconciler: str) -> None:
    """Every unit carries the annotations ``reconciler`` reads, equal to its order."""
    key = handoff.ARGO_WAVE if reconciler == "argocd" else handoff.ORDER
    for unit, unit_state in sorted(space.units.items()):
        order = apply_order(unit_state.labels)
        found = {m.group(1): int(m.group(2)) for m in _ANNOTATION.finditer(fleet.text(UnitRef(space.name, unit)))}
        if found.get(key) != order:
            have = f"says {found[key]}" if key in found else "is missing"
            raise ExportError(
                f"{space.name}/{unit}: its {key} annotation {have}, its order is {order}",
                f"add `export: [{reconciler}]` to gitops.yaml and run `gitops render`; for a unit of "
                f"your own: gitops unit update {unit} --space {space.name} --patch "
                f"'{{\"metadata\": {{\"annotations\": {json.dumps(handoff.stamps(order, [reconciler]))}}}}}'")


def sites(fleet: Fleet, space_glob: str, reconciler: str,
          stages: list[str] | None = None) -> tuple[list[handoff.Site], list[str]]:
    """The targetable spaces as ``reconciler`` will see them, in rollout order; and the
    environments in that order."""
    spaces = targetable(fleet, space_glob)
    order = handoff.stage_order((s.labels.get("environment", "") for s in spaces), stages)
    out = []
    for space in spaces:
        _check_stamps(fleet, space, reconciler)
        env = space.labels.get("environment", "")
        waves = tuple(sorted({apply_order(u.labels) for u in space.units.values()})) or (0,)
        out.append(handoff.Site(space.name, env, space.labels.get("region", ""), space.target.context,
                                space.target.namespace, order.index(env), waves))
    out.sort(key=lambda s: (s.stage, s.space))
    return out, order


def repo_url(fleet: Fleet, given: str | None) -> str:
    """--repo-url, else the manifests repo's ``origin``: where the reconciler clones from."""
    url = given or fleet.store.get_setting("remote.origin.url")
    if not url:
        raise ExportError("the manifests repo has no `origin` remote to tell Argo CD or Flux where it is",
                          "pass --repo-url https://github.com/<org>/<manifests>.git")
    if urlsplit(url).password:
        raise ExportError("the repo URL carries a password or token",
                          "pass --repo-url without credentials: give them to Argo CD or Flux as a secret")
    return url


def default_revision(fleet: Fleet, given: str | None) -> str:
    """--revision, else the branch the manifests repo has checked out, else main."""
    if given:
        return given
    branch = fleet.store.checked_out()
    return branch.removeprefix("refs/heads/") if branch else "main"


def source(fleet: Fleet, repo_url_given: str | None, revision: str | None) -> handoff.Source:
    """What the reconciler clones and follows: --repo-url and --revision, or their defaults."""
    return handoff.Source(fleet.settings.project or "gitops", repo_url(fleet, repo_url_given),
                          default_revision(fleet, revision))


def argocd_objects(fleet: Fleet, space_glob: str, options: argocd.Options, per_space: bool = False,
                   stages: list[str] | None = None) -> list[dict[str, Any]]:
    """``gitops export argocd``: one ApplicationSet, or (``per_space``) one Application a space."""
    found, order = sites(fleet, space_glob, "argocd", stages)
    if per_space:
        return argocd.applications(found, options)
    return [argocd.application_set(found, options, order)]


def flux_objects(fleet: Fleet, space_glob: str, options: flux.Options,
                 stages: list[str] | None = None) -> list[dict[str, Any]]:
    """``gitops export flux``: the GitRepository, then every space's wave Kustomizations."""
    found, _ = sites(fleet, space_glob, "flux", stages)
    return [flux.git_repository(options), *flux.kustomizations(found, options)]


def stream(objects: Iterable[dict[str, Any]]) -> str:
    """Objects as one multi-document YAML stream."""
    return "".join("---\n" + yamlio.dump(obj) for obj in objects)


def files_of(objects: list[dict[str, Any]]) -> dict[str, str]:
    """The objects as files for ``--out``: one per object, named by kind and name."""
    return {f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml": stream([obj]) for obj in objects}


def write_files(out: Path, files: dict[str, str]) -> list[Path]:
    """Write ``files`` under ``out`` (made if missing); the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in sorted(files.items()):
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


@dataclass(frozen=True)
class Backup:
    """Every unit of some spaces at one commit: the units as one YAML stream, the records."""

    commit: str
    spaces: list[str]
    units: dict[str, str]  # path in the repo -> text, in apply order
    records: dict[str, str]  # .gitops/... -> text

    def yaml(self) -> str:
        header = f"# gitops export of {', '.join(self.spaces)} at {self.commit}\n"
        return header + "".join(f"---\n# {path}\n{text}" for path, text in self.units.items())

    def tar(self) -> bytes:
        """A gzipped tarball of the paths as in the repo, records included, and a MANIFEST.json."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            manifest = json.dumps({"commit": self.commit, "spaces": self.spaces,
                                   "files": sorted([*self.units, *self.records])}, indent=2) + "\n"
            for path, text in [("MANIFEST.json", manifest), *sorted({**self.units, **self.records}.items())]:
                data = text.encode()
                info = tarfile.TarInfo(path)
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()


def backup(fleet: Fleet, space_glob: str) -> Backup:
    """``gitops export --space GLOB``: the spaces' units and records as of the fleet's commit."""
    commit = fleet.store.head()
    if commit is None:
        raise NotFoundError("the manifests repo has no commit yet", "run `gitops render` first")
    spaces = fleet.match(space_glob)
    # in the order `gitops apply` goes (space by space, wave by wave), so the stream applies as is
    units = {state.unit_path(UnitRef(s.name, u)): fleet.text(UnitRef(s.name, u)) for s in spaces
             for u in sorted(s.units, key=lambda u: (apply_order(s.units[u].labels), u))}
    records = {path: fleet.store.read_blob(blob) for path, blob in fleet.blobs.items()
               if path == state.SETTINGS or any(path == state.record_path(s.name) for s in spaces)}
    return Backup(commit, [s.name for s in spaces], units, records)
