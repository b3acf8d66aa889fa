"""The index's records on disk: one SQLite file (``index.sqlite``) beside the vector store.

Per indexed file a row (hash, encoding, lines, pages); per chunk a row keyed by its id with the
columns a snapshot needs (file, position, lines, text length, section) and the whole chunk as
JSON, read only when the chunk is retrieved; per chunk its sentences' vectors (float16). Opening
costs a few milliseconds however large the corpus, and one new file is one transaction.

Chunk ids are derived from the file's path and content hash, so a chunk row never changes. A
changed file's new rows are added beside the old ones and its file row switches to the new hash
in the same transaction; the old rows stay readable (for an engine still answering from the old
snapshot) until ``drop_unowned`` removes every row no file row owns. Crash safety is SQLite's:
a transaction is either whole on disk or absent.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
from pydantic import BaseModel, Field, TypeAdapter

from .duplicates import DuplicatePair
from .errors import IndexStateError
from .models import Chunk

logger = logging.getLogger(__name__)

#: 1: first SQLite layout (chunks as made by manifest version 2 of ``index.manifest``).
CATALOG_VERSION = 1
#: Ids per ``IN (...)`` query (SQLite's default limit on parameters is 32766).
_BATCH = 900

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    rel TEXT PRIMARY KEY, sha256 TEXT NOT NULL, encoding TEXT NOT NULL, lines INTEGER NOT NULL,
    pages INTEGER, n_chunks INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, file TEXT NOT NULL, file_hash TEXT NOT NULL, ordinal INTEGER NOT NULL,
    first_line INTEGER NOT NULL, last_line INTEGER NOT NULL, text_len INTEGER NOT NULL, section TEXT,
    body BLOB NOT NULL);
-- Covers what a snapshot reads, so opening scans this index and never the chunk bodies.
CREATE INDEX IF NOT EXISTS chunks_by_file ON chunks (file, ordinal, file_hash, id, first_line, last_line, text_len, section);
CREATE TABLE IF NOT EXISTS sentence_vectors (id TEXT PRIMARY KEY, dim INTEGER NOT NULL, data BLOB NOT NULL);
"""

#: The chunks of the current version of every file, in file then position order.
_CURRENT = "FROM chunks c JOIN files f ON c.file = f.rel AND c.file_hash = f.sha256"


class FileRecord(BaseModel):
    """What the index records of one file's version."""

    sha256: str = Field(description="SHA-256 of the file's bytes when indexed.")
    encoding: str = Field(description="How the file was read: decoded as utf-8, cp1252, latin-1 or utf-16, or by the pdf, docx or html reader.")
    lines: int = Field(description="Number of lines in the file (in its text view, for PDF, Word and HTML files).")
    pages: int | None = Field(default=None, description="Number of pages, for a PDF; None for other files.")


class FileInfo(FileRecord):
    """One indexed file, without its chunks."""

    chunk_count: int = Field(description="How many chunks the file was cut into.")


class FileEntry(FileRecord):
    """One indexed file with its chunks."""

    chunks: list[Chunk] = Field(description="The file's chunks, in order.")


class ChunkRow(NamedTuple):
    """What a snapshot keeps in memory of a chunk: enough to order, filter and key it (a tuple: 100k of them are
    made at every engine start, and a pydantic model costs 16 µs each)."""

    id: str
    file: str
    first_line: int
    last_line: int
    text_len: int
    section: str | None


_PAIRS = TypeAdapter(list[DuplicatePair])


def pairs_json(pairs: list[DuplicatePair] | None) -> str | None:
    """How near-duplicate pairs are stored in the meta table (None: not computed yet)."""
    return None if pairs is None else _PAIRS.dump_json(pairs).decode()


def _chunks_of(rows: Iterable[tuple[str, bytes]]) -> dict[str, Chunk]:
    return {cid: Chunk.model_validate_json(body) for cid, body in rows}


class Catalog:
    """The SQLite file of one index. Thread-safe: one connection, used under a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._pairs: tuple[str, list[DuplicatePair]] | None = None
        try:
            self._db = sqlite3.connect(path, timeout=60, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise IndexStateError(
                f"index database {path} is unreadable ({exc}); delete the folder {path.parent} and index again"
            ) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes inside land together or not at all. A database error (disk full, read-only, damaged) becomes an
        ``IndexStateError`` that says what to do; the transaction is rolled back, so nothing is half-written."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise self._state_error("write", exc) from exc

    @contextmanager
    def _within(self, db: sqlite3.Connection | None) -> Iterator[sqlite3.Connection]:
        """``db`` when a caller's transaction is open, else a transaction of its own."""
        if db is not None:
            yield db
        else:
            with self.transaction() as conn:
                yield conn

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:  # type: ignore[type-arg]
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._state_error("read", exc) from exc

    def _state_error(self, doing: str, exc: sqlite3.Error) -> IndexStateError:
        why = str(exc).lower()
        if any(w in why for w in ("full", "readonly", "read-only", "permission", "unable to open")):
            hint = "free disk space or make DOCQA_HOME writable, then run `docqa index` again (nothing was half-written)"
        elif "locked" in why or "busy" in why:
            hint = "another docqa process is writing this index; wait for it to finish, then try again"
        else:
            hint = f"if it persists, delete the folder {self.path.parent} and run `docqa index` again"
        return IndexStateError(f"could not {doing} the index database {self.path} ({exc}); {hint}")

    def _in_batches(self, sql: str, ids: Sequence[str]) -> list[tuple]:  # type: ignore[type-arg]
        """``sql`` holds one ``{marks}`` for an ``IN (...)`` list; run it over ``ids`` in slices."""
        out: list[tuple] = []  # type: ignore[type-arg]
        for at in range(0, len(ids), _BATCH):
            part = ids[at : at + _BATCH]
            out.extend(self._query(sql.format(marks=",".join("?" * len(part))), part))
        return out

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, values: dict[str, str | None], db: sqlite3.Connection | None = None) -> None:
        """Set (None: delete) meta values; inside ``db``'s transaction when given."""
        with self._within(db) as conn:
            for key, value in values.items():
                if value is None:
                    conn.execute("DELETE FROM meta WHERE key = ?", (key,))
                else:
                    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def clear(self) -> None:
        """Forget everything (the index is rebuilt)."""
        with self.transaction() as db:
            for table in ("meta", "files", "chunks", "sentence_vectors"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    @property
    def indexed_at(self) -> datetime | None:
        value = self.get_meta("indexed_at")
        return datetime.fromisoformat(value) if value else None

    @property
    def duplicates(self) -> list[DuplicatePair] | None:
        """The near-duplicate pairs of the last run (None: not computed yet); parsed once per stored value (a large
        folder of copies can hold tens of thousands of pairs)."""
        value = self.get_meta("duplicates")
        if value is None:
            return None
        with self._lock:
            if self._pairs is None or self._pairs[0] != value:
                self._pairs = (value, _PAIRS.validate_json(value))
            return list(self._pairs[1])

    def set_duplicates(self, pairs: list[DuplicatePair] | None) -> None:
        self.set_meta({"duplicates": pairs_json(pairs)})

    # ------------------------------------------------------------------ files
    def infos(self) -> dict[str, FileInfo]:
        """Every indexed file, by relative path, without chunks."""
        return {
            rel: FileInfo(sha256=sha, encoding=enc, lines=lines, pages=pages, chunk_count=n)
            for rel, sha, enc, lines, pages, n in self._query(
                "SELECT rel, sha256, encoding, lines, pages, n_chunks FROM files ORDER BY rel")
        }

    def hashes(self) -> dict[str, str]:
        """Relative path -> content hash of every indexed file."""
        return dict(self._query("SELECT rel, sha256 FROM files"))  # type: ignore[arg-type]

    def entry(self, rel: str) -> FileEntry | None:
        """One file with its chunks, or None when it is not indexed."""
        rows = self._query("SELECT sha256, encoding, lines, pages FROM files WHERE rel = ?", (rel,))
        if not rows:
            return None
        sha, enc, lines, pages = rows[0]
        bodies = self._query("SELECT body FROM chunks WHERE file = ? AND file_hash = ? ORDER BY ordinal", (rel, sha))
        return FileEntry(sha256=sha, encoding=enc, lines=lines, pages=pages,
                         chunks=[Chunk.model_validate_json(b) for (b,) in bodies])

    def put_files(self, entries: dict[str, FileEntry], db: sqlite3.Connection | None = None) -> None:
        """Record new versions of files and their chunks (old chunk rows stay until ``drop_unowned``)."""
        with self._within(db) as conn:
            for rel, e in entries.items():
                conn.execute("INSERT OR REPLACE INTO files (rel, sha256, encoding, lines, pages, n_chunks) VALUES (?, ?, ?, ?, ?, ?)",
                             (rel, e.sha256, e.encoding, e.lines, e.pages, len(e.chunks)))
                conn.executemany(
                    "INSERT OR REPLACE INTO chunks (id, file, file_hash, ordinal, first_line, last_line, text_len, section, body) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(c.id, c.file, c.file_hash, c.ordinal, c.first_line, c.last_line, len(c.text), c.section,
                      c.model_dump_json().encode()) for c in e.chunks])

    def remove_files(self, rels: Iterable[str]) -> None:
        """Forget files (their chunk rows stay until ``drop_unowned``)."""
        with self.transaction() as db:
            db.executemany("DELETE FROM files WHERE rel = ?", [(r,) for r in rels])

    # ------------------------------------------------------------------ chunks
    def chunk_count(self) -> int:
        """Chunks of the current version of every file."""
        return int(self._query("SELECT COALESCE(SUM(n_chunks), 0) FROM files")[0][0])

    def chunk_rows(self) -> list[ChunkRow]:
        """The current chunks' ids and positions, ordered by file then position (no text is read)."""
        return list(map(ChunkRow._make, self._query(
            f"SELECT c.id, c.file, c.first_line, c.last_line, c.text_len, c.section {_CURRENT} ORDER BY c.file, c.ordinal")))

    def current_ids(self) -> set[str]:
        """Ids of the current chunks."""
        return {i for (i,) in self._query(f"SELECT c.id {_CURRENT}")}

    def chunks(self, ids: Sequence[str]) -> dict[str, Chunk]:
        """The chunks with these ids that have a row (current or not yet dropped)."""
        return _chunks_of(self._in_batches("SELECT id, body FROM chunks WHERE id IN ({marks})", list(ids)))

    def all_chunks(self) -> list[Chunk]:
        """Every current chunk, ordered by file then position."""
        return [Chunk.model_validate_json(b) for (b,) in self._query(f"SELECT c.body {_CURRENT} ORDER BY c.file, c.ordinal")]

    def chunk_ids_of(self, rels: Sequence[str]) -> dict[str, list[str]]:
        """File -> ids of its current chunks in order."""
        out: dict[str, list[str]] = {r: [] for r in rels}
        for rel, cid in self._in_batches(
            f"SELECT c.file, c.id {_CURRENT} WHERE c.file IN ({{marks}}) ORDER BY c.file, c.ordinal", list(rels)
        ):
            out[rel].append(cid)
        return out

    def drop_unowned(self) -> int:
        """Delete chunk rows and sentence vectors that no current file version owns; returns chunk rows deleted."""
        with self.transaction() as db:
            gone = db.execute(
                "DELETE FROM chunks WHERE NOT EXISTS "
                "(SELECT 1 FROM files f WHERE f.rel = chunks.file AND f.sha256 = chunks.file_hash)").rowcount
            db.execute("DELETE FROM sentence_vectors WHERE id NOT IN (SELECT id FROM chunks)")
        return int(gone)

    def stored_chunk_rows(self) -> int:
        """Chunk rows on disk, current or not."""
        return int(self._query("SELECT COUNT(*) FROM chunks")[0][0])

    # ------------------------------------------------------------------ sentence vectors
    def put_sentence_vectors(self, rows: dict[str, np.ndarray], db: sqlite3.Connection | None = None) -> None:
        with self._within(db) as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO sentence_vectors (id, dim, data) VALUES (?, ?, ?)",
                [(cid, int(m.shape[1]) if m.ndim == 2 else 0, np.ascontiguousarray(m, dtype=np.float16).tobytes())
                 for cid, m in rows.items()])

    def sentence_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Chunk id -> its sentences' vectors (float16), for the ids that have them."""
        out: dict[str, np.ndarray] = {}
        for cid, dim, data in self._in_batches("SELECT id, dim, data FROM sentence_vectors WHERE id IN ({marks})", list(ids)):
            flat = np.frombuffer(data, dtype=np.float16)
            out[cid] = flat.reshape(-1, dim) if dim else flat.reshape(0, 0)
        return out

    def sentence_vector_count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM sentence_vectors")[0][0])

    def lacking_sentence_vectors(self) -> list[str]:
        """Ids of current chunks without sentence vectors, in order."""
        return [i for (i,) in self._query(
            f"SELECT c.id {_CURRENT} WHERE c.id NOT IN (SELECT id FROM sentence_vectors) ORDER BY c.file, c.ordinal")]

    def clear_sentence_vectors(self) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM sentence_vectors")
