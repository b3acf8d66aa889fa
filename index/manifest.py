"""The index manifest: which file version is indexed, and its chunks. Written atomically."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from .duplicates import DuplicatePair
from .models import Chunk

logger = logging.getLogger(__name__)

#: 2: spans carry PDF pages; in wrapped files a title line ends its block (index/sentences.py), so chunks made by
#: version 1 are remade once.
MANIFEST_VERSION = 2


class FileEntry(BaseModel):
    """One indexed file."""

    sha256: str = Field(description="SHA-256 of the file's bytes when indexed.")
    encoding: str = Field(description="How the file was read: decoded as utf-8, cp1252, latin-1 or utf-16, or by the pdf, docx or html reader.")
    lines: int = Field(description="Number of lines in the file (in its text view, for PDF, Word and HTML files).")
    pages: int | None = Field(default=None, description="Number of pages, for a PDF; None for other files.")
    chunks: list[Chunk] = Field(description="The file's chunks, in order.")


class Manifest(BaseModel):
    """Everything the index knows about the corpus, except the vectors (those live in the vector store)."""

    version: int = Field(default=MANIFEST_VERSION, description="Format version of this manifest.")
    corpus: str = Field(description="Absolute path of the corpus folder.")
    embedder: str = Field(description="Name of the embedding model the vectors were made with.")
    indexed_at: datetime | None = Field(default=None, description="When the last indexing run finished (UTC).")
    files: dict[str, FileEntry] = Field(default_factory=dict, description="Relative path -> indexed file.")
    duplicates: list[DuplicatePair] | None = Field(
        default=None, description="Near-duplicate document pairs found at the last indexing run (None: not computed yet)."
    )

    def chunk_count(self) -> int:
        """Total chunks over all files."""
        return sum(len(f.chunks) for f in self.files.values())


def load_manifest(path: Path, corpus: str, embedder: str) -> Manifest:
    """Read the manifest; a missing, damaged or foreign one yields an empty manifest (the index is rebuilt)."""
    fresh = Manifest(corpus=corpus, embedder=embedder)
    if not path.exists():
        return fresh
    try:
        manifest = Manifest.model_validate_json(path.read_bytes())
    except (OSError, ValidationError, ValueError) as exc:
        logger.warning("index manifest %s is unreadable (%s); rebuilding the index", path, exc.__class__.__name__)
        return fresh
    if manifest.version != MANIFEST_VERSION:
        logger.warning("index at %s was made by an older docqa (index format %d, now %d); rebuilding it",
                       path.parent, manifest.version, MANIFEST_VERSION)
        return fresh
    if manifest.embedder != embedder:
        logger.warning("index at %s was made with another model (%s); rebuilding it", path.parent, manifest.embedder)
        return fresh
    return manifest


def save_manifest(path: Path, manifest: Manifest) -> None:
    """Write atomically: a crash leaves either the old or the new manifest, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(manifest.model_dump_json().encode())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
