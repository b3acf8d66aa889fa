"""The text view of a Word (.docx) file: paragraphs and table cells in reading order, one per line.

python-docx (MIT) parses the document; before it sees the file, the zip is checked, so that a file that is not a zip,
a zip without ``word/document.xml``, or a zip bomb (a huge uncompressed size, or an absurd compression ratio) gets a
reason instead of exhausting memory. A paragraph's line breaks (``<w:br/>``) become lines of their own; a table is
read row by row, one line per cell paragraph; empty paragraphs become blank lines, which end a paragraph.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from .errors import DocumentError

#: Uncompressed size of all parts, at most.
MAX_UNZIPPED = 200 * 1024 * 1024
#: Compression ratio of any one part, at most (text XML compresses about 5-20x).
MAX_RATIO = 200


def check_zip(data: bytes) -> None:
    """Refuse what is not a .docx zip, or would inflate to something huge."""
    if not data.startswith(b"PK"):
        kind = "empty" if not data else f"starts with {data[:8]!r}"
        raise DocumentError(f"not a Word .docx file (not a zip archive; {kind}); save it as .docx to index it")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise DocumentError(f"damaged .docx: not a readable zip archive ({exc}); open and re-save it to index it") from None
    names = {i.filename for i in infos}
    if "word/document.xml" not in names:
        raise DocumentError("not a Word .docx file (the zip has no word/document.xml)")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED:
        raise DocumentError(f"refused: unzips to {total} bytes, over the {MAX_UNZIPPED}-byte limit (a zip bomb?)")
    for info in infos:
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise DocumentError(
                f"refused: {info.filename} expands {info.file_size // max(info.compress_size, 1)}x (a zip bomb?)"
            )


def _paragraph_lines(paragraph: Any) -> list[str]:
    text = paragraph.text.replace("\t", " ")
    return [line.rstrip() for line in text.replace("\r", "\n").split("\n")]


def _iter_blocks(document: Any) -> list[str]:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    lines: list[str] = []

    def table_lines(table: Any) -> None:
        seen: set[Any] = set()  # the cells' XML elements, kept alive so that identity is stable
        for row in table.rows:
            for cell in row.cells:
                # A merged cell appears once per grid column it spans; read it once.
                if cell._tc in seen:
                    continue
                seen.add(cell._tc)
                for block in cell.iter_inner_content():
                    if isinstance(block, Table):
                        table_lines(block)
                    else:
                        lines.extend(line for line in _paragraph_lines(block) if line.strip())
            lines.append("")

    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.extend(_paragraph_lines(block))
        elif isinstance(block, Table):
            if lines and lines[-1]:
                lines.append("")
            table_lines(block)
    return lines


def read_docx(data: bytes) -> list[str]:
    """The text view of .docx bytes."""
    check_zip(data)
    try:
        import docx
    except ImportError as exc:  # pragma: no cover - a dependency of docqa
        raise DocumentError("reading .docx files needs python-docx: reinstall docqa (pip install -e .)") from exc
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors... on a damaged part
        raise DocumentError(f"damaged .docx ({type(exc).__name__}: {exc}); open and re-save it to index it") from None
    lines = _iter_blocks(document)
    while lines and not lines[-1].strip():
        lines.pop()
    if not any(line.strip() for line in lines):
        raise DocumentError("the .docx holds no text")
    return lines
