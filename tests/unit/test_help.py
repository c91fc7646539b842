"""--help that teaches: prose wraps to the terminal, examples keep their indentation."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import typer

from generator import cli


def commands(group: typer.Typer, prefix: str = "") -> Iterator[tuple[str, str]]:
    for command in group.registered_commands:
        yield prefix + (command.name or command.callback.__name__), command.help or ""  # type: ignore[union-attr]
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        yield from commands(sub.typer_instance, f"{prefix}{sub.name} ")


def test_every_command_has_help_with_whole_paragraphs_and_indented_examples() -> None:
    seen = dict(commands(cli.app))
    assert {"apply", "worker", "changeset apply", "unit list", "audit"} <= set(seen)
    with_examples = 0
    for name, text in seen.items():
        assert text, f"{name} has no help"
        summary, _, rest = inspect.cleandoc(text).partition("\n\n")
        assert "\n" not in summary, name
        shown = inspect.cleandoc(rest)  # what typer does to everything after the summary
        for paragraph in rest.strip("\n").split("\n\n"):
            if not paragraph[:1].isspace() and not any(line[:1].isspace() for line in paragraph.splitlines()):
                assert "\n" not in paragraph, f"{name}: a prose paragraph keeps its source line breaks"
        if any(line.startswith("  gitops") for line in rest.splitlines()):
            with_examples += 1
            assert any(line.startswith("  gitops") for line in shown.splitlines()), \
                f"{name}: its examples lose their indentation"
    assert with_examples >= 6
