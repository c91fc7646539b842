"""`gitops render`, `lint` and `preview`: write the manifests, check them, review a change to them.

Typer only, no logic: parse, call one operation (``generator.operations.render``, ``lint``,
``preview``), present. Operations are imported inside each command.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from generator import output
from generator.cli import complete, present
from generator.cli.app import Globals, globals_of
from generator.cli.options import (AuthorOpt, ChangesetOpt, FullReportOpt, LinkOpt, OutputOpt, Prefer,
                                   PreferOpt, PreviewOutputOpt, ReasonOpt, optional)
from generator.errors import StaleError


def _preview_format(g: Globals, local: Optional[str]) -> str:
    chosen = (local or g.output or "table").lower()
    return chosen if chosen == "markdown" else g.fmt(chosen)


def render(
    ctx: typer.Context,
    check: Annotated[bool, typer.Option(
        "--check", help="Change nothing; exit 1 and name the stale files if the repo does not "
        "match what would be rendered, or the first unit a person committed that fails the "
        "schema or the secret guard (for CI).")] = False,
    message: Annotated[Optional[str], optional(
        "-m", "--message", help="First line of the commit message.")] = None,
    reason: ReasonOpt = None,
    author: AuthorOpt = None,
    prefer: PreferOpt = Prefer.local,
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
    from generator.configdir import find_config
    from generator.operations import mutation
    from generator.operations import render as render_op

    g = globals_of(ctx)
    if dry_run:
        fmt = _preview_format(g, output_format)
        project = g.project()
        with output.progress("rendering spaces (dry run)") as progress:
            previewed = render_op.dry_run(project, g.repo_path(project), prefer.value, progress)
        present.preview(previewed, fmt, full_report, link)
        return
    if full_report or link or (output_format or "").lower() == "markdown":
        raise typer.BadParameter("-o markdown, --full-report and --link go with --dry-run",
                                 param_hint="'--dry-run'")
    if check:
        project = g.project()
        stale = render_op.check(project, g.store(project))
        if stale:
            shown = ", ".join(stale[:10]) + (f" and {len(stale) - 10} more" if len(stale) > 10 else "")
            raise StaleError(f"{len(stale)} file(s) stale: {shown}", "run `gitops render` and commit")
        output.info("up to date")
        return
    fmt = g.fmt(output_format)
    with output.progress("rendering spaces") as progress:
        store, outcome = render_op.render_dir(find_config(g.config), g.repo_path(), message,
                                              mutation.Edit(reason, author, changeset=changeset),
                                              prefer.value, progress)
    present.report(outcome, store, fmt, "rendered")


def lint(
    ctx: typer.Context,
    space: Annotated[str, typer.Option(
        "--space", help="Spaces to check, a glob: 'traderx-prod-*', '*' (every space).",
        click_type=complete.spaces)] = "*",
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
    from generator.operations import lint as lint_op

    g = globals_of(ctx)
    fmt = g.fmt(output_format)
    with output.progress("linting units") as progress:
        problems, checked = lint_op.lint(g.fleet(), space, progress=progress)
    rows = [p.data() for p in problems]
    if not present.emitted({"checked": checked, "problems": rows}, fmt):
        output.table(rows, present.PROBLEM_COLUMNS, "")
        output.info(f"{present.counted(len(problems), 'problem')} in {present.counted(checked, 'unit')}")
    if problems:
        raise typer.Exit(1)


def preview(
    ctx: typer.Context,
    base: Annotated[str, typer.Option(
        "--base", help="The commit the change starts from: main, a commit, a tag.")],
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
    from generator.operations import preview as preview_op

    g = globals_of(ctx)
    fmt = _preview_format(g, output_format)
    present.preview(preview_op.compare(g.store(), base, head), fmt, full_report, link)
