"""A corpus folder and its on-disk index: incremental, content-hash keyed, crash-safe.

Chunk records (with line positions) live in the index's catalog (``index.sqlite``) next to
the vector store; vectors live in the store. The order of writes makes an interrupted run
harmless: a file's new vectors are added *before* the catalog records the new version (one
transaction), so the next run sees the file as changed and redoes it, and any vector or
chunk row that no file version owns is deleted at the end of every run.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .catalog import FileEntry
from .chunker import chunk_lines
from .discover import check_corpus, discover
from .duplicates import (
    CHUNK_MATCH,
    PREFILTER,
    DuplicatePair,
    centroid,
    find_near_duplicates,
    load_centroids,
    save_centroids,
    update_near_duplicates,
)
from .embedder import Embedder, make_embedder
from .errors import CorpusError, DocumentError
from .manifest import Manifest, open_manifest
from .models import Chunk, IndexReport, SkippedFile, search_text
from .reader import read_file_bytes, text_view
from .sentence_vectors import SentenceVectors
from .settings import Settings, load_settings
from .snapshot import ChunkSnapshot
from .store import ChromaStore, NumpyStore, VectorStore

logger = logging.getLogger(__name__)

#: Model batches per embedding call while indexing.
EMBED_GROUP_BATCHES = 16

#: ``on_progress(done, total)``: chunks embedded so far out of those to embed in this run.
ProgressCallback = Callable[[int, int], None]


def index_dir_for(corpus: Path, settings: Settings, embedder_name: str) -> Path:
    """Folder under ``settings.home`` holding the index of one corpus made with one model."""
    key = hashlib.sha256(f"{corpus}\0{embedder_name}".encode()).hexdigest()[:16]
    label = re.sub(r"[^A-Za-z0-9_.-]", "_", corpus.name)[:40] or "corpus"
    return settings.index_root() / f"{label}-{key}"


class CorpusIndex:
    """Index of one corpus folder. ``sync()`` brings it up to date; ``chunks`` lists what is indexed."""

    def __init__(
        self,
        corpus: Path | str | None = None,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        store: VectorStore | str | None = None,
        sentence_embedder: Embedder | None = None,
    ) -> None:
        """``sentence_embedder``: embeds sentences for the evidence scorer (default: ``settings.evidence_encoder``,
        or ``embedder`` itself when an embedder is passed in, as tests do with fakes)."""
        self.settings = settings or load_settings()
        self.corpus = check_corpus(Path(corpus) if corpus is not None else self.settings.corpus)
        self.embedder: Embedder = embedder or make_embedder(self.settings.embed_model, self.settings)
        if sentence_embedder is None and embedder is not None:
            sentence_embedder = embedder
        if sentence_embedder is None and self.settings.evidence_encoder == self.settings.embed_model:
            sentence_embedder = self.embedder
        self.sentence_embedder: Embedder = sentence_embedder or make_embedder(self.settings.evidence_encoder, self.settings)
        self.dir = index_dir_for(self.corpus, self.settings, self.embedder.name)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._centroids_path = self.dir / "centroids.npz"
        self.manifest: Manifest = open_manifest(self.dir, str(self.corpus), self.embedder.name, self.sentence_embedder.name)
        self.catalog = self.manifest.catalog
        self.sentence_vectors = SentenceVectors(self.catalog, self.sentence_embedder.name)
        if store is None or store == "chroma":
            collection = "docqa-" + self.dir.name.rsplit("-", 1)[-1]
            self.store: VectorStore = ChromaStore(
                self.dir / "chroma", collection, host=self.settings.chroma_host, port=self.settings.chroma_port
            )
        elif store == "numpy":
            self.store = NumpyStore(self.dir / "vectors.npz")
        elif isinstance(store, str):
            raise CorpusError(f"unknown vector store {store!r}; use 'chroma' or 'numpy'")
        else:
            self.store = store

    # ------------------------------------------------------------------ reading
    @property
    def chunks(self) -> list[Chunk]:
        """Every indexed chunk, ordered by file then position (reads them all; answering uses ``snapshot()``)."""
        return self.catalog.all_chunks()

    def snapshot(self) -> ChunkSnapshot:
        """The current chunks as a reader sees them: their order now, their text when asked for."""
        return ChunkSnapshot.from_catalog(self.catalog)

    @property
    def is_built(self) -> bool:
        """True once at least one file has been indexed."""
        return self.catalog.chunk_count() > 0

    # ------------------------------------------------------------------ writing
    @contextmanager
    def _lock(self) -> Iterator[None]:
        """Only one indexing run per index at a time, across processes."""
        with open(self.dir / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def sync(
        self,
        progress: bool | None = None,
        on_progress: ProgressCallback | None = None,
        before_cleanup: Callable[[], None] | None = None,
    ) -> IndexReport:
        """Index new and changed files, drop deleted ones; unchanged files cost no embedding call.

        Readers of the previous snapshot keep working during the run: a changed file's new vectors are added
        under new ids, and its old vectors are deleted only at the end, after ``before_cleanup()`` (where an
        engine switches to the new snapshot) has returned.

        ``progress``: show a progress bar on stderr (None: only when stderr is a terminal).
        ``on_progress(done, total)``: called with chunk counts as embedding proceeds (the web UI's bar).
        Raises CorpusError when the corpus holds nothing indexable.
        """
        started = time.perf_counter()
        with self._lock():  # the catalog is read afresh under the lock: another process may have synced meanwhile
            report = self._sync(progress, on_progress, before_cleanup)
        report.seconds = round(time.perf_counter() - started, 3)
        logger.info(
            "indexed %s: %d new/changed, %d unchanged, %d removed, %d skipped, %d chunks, %d texts embedded in %.2fs",
            self.corpus, report.files_indexed, report.files_unchanged, report.files_removed,
            len(report.skipped), report.chunks_total, report.texts_embedded, report.seconds,
        )
        return report

    def _sync(
        self, progress: bool | None, on_progress: ProgressCallback | None, before_cleanup: Callable[[], None] | None
    ) -> IndexReport:
        settings = self.settings
        found, skipped = discover(self.corpus, settings.extension_set, exclude=settings.home)
        catalog = self.catalog
        hashes = catalog.hashes()
        pending: dict[str, tuple[FileEntry, list[Chunk]]] = {}
        unchanged = 0
        for rel, path in found.items():
            try:
                data = read_file_bytes(path, rel, settings.max_file_bytes)
                # Hash first: an unchanged file is not decoded or extracted again (a PDF's text layer is costly).
                if hashes.get(rel) == hashlib.sha256(data).hexdigest():
                    unchanged += 1
                    continue
                text = text_view(data, rel, path.suffix.lower())
            except DocumentError as exc:
                reason = str(exc).split(": ", 1)[-1]
                skipped.append(SkippedFile(file=rel, reason=reason))
                logger.warning("skipped %s: %s", rel, reason)
                continue
            chunks = chunk_lines(text.lines, rel, text.sha256, settings.chunk_max_chars, text.pages)
            if not chunks:
                reason = "empty file (no text to index)"
                skipped.append(SkippedFile(file=rel, reason=reason))
                logger.info("skipped %s: %s", rel, reason)
                continue
            entry = FileEntry(sha256=text.sha256, encoding=text.encoding, lines=len(text.lines), chunks=chunks,
                              pages=len(text.pages) if text.pages else None)
            pending[rel] = (entry, chunks)

        indexable = set(found) - {s.file for s in skipped}
        removed = sorted(rel for rel in hashes if rel not in indexable)
        # Vectors and chunk rows of removed and changed files stay until the new snapshot is in use (see ``sync``).
        stale = [i for ids in catalog.chunk_ids_of([r for r in [*removed, *pending] if r in hashes]).values() for i in ids]
        # A run that changes something marks the catalog until its cleanup is done: a run killed before that leaves
        # the mark, and the next run looks for leftovers (orphaned vectors and rows). A run that finds nothing to do
        # and no mark skips that look (about 0.4 s at 100k chunks: every `docqa ask` syncs first).
        interrupted = catalog.get_meta("sync_running") is not None
        changing = bool(pending or removed)
        if changing:
            catalog.set_meta({"sync_running": datetime.now(UTC).isoformat()})
        embedding_calls, texts_embedded = self._embed_and_store(pending, progress, on_progress)
        if removed:  # after embedding: a run that fails part-way leaves them for the next run to report
            catalog.remove_files(removed)
        backfill_calls, backfill_texts = self._backfill_sentences(interrupted)
        embedding_calls += backfill_calls
        texts_embedded += backfill_texts
        if changing or catalog.get_meta("duplicates") is None:
            catalog.set_duplicates(self._find_duplicates({*pending, *removed}))
        catalog.set_meta({"indexed_at": datetime.now(UTC).isoformat()})
        if before_cleanup is not None:
            before_cleanup()
        if changing or interrupted or backfill_calls:
            current = catalog.current_ids()
            self.store.delete_ids([i for i in stale if i not in current])
            if catalog.stored_chunk_rows() != len(current) or catalog.sentence_vector_count() > len(current):
                catalog.drop_unowned()
            self._drop_orphans(current)
            catalog.set_meta({"sync_running": None})
        total = catalog.chunk_count()
        if not total:
            kinds = "/".join(sorted(settings.extension_set))
            detail = "; ".join(f"{s.file}: {s.reason}" for s in skipped[:5])
            raise CorpusError(
                f"corpus {str(self.corpus)!r} holds no indexable {kinds} file"
                + (f" (skipped: {detail})" if detail else "")
                + "; add text documents or point DOCQA_CORPUS at another folder"
            )
        return IndexReport(
            corpus=str(self.corpus),
            files_seen=len(found),
            files_indexed=len(pending),
            files_unchanged=unchanged,
            files_removed=len(removed),
            skipped=skipped,
            chunks_total=total,
            embedding_calls=embedding_calls,
            texts_embedded=texts_embedded,
            seconds=0.0,
        )

    def _embed_and_store(
        self, pending: dict[str, tuple[FileEntry, list[Chunk]]], progress: bool | None, on_progress: ProgressCallback | None
    ) -> tuple[int, int]:
        """Embed pending files' chunks in batches, storing each file as soon as its vectors exist.
        Returns (calls to the models, texts embedded)."""
        if not pending:
            return 0, 0
        from tqdm import tqdm

        total = sum(len(c) for _, c in pending.values())
        done = 0
        if on_progress is not None:
            on_progress(0, total)
        calls = texts = 0
        # Large groups let the model sort texts by length across more of them (less padding): measured in evals.bench.
        batch = max(self.settings.embed_batch_size * EMBED_GROUP_BATCHES, 1)
        queue = [(rel, entry, chunks) for rel, (entry, chunks) in pending.items()]
        bar = tqdm(total=total, unit="chunk", desc="indexing", file=sys.stderr,
                   disable=(not sys.stderr.isatty()) if progress is None else not progress)
        try:
            buffer: list[tuple[str, FileEntry, list[Chunk]]] = []
            size = 0
            for i, item in enumerate(queue):
                buffer.append(item)
                size += len(item[2])
                if size < batch and i < len(queue) - 1:
                    continue
                group = [c for _, _, chunks in buffer for c in chunks]
                sentences = [s.text for c in group for s in c.sentences]
                if self.sentence_embedder is self.embedder:
                    # One model: chunks and sentences in one call (one pass, sorted by length).
                    vectors = self.embedder.embed([search_text(c) for c in group] + sentences)
                    chunk_vectors, sentence_vectors = vectors[: len(group)], vectors[len(group) :]
                else:
                    chunk_vectors = self.embedder.embed([search_text(c) for c in group])
                    sentence_vectors = self.sentence_embedder.embed(sentences)
                    calls += 1
                calls += 1
                texts += len(group) + len(sentences)
                self.sentence_vectors.put([c.id for c in group], [len(c.sentences) for c in group], sentence_vectors)
                # One store call per group: Chroma's per-call cost (about 80 ms) was most of the pipeline's overhead.
                self.store.upsert(group, chunk_vectors)
                # Recorded only now that their vectors are stored, in one transaction.
                self.catalog.put_files({rel: entry for rel, entry, _ in buffer})
                bar.update(size)
                done += size
                if on_progress is not None:
                    on_progress(done, total)
                buffer, size = [], 0
        finally:
            bar.close()
        return calls, texts

    def _backfill_sentences(self, look: bool = False) -> tuple[int, int]:
        """Embed the sentences of indexed chunks that have no sentence vectors (an index made before they existed, or
        another evidence encoder). ``look``: search even when there are as many vector rows as chunks."""
        if not look and self.catalog.sentence_vector_count() >= self.catalog.chunk_count():
            return 0, 0
        lacking = self.catalog.lacking_sentence_vectors()
        if not lacking:
            return 0, 0
        logger.info("embedding the sentences of %d chunks indexed without them", len(lacking))
        batch = max(self.settings.embed_batch_size * EMBED_GROUP_BATCHES, 1)
        calls = texts = 0
        for at in range(0, len(lacking), batch):
            got = self.catalog.chunks(lacking[at : at + batch])
            group = [got[i] for i in lacking[at : at + batch]]
            sentences = [s.text for c in group for s in c.sentences]
            vectors = self.sentence_embedder.embed(sentences)
            self.sentence_vectors.put([c.id for c in group], [len(c.sentences) for c in group], vectors)
            calls += 1
            texts += len(sentences)
        return calls, texts

    def _find_duplicates(self, changed: set[str]) -> list[DuplicatePair]:
        """Update the near-duplicate pairs after ``changed`` documents were added, edited or removed: only pairs with
        one of them are scored again when the stored centroids cover every other document; otherwise every pair is
        computed from the stored chunk vectors."""
        files = self.catalog.hashes()
        # The index folder is already per embedding model; the key holds what else decides the pairs.
        key = f"{self.settings.duplicate_threshold}|{PREFILTER}|{CHUNK_MATCH}|1"
        fetched: dict[str, np.ndarray] = {}

        def vectors_of(names: list[str]) -> dict[str, np.ndarray]:
            wanted = [f for f in names if f not in fetched]
            ids = self.catalog.chunk_ids_of(wanted)
            matrix = self.store.vectors([i for f in wanted for i in ids[f]])
            row = 0
            for f in wanted:
                fetched[f] = matrix[row : row + len(ids[f])]
                row += len(ids[f])
            return {f: fetched[f] for f in names}

        previous = self.catalog.duplicates
        stored = self._stored_centroids(key, changed, files) if previous is not None else None
        if previous is not None and stored is not None:
            for f, v in vectors_of(sorted(f for f in changed if f in files)).items():
                stored[f] = centroid(v)
            pairs = update_near_duplicates(previous, stored, changed, vectors_of, self.settings.duplicate_threshold)
        else:
            vectors = vectors_of(sorted(files))
            pairs = find_near_duplicates(vectors, self.settings.duplicate_threshold)
            stored = {f: centroid(v) for f, v in vectors.items() if len(v)}
        self._save_centroids(key, stored, files)
        for pair in pairs:
            logger.info("near-duplicates: %s ~ %s (similarity %.3f)", pair.first, pair.second, pair.similarity)
        return pairs

    def _stored_centroids(self, key: str, changed: set[str], files: dict[str, str]) -> dict[str, np.ndarray] | None:
        """The stored centroids of every unchanged document (``files``: path -> hash), or None when they do not
        cover them all."""
        cached = load_centroids(self._centroids_path, key)
        if cached is None:
            return None
        out: dict[str, np.ndarray] = {}
        for f, sha in files.items():
            if f in changed:
                continue
            hit = cached.get(f)
            if hit is None or hit[0] != sha:
                logger.info("stored document centroids do not cover %s; comparing every document again", f)
                return None
            out[f] = hit[1]
        return out

    def _save_centroids(self, key: str, centroids: dict[str, np.ndarray], files: dict[str, str]) -> None:
        try:
            save_centroids(self._centroids_path, key, {f: (files[f], c) for f, c in centroids.items()})
        except OSError as exc:  # only costs a full comparison next time
            logger.warning("could not store document centroids at %s (%s)", self._centroids_path, exc)

    def duplicate_partners(self) -> dict[str, set[str]]:
        """File -> the files that are near-duplicates of it."""
        partners: dict[str, set[str]] = {}
        for p in self.catalog.duplicates or []:
            partners.setdefault(p.first, set()).add(p.second)
            partners.setdefault(p.second, set()).add(p.first)
        return partners

    def _drop_orphans(self, known: set[str]) -> None:
        """Delete vectors no current chunk (``known``) owns (left by an interrupted run)."""
        if self.store.count() == len(known):
            return
        orphans = sorted(self.store.ids() - known)
        if orphans:
            logger.info("removing %d orphaned vectors left by an interrupted run", len(orphans))
            self.store.delete_ids(orphans)
