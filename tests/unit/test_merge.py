"""The strategic merge patch."""

from __future__ import annotations

from generator.merge import identity, strategic_patch

BASE = {
    "spec": {"template": {"spec": {"containers": [
        {"name": "trade-service", "image": "traderx/trade-service:v1",
         "ports": [{"containerPort": 18092, "protocol": "TCP"}],
         "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
        {"name": "sidecar", "image": "s:1"},
    ]}}, "replicas": 3},
}


def test_changes_one_container_image_only() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "trade-service", "image": "traderx/trade-service:v2"}]}}}}
    out = strategic_patch(BASE, patch)
    expected = strategic_patch(BASE, {})
    expected["spec"]["template"]["spec"]["containers"][0]["image"] = "traderx/trade-service:v2"
    assert out == expected
    assert BASE["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v1")


def test_env_merges_by_name_and_appends() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "trade-service", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]}}}}
    env = strategic_patch(BASE, patch)["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]


def test_null_deletes_and_directives() -> None:
    out = strategic_patch(BASE, {"spec": {"replicas": None}})
    assert "replicas" not in out["spec"]
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}
    out = strategic_patch(BASE, patch)
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["trade-service"]
    out = strategic_patch({"a": {"x": 1, "y": 2}}, {"a": {"$patch": "replace", "z": 3}})
    assert out == {"a": {"z": 3}}


def test_lists_without_identity_are_whole_values() -> None:
    assert strategic_patch({"args": ["a", "b"]}, {"args": ["c"]}) == {"args": ["c"]}
    rules = {"rules": [{"host": "a"}, {"host": "b"}]}
    assert strategic_patch(rules, {"rules": [{"host": "c"}]}) == {"rules": [{"host": "c"}]}


def test_identity_keys() -> None:
    ports = identity([{"containerPort": 80, "protocol": "TCP"}], [{"containerPort": 80}])
    assert ports is not None and ports({"containerPort": 80}) == (80, "TCP")
    service = identity([{"port": 80, "name": "http"}])
    assert service is not None and service({"port": 80, "name": "http"}) == (80, "TCP")
    assert identity([{"host": "a"}]) is None
