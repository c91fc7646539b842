"""``gitops init``: a new config dir, written from one of the examples the package ships.

The examples live under ``generator/examples/`` (package data): ``starter`` (one service and
its Namespace) and ``traderx`` (the full example). A new config dir is not a change to a
manifests repo: no lock, no commit. It refuses a directory that holds anything, so it never
overwrites a file; it reads the config it wrote back (``config.load_project``) so what it
reports is what `gitops render` will make. It must not render, touch git or start a process.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from generator import yamlio
from generator.config import load_project
from generator.configdir import CONFIG_FILE
from generator.errors import GitopsError
from generator.model import check_name

EXAMPLES = ("starter", "traderx")
_ROOT = Path(__file__).resolve().parent.parent / "examples"


@dataclass(frozen=True)
class Initialized:
    """What ``init`` wrote: the directory, the example, and what its config defines."""

    directory: Path
    example: str
    project: str
    files: tuple[str, ...]  # relative to directory, sorted
    spaces: tuple[str, ...]  # the spaces `gitops render` will make, base first
    units: tuple[str, ...]  # the base's units
    repo: Path  # the manifests repo gitops.yaml names


def example_dir(example: str) -> Path:
    """The shipped files of one example (symlinks resolved when copied)."""
    if example not in EXAMPLES:
        raise GitopsError(f"no example named {example!r}", f"examples: {', '.join(EXAMPLES)}")
    return _ROOT / example


def init(directory: Path, example: str = "starter", project: str | None = None,
         namespace: str | None = None) -> Initialized:
    """Write a new config dir into ``directory`` (created if missing; refused if not empty)."""
    source = example_dir(example)
    if project is not None:
        check_name("project", project)
    if namespace is not None:
        check_name("namespace", namespace)
    _check_empty(directory)
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, directory, symlinks=False, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    if project is not None:
        _set(directory / CONFIG_FILE, CONFIG_FILE, "project", project)
    if namespace is not None:
        _set(directory / "templates" / "values.yaml", "templates/values.yaml", "namespace", namespace)
    loaded = load_project(directory)
    files = tuple(sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()))
    return Initialized(directory, example, loaded.name, files,
                       (loaded.base.name, *(s.name for s in loaded.spaces)),
                       tuple(loaded.unit_names()), loaded.repo)


def _check_empty(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise GitopsError(f"{directory} is a file, not a directory",
                          "pass a new or empty directory, e.g. gitops init my-config")
    if directory.is_dir() and any(directory.iterdir()):
        raise GitopsError(f"{directory} is not empty: gitops init writes only into a new or empty directory",
                          "pass a new directory, e.g. gitops init my-config")


def _set(path: Path, rel: str, key: str, value: str) -> None:
    """One top-level key of a shipped YAML file, comments and layout kept."""
    text = path.read_text()
    data = yamlio.load_roundtrip(text, rel)
    data[key] = value
    path.write_text(yamlio.dump_roundtrip(data, like=text))
