"""Read a corpus file into its exact lines.

llama-index's readers return one text blob per file and lose line positions, so this
small reader is ours: it decodes bytes and splits lines the way editors show them
(``\\r\\n``, lone ``\\r`` and ``\\n`` each end a line), so that line N here is line N in an
editor and, for ``\\n``/``\\r\\n`` files, in ``sed -n Np``.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import DocumentError

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Control characters other than tab/newline/CR/form feed: many of them means binary data.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class TextFile:
    """A decoded text file: its exact lines (without line terminators) and how it was decoded."""

    lines: list[str]
    encoding: str
    sha256: str
    #: For paged formats (PDF): the 1-based first line of every page, in page order; None for text files.
    pages: list[int] | None = None


#: Extensions read by a format reader into a text view (numbered lines); every other extension is decoded as text.
DOCUMENT_KINDS = {".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html", ".xhtml": "html"}
#: Pages read from one PDF, at most.
MAX_PDF_PAGES = 10_000


def page_of(pages: list[int] | None, line: int) -> tuple[int, int] | None:
    """(page, line on that page) of text-view ``line``, or None for an unpaged file."""
    if not pages:
        return None
    import bisect

    index = bisect.bisect_right(pages, line) - 1
    if index < 0:
        return None
    return index + 1, line - pages[index] + 1


def line_of_page(pages: list[int], page: int, line: int, total: int) -> int | None:
    """Text-view line of line ``line`` of 1-based ``page`` in a text view of ``total`` lines, or None when there is
    no such line."""
    if not 1 <= page <= len(pages) or line < 1:
        return None
    number = pages[page - 1] + line - 1
    following = pages[page] if page < len(pages) else total + 1
    return number if number < following else None


def split_lines(text: str) -> list[str]:
    """Split text into lines as an editor shows them; a trailing newline does not add an empty line."""
    if text == "":
        return []
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def decode(data: bytes, name: str = "<bytes>") -> tuple[str, str]:
    """Decode file bytes: UTF-8 (BOM stripped), else Windows-1252/Latin-1; binary data raises DocumentError.

    Line breaks are single-byte in all three encodings, so the fallback keeps line numbers right.
    """
    if b"\x00" in data[:8192] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DocumentError(f"{name}: looks binary (contains NUL bytes); only text files can be indexed")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise DocumentError(f"{name}: has a UTF-16 byte-order mark but is not valid UTF-16 ({exc.reason})") from exc
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "latin-1"
    sample = text[:8192]
    if sample and len(_CONTROL.findall(sample)) > max(8, len(sample) // 100):
        raise DocumentError(f"{name}: looks binary (many control characters); only text files can be indexed")
    return text, encoding


def read_text_file(path: Path, name: str | None = None, max_bytes: int | None = None) -> TextFile:
    """Read one file into its text view (decoded text, or a PDF/DOCX/HTML reader's lines); any problem is a
    DocumentError naming the file and the fix."""
    label = name or str(path)
    return text_view(read_file_bytes(path, label, max_bytes), label, path.suffix.lower())


def read_file_bytes(path: Path, label: str, max_bytes: int | None = None) -> bytes:
    """A file's bytes, within ``max_bytes``; any problem is a DocumentError naming the file and the fix."""
    try:
        if max_bytes is not None:
            size = path.stat().st_size
            if size > max_bytes:
                raise DocumentError(
                    f"{label}: {size} bytes is over the {max_bytes}-byte limit (raise DOCQA_MAX_FILE_BYTES to index it)"
                )
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise DocumentError(f"{label}: disappeared while being read") from exc
    except PermissionError as exc:
        raise DocumentError(f"{label}: permission denied (make it readable to index it)") from exc
    except IsADirectoryError as exc:
        raise DocumentError(f"{label}: is a directory, not a file") from exc
    except OSError as exc:
        raise DocumentError(f"{label}: cannot be read ({exc.strerror or exc})") from exc


def text_view(data: bytes, label: str, suffix: str) -> TextFile:
    """The text view of a file's bytes, by the kind its extension names."""
    digest = hashlib.sha256(data).hexdigest()
    kind = DOCUMENT_KINDS.get(suffix)
    try:
        if kind == "pdf":
            from .read_pdf import read_pdf

            pdf = read_pdf(data, label, MAX_PDF_PAGES)
            return TextFile(lines=pdf.lines, encoding="pdf", sha256=digest, pages=pdf.pages)
        if kind == "docx":
            from .read_docx import read_docx

            return TextFile(lines=read_docx(data), encoding="docx", sha256=digest)
        if kind == "html":
            from .read_html import read_html

            decode(data, label)  # refuses binary data with the text reader's reasons
            return TextFile(lines=read_html(data), encoding="html", sha256=digest)
    except DocumentError as exc:
        message = str(exc)
        raise DocumentError(message if message.startswith(label) else f"{label}: {message}") from None
    except RecursionError:
        raise DocumentError(f"{label}: nested too deeply to read") from None
    if data[:5] == b"%PDF-":
        raise DocumentError(f"{label}: is a PDF, not text; give it a .pdf extension to index it")
    if data[:4] == b"PK\x03\x04" and b"word/" in data[:4096]:
        raise DocumentError(f"{label}: is a Word document, not text; give it a .docx extension to index it")
    text, encoding = decode(data, label)
    return TextFile(lines=split_lines(text), encoding=encoding, sha256=digest)
