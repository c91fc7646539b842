"""The benchmark harness: gitops at fleet scale, against `kubectl kustomize` doing the same job.

    python benchmarks/run.py [--regions 6,100,1000] [--out benchmarks/RESULTS.md]

For each fleet size N it writes a synthetic fleet (benchmarks/synth.py) into a temp dir and runs
the measurements in MEASUREMENTS, in order, on it. A measurement is a small function taking the
shared Fleet and returning Rows; it may leave state behind for the next one (the first render
makes the repo the no-op render works on). A check that fails marks its Row (the other
measurements still run); an error that leaves nothing to measure raises BenchmarkError and ends
that fleet. Add a measurement by writing one more function and listing it. The results go to a
Markdown file: a summary table (the figures in SUMMARY) and every row.
"""

from __future__ import annotations

import argparse
import json
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster  # noqa: E402
import cluster_latency  # noqa: E402
import synth  # noqa: E402
from common import (BenchmarkError, Row, fmt_seconds, log, median_of, run,  # noqa: E402
                    settle, timed)

HERE = Path(__file__).resolve().parent


@dataclass
class Fleet:
    """One fleet size and everything the measurements share for it."""

    n: int
    root: Path
    gitops: list[str]
    kubectl: str
    source: Path
    config: Path = field(init=False)
    repo: Path = field(init=False)
    kustomize: Path = field(init=False)
    project: str = "traderx"
    overlays: list[Path] = field(default_factory=list)
    repeat: int = 3  # gitops timings: the median of this many runs (kustomize, at ~3 min, runs once)

    def __post_init__(self) -> None:
        self.config = self.root / "config"
        self.repo = self.root / "repo"
        self.kustomize = self.root / "kustomize"


Measurement = Callable[[Fleet], list[Row]]


# --- helpers --------------------------------------------------------------------------------


def gitops(fleet: Fleet, *args: str, check: bool = True,
           repo: Path | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    argv = [*fleet.gitops, "--config", str(fleet.config), "--repo", str(repo or fleet.repo), *args]
    return timed(argv, env=synth.gitops_env(), check=check)


def commit_count(repo: Path) -> int:
    return int(run(["git", "-C", str(repo), "rev-list", "--count", "HEAD"]).stdout.strip())


def _gc_running(repo: Path) -> bool:
    """Is a `git gc` / `git maintenance` process working in REPO (or holding its gc.pid)?"""
    if (repo / ".git" / "gc.pid").exists():
        return True
    prefix = str(repo.resolve())
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if not (argv and argv[0].endswith(b"git") and {b"gc", b"maintenance"} & set(argv)):
                continue
            if os.readlink(proc / "cwd").startswith(prefix):
                return True
        except OSError:
            continue
    return False


def wait_for_background_gc(repo: Path, limit: float = 300.0) -> float:
    """Wait while a detached `git gc --auto` (started by a big commit) still runs.

    It competes for the 2 cores with whatever is timed next; DESIGN.md measured ~14 s for it
    after a first commit of ~20,000 objects. Returns the time waited.
    """
    start = time.perf_counter()
    time.sleep(0.3)  # the detached gc needs a moment to write its gc.pid
    while _gc_running(repo) and time.perf_counter() - start < limit:
        time.sleep(0.2)
    return time.perf_counter() - start


def space_files(repo: Path) -> dict[str, list[Path]]:
    spaces = repo / "spaces"
    return {d.name: sorted(d.glob("*.yaml")) for d in sorted(spaces.iterdir()) if d.is_dir()}


# --- measurements ---------------------------------------------------------------------------


def load_average(fleet: Fleet) -> list[Row]:
    """Not a timing: how busy the machine was as this fleet started (the figures assume idle)."""
    one, five, _ = os.getloadavg()
    return [Row("machine.load", None, f"load average {one:.2f} (1 min), {five:.2f} (5 min) at the start")]


def gitops_first_render(fleet: Fleet) -> list[Row]:
    """`gitops render` into a repo that does not exist yet: every file written, one commit."""
    log(f"  gitops render (first) of {fleet.n} regions, {fleet.repeat} time(s) into new repos ...")
    times = []
    for attempt in range(1, fleet.repeat):  # extra tries into repos of their own, kept till the end
        spent, _ = gitops(fleet, "render", repo=fleet.root / f"repo-try{attempt}")
        wait_for_background_gc(fleet.root / f"repo-try{attempt}")
        times.append(spent)
    spent, _ = gitops(fleet, "render", "-m", f"benchmark: first render of {fleet.n} regions")
    seconds, spread = median_of([*times, spent])
    spaces = space_files(fleet.repo)
    files = sum(len(v) for v in spaces.values())
    prod = [s for s in spaces if s.startswith(f"{fleet.project}-prod-")]
    if len(prod) != fleet.n:
        raise BenchmarkError(f"expected {fleet.n} {fleet.project}-prod-* spaces, found {len(prod)}")
    commits = commit_count(fleet.repo)
    log(f"    {seconds:.2f} s ({spread}): {len(spaces)} spaces, {files} files, {commits} commit(s)")
    gc_wait = wait_for_background_gc(fleet.repo)
    rows = [Row("gitops.render.first", seconds,
                f"{len(spaces)} spaces, {files} unit files, {commits} commit(s); {spread}", files)]
    if gc_wait > 1.0:
        log(f"    waited {gc_wait:.1f} s for git's background gc")
        rows.append(Row("git.gc.background-wait", gc_wait, "not part of the render time above"))
    return rows


def gitops_noop_render(fleet: Fleet) -> list[Row]:
    """A second `gitops render` with nothing changed: must not commit."""
    before = commit_count(fleet.repo)
    seconds, spread = median_of([gitops(fleet, "render")[0] for _ in range(fleet.repeat)])
    after = commit_count(fleet.repo)
    dirty = run(["git", "-C", str(fleet.repo), "status", "--porcelain"]).stdout.splitlines()
    problems = []
    if after != before:
        changed = run(["git", "-C", str(fleet.repo), "diff", "--stat", "HEAD~1", "HEAD"]).stdout.splitlines()
        problems.append(f"made {after - before} commit(s): {changed[-1].strip() if changed else '?'}")
    if dirty:
        problems.append(f"left {len(dirty)} uncommitted change(s), e.g. {dirty[0].strip()}")
    if problems:
        log(f"  gitops render (no-op): {seconds:.2f} s, FAILED: {'; '.join(problems)}")
        wait_for_background_gc(fleet.repo)
        return [Row("gitops.render.noop", seconds, "", failure="; ".join(problems))]
    log(f"  gitops render (no-op): {seconds:.2f} s ({spread}), no commit")
    return [Row("gitops.render.noop", seconds, f"no commit, clean tree; {spread}")]


def verdict(key: str, label: str, seconds: float, problem: str | None, detail: str) -> list[Row]:
    """One timed row: logged and reported as passed (with ``detail``) or failed (``problem``)."""
    if problem:
        log(f"  {label}: {seconds:.2f} s, FAILED: {problem}")
        return [Row(key, seconds, "", failure=problem)]
    log(f"  {label}: {seconds:.2f} s, {detail}")
    return [Row(key, seconds, detail)]


def gitops_render_check(fleet: Fleet) -> list[Row]:
    """`gitops render --check` on the up-to-date repo: exit 0, nothing written."""
    seconds, proc = gitops(fleet, "render", "--check", check=False)
    problem = (f"exit {proc.returncode}: {(proc.stderr or proc.stdout).strip()[:300]}"
               if proc.returncode != 0 else None)
    return verdict("gitops.render.check", "gitops render --check", seconds, problem, "exit 0")


def _edited(path: Path, old: str, new: str) -> str:
    """Change ``old`` to ``new`` once in ``path``; return the text as it was, to put back."""
    text = path.read_text()
    if old not in text:
        raise BenchmarkError(f"{path}: {old!r} not found")
    path.write_text(text.replace(old, new, 1))
    return text


def gitops_dry_run_one_field(fleet: Fleet) -> list[Row]:
    """One region's trade-service replicas edited, then `render --dry-run -o markdown`: the pull
    request's preview, end to end; it must name the unit and write nothing. The edit is undone."""
    region = fleet.config / "regions" / f"{synth.region_name(2, fleet.n)}.yaml"
    line = next(ln for ln in region.read_text().splitlines() if ln.startswith("  trade-service: "))
    text = _edited(region, line, f"  trade-service: {int(line.split(': ')[1]) % 9 + 1}")
    head = git_out(fleet, "rev-parse", "HEAD")
    try:
        seconds, spread = median_of([gitops(fleet, "render", "--dry-run", "-o", "markdown")[0]
                                     for _ in range(fleet.repeat)])
        _, proc = gitops(fleet, "render", "--dry-run", "-o", "markdown")
    finally:
        region.write_text(text)
    space = f"{fleet.project}-prod-{synth.region_name(2, fleet.n)}"
    problem = None
    if f"<code>{space}</code>: 1 changed" not in proc.stdout or git_out(fleet, "rev-parse", "HEAD") != head:
        problem = f"expected a comment naming {space}/trade-service and no commit"
    return verdict("gitops.render.dry-run.one-field", "gitops render --dry-run -o markdown (one field)",
                   seconds, problem, f"{len(proc.stdout):,} characters of comment; {spread}")


def gitops_dry_run_base_change(fleet: Fleet) -> list[Row]:
    """A base change that reaches every region (trade-service's image repository in the
    templates' values), previewed as a comment: its size must stay under GitHub's 65,536
    characters however many regions it touches; the full report goes to a file. Undone after."""
    values = fleet.config / "templates" / "values.yaml"
    text = _edited(values, "    image: traderx/trade-service\n", "    image: traderx/trade-service-next\n")
    full = fleet.root / "preview-full.md"
    try:
        seconds, proc = gitops(fleet, "render", "--dry-run", "-o", "markdown", "--full-report", str(full))
    finally:
        values.write_text(text)
    size, full_size = len(proc.stdout), len(full.read_text())
    problem = None
    if size > 65_536 or "traderx/trade-service-next" not in proc.stdout:
        problem = f"comment of {size:,} characters (limit 65,536), or the change is not in it"
    truncated = "truncated" if "**Truncated**" in proc.stdout else "whole"
    return verdict("gitops.render.dry-run.base-change", "gitops render --dry-run -o markdown (base change, all regions)",
                   seconds, problem, f"comment {size:,} characters ({truncated}), full report "
                   f"{full_size:,} characters; {fleet.n + 3} spaces changed")


def gitops_one_region_render(fleet: Fleet) -> list[Row]:
    """One region's replicas edited, then `gitops render`: one commit of exactly that unit and
    its space record, in a time that must not grow with the size of the fleet."""
    name = synth.region_name(1, fleet.n)  # r0001, or r00001 at 10,000 regions
    region = fleet.config / "regions" / f"{name}.yaml"
    text = region.read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("  trade-service: "))
    replicas = int(line.split(": ")[1])
    region.write_text(text.replace(line, f"  trade-service: {replicas % 9 + 1}", 1))
    before = commit_count(fleet.repo)
    seconds, _ = gitops(fleet, "render", "-m", "benchmark: one region edited")
    changed = run(["git", "-C", str(fleet.repo), "show", "--name-only", "--format=", "HEAD"]).stdout.split()
    space = f"{fleet.project}-prod-{name}"
    expected = [f".gitops/spaces/{space}.json", f"spaces/{space}/trade-service.yaml"]
    problem = None
    if commit_count(fleet.repo) != before + 1 or changed != expected:
        problem = f"expected one commit of {expected}, got {commit_count(fleet.repo) - before} touching {changed[:5]}"
    return verdict("gitops.render.one-region", "gitops render (one region edited)", seconds, problem,
                   "1 commit: the unit and its space record")


def gitops_upgrade_all(fleet: Fleet) -> list[Row]:
    """One base field changed (trade-service's image), then `gitops upgrade --space '*'`: every
    region's trade-service is merged and committed; nothing else is read or written."""
    patch = ('{"spec":{"template":{"spec":{"containers":'
             '[{"name":"trade-service","image":"traderx/trade-service:v2"}]}}}}')
    gitops(fleet, "unit", "update", "trade-service", "--space", f"{fleet.project}-base", "--patch", patch)
    before = commit_count(fleet.repo)
    seconds, proc = gitops(fleet, "upgrade", "--space", "*", "-o", "json")
    report = json.loads(proc.stdout)
    merged = len(report["units"])
    expected = fleet.n + 2  # every prod region, dev and staging
    problem = None
    if commit_count(fleet.repo) != before + 1 or merged != expected or report["conflicts"]:
        problem = (f"expected one commit of {expected} units and no conflict, got "
                   f"{commit_count(fleet.repo) - before} commit(s), {merged} units, "
                   f"{len(report['conflicts'])} conflicts")
    rate = merged / seconds if seconds else 0.0
    return verdict("gitops.upgrade.one-base-field", "gitops upgrade --space '*' (one base field)",
                   seconds, problem, f"{merged} units merged and committed: {rate:,.0f} merges/s")


QUERY = "spec.replicas > 2 AND Labels.layer = 'backend'"
NEW_PATH_QUERY = "spec.strategy.rollingUpdate.maxSurge >= 1 AND Space.Labels.environment = 'prod'"
INDEX = Path(".git") / "gitops" / "where.sqlite"


def _query(fleet: Fleet, clause: str, env: dict[str, str] | None = None) -> tuple[float, int]:
    argv = [*fleet.gitops, "--config", str(fleet.config), "--repo", str(fleet.repo),
            "unit", "list", "--space", "*", "--where", clause, "-o", "json"]
    seconds, proc = timed(argv, env={**synth.gitops_env(), **(env or {})}, check=True)
    return seconds, len(json.loads(proc.stdout))


def gitops_query(fleet: Fleet) -> list[Row]:
    """A fleet-wide WHERE query: the first builds the field index (every manifest parsed once),
    the next ones answer from it (median); the same clause unit by unit (GITOPS_FIELD_INDEX=off,
    what every query cost before the index), once; and a text search against `git grep`, what a
    user would otherwise run for it."""
    (fleet.repo / INDEX).unlink(missing_ok=True)
    first, found = _query(fleet, QUERY)
    log(f"  gitops unit list --where (first: builds the index): {first:.2f} s, {found} units")
    warm = [_query(fleet, QUERY) for _ in range(fleet.repeat)]
    seconds, spread = median_of([t for t, _ in warm])
    log(f"  gitops unit list --where (index): {seconds:.2f} s ({spread})")
    slow, slow_found = _query(fleet, QUERY, {"GITOPS_FIELD_INDEX": "off"})
    log(f"  gitops unit list --where (unit by unit): {slow:.2f} s")
    problem = None if found and {f for _, f in warm} == {found} == {slow_found} else \
        f"found {found} (first), {sorted({f for _, f in warm})} (index), {slow_found} (unit by unit)"
    new_path, new_found = _query(fleet, NEW_PATH_QUERY)  # a question on paths not asked before
    log(f"  gitops unit list --where \"{NEW_PATH_QUERY}\" (first time: keeps the path's values): "
        f"{new_path:.2f} s, {new_found} units")
    if not new_found and problem is None:
        problem = f"--where \"{NEW_PATH_QUERY}\" found nothing"
    text = "Data CONTAINS 'traderx/trade-service:v2'"
    data_times = [_query(fleet, text) for _ in range(fleet.repeat)]
    data_seconds, data_spread = median_of([t for t, _ in data_times])
    grep_seconds, grep = timed(["git", "-C", str(fleet.repo), "grep", "-l", "-F", "traderx/trade-service:v2",
                                "HEAD", "--", "spaces"], check=False)
    grep_found = len(grep.stdout.splitlines())
    if data_times[0][1] != grep_found and problem is None:
        problem = f"Data CONTAINS found {data_times[0][1]} units, git grep {grep_found} files"
    log(f"  gitops unit list --where \"{text}\": {data_seconds:.2f} s; git grep -l: {grep_seconds:.2f} s")
    return [
        *verdict("gitops.query.where", f"gitops unit list --space '*' --where \"{QUERY}\"",
                 seconds, problem, f"{found} units found, from the field index; {spread}; "
                 f"unit by unit {slow / seconds:.1f}x slower"),
        Row("gitops.query.where.first", first, f"the first query: builds the field index ({found} units found); 1 run"),
        Row("gitops.query.where.new-path", new_path, f"--where \"{NEW_PATH_QUERY}\", a path not asked for "
            f"before: its values taken out of every manifest once ({new_found} units); 1 run"),
        Row("gitops.query.where.unindexed", slow, f"GITOPS_FIELD_INDEX=off: unit by unit, manifests parsed as "
            f"needed (what every query cost before the index); 1 run"),
        Row("gitops.query.data", data_seconds, f"--where \"{text}\": {data_times[0][1]} units; {data_spread}"),
        Row("git.grep", grep_seconds, f"git grep -l -F of the same text at HEAD: {grep_found} files; "
            f"ratio git/gitops {grep_seconds / data_seconds:.2f}"),
    ]


def gitops_query_after_run(fleet: Fleet) -> list[Row]:
    """The query again right after `run` changed N + 3 units: the index is brought to HEAD by
    parsing those alone."""
    seconds, found = _query(fleet, QUERY)
    log(f"  gitops unit list --where after the run (index brought along): {seconds:.2f} s")
    return [Row("gitops.query.where.after-change", seconds,
                f"first query after `run` changed {fleet.n + 3} units: the index parses those alone; "
                f"{found} units; 1 run")]


def gitops_run_everywhere(fleet: Fleet) -> list[Row]:
    """`gitops run set-image-reference` over every unit of every space: one commit."""
    before = commit_count(fleet.repo)
    seconds, proc = gitops(fleet, "run", "set-image-reference", "--container-name", "web-gui",
                           "--image-reference", ":v9", "--space", "*", "-o", "json")
    changed = len(json.loads(proc.stdout)["units"])
    expected = fleet.n + 3  # web-gui in every prod region, dev, staging and the base
    problem = None
    if changed != expected or commit_count(fleet.repo) != before + 1:
        problem = f"expected one commit of {expected} units, got {changed} units"
    return verdict("gitops.run.set-image-reference", "gitops run set-image-reference --space '*'",
                   seconds, problem, f"{changed} units changed in one commit")


def git_out(fleet: Fleet, *args: str) -> str:
    return run(["git", "-C", str(fleet.repo), *args]).stdout.strip()


def gitops_changeset_apply(fleet: Fleet) -> list[Row]:
    """A changeset setting trade-service's image in every prod region, opened, edited, then main
    moves (one region's replicas) and the changeset is applied: every unit merged onto the moved
    main as one commit. Compared with what a user would otherwise do, `git merge --no-ff` of the
    same branch (a merged pull request), timed on the same repo and then undone; the two trees
    must be equal."""
    name = "bench-image"
    gitops(fleet, "changeset", "create", name, "--reason", "benchmark")
    edit, proc = gitops(fleet, "run", "set-image-reference", "--container-name", "trade-service",
                        "--image-reference", ":v7", "--space", f"{fleet.project}-prod-*",
                        "--changeset", name, "-o", "json")
    edited = len(json.loads(proc.stdout)["units"])
    gitops(fleet, "run", "set-replicas", "--replicas", "4", "--space", f"{fleet.project}-prod-{synth.region_name(1, fleet.n)}",
           "--unit", "trade-service")
    main = git_out(fleet, "rev-parse", "HEAD")
    settle()
    merge_seconds, merged = timed(["git", "-C", str(fleet.repo), "merge", "--no-ff", "-q", "-m",
                                   "Merge pull request", f"changeset/{name}"], check=False)
    merge_tree = git_out(fleet, "rev-parse", "HEAD^{tree}") if merged.returncode == 0 else None
    run(["git", "-C", str(fleet.repo), "reset", "-q", "--hard", main])  # the benchmark's own undo
    settle()
    seconds, proc = gitops(fleet, "changeset", "apply", name, "-o", "json")
    applied = len(json.loads(proc.stdout)["units"])
    problem = None
    if git_out(fleet, "rev-parse", "HEAD^") != main or applied != fleet.n:
        problem = f"expected one commit of {fleet.n} units on main, got {applied} units"
    elif merge_tree is not None and git_out(fleet, "rev-parse", "HEAD^{tree}") != merge_tree:
        problem = "the applied tree differs from git merge's"
    ratio = merge_seconds / seconds if seconds else 0.0
    merge_note = (f"git merge --no-ff of the branch: {merge_seconds:.2f} s, same tree"
                  if merge_tree else f"git merge failed: {merged.stderr.strip()[:200]}")
    return [
        *verdict("gitops.changeset.edit", "gitops run ... --changeset (edit on the branch)", edit,
                 None if edited == fleet.n else f"{edited} units edited", f"{edited} units, main untouched"),
        *verdict("gitops.changeset.apply", "gitops changeset apply (main moved meanwhile)", seconds,
                 problem, f"{applied} units merged onto main in one commit; {merge_note}; "
                          f"ratio git/gitops {ratio:.2f}"),
        Row("git.merge", merge_seconds, "git merge --no-ff of the same branch (for comparison)"),
    ]


def gitops_history_and_audit(fleet: Fleet) -> list[Row]:
    """Reading the trail back: one unit's history, the whole audit, and a one-unit rollback."""
    space = f"{fleet.project}-prod-{synth.region_name(1, fleet.n)}"
    h_seconds, proc = gitops(fleet, "history", "trade-service", "--space", space, "-o", "json")
    revisions = len(json.loads(proc.stdout))
    a_seconds, proc = gitops(fleet, "audit", "-o", "json")
    changes = len(json.loads(proc.stdout))
    commits = commit_count(fleet.repo)
    r_seconds, proc = gitops(fleet, "rollback", "trade-service", "--space", space, "--revision", "-1",
                             "-o", "json")
    rolled = json.loads(proc.stdout)["units"]
    return [
        *verdict("gitops.history", "gitops history (one unit)", h_seconds,
                 None if revisions else "no revisions", f"{revisions} revisions"),
        *verdict("gitops.audit", "gitops audit (whole history)", a_seconds,
                 None if changes == commits else f"{changes} rows for {commits} commits",
                 f"{changes} commits read back from their trailers"),
        *verdict("gitops.rollback.unit", "gitops rollback UNIT --revision -1", r_seconds,
                 None if rolled == [f"{space}/trade-service"] else f"rolled back {rolled}",
                 "one unit restored as a new commit"),
    ]


def kustomize_tree(fleet: Fleet) -> list[Row]:
    """Write the equivalent kustomize tree, its base taken from the repo gitops just rendered."""
    base = fleet.repo / "spaces" / f"{fleet.project}-base"
    fleet.overlays = synth.write_kustomize(fleet.config, base, fleet.kustomize)
    log(f"  kustomize tree: base + {len(fleet.overlays)} overlays")
    return []


def kustomize_all_overlays(fleet: Fleet) -> list[Row]:
    """`kubectl kustomize overlays/<region>` for every region, one process each, output to a file."""
    out_dir = fleet.kustomize / "out"
    out_dir.mkdir(exist_ok=True)
    total = len(fleet.overlays)
    log(f"  kubectl kustomize x {total} ...")
    step = max(1, total // 10)
    settle()
    start = time.perf_counter()
    for i, overlay in enumerate(fleet.overlays, 1):
        with open(out_dir / f"{overlay.name}.yaml", "w", encoding="utf-8") as out:
            proc = subprocess.run([fleet.kubectl, "kustomize", str(overlay)], stdout=out,
                                  stderr=subprocess.PIPE, text=True, check=False)
        if proc.returncode != 0:
            raise BenchmarkError(f"kubectl kustomize {overlay} exited {proc.returncode}: {proc.stderr.strip()}")
        if i % step == 0 or i == total:
            elapsed = time.perf_counter() - start
            log(f"    {i}/{total} overlays, {elapsed:.1f} s, ~{elapsed / i * (total - i):.0f} s to go")
    seconds = time.perf_counter() - start
    return [Row("kustomize.all", seconds, f"{total} processes, {seconds / total * 1000:.0f} ms each", total)]


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two parsed YAML values differ; maps compare key by key (their order is ignored)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            p = f"{path}.{key}"
            if key not in a:
                out.append(f"{p}: only in gitops: {b[key]!r}")
            elif key not in b:
                out.append(f"{p}: only in kustomize: {a[key]!r}")
            else:
                out.extend(_diff(a[key], b[key], p))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path or '.'}: kustomize {a!r} != gitops {b!r}"]


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    return (obj.get("kind", "?"), obj.get("metadata", {}).get("name", "?"))


def compare_overlay(kustomize_output: Path, space_dir: Path) -> list[str]:
    ours = {_key(o): o for o in synth.load_yaml_all(kustomize_output.read_text(encoding="utf-8"))}
    theirs = {_key(o): o for o in (synth.load_yaml(p) for p in sorted(space_dir.glob("*.yaml")))}
    problems = [f"{k[0]}/{k[1]}: only in kustomize output" for k in sorted(set(ours) - set(theirs))]
    problems += [f"{k[0]}/{k[1]}: only in gitops space" for k in sorted(set(theirs) - set(ours))]
    for k in sorted(set(ours) & set(theirs)):
        problems += [f"{k[0]}/{k[1]} {d}" for d in _diff(ours[k], theirs[k])]
    return problems


def kustomize_matches_gitops(fleet: Fleet) -> list[Row]:
    """Every overlay's objects (as parsed) equal those of gitops's space for that region."""
    out_dir = fleet.kustomize / "out"
    mismatched: dict[str, list[str]] = {}
    for overlay in fleet.overlays:
        space = fleet.repo / "spaces" / f"{fleet.project}-prod-{overlay.name}"
        problems = compare_overlay(out_dir / f"{overlay.name}.yaml", space)
        if problems:
            mismatched[overlay.name] = problems
    equal = len(fleet.overlays) - len(mismatched)
    log(f"  kustomize output == gitops spaces: {equal}/{len(fleet.overlays)} overlays")
    if mismatched:
        first = next(iter(mismatched))
        shown = "\n".join(f"    {p}" for p in mismatched[first][:20])
        log(shown)
        return [Row("kustomize.equivalent", None, f"{equal}/{len(fleet.overlays)} overlays equal gitops's spaces",
                    failure=f"{len(mismatched)} overlay(s) differ from gitops's spaces; {first}:\n{shown}")]
    return [Row("kustomize.equivalent", None, f"{equal}/{len(fleet.overlays)} overlays equal gitops's spaces")]


MEASUREMENTS: list[Measurement] = [
    load_average,
    gitops_first_render,
    gitops_noop_render,
    gitops_render_check,
    gitops_dry_run_one_field,
    gitops_dry_run_base_change,
    gitops_one_region_render,
    gitops_upgrade_all,
    kustomize_tree,
    kustomize_all_overlays,
    kustomize_matches_gitops,
    gitops_query,
    gitops_run_everywhere,
    gitops_query_after_run,
    gitops_changeset_apply,
    gitops_history_and_audit,
]

# The kustomize comparison (~3 min at 1000 regions); --skip-kustomize leaves these out.
KUSTOMIZE_MEASUREMENTS: list[Measurement] = [kustomize_tree, kustomize_all_overlays, kustomize_matches_gitops]


def measurements(skip_kustomize: bool) -> list[Measurement]:
    """The measurements a run makes, in order: the one place that decides which run."""
    return [m for m in MEASUREMENTS if not (skip_kustomize and m in KUSTOMIZE_MEASUREMENTS)]


# The summary table: column title -> measure key.
SUMMARY = [
    ("gitops first render", "gitops.render.first"),
    ("gitops no-op render", "gitops.render.noop"),
    ("gitops render --check", "gitops.render.check"),
    ("gitops render, one region edited", "gitops.render.one-region"),
    ("gitops render --dry-run -o markdown, one field", "gitops.render.dry-run.one-field"),
    ("gitops upgrade, one base field", "gitops.upgrade.one-base-field"),
    ("gitops unit list --where", "gitops.query.where"),
    ("--where, first (builds the index)", "gitops.query.where.first"),
    ("--where on a path not asked before", "gitops.query.where.new-path"),
    ("--where after the run (index brought along)", "gitops.query.where.after-change"),
    ("--where, unit by unit", "gitops.query.where.unindexed"),
    ("gitops run set-image-reference, all", "gitops.run.set-image-reference"),
    ("gitops changeset apply, all prod", "gitops.changeset.apply"),
    ("git merge of that branch", "git.merge"),
    ("gitops audit", "gitops.audit"),
    ("kustomize total", "kustomize.all"),
]


METHOD = """
For each N, `benchmarks/synth.py` writes a config dir (the project's `gitops.yaml`, `templates/`,
`environments/` and N synthetic production regions with labels, a target context, trade-service
replicas 1-9, `MARKET_REGION` and an ingress host) and, after the first render, a kustomize tree
that makes the same changes: `base/` is gitops's `spaces/traderx-base/`, one overlay per region.
*First render* is `gitops render` into a repo that does not exist yet (all files, metadata, one
commit); *no-op render* repeats it with nothing changed and must make no commit; *one region
edited* changes one region's trade-service replicas and renders: one commit of exactly that unit
and its space record; *upgrade, one base field* patches the base trade-service's image and times
`gitops upgrade --space '*'`, which merges it into every region (N + 2 units, one commit);
*unit list --where* runs `spec.replicas > 2 AND Labels.layer = 'backend'` over every space from
the field index (median), after a first query that builds it and is reported on its own, and
once more unit by unit (`GITOPS_FIELD_INDEX=off`); *Data CONTAINS* is timed beside `git grep -l
-F` of the same text, and the query is timed once more right after the `run` below (the index
brought to HEAD by parsing the units that run changed);
*run set-image-reference, all* sets web-gui's image in every space (N + 3 units, one commit;
it runs after the kustomize comparison, which it would otherwise disturb); *changeset apply,
all prod* opens a changeset, sets trade-service's image in every prod region on it (N units),
moves main (one region's replicas), then applies it: N units merged onto the moved main in one
commit; the same branch merged with `git merge --no-ff` (what merging the pull request does) is
timed on the same repo just before and undone, and the two trees must be equal; *audit* reads
every commit back from its trailers; *render --check* must exit 0. *Kustomize total* runs `kubectl kustomize overlays/<region>` once per region, one
process each, output to a file. Every kustomize output is then parsed and compared with gitops's
`spaces/traderx-prod-<region>/` (objects equal, key order ignored). Times are wall clock
(`time.perf_counter`) around whole processes, each started after `sync` and once the kernel's
I/O pressure (10 s average) is below 0.5%; every gitops figure is
the median of `--repeat` runs (default 3; the spread is in the detail rows), kustomize runs once; a
background `git gc --auto` after the first commit is waited out and not counted, and fleets are
deleted only after the last one (deleting thousands of files slows file creation on ext4 for a
while). The kustomize overlays use JSON patches for the env var and the resources, since a
strategic merge would order or merge them differently from gitops (see benchmarks/README.md);
with that, no field differs.
"""


# --- the report -----------------------------------------------------------------------------


def _first_line(argv: list[str], env: dict[str, str] | None = None) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    return (proc.stdout or proc.stderr).strip().splitlines()[0] if (proc.stdout or proc.stderr).strip() else "?"


def machine(kubectl: str, gitops_cmd: list[str]) -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:"))
        memory = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "?"
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "OS": platform.platform(),
        "python": platform.python_version(),
        "git": _first_line(["git", "--version"]),
        "kubectl": " / ".join(
            line.strip() for line in run([kubectl, "version", "--client"], check=False).stdout.splitlines()),
        "gitops": f"{_first_line([*gitops_cmd, '--version'], synth.gitops_env())} ({' '.join(gitops_cmd)})",
        **({"gitops code": _first_line([gitops_cmd[0], "-c", f"import {package}; print({package}.__file__)"],
                                       synth.gitops_env())}
           if (package := _python_package(gitops_cmd)) else {}),
    }


def _python_package(gitops_cmd: list[str]) -> str | None:
    """The package `python -m PACKAGE.module` runs, to report which checkout's code was measured."""
    if "-m" in gitops_cmd[:-1]:
        return gitops_cmd[gitops_cmd.index("-m") + 1].split(".")[0]
    return None


def _cell(row: Row | None) -> str:
    return "–" if row is None else fmt_seconds(row.seconds) + (" ✗" if row.failure else "")


def report(results: dict[int, list[Row]], info: dict[str, str], failures: dict[int, str], date: str,
           on_cluster: list[str] | None = None, skip_kustomize: bool = False,
           source: Path = synth.PROJECT_ROOT) -> str:
    # With --skip-kustomize the kustomize columns are left out (other missing rows show as –).
    summary = [(title, key) for title, key in SUMMARY if not (skip_kustomize and key.startswith("kustomize."))]
    with_ratio = not skip_kustomize
    flags = " --skip-kustomize" if skip_kustomize else ""
    lines = [
        "# Benchmark results",
        "",
        f"Measured {date} with `python benchmarks/run.py --regions {','.join(map(str, results))}{flags}`.",
        "",
        "| N regions | unit files | " + " | ".join(title for title, _ in summary)
        + (" | kustomize / gitops first |" if with_ratio else " |"),
        "| ---: | ---: | " + " | ".join("---:" for _ in summary) + (" | ---: |" if with_ratio else " |"),
    ]
    for n, rows in results.items():
        by = {r.measure: r for r in rows}

        files = by["gitops.render.first"].count if "gitops.render.first" in by else None
        first = by["gitops.render.first"].seconds if "gitops.render.first" in by else None
        kust = by["kustomize.all"].seconds if "kustomize.all" in by else None
        ratio = f"{kust / first:.1f}×" if first and kust else "–"
        lines.append(f"| {n} | {'–' if files is None else f'{files:,}'} | "
                     + " | ".join(_cell(by.get(k)) for _, k in summary)
                     + (f" | {ratio} |" if with_ratio else " |"))
    lines += ["", (f"*Unit files*: what the first render wrote under `spaces/` "
                   f"({synth.unit_count(source)} each for the base, the N production"),
              "regions, dev and staging). "
              + ("The kustomize measurements were skipped (--skip-kustomize)." if skip_kustomize
                 else "Kustomize builds only the N production overlays.")
              + (" ✗: a check failed (see Failures)." if any(r.failure for rs in results.values() for r in rs)
                 else ""), ""]
    lines += on_cluster or []
    lines += ["## Machine", "", "| | |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    lines += ["", "## Method", "", METHOD.strip(), ""]
    lines += ["## Every measurement", "", "| N | measure | time | detail |", "| ---: | --- | ---: | --- |"]
    for n, rows in results.items():
        lines += [f"| {n} | {r.measure} | {fmt_seconds(r.seconds)} | "
                  f"{'FAILED: ' + r.failure.splitlines()[0] if r.failure else r.detail} |" for r in rows]
    failed = [(n, f"{r.measure}: {r.failure}") for n, rows in results.items() for r in rows if r.failure]
    failed += list(failures.items())
    if failed:
        lines += ["", "## Failures", ""]
        for n, message in failed:
            lines += [f"N = {n}:", "", "```", message, "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--regions", default="6,100,1000", help="fleet sizes, comma-separated (default 6,100,1000)")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md", help="Markdown report to write")
    parser.add_argument("--source", type=Path, default=synth.PROJECT_ROOT,
                        help="config dir whose gitops.yaml, templates/, environments/ are used")
    parser.add_argument("--gitops", help="command to run gitops (default: `gitops`, else python -m generator.cli)")
    parser.add_argument("--kubectl", default="kubectl", help="kubectl binary (>= 1.25, for kustomize)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="run each gitops timing this many times and report the median (default 3)")
    parser.add_argument("--keep", type=Path, help="keep each fleet's files under this dir instead of a temp dir")
    parser.add_argument("--skip-kustomize", action="store_true",
                        help="leave out the kustomize measurements (~3 min at 1000 regions)")
    parser.add_argument("--cluster", choices=("run", "skip", "only"), default="run",
                        help="`gitops apply` vs `kubectl apply` on a cluster: KUBECONFIG's, else "
                             "scripts/test-cluster (started, built if needed); `only` skips the fleets")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="measure the cluster part through a latency proxy adding MS each way "
                             "(benchmarks/cluster_latency.py: the example's space and --units units) "
                             "instead of directly; default 0: directly")
    parser.add_argument("--units", type=int, default=100,
                        help="with --latency-ms, the bigger space's unit count (default 100)")
    args = parser.parse_args(argv)
    try:
        sizes = [] if args.cluster == "only" else [int(s) for s in args.regions.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--regions wants numbers like 6,100,1000, not {args.regions!r}")
    if args.cluster != "only" and (not sizes or min(sizes) < 1):
        parser.error("--regions wants at least one size >= 1")
    kubectl = shutil.which(args.kubectl)
    if not kubectl:
        print(f"run: error: {args.kubectl} not found; install it with scripts/install-kubectl", file=sys.stderr)
        return 1
    gitops_cmd = synth.gitops_argv(args.gitops)
    info = machine(kubectl, gitops_cmd)
    date = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    log(f"machine: {info['CPU']}, {info['cores']} cores, {info['memory']}; {info['kubectl']}")

    results: dict[int, list[Row]] = {}
    failures: dict[int, str] = {}
    # Fleets are removed only at the very end: on ext4, creating files right after deleting a
    # tree of thousands is several times slower for a while, and that would land in the next
    # fleet's first render.
    scratch: list[Path] = []
    try:
        for n in sizes:
            log(f"N = {n} regions")
            try:
                fleet = new_fleet(n, args, gitops_cmd, kubectl, scratch)
            except BenchmarkError as e:
                print(f"run: error: {e}", file=sys.stderr)
                return 1
            results[n] = []
            try:
                synth.write_config(n, fleet.config, args.source)
                for measure in measurements(args.skip_kustomize):
                    results[n].extend(measure(fleet))
            except (BenchmarkError, synth.SynthError, OSError) as e:
                failures[n] = f"{type(e).__name__}: {e}"
                log(f"  FAILED: {e}")
            args.out.write_text(report(results, info, failures, date, skip_kustomize=args.skip_kustomize,
                                       source=args.source), encoding="utf-8")
    finally:
        for path in scratch:
            shutil.rmtree(path, ignore_errors=True)
    on_cluster, cluster_failed = None, False
    if args.cluster != "skip":
        latency = f", +{args.latency_ms:g} ms each way" if args.latency_ms else ""
        log(f"cluster: gitops apply vs kubectl apply{latency}")
        try:
            if args.latency_ms > 0:
                sizes_, floors, where = cluster_latency.measure(gitops_cmd, kubectl, args.source, max(1, args.repeat),
                                                                args.latency_ms, args.units)
                on_cluster = cluster_latency.section(sizes_, floors, where, args.latency_ms, None)
            else:
                rows, where = cluster.measure(gitops_cmd, kubectl, args.source, max(1, args.repeat))
                on_cluster = cluster.section(rows, where, None)
        except BenchmarkError as e:
            failed_section = cluster_latency.section([], {}, "", args.latency_ms, str(e).splitlines()[0]) \
                if args.latency_ms > 0 else cluster.section([], "", str(e).splitlines()[0])
            on_cluster, cluster_failed = failed_section, True
            log(f"  FAILED: {e}")
        args.out.write_text(report(results, info, failures, date, on_cluster, args.skip_kustomize, args.source),
                            encoding="utf-8")
    log(f"wrote {args.out}")
    return 1 if cluster_failed or failures or any(r.failure for rows in results.values() for r in rows) else 0


def new_fleet(n: int, args: argparse.Namespace, gitops_cmd: list[str], kubectl: str,
              scratch: list[Path]) -> Fleet:
    """An empty dir for fleet N: a temp dir, or KEEP/n<N> (an earlier kept one is set aside)."""
    if args.keep:
        root = args.keep / f"n{n}"
        if root.exists() and any(root.iterdir()):
            if not (root / "config" / synth.MARKER).exists():
                raise BenchmarkError(f"{root} exists and is not a fleet this harness kept; remove it")
            old = root.with_name(f"{root.name}.old-{os.getpid()}")
            root.rename(old)
            scratch.append(old)
        root.mkdir(parents=True, exist_ok=True)
    else:
        root = Path(tempfile.mkdtemp(prefix=f"gitops-bench-{n}-"))
        scratch.append(root)
    fleet = Fleet(n=n, root=root, gitops=gitops_cmd, kubectl=kubectl, source=args.source, repeat=max(1, args.repeat))
    fleet.project = (synth.load_yaml(args.source / "gitops.yaml") or {}).get("project", "traderx")
    return fleet


if __name__ == "__main__":
    sys.exit(main())
