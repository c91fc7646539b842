"""WHERE over the whole fleet from the field index, kept equal to HEAD.

The index (generator.fieldindex, a SQLite file under ``.git/``) is of one commit. Asked at
another, it is brought there from the diff between the two (``git diff-tree``): the spaces
whose record or files changed are written again from the Fleet (so a hand-made commit reads as
the Fleet reads it), and only manifests the index does not have yet are parsed. Without a
usable index commit (none yet, or one git no longer has) every space is written. Many new
manifests (a first index of a fleet) are parsed by forked worker processes, one per core.

A manifest path of named steps a clause reads has its values kept by the index from then on
(``FieldIndex.paths``): the first query on it reads every manifest's JSON once.

The index is an accelerator, never the source of truth: whenever it cannot answer exactly
(a view of another commit than HEAD, a clause with Revision, a manifest JSON cannot hold
exactly, another process moving the index meanwhile, or ``GITOPS_FIELD_INDEX=off`` in the
environment) ``select`` returns None and the caller evaluates the clause unit by unit. Never
changes the manifests repo.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from generator import fieldindex, sqlwhere, state, yamlio
from generator.fieldindex import DocRow, FieldIndex, UnitRow
from generator.errors import YamlError
from generator.model import UnitRef, is_glob
from generator.operations.fleet import Fleet
from generator.operations import forked
from generator.query import Query, into_list

Progress = Callable[[int, int], None]
CHUNK = 500  # documents read from git, parsed and written to the index at a time
PARALLEL_FROM = 4000  # documents: fewer are parsed in this process (workers cost more to start)


def select(fleet: Fleet, space_glob: str, unit: str | None, chosen: Query,
           progress: Progress | None = None) -> list[tuple[UnitRef, dict[str, str], str | None]] | None:
    """The units of the spaces matching ``space_glob`` (named ``unit`` if given) that
    ``chosen`` holds for, from the index, with their labels and upstream; None when the index
    cannot answer exactly."""
    if (fleet.store.rev is not None or not sqlwhere.indexable(chosen.tree)
            or os.environ.get("GITOPS_FIELD_INDEX") == "off" or not fieldindex.AVAILABLE):
        return None
    try:
        with fieldindex.answering():
            rows = _answer(fleet, space_glob, unit, chosen, progress)
    except fieldindex.Unavailable:
        return None
    if rows is None:
        return None
    return [(UnitRef(space, name), json.loads(labels), upstream) for space, name, labels, upstream in rows]


def _answer(fleet: Fleet, space_glob: str, unit: str | None, chosen: Query,
            progress: Progress | None) -> list[tuple[str, str, str, str | None]] | None:
    """``select``'s rows from the index brought to HEAD; None when it cannot answer exactly."""
    index = fresh(fleet, progress)
    if index is None:
        return None
    try:
        spaces = None if space_glob == "*" else _matching(index.spaces(), space_glob)
        if spaces == []:
            return []
        if sqlwhere.needs_documents(chosen.tree) and index.inexact(spaces):
            return None
        manifest = [f for f in sqlwhere.fields(chosen.tree) if not f.metadata]
        if manifest:
            arrays = index.arrays(spaces)
            for f in manifest:
                depth = sqlwhere.stepped_into_list(f, arrays)
                if depth is not None:
                    raise into_list(f, depth, chosen.clause)
        sql = sqlwhere.compile(chosen.tree)
        index.paths(sql.paths)
        return index.select(sql.where, sql.params, sql.functions, spaces, unit, sql.label)
    finally:
        index.close()


def _matching(names: list[str], pattern: str) -> list[str]:
    if not is_glob(pattern):
        return [pattern] if pattern in names else []
    return [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def fresh(fleet: Fleet, progress: Progress | None = None) -> FieldIndex | None:
    """The index, made of the fleet's commit (HEAD); None when there is no commit yet or
    another process moved the index while this one brought it up to date."""
    head = fleet.store.head()
    if head is None:
        return None
    index = FieldIndex(fleet.store.private_path(fieldindex.FILE))
    base = index.commit
    if base == head:
        return index
    everything = base is None or fleet.store.resolve(base) != base
    if everything:
        names = set(fleet.spaces)
        gone: set[str] = set()
    else:
        touched = {_space_of(path) for path in fleet.store.changed(base, head, state.SPACES_DIR,
                                                                     state.STATE_DIR)}
        touched.discard(None)
        names = {n for n in touched if n in fleet.spaces}  # type: ignore[misc]
        gone = {n for n in touched if n not in fleet.spaces}  # type: ignore[misc]
    spaces, units = _rows(fleet, sorted(names))
    new = sorted({u.blob for u in units if u.blob} - index.known(u.blob for u in units if u.blob))

    if not index.update(base, head, spaces, units, _documents(fleet, new, progress), gone, everything):
        index.close()
        return None
    return index


def _documents(fleet: Fleet, blobs: list[str], progress: Progress | None) -> Iterator[DocRow]:
    """The documents of ``blobs``, read and parsed as the index writes them, 500 at a time.
    Many (a first index of a fleet) are parsed by a worker process per core while this one
    reads the next from git and writes the last to the index."""
    chunks = [blobs[start:start + CHUNK] for start in range(0, len(blobs), CHUNK)]
    # (a worker only parses text it is given: it takes no lock another thread could hold)
    workers = forked.processes(len(blobs), PARALLEL_FROM)
    if workers < 2:
        parsed: Iterator[list[DocRow]] = (_parse(list(fleet.store.read_blobs(c).items())) for c in chunks)
    else:
        parsed = _in_workers(fleet, chunks, workers)
    for done, rows in enumerate(parsed):
        if progress:
            progress(done * CHUNK, len(blobs))
        yield from rows
    if progress and blobs:
        progress(len(blobs), len(blobs))


def _in_workers(fleet: Fleet, chunks: list[list[str]], workers: int) -> Iterator[list[DocRow]]:
    """``_parse`` of each chunk in a pool of ``workers`` processes, in order; at most two chunks
    a worker read ahead (a fleet's manifests are never all in memory). Forked (``forked.pool``):
    a worker imports nothing to parse, never touches the index or git, and dies with this process."""
    with forked.pool(workers) as pool:
        pending: deque[forked.Returned[list[DocRow]]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_parse, list(fleet.store.read_blobs(chunk).items())))
            if len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _parse(texts: list[tuple[str, str]]) -> list[DocRow]:
    return [document(blob, text) for blob, text in texts]


def _space_of(path: str) -> str | None:
    """The space a changed path belongs to: its record or one of its files."""
    if path.startswith(state.SPACES_DIR + "/"):
        return path.split("/", 2)[1]
    ref = path.removeprefix(state.STATE_DIR + "/spaces/")
    if ref != path and ref.endswith(".json") and "/" not in ref:
        return ref[:-5]
    return None


def _rows(fleet: Fleet, names: list[str]) -> tuple[dict[str, str], list[UnitRow]]:
    """The index rows of these spaces, as the Fleet reads them."""
    spaces, units = {}, []
    records = fleet.spaces
    for name in names:
        # a space whose files are what its record lists is its record (no Space kept for writing)
        space = (state.space_from_record(records.raw(name), state.record_path(name))
                 if records.consistent(name) else records[name])
        spaces[name] = json.dumps(space.labels, sort_keys=True)
        for position, (unit, unit_state) in enumerate(space.units.items()):
            upstream = unit_state.upstream
            units.append(UnitRow(name, unit, fleet.blobs.get(state.unit_path(UnitRef(name, unit))),
                                 json.dumps(unit_state.labels, sort_keys=True),
                                 str(upstream) if upstream else None,
                                 upstream.space if upstream else None, position))
    return spaces, units


def document(blob: str, text: str) -> DocRow:
    """A manifest as the index keeps it. One whose YAML does not parse, or that JSON cannot
    hold exactly, is kept as text alone: a clause that needs its fields falls back to reading
    it (and says what is wrong with it, as without the index)."""
    try:
        data: Any = yamlio.load_own(text)  # what gitops wrote: read line by line
        if data is None:
            data = yamlio.load(text, blob)
    except YamlError:
        return DocRow(blob, text, None, "")
    exact, arrays = sqlwhere.shape(data)
    if not exact:
        return DocRow(blob, text, None, "")
    return DocRow(blob, text, json.dumps(data, separators=(",", ":"), ensure_ascii=False),
                  "\n".join(sorted(arrays)))
