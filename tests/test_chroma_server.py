"""Scale-out: vectors in a real `chroma run` server reached through HttpClient (DOCQA_CHROMA_HOST/PORT)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from index import CorpusIndex, HashingEmbedder, IndexStateError, load_settings
from qa import QAEngine, answer
from ui.server import free_port

from .conftest import SEEDS, TINY, write_tree


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "CHROMA_TELEMETRY": "false"}
    proc = subprocess.Popen([exe, "run", "--path", str(tmp_path / "chroma-data"), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"chroma run did not start: {proc.stdout.read().decode()[-2000:] if proc.stdout else ''}")
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_index_and_answer_through_a_chroma_server(chroma_server: int, tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", chroma_host="127.0.0.1", chroma_port=chroma_server)
    index = CorpusIndex(write_tree(tmp_path / "tiny", TINY), settings, embedder=HashingEmbedder())
    report = index.sync()
    assert index.store.count() == report.chunks_total == len(index.chunks)
    assert not (index.dir / "chroma").exists(), "server mode must not create an embedded store"
    a = QAEngine(index).answer("Who was the lighthouse keeper?")
    assert (a.citations[0].location, a.short_answer) == ("notes/crlf.txt:2", "Tomas Berg")
    # A second process (here: a second client) sees the same vectors on the server.
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=chroma_server)
    [collection] = [c for c in client.list_collections() if c.name == index.store._collection.name]  # type: ignore[attr-defined]
    assert collection.count() == report.chunks_total


@pytest.mark.slow
def test_seeds_with_the_real_model_through_a_chroma_server(chroma_server: int, tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", chroma_host="127.0.0.1", chroma_port=chroma_server)
    a = answer("Who claimed responsibility for the attack?", corpus=SEEDS, settings=settings)
    assert a.short_answer == "IS-K" and a.citations[0].location == "000_a6e0bd50d51ad334.txt:5"


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", chroma_host="127.0.0.1", chroma_port=free_port())
    with pytest.raises(IndexStateError, match=r"cannot use the Chroma server at http://127.0.0.1:\d+ .*chroma run --path"):
        CorpusIndex(write_tree(tmp_path / "tiny", TINY), settings, embedder=HashingEmbedder())
