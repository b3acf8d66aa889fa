"""Candidate sentences of the retrieved chunks, with the features a scorer reads, and the line span to quote."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from index import Chunk, LineSpan, Sentence

from .features import NUMBER, QuestionTerms, finish, sentence_features
from .models import Citation, RetrievedChunk
from .retrieval import HybridRetriever
from .text import QUESTION_WORDS, content_terms, stem, words

#: How many fused chunks contribute candidate sentences: every chunk both retrievers return at the default top_k
#: of 8 (it was 6: the gold paragraph of 3 % of SQuAD training questions was retrieved but never read).
CANDIDATE_CHUNKS = 16


@dataclass(frozen=True, eq=False)
class Evidence:
    """One candidate sentence and the line span that would be quoted for it (compared by identity)."""

    chunk: Chunk
    retrieved: RetrievedChunk
    sentence: Sentence
    span: LineSpan
    quote: str
    coverage: float
    #: The scorer's score (rules: a weighted sum; learned: the probability that the sentence answers).
    score: float = 0.0
    #: The scorer holds this sentence fit to quote (rules: it shares a question term; learned: always, the
    #: support ratio decides).
    quotable: bool = True
    features: tuple[float, ...] = ()
    #: For a sentence wrapped over lines and quoted whole: its last line's span (``span`` is the first line's).
    last_span: LineSpan | None = None
    #: The previous sentence of the same line (same chunk) quoted together with this one: (its start offset, the text
    #: from there to this quote's end), or None. What "the group" or "he" refers to is usually named there.
    lead: tuple[int, str] | None = None


#: A sentence wrapped over at most this many lines is quoted whole (a line range); a longer run (a list or a code block
#: without full stops) is quoted by its line holding most question terms.
MAX_QUOTE_LINES = 6


def _quote(sentence: Sentence, chunk_text_lines: dict[int, str], terms: frozenset[str]) -> tuple[LineSpan, str, LineSpan | None]:
    """The sentence's quote: (first span, text, last span or None). A wrapped sentence of up to ``MAX_QUOTE_LINES``
    lines is quoted whole: its text is its lines' pieces joined by single spaces, which is ``sentence.text``."""
    spans = sentence.spans
    if len(spans) == 1:
        sp = spans[0]
        return sp, chunk_text_lines[sp.line][sp.start : sp.end], None
    consecutive = all(b.line == a.line + 1 for a, b in zip(spans, spans[1:], strict=False))
    if len(spans) <= MAX_QUOTE_LINES and consecutive:
        text = " ".join(chunk_text_lines[sp.line][sp.start : sp.end] for sp in spans)
        return spans[0], text, spans[-1]
    span, piece = _best_span(sentence, chunk_text_lines, terms)
    return span, piece, None


def _best_span(sentence: Sentence, chunk_text_lines: dict[int, str], terms: frozenset[str]) -> tuple[LineSpan, str]:
    """For a sentence spread over lines, the line piece holding most question terms (ties: the longest)."""
    best: tuple[int, int, LineSpan, str] | None = None
    for sp in sentence.spans:
        piece = chunk_text_lines[sp.line][sp.start : sp.end]
        hits = sum(1 for w in words(piece) if stem(w) in terms)  # terms: expanded with equivalents
        key = (hits, len(piece))
        if best is None or key > best[:2]:
            best = (hits, len(piece), sp, piece)
    assert best is not None
    return best[2], best[3]


def gather_candidates(
    question: str,
    retrieved: list[RetrievedChunk],
    retriever: HybridRetriever,
    lines_of: dict[str, list[str]],
    query_vector: np.ndarray | None,
) -> list[Evidence]:
    """Every sentence of the top fused chunks whose file can still be quoted, in retrieval order, with features.

    ``lines_of`` maps file -> its current lines (for quotes); ``query_vector``: the question's embedding
    (None in the BM25-only baseline: cosines are then 0).
    """
    q = QuestionTerms.of(question, retriever.idf, retriever.aliases)
    echo = _echo_test(question)
    top_fused = retrieved[0].fused_score if retrieved else 1.0
    bm25_top = max((r.bm25_score for r in retrieved if r.bm25_score is not None), default=0.0) or 1.0
    dense_floor = min((r.dense_score for r in retrieved if r.dense_score is not None), default=0.0)
    top = retrieved[:CANDIDATE_CHUNKS]
    store = retriever.sentence_vectors
    vectors = store.get_many([rc.chunk_id for rc in top]) if store is not None else {}  # one read for all of them
    rows: list[list[float]] = []
    found: list[tuple[Chunk, RetrievedChunk, Sentence, LineSpan, str, LineSpan | None, tuple[int, str] | None]] = []
    for rank, rc in enumerate(top):
        chunk = retriever.by_id[rc.chunk_id]
        file_lines = lines_of.get(chunk.file)
        if file_lines is None:
            continue
        needed = {sp.line for s in chunk.sentences for sp in s.spans}
        if max(needed) > len(file_lines):
            continue  # file shrank since indexing; its quotes cannot be checked
        line_text = {n: file_lines[n - 1] for n in needed}
        chunk_cos = rc.dense_score if rc.dense_score is not None else dense_floor
        sims = _sentence_cosines(chunk, vectors.get(chunk.id), query_vector, chunk_cos)
        chunk_stems = {stem(w) for w in words(chunk.text)}
        previous: LineSpan | None = None
        for sentence, sim in zip(chunk.sentences, sims, strict=True):
            span, quote, last = _quote(sentence, line_text, q.term_set)
            lead = None
            if previous is not None and len(sentence.spans) == 1 and previous.line == span.line and previous.end <= span.start:
                lead = (previous.start, line_text[span.line][previous.start : span.end])
            previous = sentence.spans[0] if len(sentence.spans) == 1 else None
            if echo is not None and echo(sentence.text):
                continue
            row = sentence_features(
                q, sentence.text, chunk_stems, sim, chunk_cos, rc.fused_score / top_fused, rank,
                (rc.bm25_score or 0.0) / bm25_top, retriever.lower_vocab,
            )
            rows.append(row)
            found.append((chunk, rc, sentence, span, quote, last, lead))
    matrix = finish(rows)
    return [Evidence(c, r, s, sp, quote, coverage=row[0], features=tuple(row), last_span=last, lead=lead)
            for (c, r, s, sp, quote, last, lead), row in zip(found, matrix.tolist(), strict=True)]


_AUXILIARIES = frozenset("is are was were am do does did has have had can could will would shall should may might must".split())


def _echo_test(question: str) -> Callable[[str], bool] | None:
    """For a wh-question, a test for sentences that add nothing to it: no content word the question lacks, and no
    number it does not give ("Moscow carnage" for "Which paper called it 'Moscow carnage'?", "And how!"). Such a
    sentence cannot say who, what, when or why. None for other questions: "ISKP claimed it." answers "Did ISKP claim
    it?" with the question's own words."""
    tokens = [w.lower() for w in words(question)]
    if not QUESTION_WORDS & set(tokens) or (tokens and tokens[0] in _AUXILIARIES):
        return None  # "Did the group which attacked Moscow claim it?" is a yes/no question despite its "which"
    asked = set(content_terms(question))
    numbers = set(NUMBER.findall(question))

    def adds_nothing(sentence: str) -> bool:
        terms, sentence_numbers = _terms_and_numbers(sentence)
        return terms <= asked and sentence_numbers <= numbers

    return adds_nothing


@lru_cache(maxsize=65536)
def _terms_and_numbers(sentence: str) -> tuple[frozenset[str], frozenset[str]]:
    """A sentence's content-word stems and numbers (cached: the same sentences come back question after question)."""
    return frozenset(content_terms(sentence)), frozenset(NUMBER.findall(sentence))


def _sentence_cosines(chunk: Chunk, vectors: np.ndarray | None, query: np.ndarray | None, fallback: float) -> list[float]:
    """Cosine of the question with each sentence; the chunk's cosine where sentence vectors are missing."""
    if query is None:
        return [0.0] * len(chunk.sentences)
    if vectors is None or len(vectors) != len(chunk.sentences):
        return [fallback] * len(chunk.sentences)
    q = np.asarray(query, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1) * (float(np.linalg.norm(q)) or 1.0)
    return [float(x) for x in (vectors @ q) / np.where(norms > 0, norms, 1.0)]


def citation_of(e: Evidence, score: float | None = None, restated: list[str] | None = None) -> Citation:
    """The citation quoting ``e``: its line (or line range, for a wrapped sentence quoted whole), page and quote."""
    last = e.last_span
    return Citation(
        file=e.chunk.file, line=e.span.line, quote=e.quote, start=e.span.start,
        end=last.end if last is not None else e.span.end,
        score=round(e.score if score is None else score, 4), restated_in=restated or [],
        page=e.span.page, page_line=e.span.page_line,
        last_line=last.line if last is not None else None,
        last_page=last.page if last is not None else None,
        last_page_line=last.page_line if last is not None else None,
        section=e.chunk.section,
    )


def rerank_chunks(retrieved: list[RetrievedChunk], evidence: list[Evidence]) -> list[RetrievedChunk]:
    """The retrieved chunks in the order of their best-scored sentence (the rerank stage).

    A chunk whose sentences were read gets its best sentence's score as ``evidence_score`` and comes
    first, best first (ties keep the fused order); chunks not read follow in fused order. The
    scorer ranks sentences better than fusion ranks chunks, so the list a reader checks (and
    hit@k measures) starts with what the answer was read from.
    """
    best: dict[str, float] = {}
    for e in evidence:
        cid = e.retrieved.chunk_id
        if e.score > best.get(cid, float("-inf")):
            best[cid] = e.score
    # Scores within a millionth of the best score of each other are a tie: the fused order decides. (Relative, so a
    # scorer's scale, e.g. a calibrated probability well under 1, does not turn low scores into ties.)
    top = max(best.values(), default=0.0)
    unit = top if top > 0 else 1.0
    key = {cid: round(score / unit, 6) for cid, score in best.items()}
    read = sorted((rc for rc in retrieved if rc.chunk_id in best), key=lambda rc: -key[rc.chunk_id])
    return [rc.model_copy(update={"evidence_score": round(best[rc.chunk_id], 6)}) for rc in read] + [
        rc for rc in retrieved if rc.chunk_id not in best
    ]
