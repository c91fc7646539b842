"""The bulk functions of `gitops run` (pure): set-replicas, set-image-reference, set-env-var.

Each takes a manifest (plain or round-trip data, changed in place so comments survive) and
returns whether it changed anything; a unit it does not apply to is an error that says why.
No I/O, no YAML text.
"""

from __future__ import annotations

from typing import Any

from generator.errors import GitopsError
from generator.overlay import SCALABLE, WORKLOADS, set_image

FUNCTIONS = ("set-replicas", "set-image-reference", "set-env-var")


class FunctionError(GitopsError):
    """A function given a unit it cannot apply to, or bad arguments."""


def _container(data: Any, name: str) -> Any:
    kind = data.get("kind") if isinstance(data, dict) else None
    containers = ((data.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") \
        if kind in WORKLOADS else None
    for container in containers or []:
        if container.get("name") == name:
            return container
    return None


def set_replicas(data: Any, replicas: int) -> bool:
    """``spec.replicas`` of a Deployment/StatefulSet; other kinds are left alone (False)."""
    if replicas < 0:
        raise FunctionError(f"replicas must be 0 or more, not {replicas}", "e.g. --replicas 3")
    if not isinstance(data, dict) or data.get("kind") not in SCALABLE:
        return False
    spec = data.setdefault("spec", {})
    if spec.get("replicas") == replicas:
        return False
    spec["replicas"] = replicas
    return True


def set_image_reference(data: Any, container: str, reference: str) -> bool:
    """The image of the named container: a full reference, or ``:tag`` (repository kept).

    >>> d = {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [
    ...     {"name": "t", "image": "traderx/t:v1"}]}}}}
    >>> set_image_reference(d, "t", ":v2"), d["spec"]["template"]["spec"]["containers"][0]["image"]
    (True, 'traderx/t:v2')
    """
    found = _container(data, container)
    if found is None:
        return False
    image = set_image(str(found.get("image", "")), reference)
    if found.get("image") == image:
        return False
    found["image"] = image
    return True


def set_env_var(data: Any, container: str, assignment: str) -> bool:
    """``K=V`` on the named container: replaces the value (dropping valueFrom) or appends."""
    name, sep, value = assignment.partition("=")
    if not sep or not name:
        raise FunctionError(f"--env-var {assignment!r} is not NAME=VALUE", "e.g. --env-var CIRCUIT_BREAKER=true")
    found = _container(data, container)
    if found is None:
        return False
    env = found.get("env")
    if env is None:
        found["env"] = env = []
    for item in env:
        if item.get("name") == name:
            if item.get("value") == value and "valueFrom" not in item:
                return False
            item.pop("valueFrom", None)
            item["value"] = value
            return True
    env.append({"name": name, "value": value})
    return True
