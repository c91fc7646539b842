"""Presenting results: tables (rich), JSON and YAML on stdout; messages on stderr.

The only module that writes to the terminal besides ``generator.cli``; operations hand it plain data.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

FORMATS = ("table", "json", "yaml")


@cache
def _console(err: bool) -> Console:
    """The rich console on stdout or stderr, made on first use: a command that prints no table
    and no message (``--version``, JSON) does not import rich."""
    from rich.console import Console

    if err:
        return Console(stderr=True, highlight=False, soft_wrap=True)
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:  # piped: never wrap cells, a script reads whole lines
        console = Console(highlight=False, soft_wrap=True, width=100_000)
    return console


def __getattr__(name: str) -> Console:
    """``output.stdout`` / ``output.stderr``: the consoles, made when first asked for."""
    if name in ("stdout", "stderr"):
        return _console(name == "stderr")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def escape(text: str) -> str:
    """Text with rich markup escaped (rich imported when needed)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def emit(data: Any, fmt: str) -> None:
    """Print data as JSON or YAML (machine-readable, on stdout)."""
    if fmt == "json":
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        from generator import yamlio

        sys.stdout.write(yamlio.dump(data))


def listing(rows: Sequence[dict[str, Any]], fmt: str,
            columns: Sequence[tuple[str, Callable[[dict[str, Any]], Any]]], empty: str) -> None:
    """A listing in the format asked for: JSON/YAML of the rows, or a table of some columns."""
    if fmt == "table":
        table(rows, columns, empty)
    elif fmt == "json" and rows:
        # one row a line: json's C encoder writes each (an indented dump is pure Python, and
        # the slowest part of listing a thousand units)
        sys.stdout.write("[\n" + ",\n".join(f"  {json.dumps(row)}" for row in rows) + "\n]\n")
    else:
        emit(list(rows), fmt)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, Callable[[dict[str, Any]], Any]]],
          empty: str = "nothing to show") -> None:
    """Print rows as a table with the given (header, getter) columns.

    Piped, or longer than a screen, plain ASCII is aligned here, as kubectl does (rich takes
    about a second for a thousand rows); rich draws the rest (bold headers, cells folded to the
    terminal's width, wide characters measured).
    """
    if not rows:
        _console(True).print(f"[dim]{empty}[/dim]")
        return
    headers = [header for header, _ in columns]
    cells = [[_cell(get(row)) for _, get in columns] for row in rows]
    if (len(rows) > 100 or not sys.stdout.isatty()) and all(
            text.isascii() and text.isprintable() for line in [headers, *cells] for text in line):
        widths = [max(len(line[i]) for line in [headers, *cells]) for i in range(len(headers))]
        sys.stdout.write("".join("  ".join(text.ljust(width) for text, width in zip(line, widths)) + "\n"
                                 for line in [headers, *cells]))
        return
    from rich.markup import escape
    from rich.table import Table

    grid = Table(box=None, pad_edge=False, header_style="bold")
    for header, _ in columns:
        grid.add_column(header, overflow="fold")
    for line in cells:
        grid.add_row(*(escape(text) for text in line))
    _console(False).print(grid)


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


def _to_stderr(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def info(message: str) -> None:
    """A message on stderr: as it is off a terminal (rich is imported only to style it)."""
    if not sys.stderr.isatty():
        _to_stderr(message)
        return
    _console(True).print(escape(message))


def error(message: str, hint: str = "") -> None:
    """``error: message`` and ``hint: hint`` on stderr (red and dim on a terminal)."""
    if not sys.stderr.isatty():
        _to_stderr(f"error: {message}")
        if hint:
            _to_stderr(f"hint: {hint}")
        return
    _console(True).print(f"[bold red]error:[/bold red] {escape(message)}")
    if hint:
        _console(True).print(f"[dim]hint: {escape(hint)}[/dim]")


@contextmanager
def progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr when it is a terminal; a no-op callback otherwise (rich is
    imported only when a bar is drawn)."""
    if not sys.stderr.isatty() or not _console(True).is_terminal:
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=_console(True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@contextmanager
def progress_lines(label: str) -> Iterator[Callable[[str], None]]:
    """A spinner with the current step on stderr when it is a terminal; else one line per step
    (written as it is: rich is imported only for a spinner)."""
    if not sys.stderr.isatty() or not _console(True).is_terminal:
        yield lambda step: _to_stderr(f"{label}: {step}")
        return
    with _console(True).status(label) as spinner:
        yield lambda step: spinner.update(f"{label}: {step}")
