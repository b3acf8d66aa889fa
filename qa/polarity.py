"""Negation: a "why not" question is answered only by a quote that says the thing did not happen.

"Why doesn't UNEP contribute money to the IPCC Trust Fund?" shares every word with "The IPCC receives funding
through the IPCC Trust Fund, established in 1989 by the United Nations Environment Programme (UNEP) ...", which says
the opposite of the question's premise. A quote without any negative word ("not", "never", "failed", "unable", ...)
cannot explain why something did not happen, so the engine abstains (``QAEngine.answer_with_evidence``).

Only why-questions are held to it. Other negated questions ("Which cities were not destroyed?") are often answered
in positive words ("... destroyed all the cities with the exception of Novgorod"): on the training SQuAD articles,
18 of 53 such questions answered on the gold sentence had no negative word in it, against 1 of 7 why-questions.
"""

from __future__ import annotations

import re

from .question import own_words

#: Negative and failure words, in questions and in quotes ("n't" also glued: "doesn't", "didn’t").
_NEGATIVE = re.compile(
    r"\b(?:not|never|no|none|nor|neither|cannot|without|unable|lack(?:s|ed|ing)?|fail(?:s|ed|ing|ure)?|"
    r"refus(?:e|es|ed|ing|al)|reject(?:s|ed|ing)?|den(?:y|ies|ied|ial)|absent|instead|rather|except)\b|n['’]t\b",
    re.IGNORECASE,
)
_WHY = re.compile(r"^\W*(?:(?:and|so|but)\s+)?why\b", re.IGNORECASE)


def negated(text: str) -> bool:
    """Whether ``text`` holds a negative or failure word."""
    return _NEGATIVE.search(text) is not None


def asks_why_not(question: str) -> bool:
    """Whether the question asks why something did not happen ("Why doesn't ...?", "Why did X fail to ...?")."""
    own = own_words(question)
    return _WHY.search(own) is not None and negated(own)
