"""End to end in a real headless Chromium: `docqa ui` over the seeds, driven like a user.

Launches the real CLI in a subprocess (fresh data dir, so the first visit builds the
index), asks a question, opens a citation, asks a follow-up by keyboard, then an
unanswerable question. Screenshots go to test-artifacts/ui/. Needs Debian's chromium
(scripts/install.sh installs it); Playwright's own browser download is never used.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from ui.server import free_port

from .conftest import REPO, SEEDS

pytestmark = pytest.mark.slow

ARTIFACTS = REPO / "test-artifacts" / "ui"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    found = os.environ.get("DOCQA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("Debian's chromium is not installed: run `bash scripts/install.sh` (it apt-installs chromium)")
    return found


class Server:
    def __init__(self, proc: subprocess.Popen[str], url: str, started: float, corpus: Path) -> None:
        self.proc, self.url, self.started, self.corpus = proc, url, started, corpus
        # Keep reading the server's output: a full pipe would block the server at its next log line.
        self.output: collections.deque[str] = collections.deque(maxlen=400)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)


@contextlib.contextmanager
def start_server(corpus: Path, tmp_path: Path) -> Iterator[Server]:
    """`docqa ui` over ``corpus`` in a subprocess, with a fresh data dir (the first visit builds the index)."""
    port = free_port()
    env = {**os.environ, "DOCQA_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui", "ui", "--corpus", str(corpus), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path,
    )
    assert proc.stdout is not None
    url = None
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        if line.startswith("docqa web UI: "):
            url = line.split()[3]
            break
    if url is None:
        proc.kill()
        pytest.fail(f"docqa ui did not start: {proc.stdout.read()[-2000:]}")
    running = Server(proc, url, started, corpus)
    try:
        yield running
    finally:
        print("docqa ui output (last lines; pytest shows it when a test fails):\n" + "".join(running.output)[-6000:])
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    corpus = tmp_path / "seeds"
    shutil.copytree(SEEDS, corpus)  # uploads go into the corpus folder: keep the repository's copy untouched
    with start_server(corpus, tmp_path) as running:
        yield running


def wait_for_answers(page, count: int) -> None:  # type: ignore[no-untyped-def]
    """Wait until ``count`` complete answers (with quotes or an abstention) are in the chat.

    An error notice in the chat ends the wait at once, and the test fails with its text (not a timeout).
    """
    page.wait_for_function(
        "n => document.querySelectorAll('#docqa-chat .docqa-quotes, #docqa-chat .docqa-abstain').length >= n"
        " || document.querySelector('#docqa-chat .docqa-error') !== null",
        arg=count,
        timeout=240_000,
    )
    errors = page.locator("#docqa-chat .docqa-error")
    assert errors.count() == 0, f"the chat shows an error instead of answer {count}: {errors.first.inner_text()!r}"


def test_chat_citation_viewer_follow_up_and_abstention(server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    hosts: set[str] = set()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: hosts.add(urlparse(r.url).netloc or r.url.split(":")[0]))
        page.goto(server.url)

        # 1. Ask; the answer streams in with clickable file:line chips next to the quotes.
        page.get_by_label("Your question").fill("Who claimed responsibility for the attack?")
        page.get_by_role("button", name="Ask", exact=True).click()
        wait_for_answers(page, 1)
        first_answer_s = time.perf_counter() - server.started
        answer = page.locator("#docqa-chat .docqa-answer").last
        assert "IS-K" in answer.locator(".docqa-short").inner_text()
        chip = answer.locator(".docqa-quote .docqa-cite").first
        quote = answer.locator(".docqa-quote q").first.inner_text()
        ref = chip.get_attribute("data-ref") or ""
        assert ref.startswith("000_a6e0bd50d51ad334.txt:5")
        assert "near-duplicate" in answer.inner_text().lower()
        page.screenshot(path=str(ARTIFACTS / "answered-chat.png"))

        # 2. Click the citation: the viewer opens the document at that line and marks the quote.
        chip.click()
        page.wait_for_selector("#docqa-source .docqa-hl", timeout=30_000)
        highlighted = page.locator("#docqa-source .docqa-hl .docqa-text")
        assert quote in highlighted.inner_text()
        assert page.locator("#docqa-source .docqa-hl mark").inner_text() == quote
        assert page.locator("#docqa-source .docqa-hl .docqa-ln").inner_text() == ref.split(":")[1].split("#")[0]
        assert page.locator("#docqa-source .docqa-hl").is_visible()
        page.screenshot(path=str(ARTIFACTS / "source-viewer.png"))

        # 3. A follow-up, typed and sent with the keyboard only.
        box = page.get_by_label("Your question")
        box.focus()
        page.keyboard.type("Where is that group based?")
        page.keyboard.press("Enter")
        wait_for_answers(page, 2)
        follow = page.locator("#docqa-chat .docqa-answer").last
        assert "Afghanistan" in follow.inner_text()
        assert follow.locator(".docqa-cite").count() >= 1
        # keyboard activation of a chip opens it too
        follow.locator(".docqa-quote .docqa-cite").first.focus()
        page.keyboard.press("Enter")
        page.wait_for_function(
            "ref => document.querySelector('#docqa-source .docqa-source')?.dataset.file === ref.split(':')[0]",
            arg=follow.locator(".docqa-quote .docqa-cite").first.get_attribute("data-ref"),
            timeout=30_000,
        )

        # 4. An unanswerable question shows the abstention, not an answer.
        box.fill("What is the capital of Australia?")
        page.get_by_role("button", name="Ask", exact=True).click()
        wait_for_answers(page, 3)
        last = page.locator("#docqa-chat .docqa-answer").last
        assert "docqa-abstain" in (last.get_attribute("class") or "")
        assert "The documents don't say" in last.inner_text()
        assert last.locator(".docqa-cite").count() == 0
        page.screenshot(path=str(ARTIFACTS / "abstention.png"))

        # 5. Sources that disagree are shown as such, each value with its own citation.
        box.fill("How many people were killed in the attack?")
        page.get_by_role("button", name="Ask", exact=True).click()
        wait_for_answers(page, 4)
        disagree = page.locator("#docqa-chat .docqa-answer").last.locator(".docqa-disagree")
        assert "The sources disagree" in disagree.inner_text()
        values = disagree.locator("li")
        assert values.count() >= 2
        for i in range(values.count()):
            assert values.nth(i).locator(".docqa-cite").count() >= 1
        page.screenshot(path=str(ARTIFACTS / "disagreement.png"))

        # 6. Upload a document through the corpus panel; it is indexed and answerable at once.
        upload = tmp_path / "observatory.txt"
        upload.write_text("The Kestrel Observatory was designed by Ines Duarte in 1961.\n")
        page.locator("#docqa-upload input[type=file]").set_input_files(str(upload))
        page.get_by_role("button", name="Add to corpus and index").click()
        page.wait_for_function("() => (document.querySelector('#docqa-notice')?.innerText || '').includes('Added observatory.txt')",
                               timeout=120_000)
        assert "6" in page.locator("#docqa-status").inner_text()
        box.fill("Who designed the Kestrel Observatory?")
        page.get_by_role("button", name="Ask", exact=True).click()
        wait_for_answers(page, 5)
        uploaded = page.locator("#docqa-chat .docqa-answer").last
        assert "Ines Duarte" in uploaded.inner_text()
        assert uploaded.locator(".docqa-cite").first.get_attribute("data-ref", timeout=5_000).startswith("observatory.txt:1")
        assert (server.corpus / "observatory.txt").read_bytes() == upload.read_bytes()

        # 7. The corpus panel shows what is indexed; "New conversation" clears the chat.
        status = page.locator("#docqa-status").inner_text()
        assert "Documents" in status and "Near-duplicates" in status
        page.get_by_role("button", name="New conversation").click()
        # Wait for the whole reset (it also empties the question box), so a question typed next is not wiped.
        page.wait_for_function("() => document.querySelectorAll('#docqa-chat .docqa-answer').length === 0"
                               " && document.querySelector('#docqa-question textarea')?.value === ''")

        # 8. "Save as test": a three-turn conversation becomes a suite file that pytest runs.
        for n, q in enumerate(["Who claimed responsibility for the attack?", "Where is that group based?",
                               "Who designed the Kestrel Observatory?"], 1):
            box.fill(q)
            page.get_by_role("button", name="Ask", exact=True).click()
            wait_for_answers(page, n)
        page.get_by_label("Suite file").fill("crocus.docqa.yaml")
        page.get_by_role("button", name="Save as test").click()
        page.wait_for_function("() => (document.querySelector('#docqa-save-notice')?.innerText || '').includes('Saved case')",
                               timeout=30_000)
        assert "(3 turns)" in page.locator("#docqa-save-notice").inner_text()
        page.get_by_label("Suite file").fill("../escape.docqa.yaml")
        page.get_by_role("button", name="Save as test").click()
        page.wait_for_function("() => (document.querySelector('#docqa-save-notice')?.innerText || '').includes('not a plain file name')",
                               timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "save-as-test.png"))
        browser.close()

    saved = tmp_path / "crocus.docqa.yaml"  # the server's folder (it was started in tmp_path)
    assert not (tmp_path.parent / "escape.docqa.yaml").exists()
    run_env = {**os.environ, "DOCQA_HOME": str(tmp_path / "home-pytest")}
    ran = subprocess.run([sys.executable, "-m", "pytest", saved.name, "-p", "no:cacheprovider", "-v"],
                         cwd=tmp_path, env=run_env, capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stdout[-3000:]
    assert ran.stdout.count(" PASSED") == 3
    (server.corpus / "observatory.txt").write_text("The Kestrel Observatory was designed by Rui Costa in 1961.\n")
    ran = subprocess.run([sys.executable, "-m", "pytest", saved.name, "-p", "no:cacheprovider"],
                         cwd=tmp_path, env=run_env, capture_output=True, text=True, timeout=600)
    assert ran.returncode == 1, ran.stdout[-3000:]
    assert "turn 3 of 3" in ran.stdout and "question: Who designed the Kestrel Observatory?" in ran.stdout
    assert "FAILED:   the answer does not contain 'Ines Duarte'" in ran.stdout

    assert hosts == {urlparse(server.url).netloc}, f"the page contacted other hosts: {sorted(hosts)}"
    (ARTIFACTS / "timing.json").write_text(json.dumps({"launch_to_first_answer_s": round(first_answer_s, 2)}) + "\n")
    print(f"launch to first answer: {first_answer_s:.1f} s (fresh index)")


def test_pdf_citation_shows_the_page_with_the_quote_boxed(tmp_path: Path) -> None:
    """Ask over a PDF, click the chip: the cited page is drawn with boxes over exactly the quote's characters."""
    import pypdfium2 as pdfium
    from playwright.sync_api import sync_playwright

    from .docfixtures import REPORT_PAGES, pdf_bytes

    corpus = tmp_path / "pdfs"
    corpus.mkdir()
    data = pdf_bytes(REPORT_PAGES)
    (corpus / "report.pdf").write_bytes(data)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with start_server(corpus, tmp_path) as running, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(running.url)
        page.get_by_label("Your question").fill("How many model ships does the museum hold?")
        page.get_by_role("button", name="Ask", exact=True).click()
        wait_for_answers(page, 1)
        answer = page.locator("#docqa-chat .docqa-answer").last
        chip = answer.locator(".docqa-quote .docqa-cite").first
        assert chip.inner_text() == "report.pdf:p2:2"
        quote = answer.locator(".docqa-quote q").first.inner_text()
        assert quote == "The museum holds 4,000 model ships."
        chip.click()
        page.wait_for_selector("#docqa-source .docqa-page img", timeout=30_000)
        assert "page 2, line 2" in page.locator("#docqa-source .docqa-source-title").inner_text()
        assert page.locator("#docqa-source .docqa-hl mark").inner_text() == quote
        boxes = page.locator("#docqa-source .docqa-box")
        assert boxes.count() == 1
        drawn = {k: float(boxes.first.get_attribute(f"data-{k}") or "nan") for k in ("left", "top", "width", "height")}
        # On screen, the box sits over the image where the characters are (the image is scaled to the panel).
        image = page.locator("#docqa-source .docqa-page img").bounding_box()
        shown = boxes.first.bounding_box()
        assert image is not None and shown is not None
        natural = float(page.locator("#docqa-source .docqa-page").get_attribute("data-width") or "nan")
        ratio = image["width"] / natural
        assert shown["x"] - image["x"] == pytest.approx(drawn["left"] * ratio, abs=1.5)
        assert shown["y"] - image["y"] == pytest.approx(drawn["top"] * ratio, abs=1.5)
        assert shown["width"] == pytest.approx(drawn["width"] * ratio, abs=1.5)
        page.locator("#docqa-source .docqa-box").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "pdf-page-highlight.png"))
        browser.close()
    # The box covers the quote's characters as pdfium reports them for page 2 (PDF points x 1.5, y from the top).
    pdf = pdfium.PdfDocument(data)
    page2 = pdf[1]
    textpage = page2.get_textpage()
    text = textpage.get_text_range()
    first = text.index(quote)
    chars = [textpage.get_charbox(i) for i in range(first, first + len(quote)) if not text[i].isspace()]
    height = page2.get_height()
    assert drawn["left"] == pytest.approx(min(c[0] for c in chars) * 1.5, abs=0.1)
    assert drawn["left"] + drawn["width"] == pytest.approx(max(c[2] for c in chars) * 1.5, abs=0.1)
    assert drawn["top"] == pytest.approx((height - max(c[3] for c in chars)) * 1.5, abs=0.1)
    assert drawn["top"] + drawn["height"] == pytest.approx((height - min(c[1] for c in chars)) * 1.5, abs=0.1)
    textpage.close()
    page2.close()
    pdf.close()
