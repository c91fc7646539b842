"""kubectl, run as a subprocess: the only module that starts one.

Always an argument list, never a shell string. Each call names the kubeconfig and context it
was given (the space's target context unless ``--context`` overrides it), so nothing depends on
kubectl's current context by accident. A failure is a ``KubectlError`` carrying the command,
its exit code and the last line kubectl wrote to stderr; a missing kubectl says how to install
one. Knows manifests only as text and JSON; nothing of units, spaces or git.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

from generator.errors import GitopsError

FIELD_MANAGER = "gitops"


class KubectlError(GitopsError):
    """kubectl failed (cannot reach the cluster, refused, invalid object, timed out...)."""

    def __init__(self, message: str, hint: str, command: list[str], code: int, stderr: str) -> None:
        super().__init__(message, hint)
        self.command = command
        self.code = code
        self.stderr = stderr

    @property
    def brief(self) -> str:
        """Which kubectl verb failed and its last word, without the whole command (a log line)."""
        lines = [line.strip() for line in self.stderr.strip().splitlines() if line.strip()]
        args = self.command[1:]
        while args[:1] and args[0] in ("--kubeconfig", "--context"):  # what Kubectl.argv puts first
            args = args[2:]
        return f"kubectl {args[0] if args else ''} failed (exit {self.code}): {lines[-1] if lines else self.message}"


@dataclass
class Kubectl:
    """How to reach a cluster: the binary, and optionally a kubeconfig and a context that
    override the space's own."""

    binary: str = ""
    kubeconfig: str | None = None
    context: str | None = None
    calls: list[list[str]] = field(default_factory=list)  # every command run, for reports

    def __post_init__(self) -> None:
        if not self.binary:
            self.binary = os.environ.get("GITOPS_KUBECTL") or shutil.which("kubectl") or ""

    def argv(self, args: list[str], context: str | None = None) -> list[str]:
        """The full command line for ``args`` against ``context`` (the override wins)."""
        if not self.binary:
            raise GitopsError("kubectl not found on PATH",
                              "install it (scripts/install-kubectl in the gitops source), or set "
                              "GITOPS_KUBECTL to its path")
        argv = [self.binary]
        if self.kubeconfig:
            argv += ["--kubeconfig", self.kubeconfig]
        chosen = self.context or context
        if chosen:
            argv += ["--context", chosen]
        return argv + args

    def run(self, args: list[str], context: str | None = None, stdin: str | None = None,
            ok_codes: tuple[int, ...] = (0,), timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        """Run kubectl; an exit code outside ``ok_codes`` raises KubectlError."""
        argv = self.argv(args, context)
        self.calls.append(argv)
        try:
            done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        except FileNotFoundError as e:
            raise GitopsError(f"kubectl not found at {self.binary}",
                              "install it (scripts/install-kubectl), or set GITOPS_KUBECTL") from e
        except subprocess.TimeoutExpired as e:
            raise KubectlError(f"`{shlex.join(argv)}` did not finish in {timeout:g}s",
                               "is the cluster reachable? try `kubectl cluster-info`", argv, -1, "") from e
        if done.returncode not in ok_codes:
            raise _error(argv, done.returncode, done.stderr)
        return done

    def json(self, args: list[str], context: str | None = None) -> Any:
        """Run kubectl with ``-o json`` and parse what it printed."""
        return json.loads(self.run([*args, "-o", "json"], context).stdout or "{}")


def _error(argv: list[str], code: int, stderr: str) -> KubectlError:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else f"exit {code}"
    text = stderr.lower()
    if "forbidden" in text:
        hint = "the credentials lack the rights: check the context's user and its RBAC roles"
    elif "context" in text and ("does not exist" in text or "not found" in text):
        hint = "name a context your kubeconfig has (`kubectl config get-contexts`), or pass --context"
    elif any(word in text for word in ("connection refused", "no such host", "unable to connect",
                                       "i/o timeout", "was refused")):
        hint = "the cluster is not reachable: check the context's server, or pass --context/--kubeconfig"
    else:
        hint = "see the message above; the manifests repo was not changed"
    return KubectlError(f"`{shlex.join(argv)}` failed (exit {code}): {last}", hint, argv, code, stderr)
