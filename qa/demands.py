"""What a question demands of its answer that close wording does not give: the kind of harm it counts, the group
of people it counts.

"How many people were injured?" is not answered by "Over 140 people were mowed down", and "How many children died?"
is not answered by a death toll of people in general, however many words they share. ``qa.engine`` abstains when the
best quotes do not meet these demands (with the checks of ``qa.short_answer`` and ``qa.polarity``).

Measured before adding (training SQuAD questions and the dev halves, the best three ranked sentences): every SQuAD
training question these fire on was answered from a quote that meets the demand (6 injury questions, 5 subgroup
counts), and they fire on three unanswerable dev turns.
"""

from __future__ import annotations

import re

from .question import own_words
from .text import stem, words

_INJURY_ASKED = re.compile(r"\b(?:injur\w*|wound\w*|hurt)\b", re.IGNORECASE)
_INJURY_SAID = re.compile(r"\b(?:injur\w*|wound\w*|hurt|casualt\w*|maim\w*|hospitali[sz]\w*)\b", re.IGNORECASE)

_IRREGULAR = {"children": "child", "men": "man", "women": "woman", "policemen": "policeman"}


def _base(word: str) -> str:
    w = word.lower().replace("\u2019", "'").removesuffix("'s")
    return stem(_IRREGULAR.get(w, w))


#: Groups of people that a count of people in general does not count.
_SUBGROUPS = frozenset(
    _base(w)
    for w in (
        "child children kid kids woman women man men girl girls boy boys baby babies infant infants teenager teenagers "
        "minor minors student students pupil pupils tourist tourists foreigner foreigners journalist journalists "
        "firefighter firefighters civilian civilians policeman policemen"
    ).split()
)
_HOW_MANY = re.compile(r"\bhow many\s+([\w-]+)", re.IGNORECASE)


def asks_injured(question: str) -> bool:
    """Whether the question is about people hurt ("injured", "wounded", "hurt"), not killed."""
    return _INJURY_ASKED.search(own_words(question)) is not None


def says_injured(sentence: str) -> bool:
    """Whether ``sentence`` speaks of injuries at all ("injured", "wounded", "casualties", "hospitalised")."""
    return _INJURY_SAID.search(sentence) is not None


def counted_group(question: str) -> str | None:
    """The group of people a count question counts ("How many children ..." -> "children"), or None when it counts
    something else or people in general."""
    m = _HOW_MANY.search(own_words(question))
    return m.group(1).lower() if m and _base(m.group(1)) in _SUBGROUPS else None


def names_group(group: str, sentence: str) -> bool:
    """Whether ``sentence`` names the group (any form of the word: "child" for "children")."""
    return _base(group) in {_base(w) for w in words(sentence)}
