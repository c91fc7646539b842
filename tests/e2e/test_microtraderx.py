"""The MicroTraderX tutorial end to end: examples/microtraderx's stages 1 to 8, in order, against
the test cluster, each followed by `validate N` (git and the live cluster).

The scripts run as a user runs them (bash subprocesses, the `gitops` command on PATH) in a work
dir of their own, with a namespace prefix of their own, so other tests can share the cluster;
the namespaces are deleted afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import PROJECT, Cluster

EXAMPLE = PROJECT / "examples" / "microtraderx"
SPACES = ("traderx-base", "traderx-dev", "traderx-staging", "traderx-prod-us", "traderx-prod-eu", "traderx-prod-asia")
CONTEXTS = {"MTX_CONTEXT_BASE": "kind-traderx-dev", "MTX_CONTEXT_DEV": "kind-traderx-dev",
            "MTX_CONTEXT_STAGING": "traderx-staging", "MTX_CONTEXT_US": "prod-us", "MTX_CONTEXT_EU": "prod-eu",
            "MTX_CONTEXT_ASIA": "prod-asia"}

# What each stage must say besides exiting 0: its lesson, as the commands report it.
LESSONS = {
    1: ["rendered 2 units in 1 space", "traderx-base: 2 applied"],
    2: ["promoted 1 unit in 1 space", "traderx-prod-us: 2 applied", "deleted namespace/"],
    3: ["created 1 unit in 1 space", "traderx-prod-eu: 3 applied", "└── traderx-base"],
    4: ["would change 3 units in 3 spaces (3 production)", "upgraded 3 units in 3 spaces", "standard → quantum"],
    5: ["would change 1 unit in 1 space (1 production): traderx-prod-eu 1 (prod)", "EU market close"],
    6: ["changeset market-data-v2 applied: 2 units in 1 space", "server-side dry run"],
    7: ["1 conflict", "spec.replicas"],
    8: ["\ntrade-service-green\n", "rolled back 1 unit in 1 space", "\ntrade-service\n"],
}


@pytest.fixture
def tutorial(cluster: Cluster, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment the scripts run with; deletes the namespaces they made afterwards."""
    prefix = f"mtx{uuid.uuid4().hex[:6]}-"
    env = {**os.environ, "KUBECONFIG": cluster.kubeconfig, "MTX_WORKDIR": str(tmp_path / "work"),
           "MTX_NAMESPACE_PREFIX": prefix}
    env.pop("GITOPS_REPO", None)
    env.pop("GITOPS_CONFIG", None)
    known = cluster.kubectl("config", "get-contexts", "-o", "name").stdout.split()
    for variable, context in CONTEXTS.items():  # a cluster without the example's contexts: its own
        if context not in known:
            env[variable] = cluster.context
    yield env
    namespaces = [f"{prefix}traderx"] + [f"{prefix}{space}" for space in SPACES[1:]]
    for namespace in namespaces:
        for context in {env.get(v, c) for v, c in CONTEXTS.items()}:
            cluster.kubectl("--context", context, "delete", "namespace", namespace, "--wait=false",
                            "--ignore-not-found", check=False)


def run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXAMPLE / argv[0]), *argv[1:]], env=env, capture_output=True, text=True,
                          timeout=900)


def shown(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n--- stdout (end)\n{done.stdout[-6000:]}\n--- stderr (end)\n{done.stderr[-3000:]}"


@pytest.mark.cluster
def test_stages_1_to_8_each_valid_in_git_and_on_the_cluster(tutorial: dict[str, str]) -> None:
    stages = sorted((EXAMPLE / "stages").glob("stage*.sh"))
    assert len(stages) == 8
    for number, script in enumerate(stages, 1):
        done = run(tutorial, f"stages/{script.name}")
        assert done.returncode == 0, shown(done)
        output = done.stdout + done.stderr
        for lesson in LESSONS[number]:
            assert lesson in output, f"stage {number} did not say {lesson!r}:\n{shown(done)}"
        validated = run(tutorial, "validate", str(number))
        assert validated.returncode == 0 and f"stage {number}: valid" in validated.stdout, shown(validated)
        assert "✗" not in validated.stdout and validated.stdout.count("✓") >= 4

    # Run again, the stages set up nothing and the clusters take nothing.
    again = run(tutorial, "setup-structure", "8")
    assert again.returncode == 0 and "set up already" in again.stdout, shown(again)
    deployed = run(tutorial, "deploy", "8")
    assert deployed.returncode == 0, shown(deployed)
    applied = re.findall(r"^traderx-[a-z-]+: (\d+) applied, \d+ unchanged", deployed.stderr, re.M)
    assert len(applied) == 5 and set(applied) == {"0"}, shown(deployed)
    assert run(tutorial, "test/validate.sh", "8").returncode == 0

    # validate fails on a difference, with one ✗ line: stage 5 left EU at 2, stage 7 put it back at 5.
    stale = run(tutorial, "validate", "5")
    assert stale.returncode == 1, shown(stale)
    assert stale.stdout.splitlines()[-1] == "✗ git: traderx-prod-eu/trade-service replicas: expected 2, found 5", \
        shown(stale)
