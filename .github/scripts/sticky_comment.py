"""Post a pull request's gitops preview as ONE comment, or update the one posted before.

Run by preview-comment.yml (a workflow_run job, the base repository's code). Everything comes
from the environment: REPO (owner/name), BODY (the comment file, from the preview artifact),
PR_NUMBER (from the event; empty for a fork's pull request), HEAD_OWNER, HEAD_BRANCH and
HEAD_SHA (from the event, to find a fork's pull request). The artifact gives the comment's text
and nothing else: never the number of the pull request, never a command.

The comment is found by the hidden marker it starts with, among the comments of the bot whose
token this is, so a comment a person wrote with the marker in it is never touched. GitHub
calls go through `gh api` (GH_TOKEN).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from urllib.parse import quote

MARKER = "<!-- gitops-preview -->"
LIMIT = 65_536  # GitHub's limit for a comment's body, in characters
BOT = "github-actions[bot]"


def gh(*args: str) -> object:
    """One `gh api` call; its JSON answer (None when it has none)."""
    done = subprocess.run(["gh", "api", *args], check=True, capture_output=True, text=True)
    return json.loads(done.stdout) if done.stdout.strip() else None


def pages(path: str) -> list[dict]:
    """Every item of a paginated list (`gh api --paginate --slurp` gives one list per page)."""
    found = gh("--paginate", "--slurp", path)
    return [item for page in found or [] for item in page]


def pull_request(repo: str) -> str | None:
    """The pull request's number: the event's, or a fork's found by its head and commit."""
    number = os.environ.get("PR_NUMBER", "").strip()
    if number:
        return number
    owner, branch, sha = (os.environ.get(k, "") for k in ("HEAD_OWNER", "HEAD_BRANCH", "HEAD_SHA"))
    head = quote(f"{owner}:{branch}", safe=":")
    for pr in pages(f"repos/{repo}/pulls?state=open&head={head}&per_page=100"):
        if pr.get("head", {}).get("sha") == sha:
            return str(pr["number"])
    return None


def main() -> int:
    repo, path = os.environ["REPO"], os.environ["BODY"]
    with open(path, encoding="utf-8") as f:
        body = f.read()
    if not body.startswith(MARKER):
        print(f"{path} does not start with {MARKER}: not a gitops preview", file=sys.stderr)
        return 1
    if len(body) > LIMIT:
        body = (f"{MARKER}\n### gitops preview\n\nThe preview is too long for a comment "
                f"({len(body):,} characters): see the job summary of the preview run.\n")
    number = pull_request(repo)
    if number is None:
        print("no open pull request for this run: nothing posted")
        return 0
    mine = [c for c in pages(f"repos/{repo}/issues/{number}/comments?per_page=100")
            if c.get("user", {}).get("login") == BOT and str(c.get("body", "")).startswith(MARKER)]
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8", delete=False) as f:
        json.dump({"body": body}, f)  # as a file: a long body is no command-line argument
    try:
        if mine:
            gh("--method", "PATCH", f"repos/{repo}/issues/comments/{mine[0]['id']}", "--input", f.name)
            print(f"updated the preview comment on #{number}")
        else:
            gh("--method", "POST", f"repos/{repo}/issues/{number}/comments", "--input", f.name)
            print(f"posted the preview comment on #{number}")
    finally:
        os.unlink(f.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
