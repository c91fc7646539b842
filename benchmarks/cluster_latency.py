"""Applying to a cluster as users have them: `gitops apply` and `kubectl apply --server-side -f
spaces/<space>/` through a latency proxy (benchmarks/latency_proxy.py, DELAY added each way),
for the example's space and for a space of --units units. The variant of cluster.py that
`run.py --latency-ms MS` runs; it reuses cluster.py's Cluster and config copy.

The bigger space is the example plus extra ConfigMap units (templates/units/bench-cm-NN.yaml.j2
in the config copy, listed in values.yaml's `units` with order 2): ConfigMaps, because they cost
the cluster nothing (no ClusterIP, no pods) and are one of the kinds gitops's one get asks for.
Each size is rendered with two more copies of the eu region, one that gitops applies and one
that kubectl applies, each in a namespace of its own, deleted at the end.

Measured through the proxy, each the median of --repeat runs, wall clock around whole processes:
- unchanged: the space as the cluster already has it, applied again (gitops: its inventory read,
  one request; and `gitops apply --live`, which reads every object instead, for comparison);
- one changed unit: trade-service's replicas changed in git (`gitops run set-replicas`, not timed)
  then the whole space applied (gitops with `--no-wait`: kubectl apply does not wait);
- bytes: what went through the proxy during the run, both ways (TLS included);
- API requests: counted on the client, in one more (untimed) run of each measure in which kubectl
  is a shim that runs it with `-v=6` and keeps its request lines (gitops finds it through
  GITOPS_KUBECTL), so other users of the cluster do not count; discovery is cached on disk by
  kubectl and costs no request once warm;
- floors: `python -c pass`, `gitops --version`, `kubectl version --client`, one `kubectl get
  namespace` through the proxy, and the very `kubectl get` gitops makes for an unchanged apply
  (its argv, taken from the shim's log) replayed through the proxy.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import synth
from cluster import Cluster, _config
from common import BenchmarkError, fmt_seconds, log, median_of, run, timed
from latency_proxy import Counts, LatencyProxy

_REQUEST = re.compile(r"round_trippers\.go:\d+\] (GET|POST|PUT|PATCH|DELETE|HEAD) https?://")
_SHIM = """#!/bin/bash
printf 'ARGV %s\\n' "$*" >> {log}
start=$EPOCHREALTIME
{real} -v=6 "$@" 2> >(tee -a {log} | grep -v -E '^[IWE][0-9]{{4}} ' >&2)
code=$?
printf 'SPENT %s %s\\n' "$start" "$EPOCHREALTIME" >> {log}
exit $code
"""
_EXTRA = """{{% import '_macros.j2' as m -%}}
# A unit the benchmark adds, to measure a space of many units.
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  namespace: {{{{ namespace }}}}
  labels:
    {{{{- m.part_of() | indent(4) }}}}
data:
  index: "{index}"
"""


@dataclass
class Measure:
    """Runs of one measure: times, proxy counts, and the counted run's (requests, writes, kubectl calls)."""

    times: list[float] = field(default_factory=list)
    bytes: list[int] = field(default_factory=list)
    connections: list[int] = field(default_factory=list)
    requests: tuple[int, int, int] | None = None
    split: tuple[float, float] | None = None  # the counted run: (its wall time, of it in kubectl)

    @property
    def seconds(self) -> float:
        return median_of(self.times)[0]

    def cells(self) -> str:
        """time | requests (writes) | kubectl processes | bytes | connections"""
        req = f"{self.requests[0]} ({self.requests[1]})" if self.requests else "–"
        procs = str(self.requests[2]) if self.requests else "–"
        kb = f"{median_of([float(b) for b in self.bytes])[0] / 1024:.0f} KiB" if self.bytes else "–"
        conns = f"{median_of([float(c) for c in self.connections])[0]:.0f}" if self.connections else "–"
        return f"{fmt_seconds(self.seconds)} | {req} | {procs} | {kb} | {conns}"

    def spread(self) -> str:
        return median_of(self.times)[1]


@dataclass
class Size:
    """One space size: its unit count and the measures by key."""

    units: int
    measures: dict[str, Measure] = field(default_factory=dict)

    def get(self, key: str) -> Measure:
        return self.measures.setdefault(key, Measure())


def _add_units(config: Path, extra: int) -> None:
    """``extra`` more ConfigMap units in the config copy's templates."""
    values = config / "templates" / "values.yaml"
    lines = "".join(f"  bench-cm-{i:03d}: {{labels: {{order: \"2\", layer: config}}}}\n" for i in range(extra))
    text = values.read_text()
    if "\nunits:\n" not in text:
        raise BenchmarkError(f"{values}: no `units:` block to add units to")
    values.write_text(text.replace("\nunits:\n", "\nunits:\n" + lines, 1))
    for i in range(extra):
        name = f"bench-cm-{i:03d}"
        (config / "templates" / "units" / f"{name}.yaml.j2").write_text(_EXTRA.format(name=name, index=i))


def _proxied_kubeconfig(source: str, address: tuple[str, int], target: Path) -> Path:
    """A copy of the kubeconfig whose cluster server is the proxy (same host: TLS still verifies)."""
    text = Path(source).read_text()
    servers = set(re.findall(r"server:\s*(https://[^\s]+)", text))
    if len(servers) != 1:
        raise BenchmarkError(f"{source}: expected one cluster server, found {sorted(servers) or 'none'}")
    server = servers.pop()
    host = re.match(r"https://([^:/]+)", server)
    if not host or host.group(1) != address[0]:
        raise BenchmarkError(f"{server}: the proxy listens on {address[0]}; the certificate may not match")
    target.write_text(text.replace(server, f"https://{address[0]}:{address[1]}"))
    return target


def _upstream(kubeconfig: str) -> tuple[str, int]:
    found = re.search(r"server:\s*https://([^:/\s]+):(\d+)", Path(kubeconfig).read_text())
    if not found:
        raise BenchmarkError(f"{kubeconfig}: no https://HOST:PORT server")
    return found.group(1), int(found.group(2))


def measure(gitops_cmd: list[str], kubectl: str, source: Path, repeat: int, delay_ms: float,
            big: int = 100) -> tuple[list[Size], dict[str, Measure], str]:
    """The sizes measured (the example's, then ``big`` units), the floors, and the cluster."""
    cluster = Cluster(kubectl)
    root = Path(tempfile.mkdtemp(prefix="gitops-bench-latency-"))
    sizes: list[Size] = []
    floors: dict[str, Measure] = {}
    try:
        with LatencyProxy(_upstream(cluster.kubeconfig), delay_ms / 1000) as proxy:
            proxied = _proxied_kubeconfig(cluster.kubeconfig, proxy.address, root / "kubeconfig")
            log(f"  latency proxy {proxy.address[0]}:{proxy.address[1]}, +{delay_ms:g} ms each way")
            bench = _Bench(gitops_cmd, kubectl, cluster, proxy, proxied, root, repeat)
            floors = bench.floors()
            example = synth.unit_count(source)
            for units in (example, big):
                log(f"  {units}-unit space through the proxy")
                sizes.append(bench.size(source, units, units - example))
            # kubectl caches discovery per host_port: the proxy's port is new each run
            shutil.rmtree(Path.home() / ".kube" / "cache" / "discovery" / f"{proxy.address[0]}_{proxy.address[1]}",
                          ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        cluster.close()
    return sizes, floors, cluster.describe


class _Bench:
    def __init__(self, gitops_cmd: list[str], kubectl: str, cluster: Cluster, proxy: LatencyProxy,
                 proxied: Path, root: Path, repeat: int) -> None:
        self.gitops_cmd, self.kubectl, self.cluster, self.proxy = gitops_cmd, kubectl, cluster, proxy
        self.proxied, self.root, self.repeat = proxied, root, repeat
        self.log = root / "kubectl.log"
        self.shim = root / "kubectl-shim"
        self.shim.write_text(_SHIM.format(log=self.log, real=kubectl))
        self.shim.chmod(0o755)
        self.gets: dict[int, list[str]] = {}  # size -> the argv of gitops's get

    def kube(self, *args: str, counting: bool = False) -> list[str]:
        return [str(self.shim) if counting else self.kubectl, "--kubeconfig", str(self.proxied),
                "--context", self.cluster.context, *args]

    def timed_into(self, got: Measure, argv: list[str],
                   env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        before = self.proxy.counts()
        seconds, done = timed(argv, env=env)
        time.sleep(3 * self.proxy.delay)  # the last delayed chunks (TLS close) still in the queues
        moved: Counts = self.proxy.counts() - before
        got.times.append(seconds)
        got.bytes.append(moved.up + moved.down)
        got.connections.append(moved.connections)
        return done

    def counted(self, got: Measure, argv: list[str], env: dict[str, str] | None = None) -> list[str]:
        """One more run with kubectl as the -v=6 shim: (requests, writes, kubectl processes)."""
        self.log.write_text("")
        start = time.perf_counter()
        run(argv, env=env)
        total = time.perf_counter() - start
        lines = self.log.read_text().splitlines()
        spans = [line.split()[1:] for line in lines if line.startswith("SPENT ")]
        got.split = (total, sum(float(end) - float(begin) for begin, end in spans))
        verbs = [m.group(1) for line in lines if (m := _REQUEST.search(line))]
        argvs = [line[5:] for line in lines if line.startswith("ARGV ")]
        got.requests = (len(verbs), sum(v != "GET" for v in verbs), len(argvs))
        return argvs

    def floors(self) -> dict[str, Measure]:
        out: dict[str, Measure] = {}
        steps = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "gitops --version": [*self.gitops_cmd, "--version"],
            "kubectl version --client": [self.kubectl, "version", "--client"],
            "kubectl get namespace default (through the proxy)": self.kube("get", "namespace", "default"),
        }
        run(steps["kubectl get namespace default (through the proxy)"])  # warm kubectl's discovery cache
        for name, argv in steps.items():
            got = out[name] = Measure()
            for _ in range(self.repeat):
                self.timed_into(got, argv)
            if "through the proxy" in name:
                self.counted(got, [str(self.shim), *argv[1:]])
        return out

    def size(self, source: Path, units: int, extra: int) -> Size:
        suffix = uuid.uuid4().hex[:6]
        mine, theirs = f"latg{suffix}", f"latk{suffix}"
        spaces = {"gitops": f"traderx-prod-{mine}", "kubectl": f"traderx-prod-{theirs}"}
        work = self.root / f"u{units}"
        work.mkdir()
        config, repo = _config(work, source, [mine, theirs]), work / "repo"
        if extra:
            _add_units(config, extra)
        env = {**synth.gitops_env(), "KUBECONFIG": str(self.proxied)}
        counting_env = {**env, "GITOPS_KUBECTL": str(self.shim)}
        got = Size(units)

        def gitops(*args: str) -> list[str]:
            return [*self.gitops_cmd, "--config", str(config), "--repo", str(repo), *args]

        def apply(*args: str) -> list[str]:
            return gitops("apply", "--space", spaces["gitops"], "--context", self.cluster.context,
                          "--timeout", "120s", "-o", "json", *args)

        def expect(done: subprocess.CompletedProcess[str], applied: list[str]) -> None:
            report = json.loads(done.stdout)
            if report["applied"] != applied:
                raise BenchmarkError(f"expected {applied or 'no apply'}, gitops applied {report['applied']}")

        def change(i: int) -> None:
            for space in spaces.values():
                run(gitops("run", "set-replicas", "--replicas", str(3 + i % 2), "--space", space,
                           "--unit", "trade-service"), env=env)

        directory = str(repo / "spaces" / spaces["kubectl"])
        theirs_args = ("apply", "--server-side", "--field-manager=bench-kubectl", "-f", directory)
        one = [f"{spaces['gitops']}/trade-service"]
        try:
            run(gitops("render"), env=env)
            files = len(list(Path(directory).glob("*.yaml")))
            if files != units:
                raise BenchmarkError(f"{directory}: {files} unit files, expected {units}")
            run(apply(), env=env)
            run(self.kube("apply", "--server-side", "-f", f"{directory}/namespace.yaml"))
            run(self.kube(*theirs_args))

            for _ in range(self.repeat):
                expect(self.timed_into(got.get("unchanged.gitops"), apply(), env), [])
                self.timed_into(got.get("unchanged.kubectl"), self.kube(*theirs_args))
                expect(self.timed_into(got.get("live.gitops"), apply("--live"), env), [])
            self.counted(got.get("live.gitops"), apply("--live"), counting_env)
            argvs = self.counted(got.get("unchanged.gitops"), apply(), counting_env)
            self.counted(got.get("unchanged.kubectl"), self.kube(*theirs_args, counting=True))
            if argvs:
                # gitops's own get, replayed: the floor of an unchanged apply's cluster side
                replay = [self.kubectl, *argvs[0].split()]  # the shim logs the arguments only
                floor = got.get("floor.get")
                for _ in range(self.repeat):
                    self.timed_into(floor, replay, env)
                self.counted(floor, [str(self.shim), *replay[1:]], env)
                self.gets[units] = replay

            for i in range(self.repeat):
                change(i)
                expect(self.timed_into(got.get("one.gitops"), apply("--no-wait"), env), one)
                self.timed_into(got.get("one.kubectl"), self.kube(*theirs_args))
            change(self.repeat)
            self.counted(got.get("one.gitops"), apply("--no-wait"), counting_env)
            self.counted(got.get("one.kubectl"), self.kube(*theirs_args, counting=True))
        finally:
            for space in spaces.values():
                run(self.cluster.argv("delete", "namespace", space, "--wait=false", "--ignore-not-found"),
                    check=False)
        return got


def section(sizes: list[Size], floors: dict[str, Measure], where: str, delay_ms: float,
            failure: str | None) -> list[str]:
    """The report's part: per size, gitops and kubectl side by side, then the floors."""
    lines = [f"## Applying through a {delay_ms:g} ms latency proxy", ""]
    if failure:
        return lines + [f"Not measured: {failure}", ""]
    lines += [f"On {where}, through benchmarks/latency_proxy.py (+{delay_ms:g} ms each way). Median of "
              "the repeats; the ratio is kubectl's time over gitops's. Requests (writes) and kubectl "
              "processes are counted on the client (kubectl -v=6); bytes and connections are the proxy's.", "",
              "| space | measure | time | API requests (writes) | kubectl processes | bytes | connections |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    names = {"unchanged.gitops": "`gitops apply`, unchanged",
             "unchanged.kubectl": "`kubectl apply --server-side -f`, unchanged",
             "live.gitops": "`gitops apply --live`, unchanged (every object read)",
             "one.gitops": "`gitops apply --no-wait`, one unit changed",
             "one.kubectl": "`kubectl apply --server-side -f`, one unit changed",
             "floor.get": "floor: gitops's one `kubectl get`, replayed"}
    for size in sizes:
        for key, name in names.items():
            if key in size.measures:
                lines.append(f"| {size.units} units | {name} | {size.measures[key].cells()} |")
    lines += ["", "| space | kubectl / gitops, unchanged | kubectl / gitops, one changed |", "| --- | ---: | ---: |"]
    for size in sizes:
        m = size.measures
        lines.append(f"| {size.units} units | {m['unchanged.kubectl'].seconds / m['unchanged.gitops'].seconds:.2f}× | "
                     f"{m['one.kubectl'].seconds / m['one.gitops'].seconds:.2f}× |")
    lines += ["", "Floors:", "", "| floor | time | API requests | bytes |", "| --- | ---: | ---: | ---: |"]
    for name, got in floors.items():
        req = f"{got.requests[0]}" if got.requests else "–"
        kb = f"{median_of([float(b) for b in got.bytes])[0] / 1024:.0f} KiB" if any(got.bytes) else "–"
        lines.append(f"| {name} | {fmt_seconds(got.seconds)} | {req} | {kb} |")
    lines += ["", "Where gitops's time goes (the counted run: its wall time, of it inside kubectl processes, "
              "the rest is Python: start-up, reading git, building the desired objects):", ""]
    for size in sizes:
        for key in ("unchanged.gitops", "one.gitops"):
            split = size.measures[key].split if key in size.measures else None
            if split:
                lines.append(f"- {size.units} units, {names[key]}: {split[0]:.2f} s, of it {split[1]:.2f} s "
                             f"in kubectl, {split[0] - split[1]:.2f} s in Python")
    lines += ["", (__doc__ or "").split("\n\n", 1)[1].strip(), ""]
    lines += ["Spread of the runs: " + "; ".join(
        f"{s.units} units {k} {m.spread()}" for s in sizes for k, m in s.measures.items()), ""]
    return lines
