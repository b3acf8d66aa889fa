"""What the evidence scorers see of one (question, candidate sentence) pair: named numeric features.

Computed once per candidate, the same way at answer time and in ``python -m evals.train``
(which fits the learned scorer on them), so a model trained offline sees exactly what it
meets online. Meaning enters through the cosine of the question's vector with the
sentence's vector (made at index time) and with its chunk's; words through IDF-weighted
coverage; the rest is where the sentence was found and whether it holds the asked type.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .followup import names_in
from .lexicon import equivalents
from .retrieval import acronyms_in
from .short_answer import candidate_spans, question_kind
from .text import content_terms, stem, words

_WHEN_FOCUS = frozenset(stem(w) for w in "date dates year years day days time month months".split())
#: A number as written ("1,000", "3.5"): what the question gives and a sentence must hold to match it.
NUMBER = re.compile(r"\d[\d,.]*")

#: Feature names, in the order of ``Candidate.features``.
FEATURES: tuple[str, ...] = (
    "coverage",          # IDF-weighted share of question terms in the sentence (lexicon equivalents count)
    "coverage_exact",    # the same without equivalents
    "uncovered_idf",     # rarest question term missing from the sentence, as a share of the rarest term's IDF
    "chunk_coverage",    # coverage over the sentence's whole chunk (the context)
    "sent_cos",          # cosine of question and sentence vectors
    "sent_cos_gap",      # best sentence cosine among the candidates minus this one's
    "sent_cos_rank",     # 1 / (1 + rank of this sentence's cosine among the candidates)
    "chunk_cos",         # cosine of question and chunk (dense score; below the dense top-k: the k-th score)
    "fused_rel",         # the chunk's fused score over the best chunk's
    "chunk_rank",        # 1 / (1 + the chunk's fused rank)
    "bm25_rel",          # the chunk's BM25 score over the best (0 when outside the BM25 top-k)
    "type_match",        # the question asks for a type (who/when/how many...) and the sentence holds one
    "type_missing",      # it asks for a type and the sentence holds none
    "name_cov",          # share of the question's names found in the sentence (1 when it names none)
    "number_cov",        # share of the question's numbers found in the sentence (1 when it has none)
    "log_words",         # log of the sentence's length in words
    "cov_x_cos",         # coverage times sentence cosine
)
#: Position of the sentence cosine in ``FEATURES`` (the scorer's meaning floor and the closest passages read it).
SENT_COS = FEATURES.index("sent_cos")


@dataclass(frozen=True)
class QuestionTerms:
    """The question as the features read it: terms with their IDF, what they match, the asked type."""

    question: str
    terms: list[str]
    weights: dict[str, float]
    term_set: frozenset[str]
    kind: str | None
    names: list[str]
    numbers: list[str]
    #: For acronyms the question writes in capitals: the corpus's other spellings ("ISKP": "IS-K", "ISIS-K").
    aliases: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(
        cls, question: str, idf: Callable[[str], float], aliases: Callable[[str], frozenset[str]] | None = None
    ) -> QuestionTerms:
        """``idf``: the index's inverse document frequency of a stemmed term; ``aliases``: the corpus's other
        spellings of an acronym (``HybridRetriever.aliases``)."""
        terms = content_terms(question)
        kind = question_kind(question)
        if kind == "when":
            # "what date / which year": the words name what is asked for, not what to look for.
            terms = [t for t in terms if t not in _WHEN_FOCUS] or terms
        weights = {t: float(idf(t)) for t in terms}
        spelled = {t: aliases(t) for t in acronyms_in(question) if t in weights} if aliases is not None else {}
        spelled = {t: a for t, a in spelled.items() if a}
        term_set = frozenset(e for t in terms for e in equivalents(t) | spelled.get(t, frozenset()))
        return cls(question, terms, weights, term_set, kind, names_in(question), NUMBER.findall(question), spelled)

    def same(self, term: str) -> frozenset[str]:
        """What counts as ``term`` in a sentence: its lexicon equivalents, and its other spellings for an acronym."""
        return equivalents(term) | self.aliases[term] if term in self.aliases else equivalents(term)

    def coverage(self, present: set[str], exact: bool = False) -> float:
        total = sum(self.weights.values()) or 1.0
        if exact:
            return sum(w for t, w in self.weights.items() if t in present) / total
        return sum(w for t, w in self.weights.items() if self.same(t) & present) / total

    def uncovered(self, present: set[str]) -> float:
        if not self.weights:
            return 1.0
        top = max(self.weights.values()) or 1.0
        missing = [w for t, w in self.weights.items() if not self.same(t) & present]
        return max(missing, default=0.0) / top


def sentence_features(
    q: QuestionTerms,
    text: str,
    chunk_stems: set[str],
    sent_cos: float,
    chunk_cos: float,
    fused_rel: float,
    chunk_rank: int,
    bm25_rel: float,
    lower_vocab: frozenset[str],
) -> list[float]:
    """The features of one sentence except those relative to the other candidates (filled by ``finish``)."""
    present = {stem(w) for w in words(text)}
    coverage = q.coverage(present)
    type_match = 0.0
    if q.kind is not None:
        # Whether the sentence holds a span of the asked kind at all (which one is best is the reader's business).
        type_match = 1.0 if candidate_spans(q.question, text, lower_vocab) else 0.0
    low = text.lower()
    name_cov = sum(1 for n in q.names if n.lower() in low) / len(q.names) if q.names else 1.0
    number_cov = sum(1 for n in q.numbers if n in text) / len(q.numbers) if q.numbers else 1.0
    return [
        coverage,
        q.coverage(present, exact=True),
        q.uncovered(present),
        q.coverage(chunk_stems),
        sent_cos,
        0.0,
        0.0,
        chunk_cos,
        fused_rel,
        1.0 / (1 + chunk_rank),
        bm25_rel,
        type_match,
        1.0 - type_match if q.kind is not None else 0.0,
        name_cov,
        number_cov,
        math.log(1 + len(text.split())),
        coverage * sent_cos,
    ]


_COS = FEATURES.index("sent_cos")
_GAP = FEATURES.index("sent_cos_gap")
_RANK = FEATURES.index("sent_cos_rank")


def finish(rows: list[list[float]]) -> np.ndarray:
    """The feature matrix, with the features relative to all candidates filled in."""
    if not rows:
        return np.zeros((0, len(FEATURES)), dtype=np.float64)
    x = np.asarray(rows, dtype=np.float64)
    cos = x[:, _COS]
    x[:, _GAP] = cos.max() - cos
    order = np.argsort(-cos, kind="stable")
    rank = np.empty(len(cos))
    rank[order] = np.arange(len(cos))
    x[:, _RANK] = 1.0 / (1.0 + rank)
    return x
