"""The index manifest: which file version is indexed, and its chunks, read from ``index.sqlite`` on demand.

Earlier versions kept it as one JSON file (``manifest.json``, with ``sentences.npz`` beside it),
read whole at every start: 16 s and over 1 GB at 100k chunks. Such an index is imported into the
catalog once, without embedding anything again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from .catalog import CATALOG_VERSION, Catalog, FileEntry, FileInfo, pairs_json
from .duplicates import DuplicatePair
from .errors import IndexStateError

logger = logging.getLogger(__name__)

#: 2: spans carry PDF pages; in wrapped files a title line ends its block (index/sentences.py), so chunks made by
#: version 1 are remade once.
MANIFEST_VERSION = 2
#: What the catalog's meta must say for its rows to be used.
FORMAT = f"{CATALOG_VERSION}.{MANIFEST_VERSION}"


class LegacyManifest(BaseModel):
    """The JSON manifest of earlier versions (read once, to import it)."""

    version: int = Field(default=MANIFEST_VERSION, description="Format version of this manifest.")
    corpus: str = Field(description="Absolute path of the corpus folder.")
    embedder: str = Field(description="Name of the embedding model the vectors were made with.")
    indexed_at: datetime | None = Field(default=None, description="When the last indexing run finished (UTC).")
    files: dict[str, FileEntry] = Field(default_factory=dict, description="Relative path -> indexed file.")
    duplicates: list[DuplicatePair] | None = Field(
        default=None, description="Near-duplicate document pairs found at the last indexing run (None: not computed yet)."
    )


class Files(Mapping[str, FileEntry]):
    """Relative path -> indexed file with its chunks, each read when asked for."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def __getitem__(self, rel: str) -> FileEntry:
        entry = self._catalog.entry(rel)
        if entry is None:
            raise KeyError(rel)
        return entry

    def __contains__(self, rel: object) -> bool:
        return isinstance(rel, str) and rel in self._catalog.hashes()

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._catalog.hashes()))

    def __len__(self) -> int:
        return len(self._catalog.hashes())


class Manifest:
    """Everything the index knows about the corpus except the chunk vectors (those live in the vector store)."""

    def __init__(self, catalog: Catalog, corpus: str, embedder: str) -> None:
        self.catalog = catalog
        self.corpus = corpus
        self.embedder = embedder
        self.files = Files(catalog)

    @property
    def indexed_at(self) -> datetime | None:
        """When the last indexing run finished (UTC)."""
        return self.catalog.indexed_at

    @property
    def duplicates(self) -> list[DuplicatePair] | None:
        """Near-duplicate document pairs found at the last indexing run (None: not computed yet)."""
        return self.catalog.duplicates

    def infos(self) -> dict[str, FileInfo]:
        """Every indexed file without its chunks, by relative path."""
        return self.catalog.infos()

    def chunk_count(self) -> int:
        """Total chunks over all files."""
        return self.catalog.chunk_count()


def open_manifest(folder: Path, corpus: str, embedder: str, sentence_encoder: str) -> Manifest:
    """The index's manifest in ``folder``: an index made by another version, model or corpus path is emptied (and
    rebuilt by the next sync); a JSON manifest of earlier versions is imported."""
    path = folder / "index.sqlite"
    try:
        catalog = Catalog(path)
    except IndexStateError as exc:
        aside = path.with_name(f"{path.name}.damaged-{datetime.now(UTC):%Y%m%dT%H%M%S}")
        logger.warning("%s; moved it to %s and rebuilding the index", exc, aside.name)
        for suffix in ("", "-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.replace(aside.with_name(aside.name + suffix))
        catalog = Catalog(path)
    legacy = folder / "manifest.json"
    if legacy.exists() and catalog.get_meta("format") is None:
        _import_legacy(catalog, legacy, folder / "sentences.npz", corpus, embedder, sentence_encoder)
    expected = {"format": FORMAT, "corpus": corpus, "embedder": embedder}
    found = {k: catalog.get_meta(k) for k in expected}
    if found != expected:
        if found["format"] is not None:
            if found["format"] != FORMAT:
                why = f"was made by another docqa (index format {found['format']}, now {FORMAT})"
            elif found["embedder"] != embedder:
                why = f"was made with another model ({found['embedder']})"
            else:
                why = f"was made for another corpus path ({found['corpus']})"
            logger.warning("index at %s %s; rebuilding it", folder, why)
        catalog.clear()
        catalog.set_meta(dict(expected))
    if catalog.get_meta("sentence_encoder") != sentence_encoder:
        if catalog.sentence_vector_count():
            logger.info("sentence vectors in %s were made by %r, not %r; they will be made again",
                        folder, catalog.get_meta("sentence_encoder"), sentence_encoder)
        catalog.clear_sentence_vectors()
        catalog.set_meta({"sentence_encoder": sentence_encoder})
    return Manifest(catalog, corpus, embedder)


def _import_legacy(catalog: Catalog, path: Path, vectors: Path, corpus: str, embedder: str, sentence_encoder: str) -> None:
    """Copy a JSON manifest (and its sentence vectors) into the catalog, then remove the old files."""
    try:
        old = LegacyManifest.model_validate_json(path.read_bytes())
    except (OSError, ValidationError, ValueError) as exc:
        logger.warning("index manifest %s is unreadable (%s); rebuilding the index", path, exc.__class__.__name__)
        path.unlink(missing_ok=True)
        return
    if (old.version, old.embedder, old.corpus) != (MANIFEST_VERSION, embedder, corpus):
        path.unlink(missing_ok=True)  # the checks in open_manifest rebuild it
        return
    logger.info("importing the index manifest %s (%d files) into %s", path, len(old.files), catalog.path.name)
    rows = _legacy_sentence_vectors(vectors, sentence_encoder)
    with catalog.transaction() as db:
        catalog.put_files(old.files, db)
        wanted = {c.id for e in old.files.values() for c in e.chunks}
        catalog.put_sentence_vectors({k: v for k, v in rows.items() if k in wanted}, db)
        catalog.set_meta({
            "format": FORMAT, "corpus": corpus, "embedder": embedder, "sentence_encoder": sentence_encoder,
            "indexed_at": old.indexed_at.isoformat() if old.indexed_at else None,
            "duplicates": pairs_json(old.duplicates),
        }, db)
    path.unlink(missing_ok=True)
    vectors.unlink(missing_ok=True)


def _legacy_sentence_vectors(path: Path, encoder: str) -> dict[str, np.ndarray]:
    """Chunk id -> sentence vectors from the ``sentences.npz`` of earlier versions ({} when absent or unusable)."""
    if not path.exists():
        return {}
    try:
        data = np.load(path, allow_pickle=False)
        if ("encoder" not in data or str(data["encoder"]) != encoder):
            return {}
        ids = [str(x) for x in data["ids"]]
        counts = data["counts"].astype(np.int64)
        matrix = data["vectors"]
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("sentence vectors %s are unreadable (%s); they will be made again", path, exc)
        return {}
    if len(ids) != len(counts) or int(counts.sum()) != len(matrix):
        return {}
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return {i: matrix[offsets[n] : offsets[n + 1]] for n, i in enumerate(ids)}
