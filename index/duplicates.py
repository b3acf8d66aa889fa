"""Find documents that largely restate each other (near-duplicates), from their chunk vectors.

Score of a pair = mean, over the chunks of the smaller document, of the best cosine to
any chunk of the other: 1.0 for a copy, high for a sentence-by-sentence paraphrase, low
for two articles that merely share a topic. Pairs whose document centroids are far
apart (cosine < ``PREFILTER``) are not compared chunk by chunk, which keeps large
corpora cheap. After a change, only pairs with a changed document are scored again
(``update_near_duplicates``), from centroids kept beside the index. Threshold
measurement: README "Near-duplicates".
"""

from __future__ import annotations

import json
import logging
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from .atomic import save_arrays

logger = logging.getLogger(__name__)

#: Centroid cosine under which a pair is not examined (measured max for unrelated SQuAD articles: 0.79).
PREFILTER = 0.80
#: A chunk "has a counterpart" in the other document at this cosine or more.
CHUNK_MATCH = 0.80


class DuplicatePair(BaseModel):
    """Two documents that largely restate each other."""

    first: str = Field(description="One document (relative path); the alphabetically first of the two.")
    second: str = Field(description="The other document.")
    similarity: float = Field(description="Mean best-match chunk cosine over the smaller document (0-1).")
    matched_share: float = Field(description=f"Share of the smaller document's chunks with a counterpart at cosine >= {CHUNK_MATCH}.")


def pair_similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(mean best-match cosine, share of chunks matched) over the smaller of two chunk-vector matrices."""
    small, big = (a, b) if len(a) <= len(b) else (b, a)
    best = (small @ big.T).max(axis=1)
    return float(best.mean()), float((best >= CHUNK_MATCH).mean())


def centroid(vectors: np.ndarray) -> np.ndarray:
    """A document's unit-length mean chunk vector (what the ``PREFILTER`` compares)."""
    c = vectors.mean(axis=0)
    return c / max(float(np.linalg.norm(c)), 1e-12)


def _pair(a: str, b: str, va: np.ndarray, vb: np.ndarray, threshold: float) -> DuplicatePair | None:
    sim, share = pair_similarity(va, vb)
    if sim < threshold:
        return None
    first, second = sorted((a, b))
    return DuplicatePair(first=first, second=second, similarity=round(sim, 4), matched_share=round(share, 4))


def _ordered(pairs: list[DuplicatePair]) -> list[DuplicatePair]:
    return sorted(pairs, key=lambda p: (-p.similarity, p.first, p.second))


def find_near_duplicates(vectors: dict[str, np.ndarray], threshold: float) -> list[DuplicatePair]:
    """Every pair of documents scoring at least ``threshold``, most similar first (then by name)."""
    files = sorted(f for f, v in vectors.items() if len(v))
    if len(files) < 2:
        return []
    centroids = np.stack([centroid(vectors[f]) for f in files])
    pairs = [_pair(files[i], files[j], vectors[files[i]], vectors[files[j]], threshold) for i, j in close_pairs(centroids)]
    return _ordered([p for p in pairs if p is not None])


#: Rows of the centroid similarity matrix computed at a time: memory stays rows x documents, not documents squared.
BLOCK = 1024


def close_pairs(centroids: np.ndarray) -> list[tuple[int, int]]:
    """Index pairs ``i < j`` whose centroids' cosine is at least ``PREFILTER``, by blocks of rows. The work is
    quadratic in documents (not chunks): 1,824 documents are a few milliseconds; memory is ``BLOCK`` rows."""
    out: list[tuple[int, int]] = []
    for start in range(0, len(centroids), BLOCK):
        rows, cols = np.nonzero(centroids[start : start + BLOCK] @ centroids.T >= PREFILTER)
        rows = rows + start
        upper = cols > rows
        out.extend(zip(rows[upper].tolist(), cols[upper].tolist(), strict=True))
    return out


def update_near_duplicates(previous: list[DuplicatePair], centroids: dict[str, np.ndarray], changed: set[str],
                           vectors_of: Callable[[list[str]], dict[str, np.ndarray]], threshold: float) -> list[DuplicatePair]:
    """What ``find_near_duplicates`` returns for the current documents, recomputing only pairs with a changed one.

    ``previous``: the pairs before the change; ``centroids``: every current document's ``centroid``; ``changed``:
    documents added, edited or removed since; ``vectors_of``: chunk vectors of the named documents (asked only
    for changed documents and the ones whose centroids come close to them).
    """
    kept = [p for p in previous if p.first not in changed and p.second not in changed]
    fresh = sorted(f for f in changed if f in centroids)
    if not fresh or len(centroids) < 2:
        return _ordered(kept)
    files = sorted(centroids)
    matrix = np.stack([centroids[f] for f in files])
    candidates: set[tuple[str, str]] = set()
    for f in fresh:
        for i in np.flatnonzero(matrix @ centroids[f] >= PREFILTER):
            if files[i] != f:
                candidates.add((min(f, files[i]), max(f, files[i])))
    if not candidates:
        return _ordered(kept)
    vectors = vectors_of(sorted({f for pair in candidates for f in pair}))
    pairs = [_pair(a, b, vectors[a], vectors[b], threshold) for a, b in sorted(candidates)]
    return _ordered(kept + [p for p in pairs if p is not None])


def load_centroids(path: Path, key: str) -> dict[str, tuple[str, np.ndarray]] | None:
    """Stored centroids (document -> (content hash, centroid)) made under ``key``; None when absent, stale or
    unreadable (the caller then computes every pair again)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if z["key"].tobytes().decode() != key:
                return None
            names, hashes = json.loads(z["names"].tobytes().decode()), json.loads(z["hashes"].tobytes().decode())
            matrix = z["centroids"]
            if not (len(names) == len(hashes) == len(matrix)):
                raise ValueError("names, hashes and centroids differ in length")
            return {n: (h, matrix[i]) for i, (n, h) in enumerate(zip(names, hashes, strict=True))}
    except (OSError, ValueError, KeyError, EOFError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        logger.warning("document centroids %s are unreadable (%s); comparing every document again", path, exc)
        return None


def save_centroids(path: Path, key: str, centroids: dict[str, tuple[str, np.ndarray]]) -> None:
    """Write atomically (arrays and JSON text only)."""
    names = sorted(centroids)
    dim = len(next(iter(centroids.values()))[1]) if centroids else 0
    arrays = {
        "key": np.frombuffer(key.encode(), dtype=np.uint8),
        "names": np.frombuffer(json.dumps(names).encode(), dtype=np.uint8),
        "hashes": np.frombuffer(json.dumps([centroids[n][0] for n in names]).encode(), dtype=np.uint8),
        "centroids": np.stack([centroids[n][1] for n in names]) if names else np.zeros((0, dim), dtype=np.float32),
    }
    save_arrays(path, arrays)
