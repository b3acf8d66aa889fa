"""The short answer of a who-question is who did it: not a nationality adjective modifying a noun, nor a month
(qa.short_answer.extract; the other kinds are covered through the engine in test_answer.py)."""

from __future__ import annotations

import pytest

from qa.short_answer import (
    asks_count,
    asks_duration,
    asks_named,
    asks_year,
    extract,
    holds_count,
    holds_duration,
    holds_year,
    names_new,
    question_kind,
)

ATTRIBUTION = ("American officials were quick to attribute the massacre to ISKP, with subsequent arrests in Russia "
               "pointing towards suspects from Tajikistan.")


@pytest.mark.parametrize(("question", "sentence", "short"), [
    # "American" modifies "officials": the group they blamed is the answer.
    ("Who was behind the attack?", ATTRIBUTION, "ISKP"),
    ("Who carried out the massacre?", "Russian authorities said the massacre was carried out by Tomas Berg.", "Tomas Berg"),
    # A month is no one: the demonym is then the only name, and stays the answer.
    ("Who warned Russia?", "American intelligence warned Russia in March.", "American"),
    # A demonym standing alone (not before a lower-case word) is a name like any other.
    ("Who won the race?", "The race was won by a Kenyan, ahead of Dara Vasquez.", "Kenyan"),
    # Unchanged: the agent right before the question's verb.
    ("Who claimed responsibility?", "IS-K has claimed responsibility for the attack in Moscow, which killed over 140 people.", "IS-K"),
])
def test_who_answers_name_the_agent(question: str, sentence: str, short: str) -> None:
    span = extract(question, sentence)
    assert span is not None and span.text == short
    assert sentence[span.start : span.end] == short  # verbatim, with its offsets


def test_a_month_is_never_who() -> None:
    sentence = "On March 22nd, an unprecedented assault on a concert in Moscow left 139 people dead."
    assert extract("Which group carried out the Moscow concert attack?", sentence) is None
    assert extract("When was the Moscow concert attack?", sentence).text == "March 22nd"  # type: ignore[union-attr]


def test_a_month_is_never_where() -> None:
    assert extract("Where did the attack happen?", "The attack happened in March near Moscow.").text == "Moscow"  # type: ignore[union-attr]
    assert extract("Where did the attack happen?", "The attack happened in March.") is None


def test_a_follow_up_asks_what_its_own_words_ask() -> None:
    # The rewriter carries the previous question as context: "it" after "How many people were killed?".
    asked = "When did it happen? (How many people were killed?)"
    assert question_kind(asked) == "when"
    assert extract(asked, "On March 22nd, an assault in Moscow left 139 people dead.").text == "March 22nd"  # type: ignore[union-attr]
    assert question_kind("How many died? (When was the attack?)") == "how many"


@pytest.mark.parametrize(("question", "sentence", "short"), [
    # "Where ... from?" asks for an origin: the place after "from", not the first place named.
    ("Where were the attackers from?", ATTRIBUTION, "Tajikistan"),
    # "X-based" names a place without a preposition before it.
    ("Where is ISIS-K based?",
     "Suspicions have fallen on the Afghanistan-based ISIS affiliate, ISIS-Khorasan or ISIS-K.", "Afghanistan"),
    ("Where is the company based?", "The Paris-based company makes cheese in Lyon.", "Paris"),
    # Without "from", the nearest place to the question's words, as before.
    ("Where were the suspects arrested?", "The suspects were arrested in Bryansk, far from Moscow.", "Bryansk"),
])
def test_where_answers_name_the_place_asked_for(question: str, sentence: str, short: str) -> None:
    span = extract(question, sentence)
    assert span is not None and span.text == short
    assert sentence[span.start : span.end] == short


def test_where_finds_no_place_in_a_sentence_without_one() -> None:
    assert extract("Where is the company based?", "The company makes cheese.") is None


@pytest.mark.parametrize(("question", "sentence", "short"), [
    # "The name of the <thing>": a name ending in that thing's noun.
    ("What was the name of the concert hall that was attacked?",
     "Despite previous warnings, the attack at Crocus City Hall near Moscow represents a significant security oversight.",
     "Crocus City Hall"),
    ("What is the name of the stadium in Miami?", "It was played at Sun Life Stadium in Miami and Levi's Stadium.", "Sun Life Stadium"),
    # Two names joined by "and": the one that ends with the noun.
    ("What is the name of the bridge over the river?", "It links Harvard and Weeks Bridge over the river.", "Weeks Bridge"),
])
def test_name_of_a_thing_is_a_name_ending_with_that_noun(question: str, sentence: str, short: str) -> None:
    assert question_kind(question) == "name"
    span = extract(question, sentence)
    assert span is not None and span.text == short and sentence[span.start : span.end] == short


def test_name_of_a_thing_is_none_when_no_name_ends_with_that_noun() -> None:
    # "Moscow" names a city, not a concert hall: no short answer rather than a wrong one.
    assert extract("What was the name of the concert hall that was attacked?",
                   "The terrorist attack targeting a concert hall near Moscow should alert the world.") is None


@pytest.mark.parametrize("question", ["What is the name of the quarterback who was 38?", "What was the name of the man who led it?"])
def test_name_of_a_person_is_a_who_question(question: str) -> None:
    assert question_kind(question) == "who"


def test_who_prefers_someone_to_a_place_after_in() -> None:
    sentence = ("Amidst a struggle for dominance in Afghanistan, the Islamic State Khorasan Province (ISKP) has launched "
                "one of its most audacious attacks.")
    assert extract("Which group launched the attack?", sentence).text == "Islamic State Khorasan Province (ISKP)"  # type: ignore[union-attr]
    # Only a place is named: it stays the answer (a sentence may name where the agent is only).
    assert extract("Who won the race?", "The race was won in Kenya.").text == "Kenya"  # type: ignore[union-attr]


def test_a_capitalised_connective_is_no_name() -> None:
    assert extract("Who launched the attack?", "date 2024-03-30 Amidst tensions, the attack was launched.") is None


def test_a_name_with_its_acronym_is_the_name_the_question_said() -> None:
    # "(ISKP)" only defines the question's own name: not an answer to who leads it.
    sentence = "The Islamic State Khorasan Province (ISKP) has launched attacks."
    assert extract("Who leads the Islamic State Khorasan Province?", sentence) is None


# --------------------------------------------------------------------------- the span model (qa.short_answer.rank_spans)
from qa.short_answer import SPAN_FEATURES, _KindModel, answer_span, rank_spans, set_span_model, span_model  # noqa: E402

TWO_NAMES = "The prize went to Ada Brun, not to Carl Otto."


@pytest.fixture
def span_model_of():
    """Install a one-feature span model for the test, then restore the shipped one."""
    shipped = span_model()
    from qa import short_answer

    floor = short_answer._FLOOR

    def install(feature: str, weight: float, intercept: float = 0.0, floor_: float = 0.0) -> None:
        coef = tuple(weight if f == feature else 0.0 for f in SPAN_FEATURES)
        set_span_model({k: _KindModel(coef, intercept) for k in ("who", "where", "when", "how many")}, floor_)

    yield install
    set_span_model(shipped, floor)


def test_the_span_model_picks_among_the_candidates(span_model_of) -> None:
    span_model_of("last", 3.0)  # a model that likes the last candidate
    ranked = rank_spans("Who got the prize?", TWO_NAMES)
    assert [s.text for s, _ in ranked] == ["Carl Otto", "Ada Brun"]
    assert ranked[0][1] > ranked[1][1]
    span_model_of("first", 3.0)
    assert extract("Who got the prize?", TWO_NAMES).text == "Ada Brun"  # type: ignore[union-attr]


def test_the_agent_of_the_questions_verb_overrides_the_model(span_model_of) -> None:
    span_model_of("first", 5.0)
    sentence = "During the withdrawal, prisoners, including Kell fighters, were freed by the Taliban."
    assert extract("Who freed the prisoners?", sentence).text == "Taliban"  # type: ignore[union-attr]


def test_a_pick_under_the_floor_is_no_short_answer(span_model_of) -> None:
    span_model_of("first", 0.0, intercept=-3.0, floor_=0.5)  # every span ~0.05
    assert extract("Who got the prize?", TWO_NAMES) is not None  # still the best candidate (features, conflicts)
    assert answer_span("Who got the prize?", TWO_NAMES) is None  # but not shown


def test_the_shipped_span_model_matches_the_features() -> None:
    model = span_model()
    assert model is not None and set(model) == {"who", "where", "when", "how many"}
    assert all(len(m.coef) == len(SPAN_FEATURES) for m in model.values())


def test_gold_spans_for_training() -> None:
    from evals.train_short import is_gold

    assert is_gold("the Denver Broncos", ["Denver Broncos"])
    assert is_gold("Broncos", ["Denver Broncos"])  # at least half of the gold
    assert not is_gold("Denver", ["Denver Broncos", "the Denver Broncos of the AFC"])
    assert not is_gold("", ["x"])


@pytest.mark.parametrize(("question", "sentence", "short"), [
    # A currency sign, a range and a percent sign belong to the amount.
    ("How much did Westinghouse pay for the patents?", "Westinghouse paid $216,000 for the patents.", "$216,000"),
    ("How many Africans were brought across?", "Some 12 to 15 million Africans were brought across.", "Some 12 to 15 million"),
    ("How many people did the plague kill?", "The plague killed 30–60% of Europe's population.", "30–60%"),
    ("When were the Wars of Religion fought?", "The Wars of Religion were fought from 1562 to 1598.", "1562 to 1598"),
    # A publication stamp stays no answer, and a date is no range.
    ("How many people died?", "date 2024-03-23 The attack killed 139 people.", "139"),
])
def test_amounts_and_ranges_are_read_whole(question: str, sentence: str, short: str) -> None:
    span = extract(question, sentence)
    assert span is not None and span.text == short and sentence[span.start : span.end] == short


def test_a_name_after_who_is_no_verb() -> None:
    # "Doctor" is no verb: the name before "Doctor" in a title is not who took over.
    sentence = 'Peter Capaldi took on the role after Matt Smith\'s exit in the 2013 special "The Time of the Doctor".'
    assert extract("Who took over as the Doctor after Matt Smith left?", sentence).text == "Peter Capaldi"  # type: ignore[union-attr]


@pytest.mark.parametrize("content", ["{not json", '{"features": ["rules_choice"], "kinds": {}}', '{"features": []}'])
def test_an_unusable_span_model_falls_back_to_the_rules_with_a_warning(tmp_path, monkeypatch, caplog, content) -> None:
    from qa import short_answer

    bad = tmp_path / "short-answer-lr.json"
    bad.write_text(content, encoding="utf-8")
    monkeypatch.setattr(short_answer, "SPAN_WEIGHTS", bad)
    monkeypatch.setattr(short_answer, "_MODEL", False)  # load again, from the bad file
    with caplog.at_level("WARNING", logger="qa.short_answer"):
        assert span_model() is None
        # The rules still answer: the agent before the question's verb.
        assert extract("Who claimed responsibility?", "IS-K has claimed responsibility for the attack.").text == "IS-K"  # type: ignore[union-attr]
    assert "evals.train_short" in caplog.text and str(bad) in caplog.text


@pytest.mark.parametrize(("sentence", "short"), [
    ("The four suspects were identified as nationals of Tajikistan, a country bordering Afghanistan.", "Tajikistan"),
    ("Many of the group's fighters are believed to be Tajik nationals.", "Tajik"),
    ("Two citizens of the Republic of Molvania were held.", "Republic of Molvania"),
    # Said with "from", as before.
    ("The suspects from Tajikistan were held in Moscow.", "Tajikistan"),
])
def test_where_from_reads_an_origin_said_without_from(sentence: str, short: str) -> None:
    span = extract("Where were the gunmen from?", sentence)
    assert span is not None and span.text == short
    assert sentence[span.start : span.end] == short


def test_an_origin_is_only_read_for_where_from() -> None:
    # "Where were they held?" asks for a place, and nationals of a country are not one.
    assert extract("Where were they held?", "The four suspects were identified as nationals of Tajikistan.") is None


def test_a_leading_connective_is_trimmed_off_a_name() -> None:
    span = extract("Who runs Afghanistan these days?", "Since the Taliban regained power three years ago, many groups have ceased operations.")
    assert span is not None and span.text == "Taliban"


@pytest.mark.parametrize(("question", "sentence", "short"), [
    ("How old was Temujin when he married Borte?", "Temujin married Borte when he was around 16.", "around 16"),
    ("What percentage of the forest lies in Brazil?", "The majority of the forest, 60% of it, lies in Brazil.", "60%"),
    ("What percent of untreated patients die?", "About 80 percent of untreated patients die within 8 days.", "About 80 percent"),
])
def test_ages_and_percentages_are_counts(question: str, sentence: str, short: str) -> None:
    assert question_kind(question) == "how many"
    span = extract(question, sentence)
    assert span is not None and span.text == short


@pytest.mark.parametrize(("question", "counts"), [
    ("How many boats sank?", True),
    ("How old are the suspects?", True),
    ("What percentage of the forest is in Peru?", True),
    ("How much of the forest burned?", False),  # answered in words as often as not ("over half")
    ("When did it happen? (How many people were killed?)", False),  # the carried context asks nothing
])
def test_which_questions_must_be_answered_by_a_count(question: str, counts: bool) -> None:
    assert asks_count(question) is counts


@pytest.mark.parametrize(("question", "sentence", "answers"), [
    ("How long did the siege last?", "After a protracted siege, the army withdrew.", False),
    ("How long did the journey take?", "The first to travel the river was Orellana in 1542.", False),  # when, not how long
    ("How long did the siege last?", "The siege lasted three weeks.", True),
    ("How long did Apollo run?", "Apollo ran from 1961 to 1972.", True),
    ("How long has the magazine been published?", "It has been published since 1979.", True),
])
def test_how_long_needs_a_span_of_time(question: str, sentence: str, answers: bool) -> None:
    assert asks_duration(question)
    assert holds_duration(sentence) is answers


@pytest.mark.parametrize(("question", "sentence", "answers"), [
    ("In what year did Wegener propose his theory?", "Plate tectonics gave a mechanism for Wegener's theory.", False),
    ("In what year did Harvard die?", "In 1639, the college was renamed after him.", True),
    ("Which year did the transition end?", "In the early 1970s, ABC completed its transition.", True),
    ("What year was it made?", "In the 20th century, quantum mechanics was developed.", True),
])
def test_which_year_needs_a_year(question: str, sentence: str, answers: bool) -> None:
    assert asks_year(question)
    assert holds_year(sentence) is answers


def test_only_year_and_how_long_questions_are_held_to_it() -> None:
    assert not asks_year("When did it happen?") and not asks_duration("When did it happen?")
    assert not asks_year("How long? (What year was it?)")  # the carried context asks nothing


def test_a_nationality_before_a_noun_is_no_place() -> None:
    assert extract("Where are the suspects being held?", "According to Russian officials, several suspects were captured.") is None
    # A place name that merely ends like a demonym stays a place.
    assert extract("Where did they bomb a memorial?", "They bombed a memorial in Kerman in January.").text == "Kerman"  # type: ignore[union-attr]


def test_a_word_seen_in_lower_case_before_punctuation_is_no_name() -> None:
    from qa.text_stats import with_plain

    # The corpus wrote "established." in lower case once, so "Established" opening a sentence is a word.
    vocab = with_plain(["was", "established."])
    assert "established" in vocab and "established." in vocab
    span = extract("Who founded the Northern Front?", "Established in 1990, the Northern Front is led by Dara Vasquez.", vocab)
    assert span is not None and span.text == "Dara Vasquez"


@pytest.mark.parametrize(("question", "named"), [
    ("Which band was playing that night?", True),
    ("In which Russian region were the suspects picked up?", True),
    ("What cities had Huguenot mayors?", True),
    ("Which countries border Afghanistan?", True),
    ("Which Russian official announced the arrests?", True),
    ("What ministers resigned?", True),
    ("What Catholic Church belief did Lortie criticize?", False),  # "Church" belongs to a name: no class asked
    ("Which group of ctenophores is hardest to study?", False),  # answered in common nouns ("oceanic species")
    ("Who was behind it? (Which band was playing?)", False),  # the carried context asks nothing
])
def test_which_questions_ask_for_a_named_thing(question: str, named: bool) -> None:
    assert asks_named(question) is named


def test_a_named_thing_must_be_new_to_the_question() -> None:
    question = "In which Russian region were the suspects picked up?"
    assert not names_new(question, "According to Russian officials, several suspects were captured.")
    assert names_new(question, "The suspects were detained in the Bryansk region.")
    assert names_new("Which paper ran it?", "It ran in 1990.")  # a number is news too


@pytest.mark.parametrize(("sentence", "counts"), [
    ("The plague of 1649 probably reduced the population of Seville by half.", True),
    ("None of the original treaties mention fundamental rights.", True),
    ("A single output is expected for every input.", True),
    ("It bombed the memorial, killing a large number of people.", False),  # vague: no count
    ("Multiple suspects have been captured.", False),
])
def test_a_count_can_be_a_word(sentence: str, counts: bool) -> None:
    assert holds_count("How many people died?", sentence) is counts
