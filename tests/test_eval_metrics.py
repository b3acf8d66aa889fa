"""Metric functions on hand-worked cases."""

from __future__ import annotations

import pytest

from evals.gate import SuiteGate, check
from evals.metrics import citation_is_verbatim, score_turn, summarize
from evals.runner import SuiteReport
from evals.suite import Case, Turn, load_suite
from qa import Answer, Citation, RetrievedChunk

from .conftest import write_tree

DOC = {"doc.txt": b"Line one is here.\nThe keeper was Tomas Berg.\nLine three.\n"}


@pytest.fixture
def corpus(tmp_path):
    return write_tree(tmp_path / "c", DOC)


def cite(line: int, quote: str) -> Citation:
    return Citation(file="doc.txt", line=line, quote=quote, start=0, end=len(quote), score=1.0)


def answer(text: str, citations: list[Citation], abstained: bool = False, retrieved_lines: tuple[int, ...] = ()) -> Answer:
    return Answer(
        question="q", standalone_question="q", text=text, citations=citations, abstained=abstained, evidence_score=0.5,
        threshold=0.4, corpus="/c",
        retrieved=[RetrievedChunk(chunk_id=f"c{n}", file="doc.txt", first_line=n, last_line=n, text="t", fused_score=1.0) for n in retrieved_lines],
    )


KEEPER = Case(id="k", kind="factoid", turns=[Turn(question="Who was the keeper?", expect=["Tomas Berg"], evidence=["doc.txt:2"])])
NONE = Case(id="n", kind="unanswerable", turns=[Turn(question="Who won the cup?", abstain=True)])


def test_verbatim_quote_is_valid(corpus):
    assert citation_is_verbatim(corpus, cite(2, "The keeper was Tomas Berg."))


def test_quote_that_is_not_verbatim_is_invalid(corpus):
    assert not citation_is_verbatim(corpus, cite(2, "The keeper was Thomas Berg."))


def test_citation_one_line_off_is_invalid_and_misses_the_gold(corpus):
    off = cite(3, "The keeper was Tomas Berg.")
    assert not citation_is_verbatim(corpus, off)
    r = score_turn(KEEPER, 0, KEEPER.turns[0], answer("Tomas Berg", [off]), corpus, 5.0)
    assert r.invalid_citations == ["doc.txt:3"] and r.evidence_hit is False and r.citation_precision == 0.0
    assert r.correct  # the text is right; the citation metrics catch the bad line
    m = summarize([r])
    assert (m.citation_validity, m.evidence_recall, m.first_citation_on_gold) == (0.0, 0.0, 0.0)


def test_right_answer_scores_everywhere(corpus):
    r = score_turn(KEEPER, 0, KEEPER.turns[0], answer("Tomas Berg", [cite(2, "Tomas Berg")], retrieved_lines=(1, 2)), corpus, 5.0)
    m = summarize([r])
    assert (m.answer_accuracy, m.citation_validity, m.citation_precision, m.evidence_recall) == (1.0, 1.0, 1.0, 1.0)
    assert (m.hit_at_1, m.hit_at_5, m.mrr_at_10) == (0.0, 1.0, 0.5)  # gold line ranked second


def test_short_answer_precision_judges_the_short_answer_alone(corpus):
    quote = cite(2, "The keeper was Tomas Berg.")
    right = answer("Tomas Berg\n\n\u201cThe keeper was Tomas Berg.\u201d (doc.txt:2)", [quote]).model_copy(update={"short_answer": "Tomas Berg"})
    # A wrong short answer: the quote still holds the expected name, so the answer counts right, the short answer not.
    wrong = right.model_copy(update={"short_answer": "Keeper", "text": "Keeper\n\n\u201cThe keeper was Tomas Berg.\u201d"})
    none = answer("\u201cThe keeper was Tomas Berg.\u201d (doc.txt:2)", [quote])
    results = [score_turn(KEEPER, 0, KEEPER.turns[0], a, corpus, 1.0) for a in (right, wrong, none)]
    assert [r.short_answer_correct for r in results] == [True, False, None]
    assert all(r.correct for r in results)
    m = summarize(results)
    assert (m.short_answer_share, m.short_answer_precision) == (round(2 / 3, 4), 0.5)
    # No short answer anywhere: nothing to judge.
    assert summarize(results[2:]).short_answer_precision is None


def test_abstention_counted_right(corpus):
    r = score_turn(NONE, 0, NONE.turns[0], answer("The documents don't say.", [], abstained=True), corpus, 3.0)
    assert r.correct
    m = summarize([r])
    assert (m.abstention_precision, m.abstention_recall, m.answer_accuracy) == (1.0, 1.0, 1.0)


def test_abstention_counted_wrong(corpus):
    wrong_answer = score_turn(NONE, 0, NONE.turns[0], answer("Tomas Berg", [cite(2, "Tomas Berg")]), corpus, 3.0)
    wrong_abstain = score_turn(KEEPER, 0, KEEPER.turns[0], answer("The documents don't say.", [], abstained=True), corpus, 3.0)
    assert not wrong_answer.correct and not wrong_abstain.correct
    m = summarize([wrong_answer, wrong_abstain])
    assert m.abstention_recall == 0.0  # the unanswerable one was answered
    assert m.abstention_precision == 0.0  # the one abstention was on an answerable question
    assert m.accuracy_by_kind == {"factoid": 0.0, "unanswerable": 0.0}


def test_gate_fails_below_threshold_and_on_any_invalid_citation(corpus):
    good = score_turn(KEEPER, 0, KEEPER.turns[0], answer("Tomas Berg", [cite(2, "Tomas Berg")]), corpus, 5.0)
    bad = score_turn(KEEPER, 0, KEEPER.turns[0], answer("Tomas Berg", [cite(3, "Tomas Berg")]), corpus, 5.0)
    report = SuiteReport(suite="s", corpus="/c", sample=None, seed=0, cases=1, metrics={"full": summarize([good])}, results={"full": [good]})
    assert check([report], {"s": SuiteGate(minimum={"answer_accuracy": 1.0})}) == []
    assert check([report], {"s": SuiteGate(minimum={"evidence_recall": 1.01})})
    report_bad = SuiteReport(suite="s", corpus="/c", sample=None, seed=0, cases=1, metrics={"bm25": summarize([bad])}, results={"bm25": [bad]})
    assert any("citation validity" in m for m in check([report_bad], {}))


def test_shipped_seeds_suite_is_valid_and_big_enough():
    cases = load_suite("seeds")
    assert len(cases) >= 40
    assert sum(len(c.turns) > 1 for c in cases) >= 8
    assert sum(t.abstain for c in cases for t in c.turns) >= 6
    assert any(c.id == "claimed-responsibility" for c in cases)


def test_closest_passages_are_checked_and_counted_when_they_hold_the_gold_line(corpus):
    # Abstained on an answerable turn: the reader can still find the answer when its line is among the closest passages.
    found = answer("The documents don't say.", [], abstained=True).model_copy(update={"closest": [cite(2, "The keeper was Tomas Berg.")]})
    lost = answer("The documents don't say.", [], abstained=True).model_copy(update={"closest": [cite(1, "Line one is here.")]})
    forged = answer("The documents don't say.", [], abstained=True).model_copy(update={"closest": [cite(3, "The keeper was Tomas Berg.")]})
    results = [score_turn(KEEPER, 0, KEEPER.turns[0], a, corpus, 1.0) for a in (found, lost, forged)]
    assert [r.closest for r in results] == [["doc.txt:2"], ["doc.txt:1"], ["doc.txt:3"]]
    assert not any(r.correct for r in results)  # still abstentions on an answerable question
    assert results[2].invalid_citations == ["doc.txt:3"]
    m = summarize(results)
    assert m.closest_recall == round(1 / 3, 4)
    assert (m.citations, m.citation_validity) == (3, round(2 / 3, 4))  # a forged closest passage fails validity too
    answered = score_turn(KEEPER, 0, KEEPER.turns[0], answer("Tomas Berg", [cite(2, "Tomas Berg")]), corpus, 1.0)
    assert summarize([answered]).closest_recall is None
