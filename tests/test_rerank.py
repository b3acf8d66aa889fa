"""The rerank stage (qa.evidence.rerank_chunks): an answer lists its retrieved chunks by their best-scored
sentence, then the chunks whose sentences were not read, in fused order. Run over every registered scorer."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import Chunk, LineSpan, Sentence, load_settings
from qa import RetrievedChunk
from qa.evidence import Evidence, rerank_chunks
from qa.features import FEATURES
from qa.scorer import make_scorer

from .test_scorer import ANSWERS, SCORERS, UNRELATED

QUESTION = "When did the museum open?"


def retrieved(cid: str, fused: float) -> RetrievedChunk:
    return RetrievedChunk(chunk_id=cid, file=f"{cid}.txt", first_line=1, last_line=1, text=cid, dense_score=0.5,
                          bm25_score=None, fused_score=fused)


def candidate(rc: RetrievedChunk, text: str, **features: float) -> Evidence:
    values = {name: 0.0 for name in FEATURES} | {"name_cov": 1.0, "number_cov": 1.0, "log_words": 2.0} | features
    sentence = Sentence(text=text, spans=[LineSpan(line=1, start=0, end=len(text))])
    chunk = Chunk(id=rc.chunk_id, file=rc.file, file_hash="h", ordinal=0, first_line=1, last_line=1, text=text,
                  sentences=[sentence])
    return Evidence(chunk, rc, sentence, sentence.spans[0], text, coverage=values["coverage"],
                    features=tuple(values[n] for n in FEATURES))


@pytest.mark.parametrize("name", SCORERS)
def test_the_chunk_holding_the_answer_comes_first(name: str, tmp_path: Path) -> None:
    scorer = make_scorer(load_settings(home=tmp_path, evidence=name))
    first, second, unread = retrieved("gift-shop", 0.033), retrieved("museum", 0.032), retrieved("cafe", 0.031)
    candidates = [
        candidate(first, "The gift shop sells postcards.", **(UNRELATED | {"chunk_rank": 1.0, "fused_rel": 1.0})),
        candidate(second, "The museum opened in 1931.", **(ANSWERS | {"chunk_rank": 0.5, "fused_rel": 0.97})),
    ]
    scored = scorer.score(candidates, QUESTION).evidence
    ranked = rerank_chunks([first, second, unread], scored)
    assert [rc.chunk_id for rc in ranked] == ["museum", "gift-shop", "cafe"]
    assert ranked[0].evidence_score == pytest.approx(scored[0].score, abs=1e-6)
    assert ranked[0].evidence_score > ranked[1].evidence_score  # type: ignore[operator]
    assert ranked[2].evidence_score is None  # not read: keeps its fused place after the read ones
    assert [rc.fused_score for rc in ranked] == [0.032, 0.033, 0.031]  # the retrievers' scores are kept as they were


def test_without_evidence_the_fused_order_stands() -> None:
    chunks = [retrieved("a", 0.03), retrieved("b", 0.02)]
    assert rerank_chunks(chunks, []) == chunks


def test_a_chunk_ranks_by_its_best_sentence() -> None:
    a, b = retrieved("a", 0.03), retrieved("b", 0.02)
    evidence = [
        candidate(a, "one"), candidate(b, "two"), candidate(b, "three"),
    ]
    scored = [Evidence(**{**e.__dict__, "score": s}) for e, s in zip(evidence, [0.4, 0.1, 0.5], strict=True)]
    ranked = rerank_chunks([a, b], scored)
    assert [(rc.chunk_id, rc.evidence_score) for rc in ranked] == [("b", 0.5), ("a", 0.4)]
