"""The Flux objects that reconcile what gitops writes (pure): a GitRepository, and per space one
Kustomization (kustomize.toolkit.fluxcd.io/v1) per wave.

Flux has no sync waves, so each wave of a space is a Kustomization of ``./spaces/<space>`` that
keeps only that wave's objects: a ``$patch: delete`` patch drops the objects whose
``gitops.dev/order`` annotation (written by render) names another wave. The last wave keeps
every object no earlier wave claims, so a unit whose order is new since the export still goes
on, last. Each wave ``dependsOn`` the one before (Flux waits until it is ready: ``wait: true``),
and a space's first wave depends on the last wave of every space in the environment before it,
so dev goes before staging before prod, as ``gitops apply`` and the deploy workflow do. Flux
applies server-side and prunes what left git (``prune``). A space deploys to the cluster of its
kube context through ``kubeConfig.secretRef`` (a Secret named ``<context>-kubeconfig`` next to
the Kustomizations), except the spaces whose context is the one Flux runs in (``in_cluster``).

Nothing is written under ``spaces/``: Flux generates the kustomization.yaml of a plain directory
itself, with the patches and the target namespace of the Kustomization. This module builds data;
it reads and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.handoff import ORDER, SPACE_LABEL, Site, Source, resource_name

SOURCE_API = "source.toolkit.fluxcd.io/v1"
KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/v1"
# The object a delete patch names is not looked at: its target selects what it deletes.
_DELETE = "$patch: delete\napiVersion: v1\nkind: Object\nmetadata:\n  name: not-used\n"


@dataclass(frozen=True)
class Options:
    """What the user chose: where the repo is, how often Flux looks, and what it may do."""

    source: Source
    interval: str = "5m"
    timeout: str = "5m"  # how long one wave may take to become ready
    prune: bool = True
    namespace: str = "flux-system"  # where Flux runs
    in_cluster: str | None = None  # the kube context Flux runs in: no kubeConfig for its spaces


def git_repository(options: Options) -> dict[str, Any]:
    rev = options.source.revision
    ref = {"commit": rev} if len(rev) == 40 and all(c in "0123456789abcdef" for c in rev) else {"branch": rev}
    return {"apiVersion": SOURCE_API, "kind": "GitRepository",
            "metadata": {"name": resource_name(options.source.project), "namespace": options.namespace},
            "spec": {"interval": options.interval, "url": options.source.repo_url, "ref": ref}}


def wave_name(site: Site, wave: int) -> str:
    return resource_name(site.space, f"w{wave}")


def keep_only(wave: int, waves: tuple[int, ...]) -> list[dict[str, Any]]:
    """The patches that leave a wave's objects: others' deleted (the last wave keeps the rest).

    >>> keep_only(9, (0, 9))[0]["target"]
    {'annotationSelector': 'gitops.dev/order in (0)'}
    >>> keep_only(0, (0, 9))[0]["target"]
    {'annotationSelector': 'gitops.dev/order!=0'}
    >>> keep_only(3, (3,))
    []
    """
    if len(waves) == 1:
        return []
    if wave == waves[-1]:
        selector = f"{ORDER} in ({','.join(str(w) for w in waves[:-1])})"
    else:
        selector = f"{ORDER}!={wave}"
    return [{"patch": _DELETE, "target": {"annotationSelector": selector}}]


def kustomizations(sites: list[Site], options: Options) -> list[dict[str, Any]]:
    """Every wave of every site, chained: wave after wave, environment after environment."""
    last: dict[int, list[str]] = {}
    for site in sites:
        last.setdefault(site.stage, []).append(wave_name(site, site.waves[-1]))
    earlier = sorted(last)
    out = []
    for site in sites:
        before = [stage for stage in earlier if stage < site.stage]
        previous = sorted(last[before[-1]]) if before else []
        for wave in site.waves:
            spec: dict[str, Any] = {
                "interval": options.interval,
                "sourceRef": {"kind": "GitRepository", "name": resource_name(options.source.project)},
                "path": f"./spaces/{site.space}",
                "prune": options.prune,
                "wait": True,
                "timeout": options.timeout,
                "targetNamespace": site.namespace,
            }
            if previous:
                spec["dependsOn"] = [{"name": name} for name in previous]
            patches = keep_only(wave, site.waves)
            if patches:
                spec["patches"] = patches
            if site.context != options.in_cluster:
                spec["kubeConfig"] = {"secretRef": {"name": resource_name(site.context, "kubeconfig")}}
            out.append({"apiVersion": KUSTOMIZE_API, "kind": "Kustomization",
                        "metadata": {"name": wave_name(site, wave), "namespace": options.namespace,
                                     "labels": {SPACE_LABEL: site.space}},
                        "spec": spec})
            previous = [wave_name(site, wave)]
    return out
