"""The OpenAI-compatible and Ollama backends, wired through llama-index, against a small local server.

The server in this test speaks just enough of each API (OpenAI ``/v1/completions`` and
``/v1/chat/completions`` with SSE streaming; Ollama ``/api/chat`` with NDJSON streaming) and answers
with the careful reader of tests/fakes.py, so what reaches docqa is a real HTTP round trip.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qa import reset_llms

from .conftest import assert_verbatim
from .fakes import careful_reader, generative_engine

pytest.importorskip("llama_index.llms.openai_like", reason="the [llm] extra is not installed")
pytest.importorskip("llama_index.llms.ollama", reason="the [llm] extra is not installed")


class LLMServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.delay = delay
        self.requests: list[tuple[str, dict, dict]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: LLMServer

    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass

    def _send(self, content_type: str, chunks: list[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in chunks:
                time.sleep(self.server.delay)
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (the timeout test)
            pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, body, dict(self.headers)))
        if self.path == "/v1/completions":
            prompt = body["prompt"] if isinstance(body["prompt"], str) else body["prompt"][0]
        elif self.path == "/v1/chat/completions" or self.path == "/api/chat":
            prompt = body["messages"][-1]["content"]
            prompt = prompt if isinstance(prompt, str) else "".join(p.get("text", "") for p in prompt)
        else:
            self.send_error(404, f"no {self.path}")
            return
        text = careful_reader(prompt).split("\n")[0]  # the stop sequence, as a server applies it
        pieces = [w + " " for w in text.split(" ")]
        pieces[-1] = pieces[-1].rstrip()
        now = int(time.time())
        if self.path == "/api/chat":
            lines = [{"model": body["model"], "created_at": "2026-11-23T00:00:00Z", "message": {"role": "assistant", "content": p}, "done": False} for p in pieces]
            lines.append({"model": body["model"], "created_at": "2026-11-23T00:00:00Z", "message": {"role": "assistant", "content": ""},
                          "done": True, "done_reason": "stop", "total_duration": 1, "prompt_eval_count": 1, "eval_count": len(pieces)})
            self._send("application/x-ndjson", [json.dumps(x).encode() + b"\n" for x in lines])
            return
        chat = self.path == "/v1/chat/completions"
        if not body.get("stream"):
            choice = {"index": 0, "finish_reason": "stop", "logprobs": None}
            choice.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text})
            payload = {"id": "x", "object": "chat.completion" if chat else "text_completion", "created": now, "model": body["model"],
                       "choices": [choice], "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        events = []
        for p in pieces:
            choice = {"index": 0, "finish_reason": None, "logprobs": None}
            choice.update({"delta": {"role": "assistant", "content": p}} if chat else {"text": p})
            events.append({"id": "x", "object": "chat.completion.chunk" if chat else "text_completion", "created": now,
                           "model": body["model"], "choices": [choice]})
        sse = [f"data: {json.dumps(e)}\n\n".encode() for e in events] + [b"data: [DONE]\n\n"]
        self._send("text/event-stream", sse)


@pytest.fixture
def server():
    def start(delay: float = 0.0) -> LLMServer:
        srv = LLMServer(delay)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        started.append(srv)
        return srv

    started: list[LLMServer] = []
    yield start
    for srv in started:
        srv.shutdown()
        srv.server_close()
    reset_llms()


@pytest.mark.parametrize(
    ("backend", "path"),
    [({"llm": "openai"}, "/v1/completions"), ({"llm": "openai", "llm_chat": True}, "/v1/chat/completions"), ({"llm": "ollama"}, "/api/chat")],
    ids=["openai-completions", "openai-chat", "ollama"],
)
def test_http_backends_answer_with_verified_citations(tiny, tmp_path, server, backend, path):
    srv = server()
    base = f"{srv.url}/v1" if backend["llm"] == "openai" else srv.url
    engine = generative_engine(tiny, tmp_path / "home", llm_model="tiny-reader", llm_base_url=base, llm_api_key="sk-local-test", llm_max_tokens=48, **backend)
    a = engine.answer("Who was the lighthouse keeper?")
    assert a.mode == "generative", a.generation
    assert a.generation.raw == " The lighthouse keeper was Tomas Berg [notes/crlf.txt:2]."
    assert a.text.startswith("The lighthouse keeper was Tomas Berg [notes/crlf.txt:2].")
    assert [c.location for c in a.citations] == ["notes/crlf.txt:2"]
    assert_verbatim(tiny, a.citations)
    seen_path, body, headers = srv.requests[-1]
    assert seen_path == path and body["model"] == "tiny-reader" and body["stream"] is True
    assert "[notes/crlf.txt:2] The lighthouse keeper was Tomas Berg." in json.dumps(body)
    if backend["llm"] == "openai":
        assert headers["Authorization"] == "Bearer sk-local-test"
        assert body["stop"] == ["\n"] and body["max_tokens"] == 48 and body["temperature"] == 0.0
    else:
        assert body["options"]["stop"] == ["\n"] and body["options"]["num_predict"] == 48


def test_unreachable_server_falls_back_to_the_extractive_answer(tiny, tmp_path, server):
    srv = server()
    url = srv.url
    srv.shutdown()
    srv.server_close()
    engine = generative_engine(tiny, tmp_path / "home", llm="openai", llm_model="m", llm_base_url=f"{url}/v1", llm_timeout=5)
    a = engine.answer("Who was the lighthouse keeper?")
    assert a.mode == "extractive" and a.generation.fallback.startswith("the LLM failed (")
    assert a.short_answer == "Tomas Berg" and a.citations


def test_slow_server_times_out_and_falls_back(tiny, tmp_path, server):
    srv = server(delay=0.4)
    engine = generative_engine(tiny, tmp_path / "home", llm="ollama", llm_model="m", llm_base_url=srv.url, llm_timeout=1)
    t0 = time.monotonic()
    a = engine.answer("Who was the lighthouse keeper?")
    assert time.monotonic() - t0 < 4
    assert a.mode == "extractive" and "DOCQA_LLM_TIMEOUT=1 s" in a.generation.fallback or "timed out" in a.generation.fallback
