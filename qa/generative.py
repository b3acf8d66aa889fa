"""Generative answers: an LLM writes the answer from the evidence, and only what the evidence supports is kept.

The extractive engine runs first (retrieval, evidence, abstention, disagreement). The LLM then gets the
best evidence sentences as ``[file:line]`` passages (``qa.grounded``) and writes a short answer; its
sentences are checked and re-anchored, and the citations verified against the files like any quote.
The extractive answer is returned instead, with ``Answer.generation.fallback`` saying why, when:
the documents do not hold the answer (abstained before asking the model), the sources disagree (the
values are listed with their sources, as the extractive answer does), the model fails or passes
``DOCQA_LLM_TIMEOUT``, or nothing it wrote is supported.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from .engine import SUPPORT_RATIO, QAEngine, _compose
from .evidence import Evidence, citation_of
from .grounded import Passage, build_prompt, cite, ground
from .models import Answer, Citation, GeneratedSentence, Generation, StreamDone, StreamToken
from .question import clean_question
from .short_answer import extract

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

logger = logging.getLogger(__name__)

#: Evidence sentences shown to the model (a small model reads a short prompt best, and fast).
MAX_PASSAGES = 6

REWRITE_HEAD = (
    "Rewrite the last question so that it can be understood without the conversation.\n\n"
    "Conversation:\nQ: Who founded the Harbor Museum?\nA: Maria Lopez\n"
    "Last question: When did she found it?\nStandalone question: When did Maria Lopez found the Harbor Museum?\n\n"
)

_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(llm: object) -> threading.Lock:
    """One lock per model object: a llama.cpp context serves one generation at a time."""
    with _locks_guard:
        return _locks.setdefault(id(llm), threading.Lock())


def backend_name(llm: LLM) -> str:
    model = getattr(llm, "model", None) or getattr(llm, "model_path", None)
    if not model:
        try:
            model = llm.metadata.model_name
        except Exception:  # metadata of a third-party LLM may not be available
            model = "?"
    return f"{llm.class_name()}:{str(model).rsplit('/', 1)[-1]}"


class GenerativeEngine:
    """Answers with an LLM over a ``QAEngine``'s evidence; the same ``answer``/``stream`` interface."""

    def __init__(self, engine: QAEngine, llm: LLM) -> None:
        self.engine = engine
        self.index = engine.index
        self.settings = engine.settings
        self.llm = llm
        self._lock = _lock_for(llm)

    # ------------------------------------------------------------------ the model
    def _generate(self, prompt: str) -> Iterator[str]:
        """The model's text for ``prompt``, piece by piece, up to the first newline, within the timeout.

        Raises ``TimeoutError`` past ``DOCQA_LLM_TIMEOUT`` (checked between pieces; HTTP backends
        also pass it to their client).
        """
        deadline = time.monotonic() + self.settings.llm_timeout
        text = ""
        with self._lock:
            stream = self.llm.stream_complete(prompt, formatted=True)
            for piece in stream:
                delta = piece.delta or ""
                if time.monotonic() > deadline:
                    close = getattr(stream, "close", None)
                    if close is not None:
                        close()
                    raise TimeoutError(f"the LLM took longer than DOCQA_LLM_TIMEOUT={self.settings.llm_timeout:g} s")
                if not text.strip() and "\n" in delta:  # leading newlines: the answer has not started yet
                    delta = delta.lstrip("\n")
                if "\n" in delta:
                    delta = delta.split("\n", 1)[0]
                    if delta:
                        text += delta
                        yield delta
                    break
                text += delta
                if delta:
                    yield delta

    def rewrite(self, question: str, history: Sequence[Answer]) -> str | None:
        """The LLM's standalone version of a follow-up, or ``None`` (then the rule-based rewrite is used)."""
        if not history:
            return None
        turns = "".join(f"Q: {a.standalone_question}\nA: {a.short_answer or a.text.splitlines()[0]}\n" for a in history[-2:])
        prompt = f"{REWRITE_HEAD}Conversation:\n{turns}Last question: {question.strip()}\nStandalone question:"
        try:
            out = "".join(self._generate(prompt)).strip()
        except Exception as exc:  # any backend failure: the rules rewrite instead
            logger.warning("LLM rewrite failed (%s); using the rule-based rewrite", exc)
            return None
        if not out or len(out) > 3 * len(question) + 200 or not out.endswith("?"):
            logger.info("LLM rewrite %r not usable; using the rule-based rewrite", out)
            return None
        return out

    # ------------------------------------------------------------------ answering
    def answer(self, question: str, history: Sequence[Answer] | None = None) -> Answer:
        """Answer ``question`` (see module docstring); never raises for a model failure."""
        final: Answer | None = None
        for event in self.stream(question, history):
            if isinstance(event, StreamDone):
                final = event.answer
        assert final is not None
        return final

    def stream(self, question: str, history: Sequence[Answer] | None = None) -> Iterator[StreamToken | StreamDone]:
        """Tokens as the model writes them, then the checked answer (``StreamDone``)."""
        t0 = time.perf_counter()
        standalone = None
        if self.settings.llm_rewrite and history:
            clean_question(question, self.settings.max_question_chars)  # bad questions fail before the model runs
            standalone = self.rewrite(question, history)
        extractive, evidence = self.engine.answer_with_evidence(question, history, standalone)
        generation = Generation(backend=backend_name(self.llm))
        # Under the extractive threshold but over the scorer's LLM bar, the model decides (a strong model reads
        # paraphrases the extractive reader misses); under the bar it is not asked.
        if extractive.abstained and (not evidence or extractive.evidence_score < self.engine.scorer.llm_threshold):
            yield StreamDone(answer=self._fallback(extractive, generation, "the documents do not hold the answer (abstained before asking the model)"))
            return
        if extractive.disagreement:
            yield StreamDone(answer=self._fallback(extractive, generation, "the sources disagree; the values are listed with their sources"))
            return
        passages = _passages(extractive, evidence, self.engine.scorer.support_ratio)
        prompt = build_prompt(extractive.standalone_question, passages, self.settings.llm_prompt_style)
        g0 = time.perf_counter()
        raw = ""
        try:
            for delta in self._generate(prompt):
                raw += delta
                yield StreamToken(delta=delta)
        except Exception as exc:  # timeouts, connection errors, model errors: all fall back the same way
            generation.raw = raw
            generation.generate_ms = round((time.perf_counter() - g0) * 1000, 1)
            logger.warning("LLM failed: %s", exc)
            yield StreamDone(answer=self._fallback(extractive, generation, f"the LLM failed ({exc.__class__.__name__}: {exc})"))
            return
        generation.raw = raw
        generation.generate_ms = round((time.perf_counter() - g0) * 1000, 1)
        yield StreamDone(answer=self._checked(extractive, passages, generation, t0))

    def _checked(self, extractive: Answer, passages: list[Passage], generation: Generation, t0: float) -> Answer:
        question = extractive.standalone_question
        vocab = self.engine.lower_vocab

        def reader(text: str) -> str | None:
            span = extract(question, text, vocab)
            return span.text if span is not None else None

        result = ground(generation.raw, passages, question, reader)
        generation.invalid_labels = result.invalid_labels
        if result.unknown:
            return self._fallback(extractive, generation, "the model found no answer in the passages")
        # A passage the extractive answer already quotes keeps its score; the others get one from their position.
        known = {(c.file, c.line, c.start): c for c in extractive.citations}
        cited: dict[str, Citation] = {}
        sentences: list[GeneratedSentence] = []
        for text, support in result.kept:
            cites = [known.get((p.file, p.line, p.start))
                     or p.cite or Citation(file=p.file, line=p.line, quote=p.text, start=p.start, end=p.end, score=0.0)
                     for p in support]
            cites = self.engine.verified(cites)
            if cites:
                sentences.append(GeneratedSentence(text=text, supported=True, citations=[c.ref for c in cites]))
                for c in cites:
                    cited.setdefault(c.ref, c)
            else:
                sentences.append(GeneratedSentence(text=text, supported=False, reason="its quotes are no longer verbatim in the files"))
        sentences += [GeneratedSentence(text=t, supported=False, reason=r) for t, r in result.dropped]
        generation.sentences = sentences
        kept = [s for s in sentences if s.supported]
        if not kept:
            return self._fallback(extractive, generation, "nothing the model wrote is supported by the passages")
        body = " ".join(cite(s.text, s.citations) for s in kept)
        short = extractive.short_answer
        citations = list(cited.values())
        if short is not None and (short.lower() not in body.lower() or short not in citations[0].quote):
            short = None
        timings = extractive.timings.model_copy(update={"total_ms": round((time.perf_counter() - t0) * 1000, 3)})
        return extractive.model_copy(update={
            "text": _compose(body, citations), "short_answer": short, "citations": citations,
            "mode": "generative", "generation": generation, "timings": timings, "abstained": False,
            "abstain_reason": None, "closest": [],
        })

    @staticmethod
    def _fallback(extractive: Answer, generation: Generation, reason: str) -> Answer:
        generation.fallback = reason
        return extractive.model_copy(update={"generation": generation})


def _passages(answer: Answer, evidence: list[Evidence], ratio: float = SUPPORT_RATIO) -> list[Passage]:
    """The passages the model may answer from: the extractive answer's citations first, then the other
    evidence sentences scoring at least ``ratio`` of the best (the scorer's ``support_ratio``: the bar the
    extractive answer's own quotes clear), without repeats.

    A sentence below that bar mentions the question's words only in passing; on the seeds suite the
    model answered from such sentences ("The Taliban" for who leads IS-K, from "work with the Afghan
    Taliban, who are opposed by IS-K") and the words-only check let it through.
    """
    best = max([e.score for e in evidence] + [c.score for c in answer.citations], default=0.0)
    out: list[Passage] = []
    seen: set[tuple[str, int, str]] = set()
    candidates = [(c, c.score) for c in answer.citations] + [(citation_of(e), e.score) for e in evidence]
    for c, score in candidates:
        key = (c.file, c.line, re.sub(r"\s+", " ", c.quote.strip().lower()))
        if key in seen or not c.quote.strip() or score < ratio * best:
            continue
        seen.add(key)
        out.append(Passage(c.file, c.line, c.start, c.end, c.quote, cite=c.model_copy(update={"score": 0.0})))
        if len(out) >= MAX_PASSAGES:
            break
    return out
