"""The ``gitops`` command: parse arguments, call an operation, present its result.

Typer only. No logic lives here: every command is a few lines that resolve the config dir and
the manifests repo, call one function of ``generator.operations`` and hand the result to
``generator.output``. Expected failures (``GitopsError``) become a one-line message, a hint and
exit 1; usage errors exit 2; a bug exits 3 with its traceback saved to a file; Ctrl-C exits 130.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer
import typer.core

from generator import __version__, durations, functions, markdown, output
from generator.config import Project, default_repo, find_config, load_project
from generator.kubectl import Kubectl
from generator.errors import ConfigError, GitopsError, StaleError
from generator.model import Conflict, UnitRef
from generator.operations import changeset as changeset_op
from generator.operations import history as history_op
from generator.operations import lint as lint_op
from generator.operations import deploy as deploy_op
from generator.operations import drift as drift_op
from generator.operations import mutation
from generator.operations import preview as preview_op
from generator.operations import rollback as rollback_op
from generator.operations import render as render_op
from generator.operations import run as run_op
from generator.operations import select as select_op
from generator.operations import spaces as spaces_op
from generator.operations import units as units_op
from generator.operations import upgrade as upgrade_op
from generator.operations import worker as worker_op
from generator.operations.repo import Fleet
from generator.operations.sync import Plan
from generator.store import Store

app = typer.Typer(
    name="gitops",
    help="A fleet's Kubernetes configuration as plain manifests in git.\n\n"
         "Render a base and its environment/region copies (spaces) into a git repo of plain "
         "manifests, one commit per change. Start with `gitops render`, then "
         "`gitops space list` and `gitops unit list`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
space_app = typer.Typer(help="Spaces: one copy of the configuration each (base, dev, prod-eu...).",
                        no_args_is_help=True)
unit_app = typer.Typer(help="Units: one Kubernetes object each, in a space.", no_args_is_help=True)
run_app = typer.Typer(help="Find and fix: one function over every unit a selection picks, one commit.",
                      no_args_is_help=True)
filter_app = typer.Typer(help="Named filters and sets, for --filter.", no_args_is_help=True)
changeset_app = typer.Typer(
    help="Changesets: related edits on a branch of their own (changeset/NAME), landed on main "
         "as ONE commit.\n\n"
         "  gitops changeset create market-data-v2 --reason 'market data v2'\n\n"
         "  gitops run set-image-reference ... --changeset market-data-v2   (main unchanged)\n\n"
         "  gitops changeset show market-data-v2\n\n"
         "  gitops changeset apply market-data-v2                         (one commit on main)",
    no_args_is_help=True)
app.add_typer(space_app, name="space")
app.add_typer(unit_app, name="unit")
app.add_typer(run_app, name="run")
app.add_typer(filter_app, name="filter")
app.add_typer(changeset_app, name="changeset")

OutputOpt = Annotated[Optional[str], typer.Option(
    "-o", "--output", help="Output format: table, json or yaml.", show_default=False)]
PreferOpt = Annotated[str, typer.Option(
    "--prefer", help="When upstream and a local edit changed the same field differently: keep "
    "'local' (the default) or take 'upstream'. Either way the conflict is reported.")]
DryRunOpt = Annotated[bool, typer.Option(
    "--dry-run", help="Print the diff of every unit it would change; change nothing.")]
ReasonOpt = Annotated[Optional[str], typer.Option(
    "--reason", help="Why: recorded as the Gitops-Reason trailer.", show_default=False)]
AuthorOpt = Annotated[Optional[str], typer.Option(
    "--author", help="'Name <email>' of the person making the change (default: git config).",
    show_default=False)]
ChangesetOpt = Annotated[Optional[str], typer.Option(
    "--changeset", help="Record this edit on that open changeset's branch, not on main "
    "(default: the changeset `gitops changeset use` made current).", show_default=False)]
SpaceOpt = Annotated[str, typer.Option("--space", help="The space (one name, no glob), e.g. traderx-prod-eu.")]
ScopeOpt = Annotated[Optional[str], typer.Option(
    "--space", help="Spaces to change, a glob: traderx-dev, 'traderx-prod-*', or '*' for every "
    "space. Required: a change across spaces is never a default.", show_default=False)]
GlobOpt = Annotated[str, typer.Option(
    "--space", help="Spaces, a glob: traderx-prod-eu, 'traderx-prod-*', '*' (one line per space).")]
WhereOpt = Annotated[Optional[str], typer.Option(
    "--where", help="Only units matching this WHERE clause, e.g. \"spec.replicas > 2 AND "
    "Labels.layer = 'backend'\" (see README, Find and fix).", show_default=False)]
FilterOpt = Annotated[Optional[str], typer.Option(
    "--filter", help="Only units matching this named filter or set (gitops filter list).",
    show_default=False)]
LabelOpt = Annotated[Optional[list[str]], typer.Option(
    "--label", help="KEY=VALUE, repeatable.", show_default=False)]


PreviewOutputOpt = Annotated[Optional[str], typer.Option(
    "-o", "--output", help="table, json, yaml, or markdown: one pull-request comment (starts "
    "with <!-- gitops-preview -->, at most 65,536 characters).", show_default=False)]
FullReportOpt = Annotated[Optional[Path], typer.Option(
    "--full-report", help="Also write the whole report, as markdown (up to 1 MiB, a job "
    "summary's limit), to this file: what a truncated comment points at.", show_default=False)]
LinkOpt = Annotated[Optional[str], typer.Option(
    "--link", help="Where readers find the full report (e.g. the CI run's URL): the "
    "markdown comment links to it.", show_default=False)]


@dataclass
class Globals:
    repo: Optional[str]
    config: Optional[str]
    output: Optional[str]

    def project(self) -> Project:
        return load_project(find_config(self.config))

    def repo_path(self, project: Optional[Project] = None) -> Path:
        chosen = self.repo or os.environ.get("GITOPS_REPO")
        if chosen:
            return Path(chosen).expanduser().absolute()
        if project is not None:
            return project.repo
        try:
            return default_repo(find_config(self.config))
        except ConfigError as e:
            raise ConfigError("no manifests repo given and no config dir found",
                              "pass --repo PATH or set GITOPS_REPO") from e

    def store(self, project: Optional[Project] = None) -> Store:
        return Store.open(self.repo_path(project))

    def fleet(self) -> Fleet:
        return Fleet.load(self.store())

    def fmt(self, local: Optional[str], default: str = "table") -> str:
        chosen = (local or self.output or default).lower()
        if chosen not in output.FORMATS:
            raise typer.BadParameter(f"{chosen!r} is not one of {', '.join(output.FORMATS)}",
                                     param_hint="'-o' / '--output'")
        return chosen


def _globals(ctx: typer.Context) -> Globals:
    root = ctx.find_root()
    assert isinstance(root.obj, Globals)
    return root.obj


def _version(value: bool) -> None:
    if value:
        print(f"gitops {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    repo: Annotated[Optional[str], typer.Option(
        "--repo", help="The manifests repo. Default: $GITOPS_REPO, else `repo:` in gitops.yaml.",
        show_default=False)] = None,
    config: Annotated[Optional[str], typer.Option(
        "--config", help="The config dir (gitops.yaml, templates/, environments/, regions/). "
        "Default: $GITOPS_CONFIG, else the nearest directory up with a gitops.yaml.",
        show_default=False)] = None,
    output_format: OutputOpt = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    ctx.obj = Globals(repo, config, output_format)


def _prefer(value: str) -> str:
    if value not in ("local", "upstream"):
        raise typer.BadParameter(f"{value!r} is not 'local' or 'upstream'", param_hint="'--prefer'")
    return value


def _conflict_rows(conflicts: list[Conflict]) -> list[dict[str, object]]:
    return mutation.conflict_rows(conflicts)


def _emitted(data: object, fmt: str) -> bool:
    """-o json|yaml: print ``data`` and say so; for a table the caller prints."""
    if fmt == "table":
        return False
    output.emit(data, fmt)
    return True


def _outcome_data(outcome: mutation.Outcome) -> dict[str, object]:
    """A mutating command's -o json: the commit (None: none made), what it changed, conflicts."""
    plan = outcome.plan
    return {"commit": outcome.commit, "dryRun": outcome.dry_run, "changeset": outcome.changeset,
            **({"productionSpaces": list(outcome.critical)} if outcome.dry_run else {}),
            "units": [str(u) for u in plan.units], "spaces": plan.spaces,
            "conflicts": _conflict_rows(plan.conflicts), "notes": plan.notes}


def _report(outcome: mutation.Outcome, store: Store, fmt: str, verb: str) -> None:
    """What a mutating command did (or, dry, would do): diffs, conflicts, the commit."""
    plan = outcome.plan
    conflicts = _conflict_rows(plan.conflicts)
    if _emitted(_outcome_data(outcome), fmt):
        return
    if outcome.dry_run:
        diffs = mutation.unit_diffs(plan, store)
        for _, text in diffs:
            output.stdout.out(text, end="", highlight=False)
        output.info(f"dry run: would change {outcome.scope()}; nothing written")
    if conflicts:
        output.table(conflicts, [
            ("UNIT", lambda r: r["unit"]), ("FIELD", lambda r: r["field"]),
            ("ORIGIN", lambda r: r["origin"]), ("UPSTREAM", lambda r: r["upstream"]),
            ("LOCAL", lambda r: r["local"]), ("KEPT", lambda r: r["kept"])], "")
    for note in plan.notes:
        output.info(note)
    if outcome.dry_run:
        return
    if outcome.commit is None:
        output.info(f"nothing changed in {store.root}")
    else:
        output.info(f"{verb} {mutation.counted(len(plan.units), 'unit')} in "
                    f"{mutation.counted(len(plan.spaces), 'space')}"
                    + (f", {mutation.counted(len(conflicts), 'conflict')} (see above)" if conflicts else "")
                    + f": commit {outcome.commit[:10]} in {store.root}"
                    + (f" on changeset {outcome.changeset} (main unchanged; land it with "
                       f"`gitops changeset apply {outcome.changeset}`)" if outcome.changeset else ""))


def _labels(pairs: Optional[list[str]]) -> dict[str, str]:
    labels = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="'--label'")
        labels[key] = value
    return labels


def _read_input(path: str, what: str) -> str:
    """The text of a file, or of stdin for '-'."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text()
    except OSError as e:
        raise GitopsError(f"cannot read {what} {path}: {e.strerror}", "check the path") from e


@dataclass(frozen=True)
class Edit:
    """The options every mutating command takes."""

    reason: Optional[str]
    author: Optional[str]
    dry_run: bool
    output_format: Optional[str]
    changeset: Optional[str]


def _run_mutation(ctx: typer.Context, build: Callable[[Fleet, str], Plan], operation: str,
                  summary: Callable[[Plan], str], edit: Edit, verb: str) -> None:
    g = _globals(ctx)
    fmt = g.fmt(edit.output_format)
    store = g.store()
    outcome = mutation.mutate(
        store, lambda fleet: build(fleet, fleet.settings.kubernetes_version), operation, summary,
        edit.reason, edit.author, edit.dry_run, mutation.chosen_changeset(store, edit.changeset))
    _report(outcome, store, fmt, verb)


# --- render ------------------------------------------------------------------------------


@app.command()
def render(
    ctx: typer.Context,
    check: Annotated[bool, typer.Option(
        "--check", help="Change nothing; exit 1 and name the stale files if the repo does not "
        "match what would be rendered, or the first unit a person committed that fails the "
        "schema or the secret guard (for CI).")] = False,
    message: Annotated[Optional[str], typer.Option(
        "-m", "--message", help="First line of the commit message.", show_default=False)] = None,
    reason: Annotated[Optional[str], typer.Option(
        "--reason", help="Why: recorded as the Gitops-Reason trailer.", show_default=False)] = None,
    author: Annotated[Optional[str], typer.Option(
        "--author", help="'Name <email>' of the person making the change (default: git config).",
        show_default=False)] = None,
    prefer: PreferOpt = "local",
    changeset: ChangesetOpt = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Write nothing; report per space the units added, changed and removed "
        "and their fields, conflicts with local edits, what the schema and the secret guard "
        "find (exit 1 if anything), danger flags, and the diffs.")] = False,
    full_report: FullReportOpt = None,
    link: LinkOpt = None,
    output_format: PreviewOutputOpt = None,
) -> None:
    """Render the base from templates and derive every environment and region space.

    Writes spaces/<space>/<unit>.yaml and the records under .gitops/ into the manifests repo
    (created with `git init` if missing) as ONE commit, or none when nothing changed. Every
    manifest is checked against the Kubernetes schemas first; a bad template, overlay or
    manifest changes nothing.

    Examples:

      gitops render                      # the shipped TraderX example -> ./manifests

      gitops --repo /tmp/fleet render -m "bump trade-service"

      gitops render --check              # in CI: exit 1 if someone forgot to render

      gitops render --dry-run -o json    # in a PR: what would change, danger flags; writes nothing

      gitops render --dry-run -o markdown --full-report full.md > comment.md   # a PR comment
    """
    g = _globals(ctx)
    project = g.project()
    if dry_run:
        fmt = _preview_format(g, output_format)
        with output.progress("rendering spaces (dry run)") as progress:
            previewed = render_op.dry_run(project, g.repo_path(project), _prefer(prefer), progress)
        _preview(previewed, fmt, full_report, link)
        return
    if full_report or link or (output_format or "").lower() == "markdown":
        raise typer.BadParameter("-o markdown, --full-report and --link go with --dry-run",
                                 param_hint="'--dry-run'")
    if check:
        stale = render_op.check(project, g.store(project))
        if stale:
            shown = ", ".join(stale[:10]) + (f" and {len(stale) - 10} more" if len(stale) > 10 else "")
            raise StaleError(f"{len(stale)} file(s) stale: {shown}", "run `gitops render` and commit")
        output.info("up to date")
        return
    with output.progress("rendering spaces") as progress:
        store, result = render_op.render(project, g.repo_path(project), message, author, reason,
                                         _prefer(prefer), progress, changeset)
    _report(mutation.Outcome(result.commit, result.plan, changeset=result.changeset), store,
            g.fmt(output_format), "rendered")


# A lint problem's columns (lint, and a preview's findings).
PROBLEM_COLUMNS = [("SPACE", lambda r: r["space"]), ("UNIT", lambda r: r["unit"]),
                   ("FIELD", lambda r: r["path"]), ("RULE", lambda r: r["rule"]),
                   ("PROBLEM", lambda r: r["message"])]


@app.command()
def lint(
    ctx: typer.Context,
    space: Annotated[str, typer.Option(
        "--space", help="Spaces to check, a glob: 'traderx-prod-*', '*' (every space).")] = "*",
    output_format: OutputOpt = None,
) -> None:
    """Check every committed unit: the Kubernetes schema and the secret guard; exit 1 on any problem.

    What gitops writes is checked as it is written; lint finds what came in by hand-made
    commits (a Secret with data, a literal DB_PASSWORD, a private key in a ConfigMap). Secret
    values are shown masked. A false positive goes in gitops.yaml under secrets.allow, with a
    reason, and reaches the repo with the next `gitops render`.

      gitops lint

      gitops lint --space 'traderx-prod-*' -o json
    """
    g = _globals(ctx)
    fmt = g.fmt(output_format)
    with output.progress("linting units") as progress:
        problems, checked = lint_op.lint(g.fleet(), space, progress=progress)
    rows = [p.data() for p in problems]
    if not _emitted({"checked": checked, "problems": rows}, fmt):
        output.table(rows, PROBLEM_COLUMNS, "")
        output.info(f"{mutation.counted(len(problems), 'problem')} in {mutation.counted(checked, 'unit')}")
    if problems:
        raise typer.Exit(1)


@app.command()
def preview(
    ctx: typer.Context,
    base: Annotated[str, typer.Option(
        "--base", help="The commit the change starts from: main, a commit, a tag.",
        show_default=False)],
    head: Annotated[str, typer.Option(
        "--head", help="The commit with the change: a changeset branch (changeset/NAME), a "
        "pull request's branch.")] = "HEAD",
    full_report: FullReportOpt = None,
    link: LinkOpt = None,
    output_format: PreviewOutputOpt = None,
) -> None:
    """What the commits from --base to --head of the manifests repo change, for a review.

    For a changeset branch or a hand-made pull request against main: per space the units
    added, changed and removed and their fields, the local overrides introduced or removed,
    danger flags (prune, immutable fields, replicas 0, namespace moves), what the schema and
    the secret guard find in --head (exit 1 if anything), and the diffs. Reads only.

      gitops preview --base main --head changeset/market-data-v2

      gitops preview --base origin/main -o markdown > comment.md
    """
    g = _globals(ctx)
    fmt = _preview_format(g, output_format)
    _preview(preview_op.compare(g.store(), base, head), fmt, full_report, link)


def _preview_format(g: Globals, local: Optional[str]) -> str:
    chosen = (local or g.output or "table").lower()
    return chosen if chosen == "markdown" else g.fmt(chosen)


def _preview(shown: preview_op.Preview, fmt: str, full_report: Optional[Path] = None,
             link: Optional[str] = None) -> None:
    """Print a preview; exit 1 (after printing) when the schema or the secret guard found
    something, as render would refuse it."""
    data = shown.data()
    if full_report is not None:
        text = markdown.render(data, markdown.SUMMARY_LIMIT, link, rows=None)
        try:
            full_report.write_text(text, encoding="utf-8")
        except OSError as e:
            raise GitopsError(f"--full-report {full_report}: cannot write ({e.strerror})",
                              "give a file in a directory that exists and is writable") from e
    if fmt == "markdown":
        sys.stdout.write(markdown.render(data, markdown.COMMENT_LIMIT, link))
    elif not _emitted(data, fmt):
        _preview_tables(shown)
    if shown.findings:
        raise typer.Exit(1)


def _preview_tables(shown: preview_op.Preview) -> None:
    output.table([{"space": k, **v} for k, v in shown.spaces().items()], [
        ("SPACE", lambda r: r["space"]), ("ADDED", lambda r: r["added"]),
        ("CHANGED", lambda r: r["changed"]), ("REMOVED", lambda r: r["removed"])], "nothing would change")
    if shown.dangers:
        output.table([d.data() for d in shown.dangers], [
            ("DANGER", lambda r: r["flag"]), ("SPACE", lambda r: r["space"]),
            ("UNIT", lambda r: r["unit"]), ("WHAT", lambda r: r["detail"])], "")
    if shown.conflicts:
        output.table(shown.conflicts, [
            ("UNIT", lambda r: r["unit"]), ("FIELD", lambda r: r["field"]),
            ("UPSTREAM", lambda r: r["upstream"]), ("LOCAL", lambda r: r["local"]),
            ("KEPT", lambda r: r["kept"])], "")
    if shown.overrides:
        output.table(shown.overrides, [
            ("SPACE", lambda r: r["space"]), ("UNIT", lambda r: r["unit"]),
            ("FIELD", lambda r: r["field"]), ("OVERRIDE", lambda r: r["change"]),
            ("BEFORE", lambda r: r["before"]), ("AFTER", lambda r: r["after"])], "")
    if shown.findings:
        output.table([f.data() for f in shown.findings], PROBLEM_COLUMNS, "")
    for change in shown.units:
        output.stdout.out(change.diff, end="", highlight=False)
    refused = f", {mutation.counted(len(shown.findings), 'problem')} (render would refuse)" \
        if shown.findings else ""
    changes, written = ("would change", "; nothing written") if shown.title == "render" else ("changed", "")
    output.info(f"{'dry run' if shown.title == 'render' else shown.title}: "
                f"{mutation.counted(len(shown.units), 'unit')} {changes}, "
                f"{mutation.counted(len(shown.dangers), 'danger flag')}{refused}{written}")


# --- space -------------------------------------------------------------------------------


@space_app.command("list")
def space_list(
    ctx: typer.Context,
    space: Annotated[str, typer.Option("--space", help="Only spaces matching this glob.")] = "*",
    output_format: OutputOpt = None,
) -> None:
    """List spaces: name, upstream, units, labels and target."""
    g = _globals(ctx)
    fmt = g.fmt(output_format)
    output.listing(spaces_op.list_spaces(g.fleet(), space), fmt, [
        ("SPACE", lambda r: r["space"]),
        ("UPSTREAM", lambda r: r["upstream"]),
        ("UNITS", lambda r: len(r["units"])),
        ("TARGET", lambda r: f"{r['target']['context']}/{r['target']['namespace']}"),
        ("LABELS", lambda r: r["labels"]),
    ], "no spaces: run `gitops render` first")


@space_app.command("get")
def space_get(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The space, e.g. traderx-prod-eu.")],
    output_format: OutputOpt = None,
) -> None:
    """Show one space: labels, upstream, target and its units."""
    g = _globals(ctx)
    fmt = g.fmt(output_format, default="yaml")
    output.emit(spaces_op.get_space(g.fleet(), name), "json" if fmt == "json" else "yaml")


# --- unit --------------------------------------------------------------------------------


@unit_app.command("list")
def unit_list(
    ctx: typer.Context,
    space: Annotated[str, typer.Option(
        "--space", help="Spaces to list, a glob: 'traderx-prod-*', '*' (the whole fleet).")] = "*",
    where: WhereOpt = None,
    filter_name: FilterOpt = None,
    output_format: OutputOpt = None,
) -> None:
    """List units across spaces, in deployment order; --where / --filter to find some.

    Examples:

      gitops unit list --space '*' --where "Data CONTAINS 'trade-service:v1'"

      gitops unit list --space 'traderx-prod-*' --where "spec.replicas > 2 AND Labels.layer = 'backend'"
    """
    g = _globals(ctx)
    fmt = g.fmt(output_format)
    output.listing(units_op.list_units(g.fleet(), space, where, filter_name), fmt, [
        ("SPACE", lambda r: r["space"]),
        ("UNIT", lambda r: r["unit"]),
        ("ORDER", lambda r: r["labels"].get("order")),
        ("LAYER", lambda r: r["labels"].get("layer")),
        ("UPSTREAM", lambda r: r["upstream"]),
    ], f"0 units match {select_op.describe(space, None, where, filter_name)}"
       if where is not None or filter_name is not None else "no units: run `gitops render` first")


@unit_app.command("get")
def unit_get(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="The unit, e.g. trade-service.")],
    space: Annotated[str, typer.Option("--space", help="Its space (one name, no glob), e.g. traderx-prod-eu.")],
    output_format: OutputOpt = None,
) -> None:
    """Show one unit: its manifest (-o yaml, the default) or everything about it (-o json)."""
    g = _globals(ctx)
    fmt = g.fmt(output_format, default="yaml")
    found = units_op.get_unit(g.fleet(), space, unit)
    if fmt == "json":
        output.emit({k: v for k, v in found.items() if k != "text"}, "json")
    else:
        sys.stdout.write(found["text"])


# --- upgrade and promote -------------------------------------------------------------------


@app.command()
def upgrade(
    ctx: typer.Context,
    space: ScopeOpt = None,
    unit: Annotated[Optional[str], typer.Option("--unit", help="Only this unit.",
                                                show_default=False)] = None,
    where: WhereOpt = None,
    filter_name: FilterOpt = None,
    prefer: PreferOpt = "local",
    dry_run: DryRunOpt = False,
    reason: ReasonOpt = None,
    author: AuthorOpt = None,
    changeset: ChangesetOpt = None,
    output_format: OutputOpt = None,
) -> None:
    """Carry each upstream's current content into its downstream units (push-upgrade).

    Each unit becomes merge3(origin = what it was generated as, update = what its upstream
    makes now, local = the unit as it is): upstream changes land, local edits stay, and where
    both changed a field differently the local value is kept (or --prefer upstream) and the
    conflict is reported and recorded in the commit.

    Examples:

      gitops upgrade --space 'traderx-prod-*' --dry-run

      gitops upgrade --space traderx-prod-eu --unit trade-service --prefer upstream
    """
    scope = select_op.require_scope(space, "upgrade")

    def build(fleet: Fleet, version: str) -> Plan:
        only = (set(select_op.matched(fleet, scope, unit, where, filter_name))
                if where is not None or filter_name is not None else None)
        return upgrade_op.plan_upgrade(fleet, version, scope, unit, _prefer(prefer), only)

    _run_mutation(ctx, build, "upgrade",
        lambda p: f"upgrade: {mutation.counted(len(p.units), 'unit')} in {scope}"
                  + (f" ({mutation.counted(len(p.conflicts), 'conflict')})" if p.conflicts else ""),
        Edit(reason, author, dry_run, output_format, changeset), "upgraded")


@app.command()
def promote(
    ctx: typer.Context,
    source: Annotated[str, typer.Option("--from", help="The space whose changes travel.")],
    target: Annotated[str, typer.Option("--to", help="The space that takes them.")],
    unit: Annotated[Optional[str], typer.Option("--unit", help="Only this unit.",
                                                show_default=False)] = None,
    prefer: PreferOpt = "local",
    dry_run: DryRunOpt = False,
    reason: ReasonOpt = None,
    author: AuthorOpt = None,
    changeset: ChangesetOpt = None,
    output_format: OutputOpt = None,
) -> None:
    """Promote a space's changes into another: along the pipeline or sideways.

    Sideways (e.g. --from traderx-prod-eu --to traderx-prod-asia), only what the source changed
    relative to its own upstream travels: asia takes eu's fix and keeps its own replicas.
    """
    _run_mutation(ctx, lambda fleet, version: upgrade_op.plan_promote(
        fleet, version, source, target, unit, _prefer(prefer)), "promote",
        lambda p: f"promote {source} -> {target}: {mutation.counted(len(p.units), 'unit')}",
        Edit(reason, author, dry_run, output_format, changeset), "promoted")


@app.command()
def overrides(
    ctx: typer.Context,
    space: SpaceOpt,
    unit: Annotated[Optional[str], typer.Option("--unit", help="Only this unit.",
                                                show_default=False)] = None,
    output_format: OutputOpt = None,
) -> None:
    """Every local edit of a space: each field where a unit differs from what it was generated as."""
    g = _globals(ctx)
    output.listing(units_op.overrides(g.fleet(), space, unit), g.fmt(output_format), [
        ("UNIT", lambda r: r["unit"]), ("FIELD", lambda r: r["field"]),
        ("GENERATED", lambda r: r["generated"]), ("LOCAL", lambda r: r["local"]),
    ], f"no local edits in {space}")


# --- changing spaces and units -------------------------------------------------------------


@space_app.command("create")
def space_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The new space, e.g. traderx-prod-ca.")],
    upstream: Annotated[Optional[str], typer.Option(
        "--upstream", help="Clone every unit of this space, linked to it (later upgrades flow in).",
        show_default=False)] = None,
    label: LabelOpt = None,
    namespace: Annotated[Optional[str], typer.Option(
        "--namespace", help="Namespace of its units (default: the space's name).",
        show_default=False)] = None,
    context: Annotated[Optional[str], typer.Option(
        "--context", help="Kube context it deploys to (default: the space's name).",
        show_default=False)] = None,
    dry_run: DryRunOpt = False,
    reason: ReasonOpt = None,
    author: AuthorOpt = None,
    changeset: ChangesetOpt = None,
    output_format: OutputOpt = None,
) -> None:
    """Create a space, empty or as a linked copy of another."""
    labels = _labels(label)
    _run_mutation(ctx, lambda fleet, version: spaces_op.plan_create(
        fleet, version, name, upstream, labels, namespace, context), "space-create",
        lambda p: f"space create {name}" + (f" from {upstream}" if upstream else ""),
        Edit(reason, author, dry_run, output_format, changeset), "created")


@unit_app.command("create")
def unit_create(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="The new unit's name.")],
    space: SpaceOpt,
    file: Annotated[Optional[str], typer.Option(
        "--file", help="Its manifest, from a file ('-': stdin).", show_default=False)] = None,
    upstream_space: Annotated[Optional[str], typer.Option(
        "--upstream-space", help="Derive it from a unit of this space...", show_default=False)] = None,
    upstream_unit: Annotated[Optional[str], typer.Option(
        "--upstream-unit", help="...this unit (default: the same name).", show_default=False)] = None,
    restore: Annotated[bool, typer.Option(
        "--restore", help="Bring back a unit deleted from this space, linked to the upstream "
        "it had.")] = False,
    label: LabelOpt = None,
    dry_run: DryRunOpt = False,
    reason: ReasonOpt = None,
    author: AuthorOpt = None,
    changeset: ChangesetOpt = None,
    output_format: OutputOpt = None,
) -> None:
    """Create a unit from a manifest file, or linked to an upstream unit.

    A unit you create is yours: render and upgrade never remove it, and a linked one keeps
    taking its upstream's changes. Linked under another name it is a clone: its object is
    renamed (metadata.name, and the label values equal to the old name in its labels,
    selector and pod template), so blue and green are two Deployments.

    Examples:

      gitops unit create eu-trading-hours --space traderx-prod-eu --file cm.yaml

      gitops unit create trade-service-green --space traderx-prod-us \
        --upstream-space traderx-base --upstream-unit trade-service

      gitops unit create web-gui-svc --space traderx-prod-asia --restore
    """
    if sum((file is not None, upstream_space is not None, restore)) != 1:
        raise typer.BadParameter("give exactly one of --file, --upstream-space or --restore",
                                 param_hint="'--file' / '--upstream-space' / '--restore'")
    text = _read_input(file, "manifest") if file is not None else None
    up = UnitRef.parse(f"{upstream_space}/{upstream_unit or unit}") if upstream_space else None
    labels = _labels(label)
    _run_mutation(ctx, lambda fleet, version: units_op.plan_create(
        fleet, version, space, unit, text, up, labels, restore), "unit-create",
        lambda p: f"unit create {space}/{unit}" + (f" from {up}" if up else " (restored)" if restore else ""),
        Edit(reason, author, dry_run, output_format, changeset), "created")


@unit_app.command("update")
def unit_update(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="The unit, e.g. trade-service.")],
    space: SpaceOpt,
    patch: Annotated[Optional[str], typer.Option(
        "--patch", help="A strategic merge patch, JSON or YAML ('-': stdin), e.g. "
        '\'{"spec":{"replicas":3}}\'', show_default=False)] = None,
    patch_file: Annotated[Optional[str], typer.Option(
        "--patch-file", help="The patch, from a file.", show_default=False)] = None,
    merge_unit: Annotated[Optional[str], typer.Option(
        "--merge-unit", help="SPACE/UNIT: merge in what that unit changed relative to its own "
        "upstream (lateral promotion).", show_default=False)] = None,
    file: Annotated[Optional[str], typer.Option(
        "--file", help="Replace the whole manifest with this file.", show_default=False)] = None,
    prefer: PreferOpt = "local",
    dry_run: DryRunOpt = False,
    reason: ReasonOpt = None,
    author: AuthorOpt = None,
    changeset: ChangesetOpt = None,
    output_format: OutputOpt = None,
) -> None:
    """Change a unit: patch it, replace it, or merge another unit's change into it.

    A changed unit has local edits: later upgrades keep them (see `gitops overrides`).

    Examples:

      gitops unit update trade-service --space traderx-base --patch \\
        '{"spec":{"template":{"spec":{"containers":[{"name":"trade-service","image":"traderx/trade-service:v2"}]}}}}'

      gitops unit update trade-service --space traderx-prod-asia --merge-unit traderx-prod-eu/trade-service
    """
    given = [x for x in (patch, patch_file, merge_unit, file) if x is not None]
    if len(given) != 1:
        raise typer.BadParameter("give exactly one of --patch, --patch-file, --merge-unit, --file",
                                 param_hint="'--patch'")
    if merge_unit is not None:
        source = merge_unit
        _run_mutation(ctx, lambda fleet, version: units_op.plan_merge_unit(
            fleet, version, space, unit, source, _prefer(prefer)), "merge-unit",
            lambda p: f"merge {source} into {space}/{unit}",
            Edit(reason, author, dry_run, output_format, changeset), "updated")
        return
    if file is not None:
        text = _read_input(file, "manifest")
        _run_mutation(ctx, lambda fleet, version: units_op.plan_replace(
            fleet, version, space, unit, text), "replace",
            lambda p: f"replace {space}/{unit}", Edit(reason, author, dry_run, output_format, changeset), "updated")
        return
    source_text = _read_input(patch_file, "patch") if patch_file is not None else (
        sys.stdin.read() if patch == "-" else str(patch))
    parsed = units_op.parse_patch(source_text, "--patch" if patch is not None else str(patch_file))
    _run_mutation(ctx, lambda fleet, version: units_op.plan_patch(
        fleet, version, space, unit, parsed), "patch",
        lambda p: f"patch {space}/{unit}", Edit(reason, author, dry_run, output_format, changeset), "updated")


@unit_app.command("delete")
def unit_delete(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="The unit.")],
    space: SpaceOpt,
    cascade: Annotated[bool, typer.Option(
        "--cascade", help="Also delete the units derived from it (edited ones are kept, as "
        "units of their own, and reported).")] = False,
    dry_run: DryRunOpt = False,
    reason: ReasonOpt = None,
    author: AuthorOpt = None,
    changeset: ChangesetOpt = None,
    output_format: OutputOpt = None,
) -> None:
    """Delete a unit. It stays deleted: render and upgrade do not bring it back (gitops
    overrides lists it); `gitops unit create UNIT --space S --restore` does.

    Refused while another unit derives from it, unless --cascade.
    """
    _run_mutation(ctx, lambda fleet, version: units_op.plan_delete(fleet, version, space, unit, cascade),
                  "unit-delete", lambda p: f"unit delete {space}/{unit}",
                  Edit(reason, author, dry_run, output_format, changeset), "deleted")


# --- run (find and fix) --------------------------------------------------------------------

UnitFilterOpt = Annotated[Optional[str], typer.Option("--unit", help="Only this unit.",
                                                      show_default=False)]


def _run_function(ctx: typer.Context, function: functions.Function, space: Optional[str],
                  unit: Optional[str], where: Optional[str], filter_name: Optional[str], edit: Edit) -> None:
    scope = select_op.require_scope(space, f"run {function.name}")

    def build(fleet: Fleet, version: str) -> Plan:
        refs = select_op.matched(fleet, scope, unit, where, filter_name)
        return run_op.plan_run(fleet, version, refs, function)

    _run_mutation(ctx, build, function.name,
                  lambda p: f"{function.name}: {mutation.counted(len(p.units), 'unit')}", edit, "changed")


@run_app.command("set-replicas")
def run_set_replicas(
    ctx: typer.Context,
    replicas: Annotated[int, typer.Option("--replicas", help="The number of replicas.")],
    space: ScopeOpt = None, unit: UnitFilterOpt = None, where: WhereOpt = None,
    filter_name: FilterOpt = None, dry_run: DryRunOpt = False, reason: ReasonOpt = None,
    author: AuthorOpt = None, changeset: ChangesetOpt = None, output_format: OutputOpt = None,
) -> None:
    """Set spec.replicas of every selected Deployment.

      gitops run set-replicas --replicas 2 --space traderx-prod-eu --where "spec.replicas > 2"
    """
    _run_function(ctx, functions.replicas(replicas), space, unit, where, filter_name,
                  Edit(reason, author, dry_run, output_format, changeset))


@run_app.command("set-image-reference")
def run_set_image_reference(
    ctx: typer.Context,
    container_name: Annotated[str, typer.Option("--container-name", help="The container.")],
    image_reference: Annotated[str, typer.Option(
        "--image-reference", help="A full image reference, or ':TAG' to keep the repository.")],
    space: ScopeOpt = None, unit: UnitFilterOpt = None, where: WhereOpt = None,
    filter_name: FilterOpt = None, dry_run: DryRunOpt = False, reason: ReasonOpt = None,
    author: AuthorOpt = None, changeset: ChangesetOpt = None, output_format: OutputOpt = None,
) -> None:
    """Set the image of a named container in every selected unit.

      gitops run set-image-reference --container-name trade-service --image-reference :v2 --space '*'
    """
    _run_function(ctx, functions.image(container_name, image_reference), space, unit, where,
                  filter_name, Edit(reason, author, dry_run, output_format, changeset))


@run_app.command("set-env-var")
def run_set_env_var(
    ctx: typer.Context,
    container_name: Annotated[str, typer.Option("--container-name", help="The container.")],
    env_var: Annotated[str, typer.Option(
        "--env-var", help="NAME=VALUE (added or replaced), or NAME- to remove it.")],
    space: ScopeOpt = None, unit: UnitFilterOpt = None, where: WhereOpt = None,
    filter_name: FilterOpt = None, dry_run: DryRunOpt = False, reason: ReasonOpt = None,
    author: AuthorOpt = None, changeset: ChangesetOpt = None, output_format: OutputOpt = None,
) -> None:
    """Add, replace or remove (NAME-) an env var of a named container in every selected unit.

    A literal whose name says credential (DB_PASSWORD, API_TOKEN) is refused by the secret
    guard: reference a Secret instead (envFrom/secretKeyRef).

      gitops run set-env-var --container-name trade-service --env-var CIRCUIT_BREAKER=true \\
        --unit trade-service --space traderx-prod-eu

      gitops run set-env-var --container-name trade-service --env-var CIRCUIT_BREAKER- --space '*'
    """
    _run_function(ctx, functions.env(container_name, env_var), space, unit, where, filter_name,
                  Edit(reason, author, dry_run, output_format, changeset))


@filter_app.command("list")
def filter_list(ctx: typer.Context, output_format: OutputOpt = None) -> None:
    """The named filters and sets --filter takes (from the config dir's filters.yaml)."""
    g = _globals(ctx)
    rows = [{"filter": name, "where": text} for name, text in sorted(select_op.filters(g.fleet()).items())]
    output.listing(rows, g.fmt(output_format), [("FILTER", lambda r: r["filter"]),
                                               ("WHERE", lambda r: r["where"])],
                   "no filters: add filters.yaml to the config dir and run `gitops render`")


# --- history, audit, rollback --------------------------------------------------------------


@app.command()
def history(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="The unit, e.g. trade-service.")],
    space: SpaceOpt,
    output_format: OutputOpt = None,
) -> None:
    """A unit's revisions, newest first: N, commit, time, author, operation, message.

    Revision N is the N-th commit of main that changed the unit (1 created it). Roll back to
    one with `gitops rollback UNIT --space S --revision N`.
    """
    g = _globals(ctx)
    output.listing(history_op.history(g.fleet(), space, unit), g.fmt(output_format), [
        ("REV", lambda r: r["revision"]), ("COMMIT", lambda r: r["commit"][:10]),
        ("TIME", lambda r: r["time"]), ("AUTHOR", lambda r: r["author"]),
        ("OPERATION", lambda r: r["operation"]), ("CHANGESET", lambda r: r["changeset"] or ""),
        ("MESSAGE", lambda r: r["message"]),
    ], f"no revisions of {space}/{unit}")


@app.command()
def audit(
    ctx: typer.Context,
    space: Annotated[Optional[str], typer.Option(
        "--space", help="Only changes to spaces matching this glob ('traderx-prod-*').",
        show_default=False)] = None,
    unit: Annotated[Optional[str], typer.Option(
        "--unit", help="Only changes to this unit (UNIT, or SPACE/UNIT).", show_default=False)] = None,
    since: Annotated[Optional[str], typer.Option(
        "--since", help="Only changes since then: 2026-11-20, '2 hours ago', 3d, yesterday.",
        show_default=False)] = None,
    author: Annotated[Optional[str], typer.Option(
        "--author", help="Only changes by authors whose 'Name <email>' contains this.",
        show_default=False)] = None,
    output_format: OutputOpt = None,
) -> None:
    """Every change to main, newest first: who, when, what operation, which units, why.

    Read from the commits' trailers (Gitops-Operation, -Spaces, -Units, -Changeset, -Reason);
    a commit made by hand shows as operation 'git'.

      gitops audit --space 'traderx-prod-*' --since '1 day ago' -o json
    """
    g = _globals(ctx)
    output.listing(history_op.audit(g.store(), space, unit, since, author), g.fmt(output_format), [
        ("TIME", lambda r: r["time"]), ("AUTHOR", lambda r: r["author"]),
        ("OPERATION", lambda r: r["operation"]),
        ("UNITS", lambda r: _abbreviated(r["units"])), ("REASON", lambda r: r["reason"] or ""),
        ("CHANGESET", lambda r: r["changeset"] or ""), ("COMMIT", lambda r: r["commit"][:10]),
    ], "no changes match")


def _abbreviated(items: list[str], most: int = 4) -> str:
    return ", ".join(items[:most]) + (f" (+{len(items) - most})" if len(items) > most else "")


@app.command()
def rollback(
    ctx: typer.Context,
    unit: Annotated[Optional[str], typer.Argument(
        help="The unit to roll back (with --space and --revision).", show_default=False)] = None,
    space: Annotated[Optional[str], typer.Option(
        "--space", help="The unit's space; or, with --to, the space to roll back whole (one "
        "name, no glob).",
        show_default=False)] = None,
    revision: Annotated[Optional[int], typer.Option(
        "--revision", help="The revision to restore (see `gitops history`); -1 is the one "
        "before the current, -2 the one before that.", show_default=False)] = None,
    to: Annotated[Optional[str], typer.Option(
        "--to", help="With --space and no unit: restore every unit of the space as at this "
        "commit.", show_default=False)] = None,
    undo_changeset: Annotated[Optional[str], typer.Option(
        "--changeset", help="Undo what this changeset landed on main (later changes stay).",
        show_default=False)] = None,
    dry_run: DryRunOpt = False,
    reason: ReasonOpt = None,
    author: AuthorOpt = None,
    output_format: OutputOpt = None,
) -> None:
    """Restore a unit, a space or undo a changeset, as a NEW commit (history is never rewritten).

    A restored unit stays linked to its upstream; where that has changed since, the restored
    content is a local edit (`gitops overrides` shows it) that upgrades keep.

    Examples:

      gitops rollback trade-service --space traderx-prod-eu --revision -1 --dry-run

      gitops rollback --space traderx-prod-eu --to 3f2a1b9c

      gitops rollback --changeset market-data-v2
    """
    edit = Edit(reason, author, dry_run, output_format, None)
    if undo_changeset is not None:
        if unit or space or revision is not None or to:
            raise typer.BadParameter("--changeset takes no unit, --space, --revision or --to",
                                     param_hint="'--changeset'")
        name = undo_changeset
        with _showing_conflicts(_globals(ctx).fmt(output_format)):
            _run_mutation(ctx, lambda fleet, version: rollback_op.plan_changeset(fleet, version, name),
                          "rollback", lambda p: f"rollback: undo changeset {name}", edit, "rolled back")
        return
    if space is None:
        raise typer.BadParameter("give --space (with a unit and --revision, or with --to), "
                                 "or --changeset", param_hint="'--space'")
    if unit is not None:
        if revision is None or to is not None:
            raise typer.BadParameter("a unit rolls back to a --revision N (or -1)",
                                     param_hint="'--revision'")
        number, name = revision, unit
        _run_mutation(ctx, lambda fleet, version: rollback_op.plan_unit(fleet, version, space, name, number),
                      "rollback", lambda p: f"rollback {space}/{name} to revision {number}",
                      edit, "rolled back")
        return
    if to is None or revision is not None:
        raise typer.BadParameter("a whole space rolls back --to a commit (a unit takes --revision)",
                                 param_hint="'--to'")
    commit = to
    _run_mutation(ctx, lambda fleet, version: rollback_op.plan_space(fleet, version, space, commit),
                  "rollback", lambda p: f"rollback {space} to {commit[:10]}", edit, "rolled back")


# --- options of the commands that talk to clusters ----------------------------------------

ContextOpt = Annotated[Optional[str], typer.Option(
    "--context", help="Kube context to use instead of the space's target context.",
    show_default=False)]
KubeconfigOpt = Annotated[Optional[str], typer.Option(
    "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).",
    show_default=False)]
TimeoutOpt = Annotated[str, typer.Option(
    "--timeout", help="How long each order group may take to become healthy (kubectl duration).")]
NoWaitOpt = Annotated[bool, typer.Option(
    "--no-wait", help="Do not wait for each order group to become healthy.")]


# --- changesets --------------------------------------------------------------------------

ChangesetArg = Annotated[str, typer.Argument(help="The changeset's name, e.g. market-data-v2.")]


@changeset_app.command("create")
def changeset_create(
    ctx: typer.Context,
    name: ChangesetArg,
    reason: ReasonOpt = None,
    author: AuthorOpt = None,
    use: Annotated[bool, typer.Option(
        "--use", help="Also make it current: later mutating commands record on it.")] = False,
) -> None:
    """Open a changeset: the branch changeset/NAME, starting at main."""
    store = _globals(ctx).store()
    commit = changeset_op.create(store, name, reason, author)
    if use:
        changeset_op.use(store, name)
    output.info(f"changeset {name} opened at {commit[:10]} (branch changeset/{name}); record edits "
                f"on it with --changeset {name}" + (" (now current)" if use else
                                                    f" or `gitops changeset use {name}`"))


@changeset_app.command("use")
def changeset_use(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Argument(
        help="The changeset mutating commands record on from now on.", show_default=False)] = None,
    none: Annotated[bool, typer.Option("--none", help="Back to main: no current changeset.")] = False,
) -> None:
    """Make a changeset current (mutating commands then record on it), or --none."""
    if (name is None) == (not none):
        raise typer.BadParameter("give a changeset name or --none", param_hint="NAME")
    store = _globals(ctx).store()
    changeset_op.use(store, name)
    output.info(f"current changeset: {name}" if name else "no current changeset: edits go to main")


@changeset_app.command("list")
def changeset_list(ctx: typer.Context, output_format: OutputOpt = None) -> None:
    """Open changesets: status, reason, who opened it, edits and units."""
    g = _globals(ctx)
    output.listing(changeset_op.list_changesets(g.store()), g.fmt(output_format), [
        ("CHANGESET", lambda r: r["changeset"] + (" *" if r["current"] else "")),
        ("STATUS", lambda r: r["status"]), ("EDITS", lambda r: r["edits"]),
        ("UNITS", lambda r: _abbreviated(r["units"], 3)), ("OPENED BY", lambda r: r["openedBy"]),
        ("REASON", lambda r: r["reason"] or ""),
    ], "no open changesets: start one with `gitops changeset create NAME`")


@changeset_app.command("show")
def changeset_show(ctx: typer.Context, name: ChangesetArg, output_format: OutputOpt = None) -> None:
    """A changeset's units, edits and the diff it would land."""
    g = _globals(ctx)
    fmt = g.fmt(output_format)
    shown = changeset_op.show(g.store(), name)
    if _emitted(shown, fmt):
        return
    output.info(f"changeset {name}: {shown['status']}; {mutation.counted(shown['edits'], 'edit')}; "
                f"reason: {shown['reason'] or '-'}; opened by {shown['openedBy']}")
    output.table(shown["commits"], [
        ("COMMIT", lambda r: r["commit"][:10]), ("AUTHOR", lambda r: r["author"]),
        ("OPERATION", lambda r: r["operation"]), ("MESSAGE", lambda r: r["message"])], "")
    output.info("units: " + (", ".join(shown["units"]) or "(none)"))
    output.stdout.out(shown["diff"], end="", highlight=False)


@changeset_app.command("apply")
def changeset_apply(
    ctx: typer.Context,
    name: ChangesetArg,
    dry_run: DryRunOpt = False,
    reason: Annotated[Optional[str], typer.Option(
        "--reason", help="Why (default: the reason the changeset was opened with).",
        show_default=False)] = None,
    author: AuthorOpt = None,
    deploy: Annotated[bool, typer.Option(
        "--deploy", help="Also deploy what it changes, all or nothing: a server-side dry run of every "
        "changed object first, then the apply; if any part fails, what was applied is put back "
        "and nothing lands in git.")] = False,
    no_wait: NoWaitOpt = False,
    timeout: TimeoutOpt = "60s",
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output_format: OutputOpt = None,
) -> None:
    """Land every edit of the changeset on main as ONE commit (with --deploy: on the clusters too).

    When main moved since the changeset was opened, each unit is merged field by field; if
    main changed a field the changeset also changed, differently, nothing lands and the
    conflicts are listed.

      gitops changeset apply market-data-v2 --deploy --dry-run   (the cluster checks it, nothing changes)

      gitops changeset apply market-data-v2 --deploy --timeout 120s
    """
    g = _globals(ctx)
    fmt = g.fmt(output_format)
    store = g.store()
    if not deploy:
        with _showing_conflicts(fmt):
            outcome = changeset_op.apply(store, name, reason, author, dry_run)
        _report(outcome, store, fmt, f"changeset {name} applied:")
        return
    gate = deploy_op.AllOrNothing(Kubectl(kubeconfig=kubeconfig, context=context), not no_wait, timeout)
    try:
        with _showing_conflicts(fmt), output.progress_lines(f"deploying changeset {name}") as progress:
            gate.progress = progress
            outcome = changeset_op.apply(store, name, reason, author, dry_run, gate)
    except deploy_op.ApplyError as e:
        _apply_report(e.report, fmt)
        raise
    report = gate.report
    if fmt != "table":
        output.emit({**_outcome_data(outcome), "changeset": name,
                     "deploy": report.data() if report else None}, fmt)
        return
    _report(outcome, store, fmt, f"changeset {name} applied:")
    if report is None:
        output.info("nothing to deploy")
    else:
        _apply_report(report, fmt)


@contextlib.contextmanager
def _showing_conflicts(fmt: str) -> Iterator[None]:
    """A changeset that cannot land: the conflicts, as a table or -o json, before the error."""
    try:
        yield
    except changeset_op.ChangesetConflict as e:
        if fmt == "table":
            output.table([{"unit": str(c.ref or ""), "field": c.path, "opened from": c.origin,
                           "changeset": c.update, "main": c.local}
                          for c in map(mutation.shown, e.conflicts)], [
                ("UNIT", lambda r: r["unit"]), ("FIELD", lambda r: r["field"]),
                ("BEFORE", lambda r: r["opened from"]), ("CHANGESET", lambda r: r["changeset"]),
                ("MAIN", lambda r: r["main"])], "")
        else:
            output.emit({"commit": None, "conflicts": _conflict_rows(e.conflicts)}, fmt)
        raise


@changeset_app.command("abort")
def changeset_abort(ctx: typer.Context, name: ChangesetArg, output_format: OutputOpt = None) -> None:
    """Drop a changeset: its branch goes, main does not change (its commits stay reachable)."""
    g = _globals(ctx)
    fmt = g.fmt(output_format)
    done = changeset_op.abort(g.store(), name)
    if _emitted(done, fmt):
        return
    output.info(f"changeset {name} aborted; main unchanged. Its {mutation.counted(done['edits'], 'edit')} "
                f"stay reachable as {done['kept']}")


# --- clusters ----------------------------------------------------------------------------

@app.command("apply")
def apply_cmd(
    ctx: typer.Context,
    space: ScopeOpt = None,
    unit: Annotated[Optional[str], typer.Option("--unit", help="Only this unit.",
                                                show_default=False)] = None,
    where: WhereOpt = None,
    filter_name: FilterOpt = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Server-side dry run: the cluster checks everything, nothing changes.")] = False,
    prune: Annotated[bool, typer.Option(
        "--prune", help="Delete the space's objects that are no longer in git (reverse order).")] = False,
    no_wait: NoWaitOpt = False,
    timeout: TimeoutOpt = "60s",
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output_format: OutputOpt = None,
) -> None:
    """Apply the units of each space to its cluster: in Labels.order, server-side, waiting for health.

    Only units whose content differs from what the cluster has (one `kubectl get` tells, from
    the content hash each applied object carries) are applied: an unchanged space costs no
    apply at all. A glob applies space after space, one line each, and stops at the first
    that fails.

      gitops apply --space traderx-prod-eu --dry-run

      gitops apply --space 'traderx-prod-*' --prune --timeout 120s
    """
    g = _globals(ctx)
    fmt = g.fmt(output_format)
    scope = select_op.require_scope(space, "apply")
    kubectl = Kubectl(kubeconfig=kubeconfig, context=context)
    reports: list[deploy_op.Report] = []

    def done(report: deploy_op.Report) -> None:
        reports.append(report)
        if fmt == "table":
            _apply_report(report, fmt)

    try:
        with output.progress_lines(f"applying {scope}") as progress:
            deploy_op.apply_spaces(kubectl, g.fleet(), scope, unit, where, filter_name, dry_run,
                                   prune, not no_wait, timeout, progress, done)
    except deploy_op.ApplyError as e:
        if fmt != "table":
            reports.append(e.report)
            output.emit([r.data() for r in reports] if _glob(scope) else e.report.data(), fmt)
        else:
            _apply_report(e.report, fmt)
        raise
    if fmt != "table":
        output.emit([r.data() for r in reports] if _glob(scope) else reports[0].data(), fmt)


def _glob(space: str) -> bool:
    return any(ch in space for ch in "*?[")


def _apply_report(report: deploy_op.Report, fmt: str) -> None:
    if _emitted(report.data(), fmt):
        return
    verb = "would apply" if report.dry_run else "applied"
    for name in report.applied:
        output.info(f"{verb} {name}")
    for name in report.pruned:
        output.info(("would prune " if report.dry_run else "pruned ") + name)
    if report.unchecked:
        output.info(f"not checked by the server (their namespace does not exist yet): "
                    f"{_abbreviated(report.unchecked)}")
    if report.failed:
        output.info(f"failed: {report.failed}; not applied: {', '.join(report.not_applied) or '-'}")
        if report.restored:
            output.info(f"put back as they were: {', '.join(report.restored)}")
        return
    output.info(f"{report.space}: {len(report.applied)} {verb}, {len(report.unchanged)} unchanged"
                + (f", {len(report.pruned)} pruned" if report.pruned else "")
                + f" ({mutation.counted(report.kubectl_calls, 'kubectl call')})")


@app.command("diff")
def diff_cmd(ctx: typer.Context, space: GlobOpt, context: ContextOpt = None,
             kubeconfig: KubeconfigOpt = None) -> None:
    """Desired (git) vs live (the cluster), as `kubectl diff` shows it; exit 1 when they differ.

    With a glob, each space in turn, and one line per space saying whether it differs.
    """
    g = _globals(ctx)
    kubectl = Kubectl(kubeconfig=kubeconfig, context=context)
    differs = False
    fleet = g.fleet()
    for name in [s.name for s in fleet.match(space)]:
        code, text = drift_op.diff(kubectl, fleet, name)
        output.stdout.out(text, end="", highlight=False)
        if _glob(space):
            output.info(f"{name}: {'differs from git' if code else 'as git has it'}")
        differs |= bool(code)
    if differs:
        raise typer.Exit(1)


@app.command("status")
def status_cmd(ctx: typer.Context, space: GlobOpt, context: ContextOpt = None,
               kubeconfig: KubeconfigOpt = None, output_format: OutputOpt = None) -> None:
    """Per unit: on the cluster or not, the commit that applied it, in sync with git, ready."""
    g = _globals(ctx)
    kubectl = Kubectl(kubeconfig=kubeconfig, context=context)
    fleet = g.fleet()
    rows = [{"space": s.name, **row} for s in fleet.match(space) for row in drift_op.status(kubectl, fleet, s.name)]
    output.listing(rows, g.fmt(output_format), [
        ("SPACE", lambda r: r["space"]), ("UNIT", lambda r: r["unit"]), ("OBJECT", lambda r: r["object"]),
        ("LIVE", lambda r: "yes" if r["live"] else "no"),
        ("IN SYNC", lambda r: "yes" if r["inSync"] else "no"),
        ("APPLIED COMMIT", lambda r: (r["appliedCommit"] or "")[:10]),
        ("READY", lambda r: r["ready"] or ""),
    ], f"no units in {space}")


@app.command("drift")
def drift_cmd(
    ctx: typer.Context,
    space: GlobOpt,
    fix: Annotated[bool, typer.Option("--fix", help="Apply the drifted units again: git wins.")] = False,
    timeout: TimeoutOpt = "60s",
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output_format: OutputOpt = None,
) -> None:
    """Objects changed on the cluster behind git's back (e.g. a `kubectl scale`); exit 1 if any.

    With --fix they are put back as git has them, and the fix is reported.
    """
    g = _globals(ctx)
    fmt = g.fmt(output_format)
    kubectl = Kubectl(kubeconfig=kubeconfig, context=context)
    fleet = g.fleet()
    rows: list[dict[str, object]] = []
    fixed: list[str] = []
    for name in [s.name for s in fleet.match(space)]:
        if fix:
            found, report = drift_op.fix_drift(kubectl, fleet, name, timeout)
            fixed += report.applied if report else []
        else:
            found = drift_op.drift(kubectl, fleet, name)
        rows += [{"space": name, **row} for row in found]
    if not _emitted({"drift": rows, "fixed": fixed}, fmt):
        output.table(rows, [("SPACE", lambda r: r["space"]), ("UNIT", lambda r: r["unit"]),
                            ("FIELD", lambda r: r["field"]), ("GIT", lambda r: r["git"]),
                            ("LIVE", lambda r: r["live"])], f"no drift in {space}")
        if fixed:
            output.info(f"fixed: {', '.join(fixed)} applied again as git has them")
    if rows and not fix:
        raise typer.Exit(1)


@app.command("worker")
def worker_cmd(
    ctx: typer.Context,
    space: Annotated[str, typer.Option(
        "--space", help="The spaces to keep in sync, a glob: 'traderx-prod-*', '*'.")],
    interval: Annotated[str, typer.Option(
        "--interval", help="Time between cycles: 10s, 2m, 1h.")] = "10s",
    once: Annotated[bool, typer.Option(
        "--once", help="One cycle, then exit (1 if it failed): for cron or a CI job.")] = False,
    prune: Annotated[bool, typer.Option(
        "--prune", help="Also delete the spaces' objects that are no longer in git.")] = False,
    fix_drift: Annotated[bool, typer.Option(
        "--fix-drift", help="Put drifted objects back as git has them (default: only report).")] = False,
    no_wait: NoWaitOpt = False,
    timeout: TimeoutOpt = "60s",
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
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
    g = _globals(ctx)
    fmt = g.fmt(output_format)
    every = durations.seconds(interval)
    if every is None or every <= 0:
        raise typer.BadParameter(f"{interval!r} is not a length of time (10s, 2m, 1h)",
                                 param_hint="'--interval'")
    options = worker_op.Options(space, prune, fix_drift, not no_wait, timeout)
    path = g.repo_path()
    g.store()  # a missing repo is an error now, not a failing cycle forever
    output.info(f"worker: {space} every {interval}" + (" (once)" if once else "; SIGTERM or Ctrl-C stops it"))

    def log(done: worker_op.Cycle) -> None:
        output.line(json.dumps(done.data()) if fmt == "json" else done.line())

    code = worker_op.serve(Kubectl(kubeconfig=kubeconfig, context=context), lambda: Store.open(path),
                           options, every, once, log)
    if not once:
        output.info("worker: stopped")
    if code:
        raise typer.Exit(code)


# --- entry point -------------------------------------------------------------------------


def _unwrapped(doc: str) -> str:
    """A docstring as help text: each prose paragraph one line, for the terminal to wrap (rich
    would keep the source's line breaks); paragraphs with indented lines (examples) as written.
    The summary is followed by two blank lines: typer dedents the rest as a block whose first
    line does not count, and a blank first line keeps examples from losing their indent."""
    paragraphs = [p if any(line[:1].isspace() for line in p.splitlines())
                  else " ".join(line.strip() for line in p.splitlines())
                  for p in inspect.cleandoc(doc).split("\n\n")]
    return "\n\n\n".join([paragraphs[0], "\n\n".join(paragraphs[1:])]) if len(paragraphs) > 1 else paragraphs[0]


def _unwrap_help(group: typer.Typer) -> None:
    for command in group.registered_commands:
        if command.help is None and command.callback is not None and command.callback.__doc__:
            command.help = _unwrapped(command.callback.__doc__)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _unwrap_help(sub.typer_instance)


_unwrap_help(app)


def _late(name: str) -> Callable[[typer.Context, object, Optional[str]], None]:
    def store(ctx: typer.Context, _param: object, value: Optional[str]) -> None:
        root = ctx.find_root().obj
        if value is not None and isinstance(root, Globals):
            setattr(root, name, value)
    return store


_LATE = {
    "repo": (["--repo"], "The manifests repo (as before the command)."),
    "config": (["--config"], "The config dir (as before the command)."),
    "output": (["-o", "--output"], "Output format: table, json or yaml (as before the command)."),
}


def _accept_globals(group: typer.core.TyperGroup) -> None:
    """--repo, --config and -o also after the subcommand (``gitops unit list --repo R -o json``)."""
    for command in group.commands.values():
        if isinstance(command, typer.core.TyperGroup):
            _accept_globals(command)
            continue
        taken = {opt for param in command.params for opt in getattr(param, "opts", [])}
        for name, (opts, text) in _LATE.items():
            if not taken & set(opts):
                command.params.append(typer.core.TyperOption(
                    param_decls=opts, expose_value=False, callback=_late(name), help=text,
                    metavar="TEXT"))


def _command() -> typer.core.TyperGroup:
    command = typer.main.get_command(app)
    assert isinstance(command, typer.core.TyperGroup)
    _accept_globals(command)
    return command


def run(argv: Optional[list[str]] = None) -> int:
    """Run the CLI and return its exit code (see the module docstring)."""
    try:
        code = _command().main(args=argv, prog_name="gitops", standalone_mode=False)
        return code if isinstance(code, int) else 0  # click returns a typer.Exit's code
    except GitopsError as e:
        output.error(e.message, e.hint)
        return e.exit_code
    except typer.Exit as e:
        return int(e.exit_code)
    except typer.TyperException as e:  # click's usage errors, as typer re-exports them
        show = getattr(e, "show", None)
        if show is not None:
            show()
        return int(getattr(e, "exit_code", 2))
    except (KeyboardInterrupt, typer.Abort):
        output.error("interrupted")
        return 130
    except Exception:  # a bug: keep the traceback for the report, show one line
        fd, path = tempfile.mkstemp(prefix="gitops-crash-", suffix=".txt")
        with os.fdopen(fd, "w") as f:
            f.write(f"gitops {__version__}\nargv: {sys.argv}\n\n{traceback.format_exc()}")
        output.error(f"unexpected error: {sys.exc_info()[1]!r}",
                     f"this is a bug; the traceback is in {path}, please attach it to a report")
        return 3


def entry() -> None:
    """Console-script entry point."""
    sys.exit(run())


if __name__ == "__main__":
    entry()

