"""The git config a render gives the repo it creates (core.splitIndex), and never to a repo that
was there before."""

from __future__ import annotations

import subprocess

from generator.operations.render import SPLIT_INDEX
from tests.conftest import Cli


def _setting(cli: Cli) -> str:
    return subprocess.run(["git", "-C", str(cli.repo), "config", "--local", "--get", SPLIT_INDEX],
                          capture_output=True, text=True).stdout.strip()


def test_a_repo_render_creates_writes_its_index_in_part(rendered: Cli) -> None:
    assert _setting(rendered) == "true"
    shared = list((rendered.repo / ".git").glob("sharedindex.*"))
    assert shared and rendered.git("status", "--porcelain") == ""
    eu = rendered.config / "regions/eu.yaml"
    eu.write_text(eu.read_text().replace("trade-service: 5", "trade-service: 4"))
    rendered.ok("render")
    assert rendered.git("status", "--porcelain") == ""
    assert "replicas: 4" in rendered.git("show", "HEAD:spaces/traderx-prod-eu/trade-service.yaml")


def test_a_repo_that_was_there_keeps_its_config(cli: Cli) -> None:
    cli.repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(cli.repo)], check=True)
    cli.ok("render")
    assert _setting(cli) == "" and not list((cli.repo / ".git").glob("sharedindex.*"))
    assert cli.git("status", "--porcelain") == ""
