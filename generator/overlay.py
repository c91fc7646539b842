"""Upstream unit + space overlay -> generated unit (pure).

What an overlay does to one unit, in order: namespace (``metadata.name`` of a Namespace,
``metadata.namespace`` of any namespaced object), object labels, replicas, image, env vars,
resources, then the unit's strategic merge patch. The input manifest is never changed.

No I/O, no YAML text, no git.
"""

from __future__ import annotations

import marshal
from typing import Any

from generator.errors import ConfigError
from generator.merge import strategic_patch
from generator.model import Manifest, Overlay

# Kinds that live outside any namespace: they take no metadata.namespace.
CLUSTER_SCOPED = frozenset({
    "Namespace", "Node", "PersistentVolume", "StorageClass", "IngressClass", "PriorityClass",
    "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "APIService",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "RuntimeClass",
})
# Kinds whose pods are described by spec.template.
WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})
SCALABLE = frozenset({"Deployment", "StatefulSet", "ReplicaSet"})


def _copy(data: Manifest) -> Manifest:
    # Manifests are JSON-like data: marshal copies them an order of magnitude faster than deepcopy.
    copied: Manifest = marshal.loads(marshal.dumps(data))
    return copied


def _first_container(data: Manifest, unit: str, what: str, source: str) -> dict[str, Any]:
    containers = (((data.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")
    if data.get("kind") not in WORKLOADS or not containers:
        raise ConfigError(
            f"{source}: {what} for unit {unit!r}, but it is a {data.get('kind')} with no containers",
            f"{what} applies to Deployments; remove {unit!r} from {what}",
        )
    first: dict[str, Any] = containers[0]
    return first


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def set_image(image: str, reference: str) -> str:
    """``reference`` as a full image, or ``:tag`` to keep the repository and change the tag.

    >>> set_image("traderx/trade-service:v1", ":v2")
    'traderx/trade-service:v2'
    >>> set_image("registry:5000/trade-service", ":v2")
    'registry:5000/trade-service:v2'
    >>> set_image("traderx/trade-service:v1", "other/image:v9")
    'other/image:v9'
    """
    if not reference.startswith(":"):
        return reference
    repository = image.split("@", 1)[0]
    slash = repository.rfind("/")
    colon = repository.rfind(":")
    if colon > slash:
        repository = repository[:colon]
    return repository + reference


def set_env(container: dict[str, Any], name: str, value: str) -> None:
    """Add env var ``name`` to a container, or replace its value (dropping any valueFrom)."""
    env = container.setdefault("env", [])
    for item in env:
        if item.get("name") == name:
            item.pop("valueFrom", None)
            item["value"] = value
            return
    env.append({"name": name, "value": value})


def apply(upstream: Manifest, overlay: Overlay, unit: str) -> Manifest:
    """The generated unit: ``overlay`` applied to a copy of ``upstream`` (unit ``unit``)."""
    data = _copy(upstream)
    source = " + ".join(overlay.sources) or "overlay"
    metadata = data.setdefault("metadata", {})
    kind = data.get("kind")
    if kind == "Namespace":
        metadata["name"] = overlay.namespace
    elif kind not in CLUSTER_SCOPED:
        metadata["namespace"] = overlay.namespace
    if overlay.labels:
        metadata["labels"] = {**(metadata.get("labels") or {}), **overlay.labels}

    if unit in overlay.replicas:
        if kind not in SCALABLE:
            raise ConfigError(f"{source}: replicas for unit {unit!r}, but it is a {kind}",
                              f"replicas applies to Deployments; remove {unit!r} from replicas")
        data.setdefault("spec", {})["replicas"] = overlay.replicas[unit]
    if unit in overlay.images:
        container = _first_container(data, unit, "images", source)
        container["image"] = set_image(str(container.get("image", "")), overlay.images[unit])
    if unit in overlay.env:
        container = _first_container(data, unit, "env", source)
        for name, value in overlay.env[unit].items():
            set_env(container, name, value)
    resources = overlay.resources.get("*") if kind in WORKLOADS else None
    if unit in overlay.resources:
        resources = _deep_merge(resources or {}, overlay.resources[unit])
    if resources:
        container = _first_container(data, unit, "resources", source)
        container["resources"] = _deep_merge(container.get("resources") or {}, resources)
    if unit in overlay.patches:
        data = strategic_patch(data, overlay.patches[unit])
    return data
