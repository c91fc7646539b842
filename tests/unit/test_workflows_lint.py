"""The GitHub Actions workflows, the composite action and the bash scripts under .github/ pass
every offline linter the project installs: their JSON schemas, actionlint (with shellcheck on
every `run:` block), zizmor's security audit and shellcheck. Each test asserts zero findings
and shows the tool's own output when there are some.

The tools come with `pip install -e '.[test]'`; a missing one fails the test (a lint that
silently does not run is no lint). Nothing here reaches the network: zizmor runs --offline and
check-jsonschema's schemas are vendored.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
GITHUB = PROJECT / ".github"


def tool(name: str) -> str:
    """The binary installed next to this Python (the test extras), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def lint(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run a linter from the project's root; fail the test with its output unless it exits 0."""
    done = subprocess.run(argv, cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def files(pattern: str) -> list[str]:
    found = sorted(str(p) for p in GITHUB.glob(pattern))
    assert found, f"no .github/{pattern}"
    return found


def test_workflows_match_the_github_workflow_schema() -> None:
    lint(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files("workflows/*.yml"))


def test_actions_match_the_github_action_schema() -> None:
    lint(tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", *files("actions/*/action.yml"))


def test_actionlint_with_shellcheck_finds_nothing() -> None:
    done = lint(tool("actionlint"), "-shellcheck", tool("shellcheck"))
    assert done.stdout == "", done.stdout


def test_zizmor_finds_nothing() -> None:
    done = lint(tool("zizmor"), "--offline", ".github")
    assert "No findings" in done.stdout, done.stdout + done.stderr


def test_shellcheck_finds_nothing_in_the_scripts() -> None:
    lint(tool("shellcheck"), *files("scripts/manifests"))
