"""derive.share_equal: an old upstream made to share the new one's unchanged subtrees, so that
comparing them for a thousand spaces costs an identity check where nothing changed."""

from __future__ import annotations

import copy

from generator import merge
from generator.operations.derive import share_equal


def test_equal_subtrees_become_the_new_objects_and_nothing_else_changes() -> None:
    old = {"spec": {"replicas": 1, "template": {"spec": {"containers": [
        {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
        {"name": "b", "image": "b:1"}]}}}, "metadata": {"name": "a", "labels": {"k": "v"}}}
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "a:2"
    before_old, before_new = copy.deepcopy(old), copy.deepcopy(new)
    shared = share_equal(old, new)
    assert shared == old and old == before_old and new == before_new
    assert shared["metadata"] is new["metadata"]
    containers = shared["spec"]["template"]["spec"]["containers"]
    assert containers[1] is new["spec"]["template"]["spec"]["containers"][1]
    assert containers[0]["env"] is new["spec"]["template"]["spec"]["containers"][0]["env"]
    assert containers[0] is not new["spec"]["template"]["spec"]["containers"][0]
    assert containers[0]["image"] == "a:1"


def test_a_number_and_a_bool_are_not_taken_for_equal() -> None:
    old, new = {"m": {"x": 1}}, {"m": {"x": True}}
    shared = share_equal(old, new)
    assert shared["m"] is not new["m"] and shared["m"]["x"] == 1 and shared["m"]["x"] is not True


def test_lists_of_other_lengths_and_keys_only_one_side_has() -> None:
    old = {"l": [{"a": 1}, {"b": 2}, {"c": 3}], "gone": {"x": 1}}
    new = {"l": [{"a": 1}, {"b": 3}], "added": {"y": 1}}
    shared = share_equal(old, new)
    assert shared == old
    assert shared["l"][0] is new["l"][0] and shared["l"][2] is old["l"][2]


def test_overridden_finds_the_same_conflicts_either_way() -> None:
    old = {"spec": {"replicas": 1, "image": "a:1", "env": [{"name": "X", "value": "1"}]}}
    new = {"spec": {"replicas": 2, "image": "a:2", "env": [{"name": "X", "value": "1"}]}}
    local = {"spec": {"replicas": 5, "image": "a:2", "env": [{"name": "X", "value": "1"}]}}
    assert merge.overridden(share_equal(old, new), new, local) == merge.overridden(old, new, local)
    assert [c.path for c in merge.overridden(share_equal(old, new), new, local)] == ["spec.replicas"]
