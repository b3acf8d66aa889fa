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
    ],
)
def test_pointers_are_resolved(previous, follow_up, standalone):
    assert rewrite(follow_up, [previous]).question == standalone


@pytest.mark.parametrize(
    "question",
    ["What is the capital of France?", "Who is IS-K and where is it based?", "When did ISKP attack Moscow?"],
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


def test_a_number_is_never_a_referent():
    previous = turn("When was the bridge built?", "1887")
    assert "1887" not in rewrite("Who built it?", [previous]).question


def test_no_history_no_rewrite():
    assert rewrite("Where is it?", []).question == "Where is it?"


@pytest.mark.parametrize(
    ("question", "names"),
    [("Who leads the United States?", ["United States"]), ("What is ISKP's media arm?", ["ISKP"]), ("Where is Texas?", ["Texas"])],
)
def test_names_keep_their_final_s_and_lose_only_a_possessive(question, names):
    from qa.followup import names_in

    assert names_in(question) == names
