"""What every unit a plan writes must pass: the secret guard, then the Kubernetes schema.

One ``Checks`` per command: it remembers what it found good, so a fleet of units that differ
only in their name, namespace and label values (1000 regions) is checked about once per
shape; a blob the guard found nothing in is not checked again. Normally the first problem
raises (and nothing is written); with ``findings`` set to a list (a dry run) every problem is
collected there and planning goes on.

Never writes anything, and never shows a secret's value (a finding carries it masked).
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Callable, Sequence
from typing import Any

from generator import guard
from generator.errors import SchemaError
from generator.model import UnitRef
from generator.operations.lint import Problem
from generator.schema import SchemaValidator


class Checks:
    def __init__(self, kubernetes_version: str, allowed: Sequence[guard.Allowed]) -> None:
        self.allowed = tuple(allowed)
        self.validator = SchemaValidator(kubernetes_version)
        self.findings: list[Problem] | None = None  # a list: collect, do not raise
        self._guarded: set[str] = set()  # blob ids the secret guard found nothing in
        self._clean: set[bytes] = set()  # shape keys (_shape_keys) the secret guard found nothing in
        self._clean_env: set[bytes] = set()  # the same, keyed up to env var values too
        self._last: tuple[Any, UnitRef, bool] | None = None  # data checked last, for whom, clean
        self._valid: set[bytes] = set()  # shape keys the schema found valid

    def secrets(self, data: Any, ref: UnitRef, key: bytes | None = None,
                env_key: bytes | None = None) -> bool:
        """The secret guard: raise (naming the field, masking the value) on a credential.
        Data found clean up to name, namespace and label values (``key``) is checked for those
        alone; a workload found clean up to those and its env var values (``env_key``), for
        those alone (every finding is of one value at one path: the rest was found clean).
        Returns whether nothing at all was found (not even what the allow-list lets by)."""
        if self._last is not None and self._last[0] is data and self._last[1] == ref:
            return self._last[2]
        if key is None or env_key is None:
            key, env_key = _shape_keys(data)
        if key and key in self._clean:
            found = guard.scan_metadata(data, ref.space, ref.unit)
        elif env_key and env_key in self._clean_env:
            found = guard.scan(_env_and_metadata(data), ref.space, ref.unit)
        else:
            found = guard.scan(data, ref.space, ref.unit)
            if not found and key:
                self._clean.add(key)
                if env_key:
                    self._clean_env.add(env_key)
        refused = guard.unallowed(found, self.allowed)
        if self.findings is None:
            guard.refuse(refused)
        else:
            self.findings += [Problem.secret(f) for f in refused]
        self._last = (data, ref, not found)
        return not found

    def validate(self, data: Any, ref: UnitRef) -> None:
        """The secret guard, then the schema check; both skip data already found good up to
        metadata name, namespace and label values (the schema types them as free strings; they
        are what most regions differ in: a region's Namespace is named for it), the schema check
        also up to its containers' env var values (free strings too: a region's name in an env
        var)."""
        key, env_key = _shape_keys(data)
        self.secrets(data, ref, key, env_key)
        key = env_key or key
        if not key or key not in self._valid:
            try:
                self.validator.validate(data, str(ref))
            except SchemaError as e:
                if self.findings is None:
                    raise
                self.findings.append(Problem.schema(ref, e.message))
                return
            if key:
                self._valid.add(key)

    def written(self, blob: str, data: Callable[[], Any], ref: UnitRef) -> None:
        """The guard over content about to be written as ``blob`` (content copied unchanged
        from upstream included); a blob found clean is clean for any unit (an allowed finding
        is allowed for its unit alone, so such a blob is checked each time)."""
        if blob not in self._guarded and self.secrets(data(), ref):
            self._guarded.add(blob)


# Workloads whose spec.template.spec is a PodSpec: there, containers[].env[].value is an EnvVar's
# value, which the schema types as a free string (no format, pattern or enum).
_POD_TEMPLATES = {("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"),
                  ("apps/v1", "ReplicaSet"), ("batch/v1", "Job")}


def _with_env(data: Any) -> bool:
    return isinstance(data, dict) and (data.get("apiVersion"), data.get("kind")) in _POD_TEMPLATES


def _env_and_metadata(data: Any) -> Any:
    """A workload with only what may differ from one found clean under its env_key: its
    metadata and its containers' env vars (under their names, at the same places: every path
    the guard names is as in the whole), with apiVersion and kind, in the whole's order."""
    spec = data.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    pod = template.get("spec") if isinstance(template, dict) else None
    if not isinstance(pod, dict):
        return data
    kept: dict[str, Any] = {}
    for field in ("containers", "initContainers"):
        if isinstance(pod.get(field), list):
            kept[field] = [{k: v for k, v in c.items() if k in ("name", "env")} if isinstance(c, dict) else c
                           for c in pod[field]]
    return {k: {"template": {"spec": kept}} if k == "spec" else v for k, v in data.items()
            if k in ("apiVersion", "kind", "metadata", "spec")}


def _shape_keys(data: Any) -> tuple[bytes, bytes]:
    """(key, env_key): the manifest up to its metadata name, namespace and labels values; for a
    workload (_POD_TEMPLATES), also up to its containers' env var string values (else b"").
    b"" for a key that cannot be made (round-trip types marshal cannot hold).

    A workload is written out once: its key is that of the env-free shape followed by the
    blanked values in order (which the shape's blanks place back: equal keys, equal data)."""
    metadata = data.get("metadata") if isinstance(data, dict) else None
    shape = data
    if isinstance(metadata, dict):
        normal = dict(metadata)
        if isinstance(normal.get("namespace"), str):
            normal["namespace"] = ""
        name = normal.get("name")
        if isinstance(name, str) and name:  # (SchemaValidator refuses an empty name)
            normal["name"] = _SOME_NAME
        if isinstance(normal.get("labels"), dict):
            normal["labels"] = {k: "" if isinstance(v, str) else v for k, v in normal["labels"].items()}
        shape = {**data, "metadata": normal}
    try:
        # marshal version 2 writes no back-references: equal data, equal bytes.
        if not _with_env(data) or "spec" not in shape:
            return hashlib.sha1(marshal.dumps(shape, 2)).digest(), b""  # noqa: S324 - a cache key
        values: list[str] = []
        written = marshal.dumps({**shape, "spec": _env_free(shape["spec"], values)}, 2)
        return (hashlib.sha1(written + marshal.dumps(values, 2)).digest(),  # noqa: S324
                hashlib.sha1(written).digest())  # noqa: S324
    except ValueError:  # round-trip types marshal cannot hold: check every time
        return b"", b""


_SOME_NAME = (0,)  # a tuple: equal to no value of plain data


def _env_free(spec: Any, values: list[str]) -> Any:
    """A workload's spec with the string values of its containers' env vars blanked (only the
    path to them copied), each blanked value appended to ``values``."""
    template = spec.get("template") if isinstance(spec, dict) else None
    pod = template.get("spec") if isinstance(template, dict) else None
    if not isinstance(template, dict) or not isinstance(pod, dict):
        return spec
    normal = dict(pod)

    def blank(v: Any) -> Any:
        if isinstance(v, dict) and isinstance(v.get("value"), str):
            values.append(v["value"])
            return {**v, "value": ""}
        return v

    for field in ("containers", "initContainers"):
        containers = pod.get(field)
        if isinstance(containers, list):
            normal[field] = [{**c, "env": [blank(v) for v in c["env"]]}
                             if isinstance(c, dict) and isinstance(c.get("env"), list) else c
                             for c in containers]
    return {**spec, "template": {**template, "spec": normal}}
