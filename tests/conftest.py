"""Shared fixtures: a pinned git identity, the shipped example as a config dir, a CLI runner."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from generator.cli import run

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE_PARTS = ("gitops.yaml", "templates", "environments", "regions", "filters.yaml")

# The units of a space of the shipped example, as templates/values.yaml lists them, and how
# many: read, never written down, so adding a unit to the example changes no test.
EXAMPLE_UNIT_NAMES = tuple(yaml.safe_load((PROJECT / "templates" / "values.yaml").read_text())["units"])
EXAMPLE_UNITS = len(EXAMPLE_UNIT_NAMES)


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test: a fixed git identity, no user git config, a private cache dir."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", os.environ.get("GITOPS_TEST_CACHE", str(PROJECT / ".cache-tests")))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var, value in {
        "GIT_AUTHOR_NAME": "Ada Operator", "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada Operator", "GIT_COMMITTER_EMAIL": "ada@example.com",
    }.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("GITOPS_REPO", raising=False)
    monkeypatch.delenv("GITOPS_CONFIG", raising=False)


def build_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``{relative path: text}`` under ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of the shipped TraderX example, free to edit."""
    root = tmp_path / "config"
    root.mkdir()
    for part in EXAMPLE_PARTS:
        source = PROJECT / part
        if source.is_dir():
            shutil.copytree(source, root / part)
        else:
            shutil.copy(source, root / part)
    return root


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    """Runs ``gitops`` in-process against one config dir and one manifests repo."""

    config: Path
    repo: Path
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str) -> Result:
        self.capsys.readouterr()
        code = run(["--config", str(self.config), "--repo", str(self.repo), *args])
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.code == 0, f"gitops {' '.join(args)} failed:\n{result.err}"
        return result

    def git(self, *args: str) -> str:
        return subprocess.run(["git", "-C", str(self.repo), *args], check=True,
                              capture_output=True, text=True).stdout


@pytest.fixture
def cli(config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(config_dir, tmp_path / "manifests", capsys)


@pytest.fixture
def rendered(cli: Cli) -> Iterator[Cli]:
    """The example rendered once."""
    cli.ok("render")
    yield cli


def snapshot(repo: Path, work_tree_only: bool = False) -> dict[str, str]:
    """Every file of a repo (work tree and .git, but the lock file, the field index, a cache
    of the commit's fields that a query keeps, and the records cache) -> content hash."""
    if not repo.exists():
        return {}
    out = {}
    for path in sorted(repo.rglob("*")):
        if work_tree_only and ".git" in path.relative_to(repo).parts:
            continue
        if path.is_file() and path.name not in ("gitops.lock", "where.sqlite", "where.sqlite-journal",
                                                "records.cache"):
            out[str(path.relative_to(repo))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out
