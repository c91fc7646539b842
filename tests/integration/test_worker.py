"""`gitops worker` where a cycle cannot succeed: each failure is that cycle's line, never a crash.
(Cycles that apply are in tests/e2e/test_worker.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli, snapshot


def _unreachable(tmp_path: Path) -> Path:
    path = tmp_path / "unreachable.kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster: {server: 'https://127.0.0.1:1'}\n"
        "users:\n- name: x\n  user: {token: x}\ncontexts:\n- name: x\n  context: {cluster: x, user: x}\n"
        "current-context: x\n")
    return path


def test_a_failing_cycle_is_one_line_and_exit_1_with_once(cli: Cli, tmp_path: Path) -> None:
    cli.ok("render")
    before = snapshot(cli.repo)
    kubeconfig = str(_unreachable(tmp_path))
    result = cli("worker", "--space", "traderx-prod-*", "--once", "--kubeconfig", kubeconfig)
    assert result.code == 1 and "Traceback" not in result.err
    [line] = result.out.splitlines()
    assert "cycle 1" in line
    for region in ("asia", "eu", "us"):  # one space failing does not stop the others
        assert f"traderx-prod-{region}: error:" in line
    as_json = json.loads(cli("worker", "--space", "traderx-dev", "--once", "--kubeconfig", kubeconfig,
                             "-o", "json").out)
    assert as_json["ok"] is False and as_json["spaces"]["traderx-dev"]["error"]
    assert snapshot(cli.repo) == before


def test_an_unknown_space_or_interval_is_a_clear_error(cli: Cli) -> None:
    cli.ok("render")
    unknown = cli("worker", "--space", "nope-*", "--once")
    assert unknown.code == 1 and "no space matches 'nope-*'" in unknown.out
    bad = cli("worker", "--space", "traderx-dev", "--interval", "soon")
    assert bad.code == 2 and "not a length of time" in bad.err
    missing = cli("--repo", str(cli.repo.parent / "no-repo"), "worker", "--space", "x", "--once")
    assert missing.code == 1 and "not a manifests repo" in missing.err
