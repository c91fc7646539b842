"""The ``gitops`` command: parse arguments, call an operation, present its result.

Typer only. No logic lives here: every command is a few lines that resolve the config dir and
the manifests repo, call one function of ``generator.operations`` and hand the result to
``generator.output``. Expected failures (``GitopsError``) become a one-line message, a hint and
exit 1; usage errors exit 2; a bug exits 3 with its traceback saved to a file; Ctrl-C exits 130.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer

from generator import __version__, output
from generator.config import Project, default_repo, find_config, load_project
from generator.errors import ConfigError, GitopsError, StaleError
from generator.operations import render as render_op
from generator.operations import spaces as spaces_op
from generator.operations import units as units_op
from generator.operations.repo import Fleet
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
app.add_typer(space_app, name="space")
app.add_typer(unit_app, name="unit")

OutputOpt = Annotated[Optional[str], typer.Option(
    "-o", "--output", help="Output format: table, json or yaml.", show_default=False)]


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

    def store(self, project: Optional[Project] = None, create: bool = False) -> Store:
        return Store.open(self.repo_path(project), create=create)

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


# --- render ------------------------------------------------------------------------------


@app.command()
def render(
    ctx: typer.Context,
    check: Annotated[bool, typer.Option(
        "--check", help="Change nothing; exit 1 and name the stale files if the repo does not "
        "match what would be rendered (for CI).")] = False,
    message: Annotated[Optional[str], typer.Option(
        "-m", "--message", help="First line of the commit message.", show_default=False)] = None,
    reason: Annotated[Optional[str], typer.Option(
        "--reason", help="Why: recorded as the Gitops-Reason trailer.", show_default=False)] = None,
    author: Annotated[Optional[str], typer.Option(
        "--author", help="'Name <email>' of the person making the change (default: git config).",
        show_default=False)] = None,
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
    """
    g = _globals(ctx)
    project = g.project()
    if check:
        stale = render_op.stale(project, g.store(project))
        if stale:
            shown = ", ".join(stale[:10]) + (f" and {len(stale) - 10} more" if len(stale) > 10 else "")
            raise StaleError(f"{len(stale)} file(s) stale: {shown}", "run `gitops render` and commit")
        output.info("up to date")
        return
    with output.progress("rendering spaces") as progress:
        store, result = render_op.render(project, g.repo_path(project), message, author, reason,
                                         progress)
    if result.commit is None:
        output.info(f"nothing changed in {store.root}")
    else:
        output.info(f"rendered {len(result.units)} unit(s) in {len(result.spaces)} space(s): "
                    f"commit {result.commit[:10]} in {store.root}")


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
    output_format: OutputOpt = None,
) -> None:
    """List units across spaces, in deployment order."""
    g = _globals(ctx)
    fmt = g.fmt(output_format)
    output.listing(units_op.list_units(g.fleet(), space), fmt, [
        ("SPACE", lambda r: r["space"]),
        ("UNIT", lambda r: r["unit"]),
        ("ORDER", lambda r: r["labels"].get("order")),
        ("LAYER", lambda r: r["labels"].get("layer")),
        ("UPSTREAM", lambda r: r["upstream"]),
    ], "no units: run `gitops render` first")


@unit_app.command("get")
def unit_get(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="The unit, e.g. trade-service.")],
    space: Annotated[str, typer.Option("--space", help="Its space, e.g. traderx-prod-eu.")],
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


# --- entry point -------------------------------------------------------------------------


def run(argv: Optional[list[str]] = None) -> int:
    """Run the CLI and return its exit code (see the module docstring)."""
    try:
        app(args=argv, prog_name="gitops", standalone_mode=False)
        return 0
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

