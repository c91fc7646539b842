"""yamlio.load_own: the emitter's own layout read back line by line. It gives exactly what
yamlio.load gives, or None (the caller then uses load): never other data."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import yamlio
from tests.unit.test_yamlio import TRICKY, json_like

plain_text = st.from_regex(r"[a-z][-a-z0-9./:]{0,12}", fullmatch=True)
# (a string ending in two line breaks is written `|+`, which load_own leaves to load)
k8s_scalar = (st.none() | st.booleans() | st.integers(-10**6, 10**6) | plain_text
              | st.sampled_from([t for t in TRICKY if not t.endswith("\n\n")]))
k8s_data = st.recursive(
    k8s_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(plain_text, inner, max_size=3),
    max_leaves=25)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=10), json_like, min_size=1, max_size=5))
def test_anything_the_emitter_wrote_reads_back_as_that_data_or_not_at_all(data: dict[str, object]) -> None:
    text = yamlio.dump(data)
    own = yamlio.load_own(text)
    assert own is None or (own == data == yamlio.load(text))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(plain_text, k8s_data, min_size=1, max_size=5))
def test_manifest_like_data_is_read_by_the_fast_path(data: dict[str, object]) -> None:
    text = yamlio.dump(data)
    own = yamlio.load_own(text)
    assert own == data == yaml.safe_load(text)


@pytest.mark.parametrize("value", TRICKY)
def test_tricky_strings(value: str) -> None:
    data = {"k": value, "list": [value, {"a": value}], value or "empty": {"nested": value}}
    assert yamlio.load_own(yamlio.dump(data)) in (None, data)


@pytest.mark.parametrize("text", [
    "a: 1  # a comment\n",
    "# a comment\na: 1\n",
    "a: {b: 1}\n",                      # flow style
    '{"a": 1}\n',                        # JSON
    "a:\n  - 1\n",                       # a list indented (kubectl's layout is not)
    "a: 1\na: 2\n",                      # a key twice
    "a: 'x'\n",                          # quoted where the emitter would not
    "a:    1\n",
    "a: 1",                              # no line break at the end
    "a: 1.5\n",                          # floats: left to load
    "a: 2001-12-14\n",                   # a timestamp would be quoted by the emitter
    "a:\n    b: 1\n",
    "a: |+\n  x\n\n",
    "- a\n",
    "",
])
def test_other_layouts_are_left_to_load(text: str) -> None:
    assert yamlio.load_own(text) is None


def test_a_manifest_in_kubectls_layout() -> None:
    text = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    app: web\n"
            "spec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - name: web\n"
            "        image: nginx:1.25\n        args:\n        - \"--port=80\"\n        env:\n"
            "        - name: X\n          value: \"1\"\n        script: |\n          echo a\n\n          echo b\n"
            "        ports:\n        - containerPort: 80\n      volumes: []\n")
    own = yamlio.load_own(text)
    assert own == yamlio.load(text)
    assert own is not yamlio.load_own(text)  # a fresh object each time
