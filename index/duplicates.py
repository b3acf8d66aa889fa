"""Find documents that largely restate each other (near-duplicates), from their chunk vectors.

Score of a pair = mean, over the chunks of the smaller document, of the best cosine to
any chunk of the other: 1.0 for a copy, high for a sentence-by-sentence paraphrase, low
for two articles that merely share a topic. Pairs whose document centroids are far
apart (cosine < ``PREFILTER``) are not compared chunk by chunk, which keeps large
corpora cheap. Threshold measurement: README "Near-duplicates".
"""

from __future__ import annotations

import itertools

import numpy as np
from pydantic import BaseModel, Field

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


def find_near_duplicates(vectors: dict[str, np.ndarray], threshold: float) -> list[DuplicatePair]:
    """Every pair of documents scoring at least ``threshold``, most similar first."""
    files = sorted(f for f, v in vectors.items() if len(v))
    if len(files) < 2:
        return []
    centroids = np.stack([vectors[f].mean(axis=0) for f in files])
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    close = centroids @ centroids.T
    pairs = []
    for i, j in itertools.combinations(range(len(files)), 2):
        if close[i, j] < PREFILTER:
            continue
        sim, share = pair_similarity(vectors[files[i]], vectors[files[j]])
        if sim >= threshold:
            pairs.append(DuplicatePair(first=files[i], second=files[j], similarity=round(sim, 4), matched_share=round(share, 4)))
    return sorted(pairs, key=lambda p: -p.similarity)
