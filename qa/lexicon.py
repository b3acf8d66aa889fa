"""A small general-English lexicon: words a question and a document use for the same idea.

Questions say "died", articles say "killed", "dead" or "claimed the lives of". Coverage
of a question term counts any of its equivalents, and BM25 sees them too. The table is
deliberately short and domain-neutral; it is not a list of corpus facts.
"""

from __future__ import annotations

from functools import lru_cache

from .text import stem

_GROUPS = [
    "die died dies dying dead death deaths deadly kill killed killing kills lives fatalities fatal toll perished",
    "people persons individuals victims civilians",
    "found founded establish established formation formed create created start started",
    "lead leads leader leaders led head heads headed",
    "base based headquarters headquartered located operating",
    "attack attacks attacked assault massacre raid shooting",
    "arrest arrested arrests detain detained capture captured apprehend apprehended catch caught",
    "group organization organisation faction outfit affiliate",
    "country nation state",
    "warn warned warning warnings alert alerted heads-up",
    "stop stopped thwart thwarted foil foiled prevent prevented avert averted",
    "deny denied denies denial refute refuted reject rejected",
    "criticism criticise criticize criticised criticized flak backlash",
    "prove proved proven establish confirm confirmed",
    "nationality nationals citizens",
]


def _build() -> dict[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    for group in _GROUPS:
        stems = frozenset(stem(w) for w in group.split())
        for s in stems:
            table[s] = table.get(s, frozenset()) | stems
    return table


_TABLE: dict[str, frozenset[str]] | None = None


@lru_cache(maxsize=50_000)
def equivalents(term: str) -> frozenset[str]:
    """Stems equivalent to the stemmed ``term`` (always including itself)."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _build()
    return _TABLE.get(term, frozenset()) | {term}

