"""`gitops export` (a backup of spaces), `gitops export argocd` and `gitops export flux`.

Typer only: parse, call one function of ``generator.operations.export``, print or write what it
returns. Operations are imported inside each command.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from generator import output
from generator.cli import complete
from generator.cli.app import globals_of
from generator.cli.options import Handover, PollIntervalOpt, WaveTimeoutOpt, hands_over, optional

export_app = typer.Typer(invoke_without_command=True)


def _emit(objects: list[dict[str, object]], out: Optional[Path]) -> None:
    from generator.operations import export as export_op

    if out is None:
        output.line(export_op.stream(objects).rstrip("\n"))
        return
    written = export_op.write_files(out, export_op.files_of(objects))
    output.info(f"wrote {len(written)} file(s) to {out}")


@export_app.callback()
def backup(
    ctx: typer.Context,
    space: Annotated[Optional[str], optional("--space", help="The spaces to export, a glob.",
                                             click_type=complete.spaces)] = None,
    revision: Annotated[Optional[str], optional(
        "--revision", help="The commit to export them as of: a commit, tag or branch (default: HEAD).")] = None,
    output_format: Annotated[str, typer.Option(
        "-o", "--output", help="yaml: every unit as one multi-document YAML; tar: a gzipped tarball "
        "of the units and the records, as in the repo.")] = "yaml",
    out: Annotated[Optional[Path], optional("--out", help="Write to this file (default: stdout).")] = None,
) -> None:
    """Export spaces for backup (below), or hand the repo to Argo CD or Flux (the commands).

    With --space: every unit of those spaces as they are at one commit. A yaml export applies as
    it is (`kubectl apply --server-side -f`, namespace first); a tar export holds the paths as in
    the repo (spaces/<space>/, .gitops/) with a MANIFEST.json naming the commit. To re-create a
    space on another cluster from git, see `gitops apply --context --revision`.

      gitops export --space 'traderx-prod-*' -o tar --out backup.tar.gz

      gitops export argocd --repo-url https://github.com/acme/manifests.git --out argocd/

      gitops export flux --repo-url https://github.com/acme/manifests.git --out flux/
    """

    if ctx.invoked_subcommand is not None:
        return
    if space is None:
        raise typer.BadParameter("say which spaces: --space GLOB (or use `gitops export argocd|flux`)",
                                 param_hint="'--space'")
    if output_format not in ("yaml", "tar"):
        raise typer.BadParameter(f"{output_format!r} is not yaml or tar", param_hint="'-o' / '--output'")
    if output_format == "tar" and out is None and sys.stdout.isatty():
        raise typer.BadParameter("a tarball is not for a terminal: give --out FILE, or redirect stdout",
                                 param_hint="'--out'")
    from generator.operations import export as export_op
    from generator.operations.fleet import Fleet

    result = export_op.backup(Fleet.at(globals_of(ctx).store(), revision), space)
    data = result.tar() if output_format == "tar" else result.yaml().encode()
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        out.write_bytes(data)
        output.info(f"exported {len(result.units)} units of {len(result.spaces)} space(s) at "
                    f"{result.commit[:10]} to {out}")


@export_app.command("argocd")
@hands_over
def export_argocd(
    ctx: typer.Context,
    handover: Handover,
    prune: Annotated[bool, typer.Option(
        "--prune", help="Automated sync deletes what left git (Argo CD's prune).")] = False,
    self_heal: Annotated[bool, typer.Option(
        "--self-heal", help="Automated sync puts back changes made on the cluster (selfHeal).")] = False,
    rolling_sync: Annotated[bool, typer.Option(
        "--rolling-sync", help="Sync environment after environment (RollingSync; needs Argo CD's "
        "progressive syncs feature flag, and turns automated sync off: see docs/fleet.md).")] = False,
    applications: Annotated[bool, typer.Option(
        "--applications", help="One Application per space (an app of apps, ordered by sync wave) "
        "instead of one ApplicationSet.")] = False,
    namespace: Annotated[str, typer.Option("--namespace", help="Where Argo CD runs.")] = "argocd",
    project: Annotated[str, typer.Option("--project", help="The Argo CD AppProject.")] = "default",
) -> None:
    """The Argo CD objects that sync every targetable space: an ApplicationSet (list generator).

    Each Application syncs spaces/<space> (a plain directory) to the Argo CD cluster named as the
    space's kube context, server-side, in the units' waves (argocd.argoproj.io/sync-wave, which
    render writes when gitops.yaml says `export: [argocd]`), pruning last.

      gitops export argocd --repo-url https://github.com/acme/manifests.git --prune --self-heal

      gitops export argocd --rolling-sync --out argocd/ && kubectl apply -n argocd -f argocd/
    """
    from generator import argocd
    from generator.operations import export as export_op

    fleet = globals_of(ctx).fleet()
    options = argocd.Options(export_op.source(fleet, handover.repo_url, handover.revision), prune, self_heal,
                             rolling_sync, namespace, project)
    _emit(export_op.argocd_objects(fleet, handover.space, options, applications, handover.stage_list()),
          handover.out)


@export_app.command("flux")
@hands_over
def export_flux(
    ctx: typer.Context,
    handover: Handover,
    prune: Annotated[bool, typer.Option("--prune/--no-prune", help="Flux deletes what left git.")] = True,
    interval: PollIntervalOpt = "5m",
    timeout: WaveTimeoutOpt = "5m",
    namespace: Annotated[str, typer.Option("--namespace", help="Where Flux runs.")] = "flux-system",
    in_cluster: Annotated[Optional[str], optional(
        "--in-cluster", help="The kube context Flux runs in: its spaces need no kubeConfig secret.")] = None,
) -> None:
    """The Flux objects that apply every targetable space: a GitRepository and, per space, one
    Kustomization per wave.

    Waves follow each other by dependsOn (Flux waits for each to be ready), and environments too
    (dev, then staging, then prod). Each wave keeps its own objects of ./spaces/<space> by their
    gitops.dev/order annotation (render writes it when gitops.yaml says `export: [flux]`). A
    space goes to its kube context's cluster through the Secret <context>-kubeconfig.

      gitops export flux --repo-url https://github.com/acme/manifests.git --out flux/
    """
    from generator import flux
    from generator.operations import export as export_op

    fleet = globals_of(ctx).fleet()
    options = flux.Options(export_op.source(fleet, handover.repo_url, handover.revision), interval, timeout,
                           prune, namespace, in_cluster)
    _emit(export_op.flux_objects(fleet, handover.space, options, handover.stage_list()), handover.out)
