"""The preview as a pull-request comment: within GitHub's limit, whatever the fleet."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from generator import markdown


def change(space: str, unit: str, diff: str, kind: str = "changed") -> dict[str, Any]:
    return {"space": space, "unit": unit, "change": kind,
            "fields": [{"field": "spec.replicas", "before": 2, "after": 3}], "diff": diff}


def preview(units: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    spaces: dict[str, dict[str, int]] = {}
    for u in units:
        spaces.setdefault(u["space"], {"added": 0, "changed": 0, "removed": 0})[u["change"]] += 1
    return {"title": "render", "spaces": spaces, "productionSpaces": [], "units": units,
            "conflicts": [], "dangers": [], "findings": [], "overrides": [], **more}


def diff(space: str, lines: int = 3) -> str:
    body = "".join(f" line {n}\n" for n in range(lines))
    return (f"--- a/spaces/{space}/trade-service.yaml\n+++ b/spaces/{space}/trade-service.yaml\n"
            f"@@ -1,{lines} +1,{lines} @@\n-  replicas: 2\n+  replicas: 3\n{body}")


def test_nothing_to_say() -> None:
    text = markdown.render(preview([]))
    assert text == f"{markdown.MARKER}\n### gitops: render changes nothing\n"


def test_a_base_change_in_1000_regions_is_one_block() -> None:
    """The same change in every region: one <details> naming the spaces, not 1000."""
    units = [change(f"fleet-prod-r{n:04}", "trade-service", diff(f"fleet-prod-r{n:04}")) for n in range(1000)]
    text = markdown.render(preview(units), link="https://ci/run")
    assert text.count("<details>") == 1
    assert "<code>fleet-prod-r0000</code> and 999 more spaces, the same change" in text
    assert "| … 970 more spaces | 0 | 970 | 0 |  |" in text  # the summary table is capped
    assert len(text) < markdown.COMMENT_LIMIT and "Truncated" not in text


def test_too_long_is_truncated_with_a_note_pointing_at_the_full_report() -> None:
    units = [change(f"s{n}", "u", diff(f"s{n}", lines=50) + f"+ unique {n}\n") for n in range(200)]
    text = markdown.render(preview(units), link="https://ci/run/9")
    assert len(text) <= markdown.COMMENT_LIMIT
    assert "**Truncated** to fit a comment:" in text and "[the job summary of this run](https://ci/run/9)" in text
    assert text.rstrip().endswith(")."), "the note is the last thing"
    assert text.count("<details>") == text.count("</details>") > 0
    full = markdown.render(preview(units), markdown.SUMMARY_LIMIT, rows=None)
    assert "Truncated" not in full and full.count("<details>") == 200


def test_a_diff_with_backticks_gets_a_longer_fence_and_cells_are_escaped() -> None:
    units = [change("s", "u", "--- a/x\n+++ b/x\n+  command: ```rm```\n")]
    conflicts = [{"unit": "s/u", "field": "data.x", "origin": "a", "upstream": "a|b", "local": "c\nd",
                  "kept": "local"}]
    text = markdown.render(preview(units, conflicts=conflicts))
    assert "````diff\n" in text and "\n````\n" in text
    assert "`a\\|b`" in text and "`c d`" in text


def test_rows_equal_but_for_their_space_are_one_row() -> None:
    dangers = [{"space": f"r{n}", "unit": "web-gui-svc", "flag": "prune", "detail": "deleted"} for n in range(7)]
    text = markdown.render(preview([change(f"r{n}", "web-gui-svc", "", "removed") for n in range(7)],
                                   dangers=dangers))
    rows = [line for line in text.splitlines() if line.startswith("| `prune` |")]
    assert rows == ["| `prune` | `web-gui-svc` | deleted | `r0`, `r1`, `r2`, `r3`, `r4` and 2 more |"]


@settings(max_examples=40, deadline=None)
@given(spaces=st.integers(1, 400), lines=st.integers(0, 400), limit=st.integers(2_000, 70_000))
def test_never_over_the_limit(spaces: int, lines: int, limit: int) -> None:
    units = [change(f"space-{n}", f"unit-{n % 7}", diff(f"space-{n}", lines) + f"+ {n}\n")
             for n in range(spaces)]
    text = markdown.render(preview(units), limit)
    assert len(text) <= limit and text.startswith(markdown.MARKER)
