"""One vector per sentence of every chunk, made at index time for the evidence model.

Kept beside the manifest in one ``.npz`` (float16: half the bytes, cosine unchanged to
about 1e-3), keyed by chunk id. Written atomically before the manifest that names the
chunks, so a crash leaves either vectors the manifest does not know yet (dropped at the
next sync) or a manifest whose chunks lack vectors (embedded again at the next sync).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from .errors import IndexStateError

logger = logging.getLogger(__name__)


class SentenceVectors:
    """Chunk id -> matrix of its sentences' unit vectors (row i: sentence i of the chunk)."""

    def __init__(self, path: Path | None = None, encoder: str = "") -> None:
        """``encoder``: name of the model that makes the vectors; vectors made by another one are not loaded."""
        self._path = path
        self.encoder = encoder
        self._rows: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        if path is not None and path.exists():
            try:
                data = np.load(path, allow_pickle=False)
                stored = str(data["encoder"]) if "encoder" in data else ""
                if stored != encoder:
                    logger.info("sentence vectors in %s were made by %r, not %r; they will be made again", path, stored, encoder)
                    return
                ids = [str(x) for x in data["ids"]]
                counts = data["counts"].astype(np.int64)
                matrix = data["vectors"]
            except (OSError, ValueError, KeyError) as exc:
                logger.warning("sentence vectors %s are unreadable (%s); they will be made again", path, exc)
                return
            if len(ids) != len(counts) or int(counts.sum()) != len(matrix):
                raise IndexStateError(f"sentence vector file {path} is inconsistent; delete it and re-index")
            offsets = np.concatenate([[0], np.cumsum(counts)])
            self._rows = {i: matrix[offsets[n] : offsets[n + 1]] for n, i in enumerate(ids)}

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, chunk_id: str) -> np.ndarray | None:
        """The chunk's sentence vectors (float32), or None when they were never made."""
        rows = self._rows.get(chunk_id)
        return None if rows is None else rows.astype(np.float32)

    def put(self, chunk_ids: list[str], counts: list[int], vectors: np.ndarray) -> None:
        """Store ``counts[i]`` consecutive rows of ``vectors`` for ``chunk_ids[i]``."""
        if sum(counts) != len(vectors):
            raise ValueError(f"{sum(counts)} sentences but {len(vectors)} vectors")
        block = np.asarray(vectors, dtype=np.float16)
        with self._lock:
            row = 0
            for cid, n in zip(chunk_ids, counts, strict=True):
                self._rows[cid] = block[row : row + n]
                row += n

    def keep_only(self, chunk_ids: set[str]) -> None:
        """Forget the vectors of chunks no longer indexed."""
        with self._lock:
            for cid in [c for c in self._rows if c not in chunk_ids]:
                del self._rows[cid]

    def save(self) -> None:
        """Write atomically (a crash leaves the old or the new file)."""
        if self._path is None:
            return
        with self._lock:
            ids = sorted(self._rows)
            counts = np.array([len(self._rows[i]) for i in ids], dtype=np.int64)
            dim = next((r.shape[1] for r in self._rows.values() if r.ndim == 2 and r.shape[0]), 0)
            matrix = np.concatenate([self._rows[i] for i in ids]) if ids else np.zeros((0, dim), dtype=np.float16)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_name(f".{self._path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, ids=np.array(ids, dtype=str), counts=counts, vectors=matrix, encoder=np.array(self.encoder))
        os.replace(tmp, self._path)
