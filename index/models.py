"""Typed records of the index: where each sentence and chunk sits in its file."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer


class LineSpan(BaseModel):
    """A run of characters on one line of a file."""

    model_config = ConfigDict(frozen=True)

    line: int = Field(description="1-based line number, as `sed -n Np` and editors count lines.")
    start: int = Field(description="0-based character offset of the span's first character within the line.")
    end: int = Field(description="0-based character offset one past the span's last character within the line.")
    page: int | None = Field(default=None, description="1-based page holding the line, for paged formats (PDF).")
    page_line: int | None = Field(default=None, description="1-based line number within that page (PDF).")

    @model_serializer(mode="wrap")
    def _drop_unpaged(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Text files' spans (almost all of a manifest) are stored without the two page fields.
        data = handler(self)
        if isinstance(data, dict) and data.get("page") is None:
            data.pop("page", None)
            data.pop("page_line", None)
        return data


class Sentence(BaseModel):
    """One sentence of a file. A sentence that wraps over lines keeps one span per line."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(description="The sentence text; wrapped lines are joined with a single space.")
    spans: list[LineSpan] = Field(description="Where the sentence's words sit, one span per line, in order.")

    @property
    def line(self) -> int:
        """The first line of the sentence."""
        return self.spans[0].line


class Chunk(BaseModel):
    """Consecutive whole sentences of one file: the unit that is embedded and retrieved."""

    id: str = Field(description="Stable id: derived from the file path, the file's content hash and the chunk's position.")
    file: str = Field(description="Path of the file relative to the corpus root, with '/' separators.")
    file_hash: str = Field(description="SHA-256 of the file's bytes when the chunk was made.")
    ordinal: int = Field(description="0-based position of the chunk within its file.")
    first_line: int = Field(description="1-based first line the chunk covers.")
    last_line: int = Field(description="1-based last line the chunk covers.")
    text: str = Field(description="The chunk's sentences joined by spaces.")
    section: str | None = Field(default=None, description="The headings the chunk sits under ('Options > --inspect'), in Markdown and HTML.")
    sentences: list[Sentence] = Field(description="The chunk's sentences with their line and character positions.")


class SkippedFile(BaseModel):
    """A file that was not indexed, and why."""

    file: str = Field(description="Path relative to the corpus root.")
    reason: str = Field(description="Why it was skipped, in words a user can act on.")


class IndexReport(BaseModel):
    """What one indexing run did."""

    corpus: str = Field(description="Absolute path of the corpus folder.")
    files_seen: int = Field(description="Files with an indexed extension found under the corpus.")
    files_indexed: int = Field(description="Files (re-)chunked and embedded in this run: new or changed.")
    files_unchanged: int = Field(description="Files whose content hash matched the index: nothing re-embedded.")
    files_removed: int = Field(description="Files that disappeared from the corpus and were removed from the index.")
    skipped: list[SkippedFile] = Field(default_factory=list, description="Files skipped, each with its reason.")
    chunks_total: int = Field(description="Chunks in the index after the run.")
    embedding_calls: int = Field(description="Calls to the embedding models in this run, each a batch (0 when nothing changed).")
    texts_embedded: int = Field(default=0, description="Texts embedded in this run: new chunks and their sentences (0 when nothing changed).")
    seconds: float = Field(description="Wall time of the run.")


def search_text(chunk: Chunk) -> str:
    """What is embedded and searched for a chunk: its section path (the headings above it), then its text."""
    return f"{chunk.section}: {chunk.text}" if chunk.section else chunk.text
