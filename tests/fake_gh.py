"""A fake `gh` for the workflow player (tests/workflows.py): it logs every call and answers the
few `gh api` calls the sticky preview comment makes from a JSON state file.

Run as ``python fake_gh.py ARGS...`` with GH_FAKE_STATE and GH_FAKE_LOG set (the player's `gh`
wrapper sets both; the step's own environment never has them). Each call appends
``{"argv": [...], "token": bool}`` as one JSON line to GH_FAKE_LOG. The state file holds
``{"repository": "owner/name", "pulls": [...], "comments": {"7": [...]}, "next_id": N}``.

Answered, as GitHub would:
  GET   repos/R/issues/N/comments   the comments stored so far (a list of pages with --slurp)
  GET   repos/R/pulls?state=&head=  the stored pulls, filtered by state and head (owner:branch)
  POST  repos/R/issues/N/comments   --input FILE: a new comment by github-actions[bot]
  PATCH repos/R/issues/comments/ID  --input FILE: the comment's new body
Anything else exits 1 with "unsupported", a repository other than R is HTTP 404, a body over
65,536 characters HTTP 422. Without GH_TOKEN (or GITHUB_TOKEN) it refuses, as gh does.

It must not reach the network, and must not answer a call it does not know.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any
from urllib.parse import parse_qs, urlsplit

BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
LIMIT = 65_536


class Refused(Exception):
    """What gh prints on stderr, and exits 1 with."""


def _api(state: dict[str, Any], argv: list[str]) -> Any:
    method, path, body_file, paginate, slurp = "GET", None, None, False, False
    args = iter(argv)
    for arg in args:
        if arg in ("--method", "-X"):
            method = next(args).upper()
        elif arg == "--input":
            body_file = next(args)
        elif arg == "--paginate":
            paginate = True
        elif arg == "--slurp":
            slurp = True
        elif arg.startswith("-"):
            raise Refused(f"unsupported flag {arg}")
        elif path is None:
            path = arg
        else:
            raise Refused(f"unexpected argument {arg}")
    if path is None:
        raise Refused("gh api needs an endpoint")
    if slurp and not paginate:
        raise Refused("`--slurp` is only supported in combination with `--paginate`")
    url = urlsplit(path)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    repo = state["repository"]
    match = re.fullmatch(r"repos/([^/]+/[^/]+)/(.+)", url.path)
    if match is None or match[1] != repo:
        raise Refused("Not Found (HTTP 404)")
    rest = match[2]
    if method == "GET" and (number := re.fullmatch(r"issues/(\d+)/comments", rest)):
        found: Any = state["comments"].get(number[1], [])
    elif method == "GET" and rest == "pulls":
        found = [p for p in state["pulls"]
                 if p.get("state", "open") == query.get("state", "open")
                 and ("head" not in query or p["head"]["label"] == query["head"])]
    elif method in ("POST", "PATCH"):
        if body_file is None:
            raise Refused(f"{method} without --input")
        with open(body_file, encoding="utf-8") as f:
            body = json.load(f)["body"]
        if len(body) > LIMIT:
            raise Refused("Validation Failed (HTTP 422): body is too long (maximum is 65536 characters)")
        if method == "POST" and (number := re.fullmatch(r"issues/(\d+)/comments", rest)):
            found = {"id": state["next_id"], "user": BOT, "body": body}
            state["next_id"] += 1
            state["comments"].setdefault(number[1], []).append(found)
        elif method == "PATCH" and (cid := re.fullmatch(r"issues/comments/(\d+)", rest)):
            hits = [c for cs in state["comments"].values() for c in cs if c["id"] == int(cid[1])]
            if not hits:
                raise Refused("Not Found (HTTP 404)")
            found = hits[0]
            found["body"] = body
        else:
            raise Refused(f"unsupported: {method} {path}")
    else:
        raise Refused(f"unsupported: {method} {path}")
    return [found] if slurp else found


def main(argv: list[str]) -> int:
    state_path, log_path = os.environ["GH_FAKE_STATE"], os.environ["GH_FAKE_LOG"]
    token = bool(os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN"))
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(json.dumps({"argv": argv, "token": token}) + "\n")
    if not token:
        print("gh: To use GitHub CLI in a GitHub Actions workflow, set the GH_TOKEN environment variable.",
              file=sys.stderr)
        return 4
    if argv[:1] != ["api"]:
        print(f"fake gh: unsupported command: {argv}", file=sys.stderr)
        return 1
    with open(state_path, encoding="utf-8") as f:
        state = json.load(f)
    try:
        answer = _api(state, argv[1:])
    except Refused as e:
        print(f"gh: {e}", file=sys.stderr)
        return 1
    with open(state_path, "w", encoding="utf-8") as f:
        json.dump(state, f)
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
