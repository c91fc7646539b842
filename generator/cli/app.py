"""The root ``gitops`` app: its global options, the error handler, and how a command runs a
mutating verb's entry function and reports its outcome (``committed``).

``run`` turns every outcome into an exit code: an expected failure (``GitopsError``) is a
one-line message, a hint and exit 1; a usage error exits 2; a bug exits 3 with its traceback
saved to a file; Ctrl-C exits 130. ``--repo``, ``--config`` and ``-o`` are taken before the
command or after it. ``--install-completion SHELL`` / ``--show-completion SHELL`` are typer's;
a completion request (``_GITOPS_COMPLETE`` set, see ``complete``) is answered before any command.

Typer only. It must not know the commands: the package ``__init__`` registers them. The
operations it calls (to open the repo, to mutate) are imported when called, so ``--help``
and a usage error do not pay for them.
"""

from __future__ import annotations

import atexit
import copy
import inspect
import os
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NamedTuple, NoReturn, Optional

import typer
from typer.models import DefaultPlaceholder
import typer.core

from generator import __version__, output
from generator.cli import present
from generator.cli.options import Edit, OutputOpt, optional
from generator.errors import ConfigError, GitopsError

if TYPE_CHECKING:
    from generator.config import Project
    from generator.operations.fleet import Fleet
    from generator.operations import mutation
    from generator.operations.mutation import Outcome
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


class Globals(NamedTuple):
    """The root's options, as every command reads them (``globals_of``)."""

    repo: Optional[str]
    config: Optional[str]
    output: Optional[str]

    def project(self) -> Project:
        from generator.config import load_project
        from generator.configdir import find_config

        return load_project(find_config(self.config))

    def repo_path(self, project: Optional[Project] = None) -> Path:
        chosen = self.repo or os.environ.get("GITOPS_REPO")
        if chosen:
            return Path(chosen).expanduser().absolute()
        if project is not None:
            return project.repo
        from generator.configdir import default_repo, find_config

        try:
            return default_repo(find_config(self.config))
        except ConfigError as e:
            raise ConfigError("no manifests repo given and no config dir found",
                              "pass --repo PATH or set GITOPS_REPO") from e

    def store(self, project: Optional[Project] = None) -> Store:
        from generator.store import Store

        return Store.open(self.repo_path(project))

    def fleet(self, space: Optional[str] = None) -> Fleet:
        """The fleet; ``space``: the --space the command is about (a name's folders are then
        listed with the records, in one git process; a glob or a bad name is not)."""
        from generator.model import is_name
        from generator.operations.fleet import Fleet

        return Fleet.load(self.store(), [space] if space is not None and is_name(space) else [])

    def fmt(self, local: Optional[str], default: str = "table") -> str:
        chosen = (local or self.output or default).lower()
        if chosen not in output.FORMATS:
            raise typer.BadParameter(f"{chosen!r} is not one of {', '.join(output.FORMATS)}",
                                     param_hint="'-o' / '--output'")
        return chosen


def globals_of(ctx: typer.Context) -> Globals:
    root = ctx.find_root()
    assert isinstance(root.obj, Globals)
    return root.obj


def committed(ctx: typer.Context, change: Callable[[Store], Outcome], edit: Edit, verb: str) -> None:
    """Run one verb's entry function on the repo and report its outcome."""
    g = globals_of(ctx)
    fmt = g.fmt(edit.output_format)
    store = g.store()
    present.report(change(store), store, fmt, verb)


def landing(edit: Edit) -> mutation.Edit:
    """The edit options as the operations take them (the output format stays here)."""
    from generator.operations import mutation

    return mutation.Edit(edit.reason, edit.author, edit.dry_run, edit.changeset)


def _version(ctx: typer.Context, value: bool) -> None:
    if value and not ctx.resilient_parsing:  # not while completing `gitops --version <TAB>`
        print(f"gitops {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    repo: Annotated[Optional[str], optional(
        "--repo", help="The manifests repo. Default: $GITOPS_REPO, else `repo:` in gitops.yaml.")] = None,
    config: Annotated[Optional[str], optional(
        "--config", help="The config dir (gitops.yaml, templates/, environments/, regions/). Default: "
        "$GITOPS_CONFIG, else the nearest directory up with a gitops.yaml.")] = None,
    output_format: OutputOpt = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    ctx.obj = Globals(repo, config, output_format)


# --- help text ---------------------------------------------------------------------------


def _unwrapped(doc: str) -> str:
    """A docstring as help text: each prose paragraph one line, for the terminal to wrap (rich
    would keep the source's line breaks); paragraphs with indented lines (examples) as written.
    The summary is followed by two blank lines: typer dedents the rest as a block whose first
    line does not count, and a blank first line keeps examples from losing their indent."""
    paragraphs = [p if any(line[:1].isspace() for line in p.splitlines())
                  else " ".join(line.strip() for line in p.splitlines())
                  for p in inspect.cleandoc(doc).split("\n\n")]
    return "\n\n\n".join([paragraphs[0], "\n\n".join(paragraphs[1:])]) if len(paragraphs) > 1 else paragraphs[0]


def unwrap_help(group: typer.Typer) -> None:
    """Every command's help from its docstring, unwrapped (once all are registered); a group's
    from its callback's, when it has one."""
    for command in group.registered_commands:
        if command.help is None and command.callback is not None and command.callback.__doc__:
            command.help = _unwrapped(command.callback.__doc__)
    info = group.registered_callback
    if info is not None and isinstance(info.help, DefaultPlaceholder) and info.callback is not None \
            and info.callback.__doc__:
        info.help = _unwrapped(info.callback.__doc__)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            unwrap_help(sub.typer_instance)


# --- global options after the command ----------------------------------------------------


def _late(name: str) -> Callable[[typer.Context, object, Optional[str]], None]:
    def store(ctx: typer.Context, _param: object, value: Optional[str]) -> None:
        root = ctx.find_root()
        if value is None:
            return
        if isinstance(root.obj, Globals):  # (read through globals_of: the root's, replaced)
            root.obj = root.obj._replace(**{name: value})
        else:  # completing: the root callback never ran; complete.py reads the root's params
            root.params[name] = value
    return store


_LATE = {
    "repo": (["--repo"], "The manifests repo (as before the command)."),
    "config": (["--config"], "The config dir (as before the command)."),
    "output": (["-o", "--output"], "Output format: table, json or yaml (as before the command)."),
}


def _accept_globals(group: typer.core.TyperGroup) -> None:
    """--repo, --config and -o also after the subcommand (``gitops unit list --repo R -o json``)."""
    for command in group.commands.values():
        if isinstance(command, typer.core.TyperGroup):
            _accept_globals(command)
            continue
        taken = {opt for param in command.params for opt in getattr(param, "opts", [])}
        for name, (opts, text) in _LATE.items():
            if not taken & set(opts):
                command.params.append(typer.core.TyperOption(
                    param_decls=opts, expose_value=False, callback=_late(name), help=text,
                    metavar="TEXT"))


def _completion_options() -> list[typer.core.TyperOption | typer.core.TyperArgument]:
    """Typer's --install-completion and --show-completion, with the shell named (typer's default
    guesses it from the parent process, which a script, a Dockerfile or CI does not have)."""
    from typer._completion_classes import completion_init
    from typer._completion_shared import Shells
    from typer.completion import install_callback, show_callback
    from typer.models import ParamMeta

    completion_init()  # typer's bash, zsh, fish and powershell answers to _GITOPS_COMPLETE
    return [typer.main.get_click_param(ParamMeta(name=name, annotation=Optional[Shells], default=typer.Option(
        None, f"--{name.replace('_', '-')}", callback=callback, expose_value=False, show_default=False,
        metavar="SHELL", help=text)))[0]
        for name, callback, text in (
            ("install_completion", install_callback, "Install completion for SHELL: bash, zsh, fish or "
             "powershell (it completes space, unit, changeset and filter names)."),
            ("show_completion", show_callback, "Print the completion script for SHELL, to install it "
             "by hand."))]


# --- the command tree: only the branch a command line takes ------------------------------

_ROOT_VALUES = frozenset(opt for opts, _ in _LATE.values() for opt in opts) | {"--install-completion",
                                                                              "--show-completion"}


def _named(args: list[str], root: bool) -> Optional[tuple[str, list[str]]]:
    """The subcommand ``args`` name and the words after it; ``""`` when they name none but pass
    only the root's options; None when an option comes first that the root does not take
    before a command (-h, an unknown one: the whole tree then answers), or in a group at all."""
    at = 0
    while at < len(args):
        word = args[at]
        if not word.startswith("-") or word == "-":
            return word, args[at + 1:]
        if not root:
            return None
        if word in _ROOT_VALUES:
            at += 2
        elif word == "--version" or word.partition("=")[0] in _ROOT_VALUES \
                or (word.startswith("-o") and not word.startswith("--")):
            at += 1
        else:
            return None
    return ("", []) if root else None


def _only(group: typer.Typer, commands: list[typer.models.CommandInfo],
          groups: list[typer.models.TyperInfo]) -> typer.Typer:
    pruned = copy.copy(group)
    pruned.registered_commands, pruned.registered_groups = commands, groups
    return pruned


def _branch(group: typer.Typer, args: list[str], root: bool = True) -> typer.Typer:
    """``group`` with only the command or group that ``args`` name, recursively: typer builds
    every command it is given (inspecting each parameter, ~1.5 ms a command), and one command
    line runs one. As it is when ``args`` name none (help, a usage error's suggestions) or a
    name it does not have; a group with options of its own is kept whole. ``gitops
    --version`` alone builds no command."""
    named = _named(args, root)
    if named is None:
        return group
    name, rest = named
    if not name:
        return _only(group, [], []) if "--version" in args else group
    for command in group.registered_commands:
        if command.callback is not None and (command.name or typer.main.get_command_name(
                command.callback.__name__)) == name:
            return _only(group, [command], [])
    for info in group.registered_groups:
        if info.name == name and info.typer_instance is not None:
            inner = info.typer_instance
            callback = inner.info.callback
            if inner.registered_callback is None and (callback is None or isinstance(callback, DefaultPlaceholder)
                                                      and callback.value is None):
                inner = _branch(inner, rest, root=False)
            info = copy.copy(info)
            info.typer_instance = inner
            return _only(group, [], [info])
    return group


def _completion_words() -> Optional[list[str]]:
    """The words of a shell's completion request before the one it completes, as typer's
    classes read them for that shell: the branch they take is all a <TAB> needs built. None
    (the whole tree) for any other request (`source`, an unknown shell)."""
    mode, _, shell = os.environ.get("_GITOPS_COMPLETE", "").partition("_")
    if mode != "complete":
        return None
    from typer._click.shell_completion import get_completion_class
    from typer._completion_classes import completion_init

    completion_init()
    complete = get_completion_class(shell)
    if complete is None:
        return None
    try:
        words, _ = complete(typer.core.TyperGroup(), {}, "gitops", "_GITOPS_COMPLETE").get_completion_args()
    except (KeyError, ValueError):  # the shell's variables missing or unparsable: typer says so
        return None
    return None if "--version" in words else list(words)  # (`--version` alone prunes everything)


def _command(args: Optional[list[str]] = None) -> typer.core.TyperGroup:
    """The click command tree: the whole of it, or the branch that the command line ``args``
    takes (see ``_branch``)."""
    command = typer.main.get_command(app if args is None else _branch(app, args))
    assert isinstance(command, typer.core.TyperGroup)
    _accept_globals(command)
    command.params += _completion_options()
    return command


# --- entry point -------------------------------------------------------------------------


def run(argv: Optional[list[str]] = None) -> int:
    """Run the CLI and return its exit code (see the module docstring)."""
    try:
        completing = any(key.startswith("_GITOPS_COMPLETE") for key in os.environ)
        args = _completion_words() if completing else list(sys.argv[1:] if argv is None else argv)
        code = _command(args).main(args=argv, prog_name="gitops", standalone_mode=False)
        return code if isinstance(code, int) else 0  # click returns a typer.Exit's code
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
    _exit(run())


def _exit(code: int) -> NoReturn:
    """Leave as ``sys.exit`` would, less the interpreter's teardown, which frees every object
    and module one by one: ~25 ms of a read's 0.2 s, 0.1-0.2 s after a 1000-region render. The
    exit functions run (a finished pool's, a process's finalizer) and the output is flushed;
    with another thread alive, or output that cannot be flushed (a closed pipe), Python
    exits as usual, waiting for the thread or reporting the pipe."""
    if threading.active_count() == 1:
        atexit._run_exitfuncs()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            sys.exit(code)
        os._exit(code)
    sys.exit(code)
