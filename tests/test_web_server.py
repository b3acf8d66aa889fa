"""The served web app over HTTP: JSON API, 32 concurrent requests, path safety, login, exposure warning."""

from __future__ import annotations

import logging
import socket
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from index import ConfigError, HashingEmbedder, load_settings
from ui.cli import main
from ui.client import call_api
from ui.server import RunningUI, exposure_warning, free_port, is_loopback, serve
from ui.service import DocqaService

QUESTIONS = [
    "Who was the founder of the Harbor Museum?",
    "Who was the lighthouse keeper?",
    "When was the old bridge built?",
    "How many model ships does the museum hold?",
    "What is the boiling point of mercury on Venus?",
    "",
    "Which river does the bridge span?",
    "x" * 3000,
]


@pytest.fixture
def service(tiny: Path, settings) -> DocqaService:
    svc = DocqaService(tiny, settings, embedder=HashingEmbedder(), store="numpy")
    svc.ensure_index()
    return svc


@pytest.fixture(autouse=True)
def no_outside_connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Fail any attempt to open a network connection to a host other than this machine."""
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(str(host)):
            attempts.append(address)
            raise OSError(f"test forbids outside connections: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield attempts
    assert not attempts, f"the app tried to reach outside hosts: {attempts}"


@pytest.fixture
def running(service: DocqaService, settings) -> Iterator[RunningUI]:
    ui = serve(settings=settings, port=free_port(), block=False, service=service)
    try:
        yield ui
    finally:
        ui.close()


def test_page_and_json_api(running: RunningUI) -> None:
    assert running.url.startswith("http://127.0.0.1:")
    page = httpx.get(running.url, timeout=30)
    assert page.status_code == 200 and "docqa" in page.text
    answer = call_api(running.url, "ask", "Who was the lighthouse keeper?")
    assert answer["short_answer"] == "Tomas Berg"
    assert answer["citations"][0] == {**answer["citations"][0], "file": "notes/crlf.txt", "line": 2}
    error = call_api(running.url, "ask", "   ")
    assert error["type"] == "QuestionError"


def test_32_concurrent_http_requests_match_sequential(running: RunningUI) -> None:
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(64)]
    sequential = {q: call_api(running.url, "ask", q) for q in set(questions)}
    latencies: list[float] = []

    def timed(q: str) -> dict[str, Any]:
        with httpx.Client(timeout=120) as c:
            t0 = time.perf_counter()
            out = call_api(running.url, "ask", q, c)
            latencies.append(time.perf_counter() - t0)
            return out

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(timed, questions))
    for q, got in zip(questions, results, strict=True):
        want = sequential[q]
        if "error" in want:
            assert got == want
        else:
            assert (got["text"], got["citations"], got["abstained"]) == (want["text"], want["citations"], want["abstained"])
    p95 = statistics.quantiles(latencies, n=20)[-1]
    logging.getLogger(__name__).info("64 requests, 32 at a time: p50 %.3f s, p95 %.3f s", statistics.median(latencies), p95)


@pytest.mark.parametrize(
    "ref",
    [
        "../outside.txt:1",
        "%2e%2e%2foutside.txt:1",
        "..%2Foutside.txt:1",
        "%252e%252e%252foutside.txt:1",
        "notes/../../outside.txt:1",
        "/etc/passwd:1",
        "museum.txt/../../outside.txt:1",
        "link.txt:1",
    ],
)
def test_source_api_never_reads_outside_the_corpus(running: RunningUI, service: DocqaService, ref: str) -> None:
    (service.corpus.parent / "outside.txt").write_text("secret outside line\n")
    (service.corpus / "link.txt").symlink_to(service.corpus.parent / "outside.txt")
    out = call_api(running.url, "source", ref)
    assert out["type"] == "SourceError" and "secret" not in str(out)
    ok = call_api(running.url, "source", "museum.txt:2")
    assert ok["lines"][1] == "Its founder was Maria Lopez, a shipbuilder."


@pytest.mark.parametrize(
    "path",
    ["gradio_api/file=/etc/passwd", "gradio_api/file={corpus}/museum.txt", "gradio_api/file=../../../../etc/passwd",
     "gradio_api/file=%2e%2e/%2e%2e/etc/passwd", "file=/etc/passwd"],
)
def test_gradio_file_route_serves_no_corpus_or_system_file(running: RunningUI, service: DocqaService, path: str) -> None:
    r = httpx.get(running.url + path.format(corpus=service.corpus), timeout=30)
    assert r.status_code in (403, 404)
    assert "root:" not in r.text and "Maria Lopez" not in r.text


def test_busy_port_is_a_clear_error(service: DocqaService, settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"127.0.0.1:{port}.*--port or DOCQA_UI_PORT"):
            serve(settings=settings, port=port, block=False, service=service)


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.5", True),
                                                  ("0.0.0.0", False), ("192.168.1.4", False), ("example.org", False)])
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_exposed_without_login_warns_and_login_silences_it(service: DocqaService, settings, caplog) -> None:
    assert exposure_warning("0.0.0.0", settings) is not None
    assert "DOCQA_UI_USERNAME" in (exposure_warning("0.0.0.0", settings) or "")
    assert exposure_warning("127.0.0.1", settings) is None
    secured = load_settings(home=settings.home, ui_username="analyst", ui_password="pw-123")
    assert exposure_warning("0.0.0.0", secured) is None
    with caplog.at_level(logging.WARNING, logger="ui.server"):
        ui = serve(settings=settings, host="0.0.0.0", port=free_port(), block=False, service=service)
        ui.close()
    assert any("reachable from other machines, with no login" in r.getMessage() for r in caplog.records)


def test_login_is_required_when_configured(service: DocqaService, tmp_path: Path) -> None:
    secured = load_settings(home=tmp_path / "home", ui_username="analyst", ui_password="pw-123")
    ui = serve(settings=secured, port=free_port(), block=False, service=service)
    try:
        anonymous = httpx.post(f"{ui.url}gradio_api/call/ask", json={"data": ["Who was the lighthouse keeper?"]}, timeout=30)
        assert anonymous.status_code == 401
        with httpx.Client(timeout=30) as c:
            bad = c.post(f"{ui.url}login", data={"username": "analyst", "password": "wrong"})
            assert bad.status_code in (400, 401)
            good = c.post(f"{ui.url}login", data={"username": "analyst", "password": "pw-123"})
            assert good.status_code == 200
            assert call_api(ui.url, "ask", "Who was the lighthouse keeper?", c)["short_answer"] == "Tomas Berg"
    finally:
        ui.close()


@pytest.mark.parametrize(
    ("env", "argv", "message"),
    [
        ({}, ["ui", "--corpus", "/no/such/folder"], "does not exist"),
        ({"DOCQA_UI_PORT": "seventy"}, ["ui"], "ui_port"),
        ({"DOCQA_UI_HOST": "http://x/"}, ["ui"], "not a host address"),
        ({"DOCQA_UI_USERNAME": "only-user"}, ["ui"], "set both DOCQA_UI_USERNAME and DOCQA_UI_PASSWORD"),
    ],
)
def test_cli_ui_bad_input_is_one_line_and_exit_2(monkeypatch, capsys, env: dict[str, str], argv: list[str], message: str) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("docqa: error: ") and message in err and "Traceback" not in err
