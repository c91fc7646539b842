"""A first render with the user cache warm (compiled templates, the base's units normalized)
commits exactly the tree a cold one does, and compiles and normalizes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2.sandbox import SandboxedEnvironment

from generator import yamlio
from tests.conftest import Cli


def test_a_warm_cache_renders_the_tree_a_cold_one_does(cli: Cli, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    made: list[str] = []
    compile_, normalize = SandboxedEnvironment.compile, yamlio.normalize
    monkeypatch.setattr(SandboxedEnvironment, "compile",
                        lambda self, *a, **kw: made.append("compiled") or compile_(self, *a, **kw))
    monkeypatch.setattr(yamlio, "normalize", lambda *a, **kw: made.append("normalized") or normalize(*a, **kw))
    monkeypatch.setenv("GITOPS_WORKERS", "1")  # (counted in this process)
    cold = Cli(cli.config, tmp_path / "cold", cli.capsys)
    cold.ok("render")
    assert "compiled" in made and "normalized" in made
    made.clear()
    warm = Cli(cli.config, tmp_path / "warm", cli.capsys)
    warm.ok("render")
    assert made == []
    assert cold.git("rev-parse", "HEAD^{tree}") == warm.git("rev-parse", "HEAD^{tree}")
    assert (tmp_path / "cache" / "gitops" / "templates").is_dir()
    assert any((tmp_path / "cache" / "gitops" / "normalized").iterdir())
