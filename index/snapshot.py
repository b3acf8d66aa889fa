"""One state of the index as a reader sees it: the chunk order in memory, the chunks themselves read on demand.

An engine answers from a snapshot while a sync may be writing the next one. The snapshot keeps
only each chunk's id, file and line range (about 100 bytes a chunk); a chunk's text and sentences
are read from the catalog when a question retrieves it, and kept in a bounded cache. Chunk rows
never change under an id, and the rows a snapshot names stay until the engine has moved on to the
next snapshot, so reading late is safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence

from .catalog import Catalog, ChunkRow
from .errors import IndexStateError
from .models import Chunk

#: Chunks kept in memory per snapshot once read (a question reads about 20).
CACHE_CHUNKS = 4096


class ChunkSnapshot(Mapping[str, Chunk]):
    """Chunk id -> chunk, for the chunks of one index state, in file then position order."""

    def __init__(
        self, rows: list[ChunkRow], fetch: Callable[[list[str]], dict[str, Chunk]], fetch_all: Callable[[], list[Chunk]]
    ) -> None:
        self.rows = rows
        self.ids: list[str] = [r.id for r in rows]
        self.position: dict[str, int] = {cid: i for i, cid in enumerate(self.ids)}
        self._fetch = fetch
        self._fetch_all = fetch_all
        self._cache: OrderedDict[str, Chunk] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_chunks(cls, chunks: Sequence[Chunk]) -> ChunkSnapshot:
        """A snapshot of chunks held in memory (tests, small tools)."""
        by_id = {c.id: c for c in chunks}
        rows = [ChunkRow(c.id, c.file, c.first_line, c.last_line, len(c.text), c.section) for c in chunks]
        return cls(rows, lambda ids: {i: by_id[i] for i in ids if i in by_id}, lambda: list(chunks))

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> ChunkSnapshot:
        """The current state of an index on disk."""
        return cls(catalog.chunk_rows(), catalog.chunks, catalog.all_chunks)

    # ------------------------------------------------------------------ Mapping
    def __getitem__(self, chunk_id: str) -> Chunk:
        if chunk_id not in self.position:
            raise KeyError(chunk_id)
        got = self.get_many([chunk_id])
        if chunk_id not in got:
            raise KeyError(f"{chunk_id} (its row is gone: the index moved on; ask again)")
        return got[chunk_id]

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self.position

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    # ------------------------------------------------------------------ reading
    def get_many(self, ids: Sequence[str]) -> dict[str, Chunk]:
        """The chunks of this snapshot among ``ids`` (one read for those not cached)."""
        wanted = [i for i in ids if i in self.position]
        with self._lock:
            out = {i: self._cache[i] for i in wanted if i in self._cache}
            for i in out:
                self._cache.move_to_end(i)
        missing = [i for i in wanted if i not in out]
        if missing:
            fetched = self._fetch(missing)
            out.update(fetched)
            with self._lock:
                self._cache.update(fetched)
                while len(self._cache) > CACHE_CHUNKS:
                    self._cache.popitem(last=False)
        return out

    def all_chunks(self) -> list[Chunk]:
        """Every chunk, in order (reads them all: only for building text statistics)."""
        chunks = self._fetch_all()
        if [c.id for c in chunks] == self.ids:
            return chunks
        # The index moved on since this snapshot was taken: read exactly its chunks.
        got = self._fetch(self.ids)
        if len(got) != len(self.ids):
            raise IndexStateError("the index changed while it was being opened; open it again")
        return [got[i] for i in self.ids]

    def ids_of_files(self, files: Sequence[str]) -> list[str]:
        """Ids of the chunks of these files, in order."""
        wanted = set(files)
        return [r.id for r in self.rows if r.file in wanted]

    def file_of(self, chunk_id: str) -> str:
        return self.rows[self.position[chunk_id]].file
