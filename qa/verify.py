"""Check every citation against the file on disk before it is returned."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from index import DocqaError, TextFile, page_of, read_text_file, resolve_inside

from .models import Citation

logger = logging.getLogger(__name__)


class LineSource:
    """Reads corpus files' lines (cached by size and mtime) to verify quotes."""

    def __init__(self, corpus: Path) -> None:
        self.corpus = corpus
        self._cache: dict[str, tuple[tuple[int, int], TextFile]] = {}
        self._lock = threading.Lock()

    def lines(self, file: str) -> list[str] | None:
        """Current lines of a corpus file, or None if it cannot be read any more."""
        current = self._read(file)
        return current.lines if current is not None else None

    def lines_if_unchanged(self, file: str, sha256: str) -> list[str] | None:
        """Current lines of a file only if its content still hashes to ``sha256`` (the indexed version)."""
        current = self._read(file)
        return current.lines if current is not None and current.sha256 == sha256 else None

    def _read(self, file: str) -> TextFile | None:
        try:
            path = resolve_inside(self.corpus, file)
            st = os.stat(path)
        except (OSError, DocqaError):
            return None
        key = (st.st_size, st.st_mtime_ns)
        with self._lock:
            hit = self._cache.get(file)
        if hit is not None and hit[0] == key:
            return hit[1]
        try:
            text = read_text_file(path, file)
        except DocqaError:
            return None
        with self._lock:
            self._cache[file] = (key, text)
        return text

    def verify(self, citation: Citation) -> bool:
        """True when ``citation.quote`` is exactly the text at ``[start:end]`` of that line of that file, and a
        PDF citation's page and line on the page are where that line is."""
        text = self._read(citation.file)
        if text is None or not 1 <= citation.line <= len(text.lines) or not citation.quote:
            return False
        if citation.page is not None and page_of(text.pages, citation.line) != (citation.page, citation.page_line):
            return False
        if citation.last_line is not None and citation.last_page is not None and (
            page_of(text.pages, citation.last_line) != (citation.last_page, citation.last_page_line)
        ):
            return False
        return quoted_text(text.lines, citation) == citation.quote


def quoted_text(lines: list[str], citation: Citation) -> str | None:
    """The text a citation points at: ``[start:end]`` of its line, or for a line range the first line from ``start``,
    the whole lines between and the last line up to ``end``, each piece stripped and joined by single spaces (as a
    wrapped sentence's text is made). None when the lines do not exist or a piece is blank."""
    last = citation.last_line if citation.last_line is not None else citation.line
    if not 1 <= citation.line <= last <= len(lines):
        return None
    if last == citation.line:
        return lines[citation.line - 1][citation.start : citation.end]
    pieces = [lines[citation.line - 1][citation.start :].rstrip()]
    pieces += [lines[n - 1].strip() for n in range(citation.line + 1, last)]
    pieces.append(lines[last - 1][: citation.end].lstrip())
    if not all(pieces):
        return None
    return " ".join(pieces)


def verified(citations: list[Citation], source: LineSource) -> list[Citation]:
    """Only the citations whose quote is verbatim on their line; the others are logged and dropped."""
    good = []
    for c in citations:
        if source.verify(c):
            good.append(c)
        else:
            logger.warning("dropped citation %s: quote not found verbatim (file changed since indexing?)", c.location)
    return good
