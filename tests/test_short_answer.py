"""The short answer of a who-question is who did it: not a nationality adjective modifying a noun, nor a month
(qa.short_answer.extract; the other kinds are covered through the engine in test_answer.py)."""

from __future__ import annotations

import pytest

from qa.short_answer import extract

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
