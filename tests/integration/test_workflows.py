"""The GitHub Actions workflows of .github/, played job by job (tests/workflows.py) against real
git repositories: the config repository at the commit a run is for, and a bare repository as
the manifests remote (vars.GITOPS_MANIFESTS_URL, a local path).

preview.yml and preview-comment.yml: a pull request's preview becomes one sticky comment, a
refused change fails the check yet is still commented with its secret masked, and the pull
request's number comes from the event only. deploy.yml: a push renders one commit, authored
by the push's author, onto the manifests branch. operate.yml: a promote or a rollback, by the
person who started it, with its inputs reaching the script only as data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_UNITS, PROJECT
from tests.workflows import JobResult, Manifests, Player, config_repository, git

PREVIEW = ".github/workflows/preview.yml"
COMMENT = ".github/workflows/preview-comment.yml"
DEPLOY = ".github/workflows/deploy.yml"
OPERATE = ".github/workflows/operate.yml"
MARKER = "<!-- gitops-preview -->"
EU, ASIA = "traderx-prod-eu", "traderx-prod-asia"
REPO = "finos/traderx-config"
SECRET = "Xk9#mQ2vLp8sTz4w"  # a literal DB_PASSWORD: the secret guard refuses it


def change(source: Path, path: str, old: str, new: str, author: str = "Ada Operator <ada@example.com>") -> str:
    """Edit one file of the config repository and commit it: the commit's sha."""
    file = source / path
    assert old in file.read_text(), f"{old!r} not in {path}"
    file.write_text(file.read_text().replace(old, new, 1))
    git(source, "commit", "-qam", f"{path}: {new.strip()}", f"--author={author}")
    return git(source, "rev-parse", "HEAD").strip()


@pytest.fixture
def source(config_dir: Path) -> Path:
    """The config repository at the commit a run is for: the example and .github/."""
    return config_repository(config_dir, PROJECT)


@pytest.fixture
def manifests(source: Path, tmp_path: Path) -> Manifests:
    return Manifests.create(tmp_path, source)


@pytest.fixture
def player(tmp_path: Path, source: Path, manifests: Manifests) -> Player:
    return Player(tmp_path / "runner", source, REPO, vars={"GITOPS_MANIFESTS_URL": str(manifests.remote)})


def preview(player: Player) -> tuple[JobResult, Path]:
    """preview.yml's preview job for pull request 7: the result and its artifact."""
    result = player.play_job(PREVIEW, "preview", player.pull_request(7))
    return result, player.artifact(result.run_id, "gitops-preview")


# --- preview.yml -----------------------------------------------------------------------------

def test_preview_of_a_change_is_one_comment_and_the_full_report_in_the_summary(
        player: Player, manifests: Manifests, source: Path) -> None:
    manifests.gitops("render")
    manifests.push()
    change(source, "regions/eu.yaml", "trade-service: 5", "trade-service: 6")
    result, artifact = preview(player)
    assert result.result == "success", result.log
    assert "manifests: manifests at" in result.step("Fetch the manifests repo").log
    assert sorted(p.name for p in artifact.iterdir()) == ["comment.md", "full.md"]
    comment = (artifact / "comment.md").read_text()
    assert comment.startswith(MARKER + "\n### gitops: render changes 1 unit in 1 space")
    assert f"| `{EU}` (production) | 0 | 1 | 0 |" in comment
    assert "`trade-service` changed: `spec.replicas` `5` → `6`" in comment
    assert len(comment) < 65_536
    assert f"https://github.com/{REPO}/actions/runs/{result.run_id}" in comment
    assert result.summary == (artifact / "full.md").read_text() and "+  replicas: 6" in result.summary
    assert result.step("preview").outputs == {"status": "0"}
    assert result.step("Fail when render would refuse").outcome == "skipped"
    # what was not run as written: the action's pip install, and the three third-party actions
    assert result.replaced == ["Set up gitops / Install gitops"]
    assert [s.split("@")[0] for s in result.stubs] == [
        "actions/checkout", "actions/setup-python", "actions/upload-artifact"]


def test_a_literal_credential_fails_the_check_but_is_commented_masked(
        player: Player, manifests: Manifests, source: Path) -> None:
    manifests.gitops("render")
    manifests.push()
    change(source, "regions/eu.yaml", "    MARKET_TIMEZONE: Europe/London\n",
           f'    MARKET_TIMEZONE: Europe/London\n    DB_PASSWORD: "{SECRET}"\n')
    result, artifact = preview(player)
    assert result.result == "failure", result.log
    assert result.step("preview").outputs == {"status": "1"}
    upload = [s for s in result.steps if s.name.startswith("actions/upload-artifact@")]
    assert [s.outcome for s in upload] == ["success"]
    refused = result.step("Fail when render would refuse")
    assert refused.outcome == "failure" and refused.annotations[0][0] == "error"
    comment, full = (artifact / "comment.md").read_text(), (artifact / "full.md").read_text()
    assert comment.startswith(MARKER) and "render would refuse" in comment
    assert "`credential-env`" in comment
    assert "`spec.template.spec.containers[trade-service].env[DB_PASSWORD].value`" in comment
    assert "16 characters, masked" in comment
    for where, content in {"comment": comment, "full report": full, "summary": result.summary,
                           "log": result.log}.items():
        assert SECRET not in content, f"the secret is in the {where}"


def test_preview_before_the_first_render_shows_every_unit_added(player: Player) -> None:
    result, artifact = preview(player)
    assert result.result == "success", result.log
    assert "no branch manifests yet" in result.step("Fetch the manifests repo").log
    comment = (artifact / "comment.md").read_text()
    assert comment.startswith(MARKER + f"\n### gitops: render changes {6 * EXAMPLE_UNITS} units in 6 spaces")
    assert f"| `{EU}` (production) | {EXAMPLE_UNITS} | 0 | 0 |" in comment
    assert "- `trade-service` added" in comment


# --- preview-comment.yml ---------------------------------------------------------------------

def post_comment(player: Player, run_id: int, pulls: list[int], **head: str) -> JobResult:
    return player.play_job(COMMENT, "comment", player.workflow_run(run_id, pulls, **head))


def test_the_preview_is_one_sticky_comment(player: Player, manifests: Manifests, source: Path) -> None:
    manifests.gitops("render")
    manifests.push()
    change(source, "regions/eu.yaml", "trade-service: 5", "trade-service: 6")
    first_preview, artifact = preview(player)
    player.gh.add_comment(7, f"{MARKER} quoted by a person: never touched", "octo-dev")

    first = post_comment(player, first_preview.run_id, [7])
    assert first.result == "success", first.log
    assert player.gh.writes() == [("POST", f"repos/{REPO}/issues/7/comments")]
    mine = [c for c in player.gh.comments(7) if c["user"]["login"] == "github-actions[bot]"]
    assert [c["body"] for c in mine] == [(artifact / "comment.md").read_text()]

    second_preview = player.new_run_id()  # the next push's preview
    player.store_artifact(second_preview, "gitops-preview", {"comment.md": f"{MARKER}\n### the second push\n"})
    second = post_comment(player, second_preview, [7])
    assert second.result == "success", second.log
    assert player.gh.writes()[1:] == [("PATCH", f"repos/{REPO}/issues/comments/{mine[0]['id']}")]
    bodies = [c["body"] for c in player.gh.comments(7)]
    assert bodies == [f"{MARKER} quoted by a person: never touched", f"{MARKER}\n### the second push\n"]


def test_a_forks_pull_request_is_found_by_its_head(player: Player) -> None:
    run_id = player.new_run_id()
    player.store_artifact(run_id, "gitops-preview", {"comment.md": f"{MARKER}\n### a fork's preview\n"})
    head = "a" * 40
    player.gh.add_pull(12, "forker", "fix", head)
    player.gh.add_pull(13, "forker", "fix", "b" * 40)  # the same branch, another commit
    player.gh.add_pull(14, "other", "fix", head, state="closed")
    result = post_comment(player, run_id, [], head_owner="forker", head_branch="fix", head_sha=head)
    assert result.result == "success", result.log
    assert ["api", "--paginate", "--slurp", f"repos/{REPO}/pulls?state=open&head=forker:fix&per_page=100"] \
        in player.gh.calls()
    assert player.gh.writes() == [("POST", f"repos/{REPO}/issues/12/comments")]


def test_an_artifact_without_the_marker_posts_nothing(player: Player) -> None:
    run_id = player.new_run_id()
    player.store_artifact(run_id, "gitops-preview", {"comment.md": "### not a preview\n@everyone\n"})
    result = post_comment(player, run_id, [7])
    assert result.result == "failure"
    assert "does not start with <!-- gitops-preview -->" in result.log
    assert player.gh.writes() == []


def test_the_pull_requests_number_never_comes_from_the_artifact(player: Player) -> None:
    run_id = player.new_run_id()
    planted = {"comment.md": f"{MARKER}\nPR_NUMBER=99\n", "pr_number": "99", "PR_NUMBER": "99",
               "event.json": '{"workflow_run": {"pull_requests": [{"number": 99}]}}'}
    player.store_artifact(run_id, "gitops-preview", planted)
    assert post_comment(player, run_id, [7]).result == "success"
    assert player.gh.writes() == [("POST", f"repos/{REPO}/issues/7/comments")]
    fork = post_comment(player, run_id, [], head_owner="forker", head_branch="fix", head_sha="c" * 40)
    assert fork.result == "success" and "nothing posted" in fork.log
    assert player.gh.writes() == [("POST", f"repos/{REPO}/issues/7/comments")]
    assert player.gh.comments(99) == []


def test_the_comment_job_runs_only_for_a_finished_pull_request_preview(player: Player) -> None:
    for event in (player.workflow_run(1, [7], event="push"), player.workflow_run(1, [7], conclusion="cancelled")):
        assert player.play_job(COMMENT, "comment", event).result == "skipped"
    assert player.gh.calls() == []


# --- deploy.yml ------------------------------------------------------------------------------

def test_a_push_renders_one_commit_by_its_author(player: Player, manifests: Manifests, source: Path) -> None:
    manifests.gitops("render")
    before = manifests.push()
    previous = git(source, "rev-parse", "HEAD").strip()
    sha = change(source, "regions/eu.yaml", "trade-service: 5", "trade-service: 6",
                 author="Grace Hopper <grace@example.com>")
    result = player.play_job(DEPLOY, "render", player.push(before=previous))
    assert result.result == "success", result.log
    assert result.outputs == {"commit": manifests.head()}
    assert manifests.last("%P") == before
    assert manifests.last("%an <%ae>") == "Grace Hopper <grace@example.com>"
    assert manifests.last("%cn <%ce>") == "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
    assert manifests.last("%s") == f"render {sha[:12]}"
    assert manifests.last("%(trailers:key=Gitops-Reason,valueonly)") == f"https://github.com/{REPO}/commit/{sha}"
    assert "replicas: 6" in manifests.show(f"spaces/{EU}/trade-service.yaml")


def test_the_first_render_creates_the_manifests_branch(player: Player, manifests: Manifests) -> None:
    result = player.play_job(DEPLOY, "render", player.push())
    assert result.result == "success", result.log
    assert result.outputs == {"commit": manifests.head()}
    assert "replicas: 5" in manifests.show(f"spaces/{EU}/trade-service.yaml")
    assert manifests.last("%P") == ""


def test_a_stage_that_fails_stops_every_stage_after_it(player: Player, manifests: Manifests) -> None:
    jobs = player.play_workflow(DEPLOY, player.push())  # no environment has a KUBECONFIG secret
    assert {j: r.result for j, r in jobs.items()} == {
        "render": "success", "dev": "failure", "staging": "skipped", "prod-us": "skipped",
        "prod-eu": "skipped", "prod-asia": "skipped"}
    apply = jobs["dev"].called["apply"]
    assert apply.name == "apply traderx-dev"
    assert f"applying traderx-dev at {manifests.head()[:7]}" in apply.step("Fetch the manifests repo").log
    assert apply.step("Kubeconfig").annotations == [
        ("error", "no KUBECONFIG secret in the environment traderx-dev: add it (Settings > Environments)")]


# --- operate.yml -----------------------------------------------------------------------------

def dispatch(player: Player, **inputs: str) -> JobResult:
    event = player.workflow_dispatch(OPERATE, inputs, actor="octo-operator", actor_id=12345)
    return player.play_job(OPERATE, "change", event)


def test_promote_is_authored_by_who_started_it_and_takes_inputs_as_data(
        player: Player, manifests: Manifests, tmp_path: Path) -> None:
    manifests.gitops("render")
    manifests.gitops("run", "set-env-var", "--container-name", "trade-service", "--env-var", "FEATURE_X=on",
                     "--space", EU, "--unit", "trade-service")
    before = manifests.push()
    pwned = tmp_path / "pwned"
    reason = f"hotfix $(touch {pwned}) `touch {pwned}` \"quoted\" 'single' ${{HOME}}"
    result = dispatch(player, operation="promote", to=ASIA, unit="trade-service", reason=reason, **{"from": EU})
    assert result.result == "success", result.log
    assert result.name == "promote"
    assert result.outputs == {"space": ASIA, "commit": manifests.head()}
    assert manifests.last("%P") == before
    assert manifests.last("%an <%ae>") == "octo-operator <12345+octo-operator@users.noreply.github.com>"
    assert manifests.last("%(trailers:key=Gitops-Reason,valueonly)") == reason
    assert not pwned.exists()
    assert "FEATURE_X" in manifests.show(f"spaces/{ASIA}/trade-service.yaml")
    assert "octo-operator: promote" in result.summary


def test_rollback_of_a_unit_by_revision(player: Player, manifests: Manifests) -> None:
    manifests.gitops("render")
    manifests.gitops("run", "set-replicas", "--replicas", "9", "--space", EU, "--unit", "trade-service")
    manifests.push()
    render_commit = git(manifests.remote, "rev-parse", "manifests~1").strip()
    result = dispatch(player, operation="rollback", space=EU, unit="trade-service", revision="-1",
                      reason="9 replicas starve the node")
    assert result.result == "success", result.log
    assert result.outputs == {"space": EU, "commit": manifests.head()}
    assert "replicas: 5" in manifests.show(f"spaces/{EU}/trade-service.yaml")
    assert manifests.last("%(trailers:key=Gitops-Restored-From,valueonly)").startswith(render_commit)
    assert manifests.last("%an") == "octo-operator"
