"""Applying to a cluster: `gitops apply` side by side with `kubectl apply --server-side -f
spaces/<space>/`, the command a user would otherwise run on the same manifests.

The cluster is KUBECONFIG's (its current context), else the project's scripts/test-cluster,
started here (built first if it never was) and stopped again afterwards if this started it.
The example is rendered (every unit of it in each space) with two more copies of the eu
region, each in a namespace of its own: one that gitops applies, one that kubectl applies, so
neither tool finds the other's objects. Both namespaces are deleted at the end.

Measured, each the median of --repeat runs, wall clock around whole processes:
- unchanged: the space as the cluster already has it, applied again;
- one changed unit: trade-service's replicas changed in git (`gitops run set-replicas` on both
  spaces, not timed, alternating values), then each tool applies the whole space; gitops with
  `--no-wait` since kubectl apply does not wait, and once more waiting for the rollout;
- kubectl calls: gitops's own count (`apply -o json` reports it); kubectl apply is one call;
- disaster recovery: the gitops space's namespace deleted, then re-created by `gitops apply
  --revision <the first render>` (main has moved on), waiting until every object is ready.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import synth
from common import BenchmarkError, Row, fmt_seconds, log, median_of, run, timed

PROJECT = synth.PROJECT_ROOT
UNITS = synth.unit_count(PROJECT)  # units a space of the example has
TEST_CLUSTER = PROJECT / "scripts" / "test-cluster"
MEASURES = [  # (title, gitops row, kubectl row)
    (f"unchanged {UNITS}-unit space", "cluster.unchanged.gitops", "cluster.unchanged.kubectl"),
    ("one unit changed", "cluster.one.gitops", "cluster.one.kubectl"),
]


_COUNTED = {"namespaces", "deployments", "services", "ingresses", "networkpolicies", "roles", "rolebindings"}
_WRITES = {"APPLY", "PATCH", "UPDATE", "CREATE", "DELETE"}


class Cluster:
    """A kubeconfig and context to measure on; ``close`` stops a test cluster this started."""

    def __init__(self, kubectl: str) -> None:
        self.kubectl = kubectl
        self.started = False
        kubeconfig = os.environ.get("KUBECONFIG")
        if not kubeconfig:
            running = subprocess.run([str(TEST_CLUSTER), "status"], capture_output=True, text=True)
            if running.returncode != 0:
                log("  starting scripts/test-cluster (it builds first if it never did: ~12 min)")
                run([str(TEST_CLUSTER), "start"])
                self.started = True
            kubeconfig = run([str(TEST_CLUSTER), "env"]).stdout.strip().split("KUBECONFIG=", 1)[1]
        self.kubeconfig = kubeconfig
        self.context = run([kubectl, "--kubeconfig", kubeconfig, "config", "current-context"]).stdout.strip()
        self.describe = f"{self.context} ({self.version()})"

    def argv(self, *args: str) -> list[str]:
        return [self.kubectl, "--kubeconfig", self.kubeconfig, "--context", self.context, *args]

    def version(self) -> str:
        done = run(self.argv("version", "-o", "json"), check=False)
        try:
            return "server " + str(json.loads(done.stdout)["serverVersion"]["gitVersion"])
        except (ValueError, KeyError):
            return "server version unknown"

    def requests(self) -> tuple[int, int] | None:
        """How many API requests (and of them writes) the server has served so far for the kinds
        the space has, watches and status updates left out: None if /metrics is not readable."""
        done = run(self.argv("get", "--raw", "/metrics"), check=False)
        if done.returncode != 0:
            return None
        total = writes = 0
        for line in done.stdout.splitlines():
            if not line.startswith("apiserver_request_total{"):
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line[:line.rindex("}")]))
            if (labels.get("resource") not in _COUNTED or labels.get("verb") == "WATCH"
                    or labels.get("subresource")):
                continue
            count = int(float(line.rsplit(" ", 1)[1]))
            total += count
            writes += count if labels.get("verb") in _WRITES else 0
        return total, writes

    def close(self) -> None:
        if self.started:
            run([str(TEST_CLUSTER), "stop"], check=False)


def _config(root: Path, source: Path, regions: list[str]) -> Path:
    """The example's config dir with ``regions`` added, each a copy of eu in its own namespace."""
    config = root / "config"
    config.mkdir()
    for name in ("gitops.yaml", "filters.yaml"):
        if (source / name).exists():
            shutil.copy(source / name, config / name)
    for folder in ("templates", "environments", "regions"):
        shutil.copytree(source / folder, config / folder)
    eu = (source / "regions" / "eu.yaml").read_text()
    for region in regions:
        (config / "regions" / f"{region}.yaml").write_text(
            eu.replace("region: eu", f"region: {region}")
              .replace("namespace: traderx-prod-eu", f"namespace: traderx-prod-{region}"))
    return config


def measure(gitops_cmd: list[str], kubectl: str, source: Path, repeat: int) -> tuple[list[Row], str]:
    """The rows, and which cluster they were measured on."""
    cluster = Cluster(kubectl)
    suffix = uuid.uuid4().hex[:6]
    mine, theirs_region = f"benchg{suffix}", f"benchk{suffix}"
    spaces = {"gitops": f"traderx-prod-{mine}", "kubectl": f"traderx-prod-{theirs_region}"}
    root = Path(tempfile.mkdtemp(prefix="gitops-bench-cluster-"))
    env = {**synth.gitops_env(), "KUBECONFIG": cluster.kubeconfig}
    config, repo = _config(root, source, [mine, theirs_region]), root / "repo"

    def gitops(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
        return timed([*gitops_cmd, "--config", str(config), "--repo", str(repo), *args], env=env)

    def apply(*args: str) -> tuple[float, dict]:  # type: ignore[type-arg]
        seconds, done = gitops("apply", "--space", spaces["gitops"], "--context", cluster.context,
                               "--timeout", "120s", "-o", "json", *args)
        return seconds, json.loads(done.stdout)

    directory = str(repo / "spaces" / spaces["kubectl"])
    kubectl_apply = cluster.argv("apply", "--server-side", "--field-manager=bench-kubectl", "-f", directory)
    rows: list[Row] = []
    seen: dict[str, Seen] = {}

    def counted(key: str, step: Callable[[], tuple[float, int]]) -> None:
        """Run a timed step, noting its time, kubectl calls and the API requests it made."""
        before = cluster.requests()
        seconds, calls = step()
        after = cluster.requests()
        got = seen.setdefault(key, Seen())
        got.times.append(seconds)
        got.calls.add(calls)
        if before and after:
            got.requests.add((after[0] - before[0], after[1] - before[1]))

    def ours(*args: str, expect: list[str] | None = None) -> tuple[float, int]:
        seconds, report = apply(*args)
        if expect is not None and report["applied"] != expect:
            raise BenchmarkError(f"expected {expect or 'no apply'}, gitops applied {report['applied']}")
        return seconds, int(report["kubectlCalls"])

    def theirs() -> tuple[float, int]:
        return timed(kubectl_apply)[0], 1

    try:
        log(f"  cluster {cluster.describe}: rendering the example with {mine} and {theirs_region}")
        gitops("render")
        rendered = run(["git", "-C", str(repo), "rev-parse", "HEAD"]).stdout.strip()
        counted("cluster.first.gitops", lambda: ours(expect=None))
        run(cluster.argv("apply", "--server-side", "-f", f"{directory}/namespace.yaml"))
        run(kubectl_apply)

        log("  unchanged space")
        for _ in range(repeat):
            counted("cluster.unchanged.gitops", lambda: ours(expect=[]))
            counted("cluster.unchanged.kubectl", theirs)

        log("  one changed unit")
        for i in range(repeat):
            for space in spaces.values():
                gitops("run", "set-replicas", "--replicas", str(3 + i % 2), "--space", space,
                       "--unit", "trade-service")
            counted("cluster.one.gitops", lambda: ours("--no-wait", expect=[f"{spaces['gitops']}/trade-service"]))
            counted("cluster.one.kubectl", theirs)
        gitops("run", "set-replicas", "--replicas", "6", "--space", spaces["gitops"], "--unit", "trade-service")
        counted("cluster.one.gitops.wait", lambda: ours(expect=[f"{spaces['gitops']}/trade-service"]))

        log("  disaster recovery: the namespace lost, the space re-created from its first revision")
        run(cluster.argv("delete", "namespace", spaces["gitops"], "--wait=true", "--timeout=300s"))
        counted("cluster.dr.gitops", lambda: ours("--revision", rendered, expect=None))
        rows = [seen[key].row(key, WHAT[key]) for key in WHAT]
    finally:
        for space in spaces.values():
            run(cluster.argv("delete", "namespace", space, "--wait=false", "--ignore-not-found"), check=False)
        shutil.rmtree(root, ignore_errors=True)
        cluster.close()
    return rows, cluster.describe


WHAT = {
    "cluster.first.gitops": f"`gitops apply` of a new space: namespace and {UNITS - 1} objects in order, "
                            "waiting for each group's health",
    "cluster.unchanged.gitops": "`gitops apply` of an unchanged space: its inventory read (one get), no apply",
    "cluster.unchanged.kubectl": f"`kubectl apply --server-side -f spaces/<space>/` ({UNITS} files), unchanged",
    "cluster.one.gitops": "`gitops apply --no-wait`, one unit changed: one get, one apply",
    "cluster.one.kubectl": "`kubectl apply --server-side -f spaces/<space>/`, one unit changed",
    "cluster.one.gitops.wait": "`gitops apply`, one unit changed, waiting for its rollout (6 replicas)",
    "cluster.dr.gitops": "DR: namespace deleted, then `gitops apply --revision <first render>` re-creates "
                         f"the {UNITS} units, waiting until every one is ready (TraderX target: 15 min)",
}


@dataclass
class Seen:
    """What the runs of one measure gave: times, kubectl calls, (API requests, writes)."""

    times: list[float] = field(default_factory=list)
    calls: set[int] = field(default_factory=set)
    requests: set[tuple[int, int]] = field(default_factory=set)

    def row(self, key: str, what: str) -> Row:
        middle, spread = median_of(self.times)
        calls = "/".join(str(c) for c in sorted(self.calls))
        requests = ", ".join(f"{r} ({w})" for r, w in sorted(self.requests)) or "–"
        detail = (f"{what}; {calls} kubectl call{'s' if max(self.calls) > 1 else ''}; "
                  f"API requests (writes): {requests}; {spread}")
        return Row(key, middle, detail, max(self.calls), also=requests)


def section(rows: list[Row], where: str, failure: str | None) -> list[str]:
    """The report's part about the cluster: a table side by side, then the method."""
    lines = ["## Applying to a cluster", ""]
    if failure:
        return lines + [f"Not measured: {failure}", ""]
    by = {r.measure: r for r in rows}
    lines += [f"On {where}, the same machine, the same run. Median of the repeats; the ratio is "
              "kubectl's time over gitops's. API requests are the server's own count "
              "(`apiserver_request_total` for the space's kinds, watches and status left out).", "",
              "| space | gitops apply | kubectl apply --server-side -f | kubectl / gitops | "
              "kubectl calls (gitops / kubectl) | API requests, writes (gitops / kubectl) |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for title, ours_key, theirs_key in MEASURES:
        ours, theirs = by.get(ours_key), by.get(theirs_key)
        if ours is None or theirs is None or not ours.seconds or theirs.seconds is None:
            lines.append(f"| {title} | – | – | – | – | – |")
            continue
        lines.append(f"| {title} | {fmt_seconds(ours.seconds)} | {fmt_seconds(theirs.seconds)} | "
                     f"{theirs.seconds / ours.seconds:.2f}× | {ours.count} / {theirs.count} | "
                     f"{ours.also} / {theirs.also} |")
    first, waited = by.get("cluster.first.gitops"), by.get("cluster.one.gitops.wait")
    if first and waited:
        lines += ["", f"Also: the first `gitops apply` of the space (namespace and {UNITS - 1} objects in order, "
                  f"waiting for each group's health) took {fmt_seconds(first.seconds)}; one changed unit "
                  f"applied *and* waited for (rollout of 6 replicas) took {fmt_seconds(waited.seconds)}."]
    recovered = by.get("cluster.dr.gitops")
    if recovered and recovered.seconds:
        lines += ["", f"Disaster recovery: with the space's namespace deleted, `gitops apply --revision` of "
                  f"its first render re-created the {UNITS} units, every one ready, in "
                  f"{fmt_seconds(recovered.seconds)}: {900 / recovered.seconds:.0f}× inside the 15 minutes "
                  f"TraderX allows for an environment failure in prod."]
    lines += ["", (__doc__ or "").split("\n\n", 1)[1].strip(), "",
              "| measure | time | detail |", "| --- | ---: | --- |"]
    lines += [f"| {r.measure} | {fmt_seconds(r.seconds)} | {r.detail} |" for r in rows]
    return lines + [""]
