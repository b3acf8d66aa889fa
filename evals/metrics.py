"""Metric functions: score one answered turn, then summarise many. Pure: no model, no index."""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from pathlib import Path

from pydantic import BaseModel, Field

from index import DOCUMENT_KINDS, DocqaError, page_of, read_text_file
from qa import Answer, Citation

from .suite import Case, Turn


class TurnResult(BaseModel):
    """One question of one case, as a system answered it, and how it scored."""

    case_id: str = Field(description="Id of the case.")
    kind: str = Field(description="Kind of the case.")
    tags: list[str] = Field(default_factory=list, description="The case's tags.")
    turn: int = Field(description="0-based turn index within the case.")
    question: str = Field(description="The question asked.")
    standalone: str = Field(description="The question the system searched.")
    expected: list[str] = Field(description="Accepted answer patterns.")
    evidence: list[str] = Field(description="Gold file:line entries.")
    abstain_expected: bool = Field(description="True when the right behaviour is to abstain.")
    text: str = Field(description="The answer text.")
    abstained: bool = Field(description="Whether the system abstained.")
    citations: list[str] = Field(description="Cited file:line, in order.")
    refs: list[str] = Field(default_factory=list, description="The citations as shown to readers ('file:pPAGE:LINE' in a PDF), in order.")
    quotes: list[str] = Field(default_factory=list, description="The citations' quotes, in order.")
    invalid_citations: list[str] = Field(description="Cited file:line (closest passages included) whose quote is not verbatim on that line.")
    closest: list[str] = Field(default_factory=list, description="An abstention's closest passages shown to the reader, file:line in order.")
    retrieved: list[str] = Field(description="Distinct file:line retrieved, in rank order.")
    correct: bool = Field(description="Right answer (pattern matched, not abstained) or right abstention.")
    evidence_hit: bool | None = Field(description="At least one gold line cited (None when abstention was expected).")
    first_citation_on_gold: bool | None = Field(description="First citation on a gold line (None when abstention was expected).")
    citation_precision: float | None = Field(description="Share of citations on gold lines (None when nothing to judge).")
    gold_rank: int | None = Field(description="1-based rank of the first gold line among retrieved lines (None if absent).")
    latency_ms: float = Field(description="Wall time of the answer call.")
    mode: str = Field(default="extractive", description="extractive, or generative when an LLM's checked sentences are the answer.")
    generated_correct: bool | None = Field(
        default=None, description="Generative answers only: the expected pattern occurs in the LLM's kept sentences alone (quotes excluded)."
    )
    short_answer: str | None = Field(default=None, description="The direct answer shown before the quotes (None: none, or a disagreement's summary).")
    short_answer_correct: bool | None = Field(
        default=None, description="The short answer alone matches an expected pattern (None: no short answer on an answerable turn)."
    )


class Metrics(BaseModel):
    """A suite's scores for one system."""

    turns: int = Field(description="Questions scored.")
    answer_accuracy: float = Field(description="Share of turns answered right (or rightly abstained).")
    citation_validity: float = Field(
        description="Share of citations (and of the closest passages shown on abstentions) whose quote is verbatim on the cited line (must be 1.0)."
    )
    citations: int = Field(description="Citations checked (closest passages included).")
    citation_precision: float = Field(description="Mean share of citations on gold lines, over answerable turns with citations.")
    evidence_recall: float = Field(description="Share of answerable turns citing at least one gold line.")
    first_citation_on_gold: float = Field(description="Share of answerable turns whose first citation is on a gold line.")
    abstention_precision: float | None = Field(description="Of the abstentions, the share that were right (None: no abstention).")
    abstention_recall: float | None = Field(description="Of the turns that should abstain, the share that did (None: none should).")
    hit_at_1: float = Field(description="Gold line first among retrieved lines (answerable turns).")
    hit_at_5: float = Field(description="Gold line among the first 5 retrieved lines.")
    mrr_at_10: float = Field(description="Mean reciprocal rank of the gold line within 10 retrieved lines.")
    latency_p50_ms: float = Field(description="Median latency.")
    latency_p95_ms: float = Field(description="95th percentile latency.")
    accuracy_by_kind: dict[str, float] = Field(description="Answer accuracy per case kind.")
    accuracy_by_tag: dict[str, float] = Field(default_factory=dict, description="Answer accuracy per case tag (e.g. overlap, no-overlap).")
    generative_share: float | None = Field(
        default=None, description="Share of answerable turns answered by the LLM's checked sentences (None: no LLM in this system)."
    )
    generated_accuracy: float | None = Field(
        default=None, description="Of the generative answers, the share whose kept sentences alone match the expected answer."
    )
    abstention_recall_by_tag: dict[str, float] = Field(
        default_factory=dict, description="Abstention recall per tag of the turns that should abstain (off-topic, uncovered, false-premise)."
    )
    short_answer_share: float | None = Field(
        default=None, description="Of the answerable turns answered, the share with a short answer (a disagreement's summary is none)."
    )
    short_answer_precision: float | None = Field(
        default=None, description="Of those short answers, the share that alone match an expected pattern (None: no short answer)."
    )
    closest_recall: float | None = Field(
        default=None,
        description="Of the answerable turns abstained on, the share whose gold line is among the closest passages shown "
        "(what a reader can still find; None: no such turn).",
    )


def _lines(path: Path) -> list[str]:
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def citation_is_verbatim(corpus: Path, citation: Citation) -> bool:
    """The quote occurs verbatim on the cited line of the cited file (checked independently of qa/)."""
    path = (corpus / citation.file).resolve()
    if not path.is_relative_to(corpus.resolve()) or not path.is_file():
        return False
    if path.suffix.lower() in DOCUMENT_KINDS:
        # PDF, Word, HTML: the text view the readers make; a PDF citation's page must be the line's page.
        try:
            view = read_text_file(path, citation.file)
        except DocqaError:
            return False
        lines = view.lines
        if view.pages and page_of(view.pages, citation.line) != (citation.page, citation.page_line):
            return False
    else:
        lines = _lines(path)
    if citation.last_line is None:
        return 1 <= citation.line <= len(lines) and bool(citation.quote) and citation.quote in lines[citation.line - 1]
    # A wrapped sentence quoted whole: its words are, in order, the lines from the first to the last.
    if not 1 <= citation.line < citation.last_line <= len(lines) or not citation.quote:
        return False
    span = " ".join(line.strip() for line in lines[citation.line - 1 : citation.last_line])
    return citation.quote in span


def retrieved_lines(answer: Answer) -> list[str]:
    """Distinct file:line of the retrieved chunks, in rank order."""
    out: dict[str, None] = {}
    for r in answer.retrieved:
        for line in range(r.first_line, r.last_line + 1):
            out.setdefault(f"{r.file}:{line}", None)
    return list(out)


def score_turn(case: Case, index: int, turn: Turn, answer: Answer, corpus: Path, latency_ms: float) -> TurnResult:
    """Score one answered turn against its expectations."""
    cited = [c.location for c in answer.citations]
    generated_correct: bool | None = None
    invalid = [c.location for c in [*answer.citations, *answer.closest] if not citation_is_verbatim(corpus, c)]
    retrieved = retrieved_lines(answer)
    gold = set(turn.evidence)
    if turn.abstain:
        correct = answer.abstained
        evidence_hit = first_on_gold = precision = None
    else:
        matched = any(re.search(p, answer.text, re.IGNORECASE) for p in turn.expect)
        if answer.mode == "generative" and answer.generation is not None:
            kept = " ".join(s.text for s in answer.generation.sentences if s.supported)
            generated_correct = any(re.search(p, kept, re.IGNORECASE) for p in turn.expect)
        correct = not answer.abstained and matched
        evidence_hit = bool(gold & set(cited)) if gold else None
        first_on_gold = (bool(cited) and cited[0] in gold) if gold else None
        precision = (sum(c in gold for c in cited) / len(cited)) if gold and cited else None
    rank = next((i + 1 for i, loc in enumerate(retrieved) if loc in gold), None)
    short = answer.short_answer if answer.short_answer and not answer.short_answer_is_summary and not answer.abstained else None
    return TurnResult(
        case_id=case.id, kind=case.kind, tags=case.tags, turn=index, question=turn.question,
        standalone=answer.standalone_question, expected=turn.expect, evidence=turn.evidence,
        abstain_expected=turn.abstain, text=answer.text, abstained=answer.abstained, citations=cited,
        refs=[c.ref for c in answer.citations], quotes=[c.quote for c in answer.citations],
        invalid_citations=invalid, closest=[c.location for c in answer.closest], retrieved=retrieved, correct=correct, evidence_hit=evidence_hit,
        first_citation_on_gold=first_on_gold, citation_precision=precision, gold_rank=rank, latency_ms=round(latency_ms, 3),
        mode=answer.mode, generated_correct=generated_correct, short_answer=short,
        short_answer_correct=None if short is None or turn.abstain else any(re.search(p, short, re.IGNORECASE) for p in turn.expect),
    )


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))], 2)


def summarize(results: list[TurnResult]) -> Metrics:
    """Aggregate turn results into suite metrics."""
    answerable = [r for r in results if not r.abstain_expected]
    judged = [r for r in answerable if r.evidence]
    citations = sum(len(r.citations) + len(r.closest) for r in results)
    invalid = sum(len(r.invalid_citations) for r in results)
    abstained = [r for r in results if r.abstained]
    should = [r for r in results if r.abstain_expected]
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        by_kind[r.kind].append(r.correct)
    latencies = [r.latency_ms for r in results]
    answered = [r for r in answerable if not r.abstained]
    shorts = [r for r in answered if r.short_answer is not None]
    missed = [r for r in judged if r.abstained]
    return Metrics(
        turns=len(results),
        answer_accuracy=_mean([float(r.correct) for r in results]),
        citation_validity=round((citations - invalid) / citations, 4) if citations else 1.0,
        citations=citations,
        citation_precision=_mean([r.citation_precision for r in judged if r.citation_precision is not None]),
        evidence_recall=_mean([float(bool(r.evidence_hit)) for r in judged]),
        first_citation_on_gold=_mean([float(bool(r.first_citation_on_gold)) for r in judged]),
        abstention_precision=round(sum(r.abstain_expected for r in abstained) / len(abstained), 4) if abstained else None,
        abstention_recall=round(sum(r.abstained for r in should) / len(should), 4) if should else None,
        hit_at_1=_mean([float(r.gold_rank == 1) for r in judged]),
        hit_at_5=_mean([float(r.gold_rank is not None and r.gold_rank <= 5) for r in judged]),
        mrr_at_10=_mean([1.0 / r.gold_rank if r.gold_rank is not None and r.gold_rank <= 10 else 0.0 for r in judged]),
        latency_p50_ms=round(statistics.median(latencies), 2) if latencies else 0.0,
        latency_p95_ms=percentile(latencies, 0.95),
        accuracy_by_kind={k: _mean([float(v) for v in vs]) for k, vs in sorted(by_kind.items())},
        accuracy_by_tag={
            tag: _mean([float(r.correct) for r in results if tag in r.tags]) for tag in sorted({t for r in results for t in r.tags})
        },
        generative_share=_mean([float(r.mode == "generative") for r in answerable]) if any(r.mode == "generative" for r in results) else None,
        generated_accuracy=_mean([float(bool(r.generated_correct)) for r in answerable if r.mode == "generative"]) if any(r.mode == "generative" for r in results) else None,
        abstention_recall_by_tag={
            tag: _mean([float(r.abstained) for r in should if tag in r.tags]) for tag in sorted({t for r in should for t in r.tags})
        },
        short_answer_share=_mean([float(r.short_answer is not None) for r in answered]) if answered else None,
        short_answer_precision=_mean([float(bool(r.short_answer_correct)) for r in shorts]) if shorts else None,
        closest_recall=_mean([float(bool(set(r.closest) & set(r.evidence))) for r in missed]) if missed else None,
    )
