"""The Gradio web app: chat with citation chips, source viewer, corpus panel with re-index and upload.

``build_app(service)`` returns the Blocks; ``ui.server`` launches it. Every handler
turns a ``DocqaError`` into a visible message and any other exception into a logged
"internal error" notice, so the page never shows a traceback or an HTTP 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index import DocqaError
from qa.models import Answer, StreamDone, StreamToken

from .html import answer_html, draft_html, message_html, short_html, source_html, status_html
from .service import DocqaService

if TYPE_CHECKING:
    import gradio as gr

logger = logging.getLogger(__name__)

Message = dict[str, str]

#: Clicking (or pressing Enter on) a citation chip puts its reference in a hidden box and presses a hidden button.
CHIP_JS = """
() => {
  if (window.__docqaChips) return;
  window.__docqaChips = true;
  document.addEventListener('click', (event) => {
    const chip = event.target.closest && event.target.closest('.docqa-cite');
    if (!chip) return;
    event.preventDefault();
    const box = document.querySelector('#docqa-cite-ref textarea, #docqa-cite-ref input');
    const open = document.querySelector('#docqa-cite-open');
    if (!box || !open) return;
    box.value = chip.dataset.ref;
    box.dispatchEvent(new Event('input', { bubbles: true }));
    setTimeout(() => open.click(), 0);
  });
}
"""

#: After the viewer updates, scroll its highlighted line into the middle of the panel.
SCROLL_JS = """
() => {
  setTimeout(() => {
    const hl = document.querySelector('#docqa-source .docqa-hl');
    if (hl) { hl.scrollIntoView({ block: 'center' }); }
    const box = document.querySelector('#docqa-source .docqa-box');
    if (box) { box.scrollIntoView({ block: 'center' }); }
  }, 60);
}
"""

CSS = """
#docqa-cite-ref, #docqa-cite-open { display: none !important; }
.docqa-answer { line-height: 1.45; }
.docqa-short { font-weight: 700; font-size: 1.1em; margin-bottom: 0.3em; }
.docqa-generated { font-size: 1.05em; margin-bottom: 0.4em; line-height: 1.6; }
.docqa-draft > div:last-child { opacity: 0.7; }
.docqa-quotes { margin: 0.2em 0 0 1.1em; padding: 0; }
.docqa-quote { margin-bottom: 0.35em; }
.docqa-cite { font-family: ui-monospace, monospace; font-size: 0.85em; border: 1px solid #6366f1; border-radius: 999px;
  padding: 0 0.55em; margin-left: 0.2em; background: #eef2ff; color: #3730a3; cursor: pointer; }
.docqa-cite:focus { outline: 3px solid #f59e0b; outline-offset: 1px; }
.docqa-cite-dup { border-style: dashed; background: #f8fafc; color: #475569; }
.docqa-badge { font-size: 0.75em; text-transform: uppercase; letter-spacing: 0.04em; background: #fde68a; color: #78350f;
  border-radius: 4px; padding: 0 0.35em; }
.docqa-restated { font-size: 0.9em; color: #475569; margin-top: 0.15em; }
.docqa-abstain { border-left: 4px solid #9ca3af; padding-left: 0.6em; color: #374151; font-style: italic; }
.docqa-error { border-left: 4px solid #dc2626; padding-left: 0.6em; color: #991b1b; }
.docqa-disagree { border-left: 4px solid #f59e0b; padding-left: 0.6em; }
.docqa-disagree-title { font-weight: 700; color: #92400e; }
.docqa-note { font-size: 0.85em; color: #6b7280; }
.docqa-warn { color: #b45309; }
.docqa-lines { max-height: 520px; overflow: auto; font-family: ui-monospace, monospace; font-size: 0.85em; }
.docqa-line { display: flex; gap: 0.8em; white-space: pre-wrap; word-break: break-word; }
.docqa-ln { color: #9ca3af; min-width: 3em; text-align: right; user-select: none; flex: none; }
.docqa-hl { background: #fef9c3; }
.docqa-section { color: #52525b; font-size: 0.85em; }
.docqa-paged { display: grid; grid-template-columns: minmax(0, 1fr); gap: 12px; }
.docqa-page { position: relative; border: 1px solid #d4d4d8; }
.docqa-paged .docqa-lines { max-height: 260px; }
.docqa-page img { display: block; width: 100%; height: auto; }
.docqa-box { position: absolute; background: rgba(250, 204, 21, 0.45); outline: 1px solid #ca8a04; pointer-events: none; }
.docqa-hl mark { background: #facc15; color: inherit; }
.docqa-source-title { font-weight: 700; margin-bottom: 0.3em; }
.docqa-status th { text-align: left; padding-right: 0.8em; white-space: nowrap; }
"""

EMPTY_SOURCE = '<div class="docqa-note">Click a citation chip to open its document here.</div>'


def _user_message(question: str) -> Message:
    return {"role": "user", "content": escape(question)}


def _assistant(content: str) -> Message:
    return {"role": "assistant", "content": content}


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, DocqaError):
        return str(exc)
    logger.exception("internal error in the web UI")
    return f"internal error ({exc.__class__.__name__}); the server log has the details"


def _progress_callback(progress: Any, what: str) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        progress((done, total), desc=f"{what}: {done}/{total} chunks embedded", unit="chunks")

    return report


class Handlers:
    """The event handlers, bound to one service (kept separate from the layout so tests can call them)."""

    def __init__(self, service: DocqaService) -> None:
        self.service = service

    def respond(
        self, question: str, messages: list[Message] | None, history: list[Answer] | None
    ) -> Iterator[tuple[list[Message], list[Answer], str]]:
        """Stream one answer into the chat: a placeholder, then the short answer, then the quotes."""
        messages = list(messages or [])
        history = list(history or [])
        question = question if isinstance(question, str) else ""
        messages.append(_user_message(question))
        messages.append(_assistant('<div class="docqa-note">Searching the documents…</div>'))
        yield list(messages), list(history), ""
        result: Answer | None = None
        draft = ""
        try:
            for event in self.service.ask_stream(question, history):
                if isinstance(event, StreamToken):
                    draft += event.delta
                    messages[-1] = _assistant(draft_html(draft))
                    yield list(messages), list(history), ""
                elif isinstance(event, StreamDone):
                    result = event.answer
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a 500
            messages[-1] = _assistant(message_html(_error_text(exc)))
            yield list(messages), list(history), ""
            return
        assert result is not None
        messages[-1] = _assistant(short_html(result))
        yield list(messages), list(history), ""
        messages[-1] = _assistant(answer_html(result, self.service.duplicate_partners()))
        yield list(messages), [*history, result], ""

    def save_test(self, name: str, history: list[Answer] | None) -> str:
        """"Save as test": append the conversation to a suite file; the notice says where, or why not."""
        try:
            saved = self.service.save_test(name, list(history or []))
        except Exception as exc:  # noqa: BLE001
            return message_html(_error_text(exc))
        turns = f"{saved.turns} turn{'s' if saved.turns > 1 else ''}"
        return message_html(f"Saved case '{saved.case_id}' ({turns}) to {saved.path}. Run it with: pytest {saved.path}", "note")

    def open_source(self, ref: str) -> str:
        """The source viewer's HTML for a clicked citation."""
        try:
            return source_html(self.service.open_source(ref))
        except Exception as exc:  # noqa: BLE001
            return message_html(_error_text(exc))

    def status(self) -> str:
        return status_html(self.service.status())

    def first_load(self, progress: Any) -> str:
        """Build the index on first visit (with progress), then show the corpus panel."""
        try:
            self.service.ensure_index(_progress_callback(progress, "Indexing"))
        except Exception as exc:  # noqa: BLE001
            return message_html(_error_text(exc)) + self.status()
        return self.status()

    def reindex(self, progress: Any) -> tuple[str, str]:
        try:
            report = self.service.reindex(_progress_callback(progress, "Re-indexing"))
        except Exception as exc:  # noqa: BLE001
            return self.status(), message_html(_error_text(exc))
        note = (
            f"Re-indexed in {report.seconds:.1f} s: {report.files_indexed} new or changed, "
            f"{report.files_unchanged} unchanged, {report.files_removed} removed, {len(report.skipped)} skipped."
        )
        return self.status(), message_html(note, "note")

    def upload(self, files: list[Any] | None, progress: Any) -> tuple[str, str, None]:
        if not files:
            return self.status(), message_html("Choose .txt or .md files to add first.", "note"), None
        paths = [Path(getattr(f, "name", f)) for f in files]
        names = [getattr(f, "orig_name", None) or p.name for f, p in zip(files, paths, strict=True)]
        try:
            saved, report = self.service.upload(paths, names, _progress_callback(progress, "Indexing uploads"))
        except Exception as exc:  # noqa: BLE001
            return self.status(), message_html(_error_text(exc)), None
        added = ", ".join(s.file + (" (already there)" if s.already_present else "") for s in saved)
        return self.status(), message_html(f"Added {added}; {report.chunks_total} chunks indexed.", "note"), None

    def ask_api(self, question: str) -> dict[str, Any]:
        """JSON API (``/ask``): one stand-alone question -> the Answer as a dict, or {"error": message}."""
        try:
            return self.service.ask(question).model_dump(mode="json")
        except Exception as exc:  # noqa: BLE001
            return {"error": _error_text(exc), "type": exc.__class__.__name__}


    def source_api(self, ref: str) -> dict[str, Any]:
        """JSON API (``/source``): 'file:line' -> the document's lines, or {"error": message}; corpus files only."""
        try:
            return self.service.open_source(ref).model_dump(mode="json")
        except Exception as exc:  # noqa: BLE001
            return {"error": _error_text(exc), "type": exc.__class__.__name__}


def build_app(service: DocqaService) -> gr.Blocks:
    """The docqa web app for one corpus."""
    import gradio as gr

    h = Handlers(service)

    def first_load(progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008 - Gradio's injection idiom
        return h.first_load(progress)

    def reindex(progress: gr.Progress = gr.Progress()) -> tuple[str, str]:  # noqa: B008
        return h.reindex(progress)

    def upload(files: list[Any] | None, progress: gr.Progress = gr.Progress()) -> tuple[str, str, None]:  # noqa: B008
        return h.upload(files, progress)

    def new_conversation() -> tuple[list[Message], list[Answer], str, str]:
        return [], [], "", EMPTY_SOURCE

    # delete_cache: Gradio's copies of uploaded files are removed hourly once a day old.
    with gr.Blocks(title="docqa", analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        history = gr.State([])
        gr.Markdown("## docqa — answers from your documents, every claim quoted with `file:line`")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Conversation",
                    elem_id="docqa-chat",
                    sanitize_html=False,
                    height=520,
                    placeholder="Ask a question about the documents. Follow-ups work: “Where is that group based?”",
                )
                with gr.Row():
                    question = gr.Textbox(
                        label="Your question",
                        placeholder="e.g. Who claimed responsibility for the attack?",
                        elem_id="docqa-question",
                        scale=5,
                        lines=1,
                        max_lines=4,
                        autofocus=True,
                    )
                    ask = gr.Button("Ask", variant="primary", elem_id="docqa-ask", scale=1)
                with gr.Row():
                    new = gr.Button("New conversation", elem_id="docqa-new", scale=1)
                    suite_name = gr.Textbox(
                        value="docqa-tests.docqa.yaml",
                        label=f"Suite file (in {service.suites_dir})",
                        elem_id="docqa-suite-name",
                        scale=3,
                        lines=1,
                        max_lines=1,
                    )
                    save = gr.Button("Save as test", elem_id="docqa-save-test", scale=1)
                save_notice = gr.HTML("", elem_id="docqa-save-notice")
            with gr.Column(scale=2):
                source = gr.HTML(EMPTY_SOURCE, label="Source viewer", elem_id="docqa-source")
                with gr.Accordion("Corpus", open=True, elem_id="docqa-corpus"):
                    status = gr.HTML("<div class='docqa-note'>Checking the index…</div>", elem_id="docqa-status")
                    notice = gr.HTML("", elem_id="docqa-notice")
                    reindex_btn = gr.Button("Re-index", elem_id="docqa-reindex")
                    files = gr.File(
                        label="Add documents (text, Markdown, PDF, Word, HTML)",
                        file_count="multiple",
                        file_types=sorted(service.settings.extension_set),
                        elem_id="docqa-upload",
                    )
                    add_btn = gr.Button("Add to corpus and index", elem_id="docqa-add")
        ref = gr.Textbox(label="Citation to open", elem_id="docqa-cite-ref")
        open_btn = gr.Button("Open citation", elem_id="docqa-cite-open")

        for trigger in (question.submit, ask.click):
            trigger(h.respond, [question, chatbot, history], [chatbot, history, question], api_visibility="private")
        new.click(new_conversation, None, [chatbot, history, question, source], api_visibility="private")
        chatbot.clear(new_conversation, None, [chatbot, history, question, source], api_visibility="private")
        save.click(h.save_test, [suite_name, history], save_notice, api_visibility="private")
        open_btn.click(h.open_source, ref, source, api_visibility="private").then(None, js=SCROLL_JS)
        reindex_btn.click(reindex, None, [status, notice], api_visibility="private")
        add_btn.click(upload, files, [status, notice, files], api_visibility="private")
        demo.load(first_load, None, status, api_visibility="private")
        gr.api(h.ask_api, api_name="ask")
        gr.api(h.source_api, api_name="source")
    return demo
