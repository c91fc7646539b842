"""templates + values -> base units."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from generator import templates as render
from generator.config import load_project
from generator.errors import TemplateError

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def base() -> dict[str, dict]:
    project = load_project(PROJECT)
    texts = render.render_base(project.templates, project.values)
    return {unit: yaml.safe_load(text) for unit, text in texts.items()}


def containers(obj: dict) -> list[dict]:
    return obj["spec"]["template"]["spec"]["containers"]


def env(obj: dict) -> dict[str, dict]:
    return {e["name"]: e for e in containers(obj)[0].get("env", [])}


DEPLOYMENTS = {"reference-data": 18085, "people-service": 18089, "account-service": 18091,
               "position-service": 18090, "trade-service": 18092, "trade-processor": None,
               "trade-feed": 18088, "web-gui": 18080}


def test_seventeen_units(base: dict[str, dict]) -> None:
    assert len(base) == 17
    assert {u for u, o in base.items() if o["kind"] == "Deployment"} == set(DEPLOYMENTS)
    services = {u for u, o in base.items() if o["kind"] == "Service"}
    assert services == {f"{s}-svc" for s in DEPLOYMENTS if s != "trade-processor"}
    assert base["namespace"]["kind"] == "Namespace"
    assert base["ingress"]["kind"] == "Ingress"


@pytest.mark.parametrize("service,port", DEPLOYMENTS.items())
def test_deployments_are_production_shaped(base: dict[str, dict], service: str, port: int | None) -> None:
    obj = base[service]
    assert obj["metadata"]["name"] == service
    pod = obj["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = containers(obj)
    assert container["name"] == service
    assert container["image"] == f"traderx/{service}:v1"
    assert container["livenessProbe"] and container["readinessProbe"]
    assert container["resources"]["requests"] and container["resources"]["limits"]
    if port is None:
        assert "ports" not in container
    else:
        assert [(p["containerPort"], p["protocol"]) for p in container["ports"]] == [(port, "TCP")]
    for var in container.get("env", []):
        # credentials only through secretRef / secretKeyRef: no literal secret
        assert not any(word in var["name"].upper() for word in ("PASSWORD", "SECRET", "TOKEN")) \
            or "valueFrom" in var


def test_dependency_urls_resolve_to_services(base: dict[str, dict]) -> None:
    assert env(base["trade-service"])["REFERENCE_DATA_URL"]["value"] == "http://reference-data:18085"
    service_names = {o["metadata"]["name"] for o in base.values() if o["kind"] == "Service"}
    for unit, obj in base.items():
        if obj["kind"] != "Deployment":
            continue
        for name, var in env(obj).items():
            if name.endswith("_URL"):
                host = var["value"].split("//")[1].split(":")[0]
                assert host in service_names, f"{unit}: {name} points at no Service"


def test_trade_service_settings(base: dict[str, dict]) -> None:
    variables = env(base["trade-service"])
    assert variables["CIRCUIT_BREAKER"]["value"] == "false"
    assert "TRADING_ALGORITHM" in variables


def test_service_ports_are_tcp(base: dict[str, dict]) -> None:
    for obj in base.values():
        if obj["kind"] == "Service":
            assert all(p["protocol"] == "TCP" for p in obj["spec"]["ports"])


def test_ingress_routes(base: dict[str, dict]) -> None:
    paths = {p["path"]: p["backend"]["service"]["name"]
             for rule in base["ingress"]["spec"]["rules"] for p in rule["http"]["paths"]}
    assert paths == {"/": "web-gui", "/api/trades": "trade-service"}


def test_unit_labels() -> None:
    project = load_project(PROJECT)
    labels = render.unit_labels(project.values, "trade-service", "prod")
    assert labels == {"critical": "true", "environment": "prod", "layer": "backend", "order": "5",
                      "port": "18092", "service": "trade-service", "tech": "dotnet"}
    assert "port" not in render.unit_labels(project.values, "trade-processor", "dev")
    assert render.unit_labels(project.values, "namespace", None)["order"] == "0"
    assert render.unit_labels(project.values, "ingress", None)["order"] == "9"


def test_undefined_variable_names_file_and_line() -> None:
    sources = {"units/a.yaml.j2": "kind: x\nname: {{ missing }}\n"}
    with pytest.raises(TemplateError) as err:
        render.render_base(sources, {"units": {"a": {}}})
    assert err.value.message == "templates/units/a.yaml.j2:2: 'missing' is undefined"


def test_undefined_attribute_in_macro_names_the_macro_file() -> None:
    sources = {"units/a.yaml.j2": "{% import '_m.j2' as m %}\nx: {{ m.f({}) }}\n",
               "_m.j2": "{% macro f(s) %}\n{{ s.nope.deeper }}\n{% endmacro %}\n"}
    with pytest.raises(TemplateError) as err:
        render.render_base(sources, {"units": {"a": {}}})
    assert err.value.message.startswith("templates/_m.j2:2:")


def test_syntax_error() -> None:
    with pytest.raises(TemplateError, match=r"templates/units/a.yaml.j2:1: template syntax error"):
        render.render_base({"units/a.yaml.j2": "{% if %}"}, {"units": {"a": {}}})


def test_sandbox_blocks_unsafe_access() -> None:
    sources = {"units/a.yaml.j2": "{{ ''.__class__.__mro__ }}"}
    with pytest.raises(TemplateError):
        render.render_base(sources, {"units": {"a": {}}})


def test_missing_template() -> None:
    with pytest.raises(TemplateError, match="template templates/units/b.yaml.j2 not found"):
        render.render_base({}, {"units": {"b": {}}})
