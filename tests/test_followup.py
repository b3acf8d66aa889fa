"""The follow-up rewriter, spec by spec (no model: earlier turns are hand-made Answers)."""

from __future__ import annotations

import pytest

from qa import Answer, Citation, rewrite


def turn(question: str, short: str | None = None, files: tuple[str, ...] = (), summary: bool = False) -> Answer:
    return Answer(
        question=question, standalone_question=question, text="...", short_answer=short, short_answer_is_summary=summary,
        citations=[Citation(file=f, line=1, quote="q", start=0, end=1, score=1.0) for f in files],
        abstained=False, evidence_score=0.9, threshold=0.41, corpus="/c",
    )


@pytest.mark.parametrize(
    ("previous", "follow_up", "standalone"),
    [
        (turn("Who claimed responsibility for the attack?", "IS-K"), "Where is that group based?", "Where is IS-K based?"),
        (turn("Where is IS-K based?", "Afghanistan"), "And when was it founded?", "When was IS-K founded?"),
        (turn("When was IS-K founded?", "2015"), "Who leads it?", "Who leads IS-K?"),
        (turn("Who leads ISKP?", "Shahab al-Muhajir"), "What is its media arm called?", "What is ISKP's media arm called?"),
        (turn("Who is Abu Miskin?"), "Who arrested him?", "Who arrested Abu Miskin?"),
        (turn("Who was the founder of the museum?", "Maria Lopez"), "What was her trade?", "What was Maria Lopez's trade?"),
        (turn("How many suspects were charged?", "four"), "What nationality were they?", "What nationality were the suspects?"),
        (turn("How many suspects were arrested?", "four"), "How many of them were charged?", "How many of the suspects were charged?"),
        (turn("Which country raised its threat level?", "France"), "How many attacks did it thwart?", "How many attacks did France thwart?"),
        (turn("Who leads ISKP?", "Shahab al-Muhajir"), "What about IS-K?", "Who leads IS-K?"),
        # A name given with the acronym it defines is referred to by the acronym, as the text goes on to do.
        (turn("Which group carried out the attack?", "Islamic State Khorasan Province (ISKP)"), "Who leads it?", "Who leads ISKP?"),
        (turn("What's the name of ISKP's PR operation?"), "Who is it trying to reach?", "Who is ISKP trying to reach?"),
        # A question opening with a preposition names nothing: it is elliptical and carries the previous question.
        (turn("Did Russians go fight in Syria?"), "Against whom?", "Against whom? (Did Russians go fight in Syria?)"),
    ],
)
def test_pointers_are_resolved(previous, follow_up, standalone):
    assert rewrite(follow_up, [previous]).question == standalone


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?", "Who is IS-K and where is it based?", "When did ISKP attack Moscow?",
        # An existential "there" points nowhere.
        "Were there any arrests?", "Is there proof the Afghan branch did it?", "Was there a warning?",
    ],
)
def test_a_question_that_stands_alone_is_searched_as_asked(question):
    previous = turn("Who claimed responsibility for the attack?", "IS-K")
    assert rewrite(question, [previous]).question == question


def test_second_source_restricts_the_previous_question_to_that_document():
    previous = turn("How many people died?", "139 / over 140", files=("004.txt", "000.txt", "002.txt"), summary=True)
    result = rewrite("What about the second source?", [previous])
    assert (result.question, result.files) == ("How many people died?", ("000.txt",))


def test_pointer_without_a_usable_referent_carries_the_previous_question():
    previous = turn("What plot did officials say they thwarted?")
    assert rewrite("Which city was it in?", [previous]).question == "Which city was it in? (What plot did officials say they thwarted?)"


def test_a_chain_of_short_follow_ups_keeps_the_first_subject():
    # "Where?" was searched with its context; the next follow-up carries both, never a bare "Where?".
    previous = turn("Where? (How did the gunmen get into the hall?)")
    assert rewrite("And what happened next?", [previous]).question == (
        "What happened next? (Where? How did the gunmen get into the hall?)"
    )
    # A longer previous question is carried alone, without the context it carried (one level, never nested).
    previous = turn("Which city was it in? (What plot did officials say they thwarted?)")
    assert rewrite("And when?", [previous]).question == "When? (Which city was it in?)"


def test_a_number_is_never_a_referent():
    previous = turn("When was the bridge built?", "1887")
    assert "1887" not in rewrite("Who built it?", [previous]).question


def test_no_history_no_rewrite():
    assert rewrite("Where is it?", []).question == "Where is it?"


@pytest.mark.parametrize(
    ("question", "names"),
    [("Who leads the United States?", ["United States"]), ("What is ISKP's media arm?", ["ISKP"]), ("Where is Texas?", ["Texas"]),
     # A contracted question word is no name, and a possessive ends one.
     ("What's the name of ISKP's PR operation?", ["ISKP", "PR"]), ("Where's Crocus City Hall?", ["Crocus City Hall"]),
     ("Who's the leader of ISKP?", ["ISKP"]), ("How's ISKP funded?", ["ISKP"]),
     ("Whose memorial service did IS-K bomb in Kerman?", ["IS-K", "Kerman"]), ("Whom did Genghis Khan name?", ["Genghis Khan"])],
)
def test_names_keep_their_final_s_and_lose_only_a_possessive(question, names):
    from qa.followup import names_in

    assert names_in(question) == names


def abstained(question: str) -> Answer:
    a = turn(question)
    return a.model_copy(update={"abstained": True, "text": "The documents don't say.", "citations": []})


@pytest.mark.parametrize(
    ("previous", "follow_up", "standalone"),
    [
        # "it" in a question about an event is the event, not an entity the previous question named
        (turn("What happened at the Harbor Museum?"), "Who was behind it?", "Who was behind the events at the Harbor Museum?"),
        (turn("What happened at the Harbor Museum?"), "When did it happen?", "When did the events at the Harbor Museum happen?"),
        (turn("Who was hurt in the Calder bridge collapse?"), "Why did it happen?", "Why did the Calder bridge collapse happen?"),
        (turn("Did anyone foresee the Wren river flood?"), "Why is the mayor blamed over it?", "Why is the mayor blamed over the Wren river flood?"),
        # ... also when the named entity is only part of the event's name
        (abstained("How many people died in the Calder bombing?"), "Who was it aimed at?", "Who was the Calder bombing aimed at?"),
        # "they" is the plural noun phrase of the previous question, also after an abstention
        (abstained("What are the names of the gunmen?"), "Where are they from?", "Where are the gunmen from?"),
        (turn("Had the Americans warned Russia?"), "Since when had they known?", "Since when had the Americans known?"),
        # an entity still wins when the question is not about an event
        (turn("Which country raised its threat level?", "France"), "How many plots did it foil?", "How many plots did France foil?"),
    ],
)
def test_events_and_plural_referents(previous, follow_up, standalone):
    assert rewrite(follow_up, [previous]).question == standalone


def test_a_name_in_the_previous_question_is_no_plural_referent():
    previous = turn("Who got picked up by police after the Crocus shooting?")
    assert "of Crocus" not in rewrite("How many of them appeared in court?", [previous]).question


@pytest.mark.parametrize("marker", ["Switching topics: ", "Changing the subject, ", "Unrelated, but ", "On another note: "])
def test_a_topic_switch_starts_a_new_chain(marker):
    previous = turn("Who claimed responsibility for the attack?", "IS-K")
    assert rewrite(f"{marker}had the Americans warned Russia?", [previous]).question == "Had the Americans warned Russia?"


def test_carried_context_is_one_level_deep_never_nested():
    first = turn("What did the Taliban pledge?")
    second = turn(rewrite("And what did it say afterwards?", [first]).question)
    assert second.standalone_question == "What did it say afterwards? (What did the Taliban pledge?)"
    third = rewrite("And then?", [first, second]).question
    assert third == "Then? (What did it say afterwards?)"


@pytest.mark.parametrize("follow_up", ["What happened there?", "Were there any arrests there?", "Who was there?"])
def test_a_there_that_names_a_place_carries_the_previous_question(follow_up):
    previous = turn("Where is IS-K based?", "Afghanistan")
    assert rewrite(follow_up, [previous]).question == f"{follow_up} (Where is IS-K based?)"
