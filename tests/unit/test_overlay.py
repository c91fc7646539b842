"""upstream unit + overlay -> generated unit."""

from __future__ import annotations

import copy

import pytest

from generator import overlay
from generator.errors import ConfigError
from generator.model import Overlay

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "trade-service", "namespace": "traderx", "labels": {"app": "t"}},
    "spec": {"replicas": 1, "template": {"spec": {"containers": [{
        "name": "trade-service", "image": "traderx/trade-service:v1",
        "env": [{"name": "A", "value": "1"}, {"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
    }]}}},
}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x", "namespace": "traderx"},
           "spec": {"ports": [{"port": 80}]}}


def test_namespace_and_labels_and_input_untouched() -> None:
    before = copy.deepcopy(DEPLOYMENT)
    out = overlay.apply(DEPLOYMENT, Overlay("traderx-prod-eu", {"environment": "prod"}), "trade-service")
    assert out["metadata"]["namespace"] == "traderx-prod-eu"
    assert out["metadata"]["labels"] == {"app": "t", "environment": "prod"}
    assert DEPLOYMENT == before


def test_namespace_object_is_renamed() -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "traderx"}}
    out = overlay.apply(ns, Overlay("traderx-dev"), "namespace")
    assert out["metadata"] == {"name": "traderx-dev"}


def test_replicas_image_env_resources() -> None:
    ov = Overlay("n", replicas={"trade-service": 5}, images={"trade-service": ":v2"},
                 env={"trade-service": {"A": "2", "S": "plain", "NEW": "x"}},
                 resources={"*": {"limits": {"cpu": "2"}}, "trade-service": {"requests": {"cpu": "1"}}})
    before = copy.deepcopy(DEPLOYMENT)
    out = overlay.apply(DEPLOYMENT, ov, "trade-service")
    assert DEPLOYMENT == before  # copy-on-write: the upstream is never changed
    container = out["spec"]["template"]["spec"]["containers"][0]
    assert out["spec"]["replicas"] == 5
    assert container["image"] == "traderx/trade-service:v2"
    assert container["env"] == [{"name": "A", "value": "2"}, {"name": "S", "value": "plain"},
                                {"name": "NEW", "value": "x"}]
    assert container["resources"] == {"requests": {"cpu": "1", "memory": "128Mi"}, "limits": {"cpu": "2"}}


def test_wildcard_resources_skip_non_workloads() -> None:
    out = overlay.apply(SERVICE, Overlay("n", resources={"*": {"limits": {"cpu": "2"}}}), "x")
    assert "template" not in out["spec"]


def test_patch() -> None:
    ov = Overlay("n", patches={"x": {"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}}})
    out = overlay.apply(SERVICE, ov, "x")
    assert out["spec"] == {"ports": [{"port": 80, "nodePort": 30080}], "type": "NodePort"}


def test_replicas_on_a_service_is_an_error() -> None:
    with pytest.raises(ConfigError, match="replicas for unit 'x', but it is a Service"):
        overlay.apply(SERVICE, Overlay("n", replicas={"x": 2}, sources=("regions/eu.yaml",)), "x")


def test_env_on_a_service_is_an_error() -> None:
    with pytest.raises(ConfigError, match="env for unit 'x'"):
        overlay.apply(SERVICE, Overlay("n", env={"x": {"A": "1"}}), "x")


def test_untouched_subtrees_are_shared_with_the_upstream() -> None:
    out = overlay.apply(DEPLOYMENT, Overlay("n", replicas={"trade-service": 2}), "trade-service")
    assert out["spec"]["template"] is DEPLOYMENT["spec"]["template"]
    assert out["spec"] is not DEPLOYMENT["spec"]


def test_spaces_that_apply_the_same_inputs_get_one_spec() -> None:
    """With Specs, regions of one environment (same replicas and resources, their own namespace
    and labels) get the same spec object, equal to what each would make alone."""
    kept: list[object] = []
    specs = overlay.Specs(kept.append)
    before = copy.deepcopy(DEPLOYMENT)
    inputs = {"replicas": {"trade-service": 3}, "resources": {"*": {"limits": {"cpu": "2"}}}}
    eu = overlay.apply(DEPLOYMENT, Overlay("prod-eu", {"region": "eu"}, **inputs), "trade-service", specs)
    us = overlay.apply(DEPLOYMENT, Overlay("prod-us", {"region": "us"}, **inputs), "trade-service", specs)
    assert us["spec"] is eu["spec"] and kept == [eu["spec"]]
    assert us == overlay.apply(DEPLOYMENT, Overlay("prod-us", {"region": "us"}, **inputs), "trade-service")
    assert us["metadata"]["namespace"] == "prod-us" and eu["metadata"]["labels"]["region"] == "eu"
    assert DEPLOYMENT == before
    other = overlay.apply(DEPLOYMENT, Overlay("prod-asia", replicas={"trade-service": 2},
                                              resources=inputs["resources"]), "trade-service", specs)
    assert other["spec"] is not eu["spec"] and other["spec"]["replicas"] == 2 and len(kept) == 2
    env = {"trade-service": {"A": "eu"}}
    assert overlay.apply(DEPLOYMENT, Overlay("x", env=env), "trade-service", specs)["spec"] is not \
        overlay.apply(DEPLOYMENT, Overlay("y", env={"trade-service": {"A": "us"}}), "trade-service", specs)["spec"]
    service = overlay.apply(SERVICE, Overlay("prod-eu", **inputs), "x", specs)
    assert service["spec"] is SERVICE["spec"] and len(kept) == 4  # untouched: the upstream's own


def test_specs_never_pass_a_unit_an_error_or_a_patch_would_stop() -> None:
    specs = overlay.Specs()
    for namespace in ("a", "b"):  # an error is not kept: the next space meets it too
        with pytest.raises(ConfigError, match="replicas for unit 'x'"):
            overlay.apply(SERVICE, Overlay(namespace, replicas={"x": 2}), "x", specs)
    patch = {"x": {"spec": {"ports": [{"port": 80, "name": "http"}]}}}
    one = overlay.apply(SERVICE, Overlay("a", patches=patch), "x", specs)
    two = overlay.apply(SERVICE, Overlay("b", patches={"x": {"spec": {"type": "NodePort"}}}), "x", specs)
    assert one["spec"]["ports"][0]["name"] == "http" and two["spec"]["type"] == "NodePort"
    assert "type" not in one["spec"]
