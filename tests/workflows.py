"""Play a job of this repository's GitHub Actions workflows on this machine, as an Ubuntu
GitHub-hosted runner would run it, so a test can check what the workflow really does.

Real: the workflow and composite-action YAML as written; every `run:` script, run by bash in a
temp workspace as the runner runs it (`bash -e FILE` when the step names no shell,
`bash --noprofile --norc -eo pipefail FILE` for `shell: bash`), with `${{ }}` expanded in it
first as GitHub does; the environment (workflow, job, step `env:`, each value's expressions
evaluated) and the runner's variables: GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and
GITHUB_STEP_SUMMARY (fresh files per step, read back after it, `name<<DELIM` included),
GITHUB_EVENT_PATH (the event's payload as JSON), GITHUB_WORKSPACE, RUNNER_TEMP, GITHUB_SHA,
GITHUB_REPOSITORY, GITHUB_RUN_ID, CI and GITHUB_ACTIONS; step and job `if:` (default
`success()`), `continue-on-error`, `working-directory`, job outputs and `needs`; composite
actions (`uses: $/...` or `./...`) expanded step by step with their `inputs` and
GITHUB_ACTION_PATH; reusable workflows (`uses: $/.github/workflows/X.yml`) played job by job
with `inputs` = `with:` and `secrets` = the secrets passed plus the environment's own. `$/`
resolves to the repository at the commit played (``Player.source``), `./` to the workspace.
Expressions are GitHub's language (see ``evaluate``): contexts, literals, `! == != < <= > >=
&& ||`, and the functions format, contains, startsWith, endsWith, join, toJSON, fromJSON,
success, failure, always, cancelled. A missing property is null ('').

Faked, and nothing else:
  actions/checkout           copies ``Player.source`` (a git repository the test prepares) into
                             the workspace, or its `path:`; sparse-checkout copies everything.
  actions/setup-python       installs nothing: the Python running the tests is used (its
                             directory goes first on PATH, as setup-python's would).
  actions/upload-artifact    copies the `path:` files (below their common directory, as v4
                             does) into the player's artifact store, by run id and `name`.
  actions/download-artifact  copies them back from there (`run-id:` picks another run) to `path:`.
  gh                         tests/fake_gh.py, first on PATH: logs each call, answers `gh api`
                             for comments and pull requests from a JSON state (FakeGitHub).
  pip install (the one step of our own not run as written) in the composite action
                             .github/actions/setup-gitops: it would reinstall gitops from the
                             temp checkout over the editable install (and reach the network);
                             the step checks instead that the gitops of the test's Python is
                             importable and on PATH. It is listed in ``JobResult.replaced``.
Any other `uses:`, a shell other than bash or sh, a matrix (`strategy:`), `services:` or
`container:` (any job or step key the player does not know) raises WorkflowError: the test
fails loudly rather than play something else.

Ignored: permissions, concurrency, runs-on, timeouts (a step gets 10 minutes), environment
protection rules, `::add-mask::` (nothing is masked: a test sees the raw log, which is stricter).
Each job gets a fresh workspace, RUNNER_TEMP and HOME (no git identity); of the test's own
environment only PATH, locale, TMPDIR, GIT_CONFIG_NOSYSTEM and XDG_CACHE_HOME (a warm gitops
cache: time only) reach a step.

Events come from ``Player.pull_request``, ``push``, ``workflow_run`` and ``workflow_dispatch``:
webhook payloads shaped as GitHub sends them (the fields workflows read, and their neighbours).

The repositories a play needs are at the end: ``config_repository`` (the example and .github/
as one commit: what actions/checkout gives) and ``Manifests`` (a bare repository as the
manifests remote, and a clone to prepare it with the in-process gitops CLI).

It must not reach the network, run any third-party action's code, touch the developer's git
config or home, or reinstall gitops.
"""

from __future__ import annotations

import itertools
import json
import math
import operator
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lark import Lark, Token, Tree
from ruamel.yaml import YAML

from generator.cli import run as gitops_cli

FAKE_GH = Path(__file__).resolve().parent / "fake_gh.py"
TOKEN = "ghs_fakeGitHubTokenOfThePlayer0000000000"  # github.token and secrets.GITHUB_TOKEN
STEP_TIMEOUT = 600  # seconds
_PASSED = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "GIT_CONFIG_NOSYSTEM", "XDG_CACHE_HOME")
_SHELLS: dict[str | None, list[str]] = {  # GitHub's command per `shell:` (None: the step names none)
    None: ["bash", "-e"], "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"], "sh": ["sh", "-e"]}
_INSTALL = re.compile(r"\bpip install\b")
_INSTALL_CHECK = 'python -c "import generator"\ncommand -v gitops\n'


class WorkflowError(Exception):
    """The workflow uses something the player cannot play (or plays it wrong): never a step's
    failure, always the test's."""


# --- expressions ---------------------------------------------------------------------------

_GRAMMAR = r"""
?expr: or_
?or_: and_ | or_ "||" and_ -> or_op
?and_: cmp | and_ "&&" cmp -> and_op
?cmp: unary | cmp CMP unary -> cmp_op
?unary: postfix | "!" unary -> not_op
?postfix: primary | postfix "." NAME -> prop | postfix "[" expr "]" -> index
?primary: STRING -> string | NUMBER -> number | "true" -> true | "false" -> false | "null" -> null
        | NAME "(" [expr ("," expr)*] ")" -> call | NAME -> context | "(" expr ")"
CMP: "==" | "!=" | "<=" | ">=" | "<" | ">"
NAME: /[A-Za-z_][A-Za-z0-9_-]*/
STRING: /'(?:[^']|'')*'/
NUMBER: /-?(?:0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/
%ignore /\s+/
"""
_PARSER = Lark(_GRAMMAR, start="expr", parser="lalr")


def evaluate(expression: str, contexts: Mapping[str, Any], failed: bool = False) -> Any:
    """One expression (what is inside ``${{ }}``). ``failed``: a step before (or a needed
    job) failed, for success() and failure().

    >>> evaluate("github.event.pull_requests[0].number || 'none'", {"github": {"event": {"pull_requests": []}}})
    'none'
    >>> evaluate("format('{0}/{1}.git', 'https://github.com', 'o/r')", {})
    'https://github.com/o/r.git'
    >>> evaluate("'A' == 'a' && 1 == '1' && !null && contains(fromJSON('[1, 2]'), 2)", {})
    True
    """
    try:
        tree = _PARSER.parse(expression)
    except Exception as e:  # lark's own errors name the column
        raise WorkflowError(f"cannot parse the expression {expression!r}: {e}") from e
    return _Evaluator(contexts, failed).eval(tree)


@dataclass
class _Evaluator:
    contexts: Mapping[str, Any]
    failed: bool

    def eval(self, node: Tree[Token] | Token) -> Any:
        if isinstance(node, Token):
            raise WorkflowError(f"unexpected token {node!r}")
        kind, kids = node.data, node.children
        if kind == "string":
            return str(kids[0])[1:-1].replace("''", "'")
        if kind == "number":
            text = str(kids[0])
            number = int(text, 16) if "0x" in text else float(text)
            return int(number) if isinstance(number, float) and number.is_integer() else number
        if kind in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[kind]
        if kind == "context":
            return _get(self.contexts, str(kids[0]))
        if kind == "prop":
            return _get(self.eval(kids[0]), str(kids[1]))
        if kind == "index":
            return _get(self.eval(kids[0]), self.eval(kids[1]))
        if kind == "not_op":
            return not truthy(self.eval(kids[0]))
        if kind == "and_op":
            left = self.eval(kids[0])
            return self.eval(kids[1]) if truthy(left) else left
        if kind == "or_op":
            left = self.eval(kids[0])
            return left if truthy(left) else self.eval(kids[1])
        if kind == "cmp_op":
            return _compare(self.eval(kids[0]), str(kids[1]), self.eval(kids[2]))
        if kind == "call":
            args = [self.eval(k) for k in kids[1:] if k is not None]
            return self.call(str(kids[0]).lower(), args)
        raise WorkflowError(f"unknown expression node {kind}")

    def call(self, name: str, args: list[Any]) -> Any:
        status = {"success": not self.failed, "failure": self.failed, "always": True, "cancelled": False}
        if name in status and not args:
            return status[name]
        if name == "contains" and len(args) == 2:
            search, item = args
            if isinstance(search, list):
                return any(_compare(x, "==", item) for x in search)
            return text(item).casefold() in text(search).casefold()
        if name == "startswith" and len(args) == 2:
            return text(args[0]).casefold().startswith(text(args[1]).casefold())
        if name == "endswith" and len(args) == 2:
            return text(args[0]).casefold().endswith(text(args[1]).casefold())
        if name == "format" and args:
            return _format(text(args[0]), args[1:])
        if name == "join" and len(args) in (1, 2):
            sep = text(args[1]) if len(args) == 2 else ","
            return sep.join(text(x) for x in args[0]) if isinstance(args[0], list) else text(args[0])
        if name == "tojson" and len(args) == 1:
            return json.dumps(args[0], indent=2)
        if name == "fromjson" and len(args) == 1:
            return json.loads(text(args[0]))
        raise WorkflowError(f"the player does not know the function {name}() with {len(args)} arguments")


def _get(value: Any, key: Any) -> Any:
    """``value.key`` or ``value[key]``: case-insensitive for objects; anything missing is null."""
    if isinstance(value, Mapping) and isinstance(key, str):
        if key in value:
            return value[key]
        folded = key.casefold()
        return next((v for k, v in value.items() if str(k).casefold() == folded), None)
    if isinstance(value, list) and isinstance(key, (int, float)) and not isinstance(key, bool):
        return value[int(key)] if 0 <= key < len(value) else None
    return None


def truthy(value: Any) -> bool:
    """GitHub's truthiness: false, 0, NaN, '' and null are false; objects are true."""
    if isinstance(value, float) and math.isnan(value):
        return False
    return value is not None and value is not False and value != 0 and value != ""


def text(value: Any) -> str:
    """A value as GitHub writes it into a string: null '', true 'true', 1.0 '1'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (Mapping, list)):
        raise WorkflowError(f"an object is interpolated into a string (use toJSON): {value!r:.80}")
    return str(value)


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, (bool, int, float)):
        return float(value)
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return 0.0
        try:
            return float(int(stripped, 16)) if stripped.lower().startswith("0x") else float(stripped)
        except ValueError:
            return math.nan
    return math.nan


def _compare(left: Any, op: str, right: Any) -> bool:
    """GitHub's loose comparison: strings case-insensitively, mixed types as numbers, objects by
    identity."""
    if isinstance(left, (Mapping, list)) or isinstance(right, (Mapping, list)):
        same = left is right
        if op in ("==", "!="):
            return same if op == "==" else not same
        return False
    if isinstance(left, str) and isinstance(right, str):
        a: Any = left.casefold()
        b: Any = right.casefold()
    elif type(left) is type(right) and left is not None and not isinstance(left, bool):
        a, b = left, right
    elif left is None and right is None:
        a = b = 0.0
    else:
        a, b = _number(left), _number(right)
    return bool(_OPERATORS[op](a, b))


_OPERATORS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
              ">=": operator.ge}


def _format(template: str, args: list[Any]) -> str:
    def one(m: re.Match[str]) -> str:
        if m[0] in ("{{", "}}"):
            return m[0][0]
        if int(m[1]) >= len(args):
            raise WorkflowError(f"format({template!r}): no argument {m[1]}")
        return text(args[int(m[1])])
    return re.sub(r"\{\{|\}\}|\{(\d+)\}", one, template)


def _pieces(source: str) -> list[str | tuple[str]]:
    """A template cut into text and ``(expression,)`` pieces; a ``}}`` inside a quoted string
    does not end an expression."""
    out: list[str | tuple[str]] = []
    at = 0
    while (start := source.find("${{", at)) != -1:
        end, quoted = start + 3, False
        while end < len(source) and (quoted or not source.startswith("}}", end)):
            quoted ^= source[end] == "'"
            end += 1
        if end >= len(source):
            raise WorkflowError(f"an unterminated ${{{{ in {source!r}")
        out += [source[at:start], (source[start + 3:end],)]
        at = end + 2
    out.append(source[at:])
    return [p for p in out if p != ""]


def value(raw: Any, contexts: Mapping[str, Any], failed: bool = False) -> Any:
    """A YAML value with its ``${{ }}`` evaluated: one whole expression keeps its type,
    anything else is a string.

    >>> value("${{ 1 }}", {}), value("a-${{ x.y }}-b", {"x": {"y": 2}}), value("${{ x.z }}", {"x": {}})
    (1, 'a-2-b', None)
    """
    if not isinstance(raw, str):
        return raw
    pieces = _pieces(raw)
    if len(pieces) == 1 and isinstance(pieces[0], tuple):
        return evaluate(pieces[0][0], contexts, failed)
    return "".join(text(evaluate(p[0], contexts, failed)) if isinstance(p, tuple) else p for p in pieces)


_STATUS = re.compile(r"\b(success|failure|always|cancelled)\s*\(", re.IGNORECASE)


def condition(raw: Any, contexts: Mapping[str, Any], failed: bool) -> bool:
    """An ``if:``: written with or without ``${{ }}``, and ``success() && (...)`` unless it
    calls a status function itself."""
    expression = "success()" if raw is None else text(raw).strip()
    pieces = _pieces(expression)
    if len(pieces) == 1 and isinstance(pieces[0], tuple):
        expression = pieces[0][0]
    elif "${{" in expression:
        raise WorkflowError(f"an if: that mixes text and ${{{{ }}}}: {raw!r}")
    if not _STATUS.search(expression):
        expression = f"success() && ({expression})"
    return truthy(evaluate(expression, contexts, failed))


def read_file_commands(content: str) -> dict[str, str]:
    """What a step wrote to $GITHUB_OUTPUT or $GITHUB_ENV: ``name=value`` and
    ``name<<DELIM`` ... ``DELIM`` lines.

    >>> read_file_commands("a=1\\nb<<EOF\\nx\\ny\\nEOF\\nc=\\n")
    {'a': '1', 'b': 'x\\ny', 'c': ''}
    """
    out: dict[str, str] = {}
    lines = iter(content.splitlines())
    for line in lines:
        if not line.strip():
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            for more in lines:
                if more == delimiter:
                    break
                body.append(more)
            else:
                raise WorkflowError(f"Matching delimiter not found '{delimiter}'")
            out[name] = "\n".join(body)
        elif "=" in line:
            name, rest = line.split("=", 1)
            out[name] = rest
        else:
            raise WorkflowError(f"Invalid format '{line}'")
    return out


# --- results, events, the fake GitHub -------------------------------------------------------

@dataclass
class Step:
    """One step as it ran: ``outcome`` before continue-on-error, ``conclusion`` after."""

    name: str
    id: str | None
    outcome: str  # success, failure, skipped
    conclusion: str
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""
    annotations: list[tuple[str, str]] = field(default_factory=list)  # (error|warning|notice, text)


@dataclass
class JobResult:
    workflow: str
    job: str
    name: str
    run_id: int
    result: str  # success, failure, skipped
    outputs: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    summary: str = ""  # every step's $GITHUB_STEP_SUMMARY, in order
    stubs: list[str] = field(default_factory=list)  # the third-party actions the player faked
    replaced: list[str] = field(default_factory=list)  # our own steps not run as written
    called: dict[str, JobResult] = field(default_factory=dict)  # a reusable workflow's jobs

    @property
    def log(self) -> str:
        """Every step's output, headed by its name (and the called workflow's jobs')."""
        own = "".join(f"--- {s.name} ({s.outcome})\n{s.log}" for s in self.steps)
        return own + "".join(f"=== {j.job}\n{j.log}" for j in self.called.values())

    def step(self, name: str) -> Step:
        found = [s for s in self.steps if name in (s.name, s.id)]
        assert len(found) == 1, f"no single step {name!r} in {[s.name for s in self.steps]}"
        return found[0]


@dataclass(frozen=True)
class Event:
    """What triggered the run: ``name`` (github.event_name), the webhook ``payload``
    (github.event), and github.sha, github.ref, github.actor."""

    name: str
    payload: dict[str, Any]
    sha: str
    ref: str = "refs/heads/main"
    actor: str = "octo-operator"
    actor_id: int = 12345


class FakeGitHub:
    """The GitHub API as far as `gh` reaches it: the state tests/fake_gh.py answers from, its
    `gh` wrapper (``bin``), and the log of every call."""

    def __init__(self, root: Path, repository: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.state_path, self.log_path, self.bin = root / "state.json", root / "calls.jsonl", root / "bin"
        self.bin.mkdir(exist_ok=True)
        self.log_path.touch()
        self._save({"repository": repository, "pulls": [], "comments": {}, "next_id": 1_000_001})
        wrapper = self.bin / "gh"
        wrapper.write_text(
            f"#!/bin/sh\nGH_FAKE_STATE={shlex.quote(str(self.state_path))} "
            f"GH_FAKE_LOG={shlex.quote(str(self.log_path))} "
            f"exec {shlex.quote(sys.executable)} {shlex.quote(str(FAKE_GH))} \"$@\"\n")
        wrapper.chmod(0o755)

    def _load(self) -> dict[str, Any]:
        return json.loads(self.state_path.read_text())  # type: ignore[no-any-return]

    def _save(self, state: dict[str, Any]) -> None:
        self.state_path.write_text(json.dumps(state))

    def calls(self) -> list[list[str]]:
        """The argv of every `gh` call so far."""
        return [json.loads(line)["argv"] for line in self.log_path.read_text().splitlines()]

    def writes(self) -> list[tuple[str, str]]:
        """Every POST or PATCH so far: (method, endpoint)."""
        out = []
        for argv in self.calls():
            if "--method" in argv:
                method = argv[argv.index("--method") + 1]
                out.append((method, next(a for a in argv[1:] if a.startswith("repos/"))))
        return out

    def comments(self, number: int) -> list[dict[str, Any]]:
        return self._load()["comments"].get(str(number), [])  # type: ignore[no-any-return]

    def add_comment(self, number: int, body: str, login: str) -> None:
        state = self._load()
        state["comments"].setdefault(str(number), []).append(
            {"id": state["next_id"], "user": {"login": login, "type": "User"}, "body": body})
        state["next_id"] += 1
        self._save(state)

    def add_pull(self, number: int, owner: str, branch: str, sha: str, state: str = "open") -> None:
        data = self._load()
        data["pulls"].append({"number": number, "state": state,
                              "head": {"label": f"{owner}:{branch}", "ref": branch, "sha": sha,
                                       "user": {"login": owner}}})
        self._save(data)


# --- the player -----------------------------------------------------------------------------

def load_yaml(path: Path) -> dict[str, Any]:
    """A workflow or action file as GitHub reads it (YAML 1.2: `on` stays a string)."""
    data = YAML(typ="safe", pure=True).load(path.read_text())
    if not isinstance(data, dict):
        raise WorkflowError(f"{path}: not a mapping")
    return data


def _triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    on = workflow.get("on")
    if isinstance(on, str):
        return {on: {}}
    if isinstance(on, list):
        return {name: {} for name in on}
    return {name: spec or {} for name, spec in (on or {}).items()}


def _inputs(spec: Mapping[str, Any] | None, given: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A workflow's ``inputs`` context: given values over defaults, typed; an unknown, a
    missing required or an invalid choice is a WorkflowError (GitHub refuses the run)."""
    spec = spec or {}
    unknown = set(given) - set(spec)
    if unknown:
        raise WorkflowError(f"{where}: unknown inputs {sorted(unknown)}")
    out: dict[str, Any] = {}
    for name, item in spec.items():
        item = item or {}
        if name not in given and item.get("required") and "default" not in item:
            raise WorkflowError(f"{where}: the required input {name!r} is missing")
        got = given.get(name, item.get("default", ""))
        kind = item.get("type", "string")
        if kind == "boolean":
            got = got if isinstance(got, bool) else text(got).lower() == "true"
        elif kind == "number":
            got = _number(got)
        elif kind == "choice" and got not in item.get("options", []):
            raise WorkflowError(f"{where}: {name}={got!r} is none of {item.get('options')}")
        out[name] = got
    return out


def _names(raw: Any) -> list[str]:
    return [raw] if isinstance(raw, str) else list(raw or [])


_JOB_KEYS = {"name", "runs-on", "needs", "if", "permissions", "environment", "concurrency", "outputs",
             "env", "defaults", "steps", "timeout-minutes", "uses", "with", "secrets"}
_STEP_KEYS = {"name", "id", "if", "uses", "with", "run", "shell", "env", "working-directory",
              "continue-on-error", "timeout-minutes"}


@dataclass
class Player:
    """Plays jobs of the workflows in ``source`` (the repository at the commit a run is for).

    ``root`` holds what runners leave: per job its workspace, RUNNER_TEMP and HOME, the artifact
    store and the fake GitHub (``gh``). ``vars`` and ``secrets`` are the repository's;
    ``environments`` the secrets of each GitHub environment (a job with ``environment: X``
    gets X's secrets over the others)."""

    root: Path
    source: Path
    repository: str = "finos/traderx-config"
    vars: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    environments: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.gh = FakeGitHub(self.root / "github", self.repository)
        self._run_ids = itertools.count(9_000_000_001)

    # events: the webhook payloads, shaped as GitHub sends them (the fields workflows read)

    def head(self) -> str:
        return subprocess.run(["git", "-C", str(self.source), "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()

    def _repo(self) -> dict[str, Any]:
        owner, name = self.repository.split("/")
        return {"full_name": self.repository, "name": name, "owner": {"login": owner, "type": "Organization"},
                "default_branch": "main", "html_url": f"https://github.com/{self.repository}"}

    def pull_request(self, number: int = 7, head_ref: str = "change", head_owner: str | None = None) -> Event:
        """A pull request's push (synchronize); the checkout is its head (``source``)."""
        sha, repo = self.head(), self._repo()
        owner = head_owner or repo["owner"]["login"]
        head_repo = {**repo, "full_name": f"{owner}/{repo['name']}", "owner": {"login": owner}}
        pull = {"number": number, "state": "open", "title": "a change", "user": {"login": "octo-dev"},
                "html_url": f"https://github.com/{self.repository}/pull/{number}",
                "head": {"label": f"{owner}:{head_ref}", "ref": head_ref, "sha": sha, "repo": head_repo},
                "base": {"label": f"{repo['owner']['login']}:main", "ref": "main", "sha": "0" * 40, "repo": repo}}
        payload = {"action": "synchronize", "number": number, "pull_request": pull, "repository": repo,
                   "sender": {"login": "octo-dev", "id": 777}}
        return Event("pull_request", payload, sha, f"refs/pull/{number}/merge", "octo-dev", 777)

    def push(self, before: str = "0" * 40) -> Event:
        """A push to main whose head commit is ``source``'s HEAD, with its real author."""
        sha = self.head()
        name, email, message = subprocess.run(
            ["git", "-C", str(self.source), "log", "-1", "--format=%an%x00%ae%x00%B"], check=True,
            capture_output=True, text=True).stdout.split("\0")
        person = {"name": name, "email": email, "username": "octo-dev"}
        commit = {"id": sha, "message": message.strip(), "timestamp": "2026-12-01T00:00:00Z",
                  "url": f"https://github.com/{self.repository}/commit/{sha}", "author": person,
                  "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"}}
        payload = {"ref": "refs/heads/main", "before": before, "after": sha, "repository": self._repo(),
                   "pusher": {"name": "octo-dev", "email": email}, "sender": {"login": "octo-dev", "id": 777},
                   "head_commit": commit, "commits": [commit], "created": False, "deleted": False, "forced": False}
        return Event("push", payload, sha, "refs/heads/main", "octo-dev", 777)

    def workflow_run(self, run_id: int, pull_requests: Iterable[int] = (), head_owner: str | None = None,
                     head_branch: str = "change", head_sha: str | None = None, event: str = "pull_request",
                     conclusion: str = "success") -> Event:
        """The preview run ``run_id`` completed; the run itself is on the default branch."""
        repo = self._repo()
        owner = head_owner or repo["owner"]["login"]
        sha = head_sha or self.head()
        pulls = [{"number": n, "url": f"https://api.github.com/repos/{self.repository}/pulls/{n}",
                  "head": {"ref": head_branch, "sha": sha, "repo": {"name": repo["name"]}},
                  "base": {"ref": "main", "sha": "0" * 40, "repo": {"name": repo["name"]}}} for n in pull_requests]
        run = {"id": run_id, "name": "preview", "event": event, "status": "completed", "conclusion": conclusion,
               "head_branch": head_branch, "head_sha": sha, "pull_requests": pulls, "repository": repo,
               "head_repository": {**repo, "full_name": f"{owner}/{repo['name']}", "owner": {"login": owner}}}
        payload = {"action": "completed", "workflow_run": run, "repository": repo,
                   "workflow": {"name": "preview", "path": ".github/workflows/preview.yml"},
                   "sender": {"login": "octo-dev", "id": 777}}
        return Event("workflow_run", payload, self.head(), "refs/heads/main", "octo-dev", 777)

    def workflow_dispatch(self, workflow: str, inputs: Mapping[str, str], actor: str = "octo-operator",
                          actor_id: int = 12345) -> Event:
        payload = {"inputs": dict(inputs), "ref": "refs/heads/main", "repository": self._repo(),
                   "sender": {"login": actor, "id": actor_id}, "workflow": workflow}
        return Event("workflow_dispatch", payload, self.head(), "refs/heads/main", actor, actor_id)

    # artifacts

    def artifact(self, run_id: int, name: str) -> Path:
        """Where the artifact ``name`` of the run ``run_id`` is stored."""
        return self.root / "artifacts" / str(run_id) / name

    def store_artifact(self, run_id: int, name: str, files: Mapping[str, str]) -> Path:
        """An artifact as any run may upload it (e.g. a fork's preview run): ``{path: text}``."""
        where = self.artifact(run_id, name)
        for rel, content in files.items():
            (where / rel).parent.mkdir(parents=True, exist_ok=True)
            (where / rel).write_text(content)
        return where

    # playing

    def new_run_id(self) -> int:
        return next(self._run_ids)

    def play_job(self, workflow: str, job: str, event: Event, inputs: Mapping[str, Any] | None = None,
                 needs: Mapping[str, Mapping[str, str]] | None = None, run_id: int | None = None) -> JobResult:
        """Play one job of ``workflow`` (a path in ``source``, e.g. .github/workflows/deploy.yml).
        ``inputs``: a called workflow's `with:` (it then sees the repository's secrets, as if
        all were passed; a dispatch's inputs come from its event); ``needs``: the outputs of
        the jobs it needs, each a success."""
        run = _Run(self, workflow, event, run_id or self.new_run_id(), inputs or {}, None)
        done = {name: JobResult(workflow, name, name, run.run_id, "success", dict(outputs))
                for name, outputs in (needs or {}).items()}
        return run.job(job, done)

    def play_workflow(self, workflow: str, event: Event, inputs: Mapping[str, Any] | None = None,
                      run_id: int | None = None) -> dict[str, JobResult]:
        """Every job of ``workflow``, in `needs` order (a job whose need failed is skipped)."""
        return _Run(self, workflow, event, run_id or self.new_run_id(), inputs or {}, None).all()


@dataclass
class _Job:
    """One job on its fresh runner: directories, environment so far, status so far."""

    workspace: Path
    temp: Path
    runner_env: dict[str, str]  # GITHUB_*, RUNNER_*, HOME, CI: a step cannot override them
    env: dict[str, str]  # workflow env, job env, then what steps add through $GITHUB_ENV
    defaults: dict[str, Any]
    result: JobResult
    path: list[str] = field(default_factory=list)  # $GITHUB_PATH, newest first
    failed: bool = False


class _Run:
    """One workflow run (or a called workflow inside one): its contexts, and its jobs."""

    def __init__(self, player: Player, workflow: str, event: Event, run_id: int,
                 inputs: Mapping[str, Any], secrets: Mapping[str, str] | None, caller: str = "") -> None:
        self.player, self.path, self.event, self.run_id, self.caller = player, workflow, event, run_id, caller
        self.spec = load_yaml(player.source / workflow)
        triggers = _triggers(self.spec)
        if event.name == "workflow_dispatch" and secrets is None:
            given = event.payload.get("inputs") or {}
            self.inputs = _inputs(triggers["workflow_dispatch"].get("inputs"), given, workflow)
        elif inputs or "workflow_call" in triggers:
            self.inputs = _inputs(triggers.get("workflow_call", {}).get("inputs"), inputs, workflow)
        else:
            self.inputs = {}
        # a called workflow sees only the secrets passed to it; a run sees the repository's
        self.secrets = {**(player.secrets if secrets is None else secrets), "GITHUB_TOKEN": TOKEN}

    def all(self) -> dict[str, JobResult]:
        jobs: dict[str, Any] = self.spec["jobs"]
        done: dict[str, JobResult] = {}
        while len(done) < len(jobs):
            ready = [j for j in jobs if j not in done and set(_names(jobs[j].get("needs"))) <= set(done)]
            if not ready:
                raise WorkflowError(f"{self.path}: a cycle in needs among {sorted(set(jobs) - set(done))}")
            done[ready[0]] = self.job(ready[0], done)
        return done

    def contexts(self, job_id: str, needs: Mapping[str, JobResult], secrets: Mapping[str, str],
                 where: _Job | None) -> dict[str, Any]:
        e, owner = self.event, self.player.repository.split("/")[0]
        pull = e.payload.get("pull_request") or {}
        ref_name = re.sub(r"^refs/(heads|tags|pull)/", "", e.ref)
        github = {
            "event_name": e.name, "event": e.payload, "sha": e.sha, "ref": e.ref, "ref_name": ref_name,
            "head_ref": (pull.get("head") or {}).get("ref", ""), "base_ref": (pull.get("base") or {}).get("ref", ""),
            "repository": self.player.repository, "repository_owner": owner, "actor": e.actor,
            "actor_id": str(e.actor_id), "triggering_actor": e.actor, "run_id": str(self.run_id),
            "run_number": "1", "run_attempt": "1", "server_url": "https://github.com",
            "api_url": "https://api.github.com", "graphql_url": "https://api.github.com/graphql",
            "workflow": self.spec.get("name", self.path), "job": job_id, "token": TOKEN,
            "workspace": str(where.workspace) if where else "", "action_path": "",
        }
        return {"github": github, "env": dict(where.env) if where else {}, "vars": dict(self.player.vars),
                "secrets": dict(secrets), "inputs": dict(self.inputs), "matrix": {}, "strategy": {},
                "needs": {n: {"result": r.result, "outputs": r.outputs} for n, r in needs.items()},
                "runner": {"os": "Linux", "arch": "X64", "name": "player", "environment": "github-hosted",
                           "temp": str(where.temp) if where else ""},
                "job": {"status": "success"}, "steps": {}}

    def job(self, job_id: str, done: Mapping[str, JobResult]) -> JobResult:
        spec = self.spec["jobs"].get(job_id)
        if spec is None:
            raise WorkflowError(f"{self.path}: no job {job_id!r}")
        unknown = set(spec) - _JOB_KEYS
        if unknown:
            raise WorkflowError(f"{self.path}: job {job_id} uses {sorted(unknown)}, which the player does not play")
        needed = _names(spec.get("needs"))
        if set(needed) - set(done):
            raise WorkflowError(f"{self.path}: job {job_id} needs {needed}: pass needs=")
        needs = {n: done[n] for n in needed}
        failed = any(r.result != "success" for r in needs.values())
        ctx = self.contexts(job_id, needs, self.secrets, None)
        name = text(value(spec.get("name", job_id), ctx))
        if not condition(spec.get("if"), ctx, failed):
            return JobResult(self.path, job_id, name, self.run_id, "skipped")
        if "uses" in spec:
            return self.call(job_id, name, spec, ctx)
        environment = spec.get("environment")
        environment = value(environment.get("name") if isinstance(environment, dict) else environment, ctx)
        secrets = {**self.secrets, **self.player.environments.get(text(environment), {})}
        job = self.prepare(job_id, name, spec, needs, secrets)
        ctx = self.contexts(job_id, needs, secrets, job)
        _Steps(self, job, ctx).play(spec.get("steps") or [], composite=None)
        result = job.result
        result.result = "failure" if job.failed else "success"
        result.outputs = {k: text(value(v, ctx)) for k, v in (spec.get("outputs") or {}).items()}
        return result

    def prepare(self, job_id: str, name: str, spec: dict[str, Any], needs: Mapping[str, JobResult],
                secrets: Mapping[str, str]) -> _Job:
        """A fresh runner for the job: directories, the event file, the runner's variables, and
        the workflow's and job's env evaluated."""
        base = self.player.root / "runs" / f"{self.run_id}-{self.caller}{job_id}"
        if base.exists():
            raise WorkflowError(f"job {job_id} of run {self.run_id} was played already")
        workspace = base / "work" / self.player.repository.split("/")[1]
        temp, home = base / "temp", base / "home"
        for d in (workspace, temp, home):
            d.mkdir(parents=True)
        event_path = base / "event.json"
        event_path.write_text(json.dumps(self.event.payload, indent=2))
        defaults = {**((self.spec.get("defaults") or {}).get("run") or {}),
                    **((spec.get("defaults") or {}).get("run") or {})}
        job = _Job(workspace, temp, {}, {}, defaults, JobResult(self.path, job_id, name, self.run_id, "success"))
        ctx = self.contexts(job_id, needs, secrets, job)
        github = ctx["github"]
        job.runner_env = {
            **{k: v for k, v in os.environ.items() if k in _PASSED}, "HOME": str(home), "CI": "true",
            "GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": str(event_path), "RUNNER_TEMP": str(temp),
            "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_NAME": "player", "RUNNER_ENVIRONMENT": "github-hosted",
            **{f"GITHUB_{k.upper()}": github[k] for k in (
                "event_name", "sha", "ref", "ref_name", "head_ref", "base_ref", "repository", "repository_owner",
                "actor", "actor_id", "triggering_actor", "run_id", "run_number", "run_attempt", "server_url",
                "api_url", "graphql_url", "workflow", "job", "workspace")},
        }
        for scope in (self.spec, spec):
            ctx["env"] = dict(job.env)
            job.env.update({k: text(value(v, ctx)) for k, v in (scope.get("env") or {}).items()})
        return job

    def call(self, job_id: str, name: str, spec: dict[str, Any], ctx: dict[str, Any]) -> JobResult:
        """A job that calls a reusable workflow of this repository: its jobs, played."""
        uses = str(spec["uses"])
        if not uses.startswith(("$/", "./")):
            raise WorkflowError(f"{self.path}: job {job_id} calls {uses}: only this repository's workflows are played")
        called = uses[2:]
        declared = (_triggers(load_yaml(self.player.source / called)).get("workflow_call") or {})
        raw = spec.get("secrets") or {}
        passed = ({k: v for k, v in self.secrets.items() if k != "GITHUB_TOKEN"} if raw == "inherit"
                  else {k: text(value(v, ctx)) for k, v in raw.items()})
        unknown = set(passed) - set(declared.get("secrets") or {})
        if raw != "inherit" and unknown:
            raise WorkflowError(f"{self.path}: job {job_id} passes undeclared secrets {sorted(unknown)}")
        with_ = {k: value(v, ctx) for k, v in (spec.get("with") or {}).items()}
        run = _Run(self.player, called, self.event, self.run_id, with_, {k: v for k, v in passed.items() if v},
                   f"{self.caller}{job_id}-")
        jobs = run.all()
        outputs_ctx = {"jobs": {j: {"result": r.result, "outputs": r.outputs} for j, r in jobs.items()}}
        outputs = {k: text(value((v or {}).get("value"), outputs_ctx))
                   for k, v in (declared.get("outputs") or {}).items()}
        ok = all(r.result in ("success", "skipped") for r in jobs.values())
        return JobResult(self.path, job_id, name, self.run_id, "success" if ok else "failure", outputs, called=jobs)


@dataclass
class _Steps:
    """Runs a list of steps of one job (the job's own, or a composite action's)."""

    run: _Run
    job: _Job
    ctx: dict[str, Any]  # the contexts; ``steps`` is this list's own
    prefix: str = ""
    action_path: Path | None = None

    def play(self, steps: list[dict[str, Any]], composite: str | None) -> bool:
        """Run them in order; True when one failed (its conclusion, after continue-on-error)."""
        failed = self.job.failed if composite is None else False
        for n, raw in enumerate(steps):
            unknown = set(raw) - _STEP_KEYS
            if unknown or ("run" in raw) == ("uses" in raw):
                raise WorkflowError(f"{self.run.path}: step {n + 1} ({raw}) cannot be played")
            name = self.prefix + str(raw.get("name") or raw.get("uses") or str(raw["run"]).splitlines()[0])
            ctx = {**self.ctx, "env": dict(self.job.env)}
            if not condition(raw.get("if"), ctx, failed):
                self.record(Step(name, raw.get("id"), "skipped", "skipped"))
                continue
            step_env = {k: text(value(v, ctx, failed)) for k, v in (raw.get("env") or {}).items()}
            ctx["env"] = {**self.job.env, **step_env}
            if "run" in raw:
                step = self.script(name, raw, ctx, step_env, failed, composite)
            else:
                step = self.uses(name, raw, ctx, failed)
            if step.outcome == "failure" and truthy(value(raw.get("continue-on-error", False), ctx, failed)):
                step.conclusion = "success"
            failed = failed or step.conclusion == "failure"
            if composite is None:
                self.job.failed = failed
            self.record(step)
        return failed

    def record(self, step: Step) -> None:
        self.job.result.steps.append(step)
        if step.id:
            self.ctx["steps"][step.id] = {"outputs": step.outputs, "outcome": step.outcome,
                                          "conclusion": step.conclusion}

    def script(self, name: str, raw: dict[str, Any], ctx: dict[str, Any], step_env: dict[str, str],
               failed: bool, composite: str | None) -> Step:
        job = self.job
        shell = raw.get("shell") or (None if composite else job.defaults.get("shell"))
        if composite and not shell:
            raise WorkflowError(f"{composite}: the run step {name!r} needs a shell:")
        source = text(value(str(raw["run"]), ctx, failed))
        if composite and _INSTALL.search(source):
            source = _INSTALL_CHECK
            job.result.replaced.append(name)
        script = job.temp / f"{uuid.uuid4()}.sh"
        script.write_text(source)
        if shell not in _SHELLS:
            raise WorkflowError(f"{name}: the player runs bash and sh only, not {shell!r}")
        where = raw.get("working-directory") or (None if composite else job.defaults.get("working-directory"))
        cwd = job.workspace / text(value(where, ctx, failed)) if where else job.workspace
        files = {}
        for var in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY"):
            files[var] = job.temp / f"_{var.lower()}_{uuid.uuid4().hex}"
            files[var].touch()
        env = {**job.env, **step_env, **job.runner_env, **{k: str(v) for k, v in files.items()},
               "GITHUB_ACTION": raw.get("id") or f"__run_{len(job.result.steps)}"}
        if self.action_path:
            env["GITHUB_ACTION_PATH"] = str(self.action_path)
        env["PATH"] = os.pathsep.join([str(self.run.player.gh.bin), *job.path, job.runner_env.get("PATH", os.defpath)])
        if not cwd.is_dir():
            return Step(name, raw.get("id"), "failure", "failure", {}, f"::error::No such directory: {cwd}\n")
        try:
            done = subprocess.run([*_SHELLS[shell], str(script)], cwd=cwd, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=STEP_TIMEOUT)
            code, log = done.returncode, done.stdout
        except subprocess.TimeoutExpired as e:
            partial = e.stdout.decode() if isinstance(e.stdout, bytes) else e.stdout or ""
            code, log = 124, f"{partial}\n(the player stopped the step after {STEP_TIMEOUT} s)"
        outputs = read_file_commands(files["GITHUB_OUTPUT"].read_text())
        job.env.update(read_file_commands(files["GITHUB_ENV"].read_text()))
        for line in files["GITHUB_PATH"].read_text().splitlines():
            if line.strip():
                job.path.insert(0, line.strip())
        job.result.summary += files["GITHUB_STEP_SUMMARY"].read_text()
        notes = [(m[1], m[2]) for m in re.finditer(r"^::(error|warning|notice)[^:]*::(.*)$", log, re.MULTILINE)]
        outcome = "success" if code == 0 else "failure"
        return Step(name, raw.get("id"), outcome, outcome, outputs, log, notes)

    def uses(self, name: str, raw: dict[str, Any], ctx: dict[str, Any], failed: bool) -> Step:
        uses = str(raw["uses"])
        with_ = {k: value(v, ctx, failed) for k, v in (raw.get("with") or {}).items()}
        if uses.startswith(("$/", "./")):
            return self.composite(name, raw, uses, with_, ctx)
        action = uses.split("@", 1)[0]
        stub = _STUBS.get(action)
        if stub is None:
            raise WorkflowError(f"{self.run.path}: the step {name!r} uses {uses}, which the player does not fake")
        allowed, play = stub
        unknown = set(with_) - allowed
        if unknown:
            raise WorkflowError(f"{name}: the player's {action} does not take {sorted(unknown)}")
        self.job.result.stubs.append(uses)
        ok, log = play(self, with_)
        return Step(name, raw.get("id"), "success" if ok else "failure", "success" if ok else "failure", {}, log)

    def composite(self, name: str, raw: dict[str, Any], uses: str, with_: dict[str, Any],
                  ctx: dict[str, Any]) -> Step:
        """A composite action of this repository: $/ at the commit played, ./ in the workspace."""
        where = (self.run.player.source if uses.startswith("$/") else self.job.workspace) / uses[2:]
        spec_path = next((p for p in (where / "action.yml", where / "action.yaml") if p.is_file()), None)
        if spec_path is None:
            raise WorkflowError(f"{name}: no action.yml in {where}")
        action = load_yaml(spec_path)
        if (action.get("runs") or {}).get("using") != "composite":
            raise WorkflowError(f"{uses}: the player plays composite actions only")
        declared = action.get("inputs") or {}
        unknown = set(with_) - set(declared)
        if unknown:
            raise WorkflowError(f"{name}: {uses} has no inputs {sorted(unknown)}")
        inputs = {k: text(with_[k]) if k in with_ else text(value((v or {}).get("default", ""), ctx))
                  for k, v in declared.items()}
        github = {**ctx["github"], "action_path": str(where)}
        inner = {**ctx, "inputs": inputs, "steps": {}, "github": github}
        label = str(action.get("name") or uses)
        steps = _Steps(self.run, self.job, inner, f"{label} / ", where)
        failed = steps.play(action["runs"].get("steps") or [], composite=uses)
        outputs = {k: text(value((v or {}).get("value"), inner)) for k, v in (action.get("outputs") or {}).items()}
        outcome = "failure" if failed else "success"
        return Step(name, raw.get("id"), outcome, outcome, outputs)

    # the third-party actions the player fakes (see the module docstring)

    def checkout(self, with_: dict[str, Any]) -> tuple[bool, str]:
        dest = self.job.workspace / text(with_.get("path") or "")
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(self.run.player.source, dest, symlinks=True)
        return True, f"checked out {self.run.player.source} into {dest}\n"

    def setup_python(self, with_: dict[str, Any]) -> tuple[bool, str]:
        self.job.path.insert(0, str(Path(sys.executable).parent))
        return True, f"using {sys.executable} (python-version {text(with_.get('python-version'))} not installed)\n"

    def upload_artifact(self, with_: dict[str, Any]) -> tuple[bool, str]:
        name = text(with_.get("name") or "artifact")
        found: list[Path] = []
        for pattern in (line.strip() for line in text(with_.get("path")).splitlines()):
            if pattern.startswith("!"):
                raise WorkflowError("upload-artifact: exclusions (!) are not played")
            base = Path(pattern) if Path(pattern).is_absolute() else self.job.workspace / pattern
            hits = list(base.parent.glob(base.name)) if any(c in pattern for c in "*?[") else [base]
            for hit in hits:
                if hit.is_dir():
                    found += sorted(p for p in hit.rglob("*") if p.is_file())
                elif hit.is_file():
                    found.append(hit)
        if not found:
            refuse = text(with_.get("if-no-files-found") or "warn") == "error"
            return not refuse, f"::{'error' if refuse else 'warning'}::No files were found with the provided path\n"
        root = Path(os.path.commonpath([p.parent for p in found]))
        dest = self.run.player.artifact(self.run.run_id, name)
        if dest.exists():
            return False, "::error::Failed to CreateArtifact: an artifact with this name already exists on the run\n"
        self.run.player.store_artifact(self.run.run_id, name,
                                       {str(p.relative_to(root)): p.read_text() for p in found})
        return True, f"uploaded {len(found)} files as {name}\n"

    def download_artifact(self, with_: dict[str, Any]) -> tuple[bool, str]:
        if not with_.get("name"):
            raise WorkflowError("download-artifact without a name is not played")
        if with_.get("run-id") and not with_.get("github-token"):
            return False, "::error::github-token is required to download from another run\n"
        run_id = int(text(with_.get("run-id") or self.run.run_id))
        source = self.run.player.artifact(run_id, text(with_["name"]))
        if not source.is_dir():
            return False, f"::error::Unable to download artifact(s): Artifact not found for name: {with_['name']}\n"
        path = Path(text(with_.get("path") or "."))
        dest = path if path.is_absolute() else self.job.workspace / path
        shutil.copytree(source, dest, dirs_exist_ok=True)
        return True, f"downloaded {with_['name']} of run {run_id} to {dest}\n"


_STUBS = {
    "actions/checkout": ({"persist-credentials", "sparse-checkout", "path", "fetch-depth"}, _Steps.checkout),
    "actions/setup-python": ({"python-version", "cache"}, _Steps.setup_python),
    "actions/upload-artifact": ({"name", "path", "retention-days", "if-no-files-found"}, _Steps.upload_artifact),
    "actions/download-artifact": ({"name", "path", "run-id", "github-token"}, _Steps.download_artifact),
}


# --- the repositories a play needs ----------------------------------------------------------

def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def config_repository(config: Path, project: Path) -> Path:
    """``config`` (a copy of the example's config files) with ``project``'s .github/, committed
    on main as one commit: the repository a run is for (``Player.source``)."""
    shutil.copytree(project / ".github", config / ".github", symlinks=True)
    git(config, "init", "-q", "-b", "main")
    git(config, "add", "-A")
    git(config, "commit", "-qm", "the config")
    return config


@dataclass
class Manifests:
    """The manifests remote (a bare repository: vars.GITOPS_MANIFESTS_URL) and ``work``, a
    clone a test prepares it in with gitops run in-process."""

    remote: Path
    work: Path
    config: Path

    @classmethod
    def create(cls, root: Path, config: Path) -> Manifests:
        subprocess.run(["git", "init", "-q", "--bare", str(root / "manifests.git")], check=True)
        return cls(root / "manifests.git", root / "prepare", config)

    def gitops(self, *args: str) -> None:
        assert gitops_cli(["--config", str(self.config), "--repo", str(self.work), *args]) == 0, f"gitops {args}"

    def push(self) -> str:
        """``work``'s HEAD pushed as the manifests branch: its sha."""
        git(self.work, "push", "-q", str(self.remote), "HEAD:refs/heads/manifests")
        return self.head()

    def head(self) -> str:
        return git(self.remote, "rev-parse", "--verify", "manifests").strip()

    def show(self, what: str) -> str:
        return git(self.remote, "show", f"manifests:{what}")

    def last(self, fmt: str) -> str:
        """``git log -1 --format=FMT`` of the manifests branch."""
        return git(self.remote, "log", "-1", f"--format={fmt}", "manifests").strip()
