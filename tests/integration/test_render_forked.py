"""A render whose regions are shared out to forked copies of the process makes the commit a
render in one process makes, and refuses what it refuses, with the same error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator.model import SpaceSpec
from generator.operations import render as render_op
from generator.store import Store
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


KILLED_HOLDER = """
import os, sys, time
from pathlib import Path
from generator.store import Store
from generator.operations import forked
store = Store.open(Path(sys.argv[1]), create=True)
with store.lock(), forked.pool(1) as pool:
    print(pool.submit(os.getpid).result(), flush=True)
    pool.submit(time.sleep, 60)
    time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.split()[1:2] == ["Z"] for line in status if line.startswith("State:"))
    except FileNotFoundError:
        return False


def test_a_forked_copy_of_a_killed_command_neither_lives_on_nor_keeps_the_lock(tmp_path: Path) -> None:
    """kill -9 on a command whose forked copy is busy: the copy dies with it, and the repo lock
    (a flock on an open file the fork shared) is free for the next command at once."""
    holder = subprocess.Popen([sys.executable, "-c", KILLED_HOLDER, str(tmp_path / "repo")],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    copy = int(holder.stdout.readline())
    assert _alive(copy)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    deadline = time.monotonic() + 5
    while _alive(copy) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(copy)
    with Store.open(tmp_path / "repo").lock(timeout=1):
        pass


PLAIN_FORK_HOLDER = """
import os, sys, time
from pathlib import Path
from generator.store import Store
store = Store.open(Path(sys.argv[1]), create=True)
with store.lock():
    child = os.fork()
    if child == 0:
        time.sleep(30)
        os._exit(0)
    print(child, flush=True)
    time.sleep(60)
"""


def test_any_forked_copy_lets_go_of_the_lock_it_was_forked_with(tmp_path: Path) -> None:
    """Even a copy that lives on (a plain fork, not a pool's) does not keep the repo locked."""
    holder = subprocess.Popen([sys.executable, "-c", PLAIN_FORK_HOLDER, str(tmp_path / "repo")],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    copy = int(holder.stdout.readline())
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    try:
        assert _alive(copy)
        with Store.open(tmp_path / "repo").lock(timeout=1):
            pass
    finally:
        os.kill(copy, signal.SIGKILL)
