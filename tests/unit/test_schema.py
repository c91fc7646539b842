"""Every rendered manifest is valid Kubernetes, checked two ways: kubernetes-validate itself
(jsonschema, the maintained package) in this test, and the compiled validator render uses."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from generator.errors import SchemaError
from generator.schema import SchemaValidator
from tests.conftest import EXAMPLE_UNITS

VERSION = "1.32"


def rendered_files(repo: Path) -> list[Path]:
    return sorted((repo / "spaces").rglob("*.yaml"))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from generator.cli import run
    root = Path(__file__).resolve().parents[2]
    target = tmp_path_factory.mktemp("schema") / "manifests"
    mp = pytest.MonkeyPatch()
    for var in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        mp.setenv(var, "Ada Operator")
    for var in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        mp.setenv(var, "ada@example.com")
    assert run(["--config", str(root), "--repo", str(target), "render"]) == 0
    mp.undo()
    return target


def test_every_rendered_manifest_passes_kubernetes_validate(repo: Path) -> None:
    files = rendered_files(repo)
    assert len(files) == 6 * EXAMPLE_UNITS
    for path in files:
        kubernetes_validate.validate(yaml.safe_load(path.read_text()), VERSION, strict=True)


def test_compiled_validator_agrees_on_valid_manifests(repo: Path) -> None:
    validator = SchemaValidator(VERSION)
    for path in rendered_files(repo):
        validator.validate(yaml.safe_load(path.read_text()), str(path))


INVALID = [
    ({"spec": {"replicas": "three"}}, "spec.replicas must be integer"),
    ({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i", "imagee": "x"}]}}}},
     "must not contain {'imagee'}"),
    ({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i",
                                                      "ports": [{"containerPort": "80"}]}]}}}},
     "containerPort must be integer"),
]


def deployment(**spec: object) -> dict:
    base = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    for key, value in spec.items():
        if isinstance(value, dict):
            base["spec"][key] = {**base["spec"].get(key, {}), **value}  # type: ignore[index]
        else:
            base["spec"][key] = value  # type: ignore[index]
    return base


@pytest.mark.parametrize("change,message", INVALID)
def test_invalid_manifests_name_unit_and_field(change: dict, message: str) -> None:
    data = deployment(**change["spec"])
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(data, VERSION, strict=True)
    with pytest.raises(SchemaError) as err:
        SchemaValidator(VERSION).validate(data, "traderx-dev/trade-service")
    assert err.value.message.startswith("traderx-dev/trade-service: invalid Deployment: ")
    assert message in err.value.message


def test_unknown_builtin_kind_is_an_error_and_custom_resources_pass() -> None:
    validator = SchemaValidator(VERSION)
    with pytest.raises(SchemaError, match="unknown Kubernetes kind 'Deploymnt'"):
        validator.validate({"apiVersion": "apps/v1", "kind": "Deploymnt"}, "x")
    validator.validate({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}, "x")


def test_version_too_old() -> None:
    with pytest.raises(SchemaError, match="no Kubernetes schemas for version 1.10"):
        SchemaValidator("1.10")
