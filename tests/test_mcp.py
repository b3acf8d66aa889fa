"""`docqa mcp` in a subprocess, driven by the official MCP SDK's own client over stdio, on the tiny corpus."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest

from .conftest import REPO, TINY, write_tree

pytestmark = pytest.mark.slow


def call(server_env: dict[str, str], corpus: Path, script):  # type: ignore[no-untyped-def]
    """Run ``script(client)`` against a fresh `docqa mcp` subprocess; return what it returns."""
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(command=sys.executable, args=["-m", "ui", "mcp", "--corpus", str(corpus)],
                                   env=server_env, cwd=str(REPO))
    out = {}

    async def main() -> None:
        async with Client(params) as client:
            out["result"] = await script(client)

    anyio.run(main)
    return out["result"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DOCQA_HOME": str(tmp_path / "home")}


def test_tools_ask_follow_up_search_open_source_and_refusals(tmp_path, env):
    corpus = write_tree(tmp_path / "tiny", TINY)
    (tmp_path / "secret.txt").write_text("top secret\n")

    async def script(client):  # type: ignore[no-untyped-def]
        tools = {t.name: t for t in (await client.list_tools()).tools}
        first = await client.call_tool("ask", {"question": "Who was the founder of the Harbor Museum?"})
        convo = first.structured_content["conversation_id"]
        follow = await client.call_tool("ask", {"question": "What was her trade?", "conversation_id": convo})
        fresh = await client.call_tool("ask", {"question": "What was her trade?"})
        abstain = await client.call_tool("ask", {"question": "What is the recipe for sourdough bread?"})
        search = await client.call_tool("search", {"query": "lighthouse keeper", "limit": 3})
        source = await client.call_tool("open_source", {"ref": "museum.txt:2", "context": 1})
        outside = await client.call_tool("open_source", {"ref": "../secret.txt:1"})
        unknown = await client.call_tool("ask", {"question": "Who?", "conversation_id": "nope"})
        empty = await client.call_tool("ask", {"question": "   "})
        return tools, first, follow, fresh, abstain, search, source, outside, unknown, empty

    tools, first, follow, fresh, abstain, search, source, outside, unknown, empty = call(env, corpus, script)

    assert set(tools) == {"ask", "search", "open_source"}
    assert tools["ask"].input_schema["required"] == ["question"]
    assert "conversation_id" in tools["ask"].input_schema["properties"]
    assert {"citations", "short_answer", "abstained", "closest"} <= set(tools["ask"].output_schema["properties"])

    a = first.structured_content
    assert not first.is_error and a["short_answer"] == "Maria Lopez" and not a["abstained"]
    assert a["citations"][0] == {"file": "museum.txt", "line": 2, "last_line": None, "ref": "museum.txt:2", "section": None, "quote": "Its founder was Maria Lopez, a shipbuilder.", "restated_in": []}
    assert "museum.txt:2" in first.content[0].text  # the text content is the same result as JSON

    f = follow.structured_content
    assert f["conversation_id"] == a["conversation_id"] and "Maria Lopez" in f["searched"]
    assert f["citations"][0]["file"] == "museum.txt"
    assert fresh.structured_content["conversation_id"] != a["conversation_id"]
    assert "Maria Lopez" not in fresh.structured_content["searched"]  # a new conversation has no referent

    assert abstain.structured_content["abstained"] and abstain.structured_content["citations"] == []

    hits = search.structured_content["hits"]
    assert 1 <= len(hits) <= 3
    assert (hits[0]["file"], hits[0]["line"], hits[0]["quote"]) == ("notes/crlf.txt", 2, "The lighthouse keeper was Tomas Berg.")
    assert len({(h["file"], h["line"]) for h in hits}) == len(hits)

    s = source.structured_content
    assert s["file"] == "museum.txt" and s["total_lines"] == 4 and not s["changed_since_indexing"]
    assert s["lines"] == [{"line": 1, "text": "The Harbor Museum opened in 1931."},
                          {"line": 2, "text": "Its founder was Maria Lopez, a shipbuilder."},
                          {"line": 3, "text": ""}]

    assert outside.is_error and "only indexed corpus files can be opened" in outside.content[0].text
    assert "top secret" not in outside.content[0].text
    assert unknown.is_error and "unknown conversation_id 'nope'" in unknown.content[0].text
    assert empty.is_error and "empty" in empty.content[0].text


def test_a_bad_corpus_fails_before_the_protocol_starts(tmp_path, env):
    import subprocess

    ran = subprocess.run([sys.executable, "-m", "ui", "mcp", "--corpus", str(tmp_path / "nope")], env=env,
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert ran.returncode == 2 and ran.stdout == ""
    assert "does not exist" in ran.stderr and "Traceback" not in ran.stderr
