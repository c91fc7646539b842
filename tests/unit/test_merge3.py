"""merge3: kyaml's merge3 rule by rule, comments kept, and the algebra a 3-way merge must satisfy.

Every ``upstream`` expectation below (prefer="upstream") is what kustomize kyaml v0.21.1's
``merge3.MergeStrings`` gives for the same input (checked against a build of it; CI has no Go,
so the expectations are written out). prefer="local" (the default) differs only where both
sides changed a value differently, and reports each such point as a Conflict.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import yamlio
from generator.merge import diff, merge3, merge3_data
from generator.merge3 import MISSING
from generator.model import Conflict

BASE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: trade-service
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: trade-service
        image: traderx/trade-service:v1
        ports:
        - containerPort: 18092
          protocol: TCP
        env:
        - name: TRADING_ALGORITHM
          value: standard
        - name: CIRCUIT_BREAKER
          value: "false"
"""


def edit(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_upstream_change_lands_and_local_edit_stays_with_its_comment() -> None:
    update = edit(BASE, ("trade-service:v1", "trade-service:v2"), ("value: standard", "value: quantum"))
    local = edit(BASE, ("replicas: 3", "replicas: 5  # EU volume"))
    merged, conflicts = merge3(BASE, update, local)
    assert conflicts == []
    assert "replicas: 5  # EU volume" in merged
    data = yaml.safe_load(merged)
    container = data["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "traderx/trade-service:v2"
    assert container["env"][0] == {"name": "TRADING_ALGORITHM", "value": "quantum"}


def test_conflict_local_wins_by_default_and_upstream_when_asked() -> None:
    update = edit(BASE, ("replicas: 3", "replicas: 4"))
    local = edit(BASE, ("replicas: 3", "replicas: 5"))
    merged, conflicts = merge3(BASE, update, local)
    assert yaml.safe_load(merged)["spec"]["replicas"] == 5
    assert conflicts == [Conflict("spec.replicas", 3, 4, 5, "local")]
    merged, conflicts = merge3(BASE, update, local, prefer="upstream")
    assert yaml.safe_load(merged)["spec"]["replicas"] == 4
    assert conflicts == [Conflict("spec.replicas", 3, 4, 5, "upstream")]


def test_env_merges_by_name_new_upstream_var_is_appended_after_locals() -> None:
    update = edit(BASE, ('        - name: CIRCUIT_BREAKER\n',
                         '        - name: TIMEOUT_MS\n          value: "500"\n        - name: CIRCUIT_BREAKER\n'))
    local = edit(BASE, ('value: "false"', 'value: "true"'),
                 ('          value: "true"\n', '          value: "true"\n        - name: LOCAL_ONLY\n          value: x\n'))
    for prefer in ("local", "upstream"):
        merged, conflicts = merge3(BASE, update, local, prefer=prefer)
        assert conflicts == []
        env = yaml.safe_load(merged)["spec"]["template"]["spec"]["containers"][0]["env"]
        # kyaml appends what upstream added after local's elements, in update's order
        assert [e["name"] for e in env] == ["TRADING_ALGORITHM", "CIRCUIT_BREAKER", "LOCAL_ONLY", "TIMEOUT_MS"]
        assert env[1]["value"] == "true" and env[3]["value"] == "500"


def test_deleted_upstream_is_deleted_unless_local_changed_it() -> None:
    update = edit(BASE, ('        - name: TRADING_ALGORITHM\n          value: standard\n', ''))
    merged, _ = merge3(BASE, update, edit(BASE, ("replicas: 3", "replicas: 5")))
    names = [e["name"] for e in yaml.safe_load(merged)["spec"]["template"]["spec"]["containers"][0]["env"]]
    assert names == ["CIRCUIT_BREAKER"]
    local = edit(BASE, ("value: standard", "value: mine"))
    merged, conflicts = merge3(BASE, update, local)
    env = yaml.safe_load(merged)["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0] == {"name": "TRADING_ALGORITHM", "value": "mine"}
    assert conflicts == [Conflict("spec.template.spec.containers[trade-service].env[TRADING_ALGORITHM].value",
                                  "standard", None, "mine", "local")]


def test_null_in_update_deletes_and_local_only_fields_stay() -> None:
    origin = {"a": 1, "b": 2}
    merged, conflicts = merge3_data(origin, {"a": 1, "b": None}, {"a": 1, "b": 2, "c": 3})
    assert merged == {"a": 1, "c": 3} and conflicts == []


def test_diff_field_by_field() -> None:
    local = edit(BASE, ("replicas: 3", "replicas: 5"), ('value: "false"', 'value: "true"'))
    rows = diff(yamlio.load(BASE), yamlio.load(local))
    assert rows == [("spec.replicas", 3, 5),
                    ("spec.template.spec.containers[trade-service].env[CIRCUIT_BREAKER].value", "false", "true")]


# --- the rules, one table case each ----------------------------------------------------------

SAME: Any = object()  # prefer="local" gives the same result as prefer="upstream"


class Case(NamedTuple):
    origin: Any
    update: Any
    local: Any
    upstream: Any  # kyaml's result (None: no document)
    local_wins: Any = SAME  # the result with prefer="local"
    conflicts: tuple[tuple[str, Any, Any, Any], ...] = ()  # (path, origin, update, local), both modes


def deployment(*containers: dict[str, Any], **pod: Any) -> dict[str, Any]:
    """An apps/v1 Deployment (a typed object: the schema's merge keys apply)."""
    spec = {"containers": list(containers), **pod} if containers else dict(pod)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"template": {"spec": spec}}}


def container(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, **fields}


def env(**values: Any) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in values.items()]


def app(**fields: Any) -> dict[str, Any]:
    """A Deployment with one container `app` (image app:1 unless given)."""
    return deployment(container("app", **{"image": "app:1", **fields}))


def service(*ports: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": list(ports)}}


def kustomization(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", **fields}


APP = "spec.template.spec.containers[app]"

CASES = [
    # 1. scalars and atomic lists
    pytest.param(Case({"a": 1, "b": 1}, {"a": 2, "b": 1}, {"a": 1, "b": 1}, {"a": 2, "b": 1}),
                 id="scalar-changed-upstream-only-is-taken"),
    pytest.param(Case({"a": 1}, {"a": 1}, {"a": 3}, {"a": 3}), id="scalar-changed-locally-only-is-kept"),
    pytest.param(Case({"a": 1}, {"a": 2}, {"a": 2}, {"a": 2}), id="scalar-same-change-on-both-sides"),
    pytest.param(Case({"a": 1}, {"a": 2}, {"a": 3}, {"a": 2}, {"a": 3}, (("a", 1, 2, 3),)),
                 id="scalar-changed-on-both-sides-differently"),
    pytest.param(Case({"a": 1, "b": 1}, {"a": None, "b": 1}, {"a": 1, "b": 1}, {"b": 1}),
                 id="null-in-update-deletes"),
    pytest.param(Case({"b": 1}, {"a": None, "b": 1}, {"a": 1, "b": 1}, {"b": 1}, {"a": 1, "b": 1},
                      (("a", None, None, 1),)),
                 id="null-in-update-deletes-a-field-origin-lacked"),
    pytest.param(Case({"a": 1}, {"a": None}, {"a": 3}, {}, {"a": 3}, (("a", 1, None, 3),)),
                 id="null-in-update-vs-local-change"),
    pytest.param(Case({}, {"a": 1}, {"b": 1}, {"b": 1, "a": 1}), id="added-upstream-is-taken"),
    pytest.param(Case({}, {"a": 1}, {"a": 2}, {"a": 1}, {"a": 2}, (("a", None, 1, 2),)),
                 id="added-on-both-sides-differently"),
    pytest.param(Case({"a": 1, "b": 1}, {"b": 1}, {"a": 1, "b": 1}, {"b": 1}), id="removed-upstream-is-removed"),
    pytest.param(Case({"a": 1, "b": 1}, {"b": 1}, {"a": 2, "b": 1}, {"b": 1}, {"a": 2, "b": 1},
                      (("a", 1, None, 2),)),
                 id="removed-upstream-changed-locally"),
    pytest.param(Case({"b": 1}, {"b": 2}, {"a": 1, "b": 1}, {"a": 1, "b": 2}),
                 id="absent-from-origin-and-update-keeps-local"),
    pytest.param(Case({"a": 1, "b": 1}, {"a": 1, "b": 1}, {"b": 1}, {"b": 1}), id="removed-locally-stays-removed"),
    pytest.param(Case({"tags": ["x", "y"]}, {"tags": ["x", "z"]}, {"tags": ["x", "y"], "b": 1},
                      {"tags": ["x", "z"], "b": 1}),
                 id="scalar-list-is-one-value-changed-upstream"),
    pytest.param(Case({"tags": ["x"]}, {"tags": ["x", "y"]}, {"tags": ["x", "z"]}, {"tags": ["x", "y"]},
                      {"tags": ["x", "z"]}, (("tags", ["x"], ["x", "y"], ["x", "z"]),)),
                 id="scalar-list-changed-on-both-sides"),
    pytest.param(Case(app(command=["run"], args=["-v"]), app(command=["run", "--fast"], args=["-v"]),
                      app(command=["run"], args=["-q"]), app(command=["run", "--fast"], args=["-q"])),
                 id="command-and-args-are-atomic"),
    pytest.param(Case(app(envFrom=[{"configMapRef": {"name": "a"}}]),
                      app(envFrom=[{"configMapRef": {"name": "b"}}]),
                      app(envFrom=[{"configMapRef": {"name": "a"}}, {"secretRef": {"name": "s"}}]),
                      app(envFrom=[{"configMapRef": {"name": "b"}}]),
                      app(envFrom=[{"configMapRef": {"name": "a"}}, {"secretRef": {"name": "s"}}]),
                      ((f"{APP}.envFrom", [{"configMapRef": {"name": "a"}}], [{"configMapRef": {"name": "b"}}],
                        [{"configMapRef": {"name": "a"}}, {"secretRef": {"name": "s"}}]),)),
                 id="envFrom-list-of-maps-without-merge-key-is-atomic"),
    # 2. maps
    pytest.param(Case({"m": {"a": 1, "b": 1, "c": 1}}, {"m": {"a": 2, "b": 1, "d": 1}},
                      {"m": {"a": 1, "b": 3, "c": 1, "e": 1}}, {"m": {"a": 2, "b": 3, "d": 1, "e": 1}}),
                 id="map-merges-key-by-key-over-the-union"),
    pytest.param(Case({"m": {"a": 1}, "k": 1}, {"k": 1}, {"m": {"a": 1, "x": 2}, "k": 1}, {"m": {"x": 2}, "k": 1}),
                 id="map-removed-upstream-keeps-local-only-keys"),
    pytest.param(Case({"m": {"a": 1, "n": {"b": 1}}}, {}, {"m": {"a": 1, "n": {"b": 1}}}, {"m": {"n": {}}}),
                 id="map-removed-upstream-stays-emptied"),
    pytest.param(Case({"m": {"a": 1}}, {}, {"m": {"a": 2}}, {"m": {}}, {"m": {"a": 2}}, (("m.a", 1, None, 2),)),
                 id="map-removed-upstream-changed-locally"),
    pytest.param(Case({"m": {"a": 1}, "k": 1}, {"m": None, "k": 1}, {"m": {"a": 1}, "k": 1}, {"k": 1}),
                 id="map-null-in-update-is-removed"),
    pytest.param(Case({"m": {"a": 1}}, {"m": None}, {"m": {"a": 1, "x": 2}}, {}, {"m": {"a": 1, "x": 2}},
                      (("m", {"a": 1}, None, {"a": 1, "x": 2}),)),
                 id="map-null-in-update-vs-local-additions"),
    pytest.param(Case({"m": {"a": 1, "b": 1, "c": 1}, "k": 1}, {"m": {"a": 1, "b": 2, "d": 1}, "k": 1}, {"k": 1},
                      {"m": {"b": 2, "d": 1}, "k": 1}, {"m": {"d": 1}, "k": 1}, (("m.b", 1, 2, None),)),
                 id="map-absent-locally-is-rebuilt-from-what-update-added-or-changed"),
    pytest.param(Case({}, {"m": {"a": 1, "n": {"b": 1}}}, {"k": 1}, {"m": {"a": 1, "n": {"b": 1}}, "k": 1}),
                 id="map-added-upstream"),
    pytest.param(Case({}, {}, {"m": {"a": 1}}, {"m": {"a": 1}}), id="map-only-in-local-is-kept"),
    # 3. associative lists
    pytest.param(Case(app(env=env(A=1, B=1)), app(env=env(A=2, B=1, C=1, D=1)), app(env=env(A=1, B=3, L=1)),
                      app(env=env(A=2, B=3, L=1, C=1, D=1))),
                 id="env-by-name-new-elements-appended-in-update-order"),
    pytest.param(Case(app(env=env(A=1)), app(env=env(A=2)), app(env=env(A=3)), app(env=env(A=2)),
                      app(env=env(A=3)), ((f"{APP}.env[A].value", 1, 2, 3),)),
                 id="env-value-changed-on-both-sides"),
    pytest.param(Case(app(env=env(A=1, B=1)), app(env=env(B=1)), app(env=env(A=1, B=1)), app(env=env(B=1))),
                 id="element-removed-upstream-is-removed"),
    pytest.param(Case(app(env=env(A=1, B=1)), app(env=env(B=1)), app(env=env(A=3, B=1)), app(env=env(B=1)),
                      app(env=env(A=3, B=1)), ((f"{APP}.env[A].value", 1, None, 3),)),
                 id="element-removed-upstream-changed-locally"),
    pytest.param(Case(deployment(container("app", image="a:1"), container("side", image="s:1")),
                      deployment(container("app", image="a:1")),
                      deployment(container("app", image="a:1"),
                                 container("side", image="s:1", resources={"limits": {"cpu": 1}})),
                      deployment(container("app", image="a:1"),
                                 container("side", resources={"limits": {"cpu": 1}}))),
                 id="element-removed-upstream-keeps-local-only-fields"),
    pytest.param(Case(deployment(), deployment(container("foo", image="foo:1")),
                      deployment(container("baz", image="baz:1")),
                      deployment(container("baz", image="baz:1"), container("foo", image="foo:1"))),
                 id="containers-added-upstream-to-a-list-origin-lacked"),
    pytest.param(Case(deployment(container("app", image="a:1"), initContainers=[container("init", image="i:1")]),
                      deployment(container("app", image="a:1"), initContainers=[container("init", image="i:2")]),
                      deployment(container("app", image="a:1"),
                                 initContainers=[container("mine", image="m:1"), container("init", image="i:1")]),
                      deployment(container("app", image="a:1"),
                                 initContainers=[container("mine", image="m:1"), container("init", image="i:2")])),
                 id="initContainers-by-name"),
    pytest.param(Case(app(), deployment(container("app", image="app:1"),
                                        volumes=[{"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}]),
                      deployment(container("app", image="app:1"),
                                 volumes=[{"name": "cfg", "configMap": {"name": "c"}}]),
                      deployment(container("app", image="app:1"),
                                 volumes=[{"name": "cfg", "configMap": {"name": "c"}},
                                          {"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}])),
                 id="volumes-by-name"),
    pytest.param(Case(app(ports=[{"containerPort": 80, "protocol": "TCP", "name": "http"}]),
                      app(ports=[{"containerPort": 80, "protocol": "TCP", "name": "web"},
                                 {"containerPort": 80, "protocol": "UDP", "name": "dns"}]),
                      app(ports=[{"containerPort": 80, "protocol": "TCP", "name": "http", "hostPort": 8080},
                                 {"containerPort": 9090, "protocol": "TCP", "name": "metrics"}]),
                      app(ports=[{"containerPort": 80, "protocol": "TCP", "name": "web", "hostPort": 8080},
                                 {"containerPort": 9090, "protocol": "TCP", "name": "metrics"},
                                 {"containerPort": 80, "protocol": "UDP", "name": "dns"}])),
                 id="container-ports-by-port-and-protocol"),
    pytest.param(Case(app(ports=[{"containerPort": 80, "protocol": "TCP", "name": "http"}]),
                      app(ports=[{"containerPort": 80, "protocol": "TCP", "name": "web"}]),
                      app(ports=[{"containerPort": 80, "protocol": "TCP", "name": "mine"}]),
                      app(ports=[{"containerPort": 80, "protocol": "TCP", "name": "web"}]),
                      app(ports=[{"containerPort": 80, "protocol": "TCP", "name": "mine"}]),
                      ((f"{APP}.ports[80/TCP].name", "http", "web", "mine"),)),
                 id="container-port-conflict-path-names-both-keys"),
    pytest.param(Case(app(ports=[{"containerPort": 80, "name": "http"}]),
                      app(ports=[{"containerPort": 80, "name": "web"}]),
                      app(ports=[{"containerPort": 80, "name": "http"}, {"containerPort": 90, "name": "x"}]),
                      app(ports=[{"containerPort": 80, "name": "web"}, {"containerPort": 90, "name": "x"}])),
                 id="container-ports-a-key-no-element-has-is-ignored"),
    pytest.param(Case(service({"port": 80, "protocol": "TCP", "targetPort": 8080}),
                      service({"port": 80, "protocol": "TCP", "targetPort": 9090},
                              {"port": 80, "protocol": "UDP", "targetPort": 53}),
                      service({"port": 80, "protocol": "TCP", "targetPort": 8080, "name": "http"},
                              {"port": 443, "protocol": "TCP", "targetPort": 8443}),
                      service({"port": 80, "protocol": "TCP", "targetPort": 9090, "name": "http"},
                              {"port": 443, "protocol": "TCP", "targetPort": 8443},
                              {"port": 80, "protocol": "UDP", "targetPort": 53})),
                 id="service-ports-by-port-and-protocol"),
    pytest.param(Case(kustomization(configMapGenerator=[{"name": "app", "literals": ["A=1"]}]),
                      kustomization(configMapGenerator=[{"name": "app", "literals": ["A=2"]}],
                                    secretGenerator=[{"name": "creds", "literals": ["P=1"]}]),
                      kustomization(configMapGenerator=[{"name": "app", "literals": ["A=1"]},
                                                        {"name": "mine", "literals": ["X=1"]}],
                                    secretGenerator=[{"name": "local", "literals": ["Q=1"]}]),
                      kustomization(configMapGenerator=[{"name": "app", "literals": ["A=2"]},
                                                        {"name": "mine", "literals": ["X=1"]}],
                                    secretGenerator=[{"name": "local", "literals": ["Q=1"]},
                                                     {"name": "creds", "literals": ["P=1"]}])),
                 id="kustomization-generators-by-name"),
    pytest.param(Case({"widgets": [{"name": "a", "size": 1}, {"name": "b", "size": 1}]},
                      {"widgets": [{"name": "a", "size": 2}, {"name": "b", "size": 1}]},
                      {"widgets": [{"name": "b", "size": 3}, {"name": "a", "size": 1}]},
                      {"widgets": [{"name": "b", "size": 3}, {"name": "a", "size": 2}]}),
                 id="any-list-of-named-maps-merges-by-name"),
    pytest.param(Case({"widgets": [{"name": "a", "size": 1}, {"size": 2}]},
                      {"widgets": [{"name": "a", "size": 3}, {"size": 2}]},
                      {"widgets": [{"name": "a", "size": 1}, {"size": 4}]},
                      {"widgets": [{"name": "a", "size": 3}, {"size": 2}]},
                      {"widgets": [{"name": "a", "size": 1}, {"size": 4}]},
                      (("widgets", [{"name": "a", "size": 1}, {"size": 2}], [{"name": "a", "size": 3}, {"size": 2}],
                        [{"name": "a", "size": 1}, {"size": 4}]),)),
                 id="list-with-an-unnamed-element-is-atomic"),
    pytest.param(Case(app(env=env(A=1)), app(), app(env=env(A=1)), app()), id="list-removed-upstream-is-removed"),
    pytest.param(Case(app(env=env(A=1)), app(env=None), app(env=env(A=1)), app()),
                 id="list-null-in-update-is-removed"),
    pytest.param(Case(app(env=env(A=1)), app(), app(env=env(A=1, L=1)), app(), app(env=env(A=1, L=1)),
                      ((f"{APP}.env", [{"name": "A", "value": 1}], None,
                        [{"name": "A", "value": 1}, {"name": "L", "value": 1}]),)),
                 id="list-removed-upstream-vs-local-additions"),
    pytest.param(Case(app(env=None), app(env=None), app(env=env(A=1)), app(env=env(A=1))),
                 id="list-null-in-origin-and-update-keeps-local"),
]


def _run(case: Case, prefer: str, via: str) -> tuple[Any, list[Conflict]]:
    origin, update, local = (copy.deepcopy(d) for d in (case.origin, case.update, case.local))
    if via == "data":
        merged, conflicts = merge3_data(origin, update, local, prefer)
        return (None if merged is MISSING else merged), conflicts
    text, conflicts = merge3(yamlio.dump(origin), yamlio.dump(update), yamlio.dump(local), prefer=prefer)
    return yaml.safe_load(text), conflicts


@pytest.mark.parametrize("via", ["data", "text"])
@pytest.mark.parametrize("prefer", ["upstream", "local"])
@pytest.mark.parametrize("case", CASES)
def test_rule(case: Case, prefer: str, via: str) -> None:
    merged, conflicts = _run(case, prefer, via)
    expected = case.local_wins if prefer == "local" and case.local_wins is not SAME else case.upstream
    assert merged == expected
    assert conflicts == [Conflict(path, o, u, l, prefer) for path, o, u, l in case.conflicts]


def test_local_is_changed_in_place_by_merge3_data() -> None:
    local = {"m": {"a": 1}}
    merged, _ = merge3_data({"m": {"a": 1}}, {"m": {"a": 2}}, local)
    assert merged is local and local == {"m": {"a": 2}}


def test_a_rebuilt_element_keeps_its_merge_key_type() -> None:
    """Deliberate deviation: kyaml re-adds the merge key of a rebuilt element as a string
    (containerPort: "80"); its original type stays here."""
    origin = app(ports=[{"containerPort": 80, "protocol": "TCP"}])
    local = app(ports=[{"containerPort": 80, "protocol": "TCP", "hostPort": 8080}])
    for prefer in ("upstream", "local"):
        merged, conflicts = merge3_data(copy.deepcopy(origin), app(ports=[{"containerPort": 81, "protocol": "TCP"}]),
                                        copy.deepcopy(local), prefer)
        assert merged == app(ports=[{"hostPort": 8080, "containerPort": 80, "protocol": "TCP"},
                                    {"containerPort": 81, "protocol": "TCP"}])
        assert conflicts == []


# --- 4. whole resources of a multi-document stream --------------------------------------------


def config_map(name: str, namespace: str = "prod", **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": dict(data)}


def stream(*documents: dict[str, Any]) -> str:
    return "---\n".join(yamlio.dump(d) for d in documents)


def _names(text: str) -> list[tuple[str, str, str]]:
    return [(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]) for d in yaml.safe_load_all(text)]


ORIGIN = stream(app(), config_map("shared", a="1"), config_map("dropped", a="1"), config_map("edited", a="1"),
                config_map("gone", a="1"), config_map("deleted-locally", a="1"), config_map("shared", "dev", a="1"))
UPDATE = stream(app(image="app:2"), config_map("shared", a="2"), config_map("new", a="1"),
                config_map("deleted-locally", a="2"), config_map("shared", "dev", a="3"))
LOCAL = stream(config_map("mine", a="1"), app(resources={"limits": {"cpu": 1}}),
               config_map("shared", "dev", a="1", b="1"), config_map("dropped", a="1"),
               config_map("edited", a="9"), config_map("shared", a="1"))


@pytest.mark.parametrize("prefer", ["upstream", "local"])
def test_resources_are_matched_by_api_version_kind_namespace_and_name(prefer: str) -> None:
    merged, conflicts = merge3(ORIGIN, UPDATE, LOCAL, prefer=prefer)
    edited = [("ConfigMap", "prod", "edited")] if prefer == "local" else []
    # only in local: kept; new upstream: added (after local's); deleted upstream: gone, unless
    # edited locally and local is preferred; gone on both sides or locally: stays gone
    assert _names(merged) == [("ConfigMap", "prod", "mine"), ("Deployment", "", "web"),
                              ("ConfigMap", "dev", "shared"), *edited, ("ConfigMap", "prod", "shared"),
                              ("ConfigMap", "prod", "new")]
    docs = {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d
            for d in yaml.safe_load_all(merged)}
    assert docs["Deployment", "", "web"] == app(image="app:2", resources={"limits": {"cpu": 1}})
    assert docs["ConfigMap", "prod", "shared"]["data"] == {"a": "2"}
    assert docs["ConfigMap", "dev", "shared"]["data"] == {"a": "3", "b": "1"}  # not prod's update
    if prefer == "local":
        assert docs["ConfigMap", "prod", "edited"]["data"] == {"a": "9"}
    assert conflicts == [Conflict("v1/ConfigMap/prod/edited (deleted upstream, edited locally)",
                                  None, None, None, prefer)]


def test_conflicts_inside_a_resource_of_a_stream_name_the_resource() -> None:
    origin = stream(config_map("a", x="1"), app())
    merged, conflicts = merge3(origin, stream(config_map("a", x="2"), app()),
                               stream(config_map("a", x="3"), app()))
    assert [d["data"] for d in yaml.safe_load_all(merged) if d["kind"] == "ConfigMap"] == [{"x": "3"}]
    assert conflicts == [Conflict("v1/ConfigMap/prod/a: data.x", "1", "2", "3", "local")]


# --- 5. local's text survives ------------------------------------------------------------------

LOCAL_TEXT = """\
# the web tier
kind: Deployment  # kind before apiVersion, as written here
apiVersion: apps/v1
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: app  # the main container
          image: app:1
          env:
            - name: A
              value: "1"  # tuned for EU
"""


def test_comments_key_order_and_list_indentation_of_local_survive() -> None:
    origin = yamlio.dump(app(env=env(A="0")))
    update = yamlio.dump(app(image="app:2", env=env(A="0", B="2")))
    for prefer in ("local", "upstream"):
        merged, conflicts = merge3(origin, update, LOCAL_TEXT, prefer=prefer)
        assert conflicts == []
        added = '            - name: B\n              value: "2"\n'
        assert merged == edit(LOCAL_TEXT, ("image: app:1", "image: app:2"),
                              ("  # tuned for EU\n", "  # tuned for EU\n" + added))


def test_stream_keeps_local_layout() -> None:
    local = "# first\n" + LOCAL_TEXT + "---\n" + "# second\n" + yamlio.dump(config_map("c", a="1")).replace(
        "data:\n  a:", "data:\n  a:  ")
    origin = stream(app(env=env(A="0")), config_map("c", a="1"))
    update = stream(app(image="app:2", env=env(A="0")), config_map("c", a="1"))
    merged, conflicts = merge3(origin, update, local)
    assert conflicts == []
    assert "# the web tier" in merged and "# second" in merged and "# tuned for EU" in merged
    assert "        - name: app  # the main container\n          image: app:2\n" in merged
    assert [d["kind"] for d in yaml.safe_load_all(merged)] == ["Deployment", "ConfigMap"]


# --- properties --------------------------------------------------------------------------------
# Generated documents keep to what kyaml merges without an error or a type quirk: each key
# holds one kind of value (s, t: scalars; args: a list of scalars; env: a non-empty list of
# named maps; m, n: maps), no two scalars share their text ("1" and 1), no explicit nulls.

names = st.sampled_from(["a", "b", "c"])
scalars = st.one_of(st.integers(0, 3), st.sampled_from(["x", "y"]), st.booleans())
env_lists = st.lists(st.fixed_dictionaries({"name": names, "value": scalars}, optional={"x": scalars}),
                     min_size=1, max_size=3, unique_by=lambda e: e["name"])


def maps(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {
        "s": scalars, "t": scalars, "args": st.lists(scalars, min_size=1, max_size=3), "env": env_lists}
    if depth:
        fields["m"] = maps(depth - 1)
        fields["n"] = maps(depth - 1)
    return st.fixed_dictionaries({}, optional=fields)


documents = maps(2)


def data_merge(origin: Any, update: Any, local: Any, prefer: str) -> tuple[Any, list[Conflict]]:
    merged, conflicts = merge3_data(copy.deepcopy(origin), copy.deepcopy(update), copy.deepcopy(local), prefer)
    return (None if merged is MISSING else merged), conflicts


def skeleton(value: Any, lists: bool) -> Any:
    """The maps of ``value`` with nothing but maps in them (and, with ``lists``, its lists of
    maps emptied); MISSING for anything else."""
    if isinstance(value, dict):
        return {k: s for k, v in value.items() if (s := skeleton(v, lists)) is not MISSING}
    if lists and isinstance(value, list) and value and all(isinstance(e, dict) for e in value):
        return []
    return MISSING


def is_named(value: list[Any]) -> bool:
    return all(isinstance(e, dict) and "name" in e for e in value)


def with_removed_maps(kept: Any, origin: Any, lists: bool, reorder: bool = False) -> Any:
    """``kept`` plus an empty skeleton of each map of ``origin`` it lacks: kyaml keeps the node
    of a map one side removed (``{}``) when the other left it alone. ``reorder``: the elements
    of a list of named maps that ``origin`` has first, in its order (then the new ones)."""
    if reorder and isinstance(kept, list) and isinstance(origin, list) and is_named(kept) and is_named(origin):
        first = [name for e in origin if (name := e.get("name")) in {k.get("name") for k in kept}]
        return sorted(kept, key=lambda e: first.index(e["name"]) if e["name"] in first else len(first))
    if not (isinstance(kept, dict) and isinstance(origin, dict)):
        return kept
    out = dict(kept)
    for key, value in origin.items():
        if key not in out:
            if (s := skeleton(value, lists)) is not MISSING:
                out[key] = s
        else:
            out[key] = with_removed_maps(out[key], value, lists, reorder)
    return out


def _covered(path: str, before: Any, after: Any, conflict_paths: list[str]) -> bool:
    """A difference at ``path`` is explained by a conflict at it or above it; or below it when
    the element or map at ``path`` is present on one side only (dropped once emptied)."""
    for c in conflict_paths:
        if path == c or path.startswith((c + ".", c + "[")):
            return True
        if (before is None or after is None) and c.startswith((path + ".", path + "[")):
            return True
    return False


Doc = dict[str, Any]


@settings(max_examples=200, deadline=None)
@given(documents, documents, documents)
def test_prefer_modes_differ_only_at_conflicts(origin: Doc, update: Doc, local: Doc) -> None:
    upstream, up_conflicts = data_merge(origin, update, local, "upstream")
    kept, local_conflicts = data_merge(origin, update, local, "local")
    assert [c.chosen for c in up_conflicts] == ["upstream"] * len(up_conflicts)
    assert [c.chosen for c in local_conflicts] == ["local"] * len(local_conflicts)
    assert [c.path for c in up_conflicts] == [c.path for c in local_conflicts]
    paths = [c.path for c in local_conflicts]
    for path, before, after in diff(upstream, kept):
        assert _covered(path, before, after, paths), (path, before, after, paths)
    if not paths:
        assert upstream == kept


@settings(max_examples=200, deadline=None)
@given(documents)
def test_nothing_changed_anywhere_gives_origin(origin: Doc) -> None:
    for prefer in ("upstream", "local"):
        assert data_merge(origin, origin, origin, prefer) == (origin, [])


@settings(max_examples=200, deadline=None)
@given(documents, documents)
def test_nothing_changed_upstream_keeps_local(origin: Doc, local: Doc) -> None:
    # a map (or a list of maps) local removed comes back empty
    expected = with_removed_maps(local, origin, lists=True)
    for prefer in ("upstream", "local"):
        assert data_merge(origin, origin, local, prefer) == (expected, [])


@settings(max_examples=200, deadline=None)
@given(documents, documents)
def test_nothing_changed_locally_takes_update(origin: Doc, update: Doc) -> None:
    # a map upstream removed stays as an empty map; a list upstream removed goes; the
    # elements of a list keep local's order, what upstream added comes after them
    expected = with_removed_maps(update, origin, lists=False, reorder=True)
    for prefer in ("upstream", "local"):
        assert data_merge(origin, update, origin, prefer) == (expected, [])


@settings(max_examples=200, deadline=None)
@given(documents, documents)
def test_same_change_on_both_sides_is_taken(origin: Doc, update: Doc) -> None:
    for prefer in ("upstream", "local"):
        assert data_merge(origin, update, update, prefer) == (update, [])


@settings(max_examples=50, deadline=None)
@given(documents, documents, documents)
def test_text_merge_gives_the_data_merge(origin: Doc, update: Doc, local: Doc) -> None:
    for prefer in ("upstream", "local"):
        merged, conflicts = merge3(yamlio.dump(origin), yamlio.dump(update), "# kept\n" + yamlio.dump(local),
                                   prefer=prefer)
        assert merged.startswith("# kept\n")
        assert (yaml.safe_load(merged), conflicts) == data_merge(origin, update, local, prefer)
