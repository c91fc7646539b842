"""Argument building and error reporting of generator.kubectl, with a fake kubectl (a script
that prints what it was given): the real one is exercised by tests/e2e."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import GitopsError
from generator.kubectl import Kubectl, KubectlError


def fake(tmp_path: Path, stderr: str = "", code: int = 0) -> str:
    script = tmp_path / "kubectl"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\"\nprintf '{stderr}' >&2\nexit {code}\n")
    script.chmod(0o755)
    return str(script)


def test_arguments_are_a_list_with_kubeconfig_and_context(tmp_path: Path) -> None:
    kubectl = Kubectl(fake(tmp_path), kubeconfig="/k/config")
    done = kubectl.run(["get", "pods", "-l", "a=b; rm -rf /"], context="prod-eu")
    assert done.stdout.splitlines() == ["--kubeconfig", "/k/config", "--context", "prod-eu",
                                        "get", "pods", "-l", "a=b; rm -rf /"]  # no shell
    assert kubectl.calls == [[kubectl.binary, "--kubeconfig", "/k/config", "--context", "prod-eu",
                              "get", "pods", "-l", "a=b; rm -rf /"]]


def test_the_context_option_overrides_the_spaces(tmp_path: Path) -> None:
    done = Kubectl(fake(tmp_path), context="mine").run(["version"], context="prod-eu")
    assert done.stdout.splitlines()[:2] == ["--context", "mine"]


@pytest.mark.parametrize("stderr, hint", [
    ("Error from server (Forbidden): deployments.apps is forbidden", "RBAC"),
    ('error: context "x" does not exist', "kubectl config get-contexts"),
    ("Unable to connect to the server: dial tcp 127.0.0.1:1: connect: connection refused", "not reachable"),
    ("error: something else", "see the message above"),
])
def test_failures_carry_command_code_stderr_and_a_hint(tmp_path: Path, stderr: str, hint: str) -> None:
    with pytest.raises(KubectlError) as caught:
        Kubectl(fake(tmp_path, stderr, 1)).run(["apply", "-f", "-"], stdin="x")
    error = caught.value
    assert error.code == 1 and error.command[-3:] == ["apply", "-f", "-"]
    assert stderr.split(": ")[-1] in error.message and "(exit 1)" in error.message
    assert hint in error.hint


def test_brief_names_the_verb_and_the_last_word_not_the_command(tmp_path: Path) -> None:
    kubectl = Kubectl(fake(tmp_path, "warning: x\\nError: the server said no", 1), kubeconfig="/k/c")
    with pytest.raises(KubectlError) as caught:
        kubectl.run(["apply", "--server-side", "-f", "-"], context="prod-eu", stdin="{}")
    assert caught.value.brief == "kubectl apply failed (exit 1): Error: the server said no"


def test_a_missing_kubectl_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("GITOPS_KUBECTL", raising=False)
    with pytest.raises(GitopsError, match="kubectl not found") as caught:
        Kubectl().run(["version"])
    assert "install-kubectl" in caught.value.hint


def test_delete_arguments_of_prune_and_destroy() -> None:
    from generator.operations.apply import delete_args

    assert delete_args("Deployment", "ns", "web-gui", "60s", False) == [
        "delete", "deployment/web-gui", "--ignore-not-found", "--timeout=60s", "-n", "ns"]
    assert delete_args("Namespace", "", "ns", "2m", True, wait=False) == [
        "delete", "namespace/ns", "--ignore-not-found", "--timeout=2m", "--wait=false", "--dry-run=server"]


def test_deletion_order_is_the_reverse_of_the_apply_order_without_terminating_objects() -> None:
    from generator.operations.apply import deletion_order

    def obj(order: str, terminating: bool = False) -> dict[str, object]:
        meta: dict[str, object] = {"annotations": {"gitops.dev/order": order}}
        if terminating:
            meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        return {"metadata": meta}

    live = {("Namespace", "", "ns"): obj("0"), ("Deployment", "ns", "a"): obj("5"),
            ("Ingress", "ns", "i"): obj("9"), ("Service", "ns", "gone"): obj("5", terminating=True),
            ("ConfigMap", "ns", "c"): {"metadata": {}}}
    assert deletion_order(live) == [("ConfigMap", "ns", "c"), ("Ingress", "ns", "i"),
                                    ("Deployment", "ns", "a"), ("Namespace", "", "ns")]
