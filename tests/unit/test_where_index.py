"""The field index answers a WHERE clause exactly as the clause does unit by unit.

Hypothesis makes manifests (maps, lists, numbers, numeric and boolean-looking strings, nulls),
labels and clauses over them; the units are put in a real SQLite index (generator.fieldindex)
and the clause compiled to SQL (generator.sqlwhere) must pick exactly the units
``Query.matches`` picks.
"""

from __future__ import annotations

import json
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import fieldindex, query, sqlwhere, yamlio
from generator.blobs import blob_id
from generator.fieldindex import FieldIndex, UnitRow
from generator.operations import forked
from generator.operations.indexing import document

KEYS = ["a", "b", "replicas", "0", "1", "x-y"]
WORDS = ["", "5", "5.0", "-2", "10", "true", "True", "no", "null", "abc", "a%b", "a_c", "x*y", "É", "[a]"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-20, 20),
                    st.sampled_from([0.5, -1.25, 5.0, 2.0]), st.sampled_from(WORDS))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)), max_leaves=8)
manifests = st.dictionaries(st.sampled_from(KEYS), values, min_size=1, max_size=4)
labels = st.dictionaries(st.sampled_from(["layer", "order"]), st.sampled_from(WORDS), max_size=2)

FIELDS = ["a", "a.b", "a.*", "a.*.b", "a.0", "a.1.b", "b.*", "b.*.*", "a.*.0", "replicas", "x-y.a",
          "Labels.layer", "Labels.order", "Space.Labels.region", "Slug", "Space.Slug",
          "UpstreamSpace", "Data"]
LITERALS = ["5", "5.0", "'5'", "'abc'", "'true'", "TRUE", "FALSE", "-2", "0.5", "''", "'É'", "'10'"]
PATTERNS = ["'%'", "'a%'", "'%b'", "'a_c'", "'x*y'", "'[a]'", "'%5%'", "''", "'_'"]
NEEDLE = "'a:'"  # a key as it is written in the YAML text
IN_LISTS = ["(5, 'abc')", "('true', FALSE)", "('', '5.0')"]


@st.composite
def comparisons(draw: st.DrawFn) -> str:
    field = draw(st.sampled_from(FIELDS))
    kind = draw(st.sampled_from(["cmp", "like", "in", "null", "contains"]))
    if kind == "cmp":
        return f"{field} {draw(st.sampled_from(['=', '!=', '<>', '<', '<=', '>', '>=']))} {draw(st.sampled_from(LITERALS))}"
    if kind == "like":
        return f"{field} {draw(st.sampled_from(['LIKE', 'NOT LIKE']))} {draw(st.sampled_from(PATTERNS))}"
    if kind == "in":
        return f"{field} {draw(st.sampled_from(['IN', 'NOT IN']))} {draw(st.sampled_from(IN_LISTS))}"
    if kind == "null":
        return f"{field} {draw(st.sampled_from(['IS NULL', 'IS NOT NULL']))}"
    return f"{field} CONTAINS {draw(st.sampled_from([*PATTERNS, NEEDLE]))}"


clauses = st.recursive(comparisons(), lambda inner: st.one_of(
    st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    inner.map(lambda c: f"NOT {c}")), max_leaves=4)


@dataclass
class Unit:
    """A unit as ``Query.matches`` sees it (query.Unit)."""

    space: str
    unit: str
    labels: dict[str, str]
    space_labels: dict[str, str]
    upstream_space: str | None
    body: str

    def revision(self) -> int:
        return 1

    def text(self) -> str:
        return self.body

    def data(self) -> Any:
        return yamlio.load(self.body)


def _index(path: Path, units: list[Unit], paths: list[tuple[str, str, str]] | None = None) -> FieldIndex:
    """An index of ``units``; one that keeps ``paths`` before the documents come (their values
    are then taken as each document is added, not by ``paths``)."""
    index = FieldIndex(path)
    if paths is not None:
        index.paths(paths)
    spaces = {u.space: json.dumps(u.space_labels) for u in units}
    rows = [UnitRow(u.space, u.unit, blob_id(u.body), json.dumps(u.labels),
                    f"{u.upstream_space}/{u.unit}" if u.upstream_space else None, u.upstream_space, i)
            for i, u in enumerate(units)]
    docs = [document(blob_id(u.body), u.body) for u in units]
    assert index.update(None, "c" * 40, spaces, rows, docs, everything=True)
    return index


def _by_index(index: FieldIndex, chosen: query.Query) -> set[tuple[str, str]]:
    for f in sqlwhere.fields(chosen.tree):
        if not f.metadata:
            depth = sqlwhere.stepped_into_list(f, index.arrays(None))
            if depth is not None:
                raise query.into_list(f, depth, chosen.clause)
    sql = sqlwhere.compile(chosen.tree)
    index.paths(sql.paths)
    return {(s, n) for s, n, _, _ in index.select(sql.where, sql.params, sql.functions, None, None, sql.label)}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(manifests, labels, st.booleans()), min_size=1, max_size=4), clauses, st.booleans())
def test_the_index_picks_what_the_clause_picks(units: list[tuple[Any, dict[str, str], bool]], clause: str,
                                                kept_first: bool) -> None:
    made = [Unit("prod-eu" if i % 2 else "dev", f"u{i}", unit_labels, {"region": "eu"} if i % 2 else {},
                 "base" if upstream else None, yamlio.dump(manifest))
            for i, (manifest, unit_labels, upstream) in enumerate(units)]
    chosen = query.parse(clause)
    with tempfile.TemporaryDirectory() as tmp:
        index = _index(Path(tmp) / "index.sqlite", made,
                       sqlwhere.compile(chosen.tree).paths if kept_first else None)
        try:
            try:
                expected = {(u.space, u.unit) for u in made if chosen.matches(u)}
            except query.QueryError:  # a name stepping into a list: the index says so too
                with pytest.raises(query.QueryError, match="is a list"):
                    _by_index(index, chosen)
                return
            try:
                found = _by_index(index, chosen)
            except query.QueryError as e:
                # The index refuses a path that steps into a list anywhere; unit by unit, only a
                # unit the clause reaches raises. Then no unit may have matched by that path.
                assert "is a list" in e.message
                return
            assert found == expected, (clause, [u.body for u in made])
        finally:
            index.close()


def test_documents_json_cannot_hold_exactly_are_marked() -> None:
    assert document("b1", "a: !!binary aGk=\n").json is None
    assert document("b2", "1: x\n").json is None
    assert document("b3", "a: [\n").json is None  # not YAML: kept as text alone
    assert document("b4", "a: .nan\n").json is None
    assert document("b5", "a: 0.30000000000000004\n").json is None
    assert json.loads(document("b6", "a: [1, 2.5, true, ~, x]\n").json or "") == {"a": [1, 2.5, True, None, "x"]}


def test_revision_is_not_indexable() -> None:
    assert not sqlwhere.indexable(query.parse("Revision > 2 AND Slug = 'x'").tree)
    assert sqlwhere.indexable(query.parse("spec.replicas > 2 AND Labels.layer = 'backend'").tree)


def test_the_paths_kept_are_the_last_asked_for_and_answer_as_before(tmp_path: Path) -> None:
    made = [Unit("dev", f"u{i}", {}, {}, None, yamlio.dump({f"k{j}": i for j in range(3)}))
            for i in range(3)]
    index = _index(tmp_path / "index.sqlite", made)
    try:
        first = query.parse("k0 > 0")
        assert _by_index(index, first) == {("dev", "u1"), ("dev", "u2")}
        for j in range(fieldindex.PATHS):  # as many other paths: k0 is the oldest, and goes
            _by_index(index, query.parse(f"other{j} = 1"))
        kept = [r[0] for r in index.db.execute("SELECT name FROM path ORDER BY id")]
        assert len(kept) == fieldindex.PATHS and '$."k0"' not in kept
        assert index.db.execute("SELECT count(*) FROM value v WHERE v.path NOT IN "
                                "(SELECT id FROM path)").fetchone() == (0,)
        assert _by_index(index, first) == {("dev", "u1"), ("dev", "u2")}  # taken again
        assert _by_index(index, query.parse("k1 = 2 OR k2 IS NULL")) == {("dev", "u2")}
    finally:
        index.close()


def test_manifests_are_parsed_in_forked_workers_beside_a_progress_bar_but_not_a_working_thread() -> None:
    stop = threading.Event()
    refresh = threading.Thread(target=stop.wait, daemon=True)  # as rich's progress bar refreshes
    work = threading.Thread(target=stop.wait)
    try:
        assert not forked.busy()
        refresh.start()
        assert not forked.busy()
        work.start()
        assert forked.busy()
    finally:
        stop.set()
        for thread in (refresh, work):
            if thread.is_alive():
                thread.join()
