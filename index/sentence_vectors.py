"""One vector per sentence of every chunk, made at index time for the evidence model.

Kept in the index's catalog (``index.catalog``), float16 (half the bytes, cosine unchanged to
about 1e-3), one row per chunk id, read only for the chunks a question retrieves. Written
before the file rows that name the chunks, so a crash leaves either vectors no file owns yet
(dropped at the next sync) or chunks without vectors (embedded at the next sync).
"""

from __future__ import annotations

import numpy as np

from .catalog import Catalog


class SentenceVectors:
    """Chunk id -> matrix of its sentences' unit vectors (row i: sentence i of the chunk)."""

    def __init__(self, catalog: Catalog, encoder: str = "") -> None:
        """``encoder``: name of the model that makes the vectors (the catalog holds only that model's)."""
        self._catalog = catalog
        self.encoder = encoder

    def __contains__(self, chunk_id: object) -> bool:
        return isinstance(chunk_id, str) and bool(self._catalog.sentence_vectors([chunk_id]))

    def __len__(self) -> int:
        return self._catalog.sentence_vector_count()

    def get(self, chunk_id: str) -> np.ndarray | None:
        """The chunk's sentence vectors (float32), or None when they were never made."""
        rows = self._catalog.sentence_vectors([chunk_id]).get(chunk_id)
        return None if rows is None else rows.astype(np.float32)

    def get_many(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        """Sentence vectors (float32) of the chunks that have them."""
        return {k: v.astype(np.float32) for k, v in self._catalog.sentence_vectors(chunk_ids).items()}

    def put(self, chunk_ids: list[str], counts: list[int], vectors: np.ndarray) -> None:
        """Store ``counts[i]`` consecutive rows of ``vectors`` for ``chunk_ids[i]``."""
        if sum(counts) != len(vectors):
            raise ValueError(f"{sum(counts)} sentences but {len(vectors)} vectors")
        block = np.asarray(vectors, dtype=np.float16)
        rows: dict[str, np.ndarray] = {}
        row = 0
        for cid, n in zip(chunk_ids, counts, strict=True):
            rows[cid] = block[row : row + n]
            row += n
        self._catalog.put_sentence_vectors(rows)
