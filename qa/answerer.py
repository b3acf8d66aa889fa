"""The configured answerer: the extractive engine, or the generative one over it when ``DOCQA_LLM`` is set."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from index import CorpusIndex, Settings, load_settings

from .engine import QAEngine, get_engine
from .generative import GenerativeEngine
from .llm import make_llm
from .models import Answer, StreamDone, StreamToken

if TYPE_CHECKING:
    from llama_index.core.llms import LLM


class Answerer(Protocol):
    """What the CLI, web UI and evals talk to (``QAEngine`` or ``GenerativeEngine``)."""

    @property
    def index(self) -> CorpusIndex: ...

    def answer(self, question: str, history: Sequence[Answer] | None = None) -> Answer: ...

    def stream(self, question: str, history: Sequence[Answer] | None = None) -> Iterator[StreamToken | StreamDone]: ...


def with_llm(engine: QAEngine, llm: LLM | None) -> Answerer:
    """``engine`` itself, or the generative answerer over it when there is an LLM."""
    return engine if llm is None else GenerativeEngine(engine, llm)


def get_answerer(corpus: Path | str | None = None, settings: Settings | None = None) -> Answerer:
    """The answerer for a corpus per settings: extractive (``DOCQA_LLM=none``) or generative."""
    settings = settings or load_settings()
    llm = make_llm(settings)  # first: a bad LLM setting fails before any indexing
    return with_llm(get_engine(corpus, settings), llm)


def answer(
    question: str,
    history: Sequence[Answer] | None = None,
    *,
    corpus: Path | str | None = None,
    settings: Settings | None = None,
) -> Answer:
    """Answer a question from the documents, with verified file:line quotes.

    ``history``: earlier Answers of this conversation, oldest first (for follow-ups).
    ``corpus``: folder to answer from (default: the ``DOCQA_CORPUS`` setting, seeds/).
    With ``DOCQA_LLM`` set, an LLM writes the answer and only its supported sentences are kept.
    """
    return get_answerer(corpus, settings).answer(question, history)
