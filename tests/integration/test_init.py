"""`gitops init`: a new config dir that renders at once; refused where anything is; shipped in the wheel."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import PROJECT, snapshot


def gitops(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from generator.cli import run

    capsys.readouterr()
    code = run(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def units_by_space(capsys: pytest.CaptureFixture[str], config: Path, repo: Path) -> dict[str, list[str]]:
    code, out, err = gitops(capsys, "--config", str(config), "--repo", str(repo), "unit", "list",
                            "--space", "*", "-o", "json")
    assert code == 0, err
    spaces: dict[str, list[str]] = {}
    for row in json.loads(out):
        spaces.setdefault(row["space"], []).append(row["unit"])
    return {space: sorted(units) for space, units in spaces.items()}


def test_the_starter_renders_a_base_with_reference_data_and_its_namespace(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "new" / "config"  # missing, parents too: created
    code, out, err = gitops(capsys, "init", str(config))
    assert code == 0, err
    for path in ("gitops.yaml", "filters.yaml", "templates/values.yaml", "templates/units/namespace.yaml.j2",
                 "templates/units/reference-data.yaml.j2", "environments/dev.yaml.example",
                 "regions/eu.yaml.example"):
        assert (config / path).is_file()
        assert f"  {path}\n" in out
    assert "Namespace the others run in" in out
    assert f"cd {config}" in out and "gitops render" in out

    code, _, err = gitops(capsys, "--config", str(config), "render")
    assert code == 0, err
    # repo: manifests in gitops.yaml, relative to the config dir; the examples are ignored
    assert units_by_space(capsys, config, config / "manifests") == {"traderx-base": ["namespace", "reference-data"]}
    deployment = (config / "manifests" / "spaces" / "traderx-base" / "reference-data.yaml").read_text()
    assert "kind: Deployment" in deployment and "namespace: traderx\n" in deployment


def test_the_starters_example_overlays_add_dev_and_a_region_once_renamed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config"
    assert gitops(capsys, "init", str(config))[0] == 0
    shutil.copy(config / "environments" / "dev.yaml.example", config / "environments" / "dev.yaml")
    (config / "environments" / "prod.yaml").write_text("environment: prod\n")
    shutil.copy(config / "regions" / "eu.yaml.example", config / "regions" / "eu.yaml")
    repo = tmp_path / "manifests"
    code, _, err = gitops(capsys, "--config", str(config), "--repo", str(repo), "render")
    assert code == 0, err
    assert sorted(units_by_space(capsys, config, repo)) == ["traderx-base", "traderx-dev", "traderx-prod-eu"]
    code, out, _ = gitops(capsys, "--config", str(config), "--repo", str(repo), "unit", "get", "reference-data",
                          "--space", "traderx-prod-eu", "-o", "json")
    data = json.loads(out)["data"]
    assert data["spec"]["replicas"] == 2
    assert {"name": "MARKET_REGION", "value": "EU"} in data["spec"]["template"]["spec"]["containers"][0]["env"]


def test_example_traderx_renders_what_the_shipped_example_renders(
        tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "fleet"
    code, out, err = gitops(capsys, "init", str(config), "--example", "traderx", "-o", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["example"] == "traderx" and "templates/values.yaml" in report["files"]
    assert not any((config / part).is_symlink() for part in ("templates", "gitops.yaml", "regions"))
    for repo, source in ((tmp_path / "a", config), (tmp_path / "b", config_dir)):
        code, _, err = gitops(capsys, "--config", str(source), "--repo", str(repo), "render")
        assert code == 0, err
    made, shipped = (units_by_space(capsys, c, r) for c, r in ((config, tmp_path / "a"), (config_dir, tmp_path / "b")))
    assert made == shipped and len(made) == len(report["spaces"])
    assert all(len(units) == len(report["units"]) for units in made.values())


def test_project_and_namespace_are_written_into_the_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "shop"
    code, out, err = gitops(capsys, "init", str(config), "--project", "shop", "--namespace", "shop-apps", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["spaces"] == ["shop-base"]
    assert "project: shop " in (config / "gitops.yaml").read_text()  # the comment after it is kept
    code, _, err = gitops(capsys, "--config", str(config), "--repo", str(tmp_path / "m"), "render")
    assert code == 0, err
    code, out, _ = gitops(capsys, "--config", str(config), "--repo", str(tmp_path / "m"), "space", "get",
                          "shop-base", "-o", "json")
    assert json.loads(out)["target"]["namespace"] == "shop-apps"


def test_the_default_directory_is_the_current_one(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = gitops(capsys, "init")
    assert code == 0, err
    assert (tmp_path / "gitops.yaml").is_file() and "cd " not in out


@pytest.mark.parametrize("args", [("--project", "Not_A_Name"), ("--example", "nope"), ()])
def test_a_non_empty_directory_or_bad_input_is_refused_and_nothing_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "notes.txt").write_text("mine\n")
    before = snapshot(tmp_path)
    code, out, err = gitops(capsys, "init", str(config), *args)
    assert code in (1, 2) and out == ""
    assert "Traceback" not in err and snapshot(tmp_path) == before
    if not args:
        assert f"error: {config} is not empty" in err and "hint:" in err
    code, _, err = gitops(capsys, "init", str(tmp_path / "fresh"), *args)
    assert (code == 0) == (not args) and (tmp_path / "fresh").exists() == (not args)


def test_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "f").write_text("x")
    code, _, err = gitops(capsys, "init", str(tmp_path / "f"))
    assert code == 1 and "is a file" in err


def test_the_wheel_holds_every_file_init_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Built from a copy of the project (the symlinks of examples/traderx/ followed), offline
    of the work tree; then each example's files are looked up in it."""
    source = tmp_path / "src"
    source.mkdir()
    for part in ("pyproject.toml", "README.md", "generator", "templates", "environments", "regions",
                 "gitops.yaml", "filters.yaml"):
        if (PROJECT / part).is_dir():
            shutil.copytree(PROJECT / part, source / part, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(PROJECT / part, source / part)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", str(source),
                            "-w", str(tmp_path / "wheel")], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "wheel").glob("gitops-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for example, args in (("starter", ()), ("traderx", ("--example", "traderx"))):
        code, out, err = gitops(capsys, "init", str(tmp_path / example), *args, "-o", "json")
        assert code == 0, err
        files = json.loads(out)["files"]
        missing = [f for f in files if f"generator/examples/{example}/{f}" not in names]
        assert files and not missing, f"not in the wheel: {missing}"

