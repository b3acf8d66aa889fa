"""Extract the direct answer (who / where / when / how many / the name of a thing) as a verbatim span of a quote.

The question word picks the kind of span (a name, a place, a date, a number); candidates are
found with patterns. The hand rules pick the one nearest to the question's own words (for
"who <verb>", the name right before the verb); a small learned span model
(``qa/weights/short-answer-lr.json``, ``python -m evals.train_short``) picks among the
candidates with that choice as one of its features. Without the weights file, the rules pick.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .question import own_words
from .text import STOPWORDS, stem, words

logger = logging.getLogger(__name__)

_NAME_WORD = r"(?:[A-Z][\w’'.-]*[\w]|[A-Z]|al-[A-Z][\w-]*)"
_NAME = re.compile(rf"{_NAME_WORD}(?:\s+(?:(?:of|the|de|al|bin|von|van|and)\s+)?{_NAME_WORD})*(?:\s+\((?:[A-Z][\w-]*)\))?")
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
_DAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_DATE = re.compile(
    rf"\b(?:(?:on|in|since|by|during|until)\s+)?(?:"
    rf"{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}(?:\s+\d{{4}})?"
    rf"|{_DAY}(?:\s+(?:night|morning|evening|afternoon))?"
    rf"|\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|\d{{4}}\s*(?:to|–)\s*\d{{4}}"
    rf"|(?:the\s+)?(?:(?:early|mid|late)[- ])?\d{{4}}s?"
    rf"|(?:last|next|this)\s+(?:year|month|week)"
    rf"|\w+\s+(?:years?|months?|weeks?|days?)\s+ago"
    rf")\b"
)
_NUMBER_WORDS = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen twenty thirty forty fifty hundred hundreds thousand thousands dozens dozen million millions billion"
_NUMBER = re.compile(
    r"(?:\b(?:over|more than|at least|nearly|about|around|some|up to|fewer than|less than|almost|approximately|roughly|exactly|only)\s+)?"
    # A currency sign belongs to the amount ("$216,000"); a range is one answer ("12 to 15 million", "30–60%").
    rf"(?:[$£€]?\b\d[\d,.]*(?:\s*(?:to|–)\s*[$£€]?\d[\d,.]*)?(?:\s+(?:million|billion|thousand|hundred))?|\b(?:{'|'.join(_NUMBER_WORDS.split())})(?:\s+of)?)"
    r"(?:\s*%|\s*(?:percent|per cent)\b|\b)",
    re.IGNORECASE,
)
#: A nationality adjective ("American", "Russian", "Pakistani", "Chinese", "Turkish") ...
_DEMONYM = re.compile(r"[A-Z][a-z]+(?:an|ean|ian|ese|ish|i)$")
#: ... used before a lower-case word ("American officials", "Russian authorities") modifies it: not who did it.
_MODIFIES = re.compile(r"\s+[a-z]")
#: "the Afghanistan-based group": a place, though no preposition leads it.
_BASED = re.compile(r"\b((?:[A-Z][\w’'.]*\s+)*[A-Z][\w’'.]*)-based\b")
#: Where someone is from, said without "from": "nationals of Tajikistan", "Tajik nationals".
_ORIGIN_OF = re.compile(rf"\b(?:nationals?|citizens?|natives?) of (?:the )?({_NAME.pattern})")
_ORIGIN_ADJ = re.compile(rf"({_NAME_WORD}(?:\s+{_NAME_WORD})*)\s+(?:nationals|citizens|natives|immigrants|migrants)\b")
_IN_PLACE = re.compile(r"\b(?:in|at|near|inside|outside|across|throughout|within)\s+(?:the\s+)?$", re.IGNORECASE)
_PLACE_PREP = re.compile(r"\b(?:in|at|near|from|out of|outside|inside|across|based in|to)\s+(?:the\s+)?$", re.IGNORECASE)


#: The acronym a name defines, after it: "Islamic State Khorasan Province (ISKP)".
_ACRONYM_AFTER = re.compile(r"\s+\([A-Z][\w-]*\)$")
#: A sentence that names its agent only by reference ("revealing the group's ambitions"): who it is is named in an
#: earlier sentence. Pronouns are left out: on SQuAD training articles "he" led to the wrong name as often as not.
_REFERS_BACK = re.compile(
    r"\b(?:the|this|that|these|those)\s+(?:group|organi[sz]ation|militants?|faction|outfit|movement|network|company|"
    r"firm|team|band|party|man|woman|men|women|person)\b",
    re.IGNORECASE,
)


def refers_back(sentence: str) -> bool:
    """Whether ``sentence`` refers to someone as "the group" or "the man" instead of naming them."""
    return _REFERS_BACK.search(sentence) is not None


@dataclass(frozen=True)
class Span:
    """A candidate answer: [start, end) offsets within the sentence."""

    start: int
    end: int
    text: str


#: "What was the name of the concert hall that was attacked?": the kind of thing named (its head noun), whose name
#: usually ends with that noun ("Crocus City Hall", "Levi's Stadium").
_NAME_OF = re.compile(
    r"\bname of (?:the |a |an |this |that |its |his |her |their )?(?:[\w’'-]+\s+){0,3}?([a-z]{3,})"
    r"(?=\s+(?:that|which|who|whom|where|when|in|at|of|on|for|from|by|near|during|over|under|between|across|with|into|through|along|used|built|known|called|named|was|is|were|did|does|had|has)\b|\s*[?,.]|\s*$)"
)
#: Heads that name a person: the answer is someone, asked as "who".
_PERSON_HEADS = frozenset(
    "person man woman men women leader founder author writer king queen ruler president player coach quarterback "
    "captain director chief commander emperor general officer father mother son daughter wife husband brother sister "
    "manager owner scientist artist architect composer singer actor actress minister".split()
)


def named_head(question: str) -> str | None:
    """The noun after "name of (the)" in the question, lower-case (``None`` if it asks for no name)."""
    m = _NAME_OF.search(question)
    return m.group(1) if m and m.group(1) not in STOPWORDS else None


def question_kind(question: str) -> str | None:
    """'who', 'where', 'when', 'how many', 'name' (of a hall, a river...) or None (no short answer expected)."""
    # A follow-up rewritten as "When did it happen? (How many people were killed?)" asks what its own words ask:
    # the previous question it carries is context for retrieval only.
    question = own_words(question)
    q = question.strip().lower()
    if re.search(r"\bhow (?:many|much|old)\b", q) or re.search(r"\bwhat (?:percentage|percent)\b", q) or re.search(r"\bwhat (?:was|is|were) the (?:death toll|toll|number|total|count)\b", q):
        return "how many"
    if re.search(r"\b(?:what|which) (?:year|date|day|month|time)\b", q) or re.match(r"^(?:and |so |but )?when\b", q) or re.search(r"\bwhen (?:did|was|were|is|does|do|will|had|has)\b", q):
        return "when"
    if re.match(r"^(?:and |so |but )?where\b", q) or re.search(r"\bwhere (?:is|was|are|were|did|does|do)\b", q):
        return "where"
    head = named_head(question)
    if head is not None:
        return "who" if head in _PERSON_HEADS else "name"
    if re.match(r"^(?:[Aa]nd |[Ss]o |[Bb]ut )?[Ww]ho (?:is|was|are|were) (?:[A-Z]|al-)[\w’'-]*(?: (?:[A-Z]|al-)[\w’'-]*){0,3}\??$", question.strip()):
        return None  # "Who is Abu Miskin?" asks for a description, not a name
    if re.match(r"^(?:and |so |but )?(?:who|whom|whose)\b", q) or re.search(r"\b(?:which|what) (?:group|organi[sz]ation|person|country|man|woman|leader|people|militant|faction|outfit)\b", q):
        return "who"
    return None


#: Function words that open a sentence capitalised and are no name (the stop-word list lacks them).
_CONNECTIVES = frozenset(
    "amid amidst despite although though among amongst toward towards whilst thus hence meanwhile however moreover "
    "furthermore additionally nevertheless nonetheless therefore instead indeed likewise since following unlike".split()
)


def _modifies_noun(sentence: str, end: int) -> bool:
    """Whether the word after ``end`` is a lower-case content word ("Russian officials", not "Kerman in")."""
    m = re.match(r"\s+([a-z][\w-]*)", sentence[end:])
    return m is not None and m.group(1) not in STOPWORDS


def _is_name(text: str, lower_vocab: frozenset[str], at_sentence_start: bool) -> bool:
    first = text.split()[0]
    if first.lower() in STOPWORDS or first.lower() in _CONNECTIVES:
        return False
    if at_sentence_start and len(text.split()) == 1 and first.lower() in lower_vocab:
        return False  # a capitalised common word opening the sentence ("Thought", "Despite")
    return True


def _trim_leading(start: int, text: str) -> tuple[int, str]:
    """``text`` (found at ``start``) without leading stop words swept up at a sentence start ("The", "In")."""
    parts = text.split(" ", 1)
    while len(parts) > 1 and (parts[0].lower() in STOPWORDS or parts[0].lower() in _CONNECTIVES):
        start += len(parts[0]) + 1
        text = parts[1]
        parts = text.split(" ", 1)
    return start, text


def _candidates(kind: str, sentence: str, lower_vocab: frozenset[str]) -> list[Span]:
    spans: list[Span] = []
    if kind in ("who", "where", "name"):
        for m in _NAME.finditer(sentence):
            start, text = _trim_leading(m.start(), m.group(0).rstrip("."))
            text = re.sub(r"(?:’|')s$", "", text)  # "France's" -> "France"
            if not text or not _is_name(text, lower_vocab, start == 0):
                continue
            if _DATE.fullmatch(text):
                continue  # a month or weekday is neither someone nor somewhere ("March", "in March")
            if kind == "where" and not _PLACE_PREP.search(sentence[:start]):
                continue
            if kind == "where" and _DEMONYM.fullmatch(text) and _modifies_noun(sentence, start + len(text)):
                continue  # "according to Russian officials": an adjective, not a place ("in Kerman in January" is one)
            spans.append(Span(start, start + len(text), text))
        if kind == "where":
            for m in _BASED.finditer(sentence):
                start, text = _trim_leading(m.start(1), m.group(1))
                if text.lower() not in STOPWORDS and not _DATE.fullmatch(text):
                    spans.append(Span(start, m.end(1), text))
            spans.sort(key=lambda sp: sp.start)
    elif kind == "when":
        for m in _DATE.finditer(sentence):
            if re.search(r"(?:^|\s)date\s*$", sentence[: m.start()], re.IGNORECASE):
                continue  # a "date 2024-03-30" stamp: when the page was published, not what was asked
            lead = re.match(r"(?:on|in|since|by|during|until)\s+", m.group(0))
            start = m.start() + (lead.end() if lead else 0)
            spans.append(Span(start, m.end(), sentence[start : m.end()]))
    elif kind == "how many":
        spans = [Span(m.start(), m.end(), m.group(0).strip()) for m in _NUMBER.finditer(sentence)]
        spans = [
            s for s in spans
            if not re.fullmatch(r"\d{4}", s.text)  # a bare year is no count
            and not re.search(r"\d-$", sentence[: s.start]) and not re.match(r"-\d", sentence[s.end :])  # nor part of 2024-03-23
        ]
    return spans


#: Words that count or quantify ("Two citizens of ..."), capitalised at a sentence start: no origin.
_COUNTING = re.compile(rf"(?:{'|'.join(_NUMBER_WORDS.split())}|several|many|some|most|few|both|all|these|those|the|other)$", re.IGNORECASE)


def _with_origins(sentence: str, spans: list[Span]) -> list[Span]:
    """``spans`` and the origins the sentence gives without "from" ("nationals of Tajikistan", "Tajik nationals")."""
    seen = {(sp.start, sp.end) for sp in spans}
    extra = [
        Span(m.start(1), m.end(1), m.group(1))
        for pattern in (_ORIGIN_OF, _ORIGIN_ADJ)
        for m in pattern.finditer(sentence)
        if (m.start(1), m.end(1)) not in seen and not _COUNTING.match(m.group(1))
    ]
    return sorted(spans + extra, key=lambda sp: sp.start) if extra else spans


def _last_conjunct(c: Span) -> Span:
    """"Miami and Levi's Stadium" -> "Levi's Stadium": the name that ends with the asked head."""
    cut = c.text.rfind(" and ")
    return c if cut < 0 else Span(c.start + cut + 5, c.end, c.text[cut + 5 :])


@dataclass(frozen=True)
class _Asked:
    """What ``extract`` reads of a question, parsed once per question (it is called for every candidate sentence)."""

    kind: str | None
    stems: frozenset[str]
    lower: str
    verb: str | None
    origin: bool
    #: For a "name" question, the stem of the noun the name ends with ("hall").
    head: str | None = None
    #: For "how many <noun>", the noun's stem.
    counted: str | None = None


def _verb_after_who(rest: str) -> str | None:
    """The stem of the verb of "who <verb> ...": the first content word after "who", unless it is a name ("Who took
    over as the Doctor?": "took" is a stop word and "Doctor" no verb, so None)."""
    w = next((w for w in words(rest) if w.lower() not in STOPWORDS), None)
    return None if w is None or w[:1].isupper() else stem(w)


@lru_cache(maxsize=1024)
def _asked(question: str) -> _Asked:
    kind = question_kind(question)
    stems = frozenset(stem(w) for w in words(question) if w.lower() not in STOPWORDS)
    # For "who <verb> ...", the verb: the first content word after the question word.
    after_who = re.search(r"\b(?:who|whom|whose)\s+(.*)", question, re.IGNORECASE)
    verb = _verb_after_who(after_who.group(1)) if after_who else None
    origin = kind == "where" and re.search(r"\bfrom\s*\??\s*$", question.strip()) is not None
    head = named_head(question) if kind == "name" else None
    many = re.search(r"\bhow (?:many|much)\s+([\w-]+)", own_words(question), re.IGNORECASE)
    counted = stem(many.group(1)) if many and many.group(1).lower() not in STOPWORDS else None
    return _Asked(kind, stems, question.lower(), verb, origin, stem(head) if head else None, counted)


def asks_count(question: str) -> bool:
    """Whether the question asks for a count, an age or a percentage ("How many people ...?", "How old ...?").
    "How much" is left out: its answers are often words ("over half", "tenfold", "large areas")."""
    return _COUNT_ASKED.search(own_words(question)) is not None


def holds_count(question: str, sentence: str, lower_vocab: frozenset[str] = frozenset()) -> bool:
    """Whether ``sentence`` can say how many: a number the question does not already say, or a word that counts
    ("a single output", "by half", "none of", "both", "twice"). Vague quantities ("a large number", "multiple")
    do not count."""
    return bool(candidate_spans(question, sentence, lower_vocab)) or _COUNT_WORD.search(sentence) is not None


_COUNT_WORD = re.compile(
    r"\b(?:single|half|halves|quarters?|thirds?|none|both|twice|double|triple|once|dozens|hundreds|thousands|millions)\b",
    re.IGNORECASE,
)


def asks_named(question: str) -> bool:
    """Whether the question asks which named thing of a class: "Which band ...?", "In which Russian region ...?",
    "What newspaper ...?" (the class noun in lower case: "What Catholic Church belief" names no class)."""
    return _NAMED_ASKED.search(own_words(question)) is not None


def names_new(question: str, sentence: str, lower_vocab: frozenset[str] = frozenset()) -> bool:
    """Whether ``sentence`` holds a name or a number the question does not already say."""
    said = {w.lower() for w in words(own_words(question))}
    found = [sp.text for sp in _candidates("name", sentence, lower_vocab)] + [m.group(0) for m in _NUMBER.finditer(sentence)]
    return any(not {w.lower() for w in words(text)} <= said for text in found)


#: Classes whose members have names ("which band"), each with its plural.
_CLASS_NOUNS = (
    "band city town village country nation province region county newspaper paper magazine company river sea island "
    "team club party network university college king queen emperor president ship airline church official minister"
).split()
_NAMED_CLASSES = [f for w in _CLASS_NOUNS for f in (w, w[:-1] + "ies" if w.endswith("y") else w + "es" if w.endswith("s") else w + "s")]
_NAMED_ASKED = re.compile(rf"\b(?:[Ww]hich|[Ww]hat)\s+(?:[a-z][\w-]*\s+|[A-Z][a-z]+\s+)?(?:{'|'.join(_NAMED_CLASSES)})\b")


def asks_duration(question: str) -> bool:
    """Whether the question asks how long something took or lasted."""
    return _DURATION_ASKED.search(own_words(question)) is not None


def holds_duration(sentence: str) -> bool:
    """Whether ``sentence`` can say how long: a unit of time ("three weeks", "for decades"), "since"/"until" a time,
    or a range of years ("from 1961 to 1972")."""
    return _DURATION.search(sentence) is not None


def asks_year(question: str) -> bool:
    """Whether the question asks for a year ("In what year ...?", "Which year ...?")."""
    return _YEAR_ASKED.search(own_words(question)) is not None


def holds_year(sentence: str) -> bool:
    """Whether ``sentence`` names a year, a decade or a century ("1639", "the 1970s", "the 20th century")."""
    return _YEAR_NAMED.search(sentence) is not None


_YEAR_ASKED = re.compile(r"\b(?:what|which) year\b", re.IGNORECASE)
_YEAR_NAMED = re.compile(r"\b\d{3,4}s?\b|\b(?:century|centuries|decade)\b|['’]\d0s\b", re.IGNORECASE)
_DURATION_ASKED = re.compile(r"\bhow long\b", re.IGNORECASE)
_DURATION = re.compile(
    r"\b(?:seconds?|minutes?|hours?|days?|nights?|weeks?|months?|years?|decades?|centur(?:y|ies)|generations?|"
    r"lifetimes?|millenni(?:a|um)|since|until|till)\b|\b\d{3,4}s?\s*(?:to|and|-|–|—)\s*\d{2,4}\b",
    re.IGNORECASE,
)
_COUNT_ASKED = re.compile(r"\bhow (?:many|old)\b|\bwhat (?:percentage|percent)\b", re.IGNORECASE)


def candidate_spans(question: str, sentence: str, lower_vocab: frozenset[str] = frozenset()) -> list[Span]:
    """Every span of ``sentence`` of the kind ``question`` asks for that says something the question does not."""
    asked = _asked(question)
    if asked.kind is None:
        return []
    q_stems, q_lower = asked.stems, asked.lower
    found = _candidates(asked.kind, sentence, lower_vocab)
    if asked.origin:
        found = _with_origins(sentence, found)
    candidates = [
        c for c in found
        # An answer repeats nothing the question already says.
        # A name with the acronym it defines ("Islamic State Khorasan Province (ISKP)") is the name the question said.
        if not all(stem(w) in q_stems or w.lower() in q_lower for w in words(_ACRONYM_AFTER.sub("", c.text)) if w.lower() not in STOPWORDS)
    ]
    if asked.head is not None:
        # "the name of the concert hall": a name ending in "Hall".
        candidates = [_last_conjunct(c) for c in candidates if stem(words(c.text)[-1].lower()) == asked.head]
    return candidates


def extract(question: str, sentence: str, lower_vocab: frozenset[str] = frozenset()) -> Span | None:
    """The best short-answer span of ``sentence`` for ``question``, or None."""
    ranked = rank_spans(question, sentence, lower_vocab)
    return ranked[0][0] if ranked else None


def answer_span(question: str, sentence: str, lower_vocab: frozenset[str] = frozenset()) -> Span | None:
    """The short answer to show: the best span, unless the span model holds it less likely than its floor."""
    ranked = rank_spans(question, sentence, lower_vocab)
    if not ranked:
        return None
    span, p = ranked[0]
    return span if p >= span_floor() else None


def rank_spans(question: str, sentence: str, lower_vocab: frozenset[str] = frozenset()) -> list[tuple[Span, float]]:
    """The candidate spans, best first, each with the span model's probability that it is the answer (the rules'
    choice first with probability 1.0 when no model is shipped)."""
    model = span_model()
    kind_model = model.get(_asked(question).kind or "") if model is not None else None
    table = span_table(question, sentence, lower_vocab, rows=kind_model is not None)
    if table is None:
        return []
    candidates, r = table.candidates, table.rules
    if kind_model is None:
        return [(candidates[r], 1.0)] + [(c, 0.0) for i, c in enumerate(candidates) if i != r]
    probs = kind_model.probabilities(table.rows)
    if agent_of_the_verb(table.rows[r]):
        probs[r] = max(probs)  # who did what the question asks, by the sentence's own verb: the rules know
    order = sorted(range(len(candidates)), key=lambda i: (-probs[i], i != r, candidates[i].start))
    return [(candidates[i], float(probs[i])) for i in order]


@dataclass(frozen=True)
class SpanTable:
    """The candidate spans of one sentence as the span model reads them."""

    candidates: list[Span]
    #: Index of the hand rules' pick among ``candidates``.
    rules: int
    #: One ``SPAN_FEATURES`` row per candidate (empty when not asked for).
    rows: list[list[float]]


def span_table(question: str, sentence: str, lower_vocab: frozenset[str] = frozenset(), rows: bool = True) -> SpanTable | None:
    """The preferred candidate spans of ``sentence``, the rules' pick and (``rows``) their features; None when the
    sentence holds no span of the asked kind. ``rank_spans`` and ``python -m evals.train_short`` both read this."""
    candidates = _preferred_spans(question, sentence, candidate_spans(question, sentence, lower_vocab))
    if not candidates:
        return None
    asked = _asked(question)
    anchors, verb_at = _anchors(asked, sentence), _verb_at(asked, sentence)
    rules = _rules_choice(asked, sentence, candidates, anchors, verb_at)
    features = span_features(asked, sentence, candidates, rules, anchors, verb_at) if rows else []
    return SpanTable(candidates, candidates.index(rules), features)


def _anchors(asked: _Asked, sentence: str) -> list[int]:
    """Positions of the question's words in the sentence."""
    return [m.start() for m in _WORD.finditer(sentence) if stem(m.group(0)) in asked.stems and m.group(0).lower() not in STOPWORDS]


def _verb_at(asked: _Asked, sentence: str) -> list[int]:
    return [m.start() for m in _WORD.finditer(sentence) if asked.verb is not None and stem(m.group(0)) == asked.verb]


def _preferred_spans(question: str, sentence: str, candidates: list[Span]) -> list[Span]:
    """The candidates the kind's rules prefer, when any: these alone are ranked."""
    asked = _asked(question)
    if asked.kind == "who":
        # "American officials were quick to attribute the massacre to ISKP": the officials are not the answer, unless
        # nothing else is named.
        named = [c for c in candidates if not (_DEMONYM.fullmatch(c.text) and _MODIFIES.match(sentence, c.end))]
        candidates = named or candidates
        # "dominance in Afghanistan": a place, not who, unless the sentence names nothing else.
        someone = [c for c in candidates if not _IN_PLACE.search(sentence[: c.start])]
        candidates = someone or candidates
    if asked.origin:
        # "Where were they from?" asks for an origin: a place after "from" ("suspects from Tajikistan"), when there is one.
        candidates = [c for c in candidates if _FROM_BEFORE.search(sentence[: c.start])] or candidates
    if asked.kind == "where" and "based" in asked.lower:
        # "Where is the company based?": the place of "the Paris-based company", when the sentence says it so.
        candidates = [c for c in candidates if sentence.startswith("-based", c.end)] or candidates
    return candidates


def _rules_choice(asked: _Asked, sentence: str, candidates: list[Span], anchors: list[int], verb_at: list[int]) -> Span:
    """The hand rules' pick among the preferred candidates: the one nearest the question's words (``anchors``; the
    question's verb at ``verb_at``)."""
    kind = asked.kind
    if not anchors:
        return candidates[0]

    def distance(c: Span) -> float:
        best = min(min(abs(a - c.end), abs(c.start - a)) for a in anchors)
        if kind == "who" and any(0 <= a - c.end <= 12 for a in verb_at):
            best -= 1000  # the agent right before the question's verb: "IS-K has claimed ..."
        elif kind == "who" and verb_at and _BY_BEFORE.search(sentence[: c.start]):
            best -= 500  # the agent of a passive: "the arrest of X ... by the UN"
        return best

    return min(candidates, key=distance)


_WORD = re.compile(r"[\w’'-]+")
_FROM_BEFORE = re.compile(r"\bfrom\s+(?:the\s+)?$")
_BY_BEFORE = re.compile(r"\bby (?:the )?$")
_QUALIFIED = re.compile(r"^(?:over|more than|at least|nearly|about|around|some|up to|fewer than|less than|almost|approximately|roughly)\b", re.IGNORECASE)
_FULL_DATE = re.compile(rf"{_MONTH}\s+\d{{1,2}}|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}")
_YEAR = re.compile(r"\b\d{4}s?\b")

#: The span model's features, in order (``span_features``). Kind-specific ones read 0 for other kinds.
SPAN_FEATURES: tuple[str, ...] = (
    "rules_choice",      # the hand rules pick this span
    "log_distance",      # log(1 + characters to the nearest question word)
    "anchors_left",      # question words in the 40 characters before the span (up to 3, /3)
    "anchors_right",     # question words in the 40 characters after it
    "before_verb",       # within 12 characters before the question's verb ("IS-K has claimed")
    "after_by",          # the agent of a passive ("by the UN")
    "after_place_prep",  # after in / at / near / from ...
    "after_from",        # after "from"
    "sentence_start",    # opens the sentence
    "log_words",         # log(1 + words in the span)
    "modifier",          # a demonym before a lower-case word ("American officials")
    "position",          # where in the sentence it starts (0..1)
    "one_of",            # 1 / number of candidates
    "first",             # the first candidate
    "last",              # the last candidate
    "shares_words",      # repeats some word of the question
    "counted_noun",      # how many: the question's counted noun follows ("how many ships" - "4,000 ships")
    "has_digits",        # how many: written in digits; when: holds a year
    "qualified",         # how many: "over", "at least"...; when: a full date (month and day)
    "in_parens",         # the span is inside parentheses
    "comma_before",      # right after a comma (an apposition or a list)
    "comma_after",       # right before a comma
    "acronym",           # all capitals ("UN", "ISKP")
    "the_before",        # after "the"
    "passive_agent",     # after "by" in a sentence with the question's verb ("were freed by the Taliban")
    "in_quotes",         # inside quotation marks (a title: "The Time of the Doctor")
)


def _open_quote(before: str) -> bool:
    """Whether a quotation opened before this point is still open."""
    return before.count("\u201c") > before.count("\u201d") or before.count('"') % 2 == 1


def agent_of_the_verb(row: list[float]) -> bool:
    """The span is who did the question's verb in the sentence: right before it, or its passive agent."""
    return bool(row[_BEFORE_VERB] or row[_PASSIVE_AGENT])


def span_features(
    asked: _Asked, sentence: str, candidates: list[Span], rules: Span, anchors: list[int], verb_at: list[int]
) -> list[list[float]]:
    """One feature row per candidate span (``SPAN_FEATURES``)."""
    n = len(candidates)
    rows = []
    for i, c in enumerate(candidates):
        before = sentence[: c.start]
        distance = min((min(abs(a - c.end), abs(c.start - a)) for a in anchors), default=len(sentence))
        left = sum(1 for a in anchors if c.start - 40 <= a < c.start)
        right = sum(1 for a in anchors if c.end <= a <= c.end + 40)
        after = sentence[c.end :]
        counted = 0.0
        if asked.kind == "how many" and asked.counted is not None:
            nxt = _WORD.search(after)
            counted = 1.0 if nxt is not None and nxt.start() <= 3 and stem(nxt.group(0)) == asked.counted else 0.0
        digits = qualified = 0.0
        if asked.kind == "how many":
            digits = 1.0 if re.search(r"\d", c.text) else 0.0
            qualified = 1.0 if _QUALIFIED.search(c.text) else 0.0
        elif asked.kind == "when":
            digits = 1.0 if _YEAR.search(c.text) else 0.0
            qualified = 1.0 if _FULL_DATE.search(c.text) else 0.0
        rows.append([
            1.0 if c == rules else 0.0,
            math.log1p(distance),
            min(left, 3) / 3,
            min(right, 3) / 3,
            1.0 if any(0 <= a - c.end <= 12 for a in verb_at) else 0.0,
            1.0 if _BY_BEFORE.search(before) else 0.0,
            1.0 if _PLACE_PREP.search(before) else 0.0,
            1.0 if _FROM_BEFORE.search(before) else 0.0,
            1.0 if not before.strip() or all(w.lower() in STOPWORDS for w in words(before)) else 0.0,
            math.log1p(len(c.text.split())),
            1.0 if _DEMONYM.fullmatch(c.text) and _MODIFIES.match(sentence, c.end) else 0.0,
            c.start / max(len(sentence), 1),
            1.0 / n,
            1.0 if i == 0 else 0.0,
            1.0 if i == n - 1 else 0.0,
            1.0 if any(stem(w) in asked.stems for w in words(c.text) if w.lower() not in STOPWORDS) else 0.0,
            counted,
            digits,
            qualified,
            1.0 if before.count("(") > before.count(")") else 0.0,
            1.0 if before.rstrip().endswith(",") else 0.0,
            1.0 if after.lstrip().startswith(",") else 0.0,
            1.0 if len(c.text) >= 2 and c.text.replace("-", "").isupper() else 0.0,
            1.0 if re.search(r"\bthe\s+$", before, re.IGNORECASE) else 0.0,
            1.0 if verb_at and _BY_BEFORE.search(before) else 0.0,
            1.0 if _open_quote(before) else 0.0,
        ])
    return rows


_BEFORE_VERB = SPAN_FEATURES.index("before_verb")
_PASSIVE_AGENT = SPAN_FEATURES.index("passive_agent")


@dataclass(frozen=True)
class _KindModel:
    """Logistic regression over ``SPAN_FEATURES`` for one answer kind."""

    coef: tuple[float, ...]
    intercept: float

    def probabilities(self, rows: list[list[float]]) -> list[float]:
        out = []
        for row in rows:
            z = self.intercept + sum(w * x for w, x in zip(self.coef, row, strict=True))
            out.append(1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0))))
        return out


SPAN_WEIGHTS = Path(__file__).resolve().parent / "weights" / "short-answer-lr.json"
_MODEL: dict[str, _KindModel] | None | bool = False  # False: not loaded yet; None: no weights shipped


def span_model() -> dict[str, _KindModel] | None:
    """The shipped span model per answer kind (None when ``qa/weights/short-answer-lr.json`` is absent or unusable:
    the rules pick then)."""
    global _MODEL
    if _MODEL is False:
        _MODEL = _load_span_model(SPAN_WEIGHTS) if SPAN_WEIGHTS.is_file() else None
    return _MODEL  # type: ignore[return-value]


_FLOOR = 0.0


def span_floor() -> float:
    """The probability under which the model's pick is not shown (0 with no model)."""
    return _FLOOR if span_model() is not None else 0.0


def _load_span_model(path: Path) -> dict[str, _KindModel] | None:
    """The model in ``path``; None (the rules pick, with a warning) when it is unreadable or fits other features."""
    global _FLOOR
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data.get("features", ())) != SPAN_FEATURES:
            raise ValueError("it was fitted on other span features")
        model = {kind: _KindModel(tuple(float(c) for c in m["coef"]), float(m["intercept"])) for kind, m in data["kinds"].items()}
        if any(len(m.coef) != len(SPAN_FEATURES) for m in model.values()):
            raise ValueError("a kind has the wrong number of weights")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        logger.warning("short-answer span model %s is unusable (%s); the hand rules pick short answers "
                       "(rebuild it with python -m evals.train_short)", path, exc)
        return None
    _FLOOR = float(data.get("floor", 0.0))
    return model


def set_span_model(model: dict[str, _KindModel] | None, floor: float = 0.0) -> None:
    """Use ``model`` (None: the rules alone) and ``floor`` instead of the shipped ones (training and tests)."""
    global _MODEL, _FLOOR
    _MODEL, _FLOOR = model, floor
