"""The question as asked: validated and normalised before it is searched, and a follow-up's carried context."""

from __future__ import annotations

import re
import unicodedata

from index import QuestionError

#: The previous question a follow-up carries as context: "When did it happen? (How many people were killed?)".
_CONTEXT = re.compile(r"\s*\(.*\)\s*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean_question(question: object, max_chars: int) -> str:
    """The question with control characters removed and whitespace collapsed; QuestionError if unusable."""
    if not isinstance(question, str):
        raise QuestionError(f"the question must be text, not {type(question).__name__}")
    if len(question) > max_chars:
        raise QuestionError(
            f"the question is {len(question)} characters long, over the limit of {max_chars}; "
            "shorten it (or raise DOCQA_MAX_QUESTION_CHARS)"
        )
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", question))
    text = " ".join(text.split())
    if not text:
        raise QuestionError("the question is empty; type a question, e.g. \"Who claimed responsibility for the attack?\"")
    if not any(ch.isalnum() for ch in text):
        raise QuestionError(f"the question {text!r} has no words; ask a question in words")
    return text


#: A previous question of at most this many words ("Where?", "Against whom?") is elliptical: it keeps its own context.
ELLIPTICAL_WORDS = 3


def with_context(question: str, previous: str) -> str:
    """``question`` carrying the previous question as context for retrieval (one level: never nested).

    An elliptical previous question ("Where? (When did ISIS-K get started?)") passes its own context on
    with it, so a chain of short follow-ups keeps the subject: "What are they after? (Where? When did
    ISIS-K get started?)".
    """
    own = own_words(previous)
    context = _CONTEXT.search(previous)
    if context and len(own.split()) <= ELLIPTICAL_WORDS:
        own = f"{own} {context.group(0).strip()[1:-1].strip()}"
    return f"{question.rstrip('?')}? ({own})"


def own_words(question: str) -> str:
    """What ``question`` itself asks, without the context ``with_context`` appended to it."""
    return _CONTEXT.sub("", question)
