"""``gitops destroy``: the objects of a space (or of some of its units) deleted from its cluster,
git left as it is.

The objects are found by the ``gitops.dev/space`` label in one ``kubectl get`` per space
(``apply.live``) and deleted in the reverse of the apply order by the code that prunes
(``apply.deletion_order``, ``apply.delete``): an ingress before its services, the namespace
last. Every space is planned (read) before anything is deleted. A production space
(``select.critical``: environment=prod or critical=true) is destroyed only when ``--space``
names it exactly, never through a glob. The space's inventory (``operations/inventory.py``)
goes first, before any object: the next apply reads the live objects. Nothing here writes to the manifests repo: the
configuration stays, and ``gitops apply`` brings the objects back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from generator.errors import GitopsError, NotFoundError
from generator.handoff import SPACE_LABEL
from generator.model import is_glob
from generator.kubectl import Kubectl, KubectlError
from generator.operations import apply, inventory
from generator.operations.fleet import Fleet
from generator.operations.select import critical, matched

Key = tuple[str, str, str]  # (kind, namespace, name), as apply.live keys the cluster's objects


@dataclass
class Destroyed:
    """What ``destroy`` of one space deleted (or, dry, would delete), in the order it went."""

    space: str
    context: str
    dry_run: bool
    going: list[Key]
    deleted: list[str] = field(default_factory=list)
    kubectl_calls: int = 0
    namespace: str = ""  # where the space's inventory is

    def data(self) -> dict[str, Any]:
        return {"space": self.space, "context": self.context, "dryRun": self.dry_run,
                "deleted": self.deleted, "kubectlCalls": self.kubectl_calls, "gitUntouched": True}


def _refuse_production(fleet: Fleet, space_glob: str) -> None:
    """A glob never reaches a production space: it must be named exactly."""
    if not is_glob(space_glob):
        return
    production = [s.name for s in fleet.match(space_glob) if critical(s)]
    if production:
        raise GitopsError(f"gitops destroy will not delete production spaces matched by the glob "
                          f"{space_glob!r}: {', '.join(production)}",
                          f"name a production space exactly to destroy it (--space {production[0]}), "
                          "or narrow the glob")


def _plan(kubectl: Kubectl, fleet: Fleet, space: str, unit: str | None, where: str | None,
          filter_name: str | None, dry_run: bool) -> Destroyed:
    """The space's objects to delete (one kubectl get): all of them that carry its label, or
    those of the selected units; a ``unit`` not on the cluster is an error."""
    start = len(kubectl.calls)
    context = fleet.space(space).target.context
    selecting = unit is not None or where is not None or filter_name is not None
    items = apply.desired(fleet, space, unit, where, filter_name) if selecting else apply.desired(fleet, space)
    current = apply.live(kubectl, space, context, apply.kinds(items))
    if selecting:
        missing = [d for d in items if d.key not in current]
        if unit is not None and missing:
            raise NotFoundError(f"{space}/{unit} is not on the cluster: no {missing[0].name} in namespace "
                                f"{missing[0].key[1] or '-'} (context {kubectl.context or context})",
                                f"see `gitops status --space {space}`")
        wanted = {d.key for d in items}
        current = {key: obj for key, obj in current.items() if key in wanted}
    return Destroyed(space, kubectl.context or context, dry_run, apply.deletion_order(current),
                     kubectl_calls=len(kubectl.calls) - start, namespace=fleet.space(space).target.namespace)


def destroy_spaces(kubectl: Kubectl, fleet: Fleet, space_glob: str, unit: str | None = None,
                   where: str | None = None, filter_name: str | None = None, dry_run: bool = False,
                   wait: bool = True, timeout: str = "60s", progress: apply.Progress | None = None,
                   done: Callable[[Destroyed], None] | None = None) -> list[Destroyed]:
    """``gitops destroy``: every space the glob matches planned first (a production one refused
    unless named exactly; a selection that matches no unit, or nothing on the cluster, is an
    error), then its objects deleted in reverse apply order (``dry_run``: a server-side dry run
    of each delete). ``done`` hears each space's result as it is made."""
    _refuse_production(fleet, space_glob)
    if unit is not None or where is not None or filter_name is not None:
        matched(fleet, space_glob, unit, where, filter_name)
    plans = [_plan(kubectl, fleet, s.name, unit, where, filter_name, dry_run) for s in fleet.match(space_glob)]
    if not any(p.going for p in plans):
        contexts = ", ".join(sorted({p.context for p in plans}))
        what = "the selected units of " if unit or where or filter_name else ""
        raise NotFoundError(f"nothing to destroy: no object of {what}{space_glob} is on the cluster "
                            f"(context {contexts}, label {SPACE_LABEL})", f"see `gitops status --space {space_glob}`")
    for planned in plans:
        start = len(kubectl.calls) - planned.kubectl_calls
        try:
            inventory.remove(kubectl, planned.space, planned.namespace, planned.context, dry_run)
            apply.delete(kubectl, planned.going, planned.context, timeout, dry_run, planned.deleted, wait, progress)
        except KubectlError as e:
            raise GitopsError(f"destroy of {planned.space} stopped: {e.message}",
                              f"deleted before it: {', '.join(planned.deleted) or 'nothing'}; git is untouched; "
                              f"{e.hint}") from e
        finally:
            planned.kubectl_calls = len(kubectl.calls) - start
        if done is not None:
            done(planned)
    return plans
