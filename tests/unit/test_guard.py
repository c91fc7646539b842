"""The secret guard's rules, one manifest at a time (no git, no CLI)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator import guard

PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----\n"


def deployment(*env: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "annotations": annotations or {}},
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:v1", "env": list(env)}]}}}}


def configmap(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data}


@pytest.mark.parametrize("manifest,path,rule", [
    ({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"pw": "x"}},
     "stringData.pw", "secret-data"),
    ({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "kubernetes.io/dockerconfigjson",
      "data": {".dockerconfigjson": "eyJhdXRocyI6e319"}}, "data..dockerconfigjson", "secret-data"),
    (deployment({"name": "DB_PASSWORD", "value": "hunter2"}),
     "spec.template.spec.containers[app].env[DB_PASSWORD].value", "credential-env"),
    (deployment({"name": "SECRET_KEY_BASE", "value": "abc"}),
     "spec.template.spec.containers[app].env[SECRET_KEY_BASE].value", "credential-env"),
    (deployment({"name": "GH", "value": "ghp_Zq9Xk2Lm4Np6Rt8Vw1Yb3Cd5Fg7Hj0Ks2Mn4"}),
     "spec.template.spec.containers[app].env[GH].value", "GitHub Token"),
    (deployment({"name": "DATABASE_URL", "value": "postgres://app:s3cr3tpw@db:5432/app"}),
     "spec.template.spec.containers[app].env[DATABASE_URL].value", "Basic Auth Credentials"),
    (deployment(annotations={"hook": "xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx"}),
     "metadata.annotations.hook", "Slack Token"),
    (configmap(**{"id_ed25519": PEM}), "data.id_ed25519", "Private Key"),
    (configmap(AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE"), "data.AWS_ACCESS_KEY_ID", "AWS Access Key"),
    (configmap(db_password="hunter22"), "data.db_password", "Secret Keyword"),
])
def test_refused(manifest: dict[str, Any], path: str, rule: str) -> None:
    found = guard.scan(manifest, "s", "u")
    assert [(f.path, f.rule) for f in found] == [(path, rule)]
    assert all(f.raw not in f.line() for f in found)


@pytest.mark.parametrize("manifest", [
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"a": ""}},
    deployment({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
               {"name": "API_TOKEN", "value": "$(TOKEN)"}, {"name": "JWT_SECRET", "value": "${JWT}"},
               {"name": "TOKEN_TTL", "value": "3600"}, {"name": "PASSWORD_FILE", "value": "/run/secrets/pw"},
               {"name": "SECRET_NAME", "value": "db"}, {"name": "EMPTY_TOKEN", "value": ""}),
    deployment({"name": "IMAGE_DIGEST", "value": "sha256:" + "0123456789abcdef" * 4}),
    {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"},
     "spec": {"tls": [{"hosts": ["a.example"], "secretName": "tls-cert"}]}},
    configmap(TOKEN_TTL="3600", LOG_LEVEL="debug", URL="https://api.example.com/v1"),
])
def test_passed(manifest: dict[str, Any]) -> None:
    assert guard.scan(manifest, "s", "u") == []


def test_the_allow_list_is_by_space_unit_and_path() -> None:
    manifest = configmap(db_password="hunter22")
    allowed = (guard.Allowed("traderx-dev", "*", "data.db_password", "a fixture"),)
    assert guard.scan(manifest, "traderx-dev", "c", allowed) == []
    assert len(guard.scan(manifest, "traderx-prod-eu", "c", allowed)) == 1


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@#%+/=", min_size=6, max_size=40))
def test_a_refused_value_never_survives_redaction(value: str) -> None:
    text = f"data:\n  password: {value}\n  other: '{value}'\n"
    redacted = guard.redact_text(text, [value])
    assert value not in redacted and redacted.count("********") == 2
