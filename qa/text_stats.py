"""The retriever's text statistics, built from every chunk's text and cached beside the index.

Opening an engine tokenises every chunk three ways: BM25 terms (``qa.lexical``), stemmed content terms for the
evidence idf, and lower-case words (which capitalised words are names). On a large folder that is most of the
start-up time, so the result is stored in the index folder (``text-stats.npz``) under a key made of the chunk
snapshot and of what the tokenisers make of a probe sentence; an engine opened on the same snapshot reads it
instead. A missing, stale, damaged or foreign file is rebuilt, never trusted; it is written atomically (a crash
leaves the old file or the new one) and only numbers and text are stored (no pickles).
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import Chunk, search_text
from index.atomic import save_arrays
from index.snapshot import ChunkSnapshot

from .lexical import LexicalIndex, lexical_tokens
from .text import content_terms

logger = logging.getLogger(__name__)

#: Bump when what is stored changes shape; tokeniser changes are caught by the probe as well.
FORMAT = 1
_PROBE = "IS-K claimed 1,000 (3.5%) C++ deaths at Crocus City Hall on 9/11's anniversary; the gunmen weren't running."


@dataclass(frozen=True)
class TextStats:
    """What the retriever derives from the chunks' text."""

    lexical: LexicalIndex
    #: Stemmed content term -> number of chunks containing it.
    df: dict[str, int]
    n_chunks: int
    #: Lower-cased words of the corpus (a capitalised word whose lower-case form is common is no name).
    lower_vocab: frozenset[str]


def build(chunks: Sequence[Chunk]) -> TextStats:
    """Tokenise every chunk."""
    df: Counter[str] = Counter()
    for c in chunks:
        df.update(set(content_terms(c.text)))
    lower = frozenset(w for c in chunks for w in c.text.split() if w.islower())
    return TextStats(LexicalIndex([search_text(c) for c in chunks]), dict(df), len(chunks), lower)


def snapshot_key(chunks: Sequence[Chunk] | ChunkSnapshot) -> str:
    """Changes when any chunk, the chunk order or the tokenisers' behaviour changes (reads no chunk text)."""
    snapshot = chunks if isinstance(chunks, ChunkSnapshot) else ChunkSnapshot.from_chunks(chunks)
    h = hashlib.sha256(f"{FORMAT}\n{lexical_tokens(_PROBE)}\n{content_terms(_PROBE)}\n".encode())
    h.update("".join(f"{r.id}\t{r.first_line}\t{r.last_line}\t{r.text_len}\t{r.section}\n" for r in snapshot.rows).encode())
    return h.hexdigest()


def _join(words: Sequence[str]) -> np.ndarray:
    return np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8)


def _split(data: np.ndarray) -> list[str]:
    return data.tobytes().decode("utf-8").split("\n") if len(data) else []


def save(stats: TextStats, key: str, path: Path) -> None:
    """Write ``stats`` under ``key``, atomically."""
    m = stats.lexical.matrix
    arrays = {
        "key": np.frombuffer(key.encode(), dtype=np.uint8),
        "terms": _join(list(stats.lexical.vocab)),
        "idf": stats.lexical.idf,
        "data": m.data, "indices": m.indices, "indptr": m.indptr, "shape": np.asarray(m.shape, dtype=np.int64),
        "df_terms": _join(list(stats.df)),
        "df_counts": np.fromiter(stats.df.values(), dtype=np.int64, count=len(stats.df)),
        "n_chunks": np.asarray([stats.n_chunks], dtype=np.int64),
        "lower": _join(sorted(stats.lower_vocab)),
    }
    save_arrays(path, arrays)


def load(path: Path, key: str) -> TextStats | None:
    """The statistics stored at ``path`` under ``key``; None when absent, stale or unreadable."""
    from scipy import sparse

    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if z["key"].tobytes().decode() != key:
                logger.info("text statistics %s are for another snapshot; rebuilding them", path)
                return None
            terms = _split(z["terms"])
            shape = tuple(int(v) for v in z["shape"])
            matrix = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=shape)
            lexical = LexicalIndex.from_parts(dict(zip(terms, range(len(terms)), strict=True)), z["idf"], matrix)
            df_terms = _split(z["df_terms"])
            df = dict(zip(df_terms, (int(v) for v in z["df_counts"]), strict=True))
            return TextStats(lexical, df, int(z["n_chunks"][0]), frozenset(_split(z["lower"])))
    except (OSError, ValueError, KeyError, EOFError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        logger.warning("text statistics %s are unreadable (%s); rebuilding them", path, exc)
        return None


def load_or_build(chunks: Sequence[Chunk] | ChunkSnapshot, path: Path | None) -> TextStats:
    """The statistics of ``chunks``: read from ``path`` when stored there for this snapshot, else built (and
    stored there, when ``path`` is given; a folder that cannot be written only costs the time next open)."""
    snapshot = chunks if isinstance(chunks, ChunkSnapshot) else ChunkSnapshot.from_chunks(chunks)
    if path is None:
        return build(snapshot.all_chunks())
    key = snapshot_key(snapshot)
    stats = load(path, key)
    if stats is None:
        stats = build(snapshot.all_chunks())
        try:
            save(stats, key, path)
        except OSError as exc:
            logger.warning("could not store text statistics at %s (%s); the next start will rebuild them", path, exc)
    return stats
