"""What gitops hands to Argo CD and Flux: the wave annotations render writes into the objects,
and the spaces as a reconciler sees them (pure).

Argo CD reads a unit's place in the apply order from ``argocd.argoproj.io/sync-wave`` on the
object itself; Flux has no waves, so ``gitops export flux`` makes one Kustomization per wave
that keeps only the objects whose ``gitops.dev/order`` is that wave. Both annotations hold
``model.apply_order`` of the unit's labels, the one ordering rule, and render writes them into
the base's units when gitops.yaml asks for them (``export: [argocd, flux]``), so that every copy
inherits them and ``spaces/<space>/`` stays plain manifests a plain directory apply takes.

This module builds data; it reads and writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

from generator.errors import ConfigError

EXPORTS = ("argocd", "flux")
ORDER = "gitops.dev/order"  # the unit's wave, as `gitops apply` also annotates it on the cluster
SPACE_LABEL = "gitops.dev/space"  # the space an object (or an Application, a Kustomization) is of
ARGO_WAVE = "argocd.argoproj.io/sync-wave"
TARGETABLE = "targetable"  # the space label that says a space deploys somewhere
# Where an environment goes in a rollout when --stages does not say: the usual names, in order.
_USUAL_STAGES = ("dev", "development", "test", "qa", "int", "integration", "uat", "stage", "staging",
                 "preprod", "pre-prod", "prod", "production")


def parse_exports(value: Any, source: str) -> tuple[str, ...]:
    """gitops.yaml's ``export:``: a list of the reconcilers render writes annotations for.

    >>> parse_exports(["flux", "argocd"], "gitops.yaml")
    ('argocd', 'flux')
    """
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: export: expected a list, e.g. [argocd, flux]",
                          "write it as `export: [argocd, flux]`")
    unknown = sorted(set(value) - set(EXPORTS))
    if unknown:
        raise ConfigError(f"{source}: export: unknown reconciler {unknown[0]!r}",
                          f"known: {', '.join(EXPORTS)}")
    return tuple(sorted(set(value)))


def stamps(order: int, exports: Iterable[str]) -> dict[str, str]:
    """The annotations a unit of that order carries for these reconcilers.

    >>> stamps(3, ["argocd"])
    {'gitops.dev/order': '3', 'argocd.argoproj.io/sync-wave': '3'}
    >>> stamps(3, [])
    {}
    """
    exports = set(exports)
    if not exports:
        return {}
    out = {ORDER: str(order)}
    if "argocd" in exports:
        out[ARGO_WAVE] = str(order)
    return out


def stamp(obj: MutableMapping[str, Any], order: int, exports: Iterable[str]) -> bool:
    """Write the annotations into ``obj`` (any mapping, a round-trip one included); True if it
    changed."""
    wanted = stamps(order, exports)
    if not wanted:
        return False
    meta = obj.setdefault("metadata", {})
    if meta.get("annotations") is None:
        meta["annotations"] = {}
    annotations = meta["annotations"]
    changed = False
    for key, value in wanted.items():
        if annotations.get(key) != value:
            annotations[key] = value
            changed = True
    return changed


@dataclass(frozen=True)
class Source:
    """Where a reconciler clones the manifests repo from, and what it follows."""

    project: str  # the gitops project: names the ApplicationSet / GitRepository
    repo_url: str
    revision: str = "main"  # a branch (or, for Flux, a 40-hex commit)


@dataclass(frozen=True)
class Site:
    """A targetable space as a reconciler sees it: where it goes, and its waves."""

    space: str
    environment: str
    region: str
    context: str
    namespace: str
    stage: int  # its environment's place in the rollout, 0 first
    waves: tuple[int, ...]  # the orders of its units, lowest first


def stage_order(environments: Iterable[str], given: list[str] | None = None) -> list[str]:
    """The environments in rollout order: ``given`` (--stages) must name each; else the usual
    names in their usual order (dev, test, qa, staging, prod…), then any other, by name.

    >>> stage_order(["prod", "staging", "dev"])
    ['dev', 'staging', 'prod']
    >>> stage_order(["prod", "canary", "dev"])
    ['dev', 'prod', 'canary']
    """
    found = sorted(set(environments))
    if given is not None:
        missing = [env for env in found if env not in given]
        if missing:
            raise ConfigError(f"--stages does not name the environment {missing[0]!r}",
                              f"list every environment in rollout order: {','.join(found)}")
        return [env for env in given if env in found]
    usual = {name: i for i, name in enumerate(_USUAL_STAGES)}
    return sorted(found, key=lambda env: (env not in usual, usual.get(env, 0), env))


def resource_name(*parts: str) -> str:
    """A DNS-1123 name (lowercase, digits, '-', at most 63) for an object named after spaces.

    >>> resource_name("traderx-prod-eu", "w3")
    'traderx-prod-eu-w3'
    """
    name = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    if len(name) > 63:
        raise ConfigError(f"{name!r} is longer than the 63 characters a Kubernetes name may have",
                          "use a shorter project or space name")
    return name
