"""Contract of the evidence scorers, run over every registered one with hand-built candidates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index import Chunk, ConfigError, LineSpan, Sentence, load_settings
from index.errors import ModelError
from qa import RetrievedChunk
from qa.cross import checker_path
from qa.evidence import Evidence
from qa.features import FEATURES
from qa.scorer import LEARNED_WEIGHTS, CheckedScorer, EvidenceScorer, LearnedScorer, RulesScorer, make_scorer, register_scorer

from .conftest import write_checker

SCORERS = ["rules", "learned", "hybrid"]
QUESTION = "When did the museum open?"


def candidate(text: str, **features: float) -> Evidence:
    """One candidate sentence on line 1 of a.txt; unnamed features are 0 (1 for name/number coverage)."""
    values = {name: 0.0 for name in FEATURES} | {"name_cov": 1.0, "number_cov": 1.0, "log_words": 2.0} | features
    sentence = Sentence(text=text, spans=[LineSpan(line=1, start=0, end=len(text))])
    chunk = Chunk(id="c", file="a.txt", file_hash="h", ordinal=0, first_line=1, last_line=1, text=text, sentences=[sentence])
    rc = RetrievedChunk(chunk_id="c", file="a.txt", first_line=1, last_line=1, text=text,
                        dense_score=values["chunk_cos"], bm25_score=None, fused_score=values["fused_rel"])
    return Evidence(chunk, rc, sentence, sentence.spans[0], text, coverage=values["coverage"],
                    features=tuple(values[n] for n in FEATURES))


ANSWERS = dict(coverage=0.9, coverage_exact=0.9, chunk_coverage=1.0, sent_cos=0.75, sent_cos_rank=1.0, chunk_cos=0.7,
               fused_rel=1.0, chunk_rank=1.0, bm25_rel=1.0, type_match=1.0, cov_x_cos=0.675)
UNRELATED = dict(coverage=0.0, coverage_exact=0.0, uncovered_idf=1.0, sent_cos=0.05, sent_cos_gap=0.0, sent_cos_rank=1.0,
                 chunk_cos=0.08, fused_rel=1.0, chunk_rank=1.0, type_missing=1.0)


@pytest.fixture(params=SCORERS)
def scorer(request: pytest.FixtureRequest, tmp_path: Path) -> EvidenceScorer:
    return make_scorer(load_settings(home=tmp_path, evidence=request.param))


def test_scorers_satisfy_the_protocol(scorer: EvidenceScorer) -> None:
    assert isinstance(scorer, EvidenceScorer)
    assert 0.0 < scorer.threshold < 1.0
    assert 0.0 < scorer.llm_threshold <= scorer.threshold
    assert 0.0 < scorer.support_ratio <= 1.0 and 0.0 < scorer.agreement_share <= 1.0


def test_the_answering_sentence_ranks_first_and_clears_the_threshold(scorer: EvidenceScorer) -> None:
    weak = candidate("The museum has a cafe.", **(UNRELATED | dict(chunk_rank=0.5, fused_rel=0.6, sent_cos_gap=0.7, sent_cos_rank=0.5)))
    strong = candidate("The museum opened in 1931.", **ANSWERS)
    scored = scorer.score([weak, strong], QUESTION)
    assert [e.quote for e in scored.evidence] == ["The museum opened in 1931.", "The museum has a cafe."]
    assert scored.confidence >= scorer.threshold
    assert scored.evidence[0].quotable


def test_unrelated_candidates_stay_under_the_threshold(scorer: EvidenceScorer) -> None:
    scored = scorer.score([candidate("Ships float.", **UNRELATED), candidate("Bridges span rivers.", **UNRELATED)], QUESTION)
    assert scored.confidence < scorer.threshold


def test_no_candidates_means_no_confidence(scorer: EvidenceScorer) -> None:
    scored = scorer.score([], QUESTION)
    assert scored.evidence == [] and scored.confidence == 0.0


def test_scores_do_not_change_the_candidates_themselves(scorer: EvidenceScorer) -> None:
    e = candidate("The museum opened in 1931.", **ANSWERS)
    scored = scorer.score([e], QUESTION)
    assert scored.evidence[0] is not e and e.score == 0.0
    assert scored.evidence[0].quote == e.quote and scored.evidence[0].features == e.features


@pytest.mark.parametrize("name", ["learned", "hybrid"])
def test_a_best_sentence_unrelated_in_meaning_is_never_an_answer(name: str, tmp_path: Path) -> None:
    # Every word of the question is there, but the evidence encoder finds the sentence unrelated (cosine under the
    # floor): "What is the capital of France?" -> "... France's national security threat level ...".
    from qa.scorer import MEANING_FLOOR

    scorer = make_scorer(load_settings(home=tmp_path, evidence=name))
    words_only = ANSWERS | dict(sent_cos=MEANING_FLOOR - 0.01, cov_x_cos=0.9 * (MEANING_FLOOR - 0.01))
    scored = scorer.score([candidate("The museum opened in 1931.", **words_only)], QUESTION)
    assert scored.confidence == 0.0 < scorer.llm_threshold  # neither the reader nor an LLM answers from it
    assert scored.reason == "the closest passages share words with the question but not its meaning"
    assert scored.evidence[0].quote == "The museum opened in 1931."  # still ranked: the closest passage to show
    at_floor = ANSWERS | dict(sent_cos=MEANING_FLOOR, cov_x_cos=0.9 * MEANING_FLOOR)
    above = scorer.score([candidate("The museum opened in 1931.", **at_floor)], QUESTION)
    assert above.confidence > 0.0 and above.reason is None


def test_learned_probabilities_are_probabilities() -> None:
    scorer = LearnedScorer()
    scored = scorer.score([candidate("x", **ANSWERS), candidate("y", **UNRELATED)])
    assert all(0.0 <= e.score <= 1.0 for e in scored.evidence)
    assert scored.confidence == round(scored.evidence[0].score, 4)


def test_the_threshold_setting_overrides_the_stored_one(tmp_path: Path) -> None:
    assert make_scorer(load_settings(home=tmp_path, evidence="learned", abstain_threshold=0.9)).threshold == 0.9
    assert make_scorer(load_settings(home=tmp_path, evidence="rules")).threshold == 0.44
    stored = json.loads(LEARNED_WEIGHTS.read_text())["threshold"]
    assert make_scorer(load_settings(home=tmp_path, evidence="learned")).threshold == stored


def test_an_unknown_scorer_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"DOCQA_EVIDENCE=.oracle.*checked, hybrid, learned, rules"):
        make_scorer(load_settings(home=tmp_path, evidence="oracle"))


def test_a_missing_or_foreign_model_file_says_how_to_rebuild_it(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"python -m evals.train.*DOCQA_EVIDENCE=rules"):
        LearnedScorer(tmp_path / "nope.json")
    data = json.loads(LEARNED_WEIGHTS.read_text())
    data["features"] = data["features"][:-1]
    (tmp_path / "old.json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match="other features"):
        LearnedScorer(tmp_path / "old.json")


def test_a_registered_scorer_is_chosen_by_name(tmp_path: Path) -> None:
    class Reverse(RulesScorer):
        name = "reverse"

    register_scorer("reverse", lambda s: Reverse(0.1))
    scorer = make_scorer(load_settings(home=tmp_path, evidence="reverse"))
    assert isinstance(scorer, Reverse) and scorer.threshold == 0.1


class FakeChecker:
    """Logits by sentence text (0 for any other)."""

    def __init__(self, logits: dict[str, float]) -> None:
        self.by_text = logits

    def logits(self, question: str, sentences: list[str]) -> np.ndarray:
        return np.asarray([self.by_text.get(s, 0.0) for s in sentences])


def checked(tmp_path: Path, logits: dict[str, float], threshold: float = 0.5) -> CheckedScorer:
    return CheckedScorer(write_checker(checker_path(tmp_path)), threshold=threshold, checker=FakeChecker(logits))


def test_the_checker_reorders_what_the_features_cannot_tell_apart(tmp_path: Path) -> None:
    """Same features for both candidates: the checker, reading question and sentence together, decides."""
    answer = candidate("The ferry was captained by Sven Aberg for thirty years.", **ANSWERS)
    other = candidate("The ferry carried cars and bicycles across the fjord.", **ANSWERS)
    scorer = checked(tmp_path, {answer.quote: 3.0, other.quote: -3.0})
    scored = scorer.score([other, answer], "Who was the ferry captain?")
    assert [e.quote for e in scored.evidence] == [answer.quote, other.quote]
    assert scored.confidence == pytest.approx(1 / (1 + np.exp(-3.0)), abs=1e-4)
    assert scored.evidence[0].score == pytest.approx(scored.confidence, abs=1e-4) and scored.evidence[1].score < 0.01


def test_the_checker_doubting_every_candidate_abstains(tmp_path: Path) -> None:
    strong = candidate("The museum opened in 1931.", **ANSWERS)
    scorer = checked(tmp_path, {strong.quote: -2.0})
    assert scorer.score([strong], QUESTION).confidence < scorer.threshold
    # Without a question there is nothing to check: the ranker's own verdict stands.
    assert scorer.score([strong], "").confidence == LearnedScorer().score([strong]).confidence


def test_a_clear_ranker_lead_is_kept_against_a_small_checker_preference(tmp_path: Path) -> None:
    """The rank key adds the checker logit to the log of the ranker's share: a 1-logit preference does not undo
    a candidate the ranker puts far behind."""
    strong = candidate("The museum opened in 1931.", **ANSWERS)
    weak = candidate("The museum has a cafe.", **(UNRELATED | dict(chunk_rank=0.5, fused_rel=0.6)))
    scorer = checked(tmp_path, {strong.quote: 0.0, weak.quote: 1.0})
    assert [e.quote for e in scorer.score([weak, strong], QUESTION).evidence] == [strong.quote, weak.quote]


def test_checked_is_chosen_by_the_setting_and_reads_its_threshold(tmp_path: Path) -> None:
    write_checker(checker_path(tmp_path), threshold=0.37)
    scorer = make_scorer(load_settings(home=tmp_path, evidence="checked"))
    assert isinstance(scorer, CheckedScorer) and scorer.threshold == 0.37 and scorer.llm_threshold == 0.185
    scored = scorer.score([candidate("The museum opened in 1931.", **ANSWERS)], QUESTION)  # the real (random-head) checker
    assert 0.0 < scored.confidence < 1.0


def test_a_missing_checker_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"evidence-cross.json.*python -m evals.train_cross.*DOCQA_EVIDENCE=hybrid"):
        make_scorer(load_settings(home=tmp_path, evidence="checked"))


def test_training_reads_the_shipped_ranker_as_the_scorer_does() -> None:
    # evals.train compares a refit with the shipped file: it must score candidates exactly as answers do.
    from evals.train import _ShippedRanker

    x = np.random.default_rng(0).random((7, len(FEATURES)))
    np.testing.assert_allclose(_ShippedRanker().predict(x), LearnedScorer().rank_scores(x))


def test_training_writes_a_model_the_scorer_reads_into_a_new_folder(tmp_path: Path) -> None:
    # The fit-and-write stage of evals.train on synthetic groups: the answering candidate has a high coverage.
    import argparse

    from evals.train import Group, _fit_and_write

    rng = np.random.default_rng(0)
    cov = FEATURES.index("coverage")

    def group(source: str, answerable: bool) -> Group:
        x = rng.random((6, len(FEATURES))) * 0.3
        y = np.zeros(6, dtype=np.int64)
        if answerable:
            x[2, cov], y[2] = 0.95, 1
        return Group(source, answerable, x, y, synthetic_unanswerable=y == 0 if answerable else None)

    groups = [group("squad-fit", True) for _ in range(40)] + [group("squad-val", True) for _ in range(20)]
    dev = [group("natural", i % 2 == 0) for i in range(20)]
    out = tmp_path / "not" / "yet" / "evidence-lr.json"
    args = argparse.Namespace(out=out, seed=0, compare=False)
    assert _fit_and_write(args, groups, dev, ["a.txt"], 0.0) == 0
    assert out.is_file() and out.with_suffix(".reliability.svg").is_file()
    scorer = LearnedScorer(out)
    x = rng.random((6, len(FEATURES))) * 0.3
    x[4, cov] = 0.95
    assert int(np.argmax(scorer.rank_scores(x))) == 4


def test_answer_removed_rows_are_measured_as_answer_time_sees_them() -> None:
    # A SQuAD question with its answer removed: as collected, the best remaining sentence still trails the removed
    # answer's cosine (gap 0.5, cosine rank 2nd); answer time, which never saw that answer, computes gap 0 and 1st.
    from evals.train import Group, _answer_rows, _Ranker
    from qa.features import SENT_COS, finish

    gap, rank = FEATURES.index("sent_cos_gap"), FEATURES.index("sent_cos_rank")
    rows = np.zeros((3, len(FEATURES)))
    rows[:, SENT_COS] = [0.9, 0.4, 0.2]  # the first candidate is the answer
    x = finish(rows.tolist())
    g = Group("squad-val", True, x, np.array([1, 0, 0]), synthetic_unanswerable=np.array([False, True, True]))
    ranker = _Ranker(1.0)
    ranker.mean, ranker.scale = np.zeros(len(FEATURES)), np.ones(len(FEATURES))
    ranker.coef = np.zeros(len(FEATURES))
    ranker.coef[SENT_COS] = 1.0

    stale, labels, _, sources = _answer_rows(ranker, [g])
    fresh, _, _, _ = _answer_rows(ranker, [g], as_answered=True)
    assert list(labels) == [1, 0] and sources == ["squad-val", "squad-val-answer-removed"]
    np.testing.assert_allclose(stale[0], fresh[0])  # the answerable row is the same either way
    assert stale[1, gap] == pytest.approx(0.5) and stale[1, rank] == pytest.approx(1 / 2)
    assert fresh[1, gap] == pytest.approx(0.0) and fresh[1, rank] == pytest.approx(1.0)


def test_the_calibration_map_is_monotone_and_keeps_every_decision(tmp_path: Path) -> None:
    # Raw probabilities that overstate: 0.5 answers 20 % of the time, 0.9 answers 90 %; the map says so, and a
    # threshold stored through it separates the same probabilities the raw threshold did.
    from evals.train import _calibration

    rng = np.random.default_rng(0)
    p = rng.random(4000)
    y = (rng.random(4000) < p**3).astype(float)  # the observed rate is p cubed
    cal = _calibration(p, y)
    assert all(b > a for a, b in zip(cal.raw, cal.raw[1:], strict=False))
    assert all(b > a for a, b in zip(cal.observed, cal.observed[1:], strict=False))
    assert cal(0.5) == pytest.approx(0.125, abs=0.05) and cal(0.95) == pytest.approx(0.857, abs=0.05)
    grid = np.linspace(0, 1, 501)
    for t in (0.1, 0.4, 0.7):
        assert [v < t for v in grid] == [cal(v) < cal(t) for v in grid]


def test_a_weights_file_with_a_broken_calibration_says_how_to_rebuild_it(tmp_path: Path) -> None:
    data = json.loads(LEARNED_WEIGHTS.read_text(encoding="utf-8"))
    data["answer"]["calibration"] = {"raw": [0.0, 0.5, 0.4, 1.0], "observed": [0.0, 0.1, 0.2, 1.0]}
    bad = tmp_path / "evidence-lr.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelError, match=r"strictly increasing.*python -m evals.train"):
        LearnedScorer(bad)
    del data["answer"]["calibration"]  # a file from before the map: the raw probability is used
    bad.write_text(json.dumps(data), encoding="utf-8")
    assert LearnedScorer(bad).calibration(0.37) == pytest.approx(0.37)


def test_the_shipped_probability_is_calibrated_and_its_threshold_stored_through_the_map() -> None:
    data = json.loads(LEARNED_WEIGHTS.read_text(encoding="utf-8"))
    scorer = LearnedScorer()
    trained = data["trained"]
    assert trained["validation_ece"] < trained["validation_ece_raw"]
    assert scorer.threshold == pytest.approx(scorer.calibration(trained["threshold_raw"]), abs=1e-6)
    assert scorer.llm_threshold == pytest.approx(scorer.calibration(trained["llm_threshold_raw"]), abs=1e-6)
