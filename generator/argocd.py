"""The Argo CD objects that reconcile what gitops writes (pure): one ApplicationSet, or one
Application per space.

The ApplicationSet (the default) uses a list generator built from the space records, not a git
directory generator over ``spaces/*``: a directory generator knows only the path, while every
space deploys to its own cluster and namespace (its record's target), and RollingSync groups the
Applications by an environment label that only the records know. Each Application syncs
``spaces/<space>`` as a plain directory (no kustomization, no recursion), server-side, with the
units in their waves (``argocd.argoproj.io/sync-wave``, written by render) and pruning last, as
``gitops apply --prune`` does. ``rolling`` adds RollingSync steps, one per environment in rollout
order; Argo CD then turns automated sync off on the generated Applications and syncs them step
by step (docs/fleet.md). The destination is the Argo CD cluster named as the space's kube context
(``argocd cluster add <context>`` names it so).

This module builds data; it reads and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.handoff import SPACE_LABEL, Site, Source, resource_name

API = "argoproj.io/v1alpha1"
ENV_LABEL = "gitops.dev/environment"


@dataclass(frozen=True)
class Options:
    """What the user chose: where the repo is, and how Argo CD syncs."""

    source: Source
    prune: bool = False
    self_heal: bool = False
    rolling: bool = False  # RollingSync steps by environment (a feature flag in Argo CD)
    namespace: str = "argocd"  # where Argo CD runs
    argo_project: str = "default"  # the Argo CD AppProject


def _sync_policy(options: Options) -> dict[str, Any]:
    return {"automated": {"prune": options.prune, "selfHeal": options.self_heal},
            "syncOptions": ["ServerSideApply=true", "PruneLast=true"]}


def _spec(options: Options, space: str, cluster: str, namespace: str) -> dict[str, Any]:
    return {
        "project": options.argo_project,
        "source": {"repoURL": options.source.repo_url, "targetRevision": options.source.revision,
                   "path": f"spaces/{space}", "directory": {"recurse": False}},
        "destination": {"name": cluster, "namespace": namespace},
        "syncPolicy": _sync_policy(options),
    }


def application_set(sites: list[Site], options: Options, stages: list[str]) -> dict[str, Any]:
    """One ApplicationSet making an Application per site (``stages``: environments in rollout
    order, for RollingSync)."""
    elements = [{"space": s.space, "cluster": s.context, "namespace": s.namespace,
                 "environment": s.environment, "region": s.region} for s in sites]
    spec: dict[str, Any] = {
        "goTemplate": True,
        "goTemplateOptions": ["missingkey=error"],
        "generators": [{"list": {"elements": elements}}],
        "template": {
            "metadata": {"name": "{{.space}}",
                         "labels": {SPACE_LABEL: "{{.space}}", ENV_LABEL: "{{.environment}}"}},
            "spec": _spec(options, "{{.space}}", "{{.cluster}}", "{{.namespace}}"),
        },
    }
    if options.rolling:
        present = {s.environment for s in sites}
        spec["strategy"] = {"type": "RollingSync", "rollingSync": {"steps": [
            {"matchExpressions": [{"key": ENV_LABEL, "operator": "In", "values": [env]}]}
            for env in stages if env in present]}}
    return {"apiVersion": API, "kind": "ApplicationSet",
            "metadata": {"name": resource_name(options.source.project), "namespace": options.namespace},
            "spec": spec}


def applications(sites: list[Site], options: Options) -> list[dict[str, Any]]:
    """One Application per site; each carries its stage as a sync wave, for an app of apps."""
    return [{
        "apiVersion": API, "kind": "Application",
        "metadata": {"name": resource_name(s.space), "namespace": options.namespace,
                     "labels": {SPACE_LABEL: s.space, ENV_LABEL: s.environment},
                     "annotations": {"argocd.argoproj.io/sync-wave": str(s.stage)}},
        "spec": _spec(options, s.space, s.context, s.namespace),
    } for s in sites]
