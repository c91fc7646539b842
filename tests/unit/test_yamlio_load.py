"""yamlio.load builds plain data itself for what manifests are made of and leaves the rest to
PyYAML: either way it must be what PyYAML's safe loader makes (timestamps kept as strings)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import yamlio
from generator.errors import YamlError


class _Reference(yaml.SafeLoader):
    """PyYAML's own safe loader, timestamps as strings: what yamlio.load must equal."""


_Reference.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def reference(text: str) -> Any:
    return yaml.load(text, Loader=_Reference)  # noqa: S506 - a safe loader subclass


DOCUMENTS = [
    "",
    "a: 1\n",
    "kind: Deployment\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n"
    "      - name: web\n        image: x:v1\n        ports:\n        - containerPort: 80\n",
    "a: yes\nb: No\nc: ~\nd: null\ne: 0x1F\nf: 0o17\ng: 1:20\nh: 1.5e3\ni: .inf\nj: -.nan\n"
    "k: 2001-12-14\nl: '1'\nm: \"true\"\nn: !!str 5\no: 1_000\n",
    "base: &b {x: 1, y: [1, 2]}\nuse: *b\nalso: *b\n",             # aliases: one object
    "base: &b {x: 1}\nmerged:\n  <<: *b\n  y: 2\n",                # merge key
    "a: !!set {x, y}\n",                                           # an explicit collection tag
    "? [1, 2]\n: pair\n",                                          # a key that is no string
    "1: one\n2.5: two\ntrue: three\n~: four\n",                    # scalar keys of other types
    "a: 1\na: 2\n",                                                # duplicate keys: the last wins
    "top: &t\n  self: *t\n",                                       # a node inside itself
    "- &x [1]\n- *x\n- !!binary aGVsbG8=\n",
    "=: value key\n",
    "just a string\n",
    "- 1\n- two\n- {three: 3}\n",
    "a: |\n  line\n  line 2\nb: >-\n  folded\n  text\n",
    "empty: {}\nnone: []\nblank:\n",
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_load_is_pyyaml_safe_load(text: str) -> None:
    try:
        theirs = reference(text)
    except yaml.YAMLError:  # PyYAML refuses it: so does yamlio, with a one-line error
        with pytest.raises(YamlError):
            yamlio.load(text)
        return
    ours = yamlio.load(text)
    if isinstance(theirs, dict) and "top" in theirs:  # recursive: compare the shape
        assert ours["top"]["self"] is ours["top"]
        return
    assert ours == theirs


def test_aliases_are_one_object_as_in_pyyaml() -> None:
    data = yamlio.load("base: &b {x: 1, y: [1, 2]}\nuse: *b\n")
    assert data["use"] is data["base"]


@pytest.mark.parametrize("text", ["a: !nope 1\n", "a: [1\n", "a: 1\n---\nb: 2\n"])
def test_what_pyyaml_refuses_is_refused(text: str) -> None:
    with pytest.raises(YamlError):
        yamlio.load(text, "u.yaml")


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12),
                    st.floats(allow_nan=False), st.sampled_from(["yes", "1:20", "0x1F", "~", "2001-12-14"]))
DATA = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(DATA)
def test_load_equals_pyyaml_on_generated_documents(data: Any) -> None:
    for text in (yaml.safe_dump(data), yaml.safe_dump(data, default_flow_style=True)):
        assert yamlio.load(text) == reference(text)
