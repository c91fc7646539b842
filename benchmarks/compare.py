"""Before/after: the same commands on one fleet, run by two revisions of gitops in turn.

For a change that must not cost anything (a refactor), or to show what a change gained:

    python benchmarks/compare.py a098f7d HEAD                 # 1000 regions, 4 runs each
    python benchmarks/compare.py main my-branch --regions 100 --runs 6

Each revision is checked out into a git worktree under WORK (default: a temp dir, removed
afterwards) and run as `python -m generator.cli` from WORK, so that each runs its own code. One
fleet (`synth.py`, rendered by AFTER) serves both. The commands run alternately, before then
after, each on a quiet machine (`common.settle`); a committing command runs on a fresh copy of
the repo. The figure is user + system CPU seconds of the command and its git children, the
mean of the runs, and the wall time. Prints a markdown table; writes nothing else.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BenchmarkError, log, run, settle  # noqa: E402
from synth import GIT_IDENTITY, PROJECT_ROOT, write_config  # noqa: E402

WHERE = "spec.replicas > 2 AND Labels.layer = 'backend'"
IMAGE = ["run", "set-image-reference", "--space", "*", "--container-name", "trade-service",
         "--image-reference", ":v9"]


@dataclass(frozen=True)
class Command:
    label: str
    args: list[str]
    commits: bool = False  # runs on a fresh copy of the repo


COMMANDS = [
    Command("no-op `render`", ["render"]),
    Command("`audit`", ["audit"]),
    Command("`history trade-service --space traderx-prod-r0001`",
            ["history", "trade-service", "--space", "traderx-prod-r0001"]),
    Command(f"`unit list --space '*' --where \"{WHERE}\"`", ["unit", "list", "--space", "*", "--where", WHERE]),
    Command("`run set-image-reference --space '*' --dry-run`", [*IMAGE, "--dry-run"]),
    Command("`upgrade --space '*' --dry-run`", ["upgrade", "--space", "*", "--dry-run"]),
    Command("`run set-image-reference --space '*'` (one commit)", IMAGE, commits=True),
]


def checkout(rev: str, where: Path) -> Path:
    run(["git", "-C", str(PROJECT_ROOT), "worktree", "add", "--detach", "-f", str(where), rev])
    return where


@contextmanager
def checkouts(before: str, after: str, work: Path) -> Iterator[dict[str, Path]]:
    """``{"before": worktree, "after": worktree}`` under WORK, removed afterwards."""
    sides = {"before": checkout(before, work / "before"), "after": checkout(after, work / "after")}
    try:
        yield sides
    finally:
        for where in sides.values():
            subprocess.run(["git", "-C", str(PROJECT_ROOT), "worktree", "remove", "--force", str(where)],
                           capture_output=True, check=False)


def once(code: Path, config: Path, repo: Path, args: list[str], cwd: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of gitops from checkout ``code``."""
    env = dict(os.environ, **GIT_IDENTITY, PYTHONPATH=str(code))
    settle()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run([sys.executable, "-m", "generator.cli", "--config", str(config), "--repo", str(repo), *args],
        env=env, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def compare(before: str, after: str, regions: int, runs: int, work: Path) -> list[str]:
    with checkouts(before, after, work) as sides:
        config = write_config(regions, work / "fleet" / "config")
        repo = work / "fleet" / "repo"
        log(f"rendering {regions} regions with {after}")
        once(sides["after"], config, repo, ["render"], work)
        rows = ["| command | before | after | after / before |", "| --- | --- | --- | --- |"]
        for command in COMMANDS:
            cpu: dict[str, list[float]] = {"before": [], "after": []}
            wall: dict[str, list[float]] = {"before": [], "after": []}
            for _ in range(runs):
                for side, code in sides.items():
                    target = repo
                    if command.commits:
                        target = work / "copy"
                        shutil.rmtree(target, ignore_errors=True)
                        shutil.copytree(repo, target, symlinks=True)
                    seconds, elapsed = once(code, config, target, command.args, work)
                    cpu[side].append(seconds)
                    wall[side].append(elapsed)
            b, a = statistics.mean(cpu["before"]), statistics.mean(cpu["after"])
            cells = [f"{statistics.mean(cpu[s]):.2f} ({statistics.mean(wall[s]):.2f} s wall)" for s in sides]
            rows.append(f"| {command.label} | {cells[0]} | {cells[1]} | {a / b:.2f} |")
            log(rows[-1])
        return rows


Measure = Callable[[str, str, int, int, Path], list[str]]


def before_after(argv: list[str] | None, name: str, doc: str | None, runs: int, measure: Measure) -> int:
    """The command line of a before/after benchmark (this one, startup.py): parse it, run
    ``measure(before, after, regions, runs, work)``, print its markdown rows."""
    parser = argparse.ArgumentParser(prog=name, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", help="the revision to compare against (a commit, branch or tag)")
    parser.add_argument("after", help="the revision measured")
    parser.add_argument("--regions", type=int, default=1000, help="production regions of the fleet (1000)")
    parser.add_argument("--runs", type=int, default=runs, help=f"runs of each command by each side ({runs})")
    parser.add_argument("--work", type=Path, help="keep the worktrees and the fleet here (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.regions < 1 or args.runs < 1:
        parser.error("--regions and --runs must be at least 1")
    try:
        if args.work:
            args.work.mkdir(parents=True, exist_ok=True)
            rows = measure(args.before, args.after, args.regions, args.runs, args.work.resolve())
        else:
            with tempfile.TemporaryDirectory(prefix=f"gitops-{name}-") as tmp:
                rows = measure(args.before, args.after, args.regions, args.runs, Path(tmp))
    except BenchmarkError as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        return 1
    print("\n".join(rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    return before_after(argv, "compare", __doc__, 4, compare)


if __name__ == "__main__":
    sys.exit(main())
