"""The config dir -> spaces, overlays and errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.config import load_project
from generator.configdir import find_config
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


def test_the_repo_a_config_dir_names_is_read_once_while_gitops_yaml_is_unchanged(
        config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import configdir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(configdir, "_RACY_NS", 0)  # the file counts as settled at once
    gitops = config_dir / "gitops.yaml"
    parsed: list[str] = []
    real_parse = configdir.parse

    def parse(raw: bytes, rel: str) -> dict[str, object]:
        parsed.append(rel)
        return real_parse(raw, rel)

    monkeypatch.setattr(configdir, "parse", parse)
    assert configdir.default_repo(config_dir) == config_dir / "manifests"
    assert configdir.default_repo(config_dir) == config_dir / "manifests"
    assert parsed == ["gitops.yaml"]  # the second answer came from the cache

    gitops.write_text(gitops.read_text().replace("repo: manifests", "repo: /srv/fleet-manifests"))
    assert configdir.default_repo(config_dir) == Path("/srv/fleet-manifests")  # an edit is seen
    assert len(parsed) == 2

    (tmp_path / "cache" / "gitops" / "config").mkdir(parents=True, exist_ok=True)
    for cache in (tmp_path / "cache" / "gitops" / "config").glob("repos-*.json"):
        cache.write_text("{not json")  # damaged: read the file again
    assert configdir.default_repo(config_dir) == Path("/srv/fleet-manifests")
    assert len(parsed) == 3


def test_a_gitops_yaml_changed_just_now_is_read_again_next_time(
        config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Within two seconds of its change a file may change again without its size or times
    telling (their grain): its answer is not kept."""
    from generator import configdir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    gitops = config_dir / "gitops.yaml"
    gitops.write_text(gitops.read_text().replace("repo: manifests", "repo: other"))
    assert configdir.default_repo(config_dir) == config_dir / "other"
    monkeypatch.setattr(configdir, "parse", lambda raw, rel: {"repo": "parsed-again"})
    assert configdir.default_repo(config_dir) == config_dir / "parsed-again"


def test_a_broken_gitops_yaml_is_an_error_even_after_a_good_one_was_kept(
        config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import configdir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(configdir, "_RACY_NS", 0)
    configdir.default_repo(config_dir)
    (config_dir / "gitops.yaml").write_text("repo: [unclosed\n")
    with pytest.raises(YamlError, match="gitops.yaml"):
        configdir.default_repo(config_dir)


def test_the_repos_kept_are_the_newest_few_hundred(config_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import configdir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(configdir, "_RACY_NS", 0)
    old = {f"/gone/{n}/gitops.yaml": [1, 2, 3, 4, "manifests"] for n in range(configdir._REPOS_KEPT + 10)}
    configdir._RepoCache.write(old, "/gone/0/gitops.yaml", [1, 2, 3, 4, "again"])  # seen again: newest
    configdir.default_repo(config_dir)
    known = configdir._RepoCache.read()
    assert len(known) == configdir._REPOS_KEPT
    assert list(known)[-1] == str(config_dir / "gitops.yaml")
    assert known["/gone/0/gitops.yaml"][4] == "again" and "/gone/1/gitops.yaml" not in known
