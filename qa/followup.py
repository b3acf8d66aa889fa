"""Rewrite a follow-up question into a standalone one, using the conversation so far (no LLM).

Rules, tried in order:

1. "What about the second source?": the previous question again, restricted to the
   document of the previous answer's second citation.
2. "What about X?" / "And X?": the previous question with its subject replaced by X.
3. A demonstrative ("that group", "this organization") or a pronoun is replaced by its
   referent: for he/she/him/his/her, the person the previous question asked about or
   named; for it/its, the answer to a previous "which group..." question or the entity
   the previous question named; for they/them/their after "how many <noun>", the noun.
   "It" in a question about an event ("when did it happen?", "who was behind it?") is the
   event the previous question spoke of ("the Crocus shooting", "what happened at X"), not
   an entity; "they/them" is the plural noun phrase of the previous question ("the
   gunmen"). An abstained answer keeps its question's subject as a referent.
4. Any other question that points back ("it", "there", a leading "and", or four words or
   fewer: "Against whom?") gets the previous standalone question appended as context; a
   previous question that short passes its own context on too. An existential "there"
   ("Were there any arrests?", "Is there proof?") points nowhere.

A topic switch ("Switching topics: ...", "Unrelated, but ...") starts a new chain: the
marker is dropped and the question is searched as asked.

A question that names its own subject, or has no pointer back, is searched as asked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .models import Answer
from .question import with_context
from .short_answer import question_kind

_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3, "last": -1, "other": 1}
_SOURCE_REF = re.compile(r"\b(first|1st|second|2nd|third|3rd|fourth|4th|last|other)\s+(?:source|article|document|report|citation|quote)\b", re.IGNORECASE)
_WHAT_ABOUT = re.compile(r"^(?:[Aa]nd\s+)?(?:[Ww]hat|[Hh]ow)\s+about\s+(.+?)\??$|^[Aa]nd\s+((?:the\s+)?[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*)\??$")
_DEMONSTRATIVE = re.compile(
    r"\b(?:that|this|these|those|the\s+same)\s+(group|organi[sz]ation|outfit|faction|militants?|country|city|place|man|woman|person|leader)\b",
    re.IGNORECASE,
)
_PERSONAL = re.compile(r"\b(he|him|his|she|her)\b", re.IGNORECASE)
_NEUTER = re.compile(r"\b(it|its)\b", re.IGNORECASE)
_PLURAL = re.compile(r"\b(they|them|their)\b", re.IGNORECASE)
_THERE = re.compile(r"\bthere\b", re.IGNORECASE)
#: "there" that points nowhere: "Were there any arrests?", "Is there proof?", "There were 12 boats?"
_EXISTENTIAL_THERE = re.compile(
    r"^(?:(?:and|so|but)\s+)?(?:is|are|was|were|has|have|had|will|would|could|can|might|did|does|do)\s+there\b|"
    r"\bthere\s+(?:is|are|was|were|has|have|had|will|would|could|can|might|seems?|appears?|remains?|exists?)\b",
    re.IGNORECASE,
)
_LEADING = re.compile(r"^(?:and|so|also|but|then)\s+", re.IGNORECASE)
_NAME = re.compile(r"\b(?:[A-Z][\w’'-]*[A-Za-z0-9]|al-[A-Z][\w-]*)(?:\s+(?:al-)?[A-Z][\w’'-]*[A-Za-z0-9])*")
_GROUP_QUESTION = re.compile(r"^(?:which|what)\s+(?:group|organi[sz]ation|outfit|faction|country|city|newspaper|company)\b", re.IGNORECASE)
# "Who is Abu Miskin?" (a name), not "Who was the founder?" (a role, answered by a name).
_WHO_IS = re.compile(r"^[Ww]ho\s+(?:is|was)\s+((?:[A-Z]|al-)[\w’'-]*(?:\s+(?:[A-Z]|al-)[\w’'-]*){0,3})\??$")
_EVENT_NOUNS = (
    "attack|attacks|shooting|bombing|bombings|massacre|assault|raid|siege|explosion|blast|incident|strike|hijacking|"
    "kidnapping|fire|crash|war|battle|invasion|coup|election|earthquake|flood|storm|outbreak|protest|riot|ceremony|"
    "concert|event|events|plot|operation|withdrawal|pullout|collapse|accident|disaster|collision|derailment|eruption|"
    "spill|leak|blackout|outage|shutdown|trial"
)
# "the Crocus shooting", "the attack in Moscow", "the 2024 Moscow concert-hall attack"
_EVENT_PHRASE = re.compile(
    rf"\b(?:the|this|that)\s+(?:[\w’'-]+\s+){{0,3}}?(?:{_EVENT_NOUNS})\b(?:\s+(?:in|at|on|near|against)\s+(?:the\s+)?[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*)?",
    re.IGNORECASE,
)
_WHAT_HAPPENED = re.compile(r"^what\s+(?:happened|took place|went on)\s+((?:at|in|on|near)\s+.+?)\??$", re.IGNORECASE)
# Verbs and frames that make "it" an event: "when did it happen", "who was behind it", "who carried it out".
_EVENT_IT = re.compile(
    r"\b(?:it|its)\b.*\b(?:happen|happened|occur|occurred|take place|took place|start|started|end|ended|carried out)\b|"
    r"\b(?:behind|responsible for|blamed? for|claimed?|carr(?:y|ied) out|plann(?:ed|ing)|condemn(?:ed)?|react(?:ed)? to|after|before|during|since|over|about)\s+(?:it|that)\b|"
    r"^(?:when|where)\s+(?:was|is)\s+it\b",
    re.IGNORECASE,
)
_PLURAL_NOUN = re.compile(
    r"\bthe\s+((?:[\w-]+\s+)?(?:gunmen|men|women|people|children|police|attackers|suspects|militants|fighters|victims|"
    r"assailants|perpetrators|terrorists|officials|authorities|leaders|members|soldiers|troops|prisoners|inmates|"
    r"[A-Z][a-z]+(?:ans|ese|ians|is)))\b"
)
_TOPIC_SWITCH = re.compile(
    r"^\s*(?:(?:switching|changing|new|different|another)\s+(?:the\s+)?(?:topics?|subjects?|question)|on\s+(?:another|a\s+different)\s+(?:note|topic|subject)|"
    r"unrelated(?:ly)?(?:,?\s+but)?|by\s+the\s+way|anyway)\s*[:,;.-]*\s*",
    re.IGNORECASE,
)
_HOW_MANY = re.compile(r"\bhow\s+many\s+([a-z]+)", re.IGNORECASE)
_POSSESSIVE = re.compile(r"(?:’|')s$")
_QUESTION_WORDS = {
    "Who", "Whom", "Whose", "What", "When", "Where", "Which", "Why", "How", "And", "Upon", "Despite", "Is", "Was", "Did", "Does", "Do", "The", "In", "On",
    "Since", "So", "But", "Also", "Then", "After", "Before", "During", "Has", "Have", "Had", "Are", "Were", "Can", "Could",
    "Would", "Should", "Will", "If", "Any", "Apart", "Besides", "Other", "Tell", "Give", "Name", "List",
    # Prepositions opening an elliptical follow-up ("Against whom?", "From where?"): no names.
    "Against", "From", "With", "For", "By", "At", "To", "Of", "About", "Into", "Through", "Under", "Over", "Unlike", "Like",
}


@dataclass(frozen=True)
class Rewrite:
    """The standalone question, and the documents to restrict the search to (None: all)."""

    question: str
    files: tuple[str, ...] | None = None


#: A name followed by the acronym it defines.
_DEFINED_ACRONYM = re.compile(r".+\s\(([A-Z][\w-]*)\)")


def names_in(question: str) -> list[str]:
    """Capitalised names in a question (question words and a sentence-initial article excluded)."""
    out = []
    for m in _NAME.finditer(question):
        words = m.group(0).rstrip("?").split()
        while words and _POSSESSIVE.sub("", words[0]) in _QUESTION_WORDS:
            words = words[1:]  # "What's", "Where's": a question word, contracted
        # A possessive ends a name: "ISKP's PR operation" names ISKP (and PR), not "ISKP's PR".
        name: list[str] = []
        for w in words:
            name.append(_POSSESSIVE.sub("", w))  # "ISKP's" -> "ISKP"; "Texas" stays
            if _POSSESSIVE.search(w):
                out.append(" ".join(name))
                name = []
        if name:
            out.append(" ".join(name))
    return out


def _substitute(question: str, match: re.Match[str], referent: str, possessive: bool) -> str:
    return question[: match.start()] + (f"{referent}'s" if possessive else referent) + question[match.end() :]


def _event(prev: str) -> str | None:
    """The event the previous question spoke of: "the Crocus shooting", or "what happened at X"."""
    happened = _WHAT_HAPPENED.match(prev.strip())
    if happened:
        return f"the events {happened.group(1)}"
    m = _EVENT_PHRASE.search(prev)
    return m.group(0) if m else None


def _plural_noun(prev: str) -> str | None:
    """A plural noun phrase of the previous question ("the gunmen", "the Americans")."""
    m = _PLURAL_NOUN.search(prev)
    return f"the {m.group(1)}" if m else None


def _referents(last: Answer) -> tuple[str | None, str | None, str | None]:
    """(person, thing, plural noun) the previous turn makes available."""
    prev = last.standalone_question
    short = last.short_answer if last.short_answer and not last.short_answer_is_summary and not last.abstained else None
    if short is not None and not short[:1].isupper():
        short = None  # a number or a date is no referent for "it" or "he"
    if short is not None and (defined := _DEFINED_ACRONYM.fullmatch(short)):
        short = defined.group(1)  # "Islamic State Khorasan Province (ISKP)": the text goes on to say "ISKP"
    named = names_in(prev)
    who_is = _WHO_IS.match(prev)
    kind = question_kind(prev)
    person: str | None
    if who_is:
        person = who_is.group(1)
    elif kind == "who" and not _GROUP_QUESTION.match(prev):
        person = short
    else:
        person = named[0] if named else None
    thing: str | None
    if _GROUP_QUESTION.match(prev) and short:
        thing = short
    elif named and (short or kind is not None):
        thing = named[0]
    else:
        # After "what ..." with no short answer, the referent is a description, not a name:
        # fall back to carrying the previous question as context.
        thing = short
    how_many = _HOW_MANY.search(prev)
    # A name is a plural referent only as the answer to "which group ..." ("they" = the group), not as
    # a word of the previous question ("Who got picked up after the Crocus shooting?" -> "them" is no "Crocus").
    plural = f"the {how_many.group(1)}" if how_many else (_plural_noun(prev) or (thing if thing == short else None))
    return person, thing, plural


def rewrite(question: str, history: Sequence[Answer]) -> Rewrite:
    """The standalone form of ``question`` given earlier answers (oldest first)."""
    if not history:
        return Rewrite(question)
    switched = _TOPIC_SWITCH.match(question)
    if switched and switched.end() < len(question):
        rest = question[switched.end() :]
        return Rewrite(rest[:1].upper() + rest[1:])
    last = history[-1]
    prev = last.standalone_question

    source = _SOURCE_REF.search(question)
    if source and last.citations:
        files = list(dict.fromkeys(c.file for c in last.citations))
        idx = _ORDINALS[source.group(1).lower()]
        if -len(files) <= idx < len(files):
            return Rewrite(prev, (files[idx],))

    about = _WHAT_ABOUT.match(question.strip())
    if about:
        subject = (about.group(1) or about.group(2)).strip()
        person, thing, _ = _referents(last)
        old = thing or person
        if old and old in prev:
            return Rewrite(prev.replace(old, subject, 1))
        return Rewrite(f"{prev.rstrip('?')} {subject}?")

    own_names = names_in(question)
    body = _LEADING.sub("", question)
    body = body[:1].upper() + body[1:]
    person, thing, plural = _referents(last)

    pointer = False
    event = _event(prev)
    it = _NEUTER.search(body)
    # "It" is the event when the question treats it as one, or when the entity the previous question named
    # is only part of the event's name ("the Kerman bombing": "it" is the bombing, not Kerman).
    explicit = bool(_EVENT_IT.search(body))
    part_of_event = thing is not None and event is not None and thing in event
    if event and it and (explicit or (part_of_event and not (own_names and own_names[0] in body[: it.start()]))):
        return Rewrite(_substitute(body, it, event, it.group(1).lower() == "its"))
    demo = _DEMONSTRATIVE.search(body)
    if demo:
        pointer = True
        referent = person if demo.group(1).lower() in {"man", "woman", "person", "leader"} else thing
        if referent:
            return Rewrite(_substitute(body, demo, referent, False))

    for pattern, referent in ((_PERSONAL, person), (_NEUTER, thing), (_PLURAL, plural)):
        m = pattern.search(body)
        if m is None:
            continue
        pointer = True
        if own_names and own_names[0] in body[: m.start()]:
            return Rewrite(question)  # "Who is IS-K and where is it based?": the antecedent is here
        if referent:
            word = m.group(1).lower()
            # "her" is possessive before a noun ("her trade"), an object otherwise ("arrested her").
            possessive = word in {"its", "his", "their"} or (word == "her" and bool(re.match(r"\s+[a-z]", body[m.end() :])))
            return Rewrite(_substitute(body, m, referent, possessive))

    placed = _EXISTENTIAL_THERE.sub("", body)  # the question without a "there" that points nowhere
    existential = placed != body  # "Were there any arrests?" is whole, however short
    if pointer or _THERE.search(placed) or _LEADING.match(question) or (not existential and not own_names and len(body.split()) <= 4):
        return Rewrite(with_context(body, prev))
    return Rewrite(question)
