"""Retrieval and answers: hybrid search, sentence evidence, verified file:line citations, optional LLM."""

from .answerer import Answerer, answer, get_answerer, with_llm
from .engine import ABSTAIN_TEXT, QAEngine, get_engine, reset_engines
from .followup import Rewrite, rewrite
from .generative import GenerativeEngine
from .grounded import Passage, build_prompt, ground, parse
from .llm import make_llm, packaged_gguf, register_llm, reset_llms
from .models import (
    CLOSEST_TITLE,
    Answer,
    Citation,
    GeneratedSentence,
    Generation,
    RetrievedChunk,
    SourceValue,
    StreamDone,
    StreamToken,
    Timings,
)
from .question import clean_question
from .retrieval import HybridRetriever
from .short_answer import extract, question_kind
from .verify import LineSource

__all__ = [
    "ABSTAIN_TEXT",
    "CLOSEST_TITLE",
    "Answer",
    "Answerer",
    "Citation",
    "GeneratedSentence",
    "GenerativeEngine",
    "Generation",
    "HybridRetriever",
    "LineSource",
    "Passage",
    "QAEngine",
    "RetrievedChunk",
    "Rewrite",
    "SourceValue",
    "StreamDone",
    "StreamToken",
    "Timings",
    "answer",
    "build_prompt",
    "clean_question",
    "extract",
    "get_answerer",
    "get_engine",
    "ground",
    "make_llm",
    "packaged_gguf",
    "parse",
    "question_kind",
    "register_llm",
    "reset_engines",
    "reset_llms",
    "rewrite",
    "with_llm",
]
