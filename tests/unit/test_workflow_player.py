"""The workflow player (tests/workflows.py) plays what GitHub would: its expression language, step
status and file commands, shells, composite actions and reusable workflows, on small
workflows written here; and it fakes nothing but what its docstring lists."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT, build_tree
from tests.workflows import JobResult, Player, WorkflowError, evaluate, load_yaml, value

CONTEXTS: dict[str, Any] = {
    "github": {"event": {"workflow_run": {"pull_requests": [{"number": 7}], "head_branch": "fix"}},
               "repository": "o/r", "server_url": "https://github.com"},
    "vars": {}, "env": {"NAME": "x"}, "steps": {"a": {"outputs": {"n": "2"}, "outcome": "success"}},
}


@pytest.mark.parametrize(("expression", "expected"), [
    ("github.event.workflow_run.pull_requests[0].number", 7),
    ("github.event.workflow_run.pull_requests[1].number", None),
    ("github.EVENT.Workflow_Run.head_branch", "fix"),
    ("github['repository']", "o/r"),
    ("vars.MISSING || format('{0}/{1}.git', github.server_url, github.repository)", "https://github.com/o/r.git"),
    ("vars.MISSING || 'manifests'", "manifests"),
    ("steps.a.outputs.n != '0'", True),
    ("steps.a.outputs.n == 2", True),
    ("steps.a.outcome == 'SUCCESS' && env.NAME", "x"),
    ("!steps.b.outputs.n", True),
    ("1 < 2 && '10' > 9 && null == 0 && true == 1", True),
    ("0x10 == 16 && 1.5e1 == 15 && -2 < 0", True),
    ("'it''s' == 'IT''S'", True),
    ("contains('Hello', 'ell') && startsWith('abc', 'A') && endsWith('abc', 'C')", True),
    ("contains(fromJSON('[\"a\", \"b\"]'), 'B')", True),
    ("join(fromJSON('[1, 2]'), '-')", "1-2"),
    ("format('{{0}} {0}', 'x')", "{0} x"),
    ("toJSON(fromJSON('{\"a\": 1}'))", '{\n  "a": 1\n}'),
    ("success() && !failure() && always() && !cancelled()", True),
    ("(false || '') && 'never'", ""),
])
def test_expressions(expression: str, expected: Any) -> None:
    assert evaluate(expression, CONTEXTS) == expected


def test_expression_edge_cases() -> None:
    assert evaluate("failure()", {}, failed=True) is True
    assert evaluate("'x' == 0 || 'x' != 'x'", {}) is False  # 'x' is NaN as a number: equal to nothing
    assert evaluate("'' == 0 && ' 2 ' == 2", {}) is True
    assert value("a ${{ format('{0}}}', 'b') }} c", {}) == "a b} c"  # a }} inside a string
    with pytest.raises(WorkflowError, match="does not know the function"):
        evaluate("hashFiles('x')", {})
    with pytest.raises(WorkflowError, match="cannot parse"):
        evaluate("a ==", {})
    with pytest.raises(WorkflowError, match="toJSON"):
        value("x ${{ github }}", CONTEXTS)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with workflows the tests write into it."""
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    return root


def play(repo: Path, tmp_path: Path, workflow: str, job: str = "one", **player: Any) -> JobResult:
    build_tree(repo, {".github/workflows/w.yml": workflow})
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "w"], check=True)
    p = Player(Path(tempfile.mkdtemp(dir=tmp_path)), repo, "o/r", **player)
    return p.play_job(".github/workflows/w.yml", job, p.push())


STEPS = r"""
name: w
on: push
env:
  GREETING: ${{ format('hi {0}', github.actor) }}
jobs:
  one:
    runs-on: ubuntu-latest
    outputs:
      multi: ${{ steps.out.outputs.multi }}
      word: ${{ steps.out.outputs.word }}
    env:
      JOB: job-${{ github.run_id }}
    steps:
      - id: out
        run: |
          echo "word=plain" >> "$GITHUB_OUTPUT"
          { echo "multi<<EOF"; echo "line 1"; echo "line 2"; echo "EOF"; } >> "$GITHUB_OUTPUT"
          echo "ADDED=from-env-file" >> "$GITHUB_ENV"
          mkdir -p "$RUNNER_TEMP/bin"
          printf '#!/bin/sh\necho tool\n' > "$RUNNER_TEMP/bin/tool" && chmod +x "$RUNNER_TEMP/bin/tool"
          echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
          echo "# summary" >> "$GITHUB_STEP_SUMMARY"
      - id: see
        env:
          STEP: ${{ steps.out.outputs.word }}
        run: |
          echo "seen: $GREETING|$JOB|$ADDED|$STEP|$(tool)|${{ env.ADDED }}|${{ steps.out.outputs.word }}"
          test "$CI" = true && test "$GITHUB_ACTIONS" = true && test -f "$GITHUB_EVENT_PATH"
          test "$GITHUB_WORKSPACE" = "$PWD" && test -z "${KUBECONFIG:-}" && test -z "${GIT_AUTHOR_NAME:-}"
      - id: soft
        continue-on-error: true
        run: exit 3
      - id: hard
        run: exit 4
      - name: skipped
        run: echo never
      - name: on failure
        if: failure()
        run: echo "soft=${{ steps.soft.outcome }}/${{ steps.soft.conclusion }} hard=${{ steps.hard.outcome }}"
      - name: always
        if: ${{ always() }}
        run: echo always
"""


def test_steps_status_outputs_and_file_commands(repo: Path, tmp_path: Path) -> None:
    result = play(repo, tmp_path, STEPS)
    assert result.result == "failure"
    assert [(s.id or s.name, s.outcome, s.conclusion) for s in result.steps] == [
        ("out", "success", "success"), ("see", "success", "success"), ("soft", "failure", "success"),
        ("hard", "failure", "failure"), ("skipped", "skipped", "skipped"),
        ("on failure", "success", "success"), ("always", "success", "success")]
    run_id = result.run_id
    assert f"seen: hi octo-dev|job-{run_id}|from-env-file|plain|tool|from-env-file|plain" in result.log
    assert "soft=failure/success hard=failure" in result.log
    assert result.outputs == {"multi": "line 1\nline 2", "word": "plain"}
    assert result.summary == "# summary\n"


def test_the_default_shell_has_no_pipefail_and_shell_bash_has(repo: Path, tmp_path: Path) -> None:
    result = play(repo, tmp_path, """
on: push
jobs:
  one:
    runs-on: ubuntu-latest
    steps:
      - run: false | true
      - shell: bash
        run: false | true
""")
    assert [s.outcome for s in result.steps] == ["success", "failure"]


def test_what_the_player_cannot_play_fails_the_test(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="does not fake"):
        play(repo, tmp_path, "on: push\njobs:\n  one:\n    steps:\n      - uses: someone/action@v1\n")
    with pytest.raises(WorkflowError, match="does not take"):
        play(repo, tmp_path, "on: push\njobs:\n  one:\n    steps:\n      - uses: actions/checkout@v4\n"
                             "        with:\n          ref: other\n")
    with pytest.raises(WorkflowError, match="does not play"):
        play(repo, tmp_path, "on: push\njobs:\n  one:\n    services: {}\n    steps: []\n")


CALLED = """
name: called
on:
  workflow_call:
    inputs:
      stage: {type: string, required: true}
      flag: {type: boolean, default: false}
    secrets:
      PASSED: {required: false}
    outputs:
      said:
        value: ${{ jobs.work.outputs.said }}
jobs:
  work:
    runs-on: ubuntu-latest
    environment: ${{ inputs.stage }}
    outputs:
      said: ${{ steps.say.outputs.said }}
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - uses: $/.github/actions/hello
        id: hello
        with:
          who: ${{ inputs.stage }}
      - id: say
        env:
          PASSED: ${{ secrets.PASSED }}
          NOT_PASSED: ${{ secrets.REPO_ONLY }}
          FROM_ENVIRONMENT: ${{ secrets.KUBECONFIG }}
          FLAG: ${{ inputs.flag }}
        run: |
          echo "said=$PASSED|$NOT_PASSED|$FROM_ENVIRONMENT|$FLAG|${{ steps.hello.outputs.greeting }}" >> "$GITHUB_OUTPUT"
"""
HELLO = """
name: hello
inputs:
  who: {description: who}
  how: {description: how, default: hello}
outputs:
  greeting:
    value: ${{ steps.greet.outputs.greeting }}
runs:
  using: composite
  steps:
    - id: greet
      shell: bash
      env:
        WHO: ${{ inputs.who }}
      run: |
        test -f "$GITHUB_ACTION_PATH/action.yml"
        echo "greeting=${{ inputs.how }} $WHO" >> "$GITHUB_OUTPUT"
"""
CALLER = """
name: caller
on: push
jobs:
  first:
    runs-on: ubuntu-latest
    outputs:
      stage: ${{ steps.pick.outputs.stage }}
    steps:
      - id: pick
        run: echo "stage=dev" >> "$GITHUB_OUTPUT"
  deploy:
    needs: first
    uses: $/.github/workflows/called.yml
    with:
      stage: ${{ needs.first.outputs.stage }}
      flag: true
    secrets:
      PASSED: ${{ secrets.REPO_PASSED }}
  after:
    needs: deploy
    runs-on: ubuntu-latest
    steps:
      - run: echo "after ${{ needs.deploy.outputs.said }}"
"""


def test_a_reusable_workflow_and_a_composite_action(repo: Path, tmp_path: Path) -> None:
    build_tree(repo, {".github/workflows/called.yml": CALLED, ".github/actions/hello/action.yml": HELLO,
                      ".github/workflows/w.yml": CALLER})
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "w"], check=True)
    player = Player(tmp_path / "runner", repo, "o/r", secrets={"REPO_PASSED": "p", "REPO_ONLY": "r"},
                    environments={"dev": {"KUBECONFIG": "k"}, "prod": {"KUBECONFIG": "wrong"}})
    jobs = player.play_workflow(".github/workflows/w.yml", player.push())
    assert [(j, r.result) for j, r in jobs.items()] == [("first", "success"), ("deploy", "success"),
                                                        ("after", "success")]
    assert jobs["deploy"].outputs == {"said": "p||k|true|hello dev"}
    assert "after p||k|true|hello dev" in jobs["after"].log
    assert [s.id or s.name for s in jobs["deploy"].called["work"].steps] == [
        "actions/checkout@v4", "greet", "hello", "say"]


def test_the_setup_action_install_step_is_the_only_step_replaced(repo: Path, tmp_path: Path) -> None:
    action = load_yaml(PROJECT / ".github/actions/setup-gitops/action.yml")
    installs = [s.get("name") for s in action["runs"]["steps"] if "pip install" in s.get("run", "")]
    assert installs == ["Install gitops"]
    shutil.copytree(PROJECT / ".github/actions", repo / ".github/actions")
    result = play(repo, tmp_path, """
on: push
jobs:
  one:
    runs-on: ubuntu-latest
    steps:
      - uses: $/.github/actions/setup-gitops
        with:
          package: ".[test]"
      - run: gitops --version || gitops --help
""")
    assert result.result == "success", result.log
    assert result.replaced == ["Set up gitops / Install gitops"]
    assert result.stubs == ["actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065"]
    assert [s.outcome for s in result.steps] == ["success"] * 4


def test_gh_is_the_fake_and_refuses_without_a_token(repo: Path, tmp_path: Path) -> None:
    result = play(repo, tmp_path, """
on: push
jobs:
  one:
    runs-on: ubuntu-latest
    steps:
      - id: anonymous
        continue-on-error: true
        run: gh api repos/o/r/issues/1/comments
      - env:
          GH_TOKEN: ${{ github.token }}
        run: |
          test "$(gh api repos/o/r/issues/1/comments)" = "[]"
          ! gh api repos/other/repo/issues/1/comments
          ! gh pr list
""")
    assert [s.outcome for s in result.steps] == ["failure", "success"], result.log
    assert "set the GH_TOKEN environment variable" in result.log
