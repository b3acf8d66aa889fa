"""Build tiny PDF, Word and HTML documents for the tests (fpdf2, python-docx): known text at known places."""

from __future__ import annotations

import io
from pathlib import Path

#: A two-page report. Each string is one line of text on its page (short enough never to wrap).
REPORT_PAGES = [
    ["Annual Report of the Harbor Museum", "", "The museum opened in 1931.", "Its founder was Maria Lopez."],
    ["Collections", "", "The museum holds 4,000 model ships.", "The oldest ship model dates from 1702."],
]


def pdf_bytes(pages: list[list[str]], encrypt: str | None = None, image_only_pages: int = 0) -> bytes:
    """A PDF with one text line per string (Helvetica 12, 10 mm apart); ``image_only_pages`` adds pages with only a
    drawn shape (no text layer, like a scan); ``encrypt`` sets a user password."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=12)
    for lines in pages:
        pdf.add_page()
        for number, text in enumerate(lines):
            if text:
                pdf.text(20, 30 + 10 * number, text)
    for _ in range(image_only_pages):
        pdf.add_page()
        pdf.set_fill_color(120, 120, 120)
        pdf.rect(20, 20, 150, 200, style="F")
    if encrypt is not None:
        pdf.set_encryption(owner_password="owner-" + encrypt, user_password=encrypt)
    return bytes(pdf.output())


def docx_bytes(paragraphs: list[str], table: list[list[str]] | None = None, after: list[str] | None = None) -> bytes:
    """A Word file: ``paragraphs``, then a table of ``table`` rows (if any), then ``after``."""
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, text in enumerate(row):
                grid.cell(r, c).text = text
    for text in after or []:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
