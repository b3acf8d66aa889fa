"""answer() quotes verified lines; hand-worked expected citations on the tiny corpus."""

from __future__ import annotations

import numpy as np
import pytest

from index import CorpusIndex, HashingEmbedder, QuestionError, load_settings
from qa import Answer, QAEngine

from .conftest import assert_verbatim, engine_over


@pytest.fixture
def engine(tiny, settings, store_kind):
    index = CorpusIndex(tiny, settings, embedder=HashingEmbedder(), store=store_kind)
    index.sync()
    return QAEngine(index)


@pytest.mark.parametrize(
    ("question", "short", "file", "line", "quote"),
    [
        ("Who was the founder of the Harbor Museum?", "Maria Lopez", "museum.txt", 2, "Its founder was Maria Lopez, a shipbuilder."),
        ("Who was the lighthouse keeper?", "Tomas Berg", "notes/crlf.txt", 2, "The lighthouse keeper was Tomas Berg."),
        ("When was the old bridge built?", "1887", "no_newline.md", 3, "The old bridge was built in 1887 by the Calder company."),
        ("How many model ships does the museum hold?", "4,000", "museum.txt", 4, "The museum holds 4,000 model ships."),
        ("Which river does the bridge span?", None, "no_newline.md", 4, "It spans the Wren river."),
    ],
)
def test_expected_first_citation(engine, tiny, question, short, file, line, quote):
    a = engine.answer(question)
    assert not a.abstained
    first = a.citations[0]
    assert (first.file, first.line, first.quote) == (file, line, quote)
    assert a.short_answer == short
    if short:
        assert short in first.quote and a.text.startswith(short)
    assert f"{file}:{line}" in a.text
    assert_verbatim(tiny, a.citations)


def test_off_topic_question_abstains_and_cites_nothing(engine):
    a = engine.answer("What is the recipe for sourdough bread?")
    assert a.abstained and a.citations == [] and a.short_answer is None
    assert "don't say" in a.text
    assert a.evidence_score < a.threshold


def test_quote_that_no_longer_matches_the_file_is_never_returned(engine, tiny):
    (tiny / "notes" / "crlf.txt").write_bytes(b"Lighthouse log\r\nRewritten entirely.\r\n")
    a = engine.answer("Who was the lighthouse keeper?")
    assert all(c.file != "notes/crlf.txt" for c in a.citations)
    assert_verbatim(tiny, a.citations)


def test_follow_up_uses_the_previous_short_answer(engine):
    first = engine.answer("Who was the founder of the Harbor Museum?")
    follow = engine.answer("What was her trade?", history=[first])
    assert "Maria Lopez" in follow.standalone_question
    assert follow.citations[0].quote == "Its founder was Maria Lopez, a shipbuilder."


def test_unrelated_follow_up_is_searched_as_asked(engine):
    first = engine.answer("Who was the founder of the Harbor Museum?")
    a = engine.answer("Who was the lighthouse keeper?", history=[first])
    assert a.standalone_question == "Who was the lighthouse keeper?"


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "empty"), ("   \t\n", "empty"), ("?!...", "no words"), ("x" * 2001, "over the limit of 2000")],
    ids=["empty", "whitespace", "punctuation", "too-long"],
)
def test_bad_questions_raise_question_error(engine, question, message):
    with pytest.raises(QuestionError, match=message):
        engine.answer(question)


def test_history_must_hold_answers(engine):
    with pytest.raises(QuestionError, match="Answer objects"):
        engine.answer("Who?", history=["not an answer"])  # type: ignore[list-item]


def test_question_limit_is_a_setting(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCQA_MAX_QUESTION_CHARS", "20")
    settings = load_settings(home=tmp_path / "h2")
    index = CorpusIndex(tiny, settings, embedder=HashingEmbedder(), store="numpy")
    index.sync()
    with pytest.raises(QuestionError, match="DOCQA_MAX_QUESTION_CHARS"):
        QAEngine(index).answer("Who was the lighthouse keeper?")


def test_answer_round_trips_as_json(engine):
    a = engine.answer("Who was the lighthouse keeper?")
    assert Answer.model_validate_json(a.model_dump_json()) == a


def test_dense_retrieval_widens_past_vectors_the_snapshot_does_not_know(tiny, settings):
    """After an interrupted re-index the store may hold many vectors the manifest does not know (until the next
    sync removes them); they must not push the known chunks out of the dense results."""
    embedder = HashingEmbedder()
    index = CorpusIndex(tiny, settings, embedder=embedder, store="numpy")
    index.sync()
    question = "Who was the lighthouse keeper?"
    keeper = next(c for c in index.chunks if "Tomas Berg" in c.text)
    strangers = [keeper.model_copy(update={"id": f"orphan-{i}"}) for i in range(200)]
    index.store.upsert(strangers, np.repeat(embedder.embed([question]), len(strangers), axis=0))
    engine = QAEngine(index)
    retrieval = engine._retriever.retrieve(question)
    assert all(not c.chunk_id.startswith("orphan-") for c in retrieval.chunks)
    assert sum(c.dense_score is not None for c in retrieval.chunks) == min(settings.top_k, len(index.chunks))
    a = engine.answer(question)
    assert a.citations[0].location == "notes/crlf.txt:2" and a.short_answer == "Tomas Berg"


def test_a_quote_that_says_the_group_is_quoted_with_the_sentence_naming_it(tmp_path, settings):
    # The best sentence says "the group's reach"; who the group is, the sentence before it on the line says.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    line = ("The Northern Front has recruited in the valleys since 1990. This spring an explosion at the harbor killed "
            "nine people, revealing the group's reach.")
    (corpus / "report.txt").write_text(f"Harbor report\n{line}\nThe harbor reopened in May.\n", encoding="utf-8")
    index = CorpusIndex(corpus, settings, embedder=HashingEmbedder())
    index.sync()
    a = QAEngine(index).answer("Which group caused the harbor explosion?")
    assert not a.abstained
    first = a.citations[0]
    assert (first.file, first.line, first.quote, first.start) == ("report.txt", 2, line, 0)
    assert a.short_answer == "Northern Front"
    assert_verbatim(corpus, a.citations)
    # Asked for something else, the same sentence is quoted alone.
    b = QAEngine(index).answer("How many people did the harbor explosion kill?")
    assert b.citations[0].quote == "This spring an explosion at the harbor killed nine people, revealing the group's reach."


#: What the question demands of its answer (the read checks): each corpus line matches the first question's words but
#: lacks the asked kind of answer, so it abstains with that reason; the second question is answered from the line
#: that has it.
READ_CHECKS = {
    "a count": (
        "The storm flooded the harbor, and a large number of boats sank.\nThe harbor holds 40 berths.\n",
        "How many boats sank in the storm?", "the closest passages give no number for it",
        "How many berths does the harbor hold?", 3,
    ),
    "a span of time": (
        "Captain Ines Varga sailed the whole Wren river in a small boat.\n"
        "The lighthouse on the Wren river burned for three weeks in 1923.\n",
        "How long did Captain Ines Varga's voyage down the Wren river take?", "the closest passages give no span of time",
        "How long did the lighthouse on the Wren river burn?", 3,
    ),
    "a year": (
        "Captain Ines Varga sailed the whole Wren river in a small boat.\nThe Wren river lighthouse was built in 1887.\n",
        "In what year did Captain Ines Varga sail the Wren river?", "the closest passages name no year",
        "In what year was the Wren river lighthouse built?", 3,
    ),
    "a name not in the question": (
        "The band played at the Harbor Hall until midnight.\nThe Wren Quartet played at the Old Mill.\n",
        "Which band played at the Harbor Hall?", "the closest passages name nothing the question does not already name",
        "Which band played at the Old Mill?", 3,
    ),
}


@pytest.mark.parametrize("demand", list(READ_CHECKS))
def test_an_answer_must_hold_what_the_question_demands(tmp_path, settings, demand):
    text, lacking, reason, answerable, line = READ_CHECKS[demand]
    engine = engine_over(tmp_path / "corpus", settings, {"report.txt": "Report\n" + text})
    a = engine.answer(lacking)
    assert a.abstained and a.citations == [] and a.short_answer is None
    assert a.abstain_reason == reason
    b = engine.answer(answerable)
    assert not b.abstained and b.abstain_reason is None
    assert b.citations[0].location == f"report.txt:{line}"


def test_how_much_is_not_held_to_a_count(tmp_path, settings):
    # Its answers are often words ("over half", "tenfold").
    engine = engine_over(tmp_path / "corpus", settings, {
        "storm.txt": "Storm report\nThe storm flooded the harbor, and a large number of boats sank.\n",
    })
    assert not engine.answer("How much of the harbor did the storm flood?").abstained


def test_an_abstention_says_why(tmp_path, settings):
    from ui.cli import render
    from ui.html import answer_html

    engine = engine_over(tmp_path / "corpus", settings, {
        "storm.txt": "Storm report\nThe storm flooded the harbor, and a large number of boats sank.\n",
    })
    vague = engine.answer("How many boats sank in the storm?")
    assert vague.abstained and vague.abstain_reason == "the closest passages give no number for it"
    assert "(the closest passages give no number for it)" in render(vague)
    assert "The closest passages give no number for it." in answer_html(vague)
    assert "evidence" not in answer_html(vague)  # not the threshold's explanation: the evidence cleared it
    off = engine.answer("What is the recipe for sourdough bread?")
    assert off.abstained and off.abstain_reason is not None and off.abstain_reason.startswith("no passage supports an answer")
    assert "Try naming the person, place or event." in answer_html(off)
    answered = engine.answer("What flooded the harbor?")
    assert not answered.abstained and answered.abstain_reason is None


def test_a_count_in_another_sentence_of_the_quoted_line_is_quoted_instead(tmp_path, settings):
    # One quote per line keeps the best-scored sentence; it holds no count, but the next sentence of its line does.
    engine = engine_over(tmp_path / "corpus", settings, {
        "fleet.txt": "Fleet report\nThe harbor fleet could hold many boats. The harbor fleet held 40 boats.\n",
    })
    a = engine.answer("How many boats could the harbor fleet hold?")
    assert not a.abstained and a.short_answer == "40"
    assert a.citations[0].quote == "The harbor fleet held 40 boats."
    assert a.citations[0].location == "fleet.txt:2"


def test_an_abstention_without_a_reason_abstained_on_the_threshold():
    # Answers made elsewhere (a saved conversation, a fake engine) say why in the same words as the engine.
    from qa.models import Answer

    a = Answer(question="q", standalone_question="q", text="The documents don't say.", abstained=True,
               evidence_score=0.125, threshold=0.33, corpus="/c")
    assert a.abstain_reason == "no passage supports an answer (evidence 0.12, needs 0.33)"
    kept = Answer(question="q", standalone_question="q", text="...", abstained=True, abstain_reason="the closest passages name no year",
                  evidence_score=0.9, threshold=0.33, corpus="/c")
    assert kept.abstain_reason == "the closest passages name no year"
    assert Answer(question="q", standalone_question="q", text="...", abstained=False, evidence_score=0.9, threshold=0.33,
                  corpus="/c").abstain_reason is None


STORM = {
    "storm.txt": "Storm report\nThe storm flooded the harbor, and a large number of boats sank.\nThe harbor master closed the pier.\n",
    "fair.txt": "Fair notes\nThe town fair sold apples and pears.\n",
}


def test_an_abstention_shows_the_closest_passages_and_says_they_are_no_answer(tmp_path, settings):
    from qa import ABSTAIN_TEXT, CLOSEST_TITLE
    from ui.cli import render
    from ui.html import answer_html

    engine = engine_over(tmp_path / "corpus", settings, STORM)
    a = engine.answer("How many boats sank in the storm?")
    assert a.abstained and a.citations == [] and a.short_answer is None and a.text == ABSTAIN_TEXT
    # What the reason calls "the closest passages" is there for the reader to check, verified like a citation.
    assert [c.location for c in a.closest][:1] == ["storm.txt:2"]
    assert a.closest[0].quote == "The storm flooded the harbor, and a large number of boats sank."
    assert len({c.location for c in a.closest}) == len(a.closest) <= settings.closest_passages
    assert_verbatim(tmp_path / "corpus", a.closest)
    shown = render(a)
    assert shown.index("(the closest passages give no number for it)") < shown.index(CLOSEST_TITLE)
    assert "storm.txt:2  \u201cThe storm flooded the harbor, and a large number of boats sank.\u201d" in shown
    page = answer_html(a)
    assert CLOSEST_TITLE in page and 'data-ref="storm.txt:2#' in page
    # A passage sharing no word with the question, and no sentence vectors to say it is close in meaning: not shown.
    assert "fair.txt" not in {c.file for c in a.closest}


def test_an_off_topic_abstention_shows_no_passages_and_an_answer_never_has_closest(tmp_path, settings):
    from ui.cli import render

    engine = engine_over(tmp_path / "corpus", settings, STORM)
    off = engine.answer("What is the recipe for sourdough bread?")
    assert off.abstained and off.closest == []
    assert "Closest" not in render(off)
    answered = engine.answer("What flooded the harbor?")
    assert not answered.abstained and answered.closest == []


def test_the_number_of_closest_passages_is_a_setting(tmp_path, settings, monkeypatch):
    none = engine_over(tmp_path / "a", settings.model_copy(update={"closest_passages": 0}), STORM)
    assert none.answer("How many boats sank in the storm?").closest == []
    one = engine_over(tmp_path / "b", settings.model_copy(update={"closest_passages": 1}), STORM)
    assert [c.location for c in one.answer("How many boats sank in the storm?").closest] == ["storm.txt:2"]
    monkeypatch.setenv("DOCQA_CLOSEST_PASSAGES", "-1")
    with pytest.raises(Exception, match="closest_passages") as err:
        load_settings(home=tmp_path / "h")
    assert "greater than or equal to 0" in str(err.value)


def test_closest_passages_belong_to_abstentions_only():
    from pydantic import ValidationError

    from qa import Citation

    near = Citation(file="f.txt", line=2, quote="q", start=0, end=1, score=0.1)
    with pytest.raises(ValidationError, match="closest passages belong to abstentions only"):
        Answer(question="q", standalone_question="q", text="x", abstained=False, closest=[near], evidence_score=0.9,
               threshold=0.33, corpus="/c")
    a = Answer(question="q", standalone_question="q", text="The documents don't say.", abstained=True, closest=[near],
               evidence_score=0.1, threshold=0.33, corpus="/c")
    assert Answer.model_validate_json(a.model_dump_json()).closest == [near]


def test_a_sentence_that_only_repeats_the_question_is_no_answer(tmp_path, settings):
    # The heading holds every word of the question and nothing more: it cannot say which paper.
    engine = engine_over(tmp_path / "corpus", settings, {
        "paper.txt": "Harbor carnage\nThe storm flooded the harbor and sank boats.\nThe Daily Post ran the story.\n",
    })
    a = engine.answer("What was the harbor carnage?")
    assert not a.abstained and a.citations[0].quote == "The storm flooded the harbor and sank boats."
    assert all(c.quote != "Harbor carnage" for c in a.citations)
    which = engine.answer("Which headline said harbor carnage?")
    assert which.abstained and all(c.quote != "Harbor carnage" for c in which.closest)
    # A new number is something added: "How many boats sank?" is answered by "12 boats sank." though no word is new.
    counted = engine_over(tmp_path / "counted", settings, {"boats.txt": "Boats\n12 boats sank.\n"})
    b = counted.answer("How many boats sank?")
    assert not b.abstained and b.short_answer == "12" and b.citations[0].location == "boats.txt:2"
    # A yes/no question is confirmed in its own words, even with a "which" inside it.
    c = engine.answer("Did the storm flood the harbor and sink boats?")
    assert not c.abstained and c.citations[0].location == "paper.txt:2"
    from qa.evidence import _echo_test

    assert _echo_test("Did the storm which flooded the harbor sink boats?") is None
    echo = _echo_test("Which storm flooded the harbor?")
    assert echo is not None and echo("The storm flooded the harbor.") and not echo("The Easter storm flooded the harbor.")


def test_an_abstention_says_the_scorers_own_reason(tmp_path, settings, monkeypatch):
    # A scorer that knows why it doubts (the learned scorers' meaning floor) is heard: the abstention says so.
    from qa import scorer as scorers
    from qa.scorer import RulesScorer, Scored, register_scorer

    monkeypatch.setattr(scorers, "_FACTORIES", dict(scorers._FACTORIES))  # registered for this test only

    class _Doubting(RulesScorer):
        def score(self, evidence, question=""):  # type: ignore[no-untyped-def]
            return Scored(super().score(evidence, question).evidence, 0.0, "the closest passages say something else")

    register_scorer("doubting", lambda s: _Doubting())
    engine = engine_over(tmp_path / "corpus", settings.model_copy(update={"evidence": "doubting"}), STORM)
    a = engine.answer("What flooded the harbor?")
    assert a.abstained and a.abstain_reason == "the closest passages say something else"
    assert a.closest[0].location == "storm.txt:2"
