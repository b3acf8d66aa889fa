"""Hybrid retrieval: dense (vector store) + BM25 (``qa.lexical``: numbers and short tokens kept), fused by reciprocal rank.

Fusion is done here rather than with llama-index's ``QueryFusionRetriever`` because the
answerer needs each retriever's *raw* score (the dense cosine feeds the abstention
decision), which that retriever replaces by the fused score.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from index import Chunk, ChunkSnapshot, Embedder, SentenceVectors, VectorStore

from .lexical import lexical_tokens
from .lexicon import equivalents
from .models import RetrievedChunk
from .sentence_search import SentenceSearch
from .text import content_terms, letters_in_order, stem
from .text_stats import load_or_build

logger = logging.getLogger(__name__)

#: Extra dense candidates fetched so that vectors unknown to this snapshot can be dropped.
DENSE_OVERFETCH = 16
RRF_K = 60
#: Weights of each ranking in the fusion (measured: README "Measurements").
DENSE_WEIGHT = 0.5
BM25_WEIGHT = 1.0
SENTENCE_WEIGHT = 1.0
Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[str, ...] = ("hybrid", "dense", "bm25")


@dataclass
class Retrieval:
    """Chunks found for one question, fused order, with timings."""

    chunks: list[RetrievedChunk]
    embed_ms: float
    retrieve_ms: float
    #: The question's embedding.
    query_vector: np.ndarray | None = None


class HybridRetriever:
    """Retrieves chunks of one index snapshot; safe to share between threads."""

    def __init__(
        self, chunks: Sequence[Chunk] | ChunkSnapshot, embedder: Embedder, store: VectorStore, top_k: int,
        mode: Mode = "hybrid", sentence_vectors: SentenceVectors | None = None, stats_path: Path | None = None,
        sentence_search: bool = False,
    ) -> None:
        """``chunks``: the snapshot to answer from (a list is held in memory; an index's snapshot reads chunks
        when they are retrieved); ``sentence_vectors``: the index's per-sentence vectors (the evidence features'
        sentence cosine); ``stats_path``: where the chunks' text statistics are cached (``qa.text_stats``; None:
        always built); ``sentence_search``: in hybrid mode, also rank chunks by their sentences' vectors (needs
        ``sentence_vectors`` and the question's evidence vector at ``retrieve``)."""
        if mode not in MODES:
            raise ValueError(f"retrieval mode {mode!r} is not one of {', '.join(MODES)}")
        self.mode = mode
        self.sentence_vectors = sentence_vectors
        self.embedder = embedder
        self.store = store
        self.top_k = top_k
        snapshot = chunks if isinstance(chunks, ChunkSnapshot) else ChunkSnapshot.from_chunks(chunks)
        self.by_id: ChunkSnapshot = snapshot
        self._order: list[str] = snapshot.ids
        self._position = snapshot.position
        stats = load_or_build(snapshot, stats_path)
        self._lexical = stats.lexical
        n = max(stats.n_chunks, 1)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in stats.df.items()}
        self._idf_unknown = math.log(1 + (n + 0.5) / 0.5)
        # Lower-cased words of the corpus: a capitalised word whose lower-case form is common is no name.
        self.lower_vocab: frozenset[str] = stats.lower_vocab
        self._acronyms: dict[str, list[tuple[str, str]]] | None = None  # built on the first question naming an acronym
        self._aliases: dict[str, frozenset[str]] = {}
        self._sentence_search = sentence_search and mode == "hybrid" and sentence_vectors is not None
        self._sentences: SentenceSearch | None = None  # read on the first question
        self._sentences_lock = threading.Lock()

    def sentences(self) -> SentenceSearch | None:
        """This snapshot's sentence search (read once, on first use), or None when it is off."""
        if not self._sentence_search or self.sentence_vectors is None:
            return None
        with self._sentences_lock:
            if self._sentences is None:
                self._sentences = SentenceSearch(self.by_id, self.sentence_vectors)
            return self._sentences

    def aliases(self, term: str) -> frozenset[str]:
        """Other spellings of the acronym ``term`` (a stem) in this corpus: "iskp" -> "is-k", "isis-k". The evidence
        features count them as the question's term (``QuestionTerms.same``); BM25 does not search them (measured: it
        cost a natural dev turn).

        A corpus term is one when it never occurs in lower case (a name, not a word), its letters are at least three
        and start with the same letter, one of the two is hyphenated, and one's letters appear in order within the
        other's, the shorter having at least 60 % of the longer's letters (the rule the disagreement finder uses).
        """
        found = self._aliases.get(term)
        if found is None:
            if self._acronyms is None:
                self._acronyms = _acronym_table(self._idf, self.lower_vocab)
            found = self._aliases[term] = _aliases_in(self._acronyms, term)
        return found

    def idf(self, term: str) -> float:
        """Inverse document frequency of a stemmed term over chunks (unknown terms weigh most)."""
        return self._idf.get(term, self._idf_unknown)

    def stem(self, word: str) -> str:
        return stem(word)

    def retrieve(self, question: str, files: tuple[str, ...] | None = None, evidence_vector: np.ndarray | None = None) -> Retrieval:
        """Top chunks for ``question``: each retriever's top-k, fused by reciprocal rank.

        ``files``: restrict results to these documents (their chunks are scored exactly); ``evidence_vector``: the
        question as the evidence encoder embeds it, for the sentence search (when it is on).
        """
        t0 = time.perf_counter()
        # Embedded in every mode: the evidence scorer reads the question's vector even when BM25 alone retrieves.
        vector = self.embedder.embed([question])[0]
        t1 = time.perf_counter()
        dense: list[tuple[str, float]] = []
        if self.mode == "bm25":
            pass
        elif files:
            # Exact scoring of the few chunks of the named documents: no filtered ANN query needed.
            wanted = self.by_id.ids_of_files(files)
            sims = self.store.vectors(wanted) @ np.asarray(vector) if wanted else np.zeros(0)
            dense = sorted(((cid, float(s)) for cid, s in zip(wanted, sims, strict=True)), key=lambda kv: (-kv[1], self._position[kv[0]]))[: self.top_k]
        else:
            # Over-fetch and keep only chunks of this snapshot: while a re-index runs, the shared store already holds
            # new chunks this snapshot does not know, and they must not push known ones out of the top k.
            # After an interrupted re-index the store can hold many such vectors (until the next sync removes them):
            # then widen the query until k known chunks are found or the store is exhausted.
            want = min(self.top_k, len(self.by_id))
            n = self.top_k + max(DENSE_OVERFETCH, self.top_k)
            while True:
                found = self.store.query(np.asarray(vector), n)
                dense = [(cid, s) for cid, s in found if cid in self.by_id][: self.top_k]
                if len(dense) >= want or len(found) < n:
                    break
                n *= 4
        lexical: list[tuple[str, float]] = []
        terms = content_terms(question)
        if terms and self.mode != "dense":
            lexical = [(self._order[d], s) for d, s in self._lexical.top(query_tokens(question, terms), self.top_k if not files else len(self._order))]
            if files:
                lexical = [(cid, s) for cid, s in lexical if self.by_id.file_of(cid) in files][: self.top_k]
        by_sentence: list[tuple[str, float]] = []
        search = self.sentences()
        if search is not None and evidence_vector is None and self.sentence_vectors is not None and self.sentence_vectors.encoder == self.embedder.name:
            evidence_vector = np.asarray(vector)  # one model embeds chunks and sentences: the question's vector is the same
        if search is not None and evidence_vector is not None:
            by_sentence = [(cid, s) for cid, s in search.top_chunks(evidence_vector, self.top_k, files) if cid in self.by_id]
        fused: dict[str, float] = {}
        for ranking, weight in ((dense, DENSE_WEIGHT), (lexical, BM25_WEIGHT), (by_sentence, SENTENCE_WEIGHT)):
            for rank, (cid, _) in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + rank + 1)
        dense_scores = dict(dense)
        bm25_scores = dict(lexical)
        out = []
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1], self._position.get(kv[0], 0)))
        read = self.by_id.get_many([cid for cid, _ in ranked])  # one read of the chunks not yet cached
        for cid, score in ranked:
            chunk = read.get(cid)
            if chunk is None:  # vector of a file re-indexed after this snapshot was taken
                continue
            out.append(
                RetrievedChunk(
                    chunk_id=cid,
                    file=chunk.file,
                    first_line=chunk.first_line,
                    last_line=chunk.last_line,
                    text=chunk.text,
                    dense_score=dense_scores.get(cid),
                    bm25_score=bm25_scores.get(cid),
                    fused_score=score,
                )
            )
        t2 = time.perf_counter()
        return Retrieval(chunks=out, embed_ms=(t1 - t0) * 1000, retrieve_ms=(t2 - t1) * 1000, query_vector=np.asarray(vector))


def query_tokens(question: str, terms: list[str]) -> list[str]:
    """Lexical tokens of the question plus the lexicon's equivalents of its content terms (already stems)."""
    extra = sorted({e for t in terms for e in equivalents(t)} - set(terms))
    return lexical_tokens(question) + extra


_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*\b")


def acronyms_in(question: str) -> list[str]:
    """Stems of the words the question writes in capitals ("ISKP", "IS-K"), at least three letters."""
    return [stem(m.group(0).lower()) for m in _ACRONYM.finditer(question) if len(_letters(m.group(0))) >= 3 and not m.group(0).isdigit()]


def _letters(term: str) -> str:
    return re.sub(r"[^a-z]", "", term.lower())


def _acronym_table(idf: dict[str, float], lower_vocab: frozenset[str]) -> dict[str, list[tuple[str, str]]]:
    """Corpus terms that can be acronyms (never lower-case, 3-10 letters), by first letter: (term, its letters)."""
    table: dict[str, list[tuple[str, str]]] = {}
    for term in idf:
        letters = _letters(term)
        if 3 <= len(letters) <= 10 and term not in lower_vocab and re.fullmatch(r"[a-z0-9-]+", term):
            table.setdefault(letters[0], []).append((term, letters))
    return table


def _aliases_in(table: dict[str, list[tuple[str, str]]], term: str) -> frozenset[str]:
    mine = _letters(term)
    if len(mine) < 3:
        return frozenset()
    out = set()
    for other, letters in table.get(mine[0], ()):
        if other == term:
            continue
        # A hyphen marks a spelling variant ("IS-K", "ISIS-K"); two plain acronyms are two names (ICC, IPCC).
        hyphen = "-" in term or "-" in other
        if hyphen and min(len(mine), len(letters)) >= 0.6 * max(len(mine), len(letters)) and letters_in_order(mine, letters):
            out.add(other)
    return frozenset(out)
