"""Retrieval and answers: hybrid search, sentence evidence, verified file:line citations."""

from .engine import ABSTAIN_TEXT, QAEngine, answer, get_engine, reset_engines
from .followup import Rewrite, rewrite
from .models import Answer, Citation, RetrievedChunk, SourceValue, Timings
from .question import clean_question
from .retrieval import HybridRetriever
from .short_answer import extract, question_kind
from .verify import LineSource

__all__ = [
    "ABSTAIN_TEXT",
    "Answer",
    "Citation",
    "HybridRetriever",
    "LineSource",
    "QAEngine",
    "RetrievedChunk",
    "Rewrite",
    "SourceValue",
    "Timings",
    "answer",
    "clean_question",
    "extract",
    "get_engine",
    "question_kind",
    "reset_engines",
    "rewrite",
]
