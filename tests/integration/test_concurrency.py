"""One lock per repo, and crash safety: real processes, real signals, real git.

Commands run as separate ``python -m generator.cli`` processes, the way two operators (or an
operator and CI) would run them on one repo.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Cli, snapshot

US = "traderx-prod-us"


def gitops(cli: Cli, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "generator.cli", "--config", str(cli.config), "--repo", str(cli.repo), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env})


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = process.communicate(timeout=120)
    return process.returncode, err


def head(cli: Cli) -> str:
    return cli.git("rev-parse", "HEAD").strip()


def assert_sound(cli: Cli) -> None:
    """git fsck finds nothing wrong, and the work tree is exactly HEAD."""
    fsck = subprocess.run(["git", "-C", str(cli.repo), "fsck", "--full", "--no-dangling"],
                          capture_output=True, text=True)
    assert fsck.returncode == 0 and fsck.stdout.strip() == "", fsck.stdout + fsck.stderr
    assert cli.git("status", "--porcelain", "--untracked-files=all") == ""


def more_regions(cli: Cli, count: int) -> None:
    """Copies of the eu region, so that a render has hundreds of files to write."""
    eu = (cli.config / "regions" / "eu.yaml").read_text()
    for i in range(count):
        name = f"x{i:02d}"
        (cli.config / "regions" / f"{name}.yaml").write_text(eu.replace("eu", name))


def test_two_commands_at_once_both_land_whole(rendered: Cli) -> None:
    before = head(rendered)
    first = gitops(rendered, "run", "set-replicas", "--replicas", "4", "--space", US, "--unit", "trade-service")
    second = gitops(rendered, "run", "set-env-var", "--container-name", "web-gui", "--env-var", "THEME=dark",
                    "--space", US, "--unit", "web-gui")
    assert finish(first)[0] == 0 and finish(second)[0] == 0
    log = rendered.git("rev-list", f"{before}..HEAD").split()
    assert len(log) == 2  # one commit each: no lost update
    touched = {frozenset(p for p in rendered.git("show", "--name-only", "--format=", c).split()
                         if p.startswith("spaces/")) for c in log}
    assert touched == {frozenset({f"spaces/{US}/trade-service.yaml"}), frozenset({f"spaces/{US}/web-gui.yaml"})}
    assert "replicas: 4" in (rendered.repo / f"spaces/{US}/trade-service.yaml").read_text()
    assert "THEME" in (rendered.repo / f"spaces/{US}/web-gui.yaml").read_text()
    assert_sound(rendered)


def test_racing_edits_of_one_unit_are_serialised(rendered: Cli) -> None:
    before = head(rendered)
    racers = [gitops(rendered, "run", "set-replicas", "--replicas", str(n), "--space", US,
                     "--unit", "trade-service") for n in (6, 7, 8)]
    assert [finish(p)[0] for p in racers] == [0, 0, 0]
    assert len(rendered.git("rev-list", f"{before}..HEAD").split()) == 3
    assert_sound(rendered)


def test_a_held_lock_makes_a_second_command_fail_clearly(rendered: Cli) -> None:
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from generator.store import Store\n"
        f"store = Store.open(Path({str(rendered.repo)!r}))\n"
        "with store.lock():\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = snapshot(rendered.repo)
        code, err = finish(gitops(rendered, "run", "set-replicas", "--replicas", "4", "--space", US,
                                  GITOPS_LOCK_TIMEOUT="0.5"))
        assert code == 1
        assert "another gitops command is changing" in err and "waited 0.5s" in err
        assert "Traceback" not in err
        assert snapshot(rendered.repo) == before
    finally:
        holder.send_signal(signal.SIGKILL)  # a holder killed outright leaves no lock behind
        holder.wait()
    code, err = finish(gitops(rendered, "run", "set-replicas", "--replicas", "4", "--space", US,
                              "--unit", "trade-service", GITOPS_LOCK_TIMEOUT="2"))
    assert code == 0, err


def _kill_at_random_points(cli: Cli, runs: int, prepare: Callable[[int], list[str]],
                           after_kill: Callable[[bool], None] = lambda landed: None) -> dict[str, int]:
    """Run the command ``prepare(run)`` sets up ``runs`` times, each killed with SIGKILL after a
    delay spread over its whole run time; after each kill the repo must be at the old commit or
    the new one, and the next command must work without repair."""
    rng = random.Random(20261121)
    command = prepare(-1)
    started = time.monotonic()
    code, err = finish(gitops(cli, *command))
    duration = time.monotonic() - started
    assert code == 0, err
    outcomes = {"old": 0, "new": 0}
    for run in range(runs):
        command = prepare(run)
        old = head(cli)
        process = gitops(cli, *command)
        time.sleep(duration * (run + rng.random()) / runs * 1.3)
        process.send_signal(signal.SIGKILL)
        process.wait()
        now = head(cli)
        if now == old:
            outcomes["old"] += 1
        else:
            assert cli.git("rev-parse", "HEAD^").strip() == old  # exactly one whole commit
            outcomes["new"] += 1
        after_kill(now != old)
        # the next command needs no manual repair: the same one again, or a read if it landed
        again = command if now == old else ["unit", "list", "--space", US]
        started = time.monotonic()
        code, err = finish(gitops(cli, *again))
        assert code == 0, err
        if now == old:  # a whole run: how long one takes on this machine, now
            duration = max(duration, time.monotonic() - started)
        assert_sound(cli)
    return outcomes


def test_sigkill_during_render_leaves_the_old_commit_or_the_new(rendered: Cli) -> None:
    more_regions(rendered, 30)
    rendered.ok("render")
    values = rendered.config / "templates" / "values.yaml"
    original = values.read_text()

    def prepare(run: int) -> list[str]:  # every run has ~300 files to rewrite
        values.write_text(original.replace("imageTag: v1", f"imageTag: v{run + 3}"))
        return ["render"]

    outcomes = _kill_at_random_points(rendered, 20, prepare)
    assert outcomes["old"] and outcomes["new"], outcomes  # kills landed before and after the commit
    assert rendered("render", "--check").code == 0


def test_sigkill_during_changeset_apply_leaves_the_old_commit_or_the_new(rendered: Cli) -> None:
    more_regions(rendered, 30)
    rendered.ok("render")

    def prepare(run: int) -> list[str]:  # a changeset that changes 36 units, one per run
        name = f"cs{run + 1}"
        rendered.ok("changeset", "create", name)
        rendered.ok("run", "set-image-reference", "--container-name", "trade-service",
                    "--image-reference", f":v{run + 3}", "--space", "*", "--changeset", name)
        return ["changeset", "apply", name]

    def branch_closed_with_the_commit(landed: bool) -> None:
        still_open = rendered.git("branch", "--list", "changeset/*").strip()
        assert bool(still_open) != landed, (landed, still_open)

    outcomes = _kill_at_random_points(rendered, 20, prepare, branch_closed_with_the_commit)
    assert outcomes["old"] and outcomes["new"], outcomes
    assert rendered.git("branch", "--list", "changeset/*") == ""  # every one landed, once
    applied = rendered.git("log", "--format=%(trailers:key=Gitops-Changeset,valueonly)",
                           "--grep=Gitops-Operation: changeset").split()
    assert sorted(applied) == sorted(f"cs{n}" for n in range(21))


@pytest.mark.parametrize("where, phase", [
    ("worktree.WorkTree", "write"),  # the files written, git still making the objects
    ("store._Indexing", "close"),  # indexed by ids whose objects git may not have made yet
    ("store.Store", "_cache_trees"),  # the branch moved
])
def test_a_crash_inside_a_commit_is_recovered_by_any_next_command(rendered: Cli, where: str, phase: str) -> None:
    """A command killed while writing files leaves a journal; the next command, even a read,
    puts the work tree back to HEAD before it looks."""
    script = (
        "import os, signal\n"
        f"from generator import {where.split('.')[0]} as s\n"
        f"original = getattr(s.{where.split('.')[1]}, {phase!r})\n"
        "def crash(self, *args):\n"
        "    original(self, *args)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        f"setattr(s.{where.split('.')[1]}, {phase!r}, crash)\n"
        "from generator.cli import run\n"
        f"run(['--config', {str(rendered.config)!r}, '--repo', {str(rendered.repo)!r}, 'run', "
        "'set-replicas', '--replicas', '4', '--space', 'traderx-prod-*'])\n")
    old = head(rendered)
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL
    assert (rendered.repo / ".git" / "gitops-journal.json").exists()
    listed = rendered.ok("unit", "list", "--space", US, "-o", "json")
    assert listed.out
    assert not (rendered.repo / ".git" / "gitops-journal.json").exists()
    now = head(rendered)
    assert now == old or rendered.git("rev-parse", "HEAD^").strip() == old
    assert_sound(rendered)
    for path in Path(rendered.repo).glob("spaces/**/.*.gitops-tmp"):
        raise AssertionError(f"temp file left: {path}")
