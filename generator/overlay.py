"""Upstream unit + space overlay -> generated unit (pure).

What an overlay does to one unit, in order: namespace (``metadata.name`` of a Namespace,
``metadata.namespace`` of any namespaced object), object labels, replicas, image, env vars,
resources, then the unit's strategic merge patch. The input manifest is never changed.

No I/O, no YAML text, no git.
"""

from __future__ import annotations

from collections.abc import Callable
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


class _Writable:
    """Copy-on-write access to a manifest: a path is copied (shallowly) the first time it is
    written through, so everything an overlay does not touch stays shared with the upstream.
    Sharing is what lets a thousand regions cost little more than one (see yamlio.Emitter)."""

    def __init__(self, upstream: Manifest) -> None:
        self.data: Manifest = dict(upstream)
        self._owned: set[int] = {id(self.data)}

    def own(self, parent: Any, key: Any, empty: Any) -> Any:
        """``parent[key]``, copied once so it may be changed; ``empty`` when it is missing."""
        child = parent.get(key) if isinstance(parent, dict) else parent[key]
        if child is None:
            child = empty
        elif id(child) not in self._owned:
            child = dict(child) if isinstance(child, dict) else list(child)
        self._owned.add(id(child))
        parent[key] = child
        return child

    def first_container(self, unit: str, what: str, source: str) -> dict[str, Any]:
        data = self.data
        containers = (((data.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")
        if data.get("kind") not in WORKLOADS or not containers:
            raise ConfigError(
                f"{source}: {what} for unit {unit!r}, but it is a {data.get('kind')} with no containers",
                f"{what} applies to Deployments; remove {unit!r} from {what}",
            )
        spec = self.own(data, "spec", {})
        template = self.own(spec, "template", {})
        pod = self.own(template, "spec", {})
        listed = self.own(pod, "containers", [])
        first: dict[str, Any] = self.own(listed, 0, {})
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
    """Add env var ``name`` to a container, or replace its value (dropping any valueFrom).

    The container's env list and the changed entry are replaced, never changed in place, so a
    list shared with an upstream unit stays as it was.
    """
    env = list(container.get("env") or [])
    for i, item in enumerate(env):
        if item.get("name") == name:
            env[i] = {**{k: v for k, v in item.items() if k != "valueFrom"}, "value": value}
            break
    else:
        env.append({"name": name, "value": value})
    container["env"] = env


def inputs(overlay: Overlay, unit: str) -> list[Any]:
    """What of ``overlay`` can change ``unit``: when this and the upstream unit are unchanged,
    the generated unit is unchanged. (``"*"`` resources count for every unit: the kind that
    decides whether they apply is in the upstream, which the caller fingerprints.)"""
    return [overlay.namespace, overlay.labels, overlay.replicas.get(unit), overlay.images.get(unit),
            overlay.env.get(unit), overlay.resources.get("*"), overlay.resources.get(unit),
            overlay.patches.get(unit)]


class Specs:
    """The specs ``apply`` made, by upstream and the overlay inputs that made them (replicas,
    image, env, resources: what a space's overlay does below metadata), so that the spaces
    applying the same inputs to one upstream get one spec, not a copy each: a thousand regions
    with one environment's replicas and resources share it, as they share what no overlay
    touched (a yamlio.Emitter told of it writes it once: ``kept`` is told each spec kept).
    Specs, like upstreams, must not be changed once made.
    """

    def __init__(self, kept: Callable[[Any], None] | None = None) -> None:
        self._kept = kept
        self._specs: dict[tuple[int, str], tuple[Manifest, Any]] = {}  # -> (upstream, its spec)

    def key(self, upstream: Manifest, overlay: Overlay, unit: str) -> tuple[int, str]:
        kind = upstream.get("kind")
        # repr: exact for plain data (1, True and "1" differ), and cheap
        return id(upstream), repr((overlay.replicas.get(unit), overlay.images.get(unit),
                                   overlay.env.get(unit), overlay.resources.get("*") if kind in WORKLOADS else None,
                                   overlay.resources.get(unit)))

    def get(self, key: tuple[int, str], upstream: Manifest) -> Any:
        """The spec made for ``key`` (``_UNTOUCHED``: none was; None: not made yet)."""
        kept = self._specs.get(key)
        return kept[1] if kept is not None and kept[0] is upstream else None

    def keep(self, key: tuple[int, str], upstream: Manifest, spec: Any) -> None:
        self._specs[key] = (upstream, spec)  # (the upstream kept alive: its id stays its own)
        if self._kept is not None and spec is not _UNTOUCHED:
            self._kept(spec)


_UNTOUCHED = object()  # (Specs) the overlay left the upstream's spec as it was


def apply(upstream: Manifest, overlay: Overlay, unit: str, specs: Specs | None = None) -> Manifest:
    """The generated unit: ``overlay`` applied to ``upstream`` (unit ``unit``).

    ``upstream`` is never changed; the result shares every subtree the overlay left alone, and
    with ``specs``, a spec made before from the same upstream and inputs (not for a unit the
    overlay patches: a patch may change anything).
    """
    out = _Writable(upstream)
    data = out.data
    source = " + ".join(overlay.sources) or "overlay"
    metadata = out.own(data, "metadata", {})
    kind = data.get("kind")
    if kind == "Namespace":
        metadata["name"] = overlay.namespace
    elif kind not in CLUSTER_SCOPED:
        metadata["namespace"] = overlay.namespace
    if overlay.labels:
        metadata["labels"] = {**(metadata.get("labels") or {}), **overlay.labels}

    if specs is not None and unit not in overlay.patches:
        key = specs.key(upstream, overlay, unit)
        spec = specs.get(key, upstream)
        if spec is None:
            _below_metadata(out, overlay, unit, kind, source)
            spec = data["spec"] if data.get("spec") is not upstream.get("spec") else _UNTOUCHED
            specs.keep(key, upstream, spec)
        elif spec is not _UNTOUCHED:
            data["spec"] = spec
        return data
    _below_metadata(out, overlay, unit, kind, source)
    if unit in overlay.patches:
        patched: Manifest = strategic_patch(data, overlay.patches[unit])
        return patched
    return data


def _below_metadata(out: _Writable, overlay: Overlay, unit: str, kind: Any, source: str) -> None:
    """What ``apply`` does below metadata, but the patch: replicas, image, env and resources
    (each writes below ``spec`` alone)."""
    data = out.data
    if unit in overlay.replicas:
        if kind not in SCALABLE:
            raise ConfigError(f"{source}: replicas for unit {unit!r}, but it is a {kind}",
                              f"replicas applies to Deployments; remove {unit!r} from replicas")
        out.own(data, "spec", {})["replicas"] = overlay.replicas[unit]
    if unit in overlay.images:
        container = out.first_container(unit, "images", source)
        container["image"] = set_image(str(container.get("image", "")), overlay.images[unit])
    if unit in overlay.env:
        container = out.first_container(unit, "env", source)
        for name, value in overlay.env[unit].items():
            set_env(container, name, value)
    resources = overlay.resources.get("*") if kind in WORKLOADS else None
    if unit in overlay.resources:
        resources = _deep_merge(resources or {}, overlay.resources[unit])
    if resources:
        container = out.first_container(unit, "resources", source)
        container["resources"] = _deep_merge(container.get("resources") or {}, resources)


def rename(upstream: Manifest, name: str) -> Manifest:
    """A clone of ``upstream`` as the object ``name`` (``unit create NEW --upstream-unit U``).

    ``metadata.name`` becomes ``name``, and so does every label value equal to the old name
    in ``metadata.labels`` and, for a workload, in ``spec.selector.matchLabels`` and
    ``spec.template.metadata.labels``: the green Deployment selects its own pods, never the
    blue ones. A Service's ``spec.selector`` is left alone (a cloned Service still selects the
    original pods until it is pointed elsewhere), and so are container names. ``upstream`` is
    never changed.

    >>> blue = {"kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
    ...         "spec": {"selector": {"matchLabels": {"app": "web"}}}}
    >>> green = rename(blue, "web-green")
    >>> green["metadata"], green["spec"]["selector"]["matchLabels"]
    ({'name': 'web-green', 'labels': {'app': 'web-green'}}, {'app': 'web-green'})
    """
    out = _Writable(upstream)
    data = out.data
    metadata = out.own(data, "metadata", {})
    old = metadata.get("name")
    metadata["name"] = name
    if not isinstance(old, str):
        return data

    def relabel(labels: Any) -> None:
        for key, value in list(labels.items()):
            if value == old:
                labels[key] = name

    if isinstance(metadata.get("labels"), dict):
        relabel(out.own(metadata, "labels", {}))
    if data.get("kind") in WORKLOADS and isinstance(data.get("spec"), dict):
        spec = out.own(data, "spec", {})
        selector = spec.get("selector")
        if isinstance(selector, dict) and isinstance(selector.get("matchLabels"), dict):
            relabel(out.own(out.own(spec, "selector", {}), "matchLabels", {}))
        template = spec.get("template")
        if isinstance(template, dict) and isinstance((template.get("metadata") or {}).get("labels"), dict):
            relabel(out.own(out.own(out.own(spec, "template", {}), "metadata", {}), "labels", {}))
    return data
