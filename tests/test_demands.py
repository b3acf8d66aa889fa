"""What a question demands beyond its words: the kind of harm it counts, the group of people it counts."""

from __future__ import annotations

import pytest

from qa.demands import asks_injured, counted_group, names_group, says_injured


@pytest.mark.parametrize(("question", "asks"), [
    ("How many people were injured?", True),
    ("How many were wounded in the attack?", True),
    ("Was anyone hurt?", True),
    ("How many people were killed?", False),
    ("What caused the injury? (How many died?)", True),  # its own words, not a carried previous question
    ("How many died? (How many were injured?)", False),
])
def test_asks_injured(question, asks):
    assert asks_injured(question) is asks


@pytest.mark.parametrize(("sentence", "says"), [
    ("Over 140 people were mowed down.", False),
    ("The blast injured 40.", True),
    ("Casualties rose to 60.", True),
    ("Twelve were hospitalised.", True),
    ("Twelve were hospitalized.", True),
])
def test_says_injured(sentence, says):
    assert says_injured(sentence) is says


@pytest.mark.parametrize(("question", "group"), [
    ("How many children died in the attack?", "children"),
    ("How many kids were among the dead?", "kids"),
    ("How many Women were elected?", "women"),
    ("How many people died in the attack?", None),
    ("How many boats sank?", None),
    ("Who killed the children?", None),  # not a count
])
def test_counted_group(question, group):
    assert counted_group(question) == group


@pytest.mark.parametrize(("group", "sentence", "named"), [
    ("children", "A child was among the dead.", True),
    ("children", "Three children died.", True),
    ("men", "A man was arrested.", True),
    ("kids", "Over 140 people were killed.", False),
    ("women", "The women's team won.", True),
])
def test_names_group(group, sentence, named):
    assert names_group(group, sentence) is named
