"""Vector stores behind one small interface.

``ChromaStore`` is the real backend: llama-index's ``ChromaVectorStore`` over an embedded
Chroma ``PersistentClient`` (cosine space; embeddings are always passed in, so Chroma's
downloading default embedding function is never used). ``NumpyStore`` is exact
brute-force search persisted to one ``.npz`` file: a dependency-light stand-in for tests
and the reference that measures Chroma's recall.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .errors import IndexStateError
from .models import Chunk

logger = logging.getLogger(__name__)


#: HNSW search breadth. Measured (README "Vector index quality", ``python -m evals.bench``) on real
#: SQuAD chunk embeddings replicated to 100k vectors: recall@10 against exact search was 0.92-0.95 with
#: Chroma's default (100), 0.97-0.98 at 200, 0.98-1.00 at 400 (it varies between builds) and 1.00 at
#: 800, for about 0.8 ms more per query. M and construction_ef stay at Chroma's defaults (16, 100):
#: M=32 with construction_ef=400 gave 0.95 at search_ef 100 and builds 3.7x slower.
SEARCH_EF = 800

#: Collection settings: cosine space and the measured search breadth.
HNSW_METADATA: dict[str, str | int] = {"hnsw:space": "cosine", "hnsw:search_ef": SEARCH_EF}

#: Most records per Chroma call (Chroma refuses batches over its max_batch_size, 5461 with SQLite).
CHROMA_BATCH = 5000


@runtime_checkable
class VectorStore(Protocol):
    """Stores one vector per chunk id."""

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Add or replace the vectors of ``chunks`` (row i of ``vectors`` belongs to chunk i)."""
        ...

    def delete_ids(self, ids: list[str]) -> None:
        """Remove vectors by chunk id (a re-index's replaced vectors, and orphans of an interrupted run)."""
        ...

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The ``k`` nearest chunk ids with their cosine similarity, best first."""
        ...

    def ids(self) -> set[str]:
        """Every chunk id stored."""
        ...

    def vectors(self, ids: list[str]) -> np.ndarray:
        """The stored vectors of ``ids``, in that order."""
        ...

    def count(self) -> int:
        """Number of vectors stored."""
        ...


class ChromaStore:
    """Chroma collection accessed through llama-index's ``ChromaVectorStore``."""

    def __init__(self, path: Path, collection: str, host: str | None = None, port: int = 8000) -> None:
        """Embedded ``PersistentClient`` at ``path``; or, with ``host``, an ``HttpClient`` to a ``chroma run`` server."""
        from .offline import enable_offline_mode

        enable_offline_mode()
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        self.location = f"http://{host}:{port}" if host else str(path)
        try:
            if host:
                self._client = chromadb.HttpClient(host=host, port=port, settings=chroma_settings)
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
            self._collection = self._client.get_or_create_collection(name=collection, metadata=dict(HNSW_METADATA))
            _raise_search_ef(self._collection)
        except Exception as exc:  # chromadb raises assorted types for a damaged store or an unreachable server
            if host:
                raise IndexStateError(
                    f"cannot use the Chroma server at {self.location} ({exc.__class__.__name__}: {exc}); start it with "
                    f"`chroma run --path DIR --host {host} --port {port}`, or unset DOCQA_CHROMA_HOST for the embedded store"
                ) from exc
            raise IndexStateError(
                f"cannot open the Chroma index at {path} ({exc}); delete that folder and run `docqa index` again"
            ) from exc
        self._store: Any = None  # llama-index's wrapper, made on the first write (importing it takes about 2.5 s)
        self._lock = threading.Lock()

    def _writer(self) -> Any:
        if self._store is None:
            from llama_index.vector_stores.chroma import ChromaVectorStore

            self._store = ChromaVectorStore(chroma_collection=self._collection)
        return self._store

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        from llama_index.core.schema import BaseNode, NodeRelationship, RelatedNodeInfo, TextNode

        nodes: list[BaseNode] = [
            TextNode(
                id_=chunk.id,
                text=chunk.text,
                embedding=vectors[i].tolist(),
                metadata={
                    "file": chunk.file,
                    "first_line": chunk.first_line,
                    "last_line": chunk.last_line,
                    "file_hash": chunk.file_hash,
                },
                # The source relationship makes Chroma's "document_id" the file (readable when inspecting the collection).
                relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.file)},
            )
            for i, chunk in enumerate(chunks)
        ]
        with self._lock:
            for start in range(0, len(nodes), CHROMA_BATCH):
                part = nodes[start : start + CHROMA_BATCH]
                self._collection.delete(ids=[n.node_id for n in part])
                self._writer().add(part)


    def delete_ids(self, ids: list[str]) -> None:
        with self._lock:
            for start in range(0, len(ids), CHROMA_BATCH):
                self._collection.delete(ids=ids[start : start + CHROMA_BATCH])

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        # Straight to the collection, as llama-index's ChromaVectorStore.query does, without importing llama-index on
        # the answering path (about 2.5 s of a cold `docqa ask`). No count() first: it costs ~20 ms at 100k vectors,
        # and Chroma returns fewer results by itself.
        result = self._collection.query(query_embeddings=[np.asarray(vector, dtype=np.float32).tolist()], n_results=k,
                                        include=["distances"])
        ids = (result["ids"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        # In cosine space, distance = 1 - cosine.
        return [(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]

    def ids(self) -> set[str]:
        return set(self._collection.get(include=[])["ids"])

    def vectors(self, ids: list[str]) -> np.ndarray:
        if not ids:
            return np.zeros((0, 0), dtype=np.float32)
        by_id: dict[str, object] = {}
        for start in range(0, len(ids), CHROMA_BATCH):
            got = self._collection.get(ids=ids[start : start + CHROMA_BATCH], include=["embeddings"])
            embeddings = got["embeddings"] if got["embeddings"] is not None else []
            by_id.update(zip(got["ids"], list(embeddings), strict=True))
        return np.asarray([by_id[i] for i in ids], dtype=np.float32)

    def count(self) -> int:
        return int(self._collection.count())


def _raise_search_ef(collection) -> None:  # type: ignore[no-untyped-def]
    """Bring a collection made by an older docqa (Chroma's default search_ef) up to ``SEARCH_EF``.

    Chroma persists the change; it applies from the next time the collection is opened.
    """
    try:
        current = int((collection.configuration_json or {}).get("hnsw", {}).get("ef_search", SEARCH_EF))
    except (AttributeError, TypeError, ValueError):
        return
    if current < SEARCH_EF:
        collection.modify(configuration={"hnsw": {"ef_search": SEARCH_EF}})
        logger.info("raised the Chroma collection's HNSW search_ef from %d to %d", current, SEARCH_EF)


class NumpyStore:
    """Exact cosine search over vectors kept in memory and saved atomically to ``path`` (``.npz``)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._ids: list[str] = []
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._lock = threading.Lock()
        if path is not None and path.exists():
            try:
                data = np.load(path, allow_pickle=False)
                self._ids = [str(x) for x in data["ids"]]
                self._vectors = data["vectors"].astype(np.float32)
            except (OSError, ValueError, KeyError) as exc:
                raise IndexStateError(f"vector file {path} is damaged ({exc}); delete it and re-index") from exc

    def _save(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp.npz")
        np.savez(tmp, ids=np.array(self._ids, dtype=str), vectors=self._vectors)
        os.replace(tmp, self._path)

    def _keep(self, mask: list[bool]) -> None:
        self._ids = [i for i, m in zip(self._ids, mask, strict=True) if m]
        self._vectors = self._vectors[np.array(mask, dtype=bool)] if self._vectors.size else self._vectors

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        if not chunks:
            return
        with self._lock:
            new = {c.id for c in chunks}
            self._keep([i not in new for i in self._ids])
            block = np.asarray(vectors, dtype=np.float32)
            self._vectors = block if self._vectors.size == 0 else np.vstack([self._vectors, block])
            self._ids += [c.id for c in chunks]
            self._save()


    def delete_ids(self, ids: list[str]) -> None:
        gone = set(ids)
        with self._lock:
            self._keep([i not in gone for i in self._ids])
            self._save()

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        with self._lock:
            if not self._ids:
                return []
            sims = self._vectors @ np.asarray(vector, dtype=np.float32)
            k = min(k, len(self._ids))
            # Equal similarities go to the vector stored first, never to argpartition's arbitrary pick.
            top = np.lexsort((np.arange(len(sims)), -sims))[:k]
            return [(self._ids[i], float(sims[i])) for i in top]

    def ids(self) -> set[str]:
        return set(self._ids)

    def vectors(self, ids: list[str]) -> np.ndarray:
        with self._lock:
            row = {i: n for n, i in enumerate(self._ids)}
            return self._vectors[[row[i] for i in ids]] if ids else np.zeros((0, 0), dtype=np.float32)

    def count(self) -> int:
        return len(self._ids)
