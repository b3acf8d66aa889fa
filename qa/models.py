"""Typed results of question answering."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Citation(BaseModel):
    """A verbatim quote from one line of one corpus file."""

    file: str = Field(description="Path of the cited file relative to the corpus root, with '/' separators.")
    line: int = Field(description="1-based line number of the quote, as editors and `sed -n Np` count.")
    quote: str = Field(description="Exact text found on that line: a verbatim substring of it.")
    start: int = Field(description="0-based character offset of the quote within the line.")
    end: int = Field(description="0-based character offset one past the quote's end within the line.")
    score: float = Field(description="Relevance of the quoted sentence to the question (higher is better).")
    restated_in: list[str] = Field(
        default_factory=list,
        description="'file:line' of matching sentences in near-duplicate documents: the same source repeated, not independent corroboration.",
    )

    @property
    def location(self) -> str:
        """``file:line``."""
        return f"{self.file}:{self.line}"


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


class Timings(BaseModel):
    """Where the time of one answer went, in milliseconds."""

    embed_ms: float = Field(default=0.0, description="Embedding the question.")
    retrieve_ms: float = Field(default=0.0, description="Dense + BM25 retrieval and fusion (embedding excluded).")
    compose_ms: float = Field(default=0.0, description="Scoring sentences, extracting the short answer, writing the text.")
    verify_ms: float = Field(default=0.0, description="Checking every quote against the file on disk.")
    total_ms: float = Field(default=0.0, description="Whole call.")


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
    evidence_score: float = Field(description="How strongly the best passage supports answering (0-1); the answer abstains under the threshold.")
    threshold: float = Field(description="The abstention threshold in force for this answer.")
    retrieved: list[RetrievedChunk] = Field(default_factory=list, description="Chunks retrieval found, in fused order.")
    timings: Timings = Field(default_factory=Timings, description="Latency breakdown.")
    corpus: str = Field(description="Absolute path of the corpus answered from.")
