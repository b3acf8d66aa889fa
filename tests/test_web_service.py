"""The web UI's backend and handlers, without a browser: streaming, source viewer, path safety, uploads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from index import HashingEmbedder, SourceError
from ui.app import Handlers
from ui.html import answer_html, source_html
from ui.service import DocqaService, SourceRef, parse_ref

from .conftest import TINY, write_tree


class FakeProgress:
    def __init__(self) -> None:
        self.calls: list[tuple[object, str | None]] = []

    def __call__(self, progress: object, desc: str | None = None, **_: object) -> None:
        self.calls.append((progress, desc))


class Uploaded:
    """What Gradio hands the upload handler: a temp file path and the name the user's file had."""

    def __init__(self, name: str, orig_name: str) -> None:
        self.name, self.orig_name = name, orig_name


def uploaded(path: Path, data: bytes, orig_name: str) -> Uploaded:
    path.write_bytes(data)
    return Uploaded(str(path), orig_name)


@pytest.fixture
def service(tiny: Path, settings) -> DocqaService:
    svc = DocqaService(tiny, settings, embedder=HashingEmbedder(), store="numpy")
    svc.ensure_index()
    return svc


def test_status_counts_the_corpus(service: DocqaService, tiny: Path) -> None:
    status = service.status()
    assert status.folder == str(tiny.resolve())
    assert status.documents == 3
    assert status.chunks == len(service.index.chunks) > 0
    assert status.indexed_at is not None


def test_first_load_indexes_with_visible_progress(tiny: Path, settings) -> None:
    svc = DocqaService(tiny, settings, embedder=HashingEmbedder(), store="numpy")
    progress = FakeProgress()
    html = Handlers(svc).first_load(progress)
    assert "Documents</th><td>3<" in html
    assert progress.calls[0][0] == (0, len(svc.index.chunks))
    assert progress.calls[-1][0] == (len(svc.index.chunks), len(svc.index.chunks))
    assert "Indexing" in str(progress.calls[-1][1])


def test_respond_streams_short_answer_then_quotes(service: DocqaService) -> None:
    steps = list(Handlers(service).respond("Who was the founder of the Harbor Museum?", [], []))
    assert len(steps) == 3
    placeholder, short, full = (s[0][-1]["content"] for s in steps)
    assert "Searching" in placeholder
    assert "Maria Lopez" in short and "docqa-cite" not in short
    assert 'data-ref="museum.txt:2#0-43"' in full and "Its founder was Maria Lopez, a shipbuilder." in full
    messages, history, box = steps[-1]
    assert [m["role"] for m in messages] == ["user", "assistant"] and box == ""
    assert len(history) == 1 and history[0].short_answer == "Maria Lopez"


def test_follow_up_uses_the_conversation(service: DocqaService) -> None:
    h = Handlers(service)
    *_, (messages, history, _) = h.respond("Who was the lighthouse keeper?", [], [])
    *_, (messages, history, _) = h.respond("What was lit every night?", messages, history)
    assert len(history) == 2 and len(messages) == 4
    assert "notes/crlf.txt:3" in messages[-1]["content"]


def test_abstention_looks_different(service: DocqaService) -> None:
    *_, (messages, history, _) = Handlers(service).respond("What is the boiling point of mercury on Venus?", [], [])
    assert "docqa-abstain" in messages[-1]["content"] and "The documents don&#x27;t say." in messages[-1]["content"]
    assert history[-1].abstained


@pytest.mark.parametrize("question", ["", "   ", "x" * 5000])
def test_bad_questions_become_a_message_not_an_exception(service: DocqaService, question: str) -> None:
    *_, (messages, history, _) = Handlers(service).respond(question, [], [])
    assert "docqa-error" in messages[-1]["content"]
    assert history == []


def test_user_and_document_text_is_escaped(tmp_path: Path, settings) -> None:
    corpus = write_tree(tmp_path / "c", {"x.txt": b"The <script>alert(1)</script> tag was found by Ada Byron.\n"})
    svc = DocqaService(corpus, settings, embedder=HashingEmbedder(), store="numpy")
    *_, (messages, history, _) = Handlers(svc).respond("Who found the <b>script</b> tag?", [], [])
    assert "<b>" not in messages[0]["content"] and "&lt;b&gt;" in messages[0]["content"]
    assert "<script>" not in messages[-1]["content"]
    html = source_html(svc.open_source("x.txt:1"))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_source_viewer_highlights_the_line_and_marks_the_quote(service: DocqaService) -> None:
    view = service.open_source("notes/crlf.txt:2#0-37")
    assert view.lines[1] == "The lighthouse keeper was Tomas Berg."
    html = source_html(view)
    assert 'id="docqa-line-2"' in html
    assert "<mark>The lighthouse keeper was Tomas Berg.</mark>" in html
    assert not view.changed_since_indexing


def test_answer_chips_open_the_cited_line(service: DocqaService) -> None:
    a = service.ask("How many model ships does the museum hold?")
    html = answer_html(a)
    c = a.citations[0]
    assert f'data-ref="{c.file}:{c.line}#{c.start}-{c.end}"' in html
    view = service.open_source(f"{c.file}:{c.line}#{c.start}-{c.end}")
    assert view.lines[view.line - 1][view.quote_start : view.quote_end] == c.quote


@pytest.mark.parametrize(
    "ref",
    [
        "../outside.txt:1",
        "notes/../../outside.txt:1",
        "/etc/passwd:1",
        "..%2Foutside.txt:1",
        "%2e%2e/outside.txt:1",
        "museum.txt/../../outside.txt:1",
        "unindexed.txt:1",
        "museum.txt",
        "museum.txt:0",
        "museum.txt:99",
        "museum.txt:abc",
        "",
    ],
)
def test_source_viewer_reads_only_indexed_corpus_files(service: DocqaService, tiny: Path, ref: str) -> None:
    (tiny.parent / "outside.txt").write_text("secret\n")
    (tiny / "unindexed.txt").write_text("added after indexing\n")
    with pytest.raises(SourceError):
        service.open_source(ref)
    html = Handlers(service).open_source(ref)
    assert "docqa-error" in html and "secret" not in html


def test_source_viewer_refuses_a_file_swapped_for_a_symlink(service: DocqaService, tiny: Path) -> None:
    secret = tiny.parent / "secret.txt"
    secret.write_text("top secret line\n")
    os.remove(tiny / "museum.txt")
    (tiny / "museum.txt").symlink_to(secret)
    with pytest.raises(SourceError, match="outside the corpus"):
        service.open_source("museum.txt:1")


def test_symlink_leaving_the_corpus_is_never_indexed_or_shown(tmp_path: Path, settings) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("The password is hunter2.\n")
    corpus = write_tree(tmp_path / "c", dict(TINY))
    (corpus / "link.txt").symlink_to(secret)
    svc = DocqaService(corpus, settings, embedder=HashingEmbedder(), store="numpy")
    svc.ensure_index()
    assert "link.txt" not in svc.index.manifest.files
    with pytest.raises(SourceError):
        svc.open_source("link.txt:1")
    assert "hunter2" not in Handlers(svc).ask_api("What is the password?").get("text", "")


def test_parse_ref() -> None:
    assert parse_ref("a/b:c.txt:12#3-9") == SourceRef(file="a/b:c.txt", line=12, start=3, end=9)
    assert parse_ref("x.md:4") == SourceRef(file="x.md", line=4)
    assert parse_ref("report.pdf:p3:12#0-5") == SourceRef(file="report.pdf", page=3, line=12, start=0, end=5)
    assert parse_ref("notes:p3.txt:5") == SourceRef(file="notes:p3.txt", line=5)
    with pytest.raises(SourceError, match="pPAGE"):
        parse_ref("report.pdf:p3")


def test_upload_adds_a_document_and_indexes_it(service: DocqaService, tmp_path: Path) -> None:
    up = uploaded(tmp_path / "upload-tmp-1", b"The observatory was designed by Ines Duarte.\n", "observatory.txt")
    progress = FakeProgress()
    status, notice, cleared = Handlers(service).upload([up], progress)
    assert "Added observatory.txt" in notice and cleared is None
    assert "Documents</th><td>4<" in status
    assert (service.corpus / "observatory.txt").read_bytes() == Path(up.name).read_bytes()
    a = service.ask("Who designed the observatory?")
    assert a.citations[0].location == "observatory.txt:1" and a.short_answer == "Ines Duarte"


def test_bad_upload_is_a_message_and_writes_nothing(service: DocqaService, tmp_path: Path) -> None:
    up = uploaded(tmp_path / "x", b"text\n", "../escape.txt")
    before = sorted(p.name for p in service.corpus.parent.rglob("*"))
    status, notice, _ = Handlers(service).upload([up], FakeProgress())
    assert "docqa-error" in notice and "contains a path" in notice
    assert sorted(p.name for p in service.corpus.parent.rglob("*")) == before


def test_reindex_reports_what_changed(service: DocqaService) -> None:
    (service.corpus / "museum.txt").write_bytes(TINY["museum.txt"] + b"It closes on Mondays.\n")
    status, notice = Handlers(service).reindex(FakeProgress())
    assert "1 new or changed, 2 unchanged" in notice


def test_ask_api_returns_answer_json_or_error(service: DocqaService) -> None:
    h = Handlers(service)
    ok = h.ask_api("Who was the lighthouse keeper?")
    assert ok["short_answer"] == "Tomas Berg" and ok["citations"][0]["line"] == 2
    bad = h.ask_api("")
    assert bad["type"] == "QuestionError" and "empty" in bad["error"]
