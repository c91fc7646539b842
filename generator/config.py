"""The config dir: gitops.yaml, templates/, environments/, regions/ -> a Project.

Reads and checks the generator's input (docs/configuration.md) and derives the spaces it
defines: their names, labels, targets, overlays and fingerprints. It reads files of the config
dir and nothing else (besides a cache of parsed config files under ~/.cache/gitops, keyed by
their content: never read as the truth); it does not render templates or touch the manifests
repo. Finding the config dir and its repo, and reading a file as YAML, are configdir.py's.
"""

from __future__ import annotations

import json
import marshal
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator import __version__, state
from generator.errors import ConfigError, GitopsError
from generator.configdir import CONFIG_FILE, default_repo, parse, read_bytes, read_yaml
from generator.model import Overlay, SpaceSpec, Target, check_name
from generator.usercache import user_cache

if TYPE_CHECKING:
    from generator.guard import Allowed

_SETTINGS = {"project", "repo", "kubernetesVersion", "base", "secrets", "export"}
_OVERLAY_KEYS = {"environment", "region", "namespace", "labels", "target", "replicas", "images",
                 "env", "resources", "patches"}


@dataclass(frozen=True)
class Project:
    """Everything the config dir says."""

    root: Path
    name: str
    repo: Path
    kubernetes_version: str
    base: SpaceSpec
    spaces: tuple[SpaceSpec, ...]
    templates: dict[str, str]
    values: dict[str, Any]
    base_fingerprint: str  # templates, values, schema version: unchanged, the base is unchanged
    filters: dict[str, str]  # name -> WHERE clause (sets as IN clauses)
    allow: tuple[Allowed, ...] = ()  # secrets.allow: findings the secret guard lets through
    exports: tuple[str, ...] = ()  # export: the reconcilers whose wave annotations units carry

    def unit_names(self) -> list[str]:
        return list(self.values.get("units") or {})


class _ParseCache:
    """Parsed config files keyed by the hash of their bytes, kept in the user cache dir.

    A fleet's config dir holds one small overlay per region; parsing 1000 of them costs more
    than everything else a no-op render does, and they rarely change. The cache holds plain
    data written with ``marshal`` (which cannot run code, unlike pickle); a missing or damaged
    cache only costs a parse.
    """

    def __init__(self, root: Path, used: bool = True) -> None:
        self.root = root
        import hashlib  # (here and below: finding a repo, no hash is taken, and OpenSSL costs ~6 ms)

        key = hashlib.sha256(str(root).encode()).hexdigest()[:16]
        self.path = user_cache("config", f"{key}-{__version__}.marshal")
        self.entries: dict[str, tuple[str, Any]] = {}
        self.used = used  # False: a few files are read, parsing them costs less than the cache
        try:
            if used:
                self.entries = marshal.loads(self.path.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            pass
        self.dirty = False

    def load(self, path: Path) -> dict[str, Any]:
        rel = str(path.relative_to(self.root))
        raw = read_bytes(path, rel)
        import hashlib

        digest = hashlib.sha1(raw).hexdigest()  # noqa: S324 - a cache key, not security
        cached = self.entries.get(rel)
        if cached is not None and cached[0] == digest:
            data: dict[str, Any] = cached[1]
            return data
        data = parse(raw, rel)
        self.entries[rel] = (digest, data)
        self.dirty = True
        return data

    def save(self) -> None:
        if not self.dirty or not self.used:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps(self.entries))
            os.replace(tmp, self.path)
        except (OSError, ValueError):
            pass  # data marshal cannot hold, or no cache dir: parse again next time


def _fingerprint(*parts: Any) -> str:
    blob = json.dumps([__version__, *parts], sort_keys=True, separators=(",", ":"), default=str)
    import hashlib

    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of names to values", "write it as `KEY: value`")
    return {str(k): ("true" if v is True else "false" if v is False else str(v))
            for k, v in value.items()}


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, found {type(value).__name__}",
                          "see docs/configuration.md for the overlay format")
    return value


def _check_keys(data: dict[str, Any], allowed: set[str], source: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}",
                          f"known keys: {', '.join(sorted(allowed))}")


@dataclass(frozen=True)
class _OverlayFile:
    path: str
    data: dict[str, Any]


def _overlay(files: list[_OverlayFile], namespace: str, object_labels: dict[str, str],
             units: set[str]) -> Overlay:
    """Merge overlay files (environment, then region) into one Overlay, checking unit names."""
    replicas: dict[str, int] = {}
    images: dict[str, str] = {}
    env: dict[str, dict[str, str]] = {}
    resources: dict[str, dict[str, Any]] = {}
    patches: dict[str, Any] = {}
    for file in files:
        data = file.data
        for unit, count in _mapping(data.get("replicas"), f"{file.path}: replicas").items():
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise ConfigError(f"{file.path}: replicas of {unit!r} must be a whole number >= 0, "
                                  f"not {count!r}", "write e.g. `trade-service: 3`")
            replicas[unit] = count
        images.update(_strings(data.get("images"), f"{file.path}: images"))
        for unit, variables in _mapping(data.get("env"), f"{file.path}: env").items():
            env.setdefault(unit, {}).update(_strings(variables, f"{file.path}: env.{unit}"))
        for unit, spec in _mapping(data.get("resources"), f"{file.path}: resources").items():
            resources[unit] = {**resources.get(unit, {}), **_mapping(spec, f"{file.path}: resources.{unit}")}
        for unit, patch in _mapping(data.get("patches"), f"{file.path}: patches").items():
            patches[unit] = _mapping(patch, f"{file.path}: patches.{unit}")
        overlay = Overlay(namespace, {}, replicas, images, env, resources, patches)
        unknown = sorted(overlay.unit_names() - units)
        if unknown:
            raise ConfigError(f"{file.path}: no unit named {unknown[0]!r}",
                              f"units are: {', '.join(sorted(units))}")
    return Overlay(namespace, object_labels, replicas, images, env, resources, patches,
                   tuple(f.path for f in files))


def load_project(root: Path, regions: set[str] | None = None) -> Project:
    """Read and check the whole config dir; with ``regions`` (``regions/<file>.yaml``), only
    those region files and the spaces they make (a render that knows the rest is unchanged)."""
    settings = read_yaml(root / CONFIG_FILE, root)
    _check_keys(settings, _SETTINGS, CONFIG_FILE)
    project = check_name("project", str(settings.get("project") or "traderx"))
    version = str(settings.get("kubernetesVersion") or state.DEFAULT_KUBERNETES)
    repo = default_repo(root)

    templates_dir = root / "templates"
    if not (templates_dir / "values.yaml").is_file():
        raise ConfigError(f"no templates/values.yaml in {root}", "see docs/configuration.md")
    values = read_yaml(templates_dir / "values.yaml", root)
    templates = {
        str(path.relative_to(templates_dir)): path.read_text()
        for path in sorted(templates_dir.rglob("*.j2"))
    }
    units = values.get("units")
    if not isinstance(units, dict) or not units:
        raise ConfigError("templates/values.yaml: no `units:`", "list the units, see docs/configuration.md")
    for unit, spec in units.items():
        check_name("unit", str(unit))
        service = (spec or {}).get("service")
        if service is not None and service not in (values.get("services") or {}):
            raise ConfigError(f"templates/values.yaml: unit {unit!r} names service {service!r}, "
                              "which is not under `services:`", "add the service or fix the name")

    base_labels = _strings(_mapping(settings.get("base"), "gitops.yaml: base").get("labels"),
                           "gitops.yaml: base.labels") or {"environment": "base"}
    base_name = f"{project}-base"
    base_namespace = str(values.get("namespace") or project)
    base = SpaceSpec(base_name, base_labels, None, Target(base_name, base_namespace), None)
    from generator import handoff  # (a render's: a command that only reads never loads a project)

    exports = handoff.parse_exports(settings.get("export"), CONFIG_FILE)
    # export: changes every unit; without it, the fingerprint is what it was before export existed
    fingerprint = _fingerprint(templates, values, version, *([list(exports)] if exports else []))
    return Project(root, project, repo, version, base,
                   tuple(_downstream(root, project, base_name, set(units), regions)),
                   templates, values, fingerprint, _filters(root),
                   _allow(settings.get("secrets")), exports)


def _allow(secrets: Any) -> tuple[Allowed, ...]:
    """gitops.yaml's ``secrets: {allow: [{space, unit, path, reason}]}``."""
    section = _mapping(secrets, "gitops.yaml: secrets")
    _check_keys(section, {"allow"}, "gitops.yaml: secrets")
    if section.get("allow") is None:
        return ()
    from generator.guard import parse_allow

    try:
        return parse_allow(section.get("allow"), CONFIG_FILE)
    except GitopsError as e:
        raise ConfigError(e.message, e.hint) from e


def _filters(root: Path) -> dict[str, str]:
    """filters.yaml: named WHERE clauses and sets of services, each checked to parse."""
    path = root / "filters.yaml"
    if not path.is_file():
        return {}
    data = read_yaml(path, root)
    _check_keys(data, {"filters", "sets"}, "filters.yaml")
    named: dict[str, str] = {}
    for name, text in _mapping(data.get("filters"), "filters.yaml: filters").items():
        named[check_name("filter", str(name))] = str(text)
    for name, services in _mapping(data.get("sets"), "filters.yaml: sets").items():
        if not isinstance(services, list) or not services:
            raise ConfigError(f"filters.yaml: set {name!r} must be a list of services",
                              "write e.g. critical-services: [trade-service, reference-data]")
        quoted = ", ".join("'" + str(s).replace("'", "''") + "'" for s in services)
        named[check_name("set", str(name))] = f"Labels.service IN ({quoted})"
    from generator import query  # (the WHERE grammar: only a project's filters need it here)

    for name, text in named.items():
        try:
            query.parse(text)
        except query.QueryError as e:
            raise ConfigError(f"filters.yaml: {name}: {e.message}", e.hint) from e
    return named


def _overlay_files(root: Path, folder: str, cache: _ParseCache,
                   only: set[str] | None = None) -> dict[str, _OverlayFile]:
    files = {}
    directory = root / folder
    names = sorted(n for n in os.listdir(directory) if n.endswith(".yaml")) if directory.is_dir() else []
    if only is not None:
        names = [n for n in names if f"{folder}/{n}" in only]
    for path in (directory / n for n in names):
        data = cache.load(path)
        rel = f"{folder}/{path.name}"
        _check_keys(data, _OVERLAY_KEYS, rel)
        files[path.stem] = _OverlayFile(rel, data)
    return files


def _downstream(root: Path, project: str, base: str, units: set[str],
                only: set[str] | None = None) -> list[SpaceSpec]:
    cache = _ParseCache(root, used=only is None)
    environments = _overlay_files(root, "environments", cache)
    regions = _overlay_files(root, "regions", cache, only)
    cache.save()
    by_env: dict[str, list[tuple[str, _OverlayFile]]] = {}
    for stem, file in regions.items():
        env_name = file.data.get("environment")
        if env_name not in environments:
            raise ConfigError(f"{file.path}: environment {env_name!r} has no environments/{env_name}.yaml",
                              f"set `environment:` to one of: {', '.join(sorted(environments)) or '(none)'}")
        by_env.setdefault(str(env_name), []).append((str(file.data.get("region") or stem), file))

    specs = []
    for env_stem, env_file in environments.items():
        if only is not None and env_stem not in by_env:
            continue  # only some regions: an environment's own space is not among them
        env_name = str(env_file.data.get("environment") or env_stem)
        chains = ([(region, [env_file, file]) for region, file in by_env[env_stem]]
                  if env_stem in by_env else [(None, [env_file])])
        for region, files in chains:
            name = check_name("space", f"{project}-{env_name}" + (f"-{region}" if region else ""))
            labels: dict[str, str] = {}
            target: dict[str, Any] = {}
            for file in files:
                labels.update(_strings(file.data.get("labels"), f"{file.path}: labels"))
                target.update(_mapping(file.data.get("target"), f"{file.path}: target"))
            # Only the most specific file names the namespace: a shared one would collide.
            namespace = str(files[-1].data.get("namespace") or name)
            check_name("namespace", namespace)
            object_labels = {"environment": env_name, **({"region": region} if region else {})}
            labels.update(object_labels)
            overlay = _overlay(files, namespace, object_labels, units)
            spec_target = Target(str(target.get("context") or name), namespace)
            specs.append(SpaceSpec(name, dict(sorted(labels.items())), base, spec_target, overlay))
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise ConfigError(f"two overlays make the space {spec.name!r}", "rename a region or environment")
        seen.add(spec.name)
    return specs

