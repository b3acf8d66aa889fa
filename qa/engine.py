"""The extractive answerer: question -> retrieval -> quoted, verified answer. No LLM."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from index import CorpusIndex, IndexReport, QuestionError, Settings, load_settings
from index.embedder import INT8_SUFFIX

from . import text_stats
from .conflicts import ValueGroup, find_disagreement
from .evidence import Evidence, citation_of, gather_candidates, rerank_chunks
from .features import SENT_COS
from .followup import Rewrite, rewrite
from .models import Answer, Citation, SourceValue, StreamDone, StreamToken, Timings
from .polarity import asks_why_not, negated
from .question import clean_question
from .retrieval import HybridRetriever, Mode, Retrieval
from .scorer import EvidenceScorer, make_scorer
from .short_answer import (
    Span,
    answer_span,
    asks_count,
    asks_duration,
    asks_named,
    asks_year,
    holds_count,
    holds_duration,
    holds_year,
    names_new,
    question_kind,
    refers_back,
)
from .text import content_terms
from .verify import LineSource, verified

logger = logging.getLogger(__name__)

ABSTAIN_TEXT = "The documents don't say."
#: A supporting sentence must score at least this fraction of the best one to be quoted too.
SUPPORT_RATIO = 0.75


@dataclass(frozen=True)
class Trace:
    """What the stages before reading found for one question."""

    standalone: str
    rewritten_by: Literal["none", "rules", "llm"]
    retrieval: Retrieval
    retriever: HybridRetriever
    #: Near-duplicate partners of each file, from the same index snapshot as ``retriever``.
    partners: dict[str, set[str]]
    #: Candidate sentences in retrieval order, with features.
    candidates: list[Evidence]
    #: The same, scored and ranked best first.
    evidence: list[Evidence]
    confidence: float
    threshold: float
    #: The scorer's own reason for its confidence, if it gave one (an abstention says it).
    reason: str | None = None


class QAEngine:
    """Answers questions over one ``CorpusIndex``. Thread-safe; call ``refresh()`` after re-indexing."""

    def __init__(self, index: CorpusIndex, mode: Mode = "hybrid") -> None:
        """``mode``: hybrid (default), or dense / bm25 alone (the eval baselines)."""
        self.index = index
        self.mode = mode
        self.settings: Settings = index.settings
        self._lines = LineSource(index.corpus)
        self._lock = threading.Condition()
        self.scorer: EvidenceScorer = make_scorer(self.settings)
        encoder = index.sentence_embedder.name
        # The int8 variant of the scorer's encoder is the same model quantised: its features were measured to keep the
        # scorer's quality (README, "A faster encoder for indexing"), so it counts as the same encoder.
        if self.scorer.encoder is not None and self.scorer.encoder != encoder.removesuffix(INT8_SUFFIX):
            # A learned scorer's features are cosines of its own encoder: with another one they mean nothing.
            logger.warning(
                "evidence scorer %r was fitted with the %s encoder, but this index embeds sentences with %s; "
                "using the rules scorer (set DOCQA_EVIDENCE_ENCODER=%s, or DOCQA_EVIDENCE=rules to silence this)",
                self.scorer.name, self.scorer.encoder, encoder, self.scorer.encoder,
            )
            self.scorer = make_scorer(self.settings.model_copy(update={"evidence": "rules"}))
        self._retriever = self._snapshot()
        self._partners = index.duplicate_partners()
        self._readers: dict[int, int] = {}  # id(retriever) -> answers in flight on it

    def _snapshot(self) -> HybridRetriever:
        index = self.index
        return HybridRetriever(index.snapshot(), index.embedder, index.store, self.settings.top_k, self.mode, index.sentence_vectors,
                               stats_path=index.dir / text_stats.FILE_NAME, sentence_search=self.settings.sentence_search)

    def verified(self, citations: list[Citation]) -> list[Citation]:
        """The citations whose quote is still verbatim on its line of the file on disk."""
        return verified(citations, self._lines)

    @property
    def lower_vocab(self) -> frozenset[str]:
        """Lower-cased words of the current snapshot (tells names from common words)."""
        with self._lock:
            return self._retriever.lower_vocab

    def refresh(self) -> None:
        """Take a new snapshot of the index (after ``index.sync()``)."""
        retriever = self._snapshot()
        partners = self.index.duplicate_partners()
        with self._lock:
            self._retriever = retriever
            self._partners = partners

    def _switch_and_drain(self) -> None:
        """Switch to the new snapshot, then wait until no answer still runs on an older one."""
        self.refresh()
        with self._lock:
            current = id(self._retriever)
            self._lock.wait_for(lambda: not any(n for rid, n in self._readers.items() if rid != current), timeout=60)

    def reindex(self, progress: bool | None = None, on_progress: Callable[[int, int], None] | None = None) -> IndexReport:
        """Sync the index while answering goes on: answers in flight finish on the old snapshot, later ones use the new."""
        return self.index.sync(progress=progress, on_progress=on_progress, before_cleanup=self._switch_and_drain)

    def answer(self, question: str, history: Sequence[Answer] | None = None) -> Answer:
        """Answer ``question``; ``history`` holds earlier Answers of the conversation, oldest first."""
        return self.answer_with_evidence(question, history)[0]

    def stream(self, question: str, history: Sequence[Answer] | None = None) -> Iterator[StreamToken | StreamDone]:
        """The answer as a stream (the extractive answer comes whole, as one ``StreamDone``)."""
        yield StreamDone(answer=self.answer(question, history))

    def trace(self, question: str, history: Sequence[Answer] | None = None, standalone: str | None = None) -> Trace:
        """The stages before reading an answer: rewrite -> retrieve -> candidates -> score.

        ``standalone``: search this question instead of the rule-based rewrite (an LLM's rewrite).
        """
        asked = clean_question(question, self.settings.max_question_chars)
        turns = _check_history(history)
        rewritten = rewrite(asked, turns)
        rewritten_by: Literal["none", "rules", "llm"] = "rules" if rewritten.question != asked or rewritten.files else "none"
        if standalone is not None:
            rewritten, rewritten_by = Rewrite(clean_question(standalone, self.settings.max_question_chars)), "llm"
        with self._lock:
            retriever = self._retriever
            partners = self._partners
            self._readers[id(retriever)] = self._readers.get(id(retriever), 0) + 1
        # The question as the evidence encoder sees it, made first: the sentence search reads it too.
        evidence_vector = self._evidence_vector(rewritten.question)
        try:
            retrieval = retriever.retrieve(rewritten.question, rewritten.files, evidence_vector)
        finally:
            with self._lock:
                self._readers[id(retriever)] -= 1
                if not self._readers[id(retriever)]:
                    del self._readers[id(retriever)]
                self._lock.notify_all()
        # Quotes come only from files still identical to the indexed version; a changed file's
        # positions are stale until it is re-indexed.
        indexed = {(c.file, retriever.by_id[c.chunk_id].file_hash) for c in retrieval.chunks}
        lines_of = {f: lines for f, sha in indexed if (lines := self._lines.lines_if_unchanged(f, sha)) is not None}
        question_vector = evidence_vector
        if question_vector is None and self.scorer.uses_sentence_vectors:
            question_vector = retrieval.query_vector  # one model embeds chunks and sentences
        candidates = gather_candidates(rewritten.question, retrieval.chunks, retriever, lines_of, question_vector)
        scored = self.scorer.score(candidates, rewritten.question)
        return Trace(
            standalone=rewritten.question, rewritten_by=rewritten_by, retrieval=retrieval, retriever=retriever, partners=partners,
            candidates=candidates, evidence=scored.evidence, confidence=scored.confidence, threshold=self.scorer.threshold,
            reason=scored.reason,
        )

    def _closest(self, evidence: list[Evidence], partners: dict[str, set[str]]) -> list[Citation]:
        """An abstention's closest passages, for a reader to check (not an answer): the best-scored sentences, one per
        line, a near-duplicate's repeat recorded as a restatement, verified against the files like citations."""
        related = [e for e in evidence if _related(e)] if self.settings.closest_passages else []
        if not related:
            return []
        picks, restated = _supporting(related, self.settings.closest_passages, partners, ratio=0.0)
        return self.verified([_citation(e, restated) for e in picks])

    def _evidence_vector(self, question: str) -> np.ndarray | None:
        """The question as the evidence encoder sees it; None when the scorer reads no sentence vectors (the cosines
        are then 0) or when one model does both (the retrieval vector is then the same)."""
        encoder = self.index.sentence_embedder
        if not self.scorer.uses_sentence_vectors or encoder is self.index.embedder:
            return None
        return np.asarray(encoder.embed([question])[0])

    def answer_with_evidence(
        self, question: str, history: Sequence[Answer] | None = None, standalone: str | None = None
    ) -> tuple[Answer, list[Evidence]]:
        """The answer and the ranked evidence sentences behind it (the generative answerer's passages).

        ``standalone``: search this question instead of the rule-based rewrite (an LLM's rewrite).
        """
        t0 = time.perf_counter()
        tr = self.trace(question, history, standalone)
        retrieval, retriever, standalone = tr.retrieval, tr.retriever, tr.standalone
        rewritten_by, partners = tr.rewritten_by, tr.partners
        t1 = time.perf_counter()
        evidence, score, threshold = tr.evidence, tr.confidence, tr.threshold
        abstained = score < threshold or not evidence
        reason: str | None = tr.reason  # None: a threshold abstention's reason is Answer's default
        if self.mode == "bm25" and self.scorer.name == "rules":
            # No dense similarity in this mode (an eval baseline): abstain only when no question
            # term occurs in what was retrieved, as BM25 itself finds nothing then.
            score = max((e.coverage for e in evidence), default=0.0)
            threshold = 0.0
            abstained = score <= 0.0
            reason = "no question term occurs in what was retrieved" if abstained else None
        short: str | None = None
        citations: list[Citation] = []
        groups: list[ValueGroup] = []
        if not abstained:
            groups = find_disagreement(standalone, evidence, partners, retriever.lower_vocab, self.scorer.agreement_share)
            if groups:
                chosen, restated = _conflict_support(groups, partners)
            else:
                chosen, restated = _supporting(evidence, self.settings.max_citations, partners, self.scorer.support_ratio)
                short, chosen = _short_answer(standalone, chosen, retriever.lower_vocab)
                unanswered = _unanswered(standalone, chosen, retriever.lower_vocab)
                if unanswered is not None:
                    # Another sentence of a quoted line may hold what is asked ("... The third division ...": the
                    # count of divisions is in the sentence before it): quote that one instead.
                    neighbour = _same_line_answer(standalone, chosen, evidence, self.scorer.support_ratio, retriever.lower_vocab)
                    if neighbour is not None:
                        chosen = neighbour
                        restated = _restatements(chosen, evidence, partners)
                        short, chosen = _short_answer(standalone, chosen, retriever.lower_vocab)
                        unanswered = None
                if unanswered is not None:
                    abstained, chosen, reason = True, [], unanswered
                    logger.info("abstaining on %r: %s", standalone, unanswered)
            citations = [_citation(e, restated) for e in chosen]
        t2 = time.perf_counter()
        citations = self.verified(citations)
        if not abstained and not citations:
            abstained, short = True, None
            reason = "no quote survived verification against the files (re-index the changed files)"
            logger.warning("no citation survived verification; abstaining")
        closest = self._closest(evidence, partners) if abstained else []
        if short is not None and (not citations or short not in citations[0].quote):
            short = None
        disagreement = _values(groups, citations) if not abstained else []
        if len(disagreement) < 2:
            disagreement = []
        if disagreement:
            short = " / ".join(v.value for v in disagreement)
        t3 = time.perf_counter()
        if abstained:
            text = ABSTAIN_TEXT
        elif disagreement:
            text = _compose_disagreement(disagreement, citations)
        else:
            text = _compose(short, citations)
        return Answer(
            rewritten_by=rewritten_by,
            question=question if isinstance(question, str) else str(question),
            standalone_question=standalone,
            text=text,
            short_answer=short,
            short_answer_is_summary=bool(disagreement),
            disagreement=disagreement,
            citations=citations,
            closest=closest,
            abstained=abstained,
            abstain_reason=reason if abstained else None,
            evidence_score=score,
            threshold=threshold,
            retrieved=rerank_chunks(retrieval.chunks, evidence),
            timings=Timings(
                embed_ms=round(retrieval.embed_ms, 3),
                retrieve_ms=round(retrieval.retrieve_ms, 3),
                compose_ms=round((t2 - t1) * 1000, 3),
                verify_ms=round((t3 - t2) * 1000, 3),
                total_ms=round((time.perf_counter() - t0) * 1000, 3),
            ),
            corpus=str(self.index.corpus),
        ), evidence


#: A closest passage that shares no question term is shown only from this evidence-encoder cosine to the question.
#: Chosen on the dev halves (seeds, natural, natural2, nearmiss): every gold line among the closest passages of an
#: abstained answerable dev turn has 0.22 or more ("Where were the gunmen from?" -> "... suspects from Tajikistan": 0.40),
#: the passages shown for "How do I bake sourdough bread?" 0.12 or less.
CLOSEST_MIN_COSINE = 0.2


def _related(e: Evidence) -> bool:
    """Whether a reader should see ``e`` among an abstention's closest passages: it shares a question term, or it is
    close in meaning (a scorer that reads no sentence vectors leaves the cosine at 0: then a shared term decides)."""
    return e.coverage > 0 or (len(e.features) > SENT_COS and e.features[SENT_COS] >= CLOSEST_MIN_COSINE)


def _check_history(history: Sequence[Answer] | None) -> list[Answer]:
    if history is None:
        return []
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise QuestionError("history must be a list of earlier Answer objects, oldest first")
    bad = [type(h).__name__ for h in history if not isinstance(h, Answer)]
    if bad:
        raise QuestionError(f"history holds {bad[0]} items; pass the Answer objects returned by earlier answer() calls")
    return list(history)


def _supporting(
    evidence: list[Evidence], limit: int, partners: dict[str, set[str]], ratio: float = SUPPORT_RATIO
) -> tuple[list[Evidence], dict[int, list[str]]]:
    """The best sentence plus others close to it in score, one per line, no repeated quote.

    A sentence from a near-duplicate of an already chosen quote's document is not a second
    source: it is recorded as a restatement of that quote instead (returned by ``id()`` of
    the chosen Evidence).
    """
    best = evidence[0].score
    chosen: list[Evidence] = []
    seen: set[tuple[str, int]] = set()
    quotes: set[str] = set()
    for e in evidence:
        if len(chosen) >= limit or e.score < best * ratio:
            break
        if not e.quotable or _restates(e, chosen, partners) is not None:
            continue
        e = _same_document_version(e, chosen, evidence, partners)
        key = (e.chunk.file, e.span.line)
        if key in seen or e.quote in quotes:
            continue
        seen.add(key)
        quotes.add(e.quote)
        chosen.append(e)
    chosen = chosen or evidence[:1]
    return chosen, _restatements(chosen, evidence, partners)


def _same_document_version(e: Evidence, chosen: list[Evidence], evidence: list[Evidence], partners: dict[str, set[str]]) -> Evidence:
    """If a near-duplicate of ``e``'s document is already cited, its equivalent sentence instead of ``e``."""
    cited = {c.chunk.file for c in chosen} & partners.get(e.chunk.file, set())
    if not cited:
        return e
    for other in evidence:
        if other.chunk.file in cited and _restates(other, [e], partners) is e:
            return other
    return e


def _restatements(chosen: list[Evidence], evidence: list[Evidence], partners: dict[str, set[str]]) -> dict[int, list[str]]:
    """For each chosen sentence (by ``id()``), where near-duplicate documents repeat it, among all candidates."""
    restated: dict[int, list[str]] = {}
    for e in evidence:
        if e in chosen:
            continue
        original = _restates(e, chosen, partners)
        if original is not None:
            where = citation_of(e).ref
            if where not in restated.setdefault(id(original), []):
                restated[id(original)].append(where)
    return restated



#: Content-word overlap (Jaccard) from which a near-duplicate's sentence restates a chosen one.
RESTATE_OVERLAP = 0.25


def _restates(e: Evidence, chosen: list[Evidence], partners: dict[str, set[str]]) -> Evidence | None:
    """The chosen sentence that ``e`` restates: same wording largely, in a near-duplicate document."""
    mine = set(content_terms(e.sentence.text))
    for c in chosen:
        if e.chunk.file not in partners.get(c.chunk.file, ()):
            continue
        theirs = set(content_terms(c.sentence.text))
        if mine and theirs and len(mine & theirs) / len(mine | theirs) >= RESTATE_OVERLAP:
            return c
    return None


def _citation(e: Evidence, restated: dict[int, list[str]]) -> Citation:
    return citation_of(e, restated=restated.get(id(e), []))


def _conflict_support(groups: list[ValueGroup], partners: dict[str, set[str]]) -> tuple[list[Evidence], dict[int, list[str]]]:
    """One citation per (value, independent source); near-duplicate repeats become restatements."""
    chosen: list[Evidence] = []
    for group in groups:
        mine: list[Evidence] = []
        for e in group.evidence:
            if any(m.chunk.file == e.chunk.file for m in mine) or _restates(e, mine, partners) is not None:
                continue
            mine.append(e)
        chosen.extend(mine)
    return chosen, _restatements(chosen, [e for g in groups for e in g.evidence], partners)


def _values(groups: list[ValueGroup], citations: list[Citation]) -> list[SourceValue]:
    """Each disagreeing value with the verified locations that give it."""
    verified_at = {c.location: c for c in citations}
    values = []
    for group in groups:
        locations = [f"{e.chunk.file}:{e.span.line}" for e in group.evidence]
        kept = [loc for loc in dict.fromkeys(locations) if loc in verified_at]
        if kept:
            extra = [r for loc in kept for r in verified_at[loc].restated_in]
            values.append(SourceValue(value=group.value, locations=[verified_at[loc].ref for loc in kept] + extra))
    return values


def _compose_disagreement(values: list[SourceValue], citations: list[Citation]) -> str:
    summary = "; ".join(f"{v.value} ({', '.join(v.locations)})" for v in values)
    return f"The sources disagree: {summary}.\n\n" + _compose(None, citations)


def _short_answer(question: str, chosen: list[Evidence], lower_vocab: frozenset[str]) -> tuple[str | None, list[Evidence]]:
    """Find the short answer in the best quotes; the quote that holds it is moved first.

    A who-question's best quote that names no one but refers back ("the group's ambitions") is quoted with the
    sentence before it on its line, when that one names who it is.
    """
    for i, e in enumerate(chosen[:3]):
        span = answer_span(question, e.quote, lower_vocab)
        if span is None and i == 0:
            e, span = _with_antecedent(question, e, lower_vocab)
        if span is not None:
            return span.text, [e, *chosen[:i], *chosen[i + 1 :]]
    return None, chosen


def _same_line_answer(
    question: str, chosen: list[Evidence], evidence: list[Evidence], ratio: float, lower_vocab: frozenset[str]
) -> list[Evidence] | None:
    """The chosen quotes with one replaced by another candidate sentence of its line that meets what the question
    demands (``_unanswered`` passes it alone) and scores within ``ratio`` of the best, put first; None if there is
    no such sentence."""
    lines = {(c.chunk.file, c.span.line): i for i, c in enumerate(chosen[:3])}
    taken = {id(c) for c in chosen}
    best = evidence[0].score if evidence else 0.0
    for e in evidence:
        if e.score < best * ratio:
            break
        i = lines.get((e.chunk.file, e.span.line))
        if i is None or id(e) in taken or not e.quotable:
            continue
        if _unanswered(question, [e], lower_vocab) is None:
            return [e, *chosen[:i], *chosen[i + 1 :]]
    return None


def _unanswered(question: str, chosen: list[Evidence], lower_vocab: frozenset[str]) -> str | None:
    """Why the best quotes do not answer what the question asks, however close their words are (None: they may).

    - A "how many" question whose quotes hold no count ("killing a large number of people").
    - A "which band / region / newspaper ..." question whose quotes name nothing the question does not already name.
    - A "which year" question whose quotes name no year, decade or century.
    - A "how long" question whose quotes hold no span of time ("in 1542" says when, not how long).
    - A "why not" question whose quotes hold no negative word ("Why doesn't UNEP contribute?" against "... funding
      established by UNEP"): they state the premise's opposite, or nothing about it (``qa.polarity``).
    Measured (README, "Evals", fifth session): on the dev halves they abstain on unanswerable turns only; they cost
    0.1 % of first citations on the 4,807 training SQuAD questions and 0.6 % on the held-out ones.
    """
    quotes = [e.quote for e in chosen[:3]]
    if asks_count(question) and not any(holds_count(question, q, lower_vocab) for q in quotes):
        return "the closest passages give no number for it"
    if asks_named(question) and not any(names_new(question, q, lower_vocab) for q in quotes):
        return "the closest passages name nothing the question does not already name"
    if asks_year(question) and not any(holds_year(q) for q in quotes):
        return "the closest passages name no year"
    if asks_duration(question) and not any(holds_duration(q) for q in quotes):
        return "the closest passages give no span of time"
    if asks_why_not(question) and not any(negated(q) for q in quotes):
        return "the closest passages do not say it did not happen: they state the opposite, or nothing about it"
    return None


def _with_antecedent(question: str, e: Evidence, lower_vocab: frozenset[str]) -> tuple[Evidence, Span | None]:
    """``e`` quoted from the previous sentence of its line, with the name found there, when ``e`` refers back to it."""
    if e.lead is None or question_kind(question) != "who" or not refers_back(e.quote):
        return e, None
    start, text = e.lead
    span = answer_span(question, text[: len(text) - len(e.quote)], lower_vocab)
    if span is None:
        return e, None
    return replace(e, span=e.span.model_copy(update={"start": start}), quote=text), span


def _compose(short: str | None, citations: list[Citation]) -> str:
    quotes = "\n".join(f"\u201c{c.quote}\u201d ({c.ref}{_restated(c)})" for c in citations)
    return f"{short}\n\n{quotes}" if short else quotes


def _restated(c: Citation) -> str:
    return f"; restated by near-duplicate {', '.join(c.restated_in)}" if c.restated_in else ""


# --------------------------------------------------------------------------- module-level API
_engines: dict[tuple[object, ...], QAEngine] = {}
_engines_lock = threading.Lock()


def get_engine(corpus: Path | str | None = None, settings: Settings | None = None) -> QAEngine:
    """The engine of a corpus (default: settings.corpus, i.e. seeds/), indexed on first use and cached."""
    settings = settings or load_settings()
    root = Path(corpus if corpus is not None else settings.corpus).expanduser().resolve()
    key = (str(root), str(settings.home.expanduser().resolve()), settings.embed_model, settings.evidence_encoder, settings.embed_precision,
           settings.evidence, settings.abstain_threshold)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            index = CorpusIndex(root, settings)
            index.sync()
            engine = QAEngine(index)
            _engines[key] = engine
    return engine


def reset_engines() -> None:
    """Forget cached engines (tests use this between temporary data dirs)."""
    with _engines_lock:
        _engines.clear()
