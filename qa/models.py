"""Typed results of question answering."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field, model_validator


class Citation(BaseModel):
    """A verbatim quote from one line of one corpus file, or a sentence wrapped over consecutive lines."""

    file: str = Field(description="Path of the cited file relative to the corpus root, with '/' separators.")
    line: int = Field(description="1-based line number of the quote (its first line), as editors and `sed -n Np` count.")
    quote: str = Field(description="Exact text found on that line: a verbatim substring of it (for a wrapped sentence, the "
                       "verbatim pieces of its lines joined by single spaces).")
    start: int = Field(description="0-based character offset of the quote within the (first) line.")
    end: int = Field(description="0-based character offset one past the quote's end within the line (the last line, if wrapped).")
    score: float = Field(description="Relevance of the quoted sentence to the question (higher is better).")
    restated_in: list[str] = Field(
        default_factory=list,
        description="Where near-duplicate documents repeat the sentence ('file:line', or 'file:pN:M' in a PDF): the same source repeated, not independent corroboration.",
    )
    page: int | None = Field(default=None, description="1-based page of the quote in a paged document (PDF); None for other files.")
    page_line: int | None = Field(default=None, description="1-based line of the quote on that page (PDF); None for other files.")
    last_line: int | None = Field(
        default=None,
        description="For a sentence wrapped over several lines, quoted whole: its last line (``end`` is then the offset "
        "on that line, and ``quote`` the lines' pieces joined by single spaces). None: the quote is on ``line`` alone.",
    )
    last_page: int | None = Field(default=None, description="Page of ``last_line`` in a PDF.")
    last_page_line: int | None = Field(default=None, description="Line of ``last_line`` on that page, in a PDF.")
    section: str | None = Field(default=None, description="The headings the quote sits under ('Options > --inspect'), in Markdown and HTML.")

    @property
    def location(self) -> str:
        """``file:line`` (the first line, in the file's text view): the key that verification and the viewer use."""
        return f"{self.file}:{self.line}"

    @computed_field(description="Where to look, as shown to readers: 'file:line' or 'file:12-13' for a wrapped sentence; "  # type: ignore[prop-decorator]
                    "in a PDF 'file:pPAGE:LINE', 'file:p3:12-13' or 'file:p3:40-p4:2'.")
    @property
    def ref(self) -> str:
        return display_ref(self.file, self.line, self.page, self.page_line, self.last_line, self.last_page, self.last_page_line)


def display_ref(
    file: str, line: int, page: int | None = None, page_line: int | None = None,
    last_line: int | None = None, last_page: int | None = None, last_page_line: int | None = None,
) -> str:
    """``file:line`` / ``file:line-last``, or for a paged document ``file:pP:L``, ``file:pP:L-M``, ``file:pP:L-pQ:M``."""
    if page is None or page_line is None:
        return f"{file}:{line}" if last_line is None or last_line == line else f"{file}:{line}-{last_line}"
    start = f"{file}:p{page}:{page_line}"
    if last_line is None or last_line == line or last_page is None or last_page_line is None:
        return start
    return f"{start}-{last_page_line}" if last_page == page else f"{start}-p{last_page}:{last_page_line}"


class SourceValue(BaseModel):
    """One of several values that the sources give for the same fact."""

    value: str = Field(description="The value, verbatim as the first of its citations gives it.")
    locations: list[str] = Field(description="'file:line' of every cited sentence giving this value.")


class RetrievedChunk(BaseModel):
    """A chunk found by retrieval, with the scores that ranked it."""

    chunk_id: str = Field(description="Id of the chunk in the index.")
    file: str = Field(description="File of the chunk, relative to the corpus root.")
    first_line: int = Field(description="1-based first line of the chunk.")
    last_line: int = Field(description="1-based last line of the chunk.")
    text: str = Field(description="Text of the chunk.")
    dense_score: float | None = Field(default=None, description="Cosine similarity to the question (dense retriever), if it found this chunk.")
    bm25_score: float | None = Field(default=None, description="BM25 score (lexical retriever), if it found this chunk.")
    fused_score: float = Field(description="Reciprocal-rank-fusion score over both retrievers.")
    evidence_score: float | None = Field(
        default=None,
        description="Best evidence score of a sentence of this chunk (the scorer's; None: its sentences were not read). "
        "An answer lists chunks by this score first, then the rest by fused score.",
    )


class Timings(BaseModel):
    """Where the time of one answer went, in milliseconds."""

    embed_ms: float = Field(default=0.0, description="Embedding the question.")
    retrieve_ms: float = Field(default=0.0, description="Dense + BM25 retrieval and fusion (embedding excluded).")
    compose_ms: float = Field(default=0.0, description="Scoring sentences, extracting the short answer, writing the text.")
    verify_ms: float = Field(default=0.0, description="Checking every quote against the file on disk.")
    total_ms: float = Field(default=0.0, description="Whole call.")


class GeneratedSentence(BaseModel):
    """One sentence of an LLM's answer and what the citation check made of it."""

    text: str = Field(description="The sentence as generated, with its [file:line] labels removed.")
    supported: bool = Field(description="True when the cited passages contain its names, numbers and content words; unsupported sentences are dropped from the answer.")
    citations: list[str] = Field(default_factory=list, description="'file:line' of the passages that support it (re-anchored; empty when unsupported).")
    reason: str | None = Field(default=None, description="Why it was dropped, when it was.")


class Generation(BaseModel):
    """What the LLM did for a generative answer (``DOCQA_LLM`` set)."""

    backend: str = Field(description="The LLM backend and model, e.g. 'llamacpp:gemma-3-270m...gguf'.")
    raw: str = Field(default="", description="The model's output exactly as generated (before any check).")
    sentences: list[GeneratedSentence] = Field(default_factory=list, description="Each generated sentence with its verdict, in order.")
    invalid_labels: list[str] = Field(default_factory=list, description="Labels the model cited that were not among the passages it was shown (ignored).")
    fallback: str | None = Field(default=None, description="Why the extractive answer was returned instead of the generated one; None when the generated answer is used.")
    generate_ms: float = Field(default=0.0, description="Time spent in the LLM (prompt and generation).")


def threshold_reason(score: float, threshold: float) -> str:
    """Why an answer whose evidence stayed under the threshold abstained, for people."""
    return f"no passage supports an answer (evidence {score:.2f}, needs {threshold:.2f})"


#: How the UIs title an abstention's closest passages (``Answer.closest``).
CLOSEST_TITLE = "Closest passages (they may not answer the question: check them)"


class Answer(BaseModel):
    """The answer to one question, with its evidence."""

    question: str = Field(description="The question as asked.")
    standalone_question: str = Field(description="The question actually searched: the follow-up rewritten with context from history, or the question itself.")
    text: str = Field(description="The answer for people: short answer first, then the quoted statements with file:line.")
    short_answer: str | None = Field(default=None, description="The direct answer (entity, number, date, place), a verbatim span of the first citation's quote; None when the question asks for none or none was found.")
    short_answer_is_summary: bool = Field(
        default=False, description="True when short_answer lists several values the sources disagree on, rather than quoting one span."
    )
    disagreement: list[SourceValue] = Field(
        default_factory=list, description="When the sources give different values for the asked fact: each value with its citations."
    )
    citations: list[Citation] = Field(default_factory=list, description="Verified quotes supporting the answer, best first; empty when abstained.")
    abstained: bool = Field(description="True when the documents do not hold the answer; then `citations` is empty.")
    abstain_reason: str | None = Field(
        default=None,
        description="Why it abstained, for people: no passage scored the threshold (the default for an abstention), or what "
        "the closest passages lack for this question (a count, a year, a span of time, a negation); None when it answered.",
    )
    closest: list[Citation] = Field(
        default_factory=list,
        description="Abstentions only: the best-scored passages that did not clear the bar, verified quotes best first "
        "(DOCQA_CLOSEST_PASSAGES of them). Not an answer: they may not answer the question, and a reader checks them. "
        "Empty when it answered.",
    )
    evidence_score: float = Field(description="How strongly the best passage supports answering (0-1); the answer abstains under the threshold.")
    threshold: float = Field(description="The abstention threshold in force for this answer.")
    retrieved: list[RetrievedChunk] = Field(default_factory=list, description="Chunks retrieval found, in fused order.")
    timings: Timings = Field(default_factory=Timings, description="Latency breakdown.")
    corpus: str = Field(description="Absolute path of the corpus answered from.")
    rewritten_by: Literal["none", "rules", "llm"] = Field(
        default="none", description="Who turned the question into standalone_question: nobody (asked as is), the rule-based rewriter, or the LLM."
    )
    mode: Literal["extractive", "generative"] = Field(
        default="extractive", description="extractive: text is built from quotes; generative: text is the LLM's checked sentences, then the quotes."
    )
    generation: Generation | None = Field(default=None, description="The LLM's part, when DOCQA_LLM is set (including why it fell back, if it did).")

    @model_validator(mode="after")
    def _abstention_says_why(self) -> Answer:
        """An abstention made without a reason abstained on the threshold: say so, the same way everywhere."""
        if self.abstained and self.abstain_reason is None:
            self.abstain_reason = threshold_reason(self.evidence_score, self.threshold)
        if self.closest and not self.abstained:
            raise ValueError("closest passages belong to abstentions only: an answer's support is its citations")
        return self


class StreamToken(BaseModel):
    """A piece of an answer being generated (shown as it comes; the final Answer replaces it)."""

    delta: str = Field(description="New text from the model.")


class StreamDone(BaseModel):
    """The end of a stream: the checked, final answer."""

    answer: Answer = Field(description="The final answer, citations verified.")
