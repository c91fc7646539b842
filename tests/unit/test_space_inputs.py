"""A space's fingerprint (derive.space_inputs) is the hash of one repr: the faster way it is
built row by row must hash exactly what the plain repr of the whole tuple did, or every record's
fingerprint would change and the next render would redo the fleet."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from generator import __version__, state
from generator.model import Overlay, Target, UnitRef
from generator.operations.derive import fingerprint, space_inputs

Row = tuple[str, UnitRef | None, str | None, dict[str, str]]


def plain(overlay: Overlay | None, labels: dict[str, str], target: Target, units: list[Row]) -> str:
    """space_inputs as it was first written: the definition."""
    rows = sorted((name, str(up) if up else "", blob or "", tuple(sorted(unit_labels.items())))
                  for name, up, blob, unit_labels in units)
    return fingerprint(repr((__version__, state.dump_overlay(overlay), sorted(labels.items()),
                             target.context, target.namespace, rows)))


text = st.text(st.sampled_from("ab-'\"\\é\n"), max_size=4)
labels = st.dictionaries(text, text, max_size=3)
row = st.tuples(text, st.none() | st.builds(UnitRef, text, text), st.none() | text, labels)
overlay = st.none() | st.builds(Overlay, text, labels)


@settings(max_examples=300, deadline=None)
@given(overlay, labels, st.builds(Target, text, text), st.lists(row, max_size=5))
def test_space_inputs_hash_the_plain_repr(over: Overlay | None, space_labels: dict[str, str],
                                          target: Target, units: list[Row]) -> None:
    # duplicate unit names (drawn often from so few letters) take the other way: both covered
    assert space_inputs(over, space_labels, target, units) == plain(over, space_labels, target, units)
    assert space_inputs(over, space_labels, target, units) == plain(over, space_labels, target, units)


def test_a_fleet_of_alike_spaces_hashes_as_before() -> None:
    base = [(f"unit-{i}", UnitRef("base", f"unit-{i}"), f"{i:040x}", {"environment": "prod", "order": str(i)})
            for i in range(20)]
    for region in range(3):
        target = Target(f"prod-r{region}", f"ns-r{region}")
        units: list[Row] = [*reversed(base), ("local", None, None, {})]
        assert space_inputs(None, {"region": str(region)}, target, units) == \
            plain(None, {"region": str(region)}, target, units)
        assert space_inputs(None, {}, target, []) == plain(None, {}, target, [])
