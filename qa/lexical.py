"""Lexical retrieval: BM25 over tokens that keep numbers, single letters and symbol-words.

llama-index's ``BM25Retriever`` (bm25s) tokenises with one regex, ``\\w\\w+``: "section 3", "Plan B", "C++",
"9/11" and "3.5%" lose the very token that tells passages apart, so every passage ties and the tie goes to
whatever the dense side prefers. One regex also cannot index "IS-K" both whole and as its parts. So the
tokeniser lives here, and the index is a small sparse BM25 (Lucene's idf; k1 0.9, b 0.4, chosen on the 24
training SQuAD articles: hybrid hit@1 0.787, hit@5 0.944 on 1,500 of their questions, against 0.781 / 0.933 before).
``LexicalRetriever`` wraps it as a llama-index ``BaseRetriever`` for use in llama-index pipelines.

Ties are broken by chunk order (the order the index was built in), never by a library's internal order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from .text import STOPWORDS, stem

#: A raw token: a word or number, optionally joined to more by - / . , ' (IS-K, 9/11, 3.5, 1,000, al-Azaim),
#: optionally followed by + # % (C++, C#, 3.5%).
_RAW = re.compile(r"\w+(?:[-/.,'’]\w+)*[+#%]*", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?%?")
_SYMBOL_SUFFIX = re.compile(r"[+#%]+$")
_JOINERS = re.compile(r"[-/.,]")
K1 = 0.9
B = 0.4


def _word(w: str) -> list[str]:
    """Tokens of one plain piece (no joiners): its stem, unless it is a stopword."""
    if not w or w in STOPWORDS:
        return []
    if any(ch.isdigit() for ch in w):
        return [w]
    return [stem(w)]


def lexical_tokens(text: str) -> list[str]:
    """Index/query tokens of ``text``, in order, with repeats (term frequency counts).

    - words are lower-cased and stemmed; stopwords dropped; single letters and digits kept ("Plan B" -> plan, b);
    - numbers keep their form without thousands commas ("1,000" -> 1000, "3.5%" -> 3.5% and 3.5, "9/11" -> 9/11, 9, 11);
    - a compound is kept whole and as its parts ("IS-K" -> is-k, k; "ISIS-K" -> isis-k, isi, k);
    - a trailing + or # stays part of the word ("C++" -> c++, c).
    """
    out: list[str] = []
    for raw in _RAW.findall(text):
        tok = raw.lower().replace("’", "'")
        if tok.endswith("'s"):
            tok = tok[:-2]
        tok = tok.strip(".,'")
        if not tok:
            continue
        if _NUMBER.fullmatch(tok):
            plain = tok.replace(",", "") if _THOUSANDS.fullmatch(tok) else tok
            out.append(plain)
            if plain.endswith("%"):
                out.append(plain[:-1])
            continue
        suffix = _SYMBOL_SUFFIX.search(tok)
        core = tok[: suffix.start()] if suffix else tok
        if suffix:
            out.append(tok)
            out.extend(_word(core))
            continue
        if "'" in core:  # a contraction or a name like O'Neill: one word
            core = core.replace("'", "")
        parts = [p for p in _JOINERS.split(core) if p]
        if len(parts) > 1:
            out.append(core)
            for p in parts:
                out.extend(_word(p))
            continue
        out.extend(_word(core))
    return out


def count_terms(texts: Sequence[str], vocab: dict[str, int] | None = None) -> tuple[dict[str, int], Any, np.ndarray]:
    """Term counts of ``texts``: (vocab, CSR documents x terms, tokens per document); new terms are added to
    ``vocab`` (a copy) after its existing ones."""
    from scipy import sparse

    vocab = dict(vocab or {})
    indptr = [0]
    cols: list[int] = []
    vals: list[int] = []
    lengths = np.zeros(len(texts), dtype=np.int64)
    for d, text in enumerate(texts):
        counts: dict[int, int] = {}
        toks = lexical_tokens(text)
        lengths[d] = len(toks)
        for t in toks:
            j = vocab.setdefault(t, len(vocab))
            counts[j] = counts.get(j, 0) + 1
        cols.extend(counts)
        vals.extend(counts.values())
        indptr.append(len(cols))
    tf = sparse.csr_matrix((np.asarray(vals, dtype=np.int32), np.asarray(cols, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
                           shape=(len(texts), len(vocab)))
    return vocab, tf, lengths


class LexicalIndex:
    """BM25 over a fixed list of documents (chunk texts); scores are deterministic, ties go to the earlier document."""

    vocab: dict[str, int]
    idf: np.ndarray
    #: scipy CSR, terms x documents: BM25 weight of each term in each document.
    matrix: Any
    n_docs: int

    def __init__(self, texts: Sequence[str]) -> None:
        vocab, tf, lengths = count_terms(texts)
        built = LexicalIndex.from_counts(vocab, tf, lengths)
        self.vocab, self.idf, self.matrix, self.n_docs = built.vocab, built.idf, built.matrix, built.n_docs

    @classmethod
    def from_counts(cls, vocab: dict[str, int], tf: Any, lengths: np.ndarray) -> LexicalIndex:
        """The index of documents given as term counts: ``tf`` (scipy CSR, documents x terms of ``vocab``) and each
        document's token count (``lengths``). ``qa.text_stats`` keeps counts to update the index without re-reading."""
        from scipy import sparse

        tf = sparse.csr_matrix(tf)
        n_docs = int(tf.shape[0])
        coo = tf.tocoo()
        r = coo.row.astype(np.int64)
        c = coo.col.astype(np.int64)
        counts = coo.data.astype(np.float64)
        lengths = np.asarray(lengths, dtype=np.float64)
        avgdl = float(lengths.mean()) if n_docs and lengths.mean() > 0 else 1.0
        df = np.bincount(c, minlength=len(vocab)).astype(np.float64)
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
        norm = counts + K1 * (1 - B + B * lengths[r] / avgdl)
        weights = idf[c] * counts * (K1 + 1) / norm if len(counts) else counts
        out = cls.__new__(cls)
        out.vocab, out.idf, out.n_docs = vocab, idf, n_docs
        out.matrix = sparse.csr_matrix((weights, (c, r)), shape=(len(vocab), n_docs))
        return out

    @classmethod
    def from_parts(cls, vocab: dict[str, int], idf: np.ndarray, matrix: Any) -> LexicalIndex:
        """An index from what another one computed (``vocab``, ``idf``, ``matrix``; ``qa.text_stats`` stores them)."""
        if matrix.shape[0] != len(vocab) or len(idf) != len(vocab):
            raise ValueError(f"lexical index parts disagree: {len(vocab)} terms, {len(idf)} idf, matrix {matrix.shape}")
        out = cls.__new__(cls)
        out.vocab, out.idf, out.matrix, out.n_docs = vocab, idf, matrix, int(matrix.shape[1])
        return out

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for these query tokens (each distinct token counted once)."""
        ids = sorted({self.vocab[t] for t in query_tokens if t in self.vocab})
        if not ids or not self.n_docs:
            return np.zeros(self.n_docs)
        return np.asarray(self.matrix[ids].sum(axis=0)).ravel()

    def top(self, query_tokens: Sequence[str], k: int) -> list[tuple[int, float]]:
        """The ``k`` best documents with a positive score, as (document index, score); ties by document index."""
        s = self.scores(query_tokens)
        hits = np.flatnonzero(s > 0)
        if not len(hits):
            return []
        order = hits[np.lexsort((hits, -s[hits]))][:k]
        return [(int(d), float(s[d])) for d in order]


def make_llama_retriever(nodes: Sequence[Any], top_k: int) -> Any:
    """A llama-index ``BaseRetriever`` over ``nodes`` (TextNodes) backed by ``LexicalIndex``."""
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import NodeWithScore, QueryBundle

    class LexicalRetriever(BaseRetriever):
        """BM25 with docqa's tokens (numbers and short tokens kept), as a llama-index retriever."""

        def __init__(self) -> None:
            super().__init__()
            self._nodes = list(nodes)
            self._index = LexicalIndex([n.get_content() for n in self._nodes])

        def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
            hits = self._index.top(lexical_tokens(query_bundle.query_str), top_k)
            return [NodeWithScore(node=self._nodes[d], score=s) for d, s in hits]

    return LexicalRetriever()
