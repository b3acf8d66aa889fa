"""PDF, Word and HTML files: their text views, page citations, and a reason for every file that cannot be read."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from index import CorpusIndex, DocumentError, HashingEmbedder, line_of_page, page_of, read_text_file
from qa import QAEngine
from qa.verify import LineSource

from .docfixtures import REPORT_PAGES, docx_bytes, pdf_bytes, write

# ----------------------------------------------------------------------------------------------------------- PDF


def test_pdf_text_view_is_the_pages_lines_in_order(tmp_path: Path) -> None:
    view = read_text_file(write(tmp_path / "report.pdf", pdf_bytes(REPORT_PAGES)))
    text = [line for line in view.lines if line.strip()]
    assert text == [line for page in REPORT_PAGES for line in page if line]
    assert view.encoding == "pdf" and view.pages is not None and len(view.pages) == 2
    # Line N of the text view is line N - start + 1 of its page, and back.
    second = view.lines.index("The museum holds 4,000 model ships.") + 1
    assert page_of(view.pages, second)[0] == 2
    page, on_page = page_of(view.pages, second)
    assert line_of_page(view.pages, page, on_page, len(view.lines)) == second
    assert line_of_page(view.pages, 2, 4, len(view.lines)) is None and line_of_page(view.pages, 3, 1, len(view.lines)) is None


def test_page_of_and_line_of_page_by_hand() -> None:
    pages = [1, 4, 4, 9]  # page 3 is empty
    assert [page_of(pages, n) for n in (1, 3, 4, 8, 9, 12)] == [(1, 1), (1, 3), (3, 1), (3, 5), (4, 1), (4, 4)]
    assert line_of_page(pages, 2, 1, 12) is None  # an empty page has no line 1
    assert line_of_page(pages, 3, 5, 12) == 8 and line_of_page(pages, 1, 4, 12) is None
    assert line_of_page(pages, 4, 4, 12) == 12 and line_of_page(pages, 4, 5, 12) is None
    assert page_of(None, 3) is None


@pytest.fixture
def pdf_engine(tmp_path: Path, settings):  # type: ignore[no-untyped-def]
    corpus = tmp_path / "docs"
    write(corpus / "report.pdf", pdf_bytes(REPORT_PAGES))
    write(corpus / "notes.txt", b"The lighthouse keeper was Tomas Berg.\n")
    index = CorpusIndex(corpus, settings, embedder=HashingEmbedder(), store="numpy")
    index.sync()
    return QAEngine(index), corpus


def test_answer_from_a_pdf_cites_page_and_line(pdf_engine) -> None:  # type: ignore[no-untyped-def]
    engine, corpus = pdf_engine
    a = engine.answer("How many model ships does the museum hold?")
    assert not a.abstained and a.short_answer == "4,000"
    first = a.citations[0]
    assert first.quote == "The museum holds 4,000 model ships."
    assert (first.page, first.page_line) == (2, 2) and first.ref == "report.pdf:p2:2"
    assert "report.pdf:p2:2" in a.text
    assert json.loads(a.model_dump_json())["citations"][0]["ref"] == "report.pdf:p2:2"
    # The quote is checked against the text view of the file, page included.
    source = LineSource(corpus)
    assert source.verify(first)
    assert not source.verify(first.model_copy(update={"page": 1}))
    view = read_text_file(corpus / "report.pdf")
    assert view.lines[first.line - 1][first.start : first.end] == first.quote
    text_citation = engine.answer("Who was the lighthouse keeper?").citations[0]
    assert text_citation.page is None and text_citation.ref == "notes.txt:1"


def test_a_changed_pdf_is_re_extracted_and_old_quotes_dropped(pdf_engine, settings) -> None:  # type: ignore[no-untyped-def]
    engine, corpus = pdf_engine
    pages = [REPORT_PAGES[0], ["Collections", "", "The museum holds 5,500 model ships."]]
    (corpus / "report.pdf").write_bytes(pdf_bytes(pages))
    stale = engine.answer("How many model ships does the museum hold?")
    assert all("4,000" not in c.quote for c in stale.citations)  # the old quote is not verbatim any more
    index = CorpusIndex(corpus, settings, embedder=HashingEmbedder(), store="numpy")
    report = index.sync()
    assert report.files_indexed == 1 and report.files_unchanged == 1
    fresh = QAEngine(index).answer("How many model ships does the museum hold?")
    assert fresh.short_answer == "5,500" and fresh.citations[0].ref == "report.pdf:p2:2"


def test_quote_boxes_cover_exactly_the_quoted_characters(tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    from index.read_pdf import quote_boxes

    data = pdf_bytes(REPORT_PAGES)
    line = "The museum holds 4,000 model ships."
    start = line.index("4,000")
    boxes = quote_boxes(data, "report.pdf", 2, 2, start, start + len("4,000"), scale=1.0)
    assert len(boxes) == 1
    # The characters pdfium reports for "4,000" on page 2, independently of docqa's line mapping.
    pdf = pdfium.PdfDocument(data)
    page = pdf[1]
    textpage = page.get_textpage()
    text = textpage.get_text_range()
    first = text.index("4,000")
    chars = [textpage.get_charbox(i) for i in range(first, first + 5)]
    height = page.get_height()
    left, right = min(c[0] for c in chars), max(c[2] for c in chars)
    top, bottom = height - max(c[3] for c in chars), height - min(c[1] for c in chars)
    box = boxes[0]
    assert box.left == pytest.approx(left, abs=0.01) and box.left + box.width == pytest.approx(right, abs=0.01)
    assert box.top == pytest.approx(top, abs=0.01) and box.top + box.height == pytest.approx(bottom, abs=0.01)
    textpage.close()
    page.close()
    pdf.close()


def test_render_page_gives_a_png_of_the_page_size(tmp_path: Path) -> None:
    from index.read_pdf import render_page

    png, width, height = render_page(pdf_bytes(REPORT_PAGES), "report.pdf", 2, scale=1.0)
    assert png.startswith(b"\x89PNG") and abs(width - 595) <= 1 and abs(height - 842) <= 1  # A4 at 72 dpi
    with pytest.raises(DocumentError, match="page 3 does not exist"):
        render_page(pdf_bytes(REPORT_PAGES), "report.pdf", 3)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("locked.pdf", lambda: pdf_bytes(REPORT_PAGES, encrypt="secret"), "encrypted PDF"),
        ("scan.pdf", lambda: pdf_bytes([], image_only_pages=2), "no text layer in 2 page(s) (a scan?); OCR is not available"),
        ("cut.pdf", lambda: pdf_bytes(REPORT_PAGES)[: len(pdf_bytes(REPORT_PAGES)) // 2], "truncated or corrupt"),
        ("garbage.pdf", lambda: b"%PDF-1.7\n" + bytes(range(256)) * 40, "truncated or corrupt"),
        ("liar.pdf", lambda: b"Just some text, not a PDF at all.\n", "not a PDF (no %PDF- header"),
        ("empty.pdf", lambda: b"", "not a PDF"),
        ("liar.txt", lambda: pdf_bytes(REPORT_PAGES), "is a PDF, not text; give it a .pdf extension"),
        ("liar.docx", lambda: b"<html><body>hi</body></html>", "not a Word .docx file (not a zip archive"),
        ("notword.docx", lambda: _zip({"hello.txt": b"hi"}), "the zip has no word/document.xml"),
        ("bomb.docx", lambda: _zip({"word/document.xml": b"<" + b" " * 50_000_000 + b">"}), "(a zip bomb?)"),
        ("broken.docx", lambda: _zip({"word/document.xml": b"<w:document", "[Content_Types].xml": b"<x/>"}), "damaged .docx"),
        ("word.txt", lambda: docx_bytes(["Hello there."]), "is a Word document, not text; give it a .docx extension"),
        ("blank.html", lambda: b"<html><head><script>var a = 1;</script></head><body>  </body></html>", "holds no text"),
        ("binary.html", lambda: bytes(range(256)) * 20, "looks binary"),
    ],
)
def test_unreadable_documents_get_a_reason(tmp_path: Path, name: str, data, reason: str) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / name, data())
    with pytest.raises(DocumentError) as caught:
        read_text_file(path, name)
    message = str(caught.value)
    assert message.startswith(f"{name}: ") and reason in message


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_bad_documents_are_skipped_with_reasons_and_the_rest_indexed(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "docs"
    write(corpus / "report.pdf", pdf_bytes(REPORT_PAGES))
    write(corpus / "locked.pdf", pdf_bytes(REPORT_PAGES, encrypt="secret"))
    write(corpus / "scan.pdf", pdf_bytes([], image_only_pages=1))
    write(corpus / "bomb.docx", _zip({"word/document.xml": b"<" + b" " * 50_000_000 + b">"}))
    write(corpus / "memo.docx", docx_bytes(["The memo was written by Ada Park."]))
    index = CorpusIndex(corpus, settings, embedder=HashingEmbedder(), store="numpy")
    report = index.sync()
    assert sorted(index.manifest.files) == ["memo.docx", "report.pdf"]
    reasons = {s.file: s.reason for s in report.skipped}
    assert set(reasons) == {"locked.pdf", "scan.pdf", "bomb.docx"}
    assert "encrypted" in reasons["locked.pdf"] and "OCR is not available" in reasons["scan.pdf"]
    assert index.manifest.files["report.pdf"].pages == 2 and index.manifest.files["memo.docx"].pages is None


def test_docqa_sources_lists_pages_and_skipped_reasons(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ui.cli import main

    corpus = tmp_path / "docs"
    write(corpus / "report.pdf", pdf_bytes(REPORT_PAGES))
    write(corpus / "locked.pdf", pdf_bytes(REPORT_PAGES, encrypt="secret"))
    assert main(["sources", str(corpus)]) == 0
    out = capsys.readouterr().out
    assert "report.pdf  (2 pages," in out
    assert "skipped 1 file(s):" in out and "locked.pdf: encrypted PDF" in out
    assert main(["sources", str(corpus), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["skipped"][0]["file"] == "locked.pdf" and data["files"][0]["pages"] == 2


def test_a_long_pdf_is_read_page_by_page(tmp_path: Path) -> None:
    pages = [[f"Page {n} says the tide rose {n} centimetres."] for n in range(1, 2001)]
    view = read_text_file(write(tmp_path / "long.pdf", pdf_bytes(pages)))
    assert len(view.pages or []) == 2000
    line = view.lines.index("Page 1500 says the tide rose 1500 centimetres.") + 1
    assert page_of(view.pages, line) == (1500, 1)


# ---------------------------------------------------------------------------------------------------------- DOCX


def test_docx_text_view_keeps_paragraphs_and_table_cells_in_reading_order(tmp_path: Path) -> None:
    data = docx_bytes(
        ["Quarterly memo", "The memo was written by Ada Park.", ""],
        table=[["Site", "Visitors"], ["North pier", "12,000"]],
        after=["Signed in Lisbon."],
    )
    view = read_text_file(write(tmp_path / "memo.docx", data))
    assert view.encoding == "docx" and view.pages is None
    assert [line for line in view.lines if line] == [
        "Quarterly memo", "The memo was written by Ada Park.", "Site", "Visitors", "North pier", "12,000", "Signed in Lisbon."
    ]


def test_answer_from_a_docx_cites_its_text_view_line(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "docs"
    write(corpus / "memo.docx", docx_bytes(["Quarterly memo", "", "The memo was written by Ada Park."]))
    index = CorpusIndex(corpus, settings, embedder=HashingEmbedder(), store="numpy")
    index.sync()
    a = QAEngine(index).answer("Who was the memo written by?")
    assert a.short_answer == "Ada Park" and a.citations[0].ref == "memo.docx:3" and a.citations[0].page is None


# ---------------------------------------------------------------------------------------------------------- HTML

PAGE = b"""<!doctype html><html><head><title>Harbor news</title><style>p { color: red }</style>
<script>document.write("INJECTED"); fetch("http://example.com/x")</script></head>
<body><nav><a href="/">Home</a> | <a href="/about">About us</a></nav>
<header>Site banner</header>
<main><h1>The   harbor
 museum</h1><p>The museum opened in <b>1931</b>.
Its founder was Maria Lopez.</p>
<iframe src="http://example.com/ad"></iframe>
<h2>Collections</h2><ul><li>4,000 model ships</li><li>A lighthouse lens</li></ul>
<img src="data:image/png;base64,""" + b"A" * 2_000_000 + b""""><pre>line one
  line two</pre>
<table><tr><td>Visitors</td><td>12,000</td></tr></table>
<noscript>Enable JavaScript</noscript></main><footer>Copyright 2024</footer></body></html>"""


def test_html_text_view_is_the_main_text_with_headings_on_their_own_lines(tmp_path: Path) -> None:
    view = read_text_file(write(tmp_path / "news.html", PAGE))
    assert view.encoding == "html"
    assert view.lines == [
        "# The harbor museum", "", "The museum opened in 1931. Its founder was Maria Lopez.", "",
        "## Collections", "", "4,000 model ships", "A lighthouse lens", "", "line one", "  line two", "",
        "Visitors", "12,000",
    ]
    joined = "\n".join(view.lines)
    for dropped in ("INJECTED", "example.com", "color: red", "Home", "Site banner", "Copyright", "Enable JavaScript", "AAAA"):
        assert dropped not in joined


def test_answer_from_html_cites_its_text_view_line(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "docs"
    write(corpus / "news.html", PAGE)
    index = CorpusIndex(corpus, settings, embedder=HashingEmbedder(), store="numpy")
    index.sync()
    a = QAEngine(index).answer("Who was the founder of the harbor museum?")
    assert a.short_answer == "Maria Lopez" and a.citations[0].ref == "news.html:3"


def test_default_extensions_include_the_document_types(settings) -> None:  # type: ignore[no-untyped-def]
    assert {".txt", ".md", ".pdf", ".docx", ".html", ".htm"} <= settings.extension_set


# ------------------------------------------------------------------------------------- real files nobody here wrote

REAL = Path(__file__).parent / "fixtures" / "formats" / "real"


def _words_ratio(ours: str, truth: str) -> float:
    import difflib
    import re

    a, b = re.findall(r"\w+", ours.lower()), re.findall(r"\w+", truth.lower())
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def test_real_pdf_text_view_matches_its_docbook_source() -> None:
    import gzip
    import xml.etree.ElementTree as ET

    view = read_text_file(REAL / "shared-mime-info-spec.pdf")
    assert len(view.pages or []) == 17
    source = ET.fromstring(gzip.decompress((REAL / "shared-mime-info-spec.xml.gz").read_bytes()))
    truth = " ".join(source.itertext())
    assert _words_ratio(" ".join(view.lines), truth) >= 0.9  # running headers and page numbers are the difference


def test_real_pdf_joins_hyphenated_words_and_boxes_a_quote() -> None:
    from index.read_pdf import quote_boxes

    view = read_text_file(REAL / "libtasn1.pdf")
    assert not any("\ufffe" in line for line in view.lines)
    target = next(n for n, line in enumerate(view.lines, 1) if "Abstract Syntax Notation One" in line)
    page, on_page = page_of(view.pages, target)
    start = view.lines[target - 1].index("Abstract Syntax Notation One")
    boxes = quote_boxes((REAL / "libtasn1.pdf").read_bytes(), "libtasn1.pdf", page, on_page, start, start + 28)
    assert len(boxes) == 1 and boxes[0].width > 100


def test_real_docx_reads_paragraphs_and_nested_tables_in_order() -> None:
    view = read_text_file(REAL / "blk-paras-and-tables.docx")
    words = [line for line in view.lines if line]
    assert words.index("Text before") < words.index("Table") < words.index("Between") < words.index("Text after")


def test_real_html_text_view_matches_its_restructuredtext_source() -> None:
    view = read_text_file(REAL / "python311-tutorial-floatingpoint.html")
    assert view.lines[0] == "# 15. Floating Point Arithmetic: Issues and Limitations"
    joined = "\n".join(view.lines)
    assert "\u00b6" not in joined and "Navigation" not in joined and "Copyright" not in joined
    truth = (REAL / "python311-tutorial-floatingpoint.rst.txt").read_text(encoding="utf-8")
    assert _words_ratio(joined, truth) >= 0.95


# ------------------------------------------------------------------------------ wrapped sentences: line-range quotes

WRAPPED = (
    b"# Options\n\n"
    b"The inspector listens on the host and port given by the\n"
    b"flag, and its default port is 9229 on every platform.\n\n"
    b"Logs are written to the standard error stream.\n"
)


@pytest.fixture
def wrapped_engine(tmp_path: Path, settings):  # type: ignore[no-untyped-def]
    corpus = tmp_path / "docs"
    write(corpus / "cli.md", WRAPPED)
    index = CorpusIndex(corpus, settings, embedder=HashingEmbedder(), store="numpy")
    index.sync()
    return QAEngine(index), corpus


def test_a_wrapped_sentence_is_quoted_whole_as_a_line_range(wrapped_engine) -> None:  # type: ignore[no-untyped-def]
    from .conftest import assert_verbatim

    engine, corpus = wrapped_engine
    a = engine.answer("What is the default port of the inspector?")
    first = a.citations[0]
    assert first.quote == ("The inspector listens on the host and port given by the flag, and its default port is 9229 "
                           "on every platform.")
    assert (first.line, first.last_line, first.start, first.end) == (3, 4, 0, 53)
    assert first.ref == "cli.md:3-4" and "(cli.md:3-4)" in a.text
    assert_verbatim(corpus, a.citations)
    assert LineSource(corpus).verify(first)


def test_a_line_range_quote_is_checked_line_by_line(wrapped_engine) -> None:  # type: ignore[no-untyped-def]
    engine, corpus = wrapped_engine
    first = engine.answer("What is the default port of the inspector?").citations[0]
    source = LineSource(corpus)
    assert not source.verify(first.model_copy(update={"last_line": 5}))  # the blank line 5 is not part of it
    assert not source.verify(first.model_copy(update={"end": 40}))
    (corpus / "cli.md").write_bytes(WRAPPED.replace(b"flag, and its default port is 9229", b"flag, and its default port is 9230"))
    assert not LineSource(corpus).verify(first)
    assert all("9229" not in c.quote for c in engine.answer("What is the default port of the inspector?").citations)


def test_a_wrapped_sentence_in_a_pdf_spans_lines_and_pages(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    pages = [["Harbor notes", "The harbor master keeps the logbook, and the logbook", "records every ship that"],
             ["entered the port since 1901.", "Nothing else is kept."]]
    corpus = tmp_path / "docs"
    write(corpus / "notes.pdf", pdf_bytes(pages))
    index = CorpusIndex(corpus, settings, embedder=HashingEmbedder(), store="numpy")
    index.sync()
    a = QAEngine(index).answer("Since when does the logbook record ships?")
    first = a.citations[0]
    assert first.quote == "The harbor master keeps the logbook, and the logbook records every ship that entered the port since 1901."
    assert first.ref == "notes.pdf:p1:2-p2:1"
    assert LineSource(corpus).verify(first)


def test_viewer_refs_name_line_ranges() -> None:
    from ui.service import SourceRef, parse_ref

    assert parse_ref("cli.md:3-4#0-53") == SourceRef(file="cli.md", line=3, last=4, start=0, end=53)
    assert parse_ref("notes.pdf:p1:2-p2:1") == SourceRef(file="notes.pdf", page=1, line=2, last_page=2, last=1)
    assert parse_ref("notes.pdf:p1:2-3") == SourceRef(file="notes.pdf", page=1, line=2, last=3)


def test_viewer_highlights_every_line_of_a_range(wrapped_engine, settings) -> None:  # type: ignore[no-untyped-def]
    from ui.html import source_html
    from ui.service import DocqaService

    _, corpus = wrapped_engine
    service = DocqaService(corpus, settings)
    service.ensure_index()
    view = service.open_source("cli.md:3-4#0-53")
    assert (view.line, view.last_line) == (3, 4)
    html = source_html(view)
    assert html.count("docqa-hl") == 2 and "cli.md, lines 3-4" in html
    assert "<mark>The inspector listens on the host and port given by the</mark>" in html
    assert "<mark>flag, and its default port is 9229 on every platform.</mark>" in html


# -------------------------------------------------------------------- structure: sections, front matter, comments

NODE_LIKE = """---
title: CLI
---

# Command-line API

<!-- YAML
added: v6.3.0
-->

## Options

### `--inspect[=[host:]port]`

Activate inspector on the given host and port.

Setext title
------------

```js
// # not a heading
const port = 9229;
```
""".splitlines()


def test_section_paths_follow_headings_but_not_code() -> None:
    from index.sentences import section_paths

    paths = section_paths(NODE_LIKE)
    at = {text: path for text, path in zip(NODE_LIKE, paths, strict=True)}
    assert at["Activate inspector on the given host and port."] == "Command-line API > Options > --inspect[=[host:]port]"
    assert at["const port = 9229;"] == "Command-line API > Setext title"  # a setext "---" title is level 2
    assert paths[0] is None


def test_front_matter_and_comments_are_never_answers() -> None:
    from index.sentences import hidden_lines, split_sentences

    hidden = hidden_lines(NODE_LIKE)
    assert {1, 2, 3, 7, 8, 9} <= hidden and 17 not in hidden
    texts = [s.text for block in split_sentences(NODE_LIKE) for s in block]
    assert not any("title: CLI" in t or "added: v6.3.0" in t for t in texts)


def test_citations_carry_their_section_and_retrieval_reads_it(tmp_path: Path, settings, capsys) -> None:  # type: ignore[no-untyped-def]
    from ui.cli import render

    corpus = tmp_path / "docs"
    write(corpus / "cli.md", "\n".join(NODE_LIKE).encode() + b"\n")
    index = CorpusIndex(corpus, settings, embedder=HashingEmbedder(), store="numpy")
    index.sync()
    chunk = next(c for c in index.chunks if "Activate inspector" in c.text)
    assert chunk.section == "Command-line API > Options > --inspect[=[host:]port]"
    a = QAEngine(index).answer("What gets activated on the given host and port?")
    first = a.citations[0]
    assert first.quote == "Activate inspector on the given host and port." and first.section == chunk.section
    assert "cli.md:15 [cli.md > Command-line API > Options > --inspect[=[host:]port]]" in render(a)


def test_wrapped_list_items_stay_whole_and_code_stays_code() -> None:
    from index.sentences import split_sentences

    lines = [
        "## `fs.existsSync(path)`", "",
        "* `path` {string|Buffer|URL}", "* Returns: {boolean} true if the path exists,",
        "  false otherwise.", "",
        "Returns `true` if the path exists, `false` otherwise. This is a long line of prose",
        "that wraps onto the next line.", "",
        "```js", "if (existsSync('/etc/passwd'))", "  console.log('The path exists.');", "```",
    ]
    texts = [s.text for block in split_sentences(lines) for s in block]
    assert "* Returns: {boolean} true if the path exists, false otherwise." in texts
    assert "* `path` {string|Buffer|URL}" in texts
    assert "that wraps onto the next line." not in texts  # joined into its sentence
    assert "if (existsSync('/etc/passwd'))" in texts and "console.log('The path exists.');" in texts
