"""Shell completion's candidates: the names of spaces, units, open changesets and named filters,
read straight from the manifests repo's work tree (``gitops --install-completion SHELL``).

Each completer is a parameter type (``click_type=complete.spaces`` in ``options``): click asks a
parameter's type for candidates, and typer takes such a type as it is. Typer's own
``autocompletion=`` would inspect the completer's signature for every parameter each time the
command tree is built, on every command: 15 ms of start-up that completion must not cost.

A completer runs on every <TAB>, in a process that imported only the CLI: it lists directories
and reads one small JSON file. It must not import git, ruamel, the config loader (its WHERE
grammar costs 0.1 s to import), the store or the operations, and it never raises or prints: on
any problem it offers nothing, and the shell falls back to file names.

Where the repo is: ``--repo`` (before or after the command), else $GITOPS_REPO, else ``repo:``
in ``--config``'s / $GITOPS_CONFIG's / the nearest gitops.yaml up (default ``manifests``), as
``generator.config`` resolves it for a command.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Optional

from typer._click import Context, Parameter
from typer._click.shell_completion import CompletionItem
from typer._click.types import StringParamType

SPACES = ("spaces",)  # spaces/<space>/<unit>.yaml
RECORDS = (".gitops", "spaces")  # .gitops/spaces/<space>.json
SETTINGS = (".gitops", "settings.json")
CHANGESET_BRANCHES = "refs/heads/changeset/"
SPACE_PARAMS = ("upstream_space", "source", "space")  # the space whose units are meant, first found

Find = Callable[[Context, Path, str], Iterable[str]]


class Names(StringParamType):
    """A text value (shown as <str>, like any) that the shell completes with the names ``find``
    reads from the repo; nothing, instead of failing, when there is no repo or anything else
    goes wrong."""

    def __init__(self, find: Find) -> None:
        self.find = find

    def candidates(self, ctx: Context, incomplete: str) -> list[str]:
        try:
            root = repo(ctx)
            found = self.find(ctx, root, incomplete) if root else ()
            return sorted(name for name in set(found) if name.startswith(incomplete))
        except Exception:  # a half-typed command line, a missing repo, a damaged file: no candidates
            return []

    def shell_complete(self, ctx: Context, param: Parameter, incomplete: str) -> list[CompletionItem]:
        return [CompletionItem(name) for name in self.candidates(ctx, incomplete)]


def _given(ctx: Context, name: str) -> Optional[str]:
    """An option's value as parsed so far, in this command or a group above it."""
    here: Optional[Context] = ctx
    while here is not None:
        value = here.params.get(name)
        if isinstance(value, str) and value:
            return value
        here = here.parent
    return None


def repo(ctx: Context) -> Optional[Path]:
    """The manifests repo the command line points at, if there is one."""
    chosen = _given(ctx, "repo") or os.environ.get("GITOPS_REPO")
    if chosen:
        return Path(chosen).expanduser()
    config = _given(ctx, "config") or os.environ.get("GITOPS_CONFIG")
    here = Path.cwd()
    for directory in [Path(config).expanduser()] if config else [here, *here.parents]:
        settings = directory / "gitops.yaml"
        if settings.is_file():
            from generator import yamlio  # PyYAML, imported only when completing

            named = yamlio.load_mapping(settings.read_text(), str(settings)).get("repo")
            return (directory / str(named or "manifests")).expanduser()
    return None


def _names(folder: Path, suffix: str) -> list[str]:
    return [entry[:-len(suffix)] for entry in os.listdir(folder) if entry.endswith(suffix)]


def _spaces(root: Path) -> list[str]:
    return _names(root.joinpath(*RECORDS), ".json")


def _units(root: Path, spaces: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for space in spaces:
        try:
            found.update(_names(root.joinpath(*SPACES, space), ".yaml"))
        except OSError:  # a space with no unit yet
            continue
    return found


@Names
def spaces(ctx: Context, root: Path, incomplete: str) -> Iterable[str]:
    """Space names (``--space``, ``--from``, ``--to``)."""
    return _spaces(root)


@Names
def units(ctx: Context, root: Path, incomplete: str) -> Iterable[str]:
    """Unit names of the space already given (``--space``, a name or a glob), else of every space."""
    known = _spaces(root)
    given = next(filter(None, (_given(ctx, name) for name in SPACE_PARAMS)), None)
    return _units(root, fnmatch.filter(known, given) if given else known)


@Names
def space_units(ctx: Context, root: Path, incomplete: str) -> Iterable[str]:
    """``SPACE/UNIT`` (``--merge-unit``): the spaces, each with a slash, until one space is
    typed or is the only one left; then that space's units."""
    space, slash, _ = incomplete.partition("/")
    matching = [name for name in _spaces(root) if (name == space if slash else name.startswith(space))]
    if len(matching) != 1:
        return [f"{name}/" for name in matching]
    return [f"{matching[0]}/{unit}" for unit in _units(root, matching)]


def _git_dir(root: Path) -> Path:
    """Where the repo's refs are: ``.git``, or for a linked work tree its common git dir."""
    dot_git = root / ".git"
    if dot_git.is_file():  # "gitdir: PATH" (a linked work tree, a submodule)
        dot_git = (root / dot_git.read_text().partition("gitdir:")[2].strip()).resolve()
        common = dot_git / "commondir"
        if common.is_file():
            dot_git = (dot_git / common.read_text().strip()).resolve()
    return dot_git


@Names
def changesets(ctx: Context, root: Path, incomplete: str) -> Iterable[str]:
    """Open changesets: the branches ``changeset/NAME``, loose or packed."""
    git = _git_dir(root)
    found: set[str] = set()
    loose = git.joinpath(*CHANGESET_BRANCHES.split("/"))
    if loose.is_dir():
        found.update(path.relative_to(loose).as_posix() for path in loose.rglob("*") if path.is_file())
    packed = git / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            ref = line.partition(" ")[2]
            if ref.startswith(CHANGESET_BRANCHES):
                found.add(ref[len(CHANGESET_BRANCHES):])
    return found


@Names
def filters(ctx: Context, root: Path, incomplete: str) -> Iterable[str]:
    """Named filters and sets (``--filter``), as the last render recorded them."""
    named = json.loads(root.joinpath(*SETTINGS).read_text()).get("filters") or {}
    return [str(name) for name in named]
