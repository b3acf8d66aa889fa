"""Sentence search: the chunks whose sentences the evidence encoder finds closest to the question.

The third ranking in retrieval's fusion, beside the chunk vectors and BM25. The evidence encoder
was trained on (question, answering sentence) pairs, in the documents' words and reworded, so it
finds an answer written in other words than the question's when neither the chunk's vector
(a general-purpose model over a whole chunk) nor BM25 (shared words) does. Measured on the
reworded SQuAD training questions: the gold line was among the retrieved chunks for 0.826 of
them with dense + BM25, and for 0.905 with these chunks added (README "Sentence search").

The vectors are the ones the index stores for the evidence features (``index.SentenceVectors``),
read once per snapshot into one float32 matrix (1,536 bytes a sentence; the SQuAD articles' 10,225
sentences are 15.7 MB) and scanned exactly.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from index import ChunkSnapshot, SentenceVectors

logger = logging.getLogger(__name__)

class SentenceSearch:
    """Every sentence vector of one snapshot, searched exactly; safe to share between threads (read-only)."""

    def __init__(self, snapshot: ChunkSnapshot, vectors: SentenceVectors) -> None:
        t0 = time.perf_counter()
        ids = list(snapshot.ids)
        found = vectors.get_many(ids) if ids else {}
        self.chunk_ids: list[str] = [cid for cid in ids if cid in found and len(found[cid])]
        blocks = [found[cid] for cid in self.chunk_ids]
        dim = blocks[0].shape[1] if blocks else 0
        self.matrix = np.concatenate(blocks).astype(np.float32) if blocks else np.zeros((0, dim), dtype=np.float32)
        #: First row of each chunk's sentences (a chunk's rows are consecutive).
        self.starts = np.cumsum([0] + [len(b) for b in blocks[:-1]]) if blocks else np.zeros(0, dtype=np.int64)
        self._file_of = snapshot.file_of
        logger.debug("sentence search: %d sentences of %d chunks read in %.0f ms", len(self.matrix), len(self.chunk_ids),
                     (time.perf_counter() - t0) * 1000)

    def __len__(self) -> int:
        return len(self.matrix)

    def top_chunks(self, vector: np.ndarray, k: int, files: tuple[str, ...] | None = None) -> list[tuple[str, float]]:
        """The ``k`` chunks with the best sentence cosine to ``vector`` (a unit vector of the evidence encoder), best
        first, each with that cosine; ``files``: only chunks of these documents."""
        if not len(self.matrix) or k <= 0:
            return []
        q = np.asarray(vector, dtype=np.float32)
        if q.shape[0] != self.matrix.shape[1]:
            return []  # vectors of another encoder: nothing comparable
        sims = self.matrix @ q
        best = np.maximum.reduceat(sims, self.starts)
        if files:
            best = np.where([self._file_of(cid) in files for cid in self.chunk_ids], best, -np.inf)
        n = min(k, int(np.isfinite(best).sum()))
        if n <= 0:
            return []
        top = np.argpartition(-best, n - 1)[:n]
        top = top[np.argsort(-best[top], kind="stable")]
        return [(self.chunk_ids[i], float(best[i])) for i in top]
