"""Rewrite a follow-up question into a standalone one, using the conversation so far (no LLM).

A follow-up that refers back ("that group", "it", "they") gets the referent substituted:
the previous answer's short answer when it has one (an entity), else the previous
question's subject words are appended. A question that stands on its own is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .models import Answer

_DEMONSTRATIVE = re.compile(
    r"\b(?:that|this|the|these|those)\s+(?:group|organi[sz]ation|outfit|faction|attack|event|incident|place|country|city|man|woman|person|people|source|article|document)\b",
    re.IGNORECASE,
)
_PRONOUN = re.compile(r"\b(?:it|its|they|them|their|he|him|his|she|her|there)\b", re.IGNORECASE)
_ELLIPTIC = re.compile(r"^(?:and|what about|how about|also|so)\b", re.IGNORECASE)


def needs_context(question: str) -> bool:
    """True when the question points back at earlier turns."""
    return bool(_DEMONSTRATIVE.search(question) or _PRONOUN.search(question) or _ELLIPTIC.match(question))


def rewrite(question: str, history: Sequence[Answer]) -> str:
    """The standalone form of ``question`` given earlier answers (oldest first)."""
    if not history or not needs_context(question):
        return question
    last = history[-1]
    referent = last.short_answer
    if referent and not last.abstained:
        m = _DEMONSTRATIVE.search(question)
        if m and m.group(0).split()[-1].lower() in {"group", "organization", "organisation", "outfit", "faction", "person", "man", "woman"}:
            return question[: m.start()] + referent + question[m.end() :]
        pronoun = re.search(r"\b(?:it|they|he|she|them|him|her)\b", question, re.IGNORECASE)
        if pronoun:
            return question[: pronoun.start()] + referent + question[pronoun.end() :]
        possessive = re.search(r"\b(?:its|their|his)\b", question, re.IGNORECASE)
        if possessive:
            return question[: possessive.start()] + referent + "'s" + question[possessive.end() :]
    return f"{question} ({last.standalone_question})"
