"""Detect sources that give different values for the same fact (numbers, dates, names).

The candidate sentences are the evidence sentences that cover the question about as
well as the best one. From each, the short-answer extractor takes a value; values are
normalised (so "Over 140" = "over 140", "IS-K" = "ISIS-K") and grouped. Two or more
groups, backed by documents that are not near-duplicates of each other, are a
disagreement: each value is reported with its own citation, none is picked silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .evidence import Evidence
from .short_answer import extract, question_kind
from .text import letters_in_order

#: A sentence is a candidate when its question coverage is at least this share of the best one.
COVERAGE_SHARE = 0.75
#: Names have aliases (ISIS / IS-K / ISKP) that no rule catches, so a name disagreement needs
#: both sides nearly as well supported as the best sentence (coverage and score).
NAME_SHARE = 0.9
CANDIDATES = 12

_QUALIFIERS = {
    "over": "over", "more than": "over", "at least": "at least", "nearly": "nearly", "almost": "nearly",
    "about": "about", "around": "about", "approximately": "about", "roughly": "about", "some": "about",
    "up to": "up to", "fewer than": "under", "less than": "under",
}
_MONTHS = "january february march april may june july august september october november december".split()


def _number_key(text: str) -> str | None:
    t = text.lower()
    qualifier = next((v for k, v in _QUALIFIERS.items() if t.startswith(k + " ")), "")
    digits = re.search(r"\d[\d,.]*", t)
    if digits is None:
        return None
    return f"{qualifier} {digits.group(0).replace(',', '')}".strip()


def _date_key(text: str) -> str | None:
    """Comparable dates only: a year, or a month with a day. Weekdays and relative dates are not compared."""
    t = text.lower()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
        return None  # ISO stamps here are publication dates, not event dates
    month = next((i for i, m in enumerate(_MONTHS, 1) if re.search(rf"\b{m[:3]}", t)), None)
    day = re.search(r"\b(\d{1,2})(?:st|nd|rd|th)?\b", t)
    year = re.search(r"\b(\d{4})\b", t)
    if month and day:
        return f"m{month:02d}-{int(day.group(1)):02d}"
    if year and not month:
        return f"y{year.group(1)}"
    return None


def _name_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", re.sub(r"['’]s$", "", text.lower()))


@dataclass
class ValueGroup:
    """One value the sources give, with the evidence sentences that give it."""

    value: str
    key: str
    evidence: list[Evidence] = field(default_factory=list)


def find_disagreement(
    question: str, evidence: list[Evidence], partners: dict[str, set[str]], lower_vocab: frozenset[str],
    name_share: float = NAME_SHARE,
) -> list[ValueGroup]:
    """The groups of differing values, best-supported first; empty when the sources agree.

    ``name_share``: for who-questions, a sentence's score must reach this share of the best one's (the scorer's
    scale: ``EvidenceScorer.agreement_share``).
    """
    kind = question_kind(question)
    if kind not in ("how many", "when", "who") or not evidence:
        return []
    best = max(e.coverage for e in evidence[:CANDIDATES])
    best_score = evidence[0].score
    share = NAME_SHARE if kind == "who" else COVERAGE_SHARE
    groups: list[ValueGroup] = []
    for e in evidence[:CANDIDATES]:
        if best == 0 or e.coverage < share * best or (kind == "who" and e.score < name_share * best_score):
            continue
        span = extract(question, e.quote, lower_vocab)
        if span is None:
            continue
        if kind == "how many":
            key = _number_key(span.text)
        elif kind == "when":
            key = _date_key(span.text)
        else:
            if len(span.text.split()) < 2:
                continue  # one-word names and acronyms are alias-prone (ISIS / IS-K / ISKP): not compared
            key = _name_key(span.text)
        if not key:
            continue
        match = next((g for g in groups if g.key == key or (kind == "who" and letters_in_order(g.key, key))), None)
        if match is None:
            groups.append(ValueGroup(value=span.text, key=key, evidence=[e]))
        else:
            match.evidence.append(e)
    if kind == "when" and groups:
        # A year and a day are not in conflict: compare only values as precise as the best one.
        groups = [g for g in groups if g.key[0] == groups[0].key[0]]
    if len(groups) < 2:
        return []
    files = [{e.chunk.file for e in g.evidence} for g in groups]
    # Values backed only by near-duplicates of each other are one source talking, not two.
    independent = any(
        not any(b in partners.get(a, set()) or a == b for a in fa for b in fb)
        for i, fa in enumerate(files) for fb in files[i + 1 :]
    )
    return groups if independent else []
