"""The pure builders of the hand-off to Argo CD and Flux (generator/handoff.py, argocd.py, flux.py)."""

from __future__ import annotations

import pytest

from generator import argocd, flux, handoff
from generator.errors import ConfigError

SOURCE = handoff.Source("traderx", "https://example.com/m.git")


def site(space: str, env: str, stage: int, waves: tuple[int, ...] = (0, 5), context: str = "") -> handoff.Site:
    return handoff.Site(space, env, "", context or space, space, stage, waves)


def test_gitops_yaml_export_is_checked() -> None:
    assert handoff.parse_exports(None, "g") == () and handoff.parse_exports("flux", "g") == ("flux",)
    with pytest.raises(ConfigError, match="unknown reconciler 'helm'"):
        handoff.parse_exports(["argocd", "helm"], "gitops.yaml")
    with pytest.raises(ConfigError, match="expected a list"):
        handoff.parse_exports({"argocd": True}, "gitops.yaml")


def test_stamp_writes_and_says_whether_it_changed() -> None:
    obj: dict = {"metadata": {"name": "x", "annotations": None}}
    assert handoff.stamp(obj, 4, ["flux"]) is True
    assert obj["metadata"]["annotations"] == {"gitops.dev/order": "4"}
    assert handoff.stamp(obj, 4, ["flux"]) is False
    assert handoff.stamp(obj, 4, []) is False and handoff.stamps(4, []) == {}


def test_stages_given_must_name_every_environment() -> None:
    assert handoff.stage_order(["prod", "canary"], ["canary", "prod", "extra"]) == ["canary", "prod"]
    with pytest.raises(ConfigError, match="'dev'"):
        handoff.stage_order(["dev", "prod"], ["prod"])


def test_names_are_dns_safe_and_bounded() -> None:
    assert handoff.resource_name("arn:aws:eks:eu-west-1:123:cluster/Prod", "kubeconfig") == \
        "arn-aws-eks-eu-west-1-123-cluster-prod-kubeconfig"
    with pytest.raises(ConfigError, match="63"):
        handoff.resource_name("x" * 60, "w10")


def test_flux_follows_a_commit_or_a_branch() -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    assert flux.git_repository(flux.Options(handoff.Source("p", "u", commit)))["spec"]["ref"] == {"commit": commit}
    assert flux.git_repository(flux.Options(SOURCE))["spec"]["ref"] == {"branch": "main"}


def test_flux_chains_waves_then_stages() -> None:
    sites = [site("dev", "dev", 0), site("eu", "prod", 1, (0, 3, 9)), site("us", "prod", 1, (0,))]
    by_name = {k["metadata"]["name"]: k["spec"] for k in flux.kustomizations(sites, flux.Options(SOURCE, in_cluster="dev"))}
    assert list(by_name) == ["dev-w0", "dev-w5", "eu-w0", "eu-w3", "eu-w9", "us-w0"]
    assert "dependsOn" not in by_name["dev-w0"] and by_name["dev-w5"]["dependsOn"] == [{"name": "dev-w0"}]
    assert by_name["eu-w0"]["dependsOn"] == by_name["us-w0"]["dependsOn"] == [{"name": "dev-w5"}]
    assert by_name["eu-w9"]["dependsOn"] == [{"name": "eu-w3"}]
    assert "patches" not in by_name["us-w0"]  # one wave: nothing to leave out
    assert "kubeConfig" not in by_name["dev-w0"] and by_name["us-w0"]["kubeConfig"]["secretRef"]["name"] == "us-kubeconfig"


def test_argocd_application_set_without_rolling_sync_has_no_strategy() -> None:
    sites = [site("dev", "dev", 0), site("eu", "prod", 1)]
    appset = argocd.application_set(sites, argocd.Options(SOURCE, self_heal=True), ["dev", "prod"])
    assert "strategy" not in appset["spec"]
    assert appset["spec"]["template"]["spec"]["syncPolicy"]["automated"] == {"prune": False, "selfHeal": True}
    rolling = argocd.application_set(sites, argocd.Options(SOURCE, rolling=True), ["dev", "staging", "prod"])
    steps = rolling["spec"]["strategy"]["rollingSync"]["steps"]
    assert [s["matchExpressions"][0]["values"] for s in steps] == [["dev"], ["prod"]]  # no empty step
