"""The config dir -> spaces, overlays and errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.config import find_config, load_project
from generator.errors import ConfigError, YamlError


def test_spaces_of_the_example(config_dir: Path) -> None:
    project = load_project(config_dir)
    names = {s.name: s for s in project.spaces}
    assert set(names) == {"traderx-dev", "traderx-staging", "traderx-prod-us",
                          "traderx-prod-eu", "traderx-prod-asia"}
    eu = names["traderx-prod-eu"]
    assert eu.upstream == "traderx-base"
    assert eu.labels["environment"] == "prod" and eu.labels["region"] == "eu"
    assert eu.labels["critical"] == "true" and eu.labels["targetable"] == "true"
    assert eu.target.namespace == "traderx-prod-eu"
    assert eu.overlay is not None and eu.overlay.sources == ("environments/prod.yaml", "regions/eu.yaml")
    replicas = {n: s.overlay.replicas.get("trade-service") for n, s in names.items() if s.overlay}
    assert replicas == {"traderx-dev": 1, "traderx-staging": 2, "traderx-prod-us": 3,
                        "traderx-prod-eu": 5, "traderx-prod-asia": 2}


def test_overlay_naming_an_unknown_unit(config_dir: Path) -> None:
    (config_dir / "regions/eu.yaml").write_text(
        (config_dir / "regions/eu.yaml").read_text() + "\nimages:\n  trade-servce: ':v2'\n")
    with pytest.raises(ConfigError, match="regions/eu.yaml: no unit named 'trade-servce'"):
        load_project(config_dir)


def test_yaml_syntax_error_in_overlay(config_dir: Path) -> None:
    (config_dir / "environments/dev.yaml").write_text("replicas:\n  trade-service: [1\n")
    with pytest.raises(YamlError, match=r"^environments/dev.yaml:\d+:\d+: invalid YAML"):
        load_project(config_dir)


def test_unknown_key(config_dir: Path) -> None:
    (config_dir / "environments/dev.yaml").write_text("replica:\n  trade-service: 1\n")
    with pytest.raises(ConfigError, match="environments/dev.yaml: unknown key 'replica'"):
        load_project(config_dir)


def test_region_of_an_unknown_environment(config_dir: Path) -> None:
    (config_dir / "regions/eu.yaml").write_text("environment: prd\n")
    with pytest.raises(ConfigError, match="environment 'prd' has no environments/prd.yaml"):
        load_project(config_dir)


def test_bad_replicas(config_dir: Path) -> None:
    (config_dir / "regions/eu.yaml").write_text("environment: prod\nreplicas: {trade-service: five}\n")
    with pytest.raises(ConfigError, match="replicas of 'trade-service' must be a whole number"):
        load_project(config_dir)


def test_find_config_walks_up(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(config_dir / "templates" / "units")
    assert find_config(None) == config_dir
    with pytest.raises(ConfigError, match="no gitops.yaml"):
        find_config(str(config_dir / "templates"))


def test_parse_cache_sees_edits(config_dir: Path) -> None:
    load_project(config_dir)  # fills the cache
    (config_dir / "regions/eu.yaml").write_text("environment: prod\nreplicas: {trade-service: 7}\n")
    project = load_project(config_dir)
    eu = next(s for s in project.spaces if s.name == "traderx-prod-eu")
    assert eu.overlay is not None and eu.overlay.replicas["trade-service"] == 7
