"""The text view of a PDF: its text layer, page by page, as numbered lines that map back to the page.

pdfium (``pypdfium2``, BSD/Apache, wheels for every platform) reads the text layer. Each page's text is split into
lines as pdfium lays them out; the text view is the pages' lines in order, and ``PdfText.pages`` holds the first
text-view line of every page, so text-view line N is line ``N - start + 1`` of its page. The characters of a page's
text keep pdfium's character indices (one text character per pdfium character; the ``\\r\\n`` pdfium generates
between lines is two characters), so a quote's characters, and their boxes on the page, are found again from
(page, line on the page, start, end).

Nothing in a PDF is executed: pdfium is built without JavaScript or XFA in these wheels, and only text is read.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from .errors import DocumentError

logger = logging.getLogger(__name__)

#: Characters pdfium uses for hyphens and odd glyphs, replaced one for one (offsets stay valid).
_ODD = str.maketrans({"\x02": "-", "\x03": "-", "\x00": " ", "\uffff": " "})
_JOIN = "\ufffe"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_LINE_END = re.compile(r"\r\n|\r|\n")
#: From this many pages, reading a PDF shows a progress bar.
LONG_PDF_PAGES = 200


@dataclass(frozen=True)
class PdfText:
    """A PDF's text view: the lines of all pages in order, and where each page starts."""

    lines: list[str]
    pages: list[int]


class Box(BaseModel):
    """A rectangle on a rendered page, in pixels from the top-left corner of the page image."""

    left: float = Field(description="Distance of the box's left edge from the image's left edge, in pixels.")
    top: float = Field(description="Distance of the box's top edge from the image's top edge, in pixels.")
    width: float = Field(description="Width in pixels.")
    height: float = Field(description="Height in pixels.")


def _pdfium() -> Any:
    try:
        import pypdfium2 as pdfium
    except ImportError as exc:  # pragma: no cover - a dependency of docqa
        raise DocumentError("reading PDFs needs pypdfium2: reinstall docqa (pip install -e .)") from exc
    return pdfium


@contextmanager
def open_pdf(data: bytes, label: str) -> Iterator[Any]:
    """Open PDF bytes with pdfium; an unreadable file is a DocumentError saying why."""
    pdfium = _pdfium()
    head = data[:1024]
    if b"%PDF-" not in head:
        kind = "empty" if not data else f"starts with {data[:8]!r}"
        raise DocumentError(f"not a PDF (no %PDF- header; {kind}); if it is text, give it a .txt extension")
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        text = str(exc)
        if "password" in text.lower():
            raise DocumentError("encrypted PDF (it needs a password); save a copy without a password to index it") from None
        raise DocumentError(f"unreadable PDF, truncated or corrupt ({text}); open and re-save it to index it") from None
    try:
        yield pdf
    finally:
        pdf.close()


def _page_text(page: Any) -> str:
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        return textpage.get_text_range(0, count) if count else ""
    finally:
        textpage.close()


def page_lines(page: Any) -> list[str]:
    """A page's lines as pdfium lays them out.

    pdfium marks a word it joined across a hyphenated line break with U+FFFE where the hyphen was ("manip\ufffeulation"):
    the mark is dropped, so the word reads whole. Other control characters become spaces.
    """
    text = _CONTROL.sub(" ", _page_text(page).replace(_JOIN, "").translate(_ODD))
    lines = _LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def line_char_indices(page: Any) -> list[list[int]]:
    """For each line of ``page_lines(page)``, the pdfium character index of each of its characters."""
    text = _page_text(page)
    out: list[list[int]] = [[]]
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\r" and text[index + 1 : index + 2] == "\n":
            out.append([])
            index += 2
            continue
        if char in "\r\n":
            out.append([])
        elif char != _JOIN:
            out[-1].append(index)
        index += 1
    if out and not out[-1]:
        out.pop()
    return out


def read_pdf(data: bytes, label: str, max_pages: int) -> PdfText:
    """The text view of PDF bytes; no text layer, encryption or a corrupt file is a DocumentError."""
    with open_pdf(data, label) as pdf:
        count = len(pdf)
        if count > max_pages:
            raise DocumentError(f"{count} pages is over the {max_pages}-page limit (split the PDF to index it)")
        lines: list[str] = []
        pages: list[int] = []
        from tqdm import tqdm

        # One page in memory at a time; a long PDF shows a bar of pages read (on a terminal).
        bar = tqdm(total=count, unit="page", desc=f"reading {label}"[:60], file=sys.stderr, leave=False,
                   disable=count < LONG_PDF_PAGES or not sys.stderr.isatty())
        for number in range(count):
            bar.update(1)
            page = pdf[number]
            try:
                mine = page_lines(page)
            except Exception as exc:  # pdfium raises its own errors on a damaged page
                raise DocumentError(f"page {number + 1} cannot be read ({exc}); open and re-save the PDF") from None
            finally:
                page.close()
            pages.append(len(lines) + 1)
            lines.extend(mine)
        bar.close()
        if count >= LONG_PDF_PAGES:
            logger.info("%s: read %d pages, %d lines", label, count, len(lines))
    if not any(line.strip() for line in lines):
        raise DocumentError(f"no text layer in {count} page(s) (a scan?); OCR is not available, so export it with text")
    return PdfText(lines=lines, pages=pages)


def page_count(data: bytes, label: str) -> int:
    with open_pdf(data, label) as pdf:
        return len(pdf)


def render_page(data: bytes, label: str, page: int, scale: float = 1.5) -> tuple[bytes, int, int]:
    """PNG bytes of 1-based ``page`` rendered at ``scale`` (72 dpi x scale), with its pixel width and height."""
    import io

    with open_pdf(data, label) as pdf:
        if not 1 <= page <= len(pdf):
            raise DocumentError(f"page {page} does not exist (the PDF has {len(pdf)} pages)")
        doc_page = pdf[page - 1]
        try:
            bitmap = doc_page.render(scale=scale)
            image = bitmap.to_pil()
            out = io.BytesIO()
            image.save(out, format="PNG")
            return out.getvalue(), image.width, image.height
        finally:
            doc_page.close()


def quote_boxes(data: bytes, label: str, page: int, line: int, start: int, end: int, scale: float = 1.5) -> list[Box]:
    """Boxes, on the page rendered at ``scale``, of the characters ``start:end`` of line ``line`` of 1-based ``page``.

    One box per run of characters on the same text line (merged character boxes), so a highlight covers the quote.
    """
    with open_pdf(data, label) as pdf:
        if not 1 <= page <= len(pdf):
            raise DocumentError(f"page {page} does not exist (the PDF has {len(pdf)} pages)")
        doc_page = pdf[page - 1]
        try:
            lines = page_lines(doc_page)
            indices = line_char_indices(doc_page)
            if not 1 <= line <= len(lines) or len(indices) != len(lines):
                raise DocumentError(f"line {line} is not on page {page} (it has {len(lines)} lines)")
            text, where = lines[line - 1], indices[line - 1]
            height = doc_page.get_height()
            textpage = doc_page.get_textpage()
            try:
                boxes: list[Box] = []
                current: list[float] | None = None
                for offset in range(max(start, 0), min(end, len(text), len(where))):
                    if text[offset].isspace():
                        continue
                    left, bottom, right, top = textpage.get_charbox(where[offset])
                    if right <= left or top <= bottom:
                        continue
                    # Same text line: the character overlaps the box vertically (a comma sits lower than a digit).
                    if current is not None and bottom <= current[3] and top >= current[1] and left >= current[0]:
                        current = [current[0], min(current[1], bottom), max(current[2], right), max(current[3], top)]
                        continue
                    if current is not None:
                        boxes.append(_to_pixels(current, height, scale))
                    current = [left, bottom, right, top]
                if current is not None:
                    boxes.append(_to_pixels(current, height, scale))
                return boxes
            finally:
                textpage.close()
        finally:
            doc_page.close()


def _to_pixels(box: list[float], page_height: float, scale: float) -> Box:
    left, bottom, right, top = box
    return Box(left=left * scale, top=(page_height - top) * scale, width=(right - left) * scale, height=(top - bottom) * scale)
