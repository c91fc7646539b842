"""The options more than one command takes, each declared once, and their checks at parse time.

A value that can be wrong without reading anything (``--prefer``, ``--env-var K=V``,
``--label K=V``, ``--timeout``, ``--interval``) is refused here, as a usage error (exit 2),
before a lock is taken or a file read. Options that travel together reach a command as one
named tuple (a dataclass costs each command line ~1.5 ms to create): ``Edit`` (the five every
mutating command takes), ``Selection``, ``Handover`` and ``Kube``. Options
that name a space, a unit, a filter or a changeset complete it in the shell (``complete``).

Typer only: no I/O, no operations; the parsers used are pure.
"""

from __future__ import annotations

import enum
import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, Optional

import typer

from generator import durations
from generator.cli import complete

if TYPE_CHECKING:
    from generator.kubectl import Kubectl


def optional(*names: str, help: str, **more: Any) -> Any:
    """An option that may be left out (None when it is), whose default --help does not show."""
    return typer.Option(*names, help=help, show_default=False, **more)


class Prefer(str, enum.Enum):
    """Who wins where upstream and a local edit changed the same field differently."""

    local = "local"
    upstream = "upstream"


def _key_values(pairs: Optional[list[str]]) -> Optional[list[str]]:
    for pair in pairs or []:
        key, sep, _ = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r} is not KEY=VALUE")
    return pairs


def labels(pairs: Optional[list[str]]) -> dict[str, str]:
    """``--label`` values (checked when parsed) as a dict."""
    return {key: value for key, _, value in (pair.partition("=") for pair in pairs or [])}


def _assignment(value: str) -> str:
    """``--env-var``: NAME=VALUE, or NAME- (remove it), as `gitops run set-env-var` applies it."""
    from generator.functions import FunctionError, check_assignment

    try:
        check_assignment(value)
    except FunctionError:
        raise typer.BadParameter(f"{value!r} is not NAME=VALUE (or NAME- to remove it), "
                                 "e.g. CIRCUIT_BREAKER=true") from None
    return value


def _timeout(value: str) -> str:
    if not durations.kubectl_duration(value):
        raise typer.BadParameter(f"{value!r} is not a kubectl duration (60s, 2m, 1h30m)")
    return value


def _interval(value: str) -> str:
    every = durations.seconds(value)
    if every is None or every <= 0:
        raise typer.BadParameter(f"{value!r} is not a length of time (10s, 2m, 1h)")
    return value


OutputOpt = Annotated[Optional[str], optional(
    "-o", "--output", help="Output format: table, json or yaml.")]
PreferOpt = Annotated[Prefer, typer.Option(
    "--prefer", metavar="<str>", help="When upstream and a local edit changed the same field "
    "differently: keep 'local' (the default) or take 'upstream'. Either way the conflict is "
    "reported.")]
DryRunOpt = Annotated[bool, typer.Option(
    "--dry-run", help="Print the diff of every unit it would change; change nothing.")]
ReasonOpt = Annotated[Optional[str], optional(
    "--reason", help="Why: recorded as the Gitops-Reason trailer.")]
AuthorOpt = Annotated[Optional[str], optional(
    "--author", help="'Name <email>' of the person making the change (default: git config).")]
ChangesetOpt = Annotated[Optional[str], optional(
    "--changeset", help="Record this edit on that open changeset's branch, not on main (default: the "
    "changeset `gitops changeset use` made current).", click_type=complete.changesets)]

SpaceOpt = Annotated[str, typer.Option(
    "--space", help="The space (one name, no glob), e.g. traderx-prod-eu.", click_type=complete.spaces)]
ScopeOpt = Annotated[Optional[str], optional(
    "--space", help="Spaces to change, a glob: traderx-dev, 'traderx-prod-*', or '*' for every space. "
    "Required: a change across spaces is never a default.", click_type=complete.spaces)]
GlobOpt = Annotated[str, typer.Option(
    "--space", help="Spaces, a glob: traderx-prod-eu, 'traderx-prod-*', '*' (one line per space).",
    click_type=complete.spaces)]
UnitArg = Annotated[str, typer.Argument(help="The unit, e.g. trade-service.", click_type=complete.units)]
UnitOpt = Annotated[Optional[str], optional("--unit", help="Only this unit.", click_type=complete.units)]
WhereOpt = Annotated[Optional[str], optional(
    "--where", help="Only units matching this WHERE clause, e.g. \"spec.replicas > 2 AND Labels.layer = "
    "'backend'\" (see README, Find and fix).")]
FilterOpt = Annotated[Optional[str], optional(
    "--filter", help="Only units matching this named filter or set (gitops filter list).",
    click_type=complete.filters)]
LabelOpt = Annotated[Optional[list[str]], optional(
    "--label", help="KEY=VALUE, repeatable.", callback=_key_values)]
EnvVarOpt = Annotated[str, typer.Option(
    "--env-var", help="NAME=VALUE (added or replaced), or NAME- to remove it.", callback=_assignment)]

PreviewOutputOpt = Annotated[Optional[str], optional(
    "-o", "--output", help="table, json, yaml, or markdown: one pull-request comment (starts with "
    "<!-- gitops-preview -->, at most 65,536 characters).")]
FullReportOpt = Annotated[Optional[Path], optional(
    "--full-report", help="Also write the whole report, as markdown (up to 1 MiB, a job summary's "
    "limit), to this file: what a truncated comment points at.")]
LinkOpt = Annotated[Optional[str], optional(
    "--link", help="Where readers find the full report (e.g. the CI run's URL): the markdown comment "
    "links to it.")]

# The commands that talk to clusters.
ContextOpt = Annotated[Optional[str], optional(
    "--context", help="Kube context to use instead of the space's target context.")]
KubeconfigOpt = Annotated[Optional[str], optional(
    "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).")]
TimeoutOpt = Annotated[str, typer.Option(
    "--timeout", help="How long each order group may take to become healthy (kubectl duration).",
    callback=_timeout)]
NoWaitOpt = Annotated[bool, typer.Option(
    "--no-wait", help="Do not wait for each order group to become healthy.")]
IntervalOpt = Annotated[str, typer.Option(
    "--interval", help="Time between cycles: 10s, 2m, 1h.", callback=_interval)]
PollIntervalOpt = Annotated[str, typer.Option(
    "--interval", help="How often the reconciler looks at the repo and the cluster: 1m, 5m.",
    callback=_interval)]
WaveTimeoutOpt = Annotated[str, typer.Option(
    "--timeout", help="How long one wave may take to become ready (kubectl duration).", callback=_timeout)]
PruneOpt = Annotated[bool, typer.Option(
    "--prune", help="Also delete the objects whose units are no longer in git (in reverse order).")]


# `gitops export argocd | flux`
HandoverSpaceOpt = Annotated[str, typer.Option(
    "--space", help="The spaces to hand over, a glob; only targetable ones (label targetable: \"true\").",
    click_type=complete.spaces)]
RepoUrlOpt = Annotated[Optional[str], optional("--repo-url", help="Where to clone from (default: `origin`).")]
FollowOpt = Annotated[Optional[str], optional("--revision", help="Branch or commit to follow (HEAD's).")]
OutDirOpt = Annotated[Optional[Path], optional(
    "--out", help="Write one file per object into this directory (default: one YAML stream on stdout).")]
StagesOpt = Annotated[Optional[str], optional(
    "--stages", help="The environments in rollout order, comma-separated (default: dev, test, qa, "
    "staging, prod…, then any other by name).")]

Command = Callable[..., None]


class _Taking:
    """``command`` with its parameter ``name`` read by typer as ``options`` (see ``_taking``).
    Its signature is worked out when typer first asks (``inspect.signature`` reads
    ``__signature__``): evaluating every command's annotations at import cost each command
    line ~10 ms, and typer builds only the command the line names."""

    def __init__(self, command: Command, name: str, make: Callable[..., object],
                 options: dict[str, tuple[object, object]]) -> None:
        functools.update_wrapper(self, command, assigned=("__module__", "__name__", "__qualname__", "__doc__"),
                                 updated=())
        self.command, self.name, self.make, self.options = command, name, make, options

    def __call__(self, **given: Any) -> None:
        bundle = self.make(**{option: given.pop(option) for option in self.options})
        self.command(**given, **{self.name: bundle})

    @functools.cached_property
    def __signature__(self) -> inspect.Signature:
        signature = inspect.signature(self.command, eval_str=True)
        params: list[inspect.Parameter] = []
        for param in signature.parameters.values():
            params += [inspect.Parameter(option, param.kind, default=default, annotation=kind)
                       for option, (kind, default) in self.options.items()] if param.name == self.name else [param]
        return signature.replace(parameters=params)

    @functools.cached_property
    def __annotations__(self) -> dict[str, Any]:  # type: ignore[override]
        return {p.name: p.annotation for p in self.__signature__.parameters.values()}


def _taking(name: str, make: Callable[..., object],
            options: dict[str, tuple[object, object]]) -> Callable[[Command], Command]:
    """A command's parameter ``name`` read by typer as these options (``{name: (type, default)}``,
    in its place and in this order, as --help lists them); the command gets ``make(**values)``.
    Typer builds a command's options from its signature: this rewrites the signature it reads."""

    def decorate(command: Command) -> Command:
        return _Taking(command, name, make, options)
    return decorate


class Edit(NamedTuple):
    """The options every mutating command takes (``edits``)."""

    dry_run: bool = False
    reason: Optional[str] = None
    author: Optional[str] = None
    changeset: Optional[str] = None
    output_format: Optional[str] = None


def edits(on_changeset: bool = True) -> Callable[[Command], Command]:
    """``edit: Edit`` as --dry-run, --reason, --author, --changeset and -o. Without
    ``on_changeset``, no --changeset: rollback's names the changeset to undo."""
    return _taking("edit", Edit, {
        "dry_run": (DryRunOpt, False), "reason": (ReasonOpt, None), "author": (AuthorOpt, None),
        **({"changeset": (ChangesetOpt, None)} if on_changeset else {}), "output_format": (OutputOpt, None)})


class Selection(NamedTuple):
    """The units a command acts on: --space (a glob; required, checked by the operation),
    --unit, --where, --filter (``selects``)."""

    space: Optional[str] = None
    unit: Optional[str] = None
    where: Optional[str] = None
    filter_name: Optional[str] = None


selects = _taking("selection", Selection, {
    "space": (ScopeOpt, None), "unit": (UnitOpt, None), "where": (WhereOpt, None),
    "filter_name": (FilterOpt, None)})


class Handover(NamedTuple):
    """What every `gitops export argocd | flux` takes: which spaces, the repo, where to write."""

    space: str = "*"
    repo_url: Optional[str] = None
    revision: Optional[str] = None
    out: Optional[Path] = None
    stages: Optional[str] = None

    def stage_list(self) -> Optional[list[str]]:
        return [s.strip() for s in self.stages.split(",") if s.strip()] if self.stages else None


hands_over = _taking("handover", Handover, {
    "space": (HandoverSpaceOpt, "*"), "repo_url": (RepoUrlOpt, None), "revision": (FollowOpt, None),
    "out": (OutDirOpt, None), "stages": (StagesOpt, None)})


class Kube(NamedTuple):
    """How to reach the clusters: --context, --kubeconfig and, for a command that waits for
    health, --no-wait and --timeout (``on_clusters``)."""

    no_wait: bool = False
    timeout: str = "60s"
    context: Optional[str] = None
    kubeconfig: Optional[str] = None

    def kubectl(self) -> Kubectl:
        from generator.kubectl import Kubectl

        return Kubectl(kubeconfig=self.kubeconfig, context=self.context)


def on_clusters(waits: bool = True, times_out: bool = True) -> Callable[[Command], Command]:
    """``kube: Kube`` as --no-wait (if it ``waits``), --timeout (if it ``times_out``), --context
    and --kubeconfig."""
    return _taking("kube", Kube, {
        **({"no_wait": (NoWaitOpt, False)} if waits else {}),
        **({"timeout": (TimeoutOpt, Kube._field_defaults["timeout"])} if times_out else {}),
        "context": (ContextOpt, None), "kubeconfig": (KubeconfigOpt, None)})
