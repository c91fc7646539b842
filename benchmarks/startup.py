"""Start-up and shell completion, before/after: what a change costs every command's start-up
(``--version``, the read-only commands of issue 17), and what one <TAB> takes at the example's
size and at N regions (issue 16's completion).

    python benchmarks/startup.py a86b92b~1 a86b92b            # 20 runs each, 1000 regions
    python benchmarks/startup.py BEFORE AFTER --regions 100 --runs 10

Each revision runs from a git worktree (``compare.checkout``), its modules compiled first (a
fresh checkout has no bytecode, and with PYTHONDONTWRITEBYTECODE set every run would compile
what it imports), in turn, on the same two repos:
the shipped example and synth.py's fleet, both rendered by AFTER (one read also runs from the
example's config dir with neither --config nor --repo, as a person in it types it). A completion request is the
process bash starts on <TAB>: `gitops` with _GITOPS_COMPLETE=complete_bash, COMP_WORDS and
COMP_CWORD set (typer's protocol); a revision without completion answers with an error, so its
cells are left empty. Figures: CPU seconds (user + system) and wall seconds of the process,
medians of the runs; the modules `--version` imports (python -X importtime); the floor, the
same interpreter running `pass` and `import typer`. Prints a markdown table; writes nothing else.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BenchmarkError, log, run  # noqa: E402
from compare import before_after, checkouts  # noqa: E402
from synth import GIT_IDENTITY, region_name, write_config  # noqa: E402

EXAMPLE_PARTS = ("gitops.yaml", "templates", "environments", "regions", "filters.yaml")


@dataclass(frozen=True)
class Measure:
    label: str
    args: list[str]
    fleet: str = "example"  # or "fleet": the N-region one
    completes: bool = False  # a completion request: args are the words on the command line
    in_config: bool = False  # run from the config dir, no --config or --repo (gitops.yaml's repo:)


def measures(regions: int) -> list[Measure]:
    one, prefix = f"traderx-prod-{region_name(1, regions)}", f"traderx-prod-{region_name(1, regions)[:2]}"
    return [
        Measure("`gitops --version`", ["--version"]),
        Measure("`gitops unit list --space traderx-prod-eu`", ["unit", "list", "--space", "traderx-prod-eu"]),
        Measure("`gitops unit list --space traderx-prod-eu -o json`",
                ["unit", "list", "--space", "traderx-prod-eu", "-o", "json"]),
        Measure("`gitops space list`", ["space", "list"]),
        Measure("`gitops unit list --space traderx-prod-eu`, run from the config dir (no --repo)",
                ["unit", "list", "--space", "traderx-prod-eu"], in_config=True),
        Measure("`gitops unit get --space traderx-prod-eu trade-service`",
                ["unit", "get", "--space", "traderx-prod-eu", "trade-service"]),
        Measure("`gitops history --space traderx-prod-eu trade-service`",
                ["history", "--space", "traderx-prod-eu", "trade-service"]),
        Measure("`gitops audit`", ["audit"]),
        Measure("`gitops status --help`", ["status", "--help"]),
        Measure("<TAB> `gitops unit get --space traderx-prod-eu trade-`",
                ["unit", "get", "--space", "traderx-prod-eu", "trade-"], completes=True),
        Measure(f"<TAB> `gitops unit get --space {one} trade-` ({regions} regions)",
                ["unit", "get", "--space", one, "trade-"], "fleet", completes=True),
        Measure(f"<TAB> `gitops unit get trade-` ({regions} regions: every space's units)",
                ["unit", "get", "trade-"], "fleet", completes=True),
        Measure(f"<TAB> `gitops overrides --space {prefix}` ({regions} regions)",
                ["overrides", "--space", prefix], "fleet", completes=True),
    ]


@dataclass
class Figures:
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    def cell(self) -> str:
        if not self.cpu:
            return "—"
        return f"{statistics.median(self.cpu):.3f} ({statistics.median(self.wall):.3f} s wall)"


def _shell(repo: Path, measure: Measure) -> dict[str, str]:
    """What bash sets for a completion request (none for a plain command)."""
    if not measure.completes:
        return {}
    words = ["gitops", "--repo", str(repo), *measure.args]
    return {"_GITOPS_COMPLETE": "complete_bash", "COMP_WORDS": " ".join(words), "COMP_CWORD": str(len(words) - 1)}


def timed(code: Path, config: Path, repo: Path, measure: Measure, cwd: Path) -> tuple[float, float, list[str]] | None:
    """(CPU, wall seconds, what it printed) of one run of checkout ``code``; None when a
    revision has no completion to ask. No settling between runs: start-up reads little, and
    the runs alternate between the sides, so a busy moment falls on both."""
    argv = ([] if measure.completes else measure.args if measure.in_config
            else ["--config", str(config), "--repo", str(repo), *measure.args])
    env = dict(os.environ, **GIT_IDENTITY, **_shell(repo, measure), PYTHONPATH=str(code))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "generator.cli", *argv], env=env,
                          cwd=config if measure.in_config else cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        if measure.completes:
            return None
        raise BenchmarkError(f"{measure.label} exited {proc.returncode}: {proc.stderr.strip()}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall, proc.stdout.split()


def imported_modules(code: Path, cwd: Path) -> int:
    """How many modules `gitops --version` imports."""
    proc = run([sys.executable, "-X", "importtime", "-m", "generator.cli", "--version"],
               env=dict(os.environ, PYTHONPATH=str(code)), cwd=cwd)
    return sum(line.startswith("import time:") for line in proc.stderr.splitlines()) - 1  # the header


FLOORS = (("`python -c pass` (the interpreter)", "pass"),
          ("`python -c 'import typer'` (the interpreter and typer)", "import typer"))


def floor(statement: str, runs: int, cwd: Path) -> Figures:
    """CPU and wall seconds of the interpreter running one statement: what no gitops command
    can go below (the interpreter, site's .pth files, and what the statement imports)."""
    figures = Figures()
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], cwd=cwd, check=True)
        figures.wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        figures.cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return figures


def _render(code: Path, config: Path, repo: Path, cwd: Path) -> None:
    run([sys.executable, "-m", "generator.cli", "--config", str(config), "--repo", str(repo), "render"],
        env=dict(os.environ, **GIT_IDENTITY, PYTHONPATH=str(code)), cwd=cwd)


def compare(before: str, after: str, regions: int, runs: int, work: Path) -> list[str]:
    with checkouts(before, after, work) as sides:
        for code in sides.values():  # as installed: bytecode cached, even if PYTHONDONTWRITEBYTECODE
            run([sys.executable, "-m", "compileall", "-q", str(code / "generator")], cwd=work)
        fleets = {"example": work / "example" / "config", "fleet": work / "fleet" / "config"}
        fleets["example"].mkdir(parents=True, exist_ok=True)
        for part in EXAMPLE_PARTS:
            source = sides["after"] / part
            if source.is_dir():
                shutil.copytree(source, fleets["example"] / part, dirs_exist_ok=True)
            elif source.exists():
                shutil.copy(source, fleets["example"] / part)
        write_config(regions, fleets["fleet"], source=sides["after"])
        for name, config in fleets.items():
            log(f"rendering {name} with {after}")
            _render(sides["after"], config, config.parent / "repo", work)
        (fleets["example"] / "manifests").symlink_to(fleets["example"].parent / "repo")  # its gitops.yaml's repo:

        rows = [f"| measure | before ({before}) | after ({after}) | after / before | candidates |",
                "| --- | --- | --- | --- | --- |",
                f"| modules `--version` imports | {imported_modules(sides['before'], work)} | "
                f"{imported_modules(sides['after'], work)} | | |"]
        for label, statement in FLOORS:
            rows.append(f"| floor: {label} | {floor(statement, runs, work).cell()} | | | |")
            log(rows[-1])
        for measure in measures(regions):
            config = fleets[measure.fleet]
            repo = config.parent / "repo"
            figures = {side: Figures() for side in sides}
            answers: list[str] = []
            for _ in range(runs):
                for side, code in sides.items():
                    done = timed(code, config, repo, measure, work)
                    if done is not None:
                        figures[side].cpu.append(done[0])
                        figures[side].wall.append(done[1])
                        answers = done[2]
            b, a = figures["before"], figures["after"]
            ratio = f"{statistics.median(a.cpu) / statistics.median(b.cpu):.2f}" if b.cpu and a.cpu else ""
            count = str(len(answers)) if measure.completes and a.cpu else ""
            rows.append(f"| {measure.label} | {b.cell()} | {a.cell()} | {ratio} | {count} |")
            log(rows[-1])
        return rows


def main(argv: list[str] | None = None) -> int:
    return before_after(argv, "startup", __doc__, 20, compare)


if __name__ == "__main__":
    sys.exit(main())
