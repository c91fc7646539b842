"""Showing what an operation returned: a mutation's outcome, a preview, an apply, conflicts.

Each result is shown as a table and messages (through ``generator.output``) or, with
``-o json|yaml``, as one document. The only decision made here is the exit code a shown result
implies (a preview with findings, exit 1).

Typer only. It must not call an operation that reads or writes the repo or a cluster; the
operations' types and small formatting helpers are imported when used, not at start-up.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from generator import markdown, output
from generator.errors import GitopsError

if TYPE_CHECKING:
    from generator.operations.apply import Report
    from generator.operations.mutation import Outcome
    from generator.operations.preview import Preview
    from generator.store import Store

Columns = list[tuple[str, Callable[[dict[str, Any]], Any]]]

# A lint problem's columns (lint, and a preview's findings).
PROBLEM_COLUMNS: Columns = [
    ("SPACE", lambda r: r["space"]), ("UNIT", lambda r: r["unit"]), ("FIELD", lambda r: r["path"]),
    ("RULE", lambda r: r["rule"]), ("PROBLEM", lambda r: r["message"])]


def counted(n: int, word: str) -> str:
    from generator.operations.mutation import counted

    return counted(n, word)


def abbreviated(items: list[str], most: int = 4) -> str:
    return ", ".join(items[:most]) + (f" (+{len(items) - most})" if len(items) > most else "")


def emitted(data: object, fmt: str) -> bool:
    """-o json|yaml: print ``data`` and say so; for a table the caller prints."""
    if fmt == "table":
        return False
    output.emit(data, fmt)
    return True


def outcome_data(outcome: Outcome) -> dict[str, object]:
    """A mutating command's -o json: the commit (None: none made), what it changed, conflicts."""
    from generator.operations.mutation import conflict_rows

    plan = outcome.plan
    return {"commit": outcome.commit, "dryRun": outcome.dry_run, "changeset": outcome.changeset,
            **({"productionSpaces": list(outcome.critical)} if outcome.dry_run else {}),
            "units": [str(u) for u in plan.units], "spaces": plan.spaces,
            "conflicts": conflict_rows(plan.conflicts), "notes": plan.notes}


def report(outcome: Outcome, store: Store, fmt: str, verb: str) -> None:
    """What a mutating command did (or, dry, would do): diffs, conflicts, the commit."""
    from generator.operations.mutation import conflict_rows, unit_diffs

    plan = outcome.plan
    conflicts = conflict_rows(plan.conflicts)
    if emitted(outcome_data(outcome), fmt):
        return
    if outcome.dry_run:
        for _, text in unit_diffs(plan, store):
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
        output.info(f"{verb} {counted(len(plan.units), 'unit')} in {counted(len(plan.spaces), 'space')}"
                    + (f", {counted(len(conflicts), 'conflict')} (see above)" if conflicts else "")
                    + f": commit {outcome.commit[:10]} in {store.root}"
                    + (f" on changeset {outcome.changeset} (main unchanged; land it with "
                       f"`gitops changeset apply {outcome.changeset}`)" if outcome.changeset else ""))


@contextlib.contextmanager
def showing_conflicts(fmt: str) -> Iterator[None]:
    """A changeset that cannot land: the conflicts, as a table or -o json, before the error."""
    from generator.operations.changeset import ChangesetConflict
    from generator.operations.mutation import conflict_rows, shown

    try:
        yield
    except ChangesetConflict as e:
        if fmt == "table":
            output.table([{"unit": str(c.ref or ""), "field": c.path, "opened from": c.origin,
                           "changeset": c.update, "main": c.local}
                          for c in map(shown, e.conflicts)], [
                ("UNIT", lambda r: r["unit"]), ("FIELD", lambda r: r["field"]),
                ("BEFORE", lambda r: r["opened from"]), ("CHANGESET", lambda r: r["changeset"]),
                ("MAIN", lambda r: r["main"])], "")
        else:
            output.emit({"commit": None, "conflicts": conflict_rows(e.conflicts)}, fmt)
        raise


def preview(shown: Preview, fmt: str, full_report: Optional[Path] = None,
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
    elif not emitted(data, fmt):
        _preview_tables(shown)
    if shown.findings:
        raise typer.Exit(1)


def _preview_tables(shown: Preview) -> None:
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
    refused = f", {counted(len(shown.findings), 'problem')} (render would refuse)" if shown.findings else ""
    changes, written = ("would change", "; nothing written") if shown.title == "render" else ("changed", "")
    output.info(f"{'dry run' if shown.title == 'render' else shown.title}: "
                f"{counted(len(shown.units), 'unit')} {changes}, "
                f"{counted(len(shown.dangers), 'danger flag')}{refused}{written}")


def apply_report(report: Report, fmt: str) -> None:
    """What an apply did to one space (or, dry, would do), or where it failed."""
    if emitted(report.data(), fmt):
        return
    verb = "would apply" if report.dry_run else "applied"
    for name in report.applied:
        output.info(f"{verb} {name}")
    for name in report.pruned:
        output.info(("would prune " if report.dry_run else "pruned ") + name)
    if report.unchecked:
        output.info(f"not checked by the server (their namespace does not exist yet): "
                    f"{abbreviated(report.unchecked)}")
    if report.failed:
        output.info(f"failed: {report.failed}; not applied: {', '.join(report.not_applied) or '-'}")
        if report.restored:
            output.info(f"put back as they were: {', '.join(report.restored)}")
        return
    output.info(f"{report.space}: {len(report.applied)} {verb}, {len(report.unchanged)} unchanged"
                + (f", {len(report.pruned)} pruned" if report.pruned else "")
                + f" ({counted(report.kubectl_calls, 'kubectl call')})")
