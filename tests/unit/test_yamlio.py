"""The fast emitter must write what every YAML reader reads back as the same data."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from generator import yamlio
from generator.errors import YamlError

TRICKY = ["", " ", "yes", "No", "on", "null", "~", "true", "1", "1.5", "0o17", "0x1F", "1e3",
          ".inf", "-.nan", "2001-12-14", "1:20", "a: b", "a #b", "- x", "? x", "x:", "@x", "`x",
          "'q'", '"q"', "a\nb", "a\nb\n", "a\nb\n\n", " lead", "trail ", "tab\there", "é",
          "\u2028", "\x85", "\x00", "\ud7ff", "=", "<<", "*a", "&a", "!t", "|", ">", "%", "{a}",
          "[a]", "a,b", "http://x:18085", "traderx/trade-service:v1", "500m", "1Gi", "#"]


def readers(text: str) -> list[object]:
    return [yaml.safe_load(text), YAML(typ="safe", pure=True).load(text), yamlio.load(text)]


@pytest.mark.parametrize("value", TRICKY)
def test_tricky_strings_round_trip(value: str) -> None:
    data = {"k": value, "list": [value], value or "empty": {"nested": value}}
    text = yamlio.dump(data)
    for parsed in readers(text):
        assert parsed == data, text


def test_kubectl_layout() -> None:
    text = yamlio.dump({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80}]}],
                                 "empty": {}, "none": [], "n": None, "b": False, "f": 0.5}})
    assert text == (
        "spec:\n"
        "  containers:\n"
        "  - name: a\n"
        "    ports:\n"
        "    - containerPort: 80\n"
        "  empty: {}\n"
        "  none: []\n"
        "  n: null\n"
        "  b: false\n"
        "  f: 0.5\n"
    )


json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=10), json_like, max_size=5))
def test_any_json_like_data_round_trips(data: dict[str, object]) -> None:
    text = yamlio.dump(data)
    assert yaml.safe_load(text) == data
    assert YAML(typ="safe", pure=True).load(text) == data


def test_timestamps_stay_strings() -> None:
    assert yamlio.load("date: 2001-12-14\n") == {"date": "2001-12-14"}


def test_syntax_error_names_file_and_line() -> None:
    with pytest.raises(YamlError) as err:
        yamlio.load("a: 1\nb: [1, 2\nc: 3\n", "regions/eu.yaml")
    assert err.value.message.startswith("regions/eu.yaml:")
    assert "invalid YAML" in err.value.message


def test_mapping_required() -> None:
    with pytest.raises(YamlError, match="expected a mapping"):
        yamlio.load_mapping("- a\n- b\n", "x.yaml")
    assert yamlio.load_mapping("", "x.yaml") == {}


def test_roundtrip_keeps_comments_and_order() -> None:
    text = "# top\nb: 1  # why\na:\n- x\n"
    assert yamlio.dump_roundtrip(yamlio.load_roundtrip(text)) == text


def test_emitter_with_shared_subtrees_writes_the_same_text() -> None:
    base = {"metadata": {"name": "a", "labels": {"x": "1"}},
            "spec": {"containers": [{"name": "c", "env": [{"name": "A", "value": "1"}]}], "n": 1}}
    emitter = yamlio.Emitter()
    emitter.share(base)
    derived = {**base, "metadata": {**base["metadata"], "namespace": "eu"}}
    for data in (base, derived, base):
        assert emitter.dump(data) == yamlio.dump(data)
    nested = {"wrap": {"again": base["spec"]}, "list": [base["spec"]["containers"]]}
    assert emitter.dump(nested) == yamlio.dump(nested)


@pytest.mark.parametrize("value", [v for v in TRICKY if "\x00" not in v and "\x85" not in v])
def test_roundtrip_dump_is_read_back_by_yaml_1_1_readers_too(value: str) -> None:
    """A value merged into a round-trip document ('yes', '0755', '2') must stay a string for
    PyYAML and kubectl (YAML 1.1), not only for ruamel (1.2)."""
    doc = yamlio.load_roundtrip("a: 1\n")
    doc["k"] = value
    doc["list"] = [value]
    text = yamlio.dump_roundtrip(doc)
    for parsed in readers(text):
        assert parsed == {"a": 1, "k": value, "list": [value]}, text


def test_roundtrip_quotes_like_the_fast_emitter_and_keeps_the_files_own_quotes() -> None:
    doc = yamlio.load_roundtrip("kept: 'single'\nplain: x\n")
    doc["cpu"] = "2"
    assert yamlio.dump_roundtrip(doc) == "kept: 'single'\nplain: x\ncpu: \"2\"\n"
    assert yamlio.dump({"cpu": "2"}) == 'cpu: "2"\n'


# --- the first edit of a file is as small as the tenth ---------------------------------------

printable = st.text(st.characters(min_codepoint=32, max_codepoint=0x7e), max_size=12)
scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), printable)
field = st.from_regex(r"[a-zA-Z][a-zA-Z0-9.-]{0,8}", fullmatch=True)
# Kubernetes-shaped: maps, lists of scalars or of maps (a list directly in a list, which no
# Kubernetes type has, is written `-` then the inner list by the emitter, `- -` by ruamel).
k8s_like = st.recursive(
    scalar,
    lambda inner: st.one_of(
        st.lists(st.one_of(scalar, st.dictionaries(field, inner, min_size=1, max_size=3)), min_size=1, max_size=3),
        st.dictionaries(field, inner, min_size=1, max_size=3)),
    max_leaves=15)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), k8s_like, min_size=1, max_size=4))
def test_the_round_trip_writer_keeps_what_the_emitter_writes(data: dict[str, object]) -> None:
    """A generated unit edited through the round-trip path is not re-indented or re-quoted."""
    text = yamlio.dump(data)
    assert yamlio.normalize(text) == text


@pytest.mark.parametrize("dash", ["", "  "])
def test_an_edit_keeps_the_files_list_indentation(dash: str) -> None:
    text = (f"# note\nspec:\n  containers:\n  {dash}- name: a  # first\n  {dash}  image: a:1\n"
            f"  {dash}- name: b\n  {dash}  image: b:1\n")
    data = yamlio.load_roundtrip(text)
    data["spec"]["containers"][1]["image"] = "b:2"
    edited = yamlio.dump_roundtrip(data, like=text)
    assert edited == text.replace("b:1", "b:2")
