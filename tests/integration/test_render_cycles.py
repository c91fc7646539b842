"""A render pauses Python's cycle collector while it runs (its collections walked a big render's
heap again and again). That is safe only while a render makes no garbage in cycles
that grows with the fleet: what it leaves for the collector is the same at 3 regions as at 33."""

from __future__ import annotations

import gc
from pathlib import Path

from tests.conftest import Cli


def _left_in_cycles(cli: Cli) -> int:
    """The objects in unreachable cycles a first render leaves (the collector paused meanwhile)."""
    gc.collect()
    gc.disable()
    try:
        cli.ok("render")
        return gc.collect()
    finally:
        gc.enable()


def test_a_render_leaves_no_more_garbage_in_cycles_for_more_regions(cli: Cli, tmp_path: Path) -> None:
    _left_in_cycles(Cli(cli.config, tmp_path / "warm", cli.capsys))  # imports and caches made once
    three = _left_in_cycles(Cli(cli.config, tmp_path / "three", cli.capsys))
    eu = (cli.config / "regions" / "eu.yaml").read_text()
    for n in range(30):
        (cli.config / "regions" / f"r{n:02d}.yaml").write_text(
            eu.replace("eu", f"r{n:02d}").replace("EU", f"R{n:02d}"))
    more = Cli(cli.config, tmp_path / "more", cli.capsys)
    thirty_three = _left_in_cycles(more)
    assert len(list((more.repo / "spaces").iterdir())) == 3 + 3 + 30  # base, dev, staging, the three regions, 30 more
    assert thirty_three <= three + 100, (three, thirty_three)
    assert gc.isenabled()  # the render gave the collector back
