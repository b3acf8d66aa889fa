"""What the web UI does, without Gradio: corpus status, (re-)indexing, answering, source viewing, uploads.

One ``DocqaService`` serves one corpus folder for every browser session. It is
thread-safe: answers run concurrently; indexing runs one at a time and swaps the
engine's snapshot when done, so questions keep being answered while it runs.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field

from index import CorpusIndex, DocqaError, Settings, SourceError, SuiteError, load_settings, read_text_file, resolve_inside
from index.corpus_index import ProgressCallback
from index.duplicates import DuplicatePair
from index.embedder import Embedder
from index.models import IndexReport, SkippedFile
from index.read_pdf import Box
from index.reader import line_of_page, page_of
from qa.answerer import Answerer, with_llm
from qa.engine import QAEngine
from qa.llm import make_llm
from qa.models import Answer, StreamDone, StreamToken

from .uploads import SavedUpload, save_uploads

logger = logging.getLogger(__name__)

#: Scale at which the viewer renders a PDF page: 1.5 x 72 dpi (a US Letter page is 918 x 1188 pixels).
PAGE_SCALE = 1.5

_REF = re.compile(
    r"^(?P<file>.+?)(?::p(?P<page>[0-9]{1,6}))?:(?P<line>[0-9]{1,9})"
    r"(?:-(?:p(?P<last_page>[0-9]{1,6}):)?(?P<last>[0-9]{1,9}))?(?:#(?P<start>[0-9]{1,9})-(?P<end>[0-9]{1,9}))?$"
)


class CorpusStatus(BaseModel):
    """What the corpus panel shows."""

    folder: str = Field(description="Absolute path of the corpus folder.")
    documents: int = Field(description="Indexed documents.")
    chunks: int = Field(description="Indexed chunks.")
    indexed_at: datetime | None = Field(description="When indexing last finished (UTC); None if never.")
    duplicates: list[DuplicatePair] = Field(default_factory=list, description="Near-duplicate document pairs.")
    skipped: list[SkippedFile] = Field(default_factory=list, description="Files the last indexing run in this process skipped.")


class SourceView(BaseModel):
    """One corpus document opened at a cited line."""

    file: str = Field(description="Path relative to the corpus root.")
    line: int = Field(description="1-based line to show and highlight.")
    lines: list[str] = Field(description="The document's lines, as an editor shows them.")
    quote_start: int | None = Field(default=None, description="0-based start of the quote within the line, if known.")
    quote_end: int | None = Field(default=None, description="0-based end of the quote within the (last) line, if known.")
    last_line: int | None = Field(default=None, description="Last highlighted line, for a sentence wrapped over lines.")
    changed_since_indexing: bool = Field(description="True when the file on disk differs from the indexed version.")
    page: int | None = Field(default=None, description="1-based page of the line, for a PDF.")
    page_line: int | None = Field(default=None, description="1-based line on that page, for a PDF.")
    page_image: str | None = Field(default=None, description="The page rendered offline, as a PNG data URI (PDF only).")
    image_width: int = Field(default=0, description="Pixel width of the page image.")
    image_height: int = Field(default=0, description="Pixel height of the page image.")
    boxes: list[Box] = Field(default_factory=list, description="The quote's character boxes on the page image, in pixels.")


class SavedTest(BaseModel):
    """Where "Save as test" put a conversation."""

    path: str = Field(description="Absolute path of the suite file.")
    case_id: str = Field(description="Id of the new case.")
    turns: int = Field(description="Turns saved.")


class SourceRef(BaseModel):
    """A parsed citation reference: ``file:line`` or ``file:pPAGE:LINE``, optionally ``#start-end``."""

    file: str = Field(description="Path relative to the corpus root.")
    line: int = Field(description="1-based line: in the text view, or on ``page`` when a page is given.")
    page: int | None = Field(default=None, description="1-based page (PDF citations).")
    last: int | None = Field(default=None, description="Last line of a line range (on ``last_page``, or on ``page``).")
    last_page: int | None = Field(default=None, description="Page of the range's last line, when it is on another page.")
    start: int | None = Field(default=None, description="0-based start of the quote in the line.")
    end: int | None = Field(default=None, description="0-based end of the quote in the line.")


def parse_ref(ref: str) -> SourceRef:
    """``file:line``, ``file:pPAGE:LINE``, either with ``#start-end`` -> SourceRef; SourceError if malformed."""
    match = _REF.match(ref.strip()) if isinstance(ref, str) else None
    if match is None:
        raise SourceError(
            f"citation reference {str(ref)[:80]!r} is not 'file:line' or 'file:pPAGE:LINE'; click a citation chip to open its source"
        )
    start, end, page = match["start"], match["end"], match["page"]
    if match["last_page"] and not page:
        raise SourceError(f"citation reference {ref[:80]!r} names a last page but no first page; use 'file:pP:L-pQ:M'")
    return SourceRef(
        file=match["file"], line=int(match["line"]), page=int(page) if page else None,
        last=int(match["last"]) if match["last"] else None, last_page=int(match["last_page"]) if match["last_page"] else None,
        start=int(start) if start else None, end=int(end) if end else None,
    )


class DocqaService:
    """The web UI's backend for one corpus."""

    def __init__(
        self,
        corpus: Path | str | None = None,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        store: str | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self.index = CorpusIndex(corpus, self.settings, embedder=embedder, store=store)
        self.corpus = self.index.corpus
        self._engine: QAEngine | None = None
        self._index_lock = threading.Lock()
        self._skipped: list[SkippedFile] = []
        self.suites_dir = Path(self.settings.ui_suites or Path.cwd()).expanduser().resolve()

    # ------------------------------------------------------------------ corpus
    def status(self) -> CorpusStatus:
        """The corpus panel's figures, from the current manifest."""
        manifest = self.index.manifest
        return CorpusStatus(
            folder=str(self.corpus),
            documents=len(manifest.files),
            chunks=manifest.chunk_count(),
            indexed_at=manifest.indexed_at,
            duplicates=list(manifest.duplicates or []),
            skipped=list(self._skipped),
        )

    def reindex(self, on_progress: ProgressCallback | None = None) -> IndexReport:
        """Bring the index up to date (only new or changed files are embedded), then answer from it."""
        with self._index_lock:
            engine = self._engine
            if engine is None:
                report = self.index.sync(progress=False, on_progress=on_progress)
                self._engine = QAEngine(self.index)
            else:
                report = engine.reindex(progress=False, on_progress=on_progress)
            self._skipped = report.skipped
        return report

    def ensure_index(self, on_progress: ProgressCallback | None = None) -> IndexReport | None:
        """Index on first use (None when an engine is already running)."""
        if self._engine is not None:
            return None
        return self.reindex(on_progress)

    def warm_up(self) -> None:
        """Load the embedding model ahead of the first question (the server calls this in the background)."""
        try:
            self.index.embedder.embed(["warm up"])
        except Exception:  # noqa: BLE001 - the first question reports any real problem
            logger.debug("warm-up failed", exc_info=True)

    @property
    def engine(self) -> QAEngine:
        """The answering engine, indexing first if needed."""
        if self._engine is None:
            self.ensure_index()
        assert self._engine is not None
        return self._engine

    def duplicate_partners(self) -> dict[str, set[str]]:
        """File -> its near-duplicate files, from the last indexing run."""
        return self.index.duplicate_partners()

    # ------------------------------------------------------------------ answering
    @property
    def answerer(self) -> Answerer:
        """The engine, wrapped by the generative answerer when ``DOCQA_LLM`` is set (the model loads on first use)."""
        return with_llm(self.engine, make_llm(self.settings))

    def ask(self, question: str, history: Sequence[Answer] | None = None) -> Answer:
        """Answer with the conversation's earlier answers as context (follow-ups)."""
        return self.answerer.answer(question, history)

    def ask_stream(self, question: str, history: Sequence[Answer] | None = None) -> Iterator[StreamToken | StreamDone]:
        """The answer as it is generated (tokens, when an LLM writes it), then the checked answer."""
        return self.answerer.stream(question, history)

    # ------------------------------------------------------------------ sources
    def open_source(self, ref: str, draw: bool = True) -> SourceView:
        """The document behind a citation; only indexed files inside the corpus can be opened.

        For a PDF, ``draw`` renders the cited page with the quote's boxes (the web viewer); the MCP server skips it.
        """
        parsed = parse_ref(ref)
        file, line, start, end = parsed.file, parsed.line, parsed.start, parsed.end
        indexed_hash = self.index.catalog.hashes().get(file)
        if indexed_hash is None:
            raise SourceError(f"{file!r} is not a document of this corpus; only indexed corpus files can be opened")
        try:
            path = resolve_inside(self.corpus, file)
        except DocqaError as exc:
            raise SourceError(str(exc)) from exc
        try:
            text = read_text_file(path, file, self.settings.max_file_bytes)
        except DocqaError as exc:
            raise SourceError(f"{file!r} can no longer be read ({exc}); re-index the corpus") from exc
        last = parsed.last
        if parsed.page is not None:
            if not text.pages:
                raise SourceError(f"{file!r} has no pages; cite it as 'file:line'")
            found = line_of_page(text.pages, parsed.page, line, len(text.lines))
            if found is None:
                raise SourceError(f"{file!r} has no line {line} on page {parsed.page} ({len(text.pages)} pages); re-index the corpus")
            line = found
            if last is not None:
                last = line_of_page(text.pages, parsed.last_page or parsed.page, last, len(text.lines))
        if last is not None and not line < last <= len(text.lines):
            last = None
        if not 1 <= line <= max(len(text.lines), 1):
            raise SourceError(f"{file!r} has {len(text.lines)} lines, so line {line} does not exist; re-index the corpus")
        if start is not None and end is not None:
            fits = bool(text.lines) and 0 <= start <= len(text.lines[line - 1]) and 0 <= end <= len(text.lines[(last or line) - 1])
            if not fits or (last is None and start > end):
                start = end = None
        view = SourceView(
            file=file,
            line=line,
            lines=text.lines,
            quote_start=start,
            quote_end=end,
            last_line=last,
            changed_since_indexing=text.sha256 != indexed_hash,
        )
        where = page_of(text.pages, line)
        if where is not None:
            view.page, view.page_line = where
            if draw:
                self._draw_page(view, path, where, start, end, text.pages)
        return view

    def _draw_page(
        self, view: SourceView, path: Path, where: tuple[int, int], start: int | None, end: int | None, pages: list[int] | None
    ) -> None:
        """Render the cited PDF page (offline, by pdfium) with the quote's character boxes (the part of a line range
        that is on that page)."""
        import base64

        from index.read_pdf import quote_boxes, render_page

        try:
            data = path.read_bytes()
            png, view.image_width, view.image_height = render_page(data, view.file, where[0], PAGE_SCALE)
            last = view.last_line or view.line
            if start is None or end is None:
                start, end = 0, len(view.lines[last - 1])
            for number in range(view.line, last + 1):
                on = page_of(pages, number)
                if on is None or on[0] != where[0]:
                    continue
                a = start if number == view.line else 0
                b = end if number == last else len(view.lines[number - 1])
                view.boxes += quote_boxes(data, view.file, on[0], on[1], a, b, PAGE_SCALE)
        except (OSError, DocqaError) as exc:
            logger.warning("cannot draw %s page %d: %s", view.file, where[0], exc)
            return
        view.page_image = "data:image/png;base64," + base64.b64encode(png).decode("ascii")

    # ------------------------------------------------------------------ uploads
    def upload(
        self, paths: list[Path], names: list[str] | None = None, on_progress: ProgressCallback | None = None
    ) -> tuple[list[SavedUpload], IndexReport]:
        """Check and save uploaded files into the corpus folder, then index them incrementally."""
        saved = save_uploads(self.corpus, paths, self.settings, names)
        return saved, self.reindex(on_progress)

    # ------------------------------------------------------------------ save as test
    def save_test(self, name: str, history: Sequence[Answer]) -> SavedTest:
        """Append the conversation to the suite file ``name`` in the suites folder (a plain file name, never a path)."""
        from evals.usersuite import SUITE_SUFFIXES, append_case

        name = name.strip() if isinstance(name, str) else ""
        if not name or "/" in name or "\\" in name or name.startswith(".") or "\x00" in name:
            raise SuiteError(f"suite file name {name!r} is not a plain file name; give e.g. team.docqa.yaml "
                             f"(it is saved in {self.suites_dir})")
        if not name.lower().endswith(SUITE_SUFFIXES):
            raise SuiteError(f"suite file name {name!r} must end in {', '.join(SUITE_SUFFIXES)} (e.g. team.docqa.yaml)")
        path = self.suites_dir / name
        if path.is_symlink() or not path.resolve().is_relative_to(self.suites_dir):
            raise SuiteError(f"{name!r} points outside the suites folder {self.suites_dir}; choose another name")
        case = append_case(path, list(history), self.corpus)
        return SavedTest(path=str(path), case_id=case.id, turns=len(case.turns))
