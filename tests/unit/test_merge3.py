"""merge3: kyaml's semantics, comments kept, and the algebra a 3-way merge must satisfy."""

from __future__ import annotations

import copy

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import yamlio
from generator.merge import diff, merge3, merge3_data
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


def test_env_merges_by_name_new_upstream_var_lands_in_place() -> None:
    update = edit(BASE, ('        - name: CIRCUIT_BREAKER\n',
                         '        - name: TIMEOUT_MS\n          value: "500"\n        - name: CIRCUIT_BREAKER\n'))
    local = edit(BASE, ('value: "false"', 'value: "true"'),
                 ('          value: "true"\n', '          value: "true"\n        - name: LOCAL_ONLY\n          value: x\n'))
    merged, conflicts = merge3(BASE, update, local)
    assert conflicts == []
    env = yaml.safe_load(merged)["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e["name"] for e in env] == ["TRADING_ALGORITHM", "TIMEOUT_MS", "CIRCUIT_BREAKER", "LOCAL_ONLY"]
    assert env[2]["value"] == "true"


def test_deleted_upstream_is_deleted_unless_local_changed_it() -> None:
    update = edit(BASE, ('        - name: TRADING_ALGORITHM\n          value: standard\n', ''))
    merged, _ = merge3(BASE, update, edit(BASE, ("replicas: 3", "replicas: 5")))
    names = [e["name"] for e in yaml.safe_load(merged)["spec"]["template"]["spec"]["containers"][0]["env"]]
    assert names == ["CIRCUIT_BREAKER"]
    local = edit(BASE, ("value: standard", "value: mine"))
    merged, conflicts = merge3(BASE, update, local)
    env = yaml.safe_load(merged)["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0] == {"name": "TRADING_ALGORITHM", "value": "mine"}
    assert [c.path for c in conflicts] == ["spec.template.spec.containers[trade-service].env[TRADING_ALGORITHM]"]


def test_null_in_update_deletes_and_local_only_fields_stay() -> None:
    origin = {"a": 1, "b": 2}
    merged, conflicts = merge3_data(origin, {"a": 1, "b": None}, {"a": 1, "b": 2, "c": 3})
    assert merged == {"a": 1, "c": 3} and conflicts == []


def test_ports_merge_by_container_port_and_protocol() -> None:
    origin = {"ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}]}
    update = {"ports": [{"containerPort": 80, "protocol": "TCP", "name": "web"}]}
    local = {"ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"},
                       {"containerPort": 9090, "protocol": "TCP", "name": "metrics"}]}
    merged, _ = merge3_data(origin, update, local)
    assert merged == {"ports": [{"containerPort": 80, "protocol": "TCP", "name": "web"},
                                {"containerPort": 9090, "protocol": "TCP", "name": "metrics"}]}


def test_diff_field_by_field() -> None:
    local = edit(BASE, ("replicas: 3", "replicas: 5"), ('value: "false"', 'value: "true"'))
    rows = diff(yamlio.load(BASE), yamlio.load(local))
    assert rows == [("spec.replicas", 3, 5),
                    ("spec.template.spec.containers[trade-service].env[CIRCUIT_BREAKER].value", "false", "true")]


# --- properties ------------------------------------------------------------------------------

names = st.sampled_from(["a", "b", "c", "d"])
scalars = st.one_of(st.integers(0, 5), st.sampled_from(["x", "y", "true", "1"]), st.booleans())
env_lists = st.lists(st.fixed_dictionaries({"name": names, "value": scalars}), max_size=4,
                     unique_by=lambda e: e["name"])
leaf = st.one_of(scalars, st.lists(scalars, max_size=3), env_lists)
manifests = st.recursive(leaf, lambda inner: st.dictionaries(names, inner, max_size=4), max_leaves=12)
documents = st.dictionaries(names, manifests, min_size=1, max_size=4)


@settings(max_examples=300, deadline=None)
@given(documents, documents)
def test_nothing_upstream_keeps_local(origin: dict, local: dict) -> None:
    merged, conflicts = merge3_data(copy.deepcopy(origin), copy.deepcopy(origin), copy.deepcopy(local))
    assert merged == local and conflicts == []


@settings(max_examples=300, deadline=None)
@given(documents, documents)
def test_nothing_local_takes_upstream(origin: dict, update: dict) -> None:
    merged, conflicts = merge3_data(copy.deepcopy(origin), copy.deepcopy(update), copy.deepcopy(origin))
    assert merged == update and conflicts == []


@settings(max_examples=300, deadline=None)
@given(documents, documents)
def test_same_change_on_both_sides(origin: dict, update: dict) -> None:
    merged, conflicts = merge3_data(copy.deepcopy(origin), copy.deepcopy(update), copy.deepcopy(update))
    assert merged == update and conflicts == []


@settings(max_examples=200, deadline=None)
@given(documents, documents, documents)
def test_text_merge_always_parses_and_obeys_the_identities(origin: dict, update: dict, local: dict) -> None:
    o, u, l = (yamlio.dump(d) for d in (origin, update, local))
    commented = "# kept\n" + l  # defeats the text shortcuts: a real structural merge
    merged, _ = merge3(o, u, commented)
    assert isinstance(yaml.safe_load(merged), dict)
    assert yaml.safe_load(merge3(o, o, commented)[0]) == local
    assert yaml.safe_load(merge3(o, u, "# kept\n" + o)[0]) == update
    assert yaml.safe_load(merge3(o, u, "# kept\n" + u)[0]) == update
    for prefer in ("local", "upstream"):
        merged, conflicts = merge3(o, u, commented, prefer=prefer)
        assert all(c.chosen == prefer for c in conflicts)
