"""Is a manifest valid Kubernetes? Checked against the Kubernetes OpenAPI schemas.

The schemas are the ones ``kubernetes-validate`` ships for every Kubernetes version (offline,
strict: unknown fields are errors). Validating with ``jsonschema`` costs ~1 ms per object, too
slow for a fleet, so each kind's schema is compiled once to Python code by ``fastjsonschema``
(~50 us per object) and the compiled code is cached under the user cache dir.

This module reads schema files and its cache, nothing else; it knows nothing of git or units.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import marshal
import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import importlib.util

from generator.errors import SchemaError

Validator = Callable[[Any], Any]

# Found without importing kubernetes_validate (and jsonschema behind it): only its files are used.
_SPEC = importlib.util.find_spec("kubernetes_validate")
_SCHEMA_ROOT = Path(_SPEC.origin if _SPEC and _SPEC.origin else ".").parent / "kubernetes-json-schema"
_VERSION_DIR = re.compile(r"v(\d+\.\d+\.\d+)-local-strict\Z")
_REF = "/api/_definitions.json#/$defs/"


def _base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


# Formats the Kubernetes schemas name: ``byte`` (base64, as the API server decodes it) is
# checked; the others' values are checked by the API server, not here.
_FORMATS: dict[str, Callable[[str], bool]] = {
    **{f: (lambda _value: True) for f in ("int32", "int64", "double", "date-time", "int-or-string", "float")},
    "byte": _base64,
}


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gitops" / "schemas"


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.lstrip("v").split(".")[:2])


def _schema_dir(version: str) -> Path:
    """The newest schema dir that is not newer than ``version`` (as kubernetes-validate picks)."""
    try:
        wanted = _minor(version)
    except ValueError as e:
        raise SchemaError(f"kubernetesVersion {version!r} is not a version",
                          "write it like \"1.32\" in gitops.yaml") from e
    found = sorted(
        (_minor(m.group(1)), d) for d in (_SCHEMA_ROOT.iterdir() if _SCHEMA_ROOT.is_dir() else [])
        if (m := _VERSION_DIR.match(d.name))
    )
    if not found:
        raise SchemaError("the Kubernetes schemas are not installed",
                          "pip install kubernetes-validate (a dependency of gitops)")
    usable = [d for minor, d in found if minor <= wanted]
    if not usable:
        oldest = ".".join(map(str, found[0][0]))
        raise SchemaError(f"no Kubernetes schemas for version {version}",
                          f"set kubernetesVersion in gitops.yaml to {oldest} or later")
    return usable[-1]


def _schema_file(api_version: str, kind: str) -> str:
    """The schema file name kubernetes-validate uses for a kind.

    >>> _schema_file("networking.k8s.io/v1", "Ingress")
    'ingress-networking-v1.json'
    """
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{group_version}.json"


def _is_builtin_group(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


class SchemaValidator:
    """Validates manifests for one Kubernetes version; compiled kinds are kept and cached."""

    def __init__(self, version: str) -> None:
        self.version = version
        self._dir = _schema_dir(version)
        self._validators: dict[tuple[str, str], Validator | None] = {}

    def _compile(self, file: Path) -> Validator:
        import fastjsonschema  # only when something is validated: a no-op render is not

        key = hashlib.sha256(
            f"{file}|{file.stat().st_mtime_ns}|{fastjsonschema.VERSION}|{sys.version}".encode()
        ).hexdigest()[:24]
        cached = _cache_dir() / f"{file.stem}-{key}.marshal"
        code = None
        try:
            code = marshal.loads(cached.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            schema = json.loads(file.read_text().replace(_REF, "#/$defs/"))
            defs = json.loads((file.parent / "_definitions.json").read_text().replace(_REF, "#/$defs/"))
            schema["$defs"] = defs["$defs"]
            schema.pop("$id", None)  # the root function is then named plain `validate`
            source = fastjsonschema.compile_to_code(schema, formats=_FORMATS)
            code = compile(source, str(cached), "exec")
            _write_cache(cached, marshal.dumps(code))
        namespace: dict[str, Any] = {"custom_formats": _FORMATS}
        exec(code, namespace)  # noqa: S102 - code generated by fastjsonschema from the schemas
        # The generated function takes the formats as an argument (a global is not seen).
        validator: Validator = functools.partial(namespace["validate"], custom_formats=_FORMATS)
        return validator

    def validator(self, api_version: str, kind: str) -> Validator | None:
        """The validator of a kind, or None for a kind no schema describes (a custom resource)."""
        key = (api_version, kind)
        if key not in self._validators:
            file = self._dir / _schema_file(api_version, kind)
            if file.exists():
                self._validators[key] = self._compile(file)
            elif _is_builtin_group(api_version):
                raise SchemaError(
                    f"unknown Kubernetes kind {kind!r} in {api_version!r} (Kubernetes {self.version})",
                    "check apiVersion and kind (e.g. apps/v1 Deployment)",
                )
            else:
                self._validators[key] = None
        return self._validators[key]

    def validate(self, data: Any, where: str) -> None:
        """Raise SchemaError naming ``where`` and the field when ``data`` is not valid Kubernetes."""
        if not isinstance(data, dict):
            raise SchemaError(f"{where}: not a Kubernetes object (found {type(data).__name__})",
                              "a unit must be one mapping with apiVersion, kind and metadata")
        api_version, kind = data.get("apiVersion"), data.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            raise SchemaError(f"{where}: apiVersion and kind are required",
                              "add e.g. `apiVersion: apps/v1` and `kind: Deployment`")
        if isinstance(data.get("sops"), dict):
            return  # SOPS ciphertext: checked once decrypted (by Flux, or `sops -d | kubectl apply`)
        validate = self.validator(api_version, kind)
        metadata = data.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not isinstance(name, str) or not name:
            raise SchemaError(f"{where}: {kind} has no metadata.name",
                              "add `metadata: {name: ...}`: kubectl applies objects by name")
        if validate is None:
            return
        from fastjsonschema import JsonSchemaValueException

        try:
            validate(data)
        except JsonSchemaValueException as e:
            field = ".".join(str(p) for p in (e.path or [])[1:]) or "(top)"
            message = e.message.replace("data.", "", 1) if e.message.startswith("data.") else e.message
            message = message.replace(" must be byte", " must be base64")
            raise SchemaError(f"{where}: invalid {kind}: {message}",
                              f"fix the field {field} (Kubernetes {self.version} schema)") from e


def _write_cache(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        pass  # no cache dir: compile again next time, correctness does not depend on it
