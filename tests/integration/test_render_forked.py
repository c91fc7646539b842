"""A render whose regions are shared out to forked copies of the process makes the commit a
render in one process makes, and refuses what it refuses, with the same error."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from generator.model import SpaceSpec
from generator.operations import render as render_op
from tests.conftest import Cli

REGIONS = ("asia", "eu", "us")  # the example's, in the config's order: the last is a copy's


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The spaces no other derives from (the regions, dev, staging) shared by this process and
    two forked copies: the spaces of each copy's plan merged here are counted."""
    monkeypatch.setattr(render_op, "FORK_FROM", 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setenv("GITOPS_WORKERS", str(len(REGIONS)))
    merged: list[int] = []
    real = render_op._Render._merge

    def counting(self: render_op._Render, made: render_op._Made) -> None:
        merged.append(len(made.spaces))
        real(self, made)

    monkeypatch.setattr(render_op._Render, "_merge", counting)
    return merged


@pytest.fixture
def here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The spaces this process rendered itself (a forked copy's are not seen here)."""
    rendered: list[str] = []
    real = render_op._Render._space

    def noting(self: render_op._Render, spec: SpaceSpec) -> None:
        rendered.append(spec.name)
        real(self, spec)

    monkeypatch.setattr(render_op._Render, "_space", noting)
    return rendered


def _commit(repo: Path) -> tuple[str, str, str]:
    """HEAD's tree, message, and the work tree's status."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout
    return git("rev-parse", "HEAD^{tree}"), git("log", "-1", "--format=%B"), git("status", "--porcelain")


def test_a_render_shared_with_forked_copies_is_the_render_made_alone(
        cli: Cli, forking: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    cli.ok("render")
    # two copies, runs of 2 and 1 of the 5 spaces no other derives from, each sent back in
    # parts (of one space here)
    assert forking == [1, 1, 1]
    shared = _commit(cli.repo)
    monkeypatch.setenv("GITOPS_WORKERS", "1")
    alone = Cli(cli.config, cli.repo.parent / "alone", cli.capsys)
    alone.ok("render")
    assert len(forking) == 3 and _commit(alone.repo) == shared and shared[2] == ""
    assert "nothing changed" in cli.ok("render").err  # the record of every space is whole


@pytest.mark.parametrize("problem", ["secret", "schema"])
def test_a_problem_a_forked_copy_finds_is_refused_as_alone(
        cli: Cli, forking: list[int], here: list[str], monkeypatch: pytest.MonkeyPatch, problem: str) -> None:
    us = cli.config / "regions" / f"{REGIONS[-1]}.yaml"
    if problem == "secret":
        us.write_text(us.read_text().replace("    MARKET_REGION: US\n",
                                             "    MARKET_REGION: US\n    DB_PASSWORD: Zq8vN2kLp4Xw9Tr1\n"))
    else:
        us.write_text(us.read_text() + "  trade-service:\n    spec:\n      paused: sometimes\n")
    shared = cli("render")
    assert here and "traderx-prod-us" not in here  # a forked copy rendered it
    monkeypatch.setenv("GITOPS_WORKERS", "1")
    alone = Cli(cli.config, cli.repo.parent / "alone", cli.capsys)("render")
    assert shared.code == alone.code == 1 and shared.err == alone.err.replace("alone", "manifests")
    assert ("traderx-prod-us" in shared.err and
            ("DB_PASSWORD" in shared.err and "Zq8vN2kLp4Xw9Tr1" not in shared.err if problem == "secret"
             else "paused" in shared.err))
    assert not cli.repo.exists()  # nothing written: the repo it would have made is gone
