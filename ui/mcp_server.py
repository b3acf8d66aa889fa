"""``docqa mcp``: docqa as a Model Context Protocol server over stdio (the official ``mcp`` SDK), for assistants and editors.

Tools:
- ``ask``: a question (optionally in a conversation, by id) -> the short answer, the text and verified citations;
- ``search``: ranked evidence lines for a query, each quote verified against the file, without composing an answer;
- ``open_source``: the lines around a ``file:line`` citation, with the web viewer's path safety (indexed files only).

``DocqaTools`` holds the logic and is tested directly; ``build_server`` only registers it with the SDK. Errors reach
the client as tool errors (``isError``) whose text is docqa's message; stdout carries nothing but the protocol.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field

from index import DocqaError, Settings, SourceError, load_settings
from qa.evidence import citation_of
from qa.models import Answer, Citation, SourceValue
from qa.verify import LineSource, verified

from .service import DocqaService

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "docqa answers questions from one folder of documents only. Every answer quotes the lines it rests on as "
    "file:line; when the documents do not hold the answer, `abstained` is true: do not guess then. Pass the returned "
    "conversation_id back to ask follow-up questions ('Where is that group based?'). Use open_source to read around "
    "a citation."
)
MAX_CONVERSATIONS = 200
MAX_TURNS = 50


class QuotedLine(BaseModel):
    """A verbatim quote from one line of one corpus file."""

    file: str = Field(description="Path relative to the corpus folder.")
    line: int = Field(description="1-based line number (in a PDF: of the file's text view, all pages in order).")
    last_line: int | None = Field(default=None, description="Last line, for a sentence wrapped over several lines and quoted whole.")
    ref: str = Field(description="The citation as shown to readers: 'file:line', or 'file:pPAGE:LINE' in a PDF; open_source takes it.")
    section: str | None = Field(default=None, description="The headings the quote sits under, in Markdown and HTML files.")
    quote: str = Field(description="The exact text on that line (checked against the file).")
    restated_in: list[str] = Field(default_factory=list, description="'file:line' of the same sentence in near-duplicate documents (not independent sources).")


class AskResult(BaseModel):
    """docqa's answer to one question."""

    conversation_id: str = Field(description="Pass it back with the next question to ask a follow-up.")
    question: str = Field(description="The question as asked.")
    searched: str = Field(description="The question docqa searched (a follow-up rewritten with its context).")
    abstained: bool = Field(description="True when the documents do not hold the answer.")
    abstain_reason: str | None = Field(default=None, description="Why it abstained (e.g. the closest passages give no number for it).")
    short_answer: str | None = Field(description="The direct answer (a name, number, date or place), if there is one.")
    text: str = Field(description="The whole answer as docqa shows it: short answer, then the quotes with file:line.")
    citations: list[QuotedLine] = Field(description="The verified quotes the answer rests on, best first.")
    closest: list[QuotedLine] = Field(
        default_factory=list,
        description="Abstentions only: the closest passages found, verified quotes best first. Not an answer: they may "
        "not answer the question; do not present them as one.",
    )
    disagreement: list[SourceValue] = Field(default_factory=list, description="When the sources give different values: each value with its citations.")


class SearchHit(BaseModel):
    """One evidence line."""

    file: str = Field(description="Path relative to the corpus folder.")
    line: int = Field(description="1-based line number (in a PDF: of the file's text view).")
    ref: str = Field(description="'file:line', or 'file:pPAGE:LINE' in a PDF; open_source takes it.")
    quote: str = Field(description="The sentence's text on that line (checked against the file).")
    score: float = Field(description="How well the sentence answers the query, by docqa's evidence scorer (higher is better).")


class SearchResult(BaseModel):
    """Ranked evidence lines for a query."""

    query: str = Field(description="The query as given.")
    hits: list[SearchHit] = Field(description="Best first; at most one per line.")


class NumberedLine(BaseModel):
    line: int = Field(description="1-based line number.")
    text: str = Field(description="The line's text.")


class SourceExcerpt(BaseModel):
    """Lines around a citation."""

    file: str = Field(description="Path relative to the corpus folder.")
    line: int = Field(description="The cited line.")
    lines: list[NumberedLine] = Field(description="The cited line with up to `context` lines either side.")
    total_lines: int = Field(description="Lines in the file.")
    changed_since_indexing: bool = Field(description="True when the file differs from the indexed version (re-index).")


def _quoted(c: Citation) -> QuotedLine:
    return QuotedLine(file=c.file, line=c.line, last_line=c.last_line, ref=c.ref, section=c.section, quote=c.quote,
                      restated_in=c.restated_in)


class DocqaTools:
    """The MCP tools' logic over one corpus: conversations kept by id (the most recent ``MAX_CONVERSATIONS``)."""

    def __init__(self, service: DocqaService) -> None:
        self.service = service
        self._source = LineSource(service.corpus)
        self._conversations: OrderedDict[str, list[Answer]] = OrderedDict()
        self._lock = threading.Lock()

    def ask(self, question: str, conversation_id: str | None = None) -> AskResult:
        with self._lock:
            if conversation_id:
                if conversation_id not in self._conversations:
                    raise DocqaError(f"unknown conversation_id {conversation_id!r} (it may have expired); "
                                     "omit it to start a new conversation")
                history = list(self._conversations[conversation_id])
            else:
                conversation_id, history = uuid.uuid4().hex, []
        answer = self.service.ask(question, history)
        with self._lock:
            self._conversations[conversation_id] = [*history, answer][-MAX_TURNS:]
            self._conversations.move_to_end(conversation_id)
            while len(self._conversations) > MAX_CONVERSATIONS:
                self._conversations.popitem(last=False)
        return AskResult(
            conversation_id=conversation_id, question=answer.question, searched=answer.standalone_question,
            abstained=answer.abstained, abstain_reason=answer.abstain_reason, short_answer=answer.short_answer, text=answer.text,
            citations=[_quoted(c) for c in answer.citations], closest=[_quoted(c) for c in answer.closest],
            disagreement=answer.disagreement,
        )

    def search(self, query: str, limit: int = 5) -> SearchResult:
        if not 1 <= limit <= 50:
            raise DocqaError(f"limit {limit} is out of range; give 1 to 50")
        trace = self.service.engine.trace(query)
        seen: set[tuple[str, int]] = set()
        candidates: list[Citation] = []
        for ev in trace.evidence:
            key = (ev.chunk.file, ev.span.line)
            if key in seen or not ev.quote.strip():
                continue
            seen.add(key)
            candidates.append(citation_of(ev))
            if len(candidates) >= limit:
                break
        hits = [SearchHit(file=c.file, line=c.line, ref=c.ref, quote=c.quote, score=round(c.score, 4))
                for c in verified(candidates, self._source)]
        return SearchResult(query=query, hits=hits)

    def open_source(self, ref: str, context: int = 5) -> SourceExcerpt:
        if not 0 <= context <= 200:
            raise SourceError(f"context {context} is out of range; give 0 to 200 lines")
        view = self.service.open_source(ref, draw=False)
        first, last = max(1, view.line - context), min(len(view.lines), view.line + context)
        return SourceExcerpt(
            file=view.file, line=view.line, total_lines=len(view.lines), changed_since_indexing=view.changed_since_indexing,
            lines=[NumberedLine(line=n, text=view.lines[n - 1]) for n in range(first, last + 1)],
        )


def build_server(tools: DocqaTools) -> MCPServer:
    """The SDK server with docqa's three tools; a DocqaError becomes a tool error carrying its message."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server: MCPServer = MCPServer(name="docqa", instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool()
    def ask(
        question: Annotated[str, Field(description="The question, in everyday words.")],
        conversation_id: Annotated[str | None, Field(description="From an earlier ask, to ask a follow-up; omit to start a new conversation.")] = None,
    ) -> AskResult:
        """Answer a question from the documents, quoting file:line for every claim, or say they do not hold the answer."""
        try:
            return tools.ask(question, conversation_id)
        except DocqaError as exc:
            raise ToolError(str(exc)) from None

    @server.tool()
    def search(
        query: Annotated[str, Field(description="What to look for, as a question or keywords.")],
        limit: Annotated[int, Field(description="Most lines to return (1-50).")] = 5,
    ) -> SearchResult:
        """Ranked evidence lines for a query (file, line, verified quote, score), without composing an answer."""
        try:
            return tools.search(query, limit)
        except DocqaError as exc:
            raise ToolError(str(exc)) from None

    @server.tool()
    def open_source(
        ref: Annotated[str, Field(description="A citation, 'file:line' or 'file:pPAGE:LINE', e.g. 'report.txt:12' or 'report.pdf:p3:12'.")],
        context: Annotated[int, Field(description="Lines to show either side of the cited line (0-200).")] = 5,
    ) -> SourceExcerpt:
        """The lines around a citation in an indexed document of the corpus (nothing outside it can be read)."""
        try:
            return tools.open_source(ref, context)
        except DocqaError as exc:
            raise ToolError(str(exc)) from None

    return server


def serve_stdio(corpus: Path | str | None = None, settings: Settings | None = None) -> None:
    """Index (or bring up to date) the corpus, then serve MCP over stdin/stdout until the client closes it."""
    settings = settings or load_settings()
    service = DocqaService(corpus, settings)
    report = service.reindex()
    logger.warning("docqa mcp: serving %s (%d chunks) over stdio", service.corpus, report.chunks_total)
    build_server(DocqaTools(service)).run("stdio")
