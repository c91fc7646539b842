"""Presenting results: tables (rich), JSON and YAML on stdout; messages on stderr.

The only module that writes to the terminal besides ``generator.cli``; operations hand it plain data.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape

from generator import yamlio

FORMATS = ("table", "json", "yaml")

stdout = Console(highlight=False, soft_wrap=True)
if not stdout.is_terminal:  # piped: never wrap cells, a script reads whole lines
    stdout = Console(highlight=False, soft_wrap=True, width=100_000)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def emit(data: Any, fmt: str) -> None:
    """Print data as JSON or YAML (machine-readable, on stdout)."""
    if fmt == "json":
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(yamlio.dump(data))


def listing(rows: Sequence[dict[str, Any]], fmt: str,
            columns: Sequence[tuple[str, Callable[[dict[str, Any]], Any]]], empty: str) -> None:
    """A listing in the format asked for: JSON/YAML of the rows, or a table of some columns."""
    if fmt == "table":
        table(rows, columns, empty)
    else:
        emit(list(rows), fmt)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, Callable[[dict[str, Any]], Any]]],
          empty: str = "nothing to show") -> None:
    """Print rows as a table with the given (header, getter) columns."""
    from rich.table import Table

    if not rows:
        stderr.print(f"[dim]{empty}[/dim]")
        return
    grid = Table(box=None, pad_edge=False, header_style="bold")
    for header, _ in columns:
        grid.add_column(header, overflow="fold")
    for row in rows:
        grid.add_row(*(escape(_cell(get(row))) for _, get in columns))
    stdout.print(grid)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def line(text: str) -> None:
    """One line on stdout as it is: no markup, no wrapping, flushed (a log line)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def info(message: str) -> None:
    stderr.print(escape(message))


def error(message: str, hint: str = "") -> None:
    stderr.print(f"[bold red]error:[/bold red] {escape(message)}")
    if hint:
        stderr.print(f"[dim]hint: {escape(hint)}[/dim]")


@contextmanager
def progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr when it is a terminal; a no-op callback otherwise."""
    if not stderr.is_terminal:
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=stderr, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@contextmanager
def progress_lines(label: str) -> Iterator[Callable[[str], None]]:
    """A spinner with the current step on stderr when it is a terminal; else one line per step."""
    if not stderr.is_terminal:
        yield lambda step: stderr.print(f"{label}: {step}", highlight=False, markup=False)
        return
    with stderr.status(label) as spinner:
        yield lambda step: spinner.update(f"{label}: {step}")
