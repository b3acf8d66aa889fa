"""A why-not question is answered only by a quote that says not (qa.polarity), through the engine too."""

from __future__ import annotations

import pytest

from qa.polarity import asks_why_not, negated

from .conftest import engine_over


@pytest.mark.parametrize(("question", "why_not"), [
    ("Why doesn't UNEP contribute money to the fund?", True),
    ("Why didn’t the ferry sail?", True),  # typographic apostrophe
    ("Why did the Taliban fail to topple the government?", True),
    ("Why has the college never been coeducational?", True),
    ("And why did they refuse to pay?", True),
    ("Why did the ferry sail?", False),
    ("Which cities were not destroyed?", False),  # not a why-question: answered in positive words as often as not
    ("Why did it happen? (Why didn't the police come?)", False),  # the carried context asks nothing
    ("Why is the notation unusual?", False),  # "not" inside a word
])
def test_which_questions_ask_why_not(question: str, why_not: bool) -> None:
    assert asks_why_not(question) is why_not


@pytest.mark.parametrize(("sentence", "says_not"), [
    ("The ferry did not sail because of the storm.", True),
    ("The ferry couldn't sail.", True),
    ("The council failed to agree on a budget.", True),
    ("The fund was established by UNEP and the WMO.", False),
    ("Nothing is known about the nobleman.", False),  # "no" inside a word
])
def test_negative_words(sentence: str, says_not: bool) -> None:
    assert negated(sentence) is says_not


def test_why_not_is_answered_only_by_a_quote_that_says_not(tmp_path, settings):
    engine = engine_over(tmp_path / "corpus", settings, {
        "harbor.txt": "Harbor report\n"
        "The museum opened its winter exhibition in 1990.\n"
        "The ferry did not sail in March because the harbor froze.\n",
    })
    # The only close sentence says the museum did open: it states the premise's opposite.
    premise = engine.answer("Why didn't the museum open its winter exhibition?")
    assert premise.abstained and premise.citations == []
    said = engine.answer("Why didn't the ferry sail in March?")
    assert not said.abstained
    assert said.citations[0].location == "harbor.txt:3"
