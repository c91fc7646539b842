"""The field index: unit metadata and manifests of one commit in SQLite, for WHERE over a
whole fleet without parsing a manifest (the only sqlite3 user).

One database file, ``.git/gitops/where.sqlite`` (never committed, never the source of truth):
it says which commit it is of, and holds that commit's spaces (labels), units (labels,
upstream, the document they point to) and documents, kept by blob id: a document shared by
many units, or unchanged between commits, is stored once. A document's text (``doc_text``) and
the same manifest as JSON (``doc_json``) are tables of their own, so a query scans only the
one it reads. generator.operations.indexing keeps it equal to HEAD; generator.sqlwhere writes
the conditions run here.

A path of named steps a query has asked for (``spec.replicas``) gets its values taken out of
every document once (``value``: one row per document the path reaches something in), and kept
for every document added after; a later query on it looks each unit's value up instead of
parsing the unit's JSON. The last ``PATHS`` paths asked for are kept (the oldest is dropped).

A file of another schema version, or one SQLite cannot read, is started again empty. Inside
``answering()``, whatever else goes wrong with SQLite or the file (another process writing it
for longer than two seconds, a full disk) is ``Unavailable``: the caller answers without it.
Knows tables and rows, not git, YAML or the WHERE grammar.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VERSION = 5
AVAILABLE = sqlite3.sqlite_version_info >= (3, 38)  # JSON's ``->`` (older: WHERE goes unit by unit)
FILE = "gitops/where.sqlite"  # under the repo's git dir
PATHS = 32  # the paths whose values are kept (the oldest asked for goes first)

_SCHEMA = """
CREATE TABLE state(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE space(name TEXT PRIMARY KEY, labels TEXT NOT NULL);
CREATE TABLE doc(id INTEGER PRIMARY KEY, blob TEXT NOT NULL UNIQUE, exact INTEGER NOT NULL,
                 arrays TEXT NOT NULL);
CREATE INDEX doc_arrays ON doc(arrays);
CREATE INDEX doc_inexact ON doc(exact) WHERE NOT exact;
CREATE TABLE doc_json(id INTEGER PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE doc_text(id INTEGER PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE unit(space TEXT NOT NULL, name TEXT NOT NULL, doc INTEGER, labels TEXT NOT NULL,
                  upstream TEXT, upstream_space TEXT, position INTEGER NOT NULL,
                  PRIMARY KEY(space, name));
CREATE INDEX unit_doc ON unit(doc);
CREATE TABLE label(key TEXT NOT NULL, value TEXT NOT NULL, space TEXT NOT NULL, unit TEXT NOT NULL);
CREATE INDEX label_value ON label(key, value, space, unit);  -- all a query reads of it
CREATE INDEX label_unit ON label(space, unit);
CREATE TABLE path(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, parent TEXT NOT NULL,
                  last TEXT NOT NULL);
CREATE TABLE value(path INTEGER NOT NULL, doc INTEGER NOT NULL, type TEXT NOT NULL, atom,
                   PRIMARY KEY(path, doc)) WITHOUT ROWID;
"""


class Unavailable(Exception):
    """The index cannot be used now (another process holds it for writing, the disk is full,
    the file is damaged): the caller answers without it."""


@contextmanager
def answering() -> Iterator[None]:
    """SQLite's errors, and the file system's, as Unavailable."""
    try:
        yield
    except (sqlite3.Error, OSError) as e:
        raise Unavailable(str(e)) from e


@dataclass(frozen=True)
class UnitRow:
    """A unit as the index keeps it (labels as JSON text)."""

    space: str
    name: str
    blob: str | None
    labels: str
    upstream: str | None
    upstream_space: str | None
    position: int  # its place in the space's record


@dataclass(frozen=True)
class DocRow:
    """A document: its blob id, text, JSON (None: JSON would not hold it exactly) and where it
    has lists (sqlwhere.shape, one per line)."""

    blob: str
    text: str
    json: str | None
    arrays: str


class FieldIndex:
    """An open index file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = _connect(path)

    def close(self) -> None:
        self.db.close()

    @property
    def commit(self) -> str | None:
        """The commit the index is of (None: empty)."""
        row = self.db.execute("SELECT value FROM state WHERE key = 'commit'").fetchone()
        return str(row[0]) if row else None

    def known(self, blobs: Iterable[str]) -> set[str]:
        """Those of ``blobs`` whose documents the index has."""
        wanted = list(set(blobs))
        found: set[str] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            found.update(r[0] for r in self.db.execute(
                f"SELECT blob FROM doc WHERE blob IN ({', '.join('?' * len(chunk))})", chunk))
        return found

    def update(self, base: str | None, commit: str, spaces: dict[str, str], units: list[UnitRow],
               docs: Iterable[DocRow], gone: Iterable[str] = (), everything: bool = False) -> bool:
        """Make the index of ``base`` one of ``commit``: ``spaces`` (name -> labels JSON) get
        exactly the units ``units`` (a unit whose labels, upstream and place are unchanged only
        has its document pointer moved: a fleet-wide edit rewrites no label); the spaces
        ``gone`` are removed; with ``everything``, every space not given is. Documents no unit
        points to any more are dropped. One transaction: a reader sees the old commit or the
        new one. False, and nothing written, when another process moved the index off ``base``
        meanwhile (without ``everything``). ``docs`` is read as it is written, 500 at a time: a
        generator keeps a fleet's manifests out of memory."""
        with self._transaction() as db:
            if not everything and self.commit != base:
                return False
            if everything:
                for table in ("unit", "space", "label"):
                    db.execute(f"DELETE FROM {table}")
            gone = list(gone)
            db.executemany("DELETE FROM space WHERE name = ?", [(n,) for n in [*spaces, *gone]])
            db.executemany("INSERT INTO space(name, labels) VALUES (?, ?)", spaces.items())
            batch: list[DocRow] = []
            for doc in docs:
                batch.append(doc)
                if len(batch) == 500:
                    self._add_documents(batch)
                    batch = []
            self._add_documents(batch)
            had = {} if everything else self._units([*spaces, *gone])
            want = {(u.space, u.name): u for u in units}
            moved = [(u.blob, u.space, u.name) for key, u in want.items()
                     if key in had and had[key][1:] == _meta(u) and had[key][0] != u.blob]
            stale = [key for key in had if key not in want or had[key][1:] != _meta(want[key])]
            replaced = set(stale)
            fresh = [u for key, u in want.items() if key not in had or key in replaced]
            db.executemany("UPDATE unit SET doc = (SELECT id FROM doc WHERE blob = ?) "
                           "WHERE space = ? AND name = ?", moved)
            db.executemany("DELETE FROM unit WHERE space = ? AND name = ?", stale)
            db.executemany("DELETE FROM label WHERE space = ? AND unit = ?", stale)
            db.executemany(
                "INSERT INTO unit(space, name, doc, labels, upstream, upstream_space, position) "
                "VALUES (?, ?, (SELECT id FROM doc WHERE blob = ?), ?, ?, ?, ?)",
                [(u.space, u.name, u.blob, u.labels, u.upstream, u.upstream_space, u.position) for u in fresh])
            db.executemany("INSERT INTO label(key, value, space, unit) VALUES (?, ?, ?, ?)",
                           [(key, str(value), u.space, u.name) for u in fresh
                            for key, value in json.loads(u.labels).items()])
            if everything:
                orphans = "SELECT id FROM doc WHERE id NOT IN (SELECT doc FROM unit WHERE doc IS NOT NULL)"
                dropped = [r[0] for r in db.execute(orphans)]
            else:  # only a document a changed unit pointed to can have lost its last unit
                old = {had[key][0] for key in stale} | {had[(space, name)][0] for _, space, name in moved}
                dropped = [r[0] for r in db.execute(
                    "SELECT d.id FROM doc d WHERE d.blob IN (SELECT value FROM json_each(?)) "
                    "AND NOT EXISTS (SELECT 1 FROM unit u WHERE u.doc = d.id)",
                    (json.dumps(sorted(b for b in old if b)),))]
            for table in ("doc", "doc_json", "doc_text"):
                db.executemany(f"DELETE FROM {table} WHERE id = ?", [(i,) for i in dropped])
            db.executemany("DELETE FROM value WHERE path IN (SELECT id FROM path) AND doc = ?",
                           [(i,) for i in dropped])
            db.execute("INSERT OR REPLACE INTO state(key, value) VALUES ('commit', ?)", (commit,))
        return True

    def _add_documents(self, docs: list[DocRow]) -> None:
        """New documents (ones the index has are left as they are)."""
        db = self.db
        db.executemany("INSERT OR IGNORE INTO doc(blob, exact, arrays) VALUES (?, ?, ?)",
                       [(d.blob, d.json is not None, d.arrays) for d in docs])
        db.executemany("INSERT OR IGNORE INTO doc_text(id, text) SELECT id, ? FROM doc WHERE blob = ?",
                       [(d.text, d.blob) for d in docs])
        db.executemany("INSERT OR IGNORE INTO doc_json(id, json) SELECT id, ? FROM doc WHERE blob = ?",
                       [(d.json, d.blob) for d in docs if d.json is not None])
        if docs:
            self._take_values("d.blob IN (SELECT value FROM json_each(?))",
                              [json.dumps([d.blob for d in docs])])

    def paths(self, paths: Iterable[tuple[str, str, str]]) -> None:
        """Make sure the index keeps the values of these paths (SQLite JSON path, the path
        of its parent, its last step) for every document: a path not kept yet has its values
        taken out of every document now, and the oldest kept beyond ``PATHS`` is dropped."""
        kept = {r[0] for r in self.db.execute("SELECT name FROM path")}
        wanted = {p for p in paths if p[0] not in kept}
        if not wanted:
            return
        with self._transaction() as db:
            for name, parent, last in sorted(wanted):  # (another process may have added it)
                if db.execute("INSERT OR IGNORE INTO path(name, parent, last) VALUES (?, ?, ?)",
                              (name, parent, last)).rowcount:
                    self._take_values("p.name = ?", [name])
            for (old,) in db.execute("SELECT id FROM path ORDER BY id DESC LIMIT -1 OFFSET ?",
                                     (max(PATHS, len(wanted)),)).fetchall():
                db.execute("DELETE FROM value WHERE path = ?", (old,))
                db.execute("DELETE FROM path WHERE id = ?", (old,))

    def _take_values(self, which: str, params: list[Any]) -> None:
        """Rows of ``value`` for the kept paths and documents ``which`` picks (over ``p``
        and ``d``): what the path reaches in a document whose text has its last key (as the
        WHERE does without the index). A map or a list is kept as its type alone."""
        self.db.execute(
            "INSERT OR IGNORE INTO value(path, doc, type, atom) "
            "SELECT p.id, d.id, e.type, CASE WHEN e.type IN ('object', 'array') THEN NULL ELSE e.atom END "
            "FROM path p, doc d JOIN doc_json j ON j.id = d.id JOIN doc_text t ON t.id = d.id, "
            "json_each(j.json, p.parent) e "
            f"WHERE ({which}) AND e.key = p.last AND instr(t.text, p.last) > 0", params)

    def _units(self, spaces: list[str]) -> dict[tuple[str, str], tuple[str | None, str, str | None, str | None, int]]:
        """What the index has of these spaces' units: (space, unit) -> (blob, labels,
        upstream, upstream space, position)."""
        rows = self.db.execute(
            "SELECT u.space, u.name, d.blob, u.labels, u.upstream, u.upstream_space, u.position "
            "FROM unit u LEFT JOIN doc d ON d.id = u.doc WHERE u.space IN (SELECT value FROM json_each(?))",
            (json.dumps(spaces),))
        return {(r[0], r[1]): (r[2], r[3], r[4], r[5], r[6]) for r in rows}

    def spaces(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM space ORDER BY name")]

    def inexact(self, spaces: list[str] | None) -> bool:
        """Whether a unit of ``spaces`` (None: all) has a document JSON does not hold exactly."""
        if spaces is None:  # every document is some unit's
            return self.db.execute("SELECT 1 FROM doc WHERE NOT exact LIMIT 1").fetchone() is not None
        return self._scoped("SELECT 1 FROM unit u JOIN doc d ON d.id = u.doc WHERE NOT d.exact",
                            spaces, " LIMIT 1") != []

    def arrays(self, spaces: list[str] | None) -> set[str]:
        """Every path where a document of ``spaces`` has a non-empty list."""
        if spaces is None:  # every document is some unit's
            rows = self.db.execute("SELECT DISTINCT arrays FROM doc").fetchall()
        else:
            rows = self._scoped("SELECT DISTINCT d.arrays FROM unit u JOIN doc d ON d.id = u.doc WHERE 1", spaces)
        return {line for (text,) in rows for line in str(text).split("\n") if line}

    def select(self, where: str, params: list[Any], functions: dict[str, tuple[int, Callable[..., bool]]],
               spaces: list[str] | None, unit: str | None,
               label: tuple[str, list[str]] | None = None) -> list[tuple[str, str, str, str | None]]:
        """(space, unit, labels JSON, upstream) of every unit of ``spaces`` (None: all), named
        ``unit`` if given, that ``where`` holds for; by space, then in the order the space's
        record lists its units. ``label`` (key, values), a label every unit found has one of,
        makes the label's index find the units to try (the rest are never looked at)."""
        for name, (arity, function) in functions.items():
            self.db.create_function(name, arity, function, deterministic=True)
        units = "unit u"
        if label is not None:
            key, values = label
            units = (f"label l JOIN unit u ON u.space = l.space AND u.name = l.unit AND l.key = ? "
                     f"AND l.value IN ({', '.join('?' * len(values))})")
            params = [key, *values, *params]
        sql = (f"SELECT u.space, u.name, u.labels, u.upstream FROM {units} JOIN space s ON s.name = u.space "
               "LEFT JOIN doc_json dj ON dj.id = u.doc LEFT JOIN doc_text dt ON dt.id = u.doc "
               f"WHERE ({where})")
        if unit is not None:
            sql += " AND u.name = ?"
            params = [*params, unit]
        return self._scoped(sql, spaces, " ORDER BY u.space, u.position", params)

    def _scoped(self, sql: str, spaces: list[str] | None, tail: str = "",
                params: list[Any] | None = None) -> list[Any]:
        args = list(params or [])
        if spaces is not None:
            sql += " AND u.space IN (SELECT value FROM json_each(?))"
            args.append(json.dumps(spaces))
        return self.db.execute(sql + tail, args).fetchall()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()


def _meta(u: UnitRow) -> tuple[str, str | None, str | None, int]:
    """What a unit row holds besides its document."""
    return u.labels, u.upstream, u.upstream_space, u.position


def _connect(path: Path) -> sqlite3.Connection:
    """The database at ``path``, created or started again when it is not of this version."""
    try:
        db = _open(path)
        if db.execute("PRAGMA user_version").fetchone()[0] == VERSION:
            return db
        db.close()
    except sqlite3.DatabaseError:
        pass
    for stale in (path, path.with_name(path.name + "-journal")):
        stale.unlink(missing_ok=True)
    db = _open(path)
    db.executescript(_SCHEMA + f"PRAGMA user_version = {VERSION};")
    return db


def _open(path: Path) -> sqlite3.Connection:
    # a writer waits this long for another (building a fleet's index takes minutes: then the
    # query goes on without the index rather than wait)
    db = sqlite3.connect(path, timeout=2, isolation_level=None)
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA mmap_size = 268435456")  # read pages in place, not copied (a fleet's index is large)
    return db
