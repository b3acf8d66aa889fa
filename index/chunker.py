"""Group sentences into chunks: whole sentences, never across a paragraph, about ``max_chars`` long."""

from __future__ import annotations

import hashlib

from .models import Chunk, LineSpan, Sentence
from .reader import page_of
from .sentences import section_paths, split_sentences


def chunk_id(file: str, file_hash: str, ordinal: int) -> str:
    """Stable id of a chunk; the same file content always yields the same ids."""
    digest = hashlib.sha256(f"{file}\0{file_hash}\0{ordinal}".encode()).hexdigest()[:24]
    return f"c{digest}"


def _paged(sentence: Sentence, pages: list[int]) -> Sentence:
    spans = []
    for span in sentence.spans:
        where = page_of(pages, span.line)
        spans.append(span if where is None else LineSpan(**{**span.model_dump(), "page": where[0], "page_line": where[1]}))
    return Sentence(text=sentence.text, spans=spans)


def chunk_lines(lines: list[str], file: str, file_hash: str, max_chars: int, pages: list[int] | None = None) -> list[Chunk]:
    """Chunk one file's lines. A sentence longer than ``max_chars`` becomes a chunk on its own.

    ``pages`` (a paged file's first line of each page) gives every span its page and line on that page.
    """
    groups: list[list[Sentence]] = []
    sections = section_paths(lines)
    for paragraph in split_sentences(lines):
        if pages:
            paragraph = [_paged(s, pages) for s in paragraph]
        group: list[Sentence] = []
        size = 0
        for sentence in paragraph:
            if group and size + 1 + len(sentence.text) > max_chars:
                groups.append(group)
                group, size = [], 0
            group.append(sentence)
            size += len(sentence.text) + (1 if size else 0)
        if group:
            groups.append(group)
    return [
        Chunk(
            id=chunk_id(file, file_hash, ordinal),
            file=file,
            file_hash=file_hash,
            ordinal=ordinal,
            first_line=group[0].spans[0].line,
            last_line=group[-1].spans[-1].line,
            text=" ".join(s.text for s in group),
            section=sections[group[0].spans[0].line - 1],
            sentences=group,
        )
        for ordinal, group in enumerate(groups)
    ]
