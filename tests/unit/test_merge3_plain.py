"""merge3 of a local file in the fast emitter's own layout (no comments) merges plain data and
writes it with the emitter: the result must be what the round trip gives, as data, with the
same conflicts, and written as the emitter writes it (so the next merge takes this path too)."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings

from generator import yamlio
from generator.merge import merge3
from tests.unit.test_merge3 import documents

LOCAL = yamlio.dump({"kind": "Deployment", "spec": {"replicas": 5, "template": {"spec": {"containers": [
    {"name": "app", "image": "app:v1", "env": [{"name": "A", "value": "1"}]}]}}}})


def test_an_emitted_file_is_merged_as_plain_data_and_written_by_the_emitter() -> None:
    origin = LOCAL.replace("replicas: 5", "replicas: 1")
    update = origin.replace("app:v1", "app:v2")
    merged, conflicts = merge3(origin, update, LOCAL)
    assert merged == LOCAL.replace("app:v1", "app:v2")
    assert merged == yamlio.dump(yamlio.load(merged)) and not conflicts


def test_a_file_with_a_comment_still_keeps_it() -> None:
    origin = LOCAL.replace("replicas: 5", "replicas: 1")
    update = origin.replace("app:v1", "app:v2")
    merged, _ = merge3(origin, update, LOCAL.replace("replicas: 5", "replicas: 5  # eu is busy"))
    assert "replicas: 5  # eu is busy" in merged and "app:v2" in merged


@settings(max_examples=150, deadline=None)
@given(documents, documents, documents)
def test_the_plain_path_gives_what_the_round_trip_gives(origin: Any, update: Any, local: Any) -> None:
    for prefer in ("upstream", "local"):
        texts = yamlio.dump(origin), yamlio.dump(update)
        fast, fast_conflicts = merge3(*texts, yamlio.dump(local), prefer=prefer)
        slow, slow_conflicts = merge3(*texts, "# kept\n" + yamlio.dump(local), prefer=prefer)
        assert yaml.safe_load(fast) == yaml.safe_load(slow)
        assert fast_conflicts == slow_conflicts
        assert fast == "" or fast == yamlio.dump(yaml.safe_load(fast))
