"""templates + values -> base units."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from generator import overlay
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


def test_every_unit_renders_one_object(base: dict[str, dict]) -> None:
    assert list(base) == list(load_project(PROJECT).values["units"])
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


# --- network policies and access ----------------------------------------------------------------

POLICIES = ("default-deny", "traderx-internal", "allow-ingress")
READ = {"get", "list", "watch"}


def selects(selector: dict, labels: dict[str, str]) -> bool:
    """Does a Kubernetes label selector (matchLabels, matchExpressions In/NotIn/Exists) match?"""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        value = labels.get(e["key"])
        ok = {"In": value in e.get("values", []), "NotIn": value not in e.get("values", []),
              "Exists": e["key"] in labels, "DoesNotExist": e["key"] not in labels}[e["operator"]]
        if not ok:
            return False
    return True


def pods(base: dict[str, dict]) -> dict[str, dict[str, str]]:
    """Deployment -> the labels of its pods."""
    return {u: o["spec"]["template"]["metadata"]["labels"] for u, o in base.items() if o["kind"] == "Deployment"}


def test_the_policies_and_access_units_are_ordered_before_any_workload_runs() -> None:
    values = load_project(PROJECT).values
    for unit in (*POLICIES, "access-role", "access-binding"):
        labels = render.unit_labels(values, unit, None)
        assert labels["layer"] == "security"
        # after the namespace (0), with the first workloads: in the same kubectl apply
        assert labels["order"] == str(min(s["order"] for s in values["services"].values()))


def test_default_deny_denies_every_ingress(base: dict[str, dict]) -> None:
    deny = base["default-deny"]
    assert (deny["apiVersion"], deny["kind"]) == ("networking.k8s.io/v1", "NetworkPolicy")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}


def test_traderx_internal_opens_the_services_ports_between_traderx_pods(base: dict[str, dict]) -> None:
    services = load_project(PROJECT).values["services"]
    spec = base["traderx-internal"]["spec"]
    assert spec["policyTypes"] == ["Ingress"]
    (rule,) = spec["ingress"]
    assert [(p["port"], p["protocol"]) for p in rule["ports"]] == [
        (s["port"], "TCP") for s in services.values() if "port" in s]
    (source,) = rule["from"]
    for unit, labels in pods(base).items():  # every TraderX pod is guarded and may call the others
        assert selects(spec["podSelector"], labels), unit
        assert selects(source["podSelector"], labels), unit
    served = {p["targetPort"] for o in base.values() if o["kind"] == "Service" for p in o["spec"]["ports"]}
    assert served == {p["port"] for p in rule["ports"]}


def test_allow_ingress_lets_the_controller_reach_the_ingress_backends_only(base: dict[str, dict]) -> None:
    values = load_project(PROJECT).values
    spec = base["allow-ingress"]["spec"]
    backends = {p["backend"]["service"]["name"]: p["backend"]["service"]["port"]["number"]
                for rule in base["ingress"]["spec"]["rules"] for p in rule["http"]["paths"]}
    assert {u for u, labels in pods(base).items() if selects(spec["podSelector"], labels)} == set(backends)
    (rule,) = spec["ingress"]
    assert {p["port"] for p in rule["ports"]} == set(backends.values()) == {
        values["services"][b]["port"] for b in backends}
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": values["ingressController"]["namespace"]}}}]


def access(base: dict[str, dict], space: str) -> tuple[dict, dict]:
    """The Role and RoleBinding of ``space``, as its overlay makes them of the base's."""
    spec = next(s for s in load_project(PROJECT).spaces if s.name == space)
    assert spec.overlay is not None
    return (overlay.apply(base["access-role"], spec.overlay, "access-role"),
            overlay.apply(base["access-binding"], spec.overlay, "access-binding"))


def granted(role: dict) -> dict[tuple[str, str], set[str]]:
    """(apiGroup, resource) -> verbs."""
    out: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


@pytest.mark.parametrize("space,role,group", [
    ("traderx-dev", "traderx-developer", "traderx-developers"),
    ("traderx-staging", "traderx-sre", "traderx-sre"),
    *[(f"traderx-prod-{region}", "traderx-viewer", "traderx-viewers") for region in ("us", "eu", "asia")],
])
def test_each_environment_binds_its_role_to_its_group(base: dict[str, dict], space: str, role: str,
                                                      group: str) -> None:
    made, binding = access(base, space)
    assert (made["kind"], made["metadata"]["name"]) == ("Role", role)
    assert made["metadata"]["namespace"] == binding["metadata"]["namespace"] == space
    assert binding["kind"] == "RoleBinding" and binding["metadata"]["name"] == group
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role}
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]


def test_the_roles_grant_what_each_environment_needs(base: dict[str, dict]) -> None:
    assert granted(base["access-role"]) == granted(access(base, "traderx-prod-eu")[0])  # prod keeps the base's
    for space in ("traderx-prod-us", "traderx-prod-eu", "traderx-prod-asia"):
        viewer = granted(access(base, space)[0])
        assert all(verbs <= READ for verbs in viewer.values())
        assert ("", "pods") in viewer and ("apps", "deployments") in viewer
        assert not {r for _, r in viewer} & {"secrets", "pods/log", "pods/exec", "*"}

    developer = granted(access(base, "traderx-dev")[0])
    assert {"create", "delete", "patch"} <= developer[("apps", "deployments")]
    assert {"create", "delete"} <= developer[("", "pods")] and {"update"} <= developer[("", "configmaps")]
    assert "get" in developer[("", "pods/log")] and "create" in developer[("", "pods/exec")]
    assert not {r for _, r in developer} & {"secrets", "*"}

    sre = granted(access(base, "traderx-staging")[0])
    viewer = granted(access(base, "traderx-prod-eu")[0])
    assert all(READ <= sre[key] for key in viewer)  # reads what a viewer reads, and more
    assert READ <= sre[("rbac.authorization.k8s.io", "roles")]
    assert not {r for _, r in sre} & {"secrets", "*"} and "*" not in {g for g, _ in sre}
    assert "patch" in sre[("apps", "deployments")]  # restart
    assert {"update", "patch"} <= sre[("apps", "deployments/scale")]
    assert sre[("", "pods")] == READ | {"delete"} and "create" in sre[("", "pods/exec")]
    assert "get" in sre[("", "pods/log")]
    assert "create" not in sre[("apps", "deployments")]
