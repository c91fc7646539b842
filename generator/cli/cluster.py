"""The commands that talk to clusters: `gitops apply`, `diff`, `status`, `drift`, `destroy`, `worker`.

Typer only: parse, call one entry function (``apply.apply_spaces``, ``drift.diff_spaces``,
``status_spaces``, ``drift_spaces``, ``destroy.destroy_spaces``, ``worker.serve``), present. Operations are imported inside
each command. ``--timeout`` and ``--interval`` are checked when parsed (see options). No loop
over spaces lives here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from generator import durations, output
from generator.cli import complete, present
from generator.cli.app import globals_of
from generator.cli.options import (GlobOpt, IntervalOpt, Kube, OutputOpt, PruneOpt, Selection, on_clusters,
                                   optional, selects)

if TYPE_CHECKING:
    from generator.operations.apply import Report
    from generator.operations.destroy import Destroyed
    from generator.operations.worker import Cycle


def _emit(results: Sequence[Report | Destroyed], scope: str, fmt: str) -> None:
    """-o json|yaml of a command over spaces: a list for a glob, the one space's object else."""
    from generator.model import is_glob  # not at start-up: model's dataclasses cost 12 ms

    output.emit([r.data() for r in results] if is_glob(scope) else results[0].data(), fmt)


@selects
@on_clusters()
def apply(
    ctx: typer.Context,
    *,
    selection: Selection,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Server-side dry run: the cluster checks everything, nothing changes.")] = False,
    prune: PruneOpt = False,
    revision: Annotated[Optional[str], optional(
        "--revision", help="Apply the units as they were at this revision: a number (with --unit the "
        "unit's, as `gitops history` numbers them; else the space's, the commits that changed it; "
        "-1 the one before the newest) or a commit (tag, branch). Main stays as it is; `gitops "
        "status` says live is not main until the next plain apply. For an emergency, or to "
        "re-create a space on a DR cluster.")] = None,
    live: Annotated[bool, typer.Option(
        "--live", help="Read every object of the space from the cluster instead of trusting its "
        "inventory, and apply again what is missing, differs from git or was edited by hand "
        "(`kubectl edit`, `kubectl delete`).")] = False,
    kube: Kube,
    output_format: OutputOpt = None,
) -> None:
    """Apply the units of each space to its cluster: in Labels.order, server-side, waiting for health.

    Only units whose content differs from what the cluster has are applied. The space's
    inventory (ConfigMap gitops-inventory-SPACE in its namespace: what gitops applied there,
    with content hashes) is read first: when it says the cluster has what git wants, the apply
    is that one request; when not, it tells what to apply, and is written again after. Without
    one, one `kubectl get` of the space's objects decides. An object edited or deleted by hand is not seen through the
    inventory: `gitops drift` reports it, `apply --live` puts it back. A glob applies space
    after space, one line each, and stops at the first that fails.

      gitops apply --space traderx-prod-eu --dry-run

      gitops apply --space traderx-prod-eu --live

      gitops apply --space 'traderx-prod-*' --prune --timeout 120s

      gitops apply --space traderx-prod-eu --context dr-eu --revision v1.4.0

      gitops apply --space traderx-prod-eu --unit trade-service --revision -1
    """
    from generator.operations import apply as apply_op
    from generator.operations import select as select_op

    g = globals_of(ctx)
    fmt = g.fmt(output_format)
    scope = select_op.require_scope(selection.space, "apply")
    reports: list[Report] = []

    def done(report: Report) -> None:
        reports.append(report)
        if fmt == "table":
            present.apply_report(report, fmt)

    try:
        with output.progress_lines(f"applying {scope}") as progress:
            apply_op.apply_spaces(kube.kubectl(), g.fleet(), scope, selection.unit,
                                  selection.where, selection.filter_name, dry_run, prune, not kube.no_wait,
                                  kube.timeout, progress, done, revision, live)
    except apply_op.ApplyError as e:
        if fmt != "table":
            reports.append(e.report)
            _emit(reports, scope, fmt)
        else:
            present.apply_report(e.report, fmt)
        raise
    if fmt != "table":
        _emit(reports, scope, fmt)


@on_clusters(waits=False, times_out=False)
def diff(ctx: typer.Context, space: GlobOpt, *, kube: Kube) -> None:
    """Desired (git) vs live (the cluster), as `kubectl diff` shows it; exit 1 when they differ.

    With a glob, each space in turn, and one line per space saying whether it differs.
    """
    from generator.model import is_glob
    from generator.operations import drift as drift_op

    def done(one: drift_op.SpaceDiff) -> None:
        output.stdout.out(one.text, end="", highlight=False)
        if is_glob(space):
            output.info(f"{one.space}: {'differs from git' if one.code else 'as git has it'}")

    diffs = drift_op.diff_spaces(kube.kubectl(), globals_of(ctx).fleet(), space, done)
    if any(one.code for one in diffs):
        raise typer.Exit(1)


@on_clusters(waits=False, times_out=False)
def status(ctx: typer.Context, space: GlobOpt, *, kube: Kube, output_format: OutputOpt = None) -> None:
    """Per unit: on the cluster or not, the commit that applied it, in sync with git, ready.

    One `kubectl get` per space. -o json adds each object's live status (liveStatus: replicas,
    ready, updated, available and conditions of a workload; a namespace's phase) and, after an
    `apply --revision`, liveIsMain false and the revision each object was applied from.

      gitops status --space 'traderx-prod-*'

      gitops status --space traderx-prod-eu -o json
    """
    from generator.operations import drift as drift_op

    g = globals_of(ctx)
    fmt = g.fmt(output_format)
    found = drift_op.status_spaces(kube.kubectl(), g.fleet(), space)
    output.listing(found.rows, fmt, [
        ("SPACE", lambda r: r["space"]), ("UNIT", lambda r: r["unit"]), ("OBJECT", lambda r: r["object"]),
        ("LIVE", lambda r: "yes" if r["live"] else "no"),
        ("IN SYNC", lambda r: "yes" if r["inSync"] else "no"),
        ("APPLIED COMMIT", lambda r: (r["appliedCommit"] or "")[:10]),
        ("READY", lambda r: r["ready"] or (r["liveStatus"] or {}).get("phase") or ""),
    ], f"no units in {space}")
    for pin in found.not_main if fmt == "table" else []:
        number = f" (revision {pin['revision']})" if pin["revision"] is not None else ""
        output.info(f"{pin['space']}: live is not main: applied from {pin['commit'][:10]}{number} — "
                    "the next plain `gitops apply` returns it to main")


@on_clusters(waits=False)
def drift(
    ctx: typer.Context,
    space: GlobOpt,
    fix: Annotated[bool, typer.Option("--fix", help="Apply the drifted units again: git wins.")] = False,
    *,
    kube: Kube,
    output_format: OutputOpt = None,
) -> None:
    """Objects changed on the cluster behind git's back (e.g. a `kubectl scale`); exit 1 if any.

    With --fix they are put back as git has them, and the fix is reported.
    """
    from generator.operations import drift as drift_op

    g = globals_of(ctx)
    fmt = g.fmt(output_format)
    found = drift_op.drift_spaces(kube.kubectl(), g.fleet(), space, fix, kube.timeout)
    if not present.emitted(found.data(), fmt):
        output.table(found.rows, [("SPACE", lambda r: r["space"]), ("UNIT", lambda r: r["unit"]),
                                  ("FIELD", lambda r: r["field"]), ("GIT", lambda r: r["git"]),
                                  ("LIVE", lambda r: r["live"])], f"no drift in {space}")
        if found.fixed:
            output.info(f"fixed: {', '.join(found.fixed)} applied again as git has them")
    if found.rows and not fix:
        raise typer.Exit(1)


@selects
@on_clusters()
def destroy(
    ctx: typer.Context,
    *,
    selection: Selection,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="List what would be deleted (a server-side dry run of each delete); delete nothing.")] = False,
    kube: Kube,
    output_format: OutputOpt = None,
) -> None:
    """Delete a space's objects (or some units') from its cluster, in reverse apply order; git keeps them.

    The objects are found by their gitops.dev/space label and deleted ingress first, namespace
    last. Nothing is committed: the configuration stays in git, and `gitops apply` brings the
    objects back. A production space (label environment=prod or critical=true) is destroyed
    only when --space names it exactly, never through a glob. Each delete waits for its object
    to be gone (up to --timeout), unless --no-wait.

      gitops destroy --space traderx-dev --dry-run

      gitops destroy --space traderx-dev --unit trade-feed

      gitops destroy --space 'traderx-dev*' --where "Labels.layer = 'frontend'"
    """
    from generator.operations import destroy as destroy_op
    from generator.operations import select as select_op

    g = globals_of(ctx)
    fmt = g.fmt(output_format)
    scope = select_op.require_scope(selection.space, "destroy")
    results: list[Destroyed] = []

    def done(one: Destroyed) -> None:
        results.append(one)
        if fmt == "table":
            verb = "would delete" if one.dry_run else "deleted"
            for name in one.deleted:
                output.info(f"{verb} {name}")
            output.info(f"{one.space}: {len(one.deleted)} object(s) {verb} from {one.context} "
                        f"({present.counted(one.kubectl_calls, 'kubectl call')}); git is untouched: "
                        f"`gitops apply --space {one.space}` brings them back")

    with output.progress_lines(f"destroying {scope}") as progress:
        destroy_op.destroy_spaces(kube.kubectl(), g.fleet(), scope, selection.unit, selection.where,
                                  selection.filter_name, dry_run, not kube.no_wait, kube.timeout, progress, done)
    if fmt != "table":
        _emit(results, scope, fmt)


@on_clusters()
def worker(
    ctx: typer.Context,
    space: Annotated[str, typer.Option(
        "--space", help="The spaces to keep in sync, a glob: 'traderx-prod-*', '*'.", click_type=complete.spaces)],
    interval: IntervalOpt = "10s",
    once: Annotated[bool, typer.Option(
        "--once", help="One cycle, then exit (1 if it failed): for cron or a CI job.")] = False,
    prune: PruneOpt = False,
    fix_drift: Annotated[bool, typer.Option(
        "--fix-drift", help="Put drifted objects back as git has them (default: only report).")] = False,
    *,
    kube: Kube,
    output_format: OutputOpt = None,
) -> None:
    """Keep clusters where git says: pull, apply what changed, report drift; one line per cycle.

    Each cycle fast-forwards the manifests repo from its remote when it has one (never merges),
    applies the units whose content changed in every matching space (an unchanged space costs
    one `kubectl get`), and reports drift. A failing cycle is logged and the next one tries
    again. SIGTERM or Ctrl-C stops it cleanly. -o json writes one JSON object per cycle.

      gitops worker --space 'traderx-prod-*' --interval 30s

      gitops worker --space traderx-dev --once --prune
    """
    from generator.operations import worker as worker_op
    from generator.store import Store

    g = globals_of(ctx)
    fmt = g.fmt(output_format)
    every = durations.seconds(interval)
    assert every is not None  # checked when parsed
    options = worker_op.Options(space, prune, fix_drift, not kube.no_wait, kube.timeout)
    path = g.repo_path()
    g.store()  # a missing repo is an error now, not a failing cycle forever
    output.info(f"worker: {space} every {interval}" + (" (once)" if once else "; SIGTERM or Ctrl-C stops it"))

    def log(done: Cycle) -> None:
        output.line(json.dumps(done.data()) if fmt == "json" else done.line())

    code = worker_op.serve(kube.kubectl(), lambda: Store.open(path),
                           options, every, once, log)
    if not once:
        output.info("worker: stopped")
    if code:
        raise typer.Exit(code)
