"""The retriever's text statistics, built from every chunk's text and cached beside the index.

Opening an engine tokenises every chunk three ways: BM25 terms (``qa.lexical``), stemmed content terms for the
evidence idf, and lower-case words (which capitalised words are names). On a large folder that is most of the
start-up time, so the result is stored in the index folder (``text-stats.npz``) under a key made of the chunk
snapshot and of what the tokenisers make of a probe sentence; an engine opened on the same snapshot reads it
instead. Beside the result, each chunk's counts are stored (``Bags``): when the snapshot changed (a file added,
edited or removed), only the new chunks are tokenised and the rest is taken from the stored counts, so a running
engine or the next start after adding one file to 100k chunks takes about a second, not a minute. A missing,
damaged or foreign file is rebuilt, never trusted; it is written atomically (a crash leaves the old file or the new
one) and only numbers and text are stored (no pickles).
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index import Chunk, CorpusIndex, IndexStateError, search_text
from index.atomic import save_arrays
from index.snapshot import ChunkSnapshot

from .lexical import LexicalIndex, count_terms, lexical_tokens
from .text import content_terms

logger = logging.getLogger(__name__)

#: Bump when what is stored changes shape; tokeniser changes are caught by the probe as well.
#: 2: per-chunk counts stored for incremental updates.
FORMAT = 2
_PROBE = "IS-K claimed 1,000 (3.5%) C++ deaths at Crocus City Hall on 9/11's anniversary; the gunmen weren't running."


@dataclass(frozen=True)
class Bag:
    """One kind of per-chunk term counts: CSR matrix (chunks x terms) over ``terms``."""

    matrix: Any
    terms: list[str]


@dataclass(frozen=True)
class Bags:
    """Each chunk's terms, three ways, in snapshot order: what the statistics are computed from."""

    ids: list[str]
    #: BM25 token counts of the chunk's search text, and its token count.
    tokens: Bag
    lengths: np.ndarray
    #: Stemmed content terms of the chunk text (0/1).
    content: Bag
    #: Lower-case words of the chunk text (0/1).
    lower: Bag


@dataclass(frozen=True)
class TextStats:
    """What the retriever derives from the chunks' text."""

    lexical: LexicalIndex
    #: Stemmed content term -> number of chunks containing it.
    df: dict[str, int]
    n_chunks: int
    #: Lower-cased words of the corpus (a capitalised word whose lower-case form is common is no name).
    lower_vocab: frozenset[str]
    #: The per-chunk counts behind it (None when read from a file: loaded only for an update).
    bags: Bags | None = None


def _sets(texts: Sequence[list[str]], vocab: dict[str, int] | None = None) -> tuple[dict[str, int], Any]:
    """0/1 CSR (texts x terms) of each text's distinct terms; new terms are added to (a copy of) ``vocab``."""
    from scipy import sparse

    vocab = dict(vocab or {})
    indptr, cols = [0], []
    for terms in texts:
        cols.extend(sorted({vocab.setdefault(t, len(vocab)) for t in terms}))
        indptr.append(len(cols))
    data = np.ones(len(cols), dtype=np.int8)
    return vocab, sparse.csr_matrix((data, np.asarray(cols, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
                                    shape=(len(texts), len(vocab)))


def _terms_of(vocab: dict[str, int]) -> list[str]:
    out = [""] * len(vocab)
    for t, j in vocab.items():
        out[j] = t
    return out


def bag(chunks: Sequence[Chunk]) -> Bags:
    """Tokenise ``chunks``."""
    return bag_batches([chunks])


def bag_batches(batches: Iterable[Sequence[Chunk]]) -> Bags:
    """Tokenise chunks given batch by batch (only one batch of chunk objects is held at a time)."""
    from scipy import sparse

    tv: dict[str, int] = {}
    cv: dict[str, int] = {}
    lv: dict[str, int] = {}
    ids: list[str] = []
    parts: list[tuple[Any, ...]] = []
    for chunks in batches:
        tv, tf, lengths = count_terms([search_text(c) for c in chunks], tv)
        cv, content = _sets([content_terms(c.text) for c in chunks], cv)
        lv, lower = _sets([[w for w in c.text.split() if w.islower()] for c in chunks], lv)
        ids.extend(c.id for c in chunks)
        parts.append((tf, content, lower, lengths))

    def stack(k: int, width: int, dtype: type) -> Any:
        blocks = [sparse.csr_matrix((p[k].data, p[k].indices, p[k].indptr), shape=(p[k].shape[0], width)) for p in parts]
        return sparse.vstack(blocks, format="csr") if blocks else sparse.csr_matrix((0, width), dtype=dtype)

    lengths_all = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    return Bags(ids, Bag(stack(0, len(tv), np.int32), _terms_of(tv)), lengths_all,
                Bag(stack(1, len(cv), np.int8), _terms_of(cv)), Bag(stack(2, len(lv), np.int8), _terms_of(lv)))


def empty() -> Bags:
    """No chunks: updating these builds everything."""
    return bag([])


def statistics(bags: Bags) -> TextStats:
    """The retriever's statistics from per-chunk counts."""
    tokens = {t: j for j, t in enumerate(bags.tokens.terms)}
    lexical = LexicalIndex.from_counts(tokens, bags.tokens.matrix, bags.lengths)
    df_counts = np.bincount(bags.content.matrix.indices, minlength=len(bags.content.terms))
    df = {t: int(n) for t, n in zip(bags.content.terms, df_counts, strict=True) if n}
    lower_counts = np.bincount(bags.lower.matrix.indices, minlength=len(bags.lower.terms))
    lower = with_plain(t for t, n in zip(bags.lower.terms, lower_counts, strict=True) if n)
    return TextStats(lexical, df, len(bags.ids), lower, bags)


_PUNCTUATION = ".,;:!?\"'()[]{}“”‘’«»…—–"


def with_plain(tokens: Iterable[str]) -> frozenset[str]:
    """Lower-case tokens as split on whitespace, and each without the punctuation around it: "established." also
    counts as "established" (a capitalised "Established" opening a sentence is then known as a word, not a name)."""
    out = set()
    for t in tokens:
        out.add(t)
        plain = t.strip(_PUNCTUATION)
        if plain:
            out.add(plain)
    return frozenset(out)


def build(chunks: Sequence[Chunk]) -> TextStats:
    """Tokenise every chunk."""
    return statistics(bag(chunks))


def _merge_bag(old: Bag, rows: np.ndarray, new: Bag, order: np.ndarray) -> Bag:
    """Rows ``rows`` of ``old`` followed by all of ``new``, re-ordered by ``order``, over one vocabulary; terms no
    longer in any chunk are dropped."""
    from scipy import sparse

    vocab = {t: j for j, t in enumerate(old.terms)}
    remap = np.asarray([vocab.setdefault(t, len(vocab)) for t in new.terms], dtype=np.int64)
    width = len(vocab)
    kept = old.matrix[rows]
    kept = sparse.csr_matrix((kept.data, kept.indices, kept.indptr), shape=(len(rows), width))
    added = new.matrix.tocoo()
    added = sparse.csr_matrix((added.data, (added.row, remap[added.col] if len(added.col) else added.col)),
                              shape=(new.matrix.shape[0], width), dtype=old.matrix.dtype)
    stacked = sparse.vstack([kept, added], format="csr")[order]
    used = np.bincount(stacked.indices, minlength=width) > 0
    terms = _terms_of(vocab)
    if not used.all():
        new_col = np.cumsum(used) - 1
        stacked = sparse.csr_matrix((stacked.data, new_col[stacked.indices], stacked.indptr), shape=(stacked.shape[0], int(used.sum())))
        terms = [terms[j] for j in np.flatnonzero(used)]
    stacked.sort_indices()
    return Bag(stacked, terms)


#: Chunks read and tokenised at a time when building (bounds memory: 100k chunk objects take about 1 GB).
BATCH = 2000


def update(old: Bags, snapshot: ChunkSnapshot) -> Bags:
    """The counts of ``snapshot`` from ``old`` (``EMPTY``: build them): only chunks not in ``old`` are read and
    tokenised."""
    position = {cid: i for i, cid in enumerate(old.ids)}
    kept_ids = [cid for cid in snapshot.ids if cid in position]
    new_ids = [cid for cid in snapshot.ids if cid not in position]

    def batches() -> Iterator[list[Chunk]]:
        for at in range(0, len(new_ids), BATCH):
            part = new_ids[at : at + BATCH]
            got = snapshot.get_many(part)
            if len(got) != len(part):
                raise IndexStateError("the index changed while it was being opened; open it again")
            yield [got[i] for i in part]

    fresh = bag_batches(batches())
    rows = np.asarray([position[c] for c in kept_ids], dtype=np.int64)
    # Row of each snapshot chunk in [kept rows..., new rows...].
    at = {cid: n for n, cid in enumerate(kept_ids + new_ids)}
    order = np.asarray([at[c] for c in snapshot.ids], dtype=np.int64)
    lengths = np.concatenate([old.lengths[rows], fresh.lengths])[order] if len(order) else np.zeros(0, dtype=np.int64)
    return Bags(
        list(snapshot.ids),
        _merge_bag(old.tokens, rows, fresh.tokens, order),
        lengths,
        _merge_bag(old.content, rows, fresh.content, order),
        _merge_bag(old.lower, rows, fresh.lower, order),
    )


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
    """Write ``stats`` (with its per-chunk counts, which must be there) under ``key``, atomically."""
    if stats.bags is None:
        raise ValueError("text statistics without their per-chunk counts cannot be stored")
    m = stats.lexical.matrix
    arrays: dict[str, np.ndarray] = {
        "key": np.frombuffer(key.encode(), dtype=np.uint8),
        "terms": _join(list(stats.lexical.vocab)),
        "idf": stats.lexical.idf,
        "data": m.data, "indices": m.indices, "indptr": m.indptr, "shape": np.asarray(m.shape, dtype=np.int64),
        "df_terms": _join(list(stats.df)),
        "df_counts": np.fromiter(stats.df.values(), dtype=np.int64, count=len(stats.df)),
        "n_chunks": np.asarray([stats.n_chunks], dtype=np.int64),
        "lower": _join(sorted(stats.lower_vocab)),
        "bag_ids": _join(stats.bags.ids),
        "bag_lengths": np.asarray(stats.bags.lengths, dtype=np.int64),
    }
    for name in ("tokens", "content", "lower"):
        b: Bag = getattr(stats.bags, name)
        arrays |= {f"bag_{name}_terms": _join(b.terms), f"bag_{name}_data": b.matrix.data,
                   f"bag_{name}_indices": b.matrix.indices, f"bag_{name}_indptr": b.matrix.indptr}
    save_arrays(path, arrays)


_UNREADABLE = (OSError, ValueError, KeyError, EOFError, UnicodeDecodeError, zipfile.BadZipFile)


def load(path: Path, key: str) -> TextStats | None:
    """The statistics stored at ``path`` under ``key`` (without the per-chunk counts); None when absent, stale or
    unreadable."""
    from scipy import sparse

    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if z["key"].tobytes().decode() != key:
                logger.info("text statistics %s are for another snapshot; updating them", path)
                return None
            terms = _split(z["terms"])
            shape = tuple(int(v) for v in z["shape"])
            matrix = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=shape)
            lexical = LexicalIndex.from_parts(dict(zip(terms, range(len(terms)), strict=True)), z["idf"], matrix)
            df_terms = _split(z["df_terms"])
            df = dict(zip(df_terms, (int(v) for v in z["df_counts"]), strict=True))
            return TextStats(lexical, df, int(z["n_chunks"][0]), with_plain(_split(z["lower"])))
    except _UNREADABLE as exc:
        logger.warning("text statistics %s are unreadable (%s); rebuilding them", path, exc)
        return None


def load_bags(path: Path) -> Bags | None:
    """The per-chunk counts stored at ``path`` (any snapshot); None when absent or unreadable."""
    from scipy import sparse

    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            ids = _split(z["bag_ids"])
            lengths = z["bag_lengths"]
            parts = {}
            for name in ("tokens", "content", "lower"):
                terms = _split(z[f"bag_{name}_terms"])
                matrix = sparse.csr_matrix((z[f"bag_{name}_data"], z[f"bag_{name}_indices"], z[f"bag_{name}_indptr"]),
                                           shape=(len(ids), len(terms)))
                parts[name] = Bag(matrix, terms)
    except _UNREADABLE as exc:  # damage was reported by ``load``; an older format simply has no counts
        logger.info("text statistics %s hold no usable per-chunk counts (%s); building them", path, exc)
        return None
    if len(lengths) != len(ids):
        return None
    return Bags(ids, parts["tokens"], lengths, parts["content"], parts["lower"])


#: File name of the statistics in an index folder.
FILE_NAME = "text-stats.npz"


def prepare(index: CorpusIndex) -> TextStats:
    """Bring the stored statistics of ``index``'s current snapshot up to date (``docqa index`` does this, so that the
    next start reads them instead of tokenising)."""
    return load_or_build(index.snapshot(), index.dir / FILE_NAME)


def load_or_build(chunks: Sequence[Chunk] | ChunkSnapshot, path: Path | None) -> TextStats:
    """The statistics of ``chunks``: read from ``path`` when stored there for this snapshot; else updated from the
    per-chunk counts stored there (only new chunks are tokenised), or built; then stored there, when ``path`` is
    given (a folder that cannot be written only costs the time next open)."""
    snapshot = chunks if isinstance(chunks, ChunkSnapshot) else ChunkSnapshot.from_chunks(chunks)
    if path is None:
        return statistics(update(empty(), snapshot))
    key = snapshot_key(snapshot)
    stats = load(path, key)
    if stats is not None:
        return stats
    old = load_bags(path) or empty()
    try:
        bags = update(old, snapshot)
    except (ValueError, IndexError) as exc:  # stored counts that do not fit together: start from none
        logger.warning("text statistics %s could not be updated (%s); rebuilding them", path, exc)
        bags = update(empty(), snapshot)
    stats = statistics(bags)
    try:
        save(stats, key, path)
    except OSError as exc:
        logger.warning("could not store text statistics at %s (%s); the next start will rebuild them", path, exc)
    return stats
