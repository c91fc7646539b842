"""What a command line loads before it answers (issue 17's start-up): a read-only command loads
neither the write side (derive, mutation: the secret guard, schemas, merges), nor the config
dir's reader when --repo is given, nor git's, YAML's or SQLite's libraries it does not use; and
typer builds only the command the line names, its signature worked out then."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest

import generator.cli  # noqa: F401 - registers every command on the root app
from generator.cli.app import _branch, _completion_words, app
from tests.conftest import Cli

# Modules that a read-only command must not load (each costs start-up, several ms to ~40 ms).
HEAVY = ("generator.guard", "generator.schema", "generator.merge", "generator.overlay", "generator.config",
         "generator.operations.derive", "generator.operations.mutation", "generator.query", "hashlib",
         "ruamel", "rich", "sqlite3", "git", "jinja2", "detect_secrets", "lark", "yaml")

SCRIPT = """
import json, sys
from generator.cli import run
code = run(sys.argv[1:])
heavy = {heavy!r}
print(json.dumps([code, sorted(m for m in sys.modules if m in heavy or m.split(".")[0] in heavy)]))
"""


def loaded(cli: Cli, *args: str, repo: bool = True) -> tuple[int, list[str]]:
    given = ["--config", str(cli.config), *(["--repo", str(cli.repo)] if repo else [])]
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(heavy=HEAVY), *given, *args],
                          capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL)
    code, modules = json.loads(done.stdout.strip().splitlines()[-1])
    return code, modules


@pytest.mark.parametrize("args", [
    ("unit", "list", "--space", "traderx-prod-eu"),
    ("unit", "list", "--space", "traderx-prod-eu", "-o", "json"),
    ("space", "list"),
    ("space", "get", "traderx-prod-eu", "-o", "json"),
    ("unit", "get", "--space", "traderx-prod-eu", "trade-service"),
    ("history", "--space", "traderx-prod-eu", "trade-service"),
    ("audit",),
])
def test_a_read_only_command_loads_nothing_it_does_not_use(rendered: Cli, args: tuple[str, ...]) -> None:
    code, modules = loaded(rendered, *args)
    assert code == 0
    assert modules == []


def test_run_from_a_config_dir_a_read_parses_no_yaml_to_find_its_repo(rendered: Cli) -> None:
    """Without --repo the repo is gitops.yaml's `repo:`; once read, it is kept while the file is
    unchanged (and settled: two seconds after its last change)."""
    (rendered.config / "manifests").symlink_to(rendered.repo)
    seen = (rendered.config / "gitops.yaml").stat()
    while time.time_ns() < max(seen.st_mtime_ns, seen.st_ctime_ns) + 2_100_000_000:
        time.sleep(0.1)
    first = loaded(rendered, "unit", "list", "--space", "traderx-prod-eu", repo=False)
    assert first[0] == 0 and "yaml" in first[1]  # read once
    assert loaded(rendered, "unit", "list", "--space", "traderx-prod-eu", repo=False) == (0, [])


def replicas(cli: Cli) -> int:
    got = json.loads(cli.ok("unit", "get", "--space", "traderx-prod-eu", "trade-service", "-o", "json").out)
    return int(got["data"]["spec"]["replicas"])


def test_the_write_side_still_loads_when_a_command_writes(rendered: Cli) -> None:
    code, modules = loaded(rendered, "run", "set-replicas", "--replicas", "4", "--space", "traderx-prod-eu",
                           "--unit", "trade-service")
    assert code == 0
    assert {"generator.operations.mutation", "generator.guard"} <= set(modules)
    assert replicas(rendered) == 4


def git_commands(cli: Cli, tmp_path: Any, *args: str) -> list[str]:
    trace = tmp_path / "git-trace"
    trace.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "generator.cli", "--repo", str(cli.repo), *args], check=True,
                   capture_output=True, stdin=subprocess.DEVNULL,
                   env={**os.environ, "GIT_TRACE": str(trace)})
    return [line.split("built-in: git ")[1].split()[0] for line in trace.read_text().splitlines()
            if "built-in: git " in line]


def test_a_read_of_one_space_asks_git_twice(rendered: Cli, tmp_path: Any) -> None:
    """Where the repo is and its HEAD, one process; the records and the space's folders, one
    more: a git process is a few ms of every command's start-up."""
    assert git_commands(rendered, tmp_path, "unit", "list", "--space", "traderx-prod-eu") == ["rev-parse", "ls-tree"]
    listed = git_commands(rendered, tmp_path, "unit", "list", "--space", "traderx-prod-*", "-o", "json")
    assert listed[0] == "rev-parse" and listed.count("rev-parse") == 1  # a glob: the records first
    done = subprocess.run([sys.executable, "-m", "generator.cli", "--repo", str(rendered.repo), "unit", "list",
                           "--space", "../x"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.returncode != 0 and "space" in done.stderr and "Traceback" not in done.stderr


def test_a_first_render_creates_its_repo_without_gitpython(cli: Cli) -> None:
    """`git init` itself: GitPython's import alone is ~0.1 s of a first render."""
    code, modules = loaded(cli, "render")
    assert code == 0 and "git" not in modules
    branch = subprocess.run(["git", "-C", str(cli.repo), "branch", "--show-current"], capture_output=True,
                            text=True, check=True).stdout.strip()
    assert branch == "main"
    assert subprocess.run(["git", "-C", str(cli.repo), "status", "--porcelain"], capture_output=True,
                          text=True, check=True).stdout == ""


def test_typer_is_given_only_the_command_the_line_names() -> None:
    def names(group: Any) -> Any:
        return ([c.name or c.callback.__name__ for c in group.registered_commands],
                {g.name: names(g.typer_instance) for g in group.registered_groups})

    assert names(_branch(app, ["--repo", "r", "unit", "list", "--space", "x"])) == \
        ([], {"unit": (["list"], {})})
    assert names(_branch(app, ["-o", "json", "history", "--space", "x", "u"])) == (["history"], {})
    whole = names(app)
    assert names(_branch(app, ["--help"])) == whole  # help lists every command
    unit_group = whole[1]["unit"]
    assert names(_branch(app, ["unit", "lst"]))[1]["unit"] == unit_group  # a typo: all to suggest from


def test_a_bundled_option_reaches_typer_as_its_options(rendered: Cli) -> None:
    """`_taking` works the command's signature out when typer asks: --help lists the bundled
    options in place, and a command line's values reach the command as the bundle."""
    shown = rendered.ok("run", "set-replicas", "--help").out
    for option in ("--replicas", "--space", "--where", "--filter", "--dry-run", "--reason", "--changeset"):
        assert option in shown
    before = replicas(rendered)
    result = rendered.ok("run", "set-replicas", "--replicas", "4", "--space", "traderx-prod-eu",
                         "--unit", "trade-service", "--dry-run")
    assert "replicas" in result.out
    assert replicas(rendered) == before  # --dry-run reached the command inside the Edit bundle
    rendered.ok("run", "set-replicas", "--replicas", "4", "--space", "traderx-prod-eu", "--unit", "trade-service",
                "--reason", "more load")
    assert replicas(rendered) == 4
    assert "more load" in rendered.git("log", "-1", "--format=%B")  # and --reason did


@pytest.mark.parametrize("env, words", [
    ({"_GITOPS_COMPLETE": "complete_bash", "COMP_WORDS": "gitops unit get --space eu trade-", "COMP_CWORD": "5"},
     ["unit", "get", "--space", "eu"]),
    ({"_GITOPS_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "gitops unit get --space eu trade-"},
     ["unit", "get", "--space", "eu"]),
    ({"_GITOPS_COMPLETE": "complete_fish", "_TYPER_COMPLETE_ARGS": "gitops unit get --space "},
     ["unit", "get", "--space"]),
    ({"_GITOPS_COMPLETE": "complete_bash", "COMP_WORDS": "gitops --version un", "COMP_CWORD": "2"}, None),
    ({"_GITOPS_COMPLETE": "source_bash"}, None),
    ({"_GITOPS_COMPLETE": "complete_tcsh"}, None),
    ({"_GITOPS_COMPLETE": "complete_bash"}, None),  # no COMP_WORDS: typer's own answer
])
def test_a_completion_request_builds_the_branch_its_words_take(
        monkeypatch: pytest.MonkeyPatch, env: dict[str, str], words: list[str] | None) -> None:
    for key in ("COMP_WORDS", "COMP_CWORD", "_TYPER_COMPLETE_ARGS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert _completion_words() == words
