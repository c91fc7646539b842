"""The ``gitops`` command, assembled: every command registered on the root app, in the order
``gitops --help`` lists them.

A typer-only package: each module parses arguments, calls one function of
``generator.operations`` and hands the result to ``present`` or ``generator.output``. No module
here reads or writes the repo or a cluster itself (but ``complete``, which lists names in the
repo's work tree for the shell), runs a process, or imports git or ruamel; the operations are
imported inside the commands, so ``--help`` and usage errors stay fast.

- ``app``: the root app, the global options, the error handler (``run``, ``entry``);
- ``options``: the options shared by commands, declared once, checked when parsed;
- ``complete``: shell completion's candidates (spaces, units, changesets, filters);
- ``present``: tables and reports of what an operation returned;
- one module per noun: ``init``, ``render``, ``upgrade``, ``units``, ``spaces``, ``find_and_fix``,
  ``history``, ``lookback`` (tree, show), ``changesets``, ``cluster``, ``export``.
"""

from __future__ import annotations

from generator.cli import changesets, cluster, export, find_and_fix, history, render, spaces, units, upgrade
from generator.cli import init
from generator.cli import lookback
from generator.cli.app import _command, app, entry, run, unwrap_help

__all__ = ["_command", "app", "entry", "run"]


def _assemble() -> None:
    """Every command on the root app, in the order `gitops --help` lists them; then their help."""
    for command in (init.init, render.render, render.lint, render.preview, upgrade.upgrade, upgrade.promote,
                    units.overrides, lookback.tree, history.history, lookback.show, history.audit, history.rollback,
                    cluster.apply, cluster.diff, cluster.status, cluster.drift, cluster.destroy,
                    cluster.worker):
        app.command()(command)
    app.add_typer(spaces.space_app, name="space")
    app.add_typer(units.unit_app, name="unit")
    app.add_typer(find_and_fix.run_app, name="run")
    app.add_typer(find_and_fix.filter_app, name="filter")
    app.add_typer(changesets.changeset_app, name="changeset")
    app.add_typer(export.export_app, name="export")
    unwrap_help(app)


_assemble()
