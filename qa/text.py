"""Word-level text helpers shared by retrieval and answer composition."""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import Stemmer  # PyStemmer, installed with llama-index-retrievers-bm25

WORD = re.compile(r"[\w][\w’'-]*[\w]|\w", re.UNICODE)

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having he
    her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves according many
    much whose did does say said tell according per via upon happen happened happens occur occurred occurs
    take took taken place""".split()
)
QUESTION_WORDS = frozenset("who whom whose what when where which why how".split())

_stemmer = Stemmer.Stemmer("english")
_stemmer_lock = threading.Lock()  # PyStemmer objects are not thread-safe


def words(text: str) -> list[str]:
    """Words of ``text`` in order (keeps hyphens and apostrophes inside words: IS-K, al-Azaim)."""
    return WORD.findall(text)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Lower-cased English stem of one word (curly apostrophes folded)."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    with _stemmer_lock:
        return str(_stemmer.stemWord(w))


def content_terms(text: str) -> list[str]:
    """Stems of the non-stopword words of ``text``, in order, without repeats."""
    seen: dict[str, None] = {}
    for w in words(text):
        lw = w.lower()
        if lw in STOPWORDS or lw in QUESTION_WORDS:
            continue
        seen.setdefault(stem(w), None)
    return list(seen)


def letters_in_order(a: str, b: str) -> bool:
    """Whether the shorter string's characters appear in order within the longer's ("isk" in "isisk"): how spelling
    variants of one name are told (IS-K / ISIS-K / ISKP)."""
    short, long_ = sorted((a, b), key=len)
    it = iter(long_)
    return bool(short) and all(ch in it for ch in short)
