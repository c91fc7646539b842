"""The bulk functions of `gitops run` (pure): set-replicas, set-image-reference, set-env-var.

Each takes a manifest (plain or round-trip data, changed in place so comments survive) and
returns True when it changed it, False when it already was so, and None when what it names is
not there (no such container, not a Deployment). A ``Function`` bundles one with what `run`
needs around it: the text a unit must contain to be worth parsing, and the error when no
selected unit has what it names (a typo must not pass as "nothing changed").
No I/O, no YAML text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from generator.errors import GitopsError
from generator.overlay import SCALABLE, WORKLOADS, set_image


class FunctionError(GitopsError):
    """A function given a unit it cannot apply to, or bad arguments."""


@dataclass(frozen=True)
class Function:
    """One `gitops run` function, ready to run over a selection."""

    name: str
    change: Callable[[Any], bool | None]  # see the module doc
    prefilter: tuple[str, ...]  # texts a unit must all contain for ``change`` to find anything
    absent: Callable[[Sequence[Any]], GitopsError]  # the selected manifests -> the error


def _containers(data: Any) -> list[Any]:
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in WORKLOADS:
        return []
    found = ((data.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers")
    return [c for c in found or [] if isinstance(c, dict)]


def _container(data: Any, name: str) -> Any:
    for container in _containers(data):
        if container.get("name") == name:
            return container
    return None


def _within(container: str) -> tuple[str, ...]:
    """What a unit with the named container must contain, however its YAML quotes them: the
    ``containers`` key and the name (a Service named like the container has no ``containers``)."""
    return ("containers", container)


def _no_container(name: str) -> Callable[[Sequence[Any]], GitopsError]:
    def absent(manifests: Sequence[Any]) -> GitopsError:
        there = sorted({str(c.get("name")) for d in manifests for c in _containers(d)})
        return FunctionError(f"no selected unit has a container named {name!r}; containers there: "
                             f"{', '.join(there) or '(none: no Deployment, StatefulSet or DaemonSet selected)'}",
                             "check --container-name, or select other units (--space, --unit, --where)")
    return absent


def replicas(count: int) -> Function:
    """set-replicas: every selected Deployment/StatefulSet."""
    if count < 0:
        raise FunctionError(f"replicas must be 0 or more, not {count}", "e.g. --replicas 3")
    return Function("set-replicas", lambda d: set_replicas(d, count), ("replicas",), lambda _: FunctionError(
        "no selected unit has replicas (a Deployment or StatefulSet)",
        "select workloads, e.g. --where \"Labels.layer = 'backend'\""))


def image(container: str, reference: str) -> Function:
    """set-image-reference: the named container of every selected workload."""
    return Function("set-image-reference", lambda d: set_image_reference(d, container, reference),
                    _within(container), _no_container(container))


def env(container: str, assignment: str) -> Function:
    """set-env-var: ``NAME=VALUE`` sets, ``NAME-`` removes (as `kubectl set env`)."""
    name, value = check_assignment(assignment)
    if value is not None:
        return Function("set-env-var", lambda d: set_env_var(d, container, assignment),
                        _within(container), _no_container(container))

    def absent(manifests: Sequence[Any]) -> GitopsError:
        if not any(_container(d, container) is not None for d in manifests):
            return _no_container(container)(manifests)
        return FunctionError(f"no selected unit's container {container!r} has an env var {name!r} to remove",
                             "check the name (`gitops unit get UNIT --space S` shows the env)")
    return Function("set-env-var", lambda d: set_env_var(d, container, assignment),
                    (*_within(container), name), absent)


def check_assignment(assignment: str) -> tuple[str, str | None]:
    """``NAME=VALUE`` -> (NAME, VALUE); ``NAME-`` -> (NAME, None): remove it."""
    name, sep, value = assignment.partition("=")
    if not sep and assignment.endswith("-") and len(assignment) > 1 and "=" not in assignment:
        return assignment[:-1], None
    if not sep or not name:
        raise FunctionError(f"--env-var {assignment!r} is not NAME=VALUE (or NAME- to remove it)",
                            "e.g. --env-var CIRCUIT_BREAKER=true")
    return name, value


def set_replicas(data: Any, replicas: int) -> bool | None:
    """``spec.replicas`` of a Deployment/StatefulSet; other kinds: None."""
    if replicas < 0:
        raise FunctionError(f"replicas must be 0 or more, not {replicas}", "e.g. --replicas 3")
    if not isinstance(data, dict) or data.get("kind") not in SCALABLE:
        return None
    spec = data.setdefault("spec", {})
    if spec.get("replicas") == replicas:
        return False
    spec["replicas"] = replicas
    return True


def set_image_reference(data: Any, container: str, reference: str) -> bool | None:
    """The image of the named container: a full reference, or ``:tag`` (repository kept).

    >>> d = {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [
    ...     {"name": "t", "image": "traderx/t:v1"}]}}}}
    >>> set_image_reference(d, "t", ":v2"), d["spec"]["template"]["spec"]["containers"][0]["image"]
    (True, 'traderx/t:v2')
    """
    found = _container(data, container)
    if found is None:
        return None
    new = set_image(str(found.get("image", "")), reference)
    if found.get("image") == new:
        return False
    found["image"] = new
    return True


def set_env_var(data: Any, container: str, assignment: str) -> bool | None:
    """``K=V`` on the named container: replaces the value (dropping valueFrom) or appends;
    ``K-`` removes it (None when it is not there, as when the container is not).

    >>> d = {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [
    ...     {"name": "t", "env": [{"name": "A", "value": "1"}]}]}}}}
    >>> set_env_var(d, "t", "B=2"), set_env_var(d, "t", "A-"), set_env_var(d, "t", "A-")
    (True, True, None)
    """
    name, value = check_assignment(assignment)
    found = _container(data, container)
    if found is None:
        return None
    env = found.get("env")
    if value is None:
        at = [n for n, item in enumerate(env or []) if item.get("name") == name]
        if not at:
            return None
        for n in reversed(at):
            del env[n]
        if not env:
            del found["env"]
        return True
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
