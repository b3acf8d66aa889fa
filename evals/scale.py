"""Large-corpus helpers for the benchmark: a replicated SQuAD corpus, a content-keyed embedding cache,
and recall@10 of Chroma's HNSW index against exact (numpy) search.

The ~100k-chunk corpus is the SQuAD folder copied N times under new names (``copy07/<name>``).
Copies have the same text, so with ``CachingEmbedder`` only the first copy is embedded; the cache
is a ``.npz`` file keyed by the SHA-1 of each text and is reused by later runs.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

from index.embedder import Embedder

logger = logging.getLogger(__name__)


class CachingEmbedder:
    """Wraps an embedder; texts seen before (by content) are served from an on-disk cache."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.path = path
        self.hits = 0
        self.misses = 0
        self._cache: dict[str, np.ndarray] = {}
        if path.exists():
            data = np.load(path, allow_pickle=False)
            self._cache = dict(zip((str(k) for k in data["keys"]), data["vectors"], strict=True))

    @property
    def name(self) -> str:
        return self.inner.name

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self._cache}.items())
        if missing:
            vectors = self.inner.embed([t for _, t in missing])
            self._cache.update(zip((k for k, _ in missing), vectors, strict=True))
            self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        return np.stack([self._cache[k] for k in keys]).astype(np.float32) if keys else self.inner.embed([])

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self._cache)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys, dtype=str), vectors=np.stack([self._cache[k] for k in keys]))
        tmp.replace(self.path)


def replicate(source: Path, target: Path, copies: int) -> Path:
    """``copies`` copies of every file of ``source`` under ``target/copyNN/`` (hard links where possible)."""
    files = sorted(p for p in source.rglob("*") if p.is_file())
    for n in range(copies):
        folder = target / f"copy{n:02d}"
        for f in files:
            dest = folder / f.relative_to(source)
            if dest.exists():
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                dest.hardlink_to(f)
            except OSError:
                shutil.copyfile(f, dest)
    return target


def tie_aware_recall(found: list[str], exact_sims: np.ndarray, sims_of: dict[str, float], k: int = 10) -> float:
    """Share of the k returned ids whose true similarity reaches the k-th exact similarity.

    Replicated corpora hold identical vectors, so "the" true top-k is not unique; any id as close as
    the k-th exact neighbour is a correct answer (the ann-benchmarks convention, with 1e-5 slack).
    """
    threshold = float(np.sort(exact_sims)[::-1][k - 1]) - 1e-5
    return sum(1 for cid in found[:k] if sims_of.get(cid, -2.0) >= threshold) / k


def hnsw_recall(vectors: np.ndarray, queries: np.ndarray, path: Path, hnsw: dict[str, int], k: int = 10) -> dict[str, object]:
    """Build one Chroma collection over ``vectors`` with HNSW settings ``hnsw`` (M, construction_ef, search_ef);
    recall@k against exact search, and query latency.

    Every setting is given at creation: ``collection.modify(configuration={"hnsw": {"ef_search": ...}})``
    did not change the open index's recall in chromadb 1.5 (measured), so each row is its own build.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
    meta: dict[str, str | int] = {"hnsw:space": "cosine", **{f"hnsw:{key}": value for key, value in hnsw.items()}}
    collection = client.create_collection(name="recall", metadata=meta)
    ids = [f"v{i}" for i in range(len(vectors))]
    t0 = time.perf_counter()
    for start in range(0, len(ids), 5000):
        collection.add(ids=ids[start : start + 5000], embeddings=vectors[start : start + 5000])
    build_s = time.perf_counter() - t0
    exact = queries @ vectors.T
    recalls, times, exact_times = [], [], []
    for qi, q in enumerate(queries):
        t0 = time.perf_counter()
        got = collection.query(query_embeddings=[q], n_results=k, include=[])["ids"][0]
        times.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        np.argpartition(-(vectors @ q), k)[:k]  # the exact search it is compared with, timed for reference
        exact_times.append((time.perf_counter() - t0) * 1000)
        sims = {cid: float(exact[qi, int(cid[1:])]) for cid in got}
        recalls.append(tie_aware_recall(got, exact[qi], sims, k))
    row: dict[str, object] = {
        "vectors": len(vectors), **hnsw, "build_s": round(build_s, 1),
        "recall_at_10": round(float(np.mean(recalls)), 4), "min_recall": round(min(recalls), 2),
        "query_p50_ms": round(statistics.median(times), 2), "query_p95_ms": round(statistics.quantiles(times, n=20)[-1], 2),
        "exact_numpy_p50_ms": round(statistics.median(exact_times), 2),
    }
    logger.info("recall %s", row)
    client.delete_collection("recall")
    return row
