"""Documents -> chunks with exact line positions -> vectors in Chroma."""

from .catalog import Catalog, FileEntry, FileInfo
from .chunker import chunk_lines
from .corpus_index import CorpusIndex
from .discover import check_corpus, discover, resolve_inside
from .duplicates import DuplicatePair, find_near_duplicates
from .embedder import Embedder, HashingEmbedder, Int8Embedder, SentenceTransformerEmbedder, make_embedder
from .errors import (
    ConfigError,
    CorpusError,
    DocqaError,
    DocumentError,
    IndexStateError,
    ModelError,
    QuestionError,
    SourceError,
    SuiteError,
    UploadError,
)
from .models import Chunk, IndexReport, LineSpan, Sentence, SkippedFile, search_text
from .reader import DOCUMENT_KINDS, TextFile, line_of_page, page_of, read_text_file, split_lines, text_view
from .sentence_vectors import SentenceVectors
from .sentences import split_sentences
from .settings import PACKAGED_MODEL, SEEDS_DIR, Settings, load_settings
from .snapshot import ChunkSnapshot
from .store import ChromaStore, NumpyStore, VectorStore

__all__ = [
    "PACKAGED_MODEL",
    "SEEDS_DIR",
    "Catalog",
    "ChromaStore",
    "Chunk",
    "ChunkSnapshot",
    "ConfigError",
    "CorpusError",
    "CorpusIndex",
    "DocqaError",
    "DocumentError",
    "DuplicatePair",
    "Embedder",
    "FileEntry",
    "FileInfo",
    "HashingEmbedder",
    "Int8Embedder",
    "IndexReport",
    "IndexStateError",
    "LineSpan",
    "ModelError",
    "NumpyStore",
    "QuestionError",
    "Sentence",
    "SentenceTransformerEmbedder",
    "make_embedder",
    "SentenceVectors",
    "Settings",
    "SkippedFile",
    "SourceError",
    "SuiteError",
    "TextFile",
    "DOCUMENT_KINDS",
    "line_of_page",
    "page_of",
    "text_view",
    "search_text",
    "UploadError",
    "VectorStore",
    "check_corpus",
    "chunk_lines",
    "discover",
    "find_near_duplicates",
    "load_settings",
    "read_text_file",
    "resolve_inside",
    "split_lines",
    "split_sentences",
]
